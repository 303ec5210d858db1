/*-------------------------------------------------------------------------
 *
 * ae_resid.h
 *	  The starting point of training: the exact PCA of the training rows,
 *	  the PCA-residual network initialised at it, and the PCA as a model of
 *	  its own (ae_resid.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AE_RESID_H
#define AE_RESID_H

#include "ae_core.h"

/* PCA of rows already in the network's units. */
typedef struct ae_pca_fit
{
	int			d;
	int			k;
	size_t		rows;			/* rows it was fitted on */
	double	   *V;				/* (d, k) row-major: column c is component c */
	double	   *mu;				/* (d) mean */
	double	   *lambda;			/* (k) variances, descending */
	double		trace;			/* total variance */
	void	   *block;			/* V, mu and lambda, from the allocator */
} ae_pca_fit;

/*
 * How many of n_train training rows (in split order, a uniform random
 * subset) the PCA is fitted on: all of them up to AE_PCA_MIN_ROWS, beyond
 * that as many as AE_PCA_WORK / d^2 (the co-moment work) allows.
 */
size_t		ae_pca_rows(size_t n_train, int d);

/*
 * PCA with k components of rows idx[0..n) of rows (d floats each), which
 * are in the network's units (no further scaling); cb->on_batch runs
 * between blocks.
 */
ae_status	ae_pca_of_rows(ae_pca_fit *p, float *const *rows, const size_t *idx,
						   size_t n, int d, int k, const ae_train_callbacks *cb,
						   const ae_allocator *alloc);
void		ae_pca_fit_free(ae_pca_fit *p, const ae_allocator *alloc);
/* Mean squared error per element of the PCA on the rows it was fitted on. */
double		ae_pca_fit_residual(const ae_pca_fit *p);

/*
 * Start a residual model m (weights drawn by ae_model_init_weights) at the
 * PCA p: with hidden layers the skip paths become Ae = V^T, ae = -V^T mu,
 * Ad = V, ad = mu and the last encoder and decoder layers zero; without
 * them the two layers are the PCA.  m then computes the PCA exactly.
 */
void		ae_resid_init_pca(ae_model *m, const ae_pca_fit *p);

/*
 * Data-dependent scaling of the hidden layers of a residual model started
 * at PCA: on rows idx[0..n) (scaled), each hidden layer in order (encoder
 * layers 0 .. k-1 on the rows, decoder layers k+1 .. 2k on the PCA codes)
 * gets, for every unit u with pre-activation p_u = a w_u^T over the rows,
 * w_u / sd(p_u) and bias -mean(p_u) / sd(p_u): zero mean and unit
 * deviation whatever the input units.  A unit whose deviation is below
 * 1e-6 keeps w_u and gets bias 0.
 */
ae_status	ae_resid_init_data(ae_model *m, float *const *rows,
							   const size_t *idx, size_t n,
							   const ae_train_callbacks *cb,
							   const ae_allocator *alloc);

/*
 * The PCA p as a linear model of its own (no hidden layers, m's scaling
 * kind and values), in pca; what evaluate() compares a model with.
 */
ae_status	ae_pca_model(ae_model *pca, const ae_model *m, const ae_pca_fit *p,
						 const ae_allocator *alloc);

#endif							/* AE_RESID_H */
