/*-------------------------------------------------------------------------
 *
 * ae_sim.c
 *	  The similarity objective of the codes (design notes, section 4.5):
 *	  for each row i of a batch, the softmax over the other rows j of the
 *	  input cosines s_ij / tau (p_i) and of the code cosines t_ij / tau
 *	  (q_i), and the mean KL divergence
 *
 *	    L = (1/B) sum_i sum_{j != i} p_ij (log p_ij - log q_ij)
 *
 *	  with its gradient with respect to the codes.
 *
 * Rows are normalised as u_i = z_i / n_i with n_i = sqrt(||z_i||^2 + eps^2),
 * the inputs the same way, so a row of zeros has cosine 0 with every row
 * instead of NaN.  The cosine matrices S = X^ X^T and T = U U^T are one
 * ssyrk each (upper triangle, mirrored, so both are exactly symmetric); S
 * is the only noticeable cost, B^2 d / 2 multiply-adds.  Each row's two
 * softmaxes leave out the diagonal, subtract the row maximum and sum in
 * double; the loss uses log-sum-exp and never the log of a weight.  The
 * gradient:
 *
 *	  G_ij = (q_ij - p_ij + q_ji - p_ji) / (B tau),  G_ii = 0
 *	  R = G U                                           (one sgemm)
 *	  dL/dz_i = (r_i - (r_i . u_i) u_i) / n_i
 *
 * No allocation (the caller passes ae_sim_work_floats floats of work) and no
 * randomness: the result depends only on the inputs and BLAS's thread count.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_sim.h"

#include <cblas.h>
#include <math.h>

/*
 * Softmax exponents below this count as weight 0: such a weight is under
 * 2e-35 of the row's largest, and leaving it out keeps subnormal floats
 * (slow on x86) out of the rows.
 */
#define SIM_MIN_EXPONENT	(-80.0f)

/* The work buffers of one call, carved out of the caller's floats. */
typedef struct sim_bufs
{
	float	   *u;				/* (B, k) unit codes */
	float	   *xn;				/* (B, d) unit input rows */
	float	   *norm;			/* (B) code norms n_i */
	float	   *S;				/* (B, B) input cosines, then P */
	float	   *T;				/* (B, B) code cosines, then Q, then G */
	float	   *R;				/* (B, k) G U */
} sim_bufs;

/*
 * Floats of work ae_sim_loss_grad needs for a batch of B rows of k-float
 * codes and d-float inputs: B * (2k + d + 2B + 1).
 */
size_t
ae_sim_work_floats(int B, int k, int d)
{
	size_t		b = (size_t) (B > 0 ? B : 0);

	return b * (2 * (size_t) k + (size_t) d + 2 * b + 1);
}

/* Point the buffers of b into work, in the order of sim_bufs. */
static void
sim_layout(float *work, int B, int k, int d, sim_bufs *b)
{
	size_t		n = (size_t) B;

	b->u = work;
	b->xn = b->u + n * k;
	b->norm = b->xn + n * d;
	b->S = b->norm + n;
	b->T = b->S + n * n;
	b->R = b->T + n * n;
}

/*
 * Rows v (B, dim) divided by sqrt(||v_i||^2 + eps^2) into out; those
 * divisors into norm unless it is NULL.
 */
static void
unit_rows(const float *v, int B, int dim, float *out, float *norm)
{
	for (int i = 0; i < B; i++)
	{
		const float *row = v + (size_t) i * dim;
		float	   *dst = out + (size_t) i * dim;
		double		s = AE_SIM_EPS * AE_SIM_EPS;
		double		n,
					inv;

		for (int c = 0; c < dim; c++)
			s += (double) row[c] * row[c];
		n = sqrt(s);
		inv = 1.0 / n;
		for (int c = 0; c < dim; c++)
			dst[c] = (float) (row[c] * inv);
		if (norm)
			norm[i] = (float) n;
	}
}

/* g (B, B) = a a^T for rows a (B, dim): ssyrk's upper triangle, mirrored. */
static void
gram(const float *a, int B, int dim, float *g)
{
	cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, B, dim,
				1.0f, a, dim, 0.0f, g, B);
	for (int i = 1; i < B; i++)
		for (int j = 0; j < i; j++)
			g[(size_t) i * B + j] = g[(size_t) j * B + i];
}

/* Largest v[j] for j != skip, over n >= 2 values. */
static float
max_but(const float *v, int n, int skip)
{
	float		m = -INFINITY;

	for (int j = 0; j < n; j++)
		if (j != skip && v[j] > m)
			m = v[j];
	return m;
}

/*
 * Row i of the cosines s and t (B each) replaced by p_i and q_i, their
 * softmaxes at 1/tau = inv_tau over j != i, with p_ii = q_ii = 0.  Returns
 * the row's KL term sum_j p_ij (log p_ij - log q_ij), from
 * log p_ij = (s_ij - max_s) / tau - log Z_s (likewise q), which with
 * sum_j p_ij = 1 is  sum_j p_ij (s_ij - t_ij) / tau - (max_s - max_t) / tau
 * - log Z_s + log Z_t.  Rounding can leave that a hair below 0 when p_i
 * and q_i agree; it is clamped at 0.  A NaN (from a non-finite input)
 * is passed on, not hidden.
 */
static double
softmax_pair_row(float *s, float *t, int B, int i, float inv_tau)
{
	float		ms = max_but(s, B, i),
				mt = max_but(t, B, i);
	double		zs = 0.0,
				zt = 0.0,
				w = 0.0,
				kl,
				izs,
				izt;

	for (int j = 0; j < B; j++)
	{
		float		as = (s[j] - ms) * inv_tau,
					at = (t[j] - mt) * inv_tau,
					es,
					et;

		if (j == i)
			continue;
		es = as < SIM_MIN_EXPONENT ? 0.0f : expf(as);	/* NaN stays NaN */
		et = at < SIM_MIN_EXPONENT ? 0.0f : expf(at);
		zs += es;
		zt += et;
		w += (double) es * ((double) s[j] - (double) t[j]);
		s[j] = es;
		t[j] = et;
	}
	kl = (w / zs - ((double) ms - (double) mt)) * (double) inv_tau
		- log(zs) + log(zt);
	izs = 1.0 / zs;
	izt = 1.0 / zt;
	for (int j = 0; j < B; j++)
	{
		s[j] = (float) (s[j] * izs);
		t[j] = (float) (t[j] * izt);
	}
	s[i] = 0.0f;
	t[i] = 0.0f;
	return kl < 0.0 ? 0.0 : kl;	/* NaN stays NaN */
}

/*
 * Q (B, B) replaced by G = c (Q - P + (Q - P)^T), the gradient of the loss
 * with respect to the code cosines (each t_ij = t_ji sits in rows i and j);
 * the diagonal of both is 0.
 */
static void
cosine_grad(const float *P, float *Q, int B, float c)
{
	for (int i = 0; i < B; i++)
	{
		Q[(size_t) i * B + i] = 0.0f;
		for (int j = i + 1; j < B; j++)
		{
			size_t		ij = (size_t) i * B + j,
						ji = (size_t) j * B + i;
			float		g = ((Q[ij] - P[ij]) + (Q[ji] - P[ji])) * c;

			Q[ij] = g;
			Q[ji] = g;
		}
	}
}

/*
 * dz_i += scale (r_i - (r_i . u_i) u_i) / n_i for each row i: R = G U taken
 * back through u_i = z_i / n_i (the part of r_i along u_i only rescales).
 */
static void
project_add(const float *R, const float *U, const float *norm, int B, int k,
			float scale, float *dz)
{
	for (int i = 0; i < B; i++)
	{
		const float *r = R + (size_t) i * k;
		const float *u = U + (size_t) i * k;
		float	   *out = dz + (size_t) i * k;
		double		ru = 0.0,
					f = (double) scale / norm[i];

		for (int c = 0; c < k; c++)
			ru += (double) r[c] * u[c];
		for (int c = 0; c < k; c++)
			out[c] += (float) (f * (r[c] - ru * u[c]));
	}
}

/*
 * The KL neighbour loss of codes z (B, k) against the batch's rows xs
 * (B, d) at temperature tau > 0, returned in double; adds scale * dL/dz
 * into dz (B, k) unless dz is NULL (loss only, as for validation).  work
 * holds ae_sim_work_floats(B, k, d) floats; nothing else is written.
 * B < 2 has no neighbours: 0, dz untouched.  tau not > 0 (which the
 * caller's option checks rule out): NaN, dz untouched.  A non-finite value
 * in z or xs gives a NaN loss (and gradient), never a finite one.
 */
double
ae_sim_loss_grad(const float *z, const float *xs, int B, int k, int d,
				 double tau, float *dz, float scale, float *work)
{
	sim_bufs	b;
	float		inv_tau;
	double		loss = 0.0;

	if (B < 2)
		return 0.0;
	if (!(tau > 0.0))
		return NAN;
	inv_tau = (float) (1.0 / tau);
	sim_layout(work, B, k, d, &b);
	unit_rows(z, B, k, b.u, b.norm);
	unit_rows(xs, B, d, b.xn, NULL);
	gram(b.xn, B, d, b.S);
	gram(b.u, B, k, b.T);
	for (int i = 0; i < B; i++)
		loss += softmax_pair_row(b.S + (size_t) i * B, b.T + (size_t) i * B,
								 B, i, inv_tau);
	loss /= B;
	if (dz == NULL)
		return loss;
	cosine_grad(b.S, b.T, B, (float) (inv_tau / (double) B));
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, k, B,
				1.0f, b.T, B, b.u, k, 0.0f, b.R, k);
	project_add(b.R, b.u, b.norm, B, k, scale, dz);
	return loss;
}
