#!/usr/bin/env bash
# The trials of issue 11, re-measured (not part of CI; about 3 minutes):
#
#   bash bench/quality.sh        (as root, on Debian 12)
#
# Generates scikit-learn's digits (1,797 x 64, from Debian's python3-sklearn
# data file) and 100,000 synthetic sentence-like embeddings (384-d; see
# bench/quality/gen.py, plain seeded Python), starts a throwaway cluster,
# trains each model of bench/quality/measure.sql on both (old defaults,
# hidden layers, tanh, linear by gradient descent, exact PCA with and without
# scaling, the new defaults, scaling l2, the similarity objective) and prints
# evaluate()'s recall@10 and mean squared error for each: the README's
# second quality table.
set -euo pipefail

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"

ae_section "Installing packages"
ae_install_packages "${AE_BASE_PKGS[@]}" python3-sklearn

ae_section "Building and installing the extension"
ae_build_install >"$AE_WORK/build.log" 2>&1 || { cat "$AE_WORK/build.log"; ae_die "build failed"; }

ae_section "Generating the data (about 90 s)"
data="$AE_WORK/quality-data"
mkdir -p "$data"
(cd "$data" && python3 "$AE_ROOT/bench/quality/gen.py")
cp "$AE_ROOT/bench/quality/measure.sql" "$data/"
chown -R "$AE_PG_USER" "$data"
chmod 755 "$AE_WORK" "$data"

ae_section "Training and measuring"
ae_cluster_start
AE_AS_PG_CWD="$data" ae_psql -f measure.sql
