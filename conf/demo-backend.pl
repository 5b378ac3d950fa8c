#!/usr/bin/perl
# demo-backend.pl -- a tiny HTTP/1.1 backend to put behind Portcullis.
#
#   perl conf/demo-backend.pl [PORT [NAME]]     (default 9001, "demo")
#
# Listens on 127.0.0.1:PORT and answers every request with a JSON echo of
# what it received (method, target, headers, body size), so a proxied
# request can be inspected: which headers the proxy added or removed,
# X-Forwarded-For, the request id.  Keep-alive, Content-Length and chunked
# request bodies are supported; `GET /slow?ms=N` waits N ms (up to 10 s)
# and `GET /status/NNN` answers with that status.  One process, select()
# loop; a demo, not a production server.  Ctrl-C stops it.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(sleep);

my $port = shift // 9001;
my $name = shift // 'demo';
my $listener = IO::Socket::INET->new(
    LocalAddr => '127.0.0.1', LocalPort => $port, Proto => 'tcp',
    Listen => 128, ReuseAddr => 1,
) or die "demo-backend: cannot listen on 127.0.0.1:$port: $!\n";
$listener->blocking(0);
print "demo-backend \"$name\" listening on http://127.0.0.1:$port/\n";
$| = 1;

my $sel = IO::Select->new($listener);
my %buf;    # fileno => bytes received, not yet answered

sub json_str {
    my ($s) = @_;
    $s =~ s/(["\\])/\\$1/g;
    $s =~ s/([\x00-\x1f\x7f-\xff])/sprintf('\\u%04x', ord $1)/ge;
    return qq("$s");
}

# Parse one complete request from the front of $$b; returns a hash or
# undef when more bytes are needed.  Dies on a request it cannot frame.
sub take_request {
    my ($b) = @_;
    my $end = index($$b, "\r\n\r\n");
    return undef if $end < 0;
    my @lines = split /\r\n/, substr($$b, 0, $end);
    my ($method, $target, $version) = split / /, shift(@lines) // '';
    die "bad request line\n" unless $version && $version =~ m{^HTTP/1\.[01]$};
    my (@headers, %h);
    for (@lines) {
        my ($k, $v) = /^([^:\s]+):[ \t]*(.*?)[ \t]*$/ or die "bad header\n";
        push @headers, [$k, $v];
        $h{lc $k} = $v;
    }
    my $pos = $end + 4;
    my $body = '';
    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        while (1) {
            my $nl = index($$b, "\r\n", $pos);
            return undef if $nl < 0;
            my ($size) = substr($$b, $pos, $nl - $pos) =~ /^([0-9a-fA-F]+)/
                or die "bad chunk\n";
            $size = hex $size;
            if ($size == 0) {
                my $t = index($$b, "\r\n\r\n", $nl - 2);
                return undef if $t < 0;
                $pos = $t + 4;
                last;
            }
            return undef if length($$b) < $nl + 2 + $size + 2;
            $body .= substr($$b, $nl + 2, $size);
            $pos = $nl + 2 + $size + 2;
        }
    } elsif (defined $h{'content-length'}) {
        my $len = $h{'content-length'};
        die "bad content-length\n" unless $len =~ /^\d+$/;
        return undef if length($$b) < $pos + $len;
        $body = substr($$b, $pos, $len);
        $pos += $len;
    }
    substr($$b, 0, $pos) = '';
    my $close = ($h{connection} // '') =~ /close/i
        || ($version eq 'HTTP/1.0' && ($h{connection} // '') !~ /keep-alive/i);
    return { method => $method, target => $target, version => $version,
             headers => \@headers, body => $body, close => $close };
}

sub respond {
    my ($sock, $r) = @_;
    my $status = 200;
    if ($r->{target} =~ m{^/status/(\d{3})\b}) { $status = $1; }
    if ($r->{target} =~ m{^/slow\?ms=(\d+)}) { sleep(($1 > 10000 ? 10000 : $1) / 1000); }
    my $hdrs = join ",\n    ", map { json_str($_->[0]) . ': ' . json_str($_->[1]) } @{ $r->{headers} };
    my $body = "{\n  \"backend\": " . json_str($name) . ",\n"
        . "  \"method\": " . json_str($r->{method}) . ",\n"
        . "  \"target\": " . json_str($r->{target}) . ",\n"
        . "  \"version\": " . json_str($r->{version}) . ",\n"
        . "  \"headers\": {\n    $hdrs\n  },\n"
        . "  \"body_bytes\": " . length($r->{body}) . "\n}\n";
    $body = '' if $r->{method} eq 'HEAD' || $status == 204 || $status == 304;
    my $head = "HTTP/1.1 $status Demo\r\n"
        . "Content-Type: application/json\r\n"
        . ($status == 204 || $status == 304 ? ''
           : "Content-Length: " . length($body) . "\r\n")
        . "X-Backend: $name\r\n"
        . ($r->{close} ? "Connection: close\r\n" : '') . "\r\n";
    $sock->blocking(1);
    print {$sock} $head, $body;
    $sock->blocking(0);
}

sub drop {
    my ($sock) = @_;
    $sel->remove($sock);
    delete $buf{fileno $sock};
    close $sock;
}

while (1) {
    for my $sock ($sel->can_read) {
        if ($sock == $listener) {
            while (my $c = $listener->accept) {
                $c->blocking(0);
                $sel->add($c);
                $buf{fileno $c} = '';
            }
            next;
        }
        my $n = sysread($sock, my $chunk, 65536);
        if (!$n) { drop($sock); next; }
        my $b = \$buf{fileno $sock};
        $$b .= $chunk;
        if (length $$b > 16 * 1024 * 1024) { drop($sock); next; }
        while (1) {
            my $r = eval { take_request($b) };
            if ($@) {
                print {$sock} "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                drop($sock);
                last;
            }
            last unless $r;
            respond($sock, $r);
            if ($r->{close}) { drop($sock); last; }
        }
    }
}
