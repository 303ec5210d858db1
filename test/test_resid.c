/*-------------------------------------------------------------------------
 *
 * test_resid.c
 *	  Unit tests of the PCA-residual network, automatic training length,
 *	  the similarity term in training and the 'l2' scaling (src/core/
 *	  ae_resid.c, ae_net.c, ae_train.c, ae_scale.c, ae_infer.c).
 *
 * Sections:
 *	 1. ae_loss_grad_ex against a double central difference of the
 *	    documented loss (test/ae_ref.c): residual networks with one and two
 *	    hidden layers, with and without sparsity, weight decay and the
 *	    similarity term; the linear residual (no hidden layers); a plain
 *	    network with the similarity term
 *	 2. epoch 0 is PCA exactly: the started network's MSE and codes are the
 *	    PCA model's (and ae_pca_solve's), its hidden layers are scaled to
 *	    the data, ae_train's epoch 0 and baseline agree
 *	 3. never worse: on a linear-plus-noise set the default training keeps
 *	    epoch 0 and PCA's loss; on a curved set it beats PCA
 *	 4. the automatic length: the cap, the plateau, explicit epochs and
 *	    patience; warm starts keep epoch 0 as a candidate
 *	 5. determinism with the similarity term
 *	 6. 'l2': row lengths, errors in input units, serving semantics
 *
 * Prints one line per check and "N passed, M failed" at the end; exits
 * non-zero if anything failed.
 *
 *-------------------------------------------------------------------------
 */
#include "test_util.h"
#include "ae_resid.h"
#include "ae_sim.h"

#include <stdint.h>

/* ====================================================================== */
/* Helpers                                                                 */
/* ====================================================================== */

/*
 * Rows near an r-dimensional subspace of d dimensions (x = A z + noise,
 * component variances falling with j), offset and scaled per feature;
 * curved adds a bend (sin of one latent direction, and a product of two)
 * that no linear map follows.
 */
static tu_rows
subspace_rows(size_t n, int d, int r, double noise, int curved, uint64_t seed)
{
	tu_rows		t = tu_rows_new(n, d);
	ae_rng		g;
	double	   *A = tu_xmalloc(sizeof(double) * d * r),
			   *z = tu_xmalloc(sizeof(double) * r);

	ae_rng_seed(&g, seed);
	for (int i = 0; i < d * r; i++)
		A[i] = ae_rng_normal(&g);
	for (size_t k = 0; k < n; k++)
	{
		for (int j = 0; j < r; j++)
			z[j] = curved ? 2.0 * ae_rng_uniform(&g) - 1.0 : ae_rng_normal(&g) / (1.0 + j);
		for (int i = 0; i < d; i++)
		{
			double		v = noise * ae_rng_normal(&g) + 0.3 * i;

			for (int j = 0; j < r; j++)
				v += A[i * r + j] * z[j];
			if (curved)
				v += 1.5 * sin(3.0 * z[i % r] + i) + A[i * r] * z[0] * z[r - 1];
			t.rows[k][i] = (float) v;
		}
	}
	free(A);
	free(z);
	return t;
}

/* The release of what ae_train left in res. */
static void
free_result(ae_allocator *al, ae_train_result *res)
{
	if (res->curve)
		al->release(al->ctx, res->curve);
	ae_model_destroy(&res->pca);
	memset(res, 0, sizeof(*res));
}

/* ====================================================================== */
/* 1. Gradients                                                            */
/* ====================================================================== */

/*
 * Gradient check of ae_loss_grad_ex for one residual (or plain)
 * configuration against a central difference of ae_ref_net_loss.
 */
static void
grad_case(int residual, int n_hidden, const int *hidden, ae_activation act,
		  int B, double wd, double sp, double sim, uint64_t seed)
{
	const int	d = 7,
				k = 3;
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_arch		arch = tu_arch(d, k, n_hidden, hidden, act, AE_ACT_LINEAR, AE_SCALING_STANDARD);
	ae_model	m;
	ae_rng		r;
	size_t		n,
				nin = (size_t) B * d;
	double	   *p,
			   *ind,
			   *tgd,
			   *simd,
			   *num;
	float	   *inf,
			   *tgf,
			   *simf,
			   *grads,
			   *work,
			   *swork;
	ae_loss_opts lo;
	ae_ref_loss_opts ro;
	double		marg = 0.0,
				loss_f,
				loss_d,
				mse_f = NAN,
				mse_d,
				sim_f = NAN,
				worst,
				gmax;
	int			worst_i,
				skip_ok = 1;
	char		tag[128];

	arch.residual = residual;
	snprintf(tag, sizeof(tag), "grad[%s %d hidden %s B=%d wd=%g sp=%g sim=%g]",
			 residual ? "residual" : "plain", n_hidden, tu_act_name(act), B, wd, sp, sim);
	if (!CHECK(ae_model_create(&m, &arch, 0, &al) == AE_OK, "%s: create model", tag))
		return;
	n = m.n_params;
	p = tu_xmalloc(n * sizeof(double));
	num = tu_xmalloc(n * sizeof(double));
	ind = tu_xmalloc(nin * sizeof(double));
	tgd = tu_xmalloc(nin * sizeof(double));
	simd = tu_xmalloc(nin * sizeof(double));
	inf = tu_xmalloc(nin * sizeof(float));
	tgf = tu_xmalloc(nin * sizeof(float));
	simf = tu_xmalloc(nin * sizeof(float));
	grads = tu_xmalloc(n * sizeof(float));
	work = tu_xmalloc(ae_grad_floats(&m, B) * sizeof(float));
	swork = tu_xmalloc(ae_sim_work_floats(B, k, d) * sizeof(float));

	/* weights and data with every kink at least 1e-3 away */
	for (int tries = 0; tries < 200; tries++)
	{
		ae_rng_seed(&r, seed + (uint64_t) tries * 7919);
		ae_model_init_weights(&m, &r);
		for (size_t i = 0; i < n; i++)
			if (AE_HAS_SKIP(&m) && m.params + i >= m.Ae)
				m.params[i] = (float) (0.4 * ae_rng_normal(&r));
		for (int l = 0; l < m.n_layers; l++)
			for (int i = 0; i < m.dims[l + 1]; i++)
				m.b[l][i] = (float) (0.2 * ae_rng_normal(&r));
		for (size_t i = 0; i < nin; i++)
		{
			inf[i] = (float) ae_rng_normal(&r);
			tgf[i] = (float) (inf[i] + 0.3 * ae_rng_normal(&r));
			simf[i] = (float) (inf[i] * 2.0 + 1.0);	/* the "raw" rows */
			ind[i] = inf[i];
			tgd[i] = tgf[i];
			simd[i] = simf[i];
		}
		for (size_t i = 0; i < n; i++)
			p[i] = m.params[i];
		memset(&ro, 0, sizeof(ro));
		ro.weight_decay = wd;
		ro.sparsity = sp;
		ro.sim_weight = sim;
		ro.sim_temperature = 0.5;
		ro.sim_rows = simd;
		ae_ref_net_loss(&m, p, ind, tgd, B, &ro, NULL, &marg, NULL);
		if (marg > 1e-3)
			break;
	}
	if (!CHECK(marg > 1e-3, "%s: found a point away from kinks (margin %.3g)", tag, marg))
		goto done;

	memset(&lo, 0, sizeof(lo));
	lo.weight_decay = wd;
	lo.sparsity = sp;
	lo.sim_weight = sim;
	lo.sim_temperature = 0.5;
	lo.sim_rows = simf;
	lo.sim_work = swork;
	for (size_t i = 0; i < n; i++)
		grads[i] = NAN;			/* must be overwritten */
	loss_f = ae_loss_grad_ex(&m, inf, tgf, B, &lo, grads, work, &mse_f, &sim_f);
	loss_d = ae_ref_net_loss(&m, p, ind, tgd, B, &ro, &mse_d, NULL, NULL);
	CHECK(tu_close(loss_f, loss_d, 1e-5, 1e-9) && tu_close(mse_f, mse_d, 1e-5, 0.0),
		  "%s: loss %.9g and MSE %.9g equal the double reference's %.9g and %.9g",
		  tag, loss_f, mse_f, loss_d, mse_d);
	if (sim > 0.0)
	{
		double		code[64 * 3];

		ae_ref_net_loss(&m, p, ind, tgd, B, &ro, NULL, NULL, code);
		CHECK(tu_close(sim_f, ae_ref_sim_loss(code, simd, B, k, d, 0.5), 1e-4, 1e-7),
			  "%s: *sim is the similarity term %.7g (reference %.7g)", tag, sim_f,
			  ae_ref_sim_loss(code, simd, B, k, d, 0.5));
	}

	gmax = ae_ref_net_grad(&m, p, ind, tgd, B, &ro, num);
	worst = ae_ref_grad_worst(grads, num, n, gmax, &worst_i);
	/* the skip paths' own gradients are not all zero */
	if (AE_HAS_SKIP(&m))
	{
		size_t		off = (size_t) (m.Ae - m.params);

		skip_ok = tu_max_abs_f(grads + off, (size_t) 2 * d * k + d + k) > 1e-4;
	}
	CHECK(gmax > 1e-3 && tu_max_abs_f(grads, n) > 1e-3 && skip_ok,
		  "%s: gradient is not all zero (max |num| %.3g; skip paths': %s)", tag, gmax,
		  !AE_HAS_SKIP(&m) ? "none" : skip_ok ? "not zero" : "zero");
	CHECK(worst <= 1.0,
		  "%s: matches the central difference (worst err/tol %.3g at param %d of %zu: %.7g vs %.7g)",
		  tag, worst, worst_i, n, worst_i >= 0 ? (double) grads[worst_i] : 0.0,
		  worst_i >= 0 ? num[worst_i] : 0.0);

done:
	ae_model_destroy(&m);
	free(p);
	free(num);
	free(ind);
	free(tgd);
	free(simd);
	free(inf);
	free(tgf);
	free(simf);
	free(grads);
	free(work);
	free(swork);
	CHECK(ctx.live == 0, "%s: no leaks", tag);
}

/* The gradient checks of section 1, one configuration each. */
static void
test_gradients(void)
{
	static const int one[] = {5},
				two[] = {5, 4};

	grad_case(1, 1, one, AE_ACT_RELU, 4, 0.0, 0.0, 0.0, 11);
	grad_case(1, 1, one, AE_ACT_RELU, 4, 0.05, 0.1, 0.0, 12);
	grad_case(1, 1, one, AE_ACT_TANH, 3, 0.0, 0.2, 0.0, 13);
	grad_case(1, 2, two, AE_ACT_TANH, 4, 0.0, 0.0, 0.0, 14);
	grad_case(1, 2, two, AE_ACT_RELU, 4, 0.05, 0.1, 0.0, 15);
	grad_case(1, 2, two, AE_ACT_ELU, 5, 0.02, 0.0, 0.7, 16);
	grad_case(1, 1, one, AE_ACT_RELU, 6, 0.0, 0.0, 1.5, 17);
	grad_case(1, 0, NULL, AE_ACT_RELU, 5, 0.01, 0.05, 0.5, 18);
	grad_case(0, 1, one, AE_ACT_TANH, 5, 0.0, 0.0, 0.8, 19);
	grad_case(1, 1, one, AE_ACT_RELU, 1, 0.05, 0.0, 1.0, 20);	/* a batch of one: no pairs */
}

/* ====================================================================== */
/* 2. Epoch 0 is PCA                                                       */
/* ====================================================================== */

/* Section 2: the network started at PCA computes the PCA. */
static void
test_epoch_zero(void)
{
	static const int hidden[] = {24};
	const size_t n = 400;
	const int	d = 10,
				k = 3;
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	tu_rows		raw = subspace_rows(n, d, 4, 0.2, 1, 5),
				rows = tu_rows_copy(&raw);
	ae_arch		arch = tu_arch(d, k, 1, hidden, AE_ACT_RELU, AE_ACT_LINEAR, AE_SCALING_STANDARD);
	ae_model	m,
				pca,
				solved;
	ae_pca_fit	pf;
	ae_rng		r;
	size_t	   *idx = tu_xmalloc(sizeof(size_t) * n);
	float	   *work,
			   *codes_m = tu_xmalloc(sizeof(float) * n * k),
			   *codes_p = tu_xmalloc(sizeof(float) * n * k),
			   *iw;
	double		sw[2 * 10],
				mse_m,
				mse_p;

	arch.residual = 1;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	if (!CHECK(ae_model_create(&m, &arch, 0, &al) == AE_OK, "epoch 0: create"))
		return;
	/* what ae_train does before its first epoch */
	ae_scaling_fit(&m, rows.rows, n, sw);
	ae_rng_seed(&r, 3);
	ae_model_init_weights(&m, &r);
	ae_scale_rows(&m, rows.rows, n, NULL, 1);
	CHECK(ae_pca_of_rows(&pf, rows.rows, idx, n, d, k, NULL, &al) == AE_OK, "epoch 0: PCA of the rows");
	ae_resid_init_pca(&m, &pf);
	CHECK(ae_resid_init_data(&m, rows.rows, idx, 200, NULL, &al) == AE_OK, "epoch 0: data-dependent init");
	CHECK(ae_pca_model(&pca, &m, &pf, &al) == AE_OK, "epoch 0: the PCA as a model");

	work = tu_xmalloc(sizeof(float) * ae_grad_floats(&m, 64));
	mse_m = ae_mse(&m, rows.rows, idx, n, 64, work);
	mse_p = ae_mse(&pca, rows.rows, idx, n, 64, work);
	CHECK(tu_close(mse_m, mse_p, 1e-6, 0.0) && tu_close(mse_p, ae_pca_fit_residual(&pf), 1e-5, 0.0),
		  "epoch 0: the started network's MSE %.9g is the PCA model's %.9g (rel 1e-6) and PCA's "
		  "discarded variance %.9g", mse_m, mse_p, ae_pca_fit_residual(&pf));
	free(work);
	iw = tu_xmalloc(sizeof(float) * ae_infer_floats(&m, (int) n));
	ae_encode(&m, raw.data, (int) n, codes_m, iw);
	free(iw);
	iw = tu_xmalloc(sizeof(float) * ae_infer_floats(&pca, (int) n));
	ae_encode(&pca, raw.data, (int) n, codes_p, iw);
	free(iw);
	CHECK(tu_normwise_f_f(codes_m, codes_p, n * k, 1e-3) <= 1e-6,
		  "epoch 0: the codes are the PCA model's (rel %.2e)",
		  tu_normwise_f_f(codes_m, codes_p, n * k, 1e-3));
	/* and ae_pca_solve on the raw rows' moments (its own, equal, scaling) */
	{
		ae_arch		la = tu_arch(d, k, 0, NULL, AE_ACT_LINEAR, AE_ACT_LINEAR, AE_SCALING_STANDARD);
		tu_mom_buf	mb = tu_mom_new(d, 1);

		tu_mom_feed(&mb.m, raw.data, 0, n, 100);
		if (CHECK(ae_model_create(&solved, &la, 0, &al) == AE_OK &&
				  ae_pca_solve(&solved, &mb.m, NULL, NULL, NULL, &al) == AE_OK, "epoch 0: ae_pca_solve"))
		{
			iw = tu_xmalloc(sizeof(float) * ae_infer_floats(&solved, (int) n));
			ae_encode(&solved, raw.data, (int) n, codes_p, iw);
			free(iw);
			CHECK(tu_normwise_f_f(codes_m, codes_p, n * k, 1e-3) <= 1e-5,
				  "epoch 0: ... and ae_pca_solve's codes on the same rows (rel %.2e)",
				  tu_normwise_f_f(codes_m, codes_p, n * k, 1e-3));
			ae_model_destroy(&solved);
		}
		tu_mom_free(&mb);
	}
	/* the hidden layer's pre-activations: mean 0, deviation 1 on the sample */
	{
		int			h = hidden[0];
		double		worst_mean = 0.0,
					worst_sd = 0.0;

		for (int u = 0; u < h; u++)
		{
			double		s = 0.0,
						s2 = 0.0;

			for (size_t i = 0; i < 200; i++)
			{
				double		v = m.b[0][u];

				for (int j = 0; j < d; j++)
					v += (double) m.W[0][(size_t) u * d + j] * rows.rows[i][j];
				s += v;
				s2 += v * v;
			}
			s /= 200;
			worst_mean = fmax(worst_mean, fabs(s));
			worst_sd = fmax(worst_sd, fabs(sqrt(s2 / 200 - s * s) - 1.0));
		}
		CHECK(worst_mean < 1e-4 && worst_sd < 1e-4,
			  "epoch 0: encoder hidden units start with mean 0 (worst %.1e) and deviation 1 (worst %.1e)",
			  worst_mean, worst_sd);
	}
	ae_model_destroy(&pca);
	ae_pca_fit_free(&pf, &al);
	ae_model_destroy(&m);

	/* through ae_train: epoch 0, pca_validation_loss and the kept PCA agree */
	{
		ae_train_config cfg = tu_config();
		ae_train_result res;
		double		pv;

		cfg.epochs = 2;
		cfg.keep_pca = 1;
		if (CHECK(tu_train_copy(&m, &arch, &raw, &cfg, &al, &res) == AE_OK && res.has_epoch0 &&
				  res.curve[0].epoch == 0 && res.pca.block != NULL,
				  "epoch 0: ae_train reports epoch 0 and keeps the PCA"))
		{
			tu_rows		copy = tu_rows_copy(&raw);

			work = tu_xmalloc(sizeof(float) * ae_grad_floats(&m, 64));
			ae_scale_rows(&res.pca, copy.rows, n, NULL, 0);
			pv = ae_mse(&res.pca, copy.rows, res.validation_index, res.validation_rows, 64, work);
			CHECK(tu_close(res.curve[0].validation_loss, pv, 1e-6, 0.0) &&
				  res.pca_validation_loss == res.curve[0].validation_loss &&
				  tu_close(res.curve[0].train_loss, res.pca_train_loss, 0.0, 0.0) &&
				  res.final_validation_loss <= res.pca_validation_loss,
				  "epoch 0: validation loss %.9g is the kept PCA's %.9g = pca_validation_loss, "
				  "and the kept epoch's is not above it (%.9g)", res.curve[0].validation_loss, pv,
				  res.final_validation_loss);
			free(work);
			tu_rows_free(&copy);
		}
		free_result(&al, &res);
		ae_model_destroy(&m);
	}
	free(idx);
	free(codes_m);
	free(codes_p);
	tu_rows_free(&raw);
	tu_rows_free(&rows);
	CHECK(ctx.live == 0, "epoch 0: no leaks (%ld live)", ctx.live);
}

/* ====================================================================== */
/* 3. Never worse than PCA                                                 */
/* ====================================================================== */

/* The default options of train() resolved for d inputs and latent k. */
static ae_options
default_options(int d, int k)
{
	ae_options	o;
	ae_error	err;

	ae_options_default(&o);
	o.arch.latent = k;
	o.given |= UINT64_C(1) << ae_option_index(ae_option_find("latent_dim", AE_OPT_TRAIN));
	ae_options_check(&o, &err);
	ae_options_resolve(&o, d, &err);
	return o;
}

/* Section 3: the defaults against PCA on a linear and a curved set. */
static void
test_never_worse(void)
{
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_train_result res;
	ae_model	m;

	/* linear plus noise: PCA is optimal, the MLP only fits the noise */
	{
		tu_rows		data = subspace_rows(1500, 16, 3, 0.3, 0, 21);
		ae_options	o = default_options(16, 3);

		CHECK(o.arch.residual && o.arch.n_hidden == 1 && o.arch.hidden[0] == 256 &&
			  o.cfg.epochs == 0, "never worse: the defaults are the residual {256}, automatic epochs");
		o.cfg.keep_pca = 1;
		if (CHECK(tu_train_copy(&m, &o.arch, &data, &o.cfg, &al, &res) == AE_OK, "never worse: linear set trains"))
			CHECK(res.best_epoch == 0 && res.final_validation_loss == res.pca_validation_loss &&
				  res.stop_reason == AE_STOP_PLATEAU && res.steps >= AE_AUTO_MIN_STEPS,
				  "never worse: linear plus noise keeps epoch 0, PCA's loss %.6g exactly (got epoch %d, %.6g; "
				  "%s after %ld steps)", res.pca_validation_loss, res.best_epoch,
				  res.final_validation_loss, ae_stop_name(res.stop_reason), res.steps);
		free_result(&al, &res);
		ae_model_destroy(&m);
		tu_rows_free(&data);
	}
	/* curved: the nonlinear layers beat PCA by far */
	{
		tu_rows		data = subspace_rows(1500, 12, 2, 0.02, 1, 22);
		ae_options	o = default_options(12, 2);

		if (CHECK(tu_train_copy(&m, &o.arch, &data, &o.cfg, &al, &res) == AE_OK, "never worse: curved set trains"))
			CHECK(res.best_epoch > 0 && res.final_validation_loss < 0.5 * res.pca_validation_loss,
				  "never worse: on a curved set the kept epoch %d beats PCA (%.5g vs %.5g)",
				  res.best_epoch, res.final_validation_loss, res.pca_validation_loss);
		free_result(&al, &res);
		ae_model_destroy(&m);
		tu_rows_free(&data);
	}
	CHECK(ctx.live == 0, "never worse: no leaks (%ld live)", ctx.live);
}

/* ====================================================================== */
/* 4. Automatic length, explicit epochs, warm starts                       */
/* ====================================================================== */

/* Section 4: why and when training stops, and which epoch it keeps. */
static void
test_stopping(void)
{
	static const int hidden[] = {8};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	tu_rows		data = subspace_rows(1000, 6, 2, 0.1, 1, 31);
	ae_arch		arch = tu_arch(6, 2, 1, hidden, AE_ACT_RELU, AE_ACT_LINEAR, AE_SCALING_STANDARD);
	ae_train_config cfg = tu_config();
	ae_train_result res;
	ae_model	m;

	arch.residual = 1;
	/* cap: no validation rows, 1000 rows in batches of 256: 4 steps an epoch */
	cfg.epochs = 0;
	cfg.validation_fraction = 0.0;
	if (CHECK(tu_train_copy(&m, &arch, &data, &cfg, &al, &res) == AE_OK, "cap: trains"))
		CHECK(res.steps == AE_AUTO_MAX_STEPS && res.epochs_run == AE_AUTO_MAX_STEPS / 4 &&
			  res.stop_reason == AE_STOP_CAP && !res.stopped_early &&
			  isnan(res.pca_validation_loss) && isfinite(res.final_train_loss),
			  "cap: %d steps in %d epochs, stopped by the cap (%ld, %d, %s)", AE_AUTO_MAX_STEPS,
			  AE_AUTO_MAX_STEPS / 4, res.steps, res.epochs_run, ae_stop_name(res.stop_reason));
	free_result(&al, &res);
	ae_model_destroy(&m);

	/* a partial last epoch: 1000 rows in batches of 400 are 3 steps an epoch */
	cfg.batch_size = 400;
	if (CHECK(tu_train_copy(&m, &arch, &data, &cfg, &al, &res) == AE_OK, "cap partial: trains"))
		CHECK(res.steps == AE_AUTO_MAX_STEPS && res.epochs_run == (AE_AUTO_MAX_STEPS + 2) / 3,
			  "cap: the last epoch stops at step %d (%ld steps, %d epochs)", AE_AUTO_MAX_STEPS,
			  res.steps, res.epochs_run);
	free_result(&al, &res);
	ae_model_destroy(&m);
	cfg.batch_size = 256;

	/* plateau: a step too small to change a weight never improves on epoch 0 */
	cfg.validation_fraction = 0.1;	/* 900 training rows: 4 steps an epoch */
	cfg.learning_rate = 1e-30;
	if (CHECK(tu_train_copy(&m, &arch, &data, &cfg, &al, &res) == AE_OK, "plateau: trains"))
	{
		/* window max(5, 500/4 = 125) epochs; at least 1000 steps = 250 epochs */
		int			expect = AE_AUTO_MIN_STEPS / 4;

		CHECK(res.stop_reason == AE_STOP_PLATEAU && res.stopped_early && res.best_epoch == 0 &&
			  res.epochs_run == expect && res.steps == (long) expect * 4 &&
			  res.final_validation_loss == res.pca_validation_loss,
			  "plateau: stops after %d epochs (1000 steps, past the 125-epoch window) keeping epoch 0 "
			  "(%d epochs, %ld steps, %s, epoch %d kept)", expect, res.epochs_run, res.steps,
			  ae_stop_name(res.stop_reason), res.best_epoch);
	}
	free_result(&al, &res);
	ae_model_destroy(&m);

	/* explicit epochs: that many, or patience epochs without improvement */
	cfg.epochs = 7;
	cfg.patience = 3;
	if (CHECK(tu_train_copy(&m, &arch, &data, &cfg, &al, &res) == AE_OK, "patience: trains"))
		CHECK(res.stop_reason == AE_STOP_PATIENCE && res.epochs_run == 3 && res.best_epoch == 0,
			  "patience: epoch 0 counts, 3 epochs without improvement stop (%d epochs, %s)",
			  res.epochs_run, ae_stop_name(res.stop_reason));
	free_result(&al, &res);
	ae_model_destroy(&m);
	cfg.learning_rate = 0.001;
	cfg.patience = 0;
	if (CHECK(tu_train_copy(&m, &arch, &data, &cfg, &al, &res) == AE_OK, "epochs: trains"))
		CHECK(res.stop_reason == AE_STOP_EPOCHS && res.epochs_run == 7 && res.steps == 28 &&
			  AE_CURVE_AT(&res, 7)->epoch == 7 && res.curve[0].epoch == 0,
			  "epochs: 7 epochs of 4 steps, the curve from epoch 0 to 7 (%d, %ld, %s)",
			  res.epochs_run, res.steps, ae_stop_name(res.stop_reason));

	/* a warm start's epoch 0 is the weights it starts from, and a candidate */
	{
		ae_train_config w = cfg;
		ae_train_result wr;
		tu_rows		copy = tu_rows_copy(&data);

		w.warm_start = 1;
		w.keep_pca = 1;
		w.learning_rate = 1e-30;
		w.epochs = 3;
		if (CHECK(ae_train(&m, copy.rows, copy.n, &w, NULL, &al, &wr) == AE_OK,
				  "warm start: trains"))
			CHECK(wr.has_epoch0 && wr.best_epoch == 0 && isnan(wr.curve[0].train_loss) &&
				  wr.final_validation_loss == wr.curve[0].validation_loss &&
				  isfinite(wr.pca_validation_loss),
				  "warm start: epoch 0 is the starting weights (no train loss), kept when nothing beats it");
		free_result(&al, &wr);
		tu_rows_free(&copy);
	}
	free_result(&al, &res);
	ae_model_destroy(&m);

	/* without the residual network: no epoch 0, the PCA still measured */
	arch.residual = 0;
	cfg.keep_pca = 1;
	if (CHECK(tu_train_copy(&m, &arch, &data, &cfg, &al, &res) == AE_OK, "plain: trains"))
		CHECK(!res.has_epoch0 && res.curve[0].epoch == 1 && res.best_epoch == 7 &&
			  isfinite(res.pca_validation_loss) && res.pca.block != NULL &&
			  res.pca.arch.n_hidden == 0 && !res.pca.arch.residual,
			  "plain: no epoch 0, the last epoch kept, pca_validation_loss %.5g from the kept PCA",
			  res.pca_validation_loss);
	free_result(&al, &res);
	ae_model_destroy(&m);
	tu_rows_free(&data);
	CHECK(ctx.live == 0, "stopping: no leaks (%ld live)", ctx.live);
}

/* ====================================================================== */
/* 5. Determinism with the similarity term                                 */
/* ====================================================================== */

/* Section 5: the same run twice with the similarity term and noise. */
static void
test_determinism(void)
{
	static const int hidden[] = {16};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	tu_rows		data = subspace_rows(600, 10, 3, 0.2, 1, 41);
	ae_arch		arch = tu_arch(10, 3, 1, hidden, AE_ACT_RELU, AE_ACT_LINEAR, AE_SCALING_STANDARD);
	ae_train_config cfg = tu_config();
	ae_train_result ra,
				rb;
	ae_model	a,
				b;

	arch.residual = 1;
	cfg.epochs = 6;
	cfg.batch_size = 64;
	cfg.similarity_weight = 1.0;
	cfg.similarity_temperature = 0.1;
	cfg.noise = AE_NOISE_GAUSSIAN;
	cfg.noise_level = 0.1;
	if (CHECK(tu_train_copy(&a, &arch, &data, &cfg, &al, &ra) == AE_OK &&
			  tu_train_copy(&b, &arch, &data, &cfg, &al, &rb) == AE_OK, "determinism: two runs train"))
	{
		int			same_curve = ra.epochs_run == rb.epochs_run;

		for (int e = 0; same_curve && e <= ra.epochs_run; e++)
			same_curve = ra.curve[e].train_loss == rb.curve[e].train_loss &&
				ra.curve[e].validation_objective == rb.curve[e].validation_objective;
		CHECK(memcmp(a.params, b.params, sizeof(float) * a.n_params) == 0 && same_curve &&
			  ra.final_validation_loss == rb.final_validation_loss,
			  "determinism: same seed, rows and threads with the similarity term give the same weights");
		CHECK(AE_CURVE_AT(&ra, 6)->validation_objective > AE_CURVE_AT(&ra, 6)->validation_loss,
			  "determinism: the validation objective adds the similarity term (%.5g > %.5g)",
			  AE_CURVE_AT(&ra, 6)->validation_objective, AE_CURVE_AT(&ra, 6)->validation_loss);
	}
	free_result(&al, &ra);
	free_result(&al, &rb);
	ae_model_destroy(&a);
	ae_model_destroy(&b);
	cfg.seed = 43;
	if (CHECK(tu_train_copy(&a, &arch, &data, &cfg, &al, &ra) == AE_OK, "determinism: another seed trains"))
	{
		cfg.seed = 42;
		CHECK(tu_train_copy(&b, &arch, &data, &cfg, &al, &rb) == AE_OK, "determinism: and the first again");
		CHECK(memcmp(a.params, b.params, sizeof(float) * a.n_params) != 0,
			  "determinism: another seed gives other weights");
	}
	free_result(&al, &ra);
	free_result(&al, &rb);
	ae_model_destroy(&a);
	ae_model_destroy(&b);
	tu_rows_free(&data);
	CHECK(ctx.live == 0, "determinism: no leaks (%ld live)", ctx.live);
}

/* ====================================================================== */
/* 6. Scaling 'l2'                                                         */
/* ====================================================================== */

/* Section 6: training and serving with scaling 'l2'. */
static void
test_l2(void)
{
	static const int hidden[] = {16};
	const size_t n = 500;
	const int	d = 8,
				k = 3;
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	tu_rows		data = subspace_rows(n, d, 3, 0.1, 0, 51);
	ae_arch		arch = tu_arch(d, k, 1, hidden, AE_ACT_RELU, AE_ACT_LINEAR, AE_SCALING_L2);
	ae_train_config cfg = tu_config();
	ae_train_result res;
	ae_model	m;
	tu_rows		copy;

	/* rows of very different lengths */
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < d; j++)
			data.rows[i][j] *= (float) (0.1 + (double) (i % 7));
	arch.residual = 1;
	cfg.epochs = 5;
	copy = tu_rows_copy(&data);
	if (!CHECK(ae_model_create(&m, &arch, 0, &al) == AE_OK &&
			   ae_train(&m, copy.rows, n, &cfg, NULL, &al, &res) == AE_OK, "l2: trains"))
		goto done;
	{
		double		worst = 0.0,
					worst_len = 0.0;

		for (size_t i = 0; i < n; i++)
		{
			double		len = 0.0,
						ulen = 0.0;

			for (int j = 0; j < d; j++)
			{
				len += (double) data.rows[i][j] * data.rows[i][j];
				ulen += (double) copy.rows[i][j] * copy.rows[i][j];
			}
			worst_len = fmax(worst_len, fabs(sqrt(ulen) - 1.0));
			worst = fmax(worst, fabs(res.row_norms[i] - sqrt(len)) / sqrt(len));
		}
		CHECK(res.row_norms != NULL && worst < 1e-6 && worst_len < 1e-6,
			  "l2: the rows are unit length after training (%.1e) and their lengths kept (%.1e)",
			  worst_len, worst);
		CHECK(m.shift[0] == 0.0f && m.scale[0] == 1.0f && m.lo[0] >= -1.0f && m.hi[0] <= 1.0f,
			  "l2: shift 0, scale 1, ranges of unit rows");
	}
	/* errors of scaled rows (times the lengths) are the raw rows' errors */
	{
		double	   *e1 = tu_xmalloc(sizeof(double) * n),
				   *e2 = tu_xmalloc(sizeof(double) * n);
		float	   *w1 = tu_xmalloc(sizeof(float) * ae_row_errors_floats(&m, 64)),
				   *w2 = tu_xmalloc(sizeof(float) * ae_infer_floats(&m, (int) n));
		size_t	   *idx = tu_xmalloc(sizeof(size_t) * n);
		double		worst = 0.0;

		for (size_t i = 0; i < n; i++)
			idx[i] = i;
		ae_row_errors(&m, copy.rows, idx, n, 64, res.row_norms, w1, e1);
		ae_reconstruction_error(&m, data.data, (int) n, e2, w2);
		for (size_t i = 0; i < n; i++)
			worst = fmax(worst, fabs(e1[i] - e2[i]) / fmax(e2[i], 1e-12));
		CHECK(worst < 1e-3, "l2: ae_row_errors with the lengths = reconstruction_error in input units (rel %.1e)",
			  worst);
		free(e1);
		free(e2);
		free(w1);
		free(w2);
		free(idx);
	}
	/* serving: encode normalises, reconstruct scales back, decode is unit-scale */
	{
		float		x[8],
					x2[8],
					z1[3],
					z2[3],
					r1[8],
					r2[8],
					dec[8];
		float	   *w = tu_xmalloc(sizeof(float) * ae_infer_floats(&m, 1));
		double		len = 0.0,
					e_code = 0.0,
					e_rec = 0.0,
					e_dec = 0.0;

		memcpy(x, data.rows[3], sizeof(x));
		for (int j = 0; j < d; j++)
		{
			x2[j] = 5.0f * x[j];
			len += (double) x[j] * x[j];
		}
		len = sqrt(len);
		ae_encode(&m, x, 1, z1, w);
		ae_encode(&m, x2, 1, z2, w);
		ae_reconstruct(&m, x, 1, r1, 0, w);
		ae_reconstruct(&m, x2, 1, r2, 0, w);
		ae_decode(&m, z1, 1, dec, w);
		for (int c = 0; c < k; c++)
			e_code = fmax(e_code, fabs(z1[c] - z2[c]));
		for (int j = 0; j < d; j++)
		{
			e_rec = fmax(e_rec, fabs(5.0 * r1[j] - r2[j]) / (5.0 * len));
			e_dec = fmax(e_dec, fabs(dec[j] * len - r1[j]) / len);
		}
		CHECK(e_code < 1e-5 && e_rec < 1e-5 && e_dec < 1e-5,
			  "l2: encode(5x) = encode(x) (%.1e), reconstruct(5x) = 5 reconstruct(x) (%.1e), "
			  "reconstruct(x) = decode(encode(x)) |x| (%.1e)", e_code, e_rec, e_dec);
		free(w);
	}
	free_result(&al, &res);
done:
	ae_model_destroy(&m);
	tu_rows_free(&copy);
	tu_rows_free(&data);
	CHECK(ctx.live == 0, "l2: no leaks (%ld live)", ctx.live);
}

/* ====================================================================== */

/* Run this program's checks; exit status 1 if any failed. */
int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);

	test_gradients();
	test_epoch_zero();
	test_never_worse();
	test_stopping();
	test_determinism();
	test_l2();

	return tu_finish();
}
