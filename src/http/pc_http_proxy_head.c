/*
 * pc_http_proxy_head.c -- the request head sent to an upstream (SPEC §4
 * "Default request rewriting"), the URI it carries, and the deadline a
 * client may ask for (proxy_request_timeout_header).
 *
 * What the upstream gets:
 *   METHOD URI HTTP/1.1          always 1.1, persistent by default
 *   the client's fields, in order, minus: hop-by-hop ones (Connection and
 *     the fields it names, Keep-Alive, Proxy-Connection, TE, Trailer,
 *     Transfer-Encoding, Upgrade), Host, Content-Length, Expect (the proxy
 *     answers 100-continue itself), X-Forwarded-For/-Proto/-Host (set
 *     below), the timeout header (re-sent with the remaining budget),
 *     every field a proxy_set_header names, and fields whose name has an
 *     underscore unless underscores_in_headers is on (nginx drops them too:
 *     CGI-style backends read X_Forwarded_For and X-Forwarded-For, or
 *     Client_Cert and Client-Cert, as the same variable, so forwarding one
 *     would let a client spoof what we strip or set)
 *   Host: the client's, unchanged (absolute-form authority first; the
 *     upstream's name when the client sent none)
 *   X-Forwarded-For: the client's values, then $remote_addr
 *   X-Forwarded-Proto: http | https;  X-Forwarded-Host: the client's Host
 *   fields modules set with pc_http_upstream_header_set (trace: traceparent,
 *     X-Request-ID), each in place of the client's fields of that name,
 *     unless a proxy_set_header names it
 *   proxy_set_header fields (an empty value sends nothing)
 *   Content-Length (client sent one) or Transfer-Encoding: chunked
 *   Upgrade + Connection: upgrade (an Upgrade the location tunnels; never
 *     h2c: an upstream that switched to HTTP/2 behind us would serve
 *     requests no location check ever saw -- h2c smuggling)
 * No Via.
 */
#include <string.h>

#include "http/pc_http_chars.h"
#include "http/pc_http_proxy.h"
#include "http/pc_http_proxy_msg.h"

#define CPY(p, s)  pc_cpymem((p), (s), sizeof(s) - 1)

bool
pc_http_proxy_idempotent(pc_http_method_e m)
{
    switch (m) {
    case PC_HTTP_GET:
    case PC_HTTP_HEAD:
    case PC_HTTP_PUT:
    case PC_HTTP_DELETE:
    case PC_HTTP_OPTIONS:
    case PC_HTTP_TRACE:
        return true;
    default:
        return false;
    }
}

pc_msec_t
pc_http_proxy_deadline(pc_http_request_t *r, const pc_http_proxy_loc_conf_t *plcf)
{
    pc_str_t  v;
    pc_msec_t t;

    if (plcf->timeout_header.len == 0) {
        return 0;
    }
    v = pc_http_header_in(r, (const char *) plcf->timeout_header.data,
                          plcf->timeout_header.len);
    if (v.data == NULL || pc_conf_parse_msec(&v, &t) != PC_OK) {
        return 0;       /* absent or not a duration: no client deadline */
    }
    if (plcf->timeout_header_max > 0 && t > plcf->timeout_header_max) {
        t = plcf->timeout_header_max;
    }
    return r->start_mono_ms + t;
}

/* Bytes a path needs escaped before it goes on a request line. */
static bool
must_escape(u_char c)
{
    return c <= 0x20 || c >= 0x7f || c == '"' || c == '#' || c == '%' || c == '<'
           || c == '>' || c == '?' || c == '\\' || c == '^' || c == '`' || c == '{'
           || c == '|' || c == '}';
}

static u_char *
escape_path(u_char *p, const u_char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t            i;

    for (i = 0; i < len; i++) {
        if (must_escape(s[i])) {
            *p++ = '%';
            *p++ = (u_char) hex[s[i] >> 4];
            *p++ = (u_char) hex[s[i] & 0xf];
        } else {
            *p++ = s[i];
        }
    }
    return p;
}

/*
 * The request target for the upstream.  Without a URI part in proxy_pass:
 * the client's target as received (origin-form; an absolute-form target
 * loses its scheme and authority).  With one: the location's prefix of the
 * normalised $uri is replaced by it (nginx semantics), re-escaped, and the
 * query appended.  After a rewrite changed $uri, the location searched
 * again for it (`last`) replaces its prefix the same way; a location's
 * `break` sends the rewritten $uri (and $args) whole whatever proxy_pass
 * says, as nginx does.
 */
static pc_rc_t
target(pc_http_request_t *r, const pc_http_proxy_loc_conf_t *plcf, pc_str_t *out)
{
    const pc_http_location_t *loc = r->location;
    const pc_http_head_t     *h = &r->head;
    pc_str_t                  rest = r->uri;
    u_char                   *p;

    if (!plcf->pass_has_uri && !h->absolute_form && !r->uri_changed) {
        *out = r->unparsed_uri;
        return PC_OK;
    }
    if (!plcf->pass_has_uri && !r->uri_changed) {
        p = out->data = pc_pnalloc(r->pool, h->path_len + h->query_len + 2);
        if (p == NULL) {
            return PC_ERROR;
        }
        p = h->path_len ? pc_cpymem(p, r->head_buf + h->path_off, h->path_len) : CPY(p, "/");
        if (h->has_query) {
            *p++ = '?';
            p = pc_cpymem(p, r->head_buf + h->query_off, h->query_len);
        }
        out->len = (size_t) (p - out->data);
        return PC_OK;
    }
    if (plcf->pass_has_uri && !r->uri_break && loc != NULL && loc->match != PC_HTTP_LOC_REGEX
        && loc->match != PC_HTTP_LOC_REGEX_CASELESS && rest.len >= loc->name.len
        && memcmp(rest.data, loc->name.data, loc->name.len) == 0)
    {
        rest.data += loc->name.len;
        rest.len -= loc->name.len;
    }
    p = out->data = pc_pnalloc(r->pool, plcf->pass_uri.len + rest.len * 3
                                        + r->args.len + 2);
    if (p == NULL) {
        return PC_ERROR;
    }
    if (!r->uri_break)
        p = pc_cpymem(p, plcf->pass_uri.data, plcf->pass_uri.len);
    p = escape_path(p, rest.data, rest.len);
    if (r->uri_changed ? r->args.len > 0 : h->has_query) {
        *p++ = '?';
        p = pc_cpymem(p, r->args.data, r->args.len);
    }
    out->len = (size_t) (p - out->data);
    return PC_OK;
}

static bool
name_eq(const u_char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && pc_strncasecmp(a, (const u_char *) b, blen) == 0;
}

/* Whether a proxy_set_header names the field a[0 .. alen). */
static bool
is_set(const pc_http_proxy_loc_conf_t *plcf, const u_char *a, size_t alen)
{
    const pc_http_proxy_header_t *h;
    uint32_t                      i;

    if (plcf->set_headers == NULL) {
        return false;
    }
    h = plcf->set_headers->elts;
    for (i = 0; i < plcf->set_headers->nelts; i++) {
        if (name_eq(a, alen, (const char *) h[i].name.data, h[i].name.len)) {
            return true;
        }
    }
    return false;
}

/*
 * Whether a proxy_set_header of this location or of a level above fills
 * the field a[0 .. alen) from a $ssl_client_* variable.  The client's field
 * is dropped even when this location's own list (which replaced the
 * server's, as in nginx) does not set it: SPEC §4 tls, a client can never
 * spoof what the proxy derives from its certificate.
 */
static bool
is_ssl_name(const pc_http_proxy_loc_conf_t *plcf, const u_char *a, size_t alen)
{
    const pc_str_t *n;
    uint32_t        i;

    if (plcf->ssl_names == NULL) {
        return false;
    }
    n = plcf->ssl_names->elts;
    for (i = 0; i < plcf->ssl_names->nelts; i++) {
        if (name_eq(a, alen, (const char *) n[i].data, n[i].len)) {
            return true;
        }
    }
    return false;
}

static u_char *field(u_char *p, const u_char *name, size_t nlen, const u_char *value,
    size_t vlen);

/* Whether a module set the field a[0 .. alen) for the upstream. */
static bool
is_module_set(const pc_http_request_t *r, const u_char *a, size_t alen)
{
    const pc_http_field_t *f;
    uint32_t               i;

    if (r->upstream_headers == NULL) {
        return false;
    }
    f = r->upstream_headers->elts;
    for (i = 0; i < r->upstream_headers->nelts; i++) {
        if (name_eq(a, alen, (const char *) f[i].name.data, f[i].name.len)) {
            return true;
        }
    }
    return false;
}

/* Contract: see pc_http.h.  The list lives in r->pool; a few entries, so
 * a linear scan. */
pc_rc_t
pc_http_upstream_header_set(pc_http_request_t *r, const pc_str_t *name,
    const pc_str_t *value)
{
    pc_http_field_t *f;
    uint32_t         i;

    if (r->upstream_headers == NULL) {
        r->upstream_headers = pc_palloc(r->pool, sizeof(pc_array_t));
        if (r->upstream_headers == NULL
            || pc_array_init(r->upstream_headers, r->pool, 4, sizeof(pc_http_field_t))
                   != PC_OK)
        {
            r->upstream_headers = NULL;
            return PC_ERROR;
        }
    }
    f = r->upstream_headers->elts;
    for (i = 0; i < r->upstream_headers->nelts; i++) {
        if (pc_str_caseeq(&f[i].name, name)) {
            f[i].value = *value;
            return PC_OK;
        }
    }
    f = pc_array_push(r->upstream_headers);
    if (f == NULL) {
        return PC_ERROR;
    }
    f->name = *name;
    f->value = *value;
    return PC_OK;
}

/* The fields modules set (not those a proxy_set_header names). */
static u_char *
module_fields(u_char *p, const pc_http_request_t *r, const pc_http_proxy_loc_conf_t *plcf)
{
    const pc_http_field_t *f;
    uint32_t               i;

    if (r->upstream_headers == NULL) {
        return p;
    }
    f = r->upstream_headers->elts;
    for (i = 0; i < r->upstream_headers->nelts; i++) {
        if (f[i].value.len > 0 && !is_set(plcf, f[i].name.data, f[i].name.len)) {
            p = field(p, f[i].name.data, f[i].name.len, f[i].value.data, f[i].value.len);
        }
    }
    return p;
}

/* Whether the client's field f is replaced or dropped (see the top). */
static bool
skip_field(pc_http_request_t *r, const pc_http_proxy_loc_conf_t *plcf,
    const pc_http_header_t *f)
{
    const u_char *name = r->head_buf + f->name;

    switch (f->id) {
    case PC_HTTP_H_HOST:
    case PC_HTTP_H_CONTENT_LENGTH:
    case PC_HTTP_H_EXPECT:
    case PC_HTTP_H_X_FORWARDED_FOR:
        return true;
    default:
        break;
    }
    return pc_http_proxy_hop_by_hop(&r->head, r->head_buf, f)
           || (!plcf->underscores && memchr(name, '_', f->name_len) != NULL)
           || name_eq(name, f->name_len, "x-forwarded-proto", 17)
           || name_eq(name, f->name_len, "x-forwarded-host", 16)
           || (plcf->timeout_header.len != 0
               && name_eq(name, f->name_len, (const char *) plcf->timeout_header.data,
                          plcf->timeout_header.len))
           || is_set(plcf, name, f->name_len)
           || is_ssl_name(plcf, name, f->name_len)
           || is_module_set(r, name, f->name_len);
}

static u_char *
field(u_char *p, const u_char *name, size_t nlen, const u_char *value, size_t vlen)
{
    p = pc_cpymem(p, name, nlen);
    p = CPY(p, ": ");
    p = pc_cpymem(p, value, vlen);
    return CPY(p, "\r\n");
}

/* The client's fields that pass, then X-Forwarded-For. */
static u_char *
client_fields(u_char *p, pc_http_request_t *r, const pc_http_proxy_loc_conf_t *plcf)
{
    const pc_http_header_t *f;
    const u_char           *b = r->head_buf;
    uint32_t                i, nxff = 0;

    for (i = 0; i < r->head.nheaders; i++) {
        f = &r->head.headers[i];
        if (!skip_field(r, plcf, f)) {
            p = field(p, b + f->name, f->name_len, b + f->value, f->value_len);
        }
    }
    if (is_set(plcf, (const u_char *) "x-forwarded-for", 15)) {
        return p;
    }
    p = CPY(p, "X-Forwarded-For: ");
    for (i = 0; i < r->head.nheaders; i++) {
        f = &r->head.headers[i];
        if (f->id == PC_HTTP_H_X_FORWARDED_FOR && f->value_len > 0) {
            p = pc_cpymem(p, b + f->value, f->value_len);
            p = CPY(p, ", ");
            nxff++;
        }
    }
    p = pc_cpymem(p, r->remote_addr.data, r->remote_addr.len);
    if (r->remote_addr.len == 0 && nxff > 0) {
        p -= 2;
    }
    return CPY(p, "\r\n");
}

/* Host, X-Forwarded-Proto, X-Forwarded-Host. */
static u_char *
host_fields(u_char *p, pc_http_request_t *r, const pc_http_proxy_loc_conf_t *plcf,
    const pc_http_upstream_t *u)
{
    const u_char *host = r->head_buf + r->head.host_off;
    size_t        hlen = r->head.has_host ? r->head.host_len : 0;

    if (!is_set(plcf, (const u_char *) "host", 4)) {
        p = hlen ? field(p, (const u_char *) "Host", 4, host, hlen)
                 : field(p, (const u_char *) "Host", 4, u->name.data, u->name.len);
    }
    if (!is_set(plcf, (const u_char *) "x-forwarded-proto", 17)) {
        p = r->c->ssl ? CPY(p, "X-Forwarded-Proto: https\r\n")
                      : CPY(p, "X-Forwarded-Proto: http\r\n");
    }
    if (hlen && !is_set(plcf, (const u_char *) "x-forwarded-host", 16)) {
        p = field(p, (const u_char *) "X-Forwarded-Host", 16, host, hlen);
    }
    return p;
}

/* Framing, Upgrade, the remaining budget, the end of the head. */
static u_char *
tail_fields(u_char *p, pc_http_request_t *r, const pc_http_proxy_loc_conf_t *plcf,
    pc_msec_t deadline, int upgrade)
{
    pc_str_t v;

    if (deadline > 0) {
        p = pc_cpymem(p, plcf->timeout_header.data, plcf->timeout_header.len);
        p = CPY(p, ": ");
        p = pc_u64toa(p, (uint64_t) pc_max(deadline - pc_time.mono_ms, 1));
        p = CPY(p, "ms\r\n");
    }
    if (r->head.body == PC_HTTP_BODY_LENGTH) {
        p = CPY(p, "Content-Length: ");
        p = pc_u64toa(p, (uint64_t) r->head.content_length);
        p = CPY(p, "\r\n");
    } else if (r->head.body == PC_HTTP_BODY_CHUNKED) {
        p = CPY(p, "Transfer-Encoding: chunked\r\n");
    }
    if (upgrade) {
        v = pc_http_header_in(r, "upgrade", 7);
        if (!is_set(plcf, (const u_char *) "upgrade", 7) && v.data != NULL) {
            p = field(p, (const u_char *) "Upgrade", 7, v.data, v.len);
        }
        if (!is_set(plcf, (const u_char *) "connection", 10)) {
            p = CPY(p, "Connection: upgrade\r\n");
        }
    }
    return CPY(p, "\r\n");
}

pc_rc_t
pc_http_proxy_build_head(pc_http_request_t *r, const pc_http_proxy_loc_conf_t *plcf,
    const pc_http_upstream_t *u, pc_msec_t deadline, int upgrade, pc_str_t *out)
{
    const pc_http_proxy_header_t *h = NULL;
    pc_str_t                      uri, *vals = NULL;
    uint32_t                      i, nset = 0;
    size_t                        bound;
    u_char                       *p;

    if (target(r, plcf, &uri) != PC_OK) {
        return PC_ERROR;
    }
    /* What is copied from the client is bounded by its head (the Host
     * value twice, and ": " / CRLF may be longer than what the client
     * used: 4 bytes per field); the rest is counted here. */
    bound = (size_t) r->head.head_len * 2 + (size_t) r->head.nheaders * 4
            + r->method_name.len + uri.len + u->name.len + r->remote_addr.len
            + plcf->timeout_header.len + 512;
    if (plcf->set_headers != NULL) {
        h = plcf->set_headers->elts;
        nset = plcf->set_headers->nelts;
        vals = pc_pcalloc(r->pool, (nset + 1) * sizeof(pc_str_t));
        if (vals == NULL) {
            return PC_ERROR;
        }
    }
    if (r->upstream_headers != NULL) {
        const pc_http_field_t *mf = r->upstream_headers->elts;

        for (i = 0; i < r->upstream_headers->nelts; i++) {
            bound += mf[i].name.len + mf[i].value.len + 4;
        }
    }
    for (i = 0; i < nset; i++) {
        if (h[i].value != NULL && pc_http_template_eval(r, h[i].value, &vals[i]) != PC_OK) {
            vals[i].len = 0;
        }
        if (!pc_http_value_safe(vals[i].data, vals[i].len)) {
            /* a client's bytes (a decoded %0d%0a in $uri, a capture)
             * would split the upstream's head: smuggling */
            pc_log(PC_LOG_INFO, 0, "proxy_set_header %.*s: the value has a CR, LF or "
                   "NUL byte; the request is refused", (int) h[i].name.len,
                   (const char *) h[i].name.data);
            return PC_DECLINED;
        }
        bound += h[i].name.len + vals[i].len + 4;
    }
    p = out->data = pc_pnalloc(r->pool, bound);
    if (p == NULL) {
        return PC_ERROR;
    }
    p = pc_cpymem(p, r->method_name.data, r->method_name.len);
    *p++ = ' ';
    p = pc_cpymem(p, uri.data, uri.len);
    p = CPY(p, " HTTP/1.1\r\n");
    p = host_fields(p, r, plcf, u);
    p = client_fields(p, r, plcf);
    p = module_fields(p, r, plcf);
    for (i = 0; i < nset; i++) {
        if (vals[i].len > 0) {
            p = field(p, h[i].name.data, h[i].name.len, vals[i].data, vals[i].len);
        }
    }
    p = tail_fields(p, r, plcf, deadline, upgrade);
    out->len = (size_t) (p - out->data);
    return PC_OK;
}

/* See pc_http_proxy.h. */
bool
pc_http_proxy_upgrade_h2c(const pc_http_request_t *r)
{
    const pc_http_header_t *f;
    const u_char           *v, *end;
    uint32_t                i;

    for (i = 0; i < r->head.nheaders; i++) {
        f = &r->head.headers[i];
        if (f->id != PC_HTTP_H_UPGRADE)
            continue;
        v = r->head_buf + f->value;
        end = v + f->value_len;
        for (; v + 3 <= end; v++) {
            if (pc_strncasecmp(v, (const u_char *) "h2c", 3) == 0
                && (v == r->head_buf + f->value || v[-1] == ',' || v[-1] == ' '
                    || v[-1] == '\t')
                && (v + 3 == end || v[3] == ',' || v[3] == ' ' || v[3] == '\t'))
            {
                return true;
            }
        }
    }
    return false;
}
