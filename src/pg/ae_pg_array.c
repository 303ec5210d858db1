/*-------------------------------------------------------------------------
 *
 * ae_pg_array.c
 *	  Validation and conversion of float arrays at the SQL boundary.
 *
 * Every array a user hands the extension passes through here: it must be
 * one-dimensional, non-empty, free of NULLs, NaN and infinities, of type
 * real[], double precision[], integer[] or numeric[] (values beyond the
 * range of real are an error), and of the model's dimension.  Results are
 * real[] for real[] and integer[] rows, double precision[] otherwise.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "parser/parse_coerce.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

/* True for the array types rows may have (and domains over them). */
bool
ae_is_float_array_type(Oid typid)
{
	Oid			base = getBaseType(typid);

	return base == FLOAT4ARRAYOID || base == FLOAT8ARRAYOID ||
		base == INT4ARRAYOID || base == NUMERICARRAYOID;
}

/*
 * Check column attno of a source query's rows once (the first batch; later
 * batches have the same type): an array type the extension reads, or a
 * type with a cast function to real[] (pgvector's vector and halfvec),
 * looked up now and called per row by ae_source_array.  Other types raise
 * datatype_mismatch with message.  The cast's FmgrInfo lives in the
 * current memory context (the caller's SPI procedure context).
 */
void
ae_source_column(AeSourceColumn *c, TupleDesc desc, int attno, const char *message)
{
	Oid			typid = desc->natts >= attno ? SPI_gettypeid(desc, attno) : InvalidOid;
	Oid			funcid = InvalidOid;

	if (OidIsValid(c->typid) && c->typid == typid)
		return;
	c->typid = typid;
	c->cast = false;
	if (ae_is_float_array_type(typid))
		return;
	if (OidIsValid(typid) &&
		find_coercion_pathway(FLOAT4ARRAYOID, typid, COERCION_EXPLICIT,
							  &funcid) == COERCION_PATH_FUNC)
	{
		c->cast = true;
		c->nargs = get_func_nargs(funcid);
		fmgr_info(funcid, &c->fn);
		return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("%s", message),
			 desc->natts >= attno ?
			 errdetail("It is %s.", format_type_be(typid)) :
			 errdetail("The query returns %d columns.", desc->natts),
			 errhint("Use real[], double precision[], integer[] or numeric[], or a type with a cast to real[] (pgvector's vector and halfvec have one).")));
}

/* A source value as an array (through the column's cast if it has one). */
ArrayType *
ae_source_array(AeSourceColumn *c, Datum d)
{
	if (c->cast)
		d = c->nargs == 1 ? FunctionCall1(&c->fn, d) :
			c->nargs == 2 ? FunctionCall2(&c->fn, d, Int32GetDatum(-1)) :
			FunctionCall3(&c->fn, d, Int32GetDatum(-1), BoolGetDatum(true));
	return DatumGetArrayTypeP(d);
}

/* The element type of the arrays a function returns for an input's. */
Oid
ae_result_elemtype(Oid input_elemtype)
{
	return input_elemtype == FLOAT8OID || input_elemtype == NUMERICOID ?
		FLOAT8OID : FLOAT4OID;
}

/* Report a non-finite element. */
static void
bad_element(const char *what, int i, double v)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("%s must not contain %s", what,
					isnan(v) ? "NaN" : "infinite values"),
			 errdetail("Element %d is %s.", i + 1,
					   isnan(v) ? "NaN" : "infinite")));
}

/* One double of a row into a float, or an error naming the element. */
static float
to_float(double v, int i, const char *what)
{
	if (!isfinite(v))
		bad_element(what, i, v);
	if (fabs(v) > FLT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s element is out of range for type real", what),
				 errdetail("Element %d is %g.", i + 1, v)));
	return (float) v;
}

/* Reject names that are empty or too long to be a cache key. */
void
ae_check_model_name(const char *name)
{
	size_t		len = strlen(name);

	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name must not be empty")));
	if (len > AE_MAX_NAME)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("model name is too long"),
				 errdetail("A model name has at most %d bytes.", AE_MAX_NAME)));
}

/* Number of elements of a one-dimensional, non-empty, NULL-free array. */
int
ae_array_dims(ArrayType *a, const char *what)
{
	if (ARR_NDIM(a) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s must not be empty", what)));
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s must be one-dimensional", what),
				 errdetail("The array has %d dimensions.", ARR_NDIM(a))));
	if (array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not contain nulls", what)));
	return ARR_DIMS(a)[0];
}


/*
 * Copy a validated real[] or double precision[] into out, which holds
 * expected floats; the array must have exactly that many elements.
 */
void
ae_array_to_floats(ArrayType *a, float *out, int expected, const char *what)
{
	int			n = ae_array_dims(a, what);

	if (n != expected)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", expected, n)));
	if (ARR_ELEMTYPE(a) == FLOAT4OID)
	{
		const float *v = (const float *) ARR_DATA_PTR(a);

		for (int i = 0; i < n; i++)
		{
			if (!isfinite(v[i]))
				bad_element(what, i, v[i]);
			out[i] = v[i];
		}
	}
	else if (ARR_ELEMTYPE(a) == FLOAT8OID)
	{
		const double *v = (const double *) ARR_DATA_PTR(a);

		for (int i = 0; i < n; i++)
			out[i] = to_float(v[i], i, what);
	}
	else if (ARR_ELEMTYPE(a) == INT4OID)
	{
		const int32 *v = (const int32 *) ARR_DATA_PTR(a);

		for (int i = 0; i < n; i++)
			out[i] = (float) v[i];
	}
	else if (ARR_ELEMTYPE(a) == NUMERICOID)
	{
		Datum	   *elems;
		int			count;

		deconstruct_array(a, NUMERICOID, -1, false, TYPALIGN_INT, &elems, NULL, &count);
		for (int i = 0; i < n; i++)
		{
			Numeric		num = DatumGetNumeric(elems[i]);

			double		v;

			if (numeric_is_nan(num) || numeric_is_inf(num))
				bad_element(what, i, numeric_is_nan(num) ? NAN : INFINITY);
			v = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
												   NumericGetDatum(num)));
			out[i] = to_float(isfinite(v) ? v : copysign(DBL_MAX, v), i, what);
		}
		pfree(elems);
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s must be real[], double precision[], integer[] or numeric[]", what)));
}

/* A new one-dimensional array of n values as real[] or double precision[]. */
ArrayType *
ae_floats_to_array(const float *v, int n, Oid elemtype)
{
	ArrayType  *a;
	int			elsize = elemtype == FLOAT8OID ? 8 : 4;
	Size		nbytes = ARR_OVERHEAD_NONULLS(1) + (Size) elsize * n;

	a = (ArrayType *) palloc(nbytes);
	SET_VARSIZE(a, nbytes);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = elemtype;
	ARR_DIMS(a)[0] = n;
	ARR_LBOUND(a)[0] = 1;
	if (elemtype == FLOAT8OID)
	{
		double	   *d = (double *) ARR_DATA_PTR(a);

		for (int i = 0; i < n; i++)
			d[i] = v[i];
	}
	else
		memcpy(ARR_DATA_PTR(a), v, sizeof(float) * n);
	return a;
}
