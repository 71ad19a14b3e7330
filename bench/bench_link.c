/*
 * bench_link.c — the link stage at the size of the 1 M-customer bar:
 * ~2.7 M records, ~8 M identifier refs, sorted and linked with the guards.
 *
 * The population is synthetic but shaped like the product's data: five
 * sources (CRM, web shop, app, point of sale, contact centre) each holding a
 * record for some customers, record ids assigned per source in key order
 * (so one customer's records are far apart, as in a real run), households
 * sharing landlines and tablets (weak kinds), anonymous app installs, a few
 * duplicate CRM accounts and stale CRM ids on contact-centre records, name
 * variants between sources, and junk values (a shop's own phone number, a
 * placeholder e-mail) held by thousands of records.
 *
 * Prints: time to sort the refs with 1 and 2 threads (the two sorts must
 * agree), to link, to finish; peak RSS; cluster figures and how the result
 * compares with the generator's truth (mixed clusters = over-merges).
 *
 * usage: bench_link [customers (default 1000000)]
 */
#include "link.h"
#include "sort.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <xxhash.h>

enum {
    K_EMAIL = UF_KIND_EMAIL,
    K_PHONE = UF_KIND_PHONE,
    K_CRM = UF_KIND_BUILTIN_COUNT,
    K_DEVICE,
    K_LOYALTY,
    K_COUNT
};

enum { S_CRM, S_WEB, S_APP, S_POS, S_CONTACT, S_COUNT };

static const char *const kind_names[K_COUNT] = {
    "email", "phone", "first_name", "last_name", "full_name", "dob", "address", "city", "postcode",
    "country", "crm_id", "device_id", "loyalty_card"};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* CPU time of the calling thread: steadier than wall time on a shared machine. */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux: kilobytes */
}

/* splitmix64: per-(customer, purpose) values without storing anything. */
static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static uint64_t draw(uint64_t customer, uint64_t purpose)
{
    return mix(customer * 1000003ULL + purpose * 0x632BE59BD9B4E019ULL);
}

static bool chance(uint64_t customer, uint64_t purpose, unsigned percent)
{
    return draw(customer, purpose) % 100 < percent;
}

static uf_key make_key(int kind, uint64_t value)
{
    XXH128_hash_t h = XXH3_128bits_withSeed(&value, sizeof value, (XXH64_hash_t)kind * 0x9E3779B1ULL);
    uf_key k = {h.high64, h.low64};
    return k;
}

/* Which sources hold a record of this customer (at least one). */
static unsigned sources_of(uint64_t c)
{
    static const unsigned percent[S_COUNT] = {70, 60, 40, 50, 50};
    unsigned mask = 0;
    for (unsigned s = 0; s < S_COUNT; s++)
        if (chance(c, 100 + s, percent[s]))
            mask |= 1u << s;
    return mask ? mask : 1u << S_WEB;
}

typedef struct population {
    size_t customers;
    size_t records;
    uf_record *table;
    uf_record_compare *cmp;
    uint32_t *customer_of; /* truth, per record */
    uint8_t *source_of;
} population;

static uint64_t household_of(uint64_t c)
{
    return c / 2 + (c % 7 == 0); /* pairs and some threes share a home */
}

static void build_records(population *p)
{
    size_t per_source[S_COUNT] = {0};
    for (uint64_t c = 0; c < p->customers; c++) {
        unsigned m = sources_of(c);
        for (unsigned s = 0; s < S_COUNT; s++)
            per_source[s] += (m >> s) & 1;
    }
    size_t total = 0, base[S_COUNT];
    for (unsigned s = 0; s < S_COUNT; s++) {
        base[s] = total;
        total += per_source[s];
    }
    p->records = total;
    p->table = calloc(total, sizeof *p->table);
    p->cmp = calloc(total, sizeof *p->cmp);
    p->customer_of = malloc(total * sizeof *p->customer_of);
    p->source_of = malloc(total);
    /* Ids within a source follow the record key order, unrelated to the
     * customer: sort (random key, customer) per source. */
    uf_sort_pair *order = malloc(total * sizeof *order);
    if (!p->table || !p->cmp || !p->customer_of || !p->source_of || !order) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    size_t fill[S_COUNT];
    memcpy(fill, base, sizeof fill);
    for (uint64_t c = 0; c < p->customers; c++) {
        unsigned m = sources_of(c);
        for (unsigned s = 0; s < S_COUNT; s++)
            if ((m >> s) & 1) {
                order[fill[s]].key = draw(c, 200 + s);
                order[fill[s]].value = (uint32_t)c;
                fill[s]++;
            }
    }
    for (unsigned s = 0; s < S_COUNT; s++) {
        if (uf_sort_pairs(order + base[s], per_source[s], NULL) != UF_OK) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        for (size_t i = base[s]; i < base[s] + per_source[s]; i++) {
            p->customer_of[i] = order[i].value;
            p->source_of[i] = (uint8_t)s;
        }
    }
    free(order);

    for (size_t r = 0; r < total; r++) {
        uint64_t c = p->customer_of[r];
        unsigned s = p->source_of[r];
        uf_record *rec = &p->table[r];
        rec->source = (uint16_t)s;
        bool anonymous = (s == S_APP && chance(c, 300, 50)) || (s == S_WEB && chance(c, 301, 10));
        if (anonymous)
            continue;
        uint64_t first = 1 + draw(c, 1) % 500;
        if (chance(c, 310 + s, 3))
            first = 1 + draw(c, 320 + s) % 500; /* a variant the nickname table did not catch */
        p->cmp[r].first_name = mix(first);
        p->cmp[r].last_name = mix(100000 + household_of(c) % 20000);
        if (s == S_CRM || s == S_POS || chance(c, 330 + s, 40))
            p->cmp[r].dob = (uint32_t)(19400101 + (draw(c, 2) % 65) * 10000 + (draw(c, 3) % 12) * 100 +
                                      draw(c, 4) % 28);
    }
}

/* Fill refs for every record (reader order: per record); returns the count. */
static size_t build_refs(const population *p, uf_identifier_ref *refs, size_t cap)
{
    size_t n = 0;
#define ADD(KIND, VALUE)                                                                        \
    do {                                                                                        \
        if (n < cap) {                                                                          \
            memset(&refs[n], 0, sizeof refs[n]);                                                \
            refs[n].key = make_key(KIND, VALUE);                                                \
            refs[n].record = (uint32_t)r;                                                       \
            refs[n].kind = (uint16_t)(KIND);                                                    \
        }                                                                                       \
        n++;                                                                                    \
    } while (0)
    for (size_t r = 0; r < p->records; r++) {
        uint64_t c = p->customer_of[r];
        uint64_t home = household_of(c);
        uint64_t email = c, mobile = c, landline = 50000000 + home, tablet = 60000000 + home;
        uint64_t crm = c, loyalty = c, device = c;
        switch (p->source_of[r]) {
        case S_CRM:
            ADD(K_CRM, crm);
            ADD(K_EMAIL, email);
            ADD(K_PHONE, mobile);
            ADD(K_PHONE, landline);
            if (chance(c, 400, 60))
                ADD(K_LOYALTY, loyalty);
            break;
        case S_WEB:
            ADD(K_EMAIL, chance(c, 410, 1) ? 1ULL << 40 : email); /* placeholder e-mail */
            if (chance(c, 411, 80))
                ADD(K_PHONE, mobile);
            if (chance(c, 412, 50))
                ADD(K_DEVICE, chance(c, 413, 30) ? tablet : device);
            break;
        case S_APP:
            ADD(K_DEVICE, chance(c, 420, 30) ? tablet : device);
            if (chance(c, 421, 80))
                ADD(K_EMAIL, email);
            if (chance(c, 422, 50))
                ADD(K_PHONE, mobile);
            break;
        case S_POS:
            ADD(K_LOYALTY, loyalty);
            ADD(K_PHONE, chance(c, 430, 1) ? 1ULL << 41 : mobile); /* the shop's own number */
            if (chance(c, 431, 60))
                ADD(K_EMAIL, email);
            break;
        case S_CONTACT:
            ADD(K_PHONE, chance(c, 440, 40) ? landline : mobile);
            if (chance(c, 441, 70))
                ADD(K_CRM, chance(c, 442, 2) ? crm + 7 : crm); /* a stale id of someone else */
            if (chance(c, 443, 70))
                ADD(K_EMAIL, email);
            break;
        }
    }
#undef ADD
    return n;
}

static uint64_t checksum_refs(const uf_identifier_ref *refs, size_t n)
{
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset(st);
    for (size_t i = 0; i < n; i++) {
        uint64_t v[3] = {refs[i].key.hi, refs[i].key.lo, (uint64_t)refs[i].record << 16 | refs[i].kind};
        XXH3_64bits_update(st, v, sizeof v);
    }
    uint64_t h = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    return h;
}

int main(int argc, char **argv)
{
    population p = {0};
    p.customers = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;

    uf_kind_config kinds[K_COUNT];
    memset(kinds, 0, sizeof kinds);
    for (int k = 0; k < K_COUNT; k++) {
        kinds[k].name = (char *)kind_names[k];
        kinds[k].is_identifier = k == K_EMAIL || k == K_PHONE || k >= K_CRM;
        kinds[k].strength = (k == K_PHONE || k == K_DEVICE) ? UF_STRENGTH_WEAK : UF_STRENGTH_STRONG;
    }
    kinds[K_CRM].max_per_profile = 1;
    uf_config config;
    memset(&config, 0, sizeof config);
    config.kinds = kinds;
    config.kind_count = K_COUNT;
    config.guards.max_records_per_identifier = 50;
    config.guards.weak_link_requires = UF_AGREE_NAME_AND_DOB;
    config.guards.profile_limit_override = UF_AGREE_NAME_AND_DOB;

    double t0 = now();
    build_records(&p);
    size_t ref_count = build_refs(&p, NULL, 0);
    uf_identifier_ref *refs = malloc(ref_count * sizeof *refs);
    if (!refs) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    build_refs(&p, refs, ref_count);
    double t1 = now();
    printf("population: %zu customers, %zu records, %zu refs (%.2f refs/record), generated in %.0f ms\n",
           p.customers, p.records, ref_count, (double)ref_count / (double)p.records, (t1 - t0) * 1e3);
    printf("memory before linking: records %.0f MB, refs %.0f MB, peak RSS so far %.0f MB\n",
           (double)(p.records * sizeof *p.table) / 1048576.0, (double)(ref_count * sizeof *refs) / 1048576.0,
           peak_rss_mb());

    /* Sort with 1 and 2 threads from the same reader-order input. */
    double t = now(), c0 = cpu_now();
    uf_sort_identifier_refs(refs, ref_count, 1);
    double sort1 = now() - t, sort1_cpu = cpu_now() - c0;
    uint64_t sum1 = checksum_refs(refs, ref_count);
    build_refs(&p, refs, ref_count);
    t = now();
    uf_sort_identifier_refs(refs, ref_count, 2);
    double sort2 = now() - t;
    uint64_t sum2 = checksum_refs(refs, ref_count);
    printf("sort %zu refs: 1 thread %.0f ms (cpu %.0f ms), 2 threads %.0f ms (%s)\n", ref_count, sort1 * 1e3,
           sort1_cpu * 1e3, sort2 * 1e3, sum1 == sum2 ? "identical" : "DIFFERENT");
    if (sum1 != sum2)
        return 1;

    uf_record_table table = {p.table, p.records, refs, ref_count, p.cmp};
    uf_error err;
    t = now();
    uf_linker *l = uf_linker_new(&config, &table, &err);
    if (!l) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    double t_new = now() - t;
    t = now();
    c0 = cpu_now();
    /* The refs are sorted already: the linker checks that and skips its sort. */
    if (uf_linker_link_identifiers(l, &table, 2, &err) != UF_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    double t_link = now() - t, t_link_cpu = cpu_now() - c0;
    double rss_linked = peak_rss_mb();
    uf_clustering c;
    t = now();
    c0 = cpu_now();
    if (uf_linker_finish(l, &c, &err) != UF_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    double t_finish = now() - t, t_finish_cpu = cpu_now() - c0;
    printf("linker new %.0f ms, link identifiers %.0f ms (cpu %.0f ms), finish %.0f ms (cpu %.0f ms)\n",
           t_new * 1e3, t_link * 1e3, t_link_cpu * 1e3, t_finish * 1e3, t_finish_cpu * 1e3);
    printf("peak RSS: %.0f MB after linking, %.0f MB at the end\n", rss_linked, peak_rss_mb());

    const uf_link_stats *s = uf_linker_stats(l);
    printf("refs %llu (duplicates %llu), identifiers %llu\n", (unsigned long long)s->identifier_refs,
           (unsigned long long)s->duplicate_refs, (unsigned long long)s->distinct_identifiers);
    for (int k = 0; k < K_COUNT; k++) {
        if (!kinds[k].is_identifier)
            continue;
        printf("  %-12s links %8llu  refused: disagree %6llu, profile limit %5llu  junk keys %llu (%llu refs)\n",
               kind_names[k], (unsigned long long)s->links[k], (unsigned long long)s->refused_disagree[k],
               (unsigned long long)s->refused_profile_limit[k], (unsigned long long)s->junk_keys[k],
               (unsigned long long)s->junk_refs[k]);
    }
    static const char *const rule_names[UF_LINK_RULE_SLOTS] = {"", "strong", "weak", "scored"};
    for (int r = 1; r < UF_LINK_RULE_SLOTS; r++)
        printf("  rule %-7s links %8llu  already together %8llu  refused %6llu\n", rule_names[r],
               (unsigned long long)s->links_by_rule[r], (unsigned long long)s->already_linked_by_rule[r],
               (unsigned long long)s->refused_by_rule[r]);

    /* Against the truth: a cluster mixing customers is an over-merge. */
    size_t largest = 0, singletons = 0, mixed = 0;
    for (size_t k = 0; k < c.cluster_count; k++) {
        size_t size = c.member_start[k + 1] - c.member_start[k];
        largest = size > largest ? size : largest;
        singletons += size == 1;
        uint32_t who = p.customer_of[c.members[c.member_start[k]]];
        for (uint32_t i = c.member_start[k]; i < c.member_start[k + 1]; i++)
            if (p.customer_of[c.members[i]] != who) {
                mixed++;
                break;
            }
    }
    printf("clusters %zu (customers %zu), singletons %zu, largest %zu, clusters mixing customers %zu, edges %zu\n",
           c.cluster_count, p.customers, singletons, largest, mixed, c.edge_count);

    uf_clustering_free(&c);
    uf_linker_free(l);
    free(refs);
    free(p.table);
    free(p.cmp);
    free(p.customer_of);
    free(p.source_of);
    return 0;
}
