/*-------------------------------------------------------------------------
 *
 * ae_exact.c
 *	  Exact fixed-point sums of float32 values and squares (see ae_exact.h).
 *
 * A finite float32 is x = m * 2^e with an integer |m| < 2^24 and
 * e in [-149, 104]; x^2 = m^2 * 2^(2e) with m^2 < 2^48.  The sum keeps bit
 * positions from 2^-149 upward in limbs of 32 bits (limb k weighs
 * 2^(32k - 149)), the squares from 2^-298.  A value is shifted to its
 * place and split over two (sum) or three (squares) limbs; limbs are int64,
 * so up to 2^31 additions of pieces below 2^32 fit before normalising.
 *
 * The conversion reads the top 96 significant bits into a double-double
 * (exact) and scales it; mean and co-moment are then computed in
 * double-double (the Dekker/Knuth error-free transformations), so even a
 * feature whose mean is 10^8 times its standard deviation keeps its
 * variance to double precision.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_exact.h"

#include <math.h>
#include <string.h>

#define SUM_BASE	(-149)		/* weight of bit 0 of the sum's limb 0 */
#define SQ_BASE		(-298)

/* Limbs for d features. */
size_t
ae_exact_limbs(int d)
{
	return (size_t) d * AE_EXACT_LIMBS;
}

/* Zeroed accumulators over storage. */
void
ae_exact_init(ae_exact *e, int d, int64_t *storage)
{
	e->d = d;
	e->limbs = storage;
	e->pending = 0;
	memset(storage, 0, sizeof(int64_t) * ae_exact_limbs(d));
}

/* Carry propagation over one accumulator of n limbs. */
static void
normalize_limbs(int64_t *l, int n)
{
	for (int k = 0; k < n - 1; k++)
	{
		int64_t		carry = l[k] >> 32;	/* floor division by 2^32 */

		l[k] -= carry * ((int64_t) 1 << 32);
		l[k + 1] += carry;
	}
}

/* Normalise every accumulator. */
void
ae_exact_normalize(ae_exact *e)
{
	for (int i = 0; i < e->d; i++)
	{
		int64_t    *l = e->limbs + (size_t) i * AE_EXACT_LIMBS;

		normalize_limbs(l, AE_EXACT_SUM_LIMBS);
		normalize_limbs(l + AE_EXACT_SUM_LIMBS, AE_EXACT_SQ_LIMBS);
	}
	e->pending = 0;
}

/* Add one row of finite floats. */
void
ae_exact_add(ae_exact *e, const float *row)
{
	if (e->pending >= ((uint32_t) 1 << 30))
		ae_exact_normalize(e);
	e->pending++;
	for (int i = 0; i < e->d; i++)
	{
		uint32_t	bits;
		uint32_t	exp;
		uint64_t	mant;
		int			shift,
					k;
		int64_t		sign;
		int64_t    *l;
		unsigned __int128 v;

		if (row[i] == 0.0f)
			continue;
		memcpy(&bits, &row[i], 4);
		exp = (bits >> 23) & 0xFF;
		mant = bits & 0x7FFFFF;
		if (exp != 0)
			mant |= 0x800000;
		else
			exp = 1;			/* subnormal: same scale as the smallest normal */
		sign = (bits >> 31) ? -1 : 1;
		l = e->limbs + (size_t) i * AE_EXACT_LIMBS;

		/* x = mant * 2^(exp - 150): bit position exp - 150 - SUM_BASE */
		shift = (int) exp - 150 - SUM_BASE;
		k = shift >> 5;
		v = (unsigned __int128) mant << (shift & 31);
		l[k] += sign * (int64_t) (uint32_t) v;
		l[k + 1] += sign * (int64_t) (uint32_t) (v >> 32);

		/* x^2 = mant^2 * 2^(2 (exp - 150)), always positive */
		l += AE_EXACT_SUM_LIMBS;
		shift = 2 * ((int) exp - 150) - SQ_BASE;
		k = shift >> 5;
		v = (unsigned __int128) (mant * mant) << (shift & 31);
		l[k] += (int64_t) (uint32_t) v;
		l[k + 1] += (int64_t) (uint32_t) (v >> 32);
		l[k + 2] += (int64_t) (uint32_t) (v >> 64);
	}
}

/* a += b, limb by limb, both normalised first. */
void
ae_exact_merge(ae_exact *a, const ae_exact *b)
{
	int64_t		t[AE_EXACT_LIMBS];

	ae_exact_normalize(a);
	for (int i = 0; i < a->d; i++)
	{
		int64_t    *l = a->limbs + (size_t) i * AE_EXACT_LIMBS;

		memcpy(t, b->limbs + (size_t) i * AE_EXACT_LIMBS, sizeof(t));
		normalize_limbs(t, AE_EXACT_SUM_LIMBS);
		normalize_limbs(t + AE_EXACT_SUM_LIMBS, AE_EXACT_SQ_LIMBS);
		for (int k = 0; k < AE_EXACT_LIMBS; k++)
			l[k] += t[k];
	}
	ae_exact_normalize(a);
}

/* ------------------------------------------------------- double-double */

typedef struct dd
{
	double		hi,
				lo;
} dd;

/* a + b exactly as hi + lo. */
static dd
two_sum(double a, double b)
{
	double		s = a + b,
				bb = s - a;
	dd			r = {s, (a - (s - bb)) + (b - bb)};

	return r;
}

/* a + b exactly, when |a| >= |b|. */
static dd
quick_two_sum(double a, double b)
{
	double		s = a + b;
	dd			r = {s, b - (s - a)};

	return r;
}

/* a * b exactly as hi + lo. */
static dd
two_prod(double a, double b)
{
	double		p = a * b;
	dd			r = {p, fma(a, b, -p)};

	return r;
}

static dd
dd_add(dd a, dd b)
{
	dd			s = two_sum(a.hi, b.hi),
				t = two_sum(a.lo, b.lo);

	s.lo += t.hi;
	s = quick_two_sum(s.hi, s.lo);
	s.lo += t.lo;
	return quick_two_sum(s.hi, s.lo);
}

static dd
dd_mul(dd a, dd b)
{
	dd			p = two_prod(a.hi, b.hi);

	p.lo += a.hi * b.lo + a.lo * b.hi;
	return quick_two_sum(p.hi, p.lo);
}

static dd
dd_div(dd a, double b)
{
	double		q1 = a.hi / b;
	dd			p = two_prod(q1, b);
	dd			r = dd_add(a, (dd)
						   {
						   -p.hi, -p.lo
						   });

	return quick_two_sum(q1, r.hi / b);
}

/*
 * The integer of n limbs (two's complement across limbs, normalised) times
 * 2^base as a double-double: its top 96 significant bits, exactly.
 */
static dd
limbs_value(const int64_t *limbs, int n, int base)
{
	int64_t		l[AE_EXACT_SQ_LIMBS];
	int			neg = 0,
				top;
	dd			v = {0.0, 0.0};

	memcpy(l, limbs, sizeof(int64_t) * n);
	normalize_limbs(l, n);
	if (l[n - 1] < 0)
	{
		/* negate: two's complement over the limbs */
		neg = 1;
		for (int k = 0; k < n; k++)
			l[k] = -l[k];
		normalize_limbs(l, n);
	}
	for (top = n - 1; top >= 0 && l[top] == 0; top--)
		;
	if (top < 0)
		return v;
	for (int k = top; k >= 0 && k >= top - 2; k--)
	{
		dd			part = {ldexp((double) l[k], 32 * k + base), 0.0};

		v = dd_add(v, part);
	}
	if (neg)
	{
		v.hi = -v.hi;
		v.lo = -v.lo;
	}
	return v;
}

/* Mean and sum of squared deviations of feature i over n rows. */
void
ae_exact_moments(const ae_exact *e, int i, uint64_t n, double *mean,
				 double *m2)
{
	const int64_t *l = e->limbs + (size_t) i * AE_EXACT_LIMBS;
	dd			s,
				q,
				mu,
				c;

	if (n == 0)
	{
		*mean = 0.0;
		*m2 = 0.0;
		return;
	}
	s = limbs_value(l, AE_EXACT_SUM_LIMBS, SUM_BASE);
	q = limbs_value(l + AE_EXACT_SUM_LIMBS, AE_EXACT_SQ_LIMBS, SQ_BASE);
	mu = dd_div(s, (double) n);
	/* m2 = q - s * mu */
	c = dd_mul(s, mu);
	c.hi = -c.hi;
	c.lo = -c.lo;
	c = dd_add(q, c);
	*mean = mu.hi + mu.lo;
	*m2 = c.hi + c.lo > 0.0 ? c.hi + c.lo : 0.0;
}
