/*
 * pc_http_error.c -- the error responses the proxy itself generates (SPEC §8).
 *
 *   error_format json: {"error":{"status":502,"reason":"upstream connect
 *                       refused","request_id":"..."}}   application/json
 *   error_format text: "502 Bad Gateway: upstream connect refused\n"
 *
 * request_id comes from the `request_id` variable when a module provides
 * it (trace); the field is left out otherwise.  The reason is JSON-escaped:
 * it may quote client input.  The body is built in the request pool.
 */
#include <string.h>

#include "http/pc_http.h"
#include "http/pc_http_log.h"
#include "http/pc_http_request.h"

static const pc_str_t json_type = pc_string("application/json");
static const pc_str_t text_type = pc_string("text/plain");
static const pc_str_t request_id_name = pc_string("request_id");

/* Contract: true for the statuses after which the connection closes. */
bool
pc_http_error_closes(int status)
{
    /* A malformed head, a timeout, a body we will not read, an oversized
     * head and broken framing all leave the input stream in an unknown
     * state: answer, then close. */
    switch (status) {
    case 400: case 408: case 413: case 414: case 431: case 501: case 505:
        return true;
    default:
        return false;
    }
}

/* Bytes of s once JSON-escaped; writes them at dst when dst != NULL. */
static size_t
json_escape(u_char *dst, const u_char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0, i;
    u_char c;

    for (i = 0; i < len; i++) {
        c = s[i];
        if (c == '"' || c == '\\') {
            if (dst != NULL) {
                dst[n] = '\\';
                dst[n + 1] = c;
            }
            n += 2;
        } else if (c < 0x20 || c == 0x7f) {
            if (dst != NULL) {
                memcpy(dst + n, "\\u00", 4);
                dst[n + 4] = (u_char) hex[c >> 4];
                dst[n + 5] = (u_char) hex[c & 0xf];
            }
            n += 6;
        } else {
            if (dst != NULL)
                dst[n] = c;
            n++;
        }
    }
    return n;
}

#define LIT(s)  (sizeof(s) - 1)
#define CPY(p, s)  pc_cpymem((p), (s), LIT(s))

static pc_rc_t
json_body(pc_http_request_t *r, int status, const pc_str_t *reason, pc_str_t *out)
{
    pc_str_t id = pc_null_string;
    size_t   len;
    u_char  *p;

    if (pc_http_var_value(r, &request_id_name, &id) != PC_OK)
        id.len = 0;
    len = LIT("{\"error\":{\"status\":000,\"reason\":\"\"}}")
          + json_escape(NULL, reason->data, reason->len);
    if (id.len > 0)
        len += LIT(",\"request_id\":\"\"") + json_escape(NULL, id.data, id.len);
    p = out->data = pc_pnalloc(r->pool, len);
    if (p == NULL)
        return PC_ERROR;
    p = CPY(p, "{\"error\":{\"status\":");
    *p++ = (u_char) ('0' + status / 100 % 10);
    *p++ = (u_char) ('0' + status / 10 % 10);
    *p++ = (u_char) ('0' + status % 10);
    p = CPY(p, ",\"reason\":\"");
    p += json_escape(p, reason->data, reason->len);
    *p++ = '"';
    if (id.len > 0) {
        p = CPY(p, ",\"request_id\":\"");
        p += json_escape(p, id.data, id.len);
        *p++ = '"';
    }
    p = CPY(p, "}}");
    out->len = (size_t) (p - out->data);
    return PC_OK;
}

static pc_rc_t
text_body(pc_http_request_t *r, int status, const pc_str_t *reason, pc_str_t *out)
{
    const char *text = pc_http_status_text(status);
    size_t      tlen = strlen(text);
    u_char     *p;

    out->data = p = pc_pnalloc(r->pool, 4 + tlen + 2 + reason->len + 1);
    if (p == NULL)
        return PC_ERROR;
    *p++ = (u_char) ('0' + status / 100 % 10);
    *p++ = (u_char) ('0' + status / 10 % 10);
    *p++ = (u_char) ('0' + status % 10);
    *p++ = ' ';
    p = pc_cpymem(p, text, tlen);
    if (reason->len > 0)
        p = pc_cpymem(CPY(p, ": "), reason->data, reason->len);
    *p++ = '\n';
    out->len = (size_t) (p - out->data);
    return PC_OK;
}

/* The default reason of a status: its phrase in lower case ("not found"). */
static const char *
default_reason(pc_http_request_t *r, int status)
{
    const char *text = pc_http_status_text(status);
    size_t      len = strlen(text);
    u_char     *p = pc_pnalloc(r->pool, len + 1);

    if (p == NULL)
        return "";
    pc_strlow(p, (const u_char *) text, len);
    p[len] = '\0';
    return (const char *) p;
}

/* Contract: one error-log line (info; error for internal 5xx) with the
 * client, server and request context. */
void
pc_http_log_client_error(pc_http_request_t *r, int status, const char *reason)
{
    const pc_http_server_name_t *name = NULL;
    int level = status >= 500 && r->internal_error ? PC_LOG_ERR : PC_LOG_INFO;

    if (level > pc_log_cur->level)
        return;
    if (r->server != NULL && r->server->names.nelts > 0)
        name = r->server->names.elts;
    if (r->request_line.len > 0) {
        pc_str_t line = pc_http_log_redacted_request(r);

        pc_log(level, 0, "%d %s, client: %.*s, server: %.*s, request: \"%.*s\"",
               status, reason, (int) r->remote_addr.len, (const char *) r->remote_addr.data,
               name != NULL ? (int) name->name.len : 0,
               name != NULL ? (const char *) name->name.data : "",
               (int) line.len, (const char *) line.data);
    } else {
        pc_log(level, 0, "%d %s, client: %.*s, server: %.*s",
               status, reason, (int) r->remote_addr.len, (const char *) r->remote_addr.data,
               name != NULL ? (int) name->name.len : 0,
               name != NULL ? (const char *) name->name.data : "");
    }
}

/* Contract: see pc_http.h.  reason NULL: r->error_reason, else the status
 * phrase in lower case.  PC_ERROR when the head is already out. */
pc_rc_t
pc_http_send_error(pc_http_request_t *r, int status, const char *reason)
{
    pc_http_core_conf_t *ccf;
    pc_str_t             why, body;
    pc_rc_t              rc;

    if (r->header_sent)
        return PC_ERROR;
    if (status < 100 || status > 999)
        status = 500;
    if (reason == NULL)
        reason = r->error_reason != NULL ? r->error_reason : default_reason(r, status);
    r->error_reason = reason;
    if (pc_http_error_closes(status))
        r->keepalive = 0;
    pc_http_log_client_error(r, status, reason);

    why.data = (u_char *) reason;
    why.len = strlen(reason);
    ccf = r->loc_conf != NULL ? pc_http_core_conf(r) : NULL;
    if (ccf != NULL && ccf->error_format == PC_HTTP_ERROR_TEXT)
        rc = text_body(r, status, &why, &body);
    else
        rc = json_body(r, status, &why, &body);
    if (rc != PC_OK)
        return PC_ERROR;
    return pc_http_send_simple(r, status,
        ccf != NULL && ccf->error_format == PC_HTTP_ERROR_TEXT ? &text_type : &json_type,
        &body);
}
