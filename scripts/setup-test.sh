#!/usr/bin/env bash
# setup-test.sh -- install dependencies, build, and run every test.  This is
# what CI runs (.ci/run).  Steps, each in its own build directory under
# build/ (VPATH builds; the source tree stays clean):
#
#   lint      build-aux/check-style, check-directives, check-sources
#   release   gcc -O2 --enable-werror: build, make check (unit tests + fuzz
#             corpus replay), `portcullis -t` on every shipped config,
#             prove -r t/ against the binary
#   asan      gcc --enable-sanitizers (ASan + UBSan): build, make check,
#             prove -r t/; any sanitizer report, even from a worker whose
#             crash the master survived, fails the step
#   fuzz      clang --enable-fuzz: every libFuzzer target for FUZZ_SECONDS
#             (default 60) on a copy of its corpus; any crash fails
#   distcheck make distcheck (tarball builds, tests, installs, uninstalls)
#
# Environment: FUZZ_SECONDS (60), JOBS (CPUs), PROVE_JOBS (1),
# SKIP_ASAN=1, SKIP_FUZZ=1, SKIP_DISTCHECK=1 (to iterate faster; CI runs all).
# Prints a summary; exits non-zero if any step failed.  The last line
# counts test cases (unit TAP points, fuzz replays, prove subtests) and
# counts a step that failed outside a test (a build error) as one failure.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1

JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
PROVE_JOBS=${PROVE_JOBS:-1}
export FUZZ_SECONDS=${FUZZ_SECONDS:-60}
BUILD=$ROOT/build
START=$(date +%s)

steps=()          # "STATUS|NAME|SECONDS|NOTE"
tests_passed=0
tests_failed=0
extra_failed=0

say() { printf '\n\033[1m==== %s\033[0m\n' "$*"; }

# record NAME STATUS STARTED [NOTE [KIND]] -- KIND "tests": the failures
# were counted as test cases already.
record() {
    local secs=$(( $(date +%s) - $3 ))
    steps+=("$2|$1|${secs}s|${4:-}")
    if [ "$2" = FAIL ] && [ "${5:-}" != tests ]; then
        extra_failed=$((extra_failed + 1))
    fi
}

# Count TAP points of a make check run (automake's test-suite.log totals).
count_check() {
    local log=$1/test-suite.log p f e x
    [ -f "$log" ] || return 0
    p=$(sed -n 's/^# PASS: *//p' "$log" | head -n1)
    x=$(sed -n 's/^# XPASS: *//p' "$log" | head -n1)
    f=$(sed -n 's/^# FAIL: *//p' "$log" | head -n1)
    e=$(sed -n 's/^# ERROR: *//p' "$log" | head -n1)
    tests_passed=$((tests_passed + ${p:-0}))
    tests_failed=$((tests_failed + ${f:-0} + ${e:-0} + ${x:-0}))
}

# Count prove's subtests from its output.
count_prove() {
    local out=$1 rc=$2 total failed
    total=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$out" | tail -n1)
    failed=$(sed -n 's/.*Failed \([0-9]*\)\/[0-9]* subtests.*/\1/p' "$out" |
             awk '{ s += $1 } END { print s + 0 }')
    total=${total:-0}
    if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
    tests_passed=$((tests_passed + total - (failed > total ? total : failed)))
    tests_failed=$((tests_failed + failed))
}

# configure_in DIR ARGS... -- (re)configure a VPATH build directory.
configure_in() {
    local dir=$1; shift
    mkdir -p "$dir"
    if ! (cd "$dir" && "$ROOT/configure" "$@" >configure.log 2>&1); then
        echo "configure failed in $dir ($*):"
        tail -n 40 "$dir/configure.log"
        return 1
    fi
    echo "configured $dir: $*"
}

# make_check DIR -- unit tests and fuzz corpus replay.  Each passing TAP
# point prints a PASS line; only the rest is shown (all of it is in
# DIR/check.out and DIR/test-suite.log).
make_check() {
    local rc p f
    rm -f "$1/test-suite.log"    # never count a previous run's results
    make -C "$1" -j"$JOBS" check >"$1/check.out" 2>&1
    rc=$?
    grep -v '^PASS: ' "$1/check.out" | grep -vE '^make\[[0-9]+\]: (Entering|Leaving|.* is up to date)'
    grep '^PASS: fuzz_' "$1/check.out"
    count_check "$1"
    p=$(grep -c '^PASS: fuzz_.*corpus replay' "$1/check.out")
    f=$(grep -c '^FAIL: fuzz_.*corpus replay' "$1/check.out")
    tests_passed=$((tests_passed + p))
    tests_failed=$((tests_failed + f))
    if [ $rc != 0 ]; then
        [ -f "$1/test-suite.log" ] && cat "$1/test-suite.log"
        return 1
    fi
    return 0
}

# run_prove BIN OUT -- integration tests against BIN, output also in OUT.
run_prove() {
    local bin=$1 out=$2 rc
    if ! ls t/*.t >/dev/null 2>&1 && [ -z "$(find t -name '*.t' 2>/dev/null)" ]; then
        echo "prove: no t/*.t yet" | tee "$out"
        return 0
    fi
    PORTCULLIS_BIN=$bin prove -I t/lib -r -j"$PROVE_JOBS" --timer t/ 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    count_prove "$out" "$rc"
    return "$rc"
}

# conf_check BIN -- every shipped configuration passes -t.
conf_check() {
    local bin=$1 tmp f rc=0
    tmp=$(mktemp -d)
    mkdir -p "$tmp/logs"
    for f in conf/portcullis.conf conf/examples/*.conf; do
        [ -f "$f" ] || continue
        if "$bin" -t -p "$tmp/" -c "$ROOT/$f" >"$tmp/out" 2>&1; then
            echo "ok: portcullis -t $f"
            tests_passed=$((tests_passed + 1))
        else
            echo "FAIL: portcullis -t $f"
            cat "$tmp/out"
            tests_failed=$((tests_failed + 1))
            rc=1
        fi
    done
    rm -rf "$tmp"
    return $rc
}

# ---------------------------------------------------------------------
say "dependencies"
t0=$(date +%s)
if bash "$ROOT/scripts/install-deps.sh" test; then
    record deps PASS "$t0"
else
    record deps FAIL "$t0"
    echo "cannot install dependencies"; exit 1
fi

say "autoreconf"
t0=$(date +%s)
if [ -f config.status ]; then
    # A configured source tree blocks VPATH builds; its outputs are
    # rebuildable, so clean them.
    echo "source tree is configured in place: make distclean there first"
    make distclean >/dev/null 2>&1 || rm -f config.status
fi
if autoreconf -fi; then
    record autoreconf PASS "$t0"
else
    record autoreconf FAIL "$t0"; exit 1
fi

say "lint"
t0=$(date +%s)
lint=PASS
perl build-aux/check-style . || lint=FAIL
perl build-aux/check-directives . || lint=FAIL
sh build-aux/check-sources . || lint=FAIL
record lint $lint "$t0"

# ---------------------------------------------------------------------
say "release build (gcc -O2 -Werror)"
t0=$(date +%s)
REL=$BUILD/release
if configure_in "$REL" CC=gcc CFLAGS="-O2 -g" --enable-werror &&
   make -C "$REL" -j"$JOBS"; then
    record release:build PASS "$t0"
    "$REL/src/portcullis" -V || true

    say "release: make check"
    t0=$(date +%s)
    if make_check "$REL"; then record release:check PASS "$t0"
    else record release:check FAIL "$t0" "" tests; fi

    say "release: shipped configurations"
    t0=$(date +%s)
    if conf_check "$REL/src/portcullis"; then record release:conf PASS "$t0"
    else record release:conf FAIL "$t0" "" tests; fi

    say "release: prove -r t/"
    t0=$(date +%s)
    if run_prove "$REL/src/portcullis" "$REL/prove.out"; then
        record release:prove PASS "$t0"
    else record release:prove FAIL "$t0" "" tests; fi
else
    record release:build FAIL "$t0"
fi

# ---------------------------------------------------------------------
if [ "${SKIP_ASAN:-0}" != 1 ]; then
    say "asan build (gcc, ASan + UBSan)"
    t0=$(date +%s)
    ASN=$BUILD/asan
    if configure_in "$ASN" CC=gcc CFLAGS="-O1 -g" --enable-sanitizers --enable-werror &&
       make -C "$ASN" -j"$JOBS"; then
        record asan:build PASS "$t0"
        # Leaks are errors; every finding aborts the process.
        export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
        export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
        export LSAN_OPTIONS=print_suppressions=0

        say "asan: make check"
        t0=$(date +%s)
        if make_check "$ASN"; then record asan:check PASS "$t0"
        else record asan:check FAIL "$t0" "" tests; fi

        say "asan: prove -r t/"
        t0=$(date +%s)
        # Reports go to files: a worker that dies of a finding is respawned
        # by the master and a test could still pass, so look for them.
        SAN=$ASN/sanitizer-reports
        rm -rf "$SAN"; mkdir -p "$SAN"
        ok=PASS
        ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$SAN/asan" \
        UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$SAN/ubsan" \
            run_prove "$ASN/src/portcullis" "$ASN/prove.out" || ok=FAIL
        if [ -n "$(ls -A "$SAN")" ]; then
            echo "sanitizer reports from the binary under test:"
            for f in "$SAN"/*; do echo "--- $f"; head -n 80 "$f"; done
            tests_failed=$((tests_failed + 1))
            ok=FAIL
        fi
        record asan:prove $ok "$t0" "" tests
        unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
    else
        record asan:build FAIL "$t0"
    fi
fi

# ---------------------------------------------------------------------
if [ "${SKIP_FUZZ:-0}" != 1 ]; then
    say "fuzz (clang, libFuzzer, ${FUZZ_SECONDS}s per target)"
    t0=$(date +%s)
    FZ=$BUILD/fuzz
    if configure_in "$FZ" CC=clang CFLAGS="-O1 -g" --enable-fuzz --enable-werror &&
       make -C "$FZ" -j"$JOBS"; then
        record fuzz:build PASS "$t0"
        t0=$(date +%s)
        out=$FZ/fuzz.out
        make -C "$FZ" fuzz-run 2>&1 | tee "$out"
        rc=${PIPESTATUS[0]}
        p=$(grep -c '^PASS: fuzz_' "$out")
        f=$(grep -c '^FAIL: fuzz_' "$out")
        tests_passed=$((tests_passed + p))
        tests_failed=$((tests_failed + f))
        if [ "$rc" = 0 ]; then record fuzz:run PASS "$t0"
        else
            [ "$f" = 0 ] && tests_failed=$((tests_failed + 1))
            record fuzz:run FAIL "$t0" "" tests
        fi
    else
        record fuzz:build FAIL "$t0"
    fi
fi

# ---------------------------------------------------------------------
if [ "${SKIP_DISTCHECK:-0}" != 1 ]; then
    say "make distcheck"
    t0=$(date +%s)
    # Its make check prints thousands of PASS lines: keep them in the file.
    out=$BUILD/distcheck.out
    if [ -f "$BUILD/release/Makefile" ] &&
       make -C "$BUILD/release" -j"$JOBS" distcheck >"$out" 2>&1; then
        grep -E '^(# (TOTAL|PASS|FAIL|ERROR):|PASS: fuzz_|portcullis-.* archives ready)' "$out"
        record distcheck PASS "$t0"
    else
        grep -v '^PASS: ' "$out" | tail -n 80
        record distcheck FAIL "$t0"
    fi
fi

# ---------------------------------------------------------------------
say "summary ($(( $(date +%s) - START ))s)"
failed_steps=0
for s in "${steps[@]}"; do
    IFS='|' read -r status name secs note <<<"$s"
    printf '  %-4s  %-16s %6s  %s\n' "$status" "$name" "$secs" "$note"
    [ "$status" = FAIL ] && failed_steps=$((failed_steps + 1))
done
if [ -f "$BUILD/release/prove.out" ]; then
    echo "  release prove: $(grep -E '^(Files=|Result:)' "$BUILD/release/prove.out" | tr '\n' ' ')"
fi
if [ -f "$BUILD/asan/prove.out" ]; then
    echo "  asan prove:    $(grep -E '^(Files=|Result:)' "$BUILD/asan/prove.out" | tr '\n' ' ')"
fi
echo "tests: $tests_passed passed, $((tests_failed + extra_failed)) failed"
[ $failed_steps = 0 ]
