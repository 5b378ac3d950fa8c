/*
 * pc_str.h -- counted-string helpers.  Never rely on NUL termination.
 */
#ifndef PC_STR_H
#define PC_STR_H

#include <string.h>
#include "core/pc_types.h"

#define pc_tolower(c)  ((u_char) (((c) >= 'A' && (c) <= 'Z') ? ((c) | 0x20) : (c)))
#define pc_toupper(c)  ((u_char) (((c) >= 'a' && (c) <= 'z') ? ((c) & ~0x20) : (c)))

/* memcpy returning the end of the destination. */
/*
 * s[0 .. n) equals lower (lowercase letters, digits, '-') ignoring ASCII
 * case, 8 bytes at a time with each byte OR 0x20: that maps exactly A-Z to
 * a-z, and no other byte of a header name or value (CR and LF excluded) to
 * a letter, digit or '-'.  For short constant literals, where it unrolls.
 */
static inline bool
pc_str_eq_lower(const u_char *s, const char *lower, size_t n)
{
    uint64_t a, b;

    for ( ; n >= 8; s += 8, lower += 8, n -= 8) {
        memcpy(&a, s, 8);
        memcpy(&b, lower, 8);
        if ((a | 0x2020202020202020ULL) != b)
            return false;
    }
    if (n == 0)
        return true;
    a = b = 0;
    memcpy(&a, s, n);
    memcpy(&b, lower, n);
    return (a | (0x2020202020202020ULL >> (64 - 8 * n))) == b;
}

static inline u_char *
pc_cpymem(u_char *dst, const void *src, size_t n)
{
    return (u_char *) memcpy(dst, src, n) + n;
}

static inline bool
pc_str_eq(const pc_str_t *a, const pc_str_t *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* Compare a counted string with a C string literal. */
static inline bool
pc_str_eq_c(const pc_str_t *a, const char *s)
{
    size_t n = strlen(s);
    return a->len == n && memcmp(a->data, s, n) == 0;
}

/* Case-insensitive ASCII comparison of n bytes: <0, 0, >0. */
int pc_strncasecmp(const u_char *a, const u_char *b, size_t n);

/* Case-insensitive equality of two counted strings. */
bool pc_str_caseeq(const pc_str_t *a, const pc_str_t *b);

/* Lowercase n bytes from src into dst (may be the same). */
void pc_strlow(u_char *dst, const u_char *src, size_t n);

/* Find needle[0..nlen) in [p, last); NULL when absent. */
u_char *pc_strnstr(const u_char *p, const u_char *last, const u_char *needle, size_t nlen);

/*
 * Parse 1*DIGIT from s[0..len) into *out without overflow (max INT64_MAX).
 * Rejects empty input, signs, spaces, any non-digit. PC_OK / PC_ERROR.
 */
pc_rc_t pc_parse_uint64(const u_char *s, size_t len, uint64_t *out);

/* Decimal formatting of an unsigned value; returns the end of what it wrote.
 * dst needs 20 bytes. */
u_char *pc_u64toa(u_char *dst, uint64_t v);

/* Hex digit value or -1. */
static inline int
pc_hexval(u_char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

#endif /* PC_STR_H */
