/*
 * bigarray.h — allocation for big arrays read at random (one entry per
 * record: union-find nodes, cluster summaries, per-record indexes).
 *
 * They are mapped directly, so freeing them returns the memory to the
 * system at once (the end of linking is the memory peak of a run); small
 * requests fall back to aligned_alloc. No huge pages: see bigarray.c for
 * the measurements behind that.
 */
#ifndef UF_BIGARRAY_H
#define UF_BIGARRAY_H

#include <stddef.h>

/* `bytes` of uninitialised memory, 64-byte aligned; NULL when out of memory. */
void *uf_alloc_random_access(size_t bytes);

/* Free what uf_alloc_random_access(bytes) returned, with the same `bytes` (NULL allowed). */
void uf_free_random_access(void *p, size_t bytes);

#endif /* UF_BIGARRAY_H */
