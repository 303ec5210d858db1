/*-------------------------------------------------------------------------
 *
 * ae_pg_train.c
 *	  autoencoder.train(): read a source query, train, store, deploy; and
 *	  ae_build_model, the step from rows to a model shared with fit().
 *
 * Phases, all inside one memory context that is deleted at the end (an
 * ERROR or a cancel frees it with the transaction, and leaves no row):
 *   1. validate every option before running anything;
 *   2. run the source query through a cursor, 1000 rows a fetch, copying
 *      each array into row chunks (never one allocation of the whole
 *      matrix, so nothing hits palloc's 1 GB limit); above
 *      autoencoder.max_training_rows keep a uniform reservoir sample;
 *   3. train with the core, checking for interrupts after every minibatch
 *      and reporting each epoch as a NOTICE, or for a linear model solve
 *      PCA exactly from the moments;
 *   4. serialize and store the next version (ae_pg_store.c).
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include <math.h>
#include <time.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#define FETCH_ROWS		1000	/* rows per cursor fetch */
#define CHUNK_BYTES		((size_t) 8 * 1024 * 1024)	/* row storage chunk */
#define MOMENT_BLOCK	256		/* rows per block folded into moments */
#define SAMPLE_STREAM	UINT64_C(0x5A4D504C45)	/* reservoir RNG stream */

/* Training rows in chunks, with reservoir sampling past max_rows. */
typedef struct RowStore
{
	MemoryContext cxt;
	int			d;				/* dimension, from the first row */
	float	  **rows;			/* (cap) row pointers */
	size_t		n;				/* rows kept */
	size_t		cap;
	size_t		max_rows;
	uint64		seen;			/* non-NULL rows read */
	uint64		skipped;		/* NULL rows */
	float	   *chunk;			/* free space for new rows */
	size_t		chunk_left;		/* rows that fit in chunk */
	float	   *scratch;		/* (d) a row that the sample drops */
	ae_rng		rng;
} RowStore;

/* Error context: which source row was being read. */
static void
source_row_context(void *arg)
{
	RowStore   *rs = arg;

	errcontext("row %llu of the source query",
			   (unsigned long long) (rs->seen + rs->skipped + 1));
}

/* Text argument i, or NULL if it is SQL NULL. */
static char *
text_arg(FunctionCallInfo fcinfo, int i)
{
	return PG_ARGISNULL(i) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(i));
}

/* Read every option argument of train() into o. */
static void
parse_train_args(FunctionCallInfo fcinfo, AeOptions *o)
{
	static const char *const text_opts[][2] = {
		{"4", "activation"}, {"5", "output_activation"}, {"9", "optimizer"},
		{"12", "noise"}, {"14", "normalize"}, {"18", "solver"}};
	static const char *const int_opts[][2] = {
		{"6", "epochs"}, {"7", "batch_size"}, {"16", "patience"}};
	static const char *const float_opts[][2] = {
		{"8", "learning_rate"}, {"10", "weight_decay"}, {"11", "sparsity"},
		{"13", "noise_level"}, {"15", "validation_fraction"}};

	ae_options_init(o);
	ae_option_int(o, "latent_dim", PG_GETARG_INT32(2));
	if (!PG_ARGISNULL(3))
		ae_option_hidden(o, PG_GETARG_ARRAYTYPE_P(3));
	for (int i = 0; i < lengthof(text_opts); i++)
	{
		int			a = atoi(text_opts[i][0]);

		if (a < PG_NARGS() && !PG_ARGISNULL(a))
			ae_option_text(o, text_opts[i][1], text_arg(fcinfo, a));
	}
	for (int i = 0; i < lengthof(int_opts); i++)
	{
		int			a = atoi(int_opts[i][0]);

		if (!PG_ARGISNULL(a))
			ae_option_int(o, int_opts[i][1], PG_GETARG_INT32(a));
	}
	for (int i = 0; i < lengthof(float_opts); i++)
	{
		int			a = atoi(float_opts[i][0]);

		if (!PG_ARGISNULL(a))
			ae_option_float(o, float_opts[i][1], PG_GETARG_FLOAT8(a));
	}
	if (!PG_ARGISNULL(17))
		ae_option_int(o, "seed", PG_GETARG_INT64(17));
	ae_options_finish(o);
}

/* Where the next kept row goes: a new slot, a sampled-out slot, or scratch. */
static float *
row_slot(RowStore *rs)
{
	int64_t		slot;

	if (rs->n < rs->max_rows)
	{
		if (rs->n == rs->cap)
		{
			size_t		cap = rs->cap ? rs->cap * 2 : 4096;

			if (cap > rs->max_rows)
				cap = rs->max_rows;
			rs->rows = rs->rows ?
				repalloc_huge(rs->rows, sizeof(float *) * cap) :
				MemoryContextAllocHuge(rs->cxt, sizeof(float *) * cap);
			rs->cap = cap;
		}
		if (rs->chunk_left == 0)
		{
			size_t		per = CHUNK_BYTES / (sizeof(float) * rs->d);
			size_t		want = per ? per : 1;

			if (want > rs->max_rows - rs->n)
				want = rs->max_rows - rs->n;
			rs->chunk = MemoryContextAllocHuge(rs->cxt,
											   sizeof(float) * rs->d * want);
			rs->chunk_left = want;
		}
		rs->rows[rs->n] = rs->chunk;
		rs->chunk += rs->d;
		rs->chunk_left--;
		return rs->rows[rs->n++];
	}
	slot = ae_reservoir_slot(&rs->rng, rs->seen, rs->max_rows);
	return slot >= 0 ? rs->rows[slot] : rs->scratch;
}

/*
 * Open a cursor on a user's source query (SPI connected); hint says what
 * the query should look like.
 */
Portal
ae_source_cursor(const char *source, bool read_only, const char *hint)
{
	SPIPlanPtr	plan = SPI_prepare(source, 0, NULL);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	if (!SPI_is_cursor_plan(plan))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source must be a single query that returns rows"),
				 errhint("%s", hint)));
	return SPI_cursor_open(NULL, plan, NULL, NULL, read_only);
}

/* Run the source query and collect its first column into rs. */
static void
collect_rows(RowStore *rs, const char *source)
{
	Portal		portal;
	MemoryContext tmp,
				old;
	ErrorContextCallback errcb;

	portal = ae_source_cursor(source, false,
							  "Pass a SELECT whose first column is real[] or double precision[].");
	tmp = AllocSetContextCreate(CurrentMemoryContext, "autoencoder source rows",
								ALLOCSET_DEFAULT_SIZES);
	errcb.callback = source_row_context;
	errcb.arg = rs;
	errcb.previous = error_context_stack;

	for (;;)
	{
		TupleDesc	desc;
		Oid			typid;

		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		desc = SPI_tuptable->tupdesc;
		typid = desc->natts > 0 ? SPI_gettypeid(desc, 1) : InvalidOid;
		if (!ae_is_float_array_type(typid))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("first column of the source query must be real[] or double precision[]"),
					 desc->natts > 0 ?
					 errdetail("It is %s.", format_type_be(typid)) :
					 errdetail("The query returns no columns.")));
		error_context_stack = &errcb;
		old = MemoryContextSwitchTo(tmp);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i], desc, 1, &isnull);
			ArrayType  *a;

			if (isnull)
			{
				rs->skipped++;
				continue;
			}
			a = DatumGetArrayTypeP(d);
			if (rs->d == 0)
			{
				rs->d = ae_array_dims(a, "training row");
				if (rs->d > AE_MAX_DIM)
					ereport(ERROR,
							(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							 errmsg("training rows have %d dimensions, at most %d are allowed",
									rs->d, AE_MAX_DIM)));
				rs->scratch = MemoryContextAlloc(rs->cxt, sizeof(float) * rs->d);
			}
			rs->seen++;
			ae_array_to_floats(a, row_slot(rs), rs->d, "training row");
			CHECK_FOR_INTERRUPTS();
		}
		MemoryContextSwitchTo(old);
		error_context_stack = errcb.previous;
		MemoryContextReset(tmp);
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(tmp);
}

/* How train() decides whether the new version is deployed. */
typedef enum DeployMode
{
	DEPLOY_ALWAYS,
	DEPLOY_IF_BETTER,
	DEPLOY_NEVER
} DeployMode;

/* Parse the deploy argument. */
static DeployMode
deploy_mode(const char *s)
{
	if (s == NULL || strcmp(s, "always") == 0)
		return DEPLOY_ALWAYS;
	if (strcmp(s, "if_better") == 0)
		return DEPLOY_IF_BETTER;
	if (strcmp(s, "never") == 0)
		return DEPLOY_NEVER;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown deploy \"%s\"", s),
			 errhint("Valid values are always, if_better and never.")));
	return DEPLOY_ALWAYS;		/* keep the compiler quiet */
}

/* The deployed version's warm-start weights; errors if it does not fit o. */
static void
warm_start_model(const char *name, const AeOptions *o, ae_model *m,
				 MemoryContext cxt)
{
	int32		version;
	const ae_arch *a = &m->arch,
			   *b = &o->arch;
	bool		same;

	if (o->solver == AE_SOLVER_EXACT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("warm_start needs gradient training"),
				 errhint("The exact solver has no weights to continue from; use solver => 'sgd'.")));
	if (!ae_fetch_deployed(name, m, &version, cxt))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist, so it cannot be warm-started", name),
				 errhint("Train a first version without warm_start.")));
	same = a->n_input == b->n_input && a->latent == b->latent &&
		a->n_hidden == b->n_hidden && a->activation == b->activation &&
		a->output_activation == b->output_activation &&
		a->normalize == b->normalize &&
		memcmp(a->hidden, b->hidden, sizeof(int) * a->n_hidden) == 0;
	if (!same)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("warm_start needs the deployed version's architecture"),
				 errdetail("Version %d of \"%s\" has input_dim %d, latent_dim %d, %d hidden layers, "
						   "activation %s, output_activation %s and normalize %s.",
						   version, name, a->n_input, a->latent, a->n_hidden,
						   ae_activation_name(a->activation),
						   ae_activation_name(a->output_activation),
						   ae_normalize_name(a->normalize))));
}

/* Mean error (input units) of a model on raw rows (n, d), in blocks. */
static double
model_loss(const ae_model *m, const float *rows, size_t n, MemoryContext cxt)
{
	int			B = 256;
	float	   *work = MemoryContextAllocHuge(cxt, sizeof(float) * ae_infer_floats(m, B));
	double	   *err = palloc(sizeof(double) * B);
	double		sum = 0.0;

	for (size_t start = 0; start < n; start += B)
	{
		int			cnt = (int) Min((size_t) B, n - start);

		ae_reconstruction_error(m, rows + start * m->arch.n_input, cnt, err, work);
		for (int i = 0; i < cnt; i++)
			sum += err[i];
		CHECK_FOR_INTERRUPTS();
	}
	pfree(work);
	pfree(err);
	return n ? sum / (double) n : NAN;
}

/* Whether name has a deployed version (SPI connected). */
static bool
deployed_version_exists(const char *name)
{
	Oid			t[1] = {TEXTOID};
	Datum		v[1];
	int			ret;

	v[0] = CStringGetTextDatum(name);
	ret = SPI_execute_with_args("SELECT 1 FROM " AE_MODELS_QUAL
								" WHERE name = $1 AND deployed",
								1, t, v, NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read the deployed model: %d", ret);
	return SPI_processed > 0;
}

/* Append "deployment": {...} to a metrics JSON object text. */
static char *
with_decision(const char *metrics, const char *decision)
{
	StringInfoData buf;
	size_t		len = strlen(metrics);

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, metrics, (int) len - 1);	/* drop the '}' */
	appendStringInfo(&buf, ", \"deployment\": %s}", decision);
	return buf.data;
}

/*
 * Fail before a long training, not after it, when the caller cannot store
 * the result: train() inserts into and updates the models table.
 */
static void
check_store_privileges(void)
{
	Oid			nsp = get_namespace_oid(AE_SCHEMA, false);
	Oid			relid = get_relname_relid(AE_MODELS_TABLE, nsp);

	if (!OidIsValid(relid))
		elog(ERROR, "table autoencoder.models does not exist");
	if (pg_class_aclcheck(relid, GetUserId(), ACL_INSERT | ACL_UPDATE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to train a model"),
				 errdetail("Training stores a version in autoencoder.models, which needs INSERT and UPDATE on it."),
				 errhint("Ask for the model owner's GRANTs described in the README.")));
}

PG_FUNCTION_INFO_V1(ae_train_sql);

/* autoencoder.train(model_name, source, latent_dim, options...) */
Datum
ae_train_sql(PG_FUNCTION_ARGS)
{
	AeOptions	o;
	RowStore	rs;
	AeRowCounts counts;
	AeBuildRequest req;
	AeBuildResult built;
	AeStoreRequest sr;
	MemoryContext train_cxt;
	char	   *name,
			   *source;
	DeployMode	mode;
	bool		warm,
				deploy = true;
	double		quantile;
	ae_model	init;
	StringInfoData decision;
	int64		id;
	int32		version;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model_name, source and latent_dim must not be null")));
	name = text_arg(fcinfo, 0);
	ae_check_model_name(name);
	/* fail now, not after training, where the result cannot be stored */
	PreventCommandIfReadOnly("autoencoder.train()");
	PreventCommandDuringRecovery("autoencoder.train()");
	check_store_privileges();
	source = text_arg(fcinfo, 1);
	parse_train_args(fcinfo, &o);
	mode = deploy_mode(text_arg(fcinfo, 19));
	warm = !PG_ARGISNULL(20) && PG_GETARG_BOOL(20);
	quantile = PG_ARGISNULL(21) ? AE_DEFAULT_ANOMALY_QUANTILE : PG_GETARG_FLOAT8(21);
	if (!(quantile >= 0.0 && quantile <= 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("anomaly_quantile must be between 0 and 1, not %g", quantile)));
	if (mode == DEPLOY_IF_BETTER && o.solver != AE_SOLVER_EXACT &&
		o.cfg.validation_fraction <= 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("deploy => 'if_better' needs validation rows"),
				 errhint("Set validation_fraction above 0.")));

	train_cxt = AllocSetContextCreate(CurrentMemoryContext,
									  "autoencoder training",
									  ALLOCSET_DEFAULT_SIZES);
	memset(&rs, 0, sizeof(rs));
	rs.cxt = train_cxt;
	rs.max_rows = (size_t) ae_max_training_rows;
	ae_rng_seed(&rs.rng, o.cfg.seed ^ SAMPLE_STREAM);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	collect_rows(&rs, source);
	if (rs.n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("source query returned no usable rows"),
				 errdetail("It returned %llu rows whose first column is NULL.",
						   (unsigned long long) rs.skipped)));
	if (rs.seen > rs.n)
		ereport(NOTICE,
				(errmsg("training on a uniform random sample of %zu of %llu rows",
						rs.n, (unsigned long long) rs.seen),
				 errdetail("autoencoder.max_training_rows is %d.",
						   ae_max_training_rows)));
	ae_options_check_dims(&o, rs.d);
	if (warm)
		warm_start_model(name, &o, &init, train_cxt);

	counts.read = rs.seen;
	counts.skipped = rs.skipped;
	counts.kept = rs.n;
	memset(&req, 0, sizeof(req));
	req.name = name;
	req.opts = &o;
	req.rows = rs.rows;
	req.counts = &counts;
	req.source = source;
	req.init = warm ? &init : NULL;
	req.anomaly_quantile = quantile;
	req.want_baseline = true;
	req.want_eval_rows = mode == DEPLOY_IF_BETTER;
	req.cxt = train_cxt;
	ae_build_model(&req, &built);

	/* decide under the name's lock, against what is deployed now */
	ae_lock_model_name(name);
	initStringInfo(&decision);
	appendStringInfo(&decision, "{\"mode\": \"%s\"",
					 mode == DEPLOY_ALWAYS ? "always" :
					 mode == DEPLOY_IF_BETTER ? "if_better" : "never");
	if (!deployed_version_exists(name))
		appendStringInfoString(&decision, ", \"reason\": \"first version\"");
	else if (mode == DEPLOY_NEVER)
		deploy = false;
	else if (mode == DEPLOY_IF_BETTER)
	{
		ae_model	current;
		int32		current_version;

		if (ae_fetch_deployed(name, &current, &current_version, train_cxt))
		{
			double		old_loss = current.arch.n_input == rs.d ?
				model_loss(&current, built.eval_raw, built.n_eval, train_cxt) : INFINITY;

			deploy = built.new_loss < old_loss;
			appendStringInfo(&decision,
							 ", \"new_loss\": %.17g, \"deployed_loss\": %s, \"compared_with_version\": %d, \"rows\": %zu, \"rows_are\": \"%s\"",
							 built.new_loss,
							 isfinite(old_loss) ? psprintf("%.17g", old_loss) : "null",
							 current_version, built.n_eval,
							 built.eval_on_validation ? "validation" : "all");
			ereport(NOTICE,
					(errmsg("%s: the new version's loss %.6g is %s the deployed version %d's %.6g on the same %zu rows",
							deploy ? "deploying" : "not deploying", built.new_loss,
							deploy ? "below" : "not below", current_version,
							old_loss, built.n_eval)));
		}
	}
	appendStringInfo(&decision, ", \"deployed\": %s}", deploy ? "true" : "false");

	sr.name = name;
	sr.model = PointerGetDatum(built.model);
	sr.baseline = built.baseline;
	sr.n_input = rs.d;
	sr.latent = o.arch.latent;
	sr.config = built.config;
	sr.metrics = with_decision(built.metrics, decision.data);
	sr.anomaly_threshold = built.anomaly_threshold;
	sr.deploy = deploy;
	id = ae_store_model(&sr, &version);
	SPI_finish();

	ereport(NOTICE,
			(errmsg("stored model \"%s\" version %d (id %lld)%s",
					name, version, (long long) id,
					deploy ? ", deployed" : ", not deployed"),
			 rs.skipped ? errdetail("%llu rows with a NULL input were skipped.",
									(unsigned long long) rs.skipped) : 0));
	MemoryContextDelete(train_cxt);
	PG_RETURN_INT64(id);
}
