/*
 * pc_metrics.h -- the metrics registry: counters, gauges and histograms
 * that modules declare while a configuration loads, kept in one shared-
 * memory zone with one slot per worker (ARCHITECTURE §3), and summed by
 * whoever renders them (the status module's `metrics` location).
 *
 * Declaring (init_conf, master side, any module):
 *
 *   static const char *const labels[] = { "zone", "decision", NULL };
 *   static const pc_metric_def_t def = { "ratelimit_decisions_total",
 *       "Rate-limit decisions.", PC_METRIC_COUNTER, labels, NULL, 0, 0 };
 *   pc_metric_family_t *f = pc_metrics_family(cf, &def);
 *   pc_str_t v[2] = { zone_name, pc_string("rejected") };
 *   conf->rejected = pc_metrics_series(cf, f, v);
 *
 * Counting (request path, any worker): pc_metric_add(conf->rejected, 1).
 * That is two loads and one store into this worker's own slot: no lock,
 * no atomic read-modify-write, no system call.  A worker that counts calls
 * pc_metrics_attach() in its init_worker (idempotent; the status module
 * does it for everyone).
 *
 * Why slots: each worker writes only its own slot (plain relaxed stores,
 * so a reader never sees a torn value), and the reader sums the slots.
 * Counters and histograms are summed over every slot, dead workers' too,
 * so nothing is lost when a worker crashes or retires; gauges are summed
 * (or maxed) over live workers only.  A worker prefers the slot of its
 * worker id, so a respawned worker continues its predecessor's slot; a
 * worker of an older generation still draining after a reload keeps its
 * own slot, and the new one takes a free one.
 *
 * Why it survives reload: a series is identified by a 64-bit hash of its
 * family name, kind, buckets and label values, looked up in the zone's key
 * table when the new configuration maps the zone; the same series gets
 * the same cells.  The zone keeps its name and size across reloads unless
 * it must grow (more series than fit, or more workers), in which case the
 * counters start again from zero (logged).
 */
#ifndef PC_METRICS_H
#define PC_METRICS_H

#include "core/pc_core.h"
#include "core/pc_shm.h"

typedef enum {
    PC_METRIC_COUNTER = 0,    /* per worker, summed over every slot          */
    PC_METRIC_GAUGE,          /* per worker, summed over live workers         */
    PC_METRIC_GAUGE_MAX,      /* per worker, max over live workers (0/1 state) */
    PC_METRIC_GAUGE_CONST,    /* one value set at load time (no shm)          */
    PC_METRIC_HISTOGRAM       /* per worker buckets, summed over every slot   */
} pc_metric_kind_e;

#define PC_METRICS_LABELS_MAX   8
#define PC_METRICS_BOUNDS_MAX   30

/* A family as a module declares it.  Must outlive the cycle (static). */
typedef struct {
    const char          *name;     /* without "portcullis_"; counters end _total */
    const char          *help;     /* one line                                   */
    pc_metric_kind_e     kind;
    const char *const   *labels;   /* label names, NULL-terminated (or NULL)     */
    const uint64_t      *bounds;   /* HISTOGRAM: upper bounds, ascending, in units */
    uint32_t             nbounds;  /* ≤ PC_METRICS_BOUNDS_MAX (+Inf is implied)  */
    uint64_t             unit;     /* HISTOGRAM: units per exposed 1 (1000: ms → s) */
} pc_metric_def_t;

typedef struct pc_metrics_s        pc_metrics_t;
typedef struct pc_metric_family_s  pc_metric_family_t;
typedef struct pc_metric_s         pc_metric_t;

/*
 * A family whose values a module keeps itself (its own shared counters, a
 * certificate's expiry...) can hand them over when it is rendered: the
 * collector calls emit once per sample with the family's label values
 * (nlabels of them) and the value (counters: uint64_t; gauges: int64_t
 * bits).  It runs in the worker that answers the scrape; it must not
 * block.
 */
typedef void (*pc_metrics_emit_pt)(void *ctx, const pc_str_t *values, uint64_t value);
typedef void (*pc_metrics_collect_pt)(pc_cycle_t *cycle, const pc_metric_family_t *f,
    pc_metrics_emit_pt emit, void *ctx);

/* Read-only for renderers (cycle pool). */
struct pc_metric_family_s {
    const pc_metric_def_t  *def;
    uint32_t                nlabels;
    uint32_t                ncells;     /* per series: 1, or nbounds + 2     */
    pc_metric_t            *series;     /* declaration order                 */
    pc_metric_t            *last;
    pc_metrics_collect_pt   collect;    /* NULL: declared series only        */
    pc_metric_family_t     *next;
};

struct pc_metric_s {
    pc_metrics_t           *reg;
    pc_metric_family_t     *family;
    pc_str_t               *values;     /* nlabels label values              */
    uint64_t                key;
    uint32_t                cell;       /* first cell in a slot (after mapping) */
    unsigned                lost:1;     /* no room in the zone: not counted   */
    int64_t                 value;      /* GAUGE_CONST                       */
    pc_metric_t            *next;
};

/* Layout and per-process state of one cycle's registry (pc_metrics.c). */
struct pc_metrics_s {
    pc_pool_t              *pool;
    pc_shm_zone_t          *zone;
    pc_metric_family_t     *families;
    pc_metric_family_t     *last;
    uint32_t                ncells;     /* cells this cycle's series need    */
    uint32_t                new_cells;  /* ... of which the old zone lacks   */
    uint32_t                cells_cap;  /* cells per slot in the zone        */
    uint32_t                nslots;
    void                   *carry;      /* the old zone, while a new one is mapped */
    uint64_t               *slot;       /* this process's cells; NULL: not attached */
    int                     slot_index;
    uint8_t                *live;       /* nslots flags (pc_metrics_scan)    */
};

/*
 * Declare the family def in cf's cycle (or find it: the same name again
 * returns the same family; another kind or label set under that name is
 * a config error).  Creates the registry and declares its shm zone on
 * first use.  NULL after pc_conf_error.
 */
pc_metric_family_t *pc_metrics_family(pc_conf_t *cf, const pc_metric_def_t *def);

/*
 * Declare one series of f with its label values (f's nlabels of them,
 * copied into the cycle pool; label values may be any bytes, the renderer
 * escapes them).  Declaring the same values twice returns the same series.
 * NULL after pc_conf_error (ENOMEM).
 */
pc_metric_t *pc_metrics_series(pc_conf_t *cf, pc_metric_family_t *f,
    const pc_str_t *values);

/* Let fn produce f's samples at render time (after its declared series).
 * f must be a counter or a gauge.  PC_OK / PC_ERROR (a histogram). */
pc_rc_t pc_metrics_collector(pc_metric_family_t *f, pc_metrics_collect_pt fn);

/* GAUGE_CONST: the value exported for m (set at load time). */
void pc_metrics_set_const(pc_metric_t *m, int64_t v);

/* The registry of cycle, NULL when no module declared a family. */
pc_metrics_t *pc_metrics_of(const pc_cycle_t *cycle);

/*
 * Worker side: claim this process's slot in cycle's zone (the one of
 * worker_id when it is free or its owner is dead, else the first free
 * one), zeroing its gauges.  Idempotent.  PC_OK, PC_DECLINED when cycle
 * has no registry, PC_ERROR when every slot is taken (logged; nothing is
 * counted by this process then).
 */
pc_rc_t pc_metrics_attach(pc_cycle_t *cycle, int worker_id);

/* Release the slot (graceful worker exit): gauges to zero, owner cleared;
 * counters stay.  Safe without a slot. */
void pc_metrics_detach(pc_cycle_t *cycle);

/*
 * Before reading: note which slots belong to live processes (kill(pid, 0));
 * gauges are only summed over those.  Call once per rendering.
 */
void pc_metrics_scan(pc_metrics_t *reg);

/*
 * The aggregated value(s) of m into out: one value for counters and
 * gauges (gauges as int64 bit patterns), nbounds + 1 non-cumulative bucket
 * counts then the sum (in units) for histograms.  Returns how many values
 * were written (0 for a lost series).
 */
uint32_t pc_metrics_read(const pc_metric_t *m, uint64_t *out);

/* ----------------------------------------------------------- hot path */

static inline uint64_t *
pc_metric_cell(const pc_metric_t *m)
{
    return m->reg->slot + m->cell;
}

/* Counter += n (this worker's slot).  m may be NULL. */
static inline void
pc_metric_add(const pc_metric_t *m, uint64_t n)
{
    uint64_t *p;

    if (m == NULL || m->reg->slot == NULL)
        return;
    p = pc_metric_cell(m);
    __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/* Gauge = v for this worker (summed / maxed by the reader).  m may be NULL. */
static inline void
pc_metric_set(const pc_metric_t *m, int64_t v)
{
    if (m == NULL || m->reg->slot == NULL)
        return;
    __atomic_store_n(pc_metric_cell(m), (uint64_t) v, __ATOMIC_RELAXED);
}

/* Histogram: count v (in the family's units) in its bucket and the sum. */
static inline void
pc_metric_observe(const pc_metric_t *m, uint64_t v)
{
    const pc_metric_def_t *def;
    uint64_t              *p;
    uint32_t               i;

    if (m == NULL || m->reg->slot == NULL)
        return;
    def = m->family->def;
    for (i = 0; i < def->nbounds && v > def->bounds[i]; i++) { }
    p = pc_metric_cell(m);
    __atomic_store_n(p + i, __atomic_load_n(p + i, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
    p += def->nbounds + 1;
    __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

#endif /* PC_METRICS_H */
