/*
 * pc_time.c -- cached clocks and date strings.
 *
 * The event loops call pc_time_update() once per iteration.  Reading the two
 * clocks is a vDSO call; the strings are only re-formatted when the wall
 * second changes, so the hot path never calls strftime.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/pc_core.h"

pc_time_t pc_time;

/* Backing store of the cached strings (pc_time's pc_str_t point here). */
static u_char http_date_buf[sizeof("Mon, 28 Sep 1970 06:00:00 GMT")];
static u_char log_local_buf[sizeof("28/Sep/1970:12:00:00 +0600")];
static u_char iso8601_buf[sizeof("1970-09-28T12:00:00+06:00")];
static u_char err_log_buf[sizeof("1970/09/28 12:00:00")];

static const char *const week[] = {
    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};
static const char *const months[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* snprintf into buf and point str at it. */
#define SET_STR(str, buf, ...)                                          \
    do {                                                                \
        int n_ = snprintf((char *) (buf), sizeof(buf), __VA_ARGS__);    \
        (str).data = (buf);                                             \
        (str).len = (n_ < 0) ? 0 : pc_min((size_t) n_, sizeof(buf) - 1); \
    } while (0)

/* Re-format every cached string for wall second sec. */
static void
format_strings(time_t sec)
{
    struct tm gmt, loc;
    long      off;
    char      sign;

    gmtime_r(&sec, &gmt);
    localtime_r(&sec, &loc);

    SET_STR(pc_time.http_date, http_date_buf,
            "%s, %02d %s %04d %02d:%02d:%02d GMT",
            week[gmt.tm_wday], gmt.tm_mday, months[gmt.tm_mon],
            gmt.tm_year + 1900, gmt.tm_hour, gmt.tm_min, gmt.tm_sec);

    off = loc.tm_gmtoff / 60;       /* minutes east of UTC */
    sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;

    SET_STR(pc_time.log_local, log_local_buf,
            "%02d/%s/%04d:%02d:%02d:%02d %c%02ld%02ld",
            loc.tm_mday, months[loc.tm_mon], loc.tm_year + 1900,
            loc.tm_hour, loc.tm_min, loc.tm_sec, sign, off / 60, off % 60);

    SET_STR(pc_time.iso8601, iso8601_buf,
            "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
            loc.tm_year + 1900, loc.tm_mon + 1, loc.tm_mday,
            loc.tm_hour, loc.tm_min, loc.tm_sec, sign, off / 60, off % 60);

    SET_STR(pc_time.err_log, err_log_buf,
            "%04d/%02d/%02d %02d:%02d:%02d",
            loc.tm_year + 1900, loc.tm_mon + 1, loc.tm_mday,
            loc.tm_hour, loc.tm_min, loc.tm_sec);
}

/* See pc_time.h.  Two clock_gettime calls; strings are re-formatted
 * only when the wall second changes. */
void
pc_time_update(void)
{
    struct timespec mono, wall;

    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME, &wall);

    pc_time.mono_ms = (pc_msec_t) mono.tv_sec * 1000 + mono.tv_nsec / 1000000;
    pc_time.wall_ms = (int64_t) wall.tv_sec * 1000 + wall.tv_nsec / 1000000;

    if (wall.tv_sec != pc_time.sec || pc_time.http_date.len == 0) {
        format_strings(wall.tv_sec);
        pc_time.sec = wall.tv_sec;
    }
}
