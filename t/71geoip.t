#!/usr/bin/perl
# geoip module (SPEC §4 "geoip"): the $geoip_* variables for IPv4 and IPv6
# clients, looked up on the real client address (real_ip), geoip_allow /
# geoip_deny (403), several databases, -t errors for missing and corrupt
# databases, and SIGHUP picking up a regenerated database.  The database
# is generated at test time by t/assets/gen-mmdb.pl (MaxMind::DB::Writer);
# nothing is downloaded.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;
use File::Temp qw(tempdir);
use JSON::PP;

Test::Portcullis::require_binary();

my $GEN = "$FindBin::Bin/assets/gen-mmdb.pl";
my $TMP = tempdir('portcullis-geo-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# Write a database (variant v1, v2 or v4only) to $path; skip everything
# when MaxMind::DB::Writer is not installed.
sub gen_db {
    my ($path, $variant) = @_;
    my $rc = system($^X, $GEN, $path, $variant // 'v1');
    plan(skip_all => 'MaxMind::DB::Writer not installed') if $rc >> 8 == 2;
    die "gen-mmdb.pl failed ($rc)" if $rc != 0;
    return $path;
}

my $DB = gen_db("$TMP/test.mmdb");
{
    my $probe = Test::Portcullis->new(start => 0,
        conf => "events { }\nhttp { geoip_database $DB; server { listen 127.0.0.1:%%PORT%%; } }\n");
    my $r = $probe->run('-t');
    plan(skip_all => 'geoip module not built') if $r->{output} =~ /unknown directive "geoip_database"/;
}

my $V6 = have_ipv6();
my $show = 'cc=$geoip_country_code|name=$geoip_country_name|cont=$geoip_continent_code'
    . '|asn=$geoip_asn|org=$geoip_asn_org';
my $listen6 = $V6 ? 'listen [::1]:%%PORT%%;' : '';

my $pc = Test::Portcullis->new(wait_ports => [1, 2], files => { 'geo/test.mmdb' => '' },
    conf => <<"CONF", start => 0);
error_log logs/error.log info;
worker_processes 1;
events { }
http {
    geoip_database geo/test.mmdb;
    access_log logs/access.log json;
    server {
        listen 127.0.0.1:%%PORT%%;
        $listen6
        location / { return 200 "$show"; }
        location /allow/ { geoip_allow DE; return 200 "in"; }
        location /deny/ { geoip_deny FR US; return 200 "in"; }
        location /unknown/ { geoip_allow unknown; return 200 "in"; }
        location /both/ { geoip_deny FR; geoip_allow de fr JP; return 200 "in"; }
        location /acl/ { deny 127.0.0.3; geoip_allow DE FR; return 200 "in"; }
    }
    server {
        listen 127.0.0.1:%%PORT2%%;
        real_ip_header X-Forwarded-For;
        set_real_ip_from 127.0.0.1;
        geoip_deny US;
        location / { return 200 "$show"; }
        location /open/ { geoip_allow US BR unknown; return 200 "in"; }
    }
}
CONF
gen_db($pc->path('geo/test.mmdb'));
ok($pc->start(wait_ports => [1, 2]), 'started with the generated database');
my ($p, $p2) = ($pc->port, $pc->port(2));

sub show { my ($port, $path, %h) = @_; return http_get($port, $path // '/', %h)->{body} }
sub st   { my ($port, $path, %h) = @_; return http_get($port, $path, %h)->{status} }

# --- variables ------------------------------------------------------------------------------
is(show($p), 'cc=DE|name=Germany|cont=EU|asn=64512|org=Portcullis Loopback', '127.0.0.1: every variable');
is(show($p, '/', _local => '127.0.0.2'), 'cc=FR|name=France|cont=EU|asn=64513|org=Second Loopback',
   '127.0.0.2: the more specific network');
SKIP: {
    skip 'no IPv6 loopback', 2 unless $V6;
    my $r = http_get($p, '/', _addr => '::1');
    is($r->{body}, 'cc=JP|name=Japan|cont=AS|asn=64514|org=Loopback Six', '::1: IPv6 lookup');
    is(http_get($p, '/allow/', _addr => '::1')->{status}, 403, '::1 (JP) not in geoip_allow DE');
}

# --- real client address (real_ip) -----------------------------------------------------------
is(show($p2, '/open/x', 'X-Forwarded-For' => '192.0.2.9'), 'in', 'real_ip: 192.0.2.9 (US) allowed by the location');
is(st($p2, '/', 'X-Forwarded-For' => '192.0.2.9'), 403, 'real_ip: 192.0.2.9 (US) denied by the server rule');
is(show($p2, '/', 'X-Forwarded-For' => '198.51.100.7'), 'cc=BR|name=Brazil|cont=SA|asn=|org=',
   'real_ip: a record without ASN fields gives empty $geoip_asn / $geoip_asn_org');
is(show($p2, '/', 'X-Forwarded-For' => '203.0.113.5'), 'cc=|name=|cont=OC|asn=|org=',
   'a record without a country');
is(show($p2, '/', 'X-Forwarded-For' => '10.1.2.3'), 'cc=|name=|cont=|asn=|org=', 'an address not in the database: all empty');
is(show($p2, '/', 'X-Forwarded-For' => '192.0.2.9', _local => '127.0.0.2'),
   'cc=FR|name=France|cont=EU|asn=64513|org=Second Loopback', 'an untrusted peer is looked up itself');
SKIP: {
    skip 'no IPv6 loopback', 1 unless $V6;
    is(show($p2, '/', 'X-Forwarded-For' => '::1'), 'cc=JP|name=Japan|cont=AS|asn=64514|org=Loopback Six',
       'real_ip: an IPv6 real address');
}
is(show($p2, '/open/', 'X-Forwarded-For' => '10.9.9.9'), 'in', 'geoip_allow unknown admits an address without a country');

# --- allow / deny -----------------------------------------------------------------------------
is(st($p, '/allow/'), 200, 'geoip_allow DE: DE allowed');
my $r = http_get($p, '/allow/', _local => '127.0.0.2');
is($r->{status}, 403, 'geoip_allow DE: FR denied');
like($r->{body}, qr/"status":403/, '403 is a SPEC §8 error body');
is(st($p, '/deny/'), 200, 'geoip_deny FR US: DE allowed');
is(st($p, '/deny/', _local => '127.0.0.2'), 403, 'geoip_deny FR US: FR denied');
is(st($p, '/unknown/'), 403, 'geoip_allow unknown: DE denied');
is(st($p, '/both/'), 200, 'deny FR + allow DE FR JP (lowercase codes): DE allowed');
is(st($p, '/both/', _local => '127.0.0.2'), 403, 'deny wins over allow');
is(st($p, '/acl/', _local => '127.0.0.3'), 403, 'allow/deny (order 100) still apply before geoip');
is(st($p, '/acl/', _local => '127.0.0.2'), 200, 'then geoip allows FR');
ok(wait_until(sub { $pc->path('logs/access.log') && -s $pc->path('logs/access.log') }, 5), 'access log written');
my @lines = grep { length } split /\n/, wait_until(sub {
    my $t = slurp($pc->path('logs/access.log'));
    return $t =~ /"geoip_country_code":"FR"/ ? $t : '';
}, 5) || '';
ok(scalar(grep { /"geoip_country_code":"DE"/ } @lines), 'json access log carries geoip_country_code');

# --- SIGHUP: a regenerated database is picked up; a corrupt one is refused ----------------------
gen_db($pc->path('geo/test.mmdb'), 'v2');
ok(defined $pc->reload, 'reload after regenerating the database');
ok(wait_until(sub { show($p) =~ /^cc=CA\|name=Canada\|cont=NA\|asn=64520\|/ }, 10),
   'the new database answers after SIGHUP: ' . show($p));
is(st($p, '/allow/'), 403, 'and the ACL follows it (CA is not DE)');
spew($pc->path('geo/test.mmdb.new'), "not a database at all\n" x 20);
my $conf = slurp($pc->conf_path);
$pc->write_conf($conf =~ s{geo/test\.mmdb;}{geo/test.mmdb.new;}r);
ok(!defined $pc->reload, 'reload with a corrupt database fails');
like($pc->{reload_error} // '', qr/geoip_database ".*test\.mmdb\.new": .*metadata/,
     'the error names the file: ' . ($pc->{reload_error} // ''));
like(show($p), qr/^cc=CA\|/, 'the old configuration keeps serving');
ok($pc->alive, 'still running');
unlike($pc->error_log, qr/\[(?:alert|crit)\]/, 'no alert in the error log');
is($pc->stop, 0, 'exit 0');

# --- the database overwritten in place under running workers ----------------------------------
# `cp new.mmdb GeoIP.mmdb` rewrites the loaded file's own inode: first
# truncated to nothing, then filled.  The loaded generation answers from
# its private copy (no SIGBUS, no crash loop, no garbage), a reload with
# the broken file is refused, and a good file plus SIGHUP is picked up.
{
    my $g = Test::Portcullis->new(files => { 'geo/live.mmdb' => '' }, start => 0, conf => <<"CONF");
error_log logs/error.log info;
worker_processes 1;
events { }
http {
    geoip_database geo/live.mmdb;
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { return 200 "$show"; }
    }
}
CONF
    my $live = $g->path('geo/live.mmdb');
    gen_db($live);
    ok($g->start(workers => 1), 'in place: started');
    my $gp = $g->port;
    my ($worker) = $g->worker_pids;
    my $de = 'cc=DE|name=Germany|cont=EU|asn=64512|org=Portcullis Loopback';
    my $fr = 'cc=FR|name=France|cont=EU|asn=64513|org=Second Loopback';
    my $lookups_ok = sub {
        my ($what) = @_;
        my $bad = '';
        for (1 .. 5) {
            my $a = show($gp);
            my $b = show($gp, '/', _local => '127.0.0.2');
            $bad = "127.0.0.1: $a, 127.0.0.2: $b" if $a ne $de || $b ne $fr;
        }
        is($bad, '', "in place: $what: lookups answer from the loaded copy");
    };
    $lookups_ok->('a good database');
    unlike(slurp("/proc/$worker/maps"), qr/\Q$live\E/, 'the worker does not map the file itself');

    my $good = slurp($live);
    my $v2 = slurp(gen_db("$TMP/inplace-v2.mmdb", 'v2'));
    spew($live, '');
    $lookups_ok->('truncated to nothing (a cp caught at its start)');
    spew($live, substr($v2, 0, 1000));
    $lookups_ok->('the first 1000 bytes of another database');
    spew($live, join('', map { chr(($_ * 7919) % 251) } 1 .. length $good));
    $lookups_ok->('garbage of the same length');
    is(join(',', $g->worker_pids), $worker, 'in place: the same worker still serves');
    unlike($g->error_log, qr/exited on signal/, 'in place: no worker died');

    ok(!defined $g->reload, 'in place: a reload with the garbage fails');
    like($g->{reload_error} // '', qr/geoip_database "\Q$live\E": /, 'the error names the file: '
         . ($g->{reload_error} // ''));
    $lookups_ok->('after the failed reload');

    spew($live, $v2);
    ok(defined $g->reload, 'in place: reload after a good database is copied over it');
    ok(wait_until(sub { show($gp) =~ /^cc=CA\|name=Canada\|/ }, 10), 'the new database answers: ' . show($gp));

    # file descriptors and mappings do not pile up over reloads
    my $fds = sub {
        my ($pid) = @_;
        opendir(my $d, "/proc/$pid/fd") or return -1;
        return scalar grep { /^\d+$/ } readdir $d;
    };
    my $geo_fds = sub {
        my ($pid) = @_;
        opendir(my $d, "/proc/$pid/fd") or return -1;
        return join ',', grep { /memfd|geoip|mmdb/ } map { readlink("/proc/$pid/fd/$_") // '' } readdir $d;
    };
    my $maps = sub { scalar(() = slurp("/proc/$_[0]/maps") =~ /portcullis-geoip/g) };
    my ($w0) = $g->wait_workers(1);
    my ($m0, $wf0) = ($fds->($g->pid), $fds->($w0));
    for my $i (1 .. 3) {
        ok(defined $g->reload, "in place: reload $i");
    }
    my $w1 = $w0;
    ok(wait_until(sub { my @w = $g->worker_pids; $w1 = $w[0] if @w == 1; return @w == 1 && $w1 != $w0 }, 10),
       'in place: a new worker after the reloads');
    ok(wait_until(sub { $fds->($g->pid) == $m0 }, 5), "master: as many fds as before the reloads ($m0): "
       . $fds->($g->pid));
    ok(wait_until(sub { $fds->($w1) == $wf0 }, 5), "worker: as many fds as the previous one ($wf0): " . $fds->($w1));
    is($geo_fds->($g->pid) . '|' . $geo_fds->($w1), '|', 'no database or memfd fd left open');
    ok(wait_until(sub { $maps->($g->pid) <= 1 }, 5), 'master: one mapped copy, not one per reload: '
       . $maps->($g->pid));
    is($maps->($w1), 1, 'worker: one mapped copy');
    like(show($gp), qr/^cc=CA\|/, 'in place: still the new data');
    unlike($g->error_log, qr/exited on signal|\[(?:alert|crit)\]/, 'in place: no crash, no alert');
    is($g->stop, 0, 'exit 0');
}

# --- several databases: the first that knows the field answers ---------------------------------
{
    my $v4 = gen_db("$TMP/v4only.mmdb", 'v4only');
    my $v2 = gen_db("$TMP/v2.mmdb", 'v2');
    my $m = Test::Portcullis->new(conf => <<"CONF");
error_log logs/error.log info;
events { }
http {
    geoip_database $v4;
    geoip_database $v2;
    server {
        listen 127.0.0.1:%%PORT%%;
        $listen6
        location / { return 200 "$show"; }
    }
}
CONF
    is(show($m->port), 'cc=DE|name=Germany|cont=EU|asn=64512|org=Portcullis Loopback',
       'two databases: the first answers for 127.0.0.1');
    SKIP: {
        skip 'no IPv6 loopback', 1 unless $V6;
        is(http_get($m->port, '/', _addr => '::1')->{body}, 'cc=JP|name=Japan|cont=AS|asn=64514|org=Loopback Six',
           'two databases: ::1 is not in the IPv4 one, the second answers');
    }
    unlike($m->error_log, qr/\[error\].*geoip/, 'an IPv6 client on an IPv4 database is not an error');
    is($m->stop, 0, 'exit 0');
}

# --- -t: valid and invalid ---------------------------------------------------------------------------
my $ok_conf = "error_log logs/error.log info;\nevents { }\nhttp {\n    geoip_database $DB;\n"
    . "    geoip_allow DE;\n    server {\n        listen 127.0.0.1:%%PORT%%;\n        geoip_deny US;\n"
    . "        location / { geoip_allow unknown FR; geoip_allow DE; return 200; }\n    }\n}\n";
conf_test_ok($ok_conf, 'geoip_database, geoip_allow/geoip_deny at http, server, location');

sub bad_db_conf {
    my ($db, $extra) = @_;
    return "error_log logs/error.log info;\nevents { }\nhttp {\n    geoip_database $db;\n"
        . ($extra // '') . "    server { listen 127.0.0.1:%%PORT%%; location / { return 200; } }\n}\n";
}
spew("$TMP/garbage.mmdb", join('', map { chr(($_ * 7919) % 251) } 1 .. 4000));
spew("$TMP/empty.mmdb", '');
{
    my $good = slurp($DB);
    spew("$TMP/truncated.mmdb", substr($good, 600));
    my $bad = $good;
    substr($bad, 0, 600) = "\xff" x 600;
    spew("$TMP/badtree.mmdb", $bad);
}
conf_test_fails(bad_db_conf("$TMP/garbage.mmdb"), 'geoip_database', qr/geoip_database "\Q$TMP\E\/garbage\.mmdb": .*metadata/,
    'random bytes: invalid metadata');
conf_test_fails(bad_db_conf("$TMP/empty.mmdb"), 'geoip_database', qr/"\Q$TMP\E\/empty\.mmdb"/, 'an empty file');
conf_test_fails(bad_db_conf("$TMP/truncated.mmdb"), 'geoip_database', qr/"\Q$TMP\E\/truncated\.mmdb"/,
    'a truncated database');
conf_test_fails(bad_db_conf("$TMP/badtree.mmdb"), 'geoip_database', qr/"\Q$TMP\E\/badtree\.mmdb": .*search tree/,
    'a corrupt search tree');
conf_test_fails(bad_db_conf("$TMP/missing.mmdb"), 'geoip_database', qr/missing\.mmdb.*(?:No such file|open)/i,
    'a missing file');
conf_test_fails(bad_db_conf('""'), 'geoip_database', qr/empty file name/, 'an empty file name');
conf_test_fails(bad_db_conf($DB, "    geoip_database $DB;\n"), "geoip_database $DB;\n    server", qr/duplicate geoip_database/,
    'the same database twice', line => 5);
{
    my @extra = map { my $f = "$TMP/copy$_.mmdb"; spew($f, slurp($DB)); $f } 1 .. 4;
    conf_test_fails(bad_db_conf($DB, join('', map { "    geoip_database $_;\n" } @extra)), 'copy4.mmdb',
        qr/too many geoip_database files \(at most 4\)/, 'five databases');
}
for my $bad ('geoip_allow USA;', 'geoip_allow D;', 'geoip_deny 12;', 'geoip_deny "";') {
    conf_test_fails(bad_db_conf($DB, "    $bad\n"), $bad, qr/invalid country code/, "invalid: $bad");
}
conf_test_fails("error_log logs/error.log info;\nevents { }\nhttp {\n    server {\n        listen 127.0.0.1:%%PORT%%;\n"
    . "        location / { geoip_allow DE; return 200; }\n    }\n}\n", 'geoip_allow DE',
    qr/need a geoip_database/, 'geoip_allow without a database');
conf_test_fails("error_log logs/error.log info;\nevents { }\nhttp {\n    server {\n        listen 127.0.0.1:%%PORT%%;\n"
    . "        geoip_database $DB;\n    }\n}\n", 'geoip_database', qr/not allowed|context|geoip_database/,
    'geoip_database in a server block');
conf_test_fails(bad_db_conf($DB, "    geoip_allow;\n"), 'geoip_allow;', qr/geoip_allow/, 'geoip_allow without a code');
conf_test_fails(bad_db_conf($DB, "    log_format x '\$geoip_city';\n"), 'geoip_city', qr/unknown variable/,
    'an unknown $geoip_ variable');

done_testing();
