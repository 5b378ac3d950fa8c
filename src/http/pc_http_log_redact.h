/*
 * pc_http_log_redact.h -- log_redact_args: a query string copied with the
 * values of chosen arguments replaced by "***", for the access log and the
 * error-log lines that quote a request.
 *
 * Pure: no I/O, no allocation, no state; the query is untrusted bytes (the
 * client's), any of them.  The caller owns both buffers.
 */
#ifndef PC_HTTP_LOG_REDACT_H
#define PC_HTTP_LOG_REDACT_H

#include "core/pc_types.h"

/*
 * The bytes pc_http_log_redact_query may write for a query of len bytes:
 * every redacted argument takes at least 2 input bytes ("a=") and its value
 * becomes "***", so the output grows by at most 3 per 2 input bytes.  It is
 * also a bound for a longer value holding the query (the bytes around it
 * copied as they are): it grows with len.
 */
#define PC_HTTP_LOG_REDACT_BOUND(len)  ((len) + 3 * ((len) / 2 + 1))

/*
 * Copy the query [q, stop) (no leading '?') to out, with the value of every
 * argument whose name reads as one of names[0 .. nnames) replaced by "***".
 *
 * Arguments are separated by '&' or ';'; an argument is "name=value" with a
 * non-empty name (no '=': never redacted, copied).  A name matches under
 * any plausible backend decoding: %XX escapes decoded, '+' as itself or a
 * space, ASCII letters in any case, PHP's mangling (' ', '.' and '[' read
 * as '_', leading spaces dropped, "name[...]" an array called name).  A
 * redacted value is hidden up to the next '&' (a ';' in it does not end
 * it).  Every other byte, separators included, is copied unchanged.
 *
 * out must have room for PC_HTTP_LOG_REDACT_BOUND(stop - q) bytes and must
 * not overlap the query.  names are counted strings (no NUL needed), any
 * bytes; an empty one matches the names that read as empty under PHP's
 * rules ("+", "%20", "[x]").  Returns the end of what was written (out for
 * an empty query); never writes past the bound.  Time: linear in
 * len for a given set of names.
 */
u_char *pc_http_log_redact_query(u_char *out, const u_char *q, const u_char *stop,
    const pc_str_t *names, size_t nnames);

#endif /* PC_HTTP_LOG_REDACT_H */
