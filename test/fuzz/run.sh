#!/usr/bin/env bash
# Runs the libFuzzer targets for a bounded time each (make -C test fuzz).
#
#   bash fuzz/run.sh BUILD_DIR SECONDS TARGET...
#
# Seeds come from BUILD_DIR/gen_corpus, written to a temporary directory
# that is removed on exit (nothing binary is kept in the repository).  A
# target fails on any crash, leak, sanitizer report, failed property check,
# timeout or out-of-memory; its report is printed with the input that caused
# it (base64), and the input is kept in BUILD_DIR/artifacts/.  Prints one
# line of statistics per target and "N passed, M failed" last; exits 1 if
# any target failed.
set -u

build=$1
secs=$2
shift 2

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ae-fuzz-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

if ! "$build/gen_corpus" "$tmp/seeds"; then
    echo "fuzz: generating the seed corpora failed"
    echo "0 passed, $# failed"
    exit 1
fi

export OPENBLAS_NUM_THREADS=1
# LeakSanitizer on (libFuzzer checks every input that allocates more than it
# frees); every UBSan report halts with its stack.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:allocator_may_return_null=0:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

passed=0
failed=0
for t in "$@"; do
    case $t in
        fuzz_model) seeds=model dict=model.dict ;;
        fuzz_fitstate) seeds=fitstate dict=options.dict ;;
        fuzz_options) seeds=options dict=options.dict ;;
        *) seeds="" dict="" ;;
    esac
    corpus="$tmp/corpus/$t"
    artifacts="$build/artifacts/$t"
    rm -rf "$artifacts"
    mkdir -p "$corpus" "$artifacts"
    log="$tmp/$t.log"
    args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2560 -print_final_stats=1
        -artifact_prefix="$artifacts/")
    [[ -n $dict ]] && args+=(-dict="$tmp/seeds/$dict")
    start=$(date +%s)
    "$build/$t" "${args[@]}" "$corpus" ${seeds:+"$tmp/seeds/$seeds"} >"$log" 2>&1
    rc=$?
    elapsed=$(($(date +%s) - start))
    runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
    eps=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -n 1)
    rss=$(sed -nE 's/^stat::peak_rss_mb: *([0-9]+).*/\1/p' "$log" | tail -n 1)
    seeds_n=$(find "$tmp/seeds/$seeds" -type f 2>/dev/null | wc -l)
    corp=$(find "$corpus" -type f | wc -l)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
    if ((rc == 0)) && ! grep -qE 'runtime error:|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|fuzz check failed|SUMMARY: ' "$log"; then
        status=ok
        passed=$((passed + 1))
    else
        status="FAILED (exit status $rc)"
        failed=$((failed + 1))
    fi
    printf 'fuzz: %-14s %s: %s runs in %d s (%s/s), %s, %d seeds, %d new corpus inputs, peak RSS %s MB\n' \
        "$t" "$status" "${runs:-?}" "$elapsed" "${eps:-?}" "${cov:-cov: ?}" "$seeds_n" "$corp" "${rss:-?}"
    if [[ $status != ok ]]; then
        echo "---- $t: what failed"
        grep -E 'fuzz check failed|runtime error:|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|^SUMMARY: ' "$log" |
            head -n 20
        echo "---- $t: report (last 60 lines of its log)"
        tail -n 60 "$log"
        for a in "$artifacts"/*; do
            [[ -f $a ]] || continue
            echo "---- $t: input $a ($(stat -c %s "$a") bytes), base64:"
            base64 -w 100 "$a" | head -n 200
        done
        echo "---- reproduce: $build/$t <input>"
    fi
done
echo "$passed passed, $failed failed"
((failed == 0))
