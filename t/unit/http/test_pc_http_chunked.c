/*
 * Unit tests for src/http/pc_http_chunked.c: sizes, extensions, trailers,
 * limits at max and max + 1, overflow, missing CRLF, bare CR, bare LF, and
 * for every vector the incremental property (one byte at a time and every
 * two-part split give the same payload, return code, end position and
 * error).
 */
#include <stdlib.h>

#include "core/pc_types.h"
#include "http/pc_http_chunked.h"
#include "test.h"

#define MAXPAY 4096

/* The outcome of decoding one input. */
typedef struct {
    pc_rc_t rc;      /* last code other than PC_OK           */
    size_t consumed; /* bytes consumed when it stopped        */
    u_char payload[MAXPAY];
    size_t npayload;
    uint64_t total;
    const char *error;
    int bad_span; /* a span outside the consumed input     */
} out_t;

/*
 * Run the decoder over in[from .. to) until it needs more input or stops,
 * appending payload to o.  Returns the position reached.
 */
static size_t
drive(pc_http_chunked_t *ctx, const u_char *in, size_t from, size_t to, out_t *o)
{
    const u_char *pos = in + from, *data;
    size_t len;

    for (;;) {
        const u_char *before = pos;

        o->rc = pc_http_chunked_decode(ctx, &pos, in + to, &data, &len);
        if (len > 0) {
            if (data < before || data + len > pos || o->npayload + len > MAXPAY) {
                o->bad_span = 1;
            } else {
                memcpy(o->payload + o->npayload, data, len);
                o->npayload += len;
            }
        }
        if (o->rc != PC_OK) {
            break;
        }
    }
    return (size_t) (pos - in);
}

static void
finish(const pc_http_chunked_t *ctx, out_t *o, size_t pos)
{
    o->consumed = pos;
    o->total = ctx->total;
    o->error = ctx->error;
}

static void
decode_whole(const u_char *in, size_t n, uint32_t ml, uint32_t mt, out_t *o)
{
    pc_http_chunked_t ctx;

    memset(o, 0, sizeof(*o));
    pc_http_chunked_init(&ctx, ml, mt);
    finish(&ctx, o, drive(&ctx, in, 0, n, o));
}

static const char *
out_diff(const out_t *a, const out_t *b)
{
    if (a->rc != b->rc)
        return "rc";
    if (a->npayload != b->npayload)
        return "payload length";
    if (memcmp(a->payload, b->payload, a->npayload) != 0)
        return "payload";
    if (a->total != b->total)
        return "total";
    if (a->error != b->error)
        return "error";
    if (a->bad_span || b->bad_span)
        return "span outside the input";
    /* Once stopped (done or error) the position is exact; while waiting for
     * more, every byte offered has been consumed. */
    if (a->consumed != b->consumed)
        return "consumed";
    return NULL;
}

static void
check_incremental(
    const char *name, const u_char *in, size_t n, uint32_t ml, uint32_t mt, const out_t *whole)
{
    static out_t o;
    pc_http_chunked_t ctx;
    const char *why = NULL;
    size_t k, pos, at = 0;

    memset(&o, 0, sizeof(o));
    pc_http_chunked_init(&ctx, ml, mt);
    pos = drive(&ctx, in, 0, 0, &o);
    for (k = 1; k <= n; k++) {
        pos = drive(&ctx, in, pos, k, &o);
        if (o.rc == PC_DONE || o.rc == PC_ERROR) {
            break;
        }
    }
    finish(&ctx, &o, pos);
    why = out_diff(&o, whole);
    ok(why == NULL, "%s: byte by byte == whole", name);
    if (why != NULL) {
        diag("differs in %s", why);
    }
    why = NULL;
    for (k = 0; k <= n && why == NULL; k++) {
        memset(&o, 0, sizeof(o));
        pc_http_chunked_init(&ctx, ml, mt);
        pos = drive(&ctx, in, 0, k, &o);
        if (o.rc == PC_AGAIN) {
            pos = drive(&ctx, in, pos, n, &o);
        }
        finish(&ctx, &o, pos);
        why = out_diff(&o, whole);
        at = k;
    }
    ok(why == NULL, "%s: split anywhere == whole", name);
    if (why != NULL) {
        diag("differs in %s when split at %zu", why, at);
    }
}

/*
 * One vector: expected return code, payload and (for PC_DONE) the number of
 * bytes that belong to the body.
 */
static void
vec_lim(const char *name, const char *s, size_t n, uint32_t ml, uint32_t mt, pc_rc_t rc,
    const char *payload, size_t consumed)
{
    static out_t o;

    decode_whole((const u_char *) s, n, ml, mt, &o);
    is_int(o.rc, rc, "%s: rc (%s)", name, o.error ? o.error : "-");
    if (payload != NULL) {
        is_str(o.payload, o.npayload, payload, strlen(payload), "%s: payload", name);
        is_int(o.total, strlen(payload), "%s: total", name);
    }
    if (rc == PC_DONE || rc == PC_AGAIN) {
        is_int(o.consumed, rc == PC_AGAIN ? n : consumed, "%s: consumed", name);
    }
    ok(o.npayload <= n && !o.bad_span, "%s: payload within input", name);
    if (rc == PC_ERROR) {
        ok(o.error != NULL, "%s: error reason set", name);
    }
    check_incremental(name, (const u_char *) s, n, ml, mt, &o);
}

#define DONE(name, s, pay)        vec_lim(name, s, sizeof(s) - 1, 0, 0, PC_DONE, pay, sizeof(s) - 1)
#define DONE_AT(name, s, pay, at) vec_lim(name, s, sizeof(s) - 1, 0, 0, PC_DONE, pay, at)
#define AGAIN(name, s, pay)       vec_lim(name, s, sizeof(s) - 1, 0, 0, PC_AGAIN, pay, 0)
#define BAD(name, s)              vec_lim(name, s, sizeof(s) - 1, 0, 0, PC_ERROR, NULL, 0)
#define BAD_PAY(name, s, pay)     vec_lim(name, s, sizeof(s) - 1, 0, 0, PC_ERROR, pay, 0)

static void
test_sizes(void)
{
    DONE("last chunk only", "0\r\n\r\n", "");
    DONE("one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello");
    DONE("two chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world");
    DONE("lower hex", "a\r\n0123456789\r\n0\r\n\r\n", "0123456789");
    DONE("upper hex", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789");
    DONE("two hex digits", "1f\r\n0123456789abcdef0123456789ABCDE\r\n0\r\n\r\n",
        "0123456789abcdef0123456789ABCDE");
    DONE("leading zeros", "0005\r\nhello\r\n0000\r\n\r\n", "hello");
    DONE("16 digits", "0000000000000005\r\nhello\r\n0\r\n\r\n", "hello");
    DONE("CRLF inside data", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n");
    DONE_AT("next message after the body", "0\r\n\r\nGET / HTTP/1.1\r\n", "", 5);
    DONE_AT("next chunked body after the body", "1\r\nx\r\n0\r\n\r\n0\r\n\r\n", "x", 11);
    AGAIN("empty input", "", "");
    AGAIN("size only", "5", "");
    AGAIN("size and CR", "5\r", "");
    AGAIN("partial data", "5\r\nhel", "hel");
    AGAIN("data without CRLF yet", "5\r\nhello", "hello");
    AGAIN("data and CR", "5\r\nhello\r", "hello");
    AGAIN("last chunk without blank line", "0\r\n", "");
    AGAIN("last chunk and CR", "0\r\n\r", "");
    AGAIN("16 f digits: a huge chunk", "ffffffffffffffff\r\nabc", "abc");
    AGAIN("15 digits", "7fffffffffffffff\r\nabc", "abc");
    DONE("17 digits, value 5", "00000000000000005\r\nhello\r\n0\r\n\r\n", "hello");
    DONE("100 leading zeros",
        "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000005"
        "\r\nhello\r\n0\r\n\r\n", "hello");
    AGAIN("zeros, then 16 f digits", "000ffffffffffffffff\r\nabc", "abc");
    BAD("zeros, then 17 significant digits", "0010000000000000000\r\n");
    BAD("17 f digits", "fffffffffffffffff\r\n");
    BAD("2^64", "10000000000000000\r\n");
    BAD("0x prefix", "0x5\r\nhello\r\n0\r\n\r\n");
    BAD("negative", "-5\r\nhello\r\n0\r\n\r\n");
    BAD("plus", "+5\r\nhello\r\n0\r\n\r\n");
    BAD("empty size", "\r\nhello\r\n0\r\n\r\n");
    BAD("empty size, LF", "\n");
    BAD("not hex", "g\r\n");
    BAD("space before size", " 5\r\nhello\r\n0\r\n\r\n");
    BAD("space after size", "5 \r\nhello\r\n0\r\n\r\n");
    BAD("HTAB after size", "5\t\r\nhello\r\n0\r\n\r\n");
    BAD("junk after size", "5x\r\nhello\r\n0\r\n\r\n");
    BAD("two sizes", "5 5\r\nhello\r\n0\r\n\r\n");
    BAD("NUL in size", "5\0\r\nhello\r\n0\r\n\r\n");
    BAD("bare CR after size", "5\rhello\r\n0\r\n\r\n");
    BAD("CR CR after size", "5\r\r\nhello\r\n0\r\n\r\n");
    BAD_PAY("no CRLF after data", "5\r\nhelloX\r\n0\r\n\r\n", "hello");
    BAD_PAY("data longer than size", "3\r\nhello\r\n0\r\n\r\n", "hel");
    BAD_PAY("bare CR after data", "5\r\nhello\rX0\r\n\r\n", "hello");
    BAD_PAY("CR CR after data", "5\r\nhello\r\r\n0\r\n\r\n", "hello");
    BAD_PAY("missing last chunk", "5\r\nhello\r\n\r\n", "hello");
}

/* Every line end of the framing is CRLF: a bare LF anywhere is an error
 * (SPEC §8 "anything else in chunk framing"), never a line end. */
static void
test_bare_lf(void)
{
    BAD("bare LF line ends", "5\nhello\n0\n\n");
    BAD("bare LF after size", "5\nhello\r\n0\r\n\r\n");
    BAD("bare LF after two digits", "1f\n");
    BAD("bare LF after BWS", "5 \nhello\r\n0\r\n\r\n");
    BAD("LF CR after size", "5\n\rhello\r\n0\r\n\r\n");
    BAD_PAY("bare LF after data", "5\r\nhello\n0\r\n\r\n", "hello");
    BAD_PAY("LF CR after data", "5\r\nhello\n\r0\r\n\r\n", "hello");
    BAD_PAY("mixed line ends", "5\r\nhello\n0\n\r\n", "hello");
    BAD("bare LF after the last chunk", "0\n\r\n");
    BAD("bare LF after the last chunk, then LF", "0\n\n");
    BAD("bare LF as the final empty line", "0\r\n\n");
    BAD_PAY("bare LF as the final line after data", "5\r\nhello\r\n0\r\n\n", "hello");
    BAD("bare LF after a trailer", "0\r\nA: 1\n\r\n");
    BAD("bare LF after a trailer, then LF", "0\r\nA: 1\n\n");
    BAD("bare LF in a trailer name", "0\r\nA\n: 1\r\n\r\n");
    BAD("bare LF after the trailers", "0\r\nA: 1\r\n\n");
    /* the smuggling shape: a hop that ends the size line at the LF reads
     * "xx" as the chunk; one that needs CRLF reads a longer extension */
    BAD("LF-ended extension hides a chunk", "2;\nxx\r\n45\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n");
}

static void
test_extensions(void)
{
    DONE("extension", "5;foo=bar\r\nhello\r\n0\r\n\r\n", "hello");
    DONE("extension without value", "5;foo\r\nhello\r\n0\r\n\r\n", "hello");
    DONE("two extensions", "5;a=1;b=2\r\nhello\r\n0;c\r\n\r\n", "hello");
    DONE("quoted extension", "5;a=\"x y;z\"\r\nhello\r\n0\r\n\r\n", "hello");
    DONE("BWS before ;", "5 ;a\r\nhello\r\n0\t \t;b\r\n\r\n", "hello");
    DONE("obs-text in extension", "5;a=\xc3\xa9\r\nhello\r\n0\r\n\r\n", "hello");
    BAD("NUL in extension", "5;a\0\r\nhello\r\n0\r\n\r\n");
    BAD("control in extension", "5;a\x01\r\nhello\r\n0\r\n\r\n");
    BAD("DEL in extension", "5;a\x7f\r\nhello\r\n0\r\n\r\n");
    BAD("bare CR in extension", "5;a\rb\r\nhello\r\n0\r\n\r\n");
    BAD("bare LF in extension", "5;a\nb\r\nhello\r\n0\r\n\r\n");
    BAD("bare LF ending an extension", "5;a=b\nhello\r\n0\r\n\r\n");
    BAD("bare LF ending the last chunk's extension", "0;a\n\r\n");
    BAD("LF CR ending an extension", "5;a\n\rhello\r\n0\r\n\r\n");
    BAD("bare LF in a quoted extension", "5;a=\"x\ny\"\r\nhello\r\n0\r\n\r\n");
    BAD("bare CR in a quoted extension", "5;a=\"x\ry\"\r\nhello\r\n0\r\n\r\n");
    BAD("ESC in a quoted extension", "5;a=\"\x1b\"\r\nhello\r\n0\r\n\r\n");
    BAD("NUL in a quoted extension", "5;a=\"x\0\"\r\nhello\r\n0\r\n\r\n");
    DONE("HTAB in a quoted extension", "5;a=\"x\ty\"\r\nhello\r\n0\r\n\r\n", "hello");
    DONE("escaped quote in a quoted extension", "5;a=\"x\\\"y\"\r\nhello\r\n0\r\n\r\n", "hello");
    /* max_line 8: "5;aaaaaa" is 8 bytes */
    vec_lim("size line at max", "5;aaaaaa\r\nhello\r\n0\r\n\r\n", 22, 8, 0, PC_DONE, "hello", 22);
    vec_lim("size line at max+1", "5;aaaaaaa\r\nhello\r\n0\r\n\r\n", 23, 8, 0, PC_ERROR, "", 0);
    vec_lim("size line over max, no end", "5;aaaaaaaaaaaaaaaaaaaa", 22, 8, 0, PC_ERROR, "", 0);
    vec_lim("8 digits at max", "00000005\r\nhello\r\n0\r\n\r\n", 22, 8, 0, PC_DONE, "hello", 22);
    vec_lim("9 digits over max", "000000005\r\nhello\r\n0\r\n\r\n", 23, 8, 0, PC_ERROR, "", 0);
    {
        /* the default line limit is 4096 */
        static char big[4200];
        size_t n;

        for (n = 0; n < 2; n++) {
            size_t len;

            memcpy(big, "1;", 2);
            memset(big + 2, 'e', 4094 + n);
            memcpy(big + 4096 + n, "\r\nx\r\n0\r\n\r\n", 10);
            len = 4096 + n + 10;
            vec_lim(n ? "default line max+1" : "default line at max", big, len, 0, 0,
                n ? PC_ERROR : PC_DONE, n ? "" : "x", len);
        }
    }
}

static void
test_trailers(void)
{
    DONE("one trailer", "0\r\nX-Sum: abc\r\n\r\n", "");
    DONE("two trailers", "5\r\nhello\r\n0\r\nA: 1\r\nB:2\r\n\r\n", "hello");
    DONE("trailer with empty value", "0\r\nA:\r\n\r\n", "");
    DONE("trailer with HTAB and obs-text", "0\r\nA: x\ty \xff\r\n\r\n", "");
    BAD("trailer, bare LF", "0\nA: 1\n\n");
    DONE_AT("trailer then next message", "0\r\nA: 1\r\n\r\nPOST", "", 11);
    AGAIN("trailer incomplete", "0\r\nA: 1\r\n", "");
    AGAIN("trailer name only", "0\r\nA", "");
    BAD("trailer obs-fold", "0\r\nA: 1\r\n 2\r\n\r\n");
    BAD("trailer starts with SP", "0\r\n A: 1\r\n\r\n");
    BAD("trailer SP before colon", "0\r\nA : 1\r\n\r\n");
    BAD("trailer empty name", "0\r\n: 1\r\n\r\n");
    BAD("trailer without colon", "0\r\nA\r\n\r\n");
    BAD("trailer NUL in name", "0\r\nA\0: 1\r\n\r\n");
    BAD("trailer NUL in value", "0\r\nA: \0\r\n\r\n");
    BAD("trailer control in value", "0\r\nA: \x01\r\n\r\n");
    BAD("trailer bare CR in value", "0\r\nA: 1\r2\r\n\r\n");
    BAD("trailer bare CR at end", "0\r\nA: 1\r\n\rX");
    BAD("trailer 8-bit name", "0\r\n\xc3\xa9: 1\r\n\r\n");
    /* max_trailers 12: "A: 12345\r\n" (10) + "\r\n" (2) = 12 */
    vec_lim("trailers at max", "0\r\nA: 12345\r\n\r\n", 15, 0, 12, PC_DONE, "", 15);
    vec_lim("trailers at max+1", "0\r\nA: 123456\r\n\r\n", 16, 0, 12, PC_ERROR, "", 0);
    vec_lim("trailers over max, no end", "0\r\nA: 123456789012345", 21, 0, 12, PC_ERROR, "", 0);
    vec_lim("blank line only, max 2", "0\r\n\r\n", 5, 0, 2, PC_DONE, "", 5);
    vec_lim("blank line only, max 1", "0\r\n\r\n", 5, 0, 1, PC_ERROR, "", 0);
}

static void
test_api(void)
{
    pc_http_chunked_t ctx;
    const u_char *pos, *data;
    const u_char in[] = "3\r\nabc\r\n0\r\n\r\n";
    size_t len;
    pc_rc_t rc;

    pc_http_chunked_init(&ctx, 0, 0);
    is_int(ctx.max_line, 4096, "default max_line");
    is_int(ctx.max_trailers, 8192, "default max_trailers");
    pc_http_chunked_init(&ctx, 10, 20);
    is_int(ctx.max_line, 10, "max_line set");
    is_int(ctx.max_trailers, 20, "max_trailers set");

    pos = in;
    rc = pc_http_chunked_decode(&ctx, &pos, in + sizeof(in) - 1, &data, &len);
    is_int(rc, PC_OK, "first call: payload");
    ok(data == in + 3 && len == 3, "payload points into the input");
    ok(pos == in + 6, "pos after the payload");
    rc = pc_http_chunked_decode(&ctx, &pos, in + sizeof(in) - 1, &data, &len);
    is_int(rc, PC_DONE, "second call: done");
    is_int(len, 0, "no payload with PC_DONE");
    ok(pos == in + sizeof(in) - 1, "pos at the end");
    rc = pc_http_chunked_decode(&ctx, &pos, in + sizeof(in) - 1, &data, &len);
    is_int(rc, PC_DONE, "done stays done");
    ok(data == NULL && len == 0, "no payload after done");
    is_int(ctx.total, 3, "total 3");

    pc_http_chunked_init(&ctx, 0, 0);
    pos = (const u_char *) "x";
    rc = pc_http_chunked_decode(&ctx, &pos, pos + 1, &data, &len);
    is_int(rc, PC_ERROR, "error");
    rc = pc_http_chunked_decode(&ctx, &pos, pos + 1, &data, &len);
    is_int(rc, PC_ERROR, "error stays error");
    ok(ctx.error != NULL, "reason set");

    pc_http_chunked_init(&ctx, 0, 0);
    pos = in;
    rc = pc_http_chunked_decode(&ctx, &pos, in, &data, &len);
    is_int(rc, PC_AGAIN, "no input: PC_AGAIN");
    ok(pos == in && data == NULL && len == 0, "no input: nothing moves");
}

/* Regressions found by fuzzing live here, one vector each. */
static void
test_regressions(void)
{
}

int
main(void)
{
    test_sizes();
    test_bare_lf();
    test_extensions();
    test_trailers();
    test_api();
    test_regressions();
    return done_testing();
}
