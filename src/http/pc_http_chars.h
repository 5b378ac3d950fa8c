/*
 * pc_http_chars.h -- byte classes shared by the pure HTTP parsers
 * (pc_http_parse.c, which defines them, and pc_http_chunked.c): one copy of
 * each RFC 9110 table, so the head parser and the chunked decoder can never
 * disagree on what a token or a field byte is.
 */
#ifndef PC_HTTP_CHARS_H
#define PC_HTTP_CHARS_H

#include <stdint.h>

/* HTAB, SP, VCHAR, obs-text: bytes allowed in a head line or field value. */
extern const uint8_t pc_http_vchar_tab[256];

/* tchar (RFC 9110 §5.6.2): bytes allowed in a token. */
extern const uint8_t pc_http_tchar_tab[256];

#endif /* PC_HTTP_CHARS_H */
