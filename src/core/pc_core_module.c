/*
 * pc_core_module.c -- the "core" module: main-scope directives (processes,
 * logs, pid, shutdown) and the events { } block.
 *
 * Defaults follow nginx where an operator would expect it: one worker
 * (worker_processes auto is one word away and says what it picked),
 * error_log PREFIX/logs/error.log at "error", pid PREFIX/logs/portcullis.pid,
 * master_process on, daemon off (containers and systemd Type=simple run the
 * master in the foreground).  worker_connections defaults to 1024 rather
 * than nginx's 512: a proxy uses two connections per request.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/pc_core.h"
#include "core/pc_cycle.h"
#include "event/pc_cpu.h"

#define CORE_WP_NOTSET  ((intptr_t) -2)  /* worker_processes absent (auto is UNSET) */
#define CORE_MSEC_MAX   ((int64_t) 24 * 3600 * 1000)

/* pc_core_conf_t plus what init_conf needs to point at the right line. */
typedef struct {
    pc_core_conf_t         conf;        /* first: what pc_cycle_main_conf gives */
    const pc_conf_node_t  *pid_node;
    const pc_conf_node_t  *error_log_node;
    const pc_conf_node_t  *delay_node;
    char                   reason[192];
} core_conf_t;

static const char *set_worker_processes(pc_conf_t *cf, const pc_directive_t *d,
    void *conf);
static const char *set_error_log(pc_conf_t *cf, const pc_directive_t *d,
    void *conf);
static const char *set_pid(pc_conf_t *cf, const pc_directive_t *d, void *conf);
static const char *set_shutdown_delay(pc_conf_t *cf,
    const pc_directive_t *d, void *conf);
static const char *set_events(pc_conf_t *cf, const pc_directive_t *d,
    void *conf);
static const char *set_worker_priority(pc_conf_t *cf,
    const pc_directive_t *d, void *conf);

#define CORE_OFF(field)  offsetof(pc_core_conf_t, field)

static const pc_directive_t core_directives[] = {
    { "worker_processes", PC_CTX_MAIN, 1, 1, 0, set_worker_processes,
      CORE_OFF(worker_processes), 1, 1024, NULL },
    { "master_process", PC_CTX_MAIN, 1, 1, 0, pc_conf_set_flag,
      CORE_OFF(master_process), 0, 0, NULL },
    { "daemon", PC_CTX_MAIN, 1, 1, 0, pc_conf_set_flag,
      CORE_OFF(daemon), 0, 0, NULL },
    { "pid", PC_CTX_MAIN, 1, 1, 0, set_pid,
      CORE_OFF(pid), 0, 0, NULL },
    { "error_log", PC_CTX_MAIN, 1, 2, 0, set_error_log,
      CORE_OFF(error_log), 0, 0, NULL },
    { "shutdown_timeout", PC_CTX_MAIN, 1, 1, 0, pc_conf_set_msec,
      CORE_OFF(shutdown_timeout), 0, CORE_MSEC_MAX, NULL },
    { "shutdown_delay", PC_CTX_MAIN, 1, 1, 0, set_shutdown_delay,
      CORE_OFF(shutdown_delay), 0, CORE_MSEC_MAX, NULL },
    { "worker_rlimit_nofile", PC_CTX_MAIN, 1, 1, 0, pc_conf_set_num,
      CORE_OFF(worker_rlimit_nofile), 16, 1 << 30, NULL },
    { "worker_priority", PC_CTX_MAIN, 1, 1, 0, set_worker_priority,
      CORE_OFF(worker_priority), 0, 0, NULL },
    { "events", PC_CTX_MAIN, 0, 0, PC_CONF_BLOCK, set_events, 0, 0, 0, NULL },
    { "worker_connections", PC_CTX_EVENTS, 1, 1, 0, pc_conf_set_num,
      CORE_OFF(worker_connections), 2, 1 << 20, NULL },
    PC_DIRECTIVE_END
};

/* worker_processes N | auto */
static const char *
set_worker_processes(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_core_conf_t *ccf = conf;

    /* PC_INT_UNSET means auto; the standard setter wants it as "unset"
     * (dispatch has already rejected a duplicate). */
    ccf->worker_processes = PC_INT_UNSET;
    if (pc_str_eq_c(&cf->node->args[0], "auto"))
        return PC_CONF_OK;
    return pc_conf_set_num(cf, d, conf);
}

/* worker_priority N: a nice value, -20 (first served) .. 19 (last). */
static const char *
set_worker_priority(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_core_conf_t *ccf = conf;
    pc_str_t        arg = cf->node->args[0];
    bool            neg = arg.len > 1 && arg.data[0] == '-';
    int64_t         v;

    PC_UNUSED(d);
    if (neg) {
        arg.data++;
        arg.len--;
    }
    if (pc_conf_parse_int(&arg, &v) != PC_OK || v > (neg ? 20 : 19)) {
        return pc_conf_error(cf, "\"worker_priority\" directive invalid value "
                             "\"%s\", it must be a nice value between -20 "
                             "and 19", (const char *) cf->node->args[0].data);
    }
    ccf->worker_priority = (intptr_t) (neg ? -v : v);
    return PC_CONF_OK;
}

/* pid FILE: remember the line for init_conf's checks. */
static const char *
set_pid(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    ((core_conf_t *) conf)->pid_node = cf->node;
    return pc_conf_set_path(cf, d, conf);
}

/* shutdown_delay TIME: remember the line for the cross-check. */
static const char *
set_shutdown_delay(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    ((core_conf_t *) conf)->delay_node = cf->node;
    return pc_conf_set_msec(cf, d, conf);
}

/* error_log FILE|stderr [LEVEL] */
static const char *
set_error_log(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    core_conf_t    *cc = conf;
    pc_conf_node_t *node = cf->node;
    int             level = PC_LOG_ERR;

    if (node->nargs == 2) {
        level = pc_log_level_parse(&node->args[1]);
        if (level < 0) {
            return pc_conf_error(cf, "invalid log level \"%s\" (expected "
                                 "debug, info, notice, warn, error, crit, "
                                 "alert or emerg)",
                                 (const char *) node->args[1].data);
        }
    }
    cc->conf.error_log_level = level;
    cc->error_log_node = node;
    if (pc_str_eq_c(&node->args[0], "stderr")) {
        pc_str_set(&cc->conf.error_log, "stderr");
        return PC_CONF_OK;
    }
    return pc_conf_set_path(cf, d, conf);
}

/* events { ... }: its directives fill the same main-scope conf. */
static const char *
set_events(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    PC_UNUSED(d);
    PC_UNUSED(conf);
    if (pc_conf_block(cf, PC_CTX_EVENTS, PC_SCOPE_MAIN, cf->ctx_confs, NULL)
        != PC_OK)
    {
        return PC_CONF_ERROR;
    }
    return PC_CONF_OK;
}

static void *
core_create_conf(pc_conf_t *cf, pc_scope_e scope)
{
    core_conf_t *cc;

    if (scope != PC_SCOPE_MAIN)
        return NULL;
    cc = pc_pcalloc(cf->pool, sizeof(*cc));
    if (cc == NULL)
        return NULL;
    cc->conf.worker_processes = CORE_WP_NOTSET;
    cc->conf.master_process = -1;
    cc->conf.daemon = -1;
    cc->conf.error_log_level = -1;
    cc->conf.shutdown_timeout = PC_MSEC_UNSET;
    cc->conf.shutdown_delay = PC_MSEC_UNSET;
    cc->conf.worker_connections = PC_INT_UNSET;
    cc->conf.worker_rlimit_nofile = PC_INT_UNSET;
    cc->conf.worker_priority = PC_INT_UNSET;
    return cc;
}

/* Set *path to PREFIX/rel when the directive was absent. */
static pc_rc_t
default_path(pc_conf_t *cf, pc_str_t *path, const char *rel)
{
    pc_str_t in;

    if (path->data != NULL)
        return PC_OK;
    in.data = (u_char *) rel;
    in.len = strlen(rel);
    if (pc_conf_full_path(cf, &in, path) != PC_OK) {
        pc_conf_error(cf, "no memory");
        return PC_ERROR;
    }
    return PC_OK;
}

/* Record "[default ]WHAT "PATH": PROBLEM" at node, or without a line for a
 * default (which has none), with a hint on how to change it. */
static void
path_error(pc_conf_t *cf, const pc_conf_node_t *node, const char *what,
    const char *directive, const pc_str_t *path, const char *problem)
{
    pc_conf_node_t *saved = cf->node;

    if (node != NULL) {
        pc_conf_error_at(cf, node, "%s \"%.*s\": %s", what, (int) path->len,
                         (const char *) path->data, problem);
        return;
    }
    cf->node = NULL;
    pc_conf_error(cf, "default %s \"%.*s\": %s (set \"%s\" or use -p PREFIX)",
                  what, (int) path->len, (const char *) path->data, problem,
                  directive);
    cf->node = saved;
}

/*
 * The directory holding path must exist: a missing logs/ directory is a
 * configuration error (-t says so) rather than a start-up surprise.  With
 * open_it the file itself is opened for appending (and so created), as the
 * running server will: an error log that cannot be written fails -t.
 * node is the directive, or NULL when path is the default.
 */
static pc_rc_t
check_path(pc_conf_t *cf, const pc_conf_node_t *node, const char *what,
    const char *directive, const pc_str_t *path, bool open_it)
{
    char          dir[4096], problem[4200];
    size_t        n;
    struct stat   st;
    const u_char *slash;
    int           fd;

    slash = memrchr(path->data, '/', path->len);
    n = slash != NULL ? (size_t) (slash - path->data) : 0;
    if (n >= sizeof(dir)) {
        path_error(cf, node, what, directive, path, "path too long");
        return PC_ERROR;
    }
    memcpy(dir, path->data, n);
    dir[n] = '\0';
    if (n != 0 && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        snprintf(problem, sizeof(problem), "directory \"%s\" does not exist",
                 dir);
        path_error(cf, node, what, directive, path, problem);
        return PC_ERROR;
    }
    if (!open_it) {
        if (stat((const char *) path->data, &st) == 0 && S_ISDIR(st.st_mode)) {
            path_error(cf, node, what, directive, path, "is a directory");
            return PC_ERROR;
        }
        return PC_OK;
    }
    fd = pc_log_open_file((const char *) path->data);
    if (fd < 0) {
        snprintf(problem, sizeof(problem), "open() failed (%d: %s)", errno,
                 strerror(errno));
        path_error(cf, node, what, directive, path, problem);
        return PC_ERROR;
    }
    close(fd);
    return PC_OK;
}

/* worker_processes: resolve auto/default and say why. */
static void
resolve_workers(core_conf_t *cc)
{
    pc_core_conf_t *ccf = &cc->conf;

    if (ccf->worker_processes == PC_INT_UNSET) {
        ccf->worker_processes = pc_cpu_auto(cc->reason, sizeof(cc->reason));
    } else if (ccf->worker_processes == CORE_WP_NOTSET) {
        ccf->worker_processes = 1;
        memcpy(cc->reason, "default (worker_processes not set)",
               sizeof("default (worker_processes not set)"));
    } else {
        memcpy(cc->reason, "configured", sizeof("configured"));
    }
    ccf->worker_reason = cc->reason;
}

/* A warning, not an error: the limit may be raised by worker_rlimit_nofile
 * or by the service manager before workers start. */
static void
check_nofile(const pc_core_conf_t *ccf)
{
    struct rlimit rl;
    rlim_t        have;

    if (ccf->worker_rlimit_nofile != PC_INT_UNSET) {
        have = (rlim_t) ccf->worker_rlimit_nofile;
    } else if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        have = rl.rlim_cur;
    } else {
        return;
    }
    if (have != RLIM_INFINITY && (rlim_t) ccf->worker_connections > have) {
        pc_log(PC_LOG_WARN, 0, "worker_connections %ld exceed the open file "
               "limit %llu: raise it with worker_rlimit_nofile",
               (long) ccf->worker_connections, (unsigned long long) have);
    }
}

static pc_rc_t
core_init_conf(pc_conf_t *cf)
{
    core_conf_t    *cc = pc_cycle_main_conf(cf->cycle, pc_core_module);
    pc_core_conf_t *ccf = &cc->conf;
    pc_rc_t         rc = PC_OK;
    bool            pid_rejected, log_rejected;

    resolve_workers(cc);
    if (ccf->master_process < 0)
        ccf->master_process = 1;
    if (ccf->daemon < 0)
        ccf->daemon = 0;
    if (ccf->error_log_level < 0)
        ccf->error_log_level = PC_LOG_ERR;
    if (ccf->shutdown_timeout == PC_MSEC_UNSET)
        ccf->shutdown_timeout = 30000;
    if (ccf->shutdown_delay == PC_MSEC_UNSET)
        ccf->shutdown_delay = 0;
    if (ccf->worker_connections == PC_INT_UNSET)
        ccf->worker_connections = 1024;

    /* A pid or error_log line that was rejected (already reported) leaves
     * its path unset: the default then stands in for it, unchecked, rather
     * than be blamed on that line. */
    pid_rejected = cc->pid_node != NULL && ccf->pid.data == NULL;
    log_rejected = cc->error_log_node != NULL && ccf->error_log.data == NULL;
    if (default_path(cf, &ccf->pid, "logs/portcullis.pid") != PC_OK
        || default_path(cf, &ccf->error_log, "logs/error.log") != PC_OK)
    {
        return PC_ERROR;
    }
    if (!pid_rejected
        && check_path(cf, cc->pid_node, "pid file", "pid", &ccf->pid, false)
           != PC_OK)
    {
        rc = PC_ERROR;
    }
    if (!log_rejected && !pc_str_eq_c(&ccf->error_log, "stderr")
        && check_path(cf, cc->error_log_node, "error_log", "error_log",
                      &ccf->error_log, true) != PC_OK)
    {
        rc = PC_ERROR;
    }
    if (ccf->shutdown_delay > 0 && ccf->shutdown_delay >= ccf->shutdown_timeout) {
        pc_conf_error_at(cf, cc->delay_node, "shutdown_delay (%lld ms) must "
                         "be shorter than shutdown_timeout (%lld ms)",
                         (long long) ccf->shutdown_delay,
                         (long long) ccf->shutdown_timeout);
        rc = PC_ERROR;
    }
    check_nofile(ccf);
    return rc;
}

pc_module_t pc_core_module = {
    .name = "core",
    .directives = core_directives,
    .create_conf = core_create_conf,
    .init_conf = core_init_conf,
};
