/*
 * ratelimit_zone.c -- the shared hash table behind limit_req and limit_conn
 * (see ratelimit_zone.h for the design).
 *
 * Layout of a zone (offsets from its start, all fixed by the size alone, so
 * the same size always gives the same layout and a reused mapping can be
 * checked field by field):
 *
 *   pc_rlz_t        header: magic, layout, seed, counters (one 128-byte
 *                   slot per worker, so writers never share a cache line)
 *   rlz_stripe_t[]  one per stripe: robust mutex, LRU ends, free list
 *   uint32_t[][]    buckets of each stripe (node index + 1; 0 = empty)
 *   rlz_node_t[][]  nodes of each stripe
 *
 * Indices are 1-based within a stripe so that zeroed memory is a valid
 * empty table.  Nodes are handed out from a "fresh" high-water mark first,
 * so a zone only touches the pages its keys use.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "core/pc_core.h"
#include "ratelimit/ratelimit_zone.h"

#define RLZ_MAGIC           0x31656e6f7a6c7270ULL   /* "prlzone1" */
#define RLZ_VERSION         1
#define RLZ_MAX_STRIPES     64
#define RLZ_PER_STRIPE_MIN  64     /* fewer stripes rather than tiny ones */
#define RLZ_COUNTERS_SLOT   16     /* uint64_t per slot: 128 bytes       */
/* A TAT further ahead than any limit can build (largest burst + 1 at 1r/m)
 * means nothing more; merged values are capped there, which also keeps
 * later arithmetic far from overflow. */
#define RLZ_MERGE_AHEAD_MAX ((int64_t) (PC_GCRA_BURST_MAX + 1) * 60 * PC_GCRA_NS_PER_SEC)

typedef struct {
    uint64_t    h0, h1;        /* the key's digest                      */
    int64_t     val;           /* TAT (req) or requests in flight (conn) */
    uint32_t    next;          /* hash chain, or free list              */
    uint32_t    newer, older;  /* LRU neighbours                        */
    uint32_t    pad;
} rlz_node_t;

typedef struct {
    _Alignas(64) pthread_mutex_t mu;
    uint32_t    head, tail;    /* most / least recently used            */
    uint32_t    free;          /* nodes released by limit_conn          */
    uint32_t    fresh;         /* nodes [1, fresh] have been handed out */
    uint32_t    used;          /* keys in the stripe                    */
} rlz_stripe_t;

typedef struct {
    uint64_t    c[RLZ_COUNTERS_SLOT];
} rlz_slot_t;

struct pc_rlz_s {
    uint64_t    magic;
    uint32_t    version;
    uint32_t    kind;
    uint64_t    size;
    uint64_t    seed[2];
    uint32_t    nstripes;      /* power of two                          */
    uint32_t    per;           /* nodes per stripe                      */
    uint32_t    nbuckets;      /* per stripe, power of two, <= per      */
    uint32_t    node_size;
    uint64_t    stripes_off, buckets_off, nodes_off;
    int64_t     warn_at;       /* next "zone is full" warning (ns)      */
    _Alignas(64) rlz_slot_t slots[PC_RLZ_SLOTS];
};

/* What an operation on one key works with: the key's stripe, locked. */
typedef struct {
    rlz_stripe_t  *st;
    uint32_t      *buckets;
    rlz_node_t    *nodes;      /* nodes[i - 1] is node i               */
    uint32_t       per;
    uint64_t       bmask;
} rlz_view_t;

/* ------------------------------------------------------------------ */
/* SipHash-2-4, 128-bit output (Aumasson & Bernstein)                  */

#define ROTL(x, b)  (uint64_t) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                        \
    do {                                                                \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);       \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                          \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                          \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);       \
    } while (0)

static uint64_t
load_le64(const u_char *p)
{
    return (uint64_t) p[0] | (uint64_t) p[1] << 8 | (uint64_t) p[2] << 16
         | (uint64_t) p[3] << 24 | (uint64_t) p[4] << 32 | (uint64_t) p[5] << 40
         | (uint64_t) p[6] << 48 | (uint64_t) p[7] << 56;
}

/* Contract: see ratelimit_zone.h.  out[0] holds output bytes 0..7 and
 * out[1] bytes 8..15, each little-endian. */
void
pc_rlz_siphash128(const uint64_t k[2], const u_char *in, size_t len,
    uint64_t out[2])
{
    uint64_t v0 = 0x736f6d6570736575ULL ^ k[0];
    uint64_t v1 = 0x646f72616e646f6dULL ^ k[1] ^ 0xee;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k[0];
    uint64_t v3 = 0x7465646279746573ULL ^ k[1];
    uint64_t m, b = (uint64_t) len << 56;
    size_t   i, tail = len & 7;

    for (i = 0; i + 8 <= len; i += 8) {
        m = load_le64(in + i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    while (tail > 0) {
        tail--;
        b |= (uint64_t) in[i + tail] << (8 * tail);
    }
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xee;
    SIPROUND; SIPROUND; SIPROUND; SIPROUND;
    out[0] = v0 ^ v1 ^ v2 ^ v3;
    v1 ^= 0xdd;
    SIPROUND; SIPROUND; SIPROUND; SIPROUND;
    out[1] = v0 ^ v1 ^ v2 ^ v3;
}

/* Contract: see ratelimit_zone.h. */
void
pc_rlz_key(const pc_rlz_t *z, const u_char *text, size_t len, pc_rlz_key_t *key)
{
    pc_rlz_siphash128(z->seed, text, len, key->h);
}

/* Contract: see ratelimit_zone.h. */
int64_t
pc_rlz_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * PC_GCRA_NS_PER_SEC + ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* Layout                                                              */

static uint32_t
pow2_floor(uint64_t n)
{
    uint32_t p = 1;

    while ((uint64_t) p * 2 <= n && p < (1u << 31))
        p *= 2;
    return p;
}

/* Fill z's layout fields for size; false when not even one stripe of
 * RLZ_PER_STRIPE_MIN nodes fits. */
static bool
layout(pc_rlz_t *z, size_t size)
{
    size_t   hdr = pc_align(sizeof(pc_rlz_t), 64), per_cost, avail, room;
    uint64_t est, per;
    uint32_t ns, nb;

    if (size < PC_RLZ_MIN_SIZE || size > PC_RLZ_MAX_SIZE)
        return false;
    per_cost = sizeof(rlz_node_t) + sizeof(uint32_t);
    avail = size - hdr;
    est = avail / per_cost;
    ns = pow2_floor(est / RLZ_PER_STRIPE_MIN);
    if (ns > RLZ_MAX_STRIPES)
        ns = RLZ_MAX_STRIPES;
    avail -= (size_t) ns * sizeof(rlz_stripe_t) + 64;   /* + alignment slack */
    room = avail / ns;
    nb = pow2_floor(room / per_cost);
    per = (room - (size_t) nb * sizeof(uint32_t)) / sizeof(rlz_node_t);
    if (per < RLZ_PER_STRIPE_MIN || per > UINT32_MAX - 1)
        return false;
    z->nstripes = ns;
    z->per = (uint32_t) per;
    z->nbuckets = nb;
    z->node_size = sizeof(rlz_node_t);
    z->stripes_off = hdr;
    z->buckets_off = hdr + (size_t) ns * sizeof(rlz_stripe_t);
    z->nodes_off = pc_align(z->buckets_off + (size_t) ns * nb * sizeof(uint32_t), 64);
    return z->nodes_off + (size_t) ns * per * sizeof(rlz_node_t) <= size;
}

static rlz_stripe_t *
stripe_at(const pc_rlz_t *z, uint32_t s)
{
    return (rlz_stripe_t *) ((u_char *) z + z->stripes_off) + s;
}

static pc_rc_t
mutex_init(pthread_mutex_t *mu)
{
    pthread_mutexattr_t a;
    int rc;

    if (pthread_mutexattr_init(&a) != 0)
        return PC_ERROR;
    rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (rc == 0)
        rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (rc == 0)
        rc = pthread_mutex_init(mu, &a);
    pthread_mutexattr_destroy(&a);
    return rc == 0 ? PC_OK : PC_ERROR;
}

/* Contract: see ratelimit_zone.h.  Clears the header, stripes and buckets
 * (not the nodes, which are written when handed out). */
pc_rlz_t *
pc_rlz_format(void *mem, size_t size, pc_rlz_kind_e kind, const uint64_t seed[2])
{
    pc_rlz_t  probe, *z = mem;
    uint32_t  s;

    memset(&probe, 0, sizeof(probe));
    if (mem == NULL || !layout(&probe, size))
        return NULL;
    memset(mem, 0, probe.nodes_off);
    z->version = RLZ_VERSION;
    z->kind = (uint32_t) kind;
    z->size = size;
    z->seed[0] = seed[0];
    z->seed[1] = seed[1];
    z->nstripes = probe.nstripes;
    z->per = probe.per;
    z->nbuckets = probe.nbuckets;
    z->node_size = probe.node_size;
    z->stripes_off = probe.stripes_off;
    z->buckets_off = probe.buckets_off;
    z->nodes_off = probe.nodes_off;
    for (s = 0; s < z->nstripes; s++) {
        if (mutex_init(&stripe_at(z, s)->mu) != PC_OK)
            return NULL;
    }
    /* Last: a zone is only ever recognised once it is complete. */
    z->magic = RLZ_MAGIC;
    return z;
}

/* Contract: see ratelimit_zone.h. */
pc_rlz_t *
pc_rlz_attach(void *mem, size_t size, pc_rlz_kind_e kind)
{
    pc_rlz_t probe, *z = mem;

    memset(&probe, 0, sizeof(probe));
    if (mem == NULL || !layout(&probe, size))
        return NULL;
    if (z->magic != RLZ_MAGIC || z->version != RLZ_VERSION
        || z->kind != (uint32_t) kind || z->size != size
        || z->nstripes != probe.nstripes || z->per != probe.per
        || z->nbuckets != probe.nbuckets || z->node_size != probe.node_size
        || z->stripes_off != probe.stripes_off || z->buckets_off != probe.buckets_off
        || z->nodes_off != probe.nodes_off)
    {
        return NULL;
    }
    return z;
}

/* Contract: see ratelimit_zone.h. */
uint32_t
pc_rlz_capacity(const pc_rlz_t *z)
{
    return z->nstripes * z->per;
}

/* Contract: see ratelimit_zone.h. */
uint32_t
pc_rlz_used(const pc_rlz_t *z)
{
    uint32_t s, n = 0;

    for (s = 0; s < z->nstripes; s++)
        n += __atomic_load_n(&stripe_at(z, s)->used, __ATOMIC_RELAXED);
    return n;
}

/* ------------------------------------------------------------------ */
/* One stripe: lookup, LRU, allocation                                 */

static rlz_node_t *
node(const rlz_view_t *v, uint32_t i)
{
    return &v->nodes[i - 1];
}

static void
view_of(pc_rlz_t *z, uint64_t h1, rlz_view_t *v)
{
    uint32_t s = (uint32_t) (h1 & (z->nstripes - 1));

    v->st = stripe_at(z, s);
    v->buckets = (uint32_t *) ((u_char *) z + z->buckets_off) + (size_t) s * z->nbuckets;
    v->nodes = (rlz_node_t *) ((u_char *) z + z->nodes_off) + (size_t) s * z->per;
    v->per = z->per;
    v->bmask = z->nbuckets - 1;
}

/* A worker died inside this stripe's critical section: its lists may be
 * half-updated, so the stripe starts empty (its keys are forgotten). */
static void
stripe_reset(rlz_view_t *v)
{
    memset(v->buckets, 0, (size_t) (v->bmask + 1) * sizeof(uint32_t));
    v->st->head = v->st->tail = v->st->free = v->st->fresh = 0;
    __atomic_store_n(&v->st->used, 0, __ATOMIC_RELAXED);
}

static pc_rc_t
lock(rlz_view_t *v, unsigned *events)
{
    int rc = pthread_mutex_lock(&v->st->mu);

    if (rc == 0)
        return PC_OK;
    if (rc == EOWNERDEAD) {
        stripe_reset(v);
        if (pthread_mutex_consistent(&v->st->mu) == 0) {
            *events |= PC_RLZ_EV_RECOVERED;
            return PC_OK;
        }
        pthread_mutex_unlock(&v->st->mu);
    }
    return PC_ERROR;
}

static void
unlock(rlz_view_t *v)
{
    pthread_mutex_unlock(&v->st->mu);
}

static uint32_t
find(const rlz_view_t *v, const pc_rlz_key_t *key)
{
    uint32_t i = v->buckets[key->h[0] & v->bmask];

    while (i != 0) {
        const rlz_node_t *n = node(v, i);

        if (n->h0 == key->h[0] && n->h1 == key->h[1])
            return i;
        i = n->next;
    }
    return 0;
}

static void
lru_unlink(rlz_view_t *v, uint32_t i)
{
    rlz_node_t *n = node(v, i);

    if (n->newer != 0)
        node(v, n->newer)->older = n->older;
    else
        v->st->head = n->older;
    if (n->older != 0)
        node(v, n->older)->newer = n->newer;
    else
        v->st->tail = n->newer;
}

static void
lru_push(rlz_view_t *v, uint32_t i)
{
    rlz_node_t *n = node(v, i);

    n->newer = 0;
    n->older = v->st->head;
    if (v->st->head != 0)
        node(v, v->st->head)->newer = i;
    v->st->head = i;
    if (v->st->tail == 0)
        v->st->tail = i;
}

static void
touch(rlz_view_t *v, uint32_t i)
{
    if (v->st->head == i)
        return;
    lru_unlink(v, i);
    lru_push(v, i);
}

static void
chain_unlink(rlz_view_t *v, uint32_t i)
{
    uint32_t *pp = &v->buckets[node(v, i)->h0 & v->bmask];

    while (*pp != 0 && *pp != i)
        pp = &node(v, *pp)->next;
    if (*pp == i)
        *pp = node(v, i)->next;
}

/* Unlink node i from everything (it stays allocated to the caller). */
static void
detach(rlz_view_t *v, uint32_t i)
{
    chain_unlink(v, i);
    lru_unlink(v, i);
    __atomic_store_n(&v->st->used, v->st->used - 1, __ATOMIC_RELAXED);
}

/* A node for a new key: a released one, a never used one, or (evict) the
 * least recently used key's.  0 when none may be had. */
static uint32_t
alloc(rlz_view_t *v, int64_t now, bool evict, unsigned *events)
{
    uint32_t i;

    if (v->st->free != 0) {
        i = v->st->free;
        v->st->free = node(v, i)->next;
        return i;
    }
    if (v->st->fresh < v->per)
        return ++v->st->fresh;
    if (!evict || v->st->tail == 0)
        return 0;
    i = v->st->tail;
    *events |= node(v, i)->val <= now ? PC_RLZ_EV_EXPIRED : PC_RLZ_EV_EVICTED;
    detach(v, i);
    return i;
}

static void
insert(rlz_view_t *v, const pc_rlz_key_t *key, uint32_t i, int64_t val)
{
    rlz_node_t *n = node(v, i);
    uint32_t   *b = &v->buckets[key->h[0] & v->bmask];

    n->h0 = key->h[0];
    n->h1 = key->h[1];
    n->val = val;
    n->next = *b;
    *b = i;
    lru_push(v, i);
    __atomic_store_n(&v->st->used, v->st->used + 1, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ */
/* Operations                                                          */

/* Contract: see ratelimit_zone.h. */
pc_rc_t
pc_rlz_take(pc_rlz_t *z, const pc_rlz_key_t *key, const pc_gcra_t *g,
    int64_t now, pc_gcra_verdict_t *v, unsigned *events)
{
    rlz_view_t w;
    uint32_t   i;
    int64_t    tat = 0;

    *events = 0;
    view_of(z, key->h[1], &w);
    if (lock(&w, events) != PC_OK)
        return PC_ERROR;
    i = find(&w, key);
    if (i != 0) {
        tat = node(&w, i)->val;
        touch(&w, i);
    }
    pc_gcra_decide(g, &tat, now, v);
    if (v->decision != PC_GCRA_REJECT) {
        if (i != 0)
            node(&w, i)->val = tat;
        else if ((i = alloc(&w, now, true, events)) != 0)
            insert(&w, key, i, tat);
    }
    unlock(&w);
    return PC_OK;
}

/* Contract: see ratelimit_zone.h. */
void
pc_rlz_refund(pc_rlz_t *z, const pc_rlz_key_t *key, const pc_gcra_t *g)
{
    rlz_view_t w;
    unsigned   events = 0;
    uint32_t   i;

    view_of(z, key->h[1], &w);
    if (lock(&w, &events) != PC_OK)
        return;
    if ((i = find(&w, key)) != 0)
        node(&w, i)->val -= g->interval;
    unlock(&w);
}

/* Contract: see ratelimit_zone.h. */
pc_rc_t
pc_rlz_merge(pc_rlz_t *z, const pc_rlz_key_t *key, int64_t tat, int64_t now,
    unsigned *events)
{
    rlz_view_t w;
    uint32_t   i;

    *events = 0;
    if (tat - now > RLZ_MERGE_AHEAD_MAX)
        tat = now + RLZ_MERGE_AHEAD_MAX;
    view_of(z, key->h[1], &w);
    if (lock(&w, events) != PC_OK)
        return PC_ERROR;
    if ((i = find(&w, key)) != 0) {
        if (tat > node(&w, i)->val)
            node(&w, i)->val = tat;
    } else if (tat > now && (i = alloc(&w, now, true, events)) != 0) {
        insert(&w, key, i, tat);
    }
    unlock(&w);
    return PC_OK;
}

/* Contract: see ratelimit_zone.h. */
int64_t
pc_rlz_peek(pc_rlz_t *z, const pc_rlz_key_t *key)
{
    rlz_view_t w;
    unsigned   events = 0;
    uint32_t   i;
    int64_t    val = 0;

    view_of(z, key->h[1], &w);
    if (lock(&w, &events) != PC_OK)
        return 0;
    if ((i = find(&w, key)) != 0)
        val = node(&w, i)->val;
    unlock(&w);
    return val;
}

/* Contract: see ratelimit_zone.h. */
pc_rc_t
pc_rlz_acquire(pc_rlz_t *z, const pc_rlz_key_t *key, uint32_t max,
    unsigned *events)
{
    rlz_view_t w;
    uint32_t   i;
    pc_rc_t    rc = PC_OK;

    *events = 0;
    view_of(z, key->h[1], &w);
    if (lock(&w, events) != PC_OK)
        return PC_ERROR;
    if ((i = find(&w, key)) != 0) {
        if (node(&w, i)->val >= (int64_t) max) {
            rc = PC_BUSY;
        } else {
            node(&w, i)->val++;
            touch(&w, i);
        }
    } else if (max == 0) {
        rc = PC_BUSY;
    } else if ((i = alloc(&w, 0, false, events)) != 0) {
        insert(&w, key, i, 1);
    } else {
        rc = PC_DECLINED;
    }
    unlock(&w);
    return rc;
}

/* Contract: see ratelimit_zone.h.  A key that is not there (its stripe was
 * reset after a crash) is ignored. */
void
pc_rlz_release(pc_rlz_t *z, const pc_rlz_key_t *key)
{
    rlz_view_t w;
    unsigned   events = 0;
    uint32_t   i;

    view_of(z, key->h[1], &w);
    if (lock(&w, &events) != PC_OK)
        return;
    if ((i = find(&w, key)) != 0 && --node(&w, i)->val <= 0) {
        detach(&w, i);
        node(&w, i)->next = w.st->free;
        w.st->free = i;
    }
    unlock(&w);
}

/* ------------------------------------------------------------------ */
/* Counters                                                            */

/* Contract: see ratelimit_zone.h. */
void
pc_rlz_count(pc_rlz_t *z, unsigned slot, pc_rlz_counter_e c)
{
    if ((unsigned) c < PC_RLZ_COUNTERS)
        __atomic_fetch_add(&z->slots[slot % PC_RLZ_SLOTS].c[c], 1, __ATOMIC_RELAXED);
}

/* Contract: see ratelimit_zone.h. */
void
pc_rlz_counters(const pc_rlz_t *z, uint64_t *out)
{
    unsigned s, c;

    for (c = 0; c < PC_RLZ_COUNTERS; c++) {
        out[c] = 0;
        for (s = 0; s < PC_RLZ_SLOTS; s++)
            out[c] += __atomic_load_n(&z->slots[s].c[c], __ATOMIC_RELAXED);
    }
}

/* Contract: see ratelimit_zone.h. */
bool
pc_rlz_warn_due(pc_rlz_t *z, int64_t now, int64_t every)
{
    int64_t at = __atomic_load_n(&z->warn_at, __ATOMIC_RELAXED);

    if (now < at)
        return false;
    return __atomic_compare_exchange_n(&z->warn_at, &at, now + every, false,
                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ */
/* The local store                                                     */

static pc_rc_t
local_take(void *store, const pc_str_t *text, const pc_rlz_key_t *key,
    const pc_gcra_t *g, int64_t now, pc_gcra_verdict_t *v, unsigned *events)
{
    PC_UNUSED(text);
    return pc_rlz_take(store, key, g, now, v, events);
}

static void
local_refund(void *store, const pc_str_t *text, const pc_rlz_key_t *key,
    const pc_gcra_t *g)
{
    PC_UNUSED(text);
    pc_rlz_refund(store, key, g);
}

static pc_rc_t
local_acquire(void *store, const pc_str_t *text, const pc_rlz_key_t *key,
    uint32_t max, unsigned *events)
{
    PC_UNUSED(text);
    return pc_rlz_acquire(store, key, max, events);
}

static void
local_release(void *store, const pc_rlz_key_t *key)
{
    pc_rlz_release(store, key);
}

const pc_rl_store_ops_t pc_rlz_local_ops = {
    "local", local_take, local_refund, local_acquire, local_release
};
