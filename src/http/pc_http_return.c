/*
 * pc_http_return.c -- `return CODE [TEXT|URL]` (a REWRITE hook) and the
 * add_header header filter.
 *
 * A server-level `return` answers before any location-level one, as in
 * nginx (its server rewrite phase runs before the location is chosen); so
 * `return` is not inherited by locations and the hook checks the server's
 * conf first.
 */
#include "http/pc_http.h"
#include "http/pc_http_chars.h"
#include "http/pc_http_conf.h"

/* nginx's non-standard code: close the connection without a response. */
#define PC_HTTP_RETURN_CLOSE  444

static const pc_str_t location_name = pc_string("Location");
static const pc_str_t text_plain = pc_string("text/plain");

static bool
is_redirect(intptr_t status)
{
    return status == 301 || status == 302 || status == 303 || status == 307
           || status == 308;
}


static pc_http_core_conf_t *
return_conf(pc_http_request_t *r)
{
    pc_http_core_conf_t *conf;

    if (r->server != NULL && r->server->confs != NULL) {
        conf = r->server->confs[pc_http_core_module.index];
        if (conf != NULL && conf->return_status != PC_INT_UNSET)
            return conf;
    }
    if (r->loc_conf == NULL)
        return NULL;
    conf = pc_http_core_conf(r);
    if (conf == NULL || conf->return_status == PC_INT_UNSET)
        return NULL;
    return conf;
}

static pc_rc_t
send_redirect(pc_http_request_t *r, int status, const pc_http_template_t *t)
{
    pc_str_t url;

    if (t != NULL) {
        if (pc_http_template_eval(r, t, &url) != PC_OK)
            return PC_ERROR;
        if (!pc_http_value_safe(url.data, url.len)) {
            pc_log(PC_LOG_INFO, 0, "return: redirect URL with a control byte, not sent");
            return 500;
        }
        if (url.len > 0 && pc_http_header_out_set(r, &location_name, &url) != PC_OK)
            return PC_ERROR;
    }
    return pc_http_send_simple(r, status, NULL, NULL);
}

/*
 * `return 444` (nginx's "close"): no response at all, the connection is
 * closed at once and the access log records 444.  Nothing in pc_http.h
 * ends a request without answering, so the runtime is told the head is
 * out (pc_http_finalize then sends no error response and queues nothing)
 * and the connection has failed (the request ends now, logged with
 * r->status, and the connection closes without a lingering half-close or
 * a TLS close_notify).
 */
static pc_rc_t
close_silently(pc_http_request_t *r)
{
    r->status = PC_HTTP_RETURN_CLOSE;
    r->keepalive = 0;
    r->header_sent = 1;
    r->c->error = 1;
    return PC_DONE;
}

/* The status text lowercased, like the runtime's own error reasons. */
static const char *
reason_of(pc_http_request_t *r, int status)
{
    const char *text = pc_http_status_text(status);
    size_t n = strlen(text);
    u_char *p = pc_pnalloc(r->pool, n + 1);

    if (p == NULL)
        return text;
    pc_strlow(p, (const u_char *) text, n);
    p[n] = '\0';
    return (const char *) p;
}

/*
 * Contract: REWRITE hook.  When a `return` is configured (server level
 * first, then the conf in force) it answers the request: redirects get a
 * Location header from the evaluated URL (relative URLs are sent as they
 * are), 444 closes the connection with no response, other codes get the
 * evaluated text as a text/plain body; an error code without text gets the
 * SPEC §8 error body.  The request body is discarded.
 * Returns PC_DONE once the response is produced, PC_DECLINED when there is
 * no `return`, PC_ERROR (500) when evaluating or sending fails.
 */
pc_rc_t
pc_http_return_handler(pc_http_request_t *r)
{
    pc_http_core_conf_t *conf = return_conf(r);
    int status;
    pc_str_t body;
    pc_rc_t rc;

    if (conf == NULL)
        return PC_DECLINED;
    status = (int) conf->return_status;
    if (status == PC_HTTP_RETURN_CLOSE)
        return close_silently(r);
    pc_http_body_discard(r);
    if (is_redirect(status)) {
        rc = send_redirect(r, status, conf->return_text);
    } else if (conf->return_text != NULL) {
        if (pc_http_template_eval(r, conf->return_text, &body) != PC_OK)
            return PC_ERROR;
        rc = pc_http_send_simple(r, status, &text_plain, &body);
    } else if (status >= 400) {
        rc = pc_http_send_error(r, status, reason_of(r, status));
    } else {
        rc = pc_http_send_simple(r, status, NULL, NULL);
    }
    if (rc == PC_ERROR || rc >= 100)
        return rc;
    return PC_DONE;
}

/* Is there an entry before i with the same name (already applied)? */
static bool
seen_before(const pc_http_add_header_t *h, uint32_t i, const bool *applied)
{
    uint32_t j;

    for (j = 0; j < i; j++)
        if (applied[j] && pc_str_caseeq(&h[j].name, &h[i].name))
            return true;
    return false;
}

/*
 * Contract: header filter.  Adds every add_header of the conf in force:
 * only on 2xx/3xx unless `always`; values are evaluated per request, and an
 * empty value (or one with CR/LF/NUL) adds nothing.  The first entry of a
 * name replaces any field of that name already in the response (so an
 * upstream's copy and ours never both appear); further entries of the same
 * name are added next to it.  PC_OK, or PC_ERROR on ENOMEM.
 */
pc_rc_t
pc_http_add_header_filter(pc_http_request_t *r)
{
    pc_http_core_conf_t *conf;
    const pc_http_add_header_t *h;
    bool stack[32], *applied = stack, ok_status;
    pc_str_t v;
    uint32_t i, n;
    pc_rc_t rc;

    if (r->loc_conf == NULL)
        return PC_OK;
    conf = pc_http_core_conf(r);
    if (conf == NULL || conf->add_headers == NULL || conf->add_headers->nelts == 0)
        return PC_OK;
    h = conf->add_headers->elts;
    n = conf->add_headers->nelts;
    if (n > pc_nelems(stack) && (applied = pc_palloc(r->pool, n * sizeof(bool))) == NULL)
        return PC_ERROR;
    ok_status = r->status >= 200 && r->status < 400;
    for (i = 0; i < n; i++) {
        applied[i] = false;
        if (!h[i].always && !ok_status)
            continue;
        if (pc_http_template_eval(r, h[i].value, &v) != PC_OK)
            return PC_ERROR;
        if (v.len == 0 || !pc_http_value_safe(v.data, v.len))
            continue;
        if (seen_before(h, i, applied))
            rc = pc_http_header_out_add(r, &h[i].name, &v);
        else
            rc = pc_http_header_out_set(r, &h[i].name, &v);
        if (rc != PC_OK)
            return PC_ERROR;
        applied[i] = true;
    }
    return PC_OK;
}
