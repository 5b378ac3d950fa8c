/*
 * test_gzip_headers.c -- modules/gzip/gzip_headers.c: Accept-Encoding
 * with q-values, Cache-Control no-transform, Vary, media types; empty,
 * one byte, malformed, quoted and oversized input.
 */
#include "test.h"
#include "gzip/gzip_headers.h"

static bool
accepts(const char *v)
{
    pc_gzip_ae_t st = PC_GZIP_AE_INIT;

    pc_gzip_ae_parse(&st, (const u_char *) v, strlen(v));
    return pc_gzip_ae_accepts(&st);
}

static bool
accepts2(const char *a, const char *b)
{
    pc_gzip_ae_t st = PC_GZIP_AE_INIT;

    pc_gzip_ae_parse(&st, (const u_char *) a, strlen(a));
    pc_gzip_ae_parse(&st, (const u_char *) b, strlen(b));
    return pc_gzip_ae_accepts(&st);
}

static void
test_accept_encoding(void)
{
    pc_gzip_ae_t st = PC_GZIP_AE_INIT;

    ok(!pc_gzip_ae_accepts(&st), "no Accept-Encoding: no gzip");
    ok(accepts("gzip"), "gzip");
    ok(accepts("GZIP"), "case-insensitive");
    ok(accepts("x-gzip"), "x-gzip");
    ok(accepts("deflate, gzip, br"), "in a list");
    ok(accepts("  gzip  ,br"), "whitespace");
    ok(accepts("gzip;q=1"), "q=1");
    ok(accepts("gzip;q=1.000"), "q=1.000");
    ok(accepts("gzip; q=0.5"), "q=0.5 with space");
    ok(accepts("gzip;q=0.001"), "q=0.001");
    ok(accepts("gzip ; Q=0.9"), "Q uppercase");
    ok(!accepts("gzip;q=0"), "q=0 refuses");
    ok(!accepts("gzip;q=0.000"), "q=0.000 refuses");
    ok(!accepts("gzip;q=0.0, br"), "q=0.0 in a list");
    ok(!accepts("gzip;q=1.5"), "q=1.5 malformed: not compressed");
    ok(!accepts("gzip;q=0.0001"), "four decimals malformed");
    ok(!accepts("gzip;q="), "empty q malformed");
    ok(!accepts("gzip;q=x"), "non-digit q");
    ok(!accepts("gzip;q=.5"), "q=.5 malformed");
    ok(accepts("gzip;level=1"), "other parameter ignored");
    ok(accepts("*"), "* accepts");
    ok(accepts("br, *;q=0.1"), "*;q=0.1");
    ok(!accepts("*;q=0"), "*;q=0");
    ok(!accepts("gzip;q=0, *"), "explicit gzip;q=0 beats *");
    ok(accepts("*;q=0, gzip"), "explicit gzip beats *;q=0");
    ok(accepts("gzip;q=0, x-gzip"), "any acceptable spelling wins");
    ok(!accepts("identity"), "identity only");
    ok(!accepts("gzipx"), "gzipx is another coding");
    ok(!accepts("gzi"), "gzi");
    ok(!accepts(""), "empty value");
    ok(!accepts(","), "just a comma");
    ok(!accepts(",,, ,"), "empty elements");
    ok(accepts(",,gzip,,"), "gzip among empty elements");
    ok(!accepts("g"), "one byte");
    ok(!accepts("br;x=\"a, gzip\""), "gzip inside a quoted string is not an element");
    ok(accepts("br;x=\"a, b\", gzip"), "after a quoted string");
    ok(!accepts("br;x=\"unterminated, gzip"), "unterminated quote swallows the rest");
    ok(accepts2("br", "gzip"), "two fields: second names gzip");
    ok(!accepts2("gzip;q=0", "br"), "two fields: refusal stays");
    pc_gzip_ae_parse(&st, (const u_char *) "gzip\0", 5);
    ok(!pc_gzip_ae_accepts(&st), "a NUL inside the token makes another coding");
}

static void
test_no_transform(void)
{
#define NT(s) pc_gzip_no_transform((const u_char *) (s), strlen(s))
    ok(NT("no-transform"), "no-transform");
    ok(NT("public, No-Transform"), "in a list, case-insensitive");
    ok(NT("max-age=60,no-transform"), "no spaces");
    ok(!NT("no-transformed"), "longer word");
    ok(!NT("private=\"x, no-transform\""), "inside a quoted string");
    ok(!NT(""), "empty");
    ok(!NT("max-age=0"), "others");
    ok(NT("no-transform=1"), "with a (bogus) value: still the directive");
#undef NT
}

static void
test_vary(void)
{
#define VH(s) pc_gzip_vary_has((const u_char *) (s), strlen(s))
    ok(VH("Accept-Encoding"), "Accept-Encoding");
    ok(VH("origin, accept-encoding"), "in a list, lowercase");
    ok(VH("*"), "*");
    ok(!VH("Origin"), "another field");
    ok(!VH("Accept-Encodings"), "longer name");
    ok(!VH(""), "empty");
#undef VH
}

static void
test_media_type(void)
{
    u_char buf[16];
    size_t n;

#define MT(s) pc_gzip_media_type((const u_char *) (s), strlen(s), buf, sizeof(buf))
    n = MT("text/html");
    is_str(buf, n, "text/html", 9, "plain");
    n = MT("Text/HTML; charset=utf-8");
    is_str(buf, n, "text/html", 9, "lowercased, parameters dropped");
    n = MT("  application/json ;x");
    is_str(buf, n, "application/json", 16, "whitespace trimmed, exactly the buffer size");
    is_int((int) MT("application/json1"), 0, "one byte over the buffer: 0");
    is_int((int) MT(""), 0, "empty");
    is_int((int) MT(" ; charset=x"), 0, "only parameters");
#undef MT
}

int
main(void)
{
    test_accept_encoding();
    test_no_transform();
    test_vary();
    test_media_type();
    return done_testing();
}
