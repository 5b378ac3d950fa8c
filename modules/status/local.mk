## modules/status/local.mk -- the status module: metrics (Prometheus text
## format 0.0.4, SPEC §7), health, ready, auth_token (doc/modules/status.md).
##
## Included from Makefile.am section 4:
##   include $(srcdir)/modules/status/local.mk
## Module symbol for modules/modules.c: pc_status_module, AFTER
## pc_http_core_module and pc_http_proxy_module (its init_conf reads their
## servers and upstreams).  Any position relative to pc_http_log_module.
## Needs src/core/pc_metrics.c (the metrics registry, listed in Makefile.am
## section 2 with the core) and links OpenSSL (SHA256, CRYPTO_memcmp).

libportcullis_a_SOURCES += \
	modules/status/status.c \
	modules/status/status_conf.c \
	modules/status/metrics.c

noinst_HEADERS += \
	modules/status/status.h \
	modules/status/metrics.h

# Unit tests (TAP), added to check_PROGRAMS and TESTS directly (see
# modules/ratelimit/local.mk for why).
PC_STATUS_UNIT_TESTS = t/unit/modules/status/test_metrics

check_PROGRAMS += $(PC_STATUS_UNIT_TESTS)
TESTS += $(PC_STATUS_UNIT_TESTS)

t_unit_modules_status_test_metrics_SOURCES = t/unit/modules/status/test_metrics.c
t_unit_modules_status_test_metrics_CPPFLAGS = $(PC_TEST_CPPFLAGS)
t_unit_modules_status_test_metrics_LDADD = $(PC_TEST_LDADD)
