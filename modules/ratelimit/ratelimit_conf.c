/*
 * ratelimit_conf.c -- the ratelimit module's directives and lifecycle:
 * limit_req_zone, limit_req, limit_req_status, limit_req_dry_run,
 * limit_req_headers, limit_conn_zone, limit_conn, limit_conn_status; the
 * module table; the initialisation of its shared-memory zones.
 *
 * Choices (doc/modules/ratelimit.md says the same):
 *  - limit_req and limit_conn may name a zone declared later in the http
 *    block; init_conf resolves every reference and reports unknown zones
 *    at the line of the reference.
 *  - Zone names are [A-Za-z0-9_.-] (they appear quoted in the RateLimit
 *    header fields).  The two directive families use separate zone tags,
 *    so a name is either a limit_req zone or a limit_conn zone.
 *  - limit_req_status and limit_conn_status default to 429 (SPEC §4
 *    ratelimit: "Exceeding → 429 with Retry-After"; nginx's default for
 *    both is 503).
 *  - sync=redis://HOST:PORT is parsed and refused: cluster-wide limits are
 *    SPEC [W2]; the runtime already asks a pc_rl_store_ops_t, not the zone.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/pc_shm.h"
#include "ratelimit/ratelimit.h"
#include "ratelimit/ratelimit_stats.h"

#define RL_NAME_MAX     64
#define RL_CONN_MAX     65535

#define off(f)  offsetof(pc_rl_loc_conf_t, f)

const int pc_rl_req_tag = 1;
const int pc_rl_conn_tag = 2;

/* Report `"DIRECTIVE" directive MESSAGE` at the current node. */
static const char *bad(pc_conf_t *cf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *
bad(pc_conf_t *cf, const char *fmt, ...)
{
    char    why[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    return pc_conf_error(cf, "\"%s\" directive %s", (const char *) cf->node->name.data,
                         why);
}

/* A parameter given twice (SPEC §3: an error, not "the last one wins"). */
static const char *
dup_param(pc_conf_t *cf, const pc_str_t *a)
{
    return bad(cf, "duplicate parameter \"%.*s\"", (int) a->len, (const char *) a->data);
}

/* Does a start with the literal prefix p?  *rest gets what follows. */
static bool
param(const pc_str_t *a, const char *p, pc_str_t *rest)
{
    size_t n = strlen(p);

    if (a->len < n || memcmp(a->data, p, n) != 0)
        return false;
    rest->data = a->data + n;
    rest->len = a->len - n;
    return true;
}

static bool
valid_name(const pc_str_t *s)
{
    size_t i;

    if (s->len == 0 || s->len > RL_NAME_MAX)
        return false;
    for (i = 0; i < s->len; i++) {
        u_char c = s->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '_' || c == '.' || c == '-'))
        {
            return false;
        }
    }
    return true;
}

/* "NAME:SIZE" (after "zone="). */
static const char *
parse_zone(pc_conf_t *cf, const pc_str_t *v, pc_str_t *name, size_t *size)
{
    const u_char *colon = memchr(v->data, ':', v->len);
    pc_str_t      sz;

    if (colon == NULL)
        return bad(cf, "invalid zone \"%.*s\": expected zone=NAME:SIZE", (int) v->len,
                   (const char *) v->data);
    name->data = v->data;
    name->len = (size_t) (colon - v->data);
    if (!valid_name(name))
        return bad(cf, "invalid zone name \"%.*s\": 1 to %d of A-Z a-z 0-9 _ . -",
                   (int) name->len, (const char *) name->data, RL_NAME_MAX);
    sz.data = (u_char *) colon + 1;
    sz.len = v->len - name->len - 1;
    if (pc_conf_parse_size(&sz, size) != PC_OK)
        return bad(cf, "invalid zone size \"%.*s\": expected a size like 32k or 10m",
                   (int) sz.len, (const char *) sz.data);
    if (*size < PC_RLZ_MIN_SIZE || *size > PC_RLZ_MAX_SIZE)
        return bad(cf, "zone \"%.*s\" size %zu is out of range (32k to 4g)",
                   (int) name->len, (const char *) name->data, *size);
    return PC_CONF_OK;
}

/* sync=redis://HOST:PORT: checked, then refused (SPEC [W2]). */
static const char *
parse_sync(pc_conf_t *cf, const pc_str_t *v)
{
    const u_char *colon;
    pc_str_t      host, rest;
    uint64_t      port;

    if (!param(v, "redis://", &rest) || rest.len == 0)
        return bad(cf, "invalid sync \"%.*s\": expected sync=redis://HOST:PORT",
                   (int) v->len, (const char *) v->data);
    colon = rest.data + rest.len;
    while (colon > rest.data && colon[-1] != ':')
        colon--;
    host.data = rest.data;
    host.len = colon > rest.data ? (size_t) (colon - rest.data) - 1 : 0;
    if (host.len == 0 || colon == rest.data + rest.len
        || pc_parse_uint64(colon, (size_t) (rest.data + rest.len - colon), &port) != PC_OK
        || port == 0 || port > 65535)
    {
        return bad(cf, "invalid sync \"%.*s\": expected sync=redis://HOST:PORT",
                   (int) v->len, (const char *) v->data);
    }
    return bad(cf, "sync= is not supported yet: limits are per instance");
}

static pc_rl_zone_t *
find_zone(pc_rl_main_conf_t *mcf, const pc_str_t *name)
{
    pc_rl_zone_t **z = mcf->zones.elts;
    uint32_t       i;

    for (i = 0; i < mcf->zones.nelts; i++) {
        if (pc_str_eq(&z[i]->name, name))
            return z[i];
    }
    return NULL;
}

static const char *
kind_directive(pc_rlz_kind_e kind)
{
    return kind == PC_RLZ_KIND_REQ ? "limit_req_zone" : "limit_conn_zone";
}

/* Declare a zone of kind: the key template, the shm zone, the error text. */
static const char *
add_zone(pc_conf_t *cf, const pc_str_t *key, const pc_str_t *name, size_t size,
    pc_rlz_kind_e kind, int64_t interval)
{
    pc_rl_main_conf_t *mcf = pc_cycle_main_conf(cf->cycle, pc_ratelimit_module);
    pc_rl_zone_t      *zone, **zp, *prev = find_zone(mcf, name);
    const char        *what;
    char              *reason;
    size_t             n;

    if (prev != NULL)
        return bad(cf, "zone \"%.*s\" is already declared by %s", (int) name->len,
                   (const char *) name->data, kind_directive(prev->kind));
    if ((zone = pc_pcalloc(cf->pool, sizeof(*zone))) == NULL)
        return "out of memory";
    if ((zone->key = pc_http_template_compile(cf, key)) == NULL)
        return PC_CONF_ERROR;
    zone->shm = pc_shm_zone_add(cf, name, size,
                                kind == PC_RLZ_KIND_REQ ? &pc_rl_req_tag : &pc_rl_conn_tag);
    if (zone->shm == NULL)
        return PC_CONF_ERROR;
    what = kind == PC_RLZ_KIND_REQ ? "rate limited" : "too many concurrent requests";
    n = strlen(what) + name->len + sizeof(" (zone )");
    if ((reason = pc_pnalloc(cf->pool, n)) == NULL)
        return "out of memory";
    snprintf(reason, n, "%s (zone %.*s)", what, (int) name->len, (const char *) name->data);
    zone->reason = reason;
    zone->name = zone->shm->name;
    zone->kind = kind;
    zone->interval = interval;
    zone->ops = &pc_rlz_local_ops;
    /* Listed last: find_zone never sees a half-made zone, even when -t
     * goes on after an error. */
    if ((zp = pc_array_push(&mcf->zones)) == NULL)
        return "out of memory";
    zone->shm->data = zone;
    zone->shm->init = pc_rl_zone_init;
    *zp = zone;
    return PC_CONF_OK;
}

/* limit_req_zone KEY zone=NAME:SIZE rate=Nr/s|Nr/m [sync=redis://HOST:PORT] */
static const char *
set_req_zone(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_str_t   *a = cf->node->args, v, name = pc_null_string;
    size_t      size = 0;
    int64_t     interval = 0;
    uint32_t    i;
    const char *rv;

    PC_UNUSED(d);
    PC_UNUSED(conf);
    for (i = 1; i < cf->node->nargs; i++) {
        if (param(&a[i], "zone=", &v)) {
            if (name.len != 0)
                return dup_param(cf, &a[i]);
            if ((rv = parse_zone(cf, &v, &name, &size)) != PC_CONF_OK)
                return rv;
        } else if (param(&a[i], "rate=", &v)) {
            if (interval != 0)
                return dup_param(cf, &a[i]);
            if (pc_gcra_parse_rate(v.data, v.len, &interval) != PC_OK)
                return bad(cf, "invalid rate \"%s\": expected Nr/s or Nr/m, N from 1 "
                           "to %d", (const char *) v.data, PC_GCRA_RATE_MAX);
        } else if (param(&a[i], "sync=", &v)) {
            return parse_sync(cf, &v);
        } else {
            return bad(cf, "invalid parameter \"%s\"", (const char *) a[i].data);
        }
    }
    if (name.len == 0)
        return "needs zone=NAME:SIZE";
    if (interval == 0)
        return "needs rate=Nr/s or rate=Nr/m";
    return add_zone(cf, &a[0], &name, size, PC_RLZ_KIND_REQ, interval);
}

/* limit_conn_zone KEY zone=NAME:SIZE */
static const char *
set_conn_zone(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_str_t   *a = cf->node->args, v, name = pc_null_string;
    size_t      size = 0;
    const char *rv;

    PC_UNUSED(d);
    PC_UNUSED(conf);
    if (!param(&a[1], "zone=", &v))
        return bad(cf, "invalid parameter \"%s\": expected zone=NAME:SIZE",
                   (const char *) a[1].data);
    if ((rv = parse_zone(cf, &v, &name, &size)) != PC_CONF_OK)
        return rv;
    return add_zone(cf, &a[0], &name, size, PC_RLZ_KIND_CONN, 0);
}

/* A limit's zone reference: the shm zone (declared now or later). */
static pc_shm_zone_t *
zone_ref(pc_conf_t *cf, const pc_str_t *name, pc_rlz_kind_e kind)
{
    pc_rl_main_conf_t *mcf = pc_cycle_main_conf(cf->cycle, pc_ratelimit_module);
    pc_rl_zone_t      *z = find_zone(mcf, name);

    if (z != NULL && z->kind != kind) {
        bad(cf, "zone \"%.*s\" is a %s zone", (int) name->len, (const char *) name->data,
            kind_directive(z->kind));
        return NULL;
    }
    return pc_shm_zone_add(cf, name, 0,
                           kind == PC_RLZ_KIND_REQ ? &pc_rl_req_tag : &pc_rl_conn_tag);
}

static const char *
parse_count(pc_conf_t *cf, const pc_str_t *v, const char *what, int64_t *out)
{
    if (pc_conf_parse_int(v, out) != PC_OK || *out > PC_GCRA_BURST_MAX)
        return bad(cf, "invalid %s \"%.*s\": expected 0 to %d", what, (int) v->len,
                   (const char *) v->data, PC_GCRA_BURST_MAX);
    return PC_CONF_OK;
}

/* The parameters of limit_req into lim; name gets the zone name. */
static const char *
parse_limit(pc_conf_t *cf, pc_rl_limit_t *lim, pc_str_t *name)
{
    pc_str_t   *a = cf->node->args, v;
    bool        has_delay = false, has_burst = false;
    uint32_t    i;
    const char *rv = PC_CONF_OK;

    for (i = 0; i < cf->node->nargs && rv == PC_CONF_OK; i++) {
        if (param(&a[i], "zone=", &v)) {
            if (name->len != 0)
                return dup_param(cf, &a[i]);
            *name = v;
            if (!valid_name(name))
                return bad(cf, "invalid zone name \"%s\"", (const char *) v.data);
        } else if (param(&a[i], "burst=", &v)) {
            if (has_burst)
                return dup_param(cf, &a[i]);
            has_burst = true;
            rv = parse_count(cf, &v, "burst", &lim->burst);
        } else if (param(&a[i], "delay=", &v)) {
            if (has_delay)
                return dup_param(cf, &a[i]);
            has_delay = true;
            rv = parse_count(cf, &v, "delay", &lim->delay);
        } else if (pc_str_eq_c(&a[i], "nodelay")) {
            if (lim->nodelay)
                return dup_param(cf, &a[i]);
            lim->nodelay = true;
        } else {
            return bad(cf, "invalid parameter \"%s\"", (const char *) a[i].data);
        }
    }
    if (rv != PC_CONF_OK)
        return rv;
    if (has_delay && lim->nodelay)
        return "takes either nodelay or delay=N, not both";
    if (name->len == 0)
        return "needs zone=NAME";
    return PC_CONF_OK;
}

/* Append lim to *list (created on first use) and to the main conf's list. */
static const char *
push_limit(pc_conf_t *cf, pc_array_t **list, pc_array_t *all, void *lim)
{
    void **p, **q;

    if (*list == NULL) {
        *list = pc_palloc(cf->pool, sizeof(pc_array_t));
        if (*list == NULL || pc_array_init(*list, cf->pool, 2, sizeof(void *)) != PC_OK)
            return "out of memory";
    }
    p = pc_array_push(*list);
    q = pc_array_push(all);
    if (p == NULL || q == NULL)
        return "out of memory";
    *p = *q = lim;
    return PC_CONF_OK;
}

/* Does list already hold a limit on the shm zone z? */
static bool
has_zone(const pc_array_t *list, size_t offset, const pc_shm_zone_t *z)
{
    void   **e;
    uint32_t i;

    if (list == NULL)
        return false;
    e = list->elts;
    for (i = 0; i < list->nelts; i++) {
        if (*(pc_shm_zone_t **) ((u_char *) e[i] + offset) == z)
            return true;
    }
    return false;
}

/* limit_req zone=NAME [burst=N] [nodelay | delay=N] */
static const char *
set_limit_req(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_rl_main_conf_t *mcf = pc_cycle_main_conf(cf->cycle, pc_ratelimit_module);
    pc_rl_loc_conf_t  *lcf = conf;
    pc_rl_limit_t     *lim;
    pc_str_t           name = pc_null_string;
    const char        *rv;

    PC_UNUSED(d);
    if ((lim = pc_pcalloc(cf->pool, sizeof(*lim))) == NULL)
        return "out of memory";
    if ((rv = parse_limit(cf, lim, &name)) != PC_CONF_OK)
        return rv;
    if ((lim->shm = zone_ref(cf, &name, PC_RLZ_KIND_REQ)) == NULL)
        return PC_CONF_ERROR;
    if (has_zone(lcf->limits, offsetof(pc_rl_limit_t, shm), lim->shm))
        return bad(cf, "zone \"%.*s\" is duplicate", (int) name.len,
                   (const char *) name.data);
    lim->node = cf->node;
    return push_limit(cf, &lcf->limits, &mcf->limits, lim);
}

/* limit_conn NAME N */
static const char *
set_limit_conn(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_rl_main_conf_t *mcf = pc_cycle_main_conf(cf->cycle, pc_ratelimit_module);
    pc_rl_loc_conf_t  *lcf = conf;
    pc_str_t          *a = cf->node->args;
    pc_rl_conn_t      *lc;
    int64_t            n;

    PC_UNUSED(d);
    if (!valid_name(&a[0]))
        return bad(cf, "invalid zone name \"%s\"", (const char *) a[0].data);
    if (pc_conf_parse_int(&a[1], &n) != PC_OK || n < 1 || n > RL_CONN_MAX)
        return bad(cf, "invalid number \"%s\": expected 1 to %d", (const char *) a[1].data,
                   RL_CONN_MAX);
    if ((lc = pc_pcalloc(cf->pool, sizeof(*lc))) == NULL)
        return "out of memory";
    if ((lc->shm = zone_ref(cf, &a[0], PC_RLZ_KIND_CONN)) == NULL)
        return PC_CONF_ERROR;
    if (has_zone(lcf->conns, offsetof(pc_rl_conn_t, shm), lc->shm))
        return bad(cf, "zone \"%s\" is duplicate", (const char *) a[0].data);
    lc->max = (uint32_t) n;
    lc->node = cf->node;
    return push_limit(cf, &lcf->conns, &mcf->conns, lc);
}

static const pc_directive_t rl_directives[] = {
    { "limit_req_zone", PC_CTX_HTTP, 3, 4, PC_CONF_MULTI, set_req_zone, 0, 0, 0, NULL },
    { "limit_req", PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION, 1, 3, PC_CONF_MULTI,
      set_limit_req, 0, 0, 0, NULL },
    { "limit_req_status", PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION, 1, 1, 0,
      pc_conf_set_num, off(status), 400, 599, NULL },
    { "limit_req_dry_run", PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION, 1, 1, 0,
      pc_conf_set_flag, off(dry_run), 0, 0, NULL },
    { "limit_req_headers", PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION, 1, 1, 0,
      pc_conf_set_flag, off(headers), 0, 0, NULL },
    { "limit_conn_zone", PC_CTX_HTTP, 2, 2, PC_CONF_MULTI, set_conn_zone, 0, 0, 0, NULL },
    { "limit_conn", PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION, 2, 2, PC_CONF_MULTI,
      set_limit_conn, 0, 0, 0, NULL },
    { "limit_conn_status", PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION, 1, 1, 0,
      pc_conf_set_num, off(conn_status), 400, 599, NULL },
    PC_DIRECTIVE_END
};

/* ------------------------------------------------------------ confs */

static void *
rl_create_conf(pc_conf_t *cf, pc_scope_e scope)
{
    pc_rl_main_conf_t *mcf;
    pc_rl_loc_conf_t  *lcf;

    if (scope == PC_SCOPE_MAIN) {
        mcf = pc_pcalloc(cf->pool, sizeof(*mcf));
        if (mcf == NULL
            || pc_array_init(&mcf->zones, cf->pool, 4, sizeof(pc_rl_zone_t *)) != PC_OK
            || pc_array_init(&mcf->limits, cf->pool, 4, sizeof(pc_rl_limit_t *)) != PC_OK
            || pc_array_init(&mcf->conns, cf->pool, 4, sizeof(pc_rl_conn_t *)) != PC_OK)
        {
            return NULL;
        }
        return mcf;
    }
    lcf = pc_pcalloc(cf->pool, sizeof(*lcf));
    if (lcf == NULL)
        return NULL;
    lcf->status = PC_INT_UNSET;
    lcf->conn_status = PC_INT_UNSET;
    lcf->dry_run = -1;
    lcf->headers = -1;
    return lcf;
}

/* nginx: a level with no limit_req of its own inherits its parent's list. */
static pc_rc_t
rl_merge_conf(pc_conf_t *cf, void *parent, void *child)
{
    pc_rl_loc_conf_t *p = parent, *c = child;

    PC_UNUSED(cf);
    PC_CONF_MERGE(c->status, p->status, PC_INT_UNSET, 429);
    PC_CONF_MERGE(c->conn_status, p->conn_status, PC_INT_UNSET, 429);
    PC_CONF_MERGE(c->dry_run, p->dry_run, -1, 0);
    PC_CONF_MERGE(c->headers, p->headers, -1, 1);
    if (c->limits == NULL)
        c->limits = p->limits;
    if (c->conns == NULL)
        c->conns = p->conns;
    return PC_OK;
}

/* "\"zone\";q=Q;w=W" for RateLimit-Policy. */
static pc_rc_t
make_policy(pc_conf_t *cf, pc_rl_limit_t *lim)
{
    int64_t q, w;
    size_t  n = lim->zone->name.len + 2 + 3 + 20 + 3 + 20 + 1;
    u_char *p;

    pc_gcra_policy(&lim->gcra, &q, &w);
    if ((p = pc_pnalloc(cf->pool, n)) == NULL)
        return PC_ERROR;
    lim->policy.data = p;
    *p++ = '"';
    p = pc_cpymem(p, lim->zone->name.data, lim->zone->name.len);
    p = pc_cpymem(p, "\";q=", 4);
    p = pc_u64toa(p, (uint64_t) q);
    p = pc_cpymem(p, ";w=", 3);
    p = pc_u64toa(p, (uint64_t) w);
    lim->policy.len = (size_t) (p - lim->policy.data);
    return PC_OK;
}

/* Whether one of n's arguments is "zone=NAME" or "zone=NAME:..." */
static bool
declares_zone(const pc_conf_node_t *n, const void *data)
{
    const pc_str_t *name = data;
    pc_str_t        v;
    uint32_t        i;

    for (i = 0; i < n->nargs; i++) {
        if (param(&n->args[i], "zone=", &v) && v.len >= name->len
            && memcmp(v.data, name->data, name->len) == 0
            && (v.len == name->len || v.data[name->len] == ':'))
        {
            return true;
        }
    }
    return false;
}

/* An unknown zone after errors: when a directive called kind declaring it
 * was written, it was rejected and reported; "unknown zone" would repeat it. */
static bool
zone_rejected(pc_conf_t *cf, const char *kind, const pc_str_t *name)
{
    return cf->nerrors != 0 && cf->cycle->root != NULL
           && pc_cycle_conf_find(cf->cycle->root, kind, true, declares_zone, name) != NULL;
}

/* Resolve every limit's zone (declared anywhere in http) and finish it. */
static pc_rc_t
rl_init_conf(pc_conf_t *cf)
{
    pc_rl_main_conf_t *mcf = pc_cycle_main_conf(cf->cycle, pc_ratelimit_module);
    pc_rl_limit_t    **lim = mcf->limits.elts;
    pc_rl_conn_t     **lc = mcf->conns.elts;
    pc_rc_t            rc = PC_OK;
    uint32_t           i;

    for (i = 0; i < mcf->limits.nelts; i++) {
        lim[i]->zone = lim[i]->shm->data;
        if (lim[i]->zone == NULL) {
            rc = PC_ERROR;
            if (zone_rejected(cf, "limit_req_zone", &lim[i]->shm->name))
                continue;
            pc_conf_error_at(cf, lim[i]->node, "\"limit_req\" directive: unknown "
                             "limit_req_zone \"%.*s\"", (int) lim[i]->shm->name.len,
                             (const char *) lim[i]->shm->name.data);
            continue;
        }
        if (pc_gcra_init(&lim[i]->gcra, lim[i]->zone->interval, lim[i]->burst,
                         lim[i]->delay, lim[i]->nodelay) != PC_OK
            || make_policy(cf, lim[i]) != PC_OK)
        {
            return PC_ERROR;
        }
    }
    for (i = 0; i < mcf->conns.nelts; i++) {
        lc[i]->zone = lc[i]->shm->data;
        if (lc[i]->zone == NULL) {
            rc = PC_ERROR;
            if (zone_rejected(cf, "limit_conn_zone", &lc[i]->shm->name))
                continue;
            pc_conf_error_at(cf, lc[i]->node, "\"limit_conn\" directive: unknown "
                             "limit_conn_zone \"%.*s\"", (int) lc[i]->shm->name.len,
                             (const char *) lc[i]->shm->name.data);
        }
    }
    if (rc == PC_OK && mcf->zones.nelts > 0)
        rc = pc_ratelimit_metrics_declare(cf);
    return rc;
}

/* ------------------------------------------------------------ zones */

/* The hashing seed of a new zone: random, so no client can predict which
 * keys share a bucket.  getrandom cannot block after boot; should it fail,
 * the clocks and pid still make a seed no client can read. */
static void
make_seed(uint64_t seed[2])
{
    struct timespec ts;

    if (getrandom(seed, 2 * sizeof(uint64_t), GRND_NONBLOCK) == 2 * sizeof(uint64_t))
        return;
    pc_log(PC_LOG_WARN, 0, "getrandom() failed: zone hashing seed from the clock");
    clock_gettime(CLOCK_REALTIME, &ts);
    seed[0] = (uint64_t) ts.tv_sec * 1000000007ULL ^ (uint64_t) ts.tv_nsec;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    seed[1] = (uint64_t) ts.tv_nsec << 20 ^ (uint64_t) getpid() ^ (uint64_t) ts.tv_sec;
}

/*
 * Contract: the shm init of every ratelimit zone, called by the master once
 * the zone is mapped.  A new mapping is formatted (random seed, empty
 * table); a reused one (reload, same name and size) is only checked, as old
 * workers are using it at that moment.  PC_OK, or PC_ERROR after a log line.
 */
pc_rc_t
pc_rl_zone_init(pc_shm_zone_t *shm, int reused)
{
    pc_rl_zone_t *zone = shm->data;
    uint64_t      seed[2];

    if (reused) {
        if (pc_rlz_attach(shm->addr, shm->size, zone->kind) != NULL)
            return PC_OK;
        pc_log(PC_LOG_EMERG, 0, "%s \"%.*s\": the inherited zone has another layout",
               kind_directive(zone->kind), (int) zone->name.len,
               (const char *) zone->name.data);
        return PC_ERROR;
    }
    make_seed(seed);
    if (pc_rlz_format(shm->addr, shm->size, zone->kind, seed) == NULL) {
        pc_log(PC_LOG_EMERG, 0, "%s \"%.*s\": cannot initialise the zone",
               kind_directive(zone->kind), (int) zone->name.len,
               (const char *) zone->name.data);
        return PC_ERROR;
    }
    return PC_OK;
}

/* ------------------------------------------------------------ module */

static const pc_http_hook_t rl_hooks[] = {
    /* after allow/deny (100) and geoip (200); limit_req before limit_conn
     * (as nginx), so rejected and delayed requests hold no connection slot */
    { PC_HTTP_PHASE_ACCESS, 300, pc_rl_req_handler },
    { PC_HTTP_PHASE_ACCESS, 310, pc_rl_conn_handler },
    PC_HOOK_END
};

pc_module_t pc_ratelimit_module = {
    .name           = "ratelimit",
    .directives     = rl_directives,
    .hooks          = rl_hooks,
    .create_conf    = rl_create_conf,
    .merge_conf     = rl_merge_conf,
    .init_conf      = rl_init_conf,
    .header_filter  = pc_rl_header_filter,
    .filter_order   = 150,
    .variables      = pc_rl_variables,
};
