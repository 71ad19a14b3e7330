/*
 * jsonl.h — streaming JSON Lines reader: one JSON object per line.
 *
 * Top-level members are returned as (key, value, type). Strings are
 * unescaped to UTF-8 (\uXXXX and surrogate pairs included); numbers and
 * booleans are returned as their text; null is returned with type
 * UF_JSON_NULL; nested objects and arrays are returned with type
 * UF_JSON_NESTED and their raw JSON text as the value. Memory is bounded by
 * the longest line.
 *
 * Details of the contract:
 *  - Duplicate keys are all returned, in line order (a consumer wanting
 *    "last one wins" takes the last match).
 *  - A null value is an empty slice; a number is its exact text (`-1.5e3`).
 *  - Reasons, first match wins: nul_byte (raw, or a \u0000 escape in a
 *    top-level key or string), invalid_utf8, json_syntax (also lone UTF-16
 *    surrogates, nesting deeper than 64, text after the object),
 *    json_not_object, field_too_long (a key or value over
 *    UF_MAX_FIELD_BYTES, or a line over about 1.1 MiB). A rejected record
 *    has count 0.
 *  - CRLF line ends are accepted; a UTF-8 byte-order mark before the first
 *    line is skipped; lines holding only whitespace are skipped.
 *  - An empty file is not an error: it has no records.
 */
#ifndef UF_JSONL_H
#define UF_JSONL_H

#include "common.h"
#include "reject.h"
#include "stream.h"

typedef enum uf_json_type {
    UF_JSON_STRING,
    UF_JSON_NUMBER,
    UF_JSON_BOOL,
    UF_JSON_NULL,
    UF_JSON_NESTED
} uf_json_type;

typedef struct uf_jsonl_reader uf_jsonl_reader;

typedef struct uf_jsonl_record {
    const uf_slice *keys;      /* member names, unescaped */
    const uf_slice *values;    /* member values as described above */
    const uf_json_type *types;
    size_t count;
    uint64_t line;             /* 1-based line number */
    uint64_t offset;           /* byte offset in the content where the line starts */
    uf_reject_reason reject;   /* UF_REJECT_NONE for a good record */
} uf_jsonl_record;

enum { UF_JSONL_RECORD = 1, UF_JSONL_END = 0, UF_JSONL_ERROR = -1 };

/* Start reading `stream` (borrowed). NULL with err set on failure. */
uf_jsonl_reader *uf_jsonl_open(uf_stream *stream, uf_error *err);

/*
 * Read the next record. Returns UF_JSONL_RECORD (check rec->reject),
 * UF_JSONL_END, or UF_JSONL_ERROR with err set when the stream fails.
 * Blank lines are skipped. Slices are valid until the next call.
 */
int uf_jsonl_next(uf_jsonl_reader *reader, uf_jsonl_record *rec, uf_error *err);

/*
 * Read on from byte `offset` of a plain file: for reading one file in parts,
 * each part by its own reader. With `align` the offset may fall anywhere:
 * reading starts at the first line start at or after it (`offset` itself
 * when a '\n' precedes it). Line numbers then count from 1 at that line
 * start; without `align`, from 1 at `offset`. Returns UF_OK or the stream's
 * error.
 */
int uf_jsonl_restart(uf_jsonl_reader *reader, uint64_t offset, bool align, uf_error *err);

/* Where reading stands: the offset of the next unread byte and its line (at the end: the content's size). */
void uf_jsonl_position(const uf_jsonl_reader *reader, uint64_t *offset, uint64_t *line);

/*
 * Bytes currently allocated for the line buffer: 256 KiB, more only while a
 * longer line is read (never more than about 1.1 MiB). For tests and the
 * report's memory figures.
 */
size_t uf_jsonl_buffer_capacity(const uf_jsonl_reader *reader);

void uf_jsonl_close(uf_jsonl_reader *reader);

#endif /* UF_JSONL_H */
