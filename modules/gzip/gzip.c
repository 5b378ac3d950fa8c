/*
 * gzip.c -- the gzip header and body filters.
 *
 * Header filter: compress when gzip is on for the location, the response
 * is a 200/403/404 to something other than HEAD (so never 204, 304, 1xx),
 * not already Content-Encoded, of a gzip_types type, not shorter than
 * gzip_min_length (when its length is known), without Cache-Control:
 * no-transform; and the client accepts gzip (Accept-Encoding, q-values)
 * and, with gzip_proxied off, did not come through a proxy (Via).  Then
 * Content-Encoding: gzip, no Content-Length (the writer goes chunked, or
 * close-delimited for HTTP/1.0), a weak ETag, no Accept-Ranges.
 * gzip_vary adds Vary: Accept-Encoding to every response that could have
 * been compressed, whatever this client accepts, so caches keep both.
 *
 * Body filter: streams each send_body call through deflate
 * (gzip_stream.c) and sync-flushes at the end of every call that did not
 * end the body, so the client gets data at the pace the upstream sends
 * it (an event stream stays live); the end of the body finishes the
 * gzip member.
 */
#include "gzip/gzip.h"

typedef struct {
    pc_gzip_stream_t   st;
    unsigned           active:1;
    unsigned           started:1;
} gzip_ctx_t;

static const pc_str_t h_content_encoding = pc_string("Content-Encoding");
static const pc_str_t h_content_length = pc_string("Content-Length");
static const pc_str_t h_content_type = pc_string("Content-Type");
static const pc_str_t h_cache_control = pc_string("Cache-Control");
static const pc_str_t h_accept_ranges = pc_string("Accept-Ranges");
static const pc_str_t h_etag = pc_string("ETag");
static const pc_str_t h_vary = pc_string("Vary");
static const pc_str_t v_gzip = pc_string("gzip");
static const pc_str_t v_accept_encoding = pc_string("Accept-Encoding");

static pc_gzip_conf_t *
conf_of(pc_http_request_t *r)
{
    return r->loc_conf != NULL ? r->loc_conf[pc_gzip_module.index] : NULL;
}

static bool
type_ok(pc_http_request_t *r, const pc_gzip_conf_t *gc)
{
    const pc_http_field_t *f;
    const pc_str_t *t;
    u_char buf[PC_GZIP_TYPE_MAX];
    size_t n;
    uint32_t i;

    if (gc->types_any == 1)
        return true;
    f = pc_http_header_out_find(r, &h_content_type);
    if (f == NULL || gc->types == NULL)
        return false;
    n = pc_gzip_media_type(f->value.data, f->value.len, buf, sizeof(buf));
    t = gc->types->elts;
    for (i = 0; n > 0 && i < gc->types->nelts; i++)
        if (t[i].len == n && memcmp(t[i].data, buf, n) == 0)
            return true;
    return false;
}

/* Every field of r->out named name, checked with fn. */
static bool
any_field(pc_http_request_t *r, const pc_str_t *name,
    bool (*fn)(const u_char *p, size_t len))
{
    uint32_t i;

    for (i = 0; i < r->nout; i++)
        if (pc_str_caseeq(&r->out[i].name, name)
            && fn(r->out[i].value.data, r->out[i].value.len))
            return true;
    return false;
}

static bool
not_empty(const u_char *p, size_t len)
{
    PC_UNUSED(p);
    return len > 0;
}

/* Could this response be compressed at all (whoever asks)? */
static bool
response_ok(pc_http_request_t *r, const pc_gzip_conf_t *gc)
{
    if (r->status != 200 && r->status != 403 && r->status != 404)
        return false;
    if (r->method == PC_HTTP_HEAD || r->header_only)
        return false;
    if (any_field(r, &h_content_encoding, not_empty))
        return false;
    if (r->out_content_length >= 0 && (uint64_t) r->out_content_length < gc->min_length)
        return false;
    if (!type_ok(r, gc))
        return false;
    return !any_field(r, &h_cache_control, pc_gzip_no_transform);
}

/* Does this client take gzip?  Every Accept-Encoding field counts. */
static bool
client_ok(pc_http_request_t *r, const pc_gzip_conf_t *gc)
{
    static const pc_str_t ae = pc_string("accept-encoding"), via = pc_string("via");
    const pc_http_header_t *h = r->head.headers;
    pc_gzip_ae_t state = PC_GZIP_AE_INIT;
    pc_str_t name;
    bool proxied = false;
    uint32_t i;

    if (r->head_buf == NULL)
        return false;
    for (i = 0; i < r->head.nheaders; i++) {
        name.data = r->head_buf + h[i].name;
        name.len = h[i].name_len;
        if (pc_str_caseeq(&name, &ae))
            pc_gzip_ae_parse(&state, r->head_buf + h[i].value, h[i].value_len);
        else if (pc_str_caseeq(&name, &via))
            proxied = true;
    }
    if (proxied && gc->proxied != PC_GZIP_PROXIED_ANY)
        return false;
    return pc_gzip_ae_accepts(&state);
}

/* Vary: Accept-Encoding, added to an existing Vary unless already there. */
static pc_rc_t
add_vary(pc_http_request_t *r)
{
    pc_http_field_t *f = pc_http_header_out_find(r, &h_vary);
    pc_str_t v;
    u_char *p;

    if (f == NULL)
        return pc_http_header_out_add(r, &h_vary, &v_accept_encoding);
    if (any_field(r, &h_vary, pc_gzip_vary_has))
        return PC_OK;
    if (f->value.len == 0)
        return pc_http_header_out_set(r, &h_vary, &v_accept_encoding);
    p = pc_pnalloc(r->pool, f->value.len + 2 + v_accept_encoding.len);
    if (p == NULL)
        return PC_ERROR;
    v.data = p;
    p = pc_cpymem(p, f->value.data, f->value.len);
    p = pc_cpymem(p, ", ", 2);
    p = pc_cpymem(p, v_accept_encoding.data, v_accept_encoding.len);
    v.len = (size_t) (p - v.data);
    return pc_http_header_out_set(r, &h_vary, &v);
}

/* A strong ETag names these exact bytes; the compressed ones differ
 * (RFC 9110 §8.8.1), so it becomes weak. */
static pc_rc_t
weaken_etag(pc_http_request_t *r)
{
    pc_http_field_t *f = pc_http_header_out_find(r, &h_etag);
    pc_str_t v;

    if (f == NULL || f->value.len == 0
        || (f->value.len >= 2 && f->value.data[0] == 'W' && f->value.data[1] == '/'))
        return PC_OK;
    v.len = f->value.len + 2;
    v.data = pc_pnalloc(r->pool, v.len);
    if (v.data == NULL)
        return PC_ERROR;
    v.data[0] = 'W';
    v.data[1] = '/';
    memcpy(v.data + 2, f->value.data, f->value.len);
    return pc_http_header_out_set(r, &h_etag, &v);
}

/*
 * Contract: header filter (see the file comment).  Marks r for the body
 * filter and rewrites the head fields when it will compress.  PC_OK, or
 * PC_ERROR on ENOMEM.
 */
pc_rc_t
pc_gzip_header_filter(pc_http_request_t *r)
{
    pc_gzip_conf_t *gc = conf_of(r);
    gzip_ctx_t *ctx;

    if (gc == NULL || gc->enable != 1 || !response_ok(r, gc))
        return PC_OK;
    if (gc->vary == 1 && add_vary(r) != PC_OK)
        return PC_ERROR;
    if (!client_ok(r, gc))
        return PC_OK;
    ctx = pc_pcalloc(r->pool, sizeof(*ctx));
    if (ctx == NULL || pc_http_header_out_set(r, &h_content_encoding, &v_gzip) != PC_OK
        || weaken_etag(r) != PC_OK)
        return PC_ERROR;
    pc_http_header_out_remove(r, &h_content_length);
    pc_http_header_out_remove(r, &h_accept_ranges);
    r->out_content_length = -1;
    ctx->active = 1;
    r->ctx[pc_gzip_module.index] = ctx;
    return PC_OK;
}

/*
 * Contract: body filter.  For a response the header filter chose,
 * replaces *chain with its compressed form (input buffers consumed, no
 * copy); sync-flushes at the end of a call that is not the last, finishes
 * the gzip member on the last.  Others pass through untouched.  PC_OK, or
 * PC_ERROR (ENOMEM, zlib error).
 */
pc_rc_t
pc_gzip_body_filter(pc_http_request_t *r, pc_chain_t **chain, int last)
{
    gzip_ctx_t *ctx = r->ctx[pc_gzip_module.index];
    pc_gzip_conf_t *gc;

    if (ctx == NULL || !ctx->active)
        return PC_OK;
    if (!ctx->started) {
        gc = conf_of(r);
        if (pc_gzip_stream_init(&ctx->st, r->pool, gc != NULL ? (int) gc->comp_level : 6)
            != PC_OK)
        {
            pc_log(PC_LOG_ERR, 0, "gzip: cannot start a deflate stream (ENOMEM)");
            return PC_ERROR;
        }
        ctx->started = 1;
    }
    return pc_gzip_stream_feed(&ctx->st, *chain, last ? PC_GZIP_FINISH : PC_GZIP_SYNC_FLUSH,
                               chain);
}

/* Contract: worker exit: free the cached deflate states. */
void
pc_gzip_exit_worker(pc_worker_t *wk)
{
    PC_UNUSED(wk);
    pc_gzip_stream_release_all();
}
