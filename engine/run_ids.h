/*
 * run_ids.h — the stable-id stage of a run (rules in run_ids.c).
 */
#ifndef UF_RUN_IDS_H
#define UF_RUN_IDS_H

#include "run.h"

struct uf_store_writer;

/*
 * Give every cluster of `state` a golden id, reading the previous generation
 * through `writer` (before its write transaction begins). Fills
 * golden_of_cluster, next_golden_id, the merge/split counters and the
 * redirects to write.
 */
int uf_run_assign_ids(uf_run_state *state, struct uf_store_writer *writer, uf_error *err);

#endif /* UF_RUN_IDS_H */
