/*
 * pc_http_proxy_msg.c -- upstream response sequencing and header filtering
 * (see pc_http_proxy_msg.h).  Pure: no I/O, no allocation, no clock.
 */
#include <string.h>

#include "core/pc_str.h"
#include "http/pc_http_chars.h"
#include "http/pc_http_proxy_msg.h"

void
pc_http_proxy_resp_init(pc_http_proxy_resp_t *rs, pc_http_header_t *hdrs,
    uint32_t cap, uint32_t max_head, pc_http_method_e method)
{
    memset(rs, 0, sizeof(*rs));
    rs->hdrs = hdrs;
    rs->hdrs_cap = cap;
    /* The status line and each header line share the head bound: a head
     * must fit in the proxy buffer, nothing else limits it further. */
    rs->limits.max_request_line = max_head;
    rs->limits.max_header_line = max_head;
    rs->limits.max_head = max_head;
    rs->method = method;
    rs->state = PC_HTTP_PROXY_RESP_HEAD;
    pc_http_parser_init(&rs->parser, &rs->head, hdrs, cap, &rs->limits);
}

pc_rc_t
pc_http_proxy_resp_head(pc_http_proxy_resp_t *rs, const u_char *buf, size_t len)
{
    pc_rc_t rc;

    if (rs->state != PC_HTTP_PROXY_RESP_HEAD) {
        rs->error = "response head parsed twice";
        return PC_ERROR;
    }
    rc = pc_http_parse_response(&rs->parser, buf, len, rs->method);
    if (rc == PC_ERROR) {
        rs->error = rs->head.error ? rs->head.error : "invalid response head";
        return PC_ERROR;
    }
    if (rc != PC_OK || rs->head.status < 200) {
        return rc;
    }
    switch (rs->head.body) {
    case PC_HTTP_BODY_LENGTH:
        rs->remaining = rs->head.content_length;
        rs->state = rs->remaining > 0 ? PC_HTTP_PROXY_RESP_BODY
                                      : PC_HTTP_PROXY_RESP_DONE;
        break;
    case PC_HTTP_BODY_CHUNKED:
        pc_http_chunked_init(&rs->chunked, 0, 0);
        rs->state = PC_HTTP_PROXY_RESP_BODY;
        break;
    case PC_HTTP_BODY_CLOSE:
        rs->state = PC_HTTP_PROXY_RESP_BODY;
        break;
    default:
        rs->state = PC_HTTP_PROXY_RESP_DONE;
        break;
    }
    return PC_OK;
}

pc_rc_t
pc_http_proxy_resp_next_head(pc_http_proxy_resp_t *rs)
{
    if (++rs->ninterim > PC_HTTP_PROXY_MAX_INTERIM) {
        rs->error = "too many 1xx responses";
        return PC_ERROR;
    }
    pc_http_parser_init(&rs->parser, &rs->head, rs->hdrs, rs->hdrs_cap,
                        &rs->limits);
    return PC_OK;
}

pc_rc_t
pc_http_proxy_resp_body(pc_http_proxy_resp_t *rs, const u_char **pos,
    const u_char *end, const u_char **data, size_t *len)
{
    pc_rc_t rc;
    size_t  n;

    *data = *pos;
    *len = 0;
    if (rs->state == PC_HTTP_PROXY_RESP_DONE) {
        return PC_DONE;
    }
    if (rs->state != PC_HTTP_PROXY_RESP_BODY) {
        rs->error = "body before head";
        return PC_ERROR;
    }
    switch (rs->head.body) {
    case PC_HTTP_BODY_LENGTH:
        n = (size_t) pc_min((int64_t) (end - *pos), rs->remaining);
        *len = n;
        *pos += n;
        rs->remaining -= (int64_t) n;
        if (rs->remaining == 0) {
            rs->state = PC_HTTP_PROXY_RESP_DONE;
            return PC_DONE;
        }
        return n ? PC_OK : PC_AGAIN;

    case PC_HTTP_BODY_CHUNKED:
        rc = pc_http_chunked_decode(&rs->chunked, pos, end, data, len);
        if (rc == PC_ERROR) {
            rs->error = rs->chunked.error ? rs->chunked.error : "bad chunked body";
        } else if (rc == PC_DONE) {
            rs->state = PC_HTTP_PROXY_RESP_DONE;
        }
        return rc;

    default:   /* close-delimited: everything is payload */
        *len = (size_t) (end - *pos);
        *pos = end;
        return PC_AGAIN;
    }
}

pc_rc_t
pc_http_proxy_resp_eof(pc_http_proxy_resp_t *rs)
{
    if (rs->state == PC_HTTP_PROXY_RESP_DONE) {
        return PC_DONE;
    }
    if (rs->state == PC_HTTP_PROXY_RESP_BODY
        && rs->head.body == PC_HTTP_BODY_CLOSE)
    {
        rs->state = PC_HTTP_PROXY_RESP_DONE;
        return PC_DONE;
    }
    rs->error = rs->state == PC_HTTP_PROXY_RESP_HEAD
                ? "closed before the response head was complete"
                : "closed before the response body was complete";
    return PC_ERROR;
}

bool
pc_http_proxy_resp_reusable(const pc_http_proxy_resp_t *rs)
{
    return rs->state == PC_HTTP_PROXY_RESP_DONE
           && rs->head.version == 11
           && !rs->head.conn_close
           && rs->head.body != PC_HTTP_BODY_CLOSE
           && rs->head.status != 101;
}

static bool
is_tchar(u_char c)
{
    return pc_http_tchar_tab[c] != 0;
}

bool
pc_http_proxy_conn_token(const pc_http_head_t *h, const u_char *buf,
    const u_char *name, size_t len)
{
    const pc_http_header_t *f;
    const u_char           *p, *last, *tok;
    uint32_t                n;

    if (h->idx[PC_HTTP_H_CONNECTION] == 0) {
        return false;
    }
    for (n = h->idx[PC_HTTP_H_CONNECTION] - 1; n < h->nheaders; n++) {
        f = &h->headers[n];
        if (f->id != PC_HTTP_H_CONNECTION || f->value_len < len) {
            continue;           /* no token of this field can be that long */
        }
        p = buf + f->value;
        last = p + f->value_len;
        /* The usual values are one token, known to the parser: the name
         * can only be that token itself. */
        if ((f->value_len == 10 && pc_str_eq_lower(p, "keep-alive", 10))
            || (f->value_len == 5 && pc_str_eq_lower(p, "close", 5)))
        {
            if (len == f->value_len && pc_strncasecmp(p, name, len) == 0) {
                return true;
            }
            continue;
        }
        while (p < last) {
            while (p < last && !is_tchar(*p)) {
                p++;
            }
            tok = p;
            while (p < last && is_tchar(*p)) {
                p++;
            }
            if ((size_t) (p - tok) == len && len > 0
                && pc_strncasecmp(tok, name, len) == 0)
            {
                return true;
            }
        }
    }
    return false;
}

bool
pc_http_proxy_hop_by_hop(const pc_http_head_t *h, const u_char *buf,
    const pc_http_header_t *f)
{
    switch (f->id) {
    case PC_HTTP_H_CONNECTION:
    case PC_HTTP_H_KEEP_ALIVE:
    case PC_HTTP_H_PROXY_CONNECTION:
    case PC_HTTP_H_TE:
    case PC_HTTP_H_TRAILER:
    case PC_HTTP_H_TRANSFER_ENCODING:
    case PC_HTTP_H_UPGRADE:
        return true;
    default:
        break;
    }
    if (h->idx[PC_HTTP_H_CONNECTION] == 0) {
        return false;
    }
    return pc_http_proxy_conn_token(h, buf, buf + f->name, f->name_len);
}

bool
pc_http_proxy_pass_field(const pc_http_head_t *h, const u_char *buf,
    const pc_http_header_t *f, const pc_str_t *hide, uint32_t nhide)
{
    uint32_t i;

    if (f->id == PC_HTTP_H_CONTENT_LENGTH || pc_http_proxy_hop_by_hop(h, buf, f)) {
        return false;
    }
    for (i = 0; i < nhide; i++) {
        if (hide[i].len == f->name_len
            && pc_strncasecmp(hide[i].data, buf + f->name, f->name_len) == 0)
        {
            return false;
        }
    }
    return true;
}
