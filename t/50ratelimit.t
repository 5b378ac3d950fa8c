#!/usr/bin/perl
# limit_req (SPEC §4 ratelimit row, §8 429): accuracy across 2 and 4
# workers, burst / nodelay / delay=N timings, the 429 and its Retry-After,
# RateLimit-Policy and RateLimit fields, several limits on one location,
# dry run and $limit_req_status, tenant keys, state surviving SIGHUP (and
# each directive changed then reloaded), a flood of 20,000 keys into a small
# zone over HTTP (the 10^6-key flood runs in the unit test), -t errors.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Test::Portcullis::Ratelimit;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);

Test::Portcullis::require_binary();

sub conf {
    my (%o) = @_;
    my $workers = $o{workers} // 1;
    my $http = $o{http} // '';
    my $server = $o{server} // '';
    return <<"CONF";
error_log logs/error.log info;
worker_processes $workers;
pid logs/portcullis.pid;
shutdown_timeout 5s;
events { }
http {
    log_format rl '\$uri \$status \$limit_req_status \$pid \$msec';
    access_log logs/access.log rl;
    access_log logs/json.log json;
    $http
    server {
        listen 127.0.0.1:%%PORT%%;
        keepalive_requests 100000;
        $server
    }
}
CONF
}

sub log_lines {
    my ($pc, $re, $min) = @_;
    my @l;
    wait_until(sub {
        @l = grep { $_ =~ $re } split /\n/, slurp($pc->path('logs/access.log'));
        return @l >= ($min // 1);
    }, 5);
    return @l;
}

# --- accuracy: 10r/s, no burst, 100 requests over the first second ------------
for my $w (2, 4) {
    my $pc = Test::Portcullis->new(workers => $w, conf => conf(workers => $w,
        http => 'limit_req_zone $remote_addr zone=acc:1m rate=10r/s;',
        server => 'location / { limit_req zone=acc; return 200 "ok\n"; }
        location = /pid { return 200 "$pid"; }'));
    my @r = fire($pc->port, count => 100, spread => 1.0, warm => '/pid', workers => $w);
    my $n = status_counts(@r);
    my $passed = $n->{200} // 0;
    is($passed + ($n->{429} // 0), 100, "$w workers: every request got 200 or 429");
    my @l = map { [split / /] } log_lines($pc, qr{^/ }, 100);
    my %pids = map { $_->[3] => 1 } @l;
    is(scalar(keys %pids), $w, "$w workers: all took part, sharing one limit");
    # The decision times ($msec) say what an exact shared GCRA must have
    # admitted, whatever the scheduling of a loaded machine did to them.
    my @t = sort { $a <=> $b } map { $_->[4] } @l;
    my ($tat, $want, $gap) = (0, 0, 0);
    for my $i (0 .. $#t) {
        if ($tat <= $t[$i] + 0.0015) { $want++; $tat = ($tat > $t[$i] ? $tat : $t[$i]) + 0.1 }
        $gap = $t[$i] - $t[$i - 1] if $i > 0 && $t[$i] - $t[$i - 1] > $gap;
    }
    ok(abs($passed - $want) <= 1, "$w workers: admitted $passed, as GCRA on the "
        . "decision times ($want)");
    if ($want >= 8 && $want <= 12) {
        ok($passed >= 8 && $passed <= 12,
            "$w workers: 100 requests in one second admit 10 ± 2 (admitted $passed)");
    } else {
        # Only when the decision times themselves make 10 ± 2 impossible.
        diag(sprintf('%d workers: the machine delayed decisions (largest gap %.3f s, '
            . 'span %.3f s): 10 ± 2 not checked, %d admitted', $w, $gap, $t[-1] - $t[0],
            $passed));
        pass("$w workers: 10 ± 2 (not checked: loaded machine)");
    }
    is($pc->stop, 0, "$w workers: clean stop");
}

# --- one instance for the semantics tests --------------------------------------
my $pc = Test::Portcullis->new(conf => conf(
    http => <<'HTTP',
    limit_req_zone $remote_addr zone=delay:1m rate=5r/s;
    limit_req_zone $remote_addr zone=nodelay:1m rate=1r/s;
    limit_req_zone $remote_addr zone=delayn:1m rate=2r/s;
    limit_req_zone $remote_addr zone=hdr:1m rate=1r/m;
    limit_req_zone $remote_addr zone=hdroff:32k rate=1r/m;
    limit_req_zone $remote_addr zone=h503:32k rate=1r/m;
    limit_req_zone $remote_addr zone=perip:1m rate=1r/m;
    limit_req_zone $http_x_api_key zone=perkey:1m rate=1r/m;
    limit_req_zone $remote_addr zone=dry:32k rate=1r/m;
    limit_req_zone $http_x_api_key zone=tenant:1m rate=1r/m;
    limit_req_zone $remote_addr zone=abort:32k rate=2r/s;
    add_header X-RL $limit_req_status always;
HTTP
    server => <<'SERVER'));
        location /delay { limit_req zone=delay burst=3; return 200 "d\n"; }
        location /nodelay { limit_req zone=nodelay burst=3 nodelay; return 200 "n\n"; }
        location /delayn { limit_req zone=delayn burst=4 delay=2; return 200 "n\n"; }
        location /hdr { limit_req zone=hdr burst=2 nodelay; return 200 "h\n"; }
        location /hdroff { limit_req zone=hdroff; limit_req_headers off; return 200 "h\n"; }
        location /h503 { limit_req zone=h503; limit_req_status 503; return 200 "h\n"; }
        location /multi {
            limit_req zone=perip burst=5 nodelay;
            limit_req zone=perkey;
            return 200 "m\n";
        }
        location /dry { limit_req zone=dry; limit_req_dry_run on; return 200 "dry\n"; }
        location /tenant { limit_req zone=tenant; return 200 "t\n"; }
        location /free { return 200 "free\n"; }
        location /abort { limit_req zone=abort burst=5; return 200 "a\n"; }
SERVER

# clients that leave while their request waits out a delay: no harm done
{
    my @c = map { my $c = client($pc->port); $c->send("GET /abort HTTP/1.1\r\n"
        . "Host: x\r\nConnection: close\r\n\r\n"); $c } 1 .. 4;
    my $first = $c[0]->read_response(timeout => 5);
    is($first && $first->{status}, 200, 'abort: the first is served at once');
    $_->close for @c[1, 2];                  # delayed 0.5 s and 1 s: gone
    my $last = $c[3]->read_response(timeout => 5);
    # (which connection the worker reads first is not fixed: any of the
    # others may hold the first slot)
    ok($last && $last->{status} == 200 && $last->{headers}{'x-rl'} =~ /^(DELAYED|PASSED)$/,
        'abort: the one that stayed is served');
    is(http_get($pc->port, '/free')->{status}, 200, 'abort: the worker is fine');
    my @l = log_lines($pc, qr{^/abort }, 4);
    is(scalar @l, 4, 'abort: the abandoned requests are logged too');
    is(scalar(grep { (split / /)[2] eq 'DELAYED' } @l), 3, 'abort: 3 of them were delayed');
}

# burst=3 at 5r/s: 4 admitted, delayed 0, 200, 400, 600 ms; the 5th rejected
{
    my @r = fire($pc->port, count => 5, path => '/delay');
    my @ok = sort { $a->{elapsed} <=> $b->{elapsed} } grep { $_->{status} == 200 } @r;
    my @no = grep { $_->{status} == 429 } @r;
    is(scalar @ok, 4, 'burst=3: 4 of 5 simultaneous requests admitted');
    is(scalar @no, 1, 'burst=3: the 5th rejected at once');
    for my $i (0 .. $#ok) {
        my $want = 0.2 * $i;
        ok($ok[$i]{elapsed} >= $want - 0.05 && $ok[$i]{elapsed} < $want + 1.5,
            sprintf('burst=3: admitted request %d answered after %.3f s (delay %.1f s)',
                $i, $ok[$i]{elapsed}, $want));
    }
    is($ok[0]{headers}{'x-rl'}, 'PASSED', '$limit_req_status PASSED for the first');
    is(join(',', map { $_->{headers}{'x-rl'} } @ok[1 .. 3]), 'DELAYED,DELAYED,DELAYED',
        '$limit_req_status DELAYED for the delayed ones');
    is($no[0]{headers}{'x-rl'}, 'REJECTED', '$limit_req_status REJECTED');
    ok($no[0]{elapsed} < 0.5, 'a rejection is not delayed');
}

# nodelay: the burst is served at once (a delay would be >= 1 s at 1r/s)
{
    my @r = fire($pc->port, count => 5, path => '/nodelay');
    my @ok = grep { $_->{status} == 200 } @r;
    is(scalar @ok, 4, 'nodelay: 4 of 5 admitted');
    ok(!grep({ $_->{elapsed} >= 0.9 } @ok), 'nodelay: none of them waited');
    is(scalar(grep { $_->{headers}{'x-rl'} eq 'PASSED' } @ok), 4,
        'nodelay: all PASSED');
}

# delay=2 at 2r/s burst=4: 3 at once, then 0.5 s and 1 s; the 6th rejected
{
    my @r = fire($pc->port, count => 6, path => '/delayn');
    my @ok = sort { $a->{elapsed} <=> $b->{elapsed} } grep { $_->{status} == 200 } @r;
    is(scalar @ok, 5, 'delay=2: 5 of 6 admitted');
    ok(@ok == 5 && $ok[2]{elapsed} < 0.45, sprintf('delay=2: the first 3 at once '
        . '(third after %.3f s)', @ok ? $ok[-1 < $#ok ? 2 : 0]{elapsed} : -1));
    ok(@ok == 5 && $ok[3]{elapsed} >= 0.45 && $ok[3]{elapsed} < 2.0
        && $ok[4]{elapsed} >= 0.95 && $ok[4]{elapsed} < 2.5,
        sprintf('delay=2: then delayed ~0.5 s and ~1 s (%.3f, %.3f)',
            map { $_ // -1 } map { $_->{elapsed} } @ok[3, 4]));
}

# the 429 and the IETF fields (1r/m burst=2: quota 3 per 180 s)
{
    my @r = map { http_get($pc->port, '/hdr') } 1 .. 4;
    is(join(',', map { $_->{status} } @r), '200,200,200,429', 'burst=2 nodelay: 3 then 429');
    is($r[0]{headers}{'ratelimit-policy'}, '"hdr";q=3;w=180', 'RateLimit-Policy');
    is(join(' | ', map { $_->{headers}{ratelimit} } @r),
        '"hdr";r=2;t=60 | "hdr";r=1;t=120 | "hdr";r=0;t=180 | "hdr";r=0;t=180',
        'RateLimit: remaining and reset on every response');
    is($r[3]{headers}{'retry-after'}, '60', '429: Retry-After in whole seconds');
    ok(!defined $r[0]{headers}{'retry-after'}, 'no Retry-After on a 200');
    is($r[3]{headers}{'content-type'}, 'application/json', '429: SPEC §8 JSON error');
    like($r[3]{body}, qr/^\{"error":\{"status":429,"reason":"rate limited \(zone hdr\)"/,
        '429: error body names the zone');

    my @off = map { http_get($pc->port, '/hdroff') } 1 .. 2;
    is(join(',', map { $_->{status} } @off), '200,429', 'limit_req_headers off: limited');
    ok(!grep({ defined $_->{headers}{ratelimit} || defined $_->{headers}{'ratelimit-policy'} }
        @off), 'limit_req_headers off: no RateLimit fields');
    is($off[1]{headers}{'retry-after'}, '60', 'limit_req_headers off: Retry-After stays');

    my @s = map { http_get($pc->port, '/h503') } 1 .. 2;
    is(join(',', map { $_->{status} } @s), '200,503', 'limit_req_status 503');
    is($s[1]{headers}{'retry-after'}, '60', 'limit_req_status 503: Retry-After');
}

# several limits: all checked; a request one zone rejects costs nothing in the others
{
    my $get = sub { http_get($pc->port, '/multi', 'X-Api-Key' => $_[0]) };
    my $r = $get->('t1');
    is($r->{status}, 200, 'two limits: first request admitted');
    is($r->{headers}{'ratelimit-policy'}, '"perip";q=6;w=360, "perkey";q=1;w=60',
        'two limits: both policies listed');
    is($r->{headers}{ratelimit}, '"perip";r=5;t=60, "perkey";r=0;t=60',
        'two limits: both states listed');
    $r = $get->('t1');
    is($r->{status}, 429, 'two limits: the per-key zone rejects a second t1');
    like($r->{body}, qr/zone perkey/, 'two limits: rejected by perkey');
    my @st = map { $get->("t$_")->{status} } 2 .. 6;
    is("@st", '200 200 200 200 200', 'two limits: the rejected request was refunded '
        . 'to perip (its burst of 5 is still there)');
    $r = $get->('t7');
    ok($r->{status} == 429 && $r->{body} =~ /zone perip/, 'two limits: then perip rejects');
}

# dry run: nothing is refused, the log says what would have been
{
    my @r = map { http_get($pc->port, '/dry') } 1 .. 4;
    is(join(',', map { $_->{status} } @r), '200,200,200,200', 'dry run: all served');
    is(join(',', map { $_->{headers}{'x-rl'} } @r),
        'PASSED,REJECTED_DRY_RUN,REJECTED_DRY_RUN,REJECTED_DRY_RUN', 'dry run: statuses');
    ok(!grep({ defined $_->{headers}{ratelimit} } @r), 'dry run: no RateLimit fields');
    my @l = log_lines($pc, qr{^/dry }, 4);
    is(join(',', map { (split / /)[2] } @l),
        'PASSED,REJECTED_DRY_RUN,REJECTED_DRY_RUN,REJECTED_DRY_RUN',
        'dry run: $limit_req_status in the access log');
    my @j;
    wait_until(sub { @j = grep { /"uri":"\/dry"/ } split /\n/, slurp($pc->path('logs/json.log'));
        @j >= 4 }, 5);
    ok(@j == 4 && $j[1] =~ /"limit_req_status":"REJECTED_DRY_RUN"/,
        'dry run: limit_req_status in the built-in json log');
}

# tenants: $http_x_api_key; an empty key is not limited
{
    my $t = sub { http_get($pc->port, '/tenant', defined $_[0] ? ('X-Api-Key' => $_[0]) : ())
                  ->{status} };
    is(join(',', $t->('alpha'), $t->('alpha'), $t->('beta'), $t->('beta'), $t->('alpha')),
        '200,429,200,429,429', 'tenants are limited independently');
    is(join(',', map { $t->(undef) } 1 .. 4), '200,200,200,200', 'no key: not limited');
    my $r = http_get($pc->port, '/tenant');
    ok(!defined $r->{headers}{ratelimit}, 'no key: no RateLimit fields');
    $r = http_get($pc->port, '/free');
    ok($r->{status} == 200 && !defined $r->{headers}{ratelimit}
        && !defined $r->{headers}{'x-rl'}, 'a location without limit_req: untouched');
}
is($pc->stop, 0, 'semantics instance: clean stop');

# --- SIGHUP: state survives; every directive can change --------------------------
sub reload_conf {
    my (%o) = @_;
    my $size = $o{size} // '1m';
    my $burst = $o{burst} // '';
    return conf(http => "limit_req_zone \$remote_addr zone=sh:$size rate=1r/m;\n"
        . "    add_header X-RL \$limit_req_status always;",
        server => "location /s { limit_req zone=sh $burst; $o{extra} return 200 \"$o{text}\\n\"; }\n"
        . "        location /v { return 200 \"$o{text}\\n\"; }");
}
{
    my $pc = Test::Portcullis->new(conf => reload_conf(text => 'v1', extra => ''));
    my $get = sub { http_get($pc->port, $_[0]) };
    is(join(',', map { $get->('/s')->{status} } 1 .. 2), '200,429', 'reload: limited before');

    $pc->write_conf(reload_conf(text => 'v2',
        extra => 'limit_req_status 503; limit_req_headers off;'));
    ok(reload_settled($pc), 'reload: limit_req_status 503 + limit_req_headers off');
    is($get->('/v')->{body}, "v2\n", 'reload: new generation serving');
    my $r = $get->('/s');
    is($r->{status}, 503, 'reload: the state survived (still limited), new status 503');
    ok(!defined $r->{headers}{ratelimit} && $r->{headers}{'retry-after'},
        'reload: RateLimit fields off, Retry-After kept');

    $pc->write_conf(reload_conf(text => 'v3', extra => 'limit_req_dry_run on;'));
    ok(reload_settled($pc), 'reload: limit_req_dry_run on');
    $r = $get->('/s');
    ok($r->{status} == 200 && $r->{headers}{'x-rl'} eq 'REJECTED_DRY_RUN',
        'reload: dry run on a surviving state');

    $pc->write_conf(reload_conf(text => 'v3b', extra => '', burst => 'burst=1 nodelay'));
    ok(reload_settled($pc), 'reload: limit_req burst=1 nodelay');
    $r = $get->('/s');
    ok($r->{status} == 200 && $r->{headers}{'x-rl'} eq 'PASSED',
        'reload: the new burst applies to the surviving state');
    is($get->('/s')->{status}, 429, 'reload: and is then used up');

    $pc->write_conf(reload_conf(text => 'v4', extra => '', size => '2m'));
    ok(reload_settled($pc), 'reload: zone resized');
    $r = $get->('/s');
    ok($r->{status} == 200 && $r->{headers}{'x-rl'} eq 'PASSED',
        'reload: a resized zone starts empty (documented)');
    is($get->('/s')->{status}, 429, 'reload: and limits again');

    $pc->write_conf(reload_conf(text => 'v5', extra => '', size => '1k'));
    ok(!reload_settled($pc), 'reload: a zone too small is refused');
    like($pc->{reload_error} // '', qr/zone "sh" size 1024 is out of range/,
        'reload: the error names the zone');
    is($get->('/v')->{body}, "v4\n", 'reload: the old configuration keeps serving');
    is($pc->stop, 0, 'reload instance: clean stop');
}

# --- a flood of distinct keys into a small zone (HTTP) ----------------------------
{
    my $pc = Test::Portcullis->new(workers => 2, conf => conf(workers => 2,
        http => 'limit_req_zone $http_x_key zone=flood:32k rate=1r/m;',
        server => 'location /f { limit_req zone=flood; return 200 "f\n"; }'));
    my @workers = sort $pc->worker_pids;
    my $port = $pc->port;
    pipelined($port, [ map { ['/f', ['X-Key' => "warm$_"]] } 1 .. 2000 ]);
    my %rss0 = map { $_ => worker_rss($_) } @workers;
    is(http_get($port, '/f', 'X-Key' => 'active')->{status}, 200, 'flood: active key admitted');
    my $dir = $pc->prefix;
    my @kids;
    my $t0 = time();
    # Four clients at once, each 5,000 new keys with the active key every
    # 50th request: the active key must stay limited all along.
    for my $k (1 .. 4) {
        my $pid = fork() // die "fork: $!";
        if ($pid == 0) {
            my @req = map { ['/f', ['X-Key' => $_ % 50 ? "k$k-$_" : 'active']] } 1 .. 5000;
            my @st = pipelined($port, \@req);
            my ($new, $act, $act429) = (0, 0, 0);
            for my $i (0 .. $#req) {
                if ($req[$i][1][1] eq 'active') { $act++; $act429++ if $st[$i] == 429 }
                else { $new++ if $st[$i] == 200 }
            }
            spew("$dir/flood$k", "$new $act $act429\n");
            POSIX::_exit(0);
        }
        push @kids, $pid;
    }
    waitpid($_, 0) for @kids;
    my ($flooded, $active, $active_429) = (0, 0, 0);
    for my $k (1 .. 4) {
        my @n = slurp("$dir/flood$k") =~ /(\d+) (\d+) (\d+)/;
        $flooded += $n[0] // 0;
        $active += $n[1] // 0;
        $active_429 += $n[2] // 0;
    }
    diag(sprintf('flood: 20,000 keys in %.1f s', time() - $t0));
    is($flooded, 19600, 'flood: every new key admitted once (19,600)');
    ok($active == 400 && $active_429 == $active,
        "flood: the active key stayed limited throughout ($active_429 of $active)");
    is(http_get($port, '/f', 'X-Key' => 'active')->{status}, 429, 'flood: and after it');
    is(join(',', sort $pc->worker_pids), join(',', @workers), 'flood: no worker died');
    my @grew = map { worker_rss($_) - $rss0{$_} } @workers;
    ok(!grep({ $_ > 16384 } @grew), "flood: worker RSS bounded (grew by @grew KiB)");
    my @warn = $pc->log_lines(qr/\[warn\].*limit_req zone "flood" is full/);
    ok(@warn >= 1, 'flood: eviction logged at warn');
    ok(@warn <= 2 + (time() - $t0) / 5, 'flood: ... and rate-limited (' . scalar(@warn)
        . ' lines)');
    like($warn[0] // '', qr/\d+ evicted so far, \d+ keys fit/, 'flood: the line says how many');
    is($pc->stop, 0, 'flood instance: clean stop');
}

# --- metrics (when the status module is built) -------------------------------------
SKIP: {
    my $mconf = conf(http => 'limit_req_zone $remote_addr zone=m:32k rate=1r/m;',
        server => 'location /m { limit_req zone=m; return 200 "m\n"; }
        location = /metrics { metrics; }');
    my $probe = Test::Portcullis->new(conf => $mconf, start => 0)->run('-t');
    skip 'status module not built (no "metrics" directive)', 4 if $probe->{exit} != 0;
    my $pc = Test::Portcullis->new(conf => $mconf);
    my $metric = sub {
        my ($d) = $_[0] =~ /(\w+)/;
        my $body = http_get($pc->port, '/metrics')->{body} // '';
        return $body =~ /^portcullis_ratelimit_decisions_total\{zone="m",decision="$d"\} (\d+)$/m
            ? $1 : -1;
    };
    http_get($pc->port, '/m') for 1 .. 3;
    is($metric->('passed') . '/' . $metric->('rejected'), '1/2',
        'metrics: ratelimit_decisions_total{zone,decision}');
    ok(reload_settled($pc), 'metrics: reload');
    http_get($pc->port, '/m');
    is($metric->('rejected'), 3, 'metrics: the counters survive the reload with the zone');
    is($pc->stop, 0, 'metrics instance: clean stop');
}

# --- -t ----------------------------------------------------------------------------
sub zone_conf {
    my ($http, $loc) = @_;
    return conf(http => $http, server => "location / { $loc return 200; }");
}
my $z = 'limit_req_zone $remote_addr zone=z:1m rate=10r/s;';
my $valid = zone_conf("$z limit_req_status 444; limit_req_dry_run off; limit_req_headers on;",
    'limit_req zone=z burst=10 delay=4; limit_req zone=later nodelay; limit_req zone=b;');
$valid =~ s/\}\s*\z/    limit_req_zone \$http_x zone=later:32k rate=30r\/m;\n}\n/;
$valid =~ s/\}\s*\z/    limit_req_zone "\$remote_addr:\$http_x_api_key" zone=b:64k rate=1r\/s;\n}\n/;
conf_test_ok($valid, 'limit_req_* valid values (zones declared after use, composite key)');
my @bad = (
    [ 'limit_req_zone $remote_addr zone=x:1m rate=0r/s;', '', qr/invalid rate "0r\/s"/ ],
    [ 'limit_req_zone $remote_addr zone=x:1m rate=10r/h;', '', qr/invalid rate "10r\/h"/ ],
    [ 'limit_req_zone $remote_addr zone=x:1m rate=ten;', '', qr/invalid rate/ ],
    [ 'limit_req_zone $remote_addr zone=x rate=1r/s;', '', qr/expected zone=NAME:SIZE/ ],
    [ 'limit_req_zone $remote_addr zone=x:1k rate=1r/s;', '', qr/size 1024 is out of range/ ],
    [ 'limit_req_zone $remote_addr zone=x:abc rate=1r/s;', '', qr/invalid zone size "abc"/ ],
    [ 'limit_req_zone $remote_addr zone=a/b:1m rate=1r/s;', '', qr/invalid zone name/ ],
    [ 'limit_req_zone $remote_addr rate=1r/s foo=1;', '', qr/invalid parameter "foo=1"/ ],
    # SPEC §3: a repeated parameter is an error (these two once reached
    # "needs zone=" / "needs rate=", the repeat being accepted)
    [ 'limit_req_zone $remote_addr rate=1r/s rate=2r/s;', '',
      qr/"limit_req_zone" directive duplicate parameter "rate=2r\/s"/ ],
    [ 'limit_req_zone $remote_addr zone=x:1m zone=y:1m;', '',
      qr/"limit_req_zone" directive duplicate parameter "zone=y:1m"/ ],
    [ 'limit_req_zone $remote_addr zone=x:1m rate=1r/s rate=2r/s;', '',
      qr/"limit_req_zone" directive duplicate parameter "rate=2r\/s"/ ],
    [ 'limit_req_zone $remote_addr zone=x:1m rate=1r/s zone=x:1m;', '',
      qr/"limit_req_zone" directive duplicate parameter "zone=x:1m"/ ],
    [ 'limit_req_zone $remote_addr zone=x:1m;', '', qr/invalid number of arguments/ ],
    [ 'limit_req_zone $remote_addr zone=x:1m burst=1;', '', qr/invalid parameter/ ],
    [ 'limit_req_zone $nosuchvar zone=x:1m rate=1r/s;', '', qr/unknown variable/ ],
    [ 'limit_req_zone $nosuchvar zone=x:1m rate=1r/s; limit_req_zone $uri zone=y:1m rate=1r/s;',
      'limit_req zone=y;', qr/unknown variable/ ],
    [ 'limit_req_zone $remote_addr zone=x:1m rate=1r/s sync=redis://127.0.0.1:6379;', '',
      qr/sync= is not supported yet/ ],
    [ 'limit_req_zone $remote_addr zone=x:1m rate=1r/s sync=http://h:1;', '',
      qr/expected sync=redis:\/\/HOST:PORT/ ],
    [ 'limit_req_zone $remote_addr zone=x:1m rate=1r/s sync=redis://h;', '',
      qr/expected sync=redis:\/\/HOST:PORT/ ],
    [ "$z limit_req_zone \$uri zone=z:1m rate=1r/s;", '', qr/zone "z" is already declared/ ],
    [ $z, 'limit_req zone=nope;', qr/unknown limit_req_zone "nope"/ ],
    [ $z, 'limit_req burst=5;', qr/needs zone=NAME/ ],
    [ $z, 'limit_req zone=z burst=-1;', qr/invalid burst "-1"/ ],
    [ $z, 'limit_req zone=z burst=1000001;', qr/invalid burst/ ],
    [ $z, 'limit_req zone=z delay=x;', qr/invalid delay "x"/ ],
    [ $z, 'limit_req zone=z nodelay delay=2;', qr/either nodelay or delay=N/ ],
    [ $z, 'limit_req zone=z delay=3 nodelay;', qr/either nodelay or delay=N/ ],
    [ $z, 'limit_req zone=z burst=5 burst=6;', qr/"limit_req" directive duplicate parameter "burst=6"/ ],
    [ $z, 'limit_req zone=z delay=1 delay=2;', qr/"limit_req" directive duplicate parameter "delay=2"/ ],
    [ $z, 'limit_req zone=z nodelay nodelay;', qr/"limit_req" directive duplicate parameter "nodelay"/ ],
    [ $z, 'limit_req zone=z burst=5 zone=z;', qr/"limit_req" directive duplicate parameter "zone=z"/ ],
    [ $z, 'limit_req zone=z fast;', qr/invalid parameter "fast"/ ],
    [ $z, 'limit_req zone=z; limit_req zone=z burst=2;', qr/zone "z" is duplicate/ ],
    [ $z, 'limit_req_status 200;', qr/between 400 and 599/ ],
    [ $z, 'limit_req_status abc;', qr/non-negative integer/ ],
    [ $z, 'limit_req_dry_run maybe;', qr/limit_req_dry_run/ ],
    [ $z, 'limit_req_headers yes;', qr/limit_req_headers/ ],
    [ 'limit_conn_zone $remote_addr zone=c:1m;', 'limit_req zone=c;',
      qr/zone "c" is a limit_conn_zone zone/ ],
);
for my $b (@bad) {
    my ($http, $loc, $re) = @$b;
    my $conf = zone_conf($http, $loc);
    my $marker = $loc ne '' && $re !~ /unknown (limit_req_zone|variable)/ ? $loc : $http;
    $marker = 'location /' if $re =~ /unknown limit_req_zone/;
    conf_test_fails($conf, $marker, $re, "$http $loc");
}
conf_test_fails(conf(server => 'limit_req_zone $remote_addr zone=x:1m rate=1r/s;'),
    'limit_req_zone', qr/not allowed here|context/, 'limit_req_zone outside http');

done_testing();
