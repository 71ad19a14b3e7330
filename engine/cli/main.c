/*
 * main.c — entry point of the `unify` program: dispatch to a subcommand.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"check", uf_cmd_check, "validate the configuration and dry-read every source"},
    {"run", uf_cmd_run, "the nightly job: read, match, cluster, write golden records"},
    {"lookup", uf_cmd_lookup, "print the golden record holding an identifier"},
    {"export", uf_cmd_export, "write members (CSV) or profiles (JSONL) from the store"},
    {"eval", uf_cmd_eval, "score the stored clustering against a truth file"},
    {"explain", uf_cmd_explain, "why records are, or are not, in one profile"},
    {"serve", uf_cmd_serve, "answer lookups over HTTP (JSON) for agent applications"},
};

static void usage(FILE *out)
{
    fputs("usage: unify COMMAND -c CONFIG [options]\n\ncommands:\n", out);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs("\nRun 'unify COMMAND --help' for a command's options.\n", out);
}

int uf_cli_fail(const uf_error *err)
{
    fprintf(stderr, "unify: %s\n", err->message[0] ? err->message : uf_strerror(err->code));
    return UF_EXIT_ERROR;
}

void uf_cli_error(uf_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->code = code;
}

int uf_cli_open_store(const uf_config *config, uf_store **store)
{
    uf_error err = {0};
    if (uf_store_open(uf_config_store_path(config), store, &err) != UF_OK)
        return uf_cli_fail(&err);
    return UF_EXIT_OK;
}

int uf_cli_take_config(int argc, char **argv, int *i, const char **config_path)
{
    if (strcmp(argv[*i], "-c") != 0 && strcmp(argv[*i], "--config") != 0)
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "unify: %s needs a file\n", argv[*i]);
        return -1;
    }
    *config_path = argv[++*i];
    return 1;
}

int uf_cli_load_config(const char *path, uf_config **config)
{
    uf_error err = {0};
    if (!path) {
        fputs("unify: missing -c CONFIG\n", stderr);
        return UF_EXIT_USAGE;
    }
    if (uf_config_load(path, config, &err) != UF_OK)
        return uf_cli_fail(&err);
    return UF_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? UF_EXIT_USAGE : UF_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("unify %s\n", UF_VERSION_STRING);
        return UF_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "unify: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return UF_EXIT_USAGE;
}
