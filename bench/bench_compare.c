/*
 * bench_compare.c — ns per call of the comparison primitives and of every
 * field's level function over realistic candidate pairs.
 *
 * Pairs are drawn the way blocked candidates look: a share exactly equal, a
 * share with one typo (substitution, deletion or transposition), first names
 * also as a known nickname, and the rest another value from the pool. The
 * pairs are built before timing; the loop only calls the function and sums
 * the results (printed, so the calls cannot be optimised away).
 *
 *   bench_compare [pairs=10000] [rounds=200] [seed=1]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "compare.h"

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next(rng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static unsigned below(rng *r, unsigned n)
{
    return (unsigned)(next(r) % n);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *const first_names[] = {
    "james",   "mary",     "robert",   "patricia", "john",     "jennifer", "michael", "linda",  "william",
    "elizabeth", "david",  "barbara",  "richard",  "susan",    "joseph",   "jessica", "thomas", "sarah",
    "charles", "karen",    "christopher", "nancy", "daniel",   "lisa",     "matthew", "betty",  "anthony",
    "margaret", "mark",    "sandra",   "steven",   "ashley",   "paul",     "kimberly", "andrew", "emily",
    "joshua",  "donna",    "kenneth",  "michelle", "kevin",    "carol",    "brian",   "amanda", "mary jane",
    "jose",    "katherine", "stephanie", "isabella", "muhammad",
};
static const char *const nick_pairs[][2] = {
    {"bob", "robert"}, {"bill", "william"}, {"liz", "elizabeth"}, {"kate", "katherine"}, {"steve", "steven"},
    {"mike", "michael"}, {"dave", "david"}, {"jim", "james"}, {"andy", "andrew"}, {"dan", "daniel"},
};
static const char *const last_names[] = {
    "smith",    "johnson", "williams", "brown",     "jones",    "garcia",   "miller",   "davis",
    "rodriguez", "martinez", "hernandez", "lopez",  "gonzalez", "wilson",   "anderson", "thomas",
    "taylor",   "moore",   "jackson",  "martin",    "lee",      "perez",    "thompson", "white",
    "harris",   "sanchez", "clark",    "ramirez",   "lewis",    "robinson", "walker",   "young",
    "van der berg", "garcia lopez", "o'brien", "macdonald", "schmidt", "nguyen", "kowalski", "fitzgerald",
};
static const char *const postcodes[] = {"sw1a 1aa", "ec1a 1bb", "w1a 0ax", "m1 1ae",  "b33 8th", "cr2 6xh",
                                        "dn55 1pt", "90210",    "10001",   "60601", "94105",   "02139"};
static const char *const streets[] = {"main street",   "high street",   "oak avenue",    "park road",
                                      "church lane",   "station road",  "victoria road", "green lane",
                                      "manor road",    "kings road",    "elm drive",     "mill lane"};
static const char *const cities[] = {"london",     "manchester", "birmingham", "leeds",   "glasgow", "liverpool",
                                     "new york",   "chicago",    "san francisco", "boston", "los angeles",
                                     "springfield"};
static const char *const domains[] = {"gmail.com", "yahoo.com", "outlook.com", "example.com"};

#define VALUE_MAX 64

typedef struct pair {
    char a[VALUE_MAX], b[VALUE_MAX];
    uf_slice sa, sb;
} pair;

/* One random typo: substitute, delete or transpose. */
static void typo(rng *r, char *s)
{
    size_t n = strlen(s);
    if (n < 2)
        return;
    size_t i = below(r, (unsigned)n - 1);
    switch (below(r, 3)) {
    case 0: s[i] = (char)('a' + below(r, 26)); break;
    case 1: memmove(s + i, s + i + 1, n - i); break;
    default: {
        char t = s[i];
        s[i] = s[i + 1];
        s[i + 1] = t;
    }
    }
}

typedef void (*value_fn)(rng *r, char *out);

static void v_first(rng *r, char *out) { snprintf(out, VALUE_MAX, "%s", first_names[below(r, UF_ARRAY_LEN(first_names))]); }
static void v_last(rng *r, char *out) { snprintf(out, VALUE_MAX, "%s", last_names[below(r, UF_ARRAY_LEN(last_names))]); }
static void v_postcode(rng *r, char *out) { snprintf(out, VALUE_MAX, "%s", postcodes[below(r, UF_ARRAY_LEN(postcodes))]); }
static void v_address(rng *r, char *out)
{
    snprintf(out, VALUE_MAX, "%u %s", 1 + below(r, 200), streets[below(r, UF_ARRAY_LEN(streets))]);
}
static void v_city(rng *r, char *out) { snprintf(out, VALUE_MAX, "%s", cities[below(r, UF_ARRAY_LEN(cities))]); }
static void v_phone(rng *r, char *out) { snprintf(out, VALUE_MAX, "+1555%07u", below(r, 10000000)); }
static void v_email(rng *r, char *out)
{
    snprintf(out, VALUE_MAX, "%s.%s%u@%s", first_names[below(r, 20)], last_names[below(r, 20)], below(r, 100),
             domains[below(r, UF_ARRAY_LEN(domains))]);
    for (char *p = out; *p; p++)
        if (*p == ' ' || *p == '\'')
            *p = '.';
}

/* Candidate pairs: 30% exact, 20% one typo, (first names) 10% nickname, the rest another value. */
static pair *make_pairs(rng *r, size_t n, value_fn fn, bool nicknames)
{
    pair *p = malloc(n * sizeof *p);
    if (!p)
        exit(1);
    for (size_t i = 0; i < n; i++) {
        unsigned roll = below(r, 100);
        fn(r, p[i].a);
        if (nicknames && roll >= 50 && roll < 60) {
            const char *const *np = nick_pairs[below(r, UF_ARRAY_LEN(nick_pairs))];
            snprintf(p[i].a, VALUE_MAX, "%s", np[0]);
            snprintf(p[i].b, VALUE_MAX, "%s", np[1]);
        } else if (roll < 30) {
            memcpy(p[i].b, p[i].a, VALUE_MAX);
        } else if (roll < 50) {
            memcpy(p[i].b, p[i].a, VALUE_MAX);
            typo(r, p[i].b);
        } else {
            fn(r, p[i].b);
        }
        p[i].sa = uf_slice_make(p[i].a, strlen(p[i].a));
        p[i].sb = uf_slice_make(p[i].b, strlen(p[i].b));
    }
    return p;
}

typedef int (*level_fn)(uf_slice a, uf_slice b);

static void bench_level(const char *name, level_fn fn, const pair *p, size_t n, int rounds)
{
    uint64_t sum = 0;
    unsigned hist[UF_CMP_MAX_LEVELS + 1] = {0};
    for (size_t i = 0; i < n; i++) {
        int l = fn(p[i].sa, p[i].sb);
        if (l == UF_CMP_MISSING || l < 0 || l >= UF_CMP_MAX_LEVELS)
            l = UF_CMP_MAX_LEVELS; /* missing, or a primitive's value that is no level */
        hist[l]++;
    }
    double t0 = now();
    for (int round = 0; round < rounds; round++)
        for (size_t i = 0; i < n; i++)
            sum += (uint64_t)fn(p[i].sa, p[i].sb);
    double ns = (now() - t0) * 1e9 / ((double)n * rounds);
    printf("%-22s %7.1f ns/call   levels:", name, ns);
    for (int l = 0; l < UF_CMP_MAX_LEVELS; l++)
        printf(" %5.1f%%", 100.0 * hist[l] / (double)n);
    printf("  other %5.1f%%", 100.0 * hist[UF_CMP_MAX_LEVELS] / (double)n);
    printf("   (checksum %" PRIu64 ")\n", sum);
}

static int jw_level(uf_slice a, uf_slice b)
{
    return (int)(uf_jaro_winkler(a.ptr, a.len, b.ptr, b.len) * 100);
}

static int dl1_level(uf_slice a, uf_slice b)
{
    return uf_damerau_levenshtein(a.ptr, a.len, b.ptr, b.len, 1);
}

static int dl3_level(uf_slice a, uf_slice b)
{
    return uf_damerau_levenshtein(a.ptr, a.len, b.ptr, b.len, 3);
}

static int soundex_level(uf_slice a, uf_slice b)
{
    return uf_soundex(a.ptr, a.len) == uf_soundex(b.ptr, b.len);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000;
    int rounds = argc > 2 ? atoi(argv[2]) : 200;
    rng r = {argc > 3 ? strtoull(argv[3], NULL, 10) : 1};

    pair *first = make_pairs(&r, n, v_first, true);
    pair *last = make_pairs(&r, n, v_last, false);
    pair *postcode = make_pairs(&r, n, v_postcode, false);
    pair *address = make_pairs(&r, n, v_address, false);
    pair *city = make_pairs(&r, n, v_city, false);
    pair *phone = make_pairs(&r, n, v_phone, false);
    pair *email = make_pairs(&r, n, v_email, false);

    uint32_t *dob_a = malloc(n * sizeof *dob_a), *dob_b = malloc(n * sizeof *dob_b);
    if (!dob_a || !dob_b)
        return 1;
    for (size_t i = 0; i < n; i++) {
        dob_a[i] = (1940 + below(&r, 60)) * 10000 + (1 + below(&r, 12)) * 100 + 1 + below(&r, 28);
        unsigned roll = below(&r, 100);
        dob_b[i] = roll < 40 ? dob_a[i] : roll < 55 ? dob_a[i] + 1 : roll < 60 ? 0
                 : (1940 + below(&r, 60)) * 10000 + (1 + below(&r, 12)) * 100 + 1 + below(&r, 28);
    }

    printf("%zu pairs x %d rounds (levels: share of pairs at level 0..%d)\n", n, rounds, UF_CMP_MAX_LEVELS - 1);
    bench_level("jaro_winkler (first)", jw_level, first, n, rounds);
    bench_level("osa max=1 (first)", dl1_level, first, n, rounds);
    bench_level("osa max=3 (last)", dl3_level, last, n, rounds);
    bench_level("soundex x2 (last)", soundex_level, last, n, rounds);
    bench_level("uf_cmp_first_name", uf_cmp_first_name, first, n, rounds);
    bench_level("uf_cmp_last_name", uf_cmp_last_name, last, n, rounds);
    bench_level("uf_cmp_postcode", uf_cmp_postcode, postcode, n, rounds);
    bench_level("uf_cmp_address", uf_cmp_address, address, n, rounds);
    bench_level("uf_cmp_city", uf_cmp_city, city, n, rounds);
    bench_level("uf_cmp_phone", uf_cmp_phone, phone, n, rounds);
    bench_level("uf_cmp_email", uf_cmp_email, email, n, rounds);

    uint64_t sum = 0;
    double t0 = now();
    for (int round = 0; round < rounds; round++)
        for (size_t i = 0; i < n; i++)
            sum += (uint64_t)uf_cmp_dob(dob_a[i], dob_b[i]);
    printf("%-22s %7.1f ns/call   (checksum %" PRIu64 ")\n", "uf_cmp_dob", (now() - t0) * 1e9 / ((double)n * rounds),
           sum);

    free(first), free(last), free(postcode), free(address), free(city), free(phone), free(email);
    free(dob_a), free(dob_b);
    return 0;
}
