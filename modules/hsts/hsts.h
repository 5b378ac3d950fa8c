/*
 * hsts.h -- private glue of the hsts module (hsts_conf.c: directives;
 * hsts.c: the header filter and the https_redirect hook).
 */
#ifndef PC_MODULE_HSTS_H
#define PC_MODULE_HSTS_H

#include "http/pc_http.h"

#define HSTS_UNSET   (-1)
#define HSTS_OFF     (-2)

/* One struct at HTTP, SERVER and LOCATION scope, merged downwards. */
typedef struct {
    int64_t     max_age;        /* seconds; HSTS_UNSET / HSTS_OFF          */
    pc_str_t    value;          /* "max-age=N[; includeSubDomains][; preload]" */
    int         override;       /* replace an upstream's own header        */
    int         redirect;       /* https_redirect: -1 unset, 0 off, 1 on   */
    intptr_t    redirect_port;  /* 443: no ":port" in the URL              */
} hsts_conf_t;

extern pc_module_t pc_hsts_module;

/* hsts.c */
pc_rc_t pc_hsts_header_filter(pc_http_request_t *r);
pc_rc_t pc_hsts_redirect_handler(pc_http_request_t *r);

#define PC_HSTS_ORDER_REDIRECT   1    /* REWRITE: before anything else      */
#define PC_HSTS_FILTER_ORDER   250    /* after add_header (200)             */

#endif /* PC_MODULE_HSTS_H */
