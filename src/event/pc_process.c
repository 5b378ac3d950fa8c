/*
 * pc_process.c -- master and worker processes.
 *
 * The master never serves traffic: its libev loop holds signal, child and
 * timer watchers only.  It loads and activates cycles, forks workers, tells
 * them what to do through one socketpair channel each, and reaps them.
 *
 * Reload: the new cycle is loaded and activated next to the running one
 * (unchanged listeners are dups of the same sockets), new workers are
 * forked, and only then are the old workers told to quit gracefully, so at
 * every moment some process is accepting on every unchanged address.  A
 * cycle stays alive in the master while any worker forked with it lives.
 *
 * Workers: a forked child first drops everything that belongs to the master
 * (other workers' channels, other cycles, the master's libev loop and its
 * signal handlers), then builds its own loop with ev_loop_new.  Signals are
 * blocked from before fork() until the worker's own handlers are in place,
 * so a signal sent in that window is delivered, not lost or fatal.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/pc_core.h"
#include "core/pc_cycle.h"
#include "core/pc_buf.h"
#include "event/pc_conn.h"
#include "event/pc_listen.h"
#include "event/pc_process.h"
#include "event/pc_worker.h"

#define HOOKS_MAX           16
#define RESPAWN_BACKOFF_MIN 0.5     /* seconds, after the second crash      */
#define RESPAWN_BACKOFF_MAX 30.0
#define RESPAWN_RESET_AFTER 60.0    /* a worker that lived this long was ok */
#define KILL_GRACE          5.0     /* past its own deadline, then SIGKILL  */
#define DRAIN_POLL          0.05    /* idle check while draining            */

enum { STOP_NONE = 0, STOP_GRACEFUL, STOP_FAST };

pc_worker_t *pc_worker;
volatile pc_process_stats_t *pc_process_stats;

typedef void (*hook_pt)(void);

typedef struct {
    hook_pt     fn[HOOKS_MAX];
    unsigned    n;
} hooks_t;

static hooks_t reopen_hooks, drain_hooks;

/* ------------------------------------------------------------ master state */

typedef struct {
    pid_t        pid;
    int          channel;       /* master's end of the socketpair         */
    pc_cycle_t  *cycle;         /* referenced while the worker lives      */
    int          id;            /* slot in its generation                 */
    bool         quitting;      /* told to stop: its exit is expected     */
    ev_tstamp    kill_at;       /* SIGKILL deadline (0: none)             */
} proc_t;

typedef struct {
    ev_timer     respawn;
    ev_tstamp    started;       /* when the slot's worker last started    */
    ev_tstamp    backoff;       /* delay before the next respawn          */
    int          id;
} slot_t;

static const int master_signals[] = {
    SIGHUP, SIGUSR1, SIGTERM, SIGQUIT, SIGINT, SIGUSR2
};

static struct {
    struct ev_loop *loop;
    pc_cycle_t     *cycle;      /* current generation                      */
    proc_t         *procs;
    unsigned        nprocs, cap;
    slot_t         *slots;
    unsigned        nslots;
    ev_signal       sigs[pc_nelems(master_signals)];
    ev_child        child;
    ev_timer        reaper;
    ev_check        clock;
    int             stopping;
    char            pid_path[PATH_MAX];
} M;

/* ------------------------------------------------------------ worker state */

static pc_worker_t worker;

static const int worker_signals[] = { SIGTERM, SIGQUIT, SIGINT, SIGUSR1, SIGHUP };

static struct {
    bool        single;         /* master_process off                      */
    int         channel_fd;
    ev_io       channel;
    ev_signal   sigs[pc_nelems(worker_signals)];
    ev_check    clock;
    ev_timer    delay;          /* shutdown_delay                          */
    ev_timer    deadline;       /* shutdown_timeout                        */
    ev_timer    poll;           /* idle check while draining               */
    unsigned    ninited;        /* modules whose init_worker succeeded     */
} W;

static void worker_graceful(pc_worker_t *wk, bool shutdown);
static void worker_fast(pc_worker_t *wk);

/* ------------------------------------------------------------------ hooks */

static pc_rc_t
hook_add(hooks_t *h, hook_pt fn)
{
    unsigned i;

    for (i = 0; i < h->n; i++) {
        if (h->fn[i] == fn)
            return PC_OK;
    }
    if (h->n == HOOKS_MAX)
        return PC_ERROR;
    h->fn[h->n++] = fn;
    return PC_OK;
}

static void
hook_run(const hooks_t *h)
{
    unsigned i;

    for (i = 0; i < h->n; i++)
        h->fn[i]();
}

/* See pc_process.h. */
pc_rc_t
pc_process_on_reopen(void (*fn)(void))
{
    return hook_add(&reopen_hooks, fn);
}

/* See pc_process.h. */
pc_rc_t
pc_process_on_drain(void (*fn)(void))
{
    return hook_add(&drain_hooks, fn);
}

static void
on_clock(struct ev_loop *loop, ev_check *w, int revents)
{
    PC_UNUSED(loop);
    PC_UNUSED(w);
    PC_UNUSED(revents);
    pc_time_update();
}

/* Refresh pc_time first thing after every poll (highest priority check). */
static void
clock_start(struct ev_loop *loop, ev_check *w)
{
    ev_check_init(w, on_clock);
    ev_set_priority(w, EV_MAXPRI);
    ev_check_start(loop, w);
    ev_unref(loop);
}

static const pc_core_conf_t *
core_conf(const pc_cycle_t *cycle)
{
    return pc_cycle_main_conf(cycle, pc_core_module);
}

/* --------------------------------------------------------------- pid file */

static pc_rc_t
pid_write(const char *path)
{
    char    buf[32];
    int     fd, n, err;
    ssize_t w;

    n = snprintf(buf, sizeof(buf), "%ld\n", (long) getpid());
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        pc_log(PC_LOG_EMERG, errno, "open() \"%s\" failed", path);
        return PC_ERROR;
    }
    w = write(fd, buf, (size_t) n);
    err = errno;
    close(fd);
    if (w != n) {
        pc_log(PC_LOG_EMERG, w < 0 ? err : EIO, "write() to \"%s\" failed", path);
        return PC_ERROR;
    }
    return PC_OK;
}

/* Remove path only if it still names this process: a newer instance may
 * have taken it over. */
static void
pid_remove(const char *path)
{
    char    buf[32], want[32];
    int     fd, n;
    ssize_t r;

    if (path[0] == '\0')
        return;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    r = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    n = snprintf(want, sizeof(want), "%ld\n", (long) getpid());
    if (r == n && memcmp(buf, want, (size_t) n) == 0 && unlink(path) < 0)
        pc_log(PC_LOG_ALERT, errno, "unlink() \"%s\" failed", path);
}

static void
stats_init(pc_cycle_t *cycle)
{
    void *p;

    p = mmap(NULL, sizeof(pc_process_stats_t), PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        pc_log(PC_LOG_ALERT, errno, "mmap() for process stats failed");
        return;
    }
    pc_process_stats = p;
    pc_process_stats->generation = cycle->generation;
    pc_process_stats->workers = (uint32_t) core_conf(cycle)->worker_processes;
    pc_process_stats->last_reload_ok_ms = pc_time.wall_ms;
}

static void
stats_free(void)
{
    if (pc_process_stats != NULL)
        munmap((void *) pc_process_stats, sizeof(pc_process_stats_t));
    pc_process_stats = NULL;
}

/* ============================================================== workers */

static void
on_drain_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
    pc_worker_t *wk = w->data;
    pc_conn_t   *c;

    PC_UNUSED(loop);
    PC_UNUSED(revents);
    /* Upstream connections left once every client is gone are idle pool
     * members: they do not hold the exit back. */
    for (c = wk->conns; c != NULL; c = c->next) {
        if (!c->upstream)
            return;
    }
    pc_conn_close_all(wk);
    ev_break(wk->loop, EVBREAK_ALL);
}

/* End of shutdown_delay: stop accepting and let connections finish. */
static void
worker_stop_accepting(pc_worker_t *wk)
{
    pc_listening_t *ls = wk->cycle->listening.elts;
    uint32_t        i;

    pc_accept_stop(wk);
    /* Our copies only: the master and newer workers keep theirs. */
    for (i = 0; i < wk->cycle->listening.nelts; i++)
        pc_listen_close(&ls[i]);
    pc_conn_drain_all(wk);
    ev_timer_start(wk->loop, &W.poll);
    on_drain_poll(wk->loop, &W.poll, 0);
}

static void
on_delay(struct ev_loop *loop, ev_timer *w, int revents)
{
    PC_UNUSED(loop);
    PC_UNUSED(revents);
    worker_stop_accepting(w->data);
}

static void
on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
    pc_worker_t *wk = w->data;

    PC_UNUSED(loop);
    PC_UNUSED(revents);
    pc_log(PC_LOG_NOTICE, 0, "shutdown_timeout reached: closing %u "
           "connections", wk->nconns);
    worker_fast(wk);
}

/*
 * Finish what is in flight, then exit.  shutdown: the whole instance stops,
 * so readiness flips first and listeners stay open for shutdown_delay (load
 * balancers notice before connections are refused).  Otherwise the worker
 * retires after a reload: newer workers accept on the same sockets, so it
 * stops accepting at once and readiness is left alone.
 */
static void
worker_graceful(pc_worker_t *wk, bool shutdown)
{
    const pc_core_conf_t *ccf = core_conf(wk->cycle);

    if (wk->draining || wk->exiting)
        return;
    wk->draining = 1;
    pc_log(PC_LOG_NOTICE, 0, "%s (%u connections)",
           shutdown ? "gracefully shutting down" : "retiring after a reload",
           wk->nconns);
    if (shutdown)
        hook_run(&drain_hooks);

    ev_timer_set(&W.deadline, (ev_tstamp) ccf->shutdown_timeout / 1000., 0.);
    ev_timer_start(wk->loop, &W.deadline);
    if (shutdown && ccf->shutdown_delay > 0) {
        ev_timer_set(&W.delay, (ev_tstamp) ccf->shutdown_delay / 1000., 0.);
        ev_timer_start(wk->loop, &W.delay);
        return;
    }
    worker_stop_accepting(wk);
}

static void
worker_fast(pc_worker_t *wk)
{
    pc_listening_t *ls = wk->cycle->listening.elts;
    uint32_t        i;

    wk->exiting = 1;
    pc_accept_stop(wk);
    for (i = 0; i < wk->cycle->listening.nelts; i++)
        pc_listen_close(&ls[i]);
    pc_conn_close_all(wk);
    ev_break(wk->loop, EVBREAK_ALL);
}

static void
worker_reopen(pc_worker_t *wk)
{
    pc_log_reopen(&wk->cycle->error_log);
    hook_run(&reopen_hooks);
}

static void
on_worker_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    pc_worker_t *wk = w->data;

    PC_UNUSED(loop);
    PC_UNUSED(revents);
    switch (w->signum) {
    case SIGTERM:
    case SIGQUIT:
        worker_graceful(wk, true);
        break;
    case SIGINT:
        pc_log(PC_LOG_NOTICE, 0, "fast shutdown");
        worker_fast(wk);
        break;
    case SIGUSR1:
        worker_reopen(wk);
        break;
    case SIGHUP:
        if (W.single)
            pc_log(PC_LOG_WARN, 0, "SIGHUP ignored: reloading needs "
                   "master_process on");
        break;
    }
}

static void
on_channel(struct ev_loop *loop, ev_io *w, int revents)
{
    pc_worker_t *wk = w->data;
    char         cmd[16];
    ssize_t      n, i;

    PC_UNUSED(revents);
    n = read(w->fd, cmd, sizeof(cmd));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        /* The master is gone: nobody will tell us to stop any more. */
        pc_log(PC_LOG_ALERT, n < 0 ? errno : 0, "channel to the master "
               "closed; shutting down");
        ev_io_stop(loop, w);
        worker_graceful(wk, true);
        return;
    }
    for (i = 0; i < n; i++) {
        switch (cmd[i]) {
        case PC_CMD_QUIT:
            worker_graceful(wk, true);
            break;
        case PC_CMD_RETIRE:
            worker_graceful(wk, false);
            break;
        case PC_CMD_TERMINATE:
            worker_fast(wk);
            break;
        case PC_CMD_REOPEN:
            worker_reopen(wk);
            break;
        default:
            pc_log(PC_LOG_ALERT, 0, "unknown channel command 0x%02x",
                   (unsigned) (u_char) cmd[i]);
            break;
        }
    }
}

/* worker_rlimit_nofile, applied before anything opens descriptors. */
static void
worker_rlimit(const pc_core_conf_t *ccf)
{
    struct rlimit rl;

    if (ccf->worker_rlimit_nofile == PC_INT_UNSET)
        return;
    rl.rlim_cur = (rlim_t) ccf->worker_rlimit_nofile;
    rl.rlim_max = (rlim_t) ccf->worker_rlimit_nofile;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
        return;
    /* Unprivileged: raise the soft limit as far as the hard one allows. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = pc_min((rlim_t) ccf->worker_rlimit_nofile, rl.rlim_max);
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    pc_log(PC_LOG_ALERT, errno, "setrlimit(RLIMIT_NOFILE, %ld) failed, "
           "using %llu", (long) ccf->worker_rlimit_nofile,
           (unsigned long long) rl.rlim_cur);
}

/*
 * worker_priority: the workers' nice value.  Lowering it below the
 * master's needs privileges (root or CAP_SYS_NICE); without them the
 * worker keeps its nice value and says so (alert), as for the rlimit.
 */
static void
worker_priority(const pc_core_conf_t *ccf)
{
    int err;

    if (ccf->worker_priority == PC_INT_UNSET)
        return;
    if (setpriority(PRIO_PROCESS, 0, (int) ccf->worker_priority) < 0) {
        err = errno;
        pc_log(PC_LOG_ALERT, err, "setpriority(%ld) failed, the worker "
               "keeps nice value %d", (long) ccf->worker_priority,
               getpriority(PRIO_PROCESS, 0));
    }
}

/* Signal watchers and timers of a worker (or the single process). */
static void
worker_watchers(pc_worker_t *wk)
{
    size_t i;

    clock_start(wk->loop, &W.clock);
    for (i = 0; i < pc_nelems(worker_signals); i++) {
        ev_signal_init(&W.sigs[i], on_worker_signal, worker_signals[i]);
        W.sigs[i].data = wk;
        ev_signal_start(wk->loop, &W.sigs[i]);
        ev_unref(wk->loop);
    }
    ev_timer_init(&W.delay, on_delay, 0., 0.);
    ev_timer_init(&W.deadline, on_deadline, 0., 0.);
    ev_timer_init(&W.poll, on_drain_poll, DRAIN_POLL, DRAIN_POLL);
    W.delay.data = wk;
    W.deadline.data = wk;
    W.poll.data = wk;
}

/*
 * Set up wk to serve cycle as worker id; takes over one reference to cycle.
 * PC_ERROR (logged) when a module's init_worker fails.
 */
static pc_rc_t
worker_init(pc_worker_t *wk, pc_cycle_t *cycle, int id)
{
    const pc_core_conf_t *ccf = core_conf(cycle);
    pc_module_t          *m;
    unsigned              i;

    memset(wk, 0, sizeof(*wk));
    wk->cycle = cycle;
    wk->id = id;
    wk->pid = getpid();
    wk->max_conns = (uint32_t) ccf->worker_connections;
    pc_worker = wk;
    worker_rlimit(ccf);
    worker_priority(ccf);

    wk->module_ctx = calloc(pc_modules_n + 1, sizeof(void *));
    wk->loop = W.single ? ev_default_loop(EVFLAG_AUTO) : ev_loop_new(EVFLAG_AUTO);
    if (wk->module_ctx == NULL || wk->loop == NULL) {
        pc_log(PC_LOG_EMERG, errno, "cannot create the worker event loop");
        return PC_ERROR;
    }
    pc_time_update();
    worker_watchers(wk);

    for (i = 0; i < pc_modules_n; i++) {
        m = pc_modules[i];
        if (m->init_worker != NULL && m->init_worker(wk) != PC_OK) {
            pc_log(PC_LOG_EMERG, 0, "module \"%s\": worker initialisation "
                   "failed", m->name);
            return PC_ERROR;
        }
        W.ninited = i + 1;
    }
    return pc_accept_start(wk);
}

/* Undo worker_init; drops the worker's cycle reference. */
static void
worker_cleanup(pc_worker_t *wk)
{
    pc_module_t *m;
    unsigned     i;
    size_t       s;

    if (wk->loop != NULL) {
        pc_accept_free(wk);
        pc_conn_close_all(wk);
        for (i = W.ninited; i-- > 0;) {
            m = pc_modules[i];
            if (m->exit_worker != NULL)
                m->exit_worker(wk);
        }
        for (s = 0; s < pc_nelems(worker_signals); s++) {
            ev_ref(wk->loop);
            ev_signal_stop(wk->loop, &W.sigs[s]);
        }
        ev_ref(wk->loop);
        ev_check_stop(wk->loop, &W.clock);
        ev_timer_stop(wk->loop, &W.delay);
        ev_timer_stop(wk->loop, &W.deadline);
        ev_timer_stop(wk->loop, &W.poll);
        if (W.channel_fd >= 0)
            ev_io_stop(wk->loop, &W.channel);
        ev_loop_destroy(wk->loop);
    }
    free(wk->module_ctx);
    pc_worker = NULL;
    pc_cycle_unref(wk->cycle);
    pc_conn_free_cache();
    pc_buf_release_all();
    memset(wk, 0, sizeof(*wk));
}

/* Everything inherited from the master that a worker must not keep. */
static void
master_forget(void)
{
    unsigned i;

    for (i = 0; i < M.nprocs; i++) {
        close(M.procs[i].channel);
        pc_cycle_unref(M.procs[i].cycle);
    }
    free(M.procs);
    free(M.slots);
    M.procs = NULL;
    M.slots = NULL;
    M.nprocs = M.cap = M.nslots = 0;
    pc_cycle_unref(M.cycle);
    M.cycle = NULL;

    /* Stopping the signal watchers resets the handlers and libev's record
     * of which loop owns each signal; destroying the loop closes its epoll
     * and wake-up descriptors (the master's, shared after fork). */
    for (i = 0; i < pc_nelems(master_signals); i++)
        ev_signal_stop(M.loop, &M.sigs[i]);
    ev_child_stop(M.loop, &M.child);
    ev_loop_destroy(M.loop);
    M.loop = NULL;
}

/* In the forked child: become worker id of cycle.  Never returns. */
static void
worker_child(pc_cycle_t *cycle, int id, int master_end, int worker_end)
{
    sigset_t none;
    int      rc = 2;

    close(master_end);
    pc_cycle_ref(cycle);
    cycle->error_log.worker = id;
    pc_log_cur = &cycle->error_log;
    master_forget();

    signal(SIGHUP, SIG_IGN);
    signal(SIGUSR2, SIG_IGN);
    W.single = false;
    W.channel_fd = worker_end;
    fcntl(worker_end, F_SETFL, fcntl(worker_end, F_GETFL) | O_NONBLOCK);

    if (worker_init(&worker, cycle, id) == PC_OK) {
        ev_io_init(&W.channel, on_channel, worker_end, EV_READ);
        W.channel.data = &worker;
        ev_io_start(worker.loop, &W.channel);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        ev_run(worker.loop, 0);
        rc = 0;
    }
    worker_cleanup(&worker);
    close(worker_end);
    stats_free();
    exit(rc);
}

/* ============================================================== master */

static proc_t *
proc_find(pid_t pid)
{
    unsigned i;

    for (i = 0; i < M.nprocs; i++) {
        if (M.procs[i].pid == pid)
            return &M.procs[i];
    }
    return NULL;
}

/* Tell p to do cmd; a full or broken channel falls back to a signal. */
static void
proc_send(proc_t *p, char cmd)
{
    ssize_t n;
    int     sig;

    do {
        n = send(p->channel, &cmd, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n == 1)
        return;
    /* (A retiring worker reached by signal also honours shutdown_delay:
     * slower, never wrong.) */
    sig = cmd == PC_CMD_TERMINATE ? SIGINT : cmd == PC_CMD_REOPEN ? SIGUSR1
                                                                 : SIGQUIT;
    if (kill(p->pid, sig) < 0 && errno != ESRCH)
        pc_log(PC_LOG_ALERT, errno, "kill(%ld, %d) failed", (long) p->pid, sig);
}

/* Mark p as told to stop, with a last-resort SIGKILL deadline. */
static void
proc_quit(proc_t *p, char cmd, ev_tstamp within)
{
    ev_tstamp deadline = ev_now(M.loop) + within + KILL_GRACE;

    proc_send(p, cmd);
    p->quitting = true;
    if (p->kill_at == 0 || deadline < p->kill_at)
        p->kill_at = deadline;
    if (!ev_is_active(&M.reaper))
        ev_timer_again(M.loop, &M.reaper);
}

static pc_rc_t
spawn(int id)
{
    sigset_t all, saved;
    proc_t  *p;
    pid_t    pid;
    int      sv[2];

    if (M.nprocs == M.cap) {
        p = realloc(M.procs, (M.cap ? M.cap * 2 : 16) * sizeof(proc_t));
        if (p == NULL) {
            pc_log(PC_LOG_ALERT, errno, "no memory to start a worker");
            return PC_ERROR;
        }
        M.procs = p;
        M.cap = M.cap ? M.cap * 2 : 16;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        pc_log(PC_LOG_ALERT, errno, "socketpair() failed");
        return PC_ERROR;
    }
    fflush(NULL);
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &saved);
    pid = fork();
    if (pid == 0)
        worker_child(M.cycle, id, sv[0], sv[1]);
    sigprocmask(SIG_SETMASK, &saved, NULL);
    close(sv[1]);
    if (pid < 0) {
        pc_log(PC_LOG_ALERT, errno, "fork() failed");
        close(sv[0]);
        return PC_ERROR;
    }
    p = &M.procs[M.nprocs++];
    p->pid = pid;
    p->channel = sv[0];
    p->cycle = M.cycle;
    p->id = id;
    p->quitting = false;
    p->kill_at = 0;
    pc_cycle_ref(M.cycle);
    M.slots[id].started = ev_now(M.loop);
    pc_log(PC_LOG_NOTICE, 0, "started worker process %ld (worker %d, "
           "generation %llu)", (long) pid, id,
           (unsigned long long) M.cycle->generation);
    return PC_OK;
}

static void
respawn_arm(slot_t *s, ev_tstamp delay)
{
    pc_log(PC_LOG_NOTICE, 0, "restarting worker %d in %.1fs", s->id, delay);
    ev_timer_set(&s->respawn, delay, 0.);
    ev_timer_start(M.loop, &s->respawn);
}

static ev_tstamp
backoff_next(slot_t *s)
{
    ev_tstamp delay = s->backoff;

    s->backoff = delay == 0 ? RESPAWN_BACKOFF_MIN
                            : pc_min(delay * 2, RESPAWN_BACKOFF_MAX);
    return delay;
}

static void
on_respawn(struct ev_loop *loop, ev_timer *w, int revents)
{
    slot_t *s = w->data;

    PC_UNUSED(loop);
    PC_UNUSED(revents);
    if (M.stopping != STOP_NONE)
        return;
    if (spawn(s->id) != PC_OK)
        respawn_arm(s, pc_max(backoff_next(s), RESPAWN_BACKOFF_MIN));
}

/* A worker of the current generation died unasked: start it again, with
 * a growing delay while it keeps crashing soon after starting. */
static void
respawn(int id)
{
    slot_t   *s = &M.slots[id];
    ev_tstamp delay;

    if (ev_now(M.loop) - s->started >= RESPAWN_RESET_AFTER)
        s->backoff = 0;
    delay = backoff_next(s);
    if (delay > 0) {
        respawn_arm(s, delay);
        return;
    }
    if (spawn(id) != PC_OK)
        respawn_arm(s, pc_max(backoff_next(s), RESPAWN_BACKOFF_MIN));
}

static void
slots_free(void)
{
    unsigned i;

    for (i = 0; i < M.nslots; i++)
        ev_timer_stop(M.loop, &M.slots[i].respawn);
    free(M.slots);
    M.slots = NULL;
    M.nslots = 0;
}

static pc_rc_t
slots_create(unsigned n)
{
    unsigned i;

    slots_free();
    M.slots = calloc(n, sizeof(slot_t));
    if (M.slots == NULL) {
        pc_log(PC_LOG_ALERT, errno, "no memory for %u workers", n);
        return PC_ERROR;
    }
    M.nslots = n;
    for (i = 0; i < n; i++) {
        ev_timer_init(&M.slots[i].respawn, on_respawn, 0., 0.);
        M.slots[i].respawn.data = &M.slots[i];
        M.slots[i].id = (int) i;
    }
    return PC_OK;
}

/* Start every worker of the current generation; how many started. */
static unsigned
spawn_all(void)
{
    unsigned i, started = 0;

    for (i = 0; i < M.nslots; i++) {
        if (spawn((int) i) == PC_OK)
            started++;
        else
            respawn_arm(&M.slots[i], RESPAWN_BACKOFF_MIN);
    }
    return started;
}

static void
check_done(void)
{
    if (M.stopping != STOP_NONE && M.nprocs == 0)
        ev_break(M.loop, EVBREAK_ALL);
}

static void
log_exit(const proc_t *p, int status)
{
    int expected = p->quitting || M.stopping != STOP_NONE;

    if (WIFSIGNALED(status)) {
        pc_log(PC_LOG_ALERT, 0, "worker process %ld exited on signal %d%s",
               (long) p->pid, WTERMSIG(status),
               WCOREDUMP(status) ? " (core dumped)" : "");
    } else if (WEXITSTATUS(status) != 0 || !expected) {
        pc_log(PC_LOG_ALERT, 0, "worker process %ld exited with code %d%s",
               (long) p->pid, WEXITSTATUS(status),
               expected ? "" : " unexpectedly");
    } else {
        pc_log(PC_LOG_NOTICE, 0, "worker process %ld exited with code 0",
               (long) p->pid);
    }
}

static void
on_child(struct ev_loop *loop, ev_child *w, int revents)
{
    proc_t     *p;
    pc_cycle_t *cycle;
    bool        again;
    int         id;

    PC_UNUSED(loop);
    PC_UNUSED(revents);
    p = proc_find(w->rpid);
    if (p == NULL)
        return;
    log_exit(p, w->rstatus);
    cycle = p->cycle;
    id = p->id;
    again = !p->quitting && M.stopping == STOP_NONE && cycle == M.cycle;
    close(p->channel);
    *p = M.procs[--M.nprocs];
    pc_cycle_unref(cycle);
    if (again)
        respawn(id);
    check_done();
}

/* Every second while workers are told to stop: enforce their deadline. */
static void
on_reaper(struct ev_loop *loop, ev_timer *w, int revents)
{
    unsigned i, waiting = 0;

    PC_UNUSED(revents);
    for (i = 0; i < M.nprocs; i++) {
        if (M.procs[i].kill_at == 0)
            continue;
        if (ev_now(loop) < M.procs[i].kill_at) {
            waiting++;
            continue;
        }
        pc_log(PC_LOG_ALERT, 0, "worker process %ld did not exit in time, "
               "sending SIGKILL", (long) M.procs[i].pid);
        kill(M.procs[i].pid, SIGKILL);
        M.procs[i].kill_at = 0;
    }
    if (waiting == 0)
        ev_timer_stop(loop, w);
}

static ev_tstamp
shutdown_budget(const pc_cycle_t *cycle)
{
    const pc_core_conf_t *ccf = core_conf(cycle);

    return (ev_tstamp) (ccf->shutdown_timeout + ccf->shutdown_delay) / 1000.;
}

static void
master_stop(int how)
{
    pc_listening_t *ls;
    unsigned        i;

    if (M.stopping >= how)
        return;
    M.stopping = how;
    pc_log(PC_LOG_NOTICE, 0, "%s shutdown: stopping %u worker process%s",
           how == STOP_FAST ? "fast" : "graceful", M.nprocs, M.nprocs == 1 ? "" : "es");
    for (i = 0; i < M.nslots; i++)
        ev_timer_stop(M.loop, &M.slots[i].respawn);
    /* The workers' copies keep the sockets listening through
     * shutdown_delay; once they close theirs, nothing may hold a socket
     * whose queue nobody will ever accept from. */
    ls = M.cycle->listening.elts;
    for (i = 0; i < M.cycle->listening.nelts; i++)
        pc_listen_close(&ls[i]);
    for (i = 0; i < M.nprocs; i++) {
        if (how == STOP_FAST)
            proc_quit(&M.procs[i], PC_CMD_TERMINATE, 0);
        else if (!M.procs[i].quitting)
            proc_quit(&M.procs[i], PC_CMD_QUIT,
                      shutdown_budget(M.procs[i].cycle));
    }
    check_done();
}

static void
master_reopen(void)
{
    unsigned i;

    pc_log(PC_LOG_NOTICE, 0, "reopening logs");
    pc_log_reopen(&M.cycle->error_log);
    for (i = 0; i < M.nprocs; i++)
        proc_send(&M.procs[i], PC_CMD_REOPEN);
}

/* Settings a reload cannot change in a running master. */
static void
reload_checks(const pc_cycle_t *old, const pc_cycle_t *new)
{
    const pc_core_conf_t *o = core_conf(old), *n = core_conf(new);

    if (o->master_process != n->master_process || o->daemon != n->daemon) {
        pc_log(PC_LOG_WARN, 0, "changing \"master_process\" or \"daemon\" "
               "needs a restart; the new value is ignored until then");
    }
    if (!pc_str_eq(&o->pid, &n->pid)) {
        if (pid_write((const char *) n->pid.data) == PC_OK) {
            pid_remove(M.pid_path);
            snprintf(M.pid_path, sizeof(M.pid_path), "%s",
                     (const char *) n->pid.data);
        }
    }
}

static void
reload_failed(void)
{
    pc_log(PC_LOG_ERR, 0, "reload failed: still serving generation %llu",
           (unsigned long long) M.cycle->generation);
    if (pc_process_stats != NULL)
        pc_process_stats->reloads_failed++;
}

/* Swap in a loaded and activated cycle: new workers first, then tell the
 * old ones to finish. */
static void
reload_commit(pc_cycle_t *new)
{
    pc_cycle_t     *old = M.cycle;
    pc_listening_t *ls;
    unsigned        i, nold = M.nprocs;
    ev_tstamp       budget = shutdown_budget(old);

    reload_checks(old, new);
    M.cycle = new;
    pc_log_cur = &new->error_log;

    /* Drop the master's hold on old before forking: a new worker releases
     * exactly what the master references (M.cycle and each worker's
     * cycle), so nothing of old may hide in a local variable.  The old
     * workers have their own copies of the sockets; sockets still in use
     * live on as the new cycle's dups. */
    ls = old->listening.elts;
    for (i = 0; i < old->listening.nelts; i++)
        pc_listen_close(&ls[i]);
    pc_cycle_unref(old);

    slots_create((unsigned) core_conf(new)->worker_processes);
    spawn_all();
    for (i = 0; i < nold; i++) {
        if (!M.procs[i].quitting)
            proc_quit(&M.procs[i], PC_CMD_RETIRE, budget);
    }

    if (pc_process_stats != NULL) {
        pc_process_stats->generation = new->generation;
        pc_process_stats->workers = (uint32_t) M.nslots;
        pc_process_stats->reloads_ok++;
        pc_process_stats->last_reload_ok_ms = pc_time.wall_ms;
    }
    pc_log(PC_LOG_NOTICE, 0, "configuration reloaded, generation %llu: %u "
           "worker process%s (%s)", (unsigned long long) new->generation,
           M.nslots, M.nslots == 1 ? "" : "es", core_conf(new)->worker_reason);
}

static void
master_reload(void)
{
    pc_cycle_t *new;

    if (M.stopping != STOP_NONE)
        return;
    pc_log(PC_LOG_NOTICE, 0, "reconfiguring: reloading \"%s\"",
           M.cycle->conf_file);
    pc_time_update();
    new = pc_cycle_load(M.cycle->conf_file, M.cycle->prefix, M.cycle,
                        PC_LOG_ERR);
    if (new == NULL) {
        reload_failed();
        return;
    }
    if (pc_cycle_activate(new, M.cycle) != PC_OK) {
        pc_cycle_unref(new);
        reload_failed();
        return;
    }
    reload_commit(new);
}

static void
on_master_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    PC_UNUSED(loop);
    PC_UNUSED(revents);
    switch (w->signum) {
    case SIGHUP:
        master_reload();
        break;
    case SIGUSR1:
        master_reopen();
        break;
    case SIGTERM:
    case SIGQUIT:
        master_stop(STOP_GRACEFUL);
        break;
    case SIGINT:
        master_stop(STOP_FAST);
        break;
    case SIGUSR2:
        pc_log(PC_LOG_NOTICE, 0, "SIGUSR2 (binary upgrade) is not supported "
               "yet; ignored");
        break;
    }
}

static pc_rc_t
master_watchers(void)
{
    size_t i;

    M.loop = ev_default_loop(EVFLAG_AUTO);
    if (M.loop == NULL) {
        pc_log(PC_LOG_EMERG, 0, "cannot create the master event loop");
        return PC_ERROR;
    }
    clock_start(M.loop, &M.clock);
    /* A SIGTERM sent to the whole process group (kill -TERM -PGID, a
     * terminal's ^C) reaches the workers too; the master must know it is
     * stopping before it sees them exit, or it respawns them.  libev runs
     * child watchers at EV_MAXPRI, fed after the signals that arrived in
     * the same turn, and runs one priority last-fed first: so the signals
     * at EV_MAXPRI as well. */
    for (i = 0; i < pc_nelems(master_signals); i++) {
        ev_signal_init(&M.sigs[i], on_master_signal, master_signals[i]);
        ev_set_priority(&M.sigs[i], EV_MAXPRI);
        ev_signal_start(M.loop, &M.sigs[i]);
    }
    ev_child_init(&M.child, on_child, 0, 0);
    ev_child_start(M.loop, &M.child);
    ev_init(&M.reaper, on_reaper);
    M.reaper.repeat = 1.;
    return PC_OK;
}

static void
master_cleanup(void)
{
    size_t i;

    slots_free();
    free(M.procs);
    M.procs = NULL;
    if (M.loop != NULL) {
        for (i = 0; i < pc_nelems(master_signals); i++)
            ev_signal_stop(M.loop, &M.sigs[i]);
        ev_child_stop(M.loop, &M.child);
        ev_timer_stop(M.loop, &M.reaper);
        ev_ref(M.loop);
        ev_check_stop(M.loop, &M.clock);
        ev_loop_destroy(M.loop);
        M.loop = NULL;
    }
    pid_remove(M.pid_path);
    pc_cycle_unref(M.cycle);
    M.cycle = NULL;
    stats_free();
}

static int
master_run(pc_cycle_t *cycle)
{
    const pc_core_conf_t *ccf = core_conf(cycle);

    M.cycle = cycle;
    if (master_watchers() != PC_OK
        || slots_create((unsigned) ccf->worker_processes) != PC_OK)
    {
        master_cleanup();
        return 2;
    }
    if (spawn_all() == 0) {
        /* ev_run would cancel an ev_break made before it starts. */
        pc_log(PC_LOG_EMERG, 0, "no worker process could be started");
        master_cleanup();
        return 2;
    }
    ev_run(M.loop, 0);
    pc_log(PC_LOG_NOTICE, 0, "exiting");
    master_cleanup();
    return 0;
}

static int
single_run(pc_cycle_t *cycle)
{
    int rc = 0;

    W.single = true;
    W.channel_fd = -1;
    cycle->error_log.worker = 0;
    if (worker_init(&worker, cycle, 0) == PC_OK) {
        ev_run(worker.loop, 0);
        pc_log(PC_LOG_NOTICE, 0, "exiting");
    } else {
        rc = 2;
    }
    worker_cleanup(&worker);
    pid_remove(M.pid_path);
    stats_free();
    return rc;
}

/* See pc_process.h. */
int
pc_process_run(pc_cycle_t *cycle, const char *version)
{
    const pc_core_conf_t *ccf = core_conf(cycle);

    signal(SIGPIPE, SIG_IGN);
    if (pid_write((const char *) ccf->pid.data) != PC_OK) {
        pc_cycle_unref(cycle);
        return 2;
    }
    snprintf(M.pid_path, sizeof(M.pid_path), "%s", (const char *) ccf->pid.data);
    pc_log_adopt(&cycle->error_log);
    if (ccf->master_process) {
        pc_log(PC_LOG_NOTICE, 0, "portcullis/%s starting, generation %llu: "
               "%ld worker process%s (%s)", version,
               (unsigned long long) cycle->generation,
               (long) ccf->worker_processes,
               ccf->worker_processes == 1 ? "" : "es", ccf->worker_reason);
    } else {
        pc_log(PC_LOG_NOTICE, 0, "portcullis/%s starting as a single process "
               "(master_process off)", version);
    }
    stats_init(cycle);
    if (!ccf->master_process)
        return single_run(cycle);
    return master_run(cycle);
}

/* See pc_process.h. */
pc_rc_t
pc_process_daemon(bool keep_stderr)
{
    pid_t pid;
    int   fd;

    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        pc_log(PC_LOG_EMERG, errno, "fork() failed");
        return PC_ERROR;
    }
    if (pid > 0)
        _exit(0);
    setsid();
    /* A second fork: the daemon is not a session leader, so opening a
     * terminal can never make it the controlling one. */
    pid = fork();
    if (pid < 0) {
        pc_log(PC_LOG_EMERG, errno, "fork() failed");
        return PC_ERROR;
    }
    if (pid > 0)
        _exit(0);

    fd = open("/dev/null", O_RDWR);
    if (fd < 0) {
        pc_log(PC_LOG_EMERG, errno, "open(\"/dev/null\") failed");
        return PC_ERROR;
    }
    dup2(fd, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    if (!keep_stderr)
        dup2(fd, STDERR_FILENO);
    if (fd > STDERR_FILENO)
        close(fd);
    return PC_OK;
}
