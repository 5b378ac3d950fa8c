/*
 * pc_http_request.h -- private state of the HTTP runtime (request lifecycle,
 * response writer, phase engine).  Only src/http/pc_http_{request,phase,
 * write,error}.c include it; modules see pc_http.h.
 *
 * Memory, by owner:
 *   pc_http_conn_t   per client connection, from a per-worker slab free list
 *                    (32 bytes: an idle keep-alive client holds nothing else
 *                    but its pc_conn_t);
 *   pc_http_req_t    the request and its private runtime state, carved from
 *                    the request pool, which comes from a per-worker cache of
 *                    reset pools and goes back to it when the connection
 *                    idles;
 *   input buffers    pc_buf_get() blocks: client_header_buffer_size for a
 *                    head, one large_client_header_buffers block for a big
 *                    head, PC_HTTP_BODY_BUF_SIZE for body bytes.  Released
 *                    when the connection idles.
 */
#ifndef PC_HTTP_REQUEST_H
#define PC_HTTP_REQUEST_H

#include "http/pc_http.h"

#define PC_HTTP_MAX_HEADERS     100     /* header fields; one more → 431       */
#define PC_HTTP_BODY_BUF_SIZE   16384   /* request body input buffer           */
#define PC_HTTP_POOL_SIZE       8192    /* request pool block                  */
#define PC_HTTP_OUT_SPANS       16      /* pending output spans per request    */

typedef struct pc_http_req_s pc_http_req_t;

typedef enum {
    PC_HC_IDLE = 0,     /* no request: waiting for its first byte (no buffer, no pool);
                           after a request also reusable (pc_conn_reusable):
                           accept may close the oldest when worker_connections
                           run out.  Not a fresh one: it has had no answer. */
    PC_HC_HEAD,         /* reading / parsing a request head                    */
    PC_HC_ACTIVE,       /* head done: phases, handler, body, response          */
    PC_HC_LINGER        /* response written, write side shut: draining input   */
} pc_http_conn_state_e;

struct pc_http_conn_s {
    union {
        pc_conn_t       *c;
        pc_http_conn_t  *next_free;     /* while on the free list              */
    } u;
    pc_buf_t            *in;            /* input; NULL while idle              */
    pc_http_req_t       *req;           /* request in progress; NULL while idle */
    uint32_t             nrequests;     /* requests started ($connection_requests);
                                           in LINGER: KiB drained              */
    uint8_t              state;         /* pc_http_conn_state_e                */
    uint8_t              busy;          /* runtime frames on the stack         */
    unsigned             draining:1;    /* graceful shutdown: close when done  */
    unsigned             close_pending:1; /* close once busy drops to 0        */
    unsigned             fresh:1;       /* no byte received on it yet          */
};

/* One run of bytes waiting to be written. */
typedef struct {
    u_char              *pos;
    size_t               len;
    pc_buf_t            *buf;           /* caller's buffer: its pos follows as
                                           bytes go out; NULL for own bytes    */
} pc_http_span_t;

/* The request as the runtime knows it.  r must stay the first member:
 * (pc_http_req_t *) r is how the runtime gets back to its state. */
struct pc_http_req_s {
    pc_http_request_t    r;
    pc_http_parser_t     parser;
    pc_http_limits_t     limits;
    pc_buf_t            *head_in;       /* buffer holding the head (values point
                                           into it) until the request ends     */

    /* request body */
    pc_http_chunked_t    chunked;
    const u_char        *span;          /* payload handed out, not consumed    */
    size_t               span_len;
    const u_char        *span_next;     /* input position after the span       */
    uint64_t             body_in;       /* input bytes of the body (framing incl.) */
    uint64_t             body_raw;      /* bytes read from the socket for the body */
    pc_msec_t            wait_start;    /* waiting for body bytes since        */
    pc_msec_t            wait_total;    /* time spent waiting for body bytes   */
    int                  body_status;   /* sticky body error (400, 408, 413)   */
    unsigned             body_wait:1;   /* read watcher armed for body bytes   */
    unsigned             discarding:1;  /* throwing the body away              */
    unsigned             loc_found:1;   /* location lookup done                */

    /* pc_http_watch_client */
    pc_http_event_pt     gone_handler;
    unsigned             gone_quiet:1;  /* client bytes seen: watch no more    */

    /* response writer */
    pc_http_span_t       out[PC_HTTP_OUT_SPANS];
    uint32_t             nspans;
    uint32_t             head_len;      /* serialised head bytes (body_bytes_sent) */
    u_char               chunk_line[24];
    ev_timer             send_timer;    /* send_timeout; stopped before the pool goes */
    unsigned             finalized:1;   /* pc_http_finalize() was called       */
    unsigned             last_sent:1;   /* the end of the body was queued      */
    unsigned             truncated:1;   /* response cut short: close, no last chunk */
    unsigned             send_waiting:1; /* write watcher armed                */
    unsigned             replaced:1;    /* the handler's response was replaced by
                                           the error its ignored body deserved:
                                           its body bytes are dropped          */
};

#define pc_http_req(r)  ((pc_http_req_t *) (r))

/*
 * The listener handler: set as listening->handler for http listeners.
 * Takes over c (sets c->data, watchers, c->proto); never fails visibly:
 * on ENOMEM the connection is closed.
 */
void pc_http_init_connection(pc_conn_t *c);

/* Free the worker's caches of connection structs and request pools (worker
 * exit, tests).  Connections still open keep theirs. */
void pc_http_runtime_release(void);

/*
 * Re-entrancy guard for code that calls into modules (phase handlers,
 * read/write event handlers): while hc->busy > 0 nothing frees the request
 * or closes the connection; pc_http_req_leave() performs what was deferred
 * (end of request, next pipelined request, close).  r may be gone after
 * leave; hc is not used after it either.
 */
void pc_http_req_enter(pc_http_conn_t *hc);
void pc_http_req_leave(pc_http_conn_t *hc);

/* pc_http_request.c: the connection failed (write error, send_timeout):
 * end the request (LOG phase, pool cleanups) and close, now or when the
 * runtime unwinds. */
void pc_http_req_abort(pc_http_req_t *req);

/* pc_http_request.c: may the connection be reused after this response
 * (client's wish, keepalive_timeout/requests, draining, a body that can
 * still be drained)?  Decided when the head is serialised. */
bool pc_http_req_keepalive(pc_http_req_t *req);

/* pc_http_request.c: every queued output byte was written. */
void pc_http_req_output_done(pc_http_req_t *req);

/* pc_http_write.c: write queued output.  PC_OK all written, PC_AGAIN the
 * rest waits for the write watcher, PC_ERROR connection failed. */
pc_rc_t pc_http_write_flush(pc_http_req_t *req);

/* pc_http_write.c: the client connection is writable (its proto->write);
 * the send_timeout callback. */
void pc_http_write_event(pc_conn_t *c);
void pc_http_send_timeout(struct ev_loop *loop, ev_timer *w, int revents);

/* pc_http_write.c: queue own bytes (static or request-pool memory) for the
 * response, ahead of nothing else.  PC_OK / PC_ERROR (queue full). */
pc_rc_t pc_http_write_queue(pc_http_req_t *req, const u_char *p, size_t len);

/* pc_http_error.c: does an error response with this status close the
 * connection (SPEC §8). */
bool pc_http_error_closes(int status);

/* pc_http_error.c: log a client error at info with the request context. */
void pc_http_log_client_error(pc_http_request_t *r, int status,
    const char *reason);

#endif /* PC_HTTP_REQUEST_H */
