#!/bin/sh
# bench/setup.sh -- install what the benchmarks compare against and measure with.
set -e
[ "$(id -u)" = 0 ] && SUDO= || SUDO=sudo
if ! command -v nginx >/dev/null || ! command -v haproxy >/dev/null || ! command -v wrk >/dev/null \
   || ! command -v valgrind >/dev/null || ! command -v strace >/dev/null; then
    # keep the packaged daemons from starting on :80 during install
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y nginx-light haproxy wrk valgrind strace iproute2
fi
