/*-------------------------------------------------------------------------
 *
 * ae_pg_train.c
 *	  autoencoder.train(): read a source query, build a model with the
 *	  core, decide about deployment, store.
 *
 * Phases, all inside one memory context that is deleted at the end (an
 * ERROR or a cancel frees it with the transaction, and leaves no row):
 *   1. check the name, the caller's rights and every option before running
 *      anything;
 *   2. run the source query through a read-only cursor, FETCH_ROWS rows a
 *      fetch, copying each array into the core's row store (chunks, and a
 *      uniform sample past autoencoder.max_training_rows);
 *   3. build the model (ae_build: training or the exact solve, baseline,
 *      threshold), then take the next version number, which locks the name,
 *      and decide against what is deployed now;
 *   4. store the version (ae_pg_store.c).
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#define FETCH_ROWS		1000	/* rows per cursor fetch */

/* The source's rows as they are read. */
typedef struct SourceRows
{
	ae_rowstore rs;
	uint64		skipped;		/* NULL rows */
	ae_options *opts;			/* resolved at the first row */
	MemoryContext cxt;
} SourceRows;

/* Error context: which source row was being read. */
static void
source_row_context(void *arg)
{
	SourceRows *sr = arg;

	errcontext("row %llu of the source query",
			   (unsigned long long) (sr->rs.seen + sr->skipped + 1));
}

/*
 * The first non-NULL row fixes the dimension: the options are resolved
 * against it, the model alone is checked against the memory bound, and the
 * store is set up.
 */
static void
start_rows(SourceRows *sr, int d)
{
	ae_allocator alloc;
	ae_error	err;

	if (d > AE_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("training rows have %d dimensions, at most %d are allowed",
						d, AE_MAX_DIM)));
	if (ae_options_resolve(sr->opts, d, &err) != AE_OK)
		ae_pg_raise(&err);
	ae_pg_check_memory(sr->opts, 1);
	ae_pg_allocator(&alloc, sr->cxt);
	if (ae_rowstore_init(&sr->rs, d, (size_t) ae_max_training_rows,
						 AE_SAMPLE_SEED(sr->opts->cfg.seed), &alloc) != AE_OK)
		elog(ERROR, "could not set up the row store");
}

/* Run the source query and collect its first column. */
static void
collect_rows(SourceRows *sr, const char *source)
{
	Portal		portal;
	MemoryContext tmp,
				old;
	ErrorContextCallback errcb;
	AeSourceColumn column = {InvalidOid};

	portal = ae_source_cursor(source,
							  "Pass a SELECT whose first column is the training rows, e.g. a real[] column.");
	tmp = AllocSetContextCreate(CurrentMemoryContext, "autoencoder source rows",
								ALLOCSET_DEFAULT_SIZES);
	errcb.callback = source_row_context;
	errcb.arg = sr;
	errcb.previous = error_context_stack;

	for (;;)
	{
		TupleDesc	desc;

		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		desc = SPI_tuptable->tupdesc;
		ae_source_column(&column, desc, 1, AE_SOURCE_COLUMN_MESSAGE);
		error_context_stack = &errcb;
		old = MemoryContextSwitchTo(tmp);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i], desc, 1, &isnull);
			ArrayType  *a;

			if (isnull)
			{
				sr->skipped++;
				continue;
			}
			a = ae_source_array(&column, d);
			if (sr->rs.d == 0)
				start_rows(sr, ae_array_dims(a, "training row"));
			ae_array_to_floats(a, ae_rowstore_next(&sr->rs), sr->rs.d, "training row");
			ae_rowstore_commit(&sr->rs);
			CHECK_FOR_INTERRUPTS();
		}
		MemoryContextSwitchTo(old);
		error_context_stack = errcb.previous;
		MemoryContextReset(tmp);
		SPI_freetuptable(SPI_tuptable);
		if (sr->rs.d > 0)
			ae_pg_check_memory(sr->opts, sr->rs.n);
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(tmp);
	ae_rowstore_finish(&sr->rs);
}

/* Raise permission denied unless the user holds mode on relation rel. */
static void
require_privilege(const char *rel, AclMode mode, const char *what)
{
	Oid			nsp = get_namespace_oid(AE_SCHEMA, false);
	Oid			relid = get_relname_relid(rel, nsp);

	if (!OidIsValid(relid))
		elog(ERROR, "relation autoencoder.%s does not exist", rel);
	if (pg_class_aclcheck(relid, GetUserId(), mode) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to train a model"),
				 errdetail("Storing a version needs %s on autoencoder.%s.", what, rel),
				 errhint("Grant the model owner's privileges described in the README.")));
}

/*
 * Fail before a long training, not after it, when the caller cannot store
 * the result: each privilege storing and deploying a version needs (one at a
 * time: pg_class_aclcheck passes if any of several is held).
 */
static void
check_store_privileges(void)
{
	require_privilege(AE_MODELS_TABLE, ACL_INSERT, "INSERT");
	require_privilege(AE_MODELS_TABLE, ACL_UPDATE, "UPDATE");
	require_privilege(AE_MODELS_TABLE, ACL_SELECT, "SELECT");
	require_privilege("model_names", ACL_INSERT, "INSERT");
	require_privilege("model_names", ACL_UPDATE, "UPDATE");
	require_privilege("model_names", ACL_SELECT, "SELECT");
	require_privilege("deployments", ACL_INSERT, "INSERT");
	require_privilege("models_id_seq", ACL_USAGE, "USAGE");
	require_privilege("deployments_id_seq", ACL_USAGE, "USAGE");
}

/*
 * The deployed version of name parsed into m (in cxt); false if none.  Read
 * with a fresh snapshot after the command counter moved on, so it sees what
 * is committed now and what this transaction stored (even earlier in the
 * same statement).
 */
static bool
deployed_model(const char *name, ae_model *m, int32 *version, MemoryContext cxt)
{
	AeModelRow	row;
	struct varlena *bytes;
	bool		found;

	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	found = ae_spi_model_row(name, 0, &row);
	PopActiveSnapshot();
	if (!found)
		return false;
	bytes = PG_DETOAST_DATUM_PACKED(row.model);
	ae_model_from_bytes((unsigned char *) VARDATA_ANY(bytes),
						VARSIZE_ANY_EXHDR(bytes), m, cxt, ERRCODE_DATA_CORRUPTED);
	*version = row.version;
	return true;
}

/*
 * The warm-start model (the deployed version) if it fits o; without one, a
 * NOTICE says why and training starts from scratch with o as it was (a
 * scheduled retraining works from its first run, and after an architecture
 * change).  A deployed version without the residual network turns an
 * automatic one off in o when the warm start is taken (an error if
 * residual => true was given).
 */
static bool
warm_start_model(const char *name, ae_options *o, ae_model *m,
				 MemoryContext cxt)
{
	int32		version;
	ae_error	err;
	ae_options	trial = *o;
	ae_status	st = AE_OK;

	if (!deployed_model(name, m, &version, cxt))
	{
		ereport(NOTICE,
				(errmsg("model \"%s\" has no deployed version to warm-start from: training from scratch",
						name)));
		return false;
	}
	/* an automatic residual network follows a deployed version without it */
	if (trial.arch.residual && !m->arch.residual)
	{
		st = ae_options_residual_off(&trial, &err);
		if (st == AE_EINVAL)
			ae_pg_raise(&err);	/* residual => true was given */
	}
	if (st != AE_OK || ae_warm_start_check(m, &trial, name, version, &err) != AE_OK)
	{
		ereport(NOTICE,
				(errmsg("the deployed version of \"%s\" does not fit these options: training from scratch",
						name),
				 errdetail_internal("%s", err.detail[0] ? err.detail : err.message)));
		return false;
	}
	*o = trial;
	return true;
}

/*
 * The deployed version of name to align the new codes to, if o wants it
 * (ae_options_wants_align) and one of the same input and code sizes is
 * deployed; a NOTICE says why a deployed version is not used.
 */
static bool
align_model(const char *name, const ae_options *o, ae_model *m, int32 *version,
			MemoryContext cxt)
{
	if (!ae_options_wants_align(o) || !deployed_model(name, m, version, cxt))
		return false;
	if (m->arch.n_input != o->arch.n_input || m->arch.latent != o->arch.latent)
	{
		ereport(NOTICE,
				(errmsg("codes not aligned: the deployed version %d of \"%s\" is a %d -> %d model, this one %d -> %d",
						*version, name, m->arch.n_input, m->arch.latent,
						o->arch.n_input, o->arch.latent),
				 errdetail("Codes stored from version %d are not comparable with codes of the new version.",
						   *version)));
		return false;
	}
	return true;
}

/* The NOTICE of an if_better decision. */
static void
notice_decision(const ae_deploy_decision *dec)
{
	if (!dec->compared)
		return;
	ereport(NOTICE,
			(errmsg("%s: the new version's loss %.6g is %s the deployed version %d's %.6g on the same %zu rows",
					dec->deploy ? "deploying" : "not deploying", dec->new_loss,
					dec->deploy ? "below" : "not below", dec->compared_version,
					dec->deployed_loss, dec->rows)));
}

PG_FUNCTION_INFO_V1(ae_train_sql);

/* autoencoder.train(model_name, source, latent_dim, options...) */
Datum
ae_train_sql(PG_FUNCTION_ARGS)
{
	ae_options	o;
	SourceRows	sr;
	ae_build_input in;
	ae_build_output out;
	ae_deploy_decision dec;
	ae_error	err;
	ae_allocator alloc;
	AeStoreRequest req;
	MemoryContext cxt;
	char	   *name,
			   *source;
	ae_model	init,
				current,
				align_to;
	int32		version,
				current_version = 0,
				align_version = 0;
	bool		has_current,
				warm,
				align;
	int64		id;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model_name, source and latent_dim must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ae_check_model_name(name);
	/* fail now, not after training, where the result cannot be stored */
	PreventCommandIfReadOnly("autoencoder.train()");
	PreventCommandDuringRecovery("autoencoder.train()");
	check_store_privileges();
	source = text_to_cstring(PG_GETARG_TEXT_PP(1));
	ae_options_default(&o);
	ae_options_from_args(&o, fcinfo, 2);
	if (ae_options_check(&o, &err) != AE_OK)
		ae_pg_raise(&err);

	cxt = AllocSetContextCreate(CurrentMemoryContext, "autoencoder training",
								ALLOCSET_DEFAULT_SIZES);
	ae_pg_allocator(&alloc, cxt);
	memset(&sr, 0, sizeof(sr));
	sr.cxt = cxt;
	sr.opts = &o;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	collect_rows(&sr, source);
	if (sr.rs.n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("source query returned no usable rows"),
				 errdetail("It returned %llu rows whose first column is NULL.",
						   (unsigned long long) sr.skipped)));
	if (sr.rs.seen > sr.rs.n)
		ereport(NOTICE,
				(errmsg("training on a uniform random sample of %zu of %llu rows",
						sr.rs.n, (unsigned long long) sr.rs.seen),
				 errdetail("autoencoder.max_training_rows is %d.",
						   ae_max_training_rows)));
	warm = o.warm_start && warm_start_model(name, &o, &init, cxt);
	align = align_model(name, &o, &align_to, &align_version, cxt);
	o.align = align;			/* the configuration records what was done */

	memset(&in, 0, sizeof(in));
	in.opts = &o;
	in.rows = sr.rs.rows;
	in.counts.read = sr.rs.seen;
	in.counts.skipped = sr.skipped;
	in.counts.kept = sr.rs.n;
	in.init = warm ? &init : NULL;
	in.align_to = align ? &align_to : NULL;
	in.align_version = align_version;
	in.name = name;
	in.source = source;
	in.where = AE_OPT_TRAIN;
	in.threads = ae_threads;
	in.want_baseline = 1;
	in.keep_eval_rows = o.deploy == AE_DEPLOY_IF_BETTER;
	ae_pg_callbacks(&in.cb, &o);
	ae_blas_check();
	if (ae_build(&in, &alloc, &out, &err) != AE_OK)
		ae_pg_raise(&err);
	ae_pg_notice_built(&o, &out);
	if (out.aligned_to)
		ereport(NOTICE,
				(errmsg("aligned the codes to version %d's on %zu rows: mismatch %.3g before, %.3g after",
						out.aligned_to, out.align.rows, out.align.before, out.align.after),
				 errdetail("Mismatch is the squared distance between the two versions' codes of the same rows, relative to the spread of version %d's codes.",
						   out.aligned_to)));

	/* decide under the name's lock, against what is deployed now */
	version = ae_spi_next_version(name);
	has_current = deployed_model(name, &current, &current_version, cxt);
	if (ae_deploy_decide(&dec, o.deploy, &out, has_current ? &current : NULL,
						 current_version, &in.cb, &alloc, &err) != AE_OK)
		ae_pg_raise(&err);
	notice_decision(&dec);

	req.name = name;
	req.model = PointerGetDatum(ae_model_varlena(&out.model));
	req.baseline = out.baseline.block ? ae_model_varlena(&out.baseline) : NULL;
	req.n_input = o.arch.n_input;
	req.latent = o.arch.latent;
	req.config = out.config;
	req.metrics = ae_metrics_json(&out, &dec, &alloc);
	req.anomaly_threshold = out.anomaly_threshold;
	req.deploy = dec.deploy;
	id = ae_store_model(&req, version);
	SPI_finish();

	ereport(NOTICE,
			(errmsg("stored model \"%s\" version %d (id %lld)%s",
					name, version, (long long) id,
					dec.deploy ? ", deployed" : ", not deployed"),
			 sr.skipped ? errdetail("%llu rows with a NULL input were skipped.",
									(unsigned long long) sr.skipped) : 0));
	MemoryContextDelete(cxt);
	PG_RETURN_INT64(id);
}
