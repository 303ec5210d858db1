/*-------------------------------------------------------------------------
 *
 * test_sample.c
 *	  Unit tests of reservoir sampling in the autoencoder core (src/ae_stats.c).
 *
 * Sections:
 *	 1. ae_reservoir_slot (Algorithm R): uniform inclusion over many seeds
 *	 2. ae_reservoir_merge_counts + ae_rng_choose: uniform sample of a union
 *
 * Prints one line per check and "N passed, M failed" at the end; exits
 * non-zero if anything failed.
 *
 *-------------------------------------------------------------------------
 */
#include "test_util.h"

#include <stdint.h>

/* ====================================================================== */
/* 1. Algorithm R                                                          */
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

/*
 * ae_reservoir_slot (Algorithm R): uniform and pairwise inclusion over
 * many seeds, seen <= cap, cap 0, uniform slot choice.
 */
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
/* 2. Reservoir merge                                                      */
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
		long		first_part = 0;

		for (uint64_t i = 0; i < sizes[0] && i < total; i++)
			first_part += count[i];
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

/*
 * Reservoir merge of two and three streams, ae_reservoir_merge_counts edge
 * cases, and ae_rng_choose.
 */
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

/* Run this program's checks; exit status 1 if any failed. */
int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* 1 */
	test_reservoir_slot();
	/* 2 */
	test_reservoir_merge();

	return tu_finish();
}
