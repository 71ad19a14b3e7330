/*
 * reject.h — why a single row of an export was refused. A rejected row never
 * stops a run: it is written to the rejects file as `file:line: reason` and
 * counted per reason in the report.
 */
#ifndef UF_REJECT_H
#define UF_REJECT_H

#include <stddef.h>

typedef enum uf_reject_reason {
    UF_REJECT_NONE = 0,
    UF_REJECT_COLUMN_COUNT,      /* CSV row has more or fewer fields than the header */
    UF_REJECT_UNBALANCED_QUOTE,  /* CSV quoted field never closes (or closes badly) */
    UF_REJECT_INVALID_UTF8,      /* bytes that are not valid UTF-8 */
    UF_REJECT_FIELD_TOO_LONG,    /* one field longer than UF_MAX_FIELD_BYTES */
    UF_REJECT_NUL_BYTE,          /* a NUL byte inside the row */
    UF_REJECT_JSON_SYNTAX,       /* JSONL line is not valid JSON */
    UF_REJECT_JSON_NOT_OBJECT,   /* JSONL line is valid JSON but not an object */
    UF_REJECT_MISSING_KEY,       /* the record-key column/field is empty or absent */
    UF_REJECT_REASON_COUNT
} uf_reject_reason;

/* Longest field (in bytes) a reader accepts; longer fields reject the row. */
#define UF_MAX_FIELD_BYTES 65536

/* Stable snake_case name of a reason, e.g. "column_count" (never NULL). */
const char *uf_reject_reason_name(uf_reject_reason reason);

/*
 * The byte-level checks every reader applies to a row: returns
 * UF_REJECT_NUL_BYTE when `text` holds a NUL byte, else
 * UF_REJECT_INVALID_UTF8 when it is not well-formed UTF-8 (overlong forms,
 * surrogates and code points above U+10FFFF are invalid), else
 * UF_REJECT_NONE. Pure ASCII is checked 8 or 16 bytes at a time.
 */
uf_reject_reason uf_reject_check_text(const char *text, size_t len);

#endif /* UF_REJECT_H */
