/*
 * test_traceparent.c -- modules/trace/traceparent.c: the traceparent
 * validity matrix (W3C Trace Context: version 00 strict, higher versions
 * read as 00 per §3.2.4), formatting, and the X-Request-ID rule.
 */
#include <stdlib.h>

#include "test.h"
#include "core/pc_core.h"
#include "trace/traceparent.h"

#define VALID "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static int
parse(const char *s)
{
    pc_trace_parent_t tp;

    return pc_trace_parent_parse((const u_char *) s, strlen(s), &tp) == PC_OK;
}

/* VALID with byte i replaced by c. */
static int
parse_with(size_t i, char c)
{
    char buf[sizeof(VALID)];

    memcpy(buf, VALID, sizeof(VALID));
    buf[i] = c;
    return parse(buf);
}

static void
test_valid(void)
{
    pc_trace_parent_t tp;
    static const u_char trace[16] = { 0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                      0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36 };
    static const u_char parent[8] = { 0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7 };

    ok(pc_trace_parent_parse((const u_char *) VALID, 55, &tp) == PC_OK, "the W3C example parses");
    ok(memcmp(tp.trace_id, trace, 16) == 0, "trace-id decoded");
    ok(memcmp(tp.parent_id, parent, 8) == 0, "parent-id decoded");
    is_int(tp.flags, 1, "flags decoded");
    ok(parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"), "flags 00");
    ok(parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff"), "flags ff kept");
    ok(parse("00-00000000000000000000000000000001-0000000000000001-01"), "ids of one bit");
    ok(parse("00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-01"), "all ones");
}

static void
test_invalid(void)
{
    static const char *bad[] = {
        "",
        "0",
        "00",
        "00-",
        /* version ff is invalid, whatever follows */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-abc",
        /* version 00 has nothing after the flags, not even a new field */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-abc",
        /* zero ids */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        /* uppercase hex */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
        /* lengths: one short, one long, trailing data */
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b77-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",
        " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        /* separators */
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
        "004bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
        /* non-hex */
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
        "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        NULL
    };
    size_t i;

    for (i = 0; bad[i] != NULL; i++)
        ok(!parse(bad[i]), "rejects \"%s\"", bad[i]);
    ok(pc_trace_parent_parse(NULL, 0, NULL) == PC_DECLINED, "NULL rejected");
}

/* Every position: a byte no valid header has there makes it invalid. */
static void
test_every_position(void)
{
    size_t i;
    int    bad_all = 1, good_all = 1;

    for (i = 0; i < 55; i++) {
        bool dash = i == 2 || i == 35 || i == 52;

        if (parse_with(i, 'G') || parse_with(i, ' ') || parse_with(i, '\0')
            || parse_with(i, 'A') || (!dash && parse_with(i, '-')))
            bad_all = 0;
        /* another lowercase hex digit keeps a valid header valid (except
         * in the version, which must stay 00) */
        if (!dash && i >= 3 && !parse_with(i, 'e'))
            good_all = 0;
    }
    ok(bad_all, "a wrong byte at any of the 55 positions is rejected");
    ok(good_all, "any lowercase hex digit in the id and flag positions is accepted");
    ok(parse_with(0, '1') && parse_with(1, '1') && parse_with(0, 'c'),
        "a higher version (10, 01, c0) is read as 00");
    ok(!parse_with(0, 'F') && !parse_with(1, 'A'), "an uppercase version digit is rejected");
}

#define FUTURE_IDS "-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-"

/* W3C Trace Context §3.2.4: a version above 00 is parsed as 00 where its
 * 55 bytes are, and may go on with "-" and fields we do not know. */
static void
test_future_version(void)
{
    pc_trace_parent_t tp;
    static const u_char trace[16] = { 0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                      0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36 };
    static const u_char parent[8] = { 0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7 };
    static const char  *good[] = {
        "01" FUTURE_IDS "01",
        "01" FUTURE_IDS "01-what-the-future-holds",
        "01" FUTURE_IDS "01-",
        "01" FUTURE_IDS "01-ANY Bytes ~!=,;",
        "cc" FUTURE_IDS "01-abc",
        "fe" FUTURE_IDS "00",
        "0f" FUTURE_IDS "ff-1-2-3",
        NULL
    };
    static const char *bad[] = {
        /* a 56th byte that does not start a field */
        "01" FUTURE_IDS "01x",
        "01" FUTURE_IDS "011",
        "01" FUTURE_IDS "01 ",
        "cc" FUTURE_IDS "01_abc",
        /* short */
        "01" FUTURE_IDS "0",
        "01" FUTURE_IDS,
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "01-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01-abcd",
        /* the same rules as 00 for what is read */
        "01-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01-abc",
        "01-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
        "01" FUTURE_IDS "0A",
        "01" FUTURE_IDS "0A-abc",
        "01-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
        /* the version: two lowercase hex digits and a dash */
        "0A" FUTURE_IDS "01",
        "C0" FUTURE_IDS "01-abc",
        "0g" FUTURE_IDS "01",
        " 1" FUTURE_IDS "01",
        "001" FUTURE_IDS "01",
        "1" FUTURE_IDS "01-abc",
        "-01" FUTURE_IDS "01",
        NULL
    };
    size_t i;

    for (i = 0; good[i] != NULL; i++)
        ok(parse(good[i]), "accepts \"%s\"", good[i]);
    for (i = 0; bad[i] != NULL; i++)
        ok(!parse(bad[i]), "rejects \"%s\"", bad[i]);

    memset(&tp, 0, sizeof(tp));
    ok(pc_trace_parent_parse((const u_char *) "01" FUTURE_IDS "01-abc", 59, &tp) == PC_OK,
        "01 with a new field parses");
    ok(memcmp(tp.trace_id, trace, 16) == 0, "01: trace-id decoded");
    ok(memcmp(tp.parent_id, parent, 8) == 0, "01: parent-id decoded");
    is_int(tp.flags, PC_TRACE_FLAG_SAMPLED, "01: sampled flag kept");

    /* only the sampled bit of a higher version's flags is known */
    ok(pc_trace_parent_parse((const u_char *) "01" FUTURE_IDS "ff", 55, &tp) == PC_OK
            && tp.flags == PC_TRACE_FLAG_SAMPLED,
        "01 flags ff: only the sampled bit kept");
    ok(pc_trace_parent_parse((const u_char *) "02" FUTURE_IDS "fe-x", 59, &tp) == PC_OK
            && tp.flags == 0,
        "02 flags fe: unknown bits dropped");
    ok(pc_trace_parent_parse((const u_char *) "00" FUTURE_IDS "ff", 55, &tp) == PC_OK
            && tp.flags == 0xff,
        "00 flags ff: kept as received");
}

/* Every prefix of a future-version header with a new field, fed one
 * byte longer each time: invalid below 55 bytes, valid from 55 on (the
 * 56th byte is the dash), whatever the new field holds. */
static void
test_future_prefixes(void)
{
    static const char full[] = "01" FUTURE_IDS "09-00-xyz";
    pc_trace_parent_t tp;
    size_t            n;
    int               each = 1;

    for (n = 0; n <= sizeof(full) - 1; n++) {
        int want = n >= PC_TRACE_PARENT_LEN;
        int got = pc_trace_parent_parse((const u_char *) full, n, &tp) == PC_OK;

        if (got != want || (got && tp.flags != PC_TRACE_FLAG_SAMPLED)) {
            diag("prefix of %zu bytes: got %d", n, got);
            each = 0;
        }
    }
    ok(each, "every prefix: invalid below 55 bytes, valid from 55 on, flags 09 -> 01");
}

static void
test_format(void)
{
    pc_trace_parent_t tp;
    u_char            out[PC_TRACE_PARENT_LEN + 1], *end;

    pc_trace_parent_parse((const u_char *) VALID, 55, &tp);
    end = pc_trace_parent_format(out, tp.trace_id, tp.parent_id, tp.flags);
    ok(end - out == PC_TRACE_PARENT_LEN, "formatted length 55");
    ok(memcmp(out, VALID, 55) == 0, "format(parse(x)) == x");
    end = pc_trace_hex(out, (const u_char *) "\x00\x0f\xa0\xff", 4);
    ok(end - out == 8 && memcmp(out, "000fa0ff", 8) == 0, "hex is lowercase");
    ok(pc_trace_all_zero((const u_char *) "\0\0\0", 3), "all zero");
    ok(!pc_trace_all_zero((const u_char *) "\0\0\1", 3), "not all zero");
    ok(pc_trace_all_zero(NULL, 0), "empty is all zero");
}

static int
rid(const char *s)
{
    return pc_trace_request_id_valid((const u_char *) s, strlen(s));
}

static void
test_request_id(void)
{
    char   buf[202];
    size_t i;
    int    each = 1;

    ok(rid("a"), "1 byte");
    ok(rid("f47ac10b-58cc-4372-a567-0e02b2c3d479"), "a UUID");
    ok(rid("!~abc{}[]\"\\"), "any visible ASCII");
    ok(!rid(""), "empty rejected");
    ok(!rid("a b"), "space rejected");
    ok(!rid("a\tb"), "tab rejected");
    ok(!pc_trace_request_id_valid((const u_char *) "a\0b", 3), "NUL rejected");
    ok(!rid("caf\xc3\xa9"), "non-ASCII rejected");
    ok(!rid("a\x7f"), "DEL rejected");
    ok(!rid("a\x1f"), "control rejected");
    memset(buf, 'x', sizeof(buf));
    ok(pc_trace_request_id_valid((u_char *) buf, 200), "200 bytes accepted");
    ok(!pc_trace_request_id_valid((u_char *) buf, 201), "201 bytes rejected");
    ok(!pc_trace_request_id_valid(NULL, 0), "NULL rejected");
    for (i = 0; i < 256; i++) {
        u_char c = (u_char) i;

        if (pc_trace_request_id_valid(&c, 1) != (i >= 0x21 && i <= 0x7e))
            each = 0;
    }
    ok(each, "every single byte: valid iff 0x21..0x7e");
}

int
main(void)
{
    test_valid();
    test_invalid();
    test_every_position();
    test_future_version();
    test_future_prefixes();
    test_format();
    test_request_id();
    return done_testing();
}
