/*-------------------------------------------------------------------------
 *
 * ae_pca.c
 *	  The linear autoencoder solved exactly: PCA through LAPACK.
 *
 * A linear autoencoder with a k-unit code trained to convergence spans the
 * top-k principal subspace; here it is computed directly.  From exact
 * moments (ae_stats.c) the covariance of the scaled input is
 *   S_ij = M2_ij / (n * scale_i * scale_j)
 * and ae_eigen_top (ae_eigen.c: LAPACK's pieces with interrupt points
 * between them) returns its k largest eigenpairs.  With V (d, k) the
 * eigenvectors and mu the mean in scaled units, the model is
 *   code = V^T (x - mu)        encoder W = V^T, b = -V^T mu
 *   x    = V code + mu         decoder W = V,   b = mu
 * The reconstruction error per element is the discarded variance / d.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_core.h"

#include <math.h>
#include <string.h>

/* Solve PCA for m from mom; see ae_core.h. */
ae_status
ae_pca_solve(ae_model *m, const ae_moments *mom, double *explained,
			 double *residual, const ae_train_callbacks *cb,
			 const ae_allocator *alloc)
{
	int			d = m->arch.n_input,
				k = m->arch.latent;
	double		trace = 0.0,
				kept = 0.0,
				n = (double) (mom->n ? mom->n : 1);
	double	   *a,
			   *w,
			   *z,
			   *mu;
	void	   *block;
	ae_status	st;

	if (m->arch.n_hidden != 0 || m->arch.activation != AE_ACT_LINEAR ||
		m->arch.output_activation != AE_ACT_LINEAR || mom->d != d || !mom->full)
		return AE_EINVAL;
	ae_scaling_from_moments(m, mom);
	block = alloc->alloc(alloc->ctx, sizeof(double) *
						 ((size_t) d * d + k + (size_t) d * k + d));
	if (block == NULL)
		return AE_ENOMEM;
	a = block;
	w = a + (size_t) d * d;
	z = w + k;
	mu = z + (size_t) d * k;

	/*
	 * Covariance of the scaled rows.  Row-major upper is column-major lower,
	 * which is what the eigensolver reads.
	 */
	for (int i = 0; i < d; i++)
	{
		mu[i] = (mom->mean[i] - m->shift[i]) / m->scale[i];
		for (int j = i; j < d; j++)
			a[(size_t) i * d + j] = mom->m2[(size_t) i * d + j] /
				(n * (double) m->scale[i] * (double) m->scale[j]);
		trace += a[(size_t) i * d + i];
	}
	st = ae_eigen_top(a, d, k, w, z, cb, alloc);
	if (st != AE_OK)
	{
		alloc->release(alloc->ctx, block);
		return st;
	}

	/* eigenvalues come ascending: component c is column k - 1 - c */
	for (int c = 0; c < k; c++)
	{
		double	   *v = z + (size_t) (k - 1 - c) * d;
		double		lambda = w[k - 1 - c] > 0.0 ? w[k - 1 - c] : 0.0;
		int			arg = 0;
		double		sign,
					dot = 0.0;

		for (int i = 1; i < d; i++)
			if (fabs(v[i]) > fabs(v[arg]))
				arg = i;
		sign = v[arg] < 0.0 ? -1.0 : 1.0;
		for (int i = 0; i < d; i++)
		{
			double		vi = sign * v[i];

			m->W[0][(size_t) c * d + i] = (float) vi;	/* encoder (k, d) */
			m->W[1][(size_t) i * k + c] = (float) vi;	/* decoder (d, k) */
			dot += vi * mu[i];
		}
		m->b[0][c] = (float) -dot;
		kept += lambda;
		if (explained)
			explained[c] = trace > 0.0 ? lambda / trace : 0.0;
	}
	for (int i = 0; i < d; i++)
		m->b[1][i] = (float) mu[i];
	if (residual)
		*residual = trace > kept ? (trace - kept) / d : 0.0;
	alloc->release(alloc->ctx, block);
	return AE_OK;
}
