/*
 * run_write.h — the write stage of a run (see run_write.c).
 */
#ifndef UF_RUN_WRITE_H
#define UF_RUN_WRITE_H

#include "run.h"

struct uf_store_writer;

/*
 * Write the generation held by `state` (profiles, identifier index, record
 * index, redirects) and the run report in one transaction and commit it.
 * On any failure nothing is committed and the previous generation stays.
 */
int uf_run_write(uf_run_state *state, struct uf_store_writer *writer, const char *report, size_t report_len,
                 uint64_t *run_id, uf_error *err);

#endif /* UF_RUN_WRITE_H */
