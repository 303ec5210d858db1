/*-------------------------------------------------------------------------
 *
 * ae_model.c
 *	  Allocating, copying and initialising a model.
 *
 * A model is one block from the caller's allocator: all parameters (each
 * layer's W then b, layer after layer, then for a PCA-residual model with
 * hidden layers the skip paths Ae, ae, Ad, ad), the four per-feature
 * scaling vectors, then the metadata bytes.  W[l], b[l] and the rest are
 * views.  Appending the skip paths keeps every layer where it would be
 * without them.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_core.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Write a message into err if there is room. */
#define SET_ERR(...) \
	do { if (err && errlen > 0) snprintf(err, errlen, __VA_ARGS__); } while (0)

/* Layer sizes of an architecture: dims[0..n_layers]; returns n_layers. */
static int
arch_dims(const ae_arch *arch, int *dims)
{
	int			k = arch->n_hidden;
	int			L = 2 * (k + 1);

	dims[0] = arch->n_input;
	for (int i = 0; i < k; i++)
		dims[1 + i] = arch->hidden[i];
	dims[k + 1] = arch->latent;
	for (int i = 0; i < k; i++)
		dims[k + 2 + i] = arch->hidden[k - 1 - i];
	dims[L] = arch->n_input;
	return L;
}

/* Whether arch has the skip paths: residual with hidden layers. */
static int
has_skip(const ae_arch *arch)
{
	return arch->residual && arch->n_hidden > 0;
}

/* Floats of the skip paths: Ae (k, d), ae (k), Ad (d, k), ad (d). */
static size_t
skip_params(const ae_arch *arch)
{
	size_t		d = (size_t) arch->n_input,
				k = (size_t) arch->latent;

	return has_skip(arch) ? 2 * d * k + d + k : 0;
}

/*
 * Parameter count (layers, then skip paths) with overflow checks; 0 if
 * over AE_MAX_PARAMS.
 */
static size_t
count_params(const ae_arch *arch, const int *dims, int L)
{
	size_t		total = skip_params(arch);

	if (total > AE_MAX_PARAMS)
		return 0;
	for (int l = 0; l < L; l++)
	{
		size_t		layer = (size_t) dims[l + 1] * ((size_t) dims[l] + 1);

		if (layer > AE_MAX_PARAMS || total > AE_MAX_PARAMS - layer)
			return 0;
		total += layer;
	}
	return total;
}

/* Check an architecture's sizes and enum values; message in err. */
ae_status
ae_arch_check(const ae_arch *arch, char *err, size_t errlen)
{
	if (arch->n_input < 1 || arch->n_input > AE_MAX_DIM)
	{
		SET_ERR("input dimension %d is out of range 1 to %d",
				arch->n_input, AE_MAX_DIM);
		return AE_EINVAL;
	}
	if (arch->latent < 1 || arch->latent > arch->n_input)
	{
		SET_ERR("latent_dim %d is out of range 1 to %d (the input dimension)",
				arch->latent, arch->n_input);
		return AE_EINVAL;
	}
	if (arch->n_hidden < 0 || arch->n_hidden > AE_MAX_HIDDEN)
	{
		SET_ERR("%d hidden layers given, at most %d are allowed",
				arch->n_hidden, AE_MAX_HIDDEN);
		return AE_EINVAL;
	}
	for (int i = 0; i < arch->n_hidden; i++)
		if (arch->hidden[i] < 1 || arch->hidden[i] > AE_MAX_UNITS)
		{
			SET_ERR("hidden layer %d has %d units, which is out of range 1 to %d",
					i + 1, arch->hidden[i], AE_MAX_UNITS);
			return AE_EINVAL;
		}
	if ((unsigned) arch->activation >= AE_ACT_COUNT)
	{
		SET_ERR("unknown activation %d", (int) arch->activation);
		return AE_EINVAL;
	}
	{
		int			dims[AE_MAX_LAYERS + 1];

		if (count_params(arch, dims, arch_dims(arch, dims)) == 0)
		{
			SET_ERR("the model would have more than %zu parameters",
					(size_t) AE_MAX_PARAMS);
			return AE_EINVAL;
		}
	}
	if (arch->output_activation != AE_ACT_LINEAR &&
		arch->output_activation != AE_ACT_SIGMOID)
	{
		SET_ERR("output activation must be linear or sigmoid");
		return AE_EINVAL;
	}
	if ((unsigned) arch->scaling >= AE_SCALING_COUNT)
	{
		SET_ERR("unknown normalization %d", (int) arch->scaling);
		return AE_EINVAL;
	}
	if (arch->residual != 0 && arch->residual != 1)
	{
		SET_ERR("residual must be 0 or 1, not %d", arch->residual);
		return AE_EINVAL;
	}
	if (arch->residual && arch->output_activation != AE_ACT_LINEAR)
	{
		SET_ERR("the residual network starts at PCA and needs a linear output");
		return AE_EINVAL;
	}
	return AE_OK;
}

/* Parameters of a valid architecture, 0 if it is invalid or too large. */
size_t
ae_arch_param_count(const ae_arch *arch)
{
	int			dims[AE_MAX_LAYERS + 1];

	if (ae_arch_check(arch, NULL, 0) != AE_OK)
		return 0;
	return count_params(arch, dims, arch_dims(arch, dims));
}

/* Allocate a model for arch with meta_len bytes of metadata; zeroed. */
ae_status
ae_model_create(ae_model *m, const ae_arch *arch, size_t meta_len,
				const ae_allocator *alloc)
{
	size_t		floats,
				bytes;
	float	   *p;

	memset(m, 0, sizeof(*m));
	if (ae_arch_check(arch, NULL, 0) != AE_OK || meta_len > AE_MAX_META)
		return AE_EINVAL;
	m->arch = *arch;
	m->n_layers = arch_dims(arch, m->dims);
	m->n_params = count_params(arch, m->dims, m->n_layers);
	if (m->n_params == 0)
		return AE_EINVAL;
	floats = m->n_params + 4 * (size_t) arch->n_input;
	bytes = floats * sizeof(float) + meta_len;
	m->block = alloc->alloc(alloc->ctx, bytes);
	if (m->block == NULL)
		return AE_ENOMEM;
	memset(m->block, 0, bytes);
	m->alloc = *alloc;
	p = m->block;
	m->params = p;
	for (int l = 0; l < m->n_layers; l++)
	{
		m->W[l] = p;
		p += (size_t) m->dims[l + 1] * m->dims[l];
		m->b[l] = p;
		p += m->dims[l + 1];
	}
	if (has_skip(arch))
	{
		m->Ae = p;
		m->ae = m->Ae + (size_t) arch->latent * arch->n_input;
		m->Ad = m->ae + arch->latent;
		m->ad = m->Ad + (size_t) arch->n_input * arch->latent;
		p = m->ad + arch->n_input;
	}
	m->shift = p;
	m->scale = m->shift + arch->n_input;
	m->lo = m->scale + arch->n_input;
	m->hi = m->lo + arch->n_input;
	m->meta = (char *) (m->hi + arch->n_input);
	m->meta_len = meta_len;
	for (int i = 0; i < arch->n_input; i++)
		m->scale[i] = 1.0f;
	return AE_OK;
}

/* Release a model's block; safe on a zeroed or destroyed model. */
void
ae_model_destroy(ae_model *m)
{
	if (m->block)
		m->alloc.release(m->alloc.ctx, m->block);
	memset(m, 0, sizeof(*m));
}

/* Copy src's parameters and scaling into dst (same architecture). */
void
ae_model_copy_values(ae_model *dst, const ae_model *src)
{
	size_t		d = (size_t) src->arch.n_input;

	memcpy(dst->params, src->params, sizeof(float) * src->n_params);
	memcpy(dst->shift, src->shift, sizeof(float) * d);
	memcpy(dst->scale, src->scale, sizeof(float) * d);
	memcpy(dst->lo, src->lo, sizeof(float) * d);
	memcpy(dst->hi, src->hi, sizeof(float) * d);
}

/* A copy of src (its own allocation) carrying the metadata given. */
ae_status
ae_model_with_meta(ae_model *dst, const ae_model *src, const char *meta,
				   size_t meta_len, const ae_allocator *alloc)
{
	ae_status	st = ae_model_create(dst, &src->arch, meta_len, alloc);

	if (st != AE_OK)
		return st;
	ae_model_copy_values(dst, src);
	if (meta_len)
		memcpy(dst->meta, meta, meta_len);
	return AE_OK;
}

/* Deep copy of src into dst (with its own allocation). */
ae_status
ae_model_copy(ae_model *dst, const ae_model *src, const ae_allocator *alloc)
{
	return ae_model_with_meta(dst, src, src->meta, src->meta_len, alloc);
}

/*
 * Fresh weights: He uniform (limit sqrt(6/fan_in)) for relu and elu layers,
 * Glorot uniform (limit sqrt(6/(fan_in+fan_out))) otherwise; zero biases.
 */
void
ae_model_init_weights(ae_model *m, ae_rng *rng)
{
	for (int l = 0; l < m->n_layers; l++)
	{
		int			in = m->dims[l],
					out = m->dims[l + 1];
		ae_activation act = l == m->n_layers - 1 ?
			m->arch.output_activation : m->arch.activation;
		double		limit = (act == AE_ACT_RELU || act == AE_ACT_ELU) ?
			sqrt(6.0 / in) : sqrt(6.0 / (in + out));

		for (size_t i = 0; i < (size_t) in * out; i++)
			m->W[l][i] = (float) ((2.0 * ae_rng_uniform(rng) - 1.0) * limit);
		memset(m->b[l], 0, sizeof(float) * out);
	}
}

/*
 * The activation of layer l: the output activation for the last layer,
 * linear for the code layer of a residual model, else the hidden one.
 */
ae_activation
ae_layer_activation(const ae_model *m, int l)
{
	if (l == m->n_layers - 1)
		return m->arch.output_activation;
	if (m->arch.residual && l == m->arch.n_hidden)
		return AE_ACT_LINEAR;
	return m->arch.activation;
}

/* The widest layer of a model, for sizing work buffers. */

int
ae_model_max_dim(const ae_model *m)
{
	int			w = 0;

	for (int l = 0; l <= m->n_layers; l++)
		if (m->dims[l] > w)
			w = m->dims[l];
	return w;
}
