/*
 * run_ingest.c — the ingest stage of a run: every (source, file) is read on
 * one of `threads` workers, largest first so the cores finish together.
 * Plain files bigger than `part_size` are read in parts, by several workers
 * at once (below), so one big export does not leave a core idle. Each part
 * fills its own chunk (arena of blobs, records, identifier refs) with no
 * locking; chunks are then joined into one table in *canonical order*:
 * sources by name, records by key. That order makes everything downstream
 * independent of file order, part size and thread scheduling, and it is the
 * key order of the store's (source, key) table, so that table is written by
 * appending and the previous generation is merge-joined by one cursor scan.
 *
 * Parts: part k of a file starts at the first line start at or after its
 * begin offset. For JSONL that is a row start (unless the offset falls in a
 * byte-order mark); in CSV a quoted field may span it. So each part reads on past its end to the first row starting at
 * or after it and records that offset; a part that did not start exactly
 * where the part before it stopped is read again from there, serially (rare:
 * a multi-line quoted field across the boundary). The parts' rejected rows
 * are kept until every part's first line number is known, then written in
 * (source, file, line) order, so the rejects file is the same whatever the
 * threads did.
 *
 * Joining is parallel too (sources sorted one per thread, records and refs
 * laid out by two threads): at 1 M customers the serial join took ~0.45 s
 * of a ~2.8 s stage.
 *
 * A record key that occurs twice in one source keeps its most recent row
 * (updated_at, then the later file and line); the others are counted as
 * superseded. A file that cannot be read stops every worker and the run.
 */
#include "run.h"

#include "parallel.h"
#include "sort.h"
#include "stream.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>

/* A rejected row, kept until its part's first line number is known. */
typedef struct held_reject {
    uint64_t line;
    uf_reject_reason reason;
} held_reject;

typedef struct chunk {
    size_t source, file;
    uint64_t cost;                 /* estimated bytes to parse, for scheduling */
    uf_ingest_range range;         /* whole file: 0, 0, false */
    size_t part, parts;            /* which part of its file, of how many */
    uf_ingest_part where;          /* where the part started and stopped */
    held_reject *rejects;
    size_t reject_count, reject_cap;
    bool reject_oom;
    uf_arena *arena;
    uf_record *records;
    uf_record_compare *cmp;        /* per record */
    uint64_t *lines;               /* per record: its line, to order repeated keys */
    size_t count, cap;
    uf_identifier_ref *refs;       /* .record is the index within this chunk */
    size_t ref_count, ref_cap;
    uf_source_stats stats;
} chunk;

typedef struct ingest_job {
    const uf_config *config;
    chunk *chunks;
    size_t *order;                 /* chunk indices, largest first */
    size_t chunk_count;
    atomic_size_t next;
    atomic_bool failed;
    pthread_mutex_t error_lock;
    uf_error error;
} ingest_job;

static void chunk_reject(void *ctx, uint64_t line, uf_reject_reason reason)
{
    chunk *c = ctx;
    if (c->reject_count == c->reject_cap) {
        size_t cap = c->reject_cap ? c->reject_cap * 2 : 64;
        held_reject *r = realloc(c->rejects, cap * sizeof *r);
        if (!r) {
            c->reject_oom = true;
            return;
        }
        c->rejects = r;
        c->reject_cap = cap;
    }
    c->rejects[c->reject_count++] = (held_reject){line, reason};
}

static int chunk_sink(void *ctx, const uf_ingest_record *rec, uf_error *err)
{
    chunk *c = ctx;
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4096;
        uf_record *r = realloc(c->records, cap * sizeof *r);
        if (r)
            c->records = r;
        uf_record_compare *cmp = r ? realloc(c->cmp, cap * sizeof *cmp) : NULL;
        if (cmp)
            c->cmp = cmp;
        uint64_t *lines = cmp ? realloc(c->lines, cap * sizeof *lines) : NULL;
        if (!lines)
            return uf_error_set(err, UF_ERR_NOMEM, "out of memory reading %s", "records");
        c->lines = lines;
        c->cap = cap;
    }
    if (c->ref_count + rec->key_count > c->ref_cap) {
        size_t cap = c->ref_cap ? c->ref_cap * 2 : 8192;
        while (cap < c->ref_count + rec->key_count)
            cap *= 2;
        uf_identifier_ref *r = realloc(c->refs, cap * sizeof *r);
        if (!r)
            return uf_error_set(err, UF_ERR_NOMEM, "out of memory reading %s", "identifiers");
        c->refs = r;
        c->ref_cap = cap;
    }
    unsigned char *blob = uf_arena_copy_bytes(c->arena, rec->blob, rec->blob_len);
    if (!blob)
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory reading %s", "records");
    uf_record *r = &c->records[c->count];
    r->blob = blob;
    r->blob_len = (uint32_t)rec->blob_len;
    r->source = rec->source;
    r->file = rec->file;
    r->updated_at = rec->updated_at;
    c->cmp[c->count] = rec->cmp;
    c->lines[c->count] = rec->line;
    for (size_t i = 0; i < rec->key_count; i++) {
        uf_identifier_ref *ref = &c->refs[c->ref_count++];
        ref->key = rec->keys[i];
        ref->record = (uf_record_id)c->count;
        ref->kind = rec->key_kinds[i];
    }
    c->count++;
    return UF_OK;
}

/* Read chunk c's part of its file into it. */
static int read_chunk(const uf_config *config, chunk *c, uf_error *err)
{
    int rc = uf_ingest_range_read(config, c->source, c->file, &c->range, chunk_reject, c, &c->stats, chunk_sink, c,
                                  &c->where, err);
    if (rc == UF_OK && c->reject_oom)
        rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory keeping rejected rows");
    return rc;
}

static void *ingest_worker(void *arg)
{
    ingest_job *job = arg;
    uf_error err;
    for (;;) {
        size_t slot = atomic_fetch_add(&job->next, 1);
        if (slot >= job->chunk_count || atomic_load(&job->failed))
            break;
        chunk *c = &job->chunks[job->order[slot]];
        uf_error_clear(&err);
        int rc = read_chunk(job->config, c, &err);
        if (rc != UF_OK) {
            pthread_mutex_lock(&job->error_lock);
            if (!atomic_load(&job->failed)) {
                job->error = err;
                if (!job->error.message[0])
                    uf_error_set(&job->error, rc, "%s", uf_strerror(rc));
                atomic_store(&job->failed, true);
            }
            pthread_mutex_unlock(&job->error_lock);
        }
    }
    return NULL;
}

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
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | b[i];
    return v;
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
static size_t common_key_prefix(const chunk *chunks, size_t chunk_count, size_t source)
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
 * sorted independently (one source per job, largest first), then record
 * ids are numbered in one cheap serial pass, then the records and the refs
 * are laid out by two threads at once (the two arrays share nothing). The
 * result does not depend on which thread did what.
 */
typedef struct order_job {
    const uf_config *config;
    const chunk *chunks;
    size_t chunk_count;
    sort_entry *entries;
    uint64_t *lines;              /* by entry global position */
    const size_t *source_begin;   /* per source: first entry */
    const size_t *sources;        /* source indices, largest first */
    size_t source_count;
    atomic_size_t next;
    atomic_int rc;
} order_job;

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
    }
    return NULL;
}

typedef struct layout_job {
    chunk *chunks;
    size_t chunk_count;
    const uint32_t *chunk_base;
    const uint32_t *new_id;
    uf_record *records;     /* the records' half */
    uf_record_compare *cmp; /* (with their comparison fields) */
    uf_identifier_ref *refs;/* the refs' half */
    size_t ref_out;
} layout_job;

static void *layout_records(void *arg)
{
    layout_job *job = arg;
    for (size_t i = 0; i < job->chunk_count; i++) {
        chunk *c = &job->chunks[i];
        const uint32_t *ids = job->new_id + job->chunk_base[i];
        for (size_t j = 0; j < c->count; j++)
            if (ids[j] != UF_RECORD_NONE) {
                job->records[ids[j]] = c->records[j];
                job->cmp[ids[j]] = c->cmp[j];
            }
        free(c->records); /* as we go: the records never exist twice */
        c->records = NULL;
        free(c->cmp);
        c->cmp = NULL;
    }
    return NULL;
}

static void *layout_refs(void *arg)
{
    layout_job *job = arg;
    size_t out = 0;
    for (size_t i = 0; i < job->chunk_count; i++) {
        chunk *c = &job->chunks[i];
        const uint32_t *ids = job->new_id + job->chunk_base[i];
        for (size_t j = 0; j < c->ref_count; j++) {
            uint32_t id = ids[c->refs[j].record];
            if (id == UF_RECORD_NONE)
                continue;
            job->refs[out] = c->refs[j];
            job->refs[out].record = id;
            out++;
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

static int compare_chunk_cost(const void *x, const void *y, void *chunks)
{
    const chunk *c = chunks;
    uint64_t a = c[*(const size_t *)x].cost, b = c[*(const size_t *)y].cost;
    if (a != b)
        return a > b ? -1 : 1;
    return *(const size_t *)x < *(const size_t *)y ? -1 : 1;
}

/* Free what a chunk read (not its arena's blocks: the state owns the arenas). */
static void clear_chunk(chunk *c)
{
    free(c->records);
    free(c->cmp);
    free(c->lines);
    free(c->refs);
    free(c->rejects);
    free(c->where.seen);
    c->records = NULL;
    c->cmp = NULL;
    c->lines = NULL;
    c->refs = NULL;
    c->rejects = NULL;
    c->where.seen = NULL;
    c->count = c->cap = c->ref_count = c->ref_cap = c->reject_count = c->reject_cap = 0;
    c->reject_oom = false;
}

static void free_chunks(chunk *chunks, size_t n)
{
    for (size_t i = 0; chunks && i < n; i++)
        clear_chunk(&chunks[i]);
    free(chunks);
}

/* Most parts one file is cut into, whatever part_size says: each part opens the file and reads its header. */
#define MAX_PARTS_PER_FILE 4096
/* A gzip file is read whole by one worker and costs more per byte on disk: schedule it as this many bytes per byte. */
#define GZIP_COST_FACTOR 3

/* Size and modification time of a file when the parts were planned: checked again after they are read. */
typedef struct file_identity {
    bool known;
    uint64_t size;
    struct timespec mtime;
} file_identity;

/* How many parts to read a file in: 1 unless it is a plain file bigger than part_size. */
static size_t parts_for(const uf_config *config, const char *path, const file_identity *id, bool *gzip)
{
    uf_error ignored = {0};
    uf_stream *stream = id->known ? uf_stream_open(path, &ignored) : NULL; /* errors show when it is read */
    *gzip = stream && uf_stream_is_gzip(stream);
    uf_stream_close(stream);
    if (!stream || *gzip || config->part_size == 0 || id->size <= config->part_size + config->part_size / 2)
        return 1;
    uint64_t parts = (id->size + config->part_size / 2) / config->part_size;
    return parts > MAX_PARTS_PER_FILE ? MAX_PARTS_PER_FILE : parts < 1 ? 1 : (size_t)parts;
}

/*
 * After every part is read: check that each part of a file started where
 * the one before it stopped (reading it again from there when not), turn
 * the parts' own line numbers into the file's, check JSONL members over the
 * whole file and that a file read in parts did not change meanwhile.
 */
static int finish_files(uf_run_state *state, chunk *chunks, size_t n, const file_identity *ids, uf_error *err)
{
    const uf_config *config = state->config;
    for (size_t i = 0; i < n; i += chunks[i].parts) {
        chunk *first = &chunks[i];
        const char *path = config->sources[first->source].paths[first->file];
        uint64_t base = 0, rows = 0;
        bool *seen = NULL;
        size_t seen_count = 0;
        for (size_t k = 0; k < first->parts; k++) {
            chunk *c = &chunks[i + k];
            if (k > 0) {
                const chunk *prev = c - 1;
                if (c->where.first_row != prev->where.stop) {
                    /* A quoted field spans the guessed start: read the part again from where the previous one
                     * stopped, which is a row start. */
                    clear_chunk(c);
                    uf_arena_free(c->arena);
                    uf_arena_init(c->arena);
                    memset(&c->stats, 0, sizeof c->stats);
                    c->range.begin = prev->where.stop;
                    c->range.align = false;
                    state->ingest_parts_reread++;
                    int rc = read_chunk(config, c, err);
                    if (rc != UF_OK) {
                        free(seen);
                        return rc;
                    }
                }
                /* The row at prev's stop is c's first row: its line in the file, less its line in the part. */
                base = base + prev->where.stop_line - c->where.first_line;
            }
            for (size_t r = 0; r < c->count; r++)
                c->lines[r] += base;
            for (size_t r = 0; r < c->reject_count; r++)
                c->rejects[r].line += base;
            rows += c->stats.rows_read;
            if (c->where.seen) {
                if (!seen) {
                    seen = calloc(c->where.seen_count, sizeof *seen);
                    seen_count = c->where.seen_count;
                    if (!seen)
                        return uf_error_set(err, UF_ERR_NOMEM, "out of memory");
                }
                for (size_t m = 0; m < seen_count && m < c->where.seen_count; m++)
                    seen[m] |= c->where.seen[m];
            }
        }
        int rc = seen ? uf_ingest_check_members(config, first->source, first->file, seen, seen_count, rows, err)
                      : UF_OK;
        free(seen);
        if (rc != UF_OK)
            return rc;
        const file_identity *id = &ids[i];
        struct stat st;
        if (first->parts > 1 && (stat(path, &st) != 0 || (uint64_t)st.st_size != id->size ||
                                 st.st_mtim.tv_sec != id->mtime.tv_sec || st.st_mtim.tv_nsec != id->mtime.tv_nsec))
            return uf_error_set(err, UF_ERR_IO,
                                "%s: the file changed while it was being read (%llu bytes when the run started); "
                                "run again once the export is complete",
                                path, (unsigned long long)id->size);
        first->stats.files = 1;
        first->stats.bytes = id->size;
    }
    return UF_OK;
}

/* The held rejected rows, in chunk order: by source, file and line. */
static int write_rejects(const uf_config *config, const chunk *chunks, size_t n, uf_error *err)
{
    uf_rejects rejects;
    int rc = uf_rejects_open(&rejects, config->rejects_path, err);
    if (rc != UF_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const char *path = config->sources[chunks[i].source].paths[chunks[i].file];
        for (size_t r = 0; r < chunks[i].reject_count; r++)
            uf_rejects_write(&rejects, path, chunks[i].rejects[r].line,
                             uf_reject_reason_name(chunks[i].rejects[r].reason));
    }
    return uf_rejects_close(&rejects, err);
}

/* Read every file (big plain ones in parts); on success the chunks hold all rows. */
static int read_all(uf_run_state *state, chunk **out_chunks, size_t *out_count, uf_error *err)
{
    const uf_config *config = state->config;
    size_t files = 0;
    for (size_t s = 0; s < config->source_count; s++) {
        if (config->sources[s].path_count == 0)
            return uf_error_set(err, UF_ERR_IO, "%s: no file matches (source '%s')", config->sources[s].pattern,
                                config->sources[s].name);
        files += config->sources[s].path_count;
    }
    /* Plan the parts. */
    file_identity *file_ids = calloc(files ? files : 1, sizeof *file_ids);
    size_t *file_parts = calloc(files ? files : 1, sizeof *file_parts);
    bool *file_gzip = calloc(files ? files : 1, sizeof *file_gzip);
    if (!file_ids || !file_parts || !file_gzip) {
        free(file_ids);
        free(file_parts);
        free(file_gzip);
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory");
    }
    size_t n = 0;
    for (size_t s = 0, fi = 0; s < config->source_count; s++) {
        for (size_t f = 0; f < config->sources[s].path_count; f++, fi++) {
            struct stat st;
            if (stat(config->sources[s].paths[f], &st) == 0)
                file_ids[fi] = (file_identity){true, (uint64_t)st.st_size, st.st_mtim};
            file_parts[fi] = parts_for(config, config->sources[s].paths[f], &file_ids[fi], &file_gzip[fi]);
            n += file_parts[fi];
        }
    }
    chunk *chunks = calloc(n ? n : 1, sizeof *chunks);
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    file_identity *chunk_ids = calloc(n ? n : 1, sizeof *chunk_ids);
    state->arenas = calloc(n ? n : 1, sizeof *state->arenas);
    if (!chunks || !order || !chunk_ids || !state->arenas) {
        free(chunks);
        free(order);
        free(chunk_ids);
        free(file_ids);
        free(file_parts);
        free(file_gzip);
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory");
    }
    state->arena_count = n;
    size_t i = 0;
    for (size_t s = 0, fi = 0; s < config->source_count; s++) {
        for (size_t f = 0; f < config->sources[s].path_count; f++, fi++) {
            uint64_t size = file_ids[fi].size;
            size_t parts = file_parts[fi];
            for (size_t k = 0; k < parts; k++, i++) {
                chunk *c = &chunks[i];
                c->source = s;
                c->file = f;
                c->part = k;
                c->parts = parts;
                if (parts > 1)
                    c->range = (uf_ingest_range){.begin = size * k / parts,
                                                 .end = k + 1 < parts ? size * (k + 1) / parts : 0,
                                                 .align = k > 0};
                c->cost = parts > 1 ? (c->range.end ? c->range.end : size) - c->range.begin
                                    : size * (file_gzip[fi] ? GZIP_COST_FACTOR : 1);
                c->arena = &state->arenas[i];
                uf_arena_init(c->arena);
                chunk_ids[i] = file_ids[fi];
                order[i] = i;
            }
        }
    }
    free(file_ids);
    free(file_parts);
    free(file_gzip);
    qsort_r(order, n, sizeof *order, compare_chunk_cost, chunks);

    /* Opened (and truncated) first: a rejects file that cannot be written fails the run before the reading. */
    uf_rejects probe;
    int rc = uf_rejects_open(&probe, config->rejects_path, err);
    if (rc == UF_OK)
        rc = uf_rejects_close(&probe, err);
    if (rc != UF_OK) {
        free_chunks(chunks, n);
        free(order);
        free(chunk_ids);
        return rc;
    }
    ingest_job job = {.config = config, .chunks = chunks, .order = order, .chunk_count = n};
    atomic_init(&job.next, 0);
    atomic_init(&job.failed, false);
    pthread_mutex_init(&job.error_lock, NULL);
    size_t threads = config->threads > 0 ? (size_t)config->threads : 1;
    if (threads > n)
        threads = n ? n : 1;
    if (threads > UF_PARALLEL_MAX)
        threads = UF_PARALLEL_MAX;
    void *args[UF_PARALLEL_MAX];
    for (size_t t = 0; t < threads; t++)
        args[t] = &job; /* one shared queue of parts */
    uf_parallel_run(ingest_worker, args, threads);
    pthread_mutex_destroy(&job.error_lock);
    free(order);
    if (atomic_load(&job.failed)) {
        if (err)
            *err = job.error;
        free_chunks(chunks, n);
        free(chunk_ids);
        return job.error.code ? job.error.code : UF_ERR_IO;
    }
    rc = finish_files(state, chunks, n, chunk_ids, err);
    free(chunk_ids);
    if (rc == UF_OK)
        rc = write_rejects(config, chunks, n, err);
    if (rc != UF_OK) {
        free_chunks(chunks, n);
        return rc;
    }
    *out_chunks = chunks;
    *out_count = n;
    return UF_OK;
}

int uf_run_ingest(uf_run_state *state, uf_error *err)
{
    const uf_config *config = state->config;
    chunk *chunks = NULL;
    size_t chunk_count = 0;
    int rc = read_all(state, &chunks, &chunk_count, err);
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
    order_job ojob = {.config = config, .chunks = chunks, .chunk_count = chunk_count, .entries = entries,
                      .lines = lines, .source_begin = source_begin, .sources = by_size, .source_count = config->source_count};
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
        uf_error_set(err, rc, "out of memory sorting records");
        goto done;
    }

    /* Number the records in canonical order; compare_full put the winning row first among equal keys. */
    size_t out = 0;
    for (size_t r = 0; r < config->source_count; r++) {
        size_t s = by_name[r];
        size_t begin = source_begin[s], end = begin + source_size[s];
        for (size_t k = begin; k < end; k++) {
            bool repeated = k > begin && entries[k].prefix == entries[k - 1].prefix &&
                            compare_keys(entries[k].record, entries[k - 1].record) == 0;
            if (repeated) {
                new_id[entries[k].global] = UF_RECORD_NONE;
                state->superseded[s]++;
            } else {
                new_id[entries[k].global] = (uint32_t)out++;
            }
        }
    }
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
        rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory laying out %zu records", out);
        goto done;
    }
    layout_job ljob = {chunks, chunk_count, chunk_base, new_id, records, cmp, refs, 0};
    pthread_t layout_tid;
    bool layout_started = config->threads > 1 && pthread_create(&layout_tid, NULL, layout_refs, &ljob) == 0;
    layout_records(&ljob);
    if (layout_started)
        pthread_join(layout_tid, NULL);
    else
        layout_refs(&ljob);
    size_t ref_out = ljob.ref_out;
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
    free_chunks(chunks, chunk_count);
    return rc;
}
