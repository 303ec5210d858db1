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
#include "utils/array.h"
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

/*
 * Train or solve a model from raw rows (scaled in place) and return it as
 * an autoencoder.model varlena, with its configuration and metrics as JSON
 * text (ae_pg_train.c).  mom, if not NULL, holds exact moments of all rows
 * read (the aggregate's); otherwise they come from the rows.
 */
struct varlena *ae_build_model(const char *name, const AeOptions *o,
							   float **rows, const AeRowCounts *counts,
							   const ae_moments *mom, const char *source,
							   MemoryContext cxt, char **config_json,
							   char **metrics_json);

/* Storing a model version (ae_pg_store.c). */
int64		ae_store_model(const char *name, Datum model, int n_input, int latent,
						   const char *config_json, const char *metrics_json,
						   bool deploy, int32 *version);

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
	MemoryContext cxt;			/* holds the model and its buffers */
	AeServing	s;
} AeCachedModel;

AeCachedModel *ae_cache_get(const char *name);
void		ae_model_from_bytes(const unsigned char *buf, size_t len,
								ae_model *m, MemoryContext cxt,
								int errcode_on_error);
void		ae_serving_load(AeServing *s, const unsigned char *buf, size_t len,
							MemoryContext cxt, int errcode_on_error);

/* A model value argument, parsed once per query (ae_pg_model.c). */
AeServing  *ae_model_arg(FunctionCallInfo fcinfo, int argno);
#endif							/* AE_PG_H */
