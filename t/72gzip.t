#!/usr/bin/perl
# gzip module (SPEC §4 "gzip"): streaming compression of proxied and
# `return` bodies, checked by decompressing and comparing byte for byte
# with upstream bodies arriving in random piece sizes (Chunky backend);
# Accept-Encoding q-values, no-transform, HEAD/204/304, already encoded,
# gzip_min_length, gzip_types, gzip_vary, gzip_proxied, ETag weakening,
# HTTP/1.0 clients, sync flushes at the upstream's pace, -t errors and a
# reload that turns gzip on.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Test::Portcullis::Chunky;
use Test::Portcullis::Origin;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use Compress::Raw::Zlib;
use Time::HiRes qw(time);

Test::Portcullis::require_binary();
{
    my $probe = Test::Portcullis->new(start => 0,
        conf => "events { }\nhttp { gzip on; server { listen 127.0.0.1:%%PORT%%; } }\n");
    my $r = $probe->run('-t');
    plan(skip_all => 'gzip module not built') if $r->{output} =~ /unknown directive "gzip"/;
}

# A JSON document of about $n bytes, deterministic.
sub json_body {
    my ($n, $salt) = @_;
    my $s = '[';
    my $i = 0;
    while (length($s) < $n) {
        $s .= ($i ? ',' : '') . sprintf('{"id":%d,"name":"user-%d-%s","active":%s,"score":%.3f,'
            . '"tags":["alpha","beta","%x"]}', $i, $i * 7, $salt // 'x', $i % 3 ? 'true' : 'false',
            $i / 7, $i * 2654435761 % 65536);
        $i++;
    }
    return substr($s, 0, $n - 1) . ']';
}

sub gunzip_ok {
    my ($gz) = @_;
    my $out;
    return undef unless defined $gz && length $gz;
    gunzip(\$gz => \$out) or return undef;
    return $out;
}

my %BODIES;
sub body_for { my ($len, $salt) = @_; return $BODIES{"$len/$salt"} //= json_body($len, $salt) }

# The backend: GET /anything?len=N&seed=S&framing=F&ct=TYPE&status=N&etag=..&cc=..&ce=..&vary=..
#   &hold=OFFSET (pause 1.5 s after OFFSET bytes)
my $be = Test::Portcullis::Chunky->new(handler => sub {
    my ($req) = @_;
    my %a = %{ $req->{args} };
    s/%([0-9A-Fa-f]{2})/chr hex $1/ge for values %a;
    my $len = $a{len} // 1000;
    my $body = body_for($len, $a{salt} // 'x');
    my @h = ('Content-Type' => $a{ct} // 'application/json');
    push @h, 'ETag' => $a{etag} if defined $a{etag};
    push @h, 'Cache-Control' => $a{cc} if defined $a{cc};
    push @h, 'Content-Encoding' => $a{ce} if defined $a{ce};
    push @h, 'Vary' => $a{vary} if defined $a{vary};
    push @h, 'Accept-Ranges' => 'bytes';
    my %opt = (framing => $a{framing} // 'length', seed => $a{seed} // 1, max => $a{max} // 4096);
    $opt{hold} = [$a{hold}, 1.5] if defined $a{hold};
    return ($a{status} // 200, \@h, $body, \%opt);
});
my $bp = $be->port;
# 20000 chunks of one byte in one write (the proxy reads a few 16k buffers)
my $tiny = Test::Portcullis::Origin->new(name => 'tiny', handler => sub {
    return { raw => "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
        . ("1\r\na\r\n" x 20000) . "0\r\n\r\n" };
});
my $tp = $tiny->port;

my $pc = Test::Portcullis->new(conf => <<"CONF");
error_log logs/error.log info;
worker_processes 1;
events { }
http {
    gzip on;
    gzip_types application/json text/plain;
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { proxy_pass http://127.0.0.1:$bp; }
        location /vary/ { gzip_vary on; proxy_pass http://127.0.0.1:$bp; }
        location /off/ { gzip off; proxy_pass http://127.0.0.1:$bp; }
        location /min/ { gzip_min_length 1000; proxy_pass http://127.0.0.1:$bp; }
        location /any/ { gzip_types *; proxy_pass http://127.0.0.1:$bp; }
        location /css/ { gzip_types text/css; proxy_pass http://127.0.0.1:$bp; }
        location /proxied/ { gzip_proxied any; proxy_pass http://127.0.0.1:$bp; }
        location /l1/ { gzip_comp_level 1; proxy_pass http://127.0.0.1:$bp; }
        location /l9/ { gzip_comp_level 9; proxy_pass http://127.0.0.1:$bp; }
        location /tiny/ { proxy_pass http://127.0.0.1:$tp; }
        location = /ret { return 200 "${\ ('portcullis ' x 200)}"; }
        location = /ret-short { return 200 "short"; }
    }
}
CONF
my $p = $pc->port;

sub get {
    my ($path, %h) = @_;
    my %hh = ('Accept-Encoding' => 'gzip', _timeout => 15, %h);
    delete $hh{'Accept-Encoding'} unless defined $hh{'Accept-Encoding'};
    return http_get($p, $path, %hh);
}

# --- byte for byte, random pieces, every framing --------------------------------------------
my $n = 0;
for my $case ([1, 'close'], [100, 'chunked'], [5000, 'close'], [70000, 'length'],
              [70000, 'chunked'], [300000, 'close'], [1048576, 'length'], [1048576, 'chunked'])
{
    my ($len, $framing) = @$case;
    for my $max (37, 4096, 65536) {
        next if $len > 100000 && $max == 37;    # keep it quick
        my $seed = ++$n;
        my $r = get("/data?len=$len&framing=$framing&seed=$seed&max=$max&salt=$seed");
        my $want = body_for($len, $seed);
        my $what = "$len bytes, $framing upstream, pieces <= $max";
        is($r->{status}, 200, "$what: 200");
        is($r->{headers}{'content-encoding'}, 'gzip', "$what: Content-Encoding gzip");
        ok(!defined $r->{headers}{'content-length'} && $r->{chunked}, "$what: chunked, no length");
        my $got = gunzip_ok($r->{body});
        ok(defined $got && $got eq $want, "$what: gunzip gives the upstream body byte for byte")
            or diag("got " . (defined $got ? length $got : 'undef') . " bytes, want $len");
    }
}
{
    my $r = get('/data?len=1048576&framing=length&seed=99&salt=big');
    ok(length($r->{body}) < 1048576 / 3, 'a 1 MB JSON body shrinks (' . length($r->{body}) . ' bytes)');
    my $r1 = get('/l1/data?len=200000&seed=3&salt=lv');
    my $r9 = get('/l9/data?len=200000&seed=3&salt=lv');
    is(gunzip_ok($r1->{body}), body_for(200000, 'lv'), 'gzip_comp_level 1 decodes');
    is(gunzip_ok($r9->{body}), body_for(200000, 'lv'), 'gzip_comp_level 9 decodes');
    ok(length($r9->{body}) < length($r1->{body}), 'level 9 is smaller than level 1 ('
        . length($r9->{body}) . ' < ' . length($r1->{body}) . ')');
}

# --- when not to compress -------------------------------------------------------------------
sub plain_ok {
    my ($r, $len, $what, $salt) = @_;
    ok(!defined $r->{headers}{'content-encoding'}, "$what: not compressed");
    is($r->{body}, body_for($len, $salt // 'x'), "$what: body unchanged");
}
plain_ok(get('/data?len=3000', 'Accept-Encoding' => undef), 3000, 'no Accept-Encoding');
plain_ok(get('/data?len=3000', 'Accept-Encoding' => 'gzip;q=0'), 3000, 'gzip;q=0');
plain_ok(get('/data?len=3000', 'Accept-Encoding' => 'br, gzip;q=0, *'), 3000, 'gzip;q=0 beats *');
plain_ok(get('/data?len=3000', 'Accept-Encoding' => 'identity'), 3000, 'identity only');
plain_ok(get('/data?len=3000', 'Accept-Encoding' => 'gzip;q=2'), 3000, 'malformed q-value');
is(gunzip_ok(get('/data?len=3000', 'Accept-Encoding' => 'br;q=1, gzip;q=0.5')->{body}),
   body_for(3000, 'x'), 'gzip;q=0.5: compressed');
is(gunzip_ok(get('/data?len=3000', 'Accept-Encoding' => '*')->{body}), body_for(3000, 'x'),
   '*: compressed');
is(gunzip_ok(get('/data?len=3000', 'Accept-Encoding' => 'x-gzip')->{body}), body_for(3000, 'x'),
   'x-gzip: compressed');
plain_ok(get('/data?len=3000&cc=public,%20no-transform'), 3000, 'Cache-Control: no-transform');
is(gunzip_ok(get('/data?len=3000&cc=public,%20max-age=60')->{body}), body_for(3000, 'x'),
   'another Cache-Control: compressed');
{
    my $r = get('/data?len=3000&ce=br');
    is($r->{headers}{'content-encoding'}, 'br', 'already encoded: Content-Encoding kept');
    is($r->{body}, body_for(3000, 'x'), 'already encoded: body untouched');
}
plain_ok(get('/off/data?len=3000'), 3000, 'gzip off');
plain_ok(get('/data?len=10'), 10, 'shorter than the default gzip_min_length 20');
plain_ok(get('/min/data?len=999'), 999, 'gzip_min_length 1000, 999 bytes');
is(gunzip_ok(get('/min/data?len=1000')->{body}), body_for(1000, 'x'), 'gzip_min_length 1000, 1000 bytes: compressed');
is(gunzip_ok(get('/min/data?len=500&framing=chunked')->{body}), body_for(500, 'x'),
   'gzip_min_length: unknown length (chunked) is compressed');
plain_ok(get('/data?len=3000&ct=text/css'), 3000, 'type not in gzip_types');
is(gunzip_ok(get('/css/data?len=3000&ct=text/css')->{body}), body_for(3000, 'x'), 'gzip_types text/css');
is(gunzip_ok(get('/css/data?len=3000&ct=text/html')->{body}), body_for(3000, 'x'), 'text/html is always included');
plain_ok(get('/css/data?len=3000'), 3000, 'gzip_types in a location replaces the inherited list');
is(gunzip_ok(get('/data?len=3000&ct=Application/JSON;%20charset=utf-8')->{body}), body_for(3000, 'x'),
   'media type compared case-insensitively, parameters ignored');
is(gunzip_ok(get('/any/data?len=3000&ct=image/x-whatever')->{body}), body_for(3000, 'x'), 'gzip_types *');
plain_ok(get('/data?len=3000&status=500'), 3000, 'status 500 is not compressed');
is(gunzip_ok(get('/data?len=3000&status=404')->{body}), body_for(3000, 'x'), 'status 404 is compressed (like nginx)');
plain_ok(get('/data?len=3000', Via => '1.1 cdn'), 3000, 'gzip_proxied off: a request with Via');
is(gunzip_ok(get('/proxied/data?len=3000', Via => '1.1 cdn')->{body}), body_for(3000, 'x'),
   'gzip_proxied any: compressed despite Via');
{
    my $r = http_request($p, method => 'HEAD', path => '/data?len=3000',
        headers => ['Accept-Encoding' => 'gzip']);
    is($r->{status}, 200, 'HEAD: 200');
    ok(!defined $r->{headers}{'content-encoding'}, 'HEAD: no Content-Encoding');
    is($r->{headers}{'content-length'}, 3000, 'HEAD: the identity length');
    is($r->{all} // '', $r->{raw}, 'HEAD: no body bytes');
    for my $st (204, 304) {
        my $q = get("/data?len=3000&status=$st");
        is($q->{status}, $st, "$st passes");
        ok(!defined $q->{headers}{'content-encoding'}, "$st: no Content-Encoding");
        is($q->{body}, '', "$st: no body");
    }
}

# --- header rewriting ----------------------------------------------------------------------
{
    my $r = get('/data?len=3000&etag=%22v1%22');
    is($r->{headers}{etag}, 'W/"v1"', 'strong ETag weakened when compressing');
    ok(!defined $r->{headers}{'accept-ranges'}, 'Accept-Ranges dropped when compressing');
    ok(!defined $r->{headers}{vary}, 'no Vary without gzip_vary');
    $r = get('/data?len=3000&etag=W/%22v2%22');
    is($r->{headers}{etag}, 'W/"v2"', 'weak ETag unchanged');
    $r = get('/data?len=3000&etag=%22v1%22', 'Accept-Encoding' => undef);
    is($r->{headers}{etag}, '"v1"', 'ETag unchanged when not compressing');
    is($r->{headers}{'accept-ranges'}, 'bytes', 'Accept-Ranges kept when not compressing');
    $r = get('/vary/data?len=3000');
    is($r->{headers}{vary}, 'Accept-Encoding', 'gzip_vary on: Vary: Accept-Encoding');
    $r = get('/vary/data?len=3000', 'Accept-Encoding' => undef);
    is($r->{headers}{vary}, 'Accept-Encoding', 'gzip_vary: also on the identity response');
    $r = get('/vary/data?len=3000&vary=Origin');
    is($r->{headers}{vary}, 'Origin, Accept-Encoding', 'gzip_vary: appended to the upstream Vary');
    $r = get('/vary/data?len=3000&vary=accept-encoding');
    is($r->{headers}{vary}, 'accept-encoding', 'gzip_vary: not repeated');
    $r = get('/vary/data?len=3000&ct=text/css');
    ok(!defined $r->{headers}{vary}, 'gzip_vary: not on a response that is never compressed');
}

# --- return bodies, HTTP/1.0, keep-alive --------------------------------------------------
{
    my $r = get('/ret');
    is($r->{headers}{'content-encoding'}, 'gzip', 'return body compressed (text/plain)');
    is(gunzip_ok($r->{body}), 'portcullis ' x 200, 'return body decodes');
    $r = get('/ret-short');
    is($r->{body}, 'short', 'short return body (under gzip_min_length) not compressed');
    $r = http_request($p, path => '/data?len=20000&seed=5', version => '1.0',
        headers => ['Accept-Encoding' => 'gzip'], timeout => 15);
    is($r->{headers}{'content-encoding'}, 'gzip', 'HTTP/1.0 client: compressed');
    ok(!$r->{chunked} && !defined $r->{headers}{'content-length'}, 'HTTP/1.0: close-delimited');
    ok($r->{closed}, 'HTTP/1.0: connection closed after the body');
    is(gunzip_ok($r->{body}), body_for(20000, 'x'), 'HTTP/1.0: decodes');

    my $c = client($p);
    $c->send("GET /data?len=30000&seed=8 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n"
        . "GET /ret HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n");
    my $r1 = $c->read_response(timeout => 15);
    my $r2 = $c->read_response(timeout => 15);
    is(gunzip_ok($r1 && $r1->{body}), body_for(30000, 'x'), 'pipelined: first (proxied) decodes');
    is(gunzip_ok($r2 && $r2->{body}), 'portcullis ' x 200, 'pipelined: second (return) decodes');
    $c->close;
}

# --- flushes with the upstream's pace ------------------------------------------------------------
{
    # The backend sends 20000 bytes, then pauses 1.5 s before the rest:
    # what it sent must reach the client, decodable, during the pause.
    my $c = client($p);
    my $t0 = time();
    $c->send("GET /data?len=60000&max=2000&hold=20000 HTTP/1.1\r\nHost: x\r\n"
        . "Accept-Encoding: gzip\r\nConnection: close\r\n\r\n");
    my ($plain, $t_first) = ('', undef);
    while (time() - $t0 < 1.2) {
        $c->_fill(0.05);
        my $buf = $c->buffer;
        my $hend = index($buf, "\r\n\r\n");
        next if $hend < 0;
        my ($body) = Test::Portcullis::_dechunk(substr($buf, $hend + 4));
        my $i = Compress::Raw::Zlib::Inflate->new(-WindowBits => WANT_GZIP);
        my $out = '';
        $i->inflate(my $copy = $body, $out);
        if (length($out) >= 20000) { $plain = $out; $t_first = time() - $t0; last }
    }
    ok(length($plain) >= 20000 && substr($plain, 0, 20000) eq substr(body_for(60000, 'x'), 0, 20000),
       'the first 20000 bytes decode while the upstream pauses'
       . (defined $t_first ? sprintf(' (after %.2f s)', $t_first) : ''));
    my ($all) = $c->read_until_close(10);
    my $r = parse_response($all, closed => 1);
    is(gunzip_ok($r && $r->{body}), body_for(60000, 'x'), 'and the whole body decodes after the pause');
    $c->close;
}

{
    # One sync flush per upstream read, not per upstream chunk: 20000
    # 1-byte chunks of 'a' must not become 20000 flushes (700 kB).
    my $r = get('/tiny/x');
    is($r->{headers}{'content-encoding'}, 'gzip', '20000 1-byte chunks: compressed');
    is(gunzip_ok($r->{body}), 'a' x 20000, '20000 1-byte chunks: gunzip gives them back exactly');
    cmp_ok(length($r->{body} // ''), '<', 2000, '20000 1-byte chunks: the gzip stream stays small ('
        . length($r->{body} // '') . ' bytes)');
}

# --- config: valid and invalid values ---------------------------------------------------------
my $conf_base = "error_log logs/error.log info;\nevents { }\nhttp {\n    %%HTTP%%\n    server {\n"
    . "        listen 127.0.0.1:%%PORT%%;\n        location / { %%LOC%% return 200; }\n    }\n}\n";
sub gconf {
    my (%o) = @_;
    my $c = $conf_base;
    $c =~ s/%%HTTP%%/$o{http} \/\/ ''/e;
    $c =~ s/%%LOC%%/$o{loc} \/\/ ''/e;
    return $c;
}
conf_test_ok(gconf(http => 'gzip on; gzip_types text/plain application/json; gzip_min_length 1k; '
    . 'gzip_comp_level 9; gzip_vary on; gzip_proxied any;'), 'every gzip directive in http');
conf_test_ok(gconf(loc => 'gzip off; gzip_types *; gzip_min_length 0; gzip_comp_level 1; '
    . 'gzip_vary off; gzip_proxied off;'), 'every gzip directive in a location');
for my $bad (['gzip maybe;', 'gzip', qr/on|off/],
             ['gzip_comp_level 0;', 'gzip_comp_level', qr/gzip_comp_level|0/],
             ['gzip_comp_level 10;', 'gzip_comp_level', qr/gzip_comp_level|10/],
             ['gzip_comp_level fast;', 'gzip_comp_level', qr/gzip_comp_level|fast/],
             ['gzip_min_length lots;', 'gzip_min_length', qr/gzip_min_length|lots/],
             ['gzip_types text;', 'gzip_types', qr/invalid MIME type "text"/],
             ['gzip_types text/;', 'gzip_types', qr/invalid MIME type/],
             ['gzip_types "text/ html";', 'gzip_types', qr/invalid MIME type/],
             ['gzip_vary yes;', 'gzip_vary', qr/on|off/],
             ['gzip_proxied expired;', 'gzip_proxied', qr/gzip_proxied|expired/],
             ['gzip on; gzip off;', 'gzip on', qr/duplicate/])
{
    my ($text, $marker, $re) = @$bad;
    conf_test_fails(gconf(http => $text), $marker, $re, "invalid: $text");
}
conf_test_fails("error_log logs/error.log info;\nevents { gzip on; }\nhttp { server { listen 127.0.0.1:%%PORT%%; } }\n",
    'gzip on', qr/not allowed|context|gzip/, 'gzip in events');

# --- reload: gzip off -> on ----------------------------------------------------------------------
{
    my $conf = "error_log logs/error.log info;\nworker_processes 1;\nevents { }\nhttp {\n"
        . "    gzip GZIP;\n    gzip_types text/plain;\n"
        . "    server { listen 127.0.0.1:%%PORT%%; location / { return 200 \"${\ ('reload ' x 50)}\"; } }\n}\n";
    my $rp = Test::Portcullis->new(conf => ($conf =~ s/GZIP/off/r));
    my $r = http_get($rp->port, '/', 'Accept-Encoding' => 'gzip');
    ok(!defined $r->{headers}{'content-encoding'}, 'before reload: gzip off');
    $rp->write_conf(($conf =~ s/GZIP/on/r));
    ok(defined $rp->reload, 'reload with gzip on');
    ok(wait_until(sub {
        ($r = http_get($rp->port, '/', 'Accept-Encoding' => 'gzip'))->{headers}{'content-encoding'}
    }, 10), 'after reload: compressed');
    is(gunzip_ok($r->{body}), 'reload ' x 50, 'after reload: decodes');
    $rp->write_conf(($conf =~ s/GZIP/sometimes/r));
    ok(!defined $rp->reload, 'reload with an invalid gzip value fails');
    like($rp->{reload_error} // '', qr/gzip/, 'the error names the directive');
    $r = http_get($rp->port, '/', 'Accept-Encoding' => 'gzip');
    is($r->{headers}{'content-encoding'}, 'gzip', 'the old configuration keeps serving');
    is($rp->stop, 0, 'reload instance: exit 0');
}

unlike($pc->error_log, qr/\[(?:alert|crit|emerg)\]/, 'no alert in the error log');
is($pc->stop, 0, 'exit 0');
$be->stop;
done_testing();
