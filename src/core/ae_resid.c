/*-------------------------------------------------------------------------
 *
 * ae_resid.c
 *	  The starting point of training: the exact PCA of the training rows,
 *	  the PCA-residual network initialised at it, and the PCA as a model.
 *
 * A linear autoencoder's optimum is PCA, so a network that starts at PCA
 * and keeps its best epoch (epoch 0 included, ae_train.c) is never worse
 * than PCA on held-out rows.  The PCA-residual network (design notes,
 * section 4.1) is the mirrored MLP plus two linear skip paths:
 *   code = x Ae^T + ae + E(x),    out = code Ad^T + ad + D(code)
 * With Ae = V^T, ae = -V^T mu, Ad = V, ad = mu (V the top components of
 * the training rows in the network's units, mu their mean) and the last
 * layers of E and D at zero, it computes the PCA exactly; training then
 * only adds what the nonlinear layers find on top of it.
 *
 * The PCA is fitted on the training rows in split order (the first of a
 * seeded permutation, so a uniform subset when not all of them are taken):
 * co-moments folded 256 rows at a time with dsyrk (ae_stats.c), then
 * ae_pca_components.  The hidden layers are then scaled to the data (each
 * unit's pre-activation with mean 0 and deviation 1 on a sample), which
 * measured better than plain He initialisation at every training length
 * and makes the start independent of the input's units (standardized
 * pixels, PCA codes with variances in the hundreds, unit-length
 * embeddings).  No randomness is drawn here: the weights are the ones
 * ae_model_init_weights drew, so the RNG's sequence is unchanged.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_resid.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#define INIT_BLOCK		256		/* sample rows per forward pass */
#define INIT_MIN_SD		1e-6	/* below: the unit is left unscaled */

/* Training rows the PCA is fitted on; see ae_resid.h. */
size_t
ae_pca_rows(size_t n_train, int d)
{
	double		cap = AE_PCA_WORK / ((double) d * d);
	size_t		n = cap > (double) AE_PCA_MIN_ROWS ? (size_t) cap : AE_PCA_MIN_ROWS;

	return n_train < n ? n_train : n;
}

/* PCA of rows idx[0..n) in the network's units; see ae_resid.h. */
ae_status
ae_pca_of_rows(ae_pca_fit *p, float *const *rows, const size_t *idx, size_t n,
			   int d, int k, const ae_train_callbacks *cb,
			   const ae_allocator *alloc)
{
	double	   *storage;
	float	  **sel;
	ae_moments	mom;
	ae_status	st;

	memset(p, 0, sizeof(*p));
	if (n == 0 || k < 1 || k > d)
		return AE_EINVAL;
	storage = alloc->alloc(alloc->ctx, sizeof(double) * ae_moments_doubles(d, 1));
	sel = alloc->alloc(alloc->ctx, sizeof(float *) * n);
	p->block = alloc->alloc(alloc->ctx, sizeof(double) * ((size_t) d * k + d + k));
	if (storage == NULL || sel == NULL || p->block == NULL)
		st = AE_ENOMEM;
	else
	{
		for (size_t i = 0; i < n; i++)
			sel[i] = rows[idx[i]];
		ae_moments_init(&mom, d, 1, storage);
		st = ae_moments_of_rows(&mom, sel, n, 1, cb, alloc);
		p->d = d;
		p->k = k;
		p->rows = n;
		p->V = p->block;
		p->mu = p->V + (size_t) d * k;
		p->lambda = p->mu + d;
		if (st == AE_OK)
			st = ae_pca_components(&mom, NULL, NULL, k, p->V, p->mu, p->lambda,
								   &p->trace, cb, alloc);
	}
	if (storage)
		alloc->release(alloc->ctx, storage);
	if (sel)
		alloc->release(alloc->ctx, sel);
	if (st != AE_OK)
		ae_pca_fit_free(p, alloc);
	return st;
}

/* Release what ae_pca_of_rows allocated; safe on a zeroed fit. */
void
ae_pca_fit_free(ae_pca_fit *p, const ae_allocator *alloc)
{
	if (p->block)
		alloc->release(alloc->ctx, p->block);
	memset(p, 0, sizeof(*p));
}

/* The PCA's mean squared error per element on its own rows. */
double
ae_pca_fit_residual(const ae_pca_fit *p)
{
	double		kept = 0.0;

	for (int c = 0; c < p->k; c++)
		kept += p->lambda[c];
	return p->trace > kept ? (p->trace - kept) / p->d : 0.0;
}

/* Start a residual model at the PCA; see ae_resid.h. */
void
ae_resid_init_pca(ae_model *m, const ae_pca_fit *p)
{
	int			d = m->arch.n_input,
				k = m->arch.latent,
				enc = m->arch.n_hidden,
				out = m->n_layers - 1;

	if (!AE_HAS_SKIP(m))
	{
		/* no hidden layers: the linear autoencoder is the PCA */
		ae_pca_write(m->W[0], m->b[0], m->W[1], m->b[1], p->V, p->mu, d, k);
		return;
	}
	ae_pca_write(m->Ae, m->ae, m->Ad, m->ad, p->V, p->mu, d, k);
	memset(m->W[enc], 0, sizeof(float) * (size_t) m->dims[enc] * m->dims[enc + 1]);
	memset(m->b[enc], 0, sizeof(float) * m->dims[enc + 1]);
	memset(m->W[out], 0, sizeof(float) * (size_t) m->dims[out] * m->dims[out + 1]);
	memset(m->b[out], 0, sizeof(float) * m->dims[out + 1]);
}

/*
 * Standardise layer l of m on rows idx[0..n): its pre-activations without
 * bias over the rows (acts[l] of a forward pass, in blocks) give each
 * unit's mean and deviation in double (blocks merged with Chan's update),
 * then w_u /= sd_u and b_u = -mean_u / sd_u.  buf holds the forward pass
 * (ae_forward_floats(m, INIT_BLOCK)), x (INIT_BLOCK, n_input), pre
 * (INIT_BLOCK, dims[l + 1]); stats holds 2 * dims[l + 1] doubles.
 */
static void
standardise_layer(ae_model *m, int l, float *const *rows, const size_t *idx,
				  size_t n, float *buf, float *x, float *pre, double *stats,
				  const ae_train_callbacks *cb)
{
	int			d = m->arch.n_input,
				in = m->dims[l],
				out = m->dims[l + 1];
	double	   *mean = stats,
			   *m2 = stats + out;
	float	   *acts[AE_MAX_LAYERS + 1];
	double		seen = 0.0;

	memset(stats, 0, sizeof(double) * 2 * out);
	for (size_t start = 0; start < n; start += INIT_BLOCK)
	{
		int			cnt = (int) (n - start < INIT_BLOCK ? n - start : INIT_BLOCK);

		for (int r = 0; r < cnt; r++)
			memcpy(x + (size_t) r * d, rows[idx[start + r]], sizeof(float) * d);
		ae_forward(m, x, cnt, buf, acts);
		/* pre (cnt, out) = acts[l] W_l^T, without the bias */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cnt, out, in, 1.0f,
					acts[l], in, m->W[l], in, 0.0f, pre, out);
		for (int u = 0; u < out; u++)
		{
			double		bm = 0.0,
						bm2 = 0.0,
						delta;

			for (int r = 0; r < cnt; r++)
				bm += pre[(size_t) r * out + u];
			bm /= cnt;
			for (int r = 0; r < cnt; r++)
			{
				double		e = pre[(size_t) r * out + u] - bm;

				bm2 += e * e;
			}
			delta = bm - mean[u];
			mean[u] += delta * cnt / (seen + cnt);
			m2[u] += bm2 + delta * delta * seen * cnt / (seen + cnt);
		}
		seen += cnt;
		if (cb && cb->on_batch)
			cb->on_batch(cb->ctx);
	}
	for (int u = 0; u < out; u++)
	{
		double		sd = sqrt(m2[u] / seen);
		float	   *w = m->W[l] + (size_t) u * in;

		if (!(sd >= INIT_MIN_SD) || !isfinite(sd))
		{
			m->b[l][u] = 0.0f;
			continue;
		}
		for (int i = 0; i < in; i++)
			w[i] = (float) (w[i] / sd);
		m->b[l][u] = (float) (-mean[u] / sd);
	}
}

/* Data-dependent scaling of the hidden layers; see ae_resid.h. */
ae_status
ae_resid_init_data(ae_model *m, float *const *rows, const size_t *idx,
				   size_t n, const ae_train_callbacks *cb,
				   const ae_allocator *alloc)
{
	int			k = m->arch.n_hidden,
				wide = ae_model_max_dim(m);
	size_t		floats = ae_forward_floats(m, INIT_BLOCK) +
		(size_t) INIT_BLOCK * m->arch.n_input + (size_t) INIT_BLOCK * wide;
	float	   *buf;
	double	   *stats;

	if (!AE_HAS_SKIP(m) || n == 0)
		return AE_OK;
	buf = alloc->alloc(alloc->ctx, sizeof(float) * floats);
	stats = alloc->alloc(alloc->ctx, sizeof(double) * 2 * (size_t) wide);
	if (buf == NULL || stats == NULL)
	{
		if (buf)
			alloc->release(alloc->ctx, buf);
		if (stats)
			alloc->release(alloc->ctx, stats);
		return AE_ENOMEM;
	}
	/* encoder layers 0 .. k-1, then decoder layers k+1 .. 2k, in order */
	for (int l = 0; l < m->n_layers - 1; l++)
		if (l != k)
			standardise_layer(m, l, rows, idx, n, buf,
							  buf + ae_forward_floats(m, INIT_BLOCK),
							  buf + ae_forward_floats(m, INIT_BLOCK) +
							  (size_t) INIT_BLOCK * m->arch.n_input,
							  stats, cb);
	alloc->release(alloc->ctx, buf);
	alloc->release(alloc->ctx, stats);
	return AE_OK;
}

/* The PCA p as a linear model with m's scaling; see ae_resid.h. */
ae_status
ae_pca_model(ae_model *pca, const ae_model *m, const ae_pca_fit *p,
			 const ae_allocator *alloc)
{
	ae_arch		a = m->arch;
	size_t		d = (size_t) a.n_input;
	ae_status	st;

	a.n_hidden = 0;
	a.activation = AE_ACT_LINEAR;
	a.output_activation = AE_ACT_LINEAR;
	a.residual = 0;
	st = ae_model_create(pca, &a, 0, alloc);
	if (st != AE_OK)
		return st;
	memcpy(pca->shift, m->shift, sizeof(float) * d);
	memcpy(pca->scale, m->scale, sizeof(float) * d);
	memcpy(pca->lo, m->lo, sizeof(float) * d);
	memcpy(pca->hi, m->hi, sizeof(float) * d);
	ae_pca_write(pca->W[0], pca->b[0], pca->W[1], pca->b[1], p->V, p->mu,
				 a.n_input, a.latent);
	return AE_OK;
}
