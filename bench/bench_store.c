/*
 * bench_store.c — the store at the scale of the 1 M-customer bar: append
 * rates per index, commit time, size on disk, peak RSS, and in-process
 * lookup latency (bar: p99 ≤ 20 µs, warm).
 *
 *   bench_store [--dir DIR] [--profiles N] [--identifiers N] [--records N]
 *               [--lookups N] [--generations G] [--writemap] [--keep]
 *
 * Data are generated on the fly, already in key order (the engine's radix
 * sort is measured elsewhere), so the figures are the store's alone and
 * the bench's own memory stays small: peak RSS is the writer's. Two
 * generations are written by default, because the second is the nightly
 * case: the old generation is still there, its pages are freed by the drop
 * and reused, and the file settles at about twice one generation.
 *
 * Peak RSS is measured per phase by resetting the kernel's high-water mark
 * (/proc/self/clear_refs = 5). Run it with and without --writemap to see
 * the trade-off discussed in store.h.
 */
#include "profile_codec.h"
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct options {
    const char *dir;
    size_t profiles, identifiers, records, lookups;
    int generations;
    bool writemap, keep;
} options;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* ------------------------------------------------------------------ */
/* Memory figures                                                      */
/* ------------------------------------------------------------------ */

typedef struct mem {
    double hwm, rss, anon, file; /* MiB */
} mem;

static mem read_mem(void)
{
    mem m = {0};
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return m;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        unsigned long kb;
        if (sscanf(line, "VmHWM: %lu", &kb) == 1)
            m.hwm = kb / 1024.0;
        else if (sscanf(line, "VmRSS: %lu", &kb) == 1)
            m.rss = kb / 1024.0;
        else if (sscanf(line, "RssAnon: %lu", &kb) == 1)
            m.anon = kb / 1024.0;
        else if (sscanf(line, "RssFile: %lu", &kb) == 1)
            m.file = kb / 1024.0;
    }
    fclose(f);
    return m;
}

/* Reset the peak-RSS mark so each phase reports its own peak. */
static void reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

/* ------------------------------------------------------------------ */
/* Data                                                                */
/* ------------------------------------------------------------------ */

enum { JSON_RING = 4096 };

typedef struct json_ring {
    char *text[JSON_RING];
    size_t len[JSON_RING];
    double average;
} json_ring;

static const char *first_names[] = {"John", "Maria", "Wei", "Fatima", "Olga", "Pierre", "Aiko", "Carlos"};
static const char *last_names[] = {"Smith", "Garcia", "Chen", "Khan", "Ivanova", "Dubois", "Sato", "Silva"};

/* Profiles of ~600 bytes in the shape survive.c writes (values, alternatives, lineage). */
static void ring_init(json_ring *r)
{
    double total = 0;
    for (size_t i = 0; i < JSON_RING; i++) {
        uint64_t h = mix64(i);
        const char *fn = first_names[h % 8], *ln = last_names[(h >> 8) % 8];
        int extra = (int)((h >> 16) % 300); /* 450..750 bytes */
        char buf[2048];
        int n = snprintf(buf, sizeof buf,
                         "{\"golden_id\":\"G%09zu\",\"name\":{\"value\":\"%s, %s\",\"source\":\"crm\",\"count\":3,"
                         "\"alternatives\":[{\"value\":\"%s, %c.\",\"source\":\"pos\",\"count\":1}]},"
                         "\"emails\":[{\"value\":\"%c.%s%zu@example.com\",\"sources\":[\"crm\",\"web\"]}],"
                         "\"phones\":[{\"value\":\"+4479%08" PRIu64 "\",\"sources\":[\"app\"]}],"
                         "\"dob\":\"19%02d-%02d-%02d\",\"address\":{\"line1\":\"%d High Street\",\"postcode\":\"SW1A %dAA\"},"
                         "\"records\":[{\"source\":\"crm\",\"key\":\"C-%010zu\"},{\"source\":\"web\",\"key\":\"W-%010zu\"}],"
                         "\"context\":{\"last_purchase\":\"2024-0%d-1%d\",\"note\":\"%.*s\"}}",
                         i, ln, fn, ln, fn[0], fn[0], ln, i, h % 100000000, (int)(h % 80) + 20, (int)(h % 12) + 1,
                         (int)(h % 28) + 1, (int)(h % 200) + 1, (int)(h % 9) + 1, i, i, (int)(h % 9) + 1,
                         (int)(h % 9), extra,
                         "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt "
                         "ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco "
                         "laboris nisi ut aliquip ex ea commodo consequat duis aute irure dolor in reprehenderit in "
                         "voluptate velit esse cillum dolore eu fugiat nulla pariatur");
        /* Stored binary (profile_codec.h): the text as the key of one crm record. */
        uf_buf bin;
        uf_buf_init(&bin);
        uint64_t crm = 1u << 2;
        uf_profile_writer pw;
        uf_profile_begin(&pw, &bin, 1700000000, &crm, 1);
        uf_profile_records(&pw, 1);
        uf_profile_record(&pw, 2, uf_slice_make(buf, (size_t)n), 1700000000);
        uf_profile_end(&pw);
        r->len[i] = bin.len;
        r->text[i] = bin.data;
        total += (double)bin.len;
    }
    r->average = total / JSON_RING;
}

static void ring_free(json_ring *r)
{
    for (size_t i = 0; i < JSON_RING; i++)
        free(r->text[i]);
}

/* Identifier j's key: ascending in j, otherwise random-looking like XXH3. */
static uf_key bench_key(size_t j, size_t total)
{
    uint64_t stride = UINT64_MAX / (total + 1);
    return (uf_key){(uint64_t)j * stride + mix64(j) % stride, mix64(j ^ 0xABCDEFull)};
}

/* Every 40th identifier is shared by two profiles (a household phone). */
static bool bench_key_shared(size_t j)
{
    return j % 40 == 0;
}

static uint64_t bench_owner(size_t j, size_t profiles)
{
    return 1 + mix64(j * 7 + 1) % profiles;
}

static const char *sources[] = {"app", "care", "crm", "pos", "web"}; /* byte order */

/* Record key "X-0000000042" without printf (it would dominate the timing). */
static size_t bench_record_key(char out[16], char prefix, size_t i)
{
    out[0] = prefix;
    out[1] = '-';
    for (int d = 11; d >= 2; d--) {
        out[d] = (char)('0' + i % 10);
        i /= 10;
    }
    return 12;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

static void die(const char *what, const uf_error *err)
{
    fprintf(stderr, "bench_store: %s: %s\n", what, err->message);
    exit(1);
}

static uint64_t disk_bytes(const char *dir, uint64_t *apparent)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    *apparent = (uint64_t)st.st_size;
    return (uint64_t)st.st_blocks * 512;
}

static void write_generation(const options *o, const json_ring *ring, int gen)
{
    uf_error err = {0};
    uf_store_writer *w;
    reset_peak();
    double t0 = now();
    if (uf_store_writer_open_flags(o->dir, 0, o->writemap ? UF_STORE_WRITEMAP : 0, &w, &err) != UF_OK)
        die("open", &err);
    /* keys + values + LMDB's ~10 bytes of node overhead per entry */
    uint64_t estimate = (uint64_t)(o->profiles * (ring->average + 8 + 10)) + o->identifiers * (16 + 8 + 10) +
                        o->records * (18 + 8 + 10) + (1 << 20);
    if (uf_store_writer_begin(w, estimate, &err) != UF_OK)
        die("begin", &err);
    {
        static const size_t no_columns[5];
        static const char *const *const no_names[5];
        uf_profile_schema_desc d = {.source_count = 5, .source_names = sources, .column_counts = no_columns,
                                    .column_names = no_names};
        uf_buf schema;
        uf_buf_init(&schema);
        if (uf_profile_schema_encode(&d, &schema, &err) != UF_OK ||
            uf_store_put_schema(w, schema.data, schema.len, &err) != UF_OK)
            die("schema", &err);
        uf_buf_free(&schema);
    }
    double t1 = now();

    for (size_t i = 0; i < o->profiles; i++) {
        size_t r = (i + (size_t)gen) % JSON_RING;
        if (uf_store_put_profile(w, i + 1, ring->text[r], ring->len[r], &err) != UF_OK)
            die("profile", &err);
    }
    double t2 = now();

    size_t puts = 0;
    for (size_t j = 0; puts < o->identifiers; j++) {
        uf_key key = bench_key(j, o->identifiers);
        uint64_t id = bench_owner(j, o->profiles);
        if (bench_key_shared(j) && puts + 1 < o->identifiers) {
            uint64_t other = id < o->profiles ? id + 1 : id - 1;
            uint64_t lo = id < other ? id : other, hi = id < other ? other : id;
            if (uf_store_put_identifier(w, key, lo, &err) != UF_OK || uf_store_put_identifier(w, key, hi, &err) != UF_OK)
                die("identifier", &err);
            puts += 2;
        } else {
            if (uf_store_put_identifier(w, key, id, &err) != UF_OK)
                die("identifier", &err);
            puts++;
        }
    }
    double t3 = now();

    size_t per_source = o->records / 5;
    for (size_t s = 0; s < 5; s++) {
        size_t n = s == 4 ? o->records - 4 * per_source : per_source;
        uf_slice source = uf_slice_cstr(sources[s]);
        for (size_t i = 0; i < n; i++) {
            char key[16];
            size_t len = bench_record_key(key, (char)(sources[s][0] - 32), i);
            if (uf_store_put_record(w, source, uf_slice_make(key, len), bench_owner(i * 5 + s, o->profiles), &err) !=
                UF_OK)
                die("record", &err);
        }
    }
    for (size_t i = 0; i < o->profiles / 100; i++)
        if (uf_store_put_redirect(w, o->profiles + 1 + i, 1 + i * 100, &err) != UF_OK)
            die("redirect", &err);
    double t4 = now();
    mem before_commit = read_mem();

    uint64_t run_id;
    char report[64];
    int n = snprintf(report, sizeof report, "{\"bench\":true,\"generation\":%d}", gen);
    if (uf_store_writer_commit(w, o->profiles * 2 + 2, report, (size_t)n, &run_id, &err) != UF_OK)
        die("commit", &err);
    double t5 = now();
    mem after = read_mem();
    uf_store_writer_close(w);
    double t6 = now();

    uint64_t apparent = 0, disk = disk_bytes(o->dir, &apparent);
    printf("generation %d (run %" PRIu64 ")%s\n", gen, run_id, gen > 1 ? ": rewrites the previous one" : "");
    printf("  open + begin    %7.3f s\n", t1 - t0);
    printf("  profiles        %7.3f s  %6.2f M appends/s  (%zu × %.0f B JSON)\n", t2 - t1,
           o->profiles / (t2 - t1) / 1e6, o->profiles, ring->average);
    printf("  identifiers     %7.3f s  %6.2f M appends/s  (%zu, every 40th key shared by 2 ids)\n", t3 - t2,
           o->identifiers / (t3 - t2) / 1e6, o->identifiers);
    printf("  records         %7.3f s  %6.2f M appends/s  (%zu, 5 sources) + %zu redirects\n", t4 - t3,
           o->records / (t4 - t3) / 1e6, o->records, o->profiles / 100);
    printf("  commit (fsync)  %7.3f s\n", t5 - t4);
    printf("  close           %7.3f s\n", t6 - t5);
    printf("  total           %7.3f s\n", t6 - t0);
    printf("  data.mdb        %7.1f MiB on disk (file size %.1f MiB)\n", disk / 1048576.0, apparent / 1048576.0);
    printf("  peak RSS        %7.1f MiB  (before commit: anon %.1f MiB, file-backed %.1f MiB; after: anon %.1f, file %.1f)\n",
           after.hwm, before_commit.anon, before_commit.file, after.anon, after.file);
}

/* ------------------------------------------------------------------ */
/* Lookups                                                             */
/* ------------------------------------------------------------------ */

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report_latency(const char *what, double *lat, size_t n, double wall)
{
    qsort(lat, n, sizeof *lat, compare_double);
    printf("  %-14s %zu lookups, %.2f M/s: p50 %.2f µs  p99 %.2f µs  p99.9 %.2f µs  max %.1f µs\n", what,
           n, n / wall / 1e6, lat[n / 2] * 1e6, lat[n * 99 / 100] * 1e6, lat[n * 999 / 1000] * 1e6, lat[n - 1] * 1e6);
}

typedef struct lookup_ctx {
    uf_store *store;
    const options *o;
    size_t keys; /* distinct identifier keys */
} lookup_ctx;

typedef int (*lookup_fn)(const lookup_ctx *c, uint64_t r, uf_error *err);

static int lookup_identifier(const lookup_ctx *c, uint64_t r, uf_error *err)
{
    unsigned char kb[16];
    uf_key_to_bytes(bench_key((size_t)(r % c->keys), c->o->identifiers), kb);
    uint64_t ids[4];
    size_t count;
    return uf_store_find_identifier(c->store, kb, ids, 4, &count, err);
}

static int lookup_profile(const lookup_ctx *c, uint64_t r, uf_error *err)
{
    char *json;
    size_t len;
    int rc = uf_store_profile_json(c->store, 1 + r % c->o->profiles, &json, &len, NULL, err);
    if (rc == UF_OK)
        free(json);
    return rc;
}

static int lookup_record(const lookup_ctx *c, uint64_t r, uf_error *err)
{
    size_t n = (size_t)(r % c->o->records), per_source = c->o->records / 5;
    size_t src = n / per_source < 5 ? n / per_source : 4;
    char key[16];
    bench_record_key(key, (char)(sources[src][0] - 32), n - src * per_source);
    key[12] = '\0';
    uint64_t gid;
    return uf_store_find_record(c->store, sources[src], key, &gid, err);
}

/* One untimed pass over other random keys (warm), then the timed pass. */
static void time_lookups(const lookup_ctx *c, const char *what, lookup_fn fn, double *lat)
{
    uf_error err = {0};
    for (int pass = 0; pass < 2; pass++) {
        double t0 = now();
        for (size_t i = 0; i < c->o->lookups; i++) {
            uint64_t r = mix64(i * 2 + (size_t)pass);
            double a = now();
            int rc = fn(c, r, &err);
            lat[i] = now() - a;
            if (rc != UF_OK)
                die(what, &err);
        }
        if (pass == 1)
            report_latency(what, lat, c->o->lookups, now() - t0);
    }
}

static void lookups(const options *o)
{
    uf_error err = {0};
    lookup_ctx c = {.o = o};
    reset_peak();
    if (uf_store_open(o->dir, &c.store, &err) != UF_OK)
        die("open reader", &err);
    double *lat = malloc(o->lookups * sizeof *lat);
    if (!lat) {
        fprintf(stderr, "bench_store: out of memory\n");
        exit(1);
    }
    /* Distinct identifier keys written (a shared one takes two puts). */
    for (size_t puts = 0; puts < o->identifiers; c.keys++)
        puts += bench_key_shared(c.keys) && puts + 1 < o->identifiers ? 2 : 1;
    printf("lookups (in-process, 1 thread, warm: an untimed pass first; latency includes clock reads)\n");
    time_lookups(&c, "identifier", lookup_identifier, lat);
    time_lookups(&c, "profile JSON", lookup_profile, lat);
    time_lookups(&c, "record", lookup_record, lat);
    mem m = read_mem();
    printf("  peak RSS        %.1f MiB while looking up (anon %.1f MiB, file-backed map pages %.1f MiB)\n", m.hwm,
           m.anon, m.file);
    free(lat);
    uf_store_close(c.store);
}

/* ------------------------------------------------------------------ */

static size_t parse_count(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (*end == 'k' || *end == 'K')
        v *= 1e3;
    else if (*end == 'm' || *end == 'M')
        v *= 1e6;
    return (size_t)v;
}

static void remove_store(const char *dir)
{
    static const char *files[] = {"data.mdb", "lock.mdb", "unify.lock"};
    char path[4096];
    for (size_t i = 0; i < UF_ARRAY_LEN(files); i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

int main(int argc, char **argv)
{
    options o = {.profiles = 1000000, .identifiers = 3000000, .records = 2700000, .lookups = 1000000, .generations = 2};
    char tmp[] = "/tmp/bench_store_XXXXXX";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--dir") && v)
            o.dir = argv[++i];
        else if (!strcmp(a, "--profiles") && v)
            o.profiles = parse_count(argv[++i]);
        else if (!strcmp(a, "--identifiers") && v)
            o.identifiers = parse_count(argv[++i]);
        else if (!strcmp(a, "--records") && v)
            o.records = parse_count(argv[++i]);
        else if (!strcmp(a, "--lookups") && v)
            o.lookups = parse_count(argv[++i]);
        else if (!strcmp(a, "--generations") && v)
            o.generations = atoi(argv[++i]);
        else if (!strcmp(a, "--writemap"))
            o.writemap = true;
        else if (!strcmp(a, "--keep"))
            o.keep = true;
        else {
            fprintf(stderr,
                    "usage: %s [--dir DIR] [--profiles N] [--identifiers N] [--records N] [--lookups N]\n"
                    "          [--generations G] [--writemap] [--keep]   (N accepts k/M suffixes)\n",
                    argv[0]);
            return 2;
        }
    }
    if (o.profiles < 100 || o.records < 5 || o.identifiers < 2 || o.lookups < 1 || o.generations < 1) {
        fprintf(stderr, "bench_store: counts too small\n");
        return 2;
    }
    bool own_dir = !o.dir;
    if (own_dir) {
        if (!mkdtemp(tmp)) {
            perror("mkdtemp");
            return 1;
        }
        rmdir(tmp); /* the writer creates it, as in a first run */
        o.dir = tmp;
    }
    json_ring ring;
    ring_init(&ring);
    printf("bench_store: %s, MDB_WRITEMAP %s, %ld CPUs\n", o.dir, o.writemap ? "on" : "off",
           sysconf(_SC_NPROCESSORS_ONLN));
    for (int g = 1; g <= o.generations; g++)
        write_generation(&o, &ring, g);
    ring_free(&ring);
    /* Hand the writer's freed pages back, so the lookup figures show what a
     * reader process (unify serve) holds, not the writer's leftovers. */
    malloc_trim(0);
    lookups(&o);
    if (own_dir && !o.keep)
        remove_store(o.dir);
    return 0;
}
