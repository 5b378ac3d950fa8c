/*
 * pc_http_parse.h -- the strict, incremental HTTP/1.x message-head parser.
 *
 * One parser decides framing for requests and for responses (SPEC §8,
 * RFC 9112).  It is a pure function over bytes: no I/O, no allocation, no
 * global state.  Results are offsets into the caller's buffer, so the caller
 * may move the bytes (e.g. grow the buffer) between calls as long as the
 * content of buf[0 .. len) is preserved.
 *
 * Incremental use: the caller keeps calling with the same buffer start and a
 * growing len; the parser resumes where it stopped (p->pos).  Feeding one byte
 * at a time gives exactly the same result as feeding everything at once.
 */
#ifndef PC_HTTP_PARSE_H
#define PC_HTTP_PARSE_H

#include "core/pc_types.h"

typedef enum {
    PC_HTTP_UNKNOWN = 0,          /* a valid token that is none of these */
    PC_HTTP_GET,
    PC_HTTP_HEAD,
    PC_HTTP_POST,
    PC_HTTP_PUT,
    PC_HTTP_DELETE,
    PC_HTTP_OPTIONS,
    PC_HTTP_PATCH,
    PC_HTTP_TRACE,
    PC_HTTP_CONNECT
} pc_http_method_e;

/* Headers the core looks at; everything else is PC_HTTP_H_OTHER. */
typedef enum {
    PC_HTTP_H_OTHER = 0,
    PC_HTTP_H_HOST,
    PC_HTTP_H_CONTENT_LENGTH,
    PC_HTTP_H_TRANSFER_ENCODING,
    PC_HTTP_H_CONNECTION,
    PC_HTTP_H_KEEP_ALIVE,
    PC_HTTP_H_PROXY_CONNECTION,
    PC_HTTP_H_TE,
    PC_HTTP_H_TRAILER,
    PC_HTTP_H_UPGRADE,
    PC_HTTP_H_EXPECT,
    PC_HTTP_H_COOKIE,
    PC_HTTP_H_USER_AGENT,
    PC_HTTP_H_REFERER,
    PC_HTTP_H_CONTENT_TYPE,
    PC_HTTP_H_CONTENT_ENCODING,
    PC_HTTP_H_X_FORWARDED_FOR,
    PC_HTTP_H_DATE,
    PC_HTTP_H_SERVER,
    PC_HTTP_H__COUNT
} pc_http_hdr_e;

/* How the body that follows the head is delimited. */
typedef enum {
    PC_HTTP_BODY_NONE = 0,        /* no body at all                           */
    PC_HTTP_BODY_LENGTH,          /* exactly content_length bytes (may be 0)  */
    PC_HTTP_BODY_CHUNKED,         /* chunked transfer coding                  */
    PC_HTTP_BODY_CLOSE            /* responses only: until the peer closes    */
} pc_http_body_e;

/* One header field: offsets and lengths into the message buffer.  The value
 * has optional whitespace trimmed on both sides. */
typedef struct {
    uint32_t        name;
    uint32_t        name_len;
    uint32_t        value;
    uint32_t        value_len;
    uint8_t         id;           /* pc_http_hdr_e */
} pc_http_header_t;

/* Limits the caller imposes (from configuration). */
typedef struct {
    uint32_t        max_request_line;  /* request/status line bytes; over → 414 (request) / 502 */
    uint32_t        max_header_line;   /* one header line;  over → 431 (request) / 502 */
    uint32_t        max_head;          /* whole head;        over → 431 (request) / 502 */
} pc_http_limits_t;

/* Everything the parser learnt about one message head. */
typedef struct {
    /* request line (requests) */
    pc_http_method_e method;
    uint32_t        method_off, method_len;
    uint32_t        target_off, target_len;   /* raw request-target                */
    uint32_t        path_off, path_len;       /* path part (absolute-form: after the authority; "*" for asterisk-form) */
    uint32_t        query_off, query_len;     /* after '?', '?' excluded           */
    uint32_t        host_off, host_len;       /* absolute-form authority, else Host value */

    /* status line (responses) */
    int             status;                   /* 100..599                          */
    uint32_t        reason_off, reason_len;

    int             version;                  /* 10 or 11 (HTTP/1.0, HTTP/1.1)     */

    /* framing, decided here and only here */
    pc_http_body_e  body;
    int64_t         content_length;           /* -1 when absent                    */

    unsigned        has_query:1;
    unsigned        absolute_form:1;
    unsigned        has_host:1;
    unsigned        conn_close:1;             /* Connection: close (or 1.0 without keep-alive) */
    unsigned        conn_keep_alive:1;        /* Connection: keep-alive token seen */
    unsigned        conn_upgrade:1;           /* Connection: upgrade token seen    */
    unsigned        has_upgrade:1;            /* an Upgrade header is present      */
    unsigned        expect_continue:1;        /* Expect: 100-continue              */
    unsigned        line_ok:1;                /* the request line was complete and
                                                 valid (set even when a later
                                                 field fails: errors are logged
                                                 with their request)            */

    /* header fields, in order of arrival (the array is the caller's) */
    pc_http_header_t *headers;
    uint32_t        nheaders;
    uint32_t        headers_cap;              /* more fields than this → 431 / 502 */
    uint32_t        idx[PC_HTTP_H__COUNT];    /* 1 + index of the first field of each id, 0 = absent */

    uint32_t        head_len;                 /* bytes of the head incl. the blank line */

    /* on PC_ERROR */
    int             error_status;             /* 400, 413, 414, 431, 501 (request) or 502 (response) */
    const char     *error;                    /* short static reason, for the log  */
} pc_http_head_t;

/* Parser state.  Zeroed by pc_http_parser_init; opaque to callers. */
typedef struct {
    const pc_http_limits_t *limits;
    pc_http_head_t *h;
    uint32_t        pos;            /* next byte to examine                        */
    uint32_t        line_start;     /* start of the line being parsed              */
    uint32_t        mark, mark2;    /* scratch offsets for the current element     */
    int             state;
    int             is_response;
    int             req_method;     /* responses: the request's method (HEAD ⇒ no body) */
    unsigned        flags;          /* scratch flags for the current element       */
    uint32_t        nhost;          /* number of Host fields seen                  */
} pc_http_parser_t;

/*
 * Prepare p to parse one message head into h, using the caller's header array
 * hdrs[0 .. cap).  Must be called again before each new message.
 */
void pc_http_parser_init(pc_http_parser_t *p, pc_http_head_t *h,
    pc_http_header_t *hdrs, uint32_t cap, const pc_http_limits_t *limits);

/*
 * Parse a request head.  buf[0 .. len) holds the bytes received so far for
 * this message (buf[0] is its first byte; up to a few leading empty lines are
 * skipped per RFC 9112 §2.2).  Returns:
 *   PC_OK     head complete; h->head_len bytes belong to it, the body (if any)
 *             or the next pipelined request starts at buf + h->head_len.
 *   PC_AGAIN  need more bytes (call again with the same buf and a larger len).
 *   PC_ERROR  malformed / over a limit: h->error_status and h->error are set;
 *             the connection must be answered with that status and closed.
 * Enforces every rule of SPEC §8 (CL+TE, TE not ending in chunked, unknown
 * transfer coding → 501, TE in HTTP/1.0, bad or conflicting Content-Length,
 * obs-fold, whitespace before colon, bare CR, NUL, control bytes, token
 * method, target without whitespace/controls, Host rules, ...).
 */
pc_rc_t pc_http_parse_request(pc_http_parser_t *p, const u_char *buf, size_t len);

/*
 * Parse a response head from an upstream.  req_method is the method of the
 * request it answers (HEAD means no body whatever the headers say).  Same
 * return convention; on error h->error_status is 502.  Body framing: 1xx,
 * 204, 304 and HEAD → NONE; chunked → CHUNKED; Content-Length → LENGTH;
 * otherwise CLOSE.  A 1xx head is returned as a complete message of its own
 * (the caller parses the next head after it).
 */
pc_rc_t pc_http_parse_response(pc_http_parser_t *p, const u_char *buf, size_t len,
    pc_http_method_e req_method);

/*
 * Find the first header field with the given id; returns NULL when absent.
 */
const pc_http_header_t *pc_http_head_find(const pc_http_head_t *h, pc_http_hdr_e id);

/*
 * Find the first header field whose name equals name[0..len) case-insensitively.
 */
const pc_http_header_t *pc_http_head_find_name(const pc_http_head_t *h,
    const u_char *buf, const u_char *name, size_t len);

/*
 * Normalise a request path into dst (which must hold at least len bytes):
 * decode %XX escapes, merge "//" into "/", resolve "." and ".." segments.
 * Rejects (returns PC_ERROR) a path that does not start with '/', a malformed
 * escape, a decoded NUL, or ".." above the root.  On success *dst_len is set.
 * Pure; used for $uri and location matching.
 */
pc_rc_t pc_http_normalize_path(const u_char *src, size_t len, u_char *dst,
    size_t *dst_len);

/* The canonical text of a method ("GET"), or NULL for PC_HTTP_UNKNOWN. */
const char *pc_http_method_name(pc_http_method_e m);

#endif /* PC_HTTP_PARSE_H */
