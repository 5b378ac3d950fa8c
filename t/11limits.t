#!/usr/bin/perl
# Size limits, keep-alive limits and error bodies (SPEC §4 Core, §8):
# client_max_body_size, client_header_buffer_size,
# large_client_header_buffers, keepalive_requests, error_format,
# worker_connections (reusing idle keep-alive connections).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Test::Portcullis::Origin;
use JSON::PP;
use Time::HiRes qw(time);

Test::Portcullis::require_binary();

sub wrap { my ($http, $server) = @_; return "error_log logs/error.log info;\nevents { }\nhttp {\n$http\n    server {\n        listen 127.0.0.1:%%PORT%%;\n$server\n    }\n}\n" }

# --- client_max_body_size -------------------------------------------------------
{
    my $pc = Test::Portcullis->new(conf => wrap('    client_max_body_size 10;', <<'S'));
        location / { return 200 "ok"; }
        location /big/ { client_max_body_size 1k; return 200 "big"; }
        location /unl/ { client_max_body_size 0; return 200 "unlimited"; }
S
    my $p = $pc->port;
    my $r = http_request($p, method => 'POST', path => '/', body => 'x' x 10);
    is($r->{status}, 200, 'client_max_body_size 10: 10-byte body accepted');
    $r = http_request($p, method => 'POST', path => '/', body => 'x' x 11);
    is($r->{status}, 413, 'client_max_body_size 10: 11-byte body -> 413');
    $r = http_request($p, method => 'POST', path => '/', headers => ['Content-Length' => 1000000]);
    is($r->{status}, 413, '413 decided from Content-Length before the body arrives');
    $r = http_request($p, method => 'POST', path => '/',
        headers => ['Transfer-Encoding' => 'chunked'], body => "5\r\nxxxxx\r\n5\r\nxxxxx\r\n0\r\n\r\n");
    is($r->{status}, 200, 'chunked body of exactly 10 bytes accepted');
    $r = http_request($p, method => 'POST', path => '/',
        headers => ['Transfer-Encoding' => 'chunked'], body => "5\r\nxxxxx\r\n6\r\nxxxxxx\r\n0\r\n\r\n");
    is($r->{status}, 413, 'chunked body of 11 bytes -> 413');
    {
        # as it streams: the limit is hit long before the body would end
        my $c = client($p);
        $c->send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" . ("4\r\nxxxx\r\n" x 4));
        my $resp = $c->read_response(timeout => 5);
        is($resp && $resp->{status}, 413, 'chunked body over the limit -> 413 while it streams');
        ok($c->closed_within(5), '... and the connection is closed');
        $c->close;
    }
    $r = http_request($p, method => 'POST', path => '/big/', body => 'x' x 1024);
    is($r->{status}, 200, 'location override 1k: 1024 bytes accepted');
    $r = http_request($p, method => 'POST', path => '/big/', body => 'x' x 1025);
    is($r->{status}, 413, 'location override 1k: 1025 bytes -> 413');
    $r = http_request($p, method => 'POST', path => '/unl/', body => 'x' x 200000);
    is($r->{status}, 200, 'client_max_body_size 0: unlimited');
    is($pc->stop, 0, 'exit 0');
}
conf_test_ok(wrap('    client_max_body_size 10m;', ''), 'client_max_body_size 10m');
conf_test_fails(wrap('    client_max_body_size ten;', ''), 'client_max_body_size', qr/client_max_body_size|ten/, 'client_max_body_size ten');
conf_test_fails(wrap('    client_max_body_size -1;', ''), 'client_max_body_size', qr/client_max_body_size|-1/, 'client_max_body_size -1');

# --- request line / header limits -------------------------------------------------------
{
    my $pc = Test::Portcullis->new(conf => wrap("    client_header_buffer_size 1k;\n    large_client_header_buffers 4 2k;",
        '        location / { return 200 "ok"; }'));
    my $p = $pc->port;
    my $path = '/' . ('a' x 1500);
    my $r = http_get($p, $path);
    is($r->{status}, 200, 'request line of ~1.5k (over the 1k buffer, within a 2k large buffer) ok');
    my ($raw, $closed) = http_raw($p, "GET /" . ('a' x 3000) . " HTTP/1.1\r\nHost: x\r\n\r\n", 5);
    $r = parse_response($raw);
    is($r && $r->{status}, 414, 'request line over the large buffer size -> 414');
    ok($closed, '414: connection closed');
    $r = http_get($p, '/', 'X-Long' => 'b' x 1800);
    is($r->{status}, 200, 'header line of ~1.8k ok');
    ($raw, $closed) = http_raw($p, "GET / HTTP/1.1\r\nHost: x\r\nX-Long: " . ('b' x 3000) . "\r\n\r\n", 5);
    $r = parse_response($raw);
    is($r && $r->{status}, 431, 'header line over the large buffer size -> 431');
    ok($closed, '431: connection closed');
    my $many = join '', map { "X-H$_: " . ('c' x 1000) . "\r\n" } 1 .. 12;
    ($raw, $closed) = http_raw($p, "GET / HTTP/1.1\r\nHost: x\r\n$many\r\n", 5);
    $r = parse_response($raw);
    is($r && $r->{status}, 431, 'header section over the buffers (12k > 4 x 2k) -> 431');
    ok($closed, '431 (total): connection closed');
    my $some = join '', map { "X-H$_: " . ('c' x 500) . "\r\n" } 1 .. 6;
    is(http_raw_status($p, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n$some\r\n"), 200,
        'several headers within the buffers ok');
    is($pc->stop, 0, 'exit 0');
}
sub http_raw_status { my ($p, $req) = @_; my $r = parse_response(scalar http_raw($p, $req, 5)); return $r ? $r->{status} : 0 }
conf_test_ok(wrap("    client_header_buffer_size 4k;\n    large_client_header_buffers 8 16k;", ''), 'header buffers valid');
conf_test_fails(wrap('    client_header_buffer_size huge;', ''), 'client_header_buffer_size', qr/client_header_buffer_size|huge/, 'client_header_buffer_size huge');
conf_test_fails(wrap('    client_header_buffer_size 0;', ''), 'client_header_buffer_size', qr/client_header_buffer_size/, 'client_header_buffer_size 0');
conf_test_fails(wrap('    large_client_header_buffers 4;', ''), 'large_client_header_buffers', qr/large_client_header_buffers/, 'large_client_header_buffers one argument');
conf_test_fails(wrap('    large_client_header_buffers x 8k;', ''), 'large_client_header_buffers', qr/large_client_header_buffers|x/, 'large_client_header_buffers x 8k');
conf_test_fails(wrap('    large_client_header_buffers 0 8k;', ''), 'large_client_header_buffers', qr/large_client_header_buffers|"0"/, 'large_client_header_buffers 0 8k');
conf_test_fails(wrap('    large_client_header_buffers 4 8q;', ''), 'large_client_header_buffers', qr/large_client_header_buffers|8q/, 'large_client_header_buffers 4 8q');

# --- keepalive_requests -------------------------------------------------------------------
{
    my $pc = Test::Portcullis->new(conf => wrap('    keepalive_requests 3;', '        location / { return 200 "n=$connection_requests"; }'));
    my $c = client($pc->port);
    my @r;
    for my $i (1 .. 3) {
        $c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        push @r, $c->read_response;
    }
    is_deeply([map { $_ && $_->{body} } @r], ['n=1', 'n=2', 'n=3'], 'keepalive_requests 3: three requests on one connection');
    unlike($r[0]{headers}{connection} // '', qr/close/i, 'first response keeps the connection');
    like($r[2]{headers}{connection} // '', qr/^close$/i, 'last allowed response has Connection: close');
    ok($c->closed_within(5), 'connection closed after the last allowed request');
    $c->close;
    is($pc->stop, 0, 'exit 0');
}
{
    my $pc = Test::Portcullis->new(conf => wrap('    keepalive_requests 0;', '        location / { return 200 "x"; }'));
    my ($raw, $closed) = http_raw($pc->port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 5);
    my $r = parse_response($raw);
    like($r->{headers}{connection} // '', qr/close/i, 'keepalive_requests 0: Connection: close');
    ok($closed, 'keepalive_requests 0: closed');
    is($pc->stop, 0, 'exit 0');
}
conf_test_fails(wrap('    keepalive_requests many;', ''), 'keepalive_requests', qr/keepalive_requests|many/, 'keepalive_requests many');
conf_test_fails(wrap('    keepalive_requests -1;', ''), 'keepalive_requests', qr/keepalive_requests|-1/, 'keepalive_requests -1');

# --- worker_connections: idle keep-alive connections make room ------------------
sub wc_conf {
    return "error_log logs/error.log info;\nworker_processes 1;\nevents { worker_connections 8; }\n"
        . "http {\n    keepalive_timeout 30s;\n    client_header_timeout 30s;\n"
        . "    server {\n        listen 127.0.0.1:%%PORT%%;\n        location / { return 200 \"ok\"; }\n    }\n}\n";
}
sub idle_client {
    my ($p) = @_;
    my $c = client($p) or return undef;
    $c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    my $r = $c->read_response(timeout => 5);
    return $r && $r->{status} == 200 ? $c : undef;
}
{
    my $pc = Test::Portcullis->new(conf => wc_conf());
    my $p = $pc->port;
    $pc->wait_workers(1);
    my @idle;
    for (1 .. 8) { push @idle, idle_client($p); select(undef, undef, undef, 0.02) }
    is(scalar(grep { defined } @idle), 8, 'worker_connections 8: eight idle keep-alive clients');
    my $mark = $pc->log_mark;
    my $t0 = time();
    my $c = client($p);
    $c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    my $r = $c->read_response(timeout => 3);
    is($r && $r->{status}, 200, 'full of idle keep-alive clients: a new client is served');
    ok(time() - $t0 < 3, 'served well under keepalive_timeout');
    ok($idle[0] && $idle[0]->closed_within(3), 'the oldest idle connection was closed (EOF)');
    ok($idle[7] && !$idle[7]->readable_within(0.3), 'the newest idle connection is kept');
    ok($pc->wait_for_log(qr/\[warn\].*worker_connections \(8\) are not enough: closed \d+ idle keep-alive connection/, 5, from => $mark),
        'reuse logged at warn');
    # the kept ones still work
    $idle[7]->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n") if $idle[7];
    $r = $idle[7] && $idle[7]->read_response(timeout => 3);
    is($r && $r->{status}, 200, 'a kept idle connection still serves requests');
    $_ && $_->close for @idle, $c;
    unlike($pc->error_log, qr/\[(?:alert|crit|emerg)\]/, 'no alert/crit in the log');
    is($pc->stop, 0, 'exit 0');
}
{
    # Clients mid-head (slowloris) are not reusable: only the idle one goes,
    # then a new client waits in the backlog until a slot frees.
    my $pc = Test::Portcullis->new(conf => wc_conf());
    my $p = $pc->port;
    $pc->wait_workers(1);
    my @slow = map { my $c = client($p); $c->send("GET / HTTP/1.1\r\nHost: x\r\n"); $c } 1 .. 7;
    my $idle = idle_client($p);
    ok($idle, 'seven clients mid-head and one idle keep-alive client');
    my $mark = $pc->log_mark;
    my $ca = client($p);
    $ca->send("GET / HTTP/1.1\r\n");                       # an eighth slow one
    ok($idle && $idle->closed_within(3), 'the idle keep-alive connection made room');
    ok($pc->wait_for_log(qr/\[warn\].*worker_connections \(8\) are not enough: closed 1 idle keep-alive connection/, 5, from => $mark),
        'reuse logged at warn');
    my $cb = client($p);
    $cb->send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ok(!$cb->readable_within(1.5), 'no reusable connection: a new client waits in the backlog');
    is(scalar(grep { $_->readable_within(0) } @slow, $ca), 0, 'clients mid-head are not closed');
    $slow[0]->close;
    my $r = $cb->read_response(timeout => 5);
    is($r && $r->{status}, 200, '... and is served once a slot frees');
    $_->close for @slow[1 .. 6], $ca, $cb;
    is($pc->stop, 0, 'exit 0');
}
{
    # Idle upstream connections in a keepalive pool are reusable too: with
    # two of them and a client mid-head filling worker_connections 3, a new
    # client gets a pooled connection's slot.
    my $o = Test::Portcullis::Origin->new(name => 'wcup');
    my $O = $o->port;
    my $pc = Test::Portcullis->new(conf => "error_log logs/error.log info;\nworker_processes 1;\n"
        . "events { worker_connections 3; }\nhttp {\n    client_header_timeout 30s;\n"
        . "    upstream up { server 127.0.0.1:$O; keepalive 4; keepalive_timeout 60s; }\n"
        . "    server {\n        listen 127.0.0.1:%%PORT%%;\n        location / { proxy_pass http://up; }\n    }\n}\n");
    my $p = $pc->port;
    $pc->wait_workers(1);
    my @c = map { client($p) } 1 .. 2;
    $_->send("GET /wc/a?delay=0.3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") for @c;
    is(scalar(grep { $_ && $_->{status} == 200 } map { $_->read_response(timeout => 5) } @c), 2,
        'two concurrent proxied requests: two upstream connections, now idle in the pool');
    $_->close for @c;
    my $slow = client($p);
    $slow->send("GET / HTTP/1.1\r\n");                    # mid-head: not reusable
    my $mark = $pc->log_mark;
    my $t0 = time();
    my $n = client($p);
    $n->send("GET /wc/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    my $r = $n->read_response(timeout => 5);
    is($r && $r->{status}, 200, 'full with two idle upstream connections: a new client is served');
    ok(time() - $t0 < 3, 'at once, not after the pool\'s keepalive_timeout');
    ok(wait_until(sub { (grep { $_->{type} eq 'eof' } $o->events) >= 1 }, 5),
        'the origin saw a pooled connection closed to make room');
    ok(!$slow->readable_within(0), 'the client mid-head is untouched');
    $_->close for $slow, $n;
    is($pc->stop, 0, 'exit 0');
}

# --- error_format -----------------------------------------------------------------------------
{
    my $pc = Test::Portcullis->new(wait_ports => [1, 2], conf => <<'CONF');
error_log logs/error.log info;
events { }
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        location /x/ { return 200 "x"; }
        location /deny/ { deny all; }
    }
    server {
        listen 127.0.0.1:%%PORT2%%;
        error_format text;
        location /x/ { return 200 "x"; }
        location /deny/ { deny all; }
    }
}
CONF
    for my $case (['/nothing', 404], ['/deny/', 403]) {
        my ($path, $code) = @$case;
        my $r = http_get($pc->port, $path);
        is($r->{status}, $code, "json: $path -> $code");
        like($r->{headers}{'content-type'} // '', qr{^application/json\b}, "json: Content-Type application/json ($code)");
        my $j = eval { decode_json($r->{body}) };
        ok($j, "json: body is JSON ($code)") or diag($r->{body});
        is_deeply([sort keys %{ $j // {} }], ['error'], "json: one top-level key \"error\" ($code)");
        my $e = ref $j eq 'HASH' ? $j->{error} : undef;
        ok(ref $e eq 'HASH', "json: error is an object ($code)");
        $e = {} unless ref $e eq 'HASH';
        like($r->{body}, qr/"status":\s*$code[,}]/, "json: status is the number $code");
        is($e->{status}, $code, "json: status value ($code)");
        ok(defined $e->{reason} && !ref $e->{reason} && length $e->{reason}, "json: reason is a non-empty string ($code)");
        ok(!grep({ !/^(status|reason|request_id)$/ } keys %$e), "json: only status, reason, request_id ($code)")
            or diag(join ',', keys %$e);
        ok(!exists $e->{request_id} || (!ref $e->{request_id} && length $e->{request_id}),
            "json: request_id, when present, is a non-empty string ($code)");
        is($r->{headers}{'content-length'}, length $r->{body}, "json: Content-Length ($code)");

        my $t = http_get($pc->port(2), $path);
        is($t->{status}, $code, "text: $path -> $code");
        like($t->{headers}{'content-type'} // '', qr{^text/plain\b}, "text: Content-Type text/plain ($code)");
        ok(length $t->{body} && $t->{body} !~ /^\s*\{/, "text: short non-JSON body ($code)");
        like($t->{body}, qr/$code/, "text: body names the status ($code)");
    }
    # malformed requests get the same body format
    my ($raw) = http_raw($pc->port, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 5);
    my $r = parse_response($raw);
    is($r && $r->{status}, 400, 'json: 400 for a malformed request');
    my $j = eval { decode_json($r->{body}) };
    is(ref $j eq 'HASH' && ref $j->{error} eq 'HASH' && $j->{error}{status}, 400, 'json: 400 body shape');
    ($raw) = http_raw($pc->port(2), "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 5);
    $r = parse_response($raw);
    like($r && $r->{headers}{'content-type'} // '', qr{^text/plain}, 'text: 400 for a malformed request is text');
    # HEAD: no body, even for errors
    my $h = http_get($pc->port, '/nothing', _method => 'HEAD');
    is($h->{status}, 404, 'HEAD error: status');
    is($h->{all} =~ /\r\n\r\n(.*)$/s ? length $1 : -1, 0, 'HEAD error: no body bytes');
    is($pc->stop, 0, 'exit 0');
}
conf_test_ok(wrap('    error_format text;', ''), 'error_format text');
conf_test_fails(wrap('    error_format xml;', ''), 'error_format', qr/error_format|xml/, 'error_format xml');
conf_test_fails(wrap('', "        location / { error_format text; }"), 'error_format', qr/error_format/, 'error_format in a location');

done_testing();
