/*-------------------------------------------------------------------------
 *
 * ae_pg_infer.c
 *	  SQL inference functions: encode, decode, reconstruct, denoise,
 *	  reconstruction_error, each on a model name or a model value.
 *
 * Every function takes one real[] or double precision[] row and returns an
 * array of the input's element type.  By name, the deployed model comes
 * from the backend cache and fn_extra remembers the entry of the last name
 * seen; by value, ae_model_arg parses the value once per query.  Either
 * way a row costs one forward pass and one result array.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"

/* What fn_extra keeps between calls of a by-name function in one query. */
typedef struct InferCallCache
{
	char		name[NAMEDATALEN];
	AeCachedModel *entry;
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

/* The deployed model named by argument 0, via fn_extra and the cache. */
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

/* Apply op to argument 1 with the model in s. */
static Datum
infer(FunctionCallInfo fcinfo, AeServing *s, InferOp op)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(1);
	Oid			elem = ARR_ELEMTYPE(a);
	const ae_model *m = &s->model;
	int			in_dim = op == OP_DECODE ? m->arch.latent : m->arch.n_input;
	double		err;
	ArrayType  *result;

	ae_array_to_floats(a, s->input, in_dim, op == OP_DECODE ? "code" : "input");
	if ((Pointer) a != PG_GETARG_POINTER(1))
		pfree(a);
	switch (op)
	{
		case OP_ENCODE:
			ae_encode(m, s->input, 1, s->output, s->work);
			result = ae_floats_to_array(s->output, m->arch.latent, elem);
			break;
		case OP_DECODE:
			ae_decode(m, s->input, 1, s->output, s->work);
			result = ae_floats_to_array(s->output, m->arch.n_input, elem);
			break;
		case OP_RECONSTRUCT:
		case OP_DENOISE:
			ae_reconstruct(m, s->input, 1, s->output, op == OP_DENOISE, s->work);
			result = ae_floats_to_array(s->output, m->arch.n_input, elem);
			break;
		case OP_ERROR:
		default:
			ae_reconstruction_error(m, s->input, 1, &err, s->work);
			PG_RETURN_FLOAT8(err);
	}
	PG_RETURN_ARRAYTYPE_P(result);
}

PG_FUNCTION_INFO_V1(ae_is_anomaly_name);

/*
 * is_anomaly(model_name, x): whether x's reconstruction error exceeds the
 * threshold stored at training (a quantile of the validation errors).
 */
Datum
ae_is_anomaly_name(PG_FUNCTION_ARGS)
{
	AeServing  *s = model_name_arg(fcinfo);
	InferCallCache *cc = fcinfo->flinfo->fn_extra;
	double		err;

	if (isnan(cc->entry->threshold))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has no anomaly threshold", cc->name),
				 errhint("Versions stored with save() from fit() have none; train one with train().")));
	err = DatumGetFloat8(infer(fcinfo, s, OP_ERROR));
	PG_RETURN_BOOL(err > cc->entry->threshold);
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
