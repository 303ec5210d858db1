-- options: autoencoder.options() is the one table of training options;
-- train()'s signature, its recorded configuration and fit() agree with it
\i sql/include/setup.psql

-- one row per option, in train()'s argument order
SELECT "position", name, type, "default", allowed, in_train, in_fit
FROM autoencoder.options() ORDER BY "position";
\pset tuples_only on
\pset format unaligned
SELECT name || ': ' || description FROM autoencoder.options() ORDER BY "position";
\pset tuples_only off
\pset format aligned

-- train()'s SQL signature is the table's: model_name text, source text, then
-- `name type [DEFAULT default]` for each option train() takes, in order
-- (PostgreSQL shows a quoted or NULL default with a cast to the type);
-- on a mismatch, the arguments that differ
SELECT ok(signature = built,
          (SELECT string_agg(format('argument %s: train() has %s, options() gives %s',
                                    k, coalesce(s, 'none'), coalesce(b, 'none')), '; ')
           FROM unnest(string_to_array(signature, ', '), string_to_array(built, ', '))
                WITH ORDINALITY u(s, b, k)
           WHERE s IS DISTINCT FROM b)) AS train_signature
FROM (SELECT pg_get_function_arguments('autoencoder.train'::regproc) AS signature) s,
     (SELECT 'model_name text, source text, '
             || string_agg(name || ' ' || type
                           || CASE WHEN "default" IS NULL THEN ''
                                   WHEN "default" = 'NULL' OR "default" LIKE '''%'
                                   THEN ' DEFAULT ' || "default" || '::' || type
                                   ELSE ' DEFAULT ' || "default" END,
                           ', ' ORDER BY "position") AS built
      FROM autoencoder.options() WHERE in_train) b;

-- every option is written plainly in named notation: no name needs quoting
-- (no rows)
SELECT name, quote_ident(name) AS quoted FROM autoencoder.options()
WHERE quote_ident(name) <> name;

-- the defaults options() shows are the ones train() and fit() use: a model
-- trained with only latent_dim records each default in its configuration
-- (no rows: every mismatch is listed)
CREATE FUNCTION default_as_jsonb(expr text, type text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    v jsonb;
BEGIN
    EXECUTE format('SELECT to_jsonb((%s)::%s)', expr, type) INTO v;
    RETURN v;
END
$$;
SELECT autoencoder.train('defaults', 'SELECT x FROM pts', latent_dim => 2) > 0 AS trained;
CREATE TABLE fit_defaults AS
SELECT autoencoder.describe(autoencoder.fit(x, '{"latent_dim": 2}'))->'config' AS config FROM pts;
SELECT 'train' AS by, o.name, o."default", m.config->o.name AS recorded
FROM autoencoder.options() o, autoencoder.models m
WHERE m.name = 'defaults' AND o.in_train AND o."default" IS NOT NULL AND o."default" <> 'NULL'
  AND m.config->o.name IS DISTINCT FROM default_as_jsonb(o."default", o.type)
UNION ALL
SELECT 'fit', o.name, o."default", f.config->o.name
FROM autoencoder.options() o, fit_defaults f
WHERE o.in_fit AND o."default" IS NOT NULL AND o."default" <> 'NULL'
  AND f.config->o.name IS DISTINCT FROM default_as_jsonb(o."default", o.type)
ORDER BY 1, 2;
-- options whose default depends on the data or on other options: what
-- train() and fit() resolved them to (for standard scaling and relu; max_rows
-- is autoencoder.max_training_rows at its default), and the given latent_dim
SELECT o.name, o."default", m.config->o.name AS train_recorded, f.config->o.name AS fit_recorded
FROM autoencoder.options() o, autoencoder.models m, fit_defaults f
WHERE m.name = 'defaults' AND (o."default" IS NULL OR o."default" = 'NULL')
ORDER BY o."position";
-- what else the configuration records
SELECT k AS not_an_option FROM autoencoder.models m, jsonb_object_keys(m.config) k
WHERE m.name = 'defaults' AND k NOT IN (SELECT name FROM autoencoder.options())
ORDER BY k;

-- fit() takes exactly the options marked in_fit: each option with its
-- default in the jsonb is accepted or rejected accordingly (no rows)
SELECT o.name, o.in_fit, e.fit_says
FROM autoencoder.options() o,
     LATERAL (SELECT err(format($$SELECT autoencoder.fit(x, %L) FROM pts WHERE id <= 20$$,
                                jsonb_build_object(o.name, default_as_jsonb(o."default", o.type))))
                     AS fit_says) e
WHERE o."default" IS NOT NULL AND o."default" <> 'NULL'
  AND (e.fit_says = 'no error') <> o.in_fit
ORDER BY o."position";

DROP TABLE fit_defaults;
DROP FUNCTION default_as_jsonb(text, text);
