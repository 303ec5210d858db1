/*-------------------------------------------------------------------------
 *
 * ae_core.h
 *	  Public API of the pure-C autoencoder core: network, training, format.
 *
 * Nothing here includes postgres.h.  The core allocates only through the
 * caller's ae_allocator (palloc in a backend, malloc in the unit tests),
 * never ends the process or prints, and reports failures as AE_* codes with an
 * optional message buffer.  The PostgreSQL glue lives in ae_pg_*.c.
 *
 * Layout of a model with input n, hidden units h1..hk and latent d:
 *   encoder  n -> h1 -> ... -> hk -> d   (layers 0 .. k)
 *   decoder  d -> hk -> ... -> h1 -> n   (layers k+1 .. 2k+1)
 * Every layer but the last uses the hidden activation; the last uses the
 * output activation.  The latent code is the output of layer k.
 *
 * A PCA-residual model (arch.residual) adds two linear skip paths around
 * that stack, initialised at the exact PCA of the training rows while the
 * last encoder and decoder layers start at zero (ae_resid.c):
 *   code = x Ae^T + ae + E(x)        E: layers 0 .. k, code layer linear
 *   out  = code Ad^T + ad + D(code)  D: layers k+1 .. 2k+1, output linear
 * With k = 0 there are no skip paths: the two layers are the linear
 * autoencoder, initialised at PCA.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AE_CORE_H
#define AE_CORE_H

#include <stddef.h>
#include <stdint.h>

struct ae_train_callbacks;		/* below, with training */

/*
 * Limits: every bound of the project is here.  The options' defaults and
 * ranges live in the option table (ae_options.c).
 */
#define AE_MAX_DIM			65535	/* input dimensions */
#define AE_MAX_UNITS		65535	/* units in any hidden layer */
#define AE_MAX_HIDDEN		8		/* hidden layers in the encoder */
#define AE_MAX_LAYERS		(2 * (AE_MAX_HIDDEN + 1))
#define AE_MAX_EPOCHS		100000
#define AE_MAX_BATCH		65536
#define AE_MAX_PARAMS		((size_t) 1 << 28)	/* 1 GiB of float weights */
#define AE_MAX_META			(16 * 1024 * 1024)	/* metadata text in a model */
#define AE_MAX_MODEL_BYTES	((size_t) 1000 * 1024 * 1024)	/* serialized model,
															 * below 1 GB with
															 * its metadata */
#define AE_MAX_PCA_DIM		8192	/* exact PCA: d*d doubles stay under 512 MB */
#define AE_ADAM_BETA1		0.9
#define AE_ADAM_BETA2		0.999
#define AE_ADAM_EPS			1e-7	/* as Keras; PyTorch uses 1e-8 */
#define AE_SGD_MOMENTUM		0.9
#define AE_MIN_SCALE		1e-12	/* a constant feature keeps scale 1 */
#define AE_MIN_ROW_NORM		1e-30	/* scaling 'l2': a zero row stays zero */

/* The PCA-residual network and the automatic training length. */
#define AE_DEFAULT_HIDDEN	256		/* residual MLP width, hidden_units NULL */
#define AE_AUTO_MIN_STEPS	1000	/* no plateau stop before this many steps */
#define AE_AUTO_MAX_STEPS	5000	/* optimiser steps of an automatic run */
#define AE_AUTO_WINDOW_STEPS 500	/* the plateau is judged over at least this */
#define AE_AUTO_MIN_REL_PROGRESS 1e-3	/* relative progress a window must make */
#define AE_INIT_SAMPLE_ROWS	4096	/* rows of the data-dependent init */
#define AE_PCA_MIN_ROWS		10000	/* PCA of the training rows: at least
									 * these rows (all if fewer) ... */
#define AE_PCA_WORK			6.4e10	/* ... or as many as rows * d^2 allows */

/* Result codes of core functions. */
typedef enum ae_status
{
	AE_OK = 0,
	AE_ENOMEM,					/* the allocator returned NULL */
	AE_EINVAL,					/* an argument is out of range */
	AE_EDIVERGED,				/* the loss became NaN or infinite */
	AE_EFORMAT,					/* serialized bytes are invalid */
	AE_ELIMIT					/* a size limit would be exceeded */
} ae_status;

/*
 * A failure with what to tell the user: a lower-case message without a
 * period, and optional detail and hint sentences (the glue raises them as
 * one ERROR with the SQLSTATE of the status).
 */
typedef struct ae_error
{
	ae_status	status;
	char		message[256];
	char		detail[256];
	char		hint[768];
} ae_error;

void		ae_error_clear(ae_error *e);
/* Record status and message in e (if not NULL); returns status. */
ae_status	ae_fail(ae_error *e, ae_status status, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
void		ae_error_detail(ae_error *e, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
void		ae_error_hint(ae_error *e, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

/* Seconds on a monotonic clock: the core's one clock. */
double		ae_seconds(void);

typedef enum ae_activation
{
	AE_ACT_LINEAR = 0,
	AE_ACT_RELU,
	AE_ACT_TANH,
	AE_ACT_SIGMOID,
	AE_ACT_ELU,
	AE_ACT_COUNT
} ae_activation;

typedef enum ae_scaling
{
	AE_SCALING_NONE = 0,
	AE_SCALING_STANDARD,			/* per-feature mean and standard deviation */
	AE_SCALING_MINMAX,				/* per-feature minimum and range */
	AE_SCALING_L2,					/* each row to unit length */
	AE_SCALING_COUNT
} ae_scaling;

typedef enum ae_optimizer
{
	AE_OPT_ADAM = 0,
	AE_OPT_SGD,					/* with momentum AE_SGD_MOMENTUM */
	AE_OPT_COUNT
} ae_optimizer;

typedef enum ae_noise
{
	AE_NOISE_NONE = 0,
	AE_NOISE_GAUSSIAN,			/* x + N(0, level^2), clipped to the range */
	AE_NOISE_MASKING,			/* each element zeroed with probability level */
	AE_NOISE_COUNT
} ae_noise;

/* Memory for the core: the caller decides where it comes from. */
typedef struct ae_allocator
{
	void	   *(*alloc) (void *ctx, size_t size);	/* may return NULL */
	void		(*release) (void *ctx, void *ptr);
	void	   *ctx;
} ae_allocator;

/* The project's own seeded RNG (xoshiro256**); no global state. */
typedef struct ae_rng
{
	uint64_t	s[4];
	int			has_spare;		/* Box-Muller keeps its second value */
	double		spare;
} ae_rng;

void		ae_rng_seed(ae_rng *rng, uint64_t seed);
uint64_t	ae_rng_next(ae_rng *rng);
double		ae_rng_uniform(ae_rng *rng);	/* [0, 1) */
uint64_t	ae_rng_below(ae_rng *rng, uint64_t n);	/* [0, n), unbiased */
double		ae_rng_normal(ae_rng *rng);
void		ae_rng_shuffle(ae_rng *rng, size_t *idx, size_t n);

/* What a network looks like; everything needed to allocate one. */
typedef struct ae_arch
{
	int			n_input;
	int			latent;
	int			n_hidden;
	int			hidden[AE_MAX_HIDDEN];
	ae_activation activation;	/* hidden and latent layers */
	ae_activation output_activation;	/* linear or sigmoid */
	ae_scaling	scaling;
	int			residual;		/* PCA skip paths (if n_hidden > 0), code and
								 * output layers linear */
} ae_arch;

/*
 * A model: architecture, input scaling and parameters in one allocation.
 * Scaling maps an input x to (x - shift) / scale before the network and
 * back after it.  lo and hi are each feature's training range in input
 * units.  meta is opaque text (the glue keeps JSON there).  With scaling
 * 'l2' the row is first divided by its length (shift 0, scale 1, and lo, hi
 * the ranges of the unit rows).
 */
typedef struct ae_model
{
	ae_arch		arch;
	int			n_layers;
	int			dims[AE_MAX_LAYERS + 1];	/* layer l maps dims[l] -> dims[l+1] */
	float	   *W[AE_MAX_LAYERS];	/* (dims[l+1], dims[l]) views into params */
	float	   *b[AE_MAX_LAYERS];	/* (dims[l+1]) */
	float	   *Ae;				/* (latent, n_input) encoder skip, after the
								 * layers in params; NULL unless residual
								 * with hidden layers */
	float	   *ae;				/* (latent) */
	float	   *Ad;				/* (n_input, latent) decoder skip */
	float	   *ad;				/* (n_input) */
	float	   *params;			/* (n_params) all weights and biases */
	size_t		n_params;
	float	   *shift;			/* (n_input) */
	float	   *scale;			/* (n_input) */
	float	   *lo;				/* (n_input) */
	float	   *hi;				/* (n_input) */
	char	   *meta;			/* (meta_len) not NUL-terminated */
	size_t		meta_len;
	void	   *block;			/* the one allocation behind all of this */
	ae_allocator alloc;
} ae_model;

ae_status	ae_arch_check(const ae_arch *arch, char *err, size_t errlen);
size_t		ae_arch_param_count(const ae_arch *arch);
ae_status	ae_model_create(ae_model *m, const ae_arch *arch, size_t meta_len,
							const ae_allocator *alloc);
void		ae_model_destroy(ae_model *m);
ae_status	ae_model_copy(ae_model *dst, const ae_model *src,
						  const ae_allocator *alloc);
/* A copy of src with other metadata. */
ae_status	ae_model_with_meta(ae_model *dst, const ae_model *src,
							   const char *meta, size_t meta_len,
							   const ae_allocator *alloc);
/* Copy src's parameters and scaling into dst, of the same architecture. */
void		ae_model_copy_values(ae_model *dst, const ae_model *src);
void		ae_model_init_weights(ae_model *m, ae_rng *rng);
int			ae_model_max_dim(const ae_model *m);
/* Whether m has the skip paths of the PCA-residual network. */
#define AE_HAS_SKIP(m)	((m)->Ae != NULL)
/* The activation of layer l: linear for the code and output of a residual model. */
ae_activation ae_layer_activation(const ae_model *m, int l);
/* out (rows, out_dim) += in (rows, in_dim) W^T + b: a skip path, one sgemm. */
void		ae_add_skip(float *out, const float *in, const float *W,
						const float *b, int rows, int in_dim, int out_dim);

/*
 * Model format: a versioned little-endian byte string ending in the SHA-256
 * digest of the bytes before it (ae_format.c); a model value is identified
 * by its length and that digest.
 */
#define AE_FORMAT_MAGIC		"AENCODER"
#define AE_FORMAT_VERSION	3	/* the newest: residual and 'l2' models */
#define AE_FORMAT_VERSION_MIN 2 /* the oldest read, and written when enough */
#define AE_FORMAT_RESIDUAL	0x1 /* flags bit: the PCA-residual network */
/* The version m is written in: the oldest that can express it. */
int			ae_model_format_version(const ae_model *m);
#define AE_DIGEST_BYTES		32
void		ae_sha256(const unsigned char *p, size_t n, unsigned char *out);
size_t		ae_model_serialized_size(const ae_model *m);
void		ae_model_serialize(const ae_model *m, unsigned char *out);
ae_status	ae_model_parse(const unsigned char *buf, size_t len, ae_model *m,
						   const ae_allocator *alloc, char *err, size_t errlen);

/*
 * Layers (ae_layers.c).  x is (B, in), y is (B, out), W is (out, in).
 * Forward computes y = act(x W^T + b).  Backward takes dy (the gradient
 * with respect to y) and y, turns dy into the pre-activation gradient in
 * place, accumulates dW and db, and writes dx unless it is NULL.
 */
void		ae_dense_forward(float *y, const float *x, const float *W,
							 const float *b, int B, int in, int out,
							 ae_activation act);
void		ae_dense_backward(float *dx, float *dW, float *db, float *dy,
							  const float *y, const float *x, const float *W,
							  int B, int in, int out, ae_activation act);
void		ae_activate(float *y, size_t n, ae_activation act);

/* Inference on normalized inputs (ae_net.c).  acts[l] is (B, dims[l]). */
size_t		ae_forward_floats(const ae_model *m, int B);
void		ae_forward(const ae_model *m, const float *x, int B, float *work,
					   float **acts);

/*
 * Inference on raw inputs, any number of rows at once (ae_infer.c).  work
 * must hold ae_infer_floats(m, rows) floats.  Outputs are in input units
 * except the code.  denoise is reconstruct clamped to the training range.
 */
size_t		ae_infer_floats(const ae_model *m, int rows);
void		ae_encode(const ae_model *m, const float *x, int rows, float *code,
					  float *work);
void		ae_decode(const ae_model *m, const float *code, int rows, float *out,
					  float *work);
void		ae_reconstruct(const ae_model *m, const float *x, int rows,
						   float *out, int clamp, float *work);
void		ae_reconstruction_error(const ae_model *m, const float *x, int rows,
									double *err, float *work);

/*
 * Per-row mean squared reconstruction error in input units of rows
 * idx[0..n) that are already scaled (as ae_train leaves them): each
 * element's error is multiplied back by its feature's scale, and for 'l2'
 * each row's error by its length squared, norms[idx[i]]^2.  work holds
 * ae_row_errors_floats(m, B) floats.
 */
size_t		ae_row_errors_floats(const ae_model *m, int B);
void		ae_row_errors(const ae_model *m, float *const *rows,
						  const size_t *idx, size_t n, int B,
						  const float *norms, float *work, double *err);

/*
 * Scaling (ae_scale.c): fit in double, apply in place.  ae_scaling_apply
 * returns the row's length for 'l2' (the factor that takes the network's
 * unit-scale output back to input units), else 1.
 */
void		ae_scaling_fit(ae_model *m, float *const *rows, size_t n,
						   double *work);	/* work: 2 * n_input doubles */
float		ae_scaling_apply(const ae_model *m, float *row);
/* Scale row (d floats) to unit length in place ('l2'); returns its length. */
float		ae_l2_normalize(float *row, int d);
/*
 * Scale rows[0..n) in place with m's scaling; for 'l2' their lengths go
 * into norms (if not NULL), and lo and hi become the ranges of the unit
 * rows when set_range.
 */
void		ae_scale_rows(ae_model *m, float *const *rows, size_t n,
						  float *norms, int set_range);

/* The inverse: out = in * scale + shift (out may be in). */
void		ae_scaling_unapply(const ae_model *m, const float *in, float *out);

/*
 * Exact moments of a stream of rows, mergeable (ae_stats.c).  m2 is the
 * co-moment matrix (d, d), upper triangle, when full, else its diagonal.
 */
typedef struct ae_moments
{
	int			d;
	int			full;
	uint64_t	n;				/* rows folded in */
	double	   *mean;			/* (d) */
	double	   *lo;				/* (d) minimum of each feature */
	double	   *hi;				/* (d) maximum */
	double	   *m2;				/* (d, d) or (d) */
} ae_moments;

size_t		ae_moments_doubles(int d, int full);
void		ae_moments_init(ae_moments *m, int d, int full, double *storage);
void		ae_moments_attach(ae_moments *m, int d, int full, uint64_t n,
							  double *storage);
void		ae_moments_add(ae_moments *m, const float *rows, int B,
						   double *work);	/* work: B * d + 5 * d doubles */
void		ae_moments_merge(ae_moments *a, const ae_moments *b,
							 double *work);	/* work: d doubles */
void		ae_scaling_from_moments(ae_model *m, const ae_moments *mom);

/* Uniform reservoir sampling and its merge (ae_stats.c). */
int64_t		ae_reservoir_slot(ae_rng *rng, uint64_t seen, uint64_t cap);
uint64_t	ae_reservoir_merge_counts(ae_rng *rng, uint64_t seen_a,
									  uint64_t k_a, uint64_t seen_b,
									  uint64_t k_b, uint64_t cap,
									  uint64_t *take_a);
void		ae_rng_choose(ae_rng *rng, uint64_t *idx, uint64_t n, uint64_t t);

/*
 * Exact PCA as a linear autoencoder (ae_pca.c).  m must have no hidden
 * layers and linear activations; its scaling is set from mom, its weights
 * to the top latent eigenvectors of the covariance of the scaled rows
 * (each signed so its largest component is positive).  explained gets each
 * component's share of the total variance, residual the mean squared
 * reconstruction error per element in scaled units.
 */
ae_status	ae_pca_solve(ae_model *m, const ae_moments *mom, double *explained,
						 double *residual, const struct ae_train_callbacks *cb,
						 const ae_allocator *alloc);
/*
 * The top k principal components of the rows behind mom, in the units
 * (x - shift) / scale (shift and scale NULL: the rows' own units): V (d, k)
 * row-major, column c the c-th component signed so its largest element is
 * positive; mu (d) the mean; lambda (k) the variances, descending; *trace
 * the total variance.  The same for every caller, so PCA is one function.
 */
ae_status	ae_pca_components(const ae_moments *mom, const float *shift,
							  const float *scale, int k, double *V, double *mu,
							  double *lambda, double *trace,
							  const struct ae_train_callbacks *cb,
							  const ae_allocator *alloc);
/*
 * PCA as a linear encoder We (k, d), be (k) and decoder Wd (d, k), bd (d):
 * code = V^T (x - mu), x = V code + mu.
 */
void		ae_pca_write(float *We, float *be, float *Wd, float *bd,
						 const double *V, const double *mu, int d, int k);
/*
 * The k largest eigenpairs of a symmetric (n, n) matrix (ae_eigen.c): its
 * upper triangle row-major (lower column-major) in a, overwritten;
 * eigenvalues ascending in w (k), eigenvectors as columns of z (n, k,
 * column-major).  cb->on_batch runs between the pieces of the work.
 */
ae_status	ae_eigen_top(double *a, int n, int k, double *w, double *z,
						 const struct ae_train_callbacks *cb,
						 const ae_allocator *alloc);

/* Training (ae_train.c). */
typedef struct ae_train_config
{
	int			epochs;			/* 0: automatic (AE_AUTO_*) */
	int			batch_size;
	double		learning_rate;
	ae_optimizer optimizer;
	double		weight_decay;	/* adds weight_decay/2 * sum W^2 */
	double		sparsity;		/* adds sparsity * mean |code| */
	ae_noise	noise;
	double		noise_level;
	double		validation_fraction;	/* in [0, 1) */
	int			patience;		/* 0: no early stopping */
	uint64_t	seed;
	int			warm_start;		/* keep m's weights and scaling */
	int			preset_scaling;	/* keep m's scaling, initialise weights */
	double		similarity_weight;	/* lambda of the neighbour term; 0: off */
	double		similarity_temperature; /* its softmax temperature tau */
	int			keep_pca;		/* return the PCA of the training rows as
								 * res->pca (a linear model, m's scaling) */
} ae_train_config;

/* Why training stopped. */
typedef enum ae_stop
{
	AE_STOP_EPOCHS = 0,			/* ran the epochs asked for */
	AE_STOP_PATIENCE,			/* patience epochs without a better loss */
	AE_STOP_CAP,				/* automatic: AE_AUTO_MAX_STEPS steps */
	AE_STOP_PLATEAU,			/* automatic: too little progress */
	AE_STOP_COUNT
} ae_stop;
const char *ae_stop_name(ae_stop s);

typedef struct ae_epoch_stats
{
	int			epoch;			/* 1-based; 0: the starting point (PCA, or
								 * the warm-start weights) */
	double		train_loss;		/* mean reconstruction MSE, normalized units
								 * (epoch 0: PCA's on the training rows, or
								 * NaN) */
	double		validation_loss;	/* NaN without validation rows */
	double		validation_objective;	/* what early stopping compares:
										 * validation_loss plus the
										 * similarity term */
	double		learning_rate;
	double		seconds;		/* this epoch's wall time */
} ae_epoch_stats;

typedef struct ae_train_result
{
	size_t		train_rows;
	size_t		validation_rows;
	int			epochs_run;
	int			best_epoch;		/* the epoch whose weights were kept */
	int			stopped_early;
	double		final_train_loss;
	double		final_validation_loss;	/* of the kept weights */
	double		seconds;
	double		pca_validation_loss;	/* PCA of the training rows on the
										 * validation rows; NaN if none */
	double		pca_train_loss; /* its loss on the rows it was fitted on */
	long		steps;			/* optimiser steps taken */
	ae_stop		stop_reason;
	int			has_epoch0;		/* curve[0] is epoch 0, a candidate */
	ae_epoch_stats *curve;		/* (epochs_run + has_epoch0) in epoch order,
								 * epoch 0 first if has_epoch0
								 * (AE_CURVE_AT); from the allocator */
	size_t	   *validation_index;	/* (validation_rows) into rows; lives in
									 * curve's allocation, freed with it */
	float	   *row_norms;		/* (rows) each row's length for 'l2', else
								 * NULL; in curve's allocation */
	ae_model	pca;			/* with cfg->keep_pca: PCA of the training
								 * rows as a linear model with m's scaling
								 * (block NULL if none); the caller
								 * destroys it */
} ae_train_result;

/* The curve entry of epoch e (0 only if has_epoch0). */
#define AE_CURVE_AT(res, e)	(&(res)->curve[(e) - 1 + (res)->has_epoch0])

typedef struct ae_train_callbacks
{
	void		(*on_batch) (void *ctx);	/* may longjmp (interrupts) */
	void		(*on_epoch) (void *ctx, const ae_epoch_stats *s);
	void	   *ctx;
} ae_train_callbacks;

/*
 * Train m on rows (raw units).  The rows are scaled in place with the
 * model's scaling.  Unless cfg->warm_start, the scaling is fitted first and
 * the weights initialised.
 */
ae_status	ae_train(ae_model *m, float *const *rows, size_t n_rows,
					 const ae_train_config *cfg, const ae_train_callbacks *cb,
					 const ae_allocator *alloc, ae_train_result *res);

/*
 * Exact moments of every step-th of rows[0..n), folded 256 rows at a time;
 * cb->on_batch (if any) runs between blocks (ae_stats.c).
 */
ae_status	ae_moments_of_rows(ae_moments *mom, float *const *rows, size_t n,
							   size_t step, const ae_train_callbacks *cb,
							   const ae_allocator *alloc);

/*
 * Whole-network loss and gradient on one batch (ae_net.c).  input and target
 * are (B, n_input), normalized.  Returns the total loss
 *   mean((y - target)^2) + weight_decay/2 * sum W^2 + sparsity * mean|code|
 *   + sim_weight * L_sim(code)
 * in double, stores its first term in *mse if not NULL, and overwrites
 * grads (n_params, laid out like params).  work holds ae_grad_floats(m, B).
 * L_sim is the neighbour KL divergence of ae_sim.c between the batch's
 * rows in input units, sim_rows, and their codes.
 */
typedef struct ae_loss_opts
{
	double		weight_decay;
	double		sparsity;
	double		sim_weight;		/* lambda times the mean feature variance;
								 * 0: no similarity term */
	double		sim_temperature;
	const float *sim_rows;		/* (B, n_input) the batch in input units */
	float	   *sim_work;		/* ae_sim_work_floats(B, latent, n_input) */
} ae_loss_opts;

size_t		ae_grad_floats(const ae_model *m, int B);
double		ae_loss_grad(const ae_model *m, const float *input,
						 const float *target, int B, double weight_decay,
						 double sparsity, float *grads, float *work,
						 double *mse);
/* The same with every term; *sim gets L_sim (0 without it) if not NULL. */
double		ae_loss_grad_ex(const ae_model *m, const float *input,
							const float *target, int B, const ae_loss_opts *o,
							float *grads, float *work, double *mse,
							double *sim);

/* Mean reconstruction MSE of rows idx[0..n) of normalized data, in double. */
double		ae_mse(const ae_model *m, float *const *rows, const size_t *idx,
				   size_t n, int B, float *work);
/*
 * The validation objective of rows idx[0..n): their MSE (into *mse) plus
 * o->sim_weight times the row-weighted mean of L_sim over batches of B
 * rows in index order (batches of one row have no pairs and add 0).  The
 * rows are scaled; the similarity term un-scales each batch into
 * o->sim_rows's buffer (B, n_input), which must be writable.
 */
double		ae_val_objective(const ae_model *m, float *const *rows,
							 const size_t *idx, size_t n, int B,
							 const ae_loss_opts *o, float *sim_buf,
							 float *work, const struct ae_train_callbacks *cb,
							 double *mse);

/* Optimisers (ae_optim.c): one flat loop over all parameters. */
typedef struct ae_optim
{
	ae_optimizer kind;
	double		lr;
	double		beta1;			/* Adam; SGD momentum in beta1 */
	double		beta2;
	double		eps;
	long		t;				/* steps taken */
	float	   *m;				/* (n) first moment / velocity */
	float	   *v;				/* (n) second moment (Adam) */
	size_t		n;
} ae_optim;

/* m and v must hold n zeroed floats (v may be NULL for SGD). */
void		ae_optim_init(ae_optim *o, ae_optimizer kind, double lr, float *m,
						  float *v, size_t n);
void		ae_optim_step(ae_optim *o, float *params, const float *grads);

/* Names of enum values, from the option table (ae_options.c). */
const char *ae_activation_name(ae_activation a);
const char *ae_scaling_name(ae_scaling s);
const char *ae_optimizer_name(ae_optimizer o);
const char *ae_noise_name(ae_noise n);
const char *ae_status_message(ae_status s);

#endif							/* AE_CORE_H */
