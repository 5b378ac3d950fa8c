## modules/regex/local.mk -- the regex module (PCRE2): location ~ / ~*,
## server_name ~, map, rewrite.  Included from Makefile.am (section 4).

libportcullis_a_SOURCES += \
	modules/regex/regex.c \
	modules/regex/regex_conf.c \
	modules/regex/regex_pcre.c \
	modules/regex/rewrite.c

noinst_HEADERS += \
	modules/regex/regex.h \
	modules/regex/regex_pcre.h \
	modules/regex/rewrite.h

PC_UNIT_TESTS += \
	t/unit/modules/regex/test_regex_pcre \
	t/unit/modules/regex/test_rewrite

t_unit_modules_regex_test_regex_pcre_SOURCES = t/unit/modules/regex/test_regex_pcre.c
t_unit_modules_regex_test_regex_pcre_CPPFLAGS = $(PC_TEST_CPPFLAGS)
t_unit_modules_regex_test_regex_pcre_LDADD = $(PC_TEST_LDADD)

t_unit_modules_regex_test_rewrite_SOURCES = t/unit/modules/regex/test_rewrite.c
t_unit_modules_regex_test_rewrite_CPPFLAGS = $(PC_TEST_CPPFLAGS)
t_unit_modules_regex_test_rewrite_LDADD = $(PC_TEST_LDADD)
