/*
 * ratelimit.h -- private glue between the files of the ratelimit module:
 * the configuration structs (built by ratelimit_conf.c, read by the runtime
 * in ratelimit.c) and the runtime entry points the module table names.
 */
#ifndef PC_RATELIMIT_H
#define PC_RATELIMIT_H

#include "http/pc_http.h"
#include "ratelimit/gcra.h"
#include "ratelimit/ratelimit_zone.h"

/* $limit_req_status / $limit_conn_status values, worst last. */
typedef enum {
    PC_RL_NONE = 0,
    PC_RL_PASSED,
    PC_RL_DELAYED_DRY_RUN,
    PC_RL_DELAYED,
    PC_RL_REJECTED_DRY_RUN,
    PC_RL_REJECTED
} pc_rl_status_e;

/* A zone declared by limit_req_zone / limit_conn_zone (cycle pool). */
typedef struct {
    pc_str_t                  name;
    pc_rlz_kind_e             kind;
    pc_http_template_t       *key;
    pc_shm_zone_t            *shm;
    int64_t                   interval;   /* limit_req: ns per request      */
    const pc_rl_store_ops_t  *ops;        /* where decisions are made       */
    const char               *reason;     /* error body: "rate limited (zone x)" */
} pc_rl_zone_t;

/* One limit_req directive. */
typedef struct {
    pc_shm_zone_t            *shm;        /* ->data is the pc_rl_zone_t once declared */
    pc_rl_zone_t             *zone;       /* resolved by init_conf          */
    int64_t                   burst;
    int64_t                   delay;
    bool                      nodelay;
    pc_gcra_t                 gcra;       /* built by init_conf             */
    pc_str_t                  policy;     /* "\"zone\";q=10;w=1"            */
    const pc_conf_node_t     *node;       /* for errors found later         */
} pc_rl_limit_t;

/* One limit_conn directive. */
typedef struct {
    pc_shm_zone_t            *shm;
    pc_rl_zone_t             *zone;
    uint32_t                  max;
    const pc_conf_node_t     *node;
} pc_rl_conn_t;

/* http / server / location conf. */
typedef struct {
    pc_array_t               *limits;       /* pc_rl_limit_t *; NULL: inherit */
    pc_array_t               *conns;        /* pc_rl_conn_t *; NULL: inherit  */
    intptr_t                  status;       /* limit_req_status (429)        */
    intptr_t                  conn_status;  /* limit_conn_status (429)       */
    int                       dry_run;
    int                       headers;
} pc_rl_loc_conf_t;

/* main conf: everything init_conf must finish or check. */
typedef struct {
    pc_array_t                zones;        /* pc_rl_zone_t *                */
    pc_array_t                limits;       /* pc_rl_limit_t *, every one    */
    pc_array_t                conns;        /* pc_rl_conn_t *, every one     */
} pc_rl_main_conf_t;

extern pc_module_t pc_ratelimit_module;

/* Tags of the module's shm zones (pc_shm_zone_add). */
extern const int pc_rl_req_tag;
extern const int pc_rl_conn_tag;

/* ratelimit.c: ACCESS hooks, header filter, variables, shm zone init. */
pc_rc_t pc_rl_req_handler(pc_http_request_t *r);
pc_rc_t pc_rl_conn_handler(pc_http_request_t *r);
pc_rc_t pc_rl_header_filter(pc_http_request_t *r);
pc_rc_t pc_rl_zone_init(pc_shm_zone_t *shm, int reused);
extern const pc_http_variable_t pc_rl_variables[];

#endif /* PC_RATELIMIT_H */
