#!/usr/bin/perl
# TLS termination (SPEC §4 tls row, issue 4): listen ... ssl, SNI across
# server blocks (exact, wildcard, unknown), RSA and ECDSA pairs side by side,
# ssl_protocols / ssl_ciphers / ssl_ecdh_curve, the $ssl_* connection
# variables and $scheme, HTTP/1.1 keep-alive and large bodies through the TLS
# I/O layer, plain HTTP on a TLS port, garbage / truncated / oversized
# ClientHellos (the connection closes, the worker lives), and -t errors that
# name the file.  Real clients only: openssl s_client, curl, IO::Socket::SSL.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Test::Portcullis::Backend;
use Test::Portcullis::TLS;
use IO::Socket::INET;
use File::Temp ();
use Time::HiRes qw(time sleep);

require_tls();
my $P = pki();

my $vars = '$ssl_protocol|$ssl_cipher|$ssl_server_name|$ssl_session_reused|$scheme|$server_name_tag';

my $be = Test::Portcullis::Backend->new();
my $bport = $be->port;

my $pc = Test::Portcullis->new(conf => <<"CONF");
error_log logs/error.log info;
worker_processes 1;
events { }
http {
    access_log off;
    ssl_certificate     $P/server-ec.crt;
    ssl_certificate_key $P/server-ec.key;
    ssl_certificate     $P/server-rsa.crt;
    ssl_certificate_key $P/server-rsa.key;
    ssl_session_tickets on;
    ssl_session_timeout 10m;

    server {
        listen 127.0.0.1:%%PORT%% ssl;
        server_name localhost a.test *.wild.test;
        location / { return 200 "A|\$ssl_protocol|\$ssl_cipher|\$ssl_server_name|\$ssl_session_reused|\$scheme"; }
        location /proxy/ { proxy_pass http://127.0.0.1:$bport; }
    }
    server {
        listen 127.0.0.1:%%PORT%% ssl;
        server_name b.test;
        ssl_certificate     $P/server-b.crt;
        ssl_certificate_key $P/server-b.key;
        location / { return 200 "B|\$ssl_server_name"; }
    }
    server {
        listen 127.0.0.1:%%PORT2%% ssl;
        server_name localhost;
        ssl_protocols TLSv1.3;
        ssl_ecdh_curve X25519;
        location / { return 200 "13|\$ssl_protocol"; }
    }
    server {
        listen 127.0.0.1:%%PORT3%% ssl;
        server_name localhost;
        ssl_protocols TLSv1.2;
        ssl_ciphers ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384;
        location / { return 200 "12|\$ssl_cipher"; }
    }
}
CONF
ok($pc->alive, 'started with four TLS servers on three ports') or BAIL_OUT($pc->stderr);
my ($port, $port13, $port12) = ($pc->port(1), $pc->port(2), $pc->port(3));
my ($worker) = $pc->wait_workers(1);
ok($worker, "one worker ($worker)");

# --- basics: curl, variables, $scheme -----------------------------------------------
{
    my $r = curl_tls($port, '/');
    is($r->{status}, 200, 'curl over TLS: 200');
    my @v = split /\|/, $r->{body};
    is($v[0], 'A', 'default server answers');
    is($v[1], 'TLSv1.3', '$ssl_protocol TLSv1.3 (default ssl_protocols allow it)');
    like($v[2], qr/^TLS_(AES|CHACHA20)/, "\$ssl_cipher $v[2]");
    is($v[3], 'localhost', '$ssl_server_name = SNI');
    is($v[4], '.', '$ssl_session_reused "." on a full handshake');
    is($v[5], 'https', '$scheme is https on TLS connections');
}

# --- SNI: exact, wildcard, unknown -------------------------------------------------
{
    my $b = s_client($port, sni => 'b.test', host => 'b.test');
    like($b->{subject}, qr/CN\s*=\s*b\.test/, 'SNI b.test gets the b.test certificate');
    is($b->{status}, 200, 'b.test: 200');
    like($b->{http}{body} // '', qr/^B\|b\.test$/, 'b.test served by its server block');
    my $w = s_client($port, sni => 'x.wild.test', host => 'x.wild.test');
    like($w->{subject}, qr/CN\s*=\s*localhost/, 'SNI x.wild.test: the *.wild.test server certificate');
    ok($w->{verify_ok}, 'certificate verifies for the wildcard name');
    my $u = s_client($port, sni => 'unknown.test', host => 'unknown.test');
    like($u->{subject}, qr/CN\s*=\s*localhost/, 'unknown SNI: the default server certificate');
    my $n = s_client($port, host => 'localhost');
    like($n->{subject}, qr/CN\s*=\s*localhost/, 'no SNI at all: the default server certificate');
    is($n->{status}, 200, 'no SNI: 200');
}

# --- RSA and ECDSA pairs side by side ---------------------------------------------
{
    my $ec = s_client($port, sni => 'localhost',
        args => ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256']);
    is($ec->{pubkey_bits}, 256, 'ECDSA suite: the P-256 certificate');
    my $rsa = s_client($port, sni => 'localhost',
        args => ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256']);
    is($rsa->{pubkey_bits}, 2048, 'RSA suite: the RSA 2048 certificate');
    my $rsa13 = s_client($port, sni => 'localhost',
        args => ['-tls1_3', '-sigalgs', 'rsa_pss_rsae_sha256']);
    is($rsa13->{pubkey_bits}, 2048, 'TLS 1.3 with RSA-PSS only: the RSA certificate');
}

# --- ssl_protocols (default and TLSv1.3 only), ssl_ciphers, ssl_ecdh_curve -----------
{
    my $t11 = s_client($port, sni => 'localhost', args => ['-tls1_1']);
    ok(!$t11->{new}, 'default ssl_protocols: TLS 1.1 refused');
    my $t12 = s_client($port, sni => 'localhost', args => ['-tls1_2']);
    is($t12->{proto}, 'TLSv1.2', 'default ssl_protocols: TLS 1.2 accepted');
    my $a12 = s_client($port13, sni => 'localhost', args => ['-tls1_2']);
    ok(!$a12->{new}, 'ssl_protocols TLSv1.3: TLS 1.2 refused');
    my $a13 = s_client($port13, sni => 'localhost');
    is($a13->{status}, 200, 'ssl_protocols TLSv1.3: TLS 1.3 accepted');
    my $p256 = s_client($port13, sni => 'localhost', args => ['-curves', 'prime256v1']);
    ok(!$p256->{new}, 'ssl_ecdh_curve X25519: a P-256-only client is refused');
    my $x = s_client($port13, sni => 'localhost', args => ['-curves', 'X25519']);
    ok($x->{new}, 'ssl_ecdh_curve X25519: an X25519 client is accepted');
    my $aes128 = s_client($port12, sni => 'localhost', args => ['-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256']);
    ok(!$aes128->{new}, 'ssl_ciphers: a suite not listed is refused');
    my $aes256 = s_client($port12, sni => 'localhost');
    like($aes256->{http}{body} // '', qr/^12\|ECDHE-(ECDSA|RSA)-AES256-GCM-SHA384$/,
        'ssl_ciphers: the listed suite is used ($ssl_cipher)');
}

# --- keep-alive and large bodies through the TLS I/O layer -----------------------------
{
    my $s = tls_connect($port);
    ok($s, 'IO::Socket::SSL connects');
    my $body = 'x' x 300_000;
    my $req = "POST /proxy/echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: "
        . length($body) . "\r\n\r\n$body"
        . "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    my $data = '';
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 20;
        print {$s} $req;
        while (1) { my $n = sysread($s, my $b, 65536); last unless $n; $data .= $b }
        alarm 0;
    };
    alarm 0;
    my @r = parse_responses($data);
    is(scalar(@r), 2, 'two responses on one TLS connection (pipelined)');
    is($r[0]{status}, 200, '300 kB upload proxied over TLS: 200');
    ok(index($r[0]{body} // '', $body) >= 0, 'the whole body reached the backend and came back');
    like($r[0]{body} // '', qr/^X-Forwarded-Proto: https$/m, 'X-Forwarded-Proto: https upstream');
    is($r[1]{status}, 200, 'second request on the same connection: 200');
}

# --- plain HTTP on the TLS port -------------------------------------------------------
{
    my $r = http_get($port, '/');
    is($r->{status}, 400, 'plain HTTP request on a TLS port: 400');
    like($r->{body} // '', qr/plain HTTP request sent to HTTPS port/, 'with a clear reason');
}
{
    # answered by the HTTP layer like any error (SPEC 8: logged in the access
    # log with the same status), over the clear connection, without HSTS
    my $t = Test::Portcullis->new(conf => <<"CONF");
error_log logs/error.log info;
events { }
http {
    log_format pl '\$request|\$status|\$scheme';
    access_log logs/plain.log pl;
    server {
        listen 127.0.0.1:%%PORT%% ssl;
        ssl_certificate     $P/server-ec.crt;
        ssl_certificate_key $P/server-ec.key;
        hsts max-age=600;
        location / { return 200 "ok"; }
    }
}
CONF
    my $r = http_get($t->port, '/plain?x=1');
    is($r->{status}, 400, 'plain HTTP on a TLS port (HTTP layer): 400');
    like($r->{body} // '', qr/"reason":"plain HTTP request sent to HTTPS port","request_id":"[^"]+"/,
        'the usual error body, with a request id');
    ok($r->{headers}{server} && $r->{headers}{date}, 'Server and Date as on any response');
    like($r->{headers}{connection} // '', qr/close/, 'Connection: close');
    ok(!exists $r->{headers}{'strict-transport-security'}, 'no HSTS over the clear connection');
    ok(wait_until(sub { Test::Portcullis::slurp($t->path('logs/plain.log')) =~ m{^GET /plain\?x=1 HTTP/1\.1\|400\|http$}m }, 5),
        'the access log has it, with status 400');
    is(tls_get($t->port, '/')->{status}, 200, 'TLS clients are still served');
    is($t->stop, 0, 'exit 0');
}

# --- garbage, truncated and oversized ClientHellos: close, worker lives --------------
sub raw_exchange {
    my ($bytes, $half_close) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 5)
        or return (undef, 'connect');
    print {$s} $bytes;
    shutdown($s, 1) if $half_close;
    my ($got, $closed) = ('', 0);
    my $t0 = time();
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 8;
        while (1) { my $n = sysread($s, my $b, 4096); if (!$n) { $closed = 1; last } $got .= $b }
        alarm 0;
    };
    alarm 0;
    return ($closed, time() - $t0);
}
{
    my ($closed, $t) = raw_exchange("\x16\x03\x01\x00\x30" . ("\xff" x 48));
    ok($closed, 'garbage handshake record: connection closed');
    ok($t < 5, 'closed at once, not at the timeout');
    ($closed) = raw_exchange(join('', map { chr(int(rand(256))) } 1 .. 2048));
    ok($closed, 'random bytes: connection closed');
    # A real ClientHello cut short, then EOF.
    my $hello = "\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03" . ("\x11" x 32) . "\x00";
    ($closed, $t) = raw_exchange($hello, 1);
    ok($closed && $t < 5, 'truncated ClientHello then EOF: connection closed at once');
    # A record longer than TLS allows, and a handshake message claiming 16 MB.
    ($closed, $t) = raw_exchange("\x16\x03\x01\xff\xff" . ("\x01" x 20000));
    ok($closed && $t < 5, 'oversized record: connection closed');
    ($closed, $t) = raw_exchange("\x16\x03\x01\x40\x00\x01\xff\xff\xff" . ("\x00" x 16380));
    ok($closed && $t < 5, 'ClientHello claiming 16 MB: connection closed');
    my @w = $pc->worker_pids;
    is_deeply(\@w, [$worker], 'the worker survived every malformed ClientHello (same pid)');
    is(curl_tls($port, '/')->{status}, 200, 'and still serves TLS');
    ok($pc->wait_for_log(qr/\[info\].*tls: handshake failed/, 5),
        'handshake failures are logged at info');
}

$pc->stop;
ok(!$pc->alive, 'stopped');

# --- -t: errors that name the file ------------------------------------------------------
sub tconf {
    my ($inner) = @_;
    return <<"CONF";
events { }
http {
    server {
        listen 127.0.0.1:%%PORT%% ssl;
        $inner
    }
}
CONF
}
my $pair = "ssl_certificate $P/server-ec.crt; ssl_certificate_key $P/server-ec.key;";

conf_test_ok(tconf($pair), 'an ECDSA pair');
conf_test_ok(tconf("$pair ssl_certificate $P/server-rsa.crt; ssl_certificate_key $P/server-rsa.key;"),
    'RSA and ECDSA pairs side by side');
conf_test_fails(tconf("ssl_certificate $P/nope.crt; ssl_certificate_key $P/server-ec.key;"),
    'nope.crt', qr/cannot read certificate ".*nope\.crt": No such file/, 'unreadable certificate');
conf_test_fails(tconf("ssl_certificate $P/server-ec.crt; ssl_certificate_key $P/nope.key;"),
    'nope.key', qr/cannot read certificate key ".*nope\.key"/, 'unreadable key');
conf_test_fails(tconf("ssl_certificate $P/server-ec.crt;\n ssl_certificate_key $P/server-rsa.key;"),
    'server-rsa.key', qr/certificate key ".*server-rsa\.key" does not match certificate ".*server-ec\.crt"/,
    'key/certificate mismatch');
conf_test_fails(tconf("ssl_certificate $P/server-expired.crt;\n ssl_certificate_key $P/server-expired.key;"),
    'server-expired.crt', qr/certificate ".*server-expired\.crt" has expired on 2020/,
    'an already expired server certificate');
conf_test_fails(tconf("ssl_certificate $P/garbage.pem; ssl_certificate_key $P/server-ec.key;"),
    'garbage.pem', qr/cannot parse certificate ".*garbage\.pem"/, 'unparsable certificate');
conf_test_fails(tconf("$pair\n ssl_client_certificate $P/garbage.pem; ssl_verify_client on;"),
    'ssl_client_certificate', qr/cannot parse CA bundle ".*garbage\.pem"/, 'unparsable CA bundle');
conf_test_fails(tconf("server_name x;"), 'listen', qr/no "ssl_certificate" is defined/,
    'a TLS server without certificate', line => 3);
conf_test_fails(tconf("$pair ssl_certificate $P/server-soon.crt;"), 'listen',
    qr/must come in pairs \(2 certificates, 1 keys\)/, 'certificate without its key', line => 3);
conf_test_fails(tconf("$pair\n ssl_certificate $P/server-soon.crt; ssl_certificate_key $P/server-soon.key;"),
    'server-soon.crt', qr/same key type/, 'two ECDSA pairs in one server');
conf_test_fails(tconf("$pair\n ssl_verify_client on;"), 'listen',
    qr/"ssl_verify_client" needs "ssl_client_certificate"/, 'verification without CA', line => 3);

# Certificates are read and checked wherever they are named (SPEC §1: -t
# validates every file), also for a server without an ssl listener and for
# an http-level pair that no ssl server uses: same messages, same FILE:LINE.
sub plainconf {
    my ($inner, $http) = @_;
    $http //= '';
    return <<"CONF";
events { }
http {
    $http
    server {
        listen 127.0.0.1:%%PORT%%;
        $inner
    }
}
CONF
}
conf_test_ok(plainconf($pair), 'a valid pair on a server without ssl listener');
conf_test_fails(plainconf("ssl_certificate $P/nope.crt; ssl_certificate_key $P/nope.key;"),
    'nope.crt', qr/cannot read certificate ".*nope\.crt": No such file/,
    'missing certificate on a server without ssl listener');
conf_test_fails(plainconf("ssl_certificate $P/server-ec.crt;\n ssl_certificate_key $P/nope.key;"),
    'nope.key', qr/cannot read certificate key ".*nope\.key": No such file/,
    'missing key on a server without ssl listener');
conf_test_fails(plainconf("ssl_certificate $P/server-ec.crt;\n ssl_certificate_key $P/server-rsa.key;"),
    'server-rsa.key', qr/certificate key ".*server-rsa\.key" does not match certificate ".*server-ec\.crt"/,
    'key/certificate mismatch on a server without ssl listener');
conf_test_fails(plainconf("ssl_certificate $P/garbage.pem; ssl_certificate_key $P/server-ec.key;"),
    'garbage.pem', qr/cannot parse certificate ".*garbage\.pem"/,
    'unparsable certificate on a server without ssl listener');
conf_test_fails(plainconf("ssl_certificate $P/server-expired.crt;\n ssl_certificate_key $P/server-expired.key;"),
    'server-expired.crt', qr/certificate ".*server-expired\.crt" has expired on 2020/,
    'expired certificate on a server without ssl listener');
conf_test_fails(plainconf("server_name x; ssl_certificate $P/server-ec.crt;"), 'listen',
    qr/must come in pairs \(1 certificates, 0 keys\)/, 'certificate without key, no ssl listener',
    line => 4);
# http level, overridden by the only ssl server: still read.
conf_test_fails(tconf($pair) =~ s/^http \{$/http {\n    ssl_certificate $P\/nope.crt; ssl_certificate_key $P\/server-ec.key;/mr,
    'nope.crt', qr/cannot read certificate ".*nope\.crt"/, 'an http-level pair no server uses');
# http level, inherited by three plain servers: read once, reported once.
{
    my $servers = join '', map { "    server { listen 127.0.0.1:%%PORT$_%%; }\n" } ('', 2, 3);
    my $t = Test::Portcullis->new(start => 0, conf => <<"CONF");
events { }
http {
    ssl_certificate $P/nope.crt; ssl_certificate_key $P/server-ec.key;
$servers}
CONF
    my $r = $t->run('-t');
    my @err = $r->{output} =~ /(cannot read certificate .*)/g;
    is($r->{exit}, 1, 'inherited missing certificate: -t fails');
    is(scalar(@err), 1, 'inherited by three servers: reported once')
        or diag($r->{output});
    like($err[0] // '', qr/ in \Q${\ $t->conf_path}\E:3$/, 'at the http-level directive');
}
# At run time nothing changes: a server without an ssl listener whose pair
# is valid still serves plain HTTP.
{
    my $t = Test::Portcullis->new(conf => plainconf("$pair location / { return 200 \"plain \$scheme\"; }"));
    ok($t->alive, 'started: a plain server naming a pair') or diag($t->stderr);
    my $r = http_get($t->port, '/');
    is("$r->{status} $r->{body}", '200 plain http', 'it serves plain HTTP');
    $t->stop;
}

# Each directive: a valid and an invalid value.
conf_test_ok(tconf("$pair ssl_protocols TLSv1.2 TLSv1.3;"), 'ssl_protocols TLSv1.2 TLSv1.3');
conf_test_fails(tconf("$pair\n ssl_protocols TLSv1.2 SSLv3;"), 'SSLv3', qr/invalid value "SSLv3"/,
    'ssl_protocols SSLv3');
# TLS 1.0 / 1.1 alone pass -t but no handshake can succeed under OpenSSL 3's
# default security level: a warning names FILE:LINE.
for my $old ('TLSv1', 'TLSv1 TLSv1.1') {
    my $x = Test::Portcullis->new(conf => tconf("$pair\n ssl_protocols $old;"), start => 0);
    my $r = $x->run('-t');
    is($r->{exit}, 0, "-t ok: ssl_protocols $old");
    like($r->{output}, qr/\[warn\] tls: ssl_protocols without TLSv1\.2 or TLSv1\.3: .* in \Q${\ $x->conf_path}\E:6/,
        "ssl_protocols $old: warned about at load, with FILE:LINE");
}
{
    my $r = Test::Portcullis->new(conf => tconf("$pair ssl_protocols TLSv1.1 TLSv1.2;"), start => 0)->run('-t');
    unlike($r->{output}, qr/ssl_protocols without/, 'ssl_protocols TLSv1.1 TLSv1.2: no warning');
}
conf_test_ok(tconf("$pair ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256;"), 'ssl_ciphers');
conf_test_fails(tconf("$pair\n ssl_ciphers NO-SUCH-CIPHER;"), 'NO-SUCH', qr/invalid ssl_ciphers/,
    'ssl_ciphers unknown');
conf_test_ok(tconf("$pair ssl_ecdh_curve X25519:prime256v1;"), 'ssl_ecdh_curve');
conf_test_fails(tconf("$pair\n ssl_ecdh_curve nocurve;"), 'nocurve', qr/invalid ssl_ecdh_curve/,
    'ssl_ecdh_curve unknown');
conf_test_ok(tconf("$pair ssl_session_tickets off;"), 'ssl_session_tickets off');
conf_test_fails(tconf("$pair\n ssl_session_tickets maybe;"), 'maybe', qr/"on" or "off"/,
    'ssl_session_tickets maybe');
conf_test_ok(tconf("$pair ssl_session_timeout 1h;"), 'ssl_session_timeout 1h');
conf_test_fails(tconf("$pair\n ssl_session_timeout soon;"), 'soon', qr/invalid|ssl_session_timeout/,
    'ssl_session_timeout soon');
conf_test_ok(tconf("$pair ssl_cert_expiry_warning 7d;"), 'ssl_cert_expiry_warning 7d');
conf_test_fails(tconf("$pair\n ssl_cert_expiry_warning never;"), 'never',
    qr/invalid|ssl_cert_expiry_warning/, 'ssl_cert_expiry_warning never');

# ssl_cert_expiry_warning: logged at warn by -t (and at start / reload, t/42).
{
    my $soon = "ssl_certificate $P/server-soon.crt; ssl_certificate_key $P/server-soon.key;";
    my $t = Test::Portcullis->new(start => 0, conf => tconf($soon));
    my $r = $t->run('-t');
    like($r->{output}, qr/\[warn\] tls: server certificate "CN=localhost" in ".*server-soon\.crt".* expires on .*\(in (9|10) days\)/,
        'a server certificate expiring within 30 days: warning naming it');
    $t = Test::Portcullis->new(start => 0, conf => tconf("$soon ssl_cert_expiry_warning 5d;"));
    $r = $t->run('-t');
    unlike($r->{output}, qr/expires on/, 'ssl_cert_expiry_warning 5d: no warning for 10 days');
    $t = Test::Portcullis->new(start => 0,
        conf => tconf("$pair ssl_client_certificate $P/ca-soon.crt; ssl_verify_client on;"));
    $r = $t->run('-t');
    like($r->{output}, qr/\[warn\] tls: client CA certificate "CN=Client CA soon.*" in ".*ca-soon\.crt".* expires on/,
        'a client CA expiring within 30 days: warning');

    # at start: on stderr (the terminal) and in the error log file, where
    # the operator looks (SPEC §4 tls: "logged at warn at start")
    $t = Test::Portcullis->new(conf => "error_log logs/error.log info;\n" . tconf($soon));
    ok($t->alive, 'started with a certificate about to expire');
    like($t->stderr, qr/\[warn\] tls: server certificate .*server-soon\.crt.* expires on/,
        'start: the expiry warning on stderr');
    like($t->error_log, qr/^\S+ \S+ \[warn\] \d+#0: tls: server certificate .*server-soon\.crt.* expires on/m,
        'start: and in the error log file');
    is($t->stop, 0, 'clean stop');
}

# --- ssl_protocols: a repeated value is an error (SPEC §3) ----------------------------
conf_test_fails(tconf("$pair\n        ssl_protocols TLSv1.2 TLSv1.2;"), 'ssl_protocols',
    qr/duplicate value "TLSv1\.2" in "ssl_protocols"/, 'ssl_protocols TLSv1.2 TLSv1.2');
conf_test_fails(tconf("$pair\n        ssl_protocols TLSv1.3 TLSv1.2 TLSv1.3;"), 'ssl_protocols',
    qr/duplicate value "TLSv1\.3" in "ssl_protocols"/, 'ssl_protocols TLSv1.3 TLSv1.2 TLSv1.3');

# --- SNI selects a regex server_name (SPEC §4: SNI selects the server block) ----------
# Same order as Host: exact, leading wildcard, trailing wildcard, regexes in
# config order.  (mTLS in a regex block: t/41mtls.t.)
{
    my $t = Test::Portcullis->new(conf => <<"CONF");
error_log logs/error.log info;
worker_processes 1;
events { }
http {
    access_log off;
    $pair
    server {
        listen 127.0.0.1:%%PORT%% ssl;
        server_name localhost api0.test;
        location / { return 200 "default"; }
    }
    server {
        listen 127.0.0.1:%%PORT%% ssl;
        server_name ~^api\\d+\\.test\$;
        ssl_certificate     $P/server-b.crt;
        ssl_certificate_key $P/server-b.key;
        location / { return 200 "api"; }
    }
}
CONF
    ok($t->alive, 'started with a regex server_name on a TLS address') or diag($t->stderr);
    my $r = s_client($t->port, sni => 'api1.test', host => 'api1.test');
    like($r->{subject} // '', qr/CN\s*=\s*b\.test/, 'SNI api1.test: the regex block\'s certificate');
    is($r->{http}{body}, 'api', 'served by the regex block');
    $r = s_client($t->port, sni => 'API42.Test.', host => 'api42.test');
    like($r->{subject} // '', qr/CN\s*=\s*b\.test/, 'SNI in upper case with a trailing dot: same block');
    $r = s_client($t->port, sni => 'api0.test', host => 'api0.test');
    like($r->{subject} // '', qr/CN\s*=\s*localhost/, 'an exact name wins over the regex');
    is($r->{http}{body}, 'default', '... and Host agrees');
    $r = s_client($t->port, sni => 'apix.test', host => 'apix.test');
    like($r->{subject} // '', qr/CN\s*=\s*localhost/, 'SNI matching no name: the default block');
    is($r->{http}{body}, 'default', '... served by the default block');
    $t->stop;
}

# Bytes of the session ticket in an s_client -sess_out file (0: none).
sub ticket_bytes {
    my ($file) = @_;
    my $o = `openssl sess_id -in $file -noout -text 2>/dev/null`;
    my ($dump) = $o =~ /TLS session ticket:\n((?:\s*[0-9a-f]{4} - .*\n)+)/;
    return 0 unless defined $dump;
    my $n = 0;
    for my $line (split /\n/, $dump) {
        my (undef, $rest) = split / - /, $line, 2;
        $n += () = substr($rest // '', 0, 48) =~ /[0-9a-f]{2}/g;
    }
    return $n;
}

# --- ssl_session_tickets off: no ticket key, resumption through the cache --------------
# TLS 1.2: no ticket at all, resumption by session id.  TLS 1.3: one
# stateful ticket per handshake (the 32-byte id of a cached session, not a
# sealed session), resumption through the worker's cache.  As in nginx.
{
    my $t = Test::Portcullis->new(conf => tconf("$pair ssl_session_tickets off;"
        . ' location / { return 200 "$ssl_protocol $ssl_session_reused"; }')
        =~ s/^events/worker_processes 1;\nevents/mr);
    ok($t->alive, 'started with ssl_session_tickets off') or diag($t->stderr);
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    for my $v ('1.2', '1.3') {
        my @ver = ('-tls1_' . ($v eq '1.2' ? '2' : '3'));
        my $f = "$dir/s$v.pem";
        my $r = s_client($t->port, sni => 'localhost', sess_out => $f, args => [@ver, '-msg']);
        is($r->{http}{body}, "TLSv$v .", "TLS $v, tickets off: a full handshake");
        my $nst = () = $r->{out} =~ /, NewSessionTicket$/mg;
        if ($v eq '1.2') {
            is($nst, 0, 'TLS 1.2, tickets off: no NewSessionTicket');
            is(ticket_bytes($f), 0, 'TLS 1.2: the session has no ticket');
        } else {
            is($nst, 1, 'TLS 1.3, tickets off: one NewSessionTicket per handshake');
            is(ticket_bytes($f), 32, 'TLS 1.3: the ticket is a 32-byte session id (stateful)');
        }
        $r = s_client($t->port, sni => 'localhost', sess_in => $f, args => \@ver);
        ok($r->{reused}, "TLS $v, tickets off: the session resumes through the cache");
        is($r->{http}{body}, "TLSv$v r", "TLS $v: \$ssl_session_reused r");
    }
    $t->stop;
}

$be->stop;
done_testing();
