/*-------------------------------------------------------------------------
 *
 * ae_format.c
 *	  The versioned binary model format: write and validate-on-read.
 *
 * All integers and floats are little-endian whatever the host:
 *
 *   offset  size        field
 *   0       8           magic "AENCODER"
 *   8       4           format version: 2 or 3 (AE_FORMAT_VERSION)
 *   12      4           flags: 0 in version 2; in version 3 bit 0
 *                       (AE_FORMAT_RESIDUAL) marks the PCA-residual network
 *   16      4           n_input
 *   20      4           latent
 *   24      4           n_hidden (k)
 *   28      4k          hidden units, encoder order
 *   +       4           activation, output activation, scaling, 0 (bytes)
 *   +       8           parameter count (checked against the sizes)
 *   +       4           metadata length
 *   +       16 n_input  shift, scale, lo, hi (float32)
 *   +       4 P         parameters (float32, each layer's W then b; then
 *                       for a residual model with hidden layers the skip
 *                       paths Ae, ae, Ad, ad)
 *   +       meta        metadata bytes (JSON text from the glue)
 *   +       32          SHA-256 digest of everything before it
 *
 * Version 3 adds the residual flag and scaling 3 ('l2'); the writer uses
 * version 2 for every model version 2 can express (not residual, scaling
 * other than 'l2'), so builds that read only version 2 keep reading them,
 * and the reader takes both, each only for what it is written for (a
 * model has one byte form, so its digest identifies it).
 *
 * ae_model_parse reads nothing before checking it lies inside the buffer,
 * rejects any length but the exact one, a wrong digest, out-of-range
 * sizes or enums, unknown flags, what version 2 cannot hold in a version 2
 * model, non-finite floats, non-positive scales, and a scaling other than
 * the identity for scalings 'none' and 'l2'.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_core.h"
#include "ae_bytes.h"
#include "ae_meta.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SET_ERR(...) \
	do { if (err && errlen > 0) snprintf(err, errlen, __VA_ARGS__); } while (0)

#define HEADER_FIXED	28		/* magic through n_hidden */
#define HEADER_TAIL		16		/* enum bytes, parameter count, meta length */
#define DIGEST_SIZE		AE_DIGEST_BYTES

/* Size of a header for k hidden layers. */
static size_t
header_size(int k)
{
	return HEADER_FIXED + 4 * (size_t) k + HEADER_TAIL;
}

/* The version m is written in: 2 unless it needs version 3. */
int
ae_model_format_version(const ae_model *m)
{
	return m->arch.residual || m->arch.scaling == AE_SCALING_L2 ?
		AE_FORMAT_VERSION : AE_FORMAT_VERSION_MIN;
}

/* Exact serialized size of m. */
size_t
ae_model_serialized_size(const ae_model *m)
{
	return header_size(m->arch.n_hidden) +
		4 * (4 * (size_t) m->arch.n_input + m->n_params) +
		m->meta_len + DIGEST_SIZE;
}

/* Write m into out, which holds ae_model_serialized_size(m) bytes. */
void
ae_model_serialize(const ae_model *m, unsigned char *out)
{
	unsigned char *p = out;
	const ae_arch *a = &m->arch;

	memcpy(p, AE_FORMAT_MAGIC, 8);
	p += 8;
	p = ae_put_u32(p, (uint32_t) ae_model_format_version(m));
	p = ae_put_u32(p, a->residual ? AE_FORMAT_RESIDUAL : 0);
	p = ae_put_u32(p, (uint32_t) a->n_input);
	p = ae_put_u32(p, (uint32_t) a->latent);
	p = ae_put_u32(p, (uint32_t) a->n_hidden);
	for (int i = 0; i < a->n_hidden; i++)
		p = ae_put_u32(p, (uint32_t) a->hidden[i]);
	*p++ = (unsigned char) a->activation;
	*p++ = (unsigned char) a->output_activation;
	*p++ = (unsigned char) a->scaling;
	*p++ = 0;
	p = ae_put_u64(p, (uint64_t) m->n_params);
	p = ae_put_u32(p, (uint32_t) m->meta_len);
	p = ae_put_floats(p, m->shift, 4 * (size_t) a->n_input);
	p = ae_put_floats(p, m->params, m->n_params);
	if (m->meta_len)
		memcpy(p, m->meta, m->meta_len);
	p += m->meta_len;
	ae_sha256(out, (size_t) (p - out), p);
}

/* Parse and validate buf[0..len) into a new model m; message in err. */
ae_status
ae_model_parse(const unsigned char *buf, size_t len, ae_model *m,
			   const ae_allocator *alloc, char *err, size_t errlen)
{
	ae_arch		arch;
	uint32_t	version,
				flags,
				k,
				meta_len;
	uint64_t	n_params;
	size_t		hdr,
				body,
				total;
	const unsigned char *p;
	char		why[160];
	ae_status	st;

	memset(m, 0, sizeof(*m));
	memset(&arch, 0, sizeof(arch));
	if (len < HEADER_FIXED || memcmp(buf, AE_FORMAT_MAGIC, 8) != 0)
	{
		SET_ERR("the bytes do not start with an autoencoder model header");
		return AE_EFORMAT;
	}
	version = ae_get_u32(buf + 8);
	if (version < AE_FORMAT_VERSION_MIN || version > AE_FORMAT_VERSION)
	{
		SET_ERR("model format version %u is not supported (this build reads versions %d to %d)",
				version, AE_FORMAT_VERSION_MIN, AE_FORMAT_VERSION);
		return AE_EFORMAT;
	}
	flags = ae_get_u32(buf + 12);
	if (flags & ~(version >= 3 ? (uint32_t) AE_FORMAT_RESIDUAL : 0u))
	{
		SET_ERR("unknown model format flags %u for version %u", flags, version);
		return AE_EFORMAT;
	}
	arch.residual = (flags & AE_FORMAT_RESIDUAL) != 0;
	k = ae_get_u32(buf + 24);
	if (k > AE_MAX_HIDDEN)
	{
		SET_ERR("model has %u hidden layers, at most %d are allowed",
				k, AE_MAX_HIDDEN);
		return AE_EFORMAT;
	}
	hdr = header_size((int) k);
	if (len < hdr)
	{
		SET_ERR("model is truncated: %zu bytes, the header alone needs %zu",
				len, hdr);
		return AE_EFORMAT;
	}
	arch.n_input = (int) (ae_get_u32(buf + 16) > AE_MAX_DIM ? 0 : ae_get_u32(buf + 16));
	arch.latent = (int) (ae_get_u32(buf + 20) > AE_MAX_DIM ? 0 : ae_get_u32(buf + 20));
	arch.n_hidden = (int) k;
	p = buf + HEADER_FIXED;
	for (uint32_t i = 0; i < k; i++, p += 4)
		arch.hidden[i] = (int) (ae_get_u32(p) > AE_MAX_UNITS ? 0 : ae_get_u32(p));
	arch.activation = (ae_activation) p[0];
	arch.output_activation = (ae_activation) p[1];
	arch.scaling = (ae_scaling) p[2];
	if (p[3] != 0 || ae_arch_check(&arch, why, sizeof(why)) != AE_OK)
	{
		SET_ERR("model header is invalid: %s", p[3] ? "reserved byte set" : why);
		return AE_EFORMAT;
	}
	/* each model has one byte form: the oldest version that expresses it */
	if (version != (arch.residual || arch.scaling == AE_SCALING_L2 ?
					AE_FORMAT_VERSION : AE_FORMAT_VERSION_MIN))
	{
		SET_ERR("model header is invalid: %s", version < AE_FORMAT_VERSION ?
				"scaling l2 needs format version 3" :
				"format version 3 is only for residual or l2 models");
		return AE_EFORMAT;
	}
	n_params = ae_get_u64(p + 4);
	meta_len = ae_get_u32(p + 12);
	if (meta_len > AE_MAX_META)
	{
		SET_ERR("model metadata of %u bytes exceeds the limit of %d",
				meta_len, AE_MAX_META);
		return AE_EFORMAT;
	}
	/* sizes, total length and digest are checked before any allocation */
	if (n_params != ae_arch_param_count(&arch))
	{
		SET_ERR("model declares %llu parameters but its layers need %zu",
				(unsigned long long) n_params, ae_arch_param_count(&arch));
		return AE_EFORMAT;
	}
	body = 4 * (4 * (size_t) arch.n_input + (size_t) n_params) + meta_len;
	total = hdr + body + DIGEST_SIZE;
	if (len != total)
	{
		SET_ERR("model is %zu bytes long but its header describes %zu bytes",
				len, total);
		return AE_EFORMAT;
	}
	{
		unsigned char digest[DIGEST_SIZE];

		ae_sha256(buf, len - DIGEST_SIZE, digest);
		if (memcmp(digest, buf + len - DIGEST_SIZE, DIGEST_SIZE) != 0)
			st = AE_EFORMAT;
		else
			st = AE_OK;
	}
	if (st != AE_OK)
	{
		SET_ERR("model digest does not match its contents");
		return AE_EFORMAT;
	}
	st = ae_model_create(m, &arch, meta_len, alloc);
	if (st != AE_OK)
	{
		SET_ERR("%s", st == AE_ENOMEM ? "out of memory" :
				"model sizes are out of range");
		return st == AE_ENOMEM ? AE_ENOMEM : AE_EFORMAT;
	}
	p = buf + hdr;
	if (!ae_get_floats(p, m->shift, 4 * (size_t) arch.n_input))
	{
		SET_ERR("model scaling contains a non-finite value");
		goto fail;
	}
	p += 16 * (size_t) arch.n_input;
	for (int i = 0; i < arch.n_input; i++)
		if (!(m->scale[i] > 0.0f) || m->lo[i] > m->hi[i] ||
			((arch.scaling == AE_SCALING_NONE || arch.scaling == AE_SCALING_L2) &&
			 (m->shift[i] != 0.0f || m->scale[i] != 1.0f)))

		{
			SET_ERR("model scaling of feature %d is invalid", i + 1);
			goto fail;
		}
	if (!ae_get_floats(p, m->params, m->n_params))
	{
		SET_ERR("model weights contain a non-finite value");
		goto fail;
	}
	p += 4 * m->n_params;
	if (meta_len)
		memcpy(m->meta, p, meta_len);
	{
		ae_jdoc		doc;

		st = ae_meta_parse(m, alloc, &doc);
		if (st == AE_ENOMEM)
		{
			SET_ERR("out of memory");
			ae_model_destroy(m);
			return AE_ENOMEM;
		}
		if (st == AE_EINVAL)
		{
			SET_ERR("model metadata contains a number out of range");
			goto fail;
		}
		if (st != AE_OK)
		{
			SET_ERR("model metadata is not a JSON object");
			goto fail;
		}
		ae_json_doc_free(&doc);
	}
	return AE_OK;

fail:
	ae_model_destroy(m);
	return AE_EFORMAT;
}
