#!/usr/bin/env bash
# Demo of the autoencoder PostgreSQL extension.
#
#   bash scripts/demo.sh          (as root, on Debian 12; ~6 minutes on 2 cores)
#
# Installs the packages (incl. dataset-fashion-mnist), builds and installs the
# extension, starts a throwaway PostgreSQL 15 cluster (as the postgres user),
# loads Fashion-MNIST into fmnist_train / fmnist_test, then in psql (statements
# are echoed):
#   part 1, the main job: an embedding column reduced 128 -> 32 with the
#     defaults, measured against PCA (error and recall@10), the
#     codes materialised with their version by encode_table, a
#     cold retrain aligned onto the stored codes and re-encoded;
#   part 2, images: trains an autoencoder on Fashion-MNIST, measures the test
#     reconstruction error, encodes a few rows, trains codes that keep
#     neighbours (the similarity objective) against PCA, trains a denoising
#     autoencoder and shows clean / noisy / denoised images as ASCII art.
# The cluster is removed on exit.
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
\echo '=== Part 1: reducing an embedding column (the main job)'
\echo
\echo '--- 1. Install the extension; a table of 10,000 items with 128-d unit-length embeddings'
\echo '---    (50 categories, each a direction in a 16-d subspace, plus noise)'
CREATE EXTENSION autoencoder;
SELECT setseed(0.42);
CREATE TABLE items AS
WITH category AS (
    SELECT c, ARRAY(SELECT CASE WHEN j <= 16 THEN random() - 0.5 ELSE 0 END + 0 * c
                    FROM generate_series(1, 128) j) AS center
    FROM generate_series(0, 49) c),
raw AS (
    SELECT i, c, ARRAY(SELECT x + 0.35 * (random() - 0.5) FROM unnest(center) x) AS e
    FROM generate_series(1, 10000) i JOIN category ON c = i % 50)
SELECT i::bigint AS id, c AS category,
       ARRAY(SELECT x / (SELECT sqrt(sum(y * y)) FROM unnest(e) y)
             FROM unnest(e) WITH ORDINALITY u(x, k) ORDER BY k)::real[] AS embedding
FROM raw;
ALTER TABLE items ADD PRIMARY KEY (id);

\echo
\echo '--- 2. Train 128 -> 32 with the defaults: the network starts at PCA (epoch 0),'
\echo '---    its length is chosen from the data, and the epoch kept is never worse than PCA'
SET client_min_messages = notice;
SELECT autoencoder.train('items_ae', 'SELECT embedding FROM items', latent_dim => 32);

\echo
\echo '--- 3. Against PCA of the same size: error and recall@10 (neighbours kept), cosine and L2'
SELECT rows, round(mse::numeric, 6) AS mse, round(pca_mse::numeric, 6) AS pca_mse,
       round(recall_at_10_cosine::numeric, 3) AS recall_cos,
       round(pca_recall_at_10_cosine::numeric, 3) AS pca_recall_cos,
       round(recall_at_10_l2::numeric, 3) AS recall_l2,
       round(pca_recall_at_10_l2::numeric, 3) AS pca_recall_l2
FROM autoencoder.evaluate('items_ae', 'SELECT embedding FROM items');

\echo
\echo '--- 4. Materialise the codes with their version, batch by batch (resumable)'
ALTER TABLE items ADD COLUMN code real[], ADD COLUMN code_version int;
CALL autoencoder.encode_table('items_ae', 'items', 'embedding', batch_size => 2500);
SELECT code_version, count(*) FROM items GROUP BY 1;

\echo
\echo '--- 5. A cold retrain (another seed): aligned onto version 1, so the stored codes stay usable'
SELECT autoencoder.train('items_ae', 'SELECT embedding FROM items', latent_dim => 32, seed => 7);
SELECT version, metrics->'alignment' AS alignment
FROM autoencoder.models WHERE name = 'items_ae' ORDER BY version;
\echo '---    (and the same retrain without alignment, not deployed, for comparison)'
SELECT autoencoder.train('items_ae', 'SELECT embedding FROM items', latent_dim => 32, seed => 7,
                         align => false, deploy => 'never');
\echo '---    recall@10 for 20 query rows against exact cosine search on the embeddings:'
\echo '---    query codes of version 2 (or 3) searched among the codes stored from version 1'
CREATE FUNCTION pg_temp.cos(a real[], b real[]) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
    SELECT sum(x * y) / sqrt(sum(x * x) * sum(y * y)) FROM unnest(a, b) u(x, y) $$;
CREATE TEMP TABLE truth AS
SELECT q.id AS qid, n.id FROM items q,
       LATERAL (SELECT i.id FROM items i WHERE i.id <> q.id
                ORDER BY pg_temp.cos(q.embedding, i.embedding) DESC LIMIT 10) n
WHERE q.id % 500 = 0;
CREATE TEMP TABLE stored AS
SELECT 1 AS version, id, code FROM items
UNION ALL SELECT 2, id, autoencoder.encode('items_ae', embedding, 2) FROM items;
CREATE FUNCTION pg_temp.recall(query_version int, stored_version int) RETURNS numeric LANGUAGE sql AS $$
    SELECT round(avg(hits) / 10, 3) FROM (
        SELECT (SELECT count(*)
                FROM (SELECT s.id FROM stored s WHERE s.version = stored_version AND s.id <> q.id
                      ORDER BY pg_temp.cos(autoencoder.encode('items_ae', q.embedding, query_version), s.code) DESC
                      LIMIT 10) n
                JOIN truth t ON t.qid = q.id AND t.id = n.id) AS hits
        FROM items q WHERE q.id % 500 = 0) h $$;
SELECT pg_temp.recall(2, 2) AS new_codes_among_new_codes,
       pg_temp.recall(2, 1) AS aligned_new_among_old,
       pg_temp.recall(3, 1) AS unaligned_new_among_old;
\echo '---    encode_table now re-encodes only the rows of version 1'
CALL autoencoder.encode_table('items_ae', 'items', 'embedding', batch_size => 5000);
SELECT code_version, count(*) FROM items GROUP BY 1;
SELECT name, version, deploy_mode, deployed_by_training, reason FROM autoencoder.runs ORDER BY name, version;

\echo
\echo '=== Part 2: images (Fashion-MNIST)'

\echo
\echo '--- 6. Train a 784-256-64-256-784 autoencoder (one NOTICE per epoch)'
SET client_min_messages = notice;
SELECT autoencoder.train('fmnist', 'SELECT img FROM fmnist_train',
                         latent_dim => 64, hidden_units => '{256}',
                         output_activation => 'sigmoid', scaling => 'none',
                         epochs => 10, batch_size => 256,
                         validation_fraction => 0.1, seed => 1);

\echo
\echo '--- 7. Mean squared reconstruction error on the 10000 test images'
SELECT avg(autoencoder.reconstruction_error('fmnist', img)) AS test_mse
FROM fmnist_test;

\echo
\echo '--- 8. Encode a few test images (first 8 of 64 latent values)'
SELECT id, label, (autoencoder.encode('fmnist', img))[1:8] AS latent_1_8
FROM fmnist_test ORDER BY id LIMIT 5;

\echo
\echo '--- 9. The images as embeddings: codes that keep neighbours (784 -> 32, similarity objective),'
\echo '---    recall@10 by cosine on the test images against PCA-32 with and without scaling'
SELECT autoencoder.train('fmnist_sim', 'SELECT img FROM fmnist_train', latent_dim => 32,
                         similarity_weight => 1, epochs => 12);
SELECT autoencoder.save('fmnist_pca32', autoencoder.fit(img, '{"latent_dim": 32, "activation": "linear", "scaling": "none"}'))
FROM fmnist_train;
SELECT round(s.recall_at_10_cosine::numeric, 3) AS similarity_model,
       round(s.pca_recall_at_10_cosine::numeric, 3) AS pca32_standard_scaling,
       round(p.recall_at_10_cosine::numeric, 3) AS pca32_no_scaling
FROM autoencoder.evaluate('fmnist_sim', 'SELECT img FROM fmnist_test') s,
     autoencoder.evaluate('fmnist_pca32', 'SELECT img FROM fmnist_test') p;
\echo
\echo '--- 10. Train a denoising autoencoder (inputs corrupted by Gaussian noise, sigma 0.2)'
SELECT autoencoder.train('fmnist_denoise', 'SELECT img FROM fmnist_train',
                         latent_dim => 64, hidden_units => '{256}',
                         output_activation => 'sigmoid', scaling => 'none',
                         noise => 'gaussian', noise_level => 0.2,
                         epochs => 10, seed => 1);

\echo
\echo '--- 11. Noisy copies of 1000 test images: x + N(0, 0.2^2), clipped to [0,1]'
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
\echo '--- 12. MSE against the clean images: noisy input, denoising model, plain model'
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
\echo '--- 13. Clean | noisy | denoised, as ASCII art (2 characters per pixel)'
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
\echo '--- 14. The model catalog'
SELECT id, name, version, input_dim, latent_dim, deployed,
       metrics->'final_validation_loss' AS final_validation_loss
FROM autoencoder.models
ORDER BY id;
SQL
chmod 644 "$AE_WORK/demo.sql"
# fed on stdin (not -f) so NOTICE lines carry no "psql:file:line:" prefix
ae_psql -e <"$AE_WORK/demo.sql"

ae_section "Demo finished in $((SECONDS - demo_start)) s (cluster is stopped and removed on exit)"
