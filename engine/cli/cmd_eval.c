/*
 * cmd_eval.c — `unify eval -c FILE --truth TRUTH.csv [--json]`: pairwise
 * precision, recall and F1 of the stored clustering against a truth file,
 * with the worst over- and under-merges.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

int uf_cmd_eval(int argc, char **argv)
{
    const char *config_path = NULL, *truth = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        int took = uf_cli_take_config(argc, argv, &i, &config_path);
        if (took < 0)
            return UF_EXIT_USAGE;
        if (took)
            continue;
        if (strcmp(argv[i], "--truth") == 0 && i + 1 < argc) {
            truth = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--help") == 0) {
            puts("usage: unify eval -c CONFIG --truth TRUTH.csv [--json]\n\n"
                 "Score the stored clustering against TRUTH.csv (source,record_key,customer_id):\n"
                 "pairwise precision, recall and F1, cluster counts, worst over- and under-merges.\n"
                 "  --json  print the figures as one JSON object instead");
            return UF_EXIT_OK;
        } else {
            fprintf(stderr, "unify eval: unknown option '%s'\n", argv[i]);
            return UF_EXIT_USAGE;
        }
    }
    if (!truth) {
        fputs("unify eval: missing --truth FILE\n", stderr);
        return UF_EXIT_USAGE;
    }
    uf_config *config = NULL;
    int rc = uf_cli_load_config(config_path, &config);
    if (rc != UF_EXIT_OK)
        return rc;
    uf_store *store = NULL;
    rc = uf_cli_open_store(config, &store);
    if (rc == UF_EXIT_OK) {
        uf_error err = {0};
        uf_eval_result r;
        if (uf_eval(store, truth, json ? NULL : stdout, &r, &err) != UF_OK) {
            rc = uf_cli_fail(&err);
        } else if (json) {
            printf("{\"precision\":%.6f,\"recall\":%.6f,\"f1\":%.6f,\"correct_pairs\":%llu,\"predicted_pairs\":%llu,"
                   "\"true_pairs\":%llu,\"records_scored\":%llu,\"records_without_truth\":%llu,"
                   "\"truth_not_stored\":%llu,\"profiles\":%llu,\"true_customers\":%llu,\"largest_profile\":%llu}\n",
                   r.precision, r.recall, r.f1, (unsigned long long)r.correct_pairs,
                   (unsigned long long)r.predicted_pairs, (unsigned long long)r.true_pairs,
                   (unsigned long long)r.records_scored, (unsigned long long)r.records_without_truth,
                   (unsigned long long)r.truth_not_stored, (unsigned long long)r.clusters,
                   (unsigned long long)r.true_clusters, (unsigned long long)r.largest_cluster);
        }
    }
    uf_store_close(store);
    uf_config_free(config);
    return rc;
}
