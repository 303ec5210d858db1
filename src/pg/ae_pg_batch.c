/*-------------------------------------------------------------------------
 *
 * ae_pg_batch.c
 *	  encode_query(): encode a whole query's rows in blocks through sgemm,
 *	  reading the next block while the previous one is being encoded.
 *
 * The per-row encode() pays one matrix-vector product per row, which is
 * bound by streaming the weights from cache for every row.  A column encoded
 * in blocks of BATCH_ROWS rows turns that into matrix products
 * (cblas_sgemm).  Two stages then remain, of similar cost: reading the rows
 * (fetching, detoasting, often decompressing, checking and converting) and
 * the matrix products.  They overlap:
 *
 *   backend thread:  read block 0 | read block 1 | read block 2 | ...
 *   encoder thread:                | encode 0     | encode 1     | ...
 *
 * The encoder thread only runs the pure-C core on buffers allocated before
 * it starts: it calls nothing of PostgreSQL, holds no lock of it, and has
 * every signal blocked, so interrupts and errors stay with the backend.
 * Any exit from the backend's loop, an ERROR included, stops and joins the
 * thread first (PG_FINALLY).  With a single block nothing is started.
 *
 * Every row is encoded by the same product shape: for small products
 * OpenBLAS takes other kernels (sgemv for one row, "small matrix" kernels
 * for a few rows), which round differently from the blocked sgemm, so the
 * last, partial block is padded with zero rows to a full block (at most one
 * block of extra arithmetic per call).  Where the sgemm kernel rounds a row
 * the same at any place in its block (OpenBLAS's SkylakeX and Cooperlake
 * kernels), a query cut into pieces (encode_table()'s batches, a resumed
 * run) then gives exactly the codes of one run over all its rows; the
 * Haswell and Zen kernels work on tiles of 12 rows and round a row by its
 * place in the tile, so there the pieces agree with one run to float
 * rounding only.
 *
 * encode_query(name, source) encodes with the deployed version (the
 * per-backend cache); encode_query(name, source, version) with that
 * version, read from autoencoder.models and parsed for the call.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include <pthread.h>
#include <signal.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#define BATCH_ROWS		1024	/* rows per sgemm block (and per fetch) */

/* One block of rows: their ids, inputs and codes. */
typedef struct Block
{
	int			rows;
	int64	   *ids;			/* (BATCH_ROWS) */
	float	   *x;				/* (BATCH_ROWS, n_input) */
	float	   *codes;			/* (BATCH_ROWS, latent) */
} Block;

/* The encoder thread's mailbox. */
typedef struct Encoder
{
	pthread_t	thread;
	bool		started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const ae_model *model;
	float	   *work;			/* (ae_infer_floats(model, BATCH_ROWS)) */
	Block	   *job;			/* block to encode, or NULL */
	Block	   *finished;		/* last block encoded, or NULL */
	bool		quit;
} Encoder;

/* Body of the encoder thread: encode blocks until told to quit. */
static void *
encoder_main(void *arg)
{
	Encoder    *e = arg;

	pthread_mutex_lock(&e->mu);
	for (;;)
	{
		Block	   *b;

		while (e->job == NULL && !e->quit)
			pthread_cond_wait(&e->cv, &e->mu);
		if (e->quit)
			break;
		b = e->job;
		pthread_mutex_unlock(&e->mu);
		/* a block is full, or the last one padded to full: see the top */
		ae_encode(e->model, b->x, BATCH_ROWS, b->codes, e->work);
		pthread_mutex_lock(&e->mu);
		e->job = NULL;
		e->finished = b;
		pthread_cond_broadcast(&e->cv);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* Start the encoder thread with every signal blocked in it. */
static void
encoder_start(Encoder *e)
{
	sigset_t	all,
				old;
	int			rc;

	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&e->thread, NULL, encoder_main, e);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
	{
		pthread_cond_destroy(&e->cv);
		pthread_mutex_destroy(&e->mu);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start the encoding thread: %s", strerror(rc))));
	}
	e->started = true;
}

/* Stop and join the encoder thread, if it runs; safe to call twice. */
static void
encoder_stop(Encoder *e)
{
	if (!e->started)
		return;
	pthread_mutex_lock(&e->mu);
	e->quit = true;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
	pthread_join(e->thread, NULL);
	pthread_cond_destroy(&e->cv);
	pthread_mutex_destroy(&e->mu);
	e->started = false;
}

/* Hand a block to the encoder thread. */
static void
encoder_submit(Encoder *e, Block *b)
{
	pthread_mutex_lock(&e->mu);
	e->finished = NULL;
	e->job = b;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

/* Wait until the encoder thread has finished block b. */
static void
encoder_wait(Encoder *e, Block *b)
{
	pthread_mutex_lock(&e->mu);
	while (e->finished != b)
		pthread_cond_wait(&e->cv, &e->mu);
	pthread_mutex_unlock(&e->mu);
}

/* Append an encoded block's rows to the tuplestore (backend thread). */
static void
emit_block(ReturnSetInfo *rsinfo, const Block *b, int latent)
{
	for (int r = 0; r < b->rows; r++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = Int64GetDatum(b->ids[r]);
		values[1] = PointerGetDatum(ae_floats_to_array(b->codes + (size_t) r * latent,
													   latent, FLOAT4OID));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		pfree(DatumGetPointer(values[1]));
	}
}

/* The id column's value as int64. */
static int64
id_value(Datum d, Oid type)
{
	if (type == INT8OID)
		return DatumGetInt64(d);
	if (type == INT4OID)
		return DatumGetInt32(d);
	if (type == INT2OID)
		return DatumGetInt16(d);
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("the id column of the source must be smallint, integer or bigint")));
	return 0;					/* keep the compiler quiet */
}

/* What the error context callback reports: the source row being read. */
typedef struct RowContext
{
	bool		active;			/* reading a row's array */
	int64		id;
} RowContext;

/* Error context: name the source row whose array failed to convert. */
static void
row_error_context(void *arg)
{
	RowContext *rc = arg;

	if (rc->active)
		errcontext("source row with id " INT64_FORMAT, rc->id);
}

/* Allocate a block's buffers in cxt. */
static void
block_init(Block *b, const ae_model *m, MemoryContext cxt)
{
	b->rows = 0;
	b->ids = MemoryContextAlloc(cxt, sizeof(int64) * BATCH_ROWS);
	b->x = MemoryContextAllocHuge(cxt, sizeof(float) * BATCH_ROWS * m->arch.n_input);
	b->codes = MemoryContextAllocHuge(cxt, sizeof(float) * BATCH_ROWS * m->arch.latent);
}

/*
 * Read the source's rows into blocks; each full block goes to the encoder
 * thread while the next is read, and is emitted once encoded.
 */
static void
run_pipeline(ReturnSetInfo *rsinfo, Portal portal, const ae_model *m,
			 Block *blocks, Encoder *enc, MemoryContext tmp)
{
	int			d = m->arch.n_input;
	Block	   *cur = &blocks[0];
	Block	   *inflight = NULL;
	RowContext	rc = {false, 0};
	ErrorContextCallback errcb;
	AeSourceColumn column = {InvalidOid};

	errcb.callback = row_error_context;
	errcb.arg = &rc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	for (;;)
	{
		TupleDesc	desc;
		Oid			idtype;
		MemoryContext old;

		SPI_cursor_fetch(portal, true, BATCH_ROWS);
		if (SPI_processed == 0)
			break;
		desc = SPI_tuptable->tupdesc;
		ae_source_column(&column, desc, 2,
						 "source must return an id and an array column: real[], double precision[], integer[], numeric[] or a type with a cast to real[]");
		idtype = SPI_gettypeid(desc, 1);
		old = MemoryContextSwitchTo(tmp);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		idnull,
						xnull;
			Datum		idd = SPI_getbinval(SPI_tuptable->vals[i], desc, 1, &idnull);
			Datum		xd = SPI_getbinval(SPI_tuptable->vals[i], desc, 2, &xnull);

			if (idnull || xnull)
				continue;		/* like the STRICT per-row functions */
			cur->ids[cur->rows] = id_value(idd, idtype);
			rc.id = cur->ids[cur->rows];
			rc.active = true;
			ae_array_to_floats(ae_source_array(&column, xd), cur->x + (size_t) cur->rows * d,
							   d, "input");
			rc.active = false;
			if (++cur->rows < BATCH_ROWS)
				continue;

			/* a full block: collect the one in flight, send this one */
			MemoryContextSwitchTo(old);
			if (inflight)
			{
				encoder_wait(enc, inflight);
				emit_block(rsinfo, inflight, m->arch.latent);
				inflight->rows = 0;
			}
			else if (!enc->started)
				encoder_start(enc);
			encoder_submit(enc, cur);
			inflight = cur;
			cur = cur == &blocks[0] ? &blocks[1] : &blocks[0];
			MemoryContextReset(tmp);
			old = MemoryContextSwitchTo(tmp);
			CHECK_FOR_INTERRUPTS();
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(tmp);
		SPI_freetuptable(SPI_tuptable);
	}
	error_context_stack = errcb.previous;
	if (cur->rows > 0)
	{
		/*
		 * The last, partial block, padded with zero rows to a full block
		 * (see the top of the file): to the thread while the block in
		 * flight is emitted, or encoded here if it is the only one.
		 */
		memset(cur->x + (size_t) cur->rows * d, 0,
			   sizeof(float) * (size_t) (BATCH_ROWS - cur->rows) * d);
		if (inflight)
		{
			encoder_wait(enc, inflight);
			encoder_submit(enc, cur);
			emit_block(rsinfo, inflight, m->arch.latent);
			inflight = cur;
		}
		else
		{
			ae_encode(m, cur->x, BATCH_ROWS, cur->codes, enc->work);
			emit_block(rsinfo, cur, m->arch.latent);
		}
	}
	if (inflight)
	{
		encoder_wait(enc, inflight);
		emit_block(rsinfo, inflight, m->arch.latent);
	}
}

/*
 * Read version `version` of model name into m, allocated in cxt (SPI
 * connected); undefined_object if the name has no such version.
 */
static void
load_version(const char *name, int32 version, ae_model *m, MemoryContext cxt)
{
	AeModelRow	row;
	struct varlena *bytes;

	ae_check_model_name(name);
	if (version < 1 || !ae_spi_model_row(name, version, &row))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" has no version %d", name, version)));
	bytes = PG_DETOAST_DATUM_PACKED(row.model);
	ae_model_from_bytes((const unsigned char *) VARDATA_ANY(bytes),
						VARSIZE_ANY_EXHDR(bytes), m, cxt, ERRCODE_DATA_CORRUPTED);
	if ((Pointer) bytes != DatumGetPointer(row.model))
		pfree(bytes);
}

PG_FUNCTION_INFO_V1(ae_encode_query);

/*
 * encode_query(model_name, source [, version]) RETURNS TABLE (id bigint,
 * code real[]).  The two-argument form is STRICT; the three-argument one
 * returns no rows for a NULL name or source, like it, and takes a NULL
 * version for the deployed one (as get_model() does).
 */
Datum
ae_encode_query(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		pinned = PG_NARGS() > 2 && !PG_ARGISNULL(2);
	char	   *name;
	char	   *source;
	MemoryContext cxt,
				tmp;
	ae_model	model;
	Block		blocks[2];
	Encoder		enc;
	Portal		portal;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		return (Datum) 0;
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	source = text_to_cstring(PG_GETARG_TEXT_PP(1));
	ae_blas_check();

	cxt = AllocSetContextCreate(CurrentMemoryContext, "autoencoder encode_query",
								ALLOCSET_DEFAULT_SIZES);
	if (!pinned)
	{
		/* a private copy: the cache entry may be replaced while we run SPI */
		AeCachedModel *entry = ae_cache_get(name, true);
		ae_allocator alloc;

		ae_pg_allocator(&alloc, cxt);
		if (ae_model_copy(&model, &entry->s.model, &alloc) != AE_OK)
			elog(ERROR, "could not copy the model");
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (pinned)
		load_version(name, PG_GETARG_INT32(2), &model, cxt);
	block_init(&blocks[0], &model, cxt);
	block_init(&blocks[1], &model, cxt);
	memset(&enc, 0, sizeof(enc));
	enc.model = &model;
	enc.work = MemoryContextAllocHuge(cxt, sizeof(float) *
									  ae_infer_floats(&model, BATCH_ROWS));
	tmp = AllocSetContextCreate(cxt, "autoencoder encode_query rows",
								ALLOCSET_DEFAULT_SIZES);

	portal = ae_source_cursor(source,
							  "Pass a SELECT of an id and an array column: real[], double precision[], integer[] or numeric[].");
	PG_TRY();
	{
		run_pipeline(rsinfo, portal, &model, blocks, &enc, tmp);
	}
	PG_FINALLY();
	{
		encoder_stop(&enc);
	}
	PG_END_TRY();
	SPI_cursor_close(portal);
	SPI_finish();
	MemoryContextDelete(cxt);
	return (Datum) 0;
}
