/*-------------------------------------------------------------------------
 *
 * test_util.h
 *	  Tiny shared harness for the core's unit tests: checks that print one
 *	  line each, a final "N passed, M failed" summary, a counting malloc
 *	  allocator with optional fault injection, numeric helpers, and the
 *	  model and moments helpers that more than one test program uses.
 *
 * Everything is static inline so each test program gets its own copy and
 * unused helpers do not trigger -Wunused-function.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include "ae_core.h"
#include "ae_options.h"
#include "ae_ref.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Pass/fail accounting                                                    */
/* ---------------------------------------------------------------------- */

typedef struct tu_state
{
	int			passed;
	int			failed;
} tu_state;

/* This program's counts (each program has its own copy). */
static tu_state tu_counts;

/* Record one check; prints "ok   - ..." or "FAIL - ..." on its own line. */
static inline int
tu_check(int cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline int
tu_check(int cond, const char *fmt, ...)
{
	va_list		ap;

	fputs(cond ? "ok   - " : "FAIL - ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	if (cond)
		tu_counts.passed++;
	else
		tu_counts.failed++;
	return cond;
}

#define CHECK(cond, ...) tu_check((cond) ? 1 : 0, __VA_ARGS__)

/* Print the summary line; returns the process exit status. */
static inline int
tu_finish(void)
{
	printf("%d passed, %d failed\n", tu_counts.passed, tu_counts.failed);
	fflush(stdout);
	return tu_counts.failed > 0 ? 1 : 0;
}

/* ---------------------------------------------------------------------- */
/* Allocator: malloc/free with live-block counting and fault injection     */
/* ---------------------------------------------------------------------- */

typedef struct tu_alloc_ctx
{
	long		live;			/* blocks handed out and not yet released */
	long		total;			/* successful allocations so far */
	long		fail_at;		/* fail the allocation with this index; <0: never */
	long		failures;		/* allocations refused */
	size_t		max_request;	/* largest size asked for */
	size_t		cap;			/* refuse requests above this (0: 256 MiB) */
} tu_alloc_ctx;

/* ae_allocator.alloc: counts blocks, notes the largest request, fails on cue. */
static inline void *
tu_alloc_fn(void *ctx, size_t size)
{
	tu_alloc_ctx *c = (tu_alloc_ctx *) ctx;
	void	   *p;
	size_t		cap = c->cap ? c->cap : ((size_t) 256 << 20);

	if (size > c->max_request)
		c->max_request = size;
	if (size > cap)
	{
		c->failures++;
		return NULL;
	}
	if (c->fail_at >= 0 && c->total + c->failures >= c->fail_at)
	{
		c->failures++;
		return NULL;
	}
	p = malloc(size ? size : 1);
	if (p == NULL)
		return NULL;
	c->total++;
	c->live++;
	return p;
}

/* ae_allocator.release: frees ptr and counts the live blocks down. */
static inline void
tu_release_fn(void *ctx, void *ptr)
{
	tu_alloc_ctx *c = (tu_alloc_ctx *) ctx;

	if (ptr == NULL)
		return;
	c->live--;
	free(ptr);
}

/* An allocator bound to ctx; fail_at < 0 disables fault injection. */
static inline ae_allocator
tu_allocator(tu_alloc_ctx *ctx, long fail_at)
{
	ae_allocator a;

	memset(ctx, 0, sizeof(*ctx));
	ctx->fail_at = fail_at;
	a.alloc = tu_alloc_fn;
	a.release = tu_release_fn;
	a.ctx = ctx;
	return a;
}

/* Plain malloc for the tests' own buffers; aborts on failure. */
static inline void *
tu_xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory\n");
		abort();
	}
	return p;
}

/* Plain zeroed calloc for the tests' own buffers; aborts on failure. */
static inline void *
tu_xcalloc(size_t n, size_t size)
{
	void	   *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory\n");
		abort();
	}
	return p;
}

/* ---------------------------------------------------------------------- */
/* Numeric helpers                                                         */
/* ---------------------------------------------------------------------- */

/* |a - b| <= atol + rtol * max(|a|, |b|), false for NaN. */
static inline int
tu_close(double a, double b, double rtol, double atol)
{
	double		d = fabs(a - b);
	double		m = fmax(fabs(a), fabs(b));

	if (isnan(a) || isnan(b))
		return 0;
	return d <= atol + rtol * m;
}

/* Relative difference with a floor on the denominator. */
static inline double
tu_reldiff(double a, double b, double floor_)
{
	double		m = fmax(fmax(fabs(a), fabs(b)), floor_);

	return fabs(a - b) / m;
}

/* Largest |x[i]| of a double array; 0 when empty. */
static inline double
tu_max_abs_d(const double *x, size_t n)
{
	double		m = 0.0;

	for (size_t i = 0; i < n; i++)
		if (fabs(x[i]) > m)
			m = fabs(x[i]);
	return m;
}

/* Largest |x[i]| of a float array; 0 when empty. */
static inline double
tu_max_abs_f(const float *x, size_t n)
{
	double		m = 0.0;

	for (size_t i = 0; i < n; i++)
		if (fabs((double) x[i]) > m)
			m = fabs((double) x[i]);
	return m;
}

/* Normwise relative difference max|a-b| / max(max|b|, floor). */
static inline double
tu_normwise_f_d(const float *a, const double *b, size_t n, double floor_)
{
	double		md = 0.0,
				mb = 0.0;

	for (size_t i = 0; i < n; i++)
	{
		double		d = fabs((double) a[i] - b[i]);

		if (isnan(d))
			return INFINITY;
		md = fmax(md, d);
		mb = fmax(mb, fabs(b[i]));
	}
	return md / fmax(mb, floor_);
}

/* Normwise relative difference of two float arrays, as tu_normwise_f_d. */
static inline double
tu_normwise_f_f(const float *a, const float *b, size_t n, double floor_)
{
	double		md = 0.0,
				mb = 0.0;

	for (size_t i = 0; i < n; i++)
	{
		double		d = fabs((double) a[i] - (double) b[i]);

		if (isnan(d))
			return INFINITY;
		md = fmax(md, d);
		mb = fmax(mb, fabs((double) b[i]));
	}
	return md / fmax(mb, floor_);
}

/* Uniform in [lo, hi) from the core's RNG. */
static inline double
tu_unif(ae_rng *r, double lo, double hi)
{
	return lo + (hi - lo) * ae_rng_uniform(r);
}

/* Activation written out independently of the core, alpha = 1 for ELU. */
static inline double
tu_act(double z, ae_activation act)
{
	switch (act)
	{
		case AE_ACT_LINEAR:
			return z;
		case AE_ACT_RELU:
			return z > 0.0 ? z : 0.0;
		case AE_ACT_TANH:
			return tanh(z);
		case AE_ACT_SIGMOID:
			return 1.0 / (1.0 + exp(-z));
		case AE_ACT_ELU:
			return z > 0.0 ? z : expm1(z);
		default:
			return NAN;
	}
}

/* Name of an activation for check messages; "?" when out of range. */
static inline const char *
tu_act_name(ae_activation act)
{
	static const char *const names[] = {"linear", "relu", "tanh", "sigmoid", "elu"};

	return (act >= 0 && act < AE_ACT_COUNT) ? names[act] : "?";
}

/* A zeroed architecture with the given shape. */
static inline ae_arch
tu_arch(int n_input, int latent, int n_hidden, const int *hidden,
		ae_activation act, ae_activation out_act, ae_scaling norm)
{
	ae_arch		a;

	memset(&a, 0, sizeof(a));
	a.n_input = n_input;
	a.latent = latent;
	a.n_hidden = n_hidden;
	for (int i = 0; i < n_hidden && i < AE_MAX_HIDDEN; i++)
		a.hidden[i] = hidden[i];
	a.activation = act;
	a.output_activation = out_act;
	a.scaling = norm;
	return a;
}

/*
 * The default training configuration (the option table's), no noise level,
 * and 20 epochs (the tests of a fixed number of epochs; the table's default
 * is automatic, tested on its own).
 */
static inline ae_train_config
tu_config(void)
{
	ae_options	o;

	ae_options_default(&o);
	o.cfg.noise_level = 0.0;
	o.cfg.epochs = 20;
	return o.cfg;
}

/* Rows as an array of pointers into one contiguous (n, d) float block. */
typedef struct tu_rows
{
	float	   *data;
	float	  **rows;
	size_t		n;
	int			d;
} tu_rows;

/* n zeroed rows of d floats. */
static inline tu_rows
tu_rows_new(size_t n, int d)
{
	tu_rows		r;

	r.data = (float *) tu_xcalloc(n * (size_t) d, sizeof(float));
	r.rows = (float **) tu_xcalloc(n, sizeof(float *));
	r.n = n;
	r.d = d;
	for (size_t i = 0; i < n; i++)
		r.rows[i] = r.data + i * (size_t) d;
	return r;
}

/* A fresh copy (training may normalize rows in place). */
static inline tu_rows
tu_rows_copy(const tu_rows *src)
{
	tu_rows		r = tu_rows_new(src->n, src->d);

	memcpy(r.data, src->data, src->n * (size_t) src->d * sizeof(float));
	return r;
}

/* Release rows made by tu_rows_new or tu_rows_copy. */
static inline void
tu_rows_free(tu_rows *r)
{
	free(r->data);
	free(r->rows);
	r->data = NULL;
	r->rows = NULL;
}

/*
 * Create m from arch and train it on a copy of data (ae_train scales its
 * rows in place); *res must be freed as ae_train's.
 */
static inline ae_status
tu_train_copy(ae_model *m, const ae_arch *arch, const tu_rows *data,
			  const ae_train_config *cfg, ae_allocator *al, ae_train_result *res)
{
	tu_rows		copy = tu_rows_copy(data);
	ae_status	st;

	memset(res, 0, sizeof(*res));
	st = ae_model_create(m, arch, 0, al);
	if (st == AE_OK)
		st = ae_train(m, copy.rows, copy.n, cfg, NULL, al, res);
	tu_rows_free(&copy);
	return st;
}

/* ---------------------------------------------------------------------- */
/* Models                                                                  */
/* ---------------------------------------------------------------------- */

/* Fill a model with scaling, weights and meta. */
static inline void
tu_fill_model(ae_model *m, ae_rng *r, const char *meta, size_t meta_len)
{
	int			n = m->arch.n_input;

	ae_model_init_weights(m, r);
	for (int l = 0; l < m->n_layers; l++)
		for (int i = 0; i < m->dims[l + 1]; i++)
			m->b[l][i] = (float) (0.1 * ae_rng_normal(r));
	for (int j = 0; j < n; j++)
	{
		m->shift[j] = (float) tu_unif(r, -3.0, 3.0);
		m->scale[j] = (float) tu_unif(r, 0.5, 4.0);
		m->lo[j] = m->shift[j] - (float) tu_unif(r, 0.0, 10.0);
		m->hi[j] = m->shift[j] + (float) tu_unif(r, 0.0, 10.0);
	}
	if (meta_len)
		memcpy(m->meta, meta, meta_len);
}

/* ---------------------------------------------------------------------- */
/* Exact moments                                                           */
/* ---------------------------------------------------------------------- */

/* Moments with their own storage. */
typedef struct tu_mom_buf
{
	ae_moments	m;
	double	   *storage;
} tu_mom_buf;

/* Moments of dimension d (full co-moments if full) on garbage storage. */
static inline tu_mom_buf
tu_mom_new(int d, int full)
{
	tu_mom_buf	b;

	b.storage = tu_xmalloc(sizeof(double) * ae_moments_doubles(d, full));
	/* garbage first: init must clear everything it uses */
	memset(b.storage, 0x5a, sizeof(double) * ae_moments_doubles(d, full));
	ae_moments_init(&b.m, d, full, b.storage);
	return b;
}

/* Release the storage of tu_mom_new. */
static inline void
tu_mom_free(tu_mom_buf *b)
{
	free(b->storage);
	b->storage = NULL;
}

/* Fold rows [from, to) of the (n, d) block data into m in blocks of B. */
static inline void
tu_mom_feed(ae_moments *m, const float *data, size_t from, size_t to, int B)
{
	int			d = m->d;
	double	   *work = tu_xmalloc(sizeof(double) * ((size_t) B * d + 5 * (size_t) d));

	for (size_t r = from; r < to; r += (size_t) B)
	{
		int			b = (int) ((to - r) < (size_t) B ? (to - r) : (size_t) B);

		ae_moments_add(m, data + r * (size_t) d, b, work);
	}
	free(work);
}

#endif							/* TEST_UTIL_H */
