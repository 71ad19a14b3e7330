/*
 * cli.h — the `unify` program: one function per subcommand, each a thin
 * layer over include/unify.h. Exit codes are shared by every command.
 */
#ifndef UF_CLI_H
#define UF_CLI_H

#include "unify.h"

#include <stdio.h>

enum {
    UF_EXIT_OK = 0,
    UF_EXIT_ERROR = 1,      /* the command failed: message on stderr */
    UF_EXIT_USAGE = 2,      /* wrong arguments */
    UF_EXIT_NOT_FOUND = 3   /* a lookup found nothing */
};

/* Print "unify: <message>" to stderr and return UF_EXIT_ERROR. */
int uf_cli_fail(const uf_error *err);

/* Set `err` to `code` and a formatted message. */
void uf_cli_error(uf_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Parse `-c FILE` / `--config FILE` at argv[*i]; true when consumed. */
int uf_cli_take_config(int argc, char **argv, int *i, const char **config_path);

/* Load the configuration or print why not. */
int uf_cli_load_config(const char *path, uf_config **config);

int uf_cmd_check(int argc, char **argv);
int uf_cmd_run(int argc, char **argv);
int uf_cmd_lookup(int argc, char **argv);
int uf_cmd_export(int argc, char **argv);
int uf_cmd_eval(int argc, char **argv);
int uf_cmd_serve(int argc, char **argv);
int uf_cmd_explain(int argc, char **argv);

/*
 * --cpus LIST: keep this process and the threads it starts later on the CPUs
 * in LIST (taskset syntax: "1", "0-1", "0,2-3"; each must be one the process
 * may use now). Call before starting threads. Prints "unify COMMAND: on CPU
 * 1" to `log` when not NULL. Returns UF_EXIT_OK, UF_EXIT_USAGE for a bad or
 * unavailable list, UF_EXIT_ERROR when the kernel refuses; messages name
 * `command` and the list.
 */
int uf_cli_pin_cpus(const char *command, const char *list, FILE *log);

/* Open the store named by `config`, or print why not (returns an exit code). */
int uf_cli_open_store(const uf_config *config, uf_store **store);

#endif /* UF_CLI_H */
