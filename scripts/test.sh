#!/usr/bin/env bash
# Full test suite of the autoencoder PostgreSQL extension.
#
#   bash scripts/test.sh          (as root, on Debian 12)
#
# 1. installs the packages it needs (apt-get)
# 2. builds the extension warning-free and installs it into PostgreSQL 15
# 3. core unit tests:  make -C test check
# 4. pg_regress:       make installcheck against a throwaway cluster run by
#                      the postgres user
# 5. TAP tests:        prove test/t/*.pl (if any), as the postgres user
# The last line printed is "N passed, M failed" (tests of all suites).
set -euo pipefail

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

AE_SUITE_TIMEOUT="${AE_SUITE_TIMEOUT:-600}"
TOTAL_PASSED=0
TOTAL_FAILED=0
SUMMARY_LINES=()
CURRENT_STAGE="setup"

# record <suite> <passed> <failed> [note]
record() {
    local suite=$1 p=$2 f=$3 note=${4:-}
    TOTAL_PASSED=$((TOTAL_PASSED + p))
    TOTAL_FAILED=$((TOTAL_FAILED + f))
    SUMMARY_LINES+=("$(printf '  %-8s passed=%-4d failed=%-4d %s' "$suite" "$p" "$f" "$note")")
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
# dataset-fashion-mnist: test/quality.sql
ae_install_packages "${AE_BASE_PKGS[@]}" libipc-run-perl postgresql-15-cron dataset-fashion-mnist
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

# ---------------------------------------------------------------------------
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
ae_cluster_stop

# ---------------------------------------------------------------------------
CURRENT_STAGE="tap"
shopt -s nullglob
tap_files=("$AE_STAGE_DIR"/test/t/*.pl)
shopt -u nullglob
if ((${#tap_files[@]} == 0)); then
    ae_section "TAP tests: none (no test/t/*.pl)"
    CURRENT_STAGE=""
else
    ae_section "TAP tests: prove test/t/*.pl (as postgres)"
    tapdir="$AE_STAGE_DIR/test"
    ae_as_postgres rm -rf "$tapdir/tmp_check"
    ae_as_postgres mkdir -p "$tapdir/tmp_check"
    set +e
    (
        cd "$tapdir" &&
            TESTDIR="$tapdir" \
                PATH="$AE_PG_BIN:$PATH" \
                PERL5LIB="$AE_PGXS_DIR/src/test/perl${PERL5LIB:+:$PERL5LIB}" \
                PG_REGRESS="$AE_PGXS_DIR/src/test/regress/pg_regress" \
                top_builddir="$tapdir" \
                timeout "$AE_SUITE_TIMEOUT" \
                runuser -u "$AE_PG_USER" -- prove -I "$AE_PGXS_DIR/src/test/perl" -I "$tapdir" \
                --timer t/*.pl
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
fi

CURRENT_STAGE=""
exit 0
