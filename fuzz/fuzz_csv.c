/*
 * fuzz_csv.c — the CSV reader (stream.c + csv.c) on arbitrary bytes.
 *
 * Input: byte 0 picks the delimiter (, ; tab |), the rest is the file.
 * Properties: no crash, no sanitizer report; every row is either good or
 * rejected with a known reason; line numbers never go backwards; field
 * slices lie within UF_MAX_FIELD_BYTES and a good row never holds a NUL;
 * the row buffer stays bounded (about 1.1 MiB) whatever the input.
 */
#include "fuzz_common.h"

#include "csv.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
        while ((rc = uf_csv_next(reader, &row, &err)) == UF_CSV_ROW) {
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
    } else {
        FUZZ_CHECK(err.code != 0 && err.message[0] != '\0', "uf_csv_open failed without an error");
    }
    uf_stream_close(stream);
    return 0;
}
