/*
 * serve.h — the HTTP API of `unify serve` without the sockets: one request
 * (method, raw request target, Authorization header) in, one response
 * (status, headers, JSON or Prometheus text) out. serve_http.c puts it on
 * libmicrohttpd; tests call it directly.
 *
 * Routes (all GET or HEAD; the API is documented in engine/serve_openapi.yaml):
 *   /healthz                       store readable? (never needs the token)
 *   /metrics                       Prometheus text: requests by route and status,
 *                                  latency histogram, the store's last run id
 *   /v1/lookup?email=|phone=|id=KIND:VALUE|any=VALUE (any: every identifier kind)
 *   /v1/profiles/{golden_id}       follows redirects of merged ids
 *   /v1/records/{source}/{key}     percent-decoded segments
 *   /v1/explain/{golden_id}        why a profile's records are together (uf_store_explain)
 *   /v1/explain?a=SRC:KEY&b=SRC:KEY  why two records are or are not together
 *                                  (uf_explain_records; reads the exports when apart)
 *   /                              the agent page (engine/serve_page.html; never needs the token)
 *
 * Errors are JSON: {"error":{"code":"not_found","message":"..."}} with the
 * stable codes listed in serve.c (uf_serve_error_codes).
 *
 * A uf_serve holds the store and configuration (borrowed: they must outlive
 * it), the bearer token (copied) and the metrics (atomics). uf_serve_handle
 * may be called from any number of threads at once.
 */
#ifndef UF_SERVE_H
#define UF_SERVE_H

#include "common.h"

#define UF_SERVE_MAX_URI 2048      /* longer request targets get 414 uri_too_long */
#define UF_SERVE_MAX_HEADERS 8

typedef struct uf_serve uf_serve;

typedef struct uf_serve_header {
    const char *name;              /* static */
    char value[256];
} uf_serve_header;

typedef struct uf_serve_response {
    int status;                    /* HTTP status */
    const char *content_type;      /* static */
    char *body;                    /* malloc'd (caller frees, or uf_serve_response_free) */
    size_t len;
    size_t header_count;
    uf_serve_header headers[UF_SERVE_MAX_HEADERS];
} uf_serve_response;

/*
 * A handler over `store` and `config` (borrowed). `token` (may be NULL or
 * empty: no authentication) is copied; when set, every route except
 * /healthz and the page needs `Authorization: Bearer <token>`.
 */
int uf_serve_new(uf_store *store, const uf_config *config, const char *token, uf_serve **out, uf_error *err);
void uf_serve_free(uf_serve *s);

/*
 * Answer one request. `target` is the raw request target as sent
 * ("/v1/lookup?email=a%40b.org"), `authorization` the Authorization header
 * or NULL. Always fills *resp (a failed allocation is a 500 with a static
 * body... copied, so the caller always frees resp->body). Counts the
 * request in the metrics.
 */
void uf_serve_handle(uf_serve *s, const char *method, const char *target, const char *authorization,
                     uf_serve_response *resp);

/*
 * An error answered by the HTTP layer itself (431 headers_too_large): the same JSON body and counting as uf_serve_handle.
 */
void uf_serve_error(uf_serve *s, int status, const char *code, const char *message, uf_serve_response *resp);

void uf_serve_response_free(uf_serve_response *resp);

/* The agent page served at / (engine/serve_page.html, turned into this array by CMake). */
extern const unsigned char uf_serve_page[];
extern const size_t uf_serve_page_len;

/* Timing-safe equality of two byte strings (time depends on the lengths only). */
bool uf_serve_token_equal(const char *a, size_t alen, const char *b, size_t blen);

#endif /* UF_SERVE_H */
