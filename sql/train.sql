-- train: training, versions, metrics, determinism and transactions
\i sql/include/setup.psql

SELECT autoencoder.train('pts', 'SELECT x FROM pts', latent_dim => 3,
                         hidden_units => '{16}', epochs => 40,
                         batch_size => 32, learning_rate => 0.01, seed => 7) > 0 AS trained;

SELECT name, version, input_dim, latent_dim, deployed,
       config->>'activation' AS act, config->>'output_activation' AS out_act,
       config->>'scaling' AS scaling, config->'hidden_units' AS hidden,
       (metrics->>'rows_used')::int AS used, (metrics->>'rows_skipped')::int AS skipped,
       (metrics->>'train_rows')::int AS train_rows,
       (metrics->>'validation_rows')::int AS val_rows,
       ok(jsonb_array_length(metrics->'loss_curve') = (metrics->>'epochs_run')::int + 1,
          format('%s points in loss_curve, %s epochs run and epoch 0',
                 jsonb_array_length(metrics->'loss_curve'), metrics->>'epochs_run')) AS curve
FROM autoencoder.models;

-- the loss went down: the kept validation loss well below epoch 0's (PCA)
SELECT ok(final < 0.5 * first, format('final %s, first %s', r(final), r(first))) AS learned
FROM autoencoder.models,
     LATERAL (SELECT (metrics->>'final_validation_loss')::float8 AS final,
                     (metrics->'loss_curve'->0->>'validation_loss')::float8 AS first) l
WHERE name = 'pts';

-- a new version is deployed, the old one kept but no longer deployed (not
-- aligned to it, so that it can be compared with pts_again below)
SELECT autoencoder.train('pts', 'SELECT x FROM pts', latent_dim => 3,
                         hidden_units => '{16}', epochs => 40,
                         batch_size => 32, learning_rate => 0.01, seed => 8,
                         align => false) > 0 AS trained;
SELECT name, version, deployed FROM autoencoder.models ORDER BY version;

-- same seed, same data, same threads: the same model, bit for bit
SELECT autoencoder.train('pts_again', 'SELECT x FROM pts', latent_dim => 3,
                         hidden_units => '{16}', epochs => 40,
                         batch_size => 32, learning_rate => 0.01, seed => 8) > 0 AS trained;
SELECT bool_and(autoencoder.encode('pts', x) = autoencoder.encode('pts_again', x))
       AS identical FROM pts;
SELECT a.metrics->'loss_curve'->-1->'train_loss' = b.metrics->'loss_curve'->-1->'train_loss'
       AS same_curve
FROM autoencoder.models a, autoencoder.models b
WHERE a.name = 'pts' AND a.deployed AND b.name = 'pts_again';

-- a training whose transaction rolls back leaves no row; v2 keeps serving
CREATE TEMP TABLE before AS SELECT id, autoencoder.encode('pts', x) AS c FROM pts;
BEGIN;
SELECT autoencoder.train('pts', 'SELECT x FROM pts', latent_dim => 3, epochs => 2, seed => 99) > 0 AS trained;
SELECT max(version) FROM autoencoder.models WHERE name = 'pts';
ROLLBACK;
SELECT max(version), count(*) FILTER (WHERE deployed) AS deployed
FROM autoencoder.models WHERE name = 'pts';
SELECT bool_and(b.c = autoencoder.encode('pts', p.x)) AS same_model
FROM before b JOIN pts p USING (id);

-- a sample when the source is larger than autoencoder.max_training_rows
SET autoencoder.max_training_rows = 100;
SELECT autoencoder.train('pts_sample', 'SELECT x FROM pts', latent_dim => 2, epochs => 2) > 0 AS trained;
RESET autoencoder.max_training_rows;
SELECT (metrics->>'rows_used')::int AS used, (metrics->>'rows_read')::int AS read,
       metrics->'sampled' AS sampled
FROM autoencoder.models WHERE name = 'pts_sample';

-- every activation, optimiser, noise and scaling trains to a finite loss
-- (activation linear has no residual network: 3 epochs of it lose to PCA,
-- and a WARNING says so; terse: its detail has the machine's losses)
\set VERBOSITY terse
SELECT a, autoencoder.train('act_' || a, 'SELECT x FROM pts', latent_dim => 3,
                            hidden_units => '{12, 6}', activation => a, solver => 'sgd',
                            epochs => 3) > 0 AS trained
FROM unnest(ARRAY['relu', 'tanh', 'sigmoid', 'elu', 'linear']) a;
\set VERBOSITY default
SELECT autoencoder.train('sgd', 'SELECT x FROM pts', latent_dim => 3, optimizer => 'sgd',
                         learning_rate => 0.05, epochs => 5) > 0 AS sgd,
       autoencoder.train('mask', 'SELECT x FROM pts', latent_dim => 3, noise => 'masking',
                         noise_level => 0.2, epochs => 5) > 0 AS masking,
       autoencoder.train('gauss', 'SELECT x FROM pts8', latent_dim => 3, noise => 'gaussian',
                         noise_level => 0.1, epochs => 5) > 0 AS gaussian_float8,
       autoencoder.train('minmax', 'SELECT x FROM pts', latent_dim => 3,
                         scaling => 'minmax', epochs => 5) > 0 AS minmax,
       autoencoder.train('plain', 'SELECT x FROM pts', latent_dim => 3,
                         scaling => 'none', validation_fraction => 0, epochs => 5) > 0 AS no_validation;
SELECT name, config->>'output_activation' AS out_act,
       (metrics->>'validation_rows')::int AS val_rows,
       ok((metrics->>'final_train_loss')::float8 < 10,
          'final_train_loss ' || r((metrics->>'final_train_loss')::float8)) AS finite
FROM autoencoder.models WHERE name IN ('minmax', 'plain', 'sgd', 'act_linear') ORDER BY name;

-- early stopping: a step too small to change any float32 weight never
-- improves on epoch 0 (the PCA it starts from), so patience 2 stops after
-- epoch 2 and keeps epoch 0
SELECT autoencoder.train('early', 'SELECT x FROM pts', latent_dim => 3, epochs => 200,
                         learning_rate => 1e-20, optimizer => 'sgd', patience => 2) > 0 AS trained;
SELECT (metrics->>'epochs_run')::int AS epochs_run, (metrics->>'best_epoch')::int AS best,
       metrics->'stopped_early' AS flag
FROM autoencoder.models WHERE name = 'early';

-- regularisation: a strong L1 on the code shrinks it (residual => false:
-- 60 steps do not move a code that starts at PCA's far)
\set VERBOSITY terse
SELECT autoencoder.train('sparse', 'SELECT x FROM pts', latent_dim => 3, hidden_units => '{16}',
                         epochs => 20, sparsity => 1.0, seed => 8, residual => false) > 0 AS sparse,
       autoencoder.train('decay', 'SELECT x FROM pts', latent_dim => 3, hidden_units => '{16}',
                         epochs => 20, weight_decay => 0.1, seed => 8) > 0 AS decay;
\set VERBOSITY default
SELECT ok(sparse < 0.5 * plain, format('mean |code| %s with sparsity, %s without', r(sparse), r(plain)))
       AS code_shrunk
FROM (SELECT avg((SELECT avg(abs(c)) FROM unnest(autoencoder.encode('sparse', x)) c)) AS sparse,
             avg((SELECT avg(abs(c)) FROM unnest(autoencoder.encode('pts_again', x)) c)) AS plain
      FROM pts) s;
SELECT config->'weight_decay' AS wd, config->'sparsity' AS l1
FROM autoencoder.models WHERE name IN ('sparse', 'decay') ORDER BY name;

-- a source column of a type with a cast to real[] (as pgvector's vector has)
-- is read through the cast, by train(), evaluate() and encode_query()
CREATE TYPE xy AS (x real, y real);
CREATE FUNCTION xy_to_array(xy) RETURNS real[] LANGUAGE sql IMMUTABLE AS 'SELECT ARRAY[$1.x, $1.y]';
CREATE CAST (xy AS real[]) WITH FUNCTION xy_to_array(xy);
CREATE TABLE pairs AS SELECT id, ROW(x[1], x[2])::xy AS p FROM pts WHERE id > 0;
SELECT autoencoder.train('cast', 'SELECT p FROM pairs', latent_dim => 1, epochs => 2) > 0 AS trained;
SELECT (SELECT rows FROM autoencoder.evaluate('cast', 'SELECT p FROM pairs')) AS evaluated,
       (SELECT ok(max(abs(q.code[1] - (autoencoder.encode('cast', ARRAY[(p).x, (p).y]))[1])) < 1e-5,
                  r(max(abs(q.code[1] - (autoencoder.encode('cast', ARRAY[(p).x, (p).y]))[1]))))
        FROM autoencoder.encode_query('cast', 'SELECT id, p FROM pairs') q JOIN pairs USING (id))
       AS same_codes;
SELECT err($$SELECT autoencoder.train('cast', 'SELECT id FROM pairs', latent_dim => 1)$$);
DROP TABLE pairs;
DROP CAST (xy AS real[]);
DROP FUNCTION xy_to_array(xy);
DROP TYPE xy;

-- drop_model removes every version
SELECT autoencoder.drop_model('pts_sample') AS dropped;
SELECT count(*) FROM autoencoder.models WHERE name = 'pts_sample';

DROP TABLE before;
