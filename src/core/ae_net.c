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
 * Losses are summed in double; gradients are float, as in the layers.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_core.h"
#include "ae_simd.h"

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

/* Activation of layer l: the hidden one except for the last layer. */
static inline ae_activation
layer_act(const ae_model *m, int l)
{
	return l == m->n_layers - 1 ? m->arch.output_activation :
		m->arch.activation;
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

/* Forward pass of B normalized rows; fills acts[0..n_layers]. */
void
ae_forward(const ae_model *m, const float *x, int B, float *work, float **acts)
{
	layout_acts(m, x, B, work, acts);
	for (int l = 0; l < m->n_layers; l++)
		ae_dense_forward(acts[l + 1], acts[l], m->W[l], m->b[l], B,
						 m->dims[l], m->dims[l + 1], layer_act(m, l));
}

/* Floats needed by ae_loss_grad and ae_mse for B rows. */
size_t
ae_grad_floats(const ae_model *m, int B)
{
	size_t		wide = (size_t) B * ae_model_max_dim(m);

	return ae_forward_floats(m, B) + 2 * wide + (size_t) B * m->arch.n_input;
}

/* Loss and gradient of one batch; see the file header for the loss. */
double
ae_loss_grad(const ae_model *m, const float *input, const float *target,
			 int B, double weight_decay, double sparsity, float *grads,
			 float *work, double *mse)
{
	float	   *acts[AE_MAX_LAYERS + 1];
	int			L = m->n_layers,
				n = m->arch.n_input,
				k = m->arch.n_hidden;
	size_t		wide = (size_t) B * ae_model_max_dim(m);
	float	   *delta = work + ae_forward_floats(m, B);
	float	   *delta2 = delta + wide;
	const float *y;
	double		sq = 0.0,
				loss;
	float		gscale = (float) (2.0 / ((double) B * n));
	size_t		i0 = 0;

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
		ae_dense_backward(l > 0 ? delta2 : NULL, grads + off, grads + boff,
						  delta, acts[l + 1], acts[l], m->W[l], B,
						  m->dims[l], m->dims[l + 1], layer_act(m, l));
		tmp = delta;
		delta = delta2;
		delta2 = tmp;
	}

	if (weight_decay > 0.0)
	{
		double		l2 = 0.0;
		float		wd = (float) weight_decay;

		for (int l = 0; l < L; l++)
		{
			size_t		off = (size_t) (m->W[l] - m->params);
			size_t		cnt = (size_t) m->dims[l] * m->dims[l + 1];

			for (size_t i = 0; i < cnt; i++)
			{
				l2 += (double) m->W[l][i] * m->W[l][i];
				grads[off + i] += wd * m->W[l][i];
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
	float	   *acts[AE_MAX_LAYERS + 1];
	int			d = m->arch.n_input;
	float	   *batch = work + ae_forward_floats(m, B) +
		2 * (size_t) B * ae_model_max_dim(m);
	double		sq = 0.0;

	if (n == 0)
		return NAN;
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
	}
	return sq / ((double) n * d);
}
