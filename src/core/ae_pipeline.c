/*-------------------------------------------------------------------------
 *
 * ae_pipeline.c
 *	  From rows (or exact moments) to a finished model: train or solve,
 *	  measure, describe, and decide about deployment.
 *
 * ae_build runs these steps, each a function below:
 *   1. (alignment codes, when asked: ae_align.h);
 *   2. fit: the exact solve from moments, or gradient training (warm
 *      started from a deployed model, or with a scaling preset from exact
 *      moments of every row read), which also returns the PCA of the same
 *      latent size that it fitted on the training rows with the model's
 *      scaling: epoch 0 of a PCA-residual model, and the baseline kept for
 *      evaluate(), so that evaluate()'s PCA figures, the NOTICEs and the
 *      metrics' pca_validation_loss are one PCA;
 *   3. evaluation rows: the validation rows, or without them up to
 *      THRESHOLD_ROWS evenly spaced rows; their per-row errors in input
 *      units give the anomaly threshold (a quantile), and on the same raw
 *      rows ae_deploy_decide scores the new and the deployed model for
 *      deploy => 'if_better';
 *   4. the JSON documents: the resolved configuration and the deterministic
 *      training figures, which also go into the model's metadata.
 * Every step reports through ae_error; nothing is half-built on failure.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pipeline.h"
#include "ae_sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THRESHOLD_ROWS	10000	/* rows the threshold is taken on without
								 * validation rows */
#define EVAL_BLOCK		256		/* rows per block of error evaluation */

/* Allocate n bytes or record an out-of-memory failure. */
static void *
alloc_or_fail(const ae_allocator *alloc, size_t n, ae_error *err)
{
	void	   *p = alloc->alloc(alloc->ctx, n ? n : 1);

	if (p == NULL)
		ae_fail(err, AE_ENOMEM, "out of memory");
	return p;
}

/* The model of the exact solve: linear, no hidden layer. */
static ae_status
solve_pca(ae_model *pca, const ae_arch *arch, const ae_moments *mom,
		  double *explained, double *residual, const ae_train_callbacks *cb,
		  const ae_allocator *alloc)
{
	ae_arch		a = *arch;
	ae_status	st;

	a.n_hidden = 0;
	a.activation = AE_ACT_LINEAR;
	a.output_activation = AE_ACT_LINEAR;
	st = ae_model_create(pca, &a, 0, alloc);
	if (st != AE_OK)
		return st;
	st = ae_pca_solve(pca, mom, explained, residual, cb, alloc);
	if (st != AE_OK)
		ae_model_destroy(pca);
	return st;
}

/*
 * Step 2a: the exact solve; the rows (if any) are scaled for step 3 (for
 * 'l2' before their moments are taken, their lengths kept).
 */
static ae_status
fit_exact(const ae_build_input *in, ae_model *model, const ae_allocator *alloc,
		  ae_build_output *out, ae_error *err)
{
	const ae_options *o = in->opts;
	int			d = o->arch.n_input;
	size_t		n = (size_t) in->counts.kept;
	const ae_moments *mom = in->moments;
	ae_moments	own;
	double	   *storage = NULL;
	double		t0 = ae_seconds(),
				residual = 0.0;
	ae_status	st = AE_OK;

	if (o->arch.scaling == AE_SCALING_L2 && in->rows)
	{
		out->exact_norms = alloc_or_fail(alloc, sizeof(float) * (n ? n : 1), err);
		if (out->exact_norms == NULL)
			return AE_ENOMEM;
		for (size_t r = 0; r < n; r++)
			out->exact_norms[r] = ae_l2_normalize(in->rows[r], d);
		out->res.row_norms = out->exact_norms;
	}
	if (mom == NULL)
	{
		storage = alloc_or_fail(alloc, sizeof(double) * ae_moments_doubles(d, 1), err);
		if (storage == NULL)
			return AE_ENOMEM;
		ae_moments_init(&own, d, 1, storage);
		st = ae_moments_of_rows(&own, in->rows, n, 1, &in->cb, alloc);
		mom = &own;
	}
	out->explained = alloc_or_fail(alloc, sizeof(double) * o->arch.latent, err);
	if (st == AE_OK && out->explained == NULL)
		st = AE_ENOMEM;
	if (st == AE_OK)
		st = solve_pca(model, &o->arch, mom, out->explained, &residual, &in->cb, alloc);
	if (storage)
		alloc->release(alloc->ctx, storage);
	if (st == AE_ENOMEM)
		return ae_fail(err, st, "out of memory");
	if (st != AE_OK)
		return ae_fail(err, st, "the eigensolver failed on the covariance matrix");
	out->res.train_rows = n;
	out->res.final_train_loss = residual;
	out->res.final_validation_loss = NAN;
	out->res.seconds = ae_seconds() - t0;
	for (size_t r = 0; r < n && in->rows && o->arch.scaling != AE_SCALING_L2; r++)
		ae_scaling_apply(model, in->rows[r]);
	return AE_OK;
}

/* The hint of a diverged training: what to change, given what was set. */
static void
divergence_hint(const ae_options *o, ae_error *err)
{
	if (o->cfg.weight_decay > 1.0 || o->cfg.sparsity > 1.0)
		ae_error_hint(err, "Lower %s (it is %g) or learning_rate.",
					  o->cfg.weight_decay > 1.0 ? "weight_decay" : "sparsity",
					  o->cfg.weight_decay > 1.0 ? o->cfg.weight_decay : o->cfg.sparsity);
	else if (o->arch.scaling == AE_SCALING_NONE)
		ae_error_hint(err, "Lower learning_rate, or use scaling => 'standard'.");
	else
		ae_error_hint(err, "Lower learning_rate (it is %g).", o->cfg.learning_rate);
}

/*
 * Whether a fitted model can be stored and loaded: every weight and scaling
 * value finite (a scale computed in double can overflow float, e.g. a
 * feature spanning -2e38 .. 2e38 with scaling minmax).
 */
static ae_status
check_model(const ae_options *o, const ae_model *m, ae_error *err)
{
	for (int i = 0; i < m->arch.n_input; i++)
		if (!isfinite(m->shift[i]) || !isfinite(m->scale[i]) || !(m->scale[i] > 0.0f))
		{
			ae_fail(err, AE_EINVAL, "feature %d spans a range too wide for scaling %s in float32",
					i + 1, ae_scaling_name(o->arch.scaling));
			ae_error_hint(err, "Rescale the column, or use scaling => 'standard'.");
			return AE_EINVAL;
		}
	for (size_t i = 0; i < m->n_params; i++)
		if (!isfinite(m->params[i]))
		{
			ae_fail(err, AE_EDIVERGED, "the fitted model has a non-finite weight");
			divergence_hint(o, err);
			return AE_EDIVERGED;
		}
	return AE_OK;
}

/* Step 2b: gradient training. */
static ae_status
fit_sgd(const ae_build_input *in, ae_model *model, const ae_allocator *alloc,
		ae_build_output *out, ae_error *err)
{
	const ae_options *o = in->opts;
	ae_train_config cfg = o->cfg;
	ae_status	st;

	cfg.keep_pca = 1;			/* the baseline, and pca_validation_loss */
	if (in->init)
	{
		ae_model_copy_values(model, in->init);
		cfg.warm_start = 1;
	}
	else if (in->moments)
	{
		ae_scaling_from_moments(model, in->moments);
		cfg.preset_scaling = 1;
	}
	st = ae_train(model, in->rows, (size_t) in->counts.kept, &cfg, &in->cb,
				  alloc, &out->res);
	if (st == AE_EDIVERGED)
	{
		ae_fail(err, st, "training diverged: the loss is no longer finite");
		if (cfg.epochs > 0)
			ae_error_detail(err, "It happened in epoch %d of %d.",
							out->res.epochs_run + 1, cfg.epochs);
		else
			ae_error_detail(err, "It happened in epoch %d.", out->res.epochs_run + 1);
		divergence_hint(o, err);
		return st;
	}
	if (st == AE_ELIMIT)
		return ae_fail(err, st, "the residual network handles at most %d dimensions",
					   AE_MAX_PCA_DIM);
	if (st != AE_OK)
		return ae_fail(err, st, "training failed: %s", ae_status_message(st));
	/* the PCA of the training rows is the baseline, when one is wanted */
	if (in->want_baseline)
	{
		out->baseline = out->res.pca;
		memset(&out->res.pca, 0, sizeof(out->res.pca));
	}
	else
		ae_model_destroy(&out->res.pca);
	return AE_OK;
}

/* Comparison for qsort of doubles. */
static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/* The value at probability p of n sorted values (nearest rank). */
static double
nearest_rank(const double *sorted, size_t n, double p)
{
	return sorted[(size_t) fmin((double) (n - 1), floor(p * (double) (n - 1) + 0.5))];
}

/* The threshold at probability p, interpolated in a stored distribution. */
double
ae_quantile_threshold(const double *quantiles, int n, double p)
{
	double		pos = p * (n - 1);
	int			lo = (int) floor(pos);

	if (n < 1 || !(p >= 0.0 && p <= 1.0))
		return NAN;
	if (lo >= n - 1)
		return quantiles[n - 1];
	return quantiles[lo] + (pos - lo) * (quantiles[lo + 1] - quantiles[lo]);
}

/* Step 3: the evaluation rows, the threshold, the loss, the raw copy. */
static ae_status
evaluate_rows(const ae_build_input *in, const ae_model *model,
			  const ae_allocator *alloc, ae_build_output *out, ae_error *err)
{
	size_t		n = (size_t) in->counts.kept;
	int			d = model->arch.n_input;
	size_t	   *idx;
	size_t		n_eval;
	double	   *errs;
	float	   *work;
	double		quantile = in->opts->anomaly_quantile;

	if (in->rows == NULL || n == 0)
		return AE_OK;
	if (out->res.validation_rows > 0)
	{
		idx = out->res.validation_index;
		n_eval = out->res.validation_rows;
	}
	else
	{
		size_t		step = n > THRESHOLD_ROWS ? (n + THRESHOLD_ROWS - 1) / THRESHOLD_ROWS : 1;

		n_eval = (n + step - 1) / step;
		idx = alloc_or_fail(alloc, sizeof(size_t) * n_eval, err);
		if (idx == NULL)
			return AE_ENOMEM;
		for (size_t i = 0; i < n_eval; i++)
			idx[i] = i * step;
	}
	errs = alloc_or_fail(alloc, sizeof(double) * n_eval, err);
	work = alloc_or_fail(alloc, sizeof(float) * ae_row_errors_floats(model, EVAL_BLOCK), err);
	if (errs && work)
	{
		ae_row_errors(model, in->rows, idx, n_eval, EVAL_BLOCK, out->res.row_norms,
					  work, errs);
		out->eval_loss = 0.0;
		for (size_t i = 0; i < n_eval; i++)
			out->eval_loss += errs[i];
		out->eval_loss /= (double) n_eval;
		qsort(errs, n_eval, sizeof(double), cmp_double);
		out->anomaly_threshold = nearest_rank(errs, n_eval, quantile);
		out->quantiles = alloc_or_fail(alloc, sizeof(double) * AE_QUANTILES, err);
		if (out->quantiles)
			for (int q = 0; q < AE_QUANTILES; q++)
				out->quantiles[q] = nearest_rank(errs, n_eval,
												 (double) q / (AE_QUANTILES - 1));
		out->eval_on_validation = out->res.validation_rows > 0;
		out->n_evaluated = n_eval;
		if (in->keep_eval_rows)
		{
			/* back to raw units: x = x' * scale + shift (times the length) */
			out->eval_raw = alloc_or_fail(alloc, sizeof(float) * n_eval * d, err);
			if (out->eval_raw)
			{
				for (size_t i = 0; i < n_eval; i++)
				{
					ae_scaling_unapply(model, in->rows[idx[i]], out->eval_raw + i * d);
					if (out->res.row_norms)
						for (int f = 0; f < d; f++)
							out->eval_raw[i * d + f] *= out->res.row_norms[idx[i]];
				}
				out->n_eval = n_eval;
			}
		}
	}
	if (work)
		alloc->release(alloc->ctx, work);
	if (errs)
		alloc->release(alloc->ctx, errs);
	if (idx != out->res.validation_index)
		alloc->release(alloc->ctx, idx);
	if (errs == NULL || work == NULL || out->quantiles == NULL ||
		(in->keep_eval_rows && out->eval_raw == NULL))
		return AE_ENOMEM;
	return AE_OK;
}

/* The deterministic training figures as members of an open object. */
static void
training_members(ae_json *j, const ae_build_output *out, int with_quantiles)
{
	const ae_train_result *res = &out->res;

	ae_json_integer(j, "rows_used", (int64_t) out->counts.kept);
	ae_json_integer(j, "rows_skipped", (int64_t) out->counts.skipped);
	ae_json_integer(j, "rows_read", (int64_t) out->counts.read);
	ae_json_bool(j, "sampled", out->counts.read > out->counts.kept);
	ae_json_integer(j, "train_rows", (int64_t) res->train_rows);
	ae_json_integer(j, "validation_rows", (int64_t) res->validation_rows);
	ae_json_integer(j, "epochs_run", res->epochs_run);
	ae_json_integer(j, "best_epoch", res->best_epoch);
	ae_json_bool(j, "stopped_early", res->stopped_early);
	if (res->curve)
	{
		/* gradient training: steps, why it stopped, the PCA it compares with */
		ae_json_integer(j, "steps", res->steps);
		ae_json_string(j, "stopped", ae_stop_name(res->stop_reason));
		ae_json_number(j, "pca_validation_loss", res->pca_validation_loss);
	}

	ae_json_number(j, "final_train_loss", res->final_train_loss);
	ae_json_number(j, "final_validation_loss", res->final_validation_loss);
	ae_json_number(j, "anomaly_threshold", out->anomaly_threshold);
	ae_json_number(j, "evaluation_error", out->eval_loss);
	ae_json_integer(j, "evaluation_rows", (int64_t) out->n_evaluated);
	ae_json_string(j, "evaluated_on", out->eval_on_validation ? "validation rows" : "training rows");
	ae_json_bool(j, "warm_started", out->warm_started);
	if (out->aligned_to)
	{
		/* mismatch: sum |z_new - z_deployed|^2 / sum |z_deployed - mean|^2 */
		ae_json_object_begin(j, "alignment");
		ae_json_integer(j, "version", out->aligned_to);
		ae_json_integer(j, "rows", (int64_t) out->align.rows);
		ae_json_number(j, "mismatch_before", out->align.before);
		ae_json_number(j, "mismatch_after", out->align.after);
		ae_json_number(j, "scale", out->align.scale);
		ae_json_object_end(j);
	}
	if (out->quantiles && with_quantiles)
	{
		/* as float32 values: enough for a threshold, half the text */
		ae_json_array_begin(j, "error_quantiles");
		for (int q = 0; q < AE_QUANTILES; q++)
			ae_json_float(j, NULL, (float) out->quantiles[q]);
		ae_json_array_end(j);
	}
	if (out->explained)
	{
		ae_json_array_begin(j, "explained_variance_ratio");
		for (int c = 0; c < out->latent; c++)
			ae_json_number(j, NULL, out->explained[c]);
		ae_json_array_end(j);
	}
}

/* Step 4: the configuration and training documents, and the metadata. */
static char *
describe(const ae_build_input *in, ae_build_output *out,
		 const ae_allocator *alloc, size_t *meta_len)
{
	ae_json		j;
	size_t		len;
	char	   *meta;

	ae_json_init(&j, alloc);
	ae_json_object_begin(&j, NULL);
	ae_json_integer(&j, "input_dim", in->opts->arch.n_input);
	ae_options_json(&j, in->opts, in->where, 0);
	ae_json_integer(&j, "threads", in->threads);
	if (in->source)
		ae_json_string(&j, "source", in->source);
	ae_json_object_end(&j);
	out->config = ae_json_finish(&j, &len);

	ae_json_init(&j, alloc);
	ae_json_object_begin(&j, NULL);
	training_members(&j, out, 1);
	ae_json_object_end(&j);
	out->training = ae_json_finish(&j, NULL);
	if (out->config == NULL || out->training == NULL)
		return NULL;

	ae_json_init(&j, alloc);
	ae_json_object_begin(&j, NULL);
	if (in->name)
		ae_json_string(&j, "name", in->name);
	else
		ae_json_null(&j, "name");
	ae_json_raw(&j, "config", out->config, len);
	ae_json_raw(&j, "training", out->training, strlen(out->training));
	ae_json_object_end(&j);
	meta = ae_json_finish(&j, meta_len);
	return meta;
}

/*
 * Before training: evenly spaced rows (at most AE_ALIGN_ROWS) and the codes
 * align_to gives them while they are raw, into *idx, *codes, *n.
 */
static ae_status
align_prepare(const ae_build_input *in, const ae_allocator *alloc,
			  size_t **idx, float **codes, size_t *n, ae_error *err)
{
	size_t		kept = (size_t) in->counts.kept;
	size_t		step = kept > AE_ALIGN_ROWS ? (kept + AE_ALIGN_ROWS - 1) / AE_ALIGN_ROWS : 1;

	*idx = NULL;
	*codes = NULL;
	*n = 0;
	if (in->align_to == NULL || in->rows == NULL || kept < 2)
		return AE_OK;
	*n = (kept + step - 1) / step;
	*idx = alloc_or_fail(alloc, sizeof(size_t) * *n, err);
	if (*idx == NULL)
		return AE_ENOMEM;
	for (size_t i = 0; i < *n; i++)
		(*idx)[i] = i * step;
	*codes = ae_align_codes(in->align_to, (const float *const *) in->rows, *idx, *n,
							alloc, &in->cb);
	return *codes ? AE_OK : ae_fail(err, AE_ENOMEM, "out of memory");
}

/* Build a model from rows or moments; see the file header. */
ae_status
ae_build(const ae_build_input *in, const ae_allocator *alloc,
		 ae_build_output *out, ae_error *err)
{
	const ae_options *o = in->opts;
	ae_model	model;
	ae_status	st;
	char	   *meta;
	size_t		meta_len;
	size_t	   *align_idx = NULL,
				align_n = 0;
	float	   *align_codes = NULL;

	memset(out, 0, sizeof(*out));
	memset(&model, 0, sizeof(model));
	out->alloc = *alloc;
	out->counts = in->counts;
	out->latent = o->arch.latent;
	out->warm_started = in->init != NULL;
	out->anomaly_threshold = NAN;
	out->eval_loss = NAN;
	out->res.pca_validation_loss = NAN;
	out->res.pca_train_loss = NAN;
	st = ae_model_create(&model, &o->arch, 0, alloc);
	if (st == AE_ENOMEM)
		return ae_fail(err, st, "out of memory");
	if (st != AE_OK || ae_model_serialized_size(&model) > AE_MAX_MODEL_BYTES)
	{
		ae_model_destroy(&model);
		ae_fail(err, AE_ELIMIT, "model is too large");
		ae_error_detail(err, "A model of this shape needs more than %d MB.",
						(int) (AE_MAX_MODEL_BYTES >> 20));
		return AE_ELIMIT;
	}
	st = align_prepare(in, alloc, &align_idx, &align_codes, &align_n, err);
	if (st == AE_OK)
	{
		if (o->solver == AE_SOLVER_EXACT)
		{
			ae_model_destroy(&model);
			st = fit_exact(in, &model, alloc, out, err);
		}
		else
			st = fit_sgd(in, &model, alloc, out, err);
	}
	if (st == AE_OK)
		st = check_model(o, &model, err);
	if (st == AE_OK && align_codes && !ae_align_compatible(&model, in->align_to))
		st = ae_fail(err, AE_EINVAL, "the codes cannot be aligned: the model and the deployed version differ in input or code size, or the code is not linear");
	if (st == AE_OK && align_codes)
	{
		/* the rows are scaled now, as training left them */
		st = ae_align(&model, in->rows, align_idx, align_n, 1, align_codes, alloc,
					  &in->cb, &out->align, err);
		if (st == AE_OK)
		{
			out->aligned_to = in->align_version;
			st = check_model(o, &model, err);
		}
	}
	if (align_idx)
		alloc->release(alloc->ctx, align_idx);
	if (align_codes)
		alloc->release(alloc->ctx, align_codes);
	if (st == AE_OK)
		st = evaluate_rows(in, &model, alloc, out, err);
	if (st == AE_OK)
	{
		meta = describe(in, out, alloc, &meta_len);
		if (meta == NULL)
			st = ae_fail(err, AE_ENOMEM, "out of memory");
		else
		{
			st = ae_model_with_meta(&out->model, &model, meta, meta_len, alloc);
			alloc->release(alloc->ctx, meta);
			if (st != AE_OK)
				ae_fail(err, st, "out of memory");
		}
	}
	ae_model_destroy(&model);
	if (st != AE_OK)
		ae_build_output_free(out);
	return st;
}

/*
 * Bytes a build of options o (resolved) on `rows` rows needs at its peak,
 * roughly: the rows (and their pointers and keys), and for the exact
 * solver the co-moment and covariance matrices and the eigensolver's
 * workspace, else the model, gradients, two optimiser moments and the best
 * weights, the layers' activations and deltas for a batch, and the PCA
 * baseline's matrices.
 */
double
ae_build_bytes(const ae_options *o, uint64_t rows)
{
	const ae_arch *a = &o->arch;
	double		d = a->n_input,
				bytes = (double) rows * (4.0 * d + 16.0);
	double		pca = 8.0 * (2.0 * d * d + 4.0 * d * a->latent + 40.0 * d);

	/* alignment: two code sets in float, centred copies in double */
	bytes += 24.0 * (double) (rows < AE_ALIGN_ROWS ? rows : AE_ALIGN_ROWS) * a->latent;
	if (o->solver == AE_SOLVER_EXACT)
		return bytes + pca;
	{
		double		p = (double) ae_arch_param_count(a);
		double		batch = (double) (rows < (uint64_t) o->cfg.batch_size ?
									  rows : (uint64_t) o->cfg.batch_size);
		double		widest = d,
					units = 2.0 * d + a->latent;

		for (int i = 0; i < a->n_hidden; i++)
		{
			units += 2.0 * a->hidden[i];
			if (a->hidden[i] > widest)
				widest = a->hidden[i];
		}
		bytes += 4.0 * (5.0 * p + batch * (units + 2.0 * widest + 4.0 * d + a->latent));
		if (o->cfg.similarity_weight > 0.0)
			bytes += 4.0 * (double) ae_sim_work_floats((int) batch, a->latent, a->n_input);
		if (a->n_input <= AE_MAX_PCA_DIM)
			bytes += pca + 8.0 * (double) rows;	/* and the row pointers */

	}
	return bytes;
}

/* Release everything a build produced. */
void
ae_build_output_free(ae_build_output *out)
{
	const ae_allocator *a = &out->alloc;

	ae_model_destroy(&out->model);
	ae_model_destroy(&out->baseline);
	if (a->release)
	{
		if (out->config)
			a->release(a->ctx, out->config);
		if (out->training)
			a->release(a->ctx, out->training);
		if (out->eval_raw)
			a->release(a->ctx, out->eval_raw);
		if (out->explained)
			a->release(a->ctx, out->explained);
		if (out->quantiles)
			a->release(a->ctx, out->quantiles);
		if (out->res.curve)
			a->release(a->ctx, out->res.curve);
		if (out->exact_norms)
			a->release(a->ctx, out->exact_norms);
	}
	ae_model_destroy(&out->res.pca);
	out->exact_norms = NULL;
	out->res.row_norms = NULL;
	out->config = out->training = NULL;
	out->eval_raw = NULL;
	out->explained = NULL;
	out->quantiles = NULL;
	out->res.curve = NULL;
}

/* Whether a deployed model's architecture allows warm starting o. */
ae_status
ae_warm_start_check(const ae_model *m, const ae_options *o, const char *name,
					int version, ae_error *err)
{
	const ae_arch *a = &m->arch,
			   *b = &o->arch;

	if (a->n_input == b->n_input && a->latent == b->latent &&
		a->n_hidden == b->n_hidden && a->activation == b->activation &&
		a->output_activation == b->output_activation && a->scaling == b->scaling &&
		a->residual == b->residual &&
		memcmp(a->hidden, b->hidden, sizeof(int) * a->n_hidden) == 0)
		return AE_OK;
	ae_fail(err, AE_EINVAL, "warm_start needs the deployed version's architecture");
	ae_error_detail(err, "Version %d of \"%s\" has input_dim %d, latent_dim %d, %d hidden layers, "
					"activation %s, output_activation %s, scaling %s and %s.",
					version, name, a->n_input, a->latent, a->n_hidden,
					ae_activation_name(a->activation),
					ae_activation_name(a->output_activation),
					ae_scaling_name(a->scaling),
					a->residual ? "the residual network" : "no residual network");
	return AE_EINVAL;

}

/* Mean error (input units) of a model on raw rows, in blocks. */
ae_status
ae_mean_error(const ae_model *m, const float *rows, size_t n,
			  const ae_train_callbacks *cb, const ae_allocator *alloc,
			  double *mean)
{
	float	   *work = alloc->alloc(alloc->ctx, sizeof(float) * ae_infer_floats(m, EVAL_BLOCK));
	double		err[EVAL_BLOCK];
	double		sum = 0.0;

	if (work == NULL)
		return AE_ENOMEM;
	for (size_t start = 0; start < n; start += EVAL_BLOCK)
	{
		int			cnt = (int) (n - start < EVAL_BLOCK ? n - start : EVAL_BLOCK);

		ae_reconstruction_error(m, rows + start * m->arch.n_input, cnt, err, work);
		for (int i = 0; i < cnt; i++)
			sum += err[i];
		if (cb && cb->on_batch)
			cb->on_batch(cb->ctx);
	}
	alloc->release(alloc->ctx, work);
	*mean = n ? sum / (double) n : NAN;
	return AE_OK;
}

/* Decide whether train() deploys the new version. */
ae_status
ae_deploy_decide(ae_deploy_decision *dec, ae_deploy mode,
				 const ae_build_output *out, const ae_model *deployed,
				 int deployed_version, const ae_train_callbacks *cb,
				 const ae_allocator *alloc, ae_error *err)
{
	memset(dec, 0, sizeof(*dec));
	dec->mode = mode;
	dec->deploy = 1;
	dec->new_loss = out->eval_loss;
	dec->deployed_loss = NAN;
	if (deployed == NULL)
	{
		dec->first_version = 1;
		return AE_OK;
	}
	if (mode == AE_DEPLOY_NEVER)
		dec->deploy = 0;
	else if (mode == AE_DEPLOY_IF_BETTER)
	{
		double		old_loss = NAN,
					new_loss = NAN;

		/*
		 * Both scored the same way on the same raw rows, so a version that
		 * kept the deployed weights (a warm start whose epoch 0 won) ties
		 * with it instead of winning or losing by rounding.
		 */
		if (ae_mean_error(&out->model, out->eval_raw, out->n_eval, cb, alloc,
						  &new_loss) != AE_OK ||
			(deployed->arch.n_input == out->model.arch.n_input &&
			 ae_mean_error(deployed, out->eval_raw, out->n_eval, cb, alloc,
						   &old_loss) != AE_OK))
			return ae_fail(err, AE_ENOMEM, "out of memory");
		dec->compared = 1;
		dec->compared_version = deployed_version;
		dec->new_loss = new_loss;
		dec->deployed_loss = old_loss;
		dec->rows = out->n_eval;
		dec->rows_are_validation = out->eval_on_validation;
		/* a deployed model that cannot score these rows is replaced */
		dec->deploy = !(old_loss <= new_loss);

	}
	return AE_OK;
}

/* Why a version was or was not deployed, in words, into buf. */
static const char *
decision_reason(const ae_deploy_decision *dec, char *buf, size_t len)
{
	if (dec->first_version)
		return "first version of the name";
	if (dec->mode == AE_DEPLOY_ALWAYS)
		return "deploy => always";
	if (dec->mode == AE_DEPLOY_NEVER)
		return "deploy => never";
	snprintf(buf, len, "%s the error of version %d on the same rows",
			 dec->deploy ? "lower than" : "not lower than", dec->compared_version);
	return buf;
}

/* The metrics document: the training figures, time, curve and decision. */
char *
ae_metrics_json(const ae_build_output *out, const ae_deploy_decision *dec,
				const ae_allocator *alloc)
{
	static const char *const modes[] = {"always", "if_better", "never"};
	ae_json		j;

	ae_json_init(&j, alloc);
	ae_json_object_begin(&j, NULL);
	training_members(&j, out, 0);
	ae_json_number(&j, "seconds", out->res.seconds);
	ae_json_array_begin(&j, "loss_curve");
	for (int e = 0; out->res.curve && e < out->res.epochs_run + out->res.has_epoch0; e++)
	{
		const ae_epoch_stats *s = &out->res.curve[e];

		ae_json_object_begin(&j, NULL);
		ae_json_integer(&j, "epoch", s->epoch);
		ae_json_number(&j, "train_loss", s->train_loss);
		ae_json_number(&j, "validation_loss", s->validation_loss);
		ae_json_number(&j, "learning_rate", s->learning_rate);
		ae_json_number(&j, "seconds", s->seconds);
		ae_json_object_end(&j);
	}
	ae_json_array_end(&j);
	if (dec)
	{
		char		reason[96];

		ae_json_object_begin(&j, "deployment");
		ae_json_string(&j, "mode", modes[dec->mode]);
		ae_json_string(&j, "reason", decision_reason(dec, reason, sizeof(reason)));
		if (dec->compared)
		{
			ae_json_number(&j, "new_loss", dec->new_loss);
			ae_json_number(&j, "deployed_loss", dec->deployed_loss);
			ae_json_integer(&j, "compared_with_version", dec->compared_version);
			ae_json_integer(&j, "rows", (int64_t) dec->rows);
			ae_json_string(&j, "rows_are", dec->rows_are_validation ? "validation" : "all");
		}
		ae_json_bool(&j, "deployed", dec->deploy);
		ae_json_object_end(&j);
	}
	ae_json_object_end(&j);
	return ae_json_finish(&j, NULL);
}
