/*
 * pc_http_request.c -- the life of a client connection and of its requests:
 * reading and parsing heads, request setup, request bodies, finalization,
 * keep-alive, pipelining, timeouts, lingering close, graceful drain.
 *
 * Connection states (hc->state):
 *   IDLE    waiting for the first byte of a request.  Holds no buffer and no
 *           pool; the timer is client_header_timeout on a fresh connection,
 *           keepalive_timeout after a request.  Expiry closes silently.
 *   HEAD    bytes of a head are buffered.  One timer, client_header_timeout,
 *           started at the first byte (at accept for the first request) and
 *           never re-armed per read: expiry answers 408 and closes.
 *   ACTIVE  phases, handler, body, response.  The timer serves the body
 *           (client_body_timeout / client_body_min_rate); send_timeout has
 *           its own timer in the request.
 *   LINGER  the response is out and the write side shut: input is drained
 *           for a bounded time so the client reads the response instead of
 *           a reset.
 *
 * Re-entrancy.  Module code runs with hc->busy > 0 (phase handlers, read and
 * write event handlers).  While busy, pc_http_finalize() only records the
 * outcome; ending the request, starting the next pipelined one and closing
 * happen in drive() once the stack unwinds.  drive() loops over pipelined
 * requests, so a buffer full of them never recurses.
 */
#include <errno.h>
#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "http/pc_http.h"
#include "http/pc_http_phase.h"
#include "http/pc_http_request.h"
#include "event/pc_worker.h"

#define HC_SLAB          128      /* connection structs per malloc           */
#define POOL_CACHE_MAX   256      /* reset request pools kept per worker     */
#define LINGER_MS        2000     /* lingering close: total time bound       */
#define LINGER_MAX_KIB   1024     /* ... and bytes drained (KiB)             */
#define BODY_GRACE_MS    5000     /* client_body_min_rate is not judged before */
#define TRIM_S           1.0      /* caches idle this long go back to malloc */
#define TRIM_KEEP        8        /* ... all but this many of each          */
#define TRIM_MIN         (256 * 1024) /* malloc_trim only after this much: under
                                         steady load the small ups and downs
                                         stay in malloc's free lists        */

#define LOOP(c)  pc_conn_loop(c)

typedef struct hc_slab_s {
    struct hc_slab_s  *next;
    pc_http_conn_t     hc[HC_SLAB];
} hc_slab_t;

/* Worker-local caches (a worker is one thread). */
static hc_slab_t      *hc_slabs;
static pc_http_conn_t *hc_free;
static pc_pool_t      *pool_cache[POOL_CACHE_MAX];
static unsigned        npools;
static unsigned        npools_low;  /* fewest cached since the last trim  */
static ev_timer        trim_timer;
static u_char          linger_scratch[4096];

static void on_read(pc_conn_t *c);
static void on_timer(struct ev_loop *loop, ev_timer *w, int revents);
static void on_drain(pc_conn_t *c);
static void on_terminate(pc_conn_t *c);

static const pc_conn_proto_t http_proto = {
    on_read, pc_http_write_event, on_drain, on_terminate
};
static void drive(pc_http_conn_t *hc);
static void discard_step(pc_http_req_t *req);

/* ---------------------------------------------------------------------
 * Worker caches
 * ------------------------------------------------------------------- */

static pc_http_conn_t *
hc_alloc(void)
{
    hc_slab_t      *s;
    pc_http_conn_t *hc;
    unsigned        i;

    if (hc_free == NULL) {
        s = malloc(sizeof(hc_slab_t));
        if (s == NULL)
            return NULL;
        s->next = hc_slabs;
        hc_slabs = s;
        for (i = 0; i < HC_SLAB; i++) {
            s->hc[i].u.next_free = hc_free;
            hc_free = &s->hc[i];
        }
    }
    hc = hc_free;
    hc_free = hc->u.next_free;
    memset(hc, 0, sizeof(*hc));
    return hc;
}

static void
hc_release(pc_http_conn_t *hc)
{
    hc->u.next_free = hc_free;
    hc_free = hc;
}

static pc_pool_t *
pool_get(void)
{
    if (npools == 0)
        return pc_pool_create(PC_HTTP_POOL_SIZE);
    if (--npools < npools_low)
        npools_low = npools;
    return pool_cache[npools];
}

/*
 * After a burst the caches hold what its peak needed.  Once a second, while
 * they hold more than TRIM_KEEP, what nobody took for that whole second
 * (the low-water mark) goes back to malloc, oldest first, and malloc_trim
 * returns the pages: memory follows the load down as well as up.
 */
static void
on_trim(struct ev_loop *loop, ev_timer *w, int revents)
{
    unsigned n, i;
    size_t   freed;

    PC_UNUSED(w);
    PC_UNUSED(revents);
    n = npools_low > TRIM_KEEP ? npools_low - TRIM_KEEP : 0;
    for (i = 0; i < n; i++)
        pc_pool_destroy(pool_cache[i]);
    npools -= n;
    memmove(pool_cache, pool_cache + n, npools * sizeof(pool_cache[0]));
    npools_low = npools;
    freed = pc_buf_trim(TRIM_KEEP) + n * PC_HTTP_POOL_SIZE;
#ifdef HAVE_MALLOC_TRIM
    if (freed >= TRIM_MIN)
        malloc_trim(0);
#endif
    if (freed > 0 || npools > TRIM_KEEP)
        ev_timer_start(loop, &trim_timer);
}

/* Reset (cleanups run) and keep for the next request, or free. */
static void
pool_put(pc_pool_t *pool)
{
    if (npools < POOL_CACHE_MAX) {
        pc_pool_reset(pool);
        pool_cache[npools++] = pool;
        if (npools > TRIM_KEEP && !ev_is_active(&trim_timer) && pc_worker != NULL) {
            ev_timer_init(&trim_timer, on_trim, TRIM_S, 0.);
            ev_timer_start(pc_worker->loop, &trim_timer);
            npools_low = npools;
        }
    } else {
        pc_pool_destroy(pool);
    }
}

/* Contract: frees the worker's cached request pools and, once no connection
 * uses them, the connection-struct slabs.  Call at worker exit only. */
void
pc_http_runtime_release(void)
{
    hc_slab_t *s;

    if (pc_worker != NULL)
        ev_timer_stop(pc_worker->loop, &trim_timer);
    while (npools > 0)
        pc_pool_destroy(pool_cache[--npools]);
    npools_low = 0;
    /* Slabs go only when no connection uses them: at worker exit. */
    while ((s = hc_slabs) != NULL) {
        hc_slabs = s->next;
        free(s);
    }
    hc_free = NULL;
}

/* ---------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------- */

/* The default server's core conf of the address c was accepted on: the
 * limits in force before Host is known. */
static pc_http_core_conf_t *
default_conf(pc_conn_t *c)
{
    pc_http_addr_conf_t *addr = c->listening->data;

    return addr->default_server->confs[pc_http_core_module.index];
}

/* Contract: one more runtime/module frame is on hc's stack; nothing frees
 * the request or closes the connection until the matching leave. */
void
pc_http_req_enter(pc_http_conn_t *hc)
{
    hc->busy++;
}

/* Contract: ends a frame opened by pc_http_req_enter; the outermost one
 * performs what was deferred (end of request, next pipelined request,
 * close).  Neither hc nor its request may be used after it. */
void
pc_http_req_leave(pc_http_conn_t *hc)
{
    if (--hc->busy == 0)
        drive(hc);
}

/* Final accounting, then the LOG phase (module code: under the guard). */
static void
req_log(pc_http_conn_t *hc, pc_http_req_t *req)
{
    pc_http_request_t *r = &req->r;

    if (r->head.head_len > 0)
        r->request_length = r->head.head_len + req->body_in;
    r->body_bytes_sent = r->bytes_sent > req->head_len ? r->bytes_sent - req->head_len : 0;
    hc->busy++;
    pc_http_phase_log(r);
    hc->busy--;
}

/* Close now, or once the runtime frames on the stack have returned. */
static void
conn_close(pc_http_conn_t *hc)
{
    pc_conn_t     *c = hc->u.c;
    pc_http_req_t *req = hc->req;

    if (hc->busy > 0) {
        hc->close_pending = 1;
        return;
    }
    if (req != NULL) {
        /* Aborted request: still logged, and its pool cleanups release
         * what modules hold (upstream connections, timers). */
        ev_timer_stop(LOOP(c), &req->send_timer);
        if (hc->state != PC_HC_HEAD || req->r.status != 0)
            req_log(hc, req);
        if (req->head_in != hc->in)
            pc_buf_put(req->head_in);
        hc->req = NULL;
        pool_put(req->r.pool);
    }
    pc_buf_put(hc->in);
    c->data = NULL;
    hc_release(hc);
    pc_conn_shutdown(c);            /* TLS: close_notify, free the SSL */
    pc_conn_close(c);
}

/* ---------------------------------------------------------------------
 * Connection setup
 * ------------------------------------------------------------------- */

/* Contract: listener handler for http listeners.  Takes c over (c->data,
 * watchers, drain/terminate hooks) with no buffer and no pool until the
 * first byte; closes c on ENOMEM. */
void
pc_http_init_connection(pc_conn_t *c)
{
    pc_http_conn_t *hc = hc_alloc();

    if (hc == NULL) {
        pc_log(PC_LOG_ALERT, 0, "http: no memory for a connection");
        pc_conn_shutdown(c);
        pc_conn_close(c);
        return;
    }
    hc->u.c = c;
    hc->state = PC_HC_IDLE;
    hc->fresh = 1;
    c->data = hc;
    c->proto = &http_proto;
    ev_init(&c->timer, on_timer);
    c->timer.data = c;
    pc_conn_want_read(c, true);
    /* The first head is bounded from accept: a client that connects and
     * says nothing is gone after client_header_timeout. */
    pc_conn_timer_set(c, default_conf(c)->client_header_timeout);
}

/*
 * Graceful drain of an idle connection.  Closing it at once races with a
 * request already on the wire: a connection accepted a moment ago, or a
 * keep-alive client reusing its connection.  Such a request did nothing
 * wrong, so it is served (with Connection: close, as hc->draining makes
 * every response do); a connection with nothing waiting gets a short grace
 * and is then closed quietly by the idle timer, as at keep-alive expiry.
 */
#define PC_HTTP_DRAIN_GRACE_MS  1000

static void
drain_idle(pc_http_conn_t *hc)
{
    pc_conn_t *c = hc->u.c;
    u_char     b;

    if (recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
        return;                         /* the read watcher serves it */
    if (pc_conn_timer_left(c) < 0 || pc_conn_timer_left(c) > PC_HTTP_DRAIN_GRACE_MS)
        pc_conn_timer_set(c, PC_HTTP_DRAIN_GRACE_MS);
}

static void
on_drain(pc_conn_t *c)
{
    pc_http_conn_t *hc = c->data;

    if (hc == NULL)
        return;
    hc->draining = 1;
    if (hc->state == PC_HC_LINGER)
        conn_close(hc);
    else if (hc->state == PC_HC_IDLE)
        drain_idle(hc);
    /* else: its request finishes with Connection: close */
}

/* Fast shutdown, shutdown_timeout, or accept taking a reusable (IDLE) one's
 * slot: all ends now (pool cleanups free upstreams); IDLE closes politely. */
static void
on_terminate(pc_conn_t *c)
{
    pc_http_conn_t *hc = c->data;

    if (hc == NULL) {
        pc_conn_shutdown(c);
        pc_conn_close(c);
        return;
    }
    c->error |= hc->state != PC_HC_IDLE;
    conn_close(hc);
}

/* ---------------------------------------------------------------------
 * Request creation and setup
 * ------------------------------------------------------------------- */

/* A new request whose head starts at hc->in->pos, in pool. */
static pc_rc_t
request_new(pc_http_conn_t *hc, pc_pool_t *pool)
{
    pc_conn_t           *c = hc->u.c;
    pc_http_addr_conf_t *addr = c->listening->data;
    pc_http_core_conf_t *ccf = default_conf(c);
    pc_http_header_t    *hdrs;
    pc_http_req_t       *req;
    pc_http_request_t   *r;

    req = pc_pcalloc(pool, sizeof(pc_http_req_t));
    hdrs = pc_palloc(pool, PC_HTTP_MAX_HEADERS * sizeof(pc_http_header_t));
    if (req == NULL || hdrs == NULL)
        return PC_ERROR;
    r = &req->r;
    r->ctx = pc_pcalloc(pool, (pc_modules_n + 1) * sizeof(void *));
    if (r->ctx == NULL)
        return PC_ERROR;
    r->c = c;
    r->hc = hc;
    r->pool = pool;
    r->server = addr->default_server;
    r->loc_conf = r->server->confs;
    r->http_version = 11;
    r->out_content_length = -1;
    r->start_mono_ms = pc_time.mono_ms;
    r->start_wall_ms = pc_time.wall_ms;
    r->connection_requests = ++hc->nrequests;
    req->limits.max_request_line = (uint32_t) pc_min(ccf->large_header_buffer_size, UINT32_MAX);
    req->limits.max_header_line = req->limits.max_request_line;
    req->limits.max_head = (uint32_t) pc_min(ccf->large_header_buffer_size
                                             * (size_t) ccf->large_header_buffers_num,
                                             UINT32_MAX);
    pc_http_parser_init(&req->parser, &r->head, hdrs, PC_HTTP_MAX_HEADERS, &req->limits);
    req->head_in = hc->in;
    r->head_buf = hc->in->pos;
    ev_init(&req->send_timer, pc_http_send_timeout);
    req->send_timer.data = c;

    hc->req = req;
    hc->state = PC_HC_HEAD;
    pc_conn_reusable(c, false);         /* a slowloris is not reusable */
    if (!hc->fresh)
        pc_conn_timer_set(c, ccf->client_header_timeout);
    hc->fresh = 0;
    return PC_OK;
}

/* $host: the authority's host, lowercased, without port or trailing dot. */
static pc_rc_t
set_host(pc_http_request_t *r)
{
    const u_char *h = r->head_buf + r->head.host_off;
    size_t        len = r->head.host_len, n;

    if (!r->head.has_host || len == 0)
        return PC_OK;
    if (h[0] == '[') {
        for (n = 0; n < len && h[n] != ']'; n++) { }
        len = pc_min(n + 1, len);
    } else {
        for (n = 0; n < len && h[n] != ':'; n++) { }
        len = n;
        if (len > 0 && h[len - 1] == '.')
            len--;
    }
    r->host.data = pc_pnalloc(r->pool, len + 1);
    if (r->host.data == NULL)
        return PC_ERROR;
    pc_strlow(r->host.data, h, len);
    r->host.data[len] = '\0';
    r->host.len = len;
    return PC_OK;
}

/* Dotted-quad text of a (4 bytes) at dst (16 bytes room); returns the end.
 * inet_ntop() formats through stdio: a quarter of a small request's cost. */
static u_char *
ipv4_text(u_char *dst, const u_char *a)
{
    unsigned i, v;

    for (i = 0; i < 4; i++) {
        v = a[i];
        if (v >= 100)
            *dst++ = (u_char) ('0' + v / 100);
        if (v >= 10)
            *dst++ = (u_char) ('0' + v / 10 % 10);
        *dst++ = (u_char) ('0' + v % 10);
        *dst++ = '.';
    }
    return dst - 1;
}

static pc_rc_t
set_remote(pc_http_request_t *r)
{
    pc_conn_t *c = r->c;
    const void *a;
    char        text[INET6_ADDRSTRLEN];

    memcpy(&r->remote, &c->peer, pc_min((size_t) c->peerlen, sizeof(r->remote)));
    r->remotelen = c->peerlen;
    if (c->peer.sa.sa_family == AF_INET) {
        r->remote_port = ntohs(((const struct sockaddr_in *) &c->peer)->sin_port);
        r->remote_addr.data = pc_pnalloc(r->pool, INET_ADDRSTRLEN);
        if (r->remote_addr.data == NULL)
            return PC_ERROR;
        a = &((const struct sockaddr_in *) &c->peer)->sin_addr;
        r->remote_addr.len = (size_t) (ipv4_text(r->remote_addr.data, a) - r->remote_addr.data);
        r->remote_addr.data[r->remote_addr.len] = '\0';
        return PC_OK;
    }
    if (c->peer.sa.sa_family == AF_INET6) {
        a = &((const struct sockaddr_in6 *) &c->peer)->sin6_addr;
        r->remote_port = ntohs(((const struct sockaddr_in6 *) &c->peer)->sin6_port);
    } else {
        return PC_OK;
    }
    if (inet_ntop(c->peer.sa.sa_family, a, text, sizeof(text)) == NULL)
        return PC_OK;
    r->remote_addr.len = strlen(text);
    r->remote_addr.data = pc_pstrdup(r->pool, (const u_char *) text, r->remote_addr.len);
    return r->remote_addr.data != NULL ? PC_OK : PC_ERROR;
}

/* $uri: the normalised path ("/" for an empty absolute-form path, "*" for
 * the asterisk form).  PC_OK, 400, or PC_ERROR. */
static pc_rc_t
set_uri(pc_http_request_t *r)
{
    const u_char *path = r->head_buf + r->head.path_off;
    size_t        len = r->head.path_len;

    if (len == 0) {
        pc_str_set(&r->uri, "/");
        return PC_OK;
    }
    if (len == 1 && path[0] == '*') {
        pc_str_set(&r->uri, "*");
        return PC_OK;
    }
    r->uri.data = pc_pnalloc(r->pool, len);
    if (r->uri.data == NULL)
        return PC_ERROR;
    if (pc_http_normalize_path(path, len, r->uri.data, &r->uri.len) != PC_OK) {
        r->error_reason = "invalid request path";
        return 400;
    }
    return PC_OK;
}

/* Method, target and request line: set once the parser accepted the
 * request line (h->version != 0), even when a later header failed, so
 * errors are logged with their request. */
static void
set_request_line(pc_http_request_t *r)
{
    pc_http_head_t *h = &r->head;
    u_char         *b = r->head_buf;

    r->method = h->method;
    r->http_version = h->version;
    r->method_name = (pc_str_t) { h->method_len, b + h->method_off };
    r->unparsed_uri = (pc_str_t) { h->target_len, b + h->target_off };
    if (h->absolute_form) {
        /* $request_uri is what follows the authority, as nginx has it:
         * "/p?q", "?q" (no path), "/" (neither) */
        r->unparsed_uri.data = b + h->path_off;
        r->unparsed_uri.len = h->target_off + h->target_len - h->path_off;
        if (r->unparsed_uri.len == 0)
            pc_str_set(&r->unparsed_uri, "/");
    }
    /* method SP target SP HTTP/1.x: the parser allows nothing else. */
    r->request_line = (pc_str_t) { h->target_off + h->target_len + 9 - h->method_off,
                                   b + h->method_off };
}

/* What a failed head (malformed, too large, timed out, cut) told, for the
 * logs, as nginx logs it: the peer, the request line once parsed; $uri,
 * $args and $host once it was valid (and Host accepted).  Best effort. */
static void
set_partial(pc_http_request_t *r)
{
    pc_http_head_t *h = &r->head;

    (void) set_remote(r);
    if (h->version == 0)
        return;
    set_request_line(r);
    if (!h->line_ok)
        return;
    if (h->has_query)
        r->args = (pc_str_t) { h->query_len, r->head_buf + h->query_off };
    if (set_uri(r) != PC_OK)
        r->uri.len = 0;
    if (h->host_len > 0)
        (void) set_host(r);
}

/* Fill the request fields from the parsed head and choose the server.
 * PC_OK, an HTTP status, or PC_ERROR. */
static pc_rc_t
request_setup(pc_http_req_t *req)
{
    pc_http_request_t *r = &req->r;
    pc_http_head_t    *h = &r->head;
    u_char            *b = r->head_buf;
    pc_http_server_t  *s;
    pc_rc_t            rc;

    set_request_line(r);
    if (h->has_query)
        r->args = (pc_str_t) { h->query_len, b + h->query_off };
    r->keepalive = !h->conn_close && (h->version >= 11 || h->conn_keep_alive);
    r->body_done = h->body == PC_HTTP_BODY_NONE
                   || (h->body == PC_HTTP_BODY_LENGTH && h->content_length == 0);
    if (h->body == PC_HTTP_BODY_CHUNKED)
        pc_http_chunked_init(&req->chunked, 0, 0);
    if (set_remote(r) != PC_OK || set_host(r) != PC_OK)
        return PC_ERROR;

    s = pc_http_find_server(r->c->listening->data, &r->host, r);
    if (s != NULL) {
        r->server = s;
        r->loc_conf = s->confs;
    }
    rc = set_uri(r);
    if (rc != PC_OK)
        return rc;
    if (r->c->plain_tls) {                  /* see pc_tls_io.c hs_plain_http */
        r->error_reason = "plain HTTP request sent to HTTPS port";
        return 400;
    }
    /* CONNECT and TRACE are not for a gateway; a method token with lowercase
     * letters ("get": no method anyone implements, methods are case-
     * sensitive) is a classic smuggling probe: 501 and close. */
    if (r->method == PC_HTTP_CONNECT || r->method == PC_HTTP_TRACE
        || (r->method == PC_HTTP_UNKNOWN && pc_str_has_lower(&r->method_name))) {
        r->error_reason = "method not implemented";
        return 501;
    }
    r->phase = PC_HTTP_PHASE_POST_READ;
    r->hook = 0;
    return PC_OK;
}

/* The head is complete (rc PC_OK) or malformed (PC_ERROR): run the request
 * or answer the error.  Module code runs here, under the busy guard. */
static void
request_start(pc_http_conn_t *hc, pc_rc_t parse_rc)
{
    pc_http_req_t     *req = hc->req;
    pc_http_request_t *r = &req->r;
    pc_conn_t         *c = hc->u.c;
    pc_rc_t            rc;

    hc->state = PC_HC_ACTIVE;
    /* reading stays on: read_active stops it at the first event nobody
     * wants, and an unchanged epoll set costs no epoll_ctl per request. */
    pc_conn_timer_set(c, 0);
    hc->busy++;
    if (parse_rc != PC_OK) {
        set_partial(r);
        r->request_length = (uint64_t) (hc->in->last - hc->in->pos);
        pc_http_send_error(r, r->head.error_status ? r->head.error_status : 400,
                           r->head.error != NULL ? r->head.error : "bad request");
        pc_http_finalize(r, PC_DONE);
    } else {
        hc->in->pos += r->head.head_len;
        r->request_length = r->head.head_len;
        rc = request_setup(req);
        if (rc == PC_OK)
            pc_http_phase_run(r);
        else
            pc_http_finalize(r, rc);
    }
    hc->busy--;
}

/* ---------------------------------------------------------------------
 * Reading the head
 * ------------------------------------------------------------------- */

/* Make room at the end of the input buffer for more head bytes: slide the
 * head to the front, or move it once into one large_client_header_buffers
 * block.  PC_OK, or PC_ERROR when the head already fills the largest. */
static pc_rc_t
head_room(pc_http_conn_t *hc)
{
    pc_http_req_t *req = hc->req;
    pc_buf_t      *in = hc->in, *nb;
    size_t         len = (size_t) (in->last - in->pos);

    if (in->last < in->end)
        return PC_OK;
    if (in->pos > in->start) {
        memmove(in->start, in->pos, len);
    } else {
        if (len >= req->limits.max_head)
            return PC_ERROR;
        nb = pc_buf_get(req->limits.max_head);
        if (nb == NULL)
            return PC_ERROR;
        memcpy(nb->start, in->pos, len);
        pc_buf_put(in);
        hc->in = req->head_in = in = nb;
    }
    in->pos = in->start;
    in->last = in->start + len;
    req->r.head_buf = in->pos;
    return PC_OK;
}

/* Parse what is buffered.  PC_OK when the request ran (or was answered),
 * PC_AGAIN when more bytes are needed. */
static pc_rc_t
head_step(pc_http_conn_t *hc)
{
    pc_http_req_t *req = hc->req;
    pc_buf_t      *in = hc->in;
    pc_rc_t        rc;

    req->r.head_buf = in->pos;
    rc = pc_http_parse_request(&req->parser, in->pos, (size_t) (in->last - in->pos));
    if (rc == PC_AGAIN) {
        pc_conn_want_read(hc->u.c, true);
        return PC_AGAIN;
    }
    request_start(hc, rc);
    return PC_OK;
}

/* Readable while IDLE or HEAD. */
static void
read_head(pc_http_conn_t *hc)
{
    pc_conn_t *c = hc->u.c;
    pc_pool_t *pool;
    ssize_t    n;

    if (hc->in == NULL) {
        hc->in = pc_buf_get(default_conf(c)->client_header_buffer_size);
        if (hc->in == NULL) {
            conn_close(hc);
            return;
        }
    }
    if (hc->req != NULL && head_room(hc) != PC_OK) {
        /* Only reached when the parser did not already stop the head at
         * its limit: treat as too large. */
        hc->req->r.head.error_status = 431;
        hc->req->r.head.error = "header section too large";
        request_start(hc, PC_ERROR);
        drive(hc);
        return;
    }
    n = pc_conn_recv(c, hc->in->last, (size_t) (hc->in->end - hc->in->last));
    if (n > 0) {
        hc->in->last += n;
        if (hc->req == NULL) {
            pool = pool_get();
            if (pool == NULL || request_new(hc, pool) != PC_OK) {
                if (pool != NULL)
                    pool_put(pool);
                conn_close(hc);
                return;
            }
        }
        drive(hc);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (hc->req == NULL) {
            /* Spurious wake-up of an idle connection: hold nothing. */
            pc_buf_put(hc->in);
            hc->in = NULL;
        }
        return;
    }
    /* EOF or error.  Mid-head it is logged as a 400, like nginx. */
    if (hc->req != NULL) {
        hc->req->r.status = 400;
        hc->req->r.request_length = (uint64_t) (hc->in->last - hc->in->pos);
        set_partial(&hc->req->r);
    }
    conn_close(hc);
}

/* ---------------------------------------------------------------------
 * Ending a request: LOG phase, keep-alive, pipelining, close
 * ------------------------------------------------------------------- */

/* A client sent "Expect: 100-continue", had no 100 Continue, and may hold
 * its body back: the next bytes may be the body or the next request, so no
 * reuse.  But RFC 9110 §10.1.1 lets it send without waiting: once a body
 * byte is here, the body is drained like any other. */
static bool
expect_waiting(pc_http_req_t *req)
{
    pc_http_request_t *r = &req->r;
    const pc_buf_t    *in = r->hc->in;

    return r->head.expect_continue && !r->expect_sent && req->body_raw == 0
           && req->body_in == 0 && (in == NULL || in->pos == in->last);
}

/* Contract: whether the connection may serve another request after this
 * response; pure decision from r, the connection and the worker state. */
bool
pc_http_req_keepalive(pc_http_req_t *req)
{
    pc_http_request_t   *r = &req->r;
    pc_http_conn_t      *hc = r->hc;
    pc_http_core_conf_t *ccf = pc_http_core_conf(r);

    if (!r->keepalive || hc->draining || r->c->error
        || (pc_worker != NULL && pc_worker->draining))
        return false;
    if (ccf->keepalive_timeout <= 0 || ccf->keepalive_requests <= (intptr_t) hc->nrequests)
        return false;
    if (r->body_done)
        return true;
    /* The body must still be drainable for the next request to be parsed. */
    if (req->body_status != 0 || expect_waiting(req))
        return false;
    return !(ccf->client_max_body_size != 0 && r->head.body == PC_HTTP_BODY_LENGTH
             && (uint64_t) r->head.content_length > ccf->client_max_body_size);
}

static bool
req_can_end(pc_http_req_t *req)
{
    if (req->r.c->error)
        return true;
    if (!req->finalized || req->nspans > 0)
        return false;
    return !req->r.keepalive || req->r.body_done;
}

static void
start_linger(pc_http_conn_t *hc)
{
    pc_conn_t *c = hc->u.c;

    pc_buf_put(hc->in);
    hc->in = NULL;
    hc->state = PC_HC_LINGER;
    hc->nrequests = 0;
    /* TLS: close_notify goes out before the half-close (the I/O layer
     * ends here; linger_read drops raw bytes). */
    pc_conn_shutdown(c);
    if (shutdown(c->fd, SHUT_WR) == -1) {
        conn_close(hc);
        return;
    }
    pc_conn_want_read(c, true);
    pc_conn_timer_set(c, LINGER_MS);
}

static void
linger_read(pc_http_conn_t *hc)
{
    pc_conn_t *c = hc->u.c;
    ssize_t    n;
    int        i;

    /* Raw recv: the bytes are dropped, even TLS records need no decoding. */
    for (i = 0; i < 16; i++) {
        n = recv(c->fd, linger_scratch, sizeof(linger_scratch), 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (n <= 0 || ++hc->nrequests > LINGER_MAX_KIB * 1024 / sizeof(linger_scratch)) {
            conn_close(hc);
            return;
        }
    }
}

/* The response is written and the body consumed (or the connection is
 * going): log, then reuse the connection or close it.  PC_OK when the next
 * pipelined request is ready to parse; PC_DONE otherwise. */
static pc_rc_t
req_end(pc_http_conn_t *hc)
{
    pc_http_req_t     *req = hc->req;
    pc_http_request_t *r = &req->r;
    pc_conn_t         *c = hc->u.c;
    pc_buf_t          *in = hc->in;
    pc_pool_t         *pool = r->pool;
    pc_msec_t          ka = pc_http_core_conf(r)->keepalive_timeout;
    bool               keep, linger;

    keep = r->keepalive && r->body_done && !c->error && !req->truncated && !hc->draining;
    linger = !keep && !c->error && !c->eof
             && (r->status >= 400 || !r->body_done || in->pos < in->last);
    ev_timer_stop(LOOP(c), &req->send_timer);
    pc_conn_want_write(c, false);
    pc_conn_timer_set(c, 0);
    r->done = 1;
    req_log(hc, req);

    if (req->head_in != in)
        pc_buf_put(req->head_in);
    hc->req = NULL;
    if (keep && in->pos < in->last) {
        /* Pipelined: the next head is already here. */
        pc_pool_reset(pool);
        if (request_new(hc, pool) == PC_OK)
            return PC_OK;
        pool_put(pool);
        conn_close(hc);
        return PC_DONE;
    }
    pool_put(pool);
    if (!keep) {
        if (linger)
            start_linger(hc);
        else
            conn_close(hc);
        return PC_DONE;
    }
    pc_buf_put(in);
    hc->in = NULL;
    hc->state = PC_HC_IDLE;
    pc_conn_want_read(c, true);
    pc_conn_timer_set(c, ka);
    pc_conn_reusable(c, true);
    return PC_DONE;
}

/*
 * Run whatever the connection can do now: parse buffered heads, end
 * finished requests, start pipelined ones, perform a deferred close.
 * Loops instead of recursing, so pipelined requests cost no stack.
 */
static void
drive(pc_http_conn_t *hc)
{
    for ( ;; ) {
        if (hc->busy > 0)
            return;
        if (hc->close_pending) {
            hc->close_pending = 0;
            conn_close(hc);
            return;
        }
        if (hc->req == NULL)
            return;
        if (hc->state == PC_HC_HEAD) {
            if (head_step(hc) != PC_OK)
                return;
            continue;
        }
        if (hc->state != PC_HC_ACTIVE || !req_can_end(hc->req))
            return;
        if (req_end(hc) != PC_OK)
            return;
    }
}

/* Contract: the client connection failed: marks it, and ends the request
 * and closes now or when the runtime frames unwind. */
void
pc_http_req_abort(pc_http_req_t *req)
{
    req->r.c->error = 1;
    req->r.keepalive = 0;
    req->truncated = 1;
    if (req->r.hc->busy == 0)
        drive(req->r.hc);
}

/* Contract: the output queue drained; wakes a producer parked on
 * r->write_event_handler (not after pc_http_finalize). */
void
pc_http_req_output_done(pc_http_req_t *req)
{
    pc_http_request_t *r = &req->r;

    if (!req->finalized && r->write_event_handler != NULL)
        r->write_event_handler(r);
}

/* Contract: see pc_http.h.  Idempotent; sends the error response for
 * PC_ERROR / a status when the head is not out yet (else cuts the response
 * short and closes), queues the end of the body, starts discarding an
 * unread body on a keep-alive connection.  r may be gone on return. */
void
pc_http_finalize(pc_http_request_t *r, pc_rc_t rc)
{
    pc_http_req_t  *req = pc_http_req(r);
    pc_http_conn_t *hc = r->hc;

    if (req->finalized)
        return;
    if (rc == PC_ERROR || rc >= 100 || !r->header_sent) {
        if (!r->header_sent) {
            if (rc < 100) {
                r->internal_error = 1;
                r->error_reason = rc == PC_ERROR ? "internal error" : "no response produced";
            }
            if (pc_http_send_error(r, rc >= 100 ? rc : 500, NULL) != PC_OK)
                r->c->error = 1;
        } else {
            /* Too late for an error response: cut the response short so
             * the client sees it is incomplete. */
            req->truncated = 1;
            r->keepalive = 0;
            /* What is queued (at least the head) must still leave, or the
             * request-end check would wait for it forever. */
            if (!r->c->error)
                (void) pc_http_write_flush(req);
        }
    }
    req->finalized = 1;
    if (!req->last_sent && !req->truncated && !r->c->error)
        (void) pc_http_send_body(r, NULL, 1);
    if (!r->body_done && r->keepalive && !req->discarding)
        pc_http_body_discard(r);
    if (hc->busy == 0)
        drive(hc);
}

/* ---------------------------------------------------------------------
 * Request body
 * ------------------------------------------------------------------- */

/* Move the input position to p, counting body input bytes. */
static void
advance(pc_http_req_t *req, const u_char *p)
{
    pc_buf_t *in = req->r.hc->in;

    req->body_in += (uint64_t) (p - in->pos);
    in->pos = (u_char *) p;
}

/* Hand out the next payload span from buffered input.  PC_OK (span set),
 * PC_AGAIN (need bytes), PC_DONE, or an HTTP status. */
static pc_rc_t
body_parse(pc_http_req_t *req, const u_char **data, size_t *len)
{
    pc_http_request_t   *r = &req->r;
    pc_buf_t            *in = r->hc->in;
    pc_http_core_conf_t *ccf = pc_http_core_conf(r);
    const u_char        *p, *d;
    size_t               dl;
    uint64_t             left;
    pc_rc_t              rc;

    if (r->head.body == PC_HTTP_BODY_LENGTH) {
        left = (uint64_t) r->head.content_length - (uint64_t) r->body_received;
        if (left == 0) {
            r->body_done = 1;
            return PC_DONE;
        }
        if (in->pos == in->last)
            return PC_AGAIN;
        d = in->pos;
        dl = (size_t) pc_min(left, (uint64_t) (in->last - in->pos));
        p = d + dl;
    } else {
        for ( ;; ) {
            p = in->pos;
            rc = pc_http_chunked_decode(&req->chunked, &p, in->last, &d, &dl);
            if (rc == PC_ERROR) {
                r->error_reason = req->chunked.error != NULL ? req->chunked.error
                                                             : "invalid chunked body";
                return req->body_status = 400;
            }
            if (rc == PC_OK && dl > 0) {
                advance(req, d);
                break;
            }
            advance(req, p);
            if (rc == PC_DONE) {
                r->body_done = 1;
                return PC_DONE;
            }
            if (rc == PC_AGAIN)
                return PC_AGAIN;
        }
        if (ccf->client_max_body_size != 0
            && (uint64_t) r->body_received + dl > ccf->client_max_body_size)
        {
            r->error_reason = "request body too large";
            return req->body_status = 413;
        }
    }
    r->body_received += (int64_t) dl;
    req->span = *data = d;
    req->span_len = *len = dl;
    req->span_next = p;
    return PC_OK;
}

/* Room at the end of the input for body bytes; the head buffer is kept for
 * the head, body bytes go to a body buffer. */
static pc_rc_t
body_room(pc_http_req_t *req)
{
    pc_http_conn_t *hc = req->r.hc;
    pc_buf_t       *in = hc->in, *nb;
    size_t          len = (size_t) (in->last - in->pos);

    if (in->last < in->end)
        return PC_OK;
    if (in != req->head_in) {
        if (len == in->size)
            return PC_ERROR;        /* framing line larger than a buffer */
        memmove(in->start, in->pos, len);
    } else {
        nb = pc_buf_get(PC_HTTP_BODY_BUF_SIZE);
        if (nb == NULL)
            return PC_ERROR;
        memcpy(nb->start, in->pos, len);
        in->pos = in->last;
        hc->in = in = nb;
    }
    in->pos = in->start;
    in->last = in->start + len;
    return PC_OK;
}

/* Arm the read watcher and the body timer: client_body_timeout, or sooner
 * when client_body_min_rate would be broken by then. */
static void
body_wait(pc_http_req_t *req)
{
    pc_conn_t           *c = req->r.c;
    pc_http_core_conf_t *ccf = pc_http_core_conf(&req->r);
    pc_msec_t            t = ccf->client_body_timeout, due;

    req->body_wait = 1;
    req->wait_start = pc_time.mono_ms;
    pc_conn_want_read(c, true);
    if (ccf->client_body_min_rate > 0) {
        due = (pc_msec_t) (req->body_raw * 1000 / ccf->client_body_min_rate);
        due = pc_max(due, (pc_msec_t) BODY_GRACE_MS) - req->wait_total + 1;
        if (t <= 0 || due < t)
            t = pc_max(due, 1);
    }
    pc_conn_timer_set(c, t);
}

static void
send_continue(pc_http_req_t *req)
{
    static const u_char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    pc_conn_t   *c = req->r.c;
    struct iovec iov = { (void *) cont, sizeof(cont) - 1 };
    ssize_t      n = 0;

    req->r.expect_sent = 1;
    if (req->nspans == 0) {
        n = pc_conn_writev(c, &iov, 1);
        if (n == (ssize_t) iov.iov_len)
            return;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return;                 /* c->error is set: the request fails */
        n = pc_max(n, 0);
    }
    if (pc_http_write_queue(req, cont + n, iov.iov_len - (size_t) n) == PC_OK) {
        req->head_len += (uint32_t) (iov.iov_len - (size_t) n);
        (void) pc_http_write_flush(req);
    }
}

/* Read more body bytes from the socket.  PC_OK (bytes arrived), PC_AGAIN
 * (watcher armed), or an HTTP status. */
static pc_rc_t
body_recv(pc_http_req_t *req, int may_continue)
{
    pc_http_request_t   *r = &req->r;
    pc_conn_t           *c = r->c;
    pc_http_core_conf_t *ccf = pc_http_core_conf(r);
    pc_buf_t            *in;
    ssize_t              n;

    if (c->eof || c->error) {
        r->error_reason = "client closed the connection before the end of the body";
        return req->body_status = 400;
    }
    if (may_continue && r->head.expect_continue && !r->expect_sent) {
        send_continue(req);
        body_wait(req);
        return PC_AGAIN;
    }
    if (body_room(req) != PC_OK) {
        r->error_reason = "invalid chunked body";
        return req->body_status = 400;
    }
    in = r->hc->in;
    n = pc_conn_recv(c, in->last, (size_t) (in->end - in->last));
    if (n > 0) {
        in->last += n;
        req->body_raw += (uint64_t) n;
        if (ccf->client_body_min_rate > 0 && req->wait_total > BODY_GRACE_MS
            && req->body_raw * 1000 < ccf->client_body_min_rate * (uint64_t) req->wait_total)
        {
            r->error_reason = "client body too slow (client_body_min_rate)";
            return req->body_status = 408;
        }
        return PC_OK;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        body_wait(req);
        return PC_AGAIN;
    }
    r->error_reason = "client closed the connection before the end of the body";
    return req->body_status = 400;
}

/* Take body bytes already in the socket, arming nothing: for a body that
 * may never come (expect_waiting). */
static void
body_peek(pc_http_req_t *req)
{
    pc_buf_t *in;
    ssize_t   n;

    if (req->r.c->eof || req->r.c->error || body_room(req) != PC_OK)
        return;
    in = req->r.hc->in;
    n = pc_conn_recv(req->r.c, in->last, (size_t) (in->end - in->last));
    if (n > 0) {
        in->last += n;
        req->body_raw += (uint64_t) n;
    }
}

static pc_rc_t
body_read(pc_http_req_t *req, const u_char **data, size_t *len, int may_continue)
{
    pc_rc_t rc;

    *data = NULL;
    *len = 0;
    if (req->span_len > 0) {
        *data = req->span;
        *len = req->span_len;
        return PC_OK;
    }
    if (req->r.body_done)
        return PC_DONE;
    if (req->body_status != 0)
        return req->body_status;
    if (req->body_wait)
        return PC_AGAIN;
    for ( ;; ) {
        rc = body_parse(req, data, len);
        if (rc != PC_AGAIN)
            return rc;
        rc = body_recv(req, may_continue);
        if (rc != PC_OK)
            return rc;
    }
}

/* Contract: see pc_http.h.  The span stays valid and is returned again
 * until pc_http_body_consumed() releases it; PC_ERROR while discarding. */
pc_rc_t
pc_http_body_read(pc_http_request_t *r, const u_char **data, size_t *len)
{
    pc_http_req_t *req = pc_http_req(r);

    if (req->discarding) {
        *data = NULL;
        *len = 0;
        return PC_ERROR;
    }
    return body_read(req, data, len, 1);
}

/* Contract: releases len bytes (at most the span) of the last span
 * returned by pc_http_body_read(). */
void
pc_http_body_consumed(pc_http_request_t *r, size_t len)
{
    pc_http_req_t *req = pc_http_req(r);

    len = pc_min(len, req->span_len);
    req->span += len;
    req->span_len -= len;
    advance(req, req->span_len > 0 ? req->span : req->span_next);
}

/* Contract: see pc_http.h.  Starts draining at once (buffered bytes first);
 * when the body cannot be drained (waiting for 100 Continue, declared
 * over client_max_body_size, already failed) the connection closes after
 * the response instead. */
void
pc_http_body_discard(pc_http_request_t *r)
{
    pc_http_req_t       *req = pc_http_req(r);
    pc_http_core_conf_t *ccf = pc_http_core_conf(r);

    if (r->body_done || req->discarding)
        return;
    r->discard_body = 1;
    /* A client waiting for 100 Continue never sends the body (one that did
     * not wait may have: look once); a declared body over the limit is not
     * worth reading: close after the response. */
    if (expect_waiting(req))
        body_peek(req);
    if (req->body_status != 0 || expect_waiting(req)
        || (ccf->client_max_body_size != 0 && r->head.body == PC_HTTP_BODY_LENGTH
            && (uint64_t) r->head.content_length > ccf->client_max_body_size))
    {
        r->keepalive = 0;
        return;
    }
    req->discarding = 1;
    discard_step(req);
}

static void
discard_step(pc_http_req_t *req)
{
    const u_char *d;
    size_t        len;
    pc_rc_t       rc;

    for ( ;; ) {
        rc = body_read(req, &d, &len, 0);
        if (rc != PC_OK)
            break;
        pc_http_body_consumed(&req->r, len);
    }
    if (rc == PC_AGAIN)
        return;
    req->discarding = 0;
    if (rc != PC_DONE)
        req->r.keepalive = 0;
}

/* ---------------------------------------------------------------------
 * Events
 * ------------------------------------------------------------------- */

/* Contract: see pc_http.h. */
void
pc_http_watch_client(pc_http_request_t *r, pc_http_event_pt handler)
{
    pc_http_req_t *req = pc_http_req(r);

    req->gone_handler = req->gone_quiet ? NULL : handler;
    if (req->gone_handler != NULL)
        pc_conn_want_read(r->c, true);
}

/* Readable while ACTIVE and nobody reads the body.  For a watcher (pc_http_
 * watch_client) peek: EOF or an error means the client is gone.  Otherwise,
 * or on bytes, stop reading until the request ends: no busy loop. */
static void
watch_gone(pc_http_conn_t *hc)
{
    pc_http_req_t     *req = hc->req;
    pc_conn_t         *c = hc->u.c;
    pc_http_event_pt   handler = req->gone_handler;
    u_char             byte;
    ssize_t            n;

    if (handler != NULL) {
        n = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (n == 0)
            errno = 0;
        req->gone_handler = NULL;
        req->gone_quiet = 1;
        if (n <= 0) {
            pc_conn_want_read(c, false);
            hc->busy++;
            handler(&req->r);
            hc->busy--;
            drive(hc);
            return;
        }
    }
    pc_conn_want_read(c, false);
}

/* Readable while ACTIVE: body bytes for a waiting handler or the discard. */
static void
read_active(pc_http_conn_t *hc)
{
    pc_http_req_t     *req = hc->req;
    pc_http_request_t *r = &req->r;
    pc_conn_t         *c = hc->u.c;

    if (!req->body_wait) {
        watch_gone(hc);
        return;
    }
    pc_conn_want_read(c, false);
    req->body_wait = 0;
    pc_conn_timer_set(c, 0);
    req->wait_total += pc_time.mono_ms - req->wait_start;
    hc->busy++;
    if (req->discarding)
        discard_step(req);
    else if (r->read_event_handler != NULL)
        r->read_event_handler(r);
    hc->busy--;
    drive(hc);
}

static void
on_read(pc_conn_t *c)
{
    pc_http_conn_t *hc = c->data;

    if (hc == NULL) {
        pc_conn_want_read(c, false);
        return;
    }
    switch (hc->state) {
    case PC_HC_IDLE:
    case PC_HC_HEAD:
        read_head(hc);
        break;
    case PC_HC_ACTIVE:
        read_active(hc);
        break;
    default:
        linger_read(hc);
        break;
    }
}

/* client_body_timeout or client_body_min_rate expired while waiting. */
static void
body_timeout(pc_http_conn_t *hc)
{
    pc_http_req_t       *req = hc->req;
    pc_http_request_t   *r = &req->r;
    pc_conn_t           *c = hc->u.c;
    pc_http_core_conf_t *ccf = pc_http_core_conf(r);
    pc_msec_t            waited = pc_time.mono_ms - req->wait_start;

    if (!req->body_wait)
        return;
    req->body_wait = 0;
    pc_conn_want_read(c, false);
    req->wait_total += waited;
    req->body_status = 408;
    r->error_reason = ccf->client_body_timeout > 0 && waited >= ccf->client_body_timeout
                      ? "client body timeout" : "client body too slow (client_body_min_rate)";
    hc->busy++;
    if (req->discarding) {
        req->discarding = 0;
        r->keepalive = 0;
    } else if (r->read_event_handler != NULL) {
        r->read_event_handler(r);
    } else {
        pc_http_finalize(r, 408);
    }
    hc->busy--;
    drive(hc);
}

static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    pc_conn_t         *c = w->data;
    pc_http_conn_t    *hc = c->data;
    pc_http_request_t *r;

    PC_UNUSED(loop);
    PC_UNUSED(revents);
    if (!pc_conn_timer_expired(c) || hc == NULL)
        return;
    switch (hc->state) {
    case PC_HC_HEAD:
        /* Part of a head arrived but not all of it in time. */
        r = &hc->req->r;
        r->head.error_status = 408;
        r->head.error = "client header timeout";
        request_start(hc, PC_ERROR);
        drive(hc);
        break;
    case PC_HC_ACTIVE:
        body_timeout(hc);
        break;
    default:
        /* IDLE (nothing of a request arrived) or LINGER: close quietly. */
        conn_close(hc);
        break;
    }
}

/* ---------------------------------------------------------------------
 * Request headers
 * ------------------------------------------------------------------- */

/* Contract: the value of the first request field named name[0..len)
 * (case-insensitive), pointing into the head buffer; data NULL when absent. */
pc_str_t
pc_http_header_in(pc_http_request_t *r, const char *name, size_t len)
{
    const pc_http_header_t *h;
    pc_str_t                v = pc_null_string;

    h = pc_http_head_find_name(&r->head, r->head_buf, (const u_char *) name, len);
    if (h != NULL) {
        v.data = r->head_buf + h->value;
        v.len = h->value_len;
    }
    return v;
}

/* Contract: see pc_http.h.  Walks the worker's connection list (called
 * about once a second by the status module, not per request).  A fresh
 * connection (no byte yet) counts as reading, like nginx. */
void
pc_http_conn_stats(pc_http_conn_stats_t *st)
{
    const pc_conn_t      *c;
    const pc_http_conn_t *hc;

    memset(st, 0, sizeof(*st));
    if (pc_worker == NULL)
        return;
    for (c = pc_worker->conns; c != NULL; c = c->next) {
        if (c->upstream || c->listening == NULL)
            continue;
        st->active++;
        if (c->proto != &http_proto || (hc = c->data) == NULL) {
            st->reading++;
            continue;
        }
        switch (hc->state) {
        case PC_HC_IDLE:            /* fresh (no byte yet): reading */
            st->reading += hc->fresh;
            st->idle += !hc->fresh;
            break;
        case PC_HC_HEAD:
            st->reading++;
            break;
        default:
            st->writing++;
            break;
        }
    }
}
