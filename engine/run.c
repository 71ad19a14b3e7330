/*
 * run.c — `unify run`: the stages of run.h, in order, timed, with the report.
 *
 * The store's writer lock is taken first, so a second run fails at once
 * with UF_ERR_BUSY instead of after minutes of reading. Nothing is written
 * until every source has been read and linked; the write stage is one LMDB
 * transaction.
 */
#include "run.h"

#include "parallel.h"

#include "link.h"
#include "run_ids.h"
#include "run_links.h"
#include "run_report.h"
#include "run_write.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>


typedef struct stage_clock {
    uf_run_state *state;
    const uf_run_options *options;
    double started;
} stage_clock;

static void stage_end(stage_clock *clock, const char *name)
{
    double t = uf_now_seconds();
    uf_run_state *state = clock->state;
    if (state->stage_count < UF_STAGE_COUNT) {
        uf_stage_time *st = &state->stages[state->stage_count++];
        st->name = name;
        st->seconds = t - clock->started;
        st->peak_rss_bytes = uf_peak_rss_bytes();
        if (clock->options && clock->options->progress && clock->options->log) {
            fprintf(clock->options->log, "unify: %-7s %6.2fs  peak RSS %4.0f MiB\n", name, st->seconds,
                    (double)st->peak_rss_bytes / (1 << 20));
            fflush(clock->options->log);
        }
    }
    clock->started = t;
}

/*
 * Give the pages of freed memory back to the system. The readers' growing
 * arrays and the link stage's scratch leave tens of MiB free but resident
 * inside malloc's heaps (below their tops, so never trimmed on their own);
 * the write stage, where LMDB adds up to 512 MiB of dirty pages, is the
 * run's memory peak, so it should not start with them (~27 MiB at 1 M
 * customers). Cheap: one pass over malloc's free lists.
 */
static void release_free_memory(void)
{
    malloc_trim(0);
}

void uf_run_state_free(uf_run_state *state)
{
    for (size_t i = 0; i < state->arena_count; i++)
        uf_arena_free(&state->arenas[i]);
    free(state->arenas);
    free(state->table.records);
    free(state->table.identifiers);
    free(state->table.cmp);
    free(state->source_stats);
    free(state->superseded);
    free(state->source_rank);
    uf_clustering_free(&state->clustering);
    free(state->edge_start);
    free(state->golden_of_cluster);
    free(state->redirect_from);
    free(state->redirect_to);
    memset(state, 0, sizeof *state);
}

static int link_stage(uf_run_state *state, uf_error *err)
{
    uf_linker *linker = uf_linker_new(state->config, &state->table, err);
    if (!linker)
        return err && err->code ? err->code : UF_ERR_NOMEM;
    int rc = uf_linker_link_identifiers(linker, &state->table, state->config->threads, err);
    if (rc == UF_OK && state->config->matching.enabled) {
        state->matched = true;
        rc = uf_match_run(state->config, &state->table, linker, state->config->threads, &state->model,
                          &state->match_stats, err);
    }
    if (rc == UF_OK)
        rc = uf_linker_finish(linker, &state->clustering, err);
    state->link_stats = *uf_linker_stats(linker);
    uf_linker_free(linker);
    /* Only the link guards and the matcher read the records' names and dates of birth. */
    free(state->table.cmp);
    state->table.cmp = NULL;
    return rc;
}

/*
 * The previous generation's golden id of every record is read beside the
 * link stage: the scan of the old record index (~0.3-0.5 s at 1 M
 * customers, mostly waiting on memory) needs only the sorted record table,
 * and the link stage leaves a core idle in its single-threaded parts.
 */
typedef struct previous_join {
    const uf_run_state *state;
    uf_store_writer *writer;
    uf_run_previous previous;
    int rc;
    uf_error err;
} previous_join;

static void *join_main(void *arg)
{
    previous_join *j = arg;
    j->rc = uf_run_join_previous(j->state, j->writer, &j->previous, &j->err);
    return NULL;
}

/*
 * The edges (why records are together) go to the store's links database
 * for `explain`: grouped by profile while the cluster of every record is
 * known, and freed as soon as the write stage has written them (before the
 * profiles, the run's memory peak). The grouping runs on its own thread
 * while the ids are assigned: the two read different parts of the
 * clustering (cluster_of and the edges; the members), and each took
 * ~0.1 s of one core at 1 M customers.
 */
typedef struct links_grouping {
    uf_run_state *state;
    int rc;
    uf_error err;
} links_grouping;

static void *group_main(void *arg)
{
    links_grouping *g = arg;
    g->rc = uf_links_group(&g->state->clustering, &g->state->edge_start, &g->err);
    return NULL;
}

/*
 * Check that the report file can be written before the run touches the
 * store: a run that fails must leave the store as it was, so a report path
 * that cannot be written must fail the run here, not after the commit.
 * *created tells whether the probe created the file (removed again if the
 * run fails). An existing report is not truncated until the run succeeds.
 */
static int probe_report_file(const char *path, bool *created, uf_error *err)
{
    *created = false;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
        *created = true;
    } else if (errno == EEXIST) {
        fd = open(path, O_WRONLY | O_CLOEXEC);
    }
    if (fd < 0)
        return uf_error_set(err, UF_ERR_IO, "%s: cannot write report: %s", path, strerror(errno));
    close(fd);
    return UF_OK;
}

static int write_report_file(const char *path, const char *json, size_t len, uf_error *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return uf_error_set(err, UF_ERR_IO, "%s: cannot write report: %s", path, strerror(errno));
    bool ok = fwrite(json, 1, len, f) == len && fputc('\n', f) != EOF;
    if (fclose(f) != 0)
        ok = false;
    return ok ? UF_OK : uf_error_set(err, UF_ERR_IO, "%s: cannot write report: %s", path, strerror(errno));
}

int uf_run(const uf_config *config, const uf_run_options *options, uf_run_summary *summary, uf_error *err)
{
    double t0 = uf_now_seconds();
    uf_run_state state;
    memset(&state, 0, sizeof state);
    state.config = config;
    stage_clock clock = {&state, options, t0};
    uf_buf report;
    uf_buf_init(&report);
    uint64_t run_id = 0;

    bool report_created = false;
    int rc = UF_OK;
    if (options && options->report_path && (rc = probe_report_file(options->report_path, &report_created, err)) != UF_OK)
        return rc;
    uf_store_writer *writer = NULL;
    rc = uf_store_writer_open(config->store_path, config->map_size, &writer, err);
    if (rc == UF_OK)
        uf_store_writer_set_max_map_size(writer, config->max_map_size);
    if (rc != UF_OK) {
        if (report_created)
            unlink(options->report_path);
        return rc;
    }

    rc = uf_run_ingest(&state, err);
    stage_end(&clock, "ingest");
    previous_join join = {.state = &state, .writer = writer};
    uf_write_plan plan = {0};
    uf_task join_task = {0};
    if (rc == UF_OK) {
        uf_task_start(&join_task, join_main, &join);
        rc = link_stage(&state, err);
        stage_end(&clock, "link");
    }
    uf_task_finish(&join_task);
    if (rc == UF_OK && join.rc != UF_OK) {
        rc = join.rc;
        if (err)
            *err = join.err;
    }
    if (rc == UF_OK) {
        links_grouping grouping = {.state = &state};
        uf_task group_task;
        uf_task_start(&group_task, group_main, &grouping);
        rc = uf_run_assign_ids(&state, &join.previous, writer, err);
        /* The write stage's plan needs the ids only: work it out while the links are grouped. */
        if (rc == UF_OK)
            rc = uf_run_write_plan(&state, &plan, err);
        uf_task_finish(&group_task);
        if (rc == UF_OK && grouping.rc != UF_OK) {
            rc = grouping.rc;
            if (err)
                *err = grouping.err;
        }
        stage_end(&clock, "ids");
    }
    uf_run_previous_free(&join.previous);
    if (rc == UF_OK) {
        /* The stored report is complete up to the write stage, which it is part of. */
        uint64_t expected_run = uf_store_writer_last_run_id(writer) + 1;
        uf_run_report_json(&state, expected_run, uf_now_seconds() - t0, &report);
        if (report.failed)
            rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory building the report");
    }
    if (rc == UF_OK) {
        release_free_memory();
        rc = uf_run_write(&state, &plan, writer, report.data, report.len, &run_id, err);
        stage_end(&clock, "write");
    }
    uf_store_writer_close(writer);

    double total = uf_now_seconds() - t0;
    if (rc == UF_OK) {
        if (options && options->log)
            uf_run_report_text(&state, run_id, total, options->log);
        if (options && options->report_path) {
            uf_buf_reset(&report);
            uf_run_report_json(&state, run_id, total, &report);
            rc = write_report_file(options->report_path, uf_buf_cstr(&report), report.len, err);
            if (rc != UF_OK && err) {
                /* Say plainly that the store did change. */
                size_t used = strlen(err->message);
                snprintf(err->message + used, sizeof err->message - used, " (run %" PRIu64 " was committed)",
                         run_id);
            }
        }
        if (summary) {
            summary->run_id = run_id;
            summary->records = state.table.count;
            summary->profiles = state.clustering.cluster_count;
            summary->seconds = total;
        }
    } else if (report_created) {
        unlink(options->report_path); /* the probe's empty file: this run wrote no report */
    }
    uf_buf_free(&report);
    uf_run_write_plan_free(&plan); /* a run that stopped before the write stage */
    uf_run_state_free(&state);
    return rc;
}
