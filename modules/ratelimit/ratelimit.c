/*
 * ratelimit.c -- the ratelimit module at request time: the limit_req and
 * limit_conn ACCESS hooks, the header filter that writes Retry-After and
 * the IETF RateLimit-Policy / RateLimit fields, and $limit_req_status /
 * $limit_conn_status.
 *
 * Why it looks like this:
 * - Every limit of the location is checked (nginx): the request is
 *   admitted only if all admit it.  A rejection gives back what the
 *   earlier limits took, so a request refused by one zone costs nothing in
 *   the others.  The longest delay of all wins.
 * - A delayed request is parked on an ev_timer (PC_AGAIN) and resumed at
 *   the next hook; the loop never waits.  The timer is stopped by a pool
 *   cleanup, so a client that goes away takes its timer with it.
 * - Decisions go through the zone's pc_rl_store_ops_t, never to the
 *   shared-memory layout directly (SPEC [W2]: another store can decide).
 * - Counters go to this worker's slot of the zone; "zone is full" warnings
 *   are rate-limited across all workers through the zone itself.
 */
#include <string.h>

#include "core/pc_shm.h"
#include "event/pc_worker.h"
#include "ratelimit/ratelimit.h"

#define RL_WARN_EVERY   (5 * PC_GCRA_NS_PER_SEC)

/* What one limit_req decided for this request. */
typedef struct {
    pc_rlz_key_t         key;
    pc_str_t             text;
    pc_gcra_verdict_t    v;
    unsigned             done:1;      /* evaluated and kept (not refunded) */
} rl_res_t;

typedef struct {
    pc_http_request_t   *r;
    ev_timer             timer;       /* delay                            */
    pc_rl_status_e       req_status;
    pc_rl_status_e       conn_status;
    int64_t              retry_after; /* ns, when limit_req rejected      */
    rl_res_t            *res;         /* one per limit of `limits`        */
    const pc_array_t    *limits;
    unsigned             timer_on:1;
} rl_ctx_t;

/* A limit_conn slot held until the request's pool goes. */
typedef struct {
    const pc_rl_zone_t  *zone;
    pc_rlz_key_t         key;
} rl_hold_t;

static const pc_str_t retry_after_name = pc_string("Retry-After");
static const pc_str_t policy_name = pc_string("RateLimit-Policy");
static const pc_str_t ratelimit_name = pc_string("RateLimit");

static unsigned
slot(void)
{
    return pc_worker != NULL && pc_worker->id > 0 ? (unsigned) pc_worker->id : 0;
}

static void
stop_timer(void *data)
{
    rl_ctx_t *ctx = data;

    if (ctx->timer_on && pc_worker != NULL && pc_worker->loop != NULL)
        ev_timer_stop(pc_worker->loop, &ctx->timer);
    ctx->timer_on = 0;
}

static rl_ctx_t *
ctx_get(pc_http_request_t *r)
{
    rl_ctx_t *ctx = r->ctx[pc_ratelimit_module.index];

    if (ctx != NULL)
        return ctx;
    ctx = pc_pcalloc(r->pool, sizeof(*ctx));
    if (ctx == NULL || pc_pool_cleanup_add(r->pool, stop_timer, ctx) != PC_OK)
        return NULL;
    ctx->r = r;
    r->ctx[pc_ratelimit_module.index] = ctx;
    return ctx;
}

/* Count ev's events; log the ones an operator must hear about. */
static void
note_events(const pc_rl_zone_t *zone, pc_rlz_t *z, unsigned ev, int64_t now)
{
    uint64_t c[PC_RLZ_COUNTERS];

    if (ev & PC_RLZ_EV_EXPIRED)
        pc_rlz_count(z, slot(), PC_RLZ_EXPIRED);
    if (ev & PC_RLZ_EV_RECOVERED) {
        pc_rlz_count(z, slot(), PC_RLZ_RECOVERED);
        pc_log(PC_LOG_ALERT, 0, "zone \"%.*s\": a process died holding a lock; "
               "the keys of one stripe were reset", (int) zone->name.len,
               (const char *) zone->name.data);
    }
    if (ev & PC_RLZ_EV_EVICTED) {
        pc_rlz_count(z, slot(), PC_RLZ_EVICTED);
        if (pc_rlz_warn_due(z, now, RL_WARN_EVERY)) {
            pc_rlz_counters(z, c);
            pc_log(PC_LOG_WARN, 0, "limit_req zone \"%.*s\" is full: the least "
                   "recently used keys lose their state (%llu evicted so far, %u "
                   "keys fit); consider a larger zone", (int) zone->name.len,
                   (const char *) zone->name.data,
                   (unsigned long long) c[PC_RLZ_EVICTED], pc_rlz_capacity(z));
        }
    }
}

/* Evaluate zone's key for r: PC_OK with *text, PC_DECLINED when empty
 * (not limited, as in nginx), PC_ERROR. */
static pc_rc_t
eval_key(pc_http_request_t *r, const pc_rl_zone_t *zone, pc_str_t *text)
{
    if (zone->shm->addr == NULL || pc_http_template_eval(r, zone->key, text) != PC_OK)
        return PC_ERROR;
    return text->len == 0 ? PC_DECLINED : PC_OK;
}

/* One limit_req: PC_OK (res filled), PC_DECLINED (empty key), PC_ERROR. */
static pc_rc_t
take_one(pc_http_request_t *r, const pc_rl_limit_t *lim, int64_t now, rl_res_t *res)
{
    const pc_rl_zone_t *zone = lim->zone;
    pc_rlz_t           *z = zone->shm->addr;
    unsigned            ev = 0;
    pc_rc_t             rc;

    if ((rc = eval_key(r, zone, &res->text)) != PC_OK)
        return rc;
    pc_rlz_key(z, res->text.data, res->text.len, &res->key);
    if (zone->ops->take(z, &res->text, &res->key, &lim->gcra, now, &res->v, &ev)
        != PC_OK)
    {
        pc_log(PC_LOG_ALERT, 0, "limit_req zone \"%.*s\": lock unusable",
               (int) zone->name.len, (const char *) zone->name.data);
        return PC_ERROR;
    }
    note_events(zone, z, ev, now);
    res->done = 1;
    return PC_OK;
}

/* Limit i rejected r: undo the earlier admissions, count, answer. */
static pc_rc_t
reject(pc_http_request_t *r, const pc_rl_loc_conf_t *lcf, rl_ctx_t *ctx, uint32_t i)
{
    pc_rl_limit_t **lim = ctx->limits->elts;
    uint32_t        j;

    for (j = 0; j < i; j++) {
        if (!ctx->res[j].done)
            continue;
        lim[j]->zone->ops->refund(lim[j]->zone->shm->addr, &ctx->res[j].text,
                                  &ctx->res[j].key, &lim[j]->gcra);
        ctx->res[j].done = 0;
    }
    pc_rlz_count(lim[i]->zone->shm->addr, slot(),
                 lcf->dry_run ? PC_RLZ_REJECTED_DRY_RUN : PC_RLZ_REJECTED);
    if (lcf->dry_run) {
        ctx->req_status = PC_RL_REJECTED_DRY_RUN;
        return PC_DECLINED;
    }
    ctx->req_status = PC_RL_REJECTED;
    ctx->retry_after = ctx->res[i].v.retry_after;
    r->error_reason = lim[i]->zone->reason;
    return (pc_rc_t) lcf->status;
}

static void
on_delay(struct ev_loop *loop, ev_timer *w, int revents)
{
    rl_ctx_t *ctx = w->data;

    PC_UNUSED(loop);
    PC_UNUSED(revents);
    ctx->timer_on = 0;
    pc_http_phase_resume(ctx->r);      /* at the hook after limit_req */
}

/* Every limit admitted r: count, then pass or park for the longest delay. */
static pc_rc_t
admit(const pc_rl_loc_conf_t *lcf, rl_ctx_t *ctx, int64_t delay)
{
    pc_rl_limit_t **lim = ctx->limits->elts;
    bool            any = false;
    uint32_t        i;

    for (i = 0; i < ctx->limits->nelts; i++) {
        if (!ctx->res[i].done)
            continue;
        any = true;
        pc_rlz_count(lim[i]->zone->shm->addr, slot(),
                     ctx->res[i].v.delay == 0 ? PC_RLZ_PASSED
                     : lcf->dry_run ? PC_RLZ_DELAYED_DRY_RUN : PC_RLZ_DELAYED);
    }
    if (!any)
        return PC_DECLINED;
    if (delay == 0) {
        ctx->req_status = PC_RL_PASSED;
        return PC_DECLINED;
    }
    if (lcf->dry_run) {
        ctx->req_status = PC_RL_DELAYED_DRY_RUN;
        return PC_DECLINED;
    }
    ctx->req_status = PC_RL_DELAYED;
    ev_timer_init(&ctx->timer, on_delay, (double) delay / PC_GCRA_NS_PER_SEC, 0.);
    ctx->timer.data = ctx;
    ev_timer_start(pc_worker->loop, &ctx->timer);
    ctx->timer_on = 1;
    return PC_AGAIN;
}

/*
 * Contract: ACCESS hook for limit_req.  Checks every limit_req in force for
 * r; PC_DECLINED when r may go on now (or is not limited), PC_AGAIN when it
 * is parked for a delay (resumed at the next hook by its timer), the
 * limit_req_status when rejected (Retry-After is added by the header
 * filter), PC_ERROR when a zone is unusable or memory runs out.
 */
pc_rc_t
pc_rl_req_handler(pc_http_request_t *r)
{
    pc_rl_loc_conf_t *lcf = pc_http_conf(r, pc_ratelimit_module);
    pc_rl_limit_t   **lim;
    rl_ctx_t         *ctx;
    int64_t           now, delay = 0;
    uint32_t          i, n;
    pc_rc_t           rc;

    if (lcf == NULL || lcf->limits == NULL || lcf->limits->nelts == 0)
        return PC_DECLINED;
    n = lcf->limits->nelts;
    lim = lcf->limits->elts;
    if ((ctx = ctx_get(r)) == NULL
        || (ctx->res = pc_pcalloc(r->pool, n * sizeof(rl_res_t))) == NULL)
    {
        return PC_ERROR;
    }
    ctx->limits = lcf->limits;
    now = pc_rlz_now();
    for (i = 0; i < n; i++) {
        rc = take_one(r, lim[i], now, &ctx->res[i]);
        if (rc == PC_DECLINED)
            continue;
        if (rc != PC_OK)
            return PC_ERROR;
        if (ctx->res[i].v.decision == PC_GCRA_REJECT)
            return reject(r, lcf, ctx, i);
        if (ctx->res[i].v.delay > delay)
            delay = ctx->res[i].v.delay;
    }
    return admit(lcf, ctx, delay);
}

/* ------------------------------------------------------------------ */
/* limit_conn                                                          */

static void
release_hold(void *data)
{
    rl_hold_t *h = data;

    h->zone->ops->release(h->zone->shm->addr, &h->key);
}

/* Take one slot of lc for r: PC_OK, PC_DECLINED (empty key), PC_BUSY (at
 * the limit or the zone is full), PC_ERROR. */
static pc_rc_t
acquire_one(pc_http_request_t *r, const pc_rl_conn_t *lc)
{
    const pc_rl_zone_t *zone = lc->zone;
    pc_rlz_t           *z = zone->shm->addr;
    rl_hold_t          *h;
    pc_str_t            text;
    unsigned            ev = 0;
    pc_rc_t             rc;

    if ((rc = eval_key(r, zone, &text)) != PC_OK)
        return rc;
    if ((h = pc_palloc(r->pool, sizeof(*h))) == NULL)
        return PC_ERROR;
    h->zone = zone;
    pc_rlz_key(z, text.data, text.len, &h->key);
    rc = zone->ops->acquire(z, &text, &h->key, lc->max, &ev);
    note_events(zone, z, ev, 0);
    if (rc == PC_OK) {
        if (pc_pool_cleanup_add(r->pool, release_hold, h) == PC_OK)
            return PC_OK;
        release_hold(h);
        return PC_ERROR;
    }
    if (rc == PC_DECLINED) {
        /* Refusing is the only safe answer: the limit cannot be counted. */
        pc_rlz_count(z, slot(), PC_RLZ_FULL);
        if (pc_rlz_warn_due(z, pc_rlz_now(), RL_WARN_EVERY))
            pc_log(PC_LOG_WARN, 0, "limit_conn zone \"%.*s\" is full (%u keys): "
                   "requests of new keys are refused; consider a larger zone",
                   (int) zone->name.len, (const char *) zone->name.data,
                   pc_rlz_capacity(z));
        return PC_BUSY;
    }
    if (rc == PC_BUSY)
        return PC_BUSY;
    pc_log(PC_LOG_ALERT, 0, "limit_conn zone \"%.*s\": lock unusable",
           (int) zone->name.len, (const char *) zone->name.data);
    return PC_ERROR;
}

/*
 * Contract: ACCESS hook for limit_conn.  Counts r in every limit_conn zone
 * in force (released by a pool cleanup when the request ends);
 * PC_DECLINED when r may go on, the limit_conn_status when a key is at
 * its limit or a zone is full, PC_ERROR on a broken zone or ENOMEM.
 */
pc_rc_t
pc_rl_conn_handler(pc_http_request_t *r)
{
    pc_rl_loc_conf_t *lcf = pc_http_conf(r, pc_ratelimit_module);
    pc_rl_conn_t    **lc;
    rl_ctx_t         *ctx;
    uint32_t          i;
    pc_rc_t           rc;

    if (lcf == NULL || lcf->conns == NULL || lcf->conns->nelts == 0)
        return PC_DECLINED;
    if ((ctx = ctx_get(r)) == NULL)
        return PC_ERROR;
    lc = lcf->conns->elts;
    for (i = 0; i < lcf->conns->nelts; i++) {
        rc = acquire_one(r, lc[i]);
        if (rc == PC_DECLINED)
            continue;
        if (rc == PC_ERROR)
            return PC_ERROR;
        if (rc == PC_BUSY) {
            pc_rlz_count(lc[i]->zone->shm->addr, slot(), PC_RLZ_REJECTED);
            ctx->conn_status = PC_RL_REJECTED;
            r->error_reason = lc[i]->zone->reason;
            return (pc_rc_t) lcf->conn_status;
        }
        pc_rlz_count(lc[i]->zone->shm->addr, slot(), PC_RLZ_PASSED);
        ctx->conn_status = PC_RL_PASSED;
    }
    return PC_DECLINED;
}

/* ------------------------------------------------------------------ */
/* Response header fields                                              */

/* Join the policies and the current state of every limit that decided. */
static pc_rc_t
add_ratelimit_fields(pc_http_request_t *r, rl_ctx_t *ctx)
{
    pc_rl_limit_t **lim = ctx->limits->elts;
    size_t          plen = 0, slen = 0;
    u_char         *pol, *st, *p, *s;
    uint32_t        i;
    pc_str_t        v;

    for (i = 0; i < ctx->limits->nelts; i++) {
        if (ctx->res[i].done) {
            plen += lim[i]->policy.len + 2;
            slen += lim[i]->zone->name.len + 2 + 2 * (3 + 20) + 2;
        }
    }
    if (plen == 0)
        return PC_OK;
    if ((pol = pc_pnalloc(r->pool, plen)) == NULL || (st = pc_pnalloc(r->pool, slen)) == NULL)
        return PC_ERROR;
    for (i = 0, p = pol, s = st; i < ctx->limits->nelts; i++) {
        const rl_res_t *res = &ctx->res[i];

        if (!res->done)
            continue;
        if (p != pol) {
            p = pc_cpymem(p, ", ", 2);
            s = pc_cpymem(s, ", ", 2);
        }
        p = pc_cpymem(p, lim[i]->policy.data, lim[i]->policy.len);
        *s++ = '"';
        s = pc_cpymem(s, lim[i]->zone->name.data, lim[i]->zone->name.len);
        s = pc_cpymem(s, "\";r=", 4);
        s = pc_u64toa(s, (uint64_t) res->v.remaining);
        s = pc_cpymem(s, ";t=", 3);
        s = pc_u64toa(s, (uint64_t) pc_gcra_ceil_sec(res->v.reset));
    }
    v = (pc_str_t) { (size_t) (p - pol), pol };
    if (pc_http_header_out_add(r, &policy_name, &v) != PC_OK)
        return PC_ERROR;
    v = (pc_str_t) { (size_t) (s - st), st };
    return pc_http_header_out_add(r, &ratelimit_name, &v);
}

/*
 * Contract: header filter.  On a response to a request that limit_req
 * rejected: Retry-After (whole seconds, rounded up, at least 1); that
 * limit_conn rejected: Retry-After 1 (a slot frees when some request
 * ends: nobody knows when, and a second is a fair guess).  With
 * limit_req_headers on (and not in dry run): RateLimit-Policy and RateLimit
 * (draft-ietf-httpapi-ratelimit-headers structured fields) for every limit
 * that decided, on every response.  PC_OK, or PC_ERROR on ENOMEM.
 */
pc_rc_t
pc_rl_header_filter(pc_http_request_t *r)
{
    rl_ctx_t               *ctx = r->ctx != NULL ? r->ctx[pc_ratelimit_module.index] : NULL;
    const pc_rl_loc_conf_t *lcf;
    u_char                  buf[24];
    pc_str_t                v;

    if (ctx == NULL || r->loc_conf == NULL)
        return PC_OK;
    if (ctx->req_status == PC_RL_REJECTED || ctx->conn_status == PC_RL_REJECTED) {
        int64_t sec = ctx->req_status == PC_RL_REJECTED ? pc_gcra_ceil_sec(ctx->retry_after) : 1;

        v.data = buf;
        v.len = (size_t) (pc_u64toa(buf, (uint64_t) (sec > 0 ? sec : 1)) - buf);
        if (pc_http_header_out_set(r, &retry_after_name, &v) != PC_OK)
            return PC_ERROR;
    }
    if (ctx->res == NULL)
        return PC_OK;
    lcf = pc_http_conf(r, pc_ratelimit_module);
    if (lcf == NULL || !lcf->headers || lcf->dry_run)
        return PC_OK;
    return add_ratelimit_fields(r, ctx);
}

/* ------------------------------------------------------------------ */
/* Variables                                                           */

static pc_rc_t
var_status(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    static const pc_str_t names[] = {
        pc_null_string, pc_string("PASSED"), pc_string("DELAYED_DRY_RUN"),
        pc_string("DELAYED"), pc_string("REJECTED_DRY_RUN"), pc_string("REJECTED"),
    };
    rl_ctx_t      *ctx = r->ctx != NULL ? r->ctx[pc_ratelimit_module.index] : NULL;
    pc_rl_status_e st;

    if (ctx == NULL)
        return PC_DECLINED;
    st = data == 0 ? ctx->req_status : ctx->conn_status;
    if (st == PC_RL_NONE || (unsigned) st >= pc_nelems(names))
        return PC_DECLINED;
    *out = names[st];
    return PC_OK;
}

const pc_http_variable_t pc_rl_variables[] = {
    { "limit_req_status", var_status, 0, PC_VAR_NOCACHE },
    { "limit_conn_status", var_status, 1, PC_VAR_NOCACHE },
    PC_VAR_END
};
