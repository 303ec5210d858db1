/*-------------------------------------------------------------------------
 *
 * ae_pg_train.c
 *	  autoencoder.train(): read a source query, train, store, deploy.
 *
 * Phases, all inside one memory context that is deleted at the end (an
 * ERROR or a cancel frees it with the transaction, and leaves no row):
 *   1. validate every option before running anything;
 *   2. run the source query through a cursor, 1000 rows a fetch, copying
 *      each array into row chunks (never one allocation of the whole
 *      matrix, so nothing hits palloc's 1 GB limit); above
 *      autoencoder.max_training_rows keep a uniform reservoir sample;
 *   3. train with the core, checking for interrupts after every minibatch
 *      and reporting each epoch as a NOTICE;
 *   4. serialize, then under an advisory lock on the name insert the next
 *      version and move the deployed flag to it.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#define FETCH_ROWS		1000	/* rows per cursor fetch */
#define CHUNK_BYTES		((size_t) 8 * 1024 * 1024)	/* row storage chunk */
#define SAMPLE_STREAM	UINT64_C(0x5A4D504C45)	/* reservoir RNG stream */

/* The resolved options of one call. */
typedef struct TrainRequest
{
	char	   *name;
	char	   *source;
	ae_arch		arch;
	bool		output_given;	/* output_activation was not NULL */
	ae_train_config cfg;
} TrainRequest;

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

/* Raise invalid_parameter_value for an option. */
static void
bad_option(const char *msg, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", msg),
			 hint ? errhint("%s", hint) : 0));
}

/* Look up an enum option by name or raise an error listing the choices. */
static int
enum_arg(FunctionCallInfo fcinfo, int i, const char *option, int dflt,
		 int (*parse) (const char *), const char *choices)
{
	char	   *s = text_arg(fcinfo, i);
	int			v;

	if (s == NULL)
		return dflt;
	v = parse(s);
	if (v < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown %s \"%s\"", option, s),
				 errhint("Valid values are %s.", choices)));
	return v;
}

/* Read and check every argument of train() except the data. */
static void
parse_request(FunctionCallInfo fcinfo, TrainRequest *req)
{
	char		why[256];

	memset(req, 0, sizeof(*req));
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model_name, source and latent_dim must not be null")));
	req->name = text_arg(fcinfo, 0);
	ae_check_model_name(req->name);
	req->source = text_arg(fcinfo, 1);
	req->arch.latent = PG_GETARG_INT32(2);
	if (req->arch.latent < 1 || req->arch.latent > AE_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("latent_dim must be between 1 and %d, not %d",
						AE_MAX_DIM, req->arch.latent)));
	if (!PG_ARGISNULL(3))
	{
		ArrayType  *h = PG_GETARG_ARRAYTYPE_P(3);
		int			n = ARR_NDIM(h) == 0 ? 0 : ArrayGetNItems(ARR_NDIM(h),
														  ARR_DIMS(h));

		if (ARR_NDIM(h) > 1 || array_contains_nulls(h))
			bad_option("hidden_units must be a one-dimensional array without nulls",
					   NULL);
		if (n > AE_MAX_HIDDEN)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hidden_units has %d layers, at most %d are allowed",
							n, AE_MAX_HIDDEN)));
		req->arch.n_hidden = n;
		for (int i = 0; i < n; i++)
		{
			int			u = ((int32 *) ARR_DATA_PTR(h))[i];

			if (u < 1 || u > AE_MAX_UNITS)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("hidden_units must be between 1 and %d, not %d",
								AE_MAX_UNITS, u)));
			req->arch.hidden[i] = u;
		}
	}
	req->arch.activation = enum_arg(fcinfo, 4, "activation", AE_ACT_RELU,
									ae_activation_parse,
									"relu, tanh, sigmoid, elu and linear");
	req->arch.normalize = enum_arg(fcinfo, 14, "normalize", AE_NORM_STANDARD,
								   ae_normalize_parse,
								   "standard, minmax and none");
	req->output_given = !PG_ARGISNULL(5);
	req->arch.output_activation =
		enum_arg(fcinfo, 5, "output_activation",
				 req->arch.normalize == AE_NORM_MINMAX ? AE_ACT_SIGMOID :
				 AE_ACT_LINEAR, ae_activation_parse, "linear and sigmoid");
	if (req->arch.output_activation != AE_ACT_LINEAR &&
		req->arch.output_activation != AE_ACT_SIGMOID)
		bad_option("output_activation must be linear or sigmoid", NULL);

	req->cfg.epochs = PG_ARGISNULL(6) ? AE_DEFAULT_EPOCHS : PG_GETARG_INT32(6);
	req->cfg.batch_size = PG_ARGISNULL(7) ? AE_DEFAULT_BATCH : PG_GETARG_INT32(7);
	req->cfg.learning_rate = PG_ARGISNULL(8) ? AE_DEFAULT_LR : PG_GETARG_FLOAT8(8);
	req->cfg.optimizer = enum_arg(fcinfo, 9, "optimizer", AE_OPT_ADAM,
								  ae_optimizer_parse, "adam and sgd");
	req->cfg.weight_decay = PG_ARGISNULL(10) ? 0.0 : PG_GETARG_FLOAT8(10);
	req->cfg.sparsity = PG_ARGISNULL(11) ? 0.0 : PG_GETARG_FLOAT8(11);
	req->cfg.noise = enum_arg(fcinfo, 12, "noise", AE_NOISE_NONE,
							  ae_noise_parse, "none, gaussian and masking");
	req->cfg.noise_level = PG_ARGISNULL(13) ? AE_DEFAULT_NOISE : PG_GETARG_FLOAT8(13);
	req->cfg.validation_fraction = PG_ARGISNULL(15) ? AE_DEFAULT_VALFRAC :
		PG_GETARG_FLOAT8(15);
	req->cfg.patience = PG_ARGISNULL(16) ? AE_DEFAULT_PATIENCE : PG_GETARG_INT32(16);
	req->cfg.seed = PG_ARGISNULL(17) ? AE_DEFAULT_SEED : (uint64) PG_GETARG_INT64(17);
	if (ae_train_check(&req->cfg, why, sizeof(why)) != AE_OK)
		bad_option(why, NULL);
}

/* Where the next kept row goes: a new slot, a sampled-out slot, or scratch. */
static float *
row_slot(RowStore *rs)
{
	uint64		j;

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
	/* reservoir sampling (Algorithm R): keep row seen-th with p = max/seen */
	j = ae_rng_below(&rs->rng, rs->seen);
	return j < rs->max_rows ? rs->rows[j] : rs->scratch;
}

/* Run the source query and collect its first column into rs. */
static void
collect_rows(RowStore *rs, const char *source)
{
	SPIPlanPtr	plan;
	Portal		portal;
	MemoryContext tmp,
				old;
	ErrorContextCallback errcb;

	plan = SPI_prepare(source, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	if (!SPI_is_cursor_plan(plan))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source must be a single query that returns rows"),
				 errhint("Pass a SELECT whose first column is real[] or double precision[].")));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, false);
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

/* Callbacks of the core's training loop. */
static void
on_batch(void *ctx)
{
	CHECK_FOR_INTERRUPTS();
}

/* One NOTICE per epoch. */
static void
on_epoch(void *ctx, const ae_epoch_stats *s)
{
	const ae_train_config *cfg = ctx;

	if (isnan(s->validation_loss))
		ereport(NOTICE,
				(errmsg("epoch %d/%d: train loss %.6f (%.2f s)",
						s->epoch, cfg->epochs, s->train_loss, s->seconds)));
	else
		ereport(NOTICE,
				(errmsg("epoch %d/%d: train loss %.6f, validation loss %.6f (%.2f s)",
						s->epoch, cfg->epochs, s->train_loss,
						s->validation_loss, s->seconds)));
}

/* Append "key": number (null if not finite). */
static void
json_num(StringInfo buf, const char *key, double v, bool comma)
{
	if (comma)
		appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	if (isfinite(v))
	{
		char		num[DOUBLE_SHORTEST_DECIMAL_LEN];

		double_to_shortest_decimal_buf(v, num);
		appendStringInfo(buf, ": %s", num);
	}
	else
		appendStringInfoString(buf, ": null");
}

/* Append "key": "string". */
static void
json_str(StringInfo buf, const char *key, const char *v, bool comma)
{
	if (comma)
		appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
	escape_json(buf, v);
}

/* The configuration as JSON text: every option, resolved. */
static char *
config_json(const TrainRequest *req, int n_input)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	json_num(&buf, "input_dim", n_input, false);
	json_num(&buf, "latent_dim", req->arch.latent, true);
	appendStringInfoString(&buf, ", \"hidden_units\": [");
	for (int i = 0; i < req->arch.n_hidden; i++)
		appendStringInfo(&buf, "%s%d", i ? ", " : "", req->arch.hidden[i]);
	appendStringInfoChar(&buf, ']');
	json_str(&buf, "activation", ae_activation_name(req->arch.activation), true);
	json_str(&buf, "output_activation",
			 ae_activation_name(req->arch.output_activation), true);
	json_num(&buf, "epochs", req->cfg.epochs, true);
	json_num(&buf, "batch_size", req->cfg.batch_size, true);
	json_num(&buf, "learning_rate", req->cfg.learning_rate, true);
	json_str(&buf, "optimizer", ae_optimizer_name(req->cfg.optimizer), true);
	json_num(&buf, "weight_decay", req->cfg.weight_decay, true);
	json_num(&buf, "sparsity", req->cfg.sparsity, true);
	json_str(&buf, "noise", ae_noise_name(req->cfg.noise), true);
	json_num(&buf, "noise_level", req->cfg.noise_level, true);
	json_str(&buf, "normalize", ae_normalize_name(req->arch.normalize), true);
	json_num(&buf, "validation_fraction", req->cfg.validation_fraction, true);
	json_num(&buf, "patience", req->cfg.patience, true);
	appendStringInfo(&buf, ", \"seed\": %lld", (long long) (int64) req->cfg.seed);
	json_num(&buf, "threads", ae_threads, true);
	json_str(&buf, "source", req->source, true);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* The deterministic part of the metrics (also kept inside the model). */
static void
training_json(StringInfo buf, const RowStore *rs, const ae_train_result *res)
{
	json_num(buf, "rows_used", (double) rs->n, false);
	json_num(buf, "rows_skipped", (double) rs->skipped, true);
	json_num(buf, "rows_read", (double) rs->seen, true);
	appendStringInfo(buf, ", \"sampled\": %s", rs->seen > rs->n ? "true" : "false");
	json_num(buf, "train_rows", (double) res->train_rows, true);
	json_num(buf, "validation_rows", (double) res->validation_rows, true);
	json_num(buf, "epochs_run", res->epochs_run, true);
	json_num(buf, "best_epoch", res->best_epoch, true);
	appendStringInfo(buf, ", \"stopped_early\": %s",
					 res->stopped_early ? "true" : "false");
	json_num(buf, "final_train_loss", res->final_train_loss, true);
	json_num(buf, "final_validation_loss", res->final_validation_loss, true);
}

/* All metrics as JSON text: the above, the time and the loss curve. */
static char *
metrics_json(const RowStore *rs, const ae_train_result *res)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	training_json(&buf, rs, res);
	json_num(&buf, "seconds", res->seconds, true);
	appendStringInfoString(&buf, ", \"loss_curve\": [");
	for (int e = 0; e < res->epochs_run; e++)
	{
		const ae_epoch_stats *s = &res->curve[e];

		appendStringInfoString(&buf, e ? ", {" : "{");
		json_num(&buf, "epoch", s->epoch, false);
		json_num(&buf, "train_loss", s->train_loss, true);
		json_num(&buf, "validation_loss", s->validation_loss, true);
		json_num(&buf, "learning_rate", s->learning_rate, true);
		json_num(&buf, "seconds", s->seconds, true);
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoString(&buf, "]}");
	return buf.data;
}

/* Insert the next version of req->name, deployed; returns its id. */
static int64
store_model(const TrainRequest *req, bytea *bytes, int n_input,
			const char *config, const char *metrics, int32 *version)
{
	Oid			types[7] = {TEXTOID, INT4OID, INT4OID, INT4OID, JSONBOID,
	JSONBOID, BYTEAOID};
	Datum		vals[7];
	Oid			lock_types[1] = {TEXTOID};
	Datum		lock_vals[1];
	bool		isnull;
	int			ret;

	/* one writer per name at a time, so versions are dense and unique */
	lock_vals[0] = CStringGetTextDatum(req->name);
	ret = SPI_execute_with_args("SELECT pg_catalog.pg_advisory_xact_lock("
								"pg_catalog.hashtext('autoencoder.models:' || $1))",
								1, lock_types, lock_vals, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not lock model name: %d", ret);
	ret = SPI_execute_with_args("SELECT coalesce(max(version), 0) + 1 FROM "
								AE_MODELS_QUAL " WHERE name = $1",
								1, lock_types, lock_vals, NULL, false, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read model versions: %d", ret);
	*version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 1, &isnull));
	ret = SPI_execute_with_args("UPDATE " AE_MODELS_QUAL " SET deployed = false"
								" WHERE name = $1 AND deployed",
								1, lock_types, lock_vals, NULL, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "could not update deployed model: %d", ret);

	vals[0] = lock_vals[0];
	vals[1] = Int32GetDatum(*version);
	vals[2] = Int32GetDatum(n_input);
	vals[3] = Int32GetDatum(req->arch.latent);
	vals[4] = DirectFunctionCall1(jsonb_in, CStringGetDatum(config));
	vals[5] = DirectFunctionCall1(jsonb_in, CStringGetDatum(metrics));
	vals[6] = PointerGetDatum(bytes);
	ret = SPI_execute_with_args("INSERT INTO " AE_MODELS_QUAL
								" (name, version, input_dim, latent_dim, config,"
								" metrics, deployed, model)"
								" VALUES ($1, $2, $3, $4, $5, $6, true, $7)"
								" RETURNING id",
								7, types, vals, NULL, false, 1);
	if (ret != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "could not insert model: %d", ret);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 1, &isnull));
}

/* Describe an architecture as "784 -> 256 -> 64". */
static char *
arch_text(const ae_arch *a)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%d", a->n_input);
	for (int i = 0; i < a->n_hidden; i++)
		appendStringInfo(&buf, " -> %d", a->hidden[i]);
	appendStringInfo(&buf, " -> %d", a->latent);
	return buf.data;
}

PG_FUNCTION_INFO_V1(ae_train_sql);

/* autoencoder.train(model_name, source, latent_dim, options...) */
Datum
ae_train_sql(PG_FUNCTION_ARGS)
{
	TrainRequest req;
	RowStore	rs;
	MemoryContext train_cxt,
				old;
	ae_allocator alloc;
	ae_model	model,
				final;
	ae_train_result res;
	ae_train_callbacks cb;
	ae_status	st;
	char		why[256];
	char	   *config,
			   *metrics;
	StringInfoData meta;
	size_t		size;
	bytea	   *bytes;
	int64		id;
	int32		version;

	parse_request(fcinfo, &req);

	train_cxt = AllocSetContextCreate(CurrentMemoryContext,
									  "autoencoder training",
									  ALLOCSET_DEFAULT_SIZES);
	ae_pg_allocator(&alloc, train_cxt);
	memset(&rs, 0, sizeof(rs));
	rs.cxt = train_cxt;
	rs.max_rows = (size_t) ae_max_training_rows;
	ae_rng_seed(&rs.rng, req.cfg.seed ^ SAMPLE_STREAM);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	collect_rows(&rs, req.source);
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

	req.arch.n_input = rs.d;
	if (req.arch.latent > rs.d)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("latent_dim %d is larger than the input dimension %d",
						req.arch.latent, rs.d),
				 errhint("An autoencoder compresses: choose a latent_dim of at most %d.",
						 rs.d)));
	if (ae_arch_check(&req.arch, why, sizeof(why)) != AE_OK)
		bad_option(why, NULL);
	config = config_json(&req, rs.d);
	st = ae_model_create(&model, &req.arch, 0, &alloc);
	if (st != AE_OK ||
		ae_model_serialized_size(&model) + strlen(config) + 4096 > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model is too large"),
				 errdetail("A model of this shape needs more than 1 GB.")));

	cb.on_batch = on_batch;
	cb.on_epoch = on_epoch;
	cb.ctx = &req.cfg;
	st = ae_train(&model, rs.rows, rs.n, &req.cfg, &cb, &alloc, &res);
	if (st == AE_EDIVERGED)
		ereport(ERROR,
				(errcode(ERRCODE_FLOATING_POINT_EXCEPTION),
				 errmsg("training diverged: the loss is no longer finite"),
				 errdetail("It happened in epoch %d of %d.", res.epochs_run + 1,
						   req.cfg.epochs),
				 errhint("Lower learning_rate, use normalize => 'standard', or add weight_decay.")));
	if (st != AE_OK)
		elog(ERROR, "training failed: %s", ae_status_message(st));

	/* the stored model carries its configuration and deterministic metrics */
	old = MemoryContextSwitchTo(train_cxt);
	initStringInfo(&meta);
	appendStringInfo(&meta, "{\"name\": ");
	escape_json(&meta, req.name);
	appendStringInfo(&meta, ", \"config\": %s, \"training\": {", config);
	training_json(&meta, &rs, &res);
	appendStringInfoString(&meta, "}}");
	metrics = metrics_json(&rs, &res);
	MemoryContextSwitchTo(old);
	st = ae_model_create(&final, &req.arch, meta.len, &alloc);
	if (st != AE_OK)
		elog(ERROR, "could not allocate the model: %s", ae_status_message(st));
	memcpy(final.params, model.params, sizeof(float) * model.n_params);
	memcpy(final.shift, model.shift, sizeof(float) * 4 * rs.d);
	memcpy(final.meta, meta.data, meta.len);
	size = ae_model_serialized_size(&final);
	bytes = MemoryContextAlloc(train_cxt, VARHDRSZ + size);
	SET_VARSIZE(bytes, VARHDRSZ + size);
	ae_model_serialize(&final, (unsigned char *) VARDATA(bytes));

	id = store_model(&req, bytes, rs.d, config, metrics, &version);
	SPI_finish();

	ereport(NOTICE,
			(errmsg("trained model \"%s\" version %d: %s, %zu training and %zu validation rows, %d epochs%s, %s loss %.6f, %.1f s",
					req.name, version, arch_text(&req.arch), res.train_rows,
					res.validation_rows, res.epochs_run,
					res.stopped_early ? " (stopped early)" : "",
					res.validation_rows ? "validation" : "train",
					res.validation_rows ? res.final_validation_loss :
					res.final_train_loss, res.seconds),
			 rs.skipped ? errdetail("%llu rows with a NULL input were skipped.",
									(unsigned long long) rs.skipped) : 0));
	MemoryContextDelete(train_cxt);
	PG_RETURN_INT64(id);
}
