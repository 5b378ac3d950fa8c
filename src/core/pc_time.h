/*
 * pc_time.h -- cached time: a monotonic millisecond clock and pre-formatted
 * wall-clock strings, refreshed once per event-loop iteration so the hot
 * path never formats a date.
 */
#ifndef PC_TIME_H
#define PC_TIME_H

#include <time.h>
#include "core/pc_types.h"

typedef struct {
    pc_msec_t   mono_ms;        /* CLOCK_MONOTONIC in ms                      */
    int64_t     wall_ms;        /* CLOCK_REALTIME in ms since the epoch       */
    time_t      sec;            /* wall seconds                               */
    pc_str_t    http_date;      /* "Mon, 23 Nov 2026 19:27:00 GMT"            */
    pc_str_t    log_local;      /* "23/Nov/2026:19:27:00 +0000"  ($time_local) */
    pc_str_t    iso8601;        /* "2026-11-23T19:27:00+00:00"  ($time_iso8601) */
    pc_str_t    err_log;        /* "2026/11/23 19:27:00"        (error log)   */
} pc_time_t;

extern pc_time_t pc_time;

/* Refresh the cache; cheap when the second has not changed. */
void pc_time_update(void);

#endif /* PC_TIME_H */
