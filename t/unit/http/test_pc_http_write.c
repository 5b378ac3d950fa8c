/*
 * test_pc_http_write.c -- unit tests for src/http/pc_http_write.c: the pure
 * head serialisation and chunk lines, response header editing, and the
 * output queue driven through a fake connection whose writev accepts a
 * chosen number of bytes (partial writes, EAGAIN, one writev for head and
 * body, chunk framing, HEAD, HTTP/1.0).
 *
 * Links: pc_http_write.c pc_http_status.c pc_pool.c pc_str.c -lev.  The
 * rest of the runtime is stubbed below.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/pc_http.h"
#include "http/pc_http_log.h"
#include "http/pc_http_request.h"
#include "http/pc_http_write.h"
#include "event/pc_worker.h"
#include "test.h"

/* ------------------------------------------------------------ stubs */

pc_module_t pc_http_core_module;
pc_time_t   pc_time;
static pc_log_t test_log = { -1, PC_LOG_ERR, NULL, -1 };
pc_log_t   *pc_log_cur = &test_log;
static int  header_filter_runs, output_done_calls, aborts;

/* The process's worker (pc_process.c is not linked in). */
pc_worker_t *pc_worker;

void
pc_log_error(int level, pc_log_t *log, int err, const char *fmt, ...)
{
    PC_UNUSED(level);
    PC_UNUSED(log);
    PC_UNUSED(err);
    PC_UNUSED(fmt);
}

pc_rc_t
pc_http_run_header_filters(pc_http_request_t *r)
{
    PC_UNUSED(r);
    header_filter_runs++;
    return PC_OK;
}

pc_rc_t
pc_http_run_body_filters(pc_http_request_t *r, pc_chain_t **chain, int last)
{
    PC_UNUSED(r);
    PC_UNUSED(chain);
    PC_UNUSED(last);
    return PC_OK;
}

static int errors_sent, error_status;

/* The error module is not linked: record the call, send a fixed head. */
pc_rc_t
pc_http_send_error(pc_http_request_t *r, int status, const char *reason)
{
    pc_str_t body = pc_string("E");

    PC_UNUSED(reason);
    errors_sent++;
    error_status = status;
    return pc_http_send_simple(r, status, NULL, &body);
}

/* The access log is not linked: the send_timeout line quotes the request
 * as it is. */
pc_str_t pc_http_log_redacted_request(pc_http_request_t *r) { return r->request_line; }

bool pc_http_req_keepalive(pc_http_req_t *req) { return req->r.keepalive; }
void pc_http_req_enter(pc_http_conn_t *hc) { hc->busy++; }
void pc_http_req_leave(pc_http_conn_t *hc) { hc->busy--; }
void pc_http_req_abort(pc_http_req_t *req) { PC_UNUSED(req); aborts++; }
void pc_http_req_output_done(pc_http_req_t *req) { PC_UNUSED(req); output_done_calls++; }

/* ------------------------------------------------------------ fake socket */

static u_char  wire[65536];      /* everything "sent"                   */
static size_t  wire_len;
static ssize_t accept_budget;    /* bytes the next writev accepts; -1 = all */
static int     writev_calls, last_iovcnt;

static ssize_t
fake_writev(pc_conn_t *c, struct iovec *iov, int n)
{
    size_t total = 0, k;
    int    i;

    PC_UNUSED(c);
    writev_calls++;
    last_iovcnt = n;
    if (accept_budget == 0) {
        errno = EAGAIN;
        return -1;
    }
    for (i = 0; i < n; i++) {
        k = iov[i].iov_len;
        if (accept_budget >= 0 && total + k > (size_t) accept_budget)
            k = (size_t) accept_budget - total;
        memcpy(wire + wire_len, iov[i].iov_base, k);
        wire_len += k;
        total += k;
        if (k < iov[i].iov_len)
            break;
    }
    if (accept_budget >= 0)
        accept_budget -= (ssize_t) total;
    return (ssize_t) total;
}

static pc_worker_t         worker;
static pc_conn_t           conn;
static pc_http_conn_t      hconn;
static pc_http_core_conf_t core_conf;
static void               *confs[1];
static int                 pipefd[2];

/* A fresh request on the fake connection, in pool. */
static pc_http_req_t *
new_req(pc_pool_t *pool, int version, pc_http_method_e method)
{
    pc_http_req_t *req = pc_pcalloc(pool, sizeof(*req));

    req->r.c = &conn;
    req->r.hc = &hconn;
    req->r.pool = pool;
    req->r.loc_conf = confs;
    req->r.http_version = version;
    req->r.method = method;
    req->r.keepalive = 1;
    req->r.out_content_length = -1;
    ev_init(&req->send_timer, pc_http_send_timeout);
    req->send_timer.data = &conn;
    hconn.req = req;
    wire_len = 0;
    accept_budget = -1;
    writev_calls = 0;
    conn.error = 0;
    return req;
}

static const pc_conn_io_t fake_io = { NULL, fake_writev, NULL };

/* The loop never runs here: the test calls pc_http_write_event itself. */
static void
never_called(struct ev_loop *loop, ev_io *w, int revents)
{
    PC_UNUSED(loop);
    PC_UNUSED(w);
    PC_UNUSED(revents);
}

static void
setup(void)
{
    if (pipe(pipefd) != 0)
        exit(2);
    worker.loop = ev_loop_new(EVFLAG_AUTO);
    pc_worker = &worker;
    conn.fd = pipefd[1];
    conn.io = &fake_io;
    conn.data = &hconn;
    hconn.u.c = &conn;
    ev_io_init(&conn.ev, never_called, pipefd[1], EV_WRITE);
    conn.ev.data = &conn;
    core_conf.send_timeout = 60000;
    confs[0] = &core_conf;
    pc_http_core_module.index = 0;
    pc_time.http_date = (pc_str_t) pc_string("Mon, 23 Nov 2026 19:27:00 GMT");
}

#define S(x)  (pc_str_t) pc_string(x)
#define IS_WIRE(want, name) is_str(wire, wire_len, want, sizeof(want) - 1, name)

/* ------------------------------------------------------------ pure */

static void
test_head(void)
{
    u_char             buf[1024], *end;
    pc_http_field_t    f[6];
    pc_http_head_out_t h;
    static const char  want1[] =
        "HTTP/1.1 200 OK\r\nServer: portcullis\r\nDate: D\r\n"
        "Content-Type: text/plain\r\nContent-Length: 12\r\n"
        "Connection: keep-alive\r\n\r\n";
    static const char  want2[] =
        "HTTP/1.1 599 \r\nserver: up\r\nDate: X\r\nX-A: 1\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    static const char  want3[] =
        "HTTP/1.1 204 No Content\r\nServer: portcullis\r\nConnection: close\r\n\r\n";

    f[0] = (pc_http_field_t) { S("Content-Type"), S("text/plain") };
    h = (pc_http_head_out_t) { 200, { 0, NULL }, f, 1, S("D"), 12, 0, 1 };
    end = pc_http_head_write(buf, &h);
    is_int(end - buf, pc_http_head_len(&h), "head_len matches what head_write wrote");
    is_str(buf, (size_t) (end - buf), want1, sizeof(want1) - 1, "200 with Content-Length");

    /* The writer owns framing and persistence fields; Server/Date from the
     * fields replace ours; an unknown status has an empty reason. */
    f[0] = (pc_http_field_t) { S("server"), S("up") };
    f[1] = (pc_http_field_t) { S("CONTENT-LENGTH"), S("99") };
    f[2] = (pc_http_field_t) { S("Connection"), S("keep-alive") };
    f[3] = (pc_http_field_t) { S("Keep-Alive"), S("timeout=5") };
    f[4] = (pc_http_field_t) { S("Date"), S("X") };
    f[5] = (pc_http_field_t) { S("X-A"), S("1") };
    h = (pc_http_head_out_t) { 599, { 0, NULL }, f, 6, S("D"), -1, 1, 0 };
    end = pc_http_head_write(buf, &h);
    is_int(end - buf, pc_http_head_len(&h), "head_len with skipped fields");
    is_str(buf, (size_t) (end - buf), want2, sizeof(want2) - 1,
           "skips CL/Connection/Keep-Alive fields, keeps their Server and Date");

    h = (pc_http_head_out_t) { 204, { 0, NULL }, NULL, 0, { 0, NULL }, -1, 0, 0 };
    end = pc_http_head_write(buf, &h);
    is_str(buf, (size_t) (end - buf), want3, sizeof(want3) - 1, "no date, no length");
    is_int(end - buf, pc_http_head_len(&h), "head_len without date");

    h = (pc_http_head_out_t) { 200, { 0, NULL }, NULL, 0, { 0, NULL }, 0, 0, 1 };
    end = pc_http_head_write(buf, &h);
    ok(strstr((char *) buf, "Content-Length: 0\r\n") != NULL && end - buf == (ptrdiff_t) pc_http_head_len(&h),
       "Content-Length: 0");

    /* an upstream's own reason phrase replaces ours */
    h = (pc_http_head_out_t) { 200, S("Fine Thanks"), NULL, 0, { 0, NULL }, 0, 0, 1 };
    end = pc_http_head_write(buf, &h);
    is_int(end - buf, pc_http_head_len(&h), "head_len with a reason");
    ok(end - buf > 26 && memcmp(buf, "HTTP/1.1 200 Fine Thanks\r\n", 26) == 0, "the given reason");
}

static void
test_chunk_line(void)
{
    u_char buf[32];
    size_t n;

    n = pc_http_chunk_line(buf, 0);
    is_str(buf, n, "0\r\n", 3, "chunk line 0");
    n = pc_http_chunk_line(buf, 26);
    is_str(buf, n, "1a\r\n", 4, "chunk line 26");
    n = pc_http_chunk_line(buf, 0x10000);
    is_str(buf, n, "10000\r\n", 7, "chunk line 64k");
    n = pc_http_chunk_line(buf, UINT64_MAX);
    is_str(buf, n, "ffffffffffffffff\r\n", 18, "chunk line max");
}

/* ------------------------------------------------------------ fields */

static void
test_fields(pc_pool_t *pool)
{
    pc_http_req_t     *req = new_req(pool, 11, PC_HTTP_GET);
    pc_http_request_t *r = &req->r;
    pc_http_field_t   *f;
    char               name[16];
    u_char             val[4] = "abc";
    pc_str_t           v = { 3, val };
    int                i;

    ok(pc_http_header_out_find(r, &S("X")) == NULL, "find in an empty list");
    for (i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "X-%d", i);
        pc_str_t n = { strlen(name), (u_char *) name };
        if (pc_http_header_out_add(r, &n, &v) != PC_OK)
            break;
    }
    is_int(r->nout, 20, "20 fields added (array grew)");
    val[0] = 'z';                   /* values are copies */
    f = pc_http_header_out_find(r, &S("x-19"));
    ok(f != NULL && f->value.len == 3 && memcmp(f->value.data, "abc", 3) == 0,
       "find is case-insensitive and the value was copied");

    pc_http_header_out_add(r, &S("Dup"), &S("1"));
    pc_http_header_out_add(r, &S("Other"), &S("o"));
    pc_http_header_out_add(r, &S("dup"), &S("2"));
    pc_http_header_out_set(r, &S("DUP"), &S("3"));
    f = pc_http_header_out_find(r, &S("Dup"));
    ok(f != NULL && f->value.len == 1 && f->value.data[0] == '3', "set replaces the first");
    is_int(r->nout, 22, "set drops later duplicates");
    pc_http_header_out_set(r, &S("New"), &S("n"));
    is_int(r->nout, 23, "set adds when absent");
    pc_http_header_out_remove(r, &S("x-0"));
    pc_http_header_out_remove(r, &S("absent"));
    is_int(r->nout, 22, "remove");
    ok(pc_http_header_out_find(r, &S("Other")) != NULL, "others stay");
}

/* ------------------------------------------------------------ writer */

static void
test_one_writev(pc_pool_t *pool)
{
    pc_http_req_t *req = new_req(pool, 11, PC_HTTP_GET);
    pc_str_t       body = S("hello");
    static const char want[] =
        "HTTP/1.1 200 OK\r\nServer: portcullis\r\nDate: Mon, 23 Nov 2026 19:27:00 GMT\r\n"
        "Content-Type: text/plain\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello";

    header_filter_runs = 0;
    is_int(pc_http_send_simple(&req->r, 200, &S("text/plain"), &body), PC_OK, "send_simple");
    IS_WIRE(want, "simple response on the wire");
    is_int(writev_calls, 1, "head and body in one writev");
    is_int(last_iovcnt, 2, "... of two iovecs");
    is_int(header_filter_runs, 1, "header filters ran once");
    is_int(req->r.bytes_sent, sizeof(want) - 1, "bytes_sent");
    ok(req->last_sent && req->nspans == 0, "nothing left queued");
}

static void
test_partial(pc_pool_t *pool)
{
    pc_http_req_t *req = new_req(pool, 11, PC_HTTP_GET);
    pc_buf_t       b;
    pc_chain_t     cl = { &b, NULL };
    u_char         data[] = "0123456789";
    pc_rc_t        rc;
    size_t         head;

    req->r.status = 200;
    is_int(pc_http_send_header(&req->r), PC_OK, "send_header queues");
    is_int(writev_calls, 0, "... without writing");
    head = req->nspans == 1 ? req->out[0].len : 0;
    ok(req->r.chunked_out, "unknown length on 1.1: chunked");

    memset(&b, 0, sizeof(b));
    b.start = b.pos = data;
    b.end = b.last = data + 10;
    accept_budget = (ssize_t) head + 3;          /* head, "a\r\n", nothing more */
    rc = pc_http_send_body(&req->r, &cl, 0);
    is_int(rc, PC_AGAIN, "short write: PC_AGAIN");
    ok(b.pos == data, "caller buffer untouched so far");
    ok((pc_conn_wants(&conn) & EV_WRITE) && ev_is_active(&req->send_timer),
       "write watcher and send_timeout armed");

    accept_budget = 4;
    rc = pc_http_write_flush(req);
    is_int(rc, PC_AGAIN, "still short");
    ok(b.pos == data + 4, "caller buffer pos follows the bytes written");

    accept_budget = -1;
    rc = pc_http_write_flush(req);
    is_int(rc, PC_OK, "rest written");
    ok(b.pos == b.last, "buffer fully consumed");
    ok(!(pc_conn_wants(&conn) & EV_WRITE) && !ev_is_active(&req->send_timer),
       "watcher and timer stopped");
    is_int(pc_http_send_body(&req->r, NULL, 1), PC_OK, "last chunk");
    ok(wire_len > head && memcmp(wire + head, "a\r\n0123456789\r\n0\r\n\r\n", 20) == 0,
       "chunk framing");
    is_int(pc_http_send_body(&req->r, &cl, 0), PC_OK, "empty send after the end is a flush");
    b.pos = data;
    is_int(pc_http_send_body(&req->r, &cl, 0), PC_ERROR, "body bytes after the end: error");
}

static void
test_again_event(pc_pool_t *pool)
{
    pc_http_req_t *req = new_req(pool, 11, PC_HTTP_GET);
    pc_str_t       body = S("0123456789");

    accept_budget = 0;
    is_int(pc_http_send_simple(&req->r, 200, NULL, &body), PC_OK,
           "send_simple queues when the socket blocks");
    ok(req->nspans == 2 && req->out[1].buf == NULL && req->out[1].pos != body.data,
       "the body was copied into the pool (caller memory may go)");
    output_done_calls = 0;
    accept_budget = -1;
    pc_http_write_event(&conn);
    is_int(output_done_calls, 1, "write event drains and reports");
    ok(wire_len > 10 && memcmp(wire + wire_len - 10, "0123456789", 10) == 0, "body sent");

    req = new_req(pool, 11, PC_HTTP_GET);
    accept_budget = 0;
    pc_http_send_simple(&req->r, 200, NULL, &body);
    aborts = 0;
    conn.error = 1;
    pc_http_write_event(&conn);
    is_int(aborts, 1, "write error aborts the request");
    req->nspans = 0;
    ev_io_stop(worker.loop, &conn.ev);
    ev_timer_stop(worker.loop, &req->send_timer);
}

static void
test_head_method(pc_pool_t *pool)
{
    pc_http_req_t *req = new_req(pool, 11, PC_HTTP_HEAD);
    pc_str_t       body = S("0123456789");

    pc_http_send_simple(&req->r, 200, NULL, &body);
    ok(strstr((char *) wire, "Content-Length: 10\r\n") != NULL, "HEAD keeps Content-Length");
    ok(wire_len >= 4 && memcmp(wire + wire_len - 4, "\r\n\r\n", 4) == 0, "HEAD: no body");

    req = new_req(pool, 11, PC_HTTP_GET);
    pc_http_send_simple(&req->r, 304, NULL, &body);
    ok(strstr((char *) wire, "Content-Length") == NULL && wire_len >= 4
       && memcmp(wire + wire_len - 4, "\r\n\r\n", 4) == 0, "304: no length, no body");
}

static void
test_http10(pc_pool_t *pool)
{
    pc_http_req_t *req = new_req(pool, 10, PC_HTTP_GET);
    pc_buf_t       b;
    pc_chain_t     cl = { &b, NULL };
    u_char         data[] = "xyz";

    req->r.status = 200;
    pc_http_send_header(&req->r);
    memset(&b, 0, sizeof(b));
    b.start = b.pos = data;
    b.end = b.last = data + 3;
    pc_http_send_body(&req->r, &cl, 1);
    wire[wire_len] = '\0';
    ok(!req->r.chunked_out && !req->r.keepalive, "1.0, unknown length: close-delimited");
    ok(strstr((char *) wire, "Transfer-Encoding") == NULL
       && strstr((char *) wire, "Connection: close\r\n") != NULL, "no chunked to 1.0");
    ok(wire_len >= 3 && memcmp(wire + wire_len - 3, "xyz", 3) == 0, "raw body");
}

/* A response decided while the ignored body turned out malformed becomes
 * the error response; the handler's own body is dropped. */
static void
test_replaced(pc_pool_t *pool)
{
    pc_http_req_t *req = new_req(pool, 11, PC_HTTP_GET);
    pc_str_t       body = S("handler body");

    req->body_status = 400;
    req->r.discard_body = 1;
    errors_sent = 0;
    is_int(pc_http_send_simple(&req->r, 200, NULL, &body), PC_OK, "send_simple succeeds");
    is_int(errors_sent, 1, "error response sent instead");
    is_int(error_status, 400, "... with the body's status");
    ok(strstr((char *) wire, "handler body") == NULL && wire_len > 0 && wire[wire_len - 1] == 'E',
       "the handler's body is dropped");
    is_int(req->r.status, 400, "r->status is the error's");
}

int
main(void)
{
    pc_pool_t *pool;

    setup();
    pool = pc_pool_create(8192);
    test_head();
    test_chunk_line();
    test_fields(pool);
    test_one_writev(pool);
    test_partial(pool);
    test_again_event(pool);
    test_head_method(pool);
    test_http10(pool);
    test_replaced(pool);
    pc_pool_destroy(pool);
    ev_loop_destroy(worker.loop);
    close(pipefd[0]);
    close(pipefd[1]);
    return done_testing();
}
