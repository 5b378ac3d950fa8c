/*
 * test_pc_time.c -- the cached clocks and date strings (src/core/pc_time.c).
 * Runs with TZ set (POSIX strings, no tzdata needed) so the local-time
 * strings are predictable.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test.h"
#include "core/pc_core.h"

/* Whether s matches pat, where '9' stands for any digit. */
static int
shape(const pc_str_t *s, const char *pat)
{
    size_t i, n = strlen(pat);

    if (s->len != n)
        return 0;
    for (i = 0; i < n; i++) {
        if (pat[i] == '9' ? (s->data[i] < '0' || s->data[i] > '9')
                          : s->data[i] != (u_char) pat[i])
        {
            return 0;
        }
    }
    return 1;
}

static void
test_shapes(void)
{
    time_t    now;
    struct tm tm;
    char      want[64];
    size_t    n;

    pc_time_update();
    now = time(NULL);
    /* time() reads the coarse clock, which may lag CLOCK_REALTIME by a
     * tick: across a second boundary either may be the later one */
    ok(pc_time.sec + 1 >= now && pc_time.sec <= now + 1, "sec is the wall second");
    ok(pc_time.wall_ms / 1000 == pc_time.sec, "wall_ms agrees with sec");
    ok(pc_time.mono_ms > 0, "monotonic clock set");

    ok(pc_time.http_date.len == 29, "http_date length");
    ok(memcmp(pc_time.http_date.data + 25, " GMT", 4) == 0, "http_date in GMT");
    ok(shape(&pc_time.err_log, "9999/99/99 99:99:99"), "err_log shape: %.*s",
       (int) pc_time.err_log.len, pc_time.err_log.data);
    ok(shape(&pc_time.iso8601, "9999-99-99T99:99:99+05:30"), "iso8601 with "
       "a +05:30 offset: %.*s", (int) pc_time.iso8601.len, pc_time.iso8601.data);
    ok(pc_time.log_local.len == 26
       && memcmp(pc_time.log_local.data + 20, " +0530", 6) == 0,
       "log_local offset: %.*s", (int) pc_time.log_local.len,
       pc_time.log_local.data);

    /* The strings describe pc_time.sec exactly. */
    gmtime_r(&pc_time.sec, &tm);
    n = strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    is_str(pc_time.http_date.data, pc_time.http_date.len, want, n, "http_date");
    localtime_r(&pc_time.sec, &tm);
    n = strftime(want, sizeof(want), "%Y/%m/%d %H:%M:%S", &tm);
    is_str(pc_time.err_log.data, pc_time.err_log.len, want, n, "err_log");
    n = strftime(want, sizeof(want), "%d/%b/%Y:%H:%M:%S +0530", &tm);
    is_str(pc_time.log_local.data, pc_time.log_local.len, want, n, "log_local");
    n = strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S+05:30", &tm);
    is_str(pc_time.iso8601.data, pc_time.iso8601.len, want, n, "iso8601");
}

static void
test_monotonic(void)
{
    pc_msec_t       before;
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    const u_char   *data;

    pc_time_update();
    before = pc_time.mono_ms;
    data = pc_time.http_date.data;
    nanosleep(&ts, NULL);
    pc_time_update();
    ok(pc_time.mono_ms >= before + 19, "mono_ms advances every call "
       "(%lld -> %lld)", (long long) before, (long long) pc_time.mono_ms);
    ok(pc_time.http_date.data == data, "strings stay in the same storage");
}

static void
test_negative_offset(void)
{
    setenv("TZ", "NST3:30", 1);              /* POSIX form: UTC-03:30 */
    tzset();
    pc_time.sec = 0;                         /* force a re-format */
    pc_time_update();
    ok(pc_time.iso8601.data[19] == '-', "negative offset sign: %.*s",
       (int) pc_time.iso8601.len, pc_time.iso8601.data);
    ok(memcmp(pc_time.iso8601.data + 19, "-03:30", 6) == 0, "-03:30");
}

int
main(void)
{
    /* POSIX TZ strings need no tzdata: "IST-5:30" is UTC+05:30. */
    setenv("TZ", "IST-5:30", 1);
    tzset();
    test_shapes();
    test_monotonic();
    test_negative_offset();
    return done_testing();
}
