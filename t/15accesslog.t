#!/usr/bin/perl
# Access log (SPEC §6): log_format, access_log (combined, json, custom,
# buffer/flush, if=, several, off), escaping, redaction, errors logged with
# their status, USR1 reopen.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use JSON::PP;
use Time::HiRes qw(time);

Test::Portcullis::require_binary();

my $pc = Test::Portcullis->new(conf => <<'CONF');
error_log logs/error.log info;
worker_processes 2;
events { }
http {
    log_format custom '$remote_addr|$request_method|$uri|$args|$status|$http_x_a';
    log_format jsonish escape=json '{"ua":"$http_user_agent","uri":"$request_uri"}';
    access_log logs/combined.log combined;
    access_log logs/access.json json buffer=64k flush=1s;
    access_log logs/custom.log custom;
    access_log logs/jsonish.log jsonish;
    access_log logs/cond.log custom if=$arg_log;
    log_redact_args token secret api_key;
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { return 200 "hello"; }
        location /quiet/ { access_log off; return 200 "quiet"; }
        location /own/ { access_log logs/own.log custom; return 200 "own"; }
        location /deny/ { deny all; }
    }
    server {
        listen 127.0.0.1:%%PORT2%%;
        client_header_timeout 1s;
        access_log logs/slow.log custom;
        location / { return 200 "slow"; }
    }
}
CONF
my $p = $pc->port;
$pc->wait_workers(2);

sub lines { my ($f) = @_; return grep { length } split /\n/, slurp($pc->path("logs/$f")) }
sub wait_line { my ($f, $re, $t) = @_; return $pc->wait_for_log($re, $t // 5, file => "logs/$f") }

# --- combined ---------------------------------------------------------------------------
my $t0 = time();
http_get($p, '/c?x=1', 'User-Agent' => 'agent/1.0', 'Referer' => 'http://ref.test/');
my $l = wait_line('combined.log', qr{"GET /c\?x=1 HTTP/1\.1"});
like($l // '', qr{^127\.0\.0\.1 - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET /c\?x=1 HTTP/1\.1" 200 5 "http://ref\.test/" "agent/1\.0"$},
    'combined: the nginx/Apache combined line');
http_get($p, '/c2');
$l = wait_line('combined.log', qr{"GET /c2 HTTP/1\.1"});
like($l // '', qr{ 200 5 "-" "-"$}, 'combined: "-" for a missing Referer and User-Agent');
http_raw($p, "GET /c3 HTTP/1.1\r\nHost: x\r\nUser-Agent: a/1\r\nReferer: http://r/\r\n"
    . "User-Agent: b/2\r\nConnection: close\r\n\r\n");
$l = wait_line('combined.log', qr{"GET /c3 HTTP/1\.1"});
like($l // '', qr{ 200 5 "http://r/" "a/1, b/2"$},
    'combined: repeated User-Agent fields are joined, as $http_NAME does');

# --- json -----------------------------------------------------------------------------------
http_get($p, '/j?a=1', 'User-Agent' => 'ua/j', 'Referer' => 'http://r.test/',
    'Cookie' => 'sess=COOKIEVALUE', 'Authorization' => 'Bearer AUTHVALUE', _host => 'Json.Test');
$l = wait_line('access.json', qr{/j\?a=1}, 5);
ok($l, 'json: a line within the flush interval (flush=1s)');
my $j = eval { decode_json($l // '') };
ok(ref $j eq 'HASH', 'json: each line is one JSON object') or diag($l);
$j = {} unless ref $j eq 'HASH';
for my $k (qw(time remote_addr method uri protocol status bytes_sent request_time upstream_addr
              upstream_status upstream_response_time upstream_reused request_id trace_id host
              user_agent referer ssl_protocol ssl_client_s_dn ssl_client_verify limit_req_status
              geoip_country_code)) {
    ok(exists $j->{$k}, "json: key $k");
}
like($j->{time} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(?:[+-]\d\d:\d\d|Z)$/, 'json: time is ISO 8601 with ms');
is($j->{remote_addr}, '127.0.0.1', 'json: remote_addr');
is($j->{method}, 'GET', 'json: method');
is($j->{uri}, '/j?a=1', 'json: uri');
is($j->{protocol}, 'HTTP/1.1', 'json: protocol');
like($l // '', qr/"status":200[,}]/, 'json: status is a number');
is($j->{status}, 200, 'json: status');
like($j->{bytes_sent} // '', qr/^\d+$/, 'json: bytes_sent');
cmp_ok($j->{bytes_sent} // 0, '>', 5, 'json: bytes_sent counts the head too');
is($j->{host}, 'json.test', 'json: host');
is($j->{user_agent}, 'ua/j', 'json: user_agent');
is($j->{referer}, 'http://r.test/', 'json: referer');
unlike($l // '', qr/COOKIEVALUE|AUTHVALUE/, 'json: Cookie and Authorization are never logged');

# --- custom format and escaping -------------------------------------------------------------------
http_get($p, '/e%01%22x%5c', 'X-A' => "q\"uote\\back", 'User-Agent' => "u\"a");
$l = wait_line('custom.log', qr{\|GET\|/e});
like($l // '', qr{^127\.0\.0\.1\|GET\|/e\\x01\\x22x\\x5c\|-\|200\|q\\x22uote\\x5cback$}i,
    'custom: \xHH escaping of control bytes, " and \ ("-" for empty values)') or diag($l);
$l = wait_line('jsonish.log', qr{"uri":"/e%01});
my $jj = eval { decode_json($l // '') };
is($jj && $jj->{ua}, "u\"a", 'escape=json: the value survives JSON decoding');
$l = wait_line('combined.log', qr{"GET /e%01%22x%5c HTTP/1\.1"});
like($l // '', qr{"u\\x22a"$}, 'combined: a quote in User-Agent cannot end the field');
ok(!grep({ /^\x01|^"/ } map { lines($_) } qw(combined.log custom.log)), 'no forged line start from a request');

# --- redaction ------------------------------------------------------------------------------------
http_get($p, '/r?token=SECRET1&a=1&secret=SECRET2&tokenx=keep');
$l = wait_line('custom.log', qr{\|/r\|});
like($l // '', qr{\|token=\*\*\*&a=1&secret=\*\*\*&tokenx=keep\|}, 'log_redact_args: values replaced by ***');
$l = wait_line('combined.log', qr{"GET /r\?});
like($l // '', qr{"GET /r\?token=\*\*\*&a=1&secret=\*\*\*&tokenx=keep HTTP/1\.1"}, 'log_redact_args: $request redacted');
$l = wait_line('access.json', qr{"/r\?}, 5);
unlike($l // '', qr/SECRET1|SECRET2/, 'log_redact_args: json uri redacted');
ok(!grep({ /SECRET/ } map { lines($_) } qw(combined.log custom.log access.json jsonish.log)), 'no secret anywhere');

# Backends decode argument names: a name that reads as a redacted one under
# any plausible decoding is redacted too, and its whole raw value up to the
# next '&' (';' is a separator for some parsers, so it starts a name too).
{
    my @cases = (
        [ '%74oken=ESC1',       '%74oken=***',       'a percent-encoded name' ],
        [ 'to%6b%65n=ESC2',     'to%6b%65n=***',     'lower-case escapes' ],
        [ '%54%4F%4B%45%4E=ESC3', '%54%4F%4B%45%4E=***', 'an encoded name in another case' ],
        [ 'TOKEN=ESC4',         'TOKEN=***',         'another case' ],
        [ 'token[]=ESC5',       'token[]=***',       'an array name (PHP, Rails)' ],
        [ 'token%5B0%5D=ESC6',  'token%5B0%5D=***',  'an encoded array name' ],
        [ 'api.key=ESC7',       'api.key=***',       "PHP's '.' for '_'" ],
        [ 'api+key=ESC8',       'api+key=***',       "'+' as a space, PHP's ' ' for '_'" ],
        [ '+token=ESC9',        '+token=***',        'a leading space (PHP drops it)' ],
        [ 'x=1;secret=ESC10',   'x=1;secret=***',    "';' as a separator" ],
        [ 'token=ESC11;ESC12',  'token=***',         "a value hidden whole up to '&', ';' included" ],
    );
    for my $c (@cases) {
        my ($q, $want, $what) = @$c;
        http_get($p, "/rd?$q&b=keep");
        my $line = wait_line('custom.log', qr{\|/rd\|\Q$want\E&b=keep\|});
        ok($line, "log_redact_args: $what ($q)") or diag(join("\n", grep { /\/rd\|/ } lines('custom.log')));
    }
    http_get($p, '/rd2?%74okenx=keep1&tokens=keep2&xtoken=keep3&token%5F=keep4&b=end');
    ok(wait_line('custom.log', qr{\|/rd2\|%74okenx=keep1&tokens=keep2&xtoken=keep3&token%5F=keep4&b=end\|}),
        'log_redact_args: longer or different decoded names are kept');
    $l = wait_line('combined.log', qr{"GET /rd2\?});
    $l = wait_line('combined.log', qr{"GET /rd\?token=\*\*\*&b=keep HTTP/1\.1"});
    ok($l, 'log_redact_args: $request redacted up to the space before the version');
    ok(wait_until(sub { (grep { /"\/rd\?/ } lines('access.json')) >= scalar @cases }, 5),
        'json: every decoded-name request logged');
    my @leak = grep { /ESC\d/ } map { lines($_) } qw(combined.log custom.log access.json jsonish.log);
    is(scalar @leak, 0, 'no value of a decoded redacted name anywhere') or diag(join("\n", @leak));
}

# --- if=, off, per-location, errors ----------------------------------------------------------------
http_get($p, '/if1?log=1');
http_get($p, '/if0?log=0');
http_get($p, '/ifnone');
http_get($p, '/quiet/x');
http_get($p, '/own/x');
my ($raw) = http_raw($p, "GET /malformed HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 5);
http_get($p, '/deny/x');
http_get($p, '/last');
ok(wait_line('custom.log', qr{\|/last\|}), 'later requests logged');
ok(wait_line('cond.log', qr{\|/if1\|}), 'if=$arg_log: logged when set');
ok(!grep({ /\/if0\|/ || /\/ifnone\|/ } lines('cond.log')), 'if=: not logged when "0" or empty');
ok(!grep({ /\/quiet\// } map { lines($_) } qw(combined.log custom.log)), 'access_log off in a location');
ok(wait_line('own.log', qr{\|/own/x\|}), 'location access_log');
ok(!grep({ /\/own\/x/ } lines('custom.log')), 'a location access_log replaces the inherited ones');
ok(wait_line('custom.log', qr{\|/deny/x\|-\|403\|}), 'a 403 is logged with its status');
ok(wait_line('custom.log', qr{\|400\|}), 'a malformed request is logged with 400');
cmp_ok(scalar(grep { /\|\/if1\|/ } lines('custom.log')), '==', 1, 'one line per request');

# --- a head that fails after its request line was complete -----------------------------------------
# nginx logs the request line (and method, URI) whenever it was parsed,
# whatever then went wrong with the head.
{
    my $p2 = $pc->port(2);
    my $c = client($p2);
    $c->send("GET /slow/a?x=1 HTTP/1.1\r\n");
    select(undef, undef, undef, 0.3);
    $c->send("Host: h408\r\nX-A: dri");          # the head never ends: 408
    my ($d) = $c->read_until_close(5);
    like($d // '', qr{^HTTP/1\.1 408 }, 'client_header_timeout: 408');
    ok(wait_line('slow.log', qr{^127\.0\.0\.1\|GET\|/slow/a\|x=1\|408\|-$}),
        '408 on a drip-fed head: method, $uri and $args logged')
        or diag(join("\n", lines('slow.log')));

    $c = client($p2);
    $c->send("GET /slow/b?token=TSEC HTTP/1.1\r\nHost: a\r\n");
    select(undef, undef, undef, 0.2);
    $c->close;                                    # cut mid-head: 400
    ok(wait_line('slow.log', qr{^127\.0\.0\.1\|GET\|/slow/b\|token=\*\*\*\|400\|-$}),
        'head cut by the client: logged as 400 with its request, redacted')
        or diag(join("\n", lines('slow.log')));

    ($d) = http_raw($p2, "GET /slow/c HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", 5);
    like($d // '', qr{^HTTP/1\.1 400 }, 'malformed field: 400');
    ok(wait_line('slow.log', qr{^127\.0\.0\.1\|GET\|/slow/c\|-\|400\|-$}),
        '400 on a malformed field: method and $uri logged');

    # the error log's line for it quotes the request: redacted as well
    ($d) = http_raw($p2, "GET /slow/f?%74oken=ESEC&a=1 HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", 5);
    like($d // '', qr{^HTTP/1\.1 400 }, 'malformed field with a secret argument: 400');
    ok(wait_until(sub { $pc->error_log =~ m{request: "GET /slow/f\?%74oken=\*\*\*&a=1 HTTP/1\.1"} }, 5),
        'the error log quotes the request with log_redact_args applied');
    unlike($pc->error_log, qr/ESEC/, 'the secret is nowhere in the error log');

    ($d) = http_raw($p2, "GET /slow/d HTTP/1.1\r\nHost: a\r\nX-Big: " . ('b' x 70000) . "\r\n\r\n", 5);
    like($d // '', qr{^HTTP/1\.1 431 }, 'head too large: 431');
    ok(wait_line('slow.log', qr{^127\.0\.0\.1\|GET\|/slow/d\|-\|431\|-$}),
        '431: method and $uri logged');

    $c = client($p2);
    $c->send("GET /slow/e HTTP/1.1");             # the line never ends
    ($d) = $c->read_until_close(5);
    like($d // '', qr{^HTTP/1\.1 408 }, 'incomplete request line: 408');
    ok(wait_line('slow.log', qr{^127\.0\.0\.1\|-\|-\|-\|408\|-$}),
        'an incomplete request line is not logged as one');
}

# --- lines are whole under concurrency ---------------------------------------------------------------
{
    my @c = map { client($p) } 1 .. 40;
    for my $i (0 .. $#c) { $c[$i]->send("GET /burst$i HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") }
    $_->read_until_close(5) for @c;
    ok(wait_until(sub { (grep { /burst/ } lines('access.json')) >= 40 }, 5), 'json: 40 concurrent requests logged');
    my @bad = grep { /burst/ && !eval { decode_json($_); 1 } } lines('access.json');
    is(scalar @bad, 0, 'json: every line whole and valid');
    is(scalar(grep { /^127\.0\.0\.1\|GET\|\/burst\d+\|-\|200\|-$/ } lines('custom.log')), 40, 'custom: 40 whole lines');
}

# --- USR1 reopens access logs --------------------------------------------------------------------
{
    my $f = $pc->path('logs/custom.log');
    rename($f, "$f.1");
    kill 'USR1', $pc->pid;
    my $ok = wait_until(sub { http_get($p, '/after-reopen'); -s $f && slurp($f) =~ /after-reopen/ }, 10, 0.2);
    ok($ok, 'USR1: new lines go to the new access log file');
    my @old = grep { length } split /\n/, slurp("$f.1");
    ok(!grep({ !/^127\.0\.0\.1\|/ } @old), 'USR1: old file holds whole lines only');
}
is($pc->stop, 0, 'exit 0');

# --- the default: logs/access.log in combined format ----------------------------------------------
{
    my $d = Test::Portcullis->new(conf => <<'CONF');
error_log logs/error.log info;
events { }
http { server { listen 127.0.0.1:%%PORT%%; location / { return 200 "x"; } } }
CONF
    http_get($d->port, '/dflt');
    ok($d->wait_for_log(qr{"GET /dflt HTTP/1\.1" 200 1 }, 5, file => 'logs/access.log'),
        'no access_log: logs/access.log in combined format');
    is($d->stop, 0, 'exit 0');
}
{
    my $s = Test::Portcullis->new(conf => <<'CONF');
error_log logs/error.log info;
events { }
http { log_format custom 'L $uri'; access_log stderr custom; server { listen 127.0.0.1:%%PORT%%; location / { return 200 "x"; } } }
CONF
    http_get($s->port, '/to-stderr');
    ok($s->wait_for_log(qr{^L /to-stderr$}, 5, file => 'stderr'), 'access_log stderr');
    is($s->stop, 0, 'exit 0');
}

# --- long values: fixed-form values are never cut (SPEC §6 "lines are whole", §8) ----------------------
# The values of a line share 256 KiB (the format's text on top): every value
# of the built-in formats fits under the default header limits, escaped.
# Past that, long free-form values (URIs, header values) share the room
# evenly and end with "..."; status, sizes, times, addresses are whole.
{
    my $many = join '|', map { "\$http_x_a" } 1 .. 10;
    my $lv = Test::Portcullis->new(conf => <<"CONF");
error_log logs/error.log info;
events { }
http {
    log_format fair '"\$http_user_agent" "\$http_referer" \$status \$request_time \$bytes_sent \$remote_port';
    log_format many '$many|\$status|\$request_length|\$remote_addr|\$request_time';
    log_format manyjs escape=json '{"a":"\$http_x_a","b":"\$http_x_a","c":"\$http_x_a","d":"\$http_x_a","s":\$status,"rl":\$request_length}';
    log_format up 'A=\$REQUEST_URI B=\$Request C=\$ARGS D=\$Args E=\$request_uri S=\$STATUS U=\$HTTP_USER_AGENT Q=\$Query_String';
    log_redact_args token;
    access_log logs/c.log combined;
    access_log logs/j.json json;
    access_log logs/fair.log fair;
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { return 200 "x"; }
        location /up { access_log logs/up.log up; return 200 "u"; }
    }
    server {
        listen 127.0.0.1:%%PORT2%%;
        large_client_header_buffers 4 1m;
        access_log logs/bc.log combined;
        access_log logs/bj.json json;
        access_log logs/bfair.log fair;
        access_log logs/many.log many;
        access_log logs/manyjs.json manyjs;
        location / { return 200 "x"; }
    }
}
CONF
    my ($lp, $bp) = ($lv->port, $lv->port(2));
    my $lines = sub { return grep { length } split /\n/, slurp($lv->path("logs/$_[0]")) };
    my $wait = sub { my ($f, $re) = @_; return $lv->wait_for_log($re, 5, file => "logs/$f") };

    # the audit's case: 8175 backslashes escape to 32700 bytes, then the status
    my $bs = '\\' x 8175;
    my ($d) = http_raw($lp, "GET /$bs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    like($d // '', qr{^HTTP/1\.1 200 }, 'request line of 8175 backslashes: 200');
    my $l = $wait->('c.log', qr{"GET /\\x5c});
    like($l // '', qr{^127\.0\.0\.1 - - \[[^\]]+\] "GET /(?:\\x5c){8175} HTTP/1\.1" 200 1 "-" "-"$},
        'combined: a 32 KB escaped request is whole and the status is 200, not cut to "2"')
        or diag(substr($l // '', -80));
    http_get($lp, '/ff', 'User-Agent' => "\xff" x 8000, 'Referer' => "\xfe" x 8000);
    $l = $wait->('fair.log', qr{^"\\xff});
    like($l // '', qr{^"(?:\\xff){8000}" "(?:\\xfe){8000}" 200 \d+\.\d{3} [1-9]\d* [1-9]\d*$},
        'custom format: two 32 KB escaped values whole, every value after them too')
        or diag(substr($l // '', -80));
    $l = $wait->('j.json', qr{"/ff"});
    my $j = eval { decode_json($l // '') } // {};
    ok(($j->{user_agent} // '') eq "\x{ff}" x 8000 && ($j->{referer} // '') eq "\x{fe}" x 8000,
        'json: two values of 48 KB escaped each are whole');
    is($j->{status}, 200, 'json: the status after them');
    ok(exists $j->{geoip_country_code} && ($j->{protocol} // '') eq 'HTTP/1.1', 'json: every later field');

    # past 256 KiB of values: long ones shortened evenly and marked, the others whole
    $bs = '\\' x 100000;
    ($d) = http_raw($bp, "GET /$bs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    like($d // '', qr{^HTTP/1\.1 200 }, 'request line of 100000 backslashes (1m header buffers): 200');
    $l = $wait->('bc.log', qr{"GET /\\x5c});
    like($l // '', qr{^127\.0\.0\.1 - - \[[^\]]+\] "GET /(?:\\x5c)+\.\.\." 200 1 "-" "-"$},
        'combined: a 400 KB escaped request is shortened, ends with "...", the status is 200')
        or diag(substr($l // '', -80));
    cmp_ok(length($l // ''), '<=', 256 * 1024 + 200, 'combined: the line holds at most 256 KiB of values');
    cmp_ok(length($l // ''), '>=', 256 * 1024 - 100, 'combined: the shortened value takes the room there is');

    http_get($bp, '/fb', 'User-Agent' => "\xff" x 100000, 'Referer' => 'http://short.test/');
    $l = $wait->('bfair.log', qr{"http://short\.test/"});
    like($l // '', qr{^"(?:\\xff)+\.\.\." "http://short\.test/" 200 \d+\.\d{3} [1-9]\d* [1-9]\d*$},
        'custom format: the long value shortened and marked; a short one and the numbers whole')
        or diag(substr($l // '', -120));

    http_get($bp, '/fj', 'User-Agent' => "\xff" x 100000, 'Referer' => "\xfe" x 100000);
    $l = $wait->('bj.json', qr{"/fj"});
    $j = eval { decode_json($l // '') };
    ok($j, 'json: 1.2 MB of escaped values still give one valid JSON line') or diag(substr($l // '', -200));
    $j //= {};
    like($j->{user_agent} // '', qr/^\x{ff}{1000,}\.\.\.$/, 'json: user_agent shortened, marked "..."');
    like($j->{referer} // '', qr/^\x{fe}{1000,}\.\.\.$/, 'json: referer shortened, marked "..."');
    ok(abs(length($j->{user_agent} // '') - length($j->{referer} // '')) <= 1, 'json: both long values get the same share');
    is($j->{status}, 200, 'json: status whole');
    ok(($j->{protocol} // '') eq 'HTTP/1.1' && ($j->{host} // '') eq 'localhost' && ($j->{method} // '') eq 'GET'
        && ($j->{uri} // '') eq '/fj' && ($j->{remote_addr} // '') eq '127.0.0.1' && exists $j->{geoip_country_code},
        'json: every other field whole') or diag(join ' ', map { "$_=" . ($j->{$_} // 'undef') } qw(protocol host method uri remote_addr));

    http_get($bp, '/many', 'X-A' => "\xff" x 30000);
    $l = $wait->('many.log', qr{^\\xff});
    my @f = split /\|/, $l // '';
    is(scalar @f, 14, 'ten copies of a 120 KB escaped value: every field there');
    ok(@f == 14 && !grep({ !/^(?:\\xff)+\.\.\.$/ } @f[0 .. 9]), 'each copy shortened and marked');
    my %len = map { length($_) => 1 } @f[0 .. 9];
    cmp_ok(scalar keys %len, '==', 1, 'every copy gets the same share');
    like(join('|', @f[10 .. 13]), qr{^200\|[1-9]\d{4,}\|127\.0\.0\.1\|\d+\.\d{3}$}, 'status, request_length, address and time whole');
    $l = $wait->('manyjs.json', qr{^\{"a":"\\u00ff});
    $j = eval { decode_json($l // '') };
    ok($j && $j->{s} == 200 && $j->{rl} > 30000 && $j->{a} =~ /\.\.\.$/, 'escape=json format: shortened values, valid JSON, numbers whole');
    ok(!$lv->log_lines(qr/\[(?:alert|crit|emerg)\]/), 'no alert in the error log');

    # an upper-case variable name is the same variable: redacted all the same
    http_get($lp, '/up?token=SECRET1&x=1', 'User-Agent' => 'ua/up');
    $l = $wait->('up.log', qr{^A=});
    is($l, 'A=/up?token=***&x=1 B=GET /up?token=***&x=1 HTTP/1.1 C=token=***&x=1 D=token=***&x=1 E=/up?token=***&x=1 S=200 U=ua/up Q=token=***&x=1',
        'log_redact_args: $REQUEST_URI, $Request, $ARGS, $Query_String redacted like their lower-case names');
    is($lv->stop, 0, 'exit 0');
}

# --- valid and invalid values ----------------------------------------------------------------------
sub wrap { my ($http, $loc) = @_; $loc //= ''; return "error_log logs/error.log info;\nevents { }\nhttp {\n    $http\n    server {\n        listen 127.0.0.1:%%PORT%%;\n        location / { $loc return 200; }\n    }\n}\n" }
conf_test_ok(wrap("log_format f escape=none '\$remote_addr';\n    access_log logs/a.log f buffer=8k flush=500ms if=\$arg_x;"), 'log_format + access_log with every parameter');
conf_test_ok(wrap("access_log off;"), 'access_log off');
conf_test_ok(wrap("log_redact_args a b c;"), 'log_redact_args');
conf_test_fails(wrap("access_log logs/a.log nosuchformat;"), 'access_log', qr/nosuchformat/, 'access_log unknown format');
conf_test_fails(wrap("access_log logs/a.log combined buffer=lots;"), 'access_log', qr/buffer|lots/, 'access_log buffer=lots');
conf_test_fails(wrap("access_log logs/a.log combined flush=soon;"), 'access_log', qr/flush|soon/, 'access_log flush=soon');
conf_test_fails(wrap("access_log nodir1/a.log;"), 'nodir1', qr/access_log directory ".*nodir1" does not exist/,
    'access_log into a missing directory: named, with its line');
{
    # -t prints every error: both missing directories, each with its line
    my $t = Test::Portcullis->new(start => 0, conf => wrap("access_log nodir1/a.log;\n    access_log nodir2/b.log;"));
    my $r = $t->run('-t');
    my @e = $r->{output} =~ /access_log directory ".*(nodir\d)" does not exist in \S+:\d+$/mg;
    is("@e", 'nodir1 nodir2', '-t: every missing access_log directory, each with FILE:LINE');
}
conf_test_fails(wrap("access_log logs/a.log combined bogus=1;"), 'access_log', qr/bogus/, 'access_log unknown parameter');
conf_test_fails(wrap("access_log logs/a.log combined if=\$no_such_var_z;"), 'access_log', qr/no_such_var_z/, 'access_log if= unknown variable');
conf_test_fails(wrap("access_log off combined;"), 'access_log', qr/access_log|off/, 'access_log off with a format');
conf_test_fails(wrap("access_log;"), 'access_log', qr/access_log/, 'access_log without arguments');
conf_test_fails(wrap("access_log \"\";"), 'access_log', qr/empty file name/, 'access_log "": an empty file name, not "out of memory"');
conf_test_fails(wrap("access_log '' combined;"), 'access_log', qr/empty file name/, "access_log '' with a format");
conf_test_fails(wrap("log_format f;"), 'log_format', qr/log_format|format/, 'log_format without a template');
conf_test_fails(wrap("log_format f '\$no_such_var_q';"), 'log_format', qr/no_such_var_q/, 'log_format unknown variable');
conf_test_fails(wrap("log_format f escape=html '\$uri';"), 'log_format', qr/escape|html/, 'log_format escape=html');
conf_test_fails(wrap("log_format f 'a';\n    log_format f 'b';"), "log_format f 'b'", qr/log_format|duplicate|"f"/, 'log_format defined twice');
conf_test_fails(wrap("log_format combined 'x';"), 'log_format', qr/combined|log_format/, 'log_format redefining a built-in');
conf_test_fails(wrap("log_redact_args;"), 'log_redact_args', qr/log_redact_args/, 'log_redact_args without names');
conf_test_fails(wrap("", "log_format f 'x';"), 'log_format', qr/log_format/, 'log_format in a location');


# --- a log_format above the map it names (forward use, as in nginx) -------------------------------
# The map is read after the format, so nothing is known of its value when
# the format is compiled: it is free-form text, escaped like any header.
SKIP: {
    my $fwd = Test::Portcullis->new(start => 0, conf => "events { }\nhttp {\n    map \$uri \$m { default 1; }\n"
        . "    server { listen 127.0.0.1:%%PORT%%; location ~ ^/x { } }\n}\n");
    skip 'regex module (map) not built', 5 if $fwd->run('-t')->{output} =~ /unknown directive "map"|requires the regex module/;
    $fwd = Test::Portcullis->new(conf => <<'CONF');
error_log logs/error.log info;
worker_processes 1;
events { }
http {
    log_format fwd '$fwd_v|$status';
    log_format fwdj escape=json '{"v":"$fwd_v"}';
    access_log logs/fwd.log fwd;
    access_log logs/fwdj.log fwdj;
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { return 200 "ok"; }
    }
    map $http_x_v $fwd_v { default "v=$http_x_v"; }
}
CONF
    ok($fwd->alive, 'log_format naming a map defined after it: starts');
    http_get($fwd->port, '/f', 'X-V' => "q\"uote\\back");
    my $fl = $fwd->wait_for_log(qr{\|200$}, 5, file => 'logs/fwd.log');
    is($fl // '', 'v=q\x22uote\x5cback|200', 'the map value is logged, escaped like free-form text');
    $fl = $fwd->wait_for_log(qr{^\{"v"}, 5, file => 'logs/fwdj.log');
    my $fj = eval { decode_json($fl // '') };
    is($fj && $fj->{v}, "v=q\"uote\\back", 'escape=json: the forward value survives JSON decoding');
    is($fwd->stop, 0, 'exit 0');
    conf_test_fails(wrap("log_format f '\$fwd_never';\n    log_format g '\$fwd_never';"), "log_format f",
        qr/unknown variable "\$fwd_never"/, 'a variable defined nowhere: at the first log_format naming it');
}

done_testing();
