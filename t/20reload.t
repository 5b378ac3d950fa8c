#!/usr/bin/perl
# Signals (SPEC §2): reload under load with zero failed requests, a bad
# config on reload, USR1 log reopening, worker respawn, graceful TERM with an
# in-flight request, -s reload|reopen|quit|stop through the pid file.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);

Test::Portcullis::require_binary();

sub conf {
    my ($text, %o) = @_;
    my $wp = $o{workers} // 2;
    my $port = $o{port} // '%%PORT%%';
    my $extra = $o{extra} // '';
    return <<"CONF";
error_log logs/error.log info;
worker_processes $wp;
pid logs/portcullis.pid;
shutdown_timeout 10s;
events { }
http {
    $extra
    server {
        listen 127.0.0.1:$port;
        location / { return 200 "$text"; }
    }
}
CONF
}

# --- reload under continuous load: zero failed requests ----------------------------
# A load client: loops requests on fresh connections (mode 'fresh') or on
# keep-alive connections (mode 'keepalive') until $stop_file exists (or 40 s).
# A request on a reused keep-alive connection that the server closed before
# sending any byte is retried once on a new connection, as HTTP clients do
# (RFC 9112 §9.3.1); that retry must succeed.  Anything else that is not a
# complete 200 "genN" response is a failure.
sub load_client {
    my ($port, $mode, $out, $stop_file) = @_;
    my $pid = fork() // die "fork: $!";
    return $pid if $pid;
    eval { load_loop($port, $mode, $out, $stop_file) };
    POSIX::_exit(0);
}

sub load_loop {
    my ($port, $mode, $out, $stop_file) = @_;
    my ($ok, $fail, $retries, %seen, @why) = (0, 0, 0);
    my $t0 = time();
    my $c;
    my $on_conn = 0;
    while (!-e $stop_file && time() - $t0 < 40) {
        my $reused = $c && !$c->is_closed && $mode eq 'keepalive' && $on_conn > 0;
        if (!$c || $c->is_closed || $mode eq 'fresh') {
            $c->close if $c;
            $c = client($port);
            $on_conn = 0;
            if (!$c) { $fail++; push @why, "connect: $!"; next }
        }
        my $close = $mode eq 'fresh' ? "Connection: close\r\n" : '';
        my $req = "GET /x HTTP/1.1\r\nHost: x\r\n$close\r\n";
        my $sent = $c->send($req);
        my $r = $sent ? $c->read_response(timeout => 10) : undef;
        if (!$r && $reused && !length($c->buffer)) {
            # the server closed an idle keep-alive connection: retry once
            $retries++;
            $c->close;
            $c = client($port);
            $on_conn = 0;
            $r = $c && $c->send($req) ? $c->read_response(timeout => 10) : undef;
        }
        if ($r && $r->{status} == 200 && $r->{body} =~ /^gen(\d+)$/) {
            $ok++;
            $seen{$1}++;
            $on_conn++;
            if (($r->{headers}{connection} // '') =~ /close/i) { $c->close; $c = undef }
        } else {
            $fail++;
            push @why, $r ? "status $r->{status} body '$r->{body}'" : 'no response: ' . substr($c ? $c->buffer : '', 0, 100);
            $c->close if $c;
            $c = undef;
        }
        $c = undef if $mode eq 'fresh';
    }
    open(my $fh, '>', $out) or POSIX::_exit(1);
    print $fh "ok=$ok fail=$fail retries=$retries seen=" . join(',', sort { $a <=> $b } keys %seen) . "\n";
    print $fh "$_\n" for @why[0 .. ($#why < 20 ? $#why : 20)];
    close($fh);
}

{
    my $pc = Test::Portcullis->new(conf => conf('gen1'));
    $pc->wait_workers(2);
    my $dir = $pc->prefix;
    my $stop = "$dir/stop-load";
    my @kids = map { load_client($pc->port, $_->[0], "$dir/load-$_->[1]", $stop) }
        (['fresh', 1], ['keepalive', 2], ['fresh', 3], ['keepalive', 4], ['fresh', 5]);
    ok(wait_until(sub { http_get($pc->port, '/')->{body} eq 'gen1' }, 5), 'serving gen1 under load');
    my @gens;
    for my $g (2 .. 7) {
        $pc->write_conf(conf("gen$g"));
        push @gens, $pc->reload;
        wait_until(sub { http_get($pc->port, '/')->{body} eq "gen$g" }, 10);
        # let the load run on the new generation while the old one drains
        # (load duration, not a wait for the server)
        sleep(0.5);
    }
    ok(!grep({ !defined } @gens), 'six reloads under load succeeded') or diag($pc->{reload_error});
    is_deeply(\@gens, [2 .. 7], 'generations 2..7');
    ok(wait_until(sub { http_get($pc->port, '/')->{body} eq 'gen7' }, 10), 'the new text is served');
    Test::Portcullis::spew($stop, '');
    for my $k (@kids) { waitpid($k, 0) }
    my ($total_ok, $total_fail, $saw_last) = (0, 0, 0);
    for my $i (1 .. 5) {
        my $res = slurp("$dir/load-$i");
        my ($ok, $fail, $retries, $seen) = $res =~ /ok=(\d+) fail=(\d+) retries=(\d+) seen=(\S*)/;
        $total_ok += $ok // 0;
        $total_fail += defined $fail ? $fail : 1;
        $saw_last++ if ($seen // '') =~ /\b7\b/;
        diag("load client $i: $res") if !defined $fail || $fail;
        note("load client $i: " . ($res =~ /^(.*)/)[0]);
    }
    cmp_ok($total_ok, '>', 100, "load clients made requests ($total_ok)");
    is($total_fail, 0, 'zero failed requests across six reloads');
    is($saw_last, 5, 'every load client saw the final generation');
    is(scalar(() = $pc->wait_workers(2)), 2, 'two workers after the reloads (old ones gone)');
    is($pc->stop, 0, 'exit 0');
}

# --- a bad config on reload keeps the old one --------------------------------------------
{
    my $pc = Test::Portcullis->new(conf => conf('good'));
    my @w = $pc->wait_workers(2);
    my $bad = conf('bad');
    $bad =~ s/events \{ \}/events { }\nno_such_directive_here on;/;
    $pc->write_conf($bad);
    my $line_no = 1 + (() = substr($bad, 0, index($bad, 'no_such_directive_here')) =~ /\n/g);
    my $g = $pc->reload;
    ok(!defined $g, 'reload with a bad config fails');
    like($pc->{reload_error} // '', qr/\[error\].*no_such_directive_here.* in \Q${\ $pc->conf_path}\E:$line_no\b/,
        'bad reload: [error] with the message and FILE:LINE') or diag($pc->error_log);
    is(http_get($pc->port, '/')->{body}, 'good', 'bad reload: old config still serving');
    is_deeply([sort $pc->worker_pids], [sort @w], 'bad reload: workers untouched');
    ok($pc->alive, 'bad reload: master still running');
    # two errors: both logged
    my $bad2 = conf('bad2');
    $bad2 =~ s/events \{ \}/events { }\nbad_one on;\nbad_two on;/;
    $pc->write_conf($bad2);
    my $mark = $pc->log_mark;
    kill 'HUP', $pc->pid;
    ok($pc->wait_for_log(qr/\[error\].*bad_two/, 10, from => $mark), 'bad reload: every error logged (second one too)');
    ok(scalar($pc->log_lines(qr/\[error\].*bad_one/, from => $mark)), 'bad reload: first error logged');
    is(http_get($pc->port, '/')->{body}, 'good', 'still the old config');
    $pc->write_conf(conf('fixed'));
    ok(defined $pc->reload, 'reload after fixing the config succeeds');
    ok(wait_until(sub { http_get($pc->port, '/')->{body} eq 'fixed' }, 10), 'fixed config served');
    is($pc->stop, 0, 'exit 0');
}

# --- reload changes listeners and worker count -------------------------------------------------
{
    my $pc = Test::Portcullis->new(conf => conf('p1', workers => 1), ports => 2);
    $pc->wait_workers(1);
    $pc->write_conf(conf('p2', workers => 3, port => '%%PORT2%%'));
    ok(defined $pc->reload, 'reload to a new port and 3 workers');
    ok(wait_until(sub { Test::Portcullis::port_listening($pc->port(2)) }, 10), 'new listener opened');
    is(http_get($pc->port(2), '/')->{body}, 'p2', 'new port serves the new config');
    ok(wait_until(sub { !Test::Portcullis::port_listening($pc->port(1)) }, 15), 'old listener closed');
    is(scalar(() = $pc->wait_workers(3)), 3, 'three workers after the reload');
    is($pc->stop, 0, 'exit 0');
}

# --- each directive changed by a reload takes effect ------------------------------------------
{
    my $c1 = <<'CONF';
error_log logs/error.log info;
worker_processes 1;
events { }
http {
    add_header X-Gen one;
    client_max_body_size 10;
    error_format json;
    keepalive_requests 100;
    server {
        listen 127.0.0.1:%%PORT%%;
        server_name a.test;
        location /r/ { return 200 "one"; }
        location /acl/ { deny 127.0.0.1; }
        location = /exact { return 200 "exact-one"; }
    }
}
CONF
    my $pc = Test::Portcullis->new(conf => $c1);
    $pc->wait_workers(1);
    (my $c2 = $c1) =~ s/X-Gen one/X-Gen two/;
    $c2 =~ s/client_max_body_size 10;/client_max_body_size 20;/;
    $c2 =~ s/error_format json/error_format text/;
    $c2 =~ s/keepalive_requests 100/keepalive_requests 1/;
    $c2 =~ s/deny 127\.0\.0\.1/deny 127.0.0.2/;
    $c2 =~ s{location = /exact \{ return 200 "exact-one"; \}}{location = /exact2 { return 200 "exact-two"; }};
    my $post = sub { http_request($pc->port, method => 'POST', path => '/r/', body => 'x' x 15)->{status} };
    is(http_get($pc->port, '/r/')->{headers}{'x-gen'}, 'one', 'before: add_header one');
    is($post->(), 413, 'before: 15-byte body over client_max_body_size 10');
    is(http_get($pc->port, '/acl/')->{status}, 403, 'before: denied');
    like(http_get($pc->port, '/nope')->{headers}{'content-type'}, qr/json/, 'before: json errors');
    $pc->write_conf($c2);
    ok(defined $pc->reload, 'reload with changed directives');
    ok(wait_until(sub { (http_get($pc->port, '/r/')->{headers}{'x-gen'} // '') eq 'two' }, 10), 'after: add_header two');
    is($post->(), 200, 'after: client_max_body_size 20');
    is(http_get($pc->port, '/acl/')->{status}, 404, 'after: allow/deny changed');
    like(http_get($pc->port, '/nope')->{headers}{'content-type'}, qr{text/plain}, 'after: error_format text');
    is(http_get($pc->port, '/exact')->{status}, 404, 'after: removed location gone');
    is(http_get($pc->port, '/exact2')->{body}, 'exact-two', 'after: added location served');
    my ($raw, $closed) = http_raw($pc->port, "GET /r/ HTTP/1.1\r\nHost: x\r\n\r\n", 5);
    ok($closed, 'after: keepalive_requests 1 closes after one request');
    is($pc->stop, 0, 'exit 0');
}

# --- SIGUSR1 reopens the error log ----------------------------------------------------------------
{
    my $pc = Test::Portcullis->new(conf => conf('ok', workers => 1));
    my ($w) = $pc->wait_workers(1);
    my $log = $pc->error_log_path;
    ok(rename($log, "$log.1"), 'error log renamed');
    kill 'USR1', $pc->pid;
    ok(wait_until(sub { -e $log }, 10), 'USR1: a new error log file is created');
    # the worker reopens too: its next line (a malformed request, logged at
    # info) lands in the new file
    my $got = wait_until(sub {
        http_raw($pc->port, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 2);
        return scalar grep { /\[info\] $w#/ } split /\n/, slurp($log);
    }, 10, 0.2);
    ok($got, 'USR1: the worker writes to the new file');
    ok(defined $pc->reload, 'reload after USR1');
    like(slurp($log), qr/configuration reloaded/, 'USR1: the master writes to the new file');
    unlike(slurp("$log.1"), qr/configuration reloaded/, 'USR1: nothing new in the old file');
    is(http_get($pc->port, '/')->{status}, 200, 'USR1: still serving');
    is($pc->stop, 0, 'exit 0');
}

# --- a SIGKILLed worker is respawned ---------------------------------------------------------------
{
    my $pc = Test::Portcullis->new(conf => conf('ok', workers => 2));
    my @w = $pc->wait_workers(2);
    my $victim = $pc->kill_worker($w[0]);
    my @n;
    ok(wait_until(sub { @n = $pc->worker_pids; @n == 2 && !grep { $_ == $victim } @n }, 15),
        'killed worker replaced: two workers again');
    ok((grep { $_ == $w[1] } @n), 'the other worker was left alone');
    ok($pc->wait_for_log(qr/\b$victim\b.*(?:signal 9|SIGKILL|killed)|(?:signal 9|SIGKILL|killed).*\b$victim\b/i, 5),
        'crash logged with the signal and the worker pid') or diag($pc->error_log);
    is(http_get($pc->port, '/')->{body}, 'ok', 'still serving after the respawn');
    # a second crash is handled too
    my $v2 = $pc->kill_worker;
    ok(wait_until(sub { my @m = $pc->worker_pids; @m == 2 && !grep { $_ == $v2 } @m }, 15), 'second respawn');
    is($pc->stop, 0, 'exit 0');
}

# --- graceful TERM finishes an in-flight request --------------------------------------------------
{
    my $pc = Test::Portcullis->new(conf => conf('done', workers => 1));
    $pc->wait_workers(1);
    my $c = client($pc->port);
    $c->send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345");
    # did the server answer before reading the body?  (allowed for `return`)
    my $early = $c->read_response(timeout => 1);
    $pc->signal('TERM');
    ok(wait_until(sub { !Test::Portcullis::port_listening($pc->port) }, 10), 'TERM: listener closed');
    ok($pc->alive, 'TERM: master waits for the in-flight request') unless $early;
    $c->send("67890");
    if ($early) {
        is($early->{status}, 200, 'in-flight (answered early): 200');
        ok($c->closed_within(10), 'in-flight (answered early): closed once the body is read');
    } else {
        my $r = $c->read_response(timeout => 10);
        is($r && $r->{status}, 200, 'in-flight request completes after TERM');
        is($r && $r->{body}, 'done', 'in-flight request: full body');
        like($r && $r->{headers}{connection} // '', qr/^close$/i, 'in-flight request: Connection: close');
        ok($c->closed_within(10), 'in-flight request: connection closed after the response');
    }
    is($pc->wait_exit(15), 0, 'graceful TERM: exit 0');
}

# --- SIGQUIT is graceful too; SIGINT is fast -------------------------------------------------------
{
    my $pc = Test::Portcullis->new(conf => conf('q'));
    $pc->wait_workers(2);
    is($pc->stop(signal => 'QUIT'), 0, 'SIGQUIT: exit 0');
    is(scalar $pc->leftover_workers, 0, 'SIGQUIT: workers gone');
}
{
    my $pc = Test::Portcullis->new(conf => conf('i'));
    $pc->wait_workers(2);
    my $c = client($pc->port);
    $c->send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345");   # never finished
    my $t0 = time();
    is($pc->stop(signal => 'INT'), 0, 'SIGINT: exit 0');
    cmp_ok(time() - $t0, '<', 5, 'SIGINT: fast (does not wait for the in-flight request)');
    is(scalar $pc->leftover_workers, 0, 'SIGINT: workers gone');
}

# --- -s reload | reopen | quit | stop via the pid file -------------------------------------------
{
    my $pc = Test::Portcullis->new(conf => conf('s1'));
    $pc->wait_workers(2);
    $pc->write_conf(conf('s2'));
    my $mark = $pc->log_mark;
    my $r = $pc->run('-s', 'reload');
    is($r->{exit}, 0, '-s reload exits 0') or diag($r->{output});
    ok(defined $pc->wait_reload($mark), '-s reload: the master reloaded');
    ok(wait_until(sub { http_get($pc->port, '/')->{body} eq 's2' }, 10), '-s reload: new config served');

    my $log = $pc->error_log_path;
    rename($log, "$log.old");
    $r = $pc->run('-s', 'reopen');
    is($r->{exit}, 0, '-s reopen exits 0');
    ok(wait_until(sub { -e $log }, 10), '-s reopen: log reopened');

    $r = $pc->run('-s', 'quit');
    is($r->{exit}, 0, '-s quit exits 0');
    is($pc->wait_exit(15), 0, '-s quit: master exits 0');
    ok(!-e $pc->path('logs/portcullis.pid'), '-s quit: pid file removed');
}
{
    my $pc = Test::Portcullis->new(conf => conf('s3'));
    $pc->wait_workers(2);
    my $r = $pc->run('-s', 'stop');
    is($r->{exit}, 0, '-s stop exits 0');
    is($pc->wait_exit(15), 0, '-s stop: master exits 0');
}

done_testing();
