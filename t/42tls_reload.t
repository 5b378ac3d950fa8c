#!/usr/bin/perl
# TLS and reloads (issue 4 items 2, 3, 4, 5): CA rotation (a client of either
# CA while both are listed; remove one + SIGHUP -> its clients refused on new
# connections, established ones undisturbed), certificates and CRLs re-read on
# SIGHUP, session resumption whichever worker takes the connection and across
# reloads (one session cache in shared memory), expiry warnings at every
# reload, a reload with a broken certificate keeps the old configuration.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Test::Portcullis::TLS;
use File::Copy qw(copy);
use File::Temp qw(tempdir);

require_tls();
my $P = pki();
my $tmp = tempdir(CLEANUP => 1);

sub conf {
    my (%o) = @_;
    my $cas = join ' ', map { "$P/$_.crt" } @{ $o{cas} // ['ca1', 'ca2'] };
    my $crl = $o{crl} ? "ssl_crl $P/crl1.pem;" : '';
    my $cert = $o{cert} // "$tmp/server";
    my $timeout = $o{timeout} // '10m';
    my $extra = $o{extra} // '';
    return <<"CONF";
error_log logs/error.log info;
worker_processes 2;
events { }
http {
    access_log off;
    server {
        listen 127.0.0.1:%%PORT%% ssl;
        server_name localhost;
        ssl_certificate $cert.crt;
        ssl_certificate_key $cert.key;
        ssl_client_certificate $cas;
        $crl
        ssl_verify_client on;
        ssl_session_timeout $timeout;
        location / { return 200 "\$pid \$ssl_session_reused \$ssl_client_s_dn"; }
    }
$extra
}
CONF
}

# The server certificate is a copy, so that the test can change it.
copy("$P/server-ec.crt", "$tmp/server.crt") or die;
copy("$P/server-ec.key", "$tmp/server.key") or die;

my $pc = Test::Portcullis->new(conf => conf(), workers => 2);
ok($pc->alive, 'started with two workers') or BAIL_OUT($pc->stderr);
my $port = $pc->port;
$pc->wait_workers(2);

# --- resumption whichever worker takes the connection --------------------------------------
my $sess = "$tmp/sess.pem";
{
    my $first = s_client($port, sni => 'localhost', cert => 'client1', sess_out => $sess);
    is($first->{status}, 200, 'full handshake with client1');
    ok($first->{new}, 'a new session');
    my (%pids, $reused);
    for (1 .. 12) {
        my $r = s_client($port, sni => 'localhost', cert => 'client1', sess_in => $sess);
        $reused++ if $r->{reused} && $r->{status} == 200;
        my ($pid) = ($r->{http}{body} // '') =~ /^(\d+) r /;
        $pids{$pid}++ if $pid;
    }
    is($reused, 12, 'every later connection resumed the session (ticket)');
    is(scalar(keys %pids), 2, 'resumed on both workers (' . join(',', sort keys %pids) . ')');
}

# --- the shared sessions survive a reload ------------------------------------------------------
ok($pc->reload, 'reload with the same configuration');
{
    my $r = s_client($port, sni => 'localhost', cert => 'client1', sess_in => $sess);
    ok($r->{reused} && $r->{status} == 200, 'a session made before the reload resumes after it');
}

# --- CA rotation ------------------------------------------------------------------------------
my $keep = tls_connect($port, cert => 'client2');
ok($keep, 'client2 (CA 2) connects while both CAs are listed');
print {$keep} "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
my $first_resp = '';
while ($first_resp !~ /\r\n\r\n.*CN=client2/s) {
    my $n = sysread($keep, my $b, 4096) or last;
    $first_resp .= $b;
}
like($first_resp, qr/^HTTP\/1\.1 200/, 'client2 served on a keep-alive connection');
my $sess2 = "$tmp/sess2.pem";
ok(s_client($port, sni => 'localhost', cert => 'client2', sess_out => $sess2)->{new},
    'client2 gets a session');

$pc->write_conf(conf(cas => ['ca1']));
ok($pc->reload, 'reload with CA 2 removed');
is(tls_get($port, '/', cert => 'client1')->{status}, 200, 'client1 still accepted');
my $mark = $pc->log_mark;
isnt(tls_get($port, '/', cert => 'client2')->{status}, 200, 'client2 refused on a new connection');
ok($pc->wait_for_log(qr/client certificate refused \(unknown_ca\)/, 5, from => $mark),
    'logged as unknown_ca');
my $r2 = s_client($port, sni => 'localhost', cert => 'client2', sess_in => $sess2);
ok(!($r2->{reused} && $r2->{status} == 200),
    'client2 cannot come back through its old session ticket either');
{
    print {$keep} "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    my $resp = '';
    while (1) { my $n = sysread($keep, my $b, 4096); last unless $n; $resp .= $b }
    like($resp, qr/^HTTP\/1\.1 200.*CN=client2/s,
        'the connection client2 opened before the reload still works');
    close($keep);
}
my $r1 = s_client($port, sni => 'localhost', cert => 'client1', sess_in => $sess);
ok($r1->{new} && $r1->{status} == 200,
    'sessions made under another CA set are not resumed: a full handshake, served');

# --- CRL re-read -------------------------------------------------------------------------------
is(tls_get($port, '/', cert => 'client-revoked')->{status}, 200,
    'without ssl_crl the revoked certificate is accepted');
$pc->write_conf(conf(cas => ['ca1'], crl => 1));
ok($pc->reload, 'reload with ssl_crl');
isnt(tls_get($port, '/', cert => 'client-revoked')->{status}, 200, 'now refused (revoked)');
is(tls_get($port, '/', cert => 'client1')->{status}, 200, 'client1 still accepted');

# --- certificate re-read, expiry warning on reload --------------------------------------------
like(s_client($port, sni => 'localhost')->{out}, qr/^subject=CN\s*=\s*localhost/m, 'serving server-ec');
my $serial_before = `openssl x509 -in $tmp/server.crt -noout -serial`;
copy("$P/server-soon.crt", "$tmp/server.crt") or die;
copy("$P/server-soon.key", "$tmp/server.key") or die;
$mark = $pc->log_mark;
ok($pc->reload, 'reload after replacing the certificate files');
ok($pc->wait_for_log(qr/\[warn\] .*tls: server certificate .*server\.crt.* expires on/, 5, from => $mark),
    'the certificate expiring within the window is warned about at reload');
my $o = s_client($port, sni => 'localhost', args => ['-showcerts']);
my ($pem) = $o->{out} =~ /(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----)/s;
open(my $fh, '>', "$tmp/got.pem") or die;
print $fh "$pem\n";
close($fh);
my $serial_after = `openssl x509 -in $tmp/got.pem -noout -serial`;
is($serial_after, `openssl x509 -in $P/server-soon.crt -noout -serial`,
    'new connections get the new certificate');
isnt($serial_after, $serial_before, '(a different one)');

# --- a reload with an expired certificate fails; the old config keeps serving ------------------
$pc->write_conf(conf(cas => ['ca1'], cert => "$P/server-expired"));
ok(!defined $pc->reload, 'reload with an expired certificate is refused');
like($pc->{reload_error} // '', qr/server-expired\.crt" has expired/, 'the error names the file');
is(tls_get($port, '/', cert => 'client1')->{status}, 200, 'the old configuration still serves');

# --- ... and so does one with a bad file that nothing uses (yet) -------------------------------
# Every ssl_certificate pair, CA bundle and CRL is read at load, not only
# those an ssl listener or ssl_verify_client uses (SPEC §1).
for my $bad (["server { listen 127.0.0.1:%%PORT2%%; ssl_certificate $P/nope.crt; ssl_certificate_key $P/nope.key; }",
              qr/cannot read certificate ".*nope\.crt"/, 'a missing certificate on a plain server'],
             ["server { listen 127.0.0.1:%%PORT2%%; ssl_client_certificate $P/client1.key; }",
              qr/no certificate in CA bundle ".*client1\.key"/, 'a private key as CA bundle, no verification'],
             ["server { listen 127.0.0.1:%%PORT2%%; ssl_crl $P/nope.crl; }",
              qr/cannot read CRL ".*nope\.crl"/, 'a missing CRL, no verification']) {
    my ($extra, $re, $what) = @$bad;
    $pc->write_conf(conf(cas => ['ca1'], extra => $extra));
    ok(!defined $pc->reload, "reload refused: $what");
    like($pc->{reload_error} // '', $re, "$what: the error names the file");
    is(tls_get($port, '/', cert => 'client1')->{status}, 200, "$what: the old configuration still serves");
}
$pc->write_conf(conf(cas => ['ca1'], extra => "server { listen 127.0.0.1:%%PORT2%%; "
    . "ssl_certificate $P/server-rsa.crt; ssl_certificate_key $P/server-rsa.key; "
    . "ssl_client_certificate $P/ca2.crt; ssl_crl $P/crl1.pem; location / { return 200 \"plain \$scheme\"; } }"));
ok($pc->reload, 'reload with valid files on a plain server');
{
    my $r = http_get($pc->port(2), '/');
    is("$r->{status} $r->{body}", '200 plain http', 'that server serves plain HTTP');
}

# --- ssl_session_timeout: a ticket outlives neither its timeout ---------------------------------
$pc->write_conf(conf(cas => ['ca1'], timeout => '1s'));
ok($pc->reload, 'reload with ssl_session_timeout 1s');
my $short = "$tmp/short.pem";
ok(s_client($port, sni => 'localhost', cert => 'client1', sess_out => $short)->{new}, 'new session');
ok(s_client($port, sni => 'localhost', cert => 'client1', sess_in => $short)->{reused},
    'resumed at once');
select(undef, undef, undef, 2.2);
my $late = s_client($port, sni => 'localhost', cert => 'client1', sess_in => $short);
ok($late->{new} && !$late->{reused}, 'after the timeout: a full handshake');
is($late->{status}, 200, 'and served');

$pc->stop;

# --- a non-default block's trust changes on reload: its old sessions die -------------------
# The session id context of every block hashes its CA bundles, CRL, verify mode
# and depth, and the block is chosen from the ClientHello before the session
# lookup, so a session minted before the reload cannot resume into mtls.test
# (not the address's default) once its CA is gone or its certificate revoked.
sub conf2 {
    my (%o) = @_;
    my $cas = join ' ', map { "$P/$_.crt" } @{ $o{cas} };
    my $crl = $o{crl} ? "ssl_crl $P/crl1.pem;" : '';
    my $servers = '';
    for my $n (1, 2) {
        my $port = $n == 1 ? '%%PORT%%' : '%%PORT2%%';
        my $tickets = $n == 1 ? 'on' : 'off';
        $servers .= <<"BLK";
    server {
        listen 127.0.0.1:$port ssl;
        server_name public.test;
        ssl_session_tickets $tickets;
        location / { return 200 "public \$ssl_session_reused"; }
    }
    server {
        listen 127.0.0.1:$port ssl;
        server_name mtls.test;
        ssl_session_tickets $tickets;
        ssl_client_certificate $cas;
        $crl
        ssl_verify_client on;
        location / { return 200 "mtls \$ssl_session_reused \$ssl_client_verify \$ssl_client_s_dn"; }
    }
BLK
    }
    return <<"CONF";
error_log logs/error.log info;
worker_processes 1;
events { }
http {
    access_log off;
    ssl_certificate $P/server-ec.crt;
    ssl_certificate_key $P/server-ec.key;
$servers
}
CONF
}
{
    my $x = Test::Portcullis->new(conf => conf2(cas => ['ca1', 'ca2']));
    ok($x->alive, 'two-block instance started') or diag($x->stderr);
    my @cases;
    for my $n (1, 2) {
        for my $v ('1.2', '1.3') {
            push @cases, [$x->port($n), $v, $n == 1 ? 'on' : 'off'];
        }
    }
    my %sess;
    for my $c (@cases) {
        my ($port, $v, $tickets) = @$c;
        my @ver = (args => [$v eq '1.2' ? '-tls1_2' : '-tls1_3']);
        for my $cert ('client2', 'client-revoked') {
            my $t = "TLS $v, tickets $tickets, $cert";
            my $f = "$tmp/x-$port-$v-$cert.pem";
            my $r = s_client($port, sni => 'mtls.test', cert => $cert, sess_out => $f, @ver);
            ok($r->{new} && $r->{status} == 200, "$t: accepted by mtls.test, session made");
            $r = s_client($port, sni => 'mtls.test', cert => $cert, sess_in => $f, @ver);
            ok($r->{reused}, "$t: the session resumes before the reload");
            like($r->{http}{body} // '', qr/^mtls r SUCCESS /, "$t: resumed, SUCCESS");
            $sess{"$port $v $cert"} = $f;
        }
    }
    my $check = sub {
        my ($cert, $why, $what) = @_;
        for my $c (@cases) {
            my ($port, $v, $tickets) = @$c;
            my $t = "$what, TLS $v, tickets $tickets";
            my $mark = $x->log_mark;
            my $r = s_client($port, sni => 'mtls.test', cert => $cert,
                             sess_in => $sess{"$port $v $cert"},
                             args => [$v eq '1.2' ? '-tls1_2' : '-tls1_3']);
            ok(!$r->{reused}, "$t: the old session of $cert does not resume");
            isnt($r->{status}, 200, "$t: $cert is refused");
            ok($x->wait_for_log(qr/client certificate refused \($why\).*mtls\.test/, 5,
                                from => $mark), "$t: logged as $why");
        }
    };
    $x->write_conf(conf2(cas => ['ca1']));
    ok($x->reload, 'reload: CA 2 removed from mtls.test');
    $check->('client2', 'unknown_ca', 'CA removed');
    $x->write_conf(conf2(cas => ['ca1'], crl => 1));
    ok($x->reload, 'reload: ssl_crl added to mtls.test');
    $check->('client-revoked', 'revoked', 'CRL added');
    $x->stop;
}

done_testing();
