/*
 * status_conf.c -- the status module's directives (metrics, health, ready,
 * auth_token), and the declaration of every metric family and series it
 * counts (SPEC §7) once the configuration is read.
 *
 * Series are declared for what the configuration has: one requests_total
 * per server block and status class, one upstream_requests_total per peer
 * and class, and so on.  Nothing is declared (and nothing counted on the
 * request path) unless some location serves `metrics` or `ready`.
 */
#include <openssl/sha.h>

#include "status/status.h"

static const char *set_handler(pc_conf_t *cf, const pc_directive_t *d, void *conf);
static const char *set_auth_token(pc_conf_t *cf, const pc_directive_t *d, void *conf);

const pc_directive_t pc_status_directives[] = {
    { "metrics", PC_CTX_LOCATION, 0, 0, 0, set_handler, 0, 0, 0,
      (const void *) (uintptr_t) PC_STATUS_METRICS },
    { "health", PC_CTX_LOCATION, 0, 0, 0, set_handler, 0, 0, 0,
      (const void *) (uintptr_t) PC_STATUS_HEALTH },
    { "ready", PC_CTX_LOCATION, 0, 0, 0, set_handler, 0, 0, 0,
      (const void *) (uintptr_t) PC_STATUS_READY },
    { "auth_token", PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION, 1, 1, 0,
      set_auth_token, 0, 0, 0, NULL },
    PC_DIRECTIVE_END
};

/* ------------------------------------------------------------ directives */

static const char *
set_handler(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_status_conf_t      *scf = conf;
    pc_status_main_conf_t *smcf = pc_cycle_main_conf(cf->cycle, pc_status_module);
    intptr_t               kind = (intptr_t) (uintptr_t) d->post;

    if (scf == NULL || smcf == NULL)
        return "has no configuration (internal error)";
    if (scf->handler != PC_INT_UNSET)
        return scf->handler == kind ? "is duplicate"
                                    : "conflicts with another of metrics, health, ready "
                                      "in this location";
    scf->handler = kind;
    if (kind == PC_STATUS_METRICS)
        smcf->any_metrics = 1;
    else if (kind == PC_STATUS_READY)
        smcf->any_ready = 1;
    return PC_CONF_OK;
}

/* RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" )
 * *"=" -- what a client can send after "Bearer " unquoted. */
static bool
is_b64token(const pc_str_t *s)
{
    size_t i = 0;
    u_char c;

    for (; i < s->len; i++) {
        c = s->data[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'))
            break;
    }
    if (i == 0)
        return false;
    while (i < s->len && s->data[i] == '=')
        i++;
    return i == s->len;
}

static const char *
set_auth_token(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_status_conf_t *scf = conf;
    pc_str_t         *a = &cf->node->args[0];

    PC_UNUSED(d);
    if (scf->auth_token.data != NULL)
        return "is duplicate";
    if (!is_b64token(a))
        return pc_conf_error(cf, "invalid auth_token: expected a bearer token "
                             "(letters, digits, - . _ ~ + /, then optional '=')");
    if (a->len < 16)
        pc_log(PC_LOG_WARN, 0, "auth_token is only %zu characters long in %s:%u",
               a->len, cf->node->file, cf->node->line);
    scf->auth_token = *a;
    SHA256(a->data, a->len, scf->token_sha256);
    return PC_CONF_OK;
}

/* ------------------------------------------------------------ confs */

/* Contract: MAIN scope: the main conf (zeroed); other scopes: a conf with
 * handler and auth_token unset.  NULL on ENOMEM. */
void *
pc_status_create_conf(pc_conf_t *cf, pc_scope_e scope)
{
    pc_status_conf_t *scf;

    if (scope == PC_SCOPE_MAIN)
        return pc_pcalloc(cf->pool, sizeof(pc_status_main_conf_t));
    scf = pc_pcalloc(cf->pool, sizeof(*scf));
    if (scf != NULL)
        scf->handler = PC_INT_UNSET;
    return scf;
}

/* Contract: auth_token is inherited (with its hash); the handler is not
 * (it is a location's own).  PC_OK. */
pc_rc_t
pc_status_merge_conf(pc_conf_t *cf, void *parent, void *child)
{
    pc_status_conf_t *prev = parent, *conf = child;

    PC_UNUSED(cf);
    if (conf->auth_token.data == NULL && prev->auth_token.data != NULL) {
        conf->auth_token = prev->auth_token;
        memcpy(conf->token_sha256, prev->token_sha256, sizeof(conf->token_sha256));
    }
    return PC_OK;
}

/* ------------------------------------------------------------ families */

/* Request and upstream-response durations: Prometheus' default buckets,
 * in milliseconds (the clock's resolution), exported in seconds. */
static const uint64_t duration_bounds[] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
};

static const char *const l_server_class[] = { "server", "status_class", NULL };
static const char *const l_server[] = { "server", NULL };
static const char *const l_up_peer_class[] = { "upstream", "peer", "status_class", NULL };
static const char *const l_up[] = { "upstream", NULL };
static const char *const l_up_state[] = { "upstream", "state", NULL };
static const char *const l_up_reused[] = { "upstream", "reused", NULL };
static const char *const l_up_peer[] = { "upstream", "peer", NULL };
static const char *const l_state[] = { "state", NULL };

static const pc_metric_def_t def_requests = { "requests_total",
    "Requests answered, by server block (its first server_name, \"_\" without one) "
    "and status class.", PC_METRIC_COUNTER, l_server_class, NULL, 0, 0 };
static const pc_metric_def_t def_duration = { "request_duration_seconds",
    "Time from the start of a request to the end of its response, by server block.",
    PC_METRIC_HISTOGRAM, l_server, duration_bounds, pc_nelems(duration_bounds), 1000 };
static const pc_metric_def_t def_up_requests = { "upstream_requests_total",
    "Attempts sent to upstream peers, by status class of the answer (502/504 for "
    "an attempt that failed).", PC_METRIC_COUNTER, l_up_peer_class, NULL, 0, 0 };
static const pc_metric_def_t def_up_response = { "upstream_response_seconds",
    "Time from the start of an upstream attempt to the end of its response.",
    PC_METRIC_HISTOGRAM, l_up, duration_bounds, pc_nelems(duration_bounds), 1000 };
static const pc_metric_def_t def_up_conns = { "upstream_connections",
    "Upstream connections: active (carrying a request) and idle (kept alive).",
    PC_METRIC_GAUGE, l_up_state, NULL, 0, 0 };
static const pc_metric_def_t def_up_connects = { "upstream_connects_total",
    "Upstream attempts, by whether they reused a kept-alive connection.",
    PC_METRIC_COUNTER, l_up_reused, NULL, 0, 0 };
static const pc_metric_def_t def_peer_up = { "upstream_peer_up",
    "1 when at least one worker may send requests to the peer (not down, not "
    "out after max_fails), else 0.", PC_METRIC_GAUGE_MAX, l_up_peer, NULL, 0, 0 };
static const pc_metric_def_t def_conns = { "connections",
    "Client connections: active (all), reading a request head, writing (a "
    "request in progress), idle (keep-alive).", PC_METRIC_GAUGE, l_state, NULL, 0, 0 };
static const pc_metric_def_t def_accepted = { "connections_accepted_total",
    "Client connections accepted.", PC_METRIC_COUNTER, NULL, NULL, 0, 0 };

static const pc_str_t classes[PC_STATUS_CLASSES] = {
    pc_string("1xx"), pc_string("2xx"), pc_string("3xx"), pc_string("4xx"), pc_string("5xx")
};

/* A server block's label: its first name as written, "_" without one. */
static pc_str_t
server_label(pc_conf_t *cf, const pc_http_server_t *s)
{
    pc_str_t out;

    if (pc_http_server_name_text(cf->pool, s, &out) != PC_OK || out.len == 0)
        pc_str_set(&out, "_");
    return out;
}

static pc_rc_t
declare_servers(pc_conf_t *cf)
{
    pc_metric_family_t *freq = pc_metrics_family(cf, &def_requests);
    pc_metric_family_t *fdur = pc_metrics_family(cf, &def_duration);
    pc_http_server_t  **srv;
    pc_status_conf_t   *scf;
    pc_str_t            v[2];
    uint32_t            i, c, n;

    if (freq == NULL || fdur == NULL)
        return PC_ERROR;
    srv = pc_http_servers(cf->cycle, &n);
    for (i = 0; i < n; i++) {
        scf = srv[i]->confs[pc_status_module.index];
        v[0] = server_label(cf, srv[i]);
        for (c = 0; c < PC_STATUS_CLASSES; c++) {
            v[1] = classes[c];
            if ((scf->requests[c] = pc_metrics_series(cf, freq, v)) == NULL)
                return PC_ERROR;
        }
        if ((scf->duration = pc_metrics_series(cf, fdur, v)) == NULL)
            return PC_ERROR;
    }
    return PC_OK;
}

/* The per-upstream families, in the order they are rendered. */
typedef struct {
    pc_metric_family_t *req, *resp, *conns, *connects, *up;
} up_families_t;

static pc_rc_t
declare_upstream(pc_conf_t *cf, const up_families_t *fam, pc_status_upstream_t *su)
{
    const pc_http_upstream_t *u = su->u;
    pc_str_t                  v[3];
    uint32_t                  k, c;

    su->requests = pc_palloc(cf->pool, u->npeers * PC_STATUS_CLASSES * sizeof(pc_metric_t *));
    su->peer_up = pc_palloc(cf->pool, u->npeers * sizeof(pc_metric_t *));
    if (su->requests == NULL || su->peer_up == NULL)
        return PC_ERROR;
    v[0] = u->name;
    for (k = 0; k < u->npeers; k++) {
        v[1] = u->sorted[k].name;
        for (c = 0; c < PC_STATUS_CLASSES; c++) {
            v[2] = classes[c];
            su->requests[k * PC_STATUS_CLASSES + c] = pc_metrics_series(cf, fam->req, v);
            if (su->requests[k * PC_STATUS_CLASSES + c] == NULL)
                return PC_ERROR;
        }
    }
    su->response = pc_metrics_series(cf, fam->resp, v);
    pc_str_set(&v[1], "active");
    su->conns[0] = pc_metrics_series(cf, fam->conns, v);
    pc_str_set(&v[1], "idle");
    su->conns[1] = pc_metrics_series(cf, fam->conns, v);
    pc_str_set(&v[1], "false");
    su->connects[0] = pc_metrics_series(cf, fam->connects, v);
    pc_str_set(&v[1], "true");
    su->connects[1] = pc_metrics_series(cf, fam->connects, v);
    for (k = 0; k < u->npeers; k++) {
        v[1] = u->sorted[k].name;
        if ((su->peer_up[k] = pc_metrics_series(cf, fam->up, v)) == NULL)
            return PC_ERROR;
    }
    return su->response && su->conns[0] && su->conns[1] && su->connects[0]
           && su->connects[1] ? PC_OK : PC_ERROR;
}

static pc_rc_t
declare_upstreams(pc_conf_t *cf, pc_status_main_conf_t *smcf)
{
    pc_http_upstream_t **ups;
    up_families_t        fam;
    uint32_t             i, n;

    fam.req = pc_metrics_family(cf, &def_up_requests);
    fam.resp = pc_metrics_family(cf, &def_up_response);
    fam.conns = pc_metrics_family(cf, &def_up_conns);
    fam.connects = pc_metrics_family(cf, &def_up_connects);
    fam.up = pc_metrics_family(cf, &def_peer_up);
    if (!fam.req || !fam.resp || !fam.conns || !fam.connects || !fam.up)
        return PC_ERROR;
    ups = pc_http_upstream_list(cf->cycle, &n);
    if (n == 0)
        return PC_OK;
    smcf->ups = pc_pcalloc(cf->pool, n * sizeof(pc_status_upstream_t));
    if (smcf->ups == NULL)
        return PC_ERROR;
    smcf->nups = n;
    for (i = 0; i < n; i++) {
        smcf->ups[ups[i]->index < n ? ups[i]->index : i].u = ups[i];
    }
    for (i = 0; i < n; i++) {
        if (smcf->ups[i].u != NULL && declare_upstream(cf, &fam, &smcf->ups[i]) != PC_OK)
            return PC_ERROR;
    }
    return PC_OK;
}

static pc_rc_t
declare_connections(pc_conf_t *cf, pc_status_main_conf_t *smcf)
{
    static const pc_str_t states[4] = {
        pc_string("active"), pc_string("reading"), pc_string("writing"), pc_string("idle")
    };
    pc_metric_family_t *f = pc_metrics_family(cf, &def_conns);
    pc_metric_family_t *fa = pc_metrics_family(cf, &def_accepted);
    uint32_t            i;

    if (f == NULL || fa == NULL)
        return PC_ERROR;
    for (i = 0; i < 4; i++) {
        if ((smcf->conn_state[i] = pc_metrics_series(cf, f, &states[i])) == NULL)
            return PC_ERROR;
    }
    smcf->accepted = pc_metrics_series(cf, fa, NULL);
    return smcf->accepted != NULL ? PC_OK : PC_ERROR;
}

/*
 * Contract: init_conf.  When some location serves metrics or ready, declare
 * every family this module counts and one series per server block, per
 * upstream (and peer), per connection state.  PC_OK, or PC_ERROR after a
 * recorded error (ENOMEM, a metrics name clash).
 */
pc_rc_t
pc_status_init_conf(pc_conf_t *cf)
{
    pc_status_main_conf_t *smcf = pc_cycle_main_conf(cf->cycle, pc_status_module);

    if (smcf == NULL || (!smcf->any_metrics && !smcf->any_ready))
        return PC_OK;
    if (declare_servers(cf) != PC_OK || declare_upstreams(cf, smcf) != PC_OK
        || declare_connections(cf, smcf) != PC_OK)
    {
        return PC_ERROR;
    }
    smcf->registered = 1;
    return PC_OK;
}

pc_module_t pc_status_module = {
    "status",
    0,
    pc_status_directives,
    pc_status_hooks,
    pc_status_create_conf,
    pc_status_merge_conf,
    pc_status_init_conf,
    pc_status_init_worker,
    pc_status_exit_worker,
    NULL,
    NULL,
    0,
    NULL,
};
