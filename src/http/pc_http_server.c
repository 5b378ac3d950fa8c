/*
 * pc_http_server.c -- server_name and location matching (SPEC §4 Core).
 *
 * Everything here is built once per cycle from the configuration and then
 * only read: lookups allocate nothing and touch no global state, so they are
 * cheap on the request path and safe to unit-test with hand-built servers.
 *
 * Server selection (nginx order): exact name, longest "*.suffix" wildcard,
 * longest "prefix.*" wildcard, regexes in configuration order, else the
 * address's default server.
 *
 * Location selection (nginx order): exact "=" match; else the longest
 * prefix; a "^~" longest prefix stops there; else the first regex (config
 * order) that matches; else the longest prefix; else none (404).
 */
#include <stdlib.h>
#include <string.h>
#include "http/pc_http.h"
#include "http/pc_http_conf.h"

#define NO_PARENT  UINT32_MAX

/* One server name bound to a server, in the per-address tables. */
typedef struct {
    pc_str_t            name;     /* lowercased, without "*." / ".*" / "~" */
    void               *regex;
    pc_http_server_t   *server;
    uint32_t            order;    /* config order, breaks ties: first wins */
} name_entry_t;

typedef struct {
    name_entry_t       *elts;
    uint32_t            n;
} name_table_t;

struct pc_http_server_names_s {
    name_table_t        exact;    /* sorted by name (binary search)        */
    name_table_t        head;     /* "*.x": longest first                  */
    name_table_t        tail;     /* "x.*": longest first                  */
    name_table_t        regex;    /* config order                          */
};

/* Lexicographic byte order, shorter first on a common prefix. */
static int
str_cmp(const u_char *a, size_t alen, const u_char *b, size_t blen)
{
    int rc = memcmp(a, b, pc_min(alen, blen));

    if (rc != 0)
        return rc;
    return (alen > blen) - (alen < blen);
}

static bool
is_prefix(const pc_str_t *p, const u_char *s, size_t len)
{
    return p->len <= len && memcmp(p->data, s, p->len) == 0;
}

/* ---------------------------------------------------------------------
 * Locations
 * ------------------------------------------------------------------- */

static int
loc_cmp(const void *a, const void *b)
{
    const pc_http_location_t *la = *(pc_http_location_t *const *) a;
    const pc_http_location_t *lb = *(pc_http_location_t *const *) b;

    return str_cmp(la->name.data, la->name.len, lb->name.data, lb->name.len);
}

/*
 * For sorted prefixes, the parent of entry i is the longest other entry that
 * is a prefix of it.  Every such entry sorts before i and is a prefix of
 * entry i-1 too, so walking i-1's parent chain finds it.
 */
static void
link_prefix_parents(pc_http_location_t **pfx, uint32_t n, uint32_t *parent)
{
    uint32_t i, cand;

    for (i = 0; i < n; i++) {
        cand = (i == 0) ? NO_PARENT : i - 1;
        while (cand != NO_PARENT
               && !is_prefix(&pfx[cand]->name, pfx[i]->name.data, pfx[i]->name.len))
        {
            cand = parent[cand];
        }
        parent[i] = cand;
    }
}

/*
 * Contract: fills s->exact (sorted), s->prefix (sorted, with prefix_parent)
 * and s->regex (config order) from s->locations; the arrays come from pool.
 * Duplicate names must have been rejected already (the location setter does).
 * Returns PC_OK, or PC_ERROR when the pool is out of memory.
 */
pc_rc_t
pc_http_server_build_locations(pc_pool_t *pool, pc_http_server_t *s)
{
    pc_http_location_t **all = s->locations.elts, *loc;
    uint32_t n = s->locations.nelts, i;
    size_t sz = (n ? n : 1) * sizeof(pc_http_location_t *);

    s->exact = pc_palloc(pool, sz);
    s->prefix = pc_palloc(pool, sz);
    s->regex = pc_palloc(pool, sz);
    s->prefix_parent = pc_palloc(pool, (n ? n : 1) * sizeof(uint32_t));
    if (!s->exact || !s->prefix || !s->regex || !s->prefix_parent)
        return PC_ERROR;
    s->nexact = s->nprefix = s->nregex = 0;

    for (i = 0; i < n; i++) {
        loc = all[i];
        switch (loc->match) {
        case PC_HTTP_LOC_EXACT:
            s->exact[s->nexact++] = loc;
            break;
        case PC_HTTP_LOC_PREFIX:
        case PC_HTTP_LOC_PREFIX_STOP:
            s->prefix[s->nprefix++] = loc;
            break;
        default:
            s->regex[s->nregex++] = loc;
            break;
        }
    }
    if (s->nexact > 1)
        qsort(s->exact, s->nexact, sizeof(*s->exact), loc_cmp);
    if (s->nprefix > 1)
        qsort(s->prefix, s->nprefix, sizeof(*s->prefix), loc_cmp);
    link_prefix_parents(s->prefix, s->nprefix, s->prefix_parent);
    return PC_OK;
}

/* Index of the greatest entry <= key, or NO_PARENT when every entry is
 * greater. */
static uint32_t
floor_search(pc_http_location_t **a, uint32_t n, const u_char *key, size_t len)
{
    uint32_t lo = 0, hi = n, mid;

    /* invariant: a[0..lo) <= key < a[hi..n) */
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (str_cmp(a[mid]->name.data, a[mid]->name.len, key, len) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? NO_PARENT : lo - 1;
}

static pc_http_location_t *
longest_prefix(const pc_http_server_t *s, const pc_str_t *uri)
{
    uint32_t i;

    if (s->nprefix == 0)
        return NULL;
    if (s->prefix_parent == NULL) {
        /* not built by pc_http_server_build_locations: slow but right */
        pc_http_location_t *best = NULL;

        for (i = 0; i < s->nprefix; i++) {
            if (is_prefix(&s->prefix[i]->name, uri->data, uri->len)
                && (best == NULL || s->prefix[i]->name.len > best->name.len))
            {
                best = s->prefix[i];
            }
        }
        return best;
    }
    i = floor_search(s->prefix, s->nprefix, uri->data, uri->len);
    while (i != NO_PARENT && !is_prefix(&s->prefix[i]->name, uri->data, uri->len))
        i = s->prefix_parent[i];
    return i == NO_PARENT ? NULL : s->prefix[i];
}

/*
 * Contract: the location of s for uri (the normalised path, compared
 * case-sensitively) per nginx rules; NULL when nothing matches (the caller
 * answers 404).  Regex locations need pc_http_regex_ops; r is passed to it
 * so captures can be remembered.  Allocates nothing.
 */
pc_http_location_t *
pc_http_find_location(pc_http_server_t *s, const pc_str_t *uri,
    pc_http_request_t *r)
{
    pc_http_location_t *best;
    uint32_t i;

    if (s == NULL || uri == NULL)
        return NULL;
    if (s->nexact) {
        i = floor_search(s->exact, s->nexact, uri->data, uri->len);
        if (i != NO_PARENT
            && str_cmp(s->exact[i]->name.data, s->exact[i]->name.len,
                       uri->data, uri->len) == 0)
        {
            return s->exact[i];
        }
    }
    best = longest_prefix(s, uri);
    if (best != NULL && best->match == PC_HTTP_LOC_PREFIX_STOP)
        return best;
    if (s->nregex && pc_http_regex_ops != NULL) {
        for (i = 0; i < s->nregex; i++) {
            /* < 0 (match limit hit, ...) counts as no match */
            if (pc_http_regex_ops->match(r, s->regex[i]->regex, uri->data,
                                         uri->len) > 0)
            {
                return s->regex[i];
            }
        }
    }
    return best;
}

/* ---------------------------------------------------------------------
 * Server names
 * ------------------------------------------------------------------- */

static int
name_cmp(const void *a, const void *b)
{
    const name_entry_t *na = a, *nb = b;
    int rc = str_cmp(na->name.data, na->name.len, nb->name.data, nb->name.len);

    if (rc != 0)
        return rc;
    return (na->order > nb->order) - (na->order < nb->order);
}

/* Longest first, then by name so equal names are adjacent, then config order. */
static int
wild_cmp(const void *a, const void *b)
{
    const name_entry_t *na = a, *nb = b;

    if (na->name.len != nb->name.len)
        return (na->name.len < nb->name.len) - (na->name.len > nb->name.len);
    return name_cmp(a, b);
}

/* Sort t and drop later duplicates of a name (the first server keeps it). */
static void
sort_dedup(name_table_t *t, int (*cmp)(const void *, const void *),
    const char *addr_text, const char *mark_head, const char *mark_tail)
{
    uint32_t i, out = 0;

    if (t->n > 1)
        qsort(t->elts, t->n, sizeof(name_entry_t), cmp);
    for (i = 0; i < t->n; i++) {
        if (out > 0 && pc_str_eq(&t->elts[out - 1].name, &t->elts[i].name)) {
            if (t->elts[out - 1].server != t->elts[i].server)
                pc_log(PC_LOG_WARN, 0,
                       "conflicting server name \"%s%.*s%s\" on %s, ignored",
                       mark_head, (int) t->elts[i].name.len,
                       (const char *) t->elts[i].name.data, mark_tail, addr_text);
            continue;
        }
        t->elts[out++] = t->elts[i];
    }
    t->n = out;
}

static name_table_t *
table_for(struct pc_http_server_names_s *nt, pc_http_name_kind_e kind)
{
    switch (kind) {
    case PC_HTTP_NAME_EXACT:     return &nt->exact;
    case PC_HTTP_NAME_WILD_HEAD: return &nt->head;
    case PC_HTTP_NAME_WILD_TAIL: return &nt->tail;
    default:                     return &nt->regex;
    }
}

/*
 * Contract: see pc_http_conf.h.  The tables are arrays in pool sized by the
 * total number of names on the address.
 */
pc_rc_t
pc_http_server_build_names(pc_pool_t *pool, pc_http_addr_conf_t *addr,
    const char *addr_text)
{
    pc_http_server_t **srv = addr->servers.elts;
    struct pc_http_server_names_s *nt;
    pc_http_server_name_t *sn;
    name_table_t *t;
    uint32_t i, j, total = 0, order = 0;

    for (i = 0; i < addr->servers.nelts; i++)
        total += srv[i]->names.nelts;
    nt = pc_pcalloc(pool, sizeof(*nt));
    if (nt == NULL)
        return PC_ERROR;
    for (i = 0; i < 4; i++) {
        t = table_for(nt, (pc_http_name_kind_e) i);
        t->elts = pc_palloc(pool, (total ? total : 1) * sizeof(name_entry_t));
        if (t->elts == NULL)
            return PC_ERROR;
    }
    for (i = 0; i < addr->servers.nelts; i++) {
        sn = srv[i]->names.elts;
        for (j = 0; j < srv[i]->names.nelts; j++) {
            t = table_for(nt, sn[j].kind);
            t->elts[t->n++] = (name_entry_t) {
                sn[j].name, sn[j].regex, srv[i], order++
            };
        }
    }
    sort_dedup(&nt->exact, name_cmp, addr_text, "", "");
    sort_dedup(&nt->head, wild_cmp, addr_text, "*.", "");
    sort_dedup(&nt->tail, wild_cmp, addr_text, "", ".*");
    addr->names = nt;
    if (addr->default_server == NULL && addr->servers.nelts > 0)
        addr->default_server = srv[0];
    return PC_OK;
}

static pc_http_server_t *
find_exact(const name_table_t *t, const u_char *host, size_t len)
{
    uint32_t lo = 0, hi = t->n, mid;
    int rc;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        rc = str_cmp(t->elts[mid].name.data, t->elts[mid].name.len, host, len);
        if (rc == 0)
            return t->elts[mid].server;
        if (rc < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* "*.example.com" (stored "example.com") matches "a.example.com", "a.b.example.com". */
static bool
head_match(const pc_str_t *n, const u_char *host, size_t len)
{
    return len > n->len + 1 && host[len - n->len - 1] == '.'
           && memcmp(host + len - n->len, n->data, n->len) == 0;
}

/* "www.example.*" (stored "www.example") matches "www.example.org". */
static bool
tail_match(const pc_str_t *n, const u_char *host, size_t len)
{
    return len > n->len + 1 && host[n->len] == '.'
           && memcmp(host, n->data, n->len) == 0;
}

static pc_http_server_t *
find_by_table(const struct pc_http_server_names_s *nt, const u_char *host,
    size_t len, pc_http_request_t *r)
{
    pc_http_server_t *s;
    uint32_t i;

    s = find_exact(&nt->exact, host, len);
    if (s != NULL)
        return s;
    for (i = 0; i < nt->head.n; i++)       /* longest first */
        if (head_match(&nt->head.elts[i].name, host, len))
            return nt->head.elts[i].server;
    for (i = 0; i < nt->tail.n; i++)
        if (tail_match(&nt->tail.elts[i].name, host, len))
            return nt->tail.elts[i].server;
    if (pc_http_regex_ops != NULL)
        for (i = 0; i < nt->regex.n; i++)
            if (pc_http_regex_ops->match(r, nt->regex.elts[i].regex, host, len) > 0)
                return nt->regex.elts[i].server;
    return NULL;
}

/* Same rules without the tables (hand-built addr confs in tests, or an
 * address whose tables could not be built). */
static pc_http_server_t *
find_linear(const pc_http_addr_conf_t *addr, const u_char *host, size_t len,
    pc_http_request_t *r)
{
    pc_http_server_t **srv = addr->servers.elts, *best = NULL;
    pc_http_server_name_t *sn;
    size_t best_len = 0;
    int pass;
    uint32_t i, j;

    for (pass = PC_HTTP_NAME_EXACT; pass <= PC_HTTP_NAME_REGEX; pass++) {
        for (i = 0; i < addr->servers.nelts; i++) {
            sn = srv[i]->names.elts;
            for (j = 0; j < srv[i]->names.nelts; j++) {
                if ((int) sn[j].kind != pass)
                    continue;
                if ((pass == PC_HTTP_NAME_EXACT && sn[j].name.len == len
                     && memcmp(sn[j].name.data, host, len) == 0)
                    || (pass == PC_HTTP_NAME_REGEX && pc_http_regex_ops
                        && pc_http_regex_ops->match(r, sn[j].regex, host, len) > 0))
                    return srv[i];
                if (((pass == PC_HTTP_NAME_WILD_HEAD && head_match(&sn[j].name, host, len))
                     || (pass == PC_HTTP_NAME_WILD_TAIL && tail_match(&sn[j].name, host, len)))
                    && (best == NULL || sn[j].name.len > best_len))
                {
                    best = srv[i];
                    best_len = sn[j].name.len;
                }
            }
        }
        if (best != NULL)
            return best;
    }
    return NULL;
}

/* Contract: see pc_http.h. */
pc_rc_t
pc_http_server_name_text(pc_pool_t *pool, const pc_http_server_t *s, pc_str_t *out)
{
    const pc_http_server_name_t *sn = s->names.elts;
    const char                  *pre = "", *post = "";
    u_char                      *p;

    pc_str_set(out, "");
    if (s->names.nelts == 0 || sn[0].name.len == 0)
        return PC_OK;
    if (sn[0].kind == PC_HTTP_NAME_EXACT) {
        *out = sn[0].name;      /* stored NUL-terminated */
        return PC_OK;
    }
    if (sn[0].kind == PC_HTTP_NAME_WILD_HEAD)
        pre = "*.";
    else if (sn[0].kind == PC_HTTP_NAME_WILD_TAIL)
        post = ".*";
    else if (sn[0].kind == PC_HTTP_NAME_REGEX)
        pre = "~";
    p = pc_pnalloc(pool, sn[0].name.len + 3);
    if (p == NULL)
        return PC_ERROR;
    out->data = p;
    p = pc_cpymem(p, pre, strlen(pre));
    p = pc_cpymem(p, sn[0].name.data, sn[0].name.len);
    p = pc_cpymem(p, post, strlen(post));
    *p = '\0';
    out->len = (size_t) (p - out->data);
    return PC_OK;
}

/*
 * Contract: the server of addr for host (already lowercased, no port; one
 * trailing dot is ignored).  Never NULL when addr has a server: falls back
 * to the default server (explicit default_server, else the first server that
 * listens there).  Allocates nothing.
 */
pc_http_server_t *
pc_http_find_server(pc_http_addr_conf_t *addr, const pc_str_t *host,
    pc_http_request_t *r)
{
    pc_http_server_t *s = NULL;
    const u_char *h;
    size_t len;

    if (addr == NULL)
        return NULL;
    h = host ? host->data : NULL;
    len = host ? host->len : 0;
    if (len > 0 && h[len - 1] == '.')
        len--;
    if (h == NULL)
        h = (const u_char *) "";
    if (addr->names != NULL)
        s = find_by_table(addr->names, h, len, r);
    else
        s = find_linear(addr, h, len, r);
    if (s != NULL)
        return s;
    if (addr->default_server != NULL)
        return addr->default_server;
    return addr->servers.nelts ? ((pc_http_server_t **) addr->servers.elts)[0] : NULL;
}

/* Contract: see pc_http.h.  The array is the http core module's main conf
 * (cycle pool), filled while the http block is read. */
pc_http_server_t **
pc_http_servers(pc_cycle_t *cycle, uint32_t *n)
{
    pc_http_main_conf_t *mc;

    *n = 0;
    if (cycle == NULL || cycle->main_confs == NULL)
        return NULL;
    mc = cycle->main_confs[pc_http_core_module.index];
    if (mc == NULL || mc->confs == NULL)
        return NULL;
    *n = mc->servers.nelts;
    return mc->servers.elts;
}
