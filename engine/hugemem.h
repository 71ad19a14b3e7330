/*
 * hugemem.h — allocation for big arrays read at random (one entry per
 * record: union-find nodes, cluster summaries, per-record indexes).
 *
 * They get 2 MB transparent huge pages where the system allows it (fewer
 * TLB misses on random reads) and are mapped directly, so freeing them
 * returns the memory to the system at once. Small requests fall back to
 * aligned_alloc. See hugemem.c for the measurements behind this.
 */
#ifndef UF_HUGEMEM_H
#define UF_HUGEMEM_H

#include <stddef.h>

/* `bytes` of uninitialised memory, 64-byte aligned; NULL when out of memory. */
void *uf_alloc_random_access(size_t bytes);

/* Free what uf_alloc_random_access(bytes) returned, with the same `bytes` (NULL allowed). */
void uf_free_random_access(void *p, size_t bytes);

#endif /* UF_HUGEMEM_H */
