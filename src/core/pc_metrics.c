/*
 * pc_metrics.c -- the metrics registry and its shared-memory zone (see
 * pc_metrics.h for the model).
 *
 * Zone layout (one mapping, "portcullis_metrics"):
 *
 *   header     magic, cells per slot, slots, cells handed out, keys
 *   keys       open-addressing table: series key → first cell, cells, gauge
 *   owners     one 64-byte line per slot: the pid that writes it (0: free)
 *   slots      nslots × (cells_cap + SINK) uint64 cells
 *
 * Only the master writes the header and the key table, while it maps a
 * new configuration (single-threaded, before forking its workers); workers
 * only ever write their own slot's cells and claim/release an owner line
 * with compare-and-swap.  A series that finds no room left is "lost": its
 * handle points at the SINK cells at the end of every slot, which are
 * written and never read, so the request path needs no test for it.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "core/pc_core.h"
#include "core/pc_cycle.h"
#include "core/pc_metrics.h"

#define ZONE_MAGIC   0x31746d6d63702e70ULL   /* "p.pcmmt1" */
#define SINK         32                      /* ≥ the cells of one series */
#define CELLS_MIN    1024
#define SLOTS_MIN    64
#define KEY_GAUGE    0x01

typedef struct {
    uint64_t    magic;
    uint32_t    cells_cap;
    uint32_t    nslots;
    uint32_t    ncells;        /* cells handed out                          */
    uint32_t    keys_cap;      /* 2 × cells_cap entries                     */
    uint32_t    nkeys;
    uint32_t    slots_hwm;     /* 1 + highest slot ever claimed             */
    uint8_t     pad[32];
} zhdr_t;

typedef struct {
    uint64_t    key;           /* 0: empty                                  */
    uint32_t    cell;
    uint16_t    ncells;
    uint16_t    flags;
} zkey_t;

typedef struct {
    int32_t     pid;
    uint8_t     pad[60];
} zowner_t;

static const int zone_tag;           /* our pc_shm tag: its address */
static const pc_str_t zone_name = pc_string("portcullis_metrics");

/* ------------------------------------------------------------- layout */

static zkey_t *
zkeys(zhdr_t *h)
{
    return (zkey_t *) (void *) ((u_char *) h + sizeof(zhdr_t));
}

static zowner_t *
zowners(zhdr_t *h)
{
    return (zowner_t *) (void *) ((u_char *) zkeys(h) + (size_t) h->keys_cap * sizeof(zkey_t));
}

static uint64_t *
zslot(zhdr_t *h, uint32_t i)
{
    uint64_t *base = (uint64_t *) (void *) (zowners(h) + h->nslots);

    return base + (size_t) i * (h->cells_cap + SINK);
}

static size_t
zone_size(uint32_t cells_cap, uint32_t nslots)
{
    return sizeof(zhdr_t) + (size_t) 2 * cells_cap * sizeof(zkey_t)
           + (size_t) nslots * sizeof(zowner_t)
           + (size_t) nslots * (cells_cap + SINK) * sizeof(uint64_t);
}

static uint32_t
pow2_at_least(uint64_t n)
{
    uint32_t p = 1;

    while (p < n && p < (1u << 30))
        p <<= 1;
    return p;
}

/* The key table slot of key in h: its entry, or the empty one to fill. */
static zkey_t *
key_find(zhdr_t *h, uint64_t key)
{
    zkey_t  *k = zkeys(h);
    uint32_t mask = h->keys_cap - 1, i = (uint32_t) (key ^ (key >> 32)) & mask;

    while (k[i].key != 0 && k[i].key != key)
        i = (i + 1) & mask;
    return &k[i];
}

/* FNV-1a, 64 bits, over n bytes, continuing from h. */
static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
    const u_char *s = p;
    size_t        i;

    for (i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* ---------------------------------------------------------- declaring */

/* Contract: see pc_metrics.h. */
pc_metrics_t *
pc_metrics_of(const pc_cycle_t *cycle)
{
    return cycle != NULL ? cycle->metrics : NULL;
}

static bool
is_gauge(pc_metric_kind_e kind)
{
    return kind == PC_METRIC_GAUGE || kind == PC_METRIC_GAUGE_MAX;
}

/* The mapped header of the previous cycle's zone, if any (master, reload). */
static zhdr_t *
old_header(pc_conf_t *cf)
{
    pc_metrics_t *old = pc_metrics_of(cf->cycle->old);

    if (old == NULL || old->zone == NULL || old->zone->addr == NULL)
        return NULL;
    return ((zhdr_t *) old->zone->addr)->magic == ZONE_MAGIC ? old->zone->addr : NULL;
}

/*
 * Choose cells per slot and slots so that the zone keeps its size across
 * reloads whenever the old one still fits what this cycle needs (then it
 * is reused, counters included); else a larger one, fresh.
 */
static void
size_zone(pc_conf_t *cf, pc_metrics_t *reg)
{
    const pc_core_conf_t *ccf = pc_cycle_main_conf(cf->cycle, pc_core_module);
    zhdr_t               *old = old_header(cf);
    intptr_t              w = ccf != NULL && ccf->worker_processes > 0
                              ? ccf->worker_processes : 1;
    uint32_t cells = pow2_at_least(pc_max((uint64_t) CELLS_MIN, 2 * (uint64_t) reg->ncells));
    uint32_t slots = pow2_at_least(pc_max((uint64_t) SLOTS_MIN, 2 * (uint64_t) w + 2));

    reg->carry = old;           /* used only if the zone is not reused */
    if (old != NULL && old->cells_cap >= cells && old->nslots >= slots) {
        cells = old->cells_cap;
        slots = old->nslots;
        if ((uint64_t) old->ncells + reg->new_cells > old->cells_cap)
            cells *= 2;         /* full of series of past generations */
    }
    reg->cells_cap = cells;
    reg->nslots = slots;
    reg->zone->size = zone_size(cells, slots);
}

static pc_rc_t zone_init(pc_shm_zone_t *zone, int reused);

static pc_metrics_t *
registry(pc_conf_t *cf)
{
    pc_metrics_t *reg = cf->cycle->metrics;

    if (reg != NULL)
        return reg;
    reg = pc_pcalloc(cf->pool, sizeof(*reg));
    if (reg == NULL)
        return NULL;
    reg->pool = cf->pool;
    reg->slot_index = -1;
    reg->zone = pc_shm_zone_add(cf, &zone_name, 0, &zone_tag);
    if (reg->zone == NULL)
        return NULL;
    reg->zone->init = zone_init;
    reg->zone->data = reg;
    cf->cycle->metrics = reg;
    size_zone(cf, reg);
    return reg;
}

static uint32_t
count_labels(const pc_metric_def_t *def)
{
    uint32_t n = 0;

    while (def->labels != NULL && def->labels[n] != NULL)
        n++;
    return n;
}

/* Contract: see pc_metrics.h. */
pc_metric_family_t *
pc_metrics_family(pc_conf_t *cf, const pc_metric_def_t *def)
{
    pc_metrics_t       *reg = registry(cf);
    pc_metric_family_t *f;
    uint32_t            n = count_labels(def);

    if (reg == NULL) {
        pc_conf_error(cf, "out of memory");
        return NULL;
    }
    for (f = reg->families; f != NULL; f = f->next) {
        if (strcmp(f->def->name, def->name) != 0)
            continue;
        if (f->def->kind != def->kind || f->nlabels != n) {
            pc_conf_error(cf, "metric \"%s\" declared twice differently", def->name);
            return NULL;
        }
        return f;
    }
    if (n > PC_METRICS_LABELS_MAX || def->nbounds > PC_METRICS_BOUNDS_MAX
        || (def->kind == PC_METRIC_HISTOGRAM && def->unit == 0))
    {
        pc_conf_error(cf, "metric \"%s\": bad definition", def->name);
        return NULL;
    }
    if ((f = pc_pcalloc(cf->pool, sizeof(*f))) == NULL) {
        pc_conf_error(cf, "out of memory");
        return NULL;
    }
    f->def = def;
    f->nlabels = n;
    f->ncells = def->kind == PC_METRIC_HISTOGRAM ? def->nbounds + 2
                : def->kind == PC_METRIC_GAUGE_CONST ? 0 : 1;
    if (reg->last != NULL)
        reg->last->next = f;
    else
        reg->families = f;
    reg->last = f;
    return f;
}

/* A series' identity: family name, kind, buckets, label values. */
static uint64_t
series_key(const pc_metric_family_t *f, const pc_str_t *values)
{
    const pc_metric_def_t *def = f->def;
    uint64_t               h = 0xcbf29ce484222325ULL;
    uint32_t               i, kind = def->kind;

    h = fnv(h, def->name, strlen(def->name) + 1);
    h = fnv(h, &kind, sizeof(kind));
    if (def->nbounds > 0)
        h = fnv(h, def->bounds, def->nbounds * sizeof(uint64_t));
    for (i = 0; i < f->nlabels; i++) {
        h = fnv(h, values[i].data, values[i].len);
        h = fnv(h, "\xff", 1);      /* a byte no label text ends with */
    }
    return h != 0 ? h : 1;
}

/* Does the previous cycle's zone already hold key (no new cells)? */
static bool
old_has(pc_conf_t *cf, uint64_t key)
{
    zhdr_t *old = old_header(cf);

    return old != NULL && key_find(old, key)->key == key;
}

/* Contract: see pc_metrics.h. */
pc_metric_t *
pc_metrics_series(pc_conf_t *cf, pc_metric_family_t *f, const pc_str_t *values)
{
    pc_metrics_t *reg = cf->cycle->metrics;
    pc_metric_t  *m;
    uint64_t      key = series_key(f, values);
    uint32_t      i;

    for (m = f->series; m != NULL; m = m->next) {
        if (m->key == key)
            return m;
    }
    m = pc_pcalloc(cf->pool, sizeof(*m));
    if (m == NULL || (f->nlabels > 0
                      && (m->values = pc_palloc(cf->pool, f->nlabels * sizeof(pc_str_t))) == NULL))
        goto nomem;
    for (i = 0; i < f->nlabels; i++) {
        m->values[i].len = values[i].len;
        m->values[i].data = pc_pstrdup(cf->pool, values[i].data, values[i].len);
        if (m->values[i].data == NULL)
            goto nomem;
    }
    m->reg = reg;
    m->family = f;
    m->key = key;
    m->cell = UINT32_MAX;
    if (f->last != NULL)
        f->last->next = m;
    else
        f->series = m;
    f->last = m;
    reg->ncells += f->ncells;
    if (!old_has(cf, key))
        reg->new_cells += f->ncells;
    size_zone(cf, reg);
    return m;

nomem:
    pc_conf_error(cf, "out of memory");
    return NULL;
}

/* Contract: see pc_metrics.h. */
pc_rc_t
pc_metrics_collector(pc_metric_family_t *f, pc_metrics_collect_pt fn)
{
    if (f == NULL || f->def->kind == PC_METRIC_HISTOGRAM)
        return PC_ERROR;
    f->collect = fn;
    return PC_OK;
}

/* Contract: see pc_metrics.h. */
void
pc_metrics_set_const(pc_metric_t *m, int64_t v)
{
    if (m != NULL)
        m->value = v;
}

/* ------------------------------------------------------------ mapping */

/* Give m its cells: the ones its key already has, or fresh ones, or the
 * sink when the zone is full. */
static void
place(zhdr_t *h, pc_metric_t *m, uint32_t ncells, bool *full)
{
    zkey_t *k = key_find(h, m->key);

    if (k->key == m->key && k->ncells == ncells) {
        m->cell = k->cell;
        return;
    }
    if (k->key == m->key || h->ncells + ncells > h->cells_cap || h->nkeys + 1 >= h->keys_cap) {
        /* another shape under the same key (a hash collision) or no room */
        m->cell = h->cells_cap;
        m->lost = 1;
        *full = true;
        return;
    }
    k->cell = h->ncells;
    k->ncells = (uint16_t) ncells;
    k->flags = is_gauge(m->family->def->kind) ? KEY_GAUGE : 0;
    __atomic_store_n(&k->key, m->key, __ATOMIC_RELEASE);
    h->ncells += ncells;
    h->nkeys++;
    m->cell = k->cell;
}

/*
 * A new zone replacing a smaller one (the configuration outgrew it)
 * starts from the old one's counters: each counter and histogram series
 * this configuration still has gets the sum of its old slots in slot 0,
 * so it counts on from where it was.  No worker writes the new zone yet.
 * What the old generation's workers count while they drain stays in the
 * old zone.
 */
static void
carry_over(zhdr_t *h, zhdr_t *old)
{
    zkey_t   *k = zkeys(old), *nk;
    uint64_t *dst = zslot(h, 0);
    uint32_t  j, i, c, hwm = pc_min(old->slots_hwm, old->nslots), n = 0;

    for (j = 0; j < old->keys_cap; j++) {
        if (k[j].key == 0 || (k[j].flags & KEY_GAUGE))
            continue;
        nk = key_find(h, k[j].key);
        if (nk->key != k[j].key || nk->ncells != k[j].ncells)
            continue;           /* a series of a past configuration */
        for (i = 0; i < hwm; i++) {
            const uint64_t *src = zslot(old, i) + k[j].cell;

            for (c = 0; c < k[j].ncells; c++)
                dst[nk->cell + c] += __atomic_load_n(&src[c], __ATOMIC_RELAXED);
        }
        n++;
    }
    if (h->slots_hwm == 0)
        h->slots_hwm = 1;
    pc_log(PC_LOG_NOTICE, 0, "metrics zone grown to %u cells per worker; "
           "%u series carried over", h->cells_cap, n);
}

/* pc_shm init: runs in the master after mapping (new or inherited zone). */
static pc_rc_t
zone_init(pc_shm_zone_t *zone, int reused)
{
    pc_metrics_t       *reg = zone->data;
    zhdr_t             *h = zone->addr;
    pc_metric_family_t *f;
    pc_metric_t        *m;
    bool                full = false;

    if (!reused || h->magic != ZONE_MAGIC || h->cells_cap != reg->cells_cap
        || h->nslots != reg->nslots)
    {
        memset(h, 0, sizeof(*h));
        h->cells_cap = reg->cells_cap;
        h->nslots = reg->nslots;
        h->keys_cap = 2 * reg->cells_cap;
        memset(zkeys(h), 0, (size_t) h->keys_cap * sizeof(zkey_t));
        memset(zowners(h), 0, (size_t) h->nslots * sizeof(zowner_t));
        h->magic = ZONE_MAGIC;
        if (reused)
            pc_log(PC_LOG_ALERT, 0, "metrics zone had an unexpected layout: reset");
    }
    for (f = reg->families; f != NULL; f = f->next) {
        for (m = f->series; m != NULL && f->ncells > 0; m = m->next)
            place(h, m, f->ncells, &full);
    }
    if (!reused && reg->carry != NULL)
        carry_over(h, reg->carry);
    reg->carry = NULL;          /* the old mapping may go any time now */
    if (full)
        pc_log(PC_LOG_WARN, 0, "metrics zone full (%u cells per worker): some series "
               "are not counted until the next reload or restart", h->cells_cap);
    reg->live = pc_pcalloc(reg->pool, reg->nslots);
    return reg->live != NULL ? PC_OK : PC_ERROR;
}

/* ------------------------------------------------------------- slots */

static bool
pid_alive(int32_t pid)
{
    if (pid <= 0)
        return false;
    if (pid == (int32_t) getpid())
        return true;
    return kill((pid_t) pid, 0) == 0 || errno == EPERM;
}

/* Zero every gauge cell of slot i (any generation's: the key table says
 * which cells are gauges). */
static void
zero_gauges(zhdr_t *h, uint32_t i)
{
    zkey_t   *k = zkeys(h);
    uint64_t *cells = zslot(h, i);
    uint32_t  j, c;

    for (j = 0; j < h->keys_cap; j++) {
        if (k[j].key == 0 || !(k[j].flags & KEY_GAUGE))
            continue;
        for (c = 0; c < k[j].ncells; c++)
            __atomic_store_n(&cells[k[j].cell + c], 0, __ATOMIC_RELAXED);
    }
}

/* Take slot i if it is free or its owner is dead (or it is already ours). */
static bool
claim(zhdr_t *h, uint32_t i, int32_t me)
{
    int32_t *pid = &zowners(h)[i].pid;
    int32_t  cur = __atomic_load_n(pid, __ATOMIC_ACQUIRE);
    uint32_t hwm;

    if (cur == me)
        return true;            /* ours already (another cycle, same zone) */
    if (cur != 0 && pid_alive(cur))
        return false;
    if (!__atomic_compare_exchange_n(pid, &cur, me, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return false;
    zero_gauges(h, i);
    hwm = __atomic_load_n(&h->slots_hwm, __ATOMIC_RELAXED);
    while (hwm < i + 1
           && !__atomic_compare_exchange_n(&h->slots_hwm, &hwm, i + 1, false,
                                           __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) { }
    return true;
}

/* Contract: see pc_metrics.h. */
pc_rc_t
pc_metrics_attach(pc_cycle_t *cycle, int worker_id)
{
    pc_metrics_t *reg = pc_metrics_of(cycle);
    zhdr_t       *h;
    int32_t       me = (int32_t) getpid();
    uint32_t      i, first;

    if (reg == NULL || reg->zone == NULL || (h = reg->zone->addr) == NULL)
        return PC_DECLINED;
    if (reg->slot != NULL
        && __atomic_load_n(&zowners(h)[reg->slot_index].pid, __ATOMIC_ACQUIRE) == me)
        return PC_OK;
    /* Not ours (a registry inherited through fork from a process that had
     * attached): claim one of our own. */
    reg->slot = NULL;
    reg->slot_index = -1;
    /* A slot this process already writes (the previous cycle of the same
     * zone) first, then the worker id's, then any free one. */
    for (first = 0; first < h->slots_hwm && first < h->nslots; first++) {
        if (__atomic_load_n(&zowners(h)[first].pid, __ATOMIC_ACQUIRE) == me)
            break;
    }
    if (first >= h->slots_hwm || first >= h->nslots)
        first = worker_id >= 0 ? (uint32_t) worker_id % h->nslots : 0;
    for (i = 0; i <= h->nslots; i++) {
        uint32_t s = i == 0 ? first : i - 1;

        if (claim(h, s, me)) {
            reg->slot_index = (int) s;
            reg->slot = zslot(h, s);
            return PC_OK;
        }
    }
    pc_log(PC_LOG_ALERT, 0, "metrics: all %u worker slots are taken; this worker "
           "is not counted", h->nslots);
    return PC_ERROR;
}

/* Contract: see pc_metrics.h. */
void
pc_metrics_detach(pc_cycle_t *cycle)
{
    pc_metrics_t *reg = pc_metrics_of(cycle);
    zhdr_t       *h;

    if (reg == NULL || reg->slot == NULL || (h = reg->zone->addr) == NULL)
        return;
    zero_gauges(h, (uint32_t) reg->slot_index);
    __atomic_store_n(&zowners(h)[reg->slot_index].pid, 0, __ATOMIC_RELEASE);
    reg->slot = NULL;
    reg->slot_index = -1;
}

/* ------------------------------------------------------------ reading */

/* Contract: see pc_metrics.h. */
void
pc_metrics_scan(pc_metrics_t *reg)
{
    zhdr_t  *h;
    uint32_t i, hwm;

    if (reg == NULL || reg->zone == NULL || (h = reg->zone->addr) == NULL || reg->live == NULL)
        return;
    hwm = pc_min(__atomic_load_n(&h->slots_hwm, __ATOMIC_ACQUIRE), h->nslots);
    for (i = 0; i < hwm; i++)
        reg->live[i] = pid_alive(__atomic_load_n(&zowners(h)[i].pid, __ATOMIC_ACQUIRE));
}

/* Contract: see pc_metrics.h. */
uint32_t
pc_metrics_read(const pc_metric_t *m, uint64_t *out)
{
    const pc_metric_family_t *f = m->family;
    pc_metric_kind_e          kind = f->def->kind;
    zhdr_t                   *h = m->reg->zone != NULL ? m->reg->zone->addr : NULL;
    uint32_t                  i, c, hwm;
    int64_t                   v, best;
    bool                      any = false;

    if (kind == PC_METRIC_GAUGE_CONST) {
        out[0] = (uint64_t) m->value;
        return 1;
    }
    if (h == NULL || m->lost || m->cell == UINT32_MAX)
        return 0;
    hwm = pc_min(__atomic_load_n(&h->slots_hwm, __ATOMIC_ACQUIRE), h->nslots);
    memset(out, 0, f->ncells * sizeof(uint64_t));
    best = 0;
    for (i = 0; i < hwm; i++) {
        const uint64_t *cells = zslot(h, i) + m->cell;

        if (kind == PC_METRIC_COUNTER || kind == PC_METRIC_HISTOGRAM) {
            for (c = 0; c < f->ncells; c++)
                out[c] += __atomic_load_n(&cells[c], __ATOMIC_RELAXED);
            continue;
        }
        if (m->reg->live == NULL || !m->reg->live[i])
            continue;
        v = (int64_t) __atomic_load_n(&cells[0], __ATOMIC_RELAXED);
        if (kind == PC_METRIC_GAUGE)
            best += v;
        else if (!any || v > best)
            best = v;
        any = true;
    }
    if (kind == PC_METRIC_GAUGE || kind == PC_METRIC_GAUGE_MAX)
        out[0] = (uint64_t) best;
    return f->ncells;
}
