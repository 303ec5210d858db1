/*-------------------------------------------------------------------------
 *
 * test_optim.c
 *	  Unit tests of the optimisers (src/ae_optim.c), the RNG and the enum and
 *	  status names (src/ae_util.c) of the autoencoder core.
 *
 * Sections:
 *	 1. optimisers (Adam, SGD with momentum) against hand-computed values
 *	 2. RNG and names
 *
 * Prints one line per check and "N passed, M failed" at the end; exits
 * non-zero if anything failed.
 *
 *-------------------------------------------------------------------------
 */
#include "test_util.h"

#include <stdint.h>

/* ====================================================================== */
/* 1. Optimisers                                                           */
/* ====================================================================== */

/* Adam: init fields and the first two steps against hand-computed values. */
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

/* SGD with momentum: the first two steps against hand-computed values. */
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
/* 2. RNG and names                                                        */
/* ====================================================================== */

/* RNG: reproducibility, seeding, uniform and normal moments, ae_rng_below. */
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

/* The choices of an option row, by name. */
static const ae_choice *
choices_of(const char *option)
{
	return ae_option_find(option, AE_OPT_TRAIN | AE_OPT_FIT)->choices;
}

/* Enum names parse back, unknown names give -1, every status has a message. */
static void
test_names(void)
{
	const ae_choice *act = choices_of("activation"),
			   *scl = choices_of("scaling"),
			   *opt = choices_of("optimizer"),
			   *noi = choices_of("noise");
	int			ok = 1;

	for (int a = 0; a < AE_ACT_COUNT; a++)
		if (ae_choice_parse(act, ae_activation_name((ae_activation) a)) != a)
			ok = 0;
	for (int a = 0; a < AE_SCALING_COUNT; a++)
		if (ae_choice_parse(scl, ae_scaling_name((ae_scaling) a)) != a)
			ok = 0;
	for (int a = 0; a < AE_OPT_COUNT; a++)
		if (ae_choice_parse(opt, ae_optimizer_name((ae_optimizer) a)) != a)
			ok = 0;
	for (int a = 0; a < AE_NOISE_COUNT; a++)
		if (ae_choice_parse(noi, ae_noise_name((ae_noise) a)) != a)
			ok = 0;
	CHECK(ok, "names: every enum name parses back to its value");
	CHECK(ae_choice_parse(act, "bogus") == -1 && ae_choice_parse(scl, "") == -1 &&
		  ae_choice_parse(opt, "adamw") == -1 && ae_choice_parse(noi, "none ") == -1,
		  "names: unknown names parse to -1");
	CHECK(ae_choice_parse(act, "relu") == AE_ACT_RELU && ae_choice_parse(act, "sigmoid") == AE_ACT_SIGMOID &&
		  ae_choice_parse(opt, "adam") == AE_OPT_ADAM && ae_choice_parse(opt, "sgd") == AE_OPT_SGD &&
		  ae_choice_parse(scl, "standard") == AE_SCALING_STANDARD && ae_choice_parse(scl, "minmax") == AE_SCALING_MINMAX,
		  "names: the documented spellings parse");
	ok = 1;
	for (int s = AE_OK; s <= AE_ELIMIT; s++)
		if (!ae_status_message((ae_status) s) || !ae_status_message((ae_status) s)[0])
			ok = 0;
	CHECK(ok, "names: every status has a message");
}

/* ====================================================================== */

/* Run this program's checks; exit status 1 if any failed. */
int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* 1 */
	test_adam();
	test_sgd();

	/* 2 */
	test_rng();
	test_names();

	return tu_finish();
}
