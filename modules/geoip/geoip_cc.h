/*
 * geoip_cc.h -- sets of ISO 3166-1 alpha-2 country codes for geoip_allow
 * and geoip_deny: a 677-bit map (26 * 26 codes + "unknown").  Pure.
 */
#ifndef PC_GEOIP_CC_H
#define PC_GEOIP_CC_H

#include "core/pc_core.h"

/* The index of "unknown": no database entry, or an entry without a
 * (valid) country code. */
#define PC_GEOIP_CC_UNKNOWN  (26 * 26)

typedef struct {
    uint8_t   bits[(PC_GEOIP_CC_UNKNOWN + 1 + 7) / 8];
} pc_geoip_ccset_t;

/* Index of a two-letter code (either case): 0 .. 675; "unknown" (only
 * when allow_unknown) gives PC_GEOIP_CC_UNKNOWN; anything else -1. */
int pc_geoip_cc_index(const u_char *p, size_t len, bool allow_unknown);

/* Add code (as accepted by pc_geoip_cc_index with allow_unknown) to set.
 * PC_OK, PC_ERROR when code is not a code. */
pc_rc_t pc_geoip_ccset_add(pc_geoip_ccset_t *set, const pc_str_t *code);

static inline bool
pc_geoip_ccset_has(const pc_geoip_ccset_t *set, int index)
{
    return index >= 0 && index <= PC_GEOIP_CC_UNKNOWN
           && (set->bits[index >> 3] & (1u << (index & 7))) != 0;
}

#endif /* PC_GEOIP_CC_H */
