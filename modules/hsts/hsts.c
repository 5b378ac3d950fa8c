/*
 * hsts.c -- Strict-Transport-Security on TLS responses and the plain-HTTP
 * redirect to https.
 *
 * - The header goes only on responses sent over TLS (RFC 6797 §7.2: a
 *   host must not send it over plain HTTP) and on every status, errors
 *   included: a header filter sees every response, the proxy-generated
 *   ones too.  An upstream's own Strict-Transport-Security is kept unless
 *   `override` -- over TLS: over plain HTTP it is removed, whatever the
 *   configuration (the same RFC rule binds what we forward).
 * - https_redirect answers every plain-HTTP request with 308 (method and
 *   body preserved) to the same URL on https, as a REWRITE hook that runs
 *   before anything else, so no upstream ever sees a plain-HTTP request.
 */
#include <string.h>
#include <arpa/inet.h>

#include "hsts.h"

static const pc_str_t sts_name = pc_string("Strict-Transport-Security");
static const pc_str_t location_name = pc_string("Location");

/* Contract: header filter.  Adds (or with override replaces) the header
 * on TLS responses when hsts is on in the conf in force; removes an
 * upstream's from plain-HTTP responses.  PC_OK, or PC_ERROR on ENOMEM. */
pc_rc_t
pc_hsts_header_filter(pc_http_request_t *r)
{
    hsts_conf_t *h;

    if (r->c == NULL)
        return PC_OK;
    if (r->c->ssl == NULL) {
        pc_http_header_out_remove(r, &sts_name);
        return PC_OK;
    }
    if (r->loc_conf == NULL)
        return PC_OK;
    h = pc_http_conf(r, pc_hsts_module);
    if (h == NULL || h->max_age < 0)
        return PC_OK;
    if (!h->override && pc_http_header_out_find(r, &sts_name) != NULL)
        return PC_OK;
    return pc_http_header_out_set(r, &sts_name, &h->value);
}

/* The host for the https URL: $host, else the local address. */
static pc_rc_t
url_host(pc_http_request_t *r, pc_str_t *out)
{
    const struct sockaddr *sa;
    pc_sockaddr_t          local;
    char                   text[INET6_ADDRSTRLEN + 2];
    size_t                 n;

    if (r->host.len > 0) {
        *out = r->host;
        return PC_OK;
    }
    sa = &local.sa;
    if (pc_conn_local_addr(r->c, &local) == 0
        || (n = pc_sockaddr_text(sa, text, sizeof(text), 0)) == 0)
        return PC_ERROR;
    if (sa->sa_family == AF_INET6 && text[0] != '[') {
        out->data = pc_pnalloc(r->pool, n + 2);
        if (out->data == NULL)
            return PC_ERROR;
        out->data[0] = '[';
        memcpy(out->data + 1, text, n);
        out->data[n + 1] = ']';
        out->len = n + 2;
        return PC_OK;
    }
    out->data = pc_pstrdup(r->pool, (const u_char *) text, n);
    out->len = n;
    return out->data != NULL ? PC_OK : PC_ERROR;
}

/* "https://HOST[:PORT]/path?query" into r->pool. */
static pc_rc_t
https_url(pc_http_request_t *r, const hsts_conf_t *h, pc_str_t *url)
{
    const pc_http_head_t *hd = &r->head;
    pc_str_t              host, path = r->unparsed_uri;
    u_char               *p;

    if (url_host(r, &host) != PC_OK)
        return PC_ERROR;
    if (hd->absolute_form) {
        path.data = r->head_buf + hd->path_off;
        path.len = hd->path_len;
        if (hd->has_query)
            path.len = hd->query_off + hd->query_len - hd->path_off;
    }
    p = url->data = pc_pnalloc(r->pool, 8 + host.len + 6 + path.len + 1);
    if (p == NULL)
        return PC_ERROR;
    p = pc_cpymem(p, "https://", 8);
    p = pc_cpymem(p, host.data, host.len);
    if (h->redirect_port != 443 && h->redirect_port > 0) {
        *p++ = ':';
        p = pc_u64toa(p, (uint64_t) h->redirect_port);
    }
    if (path.len == 0 || path.data[0] != '/')
        *p++ = '/';
    p = pc_cpymem(p, path.data, path.len);
    url->len = (size_t) (p - url->data);
    return PC_OK;
}

/* Contract: REWRITE hook.  With https_redirect on, a request that came
 * over plain HTTP gets 308 to its https URL (the body is discarded);
 * PC_DONE then, PC_DECLINED otherwise, PC_ERROR on ENOMEM. */
pc_rc_t
pc_hsts_redirect_handler(pc_http_request_t *r)
{
    hsts_conf_t *h = pc_http_conf(r, pc_hsts_module);
    pc_str_t     url;
    pc_rc_t      rc;

    if (h == NULL || h->redirect != 1 || r->c->ssl != NULL)
        return PC_DECLINED;
    if (https_url(r, h, &url) != PC_OK
        || pc_http_header_out_set(r, &location_name, &url) != PC_OK)
        return PC_ERROR;
    pc_http_body_discard(r);
    rc = pc_http_send_simple(r, 308, NULL, NULL);
    if (rc == PC_ERROR || rc >= 100)
        return rc;
    return PC_DONE;
}
