#!/usr/bin/env bash
# Demo of the autoencoder PostgreSQL extension on Fashion-MNIST.
#
#   bash scripts/demo.sh          (as root, on Debian 12; ~5 minutes on 2 cores)
#
# Installs the packages (incl. dataset-fashion-mnist), builds and installs the
# extension, starts a throwaway PostgreSQL 15 cluster (as the postgres user),
# loads Fashion-MNIST into fmnist_train / fmnist_test, then in psql (statements
# are echoed): trains an autoencoder, measures the test reconstruction error,
# encodes a few rows, trains a denoising autoencoder and shows clean / noisy /
# denoised images as ASCII art. The cluster is removed on exit.
set -euo pipefail

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

demo_start=$SECONDS

ae_section "Installing packages"
ae_install_packages "${AE_BASE_PKGS[@]}" dataset-fashion-mnist

ae_section "Building and installing the extension"
if ! (ae_build_install) >"$AE_WORK/demo-build.log" 2>&1; then
    cat "$AE_WORK/demo-build.log"
    ae_die "build failed"
fi
grep -E '^/usr/bin/install|warning:' "$AE_WORK/demo-build.log" || true
ae_info "installed into $("$AE_PG_CONFIG" --pkglibdir) (full log: make output above suppressed)"

ae_section "Starting a throwaway PostgreSQL 15 cluster"
ae_cluster_start

ae_section "Loading Fashion-MNIST (60000 train + 10000 test images, 28x28, scaled to [0,1])"
t0=$SECONDS
ae_load_fmnist
ae_info "loaded in $((SECONDS - t0)) s"

ae_section "Demo session (psql; statements are echoed)"
cat >"$AE_WORK/demo.sql" <<'SQL'
\set QUIET on
\pset pager off
\timing on
\set QUIET off
\echo
\echo '--- 1. Install the extension'
CREATE EXTENSION autoencoder;

\echo
\echo '--- 2. Train a 784-256-64-256-784 autoencoder (one NOTICE per epoch)'
SET client_min_messages = notice;
SELECT autoencoder.train('fmnist', 'SELECT img FROM fmnist_train',
                         latent_dim => 64, hidden_units => '{256}',
                         output_activation => 'sigmoid', scaling => 'none',
                         epochs => 10, batch_size => 256,
                         validation_fraction => 0.1, seed => 1);

\echo
\echo '--- 3. Mean squared reconstruction error on the 10000 test images'
SELECT avg(autoencoder.reconstruction_error('fmnist', img)) AS test_mse
FROM fmnist_test;

\echo
\echo '--- 4. Encode a few test images (first 8 of 64 latent values)'
SELECT id, label, (autoencoder.encode('fmnist', img))[1:8] AS latent_1_8
FROM fmnist_test ORDER BY id LIMIT 5;

\echo
\echo '--- 5. Train a denoising autoencoder (inputs corrupted by Gaussian noise, sigma 0.2)'
SELECT autoencoder.train('fmnist_denoise', 'SELECT img FROM fmnist_train',
                         latent_dim => 64, hidden_units => '{256}',
                         output_activation => 'sigmoid', scaling => 'none',
                         noise => 'gaussian', noise_level => 0.2,
                         epochs => 10, seed => 1);

\echo
\echo '--- 6. Noisy copies of 1000 test images: x + N(0, 0.2^2), clipped to [0,1]'
\echo '---    (Box-Muller on random(); setseed() makes it deterministic)'
SELECT setseed(0.42);
CREATE TEMP TABLE fmnist_noisy AS
SELECT t.id, t.label, t.img AS clean,
       ARRAY(SELECT least(1.0, greatest(0.0,
                        u.v + 0.2 * sqrt(-2.0 * ln(1.0 - random()))
                                  * cos(2.0 * pi() * random())))::real
             FROM unnest(t.img) WITH ORDINALITY AS u(v, i)
             ORDER BY u.i) AS noisy
FROM (SELECT id, label, img FROM fmnist_test ORDER BY id LIMIT 1000) AS t;

\echo
\echo '--- 7. MSE against the clean images: noisy input, denoising model, plain model'
SELECT round(avg(noisy_mse)::numeric, 5)    AS noisy_vs_clean,
       round(avg(denoised_mse)::numeric, 5) AS denoised_vs_clean,
       round(avg(plain_mse)::numeric, 5)    AS plain_model_vs_clean
FROM (SELECT (SELECT avg((a - b) ^ 2) FROM unnest(noisy, clean) AS u(a, b)) AS noisy_mse,
             (SELECT avg((a - b) ^ 2)
                FROM unnest(autoencoder.denoise('fmnist_denoise', noisy), clean) AS u(a, b)) AS denoised_mse,
             (SELECT avg((a - b) ^ 2)
                FROM unnest(autoencoder.reconstruct('fmnist', noisy), clean) AS u(a, b)) AS plain_mse
      FROM fmnist_noisy) AS s;

\echo
\echo '--- 8. Clean | noisy | denoised, as ASCII art (2 characters per pixel)'
-- one 28-pixel row of an image, ramp " .:-=+*#%@" (dark -> bright)
CREATE FUNCTION pg_temp.ascii_row(img real[], r int) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT string_agg(repeat(substr(' .:-=+*#%@',
                                  1 + least(9, greatest(0, floor(img[r * 28 + c + 1] * 10)::int)),
                                  1), 2), '' ORDER BY c)
  FROM generate_series(0, 27) AS c
$$;
\set QUIET on
\pset format unaligned
\pset tuples_only on
\timing off
WITH pick AS (
    SELECT id, label, clean, noisy,
           autoencoder.denoise('fmnist_denoise', noisy) AS denoised,
           (ARRAY['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal',
                  'Shirt', 'Sneaker', 'Bag', 'Ankle boot'])[label + 1] AS label_name
    FROM fmnist_noisy
    WHERE id IN (1, 2)
)
SELECT line FROM (
    SELECT id, -1 AS r,
           rpad(format('clean (test id %s: %s)', id, label_name), 56) || ' | ' ||
           rpad('noisy (sigma 0.2)', 56) || ' | ' || 'denoised' AS line
    FROM pick
    UNION ALL
    SELECT id, r,
           pg_temp.ascii_row(clean, r) || ' | ' || pg_temp.ascii_row(noisy, r) || ' | ' ||
           pg_temp.ascii_row(denoised, r)
    FROM pick, generate_series(0, 27) AS r
    UNION ALL
    SELECT id, 28, '' FROM pick
) AS art
ORDER BY id, r;
\pset format aligned
\pset tuples_only off
\timing on
\set QUIET off

\echo
\echo '--- 9. The model catalog'
SELECT id, name, version, input_dim, latent_dim, deployed,
       metrics->'final_validation_loss' AS final_validation_loss
FROM autoencoder.models
ORDER BY id;
SQL
chmod 644 "$AE_WORK/demo.sql"
# fed on stdin (not -f) so NOTICE lines carry no "psql:file:line:" prefix
ae_psql -e <"$AE_WORK/demo.sql"

ae_section "Demo finished in $((SECONDS - demo_start)) s (cluster is stopped and removed on exit)"
