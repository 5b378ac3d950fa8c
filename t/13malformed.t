#!/usr/bin/perl
# Malformed requests (SPEC §8): each class is answered with its status and
# the connection is closed; a valid request pipelined after it is never
# processed.
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
    client_max_body_size 0;
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { return 200 "ok"; }
    }
}
CONF
my $p = $pc->port;
my ($worker) = $pc->wait_workers(1);
my $after = "GET /after HTTP/1.1\r\nHost: x\r\n\r\n";
my $H = "Host: x\r\n";

sub post { my ($hdrs, $body) = @_; return "POST / HTTP/1.1\r\n$H$hdrs\r\n" . ($body // '') }

my @cases = (
    # framing
    ['Content-Length + Transfer-Encoding', post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), 400],
    ['Transfer-Encoding + Content-Length (other order)', post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n"), 400],
    ['TE: chunked, gzip (not ending in chunked)', post("Transfer-Encoding: chunked, gzip\r\n", "0\r\n\r\n"), 400],
    ['TE: gzip (not ending in chunked)', post("Transfer-Encoding: gzip\r\n", "xxxxx"), 400],
    ['TE: chunked, chunked', post("Transfer-Encoding: chunked, chunked\r\n", "0\r\n\r\n"), 400],
    ['TE: chunked twice in two fields', post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), 400],
    ['TE: unknown coding', post("Transfer-Encoding: foo, chunked\r\n", "0\r\n\r\n"), 501],
    ['TE: unknown coding alone', post("Transfer-Encoding: foo\r\n", "0\r\n\r\n"), 501],
    ['TE in HTTP/1.0', "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400],
    ['Content-Length non-digit', post("Content-Length: 1a\r\n"), 400],
    ['Content-Length with sign', post("Content-Length: +5\r\n", "xxxxx"), 400],
    ['Content-Length negative', post("Content-Length: -1\r\n"), 400],
    ['Content-Length empty', post("Content-Length: \r\n"), 400],
    ['Content-Length with inner space', post("Content-Length: 1 2\r\n"), 400],
    ['Content-Length overflow', post("Content-Length: 99999999999999999999999999\r\n"), 400],
    ['Content-Length differing duplicates', post("Content-Length: 5\r\nContent-Length: 6\r\n", "xxxxxx"), 400],
    ['Content-Length differing list', post("Content-Length: 5, 6\r\n", "xxxxxx"), 400],
    # chunk syntax
    ['chunk size not hex', post("Transfer-Encoding: chunked\r\n", "zz\r\nxx\r\n0\r\n\r\n"), 400],
    ['chunk size negative', post("Transfer-Encoding: chunked\r\n", "-5\r\nhello\r\n0\r\n\r\n"), 400],
    ['chunk size 0x prefix', post("Transfer-Encoding: chunked\r\n", "0x5\r\nhello\r\n0\r\n\r\n"), 400],
    ['chunk size leading space', post("Transfer-Encoding: chunked\r\n", " 5\r\nhello\r\n0\r\n\r\n"), 400],
    ['chunk size overflow', post("Transfer-Encoding: chunked\r\n", "1" . ("0" x 20) . "\r\nhello\r\n0\r\n\r\n"), 400],
    ['chunk data not followed by CRLF', post("Transfer-Encoding: chunked\r\n", "5\r\nhelloXX0\r\n\r\n"), 400],
    ['chunk size line empty', post("Transfer-Encoding: chunked\r\n", "\r\n5\r\nhello\r\n0\r\n\r\n"), 400],
    # chunk framing: every line end is CRLF, a bare LF is no line end
    ['chunk framing with bare LF line ends', post("Transfer-Encoding: chunked\r\n", "5\nhello\n0\n\n"), 400],
    ['bare LF after the chunk size', post("Transfer-Encoding: chunked\r\n", "5\nhello\r\n0\r\n\r\n"), 400],
    ['bare LF after the chunk data', post("Transfer-Encoding: chunked\r\n", "5\r\nhello\n0\r\n\r\n"), 400],
    ['bare LF after the last chunk', post("Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\n\r\n"), 400],
    ['bare LF as the final empty line', post("Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\n"), 400],
    ['bare LF after a trailer field', post("Transfer-Encoding: chunked\r\n", "0\r\nX-T: 1\n\r\n"), 400],
    ['bare LF inside a chunk extension', post("Transfer-Encoding: chunked\r\n", "5;a\nb\r\nhello\r\n0\r\n\r\n"), 400],
    ['bare LF ending a chunk extension', post("Transfer-Encoding: chunked\r\n", "5;a=b\nhello\r\n0\r\n\r\n"), 400],
    ['bare LF in a quoted chunk extension', post("Transfer-Encoding: chunked\r\n", "5;a=\"x\ny\"\r\nhello\r\n0\r\n\r\n"), 400],
    ['bare CR in a chunk extension', post("Transfer-Encoding: chunked\r\n", "5;a\rb\r\nhello\r\n0\r\n\r\n"), 400],
    ['control byte in a chunk extension', post("Transfer-Encoding: chunked\r\n", "5;a\x01\r\nhello\r\n0\r\n\r\n"), 400],
    ['NUL in a chunk extension', post("Transfer-Encoding: chunked\r\n", "5;a\0\r\nhello\r\n0\r\n\r\n"), 400],
    ['LF-ended extension hiding a chunk (smuggling shape)', post("Transfer-Encoding: chunked\r\n", "2;\nxx\r\n45\r\n0\r\n\r\n"), 400],
    # header syntax
    ['obs-fold', "GET / HTTP/1.1\r\n${H}X-A: a\r\n b\r\n\r\n", 400],
    ['obs-fold with tab', "GET / HTTP/1.1\r\n${H}X-A: a\r\n\tb\r\n\r\n", 400],
    ['bare CR in a value', "GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n", 400],
    ['bare CR as a line end', "GET / HTTP/1.1\r\n${H}X-A: a\r\r\n\r\n", 400],
    ['bare CR in the request line', "GET /\r HTTP/1.1\r\n$H\r\n", 400],
    ['NUL in a value', "GET / HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n", 400],
    ['NUL in a name', "GET / HTTP/1.1\r\n${H}X-\0A: b\r\n\r\n", 400],
    ['NUL in the target', "GET /a\0b HTTP/1.1\r\n$H\r\n", 400],
    ['space before colon', "GET / HTTP/1.1\r\n${H}X-A : b\r\n\r\n", 400],
    ['space before colon in Host', "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400],
    ['tab before colon', "GET / HTTP/1.1\r\n${H}X-A\t: b\r\n\r\n", 400],
    ['first header line starts with a space', "GET / HTTP/1.1\r\n X-A: b\r\n$H\r\n", 400],
    ['first header line starts with a tab', "GET / HTTP/1.1\r\n\tX-A: b\r\n$H\r\n", 400],
    ['header without a colon', "GET / HTTP/1.1\r\n${H}NoColonHere\r\n\r\n", 400],
    ['empty header name', "GET / HTTP/1.1\r\n$H: v\r\n\r\n", 400],
    ['non-token header name', "GET / HTTP/1.1\r\n${H}X\@A: b\r\n\r\n", 400],
    ['control byte in a value', "GET / HTTP/1.1\r\n${H}X-A: a\x01b\r\n\r\n", 400],
    # Host
    ['HTTP/1.1 without Host', "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400],
    ['two Host fields', "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
    ['two identical Host fields', "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400],
    ['invalid Host (slash)', "GET / HTTP/1.1\r\nHost: bad/host\r\n\r\n", 400],
    ['invalid Host (space)', "GET / HTTP/1.1\r\nHost: bad host\r\n\r\n", 400],
    ['invalid Host (userinfo)', "GET / HTTP/1.1\r\nHost: user\@host\r\n\r\n", 400],
    ['invalid Host (unclosed IPv6)', "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400],
    ['invalid Host (port too big)', "GET / HTTP/1.1\r\nHost: x:99999\r\n\r\n", 400],
    ['empty Host in HTTP/1.1', "GET / HTTP/1.1\r\nHost: \r\n\r\n", 400],
    # request line
    ['target with a control byte', "GET /a\x01b HTTP/1.1\r\n$H\r\n", 400],
    ['target with DEL', "GET /a\x7fb HTTP/1.1\r\n$H\r\n", 400],
    ['target with a space', "GET /a b HTTP/1.1\r\n$H\r\n", 400],
    ['target with a tab', "GET /a\tb HTTP/1.1\r\n$H\r\n", 400],
    ['two spaces after the method', "GET  / HTTP/1.1\r\n$H\r\n", 400],
    ['no version (HTTP/0.9 style)', "GET /\r\n\r\n", 400],
    ['garbage version', "GET / HTTX/1.1\r\n$H\r\n", 400],
    ['non-token method', "GE(T / HTTP/1.1\r\n$H\r\n", 400],
    # limits (defaults)
    ['request line too long', "GET /" . ('a' x 20000) . " HTTP/1.1\r\n$H\r\n", 414],
    ['one header line too long', "GET / HTTP/1.1\r\n${H}X-Big: " . ('b' x 20000) . "\r\n\r\n", 431],
    ['headers too large in total', "GET / HTTP/1.1\r\n$H" . join('', map { "X-H$_: " . ('c' x 4000) . "\r\n" } 1 .. 40) . "\r\n", 431],
    ['101 header fields', "GET / HTTP/1.1\r\n$H" . join('', map { "X-N$_: v\r\n" } 1 .. 100) . "\r\n", 431],
);

{
    my ($raw) = http_raw($p, "GET / HTTP/1.1\r\n$H" . join('', map { "X-N$_: v\r\n" } 1 .. 98)
        . "Connection: close\r\n\r\n", 5);
    like($raw // '', qr{^HTTP/1\.1 200 }, '100 header fields: served');
}

for my $case (@cases) {
    my ($name, $bytes, $status) = @$case;
    my ($raw, $closed) = http_raw($p, $bytes . $after, 5);
    my @r = parse_responses($raw, closed => $closed);
    my $got = @r ? $r[0]{status} : 'no response';
    is($got, $status, "$name: $status") or diag("received: " . substr($raw, 0, 300));
    ok($closed, "$name: connection closed");
    is(scalar @r, 1, "$name: the pipelined request after it is not processed");
    like($r[0]{headers}{connection} // '', qr/close/i, "$name: Connection: close") if @r;
}

# Lowercase method: "get" is a token but not GET (methods are case-sensitive):
# never served as GET.
{
    my ($raw, $closed) = http_raw($p, "get / HTTP/1.1\r\n$H\r\n" . $after, 5);
    my @r = parse_responses($raw, closed => $closed);
    like(@r ? $r[0]{status} : 'none', qr/^(?:400|501)$/, 'lowercase method: 400 or 501, never served as GET');
    ok($closed, 'lowercase method: connection closed');
    is(scalar @r, 1, 'lowercase method: nothing after it processed');
}

# Byte-at-a-time delivery gives the same verdicts.
for my $case (['NUL in a value (byte at a time)', "GET / HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n", 400],
              ['two Host fields (byte at a time)', "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
              ['CL + TE (byte at a time)', post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), 400]) {
    my ($name, $bytes, $status) = @$case;
    my $c = client($p);
    for my $ch (split //, $bytes) { last unless $c->send($ch); last if $c->readable_within(0) }
    my ($raw, $closed) = $c->read_until_close(5);
    my $r = parse_response($c->buffer . $raw);
    is($r && $r->{status}, $status, "$name: $status");
    ok($closed, "$name: closed");
}

# The worker survived everything and still serves.
is(http_get($p, '/')->{status}, 200, 'still serving after every malformed request');
is_deeply([$pc->worker_pids], [$worker], 'same worker: no crash');
my @loud = $pc->log_lines(qr/\[(?:warn|error|crit|alert|emerg)\]/);
is(scalar @loud, 0, 'malformed client input is never logged above info') or diag(join "\n", @loud[0 .. ($#loud < 5 ? $#loud : 5)]);
is($pc->stop, 0, 'exit 0');

done_testing();
