/*
 * pc_process.h -- the master and worker processes (ARCHITECTURE §1,
 * SPEC §2): forking, signals, reload, respawn, graceful shutdown.
 *
 * The master owns the listening sockets, the shm zones and the pid file and
 * runs a libev loop with only signal, child and timer watchers.  Each worker
 * gets a socketpair channel from the master; commands are single bytes:
 * 'Q' graceful quit (the instance stops: readiness hooks, shutdown_delay,
 * drain), 'D' retire after a reload (drain at once: the new workers keep
 * accepting, so readiness does not flip and there is no delay), 'T' fast
 * terminate, 'R' reopen logs.  A worker that sees the channel close (the
 * master died) drains and exits.
 */
#ifndef PC_PROCESS_H
#define PC_PROCESS_H

#include "core/pc_cycle.h"
#include "event/pc_worker.h"

/* Channel commands (one byte each). */
#define PC_CMD_QUIT       'Q'
#define PC_CMD_RETIRE     'D'
#define PC_CMD_TERMINATE  'T'
#define PC_CMD_REOPEN     'R'

/*
 * Counters the master keeps in a small shared page so that workers (the
 * status module) can export them: written by the master only, read anywhere.
 * NULL before pc_process_run().
 */
typedef struct {
    uint64_t    generation;          /* current configuration generation    */
    uint64_t    reloads_ok;
    uint64_t    reloads_failed;
    int64_t     last_reload_ok_ms;   /* wall ms of the last successful load
                                        (start counts as one)              */
    uint32_t    workers;             /* worker processes of the current gen */
} pc_process_stats_t;

extern volatile pc_process_stats_t *pc_process_stats;

/*
 * Run the service with an activated cycle (refs = 1, ownership passes here)
 * until it is stopped: the master with worker processes, or the single
 * process when master_process is off.  SIGHUP loads cycle->conf_file with
 * cycle->prefix again.  Writes the pid file first (a failure is reported
 * on the log in use, stderr at start), then switches logging to the
 * cycle's error log and logs the start with version.  Removes the pid file
 * at the end.  Returns the process exit code: 0 after a clean stop, 2 on a
 * start-up failure.
 */
int pc_process_run(pc_cycle_t *cycle, const char *version);

/*
 * Detach from the terminal (daemon on): fork twice, setsid, point stdio at
 * /dev/null (stderr too unless keep_stderr).  Returns in the daemon only;
 * the original process exits 0.  PC_ERROR (logged) if a fork fails.
 */
pc_rc_t pc_process_daemon(bool keep_stderr);

/*
 * Register fn to run in a worker (or the single process) when it is told to
 * reopen its logs (SIGUSR1 to the master).  Call from init_worker.  The
 * error log is reopened before fn runs.  Registering the same fn twice is a
 * no-op; at most 16 functions.  PC_OK / PC_ERROR when full.
 */
pc_rc_t pc_process_on_reopen(void (*fn)(void));

/*
 * Register fn to run at the start of a worker's graceful shutdown when the
 * instance stops (SIGTERM/SIGQUIT), before shutdown_delay: readiness probes
 * flip to 503 here.  Not run when a worker retires after a reload (the
 * instance stays ready).  Same rules as pc_process_on_reopen.
 */
pc_rc_t pc_process_on_drain(void (*fn)(void));

#endif /* PC_PROCESS_H */
