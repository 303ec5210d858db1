/*-------------------------------------------------------------------------
 *
 * ae_pg_encode_table.c
 *	  The C half of materialising codes: deployed_version(), and the check
 *	  that lets autoencoder.encode_table() commit.
 *
 * encode_table() itself is a PL/pgSQL procedure (autoencoder--0.1.0.sql,
 * section "encoding tables"): it walks a table in key order, one batch per
 * transaction, and encodes each batch with encode_query(name, batch,
 * version) (ae_pg_batch.c).  What it cannot do in PL/pgSQL is ask whether
 * it runs inside a transaction block, where its first COMMIT would fail
 * with a message that does not say why; that question is answered here.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(ae_deployed_version);

/*
 * deployed_version(model_name) RETURNS integer: the version of model_name
 * that is deployed, read from the relation name-based serving reads
 * (ae_models_relation) under the statement's snapshot, so it is the same
 * for every row of a statement.  undefined_object if there is none.
 */
Datum
ae_deployed_version(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	AeModelRow	row;
	bool		found;

	ae_check_model_name(name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	found = ae_spi_model_row(name, 0, &row);
	SPI_finish();
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 errhint("Train one with autoencoder.train().")));
	PG_RETURN_INT32(row.version);
}

PG_FUNCTION_INFO_V1(ae_check_not_in_transaction_block);

/*
 * check_not_in_transaction_block(command): raise active_sql_transaction if
 * the caller runs inside a transaction block (BEGIN, psql's AUTOCOMMIT off,
 * several statements sent as one query string) or a subtransaction (a
 * PL/pgSQL block with an EXCEPTION clause), where a procedure cannot
 * COMMIT.  A CALL from inside a function is not seen here; the procedure's
 * first COMMIT refuses it.
 */
Datum
ae_check_not_in_transaction_block(PG_FUNCTION_ARGS)
{
	char	   *command = text_to_cstring(PG_GETARG_TEXT_PP(0));

	/* first: inside a subtransaction, IsTransactionBlock() is true too */
	if (IsSubTransaction())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s cannot run inside a subtransaction", command),
				 errdetail("It commits after every batch."),
				 errhint("Call it outside PL/pgSQL blocks that have an EXCEPTION clause.")));
	if (IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s cannot run inside a transaction block", command),
				 errdetail("It commits after every batch."),
				 errhint("Run the CALL on its own, outside BEGIN ... COMMIT (in psql, with AUTOCOMMIT on).")));
	PG_RETURN_VOID();
}
