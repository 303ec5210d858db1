/*-------------------------------------------------------------------------
 *
 * ae_infer.c
 *	  Inference on raw inputs: encode, decode, reconstruct, error.
 *
 * Every function takes any number of rows, so a caller may pass one row
 * (the per-row SQL functions) or a block (the batch path, one sgemm per
 * layer).  Inputs are scaled with the model's scaling, outputs scaled back.
 * work holds ae_infer_floats(m, rows) floats: a scaled copy of the input,
 * an output buffer and the layers' activations.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_core.h"

#include <string.h>

/* Floats of work needed for rows rows. */
size_t
ae_infer_floats(const ae_model *m, int rows)
{
	return 2 * (size_t) rows * m->arch.n_input + ae_forward_floats(m, rows);
}

/* Activation of layer l. */
static inline ae_activation
layer_act(const ae_model *m, int l)
{
	return l == m->n_layers - 1 ? m->arch.output_activation :
		m->arch.activation;
}

/*
 * Run layers [from, to) on x (rows, dims[from]) using act as scratch laid
 * out like ae_forward; returns the last output.
 */
static const float *
run_layers(const ae_model *m, const float *x, int rows, int from, int to,
		   float *act)
{
	const float *in = x;

	for (int l = from; l < to; l++)
	{
		ae_dense_forward(act, in, m->W[l], m->b[l], rows, m->dims[l],
						 m->dims[l + 1], layer_act(m, l));
		in = act;
		act += (size_t) rows * m->dims[l + 1];
	}
	return in;
}

/*
 * The network's input for raw rows x: x itself when the scaling is the
 * identity (scaling 'none'), else x scaled into buf.
 */
static const float *
scaled_input(const ae_model *m, const float *x, int rows, float *buf)
{
	if (m->arch.scaling == AE_SCALING_NONE)
		return x;
	memcpy(buf, x, sizeof(float) * rows * (size_t) m->arch.n_input);
	for (int r = 0; r < rows; r++)
		ae_scaling_apply(m, buf + (size_t) r * m->arch.n_input);
	return buf;
}

/* Scale network outputs back to input units, clamping if asked. */
static void
unscale_rows(const ae_model *m, const float *y, int rows, float *out,
			 int clamp)
{
	int			d = m->arch.n_input;

	for (int r = 0; r < rows; r++)
	{
		float	   *o = out + (size_t) r * d;

		ae_scaling_unapply(m, y + (size_t) r * d, o);
		if (clamp)
			for (int i = 0; i < d; i++)
				o[i] = o[i] < m->lo[i] ? m->lo[i] : (o[i] > m->hi[i] ? m->hi[i] : o[i]);
	}
}

/* Latent codes (rows, latent) of raw rows x (rows, n_input). */
void
ae_encode(const ae_model *m, const float *x, int rows, float *code,
		  float *work)
{
	float	   *act = work + 2 * (size_t) rows * m->arch.n_input;
	const float *y;

	y = run_layers(m, scaled_input(m, x, rows, work), rows, 0,
				   m->arch.n_hidden + 1, act);
	memcpy(code, y, sizeof(float) * rows * (size_t) m->arch.latent);
}

/* Decoded rows (rows, n_input) in input units from codes (rows, latent). */
void
ae_decode(const ae_model *m, const float *code, int rows, float *out,
		  float *work)
{
	float	   *act = work + 2 * (size_t) rows * m->arch.n_input;
	const float *y;

	y = run_layers(m, code, rows, m->arch.n_hidden + 1, m->n_layers, act);
	unscale_rows(m, y, rows, out, 0);
}

/* Reconstruction of raw rows, in input units; clamp to [lo, hi] if asked. */
void
ae_reconstruct(const ae_model *m, const float *x, int rows, float *out,
			   int clamp, float *work)
{
	float	   *act = work + 2 * (size_t) rows * m->arch.n_input;
	const float *y;

	y = run_layers(m, scaled_input(m, x, rows, work), rows, 0, m->n_layers, act);
	unscale_rows(m, y, rows, out, clamp);
}

/* Per-row mean squared error of the reconstruction, in input units. */
void
ae_reconstruction_error(const ae_model *m, const float *x, int rows,
						double *err, float *work)
{
	int			d = m->arch.n_input;
	float	   *out = work + (size_t) rows * d;

	ae_reconstruct(m, x, rows, out, 0, work);
	for (int r = 0; r < rows; r++)
	{
		double		s = 0.0;

		for (int i = 0; i < d; i++)
		{
			double		e = (double) out[(size_t) r * d + i] - x[(size_t) r * d + i];

			s += e * e;
		}
		err[r] = s / d;
	}
}

/* Floats of work for ae_row_errors with blocks of B rows. */
size_t
ae_row_errors_floats(const ae_model *m, int B)
{
	return (size_t) B * m->arch.n_input + ae_forward_floats(m, B);
}

/* Per-row error in input units of scaled rows idx[0..n), B at a time. */
void
ae_row_errors(const ae_model *m, float *const *rows, const size_t *idx,
			  size_t n, int B, float *work, double *err)
{
	int			d = m->arch.n_input;
	float	   *batch = work;
	float	   *acts[AE_MAX_LAYERS + 1];

	for (size_t start = 0; start < n; start += B)
	{
		int			cnt = (int) (n - start < (size_t) B ? n - start : (size_t) B);
		const float *y;

		for (int r = 0; r < cnt; r++)
			memcpy(batch + (size_t) r * d, rows[idx[start + r]], sizeof(float) * d);
		ae_forward(m, batch, cnt, work + (size_t) B * d, acts);
		y = acts[m->n_layers];
		for (int r = 0; r < cnt; r++)
		{
			double		s = 0.0;

			for (int i = 0; i < d; i++)
			{
				double		e = ((double) y[(size_t) r * d + i] -
								 batch[(size_t) r * d + i]) * m->scale[i];

				s += e * e;
			}
			err[start + r] = s / d;
		}
	}
}
