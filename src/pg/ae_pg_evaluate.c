/*-------------------------------------------------------------------------
 *
 * ae_pg_evaluate.c
 *	  autoencoder.evaluate(): a model and its PCA baseline measured on a
 *	  query's rows: reconstruction errors and neighbour recall.
 *
 * One read-only pass over the source: rows are converted into blocks of
 * BLOCK_ROWS, each block reconstructed by the model and by its baseline
 * (the PCA of the same latent size kept with the version, or the model
 * itself for an exact solve) through sgemm, while a uniform sample of up to
 * BASE_ROWS rows (the core's seeded bottom-k row store) is kept.  Then
 * recall@10 by cosine and by L2 is measured for both on that sample, with
 * its QUERY_ROWS lowest-key rows as the queries (ae_eval.c).
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"
#include "ae_eval.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#define BLOCK_ROWS		1024
#define BASE_ROWS		10000
#define QUERY_ROWS		1000
#define RECALL_K		10
#define EVAL_SEED		UINT64_C(42)

/* The two models measured and their running sums. */
typedef struct EvalModels
{
	ae_model	model;
	ae_model	baseline;		/* block NULL if there is none */
	ae_eval_acc acc[2];
	float	   *work;			/* (ae_eval_floats of the larger, BLOCK_ROWS) */
} EvalModels;

/* Parse a model datum into m, in cxt. */
static void
parse_datum(Datum d, ae_model *m, MemoryContext cxt)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(d);

	ae_model_from_bytes((unsigned char *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v),
						m, cxt, ERRCODE_DATA_CORRUPTED);
}

/* The version's model and baseline (SPI connected), parsed in cxt. */
static void
load_models(const char *name, int32 version, EvalModels *em, MemoryContext cxt)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		args[2];
	char		nulls[2] = {' ', version == 0 ? 'n' : ' '};
	bool		isnull;
	Datum		d;
	int			ret;

	args[0] = CStringGetTextDatum(name);
	args[1] = Int32GetDatum(version);
	ret = SPI_execute_with_args("SELECT model, coalesce(baseline, CASE WHEN config->>'solver' = 'exact'"
								" THEN model END) FROM " AE_SCHEMA ".find_version($1, $2)",
								2, types, args, nulls, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read model \"%s\": %s", name, SPI_result_code_string(ret));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 version == 0 ? errmsg("model \"%s\" does not exist", name) :
				 errmsg("model \"%s\" has no version %d", name, version)));
	parse_datum(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull),
				&em->model, cxt);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (!isnull)
		parse_datum(d, &em->baseline, cxt);
}

/* Reconstruct a block with both models and add their errors. */
static void
eval_block(EvalModels *em, const float *x, int rows)
{
	ae_eval_block(&em->model, x, rows, em->work, &em->acc[0]);
	if (em->baseline.block)
		ae_eval_block(&em->baseline, x, rows, em->work, &em->acc[1]);
	CHECK_FOR_INTERRUPTS();
}

/* Read the source: every row into blocks, a sample into rs. */
static void
read_source(const char *source, EvalModels *em, ae_rowstore *rs,
			MemoryContext cxt)
{
	int			d = em->model.arch.n_input;
	float	   *block = MemoryContextAllocHuge(cxt, sizeof(float) * BLOCK_ROWS * d);
	int			cnt = 0;
	AeSourceColumn column = {InvalidOid};
	Portal		portal = ae_source_cursor(source,
										  "Pass a SELECT whose first column is the rows to measure.");
	MemoryContext tmp = AllocSetContextCreate(cxt, "autoencoder evaluate rows",
											  ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		TupleDesc	desc;
		MemoryContext old;

		SPI_cursor_fetch(portal, true, BLOCK_ROWS);
		if (SPI_processed == 0)
			break;
		desc = SPI_tuptable->tupdesc;
		ae_source_column(&column, desc, 1, AE_SOURCE_COLUMN_MESSAGE);
		old = MemoryContextSwitchTo(tmp);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			Datum		v = SPI_getbinval(SPI_tuptable->vals[i], desc, 1, &isnull);
			float	   *row = block + (size_t) cnt * d;

			if (isnull)
				continue;
			ae_array_to_floats(ae_source_array(&column, v), row, d, "input");
			memcpy(ae_rowstore_next(rs), row, sizeof(float) * d);
			ae_rowstore_commit(rs);
			if (++cnt == BLOCK_ROWS)
			{
				eval_block(em, block, cnt);
				cnt = 0;
			}
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(tmp);
		SPI_freetuptable(SPI_tuptable);
	}
	if (cnt > 0)
		eval_block(em, block, cnt);
	SPI_cursor_close(portal);
	ae_rowstore_finish(rs);
}

/*
 * Recall@10 (cosine, L2) of model m's codes on the sample, against the
 * inputs' neighbours in_top (cosine then L2, nq x RECALL_K each).
 */
static void
recall(const ae_model *m, const ae_rowstore *rs, const float *base,
	   const size_t *queries, size_t nq, const size_t *in_top, MemoryContext cxt,
	   double *cos, double *l2)
{
	int			d = m->arch.n_input,
				c = m->arch.latent;
	float	   *codes = MemoryContextAllocHuge(cxt, sizeof(float) * rs->n * c);
	float	   *work = MemoryContextAllocHuge(cxt, sizeof(float) *
											  ae_infer_floats(m, BLOCK_ROWS));
	size_t	   *top = MemoryContextAllocHuge(cxt, sizeof(size_t) * 2 * nq * RECALL_K);
	ae_allocator alloc;
	ae_train_callbacks cb;

	for (size_t r = 0; r < rs->n; r += BLOCK_ROWS)
	{
		int			cnt = (int) Min((size_t) BLOCK_ROWS, rs->n - r);

		ae_encode(m, base + r * d, cnt, codes + r * c, work);
		CHECK_FOR_INTERRUPTS();
	}
	ae_pg_allocator(&alloc, cxt);
	ae_pg_interrupt_callbacks(&cb);
	if (ae_eval_neighbours(codes, c, rs->n, queries, nq, RECALL_K, &alloc, &cb,
						   top, top + nq * RECALL_K) != AE_OK)
		elog(ERROR, "could not measure recall");
	*cos = ae_eval_overlap(in_top, top, nq, RECALL_K);
	*l2 = ae_eval_overlap(in_top + nq * RECALL_K, top + nq * RECALL_K, nq, RECALL_K);
	CHECK_FOR_INTERRUPTS();
}

/* A double or NULL (NaN) into a result column. */
static void
put_double(Datum *values, bool *nulls, int i, double v)
{
	values[i] = Float8GetDatum(v);
	nulls[i] = isnan(v);
}

PG_FUNCTION_INFO_V1(ae_evaluate);

/* evaluate(model_name, source [, version]) */
Datum
ae_evaluate(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name,
			   *source;
	int32		version = PG_NARGS() > 2 && !PG_ARGISNULL(2) ? PG_GETARG_INT32(2) : 0;
	MemoryContext cxt;
	EvalModels	em;
	ae_rowstore rs;
	ae_allocator alloc;
	float	   *base;
	size_t	   *queries;
	size_t		nq;
	double		r[4];
	Datum		values[10];
	bool		nulls[10] = {false};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model_name and source must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	source = text_to_cstring(PG_GETARG_TEXT_PP(1));
	InitMaterializedSRF(fcinfo, 0);
	ae_check_model_name(name);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "autoencoder evaluate",
								ALLOCSET_DEFAULT_SIZES);
	ae_blas_check();
	memset(&em, 0, sizeof(em));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	load_models(name, version, &em, cxt);
	em.work = MemoryContextAllocHuge(cxt, sizeof(float) *
									 ae_eval_floats(&em.model, BLOCK_ROWS));
	ae_pg_allocator(&alloc, cxt);
	if (ae_rowstore_init(&rs, em.model.arch.n_input, BASE_ROWS, EVAL_SEED, &alloc) != AE_OK)
		elog(ERROR, "could not set up the sample");
	read_source(source, &em, &rs, cxt);
	SPI_finish();

	/* the sample contiguous, and its lowest-key rows as the queries */
	base = MemoryContextAllocHuge(cxt, sizeof(float) * Max(rs.n, 1) * rs.d);
	for (size_t i = 0; i < rs.n; i++)
		memcpy(base + i * rs.d, rs.rows[i], sizeof(float) * rs.d);
	nq = Min(rs.n, (size_t) QUERY_ROWS);
	queries = MemoryContextAllocHuge(cxt, sizeof(size_t) * Max(nq, 1));
	{
		ae_keyed_row *kr = MemoryContextAllocHuge(cxt, sizeof(ae_keyed_row) * Max(rs.n, 1));

		for (size_t i = 0; i < rs.n; i++)
		{
			kr[i].key = rs.keys[i];
			kr[i].row = base + i * rs.d;
			kr[i].d = rs.d;
		}
		ae_keyed_sort(kr, rs.n);
		for (size_t i = 0; i < nq; i++)
			queries[i] = (size_t) (kr[i].row - base) / rs.d;
	}
	r[0] = r[1] = r[2] = r[3] = NAN;
	if (rs.n > RECALL_K)
	{
		/* the inputs' neighbours once, for both models */
		size_t	   *in_top = MemoryContextAllocHuge(cxt, sizeof(size_t) * 2 * nq * RECALL_K);
		ae_train_callbacks cb;

		ae_pg_interrupt_callbacks(&cb);
		if (ae_eval_neighbours(base, rs.d, rs.n, queries, nq, RECALL_K, &alloc, &cb,
							   in_top, in_top + nq * RECALL_K) != AE_OK)
			elog(ERROR, "could not measure recall");
		CHECK_FOR_INTERRUPTS();
		recall(&em.model, &rs, base, queries, nq, in_top, cxt, &r[0], &r[1]);
		if (em.baseline.block)
			recall(&em.baseline, &rs, base, queries, nq, in_top, cxt, &r[2], &r[3]);
	}

	values[0] = Int64GetDatum((int64) em.acc[0].rows);
	put_double(values, nulls, 1, em.acc[0].rows ? em.acc[0].sq / em.acc[0].rows : NAN);
	put_double(values, nulls, 2, em.acc[0].rows ? em.acc[0].abs / em.acc[0].rows : NAN);
	put_double(values, nulls, 3, em.acc[1].rows ? em.acc[1].sq / em.acc[1].rows : NAN);
	put_double(values, nulls, 4, em.acc[1].rows ? em.acc[1].abs / em.acc[1].rows : NAN);
	put_double(values, nulls, 5, r[0]);
	put_double(values, nulls, 6, r[1]);
	put_double(values, nulls, 7, r[2]);
	put_double(values, nulls, 8, r[3]);
	values[9] = Int64GetDatum((int64) em.acc[0].nonfinite);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	MemoryContextDelete(cxt);
	return (Datum) 0;
}
