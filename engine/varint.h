/*
 * varint.h — unsigned LEB128 (7 bits a byte, low bits first, high bit set
 * while more follow), the number format of every value the store keeps:
 * golden records (profile_codec.c), links (run_links.c) and index blocks
 * (store_block.c). One reader so that all three refuse the same malformed
 * input: a number running past its value, or one of more than 64 bits.
 */
#ifndef UF_VARINT_H
#define UF_VARINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UF_VARINT_MAX 10 /* bytes of the largest 64-bit number */

/* Write v at out (room for UF_VARINT_MAX bytes); returns the bytes written. */
static inline size_t uf_varint_put(unsigned char *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (unsigned char)v;
    return n;
}

/* Read a number at *p, not past end, and move *p after it; false (*p unmoved) when malformed. */
static inline bool uf_varint_get(const unsigned char **p, const unsigned char *end, uint64_t *out)
{
    const unsigned char *q = *p;
    if (q < end && *q < 0x80) { /* the common case: one byte */
        *out = *q;
        *p = q + 1;
        return true;
    }
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (q >= end)
            return false;
        unsigned c = *q++;
        if (shift == 63 && c > 1)
            return false; /* more than 64 bits */
        v |= (uint64_t)(c & 0x7F) << shift;
        if (!(c & 0x80)) {
            *out = v;
            *p = q;
            return true;
        }
    }
    return false;
}

#endif /* UF_VARINT_H */
