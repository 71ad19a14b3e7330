/*
 * fuzz_jsonl.c — the JSON Lines reader (stream.c + jsonl.c) on arbitrary
 * bytes.
 *
 * Properties: no crash, no sanitizer report; a rejected record has no
 * members and a known reason; line numbers increase; a good record's keys
 * and string values hold no NUL and stay within UF_MAX_FIELD_BYTES; the
 * line buffer stays bounded. Reading in parts (run_read.c) gives the
 * same records: a second reader restarted at a split point and aligned to
 * the next line start reads the same records with the same offsets, reasons
 * and members (lines shifted by the first part's count), at three split
 * points per input.
 */
#include "fuzz_common.h"

#include "jsonl.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One record as text: offset, line (shifted by `base`), reason, members. */
static void add_jsonl_record(fuzz_text *t, const uf_jsonl_record *rec, uint64_t base)
{
    char head[96];
    int n = snprintf(head, sizeof head, "@%llu L%llu R%d N%zu:", (unsigned long long)rec->offset,
                     (unsigned long long)(rec->line + base), (int)rec->reject, rec->count);
    fuzz_text_add(t, head, (size_t)n);
    for (size_t i = 0; i < rec->count; i++) {
        char type = (char)('0' + (int)rec->types[i]);
        fuzz_text_add(t, rec->keys[i].ptr, rec->keys[i].len);
        fuzz_text_add(t, &type, 1);
        fuzz_text_add(t, rec->values[i].ptr, rec->values[i].len);
        fuzz_text_add(t, "\x1f", 1);
    }
    fuzz_text_add(t, "\n", 1);
}

typedef struct jsonl_part {
    uint64_t first_row, first_line, stop, stop_line;
} jsonl_part;

/* Records of the part starting at `begin` (aligned when asked) that start before `end` (0: all). */
static jsonl_part read_jsonl_part(const char *path, uint64_t begin, bool align, uint64_t end, uint64_t base, fuzz_text *out)
{
    uf_error err = {0};
    uf_stream *stream = uf_stream_open(path, &err);
    FUZZ_CHECK(stream != NULL, "cannot open the memfd: %s", err.message);
    uf_jsonl_reader *reader = uf_jsonl_open(stream, &err);
    FUZZ_CHECK(reader != NULL, "opened whole but not again: %s", err.message);
    if (begin > 0 || align)
        FUZZ_CHECK(uf_jsonl_restart(reader, begin, align, &err) == UF_OK, "restart: %s", err.message);
    jsonl_part p = {UINT64_MAX, 0, 0, 0};
    uf_jsonl_record rec;
    int rc;
    while ((rc = uf_jsonl_next(reader, &rec, &err)) == UF_JSONL_RECORD) {
        if (p.first_row == UINT64_MAX) {
            p.first_row = rec.offset;
            p.first_line = rec.line;
        }
        if (end && rec.offset >= end) {
            p.stop = rec.offset;
            p.stop_line = rec.line;
            break;
        }
        add_jsonl_record(out, &rec, base);
    }
    if (rc != UF_JSONL_RECORD) {
        FUZZ_CHECK(rc == UF_JSONL_END, "a part failed where the whole read did not: %s", err.message);
        uf_jsonl_position(reader, &p.stop, &p.stop_line);
        if (p.first_row == UINT64_MAX) {
            p.first_row = p.stop;
            p.first_line = p.stop_line;
        }
    }
    uf_jsonl_close(reader);
    uf_stream_close(stream);
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    fuzz_as_file(data, size, path);
    uf_error err = {0};
    uf_stream *stream = uf_stream_open(path, &err);
    FUZZ_CHECK(stream != NULL, "cannot open the memfd: %s", err.message);
    uf_jsonl_reader *reader = uf_jsonl_open(stream, &err);
    if (reader) {
        uf_jsonl_record rec;
        uint64_t last_line = 0;
        int rc;
        fuzz_text whole = {0};
        while ((rc = uf_jsonl_next(reader, &rec, &err)) == UF_JSONL_RECORD) {
            add_jsonl_record(&whole, &rec, 0);
            FUZZ_CHECK(rec.line > last_line, "line %llu after %llu", (unsigned long long)rec.line,
                       (unsigned long long)last_line);
            last_line = rec.line;
            FUZZ_CHECK(rec.reject < UF_REJECT_REASON_COUNT, "reject reason %d", (int)rec.reject);
            if (rec.reject != UF_REJECT_NONE) {
                FUZZ_CHECK(rec.count == 0, "rejected record with %zu members", rec.count);
                continue;
            }
            for (size_t i = 0; i < rec.count; i++) {
                FUZZ_CHECK(rec.keys[i].len <= UF_MAX_FIELD_BYTES, "key of %zu bytes", rec.keys[i].len);
                FUZZ_CHECK(rec.values[i].len <= UF_MAX_FIELD_BYTES, "value of %zu bytes", rec.values[i].len);
                FUZZ_CHECK(rec.types[i] <= UF_JSON_NESTED, "type %d", (int)rec.types[i]);
                if (rec.keys[i].len)
                    FUZZ_CHECK(memchr(rec.keys[i].ptr, 0, rec.keys[i].len) == NULL, "NUL in a key");
                if (rec.types[i] == UF_JSON_STRING && rec.values[i].len)
                    FUZZ_CHECK(memchr(rec.values[i].ptr, 0, rec.values[i].len) == NULL, "NUL in a string");
                if (rec.types[i] == UF_JSON_NULL)
                    FUZZ_CHECK(rec.values[i].len == 0, "null with a value");
            }
            FUZZ_CHECK(uf_jsonl_buffer_capacity(reader) <= (2u << 20), "line buffer of %zu bytes",
                       uf_jsonl_buffer_capacity(reader));
        }
        FUZZ_CHECK(rc == UF_JSONL_END || rc == UF_JSONL_ERROR, "uf_jsonl_next returned %d", rc);
        uf_jsonl_close(reader);
        for (int k = 1; rc == UF_JSONL_END && k <= 3 && size > 1; k++) {
            uint64_t split = size * (uint64_t)k / 4;
            if (split == 0)
                continue; /* a part never ends at 0: that means "to the end" */
            fuzz_text parts = {0}, probe = {0};
            jsonl_part a = read_jsonl_part(path, 0, false, split, 0, &parts);
            uint64_t start = split;
            bool align = true;
            jsonl_part b = read_jsonl_part(path, start, align, 0, 0, &probe);
            free(probe.data);
            if (b.first_row != a.stop) {
                /* Every line start is a record start in JSON Lines, except that the first line starts after a
                 * byte-order mark, which the aligner does not know: only a split inside the mark misses. */
                FUZZ_CHECK(split <= 3 && size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0,
                           "split at %llu: second part starts at %llu, first stopped at %llu",
                           (unsigned long long)split, (unsigned long long)b.first_row, (unsigned long long)a.stop);
                start = a.stop;
                align = false;
                probe = (fuzz_text){0};
                b = read_jsonl_part(path, start, align, 0, 0, &probe);
                free(probe.data);
            }
            read_jsonl_part(path, start, align, 0, a.stop_line - b.first_line, &parts);
            FUZZ_CHECK(parts.len == whole.len && (whole.len == 0 || memcmp(parts.data, whole.data, whole.len) == 0),
                       "split at %llu: the parts read other records than the whole file\nwhole: %.300s\n"
                       "parts: %.300s",
                       (unsigned long long)split, whole.data ? whole.data : "", parts.data ? parts.data : "");
            free(parts.data);
        }
        free(whole.data);
    } else {
        FUZZ_CHECK(err.code != 0, "uf_jsonl_open failed without an error");
    }
    uf_stream_close(stream);
    return 0;
}
