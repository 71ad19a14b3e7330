/*
 * cmd_export.c — `unify export -c FILE [--members OUT.csv] [--profiles OUT.jsonl]`:
 * the store's records (source,record_key,golden_id) and golden records as
 * files. "-" writes to standard output.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int export_to(const char *path, uf_store *store, int (*fn)(uf_store *, FILE *, uf_error *))
{
    uf_error err = {0};
    FILE *out = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (!out) {
        uf_cli_error(&err, UF_ERR_IO, "%s: cannot open for writing: %s", path, strerror(errno));
        return uf_cli_fail(&err);
    }
    int rc = fn(store, out, &err);
    if (out != stdout && fclose(out) != 0 && rc == UF_OK)
        uf_cli_error(&err, rc = UF_ERR_IO, "%s: %s", path, strerror(errno));
    return rc == UF_OK ? UF_EXIT_OK : uf_cli_fail(&err);
}

int uf_cmd_export(int argc, char **argv)
{
    const char *config_path = NULL, *members = NULL, *profiles = NULL, *model = NULL;
    for (int i = 1; i < argc; i++) {
        int took = uf_cli_take_config(argc, argv, &i, &config_path);
        if (took < 0)
            return UF_EXIT_USAGE;
        if (took)
            continue;
        if (strcmp(argv[i], "--members") == 0 && i + 1 < argc) {
            members = argv[++i];
        } else if (strcmp(argv[i], "--profiles") == 0 && i + 1 < argc) {
            profiles = argv[++i];
        } else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
            model = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0) {
            puts("usage: unify export -c CONFIG [--members OUT.csv] [--profiles OUT.jsonl] [--model OUT.json]\n\n"
                 "  --members FILE   source,record_key,golden_id for every record (CSV)\n"
                 "  --profiles FILE  every golden record, one JSON object per line\n"
                 "  --model FILE     the scored-matching model of the stored run (for matching.parameters)\n"
                 "FILE may be - for standard output.");
            return UF_EXIT_OK;
        } else {
            fprintf(stderr, "unify export: unknown option '%s'\n", argv[i]);
            return UF_EXIT_USAGE;
        }
    }
    if (!members && !profiles && !model) {
        fputs("unify export: give --members FILE, --profiles FILE and/or --model FILE\n", stderr);
        return UF_EXIT_USAGE;
    }
    uf_config *config = NULL;
    int rc = uf_cli_load_config(config_path, &config);
    if (rc != UF_EXIT_OK)
        return rc;
    uf_store *store = NULL;
    rc = uf_cli_open_store(config, &store);
    if (rc == UF_EXIT_OK && members)
        rc = export_to(members, store, uf_export_members);
    if (rc == UF_EXIT_OK && profiles)
        rc = export_to(profiles, store, uf_export_profiles);
    if (rc == UF_EXIT_OK && model)
        rc = export_to(model, store, uf_export_model);
    uf_store_close(store);
    uf_config_free(config);
    return rc;
}
