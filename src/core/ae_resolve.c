/*-------------------------------------------------------------------------
 *
 * ae_resolve.c
 *	  Resolving the options whose defaults depend on other options or on
 *	  the data, and the checks of options against each other.
 *
 * The option table (ae_options.c) gives every option its own range and
 * default; what one option implies for another is here, in two stages:
 * ae_options_check before any row is read (the solver, the residual
 * network, the output activation, the hidden layers, cross checks) and
 * ae_options_resolve once the input dimension is known (latent_dim, the
 * dimension limits of the exact solver and of the residual network).
 *
 * The residual network (residual NULL: automatic) is on unless the caller
 * asked for something it cannot do: a sigmoid output (sigmoid of PCA is not
 * PCA), the exact solver (which computes PCA itself) or a linear activation
 * (whose default solver is the exact one), more than AE_MAX_PCA_DIM
 * dimensions, or a warm start from a version without it (the glue knows,
 * ae_options_residual_off); then it is off and everything is as before it
 * existed.  residual => true with one of those is an error with a hint.
 * Its defaults: hidden_units '{256}' (else none) and a linear output (else
 * sigmoid with scaling minmax).
 *
 *-------------------------------------------------------------------------
 */
#include "ae_options.h"

#define GIVEN(o, name)	ae_option_given(o, name)

/* Whether the models of o have a linear code layer (they can be aligned). */
int
ae_options_code_linear(const ae_options *o)
{
	return o->arch.activation == AE_ACT_LINEAR || o->arch.residual;
}

/*
 * Whether train() aligns the new version to the deployed one: align given
 * true, or not given and no warm start.
 */
int
ae_options_wants_align(const ae_options *o)
{
	if (GIVEN(o, "align"))
		return o->align;
	return !o->warm_start && ae_options_code_linear(o);
}

/* The defaults that follow from residual: hidden layers, output activation. */
static void
residual_defaults(ae_options *o)
{
	if (!GIVEN(o, "hidden_units"))
	{
		o->arch.n_hidden = o->arch.residual ? 1 : 0;
		o->arch.hidden[0] = AE_DEFAULT_HIDDEN;
	}
	if (o->solver == AE_SOLVER_EXACT)
		o->arch.output_activation = AE_ACT_LINEAR;
	else if (!GIVEN(o, "output_activation"))
		o->arch.output_activation = !o->arch.residual &&
			o->arch.scaling == AE_SCALING_MINMAX ? AE_ACT_SIGMOID : AE_ACT_LINEAR;
}

/*
 * Resolve residual against the other options and the input dimension
 * (n_input 0: not known yet): automatic is on unless something rules it
 * out; given true with such a thing is an error.
 */
static ae_status
resolve_residual(ae_options *o, int n_input, ae_error *err)
{
	int			given = GIVEN(o, "residual");

	if (given && !o->arch.residual)
	{
		residual_defaults(o);
		return AE_OK;
	}
	if (o->solver == AE_SOLVER_EXACT)
	{
		if (given)
		{
			ae_fail(err, AE_EINVAL, "residual needs gradient training");
			ae_error_detail(err, "The exact solver computes PCA itself; the residual network trains on top of it.");
			ae_error_hint(err, "Use solver => 'sgd', or leave residual unset.");
			return AE_EINVAL;
		}
		o->arch.residual = 0;
	}
	else if (GIVEN(o, "output_activation") && o->arch.output_activation != AE_ACT_LINEAR)
	{
		if (given)
		{
			ae_fail(err, AE_EINVAL, "the residual network starts at PCA and needs a linear output");
			ae_error_hint(err, "Leave output_activation unset (linear), or set residual => false.");
			return AE_EINVAL;
		}
		o->arch.residual = 0;
	}
	else if (n_input > AE_MAX_PCA_DIM)
	{
		if (given)
		{
			ae_fail(err, AE_ELIMIT, "the residual network handles at most %d dimensions, not %d",
					AE_MAX_PCA_DIM, n_input);
			ae_error_detail(err, "It starts at the exact PCA of the training rows, whose covariance matrix has d^2 entries.");
			ae_error_hint(err, "Set residual => false for wider inputs.");
			return AE_ELIMIT;
		}
		o->arch.residual = 0;
	}
	else
		o->arch.residual = given || o->arch.activation != AE_ACT_LINEAR;
	residual_defaults(o);
	return AE_OK;
}

/*
 * Turn an automatic residual off (a warm start from a version without it):
 * its defaults follow, and the architecture is checked again.  AE_EINVAL
 * if residual was given true.
 */
ae_status
ae_options_residual_off(ae_options *o, ae_error *err)
{
	char		why[256];

	if (GIVEN(o, "residual") && o->arch.residual)
	{
		ae_fail(err, AE_EINVAL, "warm_start needs the deployed version to have the residual network");
		ae_error_detail(err, "residual => true was given, and the deployed version was trained without it.");
		ae_error_hint(err, "Leave residual unset to continue from the deployed version, or train without warm_start.");
		return AE_EINVAL;
	}
	o->arch.residual = 0;
	residual_defaults(o);
	if (o->arch.n_input > 0 && ae_arch_check(&o->arch, why, sizeof(why)) != AE_OK)
		return ae_fail(err, AE_ELIMIT, "%s", why);
	return AE_OK;
}

/*
 * Checks that need no data; resolves the solver, the residual network, the
 * output activation and the hidden layers.
 */
ae_status
ae_options_check(ae_options *o, ae_error *err)
{
	int			linear = o->arch.activation == AE_ACT_LINEAR;
	ae_status	st;

	if (!GIVEN(o, "solver"))
		o->solver = linear ? AE_SOLVER_EXACT : AE_SOLVER_SGD;
	if (o->solver == AE_SOLVER_EXACT)
	{
		if (!linear)
		{
			ae_fail(err, AE_EINVAL, "solver exact needs activation linear");
			ae_error_hint(err, "The exact solver computes PCA, the optimum of a linear autoencoder.");
			return AE_EINVAL;
		}
		if (o->arch.n_hidden > 0 || o->cfg.noise != AE_NOISE_NONE ||
			o->cfg.weight_decay != 0.0 || o->cfg.sparsity != 0.0 ||
			(GIVEN(o, "output_activation") && o->arch.output_activation != AE_ACT_LINEAR))
		{
			ae_fail(err, AE_EINVAL, "the exact solver takes no hidden_units, noise, weight_decay, sparsity or sigmoid output");
			ae_error_hint(err, "Use solver => 'sgd' to train such a linear model by gradient descent.");
			return AE_EINVAL;
		}
		if (o->cfg.similarity_weight > 0.0)
		{
			ae_fail(err, AE_EINVAL, "similarity_weight needs gradient training");
			ae_error_detail(err, "The exact solver computes PCA, which has no neighbour term.");
			ae_error_hint(err, "Use solver => 'sgd', or leave similarity_weight at 0.");
			return AE_EINVAL;
		}
		if (o->warm_start)
		{
			ae_fail(err, AE_EINVAL, "warm_start needs gradient training");
			ae_error_hint(err, "The exact solver has no weights to continue from; use solver => 'sgd'.");
			return AE_EINVAL;
		}
	}
	st = resolve_residual(o, 0, err);
	if (st != AE_OK)
		return st;
	if (GIVEN(o, "align") && o->align && !ae_options_code_linear(o))
	{
		ae_fail(err, AE_EINVAL, "align needs a linear code layer");
		ae_error_detail(err, "The code layer applies activation %s; a rotation of its output cannot be undone by the decoder.",
						ae_activation_name(o->arch.activation));
		ae_error_hint(err, "Use activation => 'linear', or leave align unset.");
		return AE_EINVAL;
	}
	if (o->cfg.noise == AE_NOISE_MASKING && o->cfg.noise_level >= 1.0)
		return ae_fail(err, AE_EINVAL, "noise_level must be below 1 for masking, not %g",
					   o->cfg.noise_level);
	if (o->cfg.similarity_weight > 0.0 && o->cfg.batch_size < 2)
	{
		ae_fail(err, AE_EINVAL, "similarity_weight needs a batch_size of at least 2");
		ae_error_detail(err, "The similarity term compares each row with the other rows of its minibatch.");
		ae_error_hint(err, "Use the default batch_size of 256.");
		return AE_EINVAL;
	}
	if (o->deploy == AE_DEPLOY_IF_BETTER && o->solver != AE_SOLVER_EXACT &&
		o->cfg.validation_fraction <= 0.0)
	{
		ae_fail(err, AE_EINVAL, "deploy => 'if_better' needs validation rows");
		ae_error_hint(err, "Set validation_fraction above 0.");
		return AE_EINVAL;
	}
	return AE_OK;
}

/*
 * Checks once the input dimension is known; fills latent_dim if not given
 * and turns an automatic residual network off above AE_MAX_PCA_DIM.
 */
ae_status
ae_options_resolve(ae_options *o, int n_input, ae_error *err)
{
	char		why[256];
	ae_status	st;

	if (!GIVEN(o, "latent_dim"))
		o->arch.latent = n_input < 16 ? n_input : 16;
	if (o->arch.latent > n_input)
	{
		ae_fail(err, AE_EINVAL, "latent_dim %d is larger than the input dimension %d",
				o->arch.latent, n_input);
		ae_error_hint(err, "An autoencoder compresses: choose a latent_dim of at most %d.",
					  n_input);
		return AE_EINVAL;
	}
	if (o->solver == AE_SOLVER_EXACT && n_input > AE_MAX_PCA_DIM)
	{
		ae_fail(err, AE_ELIMIT, "the exact solver handles at most %d dimensions, not %d",
				AE_MAX_PCA_DIM, n_input);
		ae_error_hint(err, "Use solver => 'sgd' for wider inputs.");
		return AE_ELIMIT;
	}
	if (o->arch.residual && n_input > AE_MAX_PCA_DIM)
	{
		st = resolve_residual(o, n_input, err);
		if (st != AE_OK)
			return st;
	}
	o->arch.n_input = n_input;
	if (ae_arch_check(&o->arch, why, sizeof(why)) != AE_OK)
		return ae_fail(err, AE_ELIMIT, "%s", why);
	return AE_OK;
}
