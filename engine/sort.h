/*
 * sort.h — radix sorts for the engine's big arrays.
 *
 * "Sort, don't hash, when the data is big": identifier references are sorted
 * by their 128-bit key so that every record sharing an identifier sits next
 * to the others, and the store's tables are bulk-loaded in key order.
 *
 * Two algorithms:
 *  - uf_sort_identifier_refs: MSD radix sort of uf_identifier_ref by
 *    (key.hi, key.lo, record, kind), in place except for a small scratch
 *    per thread (the largest top-byte bucket, capped at 6 MB) — never a
 *    second copy of the refs, which are the biggest array of a run (24
 *    bytes each, 8 M of them for 2.7 M records). Parallel: the first byte
 *    partitions the array into 256 buckets, then worker threads sort whole
 *    buckets. Measured: 8 M refs in ~250 ms on one thread, ~180 ms on two
 *    (bench_link, shared 2-core VM).
 *  - uf_sort_by_u64_key: stable LSD radix sort of any fixed-size element
 *    by a uint64_t key inside it, with one scratch copy, for callers that
 *    need stability (sorting ids by a computed key, with ties kept in id
 *    order). uf_sort_pairs and uf_sort_u64 are its two common shapes.
 *    11-bit digits at every size (sort.c says why).
 *
 * Determinism: the identifier sort orders by every field of the struct, so
 * its output is the one sorted permutation of the input values — the same
 * bytes whatever the input order or thread count. (Stability is moot: refs
 * that compare equal are identical.)
 */
#ifndef UF_SORT_H
#define UF_SORT_H

#include "common.h"
#include "records.h"

/*
 * Sort `refs` ascending by (key.hi, key.lo, record, kind), in place.
 * `threads` <= 1 sorts on the calling thread; more threads (capped at 64)
 * sort the 256 top-byte buckets concurrently. If a thread cannot be
 * started the calling thread does its share, and if a scratch buffer cannot
 * be allocated that thread sorts fully in place (slower), so this never
 * fails.
 */
void uf_sort_identifier_refs(uf_identifier_ref *refs, size_t count, int threads);

/* Comparison used by the sort (-1, 0, 1), for callers that merge or search. */
static inline int uf_identifier_ref_compare(const uf_identifier_ref *a, const uf_identifier_ref *b)
{
    int c = uf_key_compare(a->key, b->key);
    if (c != 0)
        return c;
    if (a->record != b->record)
        return a->record < b->record ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    return 0;
}

/*
 * Stable sort of `count` elements of `size` bytes at `base`, ascending by the
 * uint64_t at byte `key_offset` of each element: elements with equal keys
 * keep their input order. The one LSD radix sort of the engine (behind the
 * two sorts below, and run_ingest.c's records of a source by key prefix);
 * the key need not be aligned, but must lie inside the element (size >=
 * key_offset + 8; otherwise UF_ERR_INVALID and nothing is moved). Allocates
 * one scratch copy of the array for the call; passes whose digit is the
 * same in every key are skipped (small keys cost few passes). Returns UF_OK
 * or UF_ERR_NOMEM (then the array is unchanged).
 */
int uf_sort_by_u64_key(void *base, size_t count, size_t size, size_t key_offset);

typedef struct uf_sort_pair {
    uint64_t key;
    uint32_t value;
} uf_sort_pair;

/*
 * Stable sort of `pairs` ascending by key: pairs with equal keys keep their
 * input order (uf_sort_by_u64_key). Returns UF_OK or UF_ERR_NOMEM, with a
 * message in `err` (then `pairs` is unchanged).
 */
int uf_sort_pairs(uf_sort_pair *pairs, size_t count, uf_error *err);

/*
 * Sort 64-bit values ascending, in place (the scored matcher's candidate
 * pairs and comparison vectors; uf_sort_by_u64_key). Returns false when out
 * of memory (then v is unchanged).
 */
bool uf_sort_u64(uint64_t *v, size_t n);

#endif /* UF_SORT_H */
