/*
 * pc_http_proxy_tunnel.c -- WebSocket / Upgrade tunnelling (SPEC §4,
 * proxy_upgrade): after the upstream's 101 the client gets our 101 head,
 * then bytes flow both ways, each direction through its own
 * proxy_buffer_size buffer with back-pressure (a direction stops reading
 * while its destination cannot take more).  One side's EOF shuts the
 * other's write side once its bytes are through; the tunnel ends when both
 * directions are done, on an error, or after proxy_read_timeout without
 * traffic either way.  The request ends with the tunnel and its client
 * connection closes (it is never kept alive).
 *
 * Known limit: bytes a client sends after its Upgrade request and before
 * our 101 stay in the runtime's buffer and are not forwarded (a WebSocket
 * client waits for the 101 before it sends frames).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "http/pc_http_proxy_ctx.h"

/* The 101 head for the client: the upstream's fields minus hop-by-hop
 * ones, then Upgrade and Connection: upgrade.  NULL on ENOMEM. */
static u_char *
px_101_head(pc_http_proxy_ctx_t *ctx, size_t *len)
{
    const pc_http_head_t   *h = &ctx->resp.head;
    const pc_http_header_t *up = pc_http_head_find(h, PC_HTTP_H_UPGRADE);
    const u_char           *b = ctx->buf->pos;
    pc_str_t                v;
    u_char                 *start, *p;

    v = pc_http_header_in(ctx->r, "upgrade", 7);
    if (up != NULL) {
        v.data = (u_char *) b + up->value;
        v.len = up->value_len;
    }
    start = p = pc_pnalloc(ctx->r->pool, h->head_len + h->nheaders * 4 + v.len + 96);
    if (p == NULL) {
        return NULL;
    }
    p = pc_cpymem(p, "HTTP/1.1 101 Switching Protocols\r\n", 34);
    p = pc_http_proxy_put_fields(p, h, b);
    p = pc_cpymem(p, "Upgrade: ", 9);
    p = pc_cpymem(p, v.data, v.len);
    p = pc_cpymem(p, "\r\nConnection: upgrade\r\n\r\n", 25);
    *len = (size_t) (p - start);
    return start;
}

static void
on_client_io(struct ev_loop *loop, ev_io *w, int revents)
{
    pc_http_proxy_ctx_t *ctx = w->data;
    pc_http_conn_t *hc = ctx->r->hc;

    PC_UNUSED(loop);
    PC_UNUSED(revents);
    pc_http_req_enter(hc);
    if (ctx->state == PX_TUNNEL) {
        (void) pc_http_proxy_tunnel_run(ctx);
    } else {
        pc_http_proxy_stop_client(ctx);
    }
    pc_http_req_leave(hc);
}

/*
 * The upstream accepted the Upgrade: the client gets our 101 head, then
 * bytes flow both ways until either side is done.  The client connection
 * is ours from here (the runtime reads nothing more after a head without
 * a body); the request ends, and its connection closes, with the tunnel.
 */
pc_rc_t
pc_http_proxy_tunnel_start(pc_http_proxy_ctx_t *ctx)
{
    pc_http_request_t *r = ctx->r;
    pc_http_proxy_attempt_t *att = pc_http_proxy_cur(ctx);
    u_char            *head;
    size_t             len = 0;

    att->status = 101;
    att->header = PX_NOW - att->start;
    ctx->cbuf = pc_buf_get(ctx->plcf->buffer_size);
    head = px_101_head(ctx, &len);
    if (ctx->cbuf == NULL || head == NULL) {
        return pc_http_proxy_end(ctx, PC_ERROR);
    }
    ctx->buf->pos += ctx->resp.head.head_len;
    r->status = 101;
    r->header_sent = 1;
    r->keepalive = 0;
    ctx->state = PX_TUNNEL;
    ctx->down = (pc_http_proxy_pipe_t) { ctx->uc->c, r->c, ctx->buf, { len, head }, 0, 0, 0, 0 };
    ctx->up = (pc_http_proxy_pipe_t) { r->c, ctx->uc->c, ctx->cbuf, { 0, NULL }, 0, 0, 0, 0 };
    pc_http_proxy_stop_client(ctx);     /* the client-close check's watcher */
    ev_io_init(&ctx->crev, on_client_io, r->c->fd, EV_READ);
    ev_io_init(&ctx->cwev, on_client_io, r->c->fd, EV_WRITE);
    ctx->crev.data = ctx;
    ctx->cwev.data = ctx;
    return pc_http_proxy_tunnel_run(ctx);
}

/* Move bytes one way.  PC_AGAIN (want_r / want_w say on what), PC_DONE
 * (source finished, destination's write side shut), PC_ERROR. */
static pc_rc_t
px_pipe(pc_http_proxy_ctx_t *ctx, pc_http_proxy_pipe_t *pp, bool *progress)
{
    pc_buf_t    *b = pp->b;
    struct iovec iov[2];
    ssize_t      n;
    size_t       k;
    int          niov;

    pp->want_r = pp->want_w = 0;
    for ( ;; ) {
        niov = 0;
        if (pp->pre.len > 0) {
            iov[niov].iov_base = pp->pre.data;
            iov[niov++].iov_len = pp->pre.len;
        }
        if (b->pos < b->last) {
            iov[niov].iov_base = b->pos;
            iov[niov++].iov_len = (size_t) (b->last - b->pos);
        }
        if (niov > 0) {
            n = pc_conn_writev(pp->dst, iov, niov);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    pp->want_w = 1;
                    return PC_AGAIN;
                }
                return PC_ERROR;
            }
            *progress = true;
            if (pp->dst == ctx->r->c) {
                ctx->r->bytes_sent += (uint64_t) n;
            }
            k = pc_min((size_t) n, pp->pre.len);
            pp->pre.data += k;
            pp->pre.len -= k;
            b->pos += (size_t) n - k;
            continue;
        }
        b->pos = b->last = b->start;
        if (pp->eof) {
            if (!pp->done) {
                pp->done = 1;
                if (pp->dst->ssl == NULL) {
                    (void) shutdown(pp->dst->fd, SHUT_WR);
                }
            }
            return PC_DONE;
        }
        n = pc_conn_recv(pp->src, b->last, (size_t) (b->end - b->last));
        if (n > 0) {
            b->last += n;
            *progress = true;
            continue;
        }
        if (n == 0) {
            pp->eof = 1;
            continue;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            pp->want_r = 1;
            return PC_AGAIN;
        }
        return PC_ERROR;
    }
}

pc_rc_t
pc_http_proxy_tunnel_end(pc_http_proxy_ctx_t *ctx)
{
    pc_http_proxy_cur(ctx)->response = PX_NOW - pc_http_proxy_cur(ctx)->start;
    if (ctx->peer >= 0) {
        pc_http_balancer_success(&ctx->rt->bal, (uint32_t) ctx->peer);
    }
    ctx->reason = NULL;
    return pc_http_proxy_end(ctx, PC_DONE);
}

static void
io_want(ev_io *w, bool on)
{
    if (on) {
        ev_io_start(PX_LOOP, w);
    } else {
        ev_io_stop(PX_LOOP, w);
    }
}

pc_rc_t
pc_http_proxy_tunnel_run(pc_http_proxy_ctx_t *ctx)
{
    pc_conn_t *uc = ctx->uc->c;
    pc_rc_t    rd, ru;
    bool       progress = false;

    rd = px_pipe(ctx, &ctx->down, &progress);
    ru = px_pipe(ctx, &ctx->up, &progress);
    if (rd == PC_ERROR || ru == PC_ERROR || (ctx->down.done && ctx->up.done)
        || (ctx->down.done && ctx->r->c->ssl != NULL))
    {
        return pc_http_proxy_tunnel_end(ctx);
    }
    pc_conn_want(uc, (ctx->down.want_r ? EV_READ : 0) | (ctx->up.want_w ? EV_WRITE : 0));
    io_want(&ctx->crev, ctx->up.want_r);
    io_want(&ctx->cwev, ctx->down.want_w);
    pc_http_proxy_timer(ctx, 2, ctx->plcf->read_timeout, progress);
    return PC_AGAIN;
}
