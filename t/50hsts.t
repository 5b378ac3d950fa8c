#!/usr/bin/perl
# hsts module (SPEC §4 hsts row, issue 4 item 6): Strict-Transport-Security
# only over TLS, on every status (errors too), includeSubDomains / preload /
# override, an upstream's own header kept unless override, `hsts off`;
# https_redirect on [port=N] answers plain HTTP with 308 to the https URL;
# directive values valid and invalid; a change applied by SIGHUP.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Test::Portcullis::Backend;
use Test::Portcullis::TLS;

require_tls('hsts max-age=1');
my $P = pki();

my $be = Test::Portcullis::Backend->new(handler => sub {
    my ($req) = @_;
    return (200, ['Strict-Transport-Security' => 'max-age=5'], 'upstream') if $req->{uri} =~ /own/;
    return (200, [], 'upstream');
});
my $bport = $be->port;
my $dead = free_port();

sub conf {
    my ($age) = @_;
    return <<"CONF";
error_log logs/error.log info;
worker_processes 1;
events { }
http {
    access_log off;
    ssl_certificate $P/server-ec.crt;
    ssl_certificate_key $P/server-ec.key;
    hsts max-age=$age includeSubDomains;
    server {
        listen 127.0.0.1:%%PORT%% ssl;
        listen 127.0.0.1:%%PORT2%%;
        server_name localhost;
        location = /ok { return 200 "ok"; }
        location /up/ { proxy_pass http://127.0.0.1:$bport; }
        location /override/ { hsts max-age=600 preload override; proxy_pass http://127.0.0.1:$bport; }
        location /dead { proxy_pass http://127.0.0.1:$dead; }
        location /off { hsts off; return 200 "off"; }
    }
    server {
        listen 127.0.0.1:%%PORT3%%;
        server_name localhost;
        https_redirect on;
        location / { return 200 "never"; }
    }
    server {
        listen 127.0.0.1:%%PORT4%%;
        server_name localhost;
        https_redirect on port=8443;
        location / { return 200 "never"; }
        location /plain { https_redirect off; return 200 "plain"; }
    }
}
CONF
}

my $pc = Test::Portcullis->new(conf => conf(31536000));
ok($pc->alive, 'started') or BAIL_OUT($pc->stderr);
my ($tls, $plain, $redir, $redir_port) = map { $pc->port($_) } 1 .. 4;
my $sts = 'max-age=31536000; includeSubDomains';

sub sts { my ($r) = @_; return $r->{headers}{'strict-transport-security'} }

is(sts(tls_get($tls, '/ok')), $sts, 'TLS 200: Strict-Transport-Security');
is(sts(tls_get($tls, '/nothing-here')), $sts, 'TLS 404: also on errors');
my $d = tls_get($tls, '/dead');
is($d->{status}, 502, 'upstream down: 502');
is(sts($d), $sts, 'TLS 502: also on proxy-generated errors');
is(sts(tls_get($tls, '/up/x')), $sts, 'proxied response: added');
is(sts(tls_get($tls, '/up/own')), 'max-age=5', "the upstream's own header is kept");
is(sts(tls_get($tls, '/override/own')), 'max-age=600; preload', 'override replaces it (preload shown)');
is(tls_get($tls, '/override/own')->{count}{'strict-transport-security'}, 1, 'only once');
is(sts(tls_get($tls, '/off')), undef, 'hsts off in a location: none');

my $p = http_get($plain, '/ok');
is($p->{status}, 200, 'same server over plain HTTP: 200');
is(sts($p), undef, 'no Strict-Transport-Security over plain HTTP (RFC 6797 7.2)');
is(sts(http_get($plain, '/nothing')), undef, 'nor on plain-HTTP errors');
is(http_get($plain, '/up/own')->{status}, 200, 'proxied over plain HTTP');
is(sts(http_get($plain, '/up/own')), undef, "an upstream's own header is removed over plain HTTP too");
is(sts(http_get($plain, '/override/own')), undef, '... with override as well');

# --- https_redirect ------------------------------------------------------------------------------
my $r = http_get($redir, '/a/b?x=1&y=2', _host => 'example.test');
is($r->{status}, 308, 'https_redirect: 308');
is($r->{headers}{location}, 'https://example.test/a/b?x=1&y=2', 'to the same URL on https');
$r = http_request($redir, method => 'POST', path => '/form', body => 'a=1', host => 'example.test:8080');
is($r->{status}, 308, 'a POST gets 308 too (method and body kept by the client)');
is($r->{headers}{location}, 'https://example.test/form', 'the Host port is dropped');
$r = http_request($redir, method => 'GET', path => 'http://abs.test/p?q', host => 'other.test');
is($r->{headers}{location}, 'https://abs.test/p?q', 'absolute-form target: its authority and path');
$r = http_get($redir_port, '/z', _host => 'example.test');
is($r->{headers}{location}, 'https://example.test:8443/z', 'port=8443 is put in the URL');
is(http_get($redir_port, '/plain')->{status}, 200, 'https_redirect off in a location');

# --- SIGHUP: a new max-age ------------------------------------------------------------------------
$pc->write_conf(conf(600));
ok($pc->reload, 'reload with max-age=600');
is(sts(tls_get($tls, '/ok')), 'max-age=600; includeSubDomains', 'the new value is sent');
$pc->stop;
$be->stop;

# --- directive values ----------------------------------------------------------------------------
sub hconf {
    my ($d) = @_;
    return "events { }\nhttp {\n    server {\n        listen 127.0.0.1:%%PORT%%;\n        $d\n    }\n}\n";
}
conf_test_ok(hconf('hsts max-age=0;'), 'hsts max-age=0');
conf_test_ok(hconf('hsts max-age=63072000 includeSubDomains preload override;'), 'hsts all flags');
conf_test_ok(hconf('hsts off;'), 'hsts off');
conf_test_ok(hconf('https_redirect on port=443;'), 'https_redirect on port=443');
conf_test_fails(hconf('hsts max-age=1y;'), 'hsts', qr/invalid max-age "max-age=1y"/, 'hsts max-age=1y');
conf_test_fails(hconf('hsts 3600;'), 'hsts', qr/invalid max-age/, 'hsts without max-age=');
conf_test_fails(hconf('hsts max-age=60 includeSubDomain;'), 'hsts', qr/invalid or repeated parameter/,
    'hsts with a misspelt flag');
# RFC 6797 6.1: directive names are case-insensitive.
conf_test_ok(hconf('hsts max-age=60 includesubdomains;'), 'hsts includesubdomains (lower case)');
conf_test_ok(hconf('hsts MAX-AGE=31536000 INCLUDESUBDOMAINS PRELOAD OVERRIDE;'), 'hsts flags in upper case');
conf_test_fails(hconf('hsts max-age=60 includeSubDomains INCLUDESUBDOMAINS;'), 'hsts',
    qr/invalid or repeated parameter "INCLUDESUBDOMAINS"/, 'hsts: a flag repeated in another case');
conf_test_fails(hconf('hsts off preload;'), 'hsts', qr/"off" takes no other parameter/, 'hsts off preload');
conf_test_fails(hconf('https_redirect on port=0;'), 'https_redirect', qr/expected port=1\.\.65535/,
    'https_redirect port=0');
conf_test_fails(hconf('https_redirect yes;'), 'https_redirect', qr/"on" or "off"/, 'https_redirect yes');
{
    my $t = Test::Portcullis->new(start => 0, conf => hconf('hsts max-age=60 preload;'));
    like($t->run('-t')->{output}, qr/\[warn\] hsts: "preload" needs includeSubDomains/,
        'preload without includeSubDomains: a warning');
}

# Flags in any case: the header still uses the canonical spelling.
{
    my $t = Test::Portcullis->new(conf => <<"CONF");
error_log logs/error.log info;
worker_processes 1;
events { }
http {
    access_log off;
    ssl_certificate $P/server-ec.crt;
    ssl_certificate_key $P/server-ec.key;
    server {
        listen 127.0.0.1:%%PORT%% ssl;
        hsts Max-Age=31536000 includesubdomains PreLoad;
        location / { return 200 "ok"; }
    }
}
CONF
    is(sts(tls_get($t->port, '/')), 'max-age=31536000; includeSubDomains; preload',
        'case-insensitive flags: the header is spelt canonically');
    is($t->stop, 0, 'case-insensitive flags: exit 0');
}

done_testing();
