/*-------------------------------------------------------------------------
 *
 * test_sim.c
 *	  Unit tests of the similarity objective of the codes (src/ae_sim.c).
 *
 * Sections:
 *	 1. the gradient against central finite differences of a double
 *	    reference loss written out here, and the loss against it
 *	 2. loss >= 0, and 0 when the codes are the (scaled) inputs
 *	 3. invariance to a positive scale of a code row
 *	 4. the loss-only call gives the gradient call's loss; dz accumulates
 *	 5. determinism, whatever the work buffer held
 *	 6. plain gradient steps lower the loss
 *	 7. edge cases: B = 1, all-zero batches, non-finite inputs
 *	 8. time per call at B = 256, k = 32, d = 784 (printed, not checked)
 *
 * Prints one line per check and "N passed, M failed" at the end; exits
 * non-zero if anything failed.
 *
 *-------------------------------------------------------------------------
 */
#include "test_util.h"
#include "ae_sim.h"

/*
 * Gradient bound, normwise relative (max |g - fd| / max |fd|), over the
 * ordinary rows and over a zero code row separately.  Measured over 40
 * seeds: worst 1.0e-6 on ordinary rows, 4.8e-6 on a zero row (B = 7,
 * tau = 0.02: its r_i = sum_j G_ij u_j cancels in float); 2e-7 for the
 * seeds below.  Loss against the double reference: worst 2.1e-7.
 */
#define GRAD_BOUND		2e-5
#define LOSS_BOUND		2e-6

/* A batch: codes z (B, k), inputs x (B, d), a gradient and the work. */
typedef struct sim_case
{
	int			B,
				k,
				d;
	float	   *z,
			   *x,
			   *dz,
			   *work;
} sim_case;

/* A batch with N(0, 1) codes and inputs 0.3 + N(0, 1); zeroed gradient. */
static sim_case
case_new(int B, int k, int d, uint64_t seed)
{
	sim_case	c;
	ae_rng		r;

	c.B = B;
	c.k = k;
	c.d = d;
	c.z = tu_xmalloc(sizeof(float) * B * k);
	c.x = tu_xmalloc(sizeof(float) * B * d);
	c.dz = tu_xcalloc((size_t) B * k, sizeof(float));
	c.work = tu_xmalloc(sizeof(float) * ae_sim_work_floats(B, k, d));
	ae_rng_seed(&r, seed);
	for (int i = 0; i < B * k; i++)
		c.z[i] = (float) ae_rng_normal(&r);
	for (int i = 0; i < B * d; i++)
		c.x[i] = (float) (0.3 + ae_rng_normal(&r));
	return c;
}

/* Release a batch made by case_new. */
static void
case_free(sim_case *c)
{
	free(c->z);
	free(c->x);
	free(c->dz);
	free(c->work);
}

/* The loss of c at tau, gradient (scale 1) added into c->dz. */
static double
case_grad(sim_case *c, double tau)
{
	return ae_sim_loss_grad(c->z, c->x, c->B, c->k, c->d, tau, c->dz, 1.0f,
							c->work);
}

/* The loss of c at tau, no gradient. */
static double
case_loss(sim_case *c, double tau)
{
	return ae_sim_loss_grad(c->z, c->x, c->B, c->k, c->d, tau, NULL, 1.0f,
							c->work);
}

/* ====================================================================== */
/* Double reference                                                        */
/* ====================================================================== */

/* Rows v (B, dim) divided by sqrt(||v_i||^2 + eps^2) into out. */
static void
ref_unit(const double *v, int B, int dim, double *out)
{
	for (int i = 0; i < B; i++)
	{
		double		s = AE_SIM_EPS * AE_SIM_EPS;

		for (int c = 0; c < dim; c++)
			s += v[i * dim + c] * v[i * dim + c];
		for (int c = 0; c < dim; c++)
			out[i * dim + c] = v[i * dim + c] / sqrt(s);
	}
}

/* log sum_{j != i} exp(a_j) of n values, by log-sum-exp. */
static double
ref_lse(const double *a, int n, int i)
{
	double		m = -INFINITY,
				s = 0.0;

	for (int j = 0; j < n; j++)
		if (j != i && a[j] > m)
			m = a[j];
	for (int j = 0; j < n; j++)
		if (j != i)
			s += exp(a[j] - m);
	return m + log(s);
}

/* Dot product of two double vectors of n. */
static double
ref_dot(const double *a, const double *b, int n)
{
	double		s = 0.0;

	for (int c = 0; c < n; c++)
		s += a[c] * b[c];
	return s;
}

/* The loss in double straight from its definition (design notes 4.5). */
static double
ref_loss(const double *z, const double *x, int B, int k, int d, double tau)
{
	double	   *u = tu_xmalloc(sizeof(double) * B * k),
			   *xn = tu_xmalloc(sizeof(double) * B * d),
			   *a = tu_xmalloc(sizeof(double) * B),
			   *b = tu_xmalloc(sizeof(double) * B),
				L = 0.0;

	ref_unit(z, B, k, u);
	ref_unit(x, B, d, xn);
	for (int i = 0; i < B; i++)
	{
		double		la,
					lb;

		for (int j = 0; j < B; j++)
		{
			a[j] = ref_dot(xn + i * d, xn + j * d, d) / tau;
			b[j] = ref_dot(u + i * k, u + j * k, k) / tau;
		}
		la = ref_lse(a, B, i);
		lb = ref_lse(b, B, i);
		for (int j = 0; j < B; j++)
			if (j != i)
				L += exp(a[j] - la) * ((a[j] - la) - (b[j] - lb));
	}
	free(u);
	free(xn);
	free(a);
	free(b);
	return B > 1 ? L / B : 0.0;
}

/* The float array v of n as doubles (exactly). */
static double *
to_double(const float *v, int n)
{
	double	   *o = tu_xmalloc(sizeof(double) * n);

	for (int i = 0; i < n; i++)
		o[i] = v[i];
	return o;
}

/*
 * Central differences of ref_loss in every code coordinate, into fd
 * (B, k); step 1e-5 (1e-10 on a zero row, whose scale is eps).
 */
static void
ref_fd(const sim_case *c, double tau, double *fd)
{
	double	   *z = to_double(c->z, c->B * c->k),
			   *x = to_double(c->x, c->B * c->d);

	for (int i = 0; i < c->B; i++)
	{
		double		nz = ref_dot(z + i * c->k, z + i * c->k, c->k);

		for (int j = 0; j < c->k; j++)
		{
			double		h = nz == 0.0 ? 1e-10 : 1e-5,
						z0 = z[i * c->k + j],
						lp,
						lm;

			z[i * c->k + j] = z0 + h;
			lp = ref_loss(z, x, c->B, c->k, c->d, tau);
			z[i * c->k + j] = z0 - h;
			lm = ref_loss(z, x, c->B, c->k, c->d, tau);
			z[i * c->k + j] = z0;
			fd[i * c->k + j] = (lp - lm) / (2.0 * h);
		}
	}
	free(z);
	free(x);
}

/* ====================================================================== */
/* 1. Gradient against finite differences                                  */
/* ====================================================================== */

/*
 * max |g - fd| / max(max |fd|, 1e-12) over the rows whose code is zero
 * (zero_rows) or not (!zero_rows); 0 when there are none.  max |fd| of
 * those rows into *fd_max.
 */
static double
grad_err(const sim_case *c, const double *fd, int zero_rows, double *fd_max)
{
	double		md = 0.0,
				mf = 0.0;

	for (int i = 0; i < c->B; i++)
	{
		int			is_zero = 1;

		for (int j = 0; j < c->k; j++)
			if (c->z[i * c->k + j] != 0.0f)
				is_zero = 0;
		if (is_zero != zero_rows)
			continue;
		for (int j = 0; j < c->k; j++)
		{
			double		e = fabs((double) c->dz[i * c->k + j] - fd[i * c->k + j]);

			md = isnan(e) ? INFINITY : fmax(md, e);
			mf = fmax(mf, fabs(fd[i * c->k + j]));
		}
	}
	*fd_max = mf;
	return md / fmax(mf, 1e-12);
}

/*
 * One shape and temperature; from B = 3 on, input row 1 duplicates row 0
 * and the last code row is zero; from B = 8 on, input row 5 is zero.  At
 * B = 2 each row has one neighbour: p = q = 1, loss and gradient 0.
 */
static void
test_grad_case(int B, int k, int d, double tau)
{
	sim_case	c = case_new(B, k, d, 1000 + 31 * B + k + d);
	double	   *fd = tu_xmalloc(sizeof(double) * B * k),
			   *zd,
			   *xd,
				L,
				Lref,
				e1,
				e0,
				m1,
				m0;

	if (B >= 3)
	{
		memcpy(c.x + d, c.x, sizeof(float) * d);	/* row 1 = row 0 */
		memset(c.z + (size_t) (B - 1) * k, 0, sizeof(float) * k);
	}
	if (B >= 8)
		memset(c.x + 5 * d, 0, sizeof(float) * d);	/* a zero input row */
	L = case_grad(&c, tau);
	zd = to_double(c.z, B * k);
	xd = to_double(c.x, B * d);
	Lref = ref_loss(zd, xd, B, k, d, tau);
	ref_fd(&c, tau, fd);
	e1 = grad_err(&c, fd, 0, &m1);
	e0 = grad_err(&c, fd, 1, &m0);
	CHECK(tu_reldiff(L, Lref, 1e-6) <= LOSS_BOUND,
		  "B=%d k=%d d=%d tau=%g: loss %.9g, double reference %.9g (rel diff %.2e <= %.0e)",
		  B, k, d, tau, L, Lref, tu_reldiff(L, Lref, 1e-6), LOSS_BOUND);
	CHECK(e1 <= GRAD_BOUND,
		  "B=%d k=%d d=%d tau=%g: gradient vs central differences, rel err %.2e <= %.0e (max |fd| %.3g)",
		  B, k, d, tau, e1, GRAD_BOUND, m1);
	if (B >= 3)
		CHECK(e0 <= GRAD_BOUND,
			  "B=%d k=%d d=%d tau=%g: zero code row's gradient, rel err %.2e <= %.0e (max |fd| %.3g)",
			  B, k, d, tau, e0, GRAD_BOUND, m0);
	free(fd);
	free(zd);
	free(xd);
	case_free(&c);
}

/* Section 1 over the three shapes and two temperatures. */
static void
test_gradient(void)
{
	static const int shapes[][3] = {{2, 3, 5}, {7, 4, 9}, {32, 8, 20}};
	static const double taus[] = {0.02, 0.5};

	for (int s = 0; s < 3; s++)
		for (int t = 0; t < 2; t++)
			test_grad_case(shapes[s][0], shapes[s][1], shapes[s][2], taus[t]);
}

/* ====================================================================== */
/* 2. Sign and zero                                                        */
/* ====================================================================== */

/* Loss >= 0 on random batches; ~0 when z = x, or z_i = c_i x_i, c_i > 0. */
static void
test_nonneg_and_zero(void)
{
	double		minL = INFINITY,
				L,
				Ls;

	for (int seed = 0; seed < 20; seed++)
	{
		sim_case	c = case_new(16, 4, 10, 77 + seed);

		L = case_loss(&c, seed % 2 ? 0.5 : 0.02);
		minL = fmin(minL, isnan(L) ? -INFINITY : L);
		case_free(&c);
	}
	CHECK(minL >= 0.0, "20 random batches: smallest loss %.6g >= 0", minL);
	{
		sim_case	c = case_new(24, 10, 10, 5);

		memcpy(c.z, c.x, sizeof(float) * 24 * 10);
		L = case_loss(&c, 0.02);
		for (int i = 0; i < 24; i++)
			for (int j = 0; j < 10; j++)
				c.z[i * 10 + j] *= (float) (0.5 + i);
		Ls = case_loss(&c, 0.02);
		CHECK(L >= 0.0 && L <= 1e-6, "z = x (k = d): loss %.3g ~ 0", L);
		CHECK(Ls >= 0.0 && Ls <= 1e-5, "z_i = c_i x_i, c_i in 0.5..23.5: loss %.3g ~ 0", Ls);
		case_free(&c);
	}
}

/* ====================================================================== */
/* 3. Invariance to the scale of a row                                     */
/* ====================================================================== */

/* Row 3 of z times c: the same loss, row 3 of the gradient divided by c. */
static void
test_invariance(void)
{
	static const float scales[] = {7.5f, 0.05f, 1000.0f};

	for (int s = 0; s < 3; s++)
	{
		sim_case	a = case_new(20, 6, 12, 9),
					b = case_new(20, 6, 12, 9);
		float		c = scales[s];
		double		La,
					Lb,
					gerr = 0.0,
					gmax = 0.0;

		for (int j = 0; j < 6; j++)
			b.z[3 * 6 + j] *= c;
		La = case_grad(&a, 0.02);
		Lb = case_grad(&b, 0.02);
		for (int j = 0; j < 6; j++)
		{
			gerr = fmax(gerr, fabs((double) b.dz[3 * 6 + j] * c - a.dz[3 * 6 + j]));
			gmax = fmax(gmax, fabs((double) a.dz[3 * 6 + j]));
		}
		CHECK(tu_reldiff(La, Lb, 1e-6) <= 1e-5,
			  "row 3 of z times %g: loss %.9g vs %.9g (rel diff %.2e <= 1e-5)",
			  c, Lb, La, tu_reldiff(La, Lb, 1e-6));
		CHECK(gerr <= 1e-4 * gmax,
			  "row 3 of z times %g: its gradient times %g matches (rel err %.2e <= 1e-4)",
			  c, c, gerr / fmax(gmax, 1e-30));
		case_free(&a);
		case_free(&b);
	}
}

/* ====================================================================== */
/* 4. Loss-only call; accumulation and scale                               */
/* ====================================================================== */

/* dz NULL gives the same loss; dz is added to, times scale. */
static void
test_loss_only_and_accumulate(void)
{
	sim_case	c = case_new(32, 8, 20, 11);
	int			n = 32 * 8;
	float	   *base = tu_xmalloc(sizeof(float) * n),
			   *g1 = tu_xmalloc(sizeof(float) * n);
	double		Lg,
				Ln,
				Ls,
				err = 0.0;
	ae_rng		r;

	Lg = case_grad(&c, 0.02);
	memcpy(g1, c.dz, sizeof(float) * n);
	Ln = case_loss(&c, 0.02);
	CHECK(Ln == Lg, "dz NULL: loss %.17g equals the gradient call's %.17g", Ln, Lg);
	ae_rng_seed(&r, 3);
	for (int i = 0; i < n; i++)
		base[i] = c.dz[i] = (float) ae_rng_normal(&r);
	Ls = ae_sim_loss_grad(c.z, c.x, 32, 8, 20, 0.02, c.dz, 2.5f, c.work);
	for (int i = 0; i < n; i++)
		err = fmax(err, fabs(((double) c.dz[i] - base[i]) - 2.5 * g1[i]));
	CHECK(Ls == Lg && err <= 1e-5 * (2.5 * tu_max_abs_f(g1, n) + tu_max_abs_f(base, n)),
		  "scale 2.5 onto a non-zero dz: dz - before = 2.5 * gradient (max err %.2e)", err);
	free(base);
	free(g1);
	case_free(&c);
}

/* ====================================================================== */
/* 5. Determinism                                                          */
/* ====================================================================== */

/* Two calls, the work filled with NaN then garbage: identical bytes. */
static void
test_determinism(void)
{
	sim_case	c = case_new(64, 16, 50, 21);
	size_t		wn = ae_sim_work_floats(64, 16, 50);
	float	   *d1 = tu_xmalloc(sizeof(float) * 64 * 16);
	double		L1,
				L2;

	for (size_t i = 0; i < wn; i++)
		c.work[i] = NAN;
	L1 = case_grad(&c, 0.02);
	memcpy(d1, c.dz, sizeof(float) * 64 * 16);
	memset(c.dz, 0, sizeof(float) * 64 * 16);
	memset(c.work, 0x5a, sizeof(float) * wn);
	L2 = case_grad(&c, 0.02);
	CHECK(memcmp(&L1, &L2, sizeof(double)) == 0 &&
		  memcmp(d1, c.dz, sizeof(float) * 64 * 16) == 0 && isfinite(L1),
		  "two calls (work NaN, then 0x5a bytes): identical loss %.17g and gradient bytes", L1);
	free(d1);
	case_free(&c);
}

/* ====================================================================== */
/* 6. Descent                                                              */
/* ====================================================================== */

/* steps plain gradient steps z -= lr g, lr = step / max|g| at the start. */
static void
test_descent_case(double tau, float step, int steps)
{
	sim_case	c = case_new(32, 8, 20, 41);
	double		L0,
				L = 0.0,
				prev;
	float		lr = 0.0f;
	int			mono = 1;

	L0 = prev = case_grad(&c, tau);
	for (int s = 0; s < steps; s++)
	{
		if (s == 0)
			lr = step / (float) tu_max_abs_f(c.dz, 32 * 8);
		for (int i = 0; i < 32 * 8; i++)
			c.z[i] -= lr * c.dz[i];
		memset(c.dz, 0, sizeof(float) * 32 * 8);
		L = case_grad(&c, tau);
		if (!(L < prev))
			mono = 0;
		prev = L;
	}
	CHECK(mono && L < 0.8 * L0,
		  "tau=%g: %d gradient steps lower the loss at every step, %.6g -> %.6g",
		  tau, steps, L0, L);
	case_free(&c);
}

/* Section 6 at both temperatures. */
static void
test_descent(void)
{
	test_descent_case(0.02, 0.05f, 10);
	test_descent_case(0.5, 0.2f, 10);
}

/* ====================================================================== */
/* 7. Edge cases                                                           */
/* ====================================================================== */

/*
 * B = 1: 0 and dz untouched; an all-zero batch: loss 0, finite gradient;
 * zero codes: finite; a NaN or infinity in the batch: NaN loss.
 */
static void
test_edges(void)
{
	sim_case	c = case_new(1, 4, 6, 2);
	sim_case	zc = case_new(10, 4, 6, 2);
	sim_case	z2 = case_new(10, 4, 6, 3);
	float		before[4];
	double		L,
				Ls;
	int			finite = 1;

	for (int j = 0; j < 4; j++)
		before[j] = c.dz[j] = 0.25f * j;
	L = case_grad(&c, 0.02);
	CHECK(L == 0.0 && memcmp(before, c.dz, sizeof(before)) == 0,
		  "B = 1: loss %g, dz untouched", L);
	memset(zc.z, 0, sizeof(float) * 10 * 4);
	memset(zc.x, 0, sizeof(float) * 10 * 6);
	L = case_grad(&zc, 0.02);
	for (int i = 0; i < 10 * 4; i++)
		if (!isfinite(zc.dz[i]))
			finite = 0;
	CHECK(L == 0.0 && finite, "all-zero codes and inputs: loss %g, gradient finite", L);
	memset(z2.z, 0, sizeof(float) * 10 * 4);
	L = case_grad(&z2, 0.02);
	for (int i = 0; i < 10 * 4; i++)
		if (!isfinite(z2.dz[i]))
			finite = 0;
	CHECK(isfinite(L) && L > 0.0 && finite,
		  "all-zero codes, random inputs: loss %.6g, gradient finite (max |g| %.3g: every u_i = 0, a stationary point)",
		  L, tu_max_abs_f(z2.dz, 40));
	z2.z[7] = NAN;
	L = case_loss(&z2, 0.02);
	z2.z[7] = 0.0f;
	z2.x[11] = INFINITY;
	Ls = case_loss(&z2, 0.02);
	CHECK(isnan(L) && isnan(Ls), "a NaN code or an infinite input: loss %g and %g, not hidden", L, Ls);
	case_free(&c);
	case_free(&zc);
	case_free(&z2);
}

/* ====================================================================== */
/* 8. Cost                                                                 */
/* ====================================================================== */

/* Milliseconds per call of the B = 256, k = 32, d = 784 batch. */
static double
time_calls(sim_case *c, int grad)
{
	int			n = 0;
	double		t0;

	case_loss(c, 0.02);			/* warm-up */
	t0 = ae_seconds();
	do
	{
		if (grad)
			case_grad(c, 0.02);
		else
			case_loss(c, 0.02);
		n++;
	} while (n < 3 || (ae_seconds() - t0 < 0.3 && n < 500));
	return 1e3 * (ae_seconds() - t0) / n;
}

/* Print the time per call (informational). */
static void
test_cost(void)
{
	sim_case	c = case_new(256, 32, 784, 8);
	double		tg = time_calls(&c, 1),
				tl = time_calls(&c, 0);

	printf("# B=256 k=32 d=784: %.3f ms per call with the gradient, %.3f ms loss only (%.2f us per row)\n",
		   tg, tl, 1e3 * tg / 256);
	case_free(&c);
}

int
main(void)
{
	test_gradient();
	test_nonneg_and_zero();
	test_invariance();
	test_loss_only_and_accumulate();
	test_determinism();
	test_descent();
	test_edges();
	test_cost();
	return tu_finish();
}
