/*-------------------------------------------------------------------------
 *
 * ae_pg_options.c
 *	  Training options: one place that names, validates and prints them.
 *
 * train() passes its named SQL arguments here one by one and the fit
 * aggregate passes the keys of its jsonb options; both then call
 * ae_options_finish (checks that need no data) and, once the input
 * dimension is known, ae_options_check_dims.  Unknown keys, wrong types and
 * out-of-range values raise invalid_parameter_value with the valid choices.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/numeric.h"

#define AE_DEFAULT_LATENT	16	/* fit without latent_dim, at most the input's */

/* Defaults for every option. */
void
ae_options_init(AeOptions *o)
{
	memset(o, 0, sizeof(*o));
	o->arch.latent = 0;
	o->arch.activation = AE_ACT_RELU;
	o->arch.normalize = AE_NORM_STANDARD;
	o->arch.output_activation = AE_ACT_LINEAR;
	o->cfg.epochs = AE_DEFAULT_EPOCHS;
	o->cfg.batch_size = AE_DEFAULT_BATCH;
	o->cfg.learning_rate = AE_DEFAULT_LR;
	o->cfg.optimizer = AE_OPT_ADAM;
	o->cfg.noise = AE_NOISE_NONE;
	o->cfg.noise_level = AE_DEFAULT_NOISE;
	o->cfg.validation_fraction = AE_DEFAULT_VALFRAC;
	o->cfg.patience = AE_DEFAULT_PATIENCE;
	o->cfg.seed = AE_DEFAULT_SEED;
	o->solver = AE_SOLVER_AUTO;
}

/* Raise the error for an unknown option name. */
static void
unknown_option(const char *key)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown option \"%s\"", key),
			 errhint("Valid options are latent_dim, hidden_units, activation, output_activation, "
					 "epochs, batch_size, learning_rate, optimizer, weight_decay, sparsity, noise, "
					 "noise_level, normalize, validation_fraction, patience, seed, solver and max_rows.")));
}

/* Raise the error for an option given a value of the wrong type. */
static void
wrong_type(const char *key, const char *want)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"%s\" must be %s", key, want)));
}

/* Parse an enum value or raise an error listing the choices. */
static int
parse_enum(const char *key, const char *value, int (*parse) (const char *),
		   const char *choices)
{
	int			v = parse(value);

	if (v < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown %s \"%s\"", key, value),
				 errhint("Valid values are %s.", choices)));
	return v;
}

/* Solver by name, or -1. */
static int
solver_parse(const char *s)
{
	if (strcmp(s, "sgd") == 0)
		return AE_SOLVER_SGD;
	if (strcmp(s, "exact") == 0)
		return AE_SOLVER_EXACT;
	return -1;
}

/* Set a text option. */
void
ae_option_text(AeOptions *o, const char *key, const char *value)
{
	if (strcmp(key, "activation") == 0)
		o->arch.activation = parse_enum(key, value, ae_activation_parse,
										"relu, tanh, sigmoid, elu and linear");
	else if (strcmp(key, "output_activation") == 0)
	{
		o->arch.output_activation = parse_enum(key, value, ae_activation_parse,
											   "linear and sigmoid");
		if (o->arch.output_activation != AE_ACT_LINEAR &&
			o->arch.output_activation != AE_ACT_SIGMOID)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("output_activation must be linear or sigmoid")));
		o->output_given = true;
	}
	else if (strcmp(key, "optimizer") == 0)
		o->cfg.optimizer = parse_enum(key, value, ae_optimizer_parse, "adam and sgd");
	else if (strcmp(key, "noise") == 0)
		o->cfg.noise = parse_enum(key, value, ae_noise_parse,
								  "none, gaussian and masking");
	else if (strcmp(key, "normalize") == 0)
		o->arch.normalize = parse_enum(key, value, ae_normalize_parse,
									   "standard, minmax and none");
	else if (strcmp(key, "solver") == 0)
		o->solver = parse_enum(key, value, solver_parse, "exact and sgd");
	else
		wrong_type(key, "a number");
}

/* Set an integer option. */
void
ae_option_int(AeOptions *o, const char *key, int64 value)
{
	const char *what = NULL;
	int64		lo = 0,
				hi = 0;

	if (strcmp(key, "seed") == 0)
	{
		o->cfg.seed = (uint64) value;
		return;
	}
	if (strcmp(key, "latent_dim") == 0)
		what = key, lo = 1, hi = AE_MAX_DIM;
	else if (strcmp(key, "epochs") == 0)
		what = key, lo = 1, hi = AE_MAX_EPOCHS;
	else if (strcmp(key, "batch_size") == 0)
		what = key, lo = 1, hi = AE_MAX_BATCH;
	else if (strcmp(key, "patience") == 0)
		what = key, lo = 0, hi = AE_MAX_EPOCHS;
	else if (strcmp(key, "max_rows") == 0)
		what = key, lo = 1, hi = PG_INT32_MAX;
	else if (strcmp(key, "learning_rate") == 0 || strcmp(key, "weight_decay") == 0 ||
			 strcmp(key, "sparsity") == 0 || strcmp(key, "noise_level") == 0 ||
			 strcmp(key, "validation_fraction") == 0)
	{
		ae_option_float(o, key, (double) value);
		return;
	}
	else
		wrong_type(key, "text");
	if (value < lo || value > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between %lld and %lld, not %lld", what,
						(long long) lo, (long long) hi, (long long) value)));
	if (strcmp(key, "latent_dim") == 0)
		o->arch.latent = (int) value;
	else if (strcmp(key, "epochs") == 0)
		o->cfg.epochs = (int) value;
	else if (strcmp(key, "batch_size") == 0)
		o->cfg.batch_size = (int) value;
	else if (strcmp(key, "patience") == 0)
		o->cfg.patience = (int) value;
	else
		o->max_rows = (int32) value;
}

/* Set a floating-point option. */
void
ae_option_float(AeOptions *o, const char *key, double value)
{
	if (strcmp(key, "learning_rate") == 0)
		o->cfg.learning_rate = value;
	else if (strcmp(key, "weight_decay") == 0)
		o->cfg.weight_decay = value;
	else if (strcmp(key, "sparsity") == 0)
		o->cfg.sparsity = value;
	else if (strcmp(key, "noise_level") == 0)
		o->cfg.noise_level = value;
	else if (strcmp(key, "validation_fraction") == 0)
		o->cfg.validation_fraction = value;
	else
		wrong_type(key, "an integer");
}

/* Set hidden_units from an int[]. */
void
ae_option_hidden(AeOptions *o, ArrayType *h)
{
	int			n = ARR_NDIM(h) == 0 ? 0 : ArrayGetNItems(ARR_NDIM(h), ARR_DIMS(h));

	if (ARR_NDIM(h) > 1 || array_contains_nulls(h))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hidden_units must be a one-dimensional array without nulls")));
	if (n > AE_MAX_HIDDEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hidden_units has %d layers, at most %d are allowed",
						n, AE_MAX_HIDDEN)));
	o->arch.n_hidden = n;
	for (int i = 0; i < n; i++)
	{
		int			u = ((int32 *) ARR_DATA_PTR(h))[i];

		if (u < 1 || u > AE_MAX_UNITS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hidden_units must be between 1 and %d, not %d",
							AE_MAX_UNITS, u)));
		o->arch.hidden[i] = u;
	}
}

/* A jsonb number as int64, or an error if it is not integral. */
static int64
jsonb_int(const char *key, JsonbValue *v)
{
	double		d = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
													   NumericGetDatum(v->val.numeric)));

	if (!isfinite(d) || d != floor(d) || fabs(d) > 9.0e18)
		wrong_type(key, "an integer");
	return (int64) d;
}

/* Which options are integers, which are text, which are numbers. */
static bool
is_int_option(const char *key)
{
	return strcmp(key, "latent_dim") == 0 || strcmp(key, "epochs") == 0 ||
		strcmp(key, "batch_size") == 0 || strcmp(key, "patience") == 0 ||
		strcmp(key, "seed") == 0 || strcmp(key, "max_rows") == 0;
}

static bool
is_float_option(const char *key)
{
	return strcmp(key, "learning_rate") == 0 || strcmp(key, "weight_decay") == 0 ||
		strcmp(key, "sparsity") == 0 || strcmp(key, "noise_level") == 0 ||
		strcmp(key, "validation_fraction") == 0;
}

static bool
is_text_option(const char *key)
{
	return strcmp(key, "activation") == 0 || strcmp(key, "output_activation") == 0 ||
		strcmp(key, "optimizer") == 0 || strcmp(key, "noise") == 0 ||
		strcmp(key, "normalize") == 0 || strcmp(key, "solver") == 0;
}

/* Apply every key of a jsonb object of options. */
void
ae_options_from_jsonb(AeOptions *o, Jsonb *opts)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;
	int			depth = 0;

	if (!JB_ROOT_IS_OBJECT(opts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a jsonb object")));
	it = JsonbIteratorInit(&opts->root);
	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (tok == WJB_BEGIN_OBJECT || tok == WJB_BEGIN_ARRAY)
		{
			depth++;
			continue;
		}
		if (tok == WJB_END_OBJECT || tok == WJB_END_ARRAY)
		{
			depth--;
			continue;
		}
		if (tok == WJB_KEY && depth == 1)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			if (!is_int_option(key) && !is_float_option(key) &&
				!is_text_option(key) && strcmp(key, "hidden_units") != 0)
				unknown_option(key);
			if (strcmp(key, "hidden_units") == 0)
			{
				/* read the array's elements here */
				int			units[AE_MAX_HIDDEN + 1];
				int			n = 0;

				tok = JsonbIteratorNext(&it, &v, false);
				if (tok != WJB_BEGIN_ARRAY)
					wrong_type(key, "an array of integers");
				while ((tok = JsonbIteratorNext(&it, &v, false)) == WJB_ELEM)
				{
					int64		u;

					if (v.type != jbvNumeric)
						wrong_type(key, "an array of integers");
					u = jsonb_int(key, &v);
					if (n > AE_MAX_HIDDEN)
						continue;
					units[n++] = (u < 0 || u > PG_INT32_MAX) ? 0 : (int) u;
				}
				if (tok != WJB_END_ARRAY)
					wrong_type(key, "an array of integers");
				{
					ArrayType  *arr;
					Datum	   *ds = palloc(sizeof(Datum) * (n ? n : 1));

					for (int i = 0; i < n; i++)
						ds[i] = Int32GetDatum(units[i]);
					arr = construct_array(ds, n, INT4OID, 4, true, TYPALIGN_INT);
					if (n > AE_MAX_HIDDEN)
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("hidden_units has more than %d layers",
										AE_MAX_HIDDEN)));
					ae_option_hidden(o, arr);
				}
				continue;
			}
			continue;
		}
		if (tok == WJB_VALUE && depth == 1 && key)
		{
			if (is_text_option(key))
			{
				if (v.type != jbvString)
					wrong_type(key, "a string");
				ae_option_text(o, key, pnstrdup(v.val.string.val, v.val.string.len));
			}
			else if (v.type != jbvNumeric)
				wrong_type(key, is_int_option(key) ? "an integer" : "a number");
			else if (is_int_option(key))
				ae_option_int(o, key, jsonb_int(key, &v));
			else
				ae_option_float(o, key,
								DatumGetFloat8(DirectFunctionCall1(numeric_float8,
																   NumericGetDatum(v.val.numeric))));
			key = NULL;
		}
		else if (depth > 1 || tok == WJB_ELEM)
			wrong_type(key ? key : "?", "a scalar");
	}
}

/* Checks that need no data; resolves defaults that depend on others. */
void
ae_options_finish(AeOptions *o)
{
	char		why[256];
	bool		linear = o->arch.activation == AE_ACT_LINEAR;

	if (o->solver == AE_SOLVER_AUTO)
		o->solver = linear ? AE_SOLVER_EXACT : AE_SOLVER_SGD;
	if (o->solver == AE_SOLVER_EXACT)
	{
		if (!linear)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("solver exact needs activation linear"),
					 errhint("The exact solver computes PCA, the optimum of a linear autoencoder.")));
		if (o->arch.n_hidden > 0 || o->cfg.noise != AE_NOISE_NONE ||
			o->cfg.weight_decay != 0.0 || o->cfg.sparsity != 0.0 ||
			(o->output_given && o->arch.output_activation != AE_ACT_LINEAR))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the exact solver takes no hidden_units, noise, weight_decay, sparsity or sigmoid output"),
					 errhint("Use solver => 'sgd' to train such a linear model by gradient descent.")));
		o->arch.output_activation = AE_ACT_LINEAR;
	}
	else if (!o->output_given)
		o->arch.output_activation = o->arch.normalize == AE_NORM_MINMAX ?
			AE_ACT_SIGMOID : AE_ACT_LINEAR;
	if (ae_train_check(&o->cfg, why, sizeof(why)) != AE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", why)));
}

/* Checks once the input dimension is known. */
void
ae_options_check_dims(AeOptions *o, int n_input)
{
	char		why[256];

	if (o->arch.latent == 0)
		o->arch.latent = Min(AE_DEFAULT_LATENT, n_input);
	if (o->arch.latent > n_input)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("latent_dim %d is larger than the input dimension %d",
						o->arch.latent, n_input),
				 errhint("An autoencoder compresses: choose a latent_dim of at most %d.",
						 n_input)));
	if (o->solver == AE_SOLVER_EXACT && n_input > AE_MAX_PCA_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the exact solver handles at most %d dimensions, not %d",
						AE_MAX_PCA_DIM, n_input),
				 errhint("Use solver => 'sgd' for wider inputs.")));
	o->arch.n_input = n_input;
	if (ae_arch_check(&o->arch, why, sizeof(why)) != AE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s", why)));
}

/* Append ", "key": number" with the shortest exact decimal. */
static void
json_num(StringInfo buf, const char *key, double v)
{
	char		num[DOUBLE_SHORTEST_DECIMAL_LEN];

	appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	double_to_shortest_decimal_buf(v, num);
	appendStringInfo(buf, ": %s", num);
}

/* Append ", "key": "value"". */
static void
json_str(StringInfo buf, const char *key, const char *v)
{
	appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
	escape_json(buf, v);
}

/* Every option, resolved, as a JSON object (source may be NULL). */
char *
ae_options_json(const AeOptions *o, const char *source)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"input_dim\": %d", o->arch.n_input);
	json_num(&buf, "latent_dim", o->arch.latent);
	appendStringInfoString(&buf, ", \"hidden_units\": [");
	for (int i = 0; i < o->arch.n_hidden; i++)
		appendStringInfo(&buf, "%s%d", i ? ", " : "", o->arch.hidden[i]);
	appendStringInfoChar(&buf, ']');
	json_str(&buf, "activation", ae_activation_name(o->arch.activation));
	json_str(&buf, "output_activation", ae_activation_name(o->arch.output_activation));
	json_str(&buf, "solver", o->solver == AE_SOLVER_EXACT ? "exact" : "sgd");
	json_num(&buf, "epochs", o->cfg.epochs);
	json_num(&buf, "batch_size", o->cfg.batch_size);
	json_num(&buf, "learning_rate", o->cfg.learning_rate);
	json_str(&buf, "optimizer", ae_optimizer_name(o->cfg.optimizer));
	json_num(&buf, "weight_decay", o->cfg.weight_decay);
	json_num(&buf, "sparsity", o->cfg.sparsity);
	json_str(&buf, "noise", ae_noise_name(o->cfg.noise));
	json_num(&buf, "noise_level", o->cfg.noise_level);
	json_str(&buf, "normalize", ae_normalize_name(o->arch.normalize));
	json_num(&buf, "validation_fraction", o->cfg.validation_fraction);
	json_num(&buf, "patience", o->cfg.patience);
	appendStringInfo(&buf, ", \"seed\": %lld", (long long) (int64) o->cfg.seed);
	json_num(&buf, "threads", ae_threads);
	if (source)
		json_str(&buf, "source", source);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}
