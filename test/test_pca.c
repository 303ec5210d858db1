/*-------------------------------------------------------------------------
 *
 * test_pca.c
 *	  Unit tests of exact PCA in the autoencoder core (src/ae_pca.c).
 *
 * Sections:
 *	 1. ae_pca_solve against an independent Jacobi eigensolver, the model's
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
/* 1. PCA                                                                  */
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

/*
 * ae_pca_solve on correlated data of dimension d with k components against
 * Jacobi eigenvalues, its own reconstruction error and (if compare_ae) a
 * linear autoencoder trained by ae_train.
 */
static void
pca_case(int d, int k, ae_scaling norm, double offset, uint64_t seed, int compare_ae)
{
	const size_t n = 2000;
	tu_rows		t = pca_data(n, d, offset, seed, seed + 1);
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_arch		arch = tu_arch(d, k, 0, NULL, AE_ACT_LINEAR, AE_ACT_LINEAR, norm);
	ae_model	m;
	tu_mom_buf	mb = tu_mom_new(d, 1);
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

	snprintf(lab, sizeof(lab), "pca d=%d k=%d %s%s", d, k, ae_scaling_name(norm),
			 offset != 0.0 ? " offset" : "");
	explained[k] = -12345.0;	/* sentinel: only k values are written */
	tu_mom_feed(&mb.m, t.data, 0, n, 128);
	if (ae_model_create(&m, &arch, 0, &al) != AE_OK)
	{
		CHECK(0, "%s: model create", lab);
		goto done;
	}
	/* nonzero garbage in the weights: the solver must set all of them */
	for (size_t i = 0; i < m.n_params; i++)
		m.params[i] = 7.0f;
	st = ae_pca_solve(&m, &mb.m, explained, &residual, NULL, &al);
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
			if (norm != AE_SCALING_NONE)
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
	tu_mom_free(&mb);
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
	ae_arch		arch = tu_arch(d, d, 0, NULL, AE_ACT_LINEAR, AE_ACT_LINEAR, AE_SCALING_STANDARD);
	ae_model	m;
	tu_mom_buf	mb = tu_mom_new(d, 1);
	double		explained[6],
				residual = -1.0,
				sum = 0.0;

	tu_mom_feed(&mb.m, t.data, 0, t.n, 100);
	ae_model_create(&m, &arch, 0, &al);
	CHECK(ae_pca_solve(&m, &mb.m, explained, &residual, NULL, &al) == AE_OK,
		  "pca latent = d: AE_OK");
	for (int i = 0; i < d; i++)
		sum += explained[i];
	CHECK(tu_close(sum, 1.0, 1e-10, 0.0) && fabs(residual) <= 1e-12,
		  "pca latent = d: explained sums to 1 (%.12f), residual %.2e ~ 0", sum, residual);
	CHECK(mean_recon_error(&m, &t) <= 1e-9,
		  "pca latent = d: reconstruction error %.2e ~ 0", mean_recon_error(&m, &t));
	/* NULL explained and residual are allowed */
	CHECK(ae_pca_solve(&m, &mb.m, NULL, NULL, NULL, &al) == AE_OK,
		  "pca: NULL explained and residual accepted");
	ae_model_destroy(&m);
	CHECK(ctx.live == 0, "pca latent = d: no blocks leaked (%ld live)", ctx.live);
	tu_mom_free(&mb);
	tu_rows_free(&t);
}

/*
 * ae_pca_solve rejects non-linear or deep architectures, diagonal-only or
 * mismatched moments, and reports allocation failure.
 */
static void
pca_rejects(void)
{
	static const int hidden[] = {8};
	const int	d = 10;
	tu_rows		t = pca_data(300, d, 0.0, 5, 6);
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	tu_mom_buf	mb = tu_mom_new(d, 1),
				diag = tu_mom_new(d, 0),
				other = tu_mom_new(d + 1, 1);
	double		explained[3],
				residual;
	struct
	{
		const char *what;
		ae_arch		arch;
	}			bad[] = {
		{"hidden layer", tu_arch(d, 3, 1, hidden, AE_ACT_LINEAR, AE_ACT_LINEAR, AE_SCALING_NONE)},
		{"tanh activation", tu_arch(d, 3, 0, NULL, AE_ACT_TANH, AE_ACT_LINEAR, AE_SCALING_NONE)},
		{"relu activation", tu_arch(d, 3, 0, NULL, AE_ACT_RELU, AE_ACT_LINEAR, AE_SCALING_STANDARD)},
		{"sigmoid output", tu_arch(d, 3, 0, NULL, AE_ACT_LINEAR, AE_ACT_SIGMOID, AE_SCALING_MINMAX)},
	};

	tu_mom_feed(&mb.m, t.data, 0, t.n, 64);
	tu_mom_feed(&diag.m, t.data, 0, t.n, 64);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		ae_model	m;
		ae_status	st;

		if (ae_model_create(&m, &bad[i].arch, 0, &al) != AE_OK)
		{
			CHECK(0, "pca rejects %s: model create", bad[i].what);
			continue;
		}
		st = ae_pca_solve(&m, &mb.m, explained, &residual, NULL, &al);
		CHECK(st == AE_EINVAL, "pca rejects %s with AE_EINVAL (%d)", bad[i].what, (int) st);
		ae_model_destroy(&m);
	}
	{
		ae_arch		arch = tu_arch(d, 3, 0, NULL, AE_ACT_LINEAR, AE_ACT_LINEAR, AE_SCALING_NONE);
		ae_model	m;
		tu_alloc_ctx fctx;
		ae_allocator fail = tu_allocator(&fctx, 0);

		ae_model_create(&m, &arch, 0, &al);
		CHECK(ae_pca_solve(&m, &diag.m, explained, &residual, NULL, &al) == AE_EINVAL,
			  "pca rejects diagonal-only moments with AE_EINVAL");
		CHECK(ae_pca_solve(&m, &other.m, explained, &residual, NULL, &al) == AE_EINVAL,
			  "pca rejects moments of another dimension with AE_EINVAL");
		CHECK(ae_pca_solve(&m, &mb.m, explained, &residual, NULL, &fail) == AE_ENOMEM &&
			  fctx.live == 0,
			  "pca: allocation failure gives AE_ENOMEM and leaks nothing");
		ae_model_destroy(&m);
	}
	CHECK(ctx.live == 0, "pca rejects: no blocks leaked (%ld live)", ctx.live);
	tu_mom_free(&mb);
	tu_mom_free(&diag);
	tu_mom_free(&other);
	tu_rows_free(&t);
}

/* All PCA cases: several shapes, normalizations and offsets. */
static void
test_pca(void)
{
	pca_case(10, 3, AE_SCALING_NONE, 0.0, 101, 1);
	pca_case(10, 3, AE_SCALING_STANDARD, 0.0, 102, 1);
	pca_case(16, 3, AE_SCALING_NONE, 0.0, 103, 1);
	pca_case(20, 3, AE_SCALING_STANDARD, 0.0, 104, 1);
	pca_case(20, 3, AE_SCALING_NONE, 0.0, 105, 1);
	pca_case(12, 1, AE_SCALING_MINMAX, 0.0, 106, 0);
	pca_case(15, 5, AE_SCALING_STANDARD, 0.0, 107, 0);
	/* a common offset of 1000: exact moments keep the covariance accurate */
	pca_case(10, 3, AE_SCALING_NONE, 1000.0, 108, 0);
	pca_case(10, 3, AE_SCALING_STANDARD, 1000.0, 109, 0);
	pca_full_rank();
	pca_rejects();
}
/* ====================================================================== */

/* Run this program's checks; exit status 1 if any failed. */
int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);

	test_pca();

	return tu_finish();
}
