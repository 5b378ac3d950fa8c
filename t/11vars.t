#!/usr/bin/perl
# Variables (SPEC §5) as seen through `return` text.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Time::HiRes qw(time);

Test::Portcullis::require_binary();

my @VARS = qw(remote_addr remote_port server_addr server_port scheme host request
    request_method request_uri uri args arg_x arg_y arg_missing arg_q http_user_agent
    http_x_custom_header http_missing cookie_x cookie_a cookie_none connection
    connection_requests pid msec time_local time_iso8601);
my $tmpl = join '\n', map { "$_=\$$_" } @VARS;

my $pc = Test::Portcullis->new(conf => <<"CONF");
error_log logs/error.log info;
worker_processes 2;
events { }
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        server_name srv.test;
        location / { return 200 "$tmpl\\n"; }
        location /more/ { return 200 "st=\$status rl=\$request_length rt=\$request_time bs=\$bytes_sent bbs=\$body_bytes_sent sh=\$sent_http_content_type;"; }
    }
}
CONF
my @workers = $pc->wait_workers(2);

sub vars {
    my ($r) = @_;
    my %v;
    for (split /\n/, $r->{body} // '') { my ($k, $v) = split /=/, $_, 2; $v{$k} = $v }
    return \%v;
}

my $c = client($pc->port);
my $lport = $c->socket->sockport;
my $req = "GET /p/q?x=1&y=two&q=a%20b HTTP/1.1\r\nHost: Example.COM:8080\r\nUser-Agent: ua/1.0\r\n"
    . "Cookie: a=b; x=cv\r\nX-Custom-Header: cust\r\n\r\n";
my $t = time();
$c->send($req);
my $v = vars($c->read_response);
is($v->{remote_addr}, '127.0.0.1', '$remote_addr');
is($v->{remote_port}, $lport, '$remote_port');
is($v->{server_addr}, '127.0.0.1', '$server_addr');
is($v->{server_port}, $pc->port, '$server_port');
is($v->{scheme}, 'http', '$scheme');
is($v->{host}, 'example.com', '$host: lowercased, without the port');
is($v->{request}, 'GET /p/q?x=1&y=two&q=a%20b HTTP/1.1', '$request');
is($v->{request_method}, 'GET', '$request_method');
is($v->{request_uri}, '/p/q?x=1&y=two&q=a%20b', '$request_uri');
is($v->{uri}, '/p/q', '$uri');
is($v->{args}, 'x=1&y=two&q=a%20b', '$args');
is($v->{arg_x}, '1', '$arg_x');
is($v->{arg_y}, 'two', '$arg_y');
is($v->{arg_missing}, '', '$arg_missing is empty');
is($v->{arg_q}, 'a%20b', '$arg_q is not decoded');
is($v->{http_user_agent}, 'ua/1.0', '$http_user_agent');
is($v->{http_x_custom_header}, 'cust', '$http_x_custom_header (dashes become underscores)');
is($v->{http_missing}, '', '$http_missing is empty');
is($v->{cookie_x}, 'cv', '$cookie_x');
is($v->{cookie_a}, 'b', '$cookie_a');
is($v->{cookie_none}, '', '$cookie_none is empty');
like($v->{connection}, qr/^\d+$/, '$connection is a number');
is($v->{connection_requests}, '1', '$connection_requests = 1');
ok((grep { $_ == ($v->{pid} // -1) } @workers), '$pid is a worker pid');
like($v->{msec}, qr/^\d+\.\d{3}$/, '$msec format');
cmp_ok(abs(($v->{msec} // 0) - $t), '<', 5, '$msec is now');
like($v->{time_local}, qr{^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}$}, '$time_local format');
like($v->{time_iso8601}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[+-]\d\d:\d\d|Z)$/, '$time_iso8601 format');

$c->send("GET /second HTTP/1.1\r\nHost: srv.test\r\n\r\n");
my $v2 = vars($c->read_response);
is($v2->{connection_requests}, '2', '$connection_requests = 2 on the second request');
is($v2->{connection}, $v->{connection}, '$connection is the same on one connection');
is($v2->{uri}, '/second', 'second request: $uri');
is($v2->{args}, '', 'no query: $args is empty');
is($v2->{cookie_x}, '', 'cookies do not leak between requests');
is($v2->{http_user_agent}, '', 'headers do not leak between requests');
$c->close;

my $v3 = vars(http_get($pc->port, '/'));
# $connection counts per worker process: (pid, connection) identifies one
isnt("$v3->{pid}/$v3->{connection}", "$v->{pid}/$v->{connection}", '($pid, $connection) differs on a new connection');
is($v3->{connection_requests}, '1', '$connection_requests restarts on a new connection');

# HTTP/1.0 without Host: $host is the server name
my ($raw) = http_raw($pc->port, "GET /h10 HTTP/1.0\r\n\r\n", 5);
my $v4 = vars(parse_response($raw));
is($v4->{host}, 'srv.test', 'no Host: $host is the server name');

# absolute-form target: its authority wins over Host
($raw) = http_raw($pc->port, "GET http://Abs.Test:81/z?k=v HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n", 5);
my $v5 = vars(parse_response($raw));
is($v5->{host}, 'abs.test', 'absolute-form: $host from the target');
is($v5->{uri}, '/z', 'absolute-form: $uri');
is($v5->{args}, 'k=v', 'absolute-form: $args');

my $m = http_get($pc->port, '/more/');
like($m->{body}, qr/^st=\d* rl=\d+ rt=\d+\.\d{3} bs=\d+ bbs=\d+ sh=[^;]*;$/, 'status/length/time variables evaluate');

is($pc->stop, 0, 'exit 0');

# unknown variables are configuration errors, with FILE:LINE
for my $bad ('$no_such_variable', '$http', '${no_such_braced}x') {
    my $conf = "error_log logs/error.log info;\nevents { }\nhttp {\n    server {\n        listen 127.0.0.1:%%PORT%%;\n"
        . "        location / { return 200 \"v=$bad\"; }\n    }\n}\n";
    (my $name = $bad) =~ s/[\${}]//g;
    $name =~ s/x$// if $bad =~ /braced/;
    conf_test_fails($conf, 'return 200', qr/\Q$name\E/, "unknown variable $bad");
}

done_testing();
