/*-------------------------------------------------------------------------
 *
 * ae_train.c
 *	  The training loop: split, scale, start at PCA, shuffle, corrupt,
 *	  step, keep the best epoch, stop.
 *
 * Training is a pure function of the rows, the configuration and the seed
 * (and of OpenBLAS's thread count, which fixes its summation order): one
 * ae_rng drives the validation split, the weight initialisation, every
 * epoch's shuffle and the corruption of denoising inputs.  The PCA and the
 * data-dependent initialisation draw nothing.
 *
 * The rows are the caller's (row pointers, so they may live in chunks) and
 * are scaled in place.  Then, when the model is a PCA-residual network (or
 * the caller wants the PCA kept as a baseline), the exact PCA of the
 * training rows is computed (ae_resid.c) and the network started at it:
 * that starting point is epoch 0, whose validation loss is PCA's, and it
 * is a candidate for the epoch kept like any other (a warm start's epoch 0
 * is the weights it starts from).  So a residual model's validation loss
 * is never above PCA's on the same rows.
 *
 * Each minibatch is gathered into a contiguous buffer, corrupted into a
 * second one for denoising, un-scaled into a third for the similarity term
 * (whose targets are cosines in the user's units), pushed through
 * ae_loss_grad_ex and the optimiser, then on_batch runs (the glue checks
 * for interrupts there; every other pass over rows, the PCA's and the
 * validation's included, calls it per block too).
 *
 * Stopping.  With epochs given: after that many epochs, or after patience
 * epochs without a better validation objective.  Automatic (epochs 0):
 * the unit is the optimiser step, since progress is per step whatever the
 * table's size.  With spe steps per epoch and window = max(patience,
 * ceil(AE_AUTO_WINDOW_STEPS / spe)) epochs, training stops at
 * AE_AUTO_MAX_STEPS steps (checked after every batch, so the last epoch
 * may be partial: "cap"), or after at least AE_AUTO_MIN_STEPS steps when
 * the best validation objective has not fallen by AE_AUTO_MIN_REL_PROGRESS
 * (relative) over the last window epochs ("plateau").  Without validation
 * rows there is no plateau and the run goes to the cap; the last epoch is
 * kept, unless it reconstructs the rows the PCA was fitted on worse than
 * the PCA does, and then epoch 0 is.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_core.h"
#include "ae_options.h"
#include "ae_resid.h"
#include "ae_sim.h"

#include <math.h>
#include <string.h>

/* Corrupt a batch (normalized units) into out for denoising training. */
static void
corrupt(const ae_train_config *cfg, const float *clean, float *out, int rows,
		int d, const float *nlo, const float *nhi, ae_rng *rng)
{
	size_t		total = (size_t) rows * d;

	if (cfg->noise == AE_NOISE_GAUSSIAN)
	{
		double		sigma = cfg->noise_level;

		for (size_t i = 0; i < total; i++)
		{
			int			f = (int) (i % d);
			float		v = clean[i] + (float) (sigma * ae_rng_normal(rng));

			out[i] = v < nlo[f] ? nlo[f] : (v > nhi[f] ? nhi[f] : v);
		}
	}
	else
	{
		/* masking: each element is dropped to 0 with probability level */
		double		p = cfg->noise_level;

		for (size_t i = 0; i < total; i++)
			out[i] = ae_rng_uniform(rng) < p ? 0.0f : clean[i];
	}
}

/* Number of validation rows for n rows, leaving at least one to train on. */
static size_t
validation_rows(size_t n, double frac)
{
	size_t		v;

	if (frac <= 0.0 || n < 2)
		return 0;
	v = (size_t) floor((double) n * frac + 0.5);
	if (v == 0)
		v = 1;
	if (v >= n)
		v = n - 1;
	return v;
}

/* Names of the stop reasons, for the metrics. */
const char *
ae_stop_name(ae_stop s)
{
	static const char *const names[] = {"epochs", "patience", "cap", "plateau"};

	return (unsigned) s < AE_STOP_COUNT ? names[s] : "?";
}

/* Everything one training run keeps besides the model and the result. */
typedef struct train_state
{
	const ae_train_config *cfg;
	const ae_train_callbacks *cb;
	int			d;
	int			B;
	size_t		P;
	size_t		n_val;
	size_t		n_train;
	size_t	   *idx;			/* (rows) validation rows first */
	size_t	   *train_idx;		/* idx + n_val */
	double	   *best_hist;		/* (max_epochs + 1) best objective so far */
	float	   *grads,
			   *mom1,
			   *mom2,
			   *best,			/* (P) the kept epoch's parameters */
			   *work,			/* ae_grad_floats(m, B) */
			   *clean,			/* (B, d) */
			   *noisy,			/* (B, d) */
			   *raw,			/* (B, d) similarity targets, input units */
			   *sim_work,		/* ae_sim_work_floats(B, latent, d) */
			   *nlo,			/* (d) each feature's range, scaled */
			   *nhi;
	ae_loss_opts lo;			/* the loss's terms and buffers */
	ae_pca_fit	pca;			/* block NULL when not computed */
	size_t		n_pca;			/* training rows the PCA was fitted on */
} train_state;

/* Validation objective (and MSE into *mse) of m on the validation rows. */
static double
validate(const ae_model *m, float *const *rows, train_state *t, double *mse)
{
	return ae_val_objective(m, rows, t->idx, t->n_val, t->B, &t->lo, t->raw,
							t->work, t->cb, mse);
}

/*
 * The mean feature variance of the training rows (scaled), times the
 * similarity weight, into *weight: the similarity term's weight where no
 * PCA gives the variance (inputs wider than AE_MAX_PCA_DIM).
 */
static ae_status
mean_variance(float *const *rows, train_state *t, const ae_allocator *alloc,
			  double *weight)
{
	int			d = t->d;
	double	   *storage = alloc->alloc(alloc->ctx, sizeof(double) * ae_moments_doubles(d, 0));
	float	  **sel = alloc->alloc(alloc->ctx, sizeof(float *) * t->n_train);
	ae_moments	mom;
	ae_status	st = AE_ENOMEM;

	if (storage && sel)
	{
		double		total = 0.0;

		for (size_t i = 0; i < t->n_train; i++)
			sel[i] = rows[t->train_idx[i]];
		ae_moments_init(&mom, d, 0, storage);
		st = ae_moments_of_rows(&mom, sel, t->n_train, 1, t->cb, alloc);
		for (int i = 0; i < d; i++)
			total += mom.m2[i] / (double) t->n_train;
		*weight = t->cfg->similarity_weight * total / d;
	}
	if (storage)
		alloc->release(alloc->ctx, storage);
	if (sel)
		alloc->release(alloc->ctx, sel);
	return st;
}

/*
 * The PCA of the training rows: started from for a residual model (unless
 * warm-started), kept as res->pca if asked, and in any case the source of
 * res->pca_validation_loss, res->pca_train_loss and the mean variance that
 * weighs the similarity term.
 */
static ae_status
start_at_pca(ae_model *m, float *const *rows, train_state *t,
			 const ae_allocator *alloc, ae_train_result *res)
{
	const ae_train_config *cfg = t->cfg;
	int			d = t->d;
	int			from_pca = m->arch.residual && !cfg->warm_start;
	ae_status	st;

	if (d > AE_MAX_PCA_DIM && !from_pca && cfg->similarity_weight > 0.0)
		return mean_variance(rows, t, alloc, &t->lo.sim_weight);
	if (d > AE_MAX_PCA_DIM || t->n_train == 0 ||
		!(from_pca || cfg->keep_pca || cfg->similarity_weight > 0.0))
		return from_pca ? AE_ELIMIT : AE_OK;
	t->n_pca = ae_pca_rows(t->n_train, d);
	st = ae_pca_of_rows(&t->pca, rows, t->train_idx, t->n_pca, d,
						m->arch.latent, t->cb, alloc);
	if (st != AE_OK)
		return st;
	res->pca_train_loss = ae_pca_fit_residual(&t->pca);
	/* lambda of the similarity term is per unit of mean feature variance */
	t->lo.sim_weight = cfg->similarity_weight * t->pca.trace / d;
	if (from_pca)
	{
		ae_resid_init_pca(m, &t->pca);
		st = ae_resid_init_data(m, rows, t->train_idx,
								t->n_train < AE_INIT_SAMPLE_ROWS ? t->n_train :
								AE_INIT_SAMPLE_ROWS, t->cb, alloc);
	}
	if (st == AE_OK && (cfg->keep_pca || (!from_pca && t->n_val > 0)))
	{
		ae_model	pm;
		ae_loss_opts plain = t->lo;
		ae_loss_opts keep = t->lo;

		st = ae_pca_model(&pm, m, &t->pca, alloc);
		if (st != AE_OK)
			return st;
		if (t->n_val > 0 && !from_pca)
		{
			/* the PCA's reconstruction alone, whatever the objective */
			plain.sim_weight = 0.0;
			t->lo = plain;
			validate(&pm, rows, t, &res->pca_validation_loss);
			t->lo = keep;
		}
		if (cfg->keep_pca)
			res->pca = pm;
		else
			ae_model_destroy(&pm);
	}
	return st;
}

/* Epoch 0: the starting point's losses, a candidate for the kept epoch. */
static void
epoch_zero(const ae_model *m, float *const *rows, train_state *t,
		   ae_train_result *res)
{
	ae_epoch_stats *s = &res->curve[0];
	double		t0 = ae_seconds();
	int			pca = m->arch.residual && !t->cfg->warm_start;

	s->epoch = 0;
	s->train_loss = pca ? res->pca_train_loss : NAN;
	s->validation_loss = s->validation_objective = NAN;
	if (t->n_val)
		s->validation_objective = validate(m, rows, t, &s->validation_loss);
	if (pca)
		res->pca_validation_loss = s->validation_loss;
	s->learning_rate = t->cfg->learning_rate;
	s->seconds = ae_seconds() - t0;
	res->has_epoch0 = 1;
	memcpy(t->best, m->params, sizeof(float) * t->P);
	if (t->cb && t->cb->on_epoch)
		t->cb->on_epoch(t->cb->ctx, s);
}

/*
 * One epoch of minibatches over the shuffled training rows; stops early
 * at max_steps steps (automatic training).  Fills s's train loss (over the
 * rows seen).  AE_EDIVERGED if a loss is not finite.
 */
static ae_status
run_epoch(ae_model *m, float *const *rows, train_state *t, ae_optim *opt,
		  ae_rng *rng, long max_steps, long *steps, ae_epoch_stats *s)
{
	const ae_train_config *cfg = t->cfg;
	int			d = t->d;
	int			unscale = m->arch.scaling == AE_SCALING_STANDARD ||
		m->arch.scaling == AE_SCALING_MINMAX;
	double		sq = 0.0;
	size_t		seen = 0;

	ae_rng_shuffle(rng, t->train_idx, t->n_train);
	for (size_t start = 0; start < t->n_train; start += t->B)
	{
		int			cnt = (int) (t->n_train - start < (size_t) t->B ?
								 t->n_train - start : (size_t) t->B);
		const float *input = t->clean;
		double		mse,
					loss;

		for (int r = 0; r < cnt; r++)
			memcpy(t->clean + (size_t) r * d, rows[t->train_idx[start + r]],
				   sizeof(float) * d);
		if (cfg->noise != AE_NOISE_NONE && cfg->noise_level > 0.0)
		{
			corrupt(cfg, t->clean, t->noisy, cnt, d, t->nlo, t->nhi, rng);
			input = t->noisy;
		}
		if (t->lo.sim_weight > 0.0)
		{
			/* cosines of the clean rows in the user's units */
			if (unscale)
				for (int r = 0; r < cnt; r++)
					ae_scaling_unapply(m, t->clean + (size_t) r * d,
									   t->raw + (size_t) r * d);
			t->lo.sim_rows = unscale ? t->raw : t->clean;
		}
		loss = ae_loss_grad_ex(m, input, t->clean, cnt, &t->lo, t->grads,
							   t->work, &mse, NULL);
		if (!isfinite(loss))
			return AE_EDIVERGED;
		ae_optim_step(opt, m->params, t->grads);
		sq += mse * cnt;
		seen += (size_t) cnt;
		if (t->cb && t->cb->on_batch)
			t->cb->on_batch(t->cb->ctx);
		if (++*steps >= max_steps)
			break;
	}
	s->train_loss = sq / (double) seen;
	return AE_OK;
}

/*
 * Without validation rows: keep the last epoch unless it reconstructs n_pca
 * training rows worse than epoch 0 (the PCA) does, and then epoch 0.
 */
static void
keep_last_or_pca(ae_model *m, float *const *rows, train_state *t,
				 ae_train_result *res)
{
	ae_loss_opts keep = t->lo;
	double		last,
				pca;

	t->lo.sim_weight = 0.0;
	ae_val_objective(m, rows, t->train_idx, t->n_pca, t->B, &t->lo, t->raw,
					 t->work, t->cb, &last);
	/* the gradients' buffer holds the last epoch while epoch 0 is scored */
	memcpy(t->grads, m->params, sizeof(float) * t->P);
	memcpy(m->params, t->best, sizeof(float) * t->P);
	ae_val_objective(m, rows, t->train_idx, t->n_pca, t->B, &t->lo, t->raw,
					 t->work, t->cb, &pca);
	t->lo = keep;
	if (last <= pca)
		memcpy(m->params, t->grads, sizeof(float) * t->P);
	else
		res->best_epoch = 0;
}

/*
 * Allocate the run's buffers (one block) and the result's curve (with the
 * validation index and the rows' lengths); AE_ENOMEM leaves nothing.
 */
static ae_status
allocate(ae_model *m, train_state *t, size_t n_rows, int max_epochs,
		 const ae_allocator *alloc, ae_train_result *res, void **block)
{
	int			d = t->d,
				B = t->B;
	int			sim = t->cfg->similarity_weight > 0.0;
	size_t		floats = 4 * t->P + ae_grad_floats(m, B) + 3 * (size_t) B * d +
		2 * (size_t) d + (sim ? ae_sim_work_floats(B, m->arch.latent, d) : 0);
	size_t		l2 = m->arch.scaling == AE_SCALING_L2 ? n_rows : 0;
	float	   *f;

	*block = alloc->alloc(alloc->ctx, sizeof(size_t) * n_rows +
						  sizeof(double) * (max_epochs + 1) + sizeof(float) * floats);
	res->curve = alloc->alloc(alloc->ctx, sizeof(ae_epoch_stats) * (max_epochs + 1) +
							  sizeof(size_t) * (t->n_val ? t->n_val : 1) +
							  sizeof(float) * l2);
	if (*block == NULL || res->curve == NULL)
	{
		if (*block)
			alloc->release(alloc->ctx, *block);
		if (res->curve)
			alloc->release(alloc->ctx, res->curve);
		res->curve = NULL;
		return AE_ENOMEM;
	}
	memset(res->curve, 0, sizeof(ae_epoch_stats) * (max_epochs + 1));
	res->validation_index = (size_t *) (res->curve + max_epochs + 1);
	if (l2)
		res->row_norms = (float *) (res->validation_index + (t->n_val ? t->n_val : 1));
	t->idx = *block;
	t->best_hist = (double *) (t->idx + n_rows);
	f = (float *) (t->best_hist + max_epochs + 1);
	t->grads = f;
	t->mom1 = t->grads + t->P;
	t->mom2 = t->mom1 + t->P;
	t->best = t->mom2 + t->P;
	t->work = t->best + t->P;
	t->clean = t->work + ae_grad_floats(m, B);
	t->noisy = t->clean + (size_t) B * d;
	t->raw = t->noisy + (size_t) B * d;
	t->nlo = t->raw + (size_t) B * d;
	t->nhi = t->nlo + d;
	t->sim_work = sim ? t->nhi + d : NULL;
	memset(t->mom1, 0, sizeof(float) * 2 * t->P);
	return AE_OK;
}

/*
 * Train m on rows[0..n_rows) (raw units, scaled in place).  Unless
 * cfg->warm_start, fits the scaling and initialises the weights first (at
 * PCA for a residual model).  On success fills res, whose curve comes from
 * alloc (the caller frees it, and destroys res->pca if it was kept).
 */
ae_status
ae_train(ae_model *m, float *const *rows, size_t n_rows,
		 const ae_train_config *cfg, const ae_train_callbacks *cb,
		 const ae_allocator *alloc, ae_train_result *res)
{
	train_state t;
	void	   *block = NULL;
	ae_rng		rng;
	ae_optim	opt;
	double		t_start = ae_seconds();
	double		best_val = INFINITY;
	int			automatic = cfg->epochs == 0;
	int			max_epochs,
				window,
				wait = 0,
				use_best;
	long		spe,
				max_steps;
	ae_status	st = AE_OK;

	memset(res, 0, sizeof(*res));
	memset(&t, 0, sizeof(t));
	res->pca_validation_loss = NAN;
	res->pca_train_loss = NAN;
	if (ae_train_config_check(cfg, NULL) != AE_OK || n_rows == 0)
		return AE_EINVAL;
	t.cfg = cfg;
	t.cb = cb;
	t.d = m->arch.n_input;
	t.B = (size_t) cfg->batch_size > n_rows ? (int) n_rows : cfg->batch_size;
	t.P = m->n_params;
	t.lo.weight_decay = cfg->weight_decay;
	t.lo.sparsity = cfg->sparsity;
	t.lo.sim_temperature = cfg->similarity_temperature;

	ae_rng_seed(&rng, cfg->seed);
	t.n_val = validation_rows(n_rows, cfg->validation_fraction);
	t.n_train = n_rows - t.n_val;
	spe = (long) ((t.n_train + t.B - 1) / t.B);
	max_steps = automatic ? AE_AUTO_MAX_STEPS : (long) cfg->epochs * spe;
	max_epochs = automatic ? (int) ((AE_AUTO_MAX_STEPS + spe - 1) / spe) : cfg->epochs;
	if (max_epochs > AE_MAX_EPOCHS)
		max_epochs = AE_MAX_EPOCHS;
	window = (int) ((AE_AUTO_WINDOW_STEPS + spe - 1) / spe);
	if (window < cfg->patience)
		window = cfg->patience;

	st = allocate(m, &t, n_rows, max_epochs, alloc, res, &block);
	if (st != AE_OK)
		return st;
	t.lo.sim_work = t.sim_work;

	/* the validation rows are the first n_val of a seeded permutation */
	for (size_t i = 0; i < n_rows; i++)
		t.idx[i] = i;
	ae_rng_shuffle(&rng, t.idx, n_rows);
	t.train_idx = t.idx + t.n_val;

	if (!cfg->warm_start)
	{
		if (!cfg->preset_scaling)
			ae_scaling_fit(m, rows, n_rows, (double *) t.work);
		ae_model_init_weights(m, &rng);
	}
	ae_scale_rows(m, rows, n_rows, res->row_norms, !cfg->warm_start);
	for (int i = 0; i < t.d; i++)
	{
		t.nlo[i] = (m->lo[i] - m->shift[i]) / m->scale[i];
		t.nhi[i] = (m->hi[i] - m->shift[i]) / m->scale[i];
	}
	res->train_rows = t.n_train;
	res->validation_rows = t.n_val;

	st = start_at_pca(m, rows, &t, alloc, res);
	if (st != AE_OK)
		goto done;
	ae_optim_init(&opt, cfg->optimizer, cfg->learning_rate, t.mom1, t.mom2, t.P);

	/* epoch 0 is a candidate when it is PCA or the warm start's weights */
	use_best = t.n_val > 0 && (cfg->patience > 0 || automatic);
	if ((m->arch.residual && t.pca.block) || cfg->warm_start)
	{
		epoch_zero(m, rows, &t, res);
		if (t.n_val > 0)
		{
			use_best = 1;
			best_val = res->curve[0].validation_objective;
			if (!isfinite(best_val))
			{
				st = AE_EDIVERGED;
				goto done;
			}
		}
	}
	t.best_hist[0] = best_val;
	res->stop_reason = automatic ? AE_STOP_CAP : AE_STOP_EPOCHS;

	for (int epoch = 1; epoch <= max_epochs; epoch++)
	{
		double		t_epoch = ae_seconds();
		ae_epoch_stats *s = AE_CURVE_AT(res, epoch);

		st = run_epoch(m, rows, &t, &opt, &rng, max_steps, &res->steps, s);
		if (st != AE_OK)
			goto done;
		s->epoch = epoch;
		s->validation_loss = s->validation_objective = NAN;
		if (t.n_val)
			s->validation_objective = validate(m, rows, &t, &s->validation_loss);
		s->learning_rate = cfg->learning_rate;
		s->seconds = ae_seconds() - t_epoch;
		if (t.n_val && !isfinite(s->validation_objective))
		{
			st = AE_EDIVERGED;	/* epochs_run: the epochs completed before */
			goto done;
		}
		res->epochs_run = epoch;
		if (cb && cb->on_epoch)
			cb->on_epoch(cb->ctx, s);

		if (use_best && s->validation_objective < best_val)
		{
			best_val = s->validation_objective;
			memcpy(t.best, m->params, sizeof(float) * t.P);
			res->best_epoch = epoch;
			wait = 0;
		}
		else if (use_best)
			wait++;
		else
			res->best_epoch = epoch;
		t.best_hist[epoch] = best_val;

		if (res->steps >= max_steps)
			break;				/* the cap, or the epochs asked for */
		if (!automatic && use_best && cfg->patience > 0 && wait >= cfg->patience)
		{
			res->stop_reason = AE_STOP_PATIENCE;
			break;
		}
		if (automatic && t.n_val && res->steps >= AE_AUTO_MIN_STEPS && epoch >= window &&
			t.best_hist[epoch] > t.best_hist[epoch - window] * (1.0 - AE_AUTO_MIN_REL_PROGRESS))
		{
			res->stop_reason = AE_STOP_PLATEAU;
			break;
		}
	}
	res->stopped_early = res->stop_reason == AE_STOP_PATIENCE ||
		res->stop_reason == AE_STOP_PLATEAU;

	if (use_best && res->best_epoch != res->epochs_run)
		memcpy(m->params, t.best, sizeof(float) * t.P);
	else if (!t.n_val && res->has_epoch0 && m->arch.residual && !cfg->warm_start)
		keep_last_or_pca(m, rows, &t, res);

	/* the last steps can leave weights infinite with every loss seen finite */
	for (size_t i = 0; i < t.P; i++)
		if (!isfinite(m->params[i]))
		{
			res->epochs_run = res->epochs_run > 0 ? res->epochs_run - 1 : 0;
			st = AE_EDIVERGED;
			goto done;
		}
	memcpy(res->validation_index, t.idx, sizeof(size_t) * t.n_val);
	res->final_train_loss = AE_CURVE_AT(res, res->best_epoch)->train_loss;
	res->final_validation_loss = AE_CURVE_AT(res, res->best_epoch)->validation_loss;

done:
	res->seconds = ae_seconds() - t_start;
	ae_pca_fit_free(&t.pca, alloc);
	alloc->release(alloc->ctx, block);
	if (st != AE_OK)
	{
		alloc->release(alloc->ctx, res->curve);
		ae_model_destroy(&res->pca);
		res->curve = NULL;
		res->validation_index = NULL;
		res->row_norms = NULL;
	}
	return st;
}
