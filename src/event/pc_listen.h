/*
 * pc_listen.h -- listening sockets: open in the master, inherit across
 * reloads, and the glue between accept and connection bookkeeping.
 */
#ifndef PC_LISTEN_H
#define PC_LISTEN_H

#include "core/pc_cycle.h"
#include "event/pc_worker.h"

/* Default listen(2) backlog when the listener does not set one (nginx's). */
#define PC_LISTEN_BACKLOG  511

/*
 * Create, configure (SO_REUSEADDR; SO_REUSEPORT when ls->reuseport;
 * IPV6_V6ONLY for IPv6; non-blocking, close-on-exec), bind and listen on
 * ls->addr.  Sets ls->fd.  PC_OK, or PC_ERROR after logging at level (emerg
 * at start, error on reload) a message naming the address, e.g.
 * "bind() to 127.0.0.1:8080 failed (98: Address already in use)".
 */
pc_rc_t pc_listen_open(pc_listening_t *ls, int level);

/*
 * Take over the socket of old (same address and options) for ls: ls->fd
 * becomes a dup of old->fd, so each cycle owns its descriptor while the
 * socket, and every connection queued on it, stays the same.  Applies ls's
 * backlog.  PC_OK or PC_ERROR (logged at level).
 */
pc_rc_t pc_listen_inherit(pc_listening_t *ls, const pc_listening_t *old,
    int level);

/* Same address (sockaddr bytes) and socket options. */
bool pc_listen_same(const pc_listening_t *a, const pc_listening_t *b);

/* Close ls->fd (if open) and set it to -1. */
void pc_listen_close(pc_listening_t *ls);

/* Called by pc_conn_close in a worker: resume accepting when accept was
 * paused because every worker_connections slot was in use. */
void pc_accept_conn_closed(pc_worker_t *wk);

/* Called by pc_conn_reusable when a connection becomes reusable while the
 * worker is at worker_connections: resume a paused accept, which will make
 * room by closing it (or an older one) when a client is waiting. */
void pc_accept_conn_reusable(pc_worker_t *wk);

/* Free what pc_accept_start allocated (worker exit). */
void pc_accept_free(pc_worker_t *wk);

/* Free the cached connection structs (worker exit). */
void pc_conn_free_cache(void);

#endif /* PC_LISTEN_H */
