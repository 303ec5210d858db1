/*-------------------------------------------------------------------------
 *
 * ae_eigen.c
 *	  The top k eigenpairs of a symmetric matrix, in pieces short enough to
 *	  check for interrupts between them.
 *
 * LAPACK's dsyevr runs minutes on an 8192 x 8192 covariance without
 * returning, so a statement_timeout or a cancel could not stop an exact PCA.
 * This is the same computation split at its natural seams, with the
 * caller's on_batch callback (the backend's interrupt check) between them:
 *   1. Householder reduction to tridiagonal form, dsytrd's blocked loop
 *      written out (dlatrd on a panel of nb columns, then the dsyr2k update
 *      of the rest), nb columns at a time;
 *   2. the k largest eigenpairs of the tridiagonal matrix by MRRR (dstemr),
 *      which is O(n k);
 *   3. the back-transformation of the eigenvectors (dormtr), BACK_COLS
 *      columns at a time.
 * A panel of nb = 16 columns of an 8192-dimensional matrix takes well under
 * a second; smaller matrices get nb = 32, dsytrd's usual block.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_core.h"

#include <string.h>

#define BACK_COLS	64			/* eigenvectors back-transformed at once */

/* LAPACK and BLAS (inside libopenblas), Fortran ABI. */
extern void dlatrd_(const char *uplo, const int *n, const int *nb, double *a,
					const int *lda, double *e, double *tau, double *w,
					const int *ldw, size_t uplo_len);
extern void dsyr2k_(const char *uplo, const char *trans, const int *n,
					const int *k, const double *alpha, const double *a,
					const int *lda, const double *b, const int *ldb,
					const double *beta, double *c, const int *ldc,
					size_t uplo_len, size_t trans_len);
extern void dsytd2_(const char *uplo, const int *n, double *a, const int *lda,
					double *d, double *e, double *tau, int *info,
					size_t uplo_len);
extern void dstemr_(const char *jobz, const char *range, const int *n,
					double *d, double *e, const double *vl, const double *vu,
					const int *il, const int *iu, int *m, double *w,
					double *z, const int *ldz, const int *nzc, int *isuppz,
					int *tryrac, double *work, const int *lwork, int *iwork,
					const int *liwork, int *info, size_t jobz_len,
					size_t range_len);
extern void dormtr_(const char *side, const char *uplo, const char *trans,
					const int *m, const int *n, const double *a,
					const int *lda, const double *tau, double *c,
					const int *ldc, double *work, const int *lwork, int *info,
					size_t side_len, size_t uplo_len, size_t trans_len);

/* Interrupt point. */
static void
checkpoint(const ae_train_callbacks *cb)
{
	if (cb && cb->on_batch)
		cb->on_batch(cb->ctx);
}

/*
 * Reduce a (n, n, column-major, lower triangle used) to tridiagonal form:
 * diagonal d (n), off-diagonal e (n - 1), reflectors in a and tau (n - 1).
 * work holds n * nb doubles.
 */
static void
tridiagonalize(double *a, int n, int nb, double *d, double *e, double *tau,
			   double *work, const ae_train_callbacks *cb)
{
	const double one = 1.0,
				mone = -1.0;
	int			i = 1,
				info = 0;
	int			rest;

#define A(r, c)	a[((size_t) (c) - 1) * n + (r) - 1]
	if (n > nb)
	{
		for (i = 1; i <= n - nb; i += nb)
		{
			int			nrow = n - i + 1,
						nupd = n - i - nb + 1;

			/* reduce columns i .. i + nb - 1, forming W */
			dlatrd_("L", &nrow, &nb, &A(i, i), &n, &e[i - 1], &tau[i - 1], work, &n, 1);
			/* A(i+nb:n, i+nb:n) -= V W^T + W V^T */
			dsyr2k_("L", "N", &nupd, &nb, &mone, &A(i + nb, i), &n, &work[nb], &n,
					&one, &A(i + nb, i + nb), &n, 1, 1);
			for (int j = i; j < i + nb; j++)
			{
				A(j + 1, j) = e[j - 1];
				d[j - 1] = A(j, j);
			}
			checkpoint(cb);
		}
	}
	rest = n - i + 1;
	dsytd2_("L", &rest, &A(i, i), &n, &d[i - 1], &e[i - 1], &tau[i - 1], &info, 1);
#undef A
}

/*
 * The k largest eigenvalues of the symmetric a (n, n; its lower triangle in
 * column-major order, i.e. the upper triangle in row-major order; a is
 * overwritten) in w (ascending) and their eigenvectors as the columns of z
 * (n, k, column-major).  cb->on_batch, if set, runs between pieces.
 */
ae_status
ae_eigen_top(double *a, int n, int k, double *w, double *z,
			 const ae_train_callbacks *cb, const ae_allocator *alloc)
{
	int			nb = n > 2048 ? 16 : 32,
				il = n - k + 1,
				iu = n,
				found = 0,
				info = 0,
				tryrac = 1,
				lwork = -1,
				liwork = -1,
				iwq = 0,
				bwork = -1;
	double		vl = 0.0,
				vu = 0.0,
				wq = 0.0,
				bq = 0.0;
	double	   *d,
			   *e,
			   *tau,
			   *work,
			   *wall;
	int		   *isuppz,
			   *iwork;
	size_t		doubles;
	void	   *block;

	if (k < 1 || k > n)
		return AE_EINVAL;
	/* workspace queries: MRRR and the back-transformation */
	dstemr_("V", "I", &n, &vl, &vl, &vl, &vu, &il, &iu, &found, &vl, &vl, &n, &k,
			&iwq, &tryrac, &wq, &lwork, &iwq, &liwork, &info, 1, 1);
	if (info != 0)
		return AE_EINVAL;
	lwork = (int) wq;
	liwork = iwq;
	{
		int			cols = k < BACK_COLS ? k : BACK_COLS;

		dormtr_("L", "L", "N", &n, &cols, a, &n, &vl, z, &n, &bq, &bwork, &info, 1, 1, 1);
		if (info != 0)
			return AE_EINVAL;
		bwork = (int) bq;
	}
	doubles = (size_t) 3 * n + (size_t) n * nb + (size_t) n +
		(size_t) (lwork > bwork ? lwork : bwork);
	block = alloc->alloc(alloc->ctx, sizeof(double) * doubles +
						 sizeof(int) * (2 * (size_t) k + (size_t) liwork));
	if (block == NULL)
		return AE_ENOMEM;
	d = block;
	e = d + n;
	tau = e + n;
	wall = tau + n;
	work = wall + n;
	isuppz = (int *) (work + (size_t) n * nb + (lwork > bwork ? lwork : bwork));
	iwork = isuppz + 2 * (size_t) k;
	memset(e, 0, sizeof(double) * n);

	tridiagonalize(a, n, nb, d, e, tau, work, cb);
	checkpoint(cb);
	dstemr_("V", "I", &n, d, e, &vl, &vu, &il, &iu, &found, wall, z, &n, &k,
			isuppz, &tryrac, work, &lwork, iwork, &liwork, &info, 1, 1);
	if (info != 0 || found != k)
	{
		alloc->release(alloc->ctx, block);
		return AE_EDIVERGED;
	}
	memcpy(w, wall, sizeof(double) * k);
	checkpoint(cb);
	for (int c = 0; c < k; c += BACK_COLS)
	{
		int			cols = k - c < BACK_COLS ? k - c : BACK_COLS;

		dormtr_("L", "L", "N", &n, &cols, a, &n, tau, z + (size_t) c * n, &n,
				work, &bwork, &info, 1, 1, 1);
		if (info != 0)
		{
			alloc->release(alloc->ctx, block);
			return AE_EDIVERGED;
		}
		checkpoint(cb);
	}
	alloc->release(alloc->ctx, block);
	return AE_OK;
}
