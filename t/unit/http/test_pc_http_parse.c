/*
 * Unit tests for src/http/pc_http_parse.c: every SPEC §8 rule with a
 * positive and a negative vector, every limit at max and max + 1, and, for
 * every vector, the incremental property: feeding the bytes one at a time or
 * split at any point gives exactly the head that feeding them at once gives.
 */
#include <stdlib.h>

#include "core/pc_types.h"
#include "http/pc_http_parse.h"
#include "test.h"
/* run_t, NHDRS and split_head_diff: the comparison the fuzzers make */
#include "../../fuzz/split.h"

typedef struct {
    const char *in;
    size_t len;
} bytes_t;

#define B(s)                                                                                       \
    {                                                                                              \
        (s), sizeof(s) - 1                                                                         \
    }

/* What a test vector runs with. */
typedef struct {
    int response;
    pc_http_method_e req_method;
    const pc_http_limits_t *limits;
    uint32_t cap;
} opts_t;

static const pc_http_limits_t small_limits = {32, 24, 128};

static void
start(run_t *r, const opts_t *o)
{
    pc_http_parser_init(&r->p, &r->h, r->hdrs, o->cap ? o->cap : NHDRS, o->limits);
    r->rc = PC_AGAIN;
}

static pc_rc_t
feed(run_t *r, const opts_t *o, const u_char *buf, size_t len)
{
    r->rc = o->response ? pc_http_parse_response(&r->p, buf, len, o->req_method)
                        : pc_http_parse_request(&r->p, buf, len);
    return r->rc;
}

static void
parse_whole(run_t *r, const opts_t *o, const u_char *buf, size_t len)
{
    start(r, o);
    feed(r, o, buf, len);
}

/*
 * The incremental property for one input: one byte at a time (each step
 * compared with a fresh parse of the same prefix), and every two-part split.
 */
static void
check_incremental(
    const char *name, const opts_t *o, const u_char *buf, size_t len, const run_t *whole)
{
    static run_t inc, fresh, split;
    const char *why = NULL;
    size_t k, at = 0;

    start(&inc, o);
    for (k = 0; k <= len && why == NULL; k++) {
        feed(&inc, o, buf, k);
        parse_whole(&fresh, o, buf, k);
        why = split_head_diff(&inc, &fresh);
        at = k;
    }
    if (why == NULL) {
        why = split_head_diff(&inc, whole);
    }
    ok(why == NULL, "%s: byte by byte == whole", name);
    if (why != NULL) {
        diag("first difference in %s after %zu bytes", why, at);
    }
    why = NULL;
    for (k = 0; k <= len && why == NULL; k++) {
        start(&split, o);
        feed(&split, o, buf, k);
        feed(&split, o, buf, len);
        why = split_head_diff(&split, whole);
        at = k;
    }
    ok(why == NULL, "%s: split anywhere == whole", name);
    if (why != NULL) {
        diag("first difference in %s when split at %zu", why, at);
    }
}

/* Parse a vector whole, check rc and status, then the incremental property.
 * The result stays in *r for further checks. */
static void
vec(run_t *r, const opts_t *o, const char *name, bytes_t in, pc_rc_t rc, int status)
{
    const u_char *buf = (const u_char *) in.in;

    parse_whole(r, o, buf, in.len);
    is_int(r->rc, rc, "%s: rc", name);
    if (rc == PC_ERROR) {
        is_int(r->h.error_status, status, "%s: status %d (%s)", name, status,
            r->h.error ? r->h.error : "-");
    } else if (rc == PC_OK) {
        ok(r->h.head_len <= in.len, "%s: head_len within input", name);
    }
    check_incremental(name, o, buf, in.len, r);
}

static const opts_t req = {0, PC_HTTP_UNKNOWN, NULL, 0};
static const opts_t req_small = {0, PC_HTTP_UNKNOWN, &small_limits, 4};

#define REQ(name, s, rc, st)                                                                       \
    do {                                                                                           \
        bytes_t in_ = B(s);                                                                        \
        vec(&r, &req, name, in_, rc, st);                                                          \
    } while (0)
#define BAD(name, s, st) REQ(name, s, PC_ERROR, st)
#define GOOD(name, s)    REQ(name, s, PC_OK, 0)

/* The text of a field of the last parse. */
#define FIELD(s, off, len) ((const u_char *) (s) + (off)), (len)
#define is_strx(...)       is_str(__VA_ARGS__) /* lets FIELD() expand first */

static run_t r;

static void
test_basic_request(void)
{
    static const char in[] = "GET /index.html?a=1&b=2 HTTP/1.1\r\n"
                             "Host: example.com\r\n"
                             "User-Agent: curl/8.0\r\n"
                             "Accept: */*\r\n"
                             "\r\n";
    const pc_http_header_t *f;

    GOOD("basic GET", in);
    is_int(r.h.method, PC_HTTP_GET, "method GET");
    is_strx(FIELD(in, r.h.method_off, r.h.method_len), "GET", 3, "method text");
    is_strx(FIELD(in, r.h.target_off, r.h.target_len), "/index.html?a=1&b=2", 19, "target");
    is_strx(FIELD(in, r.h.path_off, r.h.path_len), "/index.html", 11, "path");
    ok(r.h.has_query, "has_query");
    is_strx(FIELD(in, r.h.query_off, r.h.query_len), "a=1&b=2", 7, "query");
    is_strx(FIELD(in, r.h.host_off, r.h.host_len), "example.com", 11, "host");
    ok(r.h.has_host, "has_host");
    ok(!r.h.absolute_form, "not absolute-form");
    is_int(r.h.version, 11, "version 11");
    is_int(r.h.body, PC_HTTP_BODY_NONE, "no body");
    is_int(r.h.content_length, -1, "content_length -1");
    ok(!r.h.conn_close, "1.1 keeps the connection");
    is_int(r.h.nheaders, 3, "3 headers");
    is_int(r.h.head_len, sizeof(in) - 1, "head_len is the whole input");
    f = pc_http_head_find(&r.h, PC_HTTP_H_USER_AGENT);
    ok(f == &r.h.headers[1], "find User-Agent by id");
    if (f != NULL) {
        is_strx(FIELD(in, f->name, f->name_len), "User-Agent", 10, "UA name");
        is_strx(FIELD(in, f->value, f->value_len), "curl/8.0", 8, "UA value");
    }
    ok(pc_http_head_find(&r.h, PC_HTTP_H_COOKIE) == NULL, "no Cookie");
    ok(pc_http_head_find(&r.h, PC_HTTP_H_OTHER) == NULL, "OTHER not found");
    ok(pc_http_head_find_name(&r.h, (const u_char *) in, (const u_char *) "aCCept", 6)
            == &r.h.headers[2],
        "find Accept by name, any case");
    ok(pc_http_head_find_name(&r.h, (const u_char *) in, (const u_char *) "HOST", 4)
            == &r.h.headers[0],
        "find Host by name");
    ok(pc_http_head_find_name(&r.h, (const u_char *) in, (const u_char *) "Accep", 5) == NULL,
        "prefix of a name is not the name");
    ok(pc_http_head_find_name(&r.h, (const u_char *) in, (const u_char *) "Cookie", 6) == NULL,
        "absent name");
    is_int(r.h.idx[PC_HTTP_H_HOST], 1, "idx[HOST] = 1");
    is_int(r.h.idx[PC_HTTP_H_USER_AGENT], 2, "idx[USER_AGENT] = 2");
    is_int(r.h.headers[2].id, PC_HTTP_H_OTHER, "Accept is OTHER");
}

static void
test_line_ends(void)
{
    static const char lf[] = "GET / HTTP/1.1\nHost: a\n\n";
    static const char mixed[] = "GET / HTTP/1.1\r\nHost: a\n\r\n";

    GOOD("bare LF line ends", lf);
    is_int(r.h.head_len, sizeof(lf) - 1, "LF: head_len");
    GOOD("mixed line ends", mixed);
    is_int(r.h.head_len, sizeof(mixed) - 1, "mixed: head_len");
    BAD("bare CR in request line", "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("bare CR ends request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400);
    BAD("bare CR in value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400);
    BAD("bare CR ends header", "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", 400);
    BAD("bare CR as blank line", "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", 400);
    BAD("CR CR LF", "GET / HTTP/1.1\r\r\n", 400);
    REQ("CR at the end waits", "GET / HTTP/1.1\r", PC_AGAIN, 0);
    REQ("empty input", "", PC_AGAIN, 0);
    REQ("one byte", "G", PC_AGAIN, 0);
    REQ("one CR", "\r", PC_AGAIN, 0);
    REQ("one LF", "\n", PC_AGAIN, 0);
    BAD("one NUL", "\0", 400);
    BAD("one SP", " \r\n", 400);
    REQ("head without blank line", "GET / HTTP/1.1\r\nHost: a\r\n", PC_AGAIN, 0);
}

static void
test_leading_empty_lines(void)
{
    static const char four[] = "\r\n\n\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";

    GOOD("4 empty lines skipped", four);
    is_int(r.h.method_off, 6, "method after the empty lines");
    is_int(r.h.head_len, sizeof(four) - 1, "empty lines count in head_len");
    BAD("5 empty lines", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("bare CR before request", "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("whitespace line before request", " \r\nGET / HTTP/1.1\r\n\r\n", 400);
}

static void
test_method(void)
{
    static const struct {
        const char *in;
        pc_http_method_e m;
    } ms[] = {
        {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", PC_HTTP_GET},
        {"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", PC_HTTP_HEAD},
        {"POST / HTTP/1.1\r\nHost: a\r\n\r\n", PC_HTTP_POST},
        {"PUT / HTTP/1.1\r\nHost: a\r\n\r\n", PC_HTTP_PUT},
        {"DELETE / HTTP/1.1\r\nHost: a\r\n\r\n", PC_HTTP_DELETE},
        {"OPTIONS / HTTP/1.1\r\nHost: a\r\n\r\n", PC_HTTP_OPTIONS},
        {"PATCH / HTTP/1.1\r\nHost: a\r\n\r\n", PC_HTTP_PATCH},
        {"TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", PC_HTTP_TRACE},
        {"CONNECT a:1 HTTP/1.1\r\nHost: a\r\n\r\n", PC_HTTP_CONNECT},
        {"get / HTTP/1.1\r\nHost: a\r\n\r\n", PC_HTTP_UNKNOWN},
        {"Get / HTTP/1.1\r\nHost: a\r\n\r\n", PC_HTTP_UNKNOWN},
        {"GETS / HTTP/1.1\r\nHost: a\r\n\r\n", PC_HTTP_UNKNOWN},
        {"PUX / HTTP/1.1\r\nHost: a\r\n\r\n", PC_HTTP_UNKNOWN},
        {"PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n", PC_HTTP_UNKNOWN},
        {"M-SEARCH / HTTP/1.1\r\nHost: a\r\n\r\n", PC_HTTP_UNKNOWN},
        {"X!#$%&'*+-.^_`|~9 / HTTP/1.1\r\nHost: a\r\n\r\n", PC_HTTP_UNKNOWN},
    };
    size_t i;

    for (i = 0; i < pc_nelems(ms); i++) {
        bytes_t in = {ms[i].in, strlen(ms[i].in)};

        vec(&r, &req, ms[i].in, in, PC_OK, 0);
        is_int(r.h.method, ms[i].m, "method of %.8s", ms[i].in);
    }
    is_str(pc_http_method_name(PC_HTTP_GET), 3, "GET", 3, "name of GET");
    is_str(pc_http_method_name(PC_HTTP_CONNECT), 7, "CONNECT", 7, "name of CONNECT");
    ok(pc_http_method_name(PC_HTTP_UNKNOWN) == NULL, "UNKNOWN has no name");
    ok(pc_http_method_name((pc_http_method_e) 99) == NULL, "out of range");

    BAD("empty method", " / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("method with (", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("method with NUL", "G\0T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("method then HTAB", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("method only", "GET\r\nHost: a\r\n\r\n", 400);
    BAD("method with 8-bit byte", "G\xc3\xa9T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

static void
test_request_line_shape(void)
{
    BAD("two spaces after method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("two spaces before version", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400);
    BAD("no version (HTTP/0.9)", "GET /\r\n\r\n", 400);
    BAD("empty version", "GET / \r\nHost: a\r\n\r\n", 400);
    BAD("lower-case http", "GET / http/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("HTTP/1", "GET / HTTP/1\r\nHost: a\r\n\r\n", 400);
    BAD("HTTP/1.10", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400);
    BAD("HTTP/11", "GET / HTTP/11\r\nHost: a\r\n\r\n", 400);
    BAD("HTTP/a.b", "GET / HTTP/a.b\r\nHost: a\r\n\r\n", 400);
    BAD("HTTPS/1.1", "GET / HTTPS/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("HTTP/1.1 in the middle", "GET / HTTP/1.1 x\r\nHost: a\r\n\r\n", 400);
    BAD("HTTP/1,1", "GET / HTTP/1,1\r\nHost: a\r\n\r\n", 400);
    BAD("HTTP/2.0 is 505", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
    BAD("HTTP/1.2 is 505", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505);
    BAD("HTTP/3.0 is 505", "GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505);
    BAD("HTTP/0.9 is 505", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505);
    BAD("h2 preface is 505", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505);
    GOOD("HTTP/1.0", "GET / HTTP/1.0\r\n\r\n");
    is_int(r.h.version, 10, "version 10");
}

static void
test_target(void)
{
    static const char abs[] = "GET http://Example.COM:8080/p/q?x=y HTTP/1.1\r\nHost: other\r\n\r\n";
    static const char abs_np[] = "GET HTTPS://h.example HTTP/1.1\r\nHost: h\r\n\r\n";
    static const char abs_q[] = "GET http://h?q=1 HTTP/1.1\r\nHost: h\r\n\r\n";
    static const char ast[] = "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n";
    static const char con[] = "CONNECT h.example:443 HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char v6[] = "GET http://[::1]:8443/ HTTP/1.1\r\nHost: a\r\n\r\n";
    static const char q[] = "GET /?  HTTP/1.1\r\n";

    GOOD("absolute-form", abs);
    ok(r.h.absolute_form, "absolute_form set");
    is_strx(
        FIELD(abs, r.h.host_off, r.h.host_len), "Example.COM:8080", 16, "authority wins over Host");
    is_strx(FIELD(abs, r.h.path_off, r.h.path_len), "/p/q", 4, "abs path");
    is_strx(FIELD(abs, r.h.query_off, r.h.query_len), "x=y", 3, "abs query");
    GOOD("absolute-form without path", abs_np);
    is_int(r.h.path_len, 0, "no path: path_len 0 (means /)");
    is_int(r.h.path_off, 21, "path_off at the end of the authority");
    is_strx(FIELD(abs_np, r.h.host_off, r.h.host_len), "h.example", 9, "https authority");
    GOOD("absolute-form with query only", abs_q);
    is_int(r.h.path_len, 0, "query only: empty path");
    is_strx(FIELD(abs_q, r.h.query_off, r.h.query_len), "q=1", 3, "query");
    GOOD("absolute-form IPv6", v6);
    is_strx(FIELD(v6, r.h.host_off, r.h.host_len), "[::1]:8443", 10, "IPv6 authority");
    GOOD("asterisk-form", ast);
    is_strx(FIELD(ast, r.h.path_off, r.h.path_len), "*", 1, "path *");
    GOOD("authority-form", con);
    is_strx(FIELD(con, r.h.host_off, r.h.host_len), "h.example:443", 13,
        "CONNECT authority wins over Host");
    is_int(r.h.path_len, 0, "CONNECT: empty path");
    ok(!r.h.absolute_form, "CONNECT is not absolute-form");
    GOOD("empty query", "GET /? HTTP/1.1\r\nHost: a\r\n\r\n");
    ok(r.h.has_query, "has_query with empty query");
    is_int(r.h.query_len, 0, "empty query length");
    GOOD("query with ? and /", "GET /a?b?c/d HTTP/1.1\r\nHost: a\r\n\r\n");
    is_int(r.h.path_len, 2, "path stops at the first ?");
    is_int(r.h.query_len, 5, "the rest is the query");
    GOOD("all VCHARs but #", "GET /!\"$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~"
                             " HTTP/1.1\r\nHost: a\r\n\r\n");
    BAD("two spaces after empty query", q, 400);
    BAD("space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("HTAB in target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("DEL in target", "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("8-bit in target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("control in target", "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("# in target", "GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("relative target", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("* for GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("*x for OPTIONS", "OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("ftp scheme", "GET ftp://h/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("http:/ only", "GET http:/h/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("http:// empty authority", "GET http:/// HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("http:// alone", "GET http:// HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("userinfo in authority", "GET http://u:p@h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    BAD("bad port in authority", "GET http://h:x/ HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    BAD("CONNECT origin-form", "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("CONNECT without port", "CONNECT h HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("CONNECT absolute-form", "CONNECT http://h:1/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("authority-form for GET", "GET h:80 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

static void
test_host(void)
{
    static const char *const good[] = {
        "a",
        "example.com",
        "EXAMPLE.com.",
        "a-b_c.d",
        "127.0.0.1",
        "host:0",
        "host:65535",
        "a:",
        "a.b.:",
        "127.0.0.1:",
        "[::1]",
        "[::1]:80",
        "[2001:db8::1]",
        "[::ffff:1.2.3.4]:443",
        "xn--bcher-kva.example",
    };
    static const char *const bad[] = {
        "a b",
        "a@b",
        "u@h:80",
        ".a",
        "a..b",
        ":",
        ":80",
        "a::",
        "a:65536",
        "a:123456",
        "a:1x",
        "a:-1",
        "[::1",
        "[]",
        "[]:80",
        "[zz::1]",
        "[1.2.3.4]",
        "[::1]x",
        "[::1]::",
        "a/b",
        "a%20b",
        "a,b",
        "\"a\"",
        "a:80:80",
        "[::1%25eth0]",
    };
    char buf[128];
    size_t i;
    int n;

    for (i = 0; i < pc_nelems(good); i++) {
        bytes_t in;

        n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", good[i]);
        in.in = buf;
        in.len = (size_t) n;
        vec(&r, &req, good[i], in, PC_OK, 0);
        is_strx(FIELD(buf, r.h.host_off, r.h.host_len), good[i], strlen(good[i]), "host is %s",
            good[i]);
    }
    for (i = 0; i < pc_nelems(bad); i++) {
        bytes_t in;

        n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", bad[i]);
        in.in = buf;
        in.len = (size_t) n;
        vec(&r, &req, bad[i], in, PC_ERROR, 400);
    }
    GOOD("Host with OWS", "GET / HTTP/1.1\r\nHost: \t a.b \t\r\n\r\n");
    is_int(r.h.host_len, 3, "Host value trimmed");
    BAD("missing Host in 1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400);
    BAD("missing Host, absolute-form", "GET http://h/ HTTP/1.1\r\n\r\n", 400);
    BAD("two Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400);
    BAD("two Host, differing case", "GET / HTTP/1.1\r\nHost: a\r\nhOST: b\r\n\r\n", 400);
    BAD("empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 400);
    BAD("blank Host", "GET / HTTP/1.1\r\nHost:   \r\n\r\n", 400);
    GOOD("empty Host with absolute-form", "GET http://h/ HTTP/1.1\r\nHost:\r\n\r\n");
    is_int(r.h.host_len, 1, "authority used");
    BAD("invalid Host with absolute-form", "GET http://h/ HTTP/1.1\r\nHost: a@b\r\n\r\n", 400);
    GOOD("empty Host with CONNECT", "CONNECT h:1 HTTP/1.1\r\nHost:\r\n\r\n");
    is_int(r.h.host_len, 3, "CONNECT authority used");
    GOOD("Host with empty port and OWS", "GET / HTTP/1.1\r\nHost: a: \r\n\r\n");
    is_int(r.h.host_len, 2, "empty port: Host value a:");
    GOOD("IPv6 Host with empty port", "GET / HTTP/1.1\r\nHost: [::1]:\r\n\r\n");
    GOOD("absolute-form with empty port", "GET http://h:/x HTTP/1.1\r\nHost: h\r\n\r\n");
    is_int(r.h.host_len, 2, "absolute-form authority h:");
    is_int(r.h.path_len, 2, "absolute-form path after h:");
    BAD("CONNECT with empty port", "CONNECT h: HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    BAD("CONNECT IPv6 with empty port", "CONNECT [::1]: HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    GOOD("1.0 without Host", "GET / HTTP/1.0\r\n\r\n");
    ok(!r.h.has_host, "1.0: has_host 0");
    BAD("1.0 with two Host", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    BAD("1.0 with invalid Host", "GET / HTTP/1.0\r\nHost: a b\r\n\r\n", 400);
}

static void
test_header_syntax(void)
{
    static const char ows[] = "GET / HTTP/1.1\r\nHost: a\r\nX-A: \t v  w \t\r\n"
                              "X-B:\r\nX-C:   \r\nX-D:x\r\n\r\n";
    static const char text[] = "GET / HTTP/1.1\r\nHost: a\r\n"
                               "X: caf\xc3\xa9 \x80\xff\r\n\r\n";

    GOOD("OWS trimmed", ows);
    is_strx(FIELD(ows, r.h.headers[1].value, r.h.headers[1].value_len), "v  w", 4,
        "inner whitespace kept, outer trimmed");
    is_int(r.h.headers[2].value_len, 0, "empty value");
    is_int(r.h.headers[3].value_len, 0, "blank value");
    is_int(r.h.headers[3].value, r.h.headers[3].name + 7, "blank value points after the OWS");
    is_strx(FIELD(ows, r.h.headers[4].value, r.h.headers[4].value_len), "x", 1, "no OWS");
    GOOD("obs-text in value", text);
    is_int(r.h.headers[1].value_len, 8, "obs-text kept");
    GOOD("token name chars", "GET / HTTP/1.1\r\nHost: a\r\n"
                             "!#$%&'*+-.^_`|~09azAZ: x\r\n\r\n");
    BAD("obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400);
    BAD("obs-fold with HTAB", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", 400);
    BAD("first header starts with SP", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400);
    BAD("first header starts with HTAB", "GET / HTTP/1.1\r\n\tHost: a\r\n\r\n", 400);
    BAD("SP before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400);
    BAD("HTAB before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400);
    BAD("SP before colon, other field", "GET / HTTP/1.1\r\nHost: a\r\nX-Y : b\r\n\r\n", 400);
    BAD("empty name", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400);
    BAD("no colon", "GET / HTTP/1.1\r\nHost: a\r\nXYZ\r\n\r\n", 400);
    BAD("( in name", "GET / HTTP/1.1\r\nHost: a\r\nX(Y: b\r\n\r\n", 400);
    BAD("8-bit in name", "GET / HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: b\r\n\r\n", 400);
    BAD("/ in name", "GET / HTTP/1.1\r\nHost: a\r\nX/Y: b\r\n\r\n", 400);
    BAD("NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 400);
    BAD("NUL in name", "GET / HTTP/1.1\r\nHost: a\r\nX\0: b\r\n\r\n", 400);
    BAD("NUL in target", "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("NUL alone on a line", "GET / HTTP/1.1\r\nHost: a\r\n\0\r\n\r\n", 400);
    BAD("NUL after blank line? no: first after request line", "GET / HTTP/1.1\r\n\0", 400);
    BAD("0x01 in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01\r\n\r\n", 400);
    BAD("0x1f in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x1f\r\n\r\n", 400);
    BAD("VT in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\vb\r\n\r\n", 400);
    BAD("FF in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\fb\r\n\r\n", 400);
    BAD("DEL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", 400);
    BAD("ESC in value", "GET / HTTP/1.1\r\nHost: a\r\nX: \x1b[0m\r\n\r\n", 400);
    GOOD("HTAB in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\tb\r\n\r\n");
}

static void
test_content_length(void)
{
    static const char post[] = "POST / HTTP/1.1\r\nHost: a\r\n"
                               "Content-Length: 5\r\n\r\nhello";

    GOOD("Content-Length", post);
    is_int(r.h.body, PC_HTTP_BODY_LENGTH, "CL: body LENGTH");
    is_int(r.h.content_length, 5, "CL: 5");
    is_int(r.h.head_len, sizeof(post) - 6, "body not in the head");
    GOOD("CL 0", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    is_int(r.h.body, PC_HTTP_BODY_LENGTH, "CL 0: body LENGTH");
    is_int(r.h.content_length, 0, "CL 0: 0");
    GOOD("CL leading zeros", "POST / HTTP/1.1\r\nHost: a\r\n"
                             "content-length: 007\r\n\r\n");
    is_int(r.h.content_length, 7, "CL 007 is 7");
    GOOD("CL 2^62", "POST / HTTP/1.1\r\nHost: a\r\n"
                    "Content-Length: 4611686018427387904\r\n\r\n");
    is_int(r.h.content_length, (int64_t) 1 << 62, "CL at the cap");
    BAD("CL 2^62+1",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Content-Length: 4611686018427387905\r\n\r\n",
        400);
    BAD("CL 2^63",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Content-Length: 9223372036854775808\r\n\r\n",
        400);
    BAD("CL 2^64+1",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Content-Length: 18446744073709551617\r\n\r\n",
        400);
    BAD("CL 40 digits",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: "
        "9999999999999999999999999999999999999999\r\n\r\n",
        400);
    GOOD("CL with OWS", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  12 \r\n\r\n");
    is_int(r.h.content_length, 12, "CL 12");
    GOOD("repeated identical CL", "POST / HTTP/1.1\r\nHost: a\r\n"
                                  "Content-Length: 3\r\nContent-Length: 3\r\n\r\n");
    is_int(r.h.content_length, 3, "collapsed");
    GOOD("repeated equal CL 3 / 003", "POST / HTTP/1.1\r\nHost: a\r\n"
                                      "Content-Length: 3\r\nContent-Length: 003\r\n\r\n");
    BAD("differing CL",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Content-Length: 3\r\nContent-Length: 4\r\n\r\n",
        400);
    BAD("CL list of equal values",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Content-Length: 3, 3\r\n\r\n",
        400);
    BAD("CL list of differing values",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Content-Length: 3,4\r\n\r\n",
        400);
    BAD("empty CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400);
    BAD("CL -1", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400);
    BAD("CL +1", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", 400);
    BAD("CL hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", 400);
    BAD("CL 1 2", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", 400);
    BAD("CL 1.0", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1.0\r\n\r\n", 400);
    BAD("CL 1e3", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1e3\r\n\r\n", 400);
    GOOD("no body", "POST / HTTP/1.1\r\nHost: a\r\n\r\n");
    is_int(r.h.body, PC_HTTP_BODY_NONE, "no CL: body NONE");
    is_int(r.h.content_length, -1, "no CL: -1");
}

static void
test_transfer_encoding(void)
{
    GOOD("chunked", "POST / HTTP/1.1\r\nHost: a\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n");
    is_int(r.h.body, PC_HTTP_BODY_CHUNKED, "body CHUNKED");
    is_int(r.h.content_length, -1, "chunked: content_length -1");
    GOOD("Chunked, any case", "POST / HTTP/1.1\r\nHost: a\r\n"
                              "transfer-encoding:  CHUNKED \r\n\r\n");
    is_int(r.h.body, PC_HTTP_BODY_CHUNKED, "CHUNKED is chunked");
    BAD("CL and TE",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        400);
    BAD("TE and CL",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        400);
    BAD("TE in HTTP/1.0",
        "POST / HTTP/1.0\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        400);
    BAD("gzip alone",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: gzip\r\n\r\n",
        400);
    BAD("identity alone",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: identity\r\n\r\n",
        400);
    BAD("chunked, gzip",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: chunked, gzip\r\n\r\n",
        400);
    BAD("chunked, chunked",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: chunked, chunked\r\n\r\n",
        400);
    BAD("chunked twice in two fields",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        400);
    BAD("gzip, chunked is 501",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: gzip, chunked\r\n\r\n",
        501);
    BAD("x-gzip, deflate, chunked is 501",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: x-gzip, deflate,compress, x-compress, chunked"
        "\r\n\r\n",
        501);
    BAD("gzip then chunked in two fields is 501",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        501);
    BAD("unknown coding is 501",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: foo\r\n\r\n",
        501);
    BAD("foo, chunked is 501",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: foo, chunked\r\n\r\n",
        501);
    BAD("chunkedx is 501",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: chunkedx\r\n\r\n",
        501);
    BAD("empty TE",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding:\r\n\r\n",
        400);
    /* RFC 9110 §5.6.1: empty list elements are accepted and ignored */
    GOOD("chunked, (empty)",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: chunked,\r\n\r\n");
    is_int(r.h.body, PC_HTTP_BODY_CHUNKED, "chunked, : body CHUNKED");
    GOOD(", chunked",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: , chunked\r\n\r\n");
    is_int(r.h.body, PC_HTTP_BODY_CHUNKED, ", chunked: body CHUNKED");
    GOOD(",chunked",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: ,chunked\r\n\r\n");
    is_int(r.h.body, PC_HTTP_BODY_CHUNKED, ",chunked: body CHUNKED");
    GOOD("chunked ,",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: chunked ,\r\n\r\n");
    is_int(r.h.body, PC_HTTP_BODY_CHUNKED, "chunked , : body CHUNKED");
    GOOD(" , ,chunked, ,",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding:  , ,chunked, ,\t,\r\n\r\n");
    is_int(r.h.body, PC_HTTP_BODY_CHUNKED, "several empty elements: body CHUNKED");
    GOOD("chunked then an empty TE field",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: ,\r\n\r\n");
    is_int(r.h.body, PC_HTTP_BODY_CHUNKED, "empty second field: body CHUNKED");
    /* ... and every other rule stays strict */
    BAD("only empty elements",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: , ,\r\n\r\n",
        400);
    BAD("chunked, , gzip",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: chunked, , gzip\r\n\r\n",
        400);
    BAD("chunked, , chunked",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: chunked,,chunked\r\n\r\n",
        400);
    BAD(", foo, chunked is 501",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: , foo, chunked\r\n\r\n",
        501);
    BAD(",gzip,,chunked is 501",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: ,gzip,,chunked\r\n\r\n",
        501);
    BAD(",chunked and CL",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
        "Transfer-Encoding: ,chunked\r\n\r\n",
        400);
    BAD("chunked , and CL",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: chunked ,\r\nContent-Length: 1\r\n\r\n",
        400);
    BAD(",chunked in HTTP/1.0",
        "POST / HTTP/1.0\r\n"
        "Transfer-Encoding: ,chunked\r\n\r\n",
        400);
    BAD("empty TE and CL",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
        "Transfer-Encoding: ,\r\n\r\n",
        400);
    BAD("chunked with parameter",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: chunked;a=b\r\n\r\n",
        400);
    BAD("quoted chunked",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: \"chunked\"\r\n\r\n",
        400);
    BAD("chunked with inner space",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: chun ked\r\n\r\n",
        400);
    BAD("TE + CL + HTTP/1.0",
        "POST / HTTP/1.0\r\nContent-Length: 1\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        400);
}

static void
test_connection(void)
{
    GOOD("Connection: close", "GET / HTTP/1.1\r\nHost: a\r\n"
                              "Connection: close\r\n\r\n");
    ok(r.h.conn_close, "close token");
    GOOD("Connection: CLOSE, TE", "GET / HTTP/1.1\r\nHost: a\r\n"
                                  "Connection: TE , CLOSE\r\n\r\n");
    ok(r.h.conn_close, "CLOSE token, any case, in a list");
    GOOD("Connection: keep-alive 1.1", "GET / HTTP/1.1\r\nHost: a\r\n"
                                       "Connection: keep-alive\r\n\r\n");
    ok(!r.h.conn_close && r.h.conn_keep_alive, "keep-alive token");
    GOOD("Connection: closed", "GET / HTTP/1.1\r\nHost: a\r\n"
                               "Connection: closed\r\n\r\n");
    ok(!r.h.conn_close, "closed is not close");
    GOOD("1.0 default closes", "GET / HTTP/1.0\r\n\r\n");
    ok(r.h.conn_close, "1.0 without keep-alive closes");
    GOOD("1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    ok(!r.h.conn_close && r.h.conn_keep_alive, "1.0 with keep-alive stays");
    GOOD("close wins over keep-alive", "GET / HTTP/1.0\r\n"
                                       "Connection: keep-alive, close\r\n\r\n");
    ok(r.h.conn_close, "close wins");
    GOOD("upgrade", "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
                    "Upgrade: websocket\r\n\r\n");
    ok(r.h.conn_upgrade && r.h.has_upgrade, "upgrade token and header");
    GOOD("two Connection fields", "GET / HTTP/1.1\r\nHost: a\r\n"
                                  "Connection: upgrade\r\nConnection: close\r\n\r\n");
    ok(r.h.conn_upgrade && r.h.conn_close, "both fields count");
    GOOD("empty Connection elements", "GET / HTTP/1.1\r\nHost: a\r\n"
                                      "Connection: , close,,\r\n\r\n");
    ok(r.h.conn_close, "empty elements ignored");
    BAD("Connection with inner space",
        "GET / HTTP/1.1\r\nHost: a\r\n"
        "Connection: clo se\r\n\r\n",
        400);
    BAD("Connection with ;",
        "GET / HTTP/1.1\r\nHost: a\r\n"
        "Connection: close;x\r\n\r\n",
        400);
    GOOD("Expect 100-continue", "POST / HTTP/1.1\r\nHost: a\r\n"
                                "Expect: 100-Continue\r\nContent-Length: 1\r\n\r\n");
    ok(r.h.expect_continue, "expect_continue");
    GOOD("Expect other", "POST / HTTP/1.1\r\nHost: a\r\nExpect: foo\r\n\r\n");
    ok(!r.h.expect_continue, "other expectation ignored");
    GOOD("Expect in 1.0", "POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n");
    ok(!r.h.expect_continue, "1.0: expect ignored");
}

static void
test_header_ids(void)
{
    static const struct {
        const char *name;
        pc_http_hdr_e id;
    } ids[] = {
        {"Host", PC_HTTP_H_HOST},
        {"content-length", PC_HTTP_H_CONTENT_LENGTH},
        {"TRANSFER-ENCODING", PC_HTTP_H_TRANSFER_ENCODING},
        {"Connection", PC_HTTP_H_CONNECTION},
        {"Keep-Alive", PC_HTTP_H_KEEP_ALIVE},
        {"Proxy-Connection", PC_HTTP_H_PROXY_CONNECTION},
        {"TE", PC_HTTP_H_TE},
        {"Trailer", PC_HTTP_H_TRAILER},
        {"Upgrade", PC_HTTP_H_UPGRADE},
        {"Expect", PC_HTTP_H_EXPECT},
        {"Cookie", PC_HTTP_H_COOKIE},
        {"User-Agent", PC_HTTP_H_USER_AGENT},
        {"Referer", PC_HTTP_H_REFERER},
        {"Content-Type", PC_HTTP_H_CONTENT_TYPE},
        {"Content-Encoding", PC_HTTP_H_CONTENT_ENCODING},
        {"X-Forwarded-For", PC_HTTP_H_X_FORWARDED_FOR},
        {"Date", PC_HTTP_H_DATE},
        {"Server", PC_HTTP_H_SERVER},
        {"Hosts", PC_HTTP_H_OTHER},
        {"Hos", PC_HTTP_H_OTHER},
        {"Data", PC_HTTP_H_OTHER},
        {"Content-Lengtx", PC_HTTP_H_OTHER},
        {"Content_Length", PC_HTTP_H_OTHER},
        {"Transfer_Encoding", PC_HTTP_H_OTHER},
        {"Xe", PC_HTTP_H_OTHER},
        {"Referrer", PC_HTTP_H_OTHER},
        {"Servex", PC_HTTP_H_OTHER},
        {"Proxy-Connectiox", PC_HTTP_H_OTHER},
        {"Keep-Alivf", PC_HTTP_H_OTHER},
        {"X-Forwarded-Fox", PC_HTTP_H_OTHER},
    };
    char buf[256];
    size_t i;

    for (i = 0; i < pc_nelems(ids); i++) {
        int n = snprintf(
            buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: h\r\nX: 1\r\n%s: 1\r\n\r\n", ids[i].name);
        const char *st;

        if (ids[i].id == PC_HTTP_H_HOST) {
            n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nX: 1\r\n%s: h\r\n\r\n", ids[i].name);
        }
        start(&r, &req);
        st = feed(&r, &req, (const u_char *) buf, (size_t) n) == PC_OK ? "ok" : r.h.error;
        is_int(r.h.headers[r.h.nheaders - 1].id, ids[i].id, "id of %s (%s)", ids[i].name, st);
        if (ids[i].id != PC_HTTP_H_OTHER) {
            is_int(r.h.idx[ids[i].id], r.h.nheaders, "idx of %s", ids[i].name);
            ok(pc_http_head_find_name(
                   &r.h, (const u_char *) buf, (const u_char *) ids[i].name, strlen(ids[i].name))
                    == &r.h.headers[r.h.nheaders - 1],
                "find_name %s", ids[i].name);
        }
    }
    GOOD("idx is the first of its id", "GET / HTTP/1.1\r\nHost: a\r\n"
                                       "Cookie: a\r\nX: y\r\ncookie: b\r\n\r\n");
    is_int(r.h.idx[PC_HTTP_H_COOKIE], 2, "first Cookie");
    is_int(r.h.nheaders, 4, "4 fields kept");
}

/*
 * A request head of exactly total bytes (after `empties` leading empty
 * lines) whose header lines all fit small_limits (24 bytes).
 */
static size_t
build_head(char *buf, int empties, size_t total)
{
    size_t n = 0, left, line;
    int i = 0;

    for (; empties > 0; empties--) {
        memcpy(buf + n, "\r\n", 2);
        n += 2;
    }
    memcpy(buf + n, "GET / HTTP/1.1\r\nHost: a\r\n", 25);
    n += 25;
    while ((left = total - 2 - n) > 0) {
        line = left > 26 ? 26 : left; /* "X: " value CRLF */
        if (left > 26 && left - 26 < 5) {
            line = left - 5; /* keep the last one >= 5 */
        }
        buf[n] = (char) ('A' + i++ % 26);
        memcpy(buf + n + 1, ": ", 2);
        memset(buf + n + 3, '1', line - 5);
        memcpy(buf + n + line - 2, "\r\n", 2);
        n += line;
    }
    memcpy(buf + n, "\r\n", 2);
    return n + 2;
}

static void
test_limits(void)
{
    /* small_limits: request line 32, header line 24, head 128 */
    static const char line32[] = "GET /aaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n";
    static const char line33[] = "GET /aaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n";
    static const char hdr24[] = "GET / HTTP/1.1\r\nHost: a\r\nX: bbbbbbbbbbbbbbbbbbbbb\r\n\r\n";
    static const char hdr25[] = "GET / HTTP/1.1\r\nHost: a\r\nX: bbbbbbbbbbbbbbbbbbbbbb\r\n\r\n";
    static const char hdr24lf[] = "GET / HTTP/1.1\nHost: a\nX: bbbbbbbbbbbbbbbbbbbbb\n\n";
    static const char four[] = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n"
                               "C: 3\r\n\r\n";
    static const char five[] = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n"
                               "C: 3\r\nD: 4\r\n\r\n";
    static char buf[256];
    const opts_t many = {0, PC_HTTP_UNKNOWN, &small_limits, 32};
    bytes_t in;
    size_t n;

#define SMALL(name, s, rc, st)                                                                     \
    do {                                                                                           \
        in.in = (s);                                                                               \
        in.len = sizeof(s) - 1;                                                                    \
        vec(&r, &req_small, name, in, rc, st);                                                     \
    } while (0)
#define HEAD(name, len_, rc, st)                                                                   \
    do {                                                                                           \
        in.in = buf;                                                                               \
        in.len = (len_);                                                                           \
        vec(&r, &many, name, in, rc, st);                                                          \
    } while (0)

    ok(sizeof(line32) - 1 - 13 == 32, "line32 vector is 32 bytes");
    SMALL("request line at max", line32, PC_OK, 0);
    SMALL("request line at max+1", line33, PC_ERROR, 414);
    SMALL("request line at max, no end yet", "GET /aaaaaaaaaaaaaaaaaa HTTP/1.1", PC_AGAIN, 0);
    SMALL("request line at max, CR", "GET /aaaaaaaaaaaaaaaaaa HTTP/1.1\r", PC_AGAIN, 0);
    SMALL("request line max+1 before its end", "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaa", PC_ERROR, 414);
    SMALL("control byte within the line limit", "\x01GET /aaaaaaaaaaaaaaaaaaa HTTP/1.1", PC_ERROR,
        400);
    SMALL("header line at max", hdr24, PC_OK, 0);
    SMALL("header line at max, LF", hdr24lf, PC_OK, 0);
    SMALL("header line at max+1", hdr25, PC_ERROR, 431);
    SMALL("header line over max before its end",
        "GET / HTTP/1.1\r\nHost: a\r\nX: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", PC_ERROR, 431);
    SMALL("fields at cap", four, PC_OK, 0);
    SMALL("fields at cap+1", five, PC_ERROR, 431);

    n = build_head(buf, 0, 128);
    is_int(n, 128, "built a 128-byte head");
    HEAD("head at max", n, PC_OK, 0);
    is_int(r.h.head_len, 128, "head_len 128");
    HEAD("head at max, one byte short", n - 1, PC_AGAIN, 0);
    n = build_head(buf, 0, 129);
    HEAD("head at max+1", n, PC_ERROR, 431);
    HEAD("head at max+1, CR at the limit", n - 1, PC_ERROR, 431);
    n = build_head(buf, 0, 130);
    is_int(buf[127], '\n', "130-byte head has LF at 127");
    HEAD("head of max bytes ending in LF, incomplete", 128, PC_ERROR, 431);
    n = build_head(buf, 4, 128);
    HEAD("4 empty lines + head = max", n, PC_OK, 0);
    n = build_head(buf, 4, 129);
    HEAD("4 empty lines + head = max+1", n, PC_ERROR, 431);
#undef SMALL
#undef HEAD
}

/* Default limits, with real sizes (8 KiB lines, 64 KiB head). */
static void
test_default_limits(void)
{
    static char buf[70000];
    static run_t inc;
    size_t n, k;
    opts_t o = req;

    for (k = 0; k < 2; k++) {
        /* request line of 8192 (k = 0) and 8193 (k = 1) bytes */
        memcpy(buf, "GET /", 5);
        memset(buf + 5, 'a', 8192 - 5 - 9 + k);
        n = 8192 + k;
        memcpy(buf + n - 9, " HTTP/1.1", 9);
        memcpy(buf + n, "\r\nHost: a\r\n\r\n", 13);
        parse_whole(&r, &o, (const u_char *) buf, n + 13);
        is_int(r.rc, k ? PC_ERROR : PC_OK, "default request line %zu", n);
        if (k) {
            is_int(r.h.error_status, 414, "8193 bytes: 414");
        }
        start(&inc, &o);
        for (size_t j = 1; j <= n + 13; j++) {
            feed(&inc, &o, (const u_char *) buf, j);
        }
        ok(split_head_diff(&inc, &r) == NULL,
            "default request line %zu: "
            "byte by byte",
            n);
    }
    /* one header line of 8192 and 8193 bytes */
    for (k = 0; k < 2; k++) {
        n = (size_t) snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX: ");
        memset(buf + n, 'v', 8192 - 3 + k);
        n += 8192 - 3 + k;
        memcpy(buf + n, "\r\n\r\n", 4);
        parse_whole(&r, &o, (const u_char *) buf, n + 4);
        is_int(r.rc, k ? PC_ERROR : PC_OK, "default header line %zu", 8192 + k);
        if (k) {
            is_int(r.h.error_status, 431, "8193 bytes: 431");
        }
    }
    /* a head of exactly 65536 bytes, then 65537 */
    for (k = 0; k < 2; k++) {
        size_t i = 0;

        n = (size_t) snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
        for (i = 0; n + 8000 + 2 < 65536; i++) {
            n += (size_t) snprintf(buf + n, sizeof(buf) - n, "X%03zu: ", i);
            memset(buf + n, 'v', 7992 - 6 - 2);
            n += 7992 - 6 - 2;
            memcpy(buf + n, "\r\n", 2);
            n += 2;
        }
        /* pad to 65536 - 2 with one more field */
        n += (size_t) snprintf(buf + n, sizeof(buf) - n, "Y: ");
        memset(buf + n, 'w', 65536 - 2 - 2 - n + k);
        n = 65536 - 2 - 2 + k;
        memcpy(buf + n, "\r\n\r\n", 4);
        n += 4;
        parse_whole(&r, &o, (const u_char *) buf, n);
        is_int(r.rc, k ? PC_ERROR : PC_OK, "default head of %zu bytes", n);
        if (k) {
            is_int(r.h.error_status, 431, "65537 bytes: 431");
        } else {
            is_int(r.h.head_len, 65536, "head_len 65536");
        }
    }
    {
        /* more fields than the cap, with the default limits */
        opts_t c = {0, PC_HTTP_UNKNOWN, NULL, 2};

        n = (size_t) snprintf(
            buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nA: b\r\nC: d\r\n\r\n");
        parse_whole(&r, &c, (const u_char *) buf, n);
        is_int(r.h.error_status, 431, "cap 2, 3 fields: 431");
        c.cap = 3;
        parse_whole(&r, &c, (const u_char *) buf, n);
        is_int(r.rc, PC_OK, "cap 3, 3 fields: ok");
    }
}

static void
test_pipelining(void)
{
    static const char two[] = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
                              "GET /b HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n";
    static const char body[] = "POST /a HTTP/1.1\r\nHost: a\r\n"
                               "Content-Length: 3\r\n\r\nxyzGET";
    run_t *r2 = &r;
    const u_char *next;
    size_t rest;

    GOOD("pipelined: first", two);
    is_int(r.h.head_len, 28, "first head ends at the blank line");
    is_strx(FIELD(two, r.h.path_off, r.h.path_len), "/a", 2, "first path");
    ok(!r.h.conn_close, "first stays open");
    next = (const u_char *) two + r.h.head_len;
    rest = sizeof(two) - 1 - r.h.head_len;
    {
        bytes_t in = {(const char *) next, rest};

        vec(r2, &req, "pipelined: second", in, PC_OK, 0);
    }
    is_strx(FIELD(next, r2->h.path_off, r2->h.path_len), "/b", 2, "second path");
    ok(r2->h.conn_close, "second closes");
    is_int(r2->h.head_len, rest, "second head is the rest");
    GOOD("head then body", body);
    is_int(r.h.head_len, sizeof(body) - 1 - 6, "head stops before the body");
}

/* Responses ------------------------------------------------------------- */

static const opts_t resp_get = {1, PC_HTTP_GET, NULL, 0};
static const opts_t resp_head = {1, PC_HTTP_HEAD, NULL, 0};
static const opts_t resp_small = {1, PC_HTTP_GET, &small_limits, 4};

#define RESP(name, s, rc)                                                                          \
    do {                                                                                           \
        bytes_t in_ = B(s);                                                                        \
        vec(&r, &resp_get, name, in_, rc, 502);                                                    \
    } while (0)
#define RBAD(name, s)  RESP(name, s, PC_ERROR)
#define RGOOD(name, s) RESP(name, s, PC_OK)

static void
test_response(void)
{
    static const char ok200[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                                "Server: x\r\n\r\nhi";
    static const char bare[] = "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n";
    static const char empty_reason[] = "HTTP/1.1 404 \r\n\r\n";
    static const char reason[] = "HTTP/1.0 503 Service \tUnavailable caf\xc3\xa9\r\n"
                                 "\r\n";

    RGOOD("200 with CL", ok200);
    is_int(r.h.status, 200, "status 200");
    is_strx(FIELD(ok200, r.h.reason_off, r.h.reason_len), "OK", 2, "reason");
    is_int(r.h.body, PC_HTTP_BODY_LENGTH, "LENGTH");
    is_int(r.h.content_length, 2, "CL 2");
    is_int(r.h.head_len, sizeof(ok200) - 3, "head_len");
    ok(!r.h.conn_close, "1.1 keeps the connection");
    is_int(r.h.idx[PC_HTTP_H_SERVER], 2, "Server id");
    RGOOD("status without SP and reason", bare);
    is_int(r.h.reason_len, 0, "no reason");
    is_int(r.h.status, 200, "status 200 (bare)");
    RGOOD("empty reason", empty_reason);
    is_int(r.h.reason_len, 0, "empty reason");
    is_int(r.h.body, PC_HTTP_BODY_CLOSE, "no framing: CLOSE");
    ok(r.h.conn_close, "CLOSE sets conn_close");
    RGOOD("reason with HTAB and obs-text", reason);
    is_int(r.h.version, 10, "version 10");
    is_int(r.h.reason_len, 26, "reason kept");
    ok(r.h.conn_close, "1.0 response closes");
    RGOOD("1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
                            "Content-Length: 1\r\n\r\n");
    ok(!r.h.conn_close, "1.0 keep-alive stays");
    RGOOD("close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n");
    ok(r.h.conn_close, "close token");
    RGOOD("chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    is_int(r.h.body, PC_HTTP_BODY_CHUNKED, "CHUNKED");
    RGOOD("Host ignored in responses", "HTTP/1.1 200 OK\r\nHost: a b\r\nHost: c\r\n"
                                       "Content-Length: 0\r\n\r\n");
    RGOOD("204", "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
    is_int(r.h.body, PC_HTTP_BODY_NONE, "204: NONE");
    RGOOD("204 with chunked", "HTTP/1.1 204 No Content\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n");
    is_int(r.h.body, PC_HTTP_BODY_NONE, "204 chunked: NONE");
    RGOOD("304 with CL", "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n");
    is_int(r.h.body, PC_HTTP_BODY_NONE, "304: NONE");
    is_int(r.h.content_length, 99, "304: CL kept");
    RGOOD("100", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n");
    is_int(r.h.body, PC_HTTP_BODY_NONE, "100: NONE");
    is_int(r.h.head_len, 25, "100 is a head of its own");
    RGOOD("101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\n\r\n");
    is_int(r.h.body, PC_HTTP_BODY_NONE, "101: NONE");
    ok(r.h.conn_upgrade && r.h.has_upgrade, "101: upgrade");
    ok(!r.h.conn_close, "101: not closed");
    RGOOD("103", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n");
    is_int(r.h.body, PC_HTTP_BODY_NONE, "103: NONE");
    RGOOD("599", "HTTP/1.1 599 X\r\nContent-Length: 0\r\n\r\n");
    is_int(r.h.status, 599, "599");
    {
        bytes_t in = B("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");

        vec(&r, &resp_head, "HEAD response", in, PC_OK, 0);
        is_int(r.h.body, PC_HTTP_BODY_NONE, "HEAD: NONE");
        is_int(r.h.content_length, 10, "HEAD: CL kept");
        in.in = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        in.len = strlen(in.in);
        vec(&r, &resp_head, "HEAD response, chunked", in, PC_OK, 0);
        is_int(r.h.body, PC_HTTP_BODY_NONE, "HEAD chunked: NONE");
        in.in = "HTTP/1.1 200 OK\r\n\r\n";
        in.len = strlen(in.in);
        vec(&r, &resp_head, "HEAD response, no framing", in, PC_OK, 0);
        is_int(r.h.body, PC_HTTP_BODY_NONE, "HEAD no framing: NONE");
        ok(!r.h.conn_close, "HEAD no framing: not closed");
    }

    RBAD("HTTP/2.0 status line", "HTTP/2.0 200 OK\r\n\r\n");
    RBAD("HTTP/1.2 status line", "HTTP/1.2 200 OK\r\n\r\n");
    RBAD("lower-case http", "http/1.1 200 OK\r\n\r\n");
    RBAD("status 099", "HTTP/1.1 099 X\r\n\r\n");
    RBAD("status 600", "HTTP/1.1 600 X\r\n\r\n");
    RBAD("status 000", "HTTP/1.1 000 X\r\n\r\n");
    RBAD("status 2000", "HTTP/1.1 2000 X\r\n\r\n");
    RBAD("status 20", "HTTP/1.1 20 X\r\n\r\n");
    RBAD("status 20x", "HTTP/1.1 20x X\r\n\r\n");
    RBAD("two spaces", "HTTP/1.1  200 OK\r\n\r\n");
    RBAD("HTAB after status", "HTTP/1.1 200\tOK\r\n\r\n");
    RBAD("no status", "HTTP/1.1\r\n\r\n");
    RBAD("empty line first", "\r\nHTTP/1.1 200 OK\r\n\r\n");
    RBAD("HTTP/0.9 body", "<html>\r\n");
    RBAD("NUL in reason", "HTTP/1.1 200 O\0K\r\n\r\n");
    RBAD("bare CR in reason", "HTTP/1.1 200 O\rK\r\n\r\n");
    RBAD("CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n");
    RBAD("CL and TE on 204", "HTTP/1.1 204 OK\r\nContent-Length: 0\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n");
    RBAD("differing CL", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
                         "Content-Length: 2\r\n\r\n");
    RBAD("CL list", "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\n");
    RBAD("bad CL", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n");
    RBAD("TE gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
    RBAD("TE unknown", "HTTP/1.1 200 OK\r\nTransfer-Encoding: foo\r\n\r\n");
    RBAD("TE gzip, chunked", "HTTP/1.1 200 OK\r\n"
                             "Transfer-Encoding: gzip, chunked\r\n\r\n");
    RBAD("TE in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    RBAD("obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n");
    RBAD("space before colon", "HTTP/1.1 200 OK\r\nX : a\r\n\r\n");
    RBAD("first header with SP", "HTTP/1.1 200 OK\r\n X: a\r\n\r\n");
    RBAD("NUL in value", "HTTP/1.1 200 OK\r\nX: \0\r\n\r\n");
    {
        bytes_t in;

        in.in = "HTTP/1.1 200 OKKKKKKKKKKKKKKKKKKK\r\n\r\n"; /* 33 */
        in.len = strlen(in.in);
        vec(&r, &resp_small, "status line over max", in, PC_ERROR, 502);
        in.in = "HTTP/1.1 200 OKKKKKKKKKKKKKKKKKK\r\n\r\n"; /* 32 */
        in.len = strlen(in.in);
        vec(&r, &resp_small, "status line at max", in, PC_OK, 0);
        in.in = "HTTP/1.1 200 OK\r\nX: 12345678901234567890123\r\n\r\n";
        in.len = strlen(in.in);
        vec(&r, &resp_small, "header line over max", in, PC_ERROR, 502);
        in.in = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\n\r\n";
        in.len = strlen(in.in);
        vec(&r, &resp_small, "too many fields", in, PC_ERROR, 502);
    }
}

/* pc_http_normalize_path ------------------------------------------------- */

static void
norm(const char *in, const char *want)
{
    u_char dst[256];
    size_t n = 0, len = strlen(in);
    pc_rc_t rc = pc_http_normalize_path((const u_char *) in, len, dst, &n);

    if (want == NULL) {
        is_int(rc, PC_ERROR, "normalize %s: rejected", in);
        return;
    }
    if (is_int(rc, PC_OK, "normalize %s: accepted", in)) {
        is_str(dst, n, want, strlen(want), "normalize %s -> %s", in, want);
    }
    /* in place gives the same */
    if (rc == PC_OK) {
        u_char copy[256];
        size_t m = 0;

        memcpy(copy, in, len);
        pc_http_normalize_path(copy, len, copy, &m);
        is_str(copy, m, want, strlen(want), "normalize %s in place", in);
    }
}

static void
test_normalize(void)
{
    norm("/", "/");
    norm("/a", "/a");
    norm("/a/b/c", "/a/b/c");
    norm("/a/", "/a/");
    norm("//", "/");
    norm("/a//b///c", "/a/b/c");
    norm("/./a", "/a");
    norm("/a/./b", "/a/b");
    norm("/a/.", "/a/");
    norm("/.", "/");
    norm("/a/b/../c", "/a/c");
    norm("/a/b/..", "/a/");
    norm("/a/..", "/");
    norm("/a/../", "/");
    norm("/a/b/../../c", "/c");
    norm("/a/.../b", "/a/.../b");
    norm("/a/..b/c", "/a/..b/c");
    norm("/a/b./c", "/a/b./c");
    norm("/.a", "/.a");
    norm("/%41%42", "/AB");
    norm("/%2e%2e/x", NULL);
    norm("/a/%2e%2E/b", "/b");
    norm("/a/%2e/b", "/a/b");
    norm("/a%2fb", "/a/b");
    norm("/a%2F..%2Fb", "/b");
    norm("/a%2f%2fb", "/a/b");
    norm("/%25", "/%");
    norm("/%252e%252e/", "/%2e%2e/");
    norm("/%c3%a9", "/\xc3\xa9");
    norm("/a?b", "/a?b");
    norm("/..", NULL);
    norm("/../a", NULL);
    norm("/a/../..", NULL);
    norm("/a/../../b", NULL);
    norm("/a/./../..", NULL);
    norm("", NULL);
    norm("a", NULL);
    norm("%2f", NULL);
    norm("/%", NULL);
    norm("/%4", NULL);
    norm("/%4g", NULL);
    norm("/%g4", NULL);
    norm("/%00", NULL);
    norm("/a%00b", NULL);
    norm("/%0a", "/\n");
}

/*
 * The fast paths look at 16 bytes at a time (field names, targets, hosts)
 * or compare whole words (names, tokens, versions): vectors whose decisive
 * byte sits just before, on and just after a 16-byte boundary, and the
 * values that take the one-token shortcuts.  Each vector is also fed byte
 * by byte, where the buffer ends right after the line.
 */
static void
test_block_boundaries(void)
{
    const pc_http_header_t *f;

    /* field names of 14 .. 33 letters, the ':' at and around offset 16 */
    GOOD("name of 15", "GET / HTTP/1.1\r\nHost: a\r\nAbcdefghijklmno: v\r\n\r\n");
    is_int(r.h.headers[1].name_len, 15, "name of 15: length");
    GOOD("name of 16", "GET / HTTP/1.1\r\nHost: a\r\nAbcdefghijklmnop: v\r\n\r\n");
    is_int(r.h.headers[1].name_len, 16, "name of 16: length");
    GOOD("name of 17", "GET / HTTP/1.1\r\nHost: a\r\nAbcdefghijklmnopq: v\r\n\r\n");
    is_int(r.h.headers[1].name_len, 17, "name of 17: length");
    GOOD("name of 32", "GET / HTTP/1.1\r\nHost: a\r\nAbcdefghijklmnopAbcdefghijklmnop: v\r\n\r\n");
    is_int(r.h.headers[1].name_len, 32, "name of 32: length");
    GOOD("name of 33", "GET / HTTP/1.1\r\nHost: a\r\nAbcdefghijklmnopAbcdefghijklmnopq: v\r\n\r\n");
    is_int(r.h.headers[1].name_len, 33, "name of 33: length");
    GOOD("name with digits and tchars", "GET / HTTP/1.1\r\nHost: a\r\n"
                                        "X-B3-Span_Id!#$%&'*+.^`|~9: v\r\n\r\n");
    is_int(r.h.headers[1].name_len, 26, "digits and tchars: length");
    GOOD("tchar at 15", "GET / HTTP/1.1\r\nHost: a\r\nabcdefghijklmn_: v\r\n\r\n");
    GOOD("tchar at 16", "GET / HTTP/1.1\r\nHost: a\r\nabcdefghijklmno_x: v\r\n\r\n");
    BAD("space before colon at 15", "GET / HTTP/1.1\r\nHost: a\r\nabcdefghijklmno : v\r\n\r\n",
        400);
    BAD("space before colon at 16", "GET / HTTP/1.1\r\nHost: a\r\nabcdefghijklmnop : v\r\n\r\n",
        400);
    BAD("'@' in name at 16", "GET / HTTP/1.1\r\nHost: a\r\nabcdefghijklmnop@: v\r\n\r\n", 400);
    BAD("no colon, 16 letters", "GET / HTTP/1.1\r\nHost: a\r\nabcdefghijklmnop\r\n\r\n", 400);
    BAD("obs-text in name", "GET / HTTP/1.1\r\nHost: a\r\nabc\xe9: v\r\n\r\n", 400);
    GOOD("known names, any case", "GET / HTTP/1.1\r\nHOST: a\r\ntransfer-ENCODING: chunked\r\n"
                                  "PROXY-CONNECTION: x\r\nX-Forwarded-For: y\r\n\r\n");
    is_int(r.h.headers[0].id, PC_HTTP_H_HOST, "HOST is Host");
    is_int(r.h.headers[1].id, PC_HTTP_H_TRANSFER_ENCODING, "transfer-ENCODING");
    is_int(r.h.headers[2].id, PC_HTTP_H_PROXY_CONNECTION, "PROXY-CONNECTION");
    is_int(r.h.headers[3].id, PC_HTTP_H_X_FORWARDED_FOR, "X-Forwarded-For");
    GOOD("near misses of known names", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encodinh: x\r\n"
                                       "Content-Lengtg: 1\r\nHosu: a\r\nTf: b\r\nDatf: c\r\n\r\n");
    is_int(r.h.nheaders, 6, "near misses: 6 fields");
    is_int(r.h.idx[PC_HTTP_H_TRANSFER_ENCODING] + r.h.idx[PC_HTTP_H_CONTENT_LENGTH]
               + r.h.idx[PC_HTTP_H_TE] + r.h.idx[PC_HTTP_H_DATE],
        0, "near misses are OTHER");
    is_int(r.h.body, PC_HTTP_BODY_NONE, "near misses frame nothing");
    f = pc_http_head_find_name(&r.h, (const u_char *) "GET / HTTP/1.1\r\nHost: a\r\n"
                                                     "Transfer-Encodinh: x\r\n",
        (const u_char *) "TRANSFER-encodinh", 17);
    ok(f == &r.h.headers[1], "find an unknown name of a known name's length");

    /* targets: '?', '#' and bad bytes around offset 16 */
    GOOD("'?' at 15", "GET /abcdefghijklmn?q HTTP/1.1\r\nHost: a\r\n\r\n");
    is_int(r.h.path_len, 15, "'?' at 15: path");
    is_int(r.h.query_len, 1, "'?' at 15: query");
    GOOD("'?' at 16", "GET /abcdefghijklmno?q HTTP/1.1\r\nHost: a\r\n\r\n");
    is_int(r.h.path_len, 16, "'?' at 16: path");
    GOOD("'?' at 32, twice", "GET /abcdefghijklmnoabcdefghijklmnop?q?r HTTP/1.1\r\nHost: a\r\n\r\n");
    is_int(r.h.path_len, 32, "'?' at 32: path");
    is_int(r.h.query_len, 3, "'?' at 32: query");
    GOOD("'?' last", "GET /abcdefghijklmnop? HTTP/1.1\r\nHost: a\r\n\r\n");
    ok(r.h.has_query && r.h.query_len == 0, "'?' last: empty query");
    BAD("'#' at 16", "GET /abcdefghijklmno#q HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("DEL at 16", "GET /abcdefghijklmno\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("obs-text at 17", "GET /abcdefghijklmnop\x80 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("'?' then tab", "GET /abcdefghijklmn?q\tHTTP/1.1\r\nHost: a\r\n\r\n", 400);

    /* hosts: the run of reg-name bytes and the dot rule across blocks */
    GOOD("host of 16", "GET / HTTP/1.1\r\nHost: abcdefghijklm.op\r\n\r\n");
    is_int(r.h.host_len, 16, "host of 16: length");
    GOOD("host of 33 with port", "GET / HTTP/1.1\r\nHost: abcdefghijklmno.abcdefghijklmno.a:8080\r\n"
                                 "\r\n");
    is_int(r.h.host_len, 38, "host of 33 with port: length");
    GOOD("dot at 15", "GET / HTTP/1.1\r\nHost: abcdefghijklmno.bcdefghijklmnopqr\r\n\r\n");
    GOOD("dot at 16", "GET / HTTP/1.1\r\nHost: abcdefghijklmnop.cdefghijklmnopqr\r\n\r\n");
    BAD("dots at 15 and 16", "GET / HTTP/1.1\r\nHost: abcdefghijklmno..defghijklmnopqr\r\n\r\n",
        400);
    BAD("dots at 31 and 32", "GET / HTTP/1.1\r\nHost: abcdefghijklmnoabcdefghijklmno..b\r\n\r\n",
        400);
    BAD("leading dot, long host", "GET / HTTP/1.1\r\nHost: .abcdefghijklmnopqrstuvwxyz\r\n\r\n",
        400);
    BAD("'..' after the run", "GET / HTTP/1.1\r\nHost: abcdefghijklmnopqrstuvwxyz@..\r\n\r\n",
        400);
    GOOD("host bytes of every kind", "GET / HTTP/1.1\r\nHost: A-Z_a-z.0-9.Example-Host_1\r\n\r\n");
    BAD("'@' at 16 in host", "GET / HTTP/1.1\r\nHost: abcdefghijklmnop@x\r\n\r\n", 400);
    BAD("space in long host", "GET / HTTP/1.1\r\nHost: abcdefghijklmnop q\r\n\r\n", 400);
    BAD("port of 6 digits, long host", "GET / HTTP/1.1\r\nHost: abcdefghijklmnop:123456\r\n\r\n",
        400);

    /* Connection: the one-token shortcut and what must not take it */
    GOOD("Connection: KEEP-ALIVE", "GET / HTTP/1.0\r\nConnection: KEEP-ALIVE\r\n\r\n");
    ok(r.h.conn_keep_alive && !r.h.conn_close, "KEEP-ALIVE keeps");
    GOOD("Connection: Close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: Close \r\n\r\n");
    ok(r.h.conn_close, "Close closes");
    GOOD("Connection: keep-alivf", "GET / HTTP/1.0\r\nConnection: keep-alivf\r\n\r\n");
    ok(!r.h.conn_keep_alive && r.h.conn_close, "keep-alivf is another token");
    GOOD("Connection: ,close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: ,close\r\n\r\n");
    ok(r.h.conn_close, ",close closes");
    BAD("Connection: clo e", "GET / HTTP/1.1\r\nHost: a\r\nConnection: clo e\r\n\r\n", 400);

    /* Content-Length at the 18/19-digit switch and at the 2^62 ceiling */
    GOOD("CL of 18 nines", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999999999999\r\n"
                           "\r\n");
    ok(r.h.content_length == INT64_C(999999999999999999), "18 nines");
    GOOD("CL 2^62", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4611686018427387904\r\n\r\n");
    ok(r.h.content_length == INT64_C(4611686018427387904), "2^62");
    BAD("CL 2^62 + 1", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4611686018427387905\r\n\r\n",
        400);
    BAD("CL 18 digits with a letter",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999a\r\n\r\n", 400);
    GOOD("CL 20 digits with leading zeros",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 00000000000000000042\r\n\r\n");
    ok(r.h.content_length == 42, "leading zeros");

    /* methods and versions compared as words */
    GOOD("PATCH", "PATCH / HTTP/1.1\r\nHost: a\r\n\r\n");
    is_int(r.h.method, PC_HTTP_PATCH, "PATCH");
    GOOD("PATCh", "PATCh / HTTP/1.1\r\nHost: a\r\n\r\n");
    is_int(r.h.method, PC_HTTP_UNKNOWN, "PATCh is unknown");
    GOOD("GEt", "GEt / HTTP/1.1\r\nHost: a\r\n\r\n");
    is_int(r.h.method, PC_HTTP_UNKNOWN, "GEt is unknown");
    GOOD("CONNECT", "CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n");
    is_int(r.h.method, PC_HTTP_CONNECT, "CONNECT");
    BAD("HTTP/1.1 lower case", "GET / http/1.1\r\nHost: a\r\n\r\n", 400);
    BAD("HTTP/1.1 with a NUL", "GET / HTTP/1\0001\r\nHost: a\r\n\r\n", 400);
    BAD("HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505);
}

/* Regressions found by fuzzing live here, one vector each. */
static void
test_regressions(void)
{
}

int
main(void)
{
    test_basic_request();
    test_line_ends();
    test_leading_empty_lines();
    test_method();
    test_request_line_shape();
    test_target();
    test_host();
    test_header_syntax();
    test_content_length();
    test_transfer_encoding();
    test_connection();
    test_header_ids();
    test_limits();
    test_default_limits();
    test_pipelining();
    test_response();
    test_normalize();
    test_block_boundaries();
    test_regressions();
    return done_testing();
}
