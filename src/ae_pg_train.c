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

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
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

/* Append "key": number (null if not finite), shortest exact decimal. */
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

/* The deterministic part of the metrics (also kept inside the model). */
static void
training_json(StringInfo buf, const AeRowCounts *rc, const ae_train_result *res,
			  const AeOptions *o, const double *explained)
{
	json_num(buf, "rows_used", (double) rc->kept, false);
	json_num(buf, "rows_skipped", (double) rc->skipped, true);
	json_num(buf, "rows_read", (double) rc->read, true);
	appendStringInfo(buf, ", \"sampled\": %s", rc->read > rc->kept ? "true" : "false");
	json_num(buf, "train_rows", (double) res->train_rows, true);
	json_num(buf, "validation_rows", (double) res->validation_rows, true);
	json_num(buf, "epochs_run", res->epochs_run, true);
	json_num(buf, "best_epoch", res->best_epoch, true);
	appendStringInfo(buf, ", \"stopped_early\": %s",
					 res->stopped_early ? "true" : "false");
	json_num(buf, "final_train_loss", res->final_train_loss, true);
	json_num(buf, "final_validation_loss", res->final_validation_loss, true);
	if (explained)
	{
		appendStringInfoString(buf, ", \"explained_variance_ratio\": [");
		for (int c = 0; c < o->arch.latent; c++)
		{
			char		num[DOUBLE_SHORTEST_DECIMAL_LEN];

			double_to_shortest_decimal_buf(explained[c], num);
			appendStringInfo(buf, "%s%s", c ? ", " : "", num);
		}
		appendStringInfoChar(buf, ']');
	}
}

/* All metrics as JSON text: the above, the time and the loss curve. */
static char *
metrics_text(const AeRowCounts *rc, const ae_train_result *res,
			 const AeOptions *o, const double *explained)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	training_json(&buf, rc, res, o, explained);
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

/* Seconds on a monotonic clock. */
static double
seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Exact moments of rows, folded in blocks (for the exact solver). */
static void
rows_moments(ae_moments *mom, float **rows, size_t n, int d, MemoryContext cxt)
{
	float	   *block = MemoryContextAllocHuge(cxt, sizeof(float) * MOMENT_BLOCK * d);
	double	   *work = MemoryContextAllocHuge(cxt, sizeof(double) *
											  ((size_t) MOMENT_BLOCK * d + 5 * d));

	for (size_t start = 0; start < n; start += MOMENT_BLOCK)
	{
		int			cnt = (int) Min((size_t) MOMENT_BLOCK, n - start);

		for (int r = 0; r < cnt; r++)
			memcpy(block + (size_t) r * d, rows[start + r], sizeof(float) * d);
		ae_moments_add(mom, block, cnt, work);
		CHECK_FOR_INTERRUPTS();
	}
	pfree(block);
	pfree(work);
}

/* Build a model from rows; see ae_pg.h. */
struct varlena *
ae_build_model(const char *name, const AeOptions *o, float **rows,
			   const AeRowCounts *counts, const ae_moments *mom,
			   const char *source, MemoryContext cxt, char **config_json,
			   char **metrics_json)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	ae_allocator alloc;
	ae_model	model,
				final;
	ae_train_result res;
	ae_status	st;
	StringInfoData meta;
	double	   *explained = NULL;
	int			d = o->arch.n_input;
	size_t		n = (size_t) counts->kept;
	size_t		size;
	struct varlena *out;
	char	   *config = ae_options_json(o, source);

	ae_pg_allocator(&alloc, cxt);
	memset(&res, 0, sizeof(res));
	st = ae_model_create(&model, &o->arch, 0, &alloc);
	if (st != AE_OK ||
		ae_model_serialized_size(&model) + strlen(config) + 65536 > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model is too large"),
				 errdetail("A model of this shape needs more than 1 GB.")));

	if (o->solver == AE_SOLVER_EXACT)
	{
		ae_moments own;
		double		t0 = seconds_now(),
					residual = 0.0;

		if (mom == NULL)
		{
			ae_moments_init(&own, d, 1,
							MemoryContextAllocHuge(cxt, sizeof(double) *
												   ae_moments_doubles(d, 1)));
			rows_moments(&own, rows, n, d, cxt);
			mom = &own;
		}
		explained = palloc(sizeof(double) * o->arch.latent);
		st = ae_pca_solve(&model, mom, explained, &residual, &alloc);
		if (st != AE_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("the eigensolver failed on the covariance matrix")));
		res.train_rows = n;
		res.final_train_loss = residual;
		res.final_validation_loss = NAN;
		res.seconds = seconds_now() - t0;
	}
	else
	{
		ae_train_config cfg = o->cfg;
		ae_train_callbacks cb;

		if (mom)
		{
			ae_scaling_from_moments(&model, mom);
			cfg.preset_scaling = 1;
		}
		cb.on_batch = on_batch;
		cb.on_epoch = on_epoch;
		cb.ctx = &cfg;
		st = ae_train(&model, rows, n, &cfg, &cb, &alloc, &res);
		if (st == AE_EDIVERGED)
			ereport(ERROR,
					(errcode(ERRCODE_FLOATING_POINT_EXCEPTION),
					 errmsg("training diverged: the loss is no longer finite"),
					 errdetail("It happened in epoch %d of %d.", res.epochs_run + 1,
							   cfg.epochs),
					 errhint("Lower learning_rate, use normalize => 'standard', or add weight_decay.")));
		if (st != AE_OK)
			elog(ERROR, "training failed: %s", ae_status_message(st));
	}

	/* the stored model carries its configuration and deterministic metrics */
	initStringInfo(&meta);
	appendStringInfoString(&meta, "{\"name\": ");
	if (name)
		escape_json(&meta, name);
	else
		appendStringInfoString(&meta, "null");
	appendStringInfo(&meta, ", \"config\": %s, \"training\": {", config);
	training_json(&meta, counts, &res, o, explained);
	appendStringInfoString(&meta, "}}");
	*metrics_json = metrics_text(counts, &res, o, explained);
	*config_json = config;

	st = ae_model_create(&final, &o->arch, meta.len, &alloc);
	if (st != AE_OK)
		elog(ERROR, "could not allocate the model: %s", ae_status_message(st));
	memcpy(final.params, model.params, sizeof(float) * model.n_params);
	memcpy(final.shift, model.shift, sizeof(float) * 4 * (size_t) d);
	memcpy(final.meta, meta.data, meta.len);
	size = ae_model_serialized_size(&final);
	out = MemoryContextAllocHuge(cxt, VARHDRSZ + size);
	SET_VARSIZE(out, VARHDRSZ + size);
	ae_model_serialize(&final, (unsigned char *) VARDATA(out));
	ae_model_destroy(&final);
	ae_model_destroy(&model);
	MemoryContextSwitchTo(old);

	if (o->solver != AE_SOLVER_EXACT)
		ereport(NOTICE,
				(errmsg("trained %d -> %d: %zu training and %zu validation rows, %d epochs%s, %s loss %.6f, %.1f s",
						d, o->arch.latent, res.train_rows, res.validation_rows,
						res.epochs_run, res.stopped_early ? " (stopped early)" : "",
						res.validation_rows ? "validation" : "train",
						res.validation_rows ? res.final_validation_loss :
						res.final_train_loss, res.seconds)));
	else
	{
		double		share = 0.0;

		for (int c = 0; c < o->arch.latent; c++)
			share += explained[c];
		ereport(NOTICE,
				(errmsg("solved PCA %d -> %d exactly on %zu rows: %.1f%% of the variance kept, %.3f s",
						d, o->arch.latent, n, 100.0 * share, res.seconds)));
	}
	return out;
}

PG_FUNCTION_INFO_V1(ae_train_sql);

/* autoencoder.train(model_name, source, latent_dim, options...) */
Datum
ae_train_sql(PG_FUNCTION_ARGS)
{
	AeOptions	o;
	RowStore	rs;
	AeRowCounts counts;
	MemoryContext train_cxt;
	char	   *name,
			   *source,
			   *config,
			   *metrics;
	struct varlena *model;
	int64		id;
	int32		version;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model_name, source and latent_dim must not be null")));
	name = text_arg(fcinfo, 0);
	ae_check_model_name(name);
	source = text_arg(fcinfo, 1);
	parse_train_args(fcinfo, &o);

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

	counts.read = rs.seen;
	counts.skipped = rs.skipped;
	counts.kept = rs.n;
	model = ae_build_model(name, &o, rs.rows, &counts, NULL, source, train_cxt,
						   &config, &metrics);
	id = ae_store_model(name, PointerGetDatum(model), rs.d, o.arch.latent,
						config, metrics, true, &version);
	SPI_finish();

	ereport(NOTICE,
			(errmsg("stored model \"%s\" version %d (id %lld), deployed",
					name, version, (long long) id),
			 rs.skipped ? errdetail("%llu rows with a NULL input were skipped.",
									(unsigned long long) rs.skipped) : 0));
	MemoryContextDelete(train_cxt);
	PG_RETURN_INT64(id);
}
