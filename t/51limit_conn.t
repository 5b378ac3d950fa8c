#!/usr/bin/perl
# limit_conn (SPEC §4 ratelimit row): requests in flight per key counted in
# shared memory across workers, released when each request ends (also on a
# keep-alive connection), 429 and Retry-After by default, or limit_conn_status, tenant keys,
# empty keys unlimited, counts surviving SIGHUP, -t errors.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Test::Portcullis::Backend;
use Test::Portcullis::Ratelimit;
use File::Temp qw(tempdir);
use Time::HiRes qw(time sleep);

Test::Portcullis::require_binary();

# The backend holds a request whose URI says "hold" until $dir/release
# exists, after leaving a file in $dir so the test knows it arrived.
my $dir = tempdir(CLEANUP => 1);
my $be = Test::Portcullis::Backend->new(handler => sub {
    my ($req) = @_;
    if ($req->{uri} =~ /hold/) {
        spew("$dir/arrived.$$." . int(rand(1e9)), "1");
        wait_until(sub { -e "$dir/release" }, 30, 0.01);
    }
    return (200, ['Content-Type' => 'text/plain'], "done\n");
});

sub conf {
    my (%o) = @_;
    my $max = $o{max} // 2;
    my $status = defined $o{status} ? "limit_conn_status $o{status};" : '';
    my $be_port = $be->port;
    return <<"CONF";
error_log logs/error.log info;
worker_processes 2;
pid logs/portcullis.pid;
shutdown_timeout 10s;
events { }
http {
    log_format lc '\$uri \$status \$limit_conn_status';
    access_log logs/access.log lc;
    limit_conn_zone \$remote_addr zone=addr:32k;
    add_header X-LC \$limit_conn_status always;
    server {
        listen 127.0.0.1:%%PORT%%;
        proxy_read_timeout 30s;
        $status
        location /hold { limit_conn addr $max; proxy_pass http://127.0.0.1:$be_port; }
        location /one { limit_conn addr 1; limit_conn_status 503; return 200 "one\\n"; }
        location /t/ { limit_conn tenant 1; proxy_pass http://127.0.0.1:$be_port; }
        location /free { return 200 "free\\n"; }
    }
    limit_conn_zone \$http_x_api_key zone=tenant:32k;
}
CONF
}

sub arrived { my @f = glob("$dir/arrived.*"); return scalar @f }

# Start a request we do not wait for; returns the client.
sub start_request {
    my ($port, $path, @h) = @_;
    my $c = client($port) or die "connect: $!";
    my $req = "GET $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
    while (@h) { my ($k, $v) = splice(@h, 0, 2); $req .= "$k: $v\r\n" }
    $c->send("$req\r\n");
    return $c;
}

sub hold_n {
    my ($port, $n, $path, @h) = @_;
    my $before = arrived();
    my @c = map { start_request($port, $path // '/hold', @h) } 1 .. $n;
    wait_until(sub { arrived() >= $before + $n }, 10);
    return @c;
}

sub finish {
    my @st;
    for my $c (@_) {
        my $r = $c->read_response(timeout => 15);
        push @st, $r ? $r->{status} : 0;
        $c->close;
    }
    return join ',', @st;
}

my $pc = Test::Portcullis->new(conf => conf(), workers => 2);
my $port = $pc->port;

# --- two in flight: the third is refused --------------------------------------
my @held = hold_n($port, 2);
is(arrived(), 2, 'two requests in flight at the backend');
my $t0 = time();
my $r = http_get($port, '/hold');
is($r->{status}, 429, 'limit_conn addr 2: the third gets 429 (SPEC: exceeding → 429)');
ok(time() - $t0 < 2, 'the refusal is immediate');
like($r->{body}, qr/"status":429,"reason":"too many concurrent requests \(zone addr\)"/,
    'SPEC §8 error body names the zone');
is($r->{headers}{'x-lc'}, 'REJECTED', '$limit_conn_status REJECTED');
is($r->{headers}{'retry-after'}, '1', 'Retry-After: 1');

$r = http_get($port, '/one');
is($r->{status}, 503, 'limit_conn_status 503 (the same key is at 2 in the zone)');
is($r->{headers}{'retry-after'}, '1', 'limit_conn_status 503: Retry-After too');
$r = http_get($port, '/free');
is($r->{status}, 200, 'a location without limit_conn is not limited');

# tenants: per $http_x_api_key, empty key unlimited
my @t = hold_n($port, 1, '/t/hold', 'X-Api-Key' => 'alpha');
is(http_get($port, '/t/x', 'X-Api-Key' => 'alpha')->{status}, 429,
    'tenant alpha at its limit of 1');
$r = http_get($port, '/t/x', 'X-Api-Key' => 'beta');
ok($r->{status} == 200 && $r->{headers}{'x-lc'} eq 'PASSED', 'tenant beta passes (PASSED)');
$r = http_get($port, '/t/x');
ok($r->{status} == 200 && !defined $r->{headers}{'x-lc'}, 'no key: not limited, no status');

spew("$dir/release", "1");
is(finish(@held, @t), '200,200,200', 'held requests complete');
unlink "$dir/release";

# --- counts go back down when requests end ---------------------------------------
wait_until(sub { http_get($port, '/one')->{status} == 200 }, 5);
is(http_get($port, '/one')->{status}, 200, 'every slot released after the requests ended');
is(join(',', pipelined($port, [ map { ['/one', []] } 1 .. 20 ])), join(',', (200) x 20),
    'keep-alive: each request releases its slot when it ends, not the connection');
my @l;
wait_until(sub { @l = grep { m{^/hold } } split /\n/, slurp($pc->path('logs/access.log'));
    @l >= 3 }, 5);
is(join(' ', sort map { (split / /)[2] } @l), 'PASSED PASSED REJECTED',
    '$limit_conn_status in the access log');

# --- SIGHUP: the counts of in-flight requests survive, the limit changes ------------
@held = hold_n($port, 2);
$pc->write_conf(conf(max => 3, status => 503));
ok(reload_settled_keep($pc), 'reload with limit_conn addr 3, limit_conn_status 503');
my @third = hold_n($port, 1);
is(arrived(), 6, 'a third request is admitted under the new limit');
is(http_get($port, '/hold')->{status}, 503,
    'the fourth is refused (503 now): the two from the old workers still count');
spew("$dir/release", "1");
is(finish(@held, @third), '200,200,200', 'old and new generation requests complete');
wait_until(sub { http_get($port, '/one')->{status} == 200 }, 5);
is(http_get($port, '/one')->{status}, 200, 'and release their slots');
is($pc->stop, 0, 'clean stop');

# The old workers keep their in-flight requests, so wait for the reload
# and for both old workers to have retired (they close their listeners
# then: later connections reach the new generation).
sub reload_settled_keep {
    my ($pc) = @_;
    my $mark = $pc->log_mark;
    my $gen = $pc->reload or return undef;
    wait_until(sub {
        (() = substr($pc->error_log, $mark) =~ /retiring after a reload/g) >= 2 }, 10);
    return $gen;
}

# --- -t ----------------------------------------------------------------------------
sub tconf {
    my ($http, $loc) = @_;
    return "events { }\nhttp {\n    $http\n    server {\n        listen 127.0.0.1:%%PORT%%;\n"
        . "        location / { $loc return 200; }\n    }\n}\n";
}
conf_test_ok(tconf('limit_conn_status 429;',
    'limit_conn later 10; limit_conn k 65535;') =~ s/\}\s*\z/    limit_conn_zone \$remote_addr zone=later:1m;\n    limit_conn_zone "\$host\$http_x" zone=k:64k;\n}\n/r,
    'limit_conn valid values (zone declared after use)');
my $zc = 'limit_conn_zone $remote_addr zone=c:1m;';
for my $b (
    [ 'limit_conn_zone $remote_addr size=1m;', '', qr/expected zone=NAME:SIZE/ ],
    [ 'limit_conn_zone $remote_addr zone=c:1k;', '', qr/size 1024 is out of range/ ],
    [ 'limit_conn_zone $remote_addr zone=c;', '', qr/expected zone=NAME:SIZE/ ],
    [ 'limit_conn_zone $nope zone=c:1m;', '', qr/unknown variable/ ],
    [ 'limit_conn_zone $remote_addr;', '', qr/invalid number of arguments/ ],
    [ "$zc limit_conn_zone \$uri zone=c:1m;", '', qr/already declared by limit_conn_zone/ ],
    [ $zc, 'limit_conn nope 1;', qr/unknown limit_conn_zone "nope"/ ],
    [ $zc, 'limit_conn c 0;', qr/invalid number "0": expected 1 to 65535/ ],
    [ $zc, 'limit_conn c 65536;', qr/invalid number "65536"/ ],
    [ $zc, 'limit_conn c many;', qr/invalid number "many"/ ],
    [ $zc, 'limit_conn c 1; limit_conn c 2;', qr/zone "c" is duplicate/ ],
    [ $zc, 'limit_conn_status 99;', qr/between 400 and 599/ ],
    [ $zc, 'limit_conn_status 429; limit_conn_status 503;', qr/duplicate/ ],
    [ 'limit_req_zone $remote_addr zone=r:1m rate=1r/s;', 'limit_conn r 1;',
      qr/zone "r" is a limit_req_zone zone/ ],
) {
    my ($http, $loc, $re) = @$b;
    my $marker = $re =~ /unknown limit_conn_zone/ ? 'location /' : $loc ne '' ? $loc : $http;
    conf_test_fails(tconf($http, $loc), $marker, $re, "$http $loc");
}
conf_test_fails(tconf('', 'limit_conn_zone $remote_addr zone=x:1m;'), 'limit_conn_zone',
    qr/not allowed here/, 'limit_conn_zone outside http');

$be->stop;
done_testing();
