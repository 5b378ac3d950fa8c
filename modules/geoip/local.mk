## modules/geoip/local.mk -- the geoip module (libmaxminddb):
## geoip_database, geoip_allow, geoip_deny, $geoip_*.  Included from
## Makefile.am (section 4).  Its integration test generates its database
## with t/assets/gen-mmdb.pl.

libportcullis_a_SOURCES += \
	modules/geoip/geoip.c \
	modules/geoip/geoip_conf.c \
	modules/geoip/geoip_cc.c

noinst_HEADERS += \
	modules/geoip/geoip.h \
	modules/geoip/geoip_cc.h

PC_UNIT_TESTS += \
	t/unit/modules/geoip/test_geoip_cc

t_unit_modules_geoip_test_geoip_cc_SOURCES = t/unit/modules/geoip/test_geoip_cc.c
t_unit_modules_geoip_test_geoip_cc_CPPFLAGS = $(PC_TEST_CPPFLAGS)
t_unit_modules_geoip_test_geoip_cc_LDADD = $(PC_TEST_LDADD)
