/*
 * unionfind.h — disjoint sets over dense uint32 ids (record ids).
 *
 * One array of {parent, size} pairs: 8 bytes per element, no per-element
 * allocation. The pair layout (rather than two arrays) puts a root's parent
 * and size in one cache line: at 27 M records every union is a few random
 * memory accesses, and each line saved is time saved. find() uses path
 * halving (every visited node is pointed at its grandparent), which keeps
 * trees almost flat without the recursion or second pass of full path
 * compression. union() links by size.
 *
 * Determinism: the root chosen by a union depends only on the two sets'
 * sizes and ids — the larger set's root wins, and on equal sizes the smaller
 * root id wins — so the same sequence of unions always yields the same
 * forest. Path halving changes parents but never which node is a root.
 *
 * This is the bare structure: no guards. The linker (link.h) wraps it with
 * the over-merge guards and the evidence kept for `explain`.
 */
#ifndef UF_UNIONFIND_H
#define UF_UNIONFIND_H

#include "common.h"

typedef struct uf_unionfind_node {
    uint32_t parent; /* == own index for a root */
    uint32_t size;   /* element count of the set; meaningful at roots only */
} uf_unionfind_node;

typedef struct uf_unionfind {
    uf_unionfind_node *nodes;
    size_t count;
} uf_unionfind;

/*
 * Make `count` singleton sets 0..count-1. count must be < UINT32_MAX.
 * Returns UF_OK, UF_ERR_INVALID (too many elements) or UF_ERR_NOMEM; on
 * failure *uf is left empty (safe to pass to uf_unionfind_free).
 * Memory: 8 bytes per element.
 */
int uf_unionfind_init(uf_unionfind *uf, size_t count);

/* Release the array and empty *uf. Safe on an empty or failed init. */
void uf_unionfind_free(uf_unionfind *uf);

/* Root of the set holding x (x < count). Halves the path as it goes. */
static inline uint32_t uf_unionfind_find(uf_unionfind *uf, uint32_t x)
{
    uf_unionfind_node *nodes = uf->nodes;
    while (nodes[x].parent != x) {
        uint32_t grand = nodes[nodes[x].parent].parent;
        nodes[x].parent = grand;
        x = grand;
    }
    return x;
}

/* True when a and b are in the same set. */
static inline bool uf_unionfind_same(uf_unionfind *uf, uint32_t a, uint32_t b)
{
    return uf_unionfind_find(uf, a) == uf_unionfind_find(uf, b);
}

/*
 * Link two *roots* (ra != rb, both roots): the larger set's root becomes the
 * root, on equal sizes the smaller id. Returns the new root. Callers that
 * already hold the roots (the linker, which checks guards on them first)
 * save two finds.
 */
uint32_t uf_unionfind_link_roots(uf_unionfind *uf, uint32_t ra, uint32_t rb);

/* Union of the sets holding a and b. Returns the root of the merged set. */
uint32_t uf_unionfind_union(uf_unionfind *uf, uint32_t a, uint32_t b);

/* Number of elements in the set holding x. */
static inline uint32_t uf_unionfind_set_size(uf_unionfind *uf, uint32_t x)
{
    return uf->nodes[uf_unionfind_find(uf, x)].size;
}

#endif /* UF_UNIONFIND_H */
