/*-------------------------------------------------------------------------
 *
 * ae_pg_store.c
 *	  Storing a new model version.
 *
 * The caller has taken the version number with ae_spi_next_version, which
 * also locks the name for the rest of the transaction, so it decides and
 * stores against a stable deployed version.  The row is inserted
 * undeployed; deploying is autoencoder.deploy()'s job, the one place that
 * moves the deployed flag and logs the deployment.  Everything happens in
 * the caller's transaction: a rollback leaves the previous version
 * deployed.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
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
 * Insert version `version` of r->name and deploy it if asked or if the name
 * has no deployed version.  Returns the new row's id.
 */
int64
ae_store_model(const AeStoreRequest *r, int32 version)
{
	Oid			types[9] = {TEXTOID, INT4OID, INT4OID, INT4OID, JSONBOID,
	JSONBOID, InvalidOid, FLOAT8OID, InvalidOid};
	Datum		vals[9];
	char		nulls[9] = "         ";
	bool		isnull,
				deploy = r->deploy;
	AeModelRow	current;
	int64		id;
	int			ret;

	if (!deploy)
	{
		/* a name's first version is deployed (fresh snapshot: see above) */
		CommandCounterIncrement();
		PushActiveSnapshot(GetTransactionSnapshot());
		deploy = !ae_spi_model_row(r->name, 0, &current);
		PopActiveSnapshot();
	}
	types[6] = types[8] = model_type_oid();
	vals[0] = CStringGetTextDatum(r->name);
	vals[1] = Int32GetDatum(version);
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
	ret = SPI_execute_with_args("INSERT INTO " AE_MODELS_QUAL
								" (name, version, input_dim, latent_dim, config,"
								" metrics, deployed, model, anomaly_threshold,"
								" baseline)"
								" VALUES ($1, $2, $3, $4, $5, $6, false, $7, $8, $9)"
								" RETURNING id",
								9, types, vals, nulls, false, 1);
	if (ret != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "could not insert model: %s", SPI_result_code_string(ret));
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
									 SPI_tuptable->tupdesc, 1, &isnull));
	if (deploy)
		ae_spi_deploy(r->name, version);
	return id;
}
