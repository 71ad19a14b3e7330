/*
 * keys.c — 128-bit identifier keys.
 *
 * The idea: every (kind, normalized value) becomes XXH3-128 of
 *     kind bytes ‖ 0x1F ‖ value bytes
 * with seed 0, so matching, sorting and the store work on two integers, and
 * any XXH3 implementation reproduces a key (e.g. Python
 * xxhash.xxh3_128(b"email\x1fa@b.com")). The unit separator 0x1F cannot
 * occur in a kind name, so ("ab", "c") and ("a", "bc") never collide by
 * construction. At 128 bits, collisions among even billions of identifiers
 * are not a practical concern (birthday bound ~2^64).
 *
 * The key format is part of the store format: changing the separator, the
 * seed or the byte order invalidates every stored key (a unit test pins a
 * known value).
 *
 * No allocation: kind ‖ sep ‖ value is copied into a stack buffer when it
 * fits (the usual case: one-shot XXH3 is fastest for short inputs); longer
 * inputs go through the XXH3 streaming state, also on the stack. Both give
 * the same digest.
 *
 * Bytes are big-endian (hi then lo, most significant byte first) so that
 * memcmp order equals uf_key_compare order, which lets LMDB's default
 * comparator and the radix sort agree.
 */
#define XXH_STATIC_LINKING_ONLY
#include "keys.h"

#include <xxhash.h>

#define KEY_SEPARATOR 0x1F
#define KEY_SEED 0
#define KEY_STACK_BUFFER 512

uf_key uf_identifier_key(uf_slice kind, uf_slice value)
{
    static const unsigned char sep = KEY_SEPARATOR;
    XXH128_hash_t h;
    size_t total = kind.len + 1 + value.len;
    if (total <= KEY_STACK_BUFFER) {
        unsigned char buf[KEY_STACK_BUFFER];
        if (kind.len)
            memcpy(buf, kind.ptr, kind.len);
        buf[kind.len] = sep;
        if (value.len)
            memcpy(buf + kind.len + 1, value.ptr, value.len);
        h = XXH3_128bits_withSeed(buf, total, KEY_SEED);
    } else {
        XXH3_state_t state;
        XXH3_128bits_reset_withSeed(&state, KEY_SEED);
        XXH3_128bits_update(&state, kind.ptr, kind.len);
        XXH3_128bits_update(&state, &sep, 1);
        XXH3_128bits_update(&state, value.ptr, value.len);
        h = XXH3_128bits_digest(&state);
    }
    uf_key key = {h.high64, h.low64};
    return key;
}

void uf_key_to_bytes(uf_key key, unsigned char out[16])
{
    uf_be64_put(out, key.hi);
    uf_be64_put(out + 8, key.lo);
}

uf_key uf_key_from_bytes(const unsigned char in[16])
{
    uf_key key = {uf_be64_get(in), uf_be64_get(in + 8)};
    return key;
}
