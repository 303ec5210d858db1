/*-------------------------------------------------------------------------
 *
 * ae_infer.c
 *	  Inference on raw inputs: encode, decode, reconstruct, error.
 *
 * Every function takes any number of rows, so a caller may pass one row
 * (the per-row SQL functions) or a block (the batch path, one sgemm per
 * layer).  Inputs are scaled with the model's scaling, outputs scaled back.
 * work holds ae_infer_floats(m, rows) floats: a scaled copy of the input,
 * an output buffer, the rows' lengths and the layers' activations.
 *
 * Scaling 'l2' divides each row by its length: encode sees unit rows, a
 * reconstruction is multiplied back by the input row's length (so
 * reconstruct, denoise and reconstruction_error are in input units), and
 * decode, which has no input row, returns unit-scale rows.  A residual
 * model adds its skip paths to the code and to the output (ae_add_skip).
 *
 *-------------------------------------------------------------------------
 */
#include "ae_core.h"

#include <string.h>

/* Floats of work needed for rows rows. */
size_t
ae_infer_floats(const ae_model *m, int rows)
{
	return 2 * (size_t) rows * m->arch.n_input + (size_t) rows +
		ae_forward_floats(m, rows);
}

/* Where the activations start in work (after input, output and lengths). */
static float *
acts_of(const ae_model *m, int rows, float *work)
{
	return work + 2 * (size_t) rows * m->arch.n_input + (size_t) rows;
}

/* Where the rows' lengths are kept in work. */
static float *
norms_of(const ae_model *m, int rows, float *work)
{
	return work + 2 * (size_t) rows * m->arch.n_input;
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
						 m->dims[l + 1], ae_layer_activation(m, l));
		in = act;
		act += (size_t) rows * m->dims[l + 1];
	}
	return in;
}

/*
 * The code of network input x (rows, n_input): the encoder layers and, for
 * a residual model, the encoder skip path.  Returns it (in act).
 */
static const float *
run_encoder(const ae_model *m, const float *x, int rows, float *act)
{
	const float *z = run_layers(m, x, rows, 0, m->arch.n_hidden + 1, act);

	if (AE_HAS_SKIP(m))
		ae_add_skip((float *) z, x, m->Ae, m->ae, rows, m->arch.n_input,
					m->arch.latent);
	return z;
}

/*
 * The network's output for codes z (rows, latent): the decoder layers and,
 * for a residual model, the decoder skip path.  act is scratch.
 */
static const float *
run_decoder(const ae_model *m, const float *z, int rows, float *act)
{
	const float *y = run_layers(m, z, rows, m->arch.n_hidden + 1, m->n_layers, act);

	if (AE_HAS_SKIP(m))
		ae_add_skip((float *) y, z, m->Ad, m->ad, rows, m->arch.latent,
					m->arch.n_input);
	return y;
}

/*
 * The network's input for raw rows x: x itself when the scaling is the
 * identity (scaling 'none'), else x scaled into buf; each row's factor back
 * to input units (its length for 'l2', else 1) goes into norms.
 */
static const float *
scaled_input(const ae_model *m, const float *x, int rows, float *buf,
			 float *norms)
{
	for (int r = 0; r < rows; r++)
		norms[r] = 1.0f;
	if (m->arch.scaling == AE_SCALING_NONE)
		return x;
	memcpy(buf, x, sizeof(float) * rows * (size_t) m->arch.n_input);
	for (int r = 0; r < rows; r++)
		norms[r] = ae_scaling_apply(m, buf + (size_t) r * m->arch.n_input);
	return buf;
}

/*
 * Scale network outputs back to input units, clamping to the training
 * range (in network units for 'l2') if asked, then times each row's
 * length (norms NULL: 1).
 */
static void
unscale_rows(const ae_model *m, const float *y, int rows, float *out,
			 int clamp, const float *norms)
{
	int			d = m->arch.n_input;

	for (int r = 0; r < rows; r++)
	{
		float	   *o = out + (size_t) r * d;

		ae_scaling_unapply(m, y + (size_t) r * d, o);
		if (clamp)
			for (int i = 0; i < d; i++)
				o[i] = o[i] < m->lo[i] ? m->lo[i] : (o[i] > m->hi[i] ? m->hi[i] : o[i]);
		if (norms && norms[r] != 1.0f)
			for (int i = 0; i < d; i++)
				o[i] *= norms[r];
	}
}

/* Latent codes (rows, latent) of raw rows x (rows, n_input). */
void
ae_encode(const ae_model *m, const float *x, int rows, float *code,
		  float *work)
{
	const float *y;

	y = run_encoder(m, scaled_input(m, x, rows, work, norms_of(m, rows, work)),
					rows, acts_of(m, rows, work));
	memcpy(code, y, sizeof(float) * rows * (size_t) m->arch.latent);
}

/*
 * Decoded rows (rows, n_input) in input units from codes (rows, latent);
 * for 'l2', unit-scale rows.
 */
void
ae_decode(const ae_model *m, const float *code, int rows, float *out,
		  float *work)
{
	const float *y;

	y = run_decoder(m, code, rows, acts_of(m, rows, work));
	unscale_rows(m, y, rows, out, 0, NULL);
}

/* Reconstruction of raw rows, in input units; clamp to [lo, hi] if asked. */
void
ae_reconstruct(const ae_model *m, const float *x, int rows, float *out,
			   int clamp, float *work)
{
	float	   *act = acts_of(m, rows, work);
	float	   *norms = norms_of(m, rows, work);
	const float *z;

	z = run_encoder(m, scaled_input(m, x, rows, work, norms), rows, act);
	/* the decoder's scratch follows the encoder's activations */
	for (int l = 0; l <= m->arch.n_hidden; l++)
		act += (size_t) rows * m->dims[l + 1];
	unscale_rows(m, run_decoder(m, z, rows, act), rows, out, clamp, norms);
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

/*
 * Per-row error in input units of scaled rows idx[0..n), B at a time; for
 * 'l2' norms[idx[i]] is row idx[i]'s length.
 */
void
ae_row_errors(const ae_model *m, float *const *rows, const size_t *idx,
			  size_t n, int B, const float *norms, float *work, double *err)
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
			if (norms)
				s *= (double) norms[idx[start + r]] * norms[idx[start + r]];
			err[start + r] = s / d;
		}
	}
}

