/*-------------------------------------------------------------------------
 *
 * ae_layers.c
 *	  Dense layers: forward and backward through cblas_sgemm, activations,
 *	  and a naive double-precision reference of the same kernels.
 *
 * Shapes follow llm.c: x (B, in), W (out, in), b (out), y (B, out), all
 * row-major.  The fast forward is one sgemm with the bias broadcast into
 * the output first (beta = 1), then one pass applying the activation.
 * Backward needs only the activation's output y: every activation here has
 * a derivative expressible through y.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_core.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* Apply an activation in place to n floats. */
void
ae_activate(float *y, size_t n, ae_activation act)
{
	switch (act)
	{
		case AE_ACT_LINEAR:
			break;
		case AE_ACT_RELU:
			for (size_t i = 0; i < n; i++)
				y[i] = y[i] > 0.0f ? y[i] : 0.0f;
			break;
		case AE_ACT_TANH:
			for (size_t i = 0; i < n; i++)
				y[i] = tanhf(y[i]);
			break;
		case AE_ACT_SIGMOID:
			for (size_t i = 0; i < n; i++)
				y[i] = 1.0f / (1.0f + expf(-y[i]));
			break;
		case AE_ACT_ELU:
			for (size_t i = 0; i < n; i++)
				y[i] = y[i] > 0.0f ? y[i] : expm1f(y[i]);
			break;
		case AE_ACT_COUNT:
			break;
	}
}

/* Multiply dy in place by the activation's derivative, given its output y. */
static void
activation_backward(float *dy, const float *y, size_t n, ae_activation act)
{
	switch (act)
	{
		case AE_ACT_LINEAR:
		case AE_ACT_COUNT:
			break;
		case AE_ACT_RELU:
			for (size_t i = 0; i < n; i++)
				dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
			break;
		case AE_ACT_TANH:
			for (size_t i = 0; i < n; i++)
				dy[i] *= 1.0f - y[i] * y[i];
			break;
		case AE_ACT_SIGMOID:
			for (size_t i = 0; i < n; i++)
				dy[i] *= y[i] * (1.0f - y[i]);
			break;
		case AE_ACT_ELU:
			/* for z <= 0, y = e^z - 1 so dy/dz = y + 1 */
			for (size_t i = 0; i < n; i++)
				dy[i] *= y[i] > 0.0f ? 1.0f : y[i] + 1.0f;
			break;
	}
}

/* y = act(x W^T + b): bias broadcast, one sgemm, one activation pass. */
void
ae_dense_forward(float *y, const float *x, const float *W, const float *b,
				 int B, int in, int out, ae_activation act)
{
	for (int r = 0; r < B; r++)
		memcpy(y + (size_t) r * out, b, sizeof(float) * out);
	if (B == 1)
		cblas_sgemv(CblasRowMajor, CblasNoTrans, out, in, 1.0f, W, in, x, 1,
					1.0f, y, 1);
	else
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in,
					1.0f, x, in, W, in, 1.0f, y, out);
	ae_activate(y, (size_t) B * out, act);
}

/*
 * Backward of a dense layer.  dy (B, out) becomes the pre-activation
 * gradient dz in place; dW (out, in) += dz^T x; db (out) += column sums of
 * dz; dx (B, in) = dz W unless dx is NULL (the first layer).
 */
void
ae_dense_backward(float *dx, float *dW, float *db, float *dy, const float *y,
				  const float *x, const float *W, int B, int in, int out,
				  ae_activation act)
{
	activation_backward(dy, y, (size_t) B * out, act);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, B,
				1.0f, dy, out, x, in, 1.0f, dW, in);
	for (int r = 0; r < B; r++)
	{
		const float *row = dy + (size_t) r * out;

		for (int j = 0; j < out; j++)
			db[j] += row[j];
	}
	if (dx)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in, out,
					1.0f, dy, out, W, in, 0.0f, dx, in);
}

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
