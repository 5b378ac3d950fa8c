package Test::Portcullis::Prom;

# Test::Portcullis::Prom -- a strict checker and parser of the Prometheus
# text exposition format 0.0.4, for the status module's tests.
#
#   my @errors = Test::Portcullis::Prom::validate($text);   # () = valid
#   my $p = Test::Portcullis::Prom::parse($text);
#   my $v = Test::Portcullis::Prom::value($p, 'portcullis_requests_total',
#               { server => 'api', status_class => '2xx' });
#
# Beyond the grammar (metric and label names, label-value escapes \\ \" \n
# only, HELP escapes \\ \n only, float values, optional integer timestamp,
# a final newline), it insists on what a careful exporter does:
#   - every sample's family has a "# HELP" and a "# TYPE" line before its
#     first sample, each at most once, and a family's lines are contiguous;
#   - counters are named *_total, have no other suffix, are never negative;
#   - gauges have no suffix;
#   - histograms only have _bucket (with le), _sum and _count (without le);
#     per label set: le values increase strictly and end with +Inf, bucket
#     counts never decrease, _count equals the +Inf bucket, _sum is there;
#   - no series (name + label set) appears twice, no label twice in one
#     sample, no label name starting with "__".

use strict;
use warnings;

my $NAME_RE  = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
my $LABEL_RE = qr/[a-zA-Z_][a-zA-Z0-9_]*/;
my $FLOAT_RE = qr/^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;
my %TYPES = map { $_ => 1 } qw(counter gauge histogram summary untyped);

sub _num {
    my ($s) = @_;
    return 9**9**9 if $s eq '+Inf' || $s eq 'Inf';
    return -9**9**9 if $s eq '-Inf';
    return 0 + $s;
}

# Unescape a label value; undef when it holds an escape the format lacks.
sub _unescape_label {
    my ($s) = @_;
    my $out = '';
    while (length $s) {
        if ($s =~ s/^([^\\]+)//) { $out .= $1; next }
        return undef unless $s =~ s/^\\(.)//s;
        my $c = $1;
        if ($c eq 'n') { $out .= "\n" }
        elsif ($c eq '\\' || $c eq '"') { $out .= $c }
        else { return undef }
    }
    return $out;
}

# Parse `{a="b",c="d"}` at the start of $$rest; returns (\%labels, \@order)
# or (undef, error).
sub _labels {
    my ($rest) = @_;
    my (%l, @order);
    return ({}, []) unless $$rest =~ s/^\{//;
    return (\%l, \@order) if $$rest =~ s/^\}//;
    while (1) {
        $$rest =~ s/^($LABEL_RE)="((?:[^"\\\n]|\\.)*)"// or return (undef, "bad label syntax");
        my ($k, $raw) = ($1, $2);
        return (undef, "label name \"$k\" is reserved") if $k =~ /^__/;
        return (undef, "label \"$k\" twice") if exists $l{$k};
        my $v = _unescape_label($raw);
        return (undef, "bad escape in label \"$k\"") unless defined $v;
        $l{$k} = $v;
        push @order, $k;
        next if $$rest =~ s/^,(?!\})//;        # another label follows
        $$rest =~ s/^,//;                      # a trailing comma is allowed
        return (\%l, \@order) if $$rest =~ s/^\}//;
        return (undef, "expected , or } after label \"$k\"");
    }
}

sub _series_key {
    my ($name, $labels, %skip) = @_;
    return join("\x00", $name, map { "$_=$labels->{$_}" } grep { !$skip{$_} } sort keys %$labels);
}

# The family a sample belongs to, and the suffix it uses.
sub _family_of {
    my ($fam, $name) = @_;
    return ($name, '') if $fam->{$name};
    for my $sfx (qw(_bucket _sum _count)) {
        next unless $name =~ /^(.+)\Q$sfx\E$/;
        my $base = $1;
        return ($base, $sfx) if $fam->{$base} && ($fam->{$base}{type} // '') =~ /^(?:histogram|summary)$/;
    }
    return ($name, '');
}

# Returns { families => { name => { help, type, samples => [...] } },
#           samples => [ { name, family, labels, value } ], errors => [...] }.
sub parse {
    my ($text) = @_;
    my (%fam, @samples, @err, %seen_series, %closed);
    my $cur;
    push @err, "empty exposition" if !defined $text || $text eq '';
    $text //= '';
    push @err, "does not end with a newline" if length $text && $text !~ /\n\z/;
    my $ln = 0;
    my $enter = sub {
        my ($f) = @_;
        return if defined $cur && $cur eq $f;
        push @err, "line $ln: family $f is not contiguous" if $closed{$f};
        $closed{$cur} = 1 if defined $cur;
        $cur = $f;
    };
    for my $line (split /\n/, $text) {
        $ln++;
        next if $line eq '';
        if ($line =~ /^#\s*(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/) {
            my ($kw, $name, $rest) = ($1, $2, $3 // '');
            if ($name !~ /^$NAME_RE$/) { push @err, "line $ln: bad metric name \"$name\""; next }
            $enter->($name);
            my $f = $fam{$name} //= { samples => [] };
            if ($kw eq 'HELP') {
                push @err, "line $ln: second HELP for $name" if defined $f->{help};
                push @err, "line $ln: bad escape in HELP of $name"
                    if $rest =~ /\\(?![\\n])/;
                push @err, "line $ln: HELP for $name after its samples" if @{ $f->{samples} };
                $f->{help} = $rest;
            } else {
                push @err, "line $ln: second TYPE for $name" if defined $f->{type};
                push @err, "line $ln: unknown type \"$rest\"" unless $TYPES{$rest};
                push @err, "line $ln: TYPE for $name after its samples" if @{ $f->{samples} };
                $f->{type} = $rest;
            }
            next;
        }
        next if $line =~ /^#/;          # other comments are allowed
        my $rest = $line;
        unless ($rest =~ s/^($NAME_RE)//) { push @err, "line $ln: bad sample \"$line\""; next }
        my $name = $1;
        my ($labels, $order) = _labels(\$rest);
        unless ($labels) { push @err, "line $ln: $order in \"$line\""; next }
        unless ($rest =~ /^ (\S+)(?: (-?\d+))?$/) { push @err, "line $ln: bad value part in \"$line\""; next }
        my $value = $1;
        unless ($value =~ $FLOAT_RE) { push @err, "line $ln: bad value \"$value\""; next }
        my ($family, $sfx) = _family_of(\%fam, $name);
        $enter->($family);
        my $f = $fam{$family};
        if (!$f || !defined $f->{help} || !defined $f->{type}) {
            push @err, "line $ln: sample $name without HELP and TYPE before it";
            $f = $fam{$family} //= { samples => [] };
        }
        my $key = _series_key($name, $labels);
        push @err, "line $ln: duplicate series $name" if $seen_series{$key}++;
        my $s = { name => $name, family => $family, suffix => $sfx, labels => $labels,
                  value => $value, line => $ln };
        push @{ $f->{samples} }, $s;
        push @samples, $s;
    }
    push @err, _check_families(\%fam);
    return { families => \%fam, samples => \@samples, errors => \@err };
}

sub _check_histogram {
    my ($name, $f) = @_;
    my (@err, %sets);
    for my $s (@{ $f->{samples} }) {
        my $sfx = $s->{suffix};
        if ($sfx eq '') { push @err, "$name: sample $s->{name} is not _bucket/_sum/_count"; next }
        if ($sfx eq '_bucket' && !exists $s->{labels}{le}) { push @err, "$name: _bucket without le"; next }
        if ($sfx ne '_bucket' && exists $s->{labels}{le}) { push @err, "$name: $sfx with le" }
        my $set = $sets{ _series_key($name, $s->{labels}, le => 1) } //= { buckets => [] };
        if ($sfx eq '_bucket') { push @{ $set->{buckets} }, $s }
        else { $set->{$sfx} = $s }
    }
    for my $k (sort keys %sets) {
        my $set = $sets{$k};
        my @b = @{ $set->{buckets} };
        (my $what = $k) =~ s/\x00/ /g;
        if (!@b) { push @err, "$what: no buckets"; next }
        for my $i (0 .. $#b) {
            my $le = $b[$i]{labels}{le};
            if ($le !~ $FLOAT_RE) { push @err, "$what: le \"$le\" is not a number"; next }
            next unless $i;
            push @err, "$what: le not increasing at \"$le\""
                unless _num($le) > _num($b[$i - 1]{labels}{le});
            push @err, "$what: bucket count decreases at le=\"$le\""
                if _num($b[$i]{value}) < _num($b[$i - 1]{value});
        }
        push @err, "$what: last bucket is not le=\"+Inf\"" unless $b[-1]{labels}{le} eq '+Inf';
        push @err, "$what: no _sum" unless $set->{_sum};
        if (!$set->{_count}) { push @err, "$what: no _count" }
        elsif (_num($set->{_count}{value}) != _num($b[-1]{value})) {
            push @err, "$what: _count $set->{_count}{value} != +Inf bucket $b[-1]{value}";
        }
    }
    return @err;
}

sub _check_families {
    my ($fam) = @_;
    my @err;
    for my $name (sort keys %$fam) {
        my $f = $fam->{$name};
        my $type = $f->{type} // 'untyped';
        push @err, "$name: TYPE without HELP" if defined $f->{type} && !defined $f->{help};
        push @err, "$name: HELP without TYPE" if defined $f->{help} && !defined $f->{type};
        if ($type eq 'counter') {
            push @err, "$name: counter name does not end with _total" unless $name =~ /_total$/;
            for my $s (@{ $f->{samples} }) {
                push @err, "$name: counter sample named $s->{name}" if $s->{name} ne $name;
                push @err, "$name: negative or NaN counter value $s->{value}"
                    if $s->{value} eq 'NaN' || _num($s->{value}) < 0;
            }
        } elsif ($type eq 'gauge') {
            for my $s (@{ $f->{samples} }) {
                push @err, "$name: gauge sample named $s->{name}" if $s->{name} ne $name;
            }
        } elsif ($type eq 'histogram') {
            push @err, _check_histogram($name, $f);
        }
    }
    return @err;
}

sub validate {
    my ($text) = @_;
    return @{ parse($text)->{errors} };
}

# The value of the sample called $name whose labels include every pair of
# %$want (undef when there is none; the first when several match).
sub value {
    my ($p, $name, $want) = @_;
    for my $s (@{ $p->{samples} }) {
        next unless $s->{name} eq $name;
        next if grep { !defined $s->{labels}{$_} || $s->{labels}{$_} ne $want->{$_} } keys %{ $want // {} };
        return _num($s->{value});
    }
    return undef;
}

# Sum of the values of every sample called $name matching %$want.
sub sum {
    my ($p, $name, $want) = @_;
    my $t = 0;
    for my $s (@{ $p->{samples} }) {
        next unless $s->{name} eq $name;
        next if grep { !defined $s->{labels}{$_} || $s->{labels}{$_} ne $want->{$_} } keys %{ $want // {} };
        $t += _num($s->{value});
    }
    return $t;
}

1;
