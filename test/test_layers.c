/*-------------------------------------------------------------------------
 *
 * test_layers.c
 *	  Unit tests of one dense layer of the autoencoder core (src/ae_layers.c):
 *	  activations, the double reference kernels and the fast float kernels.
 *
 * Sections:
 *	 1. reference kernels: central-difference gradient check in double
 *	 2. fast float kernels (sgemm) against the double reference
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

/* Reference and float activations against the hand-written formulas. */
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

/*
 * One reference dense layer: forward by hand, backward by central
 * differences, accumulation of dW/db, and dx = NULL.
 */
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

/*
 * One fast float dense layer (sgemm) of shape (B, in, out) against the
 * double reference, forward and backward.
 */
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
	e_y = tu_normwise_f_d(yf, yd, ny, 1.0);

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
	e_dx = tu_normwise_f_d(dxf, dxd, nx, 1e-2);
	e_dW = tu_normwise_f_d(dWf, dWd, nw, 1e-2);
	e_db = tu_normwise_f_d(dbf, dbd, out, 1e-2);
	e_dy = tu_normwise_f_d(dyf, dyd, ny, 1e-2);

	/* dx = NULL path */
	for (size_t i = 0; i < ny; i++)
		dyf[i] = cf[i];
	for (size_t i = 0; i < nw; i++)
		dWf2[i] = 0.25f;
	for (int i = 0; i < out; i++)
		dbf2[i] = -0.5f;
	ae_dense_backward(NULL, dWf2, dbf2, dyf, yf, xf, Wf, B, in, out, act);
	e_null = fmax(tu_normwise_f_f(dWf2, dWf, nw, 1e-2), tu_normwise_f_f(dbf2, dbf, out, 1e-2));

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

/* Run this program's checks; exit status 1 if any failed. */
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

	return tu_finish();
}
