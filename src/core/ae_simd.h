/*-------------------------------------------------------------------------
 *
 * ae_simd.h
 *	  The core's one AVX2 setup: whether kernels exist and may run.
 *
 * Element-wise kernels (activations, their derivatives, the loss term,
 * Adam) have an 8-wide AVX2 version compiled with AE_AVX2 (target "avx2"
 * only: no FMA, so both paths perform the same IEEE operations in the same
 * order) and chosen at run time with ae_use_avx2().  Private to the core.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AE_SIMD_H
#define AE_SIMD_H

#if defined(__GNUC__) && defined(__x86_64__)
#define AE_HAVE_AVX2_KERNELS 1
#include <immintrin.h>
#define AE_AVX2 __attribute__((target("avx2")))
#endif

/* Whether the AVX2 kernels can run on this CPU. */
static inline int
ae_use_avx2(void)
{
#ifdef AE_HAVE_AVX2_KERNELS
	return __builtin_cpu_supports("avx2");
#else
	return 0;
#endif
}

#endif							/* AE_SIMD_H */
