/*-------------------------------------------------------------------------
 *
 * ae_ref.c
 *	  Test oracles: a naive double-precision reference of the core's dense
 *	  layer kernels, of the similarity term and of a whole network's loss.
 *	  Linked into the unit tests only, never into the extension.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Reference activation of one pre-activation value, in double. */
double
ae_ref_activate(double z, ae_activation act)
{
	switch (act)
	{
		case AE_ACT_RELU:
			return z > 0.0 ? z : 0.0;
		case AE_ACT_TANH:
			return tanh(z);
		case AE_ACT_SIGMOID:
			return 1.0 / (1.0 + exp(-z));
		case AE_ACT_ELU:
			return z > 0.0 ? z : expm1(z);
		default:
			return z;
	}
}

/* Reference derivative of an activation, from its output y. */
static double
ref_derivative(double y, ae_activation act)
{
	switch (act)
	{
		case AE_ACT_RELU:
			return y > 0.0 ? 1.0 : 0.0;
		case AE_ACT_TANH:
			return 1.0 - y * y;
		case AE_ACT_SIGMOID:
			return y * (1.0 - y);
		case AE_ACT_ELU:
			return y > 0.0 ? 1.0 : y + 1.0;
		default:
			return 1.0;
	}
}

/* Naive triple loop of ae_dense_forward in double. */
void
ae_ref_dense_forward(double *y, const double *x, const double *W,
					 const double *b, int B, int in, int out,
					 ae_activation act)
{
	for (int r = 0; r < B; r++)
		for (int j = 0; j < out; j++)
		{
			double		z = b[j];

			for (int i = 0; i < in; i++)
				z += x[(size_t) r * in + i] * W[(size_t) j * in + i];
			y[(size_t) r * out + j] = ae_ref_activate(z, act);
		}
}

/* Naive loops of ae_dense_backward in double, same contract. */
void
ae_ref_dense_backward(double *dx, double *dW, double *db, double *dy,
					  const double *y, const double *x, const double *W,
					  int B, int in, int out, ae_activation act)
{
	for (size_t k = 0; k < (size_t) B * out; k++)
		dy[k] *= ref_derivative(y[k], act);
	for (int r = 0; r < B; r++)
		for (int j = 0; j < out; j++)
		{
			double		g = dy[(size_t) r * out + j];

			db[j] += g;
			for (int i = 0; i < in; i++)
				dW[(size_t) j * in + i] += g * x[(size_t) r * in + i];
		}
	if (dx)
		for (int r = 0; r < B; r++)
			for (int i = 0; i < in; i++)
			{
				double		s = 0.0;

				for (int j = 0; j < out; j++)
					s += dy[(size_t) r * out + j] * W[(size_t) j * in + i];
				dx[(size_t) r * in + i] = s;
			}
}

/*
 * The neighbour KL loss of ae_sim.c in double, written from its definition:
 * rows normalised by sqrt(|v|^2 + eps^2), p_i and q_i the softmaxes over
 * j != i of the input and code cosines at temperature tau, the mean over
 * rows of KL(p_i || q_i).  z is (B, k), x (B, d).
 */
double
ae_ref_sim_loss(const double *z, const double *x, int B, int k, int d, double tau)
{
	const double eps = 1e-6;	/* AE_SIM_EPS */
	double		total = 0.0;

	if (B < 2)
		return 0.0;
	for (int i = 0; i < B; i++)
	{
		double		s[AE_REF_MAX_B],
					t[AE_REF_MAX_B],
					ms = -INFINITY,
					mt = -INFINITY,
					zs = 0.0,
					zt = 0.0,
					kl = 0.0;

		for (int j = 0; j < B; j++)
		{
			double		xi = eps * eps,
						xj = eps * eps,
						xx = 0.0,
						zi = eps * eps,
						zj = eps * eps,
						zz = 0.0;

			for (int c = 0; c < d; c++)
			{
				xi += x[(size_t) i * d + c] * x[(size_t) i * d + c];
				xj += x[(size_t) j * d + c] * x[(size_t) j * d + c];
				xx += x[(size_t) i * d + c] * x[(size_t) j * d + c];
			}
			for (int c = 0; c < k; c++)
			{
				zi += z[(size_t) i * k + c] * z[(size_t) i * k + c];
				zj += z[(size_t) j * k + c] * z[(size_t) j * k + c];
				zz += z[(size_t) i * k + c] * z[(size_t) j * k + c];
			}
			s[j] = xx / sqrt(xi * xj) / tau;
			t[j] = zz / sqrt(zi * zj) / tau;
			if (j != i)
			{
				ms = fmax(ms, s[j]);
				mt = fmax(mt, t[j]);
			}
		}
		for (int j = 0; j < B; j++)
			if (j != i)
			{
				zs += exp(s[j] - ms);
				zt += exp(t[j] - mt);
			}
		for (int j = 0; j < B; j++)
			if (j != i)
			{
				double		lp = s[j] - ms - log(zs),
							lq = t[j] - mt - log(zt);

				kl += exp(lp) * (lp - lq);
			}
		total += kl;
	}
	return total / B;
}

/*
 * The documented loss of a whole model (ae_net.c) in double from
 * parameters p laid out like m->params: the layers through the reference
 * kernels, the skip paths of a residual model added to the code and the
 * output, and every term (MSE, weight decay over all W, the skips' too,
 * sparsity on the code, the similarity term against sim_rows).  *mse gets
 * the first term and *margin the smallest distance of a relu
 * pre-activation (or, with sparsity, a code value) from its kink, each if
 * not NULL; code (B, latent) the code if not NULL.
 */
double
ae_ref_net_loss(const ae_model *m, const double *p, const double *input,
				const double *target, int B, const ae_ref_loss_opts *o,
				double *mse, double *margin, double *code)
{
	int			L = m->n_layers,
				k = m->arch.n_hidden,
				n = m->arch.n_input,
				c = m->arch.latent,
				wide = ae_model_max_dim(m);
	double	   *a = calloc((size_t) B * wide, sizeof(double)),
			   *z = calloc((size_t) B * wide, sizeof(double)),
			   *zc = calloc((size_t) B * c, sizeof(double));
	double		marg = INFINITY,
				sq = 0.0,
				w2 = 0.0,
				l1 = 0.0,
				loss;

	memcpy(a, input, sizeof(double) * B * n);
	for (int l = 0; l < L; l++)
	{
		int			din = m->dims[l],
					dout = m->dims[l + 1];
		ae_activation act = ae_layer_activation(m, l);
		const double *W = p + (m->W[l] - m->params);
		const double *b = p + (m->b[l] - m->params);

		ae_ref_dense_forward(z, a, W, b, B, din, dout, AE_ACT_LINEAR);
		for (int i = 0; i < B * dout; i++)
		{
			if (act == AE_ACT_RELU)
				marg = fmin(marg, fabs(z[i]));
			a[i] = ae_ref_activate(z[i], act);
		}
		for (size_t i = 0; i < (size_t) din * dout; i++)
			w2 += W[i] * W[i];
		if (AE_HAS_SKIP(m) && (l == k || l == L - 1))
		{
			/* the skip path: from the input to the code, from the code out */
			const double *Ws = p + ((l == k ? m->Ae : m->Ad) - m->params);
			const double *bs = p + ((l == k ? m->ae : m->ad) - m->params);
			const double *from = l == k ? input : zc;
			int			fin = l == k ? n : c;

			ae_ref_dense_forward(z, from, Ws, bs, B, fin, dout, AE_ACT_LINEAR);
			for (int i = 0; i < B * dout; i++)
				a[i] += z[i];
			for (size_t i = 0; i < (size_t) fin * dout; i++)
				w2 += Ws[i] * Ws[i];
		}
		if (l == k)
		{
			memcpy(zc, a, sizeof(double) * B * c);
			for (int i = 0; i < B * c; i++)
			{
				l1 += fabs(a[i]);
				if (o->sparsity > 0.0)
					marg = fmin(marg, fabs(a[i]));
			}
		}
	}
	for (int i = 0; i < B * n; i++)
		sq += (a[i] - target[i]) * (a[i] - target[i]);
	loss = sq / ((double) B * n) + 0.5 * o->weight_decay * w2 +
		o->sparsity * l1 / ((double) B * c);
	if (o->sim_weight > 0.0)
		loss += o->sim_weight * ae_ref_sim_loss(zc, o->sim_rows, B, c, n, o->sim_temperature);
	if (mse)
		*mse = sq / ((double) B * n);
	if (margin)
		*margin = marg;
	if (code)
		memcpy(code, zc, sizeof(double) * B * c);
	free(a);
	free(z);
	free(zc);
	return loss;
}

/* Central differences of ae_ref_net_loss (see ae_ref.h). */
double
ae_ref_net_grad(const ae_model *m, double *p, const double *input,
				const double *target, int B, const ae_ref_loss_opts *o,
				double *num)
{
	const double eps = 1e-6;
	double		gmax = 0.0;

	for (size_t i = 0; i < m->n_params; i++)
	{
		double		save = p[i],
					lp,
					lm;

		p[i] = save + eps;
		lp = ae_ref_net_loss(m, p, input, target, B, o, NULL, NULL, NULL);
		p[i] = save - eps;
		lm = ae_ref_net_loss(m, p, input, target, B, o, NULL, NULL, NULL);
		p[i] = save;
		num[i] = (lp - lm) / (2.0 * eps);
		gmax = fmax(gmax, fabs(num[i]));
	}
	return gmax;
}

/* The gradient checks' worst error against their tolerance (see ae_ref.h). */
double
ae_ref_grad_worst(const float *grads, const double *num, size_t n,
				  double gmax, int *worst_i)
{
	double		worst = 0.0;

	*worst_i = -1;
	for (size_t i = 0; i < n; i++)
	{
		double		allowed = 2e-3 * fabs(num[i]) + 2e-5 * fmax(gmax, 1.0),
					ratio = fabs((double) grads[i] - num[i]) / allowed;

		if (isnan(grads[i]))
			ratio = INFINITY;
		if (ratio > worst)
		{
			worst = ratio;
			*worst_i = (int) i;
		}
	}
	return worst;
}
