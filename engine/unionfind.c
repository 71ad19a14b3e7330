/*
 * unionfind.c — union by size with a deterministic tie-break (see
 * unionfind.h). Union by size bounds tree height by log2(n) even before
 * path halving flattens it, so a find on 27 M records touches a handful of
 * cache lines at most; size (not rank) is kept because the linker and the
 * run report want cluster sizes anyway.
 */
#include "unionfind.h"

#include "bigarray.h"

#include <stdlib.h>


int uf_unionfind_init(uf_unionfind *uf, size_t count)
{
    uf->nodes = NULL;
    uf->count = 0;
    if (count >= UINT32_MAX)
        return UF_ERR_INVALID;
    /* malloc(0) may return NULL; allocate one element so success is unambiguous. */
    uf->nodes = uf_alloc_random_access(count * sizeof *uf->nodes);
    if (!uf->nodes)
        return UF_ERR_NOMEM;
    uf->count = count;
    for (size_t i = 0; i < count; i++) {
        uf->nodes[i].parent = (uint32_t)i;
        uf->nodes[i].size = 1;
    }
    uf->count = count;
    return UF_OK;
}

void uf_unionfind_free(uf_unionfind *uf)
{
    uf_free_random_access(uf->nodes, uf->count * sizeof *uf->nodes);
    uf->nodes = NULL;
    uf->count = 0;
}

uint32_t uf_unionfind_link_roots(uf_unionfind *uf, uint32_t ra, uint32_t rb)
{
    if (ra == rb)
        return ra;
    uint32_t sa = uf->nodes[ra].size, sb = uf->nodes[rb].size;
    /* Larger set wins; equal sizes: smaller id, so the result never depends
     * on argument order. */
    bool a_wins = sa > sb || (sa == sb && ra < rb);
    uint32_t root = a_wins ? ra : rb, child = a_wins ? rb : ra;
    uf->nodes[child].parent = root;
    uf->nodes[root].size = sa + sb;
    return root;
}

uint32_t uf_unionfind_union(uf_unionfind *uf, uint32_t a, uint32_t b)
{
    return uf_unionfind_link_roots(uf, uf_unionfind_find(uf, a), uf_unionfind_find(uf, b));
}
