-- encode_table: codes and their versions written into a table, batch by
-- batch; deployed_version; encode_query pinned to a version
\i sql/include/setup.psql

-- version 1 of a model on pts (8 -> 3), deployed
SELECT autoencoder.train('et', 'SELECT x FROM pts ORDER BY id', latent_dim => 3,
                         hidden_units => '{8}', activation => 'tanh', epochs => 5,
                         batch_size => 32, seed => 1) > 0 AS trained;

-- the table to encode: pts (600 rows and one NULL input, id 0) with a code
-- and a version column
CREATE TABLE etab AS SELECT id, x FROM pts;
ALTER TABLE etab ADD PRIMARY KEY (id), ADD COLUMN code real[], ADD COLUMN code_version integer;

-- ---- deployed_version and encode_query(name, source, version)
SELECT autoencoder.deployed_version('et') AS deployed,
       autoencoder.deployed_version(NULL) IS NULL AS strict_null;
SELECT err($$SELECT autoencoder.deployed_version('nosuch')$$) AS no_model;
-- the pinned form equals the deployed form bit for bit; a NULL version is
-- the deployed one; a NULL name or source gives no rows
SELECT count(*) AS rows, count(*) FILTER (WHERE a.code = b.code) AS same_bits
FROM autoencoder.encode_query('et', 'SELECT id, x FROM etab') a
JOIN autoencoder.encode_query('et', 'SELECT id, x FROM etab', 1) b USING (id);
SELECT (SELECT count(*) FROM autoencoder.encode_query('et', 'SELECT id, x FROM etab', NULL)) AS null_version,
       (SELECT count(*) FROM autoencoder.encode_query(NULL, 'SELECT id, x FROM etab', 1)) AS null_name,
       (SELECT count(*) FROM autoencoder.encode_query('et', NULL, 1)) AS null_source;
SELECT err($$SELECT * FROM autoencoder.encode_query('et', 'SELECT id, x FROM etab', 2)$$) AS no_version_2,
       err($$SELECT * FROM autoencoder.encode_query('et', 'SELECT id, x FROM etab', 0)$$) AS no_version_0,
       err($$SELECT * FROM autoencoder.encode_query('nosuch', 'SELECT id, x FROM etab', 1)$$) AS no_model;
-- a row's code does not depend on the rows that share its block: one row,
-- 7 rows, 300 rows, all rows give the same bits
SELECT count(*) AS rows, count(*) FILTER (WHERE a.code = b.code) AS same_bits
FROM autoencoder.encode_query('et', 'SELECT id, x FROM etab', 1) a
JOIN (SELECT * FROM autoencoder.encode_query('et', 'SELECT id, x FROM etab WHERE id = 5', 1)
      UNION ALL SELECT * FROM autoencoder.encode_query('et', 'SELECT id, x FROM etab WHERE id BETWEEN 10 AND 16', 1)
      UNION ALL SELECT * FROM autoencoder.encode_query('et', 'SELECT id, x FROM etab WHERE id > 300', 1)) b
USING (id);

-- ---- same-table mode: every row's code and version, in batches of 250 in
-- key order, a progress NOTICE after each (its rates are in the DETAIL,
-- which terse verbosity leaves out)
\set VERBOSITY terse
SET client_min_messages = notice;
CALL autoencoder.encode_table('et', 'etab', 'x', batch_size => 250);
SET client_min_messages = warning;
-- the codes are encode_query's bit for bit (600 rows: encode_query skips
-- the NULL input) and encode()'s to float rounding; the NULL input got a
-- NULL code and the version
SELECT count(*) AS rows, count(*) FILTER (WHERE e.code_version = 1) AS version_1,
       count(*) FILTER (WHERE e.code = q.code) AS same_bits
FROM etab e LEFT JOIN autoencoder.encode_query('et', 'SELECT id, x FROM etab', 1) q USING (id);
SELECT round(max(abs(a - b))::numeric, 5) AS max_diff_to_encode
FROM etab e, autoencoder.get_model('et', 1) m, unnest(e.code, autoencoder.encode(m, e.x)) u(a, b);
SELECT id, code, code_version FROM etab WHERE x IS NULL;
CREATE TABLE etab_v1 AS SELECT id, code, xmin::text AS xm FROM etab;

-- resume: a second call finds nothing to do and writes nothing
SET client_min_messages = notice;
CALL autoencoder.encode_table('et', 'etab', 'x', batch_size => 250);
SET client_min_messages = warning;
SELECT count(*) AS rows_rewritten FROM etab JOIN etab_v1 v USING (id) WHERE etab.xmin::text <> v.xm;

-- an interrupted run leaves rows without a code: the next call does those
-- rows only
UPDATE etab SET code = NULL, code_version = NULL WHERE id BETWEEN 100 AND 199;
CREATE TEMP TABLE before AS SELECT id, xmin::text AS xm FROM etab;
SET client_min_messages = notice;
CALL autoencoder.encode_table('et', 'etab', 'x', batch_size => 64);
SET client_min_messages = warning;
SELECT count(*) AS rows_rewritten, min(id), max(id),
       count(*) FILTER (WHERE e.code = v.code) AS same_bits_as_before
FROM etab e JOIN before b USING (id) JOIN etab_v1 v USING (id) WHERE e.xmin::text <> b.xm;
DROP TABLE before;

-- ---- a new deployment: version 2.  Rows encoded by version 2 already (as
-- a run cancelled after its first batches leaves them: ids 1 to 300) are
-- left alone; only the rows of version 1 are re-encoded
SELECT autoencoder.train('et', 'SELECT x FROM pts ORDER BY id', latent_dim => 3,
                         hidden_units => '{8}', activation => 'tanh', epochs => 5,
                         batch_size => 32, seed => 2) > 0 AS trained;
SELECT autoencoder.deployed_version('et') AS deployed;
UPDATE etab SET code = q.code, code_version = 2
FROM autoencoder.encode_query('et', 'SELECT id, x FROM etab WHERE id <= 300', 2) q WHERE etab.id = q.id;
CREATE TEMP TABLE before AS SELECT id, xmin::text AS xm FROM etab;
SET client_min_messages = notice;
CALL autoencoder.encode_table('et', 'etab', 'x');
SET client_min_messages = warning;
SELECT count(*) AS rows_rewritten, min(id), max(id),
       count(*) FILTER (WHERE id BETWEEN 1 AND 300) AS of_ids_1_to_300
FROM etab JOIN before b USING (id) WHERE etab.xmin::text <> b.xm;
SELECT code_version, count(*) AS rows, count(*) FILTER (WHERE e.code = q.code) AS same_bits
FROM etab e LEFT JOIN autoencoder.encode_query('et', 'SELECT id, x FROM etab', 2) q USING (id)
GROUP BY code_version ORDER BY code_version;
SELECT count(*) AS changed_codes FROM etab e JOIN etab_v1 v USING (id) WHERE e.code <> v.code;
DROP TABLE before;

-- ---- version pinned: back to version 1 while version 2 is deployed, in
-- batches of 77: the very codes of the first run
SET client_min_messages = notice;
CALL autoencoder.encode_table('et', 'etab', 'x', batch_size => 77, version => 1);
SET client_min_messages = warning;
SELECT count(*) FILTER (WHERE e.code_version = 1) AS version_1,
       count(*) FILTER (WHERE e.code = v.code) AS same_bits_as_first_run
FROM etab e JOIN etab_v1 v USING (id);

-- ---- target-table mode: the codes go to a table keyed like the source;
-- here the code is double precision[] and the version smallint (assignment
-- casts from real[] and integer)
CREATE TABLE etab_codes (id bigint PRIMARY KEY, code double precision[], code_version smallint);
SET client_min_messages = notice;
CALL autoencoder.encode_table('et', 'etab', 'x', target => 'etab_codes', batch_size => 200);
CALL autoencoder.encode_table('et', 'etab', 'x', target => 'etab_codes', batch_size => 200);
SET client_min_messages = warning;
SELECT count(*) AS rows, count(*) FILTER (WHERE c.code_version = 2) AS version_2,
       count(*) FILTER (WHERE c.code = q.code::float8[]) AS same_bits,
       count(*) FILTER (WHERE c.code IS NULL) AS null_codes
FROM etab_codes c LEFT JOIN autoencoder.encode_query('et', 'SELECT id, x FROM etab', 2) q USING (id);
-- rows missing from the target, and rows of another version, are done; the
-- others are left alone; no key twice
DELETE FROM etab_codes WHERE id BETWEEN 100 AND 149;
UPDATE etab_codes SET code_version = 1 WHERE id BETWEEN 500 AND 509;
CREATE TEMP TABLE before AS SELECT id, xmin::text AS xm FROM etab_codes;
SET client_min_messages = notice;
CALL autoencoder.encode_table('et', 'etab', 'x', target => 'etab_codes', batch_size => 200);
SET client_min_messages = warning;
SELECT count(*) AS rows, count(DISTINCT id) AS keys, count(*) FILTER (WHERE c.code_version = 2) AS version_2,
       count(*) FILTER (WHERE c.code = q.code::float8[]) AS same_bits,
       count(*) FILTER (WHERE b.id IS NULL) AS inserted,
       count(*) FILTER (WHERE c.xmin::text <> b.xm) AS updated
FROM etab_codes c LEFT JOIN before b USING (id)
LEFT JOIN autoencoder.encode_query('et', 'SELECT id, x FROM etab', 2) q USING (id);
DROP TABLE before;

-- ---- key_column: a unique integer column of a table without a primary
-- key; a NULL key is skipped with a WARNING
CREATE TABLE etab_k (name text, n bigint UNIQUE, x real[], code real[], code_version integer);
INSERT INTO etab_k SELECT 'p' || id, 1000 - id, x FROM pts WHERE id BETWEEN 1 AND 20;
INSERT INTO etab_k VALUES ('no key', NULL, '{1,2,3,4,5,6,7,8}');
SET client_min_messages = notice;
CALL autoencoder.encode_table('et', 'etab_k', 'x', key_column => 'n', batch_size => 8);
SET client_min_messages = warning;
SELECT count(*) FILTER (WHERE code_version = 2) AS version_2, count(*) FILTER (WHERE code IS NULL) AS no_code
FROM etab_k;

-- ---- errors: arguments, columns and types are checked before any work
CREATE VIEW etab_view AS SELECT * FROM etab;
CREATE TABLE etab_nokey (id int, x real[], code real[], code_version integer);
CREATE TABLE etab_nouniq (id int PRIMARY KEY, n int, x real[], code real[], code_version integer);
CREATE TABLE etab_defer (id int PRIMARY KEY, n int UNIQUE DEFERRABLE, x real[], code real[], code_version integer);
CREATE TABLE etab_bad (id int PRIMARY KEY, x text, code text, code_version text, c2 real[], c3 real[]);
CREATE TABLE etab_t1 (k bigint PRIMARY KEY, code real[], code_version integer);
CREATE TABLE etab_t2 (id bigint, code real[], code_version integer);
SELECT err($$CALL autoencoder.encode_table(NULL, 'etab', 'x')$$) AS null_name;
SELECT err($$CALL autoencoder.encode_table('et', NULL, 'x')$$) AS null_source;
SELECT err($$CALL autoencoder.encode_table('et', 'etab', NULL)$$) AS null_input;
SELECT err($$CALL autoencoder.encode_table('et', 'etab', 'x', code_column => NULL)$$) AS null_code;
SELECT err($$CALL autoencoder.encode_table('et', 'etab', 'x', batch_size => NULL)$$) AS null_batch;
SELECT err($$CALL autoencoder.encode_table('et', 'etab', 'x', batch_size => 0)$$) AS batch_0;
SELECT err($$CALL autoencoder.encode_table('nosuch', 'etab', 'x')$$) AS no_model;
SELECT err($$CALL autoencoder.encode_table('et', 'etab', 'x', version => 3)$$) AS no_version;
SELECT err($$CALL autoencoder.encode_table('et', 'nosuch', 'x')$$) AS no_table;
SELECT err($$CALL autoencoder.encode_table('et', 'etab_view', 'x')$$) AS a_view;
SELECT err($$CALL autoencoder.encode_table('et', 'etab_nokey', 'x')$$) AS no_primary_key;
SELECT err($$CALL autoencoder.encode_table('et', 'etab', 'x', key_column => 'nosuch')$$) AS no_key_column;
SELECT err($$CALL autoencoder.encode_table('et', 'etab_k', 'x', key_column => 'name')$$) AS text_key;
SELECT err($$CALL autoencoder.encode_table('et', 'etab_nouniq', 'x', key_column => 'n')$$) AS key_not_unique;
SELECT err($$CALL autoencoder.encode_table('et', 'etab_defer', 'x', key_column => 'n')$$) AS key_deferrable;
SELECT err($$CALL autoencoder.encode_table('et', 'etab', 'nosuch')$$) AS no_input_column;
SELECT err($$CALL autoencoder.encode_table('et', 'etab_bad', 'x', code_column => 'c2')$$) AS text_input;
SELECT err($$CALL autoencoder.encode_table('et', 'etab', 'x', code_column => 'nosuch')$$) AS no_code_column;
SELECT err($$CALL autoencoder.encode_table('et', 'etab_bad', 'c2')$$) AS text_code;
SELECT err($$CALL autoencoder.encode_table('et', 'etab_bad', 'c2', code_column => 'c2')$$) AS code_is_input;
SELECT err($$CALL autoencoder.encode_table('et', 'etab', 'x', version_column => 'code')$$) AS code_is_version;
SELECT err($$CALL autoencoder.encode_table('et', 'etab', 'x', version_column => 'nosuch')$$) AS no_version_column;
SELECT err($$CALL autoencoder.encode_table('et', 'etab_bad', 'c2', code_column => 'c3')$$) AS text_version;
SELECT err($$CALL autoencoder.encode_table('et', 'etab', 'x', target => 'etab')$$) AS target_is_source;
SELECT err($$CALL autoencoder.encode_table('et', 'etab', 'x', target => 'etab_view')$$) AS target_view;
-- (the hints show the columns to add, or the target's shape)
\set VERBOSITY default
CALL autoencoder.encode_table('et', 'etab', 'x', target => 'etab_t1');
CALL autoencoder.encode_table('et', 'etab', 'x', target => 'etab_t1', key_column => 'nosuch');
CALL autoencoder.encode_table('et', 'etab', 'x', target => 'etab_t2');
CALL autoencoder.encode_table('et', 'etab_nouniq', 'x', code_column => 'nosuch');
CALL autoencoder.encode_table('et', 'etab_nouniq', 'x', version_column => 'nosuch');
-- it commits after every batch: not inside a transaction block, a
-- subtransaction (err() runs it in one) or a function
SELECT err($$CALL autoencoder.encode_table('et', 'etab', 'x')$$) AS in_subtransaction;
BEGIN;
CALL autoencoder.encode_table('et', 'etab', 'x');
ROLLBACK;
CREATE FUNCTION etab_f() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    CALL autoencoder.encode_table('et', 'etab', 'x', version => 1);
END
$$;
\set VERBOSITY terse
SELECT etab_f();

-- a model of another input dimension: the first bad row's error.  (The
-- version column holds a version number only: rows at version 1 of et
-- count as done for version 1 of et4, so this runs on etab_k, whose rows
-- are at version 2.)  The error's context names the row; err_context()
-- shows it (encode_table's own context adds the statement it ran).
CREATE FUNCTION err_context(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    ctx text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS ctx = PG_EXCEPTION_CONTEXT;
    RETURN SQLSTATE || ': ' || SQLERRM || ' [' || split_part(ctx, E'\n', 1) || ']';
END
$$;
SELECT autoencoder.train('et4', 'SELECT x[1:4] FROM pts', latent_dim => 2, epochs => 1) > 0 AS trained;
CALL autoencoder.encode_table('et4', 'etab_k', 'x', key_column => 'n');
SELECT err_context($$SELECT count(*) FROM autoencoder.encode_query('et4', 'SELECT n, x FROM etab_k ORDER BY n', 1)$$) AS first_bad_row;
-- a bad row in the middle: the batches before it are committed (ids up to
-- 200), and nothing after it is written
UPDATE etab SET x = x[1:4] WHERE id = 250;
CALL autoencoder.encode_table('et', 'etab', 'x', batch_size => 100);
SELECT err_context($$SELECT count(*) FROM autoencoder.encode_query('et', 'SELECT id, x FROM etab ORDER BY id', 2)$$) AS bad_row;
SELECT code_version, count(*) AS rows, min(id), max(id) FROM etab GROUP BY code_version ORDER BY code_version;
-- with the row fixed, the next call does the rest
UPDATE etab SET x = pts.x FROM pts WHERE etab.id = 250 AND pts.id = 250;
SET client_min_messages = notice;
CALL autoencoder.encode_table('et', 'etab', 'x', batch_size => 1000);
SET client_min_messages = warning;
SELECT code_version, count(*) AS rows, count(*) FILTER (WHERE e.code = q.code) AS same_bits
FROM etab e LEFT JOIN autoencoder.encode_query('et', 'SELECT id, x FROM etab', 2) q USING (id)
GROUP BY code_version ORDER BY code_version;

-- ---- clean up
DROP FUNCTION etab_f(), err_context(text);
DROP VIEW etab_view;
DROP TABLE etab, etab_v1, etab_codes, etab_k, etab_nokey, etab_nouniq, etab_defer, etab_bad, etab_t1, etab_t2;
SELECT autoencoder.drop_model('et') AS dropped, autoencoder.drop_model('et4') AS dropped;
