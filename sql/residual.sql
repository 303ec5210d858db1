-- residual: the defaults that never lose to PCA (the PCA-residual network,
-- the automatic training length), the similarity term and scaling 'l2'
\i sql/include/setup.psql
-- terse: the WARNINGs of models that lose to PCA have the machine's losses
-- in their detail
\set VERBOSITY terse

-- the defaults: the residual network {256} started at PCA, linear code and
-- output, automatic epochs; epoch 0 is the PCA and the kept epoch is never
-- worse on the validation rows
SELECT autoencoder.train('res', 'SELECT x FROM pts ORDER BY id', latent_dim => 3) > 0 AS trained;
SELECT config->'residual' AS residual, config->'hidden_units' AS hidden, config->'epochs' AS epochs,
       config->>'output_activation' AS out_act, config->'similarity_weight' AS sim,
       metrics->>'stopped' IN ('plateau', 'cap') AS stopped_automatically,
       ok((metrics->>'steps')::int BETWEEN 1000 AND 5000, metrics->>'steps') AS steps,
       ok((metrics->>'final_validation_loss')::float8 <= (metrics->>'pca_validation_loss')::float8,
          r((metrics->>'final_validation_loss')::float8) || ' vs ' ||
          r((metrics->>'pca_validation_loss')::float8)) AS not_worse_than_pca,
       (metrics->'loss_curve'->0->>'epoch')::int AS first_epoch,
       (metrics->'loss_curve'->0->>'validation_loss')::float8 =
       (metrics->>'pca_validation_loss')::float8 AS epoch0_is_pca,
       jsonb_array_length(metrics->'loss_curve') = (metrics->>'epochs_run')::int + 1 AS curve_has_epoch0
FROM autoencoder.models WHERE name = 'res';
SELECT min(epoch) AS first, count(*) = max(epoch) + 1 AS every_epoch
FROM autoencoder.training_info('res');
SELECT d->>'architecture' AS architecture, d->'skip' AS skip, d->'format_version' AS format,
       d->'hidden_units' AS hidden
FROM (SELECT autoencoder.describe(autoencoder.get_model('res')) AS d) s;
-- on this curved set the nonlinear layers beat PCA on new rows too
SELECT ok(mse < pca_mse, r(mse) || ' vs ' || r(pca_mse)) AS beats_pca
FROM autoencoder.evaluate('res', 'SELECT x FROM pts');

-- a retrain is aligned to the deployed version (its code is linear);
-- reconstructions do not change with the rotation
SELECT autoencoder.train('res', 'SELECT x FROM pts ORDER BY id', latent_dim => 3, epochs => 10,
                         seed => 5) > 0 AS v2,
       autoencoder.train('res', 'SELECT x FROM pts ORDER BY id', latent_dim => 3, epochs => 10,
                         seed => 5, align => false, deploy => 'never') > 0 AS v3;
SELECT version, metrics->'alignment'->'version' AS aligned_to
FROM autoencoder.models WHERE name = 'res' ORDER BY version;
SELECT ok(max(abs(a - b)) < 1e-4, r(max(abs(a - b)))) AS same_reconstructions
FROM pts, LATERAL (SELECT unnest(autoencoder.reconstruct('res', x, 2)) AS a,
                          unnest(autoencoder.reconstruct('res', x, 3)) AS b) s
WHERE x IS NOT NULL;

-- residual NULL: on unless ruled out, then everything is as without it
SELECT autoencoder.train('r_sigmoid', 'SELECT x FROM pts', latent_dim => 3, epochs => 2,
                         output_activation => 'sigmoid', scaling => 'minmax') > 0 AS sigmoid_output,
       autoencoder.train('r_linear', 'SELECT x FROM pts', latent_dim => 3,
                         activation => 'linear') > 0 AS exact_pca,
       autoencoder.train('r_minmax', 'SELECT x FROM pts', latent_dim => 3, epochs => 2,
                         scaling => 'minmax') > 0 AS minmax,
       autoencoder.train('r_none', 'SELECT x FROM pts', latent_dim => 3, epochs => 2,
                         hidden_units => '{}') > 0 AS no_hidden,
       autoencoder.train('r_off', 'SELECT x FROM pts', latent_dim => 3, epochs => 2,
                         scaling => 'minmax', residual => false) > 0 AS off;
SELECT name, config->'residual' AS residual, config->'hidden_units' AS hidden,
       config->>'output_activation' AS out_act, config->>'solver' AS solver,
       autoencoder.describe(model)->>'architecture' AS architecture,
       autoencoder.describe(model)->'format_version' AS format
FROM autoencoder.models WHERE name LIKE 'r\_%' ORDER BY name;
-- wider than 8192 dimensions: no PCA to start from, so off
SELECT autoencoder.train('r_wide', 'SELECT array_fill(i::real, ARRAY[8193]) FROM generate_series(1, 3) i',
                         latent_dim => 1, epochs => 1) > 0 AS wide;
SELECT config->'residual' AS residual, config->'hidden_units' AS hidden
FROM autoencoder.models WHERE name = 'r_wide';

-- warm start from a version without the residual network: automatic
-- residual follows it; residual => true cannot
SELECT autoencoder.train('r_warm', 'SELECT x FROM pts', latent_dim => 3, epochs => 2,
                         residual => false) > 0 AS v1,
       autoencoder.train('r_warm', 'SELECT x FROM pts', latent_dim => 3, epochs => 1,
                         warm_start => true) > 0 AS v2;
SELECT version, config->'residual' AS residual, metrics->'warm_started' AS warm_started,
       (metrics->'loss_curve'->0->>'epoch')::int AS first_epoch
FROM autoencoder.models WHERE name = 'r_warm' ORDER BY version;

-- the errors
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, residual => true,
                                      output_activation => 'sigmoid')$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, residual => true,
                                      activation => 'linear')$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT array_fill(1::real, ARRAY[8193]) FROM generate_series(1, 3)',
                                      latent_dim => 1, residual => true)$$);
SELECT err($$SELECT autoencoder.train('r_warm', 'SELECT x FROM pts', latent_dim => 3, epochs => 1,
                                      warm_start => true, residual => true)$$);
-- a deployed version that does not fit (another code size): from scratch,
-- with the automatic residual network kept
SELECT autoencoder.train('r_warm', 'SELECT x FROM pts', latent_dim => 2, epochs => 1,
                         warm_start => true) > 0 AS v3;
SELECT version, config->'residual' AS residual, metrics->'warm_started' AS warm_started
FROM autoencoder.models WHERE name = 'r_warm' AND version = 3;
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, epochs => 0)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, similarity_weight => -1)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, similarity_weight => 'NaN')$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, similarity_temperature => 0)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, similarity_weight => 1,
                                      batch_size => 1)$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, similarity_weight => 1,
                                      activation => 'linear')$$);
SELECT err($$SELECT autoencoder.train('bad', 'SELECT x FROM pts', latent_dim => 2, scaling => 'l3')$$);
SELECT err($$SELECT autoencoder.fit(x, '{"latent_dim": 2, "residual": "yes"}') FROM pts$$);
SELECT err($$SELECT autoencoder.fit(x, '{"latent_dim": 2, "residual": true, "output_activation": "sigmoid"}') FROM pts$$);
SELECT err($$SELECT autoencoder.fit(x, '{"latent_dim": 2, "similarity_temperature": -0.5}') FROM pts$$);
SELECT count(*) AS stored FROM autoencoder.models WHERE name = 'bad';

-- a model that loses to PCA says so: a WARNING (with both losses in its
-- detail and a hint), and the metrics have both losses
SELECT autoencoder.train('loses', 'SELECT x FROM pts', latent_dim => 3, residual => false,
                         epochs => 1, learning_rate => 1e-5) > 0 AS trained;
SELECT ok((metrics->>'final_validation_loss')::float8 > (metrics->>'pca_validation_loss')::float8,
          r((metrics->>'final_validation_loss')::float8) || ' vs ' ||
          r((metrics->>'pca_validation_loss')::float8)) AS worse_than_pca
FROM autoencoder.models WHERE name = 'loses';

-- the similarity term: recorded in the configuration, deterministic
SELECT autoencoder.train('sim', 'SELECT x FROM pts ORDER BY id', latent_dim => 3, epochs => 5,
                         similarity_weight => 1, similarity_temperature => 0.05) > 0 AS v1,
       autoencoder.train('sim_again', 'SELECT x FROM pts ORDER BY id', latent_dim => 3, epochs => 5,
                         similarity_weight => 1, similarity_temperature => 0.05) > 0 AS again;
SELECT config->'similarity_weight' AS weight, config->'similarity_temperature' AS temperature
FROM autoencoder.models WHERE name = 'sim';
SELECT bool_and(autoencoder.encode('sim', x) = autoencoder.encode('sim_again', x)) AS identical
FROM pts WHERE x IS NOT NULL;

-- scaling 'l2': rows of different lengths; encode sees unit rows,
-- reconstruct and denoise are in input units (times the row's length),
-- decode returns unit-scale rows, reconstruction_error is in input units
CREATE TABLE lens AS
SELECT id, ARRAY(SELECT v * (1 + id % 5) FROM unnest(x) WITH ORDINALITY u(v, o) ORDER BY o)::real[] AS x,
       ARRAY(SELECT 2 * v * (1 + id % 5) FROM unnest(x) WITH ORDINALITY u(v, o) ORDER BY o)::real[] AS x2
FROM pts WHERE x IS NOT NULL;
SELECT autoencoder.train('l2', 'SELECT x FROM lens ORDER BY id', latent_dim => 3, scaling => 'l2',
                         epochs => 20) > 0 AS trained;
SELECT d->>'scaling' AS scaling, d->'format_version' AS format,
       (SELECT bool_and(v::float8 = 0) FROM jsonb_array_elements_text(d->'feature_scaling'->'shift') v) AS shift_0,
       (SELECT bool_and(v::float8 = 1) FROM jsonb_array_elements_text(d->'feature_scaling'->'scale') v) AS scale_1
FROM (SELECT autoencoder.describe(autoencoder.get_model('l2')) AS d) s;
SELECT ok(max(code_diff) < 1e-5, r(max(code_diff))) AS encode_ignores_length,
       ok(max(rec_diff) < 1e-5, r(max(rec_diff))) AS reconstruct_scales_with_length,
       ok(max(dec_diff) < 1e-5, r(max(dec_diff))) AS decode_is_unit_scale,
       ok(max(err_diff) < 1e-6, r(max(err_diff))) AS error_in_input_units,
       ok(max(den_diff) < 1e-5, r(max(den_diff))) AS denoise_scales_with_length
FROM lens,
     LATERAL (SELECT sqrt(sum(v * v)) AS len FROM unnest(x) v) n,
     LATERAL (SELECT max(abs(a - b)) AS code_diff
              FROM unnest(autoencoder.encode('l2', x), autoencoder.encode('l2', x2)) c(a, b)) c,
     LATERAL (SELECT max(abs(2 * a - b)) / len AS rec_diff
              FROM unnest(autoencoder.reconstruct('l2', x), autoencoder.reconstruct('l2', x2)) r(a, b)) r,
     LATERAL (SELECT max(abs(a * len - b)) / len AS dec_diff
              FROM unnest(autoencoder.decode('l2', autoencoder.encode('l2', x)),
                          autoencoder.reconstruct('l2', x)) d(a, b)) d,
     LATERAL (SELECT abs(autoencoder.reconstruction_error('l2', x) - avg((a - b) ^ 2))
                     / avg((a - b) ^ 2) AS err_diff
              FROM unnest(autoencoder.reconstruct('l2', x), x) e(a, b)) e,
     LATERAL (SELECT max(abs(2 * a - b)) / len AS den_diff
              FROM unnest(autoencoder.denoise('l2', x), autoencoder.denoise('l2', x2)) dn(a, b)) dn;
-- fit() with scaling l2: gradient training, and the exact solver on unit
-- rows, which train() and fit() solve alike
SELECT autoencoder.train('l2pca', 'SELECT x FROM lens ORDER BY id', latent_dim => 3, scaling => 'l2',
                         activation => 'linear') > 0 AS trained;
CREATE TABLE l2fits AS
SELECT autoencoder.fit(x, '{"latent_dim": 3, "scaling": "l2", "epochs": 3}') AS sgd,
       autoencoder.fit(x, '{"latent_dim": 3, "scaling": "l2", "activation": "linear"}') AS pca
FROM lens;
SELECT autoencoder.describe(sgd)->>'architecture' AS sgd_architecture,
       autoencoder.describe(pca)->>'scaling' AS pca_scaling,
       ok(max(abs(a - b)) < 1e-4, r(max(abs(a - b)))) AS fit_pca_is_train_pca
FROM l2fits, lens,
     LATERAL (SELECT unnest(autoencoder.encode(pca, x)) AS a, unnest(autoencoder.encode('l2pca', x)) AS b) s
GROUP BY 1, 2;
SELECT ok(max(abs(a - b)) < 1e-5, r(max(abs(a - b)))) AS fit_encode_ignores_length
FROM l2fits, lens, LATERAL (SELECT unnest(autoencoder.encode(sgd, x)) AS a,
                                   unnest(autoencoder.encode(sgd, x2)) AS b) s;

DROP TABLE lens, l2fits;
