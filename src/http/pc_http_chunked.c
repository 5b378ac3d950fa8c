/*
 * pc_http_chunked.c -- incremental decoder for the chunked transfer coding
 * (RFC 9112 §7.1).
 *
 * A byte-at-a-time state machine for the framing (size lines, CRLFs,
 * trailers), which is small; payload is never looked at, only delimited, so
 * the cost of a body is one span per chunk.  The state lives entirely in the
 * context, so any split of the input gives the same result.
 *
 * Choices the header leaves open:
 *  - chunk-size: 1*HEXDIG whose value fits 64 bits: at most 16 digits
 *    after any leading zeros (SPEC §8 "without overflow"); the zeros are
 *    bounded by the size line's max_line only.
 *  - BWS (SP / HTAB) after the size is accepted only before a ';'; the
 *    extension that follows may hold any HTAB / SP / VCHAR / obs-text byte
 *    (so a quoted-string with ';' in it passes) and is ignored; CR, LF, NUL
 *    and other controls end it in an error.  line_len counts the bytes of the size line without its
 *    line end and must stay <= max_line.
 *  - Every line end in the framing is CRLF: after the size line (and its
 *    extensions), after the data, after each trailer line and the final
 *    empty line.  A bare LF is an error as much as a bare CR: a peer that
 *    ends a line at a lone LF where the next hop only ends it at CRLF (or
 *    the other way round) sees other chunk boundaries, which is how a body
 *    is smuggled past a proxy (RFC 9112 §7.1 and §11.2).
 *  - Trailer fields: a token name, ':' right after it, a value of HTAB / SP /
 *    VCHAR / obs-text; a line starting with whitespace (obs-fold) is an
 *    error.  trailer_len counts every byte after the last-chunk line,
 *    including line ends and the final empty line, and must stay
 *    <= max_trailers.
 */
#include <string.h>

#include "core/pc_types.h"
#include "http/pc_http_chunked.h"
#include "http/pc_http_chars.h"

#define DEFAULT_MAX_LINE     4096
#define DEFAULT_MAX_TRAILERS 8192
#define MAX_DIGITS           16

/* clang-format off */
enum {
    CH_SIZE_START = 0,   /* first hex digit of a chunk-size            */
    CH_SIZE,             /* more hex digits                            */
    CH_SIZE_WS,          /* BWS after the size: only ';' may follow    */
    CH_EXT,              /* chunk extensions, up to the line end       */
    CH_SIZE_LF,          /* CR seen at the end of the size line        */
    CH_DATA,             /* payload: ctx->size bytes to come           */
    CH_DATA_CR,          /* CRLF after the payload                     */
    CH_DATA_LF,
    CH_TR_START,         /* start of a trailer line (or the last line) */
    CH_TR_NAME,
    CH_TR_VALUE,
    CH_TR_LF,            /* CR seen at the end of a trailer line       */
    CH_END_LF,           /* CR seen on the final empty line            */
    CH_DONE,
    CH_ERROR
};

/* hex digit value, 255 for anything else */
static const uint8_t hex_tab[256] = {
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, /* 0x00 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, /* 0x10 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, /* 0x20 */
      0,   1,   2,   3,   4,   5,   6,   7,   8,   9, 255, 255, 255, 255, 255, 255, /* 0x30 */
    255,  10,  11,  12,  13,  14,  15, 255, 255, 255, 255, 255, 255, 255, 255, 255, /* 0x40 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, /* 0x50 */
    255,  10,  11,  12,  13,  14,  15, 255, 255, 255, 255, 255, 255, 255, 255, 255, /* 0x60 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, /* 0x70 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, /* 0x80 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, /* 0x90 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, /* 0xa0 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, /* 0xb0 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, /* 0xc0 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, /* 0xd0 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, /* 0xe0 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, /* 0xf0 */
};
/* clang-format on */

void
pc_http_chunked_init(pc_http_chunked_t *ctx, uint32_t max_line, uint32_t max_trailers)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->state = CH_SIZE_START;
    ctx->max_line = max_line ? max_line : DEFAULT_MAX_LINE;
    ctx->max_trailers = max_trailers ? max_trailers : DEFAULT_MAX_TRAILERS;
}

static pc_rc_t
chunked_fail(pc_http_chunked_t *ctx, const char *why)
{
    ctx->state = CH_ERROR;
    ctx->error = why;
    return PC_ERROR;
}

/* The size line ended: on to the payload, or to the trailers after "0". */
static void
size_line_done(pc_http_chunked_t *ctx)
{
    ctx->state = ctx->size == 0 ? CH_TR_START : CH_DATA;
    ctx->line_len = 0;
    ctx->ndigits = 0;
}

/*
 * One framing byte of a size line (states CH_SIZE_START .. CH_SIZE_LF).
 * Returns PC_OK, or PC_ERROR.
 */
static pc_rc_t
size_byte(pc_http_chunked_t *ctx, u_char c)
{
    unsigned d = hex_tab[c];

    if (ctx->state == CH_SIZE_LF) {
        if (c != '\n') {
            return chunked_fail(ctx, "bare CR in chunk size line");
        }
        size_line_done(ctx);
        return PC_OK;
    }
    if (c == '\n') {
        return chunked_fail(ctx, ctx->state == CH_SIZE_START ? "invalid chunk size"
                                                             : "bare LF in chunk size line");
    }
    if (c == '\r') {
        if (ctx->state == CH_SIZE_START || ctx->state == CH_SIZE_WS) {
            return chunked_fail(ctx, "invalid chunk size");
        }
        ctx->state = CH_SIZE_LF;
        return PC_OK;
    }
    if (++ctx->line_len > ctx->max_line) {
        return chunked_fail(ctx, "chunk size line too long");
    }
    if (ctx->state == CH_EXT) {
        return pc_http_vchar_tab[c] ? PC_OK : chunked_fail(ctx, "invalid chunk extension");
    }
    if (d != 255 && ctx->state != CH_SIZE_WS) {
        if ((ctx->ndigits > 0 || d != 0) && ++ctx->ndigits > MAX_DIGITS) {
            return chunked_fail(ctx, "chunk size too large");
        }
        ctx->size = ctx->size << 4 | d;
        ctx->state = CH_SIZE;
        return PC_OK;
    }
    if (ctx->state == CH_SIZE_START) {
        return chunked_fail(ctx, "invalid chunk size");
    }
    /* after the digits: BWS, then only ';' (RFC 9112 §7.1.1) */
    if (c == ';') {
        ctx->state = CH_EXT;
    } else if (c == ' ' || c == '\t') {
        ctx->state = CH_SIZE_WS;
    } else {
        return chunked_fail(ctx, "invalid chunk size");
    }
    return PC_OK;
}

/* One byte of the trailer section (states CH_TR_START .. CH_END_LF). */
static pc_rc_t
trailer_byte(pc_http_chunked_t *ctx, u_char c)
{
    if (++ctx->trailer_len > ctx->max_trailers) {
        return chunked_fail(ctx, "trailer section too large");
    }
    if (c == '\n' && ctx->state != CH_TR_LF && ctx->state != CH_END_LF) {
        return chunked_fail(ctx, "bare LF in trailer section");
    }
    switch (ctx->state) {
    case CH_TR_START:
        if (c == '\r') {
            ctx->state = CH_END_LF;
        } else if (pc_http_tchar_tab[c]) {
            ctx->state = CH_TR_NAME;
        } else {
            return chunked_fail(ctx, "invalid trailer field");
        }
        return PC_OK;
    case CH_TR_NAME:
        if (c == ':') {
            ctx->state = CH_TR_VALUE;
        } else if (!pc_http_tchar_tab[c]) {
            return chunked_fail(ctx, "invalid trailer field name");
        }
        return PC_OK;
    case CH_TR_VALUE:
        if (c == '\r') {
            ctx->state = CH_TR_LF;
        } else if (!pc_http_vchar_tab[c]) {
            return chunked_fail(ctx, "invalid trailer field value");
        }
        return PC_OK;
    default: /* CH_TR_LF, CH_END_LF */
        if (c != '\n') {
            return chunked_fail(ctx, "bare CR in trailer section");
        }
        ctx->state = ctx->state == CH_TR_LF ? CH_TR_START : CH_DONE;
        return PC_OK;
    }
}

pc_rc_t
pc_http_chunked_decode(pc_http_chunked_t *ctx, const u_char **pos, const u_char *end,
    const u_char **data, size_t *data_len)
{
    const u_char *p = *pos;
    pc_rc_t rc;

    *data = NULL;
    *data_len = 0;

    while (p < end) {
        switch (ctx->state) {
        case CH_DATA: {
            size_t n = (size_t) (end - p);

            if ((uint64_t) n > ctx->size) {
                n = (size_t) ctx->size;
            }
            *data = p;
            *data_len = n;
            ctx->size -= n;
            ctx->total += n;
            if (ctx->size == 0) {
                ctx->state = CH_DATA_CR;
            }
            *pos = p + n;
            return PC_OK;
        }
        case CH_DATA_CR:
            if (*p != '\r') {
                rc = chunked_fail(ctx, *p == '\n' ? "bare LF after chunk data"
                                                  : "no CRLF after chunk data");
                goto out;
            }
            ctx->state = CH_DATA_LF;
            break;
        case CH_DATA_LF:
            if (*p != '\n') {
                rc = chunked_fail(ctx, "bare CR after chunk data");
                goto out;
            }
            ctx->state = CH_SIZE_START;
            break;
        case CH_DONE:
            rc = PC_DONE;
            goto out;
        case CH_ERROR:
            rc = PC_ERROR;
            goto out;
        default:
            rc = ctx->state >= CH_TR_START ? trailer_byte(ctx, *p) : size_byte(ctx, *p);
            if (rc != PC_OK) {
                goto out;
            }
            break;
        }
        p++;
    }
    rc = ctx->state == CH_DONE ? PC_DONE : ctx->state == CH_ERROR ? PC_ERROR : PC_AGAIN;
out:
    *pos = p;
    return rc;
}
