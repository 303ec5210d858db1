-- fit: the aggregate, the model type, exact PCA, parallel plans
\i sql/include/setup.psql

-- exact PCA through train(): a linear model is solved, not trained
SELECT autoencoder.train('pca', 'SELECT x FROM pts', latent_dim => 2, activation => 'linear') > 0 AS trained;
SELECT config->>'solver' AS solver, (metrics->>'epochs_run')::int AS epochs,
       jsonb_array_length(metrics->'explained_variance_ratio') AS components,
       ok(r0 >= r1, format('ratios %s, %s', r(r0), r(r1))) AS descending
FROM autoencoder.models,
     LATERAL (SELECT (metrics->'explained_variance_ratio'->>0)::float8 AS r0,
                     (metrics->'explained_variance_ratio'->>1)::float8 AS r1) v
WHERE name = 'pca';

-- PCA's training error is the variance it leaves out, per element
SELECT autoencoder.train('pca_raw', 'SELECT x FROM pts', latent_dim => 2,
                         activation => 'linear', scaling => 'none') > 0 AS trained;
-- (relative difference, within 1e-6)
SELECT round((abs(loss - (SELECT avg(autoencoder.reconstruction_error('pca_raw', x)) FROM pts))
              / loss)::numeric, 6) AS residual_rel_diff
FROM autoencoder.models, LATERAL (SELECT (metrics->>'final_train_loss')::float8 AS loss) l
WHERE name = 'pca_raw';

-- the aggregate gives the same PCA as train(): same codes within 1e-4
CREATE TABLE fitted AS
SELECT autoencoder.fit(x, '{"latent_dim": 2, "activation": "linear"}') AS m FROM pts;
SELECT round(max(abs(a - b))::numeric, 4) AS codes_max_diff
FROM pts, fitted,
     unnest(autoencoder.encode(fitted.m, x), autoencoder.encode('pca', x)) u(a, b)
WHERE x IS NOT NULL;

-- describe: architecture, options, scaling, metrics, size
SELECT d->'input_dim' AS input_dim, d->'latent_dim' AS latent_dim,
       d->'hidden_units' AS hidden, d->>'activation' AS act,
       d->'config'->>'solver' AS solver, d->>'scaling' AS scaling,
       jsonb_array_length(d->'feature_scaling'->'shift') AS shifts,
       ok((d->>'size_bytes')::int = octet_length(fitted.m::text) / 2,
          format('size_bytes %s, %s bytes', d->>'size_bytes', octet_length(fitted.m::text) / 2)) AS size,
       d->'training'->'rows_read' AS rows_read, d->'training'->'rows_skipped' AS skipped,
       jsonb_array_length(d->'training'->'explained_variance_ratio') AS ratios
FROM fitted, LATERAL autoencoder.describe(fitted.m) d;

-- parallel: Partial Aggregate across workers gives the same PCA
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF)
SELECT autoencoder.fit(x, '{"latent_dim": 2, "activation": "linear"}') FROM many;
CREATE TABLE fit_parallel AS
SELECT autoencoder.fit(x, '{"latent_dim": 2, "activation": "linear"}') AS m FROM many;
-- (serial: 0 workers; RESET would return to the server's setting)
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF)
SELECT autoencoder.fit(x, '{"latent_dim": 2, "activation": "linear"}') FROM many;
CREATE TABLE fit_serial AS
SELECT autoencoder.fit(x, '{"latent_dim": 2, "activation": "linear"}') AS m FROM many;
-- (largest relative difference of the reconstructions, within 1e-5)
SELECT round(max(abs(a - b) / greatest(abs(b), 1e-3))::numeric, 5) AS max_rel_diff
FROM pts, fit_parallel p, fit_serial s,
     unnest(autoencoder.reconstruct(p.m, x), autoencoder.reconstruct(s.m, x)) u(a, b)
WHERE x IS NOT NULL;
SELECT (autoencoder.describe(p.m)->'training'->>'rows_read')::int AS parallel_rows,
       (autoencoder.describe(s.m)->'training'->>'rows_read')::int AS serial_rows
FROM fit_parallel p, fit_serial s;

-- sampled gradient training in parallel reaches the same quality
SET max_parallel_workers_per_gather = 2;
CREATE TABLE fit_nl_parallel AS
SELECT autoencoder.fit(x, '{"latent_dim": 3, "hidden_units": [16], "epochs": 15,
                            "max_rows": 2000, "learning_rate": 0.01}') AS m FROM many;
SET max_parallel_workers_per_gather = 0;
CREATE TABLE fit_nl_serial AS
SELECT autoencoder.fit(x, '{"latent_dim": 3, "hidden_units": [16], "epochs": 15,
                            "max_rows": 2000, "learning_rate": 0.01}') AS m FROM many;
SELECT (autoencoder.describe(p.m)->'training'->>'rows_used')::int AS parallel_used,
       (autoencoder.describe(s.m)->'training'->'sampled') AS sampled,
       ok(p_err < 2 * s_err AND s_err < 2 * p_err,
          format('parallel %s, serial %s', r(p_err), r(s_err))) AS same_quality,
       ok(p_err < pca_err, format('parallel %s, PCA %s', r(p_err), r(pca_err))) AS beats_pca
FROM fit_nl_parallel p, fit_nl_serial s,
     LATERAL (SELECT (SELECT avg(autoencoder.reconstruction_error(p.m, x)) FROM pts) AS p_err,
                     (SELECT avg(autoencoder.reconstruction_error(s.m, x)) FROM pts) AS s_err,
                     (SELECT avg(autoencoder.reconstruction_error(pca.m, x)) FROM pts, fitted pca)
                       AS pca_err) e;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- partial states as a distributed engine moves them: computed per "shard",
-- sent as text, read back, combined on the "coordinator" by the combine
-- function, finished by the final function
CREATE AGGREGATE fit_partial(real[], jsonb) (
    SFUNC = autoencoder.fit_accum, STYPE = autoencoder.fit_state);
CREATE AGGREGATE fit_merge(autoencoder.fit_state) (
    SFUNC = autoencoder.fit_combine, STYPE = autoencoder.fit_state,
    FINALFUNC = autoencoder.fit_final);
CREATE TABLE shard_states AS
SELECT id % 3 AS shard,
       fit_partial(x, '{"latent_dim": 2, "activation": "linear"}')::text AS state
FROM pts GROUP BY id % 3;
SELECT bool_and(state::autoencoder.fit_state::text = state) AS text_round_trip,
       count(*) AS shards FROM shard_states;
CREATE TABLE fit_merged AS
SELECT fit_merge(state::autoencoder.fit_state) AS m FROM shard_states;
-- (largest relative difference from the one-pass fit, within 1e-5)
SELECT round(max(abs(a - b) / greatest(abs(b), 1e-3))::numeric, 5) AS max_rel_diff
FROM pts, fit_merged g, fitted f,
     unnest(autoencoder.reconstruct(g.m, x), autoencoder.reconstruct(f.m, x)) u(a, b)
WHERE x IS NOT NULL;
SELECT (autoencoder.describe(m)->'training'->>'rows_read')::int AS rows_read,
       (autoencoder.describe(m)->'training'->>'rows_skipped')::int AS rows_skipped
FROM fit_merged;
-- the same for a sampled (gradient) fit: sample sizes add up, capped
CREATE TABLE shard_samples AS
SELECT id % 3 AS shard,
       fit_partial(x, '{"latent_dim": 2, "max_rows": 150, "epochs": 3}')::text AS state
FROM pts GROUP BY id % 3;
SELECT (autoencoder.describe(fit_merge(state::autoencoder.fit_state))->'training'->>'rows_used')::int
       AS merged_sample
FROM shard_samples;
SELECT err($$SELECT fit_merge(overlay(state PLACING 'ffff' FROM 9)::autoencoder.fit_state) FROM shard_states$$) AS bad_state;

-- GROUP BY: one model per group, each fitted to its own group
CREATE TABLE grouped (g int, x real[]);
INSERT INTO grouped SELECT 1, x FROM pts WHERE x IS NOT NULL;
INSERT INTO grouped SELECT 2, ARRAY(SELECT v * 10 + 5 FROM unnest(x) v)::real[] FROM pts WHERE x IS NOT NULL;
CREATE TABLE group_models AS
SELECT g, autoencoder.fit(x, '{"latent_dim": 2, "activation": "linear", "scaling": "none"}') AS m
FROM grouped GROUP BY g;
SELECT g, round((autoencoder.describe(m)->'feature_scaling'->'min'->>0)::numeric, 2) AS min0,
       ok(own < other, format('own model %s, other model %s', r(own), r(other))) AS own_model_fits
FROM group_models gm,
     LATERAL (SELECT (SELECT avg(autoencoder.reconstruction_error(gm.m, x))
                      FROM grouped WHERE grouped.g = gm.g) AS own,
                     (SELECT avg(autoencoder.reconstruction_error(o.m, x))
                      FROM grouped, group_models o
                      WHERE grouped.g = gm.g AND o.g <> gm.g) AS other) e
ORDER BY g;

-- the window-free building block of the issue
WITH m AS (SELECT autoencoder.fit(x, '{"latent_dim": 2, "activation": "linear"}') AS m FROM pts)
SELECT count(*) AS encoded, min(array_length(autoencoder.encode(m.m, x), 1)) AS code_len
FROM pts, m WHERE x IS NOT NULL;

-- no rows gives NULL; NULL rows are skipped and counted
SELECT autoencoder.fit(x) IS NULL AS no_rows FROM pts WHERE false;
SELECT autoencoder.fit(x) IS NULL AS only_nulls FROM pts WHERE x IS NULL;
SELECT autoencoder.describe(autoencoder.fit(x, '{"latent_dim": 2, "activation": "linear"}'))
       ->'training'->'rows_skipped' AS skipped FROM pts;
-- defaults: relu, latent_dim min(16, input dimension)
SELECT d->'latent_dim' AS latent, d->>'activation' AS act, d->'config'->>'solver' AS solver
FROM (SELECT autoencoder.describe(autoencoder.fit(x)) d FROM pts) s;

-- double precision input
SELECT autoencoder.describe(autoencoder.fit(x, '{"latent_dim": 2, "activation": "linear"}'))
       ->'input_dim' AS dims FROM pts8;

-- the model type: text and binary round trips are exact
SELECT m::text::autoencoder.model::text = m::text AS text_round_trip FROM fitted;
-- (binary COPY through a client-side file in pg_regress's results directory:
-- psql runs from the top of the tree)
\copy (SELECT m FROM fitted) TO 'results/fit_model.bin' WITH (FORMAT binary)
CREATE TABLE fitted_copy (m autoencoder.model);
\copy fitted_copy FROM 'results/fit_model.bin' WITH (FORMAT binary)
SELECT a.m::text = b.m::text AS binary_round_trip FROM fitted a, fitted_copy b;

-- get_model and save: values in and out of the models table
SELECT autoencoder.save('saved', m) > 0 AS saved FROM fitted;
SELECT autoencoder.get_model('saved')::text = m::text AS same FROM fitted;
SELECT autoencoder.save('saved', m, deploy => false) > 0 AS saved_v2 FROM fit_serial;
SELECT version, deployed, config->>'solver' AS solver FROM autoencoder.models
WHERE name = 'saved' ORDER BY version;
SELECT autoencoder.get_model('saved', 2)::text = m::text AS v2 FROM fit_serial;
SELECT bool_and(autoencoder.encode('saved', x) = autoencoder.encode(f.m, x)) AS by_name_is_deployed
FROM pts, fitted f WHERE x IS NOT NULL;

-- the models table joins like any table (how a distributed engine ships a model)
SELECT count(*) AS encoded
FROM pts, autoencoder.models m
WHERE m.name = 'pca' AND m.deployed AND autoencoder.encode(m.model, pts.x) IS NOT NULL;

-- model values work in generated columns and expression indexes
DO $$
BEGIN
    EXECUTE format('CREATE TABLE gen (id int, x real[], code real[] GENERATED ALWAYS AS '
                   '(autoencoder.encode(%L::autoencoder.model, x)) STORED)',
                   (SELECT m::text FROM fitted));
    EXECUTE format('CREATE INDEX gen_err ON gen ((autoencoder.reconstruction_error(%L::autoencoder.model, x)))',
                   (SELECT m::text FROM fitted));
END
$$;
INSERT INTO gen (id, x) SELECT id, x FROM pts WHERE x IS NOT NULL;
SELECT bool_and(g.code = autoencoder.encode(f.m, g.x)) AS generated_ok FROM gen g, fitted f;

-- errors
\pset tuples_only on
\pset format unaligned
SELECT err($$SELECT autoencoder.fit(x, '{"latent": 2}') FROM pts$$);
SELECT err($$SELECT autoencoder.fit(x, '{"latent_dim": "two"}') FROM pts$$);
SELECT err($$SELECT autoencoder.fit(x, '{"latent_dim": 2.5}') FROM pts$$);
SELECT err($$SELECT autoencoder.fit(x, '{"latent_dim": 9}') FROM pts$$);
SELECT err($$SELECT autoencoder.fit(x, '{"activation": 1}') FROM pts$$);
SELECT err($$SELECT autoencoder.fit(x, '{"hidden_units": [4, "x"]}') FROM pts$$);
SELECT err($$SELECT autoencoder.fit(x, '{"hidden_units": 4}') FROM pts$$);
SELECT err($$SELECT autoencoder.fit(x, '{"epochs": 0}') FROM pts$$);
SELECT err($$SELECT autoencoder.fit(x, '{"learning_rate": -1}') FROM pts$$);
SELECT err($$SELECT autoencoder.fit(x, '{"max_rows": 0}') FROM pts$$);
SELECT err($$SELECT autoencoder.fit(x, '[1, 2]') FROM pts$$);
SELECT err($$SELECT autoencoder.fit(x, '{"solver": "exact", "activation": "relu"}') FROM pts$$);
SELECT err($$SELECT autoencoder.fit(x, '{"activation": "linear", "hidden_units": [4]}') FROM pts$$);
SELECT err($$SELECT autoencoder.fit(x, '{"latent_dim": 2}') FROM (VALUES ('{1,2,3}'::real[]), ('{1,2}'::real[])) v(x)$$);
SELECT err($$SELECT autoencoder.fit(x, '{"latent_dim": 1}') FROM (VALUES ('{1,NaN}'::real[])) v(x)$$);
SELECT err($$SELECT autoencoder.fit(x, '{"latent_dim": 2, "activation": "linear"}') FROM (SELECT array_fill(1::real, ARRAY[8193]) x) s$$);
SELECT err($$SELECT 'abc'::autoencoder.model$$);
SELECT err($$SELECT 'zz'::autoencoder.model$$);
SELECT err($$SELECT '00'::autoencoder.model$$);
SELECT err($$SELECT overlay(m::text PLACING 'deadbeef' FROM 201)::autoencoder.model FROM fitted$$);
SELECT err($$SELECT left(m::text, 400)::autoencoder.model FROM fitted$$);
SELECT err($$SELECT '00'::autoencoder.fit_state$$);
SELECT err($$SELECT autoencoder.get_model('nope')$$);
SELECT err($$SELECT autoencoder.get_model('pca', 99)$$);
SELECT err($$SELECT autoencoder.encode(m, '{1,2,3}'::real[]) FROM fitted$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, solver => 'newton')$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, activation => 'linear', noise => 'gaussian')$$);

\pset tuples_only off
\pset format aligned
DROP TABLE fitted, fitted_copy, fit_parallel, fit_serial, fit_nl_parallel, fit_nl_serial,
           shard_states, shard_samples, fit_merged, grouped, group_models, gen;
DROP AGGREGATE fit_partial(real[], jsonb);
DROP AGGREGATE fit_merge(autoencoder.fit_state);
