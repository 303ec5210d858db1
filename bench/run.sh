#!/usr/bin/env bash
# Side-by-side benchmark of the autoencoder extension (issue 4; not part of CI).
#
#   bash bench/run.sh        (as root, on Debian 12; about 10 minutes on 2 cores)
#
# Installs the packages (PostgreSQL 15, OpenBLAS, python3-torch, numpy,
# psycopg2, dataset-fashion-mnist), builds and installs the extension, starts
# a throwaway cluster as the postgres user (scripts/common.sh), loads
# Fashion-MNIST and prints ONE table in which every anchor is re-measured in
# this run (absolute times drift on shared machines; the ratios are the
# result):
#   1. the cblas_sgemm ceiling at the training shapes, 1 and 2 threads
#   2. training throughput of autoencoder.train() at autoencoder.threads 1
#      and 2 next to PyTorch at 1 and 2 threads, same data, model and epochs;
#      ratio to PyTorch's best, fraction of the sgemm ceiling; test MSE of
#      both, paired: for each seed PyTorch starts from the weights and runs
#      through the minibatch order train() used (bench/init_order.c)
#   3. serving: per-row encode() and encode_query() over 70,000 rows against
#      the detoasting scan of the same pglz-compressed table; evaluate()
#      (errors and recall@10 of the model and its PCA) over the 10,000 test
#      images against avg(reconstruction_error(...)) over them
#   4. end to end: train + encode into a new table, in the database and as
#      the export pipeline (psycopg2 -> numpy -> PyTorch -> COPY back)
#   5. memory: the training backend's peak RSS against the data in float32,
#      and RSS growth over a million encode() calls in one session
# PASS/FAIL is printed next to each target of the issue.
#
# Environment: BENCH_SEEDS (default "42 1 2 3 4 5"): seeds of the training
# runs at autoencoder.threads=2 (speed: the best run) and of the paired
# quality comparison.  BENCH_EPOCHS (5), BENCH_E2E_EPOCHS (10).
set -euo pipefail

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"

BENCH_DIR="$AE_ROOT/bench"
PY=/usr/bin/python3             # Debian's python3, where python3-torch lives
EPOCHS="${BENCH_EPOCHS:-5}"
E2E_EPOCHS="${BENCH_E2E_EPOCHS:-10}"
read -r -a SEEDS <<<"${BENCH_SEEDS:-42 1 2 3 4 5}"
FLOP_PER_SAMPLE=2.2e6           # 784-256-64 mirrored: forward 0.87 + backward 1.33 MFLOP
N_TRAIN=60000
bench_start=$SECONDS

# ------------------------------------------------------------------ helpers
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Run SQL (stdin) in one psql session with \timing; print the milliseconds of
# the last timed statement. The session's output goes to $AE_WORK/last.out.
psql_time_ms() {
    ae_psql -q -At "$@" >"$AE_WORK/last.out" 2>&1 || {
        cat "$AE_WORK/last.out" >&2
        ae_die "psql failed"
    }
    sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' "$AE_WORK/last.out" | tail -n 1
}

# The model of the benchmark as train() options.
TRAIN_OPTS="latent_dim => 64, hidden_units => '{256}', activation => 'relu',
    output_activation => 'sigmoid', scaling => 'none', batch_size => 256,
    learning_rate => 0.001, optimizer => 'adam', validation_fraction => 0,
    patience => 0"

# train_ours <threads> <seed> <model name> <epochs> <source query>
# Sets ours_ms (statement), ours_loop_s (the epochs' own seconds), ours_mse.
train_ours() {
    local threads=$1 seed=$2 name=$3 epochs=$4 source=$5
    ours_ms=$(psql_time_ms <<SQL
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
SET synchronize_seqscans = off;     -- the scan starts at block 0: a fixed row order
SET autoencoder.threads = $threads;
\\timing on
SELECT autoencoder.train('$name', '$source', $TRAIN_OPTS, epochs => $epochs, seed => $seed);
SQL
    )
    ours_loop_s=$(ae_psql -At -c "
        SELECT sum((e->>'seconds')::float8)
        FROM autoencoder.models, jsonb_array_elements(metrics->'loss_curve') e
        WHERE name = '$name' AND deployed")
    ours_mse=$(ae_psql -q -At -c "SET max_parallel_workers_per_gather = 0;
        SELECT avg(autoencoder.reconstruction_error('$name', img)) FROM fmnist_test")
}

# best_ms <sql> [<setting>]: the best of three runs of a timed statement
# (ms), after one warm-up run; serial plans unless
# the second argument replaces the setting (e.g. "RESET
# max_parallel_workers_per_gather" for the server's default plans)
best_ms() {
    local sql=$1 set=${2:-SET max_parallel_workers_per_gather = 0} best="" ms
    psql_time_ms <<<"$set; $sql" >/dev/null
    for _ in 1 2 3; do
        ms=$(psql_time_ms <<SQL
$set;
\\timing on
$sql
SQL
        )
        if [[ -z "$best" ]] || awk "BEGIN { exit !($ms < $best) }"; then best=$ms; fi
    done
    printf '%s\n' "$best"
}

# RSS figures of the calling backend (kB), from /proc/self/status
RSS_SQL="SELECT string_agg(m[1] || '=' || m[2], ' ')
         FROM regexp_matches(pg_read_file('/proc/self/status'),
                             '(VmHWM|VmRSS|RssAnon|RssShmem):\\s+(\\d+)', 'g') m"

# ------------------------------------------------------------------ setup
ae_section "Installing packages"
ae_install_packages "${AE_BASE_PKGS[@]}" dataset-fashion-mnist \
    python3-torch python3-numpy python3-psycopg2

ae_section "Building and installing the extension, and the benchmark programs"
if ! (ae_build_install) >"$AE_WORK/bench-build.log" 2>&1; then
    cat "$AE_WORK/bench-build.log"
    ae_die "build failed"
fi
ae_info "extension installed into $("$AE_PG_CONFIG" --pkglibdir)"
make -s -C "$BENCH_DIR" clean >/dev/null
make -s -C "$BENCH_DIR" sgemm_ceiling init_order >"$AE_WORK/bench-programs.log" 2>&1 || {
    cat "$AE_WORK/bench-programs.log"
    ae_die "building the benchmark programs failed"
}
cp "$BENCH_DIR/sgemm_ceiling" "$BENCH_DIR/init_order" "$AE_WORK/"
so_path="$("$AE_PG_CONFIG" --pkglibdir)/autoencoder.so"
so_sum=$(md5sum "$so_path" | cut -d' ' -f1)
ae_info "OpenBLAS: $("$PY" - <<'EOF'
import ctypes
lib = ctypes.CDLL("libopenblas.so.0")
lib.openblas_get_config.restype = ctypes.c_char_p
lib.openblas_get_corename.restype = ctypes.c_char_p
print(lib.openblas_get_config().decode(), "/ core", lib.openblas_get_corename().decode())
EOF
)"

ae_section "1. cblas_sgemm ceiling at the training shapes"
"$AE_WORK/sgemm_ceiling" 1 2 | tee "$AE_WORK/sgemm.out"
for t in 1 2; do
    put "ceiling_$t" "$(awk -v t=$t '$1 == "ceiling" && $2 == t { print $3 }' "$AE_WORK/sgemm.out")"
    put "step_$t" "$(awk -v t=$t '$1 == "step" && $2 == t { print $3 }' "$AE_WORK/sgemm.out")"
done

ae_section "Cluster and data"
ae_cluster_start
ae_psql -q -c "CREATE EXTENSION autoencoder;"
ae_load_fmnist
# The serving table: all 70,000 images (test ids + 60000) with the default
# storage, so each 3.1 kB array is pglz-compressed inline (~88 MB).
ae_psql -q <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS fmnist_all;
CREATE TABLE fmnist_all (id bigint PRIMARY KEY, img real[] NOT NULL);
INSERT INTO fmnist_all SELECT id, img FROM fmnist_train
    UNION ALL SELECT 60000 + id, img FROM fmnist_test;
VACUUM ANALYZE fmnist_all;
SQL
ae_info "fmnist_all: $(ae_psql -At -c "
    SELECT count(*) || ' rows, ' || pg_size_pretty(pg_total_relation_size('fmnist_all'))
        || ', ' || count(*) FILTER (WHERE pg_column_compression(img) IS NOT NULL)
        || ' arrays compressed' FROM fmnist_all")"
put table_size "$(ae_psql -At -c "SELECT pg_size_pretty(pg_total_relation_size('fmnist_all'))")"
has_encode_query=$(ae_psql -At -c "SELECT to_regprocedure('autoencoder.encode_query(text,text)') IS NOT NULL")

# ------------------------------------------------------------------ training
ae_section "2. Training: autoencoder.train() vs PyTorch, $EPOCHS epochs, 60,000 images"
src_train="SELECT img FROM fmnist_train"
# ours: threads 1 once, threads 2 (the best) once per seed
for t in 1 2; do
    seeds=("${SEEDS[0]}")
    [[ $t == 2 ]] && seeds=("${SEEDS[@]}")
    best_ms_t="" mses=""
    for s in "${seeds[@]}"; do
        train_ours "$t" "$s" m "$EPOCHS" "$src_train"
        ae_info "ours threads=$t seed=$s: statement $(calc "$ours_ms/1000" %.2f) s, epochs $(calc "$ours_loop_s" %.2f) s, test MSE $ours_mse"
        if [[ -z "$best_ms_t" ]] || awk "BEGIN { exit !($ours_ms < $best_ms_t) }"; then
            best_ms_t=$ours_ms
            put "ours_loop_$t" "$ours_loop_s"
        fi
        mses="$mses $ours_mse"
    done
    put "ours_ms_$t" "$best_ms_t"
    put "ours_mses_$t" "$mses"
done

# PyTorch's speed: "T:B" = torch.set_num_threads(T) with OpenBLAS at B
# threads; 1:default is what torch.set_num_threads(1) alone gives (OpenBLAS
# keeps a thread per core).  Best of two runs each, 2:2 once (it is slow).
for cfg in 1:1 1:default 2:2; do
    t=${cfg%%:*} b=${cfg#*:}
    best_sps=""
    runs=2
    [[ $cfg == 2:2 ]] && runs=1
    for _ in $(seq $runs); do
        line=$("$PY" "$BENCH_DIR/torch_bench.py" train --threads "$t" --blas-threads "$b" \
            --epochs "$EPOCHS" --seed "${SEEDS[0]}")
        ae_info "$line"
        sps=$(sed -E 's/.*samples_per_s=([0-9.]+).*/\1/' <<<"$line")
        if [[ -z "$best_sps" ]] || awk "BEGIN { exit !($sps > $best_sps) }"; then best_sps=$sps; fi
    done
    put "torch_sps_$cfg" "$best_sps"
    put "torch_own_mse_$cfg" "$(sed -E 's/.*test_mse=([0-9.]+).*/\1/' <<<"$line")"
done

# Quality, paired: for each seed, PyTorch (1 thread) trains from the initial
# weights and over the minibatch order autoencoder.train() used with that
# seed (bench/init_order.c), so the seeds' luck cancels out.  The row order
# train() saw is the heap's (compressed rows of varying size do not fill the
# pages in COPY order), read the same way it read them.
ae_psql -q -At -c "SET synchronize_seqscans = off; SET max_parallel_workers_per_gather = 0;
    SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off;
    SELECT id FROM fmnist_train" >"$AE_WORK/train_ids.txt"
mses=""
for s in "${SEEDS[@]}"; do
    "$AE_WORK/init_order" "$s" "$EPOCHS" "$N_TRAIN" "$AE_WORK/init_$s.bin"
    line=$("$PY" "$BENCH_DIR/torch_bench.py" paired --init "$AE_WORK/init_$s.bin" \
        --rows "$AE_WORK/train_ids.txt" --epochs "$EPOCHS" --threads 1 --blas-threads 1)
    ae_info "seed $s: $line"
    mses="$mses $(sed -E 's/.*test_mse=([0-9.]+).*/\1/' <<<"$line")"
    rm -f "$AE_WORK/init_$s.bin"
done
put torch_paired_mses "$mses"

# each side's fastest configuration, used again end to end
torch_best_cfg=$(for cfg in 1:1 1:default 2:2; do echo "$(get "torch_sps_$cfg") $cfg"; done |
    sort -g -r | head -n 1 | cut -d' ' -f2)
ours_best_t=$(awk "BEGIN { print ($(get ours_ms_1) < $(get ours_ms_2)) ? 1 : 2 }")

# ------------------------------------------------------------------ serving
ae_section "3. Serving over the 70,000 compressed rows of fmnist_all"
# the model served: the last one trained above (deployed version of 'm')
put scan_ms "$(best_ms "SELECT sum(array_length(img, 1)) FROM fmnist_all;")"
put encode_ms "$(best_ms "SELECT sum(array_length(autoencoder.encode('m', img), 1)) FROM fmnist_all;")"
# the same with the server's default settings: the declared COST gives it a
# parallel plan (max_parallel_workers_per_gather is 2 in the cluster)
put encode_par_ms "$(best_ms "SELECT sum(array_length(autoencoder.encode('m', img), 1)) FROM fmnist_all;" \
    "RESET max_parallel_workers_per_gather")"
put encode_par_workers "$(ae_psql -At -c "EXPLAIN (COSTS OFF) SELECT sum(array_length(autoencoder.encode('m', img), 1)) FROM fmnist_all" |
    sed -nE 's/.*Workers Planned: ([0-9]+).*/\1/p' | head -n 1)"
if [[ $has_encode_query == t ]]; then
    put encq_ms "$(best_ms "SELECT sum(array_length(code, 1)) FROM autoencoder.encode_query('m', 'SELECT id, img FROM fmnist_all');")"
fi
ae_info "scan $(get scan_ms) ms, encode $(get encode_ms) ms, encode_query $(get encq_ms) ms"
# evaluate() over the 10,000 test images (errors of the model and of its PCA
# baseline, and recall@10 of both: 1,000 queries among the 10,000 rows)
# against the plain mean of the model's errors over the same rows
put recerr_ms "$(best_ms "SELECT avg(autoencoder.reconstruction_error('m', img)) FROM fmnist_test;")"
put eval_ms "$(best_ms "SELECT count(*) FROM autoencoder.evaluate('m', 'SELECT img FROM fmnist_test');")"
put eval_recall "$(ae_psql -At -c "SELECT round(recall_at_10_cosine::numeric, 3) || ' / ' || round(pca_recall_at_10_cosine::numeric, 3)
    FROM autoencoder.evaluate('m', 'SELECT img FROM fmnist_test')")"
ae_info "avg(reconstruction_error) $(get recerr_ms) ms, evaluate() $(get eval_ms) ms"

# ------------------------------------------------------------------ end to end
ae_section "4. End to end: train $E2E_EPOCHS epochs + encode every row into a new table"
if [[ $has_encode_query == t ]]; then
    encode_sql="CREATE TABLE e2e_codes AS SELECT id, code FROM autoencoder.encode_query('e2e', 'SELECT id, img FROM fmnist_all');"
else
    encode_sql="CREATE TABLE e2e_codes AS SELECT id, autoencoder.encode('e2e', img) AS code FROM fmnist_all;"
fi
# each side twice (the machine is shared), the faster total kept
e2e_best="" pipe_best=""
for _ in 1 2; do
    train_ours "$ours_best_t" "${SEEDS[0]}" e2e "$E2E_EPOCHS" "SELECT img FROM fmnist_all WHERE id <= $N_TRAIN"
    enc_ms=$(psql_time_ms <<SQL
SET max_parallel_workers_per_gather = 0;
DROP TABLE IF EXISTS e2e_codes;
\\timing on
$encode_sql
SQL
    )
    ae_info "in-database: train $(calc "$ours_ms/1000" %.2f) s + encode into a table $(calc "$enc_ms/1000" %.2f) s"
    if [[ -z "$e2e_best" ]] || awk "BEGIN { exit !($ours_ms + $enc_ms < $e2e_best) }"; then
        e2e_best=$(calc "$ours_ms + $enc_ms" %.3f)
        put e2e_train_ms "$ours_ms"
        put e2e_encode_ms "$enc_ms"
        put e2e_mse "$ours_mse"
    fi
    line=$("$PY" "$BENCH_DIR/torch_bench.py" pipeline --epochs "$E2E_EPOCHS" --seed "${SEEDS[0]}" \
        --threads "${torch_best_cfg%%:*}" --blas-threads "${torch_best_cfg#*:}" \
        --table fmnist_all --out torch_codes)
    ae_info "$line"
    total=$(sed -E 's/.*total_s=([0-9.]+).*/\1/' <<<"$line")
    if [[ -z "$pipe_best" ]] || awk "BEGIN { exit !($total < $pipe_best) }"; then
        pipe_best=$total
        for k in fetch_s train_s encode_copy_s total_s; do
            put "pipe_$k" "$(sed -E "s/.*$k=([0-9.]+).*/\\1/" <<<"$line")"
        done
    fi
done
put e2e_rows "$(ae_psql -At -c "SELECT (SELECT count(*) FROM e2e_codes) || '/' || (SELECT count(*) FROM torch_codes)")"

# ------------------------------------------------------------------ memory
ae_section "5. Memory"
# Peak RSS of a training backend (1 epoch, 1 thread): poll its /proc status.
PGAPPNAME=ae_bench_mem ae_psql -q >"$AE_WORK/mem.out" 2>&1 <<SQL &
SET client_min_messages = warning;
SET autoencoder.threads = 1;
SELECT pg_sleep(1);
SELECT autoencoder.train('mem', '$src_train', $TRAIN_OPTS, epochs => 1);
SELECT pg_sleep(1);
SQL
mem_job=$!
mem_pid=""
for _ in $(seq 100); do
    mem_pid=$(ae_psql -At -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'ae_bench_mem'")
    [[ -n "$mem_pid" ]] && break
    sleep 0.1
done
[[ -n "$mem_pid" ]] || ae_die "training backend for the memory test not found"
peak_anon=0 hwm=0 shmem=0
while kill -0 "$mem_job" 2>/dev/null; do
    if read -r a h s < <(awk '/^RssAnon/ { a = $2 } /^VmHWM/ { h = $2 } /^RssShmem/ { s = $2 }
                              END { print a + 0, h + 0, s + 0 }' "/proc/$mem_pid/status" 2>/dev/null); then
        ((a > peak_anon)) && peak_anon=$a
        ((h > 0)) && hwm=$h
        ((s > 0)) && shmem=$s
    fi
    sleep 0.02
done
wait "$mem_job" || { cat "$AE_WORK/mem.out"; ae_die "memory training run failed"; }
put mem_peak_anon_kb "$peak_anon"
put mem_hwm_kb "$hwm"
put mem_shmem_kb "$shmem"
# parameters of 784-256-64-256-784: weights and biases of the four layers
put mem_params "$(calc "(784*256 + 256) + (256*64 + 64) + (64*256 + 256) + (256*784 + 784)" %.0f)"
put mem_rows "$(ae_psql -At -c "SELECT (metrics->>'rows_used') FROM autoencoder.models WHERE name = 'mem' AND deployed")"

# RSS growth over a million encode() calls in one session (after a warm-up
# pass).  JIT off: the declared COST makes a million calls cost enough for
# PostgreSQL to JIT-compile the query with LLVM, whose libraries and memory
# (about 75 MB of RSS, 24 MB of it private) stay with the backend once
# loaded; that is measured apart, for information, with jit on.
field() { sed -E "s/.*$1=([0-9]+).*/\\1/" <<<"$2"; }
for jit in off on; do
    ae_psql -q -At >"$AE_WORK/rss.out" 2>&1 <<SQL
SET max_parallel_workers_per_gather = 0;
SET jit = $jit;
SELECT count(autoencoder.encode('m', img)) FROM fmnist_all;
$RSS_SQL;
SELECT count(autoencoder.encode('m', img)) FROM fmnist_all, generate_series(1, 15);
$RSS_SQL;
SQL
    rss_before=$(grep 'VmRSS=' "$AE_WORK/rss.out" | head -n 1)
    rss_after=$(grep 'VmRSS=' "$AE_WORK/rss.out" | tail -n 1)
    put "rss_calls_jit_$jit" "$(grep -E '^[0-9]+$' "$AE_WORK/rss.out" | tail -n 1)"
    put "rss_before_kb_jit_$jit" "$(field VmRSS "$rss_before")"
    put "rss_after_kb_jit_$jit" "$(field VmRSS "$rss_after")"
    put "anon_before_kb_jit_$jit" "$(field RssAnon "$rss_before")"
    put "anon_after_kb_jit_$jit" "$(field RssAnon "$rss_after")"
done

# ------------------------------------------------------------------ the table
ae_section "Results ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $((SECONDS - bench_start)) s)"
c1=$(get ceiling_1) c2=$(get ceiling_2)
# mean and sample standard deviation of a list of numbers
mean() { awk '{ for (i = 1; i <= NF; i++) s += $i } END { printf "%.6f", s / NF }' <<<"$1"; }
sd() { awk '{ for (i = 1; i <= NF; i++) { s += $i; q += $i * $i } }
            END { v = NF > 1 ? (q - s * s / NF) / (NF - 1) : 0; printf "%.6f", sqrt(v > 0 ? v : 0) }' <<<"$1"; }
count() { awk '{ print NF }' <<<"$1"; }
ours_sps_1=$(calc "$N_TRAIN * $EPOCHS / ($(get ours_ms_1) / 1000)" %.0f)
ours_sps_2=$(calc "$N_TRAIN * $EPOCHS / ($(get ours_ms_2) / 1000)" %.0f)
loop_sps_1=$(calc "$N_TRAIN * $EPOCHS / $(get ours_loop_1)" %.0f)
loop_sps_2=$(calc "$N_TRAIN * $EPOCHS / $(get ours_loop_2)" %.0f)
t11=$(get torch_sps_1:1) t1d=$(get torch_sps_1:default) t22=$(get torch_sps_2:2)
torch_best=$(get "torch_sps_$torch_best_cfg")
gflops() { calc "$1 * $FLOP_PER_SAMPLE / 1e9" %.1f; }
ratio_stmt=$(calc "$ours_sps_2 / $torch_best" %.2f)
ratio_loop=$(calc "$loop_sps_2 / $torch_best" %.2f)
frac_1=$(calc "$(gflops "$ours_sps_1") / $c1" %.2f)
frac_2=$(calc "$(gflops "$ours_sps_2") / $c2" %.2f)
frac_loop_1=$(calc "$(gflops "$loop_sps_1") / $c1" %.2f)
frac_loop_2=$(calc "$(gflops "$loop_sps_2") / $c2" %.2f)
om=$(get ours_mses_2) tm=$(get torch_paired_mses)
ours_mse=$(mean "$om") ours_sd=$(sd "$om") torch_mse=$(mean "$tm") torch_sd=$(sd "$tm")
n_o=$(count "$om")
# paired differences ours - PyTorch, seed by seed: mean and standard error
diffs=$(paste -d' ' <(tr ' ' '\n' <<<"$om" | sed '/^$/d') <(tr ' ' '\n' <<<"$tm" | sed '/^$/d') |
    awk '{ printf "%s ", $1 - $2 }')
d_mean=$(mean "$diffs")
d_se=$(calc "$(sd "$diffs") / sqrt($n_o)" %.6f)
d_pct=$(calc "100 * $d_mean / $torch_mse" %+.1f)
d_se_pct=$(calc "100 * $d_se / $torch_mse" %.1f)
scan=$(get scan_ms) enc=$(get encode_ms) encq=$(get encq_ms)
e2e_ours=$(calc "($(get e2e_train_ms) + $(get e2e_encode_ms)) / 1000" %.2f)
e2e_pipe=$(get pipe_total_s)
data_mb=$(calc "$(get mem_rows) * 784 * 4 / 1048576" %.1f)
state_mb=$(calc "$(get mem_params) * 4 * 4 / 1048576" %.1f)
peak_mb=$(calc "$(get mem_peak_anon_kb) / 1024" %.1f)
hwm_mb=$(calc "$(get mem_hwm_kb) / 1024" %.1f)
shmem_mb=$(calc "$(get mem_shmem_kb) / 1024" %.1f)
mem_ratio=$(calc "$peak_mb / ($data_mb + $state_mb)" %.2f)
rss_growth=$(calc "($(get rss_after_kb_jit_off) - $(get rss_before_kb_jit_off)) / 1024" %.1f)
anon_growth=$(calc "($(get anon_after_kb_jit_off) - $(get anon_before_kb_jit_off)) / 1024" %.1f)
rss_growth_jit=$(calc "($(get rss_after_kb_jit_on) - $(get rss_before_kb_jit_on)) / 1024" %.1f)
anon_growth_jit=$(calc "($(get anon_after_kb_jit_on) - $(get anon_before_kb_jit_on)) / 1024" %.1f)

{
printf '| %-74s | %-26s | %-50s |\n' "measure" "value" "ratio / target"
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' $(seq 76))" "$(printf -- '-%.0s' $(seq 28))" "$(printf -- '-%.0s' $(seq 52))"
row() { printf '| %-74s | %-26s | %-50s |\n' "$1" "$2" "$3"; }
row "1. sgemm ceiling, 1 thread (training shapes .. 2048^3)" "$c1 GFLOP/s" "training step: $(get step_1)"
row "   sgemm ceiling, 2 threads" "$c2 GFLOP/s" "training step: $(get step_2)"
row "2. PyTorch, 1 thread, OpenBLAS 1 thread" "$t11 samples/s" "$(gflops "$t11") GFLOP/s"
row "   PyTorch, set_num_threads(1), OpenBLAS default (2 threads)" "$t1d samples/s" "$(gflops "$t1d") GFLOP/s"
row "   PyTorch, 2 threads, OpenBLAS 2 threads" "$t22 samples/s" "$(gflops "$t22") GFLOP/s"
row "   train(), autoencoder.threads=1, whole statement" "$ours_sps_1 samples/s" "$(gflops "$ours_sps_1") GFLOP/s"
row "   train(), autoencoder.threads=2, whole statement (best of $n_o)" "$ours_sps_2 samples/s" "$(gflops "$ours_sps_2") GFLOP/s"
row "   train(), epochs only (as PyTorch is timed), threads 1 / 2" "$loop_sps_1 / $loop_sps_2 samples/s" "$(gflops "$loop_sps_1") / $(gflops "$loop_sps_2") GFLOP/s"
row "   ours (threads=2) / PyTorch best ($torch_best_cfg): epochs only" "${ratio_loop}x" "target >= 1.25: $(pf "$ratio_loop >= 1.25")"
row "   ours (threads=2) / PyTorch best: whole statement" "${ratio_stmt}x" "target >= 1.25: $(pf "$ratio_stmt >= 1.25")"
row "   fraction of sgemm ceiling, epochs only, threads 1 / 2" "$frac_loop_1 / $frac_loop_2" "target >= 0.60: $(pf "$frac_loop_2 >= 0.60")"
row "   fraction of sgemm ceiling, whole statement, threads 1 / 2" "$frac_1 / $frac_2" "target >= 0.60: $(pf "$frac_2 >= 0.60")"
row "   test MSE, train() threads=2 (mean +- sd, $n_o seeds)" "$ours_mse +- $ours_sd" ""
row "   test MSE, PyTorch from the same init and order (paired)" "$torch_mse +- $torch_sd" "own init, seed ${SEEDS[0]}: $(get torch_own_mse_1:1)"
row "   ours - PyTorch, paired mean (s.e.)" "$d_pct % ($d_se_pct %)" "target <= 0 within 2 s.e.: $(pf "$d_mean <= 2 * $d_se")"
row "3. scan: sum(array_length(img,1)), 70,000 rows, $(get table_size)" "$scan ms" "1.00"
row "   encode('m', img) per row" "$enc ms" "$(calc "$enc / $scan" %.2f)x, target <= 3: $(pf "$enc / $scan <= 3")"
row "   the same with default settings ($(get encode_par_workers) workers planned)" "$(get encode_par_ms) ms" "$(calc "$(get encode_par_ms) / $enc" %.2f) of the serial plan"
if [[ -n "$encq" ]]; then
    row "   encode_query('m', 'SELECT id, img FROM fmnist_all')" "$encq ms" "$(calc "$encq / $scan" %.2f)x, target <= 1.5: $(pf "$encq / $scan <= 1.5")"
else
    row "   encode_query (batch path)" "n/a" "n/a"
fi
row "   evaluate('m', 10,000 test images), recall@10 cosine model / PCA: $(get eval_recall)" "$(get eval_ms) ms" \
    "$(calc "$(get eval_ms) / $(get recerr_ms)" %.2f)x avg(reconstruction_error) ($(get recerr_ms) ms), target <= 3: $(pf "$(get eval_ms) / $(get recerr_ms) <= 3")"
row "4. in-database: train $E2E_EPOCHS epochs (threads=$ours_best_t) + CREATE TABLE AS, best of 2" "$e2e_ours s" "test MSE $(calc "$(get e2e_mse)" %.6f), rows $(get e2e_rows)"
row "   export pipeline: fetch + PyTorch $E2E_EPOCHS epochs ($torch_best_cfg) + COPY, best of 2" "$e2e_pipe s" "fetch $(get pipe_fetch_s) / train $(get pipe_train_s) / encode+COPY $(get pipe_encode_copy_s)"
row "   in-database / pipeline" "$(calc "$e2e_ours / $e2e_pipe" %.2f)" "target <= 0.50: $(pf "$e2e_ours / $e2e_pipe <= 0.5")"
row "5. training data in float32 + model and Adam state" "$data_mb + $state_mb MB" ""
row "   training backend peak private RSS (RssAnon, polled)" "$peak_mb MB" "${mem_ratio}x data+state, target <= 1.3: $(pf "$mem_ratio <= 1.3")"
row "   training backend VmHWM (includes $shmem_mb MB shared buffers)" "$hwm_mb MB" ""
row "   RSS growth over $(get rss_calls_jit_off) encode() calls, jit off (VmRSS / RssAnon)" "$rss_growth / $anon_growth MB" "target ~0 (< 1 MB): $(pf "$rss_growth < 1 && $anon_growth < 1")"
row "   the same with jit on (LLVM loaded and kept by the backend)" "$rss_growth_jit / $anon_growth_jit MB" "PostgreSQL's JIT, once per backend"
} | tee "$AE_WORK/table.md"
printf '\ntest MSE per seed (%s): train()%s; PyTorch paired%s\n' "${SEEDS[*]}" "$om" "$tm"
if [[ $(md5sum "$so_path" | cut -d' ' -f1) != "$so_sum" ]]; then
    printf 'WARNING: %s was replaced during the run (another make install?)\n' "$so_path"
fi
