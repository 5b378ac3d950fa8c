/*
 * gcra.c -- GCRA decisions, rate parsing and the RateLimit-Policy numbers.
 * Pure functions: the zone (ratelimit_zone.c) keeps the state and the lock,
 * the caller brings the clock.  See gcra.h for the semantics.
 */
#include "core/pc_core.h"
#include "ratelimit/gcra.h"

/* Contract: see gcra.h. */
pc_rc_t
pc_gcra_init(pc_gcra_t *g, int64_t interval, int64_t burst, int64_t delay,
    bool nodelay)
{
    /* interval <= 60 s and burst <= 1e6: tau stays below 2^63. */
    if (interval <= 0 || interval > 60 * PC_GCRA_NS_PER_SEC || burst < 0
        || burst > PC_GCRA_BURST_MAX || delay < 0)
    {
        return PC_ERROR;
    }
    if (nodelay || delay > burst)
        delay = burst;
    g->interval = interval;
    g->tau = burst * interval;
    g->free = delay * interval;
    return PC_OK;
}

/* Contract: see gcra.h. */
void
pc_gcra_decide(const pc_gcra_t *g, int64_t *tat, int64_t now,
    pc_gcra_verdict_t *v)
{
    int64_t start = *tat > now ? *tat : now;
    int64_t excess = start - now;

    if (excess > g->tau) {
        v->decision = PC_GCRA_REJECT;
        v->delay = 0;
        v->retry_after = excess - g->tau;
        v->reset = excess;
        v->remaining = 0;
        return;
    }
    *tat = start + g->interval;
    v->delay = excess > g->free ? excess - g->free : 0;
    v->decision = v->delay > 0 ? PC_GCRA_DELAY : PC_GCRA_PASS;
    v->retry_after = 0;
    v->reset = *tat - now;
    /* The next request sees excess + T: k more fit while excess + k*T <= tau. */
    v->remaining = (g->tau - excess) / g->interval;
}

/* Contract: see gcra.h. */
pc_rc_t
pc_gcra_parse_rate(const u_char *s, size_t len, int64_t *interval)
{
    uint64_t n = 0;
    size_t   i = 0;
    int64_t  unit;

    while (i < len && s[i] >= '0' && s[i] <= '9') {
        n = n * 10 + (uint64_t) (s[i] - '0');
        if (n > PC_GCRA_RATE_MAX)
            return PC_ERROR;
        i++;
    }
    if (i == 0 || n == 0 || len - i != 3 || s[i] != 'r' || s[i + 1] != '/')
        return PC_ERROR;
    if (s[i + 2] == 's')
        unit = PC_GCRA_NS_PER_SEC;
    else if (s[i + 2] == 'm')
        unit = 60 * PC_GCRA_NS_PER_SEC;
    else
        return PC_ERROR;
    *interval = unit / (int64_t) n;
    return PC_OK;
}

/* Contract: see gcra.h. */
int64_t
pc_gcra_ceil_sec(int64_t ns)
{
    if (ns <= 0)
        return 0;
    return (ns + PC_GCRA_NS_PER_SEC - 1) / PC_GCRA_NS_PER_SEC;
}

/* Contract: see gcra.h. */
void
pc_gcra_policy(const pc_gcra_t *g, int64_t *q, int64_t *w)
{
    int64_t bucket = g->tau / g->interval + 1;
    int64_t window = pc_gcra_ceil_sec(g->tau + g->interval);
    int64_t steady;

    if (window < 1)
        window = 1;
    steady = window * PC_GCRA_NS_PER_SEC / g->interval;
    *w = window;
    *q = steady > bucket ? steady : bucket;
}
