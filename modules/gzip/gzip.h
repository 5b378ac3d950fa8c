/*
 * gzip.h -- private glue of the gzip module: gzip_conf.c (directives) and
 * gzip.c (the header and body filters).
 */
#ifndef PC_GZIP_H
#define PC_GZIP_H

#include "http/pc_http.h"
#include "gzip/gzip_headers.h"
#include "gzip/gzip_stream.h"

extern pc_module_t pc_gzip_module;

/* Longest media type gzip_types accepts (and compares). */
#define PC_GZIP_TYPE_MAX  127

enum { PC_GZIP_PROXIED_OFF = 0, PC_GZIP_PROXIED_ANY = 1 };

/* One struct at HTTP, SERVER and LOCATION scope, merged downwards. */
typedef struct {
    int              enable;        /* gzip on|off                        */
    int              vary;          /* gzip_vary on|off                   */
    pc_array_t      *types;         /* pc_str_t, lowercased; NULL: unset  */
    int              types_any;     /* gzip_types *; -1 unset             */
    size_t           min_length;
    intptr_t         comp_level;
    intptr_t         proxied;       /* PC_GZIP_PROXIED_*                  */
} pc_gzip_conf_t;

/* gzip.c */
pc_rc_t pc_gzip_header_filter(pc_http_request_t *r);
pc_rc_t pc_gzip_body_filter(pc_http_request_t *r, pc_chain_t **chain, int last);
void pc_gzip_exit_worker(pc_worker_t *wk);

#endif /* PC_GZIP_H */
