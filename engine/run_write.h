/*
 * run_write.h — the write stage of a run (see run_write.c).
 */
#ifndef UF_RUN_WRITE_H
#define UF_RUN_WRITE_H

#include "run.h"

struct uf_store_writer;
struct golden_order;

/* What the write stage needs besides the state, worked out before it starts. */
typedef struct uf_write_plan {
    struct golden_order *order;  /* the clusters in golden-id order */
    uint64_t *gid_of_record;     /* the golden id of every record */
} uf_write_plan;

/*
 * Work out the plan from the golden ids (uf_run_assign_ids): reads the
 * clustering, changes nothing, so it may run while the links are grouped.
 * UF_ERR_NOMEM.
 */
int uf_run_write_plan(const uf_run_state *state, uf_write_plan *plan, uf_error *err);
void uf_run_write_plan_free(uf_write_plan *plan);

/*
 * Write the generation held by `state` (profiles, identifier index, record
 * index, redirects, links) and the run report in one transaction and commit
 * it, following `plan` (whose memory it releases as it goes). On any failure
 * nothing is committed and the previous generation stays.
 */
int uf_run_write(uf_run_state *state, uf_write_plan *plan, struct uf_store_writer *writer, const char *report,
                 size_t report_len, uint64_t *run_id, uf_error *err);

#endif /* UF_RUN_WRITE_H */
