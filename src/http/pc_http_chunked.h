/*
 * pc_http_chunked.h -- incremental decoder for the chunked transfer coding
 * (RFC 9112 §7.1), for request and response bodies alike.
 *
 * Pure: no I/O, no allocation.  It never copies payload: it tells the caller
 * where the payload bytes are inside the input it was given, so the caller
 * can forward them from the same buffer.
 */
#ifndef PC_HTTP_CHUNKED_H
#define PC_HTTP_CHUNKED_H

#include "core/pc_types.h"

typedef struct {
    int             state;
    uint64_t        size;          /* bytes of the current chunk still to come */
    uint32_t        line_len;      /* bytes of the current size/ext/trailer line */
    uint32_t        trailer_len;   /* total trailer bytes so far               */
    uint32_t        max_line;      /* bound on a chunk-size line incl. extensions (default 4096) */
    uint32_t        max_trailers;  /* bound on all trailer bytes (default 8192) */
    unsigned        ndigits;
    uint64_t        total;         /* payload bytes decoded so far             */
    const char     *error;         /* on PC_ERROR: short static reason          */
} pc_http_chunked_t;

/* Reset ctx for a new body; 0 limits take the defaults above. */
void pc_http_chunked_init(pc_http_chunked_t *ctx, uint32_t max_line,
    uint32_t max_trailers);

/*
 * Decode from [*pos, end).  On return *pos has advanced past every byte the
 * decoder consumed.  When payload is available, *data and *data_len describe
 * it (a sub-range of the consumed bytes; *data_len is 0 otherwise).  At most
 * one payload span is returned per call.  Returns:
 *   PC_OK     progress was made (maybe payload); call again with the rest.
 *   PC_AGAIN  every input byte was consumed and more are needed.
 *   PC_DONE   the last chunk and the trailer section are complete; *pos is
 *             just after them (the next message starts there).
 *   PC_ERROR  bad framing (ctx->error says why): 400 for a request, 502 for
 *             a response; the connection must be closed.
 * Rules: chunk-size is 1*HEXDIG (at most 16 digits, no overflow), optional
 * extensions bounded by max_line and ignored, CRLF after each chunk's data,
 * trailers bounded by max_trailers and syntax-checked like header fields,
 * then discarded.  Every line end of the framing is CRLF: a bare LF is an
 * error, like a bare CR (a smuggling vector when hops disagree).
 */
pc_rc_t pc_http_chunked_decode(pc_http_chunked_t *ctx, const u_char **pos,
    const u_char *end, const u_char **data, size_t *data_len);

#endif /* PC_HTTP_CHUNKED_H */
