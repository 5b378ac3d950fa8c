/*
 * test_pc_http_access.c -- unit tests for src/http/pc_http_access.c:
 * CIDR parsing at every boundary (/0, /32, /128, over-long prefixes, junk,
 * host bits), matching (IPv4, IPv6, IPv4-mapped peers against IPv4 rules,
 * "all"), the allow/deny hook (first match wins, 403) and the real_ip hook
 * (trusted peers only, last X-Forwarded-For address, bad values ignored).
 *
 * Requests, connections and confs are built by hand: no config, no I/O.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "http/pc_http.h"
#include "http/pc_http_conf.h"
#include "test.h"

static pc_pool_t *pool;

static pc_str_t
S(const char *s)
{
    pc_str_t r = { strlen(s), (u_char *) s };
    return r;
}

static pc_rc_t
cidr_parse(const char *text, pc_http_cidr_t *c, int allow_all)
{
    pc_str_t s = S(text);

    return pc_http_cidr_parse(&s, c, allow_all);
}

static struct sockaddr_storage
addr_of(const char *text)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *sin = (struct sockaddr_in *) &ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
    }
    return ss;
}

static bool
match(const char *cidr, const char *addr)
{
    pc_http_cidr_t c;
    struct sockaddr_storage ss = addr_of(addr);

    if (cidr_parse(cidr, &c, 1) != PC_OK) {
        diag("cannot parse %s", cidr);
        return false;
    }
    return pc_http_cidr_match(&c, (struct sockaddr *) &ss);
}

static void
test_parse(void)
{
    static const char *good[] = {
        "0.0.0.0/0", "10.0.0.0/8", "192.168.1.1", "192.168.1.1/32", "::/0",
        "::1", "::1/128", "2001:db8::/32", "::ffff:10.0.0.1", "1.2.3.4/00", "all",
    };
    static const char *bad[] = {
        "", "/", "/8", "10.0.0.0/", "10.0.0.0/33", "::1/129", "10.0.0.0/-1",
        "10.0.0.0/+8", "10.0.0.0/8x", "10.0.0.0/1000", "10.0.0", "10.0.0.256",
        "10.0.0.1 ", " 10.0.0.1", "localhost", "fe80::1%eth0", "1.2.3.4/8/8",
        "ALL", "all/8", "::1/0128", "1:2:3:4:5:6:7:8:9",
    };
    pc_http_cidr_t c;
    size_t i;

    for (i = 0; i < pc_nelems(good); i++)
        is_int(cidr_parse(good[i], &c, 1), PC_OK,
               "parses \"%s\"", good[i]);
    for (i = 0; i < pc_nelems(bad); i++)
        is_int(cidr_parse(bad[i], &c, 1), PC_ERROR,
               "rejects \"%s\"", bad[i]);
    is_int(cidr_parse("all", &c, 0), PC_ERROR,
           "\"all\" rejected when not allowed");
    is_int(pc_http_cidr_parse(NULL, &c, 1), PC_ERROR, "NULL rejected");

    cidr_parse("10.1.2.3/8", &c, 1);
    is_int(c.prefix, 8, "prefix kept");
    ok(((struct sockaddr_in *) &c.addr)->sin_addr.s_addr == htonl(0x0a000000),
       "host bits cleared (10.1.2.3/8 = 10.0.0.0/8)");
    cidr_parse("2001:db8::1/125", &c, 1);
    ok(((struct sockaddr_in6 *) &c.addr)->sin6_addr.s6_addr[15] == 0,
       "IPv6 host bits cleared");
    cidr_parse("::1", &c, 1);
    is_int(c.prefix, 128, "bare IPv6 address is /128");
    cidr_parse("1.2.3.4", &c, 1);
    is_int(c.prefix, 32, "bare IPv4 address is /32");
    ok(!c.deny && !c.all, "deny/all flags start clear");
}

static void
test_match(void)
{
    ok(match("0.0.0.0/0", "203.0.113.9"), "/0 matches any IPv4");
    ok(!match("0.0.0.0/0", "::1"), "IPv4 /0 does not match IPv6");
    ok(match("::/0", "2001:db8::1"), "::/0 matches any IPv6");
    ok(!match("::/0", "10.0.0.1"), "IPv6 /0 does not match IPv4");
    ok(match("10.0.0.0/8", "10.255.255.255"), "last address of /8");
    ok(!match("10.0.0.0/8", "11.0.0.0"), "first address after /8");
    ok(!match("10.0.0.0/8", "9.255.255.255"), "last address before /8");
    ok(match("192.168.1.1/32", "192.168.1.1"), "/32 matches itself");
    ok(!match("192.168.1.1/32", "192.168.1.2"), "/32 only itself");
    ok(match("192.168.1.0/25", "192.168.1.127"), "/25 upper edge");
    ok(!match("192.168.1.0/25", "192.168.1.128"), "/25 beyond edge");
    ok(match("192.168.0.0/23", "192.168.1.200"), "/23 spans two /24s");
    ok(match("::1/128", "::1"), "/128 matches itself");
    ok(!match("::1/128", "::2"), "/128 only itself");
    ok(match("2001:db8::/32", "2001:db8:ffff::1"), "IPv6 /32");
    ok(!match("2001:db8::/32", "2001:db9::1"), "IPv6 /32 boundary");
    ok(match("2001:db8::/127", "2001:db8::1"), "/127 odd bit");
    ok(!match("2001:db8::/127", "2001:db8::2"), "/127 boundary");
    ok(match("10.0.0.0/8", "::ffff:10.1.2.3"), "IPv4-mapped peer matches IPv4 rule");
    ok(!match("10.0.0.0/8", "::ffff:11.1.2.3"), "IPv4-mapped peer outside IPv4 rule");
    ok(match("::ffff:0:0/96", "::ffff:10.1.2.3"), "IPv4-mapped peer matches an IPv6 rule too");
    ok(match("all", "10.0.0.1") && match("all", "::1"), "all matches both families");
}

/* ---------------------------------------------------------------- hooks */

static pc_http_core_conf_t conf;
static void *confs[8];
static pc_conn_t conn;
static pc_http_request_t req;
static pc_http_header_t hdrs[8];
static u_char headbuf[512];

static void
add_rule(pc_array_t **list, const char *cidr, int deny)
{
    pc_http_cidr_t *c;

    if (*list == NULL) {
        *list = pc_palloc(pool, sizeof(pc_array_t));
        pc_array_init(*list, pool, 4, sizeof(pc_http_cidr_t));
    }
    c = pc_array_push(*list);
    cidr_parse(cidr, c, 1);
    c->deny = deny ? 1 : 0;
}

/* A request from peer carrying the given header lines ("Name: value"). */
static void
request(const char *peer, const char **lines, uint32_t n)
{
    size_t off = 0, len;
    const char *colon;
    uint32_t i;

    memset(&conn, 0, sizeof(conn));
    memset(&req, 0, sizeof(req));
    {
        struct sockaddr_storage ss = addr_of(peer);

        memcpy(&conn.peer, &ss, sizeof(conn.peer));
        memcpy(&req.remote, &ss, sizeof(ss));
    }
    req.c = &conn;
    req.pool = pool;
    req.loc_conf = confs;
    req.remotelen = sizeof(struct sockaddr_in6);
    req.remote_addr = S(peer);
    req.head_buf = headbuf;
    req.head.headers = hdrs;
    for (i = 0; i < n; i++) {
        len = strlen(lines[i]);
        colon = strchr(lines[i], ':');
        memcpy(headbuf + off, lines[i], len);
        hdrs[i].name = (uint32_t) off;
        hdrs[i].name_len = (uint32_t) (colon - lines[i]);
        hdrs[i].value = (uint32_t) (off + (size_t) (colon - lines[i]) + 2);
        hdrs[i].value_len = (uint32_t) (len - (size_t) (colon - lines[i]) - 2);
        off += len;
    }
    req.head.nheaders = n;
}

static void
test_access_hook(void)
{
    memset(&conf, 0, sizeof(conf));
    confs[pc_http_core_module.index] = &conf;

    request("10.0.0.1", NULL, 0);
    is_int(pc_http_access_handler(&req), PC_DECLINED, "no rules: declined");

    add_rule(&conf.access, "10.0.0.1", 0);
    add_rule(&conf.access, "10.0.0.0/8", 1);
    add_rule(&conf.access, "2001:db8::/32", 0);
    add_rule(&conf.access, "all", 1);
    request("10.0.0.1", NULL, 0);
    is_int(pc_http_access_handler(&req), PC_DECLINED, "first match (allow) wins over a later deny");
    request("10.0.0.2", NULL, 0);
    is_int(pc_http_access_handler(&req), 403, "deny 10/8 → 403");
    ok(req.error_reason != NULL, "reason recorded for the log");
    request("2001:db8::5", NULL, 0);
    is_int(pc_http_access_handler(&req), PC_DECLINED, "IPv6 allow");
    request("192.0.2.1", NULL, 0);
    is_int(pc_http_access_handler(&req), 403, "deny all catches the rest");
    request("::ffff:10.0.0.1", NULL, 0);
    is_int(pc_http_access_handler(&req), PC_DECLINED, "IPv4-mapped peer allowed by IPv4 rule");

    conf.access = NULL;
    add_rule(&conf.access, "10.0.0.0/8", 0);
    request("192.0.2.1", NULL, 0);
    is_int(pc_http_access_handler(&req), PC_DECLINED, "no rule matched: allowed (nginx)");
}

static void
check_realip(const char *peer, const char **lines, uint32_t n, const char *want,
    const char *name)
{
    request(peer, lines, n);
    is_int(pc_http_realip_handler(&req), PC_DECLINED, "%s: hook declines", name);
    is_str(req.remote_addr.data, req.remote_addr.len, want, strlen(want), "%s", name);
}

static void
test_realip_hook(void)
{
    static const char *xff[] = { "Host: a", "X-Forwarded-For: 203.0.113.7, 198.51.100.2" };
    static const char *two[] = { "X-Forwarded-For: 1.1.1.1",
                                 "x-forwarded-for: 2.2.2.2 , 3.3.3.3 " };
    static const char *v6[] = { "X-Forwarded-For: [2001:db8::7]" };
    static const char *junk[] = { "X-Forwarded-For: 1.2.3.4, unknown" };
    static const char *empty[] = { "X-Forwarded-For: 1.2.3.4," };
    static const char *xri[] = { "X-Real-IP: 203.0.113.9" };

    memset(&conf, 0, sizeof(conf));
    confs[pc_http_core_module.index] = &conf;
    conf.real_ip_header = S("X-Forwarded-For");

    check_realip("10.0.0.1", xff, 2, "10.0.0.1", "no set_real_ip_from: peer kept");
    add_rule(&conf.real_ip_from, "10.0.0.0/8", 0);
    check_realip("192.0.2.1", xff, 2, "192.0.2.1", "untrusted peer: header ignored");
    check_realip("10.0.0.1", xff, 2, "198.51.100.2", "trusted peer: last XFF address");
    ok(req.remote.ss_family == AF_INET && req.remote_port == 0, "r->remote updated, port 0");
    ok(((struct sockaddr_in *) &req.remote)->sin_addr.s_addr == inet_addr("198.51.100.2"),
       "r->remote holds the address");
    check_realip("10.0.0.1", two, 2, "3.3.3.3", "several fields: the last one's last address");
    check_realip("10.0.0.1", v6, 1, "2001:db8::7", "bracketed IPv6");
    check_realip("10.0.0.1", junk, 1, "10.0.0.1", "not an address: peer kept");
    check_realip("10.0.0.1", empty, 1, "10.0.0.1", "empty last element: peer kept");
    check_realip("10.0.0.1", NULL, 0, "10.0.0.1", "no header: peer kept");
    check_realip("::ffff:10.9.9.9", xff, 2, "198.51.100.2", "IPv4-mapped trusted peer");
    conf.real_ip_header = S("X-Real-IP");
    check_realip("10.0.0.1", xri, 1, "203.0.113.9", "X-Real-IP");
}

int
main(void)
{
    pc_modules_init();
    pool = pc_pool_create(4096);
    test_parse();
    test_match();
    test_access_hook();
    test_realip_hook();
    pc_pool_destroy(pool);
    return done_testing();
}
