/*
 * pc_conn.c -- connections of a worker: creation, close, plain I/O, and the
 * worker-wide drain/close walks used by shutdown.
 *
 * Connection structs come from per-worker slabs of CONN_SLAB and go back to
 * a free list: no malloc per connection, and no malloc header on each of
 * them either (5,000 idle clients are 5,000 of these).
 *
 * Walking the connection list while callbacks close connections (a client's
 * drain closing its upstream, which may be the next list entry) is made safe
 * by deferring the release of closed structs until the walk ends: a closed
 * struct keeps its `next` pointer and stays readable, and `closed` tells the
 * walk to skip it.
 *
 * Reusable connections (idle between requests) are also on a second list,
 * oldest first, so that accept can close the oldest when worker_connections
 * run out: two pointers per connection, and marking or unmarking one is a
 * few pointer writes, as cheap as the keep-alive path must stay.
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

#define CONN_SLAB  64

typedef struct conn_slab_s  conn_slab_t;

struct conn_slab_s {
    conn_slab_t *next;
    pc_conn_t    conns[CONN_SLAB];
};

static conn_slab_t *slabs;
static pc_conn_t   *free_conns;     /* linked through next            */
static unsigned     nlive;          /* structs handed out, not freed  */
static unsigned   defer_depth;      /* > 0 while a walk is running    */
static pc_conn_t *deferred;         /* closed during a walk (via prev) */
static pc_conn_t *reuse_head;       /* reusable, oldest first (rnext)  */
static pc_conn_t *reuse_tail;
static uint32_t   nreusable;

static void defer_begin(void);
static void defer_end(void);

/*
 * The fd's events, to the protocol: writable first (a flush may free
 * what the reader needs), then readable, each only while still wanted.
 * A handler may close c: closes are deferred until both ran, so c stays
 * a valid (closed) struct meanwhile and is never a new connection.
 */
static void
conn_event(struct ev_loop *loop, ev_io *w, int revents)
{
    pc_conn_t             *c = w->data;
    const pc_conn_proto_t *p = c->proto;

    if (p == NULL || (p->read == NULL && p->write == NULL)) {
        /* A watcher nobody handles: a bug, not a crash. */
        ev_io_stop(loop, w);
        pc_log(PC_LOG_ALERT, 0, "connection %llu: event without a handler",
               (unsigned long long) c->number);
        return;
    }
    defer_begin();
    if ((revents & EV_WRITE) && (pc_conn_wants(c) & EV_WRITE) && p->write != NULL)
        p->write(c);
    p = c->proto;
    if ((revents & EV_READ) && !c->closed && (pc_conn_wants(c) & EV_READ)
        && p != NULL && p->read != NULL)
        p->read(c);
    defer_end();
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
    c->next = free_conns;
    free_conns = c;
    nlive--;
}

/* A struct from the free list (a new slab when it is empty); NULL on
 * ENOMEM.  Structs closed during a walk are not on the list yet (see
 * defer_end), so a walk never meets one again. */
static pc_conn_t *
conn_alloc(void)
{
    conn_slab_t *sl;
    pc_conn_t   *c;
    unsigned     i;

    if (free_conns == NULL) {
        sl = malloc(sizeof(*sl));
        if (sl == NULL)
            return NULL;
        sl->next = slabs;
        slabs = sl;
        for (i = CONN_SLAB; i-- > 0; ) {
            sl->conns[i].next = free_conns;
            free_conns = &sl->conns[i];
        }
    }
    c = free_conns;
    free_conns = c->next;
    nlive++;
    return c;
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

    c = conn_alloc();
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
    c->cycle = wk->cycle;
    pc_cycle_ref(c->cycle);
    c->listening = ls;
    c->number = ++wk->conn_number;
    c->io = &pc_conn_io_plain;
    ev_io_init(&c->ev, conn_event, fd, EV_READ);
    ev_timer_init(&c->timer, stray_timer, 0., 0.);
    c->ev.data = c;
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
    wk = pc_worker;
    pc_conn_reusable(c, false);
    ev_io_stop(wk->loop, &c->ev);
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

/* See pc_conn.h.  Appended as the newest; wakes a paused accept when the
 * worker is full (one comparison on the keep-alive path otherwise). */
void
pc_conn_reusable_set(pc_conn_t *c)
{
    pc_worker_t *wk = pc_worker;

    c->reusable = 1;
    c->rnext = NULL;
    c->rprev = reuse_tail;
    if (reuse_tail != NULL)
        reuse_tail->rnext = c;
    else
        reuse_head = c;
    reuse_tail = c;
    nreusable++;
    if (wk->nconns >= wk->max_conns)
        pc_accept_conn_reusable(wk);
}

/* See pc_conn.h. */
void
pc_conn_reusable_clear(pc_conn_t *c)
{
    if (c->rprev != NULL)
        c->rprev->rnext = c->rnext;
    else
        reuse_head = c->rnext;
    if (c->rnext != NULL)
        c->rnext->rprev = c->rprev;
    else
        reuse_tail = c->rprev;
    c->rprev = c->rnext = NULL;
    c->reusable = 0;
    nreusable--;
}

/* See pc_conn.h. */
uint32_t
pc_conn_reusable_count(void)
{
    return nreusable;
}

/* See pc_conn.h.  Each pass takes the head again: terminate() may close
 * other connections too (none of them is touched after it).  A protocol
 * that leaves c open loses its mark, so the loop always ends. */
uint32_t
pc_conn_reuse(pc_worker_t *wk, uint32_t n)
{
    pc_conn_t *c;
    uint32_t   closed = 0;

    PC_UNUSED(wk);
    defer_begin();
    while (closed < n && (c = reuse_head) != NULL) {
        if (c->proto != NULL && c->proto->terminate != NULL)
            c->proto->terminate(c);
        else
            pc_conn_close(c);
        if (c->closed)
            closed++;
        else if (c->reusable)
            pc_conn_reusable_clear(c);
    }
    defer_end();
    return closed;
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
        if (c->proto != NULL && c->proto->drain != NULL) {
            c->proto->drain(c);
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
            if (c->proto != NULL && c->proto->terminate != NULL && pass < 3)
                c->proto->terminate(c);
            if (!c->closed)
                pc_conn_close(c);
        }
        defer_end();
    }
}

/* See pc_listen.h.  The slabs go only when no struct is in use: a
 * connection still open at exit keeps its memory (and shows as a leak). */
void
pc_conn_free_cache(void)
{
    conn_slab_t *sl;

    if (nlive > 0)
        return;
    while ((sl = slabs) != NULL) {
        slabs = sl->next;
        free(sl);
    }
    free_conns = NULL;
}

/*
 * The deadline lives in c->timer.repeat as monotonic milliseconds (0:
 * none).  libev reads repeat only when the timer fires: a non-zero value
 * makes it re-arm the timer by that much before calling us, so the
 * callback's pc_conn_timer_expired always ends with the timer stopped or
 * armed exactly for the rest of the deadline.
 */
#define DUE(c)  ((c)->timer.repeat)

/* Arm the timer to fire ms from now (stop first if armed). */
static void
timer_arm(pc_conn_t *c, pc_msec_t ms)
{
    struct ev_loop *loop = pc_worker->loop;
    double          due = DUE(c);

    ev_timer_stop(loop, &c->timer);
    ev_timer_set(&c->timer, (double) ms / 1000.0, 0.0);
    DUE(c) = due;
    ev_timer_start(loop, &c->timer);
}

/* See pc_conn.h: pc_conn_timer_set with ms > 0. */
void
pc_conn_timer_arm(pc_conn_t *c, pc_msec_t ms)
{
    /* Armed no later than the new deadline: it will re-arm itself. */
    if (ev_is_active(&c->timer)
        && ev_timer_remaining(pc_worker->loop, &c->timer) * 1000.0 <= (double) ms)
    {
        DUE(c) = (double) (pc_time.mono_ms + ms);
        return;
    }
    DUE(c) = (double) (pc_time.mono_ms + ms);
    timer_arm(c, ms);
}

/* See pc_conn.h. */
bool
pc_conn_timer_expired(pc_conn_t *c)
{
    pc_msec_t due = (pc_msec_t) DUE(c);

    if (due == 0) {
        ev_timer_stop(pc_worker->loop, &c->timer);
        return false;
    }
    if (due > pc_time.mono_ms) {
        timer_arm(c, due - pc_time.mono_ms);
        return false;
    }
    DUE(c) = 0.0;
    ev_timer_stop(pc_worker->loop, &c->timer);
    return true;
}

/* See pc_conn.h. */
pc_msec_t
pc_conn_timer_left(pc_conn_t *c)
{
    pc_msec_t due = (pc_msec_t) DUE(c);

    return due == 0 ? -1 : pc_max(due - pc_time.mono_ms, 0);
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

/*
 * See pc_conn.h.  Writes at most IOV_MAX vectors per call.  send(2) and
 * sendmsg(2) go straight to the socket layer; writev(2) would first pass
 * through the VFS (fd permission hooks, fsnotify) on every call.  A
 * descriptor that is not a socket falls back to writev.
 */
ssize_t
pc_conn_writev_plain(pc_conn_t *c, struct iovec *iov, int iovcnt)
{
    ssize_t n;

    if (iovcnt > IOV_MAX)
        iovcnt = IOV_MAX;
    do {
        if (iovcnt == 1) {
            n = send(c->fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
        } else {
            struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t) iovcnt };

            n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        }
        if (n < 0 && errno == ENOTSOCK)
            n = writev(c->fd, iov, iovcnt);
    } while (n < 0 && errno == EINTR);

    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        c->error = 1;
    } else if (n < 0) {
        errno = EAGAIN;
    }
    return n;
}

const pc_conn_io_t pc_conn_io_plain = {
    pc_conn_recv_plain, pc_conn_writev_plain, NULL
};

/* See pc_conn.h. */
socklen_t
pc_conn_local_addr(pc_conn_t *c, pc_sockaddr_t *out)
{
    socklen_t len = sizeof(*out);

    if (getsockname(c->fd, &out->sa, &len) < 0)
        return 0;
    return len;
}
