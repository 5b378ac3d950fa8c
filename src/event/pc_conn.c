/*
 * pc_conn.c -- connections of a worker: creation, close, plain I/O, and the
 * worker-wide drain/close walks used by shutdown.
 *
 * Connection structs are recycled through a small per-worker free list, so
 * a worker in steady state does not malloc per connection.
 *
 * Walking the connection list while callbacks close connections (a client's
 * drain closing its upstream, which may be the next list entry) is made safe
 * by deferring the release of closed structs until the walk ends: a closed
 * struct keeps its `next` pointer and stays readable, and `closed` tells the
 * walk to skip it.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/pc_core.h"
#include "core/pc_cycle.h"
#include "event/pc_conn.h"
#include "event/pc_listen.h"
#include "event/pc_worker.h"

#define CONN_CACHE_MAX  256

static pc_conn_t *free_conns;       /* linked through next            */
static unsigned   nfree_conns;
static unsigned   defer_depth;      /* > 0 while a walk is running    */
static pc_conn_t *deferred;         /* closed during a walk (via prev) */

/* A watcher fired that nobody set a callback for: a bug, not a crash. */
static void
stray_io(struct ev_loop *loop, ev_io *w, int revents)
{
    pc_conn_t *c = w->data;

    PC_UNUSED(revents);
    ev_io_stop(loop, w);
    pc_log(PC_LOG_ALERT, 0, "connection %llu: event without a handler",
           (unsigned long long) c->number);
}

static void
stray_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    PC_UNUSED(revents);
    ev_timer_stop(loop, w);
}

static void
release(pc_conn_t *c)
{
    if (nfree_conns < CONN_CACHE_MAX) {
        c->next = free_conns;
        free_conns = c;
        nfree_conns++;
    } else {
        free(c);
    }
}

/* See pc_conn.h.  Does not start any watcher and does not call the
 * listener's handler (accept does, after filling c->peer).  An upstream
 * connection (ls NULL) is not refused at worker_connections: only accept
 * is throttled. */
pc_conn_t *
pc_conn_new(pc_worker_t *wk, int fd, pc_listening_t *ls)
{
    pc_conn_t *c;
    int        on = 1;

    /* During a walk, closed structs must not be handed out again. */
    if (free_conns != NULL && defer_depth == 0) {
        c = free_conns;
        free_conns = c->next;
        nfree_conns--;
    } else {
        c = malloc(sizeof(*c));
    }
    if (c == NULL) {
        close(fd);
        return NULL;
    }
    memset(c, 0, sizeof(*c));
    if (ioctl(fd, FIONBIO, &on) < 0) {
        pc_log(PC_LOG_ALERT, errno, "ioctl(FIONBIO) failed");
        close(fd);
        release(c);
        return NULL;
    }
    c->fd = fd;
    c->wk = wk;
    c->cycle = wk->cycle;
    pc_cycle_ref(c->cycle);
    c->listening = ls;
    c->number = ++wk->conn_number;
    c->recv = pc_conn_recv_plain;
    c->writev = pc_conn_writev_plain;
    ev_io_init(&c->rev, stray_io, fd, EV_READ);
    ev_io_init(&c->wev, stray_io, fd, EV_WRITE);
    ev_timer_init(&c->timer, stray_timer, 0., 0.);
    c->rev.data = c;
    c->wev.data = c;
    c->timer.data = c;

    c->next = wk->conns;
    if (wk->conns != NULL)
        wk->conns->prev = c;
    wk->conns = c;
    wk->nconns++;
    return c;
}

/* See pc_conn.h.  NULL and an already closed c are accepted.  Watchers
 * stop before close(2).  Resumes a paused accept. */
void
pc_conn_close(pc_conn_t *c)
{
    pc_worker_t *wk;

    if (c == NULL || c->closed)
        return;
    wk = c->wk;
    ev_io_stop(wk->loop, &c->rev);
    ev_io_stop(wk->loop, &c->wev);
    ev_timer_stop(wk->loop, &c->timer);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->closed = 1;

    /* Unlink but keep c->next: a walk in progress continues from it. */
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        wk->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    wk->nconns--;
    pc_cycle_unref(c->cycle);
    c->cycle = NULL;

    if (defer_depth > 0) {
        c->prev = deferred;
        deferred = c;
    } else {
        release(c);
    }
    pc_accept_conn_closed(wk);
}

static void
defer_begin(void)
{
    defer_depth++;
}

static void
defer_end(void)
{
    pc_conn_t *c;

    if (--defer_depth > 0)
        return;
    while ((c = deferred) != NULL) {
        deferred = c->prev;
        release(c);
    }
}

/* See pc_conn.h.  A client connection without drain() is closed; an
 * upstream one without drain() is left to its request. */
void
pc_conn_drain_all(pc_worker_t *wk)
{
    pc_conn_t *c;

    defer_begin();
    for (c = wk->conns; c != NULL; c = c->next) {
        if (c->closed)
            continue;
        if (c->drain != NULL) {
            c->drain(c);
        } else if (!c->upstream) {
            /* No protocol state to finish: nothing in flight. */
            pc_conn_close(c);
        }
        /* Upstream connections without drain belong to a request that
         * finishes (or an idle pool that closes them) on its own. */
    }
    defer_end();
}

/* See pc_conn.h.  terminate() when set, then pc_conn_close; the list
 * is empty on return. */
void
pc_conn_close_all(pc_worker_t *wk)
{
    pc_conn_t *c;
    int        pass;

    /* terminate() may open nothing new in a sane protocol, but a few
     * passes make sure the list really ends empty. */
    for (pass = 0; pass < 4 && wk->conns != NULL; pass++) {
        defer_begin();
        for (c = wk->conns; c != NULL; c = c->next) {
            if (c->closed)
                continue;
            if (c->terminate != NULL && pass < 3)
                c->terminate(c);
            if (!c->closed)
                pc_conn_close(c);
        }
        defer_end();
    }
}

/* See pc_listen.h. */
void
pc_conn_free_cache(void)
{
    pc_conn_t *c;

    while ((c = free_conns) != NULL) {
        free_conns = c->next;
        free(c);
    }
    nfree_conns = 0;
}

/* See pc_conn.h. */
ssize_t
pc_conn_recv_plain(pc_conn_t *c, u_char *buf, size_t size)
{
    ssize_t n;

    do {
        n = recv(c->fd, buf, size, 0);
    } while (n < 0 && errno == EINTR);

    if (n == 0) {
        c->eof = 1;
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        c->error = 1;
    } else if (n < 0) {
        errno = EAGAIN;
    }
    return n;
}

/* See pc_conn.h.  Writes at most IOV_MAX vectors per call. */
ssize_t
pc_conn_writev_plain(pc_conn_t *c, struct iovec *iov, int iovcnt)
{
    ssize_t n;

    if (iovcnt > IOV_MAX)
        iovcnt = IOV_MAX;
    do {
        n = writev(c->fd, iov, iovcnt);
    } while (n < 0 && errno == EINTR);

    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        c->error = 1;
    } else if (n < 0) {
        errno = EAGAIN;
    }
    return n;
}

/* See pc_conn.h.  NULL (and *len 0) if getsockname fails. */
const struct sockaddr *
pc_conn_local_addr(pc_conn_t *c, socklen_t *len)
{
    if (c->locallen == 0) {
        c->locallen = sizeof(c->local);
        if (getsockname(c->fd, (struct sockaddr *) &c->local, &c->locallen) < 0) {
            c->locallen = 0;
            if (len != NULL)
                *len = 0;
            return NULL;
        }
    }
    if (len != NULL)
        *len = c->locallen;
    return (const struct sockaddr *) &c->local;
}
