/*
 * json_out.h — a growable output buffer with JSON helpers, used for
 * profiles, reports, exports and lookups. Strings are escaped per RFC 8259
 * (control characters as \u00XX); invalid UTF-8 is replaced by U+FFFD so the
 * output is always valid JSON whatever the exports contained.
 *
 * Allocation failure is sticky: the buffer stops growing, `failed` is set
 * and the caller checks it once at the end.
 */
#ifndef UF_JSON_OUT_H
#define UF_JSON_OUT_H

#include "common.h"

typedef struct uf_buf {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
} uf_buf;

void uf_buf_init(uf_buf *b);
void uf_buf_free(uf_buf *b);
void uf_buf_reset(uf_buf *b);        /* len = 0, keeps memory */
void uf_buf_append(uf_buf *b, const char *p, size_t n);
void uf_buf_puts(uf_buf *b, const char *s);
void uf_buf_putc(uf_buf *b, char c);
void uf_buf_printf(uf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* NUL-terminated view of the contents (valid until the next append). */
const char *uf_buf_cstr(uf_buf *b);

/* A JSON string literal with quotes. */
void uf_json_string(uf_buf *b, uf_slice s);
/* `"key":` */
void uf_json_key(uf_buf *b, const char *key);

#endif /* UF_JSON_OUT_H */
