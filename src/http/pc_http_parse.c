/*
 * pc_http_parse.c -- the strict, incremental HTTP/1.x message-head parser.
 *
 * How it works.  The parser advances a line at a time.  A fast scan
 * (scan_line: 16 bytes per step with SSE2, a table lookup per byte
 * otherwise) looks for the end of the current line; it stops at any byte that
 * may never appear inside a head line (NUL, controls other than HTAB, DEL)
 * and enforces the line and head limits as bytes arrive, so a peer can never
 * make the caller buffer more than the limits allow.  Once a line is complete
 * a small function parses just that line.  Within a complete line, field
 * names, the request target and Host values are also scanned 16 bytes at a
 * time (SSE2) and known names and tokens are compared a word at a time; the
 * byte tables stay the reference, and each fast path either gives the
 * table's answer or hands over to the table.  A block is loaded only inside
 * buf[0 .. len), and never decides anything past the line end.
 * p->line_start is where the current line began, p->pos where the scan
 * resumes.  Every decision is taken
 * either at a fixed byte position (limits, forbidden bytes) or on a complete
 * line, so the outcome depends only on buf[0 .. len), never on how the bytes
 * were split between calls: feeding one byte at a time gives the same head.
 *
 * Choices where SPEC §8 / RFC 9112 leave room (callers and doc/ rely on them):
 *  - Line ends: CRLF or a bare LF (like nginx); a CR not followed by LF is
 *    400.  Line limits count the bytes of a line without its line end; the
 *    head limit counts every byte up to and including the final LF (leading
 *    empty lines included).  A limit of 0 (or limits == NULL) takes the
 *    default (8 KiB request line, 8 KiB header line, 64 KiB head).
 *  - Up to 4 empty lines before a request line are skipped; a 5th is 400.
 *    Responses get no such grace: an empty line before a status line is 502.
 *  - The request line is method SP target SP version with single spaces.
 *    The version must be exactly "HTTP/1.0" or "HTTP/1.1"; any other
 *    well-formed "HTTP/D.D" (0.9, 1.2, 2.0, ...) is 505; anything else 400.
 *    The version is checked before the target, so "PRI * HTTP/2.0" is 505.
 *  - The request target is VCHAR only; '#' is also refused (400): a fragment
 *    is never sent, and a proxy that kept it while a backend cut it off
 *    would match locations on a different path than the backend serves.
 *  - Target forms: origin-form ('/'), absolute-form ("http://" or
 *    "https://", scheme case-insensitive, non-empty authority, then a path
 *    starting with '/', or '?', or nothing), asterisk-form ("*" and OPTIONS
 *    only, path = "*"), authority-form (CONNECT only, and CONNECT only takes
 *    it; host ":" port with the port required; path_len 0).  An absolute-form
 *    target without a path has path_len 0 (path_off at the end of the
 *    authority): callers treat an empty path as "/".
 *  - Host (and an absolute-form or authority-form authority) is reg-name of
 *    ALPHA / DIGIT / "-" / "." / "_" (no leading dot, no ".."), a dotted IPv4
 *    (a reg-name as far as syntax goes), or "[" IPv6 "]" (hex digits, ':'
 *    and '.', at least one ':'), then optionally ":" and 0-5 digits <= 65535
 *    (an empty port, "a:", is valid RFC 3986 syntax and means no port;
 *    CONNECT still needs digits).  Userinfo ('@') and percent-escapes are
 *    refused.  HTTP/1.1
 *    needs exactly one Host field even with an absolute-form target (RFC
 *    9112 §3.2); its value may be empty only when the target carries the
 *    authority (absolute-form, CONNECT), and a non-empty value is validated
 *    even though the target's authority wins.  has_host is set
 *    when a Host field or a target authority is present.
 *  - Content-Length: 1*DIGIT, at most 2^62 (leading zeros allowed).  Any
 *    comma list is refused, even "5, 5"; repeated fields with the same value
 *    collapse, differing ones are 400 / 502.
 *  - Transfer-Encoding: the fields form one list of bare tokens (a coding
 *    with parameters is 400; empty list elements, ",chunked" or "chunked ,",
 *    are ignored as RFC 9110 §5.6.1 requires, and a list with no element
 *    at all does not end in chunked).  Known codings are
 *    chunked, gzip, x-gzip, deflate, compress, x-compress and identity.
 *    Decision, in this order: TE in an HTTP/1.0 message -> 400; TE together
 *    with Content-Length -> 400; any unknown coding -> 501 ("foo",
 *    "foo, chunked"); chunked more than once or not last -> 400 ("gzip",
 *    "chunked, gzip", "chunked, chunked"); any other known coding -> 501
 *    ("gzip, chunked", we only implement chunked); else the body is chunked.
 *    A response applies the same rules, every failure being 502.
 *  - Connection is a list of tokens (empty elements ignored, anything else
 *    400); close wins over keep-alive.  HTTP/1.0 closes unless keep-alive.
 *    Expect: "100-continue" (case-insensitive) only counts in HTTP/1.1
 *    requests; other expectations are ignored.
 *  - Responses: the SP after the status code may be missing when the reason
 *    is empty ("HTTP/1.1 200").  content_length keeps a valid Content-Length
 *    value even when the status or HEAD forbids a body (body NONE), so a
 *    HEAD response can be relayed faithfully.  A response delimited by close
 *    also sets conn_close.
 *  - Too many header fields is detected when the (cap + 1)-th field line is
 *    complete (the head and line limits already bound the bytes buffered).
 */
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/pc_str.h"
#include "core/pc_types.h"
#include "http/pc_http_parse.h"
#include "http/pc_http_chars.h"

#define DEFAULT_REQUEST_LINE 8192
#define DEFAULT_HEADER_LINE  8192
#define DEFAULT_HEAD         65536
#define LIMIT_CAP            0x7fffffffu /* keeps offsets and sums in range */
#define MAX_EMPTY_LINES      4
#define CL_MAX               ((int64_t) 1 << 62)
#define CL_SHORT_DIGITS      18 /* 10^18 - 1 < CL_MAX: no overflow test needed */

/* p->state */
enum { ST_FIRST = 0, ST_HEADERS, ST_DONE, ST_FAILED };

/* p->flags: what the head said so far that is decided at its end */
#define F_EMPTY_MASK      0x007u /* leading empty lines skipped          */
#define F_CL              0x008u /* a Content-Length was seen            */
#define F_TE              0x010u /* a Transfer-Encoding was seen         */
#define F_TE_CHUNKED      0x020u /* chunked appeared in the TE list      */
#define F_TE_TWICE        0x040u /* ... more than once                   */
#define F_TE_LAST_CHUNKED 0x080u /* the last coding so far is chunked    */
#define F_TE_OTHER        0x100u /* a known coding other than chunked    */
#define F_TE_UNKNOWN      0x200u /* an unknown coding                    */
#define F_AUTHORITY       0x400u /* the target carried the authority     */

/* parse_version() results besides 10 and 11 */
#define VERSION_BAD         0
#define VERSION_UNSUPPORTED 1
/* clang-format off */
/* bytes allowed inside any head line: HTAB, SP, VCHAR, obs-text */
const uint8_t pc_http_vchar_tab[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x30 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x40 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x50 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, /* 0x70 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x80 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x90 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xa0 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xb0 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xc0 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xd0 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xe0 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xf0 */
};
/* tchar (RFC 9110 §5.6.2) */
const uint8_t pc_http_tchar_tab[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0, /* 0x20 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, /* 0x30 */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x40 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, /* 0x50 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, /* 0x70 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x80 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x90 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xa0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xb0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xc0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xd0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xe0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xf0 */
};
/* request-target bytes: VCHAR except '#' */
static const uint8_t target_tab[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x30 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x40 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x50 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, /* 0x70 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x80 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x90 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xa0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xb0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xc0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xd0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xe0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xf0 */
};
/* reg-name / IPv4 bytes we accept in a host: HOST_BYTE, or HOST_DOT for '.' */
#define HOST_BYTE 1
#define HOST_DOT  2
static const uint8_t host_tab[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, /* 0x20 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, /* 0x30 */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x40 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, /* 0x50 */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, /* 0x70 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x80 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x90 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xa0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xb0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xc0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xd0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xe0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xf0 */
};

/* Lower-case copies of the names we classify, indexed by pc_http_hdr_e. */
static const char *const hdr_names[PC_HTTP_H__COUNT] = {
    [PC_HTTP_H_HOST]                = "host",
    [PC_HTTP_H_CONTENT_LENGTH]      = "content-length",
    [PC_HTTP_H_TRANSFER_ENCODING]   = "transfer-encoding",
    [PC_HTTP_H_CONNECTION]          = "connection",
    [PC_HTTP_H_KEEP_ALIVE]          = "keep-alive",
    [PC_HTTP_H_PROXY_CONNECTION]    = "proxy-connection",
    [PC_HTTP_H_TE]                  = "te",
    [PC_HTTP_H_TRAILER]             = "trailer",
    [PC_HTTP_H_UPGRADE]             = "upgrade",
    [PC_HTTP_H_EXPECT]              = "expect",
    [PC_HTTP_H_COOKIE]              = "cookie",
    [PC_HTTP_H_USER_AGENT]          = "user-agent",
    [PC_HTTP_H_REFERER]             = "referer",
    [PC_HTTP_H_CONTENT_TYPE]        = "content-type",
    [PC_HTTP_H_CONTENT_ENCODING]    = "content-encoding",
    [PC_HTTP_H_X_FORWARDED_FOR]     = "x-forwarded-for",
    [PC_HTTP_H_DATE]                = "date",
    [PC_HTTP_H_SERVER]              = "server",
};

static const char *const method_names[] = {
    [PC_HTTP_UNKNOWN] = NULL,       [PC_HTTP_GET] = "GET",
    [PC_HTTP_HEAD] = "HEAD",        [PC_HTTP_POST] = "POST",
    [PC_HTTP_PUT] = "PUT",          [PC_HTTP_DELETE] = "DELETE",
    [PC_HTTP_OPTIONS] = "OPTIONS",  [PC_HTTP_PATCH] = "PATCH",
    [PC_HTTP_TRACE] = "TRACE",      [PC_HTTP_CONNECT] = "CONNECT",
};
/* clang-format on */

/* Word loads and compares: pc_load8/4/2, pc_str_eq_words and
 * pc_str_eq_lower (core/pc_str.h), shared with the response writer. */

/*
 * Header name (a token) -> id: switch on the length and the first letter,
 * then one compare of the whole name.
 */
static pc_http_hdr_e
classify_header(const u_char *s, size_t n)
{
    pc_http_hdr_e id = PC_HTTP_H_OTHER;
    u_char c = (u_char) (s[0] | 0x20);

    switch (n) {
    case 2:
        id = PC_HTTP_H_TE;
        break;
    case 4:
        id = c == 'h' ? PC_HTTP_H_HOST : PC_HTTP_H_DATE;
        break;
    case 6:
        id = c == 'c' ? PC_HTTP_H_COOKIE : c == 'e' ? PC_HTTP_H_EXPECT : PC_HTTP_H_SERVER;
        break;
    case 7:
        id = c == 't' ? PC_HTTP_H_TRAILER : c == 'u' ? PC_HTTP_H_UPGRADE : PC_HTTP_H_REFERER;
        break;
    case 10:
        id = c == 'c'   ? PC_HTTP_H_CONNECTION
             : c == 'k' ? PC_HTTP_H_KEEP_ALIVE
                        : PC_HTTP_H_USER_AGENT;
        break;
    case 12:
        id = PC_HTTP_H_CONTENT_TYPE;
        break;
    case 14:
        id = PC_HTTP_H_CONTENT_LENGTH;
        break;
    case 15:
        id = PC_HTTP_H_X_FORWARDED_FOR;
        break;
    case 16:
        id = c == 'c' ? PC_HTTP_H_CONTENT_ENCODING : PC_HTTP_H_PROXY_CONNECTION;
        break;
    case 17:
        id = PC_HTTP_H_TRANSFER_ENCODING;
        break;
    default:
        return PC_HTTP_H_OTHER;
    }
    return pc_str_eq_lower(s, hdr_names[id], n) ? id : PC_HTTP_H_OTHER;
}

/* Methods are case-sensitive (RFC 9110 §9.1): "get" is a valid token but
 * not GET. */
static pc_http_method_e
classify_method(const u_char *s, size_t n)
{
    pc_http_method_e m;

    switch (n) {
    case 3:
        m = s[0] == 'G' ? PC_HTTP_GET : PC_HTTP_PUT;
        break;
    case 4:
        m = s[0] == 'H' ? PC_HTTP_HEAD : PC_HTTP_POST;
        break;
    case 5:
        m = s[0] == 'P' ? PC_HTTP_PATCH : PC_HTTP_TRACE;
        break;
    case 6:
        m = PC_HTTP_DELETE;
        break;
    case 7:
        m = s[0] == 'O' ? PC_HTTP_OPTIONS : PC_HTTP_CONNECT;
        break;
    default:
        return PC_HTTP_UNKNOWN;
    }
    return pc_str_eq_words(s, method_names[m], n, 0) ? m : PC_HTTP_UNKNOWN;
}

static pc_rc_t
fail(pc_http_parser_t *p, int status, const char *why)
{
    p->h->error_status = p->is_response ? 502 : status;
    p->h->error = why;
    p->state = ST_FAILED;
    return PC_ERROR;
}

/*
 * The first index in [i, e) whose byte is not in tab, or e.  Four bytes per
 * step: method, target and field names go through here.
 */
static inline size_t
span(const uint8_t *tab, const u_char *b, size_t i, size_t e)
{
    while (e - i >= 4 && (tab[b[i]] & tab[b[i + 1]] & tab[b[i + 2]] & tab[b[i + 3]])) {
        i += 4;
    }
    while (i < e && tab[b[i]]) {
        i++;
    }
    return i;
}

/*
 * Return the first index in [i, stop) whose byte may not appear inside a
 * line (pc_http_vchar_tab[] == 0), or stop.  This is the only loop that touches every
 * byte of a head, hence the SIMD: with SSE2 a block of 16 is tested for
 * "c < 0x20 && c != HTAB, or c == DEL" in a handful of instructions.
 */
static inline size_t
scan_line(const u_char *b, size_t i, size_t stop)
{
#if defined(__SSE2__)
    const __m128i c1f = _mm_set1_epi8(0x1f);
    const __m128i tab = _mm_set1_epi8(0x09);
    const __m128i del = _mm_set1_epi8(0x7f);

    while (stop - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *) (const void *) (b + i));
        __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, c1f), v);
        __m128i bad =
            _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, tab), ctl), _mm_cmpeq_epi8(v, del));
        int mask = _mm_movemask_epi8(bad);

        if (mask != 0) {
            return i + (size_t) __builtin_ctz((unsigned) mask);
        }
        i += 16;
    }
#else
    while (stop - i >= 4
           && (pc_http_vchar_tab[b[i]] & pc_http_vchar_tab[b[i + 1]] & pc_http_vchar_tab[b[i + 2]] & pc_http_vchar_tab[b[i + 3]]))
    {
        i += 4;
    }
#endif
    while (i < stop && pc_http_vchar_tab[b[i]]) {
        i++;
    }
    return i;
}

#if defined(__SSE2__)
/* Per byte of v: 0xff where lo <= byte <= lo + width (unsigned), else 0. */
static inline __m128i
in_range(__m128i v, char lo, char width)
{
    __m128i d = _mm_sub_epi8(v, _mm_set1_epi8(lo));

    return _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(width)), d);
}
#endif

/*
 * The end of the field name starting at s: the first index in [s, e) whose
 * byte is not a tchar, or e (same as span() with pc_http_tchar_tab).  With
 * SSE2, 16 bytes at a time while they are letters and '-' (what names are
 * made of in practice); the first other byte ends the name if it is the
 * ':', else the table takes over from there.  Fast bytes are never
 * the CR or LF at b[e], so blocks stop at e; a block is loaded only when it
 * lies inside buf[0 .. len).
 */
static inline size_t
name_end(const u_char *b, size_t i, size_t e, size_t len)
{
#if defined(__SSE2__)
    while (len - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *) (const void *) (b + i));
        __m128i alpha = in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), 'a', 'z' - 'a');
        __m128i fast = _mm_or_si128(alpha, _mm_cmpeq_epi8(v, _mm_set1_epi8('-')));
        unsigned other = ~(unsigned) _mm_movemask_epi8(fast) & 0xffffu;

        if (other != 0) {
            i += (size_t) __builtin_ctz(other);
            if (b[i] == ':') {
                return i;
            }
            break;
        }
        i += 16;
    }
#else
    (void) len;
#endif
    return span(pc_http_tchar_tab, b, i, e);
}

/*
 * The end of the request target starting at i: the first index in [i, e)
 * whose byte is not in target_tab, or e (same as span() with target_tab);
 * *q is set to the first '?' before that end, or to the end.  With SSE2, 16
 * bytes at a time (target bytes are 0x21 .. 0x7e but '#'); loads as in
 * name_end().
 */
static inline size_t
target_end(const u_char *b, size_t i, size_t e, size_t len, size_t *q)
{
    size_t qs = SIZE_MAX;

#if defined(__SSE2__)
    while (len - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *) (const void *) (b + i));
        __m128i ok = _mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('#')),
            in_range(v, 0x21, 0x7e - 0x21));
        unsigned bad = ~(unsigned) _mm_movemask_epi8(ok) & 0xffffu;
        unsigned qm = (unsigned) _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('?')));

        if (bad != 0) {
            /* only a '?' before the end counts (the end itself is never '?') */
            qm &= bad ^ (bad - 1);
        }
        if (qm != 0 && qs == SIZE_MAX) {
            qs = i + (size_t) __builtin_ctz(qm);
        }
        if (bad != 0) {
            i += (size_t) __builtin_ctz(bad);
            *q = qs == SIZE_MAX ? i : qs;
            return i;
        }
        i += 16;
    }
#else
    (void) len;
#endif
    for (; i < e && target_tab[b[i]]; i++) {
        if (b[i] == '?' && qs == SIZE_MAX) {
            qs = i;
        }
    }
    *q = qs == SIZE_MAX ? i : qs;
    return i;
}

/* "HTTP/D.D" in exactly 8 bytes -> 10, 11, VERSION_UNSUPPORTED or
 * VERSION_BAD. */
static int
parse_version(const u_char *v)
{
    if (pc_load8(v) == pc_load8("HTTP/1.1")) {
        return 11; /* nearly every message */
    }
    if (memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' || v[5] < '0' || v[5] > '9' || v[7] < '0'
        || v[7] > '9')
    {
        return VERSION_BAD;
    }
    if (v[5] == '1' && (v[7] == '0' || v[7] == '1')) {
        return v[7] == '0' ? 10 : 11;
    }
    return VERSION_UNSUPPORTED;
}

/* ":" 0*5DIGIT <= 65535 filling [s, s + n) exactly; the digits may be
 * absent (RFC 3986 port = *DIGIT, "a:") unless need_port. */
static int
port_valid(const u_char *s, size_t n, int need_port)
{
    size_t i;
    uint32_t port = 0;

    if (n < 1 + (size_t) (need_port != 0) || n > 6 || s[0] != ':') {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
        port = port * 10 + (uint32_t) (s[i] - '0');
    }
    return port <= 65535;
}

#define HOST_DOTS SIZE_MAX

/*
 * The length of the run of host_tab bytes that starts s[0 .. n), or
 * HOST_DOTS when a '.' in that run starts it or follows another '.'.  With
 * SSE2, 16 bytes at a time while s[0 .. avail) holds them; prev carries
 * "the byte before was a dot" from one block to the next.
 */
static size_t
reg_name_len(const u_char *s, size_t n, size_t avail)
{
    size_t i = 0;
    uint8_t cls, prev = HOST_DOT; /* a leading dot is refused like ".." */

#if defined(__SSE2__)
    unsigned dot_before = 1;

    while (i < n && avail - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *) (const void *) (s + i));
        __m128i ok = _mm_or_si128(
            _mm_or_si128(in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), 'a', 'z' - 'a'),
                in_range(v, '0', 9)),
            _mm_or_si128(in_range(v, '-', 1), _mm_cmpeq_epi8(v, _mm_set1_epi8('_'))));
        unsigned other = ~(unsigned) _mm_movemask_epi8(ok) & 0xffffu;
        unsigned dots = (unsigned) _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.')));
        size_t k = other != 0 ? (size_t) __builtin_ctz(other) : 16;
        unsigned live;

        k = pc_min(k, n - i);
        live = k == 16 ? 0xffffu : (1u << k) - 1;
        if (dots & ((dots << 1) | dot_before) & live) {
            return HOST_DOTS;
        }
        if (k < 16) {
            return i + k;
        }
        dot_before = dots >> 15;
        i += 16;
    }
    prev = dot_before ? HOST_DOT : HOST_BYTE;
#else
    (void) avail;
#endif
    for (; i < n && (cls = host_tab[s[i]]) != 0; i++) {
        if (cls & prev & HOST_DOT) {
            return HOST_DOTS;
        }
        prev = cls;
    }
    return i;
}

/*
 * uri-host [ ":" port ] as described at the top of this file; with
 * need_port the port is mandatory (CONNECT's authority-form).  s[0 .. avail)
 * may be read (avail >= n).
 */
static int
host_valid(const u_char *s, size_t n, int need_port, size_t avail)
{
    size_t i = 0;
    int colon = 0;

    if (n == 0) {
        return 0;
    }
    if (s[0] == '[') {
        for (i = 1; i < n && s[i] != ']'; i++) {
            u_char c = s[i];
            u_char l = (u_char) (c | 0x20);

            if (c == ':') {
                colon = 1;
            } else if (!((c >= '0' && c <= '9') || (l >= 'a' && l <= 'f') || c == '.')) {
                return 0;
            }
        }
        if (i == n || !colon) {
            return 0;
        }
        i++;
    } else {
        i = reg_name_len(s, n, avail);
        if (i == HOST_DOTS || i == 0) {
            return 0;
        }
    }
    if (i == n) {
        return !need_port;
    }
    return port_valid(s + i, n - i, need_port);
}

/* Skip SP / HTAB forward from i, and backward from e. */
static inline size_t
skip_ows(const u_char *b, size_t i, size_t e)
{
    while (i < e && (b[i] == ' ' || b[i] == '\t')) {
        i++;
    }
    return i;
}

static inline size_t
trim_ows(const u_char *b, size_t s, size_t e)
{
    while (e > s && (b[e - 1] == ' ' || b[e - 1] == '\t')) {
        e--;
    }
    return e;
}

/*
 * One element of a comma-separated list in [*i, e): sets [*es, *ee) to it,
 * OWS trimmed (possibly empty), and moves *i past the comma.  Returns 0
 * once the list is exhausted.  An empty value yields one empty element.
 */
static int
list_next(const u_char *b, size_t *i, size_t e, size_t *es, size_t *ee)
{
    size_t k, x;

    if (*i > e) {
        return 0;
    }
    k = skip_ows(b, *i, e);
    x = k;
    while (x < e && b[x] != ',') {
        x++;
    }
    *es = k;
    *ee = trim_ows(b, k, x);
    *i = x + 1;
    return 1;
}

static int
is_token(const u_char *b, size_t s, size_t e)
{
    if (s == e) {
        return 0;
    }
    for (; s < e; s++) {
        if (!pc_http_tchar_tab[b[s]]) {
            return 0;
        }
    }
    return 1;
}

/* 1*DIGIT, at most CL_MAX; -1 when invalid. */
static int64_t
parse_content_length(const u_char *b, size_t s, size_t e)
{
    int64_t v = 0;

    if (s == e) {
        return -1;
    }
    if (e - s <= CL_SHORT_DIGITS) {
        for (; s < e; s++) {
            unsigned d = (unsigned) b[s] - '0';

            if (d > 9) {
                return -1;
            }
            v = v * 10 + (int64_t) d;
        }
        return v;
    }
    for (; s < e; s++) {
        int d = b[s] - '0';

        if (d < 0 || d > 9 || v > (CL_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    return v;
}

static pc_rc_t
on_content_length(pc_http_parser_t *p, const u_char *b, size_t v, size_t ve)
{
    pc_http_head_t *h = p->h;
    int64_t n = parse_content_length(b, v, ve);

    if (n < 0) {
        return fail(p, 400, "invalid Content-Length");
    }
    if ((p->flags & F_CL) && n != h->content_length) {
        return fail(p, 400, "conflicting Content-Length");
    }
    p->flags |= F_CL;
    h->content_length = n;
    return PC_AGAIN;
}

/* Fold one Transfer-Encoding field into the F_TE_* flags; the verdict is
 * given once the head is complete (te_verdict). */
static pc_rc_t
on_transfer_encoding(pc_http_parser_t *p, const u_char *b, size_t v, size_t ve)
{
    size_t i = v, s, e, n;

    p->flags |= F_TE;
    while (list_next(b, &i, ve, &s, &e)) {
        if (s == e) {
            continue; /* RFC 9110 §5.6.1: ignore empty elements */
        }
        if (!is_token(b, s, e)) {
            return fail(p, 400, "invalid Transfer-Encoding");
        }
        n = e - s;
        p->flags &= ~F_TE_LAST_CHUNKED;
        if (n == 7 && pc_str_eq_lower(b + s, "chunked", 7)) {
            p->flags |= (p->flags & F_TE_CHUNKED) ? F_TE_TWICE : 0;
            p->flags |= F_TE_CHUNKED | F_TE_LAST_CHUNKED;
        } else if ((n == 4 && pc_str_eq_lower(b + s, "gzip", 4))
                   || (n == 6 && pc_str_eq_lower(b + s, "x-gzip", 6))
                   || (n == 7 && pc_str_eq_lower(b + s, "deflate", 7))
                   || (n == 8 && pc_str_eq_lower(b + s, "compress", 8))
                   || (n == 8 && pc_str_eq_lower(b + s, "identity", 8))
                   || (n == 10 && pc_str_eq_lower(b + s, "x-compress", 10)))
        {
            p->flags |= F_TE_OTHER;
        } else {
            p->flags |= F_TE_UNKNOWN;
        }
    }
    return PC_AGAIN;
}

static pc_rc_t
on_connection(pc_http_parser_t *p, const u_char *b, size_t v, size_t ve)
{
    pc_http_head_t *h = p->h;
    size_t i = v, s, e;

    /* The usual one-token values.  A value that equals the token as a whole
     * is a one-element list of it: nothing else in a head line folds to a
     * letter or '-'. */
    if (ve - v == 10 && pc_str_eq_lower(b + v, "keep-alive", 10)) {
        h->conn_keep_alive = 1;
        return PC_AGAIN;
    }
    if (ve - v == 5 && pc_str_eq_lower(b + v, "close", 5)) {
        h->conn_close = 1;
        return PC_AGAIN;
    }
    while (list_next(b, &i, ve, &s, &e)) {
        if (s == e) {
            continue; /* RFC 9110 §5.6.1: ignore empty elements */
        }
        if (!is_token(b, s, e)) {
            return fail(p, 400, "invalid Connection");
        }
        if (e - s == 5 && pc_str_eq_lower(b + s, "close", 5)) {
            h->conn_close = 1;
        } else if (e - s == 10 && pc_str_eq_lower(b + s, "keep-alive", 10)) {
            h->conn_keep_alive = 1;
        } else if (e - s == 7 && pc_str_eq_lower(b + s, "upgrade", 7)) {
            h->conn_upgrade = 1;
        }
    }
    return PC_AGAIN;
}

static pc_rc_t
on_host(pc_http_parser_t *p, const u_char *b, size_t v, size_t ve, size_t len)
{
    pc_http_head_t *h = p->h;

    if (++p->nhost > 1) {
        return fail(p, 400, "several Host fields");
    }
    if (v == ve) {
        if (!(p->flags & F_AUTHORITY)) {
            return fail(p, 400, "empty Host");
        }
    } else if (!host_valid(b + v, ve - v, 0, len - v)) {
        return fail(p, 400, "invalid Host");
    }
    if (!(p->flags & F_AUTHORITY)) {
        h->host_off = (uint32_t) v;
        h->host_len = (uint32_t) (ve - v);
    }
    h->has_host = 1;
    return PC_AGAIN;
}

/* Act on a field the core cares about; value is [v, ve), OWS trimmed;
 * buf[0 .. len) may be read. */
static pc_rc_t
on_known_header(
    pc_http_parser_t *p, const u_char *b, pc_http_hdr_e id, size_t v, size_t ve, size_t len)
{
    pc_http_head_t *h = p->h;

    switch (id) {
    case PC_HTTP_H_CONTENT_LENGTH:
        return on_content_length(p, b, v, ve);
    case PC_HTTP_H_TRANSFER_ENCODING:
        return on_transfer_encoding(p, b, v, ve);
    case PC_HTTP_H_CONNECTION:
        return on_connection(p, b, v, ve);
    case PC_HTTP_H_UPGRADE:
        h->has_upgrade = 1;
        return PC_AGAIN;
    case PC_HTTP_H_HOST:
        return p->is_response ? PC_AGAIN : on_host(p, b, v, ve, len);
    case PC_HTTP_H_EXPECT:
        if (!p->is_response && h->version == 11 && ve - v == 12
            && pc_str_eq_lower(b + v, "100-continue", 12)) {
            h->expect_continue = 1;
        }
        return PC_AGAIN;
    default:
        return PC_AGAIN;
    }
}

/* One complete, non-empty header line [s, e) (line end excluded); len as
 * for name_end(). */
static pc_rc_t
header_line(pc_http_parser_t *p, const u_char *b, size_t s, size_t e, size_t len)
{
    pc_http_head_t *h = p->h;
    pc_http_header_t *f;
    pc_http_hdr_e id;
    size_t i = s, v, ve;

    if (b[s] == ' ' || b[s] == '\t') {
        return fail(p, 400, h->nheaders == 0 ? "whitespace before first header" : "obs-fold");
    }
    i = name_end(b, i, e, len);
    if (i == e || b[i] != ':') {
        return fail(p, 400,
            i < e && (b[i] == ' ' || b[i] == '\t') ? "whitespace before colon"
                                                   : "invalid header name");
    }
    if (i == s) {
        return fail(p, 400, "empty header name");
    }
    if (h->nheaders >= h->headers_cap) {
        return fail(p, 431, "too many header fields");
    }
    /* b[e] is a CR or LF: the skip stops there without a bound check */
    for (v = i + 1; b[v] == ' ' || b[v] == '\t'; v++) { /* void */
    }
    ve = trim_ows(b, v, e);
    id = classify_header(b + s, i - s);

    f = &h->headers[h->nheaders++];
    f->name = (uint32_t) s;
    f->name_len = (uint32_t) (i - s);
    f->value = (uint32_t) v;
    f->value_len = (uint32_t) (ve - v);
    f->id = (uint8_t) id;
    if (id == PC_HTTP_H_OTHER) {
        return PC_AGAIN;
    }
    if (h->idx[id] == 0) {
        h->idx[id] = h->nheaders;
    }
    return on_known_header(p, b, id, v, ve, len);
}

/* Classify the request target [t, te) into its form and fill the offsets;
 * q is its first '?', or te. */
static pc_rc_t
request_target(pc_http_parser_t *p, const u_char *b, size_t t, size_t te, size_t q)
{
    pc_http_head_t *h = p->h;
    size_t a, ae;

    if (q < te) {
        h->has_query = 1;
        h->query_off = (uint32_t) (q + 1);
        h->query_len = (uint32_t) (te - q - 1);
    }
    if (h->method == PC_HTTP_CONNECT) {
        if (!host_valid(b + t, te - t, 1, te - t)) {
            return fail(p, 400, "CONNECT needs host:port");
        }
        p->flags |= F_AUTHORITY;
        h->has_host = 1;
        h->host_off = (uint32_t) t;
        h->host_len = (uint32_t) (te - t);
        h->path_off = (uint32_t) te;
        return PC_AGAIN;
    }
    if (b[t] == '/') {
        h->path_off = (uint32_t) t;
        h->path_len = (uint32_t) (q - t);
        return PC_AGAIN;
    }
    if (b[t] == '*') {
        if (te - t != 1 || h->method != PC_HTTP_OPTIONS) {
            return fail(p, 400, "asterisk-form is for OPTIONS only");
        }
        h->path_off = (uint32_t) t;
        h->path_len = 1;
        return PC_AGAIN;
    }
    if (te - t > 7 && pc_str_eq_lower(b + t, "http://", 7)) {
        a = t + 7;
    } else if (te - t > 8 && pc_str_eq_lower(b + t, "https://", 8)) {
        a = t + 8;
    } else {
        return fail(p, 400, "invalid request target");
    }
    for (ae = a; ae < te && b[ae] != '/' && b[ae] != '?'; ae++) { /* void */
    }
    if (!host_valid(b + a, ae - a, 0, ae - a)) {
        return fail(p, 400, "invalid authority in request target");
    }
    p->flags |= F_AUTHORITY;
    h->absolute_form = 1;
    h->has_host = 1;
    h->host_off = (uint32_t) a;
    h->host_len = (uint32_t) (ae - a);
    h->path_off = (uint32_t) ae;
    h->path_len = (uint32_t) (q - ae);
    return PC_AGAIN;
}

/* method SP request-target SP HTTP-version, in the complete line [s, e);
 * len as for name_end(). */
static pc_rc_t
request_line(pc_http_parser_t *p, const u_char *b, size_t s, size_t e, size_t len)
{
    pc_http_head_t *h = p->h;
    size_t i = s, t, q;
    int version;

    i = span(pc_http_tchar_tab, b, i, e);
    if (i == s || i == e || b[i] != ' ') {
        return fail(p, 400, "invalid method");
    }
    h->method_off = (uint32_t) s;
    h->method_len = (uint32_t) (i - s);
    h->method = classify_method(b + s, i - s);

    t = ++i;
    i = target_end(b, i, e, len, &q);
    if (i == t || i == e || b[i] != ' ') {
        return fail(p, 400, "invalid request target");
    }
    h->target_off = (uint32_t) t;
    h->target_len = (uint32_t) (i - t);

    version = e - (i + 1) == 8 ? parse_version(b + i + 1) : VERSION_BAD;
    if (version == VERSION_BAD) {
        return fail(p, 400, "invalid HTTP version");
    }
    if (version == VERSION_UNSUPPORTED) {
        return fail(p, 505, "unsupported HTTP version");
    }
    h->version = version;
    return request_target(p, b, t, i, q);
}

/* HTTP-version SP 3DIGIT [ SP reason ], in the complete line [s, e). */
static pc_rc_t
status_line(pc_http_parser_t *p, const u_char *b, size_t s, size_t e)
{
    pc_http_head_t *h = p->h;
    const u_char *d;
    int version;

    if (e - s < 12 || b[s + 8] != ' ') {
        return fail(p, 502, "invalid status line");
    }
    d = b + s + 9;
    version = parse_version(b + s);
    if (version != 10 && version != 11) {
        return fail(p, 502, "invalid HTTP version in status line");
    }
    if (d[0] < '1' || d[0] > '5' || d[1] < '0' || d[1] > '9' || d[2] < '0' || d[2] > '9') {
        return fail(p, 502, "invalid status code");
    }
    if (e - s > 12 && b[s + 12] != ' ') {
        return fail(p, 502, "invalid status line");
    }
    h->version = version;
    h->status = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
    h->reason_off = (uint32_t) (e - s > 12 ? s + 13 : e);
    h->reason_len = (uint32_t) (e - h->reason_off);
    return PC_AGAIN;
}

/*
 * The Transfer-Encoding verdict (rules at the top of this file): PC_OK with
 * *chunked set, or PC_ERROR.  Shared by requests and responses; fail() turns
 * every status into 502 for a response.
 */
static pc_rc_t
te_verdict(pc_http_parser_t *p, int *chunked)
{
    unsigned f = p->flags;

    *chunked = 0;
    if (!(f & F_TE)) {
        return PC_OK;
    }
    if (p->h->version == 10) {
        return fail(p, 400, "Transfer-Encoding in HTTP/1.0");
    }
    if (f & F_CL) {
        return fail(p, 400, "both Content-Length and Transfer-Encoding");
    }
    if (f & F_TE_UNKNOWN) {
        return fail(p, 501, "unknown transfer coding");
    }
    if ((f & F_TE_TWICE) || !(f & F_TE_LAST_CHUNKED)) {
        return fail(p, 400, "Transfer-Encoding not ending in chunked");
    }
    if (f & F_TE_OTHER) {
        return fail(p, 501, "unsupported transfer coding");
    }
    *chunked = 1;
    return PC_OK;
}

static pc_rc_t
request_done(pc_http_parser_t *p)
{
    pc_http_head_t *h = p->h;
    int chunked;

    if (h->version == 11 && p->nhost == 0) {
        return fail(p, 400, "missing Host");
    }
    if (te_verdict(p, &chunked) != PC_OK) {
        return PC_ERROR;
    }
    if (chunked) {
        h->body = PC_HTTP_BODY_CHUNKED;
    } else if (p->flags & F_CL) {
        h->body = PC_HTTP_BODY_LENGTH;
    } else {
        h->body = PC_HTTP_BODY_NONE;
    }
    if (h->version == 10 && !h->conn_keep_alive) {
        h->conn_close = 1;
    }
    return PC_OK;
}

static pc_rc_t
response_done(pc_http_parser_t *p)
{
    pc_http_head_t *h = p->h;
    int chunked;

    if (te_verdict(p, &chunked) != PC_OK) {
        return PC_ERROR;
    }
    if (h->status < 200 || h->status == 204 || h->status == 304 || p->req_method == PC_HTTP_HEAD) {
        h->body = PC_HTTP_BODY_NONE;
    } else if (chunked) {
        h->body = PC_HTTP_BODY_CHUNKED;
    } else if (p->flags & F_CL) {
        h->body = PC_HTTP_BODY_LENGTH;
    } else {
        h->body = PC_HTTP_BODY_CLOSE;
        h->conn_close = 1;
    }
    if (h->version == 10 && !h->conn_keep_alive) {
        h->conn_close = 1;
    }
    return PC_OK;
}

/*
 * A complete line [s, e): PC_AGAIN to go on, PC_OK at the end of the head.
 * b[e] is the CR or LF that ends it and buf[0 .. len) may be read.
 */
static pc_rc_t
on_line(pc_http_parser_t *p, const u_char *b, size_t s, size_t e, size_t len)
{
    pc_rc_t rc;

    if (p->state == ST_HEADERS) {
        if (s == e) {
            return p->is_response ? response_done(p) : request_done(p);
        }
        return header_line(p, b, s, e, len);
    }
    if (s == e) {
        if (p->is_response) {
            return fail(p, 502, "empty line before status line");
        }
        if ((p->flags & F_EMPTY_MASK) == MAX_EMPTY_LINES) {
            return fail(p, 400, "too many empty lines before request");
        }
        p->flags++;
        return PC_AGAIN;
    }
    rc = p->is_response ? status_line(p, b, s, e) : request_line(p, b, s, e, len);
    if (rc == PC_AGAIN) {
        p->state = ST_HEADERS;
        p->h->line_ok = !p->is_response;
    }
    return rc;
}

/*
 * The driver shared by requests and responses: find each line end, enforce
 * the limits byte by byte, hand complete lines to on_line().
 */
static pc_rc_t
parse_head(pc_http_parser_t *p, const u_char *buf, size_t len)
{
    const pc_http_limits_t *l = p->limits;
    size_t max_first, max_line, max_head, lim, stop, i, next;
    pc_rc_t rc;

    if (p->state == ST_DONE || p->state == ST_FAILED) {
        return p->state == ST_DONE ? PC_OK : PC_ERROR;
    }
    max_first = l && l->max_request_line ? l->max_request_line : DEFAULT_REQUEST_LINE;
    max_line = l && l->max_header_line ? l->max_header_line : DEFAULT_HEADER_LINE;
    max_head = l && l->max_head ? l->max_head : DEFAULT_HEAD;
    max_first = pc_min(max_first, LIMIT_CAP);
    max_line = pc_min(max_line, LIMIT_CAP);
    max_head = pc_min(max_head, LIMIT_CAP);

    if (len < p->pos) {
        return PC_AGAIN; /* caller bug: the buffer shrank */
    }
    for (;;) {
        lim = p->line_start + (p->state == ST_FIRST ? max_first : max_line);
        stop = pc_min(pc_min(len, lim), max_head);
        i = scan_line(buf, p->pos, stop);

        if (i == stop) {
            if (i == max_head) {
                return fail(p, 431, "header section too large");
            }
            if (i == len) {
                p->pos = (uint32_t) i;
                return PC_AGAIN;
            }
            if (pc_http_vchar_tab[buf[i]]) {
                return p->state == ST_FIRST ? fail(p, 414, "request line too long")
                                            : fail(p, 431, "header line too long");
            }
        }
        if (buf[i] == '\n') {
            next = i + 1;
        } else if (buf[i] == '\r') {
            if (i + 1 >= max_head) {
                return fail(p, 431, "header section too large");
            }
            if (i + 1 >= len) {
                p->pos = (uint32_t) i;
                return PC_AGAIN;
            }
            if (buf[i + 1] != '\n') {
                return fail(p, 400, "bare CR");
            }
            next = i + 2;
        } else {
            return fail(p, 400, buf[i] == '\0' ? "NUL byte" : "control byte");
        }

        rc = on_line(p, buf, p->line_start, i, len);
        p->line_start = p->pos = (uint32_t) next;
        if (rc != PC_AGAIN) {
            if (rc == PC_OK) {
                p->h->head_len = (uint32_t) next;
                p->state = ST_DONE;
            }
            return rc;
        }
    }
}

void
pc_http_parser_init(pc_http_parser_t *p, pc_http_head_t *h, pc_http_header_t *hdrs, uint32_t cap,
    const pc_http_limits_t *limits)
{
    memset(p, 0, sizeof(*p));
    memset(h, 0, sizeof(*h));
    h->headers = hdrs;
    h->headers_cap = hdrs != NULL ? cap : 0;
    h->content_length = -1;
    p->limits = limits;
    p->h = h;
    p->state = ST_FIRST;
}

pc_rc_t
pc_http_parse_request(pc_http_parser_t *p, const u_char *buf, size_t len)
{
    p->is_response = 0;
    return parse_head(p, buf, len);
}

pc_rc_t
pc_http_parse_response(
    pc_http_parser_t *p, const u_char *buf, size_t len, pc_http_method_e req_method)
{
    p->is_response = 1;
    p->req_method = (int) req_method;
    return parse_head(p, buf, len);
}

const pc_http_header_t *
pc_http_head_find(const pc_http_head_t *h, pc_http_hdr_e id)
{
    if ((unsigned) id == PC_HTTP_H_OTHER || (unsigned) id >= PC_HTTP_H__COUNT || h->idx[id] == 0) {
        return NULL;
    }
    return &h->headers[h->idx[id] - 1];
}

/*
 * One loop over the fields serves every name.  For a name we classify it
 * returns what pc_http_head_find() would (the first field with that id is
 * the first whose name folds to the same lower-case text), and a name that
 * is not a token can never equal a field name, so neither needs a test of
 * its own.
 */
const pc_http_header_t *
pc_http_head_find_name(const pc_http_head_t *h, const u_char *buf, const u_char *name, size_t len)
{
    uint32_t n;
    size_t k;

    if (len == 0) {
        return NULL;
    }
    for (n = 0; n < h->nheaders; n++) {
        const pc_http_header_t *f = &h->headers[n];
        const u_char *s = buf + f->name;

        if (f->name_len != len) {
            continue;
        }
        for (k = 0; k < len; k++) {
            u_char a = s[k], c = name[k];

            a = (u_char) (a >= 'A' && a <= 'Z' ? a | 0x20 : a);
            c = (u_char) (c >= 'A' && c <= 'Z' ? c | 0x20 : c);
            if (a != c) {
                break;
            }
        }
        if (k == len) {
            return f;
        }
    }
    return NULL;
}

static int
hex_value(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = (u_char) (c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Called at each segment end (a '/' or the end of the path) with the output
 * so far in dst[0 .. *n) and the current segment starting at seg.  Drops a
 * "." segment, and a ".." segment together with the one before it; returns
 * -1 when ".." would climb above the root.
 */
static int
close_segment(u_char *dst, size_t *n, size_t seg)
{
    size_t k = *n - seg;

    if (k == 1 && dst[seg] == '.') {
        *n = seg;
    } else if (k == 2 && dst[seg] == '.' && dst[seg + 1] == '.') {
        if (seg == 1) {
            return -1;
        }
        /* dst[seg - 1] is the '/' before ".."; back up to the one before. */
        for (k = seg - 2; dst[k] != '/'; k--) { /* void */
        }
        *n = k + 1;
    }
    return 0;
}

/*
 * Decoding comes first, so "%2e%2e" is a ".." segment and "%2F" separates
 * segments, as in nginx: the path we match locations on is the path the
 * backend will resolve.  A trailing "." or ".." leaves the trailing slash
 * ("/a/b/.." -> "/a/").  dst may be src (the output never outruns the input).
 */
pc_rc_t
pc_http_normalize_path(const u_char *src, size_t len, u_char *dst, size_t *dst_len)
{
    size_t i = 0, n = 0, seg = 1;
    int hi, lo;
    u_char c;

    if (len == 0 || src[0] != '/') {
        return PC_ERROR;
    }
    while (i < len) {
        c = src[i++];
        if (c == '%') {
            if (len - i < 2 || (hi = hex_value(src[i])) < 0 || (lo = hex_value(src[i + 1])) < 0) {
                return PC_ERROR;
            }
            c = (u_char) (hi << 4 | lo);
            i += 2;
            if (c == '\0') {
                return PC_ERROR;
            }
        }
        if (c != '/') {
            dst[n++] = c;
            continue;
        }
        if (n > 0 && close_segment(dst, &n, seg) != 0) {
            return PC_ERROR;
        }
        if (n == 0 || dst[n - 1] != '/') {
            dst[n++] = '/';
        }
        seg = n;
    }
    if (close_segment(dst, &n, seg) != 0) {
        return PC_ERROR;
    }
    *dst_len = n;
    return PC_OK;
}

const char *
pc_http_method_name(pc_http_method_e m)
{
    if ((unsigned) m >= pc_nelems(method_names)) {
        return NULL;
    }
    return method_names[m];
}
