/*
 * trace.h -- private to the trace module (trace.c runtime, trace_conf.c
 * directives).  Nothing else includes it.
 */
#ifndef PC_TRACE_H
#define PC_TRACE_H

#include "http/pc_http.h"
#include "trace/traceparent.h"

#define PC_TRACE_ORDER_POST_READ  20    /* after real_ip (10)             */
#define PC_TRACE_FILTER_ORDER     300   /* after add_header (200)          */
#define PC_TRACE_REQUEST_ID_HEX   32    /* generated X-Request-ID: 32 hex  */

/* One struct at HTTP, SERVER and LOCATION scope, merged downwards; int
 * flags are -1 while unset (pc_conf_set_flag). */
typedef struct {
    int     trace;              /* trace on|off (http, server)            */
    int     sampled;            /* trace_sampled on|off (http, server)    */
    int     response_header;    /* trace_response_header (http..location) */
} pc_trace_conf_t;

/* The ids of one request (r->pool).  Text forms are kept ready because
 * variables are evaluated once per use (no variable cache). */
typedef struct {
    u_char      trace_id[PC_TRACE_ID_BYTES];
    u_char      span_id[PC_TRACE_SPAN_BYTES];
    u_char      parent_id[PC_TRACE_SPAN_BYTES];
    u_char      flags;
    unsigned    traced:1;       /* trace on for this request: ids valid   */
    unsigned    has_parent:1;   /* a valid traceparent came in            */
    unsigned    id_generated:1; /* request_id is ours, not the client's   */
    u_char      trace_hex[2 * PC_TRACE_ID_BYTES];
    u_char      span_hex[2 * PC_TRACE_SPAN_BYTES];
    u_char      parent_hex[2 * PC_TRACE_SPAN_BYTES];
    u_char      traceparent[PC_TRACE_PARENT_LEN];   /* what goes upstream */
    pc_str_t    request_id;     /* kept from the client, or generated     */
    u_char      request_id_buf[PC_TRACE_REQUEST_ID_HEX];
} pc_trace_ctx_t;

extern pc_module_t pc_trace_module;

/* trace_conf.c: the directive table, create/merge. */
extern const pc_directive_t pc_trace_directives[];
void    *pc_trace_create_conf(pc_conf_t *cf, pc_scope_e scope);
pc_rc_t  pc_trace_merge_conf(pc_conf_t *cf, void *parent, void *child);

/* trace.c: POST_READ hook, header filter, variables, worker start. */
extern const pc_http_hook_t      pc_trace_hooks[];
extern const pc_http_variable_t  pc_trace_variables[];
pc_rc_t pc_trace_header_filter(pc_http_request_t *r);
pc_rc_t pc_trace_init_worker(pc_worker_t *wk);

#endif /* PC_TRACE_H */
