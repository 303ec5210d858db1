/*-------------------------------------------------------------------------
 *
 * ae_align.c
 *	  Orthogonal Procrustes alignment of a new model's codes onto a
 *	  reference model's (see ae_align.h).
 *
 * With a_i = z_new_i - mean(z_new) and b_i = z_ref_i - mean(z_ref) over the
 * sample rows, the orthogonal Q minimising sum |Q a_i - b_i|^2 is U V^T,
 * where M = sum b_i a_i^T = U S V^T (LAPACK dgesvd); the scale
 * s = trace(S) / sum |a_i|^2 then minimises sum |s Q a_i - b_i|^2 and the
 * translation t = mean(z_ref) - s Q mean(z_new) matches the means.  A
 * rotation and one scale change no distance ranking among the new codes,
 * so the new version's own neighbours stay what they were.  M, the means
 * and the mismatch figures are accumulated in double; Q is unique when M
 * has full rank, so the result is deterministic.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_align.h"

#include <cblas.h>
#include <string.h>

#define ALIGN_BLOCK 256			/* rows encoded at once */

extern void dgesvd_(const char *jobu, const char *jobvt, const int *m,
					const int *n, double *a, const int *lda, double *s,
					double *u, const int *ldu, double *vt, const int *ldvt,
					double *work, const int *lwork, int *info, size_t,
					size_t);

/* Whether m's code is a linear function of its last encoder layer. */
int
ae_code_is_linear(const ae_model *m)
{
	/* layer n_hidden writes the code (linear in a residual model) */
	return ae_layer_activation(m, m->arch.n_hidden) == AE_ACT_LINEAR;
}

/* Whether m can be aligned to ref: linear code, same input and code sizes. */
int
ae_align_compatible(const ae_model *m, const ae_model *ref)
{
	return ae_code_is_linear(m) && m->arch.n_input == ref->arch.n_input &&
		m->arch.latent == ref->arch.latent;
}

/*
 * Codes (n, latent) of rows idx[0..n) by m into codes; the rows are raw,
 * or scaled with m's scaling when scaled is 1 (they are scaled back
 * first).  x and work are a block's buffers.
 */
static void
encode_rows(const ae_model *m, float *const *rows, const size_t *idx, size_t n,
			int scaled, float *codes, float *x, float *work,
			const ae_train_callbacks *cb)
{
	int			d = m->arch.n_input;

	for (size_t start = 0; start < n; start += ALIGN_BLOCK)
	{
		int			cnt = (int) (n - start < ALIGN_BLOCK ? n - start : ALIGN_BLOCK);

		for (int r = 0; r < cnt; r++)
		{
			const float *row = rows[idx[start + r]];

			if (scaled)
				ae_scaling_unapply(m, row, x + (size_t) r * d);
			else
				memcpy(x + (size_t) r * d, row, sizeof(float) * d);
		}
		ae_encode(m, x, cnt, codes + start * m->arch.latent, work);
		if (cb && cb->on_batch)
			cb->on_batch(cb->ctx);
	}
}

/* The reference codes of n raw rows; NULL when out of memory. */
float *
ae_align_codes(const ae_model *ref, const float *const *rows, const size_t *idx,
			   size_t n, const ae_allocator *alloc, const ae_train_callbacks *cb)
{
	int			d = ref->arch.n_input;
	float	   *codes = alloc->alloc(alloc->ctx, sizeof(float) * (n ? n : 1) * ref->arch.latent);
	float	   *x = alloc->alloc(alloc->ctx, sizeof(float) * ALIGN_BLOCK * d);
	float	   *work = alloc->alloc(alloc->ctx, sizeof(float) * ae_infer_floats(ref, ALIGN_BLOCK));

	if (codes && x && work)
		encode_rows(ref, (float *const *) rows, idx, n, 0, codes, x, work, cb);
	if (x)
		alloc->release(alloc->ctx, x);
	if (work)
		alloc->release(alloc->ctx, work);
	if (codes && (!x || !work))
	{
		alloc->release(alloc->ctx, codes);
		codes = NULL;
	}
	return codes;
}

/* Column means of z (n, k) into mu, in double. */
static void
means(const float *z, size_t n, int k, double *mu)
{
	memset(mu, 0, sizeof(double) * k);
	for (size_t i = 0; i < n; i++)
		for (int a = 0; a < k; a++)
			mu[a] += z[i * k + a];
	for (int a = 0; a < k; a++)
		mu[a] /= (double) (n ? n : 1);
}

/*
 * Sum over rows of |R zn_i + t - zr_i|^2 (R NULL: the identity and t = 0),
 * and, into *spread, of |zr_i - mur|^2.
 */
static double
mismatch(const float *zn, const float *zr, size_t n, int k, const double *R,
		 const double *t, const double *mur, double *spread)
{
	double		sum = 0.0;

	*spread = 0.0;
	for (size_t i = 0; i < n; i++)
		for (int a = 0; a < k; a++)
		{
			double		v = zn[i * k + a];

			if (R)
			{
				v = t[a];
				for (int b = 0; b < k; b++)
					v += R[a * k + b] * zn[i * k + b];
			}
			sum += (v - zr[i * k + a]) * (v - zr[i * k + a]);
			*spread += (zr[i * k + a] - mur[a]) * (zr[i * k + a] - mur[a]);
		}
	return sum;
}

/*
 * Q = U V^T from the SVD of M = sum (zr_i - mur)(zn_i - mun)^T, and the
 * scale s = trace(S) / sum |zn_i - mun|^2 into *s; buf holds
 * 2 n k + 3 k^2 + k + lwork doubles.  0 if LAPACK failed.
 */
static int
procrustes(const float *zn, const float *zr, size_t n, int k, const double *mun,
		   const double *mur, double *Q, double *s, double *buf, int lwork)
{
	double	   *cn = buf,
			   *cr = cn + n * k,
			   *M = cr + n * k,
			   *U = M + (size_t) k * k,
			   *VT = U + (size_t) k * k,
			   *S = VT + (size_t) k * k,
			   *work = S + k,
				spread = 0.0,
				trace = 0.0;
	int			info = 0,
				nk = k;

	for (size_t i = 0; i < n; i++)
		for (int a = 0; a < k; a++)
		{
			cn[i * k + a] = zn[i * k + a] - mun[a];
			cr[i * k + a] = zr[i * k + a] - mur[a];
			spread += cn[i * k + a] * cn[i * k + a];
		}
	/* M^T = cn^T cr, row-major (k x k), is M column-major: what LAPACK reads */
	cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, k, (int) n, 1.0,
				cn, k, cr, k, 0.0, M, k);
	dgesvd_("A", "A", &nk, &nk, M, &nk, S, U, &nk, VT, &nk, work, &lwork, &info, 1, 1);
	if (info != 0)
		return 0;
	/* Q = U VT with U, VT column-major: Q(i, j) = sum_l U(i, l) VT(l, j) */
	for (int i = 0; i < k; i++)
	{
		trace += S[i];
		for (int j = 0; j < k; j++)
		{
			double		v = 0.0;

			for (int l = 0; l < k; l++)
				v += U[i + (size_t) l * k] * VT[l + (size_t) j * k];
			Q[(size_t) i * k + j] = v;
		}
	}
	*s = spread > 0.0 && trace > 0.0 ? trace / spread : 1.0;
	return 1;
}

/* Rotate m's code space onto ref_codes; see ae_align.h. */
ae_status
ae_align(ae_model *m, float *const *rows, const size_t *idx, size_t n,
		 int m_scaled, const float *ref_codes, const ae_allocator *alloc,
		 const ae_train_callbacks *cb, ae_align_stats *stats, ae_error *err)
{
	int			k = m->arch.latent,
				d = m->arch.n_input,
				lwork = 5 * k + 64 * k;
	/* procrustes's scratch (2 n k + 3 k^2 + k + lwork), then R, t, means, tmp */
	size_t		scratch = 2 * n * k + 3 * (size_t) k * k + (size_t) k + (size_t) lwork;
	size_t		nd = scratch + (size_t) k * k + 4 * (size_t) k;
	float	   *zn = alloc->alloc(alloc->ctx, sizeof(float) * (n ? n : 1) * k);
	float	   *x = alloc->alloc(alloc->ctx, sizeof(float) * ALIGN_BLOCK * d);
	float	   *work = alloc->alloc(alloc->ctx, sizeof(float) * ae_infer_floats(m, ALIGN_BLOCK));
	double	   *buf = alloc->alloc(alloc->ctx, sizeof(double) * nd);
	ae_status	st = AE_OK;

	memset(stats, 0, sizeof(*stats));
	if (!zn || !x || !work || !buf)
		st = ae_fail(err, AE_ENOMEM, "out of memory");
	else if (n < 2)
		st = ae_fail(err, AE_EINVAL, "too few rows to align the codes");
	else
	{
		double	   *R = buf + scratch,
				   *t = R + (size_t) k * k,
				   *mun = t + k,
				   *mur = mun + k,
				   *tmp = mur + k,
					spread,
					scale;

		encode_rows(m, rows, idx, n, m_scaled, zn, x, work, cb);
		means(zn, n, k, mun);
		means(ref_codes, n, k, mur);
		stats->before = mismatch(zn, ref_codes, n, k, NULL, NULL, mur, &spread);
		if (!procrustes(zn, ref_codes, n, k, mun, mur, R, &scale, buf, lwork))
			st = ae_fail(err, AE_EINVAL, "the rotation onto the reference codes could not be computed");
		else
		{
			for (int a = 0; a < k; a++)
			{
				t[a] = mur[a];
				for (int b = 0; b < k; b++)
					t[a] -= scale * R[(size_t) a * k + b] * mun[b];
			}
			for (size_t i = 0; i < (size_t) k * k; i++)
				R[i] *= scale;
			stats->after = mismatch(zn, ref_codes, n, k, R, t, mur, &spread);
			stats->before /= spread > 0 ? spread : 1.0;
			stats->after /= spread > 0 ? spread : 1.0;
			stats->scale = scale;
			stats->rows = n;
			for (size_t i = 0; i < (size_t) k * k; i++)
				R[i] /= scale;
			ae_align_apply(m, R, scale, t, tmp);
		}
	}
	if (zn)
		alloc->release(alloc->ctx, zn);
	if (x)
		alloc->release(alloc->ctx, x);
	if (work)
		alloc->release(alloc->ctx, work);
	if (buf)
		alloc->release(alloc->ctx, buf);
	return st;
}

/* W (k, cols) <- R W, one column at a time through col (k doubles). */
static void
rotate_rows_of(float *W, int k, int cols, const double *R, double *col)
{
	for (int j = 0; j < cols; j++)
	{
		for (int a = 0; a < k; a++)
			col[a] = W[(size_t) a * cols + j];
		for (int i = 0; i < k; i++)
		{
			double		v = 0.0;

			for (int a = 0; a < k; a++)
				v += R[(size_t) i * k + a] * col[a];
			W[(size_t) i * cols + j] = (float) v;
		}
	}
}

/*
 * W (rows, k) <- W R^T / s and b <- b - (W R^T / s) t: a layer reading z
 * reads z' = s R z + t the same way (R orthogonal).  row holds k doubles.
 */
static void
unrotate_inputs_of(float *W, float *b, int rows, int k, const double *R,
				   double s, const double *t, double *row)
{
	for (int r = 0; r < rows; r++)
	{
		float	   *w = W + (size_t) r * k;
		double		shift = 0.0;

		for (int a = 0; a < k; a++)
			row[a] = w[a];
		for (int j = 0; j < k; j++)
		{
			double		v = 0.0;

			for (int a = 0; a < k; a++)
				v += row[a] * R[(size_t) j * k + a];
			v /= s;
			w[j] = (float) v;
			shift += v * t[j];
		}
		b[r] = (float) ((double) b[r] - shift);
	}
}

/* Apply z' = s R z + t to m's code; see ae_align.h. */
void
ae_align_apply(ae_model *m, const double *R, double s, const double *t,
			   double *work)
{
	int			k = m->arch.latent,
				enc = m->arch.n_hidden,
				dec = enc + 1;
	float	   *W = m->W[enc],
			   *b = m->b[enc];
	size_t		cols = (size_t) m->dims[enc];

	/* the layer that writes the code: W <- s R W, b <- s R b + t */
	rotate_rows_of(W, k, (int) cols, R, work);
	rotate_rows_of(b, k, 1, R, work);
	for (size_t i = 0; i < (size_t) k * cols; i++)
		W[i] = (float) (s * W[i]);
	for (int a = 0; a < k; a++)
		b[a] = (float) (s * b[a] + t[a]);
	/* the layer that reads it */
	unrotate_inputs_of(m->W[dec], m->b[dec], m->dims[dec + 1], k, R, s, t, work);
	if (AE_HAS_SKIP(m))
	{
		/* a residual model's skip paths write and read the code too */
		int			d = m->arch.n_input;

		rotate_rows_of(m->Ae, k, d, R, work);
		rotate_rows_of(m->ae, k, 1, R, work);
		for (size_t i = 0; i < (size_t) k * d; i++)
			m->Ae[i] = (float) (s * m->Ae[i]);
		for (int a = 0; a < k; a++)
			m->ae[a] = (float) (s * m->ae[a]);
		unrotate_inputs_of(m->Ad, m->ad, d, k, R, s, t, work);
	}
}
