/*
 * test_compare.c — the comparison primitives (Jaro–Winkler, optimal string
 * alignment distance, Soundex) against published values and a reference
 * implementation, and every level of every field's level function.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "compare.h"

#define S(lit) uf_slice_make(lit, sizeof(lit) - 1)

/* ------------------------------------------------------------------ */
/* Jaro–Winkler                                                        */
/* ------------------------------------------------------------------ */

typedef struct jw_case {
    const char *a, *b;
    double expected;
} jw_case;

static const jw_case jw_cases[] = {
    {"martha", "marhta", 0.961},
    {"dwayne", "duane", 0.840},
    {"dixon", "dicksonx", 0.813},
    {"jellyfish", "smellyfish", 0.896},
    {"martha", "martha", 1.0},
    {"abc", "xyz", 0.0},
    {"", "", 1.0},
    {"", "abc", 0.0},
    {"abc", "", 0.0},
    {"a", "a", 1.0},
    {"a", "b", 0.0},
};

Test(jaro_winkler, known_values)
{
    for (size_t i = 0; i < sizeof jw_cases / sizeof jw_cases[0]; i++) {
        const jw_case *c = &jw_cases[i];
        double ab = uf_jaro_winkler(c->a, strlen(c->a), c->b, strlen(c->b));
        double ba = uf_jaro_winkler(c->b, strlen(c->b), c->a, strlen(c->a));
        cr_expect(fabs(ab - c->expected) < 1e-3, "jw(%s, %s) = %.4f, expected %.3f", c->a, c->b, ab, c->expected);
        cr_expect(fabs(ab - ba) < 1e-12, "jw(%s, %s) is not symmetric: %.6f vs %.6f", c->a, c->b, ab, ba);
    }
}

Test(jaro_winkler, long_strings_use_the_heap_and_stay_in_range)
{
    size_t n = 1000;
    char *a = malloc(n), *b = malloc(n);
    cr_assert(a && b);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        a[i] = b[i] = (char)('a' + (x >> 16) % 26);
    }
    /* Expected values from a plain textbook implementation (Python) on the same strings. A
     * change in the middle cascades through greedy matching over a 499-byte window. */
    b[500] = '#';
    double s = uf_jaro_winkler(a, n, b, n);
    cr_expect(fabs(s - 0.9571575575575576) < 1e-12, "jw of long strings, change in the middle: %.16f", s);
    b[500] = a[500];
    b[998] = '#';
    s = uf_jaro_winkler(a, n, b, n);
    cr_expect(fabs(s - 0.9996) < 1e-12, "jw of long strings, change near the end: %.16f", s);
    cr_expect_eq(uf_jaro_winkler(a, n, a, n), 1.0);
    free(a);
    free(b);
}

/* Textbook Jaro–Winkler with flag arrays: the reference for the bit-set fast path. */
static double reference_jw(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen == 0 && blen == 0)
        return 1.0;
    if (alen == 0 || blen == 0)
        return 0.0;
    size_t longer = alen > blen ? alen : blen;
    size_t window = longer / 2 > 0 ? longer / 2 - 1 : 0;
    bool am[128] = {false}, bm[128] = {false};
    size_t m = 0;
    for (size_t i = 0; i < alen; i++)
        for (size_t j = i > window ? i - window : 0; j < blen && j <= i + window; j++)
            if (!bm[j] && a[i] == b[j]) {
                am[i] = bm[j] = true;
                m++;
                break;
            }
    if (m == 0)
        return 0.0;
    size_t t = 0, k = 0;
    for (size_t i = 0; i < alen; i++) {
        if (!am[i])
            continue;
        while (!bm[k])
            k++;
        t += a[i] != b[k++];
    }
    double jaro = ((double)m / alen + (double)m / blen + ((double)m - (double)(t / 2)) / m) / 3.0;
    size_t p = 0;
    while (p < 4 && p < alen && p < blen && a[p] == b[p])
        p++;
    return jaro + p * 0.1 * (1 - jaro);
}

static uint64_t jw_rng = 0x243f6a8885a308d3ull;

Test(jaro_winkler, agrees_with_the_textbook_version_around_64_bytes)
{
    char a[128], b[128];
    for (int round = 0; round < 20000; round++) {
        jw_rng = jw_rng * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t x = jw_rng;
        size_t alen = (x >> 8) % 72, blen = (x >> 20) % 72; /* across the 64-byte bit-set limit */
        unsigned alphabet = 2 + (unsigned)((x >> 32) % 6);
        for (size_t i = 0; i < alen; i++) {
            jw_rng = jw_rng * 6364136223846793005ull + 1442695040888963407ull;
            a[i] = (char)('a' + (jw_rng >> 40) % alphabet);
        }
        for (size_t i = 0; i < blen; i++) {
            jw_rng = jw_rng * 6364136223846793005ull + 1442695040888963407ull;
            b[i] = (char)('a' + (jw_rng >> 40) % alphabet);
        }
        double got = uf_jaro_winkler(a, alen, b, blen), want = reference_jw(a, alen, b, blen);
        cr_assert(fabs(got - want) < 1e-12, "jw(%.*s, %.*s) = %.15f, reference %.15f", (int)alen, a, (int)blen, b,
                  got, want);
    }
}

/* ------------------------------------------------------------------ */
/* Damerau–Levenshtein (optimal string alignment)                      */
/* ------------------------------------------------------------------ */

typedef struct dl_case {
    const char *a, *b;
    int max;
    int expected;
} dl_case;

static const dl_case dl_cases[] = {
    {"ca", "ac", 5, 1},
    {"abc", "ca", 5, 3}, /* OSA: no edit of a transposed pair (unrestricted DL gives 2) */
    {"kitten", "sitting", 5, 3},
    {"kitten", "sitting", 3, 3},
    {"kitten", "sitting", 2, 3}, /* above max: max + 1 */
    {"kitten", "sitting", 1, 2},
    {"kitten", "sitting", 0, 1},
    {"", "", 3, 0},
    {"", "abc", 5, 3},
    {"abc", "", 2, 3},
    {"abc", "abc", 0, 0},
    {"abcdef", "abcdfe", 1, 1},
    {"smith", "smyth", 1, 1},
    {"90210", "90201", 1, 1},
    {"abcdefgh", "ab", 3, 4}, /* length gap alone exceeds max */
    {"martha", "marhta", 100, 1},
};

Test(damerau_levenshtein, known_values)
{
    for (size_t i = 0; i < sizeof dl_cases / sizeof dl_cases[0]; i++) {
        const dl_case *c = &dl_cases[i];
        int d = uf_damerau_levenshtein(c->a, strlen(c->a), c->b, strlen(c->b), c->max);
        cr_expect_eq(d, c->expected, "dl(%s, %s, max %d) = %d, expected %d", c->a, c->b, c->max, d, c->expected);
    }
}

/* Full-matrix OSA: the reference the banded, affix-stripping version must agree with. */
static int reference_osa(const char *a, size_t n, const char *b, size_t m)
{
    int *d = malloc((n + 1) * (m + 1) * sizeof *d);
    cr_assert_not_null(d);
#define D(i, j) d[(i) * (m + 1) + (j)]
    for (size_t i = 0; i <= n; i++)
        D(i, 0) = (int)i;
    for (size_t j = 0; j <= m; j++)
        D(0, j) = (int)j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            int v = D(i - 1, j) + 1;
            if (D(i, j - 1) + 1 < v)
                v = D(i, j - 1) + 1;
            int sub = D(i - 1, j - 1) + (a[i - 1] != b[j - 1]);
            if (sub < v)
                v = sub;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && D(i - 2, j - 2) + 1 < v)
                v = D(i - 2, j - 2) + 1;
            D(i, j) = v;
        }
    }
    int r = D(n, m);
#undef D
    free(d);
    return r;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A copy of `src` with `edits` random edits (insert, delete, substitute, transpose). */
static size_t mutate(const char *src, size_t len, char *dst, int edits, int alphabet)
{
    memcpy(dst, src, len);
    for (int e = 0; e < edits; e++) {
        size_t pos = len ? rng_next() % (len + 1) : 0;
        switch (rng_next() % 4) {
        case 0: /* insert */
            memmove(dst + pos + 1, dst + pos, len - pos);
            dst[pos] = (char)('a' + rng_next() % (unsigned)alphabet);
            len++;
            break;
        case 1: /* delete */
            if (pos < len) {
                memmove(dst + pos, dst + pos + 1, len - pos - 1);
                len--;
            }
            break;
        case 2: /* substitute */
            if (pos < len)
                dst[pos] = (char)('a' + rng_next() % (unsigned)alphabet);
            break;
        default: /* transpose */
            if (pos + 1 < len) {
                char t = dst[pos];
                dst[pos] = dst[pos + 1];
                dst[pos + 1] = t;
            }
            break;
        }
    }
    return len;
}

Test(damerau_levenshtein, agrees_with_the_full_matrix_on_random_strings)
{
    char a[64], b[128];
    for (int round = 0; round < 20000; round++) {
        int alphabet = 2 + (int)(rng_next() % 5); /* small alphabets: many repeats and transpositions */
        size_t n = rng_next() % 12;
        for (size_t i = 0; i < n; i++)
            a[i] = (char)('a' + rng_next() % (unsigned)alphabet);
        size_t m = mutate(a, n, b, (int)(rng_next() % 6), alphabet);
        int expected = reference_osa(a, n, b, m);
        for (int max = 0; max <= 7; max++) {
            int d = uf_damerau_levenshtein(a, n, b, m, max);
            int want = expected <= max ? expected : max + 1;
            cr_assert_eq(d, want, "dl(%.*s, %.*s, max %d) = %d, expected %d", (int)n, a, (int)m, b, max, d, want);
        }
        cr_assert_eq(uf_damerau_levenshtein(b, m, a, n, 100), expected);
    }
}

Test(damerau_levenshtein, long_strings_are_exact)
{
    /* 300+ bytes, with edits spread out so affix stripping leaves a long middle. */
    enum { N = 400 };
    char *a = malloc(N), *b = malloc(N + 8);
    cr_assert(a && b);
    for (size_t i = 0; i < N; i++)
        a[i] = (char)('a' + (i * 7 + i / 26) % 26);
    memcpy(b, a, N);
    b[3] = '#';                          /* substitute near the start */
    char t = b[200]; b[200] = b[201]; b[201] = t; /* transpose in the middle */
    b[390] = '#';                        /* substitute near the end */
    memmove(b + 301, b + 300, N - 300);  /* insert */
    b[300] = '!';
    size_t m = N + 1;
    int expected = reference_osa(a, N, b, m);
    cr_assert_eq(expected, 4);
    cr_expect_eq(uf_damerau_levenshtein(a, N, b, m, 4), 4);
    cr_expect_eq(uf_damerau_levenshtein(a, N, b, m, 3), 4);
    cr_expect_eq(uf_damerau_levenshtein(a, N, b, m, 1), 2);
    cr_expect_eq(uf_damerau_levenshtein(a, N, b, m, 1000), 4); /* wide band: heap */
    cr_expect_eq(uf_damerau_levenshtein(a, N, a, N, 1), 0);

    /* Entirely different long strings: the full distance, from a band as wide as the input. */
    char *c = malloc(N);
    cr_assert_not_null(c);
    memset(c, 'z', N);
    int full = reference_osa(a, N, c, N);
    cr_expect_eq(uf_damerau_levenshtein(a, N, c, N, 100000), full);
    cr_expect_eq(uf_damerau_levenshtein(a, N, c, N, 10), 11);
    free(a);
    free(b);
    free(c);
}

/* ------------------------------------------------------------------ */
/* Soundex                                                             */
/* ------------------------------------------------------------------ */

static uint32_t packed(const char code[4])
{
    return (uint32_t)(unsigned char)code[0] << 24 | (uint32_t)(unsigned char)code[1] << 16 |
           (uint32_t)(unsigned char)code[2] << 8 | (uint32_t)(unsigned char)code[3];
}

Test(soundex, known_values)
{
    static const struct {
        const char *name, *code;
    } cases[] = {
        {"robert", "R163"},   {"rupert", "R163"},  {"rubin", "R150"},   {"ashcraft", "A261"},
        {"ashcroft", "A261"}, {"tymczak", "T522"}, {"pfister", "P236"}, {"honeyman", "H555"},
        {"Robert", "R163"},   {"lee", "L000"},     {"a", "A000"},       {"o'brien", "O165"},
        {"smith jones", "S530"}, /* the first word only */
        {"  smith", "S530"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t got = uf_soundex(cases[i].name, strlen(cases[i].name));
        cr_expect_eq(got, packed(cases[i].code), "soundex(%s) = %08x, expected %s", cases[i].name, got,
                     cases[i].code);
    }
    cr_expect_eq(uf_soundex("", 0), 0u);
    cr_expect_eq(uf_soundex("123 -", 5), 0u);
    cr_expect_eq(uf_soundex("\xce\xb5\xce\xbb", 4), 0u); /* Greek: no ASCII letter */
}

/* ------------------------------------------------------------------ */
/* Levels                                                              */
/* ------------------------------------------------------------------ */

typedef struct level_case {
    uf_cmp_field field;
    const char *a, *b;
    int expected;
} level_case;

static const level_case level_cases[] = {
    /* first name */
    {UF_CMP_FIRST_NAME, "robert", "robert", UF_FIRST_EXACT},
    {UF_CMP_FIRST_NAME, "bob", "robert", UF_FIRST_NICKNAME},
    {UF_CMP_FIRST_NAME, "robert", "bob", UF_FIRST_NICKNAME},
    {UF_CMP_FIRST_NAME, "bobby", "rob", UF_FIRST_NICKNAME},
    {UF_CMP_FIRST_NAME, "liz", "beth", UF_FIRST_NICKNAME},
    {UF_CMP_FIRST_NAME, "kathryn", "katherine", UF_FIRST_NICKNAME},
    {UF_CMP_FIRST_NAME, "martha", "marhta", UF_FIRST_JW94_DL1},
    {UF_CMP_FIRST_NAME, "isabelle", "isobelle", UF_FIRST_JW94_DL1}, /* DL 1 */
    {UF_CMP_FIRST_NAME, "michelle", "michele", UF_FIRST_JW94_DL1},
    {UF_CMP_FIRST_NAME, "stephanie", "stefanie", UF_FIRST_JW88},  /* JW 0.919, DL 2 */
    {UF_CMP_FIRST_NAME, "jackie", "jacky", UF_FIRST_JW88},        /* jackie is jacqueline's, jacky no nickname */
    {UF_CMP_FIRST_NAME, "mary jane", "mary", UF_FIRST_JW88},      /* whole strings: JW 0.889 */
    {UF_CMP_FIRST_NAME, "dwayne", "duane", UF_FIRST_ELSE},        /* JW 0.84 */
    {UF_CMP_FIRST_NAME, "bob", "william", UF_FIRST_ELSE},
    {UF_CMP_FIRST_NAME, "", "robert", UF_CMP_MISSING},
    {UF_CMP_FIRST_NAME, "robert", "", UF_CMP_MISSING},
    {UF_CMP_FIRST_NAME, "", "", UF_CMP_MISSING},
    /* last name */
    {UF_CMP_LAST_NAME, "smith", "smith", UF_LAST_EXACT},
    {UF_CMP_LAST_NAME, "smith", "smyth", UF_LAST_JW94_DL1},
    {UF_CMP_LAST_NAME, "johnson", "johnston", UF_LAST_JW94_DL1},
    {UF_CMP_LAST_NAME, "garcia lopez", "garcia", UF_LAST_JW88}, /* not exact: JW 0.90 */
    {UF_CMP_LAST_NAME, "jellyfish", "smellyfish", UF_LAST_JW88},
    {UF_CMP_LAST_NAME, "smith", "jones", UF_LAST_ELSE},
    {UF_CMP_LAST_NAME, "bob", "robert", UF_LAST_ELSE}, /* no nicknames for surnames */
    {UF_CMP_LAST_NAME, "", "smith", UF_CMP_MISSING},
    {UF_CMP_LAST_NAME, "smith", "", UF_CMP_MISSING},
    /* postcode */
    {UF_CMP_POSTCODE, "sw1a 1aa", "sw1a 1aa", UF_POSTCODE_EXACT},
    {UF_CMP_POSTCODE, "sw1a 1aa", "sw1a 1ab", UF_POSTCODE_NEAR},
    {UF_CMP_POSTCODE, "90210", "90201", UF_POSTCODE_NEAR},
    {UF_CMP_POSTCODE, "90210", "9021", UF_POSTCODE_NEAR},
    {UF_CMP_POSTCODE, "90210", "10001", UF_POSTCODE_ELSE},
    {UF_CMP_POSTCODE, "", "90210", UF_CMP_MISSING},
    /* address */
    {UF_CMP_ADDRESS, "12 main street", "12 main street", UF_ADDRESS_EXACT},
    {UF_CMP_ADDRESS, "12 main street", "12 main stret", UF_ADDRESS_NEAR},
    {UF_CMP_ADDRESS, "12 main street", "12 mian street", UF_ADDRESS_NEAR},
    {UF_CMP_ADDRESS, "12a main street", "12a mian street", UF_ADDRESS_NEAR},
    {UF_CMP_ADDRESS, "12 main street", "14 main street", UF_ADDRESS_ELSE}, /* another home */
    {UF_CMP_ADDRESS, "12 main street", "12 oak avenue", UF_ADDRESS_ELSE},
    {UF_CMP_ADDRESS, "main street", "main stret", UF_ADDRESS_NEAR},         /* no numbers: whole JW */
    {UF_CMP_ADDRESS, "12 main street", "main street", UF_ADDRESS_ELSE},     /* whole JW < 0.94 */
    {UF_CMP_ADDRESS, "high street", "low road", UF_ADDRESS_ELSE},
    {UF_CMP_ADDRESS, "12 main street", "", UF_CMP_MISSING},
    /* city */
    {UF_CMP_CITY, "london", "london", UF_CITY_EXACT},
    {UF_CMP_CITY, "london", "londn", UF_CITY_NEAR},
    {UF_CMP_CITY, "marseille", "marseilles", UF_CITY_NEAR},
    {UF_CMP_CITY, "paris", "london", UF_CITY_ELSE},
    {UF_CMP_CITY, "", "london", UF_CMP_MISSING},
    /* phone */
    {UF_CMP_PHONE, "+15551234567", "+15551234567", UF_PHONE_EXACT},
    {UF_CMP_PHONE, "+15551234567", "+15561234567", UF_PHONE_LAST_DIGITS},
    {UF_CMP_PHONE, "+15551234567", "+445551234567", UF_PHONE_LAST_DIGITS},
    {UF_CMP_PHONE, "+15551234567", "+15551234568", UF_PHONE_ELSE},
    {UF_CMP_PHONE, "+1234", "+1234567", UF_PHONE_ELSE},
    {UF_CMP_PHONE, "", "+15551234567", UF_CMP_MISSING},
    /* e-mail */
    {UF_CMP_EMAIL, "john.smith@gmail.com", "john.smith@gmail.com", UF_EMAIL_EXACT},
    {UF_CMP_EMAIL, "john.smith@gmail.com", "john.smith@yahoo.com", UF_EMAIL_NEAR}, /* same local part */
    {UF_CMP_EMAIL, "jon@example.com", "john@example.com", UF_EMAIL_NEAR},          /* DL 1 */
    {UF_CMP_EMAIL, "john@example.com", "mary@example.com", UF_EMAIL_ELSE},
    {UF_CMP_EMAIL, "@example.com", "@example.org", UF_EMAIL_ELSE}, /* an empty local part is no evidence */
    {UF_CMP_EMAIL, "", "john@example.com", UF_CMP_MISSING},
};

static int level_of(uf_cmp_field f, uf_slice a, uf_slice b)
{
    switch (f) {
    case UF_CMP_FIRST_NAME: return uf_cmp_first_name(a, b);
    case UF_CMP_LAST_NAME: return uf_cmp_last_name(a, b);
    case UF_CMP_POSTCODE: return uf_cmp_postcode(a, b);
    case UF_CMP_ADDRESS: return uf_cmp_address(a, b);
    case UF_CMP_CITY: return uf_cmp_city(a, b);
    case UF_CMP_PHONE: return uf_cmp_phone(a, b);
    case UF_CMP_EMAIL: return uf_cmp_email(a, b);
    default: cr_assert_fail("no string level function for field %d", f);
    }
    return -1;
}

Test(levels, every_level_of_every_string_field)
{
    bool covered[UF_CMP_FIELD_COUNT][UF_CMP_MAX_LEVELS + 1] = {{false}};
    for (size_t i = 0; i < sizeof level_cases / sizeof level_cases[0]; i++) {
        const level_case *c = &level_cases[i];
        uf_slice a = uf_slice_cstr(c->a), b = uf_slice_cstr(c->b);
        int got = level_of(c->field, a, b);
        cr_expect_eq(got, c->expected, "%s(%s, %s) = %s, expected %s", uf_cmp_field_name(c->field), c->a, c->b,
                     uf_cmp_level_name(c->field, got), uf_cmp_level_name(c->field, c->expected));
        /* Symmetric. */
        int rev = level_of(c->field, b, a);
        cr_expect_eq(rev, got, "%s(%s, %s) is not symmetric", uf_cmp_field_name(c->field), c->a, c->b);
        covered[c->field][c->expected == UF_CMP_MISSING ? UF_CMP_MAX_LEVELS : c->expected] = true;
    }
    for (int f = 0; f < UF_CMP_TEXT_FIELDS; f++) { /* identifiers: Test(levels, identifier) */
        if (f == UF_CMP_DOB)
            continue;
        for (int l = 0; l < uf_cmp_level_count((uf_cmp_field)f); l++)
            cr_expect(covered[f][l], "no test for %s level %s", uf_cmp_field_name((uf_cmp_field)f),
                      uf_cmp_level_name((uf_cmp_field)f, l));
        cr_expect(covered[f][UF_CMP_MAX_LEVELS], "no missing test for %s", uf_cmp_field_name((uf_cmp_field)f));
    }
}

Test(levels, slices_are_not_read_past_their_length)
{
    /* The same bytes follow the slices: only the lengths tell the values apart. */
    const char *buf = "robertson";
    cr_expect_eq(uf_cmp_first_name(uf_slice_make(buf, 6), S("robert")), UF_FIRST_EXACT);
    cr_expect_eq(uf_cmp_first_name(uf_slice_make("bobby", 3), S("robert")), UF_FIRST_NICKNAME);
    cr_expect_eq(uf_cmp_last_name(uf_slice_make(buf, 6), uf_slice_make(buf, 9)), UF_LAST_JW88);
}

Test(levels, dob)
{
    static const struct {
        uint32_t a, b;
        int expected;
    } cases[] = {
        {19850312, 19850312, UF_DOB_EXACT},
        {19850312, 19851203, UF_DOB_TRANSPOSED},
        {19850312, 19850313, UF_DOB_ONE_FIELD_OFF}, /* day */
        {19850312, 19850412, UF_DOB_ONE_FIELD_OFF}, /* month */
        {19850312, 19860312, UF_DOB_ONE_FIELD_OFF}, /* year */
        {19850312, 19860313, UF_DOB_ELSE},
        {19850312, 19861203, UF_DOB_ELSE},          /* transposed but another year */
        {19850505, 19850506, UF_DOB_ONE_FIELD_OFF},
        {19850312, 19580312, UF_DOB_ONE_FIELD_OFF},
        {0, 19850312, UF_CMP_MISSING},
        {19850312, 0, UF_CMP_MISSING},
        {0, 0, UF_CMP_MISSING},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_expect_eq(uf_cmp_dob(cases[i].a, cases[i].b), cases[i].expected, "dob(%u, %u) = %d, expected %d",
                     cases[i].a, cases[i].b, uf_cmp_dob(cases[i].a, cases[i].b), cases[i].expected);
        cr_expect_eq(uf_cmp_dob(cases[i].b, cases[i].a), cases[i].expected);
    }
}

Test(levels, names_and_counts)
{
    static const char *const names[] = {"first_name", "last_name", "dob",   "postcode",  "address",
                                        "city",       "phone",     "email", "identifier"};
    static const int counts[] = {5, 4, 4, 3, 3, 3, 3, 3, 2};
    static const char *const top[] = {"exact", "exact", "exact", "exact", "exact",
                                      "exact", "exact", "exact", "shared"};
    for (int f = 0; f < UF_CMP_FIELD_COUNT; f++) {
        cr_expect_str_eq(uf_cmp_field_name((uf_cmp_field)f), names[f]);
        cr_expect_eq(uf_cmp_level_count((uf_cmp_field)f), counts[f]);
        cr_expect(counts[f] <= UF_CMP_MAX_LEVELS);
        cr_expect_str_eq(uf_cmp_level_name((uf_cmp_field)f, counts[f] - 1), top[f]);
        cr_expect_str_eq(uf_cmp_level_name((uf_cmp_field)f, 0), "else");
        cr_expect_str_eq(uf_cmp_level_name((uf_cmp_field)f, UF_CMP_MISSING), "missing");
        cr_expect_str_eq(uf_cmp_level_name((uf_cmp_field)f, counts[f]), "unknown");
    }
    cr_expect_str_eq(uf_cmp_level_name(UF_CMP_FIRST_NAME, UF_FIRST_NICKNAME), "nickname");
    cr_expect_str_eq(uf_cmp_level_name(UF_CMP_FIRST_NAME, UF_FIRST_JW94_DL1), "jaro_winkler>=0.94|dl<=1");
    cr_expect_eq(uf_cmp_level_count(UF_CMP_FIELD_COUNT), 0);
}

Test(levels, identifier)
{
    uint32_t none[UF_CMP_MAX_IDENTIFIERS] = {0, 0}, a[UF_CMP_MAX_IDENTIFIERS] = {7, 9}, b[UF_CMP_MAX_IDENTIFIERS] = {9, 0},
             c[UF_CMP_MAX_IDENTIFIERS] = {5, 0};
    cr_expect_eq(uf_cmp_identifier(a, b), UF_IDENTIFIER_SHARED);
    cr_expect_eq(uf_cmp_identifier(b, a), UF_IDENTIFIER_SHARED);
    cr_expect_eq(uf_cmp_identifier(a, c), UF_IDENTIFIER_ELSE);
    cr_expect_eq(uf_cmp_identifier(a, none), UF_CMP_MISSING);
    cr_expect_eq(uf_cmp_identifier(none, none), UF_CMP_MISSING);
}
