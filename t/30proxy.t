#!/usr/bin/perl
# Reverse proxy basics (SPEC §4 Proxy, "Default request rewriting", §8):
# proxy_pass to host:port and to upstream blocks with nginx URI-replacement
# semantics; Host passthrough, X-Forwarded-For/-Proto/-Host; proxy_set_header
# (empty value removes; inherited as in nginx); proxy_hide_header; hop-by-hop
# fields removed in both directions; request framing re-derived; connect,
# read and send timeouts and refused connections -> 502/504 with the SPEC §8
# body and an error-log line naming peer, phase and errno text; a single-
# server upstream is never taken out by passive health; every proxy_*
# directive with a valid and an invalid value; proxy_pass changed by SIGHUP.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Test::Portcullis::Origin;
use JSON::PP;
use Time::HiRes qw(time sleep);
use IO::Select;

Test::Portcullis::require_binary();

my $a = Test::Portcullis::Origin->new(name => 'a', handler => sub {
    my ($req) = @_;
    if ($req->{path} =~ m{^/hop/}) {
        return { headers => ['Connection' => 'X-Internal, close-me', 'X-Internal' => 'secret',
            'Close-Me' => 'x', 'Keep-Alive' => 'timeout=5', 'Proxy-Connection' => 'keep-alive',
            'Upgrade' => 'foo/1', 'Trailer' => 'X-T', 'TE' => 'trailers', 'X-Kept' => 'yes'],
            body => 'hop' };
    }
    if ($req->{path} =~ m{^/hide/}) {
        return { headers => ['X-Secret' => 's', 'X-Other' => 'o', 'X-Kept' => 'k',
            'Set-Cookie' => 'a=1', 'Set-Cookie' => 'b=2'], body => 'hide' };
    }
    return undef;
});
my $b = Test::Portcullis::Origin->new(name => 'b');
my $hang = Test::Portcullis::Origin->new(name => 'hang');
my $noread = Test::Portcullis::Origin->new(name => 'noread', noread => 4, rcvbuf => 4096);
my $hole = Test::Portcullis::Origin->new(name => 'hole', listen_only => 1);
my $dead = free_port();        # nothing listens there
my ($A, $B, $H, $N, $X) = map { $_->port } $a, $b, $hang, $noread, $hole;

# Regex locations come with the regex module: test them when it is built in.
my $have_regex = Test::Portcullis->new(start => 0, conf =>
    "events { }\nhttp { server { listen 127.0.0.1:%%PORT%%; location ~ ^/r { return 200; } } }\n")->run('-t')->{exit} == 0;
my $re_loc = $have_regex ? 'location ~ ^/re/ { proxy_pass http://named; }' : '';

my $conf = <<"CONF";
error_log logs/error.log info;
events { }
http {
    access_log logs/access.log combined;
    client_max_body_size 64m;
    proxy_set_header X-Http-Level http;
    upstream named { server 127.0.0.1:$A; }
    upstream hangs { server 127.0.0.1:$H; }
    server {
        listen 127.0.0.1:%%PORT%%;
        proxy_set_header X-Srv srv;
        location / { proxy_pass http://127.0.0.1:$A; }
        location /api/ { proxy_pass http://127.0.0.1:$A/v2/; }
        location /noslash { proxy_pass http://127.0.0.1:$A/x; }
        location = /exact { proxy_pass http://127.0.0.1:$A/other; }
        location /named/ { proxy_pass http://named/n/; }
        location /whole/ { proxy_pass http://named; }
        $re_loc
        location /set/ {
            proxy_pass http://named;
            proxy_set_header X-Custom "\$request_method \$remote_addr";
            proxy_set_header User-Agent "";
            proxy_set_header X-Srv "";
            proxy_set_header Host upstream.internal;
        }
        location /inj/ { proxy_pass http://named; proxy_set_header X-Uri \$uri; }
        location /setxff/ {
            proxy_pass http://named;
            proxy_set_header X-Forwarded-For "";
            proxy_set_header X-Forwarded-Proto "";
            proxy_set_header X-Forwarded-Host "";
        }
        location /hide/ { proxy_pass http://named; proxy_hide_header X-Secret; proxy_hide_header x-other; }
        location /hop/ { proxy_pass http://named; }
        location /refused/ { proxy_pass http://127.0.0.1:$dead; }
        location /ct/ { proxy_connect_timeout 300ms; proxy_pass http://127.0.0.1:$X; }
        location /rt/ { proxy_read_timeout 300ms; proxy_pass http://hangs; }
        location /st/ { proxy_send_timeout 300ms; proxy_pass http://127.0.0.1:$N; }
        location /b/ { proxy_pass http://127.0.0.1:$B; }
    }
    server {
        listen 127.0.0.1:%%PORT2%%;
        error_format text;
        location / { proxy_pass http://127.0.0.1:$dead; }
    }
    server {
        listen 127.0.0.1:%%PORT3%%;
        underscores_in_headers on;
        proxy_hide_header X-Secret;
        location / { proxy_pass http://127.0.0.1:$A; }
        location /hide/own/ { proxy_pass http://127.0.0.1:$A; proxy_hide_header X-Other; }
    }
}
CONF
my $pc = Test::Portcullis->new(conf => $conf, wait_ports => [1, 2, 3]);
my $p = $pc->port;

sub echo { my ($path, %h) = @_; my $r = http_get($p, $path, %h); return (Test::Portcullis::Origin::echo_of($r), $r) }

# --- URI replacement (nginx semantics) ------------------------------------------------------
my %uri = (
    '/plain/a%20b?x=1&y'      => '/plain/a%20b?x=1&y',     # no URI part: the target as received
    '/plain/a/../b/./c'       => '/plain/a/../b/./c',
    '/api/users?id=1'         => '/v2/users?id=1',          # prefix replaced, query kept
    '/api/'                   => '/v2/',
    '/api/a%20b'              => '/v2/a%20b',               # the normalised path, re-escaped
    '/api/x/../y'             => '/v2/y',
    '/noslash/abc'            => '/x/abc',
    '/noslashabc'             => '/xabc',
    '/exact?q=1'              => '/other?q=1',
    '/named/deep/er?z'        => '/n/deep/er?z',
    '/whole/k?v=1'            => '/whole/k?v=1',
    $have_regex ? ('/re/zz?r=2' => '/re/zz?r=2') : (),
);
for my $in (sort keys %uri) {
    my ($e, $r) = echo($in);
    is($e && $e->{uri}, $uri{$in}, "URI: $in -> $uri{$in}") or diag($r->{raw});
}
{
    my ($data) = http_raw($p, "GET http://Abs.Example:81/abs/p?q=1 HTTP/1.1\r\nHost: ignored.example\r\nConnection: close\r\n\r\n");
    my $e = Test::Portcullis::Origin::echo_of(parse_response($data));
    is($e && $e->{uri}, '/abs/p?q=1', 'absolute-form target: origin-form upstream');
    is($e && $e->{h}{host}, 'Abs.Example:81', 'absolute-form target: its authority is the Host');
}

# --- default request rewriting ----------------------------------------------------------------
{
    my ($e, $r) = echo('/hdr', _host => 'Api.Example.COM:8080', 'X-Forwarded-For' => '10.0.0.1, 10.0.0.2',
        'X-Forwarded-Proto' => 'https', 'X-Forwarded-Host' => 'evil.example', 'User-Agent' => 'ua/1');
    is($r->{status}, 200, 'proxied: 200');
    is($r->{headers}{'x-origin'}, 'a', 'reached origin a');
    is($e->{version}, '1.1', 'upstream request is HTTP/1.1');
    is($e->{h}{host}, 'Api.Example.COM:8080', 'Host passed through unchanged');
    is($e->{h}{'x-forwarded-for'}, '10.0.0.1, 10.0.0.2, 127.0.0.1', 'X-Forwarded-For appended');
    is($e->{count}{'x-forwarded-for'}, 1, 'one X-Forwarded-For field');
    is($e->{h}{'x-forwarded-proto'}, 'http', 'X-Forwarded-Proto set (client value replaced)');
    is($e->{h}{'x-forwarded-host'}, 'Api.Example.COM:8080', 'X-Forwarded-Host is the client Host');
    is($e->{h}{'user-agent'}, 'ua/1', 'other fields pass');
    ok(!exists $e->{h}{via}, 'no Via');
    ok(!exists $e->{h}{connection}, 'no Connection sent upstream (HTTP/1.1 persistent)');
    ok(!exists $e->{h}{'x-http-level'}, "the server's proxy_set_header list replaces http's (as nginx)");
    is($e->{h}{'x-srv'}, 'srv', 'proxy_set_header inherited from server');
    my @order = map { lc $_->[0] } @{ $e->{hlist} };
    is($order[0], 'host', 'Host first');
}
{
    my $r = http_request($p, path => '/twoxff', headers => ['X-Forwarded-For' => '1.1.1.1', 'x-forwarded-for' => '2.2.2.2']);
    my $e = Test::Portcullis::Origin::echo_of($r);
    is($e->{h}{'x-forwarded-for'}, '1.1.1.1, 2.2.2.2, 127.0.0.1', 'several X-Forwarded-For fields folded, then appended');
}
{
    my ($e) = echo('/hbh', Connection => 'close, X-Drop-Me', 'X-Drop-Me' => '1', 'Keep-Alive' => '300',
        'TE' => 'trailers', 'Trailer' => 'X-T', 'Proxy-Connection' => 'keep-alive', 'Upgrade' => 'foo/2',
        'X-Keep' => 'kept');
    ok($e, 'request with hop-by-hop fields proxied');
    for my $h (qw(connection x-drop-me keep-alive te trailer proxy-connection upgrade)) {
        ok(!exists $e->{h}{$h}, "request: hop-by-hop $h removed");
    }
    is($e->{h}{'x-keep'}, 'kept', 'request: end-to-end field kept');
}
{
    my $r = http_get($p, '/hop/x');
    is($r->{status}, 200, 'response with hop-by-hop fields');
    for my $h (qw(x-internal close-me keep-alive proxy-connection upgrade trailer te)) {
        ok(!exists $r->{headers}{$h}, "response: hop-by-hop $h removed");
    }
    is($r->{headers}{connection}, 'close', 'response: Connection is the proxy\'s own');
    is($r->{headers}{'x-kept'}, 'yes', 'response: end-to-end field kept');
    is($r->{body}, 'hop', 'response body');
}

# --- proxy_set_header / proxy_hide_header ---------------------------------------------------------
{
    my ($e) = echo('/set/x', 'User-Agent' => 'removed-ua', _host => 'client.example');
    is($e->{h}{'x-custom'}, 'GET 127.0.0.1', 'proxy_set_header with variables');
    ok(!exists $e->{h}{'user-agent'}, 'proxy_set_header NAME "": the client field is removed');
    ok(!exists $e->{h}{'x-srv'}, "the location's proxy_set_header list replaces the server's (as nginx)");
    ok(!exists $e->{h}{'x-http-level'}, 'nor is the http level\'s list merged in');
    is($e->{h}{host}, 'upstream.internal', 'proxy_set_header Host overrides the passthrough');
    is($e->{count}{host}, 1, 'one Host');
    is($e->{h}{'x-forwarded-host'}, 'client.example', 'X-Forwarded-Host still the client Host');
}
{
    # a value made from the client's input must not split the upstream's
    # head: a decoded %0d%0a in $uri would smuggle a second request
    my $before = scalar(grep { ($_->{path} // '') =~ m{^/admin} } $a->requests);
    my $r = http_get($p, '/inj/x%0d%0a%0d%0aGET%20/admin/secret%20HTTP/1.1%0d%0aHost:%20a%0d%0aX:%20y');
    is($r->{status}, 400, 'proxy_set_header value with CR/LF from the client ($uri): 400');
    like($r->{body}, qr/invalid header value for the upstream/, 'the error names why');
    is(scalar(grep { ($_->{path} // '') =~ m{^/admin} } $a->requests), $before, 'nothing smuggled to the upstream');
    is(http_get($p, '/inj/x%0ay')->{status}, 400, 'a lone LF as well');
    my ($e) = echo('/inj/plain%20x');
    is($e->{h}{'x-uri'}, '/inj/plain x', 'a clean decoded $uri still goes through');
}
{
    # names with an underscore are dropped (nginx's default): a CGI-style
    # backend would read X_Forwarded_For as X-Forwarded-For
    my ($e) = echo('/us/x', 'X_Forwarded_For' => '7.7.7.7', 'Client_Cert' => ':evil:', 'X_Custom' => 'v',
        'X-Dash' => 'd');
    ok(!exists $e->{h}{'x_forwarded_for'} && !exists $e->{h}{'client_cert'} && !exists $e->{h}{'x_custom'},
        'fields with an underscore in the name are not forwarded');
    is($e->{h}{'x-dash'}, 'd', 'the others are');
    is($e->{h}{'x-forwarded-for'}, '127.0.0.1', 'X-Forwarded-For is ours alone');
    my $r = http_get($pc->port(3), '/us/y', 'X_Custom' => 'v');
    is((Test::Portcullis::Origin::echo_of($r) // {})->{h}{'x_custom'}, 'v', 'underscores_in_headers on: forwarded');
}
{
    # inheritance of proxy_set_header and proxy_hide_header, as nginx: a
    # context without any inherits its parent's list, a context with its
    # own replaces it whole
    my $e = Test::Portcullis::Origin::echo_of(http_get($pc->port(3), '/inherit'));
    is($e->{h}{'x-http-level'}, 'http', 'proxy_set_header inherited from http by a server that sets none');
    my $r = http_get($pc->port(3), '/hide/x');
    ok(!exists $r->{headers}{'x-secret'}, 'proxy_hide_header inherited from the server');
    is($r->{headers}{'x-other'}, 'o', 'only that one hidden');
    $r = http_get($pc->port(3), '/hide/own/x');
    is($r->{status}, 200, 'location with its own proxy_hide_header');
    ok(!exists $r->{headers}{'x-other'}, 'its own list applies');
    is($r->{headers}{'x-secret'}, 's', "and replaces the server's (as nginx)");
}
{
    # h2c is never tunnelled: an upstream speaking HTTP/2 behind us would
    # serve requests no location check saw (h2c smuggling)
    my ($e) = echo('/h2c/x', Connection => 'close, Upgrade, HTTP2-Settings', Upgrade => 'h2c',
        'HTTP2-Settings' => 'AAMAAABkAAQCAAAAAAIAAAAA');
    ok($e, 'an h2c upgrade request is forwarded as a plain request');
    ok(!exists $e->{h}{upgrade} && !exists $e->{h}{'http2-settings'}, 'without Upgrade and HTTP2-Settings');
    ($e) = echo('/h2c/y', Connection => 'close, Upgrade', Upgrade => 'websocket, H2C');
    ok(!exists $e->{h}{upgrade}, 'h2c among other protocols: not tunnelled either');
}
{
    my ($e) = echo('/setxff/x', 'X-Forwarded-For' => '9.9.9.9');
    ok(!exists $e->{h}{'x-forwarded-for'}, 'proxy_set_header X-Forwarded-For "" sends none');
    ok(!exists $e->{h}{'x-forwarded-proto'}, 'proxy_set_header X-Forwarded-Proto "" sends none');
    ok(!exists $e->{h}{'x-forwarded-host'}, 'proxy_set_header X-Forwarded-Host "" sends none');
}
{
    my $r = http_get($p, '/hide/x');
    ok(!exists $r->{headers}{'x-secret'}, 'proxy_hide_header X-Secret');
    ok(!exists $r->{headers}{'x-other'}, 'proxy_hide_header is case-insensitive');
    is($r->{headers}{'x-kept'}, 'k', 'other response fields kept');
    is($r->{count}{'set-cookie'}, 2, 'repeated response fields kept apart');
    $r = http_get($p, '/hop/y');
    ok(exists $r->{headers}{'x-kept'}, 'proxy_hide_header is per location');
}

# --- request framing is re-derived ------------------------------------------------------------------
{
    my ($e) = echo('/body', _method => 'POST', _body => 'hello=world');
    is($e->{body}, 'hello=world', 'Content-Length body forwarded');
    is($e->{h}{'content-length'}, '11', 'Content-Length re-sent');
    my ($data) = http_raw($p, "POST /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
        . "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
    $e = Test::Portcullis::Origin::echo_of(parse_response($data));
    is($e && $e->{body}, 'hello world', 'chunked body forwarded');
    is($e && $e->{h}{'transfer-encoding'}, 'chunked', 'chunked framing upstream');
    ok($e && !exists $e->{h}{'content-length'}, 'no Content-Length with chunked');
    my ($data2) = http_raw($p, "POST /expect HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc");
    my @rs = parse_responses($data2);
    my $final = $rs[-1];
    $e = Test::Portcullis::Origin::echo_of($final);
    is($e && $e->{body}, 'abc', 'Expect: 100-continue body forwarded');
    ok($e && !exists $e->{h}{expect}, 'Expect not forwarded (the proxy answered it)');
}

# --- errors: refused, connect/read/send timeouts ---------------------------------------------------
sub err_json {
    my ($r) = @_;
    return eval { decode_json($r->{body}) } // {};
}
{
    my $mark = $pc->log_mark;
    my $r = http_get($p, '/refused/x');
    is($r->{status}, 502, 'connect refused: 502');
    like($r->{headers}{'content-type'} // '', qr{^application/json}, '502: JSON body');
    my $j = err_json($r);
    is($j->{error}{status}, 502, '502 body: status');
    is($j->{error}{reason}, 'upstream connect refused', '502 body: reason');
    ok(!exists $j->{error}{request_id} || length $j->{error}{request_id},
        '502 body: request_id (when a module provides one) is not empty');
    my $l = $pc->wait_for_log(qr/\[error\].*upstream/, 5, from => $mark);
    like($l // '', qr/peer: 127\.0\.0\.1:$dead\b/, 'error log: the peer');
    like($l // '', qr/phase: connect\b/, 'error log: the phase');
    like($l // '', qr/\(111: Connection refused\)/, 'error log: errno text');
    ok($pc->wait_for_log(qr{"GET /refused/x HTTP/1\.1" 502 }, 5, file => 'logs/access.log'), 'access log: 502');
    $r = http_get($p, '/refused/again');
    is($r->{status}, 502, 'single-server upstream: still tried after a failure (no 503)');

    $r = http_get($pc->port(2), '/x');
    is($r->{status}, 502, 'error_format text: 502');
    like($r->{headers}{'content-type'} // '', qr{^text/plain}, 'error_format text: text/plain');
    unlike($r->{body}, qr/^\{/, 'error_format text: not JSON');
}
{
    my $mark = $pc->log_mark;
    my $t0 = time();
    my $r = http_get($p, '/ct/x', _timeout => 10);
    my $dt = time() - $t0;
    is($r->{status}, 504, 'proxy_connect_timeout: 504');
    is(err_json($r)->{error}{reason}, 'upstream timed out', '504 body: reason');
    ok($dt >= 0.25 && $dt < 3, sprintf('proxy_connect_timeout 300ms honoured (%.2fs)', $dt));
    my $l = $pc->wait_for_log(qr/\[error\].*upstream/, 5, from => $mark);
    like($l // '', qr/phase: connect\b.*peer: 127\.0\.0\.1:$X\b|peer: 127\.0\.0\.1:$X\b.*phase: connect/, 'connect timeout: error log names phase and peer');
    like($l // '', qr/\(110: Connection timed out\)/, 'connect timeout: errno text');
}
{
    my $mark = $pc->log_mark;
    my $t0 = time();
    my $r = http_get($p, '/rt/x?delay=3', _timeout => 10);
    my $dt = time() - $t0;
    is($r->{status}, 504, 'proxy_read_timeout: 504');
    ok($dt >= 0.25 && $dt < 2.5, sprintf('proxy_read_timeout 300ms honoured (%.2fs)', $dt));
    my $l = $pc->wait_for_log(qr/\[error\].*upstream/, 5, from => $mark);
    like($l // '', qr/phase: read header/, 'read timeout: phase "read header"');
    like($l // '', qr/peer: 127\.0\.0\.1:$H\b/, 'read timeout: peer');
    like($l // '', qr/\(110: Connection timed out\)/, 'read timeout: errno text');
    $r = http_get($p, '/rt/y', _timeout => 10);
    is($r->{status}, 200, 'single-server upstream: usable right after a timeout');

    $mark = $pc->log_mark;
    $r = http_get($p, '/rt/z?size=1000&body_delay=3', _timeout => 10);
    is($r->{status}, 200, 'timeout in the body: the head was already sent');
    ok(!$r->{complete} && $r->{closed}, 'timeout in the body: the response is cut short (connection closed)');
    $l = $pc->wait_for_log(qr/\[error\].*upstream/, 5, from => $mark);
    like($l // '', qr/phase: read body/, 'body timeout: phase "read body"');
}
{
    # The origin reads nothing: the proxy's writes block until proxy_send_timeout.
    my $mark = $pc->log_mark;
    my $size = 24 * 1024 * 1024;
    my $c = client($p);
    $c->send("POST /st/x HTTP/1.1\r\nHost: x\r\nContent-Length: $size\r\n\r\n");
    my $s = $c->socket;
    $s->blocking(0);
    my $chunk = 'z' x 65536;
    my ($sent, $t0) = (0, time());
    my $resp;
    while (time() - $t0 < 8) {
        my ($r, $w) = IO::Select::select(IO::Select->new($s), $sent < $size ? IO::Select->new($s) : undef, undef, 0.2);
        if ($w && @$w) {
            my $n = syswrite($s, $chunk, pc_min(65536, $size - $sent));
            $sent += $n if $n;
        }
        if ($r && @$r) {
            $c->_fill(0.1);
            $resp = parse_response($c->buffer);
            last if $resp && $resp->{complete};
        }
    }
    is($resp && $resp->{status}, 504, 'proxy_send_timeout: 504');
    ok($sent < $size, 'proxy_send_timeout: the client body was not all read');
    my $l = $pc->wait_for_log(qr/\[error\].*upstream/, 5, from => $mark);
    like($l // '', qr/phase: send/, 'send timeout: phase "send"');
    like($l // '', qr/peer: 127\.0\.0\.1:$N\b/, 'send timeout: peer');
    $c->close;
}
sub pc_min { $_[0] < $_[1] ? $_[0] : $_[1] }

# --- an IPv6 upstream ---------------------------------------------------------------------------------
SKIP: {
    skip 'no IPv6 loopback', 3 unless have_ipv6();
    my $o6 = Test::Portcullis::Origin->new(name => 'v6', host => '::1');
    my $pc6 = Test::Portcullis->new(conf => "error_log logs/error.log info;\nevents { }\nhttp {\n"
        . "    log_format u '\$upstream_addr';\n    access_log logs/u.log u;\n"
        . "    server { listen 127.0.0.1:%%PORT%%; location / { proxy_pass http://[::1]:${\ $o6->port}; } }\n}\n");
    my $r = http_get($pc6->port, '/six');
    is($r->{headers}{'x-origin'}, 'v6', 'proxy_pass http://[::1]:PORT');
    ok($pc6->wait_for_log(qr{^\[::1\]:${\ $o6->port}$}, 5, file => 'logs/u.log'), '$upstream_addr of an IPv6 server: [::1]:PORT');
    is($pc6->stop, 0, 'exit 0');
}

# --- SIGHUP: a changed proxy_pass applies ----------------------------------------------------------
{
    is(http_get($p, '/')->{headers}{'x-origin'}, 'a', 'before reload: origin a');
    (my $c2 = $conf) =~ s{location / \{ proxy_pass http://127\.0\.0\.1:$A; \}}{location / { proxy_pass http://127.0.0.1:$B; }};
    $pc->write_conf($c2);
    ok(defined $pc->reload, 'reload with a changed proxy_pass');
    ok(wait_until(sub { (http_get($p, '/')->{headers}{'x-origin'} // '') eq 'b' }, 10, 0.1),
        'after reload: origin b');
    $pc->write_conf($c2 =~ s{proxy_pass http://127\.0\.0\.1:$B;}{proxy_pass http://127.0.0.1:0;}r);
    ok(!defined $pc->reload, 'reload with an invalid proxy_pass is refused');
    is(http_get($p, '/')->{headers}{'x-origin'}, 'b', 'the old configuration keeps serving');
}
ok(!$pc->log_lines(qr/\[(?:alert|crit|emerg)\]/), 'no alert/crit in the error log');
is($pc->stop, 0, 'exit 0');

# --- directives: valid and invalid values ----------------------------------------------------------
sub wrap {
    my ($http, $loc) = @_;
    $loc //= "proxy_pass http://127.0.0.1:$A;";
    return "error_log logs/error.log info;\nevents { }\nhttp {\n    $http\n    server {\n        listen 127.0.0.1:%%PORT%%;\n        location / { $loc }\n    }\n}\n";
}
conf_test_ok(wrap('', "proxy_pass http://127.0.0.1:$A/v1/;"), 'proxy_pass host:port/uri');
conf_test_ok(wrap('', 'proxy_pass http://localhost:1;'), 'proxy_pass with a host name');
conf_test_ok(wrap("upstream u { server 127.0.0.1:$A; }", 'proxy_pass http://u;'), 'proxy_pass to an upstream');
conf_test_ok(wrap('', "proxy_pass http://later; } } upstream later { server 127.0.0.1:$A; } server { listen 127.0.0.1:%%PORT2%%; location /x {"), 'proxy_pass to an upstream defined later');
conf_test_fails(wrap('', 'proxy_pass ftp://127.0.0.1:1;'), 'proxy_pass', qr/invalid URL/, 'proxy_pass ftp://');
conf_test_fails(wrap('', 'proxy_pass https://127.0.0.1:1;'), 'proxy_pass', qr/https/, 'proxy_pass https:// (unsupported)');
conf_test_fails(wrap('', 'proxy_pass http://127.0.0.1:99999;'), 'proxy_pass', qr/invalid address|99999/, 'proxy_pass port out of range');
conf_test_fails(wrap('', 'proxy_pass http://$host;'), 'proxy_pass', qr/variables/, 'proxy_pass with a variable');
conf_test_fails(wrap('', 'proxy_pass http://no-such-host.invalid:80;'), 'proxy_pass', qr/host not found/, 'proxy_pass unresolvable host');
conf_test_fails(wrap("proxy_pass http://127.0.0.1:$A;", 'return 200;'), 'proxy_pass', qr/proxy_pass/, 'proxy_pass in http');
SKIP: {
    skip 'no regex module', 1 unless $have_regex;
    conf_test_fails("error_log logs/error.log info;\nevents { }\nhttp { server { listen 127.0.0.1:%%PORT%%;\nlocation ~ ^/r { proxy_pass http://127.0.0.1:$A/x/; } } }\n",
        'location ~', qr/regular expression/, 'proxy_pass with a URI in a regex location');
}
conf_test_ok(wrap('proxy_set_header X-A "$remote_addr"; proxy_set_header X-B "";'), 'proxy_set_header');
conf_test_fails(wrap('proxy_set_header "Bad Name" x;'), 'proxy_set_header', qr/invalid header name/, 'proxy_set_header bad name');
conf_test_fails(wrap('proxy_set_header Content-Length 5;'), 'proxy_set_header', qr/framing/, 'proxy_set_header Content-Length');
conf_test_fails(wrap('proxy_set_header X-A $no_such_var_x;'), 'proxy_set_header', qr/no_such_var_x/, 'proxy_set_header unknown variable');
conf_test_fails(wrap("proxy_set_header X-A 1;\n    proxy_set_header x-a 2;"), 'proxy_set_header x-a 2', qr/duplicate/, 'proxy_set_header twice');
conf_test_fails(wrap('proxy_set_header X-A;'), 'proxy_set_header', qr/proxy_set_header/, 'proxy_set_header one argument');
conf_test_fails(wrap('proxy_set_header X-A "a\\nb";'), 'proxy_set_header', qr/CR, LF or NUL/, 'proxy_set_header LF in the fixed text');
conf_test_fails(wrap('proxy_set_header X-A "$host\\r";'), 'proxy_set_header', qr/CR, LF or NUL/, 'proxy_set_header CR after a variable');
conf_test_fails(wrap("proxy_set_header X-A 'a\nb';"), 'proxy_set_header', qr/CR, LF or NUL/, 'proxy_set_header literal newline in quotes');
conf_test_ok(wrap('proxy_hide_header X-Powered-By;'), 'proxy_hide_header');
conf_test_fails(wrap('proxy_hide_header "a b";'), 'proxy_hide_header', qr/invalid header name/, 'proxy_hide_header bad name');
for my $d (qw(proxy_connect_timeout proxy_read_timeout proxy_send_timeout)) {
    conf_test_ok(wrap("$d 750ms;"), "$d 750ms");
    conf_test_fails(wrap("$d soon;"), $d, qr/soon|invalid/, "$d soon");
    conf_test_fails(wrap("$d 0;"), $d, qr/$d|invalid|0/, "$d 0");
}
conf_test_ok(wrap('proxy_buffer_size 4k;'), 'proxy_buffer_size 4k');
conf_test_fails(wrap('proxy_buffer_size 100;'), 'proxy_buffer_size', qr/proxy_buffer_size|100|invalid/, 'proxy_buffer_size too small');
conf_test_fails(wrap('proxy_buffer_size lots;'), 'proxy_buffer_size', qr/lots|invalid/, 'proxy_buffer_size lots');
done_testing();
