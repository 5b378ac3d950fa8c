/*
 * pc_http_write.c -- the response writer: head serialisation, chunk framing,
 * the output queue and writev, response header editing.
 *
 * Output queue.  Bytes waiting to be written are a short array of spans
 * (req->out): the serialised head (request pool), chunk framing (own
 * memory), and the caller's body buffers, referenced, not copied.  As bytes
 * go out the writer advances each caller buffer's pos, so a producer knows a
 * buffer is free again when pos == last; on PC_AGAIN the caller stops
 * producing until r->write_event_handler runs.  The head and the first body
 * bytes leave in one writev.
 *
 * Timeout.  send_timeout bounds the gap between two successful writes while
 * the queue waits for the socket (req->send_timer), not the whole response.
 */
#include <errno.h>
#include <string.h>

#include "http/pc_http.h"
#include "http/pc_http_phase.h"
#include "http/pc_http_request.h"
#include "http/pc_http_log.h"
#include "http/pc_http_write.h"
#include "event/pc_worker.h"

static const u_char crlf[] = "\r\n";
static const u_char last_chunk[] = "0\r\n\r\n";

/* ---------------------------------------------------------------------
 * Pure serialisation
 * ------------------------------------------------------------------- */

enum { F_COPY = 0, F_SKIP, F_SERVER, F_DATE };

/* name (already known to have lower's length) is lower, ignoring case. */
static inline bool
name_is(const pc_str_t *name, const char *lower)
{
    return pc_str_eq_lower(name->data, lower, name->len);
}

/* What the head writer does with a field of r->out. */
static int
field_kind(const pc_str_t *name)
{
    switch (name->len) {
    case 4:
        return name_is(name, "date") ? F_DATE : F_COPY;
    case 6:
        return name_is(name, "server") ? F_SERVER : F_COPY;
    case 10:
        return name_is(name, "connection") || name_is(name, "keep-alive")
               ? F_SKIP : F_COPY;
    case 14:
        return name_is(name, "content-length") ? F_SKIP : F_COPY;
    case 17:
        return name_is(name, "transfer-encoding") ? F_SKIP : F_COPY;
    default:
        return F_COPY;
    }
}

#define LIT(s)  (sizeof(s) - 1)

static size_t
dec_len(uint64_t v)
{
    size_t n = 1;

    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* Which of Server / Date the fields already carry (bit 0 / bit 1). */
static unsigned
own_fields(const pc_http_head_out_t *h, size_t *copied)
{
    unsigned seen = 0;
    uint32_t i;
    int      kind;

    *copied = 0;
    for (i = 0; i < h->nfields; i++) {
        kind = field_kind(&h->fields[i].name);
        if (kind == F_SKIP)
            continue;
        if (kind == F_SERVER)
            seen |= 1;
        else if (kind == F_DATE)
            seen |= 2;
        *copied += h->fields[i].name.len + LIT(": ") + h->fields[i].value.len + 2;
    }
    return seen;
}

/* Contract: see pc_http_write.h (pure). */
size_t
pc_http_head_len(const pc_http_head_out_t *h)
{
    size_t   len, fields;
    unsigned seen = own_fields(h, &fields);

    len = LIT("HTTP/1.1 200 ") + 2 + fields
          + (h->reason.len > 0 ? h->reason.len : strlen(pc_http_status_text(h->status)));
    if (!(seen & 1))
        len += LIT("Server: portcullis\r\n");
    if (!(seen & 2) && h->date.len > 0)
        len += LIT("Date: \r\n") + h->date.len;
    if (h->content_length >= 0)
        len += LIT("Content-Length: \r\n") + dec_len((uint64_t) h->content_length);
    else if (h->chunked)
        len += LIT("Transfer-Encoding: chunked\r\n");
    len += h->keepalive ? LIT("Connection: keep-alive\r\n") : LIT("Connection: close\r\n");
    return len + 2;
}

#define CPY(p, s)  pc_cpymem((p), (s), LIT(s))

static u_char *
write_status_line(u_char *p, int status, const pc_str_t *reason)
{
    const char *text = pc_http_status_text(status);
    unsigned    s = (unsigned) status % 1000;

    p = CPY(p, "HTTP/1.1 ");
    *p++ = (u_char) ('0' + s / 100);
    *p++ = (u_char) ('0' + s / 10 % 10);
    *p++ = (u_char) ('0' + s % 10);
    *p++ = ' ';
    p = reason->len > 0 ? pc_cpymem(p, reason->data, reason->len)
                        : pc_cpymem(p, text, strlen(text));
    return CPY(p, "\r\n");
}

/* Contract: see pc_http_write.h (pure); writes exactly
 * pc_http_head_len(h) bytes. */
u_char *
pc_http_head_write(u_char *p, const pc_http_head_out_t *h)
{
    const pc_http_field_t *f;
    size_t   unused;
    unsigned seen = own_fields(h, &unused);
    uint32_t i;

    p = write_status_line(p, h->status, &h->reason);
    if (!(seen & 1))
        p = CPY(p, "Server: portcullis\r\n");
    if (!(seen & 2) && h->date.len > 0) {
        p = CPY(p, "Date: ");
        p = CPY(pc_cpymem(p, h->date.data, h->date.len), "\r\n");
    }
    for (i = 0; i < h->nfields; i++) {
        f = &h->fields[i];
        if (field_kind(&f->name) == F_SKIP)
            continue;
        p = CPY(pc_cpymem(p, f->name.data, f->name.len), ": ");
        p = CPY(pc_cpymem(p, f->value.data, f->value.len), "\r\n");
    }
    if (h->content_length >= 0) {
        p = CPY(p, "Content-Length: ");
        p = CPY(pc_u64toa(p, (uint64_t) h->content_length), "\r\n");
    } else if (h->chunked) {
        p = CPY(p, "Transfer-Encoding: chunked\r\n");
    }
    p = h->keepalive ? CPY(p, "Connection: keep-alive\r\n") : CPY(p, "Connection: close\r\n");
    return CPY(p, "\r\n");
}

/* Contract: lowercase hex size and CRLF at dst (18 bytes room); returns
 * the length (pure). */
size_t
pc_http_chunk_line(u_char *dst, uint64_t size)
{
    static const char hex[] = "0123456789abcdef";
    u_char tmp[16];
    size_t n = 0, i;

    do {
        tmp[n++] = (u_char) hex[size & 0xf];
        size >>= 4;
    } while (size != 0);
    for (i = 0; i < n; i++)
        dst[i] = tmp[n - 1 - i];
    dst[n] = '\r';
    dst[n + 1] = '\n';
    return n + 2;
}

/* ---------------------------------------------------------------------
 * Output queue
 * ------------------------------------------------------------------- */

static pc_rc_t
queue_span(pc_http_req_t *req, const u_char *p, size_t len, pc_buf_t *b)
{
    if (len == 0)
        return PC_OK;
    if (req->nspans == PC_HTTP_OUT_SPANS)
        return PC_ERROR;
    req->out[req->nspans++] = (pc_http_span_t) { (u_char *) p, len, b };
    return PC_OK;
}

/* Contract: appends own bytes (static or r->pool memory) to the output
 * queue; PC_ERROR when the queue is full. */
pc_rc_t
pc_http_write_queue(pc_http_req_t *req, const u_char *p, size_t len)
{
    return queue_span(req, p, len, NULL);
}

/* Drop n written bytes from the front of the queue. */
static void
consume(pc_http_req_t *req, size_t n)
{
    pc_http_span_t *s = req->out;
    uint32_t        done = 0;
    size_t          k;

    while (n > 0 && done < req->nspans) {
        k = pc_min(n, s[done].len);
        s[done].pos += k;
        s[done].len -= k;
        if (s[done].buf != NULL)
            s[done].buf->pos = s[done].pos;
        n -= k;
        if (s[done].len == 0)
            done++;
    }
    if (done > 0) {
        memmove(s, s + done, (req->nspans - done) * sizeof(*s));
        req->nspans -= done;
    }
}

static void
wait_for_socket(pc_http_req_t *req, bool progressed)
{
    pc_conn_t           *c = req->r.c;
    pc_http_core_conf_t *ccf = pc_http_core_conf(&req->r);
    double               t = (double) ccf->send_timeout / 1000.0;

    if (!req->send_waiting) {
        req->send_waiting = 1;
        pc_conn_want_write(c, true);
        progressed = true;
    }
    if (progressed && ccf->send_timeout > 0) {
        req->send_timer.repeat = t;
        ev_timer_again(pc_conn_loop(c), &req->send_timer);
    }
}

/* Contract: writes the queue with writev until empty (PC_OK), the socket
 * blocks (PC_AGAIN: write watcher and send_timeout armed), or the
 * connection fails (PC_ERROR, c->error set). */
pc_rc_t
pc_http_write_flush(pc_http_req_t *req)
{
    struct iovec iov[PC_HTTP_OUT_SPANS];
    pc_conn_t   *c = req->r.c;
    size_t       total;
    ssize_t      n;
    uint32_t     i;
    bool         progressed = false;

    while (req->nspans > 0) {
        if (c->error)
            return PC_ERROR;
        for (i = 0, total = 0; i < req->nspans; i++) {
            iov[i].iov_base = req->out[i].pos;
            iov[i].iov_len = req->out[i].len;
            total += req->out[i].len;
        }
        n = pc_conn_writev(c, iov, (int) req->nspans);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                wait_for_socket(req, progressed);
                return PC_AGAIN;
            }
            c->error = 1;
            return PC_ERROR;
        }
        req->r.bytes_sent += (uint64_t) n;
        consume(req, (size_t) n);
        if ((size_t) n < total) {
            /* A short write means the socket buffer is full: another
             * writev now would only return EAGAIN. */
            wait_for_socket(req, n > 0);
            return PC_AGAIN;
        }
        progressed = true;
    }
    if (req->send_waiting) {
        req->send_waiting = 0;
        pc_conn_want_write(c, false);
        ev_timer_stop(pc_conn_loop(c), &req->send_timer);
    }
    return PC_OK;
}

/* Contract: write watcher callback: flushes, then wakes the producer or
 * lets the request end; aborts the request on a write error. */
void
pc_http_write_event(pc_conn_t *c)
{
    pc_http_conn_t *hc = c->data;
    pc_http_req_t  *req = hc != NULL ? hc->req : NULL;
    pc_rc_t         rc;

    if (req == NULL || req->nspans == 0) {
        pc_conn_want_write(c, false);
        return;
    }
    pc_http_req_enter(hc);
    rc = pc_http_write_flush(req);
    if (rc == PC_ERROR)
        pc_http_req_abort(req);
    else if (rc == PC_OK)
        pc_http_req_output_done(req);
    pc_http_req_leave(hc);
}

/* Contract: send_timeout expired between two successful writes: the
 * request is aborted and the connection closed. */
void
pc_http_send_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    pc_conn_t      *c = w->data;
    pc_http_conn_t *hc = c->data;
    pc_str_t        line;

    PC_UNUSED(loop);
    PC_UNUSED(revents);
    if (hc == NULL || hc->req == NULL)
        return;
    line = pc_http_log_redacted_request(&hc->req->r);
    pc_log(PC_LOG_INFO, 0, "client timed out (send_timeout), client: %.*s, request: \"%.*s\"",
           (int) hc->req->r.remote_addr.len, (const char *) hc->req->r.remote_addr.data,
           (int) line.len, (const char *) line.data);
    pc_http_req_enter(hc);
    pc_http_req_abort(hc->req);
    pc_http_req_leave(hc);
}

/* ---------------------------------------------------------------------
 * Head
 * ------------------------------------------------------------------- */

/* Framing and persistence of the response, from status, method, length
 * and the client's version. */
static void
decide_framing(pc_http_req_t *req)
{
    pc_http_request_t *r = &req->r;

    if (r->status < 200 || r->status == 204 || r->status == 304) {
        r->header_only = 1;
        r->out_content_length = -1;
    } else if (r->method == PC_HTTP_HEAD) {
        /* Keep the Content-Length a GET would have had. */
        r->header_only = 1;
    }
    r->keepalive = pc_http_req_keepalive(req);
    r->chunked_out = 0;
    if (!r->header_only && r->out_content_length < 0) {
        if (r->http_version >= 11)
            r->chunked_out = 1;
        else
            r->keepalive = 0;       /* HTTP/1.0: the close delimits the body */
    }
}

/* Contract: see pc_http.h.  Queues the head (request pool) without
 * writing; PC_ERROR when already sent, a header filter failed or ENOMEM. */
pc_rc_t
pc_http_send_header(pc_http_request_t *r)
{
    pc_http_req_t      *req = pc_http_req(r);
    pc_http_head_out_t  h;
    u_char             *p;
    size_t              len;

    if (r->header_sent) {
        pc_log(PC_LOG_ALERT, 0, "http: response head sent twice");
        return PC_ERROR;
    }
    if (r->c->error)
        return PC_ERROR;
    if (r->status == 0)
        r->status = 200;
    if (req->body_status != 0 && r->discard_body && r->status < 400 && !req->replaced) {
        /* The body this response ignores is malformed or over the limit
         * (found while discarding it): SPEC §8 answers that instead. */
        if (pc_http_send_error(r, req->body_status, NULL) != PC_OK)
            return PC_ERROR;
        req->replaced = 1;
        return PC_OK;
    }
    if (pc_http_run_header_filters(r) != PC_OK)
        return PC_ERROR;
    decide_framing(req);

    h = (pc_http_head_out_t) { r->status, pc_null_string, r->out, r->nout,
                               pc_time.http_date, r->out_content_length,
                               r->chunked_out, r->keepalive };
    if (r->reason.len > 0 && r->reason_status == r->status)
        h.reason = r->reason;
    len = pc_http_head_len(&h);
    p = pc_pnalloc(r->pool, len);
    if (p == NULL)
        return PC_ERROR;
    pc_http_head_write(p, &h);
    if (pc_http_write_queue(req, p, len) != PC_OK)
        return PC_ERROR;
    req->head_len += (uint32_t) len;
    r->header_sent = 1;
    return PC_OK;
}

/* ---------------------------------------------------------------------
 * Body
 * ------------------------------------------------------------------- */

/* Memory for a chunk-size line: the request's scratch unless a queued span
 * still points into it. */
static u_char *
chunk_line_mem(pc_http_req_t *req)
{
    uint32_t i;

    for (i = 0; i < req->nspans; i++) {
        if (req->out[i].pos >= req->chunk_line
            && req->out[i].pos < req->chunk_line + sizeof(req->chunk_line))
            return pc_pnalloc(req->r.pool, sizeof(req->chunk_line));
    }
    return req->chunk_line;
}

/* Copy the data of cl into one request-pool block (the queue is full and
 * the socket blocked: rare, bounded by what the caller passed). */
static pc_rc_t
queue_copy(pc_http_req_t *req, pc_chain_t *cl, size_t total)
{
    u_char *p, *d = pc_pnalloc(req->r.pool, total);

    if (d == NULL)
        return PC_ERROR;
    for (p = d; cl != NULL; cl = cl->next) {
        p = pc_cpymem(p, cl->buf->pos, (size_t) (cl->buf->last - cl->buf->pos));
        cl->buf->pos = cl->buf->last;
    }
    return queue_span(req, d, total, NULL);
}

/* Queue the data of cl (and its chunk framing). */
static pc_rc_t
queue_body(pc_http_req_t *req, pc_chain_t *cl, int last)
{
    pc_chain_t *l;
    size_t      total = 0, nbufs = 0, n;
    u_char     *line;

    for (l = cl; l != NULL; l = l->next) {
        if (l->buf != NULL && l->buf->last > l->buf->pos) {
            total += (size_t) (l->buf->last - l->buf->pos);
            nbufs++;
        }
    }
    if (req->nspans + nbufs + 3 > PC_HTTP_OUT_SPANS
        && pc_http_write_flush(req) == PC_ERROR)
        return PC_ERROR;
    if (total > 0 && req->r.chunked_out) {
        if ((line = chunk_line_mem(req)) == NULL)
            return PC_ERROR;
        n = pc_http_chunk_line(line, total);
        if (queue_span(req, line, n, NULL) != PC_OK)
            return PC_ERROR;
    }
    if (req->nspans + nbufs + 2 > PC_HTTP_OUT_SPANS) {
        if (total > 0 && queue_copy(req, cl, total) != PC_OK)
            return PC_ERROR;
    } else {
        for (l = cl; l != NULL; l = l->next) {
            if (l->buf != NULL && l->buf->last > l->buf->pos)
                (void) queue_span(req, l->buf->pos,
                                  (size_t) (l->buf->last - l->buf->pos), l->buf);
        }
    }
    if (total > 0 && req->r.chunked_out && queue_span(req, crlf, 2, NULL) != PC_OK)
        return PC_ERROR;
    if (last && req->r.chunked_out && !req->truncated)
        return queue_span(req, last_chunk, LIT("0\r\n\r\n"), NULL);
    return PC_OK;
}

/* Contract: see pc_http.h.  Buffers are referenced, not copied: the
 * writer advances each buffer's pos as bytes go out. */
pc_rc_t
pc_http_send_body(pc_http_request_t *r, pc_chain_t *in, int last)
{
    pc_http_req_t *req = pc_http_req(r);
    pc_chain_t    *cl = in, *l;

    if (!r->header_sent || r->c->error)
        return PC_ERROR;
    if (req->replaced) {
        for (l = in; l != NULL; l = l->next)
            if (l->buf != NULL)
                l->buf->pos = l->buf->last;
        return pc_http_write_flush(req);
    }
    if (req->last_sent) {
        for (l = in; l != NULL; l = l->next)
            if (l->buf != NULL && l->buf->last > l->buf->pos)
                return PC_ERROR;    /* body bytes after the end of the body */
        return pc_http_write_flush(req);
    }
    if (r->header_only) {
        /* HEAD/204/304: the body is dropped, its buffers are free. */
        for (l = in; l != NULL; l = l->next)
            if (l->buf != NULL)
                l->buf->pos = l->buf->last;
    } else {
        if (pc_http_run_body_filters(r, &cl, last) != PC_OK
            || queue_body(req, cl, last) != PC_OK)
            return PC_ERROR;
    }
    if (last)
        req->last_sent = 1;
    return pc_http_write_flush(req);
}

/* On PC_AGAIN, copy what is still queued from b (caller memory that may
 * not outlive the call) into the request pool. */
static pc_rc_t
pin_spans(pc_http_req_t *req, pc_buf_t *b)
{
    uint32_t i;
    u_char  *copy;

    for (i = 0; i < req->nspans; i++) {
        if (req->out[i].buf != b)
            continue;
        copy = pc_pnalloc(req->r.pool, req->out[i].len);
        if (copy == NULL)
            return PC_ERROR;
        memcpy(copy, req->out[i].pos, req->out[i].len);
        req->out[i].pos = copy;
        req->out[i].buf = NULL;
    }
    b->pos = b->last;
    return PC_OK;
}

static const pc_str_t content_type_name = pc_string("Content-Type");

/* Contract: see pc_http.h.  body may be caller memory that dies after
 * the call (what is not written yet is copied).  PC_OK when everything is
 * written or queued, PC_ERROR otherwise. */
pc_rc_t
pc_http_send_simple(pc_http_request_t *r, int status,
    const pc_str_t *content_type, const pc_str_t *body)
{
    pc_buf_t   *b;
    pc_chain_t  cl;
    pc_rc_t     rc;

    r->status = status;
    if (content_type != NULL && content_type->len > 0
        && pc_http_header_out_set(r, &content_type_name, content_type) != PC_OK)
        return PC_ERROR;
    r->out_content_length = body != NULL ? (int64_t) body->len : 0;
    if (pc_http_send_header(r) != PC_OK)
        return PC_ERROR;
    if (body == NULL || body->len == 0 || r->header_only)
        return pc_http_send_body(r, NULL, 1) == PC_ERROR ? PC_ERROR : PC_OK;

    b = pc_pcalloc(r->pool, sizeof(pc_buf_t));
    if (b == NULL)
        return PC_ERROR;
    b->start = b->pos = body->data;
    b->end = b->last = body->data + body->len;
    b->last_buf = 1;
    cl = (pc_chain_t) { b, NULL };
    rc = pc_http_send_body(r, &cl, 1);
    if (rc == PC_AGAIN)
        rc = pin_spans(pc_http_req(r), b);
    return rc == PC_ERROR ? PC_ERROR : PC_OK;
}

/* ---------------------------------------------------------------------
 * Response header fields (r->out, request pool, grows by doubling)
 * ------------------------------------------------------------------- */

static pc_rc_t
copy_str(pc_pool_t *pool, pc_str_t *dst, const pc_str_t *src)
{
    dst->len = src->len;
    dst->data = src->len > 0 ? pc_pnalloc(pool, src->len) : (u_char *) "";
    if (dst->data == NULL)
        return PC_ERROR;
    if (src->len > 0)
        memcpy(dst->data, src->data, src->len);
    return PC_OK;
}

/* The next free slot of r->out (grown in r->pool); NULL on ENOMEM. */
static pc_http_field_t *
out_slot(pc_http_request_t *r)
{
    pc_http_field_t *f;
    uint32_t         cap;

    if (r->nout == r->out_cap) {
        cap = r->out_cap > 0 ? r->out_cap * 2 : 8;
        f = pc_palloc(r->pool, cap * sizeof(pc_http_field_t));
        if (f == NULL)
            return NULL;
        if (r->nout > 0)
            memcpy(f, r->out, r->nout * sizeof(pc_http_field_t));
        r->out = f;
        r->out_cap = cap;
    }
    return &r->out[r->nout];
}

/* Contract: appends name: value (both copied into r->pool).  PC_ERROR on
 * ENOMEM. */
pc_rc_t
pc_http_header_out_add(pc_http_request_t *r, const pc_str_t *name,
    const pc_str_t *value)
{
    pc_http_field_t *f = out_slot(r);

    if (f == NULL || copy_str(r->pool, &f->name, name) != PC_OK
        || copy_str(r->pool, &f->value, value) != PC_OK)
        return PC_ERROR;
    r->nout++;
    return PC_OK;
}

/* Contract: see pc_http.h. */
pc_rc_t
pc_http_header_out_push(pc_http_request_t *r, const pc_str_t *name,
    const pc_str_t *value)
{
    pc_http_field_t *f = out_slot(r);

    if (f == NULL)
        return PC_ERROR;
    f->name = *name;
    f->value = *value;
    r->nout++;
    return PC_OK;
}

/* Contract: the first response field named name (case-insensitive), or
 * NULL. */
pc_http_field_t *
pc_http_header_out_find(pc_http_request_t *r, const pc_str_t *name)
{
    uint32_t i;

    for (i = 0; i < r->nout; i++)
        if (pc_str_caseeq(&r->out[i].name, name))
            return &r->out[i];
    return NULL;
}

/* Contract: replaces the value of the first field named name and drops
 * the others of that name, or adds it.  PC_ERROR on ENOMEM. */
pc_rc_t
pc_http_header_out_set(pc_http_request_t *r, const pc_str_t *name,
    const pc_str_t *value)
{
    pc_http_field_t *f = pc_http_header_out_find(r, name);
    uint32_t         i, j;

    if (f == NULL)
        return pc_http_header_out_add(r, name, value);
    if (copy_str(r->pool, &f->value, value) != PC_OK)
        return PC_ERROR;
    /* One field of that name remains: drop later duplicates. */
    for (i = j = (uint32_t) (f - r->out) + 1; i < r->nout; i++)
        if (!pc_str_caseeq(&r->out[i].name, name))
            r->out[j++] = r->out[i];
    r->nout = j;
    return PC_OK;
}

/* Contract: removes every response field named name.  Nothing moves
 * when there is none (the common case: it runs on every response). */
void
pc_http_header_out_remove(pc_http_request_t *r, const pc_str_t *name)
{
    uint32_t i, j;

    for (i = 0; i < r->nout; i++)
        if (r->out[i].name.len == name->len && pc_str_caseeq(&r->out[i].name, name))
            break;
    for (j = i; i < r->nout; i++)
        if (!pc_str_caseeq(&r->out[i].name, name))
            r->out[j++] = r->out[i];
    r->nout = j;
}
