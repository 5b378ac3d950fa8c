/*
 * test_pc_http_proxy_msg.c -- unit tests for src/http/pc_http_proxy_msg.c.
 */
#include <string.h>

#include "test.h"
#include "http/pc_http_proxy_msg.h"

#define S(x) (const u_char *) (x), sizeof(x) - 1

static pc_http_proxy_resp_t rs;
static pc_http_header_t     hdrs[32];

/* Parse a whole response given at once; returns the rc of the head. */
static pc_rc_t
head(const u_char *p, size_t n, pc_http_method_e m)
{
    pc_http_proxy_resp_init(&rs, hdrs, 32, 4096, m);
    return pc_http_proxy_resp_head(&rs, p, n);
}

/* Decode the body after the head; payload into out; returns the final rc. */
static pc_rc_t
body(const u_char *p, size_t n, char *out, size_t *outlen)
{
    const u_char *pos = p + rs.head.head_len, *d;
    size_t        len;
    pc_rc_t       rc;

    *outlen = 0;
    do {
        rc = pc_http_proxy_resp_body(&rs, &pos, p + n, &d, &len);
        if (len > 0) {
            memcpy(out + *outlen, d, len);
            *outlen += len;
        }
    } while (rc == PC_OK);
    return rc;
}

static void
test_framing(void)
{
    static const char cl[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA";
    static const char ch[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n";
    static const char cd[] = "HTTP/1.0 200 OK\r\n\r\nuntil close";
    char   out[64];
    size_t n;

    ok(head(S(cl), PC_HTTP_GET) == PC_OK && rs.state == PC_HTTP_PROXY_RESP_BODY,
       "CL head");
    is_int(body(S(cl), out, &n), PC_DONE, "CL body done");
    is_str(out, n, "hello", 5, "CL body is exactly 5 bytes");
    ok(pc_http_proxy_resp_reusable(&rs), "1.1 with CL is reusable");

    ok(head(S(ch), PC_HTTP_GET) == PC_OK, "chunked head");
    is_int(body(S(ch), out, &n), PC_DONE, "chunked body done");
    is_str(out, n, "abcde", 5, "chunked payload decoded");

    ok(head(S(cd), PC_HTTP_GET) == PC_OK, "close-delimited head");
    is_int(body(S(cd), out, &n), PC_AGAIN, "close-delimited waits for EOF");
    is_str(out, n, "until close", 11, "close-delimited payload");
    is_int(pc_http_proxy_resp_eof(&rs), PC_DONE, "EOF ends it");
    ok(!pc_http_proxy_resp_reusable(&rs), "close-delimited is not reusable");
}

static void
test_no_body(void)
{
    static const char hd[] = "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";
    static const char nc[] = "HTTP/1.1 204 No Content\r\n\r\n";
    static const char nm[] = "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n";

    ok(head(S(hd), PC_HTTP_HEAD) == PC_OK && rs.state == PC_HTTP_PROXY_RESP_DONE,
       "HEAD: no body despite Content-Length");
    is_int(rs.head.content_length, 99, "HEAD keeps the length for the client");
    ok(head(S(nc), PC_HTTP_GET) == PC_OK && rs.state == PC_HTTP_PROXY_RESP_DONE, "204");
    ok(head(S(nm), PC_HTTP_GET) == PC_OK && rs.state == PC_HTTP_PROXY_RESP_DONE, "304");
}

static void
test_interim(void)
{
    static const char r[] = "HTTP/1.1 100 Continue\r\n\r\n"
                            "HTTP/1.1 103 Early Hints\r\nLink: <a>\r\n\r\n"
                            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    const u_char *p = (const u_char *) r;
    size_t        off = 0, n = sizeof(r) - 1;
    int           interim = 0;

    pc_http_proxy_resp_init(&rs, hdrs, 32, 4096, PC_HTTP_GET);
    while (pc_http_proxy_resp_head(&rs, p + off, n - off) == PC_OK && rs.head.status < 200) {
        interim++;
        off += rs.head.head_len;
        if (pc_http_proxy_resp_next_head(&rs) != PC_OK) {
            break;
        }
    }
    is_int(interim, 2, "two 1xx heads before the final one");
    is_int(rs.head.status, 200, "final status");
}

static void
test_errors(void)
{
    static const char trunc[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
    static const char badch[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    static const char two[] = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
    static const char big[] = "HTTP/1.1 200 OK\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    char    out[64];
    size_t  n;

    ok(head(S(trunc), PC_HTTP_GET) == PC_OK, "truncated: head ok");
    is_int(body(S(trunc), out, &n), PC_AGAIN, "truncated: waits");
    is_int(pc_http_proxy_resp_eof(&rs), PC_ERROR, "EOF inside a CL body is an error");
    ok(rs.error != NULL, "with a reason");
    ok(head(S(badch), PC_HTTP_GET) == PC_OK, "bad chunk: head ok");
    is_int(body(S(badch), out, &n), PC_ERROR, "bad chunk size is an error");
    is_int(head(S(two), PC_HTTP_GET), PC_ERROR, "conflicting Content-Length");
    is_int(rs.head.error_status, 502, "is 502");
    pc_http_proxy_resp_init(&rs, hdrs, 32, 32, PC_HTTP_GET);
    is_int(pc_http_proxy_resp_head(&rs, S(big)), PC_ERROR, "head over the buffer");
    pc_http_proxy_resp_init(&rs, hdrs, 32, 4096, PC_HTTP_GET);
    is_int(pc_http_proxy_resp_eof(&rs), PC_ERROR, "EOF before any head");
}

static void
test_hop_by_hop(void)
{
    static const char r[] = "HTTP/1.1 200 OK\r\n"
                            "Connection: keep-alive, X-Drop ,x-also\r\n"
                            "X-Drop: 1\r\nX-Also: 2\r\nX-Keep: 3\r\nKeep-Alive: t=5\r\n"
                            "Upgrade: h2c\r\nTE: trailers\r\nTrailer: T\r\nProxy-Connection: k\r\n"
                            "Content-Length: 0\r\nX-Hide: h\r\n\r\n";
    const u_char *b = (const u_char *) r;
    pc_str_t      hide = pc_string("x-HIDE");
    uint32_t      i, passed = 0;
    const char   *kept = NULL;

    ok(head(S(r), PC_HTTP_GET) == PC_OK, "head");
    for (i = 0; i < rs.head.nheaders; i++) {
        if (pc_http_proxy_pass_field(&rs.head, b, &rs.head.headers[i], &hide, 1)) {
            passed++;
            kept = (const char *) b + rs.head.headers[i].name;
        }
    }
    is_int(passed, 1, "only one field passes");
    ok(kept != NULL && strncmp(kept, "X-Keep", 6) == 0, "it is X-Keep");
    ok(pc_http_proxy_conn_token(&rs.head, b, (const u_char *) "X-ALSO", 6),
       "Connection tokens are case-insensitive and trimmed");
    ok(!pc_http_proxy_conn_token(&rs.head, b, (const u_char *) "X-Dro", 5),
       "no prefix match");
}

int
main(void)
{
    test_framing();
    test_no_body();
    test_interim();
    test_errors();
    test_hop_by_hop();
    return done_testing();
}
