#!/usr/bin/perl
# status module (SPEC §4 "status", §2 SIGTERM readiness, §7 metrics):
# metrics (strict Prometheus 0.0.4 exposition, counters summed over
# workers, surviving reload and a worker crash), health, ready (503 at the
# start of a graceful shutdown while an in-flight request completes, 503
# when an upstream has no usable peer), auth_token, allow/deny.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Test::Portcullis::Backend;
use Test::Portcullis::Prom;
use File::Temp qw(tempdir);
use Time::HiRes qw(time sleep);

Test::Portcullis::require_binary();

my @FAMILIES = qw(requests_total request_duration_seconds upstream_requests_total
    upstream_response_seconds upstream_connections upstream_connects_total upstream_peer_up
    connections connections_accepted_total tls_handshakes_total
    tls_client_verify_failures_total tls_certificate_expiry_timestamp_seconds
    ratelimit_decisions_total config_reloads_total
    config_last_reload_success_timestamp_seconds workers build_info);
my $TOKEN = 'Zm9vYmFyLXRva2VuLTEyMzQ1Njc4';

# --- the validator itself is strict ------------------------------------------------------------
{
    my $good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\\\"\\\\\\n\"} 3\n"
        . "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
        . "h_sum 0.7\nh_count 2\n# HELP g G.\n# TYPE g gauge\ng -1.5e3\n";
    is_deeply([Test::Portcullis::Prom::validate($good)], [], 'Prom.pm accepts a well-formed exposition');
    my %bad = (
        'no HELP'            => "# TYPE a_total counter\na_total 1\n",
        'no TYPE'            => "# HELP a_total A.\na_total 1\n",
        'no HELP nor TYPE'   => "a_total 1\n",
        'counter not _total' => "# HELP a A.\n# TYPE a counter\na 1\n",
        'negative counter'   => "# HELP a_total A.\n# TYPE a_total counter\na_total -1\n",
        'bad label escape'   => "# HELP g G.\n# TYPE g gauge\ng{x=\"\\t\"} 1\n",
        'bad HELP escape'    => "# HELP g G \\x.\n# TYPE g gauge\ng 1\n",
        'bad label name'     => "# HELP g G.\n# TYPE g gauge\ng{1x=\"a\"} 1\n",
        'reserved label'     => "# HELP g G.\n# TYPE g gauge\ng{__x=\"a\"} 1\n",
        'label twice'        => "# HELP g G.\n# TYPE g gauge\ng{x=\"a\",x=\"b\"} 1\n",
        'bad value'          => "# HELP g G.\n# TYPE g gauge\ng one\n",
        'duplicate series'   => "# HELP g G.\n# TYPE g gauge\ng{x=\"a\"} 1\ng{x=\"a\"} 2\n",
        'no final newline'   => "# HELP g G.\n# TYPE g gauge\ng 1",
        'interleaved'        => "# HELP g G.\n# TYPE g gauge\ng 1\n# HELP f F.\n# TYPE f gauge\nf 1\ng{x=\"b\"} 2\n",
        'TYPE after sample'  => "# HELP g G.\ng 1\n# TYPE g gauge\n",
        'two TYPEs'          => "# HELP g G.\n# TYPE g gauge\n# TYPE g gauge\ng 1\n",
        'no +Inf'            => "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
        'not cumulative'     => "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
        'le out of order'    => "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
        'count != +Inf'      => "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
        'no _sum'            => "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n",
        'bucket without le'  => "# HELP h H.\n# TYPE h histogram\nh_bucket 2\nh_sum 1\nh_count 2\n",
        'gauge with suffix'  => "# HELP g G.\n# TYPE g gauge\ng_sum 1\n",
    );
    for my $k (sort keys %bad) {
        ok(scalar(Test::Portcullis::Prom::validate($bad{$k})) > 0, "Prom.pm rejects: $k");
    }
}

# --- directives: valid and invalid ---------------------------------------------------------------
my $skel = <<'CONF';
error_log logs/error.log info;
events { }
http {
    %%HTTP%%
    server {
        listen 127.0.0.1:%%PORT%%;
        %%SERVER%%
        location /s { %%LOC%% }
    }
}
CONF
sub conf {
    my (%o) = @_;
    my $c = $skel;
    $c =~ s/%%$_%%/$o{lc $_} \/\/ ''/e for qw(HTTP SERVER LOC);
    return $c;
}
conf_test_ok(conf(loc => 'metrics ;'), 'metrics in a location');
conf_test_ok(conf(loc => 'health ;'), 'health in a location');
conf_test_ok(conf(loc => 'ready ;'), 'ready in a location');
conf_test_ok(conf(http => "auth_token $TOKEN;", loc => 'metrics ;'), 'auth_token in http');
conf_test_ok(conf(server => 'auth_token abc-DEF_123.~+/==;', loc => 'metrics ;'), 'auth_token b64token');
conf_test_fails(conf(server => 'metrics;'), 'metrics;', qr/not allowed|context/i, 'metrics in server');
conf_test_fails(conf(loc => 'metrics on;'), 'metrics on', qr/argument|number/i, 'metrics takes no argument');
conf_test_fails(conf(loc => 'metrics; health;'), 'metrics; health', qr/conflicts/, 'metrics and health in one location');
conf_test_fails(conf(loc => 'ready; ready;'), 'ready; ready', qr/duplicate/, 'ready twice');
conf_test_fails(conf(loc => 'metrics; auth_token "two words";'), 'auth_token', qr/invalid auth_token/,
    'auth_token with a space');
conf_test_fails(conf(loc => 'metrics; auth_token =abc;'), 'auth_token', qr/invalid auth_token/,
    'auth_token starting with =');
conf_test_fails(conf(loc => 'metrics; auth_token a=b;'), 'auth_token', qr/invalid auth_token/,
    'auth_token with = inside');
conf_test_fails(conf(loc => 'metrics; auth_token a; auth_token b;'), 'auth_token', qr/duplicate/,
    'auth_token twice');

# --- a backend: /slow takes 1.5 s (and says when it started) -------------------------------
my $dir = tempdir(CLEANUP => 1);
my $be = Test::Portcullis::Backend->new(handler => sub {
    my ($req) = @_;
    if ($req->{uri} =~ m{^/slow}) {
        if (open(my $f, ">", "$dir/slow-started")) { close($f) }
        sleep(1.5);
        return (200, [], 'slow done');
    }
    return (200, ['Content-Type' => 'text/plain'], 'ok');
});
my $bp = $be->port;

my $conf = <<'CONF';
error_log logs/error.log info;
worker_processes 2;
events { }
http {
    access_log off;
    upstream be { server 127.0.0.1:BEPORT; }
    server {
        listen 127.0.0.1:%%PORT%%;
        server_name api;
        add_header X-Pid $pid always;
        location / { proxy_pass http://be; }
    }
    server {
        listen 127.0.0.1:%%PORT2%%;
        server_name status;
        location = /metrics { metrics ; }
        location = /health { health ; }
        location = /ready { ready ; }
        location = /private { metrics ; auth_token TOKEN; }
        location = /local { metrics ; allow 127.0.0.2; deny all; }
    }
}
CONF
$conf =~ s/BEPORT/$bp/g;
$conf =~ s/TOKEN/$TOKEN/g;
my $pc = Test::Portcullis->new(conf => $conf, wait_ports => [1, 2], workers => 2);
my ($api, $st) = ($pc->port(1), $pc->port(2));

sub scrape {
    my (%h) = @_;
    my $r = http_get($st, delete $h{_path} // '/metrics', %h);
    my $p = Test::Portcullis::Prom::parse($r->{body} // '');
    return ($p, $r);
}
sub reqs { my ($p) = @_; return Test::Portcullis::Prom::value($p, 'portcullis_requests_total', { server => 'api', status_class => '2xx' }) }

# --- the exposition --------------------------------------------------------------------------
{
    http_get($api, '/warm');
    my ($p, $r) = scrape();
    is($r->{status}, 200, 'metrics: 200');
    is($r->{headers}{'content-type'}, 'text/plain; version=0.0.4; charset=utf-8', 'metrics: 0.0.4 content type');
    is_deeply($p->{errors}, [], 'metrics: a strictly valid exposition') or diag($r->{body});
    for my $f (@FAMILIES) {
        my $fam = $p->{families}{"portcullis_$f"};
        ok($fam && defined $fam->{help} && defined $fam->{type}, "metrics: family portcullis_$f has HELP and TYPE");
    }
    is(Test::Portcullis::Prom::value($p, 'portcullis_workers'), 2, 'workers 2');
    is(Test::Portcullis::Prom::value($p, 'portcullis_build_info'), 1, 'build_info is 1');
    like($r->{body}, qr/^portcullis_build_info\{version="[^"]+",commit="[^"]+",openssl="3\.[^"]+"\} 1$/m,
        'build_info{version,commit,openssl} 1');
    is(Test::Portcullis::Prom::value($p, 'portcullis_upstream_peer_up', { upstream => 'be', peer => "127.0.0.1:$bp" }),
        1, 'upstream_peer_up 1 for a working peer');
    my $h = http_request($st, method => 'HEAD', path => '/metrics');
    ok($h->{status} == 200 && $h->{headers}{'content-length'} > 1000 && $h->{all} !~ /# HELP/,
        'HEAD /metrics: the length, no body');
    my $post = http_request($st, method => 'POST', path => '/metrics', body => 'x');
    is($post->{status}, 405, 'POST /metrics: 405');
    is($post->{headers}{allow}, 'GET, HEAD', '405 says Allow: GET, HEAD');
}

# --- N requests on N connections, over two workers: counted exactly ----------------------
my $total;
{
    my ($p0) = scrape();
    my $before = reqs($p0);
    my $up_before = Test::Portcullis::Prom::sum($p0, 'portcullis_upstream_requests_total', { upstream => 'be', status_class => '2xx' });
    my $dur_before = Test::Portcullis::Prom::value($p0, 'portcullis_request_duration_seconds_count', { server => 'api' });
    my $acc_before = Test::Portcullis::Prom::value($p0, 'portcullis_connections_accepted_total');
    my (%pids, $n);
    for (1 .. 400) {
        my $r = http_get($api, "/n$_");
        $pids{ $r->{headers}{'x-pid'} // 0 }++ if $r->{status} == 200;
        $n++;
        last if $n >= 40 && keys %pids >= 2;
    }
    diag("$n requests over workers " . join(', ', map { "$_ ($pids{$_})" } sort keys %pids));
    ok(keys %pids >= 2, 'both workers served requests');
    my ($p) = scrape();
    is(reqs($p) - $before, $n, "requests_total grew by exactly $n");
    is(Test::Portcullis::Prom::value($p, 'portcullis_request_duration_seconds_count', { server => 'api' }) - $dur_before,
        $n, 'request_duration_seconds_count grew by the same');
    is(Test::Portcullis::Prom::sum($p, 'portcullis_upstream_requests_total', { upstream => 'be', status_class => '2xx' }) - $up_before,
        $n, 'upstream_requests_total{2xx} grew by the same');
    # counted as accepted, not published later: exact at once, both workers
    is(Test::Portcullis::Prom::value($p, 'portcullis_connections_accepted_total') - $acc_before, $n + 1,
        "connections_accepted_total grew by exactly $n (+1: this scrape's connection)");
    is_deeply($p->{errors}, [], 'still valid after traffic');
    $total = reqs($p);
}

# --- connection states ---------------------------------------------------------------------------
{
    my $idle = client($api);
    $idle->send("GET /ka HTTP/1.1\r\nHost: api\r\n\r\n");
    my $r = $idle->read_response;
    my $reading = client($api);
    $reading->send("GET /partial HTTP/1.1\r\nHost: a");
    my $seen = wait_until(sub {
        my ($p) = scrape();
        my $i = Test::Portcullis::Prom::value($p, 'portcullis_connections', { state => 'idle' }) // 0;
        my $rd = Test::Portcullis::Prom::value($p, 'portcullis_connections', { state => 'reading' }) // 0;
        my $a = Test::Portcullis::Prom::value($p, 'portcullis_connections', { state => 'active' }) // 0;
        return $i >= 1 && $rd >= 1 && $a >= 3;
    }, 5, 0.1);
    ok($seen, 'connections{state}: an idle keep-alive, a reading and the scrape itself are seen');
    $idle->close;
    $reading->close;
    $total++;       # GET /ka
}

# --- auth_token -----------------------------------------------------------------------------------
{
    my (undef, $r) = scrape(_path => '/private');
    is($r->{status}, 401, 'auth_token: 401 without Authorization');
    like($r->{headers}{'www-authenticate'} // '', qr/^Bearer\b/, 'auth_token: WWW-Authenticate: Bearer');
    unlike($r->{body}, qr/portcullis_/, 'auth_token: nothing leaks in the 401');
    (undef, $r) = scrape(_path => '/private', Authorization => "Bearer ${TOKEN}x");
    is($r->{status}, 401, 'auth_token: wrong token (one more byte) 401');
    (undef, $r) = scrape(_path => '/private', Authorization => 'Bearer ' . substr($TOKEN, 0, -1));
    is($r->{status}, 401, 'auth_token: wrong token (one byte less) 401');
    (undef, $r) = scrape(_path => '/private', Authorization => "Basic $TOKEN");
    is($r->{status}, 401, 'auth_token: another scheme 401');
    my $p;
    ($p, $r) = scrape(_path => '/private', Authorization => "Bearer $TOKEN");
    is($r->{status}, 200, 'auth_token: the right token 200');
    is_deeply($p->{errors}, [], 'auth_token: and the exposition is valid');
    (undef, $r) = scrape(_path => '/private', Authorization => "bearer  $TOKEN");
    is($r->{status}, 200, 'auth_token: the scheme is case-insensitive');
    for my $pair ([ "Bearer $TOKEN", 'Bearer wrong' ], [ 'Bearer wrong', "Bearer $TOKEN" ]) {
        my ($d) = http_raw($st, "GET /private HTTP/1.1\r\nHost: x\r\nAuthorization: $pair->[0]\r\n"
            . "Authorization: $pair->[1]\r\nConnection: close\r\n\r\n", 5);
        like($d // '', qr{^HTTP/1\.1 401 }, "auth_token: two Authorization fields are refused ($pair->[1] second)");
    }
}

# --- allow / deny -----------------------------------------------------------------------------------
{
    my $r = http_get($st, '/local');
    is($r->{status}, 403, 'deny all: 403 from 127.0.0.1');
    $r = http_get($st, '/local', _local => '127.0.0.2');
    is($r->{status}, 200, 'allow 127.0.0.2: 200');
    like($r->{body}, qr/^# HELP portcullis_/, 'allow 127.0.0.2: the metrics');
}

# --- health and ready ---------------------------------------------------------------------------
{
    my $r = http_get($st, '/health');
    is($r->{status}, 200, 'health 200');
    is($r->{body}, "ok\n", 'health body');
    $r = http_get($st, '/ready');
    is($r->{status}, 200, 'ready 200');
}

# --- a worker crash loses nothing -------------------------------------------------------------
{
    my @w = $pc->worker_pids;
    $pc->kill_worker($w[0]);
    ok(wait_until(sub { my @n = $pc->worker_pids; @n == 2 && !grep { $_ == $w[0] } @n }, 10),
        'a killed worker is respawned');
    my ($p) = scrape();
    is(reqs($p), $total, 'requests_total unchanged after a worker crash');
    http_get($api, '/after-crash') for 1 .. 5;
    ($p) = scrape();
    is(reqs($p), $total + 5, 'and keeps counting');
    $total += 5;
}

# --- counters survive SIGHUP; reloads are counted ----------------------------------------------
{
    my ($p0) = scrape();
    my $acc0 = Test::Portcullis::Prom::value($p0, 'portcullis_connections_accepted_total');
    my $ok0 = Test::Portcullis::Prom::value($p0, 'portcullis_config_reloads_total', { result => 'success' });
    my $ts0 = Test::Portcullis::Prom::value($p0, 'portcullis_config_last_reload_success_timestamp_seconds');
    (my $c2 = $conf) =~ s/(server_name api;)/$1\n        location = \/new { return 200 "new"; }/;
    $c2 =~ s/auth_token \Q$TOKEN\E;/auth_token ${TOKEN}NEW;/;
    $pc->write_conf($c2);
    my $t0 = time();
    ok(defined $pc->reload, 'reload with a new location');
    my $probes = 0;
    ok(wait_until(sub { $probes++; http_get($api, '/new')->{body} eq 'new' }, 10),
        'the new configuration serves');
    $total += $probes;      # each one a 2xx, from the old or the new workers
    my ($p) = scrape();
    is(reqs($p), $total, 'requests_total survived the reload');
    is(Test::Portcullis::Prom::value($p, 'portcullis_connections_accepted_total') - $acc0, $probes + 1,
        'connections_accepted_total lost none of the old workers\' last connections');
    is(Test::Portcullis::Prom::value($p, 'portcullis_config_reloads_total', { result => 'success' }), $ok0 + 1,
        'config_reloads_total{result="success"} + 1');
    cmp_ok(Test::Portcullis::Prom::value($p, 'portcullis_config_last_reload_success_timestamp_seconds'), '>=',
        int($t0) - 1, 'last reload timestamp moved');
    cmp_ok(Test::Portcullis::Prom::value($p, 'portcullis_config_last_reload_success_timestamp_seconds'), '>', $ts0,
        'last reload timestamp is newer than the start');
    # (an old worker may answer until it has seen the reload)
    ok(wait_until(sub { (scrape(_path => '/private', Authorization => "Bearer $TOKEN"))[1]{status} == 401 }, 10),
        'after reload: the old auth_token is refused');
    ok(wait_until(sub { (scrape(_path => '/private', Authorization => "Bearer ${TOKEN}NEW"))[1]{status} == 200 }, 10),
        'after reload: the new auth_token is accepted');
    http_get($api, "/r$_") for 1 .. 7;
    ($p) = scrape();
    is(reqs($p), $total + 7, 'and counts on exactly after the reload');
    $pc->write_conf($c2 . "\nbroken {");
    ok(!defined $pc->reload, 'a broken configuration is refused');
    ($p) = scrape();
    is(Test::Portcullis::Prom::value($p, 'portcullis_config_reloads_total', { result => 'failure' }), 1,
        'config_reloads_total{result="failure"} 1');
    is(reqs($p), $total + 7, 'counters untouched by a failed reload');
    is_deeply($p->{errors}, [], 'valid after reloads');
}

# --- a reload that outgrows the metrics zone: the counters carry over -------------------------
{
    # 60 more servers need many times the cells the zone was sized for
    (my $big = $conf) =~ s/(\n\}\s*)$/join('', map { "\n    server { listen 127.0.0.1:%%PORT2%%; server_name s$_.test; location \/ { return 204; } }" } 1 .. 60) . $1/e;
    my ($p0) = scrape();
    my $before = reqs($p0);
    my $acc0 = Test::Portcullis::Prom::value($p0, 'portcullis_connections_accepted_total');
    $pc->write_conf($big);
    ok(defined $pc->reload, 'reload with 60 more servers');
    ok(wait_until(sub { http_get($st, '/', Host => 's60.test')->{status} == 204 }, 10), 'the new servers answer');
    ok(wait_until(sub { $pc->error_log =~ /metrics zone grown to \d+ cells per worker; \d+ series carried over/ }, 5),
        'the grown zone is logged');
    my ($p) = scrape();
    cmp_ok(reqs($p), '>=', $before, 'requests_total did not go back');
    is(reqs($p), $before, 'requests_total carried over into the grown zone');
    cmp_ok(Test::Portcullis::Prom::value($p, 'portcullis_connections_accepted_total'), '>=', $acc0,
        'connections_accepted_total did not go back');
    http_get($api, "/g$_") for 1 .. 3;
    ($p) = scrape();
    is(reqs($p), $before + 3, 'and counts on');
    is_deeply($p->{errors}, [], 'valid after the zone grew');
}
is($pc->stop, 0, 'clean stop');

# --- ready: 503 at the start of a graceful shutdown, in-flight requests complete -----------
{
    my $c = <<'CONF';
error_log logs/error.log info;
worker_processes 1;
shutdown_delay 3s;
events { }
http {
    upstream be { server 127.0.0.1:BEPORT; }
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { proxy_pass http://be; }
        location = /ready { ready ; }
        location = /health { health ; }
    }
}
CONF
    $c =~ s/BEPORT/$bp/g;
    my $d = Test::Portcullis->new(conf => $c, workers => 1);
    my $port = $d->port;
    is(http_get($port, '/ready')->{status}, 200, 'drain: ready 200 before');
    my $ka = client($port);
    $ka->send("GET /ready HTTP/1.1\r\nHost: x\r\n\r\n");
    is(($ka->read_response // {})->{status}, 200, 'drain: ready 200 on a keep-alive connection');
    unlink("$dir/slow-started");
    my $slow = client($port);
    $slow->send("GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ok(wait_until(sub { -e "$dir/slow-started" }, 5), 'drain: the slow request reached the backend');
    my $t0 = time();
    $d->signal('TERM');
    my $r503 = wait_until(sub { my $r = http_get($port, '/ready'); $r->{status} == 503 ? $r : 0 }, 2, 0.01);
    ok($r503, 'drain: ready turns 503 after SIGTERM');
    cmp_ok(time() - $t0, '<', 1.5, 'drain: at once (before the in-flight request could end)');
    like($r503 ? $r503->{body} : '', qr/shutting down/, 'drain: the body says why');
    $ka->send("GET /ready HTTP/1.1\r\nHost: x\r\n\r\n");
    my $kr = $ka->read_response // {};
    is($kr->{status}, 503, 'drain: 503 on the existing keep-alive connection too');
    is(lc($kr->{headers}{connection} // ''), 'close', 'drain: with Connection: close');
    is(http_get($port, '/health')->{status}, 200, 'drain: health stays 200 (alive)');
    my $sr = $slow->read_response(timeout => 10) // {};
    is($sr->{status}, 200, 'drain: the in-flight slow request completes');
    is($sr->{body}, 'slow done', 'drain: with its whole body');
    is($d->wait_exit(15), 0, 'drain: exit 0');
}

# --- ready: 503 when an upstream has no usable peer -------------------------------------------
{
    my $dead = free_port();
    my $c = <<'CONF';
error_log logs/error.log info;
worker_processes 1;
events { }
http {
    upstream be { server 127.0.0.1:BEPORT; }
    upstream flaky { server 127.0.0.1:DEAD max_fails=1 fail_timeout=30s; server 127.0.0.1:BEPORT down; }
    server {
        listen 127.0.0.1:%%PORT%%;
        location /flaky/ { proxy_pass http://flaky; }
        location = /ready { ready ; }
        location = /metrics { metrics ; }
    }
}
CONF
    $c =~ s/BEPORT/$bp/g;
    $c =~ s/DEAD/$dead/g;
    my $u = Test::Portcullis->new(conf => $c, workers => 1);
    my $port = $u->port;
    is(http_get($port, '/ready')->{status}, 200, 'ready 200 while the flaky peer is untried');
    my ($p) = Test::Portcullis::Prom::parse(http_get($port, '/metrics')->{body});
    is(Test::Portcullis::Prom::value($p, 'portcullis_upstream_peer_up', { upstream => 'flaky', peer => "127.0.0.1:$bp" }),
        0, 'peer_up 0 for a peer marked down');
    is(http_get($port, '/flaky/x')->{status}, 502, 'the only usable peer refuses: 502');
    my $r = http_get($port, '/ready');
    is($r->{status}, 503, 'ready 503: upstream flaky has no usable peer left');
    like($r->{body}, qr/upstream flaky has no usable server/, 'ready names the upstream');
    $p = Test::Portcullis::Prom::parse(http_get($port, '/metrics')->{body});
    is(Test::Portcullis::Prom::value($p, 'portcullis_upstream_peer_up', { upstream => 'flaky', peer => "127.0.0.1:$dead" }),
        0, 'peer_up 0 after max_fails');
    is(Test::Portcullis::Prom::value($p, 'portcullis_upstream_requests_total',
        { upstream => 'flaky', peer => "127.0.0.1:$dead", status_class => '5xx' }), 1,
        'the failed attempt is counted as 5xx');
    is_deeply($p->{errors}, [], 'valid');
    is($u->stop, 0, 'clean stop');
}

# --- size of /metrics for 10 upstreams x 10 peers ------------------------------------------------
{
    my $ups = '';
    for my $i (1 .. 10) {
        $ups .= "    upstream u$i {" . join('', map { " server 127.0.0.1:" . (20000 + $i * 100 + $_) . ";" } 1 .. 10) . " }\n";
    }
    my $c = "error_log logs/error.log info;\nworker_processes 1;\nevents { }\nhttp {\n$ups"
        . "    server { listen 127.0.0.1:%%PORT%%; location = /metrics { metrics ; }\n"
        . join('', map { "        location /u$_/ { proxy_pass http://u$_; }\n" } 1 .. 10) . "    }\n}\n";
    my $m = Test::Portcullis->new(conf => $c, workers => 1);
    my $r = http_get($m->port, '/metrics');
    my $p = Test::Portcullis::Prom::parse($r->{body});
    is_deeply($p->{errors}, [], '10 upstreams x 10 peers: valid');
    is(scalar(grep { $_->{name} eq 'portcullis_upstream_peer_up' } @{ $p->{samples} }), 100, '100 peer_up series');
    diag("size of /metrics for 10 upstreams x 10 peers: " . length($r->{body}) . " bytes, "
        . scalar(@{ $p->{samples} }) . " samples");
    is($m->stop, 0, 'clean stop');
}

done_testing();
