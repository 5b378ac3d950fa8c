/*
 * fuzz_proxy_response.c -- libFuzzer target for the proxy's response path.
 *
 * The input is one control byte then raw upstream bytes.  The control byte
 * picks the request method (GET/HEAD), the client version (1.1/1.0) and
 * the read sizes.  The bytes go through what pc_http_proxy.c does with an
 * upstream response, with the same pure functions (pc_http_proxy_msg.c) and
 * a small proxy buffer: heads parsed in place (1xx skipped, compaction when
 * the buffer fills), fields filtered, the body decoded in place, and the
 * response re-framed for the client the way the writer does it
 * (Content-Length kept, else chunked for 1.1 and close-delimited for 1.0;
 * no body for HEAD, 1xx, 204, 304).
 *
 * Checked: spans stay inside the buffer; a Content-Length body delivers
 * exactly that many bytes; and when the response completes, the re-framed
 * output parses back (strict parser, chunked decoder) to the same status
 * and exactly the payload that was decoded, with no hop-by-hop field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pc_types.h"
#include "core/pc_str.h"
#include "http/pc_http_parse.h"
#include "http/pc_http_chunked.h"
#include "http/pc_http_proxy_msg.h"

#define NHDRS    64
#define BUFSIZE  512

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    u_char  *p;
    size_t   len, cap;
} out_t;

static void
put(out_t *o, const void *d, size_t n)
{
    if (o->len + n > o->cap) {
        o->cap = (o->len + n) * 2 + 64;
        o->p = realloc(o->p, o->cap);
        CHECK(o->p != NULL);
    }
    if (n > 0) {
        memcpy(o->p + o->len, d, n);
    }
    o->len += n;
}

static void
puts_(out_t *o, const char *s)
{
    put(o, s, strlen(s));
}

typedef struct {
    pc_http_proxy_resp_t  rs;
    pc_http_header_t      hdrs[NHDRS];
    u_char                buf[BUFSIZE];
    size_t                pos, last;
    const uint8_t        *in;
    size_t                in_len, in_off;
    unsigned              seed;
    pc_http_method_e      method;
    int                   client10;
    int                   status;
    int                   chunked_out;
    int                   header_only;
    out_t                 out;       /* what the client receives          */
    out_t                 payload;   /* decoded body, for the comparison  */
} sim_t;

/* "recv": a pseudo-random number of the remaining input bytes. */
static int
fill(sim_t *s)
{
    size_t room = BUFSIZE - s->last, n;

    if (s->in_off == s->in_len) {
        return 0;
    }
    s->seed = s->seed * 1103515245u + 12345u;
    n = 1 + (s->seed >> 16) % room;
    n = pc_min(n, s->in_len - s->in_off);
    memcpy(s->buf + s->last, s->in + s->in_off, n);
    s->in_off += n;
    s->last += n;
    return 1;
}

/* The client's head, as pc_http_send_header would frame it. */
static void
emit_head(sim_t *s)
{
    const pc_http_head_t *h = &s->rs.head;
    const u_char         *b = s->buf + s->pos;
    char                  line[64];
    int64_t               cl = -1;
    uint32_t              i;

    s->status = h->status;
    s->header_only = s->method == PC_HTTP_HEAD || h->status == 204 || h->status == 304;
    if (h->body == PC_HTTP_BODY_LENGTH
        || (h->body == PC_HTTP_BODY_NONE && s->method == PC_HTTP_HEAD))
    {
        cl = h->content_length;
    }
    if (h->status == 204 || h->status == 304) {
        cl = -1;
    }
    snprintf(line, sizeof(line), "HTTP/1.1 %d X\r\n", h->status);
    puts_(&s->out, line);
    for (i = 0; i < h->nheaders; i++) {
        const pc_http_header_t *f = &h->headers[i];

        if (!pc_http_proxy_pass_field(h, b, f, NULL, 0)) {
            continue;
        }
        CHECK(f->id != PC_HTTP_H_CONNECTION && f->id != PC_HTTP_H_TRANSFER_ENCODING
              && f->id != PC_HTTP_H_CONTENT_LENGTH && f->id != PC_HTTP_H_TE
              && f->id != PC_HTTP_H_UPGRADE && f->id != PC_HTTP_H_KEEP_ALIVE);
        put(&s->out, b + f->name, f->name_len);
        puts_(&s->out, ": ");
        put(&s->out, b + f->value, f->value_len);
        puts_(&s->out, "\r\n");
    }
    if (cl >= 0) {
        snprintf(line, sizeof(line), "Content-Length: %lld\r\n", (long long) cl);
        puts_(&s->out, line);
    } else if (!s->header_only && !s->client10) {
        puts_(&s->out, "Transfer-Encoding: chunked\r\n");
        s->chunked_out = 1;
    }
    puts_(&s->out, "\r\n");
}

static void
emit_body(sim_t *s, const u_char *d, size_t n)
{
    char line[32];

    CHECK(n == 0 || (d >= s->buf && d + n <= s->buf + s->last));
    put(&s->payload, d, n);
    if (s->header_only || n == 0) {
        return;
    }
    if (s->chunked_out) {
        snprintf(line, sizeof(line), "%zx\r\n", n);
        puts_(&s->out, line);
    }
    put(&s->out, d, n);
    if (s->chunked_out) {
        puts_(&s->out, "\r\n");
    }
}

/* Heads until the final one; 1 when it is emitted, 0 when the response
 * ended (error, EOF, 101). */
static int
run_head(sim_t *s)
{
    pc_rc_t rc;

    for ( ;; ) {
        rc = pc_http_proxy_resp_head(&s->rs, s->buf + s->pos, s->last - s->pos);
        if (rc == PC_ERROR) {
            CHECK(s->rs.error != NULL && s->rs.head.error_status == 502);
            return 0;
        }
        if (rc == PC_OK && s->rs.head.status == 101) {
            return 0;                       /* a tunnel: not this path */
        }
        if (rc == PC_OK && s->rs.head.status < 200) {
            CHECK(s->rs.head.head_len <= s->last - s->pos);
            s->pos += s->rs.head.head_len;
            if (pc_http_proxy_resp_next_head(&s->rs) != PC_OK) {
                return 0;
            }
            continue;
        }
        if (rc == PC_OK) {
            emit_head(s);
            s->pos += s->rs.head.head_len;
            return 1;
        }
        if (s->last == BUFSIZE) {
            if (s->pos == 0) {
                return 0;                   /* head over proxy_buffer_size: 502 */
            }
            memmove(s->buf, s->buf + s->pos, s->last - s->pos);
            s->last -= s->pos;
            s->pos = 0;
        }
        if (!fill(s)) {
            CHECK(pc_http_proxy_resp_eof(&s->rs) == PC_ERROR);
            return 0;
        }
    }
}

/* The body; 1 when the response completed. */
static int
run_body(sim_t *s)
{
    const u_char *pos, *d;
    size_t        n;
    pc_rc_t       rc;

    for ( ;; ) {
        pos = s->buf + s->pos;
        rc = pc_http_proxy_resp_body(&s->rs, &pos, s->buf + s->last, &d, &n);
        CHECK(pos >= s->buf + s->pos && pos <= s->buf + s->last);
        s->pos = (size_t) (pos - s->buf);
        if (rc == PC_ERROR) {
            return 0;
        }
        emit_body(s, d, n);
        if (rc == PC_DONE) {
            return 1;
        }
        if (rc == PC_AGAIN) {
            CHECK(s->pos == s->last);
            s->pos = s->last = 0;
            if (!fill(s)) {
                return pc_http_proxy_resp_eof(&s->rs) == PC_DONE;
            }
        }
    }
}

/* Parse the client's bytes back and compare with what was decoded. */
static void
verify(sim_t *s)
{
    pc_http_parser_t   p;
    pc_http_head_t     h;
    pc_http_header_t   hdrs[NHDRS + 4];
    pc_http_chunked_t  ch;
    const u_char      *pos, *end, *d;
    size_t             n;
    out_t              body = { NULL, 0, 0 };
    pc_rc_t            rc;

    pc_http_parser_init(&p, &h, hdrs, NHDRS + 4, NULL);
    rc = pc_http_parse_response(&p, s->out.p, s->out.len, s->method);
    CHECK(rc == PC_OK);
    CHECK(h.status == s->status);
    CHECK(h.idx[PC_HTTP_H_CONNECTION] == 0 && h.idx[PC_HTTP_H_KEEP_ALIVE] == 0);
    pos = s->out.p + h.head_len;
    end = s->out.p + s->out.len;
    if (s->header_only) {
        CHECK(pos == end);
    } else if (h.body == PC_HTTP_BODY_CHUNKED) {
        pc_http_chunked_init(&ch, 0, 0);
        do {
            rc = pc_http_chunked_decode(&ch, &pos, end, &d, &n);
            CHECK(rc != PC_ERROR);
            put(&body, d, n);
        } while (rc == PC_OK);
        CHECK(rc == PC_DONE && pos == end);
        CHECK(body.len == s->payload.len
              && (body.len == 0 || memcmp(body.p, s->payload.p, body.len) == 0));
    } else {
        n = (size_t) (end - pos);
        CHECK(n == s->payload.len && (n == 0 || memcmp(pos, s->payload.p, n) == 0));
        if (h.body == PC_HTTP_BODY_LENGTH) {
            CHECK((int64_t) n == h.content_length);
        }
    }
    free(body.p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sim_t s;
    int          done;

    if (size < 1) {
        return 0;
    }
    memset(&s, 0, sizeof(s));
    s.method = (data[0] & 1) ? PC_HTTP_HEAD : PC_HTTP_GET;
    s.client10 = (data[0] >> 1) & 1;
    s.seed = data[0] >> 2;
    s.in = data + 1;
    s.in_len = size - 1;
    pc_http_proxy_resp_init(&s.rs, s.hdrs, NHDRS, BUFSIZE, s.method);
    done = run_head(&s) && run_body(&s);
    if (done && s.chunked_out) {
        puts_(&s.out, "0\r\n\r\n");            /* the writer's last chunk */
    }
    if (done) {
        if (s.rs.head.body == PC_HTTP_BODY_LENGTH && !s.header_only) {
            CHECK((int64_t) s.payload.len == s.rs.head.content_length);
        }
        verify(&s);
    }
    free(s.out.p);
    free(s.payload.p);
    return 0;
}
