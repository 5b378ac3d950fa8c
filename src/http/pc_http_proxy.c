/*
 * pc_http_proxy.c -- the upstream side of a proxied request: choose a peer,
 * connect (or reuse a pooled connection), send the head and stream the
 * body, parse the response, stream it back, retry when that is safe.
 *
 * Streaming and back-pressure.  One buffer per direction, proxy_buffer_size
 * bytes.  Request body: spans come zero-copy from the client's input
 * (pc_http_body_read); a span is consumed only once written to the
 * upstream, and the next is not asked for before, so a slow upstream stops
 * the client's reads.  A body that is one span (a small Content-Length
 * body) stays unconsumed until the response is complete, so a retry can
 * send it again.  Response body: read into ctx->buf, decoded in place
 * (pc_http_proxy_resp_body), handed to the writer by reference; when the
 * writer says PC_AGAIN the upstream read watcher stops until
 * r->write_event_handler runs.  Memory per request is bounded by the two
 * buffers whatever the body size.
 *
 * Retries.  An attempt that fails before anything reached the client may
 * be retried: (1) on a reused keep-alive connection that failed before any
 * response byte (the upstream closed it as we wrote: the "stale keep-alive"
 * race), once, on a new connection to the same peer, provided no body byte
 * was consumed yet and the request is idempotent or none of it was written
 * (SPEC §4: a non-idempotent request is never re-sent once a byte of it
 * reached an upstream); (2) per proxy_next_upstream on the next peer, never
 * after a byte of a non-idempotent request reached an upstream, never
 * after body bytes were consumed (they are gone), within
 * proxy_next_upstream_tries.
 *
 * Lifetime.  The context lives in r->pool; a pool cleanup releases the
 * upstream connection and the buffers however the request ends (client
 * gone, shutdown).  Upstream events run under pc_http_req_enter/leave, so
 * r stays valid until the callback returns even if the request ends in it.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "event/pc_worker.h"
#include "http/pc_http_log.h"
#include "http/pc_http_proxy.h"
#include "http/pc_http_proxy_msg.h"
#include "http/pc_http_proxy_ctx.h"

static const char *const phase_name[] = { "connect", "send", "read header", "read body" };

static pc_rc_t px_attempt(pc_http_proxy_ctx_t *ctx);
static pc_rc_t px_io(pc_http_proxy_ctx_t *ctx);
static pc_rc_t px_fail(pc_http_proxy_ctx_t *ctx, pc_http_proxy_phase_e phase, int err,
    pc_http_proxy_kind_e kind, const char *what);
static void on_up_read(pc_conn_t *c);
static void on_up_write(pc_conn_t *c);

/* An upstream connection while a request uses it (pooled: upstream.c). */
static const pc_conn_proto_t up_proto = { on_up_read, on_up_write, NULL, NULL };
static void on_up_timer(struct ev_loop *loop, ev_timer *w, int revents);

static pc_http_proxy_ctx_t *
ctx_of(pc_http_request_t *r)
{
    return r->ctx[pc_http_proxy_module.index];
}

/* ------------------------------------------------------------ lifetime */

/* Give the peer back: conns--, then pool or close the connection. */
static void
px_release(pc_http_proxy_ctx_t *ctx, bool keep)
{
    pc_http_upconn_t *uc = ctx->uc;

    if (ctx->peer >= 0) {
        if (ctx->rt->bal.peers[ctx->peer].conns > 0) {
            ctx->rt->bal.peers[ctx->peer].conns--;
        }
        ctx->peer = -1;
    }
    if (uc == NULL) {
        return;
    }
    ctx->uc = NULL;
    uc->owner = NULL;
    if (keep) {
        uc->requests++;
        pc_http_upstream_pool_put(uc);
    } else {
        pc_http_upstream_close(uc);
    }
}

void
pc_http_proxy_stop_client(pc_http_proxy_ctx_t *ctx)
{
    pc_conn_io_stop(PX_LOOP, &ctx->crev);
    pc_conn_io_stop(PX_LOOP, &ctx->cwev);
}

/* r->pool cleanup: whatever state the request ended in. */
static void
px_cleanup(void *data)
{
    pc_http_proxy_ctx_t *ctx = data;

    pc_http_proxy_stop_client(ctx);
    px_release(ctx, false);
    pc_buf_put(ctx->buf);
    pc_buf_put(ctx->cbuf);
    ctx->buf = ctx->cbuf = NULL;
    ctx->state = PX_DONE;
}

/* Give a kept body back to the runtime (it is not needed any more). */
static void
px_release_body(pc_http_proxy_ctx_t *ctx)
{
    if (ctx->held) {
        ctx->held = 0;
        pc_http_body_consumed(ctx->r, ctx->span_len);
        ctx->body_consumed += ctx->span_len;
        ctx->span = NULL;
    }
}

/* End the request: an error status before the response head, a cut-short
 * response after it, or success (PC_DONE). */
pc_rc_t
pc_http_proxy_end(pc_http_proxy_ctx_t *ctx, pc_rc_t rc)
{
    pc_http_request_t *r = ctx->r;
    bool               tunnel = ctx->state == PX_TUNNEL;

    pc_http_proxy_stop_client(ctx);
    px_release(ctx, false);
    px_release_body(ctx);
    ctx->state = PX_DONE;
    if (ctx->natt > 0 && pc_http_proxy_cur(ctx)->response < 0) {
        /* cut short (client gone, write error): the time until now, as
         * nginx logs it, not "-" */
        pc_http_proxy_cur(ctx)->response = PX_NOW - pc_http_proxy_cur(ctx)->start;
    }
    if (rc >= 100 && r->header_sent) {
        rc = PC_ERROR;
    }
    if (rc == PC_ERROR && r->header_sent && !tunnel) {
        /* pc_http_send_header only queues the head; push it (and whatever
         * else is queued) out before the response is cut short, or the
         * runtime would wait for a queue nobody flushes. */
        (void) pc_http_send_body(r, NULL, 0);
    }
    if (rc >= 100 && ctx->reason != NULL) {
        r->error_reason = ctx->reason;
    }
    pc_http_finalize(r, rc);
    return PC_DONE;
}

/* ------------------------------------------------------------- timers */

void
pc_http_proxy_timer(pc_http_proxy_ctx_t *ctx, int kind, pc_msec_t ms, bool restart)
{
    pc_conn_t *c = ctx->uc->c;

    if (kind == 0) {
        pc_conn_timer_set(c, 0);
        ctx->timer_kind = 0;
        return;
    }
    if (ctx->deadline > 0) {
        ms = pc_min(ms, pc_max(ctx->deadline - PX_NOW, 1));
    }
    if (restart || kind != ctx->timer_kind || pc_conn_timer_left(c) < 0) {
        pc_conn_timer_set(c, ms);
        ctx->timer_kind = kind;
    }
}

/*
 * The client went away (EOF, reset) while we wait on the upstream, the
 * request body being complete: end the request now (logged 499, as nginx
 * does) and free the upstream connection, instead of holding both until
 * the upstream answers.  The runtime watches (pc_http_watch_client).
 */
static void
px_client_gone(pc_http_request_t *r)
{
    pc_http_proxy_ctx_t *ctx = ctx_of(r);
    int                  err = errno;
    pc_str_t             line;

    if (ctx->state != PX_CONNECT && ctx->state != PX_ACTIVE) {
        return;
    }
    line = pc_http_log_redacted_request(r);
    pc_log(PC_LOG_INFO, err, "client closed the connection while "
           "waiting for upstream \"%.*s\", client: %.*s, request: \"%.*s\"",
           (int) ctx->u->name.len, ctx->u->name.data, (int) r->remote_addr.len,
           r->remote_addr.data, (int) line.len, line.data);
    r->c->error = 1;
    ctx->reason = "client closed the connection";
    (void) pc_http_proxy_end(ctx, 499);
}

static void
px_watch_client(pc_http_proxy_ctx_t *ctx)
{
    if (ctx->has_body && !ctx->body_eof) {
        return;
    }
    pc_http_watch_client(ctx->r, px_client_gone);
}

/* Watchers and timer of the upstream connection for what we wait on. */
static void
px_arm(pc_http_proxy_ctx_t *ctx)
{
    pc_conn_t *c = ctx->uc->c;
    bool       want_r = !ctx->out_busy;

    px_watch_client(ctx);

    if (ctx->wblocked) {
        pc_conn_want_write(c, true);
    } else {
        pc_conn_want_write(c, false);
    }
    if (want_r) {
        pc_conn_want_read(c, true);
    } else {
        pc_conn_want_read(c, false);
    }
    if (ctx->wblocked) {
        pc_http_proxy_timer(ctx, 1, ctx->plcf->send_timeout, ctx->progress_w);
    } else if (want_r && ctx->req_sent) {
        pc_http_proxy_timer(ctx, 2, ctx->plcf->read_timeout, ctx->progress_r);
    } else {
        pc_http_proxy_timer(ctx, 0, 0, false);
    }
}

/* Take uc for this request: our callbacks, our context. */
static void
px_attach(pc_http_proxy_ctx_t *ctx, pc_http_upconn_t *uc)
{
    pc_conn_t *c = uc->c;

    ctx->uc = uc;
    uc->owner = ctx;
    c->data = uc;
    /* Same fd, same events: ev_set_cb, not ev_io_init, whose "fd may have
     * changed" flag would cost an epoll_ctl per request.  The read watcher
     * keeps running if it was (a pooled connection's idle watch). */
    pc_conn_want_write(c, false);
    pc_conn_timer_set(c, 0);
    c->proto = &up_proto;
    ev_set_cb(&c->timer, on_up_timer);
    ctx->timer_kind = 0;
}

/* --------------------------------------------------------- attempts */

static void
px_reset_attempt(pc_http_proxy_ctx_t *ctx)
{
    if (ctx->held) {
        ctx->held = 0;          /* send the kept body again */
        ctx->body_eof = 0;
    }
    ctx->head_off = 0;
    ctx->span_off = 0;
    ctx->last_off = 0;
    ctx->req_sent = 0;
    ctx->sent_any = 0;
    ctx->wblocked = 0;
    ctx->resp_any = 0;
    ctx->out_busy = 0;
    ctx->head_parsed = 0;
    ctx->buf->pos = ctx->buf->last = ctx->buf->start;
    pc_http_proxy_resp_init(&ctx->resp, ctx->hdrs, PX_MAX_HEADERS,
                            (uint32_t) (ctx->buf->end - ctx->buf->start), ctx->r->method);
}

/* The request head for this attempt (the remaining budget changes). */
static pc_rc_t
px_connected(pc_http_proxy_ctx_t *ctx)
{
    pc_http_proxy_attempt_t *att = pc_http_proxy_cur(ctx);
    pc_rc_t                  rc;

    if (!att->reused) {
        att->connect = PX_NOW - att->start;
    }
    ctx->state = PX_ACTIVE;
    rc = pc_http_proxy_build_head(ctx->r, ctx->plcf, ctx->u, ctx->deadline,
                                  ctx->upgrade, &ctx->head);
    if (rc == PC_DECLINED) {
        ctx->reason = "invalid header value for the upstream";
        return pc_http_proxy_end(ctx, 400);
    }
    if (rc != PC_OK) {
        ctx->reason = "out of memory";
        return pc_http_proxy_end(ctx, 500);
    }
    return px_io(ctx);
}

/* No peer can take this attempt: 503 when none could be tried at all,
 * else the status of the last failure. */
static pc_rc_t
px_no_peer(pc_http_proxy_ctx_t *ctx)
{
    if (ctx->natt == 0) {
        pc_str_t line = pc_http_log_redacted_request(ctx->r);

        pc_log(PC_LOG_ERR, 0, "no live upstreams in upstream \"%.*s\", "
                     "client: %.*s, request: \"%.*s\"", (int) ctx->u->name.len,
                     ctx->u->name.data, (int) ctx->r->remote_addr.len,
                     ctx->r->remote_addr.data, (int) line.len, line.data);
        ctx->reason = "no live upstreams";
        ctx->no_live = 1;
        return pc_http_proxy_end(ctx, 503);
    }
    return pc_http_proxy_end(ctx, pc_http_proxy_cur(ctx)->status == 504 ? 504 : 502);
}

static int
px_pick(pc_http_proxy_ctx_t *ctx, bool *fresh)
{
    intptr_t tries = ctx->plcf->next_upstream_tries;
    int      peer;

    *fresh = ctx->retry_peer >= 0;
    if (ctx->retry_peer >= 0) {
        peer = ctx->retry_peer;
        ctx->retry_peer = -1;
        return peer;
    }
    if ((tries > 0 && ctx->ntries >= (uint32_t) tries) || ctx->natt >= PX_MAX_ATTEMPTS) {
        return PC_HTTP_BALANCER_NONE;
    }
    peer = pc_http_balancer_pick(&ctx->rt->bal, PX_NOW, ctx->tried, ctx->hash);
    if (peer >= 0) {
        pc_http_balancer_tried_set(ctx->tried, (uint32_t) peer);
        ctx->ntries++;
    }
    return peer;
}

/* Two attempts fit in the context (a stale retry included); more, rare,
 * come from r->pool. */
static pc_rc_t
px_grow_attempts(pc_http_proxy_ctx_t *ctx)
{
    pc_http_proxy_attempt_t *a;
    uint32_t                 cap = ctx->att_cap * 2;

    a = pc_palloc(ctx->r->pool, cap * sizeof(*a));
    if (a == NULL) {
        return PC_ERROR;
    }
    memcpy(a, ctx->att, ctx->natt * sizeof(*a));
    ctx->att = a;
    ctx->att_cap = cap;
    return PC_OK;
}

static pc_rc_t
px_attempt(pc_http_proxy_ctx_t *ctx)
{
    pc_http_upconn_t *uc = NULL;
    pc_http_proxy_attempt_t *att;
    bool              fresh;
    int               peer, err = 0;

    if (ctx->deadline > 0 && PX_NOW >= ctx->deadline) {
        ctx->reason = "request deadline exceeded";
        return pc_http_proxy_end(ctx, 504);
    }
    peer = px_pick(ctx, &fresh);
    if (peer < 0) {
        return px_no_peer(ctx);
    }
    if (ctx->natt == ctx->att_cap && px_grow_attempts(ctx) != PC_OK) {
        ctx->reason = "out of memory";
        return pc_http_proxy_end(ctx, 500);
    }
    att = &ctx->att[ctx->natt++];
    memset(att, 0, sizeof(*att));
    att->peer = &ctx->u->sorted[peer].name;
    att->start = PX_NOW;
    att->connect = att->header = att->response = -1;
    ctx->peer = peer;
    ctx->rt->bal.peers[peer].conns++;
    px_reset_attempt(ctx);

    if (!fresh) {
        uc = pc_http_upstream_pool_get(ctx->rt, (uint32_t) peer);
    }
    if (uc != NULL) {
        att->reused = 1;
        att->connect = 0;
        px_attach(ctx, uc);
        return px_connected(ctx);
    }
    uc = pc_http_upstream_connect(ctx->rt, (uint32_t) peer, &err);
    if (uc == NULL) {
        return px_fail(ctx, PX_PHASE_CONNECT, err, PX_ERR_ERROR, "connect() failed");
    }
    px_attach(ctx, uc);
    if (uc->connected) {
        return px_connected(ctx);
    }
    ctx->state = PX_CONNECT;
    pc_conn_want_write(uc->c, true);
    pc_http_proxy_timer(ctx, 3, ctx->plcf->connect_timeout, true);
    px_watch_client(ctx);
    return PC_AGAIN;
}

/* Whether a failed attempt may go to the next peer (see the top). */
static bool
px_can_next(pc_http_proxy_ctx_t *ctx, pc_http_proxy_kind_e kind, int status)
{
    intptr_t mask = ctx->plcf->next_upstream, bit;

    switch (kind) {
    case PX_ERR_TIMEOUT:
        bit = PC_HTTP_NEXT_TIMEOUT;
        break;
    case PX_ERR_HTTP:
        bit = status == 502 ? PC_HTTP_NEXT_502 : status == 503 ? PC_HTTP_NEXT_503
                                                                 : PC_HTTP_NEXT_504;
        break;
    default:
        bit = PC_HTTP_NEXT_ERROR;
        break;
    }
    if ((mask & PC_HTTP_NEXT_OFF) || !(mask & bit) || ctx->r->header_sent
        || ctx->body_consumed > 0)
    {
        return false;
    }
    return !ctx->sent_any || pc_http_proxy_idempotent(ctx->r->method);
}

static void
px_log_failure(pc_http_proxy_ctx_t *ctx, pc_http_proxy_phase_e phase, int err,
    const char *what, int level)
{
    const pc_str_t *peer = pc_http_proxy_cur(ctx)->peer;
    pc_str_t        line;

    if (level > pc_log_cur->level)
        return;
    line = pc_http_log_redacted_request(ctx->r);
    pc_log(level, err, "upstream %s, phase: %s, peer: %.*s, "
                 "upstream: \"%.*s\", client: %.*s, request: \"%.*s\"", what,
                 phase_name[phase], (int) peer->len, peer->data,
                 (int) ctx->u->name.len, ctx->u->name.data,
                 (int) ctx->r->remote_addr.len, ctx->r->remote_addr.data,
                 (int) line.len, line.data);
}

static const char *
px_reason(pc_http_proxy_phase_e phase, int err, pc_http_proxy_kind_e kind)
{
    if (kind == PX_ERR_TIMEOUT) {
        return "upstream timed out";
    }
    if (kind == PX_ERR_INVALID) {
        return "invalid upstream response";
    }
    if (phase == PX_PHASE_CONNECT) {
        return err == ECONNREFUSED ? "upstream connect refused" : "upstream connect failed";
    }
    return err == ECONNRESET || err == EPIPE ? "upstream connection reset"
                                             : "upstream connection failed";
}

/*
 * An attempt failed.  Log it, drop its connection, count the failure
 * against the peer (not for a stale pooled connection), then retry or
 * answer.  Always returns PC_DONE: the caller's attempt is over.
 */
static pc_rc_t
px_fail(pc_http_proxy_ctx_t *ctx, pc_http_proxy_phase_e phase, int err,
    pc_http_proxy_kind_e kind, const char *what)
{
    pc_http_proxy_attempt_t *att = pc_http_proxy_cur(ctx);
    bool          stale, spent;
    int           peer = ctx->peer;

    /* not for a non-idempotent request once its bytes were written: the
     * upstream may have acted on it before the connection died */
    stale = att->reused && !ctx->resp_any && !ctx->stale_retried
            && ctx->body_consumed == 0 && kind == PX_ERR_ERROR
            && !ctx->r->header_sent
            && (!ctx->sent_any || pc_http_proxy_idempotent(ctx->r->method));
    if (att->status == 0) {
        att->status = kind == PX_ERR_TIMEOUT ? 504 : 502;
    }
    att->response = PX_NOW - att->start;
    px_log_failure(ctx, phase, err, what, stale ? PC_LOG_INFO : PC_LOG_ERR);
    if (ctx->uc != NULL) {
        pc_conn_timer_set(ctx->uc->c, 0);
    }
    px_release(ctx, false);
    if (stale) {
        /* the pooled connection was closed under us: not the peer's fault */
        ctx->stale_retried = 1;
        ctx->retry_peer = peer;
        (void) px_attempt(ctx);
        return PC_DONE;
    }
    /* The client's own deadline (proxy_request_timeout_header) ran out:
     * its budget, not the peer's health -- counting it would let one
     * client take every server out -- and no budget left for another. */
    spent = kind == PX_ERR_TIMEOUT && ctx->deadline > 0 && PX_NOW >= ctx->deadline;
    /* a reused connection dying before any response byte says nothing
     * about the peer's health (it closed an idle connection) */
    if (peer >= 0 && !spent && !(att->reused && !ctx->resp_any && kind == PX_ERR_ERROR)
        && pc_http_balancer_fail(&ctx->rt->bal, (uint32_t) peer, PX_NOW))
    {
        const pc_http_upstream_peer_t *pp = &ctx->u->sorted[peer];

        pc_log(PC_LOG_WARN, 0, "upstream server temporarily disabled: peer %.*s of "
               "upstream \"%.*s\", %d failures within %lld ms, out for %lld ms "
               "(this worker)", (int) pp->name.len, (const char *) pp->name.data,
               (int) ctx->u->name.len, (const char *) ctx->u->name.data,
               (int) pp->max_fails, (long long) pp->fail_timeout,
               (long long) pp->fail_timeout);
        pc_http_upstream_health_changed();
    }
    ctx->reason = px_reason(phase, err, kind);
    if (!spent && px_can_next(ctx, kind, att->status)) {
        (void) px_attempt(ctx);
        return PC_DONE;
    }
    return pc_http_proxy_end(ctx, att->status);
}

/* ------------------------------------------------------ request side */

/* The client's body failed (400, 408, 413) or its connection did. */
static pc_rc_t
px_client_body_error(pc_http_proxy_ctx_t *ctx, pc_rc_t rc)
{
    ctx->reason = NULL;
    return pc_http_proxy_end(ctx, rc >= 100 ? rc : PC_ERROR);
}

/* "1a2b\r\n" for a chunk of size bytes at dst (18 bytes); its length. */
static size_t
chunk_line(u_char *dst, uint64_t size)
{
    static const char hex[] = "0123456789abcdef";
    u_char            tmp[16];
    size_t            n = 0, i;

    do {
        tmp[n++] = (u_char) hex[size & 0xf];
        size >>= 4;
    } while (size != 0);
    for (i = 0; i < n; i++) {
        dst[i] = tmp[n - 1 - i];
    }
    dst[n] = '\r';
    dst[n + 1] = '\n';
    return n + 2;
}

/* Get the next body span from the client.  PC_OK (span or end of body),
 * PC_AGAIN (r->read_event_handler will run), PC_DONE (request ended). */
static pc_rc_t
px_next_span(pc_http_proxy_ctx_t *ctx)
{
    const u_char *data;
    size_t        len;
    pc_rc_t       rc;

    rc = pc_http_body_read(ctx->r, &data, &len);
    if (rc == PC_OK && len > 0) {
        ctx->span = data;
        ctx->span_len = len;
        ctx->span_off = 0;
        if (ctx->chunked) {
            ctx->chunk_line_len = chunk_line(ctx->chunk_line, len);
        }
        return PC_OK;
    }
    if (rc == PC_OK || rc == PC_AGAIN) {
        return PC_AGAIN;
    }
    if (rc == PC_DONE) {
        ctx->body_eof = 1;
        return PC_OK;
    }
    return px_client_body_error(ctx, rc);
}

/* The bytes still to write: head, framed span, last chunk. */
static int
px_pending(pc_http_proxy_ctx_t *ctx, struct iovec *iov)
{
    static const u_char crlf[] = "\r\n", last[] = "0\r\n\r\n";
    struct { const u_char *p; size_t len; } part[3];
    size_t skip, k;
    int    n = 0, np = 0, i;

    if (ctx->head_off < ctx->head.len) {
        iov[n].iov_base = ctx->head.data + ctx->head_off;
        iov[n++].iov_len = ctx->head.len - ctx->head_off;
    }
    if (ctx->span != NULL && !ctx->held) {
        if (ctx->chunked) {
            part[np].p = ctx->chunk_line;
            part[np++].len = ctx->chunk_line_len;
        }
        part[np].p = ctx->span;
        part[np++].len = ctx->span_len;
        if (ctx->chunked) {
            part[np].p = crlf;
            part[np++].len = 2;
        }
        for (i = 0, skip = ctx->span_off; i < np; i++) {
            k = pc_min(skip, part[i].len);
            skip -= k;
            if (part[i].len > k) {
                iov[n].iov_base = (void *) (part[i].p + k);
                iov[n++].iov_len = part[i].len - k;
            }
        }
    } else if (ctx->body_eof && ctx->chunked && ctx->last_off < 5) {
        iov[n].iov_base = (void *) (last + ctx->last_off);
        iov[n++].iov_len = 5 - ctx->last_off;
    }
    return n;
}

/* Account for n bytes written. */
static void
px_advance(pc_http_proxy_ctx_t *ctx, size_t n)
{
    size_t k, framed;

    k = pc_min(n, ctx->head.len - ctx->head_off);
    ctx->head_off += k;
    n -= k;
    if (ctx->span != NULL && !ctx->held && n > 0) {
        framed = ctx->span_len + (ctx->chunked ? ctx->chunk_line_len + 2 : 0);
        k = pc_min(n, framed - ctx->span_off);
        ctx->span_off += k;
        n -= k;
        if (ctx->span_off < framed) {
            /* partly written */
        } else if (!ctx->chunked && ctx->body_consumed == 0
                   && (int64_t) ctx->span_len == ctx->r->head.content_length)
        {
            /* The whole body is this one span: keep it unconsumed until
             * the response is done, so a failed attempt can replay it. */
            ctx->held = 1;
            ctx->body_eof = 1;
        } else {
            pc_http_body_consumed(ctx->r, ctx->span_len);
            ctx->body_consumed += ctx->span_len;
            ctx->span = NULL;
        }
    }
    ctx->last_off += n;
}

/* Write what we have.  PC_OK: the whole request is sent; PC_AGAIN: the
 * upstream or the client is slow; PC_DONE: the attempt is over. */
static pc_rc_t
px_send(pc_http_proxy_ctx_t *ctx)
{
    struct iovec iov[4];
    pc_conn_t   *c = ctx->uc->c;
    ssize_t      n;
    int          niov;

    for ( ;; ) {
        if (ctx->has_body && ctx->span == NULL && !ctx->body_eof
            && px_next_span(ctx) == PC_DONE)
        {
            return PC_DONE;
        }
        niov = px_pending(ctx, iov);
        if (niov == 0) {
            if (ctx->has_body && !ctx->body_eof) {
                return PC_AGAIN;        /* r->read_event_handler resumes */
            }
            ctx->req_sent = 1;
            return PC_OK;
        }
        n = pc_conn_writev(c, iov, niov);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                ctx->wblocked = 1;
                return PC_AGAIN;
            }
            return px_fail(ctx, PX_PHASE_SEND, errno, PX_ERR_ERROR, "send failed");
        }
        ctx->wblocked = 0;
        ctx->sent_any = 1;
        ctx->progress_w = 1;
        px_advance(ctx, (size_t) n);
    }
}

/* ------------------------------------------------------ response side */

/* Read from the upstream into ctx->buf.  PC_OK, PC_AGAIN, PC_DONE (EOF),
 * PC_ERROR (*err). */
static pc_rc_t
px_fill(pc_http_proxy_ctx_t *ctx, int *err)
{
    pc_conn_t *c = ctx->uc->c;
    pc_buf_t  *b = ctx->buf;
    ssize_t    n;

    for ( ;; ) {
        n = pc_conn_recv(c, b->last, (size_t) (b->end - b->last));
        if (n > 0) {
            b->last += n;
            ctx->resp_any = 1;
            ctx->progress_r = 1;
            return PC_OK;
        }
        if (n == 0) {
            return PC_DONE;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return PC_AGAIN;
        }
        *err = errno;
        return PC_ERROR;
    }
}

/* Add data[0 .. len) (inside ctx->buf, after every byte collected so far)
 * to the links for the writer.  A short segment is moved down onto the end
 * of the previous link rather than taking one: what lies between is chunk
 * framing the decoder is done with.  True when the links are full. */
static bool
px_collect(pc_http_proxy_ctx_t *ctx, const u_char *data, size_t len)
{
    pc_buf_t *b;

    if (ctx->nout > 0 && len <= PX_OUT_MERGE) {
        b = &ctx->out[ctx->nout - 1];
        memmove(b->last, data, len);
        b->last += len;
        b->end = b->last;
        return false;
    }
    b = &ctx->out[ctx->nout];
    b->start = b->pos = (u_char *) data;
    b->end = b->last = (u_char *) data + len;
    b->last_buf = 0;
    ctx->cl[ctx->nout].buf = b;
    ctx->cl[ctx->nout].next = NULL;
    if (ctx->nout > 0) {
        ctx->cl[ctx->nout - 1].next = &ctx->cl[ctx->nout];
    }
    return ++ctx->nout == PX_OUT_LINKS;
}

/* Hand the collected links to the writer in one call (last: and end the
 * body).  PC_OK: written; PC_AGAIN: queued, the links and ctx->buf stay
 * in use until r->write_event_handler; PC_DONE: client gone. */
static pc_rc_t
px_send_out(pc_http_proxy_ctx_t *ctx, int last)
{
    pc_chain_t *cl = ctx->nout > 0 ? &ctx->cl[0] : NULL;
    pc_rc_t     rc;

    if (last && ctx->nout > 0) {
        ctx->out[ctx->nout - 1].last_buf = 1;
    }
    ctx->nout = 0;
    rc = pc_http_send_body(ctx->r, cl, last);
    if (last) {
        ctx->last_sent = 1;
    }
    if (rc == PC_ERROR) {
        return pc_http_proxy_end(ctx, PC_ERROR);
    }
    if (rc == PC_AGAIN) {
        ctx->out_busy = 1;
    }
    return rc;
}

/* Hand data[0 .. len) (inside ctx->buf; len 0: nothing) to the writer,
 * after whatever px_collect gathered.  PC_OK: written; PC_AGAIN: queued,
 * wait for r->write_event_handler; PC_DONE: client gone. */
static pc_rc_t
px_emit(pc_http_proxy_ctx_t *ctx, const u_char *data, size_t len, int last)
{
    if (len > 0) {
        (void) px_collect(ctx, data, len);   /* nout is 0 here: room */
    }
    return px_send_out(ctx, last);
}

/* The response is complete: keep or close the connection, finish. */
static pc_rc_t
px_finish(pc_http_proxy_ctx_t *ctx)
{
    pc_buf_t *b = ctx->buf;
    bool      keep;

    pc_http_proxy_cur(ctx)->response = PX_NOW - pc_http_proxy_cur(ctx)->start;
    pc_http_proxy_stop_client(ctx);
    keep = pc_http_proxy_resp_reusable(&ctx->resp) && ctx->req_sent
           && b->pos == b->last;
    if (ctx->peer >= 0) {
        pc_http_balancer_success(&ctx->rt->bal, (uint32_t) ctx->peer);
    }
    if (ctx->uc != NULL) {
        /* A kept connection's read watcher runs on as the pool's idle
         * watch (pool_put changes its callback). */
        if (!keep) {
            pc_conn_want_read(ctx->uc->c, false);
        }
        pc_conn_want_write(ctx->uc->c, false);
        pc_conn_timer_set(ctx->uc->c, 0);
    }
    px_release(ctx, keep);
    px_release_body(ctx);
    if (!ctx->last_sent && px_emit(ctx, NULL, 0, 1) == PC_DONE) {
        return PC_DONE;
    }
    ctx->state = PX_DONE;
    pc_http_finalize(ctx->r, PC_DONE);
    return PC_DONE;
}

/* Whether another peer could take this request (untried, usable, tries
 * left): an upstream's own 502/503/504 is only retried when there is. */
static bool
px_have_next(pc_http_proxy_ctx_t *ctx)
{
    const pc_http_balancer_t *bal = &ctx->rt->bal;
    intptr_t                  tries = ctx->plcf->next_upstream_tries;
    uint32_t                  i;

    if ((tries > 0 && ctx->ntries >= (uint32_t) tries) || ctx->natt >= PX_MAX_ATTEMPTS) {
        return false;
    }
    for (i = 0; i < bal->npeers; i++) {
        if (!pc_http_balancer_tried(ctx->tried, i)
            && pc_http_balancer_usable(&bal->peers[i], PX_NOW))
        {
            return true;
        }
    }
    return false;
}

/* The body turned out bad before anything went to the client: the attempt
 * fails like one with an invalid head (502, proxy_next_upstream), not with
 * the status the upstream announced. */
static pc_rc_t
px_fail_body(pc_http_proxy_ctx_t *ctx, int err, pc_http_proxy_kind_e kind, const char *what)
{
    pc_http_proxy_cur(ctx)->status = 502;
    return px_fail(ctx, PX_PHASE_BODY, err, kind, what);
}

/*
 * Before the head goes to the client (pc_http_send_header writes it with
 * the first body bytes, and once a byte of it is out an error can only cut
 * the response short), check the body bytes already here: those that came
 * with the head, and what the socket holds right now, up to a full buffer
 * (never waiting for more).  A framing error or a close before the end of
 * the body found there is still an invalid response: SPEC §8's 502, and a
 * retry where proxy_next_upstream allows one.  The decoder runs on a copy
 * of the state; px_body decodes the same bytes again, for real.  PC_OK:
 * send the head; PC_DONE: the attempt failed.
 */
static pc_rc_t
px_peek_body(pc_http_proxy_ctx_t *ctx)
{
    const pc_http_proxy_resp_t *rs = &ctx->resp;
    pc_buf_t          *b = ctx->buf;
    pc_http_chunked_t  ch;
    const u_char      *p, *data;
    size_t             len;
    int64_t            left = rs->remaining;
    pc_rc_t            rc;
    int                err = 0;

    if (rs->state != PC_HTTP_PROXY_RESP_BODY || rs->head.body == PC_HTTP_BODY_CLOSE) {
        return PC_OK;           /* no body, or one that any close ends */
    }
    ch = rs->chunked;
    p = b->pos + rs->head.head_len;
    for ( ;; ) {
        if (rs->head.body == PC_HTTP_BODY_CHUNKED) {
            do {
                rc = pc_http_chunked_decode(&ch, &p, b->last, &data, &len);
            } while (rc == PC_OK);
            if (rc == PC_ERROR) {
                return px_fail_body(ctx, 0, PX_ERR_INVALID, ch.error);
            }
        } else {
            left -= pc_min(left, (int64_t) (b->last - p));
            p = b->last;
            rc = left == 0 ? PC_DONE : PC_AGAIN;
        }
        if (rc == PC_DONE || b->last == b->end) {
            return PC_OK;
        }
        rc = px_fill(ctx, &err);
        if (rc == PC_AGAIN) {
            return PC_OK;
        }
        if (rc == PC_DONE) {
            return px_fail_body(ctx, 0, PX_ERR_ERROR,
                                "closed before the response body was complete");
        }
        if (rc == PC_ERROR) {
            return px_fail_body(ctx, err, PX_ERR_ERROR, "read failed");
        }
    }
}

/* The final head is parsed: retry on an upstream 50x when configured and
 * possible, or fail on a body already known to be bad, else send the head
 * to the client.  PC_OK (body next) or PC_DONE. */
static pc_rc_t
px_final_head_done(pc_http_proxy_ctx_t *ctx)
{
    pc_http_proxy_attempt_t *att = pc_http_proxy_cur(ctx);
    int           status = ctx->resp.head.status;

    att->status = status;
    att->header = PX_NOW - att->start;
    if ((status == 502 || status == 503 || status == 504)
        && px_can_next(ctx, PX_ERR_HTTP, status) && px_have_next(ctx))
    {
        return px_fail(ctx, PX_PHASE_HEADER, 0, PX_ERR_HTTP,
                       status == 502 ? "returned 502" : status == 503 ? "returned 503"
                                                                      : "returned 504");
    }
    if (px_peek_body(ctx) != PC_OK || pc_http_proxy_send_head(ctx) != PC_OK) {
        return PC_DONE;
    }
    ctx->buf->pos += ctx->resp.head.head_len;
    return PC_OK;
}

/* Parse heads until the final one is sent.  PC_OK: body next; PC_AGAIN;
 * PC_DONE. */
static pc_rc_t
px_head(pc_http_proxy_ctx_t *ctx)
{
    pc_buf_t *b = ctx->buf;
    pc_rc_t   rc;
    int       err = 0;

    for ( ;; ) {
        /* The parser is incremental: without new bytes it has nothing to
         * say, so read first (the first time, and after a short read). */
        if ((size_t) (b->last - b->pos) == ctx->head_parsed) {
            rc = PC_AGAIN;
        } else {
            ctx->head_parsed = (uint32_t) (b->last - b->pos);
            rc = pc_http_proxy_resp_head(&ctx->resp, b->pos, ctx->head_parsed);
        }
        if (rc == PC_ERROR) {
            pc_http_proxy_cur(ctx)->status = 502;
            return px_fail(ctx, PX_PHASE_HEADER, 0, PX_ERR_INVALID, ctx->resp.error);
        }
        if (rc == PC_OK && ctx->resp.head.status == 101) {
            if (!ctx->upgrade) {
                return px_fail(ctx, PX_PHASE_HEADER, 0, PX_ERR_INVALID,
                               "sent 101 to a request that did not ask to upgrade");
            }
            return pc_http_proxy_tunnel_start(ctx);
        }
        if (rc == PC_OK && ctx->resp.head.status < 200) {
            pc_http_proxy_interim(ctx);
            b->pos += ctx->resp.head.head_len;
            ctx->head_parsed = UINT32_MAX;     /* parse what follows */
            if (pc_http_proxy_resp_next_head(&ctx->resp) != PC_OK) {
                return px_fail(ctx, PX_PHASE_HEADER, 0, PX_ERR_INVALID, ctx->resp.error);
            }
            continue;
        }
        if (rc == PC_OK) {
            break;
        }
        if (b->last == b->end) {
            if (b->pos == b->start) {
                return px_fail(ctx, PX_PHASE_HEADER, 0, PX_ERR_INVALID,
                               "sent too big header (over proxy_buffer_size)");
            }
            memmove(b->start, b->pos, (size_t) (b->last - b->pos));
            b->last -= b->pos - b->start;
            b->pos = b->start;
        }
        rc = px_fill(ctx, &err);
        if (rc == PC_AGAIN) {
            return PC_AGAIN;
        }
        if (rc != PC_OK) {
            return px_fail(ctx, PX_PHASE_HEADER, err, PX_ERR_ERROR,
                           rc == PC_DONE ? "prematurely closed connection"
                                         : "read failed");
        }
    }
    return px_final_head_done(ctx);
}


/* The upstream has nothing more for now: the client gets the head at once
 * (pc_http_send_header only queues it, to go out with the first body
 * bytes), so a slow or streaming body does not hold it back.  PC_AGAIN or
 * PC_DONE (client gone). */
static pc_rc_t
px_flush_head(pc_http_proxy_ctx_t *ctx)
{
    pc_rc_t rc;

    if (ctx->head_flushed) {
        return PC_AGAIN;
    }
    ctx->head_flushed = 1;
    rc = pc_http_send_body(ctx->r, NULL, 0);
    if (rc == PC_ERROR) {
        return pc_http_proxy_end(ctx, PC_ERROR);
    }
    if (rc == PC_AGAIN) {
        ctx->out_busy = 1;
    }
    return PC_AGAIN;
}

/* Stream the body.  PC_AGAIN (upstream or client slow) or PC_DONE.
 * The segments one read decodes (one per chunk) are collected and sent
 * together when the read is used up, the links are full or the body ends:
 * a sync flush of gzip and a downstream chunk per read, not per upstream
 * chunk, which would multiply tiny chunks on the wire (nginx too flushes
 * once per read). */
static pc_rc_t
px_body(pc_http_proxy_ctx_t *ctx)
{
    pc_buf_t     *b = ctx->buf;
    const u_char *pos, *data;
    size_t        len;
    pc_rc_t       rc, wrc;
    int           err = 0;

    for ( ;; ) {
        pos = b->pos;
        rc = pc_http_proxy_resp_body(&ctx->resp, &pos, b->last, &data, &len);
        b->pos = (u_char *) pos;
        if (rc == PC_ERROR) {
            if (ctx->nout == 0) {
                return px_fail(ctx, PX_PHASE_BODY, 0, PX_ERR_INVALID, ctx->resp.error);
            }
            /* the good bytes before the bad framing go out first; the
             * decoder stays failed and says so again on the next call */
            wrc = px_send_out(ctx, 0);
            if (wrc != PC_OK) {
                return wrc;             /* r->write_event_handler resumes */
            }
            continue;
        }
        if (len > 0 && px_collect(ctx, data, len) && rc != PC_DONE) {
            wrc = px_send_out(ctx, 0);  /* links full: send them, go on */
            if (wrc != PC_OK) {
                return wrc;
            }
        }
        if (rc == PC_DONE) {
            if (ctx->nout > 0 && px_send_out(ctx, 1) == PC_DONE) {
                return PC_DONE;
            }
            return px_finish(ctx);
        }
        if (rc != PC_AGAIN) {
            continue;
        }
        /* every input byte is decoded: send what it held together */
        if (ctx->nout > 0) {
            wrc = px_send_out(ctx, 0);
            if (wrc != PC_OK) {
                return wrc;
            }
        }
        /* ... and written: the buffer is free */
        b->pos = b->last = b->start;
        rc = px_fill(ctx, &err);
        if (rc == PC_AGAIN) {
            return px_flush_head(ctx);
        }
        if (rc == PC_DONE) {
            if (pc_http_proxy_resp_eof(&ctx->resp) == PC_DONE) {
                return px_finish(ctx);
            }
            return px_fail(ctx, PX_PHASE_BODY, 0, PX_ERR_ERROR, ctx->resp.error);
        }
        if (rc == PC_ERROR) {
            return px_fail(ctx, PX_PHASE_BODY, err, PX_ERR_ERROR, "read failed");
        }
    }
}

static pc_rc_t
px_recv(pc_http_proxy_ctx_t *ctx)
{
    pc_rc_t rc;

    for ( ;; ) {
        if (ctx->out_busy) {
            return PC_AGAIN;
        }
        rc = ctx->resp.state == PC_HTTP_PROXY_RESP_HEAD ? px_head(ctx) : px_body(ctx);
        if (rc != PC_OK) {
            return rc;
        }
    }
}

/*
 * The speculative read's score, one per worker: a read that found the
 * response adds 1 (up to SPEC_MAX), one that found nothing takes
 * SPEC_MISS.  From SPEC_ON up the read is tried after every request,
 * below only after every SPEC_SAMPLE-th, to notice when the regime
 * changes.  The read is tried while at least SPEC_MISS / (SPEC_MISS + 1)
 * of the tries find the response: a miss costs a recv, a hit saves an
 * event and a turn of the loop.
 */
#define SPEC_MAX     16
#define SPEC_ON      8
#define SPEC_MISS    4
#define SPEC_SAMPLE  16

static struct {
    uint8_t  score;
    uint8_t  skipped;
} px_spec = { SPEC_MAX, 0 };

static bool
spec_try(void)
{
    if (px_spec.score >= SPEC_ON || ++px_spec.skipped >= SPEC_SAMPLE) {
        px_spec.skipped = 0;
        return true;
    }
    return false;
}

static void
spec_seen(bool tried, bool hit)
{
    if (!tried)
        return;
    if (hit)
        px_spec.score = (uint8_t) pc_min(px_spec.score + 1, SPEC_MAX);
    else
        px_spec.score = (uint8_t) (px_spec.score > SPEC_MISS ? px_spec.score - SPEC_MISS : 0);
}

/* Make progress both ways, then wait.  PC_AGAIN or PC_DONE. */
static pc_rc_t
px_io(pc_http_proxy_ctx_t *ctx)
{
    pc_http_upconn_t *uc;
    bool              just_sent = false, spec;
    u_char           *last;

    ctx->progress_r = ctx->progress_w = 0;
    if (!ctx->req_sent) {
        if (px_send(ctx) == PC_DONE) {
            return PC_DONE;
        }
        just_sent = ctx->req_sent && ctx->buf->last == ctx->buf->pos;
    }
    /*
     * Right after the last request byte went out, is the response there
     * already?  Whether reading now pays depends on the worker's regime,
     * not on one connection: a busy worker (the upstream slower than one
     * turn of the loop) almost never finds it, and the recv returns
     * EAGAIN; a worker that is the slow side (a fast upstream on the same
     * host, a worker slowed down) almost always does, and saves a trip
     * through epoll.  See spec_try.
     */
    spec = !just_sent || spec_try();
    uc = ctx->uc;
    last = ctx->buf->last;
    if (spec && px_recv(ctx) == PC_DONE) {
        spec_seen(just_sent, true);
        return PC_DONE;
    }
    if (spec && ctx->uc == uc) {
        spec_seen(just_sent, ctx->buf->last != last);
    }
    px_arm(ctx);
    return PC_AGAIN;
}

/* ------------------------------------------------------------- events */

static pc_http_proxy_ctx_t *
up_ctx(pc_conn_t *c)
{
    pc_http_upconn_t *uc = c->data;

    return uc != NULL ? uc->owner : NULL;
}

static void
on_up_read(pc_conn_t *c)
{
    pc_http_proxy_ctx_t *ctx = up_ctx(c);
    pc_http_conn_t *hc;

    if (ctx == NULL) {
        pc_conn_want_read(c, false);
        return;
    }
    hc = ctx->r->hc;
    pc_http_req_enter(hc);
    if (ctx->state == PX_TUNNEL) {
        (void) pc_http_proxy_tunnel_run(ctx);
    } else if (ctx->state == PX_ACTIVE) {
        (void) px_io(ctx);
    }
    pc_http_req_leave(hc);
}

static void
on_up_write(pc_conn_t *c)
{
    pc_http_proxy_ctx_t *ctx = up_ctx(c);
    pc_http_conn_t *hc;
    int             err;

    if (ctx == NULL) {
        pc_conn_want_write(c, false);
        return;
    }
    hc = ctx->r->hc;
    pc_http_req_enter(hc);
    if (ctx->state == PX_CONNECT) {
        pc_conn_want_write(c, false);
        err = pc_http_upstream_connect_result(ctx->uc);
        if (err != 0) {
            (void) px_fail(ctx, PX_PHASE_CONNECT, err, PX_ERR_ERROR, "connect() failed");
        } else {
            (void) px_connected(ctx);
        }
    } else if (ctx->state == PX_TUNNEL) {
        (void) pc_http_proxy_tunnel_run(ctx);
    } else if (ctx->state == PX_ACTIVE) {
        ctx->wblocked = 0;
        (void) px_io(ctx);
    }
    pc_http_req_leave(hc);
}

static void
on_up_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    pc_conn_t        *c = w->data;
    pc_http_upconn_t *uc = c->data;
    pc_http_proxy_ctx_t *ctx = uc != NULL ? uc->owner : NULL;
    pc_http_conn_t   *hc;
    pc_http_proxy_phase_e        phase;
    bool              deadline;

    PC_UNUSED(loop);
    PC_UNUSED(revents);
    if (!pc_conn_timer_expired(c) || ctx == NULL) {
        return;
    }
    hc = ctx->r->hc;
    pc_http_req_enter(hc);
    deadline = ctx->deadline > 0 && PX_NOW >= ctx->deadline;
    if (ctx->state == PX_TUNNEL) {
        pc_log(PC_LOG_INFO, 0, "tunnel to upstream %.*s idle for "
                     "proxy_read_timeout, closed", (int) pc_http_proxy_cur(ctx)->peer->len,
                     pc_http_proxy_cur(ctx)->peer->data);
        (void) pc_http_proxy_tunnel_end(ctx);
    } else if (ctx->state == PX_CONNECT || ctx->state == PX_ACTIVE) {
        phase = ctx->state == PX_CONNECT ? PX_PHASE_CONNECT
                : ctx->wblocked ? PX_PHASE_SEND
                : ctx->resp.state == PC_HTTP_PROXY_RESP_HEAD ? PX_PHASE_HEADER
                : PX_PHASE_BODY;
        (void) px_fail(ctx, phase, ETIMEDOUT, PX_ERR_TIMEOUT,
                       deadline ? "timed out (request deadline)" : "timed out");
    }
    pc_http_req_leave(hc);
}

/* r->read_event_handler: body bytes (or a body error) from the client. */
static void
on_client_read(pc_http_request_t *r)
{
    pc_http_proxy_ctx_t *ctx = ctx_of(r);

    if (ctx != NULL && ctx->state == PX_ACTIVE) {
        (void) px_io(ctx);
    }
}

/* r->write_event_handler: the client took what was queued. */
static void
on_client_write(pc_http_request_t *r)
{
    pc_http_proxy_ctx_t *ctx = ctx_of(r);

    if (ctx != NULL && ctx->state == PX_ACTIVE) {
        ctx->out_busy = 0;
        (void) px_io(ctx);
    }
}

/* ------------------------------------------------------------ handler */

static pc_rc_t
px_init(pc_http_request_t *r, pc_http_proxy_ctx_t *ctx, pc_http_proxy_loc_conf_t *plcf)
{
    pc_str_t key;

    ctx->r = r;
    ctx->plcf = plcf;
    ctx->u = plcf->upstream;
    ctx->peer = -1;
    ctx->retry_peer = -1;
    ctx->att = ctx->att_inline;
    ctx->att_cap = pc_nelems(ctx->att_inline);
    /* The response's header array shares the buffer's pooled block, in
     * front of the data area: one pc_buf_get, nothing big from r->pool,
     * and what a small response touches (the first fields and the first
     * bytes) is on one or two pages, not two pages 16 KiB apart. */
    ctx->buf = pc_buf_get(pc_align(PX_HDRS_BYTES, 16) + pc_align(plcf->buffer_size, 16));
    if (ctx->buf != NULL) {
        ctx->hdrs = (pc_http_header_t *) (void *) ctx->buf->start;
        ctx->buf->start += pc_align(PX_HDRS_BYTES, 16);
        ctx->buf->pos = ctx->buf->last = ctx->buf->start;
        ctx->buf->end = ctx->buf->start + plcf->buffer_size;
    }
    ctx->tried = pc_pcalloc(r->pool, (ctx->u->npeers + 7) / 8);
    if (ctx->buf == NULL || ctx->tried == NULL
        || pc_pool_cleanup_add(r->pool, px_cleanup, ctx) != PC_OK)
    {
        pc_buf_put(ctx->buf);
        ctx->buf = NULL;
        return PC_ERROR;
    }
    if (ctx->u->hash_key != NULL) {
        if (pc_http_template_eval(r, ctx->u->hash_key, &key) != PC_OK) {
            key.len = 0;
        }
        ctx->hash = pc_http_balancer_hash(key.data, key.len);
    }
    ctx->deadline = pc_http_proxy_deadline(r, plcf);
    ctx->chunked = r->head.body == PC_HTTP_BODY_CHUNKED;
    ctx->has_body = ctx->chunked || (r->head.body == PC_HTTP_BODY_LENGTH
                                     && r->head.content_length > 0);
    ctx->upgrade = plcf->upgrade && r->head.has_upgrade && r->head.conn_upgrade
                   && r->http_version >= 11 && !ctx->has_body
                   && !pc_http_proxy_upgrade_h2c(r);
    return PC_OK;
}

pc_rc_t
pc_http_proxy_handler(pc_http_request_t *r)
{
    pc_http_proxy_loc_conf_t *plcf = pc_http_conf(r, pc_http_proxy_module);
    pc_http_proxy_ctx_t      *ctx;

    if (plcf == NULL || plcf->upstream == NULL || ctx_of(r) != NULL) {
        return PC_DECLINED;
    }
    ctx = pc_pcalloc(r->pool, sizeof(*ctx));
    if (ctx == NULL) {
        return PC_ERROR;
    }
    ctx->rt = pc_http_upstream_rt(plcf->upstream);
    if (ctx->rt == NULL) {
        pc_log(PC_LOG_ALERT, 0, "upstream \"%.*s\" has no worker state",
                     (int) plcf->upstream->name.len, plcf->upstream->name.data);
        return PC_ERROR;
    }
    if (px_init(r, ctx, plcf) != PC_OK) {
        return PC_ERROR;
    }
    r->ctx[pc_http_proxy_module.index] = ctx;
    r->read_event_handler = on_client_read;
    r->write_event_handler = on_client_write;
    (void) px_attempt(ctx);
    return ctx->state == PX_DONE ? PC_DONE : PC_AGAIN;
}
