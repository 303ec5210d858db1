# What the benchmarks (bench/run.sh, bench/citus.sh) share, sourced after
# scripts/common.sh: a results file of key=value lines and awk arithmetic.
# shellcheck shell=bash

RES="$AE_WORK/results"
: >"$RES"

# put <key> <value>: record a result; get <key>: its last value
put() { printf '%s=%s\n' "$1" "$2" >>"$RES"; }
get() { awk -F= -v k="$1" '$1 == k { v = $2 } END { print v }' "$RES"; }
# calc '<awk expression>' [printf format]
calc() { awk "BEGIN { printf \"${2:-%.6g}\", $1 }"; }
# pf '<awk condition>': PASS or FAIL
pf() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }
