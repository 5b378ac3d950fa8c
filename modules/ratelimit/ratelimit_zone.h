/*
 * ratelimit_zone.h -- the shared-memory state of the ratelimit module
 * (ARCHITECTURE §3): a fixed-size hash table of keys in one shm zone, shared
 * by every worker of the instance and surviving reloads.
 *
 *   - A key is kept as a 128-bit keyed SipHash-2-4 digest of its text (the
 *     seed is random per zone and lives in the zone), so every key costs the
 *     same few dozen bytes whatever its length, and nobody without the seed
 *     can aim two keys at one slot.
 *   - The table is cut into stripes; each has its own process-shared robust
 *     mutex, hash buckets, LRU list and node pool, so workers touching
 *     different keys rarely meet, and a worker that dies holding a lock
 *     costs one stripe's state, never a deadlock.
 *   - When a stripe is full, its least recently used key makes room.  For
 *     limit_req that key's TAT is dropped: harmless when it had decayed
 *     (counted "expired"), a real loss of state otherwise (counted
 *     "evicted", and the caller logs it).  limit_conn never evicts a key
 *     whose requests are in flight: a full zone refuses the new key.
 *   - Counters (decisions, evictions) have one slot per worker, written
 *     with relaxed atomic adds and no lock, summed by readers.
 *
 * The runtime never touches this layout directly: it goes through a
 * pc_rl_store_ops_t, so a later store (Redis sync, SPEC [W2]) can decide
 * instead of, or together with, this one (pc_rlz_merge folds in a TAT
 * learnt elsewhere).
 */
#ifndef PC_RATELIMIT_ZONE_H
#define PC_RATELIMIT_ZONE_H

#include "core/pc_core.h"
#include "ratelimit/gcra.h"

#define PC_RLZ_MIN_SIZE    (32 * 1024)
#define PC_RLZ_MAX_SIZE    ((size_t) 4 << 30)
#define PC_RLZ_SLOTS       32        /* counter slots (worker id % slots) */

typedef struct pc_rlz_s pc_rlz_t;

typedef enum {
    PC_RLZ_KIND_REQ = 1,   /* value: TAT (ns)                 */
    PC_RLZ_KIND_CONN = 2   /* value: requests in flight       */
} pc_rlz_kind_e;

/* Per-zone counters (pc_rlz_count / pc_rlz_counters). */
typedef enum {
    PC_RLZ_PASSED = 0,
    PC_RLZ_DELAYED,
    PC_RLZ_REJECTED,
    PC_RLZ_REJECTED_DRY_RUN,
    PC_RLZ_DELAYED_DRY_RUN,
    PC_RLZ_EVICTED,       /* a key's live state dropped to make room      */
    PC_RLZ_EXPIRED,       /* an idle, fully recovered key reclaimed       */
    PC_RLZ_FULL,          /* limit_conn: no room for a new key: refused   */
    PC_RLZ_RECOVERED,     /* a stripe reset after its lock owner died     */
    PC_RLZ_COUNTERS
} pc_rlz_counter_e;

/* Events an operation reports (bit mask), for the caller to count and log. */
#define PC_RLZ_EV_EVICTED    0x01
#define PC_RLZ_EV_EXPIRED    0x02
#define PC_RLZ_EV_RECOVERED  0x04

/* A key's digest (pc_rlz_key). */
typedef struct {
    uint64_t    h[2];
} pc_rlz_key_t;

/*
 * Format mem (size bytes, zero-filled as a fresh mapping is, at least
 * PC_RLZ_MIN_SIZE) as an empty zone of kind with the hashing seed.
 * Initialises the process-shared robust mutexes.  Returns the zone, or
 * NULL when size is too small or the mutexes cannot be made.
 */
pc_rlz_t *pc_rlz_format(void *mem, size_t size, pc_rlz_kind_e kind,
    const uint64_t seed[2]);

/*
 * The zone in mem when it was formatted with this size and kind by this
 * code (a reused mapping after a reload), else NULL.  Touches nothing.
 */
pc_rlz_t *pc_rlz_attach(void *mem, size_t size, pc_rlz_kind_e kind);

/* How many keys fit (fixed at format time). */
uint32_t pc_rlz_capacity(const pc_rlz_t *z);

/* Keys in use now (unlocked sum: a snapshot for stats and tests). */
uint32_t pc_rlz_used(const pc_rlz_t *z);

/* The digest of a key's text under z's seed. */
void pc_rlz_key(const pc_rlz_t *z, const u_char *text, size_t len,
    pc_rlz_key_t *key);

/* SipHash-2-4 with 128-bit output (reference vectors in the unit test). */
void pc_rlz_siphash128(const uint64_t k[2], const u_char *in, size_t len,
    uint64_t out[2]);

/*
 * limit_req: decide for key at now with g (pc_gcra_decide) and store the
 * new TAT when admitted, making room by LRU eviction if needed.  *events
 * gets PC_RLZ_EV_* bits.  PC_OK, or PC_ERROR when the stripe lock is
 * unusable (logged by the caller).
 */
pc_rc_t pc_rlz_take(pc_rlz_t *z, const pc_rlz_key_t *key, const pc_gcra_t *g,
    int64_t now, pc_gcra_verdict_t *v, unsigned *events);

/* Give back one admission of key (a later limit rejected the request). */
void pc_rlz_refund(pc_rlz_t *z, const pc_rlz_key_t *key, const pc_gcra_t *g);

/*
 * Fold in a TAT known elsewhere (a remote source of truth): the key's TAT
 * becomes the later of both; the key is added (evicting if needed) when
 * unknown and tat is after now.  A tat further ahead than any limit can
 * build is capped.  now and tat are CLOCK_MONOTONIC-like ns (|x| < 2^62).
 * *events as for pc_rlz_take.
 */
pc_rc_t pc_rlz_merge(pc_rlz_t *z, const pc_rlz_key_t *key, int64_t tat,
    int64_t now, unsigned *events);

/* The stored TAT of key, 0 when absent (tests, sync). */
int64_t pc_rlz_peek(pc_rlz_t *z, const pc_rlz_key_t *key);

/*
 * limit_conn: one more request in flight for key if fewer than max are.
 * PC_OK (counted: release it later), PC_BUSY (max reached), PC_DECLINED
 * (a new key and no free room: the zone is full), PC_ERROR (lock).
 */
pc_rc_t pc_rlz_acquire(pc_rlz_t *z, const pc_rlz_key_t *key, uint32_t max,
    unsigned *events);

/* One request of key ended; the key is freed when none is left. */
void pc_rlz_release(pc_rlz_t *z, const pc_rlz_key_t *key);

/* Count one event in slot (any number: taken modulo PC_RLZ_SLOTS). */
void pc_rlz_count(pc_rlz_t *z, unsigned slot, pc_rlz_counter_e c);

/* Sum of every slot of every counter into out[PC_RLZ_COUNTERS]. */
void pc_rlz_counters(const pc_rlz_t *z, uint64_t *out);

/*
 * True for one caller at most every `every` ns across all processes: lets
 * "zone is full" warnings be rate-limited instance-wide.
 */
bool pc_rlz_warn_due(pc_rlz_t *z, int64_t now, int64_t every);

/* CLOCK_MONOTONIC in ns: the clock of every TAT (same in every process). */
int64_t pc_rlz_now(void);

/*
 * Where the runtime gets its answers.  The local shared-memory store
 * (pc_rlz_local_ops) implements it with the functions above; a remote one
 * (SPEC [W2] sync=redis://) can wrap it.  store is the zone's mapping; text
 * is the key as evaluated, for stores that need it.  Same contracts as the
 * pc_rlz_* functions.
 */
typedef struct {
    const char *name;
    pc_rc_t   (*take)(void *store, const pc_str_t *text, const pc_rlz_key_t *key,
                      const pc_gcra_t *g, int64_t now, pc_gcra_verdict_t *v,
                      unsigned *events);
    void      (*refund)(void *store, const pc_str_t *text, const pc_rlz_key_t *key,
                        const pc_gcra_t *g);
    pc_rc_t   (*acquire)(void *store, const pc_str_t *text, const pc_rlz_key_t *key,
                         uint32_t max, unsigned *events);
    void      (*release)(void *store, const pc_rlz_key_t *key);
} pc_rl_store_ops_t;

extern const pc_rl_store_ops_t pc_rlz_local_ops;

#endif /* PC_RATELIMIT_ZONE_H */
