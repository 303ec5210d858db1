/*-------------------------------------------------------------------------
 *
 * test_network.c
 *	  Unit tests of the whole network of the autoencoder core (src/ae_model.c,
 *	  src/ae_net.c): model layout, weight init, the loss and its gradient.
 *
 * Sections:
 *	 1. model structure and weight initialisation
 *	 2. ae_loss_grad against a double central difference of the documented
 *	    loss, each loss term on its own, ae_forward and ae_mse
 *
 * Prints one line per check and "N passed, M failed" at the end; exits
 * non-zero if anything failed.
 *
 *-------------------------------------------------------------------------
 */
#include "test_util.h"

#include <stdint.h>

#define NACT AE_ACT_COUNT

/* ====================================================================== */
/* Helpers                                                                 */
/* ====================================================================== */

/*
 * The documented loss in double (ae_ref_net_loss) with weight decay wd and
 * sparsity sp, from a double copy p of the parameters.  *margin gets the
 * smallest distance to a kink (relu pre-activation, |code| with sparsity).
 * codes (B, latent) receives the code if not NULL.
 */
static double
net_loss_d(const ae_model *m, const double *p, const double *input,
		   const double *target, int B, double wd, double sp, double *mse_out,
		   double *margin, double *codes)
{
	ae_ref_loss_opts o = {.weight_decay = wd, .sparsity = sp};

	return ae_ref_net_loss(m, p, input, target, B, &o, mse_out, margin, codes);
}

/* ====================================================================== */
/* 1. Model structure and initialisation                                   */
/* ====================================================================== */

/*
 * ae_model_create: dims, parameter count, W/b views, allocator failure,
 * invalid architecture.
 */
static void
test_model_structure(void)
{
	static const int hidden[] = {5, 4};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_arch		arch = tu_arch(7, 3, 2, hidden, AE_ACT_TANH, AE_ACT_LINEAR, AE_SCALING_STANDARD);
	ae_model	m;
	ae_status	st;
	static const int want_dims[] = {7, 5, 4, 3, 4, 5, 7};
	size_t		want_params = 0;
	int			dims_ok,
				cover_ok = 1;
	unsigned char *seen;

	st = ae_model_create(&m, &arch, 0, &al);
	CHECK(st == AE_OK, "model: create 7-(5,4)-3 returns AE_OK (%d)", (int) st);
	if (st != AE_OK)
		return;
	CHECK(m.n_layers == 6, "model: n_layers == 6 (%d)", m.n_layers);
	dims_ok = 1;
	for (int l = 0; l <= 6; l++)
		if (m.dims[l] != want_dims[l])
			dims_ok = 0;
	CHECK(dims_ok, "model: dims are 7,5,4,3,4,5,7");
	for (int l = 0; l < 6; l++)
		want_params += (size_t) want_dims[l] * want_dims[l + 1] + want_dims[l + 1];
	CHECK(m.n_params == want_params, "model: n_params == %zu (%zu)", want_params, m.n_params);
	CHECK(ae_model_max_dim(&m) == 7, "model: max_dim == 7 (%d)", ae_model_max_dim(&m));
	CHECK(ae_arch_param_count(&arch) == want_params, "model: ae_arch_param_count == %zu (%zu)",
		  want_params, ae_arch_param_count(&arch));

	/* W[l] and b[l] tile params exactly once */
	seen = tu_xcalloc(m.n_params, 1);
	for (int l = 0; l < m.n_layers && cover_ok; l++)
	{
		ptrdiff_t	wo = m.W[l] - m.params,
					bo = m.b[l] - m.params;
		size_t		nw = (size_t) m.dims[l] * m.dims[l + 1],
					nb = (size_t) m.dims[l + 1];

		if (wo < 0 || bo < 0 || (size_t) wo + nw > m.n_params || (size_t) bo + nb > m.n_params)
		{
			cover_ok = 0;
			break;
		}
		for (size_t i = 0; i < nw; i++)
			seen[wo + i]++;
		for (size_t i = 0; i < nb; i++)
			seen[bo + i]++;
	}
	for (size_t i = 0; cover_ok && i < m.n_params; i++)
		if (seen[i] != 1)
			cover_ok = 0;
	free(seen);
	CHECK(cover_ok, "model: W[l], b[l] views tile params exactly once");
	CHECK(m.meta_len == 0, "model: meta_len 0 when created with 0");

	ae_model_destroy(&m);
	CHECK(ctx.live == 0, "model: destroy releases everything (live %ld)", ctx.live);

	/* allocator failure */
	al = tu_allocator(&ctx, 0);
	st = ae_model_create(&m, &arch, 0, &al);
	CHECK(st == AE_ENOMEM && ctx.live == 0, "model: create with failing allocator gives AE_ENOMEM (%d)", (int) st);

	/* invalid architecture refused at create */
	al = tu_allocator(&ctx, -1);
	arch.latent = 9;
	st = ae_model_create(&m, &arch, 0, &al);
	CHECK(st == AE_EINVAL && ctx.live == 0, "model: create with latent > n_input gives AE_EINVAL (%d)", (int) st);
	if (st == AE_OK)
		ae_model_destroy(&m);
}

/* ae_model_init_weights: reproducible per seed, finite, plausible variance. */
static void
test_init_weights(void)
{
	static const int hidden[] = {16};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_arch		arch = tu_arch(20, 4, 1, hidden, AE_ACT_RELU, AE_ACT_LINEAR, AE_SCALING_STANDARD);
	ae_model	a,
				b,
				c;
	ae_rng		r;
	int			finite = 1;
	double		s2 = 0.0;
	size_t		nw = 0;

	if (ae_model_create(&a, &arch, 0, &al) != AE_OK ||
		ae_model_create(&b, &arch, 0, &al) != AE_OK ||
		ae_model_create(&c, &arch, 0, &al) != AE_OK)
	{
		CHECK(0, "init: create models");
		return;
	}
	ae_rng_seed(&r, 5);
	ae_model_init_weights(&a, &r);
	ae_rng_seed(&r, 5);
	ae_model_init_weights(&b, &r);
	ae_rng_seed(&r, 6);
	ae_model_init_weights(&c, &r);
	CHECK(memcmp(a.params, b.params, a.n_params * sizeof(float)) == 0,
		  "init: same seed gives identical weights");
	CHECK(memcmp(a.params, c.params, a.n_params * sizeof(float)) != 0,
		  "init: different seed gives different weights");
	for (int l = 0; l < a.n_layers; l++)
		for (size_t i = 0; i < (size_t) a.dims[l] * a.dims[l + 1]; i++)
		{
			double		w = a.W[l][i];

			if (!isfinite(w))
				finite = 0;
			s2 += w * w;
			nw++;
		}
	CHECK(finite, "init: weights finite");
	CHECK(s2 / nw > 1e-4 && s2 / nw < 1.0,
		  "init: weight variance is plausible (%.4g)", s2 / nw);
	ae_model_destroy(&a);
	ae_model_destroy(&b);
	ae_model_destroy(&c);
	CHECK(ctx.live == 0, "init: no leaks (live %ld)", ctx.live);
}

/* ====================================================================== */
/* 2. Loss and gradient                                                    */
/* ====================================================================== */

/*
 * Gradient check of ae_loss_grad for one configuration against a double
 * central difference of the reference loss (ae_ref_net_grad).
 */
static void
netgrad_case(ae_activation act, ae_activation out_act, int B, double wd,
			 double sp, uint64_t seed)
{
	static const int hidden[] = {5, 4};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_arch		arch = tu_arch(7, 3, 2, hidden, act, out_act, AE_SCALING_STANDARD);
	ae_model	m;
	ae_rng		r;
	size_t		n,
				nin = (size_t) B * 7;
	double	   *p,
			   *ind,
			   *tgd,
			   *num;
	float	   *inf,
			   *tgf,
			   *grads,
			   *work;
	double		marg = 0.0,
				loss_d,
				mse_d,
				loss_f,
				mse_f = NAN,
				worst,
				gmax;
	int			tries,
				worst_i;
	char		tag[96];
	ae_ref_loss_opts ro = {.weight_decay = wd, .sparsity = sp};

	snprintf(tag, sizeof(tag), "net[%s/%s B=%d wd=%g sp=%g]",
			 tu_act_name(act), tu_act_name(out_act), B, wd, sp);

	if (ae_model_create(&m, &arch, 0, &al) != AE_OK)
	{
		CHECK(0, "%s: create model", tag);
		return;
	}
	n = m.n_params;
	p = tu_xmalloc(n * sizeof(double));
	num = tu_xmalloc(n * sizeof(double));
	ind = tu_xmalloc(nin * sizeof(double));
	tgd = tu_xmalloc(nin * sizeof(double));
	inf = tu_xmalloc(nin * sizeof(float));
	tgf = tu_xmalloc(nin * sizeof(float));
	grads = tu_xmalloc(n * sizeof(float));
	work = tu_xmalloc(ae_grad_floats(&m, B) * sizeof(float) + 16);

	/* find weights and data with every kink at least 1e-3 away */
	for (tries = 0; tries < 200; tries++)
	{
		ae_rng_seed(&r, seed + (uint64_t) tries * 7919);
		ae_model_init_weights(&m, &r);
		for (int l = 0; l < m.n_layers; l++)
			for (int i = 0; i < m.dims[l + 1]; i++)
				m.b[l][i] = (float) (0.2 * ae_rng_normal(&r));
		for (size_t i = 0; i < nin; i++)
		{
			inf[i] = (float) ae_rng_normal(&r);
			tgf[i] = out_act == AE_ACT_SIGMOID ? (float) ae_rng_uniform(&r)
				: (float) (inf[i] + 0.3 * ae_rng_normal(&r));
			ind[i] = inf[i];
			tgd[i] = tgf[i];
		}
		for (size_t i = 0; i < n; i++)
			p[i] = m.params[i];
		net_loss_d(&m, p, ind, tgd, B, wd, sp, NULL, &marg, NULL);
		if (marg > 1e-3)
			break;
	}
	if (!CHECK(marg > 1e-3, "%s: found a point away from kinks (margin %.3g)", tag, marg))
		goto done;

	for (size_t i = 0; i < n; i++)
		grads[i] = NAN;			/* must be overwritten */
	loss_f = ae_loss_grad(&m, inf, tgf, B, wd, sp, grads, work, &mse_f);
	loss_d = net_loss_d(&m, p, ind, tgd, B, wd, sp, &mse_d, NULL, NULL);

	CHECK(tu_close(loss_f, loss_d, 1e-5, 0.0),
		  "%s: returned loss %.9g equals double loss %.9g", tag, loss_f, loss_d);
	CHECK(tu_close(mse_f, mse_d, 1e-5, 0.0),
		  "%s: *mse %.9g equals double MSE term %.9g", tag, mse_f, mse_d);

	/* central differences in double */
	gmax = ae_ref_net_grad(&m, p, ind, tgd, B, &ro, num);
	worst = ae_ref_grad_worst(grads, num, n, gmax, &worst_i);
	CHECK(gmax > 1e-3 && tu_max_abs_f(grads, n) > 1e-3,
		  "%s: gradient is not all zero (max |num| %.3g, max |grad| %.3g)",
		  tag, gmax, tu_max_abs_f(grads, n));
	CHECK(worst <= 1.0,
		  "%s: ae_loss_grad matches central difference (worst err/tol %.3g at param %d: %.7g vs %.7g)",
		  tag, worst, worst_i, worst_i >= 0 ? (double) grads[worst_i] : 0.0,
		  worst_i >= 0 ? num[worst_i] : 0.0);

done:
	ae_model_destroy(&m);
	free(p);
	free(num);
	free(ind);
	free(tgd);
	free(inf);
	free(tgf);
	free(grads);
	free(work);
	CHECK(ctx.live == 0, "%s: no leaks", tag);
}

/* Each loss term on its own, compared as differences against plain MSE. */
static void
test_loss_terms(void)
{
	static const int hidden[] = {5, 4};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_arch		arch = tu_arch(7, 3, 2, hidden, AE_ACT_TANH, AE_ACT_LINEAR, AE_SCALING_STANDARD);
	ae_model	m;
	ae_rng		r;
	const int	B = 4;
	const double wd = 0.07,
				sp = 0.3;
	float		in[28],
				tg[28];
	double		ind[28],
				tgd[28],
				codes[12];
	float	   *g0,
			   *gw,
			   *gs,
			   *work;
	double	   *p;
	double		l0,
				lw,
				ls,
				m0,
				mw,
				ms,
				w2 = 0.0,
				mabs = 0.0,
				err_w = 0.0,
				err_b = 0.0,
				ld0;

	if (ae_model_create(&m, &arch, 0, &al) != AE_OK)
	{
		CHECK(0, "terms: create model");
		return;
	}
	ae_rng_seed(&r, 99);
	ae_model_init_weights(&m, &r);
	for (int i = 0; i < 28; i++)
	{
		in[i] = (float) ae_rng_normal(&r);
		tg[i] = (float) ae_rng_normal(&r);
		ind[i] = in[i];
		tgd[i] = tg[i];
	}
	g0 = tu_xmalloc(m.n_params * sizeof(float));
	gw = tu_xmalloc(m.n_params * sizeof(float));
	gs = tu_xmalloc(m.n_params * sizeof(float));
	p = tu_xmalloc(m.n_params * sizeof(double));
	work = tu_xmalloc(ae_grad_floats(&m, B) * sizeof(float) + 16);
	for (size_t i = 0; i < m.n_params; i++)
		p[i] = m.params[i];

	l0 = ae_loss_grad(&m, in, tg, B, 0.0, 0.0, g0, work, &m0);
	lw = ae_loss_grad(&m, in, tg, B, wd, 0.0, gw, work, &mw);
	ls = ae_loss_grad(&m, in, tg, B, 0.0, sp, gs, work, &ms);
	ld0 = net_loss_d(&m, p, ind, tgd, B, 0.0, 0.0, NULL, NULL, codes);

	for (int l = 0; l < m.n_layers; l++)
		for (size_t i = 0; i < (size_t) m.dims[l] * m.dims[l + 1]; i++)
			w2 += (double) m.W[l][i] * m.W[l][i];
	for (int i = 0; i < B * 3; i++)
		mabs += fabs(codes[i]);
	mabs /= B * 3;

	CHECK(tu_close(l0, m0, 1e-12, 0.0) && tu_close(l0, ld0, 1e-5, 0.0),
		  "terms: plain loss %.9g == *mse %.9g == double MSE %.9g", l0, m0, ld0);
	CHECK(tu_close(mw, m0, 1e-12, 0.0) && tu_close(ms, m0, 1e-12, 0.0),
		  "terms: *mse is the MSE term only (%.9g, %.9g, %.9g)", m0, mw, ms);
	CHECK(tu_close(lw - l0, 0.5 * wd * w2, 1e-5, 1e-9),
		  "terms: weight decay adds wd/2*sum W^2 (%.9g vs %.9g)", lw - l0, 0.5 * wd * w2);
	CHECK(tu_close(ls - l0, sp * mabs, 1e-5, 1e-9),
		  "terms: sparsity adds sp*mean|code| (%.9g vs %.9g)", ls - l0, sp * mabs);

	/* weight-decay gradient: + wd*W on weights, nothing on biases */
	for (int l = 0; l < m.n_layers; l++)
	{
		for (size_t i = 0; i < (size_t) m.dims[l] * m.dims[l + 1]; i++)
		{
			size_t		o = (size_t) (m.W[l] - m.params) + i;

			err_w = fmax(err_w, fabs(((double) gw[o] - g0[o]) - wd * m.W[l][i]));
		}
		for (int i = 0; i < m.dims[l + 1]; i++)
		{
			size_t		o = (size_t) (m.b[l] - m.params) + i;

			err_b = fmax(err_b, fabs((double) gw[o] - g0[o]));
		}
	}
	CHECK(err_w < 1e-6, "terms: weight-decay gradient is wd*W (err %.3g)", err_w);
	CHECK(err_b < 1e-7, "terms: weight decay leaves bias gradients alone (err %.3g)", err_b);

	/* sparsity gradient touches only encoder layers 0..n_hidden */
	{
		double		dec = 0.0,
					enc = 0.0;

		for (int l = 0; l < m.n_layers; l++)
		{
			size_t		s = (size_t) (m.W[l] - m.params),
						nw = (size_t) m.dims[l] * m.dims[l + 1];

			for (size_t i = 0; i < nw; i++)
			{
				double		d = fabs((double) gs[s + i] - g0[s + i]);

				if (l <= m.arch.n_hidden)
					enc = fmax(enc, d);
				else
					dec = fmax(dec, d);
			}
		}
		CHECK(enc > 1e-4 && dec < 1e-7,
			  "terms: sparsity gradient reaches encoder only (enc %.3g, dec %.3g)", enc, dec);
	}

	ae_model_destroy(&m);
	free(g0);
	free(gw);
	free(gs);
	free(p);
	free(work);
	CHECK(ctx.live == 0, "terms: no leaks");
}

/* ae_forward against the double reference, on normalized input. */
static void
test_forward(void)
{
	static const int hidden[] = {6, 5};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_arch		arch = tu_arch(9, 2, 2, hidden, AE_ACT_ELU, AE_ACT_SIGMOID, AE_SCALING_MINMAX);
	ae_model	m;
	ae_rng		r;
	const int	B = 5;
	float		x[45],
			   *work,
			   *acts[AE_MAX_LAYERS + 1];
	double		xd[45],
				dummy[45],
				codes[10],
			   *p,
				ecode,
				eout;
	int			L;

	if (ae_model_create(&m, &arch, 0, &al) != AE_OK)
	{
		CHECK(0, "forward: create model");
		return;
	}
	L = m.n_layers;
	ae_rng_seed(&r, 1234);
	ae_model_init_weights(&m, &r);
	for (int i = 0; i < 45; i++)
	{
		x[i] = (float) ae_rng_uniform(&r);
		xd[i] = x[i];
		dummy[i] = 0.0;
	}
	p = tu_xmalloc(m.n_params * sizeof(double));
	for (size_t i = 0; i < m.n_params; i++)
		p[i] = m.params[i];
	work = tu_xmalloc(ae_forward_floats(&m, B) * sizeof(float) + 16);
	for (int l = 0; l <= L; l++)
		acts[l] = NULL;
	ae_forward(&m, x, B, work, acts);

	/* output via the MSE against zero target: mean(y^2) */
	{
		double		mse0,
					ms = 0.0;
		double	   *a = tu_xmalloc(sizeof(double) * B * 9),
				   *z = tu_xmalloc(sizeof(double) * B * 9);

		net_loss_d(&m, p, xd, dummy, B, 0.0, 0.0, &mse0, NULL, codes);
		/* recompute the output explicitly */
		memcpy(a, xd, sizeof(double) * B * 9);
		for (int l = 0; l < L; l++)
		{
			ae_activation act = l == L - 1 ? AE_ACT_SIGMOID : AE_ACT_ELU;

			ae_ref_dense_forward(z, a, p + (m.W[l] - m.params), p + (m.b[l] - m.params),
								 B, m.dims[l], m.dims[l + 1], act);
			memcpy(a, z, sizeof(double) * B * m.dims[l + 1]);
		}
		for (int i = 0; i < B * 9; i++)
			ms += a[i] * a[i];
		CHECK(tu_close(ms / (B * 9), mse0, 1e-12, 0.0), "forward: test's double net is self-consistent");
		ecode = acts[m.arch.n_hidden + 1] ? tu_normwise_f_d(acts[m.arch.n_hidden + 1], codes, (size_t) B * 2, 1.0) : INFINITY;
		eout = acts[L] ? tu_normwise_f_d(acts[L], a, (size_t) B * 9, 1.0) : INFINITY;
		free(a);
		free(z);
	}
	CHECK(ecode < 1e-5, "forward: acts[n_hidden+1] is the code (err %.3g)", ecode);
	CHECK(eout < 1e-5, "forward: acts[n_layers] is the output (err %.3g)", eout);

	ae_model_destroy(&m);
	free(p);
	free(work);
	CHECK(ctx.live == 0, "forward: no leaks");
}

/* ae_mse over an index set equals the plain loss of ae_loss_grad. */
static void
test_mse(void)
{
	static const int hidden[] = {6};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_arch		arch = tu_arch(5, 2, 1, hidden, AE_ACT_TANH, AE_ACT_LINEAR, AE_SCALING_STANDARD);
	ae_model	m;
	ae_rng		r;
	tu_rows		d = tu_rows_new(37, 5);
	size_t		idx[20];
	float	   *batch,
			   *grads,
			   *work;
	double		mse_lg = 0.0,
				mse_a;
	int			nb = 20;

	if (ae_model_create(&m, &arch, 0, &al) != AE_OK)
	{
		CHECK(0, "mse: create model");
		return;
	}
	ae_rng_seed(&r, 4321);
	ae_model_init_weights(&m, &r);
	for (size_t i = 0; i < 37 * 5; i++)
		d.data[i] = (float) ae_rng_normal(&r);
	for (int i = 0; i < nb; i++)
		idx[i] = (size_t) (i * 37 / nb);	/* a subset, in order */
	batch = tu_xmalloc(sizeof(float) * nb * 5);
	for (int i = 0; i < nb; i++)
		memcpy(batch + i * 5, d.rows[idx[i]], 5 * sizeof(float));
	grads = tu_xmalloc(sizeof(float) * m.n_params);
	work = tu_xmalloc(sizeof(float) * (ae_grad_floats(&m, nb) + ae_forward_floats(&m, nb)) + 64);
	ae_loss_grad(&m, batch, batch, nb, 0.0, 0.0, grads, work, &mse_lg);
	/* B = 7 does not divide 20: a partial last batch */
	mse_a = ae_mse(&m, d.rows, idx, (size_t) nb, 7, work);
	CHECK(tu_close(mse_a, mse_lg, 1e-5, 0.0),
		  "mse: ae_mse over 20 indexed rows in batches of 7 equals the batch MSE (%.9g vs %.9g)",
		  mse_a, mse_lg);
	ae_model_destroy(&m);
	tu_rows_free(&d);
	free(batch);
	free(grads);
	free(work);
	CHECK(ctx.live == 0, "mse: no leaks");
}

/* ====================================================================== */

/* Run this program's checks; exit status 1 if any failed. */
int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* 1 */
	test_model_structure();
	test_init_weights();

	/* 2 */
	for (int a = 0; a < NACT; a++)
		for (int o = 0; o < 2; o++)
		{
			ae_activation out = o ? AE_ACT_SIGMOID : AE_ACT_LINEAR;
			uint64_t	seed = 500 + (uint64_t) a * 10 + (uint64_t) o;

			netgrad_case((ae_activation) a, out, 3, 0.05, 0.1, seed);
			netgrad_case((ae_activation) a, out, 3, 0.0, 0.0, seed + 1000);
		}
	netgrad_case(AE_ACT_TANH, AE_ACT_LINEAR, 4, 0.05, 0.0, 77);
	netgrad_case(AE_ACT_ELU, AE_ACT_LINEAR, 4, 0.0, 0.2, 78);
	netgrad_case(AE_ACT_RELU, AE_ACT_SIGMOID, 1, 0.02, 0.05, 79);
	test_loss_terms();
	test_forward();
	test_mse();

	return tu_finish();
}
