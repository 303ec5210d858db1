/*-------------------------------------------------------------------------
 *
 * ae_stats.c
 *	  Exact running moments of rows, mergeable across partial states, and
 *	  the uniform reservoir sample that the fit aggregate keeps.
 *
 * Moments: the row count, the mean, and the co-moment matrix
 * M2 = sum (x - mean)(x - mean)^T (only its diagonal when full == 0), and
 * each feature's minimum and maximum, all in double.  Rows are folded in
 * blocks: the block's own mean and centred co-moment (one cblas_dsyrk on the
 * centred block, upper triangle), then the pairwise update of Chan, Golub
 * and LeVeque:
 *   M2 = M2_a + M2_b + delta delta^T * n_a n_b / n,  delta = mean_b - mean_a
 * which is also how two partial states merge.  Centring each block keeps
 * the sums accurate where raw sums of squares would cancel.
 *
 * Reservoir: Algorithm R keeps a uniform sample of at most cap rows from a
 * stream.  Two reservoirs merge into a uniform sample of their union by
 * drawing, slot after slot, from A with probability (rows of A not yet
 * drawn) / (rows of both not yet drawn): the count from A is then
 * hypergeometric, as it is for a uniform sample of the union, and each
 * side's rows are a uniform subset of its own sample.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_core.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#define MOMENT_BLOCK	256		/* rows folded at once by ae_moments_of_rows */

/* Doubles of storage for moments of dimension d. */
size_t
ae_moments_doubles(int d, int full)
{
	return (size_t) d * 3 + (full ? (size_t) d * d : (size_t) d);
}

/* Lay out empty moments over storage (ae_moments_doubles(d, full)). */
void
ae_moments_init(ae_moments *m, int d, int full, double *storage)
{
	m->d = d;
	m->full = full;
	m->n = 0;
	m->mean = storage;
	m->lo = m->mean + d;
	m->hi = m->lo + d;
	m->m2 = m->hi + d;
	memset(storage, 0, sizeof(double) * ae_moments_doubles(d, full));
}

/* Re-point moments at storage that already holds them (after a copy). */
void
ae_moments_attach(ae_moments *m, int d, int full, uint64_t n, double *storage)
{
	m->d = d;
	m->full = full;
	m->n = n;
	m->mean = storage;
	m->lo = m->mean + d;
	m->hi = m->lo + d;
	m->m2 = m->hi + d;
}

/*
 * Chan's update of a by a part of n_b rows with mean mb, range [lob, hib]
 * and diagonal co-moment m2b; for full moments the part's co-moment matrix
 * has already been added to a->m2 and only the mean-shift term is added.
 */
static void
merge_means(ae_moments *a, uint64_t n_b, const double *mb, const double *m2b,
			const double *lob, const double *hib, double *delta)
{
	int			d = a->d;
	double		na = (double) a->n,
				nb = (double) n_b,
				n = na + nb;

	if (n_b == 0)
		return;
	for (int i = 0; i < d; i++)
		delta[i] = mb[i] - a->mean[i];
	if (a->n == 0)
	{
		memcpy(a->lo, lob, sizeof(double) * d);
		memcpy(a->hi, hib, sizeof(double) * d);
	}
	else
		for (int i = 0; i < d; i++)
		{
			if (lob[i] < a->lo[i])
				a->lo[i] = lob[i];
			if (hib[i] > a->hi[i])
				a->hi[i] = hib[i];
		}
	if (a->full)
	{
		/* m2b is already added (dsyrk with beta 1); add the mean shift */
		if (a->n > 0)
			cblas_dsyr(CblasRowMajor, CblasUpper, d, na * nb / n, delta, 1,
					   a->m2, d);
	}
	else
		for (int i = 0; i < d; i++)
			a->m2[i] += m2b[i] + delta[i] * delta[i] * na * nb / n;
	for (int i = 0; i < d; i++)
		a->mean[i] += delta[i] * nb / n;
	a->n += n_b;
}

/*
 * Fold B contiguous rows (B, d) into m.  work holds B * d + 5 * d doubles.
 */
void
ae_moments_add(ae_moments *m, const float *rows, int B, double *work)
{
	int			d = m->d;
	double	   *y = work;
	double	   *mb = y + (size_t) B * d;
	double	   *lob = mb + d;
	double	   *hib = lob + d;
	double	   *delta = hib + d;

	if (B <= 0)
		return;
	memset(mb, 0, sizeof(double) * d);
	for (int i = 0; i < d; i++)
		lob[i] = hib[i] = rows[i];
	for (int r = 0; r < B; r++)
	{
		const float *x = rows + (size_t) r * d;

		for (int i = 0; i < d; i++)
		{
			mb[i] += x[i];
			if (x[i] < lob[i])
				lob[i] = x[i];
			if (x[i] > hib[i])
				hib[i] = x[i];
		}
	}
	for (int i = 0; i < d; i++)
		mb[i] /= B;
	for (int r = 0; r < B; r++)
		for (int i = 0; i < d; i++)
			y[(size_t) r * d + i] = (double) rows[(size_t) r * d + i] - mb[i];

	if (m->full)
	{
		/* M2 += Y^T Y on the upper triangle, then the mean-shift term */
		cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, B, 1.0, y, d,
					1.0, m->m2, d);
		merge_means(m, (uint64_t) B, mb, NULL, lob, hib, delta);
	}
	else
	{
		/* the diagonal only */
		double	   *m2b = delta + d;

		memset(m2b, 0, sizeof(double) * d);
		for (int r = 0; r < B; r++)
			for (int i = 0; i < d; i++)
			{
				double		v = y[(size_t) r * d + i];

				m2b[i] += v * v;
			}
		merge_means(m, (uint64_t) B, mb, m2b, lob, hib, delta);
	}
}

/* Fold every step-th of rows[0..n) into m, MOMENT_BLOCK rows at a time. */
ae_status
ae_moments_of_rows(ae_moments *m, float *const *rows, size_t n, size_t step,
				   const ae_train_callbacks *cb, const ae_allocator *alloc)
{
	int			d = m->d;
	float	   *block = alloc->alloc(alloc->ctx, sizeof(float) * MOMENT_BLOCK * (size_t) d);
	double	   *work = alloc->alloc(alloc->ctx, sizeof(double) *
									((size_t) MOMENT_BLOCK * d + 5 * (size_t) d));
	int			cnt = 0;

	if (block == NULL || work == NULL)
	{
		if (block)
			alloc->release(alloc->ctx, block);
		if (work)
			alloc->release(alloc->ctx, work);
		return AE_ENOMEM;
	}
	for (size_t r = 0; r < n; r += step)
	{
		memcpy(block + (size_t) cnt * d, rows[r], sizeof(float) * d);
		if (++cnt == MOMENT_BLOCK)
		{
			ae_moments_add(m, block, cnt, work);
			cnt = 0;
			if (cb && cb->on_batch)
				cb->on_batch(cb->ctx);
		}
	}
	ae_moments_add(m, block, cnt, work);
	alloc->release(alloc->ctx, block);
	alloc->release(alloc->ctx, work);
	return AE_OK;
}

/* Merge b into a (same d and full).  work holds d doubles. */
void
ae_moments_merge(ae_moments *a, const ae_moments *b, double *work)
{
	if (b->n == 0)
		return;
	if (a->full)
	{
		int			d = a->d;

		/* upper triangles add; the rank-one term follows in merge_means */
		for (int i = 0; i < d; i++)
			for (int j = i; j < d; j++)
				a->m2[(size_t) i * d + j] += b->m2[(size_t) i * d + j];
	}
	merge_means(a, b->n, b->mean, b->m2, b->lo, b->hi, work);
}

/*
 * Set m's scaling from exact moments: standard uses the mean and the
 * population standard deviation, minmax the minimum and range.
 */
void
ae_scaling_from_moments(ae_model *m, const ae_moments *mom)
{
	int			d = m->arch.n_input;

	for (int i = 0; i < d; i++)
	{
		double		var = (mom->full ? mom->m2[(size_t) i * d + i] : mom->m2[i]) /
			(double) (mom->n ? mom->n : 1);
		double		shift = 0.0,
					scale = 1.0;

		if (m->arch.scaling == AE_SCALING_STANDARD)
		{
			shift = mom->mean[i];
			scale = sqrt(var);
		}
		else if (m->arch.scaling == AE_SCALING_MINMAX)
		{
			shift = mom->lo[i];
			scale = mom->hi[i] - mom->lo[i];
		}
		if (!(scale > AE_MIN_SCALE) || !isfinite(scale))
			scale = 1.0;
		m->shift[i] = (float) shift;
		m->scale[i] = (float) scale;
		m->lo[i] = (float) mom->lo[i];
		m->hi[i] = (float) mom->hi[i];
	}
}

/*
 * Algorithm R: where the seen-th row of a stream (1-based) goes in a
 * reservoir of capacity cap holding min(seen - 1, cap) rows: its slot, or
 * -1 if it is not kept.
 */
int64_t
ae_reservoir_slot(ae_rng *rng, uint64_t seen, uint64_t cap)
{
	uint64_t	j;

	if (seen <= cap)
		return (int64_t) (seen - 1);
	j = ae_rng_below(rng, seen);
	return j < cap ? (int64_t) j : -1;
}

/*
 * Plan the merge of reservoir A (seen_a rows, k_a kept) and B into one of
 * capacity cap.  Returns the merged size k; *take_a of its rows come from A.
 * The caller then keeps a uniform subset of that many of A's rows and of
 * k - *take_a of B's (ae_rng_choose).
 */
uint64_t
ae_reservoir_merge_counts(ae_rng *rng, uint64_t seen_a, uint64_t k_a,
						  uint64_t seen_b, uint64_t k_b, uint64_t cap,
						  uint64_t *take_a)
{
	uint64_t	k = k_a + k_b < cap ? k_a + k_b : cap;
	uint64_t	rem_a = seen_a,
				rem_b = seen_b,
				ta = 0;

	for (uint64_t i = 0; i < k; i++)
	{
		/* draw a row of the union without replacement */
		if (ae_rng_below(rng, rem_a + rem_b) < rem_a)
		{
			ta++;
			rem_a--;
		}
		else
			rem_b--;
	}
	/* a side never gives more rows than it kept (true unless inputs lie) */
	if (ta > k_a)
		ta = k_a;
	if (k - ta > k_b)
		ta = k - k_b;
	*take_a = ta;
	return k;
}

/* Put a uniform random choice of t of idx[0..n) in idx[0..t). */
void
ae_rng_choose(ae_rng *rng, uint64_t *idx, uint64_t n, uint64_t t)
{
	for (uint64_t i = 0; i < t && i < n; i++)
	{
		uint64_t	j = i + ae_rng_below(rng, n - i);
		uint64_t	tmp = idx[i];

		idx[i] = idx[j];
		idx[j] = tmp;
	}
}
