/*
 * serve_http.c — `unify serve` on libmicrohttpd: a pool of internal
 * threads (epoll), each request answered by uf_serve_handle (serve.c).
 *
 * The raw request target (path and query exactly as sent) is captured in
 * the URI log callback, because MHD percent-decodes the path it hands to
 * the access handler, and /v1/records/{source}/{key} must decode each
 * segment on its own (a key may hold an encoded '/').
 *
 * Keep-alive. MHD closes the connection after any answer queued in the
 * first call of the access handler (it cannot know yet whether a body
 * follows), so a GET or HEAD is answered in the second call, the one that
 * says the (empty) body is complete; anything else is answered at once and
 * the connection closes without its body ever being read.
 *
 * Limits, all answered with the JSON error bodies of serve.c:
 *  - request target over UF_SERVE_MAX_URI (2 KiB): 414 uri_too_long;
 *  - request line and headers over MAX_HEADER_BYTES (8 KiB): 431
 *    headers_too_large. MHD's per-connection memory pool (MEMORY_LIMIT,
 *    16 KiB) is above that, so these requests reach the handler; only a
 *    request head that does not fit the pool (over ~15 KiB) is refused by
 *    MHD itself (its own 414/431 with an HTML body) before any handler runs.
 *    The pool is kept small on purpose: MHD zeroes it between the requests
 *    of a kept-alive connection (at 64 KiB that memset was 15 % of the CPU);
 *  - a whole request head must arrive within the request timeout of the
 *    moment the connection was accepted or its previous answer was sent
 *    (slowloris: MHD's own timeout is per idle period and a client sending a
 *    byte every few seconds never trips it). A watchdog thread ticks every
 *    WATCH_TICK_MS and shuts down the sockets of late connections; MHD then
 *    closes them. The same limit closes idle keep-alive connections;
 *  - at most MAX_CONNECTIONS connections at once; request bodies are never read.
 */
#include "serve.h"

#include <microhttpd.h>

#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define MEMORY_LIMIT (16 * 1024)
#define MAX_HEADER_BYTES (8 * 1024)
#define MAX_CONNECTIONS 1024
#define WATCH_TICK_MS 200

/* One open connection, as the watchdog sees it (MHD's socket context). */
typedef struct conn_watch {
    struct conn_watch *prev, *next;
    int fd;
    _Atomic int64_t deadline_ns; /* monotonic; 0: a request is being answered (no deadline) */
    bool cut;                    /* shut down by the watchdog */
} conn_watch;

struct uf_server {
    struct MHD_Daemon *daemon;
    uf_serve *handler;
    unsigned port;
    int64_t request_timeout_ns;
    pthread_mutex_t watch_lock; /* guards the list and `stopping`; a listed fd is open */
    pthread_cond_t watch_wake;
    conn_watch *watched;
    bool stopping;
    bool watchdog_started;
    pthread_t watchdog;
    _Atomic uint64_t cut_count;
};

typedef struct request {
    char *target;  /* raw request target (malloc'd) */
    bool seen;     /* the access handler was called once */
    bool answered;
} request;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static conn_watch *watch_of(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    uf_server *server = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        conn_watch *w = calloc(1, sizeof *w);
        *socket_context = w;
        if (!w)
            return; /* not watched: MHD's idle timeout still applies */
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        w->fd = info ? info->connect_fd : -1;
        atomic_init(&w->deadline_ns, now_ns() + server->request_timeout_ns);
        pthread_mutex_lock(&server->watch_lock);
        w->next = server->watched;
        if (w->next)
            w->next->prev = w;
        server->watched = w;
        pthread_mutex_unlock(&server->watch_lock);
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        conn_watch *w = *socket_context;
        if (!w)
            return;
        /* Unlisted before MHD closes the fd, so the watchdog never touches a reused fd. */
        pthread_mutex_lock(&server->watch_lock);
        if (w->prev)
            w->prev->next = w->next;
        else
            server->watched = w->next;
        if (w->next)
            w->next->prev = w->prev;
        pthread_mutex_unlock(&server->watch_lock);
        free(w);
        *socket_context = NULL;
    }
}

static void *watchdog_main(void *arg)
{
    uf_server *server = arg;
    pthread_mutex_lock(&server->watch_lock);
    while (!server->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += WATCH_TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&server->watch_wake, &server->watch_lock, &until);
        int64_t now = now_ns();
        for (conn_watch *w = server->watched; w; w = w->next) {
            int64_t d = atomic_load_explicit(&w->deadline_ns, memory_order_relaxed);
            if (d && d < now && !w->cut && w->fd >= 0) {
                w->cut = true;
                shutdown(w->fd, SHUT_RDWR);
                atomic_fetch_add_explicit(&server->cut_count, 1, memory_order_relaxed);
            }
        }
    }
    pthread_mutex_unlock(&server->watch_lock);
    return NULL;
}

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
    uf_server *server = cls;
    (void)toe;
    conn_watch *w = watch_of(connection);
    if (w) /* the next request has the full timeout from now */
        atomic_store_explicit(&w->deadline_ns, now_ns() + server->request_timeout_ns, memory_order_relaxed);
    request *r = *req_cls;
    if (r) {
        free(r->target);
        free(r);
        *req_cls = NULL;
    }
}

typedef struct header_sum {
    size_t bytes;
} header_sum;

static enum MHD_Result add_header_size(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    header_sum *h = cls;
    h->bytes += strlen(key) + (value ? strlen(value) : 0) + 4; /* "K: V\r\n" */
    return MHD_YES;
}

static bool is_get_or_head(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
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
    if (r && !r->seen && is_get_or_head(method) && *upload_data_size == 0) {
        /* Headers complete: the request is no longer at the mercy of the deadline. */
        conn_watch *w = watch_of(connection);
        if (w)
            atomic_store_explicit(&w->deadline_ns, 0, memory_order_relaxed);
        r->seen = true;
        return MHD_YES; /* answered in the next call, so that the connection stays open */
    }
    if (r)
        r->answered = true;
    const char *target = r && r->target ? r->target : url;
    uf_serve_response out;
    header_sum hs = {strlen(method) + strlen(target) + 12}; /* the request line */
    MHD_get_connection_values(connection, MHD_HEADER_KIND, add_header_size, &hs);
    if (hs.bytes > MAX_HEADER_BYTES && strlen(target) <= UF_SERVE_MAX_URI) { /* a long target: the handler's 414 */
        char msg[96];
        snprintf(msg, sizeof msg, "the request line and headers are longer than %d bytes", MAX_HEADER_BYTES);
        uf_serve_error(server->handler, 431, "headers_too_large", msg, &out);
    } else {
        const char *auth = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        uf_serve_handle(server->handler, method, target, auth, &out);
    }
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
    unsigned timeout = o.timeout_seconds ? o.timeout_seconds : 10u;
    server->request_timeout_ns = (int64_t)timeout * 1000000000;
    pthread_mutex_init(&server->watch_lock, NULL);
    pthread_cond_init(&server->watch_wake, NULL);
    atomic_init(&server->cut_count, 0);
    if (pthread_create(&server->watchdog, NULL, watchdog_main, server) != 0) {
        uf_server_stop(server);
        return uf_error_set(err, UF_ERR_NOMEM, "cannot start the watchdog thread");
    }
    server->watchdog_started = true;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    server->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, server, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, o.threads ? o.threads : 2u, MHD_OPTION_CONNECTION_TIMEOUT,
        timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MEMORY_LIMIT,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS, MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, server,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, server, MHD_OPTION_END);
    if (!server->daemon) {
        uf_server_stop(server);
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
    if (server->daemon)
        MHD_stop_daemon(server->daemon);
    if (server->watchdog_started) {
        pthread_mutex_lock(&server->watch_lock);
        server->stopping = true;
        pthread_cond_signal(&server->watch_wake);
        pthread_mutex_unlock(&server->watch_lock);
        pthread_join(server->watchdog, NULL);
    }
    pthread_cond_destroy(&server->watch_wake);
    pthread_mutex_destroy(&server->watch_lock);
    uf_serve_free(server->handler);
    free(server);
}
