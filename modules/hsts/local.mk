## modules/hsts/local.mk -- Strict-Transport-Security on TLS responses and
## the plain-HTTP -> https redirect (doc/modules/hsts.md).
##
## Included from Makefile.am section 4:
##   include $(srcdir)/modules/hsts/local.mk
## Module symbol for modules/modules.c: pc_hsts_module (anywhere after
## pc_http_core_module).

libportcullis_a_SOURCES += \
	modules/hsts/hsts.c \
	modules/hsts/hsts_conf.c

noinst_HEADERS += \
	modules/hsts/hsts.h
