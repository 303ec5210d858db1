/*-------------------------------------------------------------------------
 *
 * ae_pg_infer.c
 *	  SQL inference functions on deployed models: encode, decode,
 *	  reconstruct, denoise, reconstruction_error.
 *
 * Each takes a model name and one real[] or double precision[] row and
 * returns an array of the input's element type.  The model comes from the
 * backend cache; fn_extra remembers the entry of the last name seen, so a
 * scan over a column does one forward pass per row and no lookups.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"

/* What fn_extra keeps between calls of one function in one query. */
typedef struct InferCallCache
{
	char		name[NAMEDATALEN];
	AeCachedModel *entry;
} InferCallCache;

/* The deployed model named by argument 0, via fn_extra and the cache. */
static AeCachedModel *
model_arg(FunctionCallInfo fcinfo)
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
		cc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
									sizeof(InferCallCache));
		fcinfo->flinfo->fn_extra = cc;
	}
	if (cc->entry == NULL || !cc->entry->valid || strcmp(cc->name, name) != 0)
	{
		cc->entry = NULL;
		cc->entry = ae_cache_get(name);
		strlcpy(cc->name, name, NAMEDATALEN);
	}
	return cc->entry;
}

/* Read argument 1 into the entry's input buffer; returns its element type. */
static Oid
input_arg(FunctionCallInfo fcinfo, AeCachedModel *e, int expected,
		  const char *what)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(1);
	Oid			elem = ARR_ELEMTYPE(a);

	ae_array_to_floats(a, e->input, expected, what);
	if ((Pointer) a != PG_GETARG_POINTER(1))
		pfree(a);
	return elem;
}

PG_FUNCTION_INFO_V1(ae_encode_name);

/* encode(model_name, x): the latent code of x. */
Datum
ae_encode_name(PG_FUNCTION_ARGS)
{
	AeCachedModel *e = model_arg(fcinfo);
	Oid			elem = input_arg(fcinfo, e, e->model.arch.n_input, "input");

	ae_encode(&e->model, e->input, 1, e->output, e->work);
	PG_RETURN_ARRAYTYPE_P(ae_floats_to_array(e->output, e->model.arch.latent,
											 elem));
}

PG_FUNCTION_INFO_V1(ae_decode_name);

/* decode(model_name, code): the input-space row a code decodes to. */
Datum
ae_decode_name(PG_FUNCTION_ARGS)
{
	AeCachedModel *e = model_arg(fcinfo);
	Oid			elem = input_arg(fcinfo, e, e->model.arch.latent, "code");

	ae_decode(&e->model, e->input, 1, e->output, e->work);
	PG_RETURN_ARRAYTYPE_P(ae_floats_to_array(e->output,
											 e->model.arch.n_input, elem));
}

/* Shared body of reconstruct and denoise. */
static Datum
reconstruct_common(FunctionCallInfo fcinfo, bool clamp)
{
	AeCachedModel *e = model_arg(fcinfo);
	Oid			elem = input_arg(fcinfo, e, e->model.arch.n_input, "input");

	ae_reconstruct(&e->model, e->input, 1, e->output, clamp, e->work);
	PG_RETURN_ARRAYTYPE_P(ae_floats_to_array(e->output,
											 e->model.arch.n_input, elem));
}

PG_FUNCTION_INFO_V1(ae_reconstruct_name);

/* reconstruct(model_name, x): decode(encode(x)). */
Datum
ae_reconstruct_name(PG_FUNCTION_ARGS)
{
	return reconstruct_common(fcinfo, false);
}

PG_FUNCTION_INFO_V1(ae_denoise_name);

/* denoise(model_name, x): the reconstruction clamped to the training range. */
Datum
ae_denoise_name(PG_FUNCTION_ARGS)
{
	return reconstruct_common(fcinfo, true);
}

PG_FUNCTION_INFO_V1(ae_reconstruction_error_name);

/* reconstruction_error(model_name, x): mean squared error in input units. */
Datum
ae_reconstruction_error_name(PG_FUNCTION_ARGS)
{
	AeCachedModel *e = model_arg(fcinfo);
	double		err;

	input_arg(fcinfo, e, e->model.arch.n_input, "input");
	ae_reconstruction_error(&e->model, e->input, 1, &err, e->work);
	PG_RETURN_FLOAT8(err);
}
