#!/usr/bin/perl
# gen-mmdb.pl -- write a tiny MaxMind DB for the geoip tests (never a
# downloaded database).  Usage:
#
#   perl t/assets/gen-mmdb.pl OUT.mmdb [v1|v2|v4only]
#
# Networks (v1, the default):
#   127.0.0.0/8      DE  Germany        EU  AS64512 "Portcullis Loopback"
#   127.0.0.2/32     FR  France         EU  AS64513 "Second Loopback"
#   ::1/128          JP  Japan          AS  AS64514 "Loopback Six"
#   192.0.2.0/24     US  United States  NA  AS64515 "Test Net One"
#   198.51.100.0/24  BR  Brazil         SA  (no ASN fields)
#   203.0.113.0/24   (continent OC only: no country)
# v2 maps 127.0.0.0/8 to CA Canada NA AS64520 "Reloaded Loopback" (the
# reload test); v4only is an IPv4 tree with the IPv4 networks of v1.
# Needs MaxMind::DB::Writer (Debian: libmaxmind-db-writer-perl); exits 2
# when it is missing so tests can skip.
use strict;
use warnings;

my ($out, $variant) = @ARGV;
die "usage: $0 OUT.mmdb [v1|v2|v4only]\n" unless defined $out;
$variant //= 'v1';
die "unknown variant $variant\n" unless $variant =~ /^(?:v1|v2|v4only)$/;

eval { require MaxMind::DB::Writer::Tree; 1 } or do {
    print STDERR "MaxMind::DB::Writer::Tree is not installed\n";
    exit 2;
};

my %types = (
    country                        => 'map',
    continent                      => 'map',
    names                          => 'map',
    iso_code                       => 'utf8_string',
    code                           => 'utf8_string',
    en                             => 'utf8_string',
    autonomous_system_number       => 'uint32',
    autonomous_system_organization => 'utf8_string',
);

sub rec {
    my ($cc, $name, $cont, $asn, $org) = @_;
    my %r;
    $r{country} = { iso_code => $cc, names => { en => $name } } if defined $cc;
    $r{continent} = { code => $cont } if defined $cont;
    if (defined $asn) {
        $r{autonomous_system_number} = $asn;
        $r{autonomous_system_organization} = $org;
    }
    return \%r;
}

my $v6 = $variant ne 'v4only';
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => $v6 ? 6 : 4,
    record_size              => 24,
    database_type            => 'Portcullis-Test',
    languages                => ['en'],
    description              => { en => "Portcullis test database ($variant)" },
    map_key_type_callback    => sub { $types{ $_[0] } },
    # loopback and the documentation networks are "reserved": keep them
    remove_reserved_networks => 0,
    alias_ipv6_to_ipv4       => $v6 ? 1 : 0,
);

my @nets = (
    [ '127.0.0.0/8',     rec('DE', 'Germany', 'EU', 64512, 'Portcullis Loopback') ],
    [ '127.0.0.2/32',    rec('FR', 'France', 'EU', 64513, 'Second Loopback') ],
    [ '192.0.2.0/24',    rec('US', 'United States', 'NA', 64515, 'Test Net One') ],
    [ '198.51.100.0/24', rec('BR', 'Brazil', 'SA') ],
    [ '203.0.113.0/24',  rec(undef, undef, 'OC') ],
);
if ($variant eq 'v2') {
    $nets[0] = [ '127.0.0.0/8', rec('CA', 'Canada', 'NA', 64520, 'Reloaded Loopback') ];
}
push @nets, [ '::1/128', rec('JP', 'Japan', 'AS', 64514, 'Loopback Six') ] if $v6;

# IPv4 networks in an IPv6 tree live under ::/96 (what libmaxminddb
# looks up for an IPv4 address).
for my $n (@nets) {
    my ($net, $data) = @$n;
    $net = "::$net" if $v6 && $net =~ /^\d+\./ && do { $net =~ s{/(\d+)$}{'/' . ($1 + 96)}e; 1 };
    $tree->insert_network($net, $data);
}

my $tmp = "$out.tmp.$$";
open(my $fh, '>:raw', $tmp) or die "cannot write $tmp: $!\n";
$tree->write_tree($fh);
close($fh) or die "cannot close $tmp: $!\n";
# atomically, like an operator replacing a database under a running proxy
rename($tmp, $out) or die "cannot rename $tmp to $out: $!\n";
exit 0;
