## modules/trace/local.mk -- the trace module: W3C Trace Context
## (traceparent version 00, tracestate), X-Request-ID, trace,
## trace_sampled, trace_response_header, $trace_id $span_id $parent_id
## $request_id (doc/modules/trace.md).
##
## Included from Makefile.am section 4:
##   include $(srcdir)/modules/trace/local.mk
## Module symbol for modules/modules.c: pc_trace_module, BEFORE
## pc_http_log_module (its built-in json format names $request_id and
## $trace_id; variables are looked up when formats compile).
## Needs the proxy's pc_http_upstream_header_set (src/http/pc_http_proxy_head.c).

libportcullis_a_SOURCES += \
	modules/trace/trace.c \
	modules/trace/trace_conf.c \
	modules/trace/traceparent.c \
	modules/trace/idgen.c

noinst_HEADERS += \
	modules/trace/trace.h \
	modules/trace/traceparent.h \
	modules/trace/idgen.h

# Unit tests (TAP), added to check_PROGRAMS and TESTS directly (see
# modules/ratelimit/local.mk for why).
PC_TRACE_UNIT_TESTS = \
	t/unit/modules/trace/test_traceparent \
	t/unit/modules/trace/test_idgen

check_PROGRAMS += $(PC_TRACE_UNIT_TESTS)
TESTS += $(PC_TRACE_UNIT_TESTS)

t_unit_modules_trace_test_traceparent_SOURCES = t/unit/modules/trace/test_traceparent.c
t_unit_modules_trace_test_traceparent_CPPFLAGS = $(PC_TEST_CPPFLAGS)
t_unit_modules_trace_test_traceparent_LDADD = $(PC_TEST_LDADD)

t_unit_modules_trace_test_idgen_SOURCES = t/unit/modules/trace/test_idgen.c
t_unit_modules_trace_test_idgen_CPPFLAGS = $(PC_TEST_CPPFLAGS)
t_unit_modules_trace_test_idgen_LDADD = $(PC_TEST_LDADD)

# Fuzz target (Makefile.am section 6): the libFuzzer binary and its
# standalone replay.  The name "traceparent" must also be added to
# PC_FUZZ_NAMES, t/fuzz/fuzz_traceparent to PC_FUZZ_TARGETS and
# t/fuzz/fuzz_traceparent_replay to PC_FUZZ_REPLAYS there (those lists are
# assigned after this file is included, so they cannot be appended to here).
t_fuzz_fuzz_traceparent_SOURCES = t/fuzz/fuzz_traceparent.c
t_fuzz_fuzz_traceparent_LDADD = $(PC_FUZZ_LDADD)
t_fuzz_fuzz_traceparent_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
t_fuzz_fuzz_traceparent_replay_SOURCES = t/fuzz/fuzz_traceparent.c t/fuzz/standalone.c
t_fuzz_fuzz_traceparent_replay_LDADD = $(PC_FUZZ_LDADD)
