/*
 * status.h -- private to the status module (status.c runtime,
 * status_conf.c directives and metric declarations).
 */
#ifndef PC_STATUS_H
#define PC_STATUS_H

#include "http/pc_http.h"
#include "http/pc_http_upstream.h"
#include "core/pc_metrics.h"

#define PC_STATUS_ORDER_CONTENT  100    /* after return (10), before proxy (500) */
#define PC_STATUS_ORDER_LOG      50     /* before the access log (100)          */
#define PC_STATUS_CLASSES        5      /* 1xx .. 5xx                           */
#define PC_STATUS_PUBLISH_MS     1000   /* gauges refreshed by each worker      */
#define PC_STATUS_TRIES_MAX      18     /* attempts looked at per request       */

typedef enum {
    PC_STATUS_NONE = 0,
    PC_STATUS_METRICS,
    PC_STATUS_HEALTH,
    PC_STATUS_READY
} pc_status_handler_e;

/* One struct at HTTP, SERVER and LOCATION scope. */
typedef struct {
    intptr_t        handler;        /* location only, not inherited; UNSET  */
    pc_str_t        auth_token;     /* data NULL: unset (inherited)         */
    u_char          token_sha256[32];
    /* SERVER scope: this server's series (status_conf.c init_conf) */
    pc_metric_t    *requests[PC_STATUS_CLASSES];
    pc_metric_t    *duration;
} pc_status_conf_t;

/* The series of one upstream block. */
typedef struct {
    const pc_http_upstream_t  *u;
    pc_metric_t              **requests;   /* npeers × PC_STATUS_CLASSES     */
    pc_metric_t              **peer_up;    /* npeers                         */
    pc_metric_t               *response;   /* histogram                      */
    pc_metric_t               *connects[2]; /* reused "false", "true"        */
    pc_metric_t               *conns[2];   /* state "active", "idle"         */
} pc_status_upstream_t;

typedef struct {
    unsigned                   any_metrics:1;
    unsigned                   any_ready:1;
    unsigned                   registered:1;   /* the families below exist */
    pc_status_upstream_t      *ups;            /* by u->index               */
    uint32_t                   nups;
    pc_metric_t               *conn_state[4];  /* active reading writing idle */
    pc_metric_t               *accepted;
} pc_status_main_conf_t;

extern pc_module_t pc_status_module;

/* status_conf.c */
extern const pc_directive_t pc_status_directives[];
void    *pc_status_create_conf(pc_conf_t *cf, pc_scope_e scope);
pc_rc_t  pc_status_merge_conf(pc_conf_t *cf, void *parent, void *child);
pc_rc_t  pc_status_init_conf(pc_conf_t *cf);

/* status.c */
extern const pc_http_hook_t pc_status_hooks[];
pc_rc_t pc_status_init_worker(pc_worker_t *wk);
void    pc_status_exit_worker(pc_worker_t *wk);

#endif /* PC_STATUS_H */
