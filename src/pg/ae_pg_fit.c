/*-------------------------------------------------------------------------
 *
 * ae_pg_fit.c
 *	  The aggregate autoencoder.fit(x [, options]) and its state type
 *	  autoencoder.fit_state.
 *
 * The state is the core's ae_fitstate (src/core/ae_fitstate.h: what it
 * keeps, how partial states merge, its byte format).  Here it lives in a
 * PostgreSQL expanded object in the aggregate's memory context, so the
 * transition and combine functions change it in place and return the same
 * read-write pointer, which nodeAgg (and Citus's worker_partial_agg and
 * coord_combine_agg, which copy nodeAgg's rules) keep without copying it.
 * Wherever the state leaves the aggregate (a parallel worker's tuple, the
 * type's text output that Citus ships between nodes, a column), it is
 * flattened into the core's explicit byte format; every flat state that
 * comes back in, through input, receive, an INITCOND or an argument, is
 * read and checked in full by ae_fitstate_read before anything uses it
 * (input and receive keep the bytes, so they use ae_fitstate_check: the
 * same checks, without building the state).
 *
 * A value of the type is either such a flat state or the same compressed
 * with zstd in an envelope; the text form is the value's bytes in base64.
 * Both, and the envelope's format, are ae_pg_fitwire.c's.
 *
 * Citus moves partial states between nodes as this text and its coordinator
 * holds them all (in its connections' buffers and a tuplestore) while it
 * combines them, so their size is that node's memory.  For the same reason
 * the combine function keeps the compressed partial states it receives as
 * they are (up to PENDING_MAX bytes of them) instead of reading them into
 * the aggregate's state, and the exact solver's states too, compressed or
 * not, because the order in which moments are merged changes their last
 * bits.  Kept states are read when the state is needed whole, in a
 * canonical order (by a hash of their bytes) rather than their order of
 * arrival, and the final function reads them into a state of its own and
 * trains on its sample without copying it.  So the coordinator of a
 * distributed fit holds the sample compressed until the end, and the fit
 * does not depend on the order in which the shards (or parallel workers)
 * answered while their states fit in PENDING_MAX.  (A flat sample is merged
 * as it arrives: kept, it would take more memory, and samples merge the
 * same in any order.)
 *
 * Options must be the same on every row: the first row's jsonb is kept and
 * later rows are compared with it (bytes first, then as parsed options).
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"
#include "ae_bytes.h"
#include "ae_fitstate.h"

#include "common/hashfn.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/expandeddatum.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#define PENDING_MAX		((Size) 128 * 1024 * 1024)	/* partial states kept */
#define BLOB_KEY_BYTES	((Size) 4096)	/* hashed at each end of a kept state */

/* A partial state kept as it arrived, until it is needed. */
typedef struct FitBlob
{
	uint64		key;			/* a hash of the bytes: the canonical order */
	Size		len;
	unsigned char bytes[FLEXIBLE_ARRAY_MEMBER];
} FitBlob;

/* The expanded form of a fit_state. */
typedef struct FitEOH
{
	ExpandedObjectHeader hdr;
	bool		ready;			/* st holds a state (else only blobs) */
	ae_fitstate st;
	FitBlob   **blobs;			/* states not read into st yet */
	int			n_blobs;
	int			max_blobs;
	Size		blob_bytes;
	const char *ref_opts;		/* options and dimension of the first blob */
	uint32		ref_opts_len;	/* seen, to compare the next ones with */
	uint32		ref_d;
	Jsonb	   *opts_raw;		/* the options argument of the first row */
	bool		opts_known;		/* opts_raw (or no options) was checked */
	Size		flat_size;		/* from the last get_flat_size */
} FitEOH;

static void materialize(FitEOH *e);
static Size fit_get_flat_size(ExpandedObjectHeader *eohptr);
static void fit_flatten_into(ExpandedObjectHeader *eohptr, void *result,
							 Size allocated_size);

static const ExpandedObjectMethods fit_methods = {
	fit_get_flat_size,
	fit_flatten_into
};

/* Size of the flat form (blobs are read and pending rows folded first). */
static Size
fit_get_flat_size(ExpandedObjectHeader *eohptr)
{
	FitEOH	   *e = (FitEOH *) eohptr;
	size_t		size;
	ae_error	err;

	ae_blas_check();			/* flattening folds pending rows with dsyrk */
	materialize(e);
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

/* Raise the error of a failed read or check of a state's bytes. */
static void pg_attribute_noreturn()
raise_read_error(ae_error *err)
{
	if (err->status == AE_EFORMAT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid autoencoder.fit_state value"),
				 errdetail("%c%s.", pg_toupper((unsigned char) err->message[0]),
						   err->message + 1)));
	ae_pg_raise(err);
	pg_unreachable();
}

/*
 * Read (and check in full) a value's bytes, flat or compressed, into s,
 * allocating in cxt.
 */
static void
read_state(ae_fitstate *s, const unsigned char *bytes, Size len, MemoryContext cxt)
{
	ae_allocator a;
	ae_error	err;
	struct varlena *flat = NULL;
	ae_status	st;

	if (ae_fit_is_envelope(bytes, len))
	{
		flat = ae_fit_unwrap_envelope(bytes, len);
		bytes = (unsigned char *) VARDATA(flat);
		len = VARSIZE(flat) - VARHDRSZ;
	}
	ae_pg_allocator(&a, cxt);
	st = ae_fitstate_read(s, bytes, len, (uint64_t) ae_max_training_rows, &a, &err);
	if (flat)
		pfree(flat);
	if (st != AE_OK)
		raise_read_error(&err);
}

/* Read (and check) a value into a new expanded state in parent. */
static FitEOH *
fit_from_flat(struct varlena *v, MemoryContext parent)
{
	FitEOH	   *e = fit_new(parent);

	read_state(&e->st, (unsigned char *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v),
			   e->hdr.eoh_context);
	e->ready = true;
	return e;
}

/* Order of blobs: by hash, then length, then bytes. */
static int
blob_cmp(const void *pa, const void *pb)
{
	const FitBlob *a = *(FitBlob *const *) pa;
	const FitBlob *b = *(FitBlob *const *) pb;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return memcmp(a->bytes, b->bytes, a->len);
}

/*
 * Merge blobs (in their canonical order) into s, which is a state if
 * *ready, else is read from the first blob; s allocates in cxt.
 */
static void
merge_blobs(ae_fitstate *s, bool *ready, FitBlob **blobs, int n, MemoryContext cxt)
{
	ae_blas_check();			/* merging folds an exact solver's rows */
	qsort(blobs, n, sizeof(FitBlob *), blob_cmp);
	for (int i = 0; i < n; i++)
	{
		if (!*ready)
		{
			read_state(s, blobs[i]->bytes, blobs[i]->len, cxt);
			*ready = true;
		}
		else
		{
			MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext,
													  "autoencoder fit blob",
													  ALLOCSET_DEFAULT_SIZES);
			ae_fitstate b;
			ae_error	err;

			read_state(&b, blobs[i]->bytes, blobs[i]->len, tmp);
			if (ae_fitstate_merge(s, &b, &err) != AE_OK)
				ae_pg_raise(&err);
			MemoryContextDelete(tmp);
		}
		CHECK_FOR_INTERRUPTS();
	}
}

/* Read an expanded state's blobs into its state. */
static void
materialize(FitEOH *e)
{
	if (e->n_blobs == 0)
		return;
	merge_blobs(&e->st, &e->ready, e->blobs, e->n_blobs, e->hdr.eoh_context);
	for (int i = 0; i < e->n_blobs; i++)
		pfree(e->blobs[i]);
	e->n_blobs = 0;
	e->blob_bytes = 0;
	e->ref_opts = NULL;			/* it pointed into a blob */
}

/*
 * The options and dimension in the header of flat state bytes, if they look
 * like one (nothing is checked: the full read does that).
 */
static bool
peek_flat(const unsigned char *bytes, Size len, const char **opts,
		  uint32 *opts_len, uint32 *d)
{
	if (len < AE_FITSTATE_HEADER || memcmp(bytes, AE_FITSTATE_MAGIC, 4) != 0)
		return false;
	*d = ae_get_u32(bytes + 8);
	*opts_len = ae_get_u32(bytes + 12);
	*opts = (const char *) bytes + AE_FITSTATE_HEADER;
	return *opts_len <= len - AE_FITSTATE_HEADER;
}

/*
 * A kept state's options and dimension must be those of e: compared as it
 * arrives when its header is in the clear, so that the error names the
 * states in their order of arrival (else the full read reports it later).
 */
static void
check_blob_header(FitEOH *e, const unsigned char *bytes, Size len)
{
	const char *opts;
	uint32		opts_len,
				d;

	if (!peek_flat(bytes, len, &opts, &opts_len, &d))
		return;
	if (e->ready)
	{
		e->ref_opts = e->st.opts_json;
		e->ref_opts_len = (uint32) e->st.opts_len;
		e->ref_d = (uint32) e->st.d;
	}
	if (e->ref_opts == NULL)
	{
		e->ref_opts = opts;
		e->ref_opts_len = opts_len;
		e->ref_d = d;
		return;
	}
	if (opts_len != e->ref_opts_len || memcmp(opts, e->ref_opts, opts_len) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("partial fit states have different options"),
				 errdetail("One has %.200s, the other %.200s.",
						   pnstrdup(e->ref_opts, e->ref_opts_len), pnstrdup(opts, opts_len))));
	if (d != 0 && e->ref_d != 0 && d != e->ref_d)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("partial fit states have rows of different dimensions"),
				 errdetail("One has %u dimensions, the other %u.", e->ref_d, d)));
	if (e->ref_d == 0)
		e->ref_d = d;
}

/*
 * Keep a value (flat or compressed) as it is in e, materializing the blobs
 * held so far first when it would pass PENDING_MAX.
 */
static void
keep_blob(FitEOH *e, const unsigned char *bytes, Size len)
{
	FitBlob    *b;

	if (e->n_blobs > 0 && e->blob_bytes + len > PENDING_MAX)
		materialize(e);
	if (e->n_blobs == e->max_blobs)
	{
		int			n = e->max_blobs ? 2 * e->max_blobs : 16;

		e->blobs = e->blobs ?
			repalloc(e->blobs, sizeof(FitBlob *) * n) :
			MemoryContextAlloc(e->hdr.eoh_context, sizeof(FitBlob *) * n);
		e->max_blobs = n;
	}
	b = MemoryContextAllocExtended(e->hdr.eoh_context, offsetof(FitBlob, bytes) + len,
								   MCXT_ALLOC_HUGE);
	b->len = len;
	memcpy(b->bytes, bytes, len);
	/* (a hash of the ends and the length: the order needs no more) */
	b->key = hash_bytes_extended(bytes, (int) Min(len, BLOB_KEY_BYTES), len) ^
		hash_bytes_extended(bytes + len - Min(len, BLOB_KEY_BYTES),
							(int) Min(len, BLOB_KEY_BYTES), 0);
	check_blob_header(e, b->bytes, len);
	e->blobs[e->n_blobs++] = b;
	e->blob_bytes += len;
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
	e->ready = true;
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
		materialize(e);
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
	if (e->st.full)
		ae_blas_check();		/* the exact solver folds rows with dsyrk */
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
	/*
	 * A value (a partial state from a shard or a parallel worker) that is
	 * compressed, or an exact solver's, is kept as it is; a flat sample is
	 * merged now (its order does not matter, and it is larger kept)
	 */
	if (!VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(PG_GETARG_DATUM(1))))
	{
		struct varlena *v = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(1));
		const unsigned char *bytes = (unsigned char *) VARDATA_ANY(v);
		Size		len = VARSIZE_ANY_EXHDR(v);

		if (ae_fit_is_envelope(bytes, len) || ae_fitstate_flat_is_exact(bytes, len))
		{
			a = PG_ARGISNULL(0) ? fit_new(aggcxt) : fit_arg(fcinfo, 0, aggcxt, true);
			keep_blob(a, bytes, len);
			PG_RETURN_DATUM(EOHPGetRWDatum(&a->hdr));
		}
	}
	if (PG_ARGISNULL(0))
		PG_RETURN_DATUM(EOHPGetRWDatum(&fit_arg(fcinfo, 1, aggcxt, false)->hdr));
	ae_blas_check();			/* merging may fold an exact solver's rows */
	a = fit_arg(fcinfo, 0, aggcxt, true);
	materialize(a);
	/* b is read (and checked) into a scratch context */
	tmp = AllocSetContextCreate(CurrentMemoryContext, "autoencoder fit combine",
								ALLOCSET_DEFAULT_SIZES);
	b = fit_arg(fcinfo, 1, tmp, false);
	materialize(b);
	if (ae_fitstate_merge(&a->st, &b->st, &err) != AE_OK)
		ae_pg_raise(&err);
	MemoryContextDelete(tmp);
	PG_RETURN_DATUM(EOHPGetRWDatum(&a->hdr));
}

PG_FUNCTION_INFO_V1(ae_fit_final);

/*
 * The state a final function trains on, in cxt: e's own (read-only), or,
 * when e holds blobs, a state of its own built from e's state and blobs,
 * whose sample training may use in place (*own is set).
 */
static ae_fitstate *
final_state(FitEOH *e, MemoryContext cxt, bool *own)
{
	ae_fitstate *s;
	bool		ready = false;
	FitBlob   **order;

	*own = false;
	if (e->n_blobs == 0)
		return &e->st;
	s = MemoryContextAllocZero(cxt, sizeof(ae_fitstate));
	if (e->ready)
	{
		ae_allocator a;
		ae_error	err;

		ae_pg_allocator(&a, cxt);
		if (ae_fitstate_init(s, e->st.opts_json, e->st.opts_len, &a, &err) != AE_OK ||
			ae_fitstate_merge(s, &e->st, &err) != AE_OK)
			ae_pg_raise(&err);
		ready = true;
	}
	/* (sorted in a copy: the final function does not change its argument) */
	order = MemoryContextAlloc(cxt, sizeof(FitBlob *) * e->n_blobs);
	memcpy(order, e->blobs, sizeof(FitBlob *) * e->n_blobs);
	merge_blobs(s, &ready, order, e->n_blobs, cxt);
	*own = true;
	return s;
}

/* fit_final(state): train or solve, and return the model (NULL if no rows). */
Datum
ae_fit_final(PG_FUNCTION_ARGS)
{
	MemoryContext cxt,
				old;
	FitEOH	   *e;
	ae_fitstate *s;
	bool		own;
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
	ae_blas_check();			/* OpenBLAS's buffers, before any merge uses them */
	s = final_state(e, cxt, &own);
	if (s->read == 0)
	{
		MemoryContextDelete(cxt);
		PG_RETURN_NULL();
	}
	/* the same bound as train(): memory before allocating */
	ae_pg_check_memory(&s->opts, s->full ? 0 : s->kept);
	old = MemoryContextSwitchTo(cxt);
	if ((own ? ae_fitstate_prepare_in_place(s, &fi, &alloc, &err) :
		 ae_fitstate_prepare(s, &fi, &alloc, &err)) != AE_OK)
		ae_pg_raise(&err);
	ae_fit_build_input(s, &fi, &in);
	in.threads = ae_threads;
	ae_pg_callbacks(&in.cb, &s->opts);
	if (ae_build(&in, &alloc, &out, &err) != AE_OK)
		ae_pg_raise(&err);
	ae_pg_notice_built(&s->opts, &out);
	MemoryContextSwitchTo(old);
	result = ae_model_varlena(&out.model);
	MemoryContextDelete(cxt);
	PG_RETURN_POINTER(result);
}

/*
 * Check a flat value as a state, with ae_fitstate_read's checks and errors
 * (ae_fitstate_check: an exact solver's moments are checked in place, not
 * copied into a matrix), allocating in a scratch context.
 */
static void
check_flat(struct varlena *v)
{
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext,
											  "autoencoder fit state check",
											  ALLOCSET_DEFAULT_SIZES);
	ae_allocator a;
	ae_error	err;

	ae_pg_allocator(&a, tmp);
	if (ae_fitstate_check((unsigned char *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v),
						  (uint64_t) ae_max_training_rows, &a, &err) != AE_OK)
		raise_read_error(&err);
	MemoryContextDelete(tmp);
}

/*
 * Check a value that arrived as text or binary, and return the form to
 * keep: a compressed sample stays compressed (it is read once more, by the
 * final function, and the coordinator of a distributed fit holds many);
 * the exact solver's compressed rows are returned decompressed (their rows
 * are all folded anyway, and decompressing once is enough).
 */
static struct varlena *
checked_value(struct varlena *v)
{
	struct varlena *flat;

	if (!ae_fit_is_envelope((unsigned char *) VARDATA(v), VARSIZE(v) - VARHDRSZ))
	{
		check_flat(v);
		return v;
	}
	flat = ae_fit_unwrap_envelope((unsigned char *) VARDATA(v), VARSIZE(v) - VARHDRSZ);
	check_flat(flat);
	if (ae_fitstate_flat_is_exact((unsigned char *) VARDATA(flat), VARSIZE(flat) - VARHDRSZ))
	{
		pfree(v);
		return flat;
	}
	pfree(flat);
	return v;
}

PG_FUNCTION_INFO_V1(ae_fit_state_in);

/*
 * Text input of a state: base64 of its bytes (flat or compressed), checked
 * in full (see checked_value for the form kept).
 */
Datum
ae_fit_state_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	size_t		len = strlen(str);
	int64		dlen;
	struct varlena *v;

	if (len > (size_t) PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("autoencoder.fit_state text is too long")));
	v = palloc_extended(VARHDRSZ + len / 4 * 3, MCXT_ALLOC_HUGE);
	dlen = ae_b64_decode(str, len, (unsigned char *) VARDATA(v));
	if (dlen < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type autoencoder.fit_state"),
				 errdetail("The text form is the state's bytes in base64.")));
	SET_VARSIZE(v, VARHDRSZ + dlen);
	PG_RETURN_POINTER(checked_value(v));
}

PG_FUNCTION_INFO_V1(ae_fit_state_out);

/*
 * Text output of a state: base64 of its bytes, a flat state compressed when
 * that pays (an exact round trip either way).
 */
Datum
ae_fit_state_out(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	Size		len;
	const unsigned char *bytes = ae_fit_text_bytes(v, &len);
	char	   *out;

	if (len > (MaxAllocSize - 1) / 4 * 3)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("autoencoder.fit state is too large for its text form"),
				 errdetail("Its %zu bytes exceed 1 GB as text.", len),
				 errhint("Lower the option max_rows.")));
	out = palloc(ae_b64_encoded_len(len) + 1);
	out[ae_b64_encode(bytes, len, out)] = '\0';
	PG_RETURN_CSTRING(out);
}

PG_FUNCTION_INFO_V1(ae_fit_state_recv);

/* Binary input of a state: its bytes (flat or compressed), checked in full. */
Datum
ae_fit_state_recv(PG_FUNCTION_ARGS)
{
	struct varlena *v = ae_bytes_recv((StringInfo) PG_GETARG_POINTER(0));

	PG_RETURN_POINTER(checked_value(v));
}

PG_FUNCTION_INFO_V1(ae_fit_state_send);

/* Binary output of a state: its bytes. */
Datum
ae_fit_state_send(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(ae_bytes_send(PG_GETARG_DATUM(0)));
}
