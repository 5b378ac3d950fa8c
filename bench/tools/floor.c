/*
 * floor.c -- the kernel's floor for a keep-alive HTTP/1.1 proxy on this
 * machine: a TCP relay that does the socket work every such proxy does per
 * request (receive the request, send it upstream, receive the response,
 * send it back) and nothing else.  No parsing, no headers, no timers, no
 * pool: each client connection gets its own upstream connection, opened
 * when the client connects, and bytes are copied through as they come.
 *
 * Its worker CPU per request, measured side by side with the proxies
 * (bench/run.sh proxy floor floor-lt portcullis nginx haproxy), is what is
 * left when everything a proxy does in user space costs nothing.
 *
 *   floor LISTEN_PORT et|lt UPSTREAM_PORT...
 *
 * "et" uses edge-triggered epoll, "lt" level-triggered, as libev (and so
 * Portcullis) does.  Binds 127.0.0.1 only; runs until killed.  Not part of
 * Portcullis: a measuring stick for bench/ alone.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* A client and its upstream.  epoll's data is the pair with the side in
 * the low bit. */
typedef struct pair {
    int          fd[2];
    struct pair *next_dead;
} pair_t;

static char buf[65536];

static void
die(const char *what)
{
    perror(what);
    exit(1);
}

static struct sockaddr_in
loopback(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* Sends all of n bytes; waits on a full socket buffer (never with the
 * benchmark's small messages). */
static int
send_all(int fd, const char *b, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

        if (w > 0) {
            b += w;
            n -= (size_t) w;
        } else if (w < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};

            if (poll(&p, 1, 10000) <= 0) {
                return -1;
            }
        } else if (w < 0 && errno != EINTR) {
            return -1;
        }
    }
    return 0;
}

int
main(int argc, char **argv)
{
    struct epoll_event evs[512], ev;
    struct sockaddr_in a;
    pair_t *dead;
    unsigned rr = 0, trig;
    int ls, ep, one = 1, nup, i, n;

    if (argc < 4 || (strcmp(argv[2], "et") != 0 && strcmp(argv[2], "lt") != 0)) {
        fprintf(stderr, "usage: floor LISTEN_PORT et|lt UPSTREAM_PORT...\n");
        return 2;
    }
    trig = strcmp(argv[2], "et") == 0 ? EPOLLET : 0;
    nup = argc - 3;

    ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
        die("socket");
    }
    a = loopback(atoi(argv[1]));
    if (bind(ls, (struct sockaddr *) &a, sizeof a) != 0 || listen(ls, 4096) != 0) {
        die("bind");
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = NULL};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) != 0) {
        die("epoll");
    }

    for (;;) {
        n = epoll_wait(ep, evs, 512, -1);
        if (n < 0 && errno != EINTR) {
            die("epoll_wait");
        }
        dead = NULL;
        for (i = 0; i < n; i++) {
            uintptr_t d = (uintptr_t) evs[i].data.ptr;
            pair_t *p = (pair_t *) (d & ~(uintptr_t) 1);
            int side = (int) (d & 1), c;

            if (p == NULL) {
                while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    struct sockaddr_in ua = loopback(atoi(argv[3 + rr++ % (unsigned) nup]));
                    int u = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

                    /* A blocking connect: on loopback it completes at once. */
                    if (u < 0 || connect(u, (struct sockaddr *) &ua, sizeof ua) != 0) {
                        die("connect");
                    }
                    if ((p = malloc(sizeof *p)) == NULL) {
                        die("malloc");
                    }
                    p->fd[0] = c;
                    p->fd[1] = u;
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    if (fcntl(u, F_SETFL, O_NONBLOCK) != 0) {
                        die("fcntl");
                    }
                    ev = (struct epoll_event){.events = EPOLLIN | trig, .data.ptr = p};
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) != 0) {
                        die("epoll_ctl");
                    }
                    ev.data.ptr = (void *) ((uintptr_t) p | 1);
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev) != 0) {
                        die("epoll_ctl");
                    }
                }
                continue;
            }
            if (p->fd[0] < 0) {
                continue; /* closed earlier in this batch */
            }
            for (;;) {
                ssize_t r = recv(p->fd[side], buf, sizeof buf, 0);

                if (r > 0 && send_all(p->fd[!side], buf, (size_t) r) == 0) {
                    if ((size_t) r < sizeof buf) {
                        break; /* drained: the next bytes raise a new edge */
                    }
                    continue;
                }
                if (r < 0 && errno == EAGAIN) {
                    break;
                }
                close(p->fd[0]);
                close(p->fd[1]);
                p->fd[0] = p->fd[1] = -1;
                p->next_dead = dead;
                dead = p;
                break;
            }
        }
        while (dead != NULL) {
            pair_t *next = dead->next_dead;

            free(dead);
            dead = next;
        }
    }
}
