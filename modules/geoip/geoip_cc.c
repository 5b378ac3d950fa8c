/*
 * geoip_cc.c -- country code sets (see geoip_cc.h).
 */
#include "geoip/geoip_cc.h"

static int
letter(u_char c)
{
    c = pc_toupper(c);
    return c >= 'A' && c <= 'Z' ? c - 'A' : -1;
}

/* Contract: see geoip_cc.h. */
int
pc_geoip_cc_index(const u_char *p, size_t len, bool allow_unknown)
{
    int a, b;

    if (allow_unknown && len == 7 && pc_strncasecmp(p, (const u_char *) "unknown", 7) == 0)
        return PC_GEOIP_CC_UNKNOWN;
    if (len != 2 || (a = letter(p[0])) < 0 || (b = letter(p[1])) < 0)
        return -1;
    return a * 26 + b;
}

/* Contract: see geoip_cc.h. */
pc_rc_t
pc_geoip_ccset_add(pc_geoip_ccset_t *set, const pc_str_t *code)
{
    int i = pc_geoip_cc_index(code->data, code->len, true);

    if (i < 0)
        return PC_ERROR;
    set->bits[i >> 3] |= (uint8_t) (1u << (i & 7));
    return PC_OK;
}
