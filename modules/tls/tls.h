/*
 * tls.h -- private glue of the tls module (modules/tls/tls_conf.c for the
 * directives and the per-load build, modules/tls/tls.c for the runtime).
 * The TLS machinery itself is src/tls (pc_tls.h); this module ties it to
 * server blocks, listeners, requests and the proxy.
 */
#ifndef PC_MODULE_TLS_H
#define PC_MODULE_TLS_H

#include "http/pc_http.h"
#include "tls/pc_tls.h"

/* HTTP- and SERVER-scope conf (ssl_* are http/server directives, as in
 * nginx). */
typedef struct {
    pc_tls_settings_t    s;
    int                  client_cert_header;   /* on|off (-1 unset)     */
    pc_tls_ctx_t        *tc;                   /* SERVER scope, built   */
    unsigned             built:1;              /* checked for a context */
    unsigned             loaded:1;             /* pc_tls_ctx_build ran:
                                                  its files were read   */
} tls_conf_t;

/* What the module keeps per ssl listener.  SNI is looked up in the
 * address's own server_name tables (pc_http_find_server), as Host is. */
typedef struct {
    pc_listening_t      *ls;
    pc_tls_listener_t    tl;                   /* tl.data = this        */
    pc_http_addr_conf_t *addr;                 /* ls->data              */
} tls_listener_t;

typedef struct {
    pc_array_t           listeners;            /* tls_listener_t        */
    tls_conf_t          *http;                 /* the http block's conf */
} tls_main_conf_t;

extern pc_module_t pc_tls_module;

/* tls.c: runtime pieces referenced by the conf side. */
void pc_tls_module_accept(pc_conn_t *c);
pc_tls_ctx_t *pc_tls_module_select(const pc_tls_listener_t *tl, const u_char *name,
    size_t len);
pc_rc_t pc_tls_module_misdirected(pc_http_request_t *r);
extern const pc_http_variable_t pc_tls_module_variables[];

#define PC_TLS_ORDER_MISDIRECTED  5   /* POST_READ: before realip (10)  */

#endif /* PC_MODULE_TLS_H */
