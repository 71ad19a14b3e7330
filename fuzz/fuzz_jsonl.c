/*
 * fuzz_jsonl.c — the JSON Lines reader (stream.c + jsonl.c) on arbitrary
 * bytes.
 *
 * Properties: no crash, no sanitizer report; a rejected record has no
 * members and a known reason; line numbers increase; a good record's keys
 * and string values hold no NUL and stay within UF_MAX_FIELD_BYTES; the
 * line buffer stays bounded.
 */
#include "fuzz_common.h"

#include "jsonl.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
        while ((rc = uf_jsonl_next(reader, &rec, &err)) == UF_JSONL_RECORD) {
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
    } else {
        FUZZ_CHECK(err.code != 0, "uf_jsonl_open failed without an error");
    }
    uf_stream_close(stream);
    return 0;
}
