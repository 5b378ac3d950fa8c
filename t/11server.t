#!/usr/bin/perl
# listen, server_name, location, return, add_header (SPEC §4 Core).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;

Test::Portcullis::require_binary();

sub body { my ($port, $path, %h) = @_; my $r = http_get($port, $path, %h); return $r->{status} == 200 ? $r->{body} : "status $r->{status}" }

sub srv { my ($inner) = @_; return "error_log logs/error.log info;\nevents { }\nhttp {\n    server {\n        listen 127.0.0.1:%%PORT%%;\n$inner\n    }\n}\n" }

# --- listen -----------------------------------------------------------------
{
    my $pc = Test::Portcullis->new(wait_ports => [1, 2, 3], conf => <<'CONF');
error_log logs/error.log info;
worker_processes 2;
events { }
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        listen 127.0.0.1:%%PORT2%% backlog=16;
        location / { return 200 "one:$server_port"; }
    }
    server {
        listen 127.0.0.1:%%PORT3%% reuseport;
        location / { return 200 "three"; }
    }
}
CONF
    is(body($pc->port, '/'), 'one:' . $pc->port(1), 'listen 127.0.0.1:PORT');
    is(body($pc->port(2), '/'), 'one:' . $pc->port(2), 'listen ... backlog=16 (same server, second address)');
    my $ok = grep { body($pc->port(3), '/') eq 'three' } 1 .. 20;
    is($ok, 20, 'listen ... reuseport with 2 workers serves every request');
    is($pc->stop, 0, 'exit 0');
}
SKIP: {
    skip 'no IPv6 loopback', 3 unless have_ipv6();
    my $pc = Test::Portcullis->new(wait_ports => [[1, '::1']], conf => <<'CONF');
error_log logs/error.log info;
events { }
http {
    server {
        listen [::1]:%%PORT%%;
        location / { return 200 "v6 $remote_addr $server_addr"; }
    }
}
CONF
    ok(wait_until(sub { Test::Portcullis::port_listening($pc->port, '::1') }, 10), 'listen [::1]:PORT listening');
    my $r = http_get($pc->port, '/', _addr => '::1', _host => '[::1]');
    is($r->{body}, 'v6 ::1 ::1', 'listen [::1]:PORT serves over IPv6');
    is($pc->stop, 0, 'exit 0');
}

conf_test_fails(srv("        listen 127.0.0.1:99999;"), 'listen 127.0.0.1:99999', qr/listen|99999/, 'listen port out of range');
conf_test_fails(srv("        listen 127.0.0.1:%%PORT2%% bogus_flag;"), 'bogus_flag', qr/bogus_flag/, 'listen unknown parameter');
conf_test_fails(srv("        listen 127.0.0.1:%%PORT2%% backlog=0;"), 'backlog=0', qr/backlog/, 'listen backlog=0');
conf_test_fails(srv("        listen 127.0.0.1:%%PORT2%% backlog=lots;"), 'backlog=lots', qr/backlog/, 'listen backlog=lots');
conf_test_fails(srv("        listen 127.0.0.1:%%PORT2%% backlog=5 backlog=6;"), 'backlog=5 backlog=6',
    qr/duplicate parameter "backlog=6"/, 'listen backlog= twice');
conf_test_fails(srv("        listen 127.0.0.1:%%PORT2%% reuseport reuseport;"), 'reuseport reuseport',
    qr/duplicate parameter "reuseport"/, 'listen reuseport twice');
conf_test_fails(srv("        listen 127.0.0.1:%%PORT2%% default_server default_server;"), 'default_server default_server',
    qr/duplicate parameter "default_server"/, 'listen default_server twice');
conf_test_fails(srv("        listen 300.1.1.1:80;"), '300.1.1.1', qr/listen|300\.1\.1\.1/, 'listen invalid address');
conf_test_fails(srv("        listen;"), 'listen;', qr/listen/, 'listen without arguments');
conf_test_fails(<<'CONF', 'second', qr/default/, 'two default_server on one address');
error_log logs/error.log info;
events { }
http {
    server { listen 127.0.0.1:%%PORT%% default_server; }
    server { listen 127.0.0.1:%%PORT%% default_server; } # second
}
CONF

# --- server_name ----------------------------------------------------------------
{
    my $pc = Test::Portcullis->new(wait_ports => [1, 2], conf => <<'CONF');
error_log logs/error.log info;
events { }
http {
    server { listen 127.0.0.1:%%PORT%%; server_name first.test;  location / { return 200 "first"; } }
    server { listen 127.0.0.1:%%PORT%%; server_name exact.test www.wild.test; location / { return 200 "exact"; } }
    server { listen 127.0.0.1:%%PORT%%; server_name *.wild.test; location / { return 200 "headwild"; } }
    server { listen 127.0.0.1:%%PORT%%; server_name *.deep.wild.test; location / { return 200 "deepwild"; } }
    server { listen 127.0.0.1:%%PORT%%; server_name tail.*; location / { return 200 "tailwild"; } }
    server { listen 127.0.0.1:%%PORT%%; server_name tail.example.*; location / { return 200 "longtail"; } }

    server { listen 127.0.0.1:%%PORT2%%; server_name a2.test; location / { return 200 "a2"; } }
    server { listen 127.0.0.1:%%PORT2%% default_server; server_name b2.test; location / { return 200 "b2"; } }
}
CONF
    my $p = $pc->port;
    is(body($p, '/', _host => 'exact.test'), 'exact', 'server_name exact');
    is(body($p, '/', _host => 'EXACT.Test'), 'exact', 'server_name is case-insensitive');
    is(body($p, '/', _host => 'exact.test:8080'), 'exact', 'Host port ignored for matching');
    is(body($p, '/', _host => 'www.wild.test'), 'exact', 'exact name beats a wildcard');
    is(body($p, '/', _host => 'a.wild.test'), 'headwild', 'server_name *.wild.test');
    is(body($p, '/', _host => 'a.b.wild.test'), 'headwild', '*.wild.test matches deeper names');
    is(body($p, '/', _host => 'x.deep.wild.test'), 'deepwild', 'longest leading wildcard wins');
    is(body($p, '/', _host => 'wild.test'), 'first', '*.wild.test does not match wild.test itself');
    is(body($p, '/', _host => 'tail.org'), 'tailwild', 'server_name tail.*');
    is(body($p, '/', _host => 'tail.example.com'), 'longtail', 'longest trailing wildcard wins');
    is(body($p, '/', _host => 'nomatch.test'), 'first', 'no match: first server of the address');
    is(body($p, '/', _host => '127.0.0.1'), 'first', 'IP literal Host: first server');
    {
        my ($raw) = http_raw($p, "GET / HTTP/1.0\r\n\r\n", 5);
        my $r = parse_response($raw);
        is($r && $r->{body}, 'first', 'HTTP/1.0 without Host: default server');
    }
    my $p2 = $pc->port(2);
    is(body($p2, '/', _host => 'a2.test'), 'a2', 'second address: exact');
    is(body($p2, '/', _host => 'zzz.test'), 'b2', 'no match: the default_server');
    is(body($p2, '/', _host => 'exact.test'), 'b2', 'names of another address do not leak');
    is($pc->stop, 0, 'exit 0');
}
conf_test_ok(srv("        server_name a.test *.b.test c.* \"\";"), 'server_name forms');
conf_test_fails(srv("        server_name a.*.test;"), 'a.*.test', qr/server_name|a\.\*\.test/, 'server_name wildcard in the middle');
conf_test_fails(srv("        server_name *wild.test;"), '*wild.test', qr/server_name|\*wild/, 'server_name wildcard not on a dot border');
conf_test_fails(srv("        server_name;"), 'server_name;', qr/server_name/, 'server_name without arguments');

# --- location ----------------------------------------------------------------------
{
    my $pc = Test::Portcullis->new(wait_ports => [1, 2], conf => <<'CONF');
error_log logs/error.log info;
events { }
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { return 200 "root"; }
        location = / { return 200 "exact-root"; }
        location /a/ { return 200 "a"; }
        location /a/b/ { return 200 "ab"; }
        location = /a/ { return 200 "exact-a"; }
        location /ab { return 200 "ab-noslash"; }
        location ^~ /s/ { return 200 "stop-s"; }
        location /s/deeper/ { return 200 "s-deeper"; }
        location = /exact { return 200 "exact"; }
    }
    server {
        listen 127.0.0.1:%%PORT2%%;
        location /only/ { return 200 "only"; }
    }
}
CONF
    my $p = $pc->port;
    is(body($p, '/'), 'exact-root', 'location = / beats prefix /');
    is(body($p, '/x'), 'root', 'prefix / catches the rest');
    is(body($p, '/a/'), 'exact-a', 'location = /a/ beats prefix /a/');
    is(body($p, '/a/?q=1'), 'exact-a', 'the query string is not part of the match');
    is(body($p, '/a/x'), 'a', 'prefix /a/');
    is(body($p, '/a/b/'), 'ab', 'longest prefix /a/b/');
    is(body($p, '/a/b/c/d'), 'ab', 'longest prefix /a/b/ (deeper)');
    is(body($p, '/a'), 'root', '/a matches neither /a/ nor /ab');
    is(body($p, '/abc'), 'ab-noslash', 'prefix /ab matches /abc');
    is(body($p, '/s/x'), 'stop-s', 'location ^~ /s/');
    is(body($p, '/s/deeper/x'), 's-deeper', 'longest prefix wins over a shorter ^~');
    is(body($p, '/exact'), 'exact', 'location = /exact');
    is(body($p, '/exact/'), 'root', 'location = /exact does not match /exact/');
    is(body($p, '/exactly'), 'root', 'location = /exact does not match /exactly');
    is(body($p, '/a/./b/x'), 'ab', 'dot segments are normalised before matching');
    is(body($p, '/x/../a/b/'), 'ab', 'dot-dot segments are normalised before matching');
    is(body($p, '/%61/b/x'), 'ab', 'percent-escapes are decoded before matching');
    is(body($p, '//a//b/x'), 'ab', 'repeated slashes are merged before matching');
    is(body($p, '/%61%62c'), 'ab-noslash', 'escaped letters match a prefix');
    is(http_get($p, '/../x')->{status}, 400, 'a path climbing above the root -> 400');
    is(http_get($p, '/%2e%2e/x')->{status}, 400, 'an escaped dot-dot above the root -> 400');
    is(http_get($p, '/a%00b')->{status}, 400, 'an escaped NUL in the path -> 400');
    my $r = http_get($pc->port(2), '/elsewhere');
    is($r->{status}, 404, 'no matching location: 404');
    is(body($pc->port(2), '/only/x'), 'only', 'the one location still matches');
    is($pc->stop, 0, 'exit 0');
}
conf_test_fails(srv("        location { return 200; }"), 'location {', qr/location/, 'location without a path');
conf_test_fails(srv("        location ~~ /x { return 200; }"), '~~', qr/location|~~/, 'location with a bad modifier');
conf_test_fails(srv("        location /d/ { return 200; }\n        location /d/ { return 200; } # dup"), '# dup',
    qr/location|\/d\//, 'duplicate prefix location');
conf_test_fails(srv("        location = /e { return 200; }\n        location = /e { return 200; } # dup"), '# dup',
    qr/location|\/e/, 'duplicate exact location');
conf_test_fails(srv("        location /n;"), 'location /n', qr/location|\{/, 'location without a block');
conf_test_fails(srv("        location /a/ { location /a/b/ { return 200; } listen 127.0.0.1:1; }"), 'location /a/',
    qr/listen/, 'listen inside a location');

# --- return ---------------------------------------------------------------------------
{
    my $pc = Test::Portcullis->new(conf => srv(<<'LOC'));
        location = /r200 { return 200 "hello $request_method\n"; }
        location = /rempty { return 200; }
        location = /r204 { return 204; }
        location = /r204t { return 204 "must not be sent"; }
        location = /r304t { return 304 "must not be sent"; }
        location = /r404 { return 404 "nope"; }
        location = /r418 { return 418 "teapot"; }
        location = /r500 { return 500; }
        location = /r301 { return 301 https://$host$request_uri; }
        location = /r302 { return 302 http://x.test/302; }
        location = /r303 { return 303 http://x.test/303; }
        location = /r307 { return 307 http://x.test/307; }
        location = /r308 { return 308 http://x.test/308; }
        location /srv { return 200 "in location"; }
LOC
    my $p = $pc->port;
    my $r = http_get($p, '/r200');
    is($r->{status}, 200, 'return 200 TEXT: status');
    is($r->{body}, "hello GET\n", 'return 200 TEXT: body with variables');
    is($r->{headers}{'content-length'}, length("hello GET\n"), 'return 200 TEXT: Content-Length');
    $r = http_get($p, '/rempty');
    is($r->{status}, 200, 'return 200 without text');
    is($r->{body}, '', 'return 200 without text: empty body');
    $r = http_get($p, '/r404');
    is($r->{status}, 404, 'return 404 TEXT: status');
    is($r->{body}, 'nope', 'return 404 TEXT: body as configured');
    is(http_get($p, '/r418')->{status}, 418, 'return 418');
    is(http_get($p, '/r500')->{status}, 500, 'return 500');
    $r = http_get($p, '/r301?a=1&b=2', _host => 'Example.COM:8080');
    is($r->{status}, 301, 'return 301: status');
    is($r->{headers}{location}, 'https://example.com/r301?a=1&b=2', 'return 301: Location with variables');
    for my $code (302, 303, 307, 308) {
        my $r = http_get($p, "/r$code");
        is($r->{status}, $code, "return $code: status");
        is($r->{headers}{location}, "http://x.test/$code", "return $code: Location");
    }
    # 204: no body at all; the next response on the connection parses cleanly
    my $c = client($p);
    $c->send("GET /r204 HTTP/1.1\r\nHost: x\r\n\r\nGET /r200 HTTP/1.1\r\nHost: x\r\n\r\n");
    my $a = $c->read_response;
    is($a && $a->{status}, 204, 'return 204');
    ok($a && !defined $a->{headers}{'transfer-encoding'}, 'return 204: no Transfer-Encoding');
    ok($a && (!defined $a->{headers}{'content-length'} || $a->{headers}{'content-length'} eq '0'),
        'return 204: no Content-Length (or 0)');
    my $b = $c->read_response;
    is($b && $b->{body}, "hello GET\n", 'return 204 sent no body bytes (next response intact)');
    $c->close;
    for my $code (204, 304) {
        my $c = client($p);
        $c->send("GET /r${code}t HTTP/1.1\r\nHost: x\r\n\r\nGET /r200 HTTP/1.1\r\nHost: x\r\n\r\n");
        my $a = $c->read_response;
        is($a && $a->{status}, $code, "return $code TEXT: status");
        my $b = $c->read_response;
        is($b && $b->{body}, "hello GET\n", "return $code TEXT: no body sent (next response intact)");
        unlike($c->buffer, qr/must not be sent/, "return $code TEXT: text not sent");
        $c->close;
    }
    is($pc->stop, 0, 'exit 0');
}
{
    # return at server level applies to every location
    my $pc = Test::Portcullis->new(conf => srv("        return 200 \"server-level\";\n        location /x/ { return 200 \"loc\"; }"));
    is(body($pc->port, '/anything'), 'server-level', 'return at server level');
    is($pc->stop, 0, 'exit 0');
}
conf_test_ok(srv("        location / { return 302 http://x.test/; }"), 'return 302 URL');
conf_test_fails(srv("        location / { return 1000; }"), 'return 1000', qr/return|1000/, 'return 1000');
conf_test_fails(srv("        location / { return 99; }"), 'return 99', qr/return|99/, 'return 99');
conf_test_fails(srv("        location / { return abc; }"), 'return abc', qr/return|abc/, 'return abc');
conf_test_fails(srv("        location / { return; }"), 'return;', qr/return/, 'return without arguments');
conf_test_fails(srv("        location / { return 200 a b; }"), 'return 200 a b', qr/return/, 'return with three arguments');
conf_test_fails(srv("        location / { return 200 \"\$no_such_variable_x\"; }"), 'no_such_variable_x',
    qr/no_such_variable_x/, 'return with an unknown variable');
conf_test_fails(srv("        location / { return 200 a;\n        return 200 b; }"), 'return 200 b',
    qr/return|duplicate/, 'duplicate return in one location');

# --- add_header -------------------------------------------------------------------------
{
    my $pc = Test::Portcullis->new(conf => <<'CONF');
error_log logs/error.log info;
events { }
http {
    add_header X-Http h;
    server {
        listen 127.0.0.1:%%PORT%%;
        add_header X-Srv s;
        add_header X-Same server;
        add_header X-Srv-Always sa always;
        location / { return 200 "ok"; }
        location /child/ { add_header X-Same child; add_header X-Loc l; return 200 "c"; }
        location /err/ { add_header X-Always yes always; add_header X-Not no; return 404; }
        location /e500/ { return 500 "boom"; }
        location /redir/ { return 302 http://x.test/; }
        location /var/ { add_header X-Var "m=$request_method u=$uri a=$arg_a"; return 200 "v"; }
        location /multi/ { add_header X-Dup one; add_header X-Dup two; return 200 "m"; }
    }
}
CONF
    my $p = $pc->port;
    my $r = http_get($p, '/');
    is($r->{headers}{'x-http'}, 'h', 'add_header inherited from http');
    is($r->{headers}{'x-srv'}, 's', 'add_header from server');
    is($r->{headers}{'x-same'}, 'server', 'add_header server value where the location adds nothing');
    $r = http_get($p, '/child/x');
    is($r->{headers}{'x-loc'}, 'l', 'location add_header');
    is($r->{headers}{'x-srv'}, 's', 'location with add_header still gets the server ones (merged)');
    is($r->{headers}{'x-http'}, 'h', 'location with add_header still gets the http ones (merged)');
    is($r->{headers}{'x-same'}, 'child', 'same name: the child wins');
    is($r->{count}{'x-same'}, 1, 'same name: only the child value is sent');
    $r = http_get($p, '/err/x');
    is($r->{status}, 404, 'error location status');
    is($r->{headers}{'x-always'}, 'yes', 'add_header ... always on a 404');
    is($r->{headers}{'x-srv-always'}, 'sa', 'inherited add_header ... always on a 404');
    ok(!exists $r->{headers}{'x-not'}, 'add_header without always: not on a 404');
    ok(!exists $r->{headers}{'x-srv'}, 'inherited add_header without always: not on a 404');
    $r = http_get($p, '/e500/');
    is($r->{status}, 500, '500 status');
    ok(!exists $r->{headers}{'x-srv'}, 'add_header without always: not on a 500');
    is($r->{headers}{'x-srv-always'}, 'sa', 'add_header always: on a 500');
    $r = http_get($p, '/redir/');
    is($r->{status}, 302, '302 status');
    is($r->{headers}{'x-srv'}, 's', 'add_header without always: on a 3xx');
    $r = http_get($p, '/var/p?a=7');
    is($r->{headers}{'x-var'}, 'm=GET u=/var/p a=7', 'add_header value with variables');
    $r = http_get($p, '/multi/');
    is_deeply([map { $_->[1] } grep { lc $_->[0] eq 'x-dup' } @{ $r->{hlist} }], ['one', 'two'],
        'two add_header of one name in one context: both sent, in order');
    is($pc->stop, 0, 'exit 0');
}
conf_test_ok(srv("        add_header X-A \"v \$host\" always;"), 'add_header NAME VALUE always');
conf_test_fails(srv("        add_header X-A;"), 'add_header X-A', qr/add_header/, 'add_header without a value');
conf_test_fails(srv("        add_header X-A v sometimes;"), 'sometimes', qr/add_header|sometimes/, 'add_header bad third argument');
conf_test_fails(srv("        add_header \"Bad Name\" v;"), 'Bad Name', qr/add_header|Bad Name|name/, 'add_header invalid header name');
conf_test_fails(srv("        add_header X-A \"\$no_such_var_y\";"), 'no_such_var_y', qr/no_such_var_y/, 'add_header unknown variable');
conf_test_fails(srv("        add_header X-A \"a\\nb\";"), 'add_header X-A', qr/add_header|value|line/i, 'add_header value with a newline');

done_testing();
