/*-------------------------------------------------------------------------
 *
 * fuzz_model.c
 *	  libFuzzer target: the model format (ae_model_parse), which reads the
 *	  bytes of any autoencoder.model value a user writes (hex text, binary
 *	  COPY, a cast).
 *
 * Every input is parsed twice: as it is (a mutated model almost always
 * fails its SHA-256 digest, which must be rejected cleanly) and with its
 * last 32 bytes replaced by the digest of the bytes before them, so the
 * fuzzer reaches every check behind the digest.  A model that parses must
 *   - serialize back to exactly the bytes parsed, with a digest that verifies;
 *   - run encode, decode, reconstruct (plain and clamped) and the
 *     reconstruction error on a zero row;
 *   - give a describe() document and save()'s configuration and training
 *     figures that are JSON objects (they go to jsonb);
 *   - copy, and copy with other metadata.
 * A parse that fails must leave nothing allocated and say why.
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz_util.h"
#include "ae_meta.h"

#include <math.h>

/* Inference on one zero row through every entry point. */
static void
infer_zero_row(const ae_model *m)
{
	int			n = m->arch.n_input,
				k = m->arch.latent;
	float	   *x = calloc((size_t) n, sizeof(float));
	float	   *code = calloc((size_t) k, sizeof(float));
	float	   *out = calloc((size_t) n, sizeof(float));
	float	   *work = calloc(ae_infer_floats(m, 1), sizeof(float));
	double		err = -1;

	FZ_CHECK(x && code && out && work, "out of memory");
	ae_encode(m, x, 1, code, work);
	ae_decode(m, code, 1, out, work);
	ae_reconstruct(m, x, 1, out, 0, work);
	ae_reconstruct(m, x, 1, out, 1, work);
	for (int i = 0; i < n; i++)	/* clamped to the training range */
		FZ_CHECK(isnan(out[i]) || (out[i] >= m->lo[i] && out[i] <= m->hi[i]),
				 "denoise output %d = %g outside [%g, %g]", i, out[i], m->lo[i], m->hi[i]);
	ae_reconstruction_error(m, x, 1, &err, work);
	FZ_CHECK(isnan(err) || err >= 0, "negative reconstruction error %g", err);
	free(x);
	free(code);
	free(out);
	free(work);
}

/* What describe() and save() make of the metadata. */
static void
check_metadata(const ae_model *m, size_t len)
{
	char	   *text = ae_model_describe(m, len, &fz_alloc);
	char	   *config,
			   *metrics;
	double		threshold;

	FZ_CHECK(text != NULL, "describe returned NULL");
	FZ_CHECK(fz_json_ok(text, strlen(text), AE_JOBJECT), "describe is not a JSON object: %.200s", text);
	free(text);
	FZ_CHECK(ae_meta_for_save(m, &fz_alloc, &config, &metrics, &threshold) == AE_OK,
			 "ae_meta_for_save failed on a model that parsed");
	FZ_CHECK(fz_json_ok(config, strlen(config), AE_JOBJECT), "save config is not a JSON object: %.200s", config);
	FZ_CHECK(fz_json_ok(metrics, strlen(metrics), AE_JOBJECT), "save metrics is not a JSON object: %.200s", metrics);
	FZ_CHECK(isnan(threshold) || (isfinite(threshold) && threshold >= 0), "threshold %g", threshold);
	free(config);
	free(metrics);
}

/* Parse buf and check everything a parsed model promises. */
static void
one(const unsigned char *buf, size_t len)
{
	ae_model	m,
				copy;
	char		err[256];
	ae_status	st;
	unsigned char *out,
				digest[AE_DIGEST_BYTES];
	size_t		size;

	memset(err, 0, sizeof(err));
	st = ae_model_parse(buf, len, &m, &fz_alloc, err, sizeof(err));
	if (st != AE_OK)
	{
		FZ_CHECK(st == AE_EFORMAT || st == AE_ENOMEM, "status %d", (int) st);
		FZ_CHECK(m.block == NULL, "a failed parse left a model allocated");
		FZ_CHECK(fz_message_ok(err, sizeof(err)), "no message");
		return;
	}
	FZ_CHECK(ae_arch_check(&m.arch, err, sizeof(err)) == AE_OK, "parsed arch invalid: %s", err);

	/* serialize back: the same bytes, a digest that verifies */
	size = ae_model_serialized_size(&m);
	FZ_CHECK(size == len, "serialized size %zu, parsed %zu", size, len);
	out = malloc(size);
	FZ_CHECK(out != NULL, "out of memory");
	ae_model_serialize(&m, out);
	FZ_CHECK(memcmp(out, buf, len) == 0, "serialized bytes differ from the parsed ones");
	ae_sha256(out, size - AE_DIGEST_BYTES, digest);
	FZ_CHECK(memcmp(digest, out + size - AE_DIGEST_BYTES, AE_DIGEST_BYTES) == 0,
			 "the digest written does not verify");
	free(out);

	infer_zero_row(&m);
	check_metadata(&m, len);

	FZ_CHECK(ae_model_copy(&copy, &m, &fz_alloc) == AE_OK, "copy failed");
	FZ_CHECK(copy.n_params == m.n_params &&
			 memcmp(copy.params, m.params, sizeof(float) * m.n_params) == 0,
			 "copy differs");
	ae_model_destroy(&copy);
	FZ_CHECK(ae_model_with_meta(&copy, &m, "{}", 2, &fz_alloc) == AE_OK, "with_meta failed");
	FZ_CHECK(copy.meta_len == 2, "with_meta kept %zu bytes", copy.meta_len);
	ae_model_destroy(&copy);
	ae_model_destroy(&m);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size);
	if (size >= AE_DIGEST_BYTES)
	{
		unsigned char *fixed = malloc(size);

		FZ_CHECK(fixed != NULL, "out of memory");
		memcpy(fixed, data, size);
		ae_sha256(fixed, size - AE_DIGEST_BYTES, fixed + size - AE_DIGEST_BYTES);
		one(fixed, size);
		free(fixed);
	}
	return 0;
}
