#!/usr/bin/perl
# The access log with the proxy (SPEC §5, §6): log_format with variables
# and escape=default|json|none; the combined and json built-ins (every SPEC
# §6 key, parsed with JSON::PP); several access_log per context and their
# inheritance; buffer/flush; if=; whole lines never interleaved across 2
# workers under load (lines over PIPE_BUF, buffered and not); SIGUSR1 reopen
# under load without losing or splitting a line; log_redact_args (logs only:
# the upstream still gets the real query); every $upstream_* variable,
# $upstream_reused included; a client cannot forge or break a line (CR, LF,
# quotes, backslashes, non-UTF-8 bytes in the User-Agent and the URI).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Test::Portcullis::Origin;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);

Test::Portcullis::require_binary();

my $o = Test::Portcullis::Origin->new(name => 'o');
my $O = $o->port;
my $dead = free_port();

my $pc = Test::Portcullis->new(conf => <<"CONF");
error_log logs/error.log info;
worker_processes 2;
events { }
http {
    keepalive_requests 100000;
    log_format full '\$remote_addr "\$request" \$status \$body_bytes_sent ua="\$http_user_agent" uri=\$uri ru=\$request_uri args=\$args '
                    'ua=\$upstream_addr us=\$upstream_status uct=\$upstream_connect_time uht=\$upstream_header_time '
                    'urt=\$upstream_response_time ur=\$upstream_reused rt=\$request_time';
    log_format js escape=json '{"ua":"\$http_user_agent","uri":"\$uri","ru":"\$request_uri","x":"\$http_x_data"}';
    log_format raw escape=none 'RAW \$http_x_data|\$uri';
    log_format dflt escape=default 'DFLT \$http_x_data|\$uri';
    log_format load '\$pid \$request_uri \$http_x_pad END';
    access_log logs/full.log full;
    access_log logs/all.json json;
    access_log logs/combined.log combined;
    log_redact_args token password;
    upstream o { server 127.0.0.1:$O; }
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { proxy_pass http://o; }
        location /js/ { access_log logs/js.log js; access_log logs/raw.log raw; access_log logs/dflt.log dflt; proxy_pass http://o; }
        location /buf/ { access_log logs/buf.log full buffer=64k flush=300ms; proxy_pass http://o; }
        location /cond/ { access_log logs/cond.log full if=\$arg_log; access_log logs/all.json json; proxy_pass http://o; }
        location /load/ { access_log logs/load.log load buffer=32k flush=100ms; proxy_pass http://o; }
        location /loadnb/ { access_log logs/loadnb.log load; proxy_pass http://o; }
        location /local/ { return 200 "local"; }
        location /refused/ { proxy_pass http://127.0.0.1:$dead; }
        location /noredact/ { log_redact_args nothing; proxy_pass http://o; }
    }
    server {
        listen 127.0.0.1:%%PORT2%%;
        access_log logs/srv.log full;
        access_log logs/srv2.log combined;
        access_log logs/uponly.log full if=\$upstream_status;
        location / { proxy_pass http://o; }
        location /local2/ { return 200 "local"; }
    }
}
CONF
my $p = $pc->port;
my @workers = $pc->wait_workers(2);
is(scalar @workers, 2, 'two workers');

sub lines { my ($f) = @_; return grep { length } split /\n/, slurp($pc->path("logs/$f")) }
sub wait_line { my ($f, $re, $t) = @_; return $pc->wait_for_log($re, $t // 5, file => "logs/$f") }

# --- every $upstream_* variable ----------------------------------------------------------------------
{
    http_get($p, '/u1?delay=0.3', 'User-Agent' => 'ua-one');
    my $l = wait_line('full.log', qr{"GET /u1\?delay=0\.3 HTTP/1\.1"});
    like($l // '', qr{^127\.0\.0\.1 "GET /u1\?delay=0\.3 HTTP/1\.1" 200 \d+ ua="ua-one" uri=/u1 ru=/u1\?delay=0\.3 args=delay=0\.3 }, 'log_format with variables');
    my %v = ($l // '') =~ /\b(ua|us|uct|uht|urt|ur|rt)=(\S+)/g;
    is($v{ua}, "127.0.0.1:$O", '$upstream_addr');
    is($v{us}, '200', '$upstream_status');
    like($v{uct} // '', qr/^\d+\.\d{3}$/, '$upstream_connect_time: seconds with ms');
    ok(($v{uht} // 0) >= 0.3 && $v{uht} =~ /^\d+\.\d{3}$/, "\$upstream_header_time covers the 0.3 s delay ($v{uht})");
    ok(($v{urt} // 0) >= $v{uht}, "\$upstream_response_time >= header time ($v{urt})");
    ok(($v{rt} // 0) >= $v{urt}, "\$request_time >= upstream response time ($v{rt})");
    is($v{ur}, '0', '$upstream_reused 0 on a new connection');
    # the same worker reuses its pooled connection: a keep-alive client stays on one worker
    my $c = client($p);
    $c->send("GET /u2 HTTP/1.1\r\nHost: x\r\n\r\nGET /u3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    $c->read_until_close(5);
    $l = wait_line('full.log', qr{"GET /u3 HTTP/1\.1"});
    like($l // '', qr{ uct=0\.000 .* ur=1 }, 'a reused connection: $upstream_reused 1, $upstream_connect_time 0.000');
    http_get($p, '/local/x');
    $l = wait_line('full.log', qr{"GET /local/x HTTP/1\.1"});
    like($l // '', qr{ ua=- us=- uct=- uht=- urt=- ur=- }, 'no upstream: every $upstream_* is "-"');
    http_get($p, '/refused/x');
    $l = wait_line('full.log', qr{"GET /refused/x HTTP/1\.1"});
    like($l // '', qr{ 502 \d+ .* ua=127\.0\.0\.1:$dead us=502 uct=- uht=- urt=\d+\.\d{3} ur=0 }, 'a refused connection: its status and timings');
}

# --- the json built-in: every SPEC §6 key ---------------------------------------------------------------
{
    http_get($p, '/j?a=1&token=T0K3N', 'User-Agent' => 'json-ua', 'Referer' => 'http://ref.example/',
        'Authorization' => 'Bearer SECRETAUTH', 'Cookie' => 'sid=SECRETCOOKIE', 'Proxy-Authorization' => 'Basic SECRETPROXY',
        _host => 'Json.Example');
    my $l = wait_line('all.json', qr{"/j\?a=1});
    my $j = eval { decode_json($l // '') } // {};
    ok(%$j, 'json: the line is one JSON object') or diag($l);
    my @keys = qw(time remote_addr method uri protocol status bytes_sent request_time upstream_addr upstream_status
                  upstream_response_time upstream_reused request_id trace_id host user_agent referer ssl_protocol
                  ssl_client_s_dn ssl_client_verify limit_req_status geoip_country_code);
    is(scalar(grep { exists $j->{$_} } @keys), scalar @keys, 'json: every SPEC §6 key') or diag(join ' ', grep { !exists $j->{$_} } @keys);
    like($j->{time} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(?:Z|[+-]\d\d:\d\d)$/, 'json: time is ISO 8601 with ms');
    is($j->{method}, 'GET', 'json: method');
    is($j->{uri}, '/j?a=1&token=***', 'json: uri, redacted');
    is($j->{protocol}, 'HTTP/1.1', 'json: protocol');
    is($j->{status}, 200, 'json: status');
    like($j->{request_time} // '', qr/^\d+(?:\.\d+)?$/, 'json: request_time is a number');
    is($j->{upstream_addr}, "127.0.0.1:$O", 'json: upstream_addr');
    is($j->{upstream_status}, '200', 'json: upstream_status');
    like($j->{upstream_response_time} // '', qr/^\d+\.\d{3}$/, 'json: upstream_response_time');
    like($j->{upstream_reused} // '', qr/^[01]$/, 'json: upstream_reused');
    is($j->{host}, 'json.example', 'json: host');
    is($j->{user_agent}, 'json-ua', 'json: user_agent');
    is($j->{referer}, 'http://ref.example/', 'json: referer');
    unlike($l // '', qr/SECRET|T0K3N/, 'json: Authorization, Cookie, Proxy-Authorization and redacted args never logged');
    my ($req) = grep { $_->{uri} =~ m{^/j\?} } $o->requests;
    is($req && $req->{uri}, '/j?a=1&token=T0K3N', 'log_redact_args affects the logs only: the upstream gets the real query');

    $l = wait_line('combined.log', qr{"GET /j\?a=1});
    like($l // '', qr{^127\.0\.0\.1 - - \[[^\]]+\] "GET /j\?a=1&token=\*\*\* HTTP/1\.1" 200 \d+ "http://ref\.example/" "json-ua"$}, 'combined: the nginx line, redacted');
    unlike($l // '', qr/SECRET/, 'combined: no credentials');
    $l = wait_line('full.log', qr{"GET /j\?a=1});
    like($l // '', qr{ ru=/j\?a=1&token=\*\*\* args=a=1&token=\*\*\* }, 'redacted in $request_uri and $args too');

    http_get($p, '/noredact/x?token=VISIBLE&password=pw');
    $l = wait_line('full.log', qr{"GET /noredact/x});
    like($l // '', qr{token=VISIBLE&password=pw}, 'log_redact_args in a location replaces the inherited list');
    http_get($p, '/r?password=hunter2&passwordx=keep&token=&a=b');
    $l = wait_line('full.log', qr{"GET /r\?});
    like($l // '', qr{args=password=\*\*\*&passwordx=keep&token=\*\*\*&a=b }, 'redaction matches whole argument names, empty values too');
}

# --- several access_log per context, inheritance, escape= ----------------------------------------------
{
    http_get($p, '/js/a%22b%5Cc', 'User-Agent' => "q\"uo\\te", 'X-Data' => "d\"1\\2");
    my $l = wait_line('js.log', qr{a\\"b});
    my $j = eval { decode_json($l // '') } // {};
    is($j->{ua}, "q\"uo\\te", 'escape=json: quotes and backslashes survive a JSON round trip');
    is($j->{uri}, "/js/a\"b\\c", 'escape=json: the decoded $uri too');
    is($j->{x}, "d\"1\\2", 'escape=json: $http_x_data');
    $l = wait_line('raw.log', qr{^RAW });
    is($l, "RAW d\"1\\2|/js/a\"b\\c", 'escape=none: bytes as they are');
    $l = wait_line('dflt.log', qr{^DFLT });
    is($l, 'DFLT d\x221\x5c2|/js/a\x22b\x5cc', 'escape=default: \xHH for " and \\');
    ok(!grep({ m{/js/} } lines('full.log'), lines('combined.log')), 'a location with its own access_log does not write the inherited ones');
    my @three = map { [lines($_)] } qw(full.log all.json combined.log);
    http_get($p, '/three');
    ok(wait_line('full.log', qr{/three}) && wait_line('all.json', qr{/three}) && wait_line('combined.log', qr{/three}),
        'three access_log in http: a request goes to all three');

    http_get($pc->port(2), '/srv');
    ok(wait_line('srv.log', qr{"GET /srv HTTP/1\.1"}) && wait_line('srv2.log', qr{"GET /srv HTTP/1\.1"}), 'two access_log in a server');
    ok(!grep({ m{/srv} } lines('full.log')), 'the server-level ones replace the http-level ones');
    http_get($pc->port(2), '/local2/x');
    http_get($pc->port(2), '/srv-last');
    ok(wait_line('uponly.log', qr{/srv-last}), 'if=$upstream_status: proxied requests logged');
    ok(!grep({ m{/local2/} } lines('uponly.log')), 'if=$upstream_status: a request answered locally is not');
}

# --- buffer/flush, if= -----------------------------------------------------------------------------------
{
    my $t0 = time();
    http_get($p, '/buf/one');
    my $seen_at;
    wait_until(sub { (slurp($pc->path('logs/buf.log')) =~ m{/buf/one}) && ($seen_at = time()) }, 5, 0.01);
    ok($seen_at, 'buffer=64k flush=300ms: the line is written');
    ok($seen_at && $seen_at - $t0 < 1.0, sprintf('... within flush (%.2fs)', ($seen_at // 0) - $t0));
    http_get($p, "/cond/x?log=$_") for qw(1 0 yes);
    http_get($p, '/cond/y');
    ok(wait_line('all.json', qr{/cond/y}), 'if=: the unconditional log of the same location has every request');
    my @c = grep { m{/cond/} } lines('cond.log');
    is(scalar @c, 2, 'if=$arg_log: logged for "1" and "yes", not for "0" or empty');
}

# --- a client cannot forge or break a line ---------------------------------------------------------------
{
    my $before = () = lines('combined.log');
    http_get($p, '/f%0D%0A127.0.0.1%20-%20-%20%5Bforged%5D?q=%0a', 'User-Agent' => "x\" 200 0 \"-\" \"evil", 'X-Data' => "\xff\xfe");
    my ($raw) = http_raw($p, "GET /lf HTTP/1.1\r\nHost: x\r\nUser-Agent: a\nFake: line\r\nConnection: close\r\n\r\n");
    my ($raw2) = http_raw($p, "GET /cr\r HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    http_get($p, '/js/u8%7F%1B[31mred', 'X-Data' => "caf\xc3\xa9 \xff\xfe", 'User-Agent' => "\xc3(\xa0\xa1");
    http_get($p, '/after-forge');
    ok(wait_line('combined.log', qr{/after-forge}), 'later requests logged');
    my @new = (lines('combined.log'))[$before .. (() = lines('combined.log')) - 1];
    ok(@new >= 4, 'one line per request, including the malformed ones');
    ok(!grep({ !/^127\.0\.0\.1 - - \[[^\]]+\] "[^"]*" \d{3} \d+ "[^"]*" "[^"]*"$/ } @new), 'combined: every line has exactly the combined shape (no forged field or line)')
        or diag(join "\n", @new);
    my ($f) = grep { m{/f} } lines('full.log');
    like($f // '', qr{uri=/f\\x0D\\x0A127\.0\.0\.1}i, 'CR LF decoded into $uri are escaped');
    like($f // '', qr{ua="x\\x22 200 0 \\x22-\\x22 \\x22evil"}, 'quotes in the User-Agent are escaped');
    http_get($p, '/bin8', 'User-Agent' => "\xff\xfe bin \xe2\x82\xac");
    my $b8 = eval { decode_json(wait_line('all.json', qr{"/bin8"}) // '') };
    is($b8 && $b8->{user_agent}, "\x{ff}\x{fe} bin \x{20ac}", 'json: non-UTF-8 bytes as \u00HH, valid UTF-8 kept');
    # values that escape to 84 KB fit (a line holds 256 KiB of values): nothing is cut
    http_get($p, '/long', 'User-Agent' => "\xff" x 7000, 'Referer' => "\xfe" x 7000, 'X-Data' => '"' x 7000);
    my $lj = wait_line('all.json', qr{"/long"});
    my $long = eval { decode_json($lj // '') };
    ok($long && exists $long->{geoip_country_code}, sprintf('json: a line with 84 KB of escaped values is still whole, valid JSON (%d bytes)', length($lj // '')));
    ok($long && $long->{user_agent} eq "\x{ff}" x 7000 && $long->{referer} eq "\x{fe}" x 7000, 'json: the long values are whole, not mangled');
    is($long && $long->{status}, 200, 'json: the status after them is whole');
    my $lf = wait_line('full.log', qr{"GET /long HTTP/1\.1"});
    ok(($lf // "") =~ m{ 200 \d+ ua="(?:\\xff){7000}" .* ur=\d rt=\d+\.\d{3}$}, 'text format: the long value and the end of the line are kept');
    my @j = lines('all.json');
    ok(@j >= 10 && !grep({ !eval { decode_json($_); 1 } } @j), 'json: every line of the file is valid JSON')
        or diag(join "\n", grep { !eval { decode_json($_); 1 } } @j);
    my $l = wait_line('js.log', qr{u8});
    my $jj = eval { decode_json($l // '') };
    ok($jj, 'escape=json: a value with invalid UTF-8 still gives valid JSON') or diag($l);
    like($jj && $jj->{x}, qr/^caf\x{e9} /, 'escape=json: valid UTF-8 is kept as is');
    is($jj && $jj->{uri}, "/js/u8\x7f\x1b[31mred", 'escape=json: DEL and ESC escaped, decoded back');
    unlike($l // '', qr/[\x00-\x1f\x7f]/, 'escape=json: no raw control byte in the line');
    $l = wait_line('dflt.log', qr{u8});
    is($l, 'DFLT caf\xc3\xa9 \xff\xfe|/js/u8\x7f\x1b[31mred', 'escape=default: bytes >= 0x7f and controls as \xHH');
}

# --- two workers under load: whole lines; SIGUSR1 reopen loses and splits nothing ----------------------------
# Client connections are opened until both workers hold some (each probe
# request's line names the worker's pid); then a child process drives
# requests on all of them, alternating a buffered and an unbuffered log,
# until $stop exists, and writes its counts.
my @conns;
my %probe_pid;
for my $i (1 .. 80) {
    my $c = client($p);
    $c->send("GET /loadnb/probe$i HTTP/1.1\r\nHost: x\r\nX-Pad: p\r\n\r\n");
    my $r = $c->read_response(timeout => 5);
    my $l = wait_line('loadnb.log', qr{^\d+ /loadnb/probe$i p END$});
    $probe_pid{(split / /, $l // '0')[0]}++;
    push @conns, $c;
    last if keys %probe_pid >= 2 && @conns >= 8;
    sleep(0.01);
}
is(scalar keys %probe_pid, 2, 'client connections held by both workers (' . scalar(@conns) . ' connections)');
my $nprobes = @conns;
sub load {
    my ($stop, $out) = @_;
    my $pid = fork() // die "fork: $!";
    return $pid if $pid;
    my $pad = 'p' x 5000;       # lines over PIPE_BUF
    my %count = (load => 0, loadnb => 0);
    my ($i, $round) = (0, 0);
    my $deadline = time() + 15;
    while (!-e $stop && time() < $deadline) {
        my @kind;
        $round++;
        sleep(0.003);
        for my $k (0 .. $#conns) {
            my $kind = ($round + $k) % 2 ? 'load' : 'loadnb';
            push @kind, $kind;
            $i++;
            $conns[$k]->send("GET /$kind/a$k-$i HTTP/1.1\r\nHost: x\r\nX-Pad: $pad\r\n\r\n");
        }
        for my $k (0 .. $#conns) {
            my $r = $conns[$k]->read_response(timeout => 5);
            $count{$kind[$k]}++ if $r && $r->{status} == 200;
        }
    }
    spew($out, "$count{load} $count{loadnb}\n");
    POSIX::_exit(0);
}
sub wait_load { my ($pid) = @_; my $t = time() + 20; while (time() < $t) { return 1 if waitpid($pid, WNOHANG) == $pid; sleep(0.02) } kill 'KILL', $pid; waitpid($pid, 0); return 0 }
{
    my $dir = $pc->prefix;
    my $stop = "$dir/stop1";
    my $pid = load($stop, "$dir/count");
    sleep(0.5);
    my $f = $pc->path('logs/load.log');
    rename($f, "$f.1") or die "rename: $!";
    my $fnb = $pc->path('logs/loadnb.log');
    rename($fnb, "$fnb.1") or die "rename: $!";
    kill 'USR1', $pc->pid;
    ok(wait_until(sub { -s $f && -s $fnb }, 5), 'USR1: the access logs are reopened (new files)');
    sleep(0.5);
    spew($stop, '');
    ok(wait_load($pid), 'load finished');
    $_->close for @conns;
    my ($n1, $n2) = slurp("$dir/count") =~ /(\d+) (\d+)/;
    $n2 += $nprobes if defined $n2;
    cmp_ok($n1 // 0, '>', 100, "load: $n1 buffered-log requests");
    cmp_ok($n2 // 0, '>', 100, "load: $n2 unbuffered-log requests");
    for my $case (['load.log', $n1, 'buffered'], ['loadnb.log', $n2, 'unbuffered']) {
        my ($file, $n, $what) = @$case;
        my $path = $pc->path("logs/$file");
        my @all;
        wait_until(sub { @all = grep { length } map { split /\n/, slurp($_) } "$path.1", $path; @all >= ($n // 0) }, 5);
        is(scalar @all, $n, "$what: lines in the old and the new file = requests ($n): nothing lost or duplicated by the reopen");
        my @bad = grep { !/^\d+ \/load(?:nb)?\/(?:a\d+-\d+ p{5000}|probe\d+ p) END$/ } @all;
        is(scalar @bad, 0, "$what: every line whole (5 KB lines, two workers, a reopen)") or diag(substr($bad[0], 0, 200));
        my %pids = map { (split / /)[0] => 1 } @all;
        is(scalar keys %pids, 2, "$what: both workers wrote to the file");
        ok(grep({ length } split /\n/, slurp("$path.1")) > 0 && grep({ length } split /\n/, slurp($path)) > 0,
            "$what: lines before the reopen in the old file, after it in the new one");
        ok(slurp("$path.1") =~ /\n\z/ && slurp($path) =~ /\n\z/, "$what: both files end with a whole line");
    }
}
ok(!$pc->log_lines(qr/\[(?:alert|crit|emerg)\]/), 'no alert/crit in the error log');
is($pc->stop, 0, 'exit 0');

# --- directives: valid and invalid values ------------------------------------------------------------------
sub wrap { my ($http, $loc) = @_; $loc //= ''; return "error_log logs/error.log info;\nevents { }\nhttp {\n    $http\n    server {\n        listen 127.0.0.1:%%PORT%%;\n        location / { $loc proxy_pass http://127.0.0.1:$O; }\n    }\n}\n" }
conf_test_ok(wrap("log_format u escape=json '{\"a\":\"\$upstream_addr\",\"r\":\"\$upstream_reused\",\"t\":\"\$upstream_header_time\"}';\n    access_log logs/u.log u buffer=4k flush=2s if=\$upstream_status;"), 'log_format with $upstream_* variables, access_log with every parameter');
conf_test_ok(wrap("log_format main json;\n    access_log logs/a.log main;"), 'log_format NAME json (alias of the built-in)');
conf_test_ok(wrap("log_format multi '\$remote_addr ' '\$status';\n    access_log logs/a.log multi;", "access_log logs/b.log combined;"), 'log_format in several strings; access_log in a location');
conf_test_ok(wrap("log_redact_args token;", "log_redact_args a b;"), 'log_redact_args in http and location');
conf_test_fails(wrap("log_format f escape=xml '\$uri';"), 'log_format', qr/escape|xml/, 'log_format escape=xml');
conf_test_fails(wrap("log_format f '\$upstream_nope';"), 'log_format', qr/upstream_nope/, 'log_format unknown $upstream_ variable');
conf_test_fails(wrap("log_format f '\${uri';"), 'log_format', qr/variable/, 'log_format unterminated ${');
conf_test_fails(wrap("access_log logs/a.log combined buffer=100;"), 'access_log', qr/buffer|100/, 'access_log buffer below 256');
conf_test_fails(wrap("access_log logs/a.log combined buffer=32m;"), 'access_log', qr/buffer|32m/, 'access_log buffer over 16m');
conf_test_fails(wrap("access_log logs/a.log combined flush=0;"), 'access_log', qr/flush/, 'access_log flush=0');
conf_test_fails(wrap("access_log logs/a.log combined if=\$nope_var;"), 'access_log', qr/nope_var/, 'access_log if= unknown variable');
conf_test_fails(wrap("", "log_redact_args;"), 'log_redact_args', qr/log_redact_args/, 'log_redact_args without names');
conf_test_fails(wrap("log_redact_args a;\n    log_redact_args b;"), 'log_redact_args b', qr/duplicate|log_redact_args/, 'log_redact_args twice in one context');
conf_test_fails(wrap("", "log_format f 'x';"), 'log_format', qr/log_format/, 'log_format in a location');
{
    # -t reports a missing log directory
    my $t = Test::Portcullis->new(start => 0, conf => wrap("access_log /nonexistent-dir-pc/a.log combined;"));
    my $r = $t->run('-t');
    ok($r->{exit} == 1 && $r->{output} =~ /nonexistent-dir-pc/, '-t: an access_log in a missing directory is an error');
}
# --- SIGHUP: a changed log_format applies --------------------------------------------------------------------
{
    my $conf = "error_log logs/error.log info;\nevents { }\nhttp {\n    log_format f 'V1 \$request_uri \$upstream_status';\n    access_log logs/h.log f;\n"
        . "    server { listen 127.0.0.1:%%PORT%%; location / { proxy_pass http://127.0.0.1:$O; } }\n}\n";
    my $h = Test::Portcullis->new(conf => $conf);
    http_get($h->port, '/v1');
    ok($h->wait_for_log(qr{^V1 /v1 200$}, 5, file => 'logs/h.log'), 'log_format before reload');
    $h->write_conf($conf =~ s/V1/V2/r);
    ok(defined $h->reload, 'reload with a changed log_format');
    ok(wait_until(sub { http_get($h->port, '/v2'); slurp($h->path('logs/h.log')) =~ m{^V2 /v2 200$}m }, 10, 0.1), 'log_format after reload');
    is($h->stop, 0, 'exit 0');
}
done_testing();
