/*-------------------------------------------------------------------------
 *
 * test_eval.c
 *	  Unit tests of model measurement (src/core/ae_eval.c): nearest
 *	  neighbours by cosine and by L2 against a brute-force reference in
 *	  double, recall@k, and the error sums of ae_eval_block.
 *
 * Sections:
 *	 1. ae_eval_neighbours equals a double-precision brute force (rows with
 *	    well separated distances, so float rounding cannot reorder them),
 *	    the query itself excluded, a zero row included; the same rows times
 *	    2^70 or 2^-90 give the same lists (they are rescaled exactly)
 *	 2. recall: codes equal to the inputs give 1; codes of unrelated random
 *	    rows give about k / n; ae_eval_overlap counts each shared index once
 *	 3. ae_eval_block: mean squared and absolute errors against a direct
 *	    computation; a non-finite reconstruction is counted apart
 *	 4. argument errors and allocation failure
 *
 * Prints one line per check and "N passed, M failed" at the end; exits
 * non-zero if anything failed.
 *
 *-------------------------------------------------------------------------
 */
#include "test_util.h"
#include "ae_eval.h"

#define N	400
#define D	12
#define K	10

/* n rows of d floats, row i a random direction of length 1 + i / n. */
static float *
random_rows(size_t n, int d, uint64_t seed)
{
	float	   *v = tu_xmalloc(sizeof(float) * n * d);
	ae_rng		r;

	ae_rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++)
	{
		double		s = 0.0;

		for (int j = 0; j < d; j++)
		{
			v[i * d + j] = (float) ae_rng_normal(&r);
			s += (double) v[i * d + j] * v[i * d + j];
		}
		for (int j = 0; j < d; j++)
			v[i * d + j] = (float) (v[i * d + j] / sqrt(s) * (1.0 + (double) i / n));
	}
	return v;
}

/* Brute force in double: the k best rows for query q (cosine or L2). */
static void
brute(const float *v, size_t n, int d, size_t q, int k, int cosine, size_t *best)
{
	double		score[N];

	for (size_t b = 0; b < n; b++)
	{
		double		dot = 0.0,
					nb = 0.0,
					nq = 0.0;

		for (int j = 0; j < d; j++)
		{
			dot += (double) v[q * d + j] * v[b * d + j];
			nb += (double) v[b * d + j] * v[b * d + j];
			nq += (double) v[q * d + j] * v[q * d + j];
		}
		score[b] = cosine ? (nb > 0 && nq > 0 ? dot / sqrt(nb * nq) : 0.0) : 2 * dot - nb;
	}
	score[q] = -INFINITY;
	for (int i = 0; i < k; i++)
	{
		size_t		arg = 0;

		for (size_t b = 1; b < n; b++)
			if (score[b] > score[arg])
				arg = b;
		best[i] = arg;
		score[arg] = -INFINITY;
	}
}

/* A callback that counts its calls in *ctx. */
static void
count_call(void *ctx)
{
	(*(int *) ctx)++;
}

static void
test_neighbours(void)
{
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	float	   *v = random_rows(N, D, 3);
	size_t		query[50],
				top_cos[50 * K],
				top_l2[50 * K],
				want[K];
	int			wrong_cos = 0,
				wrong_l2 = 0,
				self = 0;

	for (int j = 0; j < D; j++)
		v[7 * D + j] = 0.0f;	/* a zero row: cosine 0 with everything */
	for (int q = 0; q < 50; q++)
		query[q] = (size_t) (q * 7 + 1);
	CHECK(ae_eval_neighbours(v, D, N, query, 50, K, &al, NULL, top_cos, top_l2) == AE_OK,
		  "neighbours: 50 queries of 400 rows");
	for (int q = 0; q < 50; q++)
	{
		brute(v, N, D, query[q], K, 1, want);
		for (int i = 0; i < K; i++)
		{
			wrong_cos += top_cos[q * K + i] != want[i];
			self += top_cos[q * K + i] == query[q] || top_l2[q * K + i] == query[q];
		}
		brute(v, N, D, query[q], K, 0, want);
		for (int i = 0; i < K; i++)
			wrong_l2 += top_l2[q * K + i] != want[i];
	}
	CHECK(wrong_cos == 0 && wrong_l2 == 0 && self == 0,
		  "neighbours: the brute force's lists in order (%d cosine, %d L2 differ; the query itself %d times)",
		  wrong_cos, wrong_l2, self);
	for (int e = 70; e >= -90; e -= 160)
	{
		/* far from 1: q.b overflows (or vanishes) in float unless rescaled */
		float	   *far = malloc(sizeof(float) * N * D);
		size_t		far_cos[50 * K],
					far_l2[50 * K];
		int			calls = 0;
		ae_train_callbacks cb = {count_call, NULL, &calls};

		for (int i = 0; i < N * D; i++)
			far[i] = ldexpf(v[i], e);
		ae_status	st = ae_eval_neighbours(far, D, N, query, 50, K, &al, &cb, far_cos, far_l2);

		CHECK(st == AE_OK && memcmp(far_cos, top_cos, sizeof(far_cos)) == 0 &&
			  memcmp(far_l2, top_l2, sizeof(far_l2)) == 0 && calls == 1,
			  "neighbours: rows times 2^%d give the same lists; the callback ran once per block of queries (%d)",
			  e, calls);
		free(far);
	}
	CHECK(ae_eval_neighbours(v, D, K, query, 1, K, &al, NULL, top_cos, top_l2) == AE_EINVAL &&
		  ae_eval_neighbours(v, D, N, query, 1, AE_EVAL_MAX_K + 1, &al, NULL, top_cos, top_l2) == AE_EINVAL,
		  "neighbours: k >= n or k > AE_EVAL_MAX_K is AE_EINVAL");
	{
		tu_alloc_ctx c2;
		ae_allocator a2 = tu_allocator(&c2, 0);

		CHECK(ae_eval_neighbours(v, D, N, query, 50, K, &a2, NULL, top_cos, top_l2) == AE_ENOMEM &&
			  c2.live == 0, "neighbours: allocation failure is AE_ENOMEM, nothing left");
	}
	free(v);
	CHECK(ctx.live == 0, "neighbours: nothing left allocated");
}

static void
test_recall(void)
{
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	float	   *v = random_rows(N, D, 4),
			   *other = random_rows(N, 3, 5);
	size_t		query[100];
	double		rc,
				rl;
	size_t		a[2 * 3] = {1, 2, 3, 4, 5, 6},
				b[2 * 3] = {3, 2, 9, 7, 8, 9};
	ae_status	st;

	for (int q = 0; q < 100; q++)
		query[q] = (size_t) (q * 4);
	st = ae_eval_recall(v, D, v, D, N, query, 100, K, &al, &rc, &rl);
	CHECK(st == AE_OK && rc == 1.0 && rl == 1.0,
		  "recall: codes equal to the inputs give 1 and 1 (%g, %g)", rc, rl);
	st = ae_eval_recall(v, D, other, 3, N, query, 100, K, &al, &rc, &rl);
	CHECK(st == AE_OK && rc < 0.15 && rl < 0.15,
		  "recall: unrelated codes give about k/n = 0.025 (cosine %.3f, L2 %.3f)", rc, rl);
	CHECK(fabs(ae_eval_overlap(a, b, 2, 3) - (2.0 / 3 + 0.0) / 2) < 1e-12,
		  "overlap: {1,2,3} vs {3,2,9} and {4,5,6} vs {7,8,9} average 1/3 (%g)",
		  ae_eval_overlap(a, b, 2, 3));
	free(v);
	free(other);
	CHECK(ctx.live == 0, "recall: nothing left allocated");
}

static void
test_block(void)
{
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_arch		a = tu_arch(6, 2, 0, NULL, AE_ACT_LINEAR, AE_ACT_LINEAR, AE_SCALING_STANDARD);
	ae_model	m;
	ae_rng		r;
	float	   *x = random_rows(20, 6, 9),
			   *y = tu_xmalloc(sizeof(float) * 20 * 6),
			   *work;
	float	   *iw;
	ae_eval_acc acc = {0};
	double		sq = 0.0,
				ab = 0.0;

	ae_model_create(&m, &a, 0, &al);
	ae_rng_seed(&r, 2);
	tu_fill_model(&m, &r, NULL, 0);
	work = tu_xmalloc(sizeof(float) * ae_eval_floats(&m, 20));
	iw = tu_xmalloc(sizeof(float) * ae_infer_floats(&m, 20));
	ae_reconstruct(&m, x, 20, y, 0, iw);
	for (int i = 0; i < 20; i++)
	{
		double		s = 0.0,
					t = 0.0;

		for (int j = 0; j < 6; j++)
		{
			s += ((double) y[i * 6 + j] - x[i * 6 + j]) * ((double) y[i * 6 + j] - x[i * 6 + j]);
			t += fabs((double) y[i * 6 + j] - x[i * 6 + j]);
		}
		sq += s / 6;
		ab += t / 6;
	}
	ae_eval_block(&m, x, 20, work, &acc);
	CHECK(acc.rows == 20 && acc.nonfinite == 0 && tu_reldiff(acc.sq, sq, 1e-12) < 1e-6 &&
		  tu_reldiff(acc.abs, ab, 1e-12) < 1e-6,
		  "block: error sums equal a direct computation (%.6g vs %.6g, %.6g vs %.6g)",
		  acc.sq, sq, acc.abs, ab);
	x[3 * 6] = 3e38f;			/* times a weight of 1e30: not finite */
	m.W[0][0] = 1e30f;
	memset(&acc, 0, sizeof(acc));
	ae_eval_block(&m, x, 20, work, &acc);
	CHECK(acc.nonfinite >= 1 && isfinite(acc.sq),
		  "block: a row whose error is not finite is counted apart (%llu), the sums stay finite",
		  (unsigned long long) acc.nonfinite);
	free(x);
	free(y);
	free(work);
	free(iw);
	ae_model_destroy(&m);
	CHECK(ctx.live == 0, "block: nothing left allocated");
}

int
main(void)
{
	test_neighbours();
	test_recall();
	test_block();
	return tu_finish();
}
