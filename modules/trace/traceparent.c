/*
 * traceparent.c -- see traceparent.h.
 *
 * Why so strict: an invalid traceparent must never be forwarded (the issue
 * and W3C §3.2.2: "if the vendor failed to parse traceparent, it MUST NOT
 * attempt to parse tracestate"), and the cheapest way to be sure that what
 * we forward is well-formed is to accept one exact shape -- the 55 bytes
 * of version 00, which a higher version must start with -- and rebuild the
 * header ourselves, as version 00, from the decoded bytes.
 */
#include "core/pc_core.h"
#include "trace/traceparent.h"

/* Value of a lowercase hex digit, -1 for anything else (uppercase too:
 * W3C §3.2.2.1 says lowercase only). */
static int
lhex(u_char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode 2n lowercase hex digits at p into out[0 .. n).  PC_OK/PC_DECLINED. */
static pc_rc_t
unhex(const u_char *p, u_char *out, size_t n)
{
    size_t i;
    int    hi, lo;

    for (i = 0; i < n; i++) {
        hi = lhex(p[2 * i]);
        lo = lhex(p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return PC_DECLINED;
        out[i] = (u_char) (hi << 4 | lo);
    }
    return PC_OK;
}

/* Contract: see traceparent.h. */
bool
pc_trace_all_zero(const u_char *p, size_t n)
{
    u_char acc = 0;
    size_t i;

    for (i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/*
 * The version: two lowercase hex digits, not "ff", then a dash.  How many
 * bytes may follow the 55 we read depends on it (W3C Trace Context Level 1,
 * §3.2.4 "Versioning of traceparent"):
 *   - 00, the version we implement: exactly 55 bytes, nothing after the
 *     flags (§3.2.2);
 *   - a higher one: "the implementation SHOULD try to parse it" as 00 --
 *     at least 55 bytes, and the two flag characters "are either the end of
 *     the string or a dash"; what follows that dash belongs to a version
 *     we do not know and is ignored, never forwarded.
 * -1 (invalid) or the version.
 */
static int
version_check(const u_char *p, size_t len)
{
    int hi, lo, v;

    if (len < PC_TRACE_PARENT_LEN)
        return -1;
    hi = lhex(p[0]);
    lo = lhex(p[1]);
    if (hi < 0 || lo < 0 || p[2] != '-')
        return -1;
    v = hi << 4 | lo;
    if (v == PC_TRACE_VERSION_INVALID)
        return -1;
    if (v == PC_TRACE_VERSION ? len != PC_TRACE_PARENT_LEN
                              : len > PC_TRACE_PARENT_LEN && p[PC_TRACE_PARENT_LEN] != '-')
        return -1;
    return v;
}

/* Contract: see traceparent.h. */
pc_rc_t
pc_trace_parent_parse(const u_char *p, size_t len, pc_trace_parent_t *out)
{
    int version;

    /* 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01[-future]
     * 0  3                                36               53 55 */
    if (p == NULL || (version = version_check(p, len)) < 0)
        return PC_DECLINED;
    if (p[35] != '-' || p[52] != '-')
        return PC_DECLINED;
    if (unhex(p + 3, out->trace_id, PC_TRACE_ID_BYTES) != PC_OK
        || unhex(p + 36, out->parent_id, PC_TRACE_SPAN_BYTES) != PC_OK
        || unhex(p + 53, &out->flags, 1) != PC_OK)
        return PC_DECLINED;
    if (pc_trace_all_zero(out->trace_id, PC_TRACE_ID_BYTES)
        || pc_trace_all_zero(out->parent_id, PC_TRACE_SPAN_BYTES))
        return PC_DECLINED;
    /* We forward version 00 whatever came in, so a higher version's flags
     * keep only the bit 00 defines: §3.2.4 has us "parse the sampled bit
     * of flags", and §3.2.2.5 has 00 senders set the other bits to zero.
     * A 00 header's flags are kept as received. */
    if (version != PC_TRACE_VERSION)
        out->flags &= PC_TRACE_FLAG_SAMPLED;
    return PC_OK;
}

/* "000102...ff": two digits per byte value, so a byte is one 2-byte copy
 * (ids are formatted on every traced request). */
static const char hexpairs[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

/* Contract: see traceparent.h. */
u_char *
pc_trace_hex(u_char *out, const u_char *in, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++, out += 2)
        memcpy(out, hexpairs + 2 * in[i], 2);
    return out;
}

/* Contract: see traceparent.h. */
u_char *
pc_trace_parent_format(u_char *out, const u_char *trace_id, const u_char *span_id,
    u_char flags)
{
    *out++ = '0';
    *out++ = '0';
    *out++ = '-';
    out = pc_trace_hex(out, trace_id, PC_TRACE_ID_BYTES);
    *out++ = '-';
    out = pc_trace_hex(out, span_id, PC_TRACE_SPAN_BYTES);
    *out++ = '-';
    return pc_trace_hex(out, &flags, 1);
}

/* Contract: see traceparent.h. */
bool
pc_trace_request_id_valid(const u_char *p, size_t len)
{
    size_t i;

    if (p == NULL || len == 0 || len > PC_TRACE_REQUEST_ID_MAX)
        return false;
    for (i = 0; i < len; i++) {
        if (p[i] < 0x21 || p[i] > 0x7e)
            return false;
    }
    return true;
}
