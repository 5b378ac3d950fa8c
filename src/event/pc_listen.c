/*
 * pc_listen.c -- opening and inheriting listening sockets (master side).
 *
 * Sockets are opened once by the master and shared by every worker through
 * fork.  On reload a listener whose address and options are unchanged gets
 * a dup of the running socket rather than a new bind: the kernel socket and
 * its accept queue stay the same, so no queued connection is lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/pc_core.h"
#include "core/pc_cycle.h"
#include "event/pc_listen.h"

static int
backlog_of(const pc_listening_t *ls)
{
    return ls->backlog > 0 ? ls->backlog : PC_LISTEN_BACKLOG;
}

/* Socket options that must be set before bind(). */
static pc_rc_t
set_options(pc_listening_t *ls, int fd, int level)
{
    int one = 1;

    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
        pc_log(level, errno, "setsockopt(SO_REUSEADDR) on %s failed",
               ls->addr_text);
        return PC_ERROR;
    }
    if (ls->reuseport
        && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
    {
        pc_log(level, errno, "setsockopt(SO_REUSEPORT) on %s failed",
               ls->addr_text);
        return PC_ERROR;
    }
    /* [::]:80 must not also claim 0.0.0.0:80, so that both can be listed. */
    if (ls->addr.ss_family == AF_INET6
        && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
    {
        pc_log(level, errno, "setsockopt(IPV6_V6ONLY) on %s failed",
               ls->addr_text);
        return PC_ERROR;
    }
    return PC_OK;
}

/* See pc_listen.h. */
pc_rc_t
pc_listen_open(pc_listening_t *ls, int level)
{
    int fd;

    fd = socket(ls->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                0);
    if (fd < 0) {
        pc_log(level, errno, "socket() for %s failed", ls->addr_text);
        return PC_ERROR;
    }
    if (set_options(ls, fd, level) != PC_OK)
        goto failed;
    if (bind(fd, (struct sockaddr *) &ls->addr, ls->addrlen) < 0) {
        if (ls->node != NULL)
            pc_log(level, errno, "bind() to %s failed (listen in %s:%u)", ls->addr_text,
                   ls->node->file, ls->node->line);
        else
            pc_log(level, errno, "bind() to %s failed", ls->addr_text);
        goto failed;
    }
    if (listen(fd, backlog_of(ls)) < 0) {
        pc_log(level, errno, "listen() to %s, backlog %d failed",
               ls->addr_text, backlog_of(ls));
        goto failed;
    }
    ls->fd = fd;
    ls->inherited = 0;
    return PC_OK;

failed:
    close(fd);
    return PC_ERROR;
}

/* See pc_listen.h. */
pc_rc_t
pc_listen_inherit(pc_listening_t *ls, const pc_listening_t *old, int level)
{
    int fd;

    fd = fcntl(old->fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) {
        pc_log(level, errno, "dup() of the listener %s failed",
               ls->addr_text);
        return PC_ERROR;
    }
    /* listen() again only updates the backlog of a listening socket. */
    if (backlog_of(ls) != backlog_of(old) && listen(fd, backlog_of(ls)) < 0) {
        pc_log(PC_LOG_WARN, errno, "listen() to %s, backlog %d failed",
               ls->addr_text, backlog_of(ls));
    }
    ls->fd = fd;
    ls->inherited = 1;
    return PC_OK;
}

/* See pc_listen.h. */
bool
pc_listen_same(const pc_listening_t *a, const pc_listening_t *b)
{
    return a->addrlen == b->addrlen
           && memcmp(&a->addr, &b->addr, a->addrlen) == 0
           && a->reuseport == b->reuseport
           && a->ipv6only == b->ipv6only;
}

/* See pc_listen.h. */
void
pc_listen_close(pc_listening_t *ls)
{
    if (ls->fd >= 0) {
        close(ls->fd);
        ls->fd = -1;
    }
}
