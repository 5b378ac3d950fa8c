/*
 * pc_http_phase.c -- the phase engine and the header/body filter chains.
 *
 * The tables are built once per cycle from pc_modules[] (hooks sorted by
 * phase, order, module index; filters by filter_order, module index) so the
 * order is explicit and never depends on link order.  Running a phase is a
 * walk over a flat array of function pointers.
 */
#include <stdlib.h>

#include "http/pc_http.h"
#include "http/pc_http_phase.h"
#include "http/pc_http_request.h"

typedef struct {
    pc_http_handler_pt        *hooks[PC_HTTP_PHASE__COUNT];
    uint32_t                   nhooks[PC_HTTP_PHASE__COUNT];
    pc_http_header_filter_pt  *header_filters;
    uint32_t                   nheader_filters;
    pc_http_body_filter_pt    *body_filters;
    uint32_t                   nbody_filters;
} phases_t;

/* A hook or filter being sorted. */
typedef struct {
    int         phase;
    int         order;
    unsigned    module;
    unsigned    seq;        /* position in the module's table: stable sort */
    union {
        pc_http_handler_pt        hook;
        pc_http_header_filter_pt  header;
        pc_http_body_filter_pt    body;
    } fn;
} sort_item_t;

static int
item_cmp(const void *a, const void *b)
{
    const sort_item_t *x = a, *y = b;

    if (x->phase != y->phase)
        return x->phase < y->phase ? -1 : 1;
    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    if (x->module != y->module)
        return x->module < y->module ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/* Collect every module's hooks (kind 0) or filters (1: header, 2: body)
 * into items; returns how many (items may be NULL to count). */
static uint32_t
collect(sort_item_t *items, int kind)
{
    const pc_http_hook_t *h;
    pc_module_t *m;
    uint32_t     n = 0;
    unsigned     i, seq;

    for (i = 0; pc_modules[i] != NULL; i++) {
        m = pc_modules[i];
        if (kind == 0) {
            for (h = m->hooks, seq = 0; h != NULL && h->handler != NULL; h++, seq++) {
                if ((unsigned) h->phase >= PC_HTTP_PHASE__COUNT)
                    continue;
                if (items != NULL) {
                    items[n] = (sort_item_t) { (int) h->phase, h->order, i, seq,
                                               { NULL } };
                    items[n].fn.hook = h->handler;
                }
                n++;
            }
            continue;
        }
        if ((kind == 1 && m->header_filter == NULL)
            || (kind == 2 && m->body_filter == NULL))
            continue;
        if (items != NULL) {
            items[n] = (sort_item_t) { 0, m->filter_order, i, 0, { NULL } };
            if (kind == 1)
                items[n].fn.header = m->header_filter;
            else
                items[n].fn.body = m->body_filter;
        }
        n++;
    }
    return n;
}

/* Sorted items of one kind, in scratch memory from pool. */
static sort_item_t *
sorted(pc_pool_t *pool, int kind, uint32_t *n)
{
    sort_item_t *items;

    *n = collect(NULL, kind);
    items = pc_palloc(pool, (*n + 1) * sizeof(sort_item_t));
    if (items == NULL)
        return NULL;
    collect(items, kind);
    qsort(items, *n, sizeof(sort_item_t), item_cmp);
    return items;
}

static pc_rc_t
build_hooks(pc_pool_t *pool, phases_t *ph)
{
    sort_item_t *items;
    uint32_t     n, i, k;
    int          phase;

    items = sorted(pool, 0, &n);
    if (items == NULL)
        return PC_ERROR;
    for (phase = 0, i = 0; phase < PC_HTTP_PHASE__COUNT; phase++) {
        for (k = i; k < n && items[k].phase == phase; k++) { }
        ph->nhooks[phase] = k - i;
        ph->hooks[phase] = pc_palloc(pool, (k - i + 1) * sizeof(pc_http_handler_pt));
        if (ph->hooks[phase] == NULL)
            return PC_ERROR;
        for (k = 0; k < ph->nhooks[phase]; k++, i++)
            ph->hooks[phase][k] = items[i].fn.hook;
    }
    return PC_OK;
}

static pc_rc_t
build_filters(pc_pool_t *pool, phases_t *ph)
{
    sort_item_t *items;
    uint32_t     n, i;

    items = sorted(pool, 1, &n);
    ph->header_filters = pc_palloc(pool, (n + 1) * sizeof(pc_http_header_filter_pt));
    if (items == NULL || ph->header_filters == NULL)
        return PC_ERROR;
    for (i = 0; i < n; i++)
        ph->header_filters[i] = items[i].fn.header;
    ph->nheader_filters = n;

    items = sorted(pool, 2, &n);
    ph->body_filters = pc_palloc(pool, (n + 1) * sizeof(pc_http_body_filter_pt));
    if (items == NULL || ph->body_filters == NULL)
        return PC_ERROR;
    for (i = 0; i < n; i++)
        ph->body_filters[i] = items[i].fn.body;
    ph->nbody_filters = n;
    return PC_OK;
}

/* Contract: see pc_http_phase.h. */
pc_rc_t
pc_http_phase_init(pc_cycle_t *cycle)
{
    phases_t *ph;

    if (cycle->http_phases != NULL)
        return PC_OK;
    ph = pc_pcalloc(cycle->pool, sizeof(phases_t));
    if (ph == NULL || build_hooks(cycle->pool, ph) != PC_OK
        || build_filters(cycle->pool, ph) != PC_OK)
    {
        pc_log(PC_LOG_ALERT, 0, "http: cannot build the phase tables (ENOMEM)");
        return PC_ERROR;
    }
    cycle->http_phases = ph;
    return PC_OK;
}

static phases_t *
phases_of(pc_http_request_t *r)
{
    if (r->c->cycle->http_phases == NULL && pc_http_phase_init(r->c->cycle) != PC_OK)
        return NULL;
    return r->c->cycle->http_phases;
}

/*
 * Between POST_READ and REWRITE: the location, the confs in force, and the
 * declared body size against this location's client_max_body_size (413
 * before a byte of the body is read).  PC_OK or an HTTP status.
 */
static pc_rc_t
find_config(pc_http_request_t *r)
{
    pc_http_core_conf_t *ccf;

    pc_http_req(r)->loc_found = 1;
    r->location = r->server != NULL ? pc_http_find_location(r->server, &r->uri, r) : NULL;
    if (r->location != NULL)
        r->loc_conf = r->location->confs;
    else if (r->server != NULL)
        r->loc_conf = r->server->confs;

    ccf = pc_http_core_conf(r);
    if (ccf->client_max_body_size != 0 && r->head.body == PC_HTTP_BODY_LENGTH
        && (uint64_t) r->head.content_length > ccf->client_max_body_size)
    {
        r->error_reason = "request body too large";
        return 413;
    }
    return PC_OK;
}

/* Hand a handler's final result to pc_http_finalize (PC_DONE included: a
 * handler that produced a response but did not finalize). */
static void
finish(pc_http_request_t *r, pc_rc_t rc)
{
    if (pc_http_req(r)->finalized)
        return;
    if (rc != PC_DONE && rc != PC_ERROR && rc < 100) {
        pc_log(PC_LOG_ALERT, 0, "http: phase handler returned %d", rc);
        rc = PC_ERROR;
    }
    pc_http_finalize(r, rc);
}

/* Contract: see pc_http_phase.h. */
void
pc_http_phase_run(pc_http_request_t *r)
{
    pc_http_req_t *req = pc_http_req(r);
    phases_t      *ph = phases_of(r);
    pc_rc_t        rc;

    if (ph == NULL) {
        pc_http_finalize(r, PC_ERROR);
        return;
    }
    while (!req->finalized) {
        if (r->phase == PC_HTTP_PHASE_REWRITE && r->hook == 0 && !req->loc_found) {
            rc = find_config(r);
            if (rc != PC_OK) {
                pc_http_finalize(r, rc);
                return;
            }
        }
        if (r->phase >= PC_HTTP_PHASE_LOG) {
            /* Every content handler declined: nothing serves this URI. */
            pc_http_send_error(r, 404, r->location == NULL ? "no matching location"
                                                             : "not found");
            pc_http_finalize(r, PC_DONE);
            return;
        }
        if (r->hook >= ph->nhooks[r->phase]) {
            r->phase++;
            r->hook = 0;
            continue;
        }
        rc = ph->hooks[r->phase][r->hook++](r);
        if (rc == PC_OK || rc == PC_DECLINED)
            continue;
        if (rc == PC_AGAIN)
            return;
        finish(r, rc);
        return;
    }
}

/* Contract: see pc_http.h and pc_http_phase.h (continues with the hook
 * after the parked one).  r may be gone on return. */
void
pc_http_phase_resume(pc_http_request_t *r)
{
    pc_http_conn_t *hc = r->hc;

    pc_http_req_enter(hc);
    pc_http_phase_run(r);
    pc_http_req_leave(hc);
}

/* Contract: runs the LOG hooks once per request. */
void
pc_http_phase_log(pc_http_request_t *r)
{
    phases_t *ph = phases_of(r);
    uint32_t  i;

    if (ph == NULL || r->logged)
        return;
    r->logged = 1;
    for (i = 0; i < ph->nhooks[PC_HTTP_PHASE_LOG]; i++)
        (void) ph->hooks[PC_HTTP_PHASE_LOG][i](r);
}

/* Contract: see pc_http_phase.h. */
pc_rc_t
pc_http_run_header_filters(pc_http_request_t *r)
{
    phases_t *ph = phases_of(r);
    uint32_t  i;
    pc_rc_t   rc;

    if (ph == NULL)
        return PC_ERROR;
    for (i = 0; i < ph->nheader_filters; i++) {
        rc = ph->header_filters[i](r);
        if (rc != PC_OK)
            return PC_ERROR;
    }
    return PC_OK;
}

/* Contract: see pc_http_phase.h. */
pc_rc_t
pc_http_run_body_filters(pc_http_request_t *r, pc_chain_t **chain, int last)
{
    phases_t *ph = phases_of(r);
    uint32_t  i;

    if (ph == NULL)
        return PC_ERROR;
    for (i = 0; i < ph->nbody_filters; i++) {
        if (ph->body_filters[i](r, chain, last) != PC_OK)
            return PC_ERROR;
    }
    return PC_OK;
}
