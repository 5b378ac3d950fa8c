/*
 * trace_conf.c -- the trace module's directives and the module struct
 * (doc/directives/trace.md, trace_sampled.md, trace_response_header.md).
 *
 * `trace` and `trace_sampled` exist at http and server level only: the ids
 * are made in POST_READ, before a location is chosen, so a location could
 * not change them.  `trace_response_header` is applied when the response
 * head is written, so a location may set it too.
 */
#include "trace/trace.h"

#define off(f)  offsetof(pc_trace_conf_t, f)

const pc_directive_t pc_trace_directives[] = {
    { "trace", PC_CTX_HTTP | PC_CTX_SERVER, 1, 1, 0, pc_conf_set_flag,
      off(trace), 0, 0, NULL },
    { "trace_sampled", PC_CTX_HTTP | PC_CTX_SERVER, 1, 1, 0, pc_conf_set_flag,
      off(sampled), 0, 0, NULL },
    { "trace_response_header", PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION, 1, 1, 0,
      pc_conf_set_flag, off(response_header), 0, 0, NULL },
    PC_DIRECTIVE_END
};

/* Contract: a conf with every flag unset at HTTP/SERVER/LOCATION scope;
 * NULL at MAIN scope (the module has no main conf) and on ENOMEM. */
void *
pc_trace_create_conf(pc_conf_t *cf, pc_scope_e scope)
{
    pc_trace_conf_t *tcf;

    if (scope == PC_SCOPE_MAIN)
        return NULL;
    tcf = pc_palloc(cf->pool, sizeof(*tcf));
    if (tcf == NULL)
        return NULL;
    tcf->trace = -1;
    tcf->sampled = -1;
    tcf->response_header = -1;
    return tcf;
}

/* Contract: child inherits what it does not set; defaults trace off,
 * trace_sampled off, trace_response_header on.  Always PC_OK. */
pc_rc_t
pc_trace_merge_conf(pc_conf_t *cf, void *parent, void *child)
{
    pc_trace_conf_t *prev = parent, *conf = child;

    PC_UNUSED(cf);
    PC_CONF_MERGE(conf->trace, prev->trace, -1, 0);
    PC_CONF_MERGE(conf->sampled, prev->sampled, -1, 0);
    PC_CONF_MERGE(conf->response_header, prev->response_header, -1, 1);
    return PC_OK;
}

pc_module_t pc_trace_module = {
    "trace",
    0,
    pc_trace_directives,
    pc_trace_hooks,
    pc_trace_create_conf,
    pc_trace_merge_conf,
    NULL,
    pc_trace_init_worker,
    NULL,
    pc_trace_header_filter,
    NULL,
    PC_TRACE_FILTER_ORDER,
    pc_trace_variables,
};
