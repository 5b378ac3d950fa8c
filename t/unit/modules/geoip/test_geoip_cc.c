/*
 * test_geoip_cc.c -- modules/geoip/geoip_cc.c: country code indexes and
 * sets, at the boundaries (A/Z, case, length, "unknown").
 */
#include "test.h"
#include "geoip/geoip_cc.h"

static int
idx(const char *s, bool unknown)
{
    return pc_geoip_cc_index((const u_char *) s, strlen(s), unknown);
}

static void
test_index(void)
{
    is_int(idx("AA", false), 0, "AA is 0");
    is_int(idx("AZ", false), 25, "AZ");
    is_int(idx("BA", false), 26, "BA");
    is_int(idx("ZZ", false), 26 * 26 - 1, "ZZ is the last code");
    is_int(idx("de", false), idx("DE", false), "lowercase = uppercase");
    is_int(idx("dE", false), idx("DE", false), "mixed case");
    is_int(idx("D", false), -1, "one letter");
    is_int(idx("DEU", false), -1, "three letters");
    is_int(idx("", false), -1, "empty");
    is_int(idx("D1", false), -1, "digit");
    is_int(idx("@A", false), -1, "byte before A");
    is_int(idx("A[", false), -1, "byte after Z");
    is_int(idx("a{", false), -1, "byte after z");
    is_int(pc_geoip_cc_index((const u_char *) "D\0", 2, false), -1, "NUL");
    is_int(idx("unknown", true), PC_GEOIP_CC_UNKNOWN, "unknown when allowed");
    is_int(idx("UNKNOWN", true), PC_GEOIP_CC_UNKNOWN, "UNKNOWN");
    is_int(idx("unknown", false), -1, "unknown not allowed (database values)");
    is_int(idx("unknow", true), -1, "unknow");
}

static void
test_set(void)
{
    pc_geoip_ccset_t set;
    pc_str_t s;

    memset(&set, 0, sizeof(set));
    pc_str_set(&s, "DE");
    is_int(pc_geoip_ccset_add(&set, &s), PC_OK, "add DE");
    pc_str_set(&s, "zz");
    is_int(pc_geoip_ccset_add(&set, &s), PC_OK, "add zz");
    pc_str_set(&s, "unknown");
    is_int(pc_geoip_ccset_add(&set, &s), PC_OK, "add unknown");
    pc_str_set(&s, "XYZ");
    is_int(pc_geoip_ccset_add(&set, &s), PC_ERROR, "XYZ rejected");
    pc_str_set(&s, "");
    is_int(pc_geoip_ccset_add(&set, &s), PC_ERROR, "empty rejected");
    ok(pc_geoip_ccset_has(&set, idx("DE", false)), "has DE");
    ok(pc_geoip_ccset_has(&set, idx("ZZ", false)), "has ZZ");
    ok(pc_geoip_ccset_has(&set, PC_GEOIP_CC_UNKNOWN), "has unknown");
    ok(!pc_geoip_ccset_has(&set, idx("FR", false)), "not FR");
    ok(!pc_geoip_ccset_has(&set, idx("AA", false)), "not AA");
    ok(!pc_geoip_ccset_has(&set, -1), "-1 is never in a set");
    ok(!pc_geoip_ccset_has(&set, PC_GEOIP_CC_UNKNOWN + 1), "past the end is never in a set");
}

int
main(void)
{
    test_index();
    test_set();
    return done_testing();
}
