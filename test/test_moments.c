/*-------------------------------------------------------------------------
 *
 * test_moments.c
 *	  Unit tests of exact moments in the autoencoder core (src/ae_stats.c):
 *	  accumulation, merging, and the scaling derived from them.
 *
 * Sections:
 *	 1. ae_moments_add against a naive two-pass computation in double
 *	 2. ae_moments_merge of two and three parts against one pass
 *	 3. ae_scaling_from_moments against ae_scaling_fit
 *
 * Prints one line per check and "N passed, M failed" at the end; exits
 * non-zero if anything failed.
 *
 *-------------------------------------------------------------------------
 */
#include "test_util.h"

#include <stdint.h>

/* ====================================================================== */
/* Helpers                                                                 */
/* ====================================================================== */

/* Naive two-pass statistics of rows [from, to) in double; M2 full (d, d). */
typedef struct naive_stats
{
	size_t		n;
	double	   *mean;
	double	   *lo;
	double	   *hi;
	double	   *m2;
} naive_stats;

/* The naive statistics of rows [from, to) of the row-major block data. */
static naive_stats
naive_compute(const float *data, int d, size_t from, size_t to)
{
	naive_stats s;

	s.n = to - from;
	s.mean = tu_xcalloc((size_t) d, sizeof(double));
	s.lo = tu_xcalloc((size_t) d, sizeof(double));
	s.hi = tu_xcalloc((size_t) d, sizeof(double));
	s.m2 = tu_xcalloc((size_t) d * d, sizeof(double));
	for (int i = 0; i < d; i++)
		s.lo[i] = s.hi[i] = data[from * d + i];
	for (size_t r = from; r < to; r++)
		for (int i = 0; i < d; i++)
		{
			double		v = data[r * d + i];

			s.mean[i] += v;
			if (v < s.lo[i])
				s.lo[i] = v;
			if (v > s.hi[i])
				s.hi[i] = v;
		}
	for (int i = 0; i < d; i++)
		s.mean[i] /= (double) s.n;
	for (size_t r = from; r < to; r++)
		for (int i = 0; i < d; i++)
		{
			double		ci = data[r * d + i] - s.mean[i];

			for (int j = 0; j < d; j++)
				s.m2[(size_t) i * d + j] += ci * (data[r * d + j] - s.mean[j]);
		}
	return s;
}

/* Release what naive_compute allocated. */
static void
naive_free(naive_stats *s)
{
	free(s->mean);
	free(s->lo);
	free(s->hi);
	free(s->m2);
}

/*
 * Largest relative error of m against the naive statistics.  Off-diagonal
 * co-moments are measured against sqrt(M2_ii M2_jj) (they can be near 0).
 * Writes the worst of mean, range and M2 separately.
 */
static void
mom_vs_naive(const ae_moments *m, const naive_stats *s, double *e_mean,
			 double *e_range, double *e_m2)
{
	int			d = m->d;

	*e_mean = *e_range = *e_m2 = 0.0;
	for (int i = 0; i < d; i++)
	{
		double		sd = sqrt(s->m2[(size_t) i * d + i] / (double) s->n);
		double		e;

		/* the mean relative to its magnitude or spread, whichever larger */
		e = fabs(m->mean[i] - s->mean[i]) / fmax(fmax(fabs(s->mean[i]), sd), 1e-300);
		*e_mean = fmax(*e_mean, e);
		*e_range = fmax(*e_range, fabs(m->lo[i] - s->lo[i]) + fabs(m->hi[i] - s->hi[i]));
	}
	for (int i = 0; i < d; i++)
		for (int j = i; j < d; j++)
		{
			double		want = s->m2[(size_t) i * d + j];
			double		got;
			double		den;

			if (m->full)
				got = m->m2[(size_t) i * d + j];
			else if (i == j)
				got = m->m2[i];
			else
				continue;
			den = fmax(fabs(want), sqrt(s->m2[(size_t) i * d + i] * s->m2[(size_t) j * d + j]));
			*e_m2 = fmax(*e_m2, fabs(got - want) / fmax(den, 1e-300));
		}
	if (isnan(*e_mean) || isnan(*e_m2))
		*e_mean = *e_m2 = INFINITY;
}

/* Largest relative difference between two moments of the same shape. */
static double
mom_diff(const ae_moments *a, const ae_moments *b)
{
	int			d = a->d;
	double		e = 0.0;

	if (a->n != b->n || a->d != b->d || a->full != b->full)
		return INFINITY;
	for (int i = 0; i < d; i++)
	{
		double		sd = sqrt((a->full ? a->m2[(size_t) i * d + i] : a->m2[i]) /
							  (double) (a->n ? a->n : 1));

		e = fmax(e, fabs(a->mean[i] - b->mean[i]) /
				 fmax(fmax(fabs(b->mean[i]), sd), 1e-300));
		e = fmax(e, a->lo[i] != b->lo[i] || a->hi[i] != b->hi[i] ? INFINITY : 0.0);
	}
	for (int i = 0; i < d; i++)
		for (int j = i; j < d; j++)
		{
			double		x,
						y,
						den;

			if (a->full)
			{
				x = a->m2[(size_t) i * d + j];
				y = b->m2[(size_t) i * d + j];
				den = sqrt(fabs(b->m2[(size_t) i * d + i] * b->m2[(size_t) j * d + j]));
			}
			else if (i == j)
			{
				x = a->m2[i];
				y = b->m2[i];
				den = fabs(y);
			}
			else
				continue;
			den = fmax(fmax(den, fabs(y)), 1e-300);
			e = fmax(e, fabs(x - y) / den);
		}
	return isnan(e) ? INFINITY : e;
}

/*
 * Random rows: feature i is offset + scale_i * (noise + correlated part).
 * offset is common (1e4 tests cancellation); scales vary per feature.
 */
static float *
random_rows(size_t n, int d, double offset, double noise_scale, uint64_t seed)
{
	float	   *x = tu_xmalloc(sizeof(float) * n * d);
	double	   *sc = tu_xmalloc(sizeof(double) * d);
	ae_rng		r;

	ae_rng_seed(&r, seed);
	for (int i = 0; i < d; i++)
		sc[i] = noise_scale * tu_unif(&r, 0.2, 3.0);
	for (size_t k = 0; k < n; k++)
	{
		double		u = ae_rng_normal(&r);

		for (int i = 0; i < d; i++)
			x[k * d + i] = (float) (offset + (i % 3) + sc[i] *
									(ae_rng_normal(&r) + (i % 2 ? 0.7 : -0.4) * u));
	}
	free(sc);
	return x;
}

/* ====================================================================== */
/* 1. ae_moments_add                                                       */
/* ====================================================================== */

/*
 * ae_moments_add over n rows in blocks of B against the naive two-pass
 * statistics: n, mean, lo/hi, M2.
 */
static void
moments_case(const char *label, const float *x, size_t n, int d, int B, int full)
{
	tu_mom_buf	mb = tu_mom_new(d, full);
	naive_stats s = naive_compute(x, d, 0, n);
	double		em,
				er,
				e2;

	tu_mom_feed(&mb.m, x, 0, n, B);
	mom_vs_naive(&mb.m, &s, &em, &er, &e2);
	CHECK(mb.m.n == n, "moments %s d=%d B=%d full=%d: n = %llu (want %zu)",
		  label, d, B, full, (unsigned long long) mb.m.n, n);
	CHECK(em <= 1e-10, "moments %s d=%d B=%d full=%d: mean rel err %.2e <= 1e-10",
		  label, d, B, full, em);
	CHECK(er == 0.0, "moments %s d=%d B=%d full=%d: lo/hi exact (err %.2e)",
		  label, d, B, full, er);
	CHECK(e2 <= 1e-10, "moments %s d=%d B=%d full=%d: M2 rel err %.2e <= 1e-10",
		  label, d, B, full, e2);
	naive_free(&s);
	tu_mom_free(&mb);
}

/*
 * ae_moments_add on plain, offset and wide data; the offset data defeats
 * the one-pass formula; B = 0, one row, ae_moments_attach.
 */
static void
test_moments_add(void)
{
	static const int blocks[] = {1, 7, 256};
	const size_t n = 1000;
	float	   *plain = random_rows(n, 6, 0.0, 1.0, 11);
	float	   *offset = random_rows(n, 5, 1e4, 0.05, 12);
	float	   *wide = random_rows(300, 33, -3.0, 2.0, 13);

	for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); b++)
		for (int full = 0; full <= 1; full++)
		{
			moments_case("plain", plain, n, 6, blocks[b], full);
			moments_case("offset 1e4", offset, n, 5, blocks[b], full);
			moments_case("wide", wide, 300, 33, blocks[b], full);
		}

	/*
	 * The offset data must really be hard: the textbook one-pass formula
	 * sum x^2 - n mean^2 in double loses most digits there.
	 */
	{
		double		sum = 0.0,
					sq = 0.0,
					worst = 0.0;
		naive_stats s = naive_compute(offset, 5, 0, n);

		for (int i = 0; i < 5; i++)
		{
			sum = sq = 0.0;
			for (size_t r = 0; r < n; r++)
			{
				sum += offset[r * 5 + i];
				sq += (double) offset[r * 5 + i] * offset[r * 5 + i];
			}
			worst = fmax(worst, tu_reldiff(sq - sum * sum / n, s.m2[i * 5 + i], 1e-300));
		}
		CHECK(worst > 1e-10, "moments: offset data defeats the one-pass formula (rel err %.2e)",
			  worst);
		naive_free(&s);
	}

	/* B = 0 is a no-op; a single row has M2 = 0 and lo = hi = the row */
	{
		tu_mom_buf	mb = tu_mom_new(6, 1);
		double		work[5 * 6 + 6];
		int			ok = 1;

		ae_moments_add(&mb.m, plain, 0, work);
		CHECK(mb.m.n == 0, "moments: B=0 leaves n = 0");
		ae_moments_add(&mb.m, plain + 6, 1, work);
		for (int i = 0; i < 6; i++)
		{
			ok &= mb.m.mean[i] == (double) plain[6 + i];
			ok &= mb.m.lo[i] == (double) plain[6 + i] && mb.m.hi[i] == (double) plain[6 + i];
			for (int j = i; j < 6; j++)
				ok &= mb.m.m2[i * 6 + j] == 0.0;
		}
		CHECK(mb.m.n == 1 && ok, "moments: one row gives mean = row, lo = hi = row, M2 = 0");
		tu_mom_free(&mb);
	}

	/* attach re-points a copy of the storage at the same moments */
	{
		tu_mom_buf	mb = tu_mom_new(6, 1);
		size_t		nd = ae_moments_doubles(6, 1);
		double	   *copy = tu_xmalloc(sizeof(double) * nd);
		ae_moments	c;

		tu_mom_feed(&mb.m, plain, 0, n, 64);
		memcpy(copy, mb.storage, sizeof(double) * nd);
		ae_moments_attach(&c, 6, 1, mb.m.n, copy);
		CHECK(nd == 6 * 3 + 36 && ae_moments_doubles(6, 0) == 6 * 4,
			  "moments: ae_moments_doubles(6, 1) = %zu, (6, 0) = %zu",
			  nd, ae_moments_doubles(6, 0));
		CHECK(mom_diff(&c, &mb.m) == 0.0, "moments: attach on a copy reads the same moments");
		free(copy);
		tu_mom_free(&mb);
	}
	free(plain);
	free(offset);
	free(wide);
}

/* ====================================================================== */
/* 2. ae_moments_merge                                                     */
/* ====================================================================== */

/*
 * ae_moments_merge of two and three parts against one pass and the naive
 * statistics, in both orders, and with an empty state.
 */
static void
merge_case(const char *label, const float *x, size_t n, int d, int full)
{
	tu_mom_buf	one = tu_mom_new(d, full),
				a = tu_mom_new(d, full),
				b = tu_mom_new(d, full),
				c = tu_mom_new(d, full),
				a2 = tu_mom_new(d, full),
				b2 = tu_mom_new(d, full),
				c2 = tu_mom_new(d, full);
	naive_stats s = naive_compute(x, d, 0, n);
	double	   *work = tu_xmalloc(sizeof(double) * d);
	double		em,
				er,
				e2;
	size_t		cut1 = n / 3 + 1,
				cut2 = (n * 4) / 5;

	tu_mom_feed(&one.m, x, 0, n, 64);

	/* two parts, different block sizes on each side */
	tu_mom_feed(&a.m, x, 0, cut1, 7);
	tu_mom_feed(&b.m, x, cut1, n, 256);
	ae_moments_merge(&a.m, &b.m, work);
	CHECK(mom_diff(&a.m, &one.m) <= 1e-10,
		  "merge %s full=%d: two parts = one pass (rel %.2e)", label, full,
		  mom_diff(&a.m, &one.m));
	mom_vs_naive(&a.m, &s, &em, &er, &e2);
	CHECK(em <= 1e-10 && er == 0.0 && e2 <= 1e-10,
		  "merge %s full=%d: two parts = two-pass (mean %.2e, M2 %.2e)",
		  label, full, em, e2);

	/* three parts: ((A + B) + C) and (A + (C + B)) */
	tu_mom_feed(&a2.m, x, 0, cut1, 1);
	tu_mom_feed(&b2.m, x, cut1, cut2, 13);
	tu_mom_feed(&c2.m, x, cut2, n, 100);
	memcpy(c.storage, c2.storage, sizeof(double) * ae_moments_doubles(d, full));
	c.m.n = c2.m.n;
	memcpy(b.storage, b2.storage, sizeof(double) * ae_moments_doubles(d, full));
	b.m.n = b2.m.n;
	ae_moments_merge(&b.m, &c.m, work);
	memcpy(a.storage, a2.storage, sizeof(double) * ae_moments_doubles(d, full));
	a.m.n = a2.m.n;
	ae_moments_merge(&a.m, &b.m, work); /* A + (B + C) */
	CHECK(mom_diff(&a.m, &one.m) <= 1e-10,
		  "merge %s full=%d: A + (B + C) = one pass (rel %.2e)", label, full,
		  mom_diff(&a.m, &one.m));
	ae_moments_merge(&a2.m, &b2.m, work);
	ae_moments_merge(&a2.m, &c2.m, work);	/* (A + B) + C */
	CHECK(mom_diff(&a2.m, &one.m) <= 1e-10,
		  "merge %s full=%d: (A + B) + C = one pass (rel %.2e)", label, full,
		  mom_diff(&a2.m, &one.m));
	ae_moments_merge(&c2.m, &a.m, work);	/* C + (A+B+C): n doubles, means equal */
	CHECK(c2.m.n == n + (n - cut2), "merge %s full=%d: counts add (%llu)", label, full,
		  (unsigned long long) c2.m.n);

	/* merging an empty state either way */
	{
		tu_mom_buf	e = tu_mom_new(d, full);
		size_t		nd = ae_moments_doubles(d, full);
		double	   *before = tu_xmalloc(sizeof(double) * nd);

		memcpy(before, one.storage, sizeof(double) * nd);
		ae_moments_merge(&one.m, &e.m, work);
		CHECK(one.m.n == n && memcmp(before, one.storage, sizeof(double) * nd) == 0,
			  "merge %s full=%d: X + empty leaves X unchanged", label, full);
		ae_moments_merge(&e.m, &one.m, work);
		CHECK(mom_diff(&e.m, &one.m) <= 1e-15,
			  "merge %s full=%d: empty + X = X (rel %.2e)", label, full,
			  mom_diff(&e.m, &one.m));
		/* and then adding rows to it continues correctly */
		tu_mom_buf	f = tu_mom_new(d, full);

		ae_moments_merge(&f.m, &a2.m, work);	/* f = all rows */
		tu_mom_feed(&f.m, x, 0, cut1, 32);	/* plus the first part again */
		{
			tu_mom_buf	g = tu_mom_new(d, full);

			tu_mom_feed(&g.m, x, 0, n, 500);
			tu_mom_feed(&g.m, x, 0, cut1, 3);
			CHECK(mom_diff(&f.m, &g.m) <= 1e-10,
				  "merge %s full=%d: (empty + X) then add = adds only (rel %.2e)",
				  label, full, mom_diff(&f.m, &g.m));
			tu_mom_free(&g);
		}
		tu_mom_free(&f);
		free(before);
		tu_mom_free(&e);
	}

	free(work);
	naive_free(&s);
	tu_mom_free(&one);
	tu_mom_free(&a);
	tu_mom_free(&b);
	tu_mom_free(&c);
	tu_mom_free(&a2);
	tu_mom_free(&b2);
	tu_mom_free(&c2);
}

/* ae_moments_merge on parts with different means and on offset data. */
static void
test_moments_merge(void)
{
	float	   *plain = random_rows(1000, 6, 0.0, 1.0, 21);
	float	   *offset = random_rows(1000, 5, 1e4, 0.05, 22);

	/* shift the second half of the plain data: parts with different means */
	for (size_t i = 500 * 6; i < 1000 * 6; i++)
		plain[i] += 5.0f;
	for (int full = 0; full <= 1; full++)
	{
		merge_case("plain", plain, 1000, 6, full);
		merge_case("offset 1e4", offset, 1000, 5, full);
	}
	free(plain);
	free(offset);
}

/* ====================================================================== */
/* 3. ae_scaling_from_moments                                              */
/* ====================================================================== */

/*
 * ae_scaling_from_moments against ae_scaling_fit for every normalization,
 * and the standard scale against the population standard deviation.
 */
static void
test_scaling_from_moments(void)
{
	const size_t n = 777;
	const int	d = 7;
	float	   *x = random_rows(n, d, 3.0, 2.0, 31);
	float	  **rows = tu_xmalloc(sizeof(float *) * n);
	double		work[2 * 7];
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);

	/* feature 4 constant: both must keep scale 1 */
	for (size_t r = 0; r < n; r++)
	{
		x[r * d + 4] = 2.5f;
		rows[r] = x + r * d;
	}
	for (int norm = 0; norm < AE_SCALING_COUNT; norm++)
		for (int full = 0; full <= 1; full++)
		{
			ae_arch		arch = tu_arch(d, 2, 0, NULL, AE_ACT_LINEAR, AE_ACT_LINEAR,
									   (ae_scaling) norm);
			ae_model	fit,
						mm;
			tu_mom_buf	mb = tu_mom_new(d, full);
			double		e = 0.0;
			int			exact_range = 1;

			if (ae_model_create(&fit, &arch, 0, &al) != AE_OK ||
				ae_model_create(&mm, &arch, 0, &al) != AE_OK)
			{
				CHECK(0, "scaling_from_moments: model create");
				tu_mom_free(&mb);
				continue;
			}
			ae_scaling_fit(&fit, rows, n, work);
			tu_mom_feed(&mb.m, x, 0, n, 50);
			ae_scaling_from_moments(&mm, &mb.m);
			for (int i = 0; i < d; i++)
			{
				e = fmax(e, tu_reldiff(mm.shift[i], fit.shift[i], 1e-6));
				e = fmax(e, tu_reldiff(mm.scale[i], fit.scale[i], 1e-6));
				/* l2's ranges are of the unit rows, set when training scales them */
				exact_range &= norm == AE_SCALING_L2 ||
					(mm.lo[i] == fit.lo[i] && mm.hi[i] == fit.hi[i]);
			}
			CHECK(e <= 2e-6 && exact_range,
				  "scaling_from_moments %s full=%d = ae_scaling_fit (rel %.2e, range %s)",
				  ae_scaling_name((ae_scaling) norm), full, e,
				  exact_range ? "exact" : "differs");
			CHECK(mm.scale[4] == 1.0f &&
				  mm.shift[4] == (norm == AE_SCALING_NONE || norm == AE_SCALING_L2 ? 0.0f : 2.5f),
				  "scaling_from_moments %s full=%d: constant feature shift %g scale %g",
				  ae_scaling_name((ae_scaling) norm), full, mm.shift[4], mm.scale[4]);
			if (norm == AE_SCALING_STANDARD)
			{
				/* and against the naive population standard deviation */
				naive_stats s = naive_compute(x, d, 0, n);
				double		es = 0.0;

				for (int i = 0; i < d; i++)
					if (i != 4)
						es = fmax(es, tu_reldiff(mm.scale[i],
												 sqrt(s.m2[i * d + i] / n), 1e-12));
				CHECK(es <= 1e-7, "scaling_from_moments standard full=%d: scale = population sd (rel %.2e)",
					  full, es);
				naive_free(&s);
			}
			ae_model_destroy(&fit);
			ae_model_destroy(&mm);
			tu_mom_free(&mb);
		}
	CHECK(ctx.live == 0, "scaling_from_moments: no blocks leaked (%ld live)", ctx.live);
	free(rows);
	free(x);
}

/* ====================================================================== */

/* Run this program's checks; exit status 1 if any failed. */
int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* 1 */
	test_moments_add();
	/* 2 */
	test_moments_merge();
	/* 3 */
	test_scaling_from_moments();

	return tu_finish();
}
