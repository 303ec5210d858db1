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
    model       @extschema@.model NOT NULL,
    UNIQUE (name, version)
);
CREATE UNIQUE INDEX models_one_deployed ON @extschema@.models (name) WHERE deployed;
COMMENT ON TABLE @extschema@.models IS 'one row per trained model version; exactly one version of each name is deployed';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.models', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.models_id_seq', '');

CREATE FUNCTION @extschema@.models_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ae_models_changed' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.models_changed() IS 'invalidates every backend''s model cache when the models table changes';

CREATE TRIGGER models_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.models
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.models_changed();

-- training -------------------------------------------------------------

CREATE FUNCTION @extschema@.train(
    model_name text,
    source text,
    latent_dim integer,
    hidden_units integer[] DEFAULT '{}',
    activation text DEFAULT 'relu',
    output_activation text DEFAULT NULL,
    epochs integer DEFAULT 20,
    batch_size integer DEFAULT 256,
    learning_rate double precision DEFAULT 0.001,
    optimizer text DEFAULT 'adam',
    weight_decay double precision DEFAULT 0,
    sparsity double precision DEFAULT 0,
    noise text DEFAULT 'none',
    noise_level double precision DEFAULT 0.1,
    "normalize" text DEFAULT 'standard',
    validation_fraction double precision DEFAULT 0.1,
    patience integer DEFAULT 5,
    seed bigint DEFAULT 42,
    solver text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ae_train_sql'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.train(text, text, integer, integer[], text, text, integer, integer, double precision, text, double precision, double precision, text, double precision, text, double precision, integer, bigint, text)
    IS 'trains an autoencoder on the first column of a query, stores it as the next version of model_name and deploys it';

CREATE FUNCTION @extschema@.drop_model(model_name text) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    dropped bigint;
BEGIN
    DELETE FROM @extschema@.models WHERE name = model_name;
    GET DIAGNOSTICS dropped = ROW_COUNT;
    IF dropped = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = format('model "%s" does not exist', model_name);
    END IF;
    RETURN dropped;
END
$$;
COMMENT ON FUNCTION @extschema@.drop_model(text) IS 'drops every version of a model; returns how many versions were dropped';

-- inference on deployed models -----------------------------------------

CREATE FUNCTION @extschema@.encode(model_name text, x real[]) RETURNS real[]
    AS 'MODULE_PATHNAME', 'ae_encode_name' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.encode(text, real[]) IS 'latent code of x under the deployed version of model_name';
CREATE FUNCTION @extschema@.encode(model_name text, x double precision[]) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'ae_encode_name' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.encode(text, double precision[]) IS 'latent code of x under the deployed version of model_name';

CREATE FUNCTION @extschema@.decode(model_name text, code real[]) RETURNS real[]
    AS 'MODULE_PATHNAME', 'ae_decode_name' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.decode(text, real[]) IS 'input-space row that a latent code decodes to';
CREATE FUNCTION @extschema@.decode(model_name text, code double precision[]) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'ae_decode_name' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.decode(text, double precision[]) IS 'input-space row that a latent code decodes to';

CREATE FUNCTION @extschema@.reconstruct(model_name text, x real[]) RETURNS real[]
    AS 'MODULE_PATHNAME', 'ae_reconstruct_name' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.reconstruct(text, real[]) IS 'decode(encode(x)) in the input''s units';
CREATE FUNCTION @extschema@.reconstruct(model_name text, x double precision[]) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'ae_reconstruct_name' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.reconstruct(text, double precision[]) IS 'decode(encode(x)) in the input''s units';

CREATE FUNCTION @extschema@.denoise(model_name text, x real[]) RETURNS real[]
    AS 'MODULE_PATHNAME', 'ae_denoise_name' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.denoise(text, real[]) IS 'reconstruction of a noisy x, clamped to each feature''s training range';
CREATE FUNCTION @extschema@.denoise(model_name text, x double precision[]) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'ae_denoise_name' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.denoise(text, double precision[]) IS 'reconstruction of a noisy x, clamped to each feature''s training range';

CREATE FUNCTION @extschema@.reconstruction_error(model_name text, x real[]) RETURNS double precision
    AS 'MODULE_PATHNAME', 'ae_reconstruction_error_name' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.reconstruction_error(text, real[]) IS 'mean over x''s elements of the squared reconstruction error, in x''s units';
CREATE FUNCTION @extschema@.reconstruction_error(model_name text, x double precision[]) RETURNS double precision
    AS 'MODULE_PATHNAME', 'ae_reconstruction_error_name' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.reconstruction_error(text, double precision[]) IS 'mean over x''s elements of the squared reconstruction error, in x''s units';

-- inference on model values --------------------------------------------

CREATE FUNCTION @extschema@.encode(m @extschema@.model, x real[]) RETURNS real[]
    AS 'MODULE_PATHNAME', 'ae_encode_value' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.encode(@extschema@.model, real[]) IS 'latent code of x under the model m';
CREATE FUNCTION @extschema@.encode(m @extschema@.model, x double precision[]) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'ae_encode_value' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.encode(@extschema@.model, double precision[]) IS 'latent code of x under the model m';
CREATE FUNCTION @extschema@.decode(m @extschema@.model, code real[]) RETURNS real[]
    AS 'MODULE_PATHNAME', 'ae_decode_value' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.decode(@extschema@.model, real[]) IS 'input-space row that a latent code decodes to under m';
CREATE FUNCTION @extschema@.decode(m @extschema@.model, code double precision[]) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'ae_decode_value' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.decode(@extschema@.model, double precision[]) IS 'input-space row that a latent code decodes to under m';
CREATE FUNCTION @extschema@.reconstruct(m @extschema@.model, x real[]) RETURNS real[]
    AS 'MODULE_PATHNAME', 'ae_reconstruct_value' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.reconstruct(@extschema@.model, real[]) IS 'decode(encode(x)) under m';
CREATE FUNCTION @extschema@.reconstruct(m @extschema@.model, x double precision[]) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'ae_reconstruct_value' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.reconstruct(@extschema@.model, double precision[]) IS 'decode(encode(x)) under m';
CREATE FUNCTION @extschema@.denoise(m @extschema@.model, x real[]) RETURNS real[]
    AS 'MODULE_PATHNAME', 'ae_denoise_value' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.denoise(@extschema@.model, real[]) IS 'reconstruction under m clamped to each feature''s training range';
CREATE FUNCTION @extschema@.denoise(m @extschema@.model, x double precision[]) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'ae_denoise_value' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.denoise(@extschema@.model, double precision[]) IS 'reconstruction under m clamped to each feature''s training range';
CREATE FUNCTION @extschema@.reconstruction_error(m @extschema@.model, x real[]) RETURNS double precision
    AS 'MODULE_PATHNAME', 'ae_reconstruction_error_value' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.reconstruction_error(@extschema@.model, real[]) IS 'mean squared reconstruction error of x under m, in x''s units';
CREATE FUNCTION @extschema@.reconstruction_error(m @extschema@.model, x double precision[]) RETURNS double precision
    AS 'MODULE_PATHNAME', 'ae_reconstruction_error_value' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.reconstruction_error(@extschema@.model, double precision[]) IS 'mean squared reconstruction error of x under m, in x''s units';

CREATE FUNCTION @extschema@.describe(m @extschema@.model) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'ae_describe' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.describe(@extschema@.model) IS 'architecture, options, scaling, training metrics and size of a model';

-- models as values -----------------------------------------------------

CREATE FUNCTION @extschema@.get_model(model_name text, version integer DEFAULT NULL)
RETURNS @extschema@.model
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    result @extschema@.model;
BEGIN
    SELECT m.model INTO result FROM @extschema@.models m
    WHERE m.name = model_name
      AND CASE WHEN get_model.version IS NULL THEN m.deployed ELSE m.version = get_model.version END;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = CASE WHEN get_model.version IS NULL
                           THEN format('model "%s" does not exist', model_name)
                           ELSE format('model "%s" has no version %s', model_name, get_model.version) END;
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION @extschema@.get_model(text, integer) IS 'a stored model as a value: the deployed version, or the version given';

CREATE FUNCTION @extschema@.save(model_name text, m @extschema@.model, deploy boolean DEFAULT true)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ae_save' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.save(text, @extschema@.model, boolean) IS 'stores a model value as the next version of model_name (deployed unless deploy is false; a first version is always deployed)';

-- the fit aggregate ----------------------------------------------------

CREATE TYPE @extschema@.fit_state;
CREATE FUNCTION @extschema@.fit_state_in(cstring) RETURNS @extschema@.fit_state
    AS 'MODULE_PATHNAME', 'ae_fit_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.fit_state_in(cstring) IS 'text input of a partial fit state (hex), validated';
CREATE FUNCTION @extschema@.fit_state_out(@extschema@.fit_state) RETURNS cstring
    AS 'MODULE_PATHNAME', 'ae_fit_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.fit_state_out(@extschema@.fit_state) IS 'text output of a partial fit state (hex), exact';
CREATE FUNCTION @extschema@.fit_state_recv(internal) RETURNS @extschema@.fit_state
    AS 'MODULE_PATHNAME', 'ae_fit_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.fit_state_recv(internal) IS 'binary input of a partial fit state';
CREATE FUNCTION @extschema@.fit_state_send(@extschema@.fit_state) RETURNS bytea
    AS 'MODULE_PATHNAME', 'ae_fit_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.fit_state_send(@extschema@.fit_state) IS 'binary output of a partial fit state';
CREATE TYPE @extschema@.fit_state (
    INPUT = @extschema@.fit_state_in, OUTPUT = @extschema@.fit_state_out,
    RECEIVE = @extschema@.fit_state_recv, SEND = @extschema@.fit_state_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = extended);
COMMENT ON TYPE @extschema@.fit_state IS 'partial state of autoencoder.fit: exact moments and a uniform sample of the rows';

CREATE FUNCTION @extschema@.fit_accum(@extschema@.fit_state, real[]) RETURNS @extschema@.fit_state
    AS 'MODULE_PATHNAME', 'ae_fit_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.fit_accum(@extschema@.fit_state, real[]) IS 'transition function of fit';
CREATE FUNCTION @extschema@.fit_accum(@extschema@.fit_state, real[], jsonb) RETURNS @extschema@.fit_state
    AS 'MODULE_PATHNAME', 'ae_fit_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.fit_accum(@extschema@.fit_state, real[], jsonb) IS 'transition function of fit';
CREATE FUNCTION @extschema@.fit_accum(@extschema@.fit_state, double precision[]) RETURNS @extschema@.fit_state
    AS 'MODULE_PATHNAME', 'ae_fit_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.fit_accum(@extschema@.fit_state, double precision[]) IS 'transition function of fit';
CREATE FUNCTION @extschema@.fit_accum(@extschema@.fit_state, double precision[], jsonb) RETURNS @extschema@.fit_state
    AS 'MODULE_PATHNAME', 'ae_fit_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.fit_accum(@extschema@.fit_state, double precision[], jsonb) IS 'transition function of fit';
CREATE FUNCTION @extschema@.fit_combine(@extschema@.fit_state, @extschema@.fit_state) RETURNS @extschema@.fit_state
    AS 'MODULE_PATHNAME', 'ae_fit_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.fit_combine(@extschema@.fit_state, @extschema@.fit_state) IS 'combine function of fit: exact moments, uniform sample of the union';
CREATE FUNCTION @extschema@.fit_final(@extschema@.fit_state) RETURNS @extschema@.model
    AS 'MODULE_PATHNAME', 'ae_fit_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.fit_final(@extschema@.fit_state) IS 'final function of fit: trains (or solves PCA) and returns the model';

CREATE AGGREGATE @extschema@.fit(real[]) (
    SFUNC = @extschema@.fit_accum, STYPE = @extschema@.fit_state,
    FINALFUNC = @extschema@.fit_final, COMBINEFUNC = @extschema@.fit_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.fit(real[]) IS 'trains an autoencoder on the rows aggregated, with default options';
CREATE AGGREGATE @extschema@.fit(real[], jsonb) (
    SFUNC = @extschema@.fit_accum, STYPE = @extschema@.fit_state,
    FINALFUNC = @extschema@.fit_final, COMBINEFUNC = @extschema@.fit_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.fit(real[], jsonb) IS 'trains an autoencoder on the rows aggregated; options are train()''s, by the same names';
CREATE AGGREGATE @extschema@.fit(double precision[]) (
    SFUNC = @extschema@.fit_accum, STYPE = @extschema@.fit_state,
    FINALFUNC = @extschema@.fit_final, COMBINEFUNC = @extschema@.fit_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.fit(double precision[]) IS 'trains an autoencoder on the rows aggregated, with default options';
CREATE AGGREGATE @extschema@.fit(double precision[], jsonb) (
    SFUNC = @extschema@.fit_accum, STYPE = @extschema@.fit_state,
    FINALFUNC = @extschema@.fit_final, COMBINEFUNC = @extschema@.fit_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.fit(double precision[], jsonb) IS 'trains an autoencoder on the rows aggregated; options are train()''s, by the same names';

-- batch inference ------------------------------------------------------

CREATE FUNCTION @extschema@.encode_query(model_name text, source text)
RETURNS TABLE (id bigint, code real[])
AS 'MODULE_PATHNAME', 'ae_encode_query' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.encode_query(text, text) IS 'encodes every row of a query returning (id, x) in blocks through sgemm; rows with a NULL id or x are skipped';
