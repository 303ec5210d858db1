/*-------------------------------------------------------------------------
 *
 * test_core.c
 *	  Unit tests of the pure-C autoencoder core (src/ae_core.h).
 *
 * Sections:
 *	 1. reference kernels: central-difference gradient check in double
 *	 2. fast float kernels (sgemm) against the double reference
 *	 3. whole-network loss and gradient against a double central difference
 *	 4. optimisers (Adam, SGD with momentum) against hand-computed values
 *	 5. RNG
 *	 6. model format: round trip, truncation, byte flips, trailing bytes
 *	 7. inference on raw inputs
 *	 8. training and argument checks
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

/* z = x W^T + b written out by hand in double. */
static void
hand_preact(double *z, const double *x, const double *W, const double *b,
			int B, int in, int out)
{
	for (int r = 0; r < B; r++)
		for (int o = 0; o < out; o++)
		{
			double		s = b[o];

			for (int i = 0; i < in; i++)
				s += x[(size_t) r * in + i] * W[(size_t) o * in + i];
			z[(size_t) r * out + o] = s;
		}
}

/* Derivative of the activation at z, by hand (alpha = 1 for ELU). */
static double
hand_dact(double z, ae_activation act)
{
	switch (act)
	{
		case AE_ACT_LINEAR:
			return 1.0;
		case AE_ACT_RELU:
			return z > 0.0 ? 1.0 : 0.0;
		case AE_ACT_TANH:
			{
				double		t = tanh(z);

				return 1.0 - t * t;
			}
		case AE_ACT_SIGMOID:
			{
				double		s = 1.0 / (1.0 + exp(-z));

				return s * (1.0 - s);
			}
		case AE_ACT_ELU:
			return z > 0.0 ? 1.0 : exp(z);
		default:
			return NAN;
	}
}

/*
 * Fill x so that no pre-activation is within margin of 0 (relu's kink),
 * resampling one batch row at a time.  Returns 1 on success.
 */
static int
sample_away_from_kinks(ae_rng *r, double *x, const double *W, const double *b,
					   int B, int in, int out, double margin)
{
	double	   *z = tu_xmalloc(sizeof(double) * out);
	int			ok = 1;

	for (int row = 0; row < B; row++)
	{
		int			tries;

		for (tries = 0; tries < 10000; tries++)
		{
			double		mn = INFINITY;

			for (int i = 0; i < in; i++)
				x[(size_t) row * in + i] = tu_unif(r, -1.0, 1.0);
			hand_preact(z, x + (size_t) row * in, W, b, 1, in, out);
			for (int o = 0; o < out; o++)
				mn = fmin(mn, fabs(z[o]));
			if (mn > margin)
				break;
		}
		if (tries == 10000)
			ok = 0;
	}
	free(z);
	return ok;
}

/* Normwise relative difference max|a-b| / max(max|b|, floor). */
static double
normwise_f_d(const float *a, const double *b, size_t n, double floor_)
{
	double		md = 0.0,
				mb = 0.0;

	for (size_t i = 0; i < n; i++)
	{
		double		d = fabs((double) a[i] - b[i]);

		if (isnan(d))
			return INFINITY;
		md = fmax(md, d);
		mb = fmax(mb, fabs(b[i]));
	}
	return md / fmax(mb, floor_);
}

static double
normwise_f_f(const float *a, const float *b, size_t n, double floor_)
{
	double		md = 0.0,
				mb = 0.0;

	for (size_t i = 0; i < n; i++)
	{
		double		d = fabs((double) a[i] - (double) b[i]);

		if (isnan(d))
			return INFINITY;
		md = fmax(md, d);
		mb = fmax(mb, fabs((double) b[i]));
	}
	return md / fmax(mb, floor_);
}

/* ====================================================================== */
/* 1. Reference kernels: gradient check in double                          */
/* ====================================================================== */

/* sum(c .* act(x W^T + b)) through the reference forward. */
static double
ref_scalar_loss(const double *c, const double *x, const double *W,
				const double *b, int B, int in, int out, ae_activation act,
				double *ybuf)
{
	double		s = 0.0;

	ae_ref_dense_forward(ybuf, x, W, b, B, in, out, act);
	for (int i = 0; i < B * out; i++)
		s += c[i] * ybuf[i];
	return s;
}

/*
 * Compare analytic gradient g against the central difference of the loss
 * with respect to each entry of v (perturbed in place).
 */
static double
ref_fd_worst(double *v, int nv, const double *g, const double *c,
			 const double *x, const double *W, const double *b, int B,
			 int in, int out, ae_activation act, double *ybuf)
{
	const double eps = 1e-6;
	double		worst = 0.0;

	for (int i = 0; i < nv; i++)
	{
		double		save = v[i],
					lp,
					lm,
					num,
					err;

		v[i] = save + eps;
		lp = ref_scalar_loss(c, x, W, b, B, in, out, act, ybuf);
		v[i] = save - eps;
		lm = ref_scalar_loss(c, x, W, b, B, in, out, act, ybuf);
		v[i] = save;
		num = (lp - lm) / (2.0 * eps);
		err = fabs(num - g[i]) / (fmax(fabs(num), fabs(g[i])) + 1e-3);
		if (isnan(g[i]))
			err = INFINITY;
		worst = fmax(worst, err);
	}
	return worst;
}

static void
test_ref_activate(void)
{
	static const double zs[] = {-3.0, -0.7, -1e-3, 0.0, 2e-3, 0.4, 2.5};
	double		worst_ref = 0.0,
				worst_fast = 0.0;

	for (int a = 0; a < NACT; a++)
		for (size_t i = 0; i < sizeof(zs) / sizeof(zs[0]); i++)
		{
			double		want = tu_act(zs[i], (ae_activation) a);
			float		f = (float) zs[i];

			worst_ref = fmax(worst_ref, fabs(ae_ref_activate(zs[i], (ae_activation) a) - want));
			ae_activate(&f, 1, (ae_activation) a);
			worst_fast = fmax(worst_fast, fabs((double) f - tu_act((double) (float) zs[i], (ae_activation) a)));
		}
	CHECK(worst_ref < 1e-14, "ref activate matches hand formulas (worst %.3g)", worst_ref);
	CHECK(worst_fast < 1e-6, "float activate matches hand formulas (worst %.3g)", worst_fast);
}

static void
test_ref_gradcheck(ae_activation act)
{
	const int	B = 3,
				in = 4,
				out = 5;
	ae_rng		r;
	double		x[12],
				W[20],
				b[5],
				c[15],
				y[15],
				yh[15],
				z[15],
				dy[15],
				dW[20],
				db[5],
				dx[12],
				dW2[20],
				db2[5],
				dW3[20],
				db3[5],
				ybuf[15];
	double		worst,
				e;
	int			ok;

	ae_rng_seed(&r, 1000 + (uint64_t) act);
	for (int i = 0; i < 20; i++)
		W[i] = tu_unif(&r, -1.0, 1.0);
	for (int i = 0; i < 5; i++)
		b[i] = tu_unif(&r, -0.5, 0.5);
	for (int i = 0; i < 15; i++)
		c[i] = tu_unif(&r, -1.0, 1.0);
	ok = sample_away_from_kinks(&r, x, W, b, B, in, out, 1e-2);
	CHECK(ok, "ref[%s]: sampled inputs away from kinks", tu_act_name(act));

	/* forward against the hand-written layer */
	hand_preact(z, x, W, b, B, in, out);
	for (int i = 0; i < B * out; i++)
		yh[i] = tu_act(z[i], act);
	ae_ref_dense_forward(y, x, W, b, B, in, out, act);
	worst = 0.0;
	for (int i = 0; i < B * out; i++)
		worst = fmax(worst, fabs(y[i] - yh[i]));
	CHECK(worst < 1e-12, "ref[%s]: forward equals hand-computed act(xW^T+b) (max err %.3g)",
		  tu_act_name(act), worst);

	/* backward */
	memcpy(dy, c, sizeof(dy));
	memset(dW, 0, sizeof(dW));
	memset(db, 0, sizeof(db));
	for (int i = 0; i < 12; i++)
		dx[i] = 12345.0;		/* must be overwritten, not accumulated */
	ae_ref_dense_backward(dx, dW, db, dy, y, x, W, B, in, out, act);

	CHECK(tu_max_abs_d(dW, 20) > 1e-3 && tu_max_abs_d(db, 5) > 1e-3 &&
		  tu_max_abs_d(dx, 12) > 1e-3,
		  "ref[%s]: gradients are not all zero (|dW| %.3g |db| %.3g |dx| %.3g)",
		  tu_act_name(act), tu_max_abs_d(dW, 20), tu_max_abs_d(db, 5),
		  tu_max_abs_d(dx, 12));

	worst = 0.0;
	for (int i = 0; i < B * out; i++)
		worst = fmax(worst, fabs(dy[i] - c[i] * hand_dact(z[i], act)));
	CHECK(worst < 1e-12, "ref[%s]: dy turned into pre-activation gradient in place (err %.3g)",
		  tu_act_name(act), worst);

	e = ref_fd_worst(W, 20, dW, c, x, W, b, B, in, out, act, ybuf);
	CHECK(e < 1e-6, "ref[%s]: dW matches central difference (rel err %.3g)", tu_act_name(act), e);
	e = ref_fd_worst(b, 5, db, c, x, W, b, B, in, out, act, ybuf);
	CHECK(e < 1e-6, "ref[%s]: db matches central difference (rel err %.3g)", tu_act_name(act), e);
	e = ref_fd_worst(x, 12, dx, c, x, W, b, B, in, out, act, ybuf);
	CHECK(e < 1e-6, "ref[%s]: dx matches central difference (rel err %.3g)", tu_act_name(act), e);

	/* dW and db accumulate */
	memcpy(dW2, dW, sizeof(dW));
	memcpy(db2, db, sizeof(db));
	memcpy(dy, c, sizeof(dy));
	ae_ref_dense_backward(dx, dW2, db2, dy, y, x, W, B, in, out, act);
	worst = 0.0;
	for (int i = 0; i < 20; i++)
		worst = fmax(worst, fabs(dW2[i] - 2.0 * dW[i]));
	for (int i = 0; i < 5; i++)
		worst = fmax(worst, fabs(db2[i] - 2.0 * db[i]));
	CHECK(worst < 1e-12, "ref[%s]: dW/db accumulate across calls (err %.3g)", tu_act_name(act), worst);

	/* dx = NULL is allowed and does not change dW/db */
	memset(dW3, 0, sizeof(dW3));
	memset(db3, 0, sizeof(db3));
	memcpy(dy, c, sizeof(dy));
	ae_ref_dense_backward(NULL, dW3, db3, dy, y, x, W, B, in, out, act);
	CHECK(memcmp(dW3, dW, sizeof(dW)) == 0 && memcmp(db3, db, sizeof(db)) == 0,
		  "ref[%s]: dx=NULL gives the same dW/db", tu_act_name(act));
}

/* ====================================================================== */
/* 2. Fast float kernels against the reference                             */
/* ====================================================================== */

static void
test_fast_vs_ref(ae_activation act, int B, int in, int out)
{
	size_t		nx = (size_t) B * in,
				nw = (size_t) out * in,
				ny = (size_t) B * out;
	ae_rng		r;
	double	   *xd = tu_xmalloc(nx * sizeof(double)),
			   *Wd = tu_xmalloc(nw * sizeof(double)),
			   *bd = tu_xmalloc(out * sizeof(double)),
			   *yd = tu_xmalloc(ny * sizeof(double)),
			   *dyd = tu_xmalloc(ny * sizeof(double)),
			   *dxd = tu_xmalloc(nx * sizeof(double)),
			   *dWd = tu_xmalloc(nw * sizeof(double)),
			   *dbd = tu_xmalloc(out * sizeof(double));
	float	   *xf = tu_xmalloc(nx * sizeof(float)),
			   *Wf = tu_xmalloc(nw * sizeof(float)),
			   *bf = tu_xmalloc(out * sizeof(float)),
			   *yf = tu_xmalloc(ny * sizeof(float)),
			   *dyf = tu_xmalloc(ny * sizeof(float)),
			   *dxf = tu_xmalloc(nx * sizeof(float)),
			   *dWf = tu_xmalloc(nw * sizeof(float)),
			   *dbf = tu_xmalloc(out * sizeof(float)),
			   *dWf2 = tu_xmalloc(nw * sizeof(float)),
			   *dbf2 = tu_xmalloc(out * sizeof(float)),
			   *cf = tu_xmalloc(ny * sizeof(float));
	double		e_y,
				e_dx,
				e_dW,
				e_db,
				e_dy,
				e_null;
	const double tol = 1e-4;

	ae_rng_seed(&r, 77 + (uint64_t) act * 1000 + (uint64_t) B * 31 + (uint64_t) in * 7 + (uint64_t) out);
	for (size_t i = 0; i < nw; i++)
		Wd[i] = (double) (float) (tu_unif(&r, -1.0, 1.0) / sqrt((double) in));
	for (int i = 0; i < out; i++)
		bd[i] = (double) (float) tu_unif(&r, -0.5, 0.5);
	sample_away_from_kinks(&r, xd, Wd, bd, B, in, out, 1e-3);
	for (size_t i = 0; i < nx; i++)
		xd[i] = (double) (float) xd[i];
	for (size_t i = 0; i < nx; i++)
		xf[i] = (float) xd[i];
	for (size_t i = 0; i < nw; i++)
		Wf[i] = (float) Wd[i];
	for (int i = 0; i < out; i++)
		bf[i] = (float) bd[i];
	for (size_t i = 0; i < ny; i++)
		cf[i] = (float) tu_unif(&r, -1.0, 1.0);

	ae_ref_dense_forward(yd, xd, Wd, bd, B, in, out, act);
	for (size_t i = 0; i < ny; i++)
		yf[i] = NAN;
	ae_dense_forward(yf, xf, Wf, bf, B, in, out, act);
	e_y = normwise_f_d(yf, yd, ny, 1.0);

	/* backward; dW/db start non-zero to check accumulation */
	for (size_t i = 0; i < ny; i++)
	{
		dyf[i] = cf[i];
		dyd[i] = (double) cf[i];
	}
	for (size_t i = 0; i < nw; i++)
	{
		dWf[i] = 0.25f;
		dWd[i] = 0.25;
	}
	for (int i = 0; i < out; i++)
	{
		dbf[i] = -0.5f;
		dbd[i] = -0.5;
	}
	for (size_t i = 0; i < nx; i++)
	{
		dxf[i] = 999.0f;
		dxd[i] = 999.0;
	}
	ae_ref_dense_backward(dxd, dWd, dbd, dyd, yd, xd, Wd, B, in, out, act);
	ae_dense_backward(dxf, dWf, dbf, dyf, yf, xf, Wf, B, in, out, act);
	e_dx = normwise_f_d(dxf, dxd, nx, 1e-2);
	e_dW = normwise_f_d(dWf, dWd, nw, 1e-2);
	e_db = normwise_f_d(dbf, dbd, out, 1e-2);
	e_dy = normwise_f_d(dyf, dyd, ny, 1e-2);

	/* dx = NULL path */
	for (size_t i = 0; i < ny; i++)
		dyf[i] = cf[i];
	for (size_t i = 0; i < nw; i++)
		dWf2[i] = 0.25f;
	for (int i = 0; i < out; i++)
		dbf2[i] = -0.5f;
	ae_dense_backward(NULL, dWf2, dbf2, dyf, yf, xf, Wf, B, in, out, act);
	e_null = fmax(normwise_f_f(dWf2, dWf, nw, 1e-2), normwise_f_f(dbf2, dbf, out, 1e-2));

	CHECK(e_y < tol && e_dx < tol && e_dW < tol && e_db < tol && e_dy < tol && e_null < 1e-6,
		  "fast[%s] B=%d in=%d out=%d matches reference (y %.2g dx %.2g dW %.2g db %.2g dz %.2g null-dx %.2g)",
		  tu_act_name(act), B, in, out, e_y, e_dx, e_dW, e_db, e_dy, e_null);

	free(xd);
	free(Wd);
	free(bd);
	free(yd);
	free(dyd);
	free(dxd);
	free(dWd);
	free(dbd);
	free(xf);
	free(Wf);
	free(bf);
	free(yf);
	free(dyf);
	free(dxf);
	free(dWf);
	free(dbf);
	free(dWf2);
	free(dbf2);
	free(cf);
}

/* ====================================================================== */
/* 3. Whole network                                                        */
/* ====================================================================== */

static int
max_dim(const ae_model *m)
{
	int			d = 0;

	for (int l = 0; l <= m->n_layers; l++)
		if (m->dims[l] > d)
			d = m->dims[l];
	return d;
}

/*
 * The documented loss in double, computed from a double copy p of the
 * parameters through the reference layer.  *margin gets the smallest
 * distance to a kink (relu pre-activation, |code| for the sparsity term).
 * codes (B, latent) receives the code if not NULL.
 */
static double
net_loss_d(const ae_model *m, const double *p, const double *input,
		   const double *target, int B, double wd, double sp, double *mse_out,
		   double *margin, double *codes)
{
	int			L = m->n_layers,
				k = m->arch.n_hidden,
				md = max_dim(m);
	double	   *a = tu_xmalloc(sizeof(double) * B * md),
			   *z = tu_xmalloc(sizeof(double) * B * md);
	double		marg = INFINITY,
				sumabs = 0.0,
				mse = 0.0,
				w2 = 0.0;

	memcpy(a, input, sizeof(double) * B * m->dims[0]);
	for (int l = 0; l < L; l++)
	{
		int			din = m->dims[l],
					dout = m->dims[l + 1];
		ae_activation act = (l == L - 1) ? m->arch.output_activation : m->arch.activation;
		const double *W = p + (m->W[l] - m->params);
		const double *b = p + (m->b[l] - m->params);

		ae_ref_dense_forward(z, a, W, b, B, din, dout, AE_ACT_LINEAR);
		for (int i = 0; i < B * dout; i++)
		{
			if (act == AE_ACT_RELU)
				marg = fmin(marg, fabs(z[i]));
			a[i] = tu_act(z[i], act);
		}
		if (l == k)
		{
			for (int i = 0; i < B * dout; i++)
			{
				sumabs += fabs(a[i]);
				if (act != AE_ACT_RELU)
					marg = fmin(marg, fabs(a[i]));
			}
			if (codes)
				memcpy(codes, a, sizeof(double) * B * dout);
		}
		for (size_t i = 0; i < (size_t) dout * din; i++)
			w2 += W[i] * W[i];
	}
	for (int i = 0; i < B * m->dims[L]; i++)
	{
		double		d = a[i] - target[i];

		mse += d * d;
	}
	mse /= (double) B * m->dims[L];
	if (mse_out)
		*mse_out = mse;
	if (margin)
		*margin = marg;
	free(a);
	free(z);
	return mse + 0.5 * wd * w2 + sp * sumabs / ((double) B * m->arch.latent);
}

static void
test_model_structure(void)
{
	static const int hidden[] = {5, 4};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_arch		arch = tu_arch(7, 3, 2, hidden, AE_ACT_TANH, AE_ACT_LINEAR, AE_NORM_STANDARD);
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

static void
test_init_weights(void)
{
	static const int hidden[] = {16};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_arch		arch = tu_arch(20, 4, 1, hidden, AE_ACT_RELU, AE_ACT_LINEAR, AE_NORM_STANDARD);
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

/*
 * Gradient check of ae_loss_grad for one configuration.  Returns 1 when
 * everything passed.
 */
static void
netgrad_case(ae_activation act, ae_activation out_act, int B, double wd,
			 double sp, uint64_t seed)
{
	static const int hidden[] = {5, 4};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_arch		arch = tu_arch(7, 3, 2, hidden, act, out_act, AE_NORM_STANDARD);
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
				worst = 0.0,
				gmax = 0.0,
				tol_abs;
	int			tries,
				worst_i = -1;
	char		tag[96];

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
	for (size_t i = 0; i < n; i++)
	{
		const double eps = 1e-6;
		double		save = p[i],
					lp,
					lm;

		p[i] = save + eps;
		lp = net_loss_d(&m, p, ind, tgd, B, wd, sp, NULL, NULL, NULL);
		p[i] = save - eps;
		lm = net_loss_d(&m, p, ind, tgd, B, wd, sp, NULL, NULL, NULL);
		p[i] = save;
		num[i] = (lp - lm) / (2.0 * eps);
		gmax = fmax(gmax, fabs(num[i]));
	}
	tol_abs = 2e-5 * fmax(gmax, 1.0);
	for (size_t i = 0; i < n; i++)
	{
		double		d = fabs((double) grads[i] - num[i]);
		double		allowed = 2e-3 * fabs(num[i]) + tol_abs;
		double		ratio = d / allowed;

		if (isnan(grads[i]))
			ratio = INFINITY;
		if (ratio > worst)
		{
			worst = ratio;
			worst_i = (int) i;
		}
	}
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
	ae_arch		arch = tu_arch(7, 3, 2, hidden, AE_ACT_TANH, AE_ACT_LINEAR, AE_NORM_STANDARD);
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
	ae_arch		arch = tu_arch(9, 2, 2, hidden, AE_ACT_ELU, AE_ACT_SIGMOID, AE_NORM_MINMAX);
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
		ecode = acts[m.arch.n_hidden + 1] ? normwise_f_d(acts[m.arch.n_hidden + 1], codes, (size_t) B * 2, 1.0) : INFINITY;
		eout = acts[L] ? normwise_f_d(acts[L], a, (size_t) B * 9, 1.0) : INFINITY;
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
	ae_arch		arch = tu_arch(5, 2, 1, hidden, AE_ACT_TANH, AE_ACT_LINEAR, AE_NORM_STANDARD);
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
/* 4. Optimisers                                                           */
/* ====================================================================== */

static void
test_adam(void)
{
	const double lr = 0.01;
	float		p[4] = {0.5f, -1.0f, 2.0f, 0.0f};
	const float g1[4] = {0.1f, -0.2f, 0.0f, 3.0f};
	const float g2[4] = {-0.05f, 0.4f, 1.0f, 3.0f};
	float		m[4] = {0},
				v[4] = {0},
				p1[4];
	/* p - lr * g / (|g| + 1e-7), written out */
	const double want1[4] = {0.49000000999999, -0.990000004999998, 2.0, -0.0099999996666667};
	double		worst = 0.0,
				worst_sign = 0.0,
				worst_mv = 0.0;
	ae_optim	o;

	ae_optim_init(&o, AE_OPT_ADAM, lr, m, v, 4);
	CHECK(o.kind == AE_OPT_ADAM && o.t == 0 && o.n == 4 && o.lr == lr &&
		  o.beta1 == AE_ADAM_BETA1 && o.beta2 == AE_ADAM_BETA2 && o.eps == AE_ADAM_EPS,
		  "adam: init sets kind, lr, betas, eps, t=0");
	ae_optim_step(&o, p, g1);
	for (int i = 0; i < 4; i++)
	{
		double		dm = 0.1 * g1[i],
					dv = 0.001 * (double) g1[i] * g1[i];

		worst = fmax(worst, fabs(p[i] - want1[i]));
		worst_mv = fmax(worst_mv, fmax(fabs(m[i] - dm) / (fabs(dm) + 1e-12),
									   fabs(v[i] - dv) / (fabs(dv) + 1e-12)));
	}
	for (int i = 0; i < 4; i++)
	{
		float		p0[4] = {0.5f, -1.0f, 2.0f, 0.0f};
		double		sg = g1[i] > 0 ? 1.0 : (g1[i] < 0 ? -1.0 : 0.0);

		worst_sign = fmax(worst_sign, fabs((p0[i] - p[i]) - lr * sg));
	}
	CHECK(o.t == 1, "adam: t == 1 after one step (%ld)", o.t);
	CHECK(worst < 1e-6, "adam: first step equals literal values (err %.3g; p = %.9g %.9g %.9g %.9g)",
		  worst, p[0], p[1], p[2], p[3]);
	CHECK(worst_sign < 1e-6, "adam: first step moves each param by lr*sign(g) (err %.3g)", worst_sign);
	/* 3e-5: 1 - (float) 0.999 is 1.3e-5 away from 0.001 in float betas */
	CHECK(worst_mv < 3e-5, "adam: m = 0.1 g, v = 0.001 g^2 after one step (rel err %.3g)", worst_mv);

	memcpy(p1, p, sizeof(p));
	ae_optim_step(&o, p, g2);
	worst = 0.0;
	for (int i = 0; i < 4; i++)
	{
		double		m1 = (1 - AE_ADAM_BETA1) * g1[i],
					v1 = (1 - AE_ADAM_BETA2) * (double) g1[i] * g1[i],
					m2 = AE_ADAM_BETA1 * m1 + (1 - AE_ADAM_BETA1) * g2[i],
					v2 = AE_ADAM_BETA2 * v1 + (1 - AE_ADAM_BETA2) * (double) g2[i] * g2[i],
					mhat = m2 / (1 - AE_ADAM_BETA1 * AE_ADAM_BETA1),
					vhat = v2 / (1 - AE_ADAM_BETA2 * AE_ADAM_BETA2),
					want = want1[i] - lr * mhat / (sqrt(vhat) + AE_ADAM_EPS);

		worst = fmax(worst, fabs(p[i] - want));
	}
	CHECK(o.t == 2, "adam: t == 2 after two steps (%ld)", o.t);
	CHECK(worst < 2e-6, "adam: second step follows the bias-corrected formula (err %.3g)", worst);
	CHECK(fabs(p[2] - p1[2]) > 1e-3, "adam: param with zero first gradient moves on the second step");
}

static void
test_sgd(void)
{
	const double lr = 0.01;
	float		p[4] = {0.5f, -1.0f, 2.0f, 0.0f};
	const float g1[4] = {0.1f, -0.2f, 0.0f, 3.0f};
	const float g2[4] = {-0.05f, 0.4f, 1.0f, 3.0f};
	float		vel[4] = {0};
	const double want1[4] = {0.499, -0.998, 2.0, -0.03};
	/* vel = 0.9 g1 + g2 = {0.04, 0.22, 1.0, 5.7} */
	const double want2[4] = {0.4986, -1.0002, 1.99, -0.087};
	double		w1 = 0.0,
				w2 = 0.0,
				wv = 0.0;
	ae_optim	o;

	ae_optim_init(&o, AE_OPT_SGD, lr, vel, NULL, 4);
	CHECK(o.kind == AE_OPT_SGD && o.beta1 == AE_SGD_MOMENTUM && o.lr == lr,
		  "sgd: init with v=NULL, momentum in beta1 (%g)", o.beta1);
	ae_optim_step(&o, p, g1);
	for (int i = 0; i < 4; i++)
	{
		w1 = fmax(w1, fabs(p[i] - want1[i]));
		wv = fmax(wv, fabs(vel[i] - g1[i]));
	}
	CHECK(w1 < 1e-6, "sgd: first step p -= lr*g (err %.3g)", w1);
	CHECK(wv < 1e-7, "sgd: velocity == g after one step (err %.3g)", wv);
	ae_optim_step(&o, p, g2);
	for (int i = 0; i < 4; i++)
		w2 = fmax(w2, fabs(p[i] - want2[i]));
	CHECK(w2 < 1e-6, "sgd: second step uses v = 0.9 v + g (err %.3g; p = %.7g %.7g %.7g %.7g)",
		  w2, p[0], p[1], p[2], p[3]);
	CHECK(o.t == 2, "sgd: t == 2 after two steps (%ld)", o.t);
}

/* ====================================================================== */
/* 5. RNG and names                                                        */
/* ====================================================================== */

static void
test_rng(void)
{
	ae_rng		a,
				b;
	int			same = 1,
				eq = 0,
				inrange = 1;
	const int	N = 100000;
	double		s = 0.0,
				s2 = 0.0,
				s4 = 0.0,
				within1 = 0.0;
	long		counts[7] = {0};
	uint64_t	big = (UINT64_C(1) << 63) + 12345;
	int			big_ok = 1,
				one_ok = 1,
				below_ok = 1;
	double		chi2 = 0.0;

	ae_rng_seed(&a, 42);
	ae_rng_seed(&b, 42);
	for (int i = 0; i < 1000; i++)
		if (ae_rng_next(&a) != ae_rng_next(&b))
			same = 0;
	CHECK(same, "rng: same seed gives the same sequence");

	ae_rng_seed(&a, 42);
	ae_rng_seed(&b, 43);
	for (int i = 0; i < 1000; i++)
		if (ae_rng_next(&a) == ae_rng_next(&b))
			eq++;
	CHECK(eq == 0, "rng: seeds 42 and 43 give different sequences (%d equal)", eq);

	ae_rng_seed(&a, 0);
	{
		uint64_t	x0 = ae_rng_next(&a),
					x1 = ae_rng_next(&a);

		CHECK(x0 != 0 || x1 != 0, "rng: seed 0 gives a working generator");
		CHECK(x0 != x1, "rng: seed 0 does not repeat");
	}

	/* reseeding clears the Box-Muller spare */
	ae_rng_seed(&a, 9);
	{
		double		n1 = ae_rng_normal(&a),
					n2;

		(void) ae_rng_normal(&a);
		(void) ae_rng_normal(&a);	/* odd count: a spare is pending */
		ae_rng_seed(&a, 9);
		n2 = ae_rng_normal(&a);
		CHECK(n1 == n2, "rng: reseeding restarts ae_rng_normal (%.17g vs %.17g)", n1, n2);
	}

	ae_rng_seed(&a, 2024);
	for (int i = 0; i < N; i++)
	{
		double		u = ae_rng_uniform(&a);

		if (!(u >= 0.0 && u < 1.0))
			inrange = 0;
		s += u;
		s2 += (u - 0.5) * (u - 0.5);
	}
	CHECK(inrange, "rng: uniform in [0, 1)");
	CHECK(fabs(s / N - 0.5) < 0.01, "rng: uniform mean %.5f ~ 0.5", s / N);
	CHECK(fabs(s2 / N - 1.0 / 12.0) < 0.005, "rng: uniform variance %.5f ~ 1/12", s2 / N);

	s = s2 = 0.0;
	for (int i = 0; i < N; i++)
	{
		double		z = ae_rng_normal(&a);

		s += z;
		s2 += z * z;
		s4 += z * z * z * z;
		if (fabs(z) < 1.0)
			within1 += 1.0;
	}
	{
		double		mean = s / N,
					var = s2 / N - mean * mean;

		CHECK(fabs(mean) < 0.02, "rng: normal mean %.5f ~ 0", mean);
		CHECK(fabs(var - 1.0) < 0.02, "rng: normal variance %.5f ~ 1", var);
		CHECK(fabs(s4 / N - 3.0) < 0.1, "rng: normal fourth moment %.4f ~ 3", s4 / N);
		CHECK(fabs(within1 / N - 0.682689) < 0.01, "rng: normal P(|z|<1) %.4f ~ 0.6827", within1 / N);
	}

	for (int i = 0; i < 70000; i++)
	{
		uint64_t	k = ae_rng_below(&a, 7);

		if (k >= 7)
			below_ok = 0;
		else
			counts[k]++;
	}
	for (int i = 0; i < 7; i++)
		chi2 += (counts[i] - 10000.0) * (counts[i] - 10000.0) / 10000.0;
	CHECK(below_ok, "rng: below(7) in [0, 7)");
	/* 6 degrees of freedom: P(chi2 > 22.46) = 0.001 */
	CHECK(chi2 < 22.46, "rng: below(7) roughly uniform (chi2 %.2f, counts %ld %ld %ld %ld %ld %ld %ld)",
		  chi2, counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], counts[6]);
	{
		long		hi = 0;

		for (int i = 0; i < 10000; i++)
		{
			uint64_t	k = ae_rng_below(&a, big);

			if (k >= big)
				big_ok = 0;
			if (k >= big / 2)
				hi++;
			if (ae_rng_below(&a, 1) != 0)
				one_ok = 0;
		}
		CHECK(big_ok && hi > 4500 && hi < 5500, "rng: below(2^63+12345) in range, both halves hit (%ld upper)", hi);
	}
	CHECK(one_ok, "rng: below(1) == 0");
}

static void
test_names(void)
{
	int			ok = 1;

	for (int a = 0; a < AE_ACT_COUNT; a++)
		if (!ae_activation_name((ae_activation) a) ||
			ae_activation_parse(ae_activation_name((ae_activation) a)) != a)
			ok = 0;
	for (int a = 0; a < AE_NORM_COUNT; a++)
		if (!ae_normalize_name((ae_normalize) a) ||
			ae_normalize_parse(ae_normalize_name((ae_normalize) a)) != a)
			ok = 0;
	for (int a = 0; a < AE_OPT_COUNT; a++)
		if (!ae_optimizer_name((ae_optimizer) a) ||
			ae_optimizer_parse(ae_optimizer_name((ae_optimizer) a)) != a)
			ok = 0;
	for (int a = 0; a < AE_NOISE_COUNT; a++)
		if (!ae_noise_name((ae_noise) a) ||
			ae_noise_parse(ae_noise_name((ae_noise) a)) != a)
			ok = 0;
	CHECK(ok, "names: every enum name parses back to its value");
	CHECK(ae_activation_parse("bogus") == -1 && ae_normalize_parse("") == -1 &&
		  ae_optimizer_parse("adamw") == -1 && ae_noise_parse("none ") == -1,
		  "names: unknown names parse to -1");
	CHECK(ae_activation_parse("relu") == AE_ACT_RELU && ae_activation_parse("sigmoid") == AE_ACT_SIGMOID &&
		  ae_optimizer_parse("adam") == AE_OPT_ADAM && ae_optimizer_parse("sgd") == AE_OPT_SGD &&
		  ae_normalize_parse("standard") == AE_NORM_STANDARD && ae_normalize_parse("minmax") == AE_NORM_MINMAX,
		  "names: the documented spellings parse");
	ok = 1;
	for (int s = AE_OK; s <= AE_EFORMAT; s++)
		if (!ae_status_message((ae_status) s) || !ae_status_message((ae_status) s)[0])
			ok = 0;
	CHECK(ok, "names: every status has a message");
}

/* ====================================================================== */
/* 6. Model format                                                         */
/* ====================================================================== */

static const char fmt_meta[] = "{\"name\":\"t\",\"x\":[1,2,3]}\0tail\xff";

/* Fill a model with scaling, weights and meta. */
static void
fill_model(ae_model *m, ae_rng *r, const char *meta, size_t meta_len)
{
	int			n = m->arch.n_input;

	ae_model_init_weights(m, r);
	for (int l = 0; l < m->n_layers; l++)
		for (int i = 0; i < m->dims[l + 1]; i++)
			m->b[l][i] = (float) (0.1 * ae_rng_normal(r));
	for (int j = 0; j < n; j++)
	{
		m->shift[j] = (float) tu_unif(r, -3.0, 3.0);
		m->scale[j] = (float) tu_unif(r, 0.5, 4.0);
		m->lo[j] = m->shift[j] - (float) tu_unif(r, 0.0, 10.0);
		m->hi[j] = m->shift[j] + (float) tu_unif(r, 0.0, 10.0);
	}
	if (meta_len)
		memcpy(m->meta, meta, meta_len);
}

static int
models_equal(const ae_model *a, const ae_model *b, char *why, size_t whylen)
{
	int			n = a->arch.n_input;

#define DIFF(cond, msg) do { if (cond) { snprintf(why, whylen, "%s", msg); return 0; } } while (0)
	DIFF(a->arch.n_input != b->arch.n_input, "n_input");
	DIFF(a->arch.latent != b->arch.latent, "latent");
	DIFF(a->arch.n_hidden != b->arch.n_hidden, "n_hidden");
	for (int i = 0; i < a->arch.n_hidden; i++)
		DIFF(a->arch.hidden[i] != b->arch.hidden[i], "hidden[]");
	DIFF(a->arch.activation != b->arch.activation, "activation");
	DIFF(a->arch.output_activation != b->arch.output_activation, "output_activation");
	DIFF(a->arch.normalize != b->arch.normalize, "normalize");
	DIFF(a->n_layers != b->n_layers, "n_layers");
	for (int l = 0; l <= a->n_layers; l++)
		DIFF(a->dims[l] != b->dims[l], "dims[]");
	DIFF(a->n_params != b->n_params, "n_params");
	for (int l = 0; l < a->n_layers; l++)
	{
		DIFF(a->W[l] - a->params != b->W[l] - b->params, "W[] offsets");
		DIFF(a->b[l] - a->params != b->b[l] - b->params, "b[] offsets");
	}
	DIFF(memcmp(a->params, b->params, a->n_params * sizeof(float)) != 0, "params bits");
	DIFF(memcmp(a->shift, b->shift, n * sizeof(float)) != 0, "shift bits");
	DIFF(memcmp(a->scale, b->scale, n * sizeof(float)) != 0, "scale bits");
	DIFF(memcmp(a->lo, b->lo, n * sizeof(float)) != 0, "lo bits");
	DIFF(memcmp(a->hi, b->hi, n * sizeof(float)) != 0, "hi bits");
	DIFF(a->meta_len != b->meta_len, "meta_len");
	DIFF(a->meta_len && memcmp(a->meta, b->meta, a->meta_len) != 0, "meta bytes");
#undef DIFF
	snprintf(why, whylen, "equal");
	return 1;
}

/* Parse and expect rejection; returns 1 if rejected cleanly. */
/*
 * FNV-1a 64 over everything but the trailing 8 checksum bytes, stored
 * little-endian: the checksum documented in ae_format.c.  Used only to
 * forge otherwise-valid bytes so the parser's later checks are reached.
 */
static void
rechecksum(unsigned char *buf, size_t len)
{
	uint64_t	h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i + 8 < len; i++)
	{
		h ^= buf[i];
		h *= UINT64_C(0x100000001b3);
	}
	for (int i = 0; i < 8; i++)
		buf[len - 8 + i] = (unsigned char) (h >> (8 * i));
}

static size_t reject_max_request;	/* largest allocation while rejecting */

static int
expect_reject(const unsigned char *buf, size_t len, int *msg_ok, int *leak_ok)
{
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_model	m;
	char		err[256];
	ae_status	st;

	memset(err, 0, sizeof(err));
	st = ae_model_parse(buf, len, &m, &al, err, sizeof(err));
	if (ctx.max_request > reject_max_request)
		reject_max_request = ctx.max_request;
	if (st == AE_OK)
	{
		ae_model_destroy(&m);
		return 0;
	}
	if (err[0] == '\0')
		*msg_ok = 0;
	if (ctx.live != 0)
		*leak_ok = 0;
	return st == AE_EFORMAT;
}

static void
test_format(void)
{
	static const int hidden[] = {4, 3};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_arch		arch = tu_arch(5, 2, 2, hidden, AE_ACT_ELU, AE_ACT_SIGMOID, AE_NORM_MINMAX);
	ae_model	m,
				m2,
				m3;
	ae_rng		r;
	size_t		meta_len = sizeof(fmt_meta) - 1,
				size;
	unsigned char *buf,
			   *buf2,
			   *tmp;
	char		err[256],
				why[64];
	ae_status	st;
	int			msg_ok,
				leak_ok,
				bad,
				first_bad;

	st = ae_model_create(&m, &arch, meta_len, &al);
	if (!CHECK(st == AE_OK && m.meta_len == meta_len && m.meta != NULL,
			   "format: create with %zu meta bytes", meta_len))
		return;
	ae_rng_seed(&r, 31337);
	fill_model(&m, &r, fmt_meta, meta_len);

	size = ae_model_serialized_size(&m);
	CHECK(size > 8 + m.n_params * sizeof(float) + meta_len,
		  "format: serialized size %zu covers params and meta", size);
	buf = tu_xmalloc(size + 1);
	buf[size] = 0xA5;
	ae_model_serialize(&m, buf);
	CHECK(buf[size] == 0xA5, "format: serialize writes no more than serialized_size bytes");
	CHECK(memcmp(buf, AE_FORMAT_MAGIC, 8) == 0, "format: starts with the magic AENCODER");

	memset(err, 0, sizeof(err));
	st = ae_model_parse(buf, size, &m2, &al, err, sizeof(err));
	if (CHECK(st == AE_OK, "format: parse of serialized bytes succeeds (%d: %s)", (int) st, err))
	{
		CHECK(models_equal(&m, &m2, why, sizeof(why)), "format: round trip preserves every field (%s)", why);
		buf2 = tu_xmalloc(size);
		CHECK(ae_model_serialized_size(&m2) == size, "format: reparsed model has the same size");
		ae_model_serialize(&m2, buf2);
		CHECK(memcmp(buf, buf2, size) == 0, "format: reserializing gives identical bytes");
		free(buf2);
		/* the parsed model is independent of the input buffer */
		tmp = tu_xmalloc(size);
		memcpy(tmp, buf, size);
		st = ae_model_parse(tmp, size, &m3, &al, err, sizeof(err));
		memset(tmp, 0, size);
		free(tmp);
		CHECK(st == AE_OK && models_equal(&m, &m3, why, sizeof(why)),
			  "format: parsed model does not point into the input buffer (%s)", why);
		if (st == AE_OK)
			ae_model_destroy(&m3);
		ae_model_destroy(&m2);
	}

	/* copy */
	st = ae_model_copy(&m2, &m, &al);
	if (CHECK(st == AE_OK, "copy: returns AE_OK"))
	{
		CHECK(models_equal(&m, &m2, why, sizeof(why)), "copy: equal to the source (%s)", why);
		CHECK(m2.params != m.params && m2.meta != m.meta && m2.block != m.block,
			  "copy: owns its memory");
		m2.params[0] += 1.0f;
		CHECK(m.params[0] != m2.params[0], "copy: independent of the source");
		ae_model_destroy(&m2);
	}

	/* every truncation */
	msg_ok = leak_ok = 1;
	bad = 0;
	first_bad = -1;
	for (size_t len = 0; len < size; len++)
	{
		tmp = tu_xmalloc(len ? len : 1);
		memcpy(tmp, buf, len);
		if (!expect_reject(tmp, len, &msg_ok, &leak_ok))
		{
			if (first_bad < 0)
				first_bad = (int) len;
			bad++;
		}
		free(tmp);
	}
	CHECK(bad == 0, "format: all %zu truncations rejected with AE_EFORMAT (%d not, first at %d)",
		  size, bad, first_bad);
	CHECK(msg_ok, "format: truncations give a non-empty error message");
	CHECK(leak_ok, "format: rejected truncations leak nothing");

	/* every single-byte flip */
	msg_ok = leak_ok = 1;
	bad = 0;
	first_bad = -1;
	tmp = tu_xmalloc(size);
	for (size_t i = 0; i < size; i++)
	{
		static const unsigned char masks[] = {0x01, 0x80, 0xFF};

		for (int k = 0; k < 3; k++)
		{
			memcpy(tmp, buf, size);
			tmp[i] ^= masks[k];
			if (!expect_reject(tmp, size, &msg_ok, &leak_ok))
			{
				if (first_bad < 0)
					first_bad = (int) i;
				bad++;
			}
		}
	}
	free(tmp);
	CHECK(bad == 0, "format: all %zu single-byte flips (x3 masks) rejected (%d not, first at byte %d)",
		  size, bad, first_bad);
	CHECK(msg_ok && leak_ok, "format: flips give messages and leak nothing");
	CHECK(reject_max_request <= size,
		  "format: rejecting corrupt bytes never allocates more than the buffer size "
		  "(largest request %zu for a %zu-byte model)", reject_max_request, size);

	/* trailing byte */
	msg_ok = leak_ok = 1;
	tmp = tu_xmalloc(size + 1);
	memcpy(tmp, buf, size);
	tmp[size] = 0;
	CHECK(expect_reject(tmp, size + 1, &msg_ok, &leak_ok) && msg_ok && leak_ok,
		  "format: a trailing byte is rejected");
	free(tmp);

	/* a short buffer whose header claims a model of about 1 GiB */
	{
		unsigned char hdr[28 + 4 + 16 + 64];
		uint64_t	np = 0;
		int			dd[5] = {65535, 2047, 1, 2047, 65535};
		tu_alloc_ctx c2;
		ae_allocator a2 = tu_allocator(&c2, -1);

		for (int l = 0; l < 4; l++)
			np += (uint64_t) dd[l + 1] * (dd[l] + 1);
		memset(hdr, 0, sizeof(hdr));
		memcpy(hdr, AE_FORMAT_MAGIC, 8);
		hdr[8] = AE_FORMAT_VERSION;
		hdr[16] = 0xFF;
		hdr[17] = 0xFF;			/* n_input 65535 */
		hdr[20] = 1;			/* latent 1 */
		hdr[24] = 1;			/* one hidden layer */
		hdr[28] = 2047 & 0xFF;
		hdr[29] = 2047 >> 8;	/* of 2047 units */
		/* enum bytes 0 (linear, linear, none, reserved) at 32..35 */
		for (int i = 0; i < 8; i++)
			hdr[36 + i] = (unsigned char) (np >> (8 * i));
		memset(err, 0, sizeof(err));
		st = ae_model_parse(hdr, sizeof(hdr), &m2, &a2, err, sizeof(err));
		CHECK(st == AE_EFORMAT && c2.live == 0,
			  "format: %zu bytes claiming %llu parameters rejected as AE_EFORMAT (%d: %s)",
			  sizeof(hdr), (unsigned long long) np, (int) st, err);
		CHECK(c2.max_request <= sizeof(hdr),
			  "format: ... without first allocating the claimed size (largest request %zu bytes)",
			  c2.max_request);
		if (st == AE_OK)
			ae_model_destroy(&m2);
	}

	/* wrong magic */
	tmp = tu_xmalloc(size);
	memcpy(tmp, buf, size);
	memcpy(tmp, "AENCODEX", 8);
	msg_ok = leak_ok = 1;
	CHECK(expect_reject(tmp, size, &msg_ok, &leak_ok) && msg_ok && leak_ok,
		  "format: wrong magic rejected");

	/* unsupported version: the field following the magic */
	memcpy(tmp, buf, size);
	{
		int			is_u32 = tmp[8] == AE_FORMAT_VERSION && tmp[9] == 0 && tmp[10] == 0 && tmp[11] == 0;
		int			is_u16 = tmp[8] == AE_FORMAT_VERSION && tmp[9] == 0;

		CHECK(is_u32 || is_u16, "format: version %d follows the magic (bytes %02x %02x %02x %02x)",
			  AE_FORMAT_VERSION, tmp[8], tmp[9], tmp[10], tmp[11]);
		tmp[8] = AE_FORMAT_VERSION + 1;
		msg_ok = leak_ok = 1;
		CHECK(expect_reject(tmp, size, &msg_ok, &leak_ok) && msg_ok && leak_ok,
			  "format: unsupported version %d rejected", AE_FORMAT_VERSION + 1);
		rechecksum(tmp, size);
		msg_ok = leak_ok = 1;
		CHECK(expect_reject(tmp, size, &msg_ok, &leak_ok) && msg_ok && leak_ok,
			  "format: unsupported version rejected even with a matching checksum");
	}
	/* the checksum forgery works: the unmodified bytes re-checksummed parse */
	memcpy(tmp, buf, size);
	rechecksum(tmp, size);
	{
		tu_alloc_ctx c2;
		ae_allocator a2 = tu_allocator(&c2, -1);

		st = ae_model_parse(tmp, size, &m2, &a2, err, sizeof(err));
		CHECK(st == AE_OK && memcmp(tmp, buf, size) == 0,
			  "format: checksum is FNV-1a 64 of the preceding bytes (%d)", (int) st);
		if (st == AE_OK)
			ae_model_destroy(&m2);
	}
	/* semantic checks behind a valid checksum */
	{
		size_t		hdr = 28 + 4 * 2 + 16;	/* two hidden layers */
		size_t		scale0 = hdr + 4 * 5;	/* scale[0] */
		size_t		w0 = hdr + 16 * 5;		/* params[0] */
		static const unsigned char nan_bits[4] = {0x00, 0x00, 0xC0, 0x7F};
		static const unsigned char inf_bits[4] = {0x00, 0x00, 0x80, 0x7F};
		static const unsigned char zero_bits[4] = {0, 0, 0, 0};
		static const unsigned char neg_bits[4] = {0x00, 0x00, 0x80, 0xBF};
		struct
		{
			const char *what;
			size_t		off;
			const unsigned char *bytes;
			size_t		n;
		}			forged[] = {
			{"NaN weight", w0, nan_bits, 4},
			{"infinite weight", w0 + 8, inf_bits, 4},
			{"zero scale", scale0, zero_bits, 4},
			{"negative scale", scale0 + 4, neg_bits, 4},
			{"NaN shift", hdr, nan_bits, 4},
			{"unknown activation", 28 + 8, (const unsigned char *) "\x09", 1},
			{"relu output activation", 28 + 9, (const unsigned char *) "\x01", 1},
			{"unknown normalize", 28 + 10, (const unsigned char *) "\x07", 1},
			{"reserved byte", 28 + 11, (const unsigned char *) "\x01", 1},
			{"flags", 12, (const unsigned char *) "\x01", 1},
			{"latent > n_input", 20, (const unsigned char *) "\x06", 1},
			{"latent 0", 20, zero_bits, 4},
		};
		int			all = 1;

		for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++)
		{
			memcpy(tmp, buf, size);
			memcpy(tmp + forged[i].off, forged[i].bytes, forged[i].n);
			rechecksum(tmp, size);
			msg_ok = leak_ok = 1;
			if (!expect_reject(tmp, size, &msg_ok, &leak_ok) || !msg_ok || !leak_ok)
			{
				all = 0;
				printf("#   accepted with a valid checksum: %s\n", forged[i].what);
			}
		}
		CHECK(all, "format: invalid values behind a valid checksum rejected (NaN/inf floats, bad scale, enums, flags)");
	}
	free(tmp);

	/* NULL error buffer and a tiny one */
	{
		tu_alloc_ctx c2;
		ae_allocator a2 = tu_allocator(&c2, -1);
		char		small[4];

		st = ae_model_parse(buf, size / 2, &m2, &a2, NULL, 0);
		CHECK(st == AE_EFORMAT && c2.live == 0, "format: parse with a NULL error buffer rejects cleanly");
		memset(small, 'X', sizeof(small));
		st = ae_model_parse(buf, size / 2, &m2, &a2, small, sizeof(small));
		CHECK(st == AE_EFORMAT && memchr(small, '\0', sizeof(small)) != NULL,
			  "format: error message truncated and NUL-terminated in a 4-byte buffer");
	}

	/* allocation failure while parsing: ENOMEM and no leak */
	{
		int			ok = 1,
					reached = 0;

		for (long k = 0; k < 20 && !reached; k++)
		{
			tu_alloc_ctx c2;
			ae_allocator a2 = tu_allocator(&c2, k);

			st = ae_model_parse(buf, size, &m2, &a2, err, sizeof(err));
			if (st == AE_OK)
			{
				reached = 1;
				ae_model_destroy(&m2);
			}
			else if (st != AE_ENOMEM)
				ok = 0;
			if (c2.live != 0)
				ok = 0;
		}
		CHECK(ok && reached, "format: parse under allocation failure gives AE_ENOMEM, no leak");
	}

	/* normalize 'none' with a scaling other than the identity is rejected */
	{
		ae_arch		an = tu_arch(3, 2, 1, hidden, AE_ACT_RELU, AE_ACT_LINEAR, AE_NORM_NONE);
		ae_model	mn;

		if (CHECK(ae_model_create(&mn, &an, 0, &al) == AE_OK,
				  "format: create a normalize-none model"))
		{
			size_t		sz = ae_model_serialized_size(&mn);
			unsigned char *bn = tu_xmalloc(sz);

			ae_model_serialize(&mn, bn);
			st = ae_model_parse(bn, sz, &m2, &al, err, sizeof(err));
			CHECK(st == AE_OK, "format: normalize none with the identity scaling parses");
			if (st == AE_OK)
				ae_model_destroy(&m2);
			mn.scale[1] = 2.0f;
			ae_model_serialize(&mn, bn);
			st = ae_model_parse(bn, sz, &m2, &al, err, sizeof(err));
			CHECK(st == AE_EFORMAT && strstr(err, "scaling") != NULL,
				  "format: normalize none with scale 2 rejected (%s)", err);
			free(bn);
			ae_model_destroy(&mn);
		}
	}

	/* a model without meta, latent == n_input */
	{
		ae_arch		a2 = tu_arch(3, 3, 1, hidden, AE_ACT_RELU, AE_ACT_LINEAR, AE_NORM_MINMAX);
		ae_model	mm;

		st = ae_model_create(&mm, &a2, 0, &al);
		if (CHECK(st == AE_OK, "format: create 3-(4)-3 model without meta"))
		{
			size_t		sz;
			unsigned char *b2;

			fill_model(&mm, &r, NULL, 0);
			sz = ae_model_serialized_size(&mm);
			b2 = tu_xmalloc(sz);
			ae_model_serialize(&mm, b2);
			st = ae_model_parse(b2, sz, &m2, &al, err, sizeof(err));
			CHECK(st == AE_OK && models_equal(&mm, &m2, why, sizeof(why)),
				  "format: round trip without meta (%s)", st == AE_OK ? why : err);
			if (st == AE_OK)
				ae_model_destroy(&m2);
			free(b2);
			ae_model_destroy(&mm);
		}
	}

	ae_model_destroy(&m);
	free(buf);
	CHECK(ctx.live == 0, "format: no leaks (live %ld)", ctx.live);
}

/* ====================================================================== */
/* 7. Inference                                                            */
/* ====================================================================== */

/* Double pipeline on raw rows: normalize, net, unnormalize. */
static void
infer_d(const ae_model *m, const double *p, const float *x, int rows,
		double *code, double *out)
{
	int			n = m->arch.n_input,
				L = m->n_layers,
				k = m->arch.n_hidden,
				md = max_dim(m);
	double	   *a = tu_xmalloc(sizeof(double) * rows * md),
			   *z = tu_xmalloc(sizeof(double) * rows * md);

	for (int r = 0; r < rows; r++)
		for (int j = 0; j < n; j++)
			a[r * n + j] = ((double) x[r * n + j] - m->shift[j]) / m->scale[j];
	for (int l = 0; l < L; l++)
	{
		ae_activation act = l == L - 1 ? m->arch.output_activation : m->arch.activation;

		ae_ref_dense_forward(z, a, p + (m->W[l] - m->params), p + (m->b[l] - m->params),
							 rows, m->dims[l], m->dims[l + 1], act);
		memcpy(a, z, sizeof(double) * rows * m->dims[l + 1]);
		if (l == k && code)
			memcpy(code, a, sizeof(double) * rows * m->dims[l + 1]);
	}
	if (out)
		for (int r = 0; r < rows; r++)
			for (int j = 0; j < n; j++)
				out[r * n + j] = a[r * n + j] * m->scale[j] + m->shift[j];
	free(a);
	free(z);
}

static void
test_inference(void)
{
	static const int hidden[] = {5};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_arch		arch = tu_arch(6, 3, 1, hidden, AE_ACT_TANH, AE_ACT_LINEAR, AE_NORM_STANDARD);
	ae_model	m;
	ae_rng		r;
	enum
	{
	R = 9, N = 6, D = 3};
	float		x[R * N],
				code[R * D],
				code1[R * D],
				dec[R * N],
				dec1[R * N],
				rec[R * N],
				rec1[R * N],
				recc[R * N],
				tmpc[D],
			   *work;
	double		coded[R * D],
				outd[R * N],
			   *p,
				err[R],
				err1[R],
				e;
	int			ok,
				nclamped = 0;

	if (ae_model_create(&m, &arch, 0, &al) != AE_OK)
	{
		CHECK(0, "infer: create model");
		return;
	}
	ae_rng_seed(&r, 555);
	fill_model(&m, &r, NULL, 0);
	for (int j = 0; j < N; j++)
	{
		m.lo[j] = m.shift[j] - 1000.0f;
		m.hi[j] = m.shift[j] + 1000.0f;
	}
	for (int i = 0; i < R; i++)
		for (int j = 0; j < N; j++)
			x[i * N + j] = (float) (m.shift[j] + m.scale[j] * ae_rng_normal(&r));
	p = tu_xmalloc(m.n_params * sizeof(double));
	for (size_t i = 0; i < m.n_params; i++)
		p[i] = m.params[i];
	work = tu_xmalloc(ae_infer_floats(&m, R) * sizeof(float) + 16);

	ae_encode(&m, x, R, code, work);
	ae_decode(&m, code, R, dec, work);
	ae_reconstruct(&m, x, R, rec, 0, work);
	ae_reconstruction_error(&m, x, R, err, work);

	infer_d(&m, p, x, R, coded, outd);
	e = normwise_f_d(code, coded, R * D, 1.0);
	CHECK(e < 1e-5, "infer: encode equals double normalize+encoder (err %.3g)", e);
	e = normwise_f_d(rec, outd, R * N, 1.0);
	CHECK(e < 1e-5, "infer: reconstruct equals double pipeline in input units (err %.3g)", e);
	e = normwise_f_f(rec, dec, R * N, 1.0);
	CHECK(e < 1e-6, "infer: reconstruct == decode(encode(x)) (err %.3g)", e);
	{
		/* decode of a code in double: run decoder layers only */
		double		a[R * 6],
					z2[R * 6];
		int			L = m.n_layers,
					k = m.arch.n_hidden;

		for (int i = 0; i < R * D; i++)
			a[i] = code[i];
		for (int l = k + 1; l < L; l++)
		{
			ae_activation act = l == L - 1 ? m.arch.output_activation : m.arch.activation;

			ae_ref_dense_forward(z2, a, p + (m.W[l] - m.params), p + (m.b[l] - m.params),
								 R, m.dims[l], m.dims[l + 1], act);
			memcpy(a, z2, sizeof(double) * R * m.dims[l + 1]);
		}
		for (int i = 0; i < R; i++)
			for (int j = 0; j < N; j++)
				a[i * N + j] = a[i * N + j] * m.scale[j] + m.shift[j];
		e = normwise_f_d(dec, a, R * N, 1.0);
		CHECK(e < 1e-5, "infer: decode equals double decoder + unscale (err %.3g)", e);
	}

	/* row by row */
	for (int i = 0; i < R; i++)
	{
		ae_encode(&m, x + i * N, 1, code1 + i * D, work);
		memcpy(tmpc, code + i * D, sizeof(tmpc));
		ae_decode(&m, tmpc, 1, dec1 + i * N, work);
		ae_reconstruct(&m, x + i * N, 1, rec1 + i * N, 0, work);
		ae_reconstruction_error(&m, x + i * N, 1, err1 + i, work);
	}
	CHECK(normwise_f_f(code1, code, R * D, 1.0) < 1e-6 &&
		  normwise_f_f(dec1, dec, R * N, 1.0) < 1e-6 &&
		  normwise_f_f(rec1, rec, R * N, 1.0) < 1e-6,
		  "infer: multi-row encode/decode/reconstruct equal row-by-row calls");
	ok = 1;
	for (int i = 0; i < R; i++)
		if (!tu_close(err1[i], err[i], 1e-6, 1e-12))
			ok = 0;
	CHECK(ok, "infer: multi-row reconstruction_error equals row-by-row");

	ok = 1;
	for (int i = 0; i < R; i++)
	{
		double		s = 0.0;

		for (int j = 0; j < N; j++)
		{
			double		d = (double) rec[i * N + j] - x[i * N + j];

			s += d * d;
		}
		s /= N;
		if (!tu_close(err[i], s, 1e-5, 1e-9))
		{
			ok = 0;
			printf("#   row %d: reconstruction_error %.9g, mean sq diff %.9g\n", i, err[i], s);
		}
	}
	CHECK(ok, "infer: reconstruction_error = mean over features of (reconstruct - x)^2 in input units");
	CHECK(err[0] > 1e-3, "infer: reconstruction error is not trivially zero (%.4g)", err[0]);

	/* clamp to a narrow training range */
	for (int j = 0; j < N; j++)
	{
		m.lo[j] = m.shift[j] - 0.2f * m.scale[j];
		m.hi[j] = m.shift[j] + 0.2f * m.scale[j];
	}
	ae_reconstruct(&m, x, R, recc, 1, work);
	ok = 1;
	for (int i = 0; i < R; i++)
		for (int j = 0; j < N; j++)
		{
			float		v = rec[i * N + j],
						want = v < m.lo[j] ? m.lo[j] : (v > m.hi[j] ? m.hi[j] : v);

			if (!(recc[i * N + j] >= m.lo[j] && recc[i * N + j] <= m.hi[j]))
				ok = 0;
			if (fabsf(recc[i * N + j] - want) > 1e-5f * (1.0f + fabsf(want)))
				ok = 0;
			if (want != v)
				nclamped++;
		}
	CHECK(ok, "infer: clamp=1 keeps every output in [lo, hi] and equals clamped reconstruct");
	CHECK(nclamped > 0 && nclamped < R * N, "infer: the clamp test actually clamps (%d of %d)", nclamped, R * N);

	ae_model_destroy(&m);
	free(p);
	free(work);
	CHECK(ctx.live == 0, "infer: no leaks");
}

/* ====================================================================== */
/* 8. Scaling and training                                                 */
/* ====================================================================== */

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

	for (int norm = 0; norm < AE_NORM_COUNT; norm++)
	{
		ae_arch		arch = tu_arch(d, 2, 1, hidden, AE_ACT_TANH, AE_ACT_LINEAR, (ae_normalize) norm);
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

			if (norm == AE_NORM_STANDARD)
			{
				ws = mean[j];
				wc = sd[j] > 0 ? sd[j] : 1.0;
			}
			else if (norm == AE_NORM_MINMAX)
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
			if (!tu_close(m.lo[j], mn[j], 1e-6, 0.0) || !tu_close(m.hi[j], mx[j], 1e-6, 0.0))
				ok_range = 0;
			memcpy(row, data.rows[3], sizeof(row));
			ae_scaling_apply(&m, row);
			if (!tu_close(row[j], ((double) data.rows[3][j] - m.shift[j]) / m.scale[j], 1e-5, 1e-6))
				ok_apply = 0;
		}
		CHECK(ok_shift, "scaling[%s]: shift (%g %g %g %g)", ae_normalize_name((ae_normalize) norm),
			  m.shift[0], m.shift[1], m.shift[2], m.shift[3]);
		CHECK(ok_scale, "scaling[%s]: scale, constant feature keeps 1 (%g %g %g %g)",
			  ae_normalize_name((ae_normalize) norm), m.scale[0], m.scale[1], m.scale[2], m.scale[3]);
		CHECK(ok_range, "scaling[%s]: lo/hi are the training min/max", ae_normalize_name((ae_normalize) norm));
		CHECK(ok_apply, "scaling[%s]: apply is (x - shift) / scale", ae_normalize_name((ae_normalize) norm));
		ae_model_destroy(&m);
	}
	tu_rows_free(&data);
	CHECK(ctx.live == 0, "scaling: no leaks");
}

static void
test_arch_check(void)
{
	static const int hidden[] = {8, 4};
	ae_arch		ok = tu_arch(10, 3, 2, hidden, AE_ACT_RELU, AE_ACT_LINEAR, AE_NORM_STANDARD);
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
	BAD("normalize out of range", normalize, AE_NORM_COUNT);
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
	a = tu_arch(AE_MAX_DIM, 1, 1, hidden, AE_ACT_RELU, AE_ACT_LINEAR, AE_NORM_NONE);
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

static void
test_train_check(void)
{
	ae_train_config ok = tu_config(),
				c;
	char		err[256];
	struct
	{
		const char *what;
		ae_train_config cfg;
	}			bad[24];
	int			nb = 0,
				all = 1;

	memset(err, 0, sizeof(err));
	CHECK(ae_train_check(&ok, err, sizeof(err)) == AE_OK, "train_check: defaults accepted (%s)", err);
	c = ok;
	c.validation_fraction = 0.0;
	c.patience = 0;
	c.noise = AE_NOISE_MASKING;
	c.noise_level = 0.5;
	c.optimizer = AE_OPT_SGD;
	c.weight_decay = 1e-3;
	c.sparsity = 1e-3;
	CHECK(ae_train_check(&c, err, sizeof(err)) == AE_OK, "train_check: other valid settings accepted");

#define BAD(desc, field, val) do { c = ok; c.field = (val); bad[nb].what = (desc); bad[nb].cfg = c; nb++; } while (0)
	BAD("epochs 0", epochs, 0);
	BAD("epochs -5", epochs, -5);
	BAD("epochs > AE_MAX_EPOCHS", epochs, AE_MAX_EPOCHS + 1);
	BAD("batch_size 0", batch_size, 0);
	BAD("batch_size > AE_MAX_BATCH", batch_size, AE_MAX_BATCH + 1);
	BAD("learning_rate < 0", learning_rate, -1e-3);
	BAD("learning_rate NaN", learning_rate, NAN);
	BAD("learning_rate inf", learning_rate, INFINITY);
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
#undef BAD
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

		memset(err, 0, sizeof(err));
		st = ae_train_check(&bad[i].cfg, err, sizeof(err));
		if (st != AE_EINVAL || err[0] == '\0')
		{
			all = 0;
			printf("#   train_check accepted or gave no message: %s (status %d)\n", bad[i].what, (int) st);
		}
	}
	CHECK(all, "train_check: %d invalid configurations rejected with AE_EINVAL and a message", nb);
}

/* Callback counters. */
typedef struct cb_count
{
	long		batches;
	int			epochs;
	int			last_epoch;
	int			epochs_in_order;
	double		losses[512];
} cb_count;

static void
cb_batch(void *ctx)
{
	((cb_count *) ctx)->batches++;
}

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

static void
free_result(ae_allocator *al, ae_train_result *res)
{
	if (res->curve)
		al->release(al->ctx, res->curve);
	res->curve = NULL;
}

static void
test_train(void)
{
	static const int hidden[] = {8};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_arch		arch = tu_arch(6, 2, 1, hidden, AE_ACT_TANH, AE_ACT_LINEAR, AE_NORM_STANDARD);
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
		an.normalize = AE_NORM_NONE;
		cfg = tu_config();
		cfg.optimizer = AE_OPT_SGD;
		cfg.learning_rate = 1e6;
		cfg.epochs = 5;
		cfg.batch_size = 20;
		cfg.patience = 0;
		st = train_fresh(&a, &an, &big, &cfg, &al, &ra, &ca);
		CHECK(st == AE_EDIVERGED, "train: lr 1e6 sgd on large unnormalized data gives AE_EDIVERGED (%d)", (int) st);
		free_result(&al, &ra);
		ae_model_destroy(&a);
		tu_rows_free(&big);
	}

	/* early stopping on noise */
	{
		static const int h16[] = {16};
		ae_arch		an = tu_arch(8, 1, 1, h16, AE_ACT_TANH, AE_ACT_LINEAR, AE_NORM_STANDARD);
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
			ae_normalize norm;
			ae_activation out;
		}			opts[] = {
			{"gaussian noise", AE_NOISE_GAUSSIAN, 0.1, 0, 0, AE_OPT_ADAM, AE_NORM_STANDARD, AE_ACT_LINEAR},
			{"masking noise", AE_NOISE_MASKING, 0.2, 0, 0, AE_OPT_ADAM, AE_NORM_STANDARD, AE_ACT_LINEAR},
			{"weight decay + sparsity", AE_NOISE_NONE, 0, 1e-3, 1e-2, AE_OPT_ADAM, AE_NORM_STANDARD, AE_ACT_LINEAR},
			{"sgd minmax sigmoid", AE_NOISE_NONE, 0, 0, 0, AE_OPT_SGD, AE_NORM_MINMAX, AE_ACT_SIGMOID},
		};

		for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		{
			ae_arch		ao = arch;
			ae_status	s1,
						s2;

			ao.normalize = opts[i].norm;
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
	cfg.epochs = 0;
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

int
main(void)
{
	static const int shapes[][3] = {
		{1, 1, 1}, {1, 7, 3}, {2, 3, 11}, {5, 13, 9}, {17, 33, 65}, {64, 100, 31}, {7, 64, 1}
	};

	setvbuf(stdout, NULL, _IOLBF, 0);

	/* 1 */
	test_ref_activate();
	for (int a = 0; a < NACT; a++)
		test_ref_gradcheck((ae_activation) a);

	/* 2 */
	for (int a = 0; a < NACT; a++)
		for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
			test_fast_vs_ref((ae_activation) a, shapes[s][0], shapes[s][1], shapes[s][2]);

	/* 3 */
	test_model_structure();
	test_init_weights();
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

	/* 4 */
	test_adam();
	test_sgd();

	/* 5 */
	test_rng();
	test_names();

	/* 6 */
	test_format();

	/* 7 */
	test_inference();

	/* 8 */
	test_scaling();
	test_arch_check();
	test_train_check();
	test_train();

	return tu_finish();
}
