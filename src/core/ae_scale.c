/*-------------------------------------------------------------------------
 *
 * ae_scale.c
 *	  Per-feature input scaling: fitted in double, applied in float.
 *
 * A model maps each input x to (x - shift) / scale and its outputs back by
 * y * scale + shift.  'standard' uses the mean and the population standard
 * deviation, 'minmax' the minimum and the range, 'none' 0 and 1.  A feature
 * that is constant keeps scale 1.  lo and hi record each feature's range in
 * input units for every kind, for clipping noise and for denoise.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_core.h"

#include <math.h>
#include <string.h>

/* Fit shift, scale, lo and hi of m on rows[0..n) (raw input units). */
void
ae_scaling_fit(ae_model *m, float *const *rows, size_t n, double *work)
{
	int			d = m->arch.n_input;
	double	   *mean = work;
	double	   *m2 = work + d;

	if (n == 0)
		return;
	memset(work, 0, sizeof(double) * 2 * d);
	for (int i = 0; i < d; i++)
		m->lo[i] = m->hi[i] = rows[0][i];

	/* only 'standard' needs the moments; the others need the range alone */
	if (m->arch.scaling != AE_SCALING_STANDARD)
		for (size_t r = 0; r < n; r++)
		{
			const float *x = rows[r];

			for (int i = 0; i < d; i++)
			{
				if (x[i] < m->lo[i])
					m->lo[i] = x[i];
				if (x[i] > m->hi[i])
					m->hi[i] = x[i];
			}
		}

	/* Welford's running mean and sum of squared deviations, per feature */
	for (size_t r = 0; r < n && m->arch.scaling == AE_SCALING_STANDARD; r++)
	{
		const float *x = rows[r];
		double		inv = 1.0 / (double) (r + 1);

		for (int i = 0; i < d; i++)
		{
			double		delta = x[i] - mean[i];

			mean[i] += delta * inv;
			m2[i] += delta * (x[i] - mean[i]);
			if (x[i] < m->lo[i])
				m->lo[i] = x[i];
			if (x[i] > m->hi[i])
				m->hi[i] = x[i];
		}
	}

	for (int i = 0; i < d; i++)
	{
		double		shift = 0.0,
					scale = 1.0;

		if (m->arch.scaling == AE_SCALING_STANDARD)
		{
			shift = mean[i];
			scale = sqrt(m2[i] / (double) n);
		}
		else if (m->arch.scaling == AE_SCALING_MINMAX)
		{
			shift = m->lo[i];
			scale = (double) m->hi[i] - m->lo[i];
		}
		if (!(scale > AE_MIN_SCALE) || !isfinite(scale))
			scale = 1.0;
		m->shift[i] = (float) shift;
		m->scale[i] = (float) scale;
	}
}

/* Scale one raw row in place into the network's units. */
void
ae_scaling_apply(const ae_model *m, float *row)
{
	for (int i = 0; i < m->arch.n_input; i++)
		row[i] = (row[i] - m->shift[i]) / m->scale[i];
}

/* Map network units back to input units: out = in * scale + shift. */
void
ae_scaling_unapply(const ae_model *m, const float *in, float *out)
{
	for (int i = 0; i < m->arch.n_input; i++)
		out[i] = in[i] * m->scale[i] + m->shift[i];
}
