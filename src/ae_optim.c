/*-------------------------------------------------------------------------
 *
 * ae_optim.c
 *	  Adam and SGD with momentum as flat loops over all parameters.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_core.h"

#include <math.h>

/* Set up an optimiser over n parameters with zeroed moment buffers. */
void
ae_optim_init(ae_optim *o, ae_optimizer kind, double lr, float *m, float *v,
			  size_t n)
{
	o->kind = kind;
	o->lr = lr;
	o->beta1 = kind == AE_OPT_ADAM ? AE_ADAM_BETA1 : AE_SGD_MOMENTUM;
	o->beta2 = AE_ADAM_BETA2;
	o->eps = AE_ADAM_EPS;
	o->t = 0;
	o->m = m;
	o->v = v;
	o->n = n;
}

/* One update of params from grads (regularisation already in grads). */
void
ae_optim_step(ae_optim *o, float *params, const float *grads)
{
	o->t++;
	if (o->kind == AE_OPT_ADAM)
	{
		float		b1 = (float) o->beta1,
					b2 = (float) o->beta2,
					c1m = (float) (1.0 - o->beta1),	/* rounded once */
					c2m = (float) (1.0 - o->beta2);
		/* bias corrections folded into the step size, in double */
		double		c1 = 1.0 - pow(o->beta1, (double) o->t);
		double		c2 = 1.0 - pow(o->beta2, (double) o->t);
		float		step = (float) (o->lr / c1);
		float		rc2 = (float) (1.0 / sqrt(c2));
		float		eps = (float) o->eps;

		for (size_t i = 0; i < o->n; i++)
		{
			float		g = grads[i];

			/* first and second moments */
			o->m[i] = b1 * o->m[i] + c1m * g;
			o->v[i] = b2 * o->v[i] + c2m * g * g;
			/* p -= lr * mhat / (sqrt(vhat) + eps) */
			params[i] -= step * o->m[i] / (sqrtf(o->v[i]) * rc2 + eps);
		}
	}
	else
	{
		float		mu = (float) o->beta1,
					lr = (float) o->lr;

		for (size_t i = 0; i < o->n; i++)
		{
			/* velocity, then the step along it */
			o->m[i] = mu * o->m[i] + grads[i];
			params[i] -= lr * o->m[i];
		}
	}
}
