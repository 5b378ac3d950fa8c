/*
 * pc_worker.h -- the state of one worker process (or of the single process
 * with master_process off).  There is exactly one per process: pc_worker.
 */
#ifndef PC_WORKER_H
#define PC_WORKER_H

#include <ev.h>
#include "core/pc_core.h"
#include "core/pc_metrics.h"

struct pc_worker_s {
    struct ev_loop *loop;
    pc_cycle_t     *cycle;          /* the cycle this worker serves          */
    int             id;             /* 0 .. N-1                              */
    pid_t           pid;
    unsigned        draining:1;     /* graceful shutdown in progress         */
    unsigned        exiting:1;      /* fast shutdown                          */
    uint32_t        nconns;         /* client + upstream connections         */
    uint32_t        max_conns;      /* worker_connections                    */
    uint64_t        conn_number;    /* counter for $connection               */
    const pc_metric_t *accepted;    /* counts accepted client connections
                                       (the status module's; NULL: none)  */
    pc_conn_t      *conns;          /* list of every open connection         */
    void          **module_ctx;     /* per-module worker state (module->index) */
    ev_io          *accept_watchers;
    uint32_t        naccept;
    unsigned        accepting:1;
};

extern pc_worker_t *pc_worker;

#endif /* PC_WORKER_H */
