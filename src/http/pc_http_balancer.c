/*
 * pc_http_balancer.c -- peer selection algorithms (see pc_http_balancer.h).
 *
 * Choices where nginx leaves room, documented in doc/directives/upstream.md:
 *  - Passive health: an upstream with a single server ignores failures
 *    (nginx does the same).  A failure more than fail_timeout after the
 *    previous one starts a new window (fails = 1).  With fails >= max_fails the peer is
 *    out until fail_timeout after its last failure; then it is usable again
 *    and the first failure puts it straight back out (fails is still at the
 *    limit), while a success resets fails to 0.
 *  - Backups are used, with the upstream's method where it makes sense
 *    (least_conn, random two) and round robin otherwise, only when no
 *    primary is usable and untried for this request.
 *  - least_conn compares conns/weight; ties are broken by smooth weighted
 *    round robin among the tied peers, so equal load spreads like rr.
 *  - hash KEY (not consistent) maps the key onto the cumulative weights of
 *    every primary (down ones included, so one peer going down does not
 *    remap the others' keys); an unusable or tried choice rehashes up to 20
 *    times, then round robin takes over (as nginx does).
 */
#include <stdlib.h>
#include <string.h>

#include "http/pc_http_balancer.h"

#define HASH_REHASH_TRIES  20

bool
pc_http_balancer_usable(const pc_http_balancer_peer_t *p, pc_msec_t now)
{
    if (p->down) {
        return false;
    }
    if (p->max_fails > 0 && p->fails >= (uint32_t) p->max_fails
        && now - p->failed_at < p->fail_timeout)
    {
        return false;
    }
    return true;
}

void
pc_http_balancer_init(pc_http_balancer_t *b)
{
    uint32_t i;

    for (i = 0; i < b->npeers; i++) {
        b->peers[i].current_weight = 0;
        b->peers[i].effective_weight = b->peers[i].weight;
        b->peers[i].conns = 0;
        b->peers[i].fails = 0;
        b->peers[i].failed_at = 0;
    }
    if (b->rng == 0) {
        b->rng = 0x9e3779b97f4a7c15ULL;
    }
}

static bool
candidate(const pc_http_balancer_t *b, uint32_t i, pc_msec_t now,
    const uint8_t *tried)
{
    return !pc_http_balancer_tried(tried, i)
           && pc_http_balancer_usable(&b->peers[i], now);
}

/*
 * Smooth weighted round robin (the nginx algorithm) among the candidates of
 * [lo, hi).  When only is non-NULL, only peers for which only[i] holds take
 * part (least_conn ties).  Every participant gains its effective weight,
 * the one with the highest current weight wins and pays the total back:
 * weights 5,1,1 give a a b a c a a.
 */
static int
swrr(pc_http_balancer_t *b, uint32_t lo, uint32_t hi, pc_msec_t now,
    const uint8_t *tried, const uint8_t *only)
{
    pc_http_balancer_peer_t *p;
    int64_t                  total = 0;
    int                      best = PC_HTTP_BALANCER_NONE;
    uint32_t                 i;

    for (i = lo; i < hi; i++) {
        if (!candidate(b, i, now, tried) || (only && !only[i - lo])) {
            continue;
        }
        p = &b->peers[i];
        p->current_weight += p->effective_weight;
        total += p->effective_weight;
        if (p->effective_weight < p->weight) {
            p->effective_weight++;
        }
        if (best < 0 || p->current_weight > b->peers[best].current_weight) {
            best = (int) i;
        }
    }
    if (best >= 0) {
        b->peers[best].current_weight -= total;
    }
    return best;
}

/* conns(a)/weight(a) < conns(b)/weight(b), without division: -1, 0, 1. */
static int
load_cmp(const pc_http_balancer_peer_t *a, const pc_http_balancer_peer_t *b)
{
    uint64_t la = (uint64_t) a->conns * (uint64_t) b->weight;
    uint64_t lb = (uint64_t) b->conns * (uint64_t) a->weight;

    return la < lb ? -1 : la > lb ? 1 : 0;
}

static int
least_conn(pc_http_balancer_t *b, uint32_t lo, uint32_t hi, pc_msec_t now,
    const uint8_t *tried)
{
    uint8_t  tied[PC_HTTP_BALANCER_MAX_PEERS];
    int      best = PC_HTTP_BALANCER_NONE;
    uint32_t i, ntied = 0;

    for (i = lo; i < hi; i++) {
        if (!candidate(b, i, now, tried)) {
            continue;
        }
        if (best < 0 || load_cmp(&b->peers[i], &b->peers[best]) < 0) {
            best = (int) i;
            ntied = 1;
        } else if (load_cmp(&b->peers[i], &b->peers[best]) == 0) {
            ntied++;
        }
    }
    if (ntied <= 1) {
        return best;
    }
    for (i = lo; i < hi; i++) {
        tied[i - lo] = candidate(b, i, now, tried)
                       && load_cmp(&b->peers[i], &b->peers[best]) == 0;
    }
    return swrr(b, lo, hi, now, tried, tied);
}

static uint64_t
xorshift64(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/* A weighted random candidate of [lo, hi) other than skip (-1: none). */
static int
weighted_random(pc_http_balancer_t *b, uint32_t lo, uint32_t hi, pc_msec_t now,
    const uint8_t *tried, int skip)
{
    uint64_t total = 0, r;
    uint32_t i;

    for (i = lo; i < hi; i++) {
        if ((int) i != skip && candidate(b, i, now, tried)) {
            total += (uint64_t) b->peers[i].weight;
        }
    }
    if (total == 0) {
        return PC_HTTP_BALANCER_NONE;
    }
    r = xorshift64(&b->rng) % total;
    for (i = lo; i < hi; i++) {
        if ((int) i == skip || !candidate(b, i, now, tried)) {
            continue;
        }
        if (r < (uint64_t) b->peers[i].weight) {
            return (int) i;
        }
        r -= (uint64_t) b->peers[i].weight;
    }
    return PC_HTTP_BALANCER_NONE;   /* not reached */
}

/* Power of two choices: two distinct random candidates, the less loaded wins. */
static int
random_two(pc_http_balancer_t *b, uint32_t lo, uint32_t hi, pc_msec_t now,
    const uint8_t *tried)
{
    int a, c;

    a = weighted_random(b, lo, hi, now, tried, -1);
    if (a < 0) {
        return a;
    }
    c = weighted_random(b, lo, hi, now, tried, a);
    if (c < 0) {
        return a;
    }
    return load_cmp(&b->peers[c], &b->peers[a]) < 0 ? c : a;
}

static int
hash_modulo(pc_http_balancer_t *b, pc_msec_t now, const uint8_t *tried,
    uint32_t hash)
{
    uint64_t total = 0, w;
    uint32_t i, n;
    u_char   seed[8];

    for (i = 0; i < b->nprimary; i++) {
        total += (uint64_t) b->peers[i].weight;
    }
    if (total == 0) {
        return PC_HTTP_BALANCER_NONE;
    }
    for (n = 0; n < HASH_REHASH_TRIES; n++) {
        w = hash % total;
        for (i = 0; i < b->nprimary; i++) {
            if (w < (uint64_t) b->peers[i].weight) {
                break;
            }
            w -= (uint64_t) b->peers[i].weight;
        }
        if (i < b->nprimary && candidate(b, i, now, tried)) {
            return (int) i;
        }
        /* Rehash deterministically so every worker agrees on the fallback. */
        seed[0] = (u_char) hash;
        seed[1] = (u_char) (hash >> 8);
        seed[2] = (u_char) (hash >> 16);
        seed[3] = (u_char) (hash >> 24);
        seed[4] = (u_char) n;
        seed[5] = seed[6] = seed[7] = 0x5a;
        hash = pc_http_balancer_hash(seed, sizeof(seed));
    }
    return swrr(b, 0, b->nprimary, now, tried, NULL);
}

static int
hash_ring(pc_http_balancer_t *b, pc_msec_t now, const uint8_t *tried,
    uint32_t hash)
{
    uint32_t lo = 0, hi = b->nring, mid, k, i;

    if (b->nring == 0) {
        return PC_HTTP_BALANCER_NONE;
    }
    /* first point whose hash >= the key's, wrapping to the start */
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (b->ring[mid].hash < hash) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (k = 0; k < b->nring; k++) {
        i = b->ring[(lo + k) % b->nring].peer;
        if (candidate(b, i, now, tried)) {
            return (int) i;
        }
    }
    return PC_HTTP_BALANCER_NONE;
}

int
pc_http_balancer_pick(pc_http_balancer_t *b, pc_msec_t now,
    const uint8_t *tried, uint32_t hash)
{
    int i;

    switch (b->method) {
    case PC_HTTP_BALANCE_LEAST_CONN:
        i = least_conn(b, 0, b->nprimary, now, tried);
        break;
    case PC_HTTP_BALANCE_RANDOM2:
        i = random_two(b, 0, b->nprimary, now, tried);
        break;
    case PC_HTTP_BALANCE_HASH:
        i = hash_modulo(b, now, tried, hash);
        break;
    case PC_HTTP_BALANCE_CHASH:
        i = hash_ring(b, now, tried, hash);
        break;
    default:
        i = swrr(b, 0, b->nprimary, now, tried, NULL);
        break;
    }
    if (i >= 0 || b->npeers == b->nprimary) {
        return i;
    }
    switch (b->method) {
    case PC_HTTP_BALANCE_LEAST_CONN:
        return least_conn(b, b->nprimary, b->npeers, now, tried);
    case PC_HTTP_BALANCE_RANDOM2:
        return random_two(b, b->nprimary, b->npeers, now, tried);
    default:
        return swrr(b, b->nprimary, b->npeers, now, tried, NULL);
    }
}

bool
pc_http_balancer_fail(pc_http_balancer_t *b, uint32_t i, pc_msec_t now)
{
    pc_http_balancer_peer_t *p = &b->peers[i];
    bool                     was;

    /* A lone server is never taken out (as in nginx): there is nothing to
     * fail over to, and a 503 for fail_timeout after one timeout would be
     * worse than trying it. */
    if (p->max_fails == 0 || b->npeers == 1) {
        return false;
    }
    was = pc_http_balancer_usable(p, now);
    /* An old failure outside the window no longer counts; a peer that is
     * at the limit stays there, so a failed probe takes it out again. */
    if (p->fails < (uint32_t) p->max_fails
        && now - p->failed_at >= p->fail_timeout)
    {
        p->fails = 0;
    }
    if (p->fails < UINT32_MAX) {
        p->fails++;
    }
    p->failed_at = now;
    p->effective_weight -= p->weight / p->max_fails;
    if (p->effective_weight < 0) {
        p->effective_weight = 0;
    }
    return was && !pc_http_balancer_usable(p, now);
}

void
pc_http_balancer_success(pc_http_balancer_t *b, uint32_t i)
{
    b->peers[i].fails = 0;
}

uint32_t
pc_http_balancer_hash(const u_char *data, size_t len)
{
    uint32_t h = 2166136261u;
    size_t   i;

    for (i = 0; i < len; i++) {
        h ^= data[i];
        h *= 16777619u;
    }
    /* murmur3 fmix32: FNV alone clusters similar short keys */
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

size_t
pc_http_ring_size(const pc_http_balancer_peer_t *peers, uint32_t nprimary)
{
    size_t   n = 0;
    uint32_t i;

    for (i = 0; i < nprimary; i++) {
        n += (size_t) peers[i].weight * PC_HTTP_RING_POINTS;
    }
    return n;
}

static int
point_cmp(const void *a, const void *b)
{
    const pc_http_ring_point_t *pa = a, *pb = b;

    if (pa->hash != pb->hash) {
        return pa->hash < pb->hash ? -1 : 1;
    }
    /* equal hashes: order by peer so every worker builds the same ring */
    return pa->peer < pb->peer ? -1 : pa->peer > pb->peer;
}

void
pc_http_ring_build(pc_http_ring_point_t *points,
    const pc_http_balancer_peer_t *peers, const pc_str_t *names,
    uint32_t nprimary)
{
    u_char   key[300];
    size_t   n = 0, klen, k, npts;
    uint32_t i;

    for (i = 0; i < nprimary; i++) {
        klen = pc_min(names[i].len, sizeof(key) - 8);
        memcpy(key, names[i].data, klen);
        key[klen] = '-';
        npts = (size_t) peers[i].weight * PC_HTTP_RING_POINTS;
        for (k = 0; k < npts; k++) {
            key[klen + 1] = (u_char) k;
            key[klen + 2] = (u_char) (k >> 8);
            key[klen + 3] = (u_char) (k >> 16);
            points[n].hash = pc_http_balancer_hash(key, klen + 4);
            points[n].peer = i;
            n++;
        }
    }
    qsort(points, n, sizeof(points[0]), point_cmp);
}
