/*-------------------------------------------------------------------------
 *
 * ae_eval.h
 *	  Measuring a model on rows: errors and neighbour recall (ae_eval.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AE_EVAL_H
#define AE_EVAL_H

#include "ae_core.h"

#define AE_EVAL_MAX_K	64		/* neighbours recall@k can count */

/* Sums of per-row mean squared and absolute errors (input units). */
typedef struct ae_eval_acc
{
	double		sq;
	double		abs;
	uint64_t	rows;			/* rows added */
	uint64_t	nonfinite;		/* rows whose error is not finite */
} ae_eval_acc;

size_t		ae_eval_floats(const ae_model *m, int rows);
void		ae_eval_block(const ae_model *m, const float *x, int rows,
						  float *work, ae_eval_acc *acc);
/*
 * Each query's k nearest rows by cosine and by L2 (both (nq, k) indexes);
 * cb->on_batch (cb may be NULL) runs after every block of queries.
 */
ae_status	ae_eval_neighbours(const float *vec, int d, size_t n,
							   const size_t *query, size_t nq, int k,
							   const ae_allocator *alloc,
							   const ae_train_callbacks *cb,
							   size_t *top_cos, size_t *top_l2);
/* Share of two neighbour lists (nq lists of k) that agree, averaged. */
double		ae_eval_overlap(const size_t *a, const size_t *b, size_t nq, int k);
/* Recall@k of codes against inputs, by cosine and by L2. */
ae_status	ae_eval_recall(const float *inputs, int d, const float *codes,
						   int c, size_t n, const size_t *query, size_t nq,
						   int k, const ae_allocator *alloc,
						   double *recall_cosine, double *recall_l2);

#endif							/* AE_EVAL_H */
