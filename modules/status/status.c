/*
 * status.c -- the status module at run time (SPEC §4 "status", §7):
 * the `metrics`, `health` and `ready` content handlers, the LOG hook that
 * counts requests and upstream attempts, and the per-worker refresh of
 * gauges.
 *
 * Counting costs a request a few stores into its worker's own slot of the
 * metrics zone (core/pc_metrics.h): no lock, no system call.  Gauges that
 * describe a worker's state (connections, upstream pools, peer health) are
 * published by each worker every PC_STATUS_PUBLISH_MS and, by the worker
 * that answers, right before it answers; `metrics` then sums the slots.
 *
 * Readiness: 503 from the moment a graceful shutdown starts (the drain
 * hook of pc_process.h: SIGTERM/SIGQUIT, not a reload's retirement), or
 * while an upstream has no peer that some worker may use.
 */
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>

#include "event/pc_worker.h"
#include "event/pc_process.h"
#include "status/status.h"
#include "status/metrics.h"

#ifdef HAVE_PC_VERSION_H
#include "pc_version.h"
#endif
#ifndef PC_VERSION
#define PC_VERSION     "unknown"
#endif
#ifndef PC_GIT_COMMIT
#define PC_GIT_COMMIT  "unknown"
#endif

#define OUT_BUF_SIZE   32768        /* pooled output buffers of `metrics` */

typedef struct {
    ev_timer        publish;
    pc_cycle_t     *cycle;
    uint32_t        health_seen;    /* pc_http_upstream_health_changes() */
} status_worker_t;

static status_worker_t  status_worker;
static bool             status_draining;    /* instance shutting down */

static const pc_str_t text_plain = pc_string("text/plain; charset=utf-8");
static const pc_str_t prom_type = pc_string("text/plain; version=0.0.4; charset=utf-8");

/* ----------------------------------------------------------- publishing */

static void
publish_upstream(const pc_status_upstream_t *su, pc_msec_t now)
{
    pc_http_upstream_rt_t *rt = pc_http_upstream_rt(su->u);
    const pc_http_upstream_t *u = su->u;
    uint32_t               k, active = 0;
    bool                   up;

    for (k = 0; k < u->npeers; k++) {
        up = !u->sorted[k].down;
        if (rt != NULL) {
            active += rt->bal.peers[k].conns;
            up = pc_http_balancer_usable(&rt->bal.peers[k], now);
        }
        pc_metric_set(su->peer_up[k], up ? 1 : 0);
    }
    pc_metric_set(su->conns[0], active);
    pc_metric_set(su->conns[1], rt != NULL ? rt->nidle : 0);
}

/* Write this worker's gauges.  (Accepted connections are counted as they
 * are accepted: wk->accepted.) */
static void
publish(void)
{
    pc_status_main_conf_t *smcf;
    pc_http_conn_stats_t   st;
    uint32_t               i;

    if (pc_worker == NULL || status_worker.cycle == NULL)
        return;
    smcf = pc_cycle_main_conf(status_worker.cycle, pc_status_module);
    if (smcf == NULL || !smcf->registered)
        return;
    pc_http_conn_stats(&st);
    pc_metric_set(smcf->conn_state[0], st.active);
    pc_metric_set(smcf->conn_state[1], st.reading);
    pc_metric_set(smcf->conn_state[2], st.writing);
    pc_metric_set(smcf->conn_state[3], st.idle);
    for (i = 0; i < smcf->nups; i++) {
        if (smcf->ups[i].u != NULL)
            publish_upstream(&smcf->ups[i], pc_time.mono_ms);
    }
}

static void
on_publish(struct ev_loop *loop, ev_timer *w, int revents)
{
    PC_UNUSED(loop);
    PC_UNUSED(w);
    PC_UNUSED(revents);
    publish();
}

static void
on_drain(void)
{
    status_draining = true;
}

/* ------------------------------------------------------------ counting */

static pc_metric_t *
class_metric(pc_metric_t *const *by_class, int status)
{
    int c = status / 100;

    return c >= 1 && c <= PC_STATUS_CLASSES ? by_class[c - 1] : NULL;
}

static void
count_upstream(pc_http_request_t *r, pc_status_main_conf_t *smcf)
{
    pc_http_upstream_try_t     tries[PC_STATUS_TRIES_MAX];
    const pc_http_upstream_t  *u;
    const pc_status_upstream_t *su;
    uint32_t                   i, n;

    u = pc_http_upstream_tries(r, tries, PC_STATUS_TRIES_MAX, &n);
    if (u == NULL || u->index >= smcf->nups || smcf->ups[u->index].u != u)
        return;
    su = &smcf->ups[u->index];
    for (i = 0; i < n; i++) {
        if (tries[i].peer >= u->npeers)
            continue;
        pc_metric_add(class_metric(&su->requests[tries[i].peer * PC_STATUS_CLASSES],
                                   tries[i].status), 1);
        pc_metric_add(su->connects[tries[i].reused], 1);
        if (tries[i].response >= 0)
            pc_metric_observe(su->response, (uint64_t) tries[i].response);
    }
}

/* LOG: one request answered (by the server that chose it, else the
 * listener's default server: a malformed request has none). */
static pc_rc_t
status_log(pc_http_request_t *r)
{
    pc_status_main_conf_t *smcf = pc_cycle_main_conf(r->c->cycle, pc_status_module);
    pc_http_server_t      *s = r->server;
    pc_http_addr_conf_t   *addr;
    pc_status_conf_t      *scf;

    if (smcf == NULL || !smcf->registered)
        return PC_OK;
    if (s == NULL && r->c->listening != NULL && (addr = r->c->listening->data) != NULL)
        s = addr->default_server;
    if (s != NULL && (scf = s->confs[pc_status_module.index]) != NULL) {
        pc_metric_add(class_metric(scf->requests, r->status), 1);
        pc_metric_observe(scf->duration,
            (uint64_t) pc_max(pc_time.mono_ms - r->start_mono_ms, 0));
    }
    count_upstream(r, smcf);
    if (pc_http_upstream_health_changes() != status_worker.health_seen) {
        /* a peer was just taken out: tell `ready` in every worker now */
        status_worker.health_seen = pc_http_upstream_health_changes();
        publish();
    }
    return PC_OK;
}

/* ------------------------------------------------------------ rendering */

/* The response body of `metrics`: pooled buffers chained in r->pool. */
typedef struct {
    pc_http_request_t  *r;
    pc_chain_t         *head;
    pc_chain_t        **tail;
    pc_buf_t           *cur;
} out_t;

static void
out_release(void *data)
{
    out_t      *o = data;
    pc_chain_t *cl;

    for (cl = o->head; cl != NULL; cl = cl->next)
        pc_buf_put(cl->buf);
    o->head = NULL;
}

/* pc_status_prom_more_pt: close the current buffer, chain a new one. */
static pc_rc_t
out_more(pc_status_prom_t *w, size_t need)
{
    out_t      *o = w->data;
    pc_chain_t *cl;
    pc_buf_t   *b;

    if (need > OUT_BUF_SIZE)
        return PC_ERROR;
    if (o->cur != NULL)
        o->cur->last = w->pos;
    cl = pc_palloc(o->r->pool, sizeof(*cl));
    if (cl == NULL || (b = pc_buf_get(OUT_BUF_SIZE)) == NULL)
        return PC_ERROR;
    if (o->head == NULL && pc_pool_cleanup_add(o->r->pool, out_release, o) != PC_OK) {
        pc_buf_put(b);
        return PC_ERROR;
    }
    cl->buf = b;
    cl->next = NULL;
    *o->tail = cl;
    o->tail = &cl->next;
    o->cur = b;
    w->pos = b->pos;
    w->end = b->end;
    return PC_OK;
}

static const char *
type_name(pc_metric_kind_e kind)
{
    switch (kind) {
    case PC_METRIC_COUNTER:
        return "counter";
    case PC_METRIC_HISTOGRAM:
        return "histogram";
    default:
        return "gauge";
    }
}

/* "portcullis_" + name into buf (128 bytes); returns it as a string. */
static pc_str_t
full_name(u_char *buf, const char *name)
{
    size_t   n = pc_min(strlen(name), 116);
    pc_str_t s;

    s.data = buf;
    s.len = (size_t) (pc_cpymem(pc_cpymem(buf, "portcullis_", 11), name, n) - buf);
    return s;
}

/* What a collector's emit needs to write one sample. */
typedef struct {
    pc_status_prom_t          *w;
    const pc_metric_family_t  *f;
    const pc_str_t            *name;
} emit_ctx_t;

static void
emit_sample(void *data, const pc_str_t *values, uint64_t v)
{
    emit_ctx_t        *e = data;
    pc_status_label_t  labels[PC_METRICS_LABELS_MAX];
    uint32_t           i;

    for (i = 0; i < e->f->nlabels; i++) {
        labels[i].name = e->f->def->labels[i];
        labels[i].value = values[i];
    }
    if (e->f->def->kind == PC_METRIC_COUNTER)
        pc_status_prom_sample_u(e->w, e->name, labels, e->f->nlabels, v);
    else
        pc_status_prom_sample_i(e->w, e->name, labels, e->f->nlabels, (int64_t) v);
}

static void
render_family(pc_status_prom_t *w, pc_cycle_t *cycle, const pc_metric_family_t *f)
{
    const pc_metric_def_t *def = f->def;
    pc_status_label_t      labels[PC_METRICS_LABELS_MAX];
    uint64_t               vals[PC_METRICS_BOUNDS_MAX + 2];
    u_char                 nbuf[128];
    pc_str_t               name = full_name(nbuf, def->name);
    const pc_metric_t     *m;
    emit_ctx_t             e = { w, f, &name };
    uint32_t               i;

    pc_status_prom_family(w, &name, type_name(def->kind), def->help);
    for (m = f->series; m != NULL; m = m->next) {
        for (i = 0; i < f->nlabels; i++) {
            labels[i].name = def->labels[i];
            labels[i].value = m->values[i];
        }
        if (pc_metrics_read(m, vals) == 0)
            continue;
        if (def->kind == PC_METRIC_COUNTER)
            pc_status_prom_sample_u(w, &name, labels, f->nlabels, vals[0]);
        else if (def->kind == PC_METRIC_HISTOGRAM)
            pc_status_prom_histogram(w, &name, labels, f->nlabels, def->bounds,
                def->nbounds, def->unit, vals, vals[def->nbounds + 1]);
        else
            pc_status_prom_sample_i(w, &name, labels, f->nlabels, (int64_t) vals[0]);
    }
    if (f->collect != NULL)
        f->collect(cycle, f, emit_sample, &e);
}

/* SPEC §7 families of modules that may not be built or configured: their
 * HELP and TYPE are always there, samples once a module declares them. */
static const struct {
    const char *name, *type, *help;
} placeholders[] = {
    { "tls_handshakes_total", "counter", "TLS handshakes, by result." },
    { "tls_client_verify_failures_total", "counter",
      "Client certificates that failed verification, by reason." },
    { "tls_certificate_expiry_timestamp_seconds", "gauge",
      "Expiry time of configured certificates (server) and CA bundles (client_ca)." },
    { "ratelimit_decisions_total", "counter", "Rate-limit decisions, by zone and decision." },
};

static bool
declared(const pc_metrics_t *reg, const char *name)
{
    const pc_metric_family_t *f;

    for (f = reg != NULL ? reg->families : NULL; f != NULL; f = f->next) {
        if (strcmp(f->def->name, name) == 0)
            return true;
    }
    return false;
}

/* Families about the instance, from the master's shared page. */
static void
render_instance(pc_status_prom_t *w)
{
    volatile pc_process_stats_t *ps = pc_process_stats;
    pc_status_label_t            l[3];
    u_char                       nbuf[128], num[PC_STATUS_PROM_NUM_MAX];
    pc_str_t                     name;
    int64_t                      last = ps != NULL ? ps->last_reload_ok_ms : 0;

    name = full_name(nbuf, "config_reloads_total");
    pc_status_prom_family(w, &name, "counter", "Configuration reloads, by result.");
    l[0].name = "result";
    pc_str_set(&l[0].value, "success");
    pc_status_prom_sample_u(w, &name, l, 1, ps != NULL ? ps->reloads_ok : 0);
    pc_str_set(&l[0].value, "failure");
    pc_status_prom_sample_u(w, &name, l, 1, ps != NULL ? ps->reloads_failed : 0);

    name = full_name(nbuf, "config_last_reload_success_timestamp_seconds");
    pc_status_prom_family(w, &name, "gauge",
        "Unix time of the last successful configuration load (start or reload).");
    pc_status_prom_sample(w, &name, "", NULL, 0, NULL, num,
        (size_t) (pc_status_prom_fixed(num, (uint64_t) pc_max(last, 0), 1000) - num));

    name = full_name(nbuf, "workers");
    pc_status_prom_family(w, &name, "gauge", "Worker processes of the current configuration.");
    pc_status_prom_sample_u(w, &name, NULL, 0, ps != NULL ? ps->workers : 1);

    name = full_name(nbuf, "build_info");
    pc_status_prom_family(w, &name, "gauge", "Build information; the value is always 1.");
    l[0].name = "version";
    pc_str_set(&l[0].value, PC_VERSION);
    l[1].name = "commit";
    pc_str_set(&l[1].value, PC_GIT_COMMIT);
    l[2].name = "openssl";
    l[2].value.data = (u_char *) OpenSSL_version(OPENSSL_VERSION_STRING);
    l[2].value.len = strlen((const char *) l[2].value.data);
    pc_status_prom_sample_u(w, &name, l, 3, 1);
}

/* `metrics`: render everything into pooled buffers, then send them with
 * a Content-Length (a consistent snapshot, however slow the client). */
static pc_rc_t
send_metrics(pc_http_request_t *r)
{
    pc_metrics_t             *reg = pc_metrics_of(r->c->cycle);
    const pc_metric_family_t *f;
    pc_status_prom_t          w;
    u_char                    nbuf[128];
    pc_str_t                  name;
    out_t                    *o;
    size_t                    i;

    o = pc_pcalloc(r->pool, sizeof(*o));
    if (o == NULL)
        return PC_ERROR;
    o->r = r;
    o->tail = &o->head;
    publish();
    pc_metrics_scan(reg);
    pc_status_prom_init(&w, NULL, NULL, out_more, o);
    if (out_more(&w, 0) != PC_OK)
        return PC_ERROR;
    for (f = reg != NULL ? reg->families : NULL; f != NULL; f = f->next)
        render_family(&w, r->c->cycle, f);
    render_instance(&w);
    for (i = 0; i < pc_nelems(placeholders); i++) {
        if (declared(reg, placeholders[i].name))
            continue;
        name = full_name(nbuf, placeholders[i].name);
        pc_status_prom_family(&w, &name, placeholders[i].type, placeholders[i].help);
    }
    if (w.failed)
        return PC_ERROR;
    o->cur->last = w.pos;
    o->cur->last_buf = 1;
    r->status = 200;
    r->out_content_length = (int64_t) w.total;
    if (pc_http_header_out_set(r, &(pc_str_t) pc_string("Content-Type"), &prom_type) != PC_OK
        || pc_http_send_header(r) != PC_OK)
        return PC_ERROR;
    return pc_http_send_body(r, o->head, 1) == PC_ERROR ? PC_ERROR : PC_DONE;
}

/* Does some worker consider a peer of su usable? */
static bool
upstream_usable(const pc_status_upstream_t *su)
{
    uint64_t v;
    uint32_t k;

    for (k = 0; k < su->u->npeers; k++) {
        if (pc_metrics_read(su->peer_up[k], &v) == 0)
            v = !su->u->sorted[k].down;     /* series lost: config view */
        if ((int64_t) v > 0)
            return true;
    }
    return false;
}

static pc_rc_t
send_ready(pc_http_request_t *r)
{
    pc_status_main_conf_t *smcf = pc_cycle_main_conf(r->c->cycle, pc_status_module);
    pc_str_t               body = pc_string("ready\n");
    const pc_http_upstream_t *bad = NULL;
    uint32_t               i;
    u_char                *p;

    if (status_draining) {
        pc_str_set(&body, "not ready: shutting down\n");
        return pc_http_send_simple(r, 503, &text_plain, &body);
    }
    publish();
    pc_metrics_scan(pc_metrics_of(r->c->cycle));
    for (i = 0; smcf != NULL && i < smcf->nups && bad == NULL; i++) {
        if (smcf->ups[i].u != NULL && !upstream_usable(&smcf->ups[i]))
            bad = smcf->ups[i].u;
    }
    if (bad == NULL)
        return pc_http_send_simple(r, 200, &text_plain, &body);
    p = pc_pnalloc(r->pool, bad->name.len + 64);
    if (p == NULL)
        return PC_ERROR;
    body.data = p;
    p = pc_cpymem(p, "not ready: upstream ", 20);
    p = pc_cpymem(p, bad->name.data, bad->name.len);
    p = pc_cpymem(p, " has no usable server\n", 22);
    body.len = (size_t) (p - body.data);
    return pc_http_send_simple(r, 503, &text_plain, &body);
}

/* Authorization: Bearer TOKEN, compared as SHA-256 digests in constant
 * time (neither the token's bytes nor its length leak through timing).
 * Exactly one Authorization field: with two, which one a component in
 * front of us or behind us reads is anybody's guess (nginx: 400). */
static bool
authorized(pc_http_request_t *r, const pc_status_conf_t *scf)
{
    pc_str_t v = pc_http_header_in(r, "authorization", 13);
    u_char   digest[SHA256_DIGEST_LENGTH];
    size_t   i = 6;
    uint32_t k, n = 0;

    for (k = 0; k < r->head.nheaders; k++) {
        if (r->head.headers[k].name_len == 13
            && pc_strncasecmp(r->head_buf + r->head.headers[k].name,
                              (const u_char *) "authorization", 13) == 0)
            n++;
    }
    if (n != 1 || v.data == NULL || v.len < 8 || pc_strncasecmp(v.data, (const u_char *) "bearer", 6) != 0
        || (v.data[6] != ' ' && v.data[6] != '\t'))
        return false;
    while (i < v.len && (v.data[i] == ' ' || v.data[i] == '\t'))
        i++;
    SHA256(v.data + i, v.len - i, digest);
    return CRYPTO_memcmp(digest, scf->token_sha256, sizeof(digest)) == 0;
}

/* CONTENT: metrics / health / ready for the locations that ask for one. */
static pc_rc_t
status_content(pc_http_request_t *r)
{
    static const pc_str_t allow = pc_string("Allow"), allow_v = pc_string("GET, HEAD");
    static const pc_str_t www = pc_string("WWW-Authenticate");
    static const pc_str_t www_v = pc_string("Bearer realm=\"portcullis\"");
    static const pc_str_t ok = pc_string("ok\n");
    pc_status_conf_t     *scf = r->loc_conf != NULL ? pc_http_conf(r, pc_status_module) : NULL;
    pc_rc_t               rc;

    if (scf == NULL || scf->handler <= PC_STATUS_NONE)
        return PC_DECLINED;
    pc_http_body_discard(r);
    if (scf->auth_token.data != NULL && !authorized(r, scf)) {
        r->error_reason = "bearer token required";
        return pc_http_header_out_set(r, &www, &www_v) == PC_OK ? 401 : PC_ERROR;
    }
    if (r->method != PC_HTTP_GET && r->method != PC_HTTP_HEAD) {
        r->error_reason = "method not allowed";
        return pc_http_header_out_set(r, &allow, &allow_v) == PC_OK ? 405 : PC_ERROR;
    }
    if (scf->handler == PC_STATUS_METRICS)
        rc = send_metrics(r);
    else if (scf->handler == PC_STATUS_READY)
        rc = send_ready(r);
    else
        rc = pc_http_send_simple(r, 200, &text_plain, &ok);
    return rc == PC_ERROR || rc >= 100 ? rc : PC_DONE;
}

const pc_http_hook_t pc_status_hooks[] = {
    { PC_HTTP_PHASE_CONTENT, PC_STATUS_ORDER_CONTENT, status_content },
    { PC_HTTP_PHASE_LOG, PC_STATUS_ORDER_LOG, status_log },
    PC_HOOK_END
};

/* ------------------------------------------------------------ worker */

/* Contract: init_worker.  Registers the drain hook (ready → 503), and when
 * metrics are declared claims this worker's slot and starts publishing its
 * gauges.  PC_OK (a worker without a slot serves, uncounted). */
pc_rc_t
pc_status_init_worker(pc_worker_t *wk)
{
    pc_status_main_conf_t *smcf = pc_cycle_main_conf(wk->cycle, pc_status_module);

    status_draining = false;
    (void) pc_process_on_drain(on_drain);
    if (smcf == NULL || !smcf->registered)
        return PC_OK;
    status_worker.cycle = wk->cycle;
    (void) pc_metrics_attach(wk->cycle, wk->id);
    wk->accepted = smcf->accepted;
    ev_timer_init(&status_worker.publish, on_publish, PC_STATUS_PUBLISH_MS / 1000.,
                  PC_STATUS_PUBLISH_MS / 1000.);
    ev_timer_start(wk->loop, &status_worker.publish);
    ev_unref(wk->loop);     /* it must not keep a draining worker alive */
    publish();
    return PC_OK;
}

/* Contract: exit_worker.  Stops publishing and gives the slot back
 * (gauges to zero; counters stay for the next owner). */
void
pc_status_exit_worker(pc_worker_t *wk)
{
    if (status_worker.cycle == NULL)
        return;
    ev_ref(wk->loop);
    ev_timer_stop(wk->loop, &status_worker.publish);
    wk->accepted = NULL;
    pc_metrics_detach(status_worker.cycle);
    status_worker.cycle = NULL;
}
