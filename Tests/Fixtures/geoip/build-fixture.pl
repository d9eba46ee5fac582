#!/usr/bin/env perl
# Writes the small country database the GeoIP tests read, in the MaxMind DB format and with the
# layout of GeoLite2-Country / GeoIP2-Country records:
#
#   perl Tests/Fixtures/geoip/build-fixture.pl OUTPUT.mmdb
#
# The tests build it at run time (Tests/TestSupport/GeoIPFixture.swift), so it always matches this
# script; nothing generated is committed. Every network is a documentation block (RFC 5737 for
# IPv4, RFC 3849 for IPv6), so no real address is ever described:
#
#   192.0.2.0/24      country FR                          (plain entry)
#   198.51.100.0/24   country DE                          (plain entry)
#   203.0.113.0/24    registered_country JP, no country   (the fallback to registered_country)
#   2001:db8:1::/48   country US                          (IPv6 entry)
#   2001:db8:2::/48   country with names but no iso_code  (no code: no country)
#   2001:db8:3::/48   country "ch", in lower case          (given back as CH)
#   2001:db8:4::/48   country "USA"                       (not two letters: no country)
#
# Anything else (8.8.8.8, 2001:db8:5::1, …) is in no network.
#
# Needs Debian's libmaxmind-db-writer-perl (scripts/install-deps).
use strict;
use warnings;

use MaxMind::DB::Writer::Tree;

my $output = shift @ARGV or die "usage: $0 OUTPUT.mmdb\n";

# The writer needs the type of every map key; these are those of MaxMind's country databases.
my %types = (
    country            => 'map',
    registered_country => 'map',
    iso_code           => 'utf8_string',
    names              => 'map',
    en                 => 'utf8_string',
);

my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version    => 6,
    record_size   => 24,
    database_type => 'GeoLite2-Country-Test',
    languages     => ['en'],
    description   => { en => 'Test fixture of the analytics service (documentation networks only)' },
    map_key_type_callback => sub { $types{ $_[0] } // die "no type for map key '$_[0]'\n" },
    # IPv4 networks are inserted in IPv4 notation, which puts them at ::/96 (where libmaxminddb
    # looks up an AF_INET address); the alias makes ::ffff:a.b.c.d find them too.
    alias_ipv6_to_ipv4 => 1,
    # The writer silently drops reserved networks by default, the documentation blocks among them.
    remove_reserved_networks => 0,
);

sub country {
    my ( $code, $name ) = @_;
    return { iso_code => $code, names => { en => $name } };
}

my @networks = (
    [ '192.0.2.0/24',    { country => country( 'FR', 'France' ), registered_country => country( 'FR', 'France' ) } ],
    [ '198.51.100.0/24', { country => country( 'DE', 'Germany' ), registered_country => country( 'DE', 'Germany' ) } ],
    [ '203.0.113.0/24',  { registered_country => country( 'JP', 'Japan' ) } ],
    [ '2001:db8:1::/48', { country => country( 'US', 'United States' ), registered_country => country( 'US', 'United States' ) } ],
    [ '2001:db8:2::/48', { country => { names => { en => 'Nowhere' } } } ],
    [ '2001:db8:3::/48', { country => country( 'ch', 'Switzerland' ) } ],
    [ '2001:db8:4::/48', { country => country( 'USA', 'United States' ) } ],
);
$tree->insert_network(@$_) for @networks;

open my $fh, '>:raw', $output or die "cannot write $output: $!\n";
$tree->write_tree($fh);
close $fh or die "cannot write $output: $!\n";
