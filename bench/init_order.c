/*-------------------------------------------------------------------------
 *
 * init_order.c
 *	  The initial weights and minibatch order ae_train uses for a seed.
 *
 * For the paired quality comparison of the benchmark: PyTorch trains the
 * same model from the same initial weights, over the same rows in the same
 * order as autoencoder.train() with this seed, so what remains between the
 * two test errors is the arithmetic of the two implementations (and the
 * chaotic growth of rounding differences), not the luck of the draw.
 *
 * It replays ae_train's use of its one seeded ae_rng, as ae_train.c's
 * header describes it: the validation split (a shuffle of all row indices;
 * the first n_val are held out), the weight initialisation
 * (ae_model_init_weights), then one shuffle of the training indices per
 * epoch.  Without noise nothing else draws from it.
 *
 *   init_order <seed> <epochs> <rows> <out-file>
 *
 * The model is the benchmark's (784 -> 256 -> 64 mirrored, relu, sigmoid
 * output), with validation_fraction 0.  The file holds the parameters as
 * float32 (each layer's W (out, in) then b, layer after layer: the
 * extension's layout, and PyTorch's nn.Linear weight layout) followed by
 * epochs x rows int32 row indices.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *
plain_alloc(void *ctx, size_t size)
{
	(void) ctx;
	return malloc(size ? size : 1);
}

static void
plain_release(void *ctx, void *ptr)
{
	(void) ctx;
	free(ptr);
}

int
main(int argc, char **argv)
{
	ae_allocator alloc = {plain_alloc, plain_release, NULL};
	ae_arch		arch;
	ae_model	m;
	ae_rng		rng;
	uint64_t	seed;
	int			epochs;
	size_t		n;
	size_t	   *idx;
	int32_t    *out;
	FILE	   *f;

	if (argc != 5)
	{
		fprintf(stderr, "usage: %s seed epochs rows out-file\n", argv[0]);
		return 2;
	}
	seed = strtoull(argv[1], NULL, 10);
	epochs = atoi(argv[2]);
	n = (size_t) strtoull(argv[3], NULL, 10);
	if (epochs < 1 || n < 1 || n > INT32_MAX)
	{
		fprintf(stderr, "init_order: bad epochs or rows\n");
		return 2;
	}

	memset(&arch, 0, sizeof(arch));
	arch.n_input = 784;
	arch.latent = 64;
	arch.n_hidden = 1;
	arch.hidden[0] = 256;
	arch.activation = AE_ACT_RELU;
	arch.output_activation = AE_ACT_SIGMOID;
	arch.scaling = AE_SCALING_NONE;
	idx = malloc(sizeof(size_t) * n);
	out = malloc(sizeof(int32_t) * n);
	if (idx == NULL || out == NULL || ae_model_create(&m, &arch, 0, &alloc) != AE_OK)
	{
		fprintf(stderr, "init_order: out of memory\n");
		return 1;
	}

	/* ae_train: seed, split shuffle (no validation rows), init, epochs */
	ae_rng_seed(&rng, seed);
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	ae_rng_shuffle(&rng, idx, n);
	ae_model_init_weights(&m, &rng);

	f = fopen(argv[4], "wb");
	if (f == NULL || fwrite(m.params, sizeof(float), m.n_params, f) != m.n_params)
	{
		fprintf(stderr, "init_order: cannot write %s\n", argv[4]);
		return 1;
	}
	for (int e = 0; e < epochs; e++)
	{
		ae_rng_shuffle(&rng, idx, n);
		for (size_t i = 0; i < n; i++)
			out[i] = (int32_t) idx[i];
		if (fwrite(out, sizeof(int32_t), n, f) != n)
		{
			fprintf(stderr, "init_order: cannot write %s\n", argv[4]);
			return 1;
		}
	}
	if (fclose(f) != 0)
		return 1;
	ae_model_destroy(&m);
	free(idx);
	free(out);
	return 0;
}
