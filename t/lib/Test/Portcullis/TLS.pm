package Test::Portcullis::TLS;

# Test::Portcullis::TLS -- helpers for the TLS tests (t/4*.t, t/50hsts.t).
#
#   my $pki = pki();                      # throw-away certificates (temp dir)
#   my $r = tls_get($port, '/', sni => 'a.test', cert => 'client1');
#   my $o = s_client($port, sni => 'localhost', cert => 'client1',
#                    sess_out => "$dir/s.pem");
#   my $c = curl_tls($port, '/', cert => 'client1');
#
# The PKI is made once per test process by t/assets/gen-certs.sh into a
# temporary directory (no private key is ever committed).  Every client is
# a real one: IO::Socket::SSL, `openssl s_client`, curl; every call is
# bounded in time.  Only 127.0.0.1 is ever contacted.

use strict;
use warnings;

use Exporter 'import';
use File::Temp qw(tempdir);
use IO::Socket::SSL;
use Time::HiRes qw(time);
use Test::Portcullis;

our @EXPORT = qw(pki require_tls tls_get tls_connect s_client curl_tls worker_pids_of);

my $PKI;

# Directory with the test certificates (made on first use).
sub pki {
    return $PKI if $PKI;
    my $dir = tempdir('pc-pki-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $out = `sh $Test::Portcullis::REPO/t/assets/gen-certs.sh $dir 2>&1`;
    die "gen-certs.sh failed:\n$out" if $? != 0;
    $PKI = $dir;
    return $PKI;
}

# Skip the whole test file when the binary is missing or was built
# without the tls module (or $mod, e.g. 'hsts').
sub require_tls {
    my ($directive) = @_;
    Test::Portcullis::require_binary();
    $directive //= 'ssl_session_tickets on';
    my $pc = Test::Portcullis->new(start => 0,
        conf => "events { }\nhttp { $directive; }\n");
    my $r = $pc->run('-t');
    return if $r->{exit} == 0;
    require Test::More;
    Test::More::plan(skip_all => "module not built ($directive): $r->{output}")
        if $r->{output} =~ /unknown directive/;
}

# Client certificate options: cert => 'client1' (the .crt/.key pair in the
# PKI), or cert => 'client-deep', chain => 1 to send leaf + intermediate.
sub _cert_files {
    my (%o) = @_;
    return () unless $o{cert};
    my $p = pki();
    my $crt = $o{chain} ? "$p/$o{cert}-chain.crt" : "$p/$o{cert}.crt";
    return ($crt, "$p/$o{cert}.key");
}

# Open a TLS connection (IO::Socket::SSL).  Returns the socket, or undef
# with $@ / $IO::Socket::SSL::SSL_ERROR describing the failure.
sub tls_connect {
    my ($port, %o) = @_;
    my ($crt, $key) = _cert_files(%o);
    my %args = (
        PeerHost => $o{addr} // '127.0.0.1', PeerPort => $port,
        Timeout => $o{timeout} // 5,
        SSL_hostname => exists $o{sni} ? $o{sni} : 'localhost',
        SSL_verify_mode => SSL_VERIFY_PEER,
        SSL_ca_file => pki() . '/server-ca.crt',
        SSL_verifycn_scheme => 'none',
    );
    $args{SSL_cert_file} = $crt if $crt;
    $args{SSL_key_file} = $key if $key;
    $args{SSL_version} = $o{version} if $o{version};
    $args{SSL_cipher_list} = $o{ciphers} if $o{ciphers};
    return IO::Socket::SSL->new(%args);
}

# One request over a fresh TLS connection.  Returns the parsed response
# ({status => 0, error => TEXT} when the handshake or the read failed).
sub tls_get {
    my ($port, $path, %o) = @_;
    local $SIG{PIPE} = 'IGNORE';     # a refused client may find the socket closed
    my $s = tls_connect($port, %o)
        or return { status => 0, error => "connect: $IO::Socket::SSL::SSL_ERROR $@" };
    my $host = $o{host} // (defined $o{sni} ? $o{sni} : 'localhost');
    my $req = ($o{method} // 'GET') . " $path HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n";
    my @h = @{ $o{headers} // [] };
    for (my $i = 0; $i < @h; $i += 2) { $req .= "$h[$i]: $h[$i + 1]\r\n" }
    $req .= "Content-Length: " . length($o{body}) . "\r\n" if defined $o{body};
    $req .= "\r\n" . ($o{body} // '');
    my $data = '';
    my $ok = eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm($o{timeout} // 10);
        print {$s} $req or die "write: $!\n";
        while (1) {
            my $n = sysread($s, my $buf, 65536);
            last if !defined $n && $!{EINTR} == 0 && $data ne '';
            die "read: $IO::Socket::SSL::SSL_ERROR\n" if !defined $n;
            last if $n == 0;
            $data .= $buf;
        }
        alarm(0);
        1;
    };
    alarm(0);
    my $err = $ok ? '' : $@;
    close($s);
    my $r = parse_response($data) // { status => 0 };
    $r->{error} = $err if $err;
    return $r;
}

# Run `openssl s_client` (bounded); sends $o{send} (default: a GET /) and
# returns { out, err, exit, new (0/1), reused (0/1), proto, cipher,
# subject, pubkey_bits, verify_ok, body }.
sub s_client {
    my ($port, %o) = @_;
    my ($crt, $key) = _cert_files(%o);
    my @a = ('openssl', 's_client', '-connect', "127.0.0.1:$port",
        '-CAfile', pki() . '/server-ca.crt', '-ign_eof');
    push @a, '-servername', $o{sni} if defined $o{sni};
    push @a, '-noservername' if !defined $o{sni} && !$o{default_sni};
    push @a, '-cert', $crt, '-key', $key if $crt;
    push @a, '-sess_out', $o{sess_out} if $o{sess_out};
    push @a, '-sess_in', $o{sess_in} if $o{sess_in};
    push @a, @{ $o{args} // [] };
    my $host = $o{host} // $o{sni} // 'localhost';
    my $send = $o{send} // "GET / HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n";
    my $dir = tempdir(CLEANUP => 1);
    open(my $fh, '>', "$dir/in") or die;
    print $fh $send;
    close($fh);
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open(STDIN, '<', "$dir/in");
        open(STDOUT, '>', "$dir/out");
        open(STDERR, '>', "$dir/err");
        { no warnings 'exec'; exec { $a[0] } @a; }
        POSIX::_exit(127);
    }
    my $deadline = time() + ($o{timeout} // 10);
    my $st;
    while (1) {
        my $w = waitpid($pid, POSIX::WNOHANG());
        if ($w == $pid) { $st = $?; last }
        if (time() > $deadline) { kill 'KILL', $pid; waitpid($pid, 0); last }
        select(undef, undef, undef, 0.02);
    }
    my %r = (out => Test::Portcullis::slurp("$dir/out"), err => Test::Portcullis::slurp("$dir/err"),
        exit => defined $st ? $st >> 8 : -1);
    my $out = $r{out};
    # A failed handshake prints "New, (NONE), Cipher is (NONE)".
    $r{new} = $out =~ /^New, TLS/m ? 1 : 0;
    $r{reused} = $out =~ /^Reused, TLS/m ? 1 : 0;
    ($r{proto}, $r{cipher}) = $out =~ /^(?:New|Reused), (\S+), Cipher is (\S+)/m;
    ($r{subject}) = $out =~ /^subject=(.*)$/m;
    ($r{pubkey_bits}) = $out =~ /^Server public key is (\d+) bit/m;
    $r{verify_ok} = $out =~ /Verify return code: 0 \(ok\)/ ? 1 : 0;
    my $i = index($out, "HTTP/1.");
    $r{http} = $i >= 0 ? parse_response(substr($out, $i)) : undef;
    $r{status} = $r{http} ? $r{http}{status} : 0;
    return \%r;
}

# curl over TLS to https://NAME:PORT (NAME resolved to 127.0.0.1).
# Returns run_curl's hash plus status and body.
sub curl_tls {
    my ($port, $path, %o) = @_;
    my ($crt, $key) = _cert_files(%o);
    my $name = $o{sni} // 'localhost';
    my @a = ('--resolve', "$name:$port:127.0.0.1", '--cacert', pki() . '/server-ca.crt',
        '-o', '-', '-w', '\n%{http_code}');
    push @a, '--cert', $crt, '--key', $key if $crt;
    push @a, @{ $o{args} // [] };
    my $r = run_curl(@a, "https://$name:$port$path");
    ($r->{body}, $r->{status}) = $r->{stdout} =~ /\A(.*)\n(\d{3})\z/s ? ($1, $2 + 0) : ('', 0);
    return $r;
}

# The live worker pids of an instance.
sub worker_pids_of {
    my ($pc) = @_;
    return sort { $a <=> $b } $pc->worker_pids;
}

1;
