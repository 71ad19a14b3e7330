/*
 * test_util.c — uf_grow: doubling from 64, contents kept, no call to the
 * allocator while there is room, and sizes that overflow refused with the
 * array left as it was. The varints of every stored value (varint.h):
 * round trips at the byte boundaries, and malformed input refused.
 */
#include "util.h"
#include "varint.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

Test(util, grow_doubles_and_keeps_contents)
{
    uint32_t *v = NULL;
    size_t cap = 0;
    cr_assert(uf_grow((void **)&v, &cap, 1, sizeof *v));
    cr_assert_eq(cap, 64);
    for (uint32_t i = 0; i < 1000; i++) {
        cr_assert(uf_grow((void **)&v, &cap, i + 1, sizeof *v));
        v[i] = i * 7;
    }
    cr_assert_eq(cap, 1024);
    for (uint32_t i = 0; i < 1000; i++)
        cr_assert_eq(v[i], i * 7);
    uint32_t *before = v;
    cr_assert(uf_grow((void **)&v, &cap, 1024, sizeof *v)); /* room enough: nothing moves */
    cr_assert_eq(v, before);
    cr_assert_eq(cap, 1024);
    cr_assert(uf_grow((void **)&v, &cap, 5000, sizeof *v)); /* several doublings at once */
    cr_assert_eq(cap, 8192);
    cr_assert_eq(v[999], 999 * 7);
    free(v);
}

Test(util, grow_refuses_sizes_that_overflow)
{
    uint64_t *v = NULL;
    size_t cap = 0;
    cr_assert(uf_grow((void **)&v, &cap, 10, sizeof *v));
    uint64_t *before = v;
    cr_assert_not(uf_grow((void **)&v, &cap, SIZE_MAX / 4, sizeof *v)); /* bytes overflow */
    cr_assert_not(uf_grow((void **)&v, &cap, SIZE_MAX, 1));              /* doubling overflows */
    cr_assert_eq(v, before);
    cr_assert_eq(cap, 64);
    free(v);
}

Test(util, varints_round_trip_and_refuse_malformed_input)
{
    static const uint64_t values[] = {0, 1, 127, 128, 16383, 16384, (uint64_t)1 << 35, ((uint64_t)1 << 63) - 1,
                                      (uint64_t)1 << 63, UINT64_MAX};
    static const size_t lengths[] = {1, 1, 1, 2, 2, 3, 6, 9, 10, 10};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        unsigned char buf[UF_VARINT_MAX + 1];
        size_t n = uf_varint_put(buf, values[i]);
        cr_assert_eq(n, lengths[i], "%zu: %zu bytes", i, n);
        const unsigned char *p = buf;
        uint64_t v = 42;
        cr_assert(uf_varint_get(&p, buf + n, &v));
        cr_assert_eq(v, values[i]);
        cr_assert_eq(p, buf + n);
        /* Cut short at every length: refused, nothing consumed. */
        for (size_t cut = 0; cut < n; cut++) {
            p = buf;
            cr_assert_not(uf_varint_get(&p, buf + cut, &v), "%zu cut at %zu", i, cut);
            cr_assert_eq(p, buf);
        }
    }
    /* More than 64 bits: a tenth byte above 1, or an eleventh byte. */
    unsigned char big[11] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0};
    const unsigned char *p = big;
    uint64_t v;
    cr_assert_not(uf_varint_get(&p, big + 10, &v));
    big[9] = 0x81;
    p = big;
    cr_assert_not(uf_varint_get(&p, big + 11, &v));
}
