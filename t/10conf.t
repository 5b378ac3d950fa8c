#!/usr/bin/perl
# Configuration language and -t / -T (SPEC §1, §3).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use IO::Socket::INET;

Test::Portcullis::require_binary();

my $GOOD = <<'CONF';
error_log logs/error.log info;
worker_processes 1;
events { worker_connections 128; }
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { return 200 "ok\n"; }
    }
}
CONF

# --- -t success ---------------------------------------------------------
{
    my $pc = Test::Portcullis->new(conf => $GOOD, start => 0);
    my $r = $pc->run('-t');
    is($r->{exit}, 0, '-t on a valid config exits 0');
    like($r->{output}, qr/configuration file \Q${\ $pc->conf_path}\E test is successful/,
        '-t prints "configuration file X test is successful"');
    ok(!-e $pc->path('logs/portcullis.pid'), '-t does not write a pid file');
    ok(!Test::Portcullis::port_listening($pc->port), '-t does not listen');
}

# --- -t errors: each one "portcullis: [emerg] MESSAGE in FILE:LINE" -----
sub wrap_main { my ($main) = @_; return "error_log logs/error.log info;\n$main\nevents { }\nhttp { server { listen 127.0.0.1:%%PORT%%; location / { return 200 \"ok\"; } } }\n" }

conf_test_fails(wrap_main("worker_processes 1;\nfoo_bar_directive 1;"),
    'foo_bar_directive', qr/unknown directive "foo_bar_directive"/, 'unknown directive');
conf_test_fails(wrap_main("worker_connections 10;"),
    'worker_connections', qr/worker_connections/, 'directive in the wrong context (main)');
conf_test_fails(<<'CONF', 'listen 127.0.0.1', qr/listen/, 'listen in http context');
error_log logs/error.log info;
events { }
http {
    listen 127.0.0.1:%%PORT%%;
    server { listen 127.0.0.1:%%PORT%%; }
}
CONF
conf_test_fails(<<'CONF', 'return 200', qr/return/, 'return in http context');
error_log logs/error.log info;
events { }
http {
    return 200 "x";
    server { listen 127.0.0.1:%%PORT%%; }
}
CONF
conf_test_fails(wrap_main("worker_processes 1 2;"),
    'worker_processes', qr/number of arguments|worker_processes/, 'too many arguments');
conf_test_fails(wrap_main("worker_processes;"),
    'worker_processes', qr/number of arguments|worker_processes/, 'too few arguments');
conf_test_fails(wrap_main("worker_processes 1;\nworker_processes 2;"),
    'worker_processes 2', qr/duplicate|worker_processes/, 'duplicate directive');
conf_test_fails(<<'CONF', 'client_max_body_size 10x', qr/client_max_body_size|10x/, 'bad size');
error_log logs/error.log info;
events { }
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        client_max_body_size 10x;
    }
}
CONF
conf_test_fails(<<'CONF', 'keepalive_timeout 5q', qr/keepalive_timeout|5q/, 'bad duration');
error_log logs/error.log info;
events { }
http {
    keepalive_timeout 5q;
    server { listen 127.0.0.1:%%PORT%%; }
}
CONF
conf_test_fails(<<'CONF', 'worker_connections 10 }', qr/;|terminated/, "missing ';' before '}'");
error_log logs/error.log info;

events { worker_connections 10 }
http { server { listen 127.0.0.1:%%PORT%%; } }
CONF
conf_test_fails(<<'CONF', 'stray', qr/\}|unexpected/, "unbalanced '}'");
error_log logs/error.log info;
events { }
http { server { listen 127.0.0.1:%%PORT%%; } }
} # stray
CONF
# EOF inside a block / a quote: the file ends on the line that opens it.
conf_test_fails("error_log logs/error.log info;\nevents { }\nhttp { server { listen 127.0.0.1:%%PORT%%;",
    'http {', qr/end of file|\}|unexpected/, "unbalanced '{' (end of file inside a block)");
conf_test_fails("error_log logs/error.log info;\nevents { }\nhttp { server { location / { return 200 \"abc",
    'return 200', qr/quote|end of file|unterminated/, 'unterminated quote');
conf_test_fails(wrap_main("pid \${PC_TEST_SURELY_UNSET_VAR};"),
    'PC_TEST_SURELY_UNSET_VAR', qr/PC_TEST_SURELY_UNSET_VAR/, 'unset ${VAR}');

# Block directives: arguments, the block itself, duplicates.
conf_test_fails("error_log logs/error.log info;\nevents { }\nhttp extra { server { listen 127.0.0.1:%%PORT%%; } }\n",
    'http extra', qr/http/, 'http with an argument');
conf_test_fails("error_log logs/error.log info;\nevents { }\nhttp;\n", 'http;', qr/http|\{/, 'http without a block');
conf_test_fails("error_log logs/error.log info;\nevents 1 { }\nhttp { server { listen 127.0.0.1:%%PORT%%; } }\n",
    'events 1', qr/events/, 'events with an argument');
conf_test_fails("error_log logs/error.log info;\nevents { }\nevents { }\nhttp { server { listen 127.0.0.1:%%PORT%%; } }\n",
    "events { }\nhttp", qr/events|duplicate/, 'duplicate events block', line => 3);
conf_test_fails("error_log logs/error.log info;\nevents { }\nhttp { server { listen 127.0.0.1:%%PORT%%; } }\nhttp { }\n",
    'http { }', qr/http|duplicate/, 'duplicate http block');
conf_test_fails("error_log logs/error.log info;\nevents { }\nhttp {\n    server name { listen 127.0.0.1:%%PORT%%; }\n}\n",
    'server name', qr/server/, 'server with an argument');
conf_test_fails("error_log logs/error.log info;\nevents { }\nhttp {\n    server { listen 127.0.0.1:%%PORT%%; server { } }\n}\n",
    'server {', qr/server/, 'server inside a server');
conf_test_fails("error_log logs/error.log info;\nevents { }\nserver { listen 127.0.0.1:%%PORT%%; }\n",
    'server {', qr/server/, 'server in the main context');
conf_test_fails("error_log logs/error.log info;\nevents { }\nhttp {\n    include;\n    server { listen 127.0.0.1:%%PORT%%; }\n}\n",
    'include;', qr/include/, 'include without a file');
conf_test_fails("error_log logs/error.log info;\nevents { worker_connections 1k; }\nhttp { server { listen 127.0.0.1:%%PORT%%; } }\n",
    'worker_connections', qr/worker_connections|1k/, 'a number where a count is expected');

# All semantic errors are reported, not just the first.
{
    my $conf = <<'CONF';
error_log logs/error.log info;
foo_unknown_one;
worker_processes 1;
worker_processes 2;
events { }
http {
    keepalive_timeout 5q;
    server {
        listen 127.0.0.1:%%PORT%%;
        client_max_body_size 10x;
        location / { bar_unknown_two on; return 200 "ok"; }
    }
}
CONF
    my $pc = Test::Portcullis->new(conf => $conf, start => 0);
    my $r = $pc->run('-t');
    is($r->{exit}, 1, 'several errors: exit 1');
    my $f = $pc->conf_path;
    for my $case ([2, 'foo_unknown_one'], [4, 'worker_processes'], [7, 'keepalive_timeout'],
                  [10, 'client_max_body_size'], [11, 'bar_unknown_two']) {
        like($r->{output}, qr/^portcullis: \[emerg\] [^\n]*\Q$case->[1]\E[^\n]* in \Q$f\E:$case->[0]$/m,
            "several errors: line $case->[0] ($case->[1]) reported");
    }
    my @emerg = $r->{output} =~ /^portcullis: \[emerg\]/mg;
    is(scalar @emerg, 5, 'several errors: exactly five [emerg] lines') or diag($r->{output});
    unlike($r->{output}, qr/test is successful/, 'several errors: no success message');
}

# Several unset environment variables are all reported.
{
    my $pc = Test::Portcullis->new(start => 0, conf => <<'CONF');
error_log logs/error.log info;
pid ${PC_T_UNSET_A};
events { }
http { server { listen 127.0.0.1:%%PORT%%; location / { return 200 "${PC_T_UNSET_B}"; } } }
CONF
    my $r = $pc->run('-t', { env => {} });
    is($r->{exit}, 1, 'two unset variables: exit 1');
    my $f = $pc->conf_path;
    like($r->{output}, qr/\[emerg\] [^\n]*PC_T_UNSET_A[^\n]* in \Q$f\E:2$/m, 'first unset variable reported');
    like($r->{output}, qr/\[emerg\] [^\n]*PC_T_UNSET_B[^\n]* in \Q$f\E:4$/m, 'second unset variable reported');
}

# ${VAR} and ${VAR:-default} substituted at load time.
{
    local $ENV{PC_T_UNSET_C};
    delete $ENV{PC_T_UNSET_C};
    my $pc = Test::Portcullis->new(env => { PC_T_SET => 'from-env' },
        unset => ['PC_T_UNSET_C'], start => 0, conf => <<'CONF');
error_log logs/error.log info;
events { }
http {
    server {
        listen 127.0.0.1:${PC_T_LISTEN};
        location / { return 200 "a=${PC_T_SET} b=${PC_T_UNSET_C:-dflt} c=${PC_T_SET:-unused}"; }
    }
}
CONF
    $pc->{env}{PC_T_LISTEN} = $pc->port;
    ok($pc->start, 'server with ${VAR} in listen starts');
    my $r = http_get($pc->port, '/');
    is($r->{body}, 'a=from-env b=dflt c=from-env', '${VAR} and ${VAR:-default} substituted');
    is($pc->stop, 0, 'stops with exit 0');
}

# --- include: glob, sorted, relative to the including file ----------------
{
    my $pc = Test::Portcullis->new(start => 0, conf => <<'CONF', files => {
error_log logs/error.log info;
events { }
http {
    include sites/*.conf;
}
CONF
        # created in reverse order; glob order must still be a, b, c
        'conf/sites/c.conf' => "server { listen 127.0.0.1:%%PORT%%; server_name c.test; location / { return 200 \"c\"; } }\n",
        'conf/sites/b.conf' => "server { listen 127.0.0.1:%%PORT%%; server_name b.test; location / { return 200 \"b\"; } }\n",
        'conf/sites/a.conf' => "server {\n listen 127.0.0.1:%%PORT%%;\n server_name a.test;\n location / { return 200 \"a\"; }\n}\n",
        'conf/sites/ignored.txt' => "this is not a config;\n",
        # decoys: where a prefix- or cwd-relative include would look
        'sites/a.conf' => "decoy_wrong_base;\n",
    });
    my $r = $pc->run('-t');
    is($r->{exit}, 0, 'include glob relative to the including file: -t ok') or diag($r->{output});
    my $d = $pc->run('-T');
    is($d->{exit}, 0, '-T exits 0');
    like($d->{output}, qr/test is successful/, '-T also prints the -t verdict');
    my $dump = $d->{stdout};
    like($dump, qr/server_name\s+a\.test.*server_name\s+b\.test.*server_name\s+c\.test/s,
        '-T dumps included files expanded, in sorted glob order');
    unlike($dump, qr/decoy_wrong_base|not a config/, '-T: only the matched files');
    like($dump, qr/return\s+200\s+"?a"?/, '-T dump shows directives of included files');

    ok($pc->start, 'server with included files starts');
    is(http_get($pc->port, '/', _host => 'unknown.test')->{body}, 'a',
        'first included server (sorted: a.conf) is the default');
    is(http_get($pc->port, '/', _host => 'c.test')->{body}, 'c', 'c.conf server answers');
    is($pc->stop, 0, 'stops with exit 0');
}

# An error in an included file names that file and its line.
{
    my $conf = "error_log logs/error.log info;\nevents { }\nhttp {\n    include inc/*.conf;\n}\n";
    my $ok = conf_test_fails($conf, 'unused', qr/bad_in_include/, 'error inside an included file',
        files => { 'conf/inc/x.conf' => "server {\n    listen 127.0.0.1:%%PORT%%;\n    bad_in_include on;\n}\n" },
        file => 'conf/inc/x.conf', line => 3);
}
{
    # errors from several included files come in sorted file order
    my $pc = Test::Portcullis->new(start => 0, conf => "error_log logs/error.log info;\nevents { }\nhttp {\n    include inc/*.conf;\n}\n",
        files => {
            'conf/inc/2.conf' => "bad_two on;\n",
            'conf/inc/1.conf' => "\nbad_one on;\n",
        });
    my $r = $pc->run('-t');
    is($r->{exit}, 1, 'errors in two included files: exit 1');
    my $p = $pc->prefix;
    like($r->{output}, qr/bad_one[^\n]* in \Q$p\E\/conf\/inc\/1\.conf:2\n(?:.*\n)*?.*bad_two[^\n]* in \Q$p\E\/conf\/inc\/2\.conf:1$/m,
        'both reported, in sorted glob order, with their own FILE:LINE') or diag($r->{output});
}
conf_test_fails("error_log logs/error.log info;\nevents { }\nhttp {\n    include missing/none.conf;\n}\n",
    'include missing', qr/none\.conf|missing/, 'include of a missing file (no wildcard) fails');
conf_test_ok("error_log logs/error.log info;\nevents { }\nhttp {\n    include empty/*.conf;\n    server { listen 127.0.0.1:%%PORT%%; }\n}\n",
    'include glob that matches nothing');

# -T on a broken config: exit 1 and no success message.
{
    my $pc = Test::Portcullis->new(start => 0, conf => wrap_main("bogus_main_directive;"));
    my $r = $pc->run('-T');
    is($r->{exit}, 1, '-T on a broken config exits 1');
    unlike($r->{output}, qr/test is successful/, '-T on a broken config: no success message');
}

# Missing config file.
{
    my $r = Test::Portcullis->run_bin('-t', '-p', '/tmp/', '-c', '/nonexistent/portcullis.conf');
    is($r->{exit}, 1, '-t with a missing config file exits 1');
    like($r->{output}, qr/\/nonexistent\/portcullis\.conf/, '... naming the file');
}

# Quoting and escapes reach the response intact.
{
    my $pc = Test::Portcullis->new(conf => <<'CONF');
error_log logs/error.log info;
events { }
http {
    server {
        listen 127.0.0.1:%%PORT%%;   # comment after a directive
        location = /q { return 200 "dq \"x\" \\ tab\tnl\n"; }
        location = /s { return 200 'sq "y" \'z\''; }
        # location = /c { return 200 "commented"; }
    }
}
CONF
    is(http_get($pc->port, '/q')->{body}, "dq \"x\" \\ tab\tnl\n", 'double-quoted escapes');
    is(http_get($pc->port, '/s')->{body}, "sq \"y\" 'z'", 'single-quoted escapes');
    is(http_get($pc->port, '/c')->{status}, 404, 'commented-out location does not exist');
    is($pc->stop, 0, 'stop');
}

# --- exit codes: port in use -> exit 2 naming the address --------------------
{
    my $holder = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
        Listen => 5, Proto => 'tcp', ReuseAddr => 0) or die "bind: $!";
    my $port = $holder->sockport;
    my $pc = Test::Portcullis->new(start => 0, conf => <<"CONF");
error_log logs/error.log info;
events { }
http { server { listen 127.0.0.1:$port; location / { return 200 "ok"; } } }
CONF
    ok($pc->start(expect_exit => 1), 'port in use: the process ends by itself');
    is($pc->exit_code, 2, 'port in use: exit code 2');
    my $all = $pc->stderr . $pc->error_log;
    like($all, qr/127\.0\.0\.1:$port/, 'port in use: message names the address');
    like($all, qr/bind\(\) to 127\.0\.0\.1:$port failed \(listen in \S+portcullis\.conf:3\)/,
        'port in use: and the listen line');

    # the same at a reload: the old configuration keeps serving
    my $ok = Test::Portcullis->new(conf => "error_log logs/error.log info;\nevents { }\n"
        . "http { server { listen 127.0.0.1:%%PORT%%; location / { return 200 \"ok\"; } } }\n");
    $ok->write_conf("error_log logs/error.log info;\nevents { }\nhttp {\n"
        . "    server { listen 127.0.0.1:%%PORT%%; location / { return 200 \"ok\"; } }\n"
        . "    server { listen 127.0.0.1:$port; }\n}\n");
    ok(!defined $ok->reload, 'reload adding a listen on a port in use: refused');
    like($ok->{reload_error} // '', qr/bind\(\) to 127\.0\.0\.1:$port failed \(listen in \S+portcullis\.conf:5\)/,
        'reload: the error names the address and the listen line');
    is(http_get($ok->port, '/')->{body}, 'ok', 'reload: the old configuration still serves');
    is($ok->stop, 0, 'exit 0');
    close($holder);
}

# Runtime failure at start other than config: unwritable error log -> not 0.
{
    my $pc = Test::Portcullis->new(start => 0, conf => <<'CONF');
error_log /nonexistent-dir/error.log info;
events { }
http { server { listen 127.0.0.1:%%PORT%%; location / { return 200 "ok"; } } }
CONF
    ok($pc->start(expect_exit => 1), 'unopenable error log: the process ends by itself');
    ok(defined $pc->exit_code && $pc->exit_code != 0, 'unopenable error log: non-zero exit')
        or diag('exit ' . ($pc->exit_code // 'undef'));
    like($pc->stderr, qr{/nonexistent-dir/error\.log}, 'unopenable error log: names the file');
}

# --- -t reports every error in one go (SPEC §1) -------------------------
# An error in one block (dispatch) does not hide the semantic errors of
# another (certificate files, upstream resolution): each is printed with
# its own FILE:LINE and -t exits 1.
sub all_errors {
    my ($conf, $name, @want) = @_;
    my $pc = Test::Portcullis->new(conf => $conf, start => 0);
    my $text = $pc->expand($conf);
    my @l = split /\n/, $text, -1;
    my $r = $pc->run('-t');
    is($r->{exit}, 1, "$name: -t exits 1");
    for my $w (@want) {
        my ($marker, $re) = @$w;
        my ($line) = grep { index($l[$_ - 1], $marker) >= 0 } 1 .. @l;
        like($r->{output},
            qr/^portcullis: \[emerg\] (?=.*$re).* in \Q${\ $pc->conf_path}\E:$line$/m,
            "$name: reports $marker (line $line)");
    }
    return $r;
}

{
    my $r = all_errors(<<'CONF', 'three blocks',
error_log logs/error.log info;
events { }
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        no_such_directive on;
        location / { return 200 "a"; }
    }
    server {
        listen 127.0.0.1:%%PORT2%% ssl;
        ssl_certificate     tls/missing.pem;
        ssl_certificate_key tls/missing.key;
    }
    server {
        listen 127.0.0.1:%%PORT3%%;
        location / { proxy_pass http://no-such-host.invalid:8080; }
    }
}
CONF
        [ 'no_such_directive', qr/unknown directive "no_such_directive"/ ],
        [ 'tls/missing.pem', qr/missing\.pem/ ],
        [ 'no-such-host.invalid', qr/no-such-host\.invalid/ ]);
    unlike($r->{output}, qr/test is successful/, 'three blocks: not "successful"');
}

# Follow-on errors are not reported: what the rejected directive would
# have defined is not "missing" or "unknown" a second time.
{
    my $r = all_errors(<<'CONF', 'rejected upstream',
error_log logs/error.log info;
events { }
http {
    upstream backend {
        server 127.0.0.1:1 weight=0;
    }
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { proxy_pass http://backend; }
    }
}
CONF
        [ 'weight=0', qr/weight/ ]);
    unlike($r->{output}, qr/backend"?: |host not found|resolve/i,
        'rejected upstream: proxy_pass does not then try it as a host name')
        or diag($r->{output});
    my @emerg = $r->{output} =~ /^portcullis: \[emerg\]/mg;
    is(scalar @emerg, 1, 'rejected upstream: exactly one error') or diag($r->{output});
}
{
    my $r = all_errors(<<'CONF', 'rejected certificate',
error_log logs/error.log info;
events { }
http {
    server {
        listen 127.0.0.1:%%PORT%% ssl;
        ssl_certificate tls/a.pem tls/b.pem;
        ssl_certificate_key tls/a.key;
    }
}
CONF
        [ 'ssl_certificate tls/a.pem', qr/number of arguments/ ]);
    my @emerg = $r->{output} =~ /^portcullis: \[emerg\]/mg;
    is(scalar @emerg, 1, 'rejected certificate: no "pairs"/"no certificate" follow-on')
        or diag($r->{output});
}
{
    my $r = all_errors(<<'CONF', 'rejected zone',
error_log logs/error.log info;
events { }
http {
    limit_req_zone $remote_addr zone=perip:10m rate=fast;
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { limit_req zone=perip; return 200 "ok"; }
    }
}
CONF
        [ 'limit_req_zone', qr/rate|limit_req_zone/ ]);
    unlike($r->{output}, qr/unknown limit_req_zone/, 'rejected zone: no "unknown zone" follow-on')
        or diag($r->{output});
}
{
    # no logs/ directory: the default pid path would fail its check, and
    # must not be blamed on the rejected line
    my $pc = Test::Portcullis->new(start => 0, conf => <<'CONF');
error_log stderr;
pid "";
events { }
http { access_log off; server { listen 127.0.0.1:%%PORT%%; location / { return 200 "ok"; } } }
CONF
    require File::Path;
    File::Path::remove_tree($pc->path('logs'));
    my $r = $pc->run('-t');
    is($r->{exit}, 1, 'rejected pid: -t exits 1');
    my @emerg = $r->{output} =~ /^portcullis: \[emerg\].*$/mg;
    ok(@emerg == 1 && $emerg[0] =~ /"pid".* in \Q${\ $pc->conf_path}\E:2$/,
        'rejected pid: one error, its own; the default path is not blamed on its line')
        or diag($r->{output});
}
# A syntax error still stops everything: the tree cannot be trusted.
{
    my $pc = Test::Portcullis->new(start => 0, conf => <<'CONF');
error_log logs/error.log info;
events { }
http {
    server {
        listen 127.0.0.1:%%PORT%% ssl;
        ssl_certificate tls/missing.pem;
        ssl_certificate_key tls/missing.key;
        location / { return 200 "unterminated; }
    }
}
CONF
    my $r = $pc->run('-t');
    is($r->{exit}, 1, 'syntax error: -t exits 1');
    unlike($r->{output}, qr/missing\.pem/, 'syntax error: semantic checks do not run');
}


# --- values that could never be sent are refused at load (SPEC §3) --------------
sub wrap_loc {
    my ($loc) = @_;
    return "error_log logs/error.log info;\nevents { }\nhttp {\n    server {\n        listen 127.0.0.1:%%PORT%%;\n"
        . "        location / {\n            $loc\n        }\n    }\n}\n";
}
# add_header: the fields the response writer drops (it writes them itself).
for my $h ('Content-Length 5', 'Transfer-Encoding chunked', 'connection close', 'Keep-Alive timeout=5') {
    my ($n) = split / /, $h;
    conf_test_fails(wrap_loc("add_header $h always;"), 'add_header', qr/"add_header" cannot set "\Q$n\E": the server/,
        "add_header $h");
}
conf_test_ok(wrap_loc('add_header X-Content-Length 5 always; add_header Content-Type text/x-a;'),
    'add_header: names that merely look alike are fine');
conf_test_fails(wrap_loc('add_header X-A "a\\nb";'), 'add_header', qr/CR, LF or NUL/, 'add_header LF in the value');
# return: redirects need a URL without CR/LF; 444 takes no text.
for my $c (301, 302, 303, 307, 308) {
    conf_test_fails(wrap_loc("return $c;"), "return $c", qr/"return $c" needs a URL/, "return $c without a URL");
}
conf_test_fails(wrap_loc('return 302 "";'), 'return 302', qr/"return 302" needs a URL/, 'return 302 with an empty URL');
conf_test_fails(wrap_loc('return 301 "/x y\\nSet-Cookie: a";'), 'return 301', qr/invalid URL in "return 301": CR, LF or NUL/,
    'return 301 with a LF in the URL');
conf_test_fails(wrap_loc('return "http://a.test/\\r";'), 'return "http', qr/invalid URL in "return 302"/,
    'return URL with a CR');
conf_test_ok(wrap_loc('return 301 $scheme://$host$request_uri;'), 'return 301 with a URL made of variables');
conf_test_ok(wrap_loc('return 200 "two\\nlines\\n";'), 'return 200: a body may hold LF');
conf_test_ok(wrap_loc('return 444;'), 'return 444');
conf_test_fails(wrap_loc('return 444 "bye";'), 'return 444', qr/"return 444" closes the connection/, 'return 444 with text');

# return 444: no response at all, the connection closed, 444 in the access log.
{
    my $pc = Test::Portcullis->new(conf => <<'CONF');
error_log logs/error.log info;
events { }
http {
    log_format st '$request_uri $status $body_bytes_sent';
    access_log logs/st.log st;
    add_header X-Always yes always;
    server {
        listen 127.0.0.1:%%PORT%%;
        location /close { return 444; }
        location / { return 200 "ok"; }
    }
    server {
        listen 127.0.0.1:%%PORT2%%;
        return 444;
    }
}
CONF
    my ($data, $closed, $dt) = Test::Portcullis::http_raw($pc->port,
        "GET /close HTTP/1.1\r\nHost: a\r\n\r\n", 5);
    is($data, '', 'return 444: nothing is written');
    ok($closed && $dt < 4, 'return 444: the keep-alive connection is closed at once');
    ($data, $closed) = Test::Portcullis::http_raw($pc->port,
        "POST /close/x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", 5);
    ok($data eq '' && $closed, 'return 444 with a request body: nothing written, closed');
    ($data, $closed) = Test::Portcullis::http_raw($pc->port(2), "GET /any HTTP/1.0\r\n\r\n", 5);
    ok($data eq '' && $closed, 'return 444 at server level: nothing written, closed');
    is(http_get($pc->port, '/')->{status}, 200, 'return 444: other locations still answer');
    my $log = $pc->path('logs/st.log');
    ok(wait_until(sub { (() = slurp($log) =~ /^\/(?:close|any)\S* 444 0$/mg) == 3 }, 10),
        'return 444: the access log records 444 and no body bytes') or diag(slurp($log));
    is($pc->stop, 0, 'return 444: exit 0');
}

# --- a UTF-8 byte order mark at the start of a file is skipped ---------------
{
    my $pc = Test::Portcullis->new(start => 0,
        conf => "\xef\xbb\xbferror_log logs/error.log info;\nevents { }\nhttp {\n    include inc/*.conf;\n}\n",
        files => { 'conf/inc/s.conf' => "\xef\xbb\xbfserver { listen 127.0.0.1:%%PORT%%; location / { return 200 \"bom\"; } }\n" });
    my $r = $pc->run('-t');
    is($r->{exit}, 0, 'UTF-8 BOM in the main file and an included file: -t ok') or diag($r->{output});
    ok($pc->start, 'UTF-8 BOM: starts');
    is(http_get($pc->port, '/')->{body}, 'bom', 'UTF-8 BOM: the included server answers');
    is($pc->stop, 0, 'UTF-8 BOM: exit 0');
}
# Only a leading BOM: one elsewhere is still an error, on its own line.
conf_test_fails("error_log logs/error.log info;\n\xef\xbb\xbfevents { }\nhttp { server { listen 127.0.0.1:%%PORT%%; } }\n",
    'events', qr/unknown directive/, 'a BOM that is not at the start of the file');

done_testing();
