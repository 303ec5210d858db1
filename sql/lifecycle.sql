-- lifecycle: versions, deployment, rollback, warm start, evaluation, anomalies
\i sql/include/setup.psql

-- an exact PCA model, for evaluate() and the deployed view
SELECT autoencoder.train('pca', 'SELECT x FROM pts', latent_dim => 2, activation => 'linear') > 0 AS trained;

-- three versions; the third is not deployed
SELECT autoencoder.train('life', 'SELECT x FROM pts', latent_dim => 3, hidden_units => '{16}',
                         epochs => 10, seed => 1) > 0 AS v1,
       autoencoder.train('life', 'SELECT x FROM pts', latent_dim => 3, hidden_units => '{16}',
                         epochs => 10, seed => 2) > 0 AS v2,
       autoencoder.train('life', 'SELECT x FROM pts', latent_dim => 3, hidden_units => '{16}',
                         epochs => 10, seed => 3, deploy => 'never') > 0 AS v3;
SELECT version, deployed, deployed_at IS NOT NULL AS has_deployed_at,
       metrics->'deployment'->>'mode' AS mode, metrics->'deployment'->'deployed' AS decided
FROM autoencoder.models WHERE name = 'life' ORDER BY version;

-- deploy and roll back
SELECT autoencoder.deploy('life', 3);
SELECT version FROM autoencoder.models WHERE name = 'life' AND deployed;
SELECT bool_and(autoencoder.encode('life', x) = autoencoder.encode(autoencoder.get_model('life', 3), x))
       AS serves_v3 FROM pts WHERE x IS NOT NULL;
SELECT autoencoder.rollback('life') AS rolled_back_to;
SELECT bool_and(autoencoder.encode('life', x) = autoencoder.encode(autoencoder.get_model('life', 2), x))
       AS serves_v2 FROM pts WHERE x IS NOT NULL;
SELECT autoencoder.rollback('life') AS rolled_back_to;
SELECT name, version FROM autoencoder.deployments WHERE name = 'life' ORDER BY id;

-- exactly one deployed version per name, always
SELECT name, count(*) FILTER (WHERE deployed) AS deployed FROM autoencoder.models
GROUP BY name HAVING count(*) FILTER (WHERE deployed) <> 1;

-- dropping one version: a deployed one only with force
SELECT autoencoder.drop_model('life', 1) AS dropped;
SELECT autoencoder.drop_model('life', 3);
SELECT autoencoder.drop_model('life', 3, force => true) AS dropped;
SELECT version, deployed FROM autoencoder.models WHERE name = 'life' ORDER BY version;
SELECT autoencoder.rollback('life');

-- a well-trained version, deployed
SELECT autoencoder.train('life', 'SELECT x FROM pts', latent_dim => 3, hidden_units => '{32}',
                         epochs => 60, learning_rate => 0.01, seed => 5) > 0 AS v4;
SELECT (metrics->'loss_curve'->-1->>'validation_loss')::float8 AS last_loss
FROM autoencoder.models WHERE name = 'life' AND version = 4 \gset

-- if_better: a worse model (1 epoch, tiny learning rate) is stored, not deployed
SELECT autoencoder.train('life', 'SELECT x FROM pts', latent_dim => 3, hidden_units => '{16}',
                         epochs => 1, learning_rate => 1e-6, seed => 4,
                         deploy => 'if_better') > 0 AS v5;
SELECT version, deployed, d->>'mode' AS mode, d->'deployed' AS decided,
       ok((d->>'new_loss')::float8 > (d->>'deployed_loss')::float8,
          format('new_loss %s, deployed_loss %s', r((d->>'new_loss')::float8),
                 r((d->>'deployed_loss')::float8))) AS worse,
       d->'compared_with_version' AS vs, d->>'rows_are' AS rows_are, d->'rows' AS rows
FROM autoencoder.models, LATERAL (SELECT metrics->'deployment' AS d) s
WHERE name = 'life' AND version = 5;

-- warm start: continue from the deployed weights (same architecture); epoch
-- 0 is where version 4 ended, and more epochs make it better, so if_better
-- deploys it (patience 0: the first epochs after a warm start, with the
-- optimiser's moments at zero again, do not beat epoch 0)
SELECT autoencoder.train('life', 'SELECT x FROM pts', latent_dim => 3, hidden_units => '{32}',
                         epochs => 40, learning_rate => 0.003, seed => 6, patience => 0,
                         warm_start => true, deploy => 'if_better') > 0 AS v6;
SELECT version, deployed, metrics->'deployment'->'deployed' AS decided,
       ok(first < 2 * :last_loss, format('first epoch %s, version 4 ended at %s', r(first), r(:last_loss)))
       AS starts_trained
FROM autoencoder.models, LATERAL (SELECT (metrics->'loss_curve'->0->>'validation_loss')::float8 AS first) l
WHERE name = 'life' AND version = 6;
-- a cold start with the same settings starts far worse
SELECT autoencoder.train('cold', 'SELECT x FROM pts', latent_dim => 3, hidden_units => '{32}',
                         epochs => 2, learning_rate => 0.003, seed => 6) > 0 AS cold;
SELECT ok(cold > 2 * warm, format('first epoch cold %s, warm %s', r(cold), r(warm))) AS warm_helps
FROM autoencoder.models c, autoencoder.models w,
     LATERAL (SELECT (c.metrics->'loss_curve'->0->>'validation_loss')::float8 AS cold,
                     (w.metrics->'loss_curve'->0->>'validation_loss')::float8 AS warm) l
WHERE c.name = 'cold' AND w.name = 'life' AND w.version = 6;

-- training_info: one row per epoch
SELECT count(*) AS epochs, min(epoch) AS first, max(epoch) AS last,
       ok(bool_and(train_loss > 0 AND validation_loss > 0 AND learning_rate = 0.003 AND seconds >= 0),
          format('least train_loss %s, validation_loss %s, seconds %s; learning_rate %s .. %s',
                 r(min(train_loss)), r(min(validation_loss)), r(min(seconds)),
                 min(learning_rate), max(learning_rate))) AS sane
FROM autoencoder.training_info('life');
SELECT count(*) AS epochs FROM autoencoder.training_info('life', 5);

-- evaluate: the model against PCA of the same size on the same rows
-- (the baseline is the PCA of the training rows with the model's scaling,
-- which epoch 0 starts from: within 1% of the PCA that fit() finds on all
-- the rows, the validation rows included)
-- (mse_diff: from the mean reconstruction_error, within 1e-9)
SELECT rows, ok(mse > 0, r(mse)) AS mse_pos, ok(mae > 0, r(mae)) AS mae_pos,
       ok(mae > sqrt(mse) * 0.1, format('mae %s, sqrt(mse) %s', r(mae), r(sqrt(mse)))) AS mae_sane,
       round(abs(mse - (SELECT avg(autoencoder.reconstruction_error('life', x)) FROM pts))::numeric, 9)
         AS mse_diff,
       ok(pca_mse BETWEEN fitted AND 1.01 * fitted, format('pca_mse %s, fit() %s', r(pca_mse), r(fitted)))
         AS pca_near_fit
FROM autoencoder.evaluate('life', 'SELECT x FROM pts'),
     LATERAL (SELECT avg(autoencoder.reconstruction_error(f.m, x)) AS fitted
              FROM pts, (SELECT autoencoder.fit(x, '{"latent_dim": 3, "activation": "linear"}') m
                         FROM pts) f) p;
-- (PCA is its own baseline: within 1e-9)
SELECT rows, round(abs(mse - pca_mse)::numeric, 9) AS pca_minus_itself
FROM autoencoder.evaluate('pca', 'SELECT x FROM pts');

-- anomalies: about 1% of the validation rows are above the threshold
SELECT ok(anomaly_threshold > 0, r(anomaly_threshold)) AS has_threshold
FROM autoencoder.models WHERE name = 'life' AND deployed;
SELECT ok(n BETWEEN 1 AND 30, n || ' of 600 rows are anomalies') AS few, outlier
FROM (SELECT count(*) FILTER (WHERE autoencoder.is_anomaly('life', x)) AS n,
             autoencoder.is_anomaly('life', '{5,5,5,5,5,5,5,5}'::real[]) AS outlier
      FROM pts WHERE x IS NOT NULL) a;
SELECT autoencoder.train('q50', 'SELECT x FROM pts', latent_dim => 3, epochs => 5,
                         anomaly_quantile => 0.5) > 0 AS trained;
SELECT ok(n BETWEEN 200 AND 400, n || ' of 600 rows are anomalies') AS about_half
FROM (SELECT count(*) FILTER (WHERE autoencoder.is_anomaly('q50', x)) AS n
      FROM pts WHERE x IS NOT NULL) a;

-- the deployed view: the error in input units, the scaled validation loss
SELECT name, version, input_dim, latent_dim, rows,
       ok(evaluation_error > 0, r(evaluation_error)) AS error,
       CASE WHEN validation_loss_scaled IS NULL THEN 'none'
            ELSE ok(validation_loss_scaled > 0, r(validation_loss_scaled)) END AS loss,
       length(loss_curve) AS spark_len
FROM autoencoder.deployed WHERE name IN ('life', 'pca') ORDER BY name;
-- the runs view: what each stored training did
SELECT version, deploy_mode, deployed_by_training, reason, deployed_now, warm_started, epochs
FROM autoencoder.runs WHERE name = 'life' ORDER BY version;
SELECT autoencoder.sparkline(ARRAY[4, 3, 2, 1, 1]) AS spark;

-- errors
\pset tuples_only on
\pset format unaligned
SELECT err($$SELECT autoencoder.deploy('life', 99)$$);
SELECT err($$SELECT autoencoder.deploy('nope', 1)$$);
SELECT err($$SELECT autoencoder.rollback('nope')$$);
SELECT err($$SELECT autoencoder.rollback('q50')$$);
SELECT err($$SELECT autoencoder.drop_model('life', 99)$$);
SELECT err($$SELECT autoencoder.training_info('nope')$$);
SELECT err($$SELECT autoencoder.training_info('life', 99)$$);
SELECT err($$SELECT autoencoder.evaluate('nope', 'SELECT x FROM pts')$$);
SELECT err($$SELECT autoencoder.is_anomaly('nope', '{1}'::real[])$$);
SELECT err($$SELECT autoencoder.train('life', 'SELECT x FROM pts', latent_dim => 3, deploy => 'sometimes')$$);
SELECT err($$SELECT autoencoder.train('life', 'SELECT x FROM pts', latent_dim => 3, deploy => 'if_better', validation_fraction => 0)$$);
-- warm_start without a compatible deployed version trains from scratch
-- (a NOTICE says so), so a scheduled retraining works from its first run
SELECT err($$SELECT autoencoder.train('life', 'SELECT x FROM pts', latent_dim => 2, warm_start => true)$$);
SELECT err($$SELECT autoencoder.train('brand_new', 'SELECT x FROM pts', latent_dim => 2, warm_start => true)$$);
SELECT name, version, warm_started FROM autoencoder.runs
WHERE (name, version) IN (('life', 7), ('brand_new', 1)) ORDER BY name;
SELECT err($$SELECT autoencoder.train('life', 'SELECT x FROM pts', latent_dim => 3, activation => 'linear', warm_start => true)$$);
SELECT err($$SELECT autoencoder.train('life', 'SELECT x FROM pts', latent_dim => 3, anomaly_quantile => 1.5)$$);
