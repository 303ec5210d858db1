/*-------------------------------------------------------------------------
 *
 * ae_pg_fit.c
 *	  The aggregate autoencoder.fit(x [, options]) and its state type
 *	  autoencoder.fit_state.
 *
 * The state is the core's ae_fitstate (src/core/ae_fitstate.c: what it
 * keeps, how partial states merge, its byte format).  Here it lives in a
 * PostgreSQL expanded object in the aggregate's memory context, so the
 * transition and combine functions change it in place and return the same
 * read-write pointer, which nodeAgg (and Citus's worker_partial_agg and
 * coord_combine_agg, which copy nodeAgg's rules) keep without copying it.
 * Wherever the state leaves the aggregate (a parallel worker's tuple, the
 * type's text output that Citus ships between nodes, a column), it is
 * flattened into the core's explicit byte format; every flat state that
 * comes back in, through input, receive, an INITCOND or an argument, is
 * read and checked in full by ae_fitstate_read before anything uses it.
 *
 * The text form is the flat bytes in base64.  Options must be the same on
 * every row: the first row's jsonb is kept and later rows are compared with
 * it (bytes first, then as parsed options).
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"
#include "ae_fitstate.h"

#include "common/base64.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/expandeddatum.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

/* The expanded form of a fit_state. */
typedef struct FitEOH
{
	ExpandedObjectHeader hdr;
	ae_fitstate st;
	Jsonb	   *opts_raw;		/* the options argument of the first row */
	bool		opts_known;		/* opts_raw (or no options) was checked */
	Size		flat_size;		/* from the last get_flat_size */
} FitEOH;

static Size fit_get_flat_size(ExpandedObjectHeader *eohptr);
static void fit_flatten_into(ExpandedObjectHeader *eohptr, void *result,
							 Size allocated_size);

static const ExpandedObjectMethods fit_methods = {
	fit_get_flat_size,
	fit_flatten_into
};

/* Size of the flat form (the core folds pending rows first). */
static Size
fit_get_flat_size(ExpandedObjectHeader *eohptr)
{
	FitEOH	   *e = (FitEOH *) eohptr;
	size_t		size;
	ae_error	err;

	if (ae_fitstate_flat_size(&e->st, &size, &err) != AE_OK)
		ae_pg_raise(&err);
	if (size > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("autoencoder.fit state would exceed 1 GB"),
				 errdetail("It holds %llu rows of %d dimensions.",
						   (unsigned long long) (e->st.full ? e->st.read : e->st.kept),
						   e->st.d),
				 errhint("Lower the option max_rows.")));
	e->flat_size = VARHDRSZ + size;
	return e->flat_size;
}

/* Write the flat form. */
static void
fit_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	FitEOH	   *e = (FitEOH *) eohptr;

	Assert(allocated_size == e->flat_size);
	SET_VARSIZE(result, allocated_size);
	ae_fitstate_flatten(&e->st, (unsigned char *) VARDATA(result));
}

/* A new, empty expanded state in a child context of parent. */
static FitEOH *
fit_new(MemoryContext parent)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "autoencoder fit state",
											  ALLOCSET_DEFAULT_SIZES);
	FitEOH	   *e = MemoryContextAllocZero(cxt, sizeof(FitEOH));

	EOH_init_header(&e->hdr, &fit_methods, cxt);
	return e;
}

/* The core's allocator over an expanded state's context. */
static ae_allocator
fit_allocator(FitEOH *e)
{
	ae_allocator a;

	ae_pg_allocator(&a, e->hdr.eoh_context);
	return a;
}

/* Read (and check) flat bytes into a new expanded state in parent. */
static FitEOH *
fit_from_flat(struct varlena *v, MemoryContext parent)
{
	FitEOH	   *e = fit_new(parent);
	ae_allocator a = fit_allocator(e);
	ae_error	err;

	if (ae_fitstate_read(&e->st, (unsigned char *) VARDATA_ANY(v),
						 VARSIZE_ANY_EXHDR(v), (uint64_t) ae_max_training_rows,
						 &a, &err) != AE_OK)
	{
		if (err.status == AE_EFORMAT)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid autoencoder.fit_state value"),
					 errdetail("%c%s.", pg_toupper((unsigned char) err.message[0]),
							   err.message + 1)));
		ae_pg_raise(&err);
	}
	return e;
}

/*
 * The state of argument argno: when adopt is true and it is a read-write
 * expanded state in cxt (the aggregate's own state), that object, changed
 * in place; else a new one in cxt read from its (flattened) bytes.
 */
static FitEOH *
fit_arg(FunctionCallInfo fcinfo, int argno, MemoryContext cxt, bool adopt)
{
	Datum		d = PG_GETARG_DATUM(argno);

	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(d)))
	{
		FitEOH	   *e = (FitEOH *) DatumGetEOHP(d);

		if (e->hdr.eoh_methods != &fit_methods)
			elog(ERROR, "expanded object is not an autoencoder.fit_state");
		if (adopt && VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(d)) &&
			MemoryContextGetParent(e->hdr.eoh_context) == cxt)
			return e;
	}
	/* a flat state, or someone else's object: read a copy of its bytes */
	return fit_from_flat(PG_DETOAST_DATUM(d), cxt);
}

/* The JSON text of a jsonb options argument. */
static char *
options_text(Jsonb *jb)
{
	return JsonbToCString(NULL, &jb->root, VARSIZE(jb));
}

/* A new state for the options argument (or none) in the aggregate context. */
static FitEOH *
fit_start_state(FunctionCallInfo fcinfo, MemoryContext aggcxt, Jsonb *opts)
{
	FitEOH	   *e = fit_new(aggcxt);
	ae_allocator a = fit_allocator(e);
	ae_error	err;
	char	   *text = opts ? options_text(opts) : NULL;

	if (ae_fitstate_init(&e->st, text, text ? strlen(text) : 0, &a, &err) != AE_OK)
		ae_pg_raise(&err);
	if (opts)
	{
		e->opts_raw = MemoryContextAlloc(e->hdr.eoh_context, VARSIZE(opts));
		memcpy(e->opts_raw, opts, VARSIZE(opts));
	}
	e->opts_known = true;
	return e;
}

/* Options must be the same on every row. */
static void
check_row_options(FitEOH *e, Jsonb *opts)
{
	char	   *text;
	int			same;
	ae_error	err;

	if (e->opts_known &&
		(opts == NULL ? e->opts_raw == NULL :
		 (e->opts_raw != NULL && VARSIZE(opts) == VARSIZE(e->opts_raw) &&
		  memcmp(opts, e->opts_raw, VARSIZE(opts)) == 0)))
		return;
	text = opts ? options_text(opts) : NULL;
	if (ae_fitstate_same_options(&e->st, text, text ? strlen(text) : 0, &same, &err) != AE_OK)
		ae_pg_raise(&err);
	if (!same)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("fit options must be the same on every row"),
				 errdetail("The first row had %s; this row has %s.",
						   e->st.opts_json, text ? text : "none")));
	if (e->opts_raw)
		pfree(e->opts_raw);
	e->opts_raw = NULL;
	if (opts)
	{
		e->opts_raw = MemoryContextAlloc(e->hdr.eoh_context, VARSIZE(opts));
		memcpy(e->opts_raw, opts, VARSIZE(opts));
	}
	e->opts_known = true;
}

/* The aggregate context, or an error if not called as an aggregate. */
static MemoryContext
aggregate_context(FunctionCallInfo fcinfo, const char *fn)
{
	MemoryContext aggcxt;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s must be called as part of an aggregate", fn)));
	return aggcxt;
}

PG_FUNCTION_INFO_V1(ae_fit_accum);

/* fit_accum(state, x [, options]): one row. */
Datum
ae_fit_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = aggregate_context(fcinfo, "fit_accum");
	Jsonb	   *opts = PG_NARGS() > 2 && !PG_ARGISNULL(2) ? PG_GETARG_JSONB_P(2) : NULL;
	FitEOH	   *e;
	ArrayType  *a;
	ae_error	err;
	int			d;

	if (PG_ARGISNULL(0))
		e = fit_start_state(fcinfo, aggcxt, opts);
	else
	{
		e = fit_arg(fcinfo, 0, aggcxt, true);
		check_row_options(e, opts);
	}
	if (PG_ARGISNULL(1))
	{
		ae_fitstate_skip(&e->st);
		PG_RETURN_DATUM(EOHPGetRWDatum(&e->hdr));
	}
	a = PG_GETARG_ARRAYTYPE_P(1);
	d = ae_array_dims(a, "input");
	if (e->st.d == 0 &&
		ae_fitstate_start(&e->st, d, (uint64_t) ae_max_training_rows, &err) != AE_OK)
		ae_pg_raise(&err);
	ae_array_to_floats(a, ae_fitstate_slot(&e->st), e->st.d, "input");
	if (ae_fitstate_commit(&e->st, &err) != AE_OK)
		ae_pg_raise(&err);
	PG_RETURN_DATUM(EOHPGetRWDatum(&e->hdr));
}

PG_FUNCTION_INFO_V1(ae_fit_combine);

/* fit_combine(a, b): a becomes the state of both inputs' rows. */
Datum
ae_fit_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = aggregate_context(fcinfo, "fit_combine");
	MemoryContext tmp;
	FitEOH	   *a,
			   *b;
	ae_error	err;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(EOHPGetRWDatum(&fit_arg(fcinfo, 0, aggcxt, true)->hdr));
	}
	if (PG_ARGISNULL(0))
		PG_RETURN_DATUM(EOHPGetRWDatum(&fit_arg(fcinfo, 1, aggcxt, false)->hdr));
	a = fit_arg(fcinfo, 0, aggcxt, true);
	/* b is read (and checked) into a scratch context */
	tmp = AllocSetContextCreate(CurrentMemoryContext, "autoencoder fit combine",
								ALLOCSET_DEFAULT_SIZES);
	b = fit_arg(fcinfo, 1, tmp, false);
	if (ae_fitstate_merge(&a->st, &b->st, &err) != AE_OK)
		ae_pg_raise(&err);
	MemoryContextDelete(tmp);
	PG_RETURN_DATUM(EOHPGetRWDatum(&a->hdr));
}

PG_FUNCTION_INFO_V1(ae_fit_final);

/* fit_final(state): train or solve, and return the model (NULL if no rows). */
Datum
ae_fit_final(PG_FUNCTION_ARGS)
{
	MemoryContext cxt,
				old;
	FitEOH	   *e;
	ae_fit_input fi;
	ae_build_input in;
	ae_build_output out;
	ae_allocator alloc;
	ae_error	err;
	struct varlena *result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	cxt = AllocSetContextCreate(CurrentMemoryContext, "autoencoder fit",
								ALLOCSET_DEFAULT_SIZES);
	ae_pg_allocator(&alloc, cxt);
	/* read-only use: a read-write state is not the final function's to change */
	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(PG_GETARG_DATUM(0))))
	{
		e = (FitEOH *) DatumGetEOHP(PG_GETARG_DATUM(0));
		if (e->hdr.eoh_methods != &fit_methods)
			elog(ERROR, "expanded object is not an autoencoder.fit_state");
	}
	else
		e = fit_from_flat(PG_DETOAST_DATUM(PG_GETARG_DATUM(0)), cxt);
	if (e->st.read == 0)
	{
		MemoryContextDelete(cxt);
		PG_RETURN_NULL();
	}
	old = MemoryContextSwitchTo(cxt);
	if (ae_fitstate_prepare(&e->st, &fi, &alloc, &err) != AE_OK)
		ae_pg_raise(&err);
	memset(&in, 0, sizeof(in));
	in.opts = &e->st.opts;
	in.rows = e->st.full ? NULL : fi.rows;
	in.counts = fi.counts;
	in.moments = &fi.mom;
	in.where = AE_OPT_FIT;
	in.threads = ae_threads;
	ae_pg_callbacks(&in.cb, &e->st.opts);
	if (ae_build(&in, &alloc, &out, &err) != AE_OK)
		ae_pg_raise(&err);
	ae_pg_notice_built(&e->st.opts, &out);
	MemoryContextSwitchTo(old);
	result = ae_model_varlena(&out.model);
	MemoryContextDelete(cxt);
	PG_RETURN_POINTER(result);
}

/* Check flat bytes as a state (read into a scratch context, then freed). */
static void
check_flat(struct varlena *v)
{
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext,
											  "autoencoder fit state check",
											  ALLOCSET_DEFAULT_SIZES);

	fit_from_flat(v, tmp);
	MemoryContextDelete(tmp);
}

PG_FUNCTION_INFO_V1(ae_fit_state_in);

/* Text input of a state: base64 of its bytes, checked in full. */
Datum
ae_fit_state_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	size_t		len = strlen(str);
	int			dlen;
	struct varlena *v;

	if (len > (size_t) PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("autoencoder.fit_state text is too long")));
	dlen = pg_b64_dec_len((int) len);
	v = palloc_extended(VARHDRSZ + dlen, MCXT_ALLOC_HUGE);
	dlen = pg_b64_decode(str, (int) len, VARDATA(v), dlen);
	if (dlen < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type autoencoder.fit_state"),
				 errdetail("The text form is the state's bytes in base64.")));
	SET_VARSIZE(v, VARHDRSZ + dlen);
	check_flat(v);
	PG_RETURN_POINTER(v);
}

PG_FUNCTION_INFO_V1(ae_fit_state_out);

/* Text output of a state: base64 of its flat bytes (an exact round trip). */
Datum
ae_fit_state_out(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	int			len = (int) VARSIZE(v) - VARHDRSZ;
	Size		outlen = (Size) pg_b64_enc_len(len) + 1;
	char	   *out;
	int			n;

	if (outlen > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("autoencoder.fit state is too large for its text form"),
				 errdetail("Its %d bytes exceed 1 GB as text.", len),
				 errhint("Lower the option max_rows.")));
	out = palloc(outlen);
	n = pg_b64_encode(VARDATA(v), len, out, (int) outlen);
	if (n < 0)
		elog(ERROR, "could not encode an autoencoder.fit_state");
	out[n] = '\0';
	PG_RETURN_CSTRING(out);
}

PG_FUNCTION_INFO_V1(ae_fit_state_recv);

/* Binary input of a state: its bytes, checked in full. */
Datum
ae_fit_state_recv(PG_FUNCTION_ARGS)
{
	struct varlena *v = ae_bytes_recv((StringInfo) PG_GETARG_POINTER(0));

	check_flat(v);
	PG_RETURN_POINTER(v);
}

PG_FUNCTION_INFO_V1(ae_fit_state_send);

/* Binary output of a state: its flat bytes. */
Datum
ae_fit_state_send(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(ae_bytes_send(PG_GETARG_DATUM(0)));
}
