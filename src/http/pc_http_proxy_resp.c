/*
 * pc_http_proxy_resp.c -- an upstream's response head as the client gets
 * it: the final head copied into the request (status, the upstream's
 * reason phrase when it is plain, every field but hop-by-hop and hidden
 * ones, the length) and sent through the runtime's filters; an interim
 * 1xx written to the client as it comes.  Split from pc_http_proxy.c,
 * which drives the exchange and calls these.
 */
#include <string.h>
#include <sys/uio.h>

#include "http/pc_http_proxy.h"
#include "http/pc_http_proxy_ctx.h"

/* Contract: see pc_http_proxy_ctx.h. */
u_char *
pc_http_proxy_put_fields(u_char *p, const pc_http_head_t *h, const u_char *b)
{
    uint32_t i;

    for (i = 0; i < h->nheaders; i++) {
        if (pc_http_proxy_pass_field(h, b, &h->headers[i], NULL, 0)) {
            p = pc_cpymem(p, b + h->headers[i].name, h->headers[i].name_len);
            p = pc_cpymem(p, ": ", 2);
            p = pc_cpymem(p, b + h->headers[i].value, h->headers[i].value_len);
            p = pc_cpymem(p, "\r\n", 2);
        }
    }
    return p;
}

/* A reason phrase worth passing on: 1 to 64 bytes, no obs-text (a longer
 * one or one with bytes over 0x7f: ours instead).  The head parser let
 * nothing but HTAB, SP, VCHAR and obs-text into the status line
 * (scan_line, pc_http_vchar_tab), so obs-text is all there is to check. */
static bool
reason_ok(const u_char *p, size_t len)
{
    size_t i;

    if (len == 0 || len > 64)
        return false;
    for (i = 0; i < len; i++) {
        if (p[i] >= 0x80)
            return false;
    }
    return true;
}

/* Contract: see pc_http_proxy_ctx.h. */
pc_rc_t
pc_http_proxy_send_head(pc_http_proxy_ctx_t *ctx)
{
    pc_http_request_t      *r = ctx->r;
    const pc_http_head_t   *h = &ctx->resp.head;
    const u_char           *b = ctx->buf->pos;
    const pc_str_t         *hide = NULL;
    uint32_t                i, nhide = 0;
    pc_str_t                name, value;
    u_char                 *head;

    if (ctx->plcf->hide_headers != NULL) {
        hide = ctx->plcf->hide_headers->elts;
        nhide = ctx->plcf->hide_headers->nelts;
    }
    /* The fields outlive the buffer (body bytes reuse it; the access log
     * may read $sent_http_*): one copy of the whole head into r->pool,
     * fields pointing into it, instead of two copies per field. */
    head = pc_pnalloc(r->pool, h->head_len);
    if (head == NULL) {
        return pc_http_proxy_end(ctx, PC_ERROR);
    }
    memcpy(head, b, h->head_len);
    r->status = h->status;
    if (reason_ok(head + h->reason_off, h->reason_len)) {
        /* the upstream's own phrase goes to the client, as nginx does */
        r->reason = (pc_str_t) { h->reason_len, head + h->reason_off };
        r->reason_status = h->status;
    }
    for (i = 0; i < h->nheaders; i++) {
        if (!pc_http_proxy_pass_field(h, b, &h->headers[i], hide, nhide)) {
            continue;
        }
        name.data = head + h->headers[i].name;
        name.len = h->headers[i].name_len;
        value.data = head + h->headers[i].value;
        value.len = h->headers[i].value_len;
        if (pc_http_header_out_push(r, &name, &value) != PC_OK) {
            return pc_http_proxy_end(ctx, PC_ERROR);
        }
    }
    r->out_content_length = h->body == PC_HTTP_BODY_LENGTH
                            || (h->body == PC_HTTP_BODY_NONE && r->method == PC_HTTP_HEAD)
                            ? h->content_length : -1;
    if (pc_http_send_header(r) != PC_OK) {
        return pc_http_proxy_end(ctx, PC_ERROR);
    }
    return PC_OK;
}

/*
 * Forward a 1xx other than 101 (100, 102, 103 Early Hints) to an HTTP/1.1
 * client, hop-by-hop fields removed: SPEC §8, and RFC 9110 §15.2 (a proxy
 * forwards every 1xx it did not ask for; it never sends Expect upstream).
 * Written directly: before the final head nothing can be queued but our
 * own 100 Continue, and once that one was sent the upstream's interim
 * responses are dropped instead (a second 100 says nothing, hints are
 * advisory).  A client whose socket cannot take the few bytes at once
 * does not get them either.
 */
void
pc_http_proxy_interim(pc_http_proxy_ctx_t *ctx)
{
    pc_http_request_t    *r = ctx->r;
    const pc_http_head_t *h = &ctx->resp.head;
    const u_char         *b = ctx->buf->pos;
    const char           *text = pc_http_status_text(h->status);
    struct iovec          iov;
    ssize_t               n;
    u_char               *p;

    if (r->http_version < 11 || r->expect_sent) {
        return;
    }
    p = pc_pnalloc(r->pool, h->head_len + h->nheaders * 4 + strlen(text) + 32);
    if (p == NULL) {
        return;
    }
    iov.iov_base = p;
    p = pc_cpymem(p, "HTTP/1.1 ", 9);
    p = pc_u64toa(p, (uint64_t) h->status);
    *p++ = ' ';
    p = pc_cpymem(p, text, strlen(text));
    p = pc_cpymem(p, "\r\n", 2);
    p = pc_http_proxy_put_fields(p, h, b);
    p = pc_cpymem(p, "\r\n", 2);
    iov.iov_len = (size_t) (p - (u_char *) iov.iov_base);
    n = pc_conn_writev(r->c, &iov, 1);
    if (n > 0) {
        r->bytes_sent += (uint64_t) n;
    }
    if (n > 0 && (size_t) n < iov.iov_len) {
        r->c->error = 1;            /* half a head: the connection is unusable */
    }
}
