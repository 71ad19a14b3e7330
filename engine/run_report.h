/*
 * run_report.h — the report of a run: JSON for the run log and --report,
 * text for the person at the terminal. Both are built from the same
 * uf_run_state, so they always agree.
 */
#ifndef UF_RUN_REPORT_H
#define UF_RUN_REPORT_H

#include "json_out.h"
#include "run.h"

#include <stdio.h>

/* Clusters larger than this raise the cluster-size alarm in the report. */
#define UF_CLUSTER_ALARM_SIZE 100

/* Append the report JSON of `state` to `out`. `run_id` 0 = not yet known. */
void uf_run_report_json(const uf_run_state *state, uint64_t run_id, double total_seconds, uf_buf *out);

/* Print the human-readable report. */
void uf_run_report_text(const uf_run_state *state, uint64_t run_id, double total_seconds, FILE *out);

/* Peak resident set size of this process so far, in bytes. */
uint64_t uf_peak_rss_bytes(void);

#endif /* UF_RUN_REPORT_H */
