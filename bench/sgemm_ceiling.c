/*-------------------------------------------------------------------------
 *
 * sgemm_ceiling.c
 *	  The machine's cblas_sgemm ceiling at the training shapes.
 *
 * For each thread count given (default 1 and 2) times every sgemm one
 * training step of the benchmark model makes (784 -> 256 -> 64 mirrored,
 * batch 256: four forward products, four weight gradients and three input
 * gradients, with the transposes the core uses) and the squares 512^3 ..
 * 2048^3, each the best of several repetitions, and prints one line per
 * shape:
 *
 *   sgemm <threads> <name> <M>x<N>x<K> <GFLOP/s>
 *
 * then "ceiling <threads> <GFLOP/s>" (the best shape) and
 * "step <threads> <GFLOP/s>" (the eleven training shapes back to back, as
 * one step, timed as a whole: what a perfect core could reach).
 *
 * Usage: sgemm_ceiling [threads ...]
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIN_SECONDS		0.25	/* time each shape at least this long */
#define MIN_REPS		3

typedef struct shape
{
	const char *name;
	CBLAS_TRANSPOSE ta;
	CBLAS_TRANSPOSE tb;
	int			M;
	int			N;
	int			K;
} shape;

/* One training step of 784-256-64-256-784 at batch 256, as the core does it. */
static const shape step_shapes[] = {
	{"fwd 784->256", CblasNoTrans, CblasTrans, 256, 256, 784},
	{"fwd 256->64", CblasNoTrans, CblasTrans, 256, 64, 256},
	{"fwd 64->256", CblasNoTrans, CblasTrans, 256, 256, 64},
	{"fwd 256->784", CblasNoTrans, CblasTrans, 256, 784, 256},
	{"dW 256->784", CblasTrans, CblasNoTrans, 784, 256, 256},
	{"dx 256->784", CblasNoTrans, CblasNoTrans, 256, 256, 784},
	{"dW 64->256", CblasTrans, CblasNoTrans, 256, 64, 256},
	{"dx 64->256", CblasNoTrans, CblasNoTrans, 256, 64, 256},
	{"dW 256->64", CblasTrans, CblasNoTrans, 64, 256, 256},
	{"dx 256->64", CblasNoTrans, CblasNoTrans, 256, 256, 64},
	{"dW 784->256", CblasTrans, CblasNoTrans, 256, 784, 256},
};
#define N_STEP	(int) (sizeof(step_shapes) / sizeof(step_shapes[0]))

static const shape square_shapes[] = {
	{"square 512", CblasNoTrans, CblasNoTrans, 512, 512, 512},
	{"square 1024", CblasNoTrans, CblasNoTrans, 1024, 1024, 1024},
	{"square 2048", CblasNoTrans, CblasNoTrans, 2048, 2048, 2048},
};
#define N_SQUARE	(int) (sizeof(square_shapes) / sizeof(square_shapes[0]))

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float *
filled(size_t n)
{
	float	   *p = malloc(sizeof(float) * n);

	if (p == NULL)
	{
		fprintf(stderr, "sgemm_ceiling: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < n; i++)
		p[i] = (float) ((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
	return p;
}

/* C (M, N) = op(A) op(B), row-major, leading dimensions from the shapes. */
static void
run(const shape *s, const float *A, const float *B, float *C)
{
	int			lda = s->ta == CblasNoTrans ? s->K : s->M;
	int			ldb = s->tb == CblasNoTrans ? s->N : s->K;

	cblas_sgemm(CblasRowMajor, s->ta, s->tb, s->M, s->N, s->K, 1.0f,
				A, lda, B, ldb, 0.0f, C, s->N);
}

/* Best seconds of one call of fn over repetitions lasting MIN_SECONDS. */
static double
best_time(const shape *shapes, int n, const float *A, const float *B, float *C)
{
	double		best = 1e30,
				start = now_seconds();
	int			reps = 0;

	for (int i = 0; i < n; i++)
		run(&shapes[i], A, B, C);	/* warm up */
	while (reps < MIN_REPS || now_seconds() - start < MIN_SECONDS)
	{
		double		t0 = now_seconds(),
					t;

		for (int i = 0; i < n; i++)
			run(&shapes[i], A, B, C);
		t = now_seconds() - t0;
		if (t < best)
			best = t;
		reps++;
	}
	return best;
}

static double
flops(const shape *s)
{
	return 2.0 * s->M * s->N * s->K;
}

int
main(int argc, char **argv)
{
	int			threads[16] = {1, 2};
	int			n_threads = 2;
	size_t		big = (size_t) 2048 * 2048;
	float	   *A = filled(big),
			   *B = filled(big),
			   *C = filled(big);

	if (argc > 1)
	{
		n_threads = 0;
		for (int i = 1; i < argc && n_threads < 16; i++)
			threads[n_threads++] = atoi(argv[i]);
	}
	for (int t = 0; t < n_threads; t++)
	{
		double		ceiling = 0.0,
					step_flops = 0.0,
					secs;

		openblas_set_num_threads(threads[t]);
		for (int i = 0; i < N_STEP + N_SQUARE; i++)
		{
			const shape *s = i < N_STEP ? &step_shapes[i] : &square_shapes[i - N_STEP];
			double		g = flops(s) / best_time(s, 1, A, B, C) / 1e9;

			printf("sgemm %d %-13s %dx%dx%d %.1f\n", threads[t], s->name,
				   s->M, s->N, s->K, g);
			if (g > ceiling)
				ceiling = g;
			if (i < N_STEP)
				step_flops += flops(s);
		}
		secs = best_time(step_shapes, N_STEP, A, B, C);
		printf("ceiling %d %.1f\n", threads[t], ceiling);
		printf("step %d %.1f\n", threads[t], step_flops / secs / 1e9);
		fflush(stdout);
	}
	free(A);
	free(B);
	free(C);
	return 0;
}
