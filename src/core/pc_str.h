/*
 * pc_str.h -- counted-string helpers.  Never rely on NUL termination.
 */
#ifndef PC_STR_H
#define PC_STR_H

#include <string.h>
#include "core/pc_types.h"

#define pc_tolower(c)  ((u_char) (((c) >= 'A' && (c) <= 'Z') ? ((c) | 0x20) : (c)))
#define pc_toupper(c)  ((u_char) (((c) >= 'a' && (c) <= 'z') ? ((c) & ~0x20) : (c)))

/* Whether s has an ASCII lowercase letter (a method token like "get"). */
static inline bool
pc_str_has_lower(const pc_str_t *s)
{
    size_t i;

    for (i = 0; i < s->len; i++)
        if (s->data[i] >= 'a' && s->data[i] <= 'z')
            return true;
    return false;
}

/* Unaligned loads (memcpy: no alignment or aliasing trouble). */
static inline uint64_t
pc_load8(const void *s)
{
    uint64_t v;

    memcpy(&v, s, 8);
    return v;
}

static inline uint32_t
pc_load4(const void *s)
{
    uint32_t v;

    memcpy(&v, s, 4);
    return v;
}

static inline uint16_t
pc_load2(const void *s)
{
    uint16_t v;

    memcpy(&v, s, 2);
    return v;
}

/*
 * Compare s[0 .. n) with lit[0 .. n), every byte of s OR-ed with 0x20 when
 * fold, without a loop over bytes: the n bytes are covered by words of 8
 * (or 4, or 2), the last one overlapping the one before, so no byte outside
 * either string is read.  Byte order does not matter: both sides are loaded
 * the same way.
 */
static inline bool
pc_str_eq_words(const u_char *s, const char *lit, size_t n, int fold)
{
    const uint64_t f8 = fold ? UINT64_C(0x2020202020202020) : 0;
    const uint32_t f4 = (uint32_t) f8;
    const uint16_t f2 = (uint16_t) f8;
    size_t         i;

    if (n >= 8) {
        for (i = 0; i + 8 < n; i += 8) {
            if ((pc_load8(s + i) | f8) != pc_load8(lit + i))
                return false;
        }
        return (pc_load8(s + n - 8) | f8) == pc_load8(lit + n - 8);
    }
    if (n >= 4)
        return ((pc_load4(s) | f4) == pc_load4(lit))
               && ((pc_load4(s + n - 4) | f4) == pc_load4(lit + n - 4));
    if (n >= 2)
        return ((uint16_t) (pc_load2(s) | f2) == pc_load2(lit))
               && ((uint16_t) (pc_load2(s + n - 2) | f2) == pc_load2(lit + n - 2));
    return n == 0 || (u_char) (s[0] | (u_char) f2) == (u_char) lit[0];
}

/*
 * s[0 .. n) equals lower (lowercase letters, digits, '-') ignoring ASCII
 * case.  OR-ing 0x20 folds case; it can only confuse a literal byte with a
 * control byte (CR with '-'), which no token or complete head line holds.
 */
static inline bool
pc_str_eq_lower(const u_char *s, const char *lower, size_t n)
{
    return pc_str_eq_words(s, lower, n, 1);
}

/* memcpy returning the end of the destination.  n == 0 copies nothing,
 * and src may then be NULL (an empty pc_str_t): memcpy's own arguments
 * must never be NULL, whatever n. */
static inline u_char *
pc_cpymem(u_char *dst, const void *src, size_t n)
{
    if (n == 0)
        return dst;
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

/* A TCP port, "1".."65535" (1*5DIGIT), from s[0..len) into *port.
 * PC_OK / PC_ERROR. */
pc_rc_t pc_parse_port(const u_char *s, size_t len, uint16_t *port);

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
