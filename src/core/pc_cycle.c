/*
 * pc_cycle.c -- one loaded configuration: load, activate, reference count,
 * and the listener/address helpers the http configuration uses.
 *
 * Loading never touches the running service: it parses, dispatches and
 * validates into a fresh pool, and any error leaves nothing behind.  Only
 * pc_cycle_activate() opens sockets, files and mappings, and what it opens
 * belongs to the new cycle alone (an unchanged listener is a dup of the old
 * socket), so dropping a cycle at any point closes exactly what it owns.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/pc_core.h"
#include "core/pc_cycle.h"
#include "core/pc_shm.h"
#include "event/pc_listen.h"

#define CYCLE_POOL_SIZE  (16 * 1024)

/* Where pc_log_cur points once the cycle owning it is gone. */
static pc_log_t log_fallback = { -1, PC_LOG_NOTICE, NULL, -1 };

/* Log every recorded configuration error at level. */
static void
log_conf_errors(const pc_conf_t *cf, int level)
{
    uint32_t i;

    for (i = 0; i < cf->nerrors; i++)
        pc_log(level, 0, "%s", cf->errors[i]);
}

/* Allocate the cycle and its copies of the paths. */
static pc_cycle_t *
cycle_create(const char *conf_file, const char *prefix, pc_cycle_t *old)
{
    pc_pool_t  *pool;
    pc_cycle_t *cycle;

    pool = pc_pool_create(CYCLE_POOL_SIZE);
    if (pool == NULL)
        return NULL;
    cycle = pc_pcalloc(pool, sizeof(*cycle));
    if (cycle == NULL)
        goto failed;
    cycle->pool = pool;
    cycle->refs = 1;
    cycle->generation = old != NULL ? old->generation + 1 : 1;
    cycle->old = old;
    cycle->conf_file = (char *) pc_pstrdup(pool, (const u_char *) conf_file,
                                           strlen(conf_file));
    cycle->prefix = (char *) pc_pstrdup(pool, (const u_char *) prefix,
                                        strlen(prefix));
    cycle->main_confs = pc_pcalloc(pool, (pc_modules_n + 1) * sizeof(void *));
    cycle->error_log.fd = -1;
    cycle->error_log.worker = -1;
    cycle->error_log.level = PC_LOG_ERR;
    /* The listener array never grows (see PC_CYCLE_LISTEN_MAX), so the
     * pointers pc_cycle_add_listening hands out stay valid. */
    if (cycle->conf_file == NULL || cycle->prefix == NULL
        || cycle->main_confs == NULL
        || pc_array_init(&cycle->listening, pool, PC_CYCLE_LISTEN_MAX,
                         sizeof(pc_listening_t)) != PC_OK
        || pc_array_init(&cycle->shm_zones, pool, 4,
                         sizeof(pc_shm_zone_t *)) != PC_OK)
    {
        goto failed;
    }
    return cycle;

failed:
    pc_pool_destroy(pool);
    return NULL;
}

/*
 * Create every module's main-scope conf, dispatch, then init_conf.
 *
 * A syntax error stops here: the tree cannot be trusted.  Errors found by
 * dispatch do not: the semantic checks (certificates, upstream names,
 * regexes, zones) still run over what was accepted, so -t prints every
 * error in one go.  A rejected directive leaves its field unset, which
 * merge fills with the default; checks that would only repeat a rejected
 * directive's error ("unknown zone" after its limit_req_zone line failed)
 * stay quiet through pc_cycle_conf_find.  Any error fails the load.
 */
static pc_rc_t
cycle_configure(pc_cycle_t *cycle, pc_conf_t *cf)
{
    pc_conf_node_t *root;
    pc_module_t    *m;
    unsigned        i;

    root = pc_conf_parse_file(cf, cycle->conf_file);
    if (root == NULL || cf->nerrors != 0)
        return PC_ERROR;
    cycle->root = root;

    for (i = 0; i < pc_modules_n; i++) {
        m = pc_modules[i];
        if (m->create_conf == NULL)
            continue;
        cycle->main_confs[m->index] = m->create_conf(cf, PC_SCOPE_MAIN);
    }
    cf->ctx_confs = cycle->main_confs;
    /* dispatch records every error it returns for; the check keeps a
     * failure without a message from passing for success */
    if (pc_conf_dispatch(cf, root, PC_CTX_MAIN) != PC_OK && cf->nerrors == 0)
        pc_conf_error(cf, "loading \"%s\" failed", cycle->conf_file);

    /* Semantic validation; every module gets its say even after one
     * fails, so -t reports all the problems at once. */
    cf->node = root;
    for (i = 0; i < pc_modules_n; i++) {
        m = pc_modules[i];
        if (m->init_conf != NULL && m->init_conf(cf) != PC_OK
            && cf->nerrors == 0)
        {
            pc_conf_error(cf, "module \"%s\" failed to initialise", m->name);
        }
    }
    return cf->nerrors == 0 ? PC_OK : PC_ERROR;
}

/* See pc_cycle.h.  Depth first, in file order; blocks are searched even
 * when their directive was rejected (that is the point). */
const pc_conf_node_t *
pc_cycle_conf_find(const pc_conf_node_t *block, const char *name, bool deep,
    pc_cycle_node_match_pt match, const void *data)
{
    const pc_conf_node_t *n, *found;

    if (block == NULL)
        return NULL;
    for (n = block->children; n != NULL; n = n->next) {
        if ((name == NULL || pc_str_eq_c(&n->name, name))
            && (match == NULL || match(n, data)))
        {
            return n;
        }
        if (deep && n->block
            && (found = pc_cycle_conf_find(n, name, deep, match, data)) != NULL)
        {
            return found;
        }
    }
    return NULL;
}

/* Copy the core error_log settings into cycle->error_log (not opened). */
static void
cycle_set_log(pc_cycle_t *cycle)
{
    pc_core_conf_t *ccf = pc_cycle_main_conf(cycle, pc_core_module);

    cycle->error_log.level = ccf->error_log_level;
    if (pc_str_eq_c(&ccf->error_log, "stderr")) {
        cycle->error_log.path = NULL;
    } else {
        cycle->error_log.path = (char *) ccf->error_log.data;
    }
}

/* Build a cycle from conf_file and log its errors at level; *rc says
 * whether it loaded cleanly.  The cycle is returned either way (NULL only
 * on ENOMEM, logged); the temp pool and its error strings are gone. */
static pc_cycle_t *
cycle_load(const char *conf_file, const char *prefix, pc_cycle_t *old,
    int level, pc_rc_t *rc)
{
    pc_cycle_t *cycle;
    pc_conf_t   cf;

    cycle = cycle_create(conf_file, prefix, old);
    if (cycle == NULL) {
        pc_log(level, errno, "no memory to load \"%s\"", conf_file);
        return NULL;
    }
    memset(&cf, 0, sizeof(cf));
    cf.cycle = cycle;
    cf.pool = cycle->pool;
    cf.temp_pool = pc_pool_create(CYCLE_POOL_SIZE);
    cf.ctx = PC_CTX_MAIN;
    cf.scope = PC_SCOPE_MAIN;
    cf.prefix = cycle->prefix;
    if (cf.temp_pool == NULL) {
        pc_log(level, errno, "no memory to load \"%s\"", conf_file);
        *rc = PC_ERROR;
    } else {
        *rc = cycle_configure(cycle, &cf);
        log_conf_errors(&cf, level);
        if (*rc != PC_OK && cf.nerrors == 0)
            pc_log(level, 0, "loading \"%s\" failed", conf_file);
    }
    pc_pool_destroy(cf.temp_pool);
    cycle->old = NULL;
    return cycle;
}

/* See pc_cycle.h.  A failed load leaves nothing open or allocated. */
pc_cycle_t *
pc_cycle_load(const char *conf_file, const char *prefix, pc_cycle_t *old,
    int level)
{
    pc_cycle_t *cycle;
    pc_rc_t     rc;

    cycle = cycle_load(conf_file, prefix, old, level, &rc);
    if (cycle == NULL)
        return NULL;
    if (rc != PC_OK) {
        pc_cycle_unref(cycle);
        return NULL;
    }
    cycle_set_log(cycle);
    return cycle;
}

/* See pc_cycle.h.  Once the file has parsed, core's init_conf has run
 * (whatever else failed), so ccf->pid is the accepted `pid` directive or
 * the default it stands for. */
pc_rc_t
pc_cycle_pid_path(const char *conf_file, const char *prefix, int level,
    char *out, size_t size)
{
    const pc_core_conf_t *ccf;
    pc_cycle_t           *cycle;
    pc_rc_t               rc;

    cycle = cycle_load(conf_file, prefix, NULL, level, &rc);
    if (cycle == NULL)
        return PC_ERROR;
    ccf = pc_cycle_main_conf(cycle, pc_core_module);
    if (cycle->root == NULL || ccf == NULL || ccf->pid.data == NULL) {
        rc = PC_ERROR;
    } else if ((size_t) snprintf(out, size, "%s", (const char *) ccf->pid.data)
               >= size)
    {
        pc_log(level, 0, "pid file path \"%s\" is too long",
               (const char *) ccf->pid.data);
        rc = PC_ERROR;
    } else if (rc != PC_OK) {
        rc = PC_DECLINED;
    }
    pc_cycle_unref(cycle);
    return rc;
}

/* Open (or, when unchanged, take over) every listener of cycle. */
static pc_rc_t
open_listeners(pc_cycle_t *cycle, pc_cycle_t *old, int level)
{
    pc_listening_t *ls, *ols;
    uint32_t        i, j;
    pc_rc_t         rc;

    ls = cycle->listening.elts;
    for (i = 0; i < cycle->listening.nelts; i++) {
        ls[i].fd = -1;
        rc = PC_DECLINED;
        if (old != NULL) {
            ols = old->listening.elts;
            for (j = 0; j < old->listening.nelts && rc == PC_DECLINED; j++) {
                if (ols[j].fd >= 0 && pc_listen_same(&ls[i], &ols[j]))
                    rc = pc_listen_inherit(&ls[i], &ols[j], level);
            }
        }
        if (rc == PC_DECLINED)
            rc = pc_listen_open(&ls[i], level);
        if (rc != PC_OK)
            return PC_ERROR;
    }
    return PC_OK;
}

/* See pc_cycle.h.  On PC_ERROR whatever was opened belongs to cycle
 * and is released by its last pc_cycle_unref; old is never modified.
 * Failures are logged at emerg at start, at error on reload (old set). */
pc_rc_t
pc_cycle_activate(pc_cycle_t *cycle, pc_cycle_t *old)
{
    pc_log_t *log = &cycle->error_log;
    int       level = old != NULL ? PC_LOG_ERR : PC_LOG_EMERG;

    if (log->path == NULL) {
        log->fd = STDERR_FILENO;
    } else if (log->fd < 0) {
        log->fd = pc_log_open_file(log->path);
        if (log->fd < 0) {
            pc_log(level, errno, "open() \"%s\" failed", log->path);
            return PC_ERROR;
        }
    }
    if (open_listeners(cycle, old, level) != PC_OK)
        return PC_ERROR;
    if (pc_shm_map(cycle, old) != PC_OK)
        return PC_ERROR;
    return PC_OK;
}

/* See pc_cycle.h.  Process-local count: no atomics (no threads). */
void
pc_cycle_ref(pc_cycle_t *cycle)
{
    cycle->refs++;
}

/* See pc_cycle.h.  NULL is accepted.  If pc_log_cur is this cycle's
 * log, logging falls back to stderr. */
void
pc_cycle_unref(pc_cycle_t *cycle)
{
    pc_listening_t *ls;
    uint32_t        i;

    if (cycle == NULL || --cycle->refs > 0)
        return;

    if (pc_log_cur == &cycle->error_log) {
        log_fallback.level = cycle->error_log.level;
        pc_log_cur = &log_fallback;
    }
    ls = cycle->listening.elts;
    for (i = 0; i < cycle->listening.nelts; i++)
        pc_listen_close(&ls[i]);
    pc_shm_unmap(cycle);
    if (cycle->error_log.path != NULL && cycle->error_log.fd > STDERR_FILENO)
        close(cycle->error_log.fd);
    cycle->error_log.fd = -1;
    pc_pool_destroy(cycle->pool);
}

/* See pc_cycle.h.  Addresses compare as sockaddr bytes; NULL (error
 * recorded) past PC_CYCLE_LISTEN_MAX or on ENOMEM. */
pc_listening_t *
pc_cycle_add_listening(pc_conf_t *cf, const struct sockaddr *addr,
    socklen_t len)
{
    pc_array_t     *a = &cf->cycle->listening;
    pc_listening_t *ls;
    uint32_t        i;

    if (len > sizeof(ls->addr)) {
        pc_conf_error(cf, "invalid listen address length");
        return NULL;
    }
    ls = a->elts;
    for (i = 0; i < a->nelts; i++) {
        if (ls[i].addrlen == len && memcmp(&ls[i].addr, addr, len) == 0)
            return &ls[i];
    }
    if (a->nelts == a->nalloc) {
        pc_conf_error(cf, "too many listen addresses (the limit is %d)",
                      PC_CYCLE_LISTEN_MAX);
        return NULL;
    }
    ls = pc_array_push(a);
    if (ls == NULL)
        return NULL;
    memcpy(&ls->addr, addr, len);
    ls->addrlen = len;
    pc_sockaddr_text(addr, ls->addr_text, sizeof(ls->addr_text), 1);
    ls->fd = -1;
    ls->backlog = PC_LISTEN_BACKLOG;
    ls->ipv6only = addr->sa_family == AF_INET6;
    ls->node = cf->node;
    return ls;
}

/* Whether every byte of p[0..len) is in set. */
static bool
all_of(const u_char *p, size_t len, const char *set)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (p[i] == '\0' || strchr(set, p[i]) == NULL)
            return false;
    }
    return true;
}

/* Numeric address or hostname (resolved now) into sa with port. */
static pc_rc_t
resolve(const char *host, int port, struct sockaddr_storage *sa,
    socklen_t *len)
{
    struct sockaddr_in  *sin = (struct sockaddr_in *) sa;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) sa;
    struct addrinfo      hints, *res, *ai;

    memset(sa, 0, sizeof(*sa));
    if (strcmp(host, "*") == 0 || inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t) port);
        *len = sizeof(*sin);
        return PC_OK;
    }
    if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t) port);
        *len = sizeof(*sin6);
        return PC_OK;
    }
    /* getaddrinfo would take inet_aton forms ("127.1", "2130706433"):
     * an address that is not a strict dotted quad is a typo, not a name. */
    if (all_of((const u_char *) host, strlen(host), "0123456789."))
        return PC_ERROR;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL)
        return PC_ERROR;
    /* "localhost" resolves to ::1 or 127.0.0.1 first depending on the
     * host's gai.conf; prefer IPv4 so a config means the same everywhere. */
    for (ai = res; ai != NULL && ai->ai_family != AF_INET; ai = ai->ai_next)
        continue;
    if (ai == NULL)
        ai = res;
    if (ai->ai_addrlen > sizeof(*sa)) {
        freeaddrinfo(res);
        return PC_ERROR;
    }
    memcpy(sa, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(res);
    if (sa->ss_family == AF_INET)
        sin->sin_port = htons((uint16_t) port);
    else if (sa->ss_family == AF_INET6)
        sin6->sin6_port = htons((uint16_t) port);
    else
        return PC_ERROR;
    return PC_OK;
}

/* See pc_cycle.h.  Rejects: empty, port 0 or > 65535, no port when
 * default_port <= 0, an empty host (":80"), an
 * unbracketed IPv6 address, "[1.2.3.4]", NUL bytes, hosts over 255 bytes,
 * and names that do not resolve.  Hostnames prefer their first IPv4
 * address. */
pc_rc_t
pc_parse_addr_port(const pc_str_t *s, int default_port,
    struct sockaddr_storage *sa, socklen_t *len)
{
    const u_char *p = s->data, *last = s->data + s->len, *colon, *host_end;
    char          host[256];
    int           port = default_port;
    uint16_t      p16;
    size_t        hlen;

    if (s->len == 0)
        return PC_ERROR;
    if (all_of(p, s->len, "0123456789")) {                    /* "8080" */
        /* All digits is a port, never an inet_aton-style address. */
        if (pc_parse_port(p, s->len, &p16) != PC_OK)
            return PC_ERROR;
        port = p16;
        return resolve("*", port, sa, len);
    }

    if (*p == '[') {                              /* "[::1]" "[::1]:80" */
        host_end = memchr(p, ']', s->len);
        if (host_end == NULL)
            return PC_ERROR;
        colon = host_end + 1 < last ? host_end + 1 : NULL;
        if (colon != NULL && *colon != ':')
            return PC_ERROR;
        p++;
    } else {                                      /* "a.b.c.d:80" "host" */
        colon = memchr(p, ':', s->len);
        if (colon != NULL && memchr(colon + 1, ':', (size_t) (last - colon - 1)))
            return PC_ERROR;                      /* bare IPv6: needs [ ] */
        host_end = colon != NULL ? colon : last;
    }
    if (colon != NULL) {
        if (pc_parse_port(colon + 1, (size_t) (last - colon - 1), &p16) != PC_OK)
            return PC_ERROR;
        port = p16;
    }
    if (port <= 0 || port > 65535)
        return PC_ERROR;

    hlen = (size_t) (host_end - p);
    if (hlen == 0 || hlen >= sizeof(host) || memchr(p, '\0', hlen) != NULL)
        return PC_ERROR;
    memcpy(host, p, hlen);
    host[hlen] = '\0';
    if (s->data[0] == '[' && strchr(host, ':') == NULL)
        return PC_ERROR;                          /* "[1.2.3.4]" */
    return resolve(host, port, sa, len);
}

/* See pc_cycle.h.  Truncates to size - 1 bytes (size 0: writes
 * nothing); AF_UNIX gives "unix:PATH". */
size_t
pc_sockaddr_text(const struct sockaddr *sa, char *buf, size_t size,
    int with_port)
{
    const struct sockaddr_in  *sin = (const struct sockaddr_in *) sa;
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) sa;
    char                       ip[INET6_ADDRSTRLEN];
    int                        n;

    if (size == 0)
        return 0;
    switch (sa->sa_family) {
    case AF_INET:
        inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
        n = with_port ? snprintf(buf, size, "%s:%u", ip, ntohs(sin->sin_port))
                      : snprintf(buf, size, "%s", ip);
        break;
    case AF_INET6:
        inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
        n = with_port ? snprintf(buf, size, "[%s]:%u", ip, ntohs(sin6->sin6_port))
                      : snprintf(buf, size, "%s", ip);
        break;
    case AF_UNIX:
        n = snprintf(buf, size, "unix:%s",
                     ((const struct sockaddr_un *) sa)->sun_path);
        break;
    default:
        n = snprintf(buf, size, "(unknown address family %d)", sa->sa_family);
        break;
    }
    if (n < 0) {
        buf[0] = '\0';
        return 0;
    }
    return pc_min((size_t) n, size - 1);
}
