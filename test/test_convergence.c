/*-------------------------------------------------------------------------
 *
 * test_convergence.c
 *	  End-to-end check that training learns something PCA cannot.
 *
 * Data lie on a curved 2-D manifold in 32 dimensions:
 *	 x_i = sin(a_i u + b_i v + c_i) + 0.01 noise,  (u, v) uniform in [-1, 1]^2
 * with fixed random a, b, c.  PCA with k = 2 (covariance in double,
 * eigenvectors from LAPACK dsyev_) only finds the best plane; an
 * autoencoder with a 2-D code and a nonlinear hidden layer can follow the
 * curve.  We assert on 2000 held-out rows that
 *	 - the nonlinear autoencoder beats PCA, and
 *	 - a linear autoencoder with a 2-D code comes within 10% of PCA (it can
 *	   at best find PCA's subspace), which shows the comparison is fair and
 *	   the PCA baseline is computed correctly.
 *
 *-------------------------------------------------------------------------
 */
#include "test_util.h"

#include <time.h>

#define DIM			32
#define N_TRAIN		6000
#define N_TEST		2000
#define NOISE		0.01

/* LAPACK's symmetric eigensolver (inside libopenblas), Fortran ABI. */
extern void dsyev_(const char *jobz, const char *uplo, const int *n, double *a,
				   const int *lda, double *w, double *work, const int *lwork,
				   int *info, size_t jobz_len, size_t uplo_len);


/* The curved manifold; the rng continues from the parameters. */
static void
make_data(tu_rows *t, ae_rng *r, const double *a, const double *b,
		  const double *c)
{
	for (size_t i = 0; i < t->n; i++)
	{
		double		u = tu_unif(r, -1.0, 1.0),
					v = tu_unif(r, -1.0, 1.0);

		for (int j = 0; j < DIM; j++)
			t->rows[i][j] = (float) (sin(a[j] * u + b[j] * v + c[j]) +
									 NOISE * ae_rng_normal(r));
	}
}

typedef struct pca
{
	double		mean[DIM];
	double		V[2][DIM];		/* top two eigenvectors */
	double		eig[DIM];		/* ascending */
	double		trace;
	double		train_err;		/* mean squared residual on train rows */
} pca;

/* Fit PCA with k = 2; returns 0 on LAPACK failure. */
static int
pca_fit(pca *p, const tu_rows *t)
{
	double		C[DIM * DIM],
				Cc[DIM * DIM],
				wq,
			   *work;
	int			n = DIM,
				lwork = -1,
				info = 0;
	double		resid = 0.0;

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < t->n; i++)
		for (int j = 0; j < DIM; j++)
			p->mean[j] += t->rows[i][j];
	for (int j = 0; j < DIM; j++)
		p->mean[j] /= (double) t->n;
	memset(C, 0, sizeof(C));
	for (size_t i = 0; i < t->n; i++)
	{
		double		d[DIM];

		for (int j = 0; j < DIM; j++)
			d[j] = t->rows[i][j] - p->mean[j];
		for (int j = 0; j < DIM; j++)
			for (int k = 0; k <= j; k++)
				C[j * DIM + k] += d[j] * d[k];
	}
	for (int j = 0; j < DIM; j++)
		for (int k = 0; k <= j; k++)
		{
			C[j * DIM + k] /= (double) t->n;
			C[k * DIM + j] = C[j * DIM + k];
		}
	for (int j = 0; j < DIM; j++)
		p->trace += C[j * DIM + j];
	memcpy(Cc, C, sizeof(C));

	dsyev_("V", "U", &n, C, &n, p->eig, &wq, &lwork, &info, 1, 1);
	if (info != 0)
		return 0;
	lwork = (int) wq;
	work = tu_xmalloc(sizeof(double) * lwork);
	dsyev_("V", "U", &n, C, &n, p->eig, work, &lwork, &info, 1, 1);
	free(work);
	if (info != 0)
		return 0;
	/* column-major: eigenvector e is C[e*DIM .. e*DIM+DIM) */
	for (int j = 0; j < DIM; j++)
	{
		p->V[0][j] = C[(DIM - 1) * DIM + j];
		p->V[1][j] = C[(DIM - 2) * DIM + j];
	}
	/* residual of the top eigenpair: |C v - lambda v| */
	for (int e = 0; e < 2; e++)
	{
		double		lam = p->eig[DIM - 1 - e];

		for (int j = 0; j < DIM; j++)
		{
			double		s = 0.0;

			for (int k = 0; k < DIM; k++)
				s += Cc[j * DIM + k] * p->V[e][k];
			resid = fmax(resid, fabs(s - lam * p->V[e][j]));
		}
	}
	p->train_err = resid;		/* stashed; checked by the caller */
	return 1;
}

/* Mean squared reconstruction error of rows projected on the PCA plane. */
static double
pca_error(const pca *p, const tu_rows *t)
{
	double		s = 0.0;

	for (size_t i = 0; i < t->n; i++)
	{
		double		d[DIM],
					c0 = 0.0,
					c1 = 0.0;

		for (int j = 0; j < DIM; j++)
		{
			d[j] = t->rows[i][j] - p->mean[j];
			c0 += d[j] * p->V[0][j];
			c1 += d[j] * p->V[1][j];
		}
		for (int j = 0; j < DIM; j++)
		{
			double		e = d[j] - c0 * p->V[0][j] - c1 * p->V[1][j];

			s += e * e;
		}
	}
	return s / ((double) t->n * DIM);
}

/* Held-out error of a model through ae_reconstruction_error; cross-checked. */
static double
model_error(const ae_model *m, const tu_rows *t, double *direct)
{
	float	   *work = tu_xmalloc(sizeof(float) * ae_infer_floats(m, (int) t->n) + 16),
			   *rec = tu_xmalloc(sizeof(float) * t->n * DIM);
	double	   *err = tu_xmalloc(sizeof(double) * t->n);
	double		s = 0.0,
				s2 = 0.0;

	ae_reconstruction_error(m, t->data, (int) t->n, err, work);
	ae_reconstruct(m, t->data, (int) t->n, rec, 0, work);
	for (size_t i = 0; i < t->n; i++)
		s += err[i];
	for (size_t i = 0; i < t->n * DIM; i++)
	{
		double		d = (double) rec[i] - t->data[i];

		s2 += d * d;
	}
	*direct = s2 / ((double) t->n * DIM);
	free(work);
	free(rec);
	free(err);
	return s / (double) t->n;
}

/* Train one autoencoder on a copy of the training rows. */
static ae_status
train_model(ae_model *m, const ae_arch *arch, const ae_train_config *cfg,
			const tu_rows *train, ae_allocator *al, ae_train_result *res,
			double *seconds)
{
	double		t0 = ae_seconds();
	ae_status	st = tu_train_copy(m, arch, train, cfg, al, res);

	*seconds = ae_seconds() - t0;
	return st;
}

int
main(void)
{
	static const int hidden[] = {64};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_rng		r;
	double		a[DIM],
				b[DIM],
				c[DIM];
	tu_rows		train = tu_rows_new(N_TRAIN, DIM),
				test = tu_rows_new(N_TEST, DIM);
	pca			p;
	double		pca_test,
				pca_train,
				tail = 0.0;
	ae_arch		arch;
	ae_train_config cfg;
	ae_model	nl,
				lin;
	ae_train_result res;
	ae_status	st;
	double		secs,
				ae_test = NAN,
				ae_direct = NAN,
				lin_test = NAN,
				lin_direct = NAN,
				t_start = ae_seconds();
	int			have_nl = 0,
				have_lin = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);

	ae_rng_seed(&r, 20240601);
	for (int j = 0; j < DIM; j++)
	{
		a[j] = 1.5 * ae_rng_normal(&r);
		b[j] = 1.5 * ae_rng_normal(&r);
		c[j] = tu_unif(&r, 0.0, 6.283185307179586);
	}
	make_data(&train, &r, a, b, c);
	make_data(&test, &r, a, b, c);

	/* PCA baseline */
	if (!CHECK(pca_fit(&p, &train), "pca: LAPACK dsyev_ succeeded"))
		return tu_finish();
	CHECK(p.train_err < 1e-9, "pca: top eigenpairs satisfy C v = lambda v (resid %.3g)", p.train_err);
	for (int j = 0; j < DIM - 2; j++)
		tail += p.eig[j];
	pca_train = pca_error(&p, &train);
	CHECK(tu_close(pca_train, tail / DIM, 1e-6, 1e-12),
		  "pca: train error %.6f equals the discarded eigenvalues / d %.6f", pca_train, tail / DIM);
	CHECK(p.eig[DIM - 2] > p.eig[DIM - 3] && p.eig[0] > -1e-12, "pca: eigenvalues sorted and non-negative");
	pca_test = pca_error(&p, &test);
	printf("# PCA k=2: held-out MSE %.6f (train %.6f, total variance per dim %.6f)\n",
		   pca_test, pca_train, p.trace / DIM);
	CHECK(pca_test > 0.02 * p.trace / DIM,
		  "data: the manifold is curved enough that PCA leaves error (%.4f of variance)",
		  pca_test / (p.trace / DIM));

	/* nonlinear autoencoder */
	arch = tu_arch(DIM, 2, 1, hidden, AE_ACT_TANH, AE_ACT_LINEAR, AE_SCALING_STANDARD);
	cfg = tu_config();
	cfg.epochs = 60;
	cfg.batch_size = 32;
	cfg.learning_rate = 3e-3;
	cfg.optimizer = AE_OPT_ADAM;
	cfg.validation_fraction = 0.0;
	cfg.patience = 0;
	cfg.seed = 7;
	st = train_model(&nl, &arch, &cfg, &train, &al, &res, &secs);
	if (CHECK(st == AE_OK, "ae: tanh 32-64-2 trains (%d, %.1f s, %d epochs, train loss %.5f)",
			  (int) st, secs, res.epochs_run, res.final_train_loss))
	{
		have_nl = 1;
		ae_test = model_error(&nl, &test, &ae_direct);
		printf("# autoencoder tanh 32-64-2: held-out MSE %.6f\n", ae_test);
		CHECK(tu_close(ae_test, ae_direct, 1e-4, 1e-9),
			  "ae: reconstruction_error agrees with reconstruct (%.6f vs %.6f)", ae_test, ae_direct);
		CHECK(ae_test < pca_test, "ae: nonlinear autoencoder beats PCA on held-out rows (%.6f < %.6f, ratio %.3f)",
			  ae_test, pca_test, ae_test / pca_test);
		CHECK(ae_test < 0.25 * pca_test, "ae: at least 4x lower error than PCA");
		if (res.curve)
			al.release(al.ctx, res.curve);
	}

	/* linear autoencoder: can only find PCA's subspace */
	arch = tu_arch(DIM, 2, 0, NULL, AE_ACT_LINEAR, AE_ACT_LINEAR, AE_SCALING_NONE);
	cfg.epochs = 40;
	cfg.learning_rate = 3e-3;
	st = train_model(&lin, &arch, &cfg, &train, &al, &res, &secs);
	if (CHECK(st == AE_OK, "lin: linear 32-2 trains (%d, %.1f s, %d epochs, train loss %.5f)",
			  (int) st, secs, res.epochs_run, res.final_train_loss))
	{
		have_lin = 1;
		lin_test = model_error(&lin, &test, &lin_direct);
		printf("# linear autoencoder 32-2: held-out MSE %.6f\n", lin_test);
		CHECK(lin_test <= 1.10 * pca_test,
			  "lin: linear autoencoder within 10%% of PCA (%.6f vs %.6f, ratio %.3f)",
			  lin_test, pca_test, lin_test / pca_test);
		CHECK(lin_test >= 0.97 * pca_test,
			  "lin: linear autoencoder does not beat PCA by more than 3%% (PCA baseline sound)");
		if (res.curve)
			al.release(al.ctx, res.curve);
	}
	if (have_nl && have_lin)
		CHECK(ae_test < 0.8 * lin_test, "ae: the nonlinear model gains over the linear one (%.6f vs %.6f)",
			  ae_test, lin_test);

	if (have_nl)
		ae_model_destroy(&nl);
	if (have_lin)
		ae_model_destroy(&lin);
	tu_rows_free(&train);
	tu_rows_free(&test);
	CHECK(ctx.live == 0, "no leaks (live %ld)", ctx.live);
	printf("# total %.1f s\n", ae_seconds() - t_start);
	return tu_finish();
}
