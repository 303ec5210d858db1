/*-------------------------------------------------------------------------
 *
 * test_stats.c
 *	  Unit tests of exact moments, reservoir sampling and exact PCA
 *	  (src/ae_stats.c, src/ae_pca.c).
 *
 * Sections:
 *	 1. ae_moments_add against a naive two-pass computation in double
 *	 2. ae_moments_merge of two and three parts against one pass
 *	 3. ae_scaling_from_moments against ae_scaling_fit
 *	 4. ae_reservoir_slot (Algorithm R): uniform inclusion over many seeds
 *	 5. ae_reservoir_merge_counts + ae_rng_choose: uniform sample of a union
 *	 6. ae_pca_solve against an independent Jacobi eigensolver, the model's
 *	    own reconstruction error and a linear autoencoder trained by ae_train
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

/* Moments with their own storage. */
typedef struct mom_buf
{
	ae_moments	m;
	double	   *storage;
} mom_buf;

static mom_buf
mom_new(int d, int full)
{
	mom_buf		b;

	b.storage = tu_xmalloc(sizeof(double) * ae_moments_doubles(d, full));
	/* garbage first: init must clear everything it uses */
	memset(b.storage, 0x5a, sizeof(double) * ae_moments_doubles(d, full));
	ae_moments_init(&b.m, d, full, b.storage);
	return b;
}

static void
mom_free(mom_buf *b)
{
	free(b->storage);
	b->storage = NULL;
}

/* Fold rows [from, to) of the (n, d) block data into m in blocks of B. */
static void
mom_feed(ae_moments *m, const float *data, size_t from, size_t to, int B)
{
	int			d = m->d;
	double	   *work = tu_xmalloc(sizeof(double) * ((size_t) B * d + 5 * (size_t) d));

	for (size_t r = from; r < to; r += (size_t) B)
	{
		int			b = (int) ((to - r) < (size_t) B ? (to - r) : (size_t) B);

		ae_moments_add(m, data + r * (size_t) d, b, work);
	}
	free(work);
}

/* Naive two-pass statistics of rows [from, to) in double; M2 full (d, d). */
typedef struct naive_stats
{
	size_t		n;
	double	   *mean;
	double	   *lo;
	double	   *hi;
	double	   *m2;
} naive_stats;

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

static void
moments_case(const char *label, const float *x, size_t n, int d, int B, int full)
{
	mom_buf		mb = mom_new(d, full);
	naive_stats s = naive_compute(x, d, 0, n);
	double		em,
				er,
				e2;

	mom_feed(&mb.m, x, 0, n, B);
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
	mom_free(&mb);
}

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
		mom_buf		mb = mom_new(6, 1);
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
		mom_free(&mb);
	}

	/* attach re-points a copy of the storage at the same moments */
	{
		mom_buf		mb = mom_new(6, 1);
		size_t		nd = ae_moments_doubles(6, 1);
		double	   *copy = tu_xmalloc(sizeof(double) * nd);
		ae_moments	c;

		mom_feed(&mb.m, plain, 0, n, 64);
		memcpy(copy, mb.storage, sizeof(double) * nd);
		ae_moments_attach(&c, 6, 1, mb.m.n, copy);
		CHECK(nd == 6 * 3 + 36 && ae_moments_doubles(6, 0) == 6 * 4,
			  "moments: ae_moments_doubles(6, 1) = %zu, (6, 0) = %zu",
			  nd, ae_moments_doubles(6, 0));
		CHECK(mom_diff(&c, &mb.m) == 0.0, "moments: attach on a copy reads the same moments");
		free(copy);
		mom_free(&mb);
	}
	free(plain);
	free(offset);
	free(wide);
}

/* ====================================================================== */
/* 2. ae_moments_merge                                                     */
/* ====================================================================== */

static void
merge_case(const char *label, const float *x, size_t n, int d, int full)
{
	mom_buf		one = mom_new(d, full),
				a = mom_new(d, full),
				b = mom_new(d, full),
				c = mom_new(d, full),
				a2 = mom_new(d, full),
				b2 = mom_new(d, full),
				c2 = mom_new(d, full);
	naive_stats s = naive_compute(x, d, 0, n);
	double	   *work = tu_xmalloc(sizeof(double) * d);
	double		em,
				er,
				e2;
	size_t		cut1 = n / 3 + 1,
				cut2 = (n * 4) / 5;

	mom_feed(&one.m, x, 0, n, 64);

	/* two parts, different block sizes on each side */
	mom_feed(&a.m, x, 0, cut1, 7);
	mom_feed(&b.m, x, cut1, n, 256);
	ae_moments_merge(&a.m, &b.m, work);
	CHECK(mom_diff(&a.m, &one.m) <= 1e-10,
		  "merge %s full=%d: two parts = one pass (rel %.2e)", label, full,
		  mom_diff(&a.m, &one.m));
	mom_vs_naive(&a.m, &s, &em, &er, &e2);
	CHECK(em <= 1e-10 && er == 0.0 && e2 <= 1e-10,
		  "merge %s full=%d: two parts = two-pass (mean %.2e, M2 %.2e)",
		  label, full, em, e2);

	/* three parts: ((A + B) + C) and (A + (C + B)) */
	mom_feed(&a2.m, x, 0, cut1, 1);
	mom_feed(&b2.m, x, cut1, cut2, 13);
	mom_feed(&c2.m, x, cut2, n, 100);
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
		mom_buf		e = mom_new(d, full);
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
		mom_buf		f = mom_new(d, full);

		ae_moments_merge(&f.m, &a2.m, work);	/* f = all rows */
		mom_feed(&f.m, x, 0, cut1, 32);	/* plus the first part again */
		{
			mom_buf		g = mom_new(d, full);

			mom_feed(&g.m, x, 0, n, 500);
			mom_feed(&g.m, x, 0, cut1, 3);
			CHECK(mom_diff(&f.m, &g.m) <= 1e-10,
				  "merge %s full=%d: (empty + X) then add = adds only (rel %.2e)",
				  label, full, mom_diff(&f.m, &g.m));
			mom_free(&g);
		}
		mom_free(&f);
		free(before);
		mom_free(&e);
	}

	free(work);
	naive_free(&s);
	mom_free(&one);
	mom_free(&a);
	mom_free(&b);
	mom_free(&c);
	mom_free(&a2);
	mom_free(&b2);
	mom_free(&c2);
}

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
	for (int norm = 0; norm < AE_NORM_COUNT; norm++)
		for (int full = 0; full <= 1; full++)
		{
			ae_arch		arch = tu_arch(d, 2, 0, NULL, AE_ACT_LINEAR, AE_ACT_LINEAR,
									   (ae_normalize) norm);
			ae_model	fit,
						mm;
			mom_buf		mb = mom_new(d, full);
			double		e = 0.0;
			int			exact_range = 1;

			if (ae_model_create(&fit, &arch, 0, &al) != AE_OK ||
				ae_model_create(&mm, &arch, 0, &al) != AE_OK)
			{
				CHECK(0, "scaling_from_moments: model create");
				mom_free(&mb);
				continue;
			}
			ae_scaling_fit(&fit, rows, n, work);
			mom_feed(&mb.m, x, 0, n, 50);
			ae_scaling_from_moments(&mm, &mb.m);
			for (int i = 0; i < d; i++)
			{
				e = fmax(e, tu_reldiff(mm.shift[i], fit.shift[i], 1e-6));
				e = fmax(e, tu_reldiff(mm.scale[i], fit.scale[i], 1e-6));
				exact_range &= mm.lo[i] == fit.lo[i] && mm.hi[i] == fit.hi[i];
			}
			CHECK(e <= 2e-6 && exact_range,
				  "scaling_from_moments %s full=%d = ae_scaling_fit (rel %.2e, range %s)",
				  ae_normalize_name((ae_normalize) norm), full, e,
				  exact_range ? "exact" : "differs");
			CHECK(mm.scale[4] == 1.0f &&
				  mm.shift[4] == (norm == AE_NORM_NONE ? 0.0f : 2.5f),
				  "scaling_from_moments %s full=%d: constant feature shift %g scale %g",
				  ae_normalize_name((ae_normalize) norm), full, mm.shift[4], mm.scale[4]);
			if (norm == AE_NORM_STANDARD)
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
			mom_free(&mb);
		}
	CHECK(ctx.live == 0, "scaling_from_moments: no blocks leaked (%ld live)", ctx.live);
	free(rows);
	free(x);
}

/* ====================================================================== */
/* 4. Algorithm R                                                          */
/* ====================================================================== */

/*
 * Chi-square of inclusion counts (each a binomial(S, p)) against the
 * expectation, with m cells: about m, standard deviation sqrt(2 m).
 */
static double
inclusion_chi2(const long *count, size_t m, long S, double p, double *maxdev_sd)
{
	double		e = S * p,
				var = S * p * (1.0 - p),
				chi = 0.0;

	*maxdev_sd = 0.0;
	for (size_t i = 0; i < m; i++)
	{
		double		z = (count[i] - e) / sqrt(var);

		chi += z * z;
		*maxdev_sd = fmax(*maxdev_sd, fabs(z));
	}
	return chi;
}

/* Run Algorithm R over rows first..first+N-1 into res[0..cap). Returns kept. */
static uint64_t
reservoir_fill(ae_rng *rng, uint64_t *res, uint64_t first, uint64_t N,
			   uint64_t cap, int *bad)
{
	for (uint64_t seen = 1; seen <= N; seen++)
	{
		int64_t		slot = ae_reservoir_slot(rng, seen, cap);

		if (seen <= cap && slot != (int64_t) (seen - 1))
			*bad = 1;
		if (slot < -1 || slot >= (int64_t) cap)
		{
			*bad = 1;
			continue;
		}
		if (slot >= 0)
			res[slot] = first + seen - 1;
	}
	return N < cap ? N : cap;
}

static void
test_reservoir_slot(void)
{
	const uint64_t N = 1000,
				cap = 100;
	const long	S = 20000;
	long	   *count = tu_xcalloc(N, sizeof(long));
	long		pair_first_last = 0,
				pair_mid = 0;
	uint64_t	res[100];
	int			bad = 0,
				dup = 0;
	double		chi,
				maxz;

	for (long s = 0; s < S; s++)
	{
		ae_rng		rng;
		unsigned char seen[1000];

		ae_rng_seed(&rng, 1000 + (uint64_t) s);
		reservoir_fill(&rng, res, 0, N, cap, &bad);
		memset(seen, 0, sizeof(seen));
		for (uint64_t i = 0; i < cap; i++)
		{
			if (seen[res[i]])
				dup = 1;
			seen[res[i]] = 1;
			count[res[i]]++;
		}
		pair_first_last += seen[0] && seen[N - 1];
		pair_mid += seen[400] && seen[401];
	}
	CHECK(!bad, "reservoir_slot: slots in [-1, cap), and seen <= cap gives slot seen-1");
	CHECK(!dup, "reservoir_slot: the reservoir never holds a row twice");
	chi = inclusion_chi2(count, N, S, (double) cap / N, &maxz);
	/* about N - 1 = 999 with sd about 45; 5 sd either way */
	CHECK(chi > 999 - 5 * 45 && chi < 999 + 5 * 45,
		  "reservoir_slot N=1000 cap=100 x%ld seeds: chi-square of inclusion %.1f in [774, 1224]",
		  S, chi);
	CHECK(maxz < 5.0, "reservoir_slot: largest inclusion deviation %.2f sd < 5 (first %ld last %ld, want %.0f)",
		  maxz, count[0], count[N - 1], S * (double) cap / N);
	{
		/* pairs: P(both) = cap (cap - 1) / (N (N - 1)) */
		double		p2 = (double) cap * (cap - 1) / ((double) N * (N - 1));
		double		sd = sqrt(S * p2 * (1 - p2));

		CHECK(fabs(pair_first_last - S * p2) < 5 * sd && fabs(pair_mid - S * p2) < 5 * sd,
			  "reservoir_slot: joint inclusion of rows (0, 999) %ld and (400, 401) %ld ~ %.1f",
			  pair_first_last, pair_mid, S * p2);
	}

	/* seen <= cap: slot seen - 1 for any cap, and cap 0 keeps nothing */
	{
		ae_rng		rng;
		int			ok = 1;

		ae_rng_seed(&rng, 5);
		for (uint64_t c = 1; c <= 300; c += 37)
			for (uint64_t seen = 1; seen <= c; seen++)
				ok &= ae_reservoir_slot(&rng, seen, c) == (int64_t) (seen - 1);
		CHECK(ok, "reservoir_slot: seen <= cap always gives slot seen - 1");
		ok = 1;
		for (uint64_t seen = 1; seen <= 50; seen++)
			ok &= ae_reservoir_slot(&rng, seen, 0) == -1;
		CHECK(ok, "reservoir_slot: cap 0 keeps nothing");
	}

	/* the slot a kept row takes is uniform over the reservoir */
	{
		ae_rng		rng;
		long		slots[10] = {0},
					kept = 0,
					trials = 200000;
		double		chi2 = 0.0;

		ae_rng_seed(&rng, 77);
		for (long t = 0; t < trials; t++)
		{
			int64_t		sl = ae_reservoir_slot(&rng, 25, 10);

			if (sl >= 0 && sl < 10)
			{
				slots[sl]++;
				kept++;
			}
		}
		for (int i = 0; i < 10; i++)
			chi2 += (slots[i] - kept / 10.0) * (slots[i] - kept / 10.0) / (kept / 10.0);
		CHECK(fabs(kept - trials * 0.4) < 5 * sqrt(trials * 0.4 * 0.6) && chi2 < 35.0,
			  "reservoir_slot seen=25 cap=10: kept %ld ~ %.0f, slot chi-square %.1f (9 dof)",
			  kept, trials * 0.4, chi2);
	}
	free(count);
}

/* ====================================================================== */
/* 5. Reservoir merge                                                      */
/* ====================================================================== */

/*
 * Merge reservoir a (from seen_a rows, k_a kept) and b into out the way
 * the fit aggregate does; returns the merged size and *ta.
 */
static uint64_t
reservoir_merge(ae_rng *rng, uint64_t *out, const uint64_t *a, uint64_t seen_a,
				uint64_t k_a, const uint64_t *b, uint64_t seen_b, uint64_t k_b,
				uint64_t cap, uint64_t *ta)
{
	uint64_t	ia[1000],
				ib[1000];
	uint64_t	k = ae_reservoir_merge_counts(rng, seen_a, k_a, seen_b, k_b, cap, ta);

	for (uint64_t i = 0; i < k_a; i++)
		ia[i] = i;
	for (uint64_t i = 0; i < k_b; i++)
		ib[i] = i;
	ae_rng_choose(rng, ia, k_a, *ta);
	ae_rng_choose(rng, ib, k_b, k - *ta);
	for (uint64_t i = 0; i < *ta; i++)
		out[i] = a[ia[i]];
	for (uint64_t i = 0; i < k - *ta; i++)
		out[*ta + i] = b[ib[i]];
	return k;
}

/*
 * Streams of the given sizes (rows numbered consecutively), each sampled
 * by Algorithm R with capacity cap, merged left to right; S seeds.  Checks
 * each row's inclusion frequency against min(cap, total) / total and the
 * first merge's take_a against the hypergeometric mean and variance.
 */
static void
merge_uniform_case(const uint64_t *sizes, int parts, uint64_t cap, long S)
{
	uint64_t	total = 0;
	long	   *count;
	uint64_t	acc[1000],
				part[1000],
				merged[1000];
	double		ta_sum = 0.0,
				ta_sq = 0.0;
	int			bad = 0,
				dup = 0,
				wrong_k = 0;
	uint64_t	want_k;
	char		label[64];
	int			len = 0;

	for (int p = 0; p < parts; p++)
	{
		total += sizes[p];
		len += snprintf(label + len, sizeof(label) - len, "%s%llu", p ? "+" : "",
						(unsigned long long) sizes[p]);
	}
	want_k = total < cap ? total : cap;
	count = tu_xcalloc(total, sizeof(long));

	for (long s = 0; s < S; s++)
	{
		ae_rng		rng;
		uint64_t	seen_acc,
					k_acc,
					first;
		unsigned char *hit = tu_xcalloc(total, 1);

		ae_rng_seed(&rng, 900000 + (uint64_t) s * 7);
		k_acc = reservoir_fill(&rng, acc, 0, sizes[0], cap, &bad);
		seen_acc = sizes[0];
		first = sizes[0];
		for (int p = 1; p < parts; p++)
		{
			uint64_t	k_p = reservoir_fill(&rng, part, first, sizes[p], cap, &bad);
			uint64_t	ta,
						k;

			k = reservoir_merge(&rng, merged, acc, seen_acc, k_acc, part, sizes[p],
								k_p, cap, &ta);
			if (ta > k_acc || k - ta > k_p)
				bad = 1;
			if (p == 1)
			{
				ta_sum += (double) ta;
				ta_sq += (double) ta * ta;
			}
			memcpy(acc, merged, sizeof(uint64_t) * k);
			k_acc = k;
			seen_acc += sizes[p];
			first += sizes[p];
		}
		if (k_acc != want_k)
			wrong_k = 1;
		for (uint64_t i = 0; i < k_acc; i++)
		{
			if (acc[i] >= total || hit[acc[i]])
			{
				dup = 1;
				continue;
			}
			hit[acc[i]] = 1;
			count[acc[i]]++;
		}
		free(hit);
	}
	CHECK(!bad && !wrong_k && !dup,
		  "reservoir merge %s cap %llu: size min(cap, total) = %llu, no duplicates, sides within their samples",
		  label, (unsigned long long) cap, (unsigned long long) want_k);
	if (want_k == total)
	{
		int			all = 1;

		for (uint64_t i = 0; i < total; i++)
			all &= count[i] == S;
		CHECK(all, "reservoir merge %s cap %llu: everything kept", label,
			  (unsigned long long) cap);
	}
	else
	{
		double		maxz,
					chi = inclusion_chi2(count, total, S, (double) want_k / total, &maxz);
		double		sdchi = sqrt(2.0 * (total - 1));
		long		first_part = 0,
					rest = 0;

		for (uint64_t i = 0; i < total; i++)
		{
			if (i < sizes[0])
				first_part += count[i];
			else
				rest += count[i];
		}
		CHECK(chi > total - 1 - 5 * sdchi && chi < total - 1 + 5 * sdchi && maxz < 5.0,
			  "reservoir merge %s cap %llu x%ld: inclusion ~ %.4f, chi-square %.1f (~%llu), max %.2f sd",
			  label, (unsigned long long) cap, S, (double) want_k / total, chi,
			  (unsigned long long) (total - 1), maxz);
		CHECK(fabs((double) first_part / ((double) S * want_k) - (double) sizes[0] / total) < 0.005,
			  "reservoir merge %s cap %llu: share of the first stream %.4f ~ %.4f",
			  label, (unsigned long long) cap, (double) first_part / ((double) S * want_k),
			  (double) sizes[0] / total);
	}
	if (parts == 2)
	{
		/* take_a ~ hypergeometric(k draws, seen_a of seen_a + seen_b) */
		double		N = (double) total,
					K = (double) sizes[0],
					kk = (double) want_k;
		double		mean = kk * K / N;
		double		var = N > 1 ? kk * (K / N) * (1 - K / N) * (N - kk) / (N - 1) : 0.0;
		double		got_mean = ta_sum / S;
		double		got_var = ta_sq / S - got_mean * got_mean;

		CHECK(fabs(got_mean - mean) <= 5 * sqrt(var / S) + 1e-12,
			  "reservoir merge %s cap %llu: mean take_a %.3f ~ %.3f",
			  label, (unsigned long long) cap, got_mean, mean);
		CHECK(fabs(got_var - var) <= 0.05 * var + 1e-12,
			  "reservoir merge %s cap %llu: var take_a %.3f ~ %.3f (hypergeometric)",
			  label, (unsigned long long) cap, got_var, var);
	}
	free(count);
}

static void
test_reservoir_merge(void)
{
	static const uint64_t s300_700[] = {300, 700};
	static const uint64_t s50_700[] = {50, 700};
	static const uint64_t s30_40[] = {30, 40};
	static const uint64_t s60_70[] = {60, 70};
	static const uint64_t s200_300_500[] = {200, 300, 500};
	static const uint64_t s700_100[] = {700, 100};

	merge_uniform_case(s300_700, 2, 100, 20000);
	merge_uniform_case(s50_700, 2, 100, 20000);
	merge_uniform_case(s60_70, 2, 100, 20000);
	merge_uniform_case(s700_100, 2, 100, 20000);
	merge_uniform_case(s200_300_500, 3, 100, 20000);
	merge_uniform_case(s30_40, 2, 100, 200);

	/* both smaller than cap: k = k_a + k_b and take_a = k_a, exactly */
	{
		ae_rng		rng;
		int			ok = 1;

		ae_rng_seed(&rng, 3);
		for (uint64_t a = 0; a <= 60; a += 12)
			for (uint64_t b = 0; b <= 60; b += 15)
			{
				uint64_t	ta = 999;
				uint64_t	k = ae_reservoir_merge_counts(&rng, a, a, b, b, 150, &ta);

				ok &= k == a + b && ta == a;
			}
		CHECK(ok, "reservoir merge counts: streams below cap keep everything (k = k_a + k_b, take_a = k_a)");
		ok = 1;
		for (int t = 0; t < 1000; t++)
		{
			uint64_t	ta = 999;
			uint64_t	k = ae_reservoir_merge_counts(&rng, 100, 100, 0, 0, 100, &ta);
			uint64_t	k2 = ae_reservoir_merge_counts(&rng, 0, 0, 5000, 100, 100, &ta);

			ok &= k == 100 && k2 == 100 && ta == 0;
		}
		CHECK(ok, "reservoir merge counts: merging with an empty side keeps the other whole");
	}

	/* ae_rng_choose: a uniform t-subset, the rest a permutation of the others */
	{
		ae_rng		rng;
		long		cnt[20] = {0};
		long		T = 100000;
		int			perm_ok = 1;
		double		chi = 0.0;

		ae_rng_seed(&rng, 11);
		for (long t = 0; t < T; t++)
		{
			uint64_t	idx[20];
			unsigned	mask = 0;

			for (int i = 0; i < 20; i++)
				idx[i] = (uint64_t) i;
			ae_rng_choose(&rng, idx, 20, 6);
			for (int i = 0; i < 20; i++)
				mask |= 1u << idx[i];
			perm_ok &= mask == 0xFFFFFu;
			for (int i = 0; i < 6; i++)
				cnt[idx[i]]++;
		}
		for (int i = 0; i < 20; i++)
		{
			double		e = T * 6.0 / 20.0;

			chi += (cnt[i] - e) * (cnt[i] - e) / (e * (1 - 6.0 / 20.0));
		}
		CHECK(perm_ok, "rng_choose: idx stays a permutation");
		CHECK(chi < 19 + 5 * sqrt(38.0), "rng_choose n=20 t=6: inclusion chi-square %.1f (~19)", chi);
	}
}

/* ====================================================================== */
/* 6. PCA                                                                  */
/* ====================================================================== */

/* All eigenvalues of the symmetric (d, d) A by cyclic Jacobi; descending. */
static void
jacobi_eigenvalues(const double *A, int d, double *ev)
{
	double	   *a = tu_xmalloc(sizeof(double) * d * d);

	memcpy(a, A, sizeof(double) * d * d);
	for (int sweep = 0; sweep < 100; sweep++)
	{
		double		off = 0.0,
					diag = 0.0;

		for (int p = 0; p < d; p++)
		{
			diag += a[p * d + p] * a[p * d + p];
			for (int q = p + 1; q < d; q++)
				off += a[p * d + q] * a[p * d + q];
		}
		if (off <= 1e-32 * diag)
			break;
		for (int p = 0; p < d; p++)
			for (int q = p + 1; q < d; q++)
			{
				double		apq = a[p * d + q],
							theta,
							t,
							c,
							s;

				if (fabs(apq) < 1e-300)
					continue;
				theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
				t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
				c = 1.0 / sqrt(t * t + 1.0);
				s = t * c;
				for (int r = 0; r < d; r++)
				{
					double		arp = a[r * d + p],
								arq = a[r * d + q];

					a[r * d + p] = c * arp - s * arq;
					a[r * d + q] = s * arp + c * arq;
				}
				for (int r = 0; r < d; r++)
				{
					double		apr = a[p * d + r],
								aqr = a[q * d + r];

					a[p * d + r] = c * apr - s * aqr;
					a[q * d + r] = s * apr + c * aqr;
				}
			}
	}
	for (int i = 0; i < d; i++)
		ev[i] = a[i * d + i];
	/* insertion sort, descending */
	for (int i = 1; i < d; i++)
		for (int j = i; j > 0 && ev[j] > ev[j - 1]; j--)
		{
			double		t = ev[j];

			ev[j] = ev[j - 1];
			ev[j - 1] = t;
		}
	free(a);
}

/*
 * Correlated data: r latent factors with decreasing spread, mixed into d
 * features, plus isotropic noise; per-feature scale and offset.
 */
static tu_rows
pca_data(size_t n, int d, double offset, uint64_t seed, uint64_t sample_seed)
{
	static const double fsd[] = {4.0, 2.5, 1.6, 0.7, 0.4};
	const int	r = 5;
	tu_rows		t = tu_rows_new(n, d);
	ae_rng		g;
	double	   *L = tu_xmalloc(sizeof(double) * d * r),
			   *off = tu_xmalloc(sizeof(double) * d),
			   *sc = tu_xmalloc(sizeof(double) * d);

	ae_rng_seed(&g, seed);
	for (int i = 0; i < d; i++)
	{
		for (int j = 0; j < r; j++)
			L[i * r + j] = ae_rng_normal(&g) / sqrt((double) r);
		off[i] = tu_unif(&g, -5.0, 5.0);
		sc[i] = tu_unif(&g, 0.3, 3.0);
	}
	ae_rng_seed(&g, sample_seed);
	for (size_t k = 0; k < n; k++)
	{
		double		z[5];

		for (int j = 0; j < r; j++)
			z[j] = fsd[j] * ae_rng_normal(&g);
		for (int i = 0; i < d; i++)
		{
			double		v = 0.35 * ae_rng_normal(&g);

			for (int j = 0; j < r; j++)
				v += L[i * r + j] * z[j];
			t.rows[k][i] = (float) (offset + off[i] + sc[i] * v);
		}
	}
	free(L);
	free(off);
	free(sc);
	return t;
}

/* Covariance (d, d) of the rows scaled by m's shift and scale, two-pass. */
static double *
scaled_covariance(const ae_model *m, const tu_rows *t)
{
	int			d = t->d;
	double	   *mu = tu_xcalloc(d, sizeof(double)),
			   *C = tu_xcalloc((size_t) d * d, sizeof(double)),
			   *y = tu_xmalloc(sizeof(double) * d);

	for (size_t r = 0; r < t->n; r++)
		for (int i = 0; i < d; i++)
			mu[i] += ((double) t->rows[r][i] - m->shift[i]) / m->scale[i];
	for (int i = 0; i < d; i++)
		mu[i] /= (double) t->n;
	for (size_t r = 0; r < t->n; r++)
	{
		for (int i = 0; i < d; i++)
			y[i] = ((double) t->rows[r][i] - m->shift[i]) / m->scale[i] - mu[i];
		for (int i = 0; i < d; i++)
			for (int j = 0; j < d; j++)
				C[(size_t) i * d + j] += y[i] * y[j];
	}
	for (size_t i = 0; i < (size_t) d * d; i++)
		C[i] /= (double) t->n;
	free(mu);
	free(y);
	return C;
}

/*
 * Mean reconstruction error per element in scaled units: directly from
 * ae_reconstruction_error when the scaling is the identity, else from
 * ae_reconstruct with each feature's error divided by its scale.
 */
static double
mean_recon_error(const ae_model *m, const tu_rows *t)
{
	int			d = t->d,
				rows = (int) t->n;
	float	   *work = tu_xmalloc(sizeof(float) * ae_infer_floats(m, rows));
	double		total = 0.0;
	int			identity = 1;

	for (int i = 0; i < d; i++)
		identity &= m->shift[i] == 0.0f && m->scale[i] == 1.0f;
	if (identity)
	{
		double	   *err = tu_xmalloc(sizeof(double) * rows);

		ae_reconstruction_error(m, t->data, rows, err, work);
		for (int r = 0; r < rows; r++)
			total += err[r];
		free(err);
	}
	else
	{
		float	   *out = tu_xmalloc(sizeof(float) * (size_t) rows * d);

		ae_reconstruct(m, t->data, rows, out, 0, work);
		for (size_t k = 0; k < (size_t) rows * d; k++)
		{
			double		e = ((double) out[k] - t->data[k]) / m->scale[k % d];

			total += e * e / d;
		}
		free(out);
	}
	free(work);
	return total / rows;
}

static void
pca_case(int d, int k, ae_normalize norm, double offset, uint64_t seed, int compare_ae)
{
	const size_t n = 2000;
	tu_rows		t = pca_data(n, d, offset, seed, seed + 1);
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_arch		arch = tu_arch(d, k, 0, NULL, AE_ACT_LINEAR, AE_ACT_LINEAR, norm);
	ae_model	m;
	mom_buf		mb = mom_new(d, 1);
	double	   *explained = tu_xmalloc(sizeof(double) * (k + 1));
	double	   *ev = tu_xmalloc(sizeof(double) * d);
	double		residual = -1.0,
				trace = 0.0,
				discarded = 0.0,
				sum_expl = 0.0;
	double	   *C;
	ae_status	st;
	char		lab[64];
	const float *V;

	snprintf(lab, sizeof(lab), "pca d=%d k=%d %s%s", d, k, ae_normalize_name(norm),
			 offset != 0.0 ? " offset" : "");
	explained[k] = -12345.0;	/* sentinel: only k values are written */
	mom_feed(&mb.m, t.data, 0, n, 128);
	if (ae_model_create(&m, &arch, 0, &al) != AE_OK)
	{
		CHECK(0, "%s: model create", lab);
		goto done;
	}
	/* nonzero garbage in the weights: the solver must set all of them */
	for (size_t i = 0; i < m.n_params; i++)
		m.params[i] = 7.0f;
	st = ae_pca_solve(&m, &mb.m, explained, &residual, &al);
	CHECK(st == AE_OK, "%s: ae_pca_solve returns AE_OK (%d)", lab, (int) st);
	if (st != AE_OK)
	{
		ae_model_destroy(&m);
		goto done;
	}
	CHECK(explained[k] == -12345.0, "%s: explained gets exactly k values", lab);

	/* the scaling is the one from the moments */
	{
		ae_model	ref;
		int			same = 1;

		ae_model_create(&ref, &arch, 0, &al);
		ae_scaling_from_moments(&ref, &mb.m);
		same = memcmp(ref.shift, m.shift, sizeof(float) * 4 * d) == 0;
		CHECK(same, "%s: scaling equals ae_scaling_from_moments", lab);
		ae_model_destroy(&ref);
	}

	C = scaled_covariance(&m, &t);
	for (int i = 0; i < d; i++)
		trace += C[i * d + i];
	jacobi_eigenvalues(C, d, ev);
	for (int i = k; i < d; i++)
		discarded += ev[i];
	V = m.W[0];

	/* orthonormal encoder rows; decoder is the transpose */
	{
		double		worst = 0.0;
		int			transpose = 1;

		for (int a = 0; a < k; a++)
			for (int b = 0; b < k; b++)
			{
				double		dot = 0.0;

				for (int i = 0; i < d; i++)
					dot += (double) V[a * d + i] * V[b * d + i];
				worst = fmax(worst, fabs(dot - (a == b ? 1.0 : 0.0)));
			}
		for (int a = 0; a < k; a++)
			for (int i = 0; i < d; i++)
				transpose &= m.W[1][i * k + a] == V[a * d + i];
		CHECK(worst <= 1e-5, "%s: encoder rows orthonormal (max |V^T V - I| %.2e)", lab, worst);
		CHECK(transpose, "%s: decoder weights are the encoder's transpose", lab);
	}

	/* eigenvectors of the naive covariance, eigenvalues descending */
	{
		double		worst_res = 0.0,
					worst_lam = 0.0,
					worst_ratio = 0.0;
		int			desc = 1,
					sign_ok = 1;

		for (int c = 0; c < k; c++)
		{
			const float *v = V + (size_t) c * d;
			double		lam = 0.0,
						res = 0.0;
			int			arg = 0;

			for (int i = 0; i < d; i++)
			{
				double		cv = 0.0;

				for (int j = 0; j < d; j++)
					cv += C[i * d + j] * v[j];
				lam += v[i] * cv;
			}
			for (int i = 0; i < d; i++)
			{
				double		cv = 0.0;

				for (int j = 0; j < d; j++)
					cv += C[i * d + j] * v[j];
				res += (cv - lam * v[i]) * (cv - lam * v[i]);
			}
			worst_res = fmax(worst_res, sqrt(res) / ev[0]);
			/* Rayleigh quotient and explained * trace are the c-th eigenvalue */
			worst_lam = fmax(worst_lam, tu_reldiff(lam, ev[c], 1e-300));
			worst_ratio = fmax(worst_ratio, tu_reldiff(explained[c], ev[c] / trace, 1e-300));
			if (c > 0 && !(explained[c] <= explained[c - 1]))
				desc = 0;
			for (int i = 1; i < d; i++)
				if (fabs(v[i]) > fabs(v[arg]))
					arg = i;
			sign_ok &= v[arg] > 0.0f;
			sum_expl += explained[c];
		}
		CHECK(worst_res <= 1e-5, "%s: each row is an eigenvector (|Cv - lv| / l1 <= %.2e)",
			  lab, worst_res);
		CHECK(worst_lam <= 1e-6, "%s: Rayleigh quotients are the top-k Jacobi eigenvalues (rel %.2e)",
			  lab, worst_lam);
		CHECK(worst_ratio <= 1e-8, "%s: explained = lambda / trace (rel %.2e)", lab, worst_ratio);
		CHECK(desc, "%s: eigenvalues descending (%.4f %.4f %.4f ...)", lab, explained[0],
			  k > 1 ? explained[1] : 0.0, k > 2 ? explained[2] : 0.0);
		CHECK(sum_expl <= 1.0 + 1e-12 && tu_close(sum_expl, (trace - discarded) / trace, 1e-8, 1e-12),
			  "%s: explained sums to %.6f <= 1 (= kept / trace %.6f)", lab, sum_expl,
			  (trace - discarded) / trace);
		CHECK(sign_ok, "%s: largest |component| of each row is positive", lab);
	}

	/* the residual: discarded variance / d and the model's own error */
	{
		double		rec = mean_recon_error(&m, &t);

		CHECK(tu_close(residual, discarded / d, 1e-8, 1e-14),
			  "%s: residual %.8f = discarded eigenvalues / d %.8f", lab, residual, discarded / d);
		CHECK(tu_close(rec, residual, 1e-4, 1e-9),
			  "%s: training reconstruction error %.8f = residual %.8f (1e-4 rel)",
			  lab, rec, residual);
		CHECK(tu_close(rec, discarded / d, 1e-4, 1e-9),
			  "%s: training reconstruction error = discarded / d (%.8f vs %.8f)",
			  lab, rec, discarded / d);
	}

	/* the code is centred on the training rows: mean code ~ 0 */
	{
		float	   *work = tu_xmalloc(sizeof(float) * ae_infer_floats(&m, (int) n));
		float	   *code = tu_xmalloc(sizeof(float) * n * k);
		double		worst = 0.0;

		ae_encode(&m, t.data, (int) n, code, work);
		for (int c = 0; c < k; c++)
		{
			double		s = 0.0;

			for (size_t r = 0; r < n; r++)
				s += code[r * k + c];
			worst = fmax(worst, fabs(s / n) / sqrt(ev[0]));
		}
		/* float encoding of rows ~offset cancels about offset * 2^-24 */
		CHECK(worst <= 1e-5 * (1.0 + fabs(offset) / 100.0),
			  "%s: codes have mean 0 on the training rows (%.2e)", lab, worst);
		free(work);
		free(code);
	}

	/* held-out: PCA at least as good as a trained linear autoencoder */
	if (compare_ae)
	{
		tu_rows		test = pca_data(1000, d, offset, seed, seed + 99);
		tu_rows		copy = tu_rows_copy(&t);
		ae_model	ae;
		ae_train_config cfg = tu_config();
		ae_train_result res;
		double		e_pca,
					e_ae;

		cfg.epochs = 150;
		cfg.batch_size = 32;
		cfg.learning_rate = 3e-3;
		cfg.validation_fraction = 0.0;
		cfg.patience = 0;
		cfg.seed = seed;
		memset(&res, 0, sizeof(res));
		st = ae_model_create(&ae, &arch, 0, &al);
		if (st == AE_OK)
			st = ae_train(&ae, copy.rows, copy.n, &cfg, NULL, &al, &res);
		CHECK(st == AE_OK, "%s: linear autoencoder trains (%d)", lab, (int) st);
		if (st == AE_OK)
		{
			/* both in PCA's scaled units (the scalings agree to float rounding) */
			e_pca = mean_recon_error(&m, &test);
			e_ae = mean_recon_error(&ae, &test);
			if (norm != AE_NORM_NONE)
			{
				/* ae's own scaled units differ from PCA's by float rounding only */
				double		e = 0.0;

				for (int i = 0; i < d; i++)
					e = fmax(e, tu_reldiff(ae.scale[i], m.scale[i], 1e-6));
				CHECK(e <= 1e-5, "%s: ae_train's scaling = PCA's (rel %.2e)", lab, e);
			}
			CHECK(e_pca <= e_ae * 1.005,
				  "%s: held-out error PCA %.6f <= linear AE %.6f (train loss %.6f)",
				  lab, e_pca, e_ae, res.final_train_loss);
			CHECK(e_ae <= e_pca * 1.05,
				  "%s: linear AE within 5%% of PCA on held-out rows (%.6f vs %.6f, +%.2f%%)",
				  lab, e_ae, e_pca, 100.0 * (e_ae / e_pca - 1.0));
		}
		if (res.curve)
			al.release(al.ctx, res.curve);
		if (st == AE_OK || ae.block)
			ae_model_destroy(&ae);
		tu_rows_free(&copy);
		tu_rows_free(&test);
	}

	free(C);
	ae_model_destroy(&m);
done:
	CHECK(ctx.live == 0, "%s: no blocks leaked (%ld live)", lab, ctx.live);
	free(explained);
	free(ev);
	mom_free(&mb);
	tu_rows_free(&t);
}

/* latent = d: nothing discarded, the reconstruction is the input. */
static void
pca_full_rank(void)
{
	const int	d = 6;
	tu_rows		t = pca_data(500, d, 0.0, 91, 92);
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_arch		arch = tu_arch(d, d, 0, NULL, AE_ACT_LINEAR, AE_ACT_LINEAR, AE_NORM_STANDARD);
	ae_model	m;
	mom_buf		mb = mom_new(d, 1);
	double		explained[6],
				residual = -1.0,
				sum = 0.0;

	mom_feed(&mb.m, t.data, 0, t.n, 100);
	ae_model_create(&m, &arch, 0, &al);
	CHECK(ae_pca_solve(&m, &mb.m, explained, &residual, &al) == AE_OK,
		  "pca latent = d: AE_OK");
	for (int i = 0; i < d; i++)
		sum += explained[i];
	CHECK(tu_close(sum, 1.0, 1e-10, 0.0) && fabs(residual) <= 1e-12,
		  "pca latent = d: explained sums to 1 (%.12f), residual %.2e ~ 0", sum, residual);
	CHECK(mean_recon_error(&m, &t) <= 1e-9,
		  "pca latent = d: reconstruction error %.2e ~ 0", mean_recon_error(&m, &t));
	/* NULL explained and residual are allowed */
	CHECK(ae_pca_solve(&m, &mb.m, NULL, NULL, &al) == AE_OK,
		  "pca: NULL explained and residual accepted");
	ae_model_destroy(&m);
	CHECK(ctx.live == 0, "pca latent = d: no blocks leaked (%ld live)", ctx.live);
	mom_free(&mb);
	tu_rows_free(&t);
}

static void
pca_rejects(void)
{
	static const int hidden[] = {8};
	const int	d = 10;
	tu_rows		t = pca_data(300, d, 0.0, 5, 6);
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	mom_buf		mb = mom_new(d, 1),
				diag = mom_new(d, 0),
				other = mom_new(d + 1, 1);
	double		explained[3],
				residual;
	struct
	{
		const char *what;
		ae_arch		arch;
	}			bad[] = {
		{"hidden layer", tu_arch(d, 3, 1, hidden, AE_ACT_LINEAR, AE_ACT_LINEAR, AE_NORM_NONE)},
		{"tanh activation", tu_arch(d, 3, 0, NULL, AE_ACT_TANH, AE_ACT_LINEAR, AE_NORM_NONE)},
		{"relu activation", tu_arch(d, 3, 0, NULL, AE_ACT_RELU, AE_ACT_LINEAR, AE_NORM_STANDARD)},
		{"sigmoid output", tu_arch(d, 3, 0, NULL, AE_ACT_LINEAR, AE_ACT_SIGMOID, AE_NORM_MINMAX)},
	};

	mom_feed(&mb.m, t.data, 0, t.n, 64);
	mom_feed(&diag.m, t.data, 0, t.n, 64);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		ae_model	m;
		ae_status	st;

		if (ae_model_create(&m, &bad[i].arch, 0, &al) != AE_OK)
		{
			CHECK(0, "pca rejects %s: model create", bad[i].what);
			continue;
		}
		st = ae_pca_solve(&m, &mb.m, explained, &residual, &al);
		CHECK(st == AE_EINVAL, "pca rejects %s with AE_EINVAL (%d)", bad[i].what, (int) st);
		ae_model_destroy(&m);
	}
	{
		ae_arch		arch = tu_arch(d, 3, 0, NULL, AE_ACT_LINEAR, AE_ACT_LINEAR, AE_NORM_NONE);
		ae_model	m;
		tu_alloc_ctx fctx;
		ae_allocator fail = tu_allocator(&fctx, 0);

		ae_model_create(&m, &arch, 0, &al);
		CHECK(ae_pca_solve(&m, &diag.m, explained, &residual, &al) == AE_EINVAL,
			  "pca rejects diagonal-only moments with AE_EINVAL");
		CHECK(ae_pca_solve(&m, &other.m, explained, &residual, &al) == AE_EINVAL,
			  "pca rejects moments of another dimension with AE_EINVAL");
		CHECK(ae_pca_solve(&m, &mb.m, explained, &residual, &fail) == AE_ENOMEM &&
			  fctx.live == 0,
			  "pca: allocation failure gives AE_ENOMEM and leaks nothing");
		ae_model_destroy(&m);
	}
	CHECK(ctx.live == 0, "pca rejects: no blocks leaked (%ld live)", ctx.live);
	mom_free(&mb);
	mom_free(&diag);
	mom_free(&other);
	tu_rows_free(&t);
}

static void
test_pca(void)
{
	pca_case(10, 3, AE_NORM_NONE, 0.0, 101, 1);
	pca_case(10, 3, AE_NORM_STANDARD, 0.0, 102, 1);
	pca_case(16, 3, AE_NORM_NONE, 0.0, 103, 1);
	pca_case(20, 3, AE_NORM_STANDARD, 0.0, 104, 1);
	pca_case(20, 3, AE_NORM_NONE, 0.0, 105, 1);
	pca_case(12, 1, AE_NORM_MINMAX, 0.0, 106, 0);
	pca_case(15, 5, AE_NORM_STANDARD, 0.0, 107, 0);
	/* a common offset of 1000: exact moments keep the covariance accurate */
	pca_case(10, 3, AE_NORM_NONE, 1000.0, 108, 0);
	pca_case(10, 3, AE_NORM_STANDARD, 1000.0, 109, 0);
	pca_full_rank();
	pca_rejects();
}

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
	/* 4 */
	test_reservoir_slot();
	/* 5 */
	test_reservoir_merge();
	/* 6 */
	test_pca();

	return tu_finish();
}
