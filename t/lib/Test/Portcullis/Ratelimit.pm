package Test::Portcullis::Ratelimit;

# Helpers for the ratelimit tests (t/50ratelimit.t, t/51limit_conn.t).
#
#   my @r = fire($port, count => 100, spread => 1.0, path => '/',
#                headers => ['X-Api-Key' => 'a']);
#   # each: { status, headers => {lc => v}, body, sent, elapsed, ok }
#
# fire() opens every connection first (so the accept spread over workers
# is done before the clock starts), then writes request i at
# t0 + spread * i / count (spread 0: all at once), and reads each response
# until the server closes (Connection: close).  Nothing sleeps blindly:
# one select loop waits for the next send time or for data.
#
# With warm => '/pid' and workers => N, each connection first asks a
# location that answers the worker's $pid (keep-alive), and connections are
# opened until every one of the N workers holds its share: the requests
# are then dealt round-robin over the workers, so the test knows several
# workers took part.
#
#   my @st = pipelined($port, [ [path, [headers...]], ... ]);
#
# sends many keep-alive requests on one connection in batches and returns
# their statuses in order.

use strict;
use warnings;
use Exporter 'import';
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);
use Errno qw(EAGAIN EINTR);
use Test::Portcullis qw(parse_response parse_responses slurp);

our @EXPORT = qw(fire pipelined worker_rss status_counts reload_settled);

sub _request {
    my ($path, $headers, $keepalive) = @_;
    my $req = "GET $path HTTP/1.1\r\nHost: localhost\r\n";
    $req .= "Connection: close\r\n" unless $keepalive;
    my @h = @{ $headers // [] };
    for (my $i = 0; $i < @h; $i += 2) { $req .= "$h[$i]: $h[$i + 1]\r\n" }
    return "$req\r\n";
}

# Open one connection; with $warm, ask it which worker holds it.
sub _connect {
    my ($port, $warm) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
        Proto => 'tcp', Timeout => 5) or die "connect: $!";
    return ($s, 0) unless defined $warm;
    syswrite($s, _request($warm, [], 1));
    my ($buf, $r) = ('');
    my $sel = IO::Select->new($s);
    while (!($r = parse_response($buf)) || !$r->{complete}) {
        $sel->can_read(5) or die "no answer to $warm";
        sysread($s, my $chunk, 4096) or die "closed on $warm";
        $buf .= $chunk;
    }
    return ($s, $r->{body} =~ /(\d+)/ ? $1 : 0);
}

# count sockets; with warm/workers, dealt round-robin over the workers.
# accept() does not spread connections evenly over workers (the kernel wakes
# whichever worker it likes, and a loaded or sanitized build skews that), so
# ask only that every worker holds at least min_each (default 3) of them and
# interleave: every worker then serves requests all through the burst.
sub _sockets {
    my ($port, $n, %o) = @_;
    my @s;
    if (!defined $o{warm}) {
        push @s, (_connect($port))[0] for 1 .. $n;
        return @s;
    }
    my %by;
    my $min = $o{min_each} // 3;
    my $total = 0;
    for (my $opened = 0; $opened < 50 * $n; $opened++) {
        last if keys %by >= $o{workers} && $total >= $n && !grep { @$_ < $min } values %by;
        my ($s, $pid) = _connect($port, $o{warm});
        # a worker with enough already: keep its socket only while short overall
        if (@{ $by{$pid} // [] } >= $min && $total >= $n) { close($s); next }
        push @{ $by{$pid} }, $s;
        $total++;
    }
    return () if keys %by < $o{workers} || grep { @$_ < $min } values %by;
    my @lists = values %by;
    while (@s < $n && grep { @$_ } @lists) {
        for my $l (@lists) { push @s, shift @$l if @$l && @s < $n }
    }
    close($_) for map { @$_ } @lists;
    return @s;
}

sub fire {
    my ($port, %o) = @_;
    my $n = $o{count} // 1;
    my $spread = $o{spread} // 0;
    my $timeout = $o{timeout} // 15;
    my (@c, %by_fd);
    my @socks = _sockets($port, $n, %o);
    die "could not spread connections over $o{workers} workers" if @socks < $n;
    for my $i (0 .. $n - 1) {
        my $s = $socks[$i];
        $s->blocking(0);
        my $path = ref $o{path} eq 'CODE' ? $o{path}->($i) : ($o{path} // '/');
        my $hdrs = ref $o{headers} eq 'CODE' ? $o{headers}->($i) : $o{headers};
        push @c, { s => $s, i => $i, at => $n > 1 ? $spread * $i / $n : 0,
                   req => _request($path, $hdrs), buf => '' };
        $by_fd{fileno $s} = $c[-1];
    }
    my $sel = IO::Select->new;
    my $t0 = time();
    my ($pending, $next) = ($n, 0);
    while ($pending > 0 && time() - $t0 < $timeout) {
        my $now = time() - $t0;
        while ($next < $n && $c[$next]{at} <= $now) {
            my $c = $c[$next++];
            $c->{sent} = time();
            syswrite($c->{s}, $c->{req});
            $sel->add($c->{s});
        }
        my $wait = $next < $n ? $c[$next]{at} - (time() - $t0) : 0.5;
        $wait = 0 if $wait < 0;
        for my $s ($sel->can_read($wait)) {
            my $c = $by_fd{fileno $s};
            my $r = sysread($s, my $chunk, 65536);
            next if !defined $r && ($! == EAGAIN || $! == EINTR);
            if ($r) { $c->{buf} .= $chunk; next }
            $c->{elapsed} = time() - $c->{sent};
            $sel->remove($s);
            close($s);
            $pending--;
        }
    }
    my @out;
    for my $c (@c) {
        my $r = parse_response($c->{buf}) // { status => 0 };
        $r->{sent} = $c->{sent};
        $r->{elapsed} = $c->{elapsed} // -1;
        $r->{index} = $c->{i};
        close($c->{s}) if $c->{s} && defined fileno $c->{s};
        push @out, $r;
    }
    return @out;
}

# Many requests on one keep-alive connection, in batches of $o{batch}.
sub pipelined {
    my ($port, $reqs, %o) = @_;
    my $batch = $o{batch} // 100;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
        Proto => 'tcp', Timeout => 5) or die "connect: $!";
    my $sel = IO::Select->new($s);
    my @status;
    for (my $i = 0; $i < @$reqs; $i += $batch) {
        my $end = $i + $batch - 1;
        $end = $#$reqs if $end > $#$reqs;
        my $out = join '', map { _request($_->[0], $_->[1], 1) } @$reqs[$i .. $end];
        my $off = 0;
        while ($off < length $out) {
            my $w = syswrite($s, $out, length($out) - $off, $off);
            last unless defined $w;
            $off += $w;
        }
        my ($buf, @got) = ('');
        my $deadline = time() + 20;
        while (@got < $end - $i + 1 && time() < $deadline) {
            last unless $sel->can_read(5);
            my $r = sysread($s, my $chunk, 262144);
            last unless $r;
            $buf .= $chunk;
            @got = parse_responses($buf);
        }
        push @status, map { $_->{status} } @got;
        push @status, (0) x ($end - $i + 1 - @got);
    }
    close($s);
    return @status;
}

# Resident memory (KiB) of pid, from /proc.
sub worker_rss {
    my ($pid) = @_;
    my ($kib) = slurp("/proc/$pid/status") =~ /^VmRSS:\s*(\d+)/m;
    return $kib // -1;
}

# SIGHUP, then wait until the workers of the old generation are gone, so
# that no later request can reach the old configuration.  Returns the new
# generation (undef when the reload failed: see $pc->{reload_error}).
sub reload_settled {
    my ($pc) = @_;
    my @old = $pc->worker_pids;
    my $gen = $pc->reload or return undef;
    Test::Portcullis::wait_until(sub { !grep { Test::Portcullis::pid_alive($_) } @old }, 15);
    return $gen;
}

# { status => count } of a list of responses.
sub status_counts {
    my %n;
    $n{ $_->{status} }++ for @_;
    return \%n;
}

1;
