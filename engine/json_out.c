/*
 * json_out.c — growable buffer and JSON string escaping (see json_out.h).
 */
#include "json_out.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void uf_buf_init(uf_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = false;
}

void uf_buf_free(uf_buf *b)
{
    free(b->data);
    uf_buf_init(b);
}

void uf_buf_reset(uf_buf *b)
{
    b->len = 0;
}

bool uf_buf_reserve(uf_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = true;
        b->cap = 0; /* the inline appends (json_out.h) see no room: a failed buffer takes no more bytes */
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void uf_buf_append_grow(uf_buf *b, const char *p, size_t n)
{
    if (n == 0 || !uf_buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void uf_buf_puts(uf_buf *b, const char *s)
{
    uf_buf_append(b, s, strlen(s));
}

void uf_buf_printf(uf_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        uf_buf_append(b, small, (size_t)n);
        return;
    }
    if (!uf_buf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *uf_buf_cstr(uf_buf *b)
{
    if (!uf_buf_reserve(b, 0))
        return "";
    b->data[b->len] = '\0';
    return b->data;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t utf8_sequence(const unsigned char *p, size_t left)
{
    unsigned c = p[0];
    size_t n;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; min = 0x10000; }
    else return 0;
    if (left < n)
        return 0;
    unsigned cp = c & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

void uf_json_string(uf_buf *b, uf_slice s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t i = 0;
    uf_buf_putc(b, '"');
    while (i < s.len) {
        /* Copy the longest run that needs no escaping in one go. */
        size_t start = i;
        while (i < s.len && p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' && p[i] != '\\')
            i++;
        uf_buf_append(b, (const char *)p + start, i - start);
        if (i >= s.len)
            break;
        unsigned c = p[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            uf_buf_append(b, esc, 2);
            i++;
        } else if (c < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            switch (c) {
            case '\n': uf_buf_append(b, "\\n", 2); break;
            case '\r': uf_buf_append(b, "\\r", 2); break;
            case '\t': uf_buf_append(b, "\\t", 2); break;
            default: uf_buf_append(b, esc, 6); break;
            }
            i++;
        } else {
            size_t n = utf8_sequence(p + i, s.len - i);
            if (n == 0) {
                uf_buf_append(b, "\xEF\xBF\xBD", 3); /* U+FFFD */
                i++;
            } else {
                uf_buf_append(b, (const char *)p + i, n);
                i += n;
            }
        }
    }
    uf_buf_putc(b, '"');
}

void uf_json_key(uf_buf *b, const char *key)
{
    uf_json_string(b, uf_slice_cstr(key));
    uf_buf_putc(b, ':');
}
