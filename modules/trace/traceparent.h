/*
 * traceparent.h -- W3C Trace Context `traceparent` and X-Request-ID, as
 * pure functions (no I/O, no allocation, no clock): parse, validate,
 * format.  Unit-tested in t/unit/modules/trace/test_traceparent.c and
 * fuzzed by t/fuzz/fuzz_traceparent.c.
 *
 * What is accepted (https://www.w3.org/TR/trace-context/ Level 1, §3.2.2
 * and §3.2.4 "Versioning of traceparent"): version 00 exactly as defined
 * (55 bytes); a higher version read as 00 would be, provided its 55 bytes
 * are a valid 00 header apart from the version and are followed by the end
 * of the value or a dash; never version ff.  Lowercase hex only, dashes in
 * place, trace-id and parent-id not all zeros.
 */
#ifndef PC_TRACE_TRACEPARENT_H
#define PC_TRACE_TRACEPARENT_H

#include "core/pc_types.h"

#define PC_TRACE_PARENT_LEN      55     /* "00-" 32 "-" 16 "-" 2           */
#define PC_TRACE_VERSION         0x00   /* the version we parse and send   */
#define PC_TRACE_VERSION_INVALID 0xff
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
 * Parse a traceparent field value p[0 .. len).  Accepts
 * VV "-" 32*LHEX "-" 16*LHEX "-" 2*LHEX (LHEX = 0-9 a-f, VV = 2*LHEX but not
 * "ff") with a trace-id and a parent-id that are not all zeros; with VV
 * "00" nothing may follow, with a higher VV the value may go on with "-"
 * and anything (ignored).  Rejects everything else: uppercase hex, a
 * missing byte, surrounding spaces, bytes after a 00 header.  PC_OK with
 * *out filled -- flags as received for 00, only PC_TRACE_FLAG_SAMPLED of
 * them for a higher version (the only flag 00 defines) -- or PC_DECLINED
 * (invalid: *out is unspecified).
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
