/*
 * run_write.c — the write stage: golden records and every index, appended
 * in key order inside ONE LMDB write transaction.
 *
 * The links of every profile (run_links.h) and the profiles (survive.c)
 * are encoded by worker threads in batches of clusters and appended by the
 * calling thread in golden-id order, so encoding on one core overlaps with
 * LMDB on the other: first every links batch, then, after the identifier
 * and record indexes, every profile batch. Profiles are stored in the
 * compact binary form of profile_codec.h (about a third of their JSON),
 * with the schema of names that renders them, in the same transaction. A
 * bounded ring of batches keeps memory flat: a worker waits when it is too
 * far ahead of the writer.
 *
 * If the map turns out too small (MDB_MAP_FULL), the transaction is aborted
 * and the whole generation is written again with a doubled estimate; the
 * previous generation is untouched until the final commit.
 */
#include "run_write.h"

#include "run_links.h"

#include "parallel.h"
#include "sort.h"
#include "store.h"
#include "survive.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define BATCH_CLUSTERS 2048
/* Batches a worker may build ahead of the writer while it appends profiles. */
#define RING_SLOTS 8
/* ...and while the writer is still busy with the identifier and record
 * indexes: one worker uses the spare core time to build profiles ahead.
 * Each batch held costs memory at the run's peak (a batch built on a worker
 * and freed on the writer's thread stays in the worker's malloc arena): at
 * 1 M customers 64 slots (~13 % of the profiles) peak at 950-991 MiB, 128
 * slots at 952 or 1 040 MiB from run to run, 192 at 1 041-1 049 MiB
 * (2026-12-06, store format 3). Consumed batches are released. */
#define PREBUILD_SLOTS 64

struct golden_order {
    uint64_t golden_id;
    uint32_t cluster;
};
typedef struct golden_order golden_order;

typedef struct batch_slot {
    size_t batch;          /* which batch the slot holds */
    bool ready;
    int rc;
    uf_error err;
    uf_buf values;         /* the batch's links or binary profiles, back to back */
    size_t ends[BATCH_CLUSTERS]; /* end offset of each cluster's value in values (links: empty for one record) */
} batch_slot;

/* What the writer is doing, which decides how far workers may run ahead. */
typedef enum writer_phase {
    WRITING_LINKS,         /* appending links batches */
    WRITING_INDEXES,       /* the identifier and record indexes: one worker builds profiles ahead */
    WRITING_PROFILES
} writer_phase;

/* Batches 0 .. link_batches-1 encode links, the rest profiles (same cluster ranges). */
typedef struct profile_pipeline {
    uf_run_state *state;
    const golden_order *order;
    size_t link_batches;   /* 0 when the run keeps no links */
    size_t batch_count;
    batch_slot *slots;     /* PREBUILD_SLOTS of them */
    size_t next_batch;     /* next batch a worker takes */
    size_t consumed;       /* batches the writer has finished */
    size_t building;       /* workers building a batch right now */
    writer_phase phase;
    bool stop;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    pthread_t tids[16];
    size_t started;
    /* Bytes the last links [0] and profiles [1] batch took, with an eighth to spare: a new batch's
     * buffer is sized from it at once instead of doubling from 256 bytes (each doubling below
     * malloc's mmap threshold copied it: 30 M instructions of memcpy in a 100 k run). */
    atomic_size_t batch_bytes[2];
} profile_pipeline;

#define ROW_AHEAD 8
#define BLOB_AHEAD 4
#define PREFETCH_MEMBERS 16

static void prefetch_cluster(const uf_run_state *state, uint32_t c, bool blobs)
{
    const uf_clustering *cl = &state->clustering;
    const uf_record_table *t = &state->table;
    size_t from = cl->member_start[c], to = cl->member_start[c + 1];
    if (to - from > PREFETCH_MEMBERS)
        to = from + PREFETCH_MEMBERS;
    for (size_t m = from; m < to; m++) {
        uf_record_id r = cl->members[m];
        if (r >= t->count)
            continue;
        if (!blobs) {
            __builtin_prefetch(&t->records[r]);
            continue;
        }
        const unsigned char *blob = t->records[r].blob;
        for (uint32_t off = 0; off < t->records[r].blob_len; off += 64)
            __builtin_prefetch(blob + off);
    }
}

static void build_batch(profile_pipeline *p, uf_survivor *survivor, batch_slot *slot, size_t batch)
{
    const uf_clustering *cl = &p->state->clustering;
    bool links = batch < p->link_batches;
    size_t begin = (links ? batch : batch - p->link_batches) * BATCH_CLUSTERS, end = begin + BATCH_CLUSTERS;
    if (end > cl->cluster_count)
        end = cl->cluster_count;
    uf_buf_reset(&slot->values);
    slot->rc = UF_OK;
    size_t expected = atomic_load_explicit(&p->batch_bytes[!links], memory_order_relaxed);
    if (expected && !uf_buf_reserve(&slot->values, expected))
        slot->rc = uf_error_set(&slot->err, UF_ERR_NOMEM, "out of memory building profiles");
    for (size_t i = begin; i < end && slot->rc == UF_OK; i++) {
        /* Clusters are scattered over the record table: start loading the
         * rows of a later cluster, and the blobs of a nearer one (whose rows
         * are in cache by now), so survive finds its members loaded. */
        if (i + ROW_AHEAD < cl->cluster_count)
            prefetch_cluster(p->state, p->order[i + ROW_AHEAD].cluster, false);
        if (i + BLOB_AHEAD < cl->cluster_count)
            prefetch_cluster(p->state, p->order[i + BLOB_AHEAD].cluster, true);
        uint32_t c = p->order[i].cluster;
        if (!links) {
            slot->rc = uf_survive_profile_binary(survivor, &p->state->table, cl->members + cl->member_start[c],
                                                 cl->member_start[c + 1] - cl->member_start[c], &slot->values,
                                                 &slot->err);
        } else if (cl->member_start[c + 1] - cl->member_start[c] >= 2) {
            uf_links_encode(p->state->config, &p->state->table, cl, p->state->edge_start, c, &slot->values);
            if (slot->values.failed)
                slot->rc = uf_error_set(&slot->err, UF_ERR_NOMEM, "out of memory encoding links");
        }
        slot->ends[i - begin] = slot->values.len;
    }
    atomic_store_explicit(&p->batch_bytes[!links], slot->values.len + slot->values.len / 8, memory_order_relaxed);
}

/* May a worker take the next batch now? (lock held) */
static bool may_take(const profile_pipeline *p)
{
    if (p->phase == WRITING_INDEXES)
        return p->building == 0 && p->next_batch < p->consumed + PREBUILD_SLOTS;
    return p->next_batch < p->consumed + RING_SLOTS;
}

static void *profile_worker(void *arg)
{
    profile_pipeline *p = arg;
    uf_survivor *survivor = uf_survivor_new(p->state->config);
    pthread_mutex_lock(&p->lock);
    for (;;) {
        /* Take the next batch once its ring slot has been consumed. */
        while (!p->stop && p->next_batch < p->batch_count && !may_take(p))
            pthread_cond_wait(&p->changed, &p->lock);
        if (p->stop || p->next_batch >= p->batch_count)
            break;
        size_t batch = p->next_batch++;
        batch_slot *slot = &p->slots[batch % PREBUILD_SLOTS];
        p->building++;
        pthread_mutex_unlock(&p->lock);
        if (survivor) {
            build_batch(p, survivor, slot, batch);
        } else {
            slot->rc = uf_error_set(&slot->err, UF_ERR_NOMEM, "out of memory building profiles");
        }
        pthread_mutex_lock(&p->lock);
        p->building--;
        slot->batch = batch;
        slot->ready = true;
        pthread_cond_broadcast(&p->changed);
    }
    pthread_mutex_unlock(&p->lock);
    uf_survivor_free(survivor);
    return NULL;
}

/* Stop the workers (if any) and release the pipeline. */
static void stop_profiles(profile_pipeline *p)
{
    if (!p->slots)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    for (size_t t = 0; t < p->started; t++)
        pthread_join(p->tids[t], NULL);
    for (size_t i = 0; i < PREBUILD_SLOTS; i++)
        uf_buf_free(&p->slots[i].values);
    free(p->slots);
    p->slots = NULL;
    pthread_cond_destroy(&p->changed);
    pthread_mutex_destroy(&p->lock);
}

/* Start building profiles; the writer appends them later with write_profiles. */
static int start_profiles(profile_pipeline *p, uf_run_state *state, const golden_order *order, uf_error *err)
{
    memset(p, 0, sizeof *p);
    atomic_init(&p->batch_bytes[0], 0);
    atomic_init(&p->batch_bytes[1], 0);
    p->state = state;
    p->order = order;
    size_t batches = (state->clustering.cluster_count + BATCH_CLUSTERS - 1) / BATCH_CLUSTERS;
    p->link_batches = state->edge_start && state->clustering.edges ? batches : 0;
    p->batch_count = p->link_batches + batches;
    p->phase = p->link_batches ? WRITING_LINKS : WRITING_INDEXES;
    p->slots = calloc(PREBUILD_SLOTS, sizeof *p->slots);
    if (!p->slots)
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory building profiles");
    for (size_t i = 0; i < PREBUILD_SLOTS; i++)
        uf_buf_init(&p->slots[i].values);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->changed, NULL);
    size_t workers = state->config->threads > 1 ? (size_t)state->config->threads : 1;
    if (workers > 16)
        workers = 16;
    for (; p->started < workers; p->started++)
        if (pthread_create(&p->tids[p->started], NULL, profile_worker, p) != 0)
            break;
    if (p->started == 0) {
        stop_profiles(p);
        return uf_error_set(err, UF_ERR_NOMEM, "cannot start profile threads");
    }
    return UF_OK;
}

static void set_phase(profile_pipeline *p, writer_phase phase)
{
    pthread_mutex_lock(&p->lock);
    p->phase = phase;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

/* Append batches [from, to) as they are built: links or profiles, keyed by golden id. */
static int append_batches(profile_pipeline *p, uf_store_writer *w, size_t from, size_t to, uf_error *err)
{
    size_t clusters = p->state->clustering.cluster_count;
    int rc = UF_OK;
    for (size_t batch = from; rc == UF_OK && batch < to; batch++) {
        batch_slot *slot = &p->slots[batch % PREBUILD_SLOTS];
        pthread_mutex_lock(&p->lock);
        while (!(slot->ready && slot->batch == batch))
            pthread_cond_wait(&p->changed, &p->lock);
        pthread_mutex_unlock(&p->lock);
        if (slot->rc != UF_OK) {
            rc = slot->rc;
            if (err)
                *err = slot->err;
            break;
        }
        bool links = batch < p->link_batches;
        size_t begin = (links ? batch : batch - p->link_batches) * BATCH_CLUSTERS, start = 0;
        size_t n = clusters - begin < BATCH_CLUSTERS ? clusters - begin : BATCH_CLUSTERS;
        for (size_t i = 0; i < n && rc == UF_OK; i++) {
            const char *value = slot->values.data + start;
            size_t len = slot->ends[i] - start;
            uint64_t golden_id = p->order[begin + i].golden_id;
            if (!links)
                rc = uf_store_put_profile(w, golden_id, value, len, err);
            else if (len > 0)
                rc = uf_store_put_links(w, golden_id, value, len, err);
            start = slot->ends[i];
        }
        /* Slots are reused only every PREBUILD_SLOTS batches: give the memory back. */
        uf_buf_free(&slot->values);
        pthread_mutex_lock(&p->lock);
        slot->ready = false;
        p->consumed = batch + 1;
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);
    }
    return rc;
}

/*
 * The golden id of every record, in record order. The identifier refs are in
 * key order, so their records are random: one lookup table instead of two
 * dependent random reads (cluster, then golden id) per ref.
 */
static uint64_t *golden_of_records(const uf_run_state *state)
{
    size_t n = state->table.count;
    uint64_t *gid = malloc((n ? n : 1) * sizeof *gid);
    if (gid)
        for (size_t r = 0; r < n; r++)
            gid[r] = state->golden_of_cluster[state->clustering.cluster_of[r]];
    return gid;
}

/* How far ahead the loops below prefetch: enough loads in flight to hide memory latency. */
#define PREFETCH_AHEAD 16
#define IDENTIFIER_PREFETCH 32

/* identifier key → every golden id holding it; junk identifiers are not indexed. */
static int write_identifiers(uf_run_state *state, uf_store_writer *w, const uint64_t *gid_of_record, uf_error *err)
{
    const uf_record_table *t = &state->table;
    const uf_clustering *cl = &state->clustering;
    const uf_identifier_ref *refs = t->identifiers;
    size_t n_refs = t->identifier_count;
    uint64_t *ids = NULL;
    size_t ids_cap = 0, junk = 0, i = 0;
    int rc = UF_OK;
    while (rc == UF_OK && i < n_refs) {
        uf_key key = refs[i].key;
        size_t j = i;
        while (j < n_refs && uf_key_equal(refs[j].key, key))
            j++;
        while (junk < cl->junk_count && uf_key_compare(cl->junk[junk].key, key) < 0)
            junk++;
        bool is_junk = junk < cl->junk_count && uf_key_equal(cl->junk[junk].key, key);
        if (!is_junk && j - i > ids_cap) {
            uint64_t *grown = realloc(ids, (j - i) * sizeof *ids);
            if (!grown) {
                rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory writing identifiers");
                break;
            }
            ids = grown;
            ids_cap = j - i;
        }
        if (!is_junk) {
            size_t n = 0;
            for (size_t k = i; k < j; k++) {
                ids[n++] = gid_of_record[refs[k].record];
                /* Every ref's golden id is a random read: fetch each one ahead, not one per key. */
                if (k + IDENTIFIER_PREFETCH < n_refs)
                    __builtin_prefetch(&gid_of_record[refs[k + IDENTIFIER_PREFETCH].record]);
            }
            if (n > 1)
                qsort(ids, n, sizeof *ids, uf_compare_u64);
            for (size_t k = 0; k < n && rc == UF_OK; k++)
                if (k == 0 || ids[k] != ids[k - 1])
                    rc = uf_store_put_identifier(w, key, ids[k], err);
        }
        i = j;
    }
    free(ids);
    return rc;
}

/*
 * The record index is built on a thread of its own (store.h,
 * uf_record_blocks) while the writer writes the identifier index: both are
 * one core's work, and the other core would otherwise only build the few
 * profiles it may hold ahead (PREBUILD_SLOTS).
 */
typedef struct record_index_job {
    const uf_run_state *state;
    const uint64_t *gid_of_record;
    uf_record_blocks *blocks;
    int rc;
    uf_error err;
} record_index_job;

static void *build_record_index(void *arg)
{
    record_index_job *job = arg;
    const uf_run_state *state = job->state;
    const uf_record_table *t = &state->table;
    size_t sources = state->config->source_count;
    uf_slice *names = malloc((sources ? sources : 1) * sizeof *names);
    job->blocks = uf_record_blocks_new();
    if (!names || !job->blocks) {
        free(names);
        job->rc = uf_error_set(&job->err, UF_ERR_NOMEM, "out of memory building the record index");
        return NULL;
    }
    for (size_t s = 0; s < sources; s++)
        names[s] = uf_slice_cstr(state->config->sources[s].name);
    job->rc = UF_OK;
    for (size_t r = 0; r < t->count && job->rc == UF_OK; r++) {
        /* Blobs are in file order, records in key order: fetch ahead. */
        if (r + PREFETCH_AHEAD < t->count)
            __builtin_prefetch(t->records[r + PREFETCH_AHEAD].blob);
        const uf_record *rec = &t->records[r];
        job->rc = uf_record_blocks_add(job->blocks, names[rec->source], uf_record_key(rec), job->gid_of_record[r],
                                       &job->err);
    }
    free(names);
    return NULL;
}

/*
 * The record blobs, rows and cluster members, once every profile is in the
 * transaction: ~400 MiB at 1 M customers whose unmapping (~0.035 s) ran
 * after the commit on the calling thread, while the commit itself (LMDB
 * copying its pages into the page cache, ~0.3 s) keeps one core busy and
 * the other idle. What the report still reads (record and cluster counts,
 * cluster sizes) stays.
 */
static void *release_records(void *arg)
{
    uf_run_state *state = arg;
    for (size_t i = 0; i < state->arena_count; i++)
        uf_arena_free(&state->arenas[i]);
    free(state->arenas);
    state->arenas = NULL;
    state->arena_count = 0;
    free(state->table.records);
    state->table.records = NULL;
    free(state->clustering.members);
    state->clustering.members = NULL;
    return NULL;
}

static int write_model(uf_run_state *state, uf_store_writer *w, uf_error *err)
{
    if (!state->matched)
        return UF_OK;
    char small[1];
    size_t need = uf_fs_model_to_json(&state->model, small, sizeof small);
    char *json = malloc(need + 1);
    if (!json)
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory writing the matching model");
    uf_fs_model_to_json(&state->model, json, need + 1);
    int rc = uf_store_put_model(w, json, need, err);
    free(json);
    return rc;
}

/*
 * The indexes that need the identifier refs go first, so the refs (the
 * largest array of the run after the blobs) can be freed before the profiles
 * fill LMDB's dirty pages: that is where the run's memory peaks.
 */
static int write_generation(uf_run_state *state, uf_store_writer *w, const golden_order *order,
                            uint64_t **gid_of_record, bool *links_released, uint64_t estimate, const char *report,
                            size_t report_len, uint64_t *run_id, uf_error *err)
{
    /* A retry after MDB_MAP_FULL needs what the first attempt gave back to keep the peak low. */
    if (!*gid_of_record || *links_released)
        return uf_error_set(err, UF_ERR_STORE,
                            "%s: the store's map filled up after this run's %s released; "
                            "run again (the map has grown) or raise store.map_size",
                            state->config->store_path,
                            *links_released ? "links were" : "identifier index was");
    profile_pipeline profiles;
    int rc = start_profiles(&profiles, state, order, err);
    if (rc == UF_OK)
        rc = uf_store_writer_begin(w, estimate, err);
    if (rc == UF_OK) {
        uf_buf schema;
        uf_buf_init(&schema);
        rc = uf_survive_schema(state->config, &schema, err);
        if (rc == UF_OK)
            rc = uf_store_put_schema(w, schema.data, schema.len, err);
        uf_buf_free(&schema);
    }
    /* The links first: their memory (32 bytes a link) goes before the
     * indexes and profiles fill LMDB's dirty pages. golden id → links
     * value, for every profile of two or more records (run_links.h). */
    if (rc == UF_OK)
        rc = append_batches(&profiles, w, 0, profiles.link_batches, err);
    if (rc == UF_OK)
        set_phase(&profiles, WRITING_INDEXES);
    if (rc == UF_OK)
        rc = write_model(state, w, err);
    if (rc == UF_OK) {
        *links_released = state->clustering.edges != NULL;
        free(state->clustering.edges);
        state->clustering.edges = NULL;
        free(state->edge_start);
        state->edge_start = NULL;
        record_index_job records = {.state = state, .gid_of_record = *gid_of_record};
        uf_task records_task;
        uf_task_start(&records_task, build_record_index, &records);
        rc = write_identifiers(state, w, *gid_of_record, err);
        uf_task_finish(&records_task);
        if (rc == UF_OK && records.rc != UF_OK) {
            rc = records.rc;
            if (err)
                *err = records.err;
        }
        if (rc == UF_OK)
            rc = uf_store_put_record_blocks(w, records.blocks, err);
        uf_record_blocks_free(records.blocks);
    }
    if (rc == UF_OK) {
        free(state->table.identifiers);
        state->table.identifiers = NULL;
        state->table.identifier_count = 0;
        free(*gid_of_record);
        *gid_of_record = NULL;
        set_phase(&profiles, WRITING_PROFILES); /* every worker may build now */
        rc = append_batches(&profiles, w, profiles.link_batches, profiles.batch_count, err);
    }
    stop_profiles(&profiles);
    for (size_t i = 0; rc == UF_OK && i < state->redirect_count; i++)
        rc = uf_store_put_redirect(w, state->redirect_from[i], state->redirect_to[i], err);
    /* Nothing reads the records from here on: give them back on the core
     * the commit leaves idle, not after it. */
    uf_task releasing = {0};
    if (rc == UF_OK)
        uf_task_start(&releasing, release_records, state);
    if (rc == UF_OK)
        rc = uf_store_writer_commit(w, state->next_golden_id, report, report_len, run_id, err);
    uf_task_finish(&releasing);
    if (rc != UF_OK)
        uf_store_writer_abort(w);
    return rc;
}

int uf_run_write_plan(const uf_run_state *state, uf_write_plan *plan, uf_error *err)
{
    size_t clusters = state->clustering.cluster_count;
    plan->order = malloc((clusters ? clusters : 1) * sizeof *plan->order);
    plan->gid_of_record = golden_of_records(state);
    /* Golden-id order (radix: a qsort of a million entries took ~0.15 s). */
    uf_sort_pair *by_id = malloc((clusters ? clusters : 1) * sizeof *by_id);
    if (!plan->order || !plan->gid_of_record || !by_id) {
        free(by_id);
        uf_run_write_plan_free(plan);
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory ordering %zu profiles", clusters);
    }
    for (size_t c = 0; c < clusters; c++)
        by_id[c] = (uf_sort_pair){state->golden_of_cluster[c], (uint32_t)c};
    int rc = uf_sort_pairs(by_id, clusters, err);
    for (size_t i = 0; rc == UF_OK && i < clusters; i++)
        plan->order[i] = (golden_order){by_id[i].key, by_id[i].value};
    free(by_id);
    if (rc != UF_OK)
        uf_run_write_plan_free(plan);
    return rc;
}

void uf_run_write_plan_free(uf_write_plan *plan)
{
    free(plan->order);
    free(plan->gid_of_record);
    plan->order = NULL;
    plan->gid_of_record = NULL;
}

int uf_run_write(uf_run_state *state, uf_write_plan *plan, uf_store_writer *w, const char *report,
                 size_t report_len, uint64_t *run_id, uf_error *err)
{
    size_t clusters = state->clustering.cluster_count;
    /* Nothing reads the cluster of a record after the plan: give it back before LMDB's dirty pages grow. */
    free(state->clustering.cluster_of);
    state->clustering.cluster_of = NULL;

    /* Bytes the generation will take, generously: profiles dominate. */
    uint64_t estimate = (uint64_t)clusters * 1024 + (uint64_t)state->table.identifier_count * 48 +
                        (uint64_t)state->table.count * 64 + (uint64_t)state->redirect_count * 32 + (1u << 20);
    int rc = UF_OK;
    bool links_released = false;
    for (int attempt = 0; attempt < 4; attempt++) {
        rc = write_generation(state, w, plan->order, &plan->gid_of_record, &links_released, estimate, report,
                              report_len, run_id, err);
        if (rc == UF_OK || !uf_store_writer_map_full(w))
            break;
        estimate *= 2; /* the map was too small: write it all again in a bigger one */
    }
    uf_run_write_plan_free(plan);
    return rc;
}
