-- The trials of issue 11, re-measured (the README's second quality table):
-- each model trained on digits (64 -> 16) and on synthetic embeddings
-- (384 -> 32), then evaluate() on all rows.  Run by bench/quality.sh.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET autoencoder.threads = 2;
\pset pager off
DROP EXTENSION IF EXISTS autoencoder CASCADE;
CREATE EXTENSION autoencoder;
DROP TABLE IF EXISTS digits, emb, results;
CREATE TABLE digits (id int PRIMARY KEY, x real[]);
\copy digits FROM 'digits.tsv'
CREATE TABLE emb (id int PRIMARY KEY, x real[]);
\copy emb FROM 'emb.tsv'
CREATE TABLE results (data text, model text, seconds float8, mse float8, recall_cos float8, recall_l2 float8, best_epoch int);
CREATE FUNCTION run(data text, tab text, k int, model text, opts text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp(); secs float8; nm text := data || '_' || md5(model);
BEGIN
  EXECUTE format('SELECT autoencoder.train(%L, %L, latent_dim => %s %s)', nm, 'SELECT x FROM ' || tab || ' ORDER BY id', k, opts);
  secs := extract(epoch FROM clock_timestamp() - t0);
  INSERT INTO results SELECT data, model, secs, e.mse, e.recall_at_10_cosine, e.recall_at_10_l2,
         (SELECT (metrics->>'best_epoch')::int FROM autoencoder.models WHERE name = nm AND deployed)
  FROM autoencoder.evaluate(nm, 'SELECT x FROM ' || tab) e;
  RAISE WARNING '% % done in % s', data, model, round(secs::numeric, 1);
END $$;
SELECT count(*) AS trained FROM (SELECT run(d, t, k, m, o) FROM (VALUES
 ('old defaults (relu code, standard scaling, 20 epochs)', ', residual => false, hidden_units => ''{}'', epochs => 20'),
 ('relu with a hidden layer {256}, 20 epochs', ', residual => false, hidden_units => ''{256}'', epochs => 20'),
 ('tanh, 20 epochs', ', residual => false, hidden_units => ''{}'', activation => ''tanh'', epochs => 20'),
 ('linear by gradient descent, 20 epochs', ', activation => ''linear'', solver => ''sgd'', epochs => 20'),
 ('exact PCA, scaling none', ', activation => ''linear'', scaling => ''none'''),
 ('exact PCA, standard scaling', ', activation => ''linear'''),
 ('new defaults (latent_dim only)', ''),
 ('new defaults, scaling l2', ', scaling => ''l2'''),
 ('scaling l2, similarity_weight 1', ', scaling => ''l2'', similarity_weight => 1')) m(m, o),
 (VALUES ('digits 64 -> 16', 'digits', 16), ('embeddings 384 -> 32', 'emb', 32)) dd(d, t, k)) runs;
SELECT data, model, round(seconds::numeric, 1) s, round(mse::numeric, 7) mse, round(recall_cos::numeric, 3) rc, round(recall_l2::numeric, 3) rl, best_epoch FROM results ORDER BY data, model;
