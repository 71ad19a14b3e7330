/*
 * test_serve.c — `unify serve` end to end: the bundled fixture is run once
 * (each test gets a copy: t_prepared_copy), `unify serve --listen 127.0.0.1:0` is started on a free port
 * (the port is read from its "listening on" line), and a tiny socket client
 * written here (HTTP/1.1, Connection: close) asks it: lookups by e-mail,
 * phone and namespaced id (answers byte-identical to the C API), profiles,
 * source records (percent-decoded keys), a merged id's redirect while the
 * server keeps running across a new run, the 400/401/404/405/414/431
 * errors with their JSON codes, the bearer token (file and UNIFY_TOKEN),
 * /healthz and the Prometheus /metrics text. The request handler is also
 * called in-process (engine/serve.h), without sockets.
 */
#define T_PREPARED_FIXTURE /* t_prepared_copy: one run of the fixture per program */
#include "test_support.h"

#include "serve.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <sched.h>
#include <netinet/in.h>
#include <sys/socket.h>

static char *dir, *yaml, *store;

/* The fixture, run once. */
static void prepare(const char *d)
{
    t_fixture_small(d);
    char *y = t_fmt("%s/unify.yaml", d);
    t_proc p = t_unify("run", "-c", y, "--quiet");
    t_assert_ok(p, "unify run");
    t_proc_free(&p);
    free(y);
}

/* Every test: a fresh copy of the fixture, run once. */
static void setup(void)
{
    dir = t_mkdtemp("serve");
    t_prepared_copy(dir, prepare);
    yaml = t_fmt("%s/unify.yaml", dir);
    store = t_fmt("%s/store", dir);
}

static void teardown(void)
{
    t_rmtree(dir);
    free(dir);
    free(yaml);
    free(store);
}

TestSuite(serve, .init = setup, .fini = teardown, .timeout = 60);

/* ------------------------------------------------------------------ */
/* The server and a tiny HTTP client                                   */
/* ------------------------------------------------------------------ */

typedef struct server {
    t_child child;
    unsigned port;
} server;

/* Start `unify serve -c CONFIG --listen 127.0.0.1:0 [extra...]` and wait until it listens. */
static void server_start(server *s, const char *config, const char *extra1, const char *extra2)
{
    char *argv[] = {(char *)T_UNIFY, "serve", "-c", (char *)config, "--listen", "127.0.0.1:0",
                    (char *)extra1, (char *)extra2, NULL};
    t_child_start(&s->child, argv);
    const char prefix[] = "unify serve: listening on http://127.0.0.1:";
    bool up = t_child_wait_line(&s->child, prefix, 10);
    cr_assert(up, "unify serve did not start: %s", s->child.err.data);
    const char *at = strstr(s->child.err.data, prefix);
    s->port = (unsigned)strtoul(at + strlen(prefix), NULL, 10);
    cr_assert(s->port > 0 && s->port < 65536, "%s", s->child.err.data);
}

/* SIGTERM: the server must stop cleanly (exit 0). */
static void server_stop(server *s)
{
    kill(s->child.pid, SIGTERM);
    t_proc p = t_child_wait(&s->child);
    cr_expect_eq(p.exit_code, 0, "unify serve after SIGTERM: exit %d signal %d\n%s", p.exit_code, p.signal, p.err);
    t_proc_free(&p);
}

typedef struct reply {
    int status;
    char *head;   /* status line and headers (NUL-terminated) */
    char *body;   /* NUL-terminated */
    size_t body_len;
} reply;

static void reply_free(reply *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* Connect to the server on loopback (receive timeout 5 s). */
static int connect_to(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(fd >= 0, "socket: %s", strerror(errno));
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "connect: %s", strerror(errno));
    return fd;
}

/* Send `request` verbatim, read the whole answer (the server closes: Connection: close). */
static reply http_raw(unsigned port, const char *request, size_t len)
{
    int fd = connect_to(port);
    for (size_t sent = 0; sent < len;) {
        ssize_t n = send(fd, request + sent, len - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may answer (431) and close before reading everything */
        sent += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    t_buf in = {0};
    t_buf_add(&in, "", 0);
    char buf[8192];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
        t_buf_add(&in, buf, (size_t)n);
    close(fd);
    reply r = {0};
    char *sep = strstr(in.data, "\r\n\r\n");
    cr_assert_not_null(sep, "no HTTP answer to %.200s: got %.300s", request, in.data);
    r.head = strndup(in.data, (size_t)(sep - in.data) + 2);
    r.body = strdup(sep + 4);
    r.body_len = in.len - (size_t)(sep + 4 - in.data);
    cr_assert_eq(strncmp(r.head, "HTTP/1.1 ", 9), 0, "%s", r.head);
    r.status = atoi(r.head + 9);
    free(in.data);
    return r;
}

/* METHOD target with an optional Authorization header value. */
static reply http(unsigned port, const char *method, const char *target, const char *auth)
{
    char *req = auth ? t_fmt("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\nConnection: close\r\n\r\n",
                             method, target, auth)
                     : t_fmt("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", method, target);
    reply r = http_raw(port, req, strlen(req));
    free(req);
    return r;
}

#define GET(port, target) http((port), "GET", (target), NULL)

/* A header's value in r (case-insensitive name), copied to out; false when absent. */
static bool header(const reply *r, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *l = strstr(r->head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
        const char *h = l + 2;
        if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
            const char *v = h + n + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            snprintf(out, cap, "%.*s", (int)(e ? e - v : (long)strlen(v)), v);
            return true;
        }
    }
    return false;
}

/* An error reply: status, JSON body with the stable code. */
static void expect_error(reply r, int status, const char *code, const char *what)
{
    cr_expect_eq(r.status, status, "%s: status %d, expected %d: %s", what, r.status, status, r.body);
    char *want = t_fmt("{\"error\":{\"code\":\"%s\",\"message\":\"", code);
    cr_expect_eq(strncmp(r.body, want, strlen(want)), 0, "%s: body %s, expected code %s", what, r.body, code);
    cr_expect(t_json_valid(r.body, r.body_len), "%s: error body is not JSON: %s", what, r.body);
    char type[128] = "";
    cr_expect(header(&r, "Content-Type", type, sizeof type) && strncmp(type, "application/json", 16) == 0,
              "%s: Content-Type %s", what, type);
    free(want);
    reply_free(&r);
}

/* Percent-encode everything but unreserved characters. */
static char *pct(const char *s)
{
    t_buf b = {0};
    t_buf_add(&b, "", 0);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("-._~", *p)) {
            t_buf_add(&b, (const char *)p, 1);
        } else {
            char e[4];
            snprintf(e, sizeof e, "%%%02X", *p);
            t_buf_add(&b, e, 3);
        }
    }
    return b.data;
}

/* ------------------------------------------------------------------ */
/* Values from the fixture, confirmed in-process                       */
/* ------------------------------------------------------------------ */

typedef struct picked {
    char key[64], email[256], phone[64], shared_phone[64];
    uint64_t golden, email_golden, phone_golden;
    size_t shared_count;
    char *profile;          /* the C API's JSON for email_golden */
} picked;

/* A CRM row whose e-mail and phone each find exactly one profile, and a phone held by several. */
static picked pick_values(void)
{
    picked v;
    memset(&v, 0, sizeof v);
    uf_config *config = NULL;
    uf_store *s = NULL;
    uf_error err = {0};
    cr_assert_eq(uf_config_load(yaml, &config, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_open(store, &s, &err), UF_OK, "%s", err.message);
    char *path = t_fmt("%s/crm.csv", dir);
    size_t len;
    char *data = t_read_file(path, &len);
    t_row *rows;
    size_t n = t_split_rows(data, len, true, &rows);
    char *h[32];
    size_t hn = t_csv_fields(rows[0], ',', h, 32);
    int ck = t_column(h, hn, "customer_no"), ce = t_column(h, hn, "email"), cp = t_column(h, hn, "phone");
    cr_assert(ck >= 0 && ce >= 0 && cp >= 0);
    for (size_t i = 1; i < n && (!v.email[0] || !v.phone[0] || !v.shared_phone[0]); i++) {
        char *f[32];
        size_t fn = t_csv_fields(rows[i], ',', f, 32);
        uint64_t ids[16], rec = 0;
        size_t count = 0;
        if (fn == hn && strlen(f[ck]) < 64 && strlen(f[ce]) < 200 && strlen(f[cp]) < 64 &&
            uf_store_find_record(s, "crm", f[ck], &rec, &err) == UF_OK) {
            if (!v.email[0] && strchr(f[ce], '+') == NULL &&
                uf_lookup_identifier(s, config, "email", f[ce], ids, 16, &count, &err) == UF_OK && count == 1 &&
                ids[0] == rec) {
                strcpy(v.key, f[ck]);
                strcpy(v.email, f[ce]);
                v.golden = v.email_golden = rec;
            } else if (!v.phone[0] && uf_lookup_identifier(s, config, "phone", f[cp], ids, 16, &count, &err) == UF_OK &&
                       count == 1) {
                strcpy(v.phone, f[cp]);
                v.phone_golden = ids[0];
            } else if (!v.shared_phone[0] &&
                       uf_lookup_identifier(s, config, "phone", f[cp], ids, 16, &count, &err) == UF_OK && count >= 2 &&
                       count <= 16) {
                strcpy(v.shared_phone, f[cp]);
                v.shared_count = count;
            }
        }
        t_free_fields(f, fn);
    }
    cr_assert(v.email[0] && v.phone[0], "no usable CRM row in the fixture");
    cr_assert_eq(uf_store_profile_json(s, v.email_golden, &v.profile, NULL, NULL, &err), UF_OK, "%s", err.message);
    t_free_fields(h, hn);
    free(rows);
    free(data);
    free(path);
    uf_store_close(s);
    uf_config_free(config);
    return v;
}

static void expect_profile(reply r, uint64_t golden, const char *what)
{
    char g[24], got[24];
    uf_golden_id_format(golden, g);
    cr_expect_eq(r.status, 200, "%s: status %d: %s", what, r.status, r.body);
    if (r.status == 200) {
        cr_expect(t_json_valid(r.body, r.body_len), "%s: not JSON: %.500s", what, r.body);
        t_profile_golden(r.body, got);
        cr_expect_str_eq(got, g, "%s: found %s, expected %s", what, got, g);
    }
    reply_free(&r);
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

Test(serve, lookups_profiles_records_and_errors)
{
    picked v = pick_values();
    server s;
    server_start(&s, yaml, NULL, NULL);
    unsigned port = s.port;

    reply r = GET(port, "/healthz");
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "{\"status\":\"ok\",\"last_run_id\":1}\n");
    reply_free(&r);

    /* By e-mail: byte for byte what the C API renders (plus a newline); any case, encoded. */
    char *email = pct(v.email);
    char *target = t_fmt("/v1/lookup?email=%s", email);
    r = GET(port, target);
    cr_expect_eq(r.status, 200, "%s: %s", target, r.body);
    char *want = t_fmt("%s\n", v.profile);
    cr_expect_str_eq(r.body, want, "the HTTP profile differs from uf_store_profile_json");
    char type[128] = "", cache[64] = "";
    cr_expect(header(&r, "Content-Type", type, sizeof type));
    cr_expect_str_eq(type, "application/json; charset=utf-8");
    cr_expect(header(&r, "Cache-Control", cache, sizeof cache) && strcmp(cache, "no-store") == 0, "%s", r.head);
    reply_free(&r);
    free(want);
    free(target);
    char upper[256];
    for (size_t i = 0; i <= strlen(v.email); i++)
        upper[i] = (char)toupper((unsigned char)v.email[i]);
    char *up = pct(upper);
    target = t_fmt("/v1/lookup?email=%%20%s%%20", up);
    expect_profile(GET(port, target), v.email_golden, "upper-case e-mail with spaces");
    free(target);
    free(up);

    /* By phone, typed as in the export (spaces encoded as '+', form style). */
    char *phone = pct(v.phone);
    target = t_fmt("/v1/lookup?phone=%s", phone);
    expect_profile(GET(port, target), v.phone_golden, "phone");
    free(target);
    free(phone);

    /* A shared landline: every holder. */
    if (v.shared_phone[0]) {
        char *sp = pct(v.shared_phone);
        target = t_fmt("/v1/lookup?phone=%s", sp);
        r = GET(port, target);
        cr_expect_eq(r.status, 200);
        cr_expect_eq(strncmp(r.body, "{\"ambiguous\":true,", 18), 0, "%.200s", r.body);
        cr_expect_eq(t_count(r.body, "\"golden_id\":"), v.shared_count, "%.300s", r.body);
        cr_expect(t_json_valid(r.body, r.body_len));
        reply_free(&r);
        free(target);
        free(sp);
    } else {
        cr_log_warn("no shared landline in the fixture: ambiguity not checked");
    }

    /* By source record and by golden id. */
    target = t_fmt("/v1/records/crm/%s", v.key);
    expect_profile(GET(port, target), v.golden, "record");
    free(target);
    char g[24];
    uf_golden_id_format(v.golden, g);
    target = t_fmt("/v1/profiles/%s", g);
    r = GET(port, target);
    char merged[64];
    cr_expect_not(header(&r, "X-Unify-Merged-Into", merged, sizeof merged), "not merged: %s", r.head);
    expect_profile(r, v.golden, "profile");
    free(target);
    target = t_fmt("/v1/profiles/%" PRIu64, v.golden);
    expect_profile(GET(port, target), v.golden, "profile by number");
    free(target);
    /* HEAD: the headers only. */
    r = http(port, "HEAD", "/healthz", NULL);
    cr_expect_eq(r.status, 200);
    cr_expect_eq(r.body_len, 0);
    reply_free(&r);

    /* Errors, each with its stable code. */
    expect_error(GET(port, "/v1/lookup?email=nobody.anywhere.4711%40mailhost.net"), 404, "not_found", "unknown e-mail");
    expect_error(GET(port, "/v1/records/crm/NO-SUCH-KEY"), 404, "not_found", "unknown record");
    expect_error(GET(port, "/v1/records/nosuchsource/1"), 404, "not_found", "unknown source");
    expect_error(GET(port, "/v1/profiles/G999999999"), 404, "not_found", "unknown golden id");
    expect_error(GET(port, "/v1/profiles/G12x"), 400, "invalid_golden_id", "bad golden id");
    expect_error(GET(port, "/v1/lookup?email=test%40test.com"), 400, "invalid_identifier", "junk e-mail");
    expect_error(GET(port, "/v1/lookup?id=shoe_size:42"), 400, "invalid_identifier", "unknown kind");
    expect_error(GET(port, "/v1/lookup?id=nocolon"), 400, "bad_request", "id without a kind");
    expect_error(GET(port, "/v1/lookup"), 400, "bad_request", "no selector");
    expect_error(GET(port, "/v1/lookup?email=a%40b.org&phone=2125550123"), 400, "bad_request", "two selectors");
    expect_error(GET(port, "/v1/lookup?emial=a%40b.org"), 400, "bad_request", "unknown parameter");
    expect_error(GET(port, "/v1/lookup?email=a%4"), 400, "bad_request", "bad escape");
    expect_error(GET(port, "/v1/lookup?email=a%00b"), 400, "bad_request", "NUL byte");
    expect_error(GET(port, "/v1/nothing"), 404, "route_not_found", "unknown route");
    expect_error(GET(port, "/favicon.ico"), 404, "route_not_found", "favicon");
    expect_error(GET(port, "/v1/profiles/G1/extra"), 404, "route_not_found", "extra segment");
    expect_error(GET(port, "/v1/records/crm"), 404, "route_not_found", "record without key");
    r = http(port, "POST", "/v1/lookup?email=a%40b.org", NULL);
    char allow[64] = "";
    cr_expect(header(&r, "Allow", allow, sizeof allow) && strcmp(allow, "GET, HEAD") == 0, "%s", r.head);
    expect_error(r, 405, "method_not_allowed", "POST");
    expect_error(http(port, "DELETE", "/v1/profiles/G1", NULL), 405, "method_not_allowed", "DELETE");

    /* Limits: a long target is a JSON 414, headers over 8 KiB a JSON 431; up to the 16 KiB a
     * connection may hold (beyond, libmicrohttpd answers 431 itself, with an HTML body). */
    char *longq = malloc(3001);
    memset(longq, 'a', 3000);
    longq[3000] = '\0';
    target = t_fmt("/v1/lookup?email=%s%%40b.org", longq);
    expect_error(GET(port, target), 414, "uri_too_long", "long target");
    free(target);
    char *mid = t_fmt("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s%s%s\r\n\r\n", longq, longq, longq);
    expect_error(http_raw(port, mid, strlen(mid)), 431, "headers_too_large", "9 KB of headers");
    free(mid);
    char *big = t_fmt("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s%s%s%s%s%s%s%s%s%s%s%s\r\n\r\n", longq, longq,
                      longq, longq, longq, longq, longq, longq, longq, longq, longq, longq);
    r = http_raw(port, big, strlen(big));
    cr_expect_eq(r.status, 431, "36 KB of headers: %d", r.status);
    reply_free(&r);
    free(big);
    free(longq);

    /* The server is still fine, and counted all of it. */
    r = GET(port, "/metrics");
    cr_expect_eq(r.status, 200);
    cr_expect(header(&r, "Content-Type", type, sizeof type) && strncmp(type, "text/plain; version=0.0.4", 25) == 0,
              "%s", type);
    cr_expect(strstr(r.body, "\nunify_http_requests_total{route=\"lookup\",status=\"200\"} "), "%s", r.body);
    cr_expect(strstr(r.body, "\nunify_http_requests_total{route=\"lookup\",status=\"400\"} 8\n"), "%s", r.body);
    cr_expect(strstr(r.body, "\nunify_http_requests_total{route=\"other\",status=\"404\"} 3\n"), "%s", r.body);
    cr_expect(strstr(r.body, "\nunify_http_requests_total{route=\"other\",status=\"431\"} 1\n"), "%s", r.body);
    cr_expect(strstr(r.body, "\nunify_http_requests_total{route=\"profile\",status=\"405\"} 1\n"), "%s", r.body);
    cr_expect(strstr(r.body, "\nunify_http_requests_total{route=\"healthz\",status=\"200\"} 2\n"), "%s", r.body);
    cr_expect(strstr(r.body, "# TYPE unify_http_request_duration_seconds histogram\n"), "%s", r.body);
    cr_expect(strstr(r.body, "unify_http_request_duration_seconds_bucket{route=\"lookup\",le=\"+Inf\"} "), "%s", r.body);
    cr_expect(strstr(r.body, "\nunify_store_last_run_id 1\n"), "%s", r.body);
    /* Every line: a comment, or `name{labels} value` with a number. */
    for (char *l = r.body; *l;) {
        char *nl = strchr(l, '\n');
        cr_assert_not_null(nl, "metrics must end with a newline");
        *nl = '\0';
        if (l[0] != '#') {
            char *sp = strrchr(l, ' ');
            cr_expect(sp && sp > l, "metric line without a value: %s", l);
            char *end = NULL;
            strtod(sp + 1, &end);
            cr_expect(end && *end == '\0' && end > sp + 1, "metric value is not a number: %s", l);
            for (char *c = l; c < sp && *c != '{'; c++)
                cr_expect(isalnum((unsigned char)*c) || *c == '_', "bad metric name: %s", l);
        }
        l = nl + 1;
    }
    reply_free(&r);

    server_stop(&s);
    free(email);
    free(v.profile);
}

static const char merge_config[] = "store:\n  path: store\nrejects: rejects.txt\n"
                                   "identifiers:\n  email: {strength: strong}\n"
                                   "sources:\n  - name: people\n    path: people.csv\n    format: csv\n    key: key\n"
                                   "    fields:\n      email: email\n      email2: email\n      first: first_name\n"
                                   "      last: last_name\n";

Test(serve, redirects_and_encoded_keys_across_a_new_run)
{
    char *mdir = t_fmt("%s/merge", dir);
    cr_assert_eq(mkdir(mdir, 0700), 0);
    char *cfg = t_fmt("%s/unify.yaml", mdir), *csv = t_fmt("%s/people.csv", mdir);
    t_write_text(cfg, merge_config);
    t_write_text(csv, "key,email,email2,first,last\n"
                      "r1,alice.archer@mailhost.net,,Alice,Archer\n"
                      "r2,alice.archer@mailhost.net,,Alice,Archer\n"
                      "a/b c%,aarcher77@postbox.org,,Alice,Archer\n");
    t_proc p = t_unify("run", "-c", cfg, "--quiet");
    t_assert_ok(p, "run 1");
    t_proc_free(&p);

    server s;
    server_start(&s, cfg, NULL, NULL);
    reply r = GET(s.port, "/v1/records/people/r1");
    cr_assert_eq(r.status, 200, "%s", r.body);
    char x[24], y[24];
    t_profile_golden(r.body, x);
    reply_free(&r);
    /* A key with '/', ' ' and '%', percent-encoded in one path segment. */
    r = GET(s.port, "/v1/records/people/a%2Fb%20c%25");
    cr_assert_eq(r.status, 200, "encoded key: %s", r.body);
    t_profile_golden(r.body, y);
    cr_assert_str_neq(x, y);
    reply_free(&r);

    /* Run 2 while the server runs: r3 joins both e-mails, so the two profiles merge. */
    t_write_text(csv, "key,email,email2,first,last\n"
                      "r1,alice.archer@mailhost.net,,Alice,Archer\n"
                      "r2,alice.archer@mailhost.net,,Alice,Archer\n"
                      "a/b c%,aarcher77@postbox.org,,Alice,Archer\n"
                      "r3,alice.archer@mailhost.net,aarcher77@postbox.org,Alice,Archer\n");
    p = t_unify("run", "-c", cfg, "--quiet");
    t_assert_ok(p, "run 2");
    t_proc_free(&p);

    /* The merged-away id answers with the surviving profile and says so. */
    char *target = t_fmt("/v1/profiles/%s", y);
    r = GET(s.port, target);
    cr_expect_eq(r.status, 200, "%s", r.body);
    char got[24], into[64] = "", loc[96] = "";
    t_profile_golden(r.body, got);
    cr_expect_str_eq(got, x, "%s must answer with %s's profile: %.300s", y, x, r.body);
    cr_expect(header(&r, "X-Unify-Merged-Into", into, sizeof into), "no X-Unify-Merged-Into: %s", r.head);
    cr_expect_str_eq(into, x);
    char *want_loc = t_fmt("/v1/profiles/%s", x);
    cr_expect(header(&r, "Content-Location", loc, sizeof loc) && strcmp(loc, want_loc) == 0, "%s", r.head);
    free(want_loc);
    reply_free(&r);
    free(target);
    /* The explanation of a merged-away id is the surviving profile's, with the same headers. */
    target = t_fmt("/v1/explain/%s", y);
    r = GET(s.port, target);
    cr_expect_eq(r.status, 200, "%s", r.body);
    char *lead = t_fmt("{\"golden_id\":\"%s\",", x);
    cr_expect_eq(strncmp(r.body, lead, strlen(lead)), 0, "explain %s: %.300s", y, r.body);
    cr_expect(strstr(r.body, "\"links\":["), "%.300s", r.body);
    into[0] = '\0';
    cr_expect(header(&r, "X-Unify-Merged-Into", into, sizeof into) && strcmp(into, x) == 0, "%s", r.head);
    free(lead);
    reply_free(&r);
    free(target);
    r = GET(s.port, "/healthz");
    cr_expect_str_eq(r.body, "{\"status\":\"ok\",\"last_run_id\":2}\n", "the server sees the new run");
    reply_free(&r);
    server_stop(&s);
    free(cfg);
    free(csv);
    free(mdir);
}

Test(serve, bearer_token_from_file_and_environment)
{
    char *token_file = t_fmt("%s/token", dir);
    t_write_text(token_file, "s3cret-Token_42\n");
    server s;
    server_start(&s, yaml, "--token-file", token_file);
    cr_expect(strstr(s.child.err.data, "bearer token required"), "%s", s.child.err.data);

    reply r = GET(s.port, "/healthz");
    cr_expect_eq(r.status, 200, "/healthz needs no token: %d", r.status);
    reply_free(&r);
    /* The page holds no data: it is served without the token (it asks for one when the API refuses). */
    r = GET(s.port, "/");
    cr_expect_eq(r.status, 200, "the page needs no token: %d", r.status);
    cr_expect(strstr(r.body, "id=\"tokendlg\""), "the page has the token prompt");
    reply_free(&r);
    const char *targets[] = {"/v1/lookup?email=a%40b.org", "/v1/profiles/G1", "/v1/records/crm/x", "/metrics",
                             "/nowhere", "/v1/explain/G1", "/v1/explain?a=crm:x&b=crm:y"};
    for (size_t i = 0; i < UF_ARRAY_LEN(targets); i++) {
        r = GET(s.port, targets[i]);
        char www[64] = "";
        cr_expect(header(&r, "WWW-Authenticate", www, sizeof www) && strncmp(www, "Bearer", 6) == 0, "%s", r.head);
        expect_error(r, 401, "unauthorized", targets[i]);
        expect_error(http(s.port, "GET", targets[i], "Bearer s3cret-Token_4"), 401, "unauthorized", "short token");
        expect_error(http(s.port, "GET", targets[i], "Bearer s3cret-Token_42x"), 401, "unauthorized", "long token");
        expect_error(http(s.port, "GET", targets[i], "Basic s3cret-Token_42"), 401, "unauthorized", "other scheme");
    }
    r = http(s.port, "GET", "/v1/profiles/G1", "Bearer s3cret-Token_42");
    cr_expect_eq(r.status, 200, "right token: %d %s", r.status, r.body);
    reply_free(&r);
    r = http(s.port, "GET", "/v1/explain/G1", "Bearer s3cret-Token_42");
    cr_expect_eq(r.status, 200, "explain with the right token: %d %s", r.status, r.body);
    reply_free(&r);
    r = http(s.port, "GET", "/metrics", "bearer s3cret-Token_42");
    cr_expect_eq(r.status, 200, "the scheme is case-insensitive: %d", r.status);
    cr_expect(strstr(r.body, "unify_http_requests_total{route=\"profile\",status=\"401\"} 4\n"), "%s", r.body);
    reply_free(&r);
    server_stop(&s);

    /* The same token from UNIFY_TOKEN. */
    setenv("UNIFY_TOKEN", "from-env", 1);
    server_start(&s, yaml, NULL, NULL);
    unsetenv("UNIFY_TOKEN");
    expect_error(GET(s.port, "/v1/profiles/G1"), 401, "unauthorized", "env token missing");
    r = http(s.port, "GET", "/v1/profiles/G1", "Bearer from-env");
    cr_expect_eq(r.status, 200);
    reply_free(&r);
    server_stop(&s);

    /* An empty or missing token file is an error, not an open service. */
    t_write_text(token_file, "  \n");
    t_proc p = t_unify("serve", "-c", yaml, "--listen", "127.0.0.1:0", "--token-file", token_file);
    cr_expect_eq(p.exit_code, 1, "empty token file: exit %d %s", p.exit_code, p.err);
    cr_expect(strstr(p.err, "empty"), "%s", p.err);
    t_proc_free(&p);
    p = t_unify("serve", "-c", yaml, "--listen", "127.0.0.1:0", "--token-file", "/nonexistent/token");
    cr_expect_eq(p.exit_code, 1, "missing token file: exit %d", p.exit_code);
    t_proc_free(&p);
    free(token_file);
}

Test(serve, usage_and_startup_errors)
{
    t_proc p = t_unify("serve", "-c", yaml, "--listen", "nonsense");
    cr_expect_eq(p.exit_code, 2, "bad --listen: exit %d %s", p.exit_code, p.err);
    t_proc_free(&p);
    p = t_unify("serve", "-c", yaml, "--threads", "0");
    cr_expect_eq(p.exit_code, 2);
    t_proc_free(&p);
    p = t_unify("serve", "-c", yaml, "--bogus", "1");
    cr_expect_eq(p.exit_code, 2);
    t_proc_free(&p);
    p = t_unify("serve", "--listen", "127.0.0.1:0");
    cr_expect_eq(p.exit_code, 2, "no -c: exit %d", p.exit_code);
    t_proc_free(&p);
    /* No store yet: a clear error. */
    char *other = t_fmt("%s/other.yaml", dir), *nowhere = t_fmt("%s/never-written", dir);
    t_copy_file(yaml, other);
    t_config_set_paths(other, nowhere, "rejects2.txt");
    p = t_unify("serve", "-c", other, "--listen", "127.0.0.1:0");
    cr_expect_eq(p.exit_code, 1);
    cr_expect(strstr(p.err, "no store here"), "%s", p.err);
    t_proc_free(&p);
    free(other);
    free(nowhere);
}

/* The handler in-process: no sockets, the same answers. */
Test(serve, handler_in_process)
{
    cr_expect(uf_serve_token_equal("abc", 3, "abc", 3));
    cr_expect_not(uf_serve_token_equal("abd", 3, "abc", 3));
    cr_expect_not(uf_serve_token_equal("ab", 2, "abc", 3));
    cr_expect_not(uf_serve_token_equal("abcd", 4, "abc", 3));
    cr_expect_not(uf_serve_token_equal("", 0, "abc", 3));

    uf_config *config = NULL;
    uf_store *s = NULL;
    uf_error err = {0};
    cr_assert_eq(uf_config_load(yaml, &config, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_open(store, &s, &err), UF_OK, "%s", err.message);
    uf_serve *h = NULL;
    cr_assert_eq(uf_serve_new(s, config, "tok", &h, &err), UF_OK, "%s", err.message);
    uf_serve_response r;
    uf_serve_handle(h, "GET", "/v1/profiles/G1", NULL, &r);
    cr_expect_eq(r.status, 401);
    uf_serve_response_free(&r);
    uf_serve_handle(h, "GET", "/v1/profiles/G1", "Bearer tok", &r);
    cr_expect_eq(r.status, 200);
    cr_expect(t_json_valid(r.body, r.len));
    uf_serve_response_free(&r);
    uf_serve_handle(h, "GET", "/v1/records/crm/%zz", "Bearer tok", &r);
    cr_expect_eq(r.status, 400, "%s", r.body);
    uf_serve_response_free(&r);
    uf_serve_handle(h, "GET", "/healthz", NULL, &r);
    cr_expect_eq(r.status, 200);
    uf_serve_response_free(&r);
    uf_serve_handle(h, "GET", "/metrics", "Bearer tok", &r);
    cr_expect(strstr(r.body, "unify_http_requests_total{route=\"profile\",status=\"401\"} 1\n"), "%s", r.body);
    cr_expect(strstr(r.body, "unify_http_requests_total{route=\"record\",status=\"400\"} 1\n"), "%s", r.body);
    uf_serve_response_free(&r);
    uf_serve_free(h);
    uf_store_close(s);
    uf_config_free(config);
}

/* Read one answer (head + Content-Length body) from a kept-alive connection; its head in *head. */
static int read_one(int fd, char *head, size_t cap)
{
    size_t got = 0;
    char *end = NULL;
    while (!end && got + 1 < cap) {
        ssize_t n = recv(fd, head + got, cap - 1 - got, 0);
        if (n <= 0)
            return -1;
        got += (size_t)n;
        head[got] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    cr_assert_not_null(end, "no answer head");
    const char *cl = strcasestr(head, "\r\nContent-Length:");
    cr_assert_not_null(cl, "%s", head);
    size_t body = strtoul(cl + 17, NULL, 10), have = got - (size_t)(end + 4 - head);
    char sink[4096];
    while (have < body) {
        ssize_t n = recv(fd, sink, sizeof sink, 0);
        if (n <= 0)
            return -1;
        have += (size_t)n;
    }
    return atoi(head + 9);
}

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds until the server closes fd (recv returns 0 or fails), at most `limit`. */
static double seconds_until_closed(int fd, double limit, const char *dribble)
{
    double t0 = mono_seconds();
    struct timeval tv = {0, 100000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    double next_send = t0;
    char buf[512];
    while (mono_seconds() - t0 < limit) {
        if (dribble && mono_seconds() >= next_send) {
            if (send(fd, dribble, strlen(dribble), MSG_NOSIGNAL) < 0)
                return mono_seconds() - t0;
            next_send += 0.2;
        }
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return mono_seconds() - t0;
    }
    return limit;
}

Test(serve, keep_alive_page_and_slow_requests)
{
    server s;
    server_start(&s, yaml, "--timeout", "1");

    /* Two requests on one connection: the answer to a GET keeps it open. */
    int fd = connect_to(s.port);
    const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    char head[4096];
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(send(fd, req, sizeof req - 1, MSG_NOSIGNAL), (ssize_t)(sizeof req - 1));
        cr_expect_eq(read_one(fd, head, sizeof head), 200, "request %d on one connection: %s", i, head);
        cr_expect_null(strcasestr(head, "Connection: close"), "keep-alive: %s", head);
    }
    close(fd);

    /* The page: HTML with a strict content policy. */
    reply r = GET(s.port, "/");
    cr_expect_eq(r.status, 200);
    char type[512] = "";
    cr_expect(header(&r, "Content-Type", type, sizeof type) && strcmp(type, "text/html; charset=utf-8") == 0, "%s", type);
    cr_expect(header(&r, "Content-Security-Policy", type, sizeof type) && strstr(type, "default-src 'none'") &&
                  strstr(type, "frame-ancestors 'none'"),
              "%s", type);
    cr_expect(strstr(r.body, "<input id=\"q\""), "the search box");
    reply_free(&r);

    /* Slowloris: a header line every 0.2 s never idles, but the whole head must arrive within 1 s. */
    fd = connect_to(s.port);
    cr_assert_eq(send(fd, "GET /healthz HTTP/1.1\r\n", 23, MSG_NOSIGNAL), 23);
    double cut = seconds_until_closed(fd, 5, "X-Slow: a\r\n");
    cr_expect(cut >= 0.7 && cut < 2.5, "a dribbled request head was cut after %.2f s (timeout 1 s)", cut);
    close(fd);
    /* A connection that never sends a byte, and one idle after an answer: closed the same way. */
    fd = connect_to(s.port);
    cut = seconds_until_closed(fd, 5, NULL);
    cr_expect(cut >= 0.7 && cut < 2.5, "a silent connection was closed after %.2f s", cut);
    close(fd);
    fd = connect_to(s.port);
    cr_assert_eq(send(fd, req, sizeof req - 1, MSG_NOSIGNAL), (ssize_t)(sizeof req - 1));
    cr_expect_eq(read_one(fd, head, sizeof head), 200);
    cut = seconds_until_closed(fd, 5, NULL);
    cr_expect(cut >= 0.7 && cut < 2.5, "an idle kept-alive connection was closed after %.2f s", cut);
    close(fd);

    /* And the server still answers. */
    r = GET(s.port, "/healthz");
    cr_expect_eq(r.status, 200);
    reply_free(&r);
    server_stop(&s);
}

/* ?any=VALUE: the value tried as every identifier kind (the page's search box for bare values). */
Test(serve, lookup_any_kind)
{
    picked v = pick_values();
    uf_config *config = NULL;
    uf_store *s = NULL;
    uf_error err = {0};
    cr_assert_eq(uf_config_load(yaml, &config, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_open(store, &s, &err), UF_OK, "%s", err.message);
    uf_serve *h = NULL;
    cr_assert_eq(uf_serve_new(s, config, NULL, &h, &err), UF_OK, "%s", err.message);
    uf_serve_response r;
    char gid[24];
    uf_golden_id_format(v.golden, gid);
    char *target = t_fmt("/v1/lookup?any=%s", v.key); /* a CRM customer number, no kind given */
    uf_serve_handle(h, "GET", target, NULL, &r);
    cr_expect_eq(r.status, 200, "%s: %s", target, r.body);
    char *want = t_fmt("{\"golden_id\":\"%s\"", gid);
    cr_expect(r.body && strncmp(r.body, want, strlen(want)) == 0, "%s: %s", target, r.body);
    uf_serve_response_free(&r);
    free(want);
    free(target);
    char *email = pct(v.email);
    target = t_fmt("/v1/lookup?any=%s", email);
    uf_serve_handle(h, "GET", target, NULL, &r);
    cr_expect_eq(r.status, 200, "%s: %s", target, r.body);
    uf_serve_response_free(&r);
    free(target);
    free(email);
    uf_serve_handle(h, "GET", "/v1/lookup?any=ZZ-no-such-thing-42", NULL, &r);
    cr_expect_eq(r.status, 404, "%s", r.body);
    cr_expect(r.body && strstr(r.body, "\"code\":\"not_found\""), "%s", r.body);
    uf_serve_response_free(&r);
    uf_serve_handle(h, "GET", "/v1/lookup?any=a%40b.org&email=a%40b.org", NULL, &r);
    cr_expect_eq(r.status, 400, "%s", r.body);
    uf_serve_response_free(&r);
    uf_serve_free(h);
    uf_store_close(s);
    uf_config_free(config);
    free(v.profile);
}

/*
 * /v1/explain/{id} and /v1/explain?a=&b= on the fixture with scored matching
 * on (threshold 0.99, so scored links exist): the answers are the library's
 * (uf_store_explain, uf_explain_records) byte for byte, a scored link shows
 * its comparisons, unknown ids and records are 404, malformed requests 400,
 * and both routes are counted under their own names in /metrics.
 */
Test(serve, explain_routes)
{
    /* fixtures/small/unify.yaml has scored matching on. */
    size_t ylen;
    char *text = t_read_file(yaml, &ylen);
    cr_assert(strstr(text, "\nmatching:") != NULL, "the fixture's config has no matching section");
    free(text);
    t_proc p = t_unify("run", "-c", yaml, "--quiet");
    t_assert_ok(p, "unify run with scored matching");
    t_proc_free(&p);

    /* In-process: a profile with a scored link, its explanation, two of its records, and a record elsewhere. */
    uf_config *config = NULL;
    uf_store *st = NULL;
    uf_error err = {0};
    cr_assert_eq(uf_config_load(yaml, &config, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_open(store, &st, &err), UF_OK, "%s", err.message);
    uint64_t scored = 0;
    char *want = NULL;
    size_t want_len = 0;
    for (uint64_t id = 1; id < 3000 && !scored; id++) {
        char *json = NULL;
        if (uf_store_explain(st, id, UF_EXPLAIN_JSON, &json, &want_len, &err) != UF_OK)
            continue;
        if (strstr(json, "\"rule\":\"scored\"")) {
            scored = id;
            want = json;
        } else {
            free(json);
        }
    }
    cr_assert(scored, "no profile with a scored link in the fixture (threshold 0.99)");
    /* The records of the scored link: "a":I,"b":J index the "records" array. */
    const char *link = strstr(want, "\"rule\":\"scored\"");
    const char *ab = link;
    while (ab > want && strncmp(ab, "{\"a\":", 5) != 0)
        ab--;
    unsigned ia = 0, ib = 0;
    cr_assert_eq(sscanf(ab, "{\"a\":%u,\"b\":%u", &ia, &ib), 2, "%.200s", ab);
    char src[2][64], key[2][128];
    const char *rec = strstr(want, "\"records\":[");
    cr_assert_not_null(rec);
    const unsigned index[2] = {ia, ib};
    for (unsigned k = 0; k < 2; k++) {
        const char *r = rec;
        for (unsigned i = 0; i <= index[k]; i++)
            r = strstr(r + 1, "{\"source\":\"");
        cr_assert_not_null(r);
        cr_assert_eq(sscanf(r, "{\"source\":\"%63[^\"]\",\"key\":\"%127[^\"]\"", src[k], key[k]), 2, "%.200s", r);
    }
    char *pair_want = NULL;
    size_t pair_len = 0;
    cr_assert_eq(uf_explain_records(config, st, src[0], key[0], src[1], key[1], UF_EXPLAIN_JSON, &pair_want,
                                    &pair_len, &err),
                 UF_OK, "%s", err.message);
    /* A record of another profile (the first CRM record not in this one). */
    uint64_t other_golden = scored == 1 ? 2 : 1;
    char *other_json = NULL;
    cr_assert_eq(uf_store_explain(st, other_golden, UF_EXPLAIN_JSON, &other_json, NULL, &err), UF_OK, "%s",
                 err.message);
    char osrc[64], okey[128];
    cr_assert_eq(sscanf(strstr(other_json, "{\"source\":\""), "{\"source\":\"%63[^\"]\",\"key\":\"%127[^\"]\"", osrc,
                        okey),
                 2);
    free(other_json);
    uf_store_close(st);
    uf_config_free(config);

    server s;
    server_start(&s, yaml, NULL, NULL);
    char g[24];
    uf_golden_id_format(scored, g);
    char *target = t_fmt("/v1/explain/%s", g);
    reply r = GET(s.port, target);
    cr_expect_eq(r.status, 200, "%s: %s", target, r.body);
    cr_expect(t_json_valid(r.body, r.body_len), "%.300s", r.body);
    cr_expect(strstr(r.body, "\"links\":[") && strstr(r.body, "\"comparisons\":[") && strstr(r.body, "\"probability\":"),
              "%.500s", r.body);
    cr_expect(r.body_len == want_len + 1 && memcmp(r.body, want, want_len) == 0 && r.body[want_len] == '\n',
              "the answer is uf_store_explain's JSON:\n%.400s\n%.400s", r.body, want);
    char type[128] = "";
    cr_expect(header(&r, "Content-Type", type, sizeof type) && strncmp(type, "application/json", 16) == 0);
    cr_expect_not(header(&r, "X-Unify-Merged-Into", type, sizeof type), "not a merged id: %s", r.head);
    reply_free(&r);
    free(target);
    /* The bare number works as for /v1/profiles. */
    target = t_fmt("/v1/explain/%" PRIu64, scored);
    r = GET(s.port, target);
    cr_expect_eq(r.status, 200);
    reply_free(&r);
    free(target);

    expect_error(GET(s.port, "/v1/explain/G999999999"), 404, "not_found", "unknown golden id");
    expect_error(GET(s.port, "/v1/explain/nonsense"), 400, "invalid_golden_id", "not a golden id");
    expect_error(GET(s.port, "/v1/explain/G1/more"), 404, "route_not_found", "extra segment");

    /* Two records of the scored link: together, the library's JSON. */
    char *qa = pct(src[0]), *qka = pct(key[0]), *qb = pct(src[1]), *qkb = pct(key[1]);
    target = t_fmt("/v1/explain?a=%s%%3A%s&b=%s:%s", qa, qka, qb, qkb);
    r = GET(s.port, target);
    cr_expect_eq(r.status, 200, "%s: %s", target, r.body);
    cr_expect_eq(strncmp(r.body, "{\"together\":true,", 17), 0, "%.300s", r.body);
    cr_expect(r.body_len == pair_len + 1 && memcmp(r.body, pair_want, pair_len) == 0,
              "the answer is uf_explain_records' JSON:\n%.400s\n%.400s", r.body, pair_want);
    reply_free(&r);
    free(target);
    /* A record of another profile: apart, judged from the exports. */
    char *qo = pct(osrc), *qko = pct(okey);
    target = t_fmt("/v1/explain?a=%s:%s&b=%s:%s", qa, qka, qo, qko);
    r = GET(s.port, target);
    cr_expect_eq(r.status, 200, "%s: %s", target, r.body);
    cr_expect_eq(strncmp(r.body, "{\"together\":false,", 18), 0, "%.300s", r.body);
    cr_expect(t_json_valid(r.body, r.body_len), "%.300s", r.body);
    reply_free(&r);
    free(target);

    target = t_fmt("/v1/explain?a=%s:%s&b=%s:no-such-key", qa, qka, qa);
    expect_error(GET(s.port, target), 404, "not_found", "unknown record");
    free(target);
    target = t_fmt("/v1/explain?a=%s:%s", qa, qka);
    expect_error(GET(s.port, target), 400, "bad_request", "only a");
    free(target);
    expect_error(GET(s.port, "/v1/explain?a=crm:1&b=crm:2&a=crm:3"), 400, "bad_request", "a twice");
    expect_error(GET(s.port, "/v1/explain?a=crm&b=crm:2"), 400, "bad_request", "no key");
    expect_error(GET(s.port, "/v1/explain?a=crm:1&b=crm:2&c=3"), 400, "bad_request", "unknown parameter");
    expect_error(GET(s.port, "/v1/explain?a=crm:%zz&b=crm:2"), 400, "bad_request", "bad escape");

    r = GET(s.port, "/metrics");
    cr_expect(strstr(r.body, "unify_http_requests_total{route=\"explain\",status=\"200\"} 2\n"), "%s", r.body);
    cr_expect(strstr(r.body, "unify_http_requests_total{route=\"explain\",status=\"404\"} 1\n"), "%s", r.body);
    cr_expect(strstr(r.body, "unify_http_requests_total{route=\"explain_pair\",status=\"200\"} 2\n"), "%s", r.body);
    cr_expect(strstr(r.body, "unify_http_requests_total{route=\"explain_pair\",status=\"400\"} 5\n"), "%s", r.body);
    cr_expect(strstr(r.body, "unify_http_request_duration_seconds_count{route=\"explain_pair\"} 8\n"), "%s", r.body);
    reply_free(&r);
    server_stop(&s);
    free(qa);
    free(qka);
    free(qb);
    free(qkb);
    free(qo);
    free(qko);
    free(want);
    free(pair_want);
}

/*
 * The server reuses reset read transactions (engine/store_read.c): between
 * requests they must pin no generation, or every run would have to leave the
 * space of the generation before untouched and the store would grow run
 * after run. A server answering between eight runs (five under valgrind,
 * UF_TEST_SMALL): each answer sees the run just committed, and the store
 * stays the size of two generations.
 */
Test(serve, pooled_read_transactions_pin_nothing)
{
    server s;
    server_start(&s, yaml, NULL, NULL);
    char *data = t_fmt("%s/data.mdb", store);
    struct stat st;
    off_t settled = 0;
    const int last = T_SMALL_OR(9, 6);
    for (int run = 2; run <= last; run++) {
        reply r = GET(s.port, "/v1/profiles/G1");
        cr_expect_eq(r.status, 200, "%s", r.body);
        reply_free(&r);
        r = GET(s.port, "/v1/lookup?any=nobody-at-all");
        reply_free(&r);
        t_proc p = t_unify("run", "-c", yaml, "--quiet");
        t_assert_ok(p, "unify run");
        t_proc_free(&p);
        r = GET(s.port, "/healthz");
        char *want = t_fmt("{\"status\":\"ok\",\"last_run_id\":%d}\n", run);
        cr_expect_str_eq(r.body, want, "the answer after run %d", run);
        free(want);
        reply_free(&r);
        cr_assert_eq(stat(data, &st), 0);
        if (run == 3)
            settled = st.st_size;
    }
    /* A page or two per run for the run log; a pinned generation would add ~1.4 MB per run. */
    cr_expect_leq(st.st_size, settled + settled / 8, "the store grew from %lld to %lld bytes in %d runs",
                  (long long)settled, (long long)st.st_size, last - 3);
    server_stop(&s);
    free(data);
}

/* ------------------------------------------------------------------ */
/* --cpus                                                              */
/* ------------------------------------------------------------------ */

/* The lowest CPU this test may run on (CPU 0 is not always one of them). */
static int first_allowed_cpu(void)
{
    cpu_set_t set;
    cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0, "sched_getaffinity: %s", strerror(errno));
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &set))
            return cpu;
    cr_assert_fail("no CPU allowed");
    return -1;
}

Test(serve, cpus_option_keeps_every_server_thread_on_the_cpus_named)
{
    int cpu = first_allowed_cpu();
    char *list = t_fmt("%d", cpu);
    server s;
    server_start(&s, yaml, "--cpus", list);
    cr_expect(strstr(s.child.err.data, "unify serve: on CPU "), "%s", s.child.err.data);

    /* Every thread of the process (main and the HTTP workers) is limited to `cpu`. */
    char *task_dir = t_fmt("/proc/%d/task", (int)s.child.pid);
    DIR *d = opendir(task_dir);
    cr_assert(d, "%s: %s", task_dir, strerror(errno));
    size_t threads = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char *status_path = t_fmt("%s/%s/status", task_dir, e->d_name);
        char *status = t_read_file(status_path, NULL);
        const char *line = strstr(status, "Cpus_allowed_list:");
        cr_assert(line, "%s has no Cpus_allowed_list", status_path);
        line += strlen("Cpus_allowed_list:");
        line += strspn(line, " \t");
        cr_expect_eq(strncmp(line, list, strlen(list)), 0, "thread %s may run on %.20s, not only %s", e->d_name,
                     line, list);
        cr_expect_eq(line[strlen(list)], '\n', "thread %s: %.20s", e->d_name, line);
        threads++;
        free(status);
        free(status_path);
    }
    closedir(d);
    cr_expect_geq(threads, 3, "main thread and two HTTP workers, saw %zu", threads);
    reply r = GET(s.port, "/healthz");
    cr_expect_eq(r.status, 200);
    reply_free(&r);
    server_stop(&s);

    /* A list naming a CPU the process may not use, or no list at all, is a usage error. */
    t_proc p = t_unify("serve", "-c", yaml, "--listen", "127.0.0.1:0", "--cpus", "1023");
    cr_expect_eq(p.exit_code, 2, "--cpus 1023: exit %d %s", p.exit_code, p.err);
    cr_expect(strstr(p.err, "CPU 1023 is not available"), "%s", p.err);
    t_proc_free(&p);
    p = t_unify("serve", "-c", yaml, "--listen", "127.0.0.1:0", "--cpus", "1-0");
    cr_expect_eq(p.exit_code, 2, "--cpus 1-0: exit %d %s", p.exit_code, p.err);
    cr_expect(strstr(p.err, "runs backwards"), "%s", p.err);
    t_proc_free(&p);
    free(task_dir);
    free(list);
}
