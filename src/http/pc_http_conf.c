/*
 * pc_http_conf.c -- the "http" core module: the http/server/location blocks,
 * listen, server_name, return, add_header, allow/deny, real_ip and the
 * client-side limits (SPEC §4 Core).
 *
 * Shape of the configuration it builds (all in the cycle pool):
 *
 *   http { }      one HTTP-scope conf per module          (pc_http_main_conf_t)
 *   server { }    pc_http_server_t + SERVER-scope confs
 *   location { }  pc_http_location_t + LOCATION-scope confs
 *   listen        a pc_listening_t whose data is a pc_http_addr_conf_t listing
 *                 the servers bound to that address
 *
 * When the http block has been read, every module's confs are merged
 * HTTP→SERVER→LOCATION (so a directive given after a server block is still
 * inherited, as in nginx) and each server's location lookup arrays are
 * built; init_conf then builds the per-address server_name tables.
 *
 * Runtime code lives elsewhere: pc_http_server.c (matching),
 * pc_http_access.c (allow/deny, real_ip), pc_http_return.c (return,
 * add_header), pc_http_variables.c.
 */
#include <netinet/in.h>
#include "http/pc_http.h"
#include "http/pc_http_chars.h"
#include "http/pc_http_conf.h"
#include "http/pc_http_phase.h"
#include "http/pc_http_request.h"

#define CTX_HS    (PC_CTX_HTTP | PC_CTX_SERVER)
#define CTX_HSL   (PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION)
#define CTX_SL    (PC_CTX_SERVER | PC_CTX_LOCATION)
#define OFF(f)    offsetof(pc_http_core_conf_t, f)
#define DAY_MS    (86400LL * 1000)
#define MAX_BUF   (1024 * 1024)

const pc_http_regex_ops_t *pc_http_regex_ops = NULL;

/* Defaults, applied by merge_conf where neither the scope nor a parent set
 * the value.  Bounds sit in the directive table below. */
static const pc_http_core_conf_t core_defaults = {
    .client_header_timeout      = 60 * 1000,
    .client_body_timeout        = 60 * 1000,
    .client_body_min_rate       = 1024,
    .send_timeout               = 60 * 1000,
    .keepalive_timeout          = 75 * 1000,
    .keepalive_requests         = 1000,
    .client_max_body_size       = 1024 * 1024,
    .client_header_buffer_size  = 1024,
    .large_header_buffers_num   = 4,
    .large_header_buffer_size   = 8 * 1024,
    .error_format               = PC_HTTP_ERROR_JSON,
};

/* ---------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------- */

static pc_str_t *
arg(pc_conf_t *cf, uint32_t i)
{
    return &cf->node->args[i];
}

static const char *
argc(pc_conf_t *cf, uint32_t i)
{
    return (const char *) cf->node->args[i].data;
}

/* One conf per module for scope (NULL where a module has none). */
static void **
create_confs(pc_conf_t *cf, pc_scope_e scope)
{
    void **confs;
    unsigned i, n;

    for (n = 0; pc_modules[n] != NULL; n++) { }
    confs = pc_pcalloc(cf->pool, (n ? n : 1) * sizeof(void *));
    if (confs == NULL)
        return NULL;
    for (i = 0; i < n; i++)
        if (pc_modules[i]->create_conf != NULL)
            confs[pc_modules[i]->index] = pc_modules[i]->create_conf(cf, scope);
    return confs;
}

static bool
is_tchar(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool
is_token(const pc_str_t *s)
{
    size_t i;

    if (s->len == 0)
        return false;
    for (i = 0; i < s->len; i++)
        if (!is_tchar(s->data[i]))
            return false;
    return true;
}

static bool
has_prefix(const pc_str_t *s, const char *p)
{
    size_t n = strlen(p);

    return s->len >= n && memcmp(s->data, p, n) == 0;
}

/* ---------------------------------------------------------------------
 * http / server / location blocks
 * ------------------------------------------------------------------- */

/* Merge every module's parent confs into child confs; errors point at the
 * block's own FILE:LINE. */
static pc_rc_t
merge_all(pc_conf_t *cf, void **parent, void **child, const char *what,
    const char *file, uint32_t line)
{
    pc_conf_node_t *saved = cf->node, at;
    pc_rc_t rc = PC_OK;
    unsigned i, idx;

    memset(&at, 0, sizeof(at));
    at.name.data = (u_char *) what;
    at.name.len = strlen(what);
    at.file = file;
    at.line = line;
    cf->node = &at;
    for (i = 0; pc_modules[i] != NULL; i++) {
        idx = pc_modules[i]->index;
        if (pc_modules[i]->merge_conf == NULL || child[idx] == NULL || parent[idx] == NULL)
            continue;
        if (pc_modules[i]->merge_conf(cf, parent[idx], child[idx]) != PC_OK)
            rc = PC_ERROR;
    }
    cf->node = saved;
    return rc;
}

static pc_rc_t
merge_servers(pc_conf_t *cf, pc_http_main_conf_t *mc)
{
    pc_http_server_t **srv = mc->servers.elts;
    pc_http_location_t **loc;
    pc_rc_t rc = PC_OK;
    uint32_t i, j;

    for (i = 0; i < mc->servers.nelts; i++) {
        if (merge_all(cf, mc->confs, srv[i]->confs, "server", srv[i]->file,
                      srv[i]->line) != PC_OK)
            rc = PC_ERROR;
        loc = srv[i]->locations.elts;
        for (j = 0; j < srv[i]->locations.nelts; j++)
            if (merge_all(cf, srv[i]->confs, loc[j]->confs, "location",
                          loc[j]->file, loc[j]->line) != PC_OK)
                rc = PC_ERROR;
        if (pc_http_server_build_locations(cf->pool, srv[i]) != PC_OK) {
            pc_conf_error(cf, "out of memory");
            rc = PC_ERROR;
        }
    }
    return rc;
}

static const char *
set_http(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_http_main_conf_t *mc = conf;
    pc_rc_t rc;

    PC_UNUSED(d);
    if (mc == NULL && cf->cycle && cf->cycle->main_confs)
        mc = cf->cycle->main_confs[pc_http_core_module.index];
    if (mc == NULL)
        return "has no main configuration (internal error)";
    if (mc->confs != NULL)
        return "is duplicate";
    mc->confs = create_confs(cf, PC_SCOPE_HTTP);
    if (mc->confs == NULL)
        return "out of memory";
    /* Merge even when something inside was rejected: init_conf still runs
     * (so -t reports every error at once) and reads merged confs. */
    rc = pc_conf_block(cf, PC_CTX_HTTP, PC_SCOPE_HTTP, mc->confs, mc);
    if (merge_servers(cf, mc) != PC_OK)
        rc = PC_ERROR;
    return rc == PC_OK ? PC_CONF_OK : PC_CONF_ERROR;
}

static bool
server_has_listen(pc_conf_t *cf, const pc_http_server_t *s)
{
    pc_listening_t *ls = cf->cycle->listening.elts;
    pc_http_addr_conf_t *addr;
    pc_http_server_t **srv;
    uint32_t i, j;

    for (i = 0; i < cf->cycle->listening.nelts; i++) {
        if (ls[i].handler != pc_http_init_connection || (addr = ls[i].data) == NULL)
            continue;
        srv = addr->servers.elts;
        for (j = 0; j < addr->servers.nelts; j++)
            if (srv[j] == s)
                return true;
    }
    return false;
}

static const char *add_listen(pc_conf_t *cf, pc_http_server_t *s,
    const struct sockaddr_storage *ss, socklen_t len, unsigned flags, int backlog);

#define LISTEN_SSL       0x01
#define LISTEN_DEFAULT   0x02
#define LISTEN_REUSEPORT 0x04

static const char *
set_server(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_http_main_conf_t *mc = cf->block;
    pc_http_core_conf_t *core;
    pc_http_server_t *s, **slot;
    struct sockaddr_in sin;

    PC_UNUSED(d);
    PC_UNUSED(conf);
    if (mc == NULL)
        return "outside an http block (internal error)";
    s = pc_pcalloc(cf->pool, sizeof(*s));
    if (s == NULL
        || pc_array_init(&s->names, cf->pool, 4, sizeof(pc_http_server_name_t)) != PC_OK
        || pc_array_init(&s->locations, cf->pool, 8, sizeof(pc_http_location_t *)) != PC_OK
        || (s->confs = create_confs(cf, PC_SCOPE_SERVER)) == NULL
        || (slot = pc_array_push(&mc->servers)) == NULL)
    {
        return "out of memory";
    }
    *slot = s;
    s->file = cf->node->file;
    s->line = cf->node->line;
    core = s->confs[pc_http_core_module.index];
    if (core != NULL)
        core->server = s;
    if (pc_conf_block(cf, PC_CTX_SERVER, PC_SCOPE_SERVER, s->confs, s) != PC_OK)
        return PC_CONF_ERROR;
    if (server_has_listen(cf, s))
        return PC_CONF_OK;
    /* like nginx: a server without listen is on *:80 (needs root) */
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(80);
    return add_listen(cf, s, (struct sockaddr_storage *) &sin, sizeof(sin), 0, -1);
}

/* Split "location [MOD] PATH" (also nginx's glued "=/x", "~*re"). */
static const char *
parse_location_args(pc_conf_t *cf, pc_http_loc_match_e *match, pc_str_t *path)
{
    static const struct { const char *mod; pc_http_loc_match_e m; } mods[] = {
        { "^~", PC_HTTP_LOC_PREFIX_STOP }, { "~*", PC_HTTP_LOC_REGEX_CASELESS },
        { "=", PC_HTTP_LOC_EXACT }, { "~", PC_HTTP_LOC_REGEX },
    };
    pc_str_t *a = arg(cf, 0);
    size_t i, n;

    for (i = 0; i < pc_nelems(mods); i++) {
        n = strlen(mods[i].mod);
        if (cf->node->nargs == 2 ? (a->len == n && memcmp(a->data, mods[i].mod, n) == 0)
                                 : has_prefix(a, mods[i].mod))
            break;
    }
    if (cf->node->nargs == 2) {
        if (i == pc_nelems(mods))
            return pc_conf_error(cf, "invalid location modifier \"%s\"", argc(cf, 0));
        *path = *arg(cf, 1);
    } else if (i < pc_nelems(mods)) {
        path->data = a->data + strlen(mods[i].mod);
        path->len = a->len - strlen(mods[i].mod);
    } else {
        *path = *a;
    }
    *match = i < pc_nelems(mods) ? mods[i].m : PC_HTTP_LOC_PREFIX;
    if (path->len == 0)
        return pc_conf_error(cf, "empty location path");
    if (path->data[0] == '@')
        return pc_conf_error(cf, "named locations (\"%.*s\") are not supported",
                             (int) path->len, (const char *) path->data);
    if (*match < PC_HTTP_LOC_REGEX && path->data[0] != '/')
        return pc_conf_error(cf, "invalid location \"%.*s\": a path must start with \"/\"",
                             (int) path->len, (const char *) path->data);
    return PC_CONF_OK;
}

/* Exact locations clash with exact ones, prefix with prefix (plain or ^~),
 * regexes with the same regex of the same case mode. */
static int
match_class(pc_http_loc_match_e m)
{
    return m == PC_HTTP_LOC_PREFIX_STOP ? PC_HTTP_LOC_PREFIX : (int) m;
}

static const char *
check_duplicate(pc_conf_t *cf, pc_http_server_t *s, pc_http_loc_match_e match,
    const pc_str_t *path)
{
    pc_http_location_t **loc = s->locations.elts;
    uint32_t i;

    for (i = 0; i < s->locations.nelts; i++) {
        if (match_class(loc[i]->match) == match_class(match) && pc_str_eq(&loc[i]->name, path))
            return pc_conf_error(cf, "duplicate location \"%.*s\" (first at %s:%u)",
                                 (int) path->len, (const char *) path->data,
                                 loc[i]->file, loc[i]->line);
    }
    return PC_CONF_OK;
}

static const char *
set_location(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_http_server_t *s = cf->block;
    pc_http_location_t *loc, **slot;
    pc_http_core_conf_t *core;
    pc_http_loc_match_e match = PC_HTTP_LOC_PREFIX;
    pc_str_t path = pc_null_string;
    const char *err;

    PC_UNUSED(d);
    PC_UNUSED(conf);
    if (s == NULL)
        return "outside a server block (internal error)";
    if ((err = parse_location_args(cf, &match, &path)) != PC_CONF_OK
        || (err = check_duplicate(cf, s, match, &path)) != PC_CONF_OK)
        return err;
    loc = pc_pcalloc(cf->pool, sizeof(*loc));
    if (loc == NULL)
        return "out of memory";
    loc->match = match;
    loc->server = s;
    loc->file = cf->node->file;
    loc->line = cf->node->line;
    loc->name.data = pc_pstrdup(cf->pool, path.data, path.len);
    loc->name.len = path.len;
    if (loc->name.data == NULL)
        return "out of memory";
    if (match >= PC_HTTP_LOC_REGEX) {
        if (pc_http_regex_ops == NULL)
            return pc_conf_error(cf, "location %s requires the regex module",
                                 match == PC_HTTP_LOC_REGEX ? "~" : "~*");
        loc->regex = pc_http_regex_ops->compile(cf, &loc->name,
                                                match == PC_HTTP_LOC_REGEX_CASELESS);
        if (loc->regex == NULL)
            return PC_CONF_ERROR;
    }
    if ((loc->confs = create_confs(cf, PC_SCOPE_LOCATION)) == NULL
        || (slot = pc_array_push(&s->locations)) == NULL)
        return "out of memory";
    *slot = loc;
    core = loc->confs[pc_http_core_module.index];
    if (core != NULL) {
        core->server = s;
        core->location = loc;
    }
    return pc_conf_block(cf, PC_CTX_LOCATION, PC_SCOPE_LOCATION, loc->confs, loc) == PC_OK
           ? PC_CONF_OK : PC_CONF_ERROR;
}

/* ---------------------------------------------------------------------
 * listen
 * ------------------------------------------------------------------- */

static uint16_t
sa_port(const struct sockaddr *sa)
{
    return sa->sa_family == AF_INET ? ntohs(((const struct sockaddr_in *) sa)->sin_port)
                                    : ntohs(((const struct sockaddr_in6 *) sa)->sin6_port);
}

static bool
sa_wildcard(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ((const struct sockaddr_in *) sa)->sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *) sa)->sin6_addr);
}

/* A wildcard and a specific address on the same port and family cannot both
 * be bound (EADDRINUSE at start); say so at -t time instead. */
static const char *
check_overlap(pc_conf_t *cf, const struct sockaddr *sa)
{
    pc_listening_t *ls = cf->cycle->listening.elts;
    const struct sockaddr *o;
    char text[64];
    uint32_t i;

    for (i = 0; i < cf->cycle->listening.nelts; i++) {
        o = (const struct sockaddr *) &ls[i].addr;
        if (o->sa_family != sa->sa_family || sa_port(o) != sa_port(sa)
            || sa_wildcard(o) == sa_wildcard(sa))
            continue;
        pc_sockaddr_text(sa, text, sizeof(text), 1);
        return pc_conf_error(cf, "listen %s overlaps listen %s on the same port: "
                             "use either the wildcard address or specific addresses",
                             text, ls[i].addr_text);
    }
    return PC_CONF_OK;
}

static bool
tls_module_present(void)
{
    unsigned i;

    for (i = 0; pc_modules[i] != NULL; i++)
        if (strcmp(pc_modules[i]->name, "tls") == 0)
            return true;
    return false;
}

static pc_http_addr_conf_t *
addr_conf(pc_conf_t *cf, pc_listening_t *ls)
{
    pc_http_addr_conf_t *addr = ls->data;

    if (addr != NULL)
        return addr;
    addr = pc_pcalloc(cf->pool, sizeof(*addr));
    if (addr == NULL
        || pc_array_init(&addr->servers, cf->pool, 4, sizeof(pc_http_server_t *)) != PC_OK)
        return NULL;
    ls->data = addr;
    ls->handler = pc_http_init_connection;
    return addr;
}

/* Bind server s to the listener for ss (created when new). */
static const char *
add_listen(pc_conf_t *cf, pc_http_server_t *s, const struct sockaddr_storage *ss,
    socklen_t len, unsigned flags, int backlog)
{
    pc_http_server_t **srv, **slot;
    pc_http_addr_conf_t *addr;
    pc_listening_t *ls;
    const char *err;
    uint32_t i;

    if ((err = check_overlap(cf, (const struct sockaddr *) ss)) != PC_CONF_OK)
        return err;
    ls = pc_cycle_add_listening(cf, (const struct sockaddr *) ss, len);
    if (ls == NULL)
        return PC_CONF_ERROR;
    if (ls->handler != NULL && ls->handler != pc_http_init_connection)
        return pc_conf_error(cf, "%s is already used by another protocol", ls->addr_text);
    if ((addr = addr_conf(cf, ls)) == NULL)
        return "out of memory";
    srv = addr->servers.elts;
    for (i = 0; i < addr->servers.nelts; i++)
        if (srv[i] == s)
            return pc_conf_error(cf, "duplicate listen %s", ls->addr_text);
    if ((flags & LISTEN_DEFAULT) && addr->default_server != NULL)
        return pc_conf_error(cf, "a duplicate default server for %s (first at %s:%u)",
                             ls->addr_text, addr->default_server->file,
                             addr->default_server->line);
    if ((slot = pc_array_push(&addr->servers)) == NULL)
        return "out of memory";
    *slot = s;
    if (flags & LISTEN_DEFAULT)
        addr->default_server = s;
    if (flags & LISTEN_SSL)
        ls->ssl = addr->ssl = s->ssl = 1;
    if (flags & LISTEN_REUSEPORT)
        ls->reuseport = 1;
    if (backlog > 0)
        ls->backlog = backlog;
    if (ss->ss_family == AF_INET6)
        ls->ipv6only = 1;   /* so [::]:P and 0.0.0.0:P can coexist */
    return PC_CONF_OK;
}

static const char *
parse_listen_addr(pc_conf_t *cf, struct sockaddr_storage *ss, socklen_t *len)
{
    pc_str_t *a = arg(cf, 0);
    struct sockaddr_in *sin = (struct sockaddr_in *) ss;
    uint64_t port;

    memset(ss, 0, sizeof(*ss));
    if (pc_parse_uint64(a->data, a->len, &port) == PC_OK) {
        /* bare port: every IPv4 address, like nginx */
        if (port < 1 || port > 65535)
            return pc_conf_error(cf, "invalid port \"%s\": expected 1..65535", argc(cf, 0));
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t) port);
        *len = sizeof(*sin);
        return PC_CONF_OK;
    }
    if (pc_parse_addr_port(a, 80, ss, len) != PC_OK
        || (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
        || sa_port((struct sockaddr *) ss) == 0)
    {
        return pc_conf_error(cf, "invalid address \"%s\"", argc(cf, 0));
    }
    return PC_CONF_OK;
}

static const char *
set_listen(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_http_core_conf_t *core = conf;
    pc_http_server_t *s = core && core->server ? core->server : cf->block;
    struct sockaddr_storage ss;
    socklen_t len;
    unsigned flags = 0;
    int64_t backlog = -1;
    const char *err;
    pc_str_t v;
    uint32_t i;

    PC_UNUSED(d);
    if ((err = parse_listen_addr(cf, &ss, &len)) != PC_CONF_OK)
        return err;
    for (i = 1; i < cf->node->nargs; i++) {
        unsigned flag = strcmp(argc(cf, i), "ssl") == 0 ? LISTEN_SSL
                        : strcmp(argc(cf, i), "default_server") == 0 ? LISTEN_DEFAULT
                        : strcmp(argc(cf, i), "reuseport") == 0 ? LISTEN_REUSEPORT : 0;

        /* SPEC §3: a duplicate is an error, not "the last one wins" */
        if ((flag != 0 && (flags & flag)) || (backlog >= 0 && has_prefix(arg(cf, i), "backlog=")))
            return pc_conf_error(cf, "duplicate parameter \"%s\"", argc(cf, i));
        if (flag != 0) {
            flags |= flag;
        } else if (has_prefix(arg(cf, i), "backlog=")) {
            v.data = arg(cf, i)->data + 8;
            v.len = arg(cf, i)->len - 8;
            if (pc_conf_parse_int(&v, &backlog) != PC_OK || backlog < 1 || backlog > 65535)
                return pc_conf_error(cf, "invalid backlog \"%s\": expected 1..65535",
                                     argc(cf, i));
        } else {
            return pc_conf_error(cf, "invalid parameter \"%s\"", argc(cf, i));
        }
    }
    if ((flags & LISTEN_SSL) && !tls_module_present())
        return pc_conf_error(cf, "\"ssl\" requires the tls module");
    return add_listen(cf, s, &ss, len, flags, (int) backlog);
}

/* ---------------------------------------------------------------------
 * server_name
 * ------------------------------------------------------------------- */

static const char *
push_name(pc_conf_t *cf, pc_http_server_t *s, pc_http_name_kind_e kind,
    const u_char *p, size_t len, void *re)
{
    pc_http_server_name_t *sn = pc_array_push(&s->names);

    if (sn == NULL || (sn->name.data = pc_pnalloc(cf->pool, len + 1)) == NULL)
        return "out of memory";
    if (kind == PC_HTTP_NAME_REGEX)
        memcpy(sn->name.data, p, len);
    else
        pc_strlow(sn->name.data, p, len);
    sn->name.data[len] = '\0';
    sn->name.len = len;
    sn->kind = kind;
    sn->regex = re;
    return PC_CONF_OK;
}

static const char *
add_server_name(pc_conf_t *cf, pc_http_server_t *s, const pc_str_t *n)
{
    const u_char *star;
    pc_str_t re;
    void *rx;
    const char *err;

    if (n->len > 0 && n->data[0] == '~') {
        re.data = n->data + 1;
        re.len = n->len - 1;
        if (re.len == 0)
            return pc_conf_error(cf, "empty server name regex");
        if (pc_http_regex_ops == NULL)
            return pc_conf_error(cf, "server_name ~ requires the regex module");
        /* hosts are lowercased, so match regexes caselessly */
        if ((rx = pc_http_regex_ops->compile(cf, &re, 1)) == NULL)
            return PC_CONF_ERROR;
        return push_name(cf, s, PC_HTTP_NAME_REGEX, re.data, re.len, rx);
    }
    star = memchr(n->data, '*', n->len);
    if (star == NULL && n->len > 1 && n->data[0] == '.') {
        /* ".example.com": example.com and every name under it */
        if ((err = push_name(cf, s, PC_HTTP_NAME_EXACT, n->data + 1, n->len - 1, NULL)))
            return err;
        return push_name(cf, s, PC_HTTP_NAME_WILD_HEAD, n->data + 1, n->len - 1, NULL);
    }
    if (star == NULL)
        return push_name(cf, s, PC_HTTP_NAME_EXACT, n->data, n->len, NULL);
    if (n->len > 2 && has_prefix(n, "*.") && !memchr(n->data + 1, '*', n->len - 1))
        return push_name(cf, s, PC_HTTP_NAME_WILD_HEAD, n->data + 2, n->len - 2, NULL);
    if (n->len > 2 && star == n->data + n->len - 1 && n->data[n->len - 2] == '.')
        return push_name(cf, s, PC_HTTP_NAME_WILD_TAIL, n->data, n->len - 2, NULL);
    return pc_conf_error(cf, "invalid server name \"%.*s\": \"*\" only as \"*.name\" "
                         "or \"name.*\"", (int) n->len, (const char *) n->data);
}

static const char *
set_server_name(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_http_server_t *s = cf->block;
    const char *err;
    uint32_t i;

    PC_UNUSED(d);
    PC_UNUSED(conf);
    for (i = 0; i < cf->node->nargs; i++)
        if ((err = add_server_name(cf, s, arg(cf, i))) != PC_CONF_OK)
            return err;
    return PC_CONF_OK;
}

/* ---------------------------------------------------------------------
 * return, add_header
 * ------------------------------------------------------------------- */

/* CR, LF or NUL in an argument (pc_http_value_safe) are in the fixed text
 * of the value -- a variable name cannot hold them -- so the run-time check
 * would refuse every request: the configuration is refused instead. */

static bool
is_redirect_code(uint64_t code)
{
    return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

/* The URL of a redirect: present, not empty, no CR/LF/NUL in its fixed
 * text (it goes into the Location header). */
static const char *
check_return_url(pc_conf_t *cf, uint64_t code, const pc_str_t *url)
{
    if (url == NULL || url->len == 0)
        return pc_conf_error(cf, "\"return %u\" needs a URL (it is sent as the "
                             "Location header)", (unsigned) code);
    if (!pc_http_value_safe(url->data, url->len))
        return pc_conf_error(cf, "invalid URL in \"return %u\": CR, LF or NUL",
                             (unsigned) code);
    return PC_CONF_OK;
}

static const char *
set_return(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_http_core_conf_t *c = conf;
    pc_str_t *a = arg(cf, 0);
    uint64_t code;
    const char *err;

    PC_UNUSED(d);
    if (pc_parse_uint64(a->data, a->len, &code) == PC_OK) {
        /* 1xx cannot be a final response */
        if (code < 200 || code > 599)
            return pc_conf_error(cf, "invalid return code \"%s\": expected 200..599",
                                 argc(cf, 0));
        c->return_status = (intptr_t) code;
        a = cf->node->nargs == 2 ? arg(cf, 1) : NULL;
        if (code == 444 && a != NULL)
            return pc_conf_error(cf, "\"return 444\" closes the connection without a "
                                 "response: it takes no text");
        if (is_redirect_code(code)
            && (err = check_return_url(cf, code, a)) != PC_CONF_OK)
            return err;
        if (a == NULL)
            return PC_CONF_OK;
    } else if (has_prefix(a, "http://") || has_prefix(a, "https://")
               || has_prefix(a, "$scheme"))
    {
        if (cf->node->nargs != 1)
            return pc_conf_error(cf, "invalid return code \"%s\"", argc(cf, 0));
        if ((err = check_return_url(cf, 302, a)) != PC_CONF_OK)
            return err;
        c->return_status = 302;
    } else {
        return pc_conf_error(cf, "invalid return code \"%s\"", argc(cf, 0));
    }
    c->return_text = pc_http_template_compile(cf, a);
    return c->return_text ? PC_CONF_OK : PC_CONF_ERROR;
}

/* Response fields the head writer (pc_http_write.c, field_kind) drops
 * because it writes them itself: add_header could never send them.  NULL,
 * or why the name is refused. */
static const char *
add_header_refused(const pc_str_t *name)
{
    static const char *const framing[] = { "content-length", "transfer-encoding" };
    static const char *const conn[] = { "connection", "keep-alive" };
    size_t i;

    for (i = 0; i < pc_nelems(framing); i++)
        if (name->len == strlen(framing[i])
            && pc_strncasecmp(name->data, (const u_char *) framing[i], name->len) == 0)
            return "the server derives the response framing";
    for (i = 0; i < pc_nelems(conn); i++)
        if (name->len == strlen(conn[i])
            && pc_strncasecmp(name->data, (const u_char *) conn[i], name->len) == 0)
            return "the server manages the connection (hop-by-hop field)";
    return NULL;
}

static const char *
set_add_header(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_http_core_conf_t *c = conf;
    pc_http_add_header_t *h;
    const char *why;

    PC_UNUSED(d);
    if (!is_token(arg(cf, 0)))
        return pc_conf_error(cf, "invalid header name \"%s\"", argc(cf, 0));
    if ((why = add_header_refused(arg(cf, 0))) != NULL)
        return pc_conf_error(cf, "\"add_header\" cannot set \"%s\": %s", argc(cf, 0), why);
    if (cf->node->nargs == 3 && strcmp(argc(cf, 2), "always") != 0)
        return pc_conf_error(cf, "invalid parameter \"%s\": expected \"always\"", argc(cf, 2));
    if (!pc_http_value_safe(arg(cf, 1)->data, arg(cf, 1)->len))
        return pc_conf_error(cf, "invalid value for header \"%s\": CR, LF or NUL",
                             argc(cf, 0));
    if (c->add_headers == NULL) {
        c->add_headers = pc_palloc(cf->pool, sizeof(pc_array_t));
        if (c->add_headers == NULL
            || pc_array_init(c->add_headers, cf->pool, 4, sizeof(*h)) != PC_OK)
            return "out of memory";
    }
    if ((h = pc_array_push(c->add_headers)) == NULL)
        return "out of memory";
    h->name = *arg(cf, 0);
    h->always = cf->node->nargs == 3;
    h->value = pc_http_template_compile(cf, arg(cf, 1));
    return h->value ? PC_CONF_OK : PC_CONF_ERROR;
}

/* ---------------------------------------------------------------------
 * allow / deny, real_ip, header buffers
 * ------------------------------------------------------------------- */

static const char *
push_cidr(pc_conf_t *cf, pc_array_t **list, int allow_all, int deny)
{
    pc_http_cidr_t cidr, *slot;

    if (pc_http_cidr_parse(arg(cf, 0), &cidr, allow_all) != PC_OK)
        return pc_conf_error(cf, "invalid address \"%s\": expected ADDR, ADDR/BITS%s",
                             argc(cf, 0), allow_all ? " or all" : "");
    cidr.deny = deny ? 1 : 0;
    if (*list == NULL) {
        *list = pc_palloc(cf->pool, sizeof(pc_array_t));
        if (*list == NULL || pc_array_init(*list, cf->pool, 4, sizeof(cidr)) != PC_OK)
            return "out of memory";
    }
    if ((slot = pc_array_push(*list)) == NULL)
        return "out of memory";
    *slot = cidr;
    return PC_CONF_OK;
}

static const char *
set_access(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_http_core_conf_t *c = conf;

    return push_cidr(cf, &c->access, 1, strcmp(d->name, "deny") == 0);
}

static const char *
set_real_ip_from(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_http_core_conf_t *c = conf;

    PC_UNUSED(d);
    return push_cidr(cf, &c->real_ip_from, 0, 0);
}

static const char *
set_real_ip_header(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_http_core_conf_t *c = conf;

    PC_UNUSED(d);
    if (!is_token(arg(cf, 0)))
        return pc_conf_error(cf, "invalid header name \"%s\"", argc(cf, 0));
    c->real_ip_header = *arg(cf, 0);
    return PC_CONF_OK;
}

static const char *
set_large_buffers(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_http_core_conf_t *c = conf;
    int64_t n;
    size_t size;

    PC_UNUSED(d);
    if (pc_conf_parse_int(arg(cf, 0), &n) != PC_OK || n < 1 || n > 1024)
        return pc_conf_error(cf, "invalid number \"%s\": expected 1..1024", argc(cf, 0));
    if (pc_conf_parse_size(arg(cf, 1), &size) != PC_OK || size < 128 || size > MAX_BUF)
        return pc_conf_error(cf, "invalid size \"%s\": expected 128..1m", argc(cf, 1));
    c->large_header_buffers_num = (intptr_t) n;
    c->large_header_buffer_size = size;
    return PC_CONF_OK;
}

/* ---------------------------------------------------------------------
 * Module hooks: create / merge / init
 * ------------------------------------------------------------------- */

static void
core_conf_unset(pc_http_core_conf_t *c)
{
    memset(c, 0, sizeof(*c));
    c->client_header_timeout = PC_MSEC_UNSET;
    c->client_body_timeout = PC_MSEC_UNSET;
    c->client_body_min_rate = PC_SIZE_UNSET;
    c->send_timeout = PC_MSEC_UNSET;
    c->keepalive_timeout = PC_MSEC_UNSET;
    c->keepalive_requests = PC_INT_UNSET;
    c->client_max_body_size = PC_SIZE_UNSET;
    c->client_header_buffer_size = PC_SIZE_UNSET;
    c->large_header_buffers_num = PC_INT_UNSET;
    c->large_header_buffer_size = PC_SIZE_UNSET;
    c->error_format = PC_INT_UNSET;
    c->return_status = PC_INT_UNSET;
}

static void *
create_conf(pc_conf_t *cf, pc_scope_e scope)
{
    pc_http_main_conf_t *mc;
    pc_http_core_conf_t *c;

    if (scope == PC_SCOPE_MAIN) {
        mc = pc_pcalloc(cf->pool, sizeof(*mc));
        if (mc == NULL
            || pc_array_init(&mc->servers, cf->pool, 8, sizeof(pc_http_server_t *)) != PC_OK)
            return NULL;
        return mc;
    }
    c = pc_palloc(cf->pool, sizeof(*c));
    if (c != NULL)
        core_conf_unset(c);
    return c;
}

/* Parent's add_header entries whose name the child does not set, then the
 * child's (SPEC: merged, the child wins on a name). */
static pc_array_t *
merge_add_headers(pc_conf_t *cf, pc_array_t *parent, pc_array_t *child)
{
    pc_http_add_header_t *p, *ch, *slot;
    pc_array_t *out;
    uint32_t i, j;

    if (child == NULL)
        return parent;
    if (parent == NULL || parent->nelts == 0)
        return child;
    out = pc_palloc(cf->pool, sizeof(*out));
    if (out == NULL
        || pc_array_init(out, cf->pool, parent->nelts + child->nelts, sizeof(*slot)) != PC_OK)
        return NULL;
    p = parent->elts;
    ch = child->elts;
    for (i = 0; i < parent->nelts; i++) {
        for (j = 0; j < child->nelts && !pc_str_caseeq(&p[i].name, &ch[j].name); j++) { }
        if (j < child->nelts)
            continue;
        if ((slot = pc_array_push(out)) == NULL)
            return NULL;
        *slot = p[i];
    }
    for (j = 0; j < child->nelts; j++) {
        if ((slot = pc_array_push(out)) == NULL)
            return NULL;
        *slot = ch[j];
    }
    return out;
}

static pc_rc_t
merge_conf(pc_conf_t *cf, void *parent, void *child)
{
    pc_http_core_conf_t unset, *p = parent, *c = child;
    const pc_http_core_conf_t *d = &core_defaults;
    pc_array_t *merged;

    if (p == NULL) {
        core_conf_unset(&unset);
        p = &unset;
    }
#define MERGE(f, none)  PC_CONF_MERGE(c->f, p->f, none, d->f)
    MERGE(client_header_timeout, PC_MSEC_UNSET);
    MERGE(client_body_timeout, PC_MSEC_UNSET);
    MERGE(client_body_min_rate, PC_SIZE_UNSET);
    MERGE(send_timeout, PC_MSEC_UNSET);
    MERGE(keepalive_timeout, PC_MSEC_UNSET);
    MERGE(keepalive_requests, PC_INT_UNSET);
    MERGE(client_max_body_size, PC_SIZE_UNSET);
    MERGE(client_header_buffer_size, PC_SIZE_UNSET);
    MERGE(error_format, PC_INT_UNSET);
#undef MERGE
    if (c->large_header_buffers_num == PC_INT_UNSET) {
        /* N and SIZE come from one directive: inherit them together */
        const pc_http_core_conf_t *from =
            p->large_header_buffers_num != PC_INT_UNSET ? p : d;

        c->large_header_buffers_num = from->large_header_buffers_num;
        c->large_header_buffer_size = from->large_header_buffer_size;
    }
    PC_CONF_MERGE_STR(c->real_ip_header, p->real_ip_header, "");
    if (c->access == NULL)          /* a child's own rules replace the parent's */
        c->access = p->access;
    if (c->real_ip_from == NULL)
        c->real_ip_from = p->real_ip_from;
    merged = merge_add_headers(cf, p->add_headers, c->add_headers);
    if (merged == NULL && (p->add_headers != NULL || c->add_headers != NULL)) {
        pc_conf_error(cf, "out of memory");
        return PC_ERROR;
    }
    c->add_headers = merged;
    /* return_status/return_text are not inherited: see pc_http_return.c */
    return PC_OK;
}

/* Builds the per-address server_name tables once every listen is known. */
static pc_rc_t
init_conf(pc_conf_t *cf)
{
    pc_listening_t *ls = cf->cycle->listening.elts;
    uint32_t i;

    for (i = 0; i < cf->cycle->listening.nelts; i++) {
        if (ls[i].handler != pc_http_init_connection || ls[i].data == NULL)
            continue;
        if (pc_http_server_build_names(cf->pool, ls[i].data, ls[i].addr_text) != PC_OK) {
            pc_conf_error(cf, "out of memory");
            return PC_ERROR;
        }
    }
    /* Built once here, before fork, so every worker shares the tables. */
    if (pc_http_phase_init(cf->cycle) != PC_OK) {
        pc_conf_error(cf, "out of memory");
        return PC_ERROR;
    }
    /* Every directive is read: a variable used but never defined (maps
     * may follow their uses, as in nginx) is an error at its first use. */
    return pc_http_var_check_forward(cf);
}

static void
exit_worker(pc_worker_t *wk)
{
    PC_UNUSED(wk);
    pc_http_runtime_release();
}

/* ---------------------------------------------------------------------
 * The module
 * ------------------------------------------------------------------- */

static const pc_conf_enum_t error_formats[] = {
    { "json", PC_HTTP_ERROR_JSON }, { "text", PC_HTTP_ERROR_TEXT }, { NULL, 0 }
};

static const pc_directive_t core_directives[] = {
    { "http", PC_CTX_MAIN, 0, 0, PC_CONF_BLOCK, set_http, 0, 0, 0, NULL },
    { "server", PC_CTX_HTTP, 0, 0, PC_CONF_BLOCK | PC_CONF_MULTI, set_server, 0, 0, 0, NULL },
    { "location", PC_CTX_SERVER, 1, 2, PC_CONF_BLOCK | PC_CONF_MULTI, set_location,
      0, 0, 0, NULL },
    { "listen", PC_CTX_SERVER, 1, 5, PC_CONF_MULTI, set_listen, 0, 0, 0, NULL },
    { "server_name", PC_CTX_SERVER, 1, PC_CONF_ARGS_ANY, PC_CONF_MULTI, set_server_name,
      0, 0, 0, NULL },
    { "return", CTX_SL, 1, 2, 0, set_return, 0, 0, 0, NULL },
    { "add_header", CTX_HSL, 2, 3, PC_CONF_MULTI, set_add_header, 0, 0, 0, NULL },
    { "allow", CTX_HSL, 1, 1, PC_CONF_MULTI, set_access, 0, 0, 0, NULL },
    { "deny", CTX_HSL, 1, 1, PC_CONF_MULTI, set_access, 0, 0, 0, NULL },
    { "client_header_timeout", CTX_HS, 1, 1, 0, pc_conf_set_msec,
      OFF(client_header_timeout), 1, DAY_MS, NULL },
    { "client_body_timeout", CTX_HS, 1, 1, 0, pc_conf_set_msec,
      OFF(client_body_timeout), 1, DAY_MS, NULL },
    { "client_body_min_rate", CTX_HS, 1, 1, 0, pc_conf_set_size,
      OFF(client_body_min_rate), 0, 1LL << 40, NULL },
    { "send_timeout", CTX_HS, 1, 1, 0, pc_conf_set_msec, OFF(send_timeout), 1, DAY_MS, NULL },
    { "keepalive_timeout", CTX_HS, 1, 1, 0, pc_conf_set_msec,
      OFF(keepalive_timeout), 0, DAY_MS, NULL },
    { "keepalive_requests", CTX_HS, 1, 1, 0, pc_conf_set_num,
      OFF(keepalive_requests), 0, 1000000000, NULL },
    { "client_max_body_size", CTX_HSL, 1, 1, 0, pc_conf_set_size,
      OFF(client_max_body_size), 0, 0, NULL },
    { "client_header_buffer_size", CTX_HS, 1, 1, 0, pc_conf_set_size,
      OFF(client_header_buffer_size), 128, MAX_BUF, NULL },
    { "large_client_header_buffers", CTX_HS, 2, 2, 0, set_large_buffers, 0, 0, 0, NULL },
    { "error_format", CTX_HS, 1, 1, 0, pc_conf_set_enum, OFF(error_format), 0, 0,
      error_formats },
    { "real_ip_header", CTX_HS, 1, 1, 0, set_real_ip_header, 0, 0, 0, NULL },
    { "set_real_ip_from", CTX_HS, 1, 1, PC_CONF_MULTI, set_real_ip_from, 0, 0, 0, NULL },
    PC_DIRECTIVE_END
};

static const pc_http_hook_t core_hooks[] = {
    { PC_HTTP_PHASE_POST_READ, PC_HTTP_ORDER_REALIP, pc_http_realip_handler },
    { PC_HTTP_PHASE_CONTENT, PC_HTTP_ORDER_RETURN, pc_http_return_handler },
    { PC_HTTP_PHASE_ACCESS, PC_HTTP_ORDER_ACCESS, pc_http_access_handler },
    PC_HOOK_END
};

pc_module_t pc_http_core_module = {
    .name           = "http",
    .directives     = core_directives,
    .hooks          = core_hooks,
    .create_conf    = create_conf,
    .merge_conf     = merge_conf,
    .init_conf      = init_conf,
    .exit_worker    = exit_worker,
    .header_filter  = pc_http_add_header_filter,
    .filter_order   = PC_HTTP_FILTER_ADD_HEADER,
    .variables      = pc_http_core_variables,
};
