/*
 * serve.c — the request handler of `unify serve` (see serve.h): routing,
 * query parsing and percent-decoding, bearer-token check, JSON answers and
 * error bodies, and the Prometheus metrics. No sockets here.
 *
 * Stable error codes (the "code" of {"error":{"code":...,"message":...}}):
 *   bad_request         malformed query (unknown or repeated parameter, bad
 *                       percent-encoding, no or several selectors)
 *   invalid_identifier  the value does not normalize (empty, invalid, junk) or
 *                       the kind is not an identifier kind of the configuration
 *   invalid_golden_id   /v1/profiles/{id} is not a golden id
 *   not_found           no profile holds the value / no such id or record
 *   route_not_found     no such route
 *   method_not_allowed  only GET and HEAD are served
 *   unauthorized        missing or wrong bearer token
 *   uri_too_long        request target over UF_SERVE_MAX_URI bytes
 *   headers_too_large   request line and headers over 8 KiB (serve_http.c)
 *   store_error         the store could not be read (HTTP 500)
 *   export_error        /v1/explain?a=&b=: an export could not be read (HTTP 500)
 *   busy                /v1/explain?a=&b=: another such question is being
 *                       answered (HTTP 503, Retry-After: 1)
 *   internal            out of memory (HTTP 500)
 */
#include "serve.h"

#include "config.h"
#include "json_out.h"
#include "store.h"
#include "util.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#define MAX_MATCHES 64

enum route {
    ROUTE_LOOKUP,
    ROUTE_PROFILE,
    ROUTE_RECORD,
    ROUTE_HEALTHZ,
    ROUTE_METRICS,
    ROUTE_PAGE,
    ROUTE_EXPLAIN,
    ROUTE_EXPLAIN_PAIR,
    ROUTE_OTHER,
    ROUTE_COUNT
};

static const char *const route_names[ROUTE_COUNT] = {"lookup", "profile", "record", "healthz", "metrics", "page",
                                                       "explain", "explain_pair", "other"};

/* Statuses counted one by one; anything else is counted as "other". */
static const int counted_status[] = {200, 400, 401, 404, 405, 408, 414, 431, 500, 503};
#define STATUS_COUNT (UF_ARRAY_LEN(counted_status) + 1)

/* Latency histogram bounds in seconds (Prometheus `le`), +Inf implied. */
static const double bucket_le[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1.0};
#define BUCKET_COUNT (UF_ARRAY_LEN(bucket_le) + 1)

struct uf_serve {
    uf_store *store;
    const uf_config *config;
    char *token;
    size_t token_len;
    _Atomic uint64_t requests[ROUTE_COUNT][STATUS_COUNT];
    _Atomic uint64_t buckets[ROUTE_COUNT][BUCKET_COUNT]; /* not cumulative; summed when rendered */
    _Atomic uint64_t nanos[ROUTE_COUNT];
    atomic_flag pair_running; /* one /v1/explain?a=&b= at a time: it reads the exports */
};

int uf_serve_new(uf_store *store, const uf_config *config, const char *token, uf_serve **out, uf_error *err)
{
    *out = NULL;
    uf_serve *s = calloc(1, sizeof *s);
    if (!s)
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory");
    s->store = store;
    s->config = config;
    if (token && token[0]) {
        s->token = strdup(token);
        if (!s->token) {
            free(s);
            return uf_error_set(err, UF_ERR_NOMEM, "out of memory");
        }
        s->token_len = strlen(token);
    }
    for (size_t r = 0; r < ROUTE_COUNT; r++) {
        for (size_t i = 0; i < STATUS_COUNT; i++)
            atomic_init(&s->requests[r][i], 0);
        for (size_t i = 0; i < BUCKET_COUNT; i++)
            atomic_init(&s->buckets[r][i], 0);
        atomic_init(&s->nanos[r], 0);
    }
    atomic_flag_clear(&s->pair_running);
    *out = s;
    return UF_OK;
}

void uf_serve_free(uf_serve *s)
{
    if (!s)
        return;
    if (s->token) {
        memset(s->token, 0, s->token_len);
        free(s->token);
    }
    free(s);
}

void uf_serve_response_free(uf_serve_response *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->len = 0;
}

bool uf_serve_token_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    /* Walk the expected token `b` whatever `a` holds: no early exit. */
    unsigned diff = (unsigned)(alen != blen);
    for (size_t i = 0; i < blen; i++) {
        unsigned char ca = alen ? (unsigned char)a[i < alen ? i : 0] : 0;
        diff |= (unsigned)(ca ^ (unsigned char)b[i]);
    }
    return diff == 0;
}

/* ------------------------------------------------------------------ */
/* Responses                                                           */
/* ------------------------------------------------------------------ */

static const char json_type[] = "application/json; charset=utf-8";

static void add_header(uf_serve_response *resp, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_header(uf_serve_response *resp, const char *name, const char *fmt, ...)
{
    if (resp->header_count >= UF_SERVE_MAX_HEADERS)
        return;
    uf_serve_header *h = &resp->headers[resp->header_count++];
    h->name = name;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->value, sizeof h->value, fmt, ap);
    va_end(ap);
}

/* Take the buffer's contents as the body (or a 500 when it failed to grow). */
static void set_body(uf_serve_response *resp, int status, const char *type, uf_buf *b)
{
    if (b->failed) {
        uf_buf_free(b);
        static const char oom[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        resp->status = 500;
        resp->content_type = json_type;
        resp->body = strdup(oom);
        resp->len = resp->body ? sizeof oom - 1 : 0;
        return;
    }
    resp->status = status;
    resp->content_type = type;
    resp->body = b->data;
    resp->len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
}

static void error_response(uf_serve_response *resp, int status, const char *code, const char *message)
{
    uf_buf b;
    uf_buf_init(&b);
    uf_buf_puts(&b, "{\"error\":{\"code\":");
    uf_json_string(&b, uf_slice_cstr(code));
    uf_buf_puts(&b, ",\"message\":");
    uf_json_string(&b, uf_slice_cstr(message));
    uf_buf_puts(&b, "}}\n");
    set_body(resp, status, json_type, &b);
}

/* Map a library status to an HTTP error. */
static void status_error(uf_serve_response *resp, int st, const uf_error *err, const char *not_found_message)
{
    const char *msg = err->message[0] ? err->message : uf_strerror(st);
    if (st == UF_ERR_NOT_FOUND)
        error_response(resp, 404, "not_found", not_found_message ? not_found_message : msg);
    else if (st == UF_ERR_INVALID)
        error_response(resp, 400, "invalid_identifier", msg);
    else if (st == UF_ERR_NOMEM)
        error_response(resp, 500, "internal", msg);
    else
        error_response(resp, 500, "store_error", msg);
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */
/* ------------------------------------------------------------------ */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Percent-decode p[0..n) into a new NUL-terminated string; '+' is a space
 * when `plus` (query strings). NULL for a bad escape or a decoded NUL.
 */
static char *decode(const char *p, size_t n, bool plus)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '%') {
            int hi = i + 1 < n ? hexval(p[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(p[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        out[k++] = c;
    }
    out[k] = '\0';
    return out;
}

/* ------------------------------------------------------------------ */
/* Routes                                                              */
/* ------------------------------------------------------------------ */

/*
 * Fetch every profile, then answer: one profile as is, several as
 * {"ambiguous":true,...} (as `unify lookup` prints them). UF_ERR_NOT_FOUND
 * means a run committed between the two reads; the caller looks up again.
 */
static int answer_ids(uf_serve *s, const uint64_t *ids, size_t count, size_t total, uf_serve_response *resp,
                      uint64_t *resolved, uf_error *err)
{
    char *json[MAX_MATCHES];
    size_t len[MAX_MATCHES];
    size_t got = 0;
    int rc = UF_OK;
    for (; got < count; got++) {
        rc = uf_store_profile_json(s->store, ids[got], &json[got], &len[got], got == 0 ? resolved : NULL, err);
        if (rc != UF_OK)
            break;
    }
    if (rc == UF_OK) {
        uf_buf b;
        uf_buf_init(&b);
        if (count == 1) {
            uf_buf_append(&b, json[0], len[0]);
        } else {
            uf_buf_printf(&b, "{\"ambiguous\":true,\"count\":%zu,", total);
            if (total > count)
                uf_buf_puts(&b, "\"truncated\":true,");
            uf_buf_puts(&b, "\"profiles\":[");
            for (size_t i = 0; i < count; i++) {
                if (i)
                    uf_buf_putc(&b, ',');
                uf_buf_append(&b, json[i], len[i]);
            }
            uf_buf_puts(&b, "]}");
        }
        uf_buf_putc(&b, '\n');
        set_body(resp, 200, json_type, &b);
    }
    for (size_t i = 0; i < got; i++)
        free(json[i]);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * ?any=VALUE: the value tried as every identifier kind of the configuration
 * (what the page's search box sends for a bare value such as a loyalty card
 * number). The golden ids found under all kinds, deduplicated; kinds the value
 * does not normalize as are skipped. UF_ERR_NOT_FOUND when none holds it,
 * UF_ERR_INVALID when it normalizes as no kind at all.
 */
static int lookup_any(uf_serve *s, const char *value, uint64_t *ids, size_t *count, size_t *total, uf_error *err)
{
    *count = *total = 0;
    bool valid = false;
    for (size_t k = 0; k < s->config->kind_count; k++) {
        if (!s->config->kinds[k].is_identifier)
            continue;
        uint64_t found[MAX_MATCHES];
        size_t n = 0;
        uf_error kerr = {0};
        int st = uf_lookup_identifier(s->store, s->config, s->config->kinds[k].name, value, found, MAX_MATCHES, &n,
                                      &kerr);
        if (st == UF_ERR_INVALID)
            continue;
        valid = true;
        if (st == UF_ERR_NOT_FOUND)
            continue;
        if (st != UF_OK) {
            *err = kerr;
            return st;
        }
        *total += n > MAX_MATCHES ? n - MAX_MATCHES : 0; /* held beyond the cap: counted, not listed */
        for (size_t i = 0; i < n && i < MAX_MATCHES; i++) {
            bool dup = false;
            for (size_t j = 0; j < *count && !dup; j++)
                dup = ids[j] == found[i];
            if (!dup && *count < MAX_MATCHES)
                ids[(*count)++] = found[i];
            else if (!dup)
                (*total)++;
        }
    }
    *total += *count;
    if (*count == 0)
        return uf_error_set(err, valid ? UF_ERR_NOT_FOUND : UF_ERR_INVALID,
                            valid ? "no profile holds this value" : "'%.200s' is not a valid identifier of any kind",
                            value);
    qsort(ids, *count, sizeof ids[0], cmp_u64);
    return UF_OK;
}

/*
 * The next name=value of a query string at *p, percent-decoded into *k and
 * *v (malloc'd; a name without '=' has the value ""). Empty pieces ("a&&b")
 * are skipped. Returns 1 with a pair, 0 at the end, -1 on malformed
 * percent-encoding or out of memory (nothing to free then).
 */
static int next_param(const char **p, char **k, char **v)
{
    *k = *v = NULL;
    while (**p) {
        const char *at = *p, *amp = strchr(at, '&');
        size_t n = amp ? (size_t)(amp - at) : strlen(at);
        *p = at + n + (amp ? 1 : 0);
        if (n == 0)
            continue;
        const char *eq = memchr(at, '=', n);
        *k = decode(at, eq ? (size_t)(eq - at) : n, true);
        *v = eq ? decode(eq + 1, n - (size_t)(eq + 1 - at), true) : strdup("");
        if (!*k || !*v) {
            free(*k);
            free(*v);
            *k = *v = NULL;
            return -1;
        }
        return 1;
    }
    return 0;
}

static void route_lookup(uf_serve *s, const char *query, uf_serve_response *resp)
{
    char *kind = NULL, *value = NULL;
    const char *msg = NULL;
    char msgbuf[200];
    int selectors = 0;
    const char *p = query ? query : "";
    char *k, *v;
    int got;
    while (!msg && (got = next_param(&p, &k, &v)) != 0) {
        if (got < 0) {
            msg = "malformed percent-encoding in the query";
            break;
        }
        if (strcmp(k, "email") == 0 || strcmp(k, "phone") == 0 || strcmp(k, "id") == 0 || strcmp(k, "any") == 0) {
            if (++selectors > 1) {
                msg = "give exactly one of email, phone, id, any";
            } else if (strcmp(k, "id") == 0) {
                char *colon = strchr(v, ':');
                if (!colon || colon == v) {
                    msg = "id takes KIND:VALUE, e.g. id=loyalty_card:6012345678";
                } else {
                    *colon = '\0';
                    kind = v;
                    value = strdup(colon + 1);
                    v = NULL;
                    if (!value)
                        msg = "out of memory";
                }
            } else {
                kind = k;
                value = v;
                k = v = NULL;
            }
        } else {
            snprintf(msgbuf, sizeof msgbuf, "unknown query parameter '%.100s' (expected email, phone, id or any)", k);
            msg = msgbuf;
        }
        free(k);
        free(v);
    }
    if (!msg && selectors == 0)
        msg = "give one of email, phone, id, any (e.g. /v1/lookup?email=ann%40example.com)";
    if (msg) {
        error_response(resp, 400, "bad_request", msg);
        free(kind);
        free(value);
        return;
    }
    uint64_t ids[MAX_MATCHES];
    size_t count = 0;
    uf_error err = {0};
    int st = UF_OK;
    /* Twice at most: a run may commit between finding the ids and reading the profiles. */
    for (int attempt = 0; attempt < 2; attempt++) {
        size_t total = 0;
        if (strcmp(kind, "any") == 0) {
            st = lookup_any(s, value, ids, &count, &total, &err);
        } else {
            st = uf_lookup_identifier(s->store, s->config, kind, value, ids, MAX_MATCHES, &count, &err);
            total = count;
        }
        if (st == UF_OK)
            st = answer_ids(s, ids, count < MAX_MATCHES ? count : MAX_MATCHES, total, resp, NULL, &err);
        if (st != UF_ERR_NOT_FOUND)
            break;
    }
    if (st != UF_OK) {
        char nf[512];
        if (strcmp(kind, "any") == 0)
            snprintf(nf, sizeof nf, "no profile holds '%.400s' (tried every identifier kind)", value);
        else
            snprintf(nf, sizeof nf, "no profile holds %s '%.400s'", kind, value);
        status_error(resp, st, &err, nf);
    }
    free(kind);
    free(value);
}

/* The golden id a path segment names; false (and a 400 answer) when it names none. */
static bool golden_of_segment(const char *segment, size_t seglen, uint64_t *id, uf_serve_response *resp)
{
    char *text = decode(segment, seglen, false);
    bool ok = text && uf_golden_id_parse(text, id) == UF_OK;
    free(text);
    if (!ok)
        error_response(resp, 400, "invalid_golden_id", "not a golden id (expected e.g. G000000042)");
    return ok;
}

static void route_profile(uf_serve *s, const char *segment, size_t seglen, uf_serve_response *resp)
{
    uint64_t id = 0;
    if (!golden_of_segment(segment, seglen, &id, resp))
        return;
    uint64_t resolved = 0;
    uf_error err = {0};
    int st = answer_ids(s, &id, 1, 1, resp, &resolved, &err);
    if (st != UF_OK) {
        char g[24], nf[64];
        uf_golden_id_format(id, g);
        snprintf(nf, sizeof nf, "no profile has golden id %s", g);
        status_error(resp, st, &err, nf);
        return;
    }
    if (resolved != id) {
        char from[24], to[24];
        uf_golden_id_format(id, from);
        uf_golden_id_format(resolved, to);
        add_header(resp, "X-Unify-Merged-Into", "%s", to);
        add_header(resp, "Content-Location", "/v1/profiles/%s", to);
    }
}

static void route_record(uf_serve *s, const char *rest, size_t n, uf_serve_response *resp)
{
    const char *slash = memchr(rest, '/', n);
    if (!slash || slash == rest || slash + 1 == rest + n) {
        error_response(resp, 404, "route_not_found", "expected /v1/records/{source}/{key}");
        return;
    }
    char *source = decode(rest, (size_t)(slash - rest), false);
    char *key = decode(slash + 1, (size_t)(rest + n - slash - 1), false);
    if (!source || !key) {
        error_response(resp, 400, "bad_request", "malformed percent-encoding in the path");
    } else {
        uint64_t id = 0;
        uf_error err = {0};
        int st = UF_OK;
        for (int attempt = 0; attempt < 2; attempt++) {
            st = uf_store_find_record(s->store, source, key, &id, &err);
            if (st == UF_OK)
                st = answer_ids(s, &id, 1, 1, resp, NULL, &err);
            if (st != UF_ERR_NOT_FOUND)
                break;
        }
        if (st == UF_ERR_INVALID) {
            error_response(resp, 400, "bad_request", err.message[0] ? err.message : "invalid source name");
        } else if (st != UF_OK) {
            char nf[600];
            snprintf(nf, sizeof nf, "no record %.255s:%.300s in the store", source, key);
            status_error(resp, st, &err, nf);
        }
    }
    free(source);
    free(key);
}

/*
 * /v1/explain/{golden_id}: why the records of a profile are together, from
 * the store (uf_store_explain, JSON). A merged id is explained as its
 * surviving profile, with the same headers as /v1/profiles/{id}.
 */
static void route_explain(uf_serve *s, const char *segment, size_t seglen, uf_serve_response *resp)
{
    uint64_t id = 0;
    if (!golden_of_segment(segment, seglen, &id, resp))
        return;
    char *json = NULL;
    size_t len = 0;
    uf_error err = {0};
    int st = uf_store_explain(s->store, id, UF_EXPLAIN_JSON, &json, &len, &err);
    if (st != UF_OK) {
        char g[24], nf[64];
        uf_golden_id_format(id, g);
        snprintf(nf, sizeof nf, "no profile has golden id %s", g);
        status_error(resp, st, &err, nf);
        return;
    }
    /* The explanation names the profile it explains: {"golden_id":"G…",… */
    static const char lead[] = "{\"golden_id\":\"";
    uint64_t resolved = id;
    if (len > sizeof lead - 1 && memcmp(json, lead, sizeof lead - 1) == 0) {
        char g[24];
        size_t i = 0;
        const char *p = json + sizeof lead - 1;
        while (i + 1 < sizeof g && p + i < json + len && p[i] != '"') {
            g[i] = p[i];
            i++;
        }
        g[i] = '\0';
        if (uf_golden_id_parse(g, &resolved) != UF_OK)
            resolved = id;
    }
    uf_buf b;
    uf_buf_init(&b);
    uf_buf_append(&b, json, len);
    uf_buf_putc(&b, '\n');
    free(json);
    set_body(resp, 200, json_type, &b);
    if (resp->status == 200 && resolved != id) {
        char to[24];
        uf_golden_id_format(resolved, to);
        add_header(resp, "X-Unify-Merged-Into", "%s", to);
        add_header(resp, "Content-Location", "/v1/explain/%s", to);
    }
}

/* "crm:C0001" → source "crm" (1..255 bytes) and key; false when malformed. */
static bool split_record_ref(char *ref, char **source, char **key)
{
    char *colon = strchr(ref, ':');
    if (!colon || colon == ref || !colon[1] || (size_t)(colon - ref) > 255)
        return false;
    *colon = '\0';
    *source = ref;
    *key = colon + 1;
    return true;
}

/*
 * /v1/explain?a=SOURCE:KEY&b=SOURCE:KEY: why two records are, or are not,
 * in one profile (uf_explain_records). Apart, both records are read again
 * from the exports: seconds on a large export, so one such question is
 * answered at a time and another gets 503 busy rather than taking a second
 * server thread away from the lookups.
 */
static void route_explain_pair(uf_serve *s, const char *query, uf_serve_response *resp)
{
    char *ref[2] = {NULL, NULL};
    const char *msg = NULL;
    char msgbuf[200];
    const char *p = query ? query : "";
    char *k, *v;
    int got;
    while (!msg && (got = next_param(&p, &k, &v)) != 0) {
        if (got < 0) {
            msg = "malformed percent-encoding in the query";
            break;
        }
        if (strcmp(k, "a") == 0 || strcmp(k, "b") == 0) {
            int i = k[0] == 'b';
            if (ref[i]) {
                msg = "give each of a and b once";
            } else {
                ref[i] = v;
                v = NULL;
            }
        } else {
            snprintf(msgbuf, sizeof msgbuf, "unknown query parameter '%.100s' (expected a and b)", k);
            msg = msgbuf;
        }
        free(k);
        free(v);
    }
    char *source[2] = {NULL, NULL}, *key[2] = {NULL, NULL};
    if (!msg && (!ref[0] || !ref[1]))
        msg = "give two records: /v1/explain?a=SOURCE:KEY&b=SOURCE:KEY (e.g. a=crm:C1&b=pos:P2)";
    for (int i = 0; i < 2 && !msg; i++)
        if (!split_record_ref(ref[i], &source[i], &key[i]))
            msg = "a record is SOURCE:KEY, e.g. crm:C0001234";
    if (msg) {
        error_response(resp, 400, "bad_request", msg);
    } else if (atomic_flag_test_and_set(&s->pair_running)) {
        error_response(resp, 503, "busy", "another explanation of two records is being answered; retry in a second");
        add_header(resp, "Retry-After", "1");
    } else {
        char *json = NULL;
        size_t len = 0;
        uf_error err = {0};
        int st = uf_explain_records(s->config, s->store, source[0], key[0], source[1], key[1], UF_EXPLAIN_JSON, &json,
                                    &len, &err);
        atomic_flag_clear(&s->pair_running);
        const char *m = err.message[0] ? err.message : uf_strerror(st);
        if (st == UF_OK) {
            uf_buf b;
            uf_buf_init(&b);
            uf_buf_append(&b, json, len);
            uf_buf_putc(&b, '\n');
            set_body(resp, 200, json_type, &b);
        } else if (st == UF_ERR_NOT_FOUND) {
            error_response(resp, 404, "not_found", m);
        } else if (st == UF_ERR_INVALID) {
            error_response(resp, 400, "bad_request", m);
        } else if (st == UF_ERR_IO || st == UF_ERR_FORMAT) {
            error_response(resp, 500, "export_error", m);
        } else {
            status_error(resp, st, &err, NULL);
        }
        free(json);
    }
    free(ref[0]);
    free(ref[1]);
}

static void route_healthz(uf_serve *s, uf_serve_response *resp)
{
    uint64_t run_id = 0;
    uf_error err = {0};
    int st = uf_store_last_run_id(s->store, &run_id, &err);
    uf_buf b;
    uf_buf_init(&b);
    if (st == UF_OK) {
        uf_buf_printf(&b, "{\"status\":\"ok\",\"last_run_id\":%" PRIu64 "}\n", run_id);
        set_body(resp, 200, json_type, &b);
    } else {
        uf_buf_puts(&b, "{\"status\":\"unavailable\",\"error\":{\"code\":\"store_error\",\"message\":");
        uf_json_string(&b, uf_slice_cstr(err.message[0] ? err.message : uf_strerror(st)));
        uf_buf_puts(&b, "}}\n");
        set_body(resp, 503, json_type, &b);
    }
}

/*
 * The agent page (engine/serve_page.html, embedded at build time). It holds
 * no data, so it is served without the token; every call it makes to the
 * API carries the token the agent typed. The policy forbids everything the
 * page does not do: no other origin, no frames, no plugins, no forms.
 */
static void route_page(uf_serve_response *resp)
{
    uf_buf b;
    uf_buf_init(&b);
    uf_buf_append(&b, (const char *)uf_serve_page, uf_serve_page_len);
    set_body(resp, 200, "text/html; charset=utf-8", &b);
    add_header(resp, "Content-Security-Policy",
               "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
               "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    add_header(resp, "X-Frame-Options", "DENY");
    add_header(resp, "Referrer-Policy", "no-referrer");
}

static void route_metrics(uf_serve *s, uf_serve_response *resp)
{
    uf_buf b;
    uf_buf_init(&b);
    uf_buf_puts(&b, "# HELP unify_http_requests_total HTTP requests answered, by route and status.\n"
                    "# TYPE unify_http_requests_total counter\n");
    for (size_t r = 0; r < ROUTE_COUNT; r++) {
        for (size_t i = 0; i < STATUS_COUNT; i++) {
            uint64_t n = atomic_load_explicit(&s->requests[r][i], memory_order_relaxed);
            if (!n)
                continue;
            if (i < UF_ARRAY_LEN(counted_status))
                uf_buf_printf(&b, "unify_http_requests_total{route=\"%s\",status=\"%d\"} %" PRIu64 "\n",
                              route_names[r], counted_status[i], n);
            else
                uf_buf_printf(&b, "unify_http_requests_total{route=\"%s\",status=\"other\"} %" PRIu64 "\n",
                              route_names[r], n);
        }
    }
    uf_buf_puts(&b, "# HELP unify_http_request_duration_seconds Time to answer a request (handler, without network).\n"
                    "# TYPE unify_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r < ROUTE_COUNT; r++) {
        uint64_t cum = 0;
        for (size_t i = 0; i < BUCKET_COUNT; i++) {
            cum += atomic_load_explicit(&s->buckets[r][i], memory_order_relaxed);
            if (i < UF_ARRAY_LEN(bucket_le))
                uf_buf_printf(&b, "unify_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %" PRIu64 "\n",
                              route_names[r], bucket_le[i], cum);
            else
                uf_buf_printf(&b, "unify_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %" PRIu64 "\n",
                              route_names[r], cum);
        }
        double sum = (double)atomic_load_explicit(&s->nanos[r], memory_order_relaxed) / 1e9;
        uf_buf_printf(&b, "unify_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n", route_names[r], sum);
        uf_buf_printf(&b, "unify_http_request_duration_seconds_count{route=\"%s\"} %" PRIu64 "\n", route_names[r], cum);
    }
    uint64_t run_id = 0;
    uf_error err = {0};
    if (uf_store_last_run_id(s->store, &run_id, &err) == UF_OK)
        uf_buf_printf(&b, "# HELP unify_store_last_run_id Id of the last committed run in the store.\n"
                          "# TYPE unify_store_last_run_id gauge\n"
                          "unify_store_last_run_id %" PRIu64 "\n",
                      run_id);
    set_body(resp, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                            */
/* ------------------------------------------------------------------ */

static bool authorized(const uf_serve *s, const char *authorization)
{
    if (!s->token)
        return true;
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return false;
    const char *t = authorization + 7;
    while (*t == ' ')
        t++;
    size_t n = strlen(t);
    while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
        n--;
    return uf_serve_token_equal(t, n, s->token, s->token_len);
}


static void count(uf_serve *s, enum route r, int status, double seconds)
{
    size_t si = UF_ARRAY_LEN(counted_status);
    for (size_t i = 0; i < UF_ARRAY_LEN(counted_status); i++)
        if (counted_status[i] == status)
            si = i;
    atomic_fetch_add_explicit(&s->requests[r][si], 1, memory_order_relaxed);
    size_t bi = UF_ARRAY_LEN(bucket_le);
    for (size_t i = 0; i < UF_ARRAY_LEN(bucket_le); i++)
        if (seconds <= bucket_le[i]) {
            bi = i;
            break;
        }
    atomic_fetch_add_explicit(&s->buckets[r][bi], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->nanos[r], (uint64_t)(seconds * 1e9), memory_order_relaxed);
}

void uf_serve_handle(uf_serve *s, const char *method, const char *target, const char *authorization,
                     uf_serve_response *resp)
{
    double t0 = uf_now_seconds();
    memset(resp, 0, sizeof *resp);
    size_t target_len = strlen(target);
    const char *q = strchr(target, '?');
    size_t path_len = q ? (size_t)(q - target) : target_len;
    uf_slice path = uf_slice_make(target, path_len);

    enum route r = ROUTE_OTHER;
    const char *rest = NULL;
    size_t rest_len = 0;
    static const char profiles[] = "/v1/profiles/", records[] = "/v1/records/", explain[] = "/v1/explain/";
    if (uf_slice_equals(path, "/v1/lookup")) {
        r = ROUTE_LOOKUP;
    } else if (uf_slice_equals(path, "/v1/explain")) {
        r = ROUTE_EXPLAIN_PAIR;
    } else if (path_len > sizeof explain - 1 && memcmp(target, explain, sizeof explain - 1) == 0 &&
               !memchr(target + sizeof explain - 1, '/', path_len - (sizeof explain - 1))) {
        r = ROUTE_EXPLAIN;
        rest = target + sizeof explain - 1;
        rest_len = path_len - (sizeof explain - 1);
    } else if (uf_slice_equals(path, "/healthz")) {
        r = ROUTE_HEALTHZ;
    } else if (uf_slice_equals(path, "/metrics")) {
        r = ROUTE_METRICS;
    } else if (uf_slice_equals(path, "/") || uf_slice_equals(path, "/index.html")) {
        r = ROUTE_PAGE;
    } else if (path_len > sizeof profiles - 1 && memcmp(target, profiles, sizeof profiles - 1) == 0 &&
               !memchr(target + sizeof profiles - 1, '/', path_len - (sizeof profiles - 1))) {
        r = ROUTE_PROFILE;
        rest = target + sizeof profiles - 1;
        rest_len = path_len - (sizeof profiles - 1);
    } else if (path_len > sizeof records - 1 && memcmp(target, records, sizeof records - 1) == 0) {
        r = ROUTE_RECORD;
        rest = target + sizeof records - 1;
        rest_len = path_len - (sizeof records - 1);
    }

    if (target_len > UF_SERVE_MAX_URI) {
        char msg[96];
        snprintf(msg, sizeof msg, "the request target is longer than %d bytes", UF_SERVE_MAX_URI);
        error_response(resp, 414, "uri_too_long", msg);
    } else if (r != ROUTE_HEALTHZ && r != ROUTE_PAGE && !authorized(s, authorization)) {
        error_response(resp, 401, "unauthorized", "this service needs 'Authorization: Bearer <token>'");
        add_header(resp, "WWW-Authenticate", "Bearer realm=\"unify\"");
    } else if (r == ROUTE_OTHER) {
        error_response(resp, 404, "route_not_found",
                       "no such route (GET /v1/lookup, /v1/profiles/{id}, /v1/records/{source}/{key}, "
                       "/v1/explain/{id}, /v1/explain?a=&b=, /healthz, /metrics)");
    } else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        error_response(resp, 405, "method_not_allowed", "only GET and HEAD are served");
        add_header(resp, "Allow", "GET, HEAD");
    } else if (r == ROUTE_LOOKUP) {
        route_lookup(s, q ? q + 1 : NULL, resp);
    } else if (r == ROUTE_PROFILE) {
        route_profile(s, rest, rest_len, resp);
    } else if (r == ROUTE_RECORD) {
        route_record(s, rest, rest_len, resp);
    } else if (r == ROUTE_EXPLAIN) {
        route_explain(s, rest, rest_len, resp);
    } else if (r == ROUTE_EXPLAIN_PAIR) {
        route_explain_pair(s, q ? q + 1 : NULL, resp);
    } else if (r == ROUTE_HEALTHZ) {
        route_healthz(s, resp);
    } else if (r == ROUTE_PAGE) {
        route_page(resp);
    } else {
        route_metrics(s, resp);
    }
    add_header(resp, "Cache-Control", "no-store");
    count(s, r, resp->status, uf_now_seconds() - t0);
}

void uf_serve_error(uf_serve *s, int status, const char *code, const char *message, uf_serve_response *resp)
{
    memset(resp, 0, sizeof *resp);
    error_response(resp, status, code, message);
    add_header(resp, "Cache-Control", "no-store");
    count(s, ROUTE_OTHER, resp->status, 0);
}
