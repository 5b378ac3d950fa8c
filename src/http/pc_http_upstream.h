/*
 * pc_http_upstream.h -- upstream blocks, their peers, and the per-worker
 * runtime: balancer state, passive health and the keep-alive pool.
 *
 * Configuration (pc_http_upstream_t, pc_http_upstream_peer_t) lives in the
 * cycle pool and is immutable once loaded.  Everything that changes while
 * serving (round-robin weights, failure counts, idle connections) is worker
 * state, created by pc_http_upstream_init_worker() and reached through
 * pc_http_upstream_rt(): workers share nothing.
 *
 * Keep-alive pool (SPEC §4): per worker, per upstream block; LIFO per peer;
 * `keepalive` idle connections kept, more only for PC_HTTP_UPSTREAM_IDLE_GRACE
 * (a burst's connections serve the burst's next requests; oldest closed first);
 * an idle connection keeps its read watcher (EOF, an error or any byte from
 * the upstream closes it at once) and an idle timer (keepalive_timeout).
 */
#ifndef PC_HTTP_UPSTREAM_H
#define PC_HTTP_UPSTREAM_H

#include <sys/socket.h>
#include "http/pc_http.h"
#include "http/pc_http_balancer.h"

typedef struct pc_http_upstream_s     pc_http_upstream_t;
typedef struct pc_http_upstream_rt_s  pc_http_upstream_rt_t;
typedef struct pc_http_upconn_s       pc_http_upconn_t;

/* One resolved address of a `server` line. */
typedef struct {
    struct sockaddr_storage addr;
    socklen_t             addrlen;
    pc_str_t              name;          /* "10.0.0.1:80", "[::1]:8080"     */
    int32_t               weight;
    int32_t               max_fails;
    pc_msec_t             fail_timeout;
    unsigned              backup:1;
    unsigned              down:1;
} pc_http_upstream_peer_t;

struct pc_http_upstream_s {
    pc_str_t              name;          /* block name, or "host:port" of proxy_pass */
    uint32_t              index;         /* slot of its worker state         */
    pc_http_balance_e     method;
    pc_http_template_t   *hash_key;      /* HASH / CHASH                     */
    pc_array_t            peers;         /* pc_http_upstream_peer_t, config order */
    /* after init: primaries first, then backups */
    pc_http_upstream_peer_t *sorted;
    uint32_t              npeers;
    uint32_t              nprimary;
    pc_http_ring_point_t *ring;          /* CHASH                            */
    uint32_t              nring;
    intptr_t              keepalive;          /* idle connections kept, 0 = none */
    pc_msec_t             keepalive_timeout;
    intptr_t              keepalive_requests;
    unsigned              implicit:1;    /* made by proxy_pass host:port     */
    unsigned              balancer_set:1;
    const pc_conf_node_t *node;          /* for errors: FILE:LINE         */
};

/* Defaults (doc/directives/upstream.md). */
#define PC_HTTP_UPSTREAM_KEEPALIVE          32
#define PC_HTTP_UPSTREAM_KEEPALIVE_TIMEOUT  4000
#define PC_HTTP_UPSTREAM_KEEPALIVE_REQUESTS 1000
#define PC_HTTP_UPSTREAM_MAX_FAILS          1
#define PC_HTTP_UPSTREAM_FAIL_TIMEOUT       10000
/* ms an idle connection over `keepalive` is kept for the next requests */
#define PC_HTTP_UPSTREAM_IDLE_GRACE         100

/* A connection to a peer, busy (owner set) or idle in the pool. */
struct pc_http_upconn_s {
    pc_conn_t              *c;
    pc_http_upstream_rt_t  *rt;
    uint32_t                peer;        /* index into u->sorted            */
    uint32_t                requests;    /* requests sent on it so far      */
    pc_msec_t               idle_since;  /* pc_time.mono_ms when parked     */
    pc_http_upconn_t       *prev, *next; /* idle list (newest first)        */
    void                   *owner;       /* the request using it            */
    unsigned                idle:1;
    unsigned                connected:1; /* connect(2) completed            */
};

struct pc_http_upstream_rt_s {
    const pc_http_upstream_t *u;
    pc_http_balancer_t      bal;
    pc_http_upconn_t       *idle;        /* newest first                    */
    pc_http_upconn_t       *idle_tail;
    uint32_t                nidle;
};

/*
 * Finish an upstream after its block was parsed: order peers (primaries
 * first), build the consistent-hash ring, check that it has a usable peer.
 * cf is used for errors and the cycle pool.  PC_OK / PC_ERROR (reported).
 */
pc_rc_t pc_http_upstream_finish(pc_conf_t *cf, pc_http_upstream_t *u);

/*
 * Worker start: build the state of every upstream of ups[0 .. n) (indices
 * must be 0 .. n-1).  Memory is the worker's (malloc), freed by
 * pc_http_upstream_exit_worker.  PC_OK / PC_ERROR (logged).
 */
pc_rc_t pc_http_upstream_init_worker(pc_http_upstream_t **ups, uint32_t n);

/* A peer of this worker was taken out (passive health): counted, so that
 * the gauges other workers read (`ready`, upstream_peer_up) are published
 * now rather than at the next periodic refresh. */
void pc_http_upstream_health_changed(void);
uint32_t pc_http_upstream_health_changes(void);

/* Worker exit: close every idle connection, free the worker state. */
void pc_http_upstream_exit_worker(void);

/* This worker's state for u; NULL before init_worker (or another cycle). */
pc_http_upstream_rt_t *pc_http_upstream_rt(const pc_http_upstream_t *u);

/* The most recently parked idle connection to peer, taken out of the pool
 * with its watchers stopped; NULL when there is none. */
pc_http_upconn_t *pc_http_upstream_pool_get(pc_http_upstream_rt_t *rt,
    uint32_t peer);

/*
 * Park uc (the response is complete and it may carry another request).
 * Closes it instead when keepalive is 0, keepalive_requests is reached or
 * the worker is draining.  When the pool is over keepalive, its oldest
 * connections are closed once idle for the grace.  The caller must not use
 * uc afterwards.
 */
void pc_http_upstream_pool_put(pc_http_upconn_t *uc);

/*
 * Start a non-blocking connect to peer.  Returns the connection with
 * uc->connected set when connect(2) finished at once, clear when it is in
 * progress (wait for writability, then pc_http_upstream_connect_result).
 * NULL with *err = errno on immediate failure (refused, no fds, no
 * worker_connections left: EMFILE).
 */
pc_http_upconn_t *pc_http_upstream_connect(pc_http_upstream_rt_t *rt,
    uint32_t peer, int *err);

/* After writability: 0 when connected, else the errno of the failure. */
int pc_http_upstream_connect_result(pc_http_upconn_t *uc);

/* Close uc (watchers stopped, fd closed) and give its struct back. */
void pc_http_upstream_close(pc_http_upconn_t *uc);

/* Idle connections of the worker across every upstream (tests, metrics). */
uint32_t pc_http_upstream_idle_count(void);

/*
 * Introspection for the status module (metrics, readiness).
 */

/* Every upstream block of cycle, explicit and implicit (proxy_pass
 * host:port), in index order (u->index == position); *n gets the count.
 * NULL with *n = 0 when there is none.  (pc_http_proxy_conf.c) */
pc_http_upstream_t **pc_http_upstream_list(pc_cycle_t *cycle, uint32_t *n);

/* One attempt of a proxied request. */
typedef struct {
    uint32_t              peer;          /* index into u->sorted             */
    int                   status;        /* upstream status; 502 / 504 for a
                                            failed attempt; 0 when unknown   */
    pc_msec_t             response;      /* ms from its start to the end of
                                            the response; -1 when unknown    */
    unsigned              reused:1;      /* on a pooled keep-alive connection */
} pc_http_upstream_try_t;

/*
 * The upstream r was proxied to and its attempts, in order: at most max of
 * them into tries, *n gets how many were written.  NULL (and *n = 0) when
 * the proxy never tried an upstream for r.  Valid until r ends (the LOG
 * phase included).  (pc_http_proxy.c)
 */
const pc_http_upstream_t *pc_http_upstream_tries(pc_http_request_t *r,
    pc_http_upstream_try_t *tries, uint32_t max, uint32_t *n);

#endif /* PC_HTTP_UPSTREAM_H */
