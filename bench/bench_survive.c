/*
 * bench_survive.c — golden-record throughput: synthetic clusters of 1–6
 * records (mean ~2.7, like the 1 M customers / 2.7 M records fixture) from
 * five sources, profiles written one after the other into a reused buffer
 * (as the store stage would copy each one into LMDB).
 *
 * Record ids are shuffled so a cluster's members are scattered over the
 * table, as they are in a real run (ids follow (source, key) order, not
 * customers): the figure includes the cache misses of fetching blobs.
 * Only the survive loop is timed; building the table is not.
 *
 *   bench_survive [clusters=1000000] [seed=1] [scatter=1] [giant=100000]
 *
 * scatter=0 keeps each cluster's records next to each other in the table,
 * which isolates the compute cost from the memory latency.
 *
 * Prints profiles/s, ns/profile, bytes/profile, peak RSS before and after
 * the loop (the difference is what survive itself costs), a checksum of all
 * output (same seed -> same checksum: determinism), and the time of one
 * giant junk cluster.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "config.h"
#include "json_out.h"
#include "records.h"
#include "survive.h"

enum { SRC_CRM, SRC_WEB, SRC_APP, SRC_POS, SRC_TICKETS, SRC_COUNT };
enum { KIND_CRM_ID = UF_KIND_BUILTIN_COUNT, KIND_LOYALTY, KIND_COUNT };

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next(rng *r)
{
    /* splitmix64: tiny, good enough for synthetic data, reproducible. */
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

/* CPU time of this thread: on a shared, busy machine wall time also counts the waits. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

/* Blobs live in big chunks: one malloc per 64 MiB, never per record. */
typedef struct arena {
    unsigned char **chunks;
    size_t count, cap, used;
} arena;

enum { ARENA_CHUNK = 64 << 20 };

static unsigned char *arena_copy(arena *a, const void *p, size_t n)
{
    if (a->count == 0 || a->used + n > ARENA_CHUNK) {
        if (a->count == a->cap) {
            a->cap = a->cap ? a->cap * 2 : 16;
            a->chunks = realloc(a->chunks, a->cap * sizeof *a->chunks);
        }
        a->chunks[a->count++] = malloc(ARENA_CHUNK);
        if (!a->chunks || !a->chunks[a->count - 1]) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        a->used = 0;
    }
    unsigned char *dst = a->chunks[a->count - 1] + a->used;
    memcpy(dst, p, n);
    a->used += n;
    return dst;
}

static const char *const first_names[] = {"Robert", "Mary", "John", "Patricia", "Michael", "Jennifer",
                                          "William", "Linda", "David", "Elizabeth", "Richard", "Susan",
                                          "José", "Zoë", "Anne-Marie", "O'Neil"};
static const char *const nicknames[] = {"Bob", "Molly", "Jack", "Pat", "Mike", "Jen", "Bill", "Lin",
                                        "Dave", "Liz", "Rick", "Sue", "Pepe", "Zoe", "Annie", "Neil"};
static const char *const last_names[] = {"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia",
                                         "Miller", "Davis", "Rodriguez", "Martinez", "Müller", "Nguyen"};
static const char *const cities[] = {"Springfield", "Riverside", "Franklin", "Greenville", "Bristol",
                                     "Clinton", "Fairview", "Salem"};
static const char *const streets[] = {"Main St", "Oak Ave", "Pine Rd", "Maple Dr", "Cedar Ln", "Elm St"};
static const char *const topics[] = {"refund", "delivery", "password reset", "loyalty points", "complaint"};

static void lower(char *dst, const char *src)
{
    while (*src) {
        char c = *src++;
        *dst++ = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    *dst = '\0';
}

static void add(uf_blob_builder *b, int kind, const char *value, const char *raw)
{
    uf_blob_add_attr(b, kind, uf_slice_cstr(value), uf_slice_cstr(raw));
}

/* One source record of customer `cust`, with the variation real exports have. */
static void make_record(uf_blob_builder *b, rng *r, uint64_t cust, int source, unsigned serial)
{
    char key[32], v[128], raw[128];
    static const char prefix[SRC_COUNT] = {'C', 'W', 'A', 'P', 'T'};
    snprintf(key, sizeof key, "%c%09" PRIu64 "%u", prefix[source], cust, serial);
    uf_blob_begin(b, uf_slice_cstr(key));

    unsigned fn = (unsigned)(cust % UF_ARRAY_LEN(first_names));
    unsigned ln = (unsigned)(cust / 16 % UF_ARRAY_LEN(last_names));
    bool nick = below(r, 5) == 0;
    const char *first = nick ? nicknames[fn] : first_names[fn];
    const char *last = last_names[ln];

    if (source != SRC_APP) {
        lower(v, first);
        snprintf(raw, sizeof raw, "%s", below(r, 4) ? first : v);
        add(b, UF_KIND_FIRST_NAME, v, raw);
        lower(v, last);
        add(b, UF_KIND_LAST_NAME, v, below(r, 6) ? last : v);
    }
    if (source != SRC_POS) {
        char local[64];
        lower(local, first_names[fn]);
        snprintf(v, sizeof v, "%s.%" PRIu64 "@example.com", local, cust);
        if (below(r, 8) == 0)
            snprintf(v, sizeof v, "%s%" PRIu64 "@mail.net", local, cust); /* a second address */
        snprintf(raw, sizeof raw, "%s", v);
        if (below(r, 3) == 0)
            raw[0] = (char)(raw[0] - 32); /* "Robert.42@..." */
        add(b, UF_KIND_EMAIL, v, raw);
    }
    if (source != SRC_WEB) {
        uint64_t digits = 2000000000u + cust * 7919 % 7999999999u;
        snprintf(v, sizeof v, "+1%010" PRIu64, digits);
        snprintf(raw, sizeof raw, "(%03" PRIu64 ") %03" PRIu64 "-%04" PRIu64, digits / 10000000,
                 digits / 10000 % 1000, digits % 10000);
        add(b, UF_KIND_PHONE, v, raw);
    }
    if (source == SRC_CRM || (source == SRC_WEB && below(r, 2))) {
        snprintf(v, sizeof v, "%04u-%02u-%02u", 1940 + (unsigned)(cust % 60), 1 + (unsigned)(cust % 12),
                 1 + (unsigned)(cust % 28));
        snprintf(raw, sizeof raw, "%02u/%02u/%04u", 1 + (unsigned)(cust % 28), 1 + (unsigned)(cust % 12),
                 1940 + (unsigned)(cust % 60));
        add(b, UF_KIND_DOB, v, raw);
        unsigned house = 1 + (unsigned)(cust % 250);
        const char *street = streets[cust % UF_ARRAY_LEN(streets)];
        snprintf(raw, sizeof raw, "%u %s", house, street);
        lower(v, raw);
        add(b, UF_KIND_ADDRESS, v, raw);
        const char *city = cities[cust / 7 % UF_ARRAY_LEN(cities)];
        lower(v, city);
        add(b, UF_KIND_CITY, v, city);
        snprintf(v, sizeof v, "%05u", 10000 + (unsigned)(cust % 89999));
        add(b, UF_KIND_POSTCODE, v, v);
        add(b, UF_KIND_COUNTRY, "US", below(r, 2) ? "USA" : "US");
    }
    if (source == SRC_CRM) {
        snprintf(v, sizeof v, "C%09" PRIu64, cust);
        add(b, KIND_CRM_ID, v, v);
    }
    if (source == SRC_POS) {
        snprintf(v, sizeof v, "L%012" PRIu64, cust * 31);
        snprintf(raw, sizeof raw, "L-%012" PRIu64, cust * 31);
        add(b, KIND_LOYALTY, v, below(r, 2) ? v : raw);
        snprintf(v, sizeof v, "2026-02-%02u", 1 + below(r, 28));
        uf_blob_add_context(b, 0, uf_slice_cstr(v));
        snprintf(v, sizeof v, "Store %u", below(r, 400));
        uf_blob_add_context(b, 1, uf_slice_cstr(v));
    }
    if (source == SRC_TICKETS) {
        uf_blob_add_context(b, 0, uf_slice_cstr(topics[below(r, UF_ARRAY_LEN(topics))]));
        uf_blob_add_context(b, 1, uf_slice_cstr(below(r, 2) ? "phone" : "chat"));
    }
    uf_blob_finish(b);
}

static int compare_ids(const void *a, const void *b)
{
    uf_record_id x = *(const uf_record_id *)a, y = *(const uf_record_id *)b;
    return x < y ? -1 : x > y;
}

static void put_golden_id(char out[16], size_t n)
{
    out[0] = 'G';
    for (int i = 9; i >= 1; i--) {
        out[i] = (char)('0' + n % 10);
        n /= 10;
    }
    out[10] = '\0';
}

int main(int argc, char **argv)
{
    size_t clusters = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    bool scatter = argc > 3 ? atoi(argv[3]) != 0 : true;
    size_t giant = argc > 4 ? strtoull(argv[4], NULL, 10) : 100000;
    if (clusters == 0)
        clusters = 1;

    /* Configuration: built by hand, as the loader would. */
    static const char *const kind_names[KIND_COUNT] = {"email", "phone", "first_name", "last_name", "full_name",
                                                       "dob", "address", "city", "postcode", "country",
                                                       "crm_id", "loyalty_card"};
    uf_kind_config kinds[KIND_COUNT];
    memset(kinds, 0, sizeof kinds);
    for (int k = 0; k < KIND_COUNT; k++) {
        kinds[k].name = (char *)kind_names[k];
        kinds[k].is_identifier = k == UF_KIND_EMAIL || k == UF_KIND_PHONE || k >= KIND_CRM_ID;
    }
    kinds[UF_KIND_ADDRESS].survive[0] = UF_SURVIVE_MOST_RECENT;
    kinds[UF_KIND_ADDRESS].survive_count = 1;
    static char *pos_context[] = {"last_purchase", "last_store"};
    static char *ticket_context[] = {"topic", "channel"};
    uf_source_config sources[SRC_COUNT];
    memset(sources, 0, sizeof sources);
    static const char *const source_names[SRC_COUNT] = {"crm", "web", "app", "pos", "tickets"};
    static const int priorities[SRC_COUNT] = {10, 50, 40, 30, 90};
    for (int i = 0; i < SRC_COUNT; i++) {
        sources[i].name = (char *)source_names[i];
        sources[i].priority = priorities[i];
    }
    sources[SRC_POS].context_columns = pos_context;
    sources[SRC_POS].context_count = 2;
    sources[SRC_TICKETS].context_columns = ticket_context;
    sources[SRC_TICKETS].context_count = 2;
    uf_config config;
    memset(&config, 0, sizeof config);
    config.kinds = kinds;
    config.kind_count = KIND_COUNT;
    config.sources = sources;
    config.source_count = SRC_COUNT;

    /* Cluster sizes 1..6, mean ~2.74. */
    static const unsigned size_weights[] = {22, 27, 24, 14, 8, 5};
    rng r = {seed};
    size_t *cluster_start = malloc((clusters + 1) * sizeof *cluster_start);
    size_t records = 0;
    for (size_t c = 0; c < clusters; c++) {
        unsigned pick = below(&r, 100), size = 1;
        for (unsigned acc = size_weights[0]; pick >= acc; acc += size_weights[size++]) {
        }
        cluster_start[c] = records;
        records += size;
    }
    cluster_start[clusters] = records;

    /* Scatter: record i of the generation order gets table id perm[i]. */
    uf_record_id *perm = malloc(records * sizeof *perm);
    uf_record *table_records = malloc(records * sizeof *table_records);
    uf_blob_builder *builder = malloc(sizeof *builder);
    if (!cluster_start || !perm || !table_records || !builder) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < records; i++)
        perm[i] = (uf_record_id)i;
    for (size_t i = records - 1; scatter && i > 0; i--) {
        size_t j = (size_t)(next(&r) % (i + 1));
        uf_record_id t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    arena blobs = {0};
    size_t blob_bytes = 0;
    const int64_t base_time = INT64_C(1767225600); /* 2026-01-01 */
    for (size_t c = 0; c < clusters; c++) {
        for (size_t i = cluster_start[c]; i < cluster_start[c + 1]; i++) {
            /* The first record of a cluster is usually the CRM one. */
            int source = (i == cluster_start[c] && below(&r, 3)) ? SRC_CRM : (int)below(&r, SRC_COUNT);
            make_record(builder, &r, c, source, (unsigned)(i - cluster_start[c]));
            uf_record *rec = &table_records[perm[i]];
            memset(rec, 0, sizeof *rec);
            rec->blob = arena_copy(&blobs, builder->buf, builder->len);
            rec->blob_len = (uint32_t)builder->len;
            rec->source = (uint16_t)source;
            rec->updated_at = below(&r, 20) ? base_time + (int64_t)below(&r, 60 * 86400) : 0;
            blob_bytes += builder->len;
        }
        /* Members ascending, as cluster produces them. */
        qsort(perm + cluster_start[c], cluster_start[c + 1] - cluster_start[c], sizeof *perm, compare_ids);
    }
    uf_record_table table = {table_records, records, NULL, 0, NULL};
    double rss_before = peak_rss_mib();

    uf_survivor *s = uf_survivor_new(&config);
    uf_buf out;
    uf_buf_init(&out);
    uf_error err;
    char golden[16];
    uint64_t checksum = UINT64_C(1469598103934665603);
    size_t bytes = 0, max_bytes = 0;
    double t0 = now(), cpu0 = cpu_now();
    for (size_t c = 0; c < clusters; c++) {
        uf_buf_reset(&out);
        put_golden_id(golden, c);
        size_t first = cluster_start[c], n = cluster_start[c + 1] - first;
        if (uf_survive_profile(s, &table, perm + first, n, golden, &out, &err) != UF_OK) {
            fprintf(stderr, "survive: %s\n", err.message);
            return 1;
        }
        bytes += out.len;
        if (out.len > max_bytes)
            max_bytes = out.len;
        /* Cheap fold of the output so the work cannot be skipped and runs compare. */
        checksum = (checksum ^ out.len ^ (uint64_t)(unsigned char)out.data[out.len / 2]) * UINT64_C(1099511628211);
    }
    double elapsed = now() - t0, cpu = cpu_now() - cpu0;
    double rss_after = peak_rss_mib();

    /* One giant cluster, as a junk identifier would make: 100 000 unrelated records. */
    if (giant > records)
        giant = records;
    uf_record_id *all = malloc(giant * sizeof *all);
    for (size_t i = 0; i < giant; i++)
        all[i] = (uf_record_id)i;
    uf_buf_reset(&out);
    double g0 = now();
    int rc = giant ? uf_survive_profile(s, &table, all, giant, "G999999999", &out, &err) : UF_OK;
    double giant_elapsed = now() - g0;

    printf("survive: %zu clusters, %zu records (%.2f per cluster), blobs %.1f MiB, members %s\n", clusters,
           records, (double)records / (double)clusters, (double)blob_bytes / (1 << 20),
           scatter ? "scattered" : "adjacent");
    printf("  wall %.3f s: %.0f profiles/s, %.0f ns/profile, %.0f records/s\n", elapsed,
           (double)clusters / elapsed, elapsed * 1e9 / (double)clusters, (double)records / elapsed);
    printf("  cpu  %.3f s: %.0f profiles/s, %.0f ns/profile\n", cpu, (double)clusters / cpu,
           cpu * 1e9 / (double)clusters);
    printf("  %.0f bytes/profile (max %zu), %.1f MiB/s of JSON\n", (double)bytes / (double)clusters, max_bytes,
           (double)bytes / elapsed / (1 << 20));
    printf("  peak RSS %.1f MiB after building the table, %.1f MiB after surviving (+%.1f MiB)\n", rss_before,
           rss_after, rss_after - rss_before);
    printf("  giant cluster: %zu records in %.1f ms, %zu bytes (rc %d), peak RSS %.1f MiB after it\n", giant,
           giant_elapsed * 1e3, out.len, rc, peak_rss_mib());
    printf("  checksum %016" PRIx64 "\n", checksum);

    free(all);
    uf_buf_free(&out);
    uf_survivor_free(s);
    for (size_t i = 0; i < blobs.count; i++)
        free(blobs.chunks[i]);
    free(blobs.chunks);
    free(builder);
    free(table_records);
    free(perm);
    free(cluster_start);
    return 0;
}
