package Test::Portcullis::Backend;

# A tiny real HTTP/1.1 backend for proxy tests.
#
#   my $be = Test::Portcullis::Backend->new(port => $port,
#       handler => sub { my ($req) = @_; return (200, ['X-A' => 1], "body") });
#   ...
#   $be->stop;
#
# It runs in a forked process (one more fork per connection), answers
# keep-alive requests with Content-Length bodies, reads Content-Length and
# chunked request bodies.  $req = { method, uri, version, headers =>
# {lc name => value}, hlist => [[n, v]...], body, conn => n-th request on
# this connection }.  The default handler echoes the request as text.
# Only processes it started are signalled, by pid.

use strict;
use warnings;
use IO::Socket::IP;
use parent 'Test::Portcullis::Server';    # start, port, pid, stop

sub new {
    my ($class, %o) = @_;
    my $host = $o{host} // '127.0.0.1';
    my $ls = IO::Socket::IP->new(LocalHost => $host, LocalPort => $o{port} // 0,
        Listen => 128, ReuseAddr => 1, Proto => 'tcp') or die "backend listen: $!";
    my $self = bless { port => $ls->sockport, host => $host }, $class;
    my $handler = $o{handler} // \&echo;
    return $self->start($ls, sub { _connection($_[0], $handler) });
}

sub echo {
    my ($req) = @_;
    my $text = "$req->{method} $req->{uri} HTTP/$req->{version}\n";
    $text .= "$_->[0]: $_->[1]\n" for @{ $req->{hlist} };
    $text .= "\n$req->{body}";
    return (200, ['Content-Type' => 'text/plain'], $text);
}

sub _connection {
    my ($c, $handler) = @_;
    my $buf = '';
    my $n = 0;
    while (1) {
        my $req = _read_request($c, \$buf) or return;
        $req->{conn} = ++$n;
        my ($status, $headers, $body) = $handler->($req);
        return unless defined $status;          # handler asks to drop it
        my $resp = "HTTP/1.1 $status X\r\n";
        my @h = @{ $headers // [] };
        my %has = map { lc($h[2 * $_]) => 1 } 0 .. int(@h / 2) - 1;
        for (my $i = 0; $i < @h; $i += 2) { $resp .= "$h[$i]: $h[$i + 1]\r\n" }
        $body //= '';
        $resp .= "Content-Length: " . length($body) . "\r\n"
            unless $has{'content-length'} || $has{'transfer-encoding'};
        $resp .= "\r\n" . ($req->{method} eq 'HEAD' ? '' : $body);
        print {$c} $resp;
        my $close = ($req->{headers}{connection} // '') =~ /close/i || $has{connection};
        return if $close;
    }
}

# Read one request head and body from $c (buffer in $$buf); undef on EOF.
sub _read_request {
    my ($c, $buf) = @_;
    my $more = sub { my $n = sysread($c, my $chunk, 65536); $$buf .= $chunk if $n; return $n };
    while (index($$buf, "\r\n\r\n") < 0) { $more->() or return undef }
    my $end = index($$buf, "\r\n\r\n");
    my @lines = split /\r\n/, substr($$buf, 0, $end);
    $$buf = substr($$buf, $end + 4);
    my ($method, $uri, $version) = (shift @lines) =~ m{^(\S+) (\S+) HTTP/(\d\.\d)$} or return undef;
    my %req = (method => $method, uri => $uri, version => $version, headers => {}, hlist => []);
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
        push @{ $req{hlist} }, [$k, $v];
        $req{headers}{lc $k} = exists $req{headers}{lc $k} ? "$req{headers}{lc $k}, $v" : $v;
    }
    my $body = '';
    if (($req{headers}{'transfer-encoding'} // '') =~ /chunked/i) {
        while (1) {
            while ($$buf !~ /\r\n/) { $more->() or return undef }
            $$buf =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n// or return undef;
            my $len = hex $1;
            if ($len == 0) {
                until ($$buf =~ /^\r\n/ || $$buf =~ /\r\n\r\n/) { $more->() or return undef }
                $$buf =~ s/^(?:[^\r\n]+\r\n)*\r\n//;
                last;
            }
            while (length($$buf) < $len + 2) { $more->() or return undef }
            $body .= substr($$buf, 0, $len);
            $$buf = substr($$buf, $len + 2);
        }
    } elsif (my $len = $req{headers}{'content-length'}) {
        while (length($$buf) < $len) { $more->() or return undef }
        $body = substr($$buf, 0, $len);
        $$buf = substr($$buf, $len);
    }
    $req{body} = $body;
    return \%req;
}

1;
