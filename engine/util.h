/*
 * util.h — two small helpers several stages share: growing an array by
 * doubling, and a monotonic clock for stage timings.
 */
#ifndef UF_UTIL_H
#define UF_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Make *array (elements of `size` bytes, *cap of them) hold at least `need`:
 * doubling from 64, so appends cost amortised O(1). False when out of memory
 * (then *array and *cap are unchanged).
 */
bool uf_grow(void **array, size_t *cap, size_t need, size_t size);

/* Seconds on the monotonic clock (for durations only). */
double uf_now_seconds(void);

#endif /* UF_UTIL_H */
