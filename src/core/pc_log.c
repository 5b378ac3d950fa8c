/*
 * pc_log.c -- the error log.
 *
 * A line is built in a stack buffer and written with one write(2): with
 * O_APPEND that keeps lines from several processes whole.  Nothing here
 * allocates, so logging works when memory is exhausted.  Control bytes in
 * the message are escaped as \xHH: text that came from a client (a header,
 * a URI) can never start a forged log line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/pc_core.h"

/* Longest line written; longer messages end in "...". */
#define LOG_LINE_MAX  4096

/* The log used before a configuration's error log is open: stderr, with the
 * short "portcullis: [level] message" form that -t and start-up use. */
static pc_log_t log_early = { -1, PC_LOG_INFO, NULL, -1 };

pc_log_t *pc_log_cur = &log_early;

/* Warnings written to stderr before the first error log was open (a
 * certificate about to expire, a weak auth_token): kept, message part
 * only, to be written to that log too (pc_log_adopt).  Bounded: what does
 * not fit stays on stderr only, and is counted. */
#define EARLY_MAX  8192
static struct {
    char        buf[EARLY_MAX];   /* level byte, message, '\n'; ...      */
    size_t      len;
    unsigned    dropped;
    bool        done;             /* adopted: keep nothing more          */
} early;

static const char *const level_names[] = {
    "stderr", "emerg", "alert", "crit", "error", "warn", "notice", "info",
    "debug"
};

/* See pc_log.h.  Exact lowercase names only. */
int
pc_log_level_parse(const pc_str_t *name)
{
    size_t i;

    /* Index 0 ("stderr") is not a level a user can choose. */
    for (i = 1; i < pc_nelems(level_names); i++) {
        if (pc_str_eq_c(name, level_names[i]))
            return (int) i;
    }
    return -1;
}

/* See pc_log.h.  "unknown" for a value out of range. */
const char *
pc_log_level_name(int level)
{
    if (level < 0 || (size_t) level >= pc_nelems(level_names))
        return "unknown";
    return level_names[level];
}

/* Copy src[0..n) into [p, last), escaping control bytes; returns the new p.
 * Stops (without splitting an escape) when the room runs out; *all tells
 * whether everything fitted. */
static char *
copy_escaped(char *p, char *last, const char *src, size_t n, bool *all)
{
    static const char hex[] = "0123456789abcdef";
    size_t            i;
    unsigned char     ch;

    for (i = 0; i < n && p < last; i++) {
        ch = (unsigned char) src[i];
        if (ch >= 0x20 && ch != 0x7f) {
            *p++ = (char) ch;
            continue;
        }
        if (last - p < 4)
            break;
        *p++ = '\\';
        *p++ = 'x';
        *p++ = hex[ch >> 4];
        *p++ = hex[ch & 0xf];
    }
    *all = (i == n);
    return p;
}

/* Append fmt/args to [p, last) with snprintf semantics; returns new p. */
static char *
append(char *p, char *last, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static char *
append(char *p, char *last, const char *fmt, ...)
{
    va_list ap;
    int     n;

    if (p >= last)
        return p;
    va_start(ap, fmt);
    n = vsnprintf(p, (size_t) (last - p), fmt, ap);
    va_end(ap);
    if (n < 0)
        return p;
    return ((size_t) n >= (size_t) (last - p)) ? last - 1 : p + n;
}

/* "2026/11/23 19:27:00 [error] 1234#0: " (or "portcullis: [error] ") */
static char *
line_prefix(char *p, char *last, int level, const pc_log_t *log)
{
    struct timespec ts;
    struct tm       tm;
    char            when[32];
    int             worker;

    if (log->fd < 0)
        return append(p, last, "portcullis: [%s] ", pc_log_level_name(level));

    /* The cached string is right unless the second changed since the loop
     * last refreshed it; formatting here keeps the cache untouched. */
    clock_gettime(CLOCK_REALTIME, &ts);
    if (pc_time.err_log.len != 0 && pc_time.sec == ts.tv_sec) {
        p = append(p, last, "%.*s", (int) pc_time.err_log.len,
                   (const char *) pc_time.err_log.data);
    } else {
        localtime_r(&ts.tv_sec, &tm);
        strftime(when, sizeof(when), "%Y/%m/%d %H:%M:%S", &tm);
        p = append(p, last, "%s", when);
    }
    /* nginx prints a thread id here (always 0); we print the worker id, and
     * 0 for the master, so "PID#N" regexes written for nginx still match. */
    worker = log->worker < 0 ? 0 : log->worker;
    return append(p, last, " [%s] %d#%d: ", pc_log_level_name(level),
                  (int) getpid(), worker);
}

/* See pc_log.h.  log NULL means pc_log_cur.  Lines over 4 KiB end in
 * "..."; errno is preserved. */
void
pc_log_verror(int level, pc_log_t *log, int err, const char *fmt, va_list ap)
{
    char    line[LOG_LINE_MAX], msg[LOG_LINE_MAX], suffix[160], errbuf[128];
    char   *p, *last, *text;
    int     n, fd, saved = errno;
    size_t  slen = 0;
    bool    all;
    ssize_t w;

    if (log == NULL)
        log = pc_log_cur;
    if (level > log->level)
        return;

    /* The errno text is kept whole even when the message is cut. */
    if (err != 0) {
        n = snprintf(suffix, sizeof(suffix), " (%d: %s)", err,
                     strerror_r(err, errbuf, sizeof(errbuf)));
        slen = n < 0 ? 0 : pc_min((size_t) n, sizeof(suffix) - 1);
    }
    /* Room for "...", the suffix and '\n' is kept back. */
    last = line + sizeof(line) - 4 - slen;
    p = line_prefix(line, last, level, log);
    text = p;

    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (n < 0)
        n = 0;
    p = copy_escaped(p, last, msg, pc_min((size_t) n, sizeof(msg) - 1), &all);
    if (!all || (size_t) n >= sizeof(msg)) {
        memcpy(p, "...", 3);
        p += 3;
    }
    memcpy(p, suffix, slen);
    p += slen;
    *p++ = '\n';

    fd = log->fd < 0 ? STDERR_FILENO : log->fd;
    do {
        w = write(fd, line, (size_t) (p - line));
    } while (w < 0 && errno == EINTR);

    if (log == &log_early && level <= PC_LOG_WARN && !early.done) {
        if (early.len + 1 + (size_t) (p - text) <= sizeof(early.buf)) {
            early.buf[early.len++] = (char) level;
            memcpy(early.buf + early.len, text, (size_t) (p - text));
            early.len += (size_t) (p - text);
        } else {
            early.dropped++;
        }
    }
    errno = saved;
}

/* See pc_log.h. */
void
pc_log_adopt(pc_log_t *log)
{
    const char *p = early.buf, *end = early.buf + early.len, *nl;
    int         level;

    pc_log_cur = log;
    if (early.done)
        return;
    early.done = true;
    if (log->fd < 0 || log->fd == STDERR_FILENO)
        return;     /* they are there already */
    while (p < end) {
        level = (unsigned char) *p++;
        nl = memchr(p, '\n', (size_t) (end - p));
        if (nl == NULL)
            break;
        pc_log_error(level, log, 0, "%.*s (at start, before this log was open)",
                     (int) (nl - p), p);
        p = nl + 1;
    }
    if (early.dropped > 0)
        pc_log_error(PC_LOG_WARN, log, 0, "%u more warnings at start: see stderr",
                     early.dropped);
    early.len = 0;
}

/* See pc_log.h. */
void
pc_log_error(int level, pc_log_t *log, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pc_log_verror(level, log, err, fmt, ap);
    va_end(ap);
}

/* See pc_log.h. */
int
pc_log_open_file(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

/* See pc_log.h.  A log on stderr (no path) is left alone.  The new
 * file takes the old descriptor number (dup2). */
pc_rc_t
pc_log_reopen(pc_log_t *log)
{
    int fd, err;

    if (log->path == NULL || log->fd < 0)
        return PC_OK;

    fd = pc_log_open_file(log->path);
    if (fd < 0) {
        err = errno;
        pc_log_error(PC_LOG_ALERT, log, err, "open() \"%s\" failed", log->path);
        return PC_ERROR;
    }
    /* dup2 keeps the descriptor number, so nothing else holding log->fd
     * needs to learn about the new file; the old file closes atomically. */
    if (fd != log->fd) {
        if (dup2(fd, log->fd) < 0) {
            err = errno;
            close(fd);
            pc_log_error(PC_LOG_ALERT, log, err, "dup2() for \"%s\" failed",
                         log->path);
            return PC_ERROR;
        }
        close(fd);
        /* dup2 clears FD_CLOEXEC on the target; restore it. */
        fcntl(log->fd, F_SETFD, FD_CLOEXEC);
    }
    return PC_OK;
}
