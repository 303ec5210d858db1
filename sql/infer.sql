-- infer: encode, decode, reconstruct, denoise, reconstruction_error
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET extra_float_digits = 0;

-- shapes and types follow the input
SELECT array_length(autoencoder.encode('pts', x), 1) AS code_len,
       pg_typeof(autoencoder.encode('pts', x)) AS code_type,
       pg_typeof(autoencoder.encode('pts', x::float8[])) AS code8_type,
       array_length(autoencoder.reconstruct('pts', x), 1) AS rec_len,
       array_length(autoencoder.decode('pts', autoencoder.encode('pts', x)), 1) AS dec_len
FROM pts WHERE id = 1;

-- the model learned the surface: its error is a small part of the variance
SELECT avg(autoencoder.reconstruction_error('pts', x))
       < 0.05 * (SELECT avg(var_pop) FROM (SELECT var_pop(v) FROM pts, unnest(x)
                 WITH ORDINALITY u(v, i) GROUP BY i) s) AS small_error
FROM pts;

-- reconstruct = decode(encode(x)) exactly
SELECT bool_and(autoencoder.reconstruct('pts', x)
                = autoencoder.decode('pts', autoencoder.encode('pts', x))) AS composed
FROM pts;

-- reconstruction_error is the mean squared difference in input units
SELECT max(abs(autoencoder.reconstruction_error('pts', x)
       - (SELECT avg((a::float8 - b::float8)^2)
          FROM unnest(x, autoencoder.reconstruct('pts', x)) r(a, b)))) < 1e-9 AS matches
FROM pts;

-- double precision input gives the same values as real input
SELECT bool_and(autoencoder.encode('pts', x::float8[])::real[] = autoencoder.encode('pts', x)) AS enc,
       bool_and(abs(autoencoder.reconstruction_error('pts', x::float8[])
                    - autoencoder.reconstruction_error('pts', x)) < 1e-12) AS err
FROM pts;

-- denoise keeps every feature inside its training range
WITH r AS (SELECT i, min(v) lo, max(v) hi FROM pts, unnest(x) WITH ORDINALITY u(v, i) GROUP BY i)
SELECT bool_and(d.v BETWEEN r.lo AND r.hi) AS in_range
FROM pts, unnest(autoencoder.denoise('pts', ARRAY(SELECT v * 3 FROM unnest(x) v)::real[]))
     WITH ORDINALITY d(v, i) JOIN r USING (i)
WHERE id BETWEEN 1 AND 50;

-- a corrupted point is reconstructed worse than the points on the surface
SELECT autoencoder.reconstruction_error('pts', '{3,-3,3,-3,3,-3,3,-3}'::real[])
       > 10 * (SELECT max(autoencoder.reconstruction_error('pts', x)) FROM pts) AS outlier;

-- encode_query: the same codes as encode, computed in blocks; NULL rows skipped
SELECT count(DISTINCT id) AS rows, max(abs(a - b)) < 1e-5 AS same_codes
FROM autoencoder.encode_query('pts', 'SELECT id, x FROM pts') q
JOIN pts p USING (id), unnest(q.code, autoencoder.encode('pts', p.x)) u(a, b);
SELECT count(*) AS rows FROM autoencoder.encode_query('pts', 'SELECT id::bigint, x::float8[] FROM pts WHERE id <= 700');

-- blocks are encoded on a second thread while the next are read: many
-- blocks give the same codes, and a cancel mid-way stops cleanly
SELECT count(DISTINCT q.id) AS rows, count(DISTINCT q.code::text) AS distinct_codes,
       max(abs(a - b)) < 1e-5 AS same
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
CREATE TEMP TABLE v_before AS SELECT autoencoder.encode('pts', x) AS c FROM pts WHERE id = 5;
SELECT autoencoder.train('pts', 'SELECT x FROM pts', latent_dim => 3, epochs => 3, seed => 1234) > 0 AS trained;
SELECT c <> autoencoder.encode('pts', x) AS changed FROM v_before, pts WHERE id = 5;
SELECT autoencoder.drop_model('pts_again') AS dropped;
SELECT autoencoder.encode('pts_again', x) FROM pts WHERE id = 5;

-- works in a parallel plan
CREATE TABLE many AS SELECT i AS id, x FROM pts, generate_series(1, 50) i;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF)
SELECT avg(autoencoder.reconstruction_error('pts', x)) FROM many WHERE x IS NOT NULL;
SELECT round(avg(autoencoder.reconstruction_error('pts', x))::numeric, 6)
       = (SELECT round(avg(autoencoder.reconstruction_error('pts', x))::numeric, 6) FROM pts WHERE x IS NOT NULL)
       AS parallel_same
FROM many WHERE x IS NOT NULL;
RESET max_parallel_workers_per_gather;
