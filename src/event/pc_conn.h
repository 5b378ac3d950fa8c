/*
 * pc_conn.h -- a connection in a worker: fd, libev watchers, timer, the
 * cycle reference it holds, and an I/O layer that TLS can replace.
 */
#ifndef PC_CONN_H
#define PC_CONN_H

#include <ev.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include "core/pc_core.h"
#include "event/pc_worker.h"

/* An IPv4 or IPv6 socket address: 28 bytes where sockaddr_storage is 128,
 * which matters twice per connection when 5,000 clients sit idle. */
typedef union {
    struct sockaddr      sa;
    struct sockaddr_in   in;
    struct sockaddr_in6  in6;
} pc_sockaddr_t;

/* An I/O layer: plain sockets (pc_conn_io_plain) or TLS (src/tls). */
typedef struct {
    /* bytes, 0 on EOF (sets c->eof), -1 with errno EAGAIN when it would
     * block, -1 otherwise (sets c->error) */
    ssize_t       (*recv)(pc_conn_t *c, u_char *buf, size_t size);
    ssize_t       (*writev)(pc_conn_t *c, struct iovec *iov, int iovcnt);
    /* The layer's end (TLS: close_notify, free the SSL object): called by
     * the protocol before pc_conn_close and before a half-close (lingering
     * close).  NULL for plain connections. */
    void          (*shutdown)(pc_conn_t *c);
} pc_conn_io_t;

/* What a protocol does with its connection: the fd's events (asked for
 * with pc_conn_want) and the worker's shutdown.  Any may be NULL. */
typedef struct {
    void          (*read)(pc_conn_t *c);    /* readable (data, EOF, error) */
    void          (*write)(pc_conn_t *c);   /* writable                    */
    /* Graceful shutdown: finish what is in flight, close when idle. */
    void          (*drain)(pc_conn_t *c);
    /* Fast shutdown / shutdown_timeout: release the protocol state and
     * close c now (must end in pc_conn_close).  NULL: pc_conn_close alone.
     * Also how a reusable connection (pc_conn_reusable) is closed when
     * accept needs its slot: c->reusable is still set then, and the
     * protocol closes it as politely as at its idle timeout. */
    void          (*terminate)(pc_conn_t *c);
} pc_conn_proto_t;

extern const pc_conn_io_t pc_conn_io_plain;

/* Every connection belongs to the process's one worker (pc_worker), and
 * the tables of function pointers are shared: 5,000 idle clients are
 * 5,000 of these, so each 8 bytes here is 40 kB there. */
struct pc_conn_s {
    int             fd;
    unsigned        upstream:1;
    unsigned        eof:1;          /* peer closed (read returned 0)         */
    unsigned        error:1;        /* fatal I/O error seen                  */
    unsigned        closed:1;
    unsigned        reusable:1;     /* idle between requests: may be closed
                                       when worker_connections run out     */
    unsigned        plain_tls:1;    /* plain HTTP on a TLS listener: the
                                       protocol answers 400 (pc_tls_io.c)  */
    ev_io           ev;             /* the fd's one watcher (data = c): the
                                       events pc_conn_want asked for, handed
                                       to proto->write, then proto->read   */
    ev_timer        timer;          /* (data = c); see pc_conn_timer_set     */
    pc_cycle_t     *cycle;          /* referenced for the connection's life  */
    pc_listening_t *listening;      /* NULL for upstream connections         */
    pc_sockaddr_t   peer;
    socklen_t       peerlen;
    uint64_t        number;         /* $connection: per-worker counter       */

    const pc_conn_io_t    *io;      /* pc_conn_io_plain; TLS replaces it     */
    void           *ssl;            /* SSL * when TLS is on                  */
    void           *data;           /* protocol state (http connection, upstream) */
    const pc_conn_proto_t *proto;   /* NULL: no handlers at all              */

    pc_conn_t      *prev, *next;    /* worker's connection list              */
    pc_conn_t      *rprev, *rnext;  /* reusable ones, oldest first (while
                                       reusable)                           */
};

/* The connection's event loop (the worker's). */
#define pc_conn_loop(c)  (pc_worker->loop)

static inline ssize_t
pc_conn_recv(pc_conn_t *c, u_char *buf, size_t size)
{
    return c->io->recv(c, buf, size);
}

static inline ssize_t
pc_conn_writev(pc_conn_t *c, struct iovec *iov, int iovcnt)
{
    return c->io->writev(c, iov, iovcnt);
}

/* End the I/O layer (see pc_conn_io_t.shutdown); nothing for plain. */
static inline void
pc_conn_shutdown(pc_conn_t *c)
{
    if (c->io->shutdown != NULL)
        c->io->shutdown(c);
}

/*
 * Wrap an accepted or connected fd (made non-blocking here) in a new
 * connection owned by the current worker, referencing the worker's cycle.
 * Counts towards worker_connections.  NULL on ENOMEM (fd is then closed).
 */
pc_conn_t *pc_conn_new(pc_worker_t *wk, int fd, pc_listening_t *ls);

/* Stop watchers and timer, close the fd, drop the cycle reference, free. */
void pc_conn_close(pc_conn_t *c);

/*
 * c->timer as a deadline that is cheap to move.  Moving it later (the
 * common case: a keep-alive or header timeout renewed on every request)
 * only records it; the timer, still armed for the earlier time, re-arms
 * itself for the rest when it fires.  ms <= 0 disarms the same way.  Only
 * an earlier deadline touches libev's timer heap.  c->timer's callback
 * must begin with `if (!pc_conn_timer_expired(c)) return;`, and c->timer
 * must not be used through ev_timer_* directly meanwhile (the deadline is
 * kept in its repeat field, which a one-shot timer does not otherwise use).
 */
/* ev_io_stop for watchers that are mostly stopped already (a write
 * watcher, a check that never armed): no library call then.  Same effect,
 * pending events included. */
static inline void
pc_conn_io_stop(struct ev_loop *loop, ev_io *w)
{
    if (ev_is_active(w) || ev_is_pending(w))
        ev_io_stop(loop, w);
}

/* The events (EV_READ, EV_WRITE) c's watcher waits for now. */
static inline int
pc_conn_wants(const pc_conn_t *c)
{
    return ev_is_active(&c->ev) ? c->ev.events & (EV_READ | EV_WRITE) : 0;
}

/* Wait for exactly events on c's fd (0: none).  One watcher for both
 * directions: 48 bytes less per connection than a watcher each.  A change
 * of events is an epoll_ctl at the next loop iteration, as it is for any
 * watcher started or stopped; no change costs nothing. */
static inline void
pc_conn_want(pc_conn_t *c, int events)
{
    events &= EV_READ | EV_WRITE;
    if (events == pc_conn_wants(c))
        return;
    ev_io_stop(pc_worker->loop, &c->ev);
    if (events != 0) {
        ev_io_set(&c->ev, c->fd, events);
        ev_io_start(pc_worker->loop, &c->ev);
    }
}

static inline void
pc_conn_want_read(pc_conn_t *c, bool on)
{
    int w = pc_conn_wants(c);

    if (on != ((w & EV_READ) != 0))
        pc_conn_want(c, on ? w | EV_READ : w & ~EV_READ);
}

static inline void
pc_conn_want_write(pc_conn_t *c, bool on)
{
    int w = pc_conn_wants(c);

    if (on != ((w & EV_WRITE) != 0))
        pc_conn_want(c, on ? w | EV_WRITE : w & ~EV_WRITE);
}

void pc_conn_timer_arm(pc_conn_t *c, pc_msec_t ms);
bool pc_conn_timer_expired(pc_conn_t *c);

static inline void
pc_conn_timer_set(pc_conn_t *c, pc_msec_t ms)
{
    if (ms > 0)
        pc_conn_timer_arm(c, ms);
    else
        c->timer.repeat = 0.0;      /* disarmed: see pc_conn.c */
}

/* Milliseconds until c's deadline (pc_conn_timer_set); -1 when none. */
pc_msec_t pc_conn_timer_left(pc_conn_t *c);

/* Default plain I/O: return bytes, 0 on EOF (sets c->eof), -1 with errno
 * EAGAIN when it would block, -1 otherwise (sets c->error). */
ssize_t pc_conn_recv_plain(pc_conn_t *c, u_char *buf, size_t size);
ssize_t pc_conn_writev_plain(pc_conn_t *c, struct iovec *iov, int iovcnt);

/* Local address of c into *out (getsockname: $server_addr is rare, and
 * 32 bytes in every connection are not); its length, 0 on failure. */
socklen_t pc_conn_local_addr(pc_conn_t *c, pc_sockaddr_t *out);

/*
 * Mark c reusable (on) or not.  A protocol marks a connection reusable
 * while closing it costs its peer nothing but a reconnect: idle between
 * requests, nothing buffered, nothing in progress (an HTTP keep-alive
 * connection).  When accept finds worker_connections all in use, the
 * oldest reusable connections are closed (through proto->terminate) to
 * make room.  O(1), no system call: called on every keep-alive request.
 * Closing c unmarks it.
 */
void pc_conn_reusable_set(pc_conn_t *c);
void pc_conn_reusable_clear(pc_conn_t *c);

static inline void
pc_conn_reusable(pc_conn_t *c, bool on)
{
    if (on && !c->reusable)
        pc_conn_reusable_set(c);
    else if (!on && c->reusable)
        pc_conn_reusable_clear(c);
}

/* Connections of this worker marked reusable now. */
uint32_t pc_conn_reusable_count(void);

/*
 * Close up to n reusable connections, oldest first, each through its
 * proto->terminate (pc_conn_close when NULL).  Returns how many closed.
 */
uint32_t pc_conn_reuse(pc_worker_t *wk, uint32_t n);

/* Worker-wide: call drain() on every connection (graceful shutdown). */
void pc_conn_drain_all(pc_worker_t *wk);
/* Worker-wide: close every connection now (fast shutdown, timeout). */
void pc_conn_close_all(pc_worker_t *wk);

/* Start/stop the accept watchers of every listener of wk->cycle. Accept is
 * paused automatically while worker_connections are all in use. */
pc_rc_t pc_accept_start(pc_worker_t *wk);
void pc_accept_stop(pc_worker_t *wk);

#endif /* PC_CONN_H */
