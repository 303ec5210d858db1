#!/usr/bin/env bash
# Citus scale-out benchmark (issue 10; not part of CI).
#
#   bash bench/citus.sh        (as root, on Debian 12; about 3 minutes on 2 cores)
#
# Builds and installs Citus 13.2.2 (../shared/citus/build.sh) and the
# extension, starts a Citus coordinator and two workers (32 shards) and a
# single PostgreSQL node, all throwaway clusters run by the postgres user on
# this machine with the same settings, loads the 60,000 Fashion-MNIST training
# images (and the 10,000 test images) into both, and prints ONE table of
# ratios measured in this run, each against its target:
#   1. fit PCA-64 over the training rows: Citus / single node time <= 1.5
#      (and the same test MSE, rel 1e-6, and the same model bits on every
#      Citus run; for information only, not the target, also the time with
#      citus.max_adaptive_executor_pool_size = 2);
#   2. fit PCA-16 GROUP BY label: <= 2, and the same inside a CTE with the
#      default citus.max_intermediate_result_size (for information, also the
#      time with autoencoder.threads = the cores on the coordinator);
#   3. 5 models in a reference table, image table outer:
#      encode(m.model, img) over the cross join: <= 1.5;
#   4. the coordinator's peak memory during a nonlinear fit (latent 32,
#      hidden 256, 1 epoch): <= 1.2x the single node's backend (RssAnon,
#      polled; VmHWM printed too; the single node also without parallel
#      workers), and the models bit-identical.
# The three nodes share this machine's cores: on separate machines the
# distributed side would be faster than here.  Each timing is the best of
# BENCH_RUNS (5) runs, the two sides alternating.
#
# Environment:
#   BENCH_RUNS (5)        runs per timing
#   BENCH_PORT (54360)    first of four ports (coordinator, 2 workers, single)
#   BENCH_INSTALL (1)     0: use the PostgreSQL at $AE_PG_BIN as it is (Citus
#                         and the extension already installed there), no apt,
#                         no build
set -euo pipefail

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"

RUNS="${BENCH_RUNS:-5}"
PORT0="${BENCH_PORT:-54360}"
INSTALL="${BENCH_INSTALL:-1}"
CITUS_DIR="$(cd "$AE_ROOT/.." && pwd)/shared/citus"
bench_start=$SECONDS
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ------------------------------------------------------------------ nodes
# name -> port, data directory
declare -A NODE_PORT NODE_DIR
NODES=()
SOCK="$AE_WORK/sock"

# start_node <name> <port> <extra conf line>: initdb (ae_initdb: the
# settings of ae_cluster_start's cluster) and start a cluster run by postgres
start_node() {
    local name=$1 port=$2 extra=$3 dir
    dir="$(mktemp -d /tmp/ae-citus-$name-XXXXXX)"
    AE_CLEANUP_DIRS+=("$dir")
    chown "$AE_PG_USER:" "$dir"
    chmod 700 "$dir"
    ae_initdb "$dir/data" "$port" "$SOCK" "$AE_WORK/initdb-$name.log" "max_connections = 100
max_worker_processes = 16
$extra"
    ae_as_postgres "$AE_PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 120 start >/dev/null ||
        { cat "$dir/server.log" >&2; ae_die "pg_ctl start $name failed"; }
    NODE_PORT[$name]=$port
    NODE_DIR[$name]=$dir
    NODES+=("$name")
}

stop_nodes() {
    local n
    for n in "${NODES[@]}"; do
        ae_as_postgres "$AE_PG_BIN/pg_ctl" -D "${NODE_DIR[$n]}/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
            ae_as_postgres "$AE_PG_BIN/pg_ctl" -D "${NODE_DIR[$n]}/data" -m immediate -w stop >/dev/null 2>&1 || true
    done
    NODES=()
}
# stop the nodes before common.sh's exit handler removes their directories
trap 'rc=$?; stop_nodes; (exit $rc); _ae_on_exit' EXIT

# q <node> <psql args...>: psql as postgres on a node
q() {
    local n=$1
    shift
    ae_as_postgres "$AE_PG_BIN/psql" -X -v ON_ERROR_STOP=1 -h "$SOCK" -p "${NODE_PORT[$n]}" -d postgres "$@"
}

# time_ms <node> <sql>: milliseconds of the statement (its result in $AE_WORK/last.out)
time_ms() {
    local n=$1 sql=$2
    q "$n" -q -At >"$AE_WORK/last.out" 2>&1 <<SQL || { cat "$AE_WORK/last.out" >&2; ae_die "$n: $sql failed"; }
SET client_min_messages = warning;
\\timing on
$sql
SQL
    sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' "$AE_WORK/last.out" | tail -n 1
}

# best <key> <sql>: best of $RUNS runs on each side, alternating; puts
# <key>_citus and <key>_single (ms); each Citus run's result line goes to
# $AE_WORK/<key>.citus
best() {
    local key=$1 sql=$2 bc="" bs="" ms
    : >"$AE_WORK/$key.citus"
    for _ in $(seq "$RUNS"); do
        ms=$(time_ms coord "$sql")
        grep -v '^Time' "$AE_WORK/last.out" | tail -n 1 >>"$AE_WORK/$key.citus"
        ae_info "$key citus: $(calc "$ms/1000" %.2f) s  $(grep -v '^Time' "$AE_WORK/last.out" | tail -n 1 | cut -c1-60)"
        if [[ -z "$bc" ]] || awk "BEGIN { exit !($ms < $bc) }"; then bc=$ms; fi
        ms=$(time_ms single "$sql")
        ae_info "$key single: $(calc "$ms/1000" %.2f) s  $(grep -v '^Time' "$AE_WORK/last.out" | tail -n 1 | cut -c1-60)"
        if [[ -z "$bs" ]] || awk "BEGIN { exit !($ms < $bs) }"; then bs=$ms; fi
    done
    put "${key}_citus" "$bc"
    put "${key}_single" "$bs"
}

# peak_mem <node> <sql>: peak RssAnon (polled every 20 ms) and VmHWM (kB) of
# the backend running sql; puts mem_<node>_anon, mem_<node>_hwm; its output
# in $AE_WORK/mem.out
peak_mem() {
    local n=$1 sql=$2 job pid="" peak=0 hwm=0 a h t0
    t0=$(date +%s.%N)
    PGAPPNAME=ae_bench_mem q "$n" -q -At >"$AE_WORK/mem.out" 2>&1 <<SQL &
SET client_min_messages = warning;
SELECT pg_sleep(1);
$sql
SELECT pg_sleep(0.5);
SQL
    job=$!
    for _ in $(seq 100); do
        pid=$(q "$n" -At -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'ae_bench_mem'")
        [[ -n "$pid" ]] && break
        sleep 0.1
    done
    [[ -n "$pid" ]] || ae_die "$n: the backend of the memory run was not found"
    while kill -0 "$job" 2>/dev/null; do
        if read -r a h < <(awk '/^RssAnon/ { a = $2 } /^VmHWM/ { h = $2 } END { print a + 0, h + 0 }' \
            "/proc/$pid/status" 2>/dev/null); then
            ((a > peak)) && peak=$a
            ((h > 0)) && hwm=$h
        fi
        sleep 0.02
    done
    wait "$job" || { cat "$AE_WORK/mem.out"; ae_die "$n: memory run failed"; }
    put "mem_${n}_s" "$(calc "$(date +%s.%N) - $t0 - 1.5" %.1f)"
    put "mem_${n}_anon" "$peak"
    put "mem_${n}_hwm" "$hwm"
}

# ------------------------------------------------------------------ setup
if [[ $INSTALL == 1 ]]; then
    ae_section "Installing packages, Citus and the extension"
    ae_install_packages "${AE_BASE_PKGS[@]}" dataset-fashion-mnist
    [[ -f "$CITUS_DIR/build.sh" ]] || ae_die "$CITUS_DIR/build.sh not found: the benchmark needs ../shared/citus"
    PG_CONFIG="$AE_PG_CONFIG" bash "$CITUS_DIR/build.sh"
    if ! (ae_build_install) >"$AE_WORK/bench-build.log" 2>&1; then
        cat "$AE_WORK/bench-build.log"
        ae_die "build failed"
    fi
fi
libdir="$("$AE_PG_BIN/pg_config" --pkglibdir)"
[[ -f "$libdir/citus.so" ]] || ae_die "citus.so not found in $libdir"
[[ -f "$libdir/autoencoder.so" ]] || ae_die "autoencoder.so not found in $libdir"
ae_info "PostgreSQL $("$AE_PG_BIN/postgres" --version | awk '{print $3}') at $AE_PG_BIN; citus.so and autoencoder.so in $libdir"

ae_section "Clusters: Citus coordinator + 2 workers, single node"
mkdir -p "$SOCK"
chown "$AE_PG_USER:" "$SOCK"
start_node coord "$PORT0" "shared_preload_libraries = 'citus'"
start_node w1 $((PORT0 + 1)) "shared_preload_libraries = 'citus'"
start_node w2 $((PORT0 + 2)) "shared_preload_libraries = 'citus'"
start_node single $((PORT0 + 3)) ""
for n in coord w1 w2; do q "$n" -q -c "CREATE EXTENSION citus"; done
q coord -q -At <<SQL >/dev/null
SELECT citus_set_coordinator_host('127.0.0.1', $PORT0);
SELECT citus_add_node('127.0.0.1', $((PORT0 + 1)));
SELECT citus_add_node('127.0.0.1', $((PORT0 + 2)));
SQL
TABLES="
SET client_min_messages = warning;
CREATE EXTENSION autoencoder;
CREATE TABLE fmnist_train (id int PRIMARY KEY, label int NOT NULL, img real[] NOT NULL);
CREATE TABLE fmnist_test (LIKE fmnist_train INCLUDING ALL);
CREATE TABLE models5 (name text PRIMARY KEY, model autoencoder.model NOT NULL);"
q single -q -c "$TABLES"
q coord -q -At <<SQL >/dev/null
$TABLES
SELECT autoencoder.citus_setup();
SELECT create_distributed_table('fmnist_train', 'id');
SELECT create_distributed_table('fmnist_test', 'id', colocate_with => 'fmnist_train');
SELECT create_reference_table('models5');
SQL
ae_info "Citus $(q coord -At -c "SELECT extversion FROM pg_extension WHERE extname = 'citus'"): $(q coord -At -c "
    SELECT count(DISTINCT nodeport) || ' workers, ' || count(*) || ' shards' FROM citus_shards
    WHERE table_name = 'fmnist_train'::regclass")"

ae_section "Loading Fashion-MNIST into both"
loader="$(ae_fmnist_loader)"
for split in train test; do
    prefix=$split
    [[ $split == test ]] && prefix=t10k
    "$loader" "$AE_FMNIST_DIR/$prefix-images-idx3-ubyte.gz" "$AE_FMNIST_DIR/$prefix-labels-idx1-ubyte.gz" \
        >"$AE_WORK/$split.copy"
    chmod 644 "$AE_WORK/$split.copy"
    for n in single coord; do
        q "$n" -q -c "\\copy fmnist_$split (id, label, img) FROM '$AE_WORK/$split.copy'"
    done
    rm -f "$AE_WORK/$split.copy"
done
for n in single coord; do
    q "$n" -q -c 'VACUUM ANALYZE fmnist_train, fmnist_test'
    ae_info "$n: $(q "$n" -At -c "SELECT (SELECT count(*) FROM fmnist_train) || ' training and '
        || (SELECT count(*) FROM fmnist_test) || ' test rows'")"
done

# ------------------------------------------------------------------ 1. PCA-64
ae_section "1. fit PCA-64 over the 60,000 training rows"
PCA64='{"latent_dim": 64, "activation": "linear", "scaling": "none"}'
best pca64 "SELECT md5(autoencoder.fit(img, '$PCA64')::text) FROM fmnist_train;"
put pca64_models "$(sort -u "$AE_WORK/pca64.citus" | grep -cE '^[0-9a-f]{32}$')"
# informational, not the target: the same with at most 2 connections per
# worker (the README's suggestion when the coordinator and the workers share
# one machine's few cores; the default is 16)
bp=""
for _ in $(seq "$RUNS"); do
    ms=$(time_ms coord "SET citus.max_adaptive_executor_pool_size = 2;
        SELECT md5(autoencoder.fit(img, '$PCA64')::text) FROM fmnist_train;")
    ae_info "pca64 citus, pool size 2: $(calc "$ms/1000" %.2f) s"
    if [[ -z "$bp" ]] || awk "BEGIN { exit !($ms < $bp) }"; then bp=$ms; fi
done
put pca64_pool2 "$bp"
for n in coord single; do
    q "$n" -q -c "SET client_min_messages = warning;
        SELECT autoencoder.save('pca64', (SELECT autoencoder.fit(img, '$PCA64') FROM fmnist_train))" >/dev/null
    put "mse_$n" "$(q "$n" -At -c "SELECT avg(autoencoder.reconstruction_error('pca64', img)) FROM fmnist_test")"
done
ae_info "test MSE: Citus $(get mse_coord), single node $(get mse_single)"

# ------------------------------------------------------------------ 2. PCA-16 GROUP BY label
ae_section "2. fit PCA-16 GROUP BY label, and inside a CTE"
PCA16='{"latent_dim": 16, "activation": "linear", "scaling": "none"}'
best pca16 "SELECT count(*) FROM (SELECT label, autoencoder.fit(img, '$PCA16') AS m FROM fmnist_train GROUP BY label) g WHERE m IS NOT NULL;"
# informational, not the target: the coordinator's final function forms
# each label's co-moments from the rows the workers sent, on one core unless
# autoencoder.threads says more (the README's suggestion for a coordinator)
bt=""
for _ in $(seq "$RUNS"); do
    ms=$(time_ms coord "SET autoencoder.threads = $(nproc);
        SELECT count(*) FROM (SELECT label, autoencoder.fit(img, '$PCA16') AS m FROM fmnist_train GROUP BY label) g WHERE m IS NOT NULL;")
    ae_info "pca16 citus, autoencoder.threads $(nproc) on the coordinator: $(calc "$ms/1000" %.2f) s"
    if [[ -z "$bt" ]] || awk "BEGIN { exit !($ms < $bt) }"; then bt=$ms; fi
done
put pca16_threads "$bt"
put max_irs "$(q coord -At -c 'SHOW citus.max_intermediate_result_size')"
cte="WITH g AS (SELECT label, autoencoder.fit(img, '$PCA16') AS m FROM fmnist_train GROUP BY label)
     SELECT count(*) FROM g WHERE m IS NOT NULL;"
if ms=$(time_ms coord "$cte") && [[ "$(grep -E '^[0-9]+$' "$AE_WORK/last.out" | tail -n 1)" == 10 ]]; then
    put cte_ok yes
    put cte_ms "$ms"
else
    put cte_ok no
fi
ae_info "CTE on Citus: $(get cte_ok) ($(get cte_ms) ms)"

# ------------------------------------------------------------------ 3. 5-model join
ae_section "3. 5 models in a reference table, image table outer"
# five PCA models, each fitted on a fifth of the rows, made on the
# coordinator and copied (as text) to the single node: both join the same
for k in 8 12 16 20 24; do
    q coord -q -c "SET client_min_messages = warning;
        INSERT INTO models5 SELECT 'pca$k', autoencoder.fit(img, '{\"latent_dim\": $k, \"activation\": \"linear\", \"scaling\": \"none\"}')
        FROM fmnist_train WHERE id % 5 = $((k % 5))"
done
q coord -At -c "COPY models5 TO STDOUT" | q single -q -c "COPY models5 FROM STDIN"
for n in coord single; do q "$n" -q -c "ANALYZE models5"; done
JOIN5="SELECT count(autoencoder.encode(m.model, t.img)) FROM fmnist_train t CROSS JOIN models5 m;"
q coord -At -c "EXPLAIN (COSTS OFF) $JOIN5" >"$AE_WORK/join5.plan"
q single -At -c "EXPLAIN (COSTS OFF) $JOIN5" >>"$AE_WORK/join5.plan"
best join5 "$JOIN5"
put join5_md5_citus "$(q coord -At -c "SELECT md5(string_agg(c, ';' ORDER BY c)) FROM (SELECT autoencoder.encode(m.model, t.img)::text AS c FROM fmnist_test t CROSS JOIN models5 m) s")"
put join5_md5_single "$(q single -At -c "SELECT md5(string_agg(c, ';' ORDER BY c)) FROM (SELECT autoencoder.encode(m.model, t.img)::text AS c FROM fmnist_test t CROSS JOIN models5 m) s")"

# ------------------------------------------------------------------ 4. memory
ae_section "4. Memory: nonlinear fit (latent 32, hidden 256, 1 epoch)"
NL='{"latent_dim": 32, "hidden_units": [256], "epochs": 1, "seed": 7}'
# the single node's plan for it (parallel workers, when the planner takes
# them, combine their states in the backend measured)
workers=$(q single -At -c "EXPLAIN SELECT autoencoder.fit(img, '$NL') FROM fmnist_train" |
    sed -nE 's/.*Workers Planned: ([0-9]+).*/\1/p')
put nl_plan_single "$([[ -n "$workers" ]] && echo "parallel, $workers workers" || echo serial)"
for n in coord single; do
    peak_mem "$n" "SELECT md5(autoencoder.fit(img, '$NL')::text) FROM fmnist_train;"
    put "nl_md5_$n" "$(grep -E '^[0-9a-f]{32}$' "$AE_WORK/mem.out" | tail -n 1)"
    ae_info "$n: peak RssAnon $(calc "$(get "mem_${n}_anon")/1024" %.1f) MB, VmHWM $(calc "$(get "mem_${n}_hwm")/1024" %.1f) MB, model $(get "nl_md5_$n")"
done
for k in anon hwm s; do put "mem_default_$k" "$(get "mem_single_$k")"; done
# and the single node without parallel workers (the smaller of its figures)
peak_mem single "SET max_parallel_workers_per_gather = 0; SELECT md5(autoencoder.fit(img, '$NL')::text) FROM fmnist_train;"
for k in anon hwm s; do put "mem_serial_$k" "$(get "mem_single_$k")"; done
put nl_md5_serial "$(grep -E '^[0-9a-f]{32}$' "$AE_WORK/mem.out" | tail -n 1)"

# ------------------------------------------------------------------ the table
ae_section "Citus (coordinator + 2 workers, 32 shards) vs single node, $(date -u +%Y-%m-%d), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
r_pca64=$(calc "$(get pca64_citus) / $(get pca64_single)" %.2f)
r_pca16=$(calc "$(get pca16_citus) / $(get pca16_single)" %.2f)
r_join5=$(calc "$(get join5_citus) / $(get join5_single)" %.2f)
r_mem=$(calc "$(get mem_coord_anon) / $(get mem_default_anon)" %.2f)
r_hwm=$(calc "$(get mem_coord_hwm) / $(get mem_default_hwm)" %.2f)
r_mem_serial=$(calc "$(get mem_coord_anon) / $(get mem_serial_anon)" %.2f)
mse_rel=$(calc "($(get mse_coord) - $(get mse_single)) / $(get mse_single)" %.1e)
row() { printf '| %-58s | %14s | %14s | %-30s |\n' "$@"; }
printf '\n'
row "measure (best of $RUNS)" "Citus" "single node" "ratio / target"
row "----------------------------------------------------------" "--------------" "--------------" "------------------------------"
row "1. fit PCA-64, 60,000 x 784" "$(calc "$(get pca64_citus)/1000" %.2f) s" "$(calc "$(get pca64_single)/1000" %.2f) s" \
    "${r_pca64}x, <= 1.5: $(pf "$r_pca64 <= 1.5")"
row "   PCA-64 test MSE (10,000 rows)" "$(calc "$(get mse_coord)" %.10f)" "$(calc "$(get mse_single)" %.10f)" \
    "rel $mse_rel, <= 1e-6: $(pf "($(get mse_coord) - $(get mse_single))^2 <= (1e-6 * $(get mse_single))^2")"
row "   PCA-64 model bit-identical over the $RUNS Citus runs" "" "" \
    "$( [[ $(get pca64_models) == 1 ]] && echo PASS || echo "FAIL ($(get pca64_models) models)")"
row "   Citus with max_adaptive_executor_pool_size 2 (info)" "$(calc "$(get pca64_pool2)/1000" %.2f) s" "" \
    "$(calc "$(get pca64_pool2) / $(get pca64_single)" %.2f)x (not the target)"
row "2. fit PCA-16 GROUP BY label (10 models)" "$(calc "$(get pca16_citus)/1000" %.2f) s" "$(calc "$(get pca16_single)/1000" %.2f) s" \
    "${r_pca16}x, <= 2: $(pf "$r_pca16 <= 2")"
row "   Citus with autoencoder.threads $(nproc) on the coordinator (info)" "$(calc "$(get pca16_threads)/1000" %.2f) s" "" \
    "$(calc "$(get pca16_threads) / $(get pca16_single)" %.2f)x (not the target)"
row "   the same in a CTE, max_intermediate_result_size $(get max_irs)" \
    "$( [[ $(get cte_ok) == yes ]] && echo "$(calc "$(get cte_ms)/1000" %.2f) s" || echo ERROR)" "" \
    "works: $( [[ $(get cte_ok) == yes ]] && echo PASS || echo FAIL)"
row "3. encode, 5 models (reference table) x 60,000 images" "$(calc "$(get join5_citus)/1000" %.2f) s" "$(calc "$(get join5_single)/1000" %.2f) s" \
    "${r_join5}x, <= 1.5: $(pf "$r_join5 <= 1.5")"
row "   codes of the 5 x 10,000 test images equal" "" "" \
    "$( [[ $(get join5_md5_citus) == "$(get join5_md5_single)" ]] && echo PASS || echo FAIL)"
row "4. nonlinear fit, peak RssAnon (coordinator / backend)" "$(calc "$(get mem_coord_anon)/1024" %.1f) MB" \
    "$(calc "$(get mem_default_anon)/1024" %.1f) MB" "${r_mem}x, <= 1.2: $(pf "$r_mem <= 1.2")"
row "   VmHWM (includes shared buffers touched)" "$(calc "$(get mem_coord_hwm)/1024" %.1f) MB" \
    "$(calc "$(get mem_default_hwm)/1024" %.1f) MB" "${r_hwm}x"
row "   the fit's time (one run); the single node's plan" "$(get mem_coord_s) s" "$(get mem_default_s) s" "$(get nl_plan_single)"
row "   single node without parallel workers: peak RssAnon" "" "$(calc "$(get mem_serial_anon)/1024" %.1f) MB" \
    "${r_mem_serial}x, <= 1.2: $(pf "$r_mem_serial <= 1.2")"
row "   the models bit-identical (same seed, all three runs)" "" "" \
    "$( [[ -n $(get nl_md5_coord) && $(get nl_md5_coord) == "$(get nl_md5_single)" && $(get nl_md5_coord) == "$(get nl_md5_serial)" ]] && echo PASS || echo FAIL)"
printf '\n'
ae_info "plans of the 5-model join (Citus, then single node):"
sed 's/^/    /' "$AE_WORK/join5.plan"
ae_info "benchmark took $((SECONDS - bench_start)) s"
