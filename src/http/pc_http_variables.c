/*
 * pc_http_variables.c -- the variable registry, the core variables of
 * SPEC §5 that need no proxy, and compiled templates.
 *
 * The registry is simply the `variables` table of every compiled-in module
 * (pc_modules[]); the core's own table is pc_http_core_variables, hung on
 * pc_http_core_module.  Lookup happens at configuration time only: a
 * template is compiled into segments (constant text, then one getter) so the
 * request path never looks a name up.
 *
 * Prefix variables ($http_NAME, $arg_NAME, ...): the table row's name is the
 * prefix ("http_") and has PC_VAR_PREFIX.  Their getter receives, as data, a
 * `const pc_str_t *` holding the rest of the name as written ("user_agent")
 * instead of the row's data; the pointed-to string lives as long as the
 * template (or the call, for pc_http_var_value).
 *
 * Forward references: as in nginx, a variable the configuration defines
 * (a map's $dst, a named capture) may be used before its definition.  A
 * use of a name nobody knows yet records a pending entry in the list of
 * defined variables (pc_http_var_use) and compiles to a call through that
 * entry (fwd_get); the definition fills the entry in place; the end of
 * the http block reports every entry still pending
 * (pc_http_var_check_forward).
 */
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "http/pc_http.h"
#include "http/pc_http_conf.h"
#include "http/pc_http_proxy.h"

/* One compiled piece: constant text followed by at most one variable. */
typedef struct {
    pc_str_t             text;
    pc_http_var_get_pt   get;      /* NULL: text only (the tail)          */
    uintptr_t            data;
    pc_str_t             suffix;   /* rest of the name of a prefix variable */
} seg_t;

struct pc_http_template_s {
    seg_t               *segs;
    uint32_t             nsegs;
    uint32_t             nvars;
    pc_str_t             text;     /* the whole value when nvars == 0     */
};

#define VALS_ON_STACK  16

/* ---------------------------------------------------------------------
 * Registry
 * ------------------------------------------------------------------- */

/*
 * Variables the configuration defines (pc_http_var_define): a list in the
 * pool of the cycle being loaded.  Lookups only happen while a cycle is
 * configured, and a worker only ever serves the cycle it was forked with,
 * so one list per process is enough; it is emptied when a new load begins
 * and when its pool goes.
 *
 * An entry is pending while the name has been used (pc_http_var_use) but
 * not defined yet: var.get is NULL and `use` is the first use's node.
 * Uses compiled then call `fwd` (fwd_get with the entry as data), which
 * keeps working once pc_http_var_define fills `var` in place.
 */
typedef struct dyn_var_s {
    pc_http_variable_t     var;     /* the definition (get NULL: pending) */
    pc_http_variable_t     fwd;     /* stand-in for uses before it        */
    const pc_conf_node_t  *use;     /* first use while pending: FILE:LINE */
    unsigned               pending:1;
    unsigned               busy:1;  /* fwd_get is evaluating it: a cycle  */
    struct dyn_var_s      *next;
} dyn_var_t;

static const pc_pool_t  *dyn_owner;
static const pc_cycle_t *dyn_cycle;     /* the load: a pool may hold several */
static dyn_var_t        *dyn_vars;

/* The list belongs to the load cf is configuring. */
static bool
dyn_current(const pc_conf_t *cf)
{
    return dyn_owner == cf->pool && dyn_cycle == cf->cycle;
}

static void
dyn_forget(void *pool)
{
    if (dyn_owner == pool) {
        dyn_owner = NULL;
        dyn_cycle = NULL;
        dyn_vars = NULL;
    }
}

/* Contract: see pc_http.h.  Registers a cleanup on cf->pool the first
 * time it is called for that pool.  A new cycle in the same pool (unit
 * tests load several configurations into one) starts a new list too, so
 * that no pending name of an earlier load leaks into the next one. */
pc_rc_t
pc_http_var_begin(pc_conf_t *cf)
{
    if (dyn_current(cf))
        return PC_OK;
    if (dyn_owner != cf->pool
        && pc_pool_cleanup_add(cf->pool, dyn_forget, cf->pool) != PC_OK)
        return PC_ERROR;
    dyn_owner = cf->pool;
    dyn_cycle = cf->cycle;
    dyn_vars = NULL;
    return PC_OK;
}

/* The entry called name (case-insensitive), pending or not; NULL if none. */
static dyn_var_t *
dyn_lookup(const pc_str_t *name)
{
    dyn_var_t *dv;

    for (dv = dyn_vars; dv != NULL; dv = dv->next)
        if (strlen(dv->var.name) == name->len
            && pc_strncasecmp((const u_char *) dv->var.name, name->data, name->len) == 0)
            return dv;
    return NULL;
}

/* A new entry called name (copied, NUL-terminated) at the list's end. */
static dyn_var_t *
dyn_add(pc_conf_t *cf, const pc_str_t *name)
{
    dyn_var_t *dv, **tail;
    u_char *copy;

    if (pc_http_var_begin(cf) != PC_OK)
        return NULL;
    dv = pc_pcalloc(cf->pool, sizeof(*dv));
    copy = pc_pstrdup(cf->pool, name->data, name->len);
    if (dv == NULL || copy == NULL)
        return NULL;
    dv->var.name = (const char *) copy;
    for (tail = &dyn_vars; *tail != NULL; tail = &(*tail)->next) { }
    *tail = dv;
    return dv;
}

/* Contract: see pc_http.h.  The name is copied (NUL-terminated) into
 * cf->pool; the caller has checked that it is not taken.  A pending
 * entry of that name (an earlier use) is filled in place, so the uses
 * compiled before now reach this definition. */
const pc_http_variable_t *
pc_http_var_define(pc_conf_t *cf, const pc_str_t *name, pc_http_var_get_pt get,
    uintptr_t data, unsigned flags)
{
    dyn_var_t *dv;
    u_char *copy;

    if (pc_http_var_begin(cf) != PC_OK)
        return NULL;
    dv = dyn_lookup(name);
    if (dv == NULL || !dv->pending) {
        dv = dyn_add(cf, name);
    } else if ((copy = pc_pstrdup(cf->pool, name->data, name->len)) != NULL) {
        dv->var.name = (const char *) copy;     /* the definition's spelling */
    } else {
        return NULL;
    }
    if (dv == NULL)
        return NULL;
    dv->var.get = get;
    dv->var.data = data;
    dv->var.flags = flags;
    dv->pending = 0;
    dv->use = NULL;
    return &dv->var;
}

/* A defined (not pending) variable called name, or NULL. */
static const pc_http_variable_t *
dyn_find(const pc_str_t *name)
{
    const dyn_var_t *dv = dyn_lookup(name);

    return dv != NULL && !dv->pending ? &dv->var : NULL;
}

/*
 * The getter of a use compiled before the definition (data: the entry).
 * Every reference cycle of variables has such a use (a use of an already
 * defined name cannot point forward), so the busy flag catches each one:
 * like nginx, a cycle logs an error and the variable is empty.
 */
static pc_rc_t
fwd_get(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    dyn_var_t *dv = (dyn_var_t *) data;
    pc_rc_t rc;

    if (dv->var.get == NULL)
        return PC_DECLINED;         /* never defined: the load failed */
    if (dv->busy) {
        pc_log(PC_LOG_ERR, 0, "cycle while evaluating variable \"$%s\"", dv->var.name);
        return PC_DECLINED;
    }
    dv->busy = 1;
    rc = dv->var.get(r, out, dv->var.data);
    dv->busy = 0;
    return rc;
}

/* Contract: see pc_http.h. */
const pc_http_variable_t *
pc_http_var_use(pc_conf_t *cf, const pc_str_t *name, pc_str_t *suffix, bool *forward)
{
    const pc_http_variable_t *v = pc_http_var_find(name, suffix);
    dyn_var_t *dv;

    *forward = false;
    if (v != NULL)
        return v;
    dv = dyn_current(cf) ? dyn_lookup(name) : NULL;
    if (dv == NULL) {
        if ((dv = dyn_add(cf, name)) == NULL) {
            pc_conf_error(cf, "out of memory");
            return NULL;
        }
        dv->pending = 1;
        dv->use = cf->node;
        /* generic: no flag promises anything of the value to come */
        dv->fwd = (pc_http_variable_t) { dv->var.name, fwd_get, (uintptr_t) dv,
                                         PC_VAR_NOCACHE };
    }
    if (suffix)
        *suffix = (pc_str_t) pc_null_string;
    *forward = true;
    return &dv->fwd;
}

/* Contract: see pc_http.h.  Each name once, at its first use. */
pc_rc_t
pc_http_var_check_forward(pc_conf_t *cf)
{
    dyn_var_t *dv;
    pc_rc_t rc = PC_OK;

    if (!dyn_current(cf))
        return PC_OK;
    for (dv = dyn_vars; dv != NULL; dv = dv->next) {
        if (!dv->pending)
            continue;
        pc_conf_error_at(cf, dv->use, "unknown variable \"$%s\"", dv->var.name);
        dv->use = NULL;             /* the tree is not kept after the load */
        rc = PC_ERROR;
    }
    return rc;
}

static bool
name_prefix_ci(const char *prefix, const pc_str_t *name)
{
    size_t n = strlen(prefix);

    return name->len > n && pc_strncasecmp((const u_char *) prefix, name->data, n) == 0;
}

/*
 * Contract: the variable called name (case-insensitive, without '$') among
 * every module's table: an exact name first, then a name the configuration
 * defined (pc_http_var_define), else the longest prefix
 * variable whose prefix is followed by at least one byte (*suffix gets
 * that rest when suffix is not NULL).  NULL when unknown.
 */
const pc_http_variable_t *
pc_http_var_find(const pc_str_t *name, pc_str_t *suffix)
{
    const pc_http_variable_t *v, *best = NULL;
    size_t best_len = 0, n;
    unsigned i;

    for (i = 0; pc_modules[i] != NULL; i++) {
        for (v = pc_modules[i]->variables; v && v->name; v++) {
            n = strlen(v->name);
            if (!(v->flags & PC_VAR_PREFIX)) {
                if (n == name->len
                    && pc_strncasecmp((const u_char *) v->name, name->data, n) == 0)
                {
                    if (suffix)
                        *suffix = (pc_str_t) pc_null_string;
                    return v;
                }
            } else if (name_prefix_ci(v->name, name) && (best == NULL || n > best_len)) {
                best = v;
                best_len = n;
            }
        }
    }
    /* a defined name never collides with a static one (checked when
     * defined), so looking it up after the exact static names is safe */
    if ((v = dyn_find(name)) != NULL) {
        if (suffix)
            *suffix = (pc_str_t) pc_null_string;
        return v;
    }
    if (best != NULL && suffix != NULL) {
        suffix->data = name->data + best_len;
        suffix->len = name->len - best_len;
    }
    return best;
}

/*
 * Contract: evaluates the variable called name for r (slow path: looks the
 * name up each call).  PC_OK with *out, PC_DECLINED when unknown or unset
 * (*out empty), PC_ERROR on ENOMEM.
 */
pc_rc_t
pc_http_var_value(pc_http_request_t *r, const pc_str_t *name, pc_str_t *out)
{
    const pc_http_variable_t *v;
    pc_str_t suffix;
    pc_rc_t rc;

    *out = (pc_str_t) pc_null_string;
    v = pc_http_var_find(name, &suffix);
    if (v == NULL)
        return PC_DECLINED;
    rc = v->get(r, out, (v->flags & PC_VAR_PREFIX) ? (uintptr_t) &suffix : v->data);
    if (rc != PC_OK) {
        *out = (pc_str_t) pc_null_string;
        return rc == PC_ERROR ? PC_ERROR : PC_DECLINED;
    }
    return PC_OK;
}

/* ---------------------------------------------------------------------
 * Templates
 * ------------------------------------------------------------------- */

static bool
is_name_char(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_';
}

/* Lex the name after a '$' at *pp: "${name}", "$123" (digits only, regex
 * captures), or "$name".  Advances *pp; name empty on a syntax error. */
static void
lex_var_name(const u_char **pp, const u_char *end, pc_str_t *name)
{
    const u_char *p = *pp, *q;

    name->data = (u_char *) p;
    name->len = 0;
    if (p < end && *p == '{') {
        for (q = p + 1; q < end && is_name_char(*q); q++) { }
        if (q == end || *q != '}' || q == p + 1)
            return;
        name->data = (u_char *) p + 1;
        name->len = (size_t) (q - p - 1);
        *pp = q + 1;
        return;
    }
    if (p < end && *p >= '0' && *p <= '9') {
        for (q = p; q < end && *q >= '0' && *q <= '9'; q++) { }
    } else {
        for (q = p; q < end && is_name_char(*q); q++) { }
    }
    name->len = (size_t) (q - p);
    *pp = q;
}

static pc_rc_t
push_var(pc_conf_t *cf, pc_array_t *segs, const u_char *text, size_t tlen,
    const pc_str_t *src, const pc_str_t *name)
{
    const pc_http_variable_t *v;
    pc_str_t suffix;
    bool forward;
    seg_t *sg;

    if (name->len == 0) {
        pc_conf_error(cf, "invalid variable name in \"%.*s\"", (int) src->len,
                      (const char *) src->data);
        return PC_ERROR;
    }
    /* a name not defined yet is a forward use, checked at the end */
    v = pc_http_var_use(cf, name, &suffix, &forward);
    if (v == NULL)
        return PC_ERROR;
    sg = pc_array_push(segs);
    if (sg == NULL)
        return PC_ERROR;
    sg->text.data = (u_char *) text;
    sg->text.len = tlen;
    sg->get = v->get;
    sg->data = v->data;
    if (v->flags & PC_VAR_PREFIX) {
        /* copy: the suffix must outlive the config tree's temp memory */
        sg->suffix.data = pc_pstrdup(cf->pool, suffix.data, suffix.len);
        sg->suffix.len = suffix.len;
        if (sg->suffix.data == NULL)
            return PC_ERROR;
        sg->data = 0;   /* set to &seg->suffix once the array stops moving */
    }
    return PC_OK;
}

/*
 * Contract: compiles src ("text $var ${var}text") into a template in the
 * cycle pool; src is copied.  Rejects a '$' not followed by a name, with
 * pc_conf_error at cf->node.  A variable not defined yet is a forward use
 * (pc_http_var_use), reported by pc_http_var_check_forward if it stays
 * undefined.  NULL on error.
 */
pc_http_template_t *
pc_http_template_compile(pc_conf_t *cf, const pc_str_t *src)
{
    pc_http_template_t *t;
    const u_char *p, *end, *start;
    u_char *copy;
    pc_array_t segs;
    pc_str_t name;
    seg_t *sg;
    uint32_t i;

    t = pc_pcalloc(cf->pool, sizeof(*t));
    copy = pc_pstrdup(cf->pool, src->data ? src->data : (const u_char *) "", src->len);
    if (t == NULL || copy == NULL || pc_array_init(&segs, cf->pool, 4, sizeof(seg_t)) != PC_OK)
        return NULL;
    t->text.data = copy;
    t->text.len = src->len;
    p = start = copy;
    end = copy + src->len;
    while (p < end) {
        if (*p != '$') {
            p++;
            continue;
        }
        const u_char *text = start;
        size_t tlen = (size_t) (p - start);

        p++;
        lex_var_name(&p, end, &name);
        if (push_var(cf, &segs, text, tlen, &t->text, &name) != PC_OK)
            return NULL;
        t->nvars++;
        start = p;
    }
    if (t->nvars == 0)
        return t;
    if (start < end) {
        sg = pc_array_push(&segs);
        if (sg == NULL)
            return NULL;
        sg->text.data = (u_char *) start;
        sg->text.len = (size_t) (end - start);
    }
    t->segs = segs.elts;
    t->nsegs = segs.nelts;
    for (i = 0; i < t->nsegs; i++)
        if (t->segs[i].get != NULL && t->segs[i].suffix.data != NULL)
            t->segs[i].data = (uintptr_t) &t->segs[i].suffix;
    return t;
}

/* Contract: true when t has no variables; *text (if not NULL) gets its text. */
bool
pc_http_template_const(const pc_http_template_t *t, pc_str_t *text)
{
    if (t == NULL || t->nvars != 0)
        return false;
    if (text != NULL)
        *text = t->text;
    return true;
}

/*
 * Contract: evaluates t for r.  A constant template returns its text
 * without copying; otherwise the result is one allocation in r->pool.  An
 * unset variable (PC_DECLINED) is empty.  PC_OK, or PC_ERROR on ENOMEM or a
 * getter error.
 */
pc_rc_t
pc_http_template_eval(pc_http_request_t *r, const pc_http_template_t *t,
    pc_str_t *out)
{
    pc_str_t stack[VALS_ON_STACK], *vals = stack;
    size_t len = 0;
    uint32_t i;
    u_char *p;
    pc_rc_t rc;

    if (t == NULL || t->nvars == 0) {
        *out = t ? t->text : (pc_str_t) pc_null_string;
        return PC_OK;
    }
    if (t->nsegs > VALS_ON_STACK) {
        vals = pc_palloc(r->pool, t->nsegs * sizeof(pc_str_t));
        if (vals == NULL)
            return PC_ERROR;
    }
    for (i = 0; i < t->nsegs; i++) {
        vals[i] = (pc_str_t) pc_null_string;
        if (t->segs[i].get != NULL) {
            rc = t->segs[i].get(r, &vals[i], t->segs[i].data);
            if (rc == PC_ERROR)
                return PC_ERROR;
            if (rc != PC_OK || vals[i].data == NULL)
                vals[i] = (pc_str_t) pc_null_string;
        }
        len += t->segs[i].text.len + vals[i].len;
    }
    p = pc_pnalloc(r->pool, len + 1);
    if (p == NULL)
        return PC_ERROR;
    out->data = p;
    out->len = len;
    for (i = 0; i < t->nsegs; i++) {
        p = pc_cpymem(p, t->segs[i].text.data, t->segs[i].text.len);
        if (vals[i].len)
            p = pc_cpymem(p, vals[i].data, vals[i].len);
    }
    *p = '\0';
    return PC_OK;
}

/* ---------------------------------------------------------------------
 * Getters
 * ------------------------------------------------------------------- */

/* A decimal number in r->pool. */
static pc_rc_t
num_value(pc_http_request_t *r, pc_str_t *out, uint64_t v)
{
    u_char *p = pc_pnalloc(r->pool, 20);

    if (p == NULL)
        return PC_ERROR;
    out->data = p;
    out->len = (size_t) (pc_u64toa(p, v) - p);
    return PC_OK;
}

/* "SEC.mmm" from milliseconds, in r->pool. */
static pc_rc_t
msec_value(pc_http_request_t *r, pc_str_t *out, int64_t ms)
{
    u_char *p = pc_pnalloc(r->pool, 24), *q;
    uint64_t frac;

    if (p == NULL)
        return PC_ERROR;
    if (ms < 0)
        ms = 0;
    frac = (uint64_t) ms % 1000;
    q = pc_u64toa(p, (uint64_t) ms / 1000);
    *q++ = '.';
    *q++ = (u_char) ('0' + frac / 100);
    *q++ = (u_char) ('0' + frac / 10 % 10);
    *q++ = (u_char) ('0' + frac % 10);
    out->data = p;
    out->len = (size_t) (q - p);
    return PC_OK;
}

static pc_rc_t
copy_value(pc_http_request_t *r, pc_str_t *out, const pc_str_t *v)
{
    out->data = pc_pnalloc(r->pool, v->len ? v->len : 1);
    if (out->data == NULL)
        return PC_ERROR;
    if (v->len)
        memcpy(out->data, v->data, v->len);
    out->len = v->len;
    return PC_OK;
}

/* data = offset of a pc_str_t field of the request. */
static pc_rc_t
var_req_str(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    *out = *(const pc_str_t *) ((const u_char *) r + data);
    if (out->data == NULL) {
        out->len = 0;
        out->data = (u_char *) "";
    }
    return PC_OK;
}

/* data = offset of a uint64_t field of the request. */
static pc_rc_t
var_req_u64(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    return num_value(r, out, *(const uint64_t *) ((const u_char *) r + data));
}

static pc_rc_t
var_remote_addr(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    PC_UNUSED(data);
    if (r->remote_addr.len > 0) {
        *out = r->remote_addr;
        return PC_OK;
    }
    if (r->c == NULL)
        return PC_DECLINED;
    return pc_http_addr_text(r->pool, (const struct sockaddr *) &r->c->peer, out);
}

static uint16_t
sockaddr_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *) sa)->sin_port);
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *) sa)->sin6_port);
    return 0;
}

static pc_rc_t
var_remote_port(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    uint16_t port = r->remote_port;

    PC_UNUSED(data);
    if (port == 0 && r->remote_addr.len == 0 && r->c != NULL)
        port = sockaddr_port((const struct sockaddr *) &r->c->peer);
    if (port == 0) {
        /* real_ip from a field without a port: none is known (nginx) */
        *out = (pc_str_t) pc_null_string;
        return PC_OK;
    }
    return num_value(r, out, port);
}

/* data: 0 = $server_addr, 1 = $server_port */
static pc_rc_t
var_server(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    const struct sockaddr *sa;
    pc_sockaddr_t local;

    if (r->c == NULL || pc_conn_local_addr(r->c, &local) == 0)
        return PC_DECLINED;
    sa = &local.sa;
    if (data == 1)
        return num_value(r, out, sockaddr_port(sa));
    return pc_http_addr_text(r->pool, sa, out);
}

static pc_rc_t
var_scheme(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    PC_UNUSED(data);
    if (r->c != NULL && r->c->ssl != NULL)
        pc_str_set(out, "https");
    else
        pc_str_set(out, "http");
    return PC_OK;
}

/* $host: the request's host, else the server's first plain name. */
static pc_rc_t
var_host(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    pc_http_server_name_t *sn;
    uint32_t i;

    PC_UNUSED(data);
    if (r->host.len > 0) {
        *out = r->host;
        return PC_OK;
    }
    pc_str_set(out, "");
    if (r->server == NULL)
        return PC_OK;
    sn = r->server->names.elts;
    for (i = 0; i < r->server->names.nelts; i++) {
        if (sn[i].kind == PC_HTTP_NAME_EXACT) {
            *out = sn[i].name;
            break;
        }
    }
    return PC_OK;
}

/* $https: "on" over TLS, else empty (nginx). */
static pc_rc_t
var_https(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    PC_UNUSED(data);
    if (r->c != NULL && r->c->ssl != NULL)
        pc_str_set(out, "on");
    else
        pc_str_set(out, "");
    return PC_OK;
}

/* $is_args: "?" when the (possibly rewritten) query is not empty. */
static pc_rc_t
var_is_args(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    PC_UNUSED(data);
    if (r->args.len > 0)
        pc_str_set(out, "?");
    else
        pc_str_set(out, "");
    return PC_OK;
}

/* $server_name: the chosen server block's first server_name as nginx
 * shows it (pc_http_server_name_text); "" when the block has none. */
static pc_rc_t
var_server_name(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    PC_UNUSED(data);
    if (r->server == NULL) {
        pc_str_set(out, "");
        return PC_OK;
    }
    return pc_http_server_name_text(r->pool, r->server, out);
}

static pc_rc_t
var_status(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    u_char *p;
    int s = r->status;

    PC_UNUSED(data);
    if (s < 0 || s > 999)
        s = 0;
    p = pc_pnalloc(r->pool, 3);
    if (p == NULL)
        return PC_ERROR;
    p[0] = (u_char) ('0' + s / 100);
    p[1] = (u_char) ('0' + s / 10 % 10);
    p[2] = (u_char) ('0' + s % 10);
    out->data = p;
    out->len = 3;
    return PC_OK;
}

static pc_rc_t
var_request_time(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    PC_UNUSED(data);
    return msec_value(r, out, pc_time.mono_ms - r->start_mono_ms);
}

/* data: 0 = $msec, 1 = $time_local, 2 = $time_iso8601.  Copied, because
 * the time cache is rewritten on the next loop iteration. */
static pc_rc_t
var_time(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    if (data == 0)
        return msec_value(r, out, pc_time.wall_ms);
    return copy_value(r, out, data == 1 ? &pc_time.log_local : &pc_time.iso8601);
}

static pc_rc_t
var_connection(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    PC_UNUSED(data);
    return r->c ? num_value(r, out, r->c->number) : PC_DECLINED;
}

static pc_rc_t
var_pid(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    PC_UNUSED(data);
    return num_value(r, out, (uint64_t) getpid());
}

/* Header name h equals variable suffix s: case-insensitive, '_' for '-'. */
static bool
hdr_name_eq(const u_char *h, size_t hlen, const pc_str_t *s)
{
    size_t i;

    if (hlen != s->len)
        return false;
    for (i = 0; i < hlen; i++) {
        if (h[i] == s->data[i])
            continue;
        if (pc_tolower(h[i]) != pc_tolower(s->data[i]) && !(h[i] == '-' && s->data[i] == '_'))
            return false;
    }
    return true;
}

/* A list of field values being joined: the first one, how many, and the
 * joined length; a first pass fills it, a second copies (join_start, join_put). */
typedef struct {
    pc_str_t             first;
    uint32_t             n;
    size_t               len;
} join_t;

static void
join_add(join_t *j, const u_char *v, size_t len, size_t seplen)
{
    if (j->n++ == 0) {
        j->first.data = (u_char *) v;
        j->first.len = len;
    }
    j->len += len + (j->n > 1 ? seplen : 0);
}

/* Second pass: one value is returned in place, several are copied into
 * one r->pool block; *p is NULL (out set) or where the next value goes. */
static pc_rc_t
join_start(pc_http_request_t *r, const join_t *j, pc_str_t *out, u_char **p)
{
    *p = NULL;
    if (j->n == 0)
        return PC_DECLINED;
    if (j->n == 1) {
        *out = j->first;
        return PC_OK;
    }
    *p = pc_pnalloc(r->pool, j->len + 1);
    if (*p == NULL)
        return PC_ERROR;
    out->data = *p;
    out->len = j->len;
    return PC_OK;
}

/* Append value v after the *k values already copied (sep between). */
static u_char *
join_put(u_char *p, uint32_t *k, const u_char *v, size_t len, const char *sep)
{
    if ((*k)++ > 0)
        p = pc_cpymem(p, sep, strlen(sep));
    return pc_cpymem(p, v, len);
}

/*
 * underscores_in_headers (a proxy-module directive, default off) in force
 * for r: the location's conf, else the server's (a head that failed before
 * a location was chosen), else off.
 */
static bool
underscores_on(const pc_http_request_t *r)
{
    void * const *confs = r->loc_conf;
    const pc_http_proxy_loc_conf_t *plcf;

    if (confs == NULL && r->server != NULL)
        confs = r->server->confs;
    if (confs == NULL)
        return false;
    plcf = confs[pc_http_proxy_module.index];
    return plcf != NULL && plcf->underscores == 1;
}

/* Whether request field h takes part in $http_NAME: a name with '_' only
 * with underscores_in_headers on (*allow caches that: -1 unknown).  nginx
 * ignores such fields, so a client cannot pose "X_Real_IP" as the
 * "X-Real-IP" a rate-limit key or proxy_set_header reads. */
static bool
field_visible(pc_http_request_t *r, const pc_http_header_t *h, int *allow)
{
    if (memchr(r->head_buf + h->name, '_', h->name_len) == NULL)
        return true;
    if (*allow < 0)
        *allow = underscores_on(r);
    return *allow != 0;
}

/* Request field h is one $http_NAME (name) reports. */
static bool
http_field_is(pc_http_request_t *r, const pc_http_header_t *h, const pc_str_t *name,
    int *allow)
{
    return hdr_name_eq(r->head_buf + h->name, h->name_len, name)
           && field_visible(r, h, allow);
}

/* $http_NAME: every request field of that name, joined with ", "
 * ("; " for Cookie) like nginx; fields whose name has '_' count only with
 * underscores_in_headers on (field_visible). */
static pc_rc_t
var_http(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    const pc_str_t *name = (const pc_str_t *) data;
    const pc_http_header_t *h = r->head.headers;
    const char *sep = ", ";
    join_t j = { pc_null_string, 0, 0 };
    u_char *p;
    uint32_t i, k = 0;
    int allow = -1;
    pc_rc_t rc;

    if (r->head_buf == NULL)
        return PC_DECLINED;
    for (i = 0; i < r->head.nheaders; i++) {
        if (!http_field_is(r, &h[i], name, &allow))
            continue;
        if (h[i].id == PC_HTTP_H_COOKIE)
            sep = "; ";
        join_add(&j, r->head_buf + h[i].value, h[i].value_len, 2);
    }
    rc = join_start(r, &j, out, &p);
    if (p == NULL)
        return rc;
    for (i = 0; i < r->head.nheaders; i++)
        if (http_field_is(r, &h[i], name, &allow))
            p = join_put(p, &k, r->head_buf + h[i].value, h[i].value_len, sep);
    return PC_OK;
}

/* Contract: see pc_http.h. */
bool
pc_http_header_single(pc_http_request_t *r, pc_http_hdr_e id, pc_str_t *out)
{
    const pc_http_header_t *h;
    uint32_t                i;

    out->len = 0;
    if (r->head_buf == NULL || r->head.idx[id] == 0)
        return true;
    for (i = r->head.idx[id]; i < r->head.nheaders; i++)
        if (r->head.headers[i].id == id)
            return false;
    h = &r->head.headers[r->head.idx[id] - 1];
    out->data = r->head_buf + h->value;
    out->len = h->value_len;
    return true;
}

/* $http_user_agent, $http_referer, $http_cookie, $content_type,
 * $content_length: as $http_NAME, but the parser already tagged those
 * fields (data: pc_http_hdr_e), so no name is compared; every access log
 * line asks for two of them. */
static pc_rc_t
var_http_known(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    const pc_http_header_t *h = r->head.headers;
    const char *sep = data == PC_HTTP_H_COOKIE ? "; " : ", ";
    join_t j = { pc_null_string, 0, 0 };
    u_char *p;
    uint32_t i, first, k = 0;
    pc_rc_t rc;

    if (pc_http_header_single(r, (pc_http_hdr_e) data, out))
        return out->len > 0 ? PC_OK : PC_DECLINED;
    first = r->head.idx[data] - 1;
    for (i = first; i < r->head.nheaders; i++)
        if (h[i].id == data)
            join_add(&j, r->head_buf + h[i].value, h[i].value_len, 2);
    rc = join_start(r, &j, out, &p);
    if (p == NULL)
        return rc;
    for (i = first; i < r->head.nheaders; i++)
        if (h[i].id == data)
            p = join_put(p, &k, r->head_buf + h[i].value, h[i].value_len, sep);
    return PC_OK;
}

/*
 * The framing fields the head writer makes itself from the request state,
 * never from r->out (pc_http_write.c: pc_http_head_write, decide_framing):
 * true when name is one of them, with *rc the getter's result.  Values as
 * nginx computes them: Content-Length from the known length, Connection
 * "upgrade" for a 101; Keep-Alive is never sent.
 */
static bool
sent_framing(pc_http_request_t *r, const pc_str_t *name, pc_str_t *out, pc_rc_t *rc)
{
    *rc = PC_DECLINED;
    if (hdr_name_eq((const u_char *) "content-length", 14, name)) {
        if (r->out_content_length >= 0)
            *rc = num_value(r, out, (uint64_t) r->out_content_length);
    } else if (hdr_name_eq((const u_char *) "transfer-encoding", 17, name)) {
        if (r->header_sent && r->chunked_out) {
            pc_str_set(out, "chunked");
            *rc = PC_OK;
        }
    } else if (hdr_name_eq((const u_char *) "connection", 10, name)) {
        if (r->header_sent) {
            if (r->status == 101)
                pc_str_set(out, "upgrade");
            else if (r->keepalive)
                pc_str_set(out, "keep-alive");
            else
                pc_str_set(out, "close");
            *rc = PC_OK;
        }
    } else if (!hdr_name_eq((const u_char *) "keep-alive", 10, name)) {
        return false;
    }
    return true;
}

/* $sent_http_NAME: the response field as it stands now; several fields of
 * that name joined with ", " (nginx).  The framing fields are what the
 * head writer sends (sent_framing), whatever r->out holds. */
static pc_rc_t
var_sent_http(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    const pc_str_t *name = (const pc_str_t *) data;
    const pc_http_field_t *f = r->out;
    join_t j = { pc_null_string, 0, 0 };
    u_char *p;
    uint32_t i, k = 0;
    pc_rc_t rc;

    if (sent_framing(r, name, out, &rc))
        return rc;
    for (i = 0; i < r->nout; i++)
        if (hdr_name_eq(f[i].name.data, f[i].name.len, name))
            join_add(&j, f[i].value.data, f[i].value.len, 2);
    rc = join_start(r, &j, out, &p);
    if (p == NULL)
        return rc;
    for (i = 0; i < r->nout; i++)
        if (hdr_name_eq(f[i].name.data, f[i].name.len, name))
            p = join_put(p, &k, f[i].value.data, f[i].value.len, ", ");
    return PC_OK;
}

/*
 * Find name in a list of "k=v" pairs separated by sep (with optional spaces
 * after it for cookies).  Names compare case-insensitively, values are raw.
 */
static bool
find_pair(const u_char *p, const u_char *end, u_char sep, const pc_str_t *name,
    pc_str_t *out)
{
    const u_char *k, *eq, *v;

    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t') && sep == ';')
            p++;
        k = p;
        while (p < end && *p != sep)
            p++;
        eq = memchr(k, '=', (size_t) (p - k));
        v = eq ? eq + 1 : p;
        if (eq && (size_t) (eq - k) == name->len
            && pc_strncasecmp(k, name->data, name->len) == 0)
        {
            out->data = (u_char *) v;
            out->len = (size_t) (p - v);
            return true;
        }
        if (p < end)
            p++;
    }
    return false;
}

static pc_rc_t
var_cookie(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    const pc_str_t *name = (const pc_str_t *) data;
    const pc_http_header_t *h = r->head.headers;
    const u_char *v;
    uint32_t i;

    if (r->head_buf == NULL)
        return PC_DECLINED;
    for (i = 0; i < r->head.nheaders; i++) {
        if (h[i].id != PC_HTTP_H_COOKIE)
            continue;
        v = r->head_buf + h[i].value;
        if (find_pair(v, v + h[i].value_len, ';', name, out))
            return PC_OK;
    }
    return PC_DECLINED;
}

static pc_rc_t
var_arg(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    if (r->args.len == 0)
        return PC_DECLINED;
    return find_pair(r->args.data, r->args.data + r->args.len, '&',
                     (const pc_str_t *) data, out) ? PC_OK : PC_DECLINED;
}

#define REQ_STR(f)  offsetof(pc_http_request_t, f)

const pc_http_variable_t pc_http_core_variables[] = {
    { "remote_addr",         var_remote_addr,  0, PC_VAR_NOCACHE | PC_VAR_PLAIN },
    { "remote_port",         var_remote_port,  0, PC_VAR_NOCACHE | PC_VAR_PLAIN },
    { "server_addr",         var_server,       0, 0 },
    { "server_port",         var_server,       1, PC_VAR_PLAIN },
    { "scheme",              var_scheme,       0, 0 },
    { "host",                var_host,         0, 0 },
    { "request",             var_req_str,      REQ_STR(request_line), 0 },
    { "request_method",      var_req_str,      REQ_STR(method_name), 0 },
    { "request_uri",         var_req_str,      REQ_STR(unparsed_uri), 0 },
    { "uri",                 var_req_str,      REQ_STR(uri), PC_VAR_NOCACHE },
    { "args",                var_req_str,      REQ_STR(args), PC_VAR_NOCACHE },
    { "query_string",        var_req_str,      REQ_STR(args), PC_VAR_NOCACHE },
    { "is_args",             var_is_args,      0, PC_VAR_NOCACHE | PC_VAR_PLAIN },
    { "server_name",         var_server_name,  0, 0 },
    { "https",               var_https,        0, PC_VAR_PLAIN },
    { "status",              var_status,       0, PC_VAR_NOCACHE | PC_VAR_PLAIN },
    { "body_bytes_sent",     var_req_u64,      REQ_STR(body_bytes_sent), PC_VAR_NOCACHE | PC_VAR_PLAIN },
    { "bytes_sent",          var_req_u64,      REQ_STR(bytes_sent), PC_VAR_NOCACHE | PC_VAR_PLAIN },
    { "request_length",      var_req_u64,      REQ_STR(request_length), PC_VAR_NOCACHE | PC_VAR_PLAIN },
    { "request_time",        var_request_time, 0, PC_VAR_NOCACHE | PC_VAR_PLAIN },
    { "msec",                var_time,         0, PC_VAR_NOCACHE | PC_VAR_PLAIN },
    { "time_local",          var_time,         1, PC_VAR_NOCACHE | PC_VAR_PLAIN },
    { "time_iso8601",        var_time,         2, PC_VAR_NOCACHE | PC_VAR_PLAIN },
    { "connection",          var_connection,   0, PC_VAR_PLAIN },
    { "connection_requests", var_req_u64,      REQ_STR(connection_requests), PC_VAR_PLAIN },
    { "pid",                 var_pid,          0, PC_VAR_PLAIN },
    { "http_user_agent",     var_http_known,   PC_HTTP_H_USER_AGENT, 0 },
    { "http_referer",        var_http_known,   PC_HTTP_H_REFERER, 0 },
    { "http_cookie",         var_http_known,   PC_HTTP_H_COOKIE, 0 },
    { "content_type",        var_http_known,   PC_HTTP_H_CONTENT_TYPE, 0 },
    { "content_length",      var_http_known,   PC_HTTP_H_CONTENT_LENGTH, 0 },
    { "http_",               var_http,         0, PC_VAR_PREFIX },
    { "sent_http_",          var_sent_http,    0, PC_VAR_PREFIX | PC_VAR_NOCACHE },
    { "cookie_",             var_cookie,       0, PC_VAR_PREFIX },
    { "arg_",                var_arg,          0, PC_VAR_PREFIX | PC_VAR_NOCACHE },
    PC_VAR_END
};

/*
 * Contract: the numeric text of an AF_INET/AF_INET6 address (no port,
 * IPv4-mapped IPv6 shown as IPv4) into pool, NUL-terminated.  PC_ERROR on
 * ENOMEM or another family.
 */
pc_rc_t
pc_http_addr_text(pc_pool_t *pool, const struct sockaddr *sa, pc_str_t *out)
{
    char buf[INET6_ADDRSTRLEN];
    const struct sockaddr_in6 *s6;
    const void *a;
    int af = sa->sa_family;

    if (af == AF_INET) {
        a = &((const struct sockaddr_in *) sa)->sin_addr;
    } else if (af == AF_INET6) {
        s6 = (const struct sockaddr_in6 *) sa;
        a = &s6->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            af = AF_INET;
            a = &s6->sin6_addr.s6_addr[12];
        }
    } else {
        return PC_ERROR;
    }
    if (inet_ntop(af, a, buf, sizeof(buf)) == NULL)
        return PC_ERROR;
    out->len = strlen(buf);
    out->data = pc_pstrdup(pool, (const u_char *) buf, out->len);
    return out->data ? PC_OK : PC_ERROR;
}
