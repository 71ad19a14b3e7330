/*
 * util.h — small helpers several stages share: growing an array by
 * doubling, a monotonic clock for stage timings, a qsort comparator.
 */
#ifndef UF_UTIL_H
#define UF_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Make *array (elements of `size` bytes, *cap of them) hold at least `need`:
 * doubling from 64, so appends cost amortised O(1). False when out of memory
 * or when the size overflows (then *array and *cap are unchanged).
 */
bool uf_grow_array(void **array, size_t *cap, size_t need, size_t size);

/* uf_grow_array with the common case (room enough) inline: hot loops call
 * it once per element (golden records: ~1 % of a run's instructions). */
static inline bool uf_grow(void **array, size_t *cap, size_t need, size_t size)
{
    return need <= *cap || uf_grow_array(array, cap, need, size);
}

/* Seconds on the monotonic clock (for durations only). */
double uf_now_seconds(void);

/*
 * qsort comparator of uint64_t values, ascending. It reads the first 8
 * bytes of each element, so it also orders structs by a leading uint64_t
 * member. (Big arrays that need stability use uf_sort_by_u64_key, sort.h.)
 */
int uf_compare_u64(const void *a, const void *b);

#endif /* UF_UTIL_H */
