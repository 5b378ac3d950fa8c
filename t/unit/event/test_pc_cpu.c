/*
 * test_pc_cpu.c -- the pure parsers behind `worker_processes auto`
 * (src/event/pc_cpu.c): cgroup v2 cpu.max, v1 cfs quota/period,
 * /proc/self/cgroup and /proc/self/mountinfo lines.
 */
#include <string.h>

#include "test.h"
#include "event/pc_cpu.h"

#define S(lit)  (lit), (sizeof(lit) - 1)

static void
test_cpu_max(void)
{
    uint64_t q = 7, p = 7;

    is_int(pc_cpu_parse_cpu_max(S("max 100000\n"), &q, &p), 0, "max: unlimited");
    is_int(q, 0, "max: quota 0");
    is_int(p, 100000, "max: period");
    is_int(pc_cpu_parse_cpu_max(S("200000 100000\n"), &q, &p), 2, "2 CPUs");
    is_int(q, 200000, "quota read");
    is_int(pc_cpu_parse_cpu_max(S("150000 100000"), NULL, NULL), 2,
           "1.5 CPUs rounds up to 2");
    is_int(pc_cpu_parse_cpu_max(S("100001 100000\n"), NULL, NULL), 2,
           "just over 1 CPU rounds up");
    is_int(pc_cpu_parse_cpu_max(S("50000 100000\n"), NULL, NULL), 1,
           "half a CPU is at least 1");
    is_int(pc_cpu_parse_cpu_max(S("1 100000\n"), NULL, NULL), 1, "tiny quota");
    is_int(pc_cpu_parse_cpu_max(S("400000\n"), NULL, NULL), 4,
           "period omitted defaults to 100000");
    is_int(pc_cpu_parse_cpu_max(S("max\n"), NULL, NULL), 0, "bare max");
    is_int(pc_cpu_parse_cpu_max(S("100000 0\n"), NULL, NULL), -1, "zero period");
    is_int(pc_cpu_parse_cpu_max(S("max 0\n"), NULL, NULL), -1,
           "max with zero period");
    is_int(pc_cpu_parse_cpu_max(S(""), NULL, NULL), -1, "empty");
    is_int(pc_cpu_parse_cpu_max(S("\n"), NULL, NULL), -1, "newline only");
    is_int(pc_cpu_parse_cpu_max(S("-1 100000\n"), NULL, NULL), -1, "negative");
    is_int(pc_cpu_parse_cpu_max(S("abc 100000\n"), NULL, NULL), -1, "letters");
    is_int(pc_cpu_parse_cpu_max(S("100000  100000\n"), NULL, NULL), -1,
           "two spaces");
    is_int(pc_cpu_parse_cpu_max(S("100000 100000 5\n"), NULL, NULL), -1,
           "trailing field");
    is_int(pc_cpu_parse_cpu_max(S("maxx 100000\n"), NULL, NULL), -1, "maxx");
    is_int(pc_cpu_parse_cpu_max(S("99999999999999999999999 100000\n"), NULL,
                                NULL), -1, "overflow");
    is_int(pc_cpu_parse_cpu_max(S("18446744073709551615 1\n"), NULL, NULL),
           65536, "huge quota is capped");
    is_int(pc_cpu_parse_cpu_max(S("200000 100000\0"), NULL, NULL), -1,
           "NUL after the value");
}

static void
test_cfs(void)
{
    is_int(pc_cpu_parse_cfs(S("-1\n"), S("100000\n")), 0, "v1 unlimited");
    is_int(pc_cpu_parse_cfs(S("300000\n"), S("100000\n")), 3, "v1 3 CPUs");
    is_int(pc_cpu_parse_cfs(S("250000\n"), S("100000\n")), 3, "v1 2.5 → 3");
    is_int(pc_cpu_parse_cfs(S("1000"), S("100000")), 1, "v1 small quota → 1");
    is_int(pc_cpu_parse_cfs(S("300000\n"), S("0\n")), -1, "v1 zero period");
    is_int(pc_cpu_parse_cfs(S("-2\n"), S("100000\n")), -1, "v1 -2");
    is_int(pc_cpu_parse_cfs(S("-\n"), S("100000\n")), -1, "v1 bare minus");
    is_int(pc_cpu_parse_cfs(S(""), S("100000\n")), -1, "v1 empty quota");
    is_int(pc_cpu_parse_cfs(S("100000\n"), S("")), -1, "v1 empty period");
    is_int(pc_cpu_parse_cfs(S("1x\n"), S("100000\n")), -1, "v1 junk");
}

static void
test_proc_cgroup(void)
{
    char out[64];
    const char v2[] = "0::/system.slice/portcullis.service\n";
    const char v1[] = "12:pids:/x\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/y\n";
    const char hybrid[] = "4:cpuset:/a\n3:cpu,cpuacct:/k8s/pod\n0::/init.scope\n";

    is_int(pc_cpu_parse_proc_cgroup(S(v2), true, out, sizeof(out)), PC_OK, "v2 line");
    is_str(out, strlen(out), "/system.slice/portcullis.service",
           strlen("/system.slice/portcullis.service"), "v2 path");
    is_int(pc_cpu_parse_proc_cgroup(S(v2), false, out, sizeof(out)), PC_DECLINED,
           "no v1 cpu line in a v2-only file");
    is_int(pc_cpu_parse_proc_cgroup(S(v1), false, out, sizeof(out)), PC_OK, "v1 cpu line");
    is_str(out, strlen(out), "/docker/abc", 11, "v1 path");
    is_int(pc_cpu_parse_proc_cgroup(S(v1), true, out, sizeof(out)), PC_DECLINED,
           "no v2 line in a v1-only file");
    is_int(pc_cpu_parse_proc_cgroup(S(hybrid), false, out, sizeof(out)), PC_OK,
           "hybrid: v1 cpu");
    is_str(out, strlen(out), "/k8s/pod", 8, "hybrid v1 path");
    is_int(pc_cpu_parse_proc_cgroup(S(hybrid), true, out, sizeof(out)), PC_OK,
           "hybrid: v2");
    is_str(out, strlen(out), "/init.scope", 11, "hybrid v2 path");
    is_int(pc_cpu_parse_proc_cgroup(S("4:cpuset:/a\n"), false, out, sizeof(out)),
           PC_DECLINED, "cpuset is not cpu");
    is_int(pc_cpu_parse_proc_cgroup(S("0::/abcdefghijklmnop\n"), true, out, 8),
           PC_ERROR, "path too long for the buffer");
    is_int(pc_cpu_parse_proc_cgroup(S(""), true, out, sizeof(out)), PC_DECLINED,
           "empty file");
    is_int(pc_cpu_parse_proc_cgroup(S("garbage\n::\n"), true, out, sizeof(out)),
           PC_DECLINED, "garbage lines");
    is_int(pc_cpu_parse_proc_cgroup(S("0::/"), true, out, sizeof(out)), PC_OK,
           "root without newline");
    is_str(out, strlen(out), "/", 1, "root path");
}

static void
test_mountinfo(void)
{
    char root[64], mnt[64];
    const char v2[] = "35 24 0:30 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 "
                      "cgroup2 rw,nsdelegate\n";
    const char v1[] = "40 30 0:35 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid "
                      "master:17 - cgroup cgroup rw,cpu,cpuacct\n";
    const char v1set[] = "41 30 0:36 / /sys/fs/cgroup/cpuset rw - cgroup cgroup "
                         "rw,cpuset\n";
    const char other[] = "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n";

    is_int(pc_cpu_parse_mountinfo_line(S(v2), true, root, 64, mnt, 64), PC_OK,
           "cgroup2 mount");
    is_str(mnt, strlen(mnt), "/sys/fs/cgroup", 14, "cgroup2 mount point");
    is_str(root, strlen(root), "/", 1, "cgroup2 root");
    is_int(pc_cpu_parse_mountinfo_line(S(v2), false, root, 64, mnt, 64),
           PC_DECLINED, "cgroup2 is not v1");
    is_int(pc_cpu_parse_mountinfo_line(S(v1), false, root, 64, mnt, 64), PC_OK,
           "v1 cpu mount");
    is_str(mnt, strlen(mnt), "/sys/fs/cgroup/cpu,cpuacct", 26, "v1 mount point");
    is_str(root, strlen(root), "/docker/abc", 11, "v1 root");
    is_int(pc_cpu_parse_mountinfo_line(S(v1set), false, root, 64, mnt, 64),
           PC_DECLINED, "cpuset mount is not cpu");
    is_int(pc_cpu_parse_mountinfo_line(S(other), true, root, 64, mnt, 64),
           PC_DECLINED, "ext4");
    is_int(pc_cpu_parse_mountinfo_line(S("35 24 0:30 / /x rw"), true, root, 64,
                                       mnt, 64), PC_DECLINED, "no separator");
    is_int(pc_cpu_parse_mountinfo_line(S(""), true, root, 64, mnt, 64),
           PC_DECLINED, "empty line");
    is_int(pc_cpu_parse_mountinfo_line(S(" - cgroup2 x y"), true, root, 64, mnt,
                                       64), PC_DECLINED, "missing fields");
    is_int(pc_cpu_parse_mountinfo_line(S(v2), true, root, 64, mnt, 8), PC_ERROR,
           "mount point too long");
}

static void
test_auto(void)
{
    char reason[256];
    int  n;

    reason[0] = '\0';
    n = pc_cpu_auto(reason, sizeof(reason));
    ok(n >= 1, "auto gives at least one worker (%d)", n);
    ok(strncmp(reason, "auto: ", 6) == 0, "reason says why: %s", reason);
}

int
main(void)
{
    test_cpu_max();
    test_cfs();
    test_proc_cgroup();
    test_mountinfo();
    test_auto();
    return done_testing();
}
