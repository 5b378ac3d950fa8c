#!/usr/bin/perl
# Command line basics (SPEC §1): -V, -h, unknown flags.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Portcullis;

Test::Portcullis::require_binary();

# -V: version, commit, build date, configure arguments, and the compiled-in
# and runtime versions of every library.
my $v = Test::Portcullis->run_bin('-V');
is($v->{exit}, 0, '-V exits 0');
my $out = $v->{output};
like($out, qr/portcullis\D{0,40}\d+\.\d+/i, '-V: portcullis version');
like($out, qr/commit/i, '-V: git commit');
like($out, qr/built|build date/i, '-V: build date');
like($out, qr/configure arguments/i, '-V: configure arguments');
like($out, qr/OpenSSL[^\n]*\d+\.\d+\.\d+/, '-V: OpenSSL version');
like($out, qr/PCRE2[^\n]*\d+\.\d+/, '-V: PCRE2 version');
like($out, qr/PCRE2[^\n]*JIT|JIT[^\n]*PCRE2/i, '-V: PCRE2 JIT availability on the PCRE2 line');
like($out, qr/libev[^\n]*\d+\.\d+/, '-V: libev version');
like($out, qr/libev[^\n]*\b(?:epoll|poll|select|kqueue|linuxaio|io_uring|iouring|port)\b/i,
    '-V: libev backend on the libev line');
like($out, qr/zlib[^\n]*\d+\.\d+/, '-V: zlib version');
like($out, qr/libmaxminddb[^\n]*\d+\.\d+/i, '-V: libmaxminddb version');
# "compiled-in and runtime versions": each library line names two versions
# or says compiled/runtime explicitly.  (libmaxminddb has no compile-time
# version macro, so only its runtime version can be shown.)
for my $lib (qw(OpenSSL PCRE2 libev zlib)) {
    my @lines = grep { /\Q$lib\E/i } split /\n/, $out;
    my $text = join("\n", @lines);
    my @vers = $text =~ /(\d+\.\d+(?:\.\d+)?)/g;
    ok(@vers >= 2 || $text =~ /compiled|built with|runtime|running/i,
        "-V: $lib compiled-in and runtime versions") or diag($text);
}

# -h: usage naming every flag, exit 0.
my $h = Test::Portcullis->run_bin('-h');
is($h->{exit}, 0, '-h exits 0');
like($h->{output}, qr/usage/i, '-h prints usage');
for my $f (qw(-c -p -t -T -s -V -h)) {
    like($h->{output}, qr/(?<![\w-])\Q$f\E\b/, "-h mentions $f");
}
like($h->{output}, qr/reload/, '-h lists the -s signals');

# Unknown flag: usage on stderr, exit 1.
my $u = Test::Portcullis->run_bin('-Z');
is($u->{exit}, 1, 'unknown flag exits 1');
like($u->{stderr}, qr/usage/i, 'unknown flag prints usage on stderr');
unlike($u->{stdout}, qr/\S/, 'unknown flag prints nothing on stdout');

my $u2 = Test::Portcullis->run_bin('--bogus');
is($u2->{exit}, 1, 'unknown long flag exits 1');
like($u2->{output}, qr/usage/i, 'unknown long flag prints usage');

my $u3 = Test::Portcullis->run_bin('extra-argument');
is($u3->{exit}, 1, 'stray argument exits 1');

# A flag missing its argument.
my $m = Test::Portcullis->run_bin('-c');
is($m->{exit}, 1, '-c without FILE exits 1');
like($m->{output}, qr/usage|-c|argument/i, '-c without FILE explains');

my $s = Test::Portcullis->run_bin('-s', 'bogus', '-p', '/nonexistent/');
is($s->{exit}, 1, '-s with an unknown signal exits 1');
like($s->{output}, qr/bogus/, '-s with an unknown signal names it');

# -s with no running master (no pid file): a failure, not a crash.
my $pc = Test::Portcullis->new(start => 0, conf => <<'CONF');
error_log logs/error.log info;
pid logs/portcullis.pid;
events { }
http { server { listen 127.0.0.1:%%PORT%%; location / { return 200 "ok"; } } }
CONF
my $r = $pc->run('-s', 'reload');
ok($r->{exit} != 0 && !$r->{signal}, '-s reload without a running master fails cleanly')
    or diag("exit $r->{exit} signal " . ($r->{signal} // '') . "\n$r->{output}");
like($r->{output}, qr/portcullis\.pid|pid/, '... and mentions the pid file');

done_testing();
