/*
 * pc_http_proxy_vars.c -- what the proxy tells the logs about a request's
 * attempts: the $upstream_* variables (nginx's forms: one value per
 * attempt, ", " between them, "-" where there is none) and
 * pc_http_upstream_tries for the status module.  Reads the proxy context
 * (pc_http_proxy_ctx.h); changes nothing.
 */
#include <stddef.h>
#include <string.h>

#include "http/pc_http_proxy.h"
#include "http/pc_http_proxy_ctx.h"

enum { V_ADDR = 0, V_STATUS, V_CONNECT, V_HEADER, V_RESPONSE, V_REUSED };

/* "1.234" from milliseconds, or "-". */
static u_char *
put_msec(u_char *p, pc_msec_t ms)
{
    if (ms < 0) {
        *p++ = '-';
        return p;
    }
    p = pc_u64toa(p, (uint64_t) (ms / 1000));
    *p++ = '.';
    *p++ = (u_char) ('0' + ms % 1000 / 100);
    *p++ = (u_char) ('0' + ms % 100 / 10);
    *p++ = (u_char) ('0' + ms % 10);
    return p;
}

static u_char *
put_attempt(u_char *p, const pc_http_proxy_attempt_t *a, uintptr_t what, bool last, bool live)
{
    pc_msec_t resp = a->response;

    switch (what) {
    case V_ADDR:
        return pc_cpymem(p, a->peer->data, a->peer->len);
    case V_STATUS:
        if (a->status == 0) {
            *p++ = '-';
            return p;
        }
        return pc_u64toa(p, (uint64_t) a->status);
    case V_CONNECT:
        return put_msec(p, a->connect);
    case V_HEADER:
        return put_msec(p, a->header);
    case V_RESPONSE:
        if (resp < 0 && last && live) {
            resp = PX_NOW - a->start;      /* still running (client gone) */
        }
        return put_msec(p, resp);
    default:
        *p++ = a->reused ? '1' : '0';
        return p;
    }
}

static pc_rc_t
var_upstream(pc_http_request_t *r, pc_str_t *out, uintptr_t what)
{
    pc_http_proxy_ctx_t *ctx = r->ctx[pc_http_proxy_module.index];
    size_t    size = 0;
    u_char   *p;
    uint32_t  i;

    if (ctx != NULL && ctx->natt == 0 && ctx->no_live && what == V_ADDR) {
        *out = ctx->u->name;        /* as nginx: which upstream had none */
        return PC_OK;
    }
    if (ctx == NULL || ctx->natt == 0) {
        return PC_DECLINED;
    }
    for (i = 0; i < ctx->natt; i++) {
        size += 2 + (what == V_ADDR ? ctx->att[i].peer->len : 24);
    }
    p = out->data = pc_pnalloc(r->pool, size);
    if (p == NULL) {
        return PC_ERROR;
    }
    for (i = 0; i < ctx->natt; i++) {
        if (i > 0) {
            p = pc_cpymem(p, ", ", 2);
        }
        p = put_attempt(p, &ctx->att[i], what, i + 1 == ctx->natt,
                        ctx->state != PX_DONE);
    }
    out->len = (size_t) (p - out->data);
    return PC_OK;
}

/* Contract: see pc_http_upstream.h.  An attempt's peer is
 * &u->sorted[i].name (px_attempt), which gives i back. */
const pc_http_upstream_t *
pc_http_upstream_tries(pc_http_request_t *r, pc_http_upstream_try_t *tries,
    uint32_t max, uint32_t *n)
{
    pc_http_proxy_ctx_t           *ctx = r->ctx[pc_http_proxy_module.index];
    const pc_http_proxy_attempt_t *a;
    uint32_t                       i;

    *n = 0;
    if (ctx == NULL || ctx->u == NULL || ctx->natt == 0) {
        return NULL;
    }
    for (i = 0; i < ctx->natt && i < max; i++) {
        a = &ctx->att[i];
        tries[i].peer = (uint32_t) ((const pc_http_upstream_peer_t *) (const void *)
                                        ((const u_char *) a->peer
                                         - offsetof(pc_http_upstream_peer_t, name))
                                    - ctx->u->sorted);
        tries[i].status = a->status;
        tries[i].response = a->response;
        tries[i].reused = a->reused;
    }
    *n = i;
    return ctx->u;
}

const pc_http_variable_t pc_http_proxy_variables[] = {
    { "upstream_addr", var_upstream, V_ADDR, PC_VAR_NOCACHE },
    { "upstream_status", var_upstream, V_STATUS, PC_VAR_NOCACHE },
    { "upstream_connect_time", var_upstream, V_CONNECT, PC_VAR_NOCACHE },
    { "upstream_header_time", var_upstream, V_HEADER, PC_VAR_NOCACHE },
    { "upstream_response_time", var_upstream, V_RESPONSE, PC_VAR_NOCACHE },
    { "upstream_reused", var_upstream, V_REUSED, PC_VAR_NOCACHE },
    PC_VAR_END
};
