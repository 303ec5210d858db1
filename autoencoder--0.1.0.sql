-- autoencoder--0.1.0.sql: train and serve autoencoders from SQL

\echo Use "CREATE EXTENSION autoencoder" to load this file. \quit

-- the model type -------------------------------------------------------

CREATE TYPE @extschema@.model;
CREATE FUNCTION @extschema@.model_in(cstring) RETURNS @extschema@.model
    AS 'MODULE_PATHNAME', 'ae_model_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.model_in(cstring) IS 'text input of a model: the hex digits of its bytes, validated';
CREATE FUNCTION @extschema@.model_out(@extschema@.model) RETURNS cstring
    AS 'MODULE_PATHNAME', 'ae_model_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.model_out(@extschema@.model) IS 'text output of a model: the hex digits of its bytes';
CREATE FUNCTION @extschema@.model_recv(internal) RETURNS @extschema@.model
    AS 'MODULE_PATHNAME', 'ae_model_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.model_recv(internal) IS 'binary input of a model, validated';
CREATE FUNCTION @extschema@.model_send(@extschema@.model) RETURNS bytea
    AS 'MODULE_PATHNAME', 'ae_model_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.model_send(@extschema@.model) IS 'binary output of a model';
CREATE TYPE @extschema@.model (
    INPUT = @extschema@.model_in, OUTPUT = @extschema@.model_out,
    RECEIVE = @extschema@.model_recv, SEND = @extschema@.model_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = int4, STORAGE = extended);
COMMENT ON TYPE @extschema@.model IS 'a trained autoencoder: architecture, scaling, weights and metadata in the versioned, checksummed model format';

-- models ---------------------------------------------------------------

CREATE TABLE @extschema@.models (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 63),
    version     integer NOT NULL CHECK (version >= 1),
    created_at  timestamptz NOT NULL DEFAULT now(),
    input_dim   integer NOT NULL,
    latent_dim  integer NOT NULL,
    config      jsonb NOT NULL,
    metrics     jsonb NOT NULL,
    deployed    boolean NOT NULL DEFAULT false,
    deployed_at timestamptz,
    model       @extschema@.model NOT NULL,
    anomaly_threshold double precision,
    baseline    @extschema@.model,
    UNIQUE (name, version)
);
CREATE UNIQUE INDEX models_one_deployed ON @extschema@.models (name) WHERE deployed;
COMMENT ON TABLE @extschema@.models IS 'one row per trained model version; exactly one version of each name is deployed';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.models', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.models_id_seq', '');
COMMENT ON COLUMN @extschema@.models.deployed_at IS 'when this version was last deployed';
COMMENT ON COLUMN @extschema@.models.anomaly_threshold IS 'the anomaly_quantile of the validation rows'' reconstruction errors; is_anomaly() compares with it';
COMMENT ON COLUMN @extschema@.models.baseline IS 'PCA of the same latent size fitted on the training rows with the model''s scaling (where the residual network starts: epoch 0), for evaluate()';

CREATE TABLE @extschema@.deployments (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    version     integer NOT NULL,
    deployed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deployments_name ON @extschema@.deployments (name, id);
COMMENT ON TABLE @extschema@.deployments IS 'every deployment of a model version, in order; rollback() reads it';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.deployments', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.deployments_id_seq', '');

CREATE TABLE @extschema@.model_names (
    name         text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 63),
    last_version integer NOT NULL DEFAULT 1
);
COMMENT ON TABLE @extschema@.model_names IS 'one row per model name: the last version number issued; its row lock serialises the versions of a name';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_names', '');

CREATE FUNCTION @extschema@.next_version(model_name text) RETURNS integer
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO @extschema@.model_names AS n (name) VALUES (model_name)
    ON CONFLICT (name) DO UPDATE SET last_version = n.last_version + 1
    RETURNING n.last_version;
$$;
COMMENT ON FUNCTION @extschema@.next_version(text) IS 'issues the next version number of a model name and locks the name until the transaction ends';

CREATE FUNCTION @extschema@.lock_model(model_name text) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT NULL::void FROM @extschema@.model_names n WHERE n.name = model_name FOR UPDATE;
$$;
COMMENT ON FUNCTION @extschema@.lock_model(text) IS 'locks a model name until the transaction ends (deploy, rollback and drop_model take it; it needs UPDATE on model_names)';

CREATE FUNCTION @extschema@.models_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ae_models_changed' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.models_changed() IS 'invalidates every backend''s model cache when the models table changes';

CREATE TRIGGER models_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.models
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.models_changed();

CREATE FUNCTION @extschema@.find_version(model_name text, version integer DEFAULT NULL)
RETURNS SETOF @extschema@.models
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
    -- PL/pgSQL, not SQL: a SQL function is inlined into the caller's query,
    -- and Citus refuses a parameterized query over its reference tables
    IF find_version.version IS NULL THEN
        RETURN QUERY SELECT * FROM @extschema@.models m
                     WHERE m.name = model_name AND m.deployed;
    ELSE
        RETURN QUERY SELECT * FROM @extschema@.models m
                     WHERE m.name = model_name AND m.version = find_version.version;
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.find_version(text, integer) IS 'the row of a model version: the deployed one, or the version given (no row if there is none)';

-- training -------------------------------------------------------------

CREATE FUNCTION @extschema@.options(
    OUT "position" integer, OUT name text, OUT type text, OUT "default" text,
    OUT allowed text, OUT in_train boolean, OUT in_fit boolean, OUT description text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ae_options_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.options() IS 'every training option: its train() argument (in order), type, default, allowed values, and whether train() and fit() take it';

-- train()'s signature is the option table's: one argument per option that
-- train() takes, in the table's order, with its type and default
DO $$
DECLARE
    args text;
    types text;
BEGIN
    SELECT string_agg(format('%I %s%s', o.name, o.type,
                             CASE WHEN o."default" IS NULL THEN '' ELSE ' DEFAULT ' || o."default" END),
                      ', ' ORDER BY o."position"),
           string_agg(o.type, ', ' ORDER BY o."position")
    INTO args, types
    FROM @extschema@.options() o WHERE o.in_train;
    EXECUTE format('CREATE FUNCTION @extschema@.train(model_name text, source text, %s) '
                   'RETURNS bigint AS %L, %L LANGUAGE C VOLATILE PARALLEL UNSAFE',
                   args, 'MODULE_PATHNAME', 'ae_train_sql');
    EXECUTE format('COMMENT ON FUNCTION @extschema@.train(text, text, %s) IS %L', types,
                   'trains an autoencoder on the first column of a query, stores it as the next version of model_name and deploys it; options: autoencoder.options()');
END
$$;

-- inference ------------------------------------------------------------

-- Every inference function exists for a model name (its deployed version:
-- STABLE) and for a model value (IMMUTABLE, so it works in generated
-- columns and expression indexes), each for rows of real[], double
-- precision[], integer[] and numeric[]; arrays come back as real[] for the
-- first and third, double precision[] for the others.  COST 500: a forward
-- pass of a typical embedding model takes microseconds, about what a page
-- read is worth to the planner, so per-row calls over a large table get
-- parallel workers without tuning.
CREATE FUNCTION @extschema@.element_types(OUT input text, OUT output text)
RETURNS SETOF record LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    VALUES ('real[]', 'real[]'), ('double precision[]', 'double precision[]'),
           ('integer[]', 'real[]'), ('numeric[]', 'double precision[]')
$$;
COMMENT ON FUNCTION @extschema@.element_types() IS 'the array types the inference functions and fit() take, and the array type each gives back';

DO $$
DECLARE
    f record;
    t record;
    k record;
BEGIN
    FOR f IN SELECT * FROM (VALUES
        ('encode', 'x', NULL, '', 'the latent code of x under %s'),
        ('decode', 'code', NULL, '', 'the input-space row a latent code decodes to under %s'),
        ('reconstruct', 'x', NULL, '', 'decode(encode(x)) under %s, in x''s units'),
        ('denoise', 'x', NULL, '', 'the reconstruction of x under %s, each feature clamped to its training range'),
        ('reconstruction_error', 'x', 'double precision', '', 'the mean over x''s elements of the squared reconstruction error under %s, in x''s units'),
        ('is_anomaly', 'x', 'boolean', '', 'whether x''s reconstruction error under %s exceeds its anomaly threshold (a non-finite error is an anomaly)'),
        ('is_anomaly', 'x', 'boolean', ', quantile double precision',
         'whether x''s reconstruction error under %s exceeds that quantile of the errors of its evaluation rows (a non-finite error is an anomaly)'))
        AS v(fn, arg, ret, extra, doc)
    LOOP
        FOR t IN SELECT * FROM @extschema@.element_types()
        LOOP
            FOR k IN SELECT * FROM (VALUES
                ('model_name text', 'text', 'name', 'STABLE', 'the deployed version of model_name'),
                ('m @extschema@.model', '@extschema@.model', 'value', 'IMMUTABLE', 'the model m'))
                AS v(first, first_type, impl, volatility, what)
            LOOP
                EXECUTE format('CREATE FUNCTION @extschema@.%I(%s, %I %s%s) RETURNS %s '
                               'AS %L, %L LANGUAGE C STRICT %s PARALLEL SAFE COST 500',
                               f.fn, k.first, f.arg, t.input, f.extra, coalesce(f.ret, t.output),
                               'MODULE_PATHNAME', 'ae_' || f.fn || '_' || k.impl, k.volatility);
                EXECUTE format('COMMENT ON FUNCTION @extschema@.%I(%s, %s%s) IS %L',
                               f.fn, k.first_type, t.input,
                               regexp_replace(f.extra, ' [a-z_]+ ', ' ', 'g'), format(f.doc, k.what));
                -- a name may pin one version: its bytes never change
                IF k.impl = 'name' AND f.extra = '' THEN
                    EXECUTE format('CREATE FUNCTION @extschema@.%I(model_name text, %I %s, version integer) '
                                   'RETURNS %s AS %L, %L LANGUAGE C STRICT STABLE PARALLEL SAFE COST 500',
                                   f.fn, f.arg, t.input, coalesce(f.ret, t.output),
                                   'MODULE_PATHNAME', 'ae_' || f.fn || '_name');
                    EXECUTE format('COMMENT ON FUNCTION @extschema@.%I(text, %s, integer) IS %L',
                                   f.fn, t.input, format(f.doc, 'version `version` of model_name'));
                END IF;
            END LOOP;
        END LOOP;
    END LOOP;
END
$$;

CREATE FUNCTION @extschema@.anomaly_threshold(model_name text, quantile double precision DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'ae_anomaly_threshold_name' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.anomaly_threshold(text, double precision) IS 'the reconstruction error above which a row is an anomaly for the deployed version of model_name: the stored threshold, or that quantile of the errors of its evaluation rows';
CREATE FUNCTION @extschema@.anomaly_threshold(m @extschema@.model, quantile double precision DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'ae_anomaly_threshold_value' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.anomaly_threshold(@extschema@.model, double precision) IS 'the reconstruction error above which a row is an anomaly for m: its stored threshold, or that quantile of the errors of its evaluation rows';

CREATE FUNCTION @extschema@.describe(m @extschema@.model) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'ae_describe' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.describe(@extschema@.model) IS 'architecture, options, scaling, training metrics and size of a model';

-- models as values -----------------------------------------------------

CREATE FUNCTION @extschema@.get_model(model_name text, version integer DEFAULT NULL)
RETURNS @extschema@.model
AS 'MODULE_PATHNAME', 'ae_get_model' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.get_model(text, integer) IS 'a stored model as a value: the deployed version, or the version given';

CREATE FUNCTION @extschema@.save(model_name text, m @extschema@.model, deploy boolean DEFAULT true)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ae_save' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.save(text, @extschema@.model, boolean) IS 'stores a model value as the next version of model_name (deployed unless deploy is false; a first version is always deployed)';

-- the fit aggregate ----------------------------------------------------

CREATE TYPE @extschema@.fit_state;
CREATE FUNCTION @extschema@.fit_state_in(cstring) RETURNS @extschema@.fit_state
    AS 'MODULE_PATHNAME', 'ae_fit_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.fit_state_in(cstring) IS 'text input of a partial fit state (base64 of its bytes), checked in full';
CREATE FUNCTION @extschema@.fit_state_out(@extschema@.fit_state) RETURNS cstring
    AS 'MODULE_PATHNAME', 'ae_fit_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.fit_state_out(@extschema@.fit_state) IS 'text output of a partial fit state (base64 of its bytes), exact';
CREATE FUNCTION @extschema@.fit_state_recv(internal) RETURNS @extschema@.fit_state
    AS 'MODULE_PATHNAME', 'ae_fit_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.fit_state_recv(internal) IS 'binary input of a partial fit state, checked in full';
CREATE FUNCTION @extschema@.fit_state_send(@extschema@.fit_state) RETURNS bytea
    AS 'MODULE_PATHNAME', 'ae_fit_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.fit_state_send(@extschema@.fit_state) IS 'binary output of a partial fit state';
CREATE TYPE @extschema@.fit_state (
    INPUT = @extschema@.fit_state_in, OUTPUT = @extschema@.fit_state_out,
    RECEIVE = @extschema@.fit_state_recv, SEND = @extschema@.fit_state_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = int4, STORAGE = extended);
COMMENT ON TYPE @extschema@.fit_state IS 'partial state of autoencoder.fit: exact moments, or exact sums and a uniform sample of the rows, in a versioned little-endian format';

CREATE FUNCTION @extschema@.fit_combine(@extschema@.fit_state, @extschema@.fit_state) RETURNS @extschema@.fit_state
    AS 'MODULE_PATHNAME', 'ae_fit_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.fit_combine(@extschema@.fit_state, @extschema@.fit_state) IS 'combine function of fit: the state of both inputs'' rows';
CREATE FUNCTION @extschema@.fit_final(@extschema@.fit_state) RETURNS @extschema@.model
    AS 'MODULE_PATHNAME', 'ae_fit_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.fit_final(@extschema@.fit_state) IS 'final function of fit: trains (or solves PCA) and returns the model';

-- fit(x) and fit(x, options) for every element type, with their transition
-- functions.  The aggregate runs its support functions with its owner's
-- right, so nobody else needs to call them directly (or build aggregates
-- over them): EXECUTE is revoked from PUBLIC.  On Citus, grant them to the
-- roles that run a distributed fit, since Citus checks the caller's right
-- (see the README).
DO $$
DECLARE
    t record;
    o record;
BEGIN
    FOR t IN SELECT * FROM @extschema@.element_types()
    LOOP
        FOR o IN SELECT * FROM (VALUES ('', 'with default options'),
                                       (', jsonb', 'with options: train()''s, by the same names'))
                 AS v(extra, doc)
        LOOP
            EXECUTE format('CREATE FUNCTION @extschema@.fit_accum(@extschema@.fit_state, %s%s) '
                           'RETURNS @extschema@.fit_state AS %L, %L LANGUAGE C IMMUTABLE PARALLEL SAFE COST 50',
                           t.input, o.extra, 'MODULE_PATHNAME', 'ae_fit_accum');
            EXECUTE format('COMMENT ON FUNCTION @extschema@.fit_accum(@extschema@.fit_state, %s%s) IS %L',
                           t.input, o.extra, 'transition function of fit');
            EXECUTE format('REVOKE EXECUTE ON FUNCTION @extschema@.fit_accum(@extschema@.fit_state, %s%s) FROM PUBLIC',
                           t.input, o.extra);
            EXECUTE format('CREATE AGGREGATE @extschema@.fit(%s%s) ('
                           'SFUNC = @extschema@.fit_accum, STYPE = @extschema@.fit_state, '
                           'FINALFUNC = @extschema@.fit_final, COMBINEFUNC = @extschema@.fit_combine, '
                           'PARALLEL = SAFE)', t.input, o.extra);
            EXECUTE format('COMMENT ON AGGREGATE @extschema@.fit(%s%s) IS %L', t.input, o.extra,
                           'trains an autoencoder on the rows aggregated, ' || o.doc);
        END LOOP;
    END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION
    @extschema@.fit_combine(@extschema@.fit_state, @extschema@.fit_state),
    @extschema@.fit_final(@extschema@.fit_state)
FROM PUBLIC;

-- batch inference ------------------------------------------------------

CREATE FUNCTION @extschema@.encode_query(model_name text, source text)
RETURNS TABLE (id bigint, code real[])
AS 'MODULE_PATHNAME', 'ae_encode_query' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.encode_query(text, text) IS 'encodes every row of a query returning (id, x) in blocks through sgemm; rows with a NULL id or x are skipped';

-- lifecycle: deployment, rollback, dropping -----------------------------

CREATE FUNCTION @extschema@.deploy(model_name text, version integer) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM @extschema@.lock_model(model_name);
    IF NOT EXISTS (SELECT 1 FROM @extschema@.models m
                   WHERE m.name = model_name AND m.version = deploy.version) THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = format('model "%s" has no version %s', model_name, deploy.version);
    END IF;
    UPDATE @extschema@.models m SET deployed = false
    WHERE m.name = model_name AND m.deployed AND m.version <> deploy.version;
    UPDATE @extschema@.models m SET deployed = true, deployed_at = now()
    WHERE m.name = model_name AND m.version = deploy.version;
    INSERT INTO @extschema@.deployments (name, version) VALUES (model_name, deploy.version);
END
$$;
COMMENT ON FUNCTION @extschema@.deploy(text, integer) IS 'makes one version of a model the deployed one';

CREATE FUNCTION @extschema@.rollback(model_name text) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    current integer;
    previous integer;
BEGIN
    PERFORM @extschema@.lock_model(model_name);
    SELECT m.version INTO current FROM @extschema@.find_version(model_name) m;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = format('model "%s" does not exist', model_name);
    END IF;
    -- the version deployed just before the current deployment, if it still exists
    SELECT d.version INTO previous FROM @extschema@.deployments d
    WHERE d.name = model_name AND d.version <> current
      AND d.id < (SELECT max(c.id) FROM @extschema@.deployments c
                  WHERE c.name = model_name AND c.version = current)
      AND EXISTS (SELECT 1 FROM @extschema@.models m
                  WHERE m.name = model_name AND m.version = d.version)
    ORDER BY d.id DESC LIMIT 1;
    IF previous IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('model "%s" has no earlier deployed version to roll back to', model_name),
            HINT = 'Deploy a version by number with autoencoder.deploy().';
    END IF;
    PERFORM @extschema@.deploy(model_name, previous);
    RETURN previous;
END
$$;
COMMENT ON FUNCTION @extschema@.rollback(text) IS 'deploys again the version that was deployed before the current one; returns it';

CREATE FUNCTION @extschema@.drop_model(model_name text, version integer DEFAULT NULL,
                                       force boolean DEFAULT false) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    dropped bigint;
    was_deployed boolean;
    latest integer;
BEGIN
    PERFORM @extschema@.lock_model(model_name);
    IF drop_model.version IS NULL THEN
        DELETE FROM @extschema@.models m WHERE m.name = model_name;
        GET DIAGNOSTICS dropped = ROW_COUNT;
        IF dropped = 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'undefined_object',
                MESSAGE = format('model "%s" does not exist', model_name);
        END IF;
        DELETE FROM @extschema@.deployments d WHERE d.name = model_name;
        DELETE FROM @extschema@.model_names n WHERE n.name = model_name;
        RETURN dropped;
    END IF;
    SELECT m.deployed INTO was_deployed FROM @extschema@.models m
    WHERE m.name = model_name AND m.version = drop_model.version;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = format('model "%s" has no version %s', model_name, drop_model.version);
    END IF;
    IF was_deployed AND NOT force THEN
        RAISE EXCEPTION USING ERRCODE = 'object_in_use',
            MESSAGE = format('version %s of model "%s" is deployed', drop_model.version, model_name),
            HINT = 'Deploy another version first, or pass force => true.';
    END IF;
    DELETE FROM @extschema@.models m WHERE m.name = model_name AND m.version = drop_model.version;
    IF was_deployed THEN
        SELECT max(m.version) INTO latest FROM @extschema@.models m WHERE m.name = model_name;
        IF latest IS NOT NULL THEN
            PERFORM @extschema@.deploy(model_name, latest);
            RAISE NOTICE 'version % of model "%" is deployed now', latest, model_name;
        END IF;
    END IF;
    RETURN 1;
END
$$;
COMMENT ON FUNCTION @extschema@.drop_model(text, integer, boolean) IS 'drops every version of a model, or one version (a deployed one only with force, and the latest remaining version is then deployed)';

-- lifecycle: inspection ------------------------------------------------

CREATE FUNCTION @extschema@.training_info(model_name text, version integer DEFAULT NULL)
RETURNS TABLE (epoch integer, train_loss double precision, validation_loss double precision,
               learning_rate double precision, seconds double precision)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    curve jsonb;
BEGIN
    SELECT m.metrics->'loss_curve' INTO curve
    FROM @extschema@.find_version(model_name, training_info.version) m;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = CASE WHEN training_info.version IS NULL
                           THEN format('model "%s" does not exist', model_name)
                           ELSE format('model "%s" has no version %s', model_name, training_info.version) END;
    END IF;
    RETURN QUERY
    SELECT (e->>'epoch')::integer, (e->>'train_loss')::double precision,
           (e->>'validation_loss')::double precision,
           (e->>'learning_rate')::double precision, (e->>'seconds')::double precision
    FROM jsonb_array_elements(coalesce(curve, '[]')) e
    ORDER BY (e->>'epoch')::integer;
END
$$;
COMMENT ON FUNCTION @extschema@.training_info(text, integer) IS 'one row per training epoch of a model version (the deployed one by default), like ML.TRAINING_INFO; epoch 0 is the starting point (the PCA a residual model starts at, or a warm start''s weights) when it was a candidate for the epoch kept';

CREATE FUNCTION @extschema@.evaluate(model_name text, source text, version integer DEFAULT NULL)
RETURNS TABLE (rows bigint, mse double precision, mae double precision,
               pca_mse double precision, pca_mae double precision,
               recall_at_10_cosine double precision, recall_at_10_l2 double precision,
               pca_recall_at_10_cosine double precision, pca_recall_at_10_l2 double precision,
               nonfinite_rows bigint)
AS 'MODULE_PATHNAME', 'ae_evaluate' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.evaluate(text, text, integer) IS 'a model version (the deployed one by default) measured on a query''s rows, next to PCA of the same latent size fitted on its training rows: rows, mean squared and absolute error (input units), recall@10 of the codes by cosine and by L2 on a seeded sample (1,000 queries among up to 10,000 rows), and rows whose error is not finite (left out of the means)';

CREATE FUNCTION @extschema@.sparkline(v double precision[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT string_agg(CASE WHEN hi = lo THEN '▄'
                           ELSE substr('▁▂▃▄▅▆▇█', 1 + floor(7.999 * (x - lo) / (hi - lo))::integer, 1) END,
                      '' ORDER BY i)
    FROM unnest(v) WITH ORDINALITY u(x, i),
         (SELECT min(y) AS lo, max(y) AS hi FROM unnest(v) y) r
    WHERE x IS NOT NULL
$$;
COMMENT ON FUNCTION @extschema@.sparkline(double precision[]) IS 'a one-line text chart of a series';

CREATE VIEW @extschema@.deployed AS
SELECT m.name, m.version, m.deployed_at, m.input_dim, m.latent_dim,
       (m.metrics->>'evaluation_error')::double precision AS evaluation_error,
       (m.metrics->>'final_validation_loss')::double precision AS validation_loss_scaled,
       (m.metrics->>'rows_used')::bigint AS rows,
       (m.metrics->>'seconds')::double precision AS training_seconds,
       @extschema@.sparkline(ARRAY(
           SELECT coalesce((e->>'validation_loss')::double precision, (e->>'train_loss')::double precision)
           FROM jsonb_array_elements(CASE WHEN jsonb_typeof(m.metrics->'loss_curve') = 'array'
                                          THEN m.metrics->'loss_curve' ELSE '[]' END) e)) AS loss_curve
FROM @extschema@.models m
WHERE m.deployed;
COMMENT ON VIEW @extschema@.deployed IS 'the deployed version of every model: evaluation_error is the mean reconstruction error on its evaluation rows in input units (what reconstruction_error() returns); validation_loss_scaled and the loss curve are in the model''s scaled units';
COMMENT ON COLUMN @extschema@.deployed.evaluation_error IS 'mean squared reconstruction error per element on the evaluation rows, in input units';
COMMENT ON COLUMN @extschema@.deployed.validation_loss_scaled IS 'the training loss on the validation rows, in the model''s scaled units (standard scaling: variance units)';

CREATE VIEW @extschema@.runs AS
SELECT m.name, m.version, m.created_at,
       m.metrics->'deployment'->>'mode' AS deploy_mode,
       (m.metrics->'deployment'->>'deployed')::boolean AS deployed_by_training,
       m.metrics->'deployment'->>'reason' AS reason,
       m.deployed AS deployed_now,
       (m.metrics->>'evaluation_error')::double precision AS evaluation_error,
       (m.metrics->'deployment'->>'deployed_loss')::double precision AS replaced_version_error,
       (m.metrics->>'warm_started')::boolean AS warm_started,
       (m.metrics->>'epochs_run')::integer AS epochs,
       (m.metrics->>'rows_used')::bigint AS rows,
       (m.metrics->>'seconds')::double precision AS seconds
FROM @extschema@.models m;
COMMENT ON VIEW @extschema@.runs IS 'what each stored training did: deployed or not and why, its error on its evaluation rows and the error of the version it was compared with on the same rows (input units), whether it warm-started, epochs, rows, seconds';

-- Citus ----------------------------------------------------------------

-- On a Citus cluster, CREATE EXTENSION on the coordinator creates the
-- extension on every worker, but its tables stay local to each node.
-- citus_setup() makes the model catalog a set of reference tables (one
-- copy on every node, written by Citus's two-phase commits), so that the
-- name-based functions serve the coordinator's deployed models on every
-- node, inside the shard queries of distributed tables too (they read the
-- node's own placement: src/pg/ae_pg_spi.c).  Until it has run, a worker
-- refuses model names rather than serve its unrelated local rows.
CREATE FUNCTION @extschema@.citus_setup() RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    local_group integer;
    tbl text;
    rel regclass;
    kind text;
    made text[] := '{}';
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = 'Citus is not installed in this database',
            HINT = 'autoencoder.citus_setup() prepares the models for a Citus cluster: run CREATE EXTENSION citus on the coordinator first.';
    END IF;
    -- (dynamic SQL: the Citus catalogs exist only with Citus)
    EXECUTE 'SELECT groupid FROM pg_catalog.pg_dist_local_group' INTO local_group;
    IF local_group IS DISTINCT FROM 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = 'autoencoder.citus_setup() must run on the Citus coordinator',
            DETAIL = format('This node is a Citus worker (group %s).', local_group),
            HINT = 'Run it on the coordinator: the reference tables it makes reach every worker.';
    END IF;
    -- models: served by name everywhere; deployments: read with models by
    -- rollback().  model_names stays local to the coordinator, where models
    -- are trained, saved and deployed (next_version() and lock_model() are
    -- SQL functions, which Citus does not run against its tables)
    FOREACH tbl IN ARRAY ARRAY['models', 'deployments'] LOOP
        rel := format('%I.%I', '@extschema@', tbl)::regclass;
        EXECUTE 'SELECT CASE WHEN partmethod = ''n'' AND repmodel = ''t'' THEN ''reference'' ELSE partmethod::text END'
                ' FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1'
            INTO kind USING rel;
        IF kind IS NULL THEN
            -- the models table keeps its statement trigger (it invalidates
            -- the model caches; Citus recreates it on every placement);
            -- dropping it would not reach the workers' copies of the table
            PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
            EXECUTE 'SELECT pg_catalog.create_reference_table($1)' USING rel;
            -- the rows now live in the placements; drop the local copy
            EXECUTE 'SELECT pg_catalog.truncate_local_data_after_distributing_table($1)' USING rel;
            made := made || rel::text;
        ELSIF kind <> 'reference' THEN
            RAISE EXCEPTION USING ERRCODE = 'wrong_object_type',
                MESSAGE = format('%s is a distributed table, not a reference table', rel),
                HINT = format('Undo it (SELECT undistribute_table(%L)) and run autoencoder.citus_setup() again.', rel::text);
        END IF;
    END LOOP;
    IF cardinality(made) = 0 THEN
        RETURN 'the models are reference tables already';
    END IF;
    RETURN format('made reference tables: %s', array_to_string(made, ', '));
END
$$;
COMMENT ON FUNCTION @extschema@.citus_setup() IS 'on a Citus coordinator: makes autoencoder.models and autoencoder.deployments reference tables, so every node serves models by name; idempotent';

-- encoding tables ------------------------------------------------------

-- encode_table() keeps a table's codes current, batch by batch, using
-- encode_query()'s block path; the C parts are src/pg/ae_pg_batch.c and
-- src/pg/ae_pg_encode_table.c.

CREATE FUNCTION @extschema@.encode_query(model_name text, source text, version integer)
RETURNS TABLE (id bigint, code real[])
AS 'MODULE_PATHNAME', 'ae_encode_query' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.encode_query(text, text, integer) IS 'encodes every row of a query returning (id, x) with one version of a model (NULL: the deployed one) in blocks through sgemm; rows with a NULL id or x are skipped, and a NULL model_name or source gives no rows';

CREATE FUNCTION @extschema@.deployed_version(model_name text) RETURNS integer
AS 'MODULE_PATHNAME', 'ae_deployed_version' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.deployed_version(text) IS 'the version of model_name that is deployed, as the statement''s snapshot sees it (the same for every row of a statement)';

CREATE FUNCTION @extschema@.check_not_in_transaction_block(command text) RETURNS void
AS 'MODULE_PATHNAME', 'ae_check_not_in_transaction_block' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION @extschema@.check_not_in_transaction_block(text) IS 'raises active_sql_transaction inside a transaction block or a subtransaction, where a procedure cannot commit; encode_table() calls it first';

CREATE FUNCTION @extschema@.encode_table_progress(source text, done bigint, total bigint,
                                                  started timestamptz) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rate double precision := done / greatest(extract(epoch FROM clock_timestamp() - started), 1e-6);
BEGIN
    RAISE NOTICE '%: % of % rows encoded (%)', source, done, total,
                 round(100.0 * least(done, total) / greatest(total, 1)) || '%'
        USING DETAIL = format('%s rows/s, about %s s left.', round(rate),
                              round((greatest(total - done, 0) / rate)::numeric, 1));
END
$$;
COMMENT ON FUNCTION @extschema@.encode_table_progress(text, bigint, bigint, timestamptz) IS 'the progress NOTICE of encode_table(): rows done of the total, and in its DETAIL the rate since started and the time left';

-- encode_table(model_name, source, input_column, ...): writes every row's
-- code under one model version, and that version, either into columns of
-- the source (target NULL) or into a target table keyed like the source:
--
--     CREATE TABLE <target> (<key> bigint PRIMARY KEY, <code_column> real[],
--                            <version_column> integer);
--
-- The key is the source's single-column integer primary key, or key_column
-- (an integer column with a unique index); the target's key column has its
-- name, any integer type and a unique index.  The code column is real[],
-- double precision[], or a type with an assignment cast from real[] (the
-- write goes through it: pgvector's vector, halfvec, sparsevec); the
-- version column smallint, integer or bigint.  The version is the one
-- given, else the one deployed when the call starts, for the whole call.
--
-- A row needs work when its stored version IS DISTINCT FROM that version
-- (no code yet, or another version's).  Those rows are taken in key order,
-- batch_size at a time, and each batch is one statement around
-- encode_query(name, <the batch>, version) (an UPDATE of the source; or,
-- with the target locked against other writers until the batch commits, a
-- plain INSERT of rows it lacks and an UPDATE of rows it has), then COMMIT
-- and a progress NOTICE: rows done of the total, with the rate and the time
-- left in its DETAIL.  So a cancelled run keeps the batches it committed,
-- the next call does only the rest, and after a deployment a call
-- re-encodes only the rows of other versions.
--
-- Batches commit without waiting for their WAL to be flushed (on slow
-- storage the flushes would cost as much as the encoding).  A batch's
-- progress NOTICE comes once it is flushed, so a crash never loses a batch
-- reported done; it may lose the last batches committed but not yet
-- reported, which the next call does again.  The call's last commit waits
-- for all of it (under the session's synchronous_commit): every batch is
-- durable once the CALL returns.
--
-- The version column holds a version number only: codes of another model
-- name with the same number count as done.  Rows whose input is NULL get a
-- NULL code and the version; rows whose key is NULL are skipped, with a
-- WARNING.  Target rows whose source row is gone are left alone.  Being a
-- procedure that commits, it runs only as a CALL of its own (not inside
-- BEGIN ... COMMIT, a function or a subtransaction).
CREATE PROCEDURE @extschema@.encode_table(
    model_name text, source regclass, input_column name,
    code_column name DEFAULT 'code', version_column name DEFAULT 'code_version',
    target regclass DEFAULT NULL, key_column name DEFAULT NULL,
    batch_size integer DEFAULT 10000, version integer DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
    v integer := encode_table.version;  -- the version written, fixed for the call
    latent integer;
    dest regclass := coalesce(encode_table.target, encode_table.source);
    src text;                           -- qualified names
    dst text;
    qual text;
    bare name;
    relkind "char";
    kind "char";
    key name := key_column;
    key_num smallint;
    typ regtype;
    typmod integer;
    in_expr text;                       -- the input as encode_query reads it
    from_sql text;                      -- the source rows with their stored version
    pending text;                       -- the condition of a row that needs work
    after text;                         -- the condition of a key past lo (and up to hi)
    seen boolean;                       -- the target has a row past lo
    in_notnull boolean;                 -- the input column is NOT NULL
    key_notnull boolean;                -- the key column is NOT NULL
    total bigint;                       -- rows to encode, counted at the start
    never bigint;                       -- ... of which without any version yet
    nulls_total bigint;                 -- ... of which with a NULL input (NULL: not counted)
    null_keys bigint;                   -- rows skipped for a NULL key
    done bigint := 0;
    nulls_done bigint := 0;
    batch_rows bigint;                  -- rows written by a batch
    null_rows bigint;                   -- ... of them with a NULL input
    hi bigint;
    lo bigint;                          -- the last key of the last batch
    batches integer := 0;
    started timestamptz;
    sync text;                          -- the session's synchronous_commit
    unreported bigint[] := '{}';        -- rows done after each batch not yet reported
    unreported_lsn pg_lsn[] := '{}';    -- ... and the WAL position of its commit
    flushed pg_lsn;
    secs double precision;
BEGIN
    -- arguments
    IF model_name IS NULL OR source IS NULL OR input_column IS NULL OR code_column IS NULL
       OR version_column IS NULL OR batch_size IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s must not be null',
                             CASE WHEN model_name IS NULL THEN 'model_name'
                                  WHEN source IS NULL THEN 'source'
                                  WHEN input_column IS NULL THEN 'input_column'
                                  WHEN code_column IS NULL THEN 'code_column'
                                  WHEN version_column IS NULL THEN 'version_column'
                                  ELSE 'batch_size' END),
            HINT = 'Only target, key_column and version may be NULL (they default to the source, its primary key and the deployed version).';
    END IF;
    IF batch_size < 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('batch_size must be at least 1, not %s', batch_size);
    END IF;

    -- the version, fixed now for the whole call
    IF v IS NULL THEN
        v := @extschema@.deployed_version(model_name);
    END IF;
    SELECT m.latent_dim INTO latent FROM @extschema@.find_version(model_name, v) m;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = format('model "%s" has no version %s', model_name, v);
    END IF;

    -- the source (and the target), the key and the input column
    IF encode_table.target = source THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'target must not be the source table',
            HINT = 'Leave target NULL to write the codes into columns of the source.';
    END IF;
    FOREACH kind IN ARRAY ARRAY['s', 'd']::"char"[] LOOP
        CONTINUE WHEN kind = 'd' AND encode_table.target IS NULL;
        SELECT format('%I.%I', n.nspname, c.relname), c.relname, c.relkind INTO qual, bare, relkind
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid = CASE kind WHEN 's' THEN source ELSE dest END;
        IF relkind NOT IN ('r', 'p') THEN
            RAISE EXCEPTION USING ERRCODE = 'wrong_object_type',
                MESSAGE = format('"%s" is not a table', bare);
        END IF;
        IF kind = 's' THEN
            src := qual;
        ELSE
            dst := qual;
        END IF;
    END LOOP;
    IF key IS NULL THEN
        SELECT a.attname INTO key
        FROM pg_catalog.pg_index i
        JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = source AND i.indisprimary AND i.indnkeyatts = 1;
        IF key IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
                MESSAGE = format('table %s has no single-column primary key', source),
                HINT = 'Pass key_column => the name of an integer column with a unique index.';
        END IF;
    END IF;
    FOREACH kind IN ARRAY ARRAY['s', 'd']::"char"[] LOOP
        -- the key: an integer column with a unique index, in the source and the target
        CONTINUE WHEN kind = 'd' AND encode_table.target IS NULL;
        SELECT a.atttypid, a.attnum, a.attnotnull INTO typ, key_num, seen FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = CASE kind WHEN 's' THEN source ELSE dest END
          AND a.attname = key AND a.attnum > 0 AND NOT a.attisdropped;
        IF NOT FOUND AND kind = 's' THEN
            RAISE EXCEPTION USING ERRCODE = 'undefined_column',
                MESSAGE = format('column "%s" of relation %s does not exist', key, source);
        ELSIF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'undefined_column',
                MESSAGE = format('column "%s" of relation %s does not exist', key, dest),
                HINT = format('The target holds the source''s key, the code and its version: CREATE TABLE %s (%I bigint PRIMARY KEY, %I real[], %I integer).',
                              dest, key, code_column, version_column);
        END IF;
        IF kind = 's' THEN
            key_notnull := seen;
        END IF;
        IF typ NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype) THEN
            RAISE EXCEPTION USING ERRCODE = 'datatype_mismatch',
                MESSAGE = format('key column "%s" of %s must be smallint, integer or bigint', key,
                                 CASE kind WHEN 's' THEN source ELSE dest END),
                DETAIL = format('It is %s.', typ);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                       WHERE i.indrelid = CASE kind WHEN 's' THEN source ELSE dest END
                         AND i.indisunique AND i.indnkeyatts = 1 AND i.indkey[0] = key_num
                         AND i.indisvalid AND i.indimmediate
                         AND i.indpred IS NULL AND i.indexprs IS NULL) THEN
            RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
                MESSAGE = format('key column "%s" of %s has no unique index', key,
                                 CASE kind WHEN 's' THEN source ELSE dest END),
                HINT = format('Rows are taken in key order and their codes written by key: CREATE UNIQUE INDEX ON %s (%I).',
                              CASE kind WHEN 's' THEN source ELSE dest END, key);
        END IF;
    END LOOP;
    SELECT a.atttypid, a.attnotnull INTO typ, in_notnull FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = source AND a.attname = input_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_column',
            MESSAGE = format('column "%s" of relation %s does not exist', input_column, source);
    END IF;
    IF (SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
        FROM pg_catalog.pg_type t WHERE t.oid = typ)
       IN (SELECT e.input::regtype FROM @extschema@.element_types() e) THEN
        in_expr := format('s.%I', input_column);
    ELSIF EXISTS (SELECT 1 FROM pg_catalog.pg_cast k
                  WHERE k.castsource = typ AND k.casttarget = 'real[]'::regtype) THEN
        in_expr := format('s.%I::real[]', input_column);   -- pgvector's vector, halfvec
    ELSE
        RAISE EXCEPTION USING ERRCODE = 'datatype_mismatch',
            MESSAGE = format('input column "%s" must be %s, or a type with a cast to real[]', input_column,
                             (SELECT string_agg(e.input, ', ') FROM @extschema@.element_types() e)),
            DETAIL = format('It is %s.', typ);
    END IF;

    -- the code and version columns, in the source or the target
    IF code_column = version_column OR key IN (code_column, version_column)
       OR (encode_table.target IS NULL AND input_column IN (code_column, version_column)) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('code_column "%s" and version_column "%s" must be two columns other than the key "%s"%s',
                             code_column, version_column, key,
                             CASE WHEN encode_table.target IS NULL THEN format(' and the input "%s"', input_column) ELSE '' END);
    END IF;
    SELECT a.atttypid, a.atttypmod INTO typ, typmod FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = dest AND a.attname = code_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_column',
            MESSAGE = format('column "%s" of relation %s does not exist', code_column, dest),
            HINT = CASE WHEN encode_table.target IS NULL THEN format(
                'Add the code column%s first: ALTER TABLE %s ADD COLUMN %I real[]%s.',
                CASE WHEN NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                                      WHERE a.attrelid = dest AND a.attname = version_column
                                        AND a.attnum > 0 AND NOT a.attisdropped)
                     THEN ' and the version column' ELSE '' END,
                dest, code_column,
                CASE WHEN NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                                      WHERE a.attrelid = dest AND a.attname = version_column
                                        AND a.attnum > 0 AND NOT a.attisdropped)
                     THEN format(', ADD COLUMN %I integer', version_column) ELSE '' END) ELSE format(
                'The target holds the source''s key, the code and its version: CREATE TABLE %s (%I bigint PRIMARY KEY, %I real[], %I integer).',
                dest, key, code_column, version_column) END;
    END IF;
    IF NOT (typ IN ('real[]'::regtype, 'double precision[]'::regtype)
            OR EXISTS (SELECT 1 FROM pg_catalog.pg_cast k
                       WHERE k.castsource = 'real[]'::regtype AND k.casttarget = typ
                         AND k.castcontext IN ('a', 'i'))) THEN
        RAISE EXCEPTION USING ERRCODE = 'datatype_mismatch',
            MESSAGE = format('code column "%s" must be real[], double precision[] or a type with an assignment cast from real[]',
                             code_column),
            DETAIL = format('It is %s.', typ),
            HINT = 'pgvector''s vector, halfvec and sparsevec have such a cast.';
    END IF;
    IF typmod > 0 AND latent <> typmod
       AND (SELECT t.typname FROM pg_catalog.pg_type t WHERE t.oid = typ) IN ('vector', 'halfvec', 'sparsevec') THEN
        RAISE EXCEPTION USING ERRCODE = 'datatype_mismatch',
            MESSAGE = format('code column "%s" has %s dimensions, but the codes of model "%s" version %s have %s',
                             code_column, typmod, model_name, v, latent);
    END IF;
    SELECT a.atttypid INTO typ FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = dest AND a.attname = version_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_column',
            MESSAGE = format('column "%s" of relation %s does not exist', version_column, dest),
            HINT = format('Add it: ALTER TABLE %s ADD COLUMN %I integer.', dest, version_column);
    END IF;
    IF typ NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype) THEN
        RAISE EXCEPTION USING ERRCODE = 'datatype_mismatch',
            MESSAGE = format('version column "%s" must be smallint, integer or bigint', version_column),
            DETAIL = format('It is %s.', typ);
    END IF;

    -- it commits: not inside a transaction block (checked here), nor from
    -- inside a function (the first COMMIT refuses that, before any work)
    PERFORM @extschema@.check_not_in_transaction_block('CALL autoencoder.encode_table()');
    COMMIT;
    started := clock_timestamp();
    sync := pg_catalog.current_setting('synchronous_commit');

    -- What there is to do.  A row needs work when its stored version IS
    -- DISTINCT FROM v; the condition is written so that no statistics apply
    -- (versions are >= 1): stale ones (a table just reset, a target just
    -- truncated) would make the planner sort the whole table for every
    -- batch instead of walking the key's index.
    IF encode_table.target IS NULL THEN
        from_sql := format('%s s', src);
        pending := format('coalesce(s.%I, 0) <> %s', version_column, v);
        -- one scan of the table: rows to do, never encoded, with a NULL input
        EXECUTE format('SELECT count(*), count(*) FILTER (WHERE s.%1$I IS NULL),'
                       '       count(*) FILTER (WHERE s.%2$I IS NULL)'
                       '  FROM %3$s WHERE %4$s AND s.%5$I IS NOT NULL',
                       version_column, input_column, from_sql, pending, key)
            INTO total, never, nulls_total;
    ELSE
        from_sql := format('%s s LEFT JOIN %s d ON d.%I = s.%I', src, dst, key, key);
        pending := format('coalesce(d.%I, 0) <> %s', version_column, v);
        -- the source's keys only (an index-only scan where the visibility map
        -- allows); rows with a NULL input are looked for batch by batch
        EXECUTE format('SELECT count(*), count(*) FILTER (WHERE d.%1$I IS NULL)'
                       '  FROM %2$s WHERE %3$s AND s.%4$I IS NOT NULL',
                       version_column, from_sql, pending, key)
            INTO total, never;
        nulls_total := CASE WHEN in_notnull THEN 0 END;   -- NULL: not counted
    END IF;
    IF NOT key_notnull THEN
        EXECUTE format('SELECT count(*) FROM %s s WHERE s.%I IS NULL', src, key) INTO null_keys;
        IF null_keys > 0 THEN
            RAISE WARNING '% of % with a NULL key "%" skipped',
                null_keys || CASE WHEN null_keys = 1 THEN ' row' ELSE ' rows' END, source, key;
        END IF;
    END IF;
    IF total = 0 THEN
        RAISE NOTICE 'nothing to encode: every row of % has its code of model "%" version %',
            source, model_name, v;
        RETURN;
    END IF;
    RAISE NOTICE 'encoding % of % with model "%" version % (% without a code, % with codes of other versions)',
        total || CASE WHEN total = 1 THEN ' row' ELSE ' rows' END, source, model_name, v, never, total - never;

    -- One batch a transaction: the next batch_size rows to do in key order
    -- after lo, read and encoded by encode_query and written by the
    -- statement around it; hi is the batch's last key.
    LOOP
        -- the batch's COMMIT does not wait for its WAL flush (see above)
        PERFORM pg_catalog.set_config('synchronous_commit', 'off', true);
        after := CASE WHEN lo IS NULL THEN '' ELSE format(' AND s.%I > %s', key, lo) END;
        IF encode_table.target IS NULL THEN
            EXECUTE format(
                'WITH u AS (UPDATE %1$s s SET %2$I = c.code, %3$I = %4$s'
                '           FROM @extschema@.encode_query(%5$L, %6$L, %4$s) c'
                '           WHERE s.%7$I = c.id RETURNING s.%7$I AS k)'
                ' SELECT count(*), max(k) FROM u',
                src, code_column, version_column, v, model_name,
                format('SELECT s.%1$I, %2$s FROM %3$s WHERE %4$s AND s.%5$I IS NOT NULL%6$s'
                       ' ORDER BY s.%1$I LIMIT %7$s',
                       key, in_expr, from_sql, pending, input_column, after, batch_size),
                key)
                INTO batch_rows, hi;
        ELSE
            -- The target is locked against other writers until the COMMIT.
            -- While it has no row past lo (a first run), every row of the
            -- batch is new and a plain INSERT writes it: ON CONFLICT's
            -- speculative insertion would cost as much again as the insert.
            -- Otherwise rows it has are updated and the others inserted.
            EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', dst);
            EXECUTE format('SELECT EXISTS (SELECT FROM %s d%s)', dst,
                           CASE WHEN lo IS NULL THEN '' ELSE format(' WHERE d.%I > %s', key, lo) END)
                INTO seen;
            IF NOT seen THEN
                EXECUTE format(
                    'WITH i AS (INSERT INTO %1$s (%2$I, %3$I, %4$I)'
                    '           SELECT c.id, c.code, %5$s FROM @extschema@.encode_query(%6$L, %7$L, %5$s) c'
                    '           RETURNING %2$I AS k)'
                    ' SELECT count(*), max(k) FROM i',
                    dst, key, code_column, version_column, v, model_name,
                    format('SELECT s.%1$I, %2$s FROM %3$s s WHERE s.%4$I IS NOT NULL%5$s'
                           ' ORDER BY s.%1$I LIMIT %6$s',
                           key, in_expr, src, input_column, after, batch_size))
                    INTO batch_rows, hi;
            ELSE
                EXECUTE format(
                    'WITH c AS MATERIALIZED (SELECT * FROM @extschema@.encode_query(%5$L, %6$L, %4$s)),'
                    ' u AS (UPDATE %1$s d SET %2$I = c.code, %3$I = %4$s FROM c WHERE d.%7$I = c.id'
                    '       RETURNING d.%7$I AS k),'
                    ' i AS (INSERT INTO %1$s (%7$I, %2$I, %3$I)'
                    '       SELECT c.id, c.code, %4$s FROM c'
                    '       WHERE NOT EXISTS (SELECT FROM %1$s d WHERE d.%7$I = c.id)'
                    '       RETURNING %7$I AS k)'
                    ' SELECT count(*), max(k) FROM (SELECT k FROM u UNION ALL SELECT k FROM i) w',
                    dst, code_column, version_column, v, model_name,
                    -- (the key bound in the ON clause too: the target's
                    -- index is not read from its start for every batch)
                    format('SELECT s.%1$I, %2$s FROM %3$s%4$s WHERE %5$s AND s.%6$I IS NOT NULL%7$s'
                           ' ORDER BY s.%1$I LIMIT %8$s',
                           key, in_expr, from_sql,
                           CASE WHEN lo IS NULL THEN '' ELSE format(' AND d.%I > %s', key, lo) END,
                           pending, input_column, after, batch_size),
                    key)
                    INTO batch_rows, hi;
            END IF;
        END IF;

        -- rows with a NULL input up to hi (after the last batch: all the
        -- rest) get a NULL code and the version
        IF nulls_total IS NULL OR nulls_done < nulls_total THEN
            after := after || CASE WHEN hi IS NULL THEN '' ELSE format(' AND s.%I <= %s', key, hi) END;
            IF encode_table.target IS NULL THEN
                EXECUTE format('UPDATE %1$s s SET %2$I = NULL, %3$I = %4$s'
                               ' WHERE s.%5$I IS NULL AND s.%6$I IS NOT NULL AND %7$s%8$s',
                               src, code_column, version_column, v, input_column, key, pending, after);
            ELSIF NOT seen THEN
                EXECUTE format('INSERT INTO %1$s (%2$I, %3$I, %4$I)'
                               ' SELECT s.%2$I, NULL, %5$s FROM %6$s s'
                               ' WHERE s.%7$I IS NULL AND s.%2$I IS NOT NULL%8$s',
                               dst, key, code_column, version_column, v, src, input_column, after);
            ELSE
                EXECUTE format('INSERT INTO %1$s (%2$I, %3$I, %4$I)'
                               ' SELECT s.%2$I, NULL, %5$s FROM %6$s'
                               ' WHERE s.%7$I IS NULL AND s.%2$I IS NOT NULL AND %8$s%9$s'
                               ' ON CONFLICT (%2$I) DO UPDATE SET %3$I = excluded.%3$I, %4$I = excluded.%4$I',
                               dst, key, code_column, version_column, v, from_sql, input_column,
                               pending, after);
            END IF;
            GET DIAGNOSTICS null_rows = ROW_COUNT;
            nulls_done := nulls_done + null_rows;
            batch_rows := batch_rows + null_rows;
        END IF;
        EXIT WHEN batch_rows = 0;
        COMMIT;
        lo := coalesce(hi, lo);
        batches := batches + 1;
        done := done + batch_rows;

        -- Report the batches whose WAL is flushed, one NOTICE each: a batch
        -- reported done survives a crash.  The flush is never waited for
        -- here (the WAL writer does it while the next batch runs), so a
        -- NOTICE may come a batch late.
        unreported := unreported || done;
        unreported_lsn := unreported_lsn || pg_catalog.pg_current_wal_insert_lsn();
        flushed := pg_catalog.pg_current_wal_flush_lsn();
        WHILE cardinality(unreported) > 0 AND unreported_lsn[1] <= flushed LOOP
            PERFORM @extschema@.encode_table_progress(source::text, unreported[1], total, started);
            unreported := unreported[2:];
            unreported_lsn := unreported_lsn[2:];
        END LOOP;
    END LOOP;
    -- the last transaction commits with the session's synchronous_commit
    -- and a transaction id, so its commit waits for the WAL of every batch
    PERFORM pg_catalog.set_config('synchronous_commit', sync, true);
    PERFORM pg_catalog.txid_current();
    COMMIT;
    FOREACH batch_rows IN ARRAY unreported LOOP
        PERFORM @extschema@.encode_table_progress(source::text, batch_rows, total, started);
    END LOOP;
    secs := extract(epoch FROM clock_timestamp() - started);
    RAISE NOTICE 'encoded % of % with model "%" version % in %',
        done || CASE WHEN done = 1 THEN ' row' ELSE ' rows' END, source, model_name, v,
        batches || CASE WHEN batches = 1 THEN ' batch' ELSE ' batches' END
        USING DETAIL = format('%s s, %s rows/s.', round(secs::numeric, 2),
                              round(done / greatest(secs, 1e-6)));
END
$$;
COMMENT ON PROCEDURE @extschema@.encode_table(text, regclass, name, name, name, regclass, name, integer, integer) IS 'writes every row''s code under one model version (default: the one deployed when the call starts) and that version, into columns of the source or into a target table by key; batch by batch in key order, committing each batch with a progress NOTICE; only rows whose stored version differs are done, so a rerun resumes, and after a deployment re-encodes only the older rows';
