/*
 * pc_http_proxy_msg.h -- the pure half of the proxy: upstream response
 * framing and header filtering, with no I/O and no allocation.
 *
 * pc_http_proxy.c drives these with bytes read from the upstream socket;
 * t/fuzz/fuzz_proxy_response.c drives them with arbitrary bytes and checks
 * that the re-framed output carries exactly the decoded body.  The strict
 * parsers (pc_http_parse_response, pc_http_chunked_decode) decide framing;
 * this layer only sequences them: 1xx heads, the final head, the body.
 */
#ifndef PC_HTTP_PROXY_MSG_H
#define PC_HTTP_PROXY_MSG_H

#include "core/pc_types.h"
#include "http/pc_http_parse.h"
#include "http/pc_http_chunked.h"

typedef enum {
    PC_HTTP_PROXY_RESP_HEAD = 0,   /* reading a (1xx or final) head       */
    PC_HTTP_PROXY_RESP_BODY,       /* reading the body of the final head  */
    PC_HTTP_PROXY_RESP_DONE        /* body complete                       */
} pc_http_proxy_resp_state_e;

typedef struct {
    pc_http_parser_t     parser;
    pc_http_head_t       head;
    pc_http_header_t    *hdrs;        /* caller's array                     */
    uint32_t             hdrs_cap;
    pc_http_limits_t     limits;
    pc_http_method_e     method;      /* of the request being answered      */
    pc_http_chunked_t    chunked;
    int64_t              remaining;   /* LENGTH: body bytes still to come   */
    int                  state;       /* pc_http_proxy_resp_state_e         */
    uint32_t             ninterim;    /* 1xx heads seen                     */
    const char          *error;       /* on PC_ERROR: short static reason   */
} pc_http_proxy_resp_t;

/* At most this many 1xx heads before the final one (then 502). */
#define PC_HTTP_PROXY_MAX_INTERIM  16

/*
 * Prepare rs for one response to a request with method `method`: heads are
 * parsed into hdrs[0 .. cap), and no head may exceed max_head bytes (the
 * proxy buffer: a head must fit in it).
 */
void pc_http_proxy_resp_init(pc_http_proxy_resp_t *rs, pc_http_header_t *hdrs,
    uint32_t cap, uint32_t max_head, pc_http_method_e method);

/*
 * Parse a head from buf[0 .. len) (buf[0] is its first byte; same buf and a
 * growing len across calls).  PC_OK: rs->head is complete (head_len bytes);
 * it is a 1xx when head.status < 200: the caller consumes head_len bytes
 * and calls pc_http_proxy_resp_next_head() before parsing the next one.
 * For a final head the state is now BODY (or DONE when there is no body).
 * PC_AGAIN: more bytes needed.  PC_ERROR: invalid (rs->error; 502).
 */
pc_rc_t pc_http_proxy_resp_head(pc_http_proxy_resp_t *rs, const u_char *buf,
    size_t len);

/* After a 1xx head: get ready for the next head (PC_ERROR after too many). */
pc_rc_t pc_http_proxy_resp_next_head(pc_http_proxy_resp_t *rs);

/*
 * Decode body bytes from [*pos, end).  *pos advances past what was used; a
 * payload span (possibly empty) is returned in *data and *len.  PC_OK: progress,
 * call again; PC_AGAIN: input exhausted; PC_DONE: the body is complete
 * (bytes left in [*pos, end) are extra: the connection cannot be reused);
 * PC_ERROR: bad chunked framing (rs->error).
 */
pc_rc_t pc_http_proxy_resp_body(pc_http_proxy_resp_t *rs, const u_char **pos,
    const u_char *end, const u_char **data, size_t *len);

/* The upstream closed: PC_DONE when that ends the body (close-delimited),
 * else PC_ERROR with rs->error set (truncated head or body). */
pc_rc_t pc_http_proxy_resp_eof(pc_http_proxy_resp_t *rs);

/* Whether the connection may carry another request after this response:
 * body complete, HTTP/1.1, no Connection: close, not close-delimited. */
bool pc_http_proxy_resp_reusable(const pc_http_proxy_resp_t *rs);

/*
 * Hop-by-hop test for field f of head h (bytes in buf): Connection,
 * Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade, and
 * any field named by a token of a Connection field (RFC 9110 §7.6.1).
 */
bool pc_http_proxy_hop_by_hop(const pc_http_head_t *h, const u_char *buf,
    const pc_http_header_t *f);

/* Whether name[0 .. len) is one of the tokens of h's Connection fields. */
bool pc_http_proxy_conn_token(const pc_http_head_t *h, const u_char *buf,
    const u_char *name, size_t len);

/*
 * Whether response field f goes to the client: not hop-by-hop, not
 * Content-Length (the writer re-derives framing), and not named in
 * hide[0 .. nhide) (proxy_hide_header, case-insensitive).
 */
bool pc_http_proxy_pass_field(const pc_http_head_t *h, const u_char *buf,
    const pc_http_header_t *f, const pc_str_t *hide, uint32_t nhide);

#endif /* PC_HTTP_PROXY_MSG_H */
