/*
 * run.h — the stages of `unify run`, as separate functions over one state.
 *
 *   ingest  (run_read.c,    every file in parallel (big ones in parts)
 *            run_ingest.c)  → canonical record table
 *   link    (link.c)        identifiers → guarded union-find → clusters
 *   ids     (run_ids.c)     stable golden ids against the previous generation
 *   write   (run_write.c)   golden records and indexes → one LMDB write txn
 *   report  (run_report.c)  what happened, as JSON and as text
 *
 * Each stage reads what the earlier ones left in uf_run_state and adds its
 * own part; none keeps global state, so stages can be tested alone and, in a
 * distributed future, run per partition.
 */
#ifndef UF_RUN_H
#define UF_RUN_H

#include "arena.h"
#include "config.h"
#include "ingest.h"
#include "link.h"
#include "match.h"
#include "records.h"

#define UF_STAGE_COUNT 6

typedef struct uf_stage_time {
    const char *name;
    double seconds;
    uint64_t peak_rss_bytes;   /* process peak RSS at the end of the stage */
} uf_stage_time;

typedef struct uf_run_state {
    const uf_config *config;

    /* ingest */
    uf_arena *arenas;                 /* blob storage, one per file read */
    size_t arena_count;
    uf_record_table table;            /* records in canonical (source name, key) order */
    uf_source_stats *source_stats;    /* per source, config order */
    uint64_t *superseded;             /* per source: rows replaced by a newer row with the same key */
    uint16_t *source_rank;            /* per source: rank of its name in byte order */
    uint64_t ingest_parts_reread;     /* parts read again: a quoted field spanned their guessed start */

    /* link */
    uf_clustering clustering;
    uint32_t *edge_start;             /* clustering.edges grouped by cluster (run_links.h) until written */
    uf_link_stats link_stats;
    bool matched;                     /* scored matching ran (config matching.enabled) */
    uf_match_stats match_stats;
    uf_fs_model model;                /* the model scored links were weighed with */

    /* ids */
    uint64_t *golden_of_cluster;      /* per cluster */
    uint64_t next_golden_id;
    uint64_t merges, splits, kept_ids, new_ids, vanished_ids;
    uint64_t *redirect_from, *redirect_to;   /* sorted by from */
    size_t redirect_count;

    uf_stage_time stages[UF_STAGE_COUNT];
    size_t stage_count;
} uf_run_state;

/* Read every source in parallel into state->table (canonical order). */
int uf_run_ingest(uf_run_state *state, uf_error *err);

/* Free everything the state holds. */
void uf_run_state_free(uf_run_state *state);

#endif /* UF_RUN_H */
