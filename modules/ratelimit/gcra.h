/*
 * gcra.h -- the Generic Cell Rate Algorithm, pure: no memory, no clock, no
 * locks.  One number of state per key, the theoretical arrival time (TAT):
 * the moment the key's bucket would be empty again if nothing else came.
 *
 * Semantics are nginx's limit_req, expressed in time instead of "excess":
 *   T     = 1 / rate (the emission interval)
 *   tau   = burst * T (how far ahead of the schedule a key may run)
 *   excess = max(TAT, now) - now, before this request
 *   excess > tau            → rejected, state unchanged
 *   else admitted: TAT = max(TAT, now) + T, and delayed by
 *   excess - free when that is positive (free = tau with nodelay,
 *   delay * T with delay=N, 0 by default).
 * nginx's excess in requests is exactly excess / T, so the same traffic gets
 * the same answers (doc/modules/ratelimit.md).
 *
 * Times are int64_t nanoseconds of one clock chosen by the caller
 * (CLOCK_MONOTONIC: shared by every process of the host).
 */
#ifndef PC_GCRA_H
#define PC_GCRA_H

#include "core/pc_types.h"

#define PC_GCRA_NS_PER_SEC   1000000000LL
#define PC_GCRA_RATE_MAX     1000000      /* requests per second or minute */
#define PC_GCRA_BURST_MAX    1000000

typedef struct {
    int64_t     interval;   /* T: ns between two requests at the rate (> 0) */
    int64_t     tau;        /* burst * T                                   */
    int64_t     free;       /* excess admitted without delay (<= tau)      */
} pc_gcra_t;

typedef enum {
    PC_GCRA_PASS = 0,
    PC_GCRA_DELAY,
    PC_GCRA_REJECT
} pc_gcra_decision_e;

typedef struct {
    pc_gcra_decision_e  decision;
    int64_t             delay;        /* DELAY: ns to wait before serving    */
    int64_t             retry_after;  /* REJECT: ns until one would pass     */
    int64_t             reset;        /* ns until the bucket is full again   */
    int64_t             remaining;    /* requests admissible right after this */
} pc_gcra_verdict_t;

/*
 * Set g from an interval (ns, > 0), a burst (0..PC_GCRA_BURST_MAX), a delay
 * threshold in requests (clamped to burst) and nodelay (the threshold is
 * then the whole burst).  PC_OK, or PC_ERROR when a value is out of range.
 */
pc_rc_t pc_gcra_init(pc_gcra_t *g, int64_t interval, int64_t burst,
    int64_t delay, bool nodelay);

/*
 * Decide for one request at now, given the key's stored TAT (0 or anything
 * in the past for a key with no debt).  Fills *v; on admission *tat gets
 * the new TAT, on rejection it is left alone (a rejected request costs
 * nothing, as in nginx).  Pure and total for g from pc_gcra_init.
 */
void pc_gcra_decide(const pc_gcra_t *g, int64_t *tat, int64_t now,
    pc_gcra_verdict_t *v);

/*
 * Parse a rate "Nr/s" or "Nr/m" (N decimal, 1..PC_GCRA_RATE_MAX) into the
 * emission interval in ns.  Rejects empty input, a sign, other units,
 * trailing bytes and overflow.  PC_OK / PC_ERROR.
 */
pc_rc_t pc_gcra_parse_rate(const u_char *s, size_t len, int64_t *interval);

/*
 * The quota policy that describes g in the IETF RateLimit-Policy field:
 * window *w in seconds = the time an empty bucket takes to refill, at least
 * 1; quota *q = what the policy admits per window at the steady rate, never
 * less than the bucket (burst + 1).  10r/s → q=10 w=1; 1r/m burst=2 →
 * q=3 w=180.
 */
void pc_gcra_policy(const pc_gcra_t *g, int64_t *q, int64_t *w);

/* ns rounded up to whole seconds (0 for ns <= 0): Retry-After, t=. */
int64_t pc_gcra_ceil_sec(int64_t ns);

#endif /* PC_GCRA_H */
