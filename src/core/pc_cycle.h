/*
 * pc_cycle.h -- a cycle is one loaded configuration (ARCHITECTURE §1): the
 * config tree, every module's confs, the listener set and the shm zones.
 *
 * Reload builds a new cycle in the master; on any error the old one stays.
 * A cycle is reference-counted: the master holds one reference while it is
 * current, and every connection holds one for its life, so a cycle is freed
 * when its last user goes (this is what allows reload-in-place later).
 */
#ifndef PC_CYCLE_H
#define PC_CYCLE_H

#include <sys/socket.h>
#include "core/pc_core.h"

/* Core main-scope configuration (module "core": main + events directives). */
typedef struct {
    intptr_t    worker_processes;   /* PC_INT_UNSET → auto                  */
    const char *worker_reason;      /* why that number ("affinity 4, cgroup quota 2") */
    int         master_process;     /* on/off                               */
    int         daemon;
    pc_str_t    pid;                /* absolute path                        */
    pc_str_t    error_log;          /* absolute path, or "stderr"           */
    int         error_log_level;
    pc_msec_t   shutdown_timeout;
    pc_msec_t   shutdown_delay;
    intptr_t    worker_connections;
    intptr_t    worker_rlimit_nofile;
    intptr_t    worker_priority;    /* nice value; PC_INT_UNSET → inherited */
} pc_core_conf_t;

struct pc_listening_s {
    struct sockaddr_storage addr;
    socklen_t       addrlen;
    char            addr_text[64];  /* "127.0.0.1:8080" / "[::1]:8080"       */
    int             fd;             /* -1 until opened                       */
    int             backlog;
    unsigned        reuseport:1;
    unsigned        ipv6only:1;
    unsigned        inherited:1;    /* fd taken over from the previous cycle */
    unsigned        ssl:1;
    const pc_conf_node_t *node;     /* the first line declaring it (errors) */
    /* Protocol glue, set by whoever declared the listener (http): called
     * in the worker for each accepted connection. */
    void          (*handler)(pc_conn_t *c);
    void           *data;           /* e.g. the http address → servers map  */
};

struct pc_cycle_s {
    pc_pool_t      *pool;
    unsigned        refs;
    uint64_t        generation;     /* 1, 2, ... one per successful load     */
    char           *conf_file;      /* absolute                              */
    char           *prefix;         /* with a trailing '/'                   */
    pc_conf_node_t *root;
    void          **main_confs;     /* PC_SCOPE_MAIN conf of each module     */
    pc_array_t      listening;      /* pc_listening_t                        */
    pc_array_t      shm_zones;      /* pc_shm_zone_t *                       */
    pc_log_t        error_log;
    pc_cycle_t     *old;            /* previous cycle while loading           */
    void           *http_phases;    /* sorted hooks/filters (pc_http_phase.c) */
    void           *metrics;        /* pc_metrics_t registry (pc_metrics.c), or NULL */
};

/* Conf of module m at main scope in cycle. */
#define pc_cycle_main_conf(cycle, m)  ((cycle)->main_confs[(m).index])

extern pc_module_t pc_core_module;

/*
 * Load conf_file: parse, dispatch, merge, run every module's init_conf.
 * old (may be NULL) is the running cycle, so zones/listeners can be matched.
 * A syntax error stops the load after parsing; errors found by dispatch do
 * not stop init_conf, so every error is reported at once.
 * Every error is logged at `level` (emerg at start and -t, error on reload)
 * as "MESSAGE in FILE:LINE".  Returns the new cycle (refs = 1) or NULL.
 * Does not open sockets or map memory: pc_cycle_activate does that.
 */
pc_cycle_t *pc_cycle_load(const char *conf_file, const char *prefix,
    pc_cycle_t *old, int level);

/*
 * For -s: load conf_file as pc_cycle_load does, logging its errors at
 * `level`, and copy into out (NUL-terminated) the pid file it names.  The
 * path is taken whenever the file parses, even if other directives are
 * rejected: `pid` itself was then accepted (its path) or rejected/absent
 * (the default PREFIX/logs/portcullis.pid, as the running master would
 * have used).  Returns PC_OK (clean load), PC_DECLINED (errors, but the
 * path is in out) or PC_ERROR (the file could not be parsed, or no memory:
 * out is untouched).  Nothing stays open or allocated.
 */
pc_rc_t pc_cycle_pid_path(const char *conf_file, const char *prefix, int level,
    char *out, size_t size);

/*
 * For init_conf checks that report something missing or unknown after
 * dispatch errors: the first node called name (any name when NULL) among
 * block's children -- and, when deep, their descendants -- for which match
 * (when not NULL) returns true, or NULL.  The tree holds every directive as
 * written, accepted or not, so "the config does name it, yet it is not
 * there" means its own directive was rejected and already reported.
 */
typedef bool (*pc_cycle_node_match_pt)(const pc_conf_node_t *node,
    const void *data);
const pc_conf_node_t *pc_cycle_conf_find(const pc_conf_node_t *block,
    const char *name, bool deep, pc_cycle_node_match_pt match,
    const void *data);

/* Master side: open the listeners (reusing old's fds for equal addresses),
 * map shm zones, open the error log.  PC_OK or PC_ERROR (logged; the new
 * cycle can then be dropped and old kept). */
pc_rc_t pc_cycle_activate(pc_cycle_t *cycle, pc_cycle_t *old);

void pc_cycle_ref(pc_cycle_t *cycle);
/* Drop a reference; the last one closes listeners not shared with a newer
 * cycle, unmaps unused zones and destroys the pool. */
void pc_cycle_unref(pc_cycle_t *cycle);

/* Most distinct listen addresses per cycle.  The listener array is sized
 * for this up front and never grows, so a pc_listening_t * returned by
 * pc_cycle_add_listening stays valid for the cycle's life. */
#define PC_CYCLE_LISTEN_MAX  256

/* Find or add a listener for addr in the cycle being loaded. */
pc_listening_t *pc_cycle_add_listening(pc_conf_t *cf,
    const struct sockaddr *addr, socklen_t len);

/* Parse "[ADDR:]PORT", "[::1]:8080", "*:80", "localhost:80" into sa.  Hostnames
 * resolve (config time only).  PC_OK / PC_ERROR. */
pc_rc_t pc_parse_addr_port(const pc_str_t *s, int default_port,
    struct sockaddr_storage *sa, socklen_t *len);

/* "127.0.0.1:8080" / "[::1]:8080" into buf (NUL-terminated); returns length. */
size_t pc_sockaddr_text(const struct sockaddr *sa, char *buf, size_t size,
    int with_port);

#endif /* PC_CYCLE_H */
