/*
 * cmd_run.c — `unify run -c FILE [--report OUT.json] [--quiet]`: the nightly
 * job. The report goes to stderr (with per-stage progress when stderr is a
 * terminal) and, as JSON, to --report and the store's run log.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int uf_cmd_run(int argc, char **argv)
{
    const char *config_path = NULL;
    uf_run_options options = {.log = stderr, .progress = isatty(STDERR_FILENO)};
    for (int i = 1; i < argc; i++) {
        int took = uf_cli_take_config(argc, argv, &i, &config_path);
        if (took < 0)
            return UF_EXIT_USAGE;
        if (took)
            continue;
        if (strcmp(argv[i], "--report") == 0 && i + 1 < argc) {
            options.report_path = argv[++i];
        } else if (strcmp(argv[i], "--quiet") == 0) {
            options.log = NULL;
        } else if (strcmp(argv[i], "--progress") == 0) {
            options.progress = 1;
        } else if (strcmp(argv[i], "--help") == 0) {
            puts("usage: unify run -c CONFIG [--report FILE] [--quiet] [--progress]\n\n"
                 "Read every source, link and cluster the records and write one golden record\n"
                 "per customer into the store, in one transaction.\n"
                 "  --report FILE  also write the run report as JSON to FILE\n"
                 "  --quiet        print nothing unless the run fails\n"
                 "  --progress     print a line per stage even when stderr is not a terminal");
            return UF_EXIT_OK;
        } else {
            fprintf(stderr, "unify run: unknown option '%s'\n", argv[i]);
            return UF_EXIT_USAGE;
        }
    }
    uf_config *config = NULL;
    int rc = uf_cli_load_config(config_path, &config);
    if (rc != UF_EXIT_OK)
        return rc;
    uf_error err = {0};
    uf_run_summary summary;
    rc = uf_run(config, &options, &summary, &err) == UF_OK ? UF_EXIT_OK : uf_cli_fail(&err);
    uf_config_free(config);
    return rc;
}
