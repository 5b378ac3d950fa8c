#!/usr/bin/perl
# Core (main/events) directives (SPEC §2, §4 Core): worker_processes,
# worker_connections, pid, error_log, daemon, master_process,
# shutdown_timeout, shutdown_delay, worker_rlimit_nofile, worker_priority.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Time::HiRes qw(time);

Test::Portcullis::require_binary();

sub conf {
    my ($main, $events, $loc) = @_;
    $events //= '';
    $loc //= 'return 200 "pid=$pid\n";';
    return <<"CONF";
$main
events { $events }
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { $loc }
    }
}
CONF
}

# --- valid and invalid values (-t) ------------------------------------------
conf_test_ok(conf("error_log logs/error.log info;\nworker_processes 4;"), 'worker_processes 4');
conf_test_ok(conf("error_log logs/error.log info;\nworker_processes auto;"), 'worker_processes auto');
conf_test_fails(conf("error_log logs/error.log info;\nworker_processes 0;"), 'worker_processes 0',
    qr/worker_processes/, 'worker_processes 0');
conf_test_fails(conf("error_log logs/error.log info;\nworker_processes many;"), 'worker_processes many',
    qr/worker_processes|many/, 'worker_processes many');
conf_test_fails(conf("error_log logs/error.log info;\nworker_processes -2;"), 'worker_processes -2',
    qr/worker_processes|-2/, 'worker_processes -2');
conf_test_ok(conf("error_log logs/error.log info;", "worker_connections 64;"), 'worker_connections 64');
conf_test_fails(conf("error_log logs/error.log info;", "worker_connections 0;"), 'worker_connections 0',
    qr/worker_connections/, 'worker_connections 0');
conf_test_fails(conf("error_log logs/error.log info;", "worker_connections lots;"), 'worker_connections lots',
    qr/worker_connections|lots/, 'worker_connections lots');
conf_test_ok(conf("error_log logs/error.log info;\npid logs/other.pid;"), 'pid FILE');
conf_test_fails(conf("error_log logs/error.log info;\npid;"), 'pid;', qr/pid/, 'pid without a file');
conf_test_fails(conf("error_log logs/error.log info;\npid a b;"), 'pid a b', qr/pid/, 'pid with two files');
conf_test_ok(conf("error_log stderr warn;"), 'error_log stderr warn');
for my $lvl (qw(debug info notice warn error crit)) {
    conf_test_ok(conf("error_log logs/error.log $lvl;"), "error_log level $lvl");
}
conf_test_fails(conf("error_log logs/error.log verbose;"), 'verbose', qr/verbose|level/, 'error_log level verbose');
conf_test_fails(conf("error_log;"), 'error_log;', qr/error_log/, 'error_log without arguments');
conf_test_ok(conf("error_log logs/error.log info;\ndaemon off;"), 'daemon off');
conf_test_fails(conf("error_log logs/error.log info;\ndaemon yes;"), 'daemon yes', qr/daemon|yes/, 'daemon yes');
conf_test_ok(conf("error_log logs/error.log info;\nmaster_process off;"), 'master_process off');
conf_test_fails(conf("error_log logs/error.log info;\nmaster_process 2;"), 'master_process 2',
    qr/master_process/, 'master_process 2');
conf_test_ok(conf("error_log logs/error.log info;\nshutdown_timeout 500ms;"), 'shutdown_timeout 500ms');
conf_test_fails(conf("error_log logs/error.log info;\nshutdown_timeout 10x;"), 'shutdown_timeout 10x',
    qr/shutdown_timeout|10x/, 'shutdown_timeout 10x');
conf_test_ok(conf("error_log logs/error.log info;\nshutdown_delay 2s;"), 'shutdown_delay 2s');
conf_test_fails(conf("error_log logs/error.log info;\nshutdown_delay soon;"), 'shutdown_delay soon',
    qr/shutdown_delay|soon/, 'shutdown_delay soon');
# shutdown_delay must be shorter than shutdown_timeout (default 30s), at the
# shutdown_delay line
conf_test_fails(conf("error_log logs/error.log info;\nshutdown_delay 30s;"), 'shutdown_delay 30s',
    qr/shutdown_delay \(30000 ms\) must be shorter than shutdown_timeout \(30000 ms\)/,
    'shutdown_delay 30s with the default shutdown_timeout');
conf_test_fails(conf("error_log logs/error.log info;\nshutdown_delay 5s;\nshutdown_timeout 2s;"), 'shutdown_delay 5s',
    qr/shutdown_delay \(5000 ms\) must be shorter than shutdown_timeout \(2000 ms\)/,
    'shutdown_delay 5s; shutdown_timeout 2s');
conf_test_ok(conf("error_log logs/error.log info;\nshutdown_delay 5s;\nshutdown_timeout 10s;"),
    'shutdown_delay 5s; shutdown_timeout 10s');
conf_test_ok(conf("error_log logs/error.log info;\nworker_rlimit_nofile 4096;"), 'worker_rlimit_nofile 4096');
conf_test_fails(conf("error_log logs/error.log info;\nworker_rlimit_nofile lots;"), 'worker_rlimit_nofile',
    qr/worker_rlimit_nofile|lots/, 'worker_rlimit_nofile lots');
conf_test_ok(conf("error_log logs/error.log info;\nworker_priority -20;"), 'worker_priority -20');
conf_test_fails(conf("error_log logs/error.log info;\nworker_priority 20;"), 'worker_priority 20',
    qr/worker_priority.*-20 and 19/, 'worker_priority 20');
conf_test_fails(conf("error_log logs/error.log info;\nworker_priority high;"), 'worker_priority high',
    qr/worker_priority.*high/, 'worker_priority high');

# --- worker_processes N -------------------------------------------------------
{
    my $pc = Test::Portcullis->new(conf => conf("error_log logs/error.log info;\nworker_processes 3;"));
    my @w = $pc->wait_workers(3);
    is(scalar @w, 3, 'worker_processes 3: three workers');
    my %pids;
    for (1 .. 30) {
        my $r = http_get($pc->port, '/');
        $pids{$1} = 1 if $r->{body} =~ /pid=(\d+)/;
    }
    my %isw = map { $_ => 1 } @w;
    ok(keys %pids && !grep({ !$isw{$_} } keys %pids), 'worker_processes 3: responses come from the workers')
        or diag(join ' ', keys %pids);
    ok(!$pids{$pc->pid}, 'worker_processes 3: the master serves nothing');
    is($pc->stop, 0, 'worker_processes 3: exit 0');
    is(scalar $pc->leftover_workers, 0, 'worker_processes 3: no worker left after stop');
}

# --- worker_processes auto ------------------------------------------------------
{
    my $n = expected_auto_workers();
    my $pc = Test::Portcullis->new(conf => conf("error_log logs/error.log info;\nworker_processes auto;"));
    my @w = $pc->wait_workers($n);
    is(scalar @w, $n, "worker_processes auto: $n workers (affinity/cgroup)");
    my $line = $pc->wait_for_log(qr/\bauto\b.*\b$n\b.*(?:affinity|cgroup|quota|CPU)|\b$n\b.*\bauto\b.*(?:affinity|cgroup|quota|CPU)/i, 5);
    ok($line, 'worker_processes auto: the number chosen and why are logged at start')
        or diag($pc->error_log);
    is($pc->stop, 0, 'worker_processes auto: exit 0');
}

# --- worker_connections: beyond it, connections wait; no crash ------------------
{
    my $pc = Test::Portcullis->new(conf => conf("error_log logs/error.log info;\nworker_processes 1;",
        "worker_connections 4;", 'return 200 "ok\n";'));
    my ($w) = $pc->wait_workers(1);
    my @held = map { client($pc->port) } 1 .. 4;
    $_->send("GET / HTTP/1.1\r\n") for @held;          # partial heads keep them busy
    my @extra = map { client($pc->port) } 1 .. 5;
    ok(@extra == 5 && !grep({ !$_ } @extra), 'worker_connections 4: extra connections are not refused');
    $_->send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") for @extra;
    my $early = grep { $_->readable_within(0.5) } @extra;
    is($early, 0, 'worker_connections 4: extra connections wait while 4 are busy');
    $_->close for @held;
    my $served = grep { my $r = $_->read_response(timeout => 10); $r && $r->{status} == 200 } @extra;
    is($served, 5, 'worker_connections 4: waiting connections are served once slots free up');
    is_deeply([$pc->worker_pids], [$w], 'worker_connections 4: same worker, no crash');
    unlike($pc->error_log, qr/\[(?:alert|crit|emerg)\]/, 'worker_connections 4: no alert/crit in the log');
    is($pc->stop, 0, 'worker_connections: exit 0');
}

# --- pid file ---------------------------------------------------------------------
{
    my $pc = Test::Portcullis->new(conf => conf("error_log logs/error.log info;\npid run/pc.pid;"),
        files => { 'run/.keep' => '' });
    my $pf = $pc->path('run/pc.pid');
    ok(wait_until(sub { -s $pf }, 5), 'pid file written');
    like(slurp($pf), qr/^\d+\n?$/, 'pid file holds a number');
    is(slurp($pf) + 0, $pc->pid, 'pid file holds the master pid');
    is($pc->stop, 0, 'exit 0');
    ok(!-e $pf, 'pid file removed at stop');
}
{
    # default location PREFIX/logs/portcullis.pid
    my $pc = Test::Portcullis->new(conf => conf("error_log logs/error.log info;"));
    my $pf = $pc->path('logs/portcullis.pid');
    ok(wait_until(sub { -s $pf }, 5), 'default pid file PREFIX/logs/portcullis.pid written');
    is(slurp($pf) + 0, $pc->pid, 'default pid file holds the master pid');
    is($pc->stop, 0, 'exit 0');
    ok(!-e $pf, 'default pid file removed at stop');
}

# --- error_log levels ----------------------------------------------------------------
{
    my $pc = Test::Portcullis->new(conf => conf("error_log logs/error.log notice;\nworker_processes 1;"));
    ok(defined $pc->reload, 'error_log notice: the reload notice is logged');
    http_raw($pc->port, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 3);   # malformed: an info line at most
    $pc->reload;    # after it, the worker that saw the request has logged what it logs
    unlike($pc->error_log, qr/\[(?:info|debug)\]/, 'error_log notice: no info/debug lines');
    is($pc->stop, 0, 'exit 0');
}
{
    my $pc = Test::Portcullis->new(conf => conf("error_log logs/error.log warn;\nworker_processes 1;"));
    my @w = $pc->wait_workers(1);
    kill 'HUP', $pc->pid;
    # no notice line to wait for at this level: wait for the worker to be replaced
    ok(wait_until(sub { my @n = $pc->worker_pids; @n == 1 && $n[0] != $w[0] }, 15),
        'error_log warn: reload replaced the worker');
    unlike($pc->error_log, qr/\[(?:notice|info|debug)\]/, 'error_log warn: no notice/info/debug lines')
        or diag($pc->error_log);
    unlike($pc->error_log, qr/configuration reloaded/, 'error_log warn: reload notice filtered out');
    is($pc->stop, 0, 'exit 0');
}
{
    my $pc = Test::Portcullis->new(conf => conf("error_log stderr info;\nworker_processes 1;"));
    my $mark = -s $pc->path('stderr.log') || 0;
    kill 'HUP', $pc->pid;
    ok($pc->wait_for_log(qr/configuration reloaded, generation \d+/, 15, file => 'stderr', from => $mark),
        'error_log stderr: log lines go to stderr');
    ok(!-e $pc->path('logs/error.log') || !-s $pc->path('logs/error.log'),
        'error_log stderr: nothing written to logs/error.log');
    is($pc->stop, 0, 'exit 0');
}
{
    # log line format: "YYYY/MM/DD HH:MM:SS [level] PID#N: message"
    my $pc = Test::Portcullis->new(conf => conf("error_log logs/error.log info;"));
    $pc->reload;
    like($pc->error_log, qr{^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[notice\] \d+(?:#-?\d+)?: configuration reloaded, generation 2\b}m,
        'error log line format');
    is($pc->stop, 0, 'exit 0');
}

# --- daemon on ------------------------------------------------------------------------
{
    my $pc = Test::Portcullis->new(daemon => 1,
        conf => conf("error_log logs/error.log info;\ndaemon on;\nworker_processes 1;"));
    is($pc->{launcher_status}, 0, 'daemon on: the launched process exits 0');
    ok($pc->pid && $pc->pid != $pc->{launcher}, 'daemon on: the master runs under another pid');
    is(http_get($pc->port, '/')->{status}, 200, 'daemon on: serves');
    is($pc->stop, 0, 'daemon on: stops on TERM');
    ok(!Test::Portcullis::pid_alive($pc->pid), 'daemon on: master gone');
    ok(!-e $pc->path('logs/portcullis.pid'), 'daemon on: pid file removed');
}

# --- master_process off -----------------------------------------------------------------
{
    my $pc = Test::Portcullis->new(conf => conf("error_log logs/error.log info;\nmaster_process off;\nworker_processes 4;"));
    my $r = http_get($pc->port, '/');
    is($r->{status}, 200, 'master_process off: serves');
    is($r->{body}, "pid=" . $pc->pid . "\n", 'master_process off: the single process serves ($pid)');
    is(scalar(() = $pc->worker_pids), 0, 'master_process off: no worker processes');
    # USR1 reopens the log in the single process too
    rename($pc->error_log_path, $pc->error_log_path . '.old');
    kill 'USR1', $pc->pid;
    ok(wait_until(sub { -e $pc->error_log_path }, 10), 'master_process off: USR1 reopens the error log');
    is($pc->stop, 0, 'master_process off: TERM stops it with exit 0');
    ok(!Test::Portcullis::port_listening($pc->port), 'master_process off: port closed');
}

# --- shutdown: idle keep-alive connections are closed, exit promptly ------------------------
{
    my $pc = Test::Portcullis->new(conf => conf("error_log logs/error.log info;\nworker_processes 1;\nshutdown_timeout 20s;",
        '', 'return 200 "ok\n";'));
    my $c = client($pc->port);
    $c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    my $r = $c->read_response;
    is($r && $r->{status}, 200, 'keep-alive request answered');
    my $t0 = time();
    $pc->signal('TERM');
    ok($c->closed_within(10), 'TERM: idle keep-alive connection closed');
    is($pc->wait_exit(15), 0, 'TERM: exit 0');
    cmp_ok(time() - $t0, '<', 10, 'TERM with only idle connections does not wait for shutdown_timeout');
}

# --- shutdown_timeout: an in-flight response that cannot finish is cut --------------------
# One 12 MB response to a client that does not read (4 KB receive buffer):
# far more than the kernel buffers hold, so the response is certainly still
# in progress in the worker when the signal arrives.
my $big = 'x' x (12 * 1024 * 1024);
sub stuck_client {
    my ($pc) = @_;
    my $c = client($pc->port, rcvbuf => 4096);
    $c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    return $c;
}
{
    my $pc = Test::Portcullis->new(conf => conf("error_log logs/error.log info;\nworker_processes 1;\nshutdown_timeout 1s;",
        '', "return 200 \"$big\";"));
    my $c = stuck_client($pc);
    ok($c->readable_within(5), 'response started');
    my $t0 = time();
    $pc->signal('TERM');
    my $code = $pc->wait_exit(15);
    my $dt = time() - $t0;
    is($code, 0, 'shutdown_timeout 1s: exit 0');
    cmp_ok($dt, '>=', 0.8, 'shutdown_timeout 1s: waited for the in-flight response');
    cmp_ok($dt, '<', 10, 'shutdown_timeout 1s: did not wait much longer than the timeout');
    my ($data, $closed) = $c->read_until_close(10);
    ok($closed, 'shutdown_timeout: the stuck connection is closed');
    my $resp = parse_response($data);
    ok(!$resp || !$resp->{complete}, 'shutdown_timeout: the response was cut');
}

# --- graceful TERM: an in-flight response completes ---------------------------------------
{
    my $pc = Test::Portcullis->new(conf => conf("error_log logs/error.log info;\nworker_processes 1;\nshutdown_timeout 30s;",
        '', "return 200 \"$big\";"));
    my $c = stuck_client($pc);
    ok($c->readable_within(5), 'response started');
    my $t0 = time();
    $pc->signal('TERM');
    # let the shutdown begin while the client is still stuck; then read everything
    ok(wait_until(sub { !Test::Portcullis::port_listening($pc->port) }, 10), 'TERM: listener closed (shutdown began)');
    ok($pc->alive, 'graceful TERM: the master waits for the in-flight response');
    my ($data, $closed) = $c->read_until_close(20);
    ok($closed, 'graceful TERM: connection closed after the in-flight response');
    my $resp = parse_response($data);
    ok($resp && $resp->{complete} && $resp->{status} == 200, 'graceful TERM: the in-flight response completed');
    ok($resp && $resp->{body} eq $big, 'graceful TERM: the whole body arrived');
    is($resp ? length($data) - $resp->{len} : -1, 0, 'graceful TERM: nothing after it');
    is($pc->wait_exit(15), 0, 'graceful TERM: exit 0');
    cmp_ok(time() - $t0, '<', 25, 'graceful TERM: exits when the work is done');
}

# --- worker_priority: the workers' nice value, the master's untouched ------------
sub nice_of {
    my ($pid) = @_;
    my $st = Test::Portcullis::slurp("/proc/$pid/stat") // return undef;
    $st =~ s/^.*\)\s+//s;    # after "(comm)": state is field 3, nice field 19
    return (split ' ', $st)[16];
}
{
    my $own = getpriority(0, 0);
    my $pc = Test::Portcullis->new(conf => conf("error_log logs/error.log info;\nworker_processes 2;\nworker_priority 7;"));
    my @w = $pc->wait_workers(2);
    is(scalar @w, 2, 'worker_priority 7: two workers');
    wait_until(sub { (grep { (nice_of($_) // -99) == 7 } @w) == 2 }, 10);
    is_deeply([map { nice_of($_) } @w], [7, 7], 'worker_priority 7: each worker runs at nice 7');
    is(nice_of($pc->pid), $own, 'worker_priority 7: the master keeps its nice value');
    # a reload starts workers with the new value
    $pc->write_conf(conf("error_log logs/error.log info;\nworker_processes 2;\nworker_priority 9;"));
    ok($pc->reload, 'worker_priority: reload accepted');
    my %old = map { $_ => 1 } @w;
    my @n;
    ok(wait_until(sub { @n = grep { !$old{$_} } $pc->worker_pids; @n == 2 }, 20), 'worker_priority: new workers after reload');
    # a worker sets its priority as it starts, just after the fork that
    # makes it visible: wait for that, not for the pid alone
    wait_until(sub { (grep { (nice_of($_) // -99) == 9 } @n) == 2 }, 10);
    is_deeply([map { nice_of($_) } @n], [9, 9], 'worker_priority 9 after reload: the new workers run at nice 9');
    is($pc->stop, 0, 'worker_priority: exit 0');
}
{
    # Below the master's value needs root or CAP_SYS_NICE: granted, or said.
    my $pc = Test::Portcullis->new(conf => conf("error_log logs/error.log info;\nworker_processes 1;\nworker_priority -3;"));
    my ($w) = $pc->wait_workers(1);
    ok($w, 'worker_priority -3: a worker');
    if ($> == 0) {
        is(nice_of($w), -3, 'worker_priority -3 as root: the worker runs at nice -3');
    } else {
        ok($pc->wait_for_log(qr/\[alert\].*setpriority\(-3\) failed/, 10),
            'worker_priority -3 unprivileged: the failure is logged (alert)');
    }
    my $r = http_get($pc->port, '/');
    is($r->{status}, 200, 'worker_priority -3: serves');
    is($pc->stop, 0, 'worker_priority -3: exit 0');
}
{
    my $pc = Test::Portcullis->new(conf => conf("error_log logs/error.log info;\nmaster_process off;\nworker_priority 4;"));
    my $r = http_get($pc->port, '/');
    is($r->{status}, 200, 'worker_priority, master_process off: serves');
    is(nice_of($pc->pid), 4, 'worker_priority 4, master_process off: the single process runs at nice 4');
    is($pc->stop, 0, 'worker_priority, master_process off: exit 0');
}

# --- shutdown_delay: listeners stay open for the delay after TERM ------------------------------
{
    my $pc = Test::Portcullis->new(conf => conf("error_log logs/error.log info;\nworker_processes 1;\nshutdown_delay 2s;",
        '', 'return 200 "ok\n";'));
    $pc->wait_workers(1);
    my $t0 = time();
    $pc->signal('TERM');
    my $r = http_get($pc->port, '/');
    is($r->{status}, 200, 'shutdown_delay: a new request right after TERM is served');
    ok(wait_until(sub { !Test::Portcullis::port_listening($pc->port) }, 15), 'shutdown_delay: listener closes');
    my $dt = time() - $t0;
    cmp_ok($dt, '>=', 1.5, 'shutdown_delay 2s: listener open for about the delay');
    is($pc->wait_exit(15), 0, 'shutdown_delay: exit 0');
}

# --- SIGTERM to the whole process group: the master stops, respawns nothing ----------------------
# (kill -TERM -PGID, ^C in a terminal, a supervisor that signals the group:
# the workers get it too and exit at once; the master must not take their
# exit for a crash.)  A race, so several rounds: it lost most of them before.
{
    my ($respawned, $clean) = (0, 0);
    for my $round (1 .. 5) {
        my $pc = Test::Portcullis->new(setsid => 1, workers => 2,
            conf => conf("error_log logs/error.log info;\nworker_processes 2;", '', 'return 200 "ok\n";'));
        kill('TERM', -$pc->pid);
        $clean++ if ($pc->wait_exit(15) // -1) == 0;
        my $log = $pc->error_log;
        $respawned++ if $log =~ /unexpectedly/ || (() = $log =~ /started worker process/g) > 2;
    }
    is($clean, 5, 'group SIGTERM: the master exits 0 every time');
    is($respawned, 0, 'group SIGTERM: no worker taken for crashed, none respawned');
}

done_testing();
