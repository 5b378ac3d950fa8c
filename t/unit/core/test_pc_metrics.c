/*
 * test_pc_metrics.c -- src/core/pc_metrics.c: declaring families and
 * series from a module's init_conf, the zone the master maps, one slot per
 * process (claimed by worker id, reclaimed from a dead owner), sums over
 * slots (counters and histograms over every slot, gauges over live ones),
 * series found again by key after a reload, and a fresh zone when it must
 * grow.  Workers are real forked processes.
 *
 * Links: pc_metrics pc_cycle pc_core_module pc_conf pc_shm pc_pool pc_log ...
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "core/pc_core.h"
#include "core/pc_cycle.h"
#include "core/pc_metrics.h"

/* A test module: `t_series NAME` declares one counter series per NAME. */
typedef struct {
    pc_array_t    names;
    pc_metric_t  *gauge, *gmax, *hist, *cnst;
} tm_conf_t;

static const char *const l_name[] = { "name", NULL };
static const uint64_t    bounds[] = { 10, 100 };
static const pc_metric_def_t def_c = { "t_requests_total", "Test counter.", PC_METRIC_COUNTER,
                                       l_name, NULL, 0, 0 };
static const pc_metric_def_t def_g = { "t_conns", "Test gauge.", PC_METRIC_GAUGE, NULL,
                                       NULL, 0, 0 };
static const pc_metric_def_t def_m = { "t_up", "Test max gauge.", PC_METRIC_GAUGE_MAX, NULL,
                                       NULL, 0, 0 };
static const pc_metric_def_t def_h = { "t_seconds", "Test histogram.", PC_METRIC_HISTOGRAM,
                                       NULL, bounds, 2, 1000 };
static const pc_metric_def_t def_k = { "t_const", "Test const.", PC_METRIC_GAUGE_CONST, NULL,
                                       NULL, 0, 0 };

pc_module_t tm_module;

static const char *
set_series(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    tm_conf_t *tc = pc_cycle_main_conf(cf->cycle, tm_module);
    pc_str_t  *s = pc_array_push(&tc->names);

    PC_UNUSED(d);
    PC_UNUSED(conf);
    if (s == NULL)
        return "out of memory";
    *s = cf->node->args[0];
    return PC_CONF_OK;
}

static void *
tm_create(pc_conf_t *cf, pc_scope_e scope)
{
    tm_conf_t *tc;

    if (scope != PC_SCOPE_MAIN || (tc = pc_pcalloc(cf->pool, sizeof(*tc))) == NULL)
        return NULL;
    return pc_array_init(&tc->names, cf->pool, 4, sizeof(pc_str_t)) == PC_OK ? tc : NULL;
}

static pc_rc_t
tm_init_conf(pc_conf_t *cf)
{
    tm_conf_t          *tc = pc_cycle_main_conf(cf->cycle, tm_module);
    pc_metric_family_t *f = pc_metrics_family(cf, &def_c);
    pc_str_t           *n = tc->names.elts;
    uint32_t            i;

    for (i = 0; f != NULL && i < tc->names.nelts; i++) {
        if (pc_metrics_series(cf, f, &n[i]) == NULL)
            return PC_ERROR;
    }
    tc->gauge = pc_metrics_series(cf, pc_metrics_family(cf, &def_g), NULL);
    tc->gmax = pc_metrics_series(cf, pc_metrics_family(cf, &def_m), NULL);
    tc->hist = pc_metrics_series(cf, pc_metrics_family(cf, &def_h), NULL);
    tc->cnst = pc_metrics_series(cf, pc_metrics_family(cf, &def_k), NULL);
    pc_metrics_set_const(tc->cnst, -5);
    return f && tc->gauge && tc->gmax && tc->hist && tc->cnst ? PC_OK : PC_ERROR;
}

static const pc_directive_t tm_directives[] = {
    { "t_series", PC_CTX_MAIN, 1, 1, PC_CONF_MULTI, set_series, 0, 0, 0, NULL },
    PC_DIRECTIVE_END
};

pc_module_t tm_module = { .name = "t", .directives = tm_directives,
                          .create_conf = tm_create, .init_conf = tm_init_conf };

pc_module_t *pc_modules[] = { &pc_core_module, &tm_module, NULL };
unsigned     pc_modules_n;

void
pc_modules_init(void)
{
    unsigned i;

    for (i = 0; pc_modules[i] != NULL; i++)
        pc_modules[i]->index = i;
    pc_modules_n = i;
}

static char dir[] = "/tmp/pc_metrics_test_XXXXXX";
static char conf_path[256], prefix[256];

static pc_cycle_t *
load(const char *text, pc_cycle_t *old)
{
    FILE       *f = fopen(conf_path, "w");
    pc_cycle_t *c;

    fprintf(f, "error_log stderr;\npid %s/t.pid;\n", dir);
    fputs(text, f);
    fclose(f);
    c = pc_cycle_load(conf_path, prefix, old, PC_LOG_EMERG);
    if (c != NULL && pc_cycle_activate(c, old) != PC_OK) {
        pc_cycle_unref(c);
        return NULL;
    }
    return c;
}

static tm_conf_t *
tconf(pc_cycle_t *c)
{
    return pc_cycle_main_conf(c, tm_module);
}

/* The counter series called name in c. */
static pc_metric_t *
series(pc_cycle_t *c, const char *name)
{
    pc_metrics_t       *reg = pc_metrics_of(c);
    pc_metric_family_t *f;
    pc_metric_t        *m;

    for (f = reg->families; f != NULL; f = f->next) {
        for (m = f->series; f->nlabels == 1 && m != NULL; m = m->next) {
            if (pc_str_eq_c(&m->values[0], name))
                return m;
        }
    }
    return NULL;
}

static uint64_t
read1(const pc_metric_t *m)
{
    uint64_t v[8] = { 0 };

    pc_metrics_scan(m->reg);
    return pc_metrics_read(m, v) > 0 ? v[0] : UINT64_MAX;
}

/* A forked "worker": attach as id, count, then exit (crash: no detach) or
 * detach; with hold, wait on fd before leaving (a live worker). */
static pid_t
worker(pc_cycle_t *c, int id, uint64_t add, int64_t gauge, bool detach, int hold)
{
    pid_t pid = fork();
    char  b;
    int   rc;

    if (pid != 0)
        return pid;
    if (pc_metrics_attach(c, id) != PC_OK)
        _exit(2);
    pc_metric_add(series(c, "a"), add);
    pc_metric_set(tconf(c)->gauge, gauge);
    pc_metric_set(tconf(c)->gmax, gauge);
    if (hold >= 0 && write(hold, "r", 1) == 1 && read(hold, &b, 1) < 0)
        _exit(3);
    rc = pc_metrics_of(c)->slot_index == id ? 0 : 1;
    if (detach)
        pc_metrics_detach(c);
    _exit(rc);
}

static int
reap(pid_t pid)
{
    int st = 0;

    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
test_one_cycle(pc_cycle_t *c)
{
    tm_conf_t *tc = tconf(c);
    uint64_t   h[8];
    int        sv[2];
    char       b;
    pid_t      pid;

    ok(pc_metrics_attach(c, 0) == PC_OK && pc_metrics_of(c)->slot_index == 0, "attach: slot 0");
    ok(pc_metrics_attach(c, 0) == PC_OK, "attach again: no-op");
    pc_metric_add(series(c, "a"), 3);
    pc_metric_add(series(c, "b"), 5);
    pc_metric_set(tc->gauge, 7);
    pc_metric_set(tc->gmax, 1);
    pc_metric_observe(tc->hist, 5);
    pc_metric_observe(tc->hist, 50);
    pc_metric_observe(tc->hist, 5000);
    is_int((int) read1(series(c, "a")), 3, "counter a");
    is_int((int) read1(series(c, "b")), 5, "counter b");
    is_int((int) read1(tc->gauge), 7, "gauge");
    is_int((int) (int64_t) read1(tc->cnst), -5, "const gauge");
    ok(pc_metrics_read(tc->hist, h) == 4 && h[0] == 1 && h[1] == 1 && h[2] == 1 && h[3] == 5055,
       "histogram: one per bucket (non-cumulative), sum in units");

    is_int(reap(worker(c, 1, 10, 4, false, -1)), 0, "a worker takes slot 1 and dies (no detach)");
    is_int((int) read1(series(c, "a")), 13, "the dead worker's counts stay");
    is_int((int) read1(tc->gauge), 7, "the dead worker's gauge is not summed");
    is_int(reap(worker(c, 1, 100, 4, true, -1)), 0, "its successor reclaims slot 1");
    is_int((int) read1(series(c, "a")), 113, "and continues its counters");

    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pid = worker(c, 1, 0, 4, true, sv[1]);
    ok(read(sv[0], &b, 1) == 1, "a live worker in slot 1");
    is_int((int) read1(tc->gauge), 11, "gauges of live workers are summed");
    is_int((int) read1(tc->gmax), 4, "GAUGE_MAX takes the largest");
    is_int(reap(worker(c, 1, 1, 0, true, -1)), 1, "slot 1 busy: another worker 1 gets another slot");
    ok(write(sv[0], "q", 1) == 1, "let it go");
    is_int(reap(pid), 0, "it detaches");
    is_int((int) read1(tc->gauge), 7, "a detached worker's gauge is gone");
    is_int((int) read1(series(c, "a")), 114, "counts of every slot");
    close(sv[0]);
    close(sv[1]);
}

/* "t_series PREFIXi;" for i < n (static buffer). */
static const char *
many(const char *prefix, size_t count)
{
    static char buf[3000 * 24];
    size_t      n = 0, i;

    for (i = 0; i < count; i++)
        n += (size_t) snprintf(buf + n, sizeof(buf) - n, "t_series %s%zu;\n", prefix, i);
    return buf;
}

/* Reloads that each bring 450 new series: the zone is reused while the
 * series of past generations and the new ones fit, then grows. */
static void
test_fill(pc_cycle_t *c)
{
    pc_cycle_t *y, *z, *w;
    void       *addr = pc_metrics_of(c)->zone->addr;

    y = load(many("y", 450), c);
    ok(y != NULL && pc_metrics_of(y)->zone->addr == addr, "450 new series: the zone is reused");
    z = load(many("z", 450), y);
    ok(z != NULL && pc_metrics_of(z)->zone->addr == addr, "450 more: still fits, reused");
    w = load(many("w", 450), z);
    ok(w != NULL && pc_metrics_of(w)->zone->addr != addr
       && pc_metrics_of(w)->cells_cap == 2 * pc_metrics_of(z)->cells_cap,
       "450 more do not fit beside the old ones: a zone twice as large");
    ok(w != NULL && !series(w, "w449")->lost, "and nothing is lost");
    pc_cycle_unref(w);
    pc_cycle_unref(z);
    pc_cycle_unref(y);
}

static void
test_reload(pc_cycle_t *c1)
{
    pc_cycle_t *c2, *c3;

    c2 = load("t_series c;\nt_series a;\n", c1);
    ok(c2 != NULL, "reload loads");
    if (c2 == NULL)
        return;
    ok(pc_metrics_of(c2)->zone->addr == pc_metrics_of(c1)->zone->addr, "same zone after reload");
    ok(series(c2, "a")->cell == series(c1, "a")->cell, "a series keeps its cells");
    is_int((int) read1(series(c2, "a")), 114, "counts survive the reload");
    is_int((int) read1(series(c2, "c")), 0, "a new series starts at 0");
    is_int(reap(worker(c2, 0, 1, 0, true, -1)), 1,
        "the new generation's worker 0 gets another slot while the old one holds 0");
    is_int((int) read1(series(c1, "a")), 115, "old and new generations add up");
    ok(pc_metrics_attach(c2, 3) == PC_OK && pc_metrics_of(c2)->slot_index == 0,
       "a process attaching to the next cycle of the same zone keeps its slot");

    c3 = load(many("big", 3000), c2);
    ok(c3 != NULL && pc_metrics_of(c3)->zone->addr != pc_metrics_of(c2)->zone->addr,
       "3000 series: a larger, fresh zone");
    ok(c3 != NULL && pc_metrics_of(c3)->cells_cap >= 6000, "sized with room to spare");
    pc_metrics_detach(c2);
    pc_cycle_unref(c3);
    test_fill(c2);
    pc_cycle_unref(c2);
}

int
main(void)
{
    pc_cycle_t *c1;

    signal(SIGPIPE, SIG_IGN);
    pc_modules_init();
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(conf_path, sizeof(conf_path), "%s/t.conf", dir);
    snprintf(prefix, sizeof(prefix), "%s/", dir);
    c1 = load("t_series a;\nt_series b;\nt_series a;\n", NULL);
    ok(c1 != NULL && pc_metrics_of(c1) != NULL, "load: the registry exists");
    if (c1 == NULL)
        return done_testing();
    ok(pc_metrics_of(c1)->zone->addr != NULL, "the zone is mapped");
    ok(series(c1, "a") != NULL && series(c1, "b") != NULL, "series declared (a twice: once)");
    ok(pc_metrics_of(c1)->cells_cap == 1024 && pc_metrics_of(c1)->nslots == 64,
       "smallest zone: 1024 cells, 64 slots");
    test_one_cycle(c1);
    test_reload(c1);
    pc_metrics_detach(c1);
    pc_cycle_unref(c1);
    unlink(conf_path);
    rmdir(dir);
    return done_testing();
}
