/*
 * cmd_explain.c — `unify explain`: why records are, or are not, in one
 * profile (include/unify.h: uf_store_explain, uf_explain_records).
 */
#include "cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE *out)
{
    fputs("usage: unify explain -c CONFIG --golden ID [--json]\n"
          "       unify explain -c CONFIG --record SOURCE:KEY --record SOURCE:KEY [--json]\n\n"
          "--golden: the links that hold a profile's records together — the identifier\n"
          "two records share, or a scored comparison with each field's level and weight.\n"
          "--record twice: the chain of links between two records of one profile, or why\n"
          "two records are in different profiles (read again from the current exports).\n"
          "Exit 0, or 3 when the profile or a record is not found.\n",
          out);
    return out == stdout ? UF_EXIT_OK : UF_EXIT_USAGE;
}

/* "crm:C0001" → source "crm", key "C0001" (source cut at 255 bytes). */
static bool split_record(const char *arg, char source[256], const char **key)
{
    const char *colon = strchr(arg, ':');
    if (!colon || colon == arg || (size_t)(colon - arg) > 255)
        return false;
    memcpy(source, arg, (size_t)(colon - arg));
    source[colon - arg] = '\0';
    *key = colon + 1;
    return true;
}

int uf_cmd_explain(int argc, char **argv)
{
    const char *config_path = NULL, *golden = NULL, *records[2] = {NULL, NULL};
    int record_count = 0;
    uf_explain_format format = UF_EXPLAIN_TEXT;
    for (int i = 1; i < argc; i++) {
        int took = uf_cli_take_config(argc, argv, &i, &config_path);
        if (took < 0)
            return UF_EXIT_USAGE;
        if (took)
            continue;
        const char *opt = argv[i];
        if (strcmp(opt, "--help") == 0)
            return usage(stdout);
        if (strcmp(opt, "--json") == 0) {
            format = UF_EXPLAIN_JSON;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "unify explain: %s needs a value\n", opt);
            return UF_EXIT_USAGE;
        }
        const char *arg = argv[++i];
        if (strcmp(opt, "--golden") == 0 && !golden) {
            golden = arg;
        } else if (strcmp(opt, "--record") == 0 && record_count < 2) {
            records[record_count++] = arg;
        } else {
            fprintf(stderr, "unify explain: unexpected option '%s'\n", opt);
            return usage(stderr);
        }
    }
    if (!!golden == (record_count > 0) || (record_count != 0 && record_count != 2)) {
        fputs("unify explain: give --golden ID, or --record twice\n", stderr);
        return UF_EXIT_USAGE;
    }
    char source[2][256];
    const char *key[2] = {NULL, NULL};
    for (int r = 0; r < record_count; r++) {
        if (!split_record(records[r], source[r], &key[r])) {
            fprintf(stderr, "unify explain: --record takes SOURCE:KEY, e.g. --record crm:C0001234 (got '%s')\n",
                    records[r]);
            return UF_EXIT_USAGE;
        }
    }
    uint64_t id = 0;
    uf_error err = {0};
    if (golden && uf_golden_id_parse(golden, &id) != UF_OK) {
        fprintf(stderr, "unify explain: '%s' is not a golden id (expected e.g. G000000042)\n", golden);
        return UF_EXIT_USAGE;
    }
    uf_config *config = NULL;
    int rc = uf_cli_load_config(config_path, &config);
    if (rc != UF_EXIT_OK)
        return rc;
    /* No store is an error (exit 1), not "not found": exit 3 means the profile or a record is missing. */
    uf_store *store = NULL;
    rc = uf_cli_open_store(config, &store);
    if (rc != UF_EXIT_OK) {
        uf_config_free(config);
        return rc;
    }
    char *out = NULL;
    size_t len = 0;
    int st = golden ? uf_store_explain(store, id, format, &out, &len, &err)
                    : uf_explain_records(config, store, source[0], key[0], source[1], key[1], format, &out, &len, &err);
    uf_store_close(store);
    uf_config_free(config);
    if (st == UF_OK) {
        fwrite(out, 1, len, stdout);
        if (format == UF_EXPLAIN_JSON)
            putchar('\n');
        free(out);
        return UF_EXIT_OK;
    }
    if (st == UF_ERR_NOT_FOUND) {
        fprintf(stderr, "unify: not found: %s\n", err.message);
        return UF_EXIT_NOT_FOUND;
    }
    return uf_cli_fail(&err);
}
