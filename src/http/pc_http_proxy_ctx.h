/*
 * pc_http_proxy_ctx.h -- private to the proxy's runtime files
 * (pc_http_proxy.c, pc_http_proxy_tunnel.c): the state of one proxied
 * request and the helpers they share.  Lives in r->pool.
 */
#ifndef PC_HTTP_PROXY_CTX_H
#define PC_HTTP_PROXY_CTX_H

#include "event/pc_worker.h"
#include "http/pc_http_proxy.h"
#include "http/pc_http_proxy_msg.h"

#define PX_MAX_HEADERS   128
#define PX_HDRS_BYTES    (PX_MAX_HEADERS * sizeof(pc_http_header_t))
#define PX_MAX_ATTEMPTS  (PC_HTTP_PROXY_MAX_TRIES + 2)

/*
 * The decoded body segments of one upstream read go to the writer in one
 * pc_http_send_body call (one chunk header, one gzip flush), as links of
 * ctx->out.  8 links leave room in the writer's 16 spans for the head,
 * the chunk line, its CRLF and the last chunk, so nothing is copied; a
 * segment of at most PX_OUT_MERGE bytes is moved onto the end of the
 * previous link instead of taking one (1-byte chunks: one link a read).
 */
#define PX_OUT_LINKS     8
#define PX_OUT_MERGE     1024

typedef enum {
    PX_CONNECT = 0,     /* connect(2) in progress                          */
    PX_ACTIVE,          /* sending the request and/or reading the response */
    PX_TUNNEL,          /* 101: bytes both ways                            */
    PX_DONE             /* finalized or failed: nothing more happens       */
} pc_http_proxy_state_e;

typedef enum {
    PX_PHASE_CONNECT = 0, PX_PHASE_SEND, PX_PHASE_HEADER, PX_PHASE_BODY
} pc_http_proxy_phase_e;

typedef enum { PX_ERR_ERROR = 0, PX_ERR_TIMEOUT, PX_ERR_INVALID, PX_ERR_HTTP } pc_http_proxy_kind_e;

/* One attempt, for the $upstream_* variables (times in ms, -1 = "-"). */
typedef struct {
    const pc_str_t *peer;
    int             status;
    pc_msec_t       start;
    pc_msec_t       connect;
    pc_msec_t       header;
    pc_msec_t       response;
    unsigned        reused:1;
} pc_http_proxy_attempt_t;

/* One direction of a tunnel. */
typedef struct {
    pc_conn_t      *src;
    pc_conn_t      *dst;
    pc_buf_t       *b;
    pc_str_t        pre;            /* bytes to write before b's         */
    unsigned        eof:1;
    unsigned        done:1;
    unsigned        want_r:1;
    unsigned        want_w:1;
} pc_http_proxy_pipe_t;

typedef struct {
    pc_http_request_t         *r;
    pc_http_proxy_loc_conf_t  *plcf;
    const pc_http_upstream_t  *u;
    pc_http_upstream_rt_t     *rt;
    pc_http_upconn_t          *uc;
    int                        peer;
    int                        retry_peer;     /* stale retry: this peer, new conn */
    uint8_t                   *tried;
    uint32_t                   ntries;
    uint32_t                   head_parsed;  /* head bytes the parser has seen */
    uint32_t                   hash;
    pc_http_proxy_attempt_t   *att;           /* att_inline, or r->pool when more */
    pc_http_proxy_attempt_t    att_inline[2];
    uint32_t                   natt;
    uint32_t                   att_cap;
    int                        state;
    pc_msec_t                  deadline;       /* 0: none                   */
    int                        timer_kind;     /* 0 none, 1 send, 2 read, 3 connect */
    const char                *reason;         /* for the error response    */

    /* request to the upstream */
    pc_str_t                   head;
    size_t                     head_off;
    const u_char              *span;           /* body payload being written */
    size_t                     span_len;
    size_t                     span_off;       /* framed bytes written       */
    u_char                     chunk_line[24];
    size_t                     chunk_line_len;
    size_t                     last_off;       /* of "0\r\n\r\n"             */
    uint64_t                   body_consumed;
    unsigned                   has_body:1;
    unsigned                   held:1;         /* whole body written, kept for a retry */
    unsigned                   chunked:1;
    unsigned                   body_eof:1;
    unsigned                   req_sent:1;
    unsigned                   sent_any:1;
    unsigned                   wblocked:1;
    unsigned                   upgrade:1;
    unsigned                   stale_retried:1;
    unsigned                   resp_any:1;
    unsigned                   out_busy:1;
    unsigned                   last_sent:1;
    unsigned                   head_flushed:1; /* the client head was pushed out */
    unsigned                   no_live:1;      /* 503: no peer could be tried */
    unsigned                   progress_r:1;
    unsigned                   progress_w:1;

    /* response */
    pc_buf_t                  *buf;
    pc_buf_t                   out[PX_OUT_LINKS]; /* spans of ctx->buf for the writer */
    pc_chain_t                 cl[PX_OUT_LINKS];
    uint32_t                   nout;           /* collected, unsent; 0 outside px_body */
    pc_http_proxy_resp_t       resp;
    pc_http_header_t          *hdrs;

    /* tunnel */
    pc_buf_t                  *cbuf;
    pc_http_proxy_pipe_t       down;           /* upstream → client           */
    pc_http_proxy_pipe_t       up;             /* client → upstream           */
    ev_io                      crev;           /* tunnel; before it: client close */
    ev_io                      cwev;
} pc_http_proxy_ctx_t;

#define PX_LOOP  (pc_worker->loop)
#define PX_NOW   (pc_time.mono_ms)

/* The attempt in progress (or the last one). */
static inline pc_http_proxy_attempt_t *
pc_http_proxy_cur(pc_http_proxy_ctx_t *ctx)
{
    return &ctx->att[ctx->natt - 1];
}

/*
 * pc_http_proxy.c: end the request.  rc is an HTTP status (an error
 * response before the head was sent, a cut-short response after), PC_DONE
 * (success) or PC_ERROR.  Releases the upstream connection (closed) and
 * finalizes r.  Returns PC_DONE.
 */
pc_rc_t pc_http_proxy_end(pc_http_proxy_ctx_t *ctx, pc_rc_t rc);

/* pc_http_proxy.c: (re)arm the upstream connection's timer: kind 0 stops
 * it; a new kind or restart sets it to ms (capped by the deadline). */
void pc_http_proxy_timer(pc_http_proxy_ctx_t *ctx, int kind, pc_msec_t ms,
    bool restart);

/* pc_http_proxy.c: stop the tunnel's client watchers (idempotent). */
void pc_http_proxy_stop_client(pc_http_proxy_ctx_t *ctx);

/* pc_http_proxy_resp.c: copy the final head ctx->resp.head (in ctx->buf)
 * into r -- status, a plain reason phrase, the fields a client may get,
 * the length -- and send it.  PC_OK, or what pc_http_proxy_end returned. */
pc_rc_t pc_http_proxy_send_head(pc_http_proxy_ctx_t *ctx);

/* pc_http_proxy_resp.c: write h's fields a client may get (not hop-by-hop,
 * pc_http_proxy_pass_field; b is the head's buffer) at p as "Name: Value"
 * lines, for heads written directly (1xx, 101); p needs head_len +
 * 4 * nheaders bytes.  Returns the end. */
u_char *pc_http_proxy_put_fields(u_char *p, const pc_http_head_t *h, const u_char *b);

/* pc_http_proxy_resp.c: forward the interim (1xx but 101) head
 * ctx->resp.head to an HTTP/1.1 client, written directly; dropped once
 * our own 100 Continue went out, and for an HTTP/1.0 client. */
void pc_http_proxy_interim(pc_http_proxy_ctx_t *ctx);

/* pc_http_proxy_tunnel.c: the upstream answered 101 to an Upgrade the
 * location allows; ctx->resp.head is that head.  PC_AGAIN or PC_DONE. */
pc_rc_t pc_http_proxy_tunnel_start(pc_http_proxy_ctx_t *ctx);

/* pc_http_proxy_tunnel.c: move bytes both ways and re-arm.  PC_AGAIN, or
 * PC_DONE when the tunnel ended (and so did the request). */
pc_rc_t pc_http_proxy_tunnel_run(pc_http_proxy_ctx_t *ctx);

/* pc_http_proxy_tunnel.c: close the tunnel and end the request. */
pc_rc_t pc_http_proxy_tunnel_end(pc_http_proxy_ctx_t *ctx);

#endif /* PC_HTTP_PROXY_CTX_H */
