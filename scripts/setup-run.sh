#!/usr/bin/env bash
# setup-run.sh -- install dependencies, build, and run Portcullis in the
# foreground on conf/portcullis.conf, with this checkout as its prefix
# (logs/ here), listening on http://127.0.0.1:8080/.  Ctrl-C stops it.
#
# Extra arguments go to portcullis (e.g. `-c conf/examples/minimal.conf`
# replaces the configuration; paths are relative to this checkout).
# Builds in build/run/ (JOBS: parallel jobs, default the number of CPUs).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
B=$ROOT/build/run

bash scripts/install-deps.sh run

if [ -f config.status ]; then
    echo "source tree is configured in place: cleaning it for the build in build/run"
    make distclean >/dev/null 2>&1 || rm -f config.status
fi
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
    autoreconf -fi
fi
if [ ! -f "$B/config.status" ] || [ configure -nt "$B/config.status" ]; then
    mkdir -p "$B"
    (cd "$B" && "$ROOT/configure" >configure.log) ||
        { tail -n 30 "$B/configure.log"; exit 1; }
fi
make -C "$B" -j"$JOBS"

args=(-p "$ROOT/")
case " $* " in *" -c "*) ;; *) args+=(-c conf/portcullis.conf) ;; esac
args+=("$@")

mkdir -p logs
"$B/src/portcullis" -t "${args[@]}"

# The demo backend behind /api/ (stopped with us: it is our child).
perl conf/demo-backend.pl 9001 demo >logs/demo-backend.log 2>&1 &
DEMO_PID=$!
trap 'kill "$DEMO_PID" 2>/dev/null' EXIT INT TERM

cat <<MSG

Portcullis runs in the foreground (Ctrl-C stops it; logs in $ROOT/logs/).
  curl http://127.0.0.1:8080/            welcome page
  curl http://127.0.0.1:8080/healthz     health check
  curl http://127.0.0.1:8080/api/hello   proxied to the demo backend (127.0.0.1:9001)
  curl -i http://127.0.0.1:8080/nope     a JSON error (404)
Reload after editing conf/portcullis.conf, from another terminal:
  $B/src/portcullis -p $ROOT/ -s reload

MSG
# Not exec: the trap must stop the demo backend when Portcullis exits.
"$B/src/portcullis" "${args[@]}"
