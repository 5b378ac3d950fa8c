/*
 * ratelimit_stats.c -- the ratelimit module's numbers for the outside: the
 * per-zone counters (pc_ratelimit_stats, see ratelimit_stats.h) and their
 * export as Prometheus families through the metrics registry
 * (core/pc_metrics.h): the counters live in the module's own zones, where
 * they survive reloads, so the registry gets collectors that read them at
 * scrape time instead of cells of its own.
 *
 *   portcullis_ratelimit_decisions_total{zone,decision}   SPEC §7
 *       decision: passed delayed rejected rejected_dry_run delayed_dry_run
 *       (limit_conn zones: passed rejected)
 *   portcullis_ratelimit_zone_events_total{zone,event}
 *       event: evicted expired full recovered
 *   portcullis_ratelimit_zone_keys{zone,state}            gauge
 *       state: used capacity
 */
#include <string.h>

#include "core/pc_metrics.h"
#include "core/pc_shm.h"
#include "ratelimit/ratelimit.h"
#include "ratelimit/ratelimit_stats.h"

/* Contract: see ratelimit_stats.h. */
pc_rc_t
pc_ratelimit_stats(pc_cycle_t *cycle, uint32_t n, pc_ratelimit_stats_t *out)
{
    pc_rl_main_conf_t *mcf;
    pc_rl_zone_t     **zones;
    pc_rlz_t          *z;
    uint64_t           c[PC_RLZ_COUNTERS];

    if (cycle == NULL || cycle->main_confs == NULL)
        return PC_DECLINED;
    mcf = pc_cycle_main_conf(cycle, pc_ratelimit_module);
    if (mcf == NULL || n >= mcf->zones.nelts)
        return PC_DECLINED;
    zones = mcf->zones.elts;
    z = pc_rlz_attach(zones[n]->shm->addr, zones[n]->shm->size, zones[n]->kind);
    if (z == NULL)
        return PC_DECLINED;
    pc_rlz_counters(z, c);
    out->zone = zones[n]->name;
    out->kind = zones[n]->kind == PC_RLZ_KIND_REQ ? "limit_req" : "limit_conn";
    out->passed = c[PC_RLZ_PASSED];
    out->delayed = c[PC_RLZ_DELAYED];
    out->rejected = c[PC_RLZ_REJECTED];
    out->rejected_dry_run = c[PC_RLZ_REJECTED_DRY_RUN];
    out->delayed_dry_run = c[PC_RLZ_DELAYED_DRY_RUN];
    out->evicted = c[PC_RLZ_EVICTED];
    out->expired = c[PC_RLZ_EXPIRED];
    out->full = c[PC_RLZ_FULL];
    out->recovered = c[PC_RLZ_RECOVERED];
    out->keys = pc_rlz_used(z);
    out->capacity = pc_rlz_capacity(z);
    return PC_OK;
}

/* ------------------------------------------------------------ metrics */

static const char *const decision_labels[] = { "zone", "decision", NULL };
static const char *const event_labels[] = { "zone", "event", NULL };
static const char *const keys_labels[] = { "zone", "state", NULL };

static const pc_metric_def_t decisions_def = {
    "ratelimit_decisions_total", "Rate-limit decisions, by zone and decision.",
    PC_METRIC_COUNTER, decision_labels, NULL, 0, 0
};
static const pc_metric_def_t events_def = {
    "ratelimit_zone_events_total", "Rate-limit zone events: evicted (a key's live "
    "state dropped, zone full), expired (idle key reclaimed), full (limit_conn "
    "refused a new key), recovered (keys reset after a worker crash).",
    PC_METRIC_COUNTER, event_labels, NULL, 0, 0
};
static const pc_metric_def_t keys_def = {
    "ratelimit_zone_keys", "Keys in a rate-limit zone (used) and how many fit (capacity).",
    PC_METRIC_GAUGE, keys_labels, NULL, 0, 0
};

/* One sample of a family: its label value, where the number is in
 * pc_ratelimit_stats_t, and which zone kinds have it. */
typedef struct {
    const char  *name;
    size_t       offset;
    unsigned     kinds;          /* KIND_REQ | KIND_CONN */
} rl_sample_t;

#define KIND_REQ   1u
#define KIND_CONN  2u
#define S(n, f, k)  { n, offsetof(pc_ratelimit_stats_t, f), k }

static const rl_sample_t decision_samples[] = {
    S("passed", passed, KIND_REQ | KIND_CONN),
    S("delayed", delayed, KIND_REQ),
    S("rejected", rejected, KIND_REQ | KIND_CONN),
    S("rejected_dry_run", rejected_dry_run, KIND_REQ),
    S("delayed_dry_run", delayed_dry_run, KIND_REQ),
    { NULL, 0, 0 }
};
static const rl_sample_t event_samples[] = {
    S("evicted", evicted, KIND_REQ),
    S("expired", expired, KIND_REQ),
    S("full", full, KIND_CONN),
    S("recovered", recovered, KIND_REQ | KIND_CONN),
    { NULL, 0, 0 }
};
static const rl_sample_t keys_samples[] = {
    S("used", keys, KIND_REQ | KIND_CONN),
    S("capacity", capacity, KIND_REQ | KIND_CONN),
    { NULL, 0, 0 }
};

/* Emit the samples of table for every mapped zone of cycle. */
static void
emit_all(pc_cycle_t *cycle, const rl_sample_t *table, pc_metrics_emit_pt emit, void *ctx)
{
    pc_rl_main_conf_t   *mcf = pc_cycle_main_conf(cycle, pc_ratelimit_module);
    pc_ratelimit_stats_t st;
    const rl_sample_t   *s;
    pc_str_t             v[2];
    unsigned             kind;
    uint32_t             n;

    for (n = 0; mcf != NULL && n < mcf->zones.nelts; n++) {
        if (pc_ratelimit_stats(cycle, n, &st) != PC_OK)
            continue;
        kind = strcmp(st.kind, "limit_req") == 0 ? KIND_REQ : KIND_CONN;
        v[0] = st.zone;
        for (s = table; s->name != NULL; s++) {
            if (!(s->kinds & kind))
                continue;
            v[1].data = (u_char *) s->name;
            v[1].len = strlen(s->name);
            emit(ctx, v, *(const uint64_t *) ((const u_char *) &st + s->offset));
        }
    }
}

static void
collect_decisions(pc_cycle_t *cycle, const pc_metric_family_t *f,
    pc_metrics_emit_pt emit, void *ctx)
{
    PC_UNUSED(f);
    emit_all(cycle, decision_samples, emit, ctx);
}

static void
collect_events(pc_cycle_t *cycle, const pc_metric_family_t *f,
    pc_metrics_emit_pt emit, void *ctx)
{
    PC_UNUSED(f);
    emit_all(cycle, event_samples, emit, ctx);
}

static void
collect_keys(pc_cycle_t *cycle, const pc_metric_family_t *f,
    pc_metrics_emit_pt emit, void *ctx)
{
    PC_UNUSED(f);
    emit_all(cycle, keys_samples, emit, ctx);
}

/* Contract: see ratelimit_stats.h. */
pc_rc_t
pc_ratelimit_metrics_declare(pc_conf_t *cf)
{
    pc_metric_family_t *f;

    if ((f = pc_metrics_family(cf, &decisions_def)) == NULL
        || pc_metrics_collector(f, collect_decisions) != PC_OK
        || (f = pc_metrics_family(cf, &events_def)) == NULL
        || pc_metrics_collector(f, collect_events) != PC_OK
        || (f = pc_metrics_family(cf, &keys_def)) == NULL
        || pc_metrics_collector(f, collect_keys) != PC_OK)
    {
        return PC_ERROR;
    }
    return PC_OK;
}
