/*
 * regex.c -- the regex module at request time: the core's match
 * operation (location ~, server_name ~), the capture variables ($0..$9
 * and one per named group), map lookups and the `rewrite` REWRITE hook.
 *
 * Captures follow nginx: a successful match of a pattern that has groups
 * replaces $0..$9 (they point into the subject, which lives as long as
 * the request); a named group keeps the value of the last match that
 * set it, so `server_name ~^(?<sub>.+)\.example\.com$` is still readable
 * after a location regex matched.  Nothing here allocates but from the
 * request pool, and the PCRE2 limits (regex_pcre.h) bound every match.
 *
 * A match that hits one of those limits fails closed (nginx answers a
 * regex execution error with 500 too): counting it as "no match" would
 * let a client who can make a pattern backtrack step around a stricter
 * `location ~`, a map entry or a rewrite.  The core's lookups (location,
 * server_name) cannot return an error, so the match op marks the request
 * and the REWRITE hook, the first to run after the location is chosen,
 * answers 500; map and rewrite fail the request themselves.
 */
#include "http/pc_http_chars.h"
#include "http/pc_http_log.h"
#include "regex/regex.h"

/* Per-request state (r->ctx[pc_regex_module.index], request pool). */
typedef struct {
    const u_char   *subject;       /* of the last match with groups      */
    size_t         *ovec;          /* its pairs                          */
    uint32_t        npairs;
    uint32_t        ovec_cap;
    pc_str_t       *named;         /* per named-capture variable         */
    uint32_t        nnamed;
    pc_str_t       *maps;          /* cached map values                  */
    uint8_t        *map_state;     /* 0 unknown, 1 set, 2 being computed */
    uint32_t        nmaps;
    uint32_t        cycles;        /* location searches so far           */
    unsigned        server_done:1; /* server-level rewrites ran          */
    unsigned        failed:1;      /* a match hit a PCRE2 limit          */
} regex_ctx_t;

/* map_state values */
enum { MAP_UNKNOWN = 0, MAP_SET, MAP_BUSY, MAP_FAILED };

static const char limit_reason[] = "regex match limit exceeded";

static regex_ctx_t *
get_ctx(pc_http_request_t *r)
{
    regex_ctx_t *ctx = r->ctx[pc_regex_module.index];

    if (ctx == NULL) {
        ctx = pc_pcalloc(r->pool, sizeof(*ctx));
        r->ctx[pc_regex_module.index] = ctx;
    }
    return ctx;
}

/* ---------------------------------------------------------------------
 * Matching
 * ------------------------------------------------------------------- */

static pc_rc_t
save_named(pc_http_request_t *r, regex_ctx_t *ctx, const pc_regex_compiled_t *rx,
    const u_char *s, const size_t *ov, int npairs)
{
    uint32_t i, g, n = rx->mcf->names.nelts;

    if (ctx->named == NULL || ctx->nnamed < n) {
        pc_str_t *named = pc_pcalloc(r->pool, n * sizeof(pc_str_t));

        if (named == NULL)
            return PC_ERROR;
        if (ctx->named != NULL)
            memcpy(named, ctx->named, ctx->nnamed * sizeof(pc_str_t));
        ctx->named = named;
        ctx->nnamed = n;
    }
    for (i = 0; i < rx->re.nnames; i++) {
        g = rx->named[i].group;
        if ((int) g < npairs && ov[2 * g] != PCRE2_UNSET) {
            ctx->named[rx->named[i].var].data = (u_char *) s + ov[2 * g];
            ctx->named[rx->named[i].var].len = ov[2 * g + 1] - ov[2 * g];
        } else {
            pc_str_set(&ctx->named[rx->named[i].var], "");
        }
    }
    return PC_OK;
}

/* Remember the groups of a successful match for $0..$9 and $name. */
static pc_rc_t
save_captures(pc_http_request_t *r, const pc_regex_compiled_t *rx, const u_char *s,
    const size_t *ov, int npairs)
{
    regex_ctx_t *ctx = get_ctx(r);

    if (ctx == NULL)
        return PC_ERROR;
    if (ctx->ovec_cap < (uint32_t) npairs) {
        ctx->ovec = pc_palloc(r->pool, 2 * (size_t) npairs * sizeof(size_t));
        if (ctx->ovec == NULL)
            return PC_ERROR;
        ctx->ovec_cap = (uint32_t) npairs;
    }
    memcpy(ctx->ovec, ov, 2 * (size_t) npairs * sizeof(size_t));
    ctx->npairs = (uint32_t) npairs;
    ctx->subject = s;
    return rx->re.nnames ? save_named(r, ctx, rx, s, ov, npairs) : PC_OK;
}

/*
 * Log a failed match at error with its pattern.  A client can trigger one
 * per request, so at most one line a second per worker, with how many
 * were left out since the last one.
 */
static void
log_failure(const pc_regex_compiled_t *rx, int rc)
{
    static pc_msec_t last_ms;
    static uint32_t  suppressed;
    static bool      logged;
    char err[128];

    if (logged && pc_time.mono_ms - last_ms < 1000) {
        suppressed++;
        return;
    }
    logged = true;
    last_ms = pc_time.mono_ms;
    pc_regex_strerror(rc, err, sizeof(err));
    pc_log(PC_LOG_ERR, 0, "regex: pcre2_match() failed: %s, pattern \"%.*s\" "
           "(%u more suppressed)", err, (int) rx->source.len,
           (const char *) rx->source.data, suppressed);
    suppressed = 0;
}

/* 1 on a match (captures saved in r when the pattern has groups and r is
 * not NULL), 0 on no match, < 0 when PCRE2 failed (logged). */
static int
exec(pc_http_request_t *r, const pc_regex_compiled_t *rx, const u_char *s, size_t len)
{
    const size_t *ov = NULL;
    int rc;

    rc = pc_regex_exec(&rx->re, s, len, &ov);
    if (rc < 0) {
        log_failure(rx, rc);
        return rc;
    }
    if (rc == 0)
        return 0;
    if (r != NULL && rx->re.ncaptures > 0 && save_captures(r, rx, s, ov, rc) != PC_OK)
        return PCRE2_ERROR_NOMEMORY;
    return 1;
}

/* Mark r: a match failed, the request must not go on (500). */
static void
set_failed(pc_http_request_t *r)
{
    regex_ctx_t *ctx;

    if (r == NULL || (ctx = get_ctx(r)) == NULL)
        return;
    ctx->failed = 1;
    r->error_reason = limit_reason;
}

/*
 * Contract: pc_http_regex_ops->match (location ~, server_name ~).  As exec;
 * on < 0 the request is also marked failed, and the REWRITE hook (or the
 * next location search) answers 500: the core's lookups take < 0 for no
 * match and cannot return an error themselves.
 */
static int
match(pc_http_request_t *r, void *re, const u_char *s, size_t len)
{
    int rc = exec(r, re, s, len);

    if (rc < 0)
        set_failed(r);
    return rc;
}

/* A lookup failed earlier in this request: 500, else PC_OK. */
static pc_rc_t
check_failed(pc_http_request_t *r)
{
    regex_ctx_t *ctx = r->ctx[pc_regex_module.index];

    if (ctx == NULL || !ctx->failed)
        return PC_OK;
    r->error_reason = limit_reason;
    return 500;
}

const pc_http_regex_ops_t pc_regex_ops = {
    pc_regex_compile_op,
    match,
};

/* ---------------------------------------------------------------------
 * Capture variables
 * ------------------------------------------------------------------- */

/* $0..$9: data = group number. */
static pc_rc_t
var_capture(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    regex_ctx_t *ctx = r->ctx[pc_regex_module.index];
    size_t g = data;

    if (ctx == NULL || ctx->ovec == NULL || g >= ctx->npairs
        || ctx->ovec[2 * g] == PCRE2_UNSET)
        return PC_DECLINED;
    out->data = (u_char *) ctx->subject + ctx->ovec[2 * g];
    out->len = ctx->ovec[2 * g + 1] - ctx->ovec[2 * g];
    return PC_OK;
}

/* Contract: getter of a named-capture variable (data = its index in the
 * main conf's names): the group's value from the last match that set it,
 * PC_DECLINED when none did. */
pc_rc_t
pc_regex_named_var(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    regex_ctx_t *ctx = r->ctx[pc_regex_module.index];

    if (ctx == NULL || ctx->named == NULL || data >= ctx->nnamed
        || ctx->named[data].data == NULL)
        return PC_DECLINED;
    *out = ctx->named[data];
    return PC_OK;
}

const pc_http_variable_t pc_regex_variables[] = {
    { "0", var_capture, 0, PC_VAR_NOCACHE },
    { "1", var_capture, 1, PC_VAR_NOCACHE },
    { "2", var_capture, 2, PC_VAR_NOCACHE },
    { "3", var_capture, 3, PC_VAR_NOCACHE },
    { "4", var_capture, 4, PC_VAR_NOCACHE },
    { "5", var_capture, 5, PC_VAR_NOCACHE },
    { "6", var_capture, 6, PC_VAR_NOCACHE },
    { "7", var_capture, 7, PC_VAR_NOCACHE },
    { "8", var_capture, 8, PC_VAR_NOCACHE },
    { "9", var_capture, 9, PC_VAR_NOCACHE },
    PC_VAR_END
};

/* ---------------------------------------------------------------------
 * map
 * ------------------------------------------------------------------- */

/* Exact keys are compared case-insensitively (nginx does the same). */
static const pc_regex_map_exact_t *
find_exact(const pc_regex_map_t *map, const pc_str_t *v)
{
    uint32_t lo = 0, hi = map->nexact, mid;
    const pc_str_t *k;
    int rc;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        k = &map->exact[mid].key;
        rc = pc_strncasecmp(k->data, v->data, pc_min(k->len, v->len));
        if (rc == 0)
            rc = (k->len > v->len) - (k->len < v->len);
        if (rc == 0)
            return &map->exact[mid];
        if (rc < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static pc_rc_t
map_lookup(pc_http_request_t *r, const pc_regex_map_t *map, pc_str_t *out)
{
    const pc_regex_map_exact_t *x;
    const pc_http_template_t *value = map->dflt;
    pc_str_t src;
    uint32_t i;
    int rc;

    if (pc_http_template_eval(r, map->source, &src) != PC_OK)
        return PC_ERROR;
    if (src.data == NULL)
        pc_str_set(&src, "");
    x = map->nexact ? find_exact(map, &src) : NULL;
    if (x != NULL) {
        value = x->value;
    } else {
        for (i = 0; i < map->nregex; i++) {
            rc = exec(r, map->regex[i].rx, src.data, src.len);
            if (rc < 0) {
                /* not the default: a map may feed an access decision */
                set_failed(r);
                return PC_ERROR;
            }
            if (rc > 0) {
                value = map->regex[i].value;
                break;
            }
        }
    }
    if (value == NULL) {
        pc_str_set(out, "");
        return PC_OK;
    }
    return pc_http_template_eval(r, value, out);
}

/*
 * Contract: getter of a map's $dst (data = the pc_regex_map_t): the value
 * of the first matching entry (exact keys first, then the regexes in
 * order), else the default, else empty; computed once per request.  A map
 * whose source or value refers back to itself yields empty.  A regex that
 * hits a PCRE2 limit fails the lookup (PC_ERROR, the request marked for
 * 500), now and for every later use in the request.
 */
pc_rc_t
pc_regex_map_var(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    const pc_regex_map_t *map = (const pc_regex_map_t *) data;
    regex_ctx_t *ctx = get_ctx(r);
    uint32_t n;
    pc_rc_t rc;

    if (ctx == NULL)
        return PC_ERROR;
    if (ctx->maps == NULL) {
        /* a slot for every map of the cycle: the count is final by now */
        n = pc_max(map->index + 1, map->mcf->nmaps);
        ctx->maps = pc_pcalloc(r->pool, n * sizeof(pc_str_t));
        ctx->map_state = pc_pcalloc(r->pool, n);
        if (ctx->maps == NULL || ctx->map_state == NULL)
            return PC_ERROR;
        ctx->nmaps = n;
    }
    if (map->index >= ctx->nmaps)
        return map_lookup(r, map, out);     /* not cached: still right */
    if (ctx->map_state[map->index] == MAP_SET) {
        *out = ctx->maps[map->index];
        return PC_OK;
    }
    if (ctx->map_state[map->index] == MAP_FAILED)
        return PC_ERROR;
    if (ctx->map_state[map->index] == MAP_BUSY)
        return PC_DECLINED;                 /* a map that uses itself */
    ctx->map_state[map->index] = MAP_BUSY;
    rc = map_lookup(r, map, out);
    ctx->map_state[map->index] = rc == PC_OK ? MAP_SET
                                 : ctx->failed ? MAP_FAILED : MAP_UNKNOWN;
    if (rc == PC_OK)
        ctx->maps[map->index] = *out;
    return rc;
}

/* ---------------------------------------------------------------------
 * rewrite (REWRITE phase)
 * ------------------------------------------------------------------- */

static const pc_str_t location_name = pc_string("Location");

static pc_array_t *
rewrites_of(void **confs)
{
    pc_regex_conf_t *c = confs != NULL ? confs[pc_regex_module.index] : NULL;

    return c != NULL ? c->rewrites : NULL;
}


static pc_rc_t
redirect(pc_http_request_t *r, const pc_regex_rewrite_t *rw, const pc_str_t *uri,
    const pc_str_t *args)
{
    pc_str_t url;

    if (pc_rewrite_join(r->pool, uri, args, &url) != PC_OK)
        return PC_ERROR;
    if (url.len == 0 || !pc_http_value_safe(url.data, url.len)) {
        pc_log(PC_LOG_INFO, 0, "rewrite: redirect URL empty or with a control byte "
               "(%s:%u), not sent", rw->file, rw->line);
        r->error_reason = "invalid rewrite result";
        return 500;
    }
    pc_http_body_discard(r);
    if (pc_http_header_out_set(r, &location_name, &url) != PC_OK
        || pc_http_send_simple(r, rw->flag == PC_REWRITE_PERMANENT ? 301 : 302,
                               NULL, NULL) != PC_OK)
        return PC_ERROR;
    return PC_DONE;
}

/* The new URI and args of a rule that matched: the path part and the
 * args part of the replacement evaluated apart (split where the text has
 * its '?', see pc_rewrite_split_template). */
static pc_rc_t
evaluate(pc_http_request_t *r, const pc_regex_rewrite_t *rw, pc_str_t *uri,
    pc_str_t *args)
{
    pc_str_t fresh = pc_null_string;

    *uri = (pc_str_t) pc_null_string;
    if (rw->replacement != NULL && pc_http_template_eval(r, rw->replacement, uri) != PC_OK)
        return PC_ERROR;
    if (rw->args != NULL && pc_http_template_eval(r, rw->args, &fresh) != PC_OK)
        return PC_ERROR;
    return pc_rewrite_args(r->pool, rw->has_args ? &fresh : NULL, &r->args,
                           rw->drop_args, args);
}

/* One rule: PC_DECLINED when it does not match, PC_OK when the URI was
 * rewritten, else the final result (PC_DONE after a redirect, an error;
 * 500 when the match hit a PCRE2 limit). */
static pc_rc_t
apply(pc_http_request_t *r, const pc_regex_rewrite_t *rw)
{
    pc_str_t uri, args;
    int rc;

    rc = exec(r, rw->rx, r->uri.data, r->uri.len);
    if (rc < 0) {
        set_failed(r);
        return 500;
    }
    if (rc == 0)
        return PC_DECLINED;
    if (evaluate(r, rw, &uri, &args) != PC_OK)
        return PC_ERROR;
    if (rw->redirect)
        return redirect(r, rw, &uri, &args);
    if (uri.len == 0) {
        pc_log(PC_LOG_ERR, 0, "rewrite: the new URI is empty (%s:%u)", rw->file, rw->line);
        r->error_reason = "invalid rewrite result";
        return 500;
    }
    r->uri = uri;
    r->args = args;
    r->uri_changed = 1;
    return PC_OK;
}

/* Run one block's rules in order.  *research: the location must be
 * searched again (a `last`, or a change not followed by `break`). */
static pc_rc_t
run_list(pc_http_request_t *r, const pc_array_t *list, bool *changed, bool *research)
{
    const pc_regex_rewrite_t *rw = list->elts;
    uint32_t i;
    pc_rc_t rc;

    *changed = *research = false;
    for (i = 0; i < list->nelts; i++) {
        rc = apply(r, &rw[i]);
        if (rc == PC_DECLINED)
            continue;
        if (rc != PC_OK)
            return rc;
        *changed = true;
        if (rw[i].flag == PC_REWRITE_LAST) {
            *research = true;
            return PC_OK;
        }
        if (rw[i].flag == PC_REWRITE_BREAK)
            return PC_OK;
    }
    *research = *changed;
    return PC_OK;
}

/* Search the location again for the new URI and start the REWRITE phase
 * over there; the 11th search of a request is a loop (500). */
static pc_rc_t
relocate(pc_http_request_t *r, regex_ctx_t *ctx, bool count)
{
    pc_http_core_conf_t *ccf;

    if (count && ++ctx->cycles > PC_REGEX_MAX_CYCLES) {
        pc_str_t line = pc_http_log_redacted_request(r);

        pc_log(PC_LOG_ERR, 0, "rewrite or internal redirection cycle while processing "
               "\"%.*s\", request: \"%.*s\"", (int) r->uri.len, (const char *) r->uri.data,
               (int) line.len, (const char *) line.data);
        r->error_reason = "rewrite cycle";
        return 500;
    }
    r->location = pc_http_find_location(r->server, &r->uri, r);
    r->loc_conf = r->location != NULL ? r->location->confs : r->server->confs;
    if (check_failed(r) != PC_OK)
        return 500;
    ccf = pc_http_core_conf(r);
    /* the new location's own limit, checked before any body byte is read */
    if (ccf->client_max_body_size != 0 && r->head.body == PC_HTTP_BODY_LENGTH
        && (uint64_t) r->head.content_length > ccf->client_max_body_size)
    {
        r->error_reason = "request body too large";
        return 413;
    }
    r->hook = 0;
    return PC_OK;
}

/*
 * Contract: REWRITE hook.  The server's rewrites run once per request
 * (the location is searched again when they changed the URI), then the
 * rewrites of the location in force.  `last` (or a change without
 * `break`) searches the location again and restarts the REWRITE phase
 * there, at most PC_REGEX_MAX_CYCLES times (then 500); redirect /
 * permanent / an absolute replacement answer 302 / 301 with Location.
 * First of all, a server_name or location regex that hit a PCRE2 limit
 * while this request's server and location were chosen: 500 ("regex
 * match limit exceeded"), since the choice may be the wrong one.
 * Returns PC_DECLINED to go on, PC_OK after a new location was set,
 * PC_DONE after a redirect, PC_ERROR or a status on failure.
 */
pc_rc_t
pc_regex_rewrite_handler(pc_http_request_t *r)
{
    regex_ctx_t *ctx = r->ctx[pc_regex_module.index];
    const pc_array_t *srv, *loc;
    bool changed, research;
    pc_rc_t rc;

    if ((rc = check_failed(r)) != PC_OK)
        return rc;
    if (r->server == NULL)
        return PC_DECLINED;
    srv = (ctx == NULL || !ctx->server_done) ? rewrites_of(r->server->confs) : NULL;
    loc = r->location != NULL ? rewrites_of(r->location->confs) : NULL;
    if (srv == NULL && loc == NULL)
        return PC_DECLINED;
    if ((ctx = get_ctx(r)) == NULL)
        return PC_ERROR;
    if (srv != NULL) {
        ctx->server_done = 1;
        rc = run_list(r, srv, &changed, &research);
        if (rc != PC_OK)
            return rc;
        if (changed)
            return relocate(r, ctx, false);
    }
    ctx->server_done = 1;
    if (loc == NULL)
        return PC_DECLINED;
    rc = run_list(r, loc, &changed, &research);
    if (rc != PC_OK)
        return rc;
    if (research)
        return relocate(r, ctx, true);
    /* a `break` that changed the URI: the location no longer describes it,
     * so proxy_pass sends it whole (nginx's valid_location = 0) */
    r->uri_break = changed;
    return PC_DECLINED;
}
