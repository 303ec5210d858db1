/*-------------------------------------------------------------------------
 *
 * ae_eval.c
 *	  Measuring a model on rows: reconstruction errors in blocks, and how
 *	  well its codes keep each row's nearest neighbours (recall@k).
 *
 * Errors: ae_eval_block reconstructs a block of raw rows (one sgemm per
 * layer) and adds their squared and absolute errors, per element, in double;
 * a row whose error is not finite is counted apart, not added.
 *
 * Recall@k: for each query row, its k nearest neighbours among the base
 * rows (itself excluded) by a metric in the input space and in the code
 * space; recall is the share of the input-space neighbours found among the
 * code-space ones, averaged over the queries.  The products q.b of every
 * query with every base row are one sgemm (QUERY_BLOCK queries at a time);
 * cosine scales them by the rows' inverse lengths, L2 ranks by
 * 2 q.b - ||b||^2 (larger is nearer); then a selection of the k best per
 * query.  Rows whose largest element is far from 1 are first scaled by a
 * power of two (exact, and neither metric's ranking changes), so that
 * products neither overflow nor vanish in float.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_eval.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#define QUERY_BLOCK		128		/* queries per similarity sgemm */

/* Floats of work ae_eval_block needs for blocks of rows rows. */
size_t
ae_eval_floats(const ae_model *m, int rows)
{
	return ae_infer_floats(m, rows) + (size_t) rows * m->arch.n_input;
}

/* Reconstruct rows (rows, n_input) and add their errors to acc. */
void
ae_eval_block(const ae_model *m, const float *x, int rows, float *work,
			  ae_eval_acc *acc)
{
	int			d = m->arch.n_input;
	float	   *out = work + ae_infer_floats(m, rows);

	ae_reconstruct(m, x, rows, out, 0, work);
	for (int r = 0; r < rows; r++)
	{
		double		sq = 0.0,
					ab = 0.0;

		for (int i = 0; i < d; i++)
		{
			double		e = (double) out[(size_t) r * d + i] - x[(size_t) r * d + i];

			sq += e * e;
			ab += fabs(e);
		}
		if (isfinite(sq) && isfinite(ab))
		{
			acc->sq += sq / d;
			acc->abs += ab / d;
			acc->rows++;
		}
		else
			acc->nonfinite++;
	}
}

/* Squared norms of rows (n, d), summed in double, and their inverse roots. */
static void
row_norms(const float *v, size_t n, int d, float *sq, float *inv)
{
	for (size_t r = 0; r < n; r++)
	{
		double		s = 0.0;

		for (int i = 0; i < d; i++)
			s += (double) v[r * d + i] * v[r * d + i];
		sq[r] = (float) s;
		inv[r] = s > 0.0 ? (float) (1.0 / sqrt(s)) : 0.0f;
	}
}

/*
 * The power of two that brings the largest |element| of v (n, d) near 1,
 * or 0 when it is near 1 already (or every element is 0): with it, q.b and
 * ||b||^2 stay far from float's overflow and underflow for any d.
 */
static int
range_shift(const float *v, size_t n, int d)
{
	float		top = 0.0f;
	int			e;

	for (size_t i = 0; i < n * (size_t) d; i++)
		if (fabsf(v[i]) > top)
			top = fabsf(v[i]);
	if (top == 0.0f)
		return 0;
	(void) frexpf(top, &e);
	return e > 32 || e < -32 ? -e : 0;
}

/*
 * The k largest of score[0..n) but skip, into best (indexes, best first;
 * (size_t) -1 where fewer than k).  Ties keep the lower index first.
 */
static void
select_top(const float *score, size_t n, size_t skip, int k, size_t *best)
{
	float		kept[AE_EVAL_MAX_K];
	int			have = 0;

	for (size_t b = 0; b < n; b++)
	{
		float		s = score[b];
		int			pos;

		if (b == skip || (have == k && !(s > kept[k - 1])))
			continue;
		pos = have < k ? have++ : k - 1;
		while (pos > 0 && s > kept[pos - 1])
		{
			kept[pos] = kept[pos - 1];
			best[pos] = best[pos - 1];
			pos--;
		}
		kept[pos] = s;
		best[pos] = b;
	}
	for (; have < k; have++)
		best[have] = (size_t) -1;
}

/* Floats of work ae_eval_neighbours needs (scaled: a copy of the rows). */
static size_t
neighbour_floats(int d, size_t n, int scaled)
{
	return (size_t) QUERY_BLOCK * n + (size_t) QUERY_BLOCK * d + 2 * n + n +
		(scaled ? n * (size_t) d : 0);
}

/*
 * Each query's k nearest base rows by cosine (top_cos) and by L2 (top_l2),
 * both (nq, k), from one similarity sgemm per block of queries: cosine is
 * q.b / (|q| |b|), L2 ranks by 2 q.b - |b|^2.  vec (n, d) holds the base
 * rows; the queries are rows query[0..nq).  cb->on_batch (if any) runs
 * after every block of queries.
 */
ae_status
ae_eval_neighbours(const float *vec, int d, size_t n, const size_t *query,
				   size_t nq, int k, const ae_allocator *alloc,
				   const ae_train_callbacks *cb, size_t *top_cos, size_t *top_l2)
{
	float	   *sim,
			   *qbuf,
			   *sq,
			   *inv,
			   *score;
	int			shift;

	if (k < 1 || k > AE_EVAL_MAX_K || (size_t) k >= n)
		return AE_EINVAL;
	shift = range_shift(vec, n, d);
	sim = alloc->alloc(alloc->ctx, sizeof(float) * neighbour_floats(d, n, shift != 0));
	if (sim == NULL)
		return AE_ENOMEM;
	qbuf = sim + (size_t) QUERY_BLOCK * n;
	sq = qbuf + (size_t) QUERY_BLOCK * d;
	inv = sq + n;
	score = inv + n;
	if (shift != 0)
	{
		float	   *copy = score + n;

		for (size_t i = 0; i < n * (size_t) d; i++)
			copy[i] = ldexpf(vec[i], shift);
		vec = copy;
	}
	row_norms(vec, n, d, sq, inv);
	for (size_t q0 = 0; q0 < nq; q0 += QUERY_BLOCK)
	{
		int			cnt = (int) (nq - q0 < QUERY_BLOCK ? nq - q0 : QUERY_BLOCK);

		for (int q = 0; q < cnt; q++)
			memcpy(qbuf + (size_t) q * d, vec + query[q0 + q] * d, sizeof(float) * d);
		/* sim (cnt, n) = qbuf vec^T */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cnt, (int) n, d,
					1.0f, qbuf, d, vec, d, 0.0f, sim, (int) n);
		for (int q = 0; q < cnt; q++)
		{
			const float *row = sim + (size_t) q * n;
			size_t		self = query[q0 + q];

			for (size_t b = 0; b < n; b++)
				score[b] = row[b] * inv[self] * inv[b];
			select_top(score, n, self, k, top_cos + (q0 + q) * k);
			for (size_t b = 0; b < n; b++)
				score[b] = 2.0f * row[b] - sq[b];
			select_top(score, n, self, k, top_l2 + (q0 + q) * k);
		}
		if (cb && cb->on_batch)
			cb->on_batch(cb->ctx);	/* may longjmp: sim is the caller's context's */
	}
	alloc->release(alloc->ctx, sim);
	return AE_OK;
}

/* Share of the sets a and b (nq sets of k) that agree, averaged. */
double
ae_eval_overlap(const size_t *a, const size_t *b, size_t nq, int k)
{
	double		total = 0.0;

	for (size_t q = 0; q < nq; q++)
	{
		int			hits = 0;

		for (int i = 0; i < k; i++)
			for (int j = 0; j < k; j++)
				if (a[q * k + i] == b[q * k + j] && a[q * k + i] != (size_t) -1)
				{
					hits++;
					break;
				}
		total += (double) hits / k;
	}
	return nq ? total / (double) nq : NAN;
}

/*
 * Recall@k of codes (n, c) against inputs (n, d) for the queries
 * query[0..nq) (indexes into the n base rows), by cosine and by L2.  A
 * caller measuring several models on the same rows computes the inputs'
 * neighbours once with ae_eval_neighbours instead.
 */
ae_status
ae_eval_recall(const float *inputs, int d, const float *codes, int c,
			   size_t n, const size_t *query, size_t nq, int k,
			   const ae_allocator *alloc, double *recall_cosine,
			   double *recall_l2)
{
	size_t	   *top = alloc->alloc(alloc->ctx, sizeof(size_t) * 4 * (nq ? nq : 1) * (size_t) k);
	size_t		per = nq * (size_t) k;
	ae_status	st;

	if (top == NULL)
		return AE_ENOMEM;
	st = ae_eval_neighbours(inputs, d, n, query, nq, k, alloc, NULL, top, top + per);
	if (st == AE_OK)
		st = ae_eval_neighbours(codes, c, n, query, nq, k, alloc, NULL, top + 2 * per, top + 3 * per);
	if (st == AE_OK)
	{
		*recall_cosine = ae_eval_overlap(top, top + 2 * per, nq, k);
		*recall_l2 = ae_eval_overlap(top + per, top + 3 * per, nq, k);
	}
	alloc->release(alloc->ctx, top);
	return st;
}
