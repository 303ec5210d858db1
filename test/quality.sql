-- quality.sql: the Fashion-MNIST targets of the issues, trained with train()
-- and fit() on the 60,000 training images and measured on the 10,000 test
-- images (tables fmnist_train and fmnist_test, pixels scaled to [0,1]).
-- Training is deterministic for a seed and thread count, so these are not
-- flaky; timings are printed, never asserted.  Prints one line per check:
-- PASS|FAIL <check> <value> <limit>.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET autoencoder.threads = 2;
DROP EXTENSION IF EXISTS autoencoder CASCADE;
CREATE EXTENSION autoencoder;
CREATE TEMP TABLE checks (name text, value float8, lim float8, ok boolean, seconds float8);

-- the TensorFlow tutorial model: 784 -> 64 relu -> 784 sigmoid, Adam 1e-3,
-- batch 32, 10 epochs, no scaling (REFERENCE: 0.0088)
SELECT clock_timestamp() AS t0 \gset
SELECT autoencoder.train('tf', 'SELECT img FROM fmnist_train', latent_dim => 64,
                         output_activation => 'sigmoid', scaling => 'none',
                         epochs => 10, batch_size => 32, validation_fraction => 0,
                         patience => 0, seed => 1) > 0 AS trained \gset
INSERT INTO checks
SELECT 'tf_tutorial_test_mse', v, 0.0090, v <= 0.0090,
       extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)
FROM (SELECT avg(autoencoder.reconstruction_error('tf', img)) v FROM fmnist_test) s;

-- 784-256-64 mirrored, batch 256, 20 epochs (REFERENCE, PyTorch: 0.00917)
SELECT clock_timestamp() AS t0 \gset
SELECT autoencoder.train('deep', 'SELECT img FROM fmnist_train', latent_dim => 64,
                         hidden_units => '{256}', output_activation => 'sigmoid',
                         scaling => 'none', epochs => 20, batch_size => 256,
                         validation_fraction => 0, patience => 0, seed => 1) > 0 AS trained \gset
INSERT INTO checks
SELECT '784_256_64_test_mse', v, 0.0095, v <= 0.0095,
       extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)
FROM (SELECT avg(autoencoder.reconstruction_error('deep', img)) v FROM fmnist_test) s;

-- denoising, Gaussian noise 0.2 clipped to [0,1]: at least halves the error
-- of noisy test images against the clean ones (REFERENCE: 0.0255 -> 0.01152)
SELECT clock_timestamp() AS t0 \gset
SELECT autoencoder.train('denoise', 'SELECT img FROM fmnist_train', latent_dim => 64,
                         hidden_units => '{256}', output_activation => 'sigmoid',
                         scaling => 'none', noise => 'gaussian', noise_level => 0.2,
                         epochs => 20, validation_fraction => 0, patience => 0,
                         seed => 1) > 0 AS trained \gset
SELECT setseed(0.25);
CREATE TEMP TABLE noisy AS
SELECT id, img, ARRAY(SELECT least(1, greatest(0, v + 0.2 * sqrt(-2 * ln(1 - random()))
                                                  * cos(2 * pi() * random())))
                      FROM unnest(img) v)::real[] AS nimg
FROM fmnist_test;
INSERT INTO checks
SELECT 'denoise_error_ratio', noisy / denoised, 2.0, noisy / denoised >= 2.0,
       extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)
FROM (SELECT avg((SELECT avg((a - b) ^ 2) FROM unnest(img, nimg) t(a, b))) AS noisy,
             avg((SELECT avg((a - b) ^ 2)
                  FROM unnest(img, autoencoder.denoise('denoise', nimg)) t(a, b))) AS denoised
      FROM noisy) s;

-- exact PCA through the fit aggregate: within 0.1% of scikit-learn's 0.01037,
-- serial and with parallel workers
SELECT clock_timestamp() AS t0 \gset
CREATE TEMP TABLE pca_serial AS
SELECT autoencoder.fit(img, '{"latent_dim": 64, "activation": "linear", "scaling": "none"}') AS m
FROM fmnist_train;
INSERT INTO checks
SELECT 'fit_pca64_test_mse', v, 0.01037, abs(v - 0.01037) <= 0.001 * 0.01037,
       extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)
FROM (SELECT avg(autoencoder.reconstruction_error(p.m, img)) v FROM fmnist_test, pca_serial p) s;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SELECT clock_timestamp() AS t0 \gset
CREATE TEMP TABLE pca_parallel AS
SELECT autoencoder.fit(img, '{"latent_dim": 64, "activation": "linear", "scaling": "none"}') AS m
FROM fmnist_train;
INSERT INTO checks
SELECT 'fit_pca64_parallel_test_mse', v, 0.01037, abs(v - 0.01037) <= 0.001 * 0.01037,
       extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)
FROM (SELECT avg(autoencoder.reconstruction_error(p.m, img)) v FROM fmnist_test, pca_parallel p) s;
RESET max_parallel_workers_per_gather;

-- the nonlinear model beats PCA of the same latent size on real data
INSERT INTO checks
SELECT 'deep_beats_pca64', ae / pca, 1.0, ae < pca, NULL
FROM (SELECT avg(autoencoder.reconstruction_error('deep', img)) ae,
             avg(autoencoder.reconstruction_error(p.m, img)) pca
      FROM fmnist_test, pca_serial p) s;

\pset tuples_only on
\pset format unaligned
\pset fieldsep ' '
SELECT CASE WHEN ok THEN 'PASS' ELSE 'FAIL' END, name, round(value::numeric, 6), lim,
       coalesce(round(seconds::numeric, 1) || ' s', '')
FROM checks;
