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
 * code-space ones, averaged over the queries.  Cosine similarity normalises
 * every row first; L2 ranks by ||b||^2 - 2 q.b.  The similarity of every
 * query with every base row is one sgemm (QUERY_BLOCK queries at a time),
 * then a selection of the k best per query.
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

/* Rows (n, d) scaled to unit length in place (zero rows stay zero). */
static void
normalize_rows(float *v, size_t n, int d)
{
	for (size_t r = 0; r < n; r++)
	{
		float	   *row = v + r * d;
		double		s = 0.0;

		for (int i = 0; i < d; i++)
			s += (double) row[i] * row[i];
		if (s > 0.0)
		{
			float		inv = (float) (1.0 / sqrt(s));

			for (int i = 0; i < d; i++)
				row[i] *= inv;
		}
	}
}

/*
 * The k best base rows for each of nq queries: top (nq, k) indexes.  vec
 * (n, d) holds the base rows; the queries are rows query[0..nq).  cosine:
 * rows already unit length, larger dot is better; else smaller
 * ||b||^2 - 2 q.b.  sim holds QUERY_BLOCK * n floats, norm n floats.
 */
static void
nearest(const float *vec, size_t n, int d, const size_t *query, size_t nq,
		int k, int cosine, float *sim, float *qbuf, float *norm, size_t *top)
{
	for (size_t b = 0; b < n; b++)
	{
		double		s = 0.0;

		for (int i = 0; i < d; i++)
			s += (double) vec[b * d + i] * vec[b * d + i];
		norm[b] = (float) s;
	}
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
			float	   *row = sim + (size_t) q * n;
			size_t	   *best = top + (q0 + q) * k;
			float		score[AE_EVAL_MAX_K];
			int			have = 0;

			for (size_t b = 0; b < n; b++)
			{
				float		s;
				int			pos;

				if (b == query[q0 + q])
					continue;	/* a row is not its own neighbour */
				s = cosine ? row[b] : 2.0f * row[b] - norm[b];	/* larger is nearer */
				if (have == k && !(s > score[k - 1]))
					continue;
				/* insert into the sorted list of the k best */
				pos = have < k ? have++ : k - 1;
				while (pos > 0 && s > score[pos - 1])
				{
					score[pos] = score[pos - 1];
					best[pos] = best[pos - 1];
					pos--;
				}
				score[pos] = s;
				best[pos] = b;
			}
			for (; have < k; have++)
				best[have] = (size_t) -1;
		}
	}
}

/* Share of the sets a and b (nq sets of k) that agree, averaged. */
static double
overlap(const size_t *a, const size_t *b, size_t nq, int k)
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
 * Recall@k of codes (n, c) against inputs (n, d) for the queries query[0..nq)
 * (indexes into the n base rows), by cosine and by L2.  inputs and codes are
 * left as they were.
 */
ae_status
ae_eval_recall(const float *inputs, int d, const float *codes, int c,
			   size_t n, const size_t *query, size_t nq, int k,
			   const ae_allocator *alloc, double *recall_cosine,
			   double *recall_l2)
{
	int			w = d > c ? d : c;
	size_t		floats = n * (size_t) w + (size_t) QUERY_BLOCK * n +
		(size_t) QUERY_BLOCK * w + n;
	float	   *vec,
			   *sim,
			   *qbuf,
			   *norm;
	size_t	   *top;

	if (k < 1 || k > AE_EVAL_MAX_K || (size_t) k >= n)
		return AE_EINVAL;
	vec = alloc->alloc(alloc->ctx, sizeof(float) * floats);
	top = alloc->alloc(alloc->ctx, sizeof(size_t) * 2 * nq * (size_t) k);
	if (vec == NULL || top == NULL)
	{
		if (vec)
			alloc->release(alloc->ctx, vec);
		if (top)
			alloc->release(alloc->ctx, top);
		return AE_ENOMEM;
	}
	sim = vec + n * (size_t) w;
	qbuf = sim + (size_t) QUERY_BLOCK * n;
	norm = qbuf + (size_t) QUERY_BLOCK * w;
	for (int metric = 0; metric < 2; metric++)
	{
		int			cosine = metric == 0;

		memcpy(vec, inputs, sizeof(float) * n * d);
		if (cosine)
			normalize_rows(vec, n, d);
		nearest(vec, n, d, query, nq, k, cosine, sim, qbuf, norm, top);
		memcpy(vec, codes, sizeof(float) * n * c);
		if (cosine)
			normalize_rows(vec, n, c);
		nearest(vec, n, c, query, nq, k, cosine, sim, qbuf, norm, top + nq * k);
		*(cosine ? recall_cosine : recall_l2) = overlap(top, top + nq * k, nq, k);
	}
	alloc->release(alloc->ctx, vec);
	alloc->release(alloc->ctx, top);
	return AE_OK;
}
