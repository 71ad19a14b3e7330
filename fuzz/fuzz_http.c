/*
 * fuzz_http.c — the HTTP request handling of `unify serve` (serve.h:
 * uf_serve_handle, no sockets) on arbitrary requests, against a real store
 * built once from the bundled small fixture.
 *
 * Input: byte 0 picks the method (GET, HEAD, POST, ...) and whether an
 * Authorization header is sent; then the request target up to the first
 * newline; the rest is the Authorization header value. The server has a
 * token ("fuzz-token"), so both authorised and unauthorised paths run.
 *
 * Properties: no crash, no sanitizer report, no leak; the status is a
 * valid HTTP status; a body is present with its length; every error answer
 * (4xx/5xx, except HEAD) is a JSON object with an "error" member — new
 * routes added to serve.c are tolerated, since only the contract of
 * serve.h is checked.
 */
#include "fuzz_common.h"

#include "serve.h"
#include "unify.h"

#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define TOKEN "fuzz-token"

static uf_config *config;
static uf_store *store;
static uf_serve *server;
static char work_dir[64];

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    if (!in || !out) {
        fprintf(stderr, "fuzz_http: cannot copy %s to %s\n", from, to);
        abort();
    }
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    fclose(out);
}

static void teardown(void)
{
    uf_serve_free(server);
    uf_store_close(store);
    uf_config_free(config);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", work_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_http: could not remove %s\n", work_dir);
}

/* Copy the small fixture to a private folder, point its store there, run it once and open it. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char *const files[] = {"crm.csv", "web_accounts.jsonl", "store_loyalty.csv", "tickets.csv.gz",
                                        "app_installs.jsonl"};
    snprintf(work_dir, sizeof work_dir, "/tmp/uf-fuzz-http-XXXXXX");
    if (!mkdtemp(work_dir))
        abort();
    char from[512], to[512];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(from, sizeof from, "%s/fixtures/small/%s", UF_FUZZ_SOURCE_DIR, files[i]);
        snprintf(to, sizeof to, "%s/%s", work_dir, files[i]);
        copy_file(from, to);
    }
    /* The fixture's config with the store and rejects lines pointed into the folder. */
    snprintf(from, sizeof from, "%s/fixtures/small/unify.yaml", UF_FUZZ_SOURCE_DIR);
    snprintf(to, sizeof to, "%s/unify.yaml", work_dir);
    FILE *in = fopen(from, "r"), *out = fopen(to, "w");
    if (!in || !out)
        abort();
    char line[1024];
    while (fgets(line, sizeof line, in)) {
        if (strncmp(line, "  path: ../../var/small-store", 29) == 0)
            fputs("  path: store\n", out);
        else if (strncmp(line, "rejects:", 8) == 0)
            fputs("rejects: rejects.txt\n", out);
        else
            fputs(line, out);
    }
    fclose(in);
    fclose(out);

    uf_error err = {0};
    if (uf_config_load(to, &config, &err) != UF_OK || uf_run(config, &(uf_run_options){0}, NULL, &err) != UF_OK ||
        uf_store_open(uf_config_store_path(config), &store, &err) != UF_OK ||
        uf_serve_new(store, config, TOKEN, &server, &err) != UF_OK) {
        fprintf(stderr, "fuzz_http: setting up the store failed: %s\n", err.message);
        abort();
    }
    atexit(teardown);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "get", ""};
    if (size < 1)
        return 0;
    const char *method = methods[data[0] % 8];
    int auth_mode = (data[0] >> 3) % 3; /* 0 none, 1 the right token, 2 the input's header */
    const uint8_t *rest = data + 1, *nl = memchr(rest, '\n', size - 1);
    size_t target_len = nl ? (size_t)(nl - rest) : size - 1;
    char *target = malloc(target_len + 1);
    memcpy(target, rest, target_len);
    target[target_len] = '\0';
    char *auth = NULL;
    if (auth_mode == 1) {
        auth = strdup("Bearer " TOKEN);
    } else if (auth_mode == 2 && nl) {
        size_t alen = size - 1 - target_len - 1;
        auth = malloc(alen + 1);
        memcpy(auth, nl + 1, alen);
        auth[alen] = '\0';
    }

    uf_serve_response resp;
    memset(&resp, 0, sizeof resp);
    uf_serve_handle(server, method, target, auth, &resp);
    FUZZ_CHECK(resp.status >= 100 && resp.status <= 599, "status %d", resp.status);
    FUZZ_CHECK(resp.header_count <= UF_SERVE_MAX_HEADERS, "%zu headers", resp.header_count);
    FUZZ_CHECK(resp.body != NULL || resp.len == 0, "a body length without a body");
    if (resp.status >= 400 && resp.body && resp.len && strcmp(method, "HEAD") != 0)
        FUZZ_CHECK(resp.len >= 2 && resp.body[0] == '{' && memmem(resp.body, resp.len, "\"error\"", 7) != NULL,
                   "error %d without a JSON error body: %.*s", resp.status, (int)(resp.len < 200 ? resp.len : 200),
                   resp.body);
    uf_serve_response_free(&resp);
    free(target);
    free(auth);
    return 0;
}
