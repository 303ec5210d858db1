/*-------------------------------------------------------------------------
 *
 * ae_util.c
 *	  The core's seeded random number generator and enum names.
 *
 * The RNG is xoshiro256** seeded through splitmix64 (Blackman and Vigna),
 * kept in a struct the caller owns, so training is reproducible and never
 * touches the C library's or PostgreSQL's generator.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_core.h"

#include <math.h>
#include <string.h>

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

static const char *const activation_names[AE_ACT_COUNT] =
{"linear", "relu", "tanh", "sigmoid", "elu"};
static const char *const normalize_names[AE_NORM_COUNT] =
{"none", "standard", "minmax"};
static const char *const optimizer_names[AE_OPT_COUNT] = {"adam", "sgd"};
static const char *const noise_names[AE_NOISE_COUNT] =
{"none", "gaussian", "masking"};

/* Index of s in names, or -1. */
static int
lookup(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

/* Name of an activation, "?" if out of range. */
const char *
ae_activation_name(ae_activation a)
{
	return (unsigned) a < AE_ACT_COUNT ? activation_names[a] : "?";
}

/* Activation named s, or -1. */
int
ae_activation_parse(const char *s)
{
	return lookup(activation_names, AE_ACT_COUNT, s);
}

/* Name of a normalization. */
const char *
ae_normalize_name(ae_normalize n)
{
	return (unsigned) n < AE_NORM_COUNT ? normalize_names[n] : "?";
}

/* Normalization named s, or -1. */
int
ae_normalize_parse(const char *s)
{
	return lookup(normalize_names, AE_NORM_COUNT, s);
}

/* Name of an optimiser. */
const char *
ae_optimizer_name(ae_optimizer o)
{
	return (unsigned) o < AE_OPT_COUNT ? optimizer_names[o] : "?";
}

/* Optimiser named s, or -1. */
int
ae_optimizer_parse(const char *s)
{
	return lookup(optimizer_names, AE_OPT_COUNT, s);
}

/* Name of a noise kind. */
const char *
ae_noise_name(ae_noise n)
{
	return (unsigned) n < AE_NOISE_COUNT ? noise_names[n] : "?";
}

/* Noise kind named s, or -1. */
int
ae_noise_parse(const char *s)
{
	return lookup(noise_names, AE_NOISE_COUNT, s);
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
			return "invalid model bytes";
	}
	return "unknown error";
}
