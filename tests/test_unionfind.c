/*
 * test_unionfind.c — the union-find and the radix sorts that feed linking.
 *
 * Union-find: basics, the size/id tie-break that makes roots deterministic,
 * and agreement with a naive relabelling implementation on random unions.
 * Sorts: the identifier sort against qsort on random data of many sizes
 * (including the parallel threshold and the insertion-sort cutoff), skewed
 * inputs that defeat the bucket structure (one top byte, one key, keys that
 * differ only in the low bytes), thread-count independence, and the
 * stability of the LSD sort (uf_sort_by_u64_key, the pair sort) at every
 * element size and key offset, with passes skipped where digits agree.
 *
 * UF_TEST_SMALL=1 (valgrind) leaves out the sizes above 100 000: 65 537,
 * 70 000 and 100 000 still take the parallel path (PARALLEL_MIN is 65 536).
 */
#include "sort.h"
#include "unionfind.h"

#include "test_small.h"

#include <criterion/criterion.h>
#include <stddef.h>
#include <stdlib.h>

/* xorshift64*: a tiny deterministic generator so failures reproduce. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* ---- union-find --------------------------------------------------------- */

Test(unionfind, starts_as_singletons)
{
    uf_unionfind uf;
    cr_assert_eq(uf_unionfind_init(&uf, 10), UF_OK);
    for (uint32_t i = 0; i < 10; i++) {
        cr_assert_eq(uf_unionfind_find(&uf, i), i);
        cr_assert_eq(uf_unionfind_set_size(&uf, i), 1);
    }
    cr_assert_not(uf_unionfind_same(&uf, 3, 4));
    uf_unionfind_free(&uf);
    cr_assert_null(uf.nodes);
}

Test(unionfind, empty_and_too_large)
{
    uf_unionfind uf;
    cr_assert_eq(uf_unionfind_init(&uf, 0), UF_OK);
    cr_assert_eq(uf.count, 0);
    uf_unionfind_free(&uf);
    cr_assert_eq(uf_unionfind_init(&uf, (size_t)UINT32_MAX), UF_ERR_INVALID);
    uf_unionfind_free(&uf); /* safe after a failed init */
}

Test(unionfind, equal_sizes_smaller_id_becomes_root)
{
    uf_unionfind uf;
    cr_assert_eq(uf_unionfind_init(&uf, 8), UF_OK);
    cr_assert_eq(uf_unionfind_union(&uf, 5, 3), 3, "argument order must not matter");
    cr_assert_eq(uf_unionfind_union(&uf, 1, 6), 1);
    /* {1,6} and {3,5}: equal sizes, root 1 wins. */
    cr_assert_eq(uf_unionfind_union(&uf, 5, 6), 1);
    cr_assert_eq(uf_unionfind_set_size(&uf, 3), 4);
    uf_unionfind_free(&uf);
}

Test(unionfind, larger_set_wins_over_smaller_id)
{
    uf_unionfind uf;
    cr_assert_eq(uf_unionfind_init(&uf, 8), UF_OK);
    uf_unionfind_union(&uf, 6, 7);
    uf_unionfind_union(&uf, 7, 5); /* {5,6,7} rooted at 6 */
    cr_assert_eq(uf_unionfind_find(&uf, 5), 6);
    cr_assert_eq(uf_unionfind_union(&uf, 0, 5), 6, "size 3 beats the smaller id 0");
    cr_assert_eq(uf_unionfind_find(&uf, 0), 6);
    cr_assert_eq(uf_unionfind_set_size(&uf, 0), 4);
    cr_assert_eq(uf_unionfind_union(&uf, 0, 7), 6, "already together: same root");
    cr_assert_eq(uf_unionfind_set_size(&uf, 0), 4);
    uf_unionfind_free(&uf);
}

Test(unionfind, path_halving_keeps_roots_and_flattens)
{
    uf_unionfind uf;
    cr_assert_eq(uf_unionfind_init(&uf, 64), UF_OK);
    /* Build a deep tree by hand (union by size never would): 63 -> 62 -> ... -> 0. */
    for (uint32_t i = 1; i < 64; i++)
        uf.nodes[i].parent = i - 1;
    uf.nodes[0].size = 64;
    cr_assert_eq(uf_unionfind_find(&uf, 63), 0);
    /* Halving: 63 now skips at least one level, and the path is about halved. */
    cr_assert_leq(uf.nodes[63].parent, 61);
    size_t depth = 0;
    for (uint32_t x = 63; x != 0; x = uf.nodes[x].parent)
        depth++;
    cr_assert_leq(depth, 32);
    for (uint32_t i = 0; i < 64; i++)
        cr_assert_eq(uf_unionfind_find(&uf, i), 0);
    uf_unionfind_free(&uf);
}

/* Naive partition: label[x] is the smallest member's id; a union relabels. */
static void naive_union(uint32_t *label, size_t n, uint32_t a, uint32_t b)
{
    uint32_t la = label[a], lb = label[b];
    uint32_t keep = la < lb ? la : lb, drop = la < lb ? lb : la;
    for (size_t i = 0; i < n; i++)
        if (label[i] == drop)
            label[i] = keep;
}

Test(unionfind, agrees_with_naive_partition_and_is_repeatable)
{
    enum { N = 500, OPS = 400 };
    uf_unionfind u1, u2;
    uint32_t label[N];
    cr_assert_eq(uf_unionfind_init(&u1, N), UF_OK);
    cr_assert_eq(uf_unionfind_init(&u2, N), UF_OK);
    for (uint32_t i = 0; i < N; i++)
        label[i] = i;
    uint64_t rng = 42;
    for (int op = 0; op < OPS; op++) {
        uint32_t a = (uint32_t)(next_random(&rng) % N), b = (uint32_t)(next_random(&rng) % N);
        uint32_t r1 = uf_unionfind_union(&u1, a, b);
        uint32_t r2 = uf_unionfind_union(&u2, a, b);
        cr_assert_eq(r1, r2);
        naive_union(label, N, a, b);
    }
    for (uint32_t i = 0; i < N; i++) {
        for (uint32_t j = i + 1; j < N; j += 7)
            cr_assert_eq(uf_unionfind_same(&u1, i, j), label[i] == label[j], "%u %u", i, j);
        size_t members = 0;
        for (uint32_t j = 0; j < N; j++)
            members += label[j] == label[i];
        cr_assert_eq(uf_unionfind_set_size(&u1, i), members);
    }
    /* Same operations, same forest (finds above flattened u1 only, so compare roots). */
    for (uint32_t i = 0; i < N; i++)
        cr_assert_eq(uf_unionfind_find(&u1, i), uf_unionfind_find(&u2, i));
    uf_unionfind_free(&u1);
    uf_unionfind_free(&u2);
}

/* ---- identifier sort ---------------------------------------------------- */

static int qsort_ref_compare(const void *a, const void *b)
{
    return uf_identifier_ref_compare(a, b);
}

static void assert_same_refs(const uf_identifier_ref *a, const uf_identifier_ref *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cr_assert(uf_key_equal(a[i].key, b[i].key), "key differs at %zu of %zu", i, n);
        cr_assert_eq(a[i].record, b[i].record, "record differs at %zu of %zu", i, n);
        cr_assert_eq(a[i].kind, b[i].kind, "kind differs at %zu of %zu", i, n);
    }
}

typedef enum key_shape {
    SHAPE_RANDOM,         /* uniform hashes with repeats, like real identifier keys */
    SHAPE_ONE_TOP_BYTE,   /* every key in one top-level bucket */
    SHAPE_ONE_KEY,        /* one identifier held by every ref: only records differ */
    SHAPE_LOW_BITS,       /* hi equal, keys differ in lo only */
    SHAPE_EDGE_BYTES,     /* bytes 0x00 and 0xFF only: first and last buckets */
    SHAPE_TIES            /* one key, four records: order decided by kind */
} key_shape;

static void fill_refs(uf_identifier_ref *refs, size_t n, key_shape shape, uint64_t seed)
{
    uint64_t rng = seed;
    size_t distinct = n / 3 + 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = next_random(&rng) % distinct;
        uf_identifier_ref *r = &refs[i];
        memset(r, 0, sizeof *r);
        uint64_t h = k * 0x9E3779B97F4A7C15ULL + 1, l = k * 0xC2B2AE3D27D4EB4FULL;
        switch (shape) {
        case SHAPE_RANDOM:
            r->key.hi = h;
            r->key.lo = l;
            break;
        case SHAPE_ONE_TOP_BYTE:
            r->key.hi = (h >> 8) | (0xABULL << 56);
            r->key.lo = l;
            break;
        case SHAPE_ONE_KEY:
            r->key.hi = 0x1234;
            r->key.lo = 0x5678;
            break;
        case SHAPE_LOW_BITS:
            r->key.hi = 7;
            r->key.lo = l;
            break;
        case SHAPE_EDGE_BYTES:
            r->key.hi = (k & 1) ? UINT64_MAX : 0;
            r->key.lo = (k & 2) ? UINT64_MAX : 0;
            break;
        case SHAPE_TIES:
            r->key.hi = UINT64_MAX;
            r->key.lo = 1;
            break;
        }
        r->record = (uint32_t)(next_random(&rng) % (shape == SHAPE_TIES ? 4 : n + 10));
        r->kind = (uint16_t)(next_random(&rng) % (shape == SHAPE_TIES ? 65536 : 3));
    }
}

static void check_sort(size_t n, key_shape shape, int threads, uint64_t seed)
{
    uf_identifier_ref *refs = calloc(n ? n : 1, sizeof *refs);
    uf_identifier_ref *expect = calloc(n ? n : 1, sizeof *expect);
    cr_assert(refs && expect);
    fill_refs(refs, n, shape, seed);
    memcpy(expect, refs, n * sizeof *refs);
    qsort(expect, n, sizeof *expect, qsort_ref_compare);
    uf_sort_identifier_refs(refs, n, threads);
    assert_same_refs(refs, expect, n);
    free(refs);
    free(expect);
}

Test(sort, identifier_refs_match_qsort_at_many_sizes)
{
    static const size_t sizes[] = {0, 1, 2, 3, 31, 32, 33, 100, 511, 512, 513, 1000, 4096,
                                   65535, 65536, 65537, 100000, 300000};
    size_t max = T_SMALL_OR(SIZE_MAX, 100000);
    for (size_t i = 0; i < UF_ARRAY_LEN(sizes) && sizes[i] <= max; i++) {
        check_sort(sizes[i], SHAPE_RANDOM, 1, 1000 + i);
        check_sort(sizes[i], SHAPE_RANDOM, 2, 2000 + i);
    }
    check_sort(T_SMALL_OR(200000, 100000), SHAPE_RANDOM, 5, 77);
}

Test(sort, identifier_refs_skewed_keys)
{
    static const key_shape shapes[] = {SHAPE_ONE_TOP_BYTE, SHAPE_ONE_KEY, SHAPE_LOW_BITS, SHAPE_EDGE_BYTES,
                                       SHAPE_TIES};
    static const size_t sizes[] = {5, 40, 700, 70000, 300000};
    size_t max = T_SMALL_OR(SIZE_MAX, 100000);
    for (size_t s = 0; s < UF_ARRAY_LEN(shapes); s++)
        for (size_t i = 0; i < UF_ARRAY_LEN(sizes) && sizes[i] <= max; i++)
            for (int threads = 1; threads <= 2; threads++)
                check_sort(sizes[i], shapes[s], threads, 31 * s + i);
}

Test(sort, ties_on_key_and_record_ordered_by_kind)
{
    uf_identifier_ref refs[6];
    memset(refs, 0, sizeof refs);
    const uint16_t kinds[6] = {5, 2, 9, 2, 0, 5};
    for (int i = 0; i < 6; i++) {
        refs[i].key.hi = 1;
        refs[i].key.lo = 2;
        refs[i].record = i < 3 ? 4 : 3;
        refs[i].kind = kinds[i];
    }
    uf_sort_identifier_refs(refs, 6, 1);
    const uint32_t want_record[6] = {3, 3, 3, 4, 4, 4};
    const uint16_t want_kind[6] = {0, 2, 5, 2, 5, 9};
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(refs[i].record, want_record[i]);
        cr_assert_eq(refs[i].kind, want_kind[i]);
    }
}

Test(sort, identifier_refs_independent_of_input_order_and_threads)
{
    enum { N = 150000 };
    uf_identifier_ref *a = calloc(N, sizeof *a), *b = calloc(N, sizeof *b);
    cr_assert(a && b);
    fill_refs(a, N, SHAPE_RANDOM, 9);
    memcpy(b, a, N * sizeof *a);
    uint64_t rng = 5;
    for (size_t i = N - 1; i > 0; i--) { /* Fisher-Yates */
        size_t j = next_random(&rng) % (i + 1);
        uf_identifier_ref t = b[i];
        b[i] = b[j];
        b[j] = t;
    }
    uf_sort_identifier_refs(a, N, 1);
    uf_sort_identifier_refs(b, N, 2);
    assert_same_refs(a, b, N);
    free(a);
    free(b);
}

/* Stable partition of refs by the top byte of their key (what the run's layout produces). */
static void partition_by_top_byte(uf_identifier_ref *a, size_t n)
{
    uf_identifier_ref *out = calloc(n ? n : 1, sizeof *out);
    cr_assert(out);
    size_t at = 0;
    for (unsigned b = 0; b < 256; b++)
        for (size_t i = 0; i < n; i++)
            if (a[i].key.hi >> 56 == b)
                out[at++] = a[i];
    memcpy(a, out, n * sizeof *a);
    free(out);
}

Test(sort, input_already_in_top_byte_order)
{
    /* The sort skips its first level for input in top-byte order; it must
     * still sort within each top byte, and must not be fooled by slices
     * that ascend each on its own but not across their boundary. */
    /* Above PARALLEL_MIN (65 536), so that the threads' slices exist. */
    const size_t N = T_SMALL_OR(140000, 70000);
    uf_identifier_ref *a = calloc(N, sizeof *a), *sorted = calloc(N, sizeof *sorted);
    cr_assert(a && sorted);
    for (int threads = 1; threads <= T_SMALL_OR(3, 2); threads++) {
        fill_refs(a, N, SHAPE_RANDOM, 40 + (uint64_t)threads);
        memcpy(sorted, a, N * sizeof *a);
        qsort(sorted, N, sizeof *sorted, qsort_ref_compare);
        partition_by_top_byte(a, N);
        uf_sort_identifier_refs(a, N, threads);
        assert_same_refs(a, sorted, N);
    }
    /* Two halves, each in top-byte order, the second starting below the first's end. */
    fill_refs(a, N, SHAPE_RANDOM, 50);
    memcpy(sorted, a, N * sizeof *a);
    qsort(sorted, N, sizeof *sorted, qsort_ref_compare);
    partition_by_top_byte(a, N / 2);
    partition_by_top_byte(a + N / 2, N - N / 2);
    cr_assert_gt(a[N / 2 - 1].key.hi >> 56, a[N / 2].key.hi >> 56);
    uf_sort_identifier_refs(a, N, 2);
    assert_same_refs(a, sorted, N);
    free(a);
    free(sorted);
}

Test(sort, already_sorted_and_reversed_input)
{
    enum { N = 70000 };
    uf_identifier_ref *a = calloc(N, sizeof *a), *b = calloc(N, sizeof *b);
    cr_assert(a && b);
    fill_refs(a, N, SHAPE_RANDOM, 3);
    qsort(a, N, sizeof *a, qsort_ref_compare);
    for (size_t i = 0; i < N; i++)
        b[i] = a[N - 1 - i];
    uf_identifier_ref *sorted = calloc(N, sizeof *sorted);
    memcpy(sorted, a, N * sizeof *a);
    uf_sort_identifier_refs(a, N, 2);
    uf_sort_identifier_refs(b, N, 2);
    assert_same_refs(a, sorted, N);
    assert_same_refs(b, sorted, N);
    free(a);
    free(b);
    free(sorted);
}

/* ---- pair sort ---------------------------------------------------------- */

typedef struct indexed_pair {
    uf_sort_pair pair;
    size_t index; /* input position: the reference sort is stable by it */
} indexed_pair;

static int indexed_pair_compare(const void *pa, const void *pb)
{
    const indexed_pair *a = pa, *b = pb;
    if (a->pair.key != b->pair.key)
        return a->pair.key < b->pair.key ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

static void check_pairs(size_t n, uint64_t key_mask, uint64_t seed)
{
    uf_sort_pair *pairs = calloc(n ? n : 1, sizeof *pairs);
    indexed_pair *expect = calloc(n ? n : 1, sizeof *expect);
    cr_assert(pairs && expect);
    uint64_t rng = seed;
    for (size_t i = 0; i < n; i++) {
        pairs[i].key = next_random(&rng) & key_mask;
        pairs[i].value = (uint32_t)i;
        expect[i].pair = pairs[i];
        expect[i].index = i;
    }
    qsort(expect, n, sizeof *expect, indexed_pair_compare);
    uf_error err;
    cr_assert_eq(uf_sort_pairs(pairs, n, &err), UF_OK);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(pairs[i].key, expect[i].pair.key, "key at %zu of %zu", i, n);
        cr_assert_eq(pairs[i].value, expect[i].pair.value, "value (stability) at %zu of %zu", i, n);
    }
    free(pairs);
    free(expect);
}

Test(sort, pairs_stable_and_sorted)
{
    check_pairs(0, UINT64_MAX, 1);
    check_pairs(1, UINT64_MAX, 2);
    check_pairs(2, 1, 3);
    check_pairs(1000, UINT64_MAX, 4);
    check_pairs(50000, 0xF, 5);                    /* many ties: stability matters */
    check_pairs(50000, 0xFF00000000000000ULL, 6);  /* only the top byte varies */
    check_pairs(50000, 0, 7);                      /* all keys equal: input order kept */
    check_pairs(100000, 0x00FF00FF00FF00FFULL, 8); /* alternate bytes constant: skipped passes */
}

/* ---- the LSD sort behind both: any element size, key at any offset ------ */

/* Like run_ingest's sort entries: 24 bytes, the key not the first member. */
typedef struct wide_entry {
    uint32_t input;   /* input position: ties must keep this order */
    uint32_t spare;
    uint64_t key;
    uint64_t payload; /* derived from key and input: must travel with them */
} wide_entry;

/* 13 bytes with the key unaligned: the routine's generic element size. */
typedef struct __attribute__((packed)) odd_entry {
    unsigned char tag;
    uint32_t input;
    uint64_t key;
} odd_entry;

static int wide_entry_compare(const void *pa, const void *pb)
{
    const wide_entry *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->input < b->input ? -1 : a->input > b->input;
}

static void check_keyed_sort(size_t n, uint64_t key_mask, uint64_t seed)
{
    wide_entry *wide = calloc(n ? n : 1, sizeof *wide), *expect = calloc(n ? n : 1, sizeof *expect);
    odd_entry *odd = calloc(n ? n : 1, sizeof *odd);
    cr_assert(wide && expect && odd);
    uint64_t rng = seed;
    for (size_t i = 0; i < n; i++) {
        uint64_t key = next_random(&rng) & key_mask;
        wide[i] = (wide_entry){(uint32_t)i, 0, key, key * 31 + i};
        odd[i].tag = (unsigned char)i;
        odd[i].input = (uint32_t)i;
        odd[i].key = key;
    }
    memcpy(expect, wide, n * sizeof *wide);
    qsort(expect, n, sizeof *expect, wide_entry_compare); /* stable by input position */
    cr_assert_eq(uf_sort_by_u64_key(wide, n, sizeof *wide, offsetof(wide_entry, key)), UF_OK);
    cr_assert_eq(uf_sort_by_u64_key(odd, n, sizeof *odd, offsetof(odd_entry, key)), UF_OK);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(wide[i].key, expect[i].key, "key at %zu of %zu (mask %#llx)", i, n,
                     (unsigned long long)key_mask);
        cr_assert_eq(wide[i].input, expect[i].input, "stability at %zu of %zu (mask %#llx)", i, n,
                     (unsigned long long)key_mask);
        cr_assert_eq(wide[i].payload, expect[i].payload, "payload at %zu", i);
        uint64_t odd_key = odd[i].key; /* copied out: the member is unaligned */
        uint32_t odd_input = odd[i].input;
        cr_assert_eq(odd_key, expect[i].key, "13-byte key at %zu of %zu", i, n);
        cr_assert_eq(odd_input, expect[i].input, "13-byte stability at %zu of %zu", i, n);
        cr_assert_eq(odd[i].tag, (unsigned char)odd_input, "13-byte element moved whole at %zu", i);
    }
    free(wide);
    free(expect);
    free(odd);
}

/*
 * Key masks chosen for the digit passes (11-bit digits below 2^17 elements,
 * 16-bit digits from there on; the top 11-bit digit has 9 bits): each width
 * meets 0, 1 and 2 passes — an odd count ends in the scratch copy, an even
 * one in the input — and constant digits wherever they lie.
 */
static const uint64_t pass_masks[] = {
    UINT64_MAX,                /* every pass */
    0x7,                       /* few keys: long runs of ties */
    0,                         /* all keys equal: no pass, input order kept */
    0x7FFULL << 22,            /* 11-bit digit 2 only; 16-bit digits 1 and 2 */
    0x1FFULL << 55,            /* the top digit only, at both widths */
    0x3ULL << 10,              /* 11-bit digits 0 and 1; 16-bit digit 0 */
    0xFFFFULL << 16,           /* 11-bit digits 1 and 2; 16-bit digit 1 */
    0xFULL | 0xFULL << 60,     /* two passes far apart, many ties */
    0xFF00FF00FF00FF00ULL,     /* bytes alternate: every digit varies */
};

Test(sort, keyed_sort_stable_at_any_size_and_offset)
{
    check_keyed_sort(0, UINT64_MAX, 1);
    check_keyed_sort(1, UINT64_MAX, 2);
    check_keyed_sort(2, 1, 3);
    for (size_t m = 0; m < UF_ARRAY_LEN(pass_masks); m++)
        check_keyed_sort(30000, pass_masks[m], 10 + m);
}

Test(sort, keyed_sort_stable_with_wide_digits)
{
    for (size_t m = 0; m < UF_ARRAY_LEN(pass_masks); m++)
        check_keyed_sort(140000, pass_masks[m], 20 + m);
}

static void check_ties_in_input_order(size_t n, unsigned shift)
{
    /* Keys 3, 2, 1, 3, 2, 1, ...: each key's elements must come out in the
     * order they went in. */
    wide_entry *a = calloc(n, sizeof *a);
    cr_assert(a);
    for (uint32_t i = 0; i < n; i++)
        a[i] = (wide_entry){i, 0, (uint64_t)(3 - i % 3) << shift, i};
    cr_assert_eq(uf_sort_by_u64_key(a, n, sizeof *a, offsetof(wide_entry, key)), UF_OK);
    for (size_t i = 1; i < n; i++) {
        cr_assert_leq(a[i - 1].key, a[i].key, "order at %zu of %zu (shift %u)", i, n, shift);
        if (a[i - 1].key == a[i].key)
            cr_assert_lt(a[i - 1].input, a[i].input, "tie order at %zu of %zu (shift %u)", i, n, shift);
    }
    free(a);
}

Test(sort, keyed_sort_ties_keep_input_order_exactly)
{
    /* A key that needs only the lowest digit and one whose only varying
     * digit is the top, with narrow and with wide digits. */
    for (unsigned shift = 0; shift < 64; shift += 61) {
        check_ties_in_input_order(9000, shift);
        check_ties_in_input_order(140000, shift);
    }
}

Test(sort, keyed_sort_refuses_a_key_outside_the_element)
{
    /* A caller's bug must not pass for a sorted array. */
    uint64_t v[3] = {3, 1, 2};
    cr_assert_eq(uf_sort_by_u64_key(v, 3, sizeof *v, 1), UF_ERR_INVALID);
    cr_assert_eq(uf_sort_by_u64_key(v, 3, 4, 0), UF_ERR_INVALID);
    cr_assert_eq(uf_sort_by_u64_key(v, 3, sizeof *v, SIZE_MAX), UF_ERR_INVALID);
    cr_assert(v[0] == 3 && v[1] == 1 && v[2] == 2, "nothing moved");
    cr_assert_eq(uf_sort_by_u64_key(v, 3, sizeof *v, 0), UF_OK);
    cr_assert(v[0] == 1 && v[1] == 2 && v[2] == 3);
}
