/*
 * sort.c — radix sorts (contract in sort.h).
 *
 * Identifier refs: MSD radix sort, in place at the top.
 *   The sort key is 22 bytes read most significant first: key.hi (8),
 *   key.lo (8), record (4), kind (2).
 *
 *   Level 0 (whole array) is an in-place "American flag" pass: count the
 *   top byte, then permute by cycle-leading each element to the next free
 *   slot of its bucket. No second copy of the refs — they are the largest
 *   array of a run (8 M x 24 bytes = 192 MB at 2.7 M records).
 *
 *   Inside a top-byte bucket (~31 000 refs for 8 M uniform keys, 750 KB,
 *   cache-resident) one out-of-place pass on the next 11 bits scatters into
 *   a per-thread scratch of the bucket's size and copies back: a scatter
 *   has no dependency chain, unlike the in-place cycles, and 2048 buckets
 *   leave ~15 refs each, which insertion sort on the full comparison
 *   finishes. Measured against in-place byte levels all the way down:
 *   ~340 ms -> ~250 ms for 8 M refs on one thread. Ranges that are still
 *   large (many refs sharing a key: records sharing an identifier) recurse
 *   with in-place byte levels; a level whose byte is the same for the whole
 *   range is detected and costs one read pass, no permutation, so a junk
 *   identifier held by 100 000 records goes quickly to its record bytes.
 *   Buckets larger than the scratch cap (skewed, non-hash keys) use the
 *   in-place levels until their ranges fit.
 *
 *   Parallelism: level 0 counts in parallel slices and permutes on one
 *   thread (~90 ms of the ~250), then the 256 buckets are handed out,
 *   largest first, to worker threads that pull the next bucket from an
 *   atomic counter. Which thread sorts which bucket does not matter: a
 *   bucket's result is its sorted values.
 *
 * Elements with a 64-bit key (pairs, plain u64s, the ingest's record
 *   entries): one LSD radix sort for any element size, ping-ponging between
 *   the input and one scratch array. LSD is stable, which is what callers
 *   want; every digit's histogram is counted in one read pass, and passes
 *   whose digit is constant are skipped (small keys such as golden ids or
 *   record ids cost few passes).
 *
 *   Digit width: 11 bits (6 passes over 64-bit keys, fewer when digits
 *   are constant). Instruction counts (callgrind) favoured 16-bit digits
 *   for arrays of 2^17 elements and more (4 passes: 19-35 % fewer
 *   instructions at 2.7 M elements), but time does not: each 16-bit pass
 *   scatters into 65 536 places at once, missing the cache and the TLB on
 *   nearly every store. Measured on this VM (2026-12-06): 24-byte entries
 *   with random keys, best of 7, 600 000 of them 20.9 ms with 11-bit digits,
 *   27.6 ms with 16-bit, 27.6 ms with 8-bit (8 passes); 2.7 M entries with
 *   decimal-digit keys 112 / 160 / 124 ms. In a run at 1 M customers the
 *   ingest's record ordering (five sources of 0.37-0.74 M entries, two
 *   threads) went from 0.194-0.203 s to 0.130-0.136 s. The scratch array
 *   is mapped directly from 2 MiB up (bigarray.h): from malloc, freed on the ingest's
 *   worker threads, it stayed in their arenas and raised that run's peak
 *   RSS by ~40 MiB (990/1 033 MiB instead of 950/990).
 */
#include "sort.h"

#include "bigarray.h"
#include "parallel.h"

#include <stdatomic.h>
#include <stdlib.h>

enum {
    REF_DIGITS = 22,        /* bytes of (hi, lo, record, kind) */
    INSERTION_CUTOFF = 32,  /* below this, a counting level costs more than it saves */
    WIDE_BITS = 11,         /* digit width of the out-of-place level */
    WIDE_MIN = 512,         /* below this, 2048 counters cost more than they save */
    AUX_MAX = 1 << 18,      /* cap of the per-thread scratch, in refs (6 MB) */
    PARALLEL_MIN = 1 << 16, /* below this, threads cost more than they save */
    MAX_THREADS = 64
};

/* Per-thread state: a scratch buffer for the out-of-place level. */
typedef struct sort_ctx {
    uf_identifier_ref *aux;
    size_t aux_cap; /* 0: no scratch, every level in place */
} sort_ctx;

static inline unsigned ref_digit(const uf_identifier_ref *r, unsigned d)
{
    /* The branches depend only on d, which is constant for a whole level,
     * so they predict perfectly. */
    if (d < 8)
        return (unsigned)(r->key.hi >> (56 - 8 * d)) & 0xffu;
    if (d < 16)
        return (unsigned)(r->key.lo >> (56 - 8 * (d - 8))) & 0xffu;
    if (d < 20)
        return (r->record >> (24 - 8 * (d - 16))) & 0xffu;
    return ((unsigned)r->kind >> (8 - 8 * (d - 20))) & 0xffu;
}

static void ref_insertion_sort(uf_identifier_ref *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        if (uf_identifier_ref_compare(&a[i - 1], &a[i]) <= 0)
            continue;
        uf_identifier_ref v = a[i];
        size_t j = i;
        do {
            a[j] = a[j - 1];
            j--;
        } while (j > 0 && uf_identifier_ref_compare(&a[j - 1], &v) > 0);
        a[j] = v;
    }
}

/*
 * Permute a[0..n) in place so that elements are grouped by byte d, given the
 * counts of each byte value. start[b] receives each bucket's first index.
 */
static void ref_permute(uf_identifier_ref *a, const size_t count[256], size_t start[256], unsigned d)
{
    size_t next[256], end[256];
    size_t pos = 0;
    for (unsigned b = 0; b < 256; b++) {
        start[b] = next[b] = pos;
        pos += count[b];
        end[b] = pos;
    }
    for (unsigned b = 0; b < 256; b++) {
        while (next[b] < end[b]) {
            /* Carry the element out of slot next[b] to its bucket, swapping
             * out whatever sits there, until an element of bucket b comes
             * back to fill the slot. Each element moves at most once. */
            uf_identifier_ref v = a[next[b]];
            unsigned c = ref_digit(&v, d);
            while (c != b) {
                uf_identifier_ref t = a[next[c]];
                a[next[c]++] = v;
                v = t;
                c = ref_digit(&v, d);
            }
            a[next[b]++] = v;
        }
    }
}

static void ref_sort_range(const sort_ctx *ctx, uf_identifier_ref *a, size_t n, unsigned d);

/*
 * One out-of-place level on an 11-bit digit of key.hi (byte d and the three
 * bits below it), for a range that fits the scratch buffer: a scatter has no
 * dependency chain (unlike the in-place cycles), and 2048 buckets leave ~15
 * refs per bucket for a 31 000-ref range, which insertion sort finishes. The
 * range is copied back at once so the scratch is free for the recursion.
 * Requires d <= 6 (the digit must lie inside key.hi).
 */
static void ref_wide_level(const sort_ctx *ctx, uf_identifier_ref *a, size_t n, unsigned d)
{
    const unsigned shift = 64 - 8 * d - WIDE_BITS;
    const uint64_t mask = (1u << WIDE_BITS) - 1;
    uint32_t start[(1u << WIDE_BITS) + 1];
    memset(start, 0, sizeof start);
    for (size_t i = 0; i < n; i++)
        start[((a[i].key.hi >> shift) & mask) + 1]++;
    for (unsigned b = 1; b <= (1u << WIDE_BITS); b++)
        start[b] += start[b - 1];
    uint32_t next[1u << WIDE_BITS];
    memcpy(next, start, sizeof next);
    for (size_t i = 0; i < n; i++)
        ctx->aux[next[(a[i].key.hi >> shift) & mask]++] = a[i];
    memcpy(a, ctx->aux, n * sizeof *a);
    /* Every bucket now agrees on bytes <= d; the next byte level is d + 1. */
    for (unsigned b = 0; b < (1u << WIDE_BITS); b++) {
        size_t len = start[b + 1] - start[b];
        if (len > 1)
            ref_sort_range(ctx, a + start[b], len, d + 1);
    }
}

/* Sort a[0..n), whose elements agree on bytes < d. Recursion depth <= REF_DIGITS. */
static void ref_sort_range(const sort_ctx *ctx, uf_identifier_ref *a, size_t n, unsigned d)
{
    while (n > INSERTION_CUTOFF && d < REF_DIGITS) {
        if (d <= 6 && n >= WIDE_MIN && n <= ctx->aux_cap) {
            /* Skip the wide level when the whole range shares byte d (many
             * refs of one identifier): it would only copy. */
            unsigned first = ref_digit(&a[0], d);
            size_t i = 1;
            while (i < n && ref_digit(&a[i], d) == first)
                i++;
            if (i < n) {
                ref_wide_level(ctx, a, n, d);
                return;
            }
            d++;
            continue;
        }
        size_t count[256] = {0};
        for (size_t i = 0; i < n; i++)
            count[ref_digit(&a[i], d)]++;
        if (count[ref_digit(&a[0], d)] == n) {
            d++; /* the whole range shares this byte: nothing to move */
            continue;
        }
        size_t start[256];
        ref_permute(a, count, start, d);
        for (unsigned b = 0; b < 256; b++)
            if (count[b] > 1)
                ref_sort_range(ctx, a + start[b], count[b], d + 1);
        return;
    }
    /* Either small, or every byte is equal (then this is one linear pass). */
    ref_insertion_sort(a, n);
}

/* ---- parallel driver ---------------------------------------------------- */

typedef struct count_job {
    const uf_identifier_ref *refs;
    size_t n;
    size_t count[256];
    bool ascending;   /* the slice's top bytes never descend */
} count_job;

static void *count_top_bytes(void *arg)
{
    count_job *job = arg;
    unsigned previous = 0, descents = 0;
    for (size_t i = 0; i < job->n; i++) {
        unsigned top = (unsigned)(job->refs[i].key.hi >> 56);
        job->count[top]++;
        descents += top < previous;
        previous = top;
    }
    job->ascending = descents == 0;
    return NULL;
}

typedef struct bucket_queue {
    uf_identifier_ref *refs;
    const size_t *start;     /* per bucket */
    const size_t *count;     /* per bucket */
    const unsigned *order;   /* bucket ids, largest first */
    unsigned order_len;
    size_t aux_cap;          /* scratch each worker allocates, in refs */
    atomic_uint next;
} bucket_queue;

static void *sort_buckets(void *arg)
{
    bucket_queue *q = arg;
    sort_ctx ctx = {NULL, 0};
    if (q->aux_cap > 0) {
        ctx.aux = malloc(q->aux_cap * sizeof *ctx.aux);
        ctx.aux_cap = ctx.aux ? q->aux_cap : 0; /* no memory: sort in place, slower */
    }
    for (;;) {
        unsigned i = atomic_fetch_add_explicit(&q->next, 1, memory_order_relaxed);
        if (i >= q->order_len)
            break;
        unsigned b = q->order[i];
        ref_sort_range(&ctx, q->refs + q->start[b], q->count[b], 1);
    }
    free(ctx.aux);
    return NULL;
}

void uf_sort_identifier_refs(uf_identifier_ref *refs, size_t count, int threads)
{
    if (count < 2)
        return;
    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (count < PARALLEL_MIN)
        threads = 1;
    if (count <= INSERTION_CUTOFF) {
        ref_insertion_sort(refs, count);
        return;
    }

    /* Level 0: count the top byte in parallel slices, then permute in place. */
    count_job jobs[MAX_THREADS];
    void *args[MAX_THREADS];
    size_t slice = count / (size_t)threads;
    for (int t = 0; t < threads; t++) {
        jobs[t].refs = refs + (size_t)t * slice;
        jobs[t].n = t == threads - 1 ? count - (size_t)t * slice : slice;
        memset(jobs[t].count, 0, sizeof jobs[t].count);
        args[t] = &jobs[t];
    }
    uf_parallel_run(count_top_bytes, args, (size_t)threads);
    size_t bucket_count[256] = {0};
    bool partitioned = true;
    for (int t = 0; t < threads; t++) {
        for (unsigned b = 0; b < 256; b++)
            bucket_count[b] += jobs[t].count[b];
        partitioned = partitioned && jobs[t].ascending &&
                      (t == 0 || jobs[t].n == 0 || jobs[t - 1].n == 0 ||
                       jobs[t - 1].refs[jobs[t - 1].n - 1].key.hi >> 56 <= jobs[t].refs[0].key.hi >> 56);
    }

    size_t start[256];
    size_t largest = 0;
    if (partitioned) {
        /* Already in top-byte order (the run lays refs out that way, and
         * one top byte for everything is a special case): the in-place
         * permutation, a serial pass over every ref, has nothing to do. */
        size_t pos = 0;
        for (unsigned b = 0; b < 256; b++) {
            start[b] = pos;
            pos += bucket_count[b];
        }
    } else {
        ref_permute(refs, bucket_count, start, 0);
    }

    /* Largest buckets first, so no thread is left with a big one at the end. */
    unsigned order[256];
    unsigned order_len = 0;
    for (unsigned b = 0; b < 256; b++) {
        if (bucket_count[b] > 1)
            order[order_len++] = b;
        if (bucket_count[b] > largest)
            largest = bucket_count[b];
    }
    for (unsigned i = 1; i < order_len; i++) {
        unsigned v = order[i], j = i;
        while (j > 0 && bucket_count[order[j - 1]] < bucket_count[v]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }

    bucket_queue queue = {refs, start, bucket_count, order, order_len,
                          largest < AUX_MAX ? largest : AUX_MAX, 0};
    if (threads > (int)order_len)
        threads = order_len > 0 ? (int)order_len : 1;
    for (int t = 0; t < threads; t++)
        args[t] = &queue; /* one shared queue */
    uf_parallel_run(sort_buckets, args, (size_t)threads);
}

/* ---- stable LSD radix sort by a 64-bit key ------------------------------ */

/* Digit width, measured (see the top). */
enum { LSD_BITS = 11 };

static inline uint64_t lsd_key(const unsigned char *element, size_t key_offset)
{
    uint64_t key;
    memcpy(&key, element + key_offset, sizeof key);
    return key;
}

/*
 * The digit passes, `bits` per digit; hist holds (64 / bits, rounded up)
 * zeroed tables of 2^bits counters. Always inlined so that each call with a
 * constant `size` and `bits` becomes a copy whose element moves are
 * fixed-size loads and stores (not a memcpy call per element) and whose
 * histogram loop is unrolled.
 */
static inline __attribute__((always_inline)) void
lsd_passes(unsigned char *base, unsigned char *scratch, size_t count, size_t size, size_t key_offset,
           unsigned bits, size_t *hist)
{
    const unsigned digits = (64 + bits - 1) / bits;
    const size_t buckets = (size_t)1 << bits;
    const uint64_t mask = buckets - 1;
    /* Every digit's histogram in one read pass: the histograms do not
     * change when the elements move, so each pass only scatters. */
    for (size_t i = 0; i < count; i++) {
        uint64_t key = lsd_key(base + i * size, key_offset);
#pragma GCC unroll 8
        for (unsigned d = 0; d < digits; d++)
            hist[d * buckets + ((key >> (d * bits)) & mask)]++;
    }
    uint64_t first = lsd_key(base, key_offset);
    unsigned char *src = base, *dst = scratch;
    for (unsigned d = 0; d < digits; d++) {
        size_t *next = hist + d * buckets;
        const unsigned shift = d * bits;
        if (next[(first >> shift) & mask] == count)
            continue; /* every key has this digit: the pass would be a copy */
        size_t pos = 0;
        for (size_t b = 0; b < buckets; b++) {
            size_t c = next[b];
            next[b] = pos;
            pos += c;
        }
        for (size_t i = 0; i < count; i++) {
            const unsigned char *e = src + i * size;
            memcpy(dst + next[(lsd_key(e, key_offset) >> shift) & mask]++ * size, e, size);
        }
        unsigned char *t = src;
        src = dst;
        dst = t;
    }
    if (src != base)
        memcpy(base, src, count * size);
}

/* lsd_passes with a constant size for the engine's element sizes (8, 16, 24 bytes), any size otherwise. */
static inline __attribute__((always_inline)) void
lsd_sort(unsigned char *base, unsigned char *scratch, size_t count, size_t size, size_t key_offset,
         unsigned bits, size_t *hist)
{
    switch (size) {
    case 8:
        lsd_passes(base, scratch, count, 8, key_offset, bits, hist);
        break;
    case 16:
        lsd_passes(base, scratch, count, 16, key_offset, bits, hist);
        break;
    case 24:
        lsd_passes(base, scratch, count, 24, key_offset, bits, hist);
        break;
    default:
        lsd_passes(base, scratch, count, size, key_offset, bits, hist);
        break;
    }
}

int uf_sort_by_u64_key(void *base, size_t count, size_t size, size_t key_offset)
{
    if (size < sizeof(uint64_t) || key_offset > size - sizeof(uint64_t))
        return UF_ERR_INVALID; /* no key inside the element: a caller's bug, not a sorted array */
    if (count < 2)
        return UF_OK;
    if (count > SIZE_MAX / size)
        return UF_ERR_NOMEM;
    unsigned char *scratch = uf_alloc_random_access(count * size);
    size_t *hist = calloc((size_t)((64 + LSD_BITS - 1) / LSD_BITS) << LSD_BITS, sizeof *hist);
    if (!scratch || !hist) {
        uf_free_random_access(scratch, count * size);
        free(hist);
        return UF_ERR_NOMEM;
    }
    lsd_sort(base, scratch, count, size, key_offset, LSD_BITS, hist);
    free(hist);
    uf_free_random_access(scratch, count * size);
    return UF_OK;
}

int uf_sort_pairs(uf_sort_pair *pairs, size_t count, uf_error *err)
{
    if (uf_sort_by_u64_key(pairs, count, sizeof *pairs, offsetof(uf_sort_pair, key)) != UF_OK)
        return uf_error_set(err, UF_ERR_NOMEM, "sorting %zu pairs: out of memory", count);
    return UF_OK;
}

bool uf_sort_u64(uint64_t *v, size_t n)
{
    return uf_sort_by_u64_key(v, n, sizeof *v, 0) == UF_OK;
}
