/*-------------------------------------------------------------------------
 *
 * ae_pg_model.c
 *	  The type autoencoder.model: I/O, describe() and save().
 *
 * A value is a varlena holding the model format of ae_format.c unchanged.
 * Its text form is the bytes in lower-case hex, its binary form the bytes;
 * both are validated in full on input, so a column of this type, pg_dump
 * and COPY lose nothing and accept nothing corrupt.
 *
 * Model values as arguments are parsed once per backend: ae_pg_values.c.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"
#include "ae_meta.h"

#include <math.h>

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

/* Validate model bytes (parse and free) or raise an error. */
static void
validate_bytes(const unsigned char *buf, size_t len, int errcode_on_error)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "autoencoder model check",
											  ALLOCSET_DEFAULT_SIZES);
	ae_model	m;

	ae_model_from_bytes(buf, len, &m, cxt, errcode_on_error);
	MemoryContextDelete(cxt);
}

PG_FUNCTION_INFO_V1(ae_model_in);

/* Text input: hex digits of the model bytes, validated. */
Datum
ae_model_in(PG_FUNCTION_ARGS)
{
	struct varlena *v = ae_bytes_from_hex(PG_GETARG_CSTRING(0),
										  "autoencoder.model");

	validate_bytes((unsigned char *) VARDATA(v), VARSIZE(v) - VARHDRSZ,
				   ERRCODE_INVALID_BINARY_REPRESENTATION);
	PG_RETURN_POINTER(v);
}

PG_FUNCTION_INFO_V1(ae_model_out);

/* Text output: hex digits of the model bytes. */
Datum
ae_model_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(ae_bytes_to_hex(PG_GETARG_DATUM(0)));
}

PG_FUNCTION_INFO_V1(ae_model_recv);

/* Binary input: the model bytes, validated. */
Datum
ae_model_recv(PG_FUNCTION_ARGS)
{
	struct varlena *v = ae_bytes_recv((StringInfo) PG_GETARG_POINTER(0));

	validate_bytes((unsigned char *) VARDATA(v), VARSIZE(v) - VARHDRSZ,
				   ERRCODE_INVALID_BINARY_REPRESENTATION);
	PG_RETURN_POINTER(v);
}

PG_FUNCTION_INFO_V1(ae_model_send);

/* Binary output: the model bytes. */
Datum
ae_model_send(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(ae_bytes_send(PG_GETARG_DATUM(0)));
}

/* Serialize m into a new varlena in the current memory context. */
struct varlena *
ae_model_varlena(const ae_model *m)
{
	size_t		size = ae_model_serialized_size(m);
	struct varlena *out = palloc_extended(VARHDRSZ + size, MCXT_ALLOC_HUGE);

	SET_VARSIZE(out, VARHDRSZ + size);
	ae_model_serialize(m, (unsigned char *) VARDATA(out));
	return out;
}

PG_FUNCTION_INFO_V1(ae_describe);

/* describe(m): computed facts, then the model's metadata, as jsonb. */
Datum
ae_describe(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(0));
	Size		len = VARSIZE_ANY_EXHDR(v);
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "autoencoder describe",
											  ALLOCSET_DEFAULT_SIZES);
	ae_allocator alloc;
	ae_model	m;
	char	   *text;
	Datum		result;

	ae_model_from_bytes((unsigned char *) VARDATA_ANY(v), len, &m, cxt,
						ERRCODE_DATA_CORRUPTED);
	ae_pg_allocator(&alloc, cxt);
	text = ae_model_describe(&m, len, &alloc);
	result = DirectFunctionCall1(jsonb_in, CStringGetDatum(text));
	MemoryContextDelete(cxt);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(ae_save);

/* save(model_name, m, deploy): store m as the next version of model_name. */
Datum
ae_save(PG_FUNCTION_ARGS)
{
	char	   *name;
	struct varlena *v;
	bool		deploy = PG_ARGISNULL(2) ? true : PG_GETARG_BOOL(2);
	MemoryContext cxt;
	ae_allocator alloc;
	ae_model	m;
	AeStoreRequest sr;
	char	   *config,
			   *metrics;
	int32		version;
	int64		id;
	ae_status	st;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model_name and the model must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ae_check_model_name(name);
	v = PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
	cxt = AllocSetContextCreate(CurrentMemoryContext, "autoencoder save",
								ALLOCSET_DEFAULT_SIZES);
	ae_pg_allocator(&alloc, cxt);
	ae_model_from_bytes((unsigned char *) VARDATA(v), VARSIZE(v) - VARHDRSZ,
						&m, cxt, ERRCODE_DATA_CORRUPTED);
	/* configuration and metrics: what the model's metadata says, checked */
	st = ae_meta_for_save(&m, &alloc, &config, &metrics, &sr.anomaly_threshold);
	if (st == AE_ENOMEM)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	if (st != AE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid autoencoder model"),
				 errdetail("The model's metadata is not a JSON object.")));
	sr.name = name;
	sr.model = PointerGetDatum(v);
	sr.baseline = NULL;
	sr.n_input = m.arch.n_input;
	sr.latent = m.arch.latent;
	sr.config = config;
	sr.metrics = metrics;
	sr.deploy = deploy;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	version = ae_spi_next_version(name);
	id = ae_store_model(&sr, version);
	SPI_finish();
	MemoryContextDelete(cxt);
	PG_RETURN_INT64(id);
}

PG_FUNCTION_INFO_V1(ae_get_model);

/*
 * get_model(model_name, version): the deployed version (version NULL) or the
 * version given, as a value.  Reads the same relation as name-based serving,
 * so it works on every Citus node where names are served.
 */
Datum
ae_get_model(PG_FUNCTION_ARGS)
{
	char	   *name;
	int32		version = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1);
	AeModelRow	row;
	struct varlena *result = NULL;
	MemoryContext caller = CurrentMemoryContext;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ae_check_model_name(name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (!PG_ARGISNULL(1) && version < 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" has no version %d", name, version)));
	if (!ae_spi_model_row(name, version, &row))
	{
		if (version == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model \"%s\" does not exist", name)));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" has no version %d", name, version)));
	}
	{
		MemoryContext old = MemoryContextSwitchTo(caller);
		struct varlena *v = PG_DETOAST_DATUM_COPY(row.model);

		result = v;
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	PG_RETURN_POINTER(result);
}
