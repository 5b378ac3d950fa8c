/*
 * pc_module.h -- the module interface (ARCHITECTURE §4).
 *
 * Everything, core included, is a module: a directive table, per-scope
 * configuration structs merged downwards, optional cycle/worker hooks, HTTP
 * phase hooks with explicit order numbers, header/body filters, and the
 * variables it provides.  The one list of compiled-in modules is
 * modules/modules.c; the core never names a module beyond that list.
 */
#ifndef PC_MODULE_H
#define PC_MODULE_H

#include "core/pc_types.h"
#include "core/pc_conf.h"

/* Request phases, in the order a request goes through them. */
typedef enum {
    PC_HTTP_PHASE_POST_READ = 0,   /* realip, trace ids                    */
    PC_HTTP_PHASE_REWRITE,         /* after server+location are found      */
    PC_HTTP_PHASE_ACCESS,          /* allow/deny, geoip, limits            */
    PC_HTTP_PHASE_CONTENT,         /* produce the response                 */
    PC_HTTP_PHASE_LOG,             /* after the response is sent           */
    PC_HTTP_PHASE__COUNT
} pc_http_phase_e;

typedef struct pc_chain_s pc_chain_t;

/* Phase handler: PC_OK/PC_DECLINED → next hook; PC_AGAIN → parked until an
 * event resumes the request (pc_http_phase_resume); PC_DONE → a response was
 * produced; PC_ERROR → 500 and a log line.  A handler may also return an
 * HTTP status >= 100 to have the core send that error response. */
typedef pc_rc_t (*pc_http_handler_pt)(pc_http_request_t *r);

/* Header filter: may edit r's response headers before they are written. */
typedef pc_rc_t (*pc_http_header_filter_pt)(pc_http_request_t *r);

/* Body filter: replaces *chain with the transformed output (buffers from the
 * request pool / worker buffer pool).  last is set on the final call. */
typedef pc_rc_t (*pc_http_body_filter_pt)(pc_http_request_t *r, pc_chain_t **chain,
    int last);

typedef struct {
    pc_http_phase_e      phase;
    int                  order;    /* lower runs first; ties by module order */
    pc_http_handler_pt   handler;
} pc_http_hook_t;

#define PC_HOOK_END  { PC_HTTP_PHASE__COUNT, 0, NULL }

/* A variable getter writes the value into *out (pointing into request
 * memory or static text).  PC_DECLINED = "not found" (empty, $var unset). */
typedef pc_rc_t (*pc_http_var_get_pt)(pc_http_request_t *r, pc_str_t *out,
    uintptr_t data);

#define PC_VAR_PREFIX   0x01   /* name is a prefix: $http_*, $arg_*, $cookie_* */
#define PC_VAR_NOCACHE  0x02   /* value changes during the request              */
#define PC_VAR_PLAIN    0x04   /* made here from numbers, addresses, the clock:
                                  never a byte a log needs to escape            */
/* A PC_VAR_PREFIX getter is called with data = (uintptr_t) (const pc_str_t *)
 * the rest of the name as written ("user_agent" for $http_user_agent), not
 * the row's data (pc_http_variables.c). */

typedef struct {
    const char          *name;   /* without the '$'                          */
    pc_http_var_get_pt   get;
    uintptr_t            data;
    unsigned             flags;
} pc_http_variable_t;

#define PC_VAR_END  { NULL, NULL, 0, 0 }

struct pc_module_s {
    const char                *name;        /* "hsts": log prefix, errors   */
    unsigned                   index;       /* set by pc_modules_init()     */
    const pc_directive_t      *directives;  /* ends with PC_DIRECTIVE_END   */
    const pc_http_hook_t      *hooks;       /* ends with PC_HOOK_END, or NULL */

    /* Create this module's conf for a scope (NULL: none at that scope; the
     * setters of its directives then get conf == NULL). Fields start UNSET. */
    void     *(*create_conf)(pc_conf_t *cf, pc_scope_e scope);
    /* Merge parent (HTTP→SERVER→LOCATION) into child; report with pc_conf_error. */
    pc_rc_t   (*merge_conf)(pc_conf_t *cf, void *parent, void *child);
    /* After the whole configuration is parsed and merged: cross-checks,
     * files, shm zones.  Runs for -t too (this is "semantic validation"). */
    pc_rc_t   (*init_conf)(pc_conf_t *cf);
    /* In each worker (or the single process) before it serves. */
    pc_rc_t   (*init_worker)(pc_worker_t *wk);
    void      (*exit_worker)(pc_worker_t *wk);

    pc_http_header_filter_pt   header_filter;
    pc_http_body_filter_pt     body_filter;
    int                        filter_order; /* lower runs first            */

    const pc_http_variable_t  *variables;   /* ends with PC_VAR_END, or NULL */
};

/* NULL-terminated list of compiled-in modules (modules/modules.c). */
extern pc_module_t *pc_modules[];
extern unsigned pc_modules_n;

/* Assign indices; called once at start. */
void pc_modules_init(void);

#endif /* PC_MODULE_H */
