/*
 * pc_http_proxy.h -- the reverse-proxy module ("proxy"): proxy_pass and the
 * proxy_* directives, upstream { } blocks, the CONTENT handler and the
 * $upstream_* variables.
 *
 * Files: pc_http_proxy_conf.c (directives, upstream blocks, resolution),
 * pc_http_proxy.c (the request's upstream side: connect, send, receive,
 * stream, retry), pc_http_proxy_msg.c (pure response framing and header
 * filtering), pc_http_upstream.c (per-worker peers state and keep-alive
 * pool), pc_http_balancer.c (pure selection algorithms).
 */
#ifndef PC_HTTP_PROXY_H
#define PC_HTTP_PROXY_H

#include "http/pc_http.h"
#include "http/pc_http_upstream.h"

extern pc_module_t pc_http_proxy_module;

/* proxy_next_upstream conditions (bit mask) */
#define PC_HTTP_NEXT_ERROR     0x01
#define PC_HTTP_NEXT_TIMEOUT   0x02
#define PC_HTTP_NEXT_502       0x04
#define PC_HTTP_NEXT_503       0x08
#define PC_HTTP_NEXT_504       0x10
#define PC_HTTP_NEXT_OFF       0x80   /* explicitly off                  */

/* Defaults (doc/directives/proxy_*.md) */
#define PC_HTTP_PROXY_TIMEOUT       60000
#define PC_HTTP_PROXY_BUFFER_SIZE   16384
#define PC_HTTP_PROXY_MAX_TRIES     16     /* attempts recorded per request */

/* One proxy_set_header. */
typedef struct {
    pc_str_t              name;
    pc_http_template_t   *value;     /* NULL: the header is removed        */
} pc_http_proxy_header_t;

/* The proxy module's conf at HTTP, SERVER and LOCATION scope. */
typedef struct {
    /* proxy_pass: this location only, never inherited */
    pc_str_t              pass;          /* URL as written; data NULL: none   */
    const pc_conf_node_t *pass_node;
    pc_http_upstream_t   *upstream;      /* resolved by init_conf             */
    pc_str_t              pass_uri;      /* the URI part ("/v2/")             */
    unsigned              pass_has_uri:1;
    pc_http_core_conf_t  *core;          /* the location's core conf          */

    pc_array_t           *set_headers;   /* pc_http_proxy_header_t; own or inherited */
    pc_array_t           *hide_headers;  /* pc_str_t; own or inherited          */
    pc_array_t           *ssl_names;     /* pc_str_t: every name a proxy_set_header
                                          * here or above fills from $ssl_client_*,
                                          * even from a list this one replaced */
    pc_msec_t             connect_timeout;
    pc_msec_t             read_timeout;
    pc_msec_t             send_timeout;
    intptr_t              next_upstream;      /* PC_HTTP_NEXT_* mask        */
    intptr_t              next_upstream_tries; /* 0: as many as peers       */
    size_t                buffer_size;
    int                   upgrade;
    int                   underscores;        /* forward names with '_'     */
    pc_str_t              timeout_header;     /* "" (data set): off         */
    pc_msec_t             timeout_header_max; /* 0: no cap                  */
} pc_http_proxy_loc_conf_t;

/* The proxy module's MAIN-scope conf: what init_conf resolves. */
typedef struct {
    pc_array_t            upstreams;     /* pc_http_upstream_t *, index order */
    pc_array_t            passes;        /* pc_http_proxy_loc_conf_t *        */
} pc_http_proxy_main_conf_t;

/* pc_http_proxy_head.c: whether m may be sent twice (RFC 9110 §9.2.2). */
bool pc_http_proxy_idempotent(pc_http_method_e m);

/* pc_http_proxy_head.c: the deadline (monotonic ms) the client asked for
 * with proxy_request_timeout_header (capped at max=), 0 for none. */
pc_msec_t pc_http_proxy_deadline(pc_http_request_t *r,
    const pc_http_proxy_loc_conf_t *plcf);

/*
 * pc_http_proxy_head.c: serialise the request head for an upstream into
 * r->pool (see the file's comment for what is kept, dropped and added).
 * deadline > 0 sends the remaining budget in the timeout header; upgrade
 * forwards the client's Upgrade with Connection: upgrade.  PC_OK,
 * PC_DECLINED when a proxy_set_header value would carry CR, LF or NUL
 * (from the client's input: the request cannot be forwarded), PC_ERROR.
 */
/* pc_http_proxy_head.c: whether the client's Upgrade offers h2c (never
 * tunnelled: see the top of pc_http_proxy_head.c). */
bool pc_http_proxy_upgrade_h2c(const pc_http_request_t *r);

pc_rc_t pc_http_proxy_build_head(pc_http_request_t *r,
    const pc_http_proxy_loc_conf_t *plcf, const pc_http_upstream_t *u,
    pc_msec_t deadline, int upgrade, pc_str_t *out);

/* pc_http_proxy.c: the CONTENT handler (declines without proxy_pass). */
pc_rc_t pc_http_proxy_handler(pc_http_request_t *r);

/* pc_http_proxy.c: $upstream_* */
extern const pc_http_variable_t pc_http_proxy_variables[];

#endif /* PC_HTTP_PROXY_H */
