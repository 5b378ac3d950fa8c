/*
 * pc_log.h -- the error log.
 *
 * One error log per process at a time (the current cycle's).  Lines look
 * like nginx's: "2026/11/23 19:27:00 [error] 1234#0: message" and are written
 * with a single write(2) so lines from several workers never interleave.
 * Before a log file is open (config parsing, -t) messages go to stderr as
 * "portcullis: [emerg] message".
 */
#ifndef PC_LOG_H
#define PC_LOG_H

#include <stdarg.h>
#include "core/pc_types.h"

typedef enum {
    PC_LOG_STDERR = 0,   /* always printed */
    PC_LOG_EMERG,
    PC_LOG_ALERT,
    PC_LOG_CRIT,
    PC_LOG_ERR,
    PC_LOG_WARN,
    PC_LOG_NOTICE,
    PC_LOG_INFO,
    PC_LOG_DEBUG
} pc_log_level_e;

struct pc_log_s {
    int         fd;          /* -1: stderr                                */
    int         level;       /* lines above this level are dropped        */
    char       *path;        /* NUL-terminated absolute path, or NULL     */
    int         worker;      /* worker id printed after the pid, or -1    */
};

/* The process's current error log (never NULL: starts as stderr at info). */
extern pc_log_t *pc_log_cur;

/* Format and write one line if level <= log->level.  err != 0 appends
 * " (err: strerror)".  Never blocks for long, never allocates. */
void pc_log_error(int level, pc_log_t *log, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void pc_log_verror(int level, pc_log_t *log, int err, const char *fmt, va_list ap);

/* (The parameter is not called "level": that would also replace the
 * ->level member access in the expansion.) */
#define pc_log(lvl_, err, ...)                                         \
    do {                                                               \
        if ((lvl_) <= pc_log_cur->level)                               \
            pc_log_error((lvl_), pc_log_cur, (err), __VA_ARGS__);      \
    } while (0)

/* Parse a level name ("debug".."emerg"); -1 when unknown. */
int pc_log_level_parse(const pc_str_t *name);
const char *pc_log_level_name(int level);

/* Open path for appending (O_APPEND|O_CLOEXEC, 0644); -1 and errno on failure. */
int pc_log_open_file(const char *path);

/* Make log the process's error log (pc_log_cur) at start.  The first time,
 * the warnings and worse already written to stderr are written to log too
 * (a file: an operator reads the error log, not the terminal that started
 * the master). */
void pc_log_adopt(pc_log_t *log);

/* Reopen log->path (SIGUSR1); keeps the old fd on failure.  PC_OK/PC_ERROR. */
pc_rc_t pc_log_reopen(pc_log_t *log);

#endif /* PC_LOG_H */
