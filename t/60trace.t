#!/usr/bin/perl
# trace module (SPEC §4 "trace"): W3C traceparent kept or replaced (version
# 00 strictly; a higher version read as 00, W3C Trace Context §3.2.4), a new span per hop, tracestate, X-Request-ID kept or generated,
# trace_sampled, trace_response_header, $trace_id $span_id $parent_id
# $request_id, and the same ids at the backend, the client and the json
# access log.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use Test::Portcullis::Backend;
use JSON::PP;

Test::Portcullis::require_binary();

my $VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
my $TP_RE = qr/^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

# --- directives: valid and invalid values, contexts ----------------------------------------
my $base = <<'CONF';
error_log logs/error.log info;
events { }
http {
    %%HTTP%%
    server {
        listen 127.0.0.1:%%PORT%%;
        %%SERVER%%
        location / { %%LOC%% return 200; }
    }
}
CONF
sub conf {
    my (%o) = @_;
    my $c = $base;
    $c =~ s/%%$_%%/$o{lc $_} \/\/ ''/e for qw(HTTP SERVER LOC);
    return $c;
}
conf_test_ok(conf(http => 'trace on; trace_sampled on; trace_response_header off;'), 'trace directives in http');
conf_test_ok(conf(server => 'trace off; trace_sampled off;', loc => 'trace_response_header on;'),
    'trace in server, trace_response_header in location');
conf_test_fails(conf(server => 'trace maybe;'), 'trace maybe', qr/on.*off/, 'trace maybe');
conf_test_fails(conf(server => 'trace_sampled 1;'), 'trace_sampled 1', qr/on.*off/, 'trace_sampled 1');
conf_test_fails(conf(loc => 'trace_response_header yes;'), 'trace_response_header yes',
    qr/on.*off/, 'trace_response_header yes');
conf_test_fails(conf(loc => 'trace on;'), 'trace on', qr/not allowed|context/i,
    'trace is not a location directive');
conf_test_fails(conf(loc => 'trace_sampled on;'), 'trace_sampled on', qr/not allowed|context/i,
    'trace_sampled is not a location directive');
conf_test_fails(conf(server => 'trace on; trace off;'), 'trace on; trace off', qr/duplicate/,
    'trace twice in one server');
conf_test_fails(conf(server => 'trace on off;'), 'trace on off', qr/argument|number/i,
    'trace takes one argument');

# --- a backend that echoes what it received ------------------------------------------------
my $be = Test::Portcullis::Backend->new();
my $bp = $be->port;
my $conf = <<'CONF';
error_log logs/error.log info;
worker_processes 1;
events { }
http {
    log_format ids '$uri $trace_id $span_id $parent_id $request_id';
    access_log logs/access.json json;
    access_log logs/ids.log ids;
    upstream be { server 127.0.0.1:BEPORT; }
    server {
        listen 127.0.0.1:%%PORT%%;
        trace on;
        add_header X-Trace $trace_id always;
        add_header X-Span $span_id always;
        add_header X-Parent $parent_id always;
        location / { proxy_pass http://be; }
        location /noecho/ { trace_response_header off; proxy_pass http://be; }
        location = /err { return 503; }
        location /down/ { proxy_pass http://127.0.0.1:%%PORT4%%; }
    }
    server {
        listen 127.0.0.1:%%PORT2%%;
        trace on;
        trace_sampled on;
        location / { proxy_pass http://be; }
    }
    server {
        listen 127.0.0.1:%%PORT3%%;
        location / { proxy_pass http://be; }
    }
}
CONF
$conf =~ s/BEPORT/$bp/g;
my $pc = Test::Portcullis->new(conf => $conf, wait_ports => [1, 2, 3]);
my ($p1, $p2, $p3) = ($pc->port(1), $pc->port(2), $pc->port(3));

# Request through the proxy; returns (response, [[name, value] ... as the backend saw them]).
sub via {
    my ($port, $path, @h) = @_;
    my $r = http_request($port, path => $path, headers => \@h);
    my @seen;
    if ($r->{status} == 200) {
        my ($head) = split /\n\n/, $r->{body}, 2;
        for my $line (split /\n/, $head) {
            push @seen, [lc $1, $2] if $line =~ /^([^:]+): (.*)$/;
        }
    }
    return ($r, \@seen);
}
sub seen_all { my ($seen, $n) = @_; return map { $_->[1] } grep { $_->[0] eq lc $n } @$seen }

# --- a valid traceparent is continued ----------------------------------------------------------
{
    my ($r, $seen) = via($p1, '/valid', traceparent => $VALID, tracestate => 'congo=t61rcWkgMzE',
        tracestate => 'rojo=00f067aa0ba902b7');
    is($r->{status}, 200, 'valid traceparent: proxied');
    my @tp = seen_all($seen, 'traceparent');
    is(scalar @tp, 1, 'valid: the backend gets one traceparent');
    my ($trace, $span, $flags) = ($tp[0] // '') =~ $TP_RE;
    is($trace, '4bf92f3577b34da6a3ce929d0e0e4736', 'valid: trace-id kept');
    is($flags, '01', 'valid: flags kept');
    ok($span && $span ne '00f067aa0ba902b7', 'valid: the parent-id sent is a new span id');
    is($r->{headers}{'x-span'}, $span, 'valid: $span_id is the parent-id sent upstream');
    is($r->{headers}{'x-trace'}, $trace, 'valid: $trace_id');
    is($r->{headers}{'x-parent'}, '00f067aa0ba902b7', 'valid: $parent_id is the incoming parent-id');
    is_deeply([seen_all($seen, 'tracestate')], ['congo=t61rcWkgMzE', 'rojo=00f067aa0ba902b7'],
        'valid: tracestate passed through unchanged, in order');
    my ($r2) = via($p1, '/valid2', traceparent => $VALID);
    ok($r2->{headers}{'x-span'} && $r2->{headers}{'x-span'} ne $span, 'a new span id per request');
    my ($r3, $s3) = via($p2, '/sampled-kept', traceparent =>
        '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00');
    my ($f3) = ((seen_all($s3, 'traceparent'))[0] // '') =~ /-([0-9a-f]{2})$/;
    is($f3, '00', 'valid: incoming flags win over trace_sampled');
}

# --- a higher version is read as 00 (W3C Trace Context §3.2.4) ---------------------------------
# Its trace-id is kept, its parent-id becomes $parent_id, and what goes
# upstream is a version-00 traceparent with our span and only the sampled bit.
my @future = (
    ['01, 55 bytes',      '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', '01'],
    ['02 with a field',   '02-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-abcd', '01'],
    ['cc, flags 09',      'cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-x-y', '01'],
    ['01, flags fe',      '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-fe-', '00'],
);
for my $case (@future) {
    my ($name, $tp, $want_flags) = @$case;
    (my $path = "/future-$name") =~ s/[^\w\/]+/-/g;
    my ($r, $seen) = via($p1, $path, traceparent => $tp, tracestate => 'congo=t61rcWkgMzE');
    my @tp = seen_all($seen, 'traceparent');
    my ($trace, $span, $flags) = ($tp[0] // '') =~ $TP_RE;
    ok(@tp == 1 && defined $trace, "future ($name): one version-00 traceparent forwarded");
    is($trace, '4bf92f3577b34da6a3ce929d0e0e4736', "future ($name): trace-id kept upstream");
    ok($span && $span ne '00f067aa0ba902b7', "future ($name): a new parent-id upstream");
    is($r->{headers}{'x-span'}, $span, "future ($name): \$span_id is that parent-id");
    is($flags, $want_flags, "future ($name): only the sampled bit forwarded");
    is($r->{headers}{'x-trace'}, $trace, "future ($name): \$trace_id is the kept trace-id");
    is($r->{headers}{'x-parent'}, '00f067aa0ba902b7', "future ($name): \$parent_id");
    is_deeply([seen_all($seen, 'tracestate')], ['congo=t61rcWkgMzE'],
        "future ($name): tracestate passed through");
}
{
    my ($r, $seen) = via($p1, '/future-log',
        traceparent => '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-abc');
    is(log_json('/future-log')->{trace_id}, '4bf92f3577b34da6a3ce929d0e0e4736',
        'future: access log trace_id is the kept trace-id');
    my ($r2, $s2) = via($p2, '/future-unsampled',
        traceparent => '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-abc');
    like((seen_all($s2, 'traceparent'))[0] // '', qr/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-00$/,
        'future: incoming flags 00 win over trace_sampled on');
}

# --- invalid ones start a new trace and are never forwarded -------------------------------
my @invalid = (
    ['version ff',    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['00 with a suffix', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-abc'],
    ['01 no dash after flags', '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x'],
    ['01 too short',  '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0'],
    ['01 zero trace-id', '01-00000000000000000000000000000000-00f067aa0ba902b7-01-abc'],
    ['uppercase version', '0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['uppercase hex', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'],
    ['zero trace-id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['zero parent-id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['too short',     '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'],
    ['too long',      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-'],
    ['bad dash',      '00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01'],
    ['not hex',       '00-4bf92f3577b34da6a3ce929d0e0e473z-00f067aa0ba902b7-01'],
    ['garbage',       'hello'],
);
for my $case (@invalid) {
    my ($name, $tp) = @$case;
    my ($r, $seen) = via($p1, '/invalid', traceparent => $tp, tracestate => 'congo=t61rcWkgMzE');
    my @tp = seen_all($seen, 'traceparent');
    my ($trace, $span, $flags) = ($tp[0] // '') =~ $TP_RE;
    ok(@tp == 1 && $trace && $tp[0] ne $tp, "invalid ($name): replaced by a valid traceparent");
    ok($trace && $trace ne '4bf92f3577b34da6a3ce929d0e0e4736' && $trace !~ /^0+$/,
        "invalid ($name): a new random trace-id");
    is($flags, '00', "invalid ($name): flags from trace_sampled off");
    is(scalar seen_all($seen, 'tracestate'), 0, "invalid ($name): tracestate dropped");
    ok(!exists $r->{headers}{'x-parent'}, "invalid ($name): no \$parent_id");
}
{
    my ($r, $seen) = via($p1, '/twice', traceparent => $VALID, traceparent => $VALID);
    my @tp = seen_all($seen, 'traceparent');
    ok(@tp == 1 && ($tp[0] // '') !~ /4bf92f3577b34da6a3ce929d0e0e4736/,
        'two traceparent fields: a new trace, one field forwarded');
    my ($r2, $s2) = via($p1, '/none');
    my @tp2 = seen_all($s2, 'traceparent');
    ok(@tp2 == 1 && $tp2[0] =~ $TP_RE, 'no traceparent: one is started');
    my ($r3, $s3) = via($p2, '/sampled');
    like((seen_all($s3, 'traceparent'))[0] // '', qr/-01$/, 'trace_sampled on: new traces flagged 01');
}

# --- X-Request-ID: kept when valid, else generated -------------------------------------------
my @rid_valid = ('abc-123', 'f47ac10b-58cc-4372-a567-0e02b2c3d479', '!#$%&()*+,./:;<=>?@[]^_`{|}~',
    'x' x 200);
for my $id (@rid_valid) {
    my ($r, $seen) = via($p1, '/rid', 'X-Request-ID' => $id);
    my @ids = seen_all($seen, 'x-request-id');
    ok(@ids == 1 && $ids[0] eq $id, 'X-Request-ID kept: ' . substr($id, 0, 40));
    is($r->{headers}{'x-request-id'}, $id, 'X-Request-ID echoed: ' . substr($id, 0, 40));
}
my @rid_invalid = (['201 bytes', 'x' x 201], ['a space', 'a b'], ['non-ASCII', "caf\xc3\xa9"],
    ['a tab', "a\tb"], ['empty', '']);
for my $case (@rid_invalid) {
    my ($name, $id) = @$case;
    my ($r, $seen) = via($p1, '/rid-bad', 'X-Request-ID' => $id);
    my @ids = seen_all($seen, 'x-request-id');
    my $got = $r->{headers}{'x-request-id'} // '';
    like($got, qr/^[0-9a-f]{32}$/, "X-Request-ID with $name: one is generated");
    ok(@ids == 1 && $ids[0] eq $got, "X-Request-ID with $name: the backend gets the generated one only");
}
{
    my ($r, $seen) = via($p1, '/rid-two', 'X-Request-ID' => 'one', 'X-Request-ID' => 'two');
    my @ids = seen_all($seen, 'x-request-id');
    ok(@ids == 1 && $ids[0] =~ /^[0-9a-f]{32}$/, 'two X-Request-ID fields: replaced by one generated');
    my ($r2, $s2) = via($p1, '/noecho/x', 'X-Request-ID' => 'quiet-1');
    ok(!exists $r2->{headers}{'x-request-id'}, 'trace_response_header off: not echoed');
    is((seen_all($s2, 'x-request-id'))[0], 'quiet-1', 'trace_response_header off: still forwarded');
}

# --- the backend, the client and the json access log see the same ids --------------------
sub log_json {
    my ($uri) = @_;
    my $line = $pc->wait_for_log(qr/"uri":"\Q$uri\E"/, 5, file => 'logs/access.json');
    return eval { decode_json($line // '') } // {};
}
{
    my ($r, $seen) = via($p1, '/same-1', traceparent => $VALID);
    my $j = log_json('/same-1');
    my $rid = $r->{headers}{'x-request-id'};
    is($j->{request_id}, $rid, 'access log request_id == response X-Request-ID (generated)');
    is((seen_all($seen, 'x-request-id'))[0], $rid, 'backend X-Request-ID == response X-Request-ID');
    is($j->{trace_id}, '4bf92f3577b34da6a3ce929d0e0e4736', 'access log trace_id == incoming trace-id');
    my ($r2, $s2) = via($p1, '/same-2', 'X-Request-ID' => 'client-chosen-7');
    my $j2 = log_json('/same-2');
    my ($t2) = ((seen_all($s2, 'traceparent'))[0] // '') =~ $TP_RE;
    is($j2->{request_id}, 'client-chosen-7', 'access log request_id == the client\'s');
    is($j2->{trace_id}, $t2, 'access log trace_id == the new trace-id the backend got');
    is($r2->{headers}{'x-trace'}, $t2, 'client $trace_id == backend trace-id');
    my $ids = $pc->wait_for_log(qr{^/same-2 }, 5, file => 'logs/ids.log') // '';
    my $span = $r2->{headers}{'x-span'} // 'none';
    like($ids, qr{^/same-2 $t2 $span - client-chosen-7$}, '$trace_id $span_id $parent_id $request_id in a log_format');
}

# --- error responses carry the same request id -------------------------------------------------
{
    my $r = http_get($p1, '/err', 'X-Request-ID' => 'err-id-1');
    is($r->{status}, 503, 'return 503');
    is($r->{headers}{'x-request-id'}, 'err-id-1', 'error response: X-Request-ID echoed');
    my $e = eval { decode_json($r->{body}) } // {};
    is($e->{error}{request_id}, 'err-id-1', 'error body request_id == X-Request-ID');
    my $r2 = http_get($p1, '/down/x');
    is($r2->{status}, 502, 'upstream down: 502');
    my $e2 = eval { decode_json($r2->{body}) } // {};
    like($e2->{error}{request_id} // '', qr/^[0-9a-f]{32}$/, '502 body has a generated request_id');
    is($e2->{error}{request_id}, $r2->{headers}{'x-request-id'}, '502: body and header agree');
    my ($bad) = http_raw($p1, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    like($bad, qr/^HTTP\/1\.1 400.*"request_id":"[0-9a-f]{32}"/s, 'a 400 before any phase still has a request_id');
}

# --- responses the proxy makes before any phase carry X-Request-ID too ---------------------------
# (400 malformed head, 400 CL+TE, 400 no Host, 431, 414): the header, the
# json body and the access log agree, and a valid client id is kept when
# the head was parsed far enough to have it.
{
    my $big = 'a' x (70 * 1024);
    my @cases = (
        ['bad header line', 400, "GET /h HTTP/1.1\r\nHost: x\r\nX-Request-ID: bad-line-1\r\nBad Header: y\r\n\r\n", 'bad-line-1'],
        ['CL and TE', 400, "POST /h HTTP/1.1\r\nHost: x\r\nX-Request-ID: cl-te-1\r\nContent-Length: 3\r\n"
            . "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 'cl-te-1'],
        ['no Host', 400, "GET /h HTTP/1.1\r\nX-Request-ID: no-host-1\r\n\r\n", 'no-host-1'],
        ['70 KB header', 431, "GET /h HTTP/1.1\r\nHost: x\r\nX-Big: $big\r\n\r\n", undef],
        ['70 KB header after X-Request-ID', 431, "GET /h HTTP/1.1\r\nHost: x\r\nX-Request-ID: big-1\r\nX-Big: $big\r\n\r\n", 'big-1'],
        ['70 KB URI', 414, "GET /$big HTTP/1.1\r\nHost: x\r\n\r\n", undef],
    );
    for my $c (@cases) {
        my ($name, $status, $bytes, $keep) = @$c;
        my $raw = http_raw($p1, $bytes);
        my ($head, $body) = split /\r\n\r\n/, $raw, 2;
        like($head // '', qr{^HTTP/1\.1 $status }, "$name: $status");
        my ($hdr) = ($head // '') =~ /^X-Request-ID: ([^\r\n]*)/mi;
        my ($inbody) = ($body // '') =~ /"request_id":"([^"]*)"/;
        ok(defined $hdr && length $hdr, "$name: X-Request-ID response header");
        is($hdr, $inbody, "$name: the header and the body's request_id agree");
        if (defined $keep) {
            is($hdr, $keep, "$name: the client's valid X-Request-ID is kept");
        } else {
            like($hdr // '', qr/^[0-9a-f]{32}$/, "$name: a generated id");
        }
        my $id = $hdr // 'none';
        ok(wait_until(sub { slurp($pc->path('logs/ids.log')) =~ /\Q$id\E$/m }, 5),
           "$name: the access log has the same request_id");
    }
}

# --- ids are unique --------------------------------------------------------------------------
{
    my $c = client($p1);
    my (%trace, %span, %rid);
    my $n = 150;
    for my $i (1 .. $n) {
        $c->send("GET /u HTTP/1.1\r\nHost: x\r\n\r\n");
        my $r = $c->read_response or last;
        $trace{ $r->{headers}{'x-trace'} // '' }++;
        $span{ $r->{headers}{'x-span'} // '' }++;
        $rid{ $r->{headers}{'x-request-id'} // '' }++;
    }
    $c->close;
    is(scalar(grep { /^[0-9a-f]{32}$/ } keys %trace), $n, "$n new traces: $n distinct trace-ids");
    is(scalar(grep { /^[0-9a-f]{16}$/ } keys %span), $n, "$n distinct span ids");
    is(scalar(grep { /^[0-9a-f]{32}$/ } keys %rid), $n, "$n distinct request ids");
}

# --- trace off: nothing touched ------------------------------------------------------------------
{
    my ($r, $seen) = via($p3, '/off', traceparent => 'not-valid', tracestate => 'a=b');
    is_deeply([seen_all($seen, 'traceparent')], ['not-valid'], 'trace off: traceparent untouched');
    is_deeply([seen_all($seen, 'tracestate')], ['a=b'], 'trace off: tracestate untouched');
    is(scalar seen_all($seen, 'x-request-id'), 0, 'trace off: no X-Request-ID added');
    ok(!exists $r->{headers}{'x-request-id'}, 'trace off: no X-Request-ID echoed');
    my $j = log_json('/off');
    like($j->{request_id} // '', qr/^[0-9a-f]{32}$/, 'trace off: $request_id still works (log)');
    is($j->{trace_id}, '', 'trace off: no trace_id in the log');
}

# --- change then SIGHUP ------------------------------------------------------------------------
{
    (my $c2 = $conf) =~ s/(listen 127\.0\.0\.1:%%PORT3%%;)/$1 trace on; trace_sampled on;/;
    $c2 =~ s/(location \/noecho\/ \{ trace_response_header) off;/$1 on;/;
    $pc->write_conf($c2);
    ok(defined $pc->reload, 'reload with trace on in the third server');
    # an old worker may still take a connection until it has seen the reload
    my $tp = wait_until(sub {
        my ($r, $seen) = via($p3, '/after-reload', traceparent => 'not-valid');
        my $v = (seen_all($seen, 'traceparent'))[0] // '';
        return $v eq 'not-valid' ? 0 : $v;
    }, 10);
    like($tp // '', qr/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/,
        'after reload: trace on and trace_sampled on apply');
    my $echo = wait_until(sub { (via($p1, '/noecho/y', 'X-Request-ID' => 'loud-1'))[0]{headers}{'x-request-id'} }, 10);
    is($echo, 'loud-1', 'after reload: trace_response_header on applies');
}

is($pc->stop, 0, 'clean stop');
done_testing();
