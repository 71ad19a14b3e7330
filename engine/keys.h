/*
 * keys.h — every identifier becomes a 128-bit XXH3 key of (kind name,
 * normalized value), so matching, sorting and the store work on fixed-size
 * integers. The kind's *name* (not its config index) is hashed so that keys
 * stay the same when a configuration adds or reorders identifier kinds.
 */
#ifndef UF_KEYS_H
#define UF_KEYS_H

#include "common.h"

typedef struct uf_key {
    uint64_t hi;
    uint64_t lo;
} uf_key;

/* Key of (kind, value). `kind` and `value` are normalized slices. */
uf_key uf_identifier_key(uf_slice kind, uf_slice value);

static inline int uf_key_compare(uf_key a, uf_key b)
{
    if (a.hi != b.hi)
        return a.hi < b.hi ? -1 : 1;
    if (a.lo != b.lo)
        return a.lo < b.lo ? -1 : 1;
    return 0;
}

static inline bool uf_key_equal(uf_key a, uf_key b)
{
    return a.hi == b.hi && a.lo == b.lo;
}

/*
 * 64-bit big-endian bytes, for keys whose byte order must be their numeric
 * order. One byte swap where the compiler has one: GCC 12 keeps the
 * portable loop as a loop (94 instructions for a 16-byte key).
 */
static inline void uf_be64_put(unsigned char out[8], uint64_t v)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
    memcpy(out, &v, sizeof v);
#else
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
#endif
}

static inline uint64_t uf_be64_get(const void *p)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return __builtin_bswap64(v);
#else
    const unsigned char *b = p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | b[i];
    return v;
#endif
}

/* Big-endian bytes of the key (so memcmp order equals numeric order). */
void uf_key_to_bytes(uf_key key, unsigned char out[16]);
uf_key uf_key_from_bytes(const unsigned char in[16]);

#endif /* UF_KEYS_H */
