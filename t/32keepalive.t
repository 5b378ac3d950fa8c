#!/usr/bin/perl
# The upstream keep-alive pool (SPEC §4 "Upstream keep-alive pool
# semantics"): per worker, per upstream, LIFO reuse; 10,000 proxied requests
# over few upstream connections; an idle connection the upstream closes or
# writes to is dropped at once (a backend closing idle connections after 1 s
# with requests 1.2 s apart: zero errors); a request failing on a reused
# connection before any response byte is retried once on a new connection
# (a backend that resets reused connections: no 502 for GET), but a POST
# whose bytes were written is never re-sent; Connection: close and HTTP/1.0
# responses retire the connection; keepalive, keepalive_timeout (default 4s)
# and keepalive_requests; $upstream_reused.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Test::Portcullis::Origin;
use Time::HiRes qw(time sleep);

Test::Portcullis::require_binary();

my $fast  = Test::Portcullis::Origin->new(name => 'fast', handler => sub { { body => 'ok' } });
my $fast2 = Test::Portcullis::Origin->new(name => 'fast2', handler => sub { { body => 'ok' } });
my $idle  = Test::Portcullis::Origin->new(name => 'idle', idle_close => 1);
my $rst   = Test::Portcullis::Origin->new(name => 'rst', rst_reused => 1);
my $retire = Test::Portcullis::Origin->new(name => 'retire', handler => sub {
    my ($r) = @_;
    return $r->{path} =~ /v10/ ? { version => '1.0', keep => 1, body => 'ten' }
                               : { conn_close => 1, body => 'bye' };   # says close, keeps it open
});
my $late  = Test::Portcullis::Origin->new(name => 'late', handler => sub { { body => 'x', late => [0.2, "JUNK"] } });
my $short = Test::Portcullis::Origin->new(name => 'short');
my $dflt  = Test::Portcullis::Origin->new(name => 'dflt');
my $lifo  = Test::Portcullis::Origin->new(name => 'lifo');
my $kr    = Test::Portcullis::Origin->new(name => 'kr');
my $k0    = Test::Portcullis::Origin->new(name => 'k0');
my $k2    = Test::Portcullis::Origin->new(name => 'k2');

my $pc = Test::Portcullis->new(conf => <<"CONF");
error_log logs/error.log info;
events { worker_connections 1024; }
http {
    keepalive_requests 100000;
    log_format ka '\$request_uri \$status \$upstream_reused "\$upstream_addr" "\$upstream_status"';
    access_log logs/ka.log ka buffer=256k flush=200ms;
    upstream fast   { server 127.0.0.1:${\ $fast->port}; }
    upstream fast2  { server 127.0.0.1:${\ $fast2->port}; keepalive_requests 100000; }
    upstream idle   { server 127.0.0.1:${\ $idle->port}; }
    upstream rst    { server 127.0.0.1:${\ $rst->port}; }
    upstream retire { server 127.0.0.1:${\ $retire->port}; }
    upstream late   { server 127.0.0.1:${\ $late->port}; }
    upstream short  { server 127.0.0.1:${\ $short->port}; keepalive_timeout 500ms; }
    upstream dflt   { server 127.0.0.1:${\ $dflt->port}; }
    upstream lifo   { server 127.0.0.1:${\ $lifo->port}; }
    upstream kr     { server 127.0.0.1:${\ $kr->port}; keepalive_requests 3; }
    upstream k0     { server 127.0.0.1:${\ $k0->port}; keepalive 0; }
    upstream k2     { server 127.0.0.1:${\ $k2->port}; keepalive 2; }
    server {
        listen 127.0.0.1:%%PORT%%;
        location /fast/   { proxy_pass http://fast; }
        location /fast2/  { proxy_pass http://fast2; }
        location /idle/   { proxy_pass http://idle; }
        location /rst/    { proxy_pass http://rst; }
        location /retire/ { proxy_pass http://retire; }
        location /late/   { proxy_pass http://late; }
        location /short/  { proxy_pass http://short; }
        location /dflt/   { proxy_pass http://dflt; }
        location /lifo/   { proxy_pass http://lifo; }
        location /kr/     { proxy_pass http://kr; }
        location /k0/     { proxy_pass http://k0; }
        location /k2/     { proxy_pass http://k2; }
    }
}
CONF
my $p = $pc->port;
sub get { my ($path, %h) = @_; return http_get($p, $path, %h) }
sub ka_line { my ($re) = @_; return $pc->wait_for_log($re, 5, file => 'logs/ka.log') }

# Start the default-keepalive_timeout measurement now; it is checked at the end.
my $t_dflt = time();
is(get('/dflt/one')->{status}, 200, 'default keepalive_timeout: a pooled connection');

# --- 10,000 requests over keep-alive ---------------------------------------------------------
# $nconn client connections, each with $depth pipelined requests in flight.
sub drive {
    my ($path, $total, $nconn, $depth) = @_;
    my @c = map { client($p) } 1 .. $nconn;
    my (%st, $sent, $got);
    ($sent, $got) = (0, 0);
    my $req = "GET $path HTTP/1.1\r\nHost: ka.test\r\n\r\n";
    for my $c (@c) { my $k = $depth; $k = $total - $sent if $k > $total - $sent; $c->send($req x $k); $sent += $k }
    my $deadline = time() + 60;
    while ($got < $total && time() < $deadline) {
        for my $c (@c) {
            my $r = $c->read_response(timeout => 5);
            if (!$r) { $st{lost}++; $got++; next }
            $st{$r->{status}}++;
            $got++;
            if ($sent < $total) { $c->send($req); $sent++ }
        }
    }
    $_->close for @c;
    return \%st;
}
{
    my $t0 = time();
    my $st = drive('/fast/r', 10_000, 4, 16);
    my $dt = time() - $t0;
    is_deeply($st, { 200 => 10_000 }, '10,000 proxied requests: all 200');
    my $acc = $fast->accepts;
    diag(sprintf('10,000 requests (4 client connections, keepalive_requests 1000): %d upstream connections opened, %.1fs', $acc, $dt));
    cmp_ok($acc, '<=', 4 + 10_000 / 1000, '10,000 requests: at most concurrency + requests/keepalive_requests upstream connections');
    cmp_ok($acc, '>=', 10, 'keepalive_requests 1000 (default) retires connections: at least 10 were needed');

    $st = drive('/fast2/r', 2_000, 4, 16);
    is_deeply($st, { 200 => 2_000 }, '2,000 more requests: all 200');
    cmp_ok($fast2->accepts, '<=', 4, 'keepalive_requests 100000: no more upstream connections than concurrent requests (' . $fast2->accepts . ')');
}

# --- a backend that closes idle connections after 1 s, requests 1.2 s apart --------------------------
{
    my $mark = $pc->log_mark;
    my @st;
    for my $i (1 .. 4) {
        sleep(1.2) if $i > 1;
        push @st, get("/idle/$i")->{status};
    }
    is_deeply(\@st, [200, 200, 200, 200], 'backend closing idle connections after 1 s, requests 1.2 s apart: zero errors');
    is(scalar(grep { $_->{type} eq 'idle_close' } $idle->events), 3, 'the backend did close each idle connection');
    is($idle->accepts, 4, 'each request on a new connection (the closed ones left the pool)');
    is(scalar $pc->log_lines(qr/\[(?:error|warn)\]/, from => $mark), 0, 'nothing logged at error/warn');
    ok(ka_line(qr{^/idle/4 200 0 }), '$upstream_reused is 0 for a new connection');
}

# --- a backend that resets reused connections before answering ---------------------------------------
{
    my $mark = $pc->log_mark;
    my @st = map { get("/rst/$_")->{status} } 1 .. 20;
    is_deeply(\@st, [(200) x 20], 'backend resetting every reused connection: no 502 for GET');
    my $rsts = grep { $_->{type} eq 'rst' } $rst->events;
    cmp_ok($rsts, '>=', 9, "reused connections were reset ($rsts times) and each such GET retried");
    is(scalar $pc->log_lines(qr/\[error\]/, from => $mark), 0, 'no [error] for a stale connection retried');
    ok(ka_line(qr{^/rst/20 200 1, 0 "127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+" "502, 200"$}),
        'the retried request logs both attempts, the last on a new connection') or diag(slurp($pc->path('logs/ka.log')) =~ s/.*\n(?=(?:.*\n){3}\z)//sr);

    # A POST written to a reused connection that is then reset must not be sent again.
    is(get('/rst/prime')->{status}, 200, 'a pooled connection to the resetting backend');
    my $r = http_request($p, method => 'POST', path => '/rst/post', body => 'charge=1');
    my @seen = grep { ($_->{uri} // '') eq '/rst/post' } $rst->events;
    is(scalar @seen, 1, 'POST on a reset reused connection: the backend saw it once');
    is($r->{status}, 502, 'POST on a reset reused connection: 502, not re-sent');

    # An idempotent PUT with a small body is replayed, body included.
    is(get('/rst/prime2')->{status}, 200, 'a pooled connection again');
    $r = http_request($p, method => 'PUT', path => '/rst/put', body => 'doc=v2');
    is($r->{status}, 200, 'PUT on a reset reused connection: retried on a new one');
    my ($put) = grep { ($_->{uri} // '') eq '/rst/put' && $_->{type} eq 'req' } $rst->events;
    is($put && $put->{body_len}, 6, '... with its body');
}

# --- Connection: close and HTTP/1.0 responses retire the connection -----------------------------------
{
    my @st = map { get("/retire/c$_")->{status} } 1 .. 4;
    push @st, map { get("/retire/v10_$_")->{status} } 1 .. 4;
    is_deeply(\@st, [(200) x 8], 'Connection: close / HTTP/1.0 responses proxied');
    is($retire->accepts, 8, 'each one retired its connection (8 requests, 8 connections)');
    ok(!grep({ $_->{type} eq 'req' && $_->{n} > 1 } $retire->events), 'no request ever reused one');
    my $c = client($p);
    $c->send("GET /retire/k1 HTTP/1.1\r\nHost: x\r\n\r\nGET /retire/v10_k2 HTTP/1.1\r\nHost: x\r\n\r\n");
    my ($r1, $r2) = ($c->read_response, $c->read_response);
    ok($r1 && $r2 && $r1->{body} eq 'bye' && $r2->{body} eq 'ten', 'the client connection stays usable');
    is($r1 && $r1->{headers}{connection}, 'keep-alive', "the upstream's Connection: close is not passed to the client");
    $c->close;
}

# --- an idle connection the upstream writes to is dropped at once --------------------------------------
{
    is(get('/late/1')->{status}, 200, 'first request');
    ok(wait_until(sub { grep { $_->{type} eq 'late' } $late->events }, 5), 'the backend wrote bytes on the idle connection');
    ok(wait_until(sub { grep { $_->{type} eq 'eof' } $late->events }, 5), 'the proxy closed that connection at once');
    is(get('/late/2')->{status}, 200, 'next request');
    is($late->accepts, 2, 'the next request used a new connection');
}

# --- keepalive_timeout, keepalive_requests, keepalive 0, LIFO ---------------------------------------------
{
    my $t0 = time();
    is(get('/short/1')->{status}, 200, 'keepalive_timeout 500ms: request');
    ok(wait_until(sub { grep { $_->{type} eq 'eof' } $short->events }, 5), 'the idle connection is closed');
    my ($eof) = grep { $_->{type} eq 'eof' } $short->events;
    my $dt = ($eof->{t} // 0) - $t0;
    ok($dt > 0.4 && $dt < 1.5, sprintf('... after keepalive_timeout (%.2fs)', $dt));
    is(get('/short/2')->{status}, 200, 'next request');
    is($short->accepts, 2, 'on a new connection');
    ok(ka_line(qr{^/short/2 200 0 }), '$upstream_reused 0');
    get('/short/3');
    ok(ka_line(qr{^/short/3 200 1 }), '$upstream_reused 1 for a pooled connection');

    my @n = map { get("/kr/$_")->{headers}{'x-n'} } 1 .. 9;
    is("@n", '1 2 3 1 2 3 1 2 3', 'keepalive_requests 3: a connection carries 3 requests');
    is($kr->accepts, 3, 'keepalive_requests 3: 9 requests, 3 connections');

    get("/k0/$_") for 1 .. 4;
    is($k0->accepts, 4, 'keepalive 0: no pooling');

    # Two connections become idle: c1 first, c2 last; LIFO reuses c2.
    my @c = map { client($p) } 1 .. 2;
    $c[0]->send("GET /lifo/a?delay=0.1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    $c[1]->send("GET /lifo/b?delay=0.6 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    my @r = map { $_->read_response(timeout => 5) } @c;
    my $last = $r[1] && $r[1]{headers}{'x-conn'};
    is($lifo->accepts, 2, 'LIFO: two upstream connections');
    my @conn = map { get("/lifo/s$_")->{headers}{'x-conn'} } 1 .. 3;
    is("@conn", join(' ', ($last) x 3), 'LIFO: the most recently parked connection is reused');
}

# --- keepalive 2: a burst needs 5 connections, 2 stay ------------------------------------------------------
{
    my @c = map { client($p) } 1 .. 5;
    $c[$_]->send("GET /k2/b$_?delay=0.4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") for 0 .. 4;
    my @r = map { $_->read_response(timeout => 5) } @c;
    is(scalar(grep { $_ && $_->{status} == 200 } @r), 5, 'keepalive 2: five concurrent requests answered');
    is($k2->accepts, 5, 'keepalive 2: the burst took five upstream connections');
    ok(wait_until(sub { (grep { $_->{type} eq 'eof' } $k2->events) >= 3 }, 5),
        'keepalive 2: the three beyond keepalive are closed');
    # each was kept for the grace (100 ms) after its response, for a next
    # request of the burst: a lower bound, so a slow machine only helps
    my %req_t = map { ($_->{conn} => $_->{t}) } grep { $_->{type} eq 'req' } $k2->events;
    my @early = grep { !defined $req_t{ $_->{conn} } || $_->{t} - ($req_t{ $_->{conn} } + 0.4) < 0.08 }
        grep { $_->{type} eq 'eof' } $k2->events;
    is(scalar(@early), 0, 'keepalive 2: those beyond keepalive were closed no sooner than the grace');
    sleep 0.3;
    is(scalar(grep { $_->{type} eq 'eof' } $k2->events), 3, 'keepalive 2: and only those three');
    my %conn = map { (get("/k2/s$_")->{headers}{'x-conn'} // '?') => 1 } 1 .. 4;
    is($k2->accepts, 5, 'keepalive 2: the next requests reuse the two kept connections');
    is(scalar(keys %conn), 1, 'keepalive 2: sequential requests all on the newest kept connection');
}

# --- the default keepalive_timeout is 4s -----------------------------------------------------------
{
    ok(wait_until(sub { grep { $_->{type} eq 'eof' } $dflt->events }, 10), 'default keepalive_timeout: the idle connection is closed');
    my ($eof) = grep { $_->{type} eq 'eof' } $dflt->events;
    my $dt = ($eof->{t} // 0) - $t_dflt;
    ok($dt > 3.8 && $dt < 6, sprintf('default keepalive_timeout is 4s (closed after %.2fs)', $dt));
}
ok(!$pc->log_lines(qr/\[(?:alert|crit|emerg)\]/), 'no alert/crit in the error log');
{
    # shutdown closes the idle pooled connections at once
    get('/lifo/before-stop');
    my $n = grep { $_->{type} eq 'eof' } $lifo->events;
    my $t0 = time();
    is($pc->stop, 0, 'exit 0');
    ok(wait_until(sub { (grep { $_->{type} eq 'eof' } $lifo->events) > $n }, 3), 'stop: idle upstream connections closed');
    ok(time() - $t0 < 3, sprintf('stop: quick, not held by idle pooled connections (%.2fs)', time() - $t0));
}
done_testing();
