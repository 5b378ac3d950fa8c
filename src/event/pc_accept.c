/*
 * pc_accept.c -- accepting client connections in a worker.
 *
 * Every worker watches every listening socket of its cycle.  Accept is
 * paused, never failed, in two cases: when worker_connections are all in use
 * (new clients wait in the kernel backlog until a connection closes) and
 * when the process or system runs out of descriptors (EMFILE/ENFILE: retry
 * after 100 ms instead of spinning on a socket that stays readable).
 *
 * A full worker whose connections include reusable ones (idle keep-alive
 * clients, see pc_conn_reusable) does not leave a waiting client in the
 * backlog until one of them times out: otherwise clients that merely keep
 * their connections open, or refresh them, lock everyone else out.  It
 * accepts the client and closes the oldest reusable connections to make
 * room, like nginx.  It first lets REUSE_DELAY pass with accept paused, so
 * that a sibling worker with free slots (shared listening queue) takes the
 * client instead and nobody is closed for nothing.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/pc_core.h"
#include "core/pc_cycle.h"
#include "event/pc_conn.h"
#include "event/pc_listen.h"
#include "event/pc_worker.h"

#define ACCEPT_BATCH        64      /* accepts per wake-up, for fairness   */
#define ACCEPT_RETRY_SEC    0.1     /* after EMFILE/ENFILE                 */
#define ACCEPT_LOG_EVERY_MS 1000
#define REUSE_DELAY_SEC     0.05    /* full: leave the client to a sibling */
#define REUSE_BATCH         32      /* most reusable connections closed at once */

static bool       paused_full;      /* every worker_connections in use     */
static bool       paused_error;     /* out of descriptors, retry timer on  */
static bool       reuse_ready;      /* full, REUSE_DELAY passed: make room */
static ev_timer   retry_timer;
static ev_timer   reuse_timer;
static pc_msec_t  last_error_log = -ACCEPT_LOG_EVERY_MS;
static pc_msec_t  last_reuse_log = -ACCEPT_LOG_EVERY_MS;
static uint32_t   reused_unlogged;  /* closed since the last log line     */

static void
watchers_set(pc_worker_t *wk, bool on)
{
    uint32_t i;

    for (i = 0; i < wk->naccept; i++) {
        /* A draining worker closes its copies of the sockets. */
        if (on && ((pc_listening_t *) wk->accept_watchers[i].data)->fd < 0)
            continue;
        if (on)
            ev_io_start(wk->loop, &wk->accept_watchers[i]);
        else
            ev_io_stop(wk->loop, &wk->accept_watchers[i]);
    }
}

/* Start the watchers when accepting and nothing pauses it. */
static void
maybe_resume(pc_worker_t *wk)
{
    if (wk->accepting && !paused_full && !paused_error)
        watchers_set(wk, true);
}

static void
on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    PC_UNUSED(loop);
    PC_UNUSED(w);
    PC_UNUSED(revents);
    paused_error = false;
    if (pc_worker != NULL)
        maybe_resume(pc_worker);
}

static void
on_reuse_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    PC_UNUSED(loop);
    PC_UNUSED(w);
    PC_UNUSED(revents);
    reuse_ready = true;
    paused_full = false;
    if (pc_worker != NULL)
        maybe_resume(pc_worker);
}

/* The worker is full: pause, and with reusable connections come back
 * after REUSE_DELAY to make room if the client is still waiting. */
static void
pause_full(pc_worker_t *wk)
{
    paused_full = true;
    watchers_set(wk, false);
    if (pc_conn_reusable_count() > 0 && !ev_is_active(&reuse_timer))
        ev_timer_start(wk->loop, &reuse_timer);
}

/*
 * A client was accepted into a full worker: close the oldest reusable
 * connections, an eighth of them (1 to REUSE_BATCH, and at least enough
 * for this one), so that a burst of clients does not pay this per client.
 * Logged at warn, at most once per ACCEPT_LOG_EVERY_MS.
 */
static void
make_room(pc_worker_t *wk)
{
    uint32_t n, need;

    n = pc_min(pc_max(pc_conn_reusable_count() / 8, 1), REUSE_BATCH);
    need = wk->nconns - wk->max_conns + 1;
    reused_unlogged += pc_conn_reuse(wk, pc_max(n, need));
    if (reused_unlogged > 0
        && pc_time.mono_ms - last_reuse_log >= ACCEPT_LOG_EVERY_MS)
    {
        last_reuse_log = pc_time.mono_ms;
        pc_log(PC_LOG_WARN, 0, "worker_connections (%u) are not enough: "
               "closed %u idle keep-alive connections", wk->max_conns,
               reused_unlogged);
        reused_unlogged = 0;
    }
}

static void
pause_on_error(pc_worker_t *wk, int err, const pc_listening_t *ls)
{
    if (pc_time.mono_ms - last_error_log >= ACCEPT_LOG_EVERY_MS) {
        last_error_log = pc_time.mono_ms;
        pc_log(PC_LOG_CRIT, err, "accept4() on %s failed with %u connections "
               "open, pausing accept for 100ms", ls->addr_text, wk->nconns);
    }
    paused_error = true;
    watchers_set(wk, false);
    ev_timer_stop(wk->loop, &retry_timer);
    ev_timer_set(&retry_timer, ACCEPT_RETRY_SEC, 0.);
    ev_timer_start(wk->loop, &retry_timer);
}

/* Hand one accepted socket to the listener's protocol. */
static void
accepted(pc_worker_t *wk, pc_listening_t *ls, int fd,
    const struct sockaddr_storage *peer, socklen_t peerlen)
{
    pc_conn_t *c;
    int        one = 1;

    pc_metric_add(wk->accepted, 1);
    /* Responses are written in as few writes as possible already; Nagle
     * would only delay the last segment of each. */
    if (peer->ss_family == AF_INET || peer->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    c = pc_conn_new(wk, fd, ls);
    if (c == NULL) {
        pc_log(PC_LOG_ALERT, ENOMEM, "no memory for a connection on %s",
               ls->addr_text);
        return;
    }
    memcpy(&c->peer, peer, pc_min((size_t) peerlen, sizeof(c->peer)));
    c->peerlen = peerlen;
    if (ls->handler == NULL) {
        pc_log(PC_LOG_ALERT, 0, "listener %s has no handler", ls->addr_text);
        pc_conn_close(c);
        return;
    }
    ls->handler(c);
}

static void
on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    pc_worker_t            *wk = pc_worker;
    pc_listening_t         *ls = w->data;
    struct sockaddr_storage peer;
    socklen_t               len;
    int                     fd, i;

    PC_UNUSED(loop);
    PC_UNUSED(revents);
    for (i = 0; i < ACCEPT_BATCH && wk->accepting; i++) {
        if (wk->nconns >= wk->max_conns
            && (!reuse_ready || pc_conn_reusable_count() == 0))
        {
            pause_full(wk);
            return;
        }
        len = sizeof(peer);
        fd = accept4(w->fd, (struct sockaddr *) &peer, &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            /* Accepted first, room made second: nobody is closed for a
             * client another worker took meanwhile.  If the protocol
             * closed none, this one client is over the limit. */
            if (wk->nconns >= wk->max_conns)
                make_room(wk);
            accepted(wk, ls, fd, &peer, len);
            continue;
        }
        switch (errno) {
        case EAGAIN:
#if EAGAIN != EWOULDBLOCK
        case EWOULDBLOCK:
#endif
            reuse_ready = false;    /* the next client waits REUSE_DELAY */
            return;
        case EINTR:
        case ECONNABORTED:      /* the client gave up while queued */
        case EPROTO:
        case EPERM:             /* firewall rules */
            continue;
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
            pause_on_error(wk, errno, ls);
            return;
        default:
            pc_log(PC_LOG_ALERT, errno, "accept4() on %s failed", ls->addr_text);
            return;
        }
    }
}

/* See pc_conn.h.  Allocates one watcher per listener of wk->cycle on
 * first use (freed by pc_accept_free). */
pc_rc_t
pc_accept_start(pc_worker_t *wk)
{
    pc_listening_t *ls = wk->cycle->listening.elts;
    uint32_t        i, n = wk->cycle->listening.nelts;

    if (wk->accept_watchers == NULL && n > 0) {
        wk->accept_watchers = calloc(n, sizeof(ev_io));
        if (wk->accept_watchers == NULL) {
            pc_log(PC_LOG_ALERT, errno, "no memory for accept watchers");
            return PC_ERROR;
        }
        wk->naccept = n;
        for (i = 0; i < n; i++) {
            ev_io_init(&wk->accept_watchers[i], on_accept, ls[i].fd, EV_READ);
            wk->accept_watchers[i].data = &ls[i];
        }
        ev_timer_init(&retry_timer, on_retry, ACCEPT_RETRY_SEC, 0.);
        ev_timer_init(&reuse_timer, on_reuse_timer, REUSE_DELAY_SEC, 0.);
    }
    wk->accepting = 1;
    /* Full: on_accept pauses (and plans to make room) at the first client. */
    paused_full = false;
    maybe_resume(wk);
    return PC_OK;
}

/* See pc_conn.h.  Idempotent. */
void
pc_accept_stop(pc_worker_t *wk)
{
    wk->accepting = 0;
    if (wk->accept_watchers == NULL)
        return;
    watchers_set(wk, false);
    ev_timer_stop(wk->loop, &retry_timer);
    ev_timer_stop(wk->loop, &reuse_timer);
    paused_error = false;
    reuse_ready = false;
}

/* See pc_listen.h. */
void
pc_accept_conn_closed(pc_worker_t *wk)
{
    if (paused_full && wk->nconns < wk->max_conns) {
        paused_full = false;
        maybe_resume(wk);
    }
}

/* See pc_listen.h.  Only a pause for want of anything reusable is lifted:
 * on_accept then pauses again with the REUSE_DELAY timer running. */
void
pc_accept_conn_reusable(pc_worker_t *wk)
{
    if (paused_full && !ev_is_active(&reuse_timer)) {
        paused_full = false;
        maybe_resume(wk);
    }
}

/* See pc_listen.h. */
void
pc_accept_free(pc_worker_t *wk)
{
    pc_accept_stop(wk);
    free(wk->accept_watchers);
    wk->accept_watchers = NULL;
    wk->naccept = 0;
}
