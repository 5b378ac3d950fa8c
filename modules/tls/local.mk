## modules/tls/local.mk -- TLS termination with client-certificate
## verification (doc/modules/tls.md): src/tls (SSL_CTX building, SNI,
## the handshake as an I/O layer, verification, shared session cache,
## expiry) and
## the "tls" module (ssl_* directives, $ssl_* variables, 421 check,
## RFC 9440 headers).
##
## Included from Makefile.am section 4:
##   include $(srcdir)/modules/tls/local.mk
## Module symbol for modules/modules.c: pc_tls_module, AFTER
## pc_http_core_module (its init_conf needs the default servers http's
## init_conf sets) and BEFORE pc_http_log_module (whose json format names
## $ssl_protocol, $ssl_client_s_dn, $ssl_client_verify).

libportcullis_a_SOURCES += \
	src/tls/pc_tls_cache.c \
	src/tls/pc_tls_ctx.c \
	src/tls/pc_tls_io.c \
	src/tls/pc_tls_info.c \
	src/tls/pc_tls_verify.c \
	modules/tls/tls.c \
	modules/tls/tls_conf.c

noinst_HEADERS += \
	src/tls/pc_tls.h \
	src/tls/pc_tls_int.h \
	modules/tls/tls.h

# Unit tests (TAP), added to check_PROGRAMS and TESTS directly (see
# modules/ratelimit/local.mk for why).
PC_TLS_UNIT_TESTS = t/unit/tls/test_pc_tls_info

check_PROGRAMS += $(PC_TLS_UNIT_TESTS)
TESTS += $(PC_TLS_UNIT_TESTS)

t_unit_tls_test_pc_tls_info_SOURCES = t/unit/tls/test_pc_tls_info.c
t_unit_tls_test_pc_tls_info_CPPFLAGS = $(PC_TEST_CPPFLAGS)
t_unit_tls_test_pc_tls_info_LDADD = $(PC_TEST_LDADD)

# Not part of the default checks: testssl.sh against the default TLS
# settings (Debian package testssl.sh); fails on any protocol below TLS 1.2
# or any weak cipher.
.PHONY: check-testssl
check-testssl: src/portcullis
	PORTCULLIS_BIN=$(abs_top_builddir)/src/portcullis \
	    $(SHELL) $(top_srcdir)/t/testssl.sh-run

EXTRA_DIST += t/testssl.sh-run t/assets/gen-certs.sh

# Fuzz target (Makefile.am section 6): pc_tls_dn_text over any DER Name
# (client certificate subjects and issuers).  The name "tls_dn" must also be
# added to PC_FUZZ_NAMES, t/fuzz/fuzz_tls_dn to PC_FUZZ_TARGETS and
# t/fuzz/fuzz_tls_dn_replay to PC_FUZZ_REPLAYS there (those lists are
# assigned after this file is included).
t_fuzz_fuzz_tls_dn_SOURCES = t/fuzz/fuzz_tls_dn.c
t_fuzz_fuzz_tls_dn_LDADD = $(PC_FUZZ_LDADD)
t_fuzz_fuzz_tls_dn_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
t_fuzz_fuzz_tls_dn_replay_SOURCES = t/fuzz/fuzz_tls_dn.c t/fuzz/standalone.c
t_fuzz_fuzz_tls_dn_replay_LDADD = $(PC_FUZZ_LDADD)

# Fuzz target: pc_tls_sni_parse over any server_name extension body (the
# ClientHello callback's own parser).  Listed in Makefile.am like tls_dn.
t_fuzz_fuzz_tls_sni_SOURCES = t/fuzz/fuzz_tls_sni.c
t_fuzz_fuzz_tls_sni_LDADD = $(PC_FUZZ_LDADD)
t_fuzz_fuzz_tls_sni_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
t_fuzz_fuzz_tls_sni_replay_SOURCES = t/fuzz/fuzz_tls_sni.c t/fuzz/standalone.c
t_fuzz_fuzz_tls_sni_replay_LDADD = $(PC_FUZZ_LDADD)
