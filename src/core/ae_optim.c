/*-------------------------------------------------------------------------
 *
 * ae_optim.c
 *	  Adam and SGD with momentum as flat loops over all parameters.
 *
 * Adam's loop runs once per minibatch over every parameter, and with a
 * scalar sqrtf and division per parameter it used to take a tenth of the
 * training time.  On CPUs with AVX2 (checked at run time) the same loop
 * runs 8 parameters at a time.  Both paths perform the same IEEE float
 * operations in the same order (sqrt and division are correctly rounded,
 * no FMA is generated: the AVX2 function is compiled for "avx2" only), so
 * a parameter's update does not depend on the path or its position.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_core.h"
#include "ae_simd.h"

#include <math.h>

/* Adam's per-step constants, in float, as both loops use them. */
typedef struct adam_consts
{
	float		b1,
				b2,
				c1m,			/* 1 - beta1, rounded once */
				c2m,			/* 1 - beta2 */
				step,			/* lr / (1 - beta1^t) */
				rc2,			/* 1 / sqrt(1 - beta2^t) */
				eps;
} adam_consts;

#ifdef AE_HAVE_AVX2_KERNELS
/* Adam on the first n - n % 8 parameters, 8 at a time; returns that count. */
static AE_AVX2 size_t
adam_avx2(const adam_consts *k, float *params, const float *grads, float *m,
		  float *v, size_t n)
{
	const __m256 b1 = _mm256_set1_ps(k->b1),
				b2 = _mm256_set1_ps(k->b2),
				c1m = _mm256_set1_ps(k->c1m),
				c2m = _mm256_set1_ps(k->c2m),
				step = _mm256_set1_ps(k->step),
				rc2 = _mm256_set1_ps(k->rc2),
				eps = _mm256_set1_ps(k->eps);
	size_t		i;

	for (i = 0; i + 8 <= n; i += 8)
	{
		__m256		g = _mm256_loadu_ps(grads + i),
					mi,
					vi,
					den;

		mi = _mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(m + i)),
						   _mm256_mul_ps(c1m, g));
		vi = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(v + i)),
						   _mm256_mul_ps(_mm256_mul_ps(c2m, g), g));
		den = _mm256_add_ps(_mm256_mul_ps(_mm256_sqrt_ps(vi), rc2), eps);
		_mm256_storeu_ps(m + i, mi);
		_mm256_storeu_ps(v + i, vi);
		_mm256_storeu_ps(params + i,
						 _mm256_sub_ps(_mm256_loadu_ps(params + i),
									   _mm256_div_ps(_mm256_mul_ps(step, mi), den)));
	}
	return i;
}
#endif

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
		/* bias corrections folded into the step size, in double */
		double		c1 = 1.0 - pow(o->beta1, (double) o->t);
		double		c2 = 1.0 - pow(o->beta2, (double) o->t);
		adam_consts k;
		size_t		i = 0;

		k.b1 = (float) o->beta1;
		k.b2 = (float) o->beta2;
		k.c1m = (float) (1.0 - o->beta1);
		k.c2m = (float) (1.0 - o->beta2);
		k.step = (float) (o->lr / c1);
		k.rc2 = (float) (1.0 / sqrt(c2));
		k.eps = (float) o->eps;
#ifdef AE_HAVE_AVX2_KERNELS
		if (ae_use_avx2())
			i = adam_avx2(&k, params, grads, o->m, o->v, o->n);
#endif
		for (; i < o->n; i++)
		{
			float		g = grads[i];

			/* first and second moments */
			o->m[i] = k.b1 * o->m[i] + k.c1m * g;
			o->v[i] = k.b2 * o->v[i] + k.c2m * g * g;
			/* p -= lr * mhat / (sqrt(vhat) + eps) */
			params[i] -= k.step * o->m[i] / (sqrtf(o->v[i]) * k.rc2 + k.eps);
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
