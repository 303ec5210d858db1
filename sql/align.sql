-- align: a retrained version's codes are rotated onto the deployed
-- version's, so codes stored from the older version still find their
-- neighbours; reconstructions do not change
\i sql/include/setup.psql

-- 2,000 rows of 48 dimensions near an 8-dimensional subspace (x = A u +
-- noise, u with variances 1/j), split in two halves that two retrains see
SELECT setseed(0.25);
CREATE TABLE basis AS
SELECT j, ARRAY(SELECT random() * 2 - 1 + 0 * j FROM generate_series(1, 48))::float8[] AS a
FROM generate_series(1, 8) j;
CREATE TABLE emb AS
WITH u AS (SELECT i, j, sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) / sqrt(j) AS v
           FROM generate_series(1, 2000) i, generate_series(1, 8) j)
SELECT i, array_agg(s + (random() - 0.5) * 0.2 ORDER BY o)::real[] AS x
FROM (SELECT u.i, o, sum(u.v * b.a[o]) AS s
      FROM u JOIN basis b USING (j), generate_series(1, 48) o GROUP BY u.i, o) t
GROUP BY i;
CREATE TABLE queries AS SELECT i, x FROM emb WHERE i % 50 = 0;

-- cosine distance, and each query's 10 nearest rows in the input space
CREATE FUNCTION cosd(a real[], b real[]) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
    SELECT 1 - sum(p * q) / (sqrt(sum(p * p)) * sqrt(sum(q * q)) + 1e-30)
    FROM unnest(a, b) u(p, q)
$$;
CREATE TABLE truth AS
SELECT q.i AS qi, n.i
FROM queries q, LATERAL (SELECT e.i FROM emb e WHERE e.i <> q.i
                         ORDER BY cosd(q.x, e.x) LIMIT 10) n;
-- recall@10 of query codes of version qv against codes stored in codes_of
CREATE TABLE stored (version int, i int, z real[]);
CREATE FUNCTION recall(qv int, sv int) RETURNS float8 LANGUAGE sql AS $$
    SELECT avg(hits) / 10 FROM (
        SELECT (SELECT count(*)
                FROM (SELECT s.i FROM stored s
                      WHERE s.version = sv AND s.i <> q.i
                      ORDER BY cosd(autoencoder.encode('al', q.x, qv), s.z) LIMIT 10) n
                JOIN truth t ON t.qi = q.i AND t.i = n.i) AS hits
        FROM queries q) h
$$;

-- version 1: exact PCA of one half; its codes are stored
SELECT autoencoder.train('al', 'SELECT x FROM emb WHERE i % 2 = 0', latent_dim => 8,
                         activation => 'linear', scaling => 'none') > 0 AS v1;
INSERT INTO stored SELECT 1, i, autoencoder.encode('al', x, 1) FROM emb;
-- version 2: a cold retrain on the other half, aligned by default;
-- version 3: the same without alignment
SELECT autoencoder.train('al', 'SELECT x FROM emb WHERE i % 2 = 1', latent_dim => 8,
                         activation => 'linear', scaling => 'none') > 0 AS v2,
       autoencoder.train('al', 'SELECT x FROM emb WHERE i % 2 = 1', latent_dim => 8,
                         activation => 'linear', scaling => 'none', align => false,
                         deploy => 'never') > 0 AS v3;
SELECT version, metrics->'alignment'->'version' AS aligned_to,
       metrics->'alignment'->'rows' AS rows,
       CASE WHEN metrics ? 'alignment' THEN
           ok((metrics->'alignment'->>'mismatch_after')::float8 <
              0.05 * (metrics->'alignment'->>'mismatch_before')::float8,
              r((metrics->'alignment'->>'mismatch_before')::float8) || ' -> ' ||
              r((metrics->'alignment'->>'mismatch_after')::float8)) END AS mismatch_shrank
FROM autoencoder.models WHERE name = 'al' ORDER BY version;
INSERT INTO stored SELECT v, i, autoencoder.encode('al', x, v) FROM emb, generate_series(2, 3) v;

-- new query codes against old stored codes: at least 0.8 of new against new
-- with alignment (the issue's target); without it, clearly less (flipped
-- and rotated axes)
SELECT ok(recall(2, 1) >= 0.8 * recall(2, 2) AND recall(2, 2) > 0.8,
          r(recall(2, 1)) || ' vs ' || r(recall(2, 2))) AS aligned_old_codes_still_work,
       ok(recall(3, 1) < recall(2, 1) - 0.2,
          r(recall(3, 1)) || ' vs ' || r(recall(2, 1))) AS unaligned_old_codes_do_not;

-- the reconstructions of the aligned and unaligned versions agree up to
-- float rounding; the codes are the same up to the rotation
SELECT ok(max(abs(a - b)) < 1e-4 * max(abs(b)), r(max(abs(a - b)))) AS same_reconstructions
FROM emb, LATERAL (SELECT unnest(autoencoder.reconstruct('al', x, 2)) AS a,
                          unnest(autoencoder.reconstruct('al', x, 3)) AS b) s;

-- gradient training with a linear code aligns too (to the deployed version 2)
-- (a few epochs of it lose to PCA: WARNINGs, terse, their details being
-- the machine's losses)
\set VERBOSITY terse
SELECT autoencoder.train('al', 'SELECT x FROM emb', latent_dim => 8, activation => 'linear',
                         solver => 'sgd', epochs => 5, seed => 7) > 0 AS v4;
SELECT metrics->'alignment'->'version' AS aligned_to FROM autoencoder.models
WHERE name = 'al' AND version = 4;
-- warm start: not aligned unless asked (the codes start where they were)
SELECT autoencoder.train('al', 'SELECT x FROM emb', latent_dim => 8, activation => 'linear',
                         solver => 'sgd', epochs => 2, warm_start => true) > 0 AS v5,
       autoencoder.train('al', 'SELECT x FROM emb', latent_dim => 8, activation => 'linear',
                         solver => 'sgd', epochs => 2, warm_start => true, align => true) > 0 AS v6;
\set VERBOSITY default
SELECT version, metrics->'alignment'->'version' AS aligned_to FROM autoencoder.models
WHERE name = 'al' AND version IN (5, 6) ORDER BY version;

-- another code size: trained, not aligned (a NOTICE says why)
SELECT autoencoder.train('al', 'SELECT x FROM emb', latent_dim => 4, activation => 'linear',
                         scaling => 'none') > 0 AS v7;
-- a nonlinear code layer cannot be aligned: by default it is not, asked it is
-- an error (residual => false: the residual network's code layer is linear)
\set VERBOSITY terse
SELECT autoencoder.train('al', 'SELECT x FROM emb', latent_dim => 4, activation => 'tanh',
                         epochs => 1, residual => false) > 0 AS v8;
\set VERBOSITY default
SELECT version, metrics ? 'alignment' AS aligned FROM autoencoder.models
WHERE name = 'al' AND version IN (7, 8) ORDER BY version;
SELECT err($$SELECT autoencoder.train('al', 'SELECT x FROM emb', latent_dim => 4,
                                      activation => 'tanh', residual => false, align => true)$$);
SELECT name, type, "default" FROM autoencoder.options() WHERE name = 'align';

DROP FUNCTION recall(int, int);
DROP FUNCTION cosd(real[], real[]);
DROP TABLE basis, emb, queries, truth, stored;
