/*
 * bench_lookup.c — in-process lookup latency on a real store, warm.
 *
 * usage: bench_lookup CONFIG EXPORT.jsonl FIELD [LOOKUPS]
 * Reads the values of FIELD (an e-mail column of a JSONL export, e.g. the
 * web accounts' "email") as an agent would type them, then times the whole
 * agent path per lookup — normalize, hash, find the identifier, read the
 * profile JSON — with random picks, and prints p50/p99/p99.9/max.
 * FIELD "record:SOURCE:COLUMN" (e.g. record:web:account_id) takes COLUMN
 * as SOURCE's record keys instead and times `unify lookup --record`'s path:
 * find the (source, key) in the record index, read the profile JSON.
 */
#include "jsonl.h"
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_lookup CONFIG EXPORT.jsonl FIELD [LOOKUPS]\n");
        return 2;
    }
    size_t lookups = argc > 4 ? strtoul(argv[4], NULL, 10) : 1000000;
    uf_error err = {0};
    uf_config *config;
    if (uf_config_load(argv[1], &config, &err) != UF_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    uf_store *store;
    if (uf_store_open(uf_config_store_path(config), &store, &err) != UF_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    /* FIELD, or the column and source of record keys. */
    const char *field = argv[3];
    char source[256] = "";
    if (strncmp(field, "record:", 7) == 0) {
        const char *colon = strchr(field + 7, ':');
        if (!colon || colon == field + 7 || (size_t)(colon - field - 7) >= sizeof source || !colon[1]) {
            fprintf(stderr, "FIELD record:SOURCE:COLUMN expected, got '%s'\n", field);
            return 2;
        }
        memcpy(source, field + 7, (size_t)(colon - field - 7));
        field = colon + 1;
    }
    /* Collect the values of FIELD. */
    char **values = NULL;
    size_t count = 0, cap = 0;
    uf_stream *stream = uf_stream_open(argv[2], &err);
    uf_jsonl_reader *reader = stream ? uf_jsonl_open(stream, &err) : NULL;
    uf_jsonl_record rec;
    while (reader && uf_jsonl_next(reader, &rec, &err) == UF_JSONL_RECORD) {
        for (size_t i = 0; i < rec.count; i++) {
            if (rec.types[i] != UF_JSON_STRING || !uf_slice_equals(rec.keys[i], field))
                continue;
            if (count == cap) {
                cap = cap ? cap * 2 : 4096;
                values = realloc(values, cap * sizeof *values);
            }
            values[count++] = strndup(rec.values[i].ptr, rec.values[i].len);
        }
    }
    uf_jsonl_close(reader);
    uf_stream_close(stream);
    if (count == 0) {
        fprintf(stderr, "no values of '%s' in %s\n", field, argv[2]);
        return 1;
    }
    double *ns = malloc(lookups * sizeof *ns);
    size_t found = 0, missing = 0, invalid = 0;
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < lookups + lookups / 10; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        const char *value = values[rng % count];
        double t0 = now_ns();
        uint64_t ids[8];
        size_t n = 0;
        int rc = source[0] ? uf_store_find_record(store, source, value, &ids[0], &err)
                           : uf_lookup_identifier(store, config, "email", value, ids, 8, &n, &err);
        if (rc == UF_OK) {
            char *json;
            size_t len;
            if (uf_store_profile_json(store, ids[0], &json, &len, NULL, &err) == UF_OK)
                free(json);
        }
        double t = now_ns() - t0;
        if (i < lookups / 10)
            continue; /* warm-up */
        ns[i - lookups / 10] = t;
        if (rc == UF_OK)
            found++;
        else if (rc == UF_ERR_NOT_FOUND)
            missing++;
        else
            invalid++;
    }
    qsort(ns, lookups, sizeof *ns, compare_double);
    printf("lookups %zu (found %zu, not found %zu, junk/invalid %zu): p50 %.1f us, p99 %.1f us, p99.9 %.1f us, "
           "max %.1f us\n",
           lookups, found, missing, invalid, ns[lookups / 2] / 1e3, ns[lookups * 99 / 100] / 1e3,
           ns[lookups * 999 / 1000] / 1e3, ns[lookups - 1] / 1e3);
    for (size_t i = 0; i < count; i++)
        free(values[i]);
    free(values);
    free(ns);
    uf_store_close(store);
    uf_config_free(config);
    return 0;
}
