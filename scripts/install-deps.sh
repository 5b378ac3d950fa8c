#!/usr/bin/env bash
# install-deps.sh -- install the Debian 12 packages Portcullis needs.
#
#   scripts/install-deps.sh run    build and run
#   scripts/install-deps.sh test   build, run, and every test (sanitizers,
#                                  fuzzing, integration tests)
#
# Idempotent: when every package is already installed, apt is not touched
# (no apt-get update), so reruns take a fraction of a second.  Used by
# setup-run.sh and setup-test.sh; runs apt-get through sudo when not root.
set -euo pipefail

what=${1:-test}

# Build: compiler, autotools, and the five libraries (libev, OpenSSL 3,
# PCRE2, zlib, libmaxminddb).  git gives `portcullis -V` its commit.
run_pkgs=(
    build-essential autoconf automake libtool pkg-config git
    libev-dev libssl-dev libpcre2-dev libmaxminddb-dev zlib1g-dev
    curl
)
# Tests: clang + compiler-rt for libFuzzer and the sanitizers; Perl and
# the modules t/*.t use (Test::More is part of perl); curl and openssl as
# clients and certificate makers; procps (ps, pgrep -P) to inspect the
# master and its workers; netbase (/etc/protocols, /etc/services) for Perl
# sockets on minimal systems.
test_pkgs=(
    clang libclang-rt-14-dev
    perl libio-socket-ssl-perl libmaxmind-db-writer-perl
    openssl procps netbase
)

case $what in
run)  pkgs=("${run_pkgs[@]}") ;;
test) pkgs=("${run_pkgs[@]}" "${test_pkgs[@]}") ;;
*)    echo "usage: $0 run|test" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#pkgs[@]} packages already installed"
    exit 0
fi
echo "deps: installing ${missing[*]}"

sudo=()
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "deps: run as root (or install sudo)" >&2; exit 1; }
    sudo=(sudo)
fi

# Keep package installs from starting daemons (there may be no init system;
# nothing should start listening while we build).  Only a policy-rc.d that
# this script created is removed again.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    created_policy=1
fi
cleanup() { if [ $created_policy = 1 ]; then "${sudo[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}"
echo "deps: done"
