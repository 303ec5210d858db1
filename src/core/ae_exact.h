/*-------------------------------------------------------------------------
 *
 * ae_exact.h
 *	  Exact per-feature sums of float32 values and of their squares.
 *
 * The fit aggregate derives a model's scaling (mean, variance, range) from
 * every row read, across partial states that arrive in any order and from
 * any number of partitions.  Floating-point sums would depend on that order;
 * these fixed-point accumulators do not: every float32 x and x^2 is an
 * integer times a power of two, added exactly into limbs of 32 bits, and a
 * normalised accumulator is a canonical integer.  Merging is limb-wise
 * addition.  Only the final conversion rounds, and it is a function of the
 * exact values (double-double arithmetic, ~100 bits), so the scaling is the
 * same bits however the rows were split.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AE_EXACT_H
#define AE_EXACT_H

#include "ae_core.h"

#define AE_EXACT_SUM_LIMBS	12	/* 2^-149 .. beyond 2^232, 40 bits of rows */
#define AE_EXACT_SQ_LIMBS	20	/* 2^-298 .. beyond 2^464 */
#define AE_EXACT_LIMBS		(AE_EXACT_SUM_LIMBS + AE_EXACT_SQ_LIMBS)

/*
 * Accumulators of d features: limbs[i * AE_EXACT_LIMBS + k], the sum's
 * limbs first, then the squares'.  pending counts additions since the last
 * normalisation (each limb must be normalised before 2^31 of them).
 */
typedef struct ae_exact
{
	int			d;
	int64_t    *limbs;			/* (d, AE_EXACT_LIMBS) */
	uint32_t	pending;
} ae_exact;

size_t		ae_exact_limbs(int d);
void		ae_exact_init(ae_exact *e, int d, int64_t *storage);
/* Add one row of d finite floats. */
void		ae_exact_add(ae_exact *e, const float *row);
/* a += b (same d). */
void		ae_exact_merge(ae_exact *a, const ae_exact *b);
/* Carry propagation: every limb but the top in [0, 2^32); canonical. */
void		ae_exact_normalize(ae_exact *e);
/*
 * Mean and co-moment sum((x - mean)^2) of feature i over n rows, from the
 * exact sums; 0 if n is 0.
 */
void		ae_exact_moments(const ae_exact *e, int i, uint64_t n, double *mean,
							 double *m2);

#endif							/* AE_EXACT_H */
