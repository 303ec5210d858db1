/*-------------------------------------------------------------------------
 *
 * test_align.c
 *	  Unit tests of code alignment (src/core/ae_align.c): rotating a model's
 *	  code space onto a reference model's without changing what it
 *	  reconstructs.
 *
 * Sections:
 *	 1. ae_align_apply: with a known rotation R, scale s and translation t
 *	    the codes become s R z + t and the reconstructions do not change
 *	 2. ae_align: a model that is a known rotation, scaling and shift of
 *	    another is brought back onto it (mismatch ~ 0, codes equal), for
 *	    raw and for scaled rows, with and without hidden layers
 *	 3. compatibility (linear code, same sizes), too few rows, determinism
 *	 4. allocation failure at every allocation, no leaks
 *
 * Prints one line per check and "N passed, M failed" at the end; exits
 * non-zero if anything failed.
 *
 *-------------------------------------------------------------------------
 */
#include "test_util.h"
#include "ae_align.h"

#define N_ROWS	300

/* A model of the given shape with random weights and scaling. */
static ae_model
random_model(int d, int k, int n_hidden, ae_activation act, uint64_t seed,
			 ae_allocator *al)
{
	int			hidden[1] = {12};
	ae_arch		a = tu_arch(d, k, n_hidden, hidden, act, AE_ACT_LINEAR, AE_SCALING_STANDARD);
	ae_model	m;
	ae_rng		r;

	if (ae_model_create(&m, &a, 0, al) != AE_OK)
	{
		fprintf(stderr, "random_model: out of memory\n");
		exit(2);
	}
	ae_rng_seed(&r, seed);
	tu_fill_model(&m, &r, NULL, 0);
	return m;
}

/* N_ROWS random raw rows of d floats. */
static tu_rows
random_rows(int d, uint64_t seed)
{
	tu_rows		t = tu_rows_new(N_ROWS, d);
	ae_rng		r;

	ae_rng_seed(&r, seed);
	for (size_t i = 0; i < t.n * (size_t) d; i++)
		t.data[i] = (float) (3.0 * ae_rng_normal(&r));
	return t;
}

/* A random orthogonal k x k matrix (Gram-Schmidt of a Gaussian one). */
static void
random_rotation(double *R, int k, uint64_t seed)
{
	ae_rng		r;

	ae_rng_seed(&r, seed);
	for (int i = 0; i < k * k; i++)
		R[i] = ae_rng_normal(&r);
	for (int i = 0; i < k; i++)
	{
		double		norm = 0.0;

		for (int p = 0; p < i; p++)
		{
			double		dot = 0.0;

			for (int j = 0; j < k; j++)
				dot += R[i * k + j] * R[p * k + j];
			for (int j = 0; j < k; j++)
				R[i * k + j] -= dot * R[p * k + j];
		}
		for (int j = 0; j < k; j++)
			norm += R[i * k + j] * R[i * k + j];
		for (int j = 0; j < k; j++)
			R[i * k + j] /= sqrt(norm);
	}
}

/* Codes and reconstructions of all rows by m (malloc'ed, caller frees). */
static void
run(const ae_model *m, const tu_rows *t, float **codes, float **recon)
{
	float	   *work = tu_xmalloc(sizeof(float) * ae_infer_floats(m, N_ROWS));

	*codes = tu_xmalloc(sizeof(float) * N_ROWS * m->arch.latent);
	*recon = tu_xmalloc(sizeof(float) * N_ROWS * m->arch.n_input);
	ae_encode(m, t->data, N_ROWS, *codes, work);
	ae_reconstruct(m, t->data, N_ROWS, *recon, 0, work);
	free(work);
}

/* Section 1: a known map applied to the weights. */
static void
test_apply(int n_hidden)
{
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	const int	d = 10,
				k = 4;
	ae_model	m = random_model(d, k, n_hidden, AE_ACT_LINEAR, 11, &al),
				m2;
	tu_rows		t = random_rows(d, 5);
	double		R[16],
				tr[4] = {0.5, -1.0, 2.0, 0.25},
				work[4],
				s = 1.7,
				maxc = 0.0;
	float	   *z,
			   *y,
			   *z2,
			   *y2;

	random_rotation(R, k, 99);
	ae_model_copy(&m2, &m, &al);
	ae_align_apply(&m2, R, s, tr, work);
	run(&m, &t, &z, &y);
	run(&m2, &t, &z2, &y2);
	for (int i = 0; i < N_ROWS; i++)
		for (int a = 0; a < k; a++)
		{
			double		want = tr[a];

			for (int b = 0; b < k; b++)
				want += s * R[a * k + b] * z[i * k + b];
			maxc = fmax(maxc, fabs(z2[i * k + a] - want) / (1.0 + fabs(want)));
		}
	CHECK(maxc < 1e-5, "apply (%d hidden): codes become s R z + t (max relative error %.2g)",
		  n_hidden, maxc);
	CHECK(tu_normwise_f_f(y2, y, (size_t) N_ROWS * d, 1e-6) < 1e-5,
		  "apply (%d hidden): reconstructions unchanged (normwise relative difference %.2g)",
		  n_hidden, tu_normwise_f_f(y2, y, (size_t) N_ROWS * d, 1e-6));
	free(z);
	free(y);
	free(z2);
	free(y2);
	tu_rows_free(&t);
	ae_model_destroy(&m);
	ae_model_destroy(&m2);
	CHECK(ctx.live == 0, "apply (%d hidden): nothing left allocated", n_hidden);
}

/* Section 2: a rotated, scaled and shifted copy is brought back. */
static void
test_recover(int n_hidden, int scaled)
{
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	const int	d = 10,
				k = 4;
	ae_model	ref = random_model(d, k, n_hidden, AE_ACT_LINEAR, 21, &al),
				m;
	tu_rows		t = random_rows(d, 6),
				rows = tu_rows_copy(&t);
	size_t		idx[N_ROWS];
	double		R[16],
				tr[4] = {-3.0, 1.0, 0.0, 4.0},
				work[4];
	float	   *zr,
			   *yr,
			   *z,
			   *y,
			   *ref_codes;
	ae_align_stats st;
	ae_error	err = {0};
	ae_status	s;

	for (int i = 0; i < N_ROWS; i++)
		idx[i] = (size_t) i;
	random_rotation(R, k, 7);
	ae_model_copy(&m, &ref, &al);
	ae_align_apply(&m, R, 0.3, tr, work);
	ref_codes = ae_align_codes(&ref, (const float *const *) t.rows, idx, N_ROWS, &al, NULL);
	if (scaled)
		for (int i = 0; i < N_ROWS; i++)
			ae_scaling_apply(&m, rows.rows[i]);
	s = ae_align(&m, rows.rows, idx, N_ROWS, scaled, ref_codes, &al, NULL, &st, &err);
	run(&ref, &t, &zr, &yr);
	run(&m, &t, &z, &y);
	CHECK(s == AE_OK && st.rows == N_ROWS && st.before > 0.1 && st.after < 1e-9 &&
		  fabs(st.scale - 1.0 / 0.3) < 1e-4,
		  "recover (%d hidden, %s rows): mismatch %.3g -> %.2g, scale %.6f (want 1/0.3)",
		  n_hidden, scaled ? "scaled" : "raw", st.before, st.after, st.scale);
	CHECK(tu_normwise_f_f(z, zr, (size_t) N_ROWS * k, 1e-6) < 1e-4,
		  "recover (%d hidden, %s rows): codes equal the reference's (normwise %.2g)",
		  n_hidden, scaled ? "scaled" : "raw", tu_normwise_f_f(z, zr, (size_t) N_ROWS * k, 1e-6));
	CHECK(tu_normwise_f_f(y, yr, (size_t) N_ROWS * d, 1e-6) < 1e-5,
		  "recover (%d hidden, %s rows): reconstructions unchanged (normwise %.2g)",
		  n_hidden, scaled ? "scaled" : "raw", tu_normwise_f_f(y, yr, (size_t) N_ROWS * d, 1e-6));
	free(zr);
	free(yr);
	free(z);
	free(y);
	al.release(al.ctx, ref_codes);
	tu_rows_free(&t);
	tu_rows_free(&rows);
	ae_model_destroy(&ref);
	ae_model_destroy(&m);
	CHECK(ctx.live == 0, "recover (%d hidden, %s rows): nothing left allocated",
		  n_hidden, scaled ? "scaled" : "raw");
}

/* Section 3: compatibility, few rows, determinism. */
static void
test_rules(void)
{
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_model	lin = random_model(10, 4, 0, AE_ACT_LINEAR, 1, &al),
				tanh_m = random_model(10, 4, 0, AE_ACT_TANH, 1, &al),
				small = random_model(10, 3, 0, AE_ACT_LINEAR, 1, &al),
				wide = random_model(12, 4, 0, AE_ACT_LINEAR, 1, &al),
				a,
				b;
	tu_rows		t = random_rows(10, 8);
	size_t		idx[N_ROWS];
	float	   *ref_codes;
	ae_align_stats st;
	ae_error	err = {0};

	CHECK(ae_align_compatible(&lin, &lin) && !ae_align_compatible(&tanh_m, &lin) &&
		  !ae_align_compatible(&lin, &small) && !ae_align_compatible(&lin, &wide),
		  "compatible: linear code and the same sizes only");
	for (int i = 0; i < N_ROWS; i++)
		idx[i] = (size_t) i;
	ae_model_copy(&a, &lin, &al);
	ae_model_copy(&b, &lin, &al);
	ae_model_destroy(&small);
	/* any model's codes of the same size can be the reference */
	ref_codes = ae_align_codes(&tanh_m, (const float *const *) t.rows, idx, N_ROWS, &al, NULL);
	CHECK(ae_align(&a, t.rows, idx, 1, 0, ref_codes, &al, NULL, &st, &err) == AE_EINVAL &&
		  strstr(err.message, "too few rows") != NULL,
		  "one row: AE_EINVAL \"%s\"", err.message);
	ae_align(&a, t.rows, idx, N_ROWS, 0, ref_codes, &al, NULL, &st, &err);
	ae_align(&b, t.rows, idx, N_ROWS, 0, ref_codes, &al, NULL, &st, &err);
	CHECK(memcmp(a.params, b.params, sizeof(float) * a.n_params) == 0,
		  "determinism: two alignments give the same weights bit for bit");

	/* allocation failure at every index */
	{
		int			wrong = 0,
					total;
		tu_alloc_ctx c2;
		ae_allocator a2 = tu_allocator(&c2, -1);

		ae_align(&b, t.rows, idx, N_ROWS, 0, ref_codes, &a2, NULL, &st, &err);
		total = (int) c2.total;
		for (int f = 0; f < total; f++)
		{
			a2 = tu_allocator(&c2, f);
			if (ae_align(&b, t.rows, idx, N_ROWS, 0, ref_codes, &a2, NULL, &st, &err) != AE_ENOMEM ||
				c2.live != 0)
				wrong++;
		}
		CHECK(total >= 4 && wrong == 0,
			  "failure at each of %d allocations: AE_ENOMEM, nothing left (%d wrong)", total, wrong);
	}
	al.release(al.ctx, ref_codes);
	tu_rows_free(&t);
	ae_model_destroy(&lin);
	ae_model_destroy(&tanh_m);
	ae_model_destroy(&wide);
	ae_model_destroy(&a);
	ae_model_destroy(&b);
	CHECK(ctx.live == 0, "rules: nothing left allocated (%ld)", ctx.live);
}

int
main(void)
{
	test_apply(0);
	test_apply(1);
	test_recover(0, 0);
	test_recover(1, 0);
	test_recover(1, 1);
	test_rules();
	return tu_finish();
}
