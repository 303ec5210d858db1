/*-------------------------------------------------------------------------
 *
 * ae_pipeline.h
 *	  The numeric half of train() and fit(): rows in, a finished model out.
 *
 * The glue reads a source (SPI rows for train(), an aggregate state for
 * fit()) into an ae_rowstore, or hands over exact moments, and calls
 * ae_build.  Everything numeric happens here: training or the exact solve,
 * the PCA baseline, the anomaly threshold, the loss on raw units, the
 * warm-start architecture check, the deployment decision, and the JSON
 * documents kept with the model.  The glue keeps SQL, SPI, storing and
 * NOTICEs.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AE_PIPELINE_H
#define AE_PIPELINE_H

#include "ae_align.h"
#include "ae_core.h"
#include "ae_json.h"
#include "ae_options.h"

/*
 * Rows kept for training, in chunks (no allocation near 1 GB), with a
 * uniform sample of at most max_rows rows once more arrive: bottom-k
 * sampling on a seeded hash of each row's bytes, so which rows are kept
 * depends on the rows and the seed, not on their order or on how the
 * stream was split.  A sample is put in key order by ae_rowstore_finish.
 */
typedef struct ae_rowstore
{
	int			d;
	size_t		max_rows;
	size_t		n;				/* rows kept */
	uint64_t	seen;			/* rows offered */
	uint64_t	seed;
	float	  **rows;			/* (cap) kept rows */
	uint64_t   *keys;			/* (cap) their sampling keys */
	size_t	   *heap;			/* (max_rows) max-heap of slots by key, once
								 * full */
	size_t		cap;
	float	   *chunk;			/* free space for new rows */
	size_t		chunk_left;		/* rows that still fit in chunk */
	void	   *chunks;			/* list of chunks, for ae_rowstore_free */
	float	   *scratch;		/* (d) a row that may not be kept */
	int			pending_new;	/* next() handed out a new slot */
	ae_allocator alloc;
} ae_rowstore;

ae_status	ae_rowstore_init(ae_rowstore *rs, int d, size_t max_rows,
							 uint64_t seed, const ae_allocator *alloc);
/* Where to write the next row (d floats); NULL when out of memory. */
float	   *ae_rowstore_next(ae_rowstore *rs);
/* Offer the row written at the last ae_rowstore_next. */
void		ae_rowstore_commit(ae_rowstore *rs);
/* After the last row: a sample is put in key order. */
void		ae_rowstore_finish(ae_rowstore *rs);
void		ae_rowstore_free(ae_rowstore *rs);
/* The sampling key of a row: a seeded 64-bit hash of its bytes. */
uint64_t	ae_row_key(const float *row, int d, uint64_t seed);
/* The sampling seed of a training seed (train() and fit() alike). */
#define AE_SAMPLE_SEED(seed)	((uint64_t) (seed) ^ UINT64_C(0x5A4D504C45))

/* Max-heaps of sample slots by key, and the canonical order of a sample. */
void		ae_keyheap_sift_down(size_t *heap, size_t n, const uint64_t *keys,
								 size_t i);
void		ae_keyheap_build(size_t *heap, size_t n, const uint64_t *keys);
typedef struct ae_keyed_row
{
	uint64_t	key;
	const float *row;
	int			d;
} ae_keyed_row;
void		ae_keyed_sort(ae_keyed_row *kr, size_t n);

/* How many rows a model saw, kept and skipped. */
typedef struct ae_counts
{
	uint64_t	read;			/* non-NULL rows */
	uint64_t	skipped;		/* NULL rows */
	uint64_t	kept;			/* rows trained on (a sample if < read) */
} ae_counts;

typedef struct ae_build_input
{
	const ae_options *opts;		/* resolved: n_input is set */
	float	   *const *rows;	/* (counts.kept) raw rows, scaled in place;
								 * NULL: the exact solver from moments */
	ae_counts	counts;
	const ae_moments *moments;	/* exact moments of every row read, or NULL */
	const ae_model *init;		/* warm start from these weights, or NULL */
	const ae_model *align_to;	/* rotate the code space onto this model's
								 * (ae_align.h), or NULL */
	int			align_version;	/* align_to's version, for the figures */
	const char *name;			/* model name, or NULL (fit) */
	const char *source;			/* source query, or NULL */
	int			where;			/* AE_OPT_TRAIN or AE_OPT_FIT */
	int			threads;		/* recorded in the configuration */
	int			want_baseline;	/* fit the PCA baseline too */
	int			keep_eval_rows; /* return the evaluation rows, raw */
	ae_train_callbacks cb;		/* on_batch also runs between blocks of
								 * the baseline, threshold and loss work */
} ae_build_input;

typedef struct ae_build_output
{
	ae_model	model;			/* the result, its metadata included */
	ae_model	baseline;		/* PCA of the same latent size on the training
								 * rows with the model's scaling (with
								 * want_baseline), or block NULL */
	char	   *config;			/* JSON: every option, resolved */
	char	   *training;		/* JSON: the deterministic training figures,
								 * also in the model's metadata */
	double		anomaly_threshold;	/* NaN without rows */
	double	   *quantiles;		/* (AE_QUANTILES) of the eval rows' errors,
								 * or NULL */
	double		eval_loss;		/* mean error (input units) on eval rows */
	int			eval_on_validation; /* eval rows are the validation rows */
	size_t		n_evaluated;	/* eval rows */
	int			warm_started;	/* trained from the given weights */
	int			aligned_to;		/* version the codes were aligned to, or 0 */
	ae_align_stats align;		/* how closely, when aligned_to */
	float	   *eval_raw;		/* (n_eval, n_input) if keep_eval_rows */
	float	   *exact_norms;	/* the exact solver's rows' lengths ('l2') */
	size_t		n_eval;
	ae_train_result res;
	double	   *explained;		/* (latent) exact solver, else NULL */
	int			latent;
	ae_counts	counts;			/* the input's */
	ae_allocator alloc;
} ae_build_output;

ae_status	ae_build(const ae_build_input *in, const ae_allocator *alloc,
					 ae_build_output *out, ae_error *err);
void		ae_build_output_free(ae_build_output *out);
/*
 * The distribution of the evaluation rows' errors kept with a model: the
 * error at probabilities 0, 1/1000, ..., 1 (nearest rank), from which an
 * anomaly threshold for any quantile is interpolated.
 */
#define AE_QUANTILES	1001
double		ae_quantile_threshold(const double *quantiles, int n, double p);

/* Peak bytes of a build on `rows` rows (for the memory bound). */
double		ae_build_bytes(const ae_options *o, uint64_t rows);

/* Whether warm starting o from the deployed model m is possible. */
ae_status	ae_warm_start_check(const ae_model *m, const ae_options *o,
								const char *name, int version, ae_error *err);

/* What train() decided about deploying a new version, and why. */
typedef struct ae_deploy_decision
{
	ae_deploy	mode;
	int			first_version;	/* no version was deployed */
	int			compared;		/* if_better scored the deployed version */
	int			compared_version;
	double		new_loss;
	double		deployed_loss;	/* NaN (JSON null) if it cannot score */
	size_t		rows;
	int			rows_are_validation;
	int			deploy;
} ae_deploy_decision;

/*
 * Decide.  deployed is the deployed version (NULL if the name has none),
 * scored on out's evaluation rows for if_better.
 */
ae_status	ae_deploy_decide(ae_deploy_decision *dec, ae_deploy mode,
							 const ae_build_output *out, const ae_model *deployed,
							 int deployed_version, const ae_train_callbacks *cb,
							 const ae_allocator *alloc, ae_error *err);

/* The metrics document: training figures, time, loss curve, decision. */
char	   *ae_metrics_json(const ae_build_output *out,
							const ae_deploy_decision *dec,
							const ae_allocator *alloc);

/* Mean reconstruction error (input units) of raw rows (n, n_input). */
ae_status	ae_mean_error(const ae_model *m, const float *rows, size_t n,
						  const ae_train_callbacks *cb,
						  const ae_allocator *alloc, double *mean);

#endif							/* AE_PIPELINE_H */
