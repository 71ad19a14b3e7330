/*
 * test_util.c — uf_grow: doubling from 64, contents kept, no call to the
 * allocator while there is room, and sizes that overflow refused with the
 * array left as it was.
 */
#include "util.h"

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
