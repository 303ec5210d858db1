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
 * ae_pca_components is the one PCA of the project: the exact solver, the
 * PCA baseline and the starting point of the PCA-residual network
 * (ae_resid.c) all take their components from it.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_core.h"

#include <math.h>
#include <string.h>

/* The top k components of the rows behind mom; see ae_core.h. */
ae_status
ae_pca_components(const ae_moments *mom, const float *shift,
				  const float *scale, int k, double *V, double *mu,
				  double *lambda, double *trace, const ae_train_callbacks *cb,
				  const ae_allocator *alloc)
{
	int			d = mom->d;
	double		n = (double) (mom->n ? mom->n : 1),
				total = 0.0;
	double	   *a,
			   *w,
			   *z;
	void	   *block;
	ae_status	st;

	if (!mom->full || k < 1 || k > d)
		return AE_EINVAL;
	block = alloc->alloc(alloc->ctx, sizeof(double) *
						 ((size_t) d * d + k + (size_t) d * k));
	if (block == NULL)
		return AE_ENOMEM;
	a = block;
	w = a + (size_t) d * d;
	z = w + k;

	/*
	 * Covariance of the scaled rows.  Row-major upper is column-major lower,
	 * which is what the eigensolver reads.
	 */
	for (int i = 0; i < d; i++)
	{
		double		si = scale ? (double) scale[i] : 1.0;

		mu[i] = (mom->mean[i] - (shift ? shift[i] : 0.0)) / si;
		for (int j = i; j < d; j++)
			a[(size_t) i * d + j] = mom->m2[(size_t) i * d + j] /
				(n * si * (scale ? (double) scale[j] : 1.0));
		total += a[(size_t) i * d + i];
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
		int			arg = 0;
		double		sign;

		for (int i = 1; i < d; i++)
			if (fabs(v[i]) > fabs(v[arg]))
				arg = i;
		sign = v[arg] < 0.0 ? -1.0 : 1.0;
		for (int i = 0; i < d; i++)
			V[(size_t) i * k + c] = sign * v[i];
		lambda[c] = w[k - 1 - c] > 0.0 ? w[k - 1 - c] : 0.0;
	}
	*trace = total;
	alloc->release(alloc->ctx, block);
	return AE_OK;
}

/* PCA as a linear encoder and decoder; see ae_core.h. */
void
ae_pca_write(float *We, float *be, float *Wd, float *bd, const double *V,
			 const double *mu, int d, int k)
{
	for (int c = 0; c < k; c++)
	{
		double		dot = 0.0;

		for (int i = 0; i < d; i++)
		{
			double		vi = V[(size_t) i * k + c];

			We[(size_t) c * d + i] = (float) vi;	/* encoder (k, d) */
			Wd[(size_t) i * k + c] = (float) vi;	/* decoder (d, k) */
			dot += vi * mu[i];
		}
		be[c] = (float) -dot;
	}
	for (int i = 0; i < d; i++)
		bd[i] = (float) mu[i];
}

/* Solve PCA for m from mom; see ae_core.h. */
ae_status
ae_pca_solve(ae_model *m, const ae_moments *mom, double *explained,
			 double *residual, const ae_train_callbacks *cb,
			 const ae_allocator *alloc)
{
	int			d = m->arch.n_input,
				k = m->arch.latent;
	double		trace = 0.0,
				kept = 0.0;
	double	   *V,
			   *mu,
			   *lambda;
	void	   *block;
	ae_status	st;

	if (m->arch.n_hidden != 0 || m->arch.activation != AE_ACT_LINEAR ||
		m->arch.output_activation != AE_ACT_LINEAR || mom->d != d || !mom->full)
		return AE_EINVAL;
	ae_scaling_from_moments(m, mom);
	block = alloc->alloc(alloc->ctx, sizeof(double) * ((size_t) d * k + d + k));
	if (block == NULL)
		return AE_ENOMEM;
	V = block;
	mu = V + (size_t) d * k;
	lambda = mu + d;
	st = ae_pca_components(mom, m->shift, m->scale, k, V, mu, lambda, &trace,
						   cb, alloc);
	if (st == AE_OK)
	{
		ae_pca_write(m->W[0], m->b[0], m->W[1], m->b[1], V, mu, d, k);
		for (int c = 0; c < k; c++)
		{
			kept += lambda[c];
			if (explained)
				explained[c] = trace > 0.0 ? lambda[c] / trace : 0.0;
		}
		if (residual)
			*residual = trace > kept ? (trace - kept) / d : 0.0;
	}
	alloc->release(alloc->ctx, block);
	return st;
}

