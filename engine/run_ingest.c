/*
 * run_ingest.c — the ingest stage of a run: every file is read into chunks
 * (run_read.c, big plain files in parts, all threads at once), then the
 * chunks are joined into one table in *canonical order*: sources by name,
 * records by key. That order makes everything downstream independent of
 * file order, part size and thread scheduling, and it is the key order of
 * the store's (source, key) table, so that table is written by appending and
 * the previous generation is merge-joined by one cursor scan.
 *
 * Joining is parallel too (sources sorted one per thread, records and refs
 * laid out by two threads): at 1 M customers the serial join took ~0.45 s
 * of a ~2.8 s stage.
 *
 * A record key that occurs twice in one source keeps its most recent row
 * (updated_at, then the later file and line); the others are counted as
 * superseded.
 */
#include "run_read.h"

#include "parallel.h"
#include "sort.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/* ---- canonical order ------------------------------------------------ */

/*
 * Records are sorted by an 8-byte big-endian prefix of their key taken
 * *after* the bytes every key of the source shares ("inst-", "CU"), so the
 * radix sort alone orders nearly everything; only runs of equal prefix look
 * at the full keys in the blobs (random memory access, so kept rare).
 */
typedef struct sort_entry {
    uint64_t prefix;
    const uf_record *record;
    uint32_t global;   /* position in the source-by-source concatenation of the chunks */
} sort_entry;

/* The line of every entry's record, by sort_entry.global (records do not keep it). */
typedef const uint64_t *entry_lines;

static uint64_t key_prefix(uf_slice key, size_t skip)
{
    unsigned char b[8] = {0};
    if (key.len > skip)
        memcpy(b, key.ptr + skip, key.len - skip < 8 ? key.len - skip : 8);
    return uf_be64_get(b);
}

static int compare_keys(const uf_record *a, const uf_record *b)
{
    uf_slice ka = uf_record_key(a), kb = uf_record_key(b);
    size_t n = ka.len < kb.len ? ka.len : kb.len;
    int c = memcmp(ka.ptr, kb.ptr, n);
    if (c)
        return c;
    return ka.len == kb.len ? 0 : (ka.len < kb.len ? -1 : 1);
}

/* Full order: key bytes, then — for a repeated key — the row that wins first. */
static int compare_full(const uf_record *a, const uf_record *b, uint64_t line_a, uint64_t line_b)
{
    int c = compare_keys(a, b);
    if (c)
        return c;
    if (a->updated_at != b->updated_at)
        return a->updated_at > b->updated_at ? -1 : 1;
    if (a->file != b->file)
        return a->file > b->file ? -1 : 1;
    if (line_a != line_b)
        return line_a > line_b ? -1 : 1;
    return 0;
}

static int compare_entries(const void *x, const void *y, void *lines)
{
    const sort_entry *a = x, *b = y;
    entry_lines line = lines;
    return compare_full(a->record, b->record, line[a->global], line[b->global]);
}

/* Order runs of equal prefix by the full key. */
static void tie_sort(sort_entry *a, size_t n, entry_lines lines)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i + 1;
        while (j < n && a[j].prefix == a[i].prefix)
            j++;
        if (j - i > 1)
            qsort_r(a + i, j - i, sizeof *a, compare_entries, (void *)lines);
        i = j;
    }
}

/* Bytes that every key of the source starts with. */
static size_t common_key_prefix(const uf_chunk *chunks, size_t chunk_count, size_t source)
{
    const uf_record *first = NULL;
    size_t lcp = 0;
    for (size_t i = 0; i < chunk_count; i++) {
        if (chunks[i].source != source)
            continue;
        for (size_t r = 0; r < chunks[i].count; r++) {
            uf_slice k = uf_record_key(&chunks[i].records[r]);
            if (!first) {
                first = &chunks[i].records[r];
                lcp = k.len;
                continue;
            }
            uf_slice f = uf_record_key(first);
            size_t n = 0;
            while (n < lcp && n < k.len && f.ptr[n] == k.ptr[n])
                n++;
            lcp = n;
        }
    }
    return lcp;
}

/*
 * The canonical order is built on the run's threads: the sources are
 * sorted and numbered independently (one source per job, largest first;
 * ids count from 0 within a source), then the records and the refs are laid
 * out by two threads at once (the two arrays share nothing), each id offset
 * by the records of the sources before its own. The result does not depend
 * on which thread did what.
 */
typedef struct order_job {
    const uf_config *config;
    const uf_chunk *chunks;
    size_t chunk_count;
    sort_entry *entries;
    uint64_t *lines;              /* by entry global position */
    uint32_t *new_id;             /* by entry global position: id within its source, or UF_RECORD_NONE */
    const size_t *source_begin;   /* per source: first entry */
    size_t *kept;                 /* per source: records numbered */
    uint64_t *superseded;         /* per source: rows replaced by a newer one with the same key */
    const size_t *sources;        /* source indices, largest first */
    size_t source_count;
    atomic_size_t next;
    atomic_int rc;
} order_job;

/* Number one sorted source; compare_full put the winning row first among equal keys. */
static void number_source(order_job *job, size_t s, const sort_entry *e, size_t n)
{
    uint32_t next = 0;
    uint64_t superseded = 0;
    for (size_t k = 0; k < n; k++) {
        bool repeated = k > 0 && e[k].prefix == e[k - 1].prefix && compare_keys(e[k].record, e[k - 1].record) == 0;
        if (repeated)
            superseded++;
        job->new_id[e[k].global] = repeated ? UF_RECORD_NONE : next++;
    }
    job->kept[s] = next;
    job->superseded[s] = superseded;
}

static void *order_sources(void *arg)
{
    order_job *job = arg;
    for (;;) {
        size_t k = atomic_fetch_add(&job->next, 1);
        if (k >= job->source_count)
            break;
        size_t s = job->sources[k];
        size_t begin = job->source_begin[s], at = begin;
        size_t skip = common_key_prefix(job->chunks, job->chunk_count, s);
        for (size_t i = 0; i < job->chunk_count; i++) {
            if (job->chunks[i].source != s)
                continue;
            for (size_t j = 0; j < job->chunks[i].count; j++, at++) {
                sort_entry *e = &job->entries[at];
                e->record = &job->chunks[i].records[j];
                e->prefix = key_prefix(uf_record_key(e->record), skip);
                e->global = (uint32_t)at;
                job->lines[at] = job->chunks[i].lines[j];
            }
        }
        int rc = uf_sort_by_u64_key(job->entries + begin, at - begin, sizeof(sort_entry),
                                    offsetof(sort_entry, prefix));
        if (rc != UF_OK) {
            atomic_store(&job->rc, rc);
            continue;
        }
        tie_sort(job->entries + begin, at - begin, job->lines);
        number_source(job, s, job->entries + begin, at - begin);
    }
    return NULL;
}

typedef struct layout_job {
    uf_chunk *chunks;
    size_t chunk_count;
    const uint32_t *chunk_base;
    const uint32_t *new_id;
    const uint32_t *id_base; /* per source: ids of the sources before it in name order */
    uf_record *records;     /* the records' half */
    uf_record_compare *cmp; /* (with their comparison fields) */
    uf_identifier_ref *refs;/* the refs' half */
    size_t ref_out;
} layout_job;

static void *layout_records(void *arg)
{
    layout_job *job = arg;
    for (size_t i = 0; i < job->chunk_count; i++) {
        uf_chunk *c = &job->chunks[i];
        const uint32_t *ids = job->new_id + job->chunk_base[i];
        uf_record *records = job->records + job->id_base[c->source];
        uf_record_compare *cmp = job->cmp + job->id_base[c->source];
        for (size_t j = 0; j < c->count; j++)
            if (ids[j] != UF_RECORD_NONE) {
                records[ids[j]] = c->records[j];
                cmp[ids[j]] = c->cmp[j];
            }
        free(c->records); /* as we go: the records never exist twice */
        c->records = NULL;
        free(c->cmp);
        c->cmp = NULL;
    }
    return NULL;
}

/*
 * The refs go out in canonical record order within each top byte of their
 * key, bucket after bucket: the order the link stage's sort starts from
 * (uf_sort_identifier_refs skips its serial first level on input already
 * in top-byte order; 0.2 s of one core at 1 M customers). A first pass
 * counts each bucket, a second scatters.
 */
static void *layout_refs(void *arg)
{
    layout_job *job = arg;
    size_t next[256] = {0};
    for (size_t i = 0; i < job->chunk_count; i++) {
        const uf_chunk *c = &job->chunks[i];
        const uint32_t *ids = job->new_id + job->chunk_base[i];
        for (size_t j = 0; j < c->ref_count; j++)
            if (ids[c->refs[j].record] != UF_RECORD_NONE)
                next[c->refs[j].key.hi >> 56]++;
    }
    size_t out = 0;
    for (unsigned b = 0; b < 256; b++) {
        size_t n = next[b];
        next[b] = out;
        out += n;
    }
    for (size_t i = 0; i < job->chunk_count; i++) {
        uf_chunk *c = &job->chunks[i];
        const uint32_t *ids = job->new_id + job->chunk_base[i];
        uint32_t base = job->id_base[c->source];
        for (size_t j = 0; j < c->ref_count; j++) {
            uint32_t id = ids[c->refs[j].record];
            if (id == UF_RECORD_NONE)
                continue;
            uf_identifier_ref *r = &job->refs[next[c->refs[j].key.hi >> 56]++];
            *r = c->refs[j];
            r->record = base + id;
        }
        free(c->refs);
        c->refs = NULL;
    }
    job->ref_out = out;
    return NULL;
}

static int compare_source_size(const void *x, const void *y, void *sizes)
{
    const size_t *n = sizes;
    size_t a = n[*(const size_t *)x], b = n[*(const size_t *)y];
    if (a != b)
        return a > b ? -1 : 1;
    return *(const size_t *)x < *(const size_t *)y ? -1 : 1;
}

/* ---- the stage ------------------------------------------------------ */

static int compare_source_names(const void *x, const void *y, void *config)
{
    const uf_config *c = config;
    return strcmp(c->sources[*(const size_t *)x].name, c->sources[*(const size_t *)y].name);
}

int uf_run_ingest(uf_run_state *state, uf_error *err)
{
    const uf_config *config = state->config;
    uf_chunk *chunks = NULL;
    size_t chunk_count = 0;
    int rc = uf_run_read_all(state, &chunks, &chunk_count, err);
    if (rc != UF_OK)
        return rc;

    state->source_stats = calloc(config->source_count, sizeof *state->source_stats);
    state->superseded = calloc(config->source_count, sizeof *state->superseded);
    state->source_rank = calloc(config->source_count, sizeof *state->source_rank);
    size_t *by_name = malloc(config->source_count * sizeof *by_name);
    size_t total = 0, total_refs = 0;
    for (size_t i = 0; i < chunk_count; i++) {
        total += chunks[i].count;
        total_refs += chunks[i].ref_count;
    }
    uint32_t *chunk_base = malloc((chunk_count ? chunk_count : 1) * sizeof *chunk_base);
    sort_entry *entries = malloc((total ? total : 1) * sizeof *entries);
    uint32_t *new_id = malloc((total ? total : 1) * sizeof *new_id);
    uint64_t *lines = malloc((total ? total : 1) * sizeof *lines);
    uf_record *records = NULL;
    uf_record_compare *cmp = NULL;
    uf_identifier_ref *refs = NULL;
    if (!state->source_stats || !state->superseded || !state->source_rank || !by_name || !chunk_base ||
        !entries || !new_id || !lines) {
        rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory ordering %zu records", total);
        goto done;
    }
    if (total >= UF_RECORD_NONE) {
        rc = uf_error_set(err, UF_ERR_INVALID, "too many records in one run (%zu)", total);
        goto done;
    }
    for (size_t s = 0; s < config->source_count; s++)
        by_name[s] = s;
    qsort_r(by_name, config->source_count, sizeof *by_name, compare_source_names, (void *)config);
    for (size_t r = 0; r < config->source_count; r++)
        state->source_rank[by_name[r]] = (uint16_t)r;

    /* Entries source by source in name order (chunks of a source in file order). */
    size_t *source_begin = malloc(config->source_count * sizeof *source_begin);
    size_t *source_size = calloc(config->source_count, sizeof *source_size);
    size_t *by_size = malloc(config->source_count * sizeof *by_size);
    if (!source_begin || !source_size || !by_size) {
        free(source_begin);
        free(source_size);
        free(by_size);
        rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory ordering %zu records", total);
        goto done;
    }
    size_t at = 0;
    for (size_t r = 0; r < config->source_count; r++) {
        size_t s = by_name[r];
        source_begin[s] = at;
        for (size_t i = 0; i < chunk_count; i++) {
            if (chunks[i].source != s)
                continue;
            chunk_base[i] = (uint32_t)at;
            at += chunks[i].count;
            source_size[s] += chunks[i].count;
            uf_source_stats_add(&state->source_stats[s], &chunks[i].stats);
        }
        by_size[r] = s;
    }
    qsort_r(by_size, config->source_count, sizeof *by_size, compare_source_size, source_size);
    size_t threads = config->threads > 1 ? (size_t)config->threads : 1;
    if (threads > config->source_count)
        threads = config->source_count ? config->source_count : 1;
    if (threads > UF_PARALLEL_MAX)
        threads = UF_PARALLEL_MAX;
    size_t *kept = calloc(config->source_count + 1, sizeof *kept);
    uint32_t *id_base = calloc(config->source_count + 1, sizeof *id_base);
    if (!kept || !id_base) {
        free(source_begin);
        free(source_size);
        free(by_size);
        free(kept);
        free(id_base);
        rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory ordering %zu records", total);
        goto done;
    }
    order_job ojob = {.config = config, .chunks = chunks, .chunk_count = chunk_count, .entries = entries,
                      .lines = lines, .new_id = new_id, .source_begin = source_begin, .kept = kept,
                      .superseded = state->superseded, .sources = by_size, .source_count = config->source_count};
    atomic_init(&ojob.next, 0);
    atomic_init(&ojob.rc, UF_OK);
    void *args[UF_PARALLEL_MAX];
    for (size_t t = 0; t < threads; t++)
        args[t] = &ojob; /* one shared queue of sources */
    uf_parallel_run(order_sources, args, threads);
    free(by_size);
    if ((rc = atomic_load(&ojob.rc)) != UF_OK) {
        free(source_begin);
        free(source_size);
        free(kept);
        free(id_base);
        uf_error_set(err, rc, "out of memory sorting records");
        goto done;
    }

    /* Each source's ids follow those of the sources before it in name order. */
    size_t out = 0;
    for (size_t r = 0; r < config->source_count; r++) {
        id_base[by_name[r]] = (uint32_t)out;
        out += kept[by_name[r]];
    }
    free(kept);
    free(source_begin);
    free(source_size);
    free(entries);
    entries = NULL;
    free(lines);
    lines = NULL;
    for (size_t i = 0; i < chunk_count; i++) {
        free(chunks[i].lines);
        chunks[i].lines = NULL;
    }

    /* Lay the records and their identifier refs out in canonical order (two threads), freeing chunks as we go. */
    records = malloc((out ? out : 1) * sizeof *records);
    cmp = malloc((out ? out : 1) * sizeof *cmp);
    refs = malloc((total_refs ? total_refs : 1) * sizeof *refs);
    if (!records || !cmp || !refs) {
        free(id_base);
        rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory laying out %zu records", out);
        goto done;
    }
    layout_job ljob = {chunks, chunk_count, chunk_base, new_id, id_base, records, cmp, refs, 0};
    pthread_t layout_tid;
    bool layout_started = config->threads > 1 && pthread_create(&layout_tid, NULL, layout_refs, &ljob) == 0;
    layout_records(&ljob);
    if (layout_started)
        pthread_join(layout_tid, NULL);
    else
        layout_refs(&ljob);
    size_t ref_out = ljob.ref_out;
    free(id_base);
    state->table.records = records;
    state->table.count = out;
    state->table.cmp = cmp;
    cmp = NULL;
    state->table.identifiers = refs;
    state->table.identifier_count = ref_out;
    records = NULL;
    refs = NULL;
    rc = UF_OK;
done:
    free(records);
    free(cmp);
    free(lines);
    free(refs);
    free(by_name);
    free(chunk_base);
    free(entries);
    free(new_id);
    uf_run_chunks_free(chunks, chunk_count);
    return rc;
}
