/*
 * pc_str.c -- counted-string helpers.  Nothing here relies on NUL
 * termination, allocates, or depends on the locale.
 */
#include "core/pc_str.h"

/* Case-insensitive (ASCII only) comparison of a[0..n) and b[0..n):
 * <0, 0 or >0 like memcmp on the lowercased bytes. */
int
pc_strncasecmp(const u_char *a, const u_char *b, size_t n)
{
    size_t i;
    u_char ca, cb;

    for (i = 0; i < n; i++) {
        if (a[i] == b[i])
            continue;               /* the common case: no case folding */
        ca = pc_tolower(a[i]);
        cb = pc_tolower(b[i]);
        if (ca != cb)
            return ca - cb;
    }
    return 0;
}

/* True when a and b have the same length and differ only in ASCII case. */
bool
pc_str_caseeq(const pc_str_t *a, const pc_str_t *b)
{
    return a->len == b->len && pc_strncasecmp(a->data, b->data, a->len) == 0;
}

/* Lowercase (ASCII) n bytes from src into dst; dst may equal src. */
void
pc_strlow(u_char *dst, const u_char *src, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        dst[i] = pc_tolower(src[i]);
}

/* First occurrence of needle[0..nlen) in [p, last), or NULL.  An empty
 * needle matches at p. */
u_char *
pc_strnstr(const u_char *p, const u_char *last, const u_char *needle, size_t nlen)
{
    const u_char *q;

    if (nlen == 0)
        return (u_char *) p;
    if (p >= last || (size_t) (last - p) < nlen)
        return NULL;

    last -= nlen - 1;                 /* last possible start + 1 */
    while (p < last) {
        q = memchr(p, needle[0], (size_t) (last - p));
        if (q == NULL)
            return NULL;
        if (memcmp(q, needle, nlen) == 0)
            return (u_char *) q;
        p = q + 1;
    }
    return NULL;
}

/*
 * 1*DIGIT from s[0..len) into *out, at most INT64_MAX (so the value also
 * fits every signed field).  Rejects empty input, signs, spaces, any other
 * byte and overflow; *out is untouched on PC_ERROR.
 */
pc_rc_t
pc_parse_uint64(const u_char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    unsigned d;
    size_t i;

    if (len == 0)
        return PC_ERROR;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return PC_ERROR;
        d = s[i] - '0';
        if (v > ((uint64_t) INT64_MAX - d) / 10)
            return PC_ERROR;
        v = v * 10 + d;
    }
    *out = v;
    return PC_OK;
}

/* See pc_str.h. */
pc_rc_t
pc_parse_port(const u_char *s, size_t len, uint16_t *port)
{
    uint64_t v;

    if (len > 5 || pc_parse_uint64(s, len, &v) != PC_OK || v < 1 || v > 65535)
        return PC_ERROR;
    *port = (uint16_t) v;
    return PC_OK;
}

/* Write v in decimal at dst (up to 20 bytes, no NUL); returns the end. */
u_char *
pc_u64toa(u_char *dst, uint64_t v)
{
    static const char pairs[] =
        "00010203040506070809101112131415161718192021222324"
        "25262728293031323334353637383940414243444546474849"
        "50515253545556575859606162636465666768697071727374"
        "75767778798081828384858687888990919293949596979899";
    uint64_t t;
    size_t   n = 1, k;
    u_char  *p;

    if (v < 1000) {     /* statuses, small bodies and lengths */
        if (v < 10) {
            dst[0] = (u_char) ('0' + v);
            return dst + 1;
        }
        t = v / 100;
        k = (size_t) (v - t * 100) * 2;
        dst[0] = (u_char) ('0' + t);
        dst[t != 0] = (u_char) pairs[k];
        dst[1 + (t != 0)] = (u_char) pairs[k + 1];
        return dst + 2 + (t != 0);
    }
    /* Count the digits, then write them backwards two at a time (one
     * division per pair): numbers in heads and log lines are short. */
    for (t = v; t >= 100; t /= 100)
        n += 2;
    n += t >= 10;
    p = dst + n;
    while (v >= 100) {
        k = (size_t) (v % 100) * 2;
        v /= 100;
        *--p = (u_char) pairs[k + 1];
        *--p = (u_char) pairs[k];
    }
    if (v >= 10) {
        *--p = (u_char) pairs[v * 2 + 1];
        *--p = (u_char) pairs[v * 2];
    } else {
        *--p = (u_char) ('0' + v);
    }
    return dst + n;
}
