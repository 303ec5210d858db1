# shellcheck shell=bash
# Shared helpers for scripts/test.sh, scripts/demo.sh (and benchmarks).
#
# Source this file from a script running as root with `set -euo pipefail`.
# It provides:
#   ae_section <title>            print a section header
#   ae_install_packages <pkg...>  apt-get update (once) + apt-get install -y
#   ae_build_install              make clean / all / install (log in $AE_BUILD_LOG)
#   ae_cluster_start              throwaway cluster run by the postgres user
#   ae_cluster_stop               stop it and remove its directory
#   ae_psql <psql args...>        psql as postgres against the cluster
#   ae_as_postgres <cmd...>       run a command as postgres, keeping the env
#   ae_stage_tree                 copy the source tree to a postgres-owned dir
#                                 ($AE_STAGE_DIR)
#   ae_load_fmnist                load Fashion-MNIST into fmnist_train/fmnist_test
# Everything temporary is removed on exit (EXIT trap installed here).

if [[ -n "${AE_COMMON_SOURCED:-}" ]]; then
    return 0
fi
AE_COMMON_SOURCED=1

AE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AE_PG_BIN="${AE_PG_BIN:-/usr/lib/postgresql/15/bin}"
AE_PG_CONFIG="${AE_PG_CONFIG:-$AE_PG_BIN/pg_config}"
AE_PGXS_DIR="${AE_PGXS_DIR:-/usr/lib/postgresql/15/lib/pgxs}"
AE_FMNIST_DIR="${AE_FMNIST_DIR:-/usr/share/datasets/fashion-mnist}"
AE_PG_USER=postgres
# shellcheck disable=SC2034  # used by the scripts sourcing this file
AE_BASE_PKGS=(postgresql-15 postgresql-server-dev-15 libopenblas-dev build-essential)

export LANG="${LANG:-C.UTF-8}"

# Per-run scratch directory (root-owned, world-readable) and cleanup registry.
AE_WORK="$(mktemp -d /tmp/ae-work-XXXXXX)"
chmod 755 "$AE_WORK"
AE_CLEANUP_DIRS=("$AE_WORK")
AE_CLUSTER_DIR=""
AE_APT_UPDATED=""
AE_BUILD_LOG="$AE_WORK/build.log"

ae_section() {
    printf '\n==================================================================\n'
    printf '== %s\n' "$*"
    printf '==================================================================\n'
}

ae_info() { printf '[ae] %s\n' "$*"; }
ae_die() { printf '[ae] ERROR: %s\n' "$*" >&2; exit 1; }

_ae_on_exit() {
    local rc=$?
    set +e
    ae_cluster_stop >/dev/null 2>&1
    local d
    for d in "${AE_CLEANUP_DIRS[@]}"; do
        [[ -n "$d" && -d "$d" ]] && rm -rf -- "$d"
    done
    # Optional hook of the calling script (e.g. test.sh's summary line):
    # called with the exit status; its return value becomes the exit status.
    if declare -F ae_exit_hook >/dev/null; then
        ae_exit_hook "$rc"
        rc=$?
    fi
    exit "$rc"
}
trap _ae_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Run a command as the unprivileged postgres user, keeping the environment
# (PATH, PG*, OPENBLAS_* ...). Runs from a directory postgres can read.
ae_as_postgres() {
    local dir="${AE_AS_PG_CWD:-$AE_WORK}"
    (cd "$dir" && runuser -u "$AE_PG_USER" -- "$@")
}

# ---------------------------------------------------------------- packages
ae_install_packages() {
    (($# > 0)) || return 0
    if [[ $(id -u) -ne 0 ]]; then
        ae_die "must run as root (apt-get install, make install)"
    fi
    export DEBIAN_FRONTEND=noninteractive
    local apt_opts=(-o Dpkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef
        -o Dpkg::Options::=--force-confold)
    if [[ -z "$AE_APT_UPDATED" ]]; then
        ae_info "apt-get update"
        if ! apt-get "${apt_opts[@]}" update -qq; then
            # Still usable when every package is already installed.
            ae_info "WARNING: apt-get update failed"
        fi
        AE_APT_UPDATED=1
    fi
    ae_info "apt-get install -y $*"
    apt-get "${apt_opts[@]}" install -y -q --no-install-recommends "$@" \
        >"$AE_WORK/apt.log" 2>&1 || {
        cat "$AE_WORK/apt.log" >&2
        ae_die "apt-get install failed: $*"
    }
    tail -n 1 "$AE_WORK/apt.log"
    id "$AE_PG_USER" >/dev/null 2>&1 || ae_die "user $AE_PG_USER missing after install"
}

# ---------------------------------------------------------------- build
# make clean / all / install of the extension in $AE_ROOT, as root.
# Full output goes to stdout and $AE_BUILD_LOG (for warning checks).
ae_build_install() {
    local mk=(make -C "$AE_ROOT" PG_CONFIG="$AE_PG_CONFIG")
    [[ -x "$AE_PG_CONFIG" ]] || ae_die "$AE_PG_CONFIG not found (postgresql-server-dev-15 missing?)"
    : >"$AE_BUILD_LOG"
    ae_info "make clean"
    "${mk[@]}" clean >>"$AE_BUILD_LOG" 2>&1 || { cat "$AE_BUILD_LOG"; ae_die "make clean failed"; }
    ae_info "make -j2 all"
    if ! "${mk[@]}" -j2 all 2>&1 | tee -a "$AE_BUILD_LOG"; then
        ae_die "make all failed"
    fi
    ae_info "make install"
    if ! "${mk[@]}" install 2>&1 | tee -a "$AE_BUILD_LOG"; then
        ae_die "make install failed"
    fi
}

# Copy the source tree (without .git) into a fresh directory owned by the
# postgres user, so pg_regress / prove can write results/ and tmp_check/
# there without touching (or chowning) the caller's checkout.
# Sets AE_STAGE_DIR (do not call it in $(...): the cleanup would be lost).
ae_stage_tree() {
    local dst
    dst="$(mktemp -d /tmp/ae-tree-XXXXXX)"
    AE_CLEANUP_DIRS+=("$dst")
    # shellcheck disable=SC2034  # read by the caller
    AE_STAGE_DIR="$dst"
    tar -C "$AE_ROOT" --exclude=./.git --exclude=./results \
        --exclude=./regression.diffs --exclude=./regression.out \
        --exclude=./tmp_check -cf - . | tar -C "$dst" -xf -
    chown -R "$AE_PG_USER:" "$dst"
    chmod 755 "$dst"
    ae_info "staged source tree for the postgres user in $dst"
}

# ---------------------------------------------------------------- cluster
_ae_port_free() {
    local port=$1
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        return 1
    fi
    [[ ! -e "/tmp/.s.PGSQL.$port" ]]
}

# ae_initdb <data dir> <port> <socket dir> <initdb log> [conf lines]: initdb
# as the postgres user, then the settings every throwaway cluster of the
# scripts shares (and the lines given: connections, workers, extras)
ae_initdb() {
    local data=$1 port=$2 sock=$3 log=$4 extra=${5:-}
    ae_as_postgres "$AE_PG_BIN/initdb" -D "$data" -U "$AE_PG_USER" -A trust \
        -E UTF8 --locale=C.UTF-8 --no-sync >"$log" 2>&1 || {
        cat "$log" >&2
        ae_die "initdb $data failed"
    }
    ae_as_postgres tee -a "$data/postgresql.conf" >/dev/null <<EOF

# --- autoencoder throwaway cluster ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sock'
shared_buffers = 256MB
work_mem = 64MB
maintenance_work_mem = 256MB
max_parallel_workers = 4
max_parallel_workers_per_gather = 2
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 4GB
checkpoint_timeout = 30min
logging_collector = off
log_min_messages = warning
lc_messages = 'C'
$extra
EOF
}

# Start a throwaway cluster owned by postgres. Exports PGHOST (unix socket
# directory), PGPORT, PGUSER, PGDATABASE. Stopped/removed by ae_cluster_stop
# (also called automatically on exit).
ae_cluster_start() {
    if [[ -n "$AE_CLUSTER_DIR" ]]; then
        ae_info "cluster already running in $AE_CLUSTER_DIR"
        return 0
    fi
    local port="${AE_PGPORT:-54329}" tries=0
    while ! _ae_port_free "$port"; do
        port=$((port + 1))
        tries=$((tries + 1))
        ((tries < 200)) || ae_die "no free port found near ${AE_PGPORT:-54329}"
    done
    AE_CLUSTER_DIR="$(mktemp -d /tmp/ae-cluster-XXXXXX)"
    chown "$AE_PG_USER:" "$AE_CLUSTER_DIR"
    chmod 700 "$AE_CLUSTER_DIR"
    local data="$AE_CLUSTER_DIR/data" sock="$AE_CLUSTER_DIR/sock"
    ae_as_postgres mkdir -p "$sock"

    ae_info "initdb $data (port $port)"
    ae_initdb "$data" "$port" "$sock" "$AE_CLUSTER_DIR/initdb.log" "max_connections = 50
${AE_EXTRA_PG_CONF:-}"
    ae_info "starting postgres (log: $AE_CLUSTER_DIR/server.log)"
    if ! ae_as_postgres "$AE_PG_BIN/pg_ctl" -D "$data" -l "$AE_CLUSTER_DIR/server.log" \
        -w -t 120 start >/dev/null; then
        cat "$AE_CLUSTER_DIR/server.log" >&2 || true
        ae_die "pg_ctl start failed"
    fi
    export PGHOST="$sock" PGPORT="$port" PGUSER="$AE_PG_USER"
    export PGDATABASE="${AE_PGDATABASE:-postgres}"
    ae_as_postgres "$AE_PG_BIN/pg_isready" -q -t 30 || ae_die "server not ready"
    ae_info "cluster up: PGHOST=$PGHOST PGPORT=$PGPORT PGDATABASE=$PGDATABASE"
}

ae_cluster_stop() {
    [[ -n "$AE_CLUSTER_DIR" ]] || return 0
    local dir="$AE_CLUSTER_DIR"
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        ae_as_postgres "$AE_PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
            ae_as_postgres "$AE_PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf -- "$dir"
    AE_CLUSTER_DIR=""
    unset PGHOST PGPORT
    return 0
}

# Print the server log of the running cluster (for diagnostics).
ae_cluster_log() {
    [[ -n "$AE_CLUSTER_DIR" && -f "$AE_CLUSTER_DIR/server.log" ]] && cat "$AE_CLUSTER_DIR/server.log"
    return 0
}

ae_psql() {
    [[ -n "${PGPORT:-}" ]] || ae_die "ae_psql: no cluster running (call ae_cluster_start)"
    ae_as_postgres "$AE_PG_BIN/psql" -X -v ON_ERROR_STOP=1 "$@"
}

# ---------------------------------------------------------------- data
# Compile test/load_fmnist.c (once per run) and print the binary's path.
ae_fmnist_loader() {
    local bin="$AE_WORK/load_fmnist"
    if [[ ! -x "$bin" ]]; then
        gcc -O2 -Wall -Wextra -Werror -o "$bin" "$AE_ROOT/test/load_fmnist.c" >&2 ||
            ae_die "compiling test/load_fmnist.c failed"
    fi
    printf '%s\n' "$bin"
}

# Create and fill fmnist_train (60000 rows) and fmnist_test (10000 rows):
#   (id int primary key, label int, img real[784] scaled to [0,1])
# Optional: AE_FMNIST_LIMIT=N loads only the first N images of each file.
ae_load_fmnist() {
    local loader dir="$AE_FMNIST_DIR" limit=()
    [[ -n "${AE_FMNIST_LIMIT:-}" ]] && limit=(-n "$AE_FMNIST_LIMIT")
    local f
    for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz \
        t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
        [[ -r "$dir/$f" ]] || ae_die "$dir/$f not found (apt-get install dataset-fashion-mnist)"
    done
    loader="$(ae_fmnist_loader)"
    ae_psql -q <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS fmnist_train, fmnist_test;
-- default storage: the 3.1 kB arrays are compressed inline (about 88 MB for
-- the training table), as in the reference measurements of shared/REFERENCE.md
CREATE TABLE fmnist_train (id int PRIMARY KEY, label int NOT NULL, img real[] NOT NULL);
CREATE TABLE fmnist_test (LIKE fmnist_train INCLUDING ALL);
SQL
    local split
    for split in train test; do
        local prefix=$split
        [[ $split == test ]] && prefix=t10k
        ae_info "loading fmnist_$split from $dir/$prefix-*.gz"
        "$loader" "${limit[@]}" "$dir/$prefix-images-idx3-ubyte.gz" "$dir/$prefix-labels-idx1-ubyte.gz" |
            ae_psql -q -c "\\copy fmnist_$split (id, label, img) FROM pstdin"
    done
    ae_psql -q -c 'ANALYZE fmnist_train, fmnist_test;'
    ae_psql -At -c "SELECT 'fmnist_train: ' || (SELECT count(*) FROM fmnist_train) || ' rows, '
                        || 'fmnist_test: ' || (SELECT count(*) FROM fmnist_test) || ' rows';"
}
