package Test::Portcullis;

# Test::Portcullis -- integration-test harness for the real portcullis binary.
#
#   my $pc = Test::Portcullis->new(conf => <<'EOF');
#   error_log logs/error.log info;
#   events { }
#   http { server { listen 127.0.0.1:%%PORT%%; location / { return 200 "ok"; } } }
#   EOF
#   my $r = http_get($pc->port, '/');
#
# The config is written into a fresh temporary prefix (with logs/ created);
# %%PORT%%, %%PORT2%%, ... become free loopback ports, %%PREFIX%% the prefix
# (no trailing slash).  The binary runs in the foreground with
# `-p PREFIX/ -c PREFIX/conf/portcullis.conf`, stdout and stderr captured in
# PREFIX/stdout.log and PREFIX/stderr.log.  Every wait is a poll for a
# condition with a bounded deadline; nothing sleeps and hopes.  Only
# processes the test started are signalled, always by pid.

use strict;
use warnings;

use Exporter 'import';
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Socket qw(SOL_SOCKET SO_RCVBUF IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(time sleep);
use Errno qw(EAGAIN EWOULDBLOCK EINTR ECONNRESET);

our @EXPORT = qw(
    http_raw http_get http_request parse_response parse_responses
    client run_curl free_port have_ipv6 wait_until slurp spew
    conf_test_ok conf_test_fails expected_auto_workers
);

our $REPO = abs_path(dirname(__FILE__) . '/../../..');
our $BIN  = $ENV{PORTCULLIS_BIN} || "$REPO/src/portcullis";

# Generous bounds: tests may run under ASan/UBSan on a loaded machine.
our $START_TIMEOUT = $ENV{PC_TEST_START_TIMEOUT} || 15;
our $STOP_TIMEOUT  = 25;

my @INSTANCES;          # every instance started by this test process
my %USED_PORTS;

# ---------------------------------------------------------------------------
# Small utilities
# ---------------------------------------------------------------------------

sub binary { return $BIN }

# Skip the whole test file when the binary has not been built.
sub require_binary {
    return if -x $BIN;
    require Test::More;
    Test::More::plan(skip_all => "portcullis binary not found at $BIN");
}

sub slurp {
    my ($path) = @_;
    open(my $fh, '<:raw', $path) or return '';
    local $/;
    my $s = <$fh>;
    return defined $s ? $s : '';
}

sub spew {
    my ($path, $content) = @_;
    make_path(dirname($path));
    open(my $fh, '>:raw', $path) or die "cannot write $path: $!";
    print $fh $content;
    close($fh) or die "cannot close $path: $!";
}

# Poll $cond every $interval seconds until it returns true or $timeout
# seconds pass.  Returns the condition's last value.
sub wait_until {
    my ($cond, $timeout, $interval) = @_;
    $timeout  //= 10;
    $interval //= 0.02;
    my $deadline = time() + $timeout;
    while (1) {
        my $v = $cond->();
        return $v if $v;
        return $v if time() >= $deadline;
        sleep($interval);
    }
}

# A loopback TCP port nobody listens on right now (bind 127.0.0.1:0).
sub free_port {
    for (1 .. 50) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
            Proto => 'tcp', Listen => 1, ReuseAddr => 0) or die "bind: $!";
        my $port = $s->sockport;
        close($s);
        next if $USED_PORTS{$port}++;
        # The same port must be free on ::1 too for IPv6 listen tests.
        if (have_ipv6()) {
            my $s6 = IO::Socket::IP->new(LocalHost => '::1', LocalPort => $port,
                Proto => 'tcp', Listen => 1);
            next unless $s6;
            close($s6);
        }
        return $port;
    }
    die "no free port found";
}

my $HAVE_IPV6;
sub have_ipv6 {
    return $HAVE_IPV6 if defined $HAVE_IPV6;
    my $s = IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0,
        Proto => 'tcp', Listen => 1);
    $HAVE_IPV6 = $s ? 1 : 0;
    close($s) if $s;
    return $HAVE_IPV6;
}

# Number of workers `worker_processes auto` must choose on this machine
# (SPEC §4): CPUs in the affinity mask, capped by the cgroup CPU quota
# rounded up, at least 1.
sub expected_auto_workers {
    my $status = slurp('/proc/self/status');
    my ($list) = $status =~ /^Cpus_allowed_list:\s*(\S+)/m;
    my $cpus = 0;
    for my $r (split /,/, $list // '') {
        my ($a, $b) = split /-/, $r;
        $cpus += defined $b ? $b - $a + 1 : 1;
    }
    $cpus ||= 1;
    my $quota;
    for my $line (split /\n/, slurp('/proc/self/cgroup')) {
        my (undef, $ctrl, $path) = split /:/, $line, 3;
        next unless defined $path;
        if ($ctrl eq '' && -e "/sys/fs/cgroup/cgroup.controllers") {
            my $max = slurp("/sys/fs/cgroup$path/cpu.max");
            if ($max =~ /^(\d+)\s+(\d+)/) {
                $quota = _ceil_div($1, $2);
            }
        } elsif (grep { $_ eq 'cpu' } split /,/, $ctrl) {
            for my $dir ("/sys/fs/cgroup/$ctrl$path", "/sys/fs/cgroup/cpu$path") {
                my $q = slurp("$dir/cpu.cfs_quota_us");
                my $p = slurp("$dir/cpu.cfs_period_us");
                if ($q =~ /^(\d+)/ && $1 > 0 && $p =~ /^(\d+)/ && $1 > 0) {
                    $quota = _ceil_div($q + 0, $p + 0);
                    last;
                }
            }
        }
    }
    my $n = defined $quota && $quota < $cpus ? $quota : $cpus;
    return $n < 1 ? 1 : $n;
}

sub _ceil_div { my ($a, $b) = @_; return int(($a + $b - 1) / $b) }

# Run a program with a bounded duration; returns { exit, signal, stdout,
# stderr, timed_out }.  opts: env => {}, cwd => dir, timeout => s.
sub _run_capture {
    my ($argv, %o) = @_;
    my $dir = tempdir(CLEANUP => 1);
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open(STDIN, '<', '/dev/null');
        open(STDOUT, '>', "$dir/out");
        open(STDERR, '>', "$dir/err");
        chdir($o{cwd} // '/');
        $ENV{$_} = $o{env}{$_} for keys %{ $o{env} // {} };
        delete $ENV{$_} for @{ $o{unset} // [] };
        { no warnings "exec"; exec { $argv->[0] } @$argv; }
        POSIX::_exit(127);
    }
    my $status = _wait_pid($pid, $o{timeout} // 30);
    my %r = (stdout => slurp("$dir/out"), stderr => slurp("$dir/err"));
    if (!defined $status) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
        $r{timed_out} = 1;
        $r{exit} = -1;
    } else {
        $r{exit}   = $status >> 8;
        $r{signal} = $status & 127;
    }
    $r{output} = $r{stdout} . $r{stderr};
    return \%r;
}

# waitpid with a deadline: the raw status, or undef on timeout.
sub _wait_pid {
    my ($pid, $timeout) = @_;
    my $deadline = time() + $timeout;
    while (1) {
        my $r = waitpid($pid, WNOHANG);
        return $? if $r == $pid;
        return undef if $r < 0;
        return undef if time() >= $deadline;
        sleep(0.01);
    }
}

# True while pid exists and is not a zombie.
sub pid_alive {
    my ($pid) = @_;
    return 0 unless $pid && kill(0, $pid);
    my $stat = slurp("/proc/$pid/stat");
    return 0 if $stat eq '';
    my ($state) = $stat =~ /\)\s+(\S)/;
    return defined $state && $state ne 'Z' && $state ne 'X';
}

# Live (non-zombie) children of pid, found by scanning /proc.
sub children_of {
    my ($ppid) = @_;
    my @kids;
    opendir(my $dh, '/proc') or return ();
    for my $d (readdir $dh) {
        next unless $d =~ /^\d+$/;
        my $stat = slurp("/proc/$d/stat");
        next unless $stat =~ /\)\s+(\S)\s+(\d+)/;
        next if $1 eq 'Z' || $1 eq 'X';
        push @kids, $d + 0 if $2 == $ppid;
    }
    closedir($dh);
    return sort { $a <=> $b } @kids;
}

# Is anything listening on host:port (from /proc/net/tcp{,6}, so probing
# does not create connections that would show up in counters or logs)?
sub port_listening {
    my ($port, $host) = @_;
    my $hex = sprintf('%04X', $port);
    for my $f ('/proc/net/tcp', '/proc/net/tcp6') {
        for my $line (split /\n/, slurp($f)) {
            my (undef, $local, undef, $st) = split ' ', $line;
            next unless defined $st && $st eq '0A';
            next unless $local =~ /:$hex$/;
            if (defined $host) {
                my $want = _proc_net_addr($host);
                next if defined $want && $local !~ /^\Q$want\E:/;
            }
            return 1;
        }
    }
    return 0;
}

# TCP state (hex string, '01' = ESTABLISHED) of the socket whose local
# port is $lport and remote port $rport, or undef when there is none.
sub tcp_state {
    my ($lport, $rport) = @_;
    my $l = sprintf(':%04X', $lport);
    my $r = sprintf(':%04X', $rport);
    for my $f ('/proc/net/tcp', '/proc/net/tcp6') {
        for my $line (split /\n/, slurp($f)) {
            my (undef, $local, $rem, $st) = split ' ', $line;
            next unless defined $st;
            return $st if $local =~ /\Q$l\E$/ && $rem =~ /\Q$r\E$/;
        }
    }
    return undef;
}

sub _proc_net_addr {
    my ($host) = @_;
    return '0100007F' if $host eq '127.0.0.1';
    return '00000000000000000000000001000000' if $host eq '::1';
    return undef;
}

# ---------------------------------------------------------------------------
# An instance: prefix + config + (optionally) a running binary
# ---------------------------------------------------------------------------

# new(conf => TEXT, files => {rel => text}, env => {}, args => [...],
#     start => 1, wait_ports => [port indexes or numbers], daemon => 0,
#     pid_file => rel, ports => N)
sub new {
    my ($class, %o) = @_;
    my $self = bless {
        env    => $o{env} // {},
        unset  => $o{unset} // [],
        args   => $o{args} // [],
        ports  => [],
        daemon => $o{daemon},
        setsid => $o{setsid},   # own session and process group (kill -PGID)
        pid_file_rel => $o{pid_file} // 'logs/portcullis.pid',
        error_log_rel => $o{error_log} // 'logs/error.log',
        owner  => $$,       # only this process cleans up (not forked children)
    }, $class;
    $self->{prefix} = tempdir('portcullis-t-XXXXXX', TMPDIR => 1,
        CLEANUP => !$ENV{PC_TEST_KEEP});
    make_path("$self->{prefix}/logs", "$self->{prefix}/conf");

    my $nports = $o{ports} // 0;
    my $all = join("\n", $o{conf} // '', values %{ $o{files} // {} });
    while ($all =~ /%%PORT(\d*)%%/g) {
        my $n = $1 eq '' ? 1 : $1;
        $nports = $n if $n > $nports;
    }
    $nports = 1 if $nports < 1;
    push @{ $self->{ports} }, free_port() for 1 .. $nports;

    $self->write_conf($o{conf}) if defined $o{conf};
    for my $f (sort keys %{ $o{files} // {} }) {
        $self->write_file($f, $o{files}{$f});
    }
    push @INSTANCES, $self;
    if ($o{start} // 1) {
        $self->start(%o) or do {
            require Test::More;
            Test::More::diag("portcullis did not start:\n" . $self->stderr
                . "\n--- error.log ---\n" . $self->error_log);
        };
    }
    return $self;
}

sub prefix    { $_[0]{prefix} }
sub conf_path { "$_[0]{prefix}/conf/portcullis.conf" }
sub port      { my ($s, $i) = @_; $s->{ports}[($i // 1) - 1] }
sub ports     { @{ $_[0]{ports} } }
sub pid       { $_[0]{pid} }
sub path      { my ($s, $rel) = @_; "$s->{prefix}/$rel" }

# Replace %%PORTn%% and %%PREFIX%% placeholders.
sub expand {
    my ($self, $text) = @_;
    $text =~ s/%%PORT(\d*)%%/$self->_port_for($1)/ge;
    $text =~ s/%%PREFIX%%/$self->{prefix}/g;
    return $text;
}

sub _port_for {
    my ($self, $n) = @_;
    $n = 1 if $n eq '';
    push @{ $self->{ports} }, free_port() while @{ $self->{ports} } < $n;
    return $self->{ports}[$n - 1];
}

sub write_conf {
    my ($self, $text) = @_;
    spew($self->conf_path, $self->expand($text));
}

sub write_file {
    my ($self, $rel, $text) = @_;
    spew("$self->{prefix}/$rel", $self->expand($text));
}

# Start the binary.  Returns true once the listener(s) accept connections
# (and, with workers => N, once N workers exist).  With expect_exit => 1 it
# only waits for the process to end and records its exit status.
sub start {
    my ($self, %o) = @_;
    my @argv = ($BIN, '-p', "$self->{prefix}/", '-c', $self->conf_path,
        @{ $self->{args} });
    $self->{exit_status} = undef;
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open(STDIN, '<', '/dev/null');
        open(STDOUT, '>>', "$self->{prefix}/stdout.log");
        open(STDERR, '>>', "$self->{prefix}/stderr.log");
        chdir('/');
        POSIX::setsid() if $self->{setsid};
        $ENV{$_} = $self->{env}{$_} for keys %{ $self->{env} };
        delete $ENV{$_} for @{ $self->{unset} };
        { no warnings "exec"; exec { $argv[0] } @argv; }
        POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    $self->{launcher} = $pid;
    $self->{seen_workers} = {};

    if ($o{expect_exit}) {
        my $st = _wait_pid($pid, $o{timeout} // $START_TIMEOUT);
        if (!defined $st) {
            return 0;
        }
        $self->_record_exit($st);
        return 1;
    }

    if ($self->{daemon}) {
        # The launched process detaches and exits 0; the master's pid is in
        # the pid file.
        my $st = _wait_pid($pid, $START_TIMEOUT);
        $self->{launcher_status} = $st;
        return 0 unless defined $st;
        my $pf = "$self->{prefix}/$self->{pid_file_rel}";
        my $mpid = wait_until(sub {
            my $s = slurp($pf);
            return $s =~ /^(\d+)\s*$/ && pid_alive($1) ? $1 : 0;
        }, $START_TIMEOUT);
        return 0 unless $mpid;
        $self->{pid} = $mpid + 0;
        $self->{daemon_pid} = $mpid + 0;
    }

    my @wait = @{ $o{wait_ports} // [1] };
    for my $w (@wait) {
        # an index (1 = %%PORT%%), a port number, or [index, host]
        my ($port, $host) = ref $w ? ($self->port($w->[0]), $w->[1])
                                   : ($w < 100 ? $self->port($w) : $w);
        my $ok = wait_until(sub {
            return 1 if port_listening($port, $host);
            return -1 unless $self->_alive;
            return 0;
        }, $o{timeout} // $START_TIMEOUT);
        return 0 unless $ok && $ok > 0;
    }
    if ($o{workers}) {
        return 0 unless $self->wait_workers($o{workers});
    }
    return 1;
}

sub _record_exit {
    my ($self, $st) = @_;
    $self->{exit_status} = $st;
    $self->{exit_code}   = $st >> 8;
    $self->{exit_signal} = $st & 127;
    $self->{pid_done}    = 1;
}

# Is the master (or single process) still running?  Reaps it if it ended.
sub _alive {
    my ($self) = @_;
    return 0 unless $self->{pid};
    return 0 if $self->{pid_done};
    if (!$self->{daemon_pid}) {
        my $r = waitpid($self->{pid}, WNOHANG);
        if ($r == $self->{pid}) {
            $self->_record_exit($?);
            return 0;
        }
        return $r == 0;
    }
    return pid_alive($self->{pid});
}

sub alive     { $_[0]->_alive }
sub exit_code { $_[0]{exit_code} }

sub stderr    { slurp("$_[0]{prefix}/stderr.log") }
sub stdout    { slurp("$_[0]{prefix}/stdout.log") }
sub error_log_path { "$_[0]{prefix}/$_[0]{error_log_rel}" }
sub error_log { slurp($_[0]->error_log_path) }

# Current size of the error log: pass as from => to wait_for_log to only
# look at lines written afterwards.
sub log_mark { my $s = shift; return -s $s->error_log_path || 0 }

# Wait for a line of the error log (or of file => 'stderr' / a path)
# matching $re; returns the first matching line, or undef after $timeout.
sub wait_for_log {
    my ($self, $re, $timeout, %o) = @_;
    my $path = !defined $o{file} ? $self->error_log_path
             : $o{file} eq 'stderr' ? "$self->{prefix}/stderr.log"
             : $o{file} =~ m{^/} ? $o{file} : "$self->{prefix}/$o{file}";
    my $from = $o{from} // 0;
    my $found;
    wait_until(sub {
        my $c = slurp($path);
        return 0 if length($c) <= $from;
        my $text = substr($c, $from);
        for my $line (split /\n/, $text) {
            if ($line =~ $re) { $found = $line; return 1 }
        }
        return 0;
    }, $timeout // 10, 0.02);
    return $found;
}

# Lines of the error log (from offset) matching $re.
sub log_lines {
    my ($self, $re, %o) = @_;
    my $c = substr($self->error_log, $o{from} // 0);
    return grep { $_ =~ $re } split /\n/, $c;
}

# Send SIGHUP and wait for the outcome.  Returns the new generation number
# after "configuration reloaded, generation N", or undef when the reload
# failed (the [error]/[emerg] line is then in ->{reload_error}).
sub reload {
    my ($self, %o) = @_;
    my $mark = $self->log_mark;
    $self->{reload_error} = undef;
    kill 'HUP', $self->{pid} or return undef;
    return $self->wait_reload($mark, %o);
}

sub wait_reload {
    my ($self, $mark, %o) = @_;
    my $line = $self->wait_for_log(
        qr/configuration reloaded, generation \d+|\[(?:error|emerg|alert|crit)\]/,
        $o{timeout} // 20, from => $mark);
    return undef unless defined $line;
    if ($line =~ /configuration reloaded, generation (\d+)/) {
        $self->{generation} = $1;
        return $1;
    }
    $self->{reload_error} = $line;
    return undef;
}

# Live worker pids (children of the master).
sub worker_pids {
    my ($self) = @_;
    return () unless $self->{pid};
    my @w = children_of($self->{pid});
    $self->{seen_workers}{$_} = 1 for @w;
    return @w;
}

# Wait until exactly $n workers exist; returns the list (empty on timeout).
sub wait_workers {
    my ($self, $n, $timeout) = @_;
    my @w;
    wait_until(sub { @w = $self->worker_pids; return @w == $n }, $timeout // $START_TIMEOUT);
    return @w == $n ? @w : ();
}

# SIGKILL one worker; returns its pid.
sub kill_worker {
    my ($self, $which) = @_;
    my @w = $self->worker_pids;
    return undef unless @w;
    my $pid = defined $which ? $which : $w[0];
    kill 'KILL', $pid;
    return $pid;
}

# Send a signal to the master.
sub signal {
    my ($self, $sig) = @_;
    return kill $sig, $self->{pid};
}

# Wait for the master to exit; returns its exit code (undef on timeout).
sub wait_exit {
    my ($self, $timeout) = @_;
    $timeout //= $STOP_TIMEOUT;
    return $self->{exit_code} if $self->{pid_done};
    if ($self->{daemon_pid}) {
        my $gone = wait_until(sub { !pid_alive($self->{pid}) }, $timeout);
        return undef unless $gone;
        $self->{pid_done} = 1;
        $self->{exit_code} = 0;     # not our child: status unknown
        return 0;
    }
    my $st = _wait_pid($self->{pid}, $timeout);
    return undef unless defined $st;
    $self->_record_exit($st);
    $self->_check_stderr;
    return $self->{exit_code};
}

# SIGTERM (or $o{signal}), wait, return the exit code; undef when it did
# not stop in time (it is then killed).  Also waits for the workers.
sub stop {
    my ($self, %o) = @_;
    return $self->{exit_code} if $self->{pid_done} || !$self->{pid};
    $self->worker_pids;
    kill($o{signal} // 'TERM', $self->{pid});
    my $code = $self->wait_exit($o{timeout});
    if (!defined $code) {
        kill 'KILL', $self->{pid};
        $self->wait_exit(5);
        $self->{exit_code} = undef;
    }
    my @left = grep { pid_alive($_) } keys %{ $self->{seen_workers} };
    wait_until(sub { !grep { pid_alive($_) } @left }, 10) if @left;
    $self->{leftover_workers} = [ grep { pid_alive($_) } @left ];
    $self->_check_stderr;
    return $code;
}

sub leftover_workers { @{ $_[0]{leftover_workers} // [] } }

# ASan/UBSan/LSan reports in $text fail the test (a report is a bug even
# when every assertion passed).  Silent when clean.
sub sanitizer_check {
    my ($text, $what) = @_;
    return 1 unless defined $text
        && $text =~ /ERROR: \w*Sanitizer|runtime error:|SUMMARY: \w*Sanitizer/;
    require Test::More;
    my @l = split /\n/, $text;
    Test::More::fail("sanitizer report from $what");
    Test::More::diag(join "\n", @l[0 .. ($#l < 60 ? $#l : 60)]);
    return 0;
}

sub _check_stderr {
    my ($self) = @_;
    return if $self->{sanitizer_checked}++;
    sanitizer_check($self->stderr, "portcullis (prefix $self->{prefix})");
}

# Run the binary synchronously against this prefix (-t, -T, -s ...).
# Returns { exit, stdout, stderr, output }.
sub run {
    my ($self, @args) = @_;
    my %o = ref $args[-1] eq 'HASH' ? %{ pop @args } : ();
    my $r = _run_capture([$BIN, '-p', "$self->{prefix}/", '-c', $self->conf_path, @args],
        env => { %{ $self->{env} }, %{ $o{env} // {} } },
        unset => $self->{unset}, timeout => $o{timeout} // 30);
    sanitizer_check($r->{stderr}, "portcullis @args");
    return $r;
}

# Run the binary with arbitrary arguments (no prefix): -V, -h ...
sub run_bin {
    my ($class, @args) = @_;
    my %o = ref $args[-1] eq 'HASH' ? %{ pop @args } : ();
    my $r = _run_capture([$BIN, @args], %o);
    sanitizer_check($r->{stderr}, "portcullis @args");
    return $r;
}

sub _cleanup {
    my ($self) = @_;
    return unless $self->{pid} && $self->{owner} == $$;
    if (!$self->{pid_done} && $self->_alive) {
        $self->worker_pids;
        kill 'TERM', $self->{pid};
        if (!defined $self->wait_exit(10)) {
            kill 'KILL', $self->{pid};
            $self->wait_exit(5);
        }
    }
    for my $w (keys %{ $self->{seen_workers} // {} }) {
        kill 'KILL', $w if pid_alive($w);
    }
    $self->_check_stderr if $self->{pid_done};
}

END {
    my $st = $?;
    $_->_cleanup for @INSTANCES;
    $? = $st;
}

# ---------------------------------------------------------------------------
# -t helpers
# ---------------------------------------------------------------------------

# conf_test_ok($conf, $name, %new_opts): -t succeeds.
sub conf_test_ok {
    my ($conf, $name, %o) = @_;
    require Test::More;
    my $pc = Test::Portcullis->new(conf => $conf, start => 0, %o);
    my $r = $pc->run('-t');
    my $ok = Test::More::ok($r->{exit} == 0
        && $r->{output} =~ /configuration file \Q${\ $pc->conf_path}\E test is successful/,
        "-t ok: $name");
    Test::More::diag("exit $r->{exit}\n$r->{output}") unless $ok;
    return $ok;
}

# conf_test_fails($conf, $marker, $msg_re, $name, %opts): -t exits 1 and
# prints "portcullis: [emerg] MESSAGE in FILE:LINE" where LINE is the line of
# the main config containing $marker (or opts line => N, file => path).
sub conf_test_fails {
    my ($conf, $marker, $msg_re, $name, %o) = @_;
    require Test::More;
    my $pc = Test::Portcullis->new(conf => $conf, start => 0,
        files => $o{files} // {}, env => $o{env} // {});
    my $text = $pc->expand($conf);
    my $line = $o{line};
    if (!defined $line) {
        my @l = split /\n/, $text, -1;
        for my $i (0 .. $#l) {
            if (index($l[$i], $marker) >= 0) { $line = $i + 1; last }
        }
        die "marker '$marker' not in config" unless defined $line;
    }
    my $file = $o{file} // $pc->conf_path;
    $file = "$pc->{prefix}/$file" unless $file =~ m{^/};
    my $r = $pc->run('-t');
    $msg_re //= qr/.*/;
    my $ok = Test::More::ok($r->{exit} == 1
        && $r->{output} =~ /^portcullis: \[emerg\] (?=.*$msg_re).* in \Q$file\E:$line$/m,
        "-t rejects: $name (line $line)");
    Test::More::diag("exit $r->{exit}; expected [emerg] .* in $file:$line matching $msg_re\n"
        . "output:\n$r->{output}") unless $ok;
    return $ok;
}

# ---------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------

# client($port, host => '127.0.0.1', local => '127.0.0.2', rcvbuf => N)
sub client {
    my ($port, %o) = @_;
    return Test::Portcullis::Client->new($port, %o);
}

# Send $bytes and return everything received until the peer closes or
# $timeout (default 5 s) passes.  In list context: (data, closed, seconds).
sub http_raw {
    my ($port, $bytes, $timeout, %o) = @_;
    my $c = Test::Portcullis::Client->new($port, %o) or return wantarray ? ('', 0, 0) : '';
    my $t0 = time();
    $c->send($bytes);
    my ($data, $closed) = $c->read_until_close($timeout // 5);
    $c->close;
    return wantarray ? ($data, $closed, time() - $t0) : $data;
}

# http_request($port, method => 'GET', path => '/', version => '1.1',
#   headers => [Name => value, ...], body => '', host => 'localhost',
#   keepalive => 0, timeout => 5, addr => '127.0.0.1', local => ...)
# Returns the parsed response (see parse_response) with ->{closed}.
sub http_request {
    my ($port, %o) = @_;
    my $method  = $o{method}  // 'GET';
    my $path    = $o{path}    // '/';
    my $version = $o{version} // '1.1';
    my @h = @{ $o{headers} // [] };
    my $req = "$method $path HTTP/$version\r\n";
    my %have = map { lc($h[2 * $_]) => 1 } 0 .. int(@h / 2) - 1;
    $req .= "Host: " . ($o{host} // 'localhost') . "\r\n" unless $have{host} || exists $o{host} && !defined $o{host};
    $req .= "Connection: close\r\n" unless $have{connection} || $o{keepalive};
    if (defined $o{body} && !$have{'content-length'} && !$have{'transfer-encoding'}) {
        $req .= "Content-Length: " . length($o{body}) . "\r\n";
    }
    for (my $i = 0; $i < @h; $i += 2) { $req .= "$h[$i]: $h[$i + 1]\r\n" }
    $req .= "\r\n" . ($o{body} // '');
    my ($data, $closed) = http_raw($port, $req, $o{timeout} // 5,
        map { exists $o{$_} ? ($_ => $o{$_}) : () } qw(addr local));
    my $r = parse_response($data, head => $method eq 'HEAD') // { status => 0, raw => $data };
    $r->{closed} = $closed;
    $r->{all} = $data;      # every byte received, after the head too
    return $r;
}

# http_get($port, $path, %headers): GET with Host: localhost and
# Connection: close unless given.  Special keys: _host, _timeout, _method,
# _addr, _local.
sub http_get {
    my ($port, $path, %h) = @_;
    my %o = (path => $path, method => delete $h{_method} // 'GET');
    $o{timeout} = delete $h{_timeout} if exists $h{_timeout};
    $o{addr}    = delete $h{_addr}    if exists $h{_addr};
    $o{local}   = delete $h{_local}   if exists $h{_local};
    $o{host}    = delete $h{_host}    if exists $h{_host};
    $o{body}    = delete $h{_body}    if exists $h{_body};
    $o{headers} = [ %h ];
    return http_request($port, %o);
}

# Parse one response from the start of $data.  Returns a hashref
# { status, reason, version, headers => {lc name => value, dups joined
# with ", "}, hlist => [[name, value]...], body, raw, len (bytes used),
# complete, chunked, framing } or undef when no complete head is present.
# head => 1: the response to a HEAD request (no body).
sub parse_response {
    my ($data, %o) = @_;
    return undef unless defined $data;
    my $end = index($data, "\r\n\r\n");
    return undef if $end < 0;
    my $head = substr($data, 0, $end);
    my @lines = split /\r\n/, $head;
    my $sl = shift @lines;
    return undef unless $sl =~ m{^HTTP/(\d\.\d) (\d{3})(?: (.*))?$};
    my %r = (version => $1, status => $2 + 0, reason => $3 // '', headers => {},
        hlist => [], head_raw => $head);
    for my $l (@lines) {
        my ($n, $v) = $l =~ /^([^:]+):[ \t]*(.*?)[ \t]*$/ or do { $r{bad_header} = $l; next };
        push @{ $r{hlist} }, [$n, $v];
        my $k = lc $n;
        $r{headers}{$k} = exists $r{headers}{$k} ? "$r{headers}{$k}, $v" : $v;
        $r{count}{$k}++;
    }
    my $pos = $end + 4;
    my $rest = substr($data, $pos);
    my $te = $r{headers}{'transfer-encoding'} // '';
    my $cl = $r{headers}{'content-length'};
    if ($r{status} < 200 || $r{status} == 204 || $r{status} == 304 || $o{head}) {
        $r{body} = '';
        $r{complete} = 1;
        $r{framing} = 'none';
    } elsif ($te =~ /chunked/i) {
        $r{chunked} = 1;
        $r{framing} = 'chunked';
        my ($body, $used) = _dechunk($rest);
        if (defined $used) {
            $r{body} = $body; $pos += $used; $r{complete} = 1;
        } else {
            $r{body} = $body; $pos += length $rest; $r{complete} = 0;
        }
    } elsif (defined $cl && $cl =~ /^\d+$/) {
        $r{framing} = 'length';
        my $n = $cl + 0;
        $r{body} = substr($rest, 0, $n);
        $r{complete} = length($rest) >= $n ? 1 : 0;
        $pos += length $r{body};
    } else {
        $r{framing} = 'close';
        $r{body} = $rest;
        $pos += length $rest;
        $r{complete} = $o{closed} ? 1 : 0;
    }
    $r{len} = $pos;
    $r{raw} = substr($data, 0, $pos);
    return \%r;
}

# Decode a chunked body; returns (body, bytes used) or (partial, undef).
sub _dechunk {
    my ($s) = @_;
    my ($body, $pos) = ('', 0);
    while (1) {
        my $e = index($s, "\r\n", $pos);
        return ($body, undef) if $e < 0;
        my $line = substr($s, $pos, $e - $pos);
        my ($hex) = $line =~ /^([0-9a-fA-F]+)/ or return ($body, undef);
        my $n = hex $hex;
        $pos = $e + 2;
        if ($n == 0) {
            # trailers until an empty line
            while (1) {
                my $te = index($s, "\r\n", $pos);
                return ($body, undef) if $te < 0;
                my $tl = substr($s, $pos, $te - $pos);
                $pos = $te + 2;
                return ($body, $pos) if $tl eq '';
            }
        }
        return ($body, undef) if length($s) < $pos + $n + 2;
        $body .= substr($s, $pos, $n);
        $pos += $n + 2;
    }
}

# Parse every response in $data (pipelining / keep-alive).  heads => [bool]
# marks responses to HEAD by position.  Returns a list of hashrefs; 1xx
# interim responses are included as entries of their own.
sub parse_responses {
    my ($data, %o) = @_;
    my @out;
    my $i = 0;
    while (length $data) {
        my $r = parse_response($data, head => ($o{heads} // [])->[$i], closed => $o{closed});
        last unless $r && $r->{complete};
        push @out, $r;
        $data = substr($data, $r->{len});
        $i++ if $r->{status} >= 200;
    }
    return @out;
}

# Run curl with a bounded time; returns { exit, stdout, stderr }.
sub run_curl {
    my (@args) = @_;
    return _run_capture(['curl', '-sS', '--max-time', '10', @args], timeout => 20);
}

# ---------------------------------------------------------------------------
# A raw, buffered client connection
# ---------------------------------------------------------------------------

package Test::Portcullis::Client;

use strict;
use warnings;
use IO::Select;
use IO::Socket::IP;
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Time::HiRes qw(time);
use Errno qw(EAGAIN EWOULDBLOCK EINTR ECONNRESET);

sub new {
    my ($class, $port, %o) = @_;
    my $addr = $o{addr} // '127.0.0.1';
    my %args = (PeerHost => $addr, PeerPort => $port, Proto => 'tcp',
        Timeout => $o{timeout} // 5);
    $args{LocalHost} = $o{local} if defined $o{local};
    $args{Sockopts} = [[SOL_SOCKET, SO_RCVBUF, $o{rcvbuf}]] if $o{rcvbuf};
    my $s = IO::Socket::IP->new(%args) or return undef;
    $s->autoflush(1);
    return bless { s => $s, buf => '', closed => 0 }, $class;
}

sub socket { $_[0]{s} }

# Write all of $bytes (blocking, bounded by the kernel buffers).  Returns
# false if the peer has gone.
sub send {
    my ($self, $bytes) = @_;
    local $SIG{PIPE} = 'IGNORE';
    my $off = 0;
    my $deadline = time() + 10;
    my $sel = IO::Select->new($self->{s});
    while ($off < length $bytes) {
        return 0 if time() > $deadline;
        next unless $sel->can_write(1);
        my $n = syswrite($self->{s}, $bytes, length($bytes) - $off, $off);
        if (!defined $n) {
            next if $! == EINTR || $! == EAGAIN;
            return 0;
        }
        $off += $n;
    }
    return 1;
}

# Read what is available within $timeout; appends to the buffer.  Returns
# the number of bytes read, 0 on EOF (sets closed), undef on timeout.
sub _fill {
    my ($self, $timeout) = @_;
    return 0 if $self->{closed};
    my $sel = IO::Select->new($self->{s});
    return undef unless $sel->can_read($timeout < 0 ? 0 : $timeout);
    my $n = sysread($self->{s}, my $chunk, 65536);
    if (!defined $n) {
        return undef if $! == EINTR || $! == EAGAIN;
        $self->{closed} = 1;
        $self->{reset} = 1 if $! == ECONNRESET;
        return 0;
    }
    if ($n == 0) { $self->{closed} = 1; return 0 }
    $self->{buf} .= $chunk;
    return $n;
}

# Everything until EOF or $timeout: (data, closed).  Drains the buffer.
sub read_until_close {
    my ($self, $timeout) = @_;
    my $deadline = time() + ($timeout // 5);
    while (!$self->{closed}) {
        my $left = $deadline - time();
        last if $left <= 0;
        $self->_fill($left);
    }
    my $d = $self->{buf};
    $self->{buf} = '';
    return ($d, $self->{closed});
}

# Wait until at least one complete response (not 1xx unless interim => 1)
# is buffered; returns it (parsed) and removes its bytes, or undef.
sub read_response {
    my ($self, %o) = @_;
    my $deadline = time() + ($o{timeout} // 5);
    while (1) {
        my $r = Test::Portcullis::parse_response($self->{buf}, head => $o{head},
            closed => $self->{closed});
        if ($r && ($r->{complete} || ($r->{framing} eq 'close' && $self->{closed}))) {
            if ($r->{status} >= 200 || $o{interim}) {
                $self->{buf} = substr($self->{buf}, $r->{len});
                return $r;
            }
            # skip interim responses, remembering them
            push @{ $self->{interim} }, $r;
            $self->{buf} = substr($self->{buf}, $r->{len});
            next;
        }
        return undef if $self->{closed};
        my $left = $deadline - time();
        return undef if $left <= 0;
        $self->_fill($left);
    }
}

# Does the peer close the connection within $timeout (nothing else sent)?
# Returns 1 on EOF; extra bytes are kept in ->{buf}.
sub closed_within {
    my ($self, $timeout) = @_;
    my $deadline = time() + $timeout;
    while (!$self->{closed}) {
        my $left = $deadline - time();
        return 0 if $left <= 0;
        $self->_fill($left);
    }
    return 1;
}

# Is anything (data or EOF) pending within $timeout?
sub readable_within {
    my ($self, $timeout) = @_;
    return 1 if length $self->{buf} || $self->{closed};
    my $n = $self->_fill($timeout);
    return defined $n ? 1 : 0;
}

sub buffer { $_[0]{buf} }
sub is_closed { $_[0]{closed} }

sub close {
    my ($self) = @_;
    close($self->{s}) if $self->{s};
    $self->{s} = undef;
}

1;
