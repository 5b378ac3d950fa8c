/*
 * pc_cpu.c -- `worker_processes auto`: usable CPUs = affinity mask capped by
 * the cgroup CPU quota.
 *
 * Containers commonly see every host CPU in the affinity mask but get only a
 * quota of CPU time; starting one worker per host CPU there means workers
 * that are throttled in turn and long tail latencies.  Ancestor cgroups can
 * hold the limit (systemd slices, Kubernetes pods), so the whole path up to
 * the mount root is read and the smallest quota wins.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/pc_core.h"
#include "event/pc_cpu.h"

#define CG_PATH_MAX  1024

/* Parse 1*DIGIT at *p (advancing it) without overflow. */
static bool
parse_u64(const char **p, const char *last, uint64_t *out)
{
    const char *s = *p;
    uint64_t    v = 0, d;

    if (s >= last || *s < '0' || *s > '9')
        return false;
    for (; s < last && *s >= '0' && *s <= '9'; s++) {
        d = (uint64_t) (*s - '0');
        if (v > UINT64_MAX / 10 || (v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
            return false;
        v = v * 10 + d;
    }
    *p = s;
    *out = v;
    return true;
}

/* Only trailing whitespace (the kernel ends the files with '\n') remains. */
static bool
only_space(const char *p, const char *last)
{
    for (; p < last; p++) {
        if (*p != '\n' && *p != ' ' && *p != '\t')
            return false;
    }
    return true;
}

/* CPUs for quota/period, rounded up; -1 for a zero period. */
static int
quota_cpus(uint64_t quota, uint64_t period)
{
    uint64_t n;

    if (period == 0)
        return -1;
    n = quota / period + (quota % period != 0);
    if (n < 1)
        n = 1;
    return n > 65536 ? 65536 : (int) n;
}

/* See pc_cpu.h. */
int
pc_cpu_parse_cpu_max(const char *s, size_t len, uint64_t *quota,
    uint64_t *period)
{
    const char *p = s, *last = s + len;
    uint64_t    q = 0, per = 0;
    bool        unlimited = false;

    if (len >= 3 && memcmp(s, "max", 3) == 0) {
        unlimited = true;
        p += 3;
    } else if (!parse_u64(&p, last, &q)) {
        return -1;
    }
    /* The period is optional in the file format (default 100000). */
    if (p < last && *p == ' ') {
        p++;
        if (!parse_u64(&p, last, &per))
            return -1;
    } else {
        per = 100000;
    }
    if (!only_space(p, last))
        return -1;
    if (quota != NULL)
        *quota = q;
    if (period != NULL)
        *period = per;
    if (unlimited)
        return per == 0 ? -1 : 0;
    return quota_cpus(q, per);
}

/* See pc_cpu.h. */
int
pc_cpu_parse_cfs(const char *quota, size_t qlen, const char *period,
    size_t plen)
{
    const char *p, *last;
    uint64_t    q, per;

    p = period;
    last = period + plen;
    if (!parse_u64(&p, last, &per) || !only_space(p, last) || per == 0)
        return -1;

    p = quota;
    last = quota + qlen;
    if (qlen >= 2 && quota[0] == '-') {
        /* "-1" is the only negative value the kernel writes: no limit. */
        p++;
        if (!parse_u64(&p, last, &q) || q != 1 || !only_space(p, last))
            return -1;
        return 0;
    }
    if (!parse_u64(&p, last, &q) || !only_space(p, last))
        return -1;
    return quota_cpus(q, per);
}

/* Copy [p, last) into out as a C string; false when it does not fit. */
static bool
copy_field(const char *p, const char *last, char *out, size_t size)
{
    size_t n = (size_t) (last - p);

    if (n + 1 > size)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

/* Whether the comma-separated list [p, last) contains word. */
static bool
list_has(const char *p, const char *last, const char *word)
{
    size_t      wlen = strlen(word);
    const char *e;

    while (p < last) {
        e = memchr(p, ',', (size_t) (last - p));
        if (e == NULL)
            e = last;
        if ((size_t) (e - p) == wlen && memcmp(p, word, wlen) == 0)
            return true;
        p = e + 1;
    }
    return false;
}

/* See pc_cpu.h. */
pc_rc_t
pc_cpu_parse_proc_cgroup(const char *s, size_t len, bool v2, char *out,
    size_t size)
{
    const char *p = s, *last = s + len, *eol, *c1, *c2;

    /* Lines are "ID:CONTROLLERS:PATH". */
    for (; p < last; p = eol + 1) {
        eol = memchr(p, '\n', (size_t) (last - p));
        if (eol == NULL)
            eol = last;
        c1 = memchr(p, ':', (size_t) (eol - p));
        if (c1 == NULL)
            continue;
        c2 = memchr(c1 + 1, ':', (size_t) (eol - c1 - 1));
        if (c2 == NULL)
            continue;
        if (v2 ? (c1 - p == 1 && *p == '0' && c2 == c1 + 1)
               : list_has(c1 + 1, c2, "cpu"))
        {
            return copy_field(c2 + 1, eol, out, size) ? PC_OK : PC_ERROR;
        }
    }
    return PC_DECLINED;
}

/* Field n (0-based, space separated) of [p, last): *fp, *fl. */
static bool
field(const char *p, const char *last, unsigned n, const char **fp,
    const char **fl)
{
    const char *e;

    for (;;) {
        while (p < last && *p == ' ')
            p++;
        if (p >= last)
            return false;
        e = memchr(p, ' ', (size_t) (last - p));
        if (e == NULL)
            e = last;
        if (n-- == 0) {
            *fp = p;
            *fl = e;
            return true;
        }
        p = e;
    }
}

/* See pc_cpu.h. */
pc_rc_t
pc_cpu_parse_mountinfo_line(const char *s, size_t len, bool v2, char *root,
    size_t rsize, char *mnt, size_t msize)
{
    const char *last = s + len, *sep, *fs, *fsl, *opt, *optl, *r, *rl, *m, *ml;

    while (last > s && last[-1] == '\n')
        last--;
    /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SRC SUPER" */
    sep = memmem(s, (size_t) (last - s), " - ", 3);
    if (sep == NULL || !field(sep + 3, last, 0, &fs, &fsl)
        || !field(s, sep, 3, &r, &rl) || !field(s, sep, 4, &m, &ml))
    {
        return PC_DECLINED;
    }
    if (v2) {
        if (fsl - fs != 7 || memcmp(fs, "cgroup2", 7) != 0)
            return PC_DECLINED;
    } else {
        if (fsl - fs != 6 || memcmp(fs, "cgroup", 6) != 0
            || !field(sep + 3, last, 2, &opt, &optl)
            || !list_has(opt, optl, "cpu"))
        {
            return PC_DECLINED;
        }
    }
    if (!copy_field(r, rl, root, rsize) || !copy_field(m, ml, mnt, msize))
        return PC_ERROR;
    return PC_OK;
}

/* Read a small file into buf (NUL-terminated); length or -1. */
static ssize_t
read_small(const char *path, char *buf, size_t size)
{
    ssize_t n, total = 0;
    int     fd;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    while ((size_t) total < size - 1) {
        n = read(fd, buf + total, size - 1 - (size_t) total);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        total += n;
    }
    close(fd);
    buf[total] = '\0';
    return total;
}

/* CPUs in the affinity mask (or online CPUs when that fails). */
static int
affinity_cpus(void)
{
    cpu_set_t *set;
    size_t     size;
    int        n = -1, ncpu;
    long       online;

    for (ncpu = 1024; ncpu <= 65536 && n < 0; ncpu *= 4) {
        set = CPU_ALLOC((size_t) ncpu);
        if (set == NULL)
            break;
        size = CPU_ALLOC_SIZE((size_t) ncpu);
        CPU_ZERO_S(size, set);
        if (sched_getaffinity(0, size, set) == 0)
            n = CPU_COUNT_S(size, set);
        else if (errno != EINVAL)
            ncpu = 65536;
        CPU_FREE(set);
    }
    if (n > 0)
        return n;
    online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int) pc_min(online, 65536L) : 1;
}

/* The mount point (and its root) of the cgroup hierarchy, from mountinfo. */
static bool
find_mount(bool v2, char *root, size_t rsize, char *mnt, size_t msize)
{
    FILE   *f;
    char   *line = NULL;
    size_t  cap = 0;
    ssize_t n;
    bool    found = false;

    f = fopen("/proc/self/mountinfo", "re");
    if (f == NULL)
        return false;
    while (!found && (n = getline(&line, &cap, f)) > 0) {
        found = pc_cpu_parse_mountinfo_line(line, (size_t) n, v2, root, rsize,
                                            mnt, msize) == PC_OK;
    }
    free(line);
    fclose(f);
    return found;
}

/* dir/file into out; false when it does not fit. */
static bool
join(char *out, size_t size, const char *dir, const char *file)
{
    int n = snprintf(out, size, "%s/%s", dir, file);

    return n >= 0 && (size_t) n < size;
}

/* Quota at one directory: CPUs (>= 1), 0 unlimited/absent. */
static int
dir_quota(const char *dir, bool v2, char *what, size_t wsize)
{
    char path[3 * CG_PATH_MAX + 32], q[64], per[64];
    ssize_t ql, pl;
    uint64_t quota, period;
    int      cpus;

    if (v2) {
        if (!join(path, sizeof(path), dir, "cpu.max")
            || (ql = read_small(path, q, sizeof(q))) < 0)
            return 0;
        cpus = pc_cpu_parse_cpu_max(q, (size_t) ql, &quota, &period);
        if (cpus > 0)
            snprintf(what, wsize, "cgroup v2 cpu.max %llu/%llu",
                     (unsigned long long) quota, (unsigned long long) period);
        return cpus > 0 ? cpus : 0;
    }
    if (!join(path, sizeof(path), dir, "cpu.cfs_quota_us")
        || (ql = read_small(path, q, sizeof(q))) < 0
        || !join(path, sizeof(path), dir, "cpu.cfs_period_us")
        || (pl = read_small(path, per, sizeof(per))) < 0)
    {
        return 0;
    }
    cpus = pc_cpu_parse_cfs(q, (size_t) ql, per, (size_t) pl);
    if (cpus > 0)
        snprintf(what, wsize, "cgroup v1 cfs quota %.*s/%.*s",
                 (int) strcspn(q, "\n"), q, (int) strcspn(per, "\n"), per);
    return cpus > 0 ? cpus : 0;
}

/* Smallest quota from the process's cgroup up to the hierarchy root. */
static int
cgroup_cpus(bool v2, char *what, size_t wsize)
{
    char   buf[8192], cg[CG_PATH_MAX], root[CG_PATH_MAX], mnt[CG_PATH_MAX];
    char   dir[3 * CG_PATH_MAX], here[128];
    const char *rel;
    size_t  rlen, mlen;
    ssize_t n;
    int     best = 0, cpus;
    char   *slash;

    n = read_small("/proc/self/cgroup", buf, sizeof(buf));
    if (n < 0 || pc_cpu_parse_proc_cgroup(buf, (size_t) n, v2, cg, sizeof(cg)) != PC_OK
        || !find_mount(v2, root, sizeof(root), mnt, sizeof(mnt)))
    {
        return 0;
    }
    /* Without a cgroup namespace the path includes the mount's own root
     * (e.g. /docker/ID mounted at /sys/fs/cgroup/cpu): strip it. */
    rlen = strlen(root);
    rel = cg;
    if (strcmp(root, "/") != 0 && strncmp(cg, root, rlen) == 0
        && (cg[rlen] == '/' || cg[rlen] == '\0'))
    {
        rel = cg + rlen;
    }
    snprintf(dir, sizeof(dir), "%s%s", mnt, strcmp(rel, "/") == 0 ? "" : rel);
    mlen = strlen(mnt);

    for (;;) {
        cpus = dir_quota(dir, v2, here, sizeof(here));
        if (cpus > 0 && (best == 0 || cpus < best)) {
            best = cpus;
            snprintf(what, wsize, "%s", here);
        }
        slash = strrchr(dir, '/');
        if (strlen(dir) <= mlen || slash == NULL || (size_t) (slash - dir) < mlen)
            break;
        *slash = '\0';
    }
    return best;
}

/* See pc_cpu.h. */
int
pc_cpu_auto(char *reason, size_t size)
{
    char what[128];
    int  n, q;

    n = affinity_cpus();
    what[0] = '\0';
    q = cgroup_cpus(true, what, sizeof(what));
    if (q == 0)
        q = cgroup_cpus(false, what, sizeof(what));

    if (q > 0 && q < n) {
        snprintf(reason, size, "auto: %d CPU%s in affinity mask, capped to %d "
                 "by %s", n, n == 1 ? "" : "s", q, what);
        return q;
    }
    if (q > 0) {
        snprintf(reason, size, "auto: %d CPU%s in affinity mask (%s allows %d)",
                 n, n == 1 ? "" : "s", what, q);
        return n;
    }
    snprintf(reason, size, "auto: %d CPU%s in affinity mask, no cgroup quota",
             n, n == 1 ? "" : "s");
    return n;
}
