/*-------------------------------------------------------------------------
 *
 * ae_ref.h
 *	  Naive double-precision reference kernels of the core's dense layer and
 *	  whole network, for the unit tests (test/ae_ref.c); not part of the
 *	  extension.
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

/* Batches the references take (ae_ref_sim_loss's rows). */
#define AE_REF_MAX_B	64

/* The terms of ae_ref_net_loss, as ae_loss_opts has them. */
typedef struct ae_ref_loss_opts
{
	double		weight_decay;
	double		sparsity;
	double		sim_weight;
	double		sim_temperature;
	const double *sim_rows;		/* (B, n_input) */
} ae_ref_loss_opts;

/* ae_sim.c's neighbour KL loss in double, from its definition. */
double		ae_ref_sim_loss(const double *z, const double *x, int B, int k,
							int d, double tau);
/*
 * ae_loss_grad_ex's loss in double from parameters p (laid out like
 * m->params), skip paths of a residual model included.
 */
double		ae_ref_net_loss(const ae_model *m, const double *p,
							const double *input, const double *target, int B,
							const ae_ref_loss_opts *o, double *mse,
							double *margin, double *code);
/*
 * Central differences (eps 1e-6) of ae_ref_net_loss for every parameter
 * into num (m->n_params); p is restored.  Returns the largest |num|.
 */
double		ae_ref_net_grad(const ae_model *m, double *p, const double *input,
							const double *target, int B,
							const ae_ref_loss_opts *o, double *num);
/*
 * The worst ratio of |grads - num| to the gradient checks' tolerance
 * (2e-3 |num| + 2e-5 max(gmax, 1)) over n parameters, a NaN gradient
 * counting as infinite; *worst_i gets its index (-1 if all are exact).
 */
double		ae_ref_grad_worst(const float *grads, const double *num, size_t n,
							  double gmax, int *worst_i);

#endif							/* AE_REF_H */
