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

/* Big-endian bytes of the key (so memcmp order equals numeric order). */
void uf_key_to_bytes(uf_key key, unsigned char out[16]);
uf_key uf_key_from_bytes(const unsigned char in[16]);

#endif /* UF_KEYS_H */
