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
# libmaxminddb has no compile-time version macro: configure records it.
like($out, qr/^libmaxminddb: built with \d+\.\d+[^,\s]*, running \d+\.\d+\S*$/m,
    '-V: libmaxminddb built-with and running versions');
# "compiled-in and runtime versions": each library line names two versions
# or says compiled/runtime explicitly.
for my $lib (qw(OpenSSL PCRE2 libev zlib libmaxminddb)) {
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

# -s with a configuration that has errors: the errors are printed (why it
# cannot be loaded), and the signal still goes out, to the pid file the
# configuration names when it parses (else to the default one).
sub sleeper {
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        $SIG{TERM} = sub { POSIX::_exit(42) };
        sleep 1 for 1 .. 30;
        POSIX::_exit(0);
    }
    return $pid;
}
sub reaped_with {
    my ($pid) = @_;
    for (1 .. 100) {
        my $w = waitpid($pid, POSIX::WNOHANG());
        return $? >> 8 if $w == $pid;
        select(undef, undef, undef, 0.05);
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
    return -1;
}
use POSIX ();
{
    my $pb = Test::Portcullis->new(start => 0, conf => <<'CONF');
error_log logs/error.log info;
pid logs/other.pid;
no_such_directive on;
events { }
http { server { listen 127.0.0.1:%%PORT%%; location / { return 200 "ok"; } } }
CONF
    my $kid = sleeper();
    Test::Portcullis::spew($pb->path('logs/other.pid'), "$kid\n");
    my $rb = $pb->run('-s', 'quit');
    is($rb->{exit}, 0, '-s quit with a broken config: exit 0 (signal sent)')
        or diag($rb->{output});
    like($rb->{output},
        qr/^portcullis: \[emerg\] unknown directive "no_such_directive" in \Q${\ $pb->conf_path}\E:3$/m,
        '-s with a broken config prints its errors at emerg with FILE:LINE');
    like($rb->{output}, qr/other\.pid/, '... and names the pid file it used');
    is(reaped_with($kid), 42, '... the pid directive of the broken config is used');

    # Unparsable: the default pid file, and the syntax error is printed.
    Test::Portcullis::spew($pb->conf_path, "pid logs/other.pid;\nevents {\n");
    my $kid2 = sleeper();
    Test::Portcullis::spew($pb->path('logs/portcullis.pid'), "$kid2\n");
    my $rc = $pb->run('-s', 'quit');
    like($rc->{output}, qr/^portcullis: \[emerg\] .* in \Q${\ $pb->conf_path}\E:\d+$/m,
        '-s with an unparsable config prints the syntax error')
        or diag($rc->{output});
    like($rc->{output}, qr{logs/portcullis\.pid}, '... and falls back to the default pid file');
    is(reaped_with($kid2), 42, '... which is used');
}

done_testing();
