-- security: what a role with only USAGE on the schema and SELECT on one
-- table can do, forged states and models, extreme inputs, limits
\i sql/include/setup.psql

DROP ROLE IF EXISTS regress_ae_mallory;
CREATE ROLE regress_ae_mallory;
GRANT USAGE ON SCHEMA autoencoder TO regress_ae_mallory;
GRANT SELECT ON pts TO regress_ae_mallory;
SELECT autoencoder.train('pts', 'SELECT x FROM pts', latent_dim => 3,
                         hidden_units => '{16}', epochs => 2) > 0 AS trained;

\pset tuples_only on
\pset format unaligned

-- 1. forged aggregate states: mallory cannot build an aggregate over the
-- support functions nor call them
SET ROLE regress_ae_mallory;
SELECT err($$CREATE AGGREGATE pg_temp.fp(real[], jsonb) (SFUNC = autoencoder.fit_accum, STYPE = autoencoder.fit_state)$$);
SELECT err($$SELECT autoencoder.fit_final(NULL::autoencoder.fit_state)$$);
-- the aggregate itself works for mallory (its owner's right is checked)
SELECT (autoencoder.describe(autoencoder.fit(x, '{"latent_dim": 2, "activation": "linear"}'))
        ->'training'->>'rows_read')::int AS rows_read FROM pts;
RESET ROLE;
-- every reader checks every field: states forged byte by byte
CREATE AGGREGATE fp(real[], jsonb) (SFUNC = autoencoder.fit_accum, STYPE = autoencoder.fit_state);
CREATE TABLE states AS
SELECT fp(x, '{"activation": "linear", "latent_dim": 2}')::text AS pca,
       fp(x, '{"latent_dim": 2, "max_rows": 5}')::text AS sample
FROM pts;
CREATE FUNCTION forge(state text, pos int, hex text) RETURNS text LANGUAGE sql AS $$
    SELECT replace(encode(overlay(decode(state, 'base64') PLACING decode(hex, 'hex') FROM pos),
                          'base64'), E'\n', '')
$$;
-- the options' length; d beyond the exact solver's limit; no rows read but
-- a dimension; a sample larger than its bound; an impossible bound; another
-- format version; a non-finite value; a row that does not match its key
SELECT err(format('SELECT %L::autoencoder.fit_state', forge(pca, 13, 'ffff0000'))) FROM states;
SELECT err(format('SELECT %L::autoencoder.fit_state', forge(pca, 9, '60ea0000'))) FROM states;
SELECT err(format('SELECT %L::autoencoder.fit_state', forge(pca, 17, '0000000000000000'))) FROM states;
SELECT err(format('SELECT %L::autoencoder.fit_state', forge(sample, 41, '0600000000000000'))) FROM states;
SELECT err(format('SELECT %L::autoencoder.fit_state', forge(sample, 33, 'ffffffffffffff7f'))) FROM states;
SELECT err(format('SELECT %L::autoencoder.fit_state', forge(sample, 5, '0100'))) FROM states;
SELECT err(format('SELECT %L::autoencoder.fit_state', forge(sample,
       length(decode(sample, 'base64')) - 3, '0000c07f'))) FROM states;
SELECT err(format('SELECT %L::autoencoder.fit_state', forge(sample,
       length(decode(sample, 'base64')) - 3, '0000803f'))) FROM states;
SELECT err($$SELECT 'AAAA'::autoencoder.fit_state$$);
SELECT err($$SELECT '!!'::autoencoder.fit_state$$);
-- a consistent state claiming 5000 rows read for its 5 sampled ones (an
-- INITCOND): accumulating on it stays within the sample's bound
\set ECHO none
SELECT format('CREATE AGGREGATE fpi(real[], jsonb) (SFUNC = autoencoder.fit_accum, '
              'STYPE = autoencoder.fit_state, FINALFUNC = autoencoder.fit_final, INITCOND = %L)',
              forge(sample, 17, '8813000000000000')) FROM states \gexec
\set ECHO all
SELECT d->'training'->'rows_read' AS rows_read, d->'training'->'rows_used' AS rows_used
FROM (SELECT autoencoder.describe(fpi(x, '{"latent_dim": 2, "max_rows": 5}')) d FROM pts) s;
DROP AGGREGATE fpi(real[], jsonb);
-- an honest state still round-trips and combines
CREATE AGGREGATE fm(autoencoder.fit_state) (SFUNC = autoencoder.fit_combine,
    STYPE = autoencoder.fit_state, FINALFUNC = autoencoder.fit_final);
SELECT (autoencoder.describe(fm(pca::autoencoder.fit_state))->'training'->>'rows_read')::int
FROM states;
-- states of different options do not combine
SELECT err($$SELECT fm(s) FROM (SELECT pca::autoencoder.fit_state s FROM states
             UNION ALL SELECT sample::autoencoder.fit_state FROM states) t$$);
-- options must be the same on every row
SELECT err($$SELECT autoencoder.fit(x, jsonb_build_object('latent_dim', 2 + id % 2)) FROM pts$$);

-- 2. threads: no more than the cores for a role that is not a superuser
SET ROLE regress_ae_mallory;
SELECT split_part(err($$SET autoencoder.threads = 64$$), ':', 1) AS sqlstate;
RESET ROLE;
SET autoencoder.threads = 64;
RESET autoencoder.threads;

-- 3. the backend's cache is as private as a read of the table
SELECT count(autoencoder.encode('pts', x)) FROM pts;
SET ROLE regress_ae_mallory;
SELECT err($$SELECT count(autoencoder.encode('pts', x)) FROM pts$$);
SELECT err($$SELECT autoencoder.is_anomaly('pts', x) FROM pts WHERE id = 1$$);
SELECT err($$SELECT autoencoder.get_model('pts')$$);
RESET ROLE;
SELECT count(autoencoder.encode('pts', x)) FROM pts;
-- a right that came through a role ends with the membership, cache or not
CREATE ROLE regress_ae_readers;
GRANT SELECT ON autoencoder.models TO regress_ae_readers;
GRANT regress_ae_readers TO regress_ae_mallory;
SET ROLE regress_ae_mallory;
SELECT count(autoencoder.encode('pts', x)) FROM pts;
RESET ROLE;
REVOKE regress_ae_readers FROM regress_ae_mallory;
SET ROLE regress_ae_mallory;
SELECT err($$SELECT count(autoencoder.encode('pts', x)) FROM pts$$);
RESET ROLE;
REVOKE SELECT ON autoencoder.models FROM regress_ae_readers;
DROP ROLE regress_ae_readers;

-- 4. two models with the same length and header, alternating in one query,
-- each serves its own codes (values are told apart by their SHA-256)
SELECT autoencoder.train('pts', 'SELECT x FROM pts', latent_dim => 3,
                         hidden_units => '{16}', epochs => 2, seed => 9) > 0 AS trained;
SELECT count(*) FILTER (WHERE autoencoder.encode(m.model, p.x) = autoencoder.encode('pts', p.x)
                        AND m.version = 2) AS same_as_v2,
       count(*) FILTER (WHERE autoencoder.encode(m.model, p.x) <> autoencoder.encode('pts', p.x)
                        AND m.version = 1) AS differ_from_v2
FROM (SELECT * FROM autoencoder.models WHERE name = 'pts') m, pts p WHERE p.x IS NOT NULL;

-- 5. nothing non-finite is stored: these fail and store nothing
SELECT err($$SELECT autoencoder.train('wide', 'SELECT ARRAY[2e38 * (i % 2 * 2 - 1), i]::real[] FROM generate_series(1, 40) i',
             latent_dim => 1, activation => 'linear', scaling => 'minmax')$$);
SELECT err($$SELECT autoencoder.train('wide', 'SELECT ARRAY[2e38 * (i % 2 * 2 - 1), i]::real[] FROM generate_series(1, 40) i',
             latent_dim => 1, activation => 'tanh', scaling => 'minmax', epochs => 1)$$);
SELECT err($$SELECT autoencoder.train('infw', 'SELECT x FROM pts', latent_dim => 2, optimizer => 'sgd',
             learning_rate => 1e300, epochs => 1, batch_size => 65536, validation_fraction => 0)$$);
SELECT err($$SELECT autoencoder.train('infw', 'SELECT ARRAY[1e30, -1e30, 1e30]::real[] FROM generate_series(1, 50)',
             latent_dim => 1, scaling => 'none', optimizer => 'sgd', learning_rate => 10,
             epochs => 1, batch_size => 65536, validation_fraction => 0, residual => false)$$);
SELECT err($$SELECT autoencoder.train('infw', 'SELECT x FROM pts', latent_dim => 2, sparsity => 1e300)$$);
SELECT err($$SELECT autoencoder.train('infw', 'SELECT x FROM pts', latent_dim => 2, optimizer => 'sgd',
             learning_rate => 10, weight_decay => 100, epochs => 3)$$);
SELECT count(*) AS stored FROM autoencoder.models WHERE name IN ('wide', 'infw');

-- 6. outputs are finite or the call raises 22003; such a row is an anomaly
-- (a linear model passes the overflow on; relu would clamp it to 0)
SELECT autoencoder.train('lin', 'SELECT x FROM pts', latent_dim => 3, activation => 'linear') > 0 AS trained;
SELECT err($$SELECT autoencoder.reconstruct('lin', '{3.4e38,-3.4e38,3.4e38,-3.4e38,3.4e38,-3.4e38,3.4e38,-3.4e38}'::real[])$$);
SELECT err($$SELECT autoencoder.denoise('lin', '{3.4e38,-3.4e38,3.4e38,-3.4e38,3.4e38,-3.4e38,3.4e38,-3.4e38}'::real[])$$);
SELECT err($$SELECT autoencoder.encode('lin', '{3.4e38,-3.4e38,3.4e38,-3.4e38,3.4e38,-3.4e38,3.4e38,-3.4e38}'::real[])$$);
SELECT err($$SELECT autoencoder.reconstruction_error('lin', '{3.4e38,-3.4e38,3.4e38,-3.4e38,3.4e38,-3.4e38,3.4e38,-3.4e38}'::real[])$$);
SELECT autoencoder.is_anomaly('lin', '{3.4e38,-3.4e38,3.4e38,-3.4e38,3.4e38,-3.4e38,3.4e38,-3.4e38}'::real[]) AS extreme,
       autoencoder.is_anomaly('lin', '{100,100,100,100,100,100,100,100}'::real[]) AS far,
       autoencoder.is_anomaly('lin', '{0.5,0.5,0.25,0.3,0.3,0.7,0.1,0}'::real[]) AS typical,
       autoencoder.is_anomaly(autoencoder.get_model('lin'),
                              '{3.4e38,-3.4e38,3.4e38,-3.4e38,3.4e38,-3.4e38,3.4e38,-3.4e38}'::real[]) AS by_value;

-- 7. an exact solve stops at statement_timeout (300 rows of 4096
-- dimensions: 12 s on one core of the development machine)
CREATE TABLE wide AS
SELECT i AS id, ARRAY(SELECT sin(i * j * 0.001)::real FROM generate_series(1, 4096) j) AS x
FROM generate_series(1, 300) i;
SET statement_timeout = '1s';
SELECT clock_timestamp() AS t0 \gset
SELECT err($$SELECT autoencoder.fit(x, '{"activation": "linear", "latent_dim": 8}') FROM wide$$);
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) < 6 AS stopped_early;
SELECT clock_timestamp() AS t0 \gset
SELECT err($$SELECT autoencoder.train('wide', 'SELECT x FROM wide', latent_dim => 8, activation => 'linear')$$);
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) < 6 AS stopped_early;
RESET statement_timeout;

-- 8. versions of a name are serialised by a lock only owners can take
SET ROLE regress_ae_mallory;
SELECT err($$SELECT autoencoder.lock_model('pts')$$);
SELECT err($$SELECT autoencoder.next_version('pts')$$);
RESET ROLE;

-- 9. saved metadata cannot override computed facts or break the views
CREATE CAST (bytea AS autoencoder.model) WITHOUT FUNCTION;
CREATE CAST (autoencoder.model AS bytea) WITHOUT FUNCTION;
-- a model with other metadata and a recomputed digest
CREATE FUNCTION forge_meta(m autoencoder.model, meta text) RETURNS autoencoder.model
LANGUAGE plpgsql AS $$
DECLARE
    b bytea := m::bytea;
    k int := get_byte(b, 24);
    pos int := 28 + 4 * k + 4 + 8;      -- offset of the metadata length
    old_len int := get_byte(b, pos) + 256 * get_byte(b, pos + 1) + 65536 * get_byte(b, pos + 2);
    body bytea := substring(b FROM 1 FOR length(b) - 32 - old_len);
    new_meta bytea := convert_to(meta, 'UTF8');
    n int := length(new_meta);
BEGIN
    body := overlay(body PLACING decode(lpad(to_hex(n & 255), 2, '0') || lpad(to_hex((n >> 8) & 255), 2, '0')
                                        || lpad(to_hex((n >> 16) & 255), 2, '0') || '00', 'hex')
                    FROM pos + 1);
    body := body || new_meta;
    RETURN (body || sha256(body))::autoencoder.model;
END
$$;
SELECT autoencoder.describe(forge_meta(autoencoder.get_model('pts'),
           '{"training": {"loss_curve": 5, "rows_used": "many"}, "input_dim": 4242}'))->'input_dim' AS input_dim;
SELECT autoencoder.save('forged', forge_meta(autoencoder.get_model('pts'),
           '{"training": {"loss_curve": 5, "rows_used": "many", "epochs_run": 3}, "input_dim": 4242}')) > 0 AS saved;
SELECT metrics FROM autoencoder.models WHERE name = 'forged';
SELECT name, input_dim, rows FROM autoencoder.deployed WHERE name = 'forged';
SELECT count(*) AS epochs FROM autoencoder.training_info('forged');
SELECT err($$SELECT forge_meta(autoencoder.get_model('pts'), 'not json')::text::autoencoder.model$$);
DROP CAST (bytea AS autoencoder.model);
DROP CAST (autoencoder.model AS bytea);

-- 10. clear errors instead of misleading ones
CREATE ROLE regress_ae_inserter;
GRANT USAGE ON SCHEMA autoencoder TO regress_ae_inserter;
GRANT SELECT, INSERT ON autoencoder.models TO regress_ae_inserter;
GRANT SELECT ON pts TO regress_ae_inserter;
SET ROLE regress_ae_inserter;
SELECT err($$SELECT autoencoder.train('ins', 'SELECT x FROM pts', latent_dim => 2)$$);
RESET ROLE;
SELECT err($$SELECT autoencoder.fit(x, '{"latent_dim": 1e400}') FROM pts$$);
SELECT err($$SELECT autoencoder.fit(x, '{"latent_dim": 100000000000000000000000000000000000000000000000}') FROM pts$$);
SELECT array_length(autoencoder.encode('pts', ARRAY[1, 2, 3, 4, 5, 6, 7, 8]), 1) AS from_int,
       pg_typeof(autoencoder.encode('pts', ARRAY[1, 2, 3, 4, 5, 6, 7, 8])) AS int_gives,
       pg_typeof(autoencoder.encode('pts', ARRAY[1, 2, 3, 4, 5, 6, 7, 8]::numeric[])) AS numeric_gives;
SELECT round((autoencoder.describe(autoencoder.fit(ARRAY[id, id % 7, id % 3]))->>'input_dim')::numeric) AS int_rows
FROM pts;

-- 11. the source may only read
CREATE TABLE secret (x real[]);
INSERT INTO secret SELECT x FROM pts WHERE id BETWEEN 1 AND 20;
SELECT err($$SELECT autoencoder.train('del', 'WITH d AS (DELETE FROM secret RETURNING x) SELECT x FROM d', latent_dim => 2)$$);
SELECT err($$SELECT autoencoder.train('del', 'SELECT x FROM secret FOR UPDATE', latent_dim => 2)$$);
SELECT err($$SELECT * FROM autoencoder.encode_query('pts', 'WITH d AS (DELETE FROM secret RETURNING 1::bigint, x) SELECT * FROM d')$$);
SELECT count(*) AS secret_rows FROM secret;

-- 12. training memory is bounded before anything is allocated
SET autoencoder.max_training_memory = '100MB';
SELECT err($$SELECT autoencoder.train('big', 'SELECT array_fill(0::real, ARRAY[20000]) FROM generate_series(1, 2)',
             latent_dim => 8, hidden_units => '{4096}')$$);
SELECT err($$SELECT autoencoder.fit(x, '{"latent_dim": 8, "hidden_units": [4096]}') FROM wide$$);
RESET autoencoder.max_training_memory;
SET ROLE regress_ae_mallory;
SELECT err($$SET autoencoder.max_training_memory = '100GB'$$);
RESET ROLE;

\pset tuples_only off
\pset format aligned
DROP TABLE states, wide, secret;
DROP AGGREGATE fp(real[], jsonb);
DROP AGGREGATE fm(autoencoder.fit_state);
DROP FUNCTION forge(text, int, text);
DROP FUNCTION forge_meta(autoencoder.model, text);
DROP OWNED BY regress_ae_mallory, regress_ae_inserter;
DROP ROLE regress_ae_mallory, regress_ae_inserter;
