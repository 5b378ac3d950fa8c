/*
 * pc_http_conf.h -- private glue between the files of the http core module
 * (pc_http_conf.c, pc_http_server.c, pc_http_variables.c, pc_http_access.c,
 * pc_http_return.c).  Nothing outside src/http includes it; modules use
 * pc_http.h only.
 */
#ifndef PC_HTTP_CONF_H
#define PC_HTTP_CONF_H

#include "http/pc_http.h"

/*
 * The http core module's MAIN-scope conf: what the `http` block built.
 * Lives in the cycle pool; init_conf reads it through cycle->main_confs.
 */
typedef struct {
    void                **confs;      /* HTTP-scope conf of every module, or NULL */
    pc_array_t            servers;    /* pc_http_server_t *, config order         */
} pc_http_main_conf_t;

/* Hook order numbers of the core (lower runs first within a phase). */
#define PC_HTTP_ORDER_REALIP      10   /* before anything reads $remote_addr   */
#define PC_HTTP_ORDER_RETURN      10   /* CONTENT: first, so allow/deny and limits (ACCESS) apply to it; unlike nginx */
#define PC_HTTP_ORDER_ACCESS     100   /* before geoip (200) and limits (300)  */
#define PC_HTTP_FILTER_ADD_HEADER 200

/* Declared by the http runtime (pc_http_request.h); repeated here so this
 * module does not depend on that private header. */
void pc_http_init_connection(pc_conn_t *c);

/* pc_http_server.c: build s->exact/prefix/regex from s->locations (pool
 * owns the arrays).  PC_OK or PC_ERROR (ENOMEM). */
pc_rc_t pc_http_server_build_locations(pc_pool_t *pool, pc_http_server_t *s);

/* pc_http_server.c: build the name lookup tables of addr from its servers
 * (config order).  A name claimed by two servers keeps the first and logs
 * a warning naming addr_text.  Sets addr->default_server to the first
 * server when no listen said default_server.  PC_OK or PC_ERROR (ENOMEM). */
pc_rc_t pc_http_server_build_names(pc_pool_t *pool, pc_http_addr_conf_t *addr,
    const char *addr_text);

/* pc_http_variables.c: the SPEC §5 variables that need no proxy. */
extern const pc_http_variable_t pc_http_core_variables[];

/* pc_http_access.c */
pc_rc_t pc_http_realip_handler(pc_http_request_t *r);
pc_rc_t pc_http_access_handler(pc_http_request_t *r);

/* pc_http_return.c */
pc_rc_t pc_http_return_handler(pc_http_request_t *r);
pc_rc_t pc_http_add_header_filter(pc_http_request_t *r);

/* Text of an IPv4/IPv6 address without port into the pool (NUL-terminated).
 * PC_OK / PC_ERROR. */
pc_rc_t pc_http_addr_text(pc_pool_t *pool, const struct sockaddr *sa,
    pc_str_t *out);

#endif /* PC_HTTP_CONF_H */
