-- errors: every malformed input gets an ERROR with the right SQLSTATE
\i sql/include/setup.psql

-- the models probed: 'pts' (8 -> 3), and three 8 -> 12 -> 6 -> 3 models whose
-- stored bytes get corrupted below
SELECT autoencoder.train('pts', 'SELECT x FROM pts', latent_dim => 3,
                         hidden_units => '{16}', epochs => 2) > 0 AS trained;
SELECT a, autoencoder.train('act_' || a, 'SELECT x FROM pts', latent_dim => 3,
                            hidden_units => '{12, 6}', activation => a, solver => 'sgd',
                            epochs => 3) > 0 AS trained
FROM unnest(ARRAY['relu', 'tanh', 'elu']) a;

-- messages with their details and hints
SELECT autoencoder.encode('nope', '{1,2}'::real[]);
SELECT autoencoder.encode('pts', '{1,2,3,4,5,6,7}'::real[]);
SELECT autoencoder.encode('pts', '{1,2,3,4,5,6,7,NaN}'::real[]);
SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 9);
SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, activation => 'swish');
SELECT autoencoder.train('bad', 'SELECT id FROM pts', latent_dim => 2);
SELECT autoencoder.train('bad', 'SELECT x FROM pts WHERE x IS NULL', latent_dim => 2);
-- (residual => false: identical rows are exactly their PCA, which would not diverge)
SELECT autoencoder.train('bad', 'SELECT ARRAY[1e30, -1e30, 1e30]::real[] FROM generate_series(1, 50)',
                         latent_dim => 1, scaling => 'none', optimizer => 'sgd',
                         learning_rate => 10, validation_fraction => 0, residual => false);

\pset tuples_only on
\pset format unaligned

-- inference inputs
SELECT err($$SELECT autoencoder.encode('nope', '{1}'::real[])$$);
SELECT err($$SELECT autoencoder.reconstruction_error('nope', '{1}'::float8[])$$);
SELECT err($$SELECT autoencoder.encode('', '{1}'::real[])$$);
SELECT err($$SELECT autoencoder.encode(repeat('m', 64), '{1}'::real[])$$);
SELECT err($$SELECT autoencoder.encode('pts', '{1,2,3,4,5,6,7,8,9}'::real[])$$);
SELECT err($$SELECT autoencoder.encode('pts', '{}'::real[])$$);
SELECT err($$SELECT autoencoder.encode('pts', '{{1,2,3,4},{5,6,7,8}}'::real[])$$);
SELECT err($$SELECT autoencoder.encode('pts', '{1,2,3,4,5,6,7,NULL}'::real[])$$);
SELECT err($$SELECT autoencoder.encode('pts', '{1,2,3,4,5,6,7,NaN}'::real[])$$);
SELECT err($$SELECT autoencoder.encode('pts', '{1,2,3,4,5,6,7,Infinity}'::real[])$$);
SELECT err($$SELECT autoencoder.encode('pts', '{1,2,3,4,5,6,7,-Infinity}'::float8[])$$);
SELECT err($$SELECT autoencoder.encode('pts', '{1,2,3,4,5,6,7,1e300}'::float8[])$$);
SELECT err($$SELECT autoencoder.decode('pts', '{1,2}'::real[])$$);
SELECT err($$SELECT autoencoder.decode('pts', '{1,2,NaN}'::real[])$$);
SELECT err($$SELECT autoencoder.reconstruct('pts', '{1,2}'::real[])$$);
SELECT err($$SELECT autoencoder.denoise('pts', '{1,2}'::float8[])$$);
SELECT err($$SELECT autoencoder.reconstruction_error('pts', '{1,2}'::real[])$$);

-- training options out of range
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 0)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 9)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => NULL)$$);
SELECT err($$SELECT autoencoder.train(NULL, 'SELECT x FROM pts', latent_dim => 2)$$);
SELECT err($$SELECT autoencoder.train('', 'SELECT x FROM pts', latent_dim => 2)$$);
SELECT err($$SELECT autoencoder.train(repeat('m', 64), 'SELECT x FROM pts', latent_dim => 2)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, epochs => 0)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, batch_size => 0)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, learning_rate => -0.1)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, learning_rate => 'NaN')$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, weight_decay => -1)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, sparsity => -1)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, noise => 'salt')$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, noise => 'masking', noise_level => 1)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, noise => 'gaussian', noise_level => -0.1)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, scaling => 'zscore')$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, optimizer => 'rmsprop')$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, activation => 'swish')$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, output_activation => 'tanh')$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, validation_fraction => 1)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, validation_fraction => -0.1)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, patience => -1)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, hidden_units => '{0}')$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, hidden_units => '{{4},{4}}')$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, hidden_units => '{4,NULL}')$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, hidden_units => '{1,1,1,1,1,1,1,1,1}')$$);

-- a read-only transaction (or a standby) fails before training
BEGIN TRANSACTION READ ONLY;
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2)$$);
ROLLBACK;

-- source queries
SELECT err($$SELECT autoencoder.train('bad', 'SELECT id FROM pts', latent_dim => 2)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT ''{1,2}''::text FROM pts', latent_dim => 2)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts WHERE false', latent_dim => 2)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts WHERE x IS NULL', latent_dim => 2)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELEC x FROM pts', latent_dim => 2)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM no_such_table', latent_dim => 2)$$);
SELECT err($$SELECT autoencoder.train('bad', 'DELETE FROM pts WHERE false', latent_dim => 2)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x[1:(1 + id % 2)] FROM pts', latent_dim => 1)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT CASE WHEN id = 7 THEN ''{1,2,3,4,5,6,7,NaN}''::real[] ELSE x END FROM pts', latent_dim => 2)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT CASE WHEN id = 7 THEN ''{1,2,3,4,5,6,7,NULL}''::real[] ELSE x END FROM pts', latent_dim => 2)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT ''{{1,2},{3,4}}''::real[] FROM pts', latent_dim => 2)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT ''{}''::real[] FROM pts', latent_dim => 2)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT ARRAY[1e30, -1e30, 1e30]::real[] FROM generate_series(1, 50)', latent_dim => 1, scaling => 'none', optimizer => 'sgd', learning_rate => 10, validation_fraction => 0, residual => false)$$);
-- statement_timeout stops a long training within a second, leaving no row
SET statement_timeout = '300ms';
DO $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    PERFORM autoencoder.train('slow', 'SELECT x FROM pts', latent_dim => 2,
                              epochs => 100000, patience => 0);
    RAISE NOTICE 'not cancelled';
EXCEPTION WHEN query_canceled THEN
    RAISE WARNING 'cancelled within a second: %',
        ok(clock_timestamp() - t0 < interval '1.3 s', 'after ' || (clock_timestamp() - t0));
END
$$;
RESET statement_timeout;
SELECT count(*) AS slow_rows FROM autoencoder.models WHERE name = 'slow';
\pset tuples_only off
\pset format aligned
-- none of the failed trainings left a row
SELECT count(*) FROM autoencoder.models WHERE name = 'bad';

-- corrupted model bytes: an error, never a crash
\pset tuples_only on
\pset format unaligned
-- (test-only casts that skip validation, as corruption on disk would)
CREATE CAST (bytea AS autoencoder.model) WITHOUT FUNCTION;
CREATE CAST (autoencoder.model AS bytea) WITHOUT FUNCTION;
UPDATE autoencoder.models
SET model = overlay(model::bytea PLACING '\xdeadbeef'::bytea FROM 200)::autoencoder.model
WHERE name = 'act_tanh';
SELECT err($$SELECT autoencoder.encode('act_tanh', x) FROM pts WHERE id = 1$$);
UPDATE autoencoder.models SET model = substring(model::bytea FROM 1 FOR 100)::autoencoder.model
WHERE name = 'act_elu';
-- (the length of the metadata's numbers as text varies with the BLAS kernel)
SELECT regexp_replace(err($$SELECT autoencoder.encode('act_elu', x) FROM pts WHERE id = 1$$),
                      'describes [0-9]+ bytes', 'describes N bytes');
UPDATE autoencoder.models SET model = '\x00'::bytea::autoencoder.model WHERE name = 'act_relu';
SELECT err($$SELECT autoencoder.encode('act_relu', x) FROM pts WHERE id = 1$$);
DROP CAST (bytea AS autoencoder.model);
DROP CAST (autoencoder.model AS bytea);
SELECT err($$SELECT autoencoder.drop_model('nope')$$);

\pset tuples_only off
\pset format aligned
-- the backend survived all of it
SELECT array_length(autoencoder.encode('pts', x), 1) AS alive FROM pts WHERE id = 1;
