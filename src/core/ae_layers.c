/*-------------------------------------------------------------------------
 *
 * ae_layers.c
 *	  Dense layers: forward and backward through cblas_sgemm, and the
 *	  activations.  (The naive double-precision reference of the same
 *	  kernels that the tests compare against is test/ae_ref.c.)
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
#include "ae_simd.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/*
 * Element-wise kernels.
 *
 * Between the sgemm calls every element of every activation is touched a
 * few times (activation, its derivative, the bias sums), and with scalar
 * loops that cost as much as the products themselves.  relu and sigmoid,
 * the benchmark's activations, therefore have 8-wide AVX2 kernels chosen
 * at run time (__builtin_cpu_supports), with scalar loops that perform the
 * very same IEEE operations in the same order: no FMA (the AVX2 functions
 * are compiled for "avx2" only, and baseline x86-64 has none), so a value
 * does not depend on the path, its position or n.  Sigmoid uses our own
 * exp (Cephes' expf polynomial, within 2 ulp), which both paths share,
 * instead of libm's expf, which cannot be vectorised.  tanh and elu keep
 * libm.
 */

/* Constants of the exp polynomial (Cephes expf) and of the rounding trick. */
#define EXP_HI		88.0f		/* 2^n stays finite and normal in [lo, hi] */
#define EXP_LO		-87.0f
#define LOG2EF		1.44269504088896341f
#define EXP_C1		0.693359375f	/* ln 2 split in two parts */
#define EXP_C2		-2.12194440e-4f
#define EXP_P0		1.9875691500E-4f
#define EXP_P1		1.3981999507E-3f
#define EXP_P2		8.3334519073E-3f
#define EXP_P3		4.1665795894E-2f
#define EXP_P4		1.6666665459E-1f
#define EXP_P5		5.0000001201E-1f
#define ROUND_MAGIC	12582912.0f	/* 1.5 * 2^23: v + M - M rounds v to even */

static inline uint32_t
float_bits(float f)
{
	uint32_t	u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static inline float
bits_float(uint32_t u)
{
	float		f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/*
 * e^x for one float: clamp to [EXP_LO, EXP_HI] (NaN passes through),
 * x = n ln2 + r with n = rint(x log2 e), e^r by the polynomial, times 2^n
 * built in the exponent bits.  The AVX2 kernel below is this, 8 wide.
 */
static inline float
exp_poly(float x)
{
	float		v,
				fx,
				r,
				rr,
				p;
	uint32_t	n;

	x = EXP_HI < x ? EXP_HI : x;
	x = EXP_LO > x ? EXP_LO : x;
	v = x * LOG2EF + ROUND_MAGIC;
	n = float_bits(v) - float_bits(ROUND_MAGIC);	/* rint, as an integer */
	fx = v - ROUND_MAGIC;
	r = x - fx * EXP_C1;
	r = r - fx * EXP_C2;
	rr = r * r;
	p = EXP_P0 * r + EXP_P1;
	p = p * r + EXP_P2;
	p = p * r + EXP_P3;
	p = p * r + EXP_P4;
	p = p * r + EXP_P5;
	p = p * rr + r;
	p = p + 1.0f;
	return p * bits_float((n + 127u) << 23);
}

/* 1 / (1 + e^-x) with exp_poly. */
static inline float
sigmoid_poly(float x)
{
	return 1.0f / (1.0f + exp_poly(-x));
}

#ifdef AE_HAVE_AVX2_KERNELS
/* exp_poly, 8 wide; min/max keep a NaN x because x is their second operand. */
static inline AE_AVX2 __m256
exp_poly8(__m256 x)
{
	const __m256 magic = _mm256_set1_ps(ROUND_MAGIC);
	__m256		v,
				fx,
				r,
				rr,
				p;
	__m256i		n;

	x = _mm256_min_ps(_mm256_set1_ps(EXP_HI), x);
	x = _mm256_max_ps(_mm256_set1_ps(EXP_LO), x);
	v = _mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(LOG2EF)), magic);
	n = _mm256_sub_epi32(_mm256_castps_si256(v), _mm256_castps_si256(magic));
	fx = _mm256_sub_ps(v, magic);
	r = _mm256_sub_ps(x, _mm256_mul_ps(fx, _mm256_set1_ps(EXP_C1)));
	r = _mm256_sub_ps(r, _mm256_mul_ps(fx, _mm256_set1_ps(EXP_C2)));
	rr = _mm256_mul_ps(r, r);
	p = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(EXP_P0), r),
					  _mm256_set1_ps(EXP_P1));
	p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(EXP_P2));
	p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(EXP_P3));
	p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(EXP_P4));
	p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(EXP_P5));
	p = _mm256_add_ps(_mm256_mul_ps(p, rr), r);
	p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
	n = _mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23);
	return _mm256_mul_ps(p, _mm256_castsi256_ps(n));
}

/* relu or sigmoid in place on the first n - n % 8 floats; returns that. */
static AE_AVX2 size_t
activate_avx2(float *y, size_t n, ae_activation act)
{
	const __m256 zero = _mm256_setzero_ps(),
				one = _mm256_set1_ps(1.0f);
	size_t		i = 0;

	if (act == AE_ACT_RELU)
		for (; i + 8 <= n; i += 8)
			/* max(y, 0) is y > 0 ? y : 0, NaN and -0 included */
			_mm256_storeu_ps(y + i, _mm256_max_ps(_mm256_loadu_ps(y + i), zero));
	else if (act == AE_ACT_SIGMOID)
		for (; i + 8 <= n; i += 8)
		{
			__m256		e = exp_poly8(_mm256_sub_ps(zero, _mm256_loadu_ps(y + i)));

			_mm256_storeu_ps(y + i, _mm256_div_ps(one, _mm256_add_ps(one, e)));
		}
	return i;
}

/*
 * Rows [0, B) of dy (B, out): dz = dy * f'(y) in place for relu, sigmoid or
 * linear, and db += dz row by row, on columns [0, out - out % 8); returns
 * that column count.
 */
static AE_AVX2 int
backward_avx2(float *dy, const float *y, float *db, int B, int out,
			  ae_activation act)
{
	const __m256 zero = _mm256_setzero_ps(),
				one = _mm256_set1_ps(1.0f);
	int			cols = out - out % 8;

	for (int r = 0; r < B; r++)
	{
		float	   *d = dy + (size_t) r * out;
		const float *yr = y + (size_t) r * out;

		for (int j = 0; j < cols; j += 8)
		{
			__m256		g = _mm256_loadu_ps(d + j),
						yv = _mm256_loadu_ps(yr + j);

			if (act == AE_ACT_RELU)
				g = _mm256_and_ps(g, _mm256_cmp_ps(yv, zero, _CMP_GT_OQ));
			else if (act == AE_ACT_SIGMOID)
				g = _mm256_mul_ps(g, _mm256_mul_ps(yv, _mm256_sub_ps(one, yv)));
			_mm256_storeu_ps(d + j, g);
			_mm256_storeu_ps(db + j, _mm256_add_ps(_mm256_loadu_ps(db + j), g));
		}
	}
	return cols;
}
#endif							/* AE_HAVE_AVX2_KERNELS */

/* Apply an activation in place to n floats. */
void
ae_activate(float *y, size_t n, ae_activation act)
{
	size_t		i = 0;

#ifdef AE_HAVE_AVX2_KERNELS
	if ((act == AE_ACT_RELU || act == AE_ACT_SIGMOID) && ae_use_avx2())
		i = activate_avx2(y, n, act);
#endif
	switch (act)
	{
		case AE_ACT_LINEAR:
			break;
		case AE_ACT_RELU:
			for (; i < n; i++)
				y[i] = y[i] > 0.0f ? y[i] : 0.0f;
			break;
		case AE_ACT_TANH:
			for (; i < n; i++)
				y[i] = tanhf(y[i]);
			break;
		case AE_ACT_SIGMOID:
			for (; i < n; i++)
				y[i] = sigmoid_poly(y[i]);
			break;
		case AE_ACT_ELU:
			for (; i < n; i++)
				y[i] = y[i] > 0.0f ? y[i] : expm1f(y[i]);
			break;
		case AE_ACT_COUNT:
			break;
	}
}

/* The activation's derivative times g, given its output y. */
static inline float
derivative_times(float g, float y, ae_activation act)
{
	switch (act)
	{
		case AE_ACT_RELU:
			return y > 0.0f ? g : 0.0f;
		case AE_ACT_TANH:
			return g * (1.0f - y * y);
		case AE_ACT_SIGMOID:
			return g * (y * (1.0f - y));
		case AE_ACT_ELU:
			/* for z <= 0, y = e^z - 1 so dy/dz = y + 1 */
			return g * (y > 0.0f ? 1.0f : y + 1.0f);
		default:
			return g;
	}
}

/*
 * dy (B, out) becomes dz = dy * f'(y) in place and db (out) += the column
 * sums of dz, in one pass over the rows; each db[j] adds its rows in order.
 */
static void
activation_backward_bias(float *dy, const float *y, float *db, int B, int out,
						 ae_activation act)
{
	int			j0 = 0;

#ifdef AE_HAVE_AVX2_KERNELS
	if ((act == AE_ACT_RELU || act == AE_ACT_SIGMOID || act == AE_ACT_LINEAR) &&
		ae_use_avx2())
		j0 = backward_avx2(dy, y, db, B, out, act);
#endif
	if (j0 == out)
		return;
	for (int r = 0; r < B; r++)
	{
		float	   *d = dy + (size_t) r * out;
		const float *yr = y + (size_t) r * out;

		for (int j = j0; j < out; j++)
		{
			d[j] = derivative_times(d[j], yr[j], act);
			db[j] += d[j];
		}
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
	activation_backward_bias(dy, y, db, B, out, act);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, B,
				1.0f, dy, out, x, in, 1.0f, dW, in);
	if (dx)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in, out,
					1.0f, dy, out, W, in, 0.0f, dx, in);
}

/*
 * A linear skip path: out (B, out_dim) += b + in W^T, W (out_dim, in_dim).
 * The bias goes in first and the product is added with beta = 1, as in
 * ae_dense_forward, so a skip path added to zeros computes exactly what a
 * linear layer with the same W and b computes.
 */
void
ae_add_skip(float *out, const float *in, const float *W, const float *b,
			int B, int in_dim, int out_dim)
{
	for (int r = 0; r < B; r++)
	{
		float	   *o = out + (size_t) r * out_dim;

		for (int j = 0; j < out_dim; j++)
			o[j] += b[j];
	}
	if (B == 1)
		cblas_sgemv(CblasRowMajor, CblasNoTrans, out_dim, in_dim, 1.0f, W, in_dim,
					in, 1, 1.0f, out, 1);
	else
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, out_dim, in_dim,
					1.0f, in, in_dim, W, in_dim, 1.0f, out, out_dim);
}
