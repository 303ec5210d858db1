/*-------------------------------------------------------------------------
 *
 * test_infer.c
 *	  Unit tests of inference on raw inputs in the autoencoder core
 *	  (src/ae_infer.c): encode, decode, reconstruct, reconstruction error.
 *
 * Sections:
 *	 1. inference against a double pipeline, row by row, and clamping
 *
 * Prints one line per check and "N passed, M failed" at the end; exits
 * non-zero if anything failed.
 *
 *-------------------------------------------------------------------------
 */
#include "test_util.h"

#include <stdint.h>

/* ====================================================================== */
/* 1. Inference                                                            */
/* ====================================================================== */

/* Double pipeline on raw rows: normalize, net, unnormalize. */
static void
infer_d(const ae_model *m, const double *p, const float *x, int rows,
		double *code, double *out)
{
	int			n = m->arch.n_input,
				L = m->n_layers,
				k = m->arch.n_hidden,
				md = ae_model_max_dim(m);
	double	   *a = tu_xmalloc(sizeof(double) * rows * md),
			   *z = tu_xmalloc(sizeof(double) * rows * md);

	for (int r = 0; r < rows; r++)
		for (int j = 0; j < n; j++)
			a[r * n + j] = ((double) x[r * n + j] - m->shift[j]) / m->scale[j];
	for (int l = 0; l < L; l++)
	{
		ae_activation act = l == L - 1 ? m->arch.output_activation : m->arch.activation;

		ae_ref_dense_forward(z, a, p + (m->W[l] - m->params), p + (m->b[l] - m->params),
							 rows, m->dims[l], m->dims[l + 1], act);
		memcpy(a, z, sizeof(double) * rows * m->dims[l + 1]);
		if (l == k && code)
			memcpy(code, a, sizeof(double) * rows * m->dims[l + 1]);
	}
	if (out)
		for (int r = 0; r < rows; r++)
			for (int j = 0; j < n; j++)
				out[r * n + j] = a[r * n + j] * m->scale[j] + m->shift[j];
	free(a);
	free(z);
}

/*
 * Encode, decode, reconstruct and reconstruction error against the double
 * pipeline and row by row; clamping to the training range.
 */
static void
test_inference(void)
{
	static const int hidden[] = {5};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_arch		arch = tu_arch(6, 3, 1, hidden, AE_ACT_TANH, AE_ACT_LINEAR, AE_SCALING_STANDARD);
	ae_model	m;
	ae_rng		r;
	enum
	{
	R = 9, N = 6, D = 3};
	float		x[R * N],
				code[R * D],
				code1[R * D],
				dec[R * N],
				dec1[R * N],
				rec[R * N],
				rec1[R * N],
				recc[R * N],
				tmpc[D],
			   *work;
	double		coded[R * D],
				outd[R * N],
			   *p,
				err[R],
				err1[R],
				e;
	int			ok,
				nclamped = 0;

	if (ae_model_create(&m, &arch, 0, &al) != AE_OK)
	{
		CHECK(0, "infer: create model");
		return;
	}
	ae_rng_seed(&r, 555);
	tu_fill_model(&m, &r, NULL, 0);
	for (int j = 0; j < N; j++)
	{
		m.lo[j] = m.shift[j] - 1000.0f;
		m.hi[j] = m.shift[j] + 1000.0f;
	}
	for (int i = 0; i < R; i++)
		for (int j = 0; j < N; j++)
			x[i * N + j] = (float) (m.shift[j] + m.scale[j] * ae_rng_normal(&r));
	p = tu_xmalloc(m.n_params * sizeof(double));
	for (size_t i = 0; i < m.n_params; i++)
		p[i] = m.params[i];
	work = tu_xmalloc(ae_infer_floats(&m, R) * sizeof(float) + 16);

	ae_encode(&m, x, R, code, work);
	ae_decode(&m, code, R, dec, work);
	ae_reconstruct(&m, x, R, rec, 0, work);
	ae_reconstruction_error(&m, x, R, err, work);

	infer_d(&m, p, x, R, coded, outd);
	e = tu_normwise_f_d(code, coded, R * D, 1.0);
	CHECK(e < 1e-5, "infer: encode equals double normalize+encoder (err %.3g)", e);
	e = tu_normwise_f_d(rec, outd, R * N, 1.0);
	CHECK(e < 1e-5, "infer: reconstruct equals double pipeline in input units (err %.3g)", e);
	e = tu_normwise_f_f(rec, dec, R * N, 1.0);
	CHECK(e < 1e-6, "infer: reconstruct == decode(encode(x)) (err %.3g)", e);
	{
		/* decode of a code in double: run decoder layers only */
		double		a[R * 6],
					z2[R * 6];
		int			L = m.n_layers,
					k = m.arch.n_hidden;

		for (int i = 0; i < R * D; i++)
			a[i] = code[i];
		for (int l = k + 1; l < L; l++)
		{
			ae_activation act = l == L - 1 ? m.arch.output_activation : m.arch.activation;

			ae_ref_dense_forward(z2, a, p + (m.W[l] - m.params), p + (m.b[l] - m.params),
								 R, m.dims[l], m.dims[l + 1], act);
			memcpy(a, z2, sizeof(double) * R * m.dims[l + 1]);
		}
		for (int i = 0; i < R; i++)
			for (int j = 0; j < N; j++)
				a[i * N + j] = a[i * N + j] * m.scale[j] + m.shift[j];
		e = tu_normwise_f_d(dec, a, R * N, 1.0);
		CHECK(e < 1e-5, "infer: decode equals double decoder + unscale (err %.3g)", e);
	}

	/* row by row */
	for (int i = 0; i < R; i++)
	{
		ae_encode(&m, x + i * N, 1, code1 + i * D, work);
		memcpy(tmpc, code + i * D, sizeof(tmpc));
		ae_decode(&m, tmpc, 1, dec1 + i * N, work);
		ae_reconstruct(&m, x + i * N, 1, rec1 + i * N, 0, work);
		ae_reconstruction_error(&m, x + i * N, 1, err1 + i, work);
	}
	CHECK(tu_normwise_f_f(code1, code, R * D, 1.0) < 1e-6 &&
		  tu_normwise_f_f(dec1, dec, R * N, 1.0) < 1e-6 &&
		  tu_normwise_f_f(rec1, rec, R * N, 1.0) < 1e-6,
		  "infer: multi-row encode/decode/reconstruct equal row-by-row calls");
	ok = 1;
	for (int i = 0; i < R; i++)
		if (!tu_close(err1[i], err[i], 1e-6, 1e-12))
			ok = 0;
	CHECK(ok, "infer: multi-row reconstruction_error equals row-by-row");

	ok = 1;
	for (int i = 0; i < R; i++)
	{
		double		s = 0.0;

		for (int j = 0; j < N; j++)
		{
			double		d = (double) rec[i * N + j] - x[i * N + j];

			s += d * d;
		}
		s /= N;
		if (!tu_close(err[i], s, 1e-5, 1e-9))
		{
			ok = 0;
			printf("#   row %d: reconstruction_error %.9g, mean sq diff %.9g\n", i, err[i], s);
		}
	}
	CHECK(ok, "infer: reconstruction_error = mean over features of (reconstruct - x)^2 in input units");
	CHECK(err[0] > 1e-3, "infer: reconstruction error is not trivially zero (%.4g)", err[0]);

	/* clamp to a narrow training range */
	for (int j = 0; j < N; j++)
	{
		m.lo[j] = m.shift[j] - 0.2f * m.scale[j];
		m.hi[j] = m.shift[j] + 0.2f * m.scale[j];
	}
	ae_reconstruct(&m, x, R, recc, 1, work);
	ok = 1;
	for (int i = 0; i < R; i++)
		for (int j = 0; j < N; j++)
		{
			float		v = rec[i * N + j],
						want = v < m.lo[j] ? m.lo[j] : (v > m.hi[j] ? m.hi[j] : v);

			if (!(recc[i * N + j] >= m.lo[j] && recc[i * N + j] <= m.hi[j]))
				ok = 0;
			if (fabsf(recc[i * N + j] - want) > 1e-5f * (1.0f + fabsf(want)))
				ok = 0;
			if (want != v)
				nclamped++;
		}
	CHECK(ok, "infer: clamp=1 keeps every output in [lo, hi] and equals clamped reconstruct");
	CHECK(nclamped > 0 && nclamped < R * N, "infer: the clamp test actually clamps (%d of %d)", nclamped, R * N);

	ae_model_destroy(&m);
	free(p);
	free(work);
	CHECK(ctx.live == 0, "infer: no leaks");
}

/* ====================================================================== */

/* Run this program's checks; exit status 1 if any failed. */
int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);

	test_inference();

	return tu_finish();
}
