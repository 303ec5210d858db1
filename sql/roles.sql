-- roles: a model owner trains and deploys; a model user only serves
\i sql/include/setup.psql

-- roles are cluster-wide: drop any left by an earlier run that failed (the
-- setup dropped the objects they had rights on)
DROP ROLE IF EXISTS regress_ae_owner;
DROP ROLE IF EXISTS regress_ae_user;
CREATE ROLE regress_ae_owner;
CREATE ROLE regress_ae_user;
-- the GRANTs of the README, as written there
-- model user: serves deployed models
GRANT USAGE ON SCHEMA autoencoder TO regress_ae_user;
GRANT SELECT ON autoencoder.models, autoencoder.deployments, autoencoder.deployed TO regress_ae_user;
-- model owner: serves, trains, deploys, rolls back and drops
GRANT USAGE ON SCHEMA autoencoder TO regress_ae_owner;
GRANT SELECT, INSERT, UPDATE, DELETE
    ON autoencoder.models, autoencoder.deployments, autoencoder.model_names TO regress_ae_owner;
GRANT SELECT ON autoencoder.deployed TO regress_ae_owner;
GRANT USAGE ON SEQUENCE autoencoder.models_id_seq, autoencoder.deployments_id_seq TO regress_ae_owner;
GRANT SELECT ON pts TO regress_ae_owner, regress_ae_user;

-- every function runs with the caller's rights
SELECT count(*) AS security_definer FROM pg_proc p
JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'autoencoder'
WHERE p.prosecdef;

SET ROLE regress_ae_owner;
SELECT autoencoder.train('owned', 'SELECT x FROM pts', latent_dim => 2, epochs => 2) > 0 AS trained;
SELECT autoencoder.train('owned', 'SELECT x FROM pts', latent_dim => 2, epochs => 2, seed => 2) > 0 AS trained;
SELECT autoencoder.train('owned', 'SELECT x FROM pts', latent_dim => 2, epochs => 2, seed => 3,
                         deploy => 'never') > 0 AS trained;
SELECT autoencoder.rollback('owned') AS rolled_back_to;
SELECT autoencoder.deploy('owned', 2);
SELECT autoencoder.drop_model('owned', 3) AS dropped;
RESET ROLE;

SET ROLE regress_ae_user;
SELECT count(autoencoder.encode('owned', x)) AS encoded FROM pts;
SELECT count(autoencoder.encode(m.model, p.x)) AS encoded_by_value
FROM pts p, autoencoder.models m WHERE m.name = 'owned' AND m.deployed;
SELECT name, version FROM autoencoder.deployed WHERE name = 'owned';
SELECT autoencoder.train('owned', 'SELECT x FROM pts', latent_dim => 2, epochs => 2);
SELECT autoencoder.deploy('owned', 2);
SELECT autoencoder.rollback('owned');
SELECT autoencoder.drop_model('owned');
SELECT autoencoder.save('owned', autoencoder.get_model('owned'));
RESET ROLE;

SELECT count(*) AS versions FROM autoencoder.models WHERE name = 'owned';
DROP OWNED BY regress_ae_owner, regress_ae_user;
DROP ROLE regress_ae_owner;
DROP ROLE regress_ae_user;
