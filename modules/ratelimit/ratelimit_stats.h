/*
 * ratelimit_stats.h -- what the ratelimit module exports for metrics
 * (SPEC §7 ratelimit_decisions_total{zone,decision}): per-zone counters
 * summed over every worker, read from shared memory without a lock, so
 * they survive reloads with the zone.  The status module gets them through
 * the metrics registry (pc_ratelimit_metrics_declare); pc_ratelimit_stats
 * is the same data for any other reader.  Documented in
 * doc/modules/ratelimit.md.
 */
#ifndef PC_RATELIMIT_STATS_H
#define PC_RATELIMIT_STATS_H

#include "core/pc_core.h"

typedef struct {
    pc_str_t     zone;              /* zone name                                */
    const char  *kind;              /* "limit_req" or "limit_conn"              */
    /* decisions (limit_conn uses passed and rejected only) */
    uint64_t     passed;
    uint64_t     delayed;
    uint64_t     rejected;
    uint64_t     rejected_dry_run;
    uint64_t     delayed_dry_run;
    /* zone events */
    uint64_t     evicted;           /* live limit_req state dropped (zone full) */
    uint64_t     expired;           /* idle keys reclaimed                      */
    uint64_t     full;              /* limit_conn requests refused: zone full   */
    uint64_t     recovered;         /* stripes reset after a worker crash       */
    uint64_t     keys;              /* keys in use now                          */
    uint64_t     capacity;          /* keys that fit                            */
} pc_ratelimit_stats_t;

/*
 * Fill *out for the n-th zone (declaration order, limit_req_zone and
 * limit_conn_zone together) of cycle.  PC_OK; PC_DECLINED when there is no
 * such zone or it is not mapped (e.g. under -t).  Lock-free: counters are
 * read with relaxed atomic loads; keys is a snapshot.
 */
pc_rc_t pc_ratelimit_stats(pc_cycle_t *cycle, uint32_t n, pc_ratelimit_stats_t *out);

/*
 * Declare the module's metric families in the registry of cf's cycle
 * (core/pc_metrics.h), each with a collector that reads the zones at
 * scrape time: ratelimit_decisions_total{zone,decision},
 * ratelimit_zone_events_total{zone,event}, ratelimit_zone_keys{zone,state}.
 * Called by init_conf when the configuration has zones.  PC_OK, or
 * PC_ERROR after pc_conf_error.
 */
pc_rc_t pc_ratelimit_metrics_declare(pc_conf_t *cf);

#endif /* PC_RATELIMIT_STATS_H */
