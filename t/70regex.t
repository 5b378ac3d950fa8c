#!/usr/bin/perl
# regex module (SPEC §4 "regex"): location ~ / ~* against = / prefix / ^~,
# numbered and named captures ($1, $name) from locations, server_name ~
# and rewrite, map (exact, regex, caseless, default, captures), rewrite
# last / break / redirect / permanent / absolute URLs / args, the
# rewrite loop bound (500), the PCRE2 match limit, -t errors with the
# compile offset, and reloads.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Test::Portcullis::Backend;
use Time::HiRes qw(time);

Test::Portcullis::require_binary();
{
    my $probe = Test::Portcullis->new(start => 0,
        conf => "events { }\nhttp { server { listen 127.0.0.1:%%PORT%%; location ~ ^/x { } } }\n");
    my $r = $probe->run('-t');
    plan(skip_all => 'regex module not built') if $r->{output} =~ /requires the regex module/;
}

my $be = Test::Portcullis::Backend->new;
my $pc = Test::Portcullis->new(conf => <<'CONF' =~ s/%%BE%%/$be->port/ger);
error_log logs/error.log info;
worker_processes 1;
events { }
http {
    map $arg_k $mk {
        default       "dflt";
        foo           "exact-foo";
        ~^re(?<tail>\d+)$ "re-$tail";
        ~*^CI(\w)     "caseless-$1";
        \~lit         "tilde";
        ""            "empty-key";
    }
    map $http_x_a$arg_b $mjoin { "ab" "joined"; default "no"; }
    map $mk $mchain { "exact-foo" "chained"; default "-"; }
    map $arg_m $mbomb { ~^((x+x+)+y|.*admin) "admin"; default "user"; }
    server {
        listen 127.0.0.1:%%PORT%%;
        server_name localhost;
        rewrite ^/old/(.*)$ /new/$1;
        rewrite ^/srvbrk/(.*)$ /new/brk-$1 break;
        location / { return 200 "prefix /"; }
        location /images/ { return 200 "prefix images"; }
        location ^~ /static/ { return 200 "stop static"; }
        location ~ \.(gif|jpg)$ { return 200 "regex img $1"; }
        location ~* \.PNG$ { return 200 "regex png caseless"; }
        location = /exact { return 200 "exact"; }
        location ~ ^/exact { return 200 "regex exact"; }
        location ~ ^/first/ { return 200 "first regex"; }
        location ~ ^/first/second/ { return 200 "second regex"; }
        location ~ ^/u/(\d+)/(?<name>[a-z]+)$ { return 200 "id=$1 name=$name all=$0"; }
        location /new/ { return 200 "new uri=$uri args=$args"; }
        location /map { add_header X-Map "$mk"; return 200 "map=$mk join=$mjoin chain=$mchain"; }
        location /a/ { rewrite ^/a/(.*)$ /b/$1 last; return 200 "not reached"; }
        location /b/ { return 200 "b uri=$uri 1=$1"; }
        location /brk/ { rewrite ^/brk/(.*)$ /elsewhere/$1 break; return 200 "break uri=$uri"; }
        location /r/ { rewrite ^/r/(.*)$ /target/$1 redirect; }
        location /p/ { rewrite ^/p/(.*)$ /target/$1 permanent; }
        location /abs/ { rewrite ^/abs/(.*)$ https://example.org/$1; }
        location /args/ {
            rewrite ^/args/keep$ /new/keep?x=1 last;
            rewrite ^/args/drop$ /new/drop?x=1? last;
            rewrite ^/args/none$ /new/none? last;
        }
        location /chain/ { rewrite ^/chain/a$ /chain/b; rewrite ^/chain/b$ /chain/c; }
        location = /chain/c { return 200 "chain end uri=$uri"; }
        location /loop/ { rewrite ^ /loop/again last; }
        location /rw/ { rewrite ^/rw/(.*)$ /px/$1 last; }
        location /px/ { proxy_pass http://127.0.0.1:%%BE%%/up/; }
        location /pxb/ { rewrite ^/pxb/(.*)$ /new/$1 break; proxy_pass http://127.0.0.1:%%BE%%/base/; }
        location /pxs/ { rewrite ^/pxs/old/(.*)$ /pxs/$1 break; proxy_pass http://127.0.0.1:%%BE%%/base/; }
        location ~ ^/bomb/(a|aa)+$ { return 200 "bomb matched"; }
        location /bomb/ { return 200 "bomb fallback"; }
        location ~ ^/deny/((x+x+)+y|.*admin) { deny all; }
        location /deny/ { return 200 "deny fell open"; }
        location /mbomb/ { return 200 "mbomb=$mbomb"; }
        location /rbomb/ { rewrite ^/rbomb/((x+x+)+y|.*admin) /new/admin last; return 200 "rbomb fell through"; }
        location /qx/ { rewrite ^/qx/(.*)$ /echo/$1 break; proxy_pass http://127.0.0.1:%%BE%%; }
        location /qd/ { rewrite ^/qd/(.*)$ /echo/$1? break; proxy_pass http://127.0.0.1:%%BE%%; }
        location /qn/ { rewrite ^/qn/(.*)$ /echo/$1?new=1 break; proxy_pass http://127.0.0.1:%%BE%%; }
        location /ql/ { rewrite ^/ql/(.*)$ /lq/$1 last; }
        location /lq/ { return 200 "lq uri=$uri args=$args"; }
        location ~ ^/lq/full\?q=1$ { return 200 "full path uri=$uri args=$args"; }
        location /qr/ { rewrite ^/qr/(.*)$ /target/$1 redirect; }
    }
    server {
        listen 127.0.0.1:%%PORT%%;
        server_name ~^(?<sub>[a-z0-9]+)\.example\.test$ ~^www\.(\w+)\.(?<tld>org|net)$ ~^((x+x+)+y|adm)\.bomb\.test$;
        location / { return 200 "sub=$sub tld=$tld 1=$1"; }
        location ~ ^/cap/(?<part>\w+)$ { return 200 "sub=$sub part=$part 1=$1"; }
    }
}
CONF
my $p = $pc->port;
sub body { my ($path, %h) = @_; my $r = http_get($p, $path, %h); return $r->{status} == 200 ? $r->{body} : "status $r->{status}" }

# --- location order ----------------------------------------------------------------------------
is(body('/images/a.gif'), 'regex img gif', 'a regex beats the longest prefix');
is(body('/images/a.txt'), 'prefix images', 'no regex matches: longest prefix');
is(body('/static/a.gif'), 'stop static', '^~ stops the regex search');
is(body('/x/A.PNG'), 'regex png caseless', '~* is caseless (upper)');
is(body('/x/a.png'), 'regex png caseless', '~* is caseless (lower)');
is(body('/x/a.GIF'), 'prefix /', '~ is case-sensitive');
is(body('/exact'), 'exact', '= beats a regex');
is(body('/exact2'), 'regex exact', 'the regex when = does not match');
is(body('/first/second/x'), 'first regex', 'regexes in configuration order: the first wins');

# --- captures -----------------------------------------------------------------------------------
is(body('/u/42/bob'), 'id=42 name=bob all=/u/42/bob', '$1, $name and $0 from the location regex');
is(body('/x', _host => 'api7.example.test'), 'sub=api7 tld= 1=api7', 'server_name ~ named capture');
is(body('/x', _host => 'API7.Example.TEST'), 'sub=api7 tld= 1=api7', 'host is lowercased before matching');
is(body('/x', _host => 'www.portcullis.org'), 'sub= tld=org 1=portcullis', 'second server_name regex');
is(body('/cap/zz', _host => 'ab.example.test'), 'sub=ab part=zz 1=zz',
   'a location regex replaces $1 but named captures of the server name stay');
is(body('/x', _host => 'nomatch.example.com'), 'prefix /', 'no server_name match: default server');

# --- map ---------------------------------------------------------------------------------------------
is(body('/map?k=foo'), 'map=exact-foo join=no chain=chained', 'map: exact key; a map of a map');
is(body('/map?k=FOO'), 'map=exact-foo join=no chain=chained', 'map: exact keys are case-insensitive');
is(body('/map?k=re42'), 'map=re-42 join=no chain=-', 'map: regex with a named capture in the value');
is(body('/map?k=re42x'), 'map=dflt join=no chain=-', 'map: anchored regex does not match');
is(body('/map?k=cix'), 'map=caseless-x join=no chain=-', 'map: ~* caseless with $1');
is(body('/map?k=~lit'), 'map=tilde join=no chain=-', 'map: \\~ is a literal tilde key');
is(body('/map?k=other'), 'map=dflt join=no chain=-', 'map: default');
is(body('/map'), 'map=empty-key join=no chain=-', 'map: an empty source matches the "" key');
is(body('/map?b=b', 'X-A' => 'a'), 'map=empty-key join=joined chain=-', 'map: a source of two variables');
is(http_get($p, '/map?k=foo')->{headers}{'x-map'}, 'exact-foo', 'a map variable in add_header');

# --- rewrite --------------------------------------------------------------------------------------
is(body('/old/x?q=1'), 'new uri=/new/x args=q=1', 'server rewrite without flag: location searched again');
is(body('/srvbrk/y'), 'new uri=/new/brk-y args=', 'server rewrite break: location still searched');
is(body('/a/zz'), 'b uri=/b/zz 1=zz', 'last: the new URI finds another location');
is(body('/brk/q'), 'break uri=/elsewhere/q', 'break: stays in the location');
my $r = http_get($p, '/r/x?q=1');
is($r->{status}, 302, 'redirect: 302');
is($r->{headers}{location}, '/target/x?q=1', 'redirect: Location with the args');
$r = http_get($p, '/p/y');
is($r->{status}, 301, 'permanent: 301');
is($r->{headers}{location}, '/target/y', 'permanent: Location');
$r = http_get($p, '/abs/z');
is($r->{status}, 302, 'an absolute replacement redirects');
is($r->{headers}{location}, 'https://example.org/z', 'absolute Location');
is(body('/args/keep?a=2'), 'new uri=/new/keep args=x=1&a=2', 'new args then the old ones');
is(body('/args/drop?a=2'), 'new uri=/new/drop args=x=1', 'a final ? drops the old args');
is(body('/args/none?a=2'), 'new uri=/new/none args=', 'replacement? drops every arg');
is(body('/chain/a'), 'chain end uri=/chain/c', 'rewrites without flag run in order, then the location search');
like(body('/rw/item?z=9'), qr{^GET /up/item\?z=9 HTTP/1\.1}, 'rewrite last to a proxied location: the upstream sees the new URI');
like(body('/pxb/zz?x=1'), qr{^GET /new/zz\?x=1 HTTP/1\.1},
    'rewrite break in a proxied location: the new URI is sent whole, proxy_pass URI ignored (nginx)');
like(body('/pxs/old/q'), qr{^GET /pxs/q HTTP/1\.1},
    'rewrite break to a URI under the same prefix: still sent whole');
like(body('/pxs/kept'), qr{^GET /base/kept HTTP/1\.1}, 'no rewrite: proxy_pass URI replaces the prefix');
my $mark = $pc->log_mark;
$r = http_get($p, '/loop/x');
is($r->{status}, 500, 'a rewrite loop ends with 500');
like($r->{body}, qr/rewrite cycle/, '500 says why');
ok($pc->wait_for_log(qr/\[error\].*rewrite or internal redirection cycle/, 5, from => $mark),
   'and the error log explains it');

# --- a pathological regex cannot hold the worker, and fails closed ---------------------------------
# A match that hits a PCRE2 limit is neither a match nor a no-match: the
# request gets 500 (nginx answers a regex execution error the same way),
# so a client cannot step around a stricter regex location.
{
    my $t0 = time();
    $r = http_get($p, '/bomb/' . ('a' x 4000) . 'b');
    my $dt = time() - $t0;
    is($r->{status}, 500, 'catastrophic backtracking: 500, not the prefix location');
    like($r->{body}, qr/regex match limit exceeded/, '500 says why');
    ok($dt < 3, sprintf('within the limit (%.2f s)', $dt));
    ok($pc->wait_for_log(qr/\[error\].*pcre2_match\(\) failed: .*limit.*pattern "\^\/bomb/, 5, from => $mark),
       'logged at error with the pattern');
    is(body('/bomb/aaaa'), 'bomb matched', 'and the same regex matches normal input');
    $r = http_get($p, '/deny/' . ('x' x 30) . '/admin');
    is($r->{status}, 500, 'a deny regex location that hits the limit: 500, not the less strict prefix');
    is(http_get($p, '/deny/x/admin')->{status}, 403, 'the same location on normal input: 403');
    is(body('/deny/other'), 'deny fell open', 'and a URI it does not match: the prefix location');
    is(http_get($p, '/mbomb/?m=' . ('x' x 30) . 'admin')->{status}, 500, 'a map regex that hits the limit: 500, not the default');
    is(body('/mbomb/?m=x-admin'), 'mbomb=admin', 'the map regex on normal input');
    is(body('/mbomb/?m=bob'), 'mbomb=user', 'the map default');
    is(http_get($p, '/rbomb/' . ('x' x 30) . '/admin')->{status}, 500, 'a rewrite regex that hits the limit: 500');
    is(body('/rbomb/x/admin'), 'new uri=/new/admin args=', 'the rewrite on normal input');
    is(http_get($p, '/x', _host => ('x' x 30) . '.bomb.test')->{status}, 500,
       'a server_name regex that hits the limit: 500, not the default server');
    is(body('/x', _host => 'adm.bomb.test'), 'sub= tld= 1=adm', 'the server_name regex on normal input');
    is(body('/images/a.gif'), 'regex img gif', 'the next request on the worker is not affected');
}

# --- rewrite: only a literal ? of the replacement starts the arguments -----------------------------
# A %3F of the client is decoded into $uri and so into a capture: it stays a
# path byte (the proxy sends it re-escaped), as in nginx.
like(body('/qx/a%3Fq=1'), qr{^GET /echo/a%3Fq=1 HTTP/1\.1}, 'a ? from a capture stays in the path');
like(body('/qx/a%3Fq=1?k=2'), qr{^GET /echo/a%3Fq=1\?k=2 HTTP/1\.1}, 'and the old args still follow');
like(body('/qd/a%3Fq=evil?old=1'), qr{^GET /echo/a%3Fq=evil HTTP/1\.1},
    'a final ? drops the args: a captured ? adds none');
like(body('/qn/a%3Fnew=evil%26?old=1'), qr{^GET /echo/a%3Fnew=evil&\?new=1&old=1 HTTP/1\.1},
    'new args come from the literal ? only, then the old ones');
is(body('/ql/full%3Fq=1'), 'full path uri=/lq/full?q=1 args=', 'last: the location search uses the whole path');
is(body('/ql/b?z=1'), 'lq uri=/lq/b args=z=1', 'last: args kept');
$r = http_get($p, '/qr/a%3Fq=1?k=2');
is($r->{headers}{location}, '/target/a%3Fq=1?k=2', 'redirect: a captured ? is escaped in Location');

# --- reload: a changed rewrite and map; a bad regex keeps the old config -------------------------------
{
    my $conf = slurp($pc->conf_path);
    $pc->write_conf($conf =~ s{foo\s+"exact-foo";}{foo "reloaded-foo";}r
                          =~ s{/b/\$1 last;}{/new/\$1 last;}r);
    ok(defined $pc->reload, 'reload with a changed map and rewrite');
    ok(wait_until(sub { body('/map?k=foo') =~ /^map=reloaded-foo/ }, 10), 'the new map value after SIGHUP');
    is(body('/a/zz'), 'new uri=/new/zz args=', 'the new rewrite target after SIGHUP');
    $pc->write_conf($conf =~ s{location /images/ }{location ~ ^/images/(x { return 200; }\n        location /images/ }r);
    ok(!defined $pc->reload, 'reload with a broken regex fails');
    like($pc->{reload_error} // '', qr/pcre2_compile\(\) failed: missing closing parenthesis in "\^\/images\/\(x" at offset 11/,
         'the reload error has the compile error and its offset');
    is(body('/map?k=foo'), 'map=reloaded-foo join=no chain=-', 'the previous configuration keeps serving');
    # variables defined by the running configuration are not visible to a
    # new one that no longer defines them
    $pc->write_conf($conf =~ s{map \$arg_k \$mk \{}{map \$arg_k \$mk_renamed \{}r);
    ok(!defined $pc->reload, 'reload without the map that defines $mk fails');
    like($pc->{reload_error} // '', qr/unknown variable "\$mk"/, '$mk is unknown to the new configuration');
    is(body('/map?k=foo'), 'map=reloaded-foo join=no chain=-', 'and the running one still serves');
}
unlike($pc->error_log, qr/\[(?:alert|crit)\]/, 'no alert in the error log');
is($pc->stop, 0, 'exit 0');
$be->stop;

# --- -t: valid and invalid -----------------------------------------------------------------------------
my $tmpl = "error_log logs/error.log info;\nevents { }\nhttp {\n%%HTTP%%\n    server {\n        listen 127.0.0.1:%%PORT%%;\n"
    . "%%SERVER%%\n        location / { return 200; }\n    }\n}\n";
sub rconf {
    my (%o) = @_;
    my $c = $tmpl;
    $c =~ s/%%HTTP%%/$o{http} \/\/ ''/e;
    $c =~ s/%%SERVER%%/$o{server} \/\/ ''/e;
    return $c;
}
conf_test_ok(rconf(http => '    map $uri $m { default 1; }',
    server => '        server_name ~^(?<h>.+)$;' . "\n" . '        rewrite ^/(.*)$ /x/$1 last; rewrite ^ /y break;'
        . ' rewrite ^ /z redirect; rewrite ^ /w permanent;' . "\n"
        . '        location ~* \.(?<ext>css|js)$ { rewrite ^ /$ext; return 200 "$h $ext"; }'),
    'map, rewrite (every flag), server_name ~, location ~* with named captures');
my @bad = (
    [server => '        location ~ ^/a(b { }', 'location ~', qr/pcre2_compile\(\) failed: missing closing parenthesis in "\^\/a\(b" at offset 5/, 'location ~ with an unbalanced ('],
    [server => '        location ~* [z-a] { }', 'location ~*', qr/pcre2_compile\(\) failed: .*range out of order.* at offset 3/, 'location ~* bad range'],
    [server => '        server_name ~^(a;', 'server_name', qr/pcre2_compile\(\) failed: .* at offset 3/, 'server_name ~ bad regex'],
    [server => '        rewrite ^/(a /b;', 'rewrite', qr/pcre2_compile\(\) failed: .* in "\^\/\(a" at offset 4/, 'rewrite with a bad regex'],
    [server => '        rewrite ^/a /b lasst;', 'rewrite', qr/invalid flag "lasst"/, 'rewrite with an unknown flag'],
    [server => '        rewrite ^/a /$nosuchvar;', 'rewrite', qr/unknown variable "\$nosuchvar"/, 'rewrite replacement with an unknown variable'],
    [server => '        rewrite ^/a;', 'rewrite', qr/rewrite/, 'rewrite without a replacement'],
    [server => '        rewrite ^/a ?;', 'rewrite', qr/empty replacement/, 'rewrite with an empty replacement'],
    [http => '    rewrite ^ /x;', 'rewrite', qr/not allowed|context|rewrite/, 'rewrite in http'],
    [http => '    map $uri $m { ~(x 1; }', '~(x', qr/pcre2_compile\(\) failed: .* in "\(x" at offset 2/, 'map with a bad regex'],
    [http => '    map $uri $host { default 1; }', 'map', qr/the variable already exists/, 'map onto an existing variable'],
    [http => "    map \$uri \$m { default 1; }\n    map \$uri \$m { default 2; }", 'default 2', qr/already exists/, 'the same map target twice'],
    [http => '    map uri $m { default 1; }', 'map', qr/invalid map source/, 'map source without a variable'],
    [http => '    map $uri m { default 1; }', 'map', qr/invalid map target/, 'map target without $'],
    [http => '    map $uri $m { a 1 2; }', 'a 1 2', qr/invalid map entry/, 'a map entry with two values'],
    [http => '    map $uri $m { a 1; A 2; }', 'map', qr/duplicate key "a"/, 'duplicate key (case-insensitive)'],
    [http => "    map \$uri \$m {\n        default 1;\n        ~^/(?<x>a 2;\n    }", '(?<x>a', qr/pcre2_compile\(\) failed: .* at offset 8/, 'a bad regex on its own line of a map block'],
    [http => "    map \$uri \$m {\n        default \$nope;\n    }", '$nope', qr/unknown variable "\$nope"/, 'an unknown variable in a map value: its line'],
    [http => '    map $uri $m { default 1; default 2; }', 'map', qr/duplicate default/, 'two defaults'],
    [http => '    map $nosuch $m { default 1; }', 'map', qr/unknown variable "\$nosuch"/, 'map source with an unknown variable'],
    [server => '        location ~ (?<host>.*) { }', 'location ~', qr/named group "host" .* clashes with the variable "\$host"/, 'a named group that shadows $host'],
    [server => '        location ~ (?<x>a)(?<x>b) { }', 'location ~', qr/pcre2_compile\(\) failed/, 'a duplicate group name'],
    [server => '        location / { map $uri $m { } }', 'map', qr/not allowed|context|map|duplicate/, 'map in a location'],
);
for my $b (@bad) {
    my ($where, $text, $marker, $re, $name) = @$b;
    conf_test_fails(rconf($where => $text), $marker, $re, $name);
}


# --- forward references: a variable may be used above its definition (nginx) ----------------------
# Names are resolved once the whole http block is read: a map (or a named
# capture) defined further down -- here partly in an include after the
# servers -- serves the return, log_format, proxy_set_header, limit_req_zone
# key and map that name it first.  A name nobody defines is still an error,
# at its first use, once.
{
    my $fbe = Test::Portcullis::Backend->new;
    my $fconf = <<'CONF' =~ s/%%BE%%/$fbe->port/ger;
error_log logs/error.log info;
worker_processes 1;
events { }
http {
    log_format fwd "fwd=$mlog uri=$uri";
    limit_req_zone $mkey zone=fwdz:1m rate=1r/m;
    server {
        listen 127.0.0.1:%%PORT%%;
        access_log logs/fwd.log fwd;
        location /ret { return 200 "ret=$mret"; }
        location /px/ { proxy_set_header X-Fwd $mret; proxy_pass http://127.0.0.1:%%BE%%/; }
        location /chain { return 200 "chain=$ma"; }
        location /cap/ { return 200 "cap=$fwdcap"; }
        location ~ ^/capdef/(?<fwdcap>\w+)$ { return 200 "capdef=$fwdcap"; }
        location /rl { limit_req zone=fwdz; return 200 "rl=$mkey"; }
        location /self { return 200 "self=[$mself]"; }
    }
    map $uri $mret { /ret "fwd-ret"; /px/h "fwd-px"; default "-"; }
    map $mb $ma { "b-yes" "a-from-b"; default "a-other"; }
    map $uri $mb { /chain "b-yes"; default "b-no"; }
    map $arg_u $mkey { default "k-$arg_u"; }
    map $mself $mself { default "x$mself"; }
    include conf.d/*.conf;
}
CONF
    my $fpc = Test::Portcullis->new(conf => $fconf,
        files => { 'conf/conf.d/log.conf' => "map \$uri \$mlog { default \"logged-\$arg_v\"; }\n" });
    my $fp = $fpc->port;
    my $fbody = sub { my $r = http_get($fp, $_[0]); $r->{status} == 200 ? $r->{body} : "status $r->{status}" };
    ok($fpc->alive, 'maps defined after their uses (and in an include after the servers): starts');
    is($fbody->('/ret'), 'ret=fwd-ret', 'return uses a map defined after it');
    like($fbody->('/px/h'), qr/^X-Fwd: fwd-px$/mi, 'proxy_set_header uses a map defined after it: the backend sees the value');
    is($fbody->('/chain'), 'chain=a-from-b', 'a map reads a map defined after it');
    is($fbody->('/cap/x'), 'cap=', 'a named capture used above its location: empty when that regex did not match');
    is($fbody->('/capdef/abc'), 'capdef=abc', 'and its value where it matched');
    is($fbody->('/rl?u=a'), 'rl=k-a', 'limit_req_zone key from a map defined after it');
    is(http_get($fp, '/rl?u=a')->{status}, 429, 'the same key is limited');
    is($fbody->('/rl?u=b'), 'rl=k-b', 'another key value is not');
    my $mark = $fpc->log_mark;
    is($fbody->('/self'), 'self=[x]', 'a map that uses itself: the inner use is empty, no crash');
    ok($fpc->wait_for_log(qr/\[error\].*cycle while evaluating variable "\$mself"/, 5, from => $mark),
       'and the cycle is logged (nginx: "cycle while evaluating variable")');
    http_get($fp, '/logme?v=42');
    ok(wait_until(sub { (slurp($fpc->path('logs/fwd.log')) // '') =~ m{^fwd=logged-42 uri=/logme$}m }, 10),
       'log_format above the map (in an include) logs the map value');
    # reload: the same forward uses with a changed map value; then one that
    # no longer defines a name it uses fails and keeps the running config
    $fpc->write_file('conf/conf.d/log.conf', "map \$uri \$mlog { default \"reloaded-\$arg_v\"; }\n");
    $fpc->write_conf($fconf =~ s{"fwd-ret"}{"fwd-ret2"}r);
    ok(defined $fpc->reload, 'reload with forward uses');
    ok(wait_until(sub { $fbody->('/ret') eq 'ret=fwd-ret2' }, 10), 'the new map value after SIGHUP');
    http_get($fp, '/after?v=7');
    ok(wait_until(sub { (slurp($fpc->path('logs/fwd.log')) // '') =~ m{^fwd=reloaded-7 uri=/after$}m }, 10),
       'and the log_format reaches the new map');
    $fpc->write_conf($fconf =~ s{map \$uri \$mret }{map \$uri \$mret_gone }r);
    ok(!defined $fpc->reload, 'reload that no longer defines $mret fails');
    like($fpc->{reload_error} // '', qr/unknown variable "\$mret" in \S+:10$/,
         'at the first use of $mret (the return, line 10)');
    is($fbody->('/ret'), 'ret=fwd-ret2', 'and the running configuration still serves');
    unlike($fpc->error_log, qr/\[(?:alert|crit)\]/, 'no alert in the error log');
    is($fpc->stop, 0, 'exit 0');
    $fbe->stop;

    # -t: a name never defined is an error at its first use, reported once
    my $unk = "events { }\nhttp {\n    log_format u \"\$fwd_nosuch\";\n    server {\n"
        . "        listen 127.0.0.1:%%PORT%%;\n        location /a { return 200 \$fwd_nosuch; }\n"
        . "        location /b { return 200 \$fwd_other; }\n    }\n}\n";
    conf_test_fails($unk, 'log_format u', qr/unknown variable "\$fwd_nosuch"/,
        'an undefined variable: the line of its first use');
    conf_test_fails($unk, 'location /b', qr/unknown variable "\$fwd_other"/,
        'every undefined variable is reported');
    my $t = Test::Portcullis->new(conf => $unk, start => 0);
    my $out = $t->run('-t')->{output};
    my $n = () = $out =~ /unknown variable "\$fwd_nosuch"/g;
    is($n, 1, 'a name used twice is reported once');
    # a name used before, then defined twice: the second map is a duplicate
    conf_test_fails("events { }\nhttp {\n    server {\n        listen 127.0.0.1:%%PORT%%;\n"
        . "        location / { return 200 \$fwd_dup; }\n    }\n    map \$uri \$fwd_dup { default 1; }\n"
        . "    map \$args \$fwd_dup { default 2; }\n}\n", 'map $args', qr/already exists/,
        'used first, then two maps of that name: the second is a duplicate');
    # a named capture used first, then a map of the same name: a clash
    conf_test_fails("events { }\nhttp {\n    server {\n        listen 127.0.0.1:%%PORT%%;\n"
        . "        location / { return 200 \$fwd_c; }\n        location ~ ^/(?<fwd_c>x) { }\n    }\n"
        . "    map \$uri \$fwd_c { default 1; }\n}\n", 'map $uri', qr/already exists/,
        'used first, defined by a capture, then by a map: a duplicate');
    # a map whose block is rejected: no second error for its earlier uses
    my $badmap = "events { }\nhttp {\n    server {\n        listen 127.0.0.1:%%PORT%%;\n"
        . "        location / { return 200 \$fwd_bad; }\n    }\n    map \$uri \$fwd_bad { a 1 2; }\n}\n";
    conf_test_fails($badmap, 'a 1 2', qr/invalid map entry/, 'a rejected map entry');
    $t = Test::Portcullis->new(conf => $badmap, start => 0);
    unlike($t->run('-t')->{output}, qr/unknown variable/, 'and no follow-on "unknown variable" for its uses');
}

done_testing();
