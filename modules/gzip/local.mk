## modules/gzip/local.mk -- the gzip module (zlib): a streaming deflate
## header + body filter.  Included from Makefile.am (section 4).

libportcullis_a_SOURCES += \
	modules/gzip/gzip.c \
	modules/gzip/gzip_conf.c \
	modules/gzip/gzip_headers.c \
	modules/gzip/gzip_stream.c

noinst_HEADERS += \
	modules/gzip/gzip.h \
	modules/gzip/gzip_headers.h \
	modules/gzip/gzip_stream.h

PC_UNIT_TESTS += \
	t/unit/modules/gzip/test_gzip_headers \
	t/unit/modules/gzip/test_gzip_stream

t_unit_modules_gzip_test_gzip_headers_SOURCES = t/unit/modules/gzip/test_gzip_headers.c
t_unit_modules_gzip_test_gzip_headers_CPPFLAGS = $(PC_TEST_CPPFLAGS)
t_unit_modules_gzip_test_gzip_headers_LDADD = $(PC_TEST_LDADD)

t_unit_modules_gzip_test_gzip_stream_SOURCES = t/unit/modules/gzip/test_gzip_stream.c
t_unit_modules_gzip_test_gzip_stream_CPPFLAGS = $(PC_TEST_CPPFLAGS)
t_unit_modules_gzip_test_gzip_stream_LDADD = $(PC_TEST_LDADD)

# Fuzzing (Makefile.am section 6): the body filter's engine and the
# header parsers, fed arbitrary bytes in arbitrary chunk splits.
PC_FUZZ_NAMES += gzip
PC_FUZZ_TARGETS += t/fuzz/fuzz_gzip
PC_FUZZ_REPLAYS += t/fuzz/fuzz_gzip_replay

t_fuzz_fuzz_gzip_SOURCES = t/fuzz/fuzz_gzip.c
t_fuzz_fuzz_gzip_LDADD = $(PC_FUZZ_LDADD)
t_fuzz_fuzz_gzip_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
t_fuzz_fuzz_gzip_replay_SOURCES = t/fuzz/fuzz_gzip.c t/fuzz/standalone.c
t_fuzz_fuzz_gzip_replay_LDADD = $(PC_FUZZ_LDADD)
