#!/usr/bin/perl
# Client certificates (issue 4 item 2): ssl_verify_client on | optional |
# optional_no_ca, several ssl_client_certificate bundles, ssl_verify_depth,
# ssl_crl; refusals logged at info with their reason (no certificate,
# unknown CA, expired, revoked, depth); every $ssl_client_* variable; RFC 9440
# Client-Cert / Client-Cert-Chain upstream (ssl_client_cert_header on); spoofed
# certificate headers always stripped; 421 when Host and SNI pick different
# server blocks under mTLS.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Test::Portcullis::Backend;
use Test::Portcullis::TLS;
use MIME::Base64 qw(encode_base64);
use File::Temp ();

require_tls();
my $P = pki();

my $be = Test::Portcullis::Backend->new();
my $bport = $be->port;
my $pair = "ssl_certificate $P/server-ec.crt; ssl_certificate_key $P/server-ec.key;";
my $vars = join '|', map { "\$ssl_client_$_" } qw(verify s_dn i_dn serial fingerprint);

my $pc = Test::Portcullis->new(conf => <<"CONF");
error_log logs/error.log info;
worker_processes 1;
events { }
http {
    access_log off;
    $pair
    ssl_client_certificate $P/ca1.crt $P/ca2.crt;
    ssl_crl $P/crl1.pem;

    server {
        listen 127.0.0.1:%%PORT%% ssl;
        server_name localhost;
        ssl_verify_client on;
        ssl_verify_depth 0;
        ssl_client_cert_header on;
        location / { return 200 "$vars"; }
        location /cert { return 200 "\$ssl_client_escaped_cert"; }
        location /up/ {
            proxy_pass http://127.0.0.1:$bport;
            proxy_set_header X-Client-DN \$ssl_client_s_dn;
        }
    }
    server {
        listen 127.0.0.1:%%PORT%% ssl;
        server_name open.test;
        location / { return 200 "open"; }
    }
    server {
        listen 127.0.0.1:%%PORT2%% ssl;
        server_name localhost;
        ssl_verify_client optional;
        proxy_set_header X-Client-Serial \$ssl_client_serial;
        location / { return 200 "$vars"; }
        location /up/ {
            proxy_pass http://127.0.0.1:$bport;
            proxy_set_header X-Client-DN \$ssl_client_s_dn;
        }
        location /own/ { proxy_pass http://127.0.0.1:$bport; proxy_set_header X-Other 1; }
    }
    server {
        listen 127.0.0.1:%%PORT3%% ssl;
        server_name localhost;
        ssl_verify_client optional_no_ca;
        ssl_client_cert_header on;
        location / { proxy_pass http://127.0.0.1:$bport; }
    }
    server {
        listen 127.0.0.1:%%PORT4%% ssl;
        server_name localhost;
        ssl_verify_client on;
        ssl_client_cert_header on;
        location / { proxy_pass http://127.0.0.1:$bport; }
    }
    server {
        listen 127.0.0.1:%%PORT5%%;
        location / { proxy_pass http://127.0.0.1:$bport; }
    }
}
CONF
ok($pc->alive, 'started') or BAIL_OUT($pc->stderr);
my ($on, $opt, $noca, $deep, $plain) = map { $pc->port($_) } 1 .. 5;

sub fields { my ($r) = @_; return split /\|/, ($r->{body} // ''), -1 }
sub openssl_out { my ($args) = @_; my $o = `openssl $args 2>/dev/null`; chomp $o; return $o }

# --- ssl_verify_client on: both bundles, refusals with reasons -------------------------
{
    my $r = tls_get($on, '/', cert => 'client1');
    is($r->{status}, 200, 'on: a client of CA 1 is accepted');
    my @f = fields($r);
    is($f[0], 'SUCCESS', '$ssl_client_verify SUCCESS');
    is($f[1], 'O=Portcullis tests,CN=client1', '$ssl_client_s_dn (RFC 2253)');
    is($f[2], 'CN=Client CA 1,O=Portcullis tests', '$ssl_client_i_dn (RFC 2253)');
    my $serial = openssl_out("x509 -in $P/client1.crt -noout -serial");
    is("serial=$f[3]", $serial, '$ssl_client_serial (hex)');
    my $fp = lc(openssl_out("x509 -in $P/client1.crt -noout -fingerprint -sha256"));
    $fp =~ s/^.*=//;
    $fp =~ s/://g;
    is($f[4], $fp, '$ssl_client_fingerprint is the SHA-256 of the DER');
    is(tls_get($on, '/', cert => 'client2')->{status}, 200,
        'on: a client of CA 2 is accepted (two bundles listed)');

    my $c = curl_tls($on, '/cert', cert => 'client1');
    (my $pem = $c->{body}) =~ s/%([0-9A-F]{2})/chr(hex($1))/ge;
    is($pem, Test::Portcullis::slurp("$P/client1.crt"), '$ssl_client_escaped_cert is the URL-escaped PEM');

    my %cases = (
        none => [{}, 'no_certificate'],
        'client-self' => [{ cert => 'client-self' }, 'unknown_ca'],
        'client-expired' => [{ cert => 'client-expired' }, 'expired'],
        'client-revoked' => [{ cert => 'client-revoked' }, 'revoked'],
        'client-deep' => [{ cert => 'client-deep', chain => 1 }, 'depth'],
    );
    for my $k (sort keys %cases) {
        my ($opts, $why) = @{ $cases{$k} };
        my $mark = $pc->log_mark;
        my $x = tls_get($on, '/', %$opts);
        isnt($x->{status}, 200, "on: $k refused");
        ok($pc->wait_for_log(qr/\[info\] .*tls: client certificate refused \($why\)/, 5, from => $mark),
            "on: $k logged at info as $why");
        my $cu = curl_tls($on, '/', %$opts);
        isnt($cu->{exit}, 0, "curl: $k fails the handshake");
    }
}

# --- optional: the handshake completes, the variable tells ------------------------------
{
    my @f = fields(tls_get($opt, '/'));
    is($f[0], 'NONE', 'optional without certificate: NONE');
    @f = fields(tls_get($opt, '/', cert => 'client1'));
    is($f[0], 'SUCCESS', 'optional with a valid certificate: SUCCESS');
    my $r = tls_get($opt, '/', cert => 'client-self');
    is($r->{status}, 200, 'optional with an untrusted certificate: the request is served');
    @f = fields($r);
    like($f[0], qr/^FAILED:/, "optional: \$ssl_client_verify $f[0]");
    @f = fields(tls_get($opt, '/', cert => 'client-expired'));
    like($f[0], qr/^FAILED:certificate has expired/, 'optional: an expired certificate is FAILED:...');
}

# --- RFC 9440 headers upstream; spoofed ones stripped ----------------------------------------
sub der_b64 {
    my ($file) = @_;
    my $der = `openssl x509 -in $file -outform DER 2>/dev/null`;
    return encode_base64($der, '');
}
sub upstream_header {
    my ($r, $name) = @_;
    my @v = ($r->{body} // '') =~ /^\Q$name\E: (.*)$/mg;
    return \@v;
}
{
    my @spoof = (headers => ['Client-Cert' => ':c3Bvb2Y=:', 'Client-Cert-Chain' => ':c3Bvb2Y=:',
                             'X-Client-DN' => 'CN=admin']);
    my $r = tls_get($on, '/up/x', cert => 'client1', @spoof);
    is($r->{status}, 200, 'proxied with a client certificate');
    is_deeply(upstream_header($r, 'Client-Cert'), [':' . der_b64("$P/client1.crt") . ':'],
        'Client-Cert is the client certificate (RFC 9440), the spoofed one is gone');
    is_deeply(upstream_header($r, 'Client-Cert-Chain'), [], 'no chain sent: no Client-Cert-Chain');
    is_deeply(upstream_header($r, 'X-Client-DN'), ['O=Portcullis tests,CN=client1'],
        'proxy_set_header X-Client-DN $ssl_client_s_dn replaces the spoofed value');

    $r = tls_get($opt, '/up/x', @spoof);
    is($r->{status}, 200, 'optional, no certificate: proxied');
    is_deeply(upstream_header($r, 'Client-Cert'), [], 'spoofed Client-Cert stripped');
    is_deeply(upstream_header($r, 'Client-Cert-Chain'), [], 'spoofed Client-Cert-Chain stripped');
    is_deeply(upstream_header($r, 'X-Client-DN'), [],
        'a header filled from $ssl_client_* is stripped when the variable is empty');

    # a location with its own proxy_set_header list replaces the server's
    # (as nginx), but what the server fills from $ssl_client_* stays
    # stripped there: the client cannot spoof it
    $r = tls_get($opt, '/own/x', cert => 'client1', headers => ['X-Client-Serial' => 'spoof', 'x-client-serial' => 'spoof2']);
    is($r->{status}, 200, 'location with its own proxy_set_header list: proxied');
    is_deeply(upstream_header($r, 'X-Other'), ['1'], 'its own list applies');
    ok(!grep({ /spoof/ } @{ upstream_header($r, 'X-Client-Serial') }, @{ upstream_header($r, 'x-client-serial') }),
        'a header the server fills from $ssl_client_* is stripped even where the list was replaced');
    $r = tls_get($opt, '/up/x', cert => 'client1', headers => ['X-Client-Serial' => 'spoof']);
    ok(!grep({ /spoof/ } @{ upstream_header($r, 'X-Client-Serial') }), '... in every location of the server');

    $r = http_get($plain, '/x', 'Client-Cert' => ':c3Bvb2Y=:', 'Client-Cert-Chain' => ':eA==:');
    is($r->{status}, 200, 'plain HTTP: proxied');
    is_deeply(upstream_header($r, 'Client-Cert'), [], 'plain HTTP: spoofed Client-Cert stripped');
    is_deeply(upstream_header($r, 'Client-Cert-Chain'), [], 'plain HTTP: spoofed Client-Cert-Chain stripped');

    $r = tls_get($noca, '/x', cert => 'client-self');
    is($r->{status}, 200, 'optional_no_ca: a self-signed certificate is let through');
    is_deeply(upstream_header($r, 'Client-Cert'), [':' . der_b64("$P/client-self.crt") . ':'],
        'optional_no_ca: its Client-Cert is sent');

    $r = tls_get($deep, '/x', cert => 'client-deep', chain => 1);
    is($r->{status}, 200, 'ssl_verify_depth 1 (default): a client under an intermediate is accepted');
    is_deeply(upstream_header($r, 'Client-Cert-Chain'), [':' . der_b64("$P/int1.crt") . ':'],
        'Client-Cert-Chain carries the intermediate the client sent');
}

# --- 421: Host and SNI choose different server blocks under mTLS ---------------------------
{
    my $r = tls_get($on, '/', cert => 'client1', sni => 'localhost', host => 'open.test');
    is($r->{status}, 421, 'SNI localhost (verify on), Host open.test: 421');
    $r = tls_get($on, '/', sni => 'open.test', host => 'localhost');
    is($r->{status}, 421, 'SNI open.test (verify off), Host localhost (verify on): 421');
    $r = tls_get($on, '/', sni => 'open.test', host => 'open.test');
    is($r->{status}, 200, 'SNI and Host agree on the open server: 200 without certificate');
    is($r->{body}, 'open', 'served by open.test');
}

$pc->stop;
$be->stop;

# --- sessions never cross server blocks (SNI chosen before the session lookup) ------------
# One address, a block without client verification (public.test) and one with
# `ssl_verify_client on` (mtls.test).  A session of the public block offered
# with SNI mtls.test must not resume there (it would skip the certificate
# check): a full handshake, refused without a certificate.  Every combination
# of TLS 1.2 / 1.3, ssl_session_tickets on / off and which block is the
# address's default.
{
    my $blk = sub {
        my ($name, $extra) = @_;
        return <<"BLK";
    server {
        listen 127.0.0.1:%%PORTNN%% ssl;
        server_name $name;
        $extra
        location / { return 200 "$name \$ssl_session_reused \$ssl_client_verify"; }
    }
BLK
    };
    my $mtls = "ssl_client_certificate $P/ca1.crt; ssl_verify_client on;";
    my @combos = ([on => 'public'], [off => 'public'], [on => 'mtls'], [off => 'mtls']);
    my $servers = '';
    for my $i (0 .. $#combos) {
        my ($tickets, $first) = @{ $combos[$i] };
        my @b = ($blk->('public.test', "ssl_session_tickets $tickets;"),
                 $blk->('mtls.test', "ssl_session_tickets $tickets; $mtls"));
        @b = reverse @b if $first eq 'mtls';
        (my $two = join '', @b) =~ s/NN/${\($i + 1)}/g;
        $servers .= $two;
    }
    $servers =~ s/%%PORT1%%/%%PORT%%/g;
    my $x = Test::Portcullis->new(conf => <<"CONF");
error_log logs/error.log info;
worker_processes 1;
events { }
http {
    access_log off;
    $pair
$servers
}
CONF
    ok($x->alive, 'cross-block instance started') or diag($x->stderr);
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    for my $i (0 .. $#combos) {
        my ($tickets, $first) = @{ $combos[$i] };
        my $port = $x->port($i + 1);
        for my $v ('1.2', '1.3') {
            my $t = "TLS $v, tickets $tickets, $first.test default";
            my @ver = (args => [$v eq '1.2' ? '-tls1_2' : '-tls1_3']);
            my ($ps, $ms) = ("$dir/p-$i-$v.pem", "$dir/m-$i-$v.pem");
            my $r = s_client($port, sni => 'public.test', sess_out => $ps, @ver);
            ok($r->{new} && $r->{status} == 200, "$t: public session made");
            $r = s_client($port, sni => 'public.test', sess_in => $ps, @ver);
            ok($r->{reused}, "$t: it resumes in its own block");
            is($r->{http}{body}, 'public.test r NONE', "$t: \$ssl_session_reused r");

            my $mark = $x->log_mark;
            $r = s_client($port, sni => 'mtls.test', sess_in => $ps, @ver);
            ok(!$r->{reused}, "$t: the public session does not resume into mtls.test");
            isnt($r->{status}, 200, "$t: the client without a certificate is refused");
            ok($x->wait_for_log(qr/client certificate refused \(no_certificate\).*mtls\.test/, 5,
                                from => $mark), "$t: refused as no_certificate");

            $r = s_client($port, sni => 'mtls.test', cert => 'client1', sess_out => $ms, @ver);
            ok($r->{new} && $r->{status} == 200, "$t: mtls session made with client1");
            $r = s_client($port, sni => 'mtls.test', cert => 'client1', sess_in => $ms, @ver);
            ok($r->{reused}, "$t: it resumes in its own block");
            is($r->{http}{body}, 'mtls.test r SUCCESS', "$t: resumed, SUCCESS");
            $r = s_client($port, sni => 'public.test', sess_in => $ms, @ver);
            ok(!$r->{reused} && $r->{status} == 200,
                "$t: the mtls session does not resume into public.test either");
        }
    }
    # A HelloRetryRequest (the client's first key share is one the server
    # does not take): the second ClientHello keeps the block of the first.
    my @hrr = (args => ['-tls1_3', '-groups', 'P-521:X25519']);
    my $r = s_client($x->port(1), sni => 'mtls.test', cert => 'client1', @hrr);
    is($r->{http}{body}, 'mtls.test . SUCCESS', 'after a HelloRetryRequest: mtls.test, verified');
    $r = s_client($x->port(1), sni => 'mtls.test', @hrr);
    isnt($r->{status}, 200, 'after a HelloRetryRequest: refused without a certificate');
    $x->stop;
}

# --- mTLS in a block named only by a regex (SNI selects regex names too) ----------------
# The handshake runs in the `~^api\d+\.test$` block: it asks for and checks
# the client certificate (no 421 afterwards), and a session of the default
# block never resumes into it.
{
    my $x = Test::Portcullis->new(conf => <<"CONF");
error_log logs/error.log info;
worker_processes 1;
events { }
http {
    access_log off;
    $pair
    server {
        listen 127.0.0.1:%%PORT%% ssl;
        server_name localhost;
        location / { return 200 "default \$ssl_session_reused"; }
    }
    server {
        listen 127.0.0.1:%%PORT%% ssl;
        server_name ~^api\\d+\\.test\$;
        ssl_certificate     $P/server-b.crt;
        ssl_certificate_key $P/server-b.key;
        ssl_client_certificate $P/ca1.crt;
        ssl_verify_client on;
        location / { return 200 "api \$ssl_client_verify \$ssl_session_reused"; }
    }
}
CONF
    ok($x->alive, 'regex mTLS instance started') or diag($x->stderr);
    my $port = $x->port;
    my $r = tls_get($port, '/', sni => 'api1.test', cert => 'client1');
    is($r->{status}, 200, 'regex block, valid client certificate: 200 (not 421)');
    is($r->{body}, 'api SUCCESS .', '$ssl_client_verify SUCCESS in the regex block');
    my $s = s_client($port, sni => 'api7.test', cert => 'client1');
    like($s->{subject} // '', qr/CN\s*=\s*b\.test/, 'SNI api7.test: the regex block\'s certificate');

    my $mark = $x->log_mark;
    $r = tls_get($port, '/', sni => 'api1.test');
    is($r->{status}, 0, 'regex block without a client certificate: the handshake fails (no response)');
    ok($x->wait_for_log(qr/client certificate refused \(no_certificate\)/, 5, from => $mark),
        'refused as no_certificate');
    # (-k: server-b's certificate does not name api1.test)
    isnt(curl_tls($port, '/', sni => 'api1.test', args => ['-k'])->{exit}, 0,
        'curl without a certificate: handshake fails');

    my $dir = File::Temp::tempdir(CLEANUP => 1);
    for my $v ('1.2', '1.3') {
        my @ver = (args => [$v eq '1.2' ? '-tls1_2' : '-tls1_3']);
        my ($ds, $as) = ("$dir/d$v.pem", "$dir/a$v.pem");
        $r = s_client($port, sni => 'localhost', sess_out => $ds, @ver);
        is($r->{http}{body}, 'default .', "TLS $v: a session of the default block");
        $r = s_client($port, sni => 'api1.test', host => 'api1.test', sess_in => $ds, @ver);
        ok(!$r->{reused}, "TLS $v: it does not resume into the regex block");
        isnt($r->{status}, 200, "TLS $v: ... where no certificate means no service");
        $r = s_client($port, sni => 'api1.test', cert => 'client1', sess_out => $as, @ver);
        is($r->{http}{body}, 'api SUCCESS .', "TLS $v: a session of the regex block");
        $r = s_client($port, sni => 'api2.test', host => 'api2.test', cert => 'client1',
            sess_in => $as, @ver);
        is($r->{http}{body}, 'api SUCCESS r', "TLS $v: it resumes in the regex block");
    }
    $r = tls_get($port, '/', sni => 'nope.test', host => 'localhost');
    is("$r->{status} " . ($r->{body} // ''), '200 default .',
        'SNI matching no name: the default block, no certificate asked');
    $x->stop;
}

conf_test_ok(<<"CONF", 'ssl_verify_depth 3, ssl_crl, ssl_client_cert_header off');
events { }
http {
    server {
        listen 127.0.0.1:%%PORT%% ssl;
        $pair
        ssl_client_certificate $P/ca1.crt;
        ssl_verify_client optional;
        ssl_verify_depth 3;
        ssl_crl $P/crl1.pem;
        ssl_client_cert_header off;
    }
}
CONF
for my $bad (['ssl_verify_client sometimes;', qr/invalid/],
             ['ssl_verify_depth deep;', qr/invalid|integer/],
             ['ssl_verify_depth 1000;', qr/invalid|1000/],
             ['ssl_client_cert_header maybe;', qr/"on" or "off"/],
             ["ssl_crl $P/ca1.crt;", qr/no CRL in ".*ca1\.crt"/],
             ["ssl_crl $P/nope.pem;", qr/cannot read CRL ".*nope\.pem"/],
             ["ssl_client_certificate $P/ca1.crt $P/nope.crt;", qr/cannot read CA bundle ".*nope\.crt"/]) {
    my ($d, $re) = @$bad;
    my $verify = $d =~ /ssl_verify_client/ ? '' : 'ssl_verify_client on;';
    conf_test_fails(<<"CONF", 'MARK', $re, $d, line => 7);
events { }
http {
    server {
        listen 127.0.0.1:%%PORT%% ssl;
        $pair ssl_client_certificate $P/ca2.crt;
        $verify
        $d # MARK
    }
}
CONF
}


# CA bundles and CRLs are read and checked at load even when no
# ssl_verify_client uses them (SPEC §1: -t validates every file): in an ssl
# server, in a server without ssl listener, at http level.  Same messages
# and FILE:LINE as under verification.
for my $bad (["ssl_client_certificate $P/nope.crt;", qr/cannot read CA bundle ".*nope\.crt": No such file/,
              'missing CA bundle'],
             ["ssl_client_certificate $P/ca1.crt $P/client1.key;", qr/no certificate in CA bundle ".*client1\.key"/,
              'a private key as CA bundle'],
             ["ssl_client_certificate $P/garbage.pem;", qr/cannot parse CA bundle ".*garbage\.pem"/,
              'unparsable CA bundle'],
             ["ssl_crl $P/nope.pem;", qr/cannot read CRL ".*nope\.pem": No such file/, 'missing CRL'],
             ["ssl_crl $P/ca1.crt;", qr/no CRL in ".*ca1\.crt"/, 'a certificate as CRL']) {
    my ($d, $re, $what) = @$bad;
    conf_test_fails(<<"CONF", 'MARK', $re, "$what, without ssl_verify_client", line => 6);
events { }
http {
    server {
        listen 127.0.0.1:%%PORT%% ssl;
        $pair ssl_client_certificate $P/ca2.crt;
        $d # MARK
    }
}
CONF
    conf_test_fails(<<"CONF", 'MARK', $re, "$what, in a server without ssl listener", line => 5);
events { }
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        $d # MARK
    }
}
CONF
    conf_test_fails(<<"CONF", 'MARK', $re, "$what, at http level", line => 3);
events { }
http {
    $d # MARK
    server { listen 127.0.0.1:%%PORT%% ssl; $pair }
    server { listen 127.0.0.1:%%PORT2%%; }
}
CONF
}
conf_test_ok(<<"CONF", 'valid CA bundle and CRL without ssl_verify_client');
events { }
http {
    ssl_client_certificate $P/ca1.crt $P/ca2.crt;
    ssl_crl $P/crl1.pem;
    server { listen 127.0.0.1:%%PORT%% ssl; $pair }
    server { listen 127.0.0.1:%%PORT2%%; }
}
CONF
# ... and at run time they are still not used: no certificate request.
{
    my $x = Test::Portcullis->new(conf => <<"CONF");
events { }
http {
    access_log off;
    ssl_client_certificate $P/ca1.crt;
    ssl_crl $P/crl1.pem;
    server {
        listen 127.0.0.1:%%PORT%% ssl;
        $pair
        location / { return 200 "\$ssl_client_verify"; }
    }
}
CONF
    ok($x->alive, 'started with a CA bundle and a CRL but no ssl_verify_client') or diag($x->stderr);
    my $r = s_client($x->port, sni => 'localhost', cert => 'client1');
    is($r->{http}{body}, 'NONE', 'no client certificate asked for: $ssl_client_verify NONE');
    unlike($r->{out}, qr/Acceptable client certificate CA names/, 'no CA list sent');
    $x->stop;
}

done_testing();
