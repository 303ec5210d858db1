/*-------------------------------------------------------------------------
 *
 * ae_pg_build.c
 *	  From rows to a stored-ready model: train or solve, measure, describe.
 *
 * Shared by train() and the fit aggregate's final function.  Given rows in
 * raw units (scaled in place here), the resolved options and, optionally,
 * exact moments of every row read, a warm-start model and an anomaly
 * quantile, it produces:
 *   - the model as an autoencoder.model varlena, with its configuration and
 *     deterministic training figures in the model's metadata;
 *   - the configuration and full metrics (with the loss curve) as JSON;
 *   - the anomaly threshold: that quantile of the per-row reconstruction
 *     error (input units) over the validation rows, or without them over
 *     up to THRESHOLD_ROWS evenly spaced training rows;
 *   - optionally the PCA baseline of the same latent size, fitted on (up to
 *     BASELINE_ROWS evenly spaced) training rows, for evaluate();
 *   - optionally the evaluation rows back in raw units, for deploy =>
 *     'if_better' to score the deployed version on the same rows.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include <math.h>
#include <time.h>

#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"

#define MOMENT_BLOCK	256		/* rows per block folded into moments */
#define BASELINE_ROWS	10000	/* rows the PCA baseline is fitted on */
#define THRESHOLD_ROWS	10000	/* rows the anomaly threshold is taken on
								 * without validation rows */

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
			  const AeOptions *o, const double *explained, double threshold)
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
	json_num(buf, "anomaly_threshold", threshold, true);
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
			 const AeOptions *o, const double *explained, double threshold)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	training_json(&buf, rc, res, o, explained, threshold);
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

/* Exact moments of rows (every step-th of n), folded in blocks. */
static void
rows_moments(ae_moments *mom, float **rows, size_t n, size_t step, int d,
			 MemoryContext cxt)
{
	float	   *block = MemoryContextAllocHuge(cxt, sizeof(float) * MOMENT_BLOCK * d);
	double	   *work = MemoryContextAllocHuge(cxt, sizeof(double) *
											  ((size_t) MOMENT_BLOCK * d + 5 * d));
	int			cnt = 0;

	for (size_t r = 0; r < n; r += step)
	{
		memcpy(block + (size_t) cnt * d, rows[r], sizeof(float) * d);
		if (++cnt == MOMENT_BLOCK)
		{
			ae_moments_add(mom, block, cnt, work);
			cnt = 0;
			CHECK_FOR_INTERRUPTS();
		}
	}
	ae_moments_add(mom, block, cnt, work);
	pfree(block);
	pfree(work);
}

/* Serialize m into a new varlena in the current memory context. */
static struct varlena *
model_varlena(const ae_model *m)
{
	size_t		size = ae_model_serialized_size(m);
	struct varlena *out = palloc_extended(VARHDRSZ + size, MCXT_ALLOC_HUGE);

	SET_VARSIZE(out, VARHDRSZ + size);
	ae_model_serialize(m, (unsigned char *) VARDATA(out));
	return out;
}

/* Exact PCA of the given moments as a model with the options' scaling. */
static ae_status
solve_pca(ae_model *pca, const AeOptions *o, const ae_moments *mom,
		  double *explained, double *residual, const ae_allocator *alloc)
{
	ae_arch		arch = o->arch;
	ae_status	st;

	arch.n_hidden = 0;
	arch.activation = AE_ACT_LINEAR;
	arch.output_activation = AE_ACT_LINEAR;
	st = ae_model_create(pca, &arch, 0, alloc);
	if (st != AE_OK)
		return st;
	return ae_pca_solve(pca, mom, explained, residual, alloc);
}

/* Comparison for qsort of doubles. */
static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/* Build a model from rows; see ae_pg.h and the file header. */
void
ae_build_model(const AeBuildRequest *req, AeBuildResult *out)
{
	const AeOptions *o = req->opts;
	MemoryContext cxt = req->cxt;
	MemoryContext old = MemoryContextSwitchTo(cxt);
	ae_allocator alloc;
	ae_model	model,
				final;
	ae_train_result res;
	ae_status	st;
	StringInfoData meta;
	double	   *explained = NULL;
	int			d = o->arch.n_input;
	size_t		n = (size_t) req->counts->kept;
	size_t	   *eval_idx;
	size_t		n_eval;
	double	   *errs;
	char	   *config = ae_options_json(o, req->source);
	const ae_moments *mom = req->moments;

	memset(out, 0, sizeof(*out));
	out->anomaly_threshold = NAN;
	ae_pg_allocator(&alloc, cxt);
	memset(&res, 0, sizeof(res));
	st = ae_model_create(&model, &o->arch, 0, &alloc);
	if (st != AE_OK ||
		ae_model_serialized_size(&model) + strlen(config) + 65536 > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model is too large"),
				 errdetail("A model of this shape needs more than 1 GB.")));

	/* the baseline PCA is fitted on raw rows, before training scales them */
	if (req->want_baseline && o->solver != AE_SOLVER_EXACT && d <= AE_MAX_PCA_DIM)
	{
		ae_moments bm;
		ae_model	pca;
		size_t		step = n > BASELINE_ROWS ? (n + BASELINE_ROWS - 1) / BASELINE_ROWS : 1;

		ae_moments_init(&bm, d, 1, MemoryContextAllocHuge(cxt, sizeof(double) *
														  ae_moments_doubles(d, 1)));
		rows_moments(&bm, req->rows, n, step, d, cxt);
		if (solve_pca(&pca, o, &bm, NULL, NULL, &alloc) == AE_OK)
			out->baseline = model_varlena(&pca);
	}

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
			rows_moments(&own, req->rows, n, 1, d, cxt);
			mom = &own;
		}
		explained = palloc(sizeof(double) * o->arch.latent);
		ae_model_destroy(&model);
		st = solve_pca(&model, o, mom, explained, &residual, &alloc);
		if (st != AE_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("the eigensolver failed on the covariance matrix")));
		res.train_rows = n;
		res.final_train_loss = residual;
		res.final_validation_loss = NAN;
		res.seconds = seconds_now() - t0;
		/* the rows are only used for the threshold below: scale them */
		for (size_t r = 0; r < n && req->rows; r++)
			ae_scaling_apply(&model, req->rows[r]);
	}
	else
	{
		ae_train_config cfg = o->cfg;
		ae_train_callbacks cb;

		if (req->init)
		{
			/* warm start: the deployed version's weights and scaling */
			memcpy(model.params, req->init->params, sizeof(float) * model.n_params);
			memcpy(model.shift, req->init->shift, sizeof(float) * 4 * (size_t) d);
			cfg.warm_start = 1;
		}
		else if (mom)
		{
			ae_scaling_from_moments(&model, mom);
			cfg.preset_scaling = 1;
		}
		cb.on_batch = on_batch;
		cb.on_epoch = on_epoch;
		cb.ctx = &cfg;
		st = ae_train(&model, req->rows, n, &cfg, &cb, &alloc, &res);
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

	/*
	 * Evaluation rows: the validation rows, or every row without them (the
	 * exact solver has none).  Their errors in input units give the anomaly
	 * threshold and, for if_better, the new version's score.
	 */
	if (req->rows && n > 0)
	{
		int			B = 256;
		float	   *work = MemoryContextAllocHuge(cxt, sizeof(float) *
												  ae_row_errors_floats(&model, B));

		if (res.validation_rows > 0)
		{
			eval_idx = res.validation_index;
			n_eval = res.validation_rows;
		}
		else
		{
			/* without validation rows: up to THRESHOLD_ROWS evenly spaced */
			size_t		step = n > THRESHOLD_ROWS ?
				(n + THRESHOLD_ROWS - 1) / THRESHOLD_ROWS : 1;

			n_eval = (n + step - 1) / step;
			eval_idx = MemoryContextAllocHuge(cxt, sizeof(size_t) * n_eval);
			for (size_t i = 0; i < n_eval; i++)
				eval_idx[i] = i * step;
		}
		errs = MemoryContextAllocHuge(cxt, sizeof(double) * n_eval);
		ae_row_errors(&model, req->rows, eval_idx, n_eval, B, work, errs);
		out->new_loss = 0.0;
		for (size_t i = 0; i < n_eval; i++)
			out->new_loss += errs[i];
		out->new_loss /= (double) n_eval;
		qsort(errs, n_eval, sizeof(double), cmp_double);
		out->anomaly_threshold =
			errs[(size_t) Min((double) (n_eval - 1),
							  floor(req->anomaly_quantile * (double) (n_eval - 1) + 0.5))];
		if (req->want_eval_rows)
		{
			/* back to raw units: x = x' * scale + shift */
			out->eval_raw = MemoryContextAllocHuge(cxt, sizeof(float) * n_eval * d);
			for (size_t i = 0; i < n_eval; i++)
			{
				const float *x = req->rows[eval_idx[i]];
				float	   *y = out->eval_raw + i * d;

				for (int j = 0; j < d; j++)
					y[j] = x[j] * model.scale[j] + model.shift[j];
			}
			out->n_eval = n_eval;
		}
		out->eval_on_validation = res.validation_rows > 0;
	}

	/* the stored model carries its configuration and deterministic metrics */
	initStringInfo(&meta);
	appendStringInfoString(&meta, "{\"name\": ");
	if (req->name)
		escape_json(&meta, req->name);
	else
		appendStringInfoString(&meta, "null");
	appendStringInfo(&meta, ", \"config\": %s, \"training\": {", config);
	training_json(&meta, req->counts, &res, o, explained, out->anomaly_threshold);
	appendStringInfoString(&meta, "}}");
	out->metrics = metrics_text(req->counts, &res, o, explained,
								out->anomaly_threshold);
	out->config = config;

	st = ae_model_create(&final, &model.arch, meta.len, &alloc);
	if (st != AE_OK)
		elog(ERROR, "could not allocate the model: %s", ae_status_message(st));
	memcpy(final.params, model.params, sizeof(float) * model.n_params);
	memcpy(final.shift, model.shift, sizeof(float) * 4 * (size_t) d);
	memcpy(final.meta, meta.data, meta.len);
	out->model = model_varlena(&final);
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
}
