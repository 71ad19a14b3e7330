/*
 * fuzz_csv.c — the CSV reader (stream.c + csv.c) on arbitrary bytes.
 *
 * Input: byte 0 picks the delimiter (, ; tab |), the rest is the file.
 * Properties: no crash, no sanitizer report; every row is either good or
 * rejected with a known reason; line numbers never go backwards; field
 * slices lie within UF_MAX_FIELD_BYTES and a good row never holds a NUL;
 * the row buffer stays bounded (about 1.1 MiB) whatever the input.
 * Reading in parts (run_read.c) gives the same rows: a second reader
 * restarted at a split point, aligned to a line start and, when that was
 * inside a quoted field, restarted where the first part stopped, reads the
 * same rows with the same offsets, reasons and fields (lines shifted by the
 * first part's count), at three split points per input.
 */
#include "fuzz_common.h"

#include "csv.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One row as text: offset, line (shifted by `base`), reason, fields. */
static void add_csv_row(fuzz_text *t, const uf_csv_row *row, uint64_t base)
{
    char head[96];
    int n = snprintf(head, sizeof head, "@%llu L%llu R%d N%zu:", (unsigned long long)row->offset,
                     (unsigned long long)(row->line + base), (int)row->reject, row->count);
    fuzz_text_add(t, head, (size_t)n);
    for (size_t i = 0; i < row->count; i++) {
        fuzz_text_add(t, row->fields[i].ptr, row->fields[i].len);
        fuzz_text_add(t, "\x1f", 1);
    }
    fuzz_text_add(t, "\n", 1);
}

/* Rows of the part that starts at `begin` (aligned when asked) and owns the rows starting before `end` (0: all). */
typedef struct csv_part {
    uint64_t first_row, first_line, stop, stop_line;
} csv_part;

static csv_part read_csv_part(const char *path, char delimiter, uint64_t begin, bool align, uint64_t end, uint64_t base,
                           fuzz_text *out)
{
    uf_error err = {0};
    uf_stream *stream = uf_stream_open(path, &err);
    FUZZ_CHECK(stream != NULL, "cannot open the memfd: %s", err.message);
    uf_csv_reader *reader = uf_csv_open(stream, delimiter, &err);
    FUZZ_CHECK(reader != NULL, "the header read whole but not again: %s", err.message);
    if (begin > 0 || align)
        FUZZ_CHECK(uf_csv_restart(reader, begin, align, &err) == UF_OK, "restart: %s", err.message);
    csv_part p = {UINT64_MAX, 0, 0, 0};
    uf_csv_row row;
    int rc;
    while ((rc = uf_csv_next(reader, &row, &err)) == UF_CSV_ROW) {
        if (p.first_row == UINT64_MAX) {
            p.first_row = row.offset;
            p.first_line = row.line;
        }
        if (end && row.offset >= end) {
            p.stop = row.offset;
            p.stop_line = row.line;
            break;
        }
        add_csv_row(out, &row, base);
    }
    if (rc != UF_CSV_ROW) {
        FUZZ_CHECK(rc == UF_CSV_END, "a part failed where the whole read did not: %s", err.message);
        uf_csv_position(reader, &p.stop, &p.stop_line);
        if (p.first_row == UINT64_MAX) {
            p.first_row = p.stop;
            p.first_line = p.stop_line;
        }
    }
    uf_csv_close(reader);
    uf_stream_close(stream);
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char delimiters[] = {',', ';', '\t', '|'};
    if (size < 1)
        return 0;
    char delimiter = delimiters[data[0] % sizeof delimiters];
    char path[64];
    fuzz_as_file(data + 1, size - 1, path);

    uf_error err = {0};
    uf_stream *stream = uf_stream_open(path, &err);
    FUZZ_CHECK(stream != NULL, "cannot open the memfd: %s", err.message);
    uf_csv_reader *reader = uf_csv_open(stream, delimiter, &err);
    if (reader) {
        size_t header_count = 0;
        const uf_slice *header = uf_csv_header(reader, &header_count);
        FUZZ_CHECK(header_count >= 1 && header != NULL, "header of %zu fields", header_count);
        uf_csv_row row;
        uint64_t last_line = 1;
        int rc;
        fuzz_text whole = {0};
        while ((rc = uf_csv_next(reader, &row, &err)) == UF_CSV_ROW) {
            add_csv_row(&whole, &row, 0);
            FUZZ_CHECK(row.line > last_line, "line %llu after %llu", (unsigned long long)row.line,
                       (unsigned long long)last_line);
            last_line = row.line;
            FUZZ_CHECK(row.reject < UF_REJECT_REASON_COUNT, "reject reason %d", (int)row.reject);
            if (row.reject == UF_REJECT_NONE)
                FUZZ_CHECK(row.count == header_count, "good row of %zu fields, header %zu", row.count,
                           header_count);
            for (size_t i = 0; i < row.count; i++) {
                FUZZ_CHECK(row.fields[i].len <= UF_MAX_FIELD_BYTES, "field of %zu bytes", row.fields[i].len);
                if (row.reject == UF_REJECT_NONE && row.fields[i].len)
                    FUZZ_CHECK(memchr(row.fields[i].ptr, 0, row.fields[i].len) == NULL, "NUL in a good row");
            }
            FUZZ_CHECK(uf_csv_buffer_capacity(reader) <= (2u << 20), "row buffer of %zu bytes",
                       uf_csv_buffer_capacity(reader));
        }
        FUZZ_CHECK(rc == UF_CSV_END || rc == UF_CSV_ERROR, "uf_csv_next returned %d", rc);
        if (rc == UF_CSV_ERROR)
            FUZZ_CHECK(err.message[0] != '\0', "error without a message");
        uf_csv_close(reader);
        size_t content = size - 1;
        for (int k = 1; rc == UF_CSV_END && k <= 3 && content > 1; k++) {
            uint64_t split = content * (uint64_t)k / 4;
            if (split == 0)
                continue; /* a part never ends at 0: that means "to the end" */
            fuzz_text parts = {0}, probe = {0};
            csv_part a = read_csv_part(path, delimiter, 0, false, split, 0, &parts);
            uint64_t start = split;
            bool align = true;
            csv_part b = read_csv_part(path, delimiter, start, align, 0, 0, &probe);
            if (b.first_row != a.stop) { /* the guess was inside a quoted field: from a's stop, a row start */
                start = a.stop;
                align = false;
                free(probe.data);
                probe = (fuzz_text){0};
                b = read_csv_part(path, delimiter, start, align, 0, 0, &probe);
                FUZZ_CHECK(b.first_row == a.stop, "restarted at %llu, first row at %llu",
                           (unsigned long long)a.stop, (unsigned long long)b.first_row);
            }
            free(probe.data);
            /* The row at a's stop is b's first: its line in the file less its line in b shifts all of b. */
            read_csv_part(path, delimiter, start, align, 0, a.stop_line - b.first_line, &parts);
            FUZZ_CHECK(parts.len == whole.len && (whole.len == 0 || memcmp(parts.data, whole.data, whole.len) == 0),
                       "split at %llu: the parts read other rows than the whole file\nwhole: %.300s\nparts: %.300s",
                       (unsigned long long)split, whole.data ? whole.data : "", parts.data ? parts.data : "");
            free(parts.data);
        }
        free(whole.data);
    } else {
        FUZZ_CHECK(err.code != 0 && err.message[0] != '\0', "uf_csv_open failed without an error");
    }
    uf_stream_close(stream);
    return 0;
}
