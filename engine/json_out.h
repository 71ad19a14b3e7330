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
#include "varint.h"

#include <string.h>

typedef struct uf_buf {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
} uf_buf;

void uf_buf_init(uf_buf *b);
void uf_buf_free(uf_buf *b);
void uf_buf_reset(uf_buf *b);        /* len = 0, keeps memory */
/* Room for `extra` more bytes without growing again; false (and failed) when out of memory. */
bool uf_buf_reserve(uf_buf *b, size_t extra);
/* Growth path of uf_buf_append / uf_buf_putc (a failed buffer ignores the bytes). */
void uf_buf_append_grow(uf_buf *b, const char *p, size_t n);

/* Append n bytes. Inline because profiles and lookups are encoded a few
 * bytes at a time: the call was ~8 % of a run's instructions (callgrind). */
static inline void uf_buf_append(uf_buf *b, const char *p, size_t n)
{
    if (b->len + n < b->cap) { /* keeps one byte for uf_buf_cstr's NUL; cap is 0 once failed */
        if (n)
            memcpy(b->data + b->len, p, n);
        b->len += n;
        return;
    }
    uf_buf_append_grow(b, p, n);
}

static inline void uf_buf_putc(uf_buf *b, char c)
{
    if (b->len + 1 < b->cap) {
        b->data[b->len++] = c;
        return;
    }
    uf_buf_append_grow(b, &c, 1);
}

/* Append v as a varint (varint.h), written in place when there is room:
 * golden records and links are mostly small numbers. */
static inline void uf_buf_append_varint(uf_buf *b, uint64_t v)
{
    if (b->len + UF_VARINT_MAX < b->cap) { /* as uf_buf_append: one byte kept for the NUL; cap is 0 once failed */
        b->len += uf_varint_put((unsigned char *)b->data + b->len, v);
        return;
    }
    unsigned char tmp[UF_VARINT_MAX];
    uf_buf_append_grow(b, (const char *)tmp, uf_varint_put(tmp, v));
}

/* Append s as its length (varint) and its bytes: the string of the binary formats (profiles, links). */
static inline void uf_buf_append_sized(uf_buf *b, uf_slice s)
{
    uf_buf_append_varint(b, s.len);
    if (s.len)
        uf_buf_append(b, s.ptr, s.len);
}

void uf_buf_puts(uf_buf *b, const char *s);
void uf_buf_printf(uf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* NUL-terminated view of the contents (valid until the next append). */
const char *uf_buf_cstr(uf_buf *b);

/* A JSON string literal with quotes. */
void uf_json_string(uf_buf *b, uf_slice s);
/* `"key":` */
void uf_json_key(uf_buf *b, const char *key);

#endif /* UF_JSON_OUT_H */
