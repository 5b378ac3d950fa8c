/*
 * pc_http_write.h -- response head serialisation (pure) for the writer in
 * pc_http_write.c.  No I/O, no allocation: the caller sizes the buffer with
 * pc_http_head_len() and fills it with pc_http_head_write().
 */
#ifndef PC_HTTP_WRITE_H
#define PC_HTTP_WRITE_H

#include "http/pc_http.h"

/* What goes into a response head besides the status line. */
typedef struct {
    int                     status;         /* 100..999                      */
    pc_str_t                reason;         /* len 0: RFC 9110's phrase      */
    const pc_http_field_t  *fields;         /* r->out                        */
    uint32_t                nfields;
    pc_str_t                date;           /* len 0: no Date field          */
    int64_t                 content_length; /* < 0: no Content-Length        */
    unsigned                chunked:1;      /* Transfer-Encoding: chunked    */
    unsigned                keepalive:1;    /* Connection: keep-alive / close */
} pc_http_head_out_t;

/*
 * Exact byte count of the head pc_http_head_write() produces for h:
 *   "HTTP/1.1 SSS Reason\r\n"      reason, else pc_http_status_text()
 *   "Server: portcullis\r\n"     unless fields carry a Server
 *   "Date: ...\r\n"              unless date is empty or fields carry a Date
 *   each field "Name: Value\r\n" except Content-Length, Transfer-Encoding,
 *                                Connection and Keep-Alive (the writer alone
 *                                decides framing and persistence)
 *   "Content-Length: N\r\n" or "Transfer-Encoding: chunked\r\n" (if any)
 *   "Connection: keep-alive|close\r\n" "\r\n"
 */
size_t pc_http_head_len(const pc_http_head_out_t *h);

/* Serialise h at dst (pc_http_head_len(h) bytes); returns the end. */
u_char *pc_http_head_write(u_char *dst, const pc_http_head_out_t *h);

/* The chunk-size line for a chunk of size bytes ("1a2b\r\n") at dst, which
 * needs 18 bytes; returns its length. */
size_t pc_http_chunk_line(u_char *dst, uint64_t size);

#endif /* PC_HTTP_WRITE_H */
