/*
 * fuzz_traceparent.c -- libFuzzer target for modules/trace/traceparent.c:
 * pc_trace_parent_parse and pc_trace_request_id_valid over any bytes.
 *
 * Invariants: a header that parses is exactly what pc_trace_parent_format
 * rebuilds from the decoded fields (so what we forward is what we accepted,
 * byte for byte), its ids are not all zeros, and it is 55 bytes of
 * lowercase hex and dashes starting "00-"; a value is a valid X-Request-ID
 * iff it has 1..200 bytes all in 0x21..0x7e (checked against a direct
 * restatement of the rule).
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pc_trace_parent_t tp;
    u_char            out[PC_TRACE_PARENT_LEN];
    size_t            i;

    if (pc_trace_parent_parse(data, size, &tp) == PC_OK) {
        CHECK(size == PC_TRACE_PARENT_LEN);
        CHECK(pc_trace_parent_format(out, tp.trace_id, tp.parent_id, tp.flags)
              == out + PC_TRACE_PARENT_LEN);
        CHECK(memcmp(out, data, PC_TRACE_PARENT_LEN) == 0);
        CHECK(!pc_trace_all_zero(tp.trace_id, sizeof(tp.trace_id)));
        CHECK(!pc_trace_all_zero(tp.parent_id, sizeof(tp.parent_id)));
        CHECK(data[0] == '0' && data[1] == '0');
        for (i = 0; i < size; i++) {
            CHECK((data[i] >= '0' && data[i] <= '9') || (data[i] >= 'a' && data[i] <= 'f')
                  || (data[i] == '-' && (i == 2 || i == 35 || i == 52)));
        }
    }
    CHECK(pc_trace_request_id_valid(data, size) == (request_id_ref(data, size) != 0));
    return 0;
}
