/*
 * tls_conf.c -- the tls module's directives (SPEC §4 tls row) and the
 * per-load build: one TLS context per server block that listens with
 * `ssl` (or shares such an address), one listener record per ssl address.
 *
 * How a configuration becomes TLS (init_conf, in the master, for -t too):
 *   1. every server block bound to an ssl listener gets its context
 *      (pc_tls_ctx_build: certificates, keys, CA store, CRL, tickets), so
 *      certificates, CA bundles and CRLs are re-read by every reload;
 *   2. every ssl listener gets a tls_listener_t: the default server's
 *      context, its address (SNI is looked up in http's server_name
 *      tables, the ones Host uses, regexes included) and the
 *      listener's original handler (http), which is replaced by the TLS
 *      accept handler: the handshake runs first, then http takes over;
 *   3. every other file an ssl_* directive names (pairs of servers without
 *      an ssl listener, CA bundles and CRLs without ssl_verify_client, an
 *      http-level pair every server overrides) is read and checked once,
 *      with the same messages, and nothing is built from it (SPEC §1: -t
 *      validates every file; a reload with a bad one is refused).
 * http's own init_conf has run before (this module comes after it in
 * modules.c), so default servers are known.
 */
#include <stdlib.h>
#include <string.h>

#include "tls.h"

#define CTX_HS    (PC_CTX_HTTP | PC_CTX_SERVER)
#define OFF(f)    offsetof(tls_conf_t, f)
#define DAY_MS    (86400LL * 1000)

/* ---------------------------------------------------------------------
 * Setters
 * ------------------------------------------------------------------- */

static pc_str_t *
arg(pc_conf_t *cf, uint32_t i)
{
    return &cf->node->args[i];
}

/* Append each argument (a file) to *list, resolved against the prefix. */
static const char *
add_files(pc_conf_t *cf, pc_array_t **list)
{
    pc_tls_file_t *f;
    uint32_t       i;

    if (*list == NULL) {
        *list = pc_palloc(cf->pool, sizeof(pc_array_t));
        if (*list == NULL || pc_array_init(*list, cf->pool, 2, sizeof(pc_tls_file_t)) != PC_OK)
            return "out of memory";
    }
    for (i = 0; i < cf->node->nargs; i++) {
        if (arg(cf, i)->len == 0)
            return pc_conf_error(cf, "empty file name");
        f = pc_array_push(*list);
        if (f == NULL || pc_conf_full_path(cf, arg(cf, i), &f->path) != PC_OK)
            return "out of memory";
        f->node = cf->node;
    }
    return PC_CONF_OK;
}

static const char *
set_certificate(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    tls_conf_t *tc = conf;

    if (tc == NULL)
        return "is not supported at this level";
    return add_files(cf, strcmp(d->name, "ssl_certificate") == 0 ? &tc->s.certs
                     : strcmp(d->name, "ssl_certificate_key") == 0 ? &tc->s.keys
                     : &tc->s.client_cas);
}

static const char *
set_crl(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    tls_conf_t *tc = conf;

    PC_UNUSED(d);
    if (tc == NULL)
        return "is not supported at this level";
    if (arg(cf, 0)->len == 0)
        return pc_conf_error(cf, "empty file name");
    if (pc_conf_full_path(cf, arg(cf, 0), &tc->s.crl.path) != PC_OK)
        return "out of memory";
    tc->s.crl.node = cf->node;
    return PC_CONF_OK;
}

static const char *
set_protocols(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    static const pc_conf_enum_t names[] = {
        { "TLSv1", PC_TLS_PROTO_TLSv1 }, { "TLSv1.1", PC_TLS_PROTO_TLSv1_1 },
        { "TLSv1.2", PC_TLS_PROTO_TLSv1_2 }, { "TLSv1.3", PC_TLS_PROTO_TLSv1_3 },
        { NULL, 0 }
    };
    tls_conf_t *tc = conf;
    uint32_t    i, k;

    PC_UNUSED(d);
    if (tc == NULL)
        return "is not supported at this level";
    tc->s.protocols = 0;
    for (i = 0; i < cf->node->nargs; i++) {
        for (k = 0; names[k].name != NULL && !pc_str_eq_c(arg(cf, i), names[k].name); k++) { }
        if (names[k].name == NULL)
            return pc_conf_error(cf, "invalid value \"%s\": expected TLSv1, TLSv1.1, "
                                 "TLSv1.2 or TLSv1.3", (const char *) arg(cf, i)->data);
        if (tc->s.protocols & names[k].value)
            return pc_conf_error(cf, "duplicate value \"%s\" in \"ssl_protocols\"",
                                 (const char *) arg(cf, i)->data);
        tc->s.protocols |= names[k].value;
    }
    /* OpenSSL 3's default security level (1) leaves no cipher suite that
     * TLS 1.0 / 1.1 can use (their SHA-1 / MD5 signatures are refused):
     * every handshake would fail.  Say so rather than let -t pass silently. */
    if (!(tc->s.protocols & (PC_TLS_PROTO_TLSv1_2 | PC_TLS_PROTO_TLSv1_3)))
        pc_log(PC_LOG_WARN, 0, "tls: ssl_protocols without TLSv1.2 or TLSv1.3: OpenSSL's "
               "default security level refuses every TLSv1 and TLSv1.1 handshake, so no "
               "client can connect in %s:%u", cf->node->file, cf->node->line);
    return PC_CONF_OK;
}

/* ssl_ciphers / ssl_ecdh_curve: a string checked by OpenSSL at build time,
 * where the error points back at this line. */
static const char *
set_openssl_list(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    tls_conf_t *tc = conf;
    bool        ciphers = strcmp(d->name, "ssl_ciphers") == 0;

    if (tc == NULL)
        return "is not supported at this level";
    if (arg(cf, 0)->len == 0)
        return pc_conf_error(cf, "empty value");
    if (ciphers) {
        tc->s.ciphers = *arg(cf, 0);
        tc->s.ciphers_node = cf->node;
    } else {
        tc->s.ecdh_curve = *arg(cf, 0);
        tc->s.curve_node = cf->node;
    }
    return PC_CONF_OK;
}

static const pc_conf_enum_t verify_modes[] = {
    { "off", PC_TLS_VERIFY_OFF }, { "on", PC_TLS_VERIFY_ON },
    { "optional", PC_TLS_VERIFY_OPTIONAL }, { "optional_no_ca", PC_TLS_VERIFY_OPTIONAL_NO_CA },
    { NULL, 0 }
};

static const pc_directive_t tls_directives[] = {
    { "ssl_certificate", CTX_HS, 1, 1, PC_CONF_MULTI, set_certificate, 0, 0, 0, NULL },
    { "ssl_certificate_key", CTX_HS, 1, 1, PC_CONF_MULTI, set_certificate, 0, 0, 0, NULL },
    { "ssl_protocols", CTX_HS, 1, 4, 0, set_protocols, 0, 0, 0, NULL },
    { "ssl_ciphers", CTX_HS, 1, 1, 0, set_openssl_list, 0, 0, 0, NULL },
    { "ssl_ecdh_curve", CTX_HS, 1, 1, 0, set_openssl_list, 0, 0, 0, NULL },
    { "ssl_session_tickets", CTX_HS, 1, 1, 0, pc_conf_set_flag,
      OFF(s.session_tickets), 0, 0, NULL },
    { "ssl_session_timeout", CTX_HS, 1, 1, 0, pc_conf_set_msec,
      OFF(s.session_timeout), 1000, 7 * DAY_MS, NULL },
    { "ssl_client_certificate", CTX_HS, 1, PC_CONF_ARGS_ANY, PC_CONF_MULTI, set_certificate,
      0, 0, 0, NULL },
    { "ssl_verify_client", CTX_HS, 1, 1, 0, pc_conf_set_enum, OFF(s.verify), 0, 0,
      verify_modes },
    { "ssl_verify_depth", CTX_HS, 1, 1, 0, pc_conf_set_num, OFF(s.verify_depth), 0, 100,
      NULL },
    { "ssl_crl", CTX_HS, 1, 1, 0, set_crl, 0, 0, 0, NULL },
    { "ssl_cert_expiry_warning", CTX_HS, 1, 1, 0, pc_conf_set_msec,
      OFF(s.expiry_warning), 0, 3650 * DAY_MS, NULL },
    { "ssl_client_cert_header", CTX_HS, 1, 1, 0, pc_conf_set_flag,
      OFF(client_cert_header), 0, 0, NULL },
    PC_DIRECTIVE_END
};

/* ---------------------------------------------------------------------
 * Confs
 * ------------------------------------------------------------------- */

static void *
tls_create_conf(pc_conf_t *cf, pc_scope_e scope)
{
    tls_main_conf_t *mc;
    tls_conf_t      *tc;

    if (scope == PC_SCOPE_MAIN) {
        mc = pc_pcalloc(cf->pool, sizeof(*mc));
        if (mc == NULL
            || pc_array_init(&mc->listeners, cf->pool, 4, sizeof(tls_listener_t)) != PC_OK)
            return NULL;
        return mc;
    }
    if (scope != PC_SCOPE_HTTP && scope != PC_SCOPE_SERVER)
        return NULL;
    tc = pc_pcalloc(cf->pool, sizeof(*tc));
    if (tc == NULL)
        return NULL;
    tc->s.protocols = PC_INT_UNSET;
    tc->s.session_tickets = -1;
    tc->s.session_timeout = PC_MSEC_UNSET;
    tc->s.verify = PC_INT_UNSET;
    tc->s.verify_depth = PC_INT_UNSET;
    tc->s.expiry_warning = PC_MSEC_UNSET;
    tc->client_cert_header = -1;
    if (scope == PC_SCOPE_HTTP) {
        mc = pc_cycle_main_conf(cf->cycle, pc_tls_module);
        if (mc != NULL)
            mc->http = tc;      /* its files are checked even if no server uses them */
    }
    return tc;
}

static pc_rc_t
tls_merge_conf(pc_conf_t *cf, void *parent, void *child)
{
    tls_conf_t *p = parent, *c = child;

    PC_UNUSED(cf);
    if (p == NULL || c == NULL)
        return PC_OK;
    /* Certificates go together: a server that names its own pairs does
     * not also get the http block's. */
    if (c->s.certs == NULL && c->s.keys == NULL) {
        c->s.certs = p->s.certs;
        c->s.keys = p->s.keys;
    }
    /* Lists are inherited by pointer: servers that share them share one
     * CA store (pc_tls_ctx.c). */
    if (c->s.client_cas == NULL)
        c->s.client_cas = p->s.client_cas;
    if (c->s.crl.path.data == NULL)
        c->s.crl = p->s.crl;
    if (c->s.ciphers.data == NULL) {
        c->s.ciphers = p->s.ciphers;
        c->s.ciphers_node = p->s.ciphers_node;
    }
    if (c->s.ecdh_curve.data == NULL) {
        c->s.ecdh_curve = p->s.ecdh_curve;
        c->s.curve_node = p->s.curve_node;
    }
    PC_CONF_MERGE_STR(c->s.ciphers, p->s.ciphers, PC_TLS_CIPHERS_DEFAULT);
    PC_CONF_MERGE_STR(c->s.ecdh_curve, p->s.ecdh_curve, PC_TLS_CURVES_DEFAULT);
    PC_CONF_MERGE(c->s.protocols, p->s.protocols, PC_INT_UNSET, PC_TLS_PROTO_DEFAULT);
    PC_CONF_MERGE(c->s.session_tickets, p->s.session_tickets, -1, 1);
    PC_CONF_MERGE(c->s.session_timeout, p->s.session_timeout, PC_MSEC_UNSET,
                  PC_TLS_SESSION_TIMEOUT_DEFAULT);
    PC_CONF_MERGE(c->s.verify, p->s.verify, PC_INT_UNSET, PC_TLS_VERIFY_OFF);
    PC_CONF_MERGE(c->s.verify_depth, p->s.verify_depth, PC_INT_UNSET, 1);
    PC_CONF_MERGE(c->s.expiry_warning, p->s.expiry_warning, PC_MSEC_UNSET,
                  PC_TLS_EXPIRY_WARNING_DEFAULT);
    PC_CONF_MERGE(c->client_cert_header, p->client_cert_header, -1, 0);
    return PC_OK;
}

/* ---------------------------------------------------------------------
 * init_conf: contexts and listeners
 * ------------------------------------------------------------------- */

static tls_conf_t *
server_conf(pc_http_server_t *s)
{
    return s->confs != NULL ? s->confs[pc_tls_module.index] : NULL;
}

/* A node pointing at the server block, for errors that belong to it. */
static const pc_conf_node_t *
server_node(pc_http_server_t *s, pc_conf_node_t *tmp)
{
    memset(tmp, 0, sizeof(*tmp));
    tmp->file = s->file;
    tmp->line = s->line;
    return tmp;
}

/* A server block's label in logs and metrics: its first name as written
 * (pc_http_server_name_text: the status module's `server` label and
 * $server_name spell it the same), "_" without one.  NULL on ENOMEM. */
static const char *
server_label(pc_conf_t *cf, pc_http_server_t *s)
{
    pc_str_t name;

    if (pc_http_server_name_text(cf->pool, s, &name) != PC_OK)
        return NULL;
    return name.len > 0 ? (const char *) name.data : "_";
}

static bool
is_server_at(const pc_conf_node_t *n, const void *data)
{
    const pc_http_server_t *s = data;

    return n->block && n->line == s->line && strcmp(n->file, s->file) == 0;
}

/* After errors: whether a directive called name was written for s (in its
 * block, or in the http block; s NULL: in the http block only) and so was
 * rejected and reported -- a "missing" complaint about it would only
 * repeat that error. */
static bool
rejected_for(pc_conf_t *cf, pc_http_server_t *s, const char *name)
{
    const pc_conf_node_t *http, *srv;

    if (cf->nerrors == 0 || cf->cycle->root == NULL)
        return false;
    http = pc_cycle_conf_find(cf->cycle->root, "http", false, NULL, NULL);
    srv = s != NULL ? pc_cycle_conf_find(http, "server", false, is_server_at, s) : NULL;
    return pc_cycle_conf_find(srv, name, true, NULL, NULL) != NULL
           || pc_cycle_conf_find(http, name, false, NULL, NULL) != NULL;
}

static pc_rc_t
pairs_error(pc_conf_t *cf, const pc_conf_node_t *node, uint32_t ncerts, uint32_t nkeys)
{
    pc_conf_error_at(cf, node, "\"ssl_certificate\" and \"ssl_certificate_key\" must "
                     "come in pairs (%u certificates, %u keys)", ncerts, nkeys);
    return PC_ERROR;
}

/* Build s's context once (a server may listen on several addresses). */
static pc_rc_t
build_server(pc_conf_t *cf, pc_tls_builder_t *b, pc_http_server_t *s)
{
    tls_conf_t     *tc = server_conf(s);
    pc_conf_node_t  tmp;
    const char     *label;
    uint32_t        ncerts, nkeys;

    if (tc == NULL || tc->built)
        return PC_OK;
    tc->built = 1;
    ncerts = tc->s.certs != NULL ? tc->s.certs->nelts : 0;
    nkeys = tc->s.keys != NULL ? tc->s.keys->nelts : 0;
    if ((ncerts != nkeys || (ncerts == 0 && s->ssl))
        && (rejected_for(cf, s, "ssl_certificate")
            || rejected_for(cf, s, "ssl_certificate_key")))
    {
        return PC_ERROR;        /* reported where it was rejected */
    }
    if (ncerts == 0 && nkeys == 0) {
        if (!s->ssl)
            return PC_OK;       /* shares an ssl address: SNI never picks it */
        pc_conf_error_at(cf, server_node(s, &tmp), "no \"ssl_certificate\" is defined "
                         "for a server that listens with \"ssl\"");
        return PC_ERROR;
    }
    if (ncerts != nkeys)
        return pairs_error(cf, server_node(s, &tmp), ncerts, nkeys);
    if (tc->s.verify != PC_TLS_VERIFY_OFF && tc->s.verify != PC_TLS_VERIFY_OPTIONAL_NO_CA
        && tc->s.client_cas == NULL)
    {
        if (rejected_for(cf, s, "ssl_client_certificate"))
            return PC_ERROR;
        pc_conf_error_at(cf, server_node(s, &tmp), "\"ssl_verify_client\" needs "
                         "\"ssl_client_certificate\"");
        return PC_ERROR;
    }
    if ((label = server_label(cf, s)) == NULL) {
        pc_conf_error(cf, "out of memory");
        return PC_ERROR;
    }
    tc->loaded = 1;
    tc->tc = pc_tls_ctx_build(b, &tc->s, label, s);
    return tc->tc != NULL ? PC_OK : PC_ERROR;
}

static pc_tls_ctx_t *
default_ctx(pc_http_addr_conf_t *addr)
{
    pc_http_server_t **srv = addr->servers.elts;
    tls_conf_t        *tc;
    uint32_t           i;

    if (addr->default_server != NULL && (tc = server_conf(addr->default_server)) != NULL
        && tc->tc != NULL)
        return tc->tc;
    for (i = 0; i < addr->servers.nelts; i++) {
        if ((tc = server_conf(srv[i])) != NULL && tc->tc != NULL)
            return tc->tc;
    }
    return NULL;
}

static pc_rc_t
add_listener(pc_conf_t *cf, tls_main_conf_t *mc, pc_listening_t *ls)
{
    pc_http_addr_conf_t *addr = ls->data;
    pc_http_core_conf_t *ccf;
    tls_listener_t      *tl;

    tl = pc_array_push(&mc->listeners);
    if (tl == NULL)
        return PC_ERROR;
    tl->ls = ls;
    tl->tl.dflt = default_ctx(addr);
    if (tl->tl.dflt == NULL) {
        pc_conf_error(cf, "no \"ssl_certificate\" for the servers of listen %s ssl",
                      ls->addr_text);
        return PC_ERROR;
    }
    tl->addr = addr;
    ccf = tl->tl.dflt->owner != NULL
          ? ((pc_http_server_t *) tl->tl.dflt->owner)->confs[pc_http_core_module.index]
          : NULL;
    /* The handshake is part of the first request head's budget. */
    tl->tl.timeout = ccf != NULL ? ccf->client_header_timeout : 60000;
    tl->tl.select = pc_tls_module_select;
    tl->tl.data = NULL;         /* pc_tls_module_select finds tl from &tl->tl:
                                 * this element moves as the array grows */
    tl->tl.done = ls->handler;
    ls->handler = pc_tls_module_accept;
    return PC_OK;
}

/* ---------------------------------------------------------------------
 * init_conf: the files no context reads
 *
 * SPEC §1: -t validates every file the configuration names.  The contexts
 * above read the certificates of servers bound to an ssl address only, and
 * CA bundles and CRLs only under ssl_verify_client; every other
 * ssl_certificate pair, ssl_client_certificate bundle and ssl_crl is
 * checked here by pc_tls_check_pair / pc_tls_check_pem (pc_tls_ctx.c's
 * own reads, checks and messages), but nothing is built: run time does
 * not change (no context, no metric, no expiry warning for a file that is
 * not served).  Each distinct file (pair, for
 * certificates) is read once, and not at all when a context has read it:
 * an http-level pair inherited by every server is one item of the list.
 * ------------------------------------------------------------------- */

typedef enum { CHK_PAIR = 0, CHK_CA, CHK_CRL } chk_kind_e;

typedef struct {
    const pc_tls_file_t *file;      /* certificate, CA bundle or CRL        */
    const pc_tls_file_t *key;       /* CHK_PAIR: the certificate's key      */
    uint32_t             kind;      /* chk_kind_e                           */
    uint32_t             seq;       /* config order: errors name the first  */
    bool                 loaded;    /* a context has read it                */
} chk_item_t;

static pc_rc_t
chk_push(pc_array_t *items, chk_kind_e kind, const pc_tls_file_t *f,
    const pc_tls_file_t *key, bool loaded)
{
    chk_item_t *it = pc_array_push(items);

    if (it == NULL)
        return PC_ERROR;
    *it = (chk_item_t) { f, key, kind, items->nelts - 1, loaded };
    return PC_OK;
}

/* The files of one conf.  A context built from it has read its pairs and,
 * under ssl_verify_client, its CA bundles and CRL. */
static pc_rc_t
chk_collect(pc_array_t *items, const tls_conf_t *tc)
{
    const pc_tls_file_t *c, *k;
    bool                 store = tc->loaded && tc->s.verify != PC_TLS_VERIFY_OFF;
    pc_rc_t              rc = PC_OK;
    uint32_t             i;

    if (tc->s.certs != NULL && tc->s.keys != NULL && tc->s.certs->nelts == tc->s.keys->nelts) {
        c = tc->s.certs->elts;
        k = tc->s.keys->elts;
        for (i = 0; i < tc->s.certs->nelts && rc == PC_OK; i++)
            rc = chk_push(items, CHK_PAIR, &c[i], &k[i], tc->loaded);
    }
    c = tc->s.client_cas != NULL ? tc->s.client_cas->elts : NULL;
    for (i = 0; c != NULL && i < tc->s.client_cas->nelts && rc == PC_OK; i++)
        rc = chk_push(items, CHK_CA, &c[i], NULL, store);
    if (tc->s.crl.path.data != NULL && rc == PC_OK)
        rc = chk_push(items, CHK_CRL, &tc->s.crl, NULL, store);
    return rc;
}

/* Same file(s) read the same way; then config order. */
static int
chk_key_cmp(const chk_item_t *x, const chk_item_t *y)
{
    int d;

    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    d = strcmp((const char *) x->file->path.data, (const char *) y->file->path.data);
    if (d != 0 || x->kind != CHK_PAIR)
        return d;
    return strcmp((const char *) x->key->path.data, (const char *) y->key->path.data);
}

static int
chk_cmp(const void *a, const void *b)
{
    const chk_item_t *x = a, *y = b;
    int               d = chk_key_cmp(x, y);

    if (d != 0)
        return d;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Certificates and keys that do not pair up, in a conf build_server did
 * not look at: a server's own, or the http block's when no server that
 * build_server looked at inherits them (it said so for its block). */
static pc_rc_t
chk_counts(pc_conf_t *cf, const tls_conf_t *tc, pc_http_server_t *s)
{
    const pc_tls_file_t *first;
    pc_conf_node_t       tmp;
    uint32_t             ncerts, nkeys;

    ncerts = tc->s.certs != NULL ? tc->s.certs->nelts : 0;
    nkeys = tc->s.keys != NULL ? tc->s.keys->nelts : 0;
    if (ncerts == nkeys)
        return PC_OK;
    if (rejected_for(cf, s, "ssl_certificate") || rejected_for(cf, s, "ssl_certificate_key"))
        return PC_ERROR;        /* reported where it was rejected */
    if (s != NULL)
        return pairs_error(cf, server_node(s, &tmp), ncerts, nkeys);
    first = ncerts > 0 ? tc->s.certs->elts : tc->s.keys->elts;
    return pairs_error(cf, first->node, ncerts, nkeys);
}

/* Every item of every conf (the http block's, then each server's). */
static pc_rc_t
chk_gather(pc_conf_t *cf, tls_main_conf_t *mc, pc_array_t *items)
{
    pc_http_server_t **srv;
    tls_conf_t        *tc, *http = mc->http;
    pc_rc_t            rc = PC_OK;
    uint32_t           i, n;
    bool               inherited, http_counted = false;

    if (http != NULL && chk_collect(items, http) != PC_OK)
        return PC_ERROR;
    srv = pc_http_servers(cf->cycle, &n);
    for (i = 0; i < n; i++) {
        if ((tc = server_conf(srv[i])) == NULL)
            continue;
        inherited = http != NULL && tc->s.certs == http->s.certs && tc->s.keys == http->s.keys;
        if (inherited)
            http_counted |= tc->built;
        else if (!tc->built && chk_counts(cf, tc, srv[i]) != PC_OK)
            rc = PC_ERROR;
        if (chk_collect(items, tc) != PC_OK)
            return PC_ERROR;
    }
    if (http != NULL && !http_counted && chk_counts(cf, http, NULL) != PC_OK)
        rc = PC_ERROR;
    return rc;
}

/* Read each distinct file that no context has read.  PC_ERROR after
 * reporting every bad one. */
static pc_rc_t
check_unused_files(pc_conf_t *cf, tls_main_conf_t *mc)
{
    pc_array_t  items;
    chk_item_t *it;
    pc_rc_t     rc = PC_OK;
    uint32_t    i, j;
    bool        loaded;

    if (pc_array_init(&items, cf->temp_pool, 16, sizeof(chk_item_t)) != PC_OK) {
        pc_conf_error(cf, "out of memory");
        return PC_ERROR;
    }
    if (chk_gather(cf, mc, &items) != PC_OK)
        rc = PC_ERROR;
    it = items.elts;
    qsort(it, items.nelts, sizeof(*it), chk_cmp);
    for (i = 0; i < items.nelts; i = j) {
        loaded = false;
        for (j = i; j < items.nelts && chk_key_cmp(&it[i], &it[j]) == 0; j++)
            loaded = loaded || it[j].loaded;
        if (loaded)
            continue;
        if ((it[i].kind == CHK_PAIR ? pc_tls_check_pair(cf, it[i].file, it[i].key)
                                    : pc_tls_check_pem(cf, it[i].file, it[i].kind == CHK_CRL))
            != PC_OK)
            rc = PC_ERROR;
    }
    return rc;
}

static pc_rc_t
tls_init_conf(pc_conf_t *cf)
{
    tls_main_conf_t     *mc = pc_cycle_main_conf(cf->cycle, pc_tls_module);
    pc_listening_t      *ls = cf->cycle->listening.elts;
    pc_http_addr_conf_t *addr;
    pc_http_server_t   **srv;
    pc_tls_builder_t    *b = NULL;
    pc_rc_t              rc = PC_OK;
    uint32_t             i, j;

    for (i = 0; i < cf->cycle->listening.nelts; i++) {
        if (!ls[i].ssl || (addr = ls[i].data) == NULL || ls[i].handler == NULL
            || ls[i].handler == pc_tls_module_accept)
            continue;
        if (b == NULL && (b = pc_tls_builder_new(cf)) == NULL) {
            pc_conf_error(cf, "out of memory");
            return PC_ERROR;
        }
        srv = addr->servers.elts;
        for (j = 0; j < addr->servers.nelts; j++) {
            if (build_server(cf, b, srv[j]) != PC_OK)
                rc = PC_ERROR;
        }
        if (rc == PC_OK && add_listener(cf, mc, &ls[i]) != PC_OK)
            rc = PC_ERROR;
    }
    if (check_unused_files(cf, mc) != PC_OK)
        rc = PC_ERROR;
    return rc;
}

static const pc_http_hook_t tls_hooks[] = {
    { PC_HTTP_PHASE_POST_READ, PC_TLS_ORDER_MISDIRECTED, pc_tls_module_misdirected },
    PC_HOOK_END
};

static void
tls_exit_worker(pc_worker_t *wk)
{
    PC_UNUSED(wk);
    pc_tls_cache_release();
}

pc_module_t pc_tls_module = {
    .name           = "tls",
    .directives     = tls_directives,
    .hooks          = tls_hooks,
    .create_conf    = tls_create_conf,
    .merge_conf     = tls_merge_conf,
    .init_conf      = tls_init_conf,
    .exit_worker    = tls_exit_worker,
    .variables      = pc_tls_module_variables,
};
