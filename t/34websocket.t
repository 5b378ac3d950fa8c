#!/usr/bin/perl
# WebSocket / Upgrade tunnelling (SPEC §4 proxy_upgrade, default on): the
# 101 and its fields reach the client, frames flow both ways (small and
# larger than proxy_buffer_size), ping/pong, close from either side; an
# upstream refusing the upgrade is an ordinary response; proxy_upgrade off
# strips Upgrade; an idle tunnel closes after proxy_read_timeout while a
# busy one stays open; no tunnel for HTTP/1.0 or a request with a body.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Test::Portcullis::Origin;
use Time::HiRes qw(time sleep);

Test::Portcullis::require_binary();

my $ws = Test::Portcullis::Origin->new(name => 'ws', handler => sub {
    my ($r) = @_;
    return { status => 426, headers => ['Upgrade' => 'websocket'], body => 'nope' } if $r->{path} =~ /refuse/;
    return { ws => 1 } if ($r->{headers}{upgrade} // '') =~ /websocket/i;
    return undef;
});
my $W = $ws->port;
my $pc = Test::Portcullis->new(conf => <<"CONF");
error_log logs/error.log info;
events { }
http {
    log_format t '\$request_uri \$status \$upstream_status';
    access_log logs/ws.log t;
    server {
        listen 127.0.0.1:%%PORT%%;
        proxy_buffer_size 4k;
        location / { proxy_pass http://127.0.0.1:$W; proxy_read_timeout 5s; }
        location /idle/ { proxy_pass http://127.0.0.1:$W; proxy_read_timeout 500ms; }
        location /off/ { proxy_pass http://127.0.0.1:$W; proxy_upgrade off; }
    }
}
CONF
my $p = $pc->port;
my $mask = "\x12\x34\x56\x78";
my $key = 'dGhlIHNhbXBsZSBub25jZQ==';

sub ws_open {
    my ($path, %o) = @_;
    my $c = client($p);
    my $v = $o{version} // '1.1';
    $c->send("GET $path HTTP/$v\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
        . "Sec-WebSocket-Key: $key\r\nSec-WebSocket-Version: 13\r\nOrigin: http://ws.test\r\n"
        . ($o{extra} // '') . "\r\n" . ($o{body} // ''));
    my $r = $c->read_response(timeout => 5, interim => 1);
    return ($c, $r);
}
# Next frame from the tunnel: (opcode, payload) or () after $t seconds.
sub ws_read {
    my ($c, $t) = @_;
    my $deadline = time() + ($t // 5);
    while (1) {
        my $buf = $c->{buf};
        my @f = Test::Portcullis::Origin::ws_parse(\$buf);
        if (@f) { $c->{buf} = $buf; return @f }
        return () if $c->is_closed || time() >= $deadline;
        $c->_fill($deadline - time());
    }
}
sub ws_send { my ($c, $op, $payload) = @_; $c->send(Test::Portcullis::Origin::ws_frame($op, $payload, $mask)) }

# --- the handshake and frames both ways -----------------------------------------------------------
{
    my ($c, $r) = ws_open('/chat');
    is($r && $r->{status}, 101, 'Upgrade: 101 Switching Protocols');
    is($r && lc $r->{headers}{upgrade}, 'websocket', '101: Upgrade: websocket');
    like($r && $r->{headers}{connection}, qr/^upgrade$/i, '101: Connection: upgrade');
    is($r && $r->{headers}{'sec-websocket-accept'}, 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=', '101: the upstream\'s Sec-WebSocket-Accept');
    is($r && $r->{headers}{'x-origin'}, 'ws', '101: other upstream fields kept');
    my ($req) = grep { $_->{type} eq 'req' } $ws->events;
    my %h = map { (lc $_->[0] => $_->[1]) } @{ $req->{hlist} // [] };
    is($h{upgrade}, 'websocket', 'upstream got Upgrade');
    is(lc($h{connection} // ''), 'upgrade', 'upstream got Connection: upgrade (only)');
    is($h{'sec-websocket-key'}, $key, 'upstream got Sec-WebSocket-Key');
    is($h{host}, 'ws.test', 'upstream got the Host');

    ws_send($c, 1, 'hello');
    is_deeply([ws_read($c)], [1, 'hello'], 'text frame echoed through the tunnel');
    my $big = join '', map { chr($_ % 251) } 1 .. 200_000;
    ws_send($c, 2, $big);
    my ($op, $pl) = ws_read($c, 10);
    ok($op && $op == 2 && $pl eq $big, '200 KB binary frame (50x proxy_buffer_size) echoed intact');
    ws_send($c, 9, 'ping!');
    is_deeply([ws_read($c)], [10, 'ping!'], 'ping -> pong');
    for my $i (1 .. 20) { ws_send($c, 1, "m$i") }
    my @got = map { (ws_read($c))[1] // '' } 1 .. 20;
    is("@got", join(' ', map { "m$_" } 1 .. 20), '20 frames in a row, in order');
    ws_send($c, 8, pack('n', 1000) . 'bye');
    is_deeply([ws_read($c)], [8, pack('n', 1000) . 'bye'], 'close frame echoed');
    ok($c->closed_within(3), 'the tunnel closes after the upstream closes');
    $c->close;
    ok($pc->wait_for_log(qr{^/chat 101 101$}, 5, file => 'logs/ws.log'), 'access log: 101');
}
{
    # the client goes away: the upstream side is closed too
    my ($c) = ws_open('/gone');
    ws_send($c, 1, 'x');
    ws_read($c);
    my $n = grep { $_->{type} eq 'ws_eof' } $ws->events;
    $c->close;
    ok(wait_until(sub { (grep { $_->{type} eq 'ws_eof' } $ws->events) > $n }, 5), 'client closes: the upstream sees EOF');
}

# --- refused upgrade, proxy_upgrade off, HTTP/1.0, a body -------------------------------------------
{
    my ($c, $r) = ws_open('/refuse');
    is($r && $r->{status}, 426, 'upstream refuses the upgrade: its response is passed on');
    is($r && $r->{body}, 'nope', '... with its body');
    ok($r && !exists $r->{headers}{upgrade}, '... without its hop-by-hop Upgrade');
    $c->send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    my $r2 = $c->read_response;
    is($r2 && $r2->{status}, 200, '... and the client connection goes on');
    $c->close;

    ($c, $r) = ws_open('/off/x');
    is($r && $r->{status}, 200, 'proxy_upgrade off: no tunnel, an ordinary response');
    my $e = Test::Portcullis::Origin::echo_of($r);
    ok($e && !exists $e->{h}{upgrade}, 'proxy_upgrade off: Upgrade not sent upstream');
    ok($e && !exists $e->{h}{connection}, 'proxy_upgrade off: Connection not sent upstream');
    $c->close;

    ($c, $r) = ws_open('/v10', version => '1.0');
    is($r && $r->{status}, 200, 'HTTP/1.0 Upgrade: not tunnelled');
    $c->close;
    ($c, $r) = ws_open('/withbody', extra => "Content-Length: 3\r\n", body => 'abc');
    is($r && $r->{status}, 200, 'Upgrade with a request body: not tunnelled');
    $e = Test::Portcullis::Origin::echo_of($r);
    is($e && $e->{body}, 'abc', '... the body is forwarded');
    $c->close;
}

# --- idle timeout ----------------------------------------------------------------------------------
{
    my ($c, $r) = ws_open('/idle/a');
    is($r && $r->{status}, 101, 'tunnel with proxy_read_timeout 500ms');
    my $t0 = time();
    my @echo;
    for my $i (1 .. 5) {
        sleep(0.3);
        ws_send($c, 1, "k$i");
        push @echo, (ws_read($c, 2))[1] // 'none';
    }
    is("@echo", 'k1 k2 k3 k4 k5', 'a busy tunnel stays open past the timeout (1.5 s of traffic)');
    my $t1 = time();
    ok($c->closed_within(3), 'an idle tunnel is closed');
    my $dt = time() - $t1;
    ok($dt > 0.35 && $dt < 1.5, sprintf('... after proxy_read_timeout (%.2fs idle)', $dt));
    ok($pc->wait_for_log(qr/tunnel to upstream 127\.0\.0\.1:$W idle/, 5), 'error log: the idle tunnel is explained');
    $c->close;
}
ok(!$pc->log_lines(qr/\[(?:alert|crit|emerg)\]/), 'no alert/crit in the error log');
is($pc->stop, 0, 'exit 0');

conf_test_ok("events { }\nhttp { server { listen 127.0.0.1:%%PORT%%; location / { proxy_upgrade off; proxy_pass http://127.0.0.1:$W; } } }\n", 'proxy_upgrade off');
conf_test_fails("events { }\nhttp { server { listen 127.0.0.1:%%PORT%%; location / {\nproxy_upgrade maybe;\nproxy_pass http://127.0.0.1:$W; } } }\n", 'proxy_upgrade', qr/maybe|invalid|on.*off/, 'proxy_upgrade maybe');
done_testing();
