/*
 * pc_http_proxy_conf.c -- the proxy module's directives: proxy_* in
 * http/server/location, upstream { } blocks, and the resolution of every
 * proxy_pass to an upstream once the whole configuration is read.
 *
 * Choices (doc/directives/proxy_*.md and upstream.md say the same):
 *  - proxy_set_header and proxy_hide_header are inherited as in nginx
 *    (SPEC §3): a context that sets any replaces the inherited list whole.
 *    SPEC §4 makes add_header alone the exception that merges.
 *  - proxy_pass http://NAME names an upstream block when NAME has no port
 *    and such a block exists (anywhere in http, before or after); anything
 *    else is host[:port] (default 80), resolved now, every address a peer
 *    of an implicit upstream shared by all proxy_pass with the same text.
 *  - Every upstream keeps idle connections (keepalive 32 per worker by
 *    default; `keepalive 0` turns pooling off).
 *  - Hostnames resolve here only (getaddrinfo at load and reload): a
 *    worker never waits for DNS.
 */
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#include "event/pc_worker.h"
#include "http/pc_http_chars.h"
#include "http/pc_http_proxy.h"

#define off(f)   offsetof(pc_http_proxy_loc_conf_t, f)
#define uoff(f)  offsetof(pc_http_upstream_t, f)

static const char *set_pass(pc_conf_t *cf, const pc_directive_t *d, void *conf);
static const char *set_header(pc_conf_t *cf, const pc_directive_t *d, void *conf);
static const char *set_hide(pc_conf_t *cf, const pc_directive_t *d, void *conf);
static const char *set_next(pc_conf_t *cf, const pc_directive_t *d, void *conf);
static const char *set_timeout_header(pc_conf_t *cf, const pc_directive_t *d,
    void *conf);
static const char *set_upstream(pc_conf_t *cf, const pc_directive_t *d, void *conf);
static const char *set_server(pc_conf_t *cf, const pc_directive_t *d, void *conf);
static const char *set_method(pc_conf_t *cf, const pc_directive_t *d, void *conf);

static const pc_directive_t proxy_directives[] = {
    { "proxy_pass", PC_CTX_LOCATION, 1, 1, 0, set_pass, 0, 0, 0, NULL },
    { "proxy_set_header", PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION, 2, 2,
      PC_CONF_MULTI, set_header, 0, 0, 0, NULL },
    { "proxy_hide_header", PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION, 1, 1,
      PC_CONF_MULTI, set_hide, 0, 0, 0, NULL },
    { "proxy_connect_timeout", PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION,
      1, 1, 0, pc_conf_set_msec, off(connect_timeout), 1, 86400000, NULL },
    { "proxy_read_timeout", PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION,
      1, 1, 0, pc_conf_set_msec, off(read_timeout), 1, 86400000, NULL },
    { "proxy_send_timeout", PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION,
      1, 1, 0, pc_conf_set_msec, off(send_timeout), 1, 86400000, NULL },
    { "proxy_next_upstream", PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION,
      1, PC_CONF_ARGS_ANY, 0, set_next, 0, 0, 0, NULL },
    { "proxy_next_upstream_tries", PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION,
      1, 1, 0, pc_conf_set_num, off(next_upstream_tries), 0, PC_HTTP_PROXY_MAX_TRIES,
      NULL },
    { "proxy_buffer_size", PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION,
      1, 1, 0, pc_conf_set_size, off(buffer_size), 1024, 1048576, NULL },
    { "proxy_upgrade", PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION,
      1, 1, 0, pc_conf_set_flag, off(upgrade), 0, 0, NULL },
    { "underscores_in_headers", PC_CTX_HTTP | PC_CTX_SERVER,
      1, 1, 0, pc_conf_set_flag, off(underscores), 0, 0, NULL },
    { "proxy_request_timeout_header", PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION,
      1, 2, 0, set_timeout_header, 0, 0, 0, NULL },

    { "upstream", PC_CTX_HTTP, 1, 1, PC_CONF_BLOCK | PC_CONF_MULTI, set_upstream,
      0, 0, 0, NULL },
    { "server", PC_CTX_UPSTREAM, 1, 7, PC_CONF_MULTI, set_server, 0, 0, 0, NULL },
    { "keepalive", PC_CTX_UPSTREAM, 1, 1, 0, pc_conf_set_num, uoff(keepalive),
      0, 65535, NULL },
    { "keepalive_timeout", PC_CTX_UPSTREAM, 1, 1, 0, pc_conf_set_msec,
      uoff(keepalive_timeout), 1, 86400000, NULL },
    { "keepalive_requests", PC_CTX_UPSTREAM, 1, 1, 0, pc_conf_set_num,
      uoff(keepalive_requests), 1, UINT32_MAX, NULL },
    { "round_robin", PC_CTX_UPSTREAM, 0, 0, 0, set_method, 0, 0, 0, NULL },
    { "least_conn", PC_CTX_UPSTREAM, 0, 0, 0, set_method, 0, 0, 0, NULL },
    { "hash", PC_CTX_UPSTREAM, 1, 2, 0, set_method, 0, 0, 0, NULL },
    { "random", PC_CTX_UPSTREAM, 1, 1, 0, set_method, 0, 0, 0, NULL },
    PC_DIRECTIVE_END
};

static const pc_http_hook_t proxy_hooks[] = {
    /* after return (200): a location with both answers with return */
    { PC_HTTP_PHASE_CONTENT, 500, pc_http_proxy_handler },
    PC_HOOK_END
};

/* ------------------------------------------------------------ confs */

static void *
create_conf(pc_conf_t *cf, pc_scope_e scope)
{
    pc_http_proxy_main_conf_t *mcf;
    pc_http_proxy_loc_conf_t  *plcf;

    if (scope == PC_SCOPE_MAIN) {
        mcf = pc_pcalloc(cf->pool, sizeof(*mcf));
        if (mcf == NULL
            || pc_array_init(&mcf->upstreams, cf->pool, 4,
                             sizeof(pc_http_upstream_t *)) != PC_OK
            || pc_array_init(&mcf->passes, cf->pool, 8,
                             sizeof(pc_http_proxy_loc_conf_t *)) != PC_OK)
        {
            return NULL;
        }
        return mcf;
    }
    plcf = pc_pcalloc(cf->pool, sizeof(*plcf));
    if (plcf == NULL) {
        return NULL;
    }
    plcf->connect_timeout = PC_MSEC_UNSET;
    plcf->read_timeout = PC_MSEC_UNSET;
    plcf->send_timeout = PC_MSEC_UNSET;
    plcf->next_upstream = PC_INT_UNSET;
    plcf->next_upstream_tries = PC_INT_UNSET;
    plcf->buffer_size = PC_SIZE_UNSET;
    plcf->upgrade = -1;
    plcf->underscores = -1;
    plcf->timeout_header_max = PC_MSEC_UNSET;
    return plcf;
}

/* Does a proxy_set_header value read a $ssl_client_* variable?  (Names
 * ignore case, ${...} braces allowed.) */
static bool
reads_ssl_client(const pc_str_t *v)
{
    static const char  prefix[] = "ssl_client_";
    size_t             i, j, n = sizeof(prefix) - 1;

    for (i = 0; i < v->len; i++) {
        if (v->data[i] != '$') {
            continue;
        }
        j = i + 1 < v->len && v->data[i + 1] == '{' ? i + 2 : i + 1;
        if (v->len - j >= n && pc_strncasecmp(v->data + j, (const u_char *) prefix, n) == 0) {
            return true;
        }
    }
    return false;
}

static bool
name_in(const pc_array_t *a, const pc_str_t *name)
{
    const pc_str_t *n = a != NULL ? a->elts : NULL;
    uint32_t        i;

    for (i = 0; n != NULL && i < a->nelts; i++) {
        if (pc_str_caseeq(&n[i], name)) {
            return true;
        }
    }
    return false;
}

/* conf->ssl_names: its own (set_header) and every one of prev's. */
static pc_rc_t
merge_ssl_names(pc_conf_t *cf, const pc_http_proxy_loc_conf_t *prev,
    pc_http_proxy_loc_conf_t *conf)
{
    const pc_str_t *n;
    pc_str_t       *e;
    uint32_t        i;

    if (prev->ssl_names == NULL || prev->ssl_names == conf->ssl_names) {
        return PC_OK;
    }
    if (conf->ssl_names == NULL) {
        conf->ssl_names = prev->ssl_names;
        return PC_OK;
    }
    n = prev->ssl_names->elts;
    for (i = 0; i < prev->ssl_names->nelts; i++) {
        if (!name_in(conf->ssl_names, &n[i])) {
            if ((e = pc_array_push(conf->ssl_names)) == NULL) {
                pc_conf_error(cf, "out of memory");
                return PC_ERROR;
            }
            *e = n[i];
        }
    }
    return PC_OK;
}

static pc_rc_t
merge_conf(pc_conf_t *cf, void *parent, void *child)
{
    pc_http_proxy_loc_conf_t *prev = parent, *conf = child;

    PC_UNUSED(cf);
    PC_CONF_MERGE(conf->connect_timeout, prev->connect_timeout, PC_MSEC_UNSET,
                  PC_HTTP_PROXY_TIMEOUT);
    PC_CONF_MERGE(conf->read_timeout, prev->read_timeout, PC_MSEC_UNSET,
                  PC_HTTP_PROXY_TIMEOUT);
    PC_CONF_MERGE(conf->send_timeout, prev->send_timeout, PC_MSEC_UNSET,
                  PC_HTTP_PROXY_TIMEOUT);
    PC_CONF_MERGE(conf->next_upstream, prev->next_upstream, PC_INT_UNSET,
                  PC_HTTP_NEXT_ERROR | PC_HTTP_NEXT_TIMEOUT);
    PC_CONF_MERGE(conf->next_upstream_tries, prev->next_upstream_tries,
                  PC_INT_UNSET, 0);
    PC_CONF_MERGE(conf->buffer_size, prev->buffer_size, PC_SIZE_UNSET,
                  PC_HTTP_PROXY_BUFFER_SIZE);
    PC_CONF_MERGE(conf->upgrade, prev->upgrade, -1, 1);
    PC_CONF_MERGE(conf->underscores, prev->underscores, -1, 0);
    if (conf->timeout_header.data == NULL) {
        conf->timeout_header = prev->timeout_header;
        conf->timeout_header_max = prev->timeout_header_max;
    }
    PC_CONF_MERGE(conf->timeout_header_max, prev->timeout_header_max,
                  PC_MSEC_UNSET, 0);
    /* A context's own list replaces the inherited one, as in nginx; the
     * names filled from $ssl_client_* stay stripped all the same. */
    if (conf->set_headers == NULL) {
        conf->set_headers = prev->set_headers;
    }
    if (merge_ssl_names(cf, prev, conf) != PC_OK) {
        return PC_ERROR;
    }
    if (conf->hide_headers == NULL) {
        conf->hide_headers = prev->hide_headers;
    }
    return PC_OK;
}

/* ------------------------------------------------------- proxy_* setters */

static pc_http_proxy_main_conf_t *
main_conf(pc_conf_t *cf)
{
    return pc_cycle_main_conf(cf->cycle, pc_http_proxy_module);
}

static bool
is_token(const pc_str_t *s)
{
    size_t i;

    if (s->len == 0) {
        return false;
    }
    for (i = 0; i < s->len; i++) {
        u_char c = s->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c)))
        {
            return false;
        }
    }
    return true;
}

static const char *
set_pass(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_http_proxy_loc_conf_t **slot, *plcf = conf;
    const pc_str_t            *url = &cf->node->args[0];
    pc_http_proxy_main_conf_t *mcf = main_conf(cf);

    PC_UNUSED(d);
    if (plcf == NULL || mcf == NULL) {
        return "is not supported at this level";
    }
    if (url->len >= 8 && pc_strncasecmp(url->data, (const u_char *) "https://", 8) == 0) {
        return "has an \"https://\" URL: TLS to upstreams is not supported";
    }
    if (url->len <= 7 || pc_strncasecmp(url->data, (const u_char *) "http://", 7) != 0
        || url->data[7] == '/')
    {
        return pc_conf_error(cf, "invalid URL \"%s\" in \"proxy_pass\": expected "
                             "http://HOST[:PORT][/URI] or http://UPSTREAM[/URI]",
                             (const char *) url->data);
    }
    if (memchr(url->data, '$', url->len) != NULL) {
        return "does not support variables";
    }
    plcf->pass = *url;
    plcf->pass_node = cf->node;
    plcf->core = cf->ctx_confs ? cf->ctx_confs[pc_http_core_module.index] : NULL;
    slot = pc_array_push(&mcf->passes);
    if (slot == NULL) {
        return "failed: out of memory";
    }
    *slot = plcf;
    return PC_CONF_OK;
}

static const char *
set_header(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_http_proxy_loc_conf_t *plcf = conf;
    pc_http_proxy_header_t   *h;
    const pc_str_t           *name = &cf->node->args[0], *value = &cf->node->args[1];
    pc_str_t                 *n;
    uint32_t                  i;

    PC_UNUSED(d);
    if (!is_token(name)) {
        return pc_conf_error(cf, "invalid header name \"%s\" in \"proxy_set_header\"",
                             (const char *) name->data);
    }
    if ((name->len == 14 && pc_strncasecmp(name->data, (const u_char *) "content-length", 14) == 0)
        || (name->len == 17
            && pc_strncasecmp(name->data, (const u_char *) "transfer-encoding", 17) == 0))
    {
        return pc_conf_error(cf, "\"proxy_set_header\" cannot set \"%s\": the proxy "
                             "derives the request framing", (const char *) name->data);
    }
    /* A variable name cannot hold CR, LF or NUL: such a byte is in the
     * fixed text, and the run-time check would refuse every request. */
    if (!pc_http_value_safe(value->data, value->len)) {
        return pc_conf_error(cf, "invalid value for \"proxy_set_header %s\": CR, LF "
                             "or NUL", (const char *) name->data);
    }
    if (plcf->set_headers == NULL) {
        plcf->set_headers = pc_palloc(cf->pool, sizeof(pc_array_t));
        if (plcf->set_headers == NULL
            || pc_array_init(plcf->set_headers, cf->pool, 4, sizeof(*h)) != PC_OK)
        {
            return "failed: out of memory";
        }
    }
    for (i = 0; i < plcf->set_headers->nelts; i++) {
        h = (pc_http_proxy_header_t *) plcf->set_headers->elts + i;
        if (pc_str_caseeq(&h->name, name)) {
            return pc_conf_error(cf, "duplicate \"proxy_set_header %s\"",
                                 (const char *) name->data);
        }
    }
    h = pc_array_push(plcf->set_headers);
    if (h == NULL) {
        return "failed: out of memory";
    }
    h->name = *name;
    h->value = NULL;
    if (reads_ssl_client(value) && !name_in(plcf->ssl_names, name)) {
        if (plcf->ssl_names == NULL
            && ((plcf->ssl_names = pc_palloc(cf->pool, sizeof(pc_array_t))) == NULL
                || pc_array_init(plcf->ssl_names, cf->pool, 2, sizeof(pc_str_t)) != PC_OK))
        {
            return "failed: out of memory";
        }
        if ((n = pc_array_push(plcf->ssl_names)) == NULL) {
            return "failed: out of memory";
        }
        *n = *name;
    }
    if (value->len != 0) {
        h->value = pc_http_template_compile(cf, value);
        if (h->value == NULL) {
            return PC_CONF_ERROR;
        }
    }
    return PC_CONF_OK;
}

static const char *
set_hide(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_http_proxy_loc_conf_t *plcf = conf;
    pc_str_t                 *h;

    PC_UNUSED(d);
    if (!is_token(&cf->node->args[0])) {
        return pc_conf_error(cf, "invalid header name \"%s\" in \"proxy_hide_header\"",
                             (const char *) cf->node->args[0].data);
    }
    if (plcf->hide_headers == NULL) {
        plcf->hide_headers = pc_palloc(cf->pool, sizeof(pc_array_t));
        if (plcf->hide_headers == NULL
            || pc_array_init(plcf->hide_headers, cf->pool, 4, sizeof(*h)) != PC_OK)
        {
            return "failed: out of memory";
        }
    }
    h = pc_array_push(plcf->hide_headers);
    if (h == NULL) {
        return "failed: out of memory";
    }
    *h = cf->node->args[0];
    return PC_CONF_OK;
}

static const char *
set_next(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    static const pc_conf_enum_t names[] = {
        { "error", PC_HTTP_NEXT_ERROR }, { "timeout", PC_HTTP_NEXT_TIMEOUT },
        { "http_502", PC_HTTP_NEXT_502 }, { "http_503", PC_HTTP_NEXT_503 },
        { "http_504", PC_HTTP_NEXT_504 }, { "off", PC_HTTP_NEXT_OFF },
        { NULL, 0 }
    };
    pc_http_proxy_loc_conf_t *plcf = conf;
    intptr_t                  mask = 0;
    uint32_t                  i, k;

    PC_UNUSED(d);
    for (i = 0; i < cf->node->nargs; i++) {
        for (k = 0; names[k].name != NULL; k++) {
            if (pc_str_eq_c(&cf->node->args[i], names[k].name)) {
                break;
            }
        }
        if (names[k].name == NULL) {
            return pc_conf_error(cf, "invalid value \"%s\" in \"proxy_next_upstream\": "
                                 "expected error, timeout, http_502, http_503, "
                                 "http_504 or off", (const char *) cf->node->args[i].data);
        }
        if (mask & names[k].value) {
            return pc_conf_error(cf, "duplicate value \"%s\" in \"proxy_next_upstream\"",
                                 (const char *) cf->node->args[i].data);
        }
        mask |= names[k].value;
    }
    if ((mask & PC_HTTP_NEXT_OFF) && cf->node->nargs > 1) {
        return "\"off\" cannot be combined with other values";
    }
    plcf->next_upstream = mask;
    return PC_CONF_OK;
}

static const char *
set_timeout_header(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_http_proxy_loc_conf_t *plcf = conf;
    const pc_str_t           *name = &cf->node->args[0];
    pc_str_t                  v;

    PC_UNUSED(d);
    if (pc_str_eq_c(name, "off")) {
        if (cf->node->nargs > 1) {
            return "\"off\" takes no parameter";
        }
        pc_str_set(&plcf->timeout_header, "");
        plcf->timeout_header_max = 0;
        return PC_CONF_OK;
    }
    if (!is_token(name)) {
        return pc_conf_error(cf, "invalid header name \"%s\"", (const char *) name->data);
    }
    plcf->timeout_header = *name;
    plcf->timeout_header_max = 0;
    if (cf->node->nargs == 2) {
        v = cf->node->args[1];
        if (v.len < 5 || memcmp(v.data, "max=", 4) != 0) {
            return pc_conf_error(cf, "invalid parameter \"%s\": expected max=DURATION",
                                 (const char *) v.data);
        }
        v.data += 4;
        v.len -= 4;
        if (pc_conf_parse_msec(&v, &plcf->timeout_header_max) != PC_OK
            || plcf->timeout_header_max == 0)
        {
            return pc_conf_error(cf, "invalid duration \"%s\" in max=",
                                 (const char *) v.data);
        }
    }
    return PC_CONF_OK;
}

/* -------------------------------------------------------------- upstream */

static pc_http_upstream_t *
upstream_new(pc_conf_t *cf, const pc_str_t *name, const pc_conf_node_t *node)
{
    pc_http_upstream_t *u;

    u = pc_pcalloc(cf->pool, sizeof(*u));
    if (u == NULL || pc_array_init(&u->peers, cf->pool, 4,
                                   sizeof(pc_http_upstream_peer_t)) != PC_OK)
    {
        return NULL;
    }
    u->name = *name;
    u->node = node;
    u->method = PC_HTTP_BALANCE_RR;
    u->keepalive = PC_INT_UNSET;
    u->keepalive_timeout = PC_MSEC_UNSET;
    u->keepalive_requests = PC_INT_UNSET;
    return u;
}

static void
upstream_defaults(pc_http_upstream_t *u)
{
    if (u->keepalive == PC_INT_UNSET) {
        u->keepalive = PC_HTTP_UPSTREAM_KEEPALIVE;
    }
    if (u->keepalive_timeout == PC_MSEC_UNSET) {
        u->keepalive_timeout = PC_HTTP_UPSTREAM_KEEPALIVE_TIMEOUT;
    }
    if (u->keepalive_requests == PC_INT_UNSET) {
        u->keepalive_requests = PC_HTTP_UPSTREAM_KEEPALIVE_REQUESTS;
    }
}

/* Register u: its index is its position, the slot of its worker state. */
static pc_rc_t
upstream_register(pc_conf_t *cf, pc_http_upstream_t *u)
{
    pc_http_proxy_main_conf_t *mcf = main_conf(cf);
    pc_http_upstream_t       **slot;

    slot = pc_array_push(&mcf->upstreams);
    if (slot == NULL) {
        return PC_ERROR;
    }
    u->index = mcf->upstreams.nelts - 1;
    *slot = u;
    return PC_OK;
}

static pc_http_upstream_t *
upstream_find(pc_http_proxy_main_conf_t *mcf, const pc_str_t *name, bool implicit)
{
    pc_http_upstream_t **ups = mcf->upstreams.elts;
    uint32_t             i;

    for (i = 0; i < mcf->upstreams.nelts; i++) {
        if (ups[i]->implicit == implicit && pc_str_caseeq(&ups[i]->name, name)) {
            return ups[i];
        }
    }
    return NULL;
}

static const char *
set_upstream(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_http_proxy_main_conf_t *mcf = main_conf(cf);
    pc_http_upstream_t        *u;
    const pc_str_t            *name = &cf->node->args[0];
    void                     **confs;
    pc_rc_t                    rc;

    PC_UNUSED(d);
    PC_UNUSED(conf);
    if (mcf == NULL) {
        return "is not supported at this level";
    }
    if (!is_token(name) || memchr(name->data, ':', name->len) != NULL) {
        return pc_conf_error(cf, "invalid upstream name \"%s\"", (const char *) name->data);
    }
    if (upstream_find(mcf, name, false) != NULL) {
        return pc_conf_error(cf, "duplicate upstream \"%s\"", (const char *) name->data);
    }
    u = upstream_new(cf, name, cf->node);
    confs = pc_pcalloc(cf->pool, (pc_modules_n + 1) * sizeof(void *));
    if (u == NULL || confs == NULL) {
        return "failed: out of memory";
    }
    /* the upstream directives below write into u through their offsets */
    confs[pc_http_proxy_module.index] = u;
    rc = pc_conf_block(cf, PC_CTX_UPSTREAM, cf->scope, confs, u);
    if (rc != PC_OK) {
        return PC_CONF_ERROR;
    }
    upstream_defaults(u);
    if (pc_http_upstream_finish(cf, u) != PC_OK || upstream_register(cf, u) != PC_OK) {
        return PC_CONF_ERROR;
    }
    return PC_CONF_OK;
}

/* Split "host", "host:port", "[v6]" or "[v6]:port" (host NUL-terminated
 * into buf).  PC_OK / PC_ERROR. */
static pc_rc_t
split_host_port(const pc_str_t *s, char *host, size_t size, int *port)
{
    const u_char *p = s->data, *end = s->data + s->len, *colon = NULL, *h, *he;
    uint64_t      v;

    *port = 80;
    if (p < end && *p == '[') {
        h = p + 1;
        he = memchr(h, ']', (size_t) (end - h));
        if (he == NULL) {
            return PC_ERROR;
        }
        if (he + 1 < end) {
            if (he[1] != ':') {
                return PC_ERROR;
            }
            colon = he + 1;
        }
    } else {
        h = p;
        colon = memchr(p, ':', s->len);
        if (colon != NULL && memchr(colon + 1, ':', (size_t) (end - colon - 1))) {
            return PC_ERROR;    /* bare IPv6 needs brackets */
        }
        he = colon ? colon : end;
    }
    if (colon != NULL) {
        if (pc_parse_uint64(colon + 1, (size_t) (end - colon - 1), &v) != PC_OK
            || v == 0 || v > 65535)
        {
            return PC_ERROR;
        }
        *port = (int) v;
    }
    if (he == h || (size_t) (he - h) >= size) {
        return PC_ERROR;
    }
    memcpy(host, h, (size_t) (he - h));
    host[he - h] = '\0';
    return PC_OK;
}

/* Resolve addr (getaddrinfo, config time only) and add a peer per
 * distinct address, copying the parameters of tpl. */
static const char *
add_peers(pc_conf_t *cf, pc_http_upstream_t *u, const pc_str_t *addr,
    const pc_http_upstream_peer_t *tpl)
{
    struct addrinfo          hints, *res = NULL, *ai;
    pc_http_upstream_peer_t *p;
    char                     host[256], port[8], text[80];
    int                      rc, portn;
    size_t                   n, before = u->peers.nelts, i;

    if (split_host_port(addr, host, sizeof(host), &portn) != PC_OK) {
        return pc_conf_error(cf, "invalid address \"%.*s\": expected HOST[:PORT] or "
                             "[IPv6][:PORT]", (int) addr->len, addr->data);
    }
    snprintf(port, sizeof(port), "%d", portn);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        return pc_conf_error(cf, "host not found in \"%.*s\" (%s)", (int) addr->len,
                             addr->data, gai_strerror(rc));
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            || ai->ai_addrlen > sizeof(struct sockaddr_storage))
        {
            continue;
        }
        for (i = before; i < u->peers.nelts; i++) {   /* getaddrinfo repeats */
            p = (pc_http_upstream_peer_t *) u->peers.elts + i;
            if (p->addrlen == ai->ai_addrlen && memcmp(&p->addr, ai->ai_addr, p->addrlen) == 0) {
                break;
            }
        }
        if (i < u->peers.nelts) {
            continue;
        }
        if (u->peers.nelts >= PC_HTTP_BALANCER_MAX_PEERS
            || (p = pc_array_push(&u->peers)) == NULL)
        {
            freeaddrinfo(res);
            return "has too many servers (the limit is 1024)";
        }
        *p = *tpl;
        memcpy(&p->addr, ai->ai_addr, ai->ai_addrlen);
        p->addrlen = ai->ai_addrlen;
        n = pc_sockaddr_text(ai->ai_addr, text, sizeof(text), 1);
        p->name.data = pc_pstrdup(cf->pool, (const u_char *) text, n);
        p->name.len = n;
        if (p->name.data == NULL) {
            freeaddrinfo(res);
            return "failed: out of memory";
        }
    }
    freeaddrinfo(res);
    if (u->peers.nelts == before) {
        return pc_conf_error(cf, "no IPv4/IPv6 address for \"%.*s\"", (int) addr->len,
                             addr->data);
    }
    return PC_CONF_OK;
}

/* "weight=N" etc.: *v is the value part when arg starts with key. */
static bool
param(const pc_str_t *arg, const char *key, pc_str_t *v)
{
    size_t n = strlen(key);

    if (arg->len <= n || memcmp(arg->data, key, n) != 0) {
        return false;
    }
    v->data = arg->data + n;
    v->len = arg->len - n;
    return true;
}

/* Balancing methods that pick a server by key or at random: nginx's hash
 * and random refuse backup servers, and so do these. */
static bool
method_no_backup(const pc_http_upstream_t *u)
{
    return u->method == PC_HTTP_BALANCE_HASH || u->method == PC_HTTP_BALANCE_CHASH
           || u->method == PC_HTTP_BALANCE_RANDOM2;
}

/* The directive that set such a method, for the error text. */
static const char *
balancer_name(const pc_http_upstream_t *u)
{
    return u->method == PC_HTTP_BALANCE_RANDOM2 ? "random" : "hash";
}

/* Whether a server of u written so far is a backup. */
static bool
has_backup(const pc_http_upstream_t *u)
{
    const pc_http_upstream_peer_t *p = u->peers.elts;
    uint32_t                       i;

    for (i = 0; i < u->peers.nelts; i++) {
        if (p[i].backup) {
            return true;
        }
    }
    return false;
}

/* The parameters of `server`, each allowed once (SPEC §3: a repeat is an
 * error, not "the last one wins"). */
#define SRV_WEIGHT        0x01
#define SRV_MAX_FAILS     0x02
#define SRV_FAIL_TIMEOUT  0x04
#define SRV_BACKUP        0x08
#define SRV_DOWN          0x10

/* Which SRV_* parameter a is (0: none); *v gets the value of a key=. */
static unsigned
server_param(const pc_str_t *a, pc_str_t *v)
{
    if (param(a, "weight=", v)) {
        return SRV_WEIGHT;
    }
    if (param(a, "max_fails=", v)) {
        return SRV_MAX_FAILS;
    }
    if (param(a, "fail_timeout=", v)) {
        return SRV_FAIL_TIMEOUT;
    }
    if (pc_str_eq_c(a, "backup")) {
        return SRV_BACKUP;
    }
    if (pc_str_eq_c(a, "down")) {
        return SRV_DOWN;
    }
    return 0;
}

static const char *
set_server(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_http_upstream_t      *u = conf;
    pc_http_upstream_peer_t  tpl;
    const pc_str_t          *a;
    pc_str_t                 v;
    int64_t                  n;
    uint32_t                 i;
    unsigned                 p, seen = 0;

    PC_UNUSED(d);
    memset(&tpl, 0, sizeof(tpl));
    tpl.weight = 1;
    tpl.max_fails = PC_HTTP_UPSTREAM_MAX_FAILS;
    tpl.fail_timeout = PC_HTTP_UPSTREAM_FAIL_TIMEOUT;
    for (i = 1; i < cf->node->nargs; i++) {
        a = &cf->node->args[i];
        p = server_param(a, &v);
        if (p == 0) {
            return pc_conf_error(cf, "invalid parameter \"%s\" in \"server\"",
                                 (const char *) a->data);
        }
        if (seen & p) {
            return pc_conf_error(cf, "duplicate parameter \"%s\" in \"server\"",
                                 (const char *) a->data);
        }
        seen |= p;
        if (p == SRV_WEIGHT) {
            if (pc_conf_parse_int(&v, &n) != PC_OK || n < 1
                || n > PC_HTTP_BALANCER_MAX_WEIGHT)
            {
                return pc_conf_error(cf, "invalid \"%s\": weight is 1..1000",
                                     (const char *) a->data);
            }
            tpl.weight = (int32_t) n;
        } else if (p == SRV_MAX_FAILS) {
            if (pc_conf_parse_int(&v, &n) != PC_OK || n > 1000) {
                return pc_conf_error(cf, "invalid \"%s\": max_fails is 0..1000",
                                     (const char *) a->data);
            }
            tpl.max_fails = (int32_t) n;
        } else if (p == SRV_FAIL_TIMEOUT) {
            if (pc_conf_parse_msec(&v, &tpl.fail_timeout) != PC_OK) {
                return pc_conf_error(cf, "invalid \"%s\": expected a duration",
                                     (const char *) a->data);
            }
        } else if (p == SRV_BACKUP) {
            if (method_no_backup(u)) {
                return pc_conf_error(cf, "invalid parameter \"backup\" in \"server\": "
                                     "the \"%s\" balancing method does not support "
                                     "backup servers", balancer_name(u));
            }
            tpl.backup = 1;
        } else {
            tpl.down = 1;
        }
    }
    return add_peers(cf, u, &cf->node->args[0], &tpl);
}

static const char *
set_method(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_http_upstream_t *u = conf;
    const pc_str_t     *name = &cf->node->name;

    PC_UNUSED(d);
    if (u->balancer_set) {
        return pc_conf_error(cf, "\"%s\": the balancing method is already set",
                             (const char *) name->data);
    }
    u->balancer_set = 1;
    if (pc_str_eq_c(name, "least_conn")) {
        u->method = PC_HTTP_BALANCE_LEAST_CONN;
    } else if (pc_str_eq_c(name, "random")) {
        if (!pc_str_eq_c(&cf->node->args[0], "two")) {
            return "supports only \"random two\"";
        }
        u->method = PC_HTTP_BALANCE_RANDOM2;
    } else if (pc_str_eq_c(name, "hash")) {
        u->method = PC_HTTP_BALANCE_HASH;
        if (cf->node->nargs == 2) {
            if (!pc_str_eq_c(&cf->node->args[1], "consistent")) {
                return pc_conf_error(cf, "invalid parameter \"%s\" in \"hash\"",
                                     (const char *) cf->node->args[1].data);
            }
            u->method = PC_HTTP_BALANCE_CHASH;
        }
        u->hash_key = pc_http_template_compile(cf, &cf->node->args[0]);
        if (u->hash_key == NULL) {
            return PC_CONF_ERROR;
        }
    } else {
        u->method = PC_HTTP_BALANCE_RR;
    }
    /* servers written before the method: the same rule as in set_server */
    if (method_no_backup(u) && has_backup(u)) {
        return pc_conf_error(cf, "the \"%s\" balancing method does not support backup "
                             "servers", (const char *) name->data);
    }
    return PC_CONF_OK;
}

/* --------------------------------------------------------- resolution */

static bool
is_upstream_named(const pc_conf_node_t *n, const void *data)
{
    return n->block && n->nargs >= 1 && pc_str_caseeq(&n->args[0], data);
}

/* After errors: an `upstream NAME { }` written but not registered was
 * rejected (and reported); resolving NAME as a host would only add a
 * misleading "host not found". */
static bool
upstream_rejected(pc_conf_t *cf, const pc_str_t *name)
{
    return cf->nerrors != 0 && cf->cycle->root != NULL
           && pc_cycle_conf_find(cf->cycle->root, "upstream", true,
                                 is_upstream_named, name) != NULL;
}

static pc_rc_t
resolve_pass(pc_conf_t *cf, pc_http_proxy_main_conf_t *mcf,
    pc_http_proxy_loc_conf_t *plcf)
{
    pc_http_upstream_peer_t tpl;
    pc_http_location_t     *loc;
    pc_str_t                auth;
    const u_char           *p, *end;
    const pc_conf_node_t   *saved = cf->node;
    const char             *rv;

    p = plcf->pass.data + 7;
    end = plcf->pass.data + plcf->pass.len;
    auth.data = (u_char *) p;
    while (p < end && *p != '/') {
        p++;
    }
    auth.len = (size_t) (p - auth.data);
    if (p < end) {
        plcf->pass_has_uri = 1;
        plcf->pass_uri.data = (u_char *) p;
        plcf->pass_uri.len = (size_t) (end - p);
    }
    loc = plcf->core ? plcf->core->location : NULL;
    if (plcf->pass_has_uri && loc != NULL
        && (loc->match == PC_HTTP_LOC_REGEX || loc->match == PC_HTTP_LOC_REGEX_CASELESS))
    {
        pc_conf_error_at(cf, plcf->pass_node, "\"proxy_pass\" cannot have a URI part "
                         "in a location given by a regular expression");
        return PC_ERROR;
    }
    if (memchr(auth.data, ':', auth.len) == NULL) {
        plcf->upstream = upstream_find(mcf, &auth, false);
        if (plcf->upstream != NULL) {
            return PC_OK;
        }
        if (upstream_rejected(cf, &auth)) {
            return PC_ERROR;    /* reported where it was rejected */
        }
    }
    plcf->upstream = upstream_find(mcf, &auth, true);
    if (plcf->upstream != NULL) {
        return PC_OK;
    }
    plcf->upstream = upstream_new(cf, &auth, plcf->pass_node);
    if (plcf->upstream == NULL) {
        return PC_ERROR;
    }
    plcf->upstream->implicit = 1;
    upstream_defaults(plcf->upstream);
    memset(&tpl, 0, sizeof(tpl));
    tpl.weight = 1;
    tpl.max_fails = PC_HTTP_UPSTREAM_MAX_FAILS;
    tpl.fail_timeout = PC_HTTP_UPSTREAM_FAIL_TIMEOUT;
    cf->node = (pc_conf_node_t *) plcf->pass_node;
    rv = add_peers(cf, plcf->upstream, &auth, &tpl);
    cf->node = (pc_conf_node_t *) saved;
    if (rv != PC_CONF_OK) {
        if (rv != PC_CONF_ERROR) {
            pc_conf_error_at(cf, plcf->pass_node, "\"proxy_pass\" %s", rv);
        }
        return PC_ERROR;
    }
    if (pc_http_upstream_finish(cf, plcf->upstream) != PC_OK
        || upstream_register(cf, plcf->upstream) != PC_OK)
    {
        return PC_ERROR;
    }
    return PC_OK;
}

static pc_rc_t
init_conf(pc_conf_t *cf)
{
    pc_http_proxy_main_conf_t  *mcf = main_conf(cf);
    pc_http_proxy_loc_conf_t  **passes;
    pc_rc_t                     rc = PC_OK;
    uint32_t                    i;

    if (mcf == NULL) {
        return PC_ERROR;
    }
    passes = mcf->passes.elts;
    for (i = 0; i < mcf->passes.nelts; i++) {
        if (resolve_pass(cf, mcf, passes[i]) != PC_OK) {
            rc = PC_ERROR;
        }
    }
    return rc;
}

static pc_rc_t
init_worker(pc_worker_t *wk)
{
    pc_http_proxy_main_conf_t *mcf = pc_cycle_main_conf(wk->cycle, pc_http_proxy_module);

    if (mcf == NULL) {
        return PC_OK;
    }
    return pc_http_upstream_init_worker(mcf->upstreams.elts, mcf->upstreams.nelts);
}

static void
exit_worker(pc_worker_t *wk)
{
    PC_UNUSED(wk);
    pc_http_upstream_exit_worker();
}

pc_module_t pc_http_proxy_module = {
    "proxy",
    0,
    proxy_directives,
    proxy_hooks,
    create_conf,
    merge_conf,
    init_conf,
    init_worker,
    exit_worker,
    NULL,
    NULL,
    0,
    pc_http_proxy_variables
};

/* Contract: see pc_http_upstream.h.  The list is the proxy's main conf
 * (cycle pool); indices were assigned in this order. */
pc_http_upstream_t **
pc_http_upstream_list(pc_cycle_t *cycle, uint32_t *n)
{
    pc_http_proxy_main_conf_t *mcf;

    *n = 0;
    if (cycle == NULL || cycle->main_confs == NULL) {
        return NULL;
    }
    mcf = cycle->main_confs[pc_http_proxy_module.index];
    if (mcf == NULL || mcf->upstreams.nelts == 0) {
        return NULL;
    }
    *n = mcf->upstreams.nelts;
    return mcf->upstreams.elts;
}
