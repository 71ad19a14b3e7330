/*
 * cmd_lookup.c — `unify lookup`: who is this customer? Prints the golden
 * record as JSON (exit 0) or says clearly that nothing holds the value
 * (exit 3). Input is normalized as in the run, so a phone typed any way
 * finds the stored E.164 number.
 *
 * When a weak identifier (a household landline) belongs to several
 * profiles, all of them are printed: {"ambiguous":true,"profiles":[...]}.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MATCHES 64

static int usage(FILE *out)
{
    fputs("usage: unify lookup -c CONFIG (--email X | --phone X | --id KIND=VALUE | --golden ID |\n"
          "                                --record SOURCE:KEY)\n\n"
          "Print the golden record holding the identifier as JSON. Exit 0 when found,\n"
          "3 when not found. A value shared by several profiles prints them all.\n",
          out);
    return out == stdout ? UF_EXIT_OK : UF_EXIT_USAGE;
}

static int print_profile(uf_store *store, uint64_t id, uint64_t *resolved, uf_error *err)
{
    char *json = NULL;
    size_t len = 0;
    int rc = uf_store_profile_json(store, id, &json, &len, resolved, err);
    if (rc == UF_OK) {
        fwrite(json, 1, len, stdout);
        free(json);
    }
    return rc;
}

/*
 * Fetch every profile first, print only when all were read: the identifier
 * and the profiles are read in separate snapshots, and a run committing in
 * between must not leave half a JSON document on stdout. UF_ERR_NOT_FOUND
 * here means such a commit happened; the caller looks up again.
 */
static int print_ids(uf_store *store, const uint64_t *ids, size_t count, uf_error *err)
{
    char *json[MAX_MATCHES];
    size_t len[MAX_MATCHES];
    size_t got = 0;
    int rc = UF_OK;
    for (; got < count && rc == UF_OK; got++)
        rc = uf_store_profile_json(store, ids[got], &json[got], &len[got], NULL, err);
    if (rc != UF_OK)
        got--;
    if (rc == UF_OK && count == 1) {
        fwrite(json[0], 1, len[0], stdout);
        putchar('\n');
    } else if (rc == UF_OK) {
        printf("{\"ambiguous\":true,\"count\":%zu,\"profiles\":[", count);
        for (size_t i = 0; i < count; i++) {
            if (i)
                putchar(',');
            fwrite(json[i], 1, len[i], stdout);
        }
        puts("]}");
    }
    for (size_t i = 0; i < got; i++)
        free(json[i]);
    return rc;
}

int uf_cmd_lookup(int argc, char **argv)
{
    const char *config_path = NULL, *kind = NULL, *value = NULL, *golden = NULL, *record = NULL;
    char kind_buf[128];
    int selectors = 0;
    for (int i = 1; i < argc; i++) {
        int took = uf_cli_take_config(argc, argv, &i, &config_path);
        if (took < 0)
            return UF_EXIT_USAGE;
        if (took)
            continue;
        const char *opt = argv[i];
        if (strcmp(opt, "--help") == 0)
            return usage(stdout);
        if (i + 1 >= argc) {
            fprintf(stderr, "unify lookup: %s needs a value\n", opt);
            return UF_EXIT_USAGE;
        }
        const char *arg = argv[++i];
        selectors++;
        if (strcmp(opt, "--email") == 0) {
            kind = "email";
            value = arg;
        } else if (strcmp(opt, "--phone") == 0) {
            kind = "phone";
            value = arg;
        } else if (strcmp(opt, "--id") == 0) {
            const char *eq = strchr(arg, '=');
            if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof kind_buf) {
                fprintf(stderr, "unify lookup: --id takes KIND=VALUE, e.g. --id loyalty_card=6012345678\n");
                return UF_EXIT_USAGE;
            }
            memcpy(kind_buf, arg, (size_t)(eq - arg));
            kind_buf[eq - arg] = '\0';
            kind = kind_buf;
            value = eq + 1;
        } else if (strcmp(opt, "--golden") == 0) {
            golden = arg;
        } else if (strcmp(opt, "--record") == 0) {
            record = arg;
        } else {
            fprintf(stderr, "unify lookup: unknown option '%s'\n", opt);
            return usage(stderr);
        }
    }
    if (selectors != 1) {
        fputs("unify lookup: give exactly one of --email, --phone, --id, --golden, --record\n", stderr);
        return UF_EXIT_USAGE;
    }
    uf_config *config = NULL;
    int rc = uf_cli_load_config(config_path, &config);
    if (rc != UF_EXIT_OK)
        return rc;
    uf_error err = {0};
    uf_store *store = NULL;
    int st = uf_store_open(uf_config_store_path(config), &store, &err);
    if (st != UF_OK) {
        /* No store (or an unreadable one) is an error, not "nothing holds the value":
         * exit 3 must only ever mean the lookup itself found nothing. */
        uf_config_free(config);
        return uf_cli_fail(&err);
    }
    {
        if (golden) {
            uint64_t id, resolved = 0;
            st = uf_golden_id_parse(golden, &id);
            if (st != UF_OK) {
                uf_cli_error(&err, st, "'%s' is not a golden id (expected e.g. G000000042)", golden);
            } else {
                st = print_profile(store, id, &resolved, &err);
                if (st == UF_OK) {
                    putchar('\n');
                    if (resolved != id) {
                        char to[24];
                        uf_golden_id_format(resolved, to);
                        fprintf(stderr, "unify: %s was merged into %s\n", golden, to);
                    }
                } else if (st == UF_ERR_NOT_FOUND) {
                    uf_cli_error(&err, st, "not found: no profile has golden id %s", golden);
                }
            }
        } else if (record) {
            const char *colon = strchr(record, ':');
            uint64_t id;
            if (!colon || colon == record) {
                st = UF_ERR_INVALID;
                uf_cli_error(&err, st, "--record takes SOURCE:KEY, e.g. --record crm:C0001234");
            } else {
                char source[256];
                size_t n = (size_t)(colon - record) < sizeof source ? (size_t)(colon - record) : sizeof source - 1;
                memcpy(source, record, n);
                source[n] = '\0';
                st = uf_store_find_record(store, source, colon + 1, &id, &err);
                if (st == UF_OK)
                    st = print_ids(store, &id, 1, &err);
                else if (st == UF_ERR_NOT_FOUND)
                    uf_cli_error(&err, st, "not found: no record %s in the store", record);
            }
        } else {
            uint64_t ids[MAX_MATCHES];
            size_t count = 0;
            /* Twice at most: a run may commit between finding the ids and reading the profiles. */
            for (int attempt = 0; attempt < 2; attempt++) {
                st = uf_lookup_identifier(store, config, kind, value, ids, MAX_MATCHES, &count, &err);
                if (st == UF_OK)
                    st = print_ids(store, ids, count < MAX_MATCHES ? count : MAX_MATCHES, &err);
                if (st != UF_ERR_NOT_FOUND)
                    break;
            }
            if (st == UF_ERR_NOT_FOUND)
                uf_cli_error(&err, st, "not found: no profile holds %s '%s'", kind, value);
        }
        uf_store_close(store);
    }
    uf_config_free(config);
    if (st == UF_ERR_NOT_FOUND) {
        fprintf(stderr, "unify: %s\n", err.message);
        return UF_EXIT_NOT_FOUND;
    }
    return st == UF_OK ? UF_EXIT_OK : uf_cli_fail(&err);
}
