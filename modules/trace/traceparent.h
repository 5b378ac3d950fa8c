/*
 * traceparent.h -- W3C Trace Context `traceparent` and X-Request-ID, as
 * pure functions (no I/O, no allocation, no clock): parse, validate,
 * format.  Unit-tested in t/unit/modules/trace/test_traceparent.c and
 * fuzzed by t/fuzz/fuzz_traceparent.c.
 *
 * What is accepted (https://www.w3.org/TR/trace-context/ §3.2, narrowed on
 * purpose): version "00" only -- a header of any other version, including
 * a future one, is invalid here and starts a new trace; exactly 55 bytes;
 * lowercase hex only; dashes in place; trace-id and parent-id not all
 * zeros.  The flags byte is kept as received.
 */
#ifndef PC_TRACE_TRACEPARENT_H
#define PC_TRACE_TRACEPARENT_H

#include "core/pc_types.h"

#define PC_TRACE_PARENT_LEN      55     /* "00-" 32 "-" 16 "-" 2           */
#define PC_TRACE_ID_BYTES        16
#define PC_TRACE_SPAN_BYTES      8
#define PC_TRACE_FLAG_SAMPLED    0x01
#define PC_TRACE_REQUEST_ID_MAX  200    /* X-Request-ID: 1 .. 200 bytes    */

typedef struct {
    u_char  trace_id[PC_TRACE_ID_BYTES];
    u_char  parent_id[PC_TRACE_SPAN_BYTES];
    u_char  flags;
} pc_trace_parent_t;

/*
 * Parse a traceparent field value p[0 .. len).  Accepts exactly
 * "00-" 32*LHEX "-" 16*LHEX "-" 2*LHEX (LHEX = 0-9 a-f) with a trace-id and
 * a parent-id that are not all zeros.  Rejects everything else: another
 * version, uppercase hex, any extra or missing byte, surrounding spaces.
 * PC_OK with *out filled, or PC_DECLINED (invalid: *out is unspecified).
 */
pc_rc_t pc_trace_parent_parse(const u_char *p, size_t len, pc_trace_parent_t *out);

/* Write "00-<trace-id>-<span-id>-<flags>" (PC_TRACE_PARENT_LEN bytes, no
 * NUL) at out; returns the end of what it wrote. */
u_char *pc_trace_parent_format(u_char *out, const u_char *trace_id,
    const u_char *span_id, u_char flags);

/* Lowercase hex of in[0 .. n) at out (2n bytes); returns the end. */
u_char *pc_trace_hex(u_char *out, const u_char *in, size_t n);

/* True when every byte of p[0 .. n) is zero. */
bool pc_trace_all_zero(const u_char *p, size_t n);

/* An incoming X-Request-ID is kept when it has 1 .. 200 bytes, each a
 * visible ASCII character (0x21 .. 0x7e); anything else is replaced. */
bool pc_trace_request_id_valid(const u_char *p, size_t len);

#endif /* PC_TRACE_TRACEPARENT_H */
