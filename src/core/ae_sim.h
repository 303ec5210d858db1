/*-------------------------------------------------------------------------
 *
 * ae_sim.h
 *	  The neighbour-preserving similarity objective for codes: the KL
 *	  divergence between each row's in-batch neighbour distributions of
 *	  the input rows and of their codes (ae_sim.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AE_SIM_H
#define AE_SIM_H

#include <stddef.h>

/* added to squared norms before normalising rows: zero rows stay finite */
#define AE_SIM_EPS 1e-6
/* softmax temperature of the neighbour distributions */
#define AE_DEFAULT_SIM_TEMPERATURE 0.02

/* floats of work ae_sim_loss_grad needs for a batch of B rows */
size_t		ae_sim_work_floats(int B, int k, int d);

/* the KL neighbour loss of codes z against rows xs; adds scale * dL/dz into dz unless NULL */
double		ae_sim_loss_grad(const float *z, const float *xs, int B, int k,
							 int d, double tau, float *dz, float scale,
							 float *work);

#endif							/* AE_SIM_H */
