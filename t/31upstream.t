#!/usr/bin/perl
# Upstream blocks (SPEC §4 "Upstream block"): smooth weighted round robin,
# least_conn, hash KEY [consistent], random two; max_fails/fail_timeout
# passive health, backup, down; proxy_next_upstream (error, timeout,
# http_502/503/504, off) and proxy_next_upstream_tries, which never re-send a
# non-idempotent request after any byte of it reached an upstream; "no live
# upstreams" -> 503; the upstream directives with valid and invalid values;
# a server added by SIGHUP takes requests.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Test::Portcullis::Origin;
use Time::HiRes qw(time sleep);

Test::Portcullis::require_binary();

my %o = map { $_ => Test::Portcullis::Origin->new(name => $_) } qw(a b c);
$o{e502} = Test::Portcullis::Origin->new(name => 'e502', handler => sub { { status => 502, body => 'upstream says 502' } });
$o{e503} = Test::Portcullis::Origin->new(name => 'e503', handler => sub { { status => 503, body => 'upstream says 503' } });
$o{slow} = Test::Portcullis::Origin->new(name => 'slow', handler => sub { my ($r) = @_; return $r->{path} =~ /nodelay/ ? undef : { delay => 2, body => 'slow' } });
my %P = map { $_ => $o{$_}->port } keys %o;
my @dead = map { free_port() } 1 .. 6;     # nothing listens there
my ($A, $B, $C) = @P{qw(a b c)};

my $conf = <<"CONF";
error_log logs/error.log info;
events { }
http {
    log_format up '\$request_uri \$status "\$upstream_addr" "\$upstream_status"';
    access_log logs/up.log up;
    proxy_read_timeout 300ms;
    upstream rr    { server 127.0.0.1:$A weight=5; server 127.0.0.1:$B; server 127.0.0.1:$C; }
    upstream lc    { least_conn; server 127.0.0.1:$P{slow}; server 127.0.0.1:$B; }
    upstream hs    { hash \$arg_k; server 127.0.0.1:$A; server 127.0.0.1:$B; server 127.0.0.1:$C; }
    upstream ch    { hash \$arg_k consistent; server 127.0.0.1:$A; server 127.0.0.1:$B; server 127.0.0.1:$C; }
    upstream ch2   { hash \$arg_k consistent; server 127.0.0.1:$A; server 127.0.0.1:$B; server 127.0.0.1:$C down; }
    upstream rnd   { random two; server 127.0.0.1:$A; server 127.0.0.1:$B; server 127.0.0.1:$C; }
    upstream ph    { server 127.0.0.1:$dead[0] fail_timeout=1s; server 127.0.0.1:$A fail_timeout=1s; }
    upstream mf2   { server 127.0.0.1:$dead[1] max_fails=2 fail_timeout=30s; server 127.0.0.1:$A; }
    upstream mf0   { server 127.0.0.1:$dead[2] max_fails=0; server 127.0.0.1:$A; }
    upstream bk    { server 127.0.0.1:$dead[3]; server 127.0.0.1:$dead[4]; server 127.0.0.1:$C backup; }
    upstream bk2   { server 127.0.0.1:$A; server 127.0.0.1:$B; server 127.0.0.1:$C backup; }
    upstream dn    { server 127.0.0.1:$A; server 127.0.0.1:$B down; }
    upstream alldn { server 127.0.0.1:$A down; server 127.0.0.1:$B down; }
    upstream ne    { server 127.0.0.1:$dead[5]; server 127.0.0.1:$A; }
    upstream noff  { server 127.0.0.1:$dead[5]; server 127.0.0.1:$A; }
    upstream n5    { server 127.0.0.1:$P{e502} max_fails=0; server 127.0.0.1:$B; }
    upstream n5off { server 127.0.0.1:$P{e502}; server 127.0.0.1:$B; }
    upstream n3    { server 127.0.0.1:$P{e503} max_fails=0; server 127.0.0.1:$B max_fails=0; }
    upstream nt    { server 127.0.0.1:$P{slow} max_fails=0; server 127.0.0.1:$C max_fails=0; }
    upstream tries { server 127.0.0.1:$dead[0]; server 127.0.0.1:$dead[1]; server 127.0.0.1:$dead[2]; server 127.0.0.1:$B; }
    server {
        listen 127.0.0.1:%%PORT%%;
        location /rr/    { proxy_pass http://rr; }
        location /lc/    { proxy_pass http://lc; proxy_read_timeout 5s; }
        location /hs/    { proxy_pass http://hs; }
        location /ch/    { proxy_pass http://ch; }
        location /ch2/   { proxy_pass http://ch2; }
        location /rnd/   { proxy_pass http://rnd; }
        location /ph/    { proxy_pass http://ph; }
        location /mf2/   { proxy_pass http://mf2; }
        location /mf0/   { proxy_pass http://mf0; }
        location /bk/    { proxy_pass http://bk; }
        location /bk2/   { proxy_pass http://bk2; }
        location /dn/    { proxy_pass http://dn; }
        location /alldn/ { proxy_pass http://alldn; }
        location /ne/    { proxy_pass http://ne; }
        location /noff/  { proxy_pass http://noff; proxy_next_upstream off; }
        location /n5/    { proxy_pass http://n5; proxy_next_upstream error timeout http_502; }
        location /n5off/ { proxy_pass http://n5off; }
        location /n3/    { proxy_pass http://n3; proxy_next_upstream http_503; }
        location /nt/    { proxy_pass http://nt; }
        location /tries/ { proxy_pass http://tries; proxy_next_upstream_tries 2; }
    }
}
CONF
my $pc = Test::Portcullis->new(conf => $conf);
my $p = $pc->port;

sub origin_of { my ($path, %o) = @_; my $r = http_request($p, path => $path, %o); return ($r->{headers}{'x-origin'} // "status:$r->{status}", $r) }
sub log_line { my ($re) = @_; return $pc->wait_for_log($re, 5, file => 'logs/up.log') }
sub refused_lines { my ($port, $from) = @_; return scalar $pc->log_lines(qr/connect\(\) failed.*peer: 127\.0\.0\.1:$port\b/, from => $from) }

# --- smooth weighted round robin -------------------------------------------------------------
{
    my (@seq, %n);
    for my $i (1 .. 70) { my ($o) = origin_of("/rr/$i"); push @seq, $o; $n{$o}++ }
    is(join('', map { substr($_, 0, 1) } @seq[0 .. 6]), 'aabacaa', 'round robin 5,1,1: a a b a c a a (smooth)');
    is_deeply([@n{qw(a b c)}], [50, 10, 10], 'round robin 5,1,1 over 70 requests: 50/10/10');
}

# --- least_conn --------------------------------------------------------------------------------
{
    # least_conn, equal weights: a request in flight on "slow" sends the next ones to b.
    my $slowc = client($p);
    $slowc->send("GET /lc/first HTTP/1.1\r\nHost: x\r\n\r\n");
    ok(wait_until(sub { grep { $_->{uri} eq '/lc/first' } $o{slow}->requests, $o{b}->requests }, 5), 'least_conn: first request arrived');
    my $first_on = (grep { $_->{uri} eq '/lc/first' } $o{slow}->requests) ? 'slow' : 'b';
    my %n;
    $n{ (origin_of("/lc/nodelay$_"))[0] }++ for 1 .. 6;
    my $other = $first_on eq 'slow' ? 'b' : 'slow';
    is($n{$other} // 0, 6, "least_conn: while one request is in flight on $first_on, all 6 go to $other");
    my $r = $slowc->read_response(timeout => 5);
    is($r && $r->{status}, 200, 'least_conn: the slow request completes');
    $slowc->close;
}

# --- hash, hash consistent ----------------------------------------------------------------------
{
    my (%first, %used, $stable);
    $stable = 1;
    for my $k (1 .. 30) {
        my ($o1) = origin_of("/hs/x?k=key$k");
        my ($o2) = origin_of("/hs/y?k=key$k");
        $stable = 0 if $o1 ne $o2;
        $used{$o1}++;
    }
    ok($stable, 'hash $arg_k: the same key always goes to the same server');
    is(scalar(keys %used), 3, 'hash $arg_k: keys spread over the 3 servers');

    my (%on, %on2, $moved_wrong, %from_c);
    for my $k (1 .. 60) {
        ($on{$k}) = origin_of("/ch/x?k=user$k");
        ($on2{$k}) = origin_of("/ch2/x?k=user$k");
    }
    $moved_wrong = grep { $on{$_} ne 'c' && $on{$_} ne $on2{$_} } keys %on;
    is($moved_wrong, 0, 'hash consistent: a server marked down moves only its own keys');
    ok(!grep({ $_ eq 'c' } values %on2), 'hash consistent: nothing goes to the down server');
    ok((grep { $_ eq 'c' } values %on) >= 5, 'hash consistent: the ring gives c its share of keys');
    my %spread; $spread{$_}++ for values %on;
    ok(keys(%spread) == 3 && !grep({ $_ < 8 } values %spread), 'hash consistent: keys spread (' . join(',', map { "$_=$spread{$_}" } sort keys %spread) . ')');
}

# --- random two ---------------------------------------------------------------------------------
{
    my %n;
    $n{ (origin_of("/rnd/$_"))[0] }++ for 1 .. 60;
    is(scalar(grep { ($n{$_} // 0) >= 5 } qw(a b c)), 3, 'random two: every server takes requests (' . join(',', map { "$_=" . ($n{$_} // 0) } qw(a b c)) . ')');
}

# --- passive health: max_fails / fail_timeout ------------------------------------------------------
{
    my $mark = $pc->log_mark;
    my @st = map { (origin_of("/ph/$_"))[1]{status} } 1 .. 10;
    is_deeply(\@st, [(200) x 10], 'passive health: every request answered (the failure is retried on the next server)');
    is(refused_lines($dead[0], $mark), 1, 'max_fails=1: one failure takes the server out, it is not tried again within fail_timeout');
    sleep(1.2);
    my $mark2 = $pc->log_mark;
    @st = map { (origin_of("/ph/again$_"))[1]{status} } 1 .. 4;
    is_deeply(\@st, [(200) x 4], 'after fail_timeout: still answered');
    is(refused_lines($dead[0], $mark2), 1, 'after fail_timeout: the server is probed again (once)');

    $mark = $pc->log_mark;
    @st = map { (origin_of("/mf2/$_"))[1]{status} } 1 .. 10;
    is_deeply(\@st, [(200) x 10], 'max_fails=2: every request answered');
    is(refused_lines($dead[1], $mark), 2, 'max_fails=2: two failures before the server is taken out');
    my @dis = $pc->log_lines(qr/\[warn\] .*upstream server temporarily disabled: peer 127\.0\.0\.1:$dead[1] of upstream "mf2", 2 failures within 30000 ms/,
        from => $mark);
    is(scalar @dis, 1, 'max_fails=2: taking the server out is logged once, at warn, naming it');

    $mark = $pc->log_mark;

    @st = map { (origin_of("/mf0/$_"))[1]{status} } 1 .. 6;
    is_deeply(\@st, [(200) x 6], 'max_fails=0: every request answered');
    is(refused_lines($dead[2], $mark), 3, 'max_fails=0: the server is never taken out (tried every other request)');
    is(scalar($pc->log_lines(qr/temporarily disabled/, from => $mark)), 0, 'max_fails=0: nothing logged as disabled');
}

# --- backup, down, no live upstreams ----------------------------------------------------------------
{
    my %n;
    $n{ (origin_of("/bk/$_"))[0] }++ for 1 .. 5;
    is($n{c} // 0, 5, 'backup: used when no primary is usable');
    %n = ();
    $n{ (origin_of("/bk2/$_"))[0] }++ for 1 .. 10;
    ok(!$n{c} && $n{a} == 5 && $n{b} == 5, 'backup: unused while the primaries work');
    %n = ();
    $n{ (origin_of("/dn/$_"))[0] }++ for 1 .. 6;
    is($n{a} // 0, 6, 'down: the server never gets a request');
    my $mark = $pc->log_mark;
    my (undef, $r) = origin_of('/alldn/x');
    is($r->{status}, 503, 'every server down: 503');
    like($r->{body}, qr/"reason":"no live upstreams"/, '503 body: no live upstreams');
    ok($pc->wait_for_log(qr/\[error\].*no live upstreams in upstream "alldn"/, 5, from => $mark), '503: logged in the error log');
    ok(log_line(qr{^/alldn/x 503 "alldn" "-"$}), '503: $upstream_addr names the upstream (as nginx), no status');
}

# --- proxy_next_upstream ------------------------------------------------------------------------------
{
    my ($o1, $r1) = origin_of('/ne/get1');
    is($r1->{status}, 200, 'next_upstream error: GET to a refused server is retried');
    ok(log_line(qr{^/ne/get1 200 "127\.0\.0\.1:$dead[5], 127\.0\.0\.1:$A" "502, 200"$}),
        'next_upstream: $upstream_addr and $upstream_status list every attempt');
    my $t0 = time();
    my ($o2, $r2) = origin_of('/noff/x');
    is($r2->{status}, 502, 'proxy_next_upstream off: the first failure is the answer');
    ($o2, $r2) = origin_of('/noff/y');
    is($o2, 'a', 'proxy_next_upstream off: the failed server is then out (passive health)');

    # POST to a refused server: nothing reached it, so it may go to the next one
    my $refused_post = http_request($p, method => 'POST', path => '/tries/post', body => 'p=1');
    is($refused_post->{status}, 502, 'tries 2: two refused servers -> 502');
    ok(log_line(qr{^/tries/post 502 "127\.0\.0\.1:$dead[0], 127\.0\.0\.1:$dead[1]" "502, 502"$}),
        'proxy_next_upstream_tries 2: two attempts, even for a POST that reached nobody');
    my $r = http_request($p, method => 'POST', path => '/tries/post2', body => 'p=2');
    is($r->{status}, 200, 'tries: the remaining servers take the next POST');
    is($r->{headers}{'x-origin'}, 'b', 'tries: a POST that reached nobody is retried');
}
{
    # http_502: GETs hitting e502 are retried on b; POSTs are never re-sent.
    my (%st, @postst);
    for my $i (1 .. 4) {
        my ($o, $r) = origin_of("/n5/get$i");
        $st{"$r->{status} $o"}++;
    }
    is_deeply(\%st, { '200 b' => 4 }, 'next_upstream http_502: every GET answered by b');
    ok((grep { $_->{uri} =~ m{^/n5/get} } $o{e502}->requests) >= 1, 'next_upstream http_502: e502 was tried');
    for my $i (1 .. 4) {
        my $r = http_request($p, method => 'POST', path => "/n5/post$i", body => "n=$i");
        my $on502 = grep { $_->{uri} eq "/n5/post$i" } $o{e502}->requests;
        my $onb   = grep { $_->{uri} eq "/n5/post$i" } $o{b}->requests;
        push @postst, $on502 + $onb == 1 && ($on502 ? $r->{status} == 502 && $r->{body} eq 'upstream says 502' : $r->{status} == 200) ? 1 : 0;
    }
    is_deeply(\@postst, [1, 1, 1, 1], 'next_upstream http_502: a POST reaches one server only, and gets its answer');
    ok((grep { $_->{uri} =~ m{^/n5/post} } $o{e502}->requests) >= 1, 'next_upstream http_502: some POSTs did hit the 502 server');
    my ($o, $r) = origin_of('/n5off/first');
    ($o, $r) = origin_of('/n5off/second') if $o eq 'b';
    is($r->{status}, 502, 'without http_502 the upstream\'s 502 is passed on');
    is($r->{body}, 'upstream says 502', 'the upstream\'s own 502 body');
    my %n3; $n3{ (origin_of("/n3/$_"))[0] }++ for 1 .. 4;
    is($n3{b} // 0, 4, 'next_upstream http_503: retried on the next server');
}
{
    # timeout: the slow server's GETs go to c after proxy_read_timeout; a POST does not.
    my ($t0, %n) = (time());
    my @got = map { [ origin_of("/nt/get$_") ] } 1 .. 2;
    is_deeply([map { "$_->[1]{status} $_->[0]" } @got], ['200 c', '200 c'], 'next_upstream timeout: GETs answered by the other server');
    ok((grep { $_->{uri} =~ m{^/nt/get} } $o{slow}->requests) >= 1, 'next_upstream timeout: the slow server was tried');
    my @post;
    for my $i (1 .. 2) {
        my $r = http_request($p, method => 'POST', path => "/nt/post$i", body => 'x' x 100);
        my $onslow = grep { $_->{uri} eq "/nt/post$i" } $o{slow}->requests;
        my $onc    = grep { $_->{uri} eq "/nt/post$i" } $o{c}->requests;
        push @post, "$onslow$onc:" . ($onslow ? ($r->{status} == 504 ? 'ok' : "got $r->{status}") : ($r->{status} == 200 ? 'ok' : "got $r->{status}"));
    }
    is(scalar(grep { /^(?:10|01):ok$/ } @post), 2, "next_upstream timeout: a POST that reached the slow server is not re-sent (@post)");
    ok((grep { /^10:/ } @post) >= 1, 'next_upstream timeout: a POST did hit the slow server (and got 504)');
}
ok(!$pc->log_lines(qr/\[(?:alert|crit|emerg)\]/), 'no alert/crit in the error log');

# --- SIGHUP: a server added to an upstream takes requests --------------------------------------------
{
    (my $c2 = $conf) =~ s{upstream dn    \{ server 127\.0\.0\.1:$A; server 127\.0\.0\.1:$B down; \}}{upstream dn { server 127.0.0.1:$A; server 127.0.0.1:$B; }};
    $pc->write_conf($c2);
    ok(defined $pc->reload, 'reload: b no longer down');
    my %n;
    ok(wait_until(sub { $n{ (origin_of('/dn/r'))[0] }++; ($n{b} // 0) > 0 }, 10, 0.05), 'after reload: b takes requests');
}
is($pc->stop, 0, 'exit 0');

# --- directives: valid and invalid values --------------------------------------------------------------
sub wrap {
    my ($up, $loc) = @_;
    $loc //= '';
    return "error_log logs/error.log info;\nevents { }\nhttp {\n    upstream u {\n        $up\n    }\n    server {\n        listen 127.0.0.1:%%PORT%%;\n        location / { proxy_pass http://u; $loc }\n    }\n}\n";
}
conf_test_ok(wrap("server 127.0.0.1:$A weight=3 max_fails=2 fail_timeout=5s;\n        server 127.0.0.1:$B backup;\n        server [::1]:$C down;\n        server localhost:$C;\n        keepalive 8;\n        keepalive_timeout 2s;\n        keepalive_requests 50;"), 'upstream with every server parameter');
conf_test_ok(wrap("least_conn;\n        server 127.0.0.1:$A;"), 'least_conn');
conf_test_ok(wrap("hash \$remote_addr\$http_x_user consistent;\n        server 127.0.0.1:$A;"), 'hash KEY consistent');
conf_test_ok(wrap("random two;\n        server 127.0.0.1:$A;"), 'random two');
conf_test_ok(wrap("round_robin;\n        server 127.0.0.1:$A;"), 'round_robin');
conf_test_ok(wrap("server 127.0.0.1:$A;", 'proxy_next_upstream error timeout http_502 http_503 http_504; proxy_next_upstream_tries 3;'), 'proxy_next_upstream with every condition');
conf_test_ok(wrap("server 127.0.0.1:$A;\n        keepalive 0;"), 'keepalive 0');
conf_test_fails(wrap("server 127.0.0.1:$A weight=0;"), 'weight=0', qr/weight/, 'server weight=0');
conf_test_fails(wrap("server 127.0.0.1:$A weight=1001;"), 'weight=1001', qr/weight/, 'server weight=1001');
conf_test_fails(wrap("server 127.0.0.1:$A max_fails=x;"), 'max_fails=x', qr/max_fails/, 'server max_fails=x');
conf_test_fails(wrap("server 127.0.0.1:$A fail_timeout=soon;"), 'fail_timeout', qr/fail_timeout/, 'server fail_timeout=soon');
conf_test_fails(wrap("server 127.0.0.1:$A slow_start=10s;"), 'slow_start', qr/invalid parameter/, 'server unknown parameter');
conf_test_fails(wrap("server ::1:$A;"), 'server ::1', qr/invalid address/, 'server bare IPv6 address');
conf_test_fails(wrap("server 127.0.0.1:0;"), 'server 127', qr/invalid address/, 'server port 0');
conf_test_fails(wrap("server no-such-host.invalid:80;"), 'server no-such', qr/host not found/, 'server unresolvable');
conf_test_fails(wrap("server 127.0.0.1:$A backup;"), 'upstream u', qr/only backup/, 'upstream with only backup servers');
conf_test_fails(wrap(""), 'upstream u', qr/no servers/, 'upstream without servers');
conf_test_fails(wrap("server 127.0.0.1:$A;\n        keepalive -1;"), 'keepalive', qr/keepalive|invalid/, 'keepalive -1');
conf_test_fails(wrap("server 127.0.0.1:$A;\n        keepalive_timeout never;"), 'keepalive_timeout', qr/never|invalid/, 'keepalive_timeout never');
conf_test_fails(wrap("server 127.0.0.1:$A;\n        keepalive_requests 0;"), 'keepalive_requests', qr/keepalive_requests|invalid|0/, 'keepalive_requests 0');
conf_test_fails(wrap("least_conn;\n        hash \$arg_x;\n        server 127.0.0.1:$A;"), 'hash', qr/already set/, 'two balancing methods');
conf_test_fails(wrap("random;\n        server 127.0.0.1:$A;"), 'random', qr/random/, 'random without "two"');
conf_test_fails(wrap("random three;\n        server 127.0.0.1:$A;"), 'random', qr/random two/, 'random three');
conf_test_fails(wrap("hash \$arg_x ring;\n        server 127.0.0.1:$A;"), 'hash', qr/ring/, 'hash KEY ring');
conf_test_fails(wrap("hash \$no_such_var_h;\n        server 127.0.0.1:$A;"), 'hash', qr/no_such_var_h/, 'hash unknown variable');
conf_test_fails(wrap("least_conn x;\n        server 127.0.0.1:$A;"), 'least_conn', qr/least_conn/, 'least_conn with an argument');
conf_test_fails(wrap("round_robin x;\n        server 127.0.0.1:$A;"), 'round_robin', qr/round_robin/, 'round_robin with an argument');
conf_test_fails(wrap("server 127.0.0.1:$A;", 'proxy_next_upstream error http_404;'), 'proxy_next_upstream', qr/http_404/, 'proxy_next_upstream http_404');
conf_test_fails(wrap("server 127.0.0.1:$A;", 'proxy_next_upstream off error;'), 'proxy_next_upstream', qr/off/, 'proxy_next_upstream off with others');
conf_test_fails(wrap("server 127.0.0.1:$A;", 'proxy_next_upstream_tries 17;'), 'proxy_next_upstream_tries', qr/proxy_next_upstream_tries|17|invalid/, 'proxy_next_upstream_tries 17');
conf_test_fails(wrap("server 127.0.0.1:$A;", 'proxy_next_upstream_tries many;'), 'proxy_next_upstream_tries', qr/many|invalid/, 'proxy_next_upstream_tries many');
# SPEC §3: a repeated parameter is an error, never "the last one wins"
for my $p ('weight=2 weight=3', 'max_fails=1 max_fails=2', 'fail_timeout=1s fail_timeout=2s', 'backup backup', 'down down') {
    my $second = (split / /, $p)[1];
    conf_test_fails(wrap("server 127.0.0.1:$A;\n        server 127.0.0.1:$B $p;"), "$B $p",
        qr/duplicate parameter "\Q$second\E" in "server"/, "server $p");
}
conf_test_fails(wrap("server 127.0.0.1:$A;", 'proxy_next_upstream error timeout error;'), 'proxy_next_upstream',
    qr/duplicate value "error" in "proxy_next_upstream"/, 'proxy_next_upstream error twice');
conf_test_fails(wrap("server 127.0.0.1:$A;", 'proxy_next_upstream off off;'), 'proxy_next_upstream', qr/"off"/, 'proxy_next_upstream off off');
conf_test_fails(wrap("server 127.0.0.1:$A;", 'proxy_next_upstream error off;'), 'proxy_next_upstream', qr/"off" cannot be combined/, 'proxy_next_upstream off after others');
# hash and random two refuse backup servers (nginx: "balancing method does not support ..."),
# at the line of whichever of the two comes second
conf_test_fails(wrap("hash \$arg_x;\n        server 127.0.0.1:$A;\n        server 127.0.0.1:$B backup;"), "$B backup",
    qr/"hash" balancing method does not support backup/, 'hash, then a backup server');
conf_test_fails(wrap("hash \$arg_x consistent;\n        server 127.0.0.1:$A;\n        server 127.0.0.1:$B backup;"), "$B backup",
    qr/"hash" balancing method does not support backup/, 'hash consistent, then a backup server');
conf_test_fails(wrap("server 127.0.0.1:$A;\n        server 127.0.0.1:$B backup;\n        hash \$arg_x;"), 'hash',
    qr/"hash" balancing method does not support backup/, 'a backup server, then hash');
conf_test_fails(wrap("random two;\n        server 127.0.0.1:$A;\n        server 127.0.0.1:$B backup;"), "$B backup",
    qr/"random" balancing method does not support backup/, 'random two, then a backup server');
conf_test_fails(wrap("server 127.0.0.1:$A;\n        server 127.0.0.1:$B backup;\n        random two;"), 'random',
    qr/"random" balancing method does not support backup/, 'a backup server, then random two');
conf_test_ok(wrap("least_conn;\n        server 127.0.0.1:$A;\n        server 127.0.0.1:$B backup;"), 'least_conn with a backup server');
conf_test_ok(wrap("hash \$arg_x;\n        server 127.0.0.1:$A;\n        server 127.0.0.1:$B down;"), 'hash with a down server');
conf_test_fails("events { }\nhttp {\n    upstream u { server 127.0.0.1:$A; }\n    upstream u { server 127.0.0.1:$B; }\n    server { listen 127.0.0.1:%%PORT%%; }\n}\n",
    'upstream u { server 127.0.0.1:' . $B, qr/duplicate upstream/, 'upstream defined twice');
conf_test_fails("events { }\nhttp {\n    server { listen 127.0.0.1:%%PORT%%;\n        keepalive 5;\n    }\n}\n", 'keepalive 5', qr/keepalive/, 'keepalive outside upstream');
conf_test_fails("events { }\nhttp {\n    server { listen 127.0.0.1:%%PORT%%; location / {\n        upstream x { server 127.0.0.1:$A; }\n    } }\n}\n", 'upstream x', qr/upstream/, 'upstream in a location');
done_testing();
