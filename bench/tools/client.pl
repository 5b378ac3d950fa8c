#!/usr/bin/perl
# client.pl -- exact-count HTTP/1.1 keep-alive client for the benchmarks.
#   client.pl --port P [--conns C] [--requests N] [--path /] [--idle --hold S]
# Sends N GETs round-robin over C keep-alive connections and checks each is a
# 200; prints "requests_ok=N failed=F".  With --idle every connection makes
# one request and then stays open (idle keep-alive) until --hold seconds pass;
# "READY open=C" is printed once they all are.  Bounded: every read has a
# 30 s timeout and --hold defaults to 60 s.
use strict;
use warnings;
use IO::Socket::INET;
use Getopt::Long;

my ($port, $conns, $requests, $path, $idle, $hold) = (0, 8, 1000, '/', 0, 60);
GetOptions('port=i' => \$port, 'conns=i' => \$conns, 'requests=i' => \$requests,
           'path=s' => \$path, 'idle' => \$idle, 'hold=i' => \$hold) or die "usage\n";
$SIG{ALRM} = sub { die "timeout\n" };
$| = 1;

sub request {
    my ($s) = @_;
    print $s "GET $path HTTP/1.1\r\nHost: bench\r\n\r\n" or return 0;
    my $head = '';
    alarm 30;
    while ($head !~ /\r\n\r\n/) {
        my $n = sysread($s, $head, 4096, length $head);
        return 0 unless $n;
    }
    my ($h, $body) = split /\r\n\r\n/, $head, 2;
    my ($len) = $h =~ /^content-length:\s*(\d+)/mi;
    return 0 unless defined $len && $h =~ m{^HTTP/1\.1 200 };
    while (length $body < $len) {
        my $n = sysread($s, $body, $len - length $body, length $body);
        return 0 unless $n;
    }
    alarm 0;
    return 1;
}

my @s;
for (1 .. $conns) {
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp')
        or die "connect: $!\n";
    push @s, $c;
    if ($idle) { request($c) or die "request failed on connection $_\n" }
}
if ($idle) {
    print "READY open=", scalar(@s), "\n";
    sleep $hold;
    exit 0;
}
my ($ok, $failed) = (0, 0);
for my $i (0 .. $requests - 1) {
    if (request($s[$i % @s])) { $ok++ } else { $failed++ }
}
print "requests_ok=$ok failed=$failed\n";
exit($failed ? 1 : 0);
