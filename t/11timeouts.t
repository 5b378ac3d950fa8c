#!/usr/bin/perl
# Client-side timeouts (SPEC §8 "Slow clients"): client_header_timeout
# (whole head), client_body_timeout (gap between reads),
# client_body_min_rate (after a 5 s grace), send_timeout, keepalive_timeout.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Time::HiRes qw(time sleep);

Test::Portcullis::require_binary();

sub wrap { my ($http, $loc, $main) = @_; $main //= ''; return "error_log logs/error.log info;\n$main\nevents { }\nhttp {\n$http\n    server {\n        listen 127.0.0.1:%%PORT%%;\n        location / { $loc }\n    }\n}\n" }

# Status of the response in $data, if any (408 expected when one is sent).
sub resp_status { my $r = parse_response($_[0]); return $r ? $r->{status} : 'none' }

# Drip $bytes one byte every $gap seconds until the peer answers or closes
# or $max seconds pass; returns (seconds until the peer ended it or undef,
# client).
sub drip {
    my ($c, $bytes, $gap, $max) = @_;
    my $t0 = time();
    for my $i (0 .. length($bytes) - 1) {
        last if time() - $t0 > $max;
        $c->send(substr($bytes, $i, 1)) or return (time() - $t0, $c);
        return (time() - $t0, $c) if $c->readable_within($gap);
    }
    return (undef, $c);
}

# --- client_header_timeout ------------------------------------------------------
{
    my $pc = Test::Portcullis->new(conf => wrap('    client_header_timeout 1s;', 'return 200 "ok";'));
    my $p = $pc->port;
    my $c = client($p);
    my $t0 = time();
    $c->send("GET / HTTP/1.1\r\n");
    my ($data, $closed) = $c->read_until_close(8);
    my $dt = time() - $t0;
    ok($closed, 'client_header_timeout 1s: incomplete head -> connection ended');
    cmp_ok($dt, '>=', 0.8, 'client_header_timeout 1s: not before the timeout');
    cmp_ok($dt, '<', 5, 'client_header_timeout 1s: soon after the timeout');
    like(resp_status($data), qr/^(?:408|none)$/, 'client_header_timeout: 408 or a plain close');

    # the timeout covers the whole head, not each read: a drip-fed head is cut
    $c = client($p);
    my ($end) = drip($c, "GET / HTTP/1.1\r\nHost: x\r\nX-Drip: " . ('a' x 100) . "\r\n\r\n", 0.2, 6);
    ok(defined $end, 'client_header_timeout: a drip-fed head is cut');
    cmp_ok($end // 99, '<', 3.5, 'client_header_timeout bounds the whole head (1s + margin)');
    my ($d2) = $c->read_until_close(5);
    like(resp_status($c->buffer . $d2), qr/^(?:408|none)$/, 'drip-fed head: 408 or a plain close');

    # a head that arrives in time is served
    is(http_get($p, '/')->{status}, 200, 'a prompt request is served');
    is($pc->stop, 0, 'exit 0');
}
conf_test_fails(wrap('    client_header_timeout abc;', 'return 200;'), 'client_header_timeout', qr/client_header_timeout|abc/, 'client_header_timeout abc');
conf_test_fails(wrap('    client_header_timeout 0;', 'return 200;'), 'client_header_timeout', qr/client_header_timeout/, 'client_header_timeout 0');

# --- client_body_timeout ---------------------------------------------------------------
# `return` may answer as soon as the head is read (the body is then read and
# discarded on the keep-alive connection): the timeouts still apply to that
# discarding, and show as the connection being closed.
{
    my $pc = Test::Portcullis->new(conf => wrap('    client_body_timeout 1s;', 'return 200 "ok";'));
    my $p = $pc->port;
    my $c = client($p);
    my $t0 = time();
    $c->send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345");
    my ($data, $closed) = $c->read_until_close(8);
    my $dt = time() - $t0;
    ok($closed, 'client_body_timeout 1s: stalled body -> connection ended');
    cmp_ok($dt, '>=', 0.8, 'client_body_timeout 1s: not before the timeout');
    cmp_ok($dt, '<', 5, 'client_body_timeout 1s: soon after');
    my @r = parse_responses($data);
    ok(@r <= 1, 'client_body_timeout: at most one response');
    like(@r ? $r[0]{status} : 'none', qr/^(?:408|200|none)$/,
        'client_body_timeout: 408, a plain close, or the early answer of return');

    # gaps shorter than the timeout never trip it (it is per read)
    $c = client($p);
    $c->send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n");
    my ($end) = drip_until_closed($c, "abcdef", 0.4);
    ok(!defined $end, 'client_body_timeout: a body with 0.4 s gaps is not cut');
    $c->send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
    my @got = grep { defined } map { $c->read_response(timeout => 5) } 1 .. 2;
    is(scalar @got, 2, 'client_body_timeout: both requests answered on the connection');
    is($pc->stop, 0, 'exit 0');
}
# Like drip, but only the peer closing ends it (an early response is fine).
sub drip_until_closed {
    my ($c, $bytes, $gap) = @_;
    my $t0 = time();
    for my $i (0 .. length($bytes) - 1) {
        $c->send(substr($bytes, $i, 1)) or return (time() - $t0);
        return (time() - $t0) if $c->closed_within($gap);
    }
    return (undef);
}
conf_test_fails(wrap('    client_body_timeout 5x;', 'return 200;'), 'client_body_timeout', qr/client_body_timeout|5x/, 'client_body_timeout 5x');

# --- client_body_min_rate: drip-fed bodies stopped after the 5 s grace -----------------------
{
    my $pc = Test::Portcullis->new(wait_ports => [1, 2], conf => <<'CONF');
error_log logs/error.log info;
events { }
http {
    client_body_timeout 20s;
    server {
        listen 127.0.0.1:%%PORT%%;
        client_body_min_rate 100;
        location / { return 200 "ok"; }
    }
    server {
        listen 127.0.0.1:%%PORT2%%;
        client_body_min_rate 0;
        location / { return 200 "ok"; }
    }
}
CONF
    my $a = client($pc->port(1));
    my $b = client($pc->port(2));
    my $head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n";   # keep-alive: the body is read, not abandoned
    $a->send($head);
    $b->send($head);
    my $t0 = time();
    my ($a_end, $sent) = (undef, 0);
    # 2 bytes/s to both, far below 100 bytes/s; stop 1.5 s after A ended.
    # (`return` may answer at once; what matters is when A gets closed.)
    while ($sent < 19 && !(defined $a_end && time() - $t0 > $a_end + 1.5)) {
        my $next = time() + 0.5;
        $a->send('x') unless defined $a_end;
        $b->send('x');
        $sent++;
        if (!defined $a_end && $a->closed_within(0.5)) { $a_end = time() - $t0 }
        my $left = $next - time();
        sleep($left) if $left > 0;      # pacing the drip, not waiting for the server
    }
    ok(defined $a_end, 'client_body_min_rate 100: a 2 bytes/s body is stopped');
    cmp_ok($a_end // 0, '>=', 4.5, 'client_body_min_rate: not during the 5 s grace');
    cmp_ok($a_end // 99, '<', 9, 'client_body_min_rate: soon after the grace');
    my @ra = parse_responses($a->buffer);
    like(@ra ? $ra[0]{status} : 'none', qr/^(?:408|200|none)$/, 'client_body_min_rate: 408, a plain close, or the early answer');
    ok(!$b->is_closed, 'client_body_min_rate 0: the same drip is not stopped');
    $b->send('x' x (100 - $sent));
    my $r = $b->read_response(timeout => 5);
    is($r && $r->{status}, 200, 'client_body_min_rate 0: the slow body completes');
    is($pc->stop, 0, 'exit 0');
}
conf_test_ok(wrap('    client_body_min_rate 1k;', 'return 200;'), 'client_body_min_rate 1k');
conf_test_fails(wrap('    client_body_min_rate fast;', 'return 200;'), 'client_body_min_rate', qr/client_body_min_rate|fast/, 'client_body_min_rate fast');

# --- send_timeout: a client that stops reading is dropped ----------------------------------
{
    my $big = 'x' x 65536;
    my $pc = Test::Portcullis->new(wait_ports => [1, 2], conf => <<"CONF");
error_log logs/error.log info;
events { }
http {
    server { listen 127.0.0.1:%%PORT%%;  send_timeout 1s;  location / { return 200 "$big"; } }
    server { listen 127.0.0.1:%%PORT2%%; send_timeout 30s; location / { return 200 "$big"; } }
}
CONF
    my @c = map { client($pc->port($_), rcvbuf => 4096) } 1, 2;
    $_->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n" x 200) for @c;     # ~13 MB, never read
    my @lp = map { $_->socket->sockport } @c;
    my $t0 = time();
    my $gone = wait_until(sub { (Test::Portcullis::tcp_state($pc->port(1), $lp[0]) // '') ne '01' }, 10, 0.05);
    my $dt = time() - $t0;
    ok($gone, 'send_timeout 1s: the server drops the connection of a client that does not read');
    cmp_ok($dt, '<', 6, 'send_timeout 1s: soon after the timeout');
    is(Test::Portcullis::tcp_state($pc->port(2), $lp[1]), '01', 'send_timeout 30s: the other connection is still established');
    my ($data) = $c[0]->read_until_close(10);
    my @resp = parse_responses($data);
    cmp_ok(scalar @resp, '<', 200, 'send_timeout: the rest of the responses were not sent');
    $_->close for @c;
    is($pc->stop, 0, 'exit 0');
}
conf_test_fails(wrap('    send_timeout never;', 'return 200;'), 'send_timeout', qr/send_timeout|never/, 'send_timeout never');

# --- keepalive_timeout -------------------------------------------------------------------------------
{
    my $pc = Test::Portcullis->new(wait_ports => [1, 2], conf => <<'CONF');
error_log logs/error.log info;
events { }
http {
    server { listen 127.0.0.1:%%PORT%%;  keepalive_timeout 1s; location / { return 200 "ok"; } }
    server { listen 127.0.0.1:%%PORT2%%; keepalive_timeout 0;  location / { return 200 "ok"; } }
}
CONF
    my $c = client($pc->port);
    $c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    my $r = $c->read_response;
    is($r && $r->{status}, 200, 'keep-alive response');
    unlike($r->{headers}{connection} // '', qr/close/i, 'keepalive_timeout 1s: connection kept');
    my $t0 = time();
    ok($c->closed_within(6), 'keepalive_timeout 1s: idle connection closed');
    my $dt = time() - $t0;
    cmp_ok($dt, '>=', 0.7, 'keepalive_timeout 1s: not before the timeout');
    cmp_ok($dt, '<', 4, 'keepalive_timeout 1s: soon after');
    is(length $c->buffer, 0, 'keepalive_timeout: nothing sent on an idle close');

    my ($raw, $closed) = http_raw($pc->port(2), "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 5);
    $r = parse_response($raw);
    like($r->{headers}{connection} // '', qr/close/i, 'keepalive_timeout 0: Connection: close');
    ok($closed, 'keepalive_timeout 0: closed after the response');
    is($pc->stop, 0, 'exit 0');
}
conf_test_fails(wrap('    keepalive_timeout forever;', 'return 200;'), 'keepalive_timeout', qr/keepalive_timeout|forever/, 'keepalive_timeout forever');
conf_test_fails(wrap('', 'keepalive_timeout 5s; return 200;'), 'keepalive_timeout', qr/keepalive_timeout/, 'keepalive_timeout in a location');

done_testing();
