/*-------------------------------------------------------------------------
 *
 * ae_pg_fit.c
 *	  The aggregate autoencoder.fit(x [, options]) and its state type
 *	  autoencoder.fit_state.
 *
 * The state is a real type of the extension (a varlena, not internal), so
 * PostgreSQL can run the aggregate as Partial/Finalize across parallel
 * workers and a distributed engine can ship partial states as text.  It is
 * bounded however many rows flow in, and it merges exactly or uniformly:
 *
 *   - exact moments of every row read (count, mean, min, max, and the
 *     co-moment matrix in double for the exact solver, its diagonal
 *     otherwise), folded in blocks of FIT_BLOCK rows with one dsyrk each and
 *     merged with Chan's pairwise formula (ae_stats.c): the combine step of
 *     PCA is exact, and the scaling of a sampled training is that of all
 *     rows, not of the sample;
 *   - for gradient training, a uniform reservoir sample of at most max_rows
 *     rows (Algorithm R), merged across partial states into a uniform sample
 *     of the union (hypergeometric split, ae_stats.c).
 *
 * We chose sampling over training per partition and averaging weights:
 * autoencoders trained separately have permuted, unaligned hidden units, so
 * averaging their weights does not give a model of the union; a uniform
 * sample gives the final step the same data, statistically, as a serial run.
 *
 * Layout, native-endian (states travel between backends of one server or
 * between nodes of one cluster, which share the architecture):
 *   FitState header | moments (doubles) | pending block (FIT_BLOCK * d
 *   floats) | reservoir (cap * d floats)
 * The transition function updates the state in place (it is called as an
 * aggregate) and returns a new, larger state only when the reservoir grows.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include "catalog/pg_type.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#define FIT_MAGIC		0x41454653	/* "AEFS" */
#define FIT_VERSION		1
#define FIT_BLOCK		256		/* rows folded into the moments at once */
#define FIT_MAX_SAMPLE	((Size) 512 * 1024 * 1024)	/* reservoir bytes */
#define FIT_FIRST_CAP	1024	/* reservoir rows allocated at first */

typedef struct FitState
{
	int32		vl_len_;
	uint32		magic;
	uint16		version;
	uint16		full;			/* co-moment matrix kept (exact solver) */
	int32		d;				/* 0 until the first non-NULL row */
	int32		cap;			/* reservoir rows allocated */
	int32		max_rows;		/* reservoir bound */
	int32		pending;		/* rows in the pending block */
	uint64		read;			/* non-NULL rows */
	uint64		skipped;		/* NULL rows */
	uint64		kept;			/* rows in the reservoir */
	uint64		moments_n;		/* rows folded into the moments */
	ae_rng		rng;
	ae_options	opts;
} FitState;

#define FIT_HEADER		MAXALIGN(sizeof(FitState))

/* Sizes of the parts of a state. */
static Size
moments_bytes(const FitState *s)
{
	return s->d ? sizeof(double) * ae_moments_doubles(s->d, s->full) : 0;
}

static Size
pending_bytes(const FitState *s)
{
	return (Size) FIT_BLOCK * s->d * sizeof(float);
}

static Size
state_size(const FitState *s, int32 cap)
{
	return FIT_HEADER + moments_bytes(s) + pending_bytes(s) +
		(Size) cap * s->d * sizeof(float);
}

/* Views into a state. */
static double *
state_moments(FitState *s)
{
	return (double *) ((char *) s + FIT_HEADER);
}

static float *
state_pending(FitState *s)
{
	return (float *) ((char *) s + FIT_HEADER + moments_bytes(s));
}

static float *
state_reservoir(FitState *s)
{
	return (float *) ((char *) s + FIT_HEADER + moments_bytes(s) +
					  pending_bytes(s));
}

/* Attach an ae_moments view to a state's moments. */
static void
state_attach(FitState *s, ae_moments *m)
{
	ae_moments_attach(m, s->d, s->full, s->moments_n, state_moments(s));
}

/* Check a state's header against its length; raise an error if bad. */
static void
state_check(const FitState *s, Size len)
{
	if (len < FIT_HEADER || s->magic != FIT_MAGIC || s->version != FIT_VERSION ||
		s->d < 0 || s->d > AE_MAX_DIM || s->cap < 0 || s->max_rows < 1 ||
		s->cap > s->max_rows || s->pending < 0 || s->pending >= FIT_BLOCK ||
		s->kept > (uint64) s->cap || s->kept > s->read ||
		(s->full != 0 && s->full != 1) ||
		(s->d > 0 && len != state_size(s, s->cap)) ||
		(s->d == 0 && len != FIT_HEADER) ||
		ae_train_config_check(&s->opts.cfg, NULL) != AE_OK ||
		(unsigned) s->opts.arch.activation >= AE_ACT_COUNT ||
		(unsigned) s->opts.arch.output_activation >= AE_ACT_COUNT ||
		(unsigned) s->opts.arch.scaling >= AE_SCALING_COUNT ||
		s->opts.arch.n_hidden < 0 || s->opts.arch.n_hidden > AE_MAX_HIDDEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid autoencoder.fit_state value")));
}

/* A new state with no rows, in the current memory context. */
static FitState *
state_new(const ae_options *o)
{
	FitState   *s = palloc0(FIT_HEADER);

	SET_VARSIZE(s, FIT_HEADER);
	s->magic = FIT_MAGIC;
	s->version = FIT_VERSION;
	s->full = o->solver == AE_SOLVER_EXACT;
	s->opts = *o;
	s->max_rows = (int32) o->max_rows;	/* fixed once d is known */
	if (s->max_rows < 1)
		s->max_rows = 1;
	ae_rng_seed(&s->rng, o->cfg.seed ^ UINT64_C(0x464954));
	return s;
}

/*
 * A copy of s with room for cap reservoir rows: the header, moments,
 * pending block and kept rows are copied as far as s holds them.
 */
static FitState *
state_resize(const FitState *s, int32 cap)
{
	Size		size = state_size(s, cap);
	Size		keep = Min((Size) VARSIZE(s), size);
	FitState   *n;

	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("autoencoder.fit state would exceed 1 GB"),
				 errhint("Lower the option max_rows.")));
	n = palloc_extended(size, MCXT_ALLOC_HUGE);
	memcpy(n, s, keep);
	SET_VARSIZE(n, size);
	n->cap = cap;
	return n;
}

/* First non-NULL row: fix the dimension and lay out the parts. */
static FitState *
state_start(FitState *s, int d)
{
	FitState   *n;
	ae_moments	m;
	ae_error	err;
	int32		bound = (int32) Min((Size) PG_INT32_MAX,
									FIT_MAX_SAMPLE / ((Size) d * sizeof(float)));

	if (ae_options_resolve(&s->opts, d, &err) != AE_OK)
		ae_pg_raise(&err);
	if (s->opts.max_rows == 0)
		s->max_rows = Min(ae_max_training_rows, Max(bound, 1));
	else if (s->opts.max_rows > bound && !s->full)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("max_rows %lld is too large for rows of %d dimensions",
						(long long) s->opts.max_rows, d),
				 errhint("The sample of autoencoder.fit holds at most %d such rows.",
						 bound)));
	else
		s->max_rows = (int32) s->opts.max_rows;
	s->d = d;
	n = state_resize(s, 0);
	if (!n->full)
	{
		/* the reservoir starts small and doubles up to max_rows */
		FitState   *g = state_resize(n, Min(FIT_FIRST_CAP, n->max_rows));

		pfree(n);
		n = g;
	}
	ae_moments_init(&m, d, n->full, state_moments(n));
	return n;
}

/* Fold the pending block into the moments. */
static void
state_flush(FitState *s)
{
	ae_moments	m;
	double	   *work;

	if (s->pending == 0)
		return;
	work = palloc(sizeof(double) * ((Size) s->pending * s->d + 5 * (Size) s->d));
	state_attach(s, &m);
	ae_moments_add(&m, state_pending(s), s->pending, work);
	s->moments_n = m.n;
	s->pending = 0;
	pfree(work);
}

/* Transition: one row (argument 1) with optional options (argument 2). */
static Datum
fit_accum(FunctionCallInfo fcinfo)
{
	MemoryContext aggcxt;
	FitState   *s;
	ArrayType  *a;
	float	   *row;
	int			d;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("fit_accum must be called as part of an aggregate")));
	if (PG_ARGISNULL(0))
	{
		ae_options	o;
		ae_error	err;

		ae_options_default(&o);
		if (PG_NARGS() > 2 && !PG_ARGISNULL(2))
			ae_options_from_jsonb(&o, PG_GETARG_DATUM(2));
		if (ae_options_check(&o, &err) != AE_OK)
			ae_pg_raise(&err);
		s = state_new(&o);
	}
	else
		s = (FitState *) PG_GETARG_POINTER(0);

	if (PG_ARGISNULL(1))
	{
		s->skipped++;
		PG_RETURN_POINTER(s);
	}
	a = PG_GETARG_ARRAYTYPE_P(1);
	d = ae_array_dims(a, "input");
	if (s->d == 0)
		s = state_start(s, d);
	row = state_pending(s) + (Size) s->pending * s->d;
	ae_array_to_floats(a, row, s->d, "input");
	s->read++;
	if (!s->full)
	{
		int64		slot = ae_reservoir_slot(&s->rng, s->read, (uint64) s->max_rows);

		if (slot >= s->cap)
		{
			FitState   *g = state_resize(s, (int32) Min((int64) s->max_rows,
														(int64) s->cap * 2));

			/* the old state belongs to the executor, which frees it */
			s = g;
			row = state_pending(s) + (Size) s->pending * s->d;
		}
		if (slot >= 0)
		{
			memcpy(state_reservoir(s) + (Size) slot * s->d, row,
				   sizeof(float) * s->d);
			if ((uint64) slot >= s->kept)
				s->kept = slot + 1;
		}
	}
	if (++s->pending == FIT_BLOCK)
		state_flush(s);
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(ae_fit_accum);

/* fit_accum(state, x [, options]) */
Datum
ae_fit_accum(PG_FUNCTION_ARGS)
{
	return fit_accum(fcinfo);
}

/* Copy of a detoasted state in the current context. */
static FitState *
state_copy(const FitState *s)
{
	FitState   *n = palloc_extended(VARSIZE(s), MCXT_ALLOC_HUGE);

	memcpy(n, s, VARSIZE(s));
	return n;
}

PG_FUNCTION_INFO_V1(ae_fit_combine);

/* fit_combine(a, b): the state of both inputs' rows together. */
Datum
ae_fit_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	FitState   *a,
			   *b,
			   *r;
	ae_moments	ma,
				mb;
	double	   *work;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("fit_combine must be called as part of an aggregate")));
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_POINTER(PG_GETARG_POINTER(0));
	}
	b = (FitState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
	state_check(b, VARSIZE(b));
	if (PG_ARGISNULL(0))
		PG_RETURN_POINTER(state_copy(b));
	a = (FitState *) PG_GETARG_POINTER(0);
	if (b->d == 0)
	{
		a->skipped += b->skipped;
		PG_RETURN_POINTER(a);
	}
	if (a->d == 0)
	{
		r = state_copy(b);
		r->skipped += a->skipped;
		PG_RETURN_POINTER(r);
	}
	if (a->d != b->d || a->full != b->full)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", a->d, b->d)));

	/* moments: b's folded part merges exactly, then its pending rows */
	r = a;
	if (!a->full)
	{
		/* a uniform sample of the union, in a new state sized for it */
		uint64		take_a;
		uint64		k = ae_reservoir_merge_counts(&a->rng, a->read, a->kept,
												  b->read, b->kept,
												  (uint64) a->max_rows, &take_a);
		uint64	   *ia = palloc(sizeof(uint64) * Max(a->kept, 1));
		uint64	   *ib = palloc(sizeof(uint64) * Max(b->kept, 1));
		float	   *dst;

		for (uint64 i = 0; i < a->kept; i++)
			ia[i] = i;
		for (uint64 i = 0; i < b->kept; i++)
			ib[i] = i;
		ae_rng_choose(&a->rng, ia, a->kept, take_a);
		ae_rng_choose(&a->rng, ib, b->kept, k - take_a);
		r = state_resize(a, (int32) Max(k, (uint64) a->cap));
		dst = state_reservoir(r);
		for (uint64 i = 0; i < take_a; i++)
			memcpy(dst + i * r->d, state_reservoir(a) + ia[i] * a->d,
				   sizeof(float) * r->d);
		for (uint64 i = 0; i < k - take_a; i++)
			memcpy(dst + (take_a + i) * r->d, state_reservoir(b) + ib[i] * b->d,
				   sizeof(float) * r->d);
		r->kept = k;
	}
	work = palloc(sizeof(double) * ((Size) FIT_BLOCK * r->d + 5 * (Size) r->d));
	state_attach(r, &ma);
	state_attach(b, &mb);
	ae_moments_merge(&ma, &mb, work);
	if (b->pending > 0)
		ae_moments_add(&ma, state_pending(b), b->pending, work);
	r->moments_n = ma.n;
	r->read += b->read;
	r->skipped += b->skipped;
	pfree(work);
	PG_RETURN_POINTER(r);
}

PG_FUNCTION_INFO_V1(ae_fit_final);

/* fit_final(state): train or solve, and return the model (NULL if no rows). */
Datum
ae_fit_final(PG_FUNCTION_ARGS)
{
	FitState   *s;
	MemoryContext cxt,
				old;
	ae_moments	m;
	float	  **rows = NULL;
	ae_build_input in;
	ae_build_output out;
	ae_allocator alloc;
	ae_error	err;
	struct varlena *result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = (FitState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	state_check(s, VARSIZE(s));
	if (s->read == 0)
		PG_RETURN_NULL();

	cxt = AllocSetContextCreate(CurrentMemoryContext, "autoencoder fit",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	ae_pg_allocator(&alloc, cxt);

	/* the state is read-only here: fold the pending rows into a copy */
	{
		double	   *copy = MemoryContextAllocHuge(cxt, moments_bytes(s));
		double	   *work = palloc(sizeof(double) *
								  ((Size) FIT_BLOCK * s->d + 5 * (Size) s->d));

		memcpy(copy, state_moments(s), moments_bytes(s));
		ae_moments_attach(&m, s->d, s->full, s->moments_n, copy);
		if (s->pending > 0)
			ae_moments_add(&m, state_pending(s), s->pending, work);
	}
	memset(&in, 0, sizeof(in));
	in.counts.read = s->read;
	in.counts.skipped = s->skipped;
	in.counts.kept = s->full ? s->read : s->kept;
	if (!s->full)
	{
		/* training scales rows in place: give it a copy of the sample */
		float	   *data = MemoryContextAllocHuge(cxt, sizeof(float) * s->kept * s->d);

		memcpy(data, state_reservoir(s), sizeof(float) * s->kept * s->d);
		rows = MemoryContextAllocHuge(cxt, sizeof(float *) * s->kept);
		for (uint64 i = 0; i < s->kept; i++)
			rows[i] = data + i * s->d;
	}
	in.opts = &s->opts;
	in.rows = rows;
	in.moments = &m;
	in.where = AE_OPT_FIT;
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

PG_FUNCTION_INFO_V1(ae_fit_state_in);

/* Text input of a state: hex digits of its bytes, validated. */
Datum
ae_fit_state_in(PG_FUNCTION_ARGS)
{
	struct varlena *v = ae_bytes_from_hex(PG_GETARG_CSTRING(0),
										  "autoencoder.fit_state");

	state_check((FitState *) v, VARSIZE(v));
	PG_RETURN_POINTER(v);
}

PG_FUNCTION_INFO_V1(ae_fit_state_out);

/* Text output of a state: hex digits of its bytes (exact round trip). */
Datum
ae_fit_state_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(ae_bytes_to_hex(PG_GETARG_DATUM(0)));
}

PG_FUNCTION_INFO_V1(ae_fit_state_recv);

/* Binary input of a state, validated. */
Datum
ae_fit_state_recv(PG_FUNCTION_ARGS)
{
	struct varlena *v = ae_bytes_recv((StringInfo) PG_GETARG_POINTER(0));

	state_check((FitState *) v, VARSIZE(v));
	PG_RETURN_POINTER(v);
}

PG_FUNCTION_INFO_V1(ae_fit_state_send);

/* Binary output of a state. */
Datum
ae_fit_state_send(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(ae_bytes_send(PG_GETARG_DATUM(0)));
}
