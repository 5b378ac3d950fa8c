#!/usr/bin/perl
# TLS metrics (SPEC §7, issue 8): tls_handshakes_total{result},
# tls_client_verify_failures_total{reason} counted over two workers, and
# tls_certificate_expiry_timestamp_seconds{server_name,subject,kind} for the
# server certificate and the client CA bundle.  Also: the chain a server
# sends for a certificate file without one is still completed from the
# client CA store (built once at load instead of at every handshake).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Test::Portcullis::TLS;
use Test::Portcullis::Prom;
use File::Temp qw(tempdir);
use Time::Piece;

require_tls();
my $P = pki();

my $pc = Test::Portcullis->new(workers => 2, wait_ports => [1, 2, 3], conf => <<"CONF");
error_log logs/error.log info;
worker_processes 2;
events { }
http {
    access_log off;
    ssl_certificate $P/server-ec.crt;
    ssl_certificate_key $P/server-ec.key;
    server {
        listen 127.0.0.1:%%PORT%% ssl;
        server_name localhost;
        ssl_client_certificate $P/ca1.crt;
        ssl_verify_client on;
        location / { return 200 "ok"; }
    }
    server {
        listen 127.0.0.1:%%PORT2%%;
        location = /metrics { metrics ; }
    }
    server {
        listen 127.0.0.1:%%PORT3%% ssl;
        server_name localhost;
        ssl_client_certificate $P/server-ca.crt;
        ssl_verify_client optional;
        location / { return 200 "ok"; }
    }
}
CONF
ok($pc->alive, 'started') or BAIL_OUT($pc->stderr);
my ($tls, $st, $chained) = map { $pc->port($_) } 1 .. 3;

my @RESULTS = qw(full resumed failed verify_failed);
my @REASONS = qw(no_certificate unknown_ca expired revoked depth crl other);

sub scrape {
    my $r = http_get($st, '/metrics');
    return Test::Portcullis::Prom::parse($r->{body} // '');
}
sub counts {
    my ($p) = @_;
    my %c;
    $c{$_} = Test::Portcullis::Prom::value($p, 'portcullis_tls_handshakes_total', { result => $_ })
        for @RESULTS;
    $c{"reason:$_"} = Test::Portcullis::Prom::value($p, 'portcullis_tls_client_verify_failures_total',
        { reason => $_ }) for @REASONS;
    return \%c;
}

# --- every series is there from the start --------------------------------------------------
my $p0 = scrape();
is_deeply($p0->{errors}, [], 'a strictly valid exposition');
my $before = counts($p0);
for my $k (sort keys %$before) {
    ok(defined $before->{$k}, "series $k exported before any handshake");
}

# --- a few handshakes of every kind, over both workers ----------------------------------------
is(tls_get($tls, '/', cert => 'client1')->{status}, 200, "full handshake $_") for 1 .. 3;
my $sess = tempdir(CLEANUP => 1) . '/sess.pem';
ok(s_client($tls, sni => 'localhost', cert => 'client1', sess_out => $sess)->{new},
    's_client: a new session');
ok(s_client($tls, sni => 'localhost', cert => 'client1', sess_in => $sess)->{reused},
    's_client: the session resumed');
isnt(tls_get($tls, '/')->{status}, 200, 'no client certificate: refused');
isnt(tls_get($tls, '/', cert => 'client-self')->{status}, 200, 'unknown CA: refused');
is(http_get($tls, '/')->{status}, 400, 'plain HTTP on the TLS port: 400');

my %want = (full => 4, resumed => 1, failed => 1, verify_failed => 2,
    'reason:no_certificate' => 1, 'reason:unknown_ca' => 1);
$want{"reason:$_"} //= 0 for @REASONS;
my $delta;
wait_until(sub {
    my $now = counts(scrape());
    $delta = { map { $_ => ($now->{$_} // -1000) - ($before->{$_} // 0) } keys %$now };
    return !grep { $delta->{$_} != $want{$_} } keys %want;
}, 10);
for my $k (@RESULTS, map { "reason:$_" } @REASONS) {
    is($delta->{$k}, $want{$k}, "tls counters: $k grew by $want{$k}");
}

# --- certificate expiry -------------------------------------------------------------------------
sub not_after {
    my ($file) = @_;
    my $d = `openssl x509 -in $file -noout -enddate`;
    $d =~ s/^notAfter=//;
    $d =~ s/\s+GMT\s*$//;
    $d =~ s/\s+/ /g;
    return Time::Piece->strptime($d, '%b %d %H:%M:%S %Y')->epoch;
}
my $p = scrape();
is(Test::Portcullis::Prom::value($p, 'portcullis_tls_certificate_expiry_timestamp_seconds',
        { server_name => 'localhost', subject => 'CN=localhost', kind => 'server' }),
    not_after("$P/server-ec.crt"), 'expiry of the server certificate (kind server)');
is(Test::Portcullis::Prom::value($p, 'portcullis_tls_certificate_expiry_timestamp_seconds',
        { server_name => 'localhost', subject => 'CN=Client CA 1,O=Portcullis tests',
          kind => 'client_ca' }),
    not_after("$P/ca1.crt"), 'expiry of the client CA (kind client_ca)');

# --- the server chain: completed from the client CA store when the file has none -------------
sub chain_len {
    my ($port) = @_;
    my $o = s_client($port, sni => 'localhost', args => ['-showcerts'])->{out};
    return scalar(() = $o =~ /^ \d+ s:/mg);
}
is(chain_len($chained), 2, 'leaf + its CA found in ssl_client_certificate');
is(chain_len($tls), 1, 'leaf only when the client CA store does not hold its issuer');

# --- server_name label: the first name as written, as requests_total spells it --------------
# `*.example.com` and `example.com` are two series (they were one, the
# wildcard's marks dropped); `example.*` and a regex keep their marks too.
{
    my $ec = "ssl_certificate $P/server-ec.crt; ssl_certificate_key $P/server-ec.key;";
    my $soon = "ssl_certificate $P/server-soon.crt; ssl_certificate_key $P/server-soon.key;";
    my $t = Test::Portcullis->new(wait_ports => [1, 2], conf => <<"CONF");
error_log logs/error.log info;
worker_processes 1;
events { }
http {
    access_log off;
    server { listen 127.0.0.1:%%PORT%% ssl; server_name example.com; $ec location / { return 200; } }
    server { listen 127.0.0.1:%%PORT%% ssl; server_name *.example.com; $soon location / { return 200; } }
    server { listen 127.0.0.1:%%PORT%% ssl; server_name *.w.test x.w.test; $ec location / { return 200; } }
    server { listen 127.0.0.1:%%PORT%% ssl; server_name example.*; $ec location / { return 200; } }
    server { listen 127.0.0.1:%%PORT%% ssl; server_name ~^api\\d+\\.test\$; $ec location / { return 200; } }
    server { listen 127.0.0.1:%%PORT2%%; location = /metrics { metrics ; } }
}
CONF
    ok($t->alive, 'started with wildcard and regex server names') or diag($t->stderr);
    my $body = http_get($t->port(2), '/metrics')->{body} // '';
    my $p = Test::Portcullis::Prom::parse($body);
    is_deeply($p->{errors}, [], 'a strictly valid exposition');
    my $expiry = sub {
        my ($name) = @_;
        return Test::Portcullis::Prom::value($p, 'portcullis_tls_certificate_expiry_timestamp_seconds',
            { server_name => $name, subject => 'CN=localhost', kind => 'server' });
    };
    is($expiry->('example.com'), not_after("$P/server-ec.crt"),
        'example.com: its own series, its own certificate');
    is($expiry->('*.example.com'), not_after("$P/server-soon.crt"),
        '*.example.com: a series of its own, not merged into example.com');
    ok(defined $expiry->('*.w.test'), 'server_name="*.w.test"');
    ok(defined $expiry->('example.*'), 'server_name="example.*"');
    ok(defined $expiry->('~^api\d+\.test$'), 'server_name="~^api\\d+\\.test$"');
    my %tls = map { $_->{labels}{server_name} => 1 }
        grep { $_->{name} eq 'portcullis_tls_certificate_expiry_timestamp_seconds' } @{ $p->{samples} };
    my %req = map { $_->{labels}{server} => 1 }
        grep { $_->{name} eq 'portcullis_requests_total' && defined $_->{labels}{server} }
        @{ $p->{samples} };
    delete $req{_};    # the metrics server: no certificate
    is_deeply(\%tls, \%req, 'the same server labels as portcullis_requests_total');
    like($t->stderr, qr/\[warn\] tls: server certificate .*server-soon\.crt" for server "\*\.example\.com" expires/,
        'the expiry warning names the server as written');
    $t->stop;
}

$pc->stop;
done_testing();
