#!/usr/bin/env bash
# bench/run.sh -- Portcullis side by side with nginx and HAProxy (Debian
# packages), same origin, 1 worker each, on loopback.  Prints medians over
# alternated rounds, the spread, and ratios to Portcullis.
#
#   bench/run.sh proxy  [TARGET...]  req/s, p50, p99, worker CPU us/request (wrk -t1, CONNS)
#   bench/run.sh mb     [TARGET...]  MB/s for 1 MB responses
#   bench/run.sh newconn [TARGET...] req/s with a new client connection per request
#   bench/run.sh idle   [TARGET...]  worker RSS per idle keep-alive client connection
#   bench/run.sh quick  [TARGET...]  user instructions/request (callgrind) and syscalls/request (strace)
#   bench/run.sh tls    [TARGET...]  mTLS full and resumed handshakes: server CPU each (bench/tls.sh;
#                                    TARGET: portcullis nginx)
#   bench/run.sh all                 everything above (quick with and without the access log)
# TARGET: portcullis nginx haproxy, "+log" for the access-log variant (default:
# portcullis nginx haproxy); for "proxy", also floor and floor-lt: a relay
# with no HTTP work at all (bench/tools/floor.c), the kernel's floor for any
# proxy on this machine.  Knobs: ROUNDS=3 DURATION=10 WARMUP=2 CONNS="64 256"
# IDLE_CONNS=5000 N=2000 UPSTREAM_KEEPALIVE=64 PC_BIN=src/portcullis.  Needs: nginx haproxy wrk
# valgrind strace (bench/setup.sh installs them).
# WORKER_NICE=-5 renices every target's worker alike (as systemd's Nice=
# would; Portcullis's worker_priority and nginx's are the same setpriority):
# on a machine where the client and the origin share the proxy's cores, the
# proxy then loses its core to them less often.  PIN=1 goes further: the
# proxy's worker alone on CPU 0, the origin and wrk on CPU 1 (PIN_PROXY,
# PIN_OTHERS), which shows each proxy's own latency, without the
# scheduler's choices of who shares a core with whom.
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

: "${ROUNDS:=3}" "${DURATION:=10}" "${WARMUP:=2}" "${CONNS:=64 256}"
# Idle upstream connections nginx and Portcullis keep (HAProxy's http-reuse
# always keeps all).  64 is ../shared/bench's figure; with 256 client
# connections that pool is too small for the bursts, and both proxies then
# connect anew for a good part of the requests.  UPSTREAM_KEEPALIVE=256
# sizes it for the load.
: "${UPSTREAM_KEEPALIVE:=64}"
export UPSTREAM_KEEPALIVE
: "${WORKER_NICE:=}"
: "${IDLE_CONNS:=5000}" "${N:=2000}"
MODE=${1:-proxy}; shift || true
TARGETS=("$@"); [ ${#TARGETS[@]} -gt 0 ] || TARGETS=(portcullis nginx haproxy)
TLS_TARGETS=("$@"); [ ${#TLS_TARGETS[@]} -gt 0 ] || TLS_TARGETS=(portcullis nginx)
[ -x "$PC_BIN" ] || die "no portcullis binary at $PC_BIN (build first or set PC_BIN)"
RES="$RUNDIR/results.tsv"

# wrk_run PORT CONNS SECS OUT [ARGS...]
wrk_run() {
    local port=$1 c=$2 d=$3 out=$4; shift 4
    timeout $((d + 30)) $(pinned) wrk -t1 -c"$c" -d"${d}s" --latency "$@" "http://127.0.0.1:$port${WRK_PATH:-/}" >"$out" 2>&1
}
wrk_rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
wrk_reqs() { awk '/requests in/ {print $1}' "$1"; }
wrk_pct() { awk -v p="$2" '$1 == p {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' "$1"; }
wrk_errs() { awk '/Non-2xx|Socket errors/ {e=1} END {print e+0}' "$1"; }

# One measured wrk run of target t: prints a TSV row into $RES.
measure() {
    local t=$1 c=$2 r=$3 label=$4; shift 4
    local out="$RUNDIR/wrk.$t.$c.$r" w0 w1 wp reqs
    [ "$WARMUP" -gt 0 ] && wrk_run "$PROXY_PORT" "$c" "$WARMUP" "$out.warm" "$@"
    wp=$(work_pid); w0=$(cpu_ticks "$wp") s0=$(sys_ticks "$wp") x0=$(ctx_switches "$wp")
    wrk_run "$PROXY_PORT" "$c" "$DURATION" "$out" "$@"
    w1=$(cpu_ticks "$wp") s1=$(sys_ticks "$wp") x1=$(ctx_switches "$wp"); reqs=$(wrk_reqs "$out")
    # columns: label target conns req/s p50 p99 cpu_us/req errors
    # kernel-share-% context-switches-per-1000-requests
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$t" "$c" "$(wrk_rps "$out")" \
        "$(wrk_pct "$out" 50%)" "$(wrk_pct "$out" 99%)" \
        "$(awk -v w=$((w1 - w0)) -v hz="$CLK_TCK" -v n="${reqs:-1}" 'BEGIN {printf "%.2f", w / hz * 1e6 / (n ? n : 1)}')" \
        "$(wrk_errs "$out")" \
        "$(awk -v w=$((w1 - w0)) -v s=$((s1 - s0)) 'BEGIN {printf "%.0f", w ? s * 100 / w : 0}')" \
        "$(awk -v x=$((x1 - x0)) -v n="${reqs:-1}" 'BEGIN {printf "%.2f", x * 1000 / (n ? n : 1)}')" >>"$RES"
    tail -1 "$RES" | awk -F'\t' '{printf "RUN %-8s %-15s c=%-4s req/s=%-9s p50=%-7s p99=%-7s cpu_us/req=%-6s sys=%s%% ctxsw/kreq=%-6s errors=%s\n", $1,$2,$3,$4,$5,$6,$7,$9,$10,$8}'
}

rounds() {   # rounds LABEL CONNS WRKARGS...
    local label=$1 conns=$2 r k t n=${#TARGETS[@]} c; shift 2
    for ((r = 1; r <= ROUNDS; r++)); do
        for ((k = 0; k < n; k++)); do
            t=${TARGETS[$(((k + r - 1) % n))]}
            start_target "$t" bench
            [ -n "$WORKER_NICE" ] && renice -n "$WORKER_NICE" -p "$(work_pid)" >/dev/null
            pin_tree "$(work_pid)" "$PIN_PROXY"
            for c in $conns; do measure "$t" "$c" "$r" "$label" "$@"; done
            stop_target
        done
    done
}

summary() {
    perl -e '
        my (%g, @order);
        while (<STDIN>) { chomp; my @f = split /\t/; my $k = "$f[0]\t$f[2]\t$f[1]";
            push @order, $k unless $g{$k}; push @{$g{$k}}, [@f]; }
        sub med { my @v = sort { $a <=> $b } @_; my $n = @v; $n % 2 ? $v[$n/2] : ($v[$n/2-1] + $v[$n/2]) / 2 }
        my %pc;
        for my $k (@order) { my ($l, $c, $t) = split /\t/, $k; $pc{"$l\t$c"} = med(map { $_->[3] } @{$g{$k}}) if $t eq "portcullis"; }
        printf "\n%-8s %-15s %5s %10s %7s %8s %8s %10s %5s %10s %9s %s\n", qw(test target conns req/s spread p50_ms p99_ms cpu_us/req sys% ctxsw/kreq vs_pc errors);
        for my $k (sort { (split /\t/, $a)[0] cmp (split /\t/, $b)[0] || (split /\t/, $a)[1] <=> (split /\t/, $b)[1] } @order) {
            my ($l, $c, $t) = split /\t/, $k; my @r = @{$g{$k}};
            my $m = med(map { $_->[3] } @r); my @v = sort { $a <=> $b } map { $_->[3] } @r;
            my $pcm = $pc{"$l\t$c"};
            my $errs = grep { $_->[7] } @r;
            printf "%-8s %-15s %5s %10.0f %6.1f%% %8.3f %8.3f %10.2f %5.0f %10.2f %9s %s\n", $l, $t, $c, $m,
                $m ? ($v[-1] - $v[0]) / $m * 100 : 0, med(map { $_->[4] } @r), med(map { $_->[5] } @r),
                med(map { $_->[6] } @r), med(map { $_->[8] // 0 } @r), med(map { $_->[9] // 0 } @r),
                $pcm ? sprintf("%.2f", $m / $pcm) : "-",
                $errs ? "$errs/" . scalar(@r) . " rounds had non-2xx or socket errors: not comparable" : "0";
        }
        print "vs_pc = req/s relative to portcullis (MB/s for test \"mb\"); spread = (max-min)/median over rounds\n";
        print "sys% = kernel share of the worker CPU; ctxsw/kreq = the worker\x27s context switches per 1000 requests\n";
    ' <"$RES"
}

do_proxy() { rounds proxy "$CONNS"; }
do_newconn() { rounds newconn 64 -H "Connection: close"; }

do_idle() {
    local t wp r0 r1 held
    for t in "${TARGETS[@]}"; do
        start_target "$t" bench
        timeout 120 perl "$BENCH_DIR/tools/client.pl" --port "$PROXY_PORT" --conns 8 --requests 2000 >/dev/null \
            || die "warm-up failed for $t"
        sleep 1
        wp=$(work_pid); r0=$(rss_kb "$wp")
        spawn idle perl "$BENCH_DIR/tools/client.pl" --port "$PROXY_PORT" --conns "$IDLE_CONNS" --idle --hold 60
        for ((i = 0; i < 600; i++)); do grep -q READY "$RUNDIR/idle.out" 2>/dev/null && break; sleep 0.1; done
        grep -q READY "$RUNDIR/idle.out" || die "idle client for $t not ready: $(cat "$RUNDIR/idle.err")"
        sleep 1
        r1=$(rss_kb "$wp")
        held=$(ss -Htn state established "( sport = :$PROXY_PORT )" | wc -l)
        printf 'IDLE %-12s conns=%-5s held=%-5s VmRSS %s kB -> %s kB => %s B/conn\n' "$t" "$IDLE_CONNS" "$held" "$r0" "$r1" \
            "$(( (r1 - r0) * 1024 / (held > 0 ? held : 1) ))"
        stop_pid "$SPAWNED"
        stop_target
    done
}

# Total calls in a `strace -c` summary.
syscalls() { awk '/^-+ / {s++; next} s == 1 && $NF != "total" {n += ($4 ~ /^[0-9]+$/) ? $4 : $3} END {print n+0}' "$1"; }

do_quick() {
    local t ir0 irn f sc
    command -v valgrind >/dev/null || die "valgrind not installed"
    for t in "${TARGETS[@]}"; do
        for n in 0 "$N"; do
            rm -f "$RUNDIR"/cg.*
            start_target "$t" single valgrind --tool=callgrind --callgrind-out-file="$RUNDIR/cg.%p"
            [ "$n" -gt 0 ] && { perl "$BENCH_DIR/tools/client.pl" --port "$PROXY_PORT" --conns 8 --requests "$n" >/dev/null || die "client failed ($t)"; }
            stop_target; sleep 0.5
            ir=0; for f in "$RUNDIR"/cg.*; do ir=$((ir + $(awk '/^(totals|summary):/ {v=$2} END {print v+0}' "$f"))); done
            [ "$n" = 0 ] && ir0=$ir || irn=$ir
        done
        # Syscalls as ../shared/bench counts them: the worker, warmed up
        # (connections open), strace attached for exactly N requests.
        start_target "$t" bench
        perl "$BENCH_DIR/tools/client.pl" --port "$PROXY_PORT" --conns 8 --requests 500 >/dev/null \
            || die "warm-up failed ($t)"
        spawn strace strace -c -f -o "$RUNDIR/strace.$t" -p "$(work_pid)"
        sleep 1
        perl "$BENCH_DIR/tools/client.pl" --port "$PROXY_PORT" --conns 8 --requests "$N" >/dev/null \
            || die "client failed ($t)"
        kill -INT "$SPAWNED"; wait "$SPAWNED" 2>/dev/null
        stop_target
        sc=$(syscalls "$RUNDIR/strace.$t")
        printf 'QUICK %-15s instructions/request=%-8s syscalls/request=%s\n' "$t" \
            "$(( (irn - ir0) / N ))" "$(awk -v s="$sc" -v n="$N" 'BEGIN {printf "%.2f", s / n}')"
    done
}

backend_start
case $MODE in
proxy) do_proxy; summary ;;
newconn) do_newconn; summary ;;
mb) WRK_PATH=/1m rounds mb 16; summary; echo "(mb: 1 MiB responses, so req/s = MiB/s)" ;;
idle) do_idle ;;
quick) do_quick ;;
tls) stop_pid "$BACKEND_PID"; bash "$BENCH_DIR/tls.sh" "${TLS_TARGETS[@]}" ;;
all) do_proxy; do_newconn; WRK_PATH=/1m rounds mb 16; summary; do_idle
     TARGETS=(portcullis portcullis+log nginx nginx+log haproxy); do_quick
     stop_pid "$BACKEND_PID"; bash "$BENCH_DIR/tls.sh" portcullis nginx ;;
*) die "unknown mode $MODE" ;;
esac
