-- infer: encode, decode, reconstruct, denoise, reconstruction_error
\i sql/include/setup.psql

-- the model served here: 8 -> 16 -> 3, trained well enough to have learned
-- the surface (as in train.sql)
SELECT autoencoder.train('pts', 'SELECT x FROM pts', latent_dim => 3,
                         hidden_units => '{16}', epochs => 40,
                         batch_size => 32, learning_rate => 0.01, seed => 8) > 0 AS trained;

-- shapes and types follow the input
SELECT array_length(autoencoder.encode('pts', x), 1) AS code_len,
       pg_typeof(autoencoder.encode('pts', x)) AS code_type,
       pg_typeof(autoencoder.encode('pts', x::float8[])) AS code8_type,
       array_length(autoencoder.reconstruct('pts', x), 1) AS rec_len,
       array_length(autoencoder.decode('pts', autoencoder.encode('pts', x)), 1) AS dec_len
FROM pts WHERE id = 1;

-- the model learned the surface: its error is a small part of the variance
SELECT ok(error < 0.05 * variance, format('mean error %s, mean variance %s', r(error), r(variance)))
       AS small_error
FROM (SELECT avg(autoencoder.reconstruction_error('pts', x)) AS error,
             (SELECT avg(var_pop) FROM (SELECT var_pop(v) FROM pts, unnest(x)
                     WITH ORDINALITY u(v, i) GROUP BY i) s) AS variance
      FROM pts) e;

-- reconstruct = decode(encode(x)) exactly
SELECT bool_and(autoencoder.reconstruct('pts', x)
                = autoencoder.decode('pts', autoencoder.encode('pts', x))) AS composed
FROM pts;

-- reconstruction_error is the mean squared difference in input units
-- (largest difference, within 1e-9)
SELECT round(max(abs(autoencoder.reconstruction_error('pts', x)
                     - (SELECT avg((a::float8 - b::float8)^2)
                        FROM unnest(x, autoencoder.reconstruct('pts', x)) r(a, b))))::numeric, 9)
       AS max_diff
FROM pts;

-- double precision input gives the same values as real input (codes bit
-- for bit, errors within 1e-12)
SELECT bool_and(autoencoder.encode('pts', x::float8[])::real[] = autoencoder.encode('pts', x)) AS enc,
       round(max(abs(autoencoder.reconstruction_error('pts', x::float8[])
                     - autoencoder.reconstruction_error('pts', x)))::numeric, 12) AS err_diff
FROM pts;

-- denoise keeps every feature inside its training range: no element outside
WITH r AS (SELECT i, min(v) lo, max(v) hi FROM pts, unnest(x) WITH ORDINALITY u(v, i) GROUP BY i)
SELECT count(*) AS elements,
       count(*) FILTER (WHERE NOT d.v BETWEEN r.lo AND r.hi) AS out_of_range
FROM pts, unnest(autoencoder.denoise('pts', ARRAY(SELECT v * 3 FROM unnest(x) v)::real[]))
     WITH ORDINALITY d(v, i) JOIN r USING (i)
WHERE id BETWEEN 1 AND 50;

-- a corrupted point is reconstructed worse than the points on the surface
SELECT ok(outlier > 10 * worst, format('outlier %s, worst point %s', r(outlier), r(worst))) AS outlier
FROM (SELECT autoencoder.reconstruction_error('pts', '{3,-3,3,-3,3,-3,3,-3}'::real[]) AS outlier,
             (SELECT max(autoencoder.reconstruction_error('pts', x)) FROM pts) AS worst) e;

-- encode_query: the same codes as encode (within 1e-5: a matrix product
-- rounds differently), computed in blocks; NULL rows skipped
SELECT count(DISTINCT id) AS rows, ok(max(abs(a - b)) < 1e-5, 'largest difference ' || r(max(abs(a - b))))
       AS same_codes
FROM autoencoder.encode_query('pts', 'SELECT id, x FROM pts') q
JOIN pts p USING (id), unnest(q.code, autoencoder.encode('pts', p.x)) u(a, b);
SELECT count(*) AS rows FROM autoencoder.encode_query('pts', 'SELECT id::bigint, x::float8[] FROM pts WHERE id <= 700');

-- blocks are encoded on a second thread while the next are read: many
-- blocks give the same codes, and a cancel mid-way stops cleanly
SELECT count(DISTINCT q.id) AS rows, count(DISTINCT q.code::text) AS distinct_codes,
       ok(max(abs(a - b)) < 1e-5, 'largest difference ' || r(max(abs(a - b)))) AS same
FROM autoencoder.encode_query('pts', 'SELECT g, x FROM generate_series(1, 5000) g, pts WHERE pts.id = 1') q,
     pts p, unnest(q.code, autoencoder.encode('pts', p.x)) u(a, b)
WHERE p.id = 1;
SET statement_timeout = '30ms';
SELECT count(*) FROM autoencoder.encode_query('pts',
    'SELECT g, x FROM generate_series(1, 3000000) g, pts WHERE pts.id = 1');
RESET statement_timeout;
SELECT count(*) AS rows FROM autoencoder.encode_query('pts', 'SELECT id, x FROM pts');

-- STRICT: NULL in, NULL out
SELECT autoencoder.encode('pts', NULL::real[]) IS NULL AS strict_null;

-- the per-backend cache follows the table: a new version changes the output
SELECT autoencoder.train('pts_again', 'SELECT x FROM pts', latent_dim => 3, epochs => 1) > 0 AS trained;
SELECT autoencoder.encode('pts_again', x) IS NOT NULL AS cached FROM pts WHERE id = 5;
CREATE TEMP TABLE v_before AS SELECT autoencoder.encode('pts', x) AS c FROM pts WHERE id = 5;
SELECT autoencoder.train('pts', 'SELECT x FROM pts', latent_dim => 3, epochs => 3, seed => 1234) > 0 AS trained;
SELECT c <> autoencoder.encode('pts', x) AS changed FROM v_before, pts WHERE id = 5;
SELECT autoencoder.drop_model('pts_again') AS dropped;
SELECT autoencoder.encode('pts_again', x) FROM pts WHERE id = 5;

-- works in a parallel plan
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF)
SELECT avg(autoencoder.reconstruction_error('pts', x)) FROM many WHERE x IS NOT NULL;
-- the parallel mean equals the serial one to 6 decimals
SELECT round(avg(autoencoder.reconstruction_error('pts', x))::numeric, 6)
       - (SELECT round(avg(autoencoder.reconstruction_error('pts', x))::numeric, 6) FROM pts WHERE x IS NOT NULL)
       AS parallel_minus_serial
FROM many WHERE x IS NOT NULL;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

DROP TABLE v_before;
