/*-------------------------------------------------------------------------
 *
 * ae_ref.h
 *	  Naive double-precision reference kernels of the core's dense layer,
 *	  for the unit tests (test/ae_ref.c); not part of the extension.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AE_REF_H
#define AE_REF_H

#include "ae_core.h"

/* act(z) for one pre-activation value. */
double		ae_ref_activate(double z, ae_activation act);
/* ae_dense_forward's contract in double with triple loops. */
void		ae_ref_dense_forward(double *y, const double *x, const double *W,
								 const double *b, int B, int in, int out,
								 ae_activation act);
/* ae_dense_backward's contract in double with plain loops. */
void		ae_ref_dense_backward(double *dx, double *dW, double *db,
								  double *dy, const double *y, const double *x,
								  const double *W, int B, int in, int out,
								  ae_activation act);

#endif							/* AE_REF_H */
