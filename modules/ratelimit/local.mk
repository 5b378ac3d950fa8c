## modules/ratelimit/local.mk -- the ratelimit module: limit_req_zone,
## limit_req, limit_req_status, limit_req_dry_run, limit_req_headers,
## limit_conn_zone, limit_conn, limit_conn_status, $limit_req_status and
## $limit_conn_status (doc/modules/ratelimit.md).
##
## Included from Makefile.am with the modules that append unit tests and
## fuzz targets (after section 6):
##   include $(srcdir)/modules/ratelimit/local.mk
## Module symbol for modules/modules.c: pc_ratelimit_module, BEFORE
## pc_http_log_module (whose json format names $limit_req_status).
## Needs src/core/pc_metrics.c (the metrics registry) in libportcullis.a:
## ratelimit_stats.c declares the ratelimit_* metric families there.

libportcullis_a_SOURCES += \
	modules/ratelimit/ratelimit.c \
	modules/ratelimit/ratelimit_conf.c \
	modules/ratelimit/ratelimit_zone.c \
	modules/ratelimit/ratelimit_stats.c \
	modules/ratelimit/gcra.c

noinst_HEADERS += \
	modules/ratelimit/ratelimit.h \
	modules/ratelimit/ratelimit_zone.h \
	modules/ratelimit/ratelimit_stats.h \
	modules/ratelimit/gcra.h

# Unit tests (TAP).  Added to check_PROGRAMS and TESTS directly, which
# Makefile.am section 1 initialises, so this part works wherever the file
# is included (PC_UNIT_TESTS is only assigned in section 5).
# test_ratelimit_zone includes ratelimit_zone.c itself (its crash test
# takes a stripe lock directly), so the archive's copy is never pulled
# into it; it also prints the micro-benchmark (10^6 decisions over 10^5
# keys) as "# bench:" lines.
PC_RATELIMIT_UNIT_TESTS = \
	t/unit/modules/ratelimit/test_gcra \
	t/unit/modules/ratelimit/test_ratelimit_zone

check_PROGRAMS += $(PC_RATELIMIT_UNIT_TESTS)
TESTS += $(PC_RATELIMIT_UNIT_TESTS)

t_unit_modules_ratelimit_test_gcra_SOURCES = t/unit/modules/ratelimit/test_gcra.c
t_unit_modules_ratelimit_test_gcra_CPPFLAGS = $(PC_TEST_CPPFLAGS)
t_unit_modules_ratelimit_test_gcra_LDADD = $(PC_TEST_LDADD)

t_unit_modules_ratelimit_test_ratelimit_zone_SOURCES = \
	t/unit/modules/ratelimit/test_ratelimit_zone.c
t_unit_modules_ratelimit_test_ratelimit_zone_CPPFLAGS = $(PC_TEST_CPPFLAGS)
t_unit_modules_ratelimit_test_ratelimit_zone_LDADD = $(PC_TEST_LDADD)

# Fuzzing (Makefile.am section 6): the rate parser, GCRA under adversarial
# parameters, and the shared table driven by arbitrary operation sequences
# against a model (corpus: t/fuzz/corpus/ratelimit/).  These appends need
# the file to be included after section 6 assigns the lists.
PC_FUZZ_NAMES += ratelimit
PC_FUZZ_TARGETS += t/fuzz/fuzz_ratelimit
PC_FUZZ_REPLAYS += t/fuzz/fuzz_ratelimit_replay

t_fuzz_fuzz_ratelimit_SOURCES = t/fuzz/fuzz_ratelimit.c
t_fuzz_fuzz_ratelimit_LDADD = $(PC_FUZZ_LDADD)
t_fuzz_fuzz_ratelimit_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
t_fuzz_fuzz_ratelimit_replay_SOURCES = t/fuzz/fuzz_ratelimit.c t/fuzz/standalone.c
t_fuzz_fuzz_ratelimit_replay_LDADD = $(PC_FUZZ_LDADD)
