/*
 * fuzz_traceparent.c -- libFuzzer target for modules/trace/traceparent.c:
 * pc_trace_parent_parse and pc_trace_request_id_valid over any bytes.
 *
 * Invariants: a header that parses has at least 55 bytes, its ids are not
 * all zeros, and pc_trace_parent_format rebuilds its first 55 bytes from
 * the decoded fields, but as version 00: a version-00 header is exactly
 * that (so what we forward is what we accepted, byte for byte); a higher
 * version (never "ff") differs only in the version and in flags reduced
 * to the sampled bit, and is 55 bytes or followed by a dash.  A value is a
 * valid X-Request-ID iff it has 1..200 bytes all in 0x21..0x7e (checked
 * against a direct restatement of the rule).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pc_types.h"
#include "trace/traceparent.h"

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
request_id_ref(const uint8_t *p, size_t n)
{
    size_t i;

    if (n < 1 || n > 200)
        return 0;
    for (i = 0; i < n; i++) {
        if (p[i] <= 0x20 || p[i] >= 0x7f)
            return 0;
    }
    return 1;
}

static int
lhex_ref(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* What a header that parsed must look like (see the invariants above). */
static void
check_parsed(const uint8_t *data, size_t size, const pc_trace_parent_t *tp)
{
    u_char out[PC_TRACE_PARENT_LEN];
    int    v00 = data[0] == '0' && data[1] == '0';
    size_t i;

    CHECK(size == PC_TRACE_PARENT_LEN
          || (!v00 && size > PC_TRACE_PARENT_LEN && data[PC_TRACE_PARENT_LEN] == '-'));
    CHECK(pc_trace_parent_format(out, tp->trace_id, tp->parent_id, tp->flags)
          == out + PC_TRACE_PARENT_LEN);
    CHECK(memcmp(out + 2, data + 2, PC_TRACE_PARENT_LEN - 4) == 0);
    CHECK(out[0] == '0' && out[1] == '0');
    if (v00) {
        CHECK(memcmp(out, data, PC_TRACE_PARENT_LEN) == 0);
    } else {
        CHECK(!(data[0] == 'f' && data[1] == 'f'));
        CHECK((tp->flags & ~PC_TRACE_FLAG_SAMPLED) == 0);
        CHECK(out[53] == '0' && lhex_ref(data[53]) && lhex_ref(data[54]));
        CHECK(out[54] - '0' == ((data[54] <= '9' ? data[54] - '0' : data[54] - 'a' + 10) & 1));
    }
    CHECK(!pc_trace_all_zero(tp->trace_id, sizeof(tp->trace_id)));
    CHECK(!pc_trace_all_zero(tp->parent_id, sizeof(tp->parent_id)));
    for (i = 0; i < PC_TRACE_PARENT_LEN; i++) {
        CHECK(lhex_ref(data[i]) || (data[i] == '-' && (i == 2 || i == 35 || i == 52)));
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pc_trace_parent_t tp;

    if (pc_trace_parent_parse(data, size, &tp) == PC_OK)
        check_parsed(data, size, &tp);
    CHECK(pc_trace_request_id_valid(data, size) == (request_id_ref(data, size) != 0));
    return 0;
}
