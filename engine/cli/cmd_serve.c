/*
 * cmd_serve.c — `unify serve`: the lookup API over HTTP for agent
 * applications (uf_server_start, include/unify.h). Binds to loopback
 * unless told otherwise; a bearer token from --token-file or UNIFY_TOKEN
 * protects every route but /healthz. Runs until SIGINT or SIGTERM.
 */
#include "cli.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKEN 4096

static int usage(FILE *out)
{
    fputs("usage: unify serve -c CONFIG [--listen HOST:PORT] [--token-file FILE] [--threads N] [--timeout SECONDS]\n"
          "                   [--cpus LIST]\n\n"
          "Answer lookups over HTTP (JSON): /v1/lookup?email=|phone=|id=KIND:VALUE|any=VALUE,\n"
          "/v1/profiles/{golden_id}, /v1/records/{source}/{key}, /v1/explain/{golden_id} (why a profile's\n"
          "records are together), /v1/explain?a=SOURCE:KEY&b=SOURCE:KEY (why two records are or are not),\n"
          "/healthz, /metrics, and a search page for agents at /. Listens on 127.0.0.1:8080 by default\n"
          "(port 0: any free port; the chosen one is printed). With --token-file FILE or the UNIFY_TOKEN\n"
          "environment variable every route but /healthz and the page needs 'Authorization: Bearer <token>'.\n"
          "A request must arrive whole within --timeout seconds (default 10) of its connection opening or of\n"
          "the previous answer; idle connections close after the same time. --cpus LIST keeps the server on\n"
          "those CPUs (taskset syntax: 0, 0-1, 0,2-3). Stops on SIGINT/SIGTERM.\n",
          out);
    return out == stdout ? UF_EXIT_OK : UF_EXIT_USAGE;
}

/* The token in `path` (first line, surrounding whitespace dropped); malloc'd, or NULL with a message. */
static char *read_token(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "unify serve: cannot read token file %s\n", path);
        return NULL;
    }
    char *buf = calloc(1, MAX_TOKEN + 2);
    size_t n = buf ? fread(buf, 1, MAX_TOKEN + 1, f) : 0;
    fclose(f);
    if (!buf)
        return NULL;
    if (n > MAX_TOKEN) {
        fprintf(stderr, "unify serve: token file %s is longer than %d bytes\n", path, MAX_TOKEN);
        free(buf);
        return NULL;
    }
    char *nl = strpbrk(buf, "\r\n");
    if (nl)
        *nl = '\0';
    size_t len = strlen(buf);
    while (len && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
        buf[--len] = '\0';
    size_t start = strspn(buf, " \t");
    if (!buf[start]) {
        fprintf(stderr, "unify serve: token file %s is empty\n", path);
        free(buf);
        return NULL;
    }
    memmove(buf, buf + start, strlen(buf + start) + 1);
    return buf;
}

static int parse_unsigned(const char *opt, const char *arg, unsigned max, unsigned *out)
{
    char *end = NULL;
    unsigned long v = strtoul(arg, &end, 10);
    if (!arg[0] || *end || v == 0 || v > max) {
        fprintf(stderr, "unify serve: %s takes a number from 1 to %u\n", opt, max);
        return 0;
    }
    *out = (unsigned)v;
    return 1;
}

static int is_loopback(const char *listen)
{
    return strncmp(listen, "127.", 4) == 0 || strncmp(listen, "[::1]:", 6) == 0 || strncmp(listen, "localhost:", 10) == 0;
}

int uf_cmd_serve(int argc, char **argv)
{
    const char *config_path = NULL, *token_file = NULL, *cpus = NULL;
    uf_server_options opt = {.listen = "127.0.0.1:8080", .threads = 2, .timeout_seconds = 10};
    for (int i = 1; i < argc; i++) {
        int took = uf_cli_take_config(argc, argv, &i, &config_path);
        if (took < 0)
            return UF_EXIT_USAGE;
        if (took)
            continue;
        const char *o = argv[i];
        if (strcmp(o, "--help") == 0)
            return usage(stdout);
        if (i + 1 >= argc) {
            fprintf(stderr, "unify serve: %s needs a value\n", o);
            return usage(stderr);
        }
        const char *arg = argv[++i];
        if (strcmp(o, "--listen") == 0) {
            opt.listen = arg;
        } else if (strcmp(o, "--token-file") == 0) {
            token_file = arg;
        } else if (strcmp(o, "--threads") == 0) {
            if (!parse_unsigned(o, arg, 64, &opt.threads))
                return UF_EXIT_USAGE;
        } else if (strcmp(o, "--cpus") == 0) {
            cpus = arg;
        } else if (strcmp(o, "--timeout") == 0) {
            if (!parse_unsigned(o, arg, 3600, &opt.timeout_seconds))
                return UF_EXIT_USAGE;
        } else {
            fprintf(stderr, "unify serve: unknown option '%s'\n", o);
            return usage(stderr);
        }
    }
    uf_config *config = NULL;
    int rc = uf_cli_load_config(config_path, &config);
    if (rc != UF_EXIT_OK)
        return rc;
    /* Before the server's threads start: they inherit the affinity. */
    rc = cpus ? uf_cli_pin_cpus("serve", cpus, stderr) : UF_EXIT_OK;
    if (rc != UF_EXIT_OK) {
        uf_config_free(config);
        return rc;
    }
    char *token = NULL;
    if (token_file) {
        token = read_token(token_file);
        if (!token) {
            uf_config_free(config);
            return UF_EXIT_ERROR;
        }
    } else if (getenv("UNIFY_TOKEN") && getenv("UNIFY_TOKEN")[0]) {
        token = strdup(getenv("UNIFY_TOKEN"));
    }
    uf_store *store = NULL;
    rc = uf_cli_open_store(config, &store);
    if (rc != UF_EXIT_OK) {
        free(token);
        uf_config_free(config);
        return rc;
    }
    /* Block the stop signals before the server's threads start, so that they inherit the mask
     * and only sigwait below sees them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    opt.token = token;
    uf_error err = {0};
    uf_server *server = NULL;
    if (uf_server_start(store, config, &opt, &server, &err) != UF_OK) {
        rc = err.code == UF_ERR_INVALID ? (fprintf(stderr, "unify serve: %s\n", err.message), UF_EXIT_USAGE)
                                        : uf_cli_fail(&err);
    } else {
        if (!token && !is_loopback(opt.listen))
            fprintf(stderr, "unify serve: warning: listening on %s without a token: anyone who can reach it "
                            "can read every profile (use --token-file or UNIFY_TOKEN)\n",
                    opt.listen);
        char host[300];
        snprintf(host, sizeof host, "%s", opt.listen);
        char *colon = strrchr(host, ':');
        if (colon)
            *colon = '\0';
        fprintf(stderr, "unify serve: listening on http://%s:%u (%s, %u threads)\n", host, uf_server_port(server),
                token ? "bearer token required" : "no authentication", opt.threads);
        fflush(stderr);
        int sig = 0;
        sigwait(&stop, &sig);
        fprintf(stderr, "unify serve: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
        uf_server_stop(server);
        rc = UF_EXIT_OK;
    }
    if (token) {
        memset(token, 0, strlen(token));
        free(token);
    }
    uf_store_close(store);
    uf_config_free(config);
    return rc;
}
