/*-------------------------------------------------------------------------
 *
 * test_train.c
 *	  Unit tests of feature scaling (src/ae_scale.c), the argument checks
 *	  (ae_arch_check, ae_train_check) and training (src/ae_train.c) of the
 *	  autoencoder core.
 *
 * Sections:
 *	 1. scaling and argument checks
 *	 2. training: determinism, warm start, loss, divergence, early stopping,
 *	    options, edge cases, allocation failures and leaks
 *
 * Prints one line per check and "N passed, M failed" at the end; exits
 * non-zero if anything failed.
 *
 *-------------------------------------------------------------------------
 */
#include "test_util.h"

#include <stdint.h>

/* ====================================================================== */
/* 1. Scaling and argument checks                                          */
/* ====================================================================== */

/*
 * ae_scaling_fit and ae_scaling_apply for every normalization against
 * statistics computed here.
 */
static void
test_scaling(void)
{
	static const int hidden[] = {4};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	const int	n = 200,
				d = 4;
	tu_rows		data = tu_rows_new(n, d);
	ae_rng		r;
	double		mean[4] = {0},
				sd[4] = {0},
				mn[4],
				mx[4];

	ae_rng_seed(&r, 8);
	for (int i = 0; i < n; i++)
	{
		data.rows[i][0] = (float) (5.0 + 2.0 * ae_rng_normal(&r));
		data.rows[i][1] = (float) (-100.0 + 0.01 * ae_rng_normal(&r));
		data.rows[i][2] = 7.0f;	/* constant */
		data.rows[i][3] = (float) tu_unif(&r, -1.0, 3.0);
	}
	for (int j = 0; j < d; j++)
	{
		mn[j] = INFINITY;
		mx[j] = -INFINITY;
		for (int i = 0; i < n; i++)
		{
			mean[j] += data.rows[i][j];
			mn[j] = fmin(mn[j], data.rows[i][j]);
			mx[j] = fmax(mx[j], data.rows[i][j]);
		}
		mean[j] /= n;
		for (int i = 0; i < n; i++)
			sd[j] += (data.rows[i][j] - mean[j]) * (data.rows[i][j] - mean[j]);
		sd[j] = sqrt(sd[j] / n);
	}

	for (int norm = 0; norm < AE_SCALING_COUNT; norm++)
	{
		ae_arch		arch = tu_arch(d, 2, 1, hidden, AE_ACT_TANH, AE_ACT_LINEAR, (ae_scaling) norm);
		ae_model	m;
		int			ok_shift = 1,
					ok_scale = 1,
					ok_range = 1,
					ok_apply = 1;

		if (ae_model_create(&m, &arch, 0, &al) != AE_OK)
		{
			CHECK(0, "scaling: create model");
			continue;
		}
		{
			double		sw[8];

			ae_scaling_fit(&m, data.rows, (size_t) n, sw);
		}
		for (int j = 0; j < d; j++)
		{
			double		ws,
						wc;
			float		row[4];

			if (norm == AE_SCALING_STANDARD)
			{
				ws = mean[j];
				wc = sd[j] > 0 ? sd[j] : 1.0;
			}
			else if (norm == AE_SCALING_MINMAX)
			{
				ws = mn[j];
				wc = mx[j] > mn[j] ? mx[j] - mn[j] : 1.0;
			}
			else
			{
				ws = 0.0;
				wc = 1.0;
			}
			if (!tu_close(m.shift[j], ws, 1e-5, 1e-6))
				ok_shift = 0;
			/* 1%: either n or n-1 in the standard deviation */
			if (!tu_close(m.scale[j], wc, 1e-2, 0.0))
				ok_scale = 0;
			if (norm == AE_SCALING_L2)
			{
				/* row-wise: the ranges of the unit rows, each row / its length */
				double		lo = INFINITY,
							hi = -INFINITY,
							len3 = 0.0;

				for (int i = 0; i < n; i++)
				{
					double		len = 0.0;

					for (int f = 0; f < d; f++)
						len += (double) data.rows[i][f] * data.rows[i][f];
					len = sqrt(len);
					lo = fmin(lo, data.rows[i][j] / len);
					hi = fmax(hi, data.rows[i][j] / len);
					if (i == 3)
						len3 = len;
				}
				ok_range &= tu_close(m.lo[j], lo, 1e-6, 1e-7) && tu_close(m.hi[j], hi, 1e-6, 1e-7);
				memcpy(row, data.rows[3], sizeof(row));
				ok_apply &= tu_close(ae_scaling_apply(&m, row), len3, 1e-6, 0.0) &&
					tu_close(row[j], data.rows[3][j] / len3, 1e-6, 1e-7);
				continue;
			}
			if (!tu_close(m.lo[j], mn[j], 1e-6, 0.0) || !tu_close(m.hi[j], mx[j], 1e-6, 0.0))
				ok_range = 0;
			memcpy(row, data.rows[3], sizeof(row));
			if (ae_scaling_apply(&m, row) != 1.0f ||
				!tu_close(row[j], ((double) data.rows[3][j] - m.shift[j]) / m.scale[j], 1e-5, 1e-6))
				ok_apply = 0;
		}
		CHECK(ok_shift, "scaling[%s]: shift (%g %g %g %g)", ae_scaling_name((ae_scaling) norm),
			  m.shift[0], m.shift[1], m.shift[2], m.shift[3]);
		CHECK(ok_scale, "scaling[%s]: scale, constant feature keeps 1 (%g %g %g %g)",
			  ae_scaling_name((ae_scaling) norm), m.scale[0], m.scale[1], m.scale[2], m.scale[3]);
		CHECK(ok_range, "scaling[%s]: lo/hi are the training min/max (of the unit rows for l2)",
			  ae_scaling_name((ae_scaling) norm));
		CHECK(ok_apply, "scaling[%s]: apply is (x - shift) / scale (x / |x| for l2, returning |x|)",
			  ae_scaling_name((ae_scaling) norm));
		ae_model_destroy(&m);
	}
	tu_rows_free(&data);
	CHECK(ctx.live == 0, "scaling: no leaks");
}

/*
 * ae_arch_check: valid architectures accepted, each invalid field rejected;
 * the parameter limit of ae_model_create and ae_arch_param_count.
 */
static void
test_arch_check(void)
{
	static const int hidden[] = {8, 4};
	ae_arch		ok = tu_arch(10, 3, 2, hidden, AE_ACT_RELU, AE_ACT_LINEAR, AE_SCALING_STANDARD);
	ae_arch		a;
	char		err[256];
	struct
	{
		const char *what;
		ae_arch		arch;
	}			bad[20];
	int			nb = 0,
				all = 1;

	memset(err, 0, sizeof(err));
	CHECK(ae_arch_check(&ok, err, sizeof(err)) == AE_OK, "arch_check: valid 10-(8,4)-3 accepted (%s)", err);
	a = ok;
	a.output_activation = AE_ACT_SIGMOID;
	CHECK(ae_arch_check(&a, err, sizeof(err)) == AE_OK, "arch_check: sigmoid output accepted");
	a = ok;
	a.latent = a.n_input;
	CHECK(ae_arch_check(&a, err, sizeof(err)) == AE_OK, "arch_check: latent == n_input accepted");

#define BAD(desc, field, val) do { a = ok; a.field = (val); bad[nb].what = (desc); bad[nb].arch = a; nb++; } while (0)
	BAD("latent > n_input", latent, 11);
	BAD("latent 0", latent, 0);
	BAD("latent -1", latent, -1);
	BAD("n_input 0", n_input, 0);
	BAD("n_input > AE_MAX_DIM", n_input, AE_MAX_DIM + 1);
	BAD("n_hidden -1", n_hidden, -1);
	BAD("n_hidden > AE_MAX_HIDDEN", n_hidden, AE_MAX_HIDDEN + 1);
	BAD("hidden[0] 0", hidden[0], 0);
	BAD("hidden[1] -3", hidden[1], -3);
	BAD("hidden[0] > AE_MAX_UNITS", hidden[0], AE_MAX_UNITS + 1);
	BAD("activation out of range", activation, AE_ACT_COUNT);
	BAD("output activation relu", output_activation, AE_ACT_RELU);
	BAD("output activation out of range", output_activation, AE_ACT_COUNT);
	BAD("scaling out of range", scaling, AE_SCALING_COUNT);
#undef BAD
	for (int i = 0; i < nb; i++)
	{
		ae_status	st;

		memset(err, 0, sizeof(err));
		st = ae_arch_check(&bad[i].arch, err, sizeof(err));
		if (st != AE_EINVAL || err[0] == '\0')
		{
			all = 0;
			printf("#   arch_check accepted or gave no message: %s (status %d)\n", bad[i].what, (int) st);
		}
	}
	CHECK(all, "arch_check: %d invalid architectures rejected with AE_EINVAL and a message", nb);
	/* params limit: 65535 x 65535 x 2 layers > AE_MAX_PARAMS */
	a = tu_arch(AE_MAX_DIM, 1, 1, hidden, AE_ACT_RELU, AE_ACT_LINEAR, AE_SCALING_NONE);
	a.hidden[0] = AE_MAX_UNITS;
	{
		tu_alloc_ctx ctx;
		ae_allocator al = tu_allocator(&ctx, -1);
		ae_model	m;
		ae_status	st = ae_model_create(&m, &a, 0, &al);

		CHECK(st == AE_EINVAL && ctx.max_request == 0,
			  "model: create refuses more than AE_MAX_PARAMS parameters without allocating (%d)", (int) st);
		CHECK(ae_arch_param_count(&a) == 0, "model: ae_arch_param_count is 0 above AE_MAX_PARAMS");
		a.hidden[0] = 2047;		/* 268374014 parameters: just below the limit */
		CHECK(ae_arch_param_count(&a) == (size_t) 268374014, "model: ae_arch_param_count just below the limit (%zu)",
			  ae_arch_param_count(&a));
		CHECK(ae_arch_param_count(&bad[0].arch) == 0, "model: ae_arch_param_count is 0 for an invalid arch");
		if (st == AE_OK)
			ae_model_destroy(&m);
	}
	CHECK(ae_arch_check(&bad[0].arch, NULL, 0) == AE_EINVAL, "arch_check: NULL error buffer allowed");
}

/*
 * ae_train_config_check: valid configurations accepted, each invalid
 * setting (by the option table's ranges) rejected with a message.
 */
static void
test_train_check(void)
{
	ae_train_config ok = tu_config(),
				c;
	ae_error	e;
	struct
	{
		const char *what;
		ae_train_config cfg;
	}			bad[32];
	int			nb = 0,
				all = 1;

	ae_error_clear(&e);
	CHECK(ae_train_config_check(&ok, &e) == AE_OK, "train_check: defaults accepted (%s)", e.message);
	c = ok;
	c.validation_fraction = 0.0;
	c.patience = 0;
	c.noise = AE_NOISE_MASKING;
	c.noise_level = 0.5;
	c.optimizer = AE_OPT_SGD;
	c.weight_decay = 1e-3;
	c.sparsity = 1e-3;
	CHECK(ae_train_config_check(&c, &e) == AE_OK, "train_check: other valid settings accepted");
	c = ok;
	c.epochs = 0;
	c.similarity_weight = 1.0;
	c.similarity_temperature = 0.5;
	CHECK(ae_train_config_check(&c, &e) == AE_OK,
		  "train_check: epochs 0 (automatic) and a similarity term accepted");

#define BAD(desc, field, val) do { c = ok; c.field = (val); bad[nb].what = (desc); bad[nb].cfg = c; nb++; } while (0)
	BAD("epochs -1", epochs, -1);
	BAD("epochs -5", epochs, -5);
	BAD("epochs > AE_MAX_EPOCHS", epochs, AE_MAX_EPOCHS + 1);
	BAD("batch_size 0", batch_size, 0);
	BAD("batch_size > AE_MAX_BATCH", batch_size, AE_MAX_BATCH + 1);
	BAD("learning_rate < 0", learning_rate, -1e-3);
	BAD("learning_rate NaN", learning_rate, NAN);
	BAD("learning_rate inf", learning_rate, INFINITY);
	BAD("learning_rate 0", learning_rate, 0.0);
	BAD("learning_rate 1e300", learning_rate, 1e300);
	BAD("weight_decay 1e300", weight_decay, 1e300);
	BAD("sparsity 1e300", sparsity, 1e300);
	BAD("validation_fraction 1", validation_fraction, 1.0);
	BAD("validation_fraction 1.5", validation_fraction, 1.5);
	BAD("validation_fraction < 0", validation_fraction, -0.1);
	BAD("validation_fraction NaN", validation_fraction, NAN);
	BAD("patience < 0", patience, -1);
	BAD("weight_decay < 0", weight_decay, -1e-4);
	BAD("weight_decay NaN", weight_decay, NAN);
	BAD("sparsity < 0", sparsity, -1e-4);
	BAD("optimizer out of range", optimizer, AE_OPT_COUNT);
	BAD("noise out of range", noise, AE_NOISE_COUNT);
	BAD("similarity_weight < 0", similarity_weight, -1.0);
	BAD("similarity_weight NaN", similarity_weight, NAN);
#undef BAD
	/* the temperature counts only with the similarity term on */
	c = ok;
	c.similarity_weight = 1.0;
	c.similarity_temperature = 0.0;
	bad[nb].what = "similarity_temperature 0";
	bad[nb].cfg = c;
	nb++;
	c.similarity_temperature = -0.02;
	bad[nb].what = "similarity_temperature < 0";
	bad[nb].cfg = c;
	nb++;
	c.similarity_weight = 0.0;
	c.similarity_temperature = 0.0;
	CHECK(ae_train_config_check(&c, &e) == AE_OK,
		  "train_check: without the similarity term its temperature is not checked (a zeroed config)");
	c = ok;
	c.noise = AE_NOISE_GAUSSIAN;
	c.noise_level = -0.1;
	bad[nb].what = "gaussian noise level < 0";
	bad[nb].cfg = c;
	nb++;
	c.noise = AE_NOISE_MASKING;
	c.noise_level = 1.0;
	bad[nb].what = "masking probability 1";
	bad[nb].cfg = c;
	nb++;
	for (int i = 0; i < nb; i++)
	{
		ae_status	st;

		ae_error_clear(&e);
		st = ae_train_config_check(&bad[i].cfg, &e);
		if (st != AE_EINVAL || e.message[0] == '\0')
		{
			all = 0;
			printf("#   train_check accepted or gave no message: %s (status %d)\n", bad[i].what, (int) st);
		}
	}
	CHECK(all, "train_check: %d invalid configurations rejected with AE_EINVAL and a message", nb);
}

/* ====================================================================== */
/* 2. Training                                                             */
/* ====================================================================== */

/* Callback counters. */
typedef struct cb_count
{
	long		batches;
	int			epochs;
	int			last_epoch;
	int			epochs_in_order;
	double		losses[512];
} cb_count;

/* on_batch callback: count the batch. */
static void
cb_batch(void *ctx)
{
	((cb_count *) ctx)->batches++;
}

/* on_epoch callback: count epochs, check their order, keep train losses. */
static void
cb_epoch(void *ctx, const ae_epoch_stats *s)
{
	cb_count   *c = (cb_count *) ctx;

	if (s->epoch != c->last_epoch + 1)
		c->epochs_in_order = 0;
	c->last_epoch = s->epoch;
	if (c->epochs < 512)
		c->losses[c->epochs] = s->train_loss;
	c->epochs++;
}

/* Callbacks that record into c, which is zeroed first. */
static ae_train_callbacks
make_cb(cb_count *c)
{
	ae_train_callbacks cb;

	memset(c, 0, sizeof(*c));
	c->epochs_in_order = 1;
	cb.on_batch = cb_batch;
	cb.on_epoch = cb_epoch;
	cb.ctx = c;
	return cb;
}

/* Rank-2 data in d dimensions plus noise, offset and scaled per feature. */
static tu_rows
lowrank_data(size_t n, int d, double noise, uint64_t seed)
{
	tu_rows		t = tu_rows_new(n, d);
	ae_rng		r;
	double	   *A = tu_xmalloc(sizeof(double) * d * 2),
			   *off = tu_xmalloc(sizeof(double) * d);

	ae_rng_seed(&r, seed);
	for (int j = 0; j < d; j++)
	{
		A[j * 2] = ae_rng_normal(&r);
		A[j * 2 + 1] = ae_rng_normal(&r);
		off[j] = 3.0 * ae_rng_normal(&r);
	}
	for (size_t i = 0; i < n; i++)
	{
		double		u = ae_rng_normal(&r),
					v = ae_rng_normal(&r);

		for (int j = 0; j < d; j++)
			t.rows[i][j] = (float) (off[j] + (j + 1) * (A[j * 2] * u + A[j * 2 + 1] * v
														+ noise * ae_rng_normal(&r)));
	}
	free(A);
	free(off);
	return t;
}

/* Train a fresh model; returns status; *m must be destroyed by the caller when created. */
static ae_status
train_fresh(ae_model *m, const ae_arch *arch, const tu_rows *data,
			const ae_train_config *cfg, ae_allocator *al, ae_train_result *res,
			cb_count *cc)
{
	tu_rows		copy = tu_rows_copy(data);
	ae_train_callbacks cb = make_cb(cc);
	ae_status	st;

	memset(res, 0, sizeof(*res));
	st = ae_model_create(m, arch, 0, al);
	if (st != AE_OK)
	{
		tu_rows_free(&copy);
		return st;
	}
	st = ae_train(m, copy.rows, copy.n, cfg, &cb, al, res);
	tu_rows_free(&copy);
	return st;
}

/* Release the loss curve that ae_train allocated through al. */
static void
free_result(ae_allocator *al, ae_train_result *res)
{
	if (res->curve)
		al->release(al->ctx, res->curve);
	res->curve = NULL;
}

/*
 * ae_train: determinism, result fields, warm start, decreasing loss,
 * divergence, early stopping, options, edge cases, allocation failures, leaks.
 */
static void
test_train(void)
{
	static const int hidden[] = {8};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_arch		arch = tu_arch(6, 2, 1, hidden, AE_ACT_TANH, AE_ACT_LINEAR, AE_SCALING_STANDARD);
	tu_rows		data = lowrank_data(240, 6, 0.05, 17);
	ae_train_config cfg = tu_config();
	ae_model	a,
				b;
	ae_train_result ra,
				rb;
	cb_count	ca,
				cbc;
	ae_status	st;

	cfg.epochs = 5;
	cfg.batch_size = 32;
	cfg.learning_rate = 1e-2;
	cfg.validation_fraction = 0.25;
	cfg.patience = 0;
	cfg.seed = 11;

	/* determinism */
	st = train_fresh(&a, &arch, &data, &cfg, &al, &ra, &ca);
	CHECK(st == AE_OK, "train: returns AE_OK (%d)", (int) st);
	st = train_fresh(&b, &arch, &data, &cfg, &al, &rb, &cbc);
	CHECK(st == AE_OK, "train: second run returns AE_OK (%d)", (int) st);
	CHECK(memcmp(a.params, b.params, a.n_params * sizeof(float)) == 0 &&
		  memcmp(a.shift, b.shift, 6 * sizeof(float)) == 0 &&
		  memcmp(a.scale, b.scale, 6 * sizeof(float)) == 0,
		  "train: same seed gives bitwise identical params and scaling");
	CHECK(ra.curve && rb.curve && ra.epochs_run == rb.epochs_run &&
		  memcmp(&ra.final_train_loss, &rb.final_train_loss, sizeof(double)) == 0,
		  "train: same seed gives the same losses");

	/* result fields */
	CHECK(ra.epochs_run == 5 && ra.stopped_early == 0, "train: runs all 5 epochs with patience 0 (%d)", ra.epochs_run);
	CHECK(ra.train_rows + ra.validation_rows == 240 && ra.validation_rows == 60,
		  "train: 25%% of 240 rows held out (%zu train, %zu validation)", ra.train_rows, ra.validation_rows);
	if (ra.curve && ra.epochs_run == 5)
	{
		int			ok = 1;

		for (int i = 0; i < 5; i++)
			if (ra.curve[i].epoch != i + 1 || !isfinite(ra.curve[i].train_loss) ||
				!isfinite(ra.curve[i].validation_loss) || !(ra.curve[i].learning_rate > 0) ||
				ra.curve[i].seconds < 0 || ra.curve[i].train_loss != ca.losses[i])
				ok = 0;
		CHECK(ok, "train: curve has epochs 1..5 with finite losses, matching on_epoch");
		CHECK(ra.best_epoch >= 1 && ra.best_epoch <= 5, "train: best_epoch in range (%d)", ra.best_epoch);
	}
	CHECK(ca.epochs == ra.epochs_run && ca.epochs_in_order,
		  "train: on_epoch called once per epoch in order (%d)", ca.epochs);
	CHECK(ca.batches >= (long) ra.epochs_run * 6,
		  "train: on_batch called at least once per batch (%ld for 5 x ceil(180/32))", ca.batches);
	free_result(&al, &ra);
	free_result(&al, &rb);
	ae_model_destroy(&b);

	/* different seed */
	cfg.seed = 12;
	st = train_fresh(&b, &arch, &data, &cfg, &al, &rb, &cbc);
	CHECK(st == AE_OK && memcmp(a.params, b.params, a.n_params * sizeof(float)) != 0,
		  "train: different seed gives different params");
	free_result(&al, &rb);
	ae_model_destroy(&b);

	/* warm start keeps scaling and weights */
	{
		float	   *p0 = tu_xmalloc(a.n_params * sizeof(float));
		float		s0[6],
					c0[6];
		tu_rows		copy = tu_rows_copy(&data);
		ae_train_callbacks cb = make_cb(&cbc);
		double		maxd = 0.0;

		/* shift the data so a refit of the scaling would be visible */
		for (size_t i = 0; i < copy.n * 6; i++)
			copy.data[i] = copy.data[i] * 2.0f + 1.0f;
		memcpy(p0, a.params, a.n_params * sizeof(float));
		memcpy(s0, a.shift, sizeof(s0));
		memcpy(c0, a.scale, sizeof(c0));
		cfg.warm_start = 1;
		cfg.epochs = 1;
		cfg.learning_rate = 1e-9;
		st = ae_train(&a, copy.rows, copy.n, &cfg, &cb, &al, &ra);
		for (size_t i = 0; i < a.n_params; i++)
			maxd = fmax(maxd, fabs((double) a.params[i] - p0[i]));
		CHECK(st == AE_OK && memcmp(s0, a.shift, sizeof(s0)) == 0 && memcmp(c0, a.scale, sizeof(c0)) == 0,
			  "train: warm_start keeps the scaling");
		CHECK(st == AE_OK && maxd < 1e-5, "train: warm_start keeps the weights (max change %.3g at lr 1e-9)", maxd);
		free_result(&al, &ra);
		cfg.warm_start = 0;
		cfg.seed = 99;
		tu_rows_free(&copy);
		copy = tu_rows_copy(&data);
		st = ae_train(&a, copy.rows, copy.n, &cfg, &cb, &al, &ra);
		maxd = 0.0;
		for (size_t i = 0; i < a.n_params; i++)
			maxd = fmax(maxd, fabs((double) a.params[i] - p0[i]));
		CHECK(st == AE_OK && maxd > 1e-2, "train: without warm_start the weights are re-initialised (max change %.3g)", maxd);
		free_result(&al, &ra);
		tu_rows_free(&copy);
		free(p0);
	}
	ae_model_destroy(&a);

	/* loss decreases */
	cfg = tu_config();
	cfg.epochs = 40;
	cfg.batch_size = 16;
	cfg.learning_rate = 1e-2;
	cfg.validation_fraction = 0.2;
	cfg.patience = 0;
	st = train_fresh(&a, &arch, &data, &cfg, &al, &ra, &ca);
	if (CHECK(st == AE_OK && ra.curve && ra.epochs_run == 40, "train: 40 epochs run (%d)", (int) st))
	{
		CHECK(ra.final_train_loss < ra.curve[0].train_loss,
			  "train: final train loss %.5f < first epoch %.5f", ra.final_train_loss, ra.curve[0].train_loss);
		CHECK(ra.curve[39].validation_loss < ra.curve[0].validation_loss,
			  "train: validation loss decreases (%.5f -> %.5f)", ra.curve[0].validation_loss, ra.curve[39].validation_loss);
		CHECK(ra.final_validation_loss < 0.05,
			  "train: rank-2 data is reconstructed well from a 2-d code (validation MSE %.5f)",
			  ra.final_validation_loss);
	}
	free_result(&al, &ra);
	ae_model_destroy(&a);

	/* no validation rows: NaN validation loss */
	cfg.epochs = 3;
	cfg.validation_fraction = 0.0;
	st = train_fresh(&a, &arch, &data, &cfg, &al, &ra, &ca);
	if (CHECK(st == AE_OK && ra.curve, "train: validation_fraction 0 trains (%d)", (int) st))
	{
		CHECK(ra.validation_rows == 0 && ra.train_rows == 240, "train: all rows used for training");
		CHECK(isnan(ra.curve[0].validation_loss) && isnan(ra.curve[2].validation_loss),
			  "train: validation loss is NaN without validation rows");
	}
	free_result(&al, &ra);
	ae_model_destroy(&a);

	/* divergence */
	{
		tu_rows		big = lowrank_data(200, 6, 0.5, 3);
		ae_arch		an = arch;

		for (size_t i = 0; i < big.n * 6; i++)
			big.data[i] *= 1000.0f;
		an.scaling = AE_SCALING_NONE;
		cfg = tu_config();
		cfg.optimizer = AE_OPT_SGD;
		cfg.learning_rate = 10.0;
		cfg.epochs = 5;
		cfg.batch_size = 20;
		cfg.patience = 0;
		st = train_fresh(&a, &an, &big, &cfg, &al, &ra, &ca);
		CHECK(st == AE_EDIVERGED, "train: lr 10 sgd on large unscaled data gives AE_EDIVERGED (%d)", (int) st);
		free_result(&al, &ra);
		ae_model_destroy(&a);
		tu_rows_free(&big);
	}

	/* early stopping on noise */
	{
		static const int h16[] = {16};
		ae_arch		an = tu_arch(8, 1, 1, h16, AE_ACT_TANH, AE_ACT_LINEAR, AE_SCALING_STANDARD);
		tu_rows		noise = tu_rows_new(60, 8);
		ae_rng		r;

		ae_rng_seed(&r, 5);
		for (size_t i = 0; i < 60 * 8; i++)
			noise.data[i] = (float) ae_rng_normal(&r);
		cfg = tu_config();
		cfg.epochs = 300;
		cfg.batch_size = 8;
		cfg.learning_rate = 0.05;
		cfg.validation_fraction = 0.3;
		cfg.patience = 3;
		st = train_fresh(&a, &an, &noise, &cfg, &al, &ra, &ca);
		if (CHECK(st == AE_OK && ra.curve, "early: training on noise returns AE_OK (%d)", (int) st))
		{
			int			argmin = 0;

			for (int i = 1; i < ra.epochs_run; i++)
				if (ra.curve[i].validation_loss < ra.curve[argmin].validation_loss)
					argmin = i;
			CHECK(ra.epochs_run <= 300, "early: epochs_run <= epochs (%d)", ra.epochs_run);
			CHECK(ra.stopped_early && ra.epochs_run < 300, "early: stops early on noise (%d epochs)", ra.epochs_run);
			CHECK(ra.best_epoch == argmin + 1, "early: best_epoch %d is the minimum of validation loss (%d)",
				  ra.best_epoch, argmin + 1);
			CHECK(ra.epochs_run == ra.best_epoch + 3,
				  "early: stops exactly patience=3 epochs after the best (%d vs %d)", ra.epochs_run, ra.best_epoch);
			CHECK(ra.best_epoch >= 1 && tu_close(ra.final_validation_loss, ra.curve[ra.best_epoch - 1].validation_loss, 1e-6, 0.0),
				  "early: final_validation_loss %.6g is the best epoch's %.6g", ra.final_validation_loss,
				  ra.best_epoch >= 1 ? ra.curve[ra.best_epoch - 1].validation_loss : NAN);
		}
		free_result(&al, &ra);
		ae_model_destroy(&a);

		cfg.patience = 0;
		cfg.epochs = 15;
		st = train_fresh(&a, &an, &noise, &cfg, &al, &ra, &ca);
		CHECK(st == AE_OK && ra.epochs_run == 15 && !ra.stopped_early,
			  "early: patience 0 disables early stopping (%d epochs)", ra.epochs_run);
		free_result(&al, &ra);
		ae_model_destroy(&a);
		tu_rows_free(&noise);
	}

	/* other options run and are deterministic */
	{
		static const struct
		{
			const char *what;
			ae_noise	noise;
			double		level;
			double		wd;
			double		sp;
			ae_optimizer opt;
			ae_scaling norm;
			ae_activation out;
		}			opts[] = {
			{"gaussian noise", AE_NOISE_GAUSSIAN, 0.1, 0, 0, AE_OPT_ADAM, AE_SCALING_STANDARD, AE_ACT_LINEAR},
			{"masking noise", AE_NOISE_MASKING, 0.2, 0, 0, AE_OPT_ADAM, AE_SCALING_STANDARD, AE_ACT_LINEAR},
			{"weight decay + sparsity", AE_NOISE_NONE, 0, 1e-3, 1e-2, AE_OPT_ADAM, AE_SCALING_STANDARD, AE_ACT_LINEAR},
			{"sgd minmax sigmoid", AE_NOISE_NONE, 0, 0, 0, AE_OPT_SGD, AE_SCALING_MINMAX, AE_ACT_SIGMOID},
		};

		for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		{
			ae_arch		ao = arch;
			ae_status	s1,
						s2;

			ao.scaling = opts[i].norm;
			ao.output_activation = opts[i].out;
			cfg = tu_config();
			cfg.epochs = 4;
			cfg.batch_size = 50;	/* 192 train rows: a partial last batch */
			cfg.learning_rate = 1e-2;
			cfg.noise = opts[i].noise;
			cfg.noise_level = opts[i].level;
			cfg.weight_decay = opts[i].wd;
			cfg.sparsity = opts[i].sp;
			cfg.optimizer = opts[i].opt;
			cfg.validation_fraction = 0.2;
			cfg.patience = 0;
			s1 = train_fresh(&a, &ao, &data, &cfg, &al, &ra, &ca);
			s2 = train_fresh(&b, &ao, &data, &cfg, &al, &rb, &cbc);
			CHECK(s1 == AE_OK && s2 == AE_OK && ra.curve &&
				  memcmp(a.params, b.params, a.n_params * sizeof(float)) == 0 &&
				  ra.final_train_loss < ra.curve[0].train_loss * 1.5 && isfinite(ra.final_train_loss),
				  "train[%s]: runs, finite, deterministic (%d, %d, loss %.4g)",
				  opts[i].what, (int) s1, (int) s2, ra.final_train_loss);
			free_result(&al, &ra);
			free_result(&al, &rb);
			ae_model_destroy(&a);
			ae_model_destroy(&b);
		}
	}

	/* batch larger than the data; and no rows at all */
	cfg = tu_config();
	cfg.epochs = 2;
	cfg.batch_size = 1000;
	st = train_fresh(&a, &arch, &data, &cfg, &al, &ra, &ca);
	CHECK(st == AE_OK && ra.epochs_run == 2, "train: batch_size larger than the data works (%d)", (int) st);
	free_result(&al, &ra);
	ae_model_destroy(&a);
	{
		tu_rows		none = tu_rows_new(0, 6);

		st = train_fresh(&a, &arch, &none, &cfg, &al, &ra, &ca);
		CHECK(st != AE_OK, "train: zero rows refused (%d)", (int) st);
		free_result(&al, &ra);
		ae_model_destroy(&a);
		tu_rows_free(&none);
	}
	cfg.epochs = -1;
	st = train_fresh(&a, &arch, &data, &cfg, &al, &ra, &ca);
	CHECK(st == AE_EINVAL, "train: invalid config refused by ae_train itself (%d)", (int) st);
	free_result(&al, &ra);
	ae_model_destroy(&a);

	/* allocation failures inside ae_train: ENOMEM, no leak */
	{
		int			ok = 1,
					reached = 0;
		long		k;

		cfg = tu_config();
		cfg.epochs = 2;
		cfg.batch_size = 32;
		for (k = 0; k < 200 && !reached; k++)
		{
			tu_alloc_ctx fctx;
			ae_allocator fal = tu_allocator(&fctx, k);
			tu_rows		copy = tu_rows_copy(&data);
			ae_train_callbacks cb = make_cb(&ca);

			memset(&ra, 0, sizeof(ra));
			if (ae_model_create(&a, &arch, 0, &al) != AE_OK)
			{
				ok = 0;
				tu_rows_free(&copy);
				break;
			}
			st = ae_train(&a, copy.rows, copy.n, &cfg, &cb, &fal, &ra);
			if (st == AE_OK)
			{
				reached = 1;
				free_result(&fal, &ra);
			}
			else if (st != AE_ENOMEM)
			{
				ok = 0;
				printf("#   allocation %ld failing gave status %d\n", k, (int) st);
			}
			if (fctx.live != 0)
			{
				ok = 0;
				printf("#   allocation %ld failing leaked %ld blocks\n", k, fctx.live);
			}
			ae_model_destroy(&a);
			tu_rows_free(&copy);
		}
		CHECK(ok && reached, "train: every allocation failure gives AE_ENOMEM without leaks (%ld tried)", k);
	}

	tu_rows_free(&data);
	CHECK(ctx.live == 0, "train: no leaks (live %ld)", ctx.live);
}

/* ====================================================================== */

/* Run this program's checks; exit status 1 if any failed. */
int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* 1 */
	test_scaling();
	test_arch_check();
	test_train_check();

	/* 2 */
	test_train();

	return tu_finish();
}
