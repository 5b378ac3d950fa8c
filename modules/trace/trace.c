/*
 * trace.c -- the trace module at run time (SPEC §4 "trace"): W3C Trace
 * Context propagation, X-Request-ID, and $trace_id $span_id $parent_id
 * $request_id.
 *
 * Per request, in POST_READ (after real_ip), when `trace on`:
 *   - exactly one incoming traceparent that parses (traceparent.h: version
 *     00, or a higher version read as 00) keeps its trace-id and flags (of
 *     a higher version, only the sampled bit), and its parent-id becomes
 *     $parent_id; anything else (absent, invalid, version ff, sent twice)
 *     starts a new trace: a random non-zero trace-id, flags from
 *     trace_sampled;
 *   - a new span id per hop ($span_id) is the parent-id the upstream gets:
 *     the proxy sends "traceparent: 00-<trace-id>-<span-id>-<flags>" in
 *     place of whatever the client sent (r->upstream_headers), so an
 *     invalid header, or a future version's fields, are never forwarded;
 *   - tracestate goes through unchanged when the traceparent was valid,
 *     and is dropped otherwise (W3C §3.3: it means nothing without one);
 *   - exactly one valid incoming X-Request-ID (1-200 visible ASCII bytes)
 *     is kept (the proxy forwards it as is); otherwise 32 random lowercase
 *     hex digits are generated and sent upstream in its place.
 * trace_response_header echoes X-Request-ID to the client.
 *
 * $request_id works with `trace off` too (and for requests rejected before
 * any phase, e.g. a 400 whose error body quotes it): the ctx is then made
 * on first use, with the same keep-or-generate rule but nothing forwarded.
 * Ids come from one ChaCha20 generator per worker (idgen.h).
 */
#include <errno.h>

#include "core/pc_core.h"
#include "event/pc_worker.h"
#include "trace/trace.h"
#include "trace/idgen.h"

static pc_trace_idgen_t trace_idgen;       /* this worker's generator */

static const pc_str_t hdr_traceparent = pc_string("traceparent");
static const pc_str_t hdr_tracestate = pc_string("tracestate");
static const pc_str_t hdr_request_id = pc_string("X-Request-ID");

/* How many request fields are named name, and the value of the first. */
static uint32_t
header_count(pc_http_request_t *r, const pc_str_t *name, pc_str_t *first)
{
    const pc_http_header_t *h;
    uint32_t                i, n = 0;

    *first = (pc_str_t) pc_null_string;
    if (r->head_buf == NULL || r->head.headers == NULL)
        return 0;
    for (i = 0; i < r->head.nheaders; i++) {
        h = &r->head.headers[i];
        if (h->name_len != name->len
            || pc_strncasecmp(r->head_buf + h->name, name->data, name->len) != 0)
            continue;
        if (n++ == 0) {
            first->data = r->head_buf + h->value;
            first->len = h->value_len;
        }
    }
    return n;
}

/* Keep the client's X-Request-ID when it is alone and valid (look: the
 * head parsed), else make one (ctx->id_generated).  PC_OK / PC_ERROR. */
static pc_rc_t
request_id_init(pc_http_request_t *r, pc_trace_ctx_t *ctx, bool look)
{
    u_char   raw[PC_TRACE_REQUEST_ID_HEX / 2];
    pc_str_t in;

    if (look && header_count(r, &hdr_request_id, &in) == 1
        && pc_trace_request_id_valid(in.data, in.len))
    {
        /* Copied into the pool: it must last until the LOG phase, and how
         * long the head buffer lives is the runtime's business. */
        ctx->request_id.data = pc_pnalloc(r->pool, in.len);
        if (ctx->request_id.data == NULL)
            return PC_ERROR;
        memcpy(ctx->request_id.data, in.data, in.len);
        ctx->request_id.len = in.len;
        return PC_OK;
    }
    pc_trace_idgen_bytes(&trace_idgen, raw, sizeof(raw));
    pc_trace_hex(ctx->request_id_buf, raw, sizeof(raw));
    ctx->request_id.data = ctx->request_id_buf;
    ctx->request_id.len = sizeof(ctx->request_id_buf);
    ctx->id_generated = 1;
    return PC_OK;
}

/* Continue the client's trace or start one; make this hop's span. */
static void
trace_ids_init(pc_http_request_t *r, pc_trace_ctx_t *ctx, int sampled)
{
    pc_trace_parent_t tp;
    pc_str_t          in;
    u_char           *p;

    if (header_count(r, &hdr_traceparent, &in) == 1
        && pc_trace_parent_parse(in.data, in.len, &tp) == PC_OK)
    {
        memcpy(ctx->trace_id, tp.trace_id, sizeof(ctx->trace_id));
        memcpy(ctx->parent_id, tp.parent_id, sizeof(ctx->parent_id));
        ctx->flags = tp.flags;
        ctx->has_parent = 1;
        pc_trace_hex(ctx->parent_hex, ctx->parent_id, sizeof(ctx->parent_id));
    } else {
        pc_trace_idgen_nonzero(&trace_idgen, ctx->trace_id, sizeof(ctx->trace_id));
        ctx->flags = sampled == 1 ? PC_TRACE_FLAG_SAMPLED : 0;
    }
    pc_trace_idgen_nonzero(&trace_idgen, ctx->span_id, sizeof(ctx->span_id));
    pc_trace_hex(ctx->trace_hex, ctx->trace_id, sizeof(ctx->trace_id));
    pc_trace_hex(ctx->span_hex, ctx->span_id, sizeof(ctx->span_id));
    /* "00-" trace "-" span "-" flags, from the hex already made */
    p = pc_cpymem(ctx->traceparent, "00-", 3);
    p = pc_cpymem(p, ctx->trace_hex, sizeof(ctx->trace_hex));
    *p++ = '-';
    p = pc_cpymem(p, ctx->span_hex, sizeof(ctx->span_hex));
    *p++ = '-';
    pc_trace_hex(p, &ctx->flags, 1);
    ctx->traced = 1;
}

/* The upstream-facing fields of a traced request. */
static pc_rc_t
set_upstream_fields(pc_http_request_t *r, pc_trace_ctx_t *ctx)
{
    pc_str_t v = { sizeof(ctx->traceparent), ctx->traceparent };
    pc_str_t none = pc_string("");

    if (pc_http_upstream_header_set(r, &hdr_traceparent, &v) != PC_OK)
        return PC_ERROR;
    if (!ctx->has_parent && pc_http_upstream_header_set(r, &hdr_tracestate, &none) != PC_OK)
        return PC_ERROR;
    if (ctx->id_generated
        && pc_http_upstream_header_set(r, &hdr_request_id, &ctx->request_id) != PC_OK)
        return PC_ERROR;
    return PC_OK;
}

/* The request's ctx, made on first use (with its $request_id only) when
 * trace is off or the request never reached POST_READ.  A client's
 * X-Request-ID is looked for among the fields the parser completed: for a
 * head rejected part way (400, 431) those before the bad line, so a valid
 * id sent before it is kept. */
static pc_trace_ctx_t *
ctx_get(pc_http_request_t *r)
{
    pc_trace_ctx_t *ctx;

    if (r->ctx == NULL)
        return NULL;
    ctx = r->ctx[pc_trace_module.index];
    if (ctx != NULL)
        return ctx;
    ctx = pc_pcalloc(r->pool, sizeof(*ctx));
    if (ctx == NULL || request_id_init(r, ctx, r->server != NULL) != PC_OK)
        return NULL;
    r->ctx[pc_trace_module.index] = ctx;
    return ctx;
}

/* POST_READ: make the ids of a traced request and what goes upstream. */
static pc_rc_t
trace_post_read(pc_http_request_t *r)
{
    pc_trace_conf_t *tcf;
    pc_trace_ctx_t  *ctx;

    if (r->loc_conf == NULL)
        return PC_DECLINED;
    tcf = pc_http_conf(r, pc_trace_module);
    if (tcf == NULL || tcf->trace != 1)
        return PC_DECLINED;
    ctx = ctx_get(r);
    if (ctx == NULL)
        return PC_ERROR;
    if (ctx->traced)
        return PC_DECLINED;
    trace_ids_init(r, ctx, tcf->sampled);
    return set_upstream_fields(r, ctx) == PC_OK ? PC_DECLINED : PC_ERROR;
}

/*
 * Contract: header filter.  With trace on in the conf in force and
 * trace_response_header on, sets X-Request-ID on the response to
 * $request_id (replacing an upstream's).  That includes a response made
 * before POST_READ ran (a 400, 414 or 431 for a bad head, answered with
 * the default server's conf): the ctx is then made here if the error body
 * did not make it already, so header, body and access log share one id.
 * PC_OK, or PC_ERROR on ENOMEM.
 */
pc_rc_t
pc_trace_header_filter(pc_http_request_t *r)
{
    pc_trace_conf_t *tcf;
    pc_trace_ctx_t  *ctx;

    if (r->ctx == NULL || r->loc_conf == NULL)
        return PC_OK;
    tcf = pc_http_conf(r, pc_trace_module);
    if (tcf == NULL || tcf->trace != 1 || tcf->response_header == 0)
        return PC_OK;
    ctx = ctx_get(r);
    if (ctx == NULL)
        return PC_ERROR;
    return pc_http_header_out_set(r, &hdr_request_id, &ctx->request_id);
}

/* $trace_id $span_id $parent_id: empty unless the request is traced (and,
 * for $parent_id, continues a client's trace). */
enum { V_TRACE = 0, V_SPAN, V_PARENT };

static pc_rc_t
var_trace(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    pc_trace_ctx_t *ctx = r->ctx != NULL ? r->ctx[pc_trace_module.index] : NULL;

    if (ctx == NULL || !ctx->traced)
        return PC_DECLINED;
    switch (data) {
    case V_TRACE:
        *out = (pc_str_t) { sizeof(ctx->trace_hex), ctx->trace_hex };
        return PC_OK;
    case V_SPAN:
        *out = (pc_str_t) { sizeof(ctx->span_hex), ctx->span_hex };
        return PC_OK;
    default:
        if (!ctx->has_parent)
            return PC_DECLINED;
        *out = (pc_str_t) { sizeof(ctx->parent_hex), ctx->parent_hex };
        return PC_OK;
    }
}

static pc_rc_t
var_request_id(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    pc_trace_ctx_t *ctx = ctx_get(r);

    PC_UNUSED(data);
    if (ctx == NULL)
        return PC_ERROR;
    *out = ctx->request_id;
    return PC_OK;
}

const pc_http_variable_t pc_trace_variables[] = {
    { "trace_id", var_trace, V_TRACE, 0 },
    { "span_id", var_trace, V_SPAN, 0 },
    { "parent_id", var_trace, V_PARENT, 0 },
    { "request_id", var_request_id, 0, 0 },
    PC_VAR_END
};

const pc_http_hook_t pc_trace_hooks[] = {
    { PC_HTTP_PHASE_POST_READ, PC_TRACE_ORDER_POST_READ, trace_post_read },
    PC_HOOK_END
};

/* Contract: seeds this worker's id generator from getrandom(2).  A failing
 * getrandom is logged (ids still come from a seeded ChaCha20).  PC_OK. */
pc_rc_t
pc_trace_init_worker(pc_worker_t *wk)
{
    PC_UNUSED(wk);
    /* A forked worker must not continue its parent's stream. */
    trace_idgen.seeded = 0;
    if (pc_trace_idgen_reseed(&trace_idgen) != PC_OK)
        pc_log(PC_LOG_ALERT, errno, "trace: getrandom() failed; ids seeded from "
               "time and pid");
    return PC_OK;
}
