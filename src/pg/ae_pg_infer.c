/*-------------------------------------------------------------------------
 *
 * ae_pg_infer.c
 *	  SQL inference functions: encode, decode, reconstruct, denoise,
 *	  reconstruction_error, each on a model name or a model value.
 *
 * Every function takes one row (real[], double precision[], integer[] or
 * numeric[]) and returns an array of real or double precision (see
 * ae_pg_array.c).  A result that is not finite (an input far outside the
 * training data) raises numeric_value_out_of_range, except in is_anomaly,
 * where such a row is an anomaly.  By name, the deployed model comes
 * from the backend cache and fn_extra remembers the entry of the last name
 * seen; by value, ae_model_arg parses the value once per query.  Either
 * way a row costs one forward pass and one result array.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

/* What fn_extra keeps between calls of a by-name function in one query. */
typedef struct InferCallCache
{
	char		name[NAMEDATALEN];
	AeCachedModel *entry;		/* the deployed version */
	/* a pinned version: read once per statement and role, served by value */
	int32		version;
	Oid			role;
	Size		len;
	unsigned char digest[AE_DIGEST_BYTES];
} InferCallCache;

/* The inference operations. */
typedef enum InferOp
{
	OP_ENCODE,
	OP_DECODE,
	OP_RECONSTRUCT,
	OP_DENOISE,
	OP_ERROR
} InferOp;

/* Whether argument 2 of this call is a version (integer) pinning the model. */
static bool
has_version_arg(FunctionCallInfo fcinfo)
{
	return PG_NARGS() > 2 && get_fn_expr_argtype(fcinfo->flinfo, 2) == INT4OID;
}

/*
 * Version `version` of the model named by argument 0: read (with the
 * caller's rights) at its first use in a statement and for every new role,
 * then served from the per-backend cache of model values by its digest.  A
 * version's bytes never change, so nothing needs invalidating.
 */
static AeServing *
model_version_arg(FunctionCallInfo fcinfo, InferCallCache *cc, const char *name,
				  int32 version)
{
	AeServing  *s;
	AeModelRow	row;
	struct varlena *bytes;

	if (cc->version == version && cc->role == GetUserId() &&
		strcmp(cc->name, name) == 0 && (s = ae_value_find(cc->len, cc->digest)) != NULL)
		return s;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (version < 1 || !ae_spi_model_row(name, version, &row))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" has no version %d", name, version)));
	bytes = PG_DETOAST_DATUM_PACKED(row.model);
	s = ae_value_load((const unsigned char *) VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes));
	cc->len = VARSIZE_ANY_EXHDR(bytes);
	memcpy(cc->digest, (const unsigned char *) VARDATA_ANY(bytes) + cc->len - AE_DIGEST_BYTES,
		   AE_DIGEST_BYTES);
	SPI_finish();
	strlcpy(cc->name, name, NAMEDATALEN);
	cc->version = version;
	cc->role = GetUserId();
	cc->entry = NULL;
	return s;
}

/*
 * The model named by argument 0: its deployed version via fn_extra and the
 * backend's cache, or the version pinned by an integer argument 2.
 */
static AeServing *
model_name_arg(FunctionCallInfo fcinfo)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	InferCallCache *cc = fcinfo->flinfo->fn_extra;
	int			len = VARSIZE_ANY_EXHDR(t);
	char		name[NAMEDATALEN];

	if (len > AE_MAX_NAME)
		ae_check_model_name(text_to_cstring(t));
	memcpy(name, VARDATA_ANY(t), len);
	name[len] = '\0';
	if (has_version_arg(fcinfo))
	{
		if (cc == NULL)
		{
			cc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(InferCallCache));
			fcinfo->flinfo->fn_extra = cc;
		}
		return model_version_arg(fcinfo, cc, name, PG_GETARG_INT32(2));
	}
	if (cc == NULL)
	{
		/* the first call at this call site in this statement */
		cc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
									sizeof(InferCallCache));
		fcinfo->flinfo->fn_extra = cc;
		cc->entry = ae_cache_get(name, true);
		strlcpy(cc->name, name, NAMEDATALEN);
	}
	else if (!cc->entry->valid || cc->entry->role != GetUserId() ||
			 strcmp(cc->name, name) != 0)
	{
		cc->entry = NULL;
		cc->entry = ae_cache_get(name, false);
		strlcpy(cc->name, name, NAMEDATALEN);
	}
	return &cc->entry->s;
}

/* Raise numeric_value_out_of_range unless n results are finite. */
static void
check_finite(const float *v, int n, const char *what)
{
	for (int i = 0; i < n; i++)
		if (!isfinite(v[i]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("%s is out of range for this model", what),
					 errdetail("Element %d of the result is not finite: the input lies far outside the training data.",
							   i + 1)));
}

/* The reconstruction error of argument 1 under s; not finite: +Infinity. */
static double
row_error(FunctionCallInfo fcinfo, AeServing *s)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(1);
	const ae_model *m = &s->model;
	double		err;

	ae_blas_check();
	ae_array_to_floats(a, s->input, m->arch.n_input, "input");
	if ((Pointer) a != PG_GETARG_POINTER(1))
		pfree(a);
	ae_reconstruction_error(m, s->input, 1, &err, s->work);
	return isfinite(err) ? err : INFINITY;
}

/* Apply op to argument 1 with the model in s. */
static Datum
infer(FunctionCallInfo fcinfo, AeServing *s, InferOp op)
{
	ArrayType  *a;
	Oid			elem;
	const ae_model *m = &s->model;
	int			in_dim = op == OP_DECODE ? m->arch.latent : m->arch.n_input;
	int			out_dim = op == OP_ENCODE ? m->arch.latent : m->arch.n_input;
	double		err;

	if (op == OP_ERROR)
	{
		err = row_error(fcinfo, s);
		if (!isfinite(err))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("reconstruction error is out of range for this model"),
					 errdetail("The error is not finite: the input lies far outside the training data."),
					 errhint("is_anomaly() counts such a row as an anomaly.")));
		PG_RETURN_FLOAT8(err);
	}
	ae_blas_check();
	a = PG_GETARG_ARRAYTYPE_P(1);
	elem = ae_result_elemtype(ARR_ELEMTYPE(a));
	ae_array_to_floats(a, s->input, in_dim, op == OP_DECODE ? "code" : "input");
	if ((Pointer) a != PG_GETARG_POINTER(1))
		pfree(a);
	switch (op)
	{
		case OP_ENCODE:
			ae_encode(m, s->input, 1, s->output, s->work);
			break;
		case OP_DECODE:
			ae_decode(m, s->input, 1, s->output, s->work);
			break;
		default:
			ae_reconstruct(m, s->input, 1, s->output, op == OP_DENOISE, s->work);
			break;
	}
	check_finite(s->output, out_dim, op == OP_ENCODE ? "code" : "reconstruction");
	PG_RETURN_ARRAYTYPE_P(ae_floats_to_array(s->output, out_dim, elem));
}

/*
 * The anomaly threshold of model s (the stored one: models.anomaly_threshold
 * for a name, the metadata's for a value) or, with a quantile, that quantile
 * of its evaluation rows' errors.  what names the model in errors.
 */
static double
threshold_of(const AeServing *s, double stored, bool has_quantile,
			 double quantile, const char *what)
{
	if (has_quantile)
	{
		if (!(quantile >= 0.0 && quantile <= 1.0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("quantile must be between 0 and 1, not %g", quantile)));
		if (s->quantiles == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("model %s keeps no distribution of its errors", what),
					 errhint("Train it again with train() or fit().")));
		return ae_quantile_threshold(s->quantiles, AE_QUANTILES, quantile);
	}
	if (isnan(stored))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model %s has no anomaly threshold", what),
				 errhint("Train the model with train() or fit(), which keep one.")));
	return stored;
}

/* The quoted name of a by-name call's model, for messages. */
static const char *
quoted_name(FunctionCallInfo fcinfo)
{
	InferCallCache *cc = fcinfo->flinfo->fn_extra;

	return psprintf("\"%s\"", cc->name);
}

PG_FUNCTION_INFO_V1(ae_is_anomaly_name);

/*
 * is_anomaly(model_name, x [, quantile]): whether x's reconstruction error
 * exceeds the threshold stored at training, or that quantile of the
 * evaluation rows' errors.  A non-finite error is an anomaly.
 */
Datum
ae_is_anomaly_name(PG_FUNCTION_ARGS)
{
	AeServing  *s = model_name_arg(fcinfo);
	InferCallCache *cc = fcinfo->flinfo->fn_extra;
	bool		quantile = PG_NARGS() > 2 && !has_version_arg(fcinfo);
	double		t = threshold_of(s, cc->entry ? cc->entry->threshold : s->threshold,
								 quantile, quantile ? PG_GETARG_FLOAT8(2) : 0,
								 quoted_name(fcinfo));

	PG_RETURN_BOOL(!(row_error(fcinfo, s) <= t));
}

PG_FUNCTION_INFO_V1(ae_is_anomaly_value);

/* is_anomaly(m, x [, quantile]): the same with the model's own threshold. */
Datum
ae_is_anomaly_value(PG_FUNCTION_ARGS)
{
	AeServing  *s = ae_model_arg(fcinfo, 0);
	double		t = threshold_of(s, s->threshold, PG_NARGS() > 2,
								 PG_NARGS() > 2 ? PG_GETARG_FLOAT8(2) : 0, "m");

	PG_RETURN_BOOL(!(row_error(fcinfo, s) <= t));
}

PG_FUNCTION_INFO_V1(ae_anomaly_threshold_name);

/* anomaly_threshold(model_name [, quantile]) */
Datum
ae_anomaly_threshold_name(PG_FUNCTION_ARGS)
{
	AeServing  *s;
	InferCallCache *cc;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = model_name_arg(fcinfo);
	cc = fcinfo->flinfo->fn_extra;
	PG_RETURN_FLOAT8(threshold_of(s, cc->entry ? cc->entry->threshold : s->threshold,
								  !PG_ARGISNULL(1),
								  PG_ARGISNULL(1) ? 0 : PG_GETARG_FLOAT8(1),
								  quoted_name(fcinfo)));
}

PG_FUNCTION_INFO_V1(ae_anomaly_threshold_value);

/* anomaly_threshold(m [, quantile]) */
Datum
ae_anomaly_threshold_value(PG_FUNCTION_ARGS)
{
	AeServing  *s;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = ae_model_arg(fcinfo, 0);
	PG_RETURN_FLOAT8(threshold_of(s, s->threshold, !PG_ARGISNULL(1),
								  PG_ARGISNULL(1) ? 0 : PG_GETARG_FLOAT8(1), "m"));
}

/* Define the by-name and by-value SQL entry points of one operation. */
#define INFER_FUNCS(sqlname, op) \
PG_FUNCTION_INFO_V1(ae_##sqlname##_name); \
Datum \
ae_##sqlname##_name(PG_FUNCTION_ARGS) \
{ \
	return infer(fcinfo, model_name_arg(fcinfo), op); \
} \
PG_FUNCTION_INFO_V1(ae_##sqlname##_value); \
Datum \
ae_##sqlname##_value(PG_FUNCTION_ARGS) \
{ \
	return infer(fcinfo, ae_model_arg(fcinfo, 0), op); \
}

/* encode: the latent code of x. */
INFER_FUNCS(encode, OP_ENCODE)
/* decode: the input-space row a code decodes to. */
INFER_FUNCS(decode, OP_DECODE)
/* reconstruct: decode(encode(x)). */
INFER_FUNCS(reconstruct, OP_RECONSTRUCT)
/* denoise: the reconstruction clamped to the training range. */
INFER_FUNCS(denoise, OP_DENOISE)
/* reconstruction_error: mean squared error in input units. */
INFER_FUNCS(reconstruction_error, OP_ERROR)
