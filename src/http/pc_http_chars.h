/*
 * pc_http_chars.h -- byte classes shared by the pure HTTP parsers
 * (pc_http_parse.c, which defines them, and pc_http_chunked.c): one copy of
 * each RFC 9110 table, so the head parser and the chunked decoder can never
 * disagree on what a token or a field byte is.
 */
#ifndef PC_HTTP_CHARS_H
#define PC_HTTP_CHARS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* HTAB, SP, VCHAR, obs-text: bytes allowed in a head line or field value. */
extern const uint8_t pc_http_vchar_tab[256];

/* tchar (RFC 9110 §5.6.2): bytes allowed in a token. */
extern const uint8_t pc_http_tchar_tab[256];

/* Whether a value built at run time (a template: $uri is percent-decoded,
 * regex captures are whatever matched) may go into a head we send: no CR,
 * LF or NUL, which would end the field or the head early.  The parsers
 * never let such bytes through; templates can make them. */
static inline bool
pc_http_value_safe(const unsigned char *p, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0')
            return false;
    }
    return true;
}

#endif /* PC_HTTP_CHARS_H */
