/*
 * pc_http_upstream.c -- per-worker upstream runtime: balancer state, the
 * keep-alive pool and connection set-up (see pc_http_upstream.h).
 *
 * Why the pool is keyed by peer: the balancer decides where a request goes
 * (weights, least_conn, hash affinity, passive health), then the pool is
 * asked for an idle connection to that peer.  Picking any idle connection
 * first would let the pool, not the balancer, decide the load.
 *
 * Why an idle connection keeps a read watcher: a backend that closes its
 * idle connections (its own keep-alive timeout) sends a FIN that we see at
 * once, so the connection leaves the pool before a request can be written
 * to it.  That is most of the "stale keep-alive 502" story; the retry in
 * pc_http_proxy.c covers the race that remains.
 *
 * Why a connection beyond `keepalive` is closed only after a grace: under
 * load, responses come back in bursts, and a burst of idle connections is
 * followed within milliseconds by the requests that need them.  Closing
 * the ones over `keepalive` when they come back (or even at the end of the
 * event loop's turn) and connecting anew a moment later costs a connect, a
 * close and a TIME_WAIT per extra request: a third of the worker's CPU at
 * 256 clients and `keepalive 64`.  So an idle connection over `keepalive`
 * is closed once it has been idle for PC_HTTP_UPSTREAM_IDLE_GRACE ms
 * (oldest first, by one timer per worker).  The upstream never sees more
 * connections than it just had in use, and a pool settles at `keepalive`
 * as soon as the load stops needing more.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "core/pc_time.h"
#include "event/pc_worker.h"
#include "http/pc_http_upstream.h"

#define UPCONN_FREE_MAX  256     /* cached connection structs per worker */

typedef struct {
    pc_http_upstream_rt_t  *ups;
    uint32_t                n;
    pc_http_upconn_t       *free;     /* linked through ->next            */
    uint32_t                nfree;
    ev_timer                trim;     /* active while a pool is over      */
    uint32_t                health_changes;
} worker_state_t;

/* One worker per process: this is that worker's upstream state. */
static worker_state_t ws;

static void on_trim(struct ev_loop *loop, ev_timer *w, int revents);

pc_rc_t
pc_http_upstream_finish(pc_conf_t *cf, pc_http_upstream_t *u)
{
    pc_str_t  *names;
    uint32_t   i, j;

    if (u->peers.nelts == 0) {
        pc_conf_error_at(cf, u->node, "no servers in upstream \"%.*s\"",
                         (int) u->name.len, u->name.data);
        return PC_ERROR;
    }
    u->npeers = u->peers.nelts;
    u->sorted = pc_palloc(cf->pool, u->npeers * sizeof(*u->sorted));
    if (u->sorted == NULL) {
        return PC_ERROR;
    }
    /* stable: primaries first, then backups, each in config order */
    for (i = 0, j = 0; i < u->npeers; i++) {
        if (!((pc_http_upstream_peer_t *) u->peers.elts)[i].backup) {
            u->sorted[j++] = ((pc_http_upstream_peer_t *) u->peers.elts)[i];
        }
    }
    u->nprimary = j;
    for (i = 0; i < u->npeers; i++) {
        if (((pc_http_upstream_peer_t *) u->peers.elts)[i].backup) {
            u->sorted[j++] = ((pc_http_upstream_peer_t *) u->peers.elts)[i];
        }
    }
    if (u->nprimary == 0) {
        pc_conf_error_at(cf, u->node, "upstream \"%.*s\" has only backup servers",
                         (int) u->name.len, u->name.data);
        return PC_ERROR;
    }
    if (u->method != PC_HTTP_BALANCE_CHASH) {
        return PC_OK;
    }
    {
        pc_http_balancer_peer_t bp[PC_HTTP_BALANCER_MAX_PEERS];

        names = pc_palloc(cf->pool, u->nprimary * sizeof(pc_str_t));
        u->nring = 0;
        for (i = 0; i < u->nprimary; i++) {
            memset(&bp[i], 0, sizeof(bp[i]));
            bp[i].weight = u->sorted[i].weight;
            if (names != NULL) {
                names[i] = u->sorted[i].name;
            }
        }
        u->nring = (uint32_t) pc_http_ring_size(bp, u->nprimary);
        u->ring = pc_palloc(cf->pool, u->nring * sizeof(*u->ring));
        if (names == NULL || u->ring == NULL) {
            return PC_ERROR;
        }
        pc_http_ring_build(u->ring, bp, names, u->nprimary);
    }
    return PC_OK;
}

/* ---------------------------------------------------------------- worker */

pc_rc_t
pc_http_upstream_init_worker(pc_http_upstream_t **ups, uint32_t n)
{
    pc_http_upstream_rt_t *rt;
    const pc_http_upstream_t *u;
    uint32_t               i, k;

    pc_http_upstream_exit_worker();
    ev_init(&ws.trim, on_trim);
    if (n == 0) {
        return PC_OK;
    }
    ws.ups = calloc(n, sizeof(*ws.ups));
    if (ws.ups == NULL) {
        pc_log(PC_LOG_ALERT, errno, "upstream worker state");
        return PC_ERROR;
    }
    ws.n = n;
    for (i = 0; i < n; i++) {
        u = ups[i];
        rt = &ws.ups[u->index];
        rt->u = u;
        rt->bal.method = u->method;
        rt->bal.npeers = u->npeers;
        rt->bal.nprimary = u->nprimary;
        rt->bal.ring = u->ring;
        rt->bal.nring = u->nring;
        /* workers must not draw the same random sequence */
        rt->bal.rng = ((uint64_t) getpid() << 32) ^ (uint64_t) (i + 1) * 0x9e3779b97f4a7c15ULL;
        rt->bal.peers = calloc(u->npeers, sizeof(pc_http_balancer_peer_t));
        if (rt->bal.peers == NULL) {
            pc_log(PC_LOG_ALERT, errno, "upstream worker state");
            return PC_ERROR;
        }
        for (k = 0; k < u->npeers; k++) {
            rt->bal.peers[k].weight = u->sorted[k].weight;
            rt->bal.peers[k].max_fails = u->sorted[k].max_fails;
            rt->bal.peers[k].fail_timeout = u->sorted[k].fail_timeout;
            rt->bal.peers[k].down = u->sorted[k].down;
            rt->bal.peers[k].backup = u->sorted[k].backup;
        }
        pc_http_balancer_init(&rt->bal);
    }
    return PC_OK;
}

/* Arm the trim timer for when the oldest idle connection of rt, which is
 * over its keepalive, has been idle for the grace. */
static void
trim_arm(const pc_http_upstream_rt_t *rt)
{
    pc_msec_t left;

    if (ev_is_active(&ws.trim))
        return;
    left = rt->idle_tail->idle_since + PC_HTTP_UPSTREAM_IDLE_GRACE - pc_time.mono_ms;
    ev_timer_set(&ws.trim, (double) pc_max(left, 1) / 1000., 0.);
    ev_timer_start(pc_worker->loop, &ws.trim);
}

/* Close the connections of every pool over its keepalive that have been
 * idle for the grace, oldest first; re-arm for the next one to age. */
static void
on_trim(struct ev_loop *loop, ev_timer *w, int revents)
{
    pc_http_upstream_rt_t *rt, *later = NULL;
    pc_http_upconn_t      *uc;
    uint32_t               i;

    PC_UNUSED(loop);
    PC_UNUSED(w);
    PC_UNUSED(revents);
    for (i = 0; i < ws.n; i++) {
        rt = &ws.ups[i];
        while (rt->nidle > (uint32_t) pc_max(rt->u->keepalive, 0)) {
            uc = rt->idle_tail;
            if (uc->idle_since + PC_HTTP_UPSTREAM_IDLE_GRACE > pc_time.mono_ms) {
                if (later == NULL || uc->idle_since < later->idle_tail->idle_since)
                    later = rt;
                break;
            }
            pc_http_upstream_close(uc);
        }
    }
    if (later != NULL)
        trim_arm(later);
}

void
pc_http_upstream_exit_worker(void)
{
    pc_http_upconn_t *uc;
    uint32_t          i;

    if (ev_is_active(&ws.trim)) {
        ev_timer_stop(pc_worker->loop, &ws.trim);
    }

    for (i = 0; i < ws.n; i++) {
        while (ws.ups[i].idle != NULL) {
            pc_http_upstream_close(ws.ups[i].idle);
        }
        free(ws.ups[i].bal.peers);
    }
    free(ws.ups);
    ws.ups = NULL;
    ws.n = 0;
    while ((uc = ws.free) != NULL) {
        ws.free = uc->next;
        free(uc);
    }
    ws.nfree = 0;
}

pc_http_upstream_rt_t *
pc_http_upstream_rt(const pc_http_upstream_t *u)
{
    if (u->index >= ws.n || ws.ups[u->index].u != u) {
        return NULL;
    }
    return &ws.ups[u->index];
}

void
pc_http_upstream_health_changed(void)
{
    ws.health_changes++;
}

uint32_t
pc_http_upstream_health_changes(void)
{
    return ws.health_changes;
}

uint32_t
pc_http_upstream_idle_count(void)
{
    uint32_t i, n = 0;

    for (i = 0; i < ws.n; i++) {
        n += ws.ups[i].nidle;
    }
    return n;
}

/* ------------------------------------------------------------------ pool */

static void
idle_unlink(pc_http_upconn_t *uc)
{
    pc_http_upstream_rt_t *rt = uc->rt;

    if (uc->prev) {
        uc->prev->next = uc->next;
    } else {
        rt->idle = uc->next;
    }
    if (uc->next) {
        uc->next->prev = uc->prev;
    } else {
        rt->idle_tail = uc->prev;
    }
    uc->prev = uc->next = NULL;
    uc->idle = 0;
    rt->nidle--;
}

/* Readable while idle: EOF, an error, or bytes nobody asked for.  Any of
 * them makes the connection unusable; a spurious wake-up does not. */
static void
on_idle_read(pc_conn_t *c)
{
    pc_http_upconn_t *uc = c->data;
    u_char            byte;
    ssize_t           n;

    n = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return;
    }
    /* a backend closing idle connections is routine: debug; bytes nobody
     * asked for are not */
    pc_log(n > 0 ? PC_LOG_INFO : PC_LOG_DEBUG, n < 0 ? errno : 0,
           "upstream %.*s closed an idle keep-alive connection%s",
           (int) uc->rt->u->sorted[uc->peer].name.len,
           uc->rt->u->sorted[uc->peer].name.data,
           n > 0 ? " (unexpected bytes)" : "");
    pc_http_upstream_close(uc);
}

static void
on_idle_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    pc_conn_t *c = w->data;

    PC_UNUSED(loop);
    PC_UNUSED(revents);
    if (pc_conn_timer_expired(c))
        pc_http_upstream_close(c->data);
}

static void
on_idle_drain(pc_conn_t *c)
{
    pc_http_upconn_t *uc = c->data;

    if (uc != NULL && uc->idle) {
        pc_http_upstream_close(uc);
    }
}

/* Shutdown, or accept needing its slot at worker_connections (an idle
 * pooled connection is reusable: a client matters more than a reconnect
 * to the upstream later). */
static void
on_idle_terminate(pc_conn_t *c)
{
    pc_http_upconn_t *uc = c->data;

    if (uc != NULL && uc->idle) {
        pc_http_upstream_close(uc);
    } else {
        pc_conn_close(c);
    }
}

static const pc_conn_proto_t idle_proto = { on_idle_read, NULL, on_idle_drain,
                                            on_idle_terminate };

pc_http_upconn_t *
pc_http_upstream_pool_get(pc_http_upstream_rt_t *rt, uint32_t peer)
{
    pc_http_upconn_t *uc;

    for (uc = rt->idle; uc != NULL; uc = uc->next) {
        if (uc->peer == peer) {
            idle_unlink(uc);
            pc_conn_reusable(uc->c, false);
            /* The read watcher runs on: the new owner changes its
             * callback (ev_set_cb), which costs nothing. */
            pc_conn_want_write(uc->c, false);
            pc_conn_timer_set(uc->c, 0);
            return uc;
        }
    }
    return NULL;
}

void
pc_http_upstream_pool_put(pc_http_upconn_t *uc)
{
    pc_http_upstream_rt_t    *rt = uc->rt;
    const pc_http_upstream_t *u = rt->u;
    pc_conn_t                *c = uc->c;

    if (u->keepalive <= 0
        || (u->keepalive_requests > 0
            && uc->requests >= (uint32_t) u->keepalive_requests)
        || pc_worker->draining || pc_worker->exiting)
    {
        pc_http_upstream_close(uc);
        return;
    }
    /* Reading may still be on (the owner's): new handlers are enough, no
     * stop and start. */
    pc_conn_want_write(c, false);
    uc->owner = NULL;
    uc->idle = 1;
    c->data = uc;
    c->proto = &idle_proto;
    pc_conn_want_read(c, true);
    ev_set_cb(&c->timer, on_idle_timeout);
    c->timer.data = c;
    pc_conn_timer_set(c, u->keepalive_timeout);

    uc->prev = NULL;
    uc->next = rt->idle;
    if (rt->idle) {
        rt->idle->prev = uc;
    } else {
        rt->idle_tail = uc;
    }
    rt->idle = uc;
    rt->nidle++;
    uc->idle_since = pc_time.mono_ms;
    pc_conn_reusable(c, true);
    if (rt->nidle > (uint32_t) u->keepalive)
        trim_arm(rt);
}

/* ------------------------------------------------------------ connecting */

static pc_http_upconn_t *
upconn_alloc(void)
{
    pc_http_upconn_t *uc = ws.free;

    if (uc != NULL) {
        ws.free = uc->next;
        ws.nfree--;
    } else {
        uc = malloc(sizeof(*uc));
        if (uc == NULL) {
            return NULL;
        }
    }
    memset(uc, 0, sizeof(*uc));
    return uc;
}

pc_http_upconn_t *
pc_http_upstream_connect(pc_http_upstream_rt_t *rt, uint32_t peer, int *err)
{
    const pc_http_upstream_peer_t *p = &rt->u->sorted[peer];
    pc_http_upconn_t              *uc;
    pc_conn_t                     *c;
    int                            fd, one = 1, rc;

    uc = upconn_alloc();
    if (uc == NULL) {
        *err = ENOMEM;
        return NULL;
    }
    fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = errno;
        goto failed;
    }
    (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    rc = connect(fd, (const struct sockaddr *) &p->addr, p->addrlen);
    if (rc < 0 && errno != EINPROGRESS) {
        *err = errno;
        close(fd);
        goto failed;
    }
    c = pc_conn_new(pc_worker, fd, NULL);
    if (c == NULL) {
        *err = errno ? errno : ENOMEM;
        goto failed;
    }
    c->upstream = 1;
    memcpy(&c->peer, &p->addr, pc_min((size_t) p->addrlen, sizeof(c->peer)));
    c->peerlen = p->addrlen;
    c->data = uc;
    c->proto = NULL;      /* in use: it finishes with its request */
    uc->c = c;
    uc->rt = rt;
    uc->peer = peer;
    uc->connected = rc == 0;
    return uc;

failed:
    uc->next = ws.free;
    ws.free = uc;
    ws.nfree++;
    return NULL;
}

int
pc_http_upstream_connect_result(pc_http_upconn_t *uc)
{
    int       err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(uc->c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
        return errno;
    }
    if (err == 0) {
        uc->connected = 1;
    }
    return err;
}

void
pc_http_upstream_close(pc_http_upconn_t *uc)
{
    if (uc->idle) {
        idle_unlink(uc);
    }
    if (uc->c != NULL) {
        uc->c->data = NULL;
        uc->c->proto = NULL;
        pc_conn_close(uc->c);
        uc->c = NULL;
    }
    if (ws.nfree < UPCONN_FREE_MAX) {
        uc->next = ws.free;
        ws.free = uc;
        ws.nfree++;
    } else {
        free(uc);
    }
}
