/*-------------------------------------------------------------------------
 *
 * ae_pg_store.c
 *	  Storing a new model version and reading the deployed one.
 *
 * Versions of one name are numbered under a transaction-scoped advisory
 * lock on the name, so concurrent trainings of the same name get distinct,
 * dense versions and see a stable deployed version while they decide
 * whether to replace it; different names do not wait for each other.
 * Moving the deployed flag, logging the deployment and inserting happen in
 * the caller's transaction: a rollback leaves the previous version
 * deployed.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include <math.h>

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

/* Take the transaction-scoped advisory lock of a model name (SPI connected). */
void
ae_lock_model_name(const char *name)
{
	Oid			t[1] = {TEXTOID};
	Datum		v[1];
	int			ret;

	v[0] = CStringGetTextDatum(name);
	ret = SPI_execute_with_args("SELECT pg_catalog.pg_advisory_xact_lock("
								"pg_catalog.hashtext('autoencoder.models:' || $1))",
								1, t, v, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not lock model name: %d", ret);
}

/*
 * Parse the deployed version of name into m (allocated in cxt) and set
 * *version; false if the name has no version.  Reads the table, not the
 * cache, so it sees what the current snapshot sees.  SPI connected.
 */
bool
ae_fetch_deployed(const char *name, ae_model *m, int32 *version,
				  MemoryContext cxt)
{
	Oid			t[1] = {TEXTOID};
	Datum		v[1];
	bool		isnull;
	struct varlena *bytes;
	int			ret;

	v[0] = CStringGetTextDatum(name);
	ret = SPI_execute_with_args("SELECT version, model FROM " AE_MODELS_QUAL
								" WHERE name = $1 AND deployed",
								1, t, v, NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read the deployed model: %d", ret);
	if (SPI_processed == 0)
		return false;
	*version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 1, &isnull));
	bytes = PG_DETOAST_DATUM_PACKED(SPI_getbinval(SPI_tuptable->vals[0],
												  SPI_tuptable->tupdesc, 2,
												  &isnull));
	ae_model_from_bytes((unsigned char *) VARDATA_ANY(bytes),
						VARSIZE_ANY_EXHDR(bytes), m, cxt, ERRCODE_DATA_CORRUPTED);
	return true;
}

/*
 * Insert the next version of r->name; deploy it if asked or if it is the
 * name's first version.  Returns the new row's id and sets *version.  SPI
 * connected.
 */
int64
ae_store_model(const AeStoreRequest *r, int32 *version)
{
	Oid			types[9] = {TEXTOID, INT4OID, INT4OID, INT4OID, JSONBOID,
	JSONBOID, InvalidOid, FLOAT8OID, InvalidOid};
	Datum		vals[9];
	char		nulls[9] = "         ";
	Oid			name_type[1] = {TEXTOID};
	Datum		name_val[1];
	bool		isnull,
				deploy = r->deploy;
	int			ret;

	types[6] = types[8] = model_type_oid();
	name_val[0] = CStringGetTextDatum(r->name);
	ae_lock_model_name(r->name);
	/* never reuse a number the deployment log still mentions */
	ret = SPI_execute_with_args("SELECT greatest(coalesce(max(version), 0),"
								" (SELECT coalesce(max(d.version), 0) FROM "
								AE_SCHEMA ".deployments d WHERE d.name = $1)) + 1"
								" FROM " AE_MODELS_QUAL " WHERE name = $1",
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
	vals[2] = Int32GetDatum(r->n_input);
	vals[3] = Int32GetDatum(r->latent);
	vals[4] = DirectFunctionCall1(jsonb_in, CStringGetDatum(r->config));
	vals[5] = DirectFunctionCall1(jsonb_in, CStringGetDatum(r->metrics));
	vals[6] = r->model;
	vals[7] = Float8GetDatum(r->anomaly_threshold);
	if (isnan(r->anomaly_threshold))
		nulls[7] = 'n';
	vals[8] = PointerGetDatum(r->baseline);
	if (r->baseline == NULL)
		nulls[8] = 'n';
	ret = SPI_execute_with_args(deploy ?
								"INSERT INTO " AE_MODELS_QUAL
								" (name, version, input_dim, latent_dim, config,"
								" metrics, deployed, deployed_at, model,"
								" anomaly_threshold, baseline)"
								" VALUES ($1, $2, $3, $4, $5, $6, true, now(), $7, $8, $9)"
								" RETURNING id" :
								"INSERT INTO " AE_MODELS_QUAL
								" (name, version, input_dim, latent_dim, config,"
								" metrics, deployed, model, anomaly_threshold,"
								" baseline)"
								" VALUES ($1, $2, $3, $4, $5, $6, false, $7, $8, $9)"
								" RETURNING id",
								9, types, vals, nulls, false, 1);
	if (ret != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "could not insert model: %d", ret);
	if (deploy)
	{
		Oid			lt[2] = {TEXTOID, INT4OID};
		Datum		lv[2];
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
													 SPI_tuptable->tupdesc, 1,
													 &isnull));

		lv[0] = name_val[0];
		lv[1] = Int32GetDatum(*version);
		ret = SPI_execute_with_args("INSERT INTO " AE_SCHEMA ".deployments"
									" (name, version) VALUES ($1, $2)",
									2, lt, lv, NULL, false, 0);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "could not log the deployment: %d", ret);
		return id;
	}
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 1, &isnull));
}
