# bench/lib.sh -- shared helpers for the side-by-side benchmarks.
# Everything binds 127.0.0.1 only; every server is started by these scripts
# and stopped by pid; every load run is bounded in time.
set -u
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$BENCH_DIR/.." && pwd)
: "${PC_BIN:=$TOP/src/portcullis}"
: "${NGINX_BIN:=/usr/sbin/nginx}"
: "${HAPROXY_BIN:=/usr/sbin/haproxy}"
: "${PROXY_PORT:=18180}"
: "${BACKEND_PORT1:=18181}"
: "${BACKEND_PORT2:=18182}"
: "${BODY_BYTES:=128}"
RUNDIR=$(mktemp -d /tmp/pcbench.XXXXXX)
mkdir -p "$RUNDIR/tmp" "$RUNDIR/logs"
BODY=$(head -c "$BODY_BYTES" /dev/zero | tr '\0' x)
CLK_TCK=$(getconf CLK_TCK)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
PIDS=()

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    sleep 0.3
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    [ "${KEEP_RUNDIR:-0}" = 1 ] || rm -rf "$RUNDIR"
}
trap cleanup EXIT

# render TEMPLATE OUT: replace @NAME@ with the value of shell variable NAME.
render() {
    local line out=$2
    perl -pe 's/@([A-Z_0-9]+)@/exists $ENV{$1} ? $ENV{$1} : die "unset $1\n"/ge' "$1" >"$out"
}
export RUNDIR BODY BODY_BYTES PROXY_PORT BACKEND_PORT1 BACKEND_PORT2

wait_port() {
    local i
    for ((i = 0; i < 100; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    die "port $1 did not open"
}

# spawn NAME CMD...: start in the background, remember the pid in SPAWNED.
spawn() {
    local name=$1; shift
    "$@" >"$RUNDIR/$name.out" 2>"$RUNDIR/$name.err" &
    SPAWNED=$!
    PIDS+=("$SPAWNED")
}

stop_pid() {
    local p=$1 i
    kill -TERM "$p" 2>/dev/null || return 0
    for ((i = 0; i < 200; i++)); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.05; done
    kill -KILL "$p" 2>/dev/null
}

children() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '; }

# cpu_ticks PID...: utime+stime of the processes, in clock ticks.
cpu_ticks() {
    local t=0 p
    for p in "$@"; do
        [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    done
    echo "$t"
}
# sys_ticks PID: stime alone; ctx_switches PID: voluntary + involuntary.
sys_ticks() { awk '{print $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
ctx_switches() { awk '/^(non)?voluntary_ctxt_switches:/ {n += $2} END {print n + 0}' "/proc/$1/status" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

backend_start() {
    head -c 1048576 /dev/urandom | base64 -w 76 | head -c 1048576 >"$RUNDIR/1m.bin"
    # nginx started as root serves files as its unprivileged user: the
    # mktemp directory (0700) would answer /1m with a 403.
    chmod 755 "$RUNDIR" && chmod 644 "$RUNDIR/1m.bin"
    render "$BENCH_DIR/conf/backend-nginx.conf.in" "$RUNDIR/backend.conf"
    spawn backend "$NGINX_BIN" -p "$RUNDIR" -c "$RUNDIR/backend.conf" -e "$RUNDIR/backend.error.log" \
        -g 'daemon off; master_process on;'
    BACKEND_PID=$SPAWNED
    wait_port "$BACKEND_PORT1"
    pin_tree "$BACKEND_PID" "$PIN_OTHERS"
}

# PIN=1: the proxy's worker on CPU $PIN_PROXY, the origin and wrk on
# $PIN_OTHERS, so that no proxy shares its core with the load it serves.
: "${PIN:=0}" "${PIN_PROXY:=0}" "${PIN_OTHERS:=1}"
# pin_tree PID CPUS: PID and its children (PIN=1 only).
pin_tree() {
    local p
    [ "$PIN" = 1 ] || return 0
    for p in "$1" $(children "$1"); do taskset -apc "$2" "$p" >/dev/null 2>&1; done
}
# The command prefix that pins a load generator (PIN=1 only).
pinned() { if [ "$PIN" = 1 ]; then echo "taskset -c $PIN_OTHERS"; fi; }

# start_target NAME MODE [WRAPPER...]: NAME = portcullis|nginx|haproxy[+log],
# or floor|floor-lt (bench/tools/floor.c: no HTTP work, edge- or
# level-triggered epoll); MODE = bench (master + 1 worker) | single (one
# process, for valgrind/strace).
start_target() {
    local t=$1 mode=$2; shift 2
    local base=${t%+log} logon=0 pm=on
    [ "$t" != "$base" ] && logon=1
    [ "$mode" = single ] && pm=off
    export MASTER=$pm
    # a server left over on the port would be measured instead: refuse
    (exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT") 2>/dev/null && die "port $PROXY_PORT is already in use"
    case $base in
    portcullis)
        if [ $logon = 1 ]; then export ACCESS_LOG="$RUNDIR/pc.access.log combined"; else export ACCESS_LOG=off; fi
        render "$BENCH_DIR/conf/portcullis.conf.in" "$RUNDIR/portcullis.conf"
        CMD=("$PC_BIN" -p "$RUNDIR/" -c "$RUNDIR/portcullis.conf") ;;
    nginx)
        if [ $logon = 1 ]; then export ACCESS_LOG="$RUNDIR/nginx.access.log"; else export ACCESS_LOG=off; fi
        render "$BENCH_DIR/conf/nginx.conf.in" "$RUNDIR/nginx.conf"
        CMD=("$NGINX_BIN" -p "$RUNDIR" -c "$RUNDIR/nginx.conf" -e "$RUNDIR/nginx.error.log"
             -g "daemon off; master_process $pm;") ;;
    haproxy)
        if [ $logon = 1 ]; then export HAPROXY_LOG="log stdout format raw local0
    option httplog"; else export HAPROXY_LOG="option dontlognull"; fi
        render "$BENCH_DIR/conf/haproxy.cfg.in" "$RUNDIR/haproxy.cfg"
        CMD=("$HAPROXY_BIN" -db -f "$RUNDIR/haproxy.cfg") ;;
    floor|floor-lt)
        # The kernel's floor (bench/tools/floor.c): a relay with no HTTP work.
        [ -x "$RUNDIR/floor" ] || "${CC:-cc}" -O2 -o "$RUNDIR/floor" "$BENCH_DIR/tools/floor.c" \
            || die "cannot build bench/tools/floor.c"
        local trig=et; [ "$base" = floor-lt ] && trig=lt
        CMD=("$RUNDIR/floor" "$PROXY_PORT" "$trig" "$BACKEND_PORT1" "$BACKEND_PORT2") ;;
    *) die "unknown target $t" ;;
    esac
    spawn "$base" "$@" "${CMD[@]}"
    TARGET_PID=$SPAWNED WRAPPER_PID=
    wait_port "$PROXY_PORT"
    # strace forks the server: signal the server itself, strace then exits
    # on its own and writes its summary.
    if [ "${1:-}" = strace ]; then
        WRAPPER_PID=$TARGET_PID
        TARGET_PID=$(children "$WRAPPER_PID" | head -1)
    fi
}

# The process doing the work: the worker for master/worker servers.
work_pid() {
    local kids; kids=$(children "$TARGET_PID" | head -1)
    if [ -n "$kids" ]; then echo "$kids"; else echo "$TARGET_PID"; fi
}

stop_target() {
    local i
    stop_pid "$TARGET_PID"
    if [ -n "${WRAPPER_PID:-}" ]; then
        for ((i = 0; i < 100; i++)); do kill -0 "$WRAPPER_PID" 2>/dev/null || break; sleep 0.05; done
    fi
    sleep 0.2
}
