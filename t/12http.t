#!/usr/bin/perl
# HTTP/1.x connection semantics (SPEC §8): keep-alive, pipelining, HEAD,
# Expect: 100-continue, chunked request bodies, HTTP/1.0, Connection: close.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;

Test::Portcullis::require_binary();

my $pc = Test::Portcullis->new(conf => <<'CONF');
error_log logs/error.log info;
worker_processes 1;
events { }
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { return 200 "uri=$uri conn=$connection n=$connection_requests\n"; }
        location = /hello { return 200 "hello"; }
    }
}
CONF
my $p = $pc->port;

# --- keep-alive reuse ---------------------------------------------------------
{
    my $c = client($p);
    $c->send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    my $r1 = $c->read_response;
    $c->send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    my $r2 = $c->read_response;
    is($r1 && $r1->{status}, 200, 'keep-alive: first response');
    is($r2 && $r2->{status}, 200, 'keep-alive: second response on the same connection');
    my ($c1) = ($r1->{body} // '') =~ /conn=(\d+)/;
    my ($c2) = ($r2->{body} // '') =~ /conn=(\d+)/;
    ok(defined $c1 && defined $c2 && $c1 eq $c2, 'keep-alive: same server-side connection');
    like($r2->{body}, qr/n=2/, 'keep-alive: second request counted');
    is($r1->{version}, '1.1', 'responds HTTP/1.1');
    ok(defined $r1->{headers}{'content-length'} || ($r1->{headers}{'transfer-encoding'} // '') =~ /chunked/,
        'keep-alive response is length-delimited');
    ok(defined $r1->{headers}{date}, 'Date header');
    ok(!$c->is_closed, 'connection still open');
    $c->close;
}

# --- pipelining: three requests in one write -> three responses in order ---------
{
    my $c = client($p);
    $c->send(join '', map { "GET /p$_ HTTP/1.1\r\nHost: x\r\n\r\n" } 1 .. 3);
    my @r = map { $c->read_response } 1 .. 3;
    is_deeply([map { $_ && ($_->{body} =~ /uri=(\S+)/)[0] } @r], ['/p1', '/p2', '/p3'],
        'pipelining: three responses, in order');
    is_deeply([map { $_ && ($_->{body} =~ /\bn=(\d+)/)[0] } @r], [1, 2, 3], 'pipelining: counted in order');
    ok(!$c->readable_within(0.3), 'pipelining: nothing extra');
    $c->close;
}
{
    # many pipelined requests, split at awkward places
    my $c = client($p);
    my $all = join '', map { "GET /q$_ HTTP/1.1\r\nHost: x\r\n\r\n" } 1 .. 50;
    while (length $all) { $c->send(substr($all, 0, 37, '')) }
    my @r = grep { defined } map { $c->read_response } 1 .. 50;
    is(scalar @r, 50, 'pipelining: 50 requests sent in odd-sized pieces all answered');
    is_deeply([map { ($_->{body} =~ /uri=(\S+)/)[0] } @r], [map { "/q$_" } 1 .. 50], '... in order');
    $c->close;
}

# --- HEAD -------------------------------------------------------------------------
{
    my $c = client($p);
    $c->send("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    my $h = $c->read_response(head => 1);
    is($h && $h->{status}, 200, 'HEAD: 200');
    is($h && $h->{headers}{'content-length'}, 5, 'HEAD: Content-Length of the GET body kept');
    my $g = $c->read_response;
    is($g && $g->{body}, 'hello', 'HEAD sent no body (the next response parses cleanly)');
    $c->close;
}

# --- Expect: 100-continue ------------------------------------------------------------------
# RFC 9110 §10.1.1: the server either sends 100 Continue and reads the body,
# or, when the final status is known from the head alone (as for `return`),
# sends that final response at once; it must then not mistake a body it did
# not ask for for the next request.
{
    my $c = client($p);
    $c->send("POST /exp HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    my $first = $c->read_response(interim => 1, timeout => 5);
    ok($first && ($first->{status} == 100 || $first->{status} == 200),
        'Expect: 100-continue: 100 Continue or an immediate final response');
    if ($first && $first->{status} == 100) {
        is($first->{version}, '1.1', '100 Continue is HTTP/1.1');
        $c->send("hello");
        my $r = $c->read_response;
        is($r && $r->{status}, 200, 'Expect: 100-continue: then the final response');
        $c->send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
        my $n = $c->read_response;
        like($n && $n->{body} // '', qr{uri=/after}, 'connection usable after a 100-continue exchange');
    } elsif ($first) {
        # the client sends the body anyway, then another request: the body
        # is discarded (the next request is answered) or the connection is
        # closed -- it is never parsed as a request
        $c->send("hello" . "GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
        my ($rest, $closed) = $c->read_until_close(2);
        my @r = parse_responses($rest, closed => $closed);
        ok(($closed && !@r && ($first->{headers}{connection} // '') =~ /close/i)
            || (@r == 1 && $r[0]{body} =~ m{uri=/after }),
            'immediate final response: body discarded, or Connection: close and closed');
    }
    $c->close;
}
{
    # The client did not wait: the body came with the head.  It is drained
    # like any other and the connection stays open (as nginx does); and
    # the body is not mistaken for the next request.
    my $c = client($p);
    $c->send("POST /hello HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab");
    my $r = $c->read_response(timeout => 5);
    is($r && $r->{status}, 200, 'Expect with the body sent at once: 200');
    unlike($r && $r->{headers}{connection} // '', qr/close/i, 'Expect with the body sent at once: keep-alive');
    $c->send("GET /after2 HTTP/1.1\r\nHost: x\r\n\r\n");
    my $n = $c->read_response(timeout => 5);
    like($n && $n->{body} // '', qr{uri=/after2 }, 'Expect with the body sent at once: the next request is served');
    $c->close;

    # the same with a chunked body, and with the body in a second write
    $c = client($p);
    $c->send("POST /hello HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"
        . "2\r\nab\r\n0\r\n\r\nGET /after3 HTTP/1.1\r\nHost: x\r\n\r\n");
    my @r = map { $c->read_response(timeout => 5) } 1 .. 2;
    is($r[0] && $r[0]{status}, 200, 'Expect, chunked body sent at once: 200');
    like($r[1] && $r[1]{body} // '', qr{uri=/after3 }, 'Expect, chunked body sent at once: pipelined request served');
    $c->close;

    # a client that waits for 100 Continue and gets a final response
    # instead: its body may or may not follow, so the connection closes
    ($r) = http_request($p, method => 'POST', path => '/hello', keepalive => 1, timeout => 3,
        headers => [Expect => '100-continue', 'Content-Length' => 5]);
    is($r->{status}, 200, 'Expect, body held back: 200');
    like($r->{headers}{connection} // '', qr/close/i, 'Expect, body held back: Connection: close');
    ok($r->{closed}, 'Expect, body held back: closed');
}
{
    # RFC 3986 port = *DIGIT: "Host: a:" is host a; RFC 9110 §5.6.1: empty
    # list elements in Transfer-Encoding are ignored
    my ($raw) = http_raw($p, "GET /emptyport HTTP/1.1\r\nHost: a:\r\nConnection: close\r\n\r\n", 5);
    like($raw, qr{^HTTP/1\.1 200 }, 'Host with an empty port: 200');
    ($raw) = http_raw($p, "POST /te HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked\r\n"
        . "Connection: close\r\n\r\n2\r\nab\r\n0\r\n\r\n", 5);
    like($raw, qr{^HTTP/1\.1 200 }, 'Transfer-Encoding: ,chunked: 200');
    ($raw) = http_raw($p, "POST /te HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked ,\r\n"
        . "Connection: close\r\n\r\n2\r\nab\r\n0\r\n\r\n", 5);
    like($raw, qr{^HTTP/1\.1 200 }, 'Transfer-Encoding: chunked , : 200');
    ($raw) = http_raw($p, "POST /te HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,gzip,,chunked\r\n\r\n", 5);
    like($raw, qr{^HTTP/1\.1 501 }, 'Transfer-Encoding: ,gzip,,chunked: still 501');
}
{
    # HTTP/1.0 never gets 100 Continue
    my ($raw) = http_raw($p, "POST /exp HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello", 5);
    unlike($raw, qr{^HTTP/1\.\d 100}, 'HTTP/1.0 with Expect: no interim response');
    like($raw, qr{^HTTP/1\.\d 200}, 'HTTP/1.0 with Expect: final response');
}

# --- request bodies and framing: no smuggling --------------------------------------------------
{
    my $c = client($p);
    my $evil = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    $c->send("POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length: " . length($evil) . "\r\n\r\n$evil"
        . "GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
    my $r1 = $c->read_response;
    my $r2 = $c->read_response;
    like($r1 && $r1->{body}, qr{uri=/cl }, 'Content-Length body: first response');
    like($r2 && $r2->{body}, qr{uri=/next }, 'Content-Length body consumed exactly (no smuggled request)');
    $c->close;
}
{
    my $c = client($p);
    my $body = "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
    $c->send("POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n$body"
        . "GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
    my $r1 = $c->read_response;
    my $r2 = $c->read_response;
    is($r1 && $r1->{status}, 200, 'chunked request body (extension, trailer): 200');
    like($r2 && $r2->{body}, qr{uri=/next }, 'chunked body consumed exactly; next request answered');
    $c->close;
}
{
    # a chunked body fed one byte at a time
    my $c = client($p);
    my $req = "POST /slow HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n";
    $c->send($_) for split //, $req;
    my $r1 = $c->read_response;
    my $r2 = $c->read_response;
    like($r1 && $r1->{body}, qr{uri=/slow }, 'byte-at-a-time chunked request: answered');
    like($r2 && $r2->{body}, qr{uri=/next }, 'byte-at-a-time: next request answered');
    $c->close;
}

# --- HTTP/1.0 ----------------------------------------------------------------------------------------
{
    my ($raw, $closed) = http_raw($p, "GET /ten HTTP/1.0\r\n\r\n", 5);
    my $r = parse_response($raw, closed => $closed);
    is($r && $r->{status}, 200, 'HTTP/1.0: 200');
    ok(!defined $r->{headers}{'transfer-encoding'}, 'HTTP/1.0: no Transfer-Encoding');
    ok($closed, 'HTTP/1.0: closed by default');
    unlike($r->{headers}{connection} // '', qr/keep-alive/i, 'HTTP/1.0: no keep-alive by default');

    my $c = client($p);
    $c->send("GET /ka1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    my $a = $c->read_response;
    like($a && $a->{headers}{connection} // '', qr/keep-alive/i, 'HTTP/1.0 + Connection: keep-alive: kept');
    ok(defined $a && defined $a->{headers}{'content-length'}, 'HTTP/1.0 keep-alive: Content-Length');
    $c->send("GET /ka2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    my $b = $c->read_response;
    like($b && $b->{body}, qr{uri=/ka2 .* n=2}, 'HTTP/1.0 keep-alive: second request on the connection');
    $c->send("GET /ka3 HTTP/1.0\r\n\r\n");
    my $d = $c->read_response;
    ok($d && $c->closed_within(5), 'HTTP/1.0 without keep-alive then: closed');
    $c->close;
}

# --- Connection: close -------------------------------------------------------------------------------
{
    my ($raw, $closed) = http_raw($p, "GET /c1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /c2 HTTP/1.1\r\nHost: x\r\n\r\n", 5);
    my @r = parse_responses($raw, closed => $closed);
    is(scalar @r, 1, 'Connection: close: one response, nothing after it is processed');
    like($r[0]{body} // '', qr{uri=/c1 }, 'Connection: close: the first request answered');
    like($r[0]{headers}{connection} // '', qr/^close$/i, 'Connection: close echoed');
    ok($closed, 'Connection: close: closed');
}
{
    # close among other tokens, any case
    my ($raw, $closed) = http_raw($p, "GET /c3 HTTP/1.1\r\nHost: x\r\nConnection: TE, Close\r\n\r\n", 5);
    ok($closed, 'Connection: TE, Close: closed');
}

# --- a few empty lines before a request are tolerated ----------------------------------------------------
{
    my ($raw) = http_raw($p, "\r\n\r\nGET /lead HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5);
    like($raw, qr{^HTTP/1\.1 200.*uri=/lead }s, 'leading empty lines skipped');
}

# --- absolute-form target ------------------------------------------------------------------------------------
{
    my ($raw) = http_raw($p, "GET http://x.test/abs?q=1 HTTP/1.1\r\nHost: x.test\r\nConnection: close\r\n\r\n", 5);
    like($raw, qr{^HTTP/1\.1 200.*uri=/abs }s, 'absolute-form target');
}

# --- OPTIONS * -----------------------------------------------------------------------------------------------
{
    my ($raw, $closed) = http_raw($p, "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5);
    my $r = parse_response($raw);
    ok($r && $r->{status} < 500 && $closed, 'OPTIONS *: a response, no crash');
}

# --- a real client: curl ----------------------------------------------------------------------------------
{
    my $r = run_curl("http://127.0.0.1:$p/hello");
    is($r->{exit}, 0, 'curl GET exits 0') or diag($r->{stderr});
    is($r->{stdout}, 'hello', 'curl GET body');
    $r = run_curl('-o', '/dev/null', '-o', '/dev/null', '-w', '%{http_code} %{num_connects} ', "http://127.0.0.1:$p/hello", "http://127.0.0.1:$p/hello");
    is($r->{stdout}, '200 1 200 0 ', 'curl: two URLs on one reused connection');
    $r = run_curl('-I', "http://127.0.0.1:$p/hello");
    like($r->{stdout}, qr{^HTTP/1\.1 200 .*^Content-Length: 5\r$}ms, 'curl HEAD');
    $r = run_curl('--http1.0', "http://127.0.0.1:$p/hello");
    is($r->{stdout}, 'hello', 'curl --http1.0');
    $r = run_curl('-X', 'POST', '-H', 'Transfer-Encoding: chunked', '--data-binary', 'x' x 3000, "http://127.0.0.1:$p/hello");
    is($r->{stdout}, 'hello', 'curl chunked POST');
}

# --- many concurrent connections ---------------------------------------------------------------------
{
    my @c = grep { defined } map { client($p) } 1 .. 200;
    is(scalar @c, 200, '200 concurrent connections opened');
    $_->send("GET /conc HTTP/1.1\r\nHost: x\r\n\r\n") for @c;
    my $ok = grep { my $r = $_->read_response(timeout => 10); $r && $r->{status} == 200 } @c;
    is($ok, 200, '200 concurrent keep-alive requests answered');
    $_->close for @c;
}

is($pc->stop, 0, 'exit 0');
unlike($pc->error_log, qr/\[(?:alert|crit|emerg)\]/, 'no alert/crit/emerg in the error log');

done_testing();
