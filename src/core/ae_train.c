/*-------------------------------------------------------------------------
 *
 * ae_train.c
 *	  The training loop: split, scale, shuffle, corrupt, step, stop early.
 *
 * Training is a pure function of the rows, the configuration and the seed
 * (and of OpenBLAS's thread count, which fixes its summation order): one
 * ae_rng drives the validation split, the weight initialisation, every
 * epoch's shuffle and the corruption of denoising inputs.
 *
 * The rows are the caller's (row pointers, so they may live in chunks) and
 * are scaled in place.  Each minibatch is gathered into a contiguous
 * buffer, corrupted into a second one for denoising, pushed through
 * ae_loss_grad and the optimiser, then on_batch runs (the glue checks for
 * interrupts there).  With validation rows and patience > 0 the weights of
 * the best validation epoch are kept and training stops after patience
 * epochs without improvement.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_core.h"
#include "ae_options.h"

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

/*
 * Train m on rows[0..n_rows) (raw units, scaled in place).  Unless
 * cfg->warm_start, fits the scaling and initialises the weights first.
 * On success fills res, whose curve comes from alloc (the caller frees it).
 */
ae_status
ae_train(ae_model *m, float *const *rows, size_t n_rows,
		 const ae_train_config *cfg, const ae_train_callbacks *cb,
		 const ae_allocator *alloc, ae_train_result *res)
{
	int			d = m->arch.n_input;
	int			B = cfg->batch_size;
	size_t		P = m->n_params;
	size_t		n_val,
				n_train;
	size_t		floats;
	size_t	   *idx,
			   *train_idx;
	float	   *grads,
			   *mom1,
			   *mom2,
			   *best,
			   *work,
			   *clean,
			   *noisy,
			   *nlo,
			   *nhi;
	void	   *block;
	ae_rng		rng;
	ae_optim	opt;
	double		t_start = ae_seconds();
	double		best_val = INFINITY;
	int			wait = 0;
	int			use_best;
	ae_status	st = AE_OK;

	memset(res, 0, sizeof(*res));
	if (ae_train_config_check(cfg, NULL) != AE_OK || n_rows == 0)
		return AE_EINVAL;
	if ((size_t) B > n_rows)
		B = (int) n_rows;

	ae_rng_seed(&rng, cfg->seed);
	n_val = validation_rows(n_rows, cfg->validation_fraction);
	n_train = n_rows - n_val;
	use_best = n_val > 0 && cfg->patience > 0;

	/* one block: indices, then every float buffer, then the curve */
	floats = 4 * P + ae_grad_floats(m, B) + 2 * (size_t) B * d + 2 * (size_t) d;
	block = alloc->alloc(alloc->ctx, sizeof(size_t) * n_rows +
						 sizeof(float) * floats);
	res->curve = alloc->alloc(alloc->ctx, sizeof(ae_epoch_stats) * cfg->epochs +
							  sizeof(size_t) * (n_val ? n_val : 1));
	if (block == NULL || res->curve == NULL)
	{
		if (block)
			alloc->release(alloc->ctx, block);
		if (res->curve)
			alloc->release(alloc->ctx, res->curve);
		res->curve = NULL;
		return AE_ENOMEM;
	}
	idx = block;
	grads = (float *) (idx + n_rows);
	mom1 = grads + P;
	mom2 = mom1 + P;
	best = mom2 + P;
	work = best + P;
	clean = work + ae_grad_floats(m, B);
	noisy = clean + (size_t) B * d;
	nlo = noisy + (size_t) B * d;
	nhi = nlo + d;
	memset(mom1, 0, sizeof(float) * 2 * P);

	/* the validation rows are the first n_val of a seeded permutation */
	for (size_t i = 0; i < n_rows; i++)
		idx[i] = i;
	ae_rng_shuffle(&rng, idx, n_rows);
	train_idx = idx + n_val;

	if (!cfg->warm_start)
	{
		if (!cfg->preset_scaling)
			ae_scaling_fit(m, rows, n_rows, (double *) work);
		ae_model_init_weights(m, &rng);
	}
	if (m->arch.scaling != AE_SCALING_NONE)	/* 'none' is the identity */
		for (size_t r = 0; r < n_rows; r++)
			ae_scaling_apply(m, rows[r]);
	for (int i = 0; i < d; i++)
	{
		nlo[i] = (m->lo[i] - m->shift[i]) / m->scale[i];
		nhi[i] = (m->hi[i] - m->shift[i]) / m->scale[i];
	}
	ae_optim_init(&opt, cfg->optimizer, cfg->learning_rate, mom1, mom2, P);
	res->train_rows = n_train;
	res->validation_rows = n_val;

	for (int epoch = 1; epoch <= cfg->epochs; epoch++)
	{
		double		t_epoch = ae_seconds();
		double		sq = 0.0;
		ae_epoch_stats *s = &res->curve[epoch - 1];

		ae_rng_shuffle(&rng, train_idx, n_train);
		for (size_t start = 0; start < n_train; start += B)
		{
			int			cnt = (int) (n_train - start < (size_t) B ?
									 n_train - start : (size_t) B);
			const float *input = clean;
			double		mse,
						loss;

			for (int r = 0; r < cnt; r++)
				memcpy(clean + (size_t) r * d, rows[train_idx[start + r]],
					   sizeof(float) * d);
			if (cfg->noise != AE_NOISE_NONE && cfg->noise_level > 0.0)
			{
				corrupt(cfg, clean, noisy, cnt, d, nlo, nhi, &rng);
				input = noisy;
			}
			loss = ae_loss_grad(m, input, clean, cnt, cfg->weight_decay,
								cfg->sparsity, grads, work, &mse);
			if (!isfinite(loss))
			{
				st = AE_EDIVERGED;
				goto done;
			}
			ae_optim_step(&opt, m->params, grads);
			sq += mse * cnt;
			if (cb && cb->on_batch)
				cb->on_batch(cb->ctx);
		}

		s->epoch = epoch;
		s->train_loss = sq / (double) n_train;
		s->validation_loss = n_val ? ae_mse(m, rows, idx, n_val, B, work) : NAN;
		s->learning_rate = cfg->learning_rate;
		s->seconds = ae_seconds() - t_epoch;
		if (n_val && !isfinite(s->validation_loss))
		{
			st = AE_EDIVERGED;	/* epochs_run: the epochs completed before */
			goto done;
		}
		res->epochs_run = epoch;
		if (cb && cb->on_epoch)
			cb->on_epoch(cb->ctx, s);

		if (use_best)
		{
			if (s->validation_loss < best_val)
			{
				best_val = s->validation_loss;
				memcpy(best, m->params, sizeof(float) * P);
				res->best_epoch = epoch;
				wait = 0;
			}
			else if (++wait >= cfg->patience)
			{
				res->stopped_early = epoch < cfg->epochs;
				break;
			}
		}
		else
			res->best_epoch = epoch;
	}

	if (use_best && res->best_epoch != res->epochs_run)
		memcpy(m->params, best, sizeof(float) * P);
	/* the last steps can leave weights infinite with every loss seen finite */
	for (size_t i = 0; i < P; i++)
		if (!isfinite(m->params[i]))
		{
			res->epochs_run = res->epochs_run > 0 ? res->epochs_run - 1 : 0;
			st = AE_EDIVERGED;
			goto done;
		}
	res->validation_index = (size_t *) (res->curve + cfg->epochs);
	memcpy(res->validation_index, idx, sizeof(size_t) * n_val);
	res->final_train_loss = res->curve[res->best_epoch - 1].train_loss;
	res->final_validation_loss = res->curve[res->best_epoch - 1].validation_loss;

done:
	res->seconds = ae_seconds() - t_start;
	alloc->release(alloc->ctx, block);
	if (st != AE_OK)
	{
		alloc->release(alloc->ctx, res->curve);
		res->curve = NULL;
		res->validation_index = NULL;
	}
	return st;
}
