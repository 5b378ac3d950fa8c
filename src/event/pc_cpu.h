/*
 * pc_cpu.h -- how many CPUs this process may really use, for
 * `worker_processes auto` (SPEC §4 Core, ARCHITECTURE §1).
 *
 * The count is the scheduler affinity mask, capped by the cgroup CPU quota
 * (v2 cpu.max, or v1 cpu.cfs_quota_us / cpu.cfs_period_us) rounded up, and
 * at least 1.  The parsers are pure functions over the file contents so they
 * can be unit-tested without a cgroup.
 */
#ifndef PC_CPU_H
#define PC_CPU_H

#include "core/pc_types.h"

/*
 * Parse the contents of a cgroup v2 cpu.max file ("max 100000",
 * "150000 100000", trailing newline allowed).  Returns the quota in whole
 * CPUs rounded up (>= 1), 0 when unlimited ("max"), -1 when malformed.
 * *quota and *period receive the numbers when not NULL (0 for "max").
 */
int pc_cpu_parse_cpu_max(const char *s, size_t len, uint64_t *quota,
    uint64_t *period);

/*
 * Parse cgroup v1 cpu.cfs_quota_us and cpu.cfs_period_us contents.
 * Returns CPUs rounded up (>= 1), 0 when unlimited (quota "-1"), -1 when
 * malformed (including a zero period).
 */
int pc_cpu_parse_cfs(const char *quota, size_t qlen, const char *period,
    size_t plen);

/*
 * Find the cgroup path of this process in /proc/self/cgroup contents:
 * the "0::PATH" line when v2 is true, else the v1 line whose controller
 * list contains "cpu".  Copies PATH (NUL-terminated) into out.  PC_OK, or
 * PC_DECLINED when absent, PC_ERROR when it does not fit.
 */
pc_rc_t pc_cpu_parse_proc_cgroup(const char *s, size_t len, bool v2,
    char *out, size_t size);

/*
 * Parse one /proc/self/mountinfo line: when it is a cgroup2 mount (v2) or a
 * cgroup v1 mount with the "cpu" controller, copy its root and mount point
 * (NUL-terminated, octal escapes kept) and return PC_OK; PC_DECLINED for any
 * other line, PC_ERROR when a field does not fit.
 */
pc_rc_t pc_cpu_parse_mountinfo_line(const char *s, size_t len, bool v2,
    char *root, size_t rsize, char *mnt, size_t msize);

/*
 * The number of worker processes `auto` means on this machine, >= 1, with a
 * sentence saying why in reason ("auto: 4 CPUs in affinity mask, capped to
 * 2 by cgroup v2 cpu.max 150000/100000").  Reads /proc and /sys; config
 * time only.
 */
int pc_cpu_auto(char *reason, size_t size);

#endif /* PC_CPU_H */
