/*
 * test_blocklist_keys.c — identifier keys (stability, separation of kinds,
 * byte order) and the junk blocklist (kind-specific vs any-kind, copies,
 * growth).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <xxhash.h>

#include "blocklist.h"
#include "keys.h"

/* ------------------------------------------------------------------ */
/* Keys                                                                */
/* ------------------------------------------------------------------ */

static uf_key key_of(const char *kind, const char *value)
{
    return uf_identifier_key(uf_slice_cstr(kind), uf_slice_cstr(value));
}

/* The key as the documented formula computes it: XXH3-128(kind ‖ 0x1F ‖ value), seed 0. */
static uf_key reference_key(const char *kind, size_t kind_len, const char *value, size_t value_len)
{
    size_t n = kind_len + 1 + value_len;
    unsigned char *buf = malloc(n);
    cr_assert_not_null(buf);
    memcpy(buf, kind, kind_len);
    buf[kind_len] = 0x1f;
    memcpy(buf + kind_len + 1, value, value_len);
    XXH128_hash_t h = XXH3_128bits(buf, n);
    free(buf);
    uf_key k = {h.high64, h.low64};
    return k;
}

Test(keys, known_value_is_stable)
{
    /* Pinned: a change here invalidates every store. Do not update casually. */
    uf_key k = key_of("email", "a@b.com");
    cr_expect_eq(k.hi, UINT64_C(0x8e8a45196ee42943), "hi = %016llx", (unsigned long long)k.hi);
    cr_expect_eq(k.lo, UINT64_C(0x65978b9cf7466b1b), "lo = %016llx", (unsigned long long)k.lo);
    unsigned char bytes[16];
    uf_key_to_bytes(k, bytes);
    static const unsigned char expected[16] = {0x8e, 0x8a, 0x45, 0x19, 0x6e, 0xe4, 0x29, 0x43,
                                               0x65, 0x97, 0x8b, 0x9c, 0xf7, 0x46, 0x6b, 0x1b};
    cr_expect(memcmp(bytes, expected, 16) == 0);
}

Test(keys, matches_documented_formula)
{
    uf_key r = reference_key("email", 5, "a@b.com", 7);
    cr_expect(uf_key_equal(key_of("email", "a@b.com"), r));
    /* Around the stack-buffer boundary and far past it (streaming path). */
    static const size_t lengths[] = {0, 1, 100, 505, 506, 507, 508, 1000, 5000, 100000};
    char *value = malloc(100000);
    for (size_t i = 0; i < 100000; i++)
        value[i] = (char)('a' + (i * 7) % 26);
    for (size_t i = 0; i < UF_ARRAY_LEN(lengths); i++) {
        uf_key got = uf_identifier_key(uf_slice_cstr("phone"), uf_slice_make(value, lengths[i]));
        uf_key want = reference_key("phone", 5, value, lengths[i]);
        cr_expect(uf_key_equal(got, want), "value length %zu", lengths[i]);
    }
    /* A long kind name as well. */
    uf_key got = uf_identifier_key(uf_slice_make(value, 600), uf_slice_cstr("x"));
    cr_expect(uf_key_equal(got, reference_key(value, 600, "x", 1)));
    free(value);
}

Test(keys, kinds_and_values_are_separated)
{
    uf_key email = key_of("email", "12345");
    uf_key phone = key_of("phone", "12345");
    uf_key crm = key_of("crm_id", "12345");
    cr_expect_not(uf_key_equal(email, phone));
    cr_expect_not(uf_key_equal(email, crm));
    cr_expect_not(uf_key_equal(phone, crm));
    /* The separator keeps ("ab","c") and ("a","bc") apart. */
    cr_expect_not(uf_key_equal(key_of("ab", "c"), key_of("a", "bc")));
    cr_expect_not(uf_key_equal(key_of("email", ""), key_of("emai", "l")));
    /* Case and bytes matter: keys are of normalized values. */
    cr_expect_not(uf_key_equal(key_of("email", "a@b.com"), key_of("email", "A@b.com")));
    cr_expect_not(uf_key_equal(key_of("email", "a@b.com"), key_of("email", "a@b.com ")));
    /* Deterministic. */
    cr_expect(uf_key_equal(key_of("email", "a@b.com"), key_of("email", "a@b.com")));
    /* Embedded NUL is part of the value. */
    uf_key with_nul = uf_identifier_key(uf_slice_cstr("id"), uf_slice_make("a\0b", 3));
    cr_expect_not(uf_key_equal(with_nul, key_of("id", "a")));
    /* Empty slices with NULL pointers are fine. */
    uf_key empty = uf_identifier_key(uf_slice_make(NULL, 0), uf_slice_make(NULL, 0));
    cr_expect(uf_key_equal(empty, reference_key("", 0, "", 0)));
}

static int compare_keys(const void *a, const void *b)
{
    return uf_key_compare(*(const uf_key *)a, *(const uf_key *)b);
}

Test(keys, no_collisions_among_many)
{
    enum { N = 20000 };
    uf_key *keys = malloc(N * sizeof *keys);
    char buf[32];
    for (int i = 0; i < N; i++) {
        int n = snprintf(buf, sizeof buf, "%d", i);
        keys[i] = uf_identifier_key(uf_slice_cstr(i % 2 ? "email" : "phone"),
                                    uf_slice_make(buf, (size_t)n));
    }
    /* Sort by uf_key_compare and check that neighbours differ. */
    qsort(keys, N, sizeof *keys, compare_keys);
    for (int i = 1; i < N; i++)
        cr_assert_lt(uf_key_compare(keys[i - 1], keys[i]), 0, "duplicate or unsorted at %d", i);
    free(keys);
}

static int sign(int x)
{
    return (x > 0) - (x < 0);
}

Test(keys, bytes_round_trip_and_order)
{
    /* Hand-made keys that stress the byte order: only one byte differs. */
    uf_key a = {UINT64_C(0x0100000000000000), 0};
    uf_key b = {UINT64_C(0x00000000000000ff), UINT64_MAX};
    uf_key c = {UINT64_C(0x0100000000000000), 1};
    uf_key d = {0, UINT64_C(0x8000000000000000)};
    uf_key e = {0, UINT64_C(0x7fffffffffffffff)};
    uf_key hand[] = {a, b, c, d, e, {0, 0}, {UINT64_MAX, UINT64_MAX}};
    uf_key all[200];
    size_t n = 0;
    for (size_t i = 0; i < UF_ARRAY_LEN(hand); i++)
        all[n++] = hand[i];
    char buf[32];
    while (n < UF_ARRAY_LEN(all)) {
        snprintf(buf, sizeof buf, "v%zu", n);
        all[n] = key_of("email", buf);
        n++;
    }
    unsigned char x[16], y[16];
    for (size_t i = 0; i < n; i++) {
        uf_key_to_bytes(all[i], x);
        cr_expect(uf_key_equal(uf_key_from_bytes(x), all[i]), "round trip %zu", i);
        for (size_t j = 0; j < n; j++) {
            uf_key_to_bytes(all[j], y);
            cr_assert_eq(sign(memcmp(x, y, 16)), sign(uf_key_compare(all[i], all[j])),
                         "order of %zu vs %zu", i, j);
        }
    }
    uf_key_to_bytes(a, x);
    cr_expect_eq(x[0], 0x01);
    cr_expect_eq(x[15], 0x00);
    uf_key_to_bytes(c, x);
    cr_expect_eq(x[15], 0x01);
}

/* ------------------------------------------------------------------ */
/* Blocklist                                                           */
/* ------------------------------------------------------------------ */

enum { KIND_EMAIL = 0, KIND_PHONE = 1, KIND_CRM = 12 };

static bool has(const uf_blocklist *list, int kind, const char *value)
{
    return uf_blocklist_contains(list, kind, value, strlen(value));
}

Test(blocklist, empty_and_null)
{
    uf_blocklist *list = uf_blocklist_new();
    cr_assert_not_null(list);
    cr_expect_eq(uf_blocklist_size(list), 0);
    cr_expect_not(has(list, KIND_EMAIL, "test@test.com"));
    cr_expect_not(has(list, UF_BLOCKLIST_ANY_KIND, ""));
    uf_blocklist_free(list);
    cr_expect_not(uf_blocklist_contains(NULL, 0, "x", 1));
    cr_expect_eq(uf_blocklist_size(NULL), 0);
    uf_blocklist_free(NULL);
}

Test(blocklist, kind_specific_and_any_kind)
{
    uf_blocklist *list = uf_blocklist_new();
    cr_assert_not_null(list);
    cr_assert_eq(uf_blocklist_add(list, KIND_EMAIL, "info@shop.com", 13), UF_OK);
    cr_assert_eq(uf_blocklist_add(list, KIND_PHONE, "+15555550100", 12), UF_OK);
    cr_assert_eq(uf_blocklist_add(list, UF_BLOCKLIST_ANY_KIND, "unknown", 7), UF_OK);
    cr_expect_eq(uf_blocklist_size(list), 3);

    /* Kind-specific: only for its kind. */
    cr_expect(has(list, KIND_EMAIL, "info@shop.com"));
    cr_expect_not(has(list, KIND_PHONE, "info@shop.com"));
    cr_expect_not(has(list, KIND_CRM, "info@shop.com"));
    cr_expect(has(list, KIND_PHONE, "+15555550100"));
    cr_expect_not(has(list, KIND_EMAIL, "+15555550100"));
    /* A kind-specific value is not "any kind". */
    cr_expect_not(has(list, UF_BLOCKLIST_ANY_KIND, "info@shop.com"));

    /* Any kind: junk for every kind, and for the any-kind query. */
    cr_expect(has(list, KIND_EMAIL, "unknown"));
    cr_expect(has(list, KIND_PHONE, "unknown"));
    cr_expect(has(list, KIND_CRM, "unknown"));
    cr_expect(has(list, 999, "unknown"));
    cr_expect(has(list, UF_BLOCKLIST_ANY_KIND, "unknown"));

    /* Exact bytes: no prefix, suffix or case matches. */
    cr_expect_not(has(list, KIND_EMAIL, "info@shop.co"));
    cr_expect_not(has(list, KIND_EMAIL, "info@shop.comm"));
    cr_expect_not(has(list, KIND_EMAIL, "INFO@shop.com"));
    cr_expect_not(has(list, KIND_EMAIL, "unknow"));
    cr_expect_not(uf_blocklist_contains(list, KIND_EMAIL, "unknown\0", 8));
    uf_blocklist_free(list);
}

Test(blocklist, duplicates_embedded_nul_and_empty_value)
{
    uf_blocklist *list = uf_blocklist_new();
    cr_assert_not_null(list);
    cr_expect_eq(uf_blocklist_add(list, KIND_CRM, "0", 1), UF_OK);
    cr_expect_eq(uf_blocklist_add(list, KIND_CRM, "0", 1), UF_OK);
    cr_expect_eq(uf_blocklist_size(list), 1);
    cr_expect_eq(uf_blocklist_add(list, KIND_EMAIL, "0", 1), UF_OK); /* other kind: new entry */
    cr_expect_eq(uf_blocklist_size(list), 2);
    cr_expect_eq(uf_blocklist_add(list, KIND_CRM, "a\0b", 3), UF_OK);
    cr_expect(uf_blocklist_contains(list, KIND_CRM, "a\0b", 3));
    cr_expect_not(uf_blocklist_contains(list, KIND_CRM, "a\0c", 3));
    cr_expect_not(uf_blocklist_contains(list, KIND_CRM, "a", 1));
    cr_expect_eq(uf_blocklist_add(list, KIND_PHONE, "", 0), UF_OK);
    cr_expect(uf_blocklist_contains(list, KIND_PHONE, "", 0));
    cr_expect(uf_blocklist_contains(list, KIND_PHONE, NULL, 0));
    cr_expect_not(uf_blocklist_contains(list, KIND_EMAIL, "", 0));
    cr_expect_eq(uf_blocklist_size(list), 4);
    uf_blocklist_free(list);
}

Test(blocklist, values_are_copied)
{
    uf_blocklist *list = uf_blocklist_new();
    cr_assert_not_null(list);
    char buf[32];
    strcpy(buf, "test@test.com");
    cr_assert_eq(uf_blocklist_add(list, KIND_EMAIL, buf, strlen(buf)), UF_OK);
    memset(buf, 'z', sizeof buf - 1);
    buf[sizeof buf - 1] = '\0';
    cr_expect(has(list, KIND_EMAIL, "test@test.com"));
    cr_expect_not(has(list, KIND_EMAIL, buf));
    uf_blocklist_free(list);
}

Test(blocklist, grows_past_initial_size)
{
    enum { N = 20000 };
    uf_blocklist *list = uf_blocklist_new();
    cr_assert_not_null(list);
    char buf[32];
    for (int i = 0; i < N; i++) {
        int n = snprintf(buf, sizeof buf, "junk-%d", i);
        int kind = i % 3 == 0 ? UF_BLOCKLIST_ANY_KIND : i % 3;
        cr_assert_eq(uf_blocklist_add(list, kind, buf, (size_t)n), UF_OK);
        /* Every earlier value survives each rehash (spot-check the first). */
        cr_assert(has(list, UF_BLOCKLIST_ANY_KIND, "junk-0"), "lost after %d adds", i + 1);
    }
    cr_expect_eq(uf_blocklist_size(list), N);
    for (int i = 0; i < N; i++) {
        snprintf(buf, sizeof buf, "junk-%d", i);
        int kind = i % 3;
        cr_expect(has(list, kind == 0 ? 7 : kind, buf), "%s", buf);
        if (kind != 0)
            cr_expect_not(has(list, kind == 1 ? 2 : 1, buf), "%s in wrong kind", buf);
        snprintf(buf, sizeof buf, "junk-%d", i + N);
        cr_expect_not(has(list, 1, buf), "%s never added", buf);
    }
    uf_blocklist_free(list);
}

/* The length filter: long values, empty values, kinds past the per-kind masks, same-length misses. */
Test(blocklist, length_filter_keeps_every_answer)
{
    uf_blocklist *list = uf_blocklist_new();
    cr_assert_not_null(list);
    const char *long_a = "a-very-long-placeholder-value-that-is-longer-than-sixty-three-bytes-x";
    const char *long_b = "a-very-long-placeholder-value-that-is-longer-than-sixty-three-bytes-and-more";
    cr_assert_gt(strlen(long_a), 63);
    cr_assert_eq(uf_blocklist_add(list, KIND_EMAIL, long_a, strlen(long_a)), UF_OK);
    cr_assert_eq(uf_blocklist_add(list, 200, "zz", 2), UF_OK);
    cr_assert_eq(uf_blocklist_add(list, KIND_PHONE, "", 0), UF_OK);
    cr_expect(has(list, KIND_EMAIL, long_a));
    cr_expect_not(has(list, KIND_EMAIL, long_b), "same length class, other value");
    cr_expect_not(has(list, KIND_PHONE, long_a));
    cr_expect(has(list, 200, "zz"));
    cr_expect_not(has(list, 201, "zy"));
    cr_expect_not(has(list, KIND_EMAIL, "zz"));
    cr_expect(has(list, KIND_PHONE, ""));
    cr_expect_not(has(list, KIND_EMAIL, ""));
    cr_assert_eq(uf_blocklist_add(list, UF_BLOCKLIST_ANY_KIND, "n/a", 3), UF_OK);
    cr_expect(has(list, KIND_EMAIL, "n/a"));
    cr_expect(has(list, 200, "n/a"));
    cr_expect(has(list, UF_BLOCKLIST_ANY_KIND, "n/a"));
    cr_expect_not(has(list, KIND_EMAIL, "n/b"));
    /* Through the last-byte filter: a kind's listed value is found for that kind only, an
     * any-kind value for every kind (a byte registered in the wrong set fails these). */
    cr_assert_eq(uf_blocklist_add(list, KIND_PHONE, "+15555555555", 12), UF_OK);
    cr_expect(has(list, KIND_PHONE, "+15555555555"));
    cr_expect_not(has(list, KIND_PHONE, "+15555555556"));
    cr_expect_not(has(list, KIND_EMAIL, "+15555555555"));
    cr_assert_eq(uf_blocklist_add(list, UF_BLOCKLIST_ANY_KIND, "x@y.z", 5), UF_OK);
    cr_expect(has(list, KIND_PHONE, "x@y.z") && has(list, 200, "x@y.z") && has(list, KIND_EMAIL, "x@y.z"));
    uf_blocklist_free(list);
}
