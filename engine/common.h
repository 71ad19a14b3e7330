/*
 * common.h — small shared vocabulary of the engine: borrowed string slices
 * and error reporting. Every module includes this and nothing heavier.
 *
 * Slices are borrowed (pointer + length, not NUL-terminated): whoever hands
 * one out says how long it stays valid.
 */
#ifndef UF_COMMON_H
#define UF_COMMON_H

#include "unify.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct uf_slice {
    const char *ptr;
    size_t len;
} uf_slice;

static inline uf_slice uf_slice_make(const char *ptr, size_t len)
{
    uf_slice s = {ptr, len};
    return s;
}

static inline uf_slice uf_slice_cstr(const char *s)
{
    return uf_slice_make(s, s ? strlen(s) : 0);
}

static inline bool uf_slice_equals(uf_slice a, const char *cstr)
{
    size_t n = strlen(cstr);
    return a.len == n && (n == 0 || memcmp(a.ptr, cstr, n) == 0);
}

/* Write a formatted message and a code into `err` (NULL allowed). Returns `code`. */
int uf_error_set(uf_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clear `err` to UF_OK with an empty message (NULL allowed). */
void uf_error_clear(uf_error *err);

#define UF_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif /* UF_COMMON_H */
