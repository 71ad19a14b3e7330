/*
 * serve_http.c — `unify serve` on libmicrohttpd: a pool of internal
 * threads (epoll), each request answered by uf_serve_handle (serve.c).
 *
 * The raw request target (path and query exactly as sent) is captured in
 * the URI log callback, because MHD percent-decodes the path it hands to
 * the access handler, and /v1/records/{source}/{key} must decode each
 * segment on its own (a key may hold an encoded '/').
 *
 * Limits: the request line and headers share MHD's per-connection memory
 * pool (CONNECTION_MEMORY_LIMIT: larger ones get MHD's own 414/431), the
 * handler refuses targets over UF_SERVE_MAX_URI with a JSON 414, idle
 * connections close after timeout_seconds, at most MAX_CONNECTIONS at once.
 * Request bodies are never read (only GET and HEAD are served).
 */
#include "serve.h"

#include <microhttpd.h>

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#define MEMORY_LIMIT (32 * 1024)
#define MAX_CONNECTIONS 1024

struct uf_server {
    struct MHD_Daemon *daemon;
    uf_serve *handler;
    unsigned port;
};

typedef struct request {
    char *target;  /* raw request target (malloc'd) */
    bool answered;
} request;

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *connection)
{
    (void)cls;
    (void)connection;
    request *r = calloc(1, sizeof *r);
    if (r)
        r->target = strdup(uri);
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)connection;
    (void)toe;
    request *r = *req_cls;
    if (r) {
        free(r->target);
        free(r);
        *req_cls = NULL;
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    (void)version;
    (void)upload_data;
    uf_server *server = cls;
    request *r = *req_cls;
    if (r && r->answered) {
        *upload_data_size = 0; /* a body we do not read */
        return MHD_YES;
    }
    if (r)
        r->answered = true;
    const char *target = r && r->target ? r->target : url;
    const char *auth = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    uf_serve_response out;
    uf_serve_handle(server->handler, method, target, auth, &out);
    struct MHD_Response *resp = MHD_create_response_from_buffer(out.len, out.body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        uf_serve_response_free(&out);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, out.content_type);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    for (size_t i = 0; i < out.header_count; i++)
        MHD_add_response_header(resp, out.headers[i].name, out.headers[i].value);
    enum MHD_Result ok = MHD_queue_response(connection, (unsigned)out.status, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* "HOST:PORT" / "[V6]:PORT" into an address. */
static int parse_listen(const char *listen, struct sockaddr_storage *addr, socklen_t *addrlen, uf_error *err)
{
    char host[256], port[16];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || !colon[1] || strlen(colon + 1) >= sizeof port ||
        (size_t)(colon - listen) >= sizeof host)
        return uf_error_set(err, UF_ERR_INVALID, "--listen '%s': expected HOST:PORT (e.g. 127.0.0.1:8080)", listen);
    size_t hl = (size_t)(colon - listen);
    const char *h = listen;
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    strcpy(port, colon + 1);
    for (const char *p = port; *p; p++)
        if (*p < '0' || *p > '9')
            return uf_error_set(err, UF_ERR_INVALID, "--listen '%s': the port is not a number", listen);
    if (atol(port) > 65535)
        return uf_error_set(err, UF_ERR_INVALID, "--listen '%s': the port is over 65535", listen);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0 || !res)
        return uf_error_set(err, UF_ERR_INVALID, "--listen '%s': %s", listen, gai_strerror(rc));
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return UF_OK;
}

int uf_server_start(uf_store *store, const uf_config *config, const uf_server_options *options, uf_server **out,
                    uf_error *err)
{
    *out = NULL;
    uf_server_options o = options ? *options : (uf_server_options){0};
    const char *listen = o.listen ? o.listen : "127.0.0.1:8080";
    struct sockaddr_storage addr;
    socklen_t addrlen = 0;
    int st = parse_listen(listen, &addr, &addrlen, err);
    if (st != UF_OK)
        return st;
    uf_server *server = calloc(1, sizeof *server);
    if (!server)
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory");
    st = uf_serve_new(store, config, o.token, &server->handler, err);
    if (st != UF_OK) {
        free(server);
        return st;
    }
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    server->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, server, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, o.threads ? o.threads : 2u, MHD_OPTION_CONNECTION_TIMEOUT,
        o.timeout_seconds ? o.timeout_seconds : 30u, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MEMORY_LIMIT,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS, MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    if (!server->daemon) {
        uf_serve_free(server->handler);
        free(server);
        return uf_error_set(err, UF_ERR_IO, "cannot listen on %s (address in use or not local?)", listen);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
    server->port = info ? info->port : 0;
    *out = server;
    return UF_OK;
}

unsigned uf_server_port(const uf_server *server)
{
    return server ? server->port : 0;
}

void uf_server_stop(uf_server *server)
{
    if (!server)
        return;
    MHD_stop_daemon(server->daemon);
    uf_serve_free(server->handler);
    free(server);
}
