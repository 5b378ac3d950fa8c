/*
 * test_pc_str.c -- unit tests for src/core/pc_str.c.
 */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "core/pc_str.h"
#include "test.h"

#define U(s)  ((const u_char *) (s))

static pc_rc_t
parse(const char *s, uint64_t *v)
{
    return pc_parse_uint64(U(s), strlen(s), v);
}

static void
test_parse_uint64(void)
{
    uint64_t v = 42;

    ok(parse("0", &v) == PC_OK && v == 0, "0");
    ok(parse("7", &v) == PC_OK && v == 7, "one digit");
    ok(parse("007", &v) == PC_OK && v == 7, "leading zeros");
    ok(parse("00000000000000000000000000001", &v) == PC_OK && v == 1,
       "many leading zeros do not count as overflow");
    ok(parse("9223372036854775807", &v) == PC_OK && v == INT64_MAX, "INT64_MAX");
    v = 42;
    is_int(parse("9223372036854775808", &v), PC_ERROR, "INT64_MAX + 1 overflows");
    is_int(v, 42, "output untouched on error");
    is_int(parse("18446744073709551616", &v), PC_ERROR, "UINT64_MAX + 1 overflows");
    is_int(parse("99999999999999999999999", &v), PC_ERROR, "far overflow");
    is_int(parse("", &v), PC_ERROR, "empty");
    is_int(parse("+1", &v), PC_ERROR, "plus sign");
    is_int(parse("-1", &v), PC_ERROR, "minus sign");
    is_int(parse(" 1", &v), PC_ERROR, "leading space");
    is_int(parse("1 ", &v), PC_ERROR, "trailing space");
    is_int(parse("12a", &v), PC_ERROR, "trailing letter");
    is_int(pc_parse_uint64(U("1\0002"), 3, &v), PC_ERROR, "embedded NUL");
    ok(pc_parse_uint64(U("123456"), 3, &v) == PC_OK && v == 123, "length is honoured");
}

static void
test_u64toa(void)
{
    u_char buf[21], *e;

    e = pc_u64toa(buf, 0);
    is_str(buf, (size_t) (e - buf), "0", 1, "u64toa(0)");
    {
        static const uint64_t v[] = { 7, 9, 10, 11, 99, 100, 101, 128, 999, 1000, 1001,
                                      9999, 10000, 65535, 99999999, 100000000 };
        char want[24];
        size_t k;

        for (k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
            int n = snprintf(want, sizeof(want), "%llu", (unsigned long long) v[k]);

            e = pc_u64toa(buf, v[k]);
            is_str(buf, (size_t) (e - buf), want, (size_t) n, "u64toa at a digit boundary");
        }
    }
    {
        char want[24];
        uint64_t x;
        unsigned bad = 0;

        for (x = 0; x <= 100000; x++) {
            int n = snprintf(want, sizeof(want), "%llu", (unsigned long long) x);

            e = pc_u64toa(buf, x);
            bad += (size_t) (e - buf) != (size_t) n || memcmp(buf, want, (size_t) n) != 0;
        }
        is_int(bad, 0, "u64toa 0..100000 writes what printf writes");
    }
    e = pc_u64toa(buf, 1234567890);
    is_str(buf, (size_t) (e - buf), "1234567890", 10, "u64toa(1234567890)");
    e = pc_u64toa(buf, UINT64_MAX);
    is_str(buf, (size_t) (e - buf), "18446744073709551615", 20, "u64toa(UINT64_MAX)");
}

static void
test_case(void)
{
    pc_str_t a = pc_string("Content-Length"), b = pc_string("content-LENGTH");
    pc_str_t c = pc_string("content-lengthx"), d = pc_string("content-lengtH");
    u_char buf[16];

    is_int(pc_strncasecmp(U("HeLLo"), U("hello"), 5), 0, "strncasecmp equal");
    ok(pc_strncasecmp(U("abc"), U("abd"), 3) < 0, "strncasecmp less");
    ok(pc_strncasecmp(U("abD"), U("abc"), 3) > 0, "strncasecmp greater, case folded");
    is_int(pc_strncasecmp(U("abX"), U("abY"), 2), 0, "strncasecmp honours n");
    ok(pc_strncasecmp(U("\xc4"), U("\xe4"), 1) != 0, "non-ASCII bytes are not folded");
    ok(pc_str_caseeq(&a, &b), "caseeq ignores ASCII case");
    ok(!pc_str_caseeq(&a, &c), "caseeq needs equal lengths");
    ok(pc_str_caseeq(&a, &d), "caseeq last byte");
    pc_strlow(buf, U("MiXeD-123_Z"), 11);
    is_str(buf, 11, "mixed-123_z", 11, "strlow");
    memcpy(buf, "ABC", 3);
    pc_strlow(buf, buf, 3);
    is_str(buf, 3, "abc", 3, "strlow in place");
    ok(pc_str_eq_c(&a, "Content-Length") && !pc_str_eq_c(&a, "Content"), "str_eq_c");
}

static void
test_strnstr(void)
{
    const u_char *s = U("aaab--needle");
    const u_char *last = s + 12;

    ok(pc_strnstr(s, last, U("aab"), 3) == s + 1, "overlapping prefix");
    ok(pc_strnstr(s, last, U("needle"), 6) == s + 6, "match at the very end");
    ok(pc_strnstr(s, last - 1, U("needle"), 6) == NULL, "last is exclusive");
    ok(pc_strnstr(s, last, U("needles"), 7) == NULL, "absent");
    ok(pc_strnstr(s, s + 2, U("aaab"), 4) == NULL, "needle longer than haystack");
    ok(pc_strnstr(s, last, U(""), 0) == s, "empty needle matches at start");
    ok(pc_strnstr(s, s, U("a"), 1) == NULL, "empty haystack");
    ok(pc_strnstr(U("a\0b"), U("a\0b") + 3, U("\0b"), 2) != NULL, "binary-safe");
    is_int(pc_hexval('f'), 15, "hexval f");
    is_int(pc_hexval('F'), 15, "hexval F");
    is_int(pc_hexval('9'), 9, "hexval 9");
    is_int(pc_hexval('g'), -1, "hexval g");
}

static void
test_eq_lower(void)
{
    ok(pc_str_eq_lower((const u_char *) "Keep-Alive", "keep-alive", 10), "eq_lower: mixed case");
    ok(pc_str_eq_lower((const u_char *) "CLOSE", "close", 5), "eq_lower: upper, short");
    ok(pc_str_eq_lower((const u_char *) "Transfer-Encoding", "transfer-encoding", 17),
       "eq_lower: 17 bytes (8 + 8 + 1)");
    ok(!pc_str_eq_lower((const u_char *) "Keep-Alivf", "keep-alive", 10), "eq_lower: last byte differs");
    ok(!pc_str_eq_lower((const u_char *) "Keep_Alive", "keep-alive", 10), "eq_lower: '_' is not '-'");
    ok(!pc_str_eq_lower((const u_char *) "keep Alive", "keep-alive", 10), "eq_lower: SP is not '-'");
    ok(!pc_str_eq_lower((const u_char *) "dat\x05", "date", 4), "eq_lower: control byte is not a letter");
    ok(pc_str_eq_lower((const u_char *) "x", "", 0), "eq_lower: empty");
}

static void
test_parse_port(void)
{
    uint16_t port = 0;

    ok(pc_parse_port(U("1"), 1, &port) == PC_OK && port == 1, "port 1");
    ok(pc_parse_port(U("65535"), 5, &port) == PC_OK && port == 65535, "port 65535");
    ok(pc_parse_port(U("08080"), 5, &port) == PC_OK && port == 8080, "leading zero within 5 digits");
    is_int(pc_parse_port(U("0"), 1, &port), PC_ERROR, "port 0");
    is_int(pc_parse_port(U("65536"), 5, &port), PC_ERROR, "port 65536");
    is_int(pc_parse_port(U("000080"), 6, &port), PC_ERROR, "more than 5 digits");
    is_int(pc_parse_port(U(""), 0, &port), PC_ERROR, "empty");
    is_int(pc_parse_port(U("8a"), 2, &port), PC_ERROR, "not a number");
}

int
main(void)
{
    test_eq_lower();
    test_parse_uint64();
    test_parse_port();
    test_u64toa();
    test_case();
    test_strnstr();
    return done_testing();
}
