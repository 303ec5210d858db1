/*-------------------------------------------------------------------------
 *
 * ae_align.h
 *	  Codes that survive a retrain: rotate a new model's code space onto a
 *	  reference model's (orthogonal Procrustes with one scale and a
 *	  translation).
 *
 * A code layer that is linear can be changed by any invertible affine map
 * z' = s R z + t without changing what the model reconstructs, if the
 * layers that read the code undo it.  With R orthogonal, chosen to bring
 * the new model's codes of a sample of rows closest to the reference
 * model's codes of the same rows, codes stored from the reference version
 * stay comparable with codes of the new one (nearest-neighbour search over
 * a column encoded by an older version keeps working after a cold
 * retrain, which otherwise permutes, flips and rotates the code axes).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AE_ALIGN_H
#define AE_ALIGN_H

#include "ae_core.h"

#define AE_ALIGN_ROWS	10000	/* rows whose codes fix the rotation */

/* How well the new codes matched the reference before and after. */
typedef struct ae_align_stats
{
	size_t		rows;			/* sample rows used */
	double		before;			/* sum |z_new - z_ref|^2 / sum |z_ref - mean|^2 */
	double		after;			/* the same after the rotation */
	double		scale;			/* the scale applied with it */
} ae_align_stats;

/* Whether m's code is a linear function of its last encoder layer. */
int			ae_code_is_linear(const ae_model *m);
/* Whether m can be aligned to ref: linear code, same input and code sizes. */
int			ae_align_compatible(const ae_model *m, const ae_model *ref);

/*
 * The reference codes of n raw rows (n, latent), encoded in blocks; cb's
 * on_batch runs between blocks.  NULL when out of memory.
 */
float	   *ae_align_codes(const ae_model *ref, const float *const *rows,
						   const size_t *idx, size_t n, const ae_allocator *alloc,
						   const ae_train_callbacks *cb);

/*
 * Rotate m's code space onto the reference codes ref_codes (n, latent) of
 * the rows idx[0..n) of rows, which are raw when m_scaled is 0, or scaled
 * with m's scaling (as training leaves them) when it is 1.  m's
 * reconstructions do not change beyond float rounding.
 */
ae_status	ae_align(ae_model *m, float *const *rows, const size_t *idx,
					 size_t n, int m_scaled, const float *ref_codes,
					 const ae_allocator *alloc, const ae_train_callbacks *cb,
					 ae_align_stats *stats, ae_error *err);

/*
 * Apply z' = s R z + t to m's code (R: latent x latent, row-major,
 * orthogonal; s > 0; t: latent): the layers that write the code get s R,
 * the layers that read it R^T / s and a bias that removes t (a residual
 * model's skip paths included).  work holds latent doubles.
 */
void		ae_align_apply(ae_model *m, const double *R, double s,
						   const double *t, double *work);

#endif							/* AE_ALIGN_H */
