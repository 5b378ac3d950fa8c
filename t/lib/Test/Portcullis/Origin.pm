package Test::Portcullis::Origin;

# Test::Portcullis::Origin -- real HTTP/1.1 origin servers for the proxy
# tests (t/30proxy.t .. t/36accesslog.t), with knobs for the situations a
# reverse proxy must survive.
#
#   my $o = Test::Portcullis::Origin->new(name => 'a');        # echo server
#   my $o = Test::Portcullis::Origin->new(idle_close => 1);    # closes idle conns after 1 s
#   my $o = Test::Portcullis::Origin->new(rst_reused => 1);    # RST a reused conn before answering
#   my $o = Test::Portcullis::Origin->new(handler => sub { my ($req) = @_; return { ... } });
#   my $o = Test::Portcullis::Origin->new(noread => 3, rcvbuf => 4096); # reads nothing for 3 s
#   my $o = Test::Portcullis::Origin->new(listen_only => 1);   # never accepts: connects time out
#   $o->port; $o->accepts; $o->requests; $o->events; $o->stop;
#
# One process listens on 127.0.0.1 (or host => '::1'; port 0 = any free one) and forks one
# process per accepted connection.  Every process is bounded in time
# (alarm: `lifetime`, default 120 s) and is stopped by pid (stop, or END).
#
# The handler runs in the connection's process with $req = { method, uri,
# path, query => {name => value}, version, headers => {lc name => value
# (repeats joined with ", ")}, hlist => [[name, value], ...], head (raw),
# body (when <= 1 MB), body_len, body_sha256, chunked (the request body
# was chunked), conn (accept serial, from 1), n (request number on this
# connection, from 1), origin (the name) } and returns undef (the default,
# query-driven echo, see respond_default) or a response spec:
#   status, reason, version ('1.1' | '1.0'), headers => [name => value, ...]
#   body => bytes                 Content-Length added unless no_length/chunked/close_delimited
#   size => N                     body of N pattern bytes (see pattern_sha256), streamed
#   chunked => 1                  Transfer-Encoding: chunked (chunk => bytes per chunk)
#   close_delimited => 1          no length: the body ends when we close
#   conn_close => 1               send "Connection: close" (close => 1: and close afterwards)
#   interim => [head, ...]        raw 1xx heads written first
#   delay => s                    before the head; body_delay => s: between head and body
#   raw => bytes                  written as is instead of a response; then close unless keep => 1
#   rst => 1                      reset the connection (SO_LINGER 0) without answering
#   drop => 1                     close without answering; hang => s: say nothing for s, then close
#   ws => 1                       answer 101 and echo WebSocket frames (see ws_frame)
#   keep => 1                     keep the connection after raw bytes or an HTTP/1.0 response
#   late => [s, bytes]            s seconds after the response, write bytes nobody asked for
# Every request, accept and connection end is recorded as one JSON line in a
# file the test reads (events, requests, accepts).

use strict;
use warnings;
use Digest::SHA qw(sha1_base64);
use Errno qw(EINTR EAGAIN EWOULDBLOCK);
use Fcntl qw(O_WRONLY O_APPEND O_CREAT);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::IP;
use JSON::PP ();
use Socket qw(SOL_SOCKET SO_LINGER SO_RCVBUF SO_SNDBUF IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(time sleep);
use parent 'Test::Portcullis::Server';    # start, port, pid, stop

my $JSON = JSON::PP->new->canonical->allow_nonref;

# The 64 KB block every pattern body repeats (deterministic, not all text).
our $BLOCK = join '', map { chr(($_ * 131 + ($_ >> 8) * 7 + 13) & 0xff) } 0 .. 65535;

sub new {
    my ($class, %o) = @_;
    # rcvbuf on the listener: accepted sockets inherit it before the
    # handshake, so the advertised window really is small.
    my $ls = IO::Socket::IP->new(LocalHost => $o{host} // '127.0.0.1', LocalPort => $o{port} // 0,
        Listen => $o{backlog} // ($o{listen_only} ? 1 : 128), ReuseAddr => 1, Proto => 'tcp',
        $o{rcvbuf} ? (Sockopts => [[SOL_SOCKET, SO_RCVBUF, $o{rcvbuf}]]) : ())
        or die "origin listen: $!";
    my $dir = tempdir('pc-origin-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $self = bless {
        %o,
        port     => $ls->sockport,
        dir      => $dir,
        name     => $o{name} // 'origin',
        lifetime => $o{lifetime} // 120,
        owner    => $$,
    }, $class;
    if ($o{listen_only}) {
        # A listener that never accepts, its accept queue filled: the
        # kernel drops further SYNs, so connecting to it times out.
        $self->{ls} = $ls;
        for (1 .. 8) {
            my $f = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $self->{port},
                Proto => 'tcp', Blocking => 0);
            push @{ $self->{fillers} }, $f if $f;
        }
        return $self->track;
    }
    return $self->start($ls, sub { $self->_connection(@_) },
        lifetime => $self->{lifetime}, on_accept => sub { $self->_record_accept });
}

sub name { $_[0]{name} }
sub addr { my $h = $_[0]{host} // '127.0.0.1'; return ($h =~ /:/ ? "[$h]" : $h) . ":$_[0]{port}" }

# Connections accepted so far.
sub accepts { my $s = -s "$_[0]{dir}/accepts"; return $s ? $s : 0 }

# Every recorded event (hashrefs, oldest first); type => 'req' | 'eof' | 'rst' | 'idle_close' ...
sub events {
    my ($self) = @_;
    open(my $fh, '<', "$self->{dir}/events") or return ();
    my @e;
    while (my $l = <$fh>) {
        chomp $l;
        my $e = eval { $JSON->decode($l) } or next;
        push @e, $e;
    }
    return @e;
}

sub requests { return grep { $_->{type} eq 'req' } $_[0]->events }

# Forget what was recorded so far.
sub reset_stats {
    my ($self) = @_;
    truncate("$self->{dir}/events", 0);
    truncate("$self->{dir}/accepts", 0);
}

# Wait until $n requests were recorded; returns them (bounded).
sub wait_requests {
    my ($self, $n, $timeout) = @_;
    my $deadline = time() + ($timeout // 5);
    my @r;
    while (1) {
        @r = $self->requests;
        return @r if @r >= $n || time() >= $deadline;
        sleep(0.01);
    }
}

sub stop {
    my ($self) = @_;
    return if $self->{owner} != $$;
    if ($self->{ls}) { close($self->{ls}); delete $self->{ls}; delete $self->{fillers}; }
    $self->SUPER::stop;
}

# sha256 (hex) of the first $n bytes of the pattern.
sub pattern_sha256 {
    my ($n) = @_;
    my $d = Digest::SHA->new(256);
    while ($n > 0) {
        my $k = $n < length $BLOCK ? $n : length $BLOCK;
        $d->add(substr($BLOCK, 0, $k));
        $n -= $k;
    }
    return $d->hexdigest;
}

# The request an echo response describes (see respond_default), with
# h => {lc name => value (repeats joined by ", ")}, count => {lc name => n};
# undef when $r (a parsed response or a body) is not an echo.
sub echo_of {
    my ($r) = @_;
    my $body = ref $r ? $r->{body} : $r;
    my $e = eval { $JSON->decode($body // '') };
    return undef unless ref $e eq 'HASH' && $e->{hlist};
    for my $p (@{ $e->{hlist} }) {
        my $k = lc $p->[0];
        $e->{h}{$k} = exists $e->{h}{$k} ? "$e->{h}{$k}, $p->[1]" : $p->[1];
        $e->{count}{$k}++;
    }
    $e->{h} //= {};
    return $e;
}

# ---------------------------------------------------------------------------
# The server processes
# ---------------------------------------------------------------------------

sub _record {
    my ($self, %e) = @_;
    $e{t} = time();
    $e{origin} = $self->{name};
    my $line = $JSON->encode(\%e) . "\n";
    sysopen(my $fh, "$self->{dir}/events", O_WRONLY | O_APPEND | O_CREAT) or return;
    syswrite($fh, $line);
    close($fh);
}

# One byte per accepted connection (see accepts).
sub _record_accept {
    my ($self) = @_;
    sysopen(my $fh, "$self->{dir}/accepts", O_WRONLY | O_APPEND | O_CREAT) or return;
    syswrite($fh, 'A');
    close($fh);
}

sub _rst {
    my ($c) = @_;
    setsockopt($c, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    close($c);
}

sub _connection {
    my ($self, $c, $conn) = @_;
    $SIG{PIPE} = 'IGNORE';    # a peer that went away is a false _write, not a death
    setsockopt($c, IPPROTO_TCP, TCP_NODELAY, 1);
    setsockopt($c, SOL_SOCKET, SO_RCVBUF, $self->{rcvbuf}) if $self->{rcvbuf};
    if ($self->{noread}) {
        # read nothing for a while: the peer's writes block (send timeouts)
        $self->_record(type => 'noread', conn => $conn);
        sleep($self->{noread});
        close($c);
        return;
    }
    my $buf = '';
    my $n = 0;
    while (1) {
        if ($self->{idle_close} && !length $buf) {
            my $sel = IO::Select->new($c);
            if (!$sel->can_read($self->{idle_close})) {
                $self->_record(type => 'idle_close', conn => $conn);
                close($c);
                return;
            }
        }
        my $req = $self->_read_request($c, \$buf);
        if (!$req) {
            $self->_record(type => 'eof', conn => $conn, n => $n);
            return;
        }
        $req->{conn} = $conn;
        $req->{n} = ++$n;
        $req->{origin} = $self->{name};
        if ($self->{rst_reused} && $n > 1) {
            $self->_record(type => 'rst', conn => $conn, n => $n, uri => $req->{uri});
            _rst($c);
            return;
        }
        $self->_record(type => 'req', map { $_ => $req->{$_} }
            qw(method uri version hlist body_len body_sha256 chunked conn n));
        my $spec = $self->{handler} ? $self->{handler}->($req) : undef;
        $spec //= respond_default($req);
        my $keep = $self->_respond($c, $req, $spec);
        return unless $keep;
    }
}

# Read one request (head + body) from $c; undef on EOF or garbage.
sub _read_request {
    my ($self, $c, $buf) = @_;
    my $more = sub {
        while (1) {
            my $n = sysread($c, my $chunk, 262144);
            if (!defined $n) { next if $! == EINTR; return 0 }
            $$buf .= $chunk if $n;
            return $n;
        }
    };
    while (index($$buf, "\r\n\r\n") < 0) {
        return undef if length($$buf) > 1048576;
        $more->() or return undef;
    }
    my $end = index($$buf, "\r\n\r\n");
    my $head = substr($$buf, 0, $end);
    my @lines = split /\r\n/, $head;
    $$buf = substr($$buf, $end + 4);
    my ($method, $uri, $version) = (shift @lines) =~ m{^(\S+) (\S+) HTTP/(\d\.\d)$} or return undef;
    my %req = (method => $method, uri => $uri, version => $version, headers => {},
        hlist => [], head => $head);
    my ($path, $q) = split /\?/, $uri, 2;
    $req{path} = $path;
    $req{query} = { map { my ($k, $v) = split /=/, $_, 2; ($k => _unesc($v // '')) }
                    grep { length } split /&/, $q // '' };
    for (@lines) {
        my ($k, $v) = /^([^:]+):[ \t]*(.*?)[ \t]*$/ or next;
        push @{ $req{hlist} }, [$k, $v];
        my $lk = lc $k;
        $req{headers}{$lk} = exists $req{headers}{$lk} ? "$req{headers}{$lk}, $v" : $v;
    }
    my $d = Digest::SHA->new(256);
    my ($body, $len) = ('', 0);
    my $take = sub {
        my ($bytes) = @_;
        $d->add($bytes);
        $len += length $bytes;
        $body .= $bytes if length($body) <= 1048576;
    };
    if (($req{headers}{'transfer-encoding'} // '') =~ /chunked/i) {
        $req{chunked} = 1;
        while (1) {
            while ($$buf !~ /\r\n/) { $more->() or return undef }
            $$buf =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n// or return undef;
            my $clen = hex $1;
            if ($clen == 0) {
                until ($$buf =~ /^\r\n/ || $$buf =~ /\r\n\r\n/) { $more->() or return undef }
                $$buf =~ s/^(?:[^\r\n]+\r\n)*\r\n//;
                last;
            }
            while ($clen > 0) {
                $more->() or return undef unless length $$buf;
                my $k = $clen < length $$buf ? $clen : length $$buf;
                $take->(substr($$buf, 0, $k, ''));
                $clen -= $k;
            }
            while (length($$buf) < 2) { $more->() or return undef }
            substr($$buf, 0, 2, '');
        }
    } elsif (my $cl = $req{headers}{'content-length'}) {
        while ($cl > 0) {
            $more->() or return undef unless length $$buf;
            my $k = $cl < length $$buf ? $cl : length $$buf;
            $take->(substr($$buf, 0, $k, ''));
            $cl -= $k;
        }
    }
    $req{body} = length($body) <= 1048576 ? $body : undef;
    $req{body_len} = $len;
    $req{body_sha256} = $d->hexdigest;
    return \%req;
}

sub _unesc { my ($s) = @_; $s =~ s/\+/ /g; $s =~ s/%([0-9a-fA-F]{2})/chr hex $1/ge; return $s }

# Write all of $bytes; false when the peer is gone.
sub _write {
    my ($c, $bytes) = @_;
    my $off = 0;
    while ($off < length $bytes) {
        my $n = syswrite($c, $bytes, length($bytes) - $off, $off);
        if (!defined $n) { next if $! == EINTR || $! == EAGAIN; return 0 }
        $off += $n;
    }
    return 1;
}

# The default handler, steered by the query string:
#   status=N delay=S hang=S body_delay=S size=N chunked=1 close=1 (close-delimited)
#   conn_close=1 v10=1 early=1 (a 103 first) rst=1 drop=1 h=Name:Value
# Without size the body is the JSON echo of the request: method, uri,
# version, headers ([[name, value], ...]), body_len, body_sha256, body (when
# short), conn, n, origin.
sub respond_default {
    my ($req) = @_;
    my $q = $req->{query};
    my %s = (status => $q->{status} // 200, headers => ['X-Origin' => $req->{origin},
        'X-Conn' => $req->{conn}, 'X-N' => $req->{n}]);
    $s{$_} = $q->{$_} for grep { exists $q->{$_} }
        qw(delay hang body_delay size chunked rst drop conn_close);
    $s{close_delimited} = 1 if $q->{close};
    $s{version} = '1.0' if $q->{v10};
    $s{interim} = ["HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"] if $q->{early};
    push @{ $s{headers} }, split(/:/, $q->{h}, 2) if $q->{h};
    if (!defined $s{size}) {
        push @{ $s{headers} }, 'Content-Type' => 'application/json';
        $s{body} = $JSON->encode({ map { $_ => $req->{$_} } grep { $_ ne 'body' || length($req->{body} // '') <= 65536 }
            qw(method uri version hlist body_len body_sha256 body conn n origin chunked) });
    }
    return \%s;
}

# Send the response described by $s; returns true when the connection may
# carry another request.
sub _respond {
    my ($self, $c, $req, $s) = @_;
    my $conn = $req->{conn};
    if ($s->{rst}) { $self->_record(type => 'rst', conn => $conn, n => $req->{n}); _rst($c); return 0 }
    if ($s->{drop}) { close($c); return 0 }
    if ($s->{hang}) { sleep($s->{hang}); close($c); return 0 }
    sleep($s->{delay}) if $s->{delay};
    if (defined $s->{raw}) {
        _write($c, $s->{raw}) or return 0;
        return 1 if $s->{keep};
        close($c);
        return 0;
    }
    for my $h (@{ $s->{interim} // [] }) { _write($c, $h) or return 0 }
    return $self->_ws($c, $req, $s) if $s->{ws};

    my $status = $s->{status} // 200;
    my $version = $s->{version} // '1.1';
    my $head = "HTTP/$version $status " . ($s->{reason} // 'X') . "\r\n";
    my @h = @{ $s->{headers} // [] };
    for (my $i = 0; $i < @h; $i += 2) { $head .= "$h[$i]: $h[$i + 1]\r\n" }
    my $size = defined $s->{size} ? $s->{size} : length($s->{body} // '');
    my $nobody = $req->{method} eq 'HEAD' || $status =~ /^(?:1\d\d|204|304)$/;
    if ($s->{chunked}) {
        $head .= "Transfer-Encoding: chunked\r\n";
    } elsif (!$s->{close_delimited} && !$s->{no_length} && !($status =~ /^(?:1\d\d|204)$/)) {
        $head .= "Content-Length: $size\r\n";
    }
    $head .= "Connection: close\r\n" if $s->{conn_close} || $s->{close};
    $head .= "\r\n";
    _write($c, $head) or return 0;
    if (!$nobody) {
        sleep($s->{body_delay}) if $s->{body_delay};
        my $chunk = $s->{chunk} // 65536;
        my $off = 0;
        while ($off < $size) {
            my $k = $size - $off < $chunk ? $size - $off : $chunk;
            my $data;
            if (defined $s->{size}) {
                # the pattern, from offset $off
                my $bo = $off % length $BLOCK;
                $data = substr($BLOCK x 2, $bo, $k > length $BLOCK ? length $BLOCK : $k);
                $k = length $data;
            } else {
                $data = substr($s->{body}, $off, $k);
            }
            $data = sprintf("%x\r\n", $k) . $data . "\r\n" if $s->{chunked};
            _write($c, $data) or return 0;
            $off += $k;
        }
        if ($s->{chunked}) { _write($c, "0\r\n" . ($s->{trailer} // '') . "\r\n") or return 0 }
    }
    if ($s->{close_delimited} && !$nobody || $s->{close} || $version eq '1.0' && !$s->{keep}) {
        close($c);
        return 0;
    }
    if ($s->{late}) {
        # bytes nobody asked for, on what is now an idle connection
        sleep($s->{late}[0]);
        _write($c, $s->{late}[1]);
        $self->_record(type => 'late', conn => $conn);
    }
    return 1;
}

# ---------------------------------------------------------------------------
# WebSocket (RFC 6455) echo
# ---------------------------------------------------------------------------

sub ws_accept { my ($key) = @_; return sha1_base64($key . '258EAFA5-E914-47DA-95CA-C5AB0DC85B11') . '=' }

# One frame: ws_frame($opcode, $payload, $mask) (mask: 4 bytes or undef).
sub ws_frame {
    my ($op, $payload, $mask) = @_;
    my $len = length $payload;
    my $f = chr(0x80 | $op);
    my $m = defined $mask ? 0x80 : 0;
    if ($len < 126) { $f .= chr($m | $len) }
    elsif ($len < 65536) { $f .= chr($m | 126) . pack('n', $len) }
    else { $f .= chr($m | 127) . pack('Q>', $len) }
    if (defined $mask) {
        my $x = $payload ^ substr($mask x (int($len / 4) + 1), 0, $len);
        $f .= $mask . $x;
    } else {
        $f .= $payload;
    }
    return $f;
}

# Parse one frame from the start of $$buf: (opcode, payload) and remove
# it, or () when incomplete.
sub ws_parse {
    my ($buf) = @_;
    return () if length($$buf) < 2;
    my ($b0, $b1) = unpack('CC', $$buf);
    my $len = $b1 & 0x7f;
    my $pos = 2;
    if ($len == 126) { return () if length($$buf) < 4; $len = unpack('n', substr($$buf, 2, 2)); $pos = 4 }
    elsif ($len == 127) { return () if length($$buf) < 10; $len = unpack('Q>', substr($$buf, 2, 8)); $pos = 10 }
    my $mask;
    if ($b1 & 0x80) { return () if length($$buf) < $pos + 4; $mask = substr($$buf, $pos, 4); $pos += 4 }
    return () if length($$buf) < $pos + $len;
    my $payload = substr($$buf, $pos, $len);
    $payload ^= substr($mask x (int($len / 4) + 1), 0, $len) if defined $mask;
    substr($$buf, 0, $pos + $len, '');
    return ($b0 & 0x0f, $payload);
}

sub _ws {
    my ($self, $c, $req, $s) = @_;
    my $key = $req->{headers}{'sec-websocket-key'} // '';
    my $head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        . "Sec-WebSocket-Accept: " . ws_accept($key) . "\r\nX-Origin: $self->{name}\r\n\r\n";
    _write($c, $head) or return 0;
    $self->_record(type => 'ws_open', conn => $req->{conn});
    my $buf = '';
    while (1) {
        my $n = sysread($c, my $chunk, 65536);
        next if !defined $n && $! == EINTR;
        if (!$n) { $self->_record(type => 'ws_eof', conn => $req->{conn}); close($c); return 0 }
        $buf .= $chunk;
        while (my ($op, $payload) = ws_parse(\$buf)) {
            if ($op == 8) {
                _write($c, ws_frame(8, $payload));
                $self->_record(type => 'ws_close', conn => $req->{conn});
                close($c);
                return 0;
            }
            $self->_record(type => 'ws_msg', conn => $req->{conn}, len => length $payload);
            _write($c, ws_frame($op == 9 ? 10 : $op, $payload)) or return 0;
        }
    }
}

1;
