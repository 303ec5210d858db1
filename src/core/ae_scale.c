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
 * 'l2' is row-wise: each row is divided by its length (computed in double;
 * a row shorter than AE_MIN_ROW_NORM is left as it is), shift is 0 and
 * scale 1, and lo and hi are the ranges of the unit rows.  Outputs are
 * multiplied back by the input row's length where there is one.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_core.h"

#include <math.h>
#include <string.h>

/* The factor that takes row x to unit length: 1 / length, or 1. */
static float
inverse_length(const float *x, int d, float *length)
{
	double		s = 0.0;

	for (int i = 0; i < d; i++)
		s += (double) x[i] * x[i];
	s = sqrt(s);
	*length = s > AE_MIN_ROW_NORM ? (float) s : 1.0f;
	return s > AE_MIN_ROW_NORM ? (float) (1.0 / s) : 1.0f;
}

/* Scale row (d floats) to unit length in place; returns its length. */
float
ae_l2_normalize(float *row, int d)
{
	float		len,
				inv = inverse_length(row, d, &len);

	for (int i = 0; i < d; i++)
		row[i] *= inv;
	return len;
}

/* lo and hi of m: the ranges of raw rows[0..n) scaled to unit length. */
static void
unit_ranges(ae_model *m, float *const *rows, size_t n)
{
	int			d = m->arch.n_input;

	for (size_t r = 0; r < n; r++)
	{
		float		len,
					inv = inverse_length(rows[r], d, &len);

		for (int i = 0; i < d; i++)
		{
			float		v = rows[r][i] * inv;

			if (r == 0 || v < m->lo[i])
				m->lo[i] = v;
			if (r == 0 || v > m->hi[i])
				m->hi[i] = v;
		}
	}
}

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
	if (m->arch.scaling == AE_SCALING_L2)
	{
		for (int i = 0; i < d; i++)
		{
			m->shift[i] = 0.0f;
			m->scale[i] = 1.0f;
		}
		unit_ranges(m, rows, n);
		return;
	}
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

/*
 * Scale one raw row in place into the network's units; returns its length
 * for 'l2' (what an output is multiplied by to return to input units),
 * else 1.
 */
float
ae_scaling_apply(const ae_model *m, float *row)
{
	if (m->arch.scaling == AE_SCALING_L2)
		return ae_l2_normalize(row, m->arch.n_input);
	for (int i = 0; i < m->arch.n_input; i++)
		row[i] = (row[i] - m->shift[i]) / m->scale[i];
	return 1.0f;
}

/*
 * Scale rows[0..n) in place ('none' is the identity and is skipped); for
 * 'l2' each row's length goes into norms (if not NULL), and with set_range
 * lo and hi become the ranges of the unit rows.
 */
void
ae_scale_rows(ae_model *m, float *const *rows, size_t n, float *norms,
			  int set_range)
{
	if (m->arch.scaling == AE_SCALING_L2 && set_range)
		unit_ranges(m, rows, n);
	if (m->arch.scaling == AE_SCALING_NONE)
		return;
	for (size_t r = 0; r < n; r++)
	{
		float		len = ae_scaling_apply(m, rows[r]);

		if (norms)
			norms[r] = len;
	}
}

/* Map network units back to input units: out = in * scale + shift. */
void
ae_scaling_unapply(const ae_model *m, const float *in, float *out)
{
	for (int i = 0; i < m->arch.n_input; i++)
		out[i] = in[i] * m->scale[i] + m->shift[i];
}
