-- parallel: declared costs give per-row serving and fit parallel plans
-- without tuning the planner's costs
\i sql/include/setup.psql

-- 40,000 rows of 64 dimensions (about 11 MB, above
-- min_parallel_table_scan_size)
CREATE TABLE big AS
SELECT i AS id, ARRAY(SELECT sin(i * 0.001 * j + j)::real FROM generate_series(1, 64) j) AS x
FROM generate_series(1, 40000) i;
ANALYZE big;
SELECT autoencoder.train('big', 'SELECT x FROM big WHERE id <= 2000', latent_dim => 8,
                         hidden_units => '{32}', epochs => 2) > 0 AS trained;
SET max_parallel_workers_per_gather = 2;
-- the planner's cost settings are the defaults
SELECT current_setting('parallel_setup_cost') AS setup, current_setting('parallel_tuple_cost') AS tuple;

EXPLAIN (COSTS OFF) SELECT count(autoencoder.encode('big', x)) FROM big;
EXPLAIN (COSTS OFF) SELECT id, autoencoder.encode('big', x) FROM big;
EXPLAIN (COSTS OFF) SELECT count(autoencoder.encode(m, x)) FROM big, autoencoder.get_model('big') m;
EXPLAIN (COSTS OFF) SELECT autoencoder.fit(x, '{"latent_dim": 4}') FROM big;
-- and the parallel result is the serial one
CREATE TABLE par AS SELECT id, autoencoder.encode('big', x) AS c FROM big;
SET max_parallel_workers_per_gather = 0;
SELECT count(*) AS differ FROM par JOIN big USING (id) WHERE c <> autoencoder.encode('big', x);
-- a small table stays serial
RESET max_parallel_workers_per_gather;
EXPLAIN (COSTS OFF) SELECT count(autoencoder.encode('big', x)) FROM pts;

DROP TABLE big, par;
