/*
 * test_pc_log.c -- the error log (src/core/pc_log.c): line format, level
 * filter, errno suffix, control-byte escaping, truncation, reopen.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "core/pc_core.h"

static char path[] = "/tmp/pc_log_test_XXXXXX";

/* The whole file into buf (NUL-terminated); its length. */
static size_t
slurp(const char *p, char *buf, size_t size)
{
    int     fd = open(p, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);

    if (fd >= 0)
        close(fd);
    if (n < 0)
        n = 0;
    buf[n] = '\0';
    return (size_t) n;
}

static void
reset(pc_log_t *log)
{
    if (ftruncate(log->fd, 0) != 0)
        diag("ftruncate failed");
}

static void
test_format(pc_log_t *log)
{
    char  buf[8192], want[64];
    char *msg;

    reset(log);
    pc_log_error(PC_LOG_ERR, log, 0, "hello %d", 42);
    slurp(path, buf, sizeof(buf));
    ok(strlen(buf) > 20 && buf[4] == '/' && buf[7] == '/' && buf[10] == ' '
       && buf[13] == ':', "date and time first");
    snprintf(want, sizeof(want), " [error] %d#3: hello 42\n", (int) getpid());
    ok(strcmp(buf + 19, want) == 0, "level, pid#worker, message");

    reset(log);
    pc_log_error(PC_LOG_CRIT, log, ENOENT, "open() \"%s\" failed", "/x");
    slurp(path, buf, sizeof(buf));
    msg = strstr(buf, ": open()");
    ok(msg != NULL && strcmp(msg, ": open() \"/x\" failed (2: No such file or "
       "directory)\n") == 0, "errno suffix");

    reset(log);
    pc_log_error(PC_LOG_INFO, log, 0, "dropped");
    pc_log_error(PC_LOG_WARN, log, 0, "kept");
    slurp(path, buf, sizeof(buf));
    ok(strstr(buf, "dropped") == NULL && strstr(buf, "[warn]") != NULL,
       "levels above log->level are dropped");
}

static void
test_escape(pc_log_t *log)
{
    char buf[8192];

    reset(log);
    pc_log_error(PC_LOG_ERR, log, 0, "a\nb\r\x1b[31m\x7f\xc3\xa9 \"q\"");
    slurp(path, buf, sizeof(buf));
    ok(strstr(buf, "a\\x0ab\\x0d\\x1b[31m\\x7f\xc3\xa9 \"q\"\n") != NULL,
       "control bytes escaped, UTF-8 kept");
    ok(strchr(buf, '\n') == buf + strlen(buf) - 1, "exactly one line");
}

static void
test_truncation(pc_log_t *log)
{
    char   big[10000], buf[16384];
    size_t n;

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    reset(log);
    pc_log_error(PC_LOG_ERR, log, 0, "%s", big);
    n = slurp(path, buf, sizeof(buf));
    ok(n <= 4096, "a long line is cut at 4 KiB (%zu)", n);
    ok(n > 3000 && memcmp(buf + n - 4, "...\n", 4) == 0, "and ends in ...");

    /* Escapes near the end are never split. */
    memset(big, '\x01', 5000);
    big[5000] = '\0';
    reset(log);
    pc_log_error(PC_LOG_ERR, log, EPIPE, "%s", big);
    n = slurp(path, buf, sizeof(buf));
    ok(n <= 4096 && n > 4000, "escaped line cut (%zu)", n);
    ok(strstr(buf, "\\x01... (32: Broken pipe)\n") != NULL,
       "cut after a whole escape, errno text kept whole");
}

static void
test_levels(void)
{
    pc_str_t s;
    int      i;

    for (i = PC_LOG_EMERG; i <= PC_LOG_DEBUG; i++) {
        s.data = (u_char *) pc_log_level_name(i);
        s.len = strlen((const char *) s.data);
        is_int(pc_log_level_parse(&s), i, "level %s round-trips", s.data);
    }
    pc_str_set(&s, "stderr");
    is_int(pc_log_level_parse(&s), -1, "stderr is not a level");
    pc_str_set(&s, "ERROR");
    is_int(pc_log_level_parse(&s), -1, "names are lowercase");
    pc_str_set(&s, "");
    is_int(pc_log_level_parse(&s), -1, "empty");
    ok(strcmp(pc_log_level_name(99), "unknown") == 0, "out of range name");
}

static void
test_reopen(pc_log_t *log)
{
    char moved[64], buf[4096];
    int  fd = log->fd;

    snprintf(moved, sizeof(moved), "%s.1", path);
    reset(log);
    pc_log_error(PC_LOG_ERR, log, 0, "before");
    ok(rename(path, moved) == 0, "rotate");
    ok(pc_log_reopen(log) == PC_OK, "reopen");
    is_int(log->fd, fd, "same descriptor number");
    pc_log_error(PC_LOG_ERR, log, 0, "after");
    slurp(path, buf, sizeof(buf));
    ok(strstr(buf, "after") != NULL && strstr(buf, "before") == NULL,
       "new lines go to the new file");
    slurp(moved, buf, sizeof(buf));
    ok(strstr(buf, "before") != NULL && strstr(buf, "after") == NULL,
       "old lines stay in the rotated one");
    unlink(moved);
    ok((fcntl(log->fd, F_GETFD) & FD_CLOEXEC) != 0, "still close-on-exec");
}

int
main(void)
{
    pc_log_t log;
    int      fd = mkstemp(path);

    if (fd < 0)
        return 1;
    close(fd);
    pc_time_update();
    log.fd = pc_log_open_file(path);
    log.level = PC_LOG_WARN;
    log.path = path;
    log.worker = 3;
    ok(log.fd >= 0, "open");
    ok(pc_log_cur != NULL && pc_log_cur->fd == -1, "starts on stderr");

    test_format(&log);
    test_escape(&log);
    test_truncation(&log);
    test_levels();
    test_reopen(&log);

    close(log.fd);
    unlink(path);
    return done_testing();
}
