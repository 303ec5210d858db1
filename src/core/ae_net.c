/*-------------------------------------------------------------------------
 *
 * ae_net.c
 *	  The whole network: forward pass, loss and gradient of a batch.
 *
 * Work buffers are flat float arrays the caller sizes with the *_floats
 * functions; nothing here allocates.  Layer l reads acts[l] (B, dims[l])
 * and writes acts[l + 1]; acts[0] is the caller's input.
 *
 * The loss of a batch is
 *   mean over B*n of (y - target)^2              (reconstruction)
 * + weight_decay / 2 * sum over layers of |W|^2  (L2, biases excluded)
 * + sparsity * mean over B*latent of |code|      (L1 on the latent code)
 * + sim_weight * L_sim(code)                     (neighbours, ae_sim.c)
 * Losses are summed in double; gradients are float, as in the layers.
 *
 * A PCA-residual model (ae_resid.c) adds its skip paths after the code
 * layer k and after the output layer 2k+1 (ae_add_skip), so the code is
 * z = x Ae^T + ae + E(x) and the output y = z Ad^T + ad + D(z).  Backward,
 * with delta the gradient of the loss with respect to y:
 *   dAd = delta^T z, dad = column sums of delta, and delta Ad is kept
 *   (B, k) until the loop reaches the code layer, where it joins the
 *   decoder's gradient with respect to z together with the sparsity and
 *   similarity terms; then dAe = delta_z^T x and dae = column sums.
 * Weight decay covers Ae and Ad like every W.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_core.h"
#include "ae_sim.h"
#include "ae_simd.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#ifdef AE_HAVE_AVX2_KERNELS
/*
 * The reconstruction term on the first n - n % 8 elements, 8 at a time:
 * delta = gscale * (y - t) and *sq = the sum of (y - t)^2 in double (each
 * square is exact in double; the vector adds them in four lanes).  Returns
 * the elements done.
 */
static AE_AVX2 size_t
reconstruction_avx2(const float *y, const float *target, float *delta,
					size_t n, float gscale, double *sq)
{
	const __m256 gs = _mm256_set1_ps(gscale);
	__m256d		acc_lo = _mm256_setzero_pd(),
				acc_hi = _mm256_setzero_pd();
	double		lanes[4];
	size_t		i;

	for (i = 0; i + 8 <= n; i += 8)
	{
		__m256		d = _mm256_sub_ps(_mm256_loadu_ps(y + i),
									  _mm256_loadu_ps(target + i));
		__m256d		lo = _mm256_cvtps_pd(_mm256_castps256_ps128(d)),
					hi = _mm256_cvtps_pd(_mm256_extractf128_ps(d, 1));

		acc_lo = _mm256_add_pd(acc_lo, _mm256_mul_pd(lo, lo));
		acc_hi = _mm256_add_pd(acc_hi, _mm256_mul_pd(hi, hi));
		_mm256_storeu_ps(delta + i, _mm256_mul_ps(gs, d));
	}
	_mm256_storeu_pd(lanes, _mm256_add_pd(acc_lo, acc_hi));
	*sq = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
	return i;
}
#endif

/* Floats needed by ae_forward for B rows. */
size_t
ae_forward_floats(const ae_model *m, int B)
{
	size_t		n = 0;

	for (int l = 1; l <= m->n_layers; l++)
		n += (size_t) B * m->dims[l];
	return n;
}

/* Point acts[1..L] into work; acts[0] = x. */
static void
layout_acts(const ae_model *m, const float *x, int B, float *work,
			float **acts)
{
	acts[0] = (float *) x;
	for (int l = 1; l <= m->n_layers; l++)
	{
		acts[l] = work;
		work += (size_t) B * m->dims[l];
	}
}

/*
 * Forward pass of B normalized rows; fills acts[0..n_layers].  The skip
 * paths of a residual model are added to the code and to the output.
 */
void
ae_forward(const ae_model *m, const float *x, int B, float *work, float **acts)
{
	int			code = m->arch.n_hidden + 1;

	layout_acts(m, x, B, work, acts);
	for (int l = 0; l < m->n_layers; l++)
	{
		ae_dense_forward(acts[l + 1], acts[l], m->W[l], m->b[l], B,
						 m->dims[l], m->dims[l + 1], ae_layer_activation(m, l));
		if (AE_HAS_SKIP(m) && l + 1 == code)
			ae_add_skip(acts[code], x, m->Ae, m->ae, B, m->arch.n_input,
						m->arch.latent);
		else if (AE_HAS_SKIP(m) && l + 1 == m->n_layers)
			ae_add_skip(acts[l + 1], acts[code], m->Ad, m->ad, B,
						m->arch.latent, m->arch.n_input);
	}
}

/* Floats needed by ae_loss_grad and ae_mse for B rows. */
size_t
ae_grad_floats(const ae_model *m, int B)
{
	size_t		wide = (size_t) B * ae_model_max_dim(m);

	return ae_forward_floats(m, B) + 2 * wide + (size_t) B * m->arch.n_input +
		(size_t) B * m->arch.latent;
}

/* Loss and gradient of one batch without the similarity term. */
double
ae_loss_grad(const ae_model *m, const float *input, const float *target,
			 int B, double weight_decay, double sparsity, float *grads,
			 float *work, double *mse)
{
	ae_loss_opts o;

	memset(&o, 0, sizeof(o));
	o.weight_decay = weight_decay;
	o.sparsity = sparsity;
	return ae_loss_grad_ex(m, input, target, B, &o, grads, work, mse, NULL);
}

/*
 * Backward of a skip path out += b + in W^T, given delta (B, out_dim) =
 * dL/dout: dW += delta^T in, db += column sums of delta, and dx (B, in_dim)
 * = delta W unless dx is NULL.
 */
static void
skip_backward(const float *delta, const float *in, const float *W, float *dW,
			  float *db, float *dx, int B, int in_dim, int out_dim)
{
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out_dim, in_dim, B,
				1.0f, delta, out_dim, in, in_dim, 1.0f, dW, in_dim);
	for (int r = 0; r < B; r++)
		for (int j = 0; j < out_dim; j++)
			db[j] += delta[(size_t) r * out_dim + j];
	if (dx)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in_dim, out_dim,
					1.0f, delta, out_dim, W, in_dim, 0.0f, dx, in_dim);
}

/* Loss and gradient of one batch; see the file header for the loss. */
double
ae_loss_grad_ex(const ae_model *m, const float *input, const float *target,
				int B, const ae_loss_opts *o, float *grads, float *work,
				double *mse, double *sim)
{
	float	   *acts[AE_MAX_LAYERS + 1];
	int			L = m->n_layers,
				n = m->arch.n_input,
				k = m->arch.n_hidden,
				c = m->arch.latent;
	size_t		wide = (size_t) B * ae_model_max_dim(m);
	float	   *delta = work + ae_forward_floats(m, B);
	float	   *delta2 = delta + wide;
	float	   *dz_skip = delta2 + wide + (size_t) B * n;	/* (B, latent) */
	const float *y;
	double		sq = 0.0,
				loss;
	float		gscale = (float) (2.0 / ((double) B * n));
	size_t		i0 = 0;
	double		weight_decay = o->weight_decay,
				sparsity = o->sparsity;

	if (sim)
		*sim = 0.0;

	ae_forward(m, input, B, work, acts);

	/* reconstruction term and its gradient 2 (y - t) / (B n) */
	y = acts[L];
#ifdef AE_HAVE_AVX2_KERNELS
	if (ae_use_avx2())
		i0 = reconstruction_avx2(y, target, delta, (size_t) B * n, gscale, &sq);
#endif
	for (size_t i = i0; i < (size_t) B * n; i++)
	{
		float		d = y[i] - target[i];

		sq += (double) d * d;
		delta[i] = gscale * d;
	}
	loss = sq / ((double) B * n);
	if (mse)
		*mse = loss;

	memset(grads, 0, sizeof(float) * m->n_params);
	for (int l = L - 1; l >= 0; l--)
	{
		size_t		off = (size_t) (m->W[l] - m->params);
		size_t		boff = (size_t) (m->b[l] - m->params);
		float	   *tmp;

		if (l == L - 1 && AE_HAS_SKIP(m))
			/* the decoder skip path, before the layer's backward changes delta */
			skip_backward(delta, acts[k + 1], m->Ad, grads + (m->Ad - m->params),
						  grads + (m->ad - m->params), dz_skip, B, c, n);
		if (l == k && AE_HAS_SKIP(m))
			for (size_t i = 0; i < (size_t) B * c; i++)
				delta[i] += dz_skip[i];
		if (l == k && o->sim_weight > 0.0 && B > 1)
		{
			/* the neighbour term on the code, the output of layer k */
			double		ls = ae_sim_loss_grad(acts[k + 1], o->sim_rows, B, c, n,
											  o->sim_temperature, delta,
											  (float) o->sim_weight, o->sim_work);

			loss += o->sim_weight * ls;
			if (sim)
				*sim = ls;
		}
		if (l == k && sparsity > 0.0)
		{
			/* L1 on the code, the output of layer k */
			const float *code = acts[k + 1];
			size_t		nc = (size_t) B * m->arch.latent;
			float		g = (float) (sparsity / (double) nc);
			double		l1 = 0.0;

			for (size_t i = 0; i < nc; i++)
			{
				l1 += fabs((double) code[i]);
				delta[i] += code[i] > 0.0f ? g : (code[i] < 0.0f ? -g : 0.0f);
			}
			loss += sparsity * l1 / (double) nc;
		}
		if (l == k && AE_HAS_SKIP(m))
			/* the encoder skip path: dAe = delta_z^T x, dae = column sums */
			skip_backward(delta, input, m->Ae, grads + (m->Ae - m->params),
						  grads + (m->ae - m->params), NULL, B, n, c);
		ae_dense_backward(l > 0 ? delta2 : NULL, grads + off, grads + boff,
						  delta, acts[l + 1], acts[l], m->W[l], B,
						  m->dims[l], m->dims[l + 1], ae_layer_activation(m, l));
		tmp = delta;
		delta = delta2;
		delta2 = tmp;
	}

	if (weight_decay > 0.0)
	{
		double		l2 = 0.0;
		float		wd = (float) weight_decay;

		for (int l = 0; l < L + 2 * AE_HAS_SKIP(m); l++)
		{
			/* every layer's W, then the skip paths' Ae and Ad */
			const float *W = l < L ? m->W[l] : (l == L ? m->Ae : m->Ad);
			size_t		off = (size_t) (W - m->params);
			size_t		cnt = l < L ? (size_t) m->dims[l] * m->dims[l + 1] :
				(size_t) n * c;

			for (size_t i = 0; i < cnt; i++)
			{
				l2 += (double) W[i] * W[i];
				grads[off + i] += wd * W[i];
			}
		}
		loss += 0.5 * weight_decay * l2;
	}
	return loss;
}

/* Mean reconstruction MSE over rows idx[0..n), B rows at a time. */
double
ae_mse(const ae_model *m, float *const *rows, const size_t *idx, size_t n,
	   int B, float *work)
{
	ae_loss_opts o;
	double		mse;

	memset(&o, 0, sizeof(o));	/* no similarity term */
	ae_val_objective(m, rows, idx, n, B, &o, NULL, work, NULL, &mse);
	return mse;
}

/*
 * The validation objective: MSE of rows idx[0..n) plus o->sim_weight times
 * the mean of L_sim over batches of B rows in index order, each batch
 * weighted by its rows.  The rows are scaled; L_sim compares codes with
 * the rows in input units, so standard and minmax batches are un-scaled
 * into sim_buf (B, n_input) (none and l2 need not be: a row's length does
 * not change a cosine).  cb->on_batch runs after every batch.  Returns
 * the objective; *mse gets the MSE.
 */
double
ae_val_objective(const ae_model *m, float *const *rows, const size_t *idx,
				 size_t n, int B, const ae_loss_opts *o, float *sim_buf,
				 float *work, const ae_train_callbacks *cb, double *mse)
{
	float	   *acts[AE_MAX_LAYERS + 1];
	int			d = m->arch.n_input;
	int			unscale = m->arch.scaling == AE_SCALING_STANDARD ||
		m->arch.scaling == AE_SCALING_MINMAX;
	float	   *batch = work + ae_forward_floats(m, B) +
		2 * (size_t) B * ae_model_max_dim(m);
	double		sq = 0.0,
				sim = 0.0;

	if (n == 0)
	{
		*mse = NAN;
		return NAN;
	}
	for (size_t start = 0; start < n; start += B)
	{
		int			cnt = (int) (n - start < (size_t) B ? n - start : (size_t) B);
		const float *y;

		for (int r = 0; r < cnt; r++)
			memcpy(batch + (size_t) r * d, rows[idx[start + r]],
				   sizeof(float) * d);
		ae_forward(m, batch, cnt, work, acts);
		y = acts[m->n_layers];
		for (size_t i = 0; i < (size_t) cnt * d; i++)
		{
			double		e = (double) y[i] - batch[i];

			sq += e * e;
		}
		if (o->sim_weight > 0.0 && cnt > 1)
		{
			if (unscale)
				for (int r = 0; r < cnt; r++)
					ae_scaling_unapply(m, batch + (size_t) r * d, sim_buf + (size_t) r * d);
			sim += cnt * ae_sim_loss_grad(acts[m->arch.n_hidden + 1],
										  unscale ? sim_buf : batch, cnt,
										  m->arch.latent, d, o->sim_temperature,
										  NULL, 0.0f, o->sim_work);
		}
		if (cb && cb->on_batch)
			cb->on_batch(cb->ctx);
	}
	*mse = sq / ((double) n * d);
	return *mse + (o->sim_weight > 0.0 ? o->sim_weight * sim / (double) n : 0.0);
}
