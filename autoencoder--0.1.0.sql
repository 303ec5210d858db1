-- autoencoder--0.1.0.sql: train and serve autoencoders from SQL

\echo Use "CREATE EXTENSION autoencoder" to load this file. \quit

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
    model       bytea NOT NULL,
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
    seed bigint DEFAULT 42)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ae_train_sql'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.train(text, text, integer, integer[], text, text, integer, integer, double precision, text, double precision, double precision, text, double precision, text, double precision, integer, bigint)
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
