/*
 * run_ids.h — the stable-id stage of a run (rules in run_ids.c).
 */
#ifndef UF_RUN_IDS_H
#define UF_RUN_IDS_H

#include "run.h"

struct uf_store_writer;

/* What the previous generation said about this run's records. */
typedef struct uf_run_previous {
    uint64_t *golden_of_record;  /* per record id: its previous golden id, 0 = new (NULL: none read) */
    uint64_t profile_count;      /* profiles (distinct golden ids) of the previous generation */
} uf_run_previous;

/*
 * Read the previous generation's (source, key) -> golden id table through
 * `writer` (before its write transaction begins) and join it with the
 * records of state->table, which must be in canonical order. Reads only the
 * record table and the configuration, so it may run beside the link stage
 * (run.c does). On failure *out is empty.
 */
int uf_run_join_previous(const uf_run_state *state, struct uf_store_writer *writer, uf_run_previous *out,
                         uf_error *err);
void uf_run_previous_free(uf_run_previous *previous);

/*
 * Give every cluster of `state` a golden id from the joined `previous`
 * generation and the counters of `writer`. Fills golden_of_cluster,
 * next_golden_id, the merge/split counters and the redirects to write.
 */
int uf_run_assign_ids(uf_run_state *state, const uf_run_previous *previous, struct uf_store_writer *writer,
                      uf_error *err);

#endif /* UF_RUN_IDS_H */
