/*
 * pc_http_balancer.h -- upstream peer selection, as pure functions.
 *
 * The algorithms of the upstream block (SPEC §4): smooth weighted round
 * robin (default), least_conn, hash KEY, hash KEY consistent (ketama-style
 * ring) and random two (power of two choices), plus max_fails/fail_timeout
 * passive health, backup and down.  Nothing here does I/O, reads a clock or
 * allocates: the caller passes the time, the key hash and the memory, so
 * every decision can be unit-tested (t/unit/http/test_pc_http_balancer.c).
 *
 * One pc_http_balancer_t exists per upstream block per worker: the peer
 * array holds the configured values and that worker's counters.
 */
#ifndef PC_HTTP_BALANCER_H
#define PC_HTTP_BALANCER_H

#include "core/pc_types.h"

typedef enum {
    PC_HTTP_BALANCE_RR = 0,       /* smooth weighted round robin          */
    PC_HTTP_BALANCE_LEAST_CONN,   /* fewest requests in flight per weight */
    PC_HTTP_BALANCE_HASH,         /* hash KEY (weighted modulo + rehash)  */
    PC_HTTP_BALANCE_CHASH,        /* hash KEY consistent (ring)           */
    PC_HTTP_BALANCE_RANDOM2       /* random two: two random, fewer conns  */
} pc_http_balance_e;

/* Points on the consistent-hash ring per unit of weight (ketama uses 160). */
#define PC_HTTP_RING_POINTS  160

/* Bounds on the configured values (checked by the upstream directives). */
#define PC_HTTP_BALANCER_MAX_WEIGHT  1000
#define PC_HTTP_BALANCER_MAX_PEERS   1024

typedef struct {
    /* configuration, copied from the upstream block */
    int32_t         weight;           /* 1 .. PC_HTTP_BALANCER_MAX_WEIGHT       */
    int32_t         max_fails;        /* 0: failures never take the peer out   */
    pc_msec_t       fail_timeout;
    unsigned        down:1;           /* `down`: never chosen                   */
    unsigned        backup:1;         /* only when no primary is usable         */

    /* per-worker state */
    int64_t         current_weight;   /* smooth round robin                     */
    int32_t         effective_weight; /* lowered by failures, recovers by 1/pick */
    uint32_t        conns;            /* requests in flight (caller maintains)  */
    uint32_t        fails;            /* failures in the current window         */
    pc_msec_t       failed_at;        /* time of the last failure               */
} pc_http_balancer_peer_t;

typedef struct {
    uint32_t        hash;
    uint32_t        peer;             /* index into the peer array              */
} pc_http_ring_point_t;

typedef struct {
    pc_http_balance_e         method;
    pc_http_balancer_peer_t  *peers;      /* primaries first, then backups    */
    uint32_t                  npeers;
    uint32_t                  nprimary;
    const pc_http_ring_point_t *ring;     /* CHASH: sorted by hash            */
    uint32_t                  nring;
    uint64_t                  rng;        /* RANDOM2: xorshift64 state, != 0  */
} pc_http_balancer_t;

/* Result of pc_http_balancer_pick when nothing can be chosen. */
#define PC_HTTP_BALANCER_NONE  (-1)

/*
 * Whether peer p may be chosen at time now (monotonic ms): not `down`, and
 * not taken out by passive health (max_fails failures within fail_timeout
 * put a peer out until fail_timeout after its last failure; then one
 * request probes it).
 */
bool pc_http_balancer_usable(const pc_http_balancer_peer_t *p, pc_msec_t now);

/* Reset the per-worker state of every peer (effective weight = weight). */
void pc_http_balancer_init(pc_http_balancer_t *b);

/*
 * Choose a peer for one attempt.  tried is a bitmap of npeers bits (bit i
 * set: peer i already failed for this request; NULL means none), hash is
 * the key hash for HASH/CHASH (pc_http_balancer_hash).  Primaries are
 * considered first; backups only when no primary is usable and untried.
 * Returns the peer index, or PC_HTTP_BALANCER_NONE when every peer is down,
 * out by passive health or already tried.  Updates round-robin state.
 */
int pc_http_balancer_pick(pc_http_balancer_t *b, pc_msec_t now,
    const uint8_t *tried, uint32_t hash);

/* Count a failure (connect error, timeout, invalid response...) of peer i;
 * ignored when the balancer has a single peer (never taken out).  True
 * when this failure took the peer out (usable before, not now). */
bool pc_http_balancer_fail(pc_http_balancer_t *b, uint32_t i, pc_msec_t now);

/* Count a success of peer i: its failure count starts again from zero. */
void pc_http_balancer_success(pc_http_balancer_t *b, uint32_t i);

/* Mark / test bit i of a tried bitmap (bytes = (npeers + 7) / 8). */
static inline void
pc_http_balancer_tried_set(uint8_t *tried, uint32_t i)
{
    tried[i >> 3] |= (uint8_t) (1u << (i & 7));
}

static inline bool
pc_http_balancer_tried(const uint8_t *tried, uint32_t i)
{
    return tried != NULL && (tried[i >> 3] & (1u << (i & 7))) != 0;
}

/* 32-bit hash of a key (FNV-1a with a murmur3 finaliser: well spread). */
uint32_t pc_http_balancer_hash(const u_char *data, size_t len);

/* Ring points needed for the primaries of peers[0 .. nprimary). */
size_t pc_http_ring_size(const pc_http_balancer_peer_t *peers, uint32_t nprimary);

/*
 * Fill points (pc_http_ring_size entries) with PC_HTTP_RING_POINTS points
 * per weight unit of each primary, placed by hashing the peer's name
 * (names[i], e.g. "10.0.0.1:80") and the point number, then sort them.
 * Placement depends only on the names and weights, so adding a peer moves
 * about 1/N of the keys and every worker builds the same ring.
 */
void pc_http_ring_build(pc_http_ring_point_t *points,
    const pc_http_balancer_peer_t *peers, const pc_str_t *names,
    uint32_t nprimary);

#endif /* PC_HTTP_BALANCER_H */
