/*
 * test_pc_cycle.c -- src/core/pc_cycle.c and the core module's directives
 * (src/core/pc_core_module.c): address parsing and printing, loading a
 * configuration (valid and invalid values of every core directive),
 * listener inheritance on activate, and reference counting.
 *
 * Links: pc_cycle pc_core_module pc_conf pc_conf_lex pc_pool pc_str pc_log
 * pc_time pc_shm event/pc_listen event/pc_cpu.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "core/pc_core.h"
#include "core/pc_cycle.h"
#include "core/pc_shm.h"

/* Only the core module plus a tiny one declaring listeners. */
static const char *
set_listen(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    struct sockaddr_storage ss;
    socklen_t               len;

    PC_UNUSED(d);
    PC_UNUSED(conf);
    if (pc_parse_addr_port(&cf->node->args[0], 80, &ss, &len) != PC_OK)
        return "invalid address";
    return pc_cycle_add_listening(cf, (struct sockaddr *) &ss, len) ? NULL
                                                                     : PC_CONF_ERROR;
}

static const pc_directive_t lt_directives[] = {
    { "t_listen", PC_CTX_MAIN, 1, 1, PC_CONF_MULTI, set_listen, 0, 0, 0, NULL },
    PC_DIRECTIVE_END
};

static pc_module_t lt_module = { .name = "t", .directives = lt_directives };

pc_module_t *pc_modules[] = { &pc_core_module, &lt_module, NULL };
unsigned     pc_modules_n;

void
pc_modules_init(void)
{
    unsigned i;

    for (i = 0; pc_modules[i] != NULL; i++)
        pc_modules[i]->index = i;
    pc_modules_n = i;
}

static char dir[] = "/tmp/pc_cycle_test_XXXXXX";
static char conf_path[256];
static char prefix[256];

static void
write_conf(const char *text)
{
    FILE *f = fopen(conf_path, "w");

    fputs(text, f);
    fclose(f);
}

/* Load text quietly; the cycle or NULL. */
static pc_cycle_t *
load(const char *text)
{
    pc_cycle_t *c;
    int         level = pc_log_cur->level;

    write_conf(text);
    pc_log_cur->level = PC_LOG_STDERR;
    c = pc_cycle_load(conf_path, prefix, NULL, PC_LOG_EMERG);
    pc_log_cur->level = level;
    return c;
}

static int
loads(const char *text)
{
    pc_cycle_t *c = load(text);

    pc_cycle_unref(c);
    return c != NULL;
}

static void
check_addr(const char *in, int dport, const char *want)
{
    struct sockaddr_storage ss;
    socklen_t               len;
    pc_str_t                s;
    char                    text[64];
    size_t                  n;

    s.data = (u_char *) in;
    s.len = strlen(in);
    if (want == NULL) {
        ok(pc_parse_addr_port(&s, dport, &ss, &len) == PC_ERROR,
           "\"%s\" is rejected", in);
        return;
    }
    if (pc_parse_addr_port(&s, dport, &ss, &len) != PC_OK) {
        ok(0, "\"%s\" parses", in);
        return;
    }
    n = pc_sockaddr_text((struct sockaddr *) &ss, text, sizeof(text), 1);
    is_str(text, n, want, strlen(want), "\"%s\" → %s", in, want);
}

static void
test_addresses(void)
{
    struct sockaddr_in sin;
    char               small[8];
    size_t             n;

    check_addr("8080", 80, "0.0.0.0:8080");
    check_addr("*:80", 0, "0.0.0.0:80");
    check_addr("127.0.0.1:8080", 80, "127.0.0.1:8080");
    check_addr("127.0.0.1", 81, "127.0.0.1:81");
    check_addr("[::1]:8080", 80, "[::1]:8080");
    check_addr("[::]:443", 80, "[::]:443");
    check_addr("[::1]", 82, "[::1]:82");
    check_addr("localhost:9000", 80, "127.0.0.1:9000");
    check_addr("1", 80, "0.0.0.0:1");
    check_addr("65535", 80, "0.0.0.0:65535");
    check_addr("", 80, NULL);
    check_addr("0", 80, NULL);
    check_addr("65536", 80, NULL);
    check_addr("127.0.0.1:0", 80, NULL);
    check_addr("127.0.0.1:65536", 80, NULL);
    check_addr("127.0.0.1:", 80, NULL);
    check_addr("127.0.0.1:8x", 80, NULL);
    check_addr("127.0.0.1:-1", 80, NULL);
    check_addr(":80", 80, NULL);
    check_addr("::1", 80, NULL);
    check_addr("[::1", 80, NULL);
    check_addr("[::1]x", 80, NULL);
    check_addr("[1.2.3.4]:80", 80, NULL);
    check_addr("127.0.0.1", 0, NULL);
    check_addr("no-such-host.invalid:80", 80, NULL);
    check_addr("127.1:80", 80, NULL);
    check_addr("2130706433:80", 80, NULL);
    check_addr("1.2.3.4.5:80", 80, NULL);

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(8080);
    inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
    n = pc_sockaddr_text((struct sockaddr *) &sin, small, sizeof(small), 1);
    is_str(small, n, "10.1.2.", 7, "text truncates to the buffer");
    n = pc_sockaddr_text((struct sockaddr *) &sin, small, sizeof(small), 0);
    is_str(small, n, "10.1.2.", 7, "without port, truncated");
    is_int(pc_sockaddr_text((struct sockaddr *) &sin, small, 0, 1), 0, "size 0");
}

static void
test_defaults(void)
{
    pc_cycle_t           *c;
    const pc_core_conf_t *ccf;
    char                  want[512];

    c = load("# nothing\n");
    ok(c != NULL, "an empty configuration loads");
    if (c == NULL)
        return;
    ccf = pc_cycle_main_conf(c, pc_core_module);
    is_int(ccf->worker_processes, 1, "worker_processes defaults to 1");
    is_int(ccf->master_process, 1, "master_process on");
    is_int(ccf->daemon, 0, "daemon off");
    is_int(ccf->shutdown_timeout, 30000, "shutdown_timeout 30s");
    is_int(ccf->shutdown_delay, 0, "shutdown_delay 0");
    is_int(ccf->worker_connections, 1024, "worker_connections 1024");
    is_int(ccf->worker_rlimit_nofile, PC_INT_UNSET, "rlimit untouched");
    is_int(ccf->worker_priority, PC_INT_UNSET, "nice value inherited");
    is_int(ccf->error_log_level, PC_LOG_ERR, "error_log level error");
    snprintf(want, sizeof(want), "%slogs/portcullis.pid", prefix);
    is_str(ccf->pid.data, ccf->pid.len, want, strlen(want), "default pid path");
    snprintf(want, sizeof(want), "%slogs/error.log", prefix);
    is_str(ccf->error_log.data, ccf->error_log.len, want, strlen(want),
           "default error_log path");
    is_str(c->error_log.path, strlen(c->error_log.path), want, strlen(want),
           "cycle error log path");
    is_int(c->generation, 1, "first generation");
    is_int(c->refs, 1, "one reference");
    pc_cycle_ref(c);
    is_int(c->refs, 2, "ref");
    pc_cycle_unref(c);
    is_int(c->refs, 1, "unref");
    pc_cycle_unref(c);
}

static void
test_values(void)
{
    pc_cycle_t           *c;
    const pc_core_conf_t *ccf;

    c = load("worker_processes 3; master_process off; daemon on;\n"
             "error_log stderr debug; pid /tmp/x.pid; shutdown_timeout 2m;\n"
             "shutdown_delay 500ms; worker_rlimit_nofile 4096;\n"
             "worker_priority -5;\n"
             "events { worker_connections 10240; }\n");
    ok(c != NULL, "every core directive loads");
    if (c == NULL)
        return;
    ccf = pc_cycle_main_conf(c, pc_core_module);
    is_int(ccf->worker_processes, 3, "worker_processes 3");
    ok(strcmp(ccf->worker_reason, "configured") == 0, "reason: configured");
    is_int(ccf->master_process, 0, "master_process off");
    is_int(ccf->daemon, 1, "daemon on");
    ok(c->error_log.path == NULL, "error_log stderr has no path");
    is_int(ccf->error_log_level, PC_LOG_DEBUG, "level debug");
    is_str(ccf->pid.data, ccf->pid.len, "/tmp/x.pid", 10, "absolute pid path");
    is_int(ccf->shutdown_timeout, 120000, "shutdown_timeout 2m");
    is_int(ccf->shutdown_delay, 500, "shutdown_delay 500ms");
    is_int(ccf->worker_rlimit_nofile, 4096, "worker_rlimit_nofile");
    is_int(ccf->worker_priority, -5, "worker_priority -5");
    is_int(ccf->worker_connections, 10240, "worker_connections");
    pc_cycle_unref(c);

    c = load("worker_processes auto;\n");
    ok(c != NULL, "worker_processes auto");
    if (c != NULL) {
        ccf = pc_cycle_main_conf(c, pc_core_module);
        ok(ccf->worker_processes >= 1, "auto resolves to >= 1");
        ok(strncmp(ccf->worker_reason, "auto: ", 6) == 0, "auto reason: %s",
           ccf->worker_reason);
        pc_cycle_unref(c);
    }
}

static void
test_invalid(void)
{
    ok(!loads("worker_processes 0;"), "worker_processes 0");
    ok(!loads("worker_processes 1025;"), "worker_processes 1025");
    ok(!loads("worker_processes many;"), "worker_processes many");
    ok(!loads("worker_processes 1; worker_processes 2;"), "duplicate");
    ok(!loads("master_process yes;"), "master_process yes");
    ok(!loads("daemon 1;"), "daemon 1");
    ok(!loads("error_log logs/e.log loud;"), "error_log bad level");
    ok(!loads("error_log;"), "error_log without a file");
    ok(!loads("error_log a b c;"), "error_log too many args");
    ok(!loads("error_log /nonexistent-dir/e.log;"), "error_log dir missing");
    ok(!loads("pid /nonexistent-dir/p.pid;"), "pid dir missing");
    ok(!loads("pid \"\";"), "pid empty");
    ok(!loads("pid /tmp;"), "pid names a directory");
    ok(!loads("error_log /tmp;"), "error_log cannot be opened");
    ok(!loads("shutdown_timeout forever;"), "shutdown_timeout forever");
    ok(!loads("shutdown_timeout 2d;"), "shutdown_timeout over a day");
    ok(!loads("shutdown_delay 5s; shutdown_timeout 5s;"), "delay >= timeout");
    ok(loads("shutdown_delay 4s; shutdown_timeout 5s;"), "delay < timeout");
    ok(!loads("worker_rlimit_nofile 1;"), "worker_rlimit_nofile 1");
    ok(loads("worker_priority 19;"), "worker_priority 19");
    ok(loads("worker_priority -20;"), "worker_priority -20");
    ok(loads("worker_priority 0;"), "worker_priority 0");
    ok(!loads("worker_priority 20;"), "worker_priority 20");
    ok(!loads("worker_priority -21;"), "worker_priority -21");
    ok(!loads("worker_priority -;"), "worker_priority -");
    ok(!loads("worker_priority --1;"), "worker_priority --1");
    ok(!loads("worker_priority +1;"), "worker_priority +1");
    ok(!loads("worker_priority high;"), "worker_priority high");
    ok(!loads("worker_priority 1; worker_priority 2;"), "worker_priority duplicate");
    ok(!loads("events { worker_priority 1; }"), "worker_priority inside events");
    ok(!loads("worker_connections 10;"), "worker_connections outside events");
    ok(!loads("events { worker_connections 1; }"), "worker_connections 1");
    ok(!loads("events { worker_connections 2000000; }"), "worker_connections 2M");
    ok(!loads("events;"), "events without a block");
    ok(!loads("events { } events { }"), "duplicate events");
    ok(!loads("events { pid x.pid; }"), "pid inside events");
    ok(!loads("t_listen 127.0.0.1:0;"), "listen port 0");
}

static int
can_connect(int port)
{
    struct sockaddr_in sin;
    int                fd, rc;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t) port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    rc = connect(fd, (struct sockaddr *) &sin, sizeof(sin));
    close(fd);
    return rc == 0;
}

/* Fixed ports below the kernel's ephemeral range (32768-60999 by default):
 * a port in that range can be taken at any moment by some client socket's
 * local end, which made this test fail with EADDRINUSE on a busy CI run. */
static void
test_listeners(void)
{
    pc_cycle_t     *a, *b;
    pc_listening_t *la, *lb;
    int             fd_a;

    a = load("error_log stderr; t_listen 127.0.0.1:0x;");
    ok(a == NULL, "bad listen address is a config error");

    a = load("error_log stderr; t_listen 127.0.0.1:29517; t_listen [::1]:29517;"
             " t_listen 127.0.0.1:29517;");
    ok(a != NULL, "listeners load");
    if (a == NULL)
        return;
    is_int(a->listening.nelts, 2, "the same address is one listener");
    la = a->listening.elts;
    is_int(la[0].backlog, 511, "default backlog");
    ok(!la[0].ipv6only && la[1].ipv6only, "ipv6only on the IPv6 one");
    is_int(la[0].fd, -1, "not open before activate");
    ok(pc_cycle_activate(a, NULL) == PC_OK, "activate binds");
    ok(la[0].fd >= 0 && !la[0].inherited, "bound");
    fd_a = la[0].fd;

    b = load("error_log stderr; t_listen 127.0.0.1:29517; t_listen 127.0.0.1:29518;");
    ok(b != NULL, "second generation loads");
    if (b == NULL) {
        pc_cycle_unref(a);
        return;
    }
    ok(pc_cycle_activate(b, a) == PC_OK, "activate next to the running cycle");
    lb = b->listening.elts;
    ok(lb[0].inherited && lb[0].fd >= 0 && lb[0].fd != fd_a,
       "unchanged address: a dup of the running socket");
    ok(!lb[1].inherited && lb[1].fd >= 0, "new address: bound");
    is_int(la[0].fd, fd_a, "the old cycle keeps its descriptor");
    pc_cycle_unref(a);
    ok(can_connect(29517), "the socket still listens after the old cycle went");
    pc_cycle_unref(b);
    ok(!can_connect(29517), "and is closed with the last cycle using it");
}

int
main(void)
{
    char logs[300];

    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(prefix, sizeof(prefix), "%s/", dir);
    snprintf(conf_path, sizeof(conf_path), "%s/test.conf", dir);
    snprintf(logs, sizeof(logs), "%s/logs", dir);
    mkdir(logs, 0755);
    pc_modules_init();
    pc_time_update();

    test_addresses();
    test_defaults();
    test_values();
    test_invalid();
    test_listeners();

    unlink(conf_path);
    rmdir(logs);
    rmdir(dir);
    return done_testing();
}
