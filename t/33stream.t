#!/usr/bin/perl
# Streaming (SPEC §4 proxy_buffer_size, §8 framing rules, §9 bounded
# memory): a 50 MB response grows the worker's RSS by less than 16 MB (read
# from /proc/PID/status) and arrives intact; a 20 MB chunked upload and a
# 20 MB Content-Length upload arrive intact (sha256 computed AT THE
# BACKEND); the strict response parser decides framing and the body is
# re-framed for HTTP/1.1 and HTTP/1.0 clients (Content-Length, chunked,
# close-delimited, 1xx, 204, 304, HEAD); the head goes out before a slow
# body; invalid upstream responses give 502, or a cut-short response (and a
# closed connection) once the head is out; bad body framing that arrives
# before the head went out (in the same read) is still a 502, retried per
# proxy_next_upstream but never for a POST.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Test::Portcullis::Origin;
use Test::Portcullis::Server;
use IO::Socket::IP;
use Digest::SHA;
use JSON::PP;
use Time::HiRes qw(time sleep);

Test::Portcullis::require_binary();

# Chunk sizes around the proxy's merge limit (1024) and its 16k buffer.
sub mixed_sizes { return map { (1, 7, 1500, 3, 3000, 900, 2048, 5000, 1025, 1024, 64, 1100)[$_ % 12] } 0 .. 299 }
sub mixed_data { my ($n) = @_; return substr('0123456789abcdefghijklmnopqrstuvwxyz' x 200, $n % 36, $n) }
my %raw = (
    'reason-own' => "HTTP/1.1 200 Fine Thanks\r\nContent-Length: 2\r\n\r\nok",
    'reason-none'=> "HTTP/1.1 418\r\nContent-Length: 2\r\n\r\nok",
    'reason-odd' => "HTTP/1.1 299 Caf\xe9\r\nContent-Length: 2\r\n\r\nok",
    'badstatus'  => "HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n",
    'http2'      => "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
    'cl-te'      => "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    'two-cl'     => "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    'bad-cl'     => "HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello",
    'neg-cl'     => "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
    'space-colon'=> "HTTP/1.1 200 OK\r\nX-A : b\r\nContent-Length: 0\r\n\r\n",
    'obs-fold'   => "HTTP/1.1 200 OK\r\nX-A: b\r\n  folded\r\nContent-Length: 0\r\n\r\n",
    'nul'        => "HTTP/1.1 200 OK\r\nX-A: b\0c\r\nContent-Length: 0\r\n\r\n",
    'bare-cr'    => "HTTP/1.1 200 OK\r\nX-A: b\rc\r\nContent-Length: 0\r\n\r\n",
    'te-gzip'    => "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx",
    'te-unknown' => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, foo\r\n\r\n0\r\n\r\n",
    'huge-head'  => "HTTP/1.1 200 OK\r\nX-Big: " . ('a' x 20000) . "\r\nContent-Length: 0\r\n\r\n",
    'half-head'  => "HTTP/1.1 200 OK\r\nContent-Le",
    'empty'      => "",
    'not-http'   => "SSH-2.0-OpenSSH_9.2\r\n",
    'unasked-101'=> "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
    'many-1xx'   => ("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" x 17) . "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    # bad body framing in the same write as the head: found before the head
    # goes out, so still a 502 (phase "read body")
    'bad-chunk'  => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n",
    'bad-size'   => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    'lf-chunked' => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n",
    'lf-size'    => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
    'lf-data'    => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n",
    'lf-last'    => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\n\r\n",
    'lf-end'     => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\n",
    'lf-trailer' => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\n\r\n",
    'lf-ext'     => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\nhello\r\n0\r\n\r\n",
    'cr-ext'     => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a\rb\r\nhello\r\n0\r\n\r\n",
    'ctl-ext'    => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a\x01\r\nhello\r\n0\r\n\r\n",
    'huge-size'  => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1" . ('0' x 17) . "\r\nhello\r\n",
    'long-ext'   => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;" . ('e' x 5000) . "\r\nhello\r\n0\r\n\r\n",
    'big-trailers' => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"
                    . ("X-T: " . ('t' x 100) . "\r\n") x 90 . "\r\n",
    # the upstream closes right after these: a 502 when the close is seen
    # before the head went out, else the response is cut short
    'short-body' => "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly this",
    'short-chunked' => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    # many chunks in one write: 20000 1-byte ones; chunks of mixed sizes
    'tiny'       => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" . ("1\r\na\r\n" x 20000) . "0\r\n\r\n",
    'mixed'      => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    . join('', map { sprintf("%x\r\n", $_) . mixed_data($_) . "\r\n" } mixed_sizes()) . "0\r\n\r\n",
);
my @body_502 = qw(bad-chunk bad-size lf-chunked lf-size lf-data lf-last lf-end lf-trailer lf-ext cr-ext ctl-ext
                  huge-size long-ext big-trailers);
my $origin = Test::Portcullis::Origin->new(name => 'o', handler => sub {
    my ($r) = @_;
    if ($r->{path} =~ m{^/raw/(.+)$}) { return { raw => $raw{$1} } }
    if ($r->{path} =~ m{^/smallchunks/(\d+)$}) { return { size => $1, chunked => 1, chunk => 1500 } }
    if ($r->{path} =~ m{^/rawkeep/(.+)$}) { return { raw => $raw{$1}, keep => 1 } }
    if ($r->{path} =~ m{^/fr/(\w+)}) {
        my $k = $1;
        my $body = "framing $k " . ('x' x 3000);
        return { body => $body } if $k eq 'cl';
        return { body => $body, chunked => 1, chunk => 1000, trailer => "X-Trailer: t\r\n" } if $k eq 'chunked';
        return { body => $body, close_delimited => 1 } if $k eq 'close';
        return { body => $body, interim => ["HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n",
                                            "HTTP/1.1 100 Continue\r\n\r\n"] } if $k eq 'early';
        return { status => 204, headers => ['X-S' => '204'] } if $k eq 's204';
        return { status => 304, headers => ['ETag' => '"e1"', 'Content-Length' => 3000], no_length => 1 } if $k eq 's304';
        return { raw => "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nX-H: 1\r\n\r\n", keep => 1 } if $k eq 'headcl';
        return { raw => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-H: 2\r\n\r\n", keep => 1 } if $k eq 'headte';
        return { body => 'late body', body_delay => 1.2 } if $k eq 'slow';
        return { headers => [map { ("X-H$_" => $_) } 1 .. 200], body => 'many' } if $k eq 'manyh';
    }
    return undef;
});
my $O = $origin->port;
# answers every request with a bad chunk in the head's write, and keeps the
# connection: the proxy must close it
my $bad = Test::Portcullis::Origin->new(name => 'bad', handler => sub {
    return { raw => $raw{'bad-size'}, keep => 1 };
});
my $BAD = $bad->port;

# A backend that writes a script: strings are written as they are, numbers
# are pauses (seconds); then it waits for the proxy to close.
sub scripted {
    my (@steps) = @_;
    my $ls = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 16,
        ReuseAddr => 1, Proto => 'tcp') or die "scripted listen: $!";
    my $srv = bless { port => $ls->sockport }, 'Test::Portcullis::Server';
    return $srv->start($ls, sub {
        my ($c) = @_;
        local $SIG{PIPE} = 'IGNORE';
        my $req = '';
        while (index($req, "\r\n\r\n") < 0) { sysread($c, $req, 4096, length $req) or return }
        for my $s (@steps) {
            if ($s =~ /^[\d.]+$/) { sleep($s) } else { syswrite($c, $s) // return }
        }
        my $deadline = time() + 5;
        while (time() < $deadline) { sysread($c, my $junk, 4096) or last }
    }, lifetime => 300);
}
# head and a good first chunk, then (once the head is out) a bad one
my $late = scripted("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", 0.5, "zz\r\nmore\r\n");
my $LATE = $late->port;
# tiny chunks with pauses, one split across writes, then a long pause
my $drip = scripted("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    (map { ("1\r\n$_\r\n", 0.05) } 1 .. 5), "3\r\nab", 0.05, "c\r\n", 1.5, "4\r\nlast\r\n0\r\n\r\n");
my $DRIP = $drip->port;

my $pc = Test::Portcullis->new(conf => <<"CONF");
error_log logs/error.log info;
worker_processes 1;
events { }
http {
    client_max_body_size 64m;
    proxy_buffer_size 16k;
    access_log logs/access.log combined;
    log_format up '\$request \$status \$body_bytes_sent \$upstream_status \$upstream_response_time';
    access_log logs/up.log up;
    upstream badfirst { server 127.0.0.1:$BAD max_fails=0; server 127.0.0.1:$O max_fails=0; }
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { proxy_pass http://127.0.0.1:$O; }
        location /late/ { proxy_pass http://127.0.0.1:$LATE; }
        location /drip/ { proxy_pass http://127.0.0.1:$DRIP; }
        location /bad/ { proxy_pass http://127.0.0.1:$BAD; }
        location /two/ { proxy_pass http://badfirst; proxy_next_upstream error; }
    }
}
CONF
my $p = $pc->port;
my ($worker) = $pc->wait_workers(1);

sub rss_kb { my ($k) = @_; return (slurp("/proc/$worker/status") =~ /^$k:\s+(\d+) kB/m)[0] // 0 }

# --- a 50 MB response: bounded memory, intact ------------------------------------------------
{
    my $size = 50 * 1024 * 1024;
    http_get($p, '/warm?size=2000000');          # buffers allocated once
    my $base = rss_kb('VmRSS');
    my $c = client($p, rcvbuf => 65536);
    $c->send("GET /big?size=$size HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    # Do not read for a while: the upstream keeps writing, the proxy must
    # stop reading it (back-pressure), not buffer.
    sleep(0.8);
    my $max = rss_kb('VmRSS');
    my $d = Digest::SHA->new(256);
    my ($head, $got, $buf) = (undef, 0, '');
    my $s = $c->socket;
    my $deadline = time() + 30;
    my $next_sample = 0;
    while (time() < $deadline) {
        my $n = sysread($s, my $chunk, 262144);
        last if !$n;
        if (!defined $head) {
            $buf .= $chunk;
            my $e = index($buf, "\r\n\r\n");
            next if $e < 0;
            $head = substr($buf, 0, $e);
            $chunk = substr($buf, $e + 4);
        }
        $d->add($chunk);
        $got += length $chunk;
        if ($got >= $next_sample) {
            my $r = rss_kb('VmRSS');
            $max = $r if $r > $max;
            $next_sample += 4 * 1024 * 1024;
        }
    }
    $c->close;
    my $growth_kb = $max - $base;
    like($head // '', qr{^HTTP/1\.1 200 .*\r\nContent-Length: $size\r\n}s, '50 MB: 200 with its Content-Length');
    is($got, $size, '50 MB: every byte arrived');
    is($d->hexdigest, Test::Portcullis::Origin::pattern_sha256($size), '50 MB: sha256 intact');
    diag(sprintf('50 MB response: worker RSS %d kB before, %d kB peak during the transfer: growth %.1f MB',
        $base, $max, $growth_kb / 1024));
    cmp_ok($growth_kb, '<', 16 * 1024, '50 MB response: RSS grows by less than 16 MB');
}

{
    # the same with 1500-byte chunks (several sent together per read): a
    # client that does not read still stops the proxy reading the upstream
    my $size = 24 * 1024 * 1024;
    my $base = rss_kb('VmRSS');
    my $c = client($p, rcvbuf => 65536);
    $c->send("GET /smallchunks/$size HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    sleep(0.8);
    my $max = rss_kb('VmRSS');
    my ($all) = $c->read_until_close(30);
    $c->close;
    my $r = parse_response($all, closed => 1);
    my $growth_kb = $max - $base;
    ok($r && $r->{chunked} && length($r->{body}) == $size, '24 MB in 1500-byte chunks: every byte arrived, chunked');
    is($r && Digest::SHA::sha256_hex($r->{body}), Test::Portcullis::Origin::pattern_sha256($size),
        '24 MB in 1500-byte chunks: sha256 intact');
    cmp_ok($growth_kb, '<', 16 * 1024, sprintf('24 MB in 1500-byte chunks, client not reading: RSS grows by %.1f MB (< 16)',
        $growth_kb / 1024));
}

# --- 20 MB uploads, checked at the backend ------------------------------------------------------
sub upload {
    my ($path, $size, $chunked) = @_;
    my $c = client($p);
    my $head = "POST $path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        . ($chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: $size\r\n") . "\r\n";
    $c->send($head);
    my $d = Digest::SHA->new(256);
    my ($sent, $i, $max) = (0, 0, rss_kb('VmRSS'));
    while ($sent < $size) {
        # uneven chunk sizes, pattern data
        my $k = 1000 + ($i++ * 7919) % 60000;
        $k = $size - $sent if $k > $size - $sent;
        my $data = substr($Test::Portcullis::Origin::BLOCK x 2, $sent % 65536, $k);
        $d->add($data);
        $c->send($chunked ? sprintf("%x\r\n", $k) . $data . "\r\n" : $data) or last;
        $sent += $k;
        if ($i % 64 == 0) { my $r = rss_kb('VmRSS'); $max = $r if $r > $max }
    }
    $c->send("0\r\n\r\n") if $chunked;
    my $r = $c->read_response(timeout => 20);
    $c->close;
    return ($r, $d->hexdigest, $sent, $max);
}
{
    my $size = 20 * 1024 * 1024;
    my $base = rss_kb('VmRSS');
    my ($r, $sha, $sent, $max) = upload('/up/chunked', $size, 1);
    my $e = Test::Portcullis::Origin::echo_of($r);
    is($r && $r->{status}, 200, '20 MB chunked upload: 200');
    is($e && $e->{body_len}, $size, '20 MB chunked upload: every byte reached the backend');
    is($e && $e->{body_sha256}, $sha, '20 MB chunked upload: sha256 at the backend matches');
    ok($e && $e->{chunked}, '20 MB chunked upload: sent upstream chunked');
    cmp_ok($max - $base, '<', 16 * 1024, sprintf('20 MB chunked upload: RSS grows by less than 16 MB (%.1f MB)', ($max - $base) / 1024));

    ($r, $sha, $sent) = upload('/up/length', $size, 0);
    $e = Test::Portcullis::Origin::echo_of($r);
    is($e && $e->{body_len}, $size, '20 MB Content-Length upload: every byte reached the backend');
    is($e && $e->{body_sha256}, $sha, '20 MB Content-Length upload: sha256 at the backend matches');
    is($e && $e->{h}{'content-length'}, $size, '20 MB Content-Length upload: Content-Length kept');
}

# --- response framing, for HTTP/1.1 and HTTP/1.0 clients -------------------------------------------
sub req10 {
    my ($path, $method) = @_;
    my ($data, $closed) = http_raw($p, ($method // 'GET') . " $path HTTP/1.0\r\nHost: x\r\n\r\n", 5);
    my @r = parse_responses($data, closed => $closed, heads => [($method // '') eq 'HEAD']);
    return ($r[-1], $closed, $data, scalar @r);
}
my $body3000 = sub { "framing $_[0] " . ('x' x 3000) };
for my $k (qw(cl chunked close)) {
    my $r = http_get($p, "/fr/$k");
    is($r->{body}, $body3000->($k), "upstream $k -> HTTP/1.1 client: body intact");
    is($r->{framing}, $k eq 'cl' ? 'length' : 'chunked', "upstream $k -> HTTP/1.1 client: " . ($k eq 'cl' ? 'Content-Length' : 'chunked'));
    ok(!exists $r->{headers}{'x-trailer'}, "upstream $k: no trailer fields in the head") if $k eq 'chunked';
    my ($r10, $closed) = req10("/fr/$k");
    is($r10 && $r10->{body}, $body3000->($k), "upstream $k -> HTTP/1.0 client: body intact");
    ok($r10 && !$r10->{chunked}, "upstream $k -> HTTP/1.0 client: never chunked");
    is($r10 && $r10->{version}, '1.1', "upstream $k -> HTTP/1.0 client: our version in the status line");
    ok($k eq 'cl' ? $r10 && $r10->{framing} eq 'length' : $closed, "upstream $k -> HTTP/1.0 client: " . ($k eq 'cl' ? 'Content-Length' : 'close-delimited'));
}
{
    # HTTP/1.0 keep-alive with a body of unknown length: close-delimited, then close
    my ($data, $closed) = http_raw($p, "GET /fr/chunked HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"
        . "GET /fr/cl HTTP/1.0\r\nHost: x\r\n\r\n", 5);
    my @r = parse_responses($data, closed => $closed);
    ok($closed && @r == 1 && $r[0]{body} eq $body3000->('chunked'), 'HTTP/1.0 keep-alive, body of unknown length: close-delimited, and the connection closes');
    is($r[0] && $r[0]{headers}{connection}, 'close', '... with Connection: close');
    my $m = http_get($p, '/fr/manyh');
    is($m->{status}, 502, 'a response with more fields than the proxy keeps (200): 502');
}
{
    my $c = client($p);
    $c->send("GET /fr/early HTTP/1.1\r\nHost: x\r\n\r\n");
    my $i = $c->read_response(interim => 1);
    is($i && $i->{status}, 103, '103 Early Hints forwarded to an HTTP/1.1 client');
    is($i && $i->{headers}{link}, '</s.css>; rel=preload', '103 keeps its fields');
    my $f = $c->read_response;
    is($f && $f->{status}, 200, '... then the final response');
    is(scalar(grep({ $_->{status} == 100 } @{ $c->{interim} // [] })), 1,
        "an upstream's 100 Continue is forwarded too (RFC 9110 15.2: the proxy did not ask for it)");
    $c->close;
    my ($r10, undef, $data) = req10('/fr/early');
    unlike($data, qr{^HTTP/1\.1 103}, 'no 1xx to an HTTP/1.0 client');
    is($r10 && $r10->{status}, 200, 'HTTP/1.0 client: the final response');
}
{
    my $c = client($p);
    $c->send("GET /fr/s204 HTTP/1.1\r\nHost: x\r\n\r\nGET /fr/s304 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /fr/headcl HTTP/1.1\r\nHost: x\r\n\r\n"
        . "HEAD /fr/headte HTTP/1.1\r\nHost: x\r\n\r\nGET /fr/cl HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    my ($data) = $c->read_until_close(5);
    my @r = parse_responses($data, heads => [0, 0, 1, 1, 0]);
    is(scalar @r, 5, '204, 304, HEAD, HEAD, GET pipelined on one connection: 5 responses');
    is($r[0] && $r[0]{status}, 204, 'status 204');
    ok($r[0] && !exists $r[0]{headers}{'content-length'} && !exists $r[0]{headers}{'transfer-encoding'}, '204: no Content-Length, no Transfer-Encoding');
    is($r[0] && $r[0]{headers}{'x-s'}, '204', '204: fields kept');
    is($r[1] && $r[1]{status}, 304, 'status 304');
    ok($r[1] && !exists $r[1]{headers}{'transfer-encoding'}, '304: no Transfer-Encoding');
    is($r[1] && $r[1]{headers}{etag}, '"e1"', '304: ETag kept');
    is($r[2] && $r[2]{headers}{'content-length'}, '1234', 'HEAD: the upstream Content-Length passed on');
    is($r[3] && $r[3]{headers}{'x-h'}, '2', 'HEAD answered with a chunked head: no body');
    ok($r[3] && !exists $r[3]{headers}{'content-length'}, 'HEAD answered with a chunked head: no Content-Length invented');
    is($r[4] && $r[4]{body}, $body3000->('cl'), 'the response after them is intact (no body leaked from 204/304/HEAD)');
    $c->close;
    my ($h10) = req10('/fr/headcl', 'HEAD');
    is($h10 && $h10->{headers}{'content-length'}, '1234', 'HEAD from an HTTP/1.0 client');
}
{
    # the head is not held back while the body is slow
    my $c = client($p);
    my $t0 = time();
    $c->send("GET /fr/slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    wait_until(sub { $c->_fill(0.05); index($c->buffer, "\r\n\r\n") >= 0 || $c->is_closed }, 5, 0);
    my $dt = time() - $t0;
    like($c->buffer, qr{^HTTP/1\.1 200}, 'slow body: the head arrives first');
    ok($dt < 0.9, sprintf('slow body: the head does not wait for the body (%.2fs, body after 1.2s)', $dt));
    my ($rest) = $c->read_until_close(5);
    like($c->buffer . $rest, qr/late body/, 'slow body: then the body');
    $c->close;
}

# --- a chunked upstream: one downstream chunk per read, not per upstream chunk -------------------------
# The payload and the number of chunks of a chunked body (no trailers), or
# () when it is not well-formed and complete.
sub chunks_of {
    my ($s) = @_;
    my ($body, $n, $pos) = ('', 0, 0);
    while (1) {
        my $e = index($s, "\r\n", $pos);
        return () if $e < 0;
        my ($hex) = substr($s, $pos, $e - $pos) =~ /^([0-9a-f]+)$/ or return ();
        my $k = hex $hex;
        $pos = $e + 2;
        return substr($s, $pos) eq "\r\n" ? ($body, $n) : () if $k == 0;
        return () if substr($s, $pos + $k, 2) ne "\r\n";
        $body .= substr($s, $pos, $k);
        $pos += $k + 2;
        $n++;
    }
}
for ([ 'tiny', 'a' x 20000, 20000, 200 ],
     [ 'mixed', join('', map { mixed_data($_) } mixed_sizes()), scalar(mixed_sizes()), 150 ]) {
    my ($k, $want, $up, $max) = @$_;
    my ($all) = http_raw($p, "GET /raw/$k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 10);
    my $e = index($all // '', "\r\n\r\n");
    my ($body, $n) = $e < 0 ? () : chunks_of(substr($all, $e + 4));
    ok(defined $body && $body eq $want, "$k: $up upstream chunks in one write: the body is exact ("
        . length($want) . ' bytes)');
    cmp_ok($n // 1e9, '<', $max, "$k: re-framed in far fewer chunks than the upstream's $up (" . ($n // 'none') . ')');
}
{
    # chunks that trickle in (one split across writes) still go out at once
    my $c = client($p);
    my $t0 = time();
    $c->send("GET /drip/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    my $early = '';
    wait_until(sub {
        $c->_fill(0.05);
        my $e = index($c->buffer, "\r\n\r\n");
        ($early) = Test::Portcullis::_dechunk(substr($c->buffer, $e + 4)) if $e >= 0;
        $early eq '12345abc' || $c->is_closed }, 5, 0);
    my $dt = time() - $t0;
    is($early, '12345abc', 'trickling chunks: what the upstream sent arrives before it finishes');
    ok($dt < 1.5, sprintf('... promptly (%.2fs; the last chunk comes 1.5s after the others)', $dt));
    my ($all) = $c->read_until_close(5);
    my $e = index($all, "\r\n\r\n");
    my ($body) = $e < 0 ? () : chunks_of(substr($all, $e + 4));
    is($body, '12345abclast', '... and then the rest, exact');
    $c->close;
}

# --- the upstream's reason phrase goes through (nginx does the same) -------------------------------
for ([ 'reason-own', qr{^HTTP/1\.1 200 Fine Thanks\r\n}, 'its own phrase' ],
     [ 'reason-none', qr{^HTTP/1\.1 418 \r\n}, 'none: ours (none known for 418)' ],
     [ 'reason-odd', qr{^HTTP/1\.1 299 \r\n}, 'obs-text: ours instead' ]) {
    my ($k, $re, $what) = @$_;
    my ($all) = http_raw($p, "GET /raw/$k HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 5);
    like($all // '', $re, "reason phrase: $what");
}

# --- invalid upstream responses ---------------------------------------------------------------------
for my $k (qw(badstatus http2 cl-te two-cl bad-cl neg-cl space-colon obs-fold nul bare-cr te-gzip te-unknown
              huge-head half-head empty not-http unasked-101 many-1xx)) {
    my $mark = $pc->log_mark;
    my $r = http_get($p, "/raw/$k");
    my @all = parse_responses($r->{all});   # 1xx forwarded before the limit, then the final one
    is(@all ? $all[-1]{status} : 0, 502, "invalid upstream response ($k): 502");
    ok($pc->wait_for_log(qr/\[error\].*upstream.*peer: 127\.0\.0\.1:$O\b/, 5, from => $mark), "($k): error log names the peer");
}
for my $k (@body_502) {
    my $mark = $pc->log_mark;
    my $r = http_get($p, "/raw/$k");
    is($r->{status}, 502, "bad body framing with the head ($k): 502, not a cut-short 200");
    is((eval { decode_json($r->{body}) } // {})->{error}{reason}, 'invalid upstream response', "($k): the error_format body");
    like($pc->wait_for_log(qr/\[error\].*upstream.*peer: 127\.0\.0\.1:$O\b/, 5, from => $mark) // '',
        qr/phase: read body/, "($k): error log, phase read body");
    ok($pc->wait_for_log(qr{^GET /raw/\Q$k\E HTTP/1\.1 502 \d+ 502 \d+\.\d+$}, 5, file => 'logs/up.log'),
        "($k): access log: 502, upstream status 502");
}
{
    # the upstream connection is closed, not kept
    my $eofs = sub { scalar grep { $_->{type} eq 'eof' } $origin->events };
    my $e0 = $eofs->();
    my $r = http_get($p, '/rawkeep/lf-chunked');
    is($r->{status}, 502, 'bad framing on a connection the upstream keeps: 502');
    ok(wait_until(sub { $eofs->() > $e0 }, 5), '... and the proxy closed the upstream connection');
}
{
    my $mark = $pc->log_mark;
    my $t0 = time();
    my $r = http_get($p, '/late/x', _timeout => 8);
    my $dt = time() - $t0;
    is($r->{status}, 200, 'bad chunk after the head went out: the 200 stays');
    is($r->{body}, 'hello', '... with the body sent so far');
    ok(!$r->{complete} && $r->{closed} && $dt < 4, sprintf('... cut short, the connection closed (%.2fs)', $dt));
    my $l = $pc->wait_for_log(qr/\[error\].*upstream.*peer: 127\.0\.0\.1:$LATE\b/, 5, from => $mark);
    like($l // '', qr/upstream invalid chunk size, phase: read body/, '... error log: the reason and the phase');
    ok($pc->wait_for_log(qr{^GET /late/x HTTP/1\.1 200 [1-9]\d* 200 \d+\.\d+$}, 5, file => 'logs/up.log'),
        '... access log: what was sent (200, its body bytes)');
}
for my $k (qw(short-body short-chunked)) {
    my $mark = $pc->log_mark;
    my $t0 = time();
    my $r = http_get($p, "/raw/$k", _timeout => 8);
    my $dt = time() - $t0;
    ok($r->{status} == 502 || ($r->{status} == 200 && !$r->{complete} && $r->{closed}),
        "$k: 502, or a cut-short 200 (got $r->{status})");
    ok($r->{closed} && $dt < 4, sprintf("$k: the connection is closed (%.2fs)", $dt));
    my $l = $pc->wait_for_log(qr/\[error\].*upstream.*peer: 127\.0\.0\.1:$O\b/, 5, from => $mark);
    like($l // '', qr/#\d+: upstream closed before the response body was complete, phase: read body/,
        "$k: error log says it once: upstream closed before the body was complete");
}
{
    # proxy_next_upstream error: the bad body is a failed attempt like a bad
    # head; a GET goes to the next server, a POST that reached one never
    $bad->reset_stats;
    $origin->reset_stats;
    my @get = map { http_get($p, "/two/g$_")->{status} } 1 .. 4;
    is_deeply(\@get, [(200) x 4], 'next_upstream: every GET answered 200');
    my $nbad = () = $bad->requests;
    cmp_ok($nbad, '>=', 1, "next_upstream: the bad server was tried ($nbad times)");
    is(scalar(() = $origin->requests), 4, 'next_upstream: the good server answered all four');

    $bad->reset_stats;
    $origin->reset_stats;
    my @post = map { http_get($p, "/two/p$_", _method => 'POST', _body => 'once')->{status} } 1 .. 4;
    my $n502 = grep { $_ == 502 } @post;
    $nbad = () = $bad->requests;
    cmp_ok($n502, '>=', 1, 'POST: a bad body from the first server is a 502');
    is($n502, $nbad, 'POST: a 502 for each POST the bad server got: never re-sent');
    is(scalar(() = $origin->requests), 4 - $nbad, 'POST: the good server got only the others');
}
is(http_get($p, '/fr/cl')->{status}, 200, 'the proxy still works');

# --- clients going away: the upstream side is released, fds return to their baseline ------------------
{
    sub nfds { opendir(my $d, "/proc/$worker/fd") or return -1; my $n = grep { /^\d+$/ } readdir $d; return $n }
    http_get($p, '/settle');
    my $base = nfds();
    my $eofs = sub { scalar grep { $_->{type} eq 'eof' } $origin->events };
    my $e0 = $eofs->();

    my $c = client($p, rcvbuf => 65536);        # mid-download
    $c->send("GET /abort1?size=52428800 HTTP/1.1\r\nHost: x\r\n\r\n");
    wait_until(sub { $c->_fill(0.05); length($c->buffer) > 100_000 }, 5, 0);
    $c->close;
    wait_until(sub { nfds() <= $base }, 5);
    my $before = nfds();
    $c = client($p);                             # waiting for a slow head
    $c->send("GET /abort2?delay=3 HTTP/1.1\r\nHost: x\r\n\r\n");
    wait_until(sub { grep { ($_->{uri} // '') =~ m{^/abort2} } $origin->requests }, 5);
    is(nfds(), $before + 2, 'a request waiting on a slow upstream holds a client and an upstream connection');
    my $t0 = time();
    $c->close;
    ok(wait_until(sub { nfds() <= $before }, 5), 'the client goes away while the upstream is slow: both are closed');
    ok(time() - $t0 < 1, sprintf('... at once (%.2fs), not when the upstream answers (3s)', time() - $t0));
    ok($pc->wait_for_log(qr{"GET /abort2\?delay=3 HTTP/1\.1" 499 }, 5, file => 'logs/access.log'), '... logged as 499');
    $c = client($p);                             # mid-upload
    $c->send("POST /abort3 HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n" . ('u' x 200_000));
    sleep(0.2);
    $c->close;
    ok(wait_until(sub { nfds() <= $base }, 5), "client aborts (mid-download, waiting for the head, mid-upload): the worker's fds return to $base or fewer (" . nfds() . ')');
    ok(wait_until(sub { $eofs->() >= $e0 + 1 }, 5), 'the aborted upload\'s upstream connection was closed (the origin saw EOF)');
    ok($pc->wait_for_log(qr{^GET /abort1\?size=52428800 HTTP/1\.1 200 \d+ 200 \d+\.\d+$}, 5, file => 'logs/up.log'),
        'aborted mid-download: $upstream_response_time is the time until then, not "-"');
    is(http_get($p, '/fr/cl')->{status}, 200, 'the proxy still works');
}
ok(!$pc->log_lines(qr/\[(?:alert|crit|emerg)\]/), 'no alert/crit in the error log');
is($pc->stop, 0, 'exit 0');
done_testing();
