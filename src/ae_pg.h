/*-------------------------------------------------------------------------
 *
 * ae_pg.h
 *	  Declarations shared by the PostgreSQL glue of the extension.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AE_PG_H
#define AE_PG_H

#include "postgres.h"

#include "ae_core.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/portal.h"
#include "utils/jsonb.h"

/* Where the extension keeps its models. */
#define AE_SCHEMA			"autoencoder"
#define AE_MODELS_TABLE		"models"
#define AE_MODELS_QUAL		"autoencoder.models"
#define AE_MAX_NAME			(NAMEDATALEN - 1)	/* bytes in a model name */

/* Settings (autoencoder.c). */
extern int	ae_threads;
extern int	ae_max_training_rows;

/* An ae_allocator that takes memory from a memory context (ae_pg_array.c). */
void		ae_pg_allocator(ae_allocator *a, MemoryContext cxt);

/* Arrays at the SQL boundary (ae_pg_array.c). */
int			ae_array_dims(ArrayType *a, const char *what);
void		ae_array_to_floats(ArrayType *a, float *out, int expected,
							   const char *what);
ArrayType  *ae_floats_to_array(const float *v, int n, Oid elemtype);
bool		ae_is_float_array_type(Oid typid);
void		ae_check_model_name(const char *name);

/*
 * Training options shared by train() and the fit aggregate
 * (ae_pg_options.c).  Plain data, so the aggregate can keep it in its state.
 */
typedef enum AeSolver
{
	AE_SOLVER_AUTO = 0,			/* exact for linear activation, else sgd */
	AE_SOLVER_SGD,
	AE_SOLVER_EXACT
} AeSolver;

typedef struct AeOptions
{
	ae_arch		arch;			/* n_input stays 0 until the data is seen */
	ae_train_config cfg;
	int			solver;			/* AeSolver, resolved by ae_options_finish */
	bool		output_given;	/* output_activation set explicitly */
	int32		max_rows;		/* rows kept by fit; 0: the default */
} AeOptions;

void		ae_options_init(AeOptions *o);
void		ae_option_text(AeOptions *o, const char *key, const char *value);
void		ae_option_int(AeOptions *o, const char *key, int64 value);
void		ae_option_float(AeOptions *o, const char *key, double value);
void		ae_option_hidden(AeOptions *o, ArrayType *units);
void		ae_options_from_jsonb(AeOptions *o, Jsonb *opts);
void		ae_options_finish(AeOptions *o);
void		ae_options_check_dims(AeOptions *o, int n_input);
char	   *ae_options_json(const AeOptions *o, const char *source);

/* How many rows a training saw, kept and skipped. */
typedef struct AeRowCounts
{
	uint64		read;			/* non-NULL rows */
	uint64		skipped;		/* NULL rows */
	uint64		kept;			/* rows trained on (a sample if < read) */
} AeRowCounts;

/* A cursor on a user's source query (ae_pg_train.c); SPI connected. */
Portal		ae_source_cursor(const char *source, bool read_only, const char *hint);

/* What ae_build_model needs (ae_pg_build.c). */
typedef struct AeBuildRequest
{
	const char *name;			/* model name, or NULL (fit) */
	const AeOptions *opts;		/* resolved, with n_input set */
	float	  **rows;			/* (counts->kept) raw rows, scaled in place;
								 * NULL for the exact solver given moments */
	const AeRowCounts *counts;
	const ae_moments *moments;	/* exact moments of all rows read, or NULL */
	const char *source;			/* the source query, or NULL */
	const ae_model *init;		/* warm start from these weights, or NULL */
	double		anomaly_quantile;	/* in [0, 1] */
	bool		want_baseline;	/* fit the PCA baseline too */
	bool		want_eval_rows; /* return the evaluation rows in raw units */
	MemoryContext cxt;			/* everything below is allocated here */
} AeBuildRequest;

/* What it produces. */
typedef struct AeBuildResult
{
	struct varlena *model;		/* autoencoder.model */
	struct varlena *baseline;	/* PCA of the same latent size, or NULL */
	char	   *config;			/* JSON text */
	char	   *metrics;		/* JSON text */
	double		anomaly_threshold;	/* NaN without rows */
	double		new_loss;		/* mean error (input units) on eval rows */
	bool		eval_on_validation; /* eval rows are the validation rows */
	float	   *eval_raw;		/* (n_eval, n_input) if want_eval_rows */
	size_t		n_eval;
} AeBuildResult;

void		ae_build_model(const AeBuildRequest *req, AeBuildResult *out);

/* Storing a model version (ae_pg_store.c). */
typedef struct AeStoreRequest
{
	const char *name;
	Datum		model;			/* autoencoder.model */
	struct varlena *baseline;	/* autoencoder.model or NULL */
	int			n_input;
	int			latent;
	const char *config;			/* JSON text */
	const char *metrics;		/* JSON text */
	double		anomaly_threshold;	/* NaN: none */
	bool		deploy;
} AeStoreRequest;

void		ae_lock_model_name(const char *name);
bool		ae_fetch_deployed(const char *name, ae_model *m, int32 *version,
							  MemoryContext cxt);
int64		ae_store_model(const AeStoreRequest *r, int32 *version);

/* A parsed model with the buffers to serve one row without allocating. */
typedef struct AeServing
{
	ae_model	model;
	float	   *input;			/* (n_input) one converted input row */
	float	   *output;			/* (n_input) one result row */
	float	   *work;			/* (ae_infer_floats(model, 1)) */
} AeServing;

/* The per-backend cache of deployed models (ae_pg_cache.c). */
typedef struct AeCachedModel
{
	char		name[NAMEDATALEN];	/* hash key */
	bool		valid;			/* false once the models table changed */
	int64		id;				/* models.id of the loaded version */
	double		threshold;		/* models.anomaly_threshold, NaN if NULL */
	MemoryContext cxt;			/* holds the model and its buffers */
	AeServing	s;
} AeCachedModel;

AeCachedModel *ae_cache_get(const char *name);
void		ae_model_from_bytes(const unsigned char *buf, size_t len,
								ae_model *m, MemoryContext cxt,
								int errcode_on_error);
void		ae_serving_load(AeServing *s, const unsigned char *buf, size_t len,
							MemoryContext cxt, int errcode_on_error);

/* Hex text and binary I/O of the extension's varlena types (ae_pg_bytes.c). */
struct varlena *ae_bytes_from_hex(const char *str, const char *type_name);
char	   *ae_bytes_to_hex(Datum d);
struct varlena *ae_bytes_recv(StringInfo buf);
bytea	   *ae_bytes_send(Datum d);

/* A model value argument, parsed once per query (ae_pg_model.c). */
AeServing  *ae_model_arg(FunctionCallInfo fcinfo, int argno);
#endif							/* AE_PG_H */
