/*
 * csv.h — streaming RFC 4180 CSV reader.
 *
 * Quoted fields, doubled quotes, embedded newlines, CRLF or LF line ends, a
 * UTF-8 byte-order mark and any one-byte delimiter. The first row is the
 * header. Memory is bounded by the longest row, never by the file.
 *
 * A malformed row is returned with `reject` set (and `line` naming the
 * physical line where it starts); reading then continues with the next row.
 * The fields of a rejected row are best effort: empty for unbalanced_quote
 * and over-long rows, at most header count + 1 for column_count. When a row
 * has several faults the first of unbalanced_quote, nul_byte, invalid_utf8,
 * field_too_long, column_count is reported. After an unbalanced quote,
 * reading resumes on the physical line after the row's first line.
 *
 * The delimiter must be an ASCII byte other than quote, CR, LF and NUL.
 * A header row with a fault fails uf_csv_open (UF_ERR_FORMAT).
 */
#ifndef UF_CSV_H
#define UF_CSV_H

#include "common.h"
#include "reject.h"
#include "stream.h"

typedef struct uf_csv_reader uf_csv_reader;

typedef struct uf_csv_row {
    const uf_slice *fields;  /* unescaped field values; valid until the next call */
    size_t count;            /* number of fields */
    uint64_t line;           /* 1-based physical line where the row starts */
    uint64_t offset;         /* byte offset in the content where the row starts */
    uf_reject_reason reject; /* UF_REJECT_NONE for a good row */
} uf_csv_row;

enum { UF_CSV_ROW = 1, UF_CSV_END = 0, UF_CSV_ERROR = -1 };

/*
 * Start reading `stream` (borrowed; it must outlive the reader) and read
 * the header row. Returns NULL with err set when the stream fails or the file
 * has no header (empty file): UF_ERR_FORMAT naming the file.
 */
uf_csv_reader *uf_csv_open(uf_stream *stream, char delimiter, uf_error *err);

/* The header fields (valid for the reader's lifetime). */
const uf_slice *uf_csv_header(const uf_csv_reader *reader, size_t *count);

/*
 * Read the next row into *row. Returns UF_CSV_ROW (check row->reject),
 * UF_CSV_END at the end of the file, or UF_CSV_ERROR with err set when the
 * stream itself fails (I/O, corrupt gzip). Blank lines are skipped.
 */
int uf_csv_next(uf_csv_reader *reader, uf_csv_row *row, uf_error *err);

/*
 * Read on from byte `offset` of a plain file, keeping the header: for reading
 * one file in parts, each part by its own reader. With `align` the offset
 * may fall anywhere: reading starts at the first line start at or after it
 * (a line end of any kind just before `offset` makes `offset` itself a line
 * start). That is a row start unless a quoted field spans it, which the
 * caller has to check (run_read.c does). Line numbers then count from 1 at
 * that line start; without `align`, from 1 at `offset`. Returns UF_OK or the
 * stream's error.
 */
int uf_csv_restart(uf_csv_reader *reader, uint64_t offset, bool align, uf_error *err);

/* Where reading stands: the offset of the next unread byte and its line (at the end: the content's size). */
void uf_csv_position(const uf_csv_reader *reader, uint64_t *offset, uint64_t *line);

/*
 * Bytes currently allocated for the row buffer: 256 KiB, more only while a
 * row longer than that is read (never more than about 1.1 MiB). For tests
 * and the report's memory figures.
 */
size_t uf_csv_buffer_capacity(const uf_csv_reader *reader);

void uf_csv_close(uf_csv_reader *reader);

#endif /* UF_CSV_H */
