/*
 * run_read.c — reading every export file of a run into chunks (run_read.h),
 * on `threads` workers, largest first so the cores finish together: a gzip
 * file counts GZIP_COST_FACTOR times its size, plain files bigger than
 * `part_size` are cut into parts so that one big export does not leave a
 * core idle. Each part fills its own chunk (arena of blobs, records,
 * identifier refs) with no locking.
 *
 * Parts: part k of a file starts at the first line start at or after its
 * begin offset. For JSONL that is a row start (unless the offset falls in a
 * byte-order mark); in CSV a quoted field may span it. So each part reads
 * on past its end to the first row starting at or after it and records that
 * offset; a part that did not start exactly where the part before it
 * stopped is read again from there, serially (rare: a multi-line quoted
 * field across the boundary). Lines are counted per part and shifted into
 * the file's numbering once every part is read. The rejected rows are kept
 * until then and written in (source, file, line) order, so the rejects file
 * is the same whatever the threads did.
 *
 * A file that cannot be read stops every worker and the run.
 */
#include "run_read.h"

#include "parallel.h"
#include "stream.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>

typedef struct ingest_job {
    const uf_config *config;
    uf_chunk *chunks;
    size_t *order;                 /* chunk indices, largest first */
    size_t chunk_count;
    atomic_size_t next;
    atomic_bool failed;
    pthread_mutex_t error_lock;
    uf_error error;
} ingest_job;

static void chunk_reject(void *ctx, uint64_t line, uf_reject_reason reason)
{
    uf_chunk *c = ctx;
    if (c->reject_count == c->reject_cap) {
        size_t cap = c->reject_cap ? c->reject_cap * 2 : 64;
        uf_held_reject *r = realloc(c->rejects, cap * sizeof *r);
        if (!r) {
            c->reject_oom = true;
            return;
        }
        c->rejects = r;
        c->reject_cap = cap;
    }
    c->rejects[c->reject_count++] = (uf_held_reject){line, reason};
}

static int chunk_sink(void *ctx, const uf_ingest_record *rec, uf_error *err)
{
    uf_chunk *c = ctx;
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
static int read_chunk(const uf_config *config, uf_chunk *c, uf_error *err)
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
        uf_chunk *c = &job->chunks[job->order[slot]];
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

static int compare_chunk_cost(const void *x, const void *y, void *chunks)
{
    const uf_chunk *c = chunks;
    uint64_t a = c[*(const size_t *)x].cost, b = c[*(const size_t *)y].cost;
    if (a != b)
        return a > b ? -1 : 1;
    return *(const size_t *)x < *(const size_t *)y ? -1 : 1;
}

/* Free what a chunk read (not its arena's blocks: the state owns the arenas). */
static void clear_chunk(uf_chunk *c)
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

void uf_run_chunks_free(uf_chunk *chunks, size_t n)
{
    for (size_t i = 0; chunks && i < n; i++)
        clear_chunk(&chunks[i]);
    free(chunks);
}

/* Most parts one file is cut into, whatever part_size says: each part opens the file and reads its header. */
#define MAX_PARTS_PER_FILE 4096
/* A gzip file is read whole by one worker and costs more per byte on disk: schedule it as this many bytes per byte. */
#define GZIP_COST_FACTOR 3

/* How one file is read: its size and modification time when planned (checked again after reading), its parts. */
typedef struct file_plan {
    bool known;              /* stat succeeded; when not, the read reports why */
    uint64_t size;
    struct timespec mtime;
    bool gzip;
    size_t parts;
} file_plan;

/* Plan `path`: 1 part unless it is a plain file bigger than 1.5 x part_size. */
static file_plan plan_file(const uf_config *config, const char *path)
{
    file_plan plan = {.parts = 1};
    struct stat st;
    if (stat(path, &st) != 0)
        return plan;
    plan.known = true;
    plan.size = (uint64_t)st.st_size;
    plan.mtime = st.st_mtim;
    uf_error ignored = {0};
    uf_stream *stream = uf_stream_open(path, &ignored); /* errors show when the file is read */
    plan.gzip = stream && uf_stream_is_gzip(stream);
    uf_stream_close(stream);
    if (!stream || plan.gzip || config->part_size == 0 || plan.size <= config->part_size + config->part_size / 2)
        return plan;
    uint64_t parts = (plan.size + config->part_size / 2) / config->part_size; /* >= 1 here */
    plan.parts = parts > MAX_PARTS_PER_FILE ? MAX_PARTS_PER_FILE : (size_t)parts;
    return plan;
}

/*
 * After every part is read: check that each part of a file started where
 * the one before it stopped (reading it again from there when not), turn
 * the parts' own line numbers into the file's, check JSONL members over the
 * whole file and that a file read in parts did not change meanwhile.
 */
static int finish_files(uf_run_state *state, uf_chunk *chunks, size_t n, const file_plan *plans, uf_error *err)
{
    const uf_config *config = state->config;
    for (size_t i = 0, fi = 0; i < n; i += chunks[i].parts, fi++) {
        uf_chunk *first = &chunks[i];
        const char *path = config->sources[first->source].paths[first->file];
        uint64_t base = 0, rows = 0;
        bool *seen = NULL;
        size_t seen_count = 0;
        for (size_t k = 0; k < first->parts; k++) {
            uf_chunk *c = &chunks[i + k];
            if (k > 0) {
                const uf_chunk *prev = c - 1;
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
        const file_plan *plan = &plans[fi];
        struct stat st;
        if (first->parts > 1 && (stat(path, &st) != 0 || (uint64_t)st.st_size != plan->size ||
                                 st.st_mtim.tv_sec != plan->mtime.tv_sec || st.st_mtim.tv_nsec != plan->mtime.tv_nsec))
            return uf_error_set(err, UF_ERR_IO,
                                "%s: the file changed while it was being read (%llu bytes when the run started); "
                                "run again once the export is complete",
                                path, (unsigned long long)plan->size);
        first->stats.files = 1;
        first->stats.parts = first->parts;
        first->stats.bytes = plan->size;
    }
    return UF_OK;
}

/* The held rejected rows, in chunk order: by source, file and line. */
static int write_rejects(const uf_config *config, const uf_chunk *chunks, size_t n, uf_error *err)
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

int uf_run_read_all(uf_run_state *state, uf_chunk **out_chunks, size_t *out_count, uf_error *err)
{
    const uf_config *config = state->config;
    size_t files = 0;
    for (size_t s = 0; s < config->source_count; s++) {
        if (config->sources[s].path_count == 0)
            return uf_error_set(err, UF_ERR_IO, "%s: no file matches (source '%s')", config->sources[s].pattern,
                                config->sources[s].name);
        files += config->sources[s].path_count;
    }
    file_plan *plans = calloc(files ? files : 1, sizeof *plans);
    if (!plans)
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory");
    size_t n = 0;
    for (size_t s = 0, fi = 0; s < config->source_count; s++)
        for (size_t f = 0; f < config->sources[s].path_count; f++, fi++) {
            plans[fi] = plan_file(config, config->sources[s].paths[f]);
            n += plans[fi].parts;
        }
    uf_chunk *chunks = calloc(n ? n : 1, sizeof *chunks);
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    state->arenas = calloc(n ? n : 1, sizeof *state->arenas);
    if (!chunks || !order || !state->arenas) {
        free(chunks);
        free(order);
        free(plans);
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory");
    }
    state->arena_count = n;
    size_t i = 0;
    for (size_t s = 0, fi = 0; s < config->source_count; s++) {
        for (size_t f = 0; f < config->sources[s].path_count; f++, fi++) {
            uint64_t size = plans[fi].size;
            size_t parts = plans[fi].parts;
            for (size_t k = 0; k < parts; k++, i++) {
                uf_chunk *c = &chunks[i];
                c->source = s;
                c->file = f;
                c->part = k;
                c->parts = parts;
                if (parts > 1)
                    c->range = (uf_ingest_range){.begin = size * k / parts,
                                                 .end = k + 1 < parts ? size * (k + 1) / parts : 0,
                                                 .align = k > 0};
                c->cost = parts > 1 ? (c->range.end ? c->range.end : size) - c->range.begin
                                    : size * (plans[fi].gzip ? GZIP_COST_FACTOR : 1);
                c->arena = &state->arenas[i];
                uf_arena_init(c->arena);
                order[i] = i;
            }
        }
    }
    qsort_r(order, n, sizeof *order, compare_chunk_cost, chunks);

    /* Opened (and truncated) first: a rejects file that cannot be written fails the run before the reading. */
    uf_rejects probe;
    int rc = uf_rejects_open(&probe, config->rejects_path, err);
    if (rc == UF_OK)
        rc = uf_rejects_close(&probe, err);
    if (rc != UF_OK) {
        uf_run_chunks_free(chunks, n);
        free(order);
        free(plans);
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
        uf_run_chunks_free(chunks, n);
        free(plans);
        return job.error.code ? job.error.code : UF_ERR_IO;
    }
    rc = finish_files(state, chunks, n, plans, err);
    free(plans);
    if (rc == UF_OK)
        rc = write_rejects(config, chunks, n, err);
    if (rc != UF_OK) {
        uf_run_chunks_free(chunks, n);
        return rc;
    }
    *out_chunks = chunks;
    *out_count = n;
    return UF_OK;
}
