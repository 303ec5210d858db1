/*-------------------------------------------------------------------------
 *
 * ae_util.c
 *	  The core's seeded random number generator, its clock and its error
 *	  reports.
 *
 * The RNG is xoshiro256** seeded through splitmix64 (Blackman and Vigna),
 * kept in a struct the caller owns, so training is reproducible and never
 * touches the C library's or PostgreSQL's generator.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_core.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* One splitmix64 step: spreads a seed over the xoshiro state. */
static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Rotate left, for xoshiro. */
static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* Seed the generator; every seed, 0 included, gives a valid state. */
void
ae_rng_seed(ae_rng *rng, uint64_t seed)
{
	uint64_t	x = seed;

	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&x);
	rng->has_spare = 0;
	rng->spare = 0.0;
}

/* Next 64 random bits (xoshiro256**). */
uint64_t
ae_rng_next(ae_rng *rng)
{
	uint64_t   *s = rng->s;
	uint64_t	result = rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform double in [0, 1) from the top 53 bits. */
double
ae_rng_uniform(ae_rng *rng)
{
	return (double) (ae_rng_next(rng) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n) without modulo bias (Lemire's method). */
uint64_t
ae_rng_below(ae_rng *rng, uint64_t n)
{
	uint64_t	threshold;

	if (n <= 1)
		return 0;
	threshold = (0 - n) % n;
	for (;;)
	{
		uint64_t	r = ae_rng_next(rng);

		if (r >= threshold)
			return r % n;
	}
}

/* Standard normal draw (Marsaglia polar method, keeps the spare value). */
double
ae_rng_normal(ae_rng *rng)
{
	double		u,
				v,
				s,
				f;

	if (rng->has_spare)
	{
		rng->has_spare = 0;
		return rng->spare;
	}
	do
	{
		u = 2.0 * ae_rng_uniform(rng) - 1.0;
		v = 2.0 * ae_rng_uniform(rng) - 1.0;
		s = u * u + v * v;
	} while (s >= 1.0 || s == 0.0);
	f = sqrt(-2.0 * log(s) / s);
	rng->spare = v * f;
	rng->has_spare = 1;
	return u * f;
}

/* Fisher-Yates shuffle of idx[0..n): the order training visits rows in. */
void
ae_rng_shuffle(ae_rng *rng, size_t *idx, size_t n)
{
	for (size_t i = n; i > 1; i--)
	{
		size_t		j = (size_t) ae_rng_below(rng, i);
		size_t		t = idx[i - 1];

		idx[i - 1] = idx[j];
		idx[j] = t;
	}
}

/* Seconds on a monotonic clock. */
double
ae_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Forget a previous failure. */
void
ae_error_clear(ae_error *e)
{
	if (e)
		memset(e, 0, sizeof(*e));
}

/* Record a failure's status and message; returns the status. */
ae_status
ae_fail(ae_error *e, ae_status status, const char *fmt,...)
{
	va_list		ap;

	if (e == NULL)
		return status;
	ae_error_clear(e);
	e->status = status;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return status;
}

/* Add a detail sentence to a failure. */
void
ae_error_detail(ae_error *e, const char *fmt,...)
{
	va_list		ap;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
}

/* Add a hint sentence to a failure. */
void
ae_error_hint(ae_error *e, const char *fmt,...)
{
	va_list		ap;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(e->hint, sizeof(e->hint), fmt, ap);
	va_end(ap);
}

/* A short lower-case description of a status code. */
const char *
ae_status_message(ae_status s)
{
	switch (s)
	{
		case AE_OK:
			return "success";
		case AE_ENOMEM:
			return "out of memory";
		case AE_EINVAL:
			return "invalid argument";
		case AE_EDIVERGED:
			return "training diverged";
		case AE_EFORMAT:
			return "invalid bytes";
		case AE_ELIMIT:
			return "size limit exceeded";
	}
	return "unknown error";
}
