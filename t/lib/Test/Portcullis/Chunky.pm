package Test::Portcullis::Chunky;

# A backend that sends each response body in pseudo-random pieces with
# short pauses, so that a proxy in front of it reads the body in many
# reads of varying size (streaming filters, e.g. gzip, see every split).
#
#   my $be = Test::Portcullis::Chunky->new(handler => sub {
#       my ($req) = @_;      # { method, uri, path, args => {k => v}, headers }
#       return (200, ['Content-Type' => 'application/json'], $body,
#               { framing => 'chunked', seed => 7, max => 3000 });
#   });
#   ... $be->port ... $be->stop;
#
# Options per response: framing => 'length' (default) | 'chunked' |
# 'close' (no length: the close ends the body); seed => N (the piece
# sizes, reproducible); max => largest piece (default 4096); pause =>
# seconds to wait after every 4th piece (default 0.001); hold => [OFFSET,
# SECONDS] stops for SECONDS once OFFSET bytes are out.  One request per
# connection ("Connection: close").  It runs in a forked process (one
# more per connection) and only signals its own pids.

use strict;
use warnings;
use IO::Socket::IP;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(time sleep);
use parent 'Test::Portcullis::Server';    # start, port, pid, stop

sub new {
    my ($class, %o) = @_;
    my $ls = IO::Socket::IP->new(LocalHost => $o{host} // '127.0.0.1',
        LocalPort => $o{port} // 0, Listen => 128, ReuseAddr => 1, Proto => 'tcp')
        or die "chunky listen: $!";
    my $self = bless { port => $ls->sockport }, $class;
    return $self->start($ls, sub { _connection($_[0], $o{handler}) });
}

sub _read_head {
    my ($c) = @_;
    my $buf = '';
    while (index($buf, "\r\n\r\n") < 0) {
        my $n = sysread($c, my $chunk, 65536);
        return undef unless $n;
        $buf .= $chunk;
        return undef if length $buf > 65536;
    }
    my @lines = split /\r\n/, substr($buf, 0, index($buf, "\r\n\r\n"));
    my ($method, $uri) = (shift @lines) =~ m{^(\S+) (\S+) HTTP/\d\.\d$} or return undef;
    my ($path, $query) = $uri =~ /^([^?]*)(?:\?(.*))?$/;
    my %args = map { my ($k, $v) = split /=/, $_, 2; ($k => $v // '') } split /&/, $query // '';
    my %h = map { /^([^:]+):\s*(.*?)\s*$/ ? (lc $1 => $2) : () } @lines;
    return { method => $method, uri => $uri, path => $path, args => \%args, headers => \%h };
}

# Write all of $bytes (the socket blocks).
sub _put {
    my ($c, $bytes) = @_;
    my $off = 0;
    while ($off < length $bytes) {
        my $n = syswrite($c, $bytes, length($bytes) - $off, $off);
        return 0 unless defined $n && $n > 0;
        $off += $n;
    }
    return 1;
}

sub _connection {
    my ($c, $handler) = @_;
    local $SIG{PIPE} = 'IGNORE';
    setsockopt($c, IPPROTO_TCP, TCP_NODELAY, 1);
    my $req = _read_head($c) or return;
    my ($status, $headers, $body, $opt) = $handler->($req);
    $opt //= {};
    $body //= '';
    my $framing = $opt->{framing} // 'length';
    my $head = "HTTP/1.1 $status X\r\n";
    my @h = @{ $headers // [] };
    for (my $i = 0; $i < @h; $i += 2) { $head .= "$h[$i]: $h[$i + 1]\r\n" }
    $head .= "Content-Length: " . length($body) . "\r\n" if $framing eq 'length';
    $head .= "Transfer-Encoding: chunked\r\n" if $framing eq 'chunked';
    $head .= "Connection: close\r\n\r\n";
    _put($c, $head) or return;
    return if $req->{method} eq 'HEAD' || $status == 204 || $status == 304;
    srand($opt->{seed} // 1);
    my $max = $opt->{max} // 4096;
    my $pause = $opt->{pause} // 0.001;
    my ($off, $i) = (0, 0);
    my ($hold_at, $hold_for) = @{ $opt->{hold} // [-1, 0] };
    while ($off < length $body) {
        my $n = 1 + int(rand($max));
        $n = $hold_at - $off if $off < $hold_at && $off + $n > $hold_at;
        sleep($hold_for) if $off == $hold_at;
        my $piece = substr($body, $off, $n);
        $off += length $piece;
        $piece = sprintf("%x\r\n%s\r\n", length $piece, $piece) if $framing eq 'chunked';
        _put($c, $piece) or return;
        sleep($pause) if $pause > 0 && ++$i % 4 == 0;
    }
    _put($c, "0\r\n\r\n") if $framing eq 'chunked';
    shutdown($c, 1);
    # let the proxy read everything before the socket goes away
    my $deadline = time() + 5;
    while (time() < $deadline) {
        my $n = sysread($c, my $junk, 4096);
        last unless $n;
    }
}

1;
