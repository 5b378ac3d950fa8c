/*
 * pc_http_access.c -- address rules: CIDR parsing and matching, the
 * allow/deny ACCESS hook and the real_ip POST_READ hook.
 *
 * Matching never allocates.  An IPv4 client that reaches an IPv6 socket
 * appears as an IPv4-mapped address (::ffff:a.b.c.d); it is matched against
 * IPv4 rules as the IPv4 address it is, so one rule set works for both
 * kinds of listener.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include "http/pc_http.h"
#include "http/pc_http_conf.h"

/* ---------------------------------------------------------------------
 * CIDR
 * ------------------------------------------------------------------- */

/* Clear every bit of addr (len bytes) after the first bits. */
static void
mask_bits(u_char *addr, size_t len, unsigned bits)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (bits >= 8) {
            bits -= 8;
            continue;
        }
        addr[i] &= (u_char) (0xff << (8 - bits)) & 0xff;
        bits = 0;
    }
}

/* Do the first bits of a and b agree? */
static bool
bits_equal(const u_char *a, const u_char *b, unsigned bits)
{
    size_t full = bits / 8;
    unsigned rest = bits % 8;
    u_char m;

    if (full && memcmp(a, b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    m = (u_char) (0xff << (8 - rest));
    return (a[full] & m) == (b[full] & m);
}

/* Parse the address part (NUL-terminated) into out->addr. */
static pc_rc_t
parse_ip(const char *text, struct sockaddr_storage *ss, unsigned *maxbits)
{
    struct sockaddr_in *sin = (struct sockaddr_in *) ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ss;

    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        *maxbits = 32;
        return PC_OK;
    }
    if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        *maxbits = 128;
        return PC_OK;
    }
    return PC_ERROR;
}

/*
 * Contract: parses "all" (only when allow_all), "A.B.C.D", "A.B.C.D/N"
 * (N 0..32), "IPV6", "IPV6/N" (N 0..128) into *out, clearing host bits
 * after the prefix.  Rejects empty input, a missing or non-decimal prefix
 * after '/', prefixes over the family's width, zone ids, hostnames and
 * trailing junk.  out->deny is left 0.  PC_OK / PC_ERROR.
 */
pc_rc_t
pc_http_cidr_parse(const pc_str_t *s, pc_http_cidr_t *out, int allow_all)
{
    char text[INET6_ADDRSTRLEN + 1];
    const u_char *slash;
    size_t alen;
    uint64_t bits;
    unsigned maxbits;

    memset(out, 0, sizeof(*out));
    if (s == NULL || s->len == 0 || s->data == NULL)
        return PC_ERROR;
    if (s->len == 3 && memcmp(s->data, "all", 3) == 0) {
        if (!allow_all)
            return PC_ERROR;
        out->all = 1;
        return PC_OK;
    }
    slash = memchr(s->data, '/', s->len);
    alen = slash ? (size_t) (slash - s->data) : s->len;
    if (alen == 0 || alen >= sizeof(text))
        return PC_ERROR;
    memcpy(text, s->data, alen);
    text[alen] = '\0';
    if (parse_ip(text, &out->addr, &maxbits) != PC_OK)
        return PC_ERROR;
    bits = maxbits;
    if (slash != NULL) {
        size_t plen = s->len - alen - 1;

        if (plen == 0 || plen > 3 || pc_parse_uint64(slash + 1, plen, &bits) != PC_OK
            || bits > maxbits)
        {
            return PC_ERROR;
        }
    }
    out->prefix = (uint8_t) bits;
    if (out->addr.ss_family == AF_INET)
        mask_bits((u_char *) &((struct sockaddr_in *) &out->addr)->sin_addr, 4,
                  out->prefix);
    else
        mask_bits(((struct sockaddr_in6 *) &out->addr)->sin6_addr.s6_addr, 16,
                  out->prefix);
    return PC_OK;
}

/*
 * Contract: true when addr (AF_INET or AF_INET6; an IPv4-mapped IPv6
 * address counts as IPv4) lies inside cidr; "all" matches everything,
 * including other families.  Pure.
 */
bool
pc_http_cidr_match(const pc_http_cidr_t *cidr, const struct sockaddr *addr)
{
    const struct sockaddr_in6 *a6;
    const u_char *a;
    int af;

    if (cidr->all)
        return true;
    if (addr == NULL)
        return false;
    af = addr->sa_family;
    if (af == AF_INET) {
        a = (const u_char *) &((const struct sockaddr_in *) addr)->sin_addr;
    } else if (af == AF_INET6) {
        a6 = (const struct sockaddr_in6 *) addr;
        a = a6->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)
            && cidr->addr.ss_family == AF_INET)
        {
            af = AF_INET;
            a += 12;
        }
    } else {
        return false;
    }
    if (af != cidr->addr.ss_family)
        return false;
    if (af == AF_INET)
        return bits_equal(a, (const u_char *)
                          &((const struct sockaddr_in *) &cidr->addr)->sin_addr,
                          cidr->prefix);
    return bits_equal(a, ((const struct sockaddr_in6 *) &cidr->addr)->sin6_addr.s6_addr,
                      cidr->prefix);
}

static const pc_http_cidr_t *
first_match(const pc_array_t *list, const struct sockaddr *addr)
{
    const pc_http_cidr_t *c;
    uint32_t i;

    if (list == NULL)
        return NULL;
    c = list->elts;
    for (i = 0; i < list->nelts; i++)
        if (pc_http_cidr_match(&c[i], addr))
            return &c[i];
    return NULL;
}

/* ---------------------------------------------------------------------
 * allow / deny
 * ------------------------------------------------------------------- */

/* The client address after real_ip (the TCP peer if nothing set it). */
static const struct sockaddr *
client_addr(pc_http_request_t *r)
{
    if (r->remotelen > 0)
        return (const struct sockaddr *) &r->remote;
    return r->c ? (const struct sockaddr *) &r->c->peer : NULL;
}

/*
 * Contract: ACCESS hook.  The first allow/deny rule of the conf in force
 * that matches the client decides: deny → 403, allow → PC_DECLINED (the
 * next access hook runs).  No rule or no match → PC_DECLINED.
 */
pc_rc_t
pc_http_access_handler(pc_http_request_t *r)
{
    pc_http_core_conf_t *conf;
    const pc_http_cidr_t *rule;

    if (r->loc_conf == NULL)
        return PC_DECLINED;
    conf = pc_http_core_conf(r);
    if (conf == NULL || conf->access == NULL)
        return PC_DECLINED;
    rule = first_match(conf->access, client_addr(r));
    if (rule == NULL || !rule->deny)
        return PC_DECLINED;
    /* the runtime logs the 403 with the request's context */
    r->error_reason = "access forbidden by rule";
    return 403;
}

/* ---------------------------------------------------------------------
 * real_ip
 * ------------------------------------------------------------------- */

/* The server-level core conf for a request that may not have its server
 * yet (POST_READ): the server found by Host, else the address's default. */
static pc_http_core_conf_t *
server_conf(pc_http_request_t *r)
{
    pc_http_addr_conf_t *addr;
    pc_http_server_t *s = r->server;

    if (s == NULL && r->c != NULL && r->c->listening != NULL) {
        addr = r->c->listening->data;
        s = addr ? pc_http_find_server(addr, &r->host, r) : NULL;
    }
    if (s != NULL && s->confs != NULL)
        return s->confs[pc_http_core_module.index];
    if (r->loc_conf != NULL)
        return pc_http_core_conf(r);
    return NULL;
}

/* The value of the last field named name; data NULL when absent. */
static pc_str_t
last_header(pc_http_request_t *r, const pc_str_t *name)
{
    const pc_http_header_t *h = r->head.headers;
    pc_str_t v = pc_null_string;
    uint32_t i;

    if (r->head_buf == NULL)
        return v;
    for (i = 0; i < r->head.nheaders; i++) {
        if (h[i].name_len == name->len
            && pc_strncasecmp(r->head_buf + h[i].name, name->data, name->len) == 0)
        {
            v.data = r->head_buf + h[i].value;
            v.len = h[i].value_len;
        }
    }
    return v;
}

/* The last comma-separated element of v, without surrounding spaces,
 * parsed as an address: "1.2.3.4", "1.2.3.4:80", "::1", "[::1]" or
 * "[::1]:80" (nginx accepts a port too).  *port is 0 without one. */
static pc_rc_t
parse_last_addr(pc_str_t v, struct sockaddr_storage *ss, uint16_t *port)
{
    const u_char *p = v.data + v.len, *start, *colon;
    char text[INET6_ADDRSTRLEN + 1];
    unsigned maxbits;
    size_t len;

    while (p > v.data && (p[-1] == ' ' || p[-1] == '\t'))
        p--;
    start = p;
    while (start > v.data && start[-1] != ',')
        start--;
    while (start < p && (*start == ' ' || *start == '\t'))
        start++;
    *port = 0;
    if (p - start >= 2 && *start == '[') {
        colon = memchr(start, ']', (size_t) (p - start));
        if (colon == NULL)
            return PC_ERROR;
        if (colon + 1 < p
            && (colon[1] != ':'
                || pc_parse_port(colon + 2, (size_t) (p - colon - 2), port) != PC_OK))
        {
            return PC_ERROR;
        }
        start++;
        p = colon;
    } else if ((colon = memchr(start, ':', (size_t) (p - start))) != NULL
               && memchr(colon + 1, ':', (size_t) (p - colon - 1)) == NULL)
    {
        if (pc_parse_port(colon + 1, (size_t) (p - colon - 1), port) != PC_OK)
            return PC_ERROR;
        p = colon;          /* one colon: IPv4 with a port */
    }
    len = (size_t) (p - start);
    if (len == 0 || len >= sizeof(text))
        return PC_ERROR;
    memcpy(text, start, len);
    text[len] = '\0';
    return parse_ip(text, ss, &maxbits);
}

/*
 * Contract: POST_READ hook.  When the TCP peer is in set_real_ip_from and
 * the real_ip_header field is present, the client address becomes the last
 * address of its last occurrence (nginx's non-recursive behaviour); a value
 * that is not an IP address leaves the peer in place.  Updates r->remote,
 * r->remotelen, r->remote_addr (text in r->pool) and r->remote_port (the
 * field's port; 0 when it has none: $remote_port is then empty, as in
 * nginx).  Always PC_DECLINED, or PC_ERROR on ENOMEM.
 */
pc_rc_t
pc_http_realip_handler(pc_http_request_t *r)
{
    pc_http_core_conf_t *conf = server_conf(r);
    struct sockaddr_storage ss;
    pc_str_t v, text;
    uint16_t port;

    if (conf == NULL || conf->real_ip_header.len == 0 || conf->real_ip_from == NULL
        || r->c == NULL)
    {
        return PC_DECLINED;
    }
    if (first_match(conf->real_ip_from, (const struct sockaddr *) &r->c->peer) == NULL)
        return PC_DECLINED;
    v = last_header(r, &conf->real_ip_header);
    if (v.data == NULL || parse_last_addr(v, &ss, &port) != PC_OK) {
        pc_log(PC_LOG_DEBUG, 0, "real_ip: no usable \"%.*s\" field",
               (int) conf->real_ip_header.len, (const char *) conf->real_ip_header.data);
        return PC_DECLINED;
    }
    if (pc_http_addr_text(r->pool, (const struct sockaddr *) &ss, &text) != PC_OK)
        return PC_ERROR;
    if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *) &ss)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *) &ss)->sin6_port = htons(port);
    r->remote = ss;
    r->remotelen = ss.ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                           : sizeof(struct sockaddr_in6);
    r->remote_addr = text;
    r->remote_port = port;
    return PC_DECLINED;
}
