/*-------------------------------------------------------------------------
 *
 * ae_ref.c
 *	  Test oracles: a naive double-precision reference of the core's dense
 *	  layer kernels.  Linked into the unit tests only, never into the
 *	  extension.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_ref.h"

#include <math.h>

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
