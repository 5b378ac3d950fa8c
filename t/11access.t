#!/usr/bin/perl
# allow / deny (first match wins, 403) and real_ip_header / set_real_ip_from.
# Clients connect from 127.0.0.1 and 127.0.0.2 (both loopback on Linux).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;

Test::Portcullis::require_binary();

sub st { my ($port, $path, $from, %h) = @_; return http_get($port, $path, _local => $from, %h)->{status} }
sub bd { my ($port, $path, $from, %h) = @_; return http_get($port, $path, _local => $from, %h)->{body} }

# The ACL locations below have no content: an allowed request reaches the
# content phase and, with no content handler, gets 404; a denied one 403.
sub allowed { my ($s) = @_; return $s == 404 ? 'allowed' : $s == 403 ? 'denied' : "status $s" }
{
    my $pc = Test::Portcullis->new(conf => <<'CONF');
error_log logs/error.log info;
events { }
http {
    deny 127.0.0.3;
    server {
        listen 127.0.0.1:%%PORT%%;
        location /open/ { }
        location /only1/ { allow 127.0.0.1; deny all; }
        location /first/ { deny 127.0.0.2; allow 127.0.0.0/8; deny all; }
        location /order/ { allow 127.0.0.0/8; deny 127.0.0.2; }
        location /none/ { deny all; }
        location /v6/ { allow ::1; deny all; }
        location /cidr/ { allow 127.0.0.0/31; deny all; }
        location /ret/ { deny all; return 200 "must not be served"; }
    }
}
CONF
    my $p = $pc->port;
    is(allowed(st($p, '/open/', '127.0.0.1')), 'allowed', 'no rules in the location: http-level deny of .3 only');
    is(allowed(st($p, '/open/', '127.0.0.3')), 'denied', 'deny inherited from http');
    is(allowed(st($p, '/only1/', '127.0.0.1')), 'allowed', 'allow 127.0.0.1: allowed');
    is(allowed(st($p, '/only1/', '127.0.0.2')), 'denied', 'allow 127.0.0.1; deny all: 127.0.0.2 denied');
    is(allowed(st($p, '/only1/', '127.0.0.3')), 'denied', 'location rules replace the inherited ones (.3 denied by deny all)');
    is(allowed(st($p, '/first/', '127.0.0.2')), 'denied', 'first match wins (deny before allow)');
    is(allowed(st($p, '/first/', '127.0.0.1')), 'allowed', 'first match wins (allow CIDR)');
    is(allowed(st($p, '/order/', '127.0.0.2')), 'allowed', 'first match wins (allow CIDR before deny)');
    is(allowed(st($p, '/none/', '127.0.0.1')), 'denied', 'deny all');
    is(allowed(st($p, '/v6/', '127.0.0.1')), 'denied', 'IPv6 rule does not match an IPv4 client');
    is(allowed(st($p, '/cidr/', '127.0.0.1')), 'allowed', '/31 includes .1');
    is(allowed(st($p, '/cidr/', '127.0.0.2')), 'denied', '/31 excludes .2');
    is(st($p, '/ret/', '127.0.0.1'), 403, 'deny applies to a location that answers with return');
    my $r = http_get($p, '/none/');
    is($r->{status}, 403, '403 for a denied request');
    like($r->{headers}{'content-type'} // '', qr{application/json}, '403 is an error response (json)');
    is($pc->stop, 0, 'exit 0');
}
conf_test_ok("error_log logs/error.log info;\nevents { }\nhttp { allow 10.0.0.0/8; deny ::1; allow 2001:db8::/32; deny all; server { listen 127.0.0.1:%%PORT%%; } }\n",
    'allow/deny forms');
for my $bad ('allow 10.0.0.0/33;', 'deny 300.0.0.1;', 'allow everyone;', 'deny 10.0.0.0/x;', 'allow 2001:db8::/129;', 'allow;') {
    my ($m) = $bad =~ /^(\w+)/;
    my ($v) = $bad =~ /^\w+\s*(\S*?);$/;
    conf_test_fails("error_log logs/error.log info;\nevents { }\nhttp {\n    $bad\n    server { listen 127.0.0.1:%%PORT%%; }\n}\n",
        $m, length $v ? qr/\Q$v\E/ : qr/$m/, "invalid: $bad");
}

# --- real_ip_header / set_real_ip_from ---------------------------------------------
{
    my $pc = Test::Portcullis->new(wait_ports => [1, 2], conf => <<'CONF');
error_log logs/error.log info;
events { }
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        real_ip_header X-Forwarded-For;
        set_real_ip_from 127.0.0.1;
        set_real_ip_from 10.9.0.0/16;
        location / { return 200 "$remote_addr"; }
        location /port { return 200 "$remote_addr|$remote_port"; }
        location /acl/ { deny 192.0.2.1; allow all; }
    }
    server {
        listen 127.0.0.1:%%PORT2%%;
        real_ip_header X-Real-IP;
        set_real_ip_from 127.0.0.0/8;
        location / { return 200 "$remote_addr"; }
    }
}
CONF
    my $p = $pc->port;
    is(bd($p, '/', '127.0.0.1', 'X-Forwarded-For' => '192.0.2.7'), '192.0.2.7', 'trusted peer: $remote_addr from X-Forwarded-For');
    is(bd($p, '/', '127.0.0.2', 'X-Forwarded-For' => '192.0.2.7'), '127.0.0.2', 'untrusted peer: header ignored');
    is(bd($p, '/', '127.0.0.1'), '127.0.0.1', 'trusted peer without the header: peer address');
    is(bd($p, '/', '127.0.0.1', 'X-Forwarded-For' => 'garbage'), '127.0.0.1', 'invalid address in the header: ignored');
    is(bd($p, '/', '127.0.0.1', 'X-Forwarded-For' => '2001:db8::5'), '2001:db8::5', 'IPv6 real address');
    is(bd($p, '/', '127.0.0.1', 'X-Forwarded-For' => '203.0.113.9, 192.0.2.8'), '192.0.2.8',
        'list: the last address (the one the trusted peer saw)');
    is(bd($p, '/port', '127.0.0.1', 'X-Forwarded-For' => '192.0.2.7'), '192.0.2.7|',
        'real address without a port: $remote_port empty (nginx)');
    is(bd($p, '/port', '127.0.0.1', 'X-Forwarded-For' => '192.0.2.7:5555'), '192.0.2.7|5555',
        'ADDR:PORT: the address and $remote_port');
    is(bd($p, '/port', '127.0.0.1', 'X-Forwarded-For' => '10.1.1.1, [2001:db8::5]:443'), '2001:db8::5|443',
        '[IPv6]:PORT');
    like(bd($p, '/port', '127.0.0.1', 'X-Forwarded-For' => '192.0.2.7:0'), qr/^127\.0\.0\.1\|\d+$/,
        'port 0: not an address, the peer stays');
    like(bd($p, '/port', '127.0.0.1', 'X-Forwarded-For' => '192.0.2.7:99999'), qr/^127\.0\.0\.1\|\d+$/,
        'a port out of range: not an address, the peer (and its port) stay');
    like(bd($p, '/port', '127.0.0.1'), qr/^127\.0\.0\.1\|\d+$/, 'no field: the peer\'s own port');
    is(allowed(st($p, '/acl/', '127.0.0.1', 'X-Forwarded-For' => '192.0.2.1')), 'denied', 'ACLs apply to the real address');
    is(allowed(st($p, '/acl/', '127.0.0.1', 'X-Forwarded-For' => '192.0.2.2')), 'allowed', 'ACL allows another real address');
    is(allowed(st($p, '/acl/', '127.0.0.2', 'X-Forwarded-For' => '192.0.2.1')), 'allowed', 'an untrusted peer is judged by its own address');
    my $p2 = $pc->port(2);
    is(bd($p2, '/', '127.0.0.2', 'X-Real-IP' => '198.51.100.4'), '198.51.100.4', 'real_ip_header X-Real-IP, CIDR trust');
    is(bd($p2, '/', '127.0.0.2', 'X-Forwarded-For' => '198.51.100.4'), '127.0.0.2', 'another header is not used');
    is($pc->stop, 0, 'exit 0');
}
conf_test_ok("error_log logs/error.log info;\nevents { }\nhttp { real_ip_header X-Forwarded-For; set_real_ip_from 10.0.0.0/8; set_real_ip_from ::1; server { listen 127.0.0.1:%%PORT%%; } }\n",
    'real_ip forms');
conf_test_fails("error_log logs/error.log info;\nevents { }\nhttp {\n    set_real_ip_from 999.1.1.1/8;\n    server { listen 127.0.0.1:%%PORT%%; }\n}\n",
    'set_real_ip_from', qr/set_real_ip_from|999/, 'set_real_ip_from invalid address');
conf_test_fails("error_log logs/error.log info;\nevents { }\nhttp {\n    set_real_ip_from all;\n    server { listen 127.0.0.1:%%PORT%%; }\n}\n",
    'set_real_ip_from', qr/set_real_ip_from|all/, 'set_real_ip_from all is not a CIDR');
conf_test_fails("error_log logs/error.log info;\nevents { }\nhttp {\n    real_ip_header \"Bad Header\";\n    server { listen 127.0.0.1:%%PORT%%; }\n}\n",
    'real_ip_header', qr/real_ip_header|Bad Header|name/, 'real_ip_header invalid name');
conf_test_fails("error_log logs/error.log info;\nevents { }\nhttp {\n    real_ip_header;\n    server { listen 127.0.0.1:%%PORT%%; }\n}\n",
    'real_ip_header', qr/real_ip_header/, 'real_ip_header without a name');
conf_test_fails("error_log logs/error.log info;\nevents { }\nhttp {\n    server {\n        listen 127.0.0.1:%%PORT%%;\n        location / { set_real_ip_from 10.0.0.1; }\n    }\n}\n",
    'set_real_ip_from', qr/set_real_ip_from/, 'set_real_ip_from in a location (not allowed)');

done_testing();
