#!/usr/bin/env bash
# bench/tls.sh -- TLS 1.3 handshakes with a REQUIRED client certificate
# (ECDSA P-256 everywhere), Portcullis and nginx side by side, 1 worker each:
# the server's CPU (worker utime + stime) per full and per resumed handshake,
# medians over alternated rounds, and the ratio Portcullis / nginx.
#
#   bench/tls.sh [TARGET...]        TARGET: portcullis nginx (default: both)
#
# Clients are `openssl s_time` (-new: every connection a full handshake;
# -reuse: every connection resumes with the previous session ticket).  Each
# connection sends "GET /", proxied to the origin, so that the client reads
# the ticket.  Certificates are made under RUNDIR and thrown away.
# Knobs: ROUNDS=3 DURATION=5 MODES="new reuse" TLS_PORT=18443 PC_BIN NGINX_BIN
# (and lib.sh's BACKEND_PORT1/2).
set -u
: "${TLS_PORT:=18443}"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
: "${ROUNDS:=3}" "${DURATION:=5}" "${MODES:=new reuse}"
TARGETS=("$@"); [ ${#TARGETS[@]} -gt 0 ] || TARGETS=(portcullis nginx)
[ -x "$PC_BIN" ] || die "no portcullis binary at $PC_BIN (build first or set PC_BIN)"
CERTS="$RUNDIR/certs"
RES="$RUNDIR/tls.tsv"

make_certs() {
    local who cn
    mkdir -p "$CERTS" && cd "$CERTS" || die "no $CERTS"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key
    openssl req -x509 -new -key ca.key -sha256 -days 2 -subj "/CN=bench CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" -out ca.crt
    for who in server client; do
        cn=$who; [ $who = server ] && cn=localhost
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $who.key
        openssl req -new -key $who.key -subj "/CN=$cn" -out $who.csr
        printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n' \
            "$([ $who = server ] && echo serverAuth || echo clientAuth)" >$who.ext
        [ $who = server ] && echo 'subjectAltName=DNS:localhost,IP:127.0.0.1' >>$who.ext
        openssl x509 -req -in $who.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
            -sha256 -extfile $who.ext -out $who.crt 2>/dev/null
    done
    cd - >/dev/null || true
}

# The TLS server block, the same for both (nginx syntax, which Portcullis reads).
tls_server() {
    cat <<EOF
    upstream backend { server 127.0.0.1:$BACKEND_PORT1; server 127.0.0.1:$BACKEND_PORT2; keepalive 64; }
    server {
        listen 127.0.0.1:$TLS_PORT ssl;
        ssl_protocols TLSv1.3;
        ssl_certificate $CERTS/server.crt;
        ssl_certificate_key $CERTS/server.key;
        ssl_client_certificate $CERTS/ca.crt;
        ssl_verify_client on;
        ssl_session_tickets on;
        $1
        location / { proxy_pass http://backend; $2 }
    }
EOF
}

tls_start() {
    local t=$1 conf="$RUNDIR/$1-tls.conf"
    (exec 3<>"/dev/tcp/127.0.0.1/$TLS_PORT") 2>/dev/null && die "port $TLS_PORT is already in use"
    case $t in
    portcullis)
        printf 'worker_processes 1;\nerror_log %s/pc.error.log warn;\nevents { }\nhttp {\n    access_log off;\n%s\n}\n' \
            "$RUNDIR" "$(tls_server '' '')" >"$conf"
        spawn pc-tls "$PC_BIN" -p "$RUNDIR/" -c "$conf" ;;
    nginx)
        printf 'worker_processes 1;\npid %s/nginx-tls.pid;\nevents { }\nhttp {\n    access_log off;\n%s\n}\n' \
            "$RUNDIR" "$(tls_server 'ssl_session_cache shared:TLS:10m;' \
                         'proxy_http_version 1.1; proxy_set_header Connection "";')" >"$conf"
        spawn nginx-tls "$NGINX_BIN" -p "$RUNDIR" -c "$conf" -e "$RUNDIR/nginx.error.log" \
            -g 'daemon off; master_process on;' ;;
    *) die "unknown target $t" ;;
    esac
    TARGET_PID=$SPAWNED
    wait_port "$TLS_PORT"
}

# mTLS works, and a client without a certificate is refused.
sanity() {
    local curl=(curl -s -o /dev/null -w '%{http_code}' --resolve "localhost:$TLS_PORT:127.0.0.1"
                --cacert "$CERTS/ca.crt")
    [ "$("${curl[@]}" --cert "$CERTS/client.crt" --key "$CERTS/client.key" \
          "https://localhost:$TLS_PORT/")" = 200 ] || die "$1: mTLS request failed"
    [ "$("${curl[@]}" "https://localhost:$TLS_PORT/")" != 200 ] || die "$1: accepted a client without certificate"
}

# measure TARGET MODE ROUND: one s_time run, one TSV row.
measure() {
    local t=$1 mode=$2 r=$3 out="$RUNDIR/stime.$1.$2.$3" wp c0 c1 n res
    wp=$(work_pid); c0=$(cpu_ticks "$wp")
    timeout $((DURATION + 30)) openssl s_time -connect "127.0.0.1:$TLS_PORT" "-$mode" \
        -time "$DURATION" -cert "$CERTS/client.crt" -key "$CERTS/client.key" \
        -CAfile "$CERTS/ca.crt" -www / -tls1_3 >"$out" 2>&1
    c1=$(cpu_ticks "$wp")
    n=$(awk '/connections in .* real seconds/ {n = $1} END {print n + 0}' "$out")
    [ "$n" -gt 0 ] || { cat "$out" >&2; die "$t $mode: no connection"; }
    res=$(grep -E '^[*rt3]+$' "$out" | tr -cd 'r' | wc -c)
    awk -v t="$t" -v m="$mode" -v r="$r" -v n="$n" -v c=$((c1 - c0)) -v hz="$CLK_TCK" -v res="$res" \
        'BEGIN { printf "%s\t%s\t%s\t%d\t%.1f\t%.1f\n", t, m, r, n, c / hz * 1e6 / n, 100 * res / n }' |
        tee -a "$RES" | awk -F'\t' '{printf "RUN %-10s %-5s round=%s handshakes=%-6s server_cpu_us/hs=%-8s resumed=%s%%\n", $1, $2, $3, $4, $5, $6}'
}

work_pid() {
    local kid; kid=$(children "$TARGET_PID" | head -1)
    echo "${kid:-$TARGET_PID}"
}

make_certs 2>/dev/null
backend_start
log "rundir $RUNDIR; $(openssl version); targets ${TARGETS[*]}; modes $MODES; ${DURATION}s x $ROUNDS rounds"
n=${#TARGETS[@]}
for ((r = 1; r <= ROUNDS; r++)); do
    for ((k = 0; k < n; k++)); do
        t=${TARGETS[$(((k + r - 1) % n))]}
        tls_start "$t"
        [ "$r" = 1 ] && sanity "$t"
        for mode in $MODES; do measure "$t" "$mode" "$r"; done
        stop_pid "$TARGET_PID"
        sleep 0.2
    done
done

echo
echo "SUMMARY TLS 1.3 + required client certificate (ECDSA P-256), medians over $ROUNDS rounds"
sort -t$'\t' -k2,2 -k1,1 -k5,5n "$RES" | awk -F'\t' '
    { k = $2 SUBSEP $1; v[k, ++cnt[k]] = $5; res[k] = $6; modes[$2] = 1; tg[$1] = 1 }
    END {
        printf "%-6s %-11s %15s %12s %9s\n", "mode", "target", "srv_cpu_us/hs", "hs/srv_core_s", "vs_nginx"
        for (m in modes) for (t in tg) {
            k = m SUBSEP t; c = cnt[k]; if (!c) continue
            med[k] = c % 2 ? v[k, (c + 1) / 2] : (v[k, c / 2] + v[k, c / 2 + 1]) / 2
        }
        for (m in modes) for (t in tg) {
            k = m SUBSEP t; if (!(k in med)) continue
            ratio = (m SUBSEP "nginx") in med ? sprintf("%.2fx", med[k] / med[m SUBSEP "nginx"]) : "-"
            printf "%-6s %-11s %15.1f %12.0f %9s\n", m, t, med[k], 1e6 / med[k], ratio
        }
    }'
