#!/usr/bin/perl
# Deadline propagation (SPEC §4 proxy_request_timeout_header NAME
# [max=DURATION]): a client-supplied timeout caps the upstream timeouts
# (connect and read, across retries too), itself capped at max=; the
# remaining budget is forwarded upstream in the same header; absent or
# invalid values leave the configured timeouts alone; the directive is
# inherited and can be turned off.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Test::Portcullis::Origin;
use Time::HiRes qw(time sleep);

Test::Portcullis::require_binary();

my $o  = Test::Portcullis::Origin->new(name => 'o');                 # ?delay=S
my $h1 = Test::Portcullis::Origin->new(name => 'h1', handler => sub { { delay => 3, body => 'late' } });
my $h2 = Test::Portcullis::Origin->new(name => 'h2', handler => sub { { delay => 3, body => 'late' } });
my $hole = Test::Portcullis::Origin->new(name => 'hole', listen_only => 1);
my ($O, $H1, $H2, $X) = map { $_->port } $o, $h1, $h2, $hole;

my $pc = Test::Portcullis->new(conf => <<"CONF");
error_log logs/error.log info;
events { }
http {
    proxy_read_timeout 5s;
    upstream two { server 127.0.0.1:$H1 max_fails=0; server 127.0.0.1:$H2 max_fails=0; }
    upstream hp { server 127.0.0.1:$H1; server 127.0.0.1:$H2; }
    server {
        listen 127.0.0.1:%%PORT%%;
        proxy_request_timeout_header X-Request-Timeout max=800ms;
        location /d/     { proxy_pass http://127.0.0.1:$O; }
        location /nomax/ { proxy_request_timeout_header x-request-timeout; proxy_pass http://127.0.0.1:$O; }
        location /off/   { proxy_request_timeout_header off; proxy_pass http://127.0.0.1:$O; }
        location /two/   { proxy_request_timeout_header X-Request-Timeout; proxy_read_timeout 400ms; proxy_pass http://two; }
        location /ct/    { proxy_connect_timeout 5s; proxy_pass http://127.0.0.1:$X; }
        location /hp/    { proxy_pass http://hp; }
    }
    server {
        listen 127.0.0.1:%%PORT2%%;
        location / { proxy_pass http://127.0.0.1:$O; }
    }
}
CONF
my $p = $pc->port;

# (response, seconds, header value the origin got)
sub timed {
    my ($path, @h) = @_;
    my $t0 = time();
    my $r = http_request($p, path => $path, headers => [@h], timeout => 10);
    my $dt = time() - $t0;
    my ($req) = grep { $_->{uri} eq $path } $o->requests;
    my ($fwd) = map { $_->[1] } grep { lc($_->[0]) eq 'x-request-timeout' } @{ $req->{hlist} // [] };
    my $n = grep { lc($_->[0]) eq 'x-request-timeout' } @{ $req->{hlist} // [] };
    return ($r, $dt, $fwd, $n);
}
sub ms { my ($v) = @_; return defined $v && $v =~ /^(\d+)ms$/ ? $1 : -1 }

{
    my ($r, $dt, $fwd, $n) = timed('/d/a?delay=3', 'X-Request-Timeout' => '300ms');
    is($r->{status}, 504, 'X-Request-Timeout: 300ms against a 3 s backend: 504');
    ok($dt >= 0.25 && $dt < 1.2, sprintf('... after about 300ms (%.2fs)', $dt));
    ok(ms($fwd) > 150 && ms($fwd) <= 300, "the remaining budget is forwarded upstream ($fwd)");
    is($n, 1, 'one X-Request-Timeout upstream (the client\'s is replaced)');
    like($r->{body}, qr/"reason":"(?:upstream timed out|request deadline exceeded)"/, '504 body');
    ok($pc->wait_for_log(qr/\[error\].*timed out \(request deadline\).*phase: read header/, 5), 'error log: the request deadline, and the phase');
}
{
    my ($r, $dt, $fwd) = timed('/d/b?delay=3', 'X-Request-Timeout' => '10s');
    is($r->{status}, 504, 'X-Request-Timeout: 10s with max=800ms: 504');
    ok($dt >= 0.75 && $dt < 2, sprintf('... capped at max=800ms (%.2fs)', $dt));
    ok(ms($fwd) > 600 && ms($fwd) <= 800, "forwarded budget capped at max ($fwd)");
}
{
    my ($r, $dt, $fwd) = timed('/d/c?delay=0.2', 'x-request-timeout' => '2s');
    is($r->{status}, 200, 'a response within the budget: 200');
    ok(ms($fwd) > 500 && ms($fwd) <= 800, "budget forwarded (header name case-insensitive) ($fwd)");
}
{
    my ($r, $dt, $fwd, $n) = timed('/d/none?delay=0.4');
    is($r->{status}, 200, 'no client header: the configured proxy_read_timeout applies (slow backend: 200)');
    is($n, 0, 'no client header: none forwarded');
    ($r, $dt, $fwd, $n) = timed('/d/bad?delay=0.4', 'X-Request-Timeout' => 'soon');
    is($r->{status}, 200, 'an invalid value is ignored (no deadline)');
    is($n, 0, 'an invalid value is not forwarded');
    ($r, $dt, $fwd) = timed('/nomax/x?delay=3', 'X-Request-Timeout' => '1');
    is($r->{status}, 504, 'without max=, a bare number is seconds: 504');
    ok($dt >= 0.95 && $dt < 2, sprintf('... after 1 s (%.2fs)', $dt));
    ($r, $dt, $fwd, $n) = timed('/off/x?delay=0.4', 'X-Request-Timeout' => '100ms');
    is($r->{status}, 200, 'proxy_request_timeout_header off: no deadline');
    is($fwd, '100ms', 'proxy_request_timeout_header off: the header is an ordinary field');
}
{
    my $t0 = time();
    my $r = http_request($p, path => '/two/x', headers => ['X-Request-Timeout' => '600ms'], timeout => 10);
    my $dt = time() - $t0;
    is($r->{status}, 504, 'deadline across retries: 504');
    ok($dt >= 0.55 && $dt < 1.2, sprintf('two 400ms attempts fit in the 600ms deadline (%.2fs, not 0.8s)', $dt));
    my @r1 = $h1->requests;
    my @r2 = $h2->requests;
    is(scalar(@r1) + scalar(@r2), 2, 'both servers tried');
    my @budgets = sort { $a <=> $b } map { ms((map { $_->[1] } grep { lc($_->[0]) eq 'x-request-timeout' } @{ $_->{hlist} })[0]) } @r1, @r2;
    ok(@budgets == 2 && $budgets[0] <= 250 && $budgets[1] > 450, "the second attempt gets what is left (@budgets ms)");
}
{
    # a client's short deadline is its own budget, not the server's health:
    # with max_fails=1 (the default) two such 504s must not take both
    # servers of the upstream out (503 "no live upstreams" for everyone)
    my $mark = $pc->log_mark;
    my $before = scalar($h1->requests) + scalar($h2->requests);
    my @st = map { http_request($p, path => "/hp/$_", headers => ['X-Request-Timeout' => '100ms'], timeout => 10) } 1 .. 3;
    is(join(',', map { $_->{status} } @st), '504,504,504', 'three requests past their own deadline: 504 each');
    unlike($st[2]{body} // '', qr/no live upstreams/, 'the servers were not taken out by them');
    ok(wait_until(sub { scalar($h1->requests) + scalar($h2->requests) - $before == 3 }, 5),
        'each reached one server, and no other was tried with a spent budget');
    ok(!$pc->log_lines(qr/temporarily disabled/, from => $mark), 'no server disabled');
}
{
    my $t0 = time();
    my $r = http_request($p, path => '/ct/x', headers => ['X-Request-Timeout' => '300ms'], timeout => 10);
    my $dt = time() - $t0;
    is($r->{status}, 504, 'the deadline caps the connect timeout too');
    ok($dt >= 0.25 && $dt < 1.5, sprintf('... 300ms, not proxy_connect_timeout 5s (%.2fs)', $dt));
}
{
    my $r = http_request($pc->port(2), path => '/plain', headers => ['X-Request-Timeout' => '50ms']);
    my $e = Test::Portcullis::Origin::echo_of($r);
    is($e && $e->{h}{'x-request-timeout'}, '50ms', 'not configured: the header passes unchanged');
}
ok(!$pc->log_lines(qr/\[(?:alert|crit|emerg)\]/), 'no alert/crit in the error log');
is($pc->stop, 0, 'exit 0');

sub wrap { my ($d) = @_; return "events { }\nhttp {\n    $d\n    server { listen 127.0.0.1:%%PORT%%; location / { proxy_pass http://127.0.0.1:$O; } }\n}\n" }
conf_test_ok(wrap('proxy_request_timeout_header X-Request-Timeout max=2s;'), 'proxy_request_timeout_header NAME max=');
conf_test_ok(wrap('proxy_request_timeout_header Grpc-Timeout;'), 'proxy_request_timeout_header NAME');
conf_test_ok(wrap('proxy_request_timeout_header off;'), 'proxy_request_timeout_header off');
conf_test_fails(wrap('proxy_request_timeout_header X-T max=abc;'), 'proxy_request_timeout_header', qr/abc|duration/, 'max=abc');
conf_test_fails(wrap('proxy_request_timeout_header X-T max=0;'), 'proxy_request_timeout_header', qr/max=|duration|0/, 'max=0');
conf_test_fails(wrap('proxy_request_timeout_header X-T maximum=2s;'), 'proxy_request_timeout_header', qr/maximum|max=/, 'maximum=2s');
conf_test_fails(wrap('proxy_request_timeout_header "X T";'), 'proxy_request_timeout_header', qr/invalid header name/, 'a name with a space');
conf_test_fails(wrap('proxy_request_timeout_header off max=1s;'), 'proxy_request_timeout_header', qr/off/, 'off with max=');
conf_test_fails(wrap('proxy_request_timeout_header X-T max=1s extra;'), 'proxy_request_timeout_header', qr/proxy_request_timeout_header|arguments/, 'three arguments');
done_testing();
