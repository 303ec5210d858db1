/*-------------------------------------------------------------------------
 *
 * ae_pg_spi.c
 *	  The extension's SPI statements, each in one place: a user's source
 *	  query as a read-only cursor, the relation name-based serving reads
 *	  (autoencoder.models, or its local copy on a Citus node), a version
 *	  row of it, the next version number of a name (which locks the name)
 *	  and deploying.
 *
 * Callers are SPI connected.  Versions of one name are serialised by the
 * row lock on the name's row in autoencoder.model_names that
 * autoencoder.next_version() and autoencoder.deploy() take: only roles
 * that may write that table (model owners) can take it, so a reader cannot
 * hold up a training.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/plancache.h"

/* Raise an error unless every statement of plan only reads. */
static void
check_read_only(SPIPlanPtr plan)
{
	ListCell   *lc;

	foreach(lc, SPI_plan_get_plan_sources(plan))
	{
		CachedPlanSource *ps = lfirst(lc);
		ListCell   *lq;

		foreach(lq, ps->query_list)
		{
			Query	   *q = lfirst_node(Query, lq);

			if (q->commandType != CMD_SELECT || q->hasModifyingCTE ||
				q->rowMarks != NIL)
				ereport(ERROR,
						(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
						 errmsg("source must be a read-only query"),
						 errdetail("%s",
								   q->hasModifyingCTE ?
								   "Its WITH clause modifies data." :
								   q->rowMarks != NIL ?
								   "It locks rows (FOR UPDATE or FOR SHARE)." :
								   "It is not a SELECT.")));
		}
	}
}

/*
 * Open a read-only cursor on a user's source query; hint says what the
 * query should look like.
 */
Portal
ae_source_cursor(const char *source, const char *hint)
{
	SPIPlanPtr	plan = SPI_prepare(source, 0, NULL);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	if (!SPI_is_cursor_plan(plan))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source must be a single query that returns rows"),
				 errhint("%s", hint)));
	check_read_only(plan);
	return SPI_cursor_open(NULL, plan, NULL, NULL, true);
}

/*
 * The relation name-based serving reads, qualified, into buf (NAMEDATALEN *
 * 2 + 2 bytes); returns true when it is a Citus table, which the caller
 * must read again at every statement: writes reach it through Citus's
 * distributed transactions, and the relcache invalidations its triggers
 * send name the shard placements, not the table the cache watches.
 *
 *   - without Citus, or where autoencoder.models is a plain table on the
 *     coordinator: autoencoder.models (false);
 *   - autoencoder.models a reference table (autoencoder.citus_setup()):
 *     every node with a placement reads it directly, models_<shard id>
 *     (the distributed table cannot be queried from inside a shard query,
 *     and the placement needs no distributed planning); a node without one
 *     reads the table itself (true);
 *   - a Citus worker whose models table is not a reference table: its rows
 *     need not be the coordinator's, so names are refused with an error
 *     rather than served from them.
 */
bool
ae_models_relation(char *buf)
{
	int			ret;
	bool		isnull;
	Datum		d;
	int32		group;
	bool		citus_table,
				reference;

	strcpy(buf, AE_MODELS_QUAL);
	if (!OidIsValid(get_extension_oid("citus", true)))
		return false;
	ret = SPI_execute("SELECT (SELECT groupid FROM pg_catalog.pg_dist_local_group),"
					  " p.partmethod = 'n' AND p.repmodel = 't',"
					  " (SELECT s.shardid FROM pg_catalog.pg_dist_shard s"
					  "  JOIN pg_catalog.pg_dist_placement pl USING (shardid)"
					  "  WHERE s.logicalrelid = p.logicalrelid AND pl.shardstate = 1"
					  "    AND pl.groupid = (SELECT groupid FROM pg_catalog.pg_dist_local_group)"
					  "  LIMIT 1)"
					  " FROM (SELECT '" AE_MODELS_QUAL "'::pg_catalog.regclass AS relid) r"
					  " LEFT JOIN pg_catalog.pg_dist_partition p ON p.logicalrelid = r.relid",
					  true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read Citus metadata: %s", SPI_result_code_string(ret));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	group = isnull ? 0 : DatumGetInt32(d);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	citus_table = !isnull;
	reference = !isnull && DatumGetBool(d);
	if (reference)
	{
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
		if (!isnull)
			snprintf(buf, NAMEDATALEN * 2 + 2, AE_SCHEMA "." AE_MODELS_TABLE "_" INT64_FORMAT,
					 DatumGetInt64(d));
		return true;
	}
	if (citus_table)
	{
		if (group != 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("models are not served by name on this Citus worker"),
					 errdetail("autoencoder.models is distributed, not a reference table."),
					 errhint("Serve names from a reference table: see autoencoder.citus_setup().")));
		return true;
	}
	if (group != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("models are not served by name on this Citus worker"),
				 errdetail("autoencoder.models is not a reference table, so this node's rows need not be the coordinator's."),
				 errhint("Run SELECT autoencoder.citus_setup() on the coordinator, or pass the model as a value: FROM t, autoencoder.get_model('name') m.")));
	return false;
}

/*
 * The row of version `version` of name (0: the deployed version) into row:
 * id, version, threshold and the model datum as stored (possibly a TOAST
 * pointer, valid until SPI_finish).  false if there is none.
 * row->placement tells whether it came from a Citus table (see
 * ae_models_relation), to be read again at every statement.
 */
bool
ae_spi_model_row(const char *name, int32 version, AeModelRow *row)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		args[2];
	bool		isnull;
	Datum		d;
	int			ret;
	char		rel[NAMEDATALEN * 2 + 2];
	char		sql[NAMEDATALEN * 2 + 160];

	row->placement = ae_models_relation(rel);
	snprintf(sql, sizeof(sql),
			 "SELECT id, version, model, anomaly_threshold FROM %s WHERE name = $1 AND %s",
			 rel, version == 0 ? "deployed" : "version = $2");
	args[0] = CStringGetTextDatum(name);
	args[1] = Int32GetDatum(version);
	ret = SPI_execute_with_args(sql, version == 0 ? 1 : 2, types, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read model \"%s\": %s", name, SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return false;
	row->id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										  SPI_tuptable->tupdesc, 1, &isnull));
	row->version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 2, &isnull));
	row->model = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3,
							   &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" has no stored bytes", name)));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull);
	row->threshold = isnull ? NAN : DatumGetFloat8(d);
	return true;
}

/* Run one statement with a name (and an int) that returns one int value. */
static int32
run_int(const char *sql, const char *name, int nargs, int32 arg2)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		args[2];
	bool		isnull;
	int			ret;
	Datum		d;

	args[0] = CStringGetTextDatum(name);
	args[1] = Int32GetDatum(arg2);
	ret = SPI_execute_with_args(sql, nargs, types, args, NULL, false, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "\"%s\" failed: %s", sql, SPI_result_code_string(ret));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt32(d);
}

/* The next version number of name; locks the name until the end of the
 * transaction. */
int32
ae_spi_next_version(const char *name)
{
	return run_int("SELECT " AE_SCHEMA ".next_version($1)", name, 1, 0);
}

/* Deploy version of name (autoencoder.deploy(): the one implementation). */
void
ae_spi_deploy(const char *name, int32 version)
{
	run_int("SELECT 0 FROM " AE_SCHEMA ".deploy($1, $2)", name, 2, version);
}
