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
    connection_requests pid msec time_local time_iso8601 http_x_foo is_args query_string
    server_name https content_length content_type);
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
    # \$server_name as nginx shows the first name; \$http_NAME and '_' names
    server {
        listen 127.0.0.1:%%PORT2%%;
        server_name .dot.test other.test;
        underscores_in_headers on;
        location / { return 200 "$tmpl\\n"; }
    }
    server { listen 127.0.0.1:%%PORT2%%; server_name *.wild.test;  location / { return 200 "$tmpl\\n"; } }
    server { listen 127.0.0.1:%%PORT2%%; server_name tail.*;       location / { return 200 "$tmpl\\n"; } }
    server { listen 127.0.0.1:%%PORT2%%; server_name Exact.Test;   location / { return 200 "$tmpl\\n"; } }
    server { listen 127.0.0.1:%%PORT3%%;                            location / { return 200 "$tmpl\\n"; } }
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
is($v->{is_args}, '?', '$is_args: "?" with a query');
is($v->{query_string}, 'x=1&y=two&q=a%20b', '$query_string is $args');
is($v->{server_name}, 'srv.test', '$server_name');
is($v->{https}, '', '$https is empty over plain HTTP');
is($v->{content_length}, '', '$content_length: none');
is($v->{content_type}, '', '$content_type: none');

$c->send("GET /second HTTP/1.1\r\nHost: srv.test\r\n\r\n");
my $v2 = vars($c->read_response);
is($v2->{connection_requests}, '2', '$connection_requests = 2 on the second request');
is($v2->{connection}, $v->{connection}, '$connection is the same on one connection');
is($v2->{uri}, '/second', 'second request: $uri');
is($v2->{args}, '', 'no query: $args is empty');
is($v2->{is_args}, '', 'no query: $is_args is empty');
is($v2->{query_string}, '', 'no query: $query_string is empty');
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
is($v5->{request_uri}, '/z?k=v', 'absolute-form: $request_uri is the path and query (nginx)');

# absolute-form: $request_uri keeps the path raw (escapes, dot segments)
# without scheme and authority; $request stays the line as received
($raw) = http_raw($pc->port, "GET http://Abs.Test:99/p%2fq/../r?z=1 HTTP/1.0\r\n\r\n", 5);
my $v6 = vars(parse_response($raw));
is($v6->{request_uri}, '/p%2fq/../r?z=1', 'absolute-form: $request_uri raw, without the authority');
is($v6->{request}, 'GET http://Abs.Test:99/p%2fq/../r?z=1 HTTP/1.0', 'absolute-form: $request is the line');
($raw) = http_raw($pc->port, "GET http://abs.test HTTP/1.0\r\n\r\n", 5);
is(vars(parse_response($raw))->{request_uri}, '/', 'absolute-form without a path: $request_uri is "/"');
($raw) = http_raw($pc->port, "GET http://abs.test?a=b HTTP/1.0\r\n\r\n", 5);
my $v7 = vars(parse_response($raw));
is($v7->{request_uri}, '?a=b', 'absolute-form with only a query: $request_uri as nginx has it');
is($v7->{is_args}, '?', 'absolute-form with only a query: $is_args');

# $content_length, $content_type: the request's fields
($raw) = http_raw($pc->port, "POST /ct HTTP/1.1\r\nHost: srv.test\r\nContent-Type: text/x-test; charset=utf-8\r\n"
    . "Content-Length: 3\r\nConnection: close\r\n\r\nabc", 5);
my $v8 = vars(parse_response($raw));
is($v8->{content_length}, '3', '$content_length');
is($v8->{content_type}, 'text/x-test; charset=utf-8', '$content_type');

# $http_NAME ignores field names with '_' (underscores_in_headers off, the
# default), as nginx does: "X_Foo" cannot pose as "X-Foo"
my $uh = "X_Foo: under\r\nX-Foo: dash\r\n";
($raw) = http_raw($pc->port, "GET /u HTTP/1.1\r\nHost: srv.test\r\n${uh}Connection: close\r\n\r\n", 5);
is(vars(parse_response($raw))->{http_x_foo}, 'dash', 'underscores_in_headers off: X_Foo is not $http_x_foo');
($raw) = http_raw($pc->port, "GET /u HTTP/1.1\r\nHost: srv.test\r\nX_Foo: only\r\nConnection: close\r\n\r\n", 5);
is(vars(parse_response($raw))->{http_x_foo}, '', 'underscores_in_headers off: X_Foo alone gives nothing');
($raw) = http_raw($pc->port(2), "GET /u HTTP/1.1\r\nHost: other.test\r\n${uh}Connection: close\r\n\r\n", 5);
is(vars(parse_response($raw))->{http_x_foo}, 'under, dash', 'underscores_in_headers on: both, joined');

# every repeated field is joined, not only the first 8
my $many = join '', map { "X-Foo: v$_\r\n" } 0 .. 11;
($raw) = http_raw($pc->port, "GET /m HTTP/1.1\r\nHost: srv.test\r\n${many}Connection: close\r\n\r\n", 5);
is(vars(parse_response($raw))->{http_x_foo}, join(', ', map { "v$_" } 0 .. 11), '12 X-Foo fields: all joined');
my $ua = join '', map { "User-Agent: u$_\r\n" } 0 .. 9;
($raw) = http_raw($pc->port, "GET /m HTTP/1.1\r\nHost: srv.test\r\n${ua}Connection: close\r\n\r\n", 5);
is(vars(parse_response($raw))->{http_user_agent}, join(', ', map { "u$_" } 0 .. 9), '10 User-Agent fields: all joined');
($raw) = http_raw($pc->port, "GET /m HTTP/1.1\r\nHost: srv.test\r\nX-Foo:\r\nX-Foo: b\r\nConnection: close\r\n\r\n", 5);
is(vars(parse_response($raw))->{http_x_foo}, ', b', 'an empty first value still gets its separator');

# $server_name: the block's first name, as nginx shows it
for my $case (['dot.test', 'dot.test', '".dot.test" without the dot'], ['a.wild.test', '*.wild.test', 'wildcard head'],
    ['tail.example', 'tail.*', 'wildcard tail'], ['exact.test', 'exact.test', 'exact, lowercased'])
{
    my ($host, $want, $what) = @$case;
    ($raw) = http_raw($pc->port(2), "GET /sn HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n", 5);
    is(vars(parse_response($raw))->{server_name}, $want, "\$server_name: $what");
}
($raw) = http_raw($pc->port(3), "GET /sn HTTP/1.1\r\nHost: x.test\r\nConnection: close\r\n\r\n", 5);
is(vars(parse_response($raw))->{server_name}, '', '$server_name: empty for a block without server_name');

my $m = http_get($pc->port, '/more/');
like($m->{body}, qr/^st=\d* rl=\d+ rt=\d+\.\d{3} bs=\d+ bbs=\d+ sh=[^;]*;$/, 'status/length/time variables evaluate');

is($pc->stop, 0, 'exit 0');

# $sent_http_NAME: the framing fields the writer generates, and every
# field of a repeated name joined with ", " (nginx)
{
    require Test::Portcullis::Backend;
    my $be = Test::Portcullis::Backend->new(handler => sub {
        return (200, ['Transfer-Encoding' => 'chunked', 'X-Up' => 'u1', 'X-Up' => 'u2'], "3\r\nabc\r\n0\r\n\r\n");
    });
    my $bport = $be->port;
    my $s = Test::Portcullis->new(conf => <<"CONF");
error_log logs/error.log info;
events { }
http {
    log_format sent 'S \$request_uri cl=\$sent_http_content_length te=\$sent_http_transfer_encoding '
                    'conn=\$sent_http_connection ka=\$sent_http_keep_alive rep=\$sent_http_x_rep up=\$sent_http_x_up E';
    access_log logs/sent.log sent;
    access_log logs/all.json json;
    server {
        listen 127.0.0.1:%%PORT%%;
        location /cl { add_header X-Rep a; add_header X-Rep b; add_header X-Rep c; return 200 "hello"; }
        location /up { proxy_pass http://127.0.0.1:$bport; }
    }
}
CONF
    my $line = sub { my ($uri) = @_; return $s->wait_for_log(qr{^S \Q$uri\E }, 5, file => 'logs/sent.log') // '' };
    my $kc = client($s->port);
    $kc->send("GET /cl1 HTTP/1.1\r\nHost: x\r\n\r\n");
    my $r = $kc->read_response;
    is($r->{headers}{'content-length'}, '5', 'sent: Content-Length 5');
    is($line->('/cl1'), 'S /cl1 cl=5 te=- conn=keep-alive ka=- rep=a, b, c up=- E',
        '$sent_http_content_length / _connection as sent; repeated X-Rep joined');
    $kc->close;
    http_get($s->port, '/cl2');
    like($line->('/cl2'), qr{ cl=5 te=- conn=close }, '$sent_http_connection: close');
    $r = http_get($s->port, '/up1');
    is($r->{body}, 'abc', 'proxied chunked response');
    is($line->('/up1'), 'S /up1 cl=- te=chunked conn=close ka=- rep=- up=u1, u2 E',
        '$sent_http_transfer_encoding: chunked; proxied repeated field joined');
    my ($raw) = http_raw($s->port, "GET /up2 HTTP/1.0\r\n\r\n", 5);
    like($line->('/up2'), qr{ cl=- te=- conn=close }, 'HTTP/1.0 client: close-delimited, no Transfer-Encoding');
    http_raw($s->port, "GET http://Abs.Test:99/p%2fq/../cl?z=1 HTTP/1.0\r\n\r\n", 5);
    like($s->wait_for_log(qr{z=1}, 5, file => 'logs/all.json') // '', qr{"uri":"/p%2fq/\.\./cl\?z=1"},
        'json log: "uri" of an absolute-form target is its path and query');
    is($s->stop, 0, 'sent_http instance: exit 0');
    $be->stop;
}

# $https: "on" over TLS
SKIP: {
    my $probe = Test::Portcullis->new(start => 0, conf => "events { }\nhttp { ssl_session_tickets on; }\n");
    skip 'tls module not built', 2 if $probe->run('-t')->{exit} != 0;
    require Test::Portcullis::TLS;
    my $P = Test::Portcullis::TLS::pki();
    my $t = Test::Portcullis->new(conf => <<"CONF");
error_log logs/error.log info;
events { }
http {
    server {
        listen 127.0.0.1:%%PORT%% ssl;
        server_name localhost;
        ssl_certificate     $P/server-ec.crt;
        ssl_certificate_key $P/server-ec.key;
        location / { return 200 "https=[\$https] scheme=\$scheme"; }
    }
}
CONF
    is(Test::Portcullis::TLS::tls_get($t->port, '/')->{body}, 'https=[on] scheme=https', '$https is "on" over TLS');
    is($t->stop, 0, 'tls instance: exit 0');
}

# unknown variables are configuration errors, with FILE:LINE
for my $bad ('$no_such_variable', '$http', '${no_such_braced}x') {
    my $conf = "error_log logs/error.log info;\nevents { }\nhttp {\n    server {\n        listen 127.0.0.1:%%PORT%%;\n"
        . "        location / { return 200 \"v=$bad\"; }\n    }\n}\n";
    (my $name = $bad) =~ s/[\${}]//g;
    $name =~ s/x$// if $bad =~ /braced/;
    conf_test_fails($conf, 'return 200', qr/\Q$name\E/, "unknown variable $bad");
}

done_testing();
