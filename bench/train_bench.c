/*-------------------------------------------------------------------------
 *
 * train_bench.c
 *	  Training throughput of the pure-C core, without a server.
 *
 * Loads Fashion-MNIST straight from the Debian dataset's IDX files (through
 * a "zcat" pipe), trains the benchmark model (784 -> 256 -> 64, mirrored
 * decoder, relu, sigmoid output, no scaling, batch 256, Adam 1e-3, no
 * validation split) with ae_train, and prints samples/s, GFLOP/s at about
 * 2.2 MFLOP per sample, the final training loss and the test-set MSE.  It
 * is the harness used to profile the core (perf record, callgrind):
 *
 *   make -C bench train_bench
 *   OPENBLAS_NUM_THREADS=1 bench/train_bench -e 5 -t 1
 *
 * Options: -e epochs (5), -t threads (1), -n training rows (60000),
 * -b batch (256), -s seed (42), -d dataset directory, -q (no per-epoch
 * lines), -c print a checksum of the trained parameters (determinism).
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include "ae_core.h"
#include "ae_options.h"

#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_DIR		"/usr/share/datasets/fashion-mnist"
#define FLOP_PER_SAMPLE	2.2e6	/* 784-256-64 mirrored: fwd 0.87 + bwd 1.33 */

static void
die(const char *msg, const char *arg)
{
	fprintf(stderr, "train_bench: %s%s%s\n", msg, arg ? " " : "", arg ? arg : "");
	exit(1);
}

/* A big-endian 32-bit integer of an IDX header. */
static uint32_t
be32(const unsigned char *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | p[3];
}

/*
 * Read an IDX image file (gzip) into rows of floats scaled by 1/255, at
 * most limit rows; returns the row count.  *data is (n, 784) in one block.
 */
static size_t
load_images(const char *path, size_t limit, float **data, int *dim)
{
	char		cmd[4096];
	unsigned char hdr[16];
	unsigned char *buf;
	FILE	   *fp;
	size_t		n,
				d;

	if (access(path, R_OK) != 0)
		die("cannot read (apt-get install dataset-fashion-mnist)", path);
	snprintf(cmd, sizeof(cmd), "zcat -- '%s'", path);
	fp = popen(cmd, "r");
	if (fp == NULL || fread(hdr, 1, 16, fp) != 16 || be32(hdr) != 0x803)
		die("not an IDX image file:", path);
	n = be32(hdr + 4);
	d = (size_t) be32(hdr + 8) * be32(hdr + 12);
	buf = malloc(n * d);
	if (buf == NULL || fread(buf, 1, n * d, fp) != n * d)
		die("short read:", path);
	pclose(fp);
	if (limit && limit < n)
		n = limit;
	*data = malloc(sizeof(float) * n * d);
	if (*data == NULL)
		die("out of memory", NULL);
	for (size_t i = 0; i < n * d; i++)
		(*data)[i] = (float) buf[i] / 255.0f;
	free(buf);
	*dim = (int) d;
	return n;
}

static void *
bench_alloc(void *ctx, size_t size)
{
	(void) ctx;
	return malloc(size ? size : 1);
}

static void
bench_release(void *ctx, void *ptr)
{
	(void) ctx;
	free(ptr);
}

typedef struct epoch_ctx
{
	int			quiet;
	int			epochs;
} epoch_ctx;

static void
on_epoch(void *ctx, const ae_epoch_stats *s)
{
	epoch_ctx  *e = ctx;

	if (!e->quiet)
		fprintf(stderr, "epoch %d/%d: train loss %.6f (%.3f s)\n",
				s->epoch, e->epochs, s->train_loss, s->seconds);
}

int
main(int argc, char **argv)
{
	const char *dir = DEFAULT_DIR;
	int			epochs = 5,
				threads = 1,
				batch = 256,
				quiet = 0,
				checksum = 0,
				opt;
	size_t		limit = 0;
	uint64_t	seed = 42;
	char		path[4096];
	float	   *train,
			   *test,
			  **rows;
	size_t		n_train,
				n_test;
	int			d,
				dt;
	ae_allocator alloc = {bench_alloc, bench_release, NULL};
	ae_arch		arch;
	ae_model	m;
	ae_train_config cfg;
	ae_options	defaults;
	ae_train_callbacks cb;
	ae_train_result res;
	epoch_ctx	ectx;
	ae_status	st;
	double		t0,
				secs,
				sq = 0.0;
	float	   *work;
	int			blk = 1000;

	while ((opt = getopt(argc, argv, "e:t:n:b:s:d:qc")) != -1)
	{
		switch (opt)
		{
			case 'e':
				epochs = atoi(optarg);
				break;
			case 't':
				threads = atoi(optarg);
				break;
			case 'n':
				limit = (size_t) atol(optarg);
				break;
			case 'b':
				batch = atoi(optarg);
				break;
			case 's':
				seed = (uint64_t) strtoull(optarg, NULL, 10);
				break;
			case 'd':
				dir = optarg;
				break;
			case 'q':
				quiet = 1;
				break;
			case 'c':
				checksum = 1;
				break;
			default:
				fprintf(stderr, "usage: %s [-e epochs] [-t threads] [-n rows] "
						"[-b batch] [-s seed] [-d dir] [-q] [-c]\n", argv[0]);
				return 2;
		}
	}
	openblas_set_num_threads(threads);

	snprintf(path, sizeof(path), "%s/train-images-idx3-ubyte.gz", dir);
	n_train = load_images(path, limit, &train, &d);
	snprintf(path, sizeof(path), "%s/t10k-images-idx3-ubyte.gz", dir);
	n_test = load_images(path, 0, &test, &dt);
	if (dt != d)
		die("train and test dimensions differ", NULL);
	rows = malloc(sizeof(float *) * n_train);
	for (size_t i = 0; i < n_train; i++)
		rows[i] = train + i * d;

	memset(&arch, 0, sizeof(arch));
	arch.n_input = d;
	arch.latent = 64;
	arch.n_hidden = 1;
	arch.hidden[0] = 256;
	arch.activation = AE_ACT_RELU;
	arch.output_activation = AE_ACT_SIGMOID;
	arch.scaling = AE_SCALING_NONE;
	if (ae_model_create(&m, &arch, 0, &alloc) != AE_OK)
		die("ae_model_create failed", NULL);

	memset(&cfg, 0, sizeof(cfg));
	cfg.epochs = epochs;
	cfg.batch_size = batch;
	ae_options_default(&defaults);
	cfg.learning_rate = defaults.cfg.learning_rate;
	cfg.optimizer = AE_OPT_ADAM;
	cfg.noise = AE_NOISE_NONE;
	cfg.noise_level = defaults.cfg.noise_level;
	cfg.validation_fraction = 0.0;
	cfg.patience = 0;
	cfg.seed = seed;
	ectx.quiet = quiet;
	ectx.epochs = epochs;
	cb.on_batch = NULL;
	cb.on_epoch = on_epoch;
	cb.ctx = &ectx;

	t0 = ae_seconds();
	st = ae_train(&m, rows, n_train, &cfg, &cb, &alloc, &res);
	secs = ae_seconds() - t0;
	if (st != AE_OK)
		die("ae_train failed:", ae_status_message(st));

	/* test MSE on [0,1] pixels (scaling none: raw units = network units) */
	work = malloc(sizeof(float) * ae_infer_floats(&m, blk));
	{
		double	   *err = malloc(sizeof(double) * blk);

		for (size_t s = 0; s < n_test; s += blk)
		{
			int			cnt = (int) (n_test - s < (size_t) blk ? n_test - s : (size_t) blk);

			ae_reconstruction_error(&m, test + s * d, cnt, err, work);
			for (int i = 0; i < cnt; i++)
				sq += err[i];
		}
		free(err);
	}

	printf("threads %d  epochs %d  rows %zu  batch %d  seconds %.3f  "
		   "samples/s %.0f  GFLOP/s %.1f  train_loss %.6f  test_mse %.6f\n",
		   threads, res.epochs_run, n_train, batch, secs,
		   (double) n_train * res.epochs_run / secs,
		   (double) n_train * res.epochs_run * FLOP_PER_SAMPLE / secs / 1e9,
		   res.final_train_loss, sq / (double) n_test);
	if (checksum)
	{
		uint64_t	h = 1469598103934665603ULL;
		const unsigned char *p = (const unsigned char *) m.params;

		for (size_t i = 0; i < m.n_params * sizeof(float); i++)
			h = (h ^ p[i]) * 1099511628211ULL;
		printf("params fnv1a %016llx\n", (unsigned long long) h);
	}

	free(work);
	alloc.release(NULL, res.curve);
	ae_model_destroy(&m);
	free(rows);
	free(train);
	free(test);
	return 0;
}
