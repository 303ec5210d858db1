/*-------------------------------------------------------------------------
 *
 * ae_pg_store.c
 *	  Storing a new model version: train(), the aggregate's save().
 *
 * Versions of one name are numbered under a transaction-scoped advisory
 * lock on the name, so concurrent trainings of the same name get distinct,
 * dense versions; different names do not wait for each other.  Moving the
 * deployed flag and inserting happen in the caller's transaction: a
 * rollback leaves the previous version deployed.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

/* OID of the type autoencoder.model. */
static Oid
model_type_oid(void)
{
	Oid			nsp = get_namespace_oid(AE_SCHEMA, false);
	Oid			typ = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
									  CStringGetDatum("model"),
									  ObjectIdGetDatum(nsp));

	if (!OidIsValid(typ))
		elog(ERROR, "type autoencoder.model does not exist");
	return typ;
}

/*
 * Insert the next version of name holding model (a datum of type
 * autoencoder.model); deploy it if asked or if it is the name's first
 * version.  Returns the new row's id and sets *version.  The caller must be
 * connected to SPI.
 */
int64
ae_store_model(const char *name, Datum model, int n_input, int latent,
			   const char *config_json, const char *metrics_json, bool deploy,
			   int32 *version)
{
	Oid			types[7] = {TEXTOID, INT4OID, INT4OID, INT4OID, JSONBOID,
	JSONBOID, InvalidOid};
	Datum		vals[7];
	Oid			name_type[1] = {TEXTOID};
	Datum		name_val[1];
	bool		isnull;
	int			ret;

	types[6] = model_type_oid();
	name_val[0] = CStringGetTextDatum(name);
	ret = SPI_execute_with_args("SELECT pg_catalog.pg_advisory_xact_lock("
								"pg_catalog.hashtext('autoencoder.models:' || $1))",
								1, name_type, name_val, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not lock model name: %d", ret);
	ret = SPI_execute_with_args("SELECT coalesce(max(version), 0) + 1 FROM "
								AE_MODELS_QUAL " WHERE name = $1",
								1, name_type, name_val, NULL, false, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read model versions: %d", ret);
	*version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 1, &isnull));
	if (*version == 1)
		deploy = true;
	if (deploy)
	{
		ret = SPI_execute_with_args("UPDATE " AE_MODELS_QUAL
									" SET deployed = false"
									" WHERE name = $1 AND deployed",
									1, name_type, name_val, NULL, false, 0);
		if (ret != SPI_OK_UPDATE)
			elog(ERROR, "could not update deployed model: %d", ret);
	}

	vals[0] = name_val[0];
	vals[1] = Int32GetDatum(*version);
	vals[2] = Int32GetDatum(n_input);
	vals[3] = Int32GetDatum(latent);
	vals[4] = DirectFunctionCall1(jsonb_in, CStringGetDatum(config_json));
	vals[5] = DirectFunctionCall1(jsonb_in, CStringGetDatum(metrics_json));
	vals[6] = model;
	ret = SPI_execute_with_args(deploy ?
								"INSERT INTO " AE_MODELS_QUAL
								" (name, version, input_dim, latent_dim, config,"
								" metrics, deployed, model)"
								" VALUES ($1, $2, $3, $4, $5, $6, true, $7)"
								" RETURNING id" :
								"INSERT INTO " AE_MODELS_QUAL
								" (name, version, input_dim, latent_dim, config,"
								" metrics, deployed, model)"
								" VALUES ($1, $2, $3, $4, $5, $6, false, $7)"
								" RETURNING id",
								7, types, vals, NULL, false, 1);
	if (ret != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "could not insert model: %d", ret);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 1, &isnull));
}
