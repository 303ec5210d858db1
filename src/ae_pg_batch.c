/*-------------------------------------------------------------------------
 *
 * ae_pg_batch.c
 *	  encode_query(): encode a whole query's rows in blocks through sgemm.
 *
 * The per-row encode() pays one matrix-vector product per row; a column
 * encoded in blocks of BATCH_ROWS rows turns that into matrix-matrix
 * products (cblas_sgemm), which run near the machine's peak.  The source
 * query returns (id, x); the function returns (id, code) in the same order,
 * materialized into a tuplestore in the caller's work_mem.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#define BATCH_ROWS		512		/* rows per sgemm block (and per fetch) */

/* Encode one block and append its rows to the tuplestore. */
static void
flush_block(ReturnSetInfo *rsinfo, const ae_model *m, float *block,
			int64 *ids, int rows, float *codes, float *work)
{
	int			k = m->arch.latent;

	ae_encode(m, block, rows, codes, work);
	for (int r = 0; r < rows; r++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = Int64GetDatum(ids[r]);
		values[1] = PointerGetDatum(ae_floats_to_array(codes + (size_t) r * k, k,
													   FLOAT4OID));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		pfree(DatumGetPointer(values[1]));
	}
}

PG_FUNCTION_INFO_V1(ae_encode_query);

/* encode_query(model_name, source) RETURNS TABLE (id bigint, code real[]) */
Datum
ae_encode_query(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *source = text_to_cstring(PG_GETARG_TEXT_PP(1));
	AeCachedModel *entry;
	MemoryContext cxt,
				tmp,
				old;
	ae_model	model;
	ae_allocator alloc;
	float	   *block,
			   *codes,
			   *work;
	int64	   *ids;
	int			d,
				filled = 0;
	Portal		portal;

	InitMaterializedSRF(fcinfo, 0);

	/* a private copy: the cache entry may be replaced while we run SPI */
	entry = ae_cache_get(name);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "autoencoder encode_query",
								ALLOCSET_DEFAULT_SIZES);
	ae_pg_allocator(&alloc, cxt);
	if (ae_model_copy(&model, &entry->s.model, &alloc) != AE_OK)
		elog(ERROR, "could not copy the model");
	d = model.arch.n_input;
	block = MemoryContextAllocHuge(cxt, sizeof(float) * BATCH_ROWS * d);
	codes = MemoryContextAllocHuge(cxt, sizeof(float) * BATCH_ROWS * model.arch.latent);
	work = MemoryContextAllocHuge(cxt, sizeof(float) * ae_infer_floats(&model, BATCH_ROWS));
	ids = MemoryContextAlloc(cxt, sizeof(int64) * BATCH_ROWS);
	tmp = AllocSetContextCreate(cxt, "autoencoder encode_query rows",
								ALLOCSET_DEFAULT_SIZES);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	portal = ae_source_cursor(source, true,
							  "Pass a SELECT of an id and a real[] or double precision[] column.");
	for (;;)
	{
		TupleDesc	desc;

		SPI_cursor_fetch(portal, true, BATCH_ROWS);
		if (SPI_processed == 0)
			break;
		desc = SPI_tuptable->tupdesc;
		if (desc->natts < 2 || !ae_is_float_array_type(SPI_gettypeid(desc, 2)))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("source must return an id and a real[] or double precision[] column")));
		old = MemoryContextSwitchTo(tmp);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		idnull,
						xnull;
			Datum		idd = SPI_getbinval(SPI_tuptable->vals[i], desc, 1, &idnull);
			Datum		xd = SPI_getbinval(SPI_tuptable->vals[i], desc, 2, &xnull);
			Oid			idtype = SPI_gettypeid(desc, 1);

			if (idnull || xnull)
				continue;		/* like the STRICT per-row functions */
			if (idtype == INT8OID)
				ids[filled] = DatumGetInt64(idd);
			else if (idtype == INT4OID)
				ids[filled] = DatumGetInt32(idd);
			else if (idtype == INT2OID)
				ids[filled] = DatumGetInt16(idd);
			else
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("the id column of the source must be smallint, integer or bigint")));
			ae_array_to_floats(DatumGetArrayTypeP(xd), block + (size_t) filled * d,
							   d, "input");
			if (++filled == BATCH_ROWS)
			{
				MemoryContextSwitchTo(old);
				flush_block(rsinfo, &model, block, ids, filled, codes, work);
				filled = 0;
				MemoryContextReset(tmp);
				old = MemoryContextSwitchTo(tmp);
				CHECK_FOR_INTERRUPTS();
			}
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(tmp);
		SPI_freetuptable(SPI_tuptable);
	}
	if (filled > 0)
		flush_block(rsinfo, &model, block, ids, filled, codes, work);
	SPI_cursor_close(portal);
	SPI_finish();
	MemoryContextDelete(cxt);
	return (Datum) 0;
}
