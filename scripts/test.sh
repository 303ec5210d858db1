#!/usr/bin/env bash
# Full test suite of the autoencoder PostgreSQL extension.
#
#   bash scripts/test.sh          (as root, on Debian 12)
#
# 1. installs the packages it needs (apt-get), clang and libFuzzer included
# 2. builds the extension warning-free and installs it into PostgreSQL 15
#    (with clang present PGXS also compiles the LLVM bitcode for JIT: its
#    warnings count as well)
# 3. core unit tests:  make -C test check
# 4. sanitizers:       make -C test check-sanitize (every unit test program
#                      under ASan and UBSan)
# 5. fuzzing:          make -C test fuzz (model format, fit state format and
#                      fit options, $AE_FUZZ_SECONDS seconds each)
# 6. pg_regress:       make installcheck against a throwaway cluster run by
#                      the postgres user
# 7. quality:          test/quality.sql on Fashion-MNIST, same cluster
# 8. TAP tests:        make prove_installcheck (test/t/*.pl), as the postgres
#                      user; ../shared/citus and ../shared/pgvector (next to
#                      the repository) are built first when present
# After every suite that ran a server, its server logs are scanned: a line
# with "terminated by signal" or "PANIC" is a failure (suite "logs").
# The last line printed is "N passed, M failed" (tests of all suites).
set -euo pipefail

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

AE_SUITE_TIMEOUT="${AE_SUITE_TIMEOUT:-600}"
AE_FUZZ_SECONDS="${AE_FUZZ_SECONDS:-20}"
TOTAL_PASSED=0
TOTAL_FAILED=0
SUMMARY_LINES=()
CURRENT_STAGE="setup"

LAST_RECORD=$SECONDS

# record <suite> <passed> <failed> [note]; the summary line also shows the
# seconds since the previous record (the suite's own time, setup included).
record() {
    local suite=$1 p=$2 f=$3 note=${4:-}
    TOTAL_PASSED=$((TOTAL_PASSED + p))
    TOTAL_FAILED=$((TOTAL_FAILED + f))
    SUMMARY_LINES+=("$(printf '  %-8s passed=%-4d failed=%-4d %5ds  %s' "$suite" "$p" "$f" \
        "$((SECONDS - LAST_RECORD))" "$note")")
    LAST_RECORD=$SECONDS
    CURRENT_STAGE=""
}

# Runs on exit (from common.sh's EXIT trap, after the cluster is stopped):
# prints the summary; the final line is "N passed, M failed".
# shellcheck disable=SC2317  # called indirectly from the EXIT trap
ae_exit_hook() {
    local rc=$1
    if ((rc != 0)) && [[ -n "$CURRENT_STAGE" ]]; then
        record "$CURRENT_STAGE" 0 1 "(aborted, exit status $rc)"
    fi
    printf '\n==================================================================\n'
    printf '== Summary\n'
    printf '==================================================================\n'
    local l
    for l in "${SUMMARY_LINES[@]}"; do
        printf '%s\n' "$l"
    done
    printf '  total    %ds\n' "$SECONDS"
    if ((TOTAL_FAILED > 0)); then
        printf 'RESULT: FAILED\n'
    elif ((TOTAL_PASSED == 0)); then
        printf 'RESULT: NO TESTS RAN\n'
    else
        printf 'RESULT: OK\n'
    fi
    printf '%d passed, %d failed\n' "$TOTAL_PASSED" "$TOTAL_FAILED"
    if ((TOTAL_FAILED > 0 || TOTAL_PASSED == 0)); then
        ((rc != 0)) && return "$rc"
        return 1
    fi
    return "$rc"
}

# ---------------------------------------------------------------------------
CURRENT_STAGE="packages"
ae_section "Installing packages"
# libipc-run-perl: TAP tests; postgresql-15-cron: test/t/004_cron.pl;
# dataset-fashion-mnist: test/quality.sql; clang and libclang-rt-14-dev
# (libclang_rt.fuzzer-x86_64.a and the sanitizer runtimes of Debian 12's
# clang 14): the sanitizer and fuzzing suites
ae_install_packages "${AE_BASE_PKGS[@]}" libipc-run-perl postgresql-15-cron dataset-fashion-mnist \
    clang libclang-rt-14-dev
CURRENT_STAGE=""

# ---------------------------------------------------------------------------
CURRENT_STAGE="build"
ae_section "Building and installing the extension (warnings are errors)"
ae_build_install
if grep -n 'warning:' "$AE_BUILD_LOG" >"$AE_WORK/warnings.txt"; then
    printf '\nBuild printed %d warning line(s):\n' "$(wc -l <"$AE_WORK/warnings.txt")"
    cat "$AE_WORK/warnings.txt"
    # Keep going (the extension is installed) so the other suites still report.
    record build 0 1 "($(wc -l <"$AE_WORK/warnings.txt") compiler warning line(s))"
else
    record build 0 0 "(ok: warning-free, installed; not counted as a test)"
fi

# ---------------------------------------------------------------------------
# Sums the "N passed, M failed" lines of a log (one per test program); falls
# back to the exit status (1 passed or 1 failed) when the log has none.
count_generic() {
    local log=$1 rc=$2 p f
    read -r p f < <(sed -nE 's/^[[:space:]]*([0-9]+) passed, ([0-9]+) failed[[:space:]]*$/\1 \2/p' "$log" |
        awk '{p += $1; f += $2; n++} END {if (n) print p, f; else print "-", "-"}')
    if [[ $p == - ]]; then
        if ((rc == 0)); then p=1 f=0; else p=0 f=1; fi
    elif ((rc != 0 && f == 0)); then
        f=1
    fi
    printf '%s %s\n' "$p" "$f"
}

CURRENT_STAGE="core"
ae_section "Core unit tests: make -C test check"
make -C "$AE_ROOT/test" clean >/dev/null 2>&1 || true # rebuild from scratch
set +e
timeout "$AE_SUITE_TIMEOUT" make -C "$AE_ROOT/test" PG_CONFIG="$AE_PG_CONFIG" check 2>&1 |
    tee "$AE_WORK/core.log"
rc=${PIPESTATUS[0]}
set -e
read -r p f < <(count_generic "$AE_WORK/core.log" "$rc")
if ((rc == 124)); then
    record core "$p" "$f" "(timed out after ${AE_SUITE_TIMEOUT}s)"
else
    record core "$p" "$f" "(exit status $rc)"
fi

# run_make_suite <suite> <title> <make args...>: make -C test <args> as root,
# counted with count_generic (the programs' "N passed, M failed" lines).
run_make_suite() {
    local suite=$1 title=$2
    shift 2
    CURRENT_STAGE="$suite"
    ae_section "$title"
    set +e
    timeout "$AE_SUITE_TIMEOUT" make -C "$AE_ROOT/test" "$@" 2>&1 | tee "$AE_WORK/$suite.log"
    rc=${PIPESTATUS[0]}
    set -e
    read -r p f < <(count_generic "$AE_WORK/$suite.log" "$rc")
    if ((rc == 124)); then
        record "$suite" "$p" "$f" "(timed out after ${AE_SUITE_TIMEOUT}s)"
    else
        record "$suite" "$p" "$f" "(exit status $rc)"
    fi
}

# ---------------------------------------------------------------------------
run_make_suite sanitize "Core unit tests under ASan+UBSan: make -C test check-sanitize" \
    check-sanitize

# ---------------------------------------------------------------------------
# One line per fuzz target in the log: runs, executions per second, coverage.
run_make_suite fuzz "Fuzzing (libFuzzer, ASan+UBSan), ${AE_FUZZ_SECONDS}s per target: make -C test fuzz" \
    fuzz FUZZ_SECONDS="$AE_FUZZ_SECONDS"

# ---------------------------------------------------------------------------
# Server crashes.  scan_server_logs <suite> <skip> <file>...: every line of
# the files (past the first <skip> lines of each) with "terminated by signal"
# or "PANIC" is printed and counts one failure of the suite "logs"; a clean
# scan counts one pass.  A backend that a TAP test kills on purpose is not a
# crash: such a test prints "SIGKILL sent to backend <pid>" (see
# test/t/003_crash.pl), and "(PID <pid>) was terminated by signal 9" is then
# expected in the logs scanned with it.
scan_server_logs() {
    local suite=$1 skip=$2 f pids hits n=0
    shift 2
    if (($# == 0)); then
        record logs 0 0 "($suite: no server log found)"
        return 0
    fi
    pids="$(cat -- "$@" 2>/dev/null | sed -nE 's/.*SIGKILL sent to backend ([0-9]+).*/\1/p' |
        sort -u | paste -sd'|' -)"
    hits="$(for f in "$@"; do
        [[ -f $f ]] || continue
        awk -v skip="$skip" 'FNR > skip && /terminated by signal|PANIC/ { print FILENAME ":" FNR ": " $0 }' "$f"
    done)"
    if [[ -n $pids && -n $hits ]]; then
        hits="$(grep -vE "\(PID ($pids)\) was terminated by signal 9:" <<<"$hits" || true)"
    fi
    for f in "$@"; do [[ -f $f ]] && n=$((n + 1)); done
    if [[ -n $hits ]]; then
        ae_section "Server crash in the logs of $suite"
        printf '%s\n' "$hits"
        record logs 0 1 "($suite: $(wc -l <<<"$hits") line(s) with 'terminated by signal' or 'PANIC' in $n server log(s))"
    else
        record logs 1 0 "($suite: no 'terminated by signal' or 'PANIC' in $n server log(s))"
    fi
}

CURRENT_STAGE="regress"
ae_section "pg_regress: make installcheck (as postgres, throwaway cluster)"
ae_stage_tree
ae_cluster_start
set +e
(
    cd "$AE_STAGE_DIR" &&
        timeout "$AE_SUITE_TIMEOUT" runuser -u "$AE_PG_USER" -- \
            make PG_CONFIG="$AE_PG_CONFIG" installcheck
) 2>&1 | tee "$AE_WORK/regress.log"
rc=${PIPESTATUS[0]}
set -e
p="" f=""
if line="$(grep -E '^ *All [0-9]+ tests passed' "$AE_WORK/regress.log")"; then
    p="$(sed -E 's/^ *All ([0-9]+) tests passed.*/\1/' <<<"$line")"
    f=0
elif line="$(grep -E '^ *[0-9]+ of [0-9]+ tests failed' "$AE_WORK/regress.log")"; then
    f="$(sed -E 's/^ *([0-9]+) of ([0-9]+) tests failed.*/\1/' <<<"$line")"
    p=$(($(sed -E 's/^ *([0-9]+) of ([0-9]+) tests failed.*/\2/' <<<"$line") - f))
fi
if [[ -z "$p" ]]; then
    if ((rc == 0)); then p=0 f=0; else p=0 f=1; fi
elif ((rc != 0 && f == 0)); then
    f=1
fi
if ((rc != 0)); then
    if [[ -s "$AE_STAGE_DIR/regression.diffs" ]]; then
        ae_section "regression.diffs"
        cat "$AE_STAGE_DIR/regression.diffs"
    fi
    ae_section "server log (tail)"
    ae_cluster_log | tail -n 100
fi
if ((p + f == 0)); then
    record regress 0 0 "(no regression tests found)"
else
    record regress "$p" "$f" "(exit status $rc)"
fi
server_log="$AE_CLUSTER_DIR/server.log"
scan_server_logs regress 0 "$server_log"
regress_log_lines=$(wc -l <"$server_log")
CURRENT_STAGE="regress"

# ---------------------------------------------------------------------------
# Fashion-MNIST quality targets (deterministic: fixed seeds and thread count).
CURRENT_STAGE="quality"
ae_section "Quality on Fashion-MNIST: test/quality.sql"
ae_load_fmnist
set +e
timeout "$AE_SUITE_TIMEOUT" runuser -u "$AE_PG_USER" -- \
    "$AE_PG_BIN/psql" -X -v ON_ERROR_STOP=1 -f "$AE_STAGE_DIR/test/quality.sql" 2>&1 |
    tee "$AE_WORK/quality.log"
rc=${PIPESTATUS[0]}
set -e
p=$(grep -c '^PASS ' "$AE_WORK/quality.log" || true)
f=$(grep -c '^FAIL ' "$AE_WORK/quality.log" || true)
if ((rc != 0 && f == 0)); then f=1; fi
if ((p + f == 0)); then f=1; fi
record quality "$p" "$f" "(exit status $rc)"
ae_psql -q -c 'DROP TABLE IF EXISTS fmnist_train, fmnist_test;'
# stop the server first, so that its shutdown is in the log scanned
ae_as_postgres "$AE_PG_BIN/pg_ctl" -D "$AE_CLUSTER_DIR/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
scan_server_logs quality "$regress_log_lines" "$server_log"
ae_cluster_stop

# ---------------------------------------------------------------------------
# ../shared/<name> next to the repository (resolved from the checkout, not
# from the staged copy): prepare_shared <name> <variable> runs its build.sh
# as root (idempotent) and exports <variable>=<its absolute path> for the TAP
# tests; when absent it exports nothing and the tests that need it skip.
AE_SHARED_DIR="${AE_SHARED_DIR:-$(cd "$AE_ROOT/.." && pwd)/shared}"
prepare_shared() {
    local name=$1 var=$2 dir
    dir="$AE_SHARED_DIR/$name"
    if [[ ! -d $dir ]]; then
        ae_info "$dir absent: the TAP tests that need $name skip"
        return 0
    fi
    dir="$(cd "$dir" && pwd -P)"
    export "$var=$dir"
    ae_info "$var=$dir; building $name: bash $dir/build.sh"
    if PG_CONFIG="$AE_PG_CONFIG" timeout "$AE_SUITE_TIMEOUT" bash "$dir/build.sh" \
        >"$AE_WORK/build-$name.log" 2>&1; then
        tail -n 1 "$AE_WORK/build-$name.log"
    else
        tail -n 50 "$AE_WORK/build-$name.log"
        record "$name" 0 1 "($dir/build.sh failed: see above)"
    fi
}

CURRENT_STAGE="tap"
shopt -s nullglob
tap_files=("$AE_STAGE_DIR"/test/t/*.pl)
shopt -u nullglob
if ((${#tap_files[@]} == 0)); then
    ae_section "TAP tests: none (no test/t/*.pl)"
    CURRENT_STAGE=""
else
    ae_section "TAP tests: prerequisites in $AE_SHARED_DIR"
    prepare_shared citus AE_CITUS_DIR
    prepare_shared pgvector AE_PGVECTOR_DIR
    CURRENT_STAGE="tap"
    ae_section "TAP tests: make prove_installcheck (as postgres)"
    tapdir="$AE_STAGE_DIR"
    ae_as_postgres rm -rf "$tapdir/tmp_check"
    set +e
    (
        cd "$tapdir" &&
            timeout "$AE_SUITE_TIMEOUT" runuser -u "$AE_PG_USER" -- \
                make PG_CONFIG="$AE_PG_CONFIG" PROVE_FLAGS=--timer prove_installcheck
    ) 2>&1 | tee "$AE_WORK/tap.log"
    rc=${PIPESTATUS[0]}
    set -e
    tests="$(sed -nE 's/^Files=[0-9]+, Tests=([0-9]+),.*/\1/p' "$AE_WORK/tap.log" | tail -n 1)"
    tests=${tests:-0}
    f="$(sed -nE 's/.*Failed ([0-9]+)\/[0-9]+ subtests.*/\1/p' "$AE_WORK/tap.log" |
        awk '{s += $1} END {print s + 0}')"
    if ((rc != 0 && f == 0)); then f=1; fi
    p=$((tests > f ? tests - f : 0))
    if ((rc != 0)); then
        for lf in "$tapdir"/tmp_check/log/regress_log_*; do
            [[ -f "$lf" ]] || continue
            ae_section "TAP log $(basename "$lf") (tail)"
            tail -n 80 "$lf"
        done
    fi
    record tap "$p" "$f" "(exit status $rc)"
    shopt -s nullglob
    tap_logs=("$tapdir"/tmp_check/log/*)
    shopt -u nullglob
    scan_server_logs tap 0 "${tap_logs[@]}"
fi

CURRENT_STAGE=""
exit 0
