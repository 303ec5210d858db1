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
#include "utils/array.h"

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

/* The per-backend cache of deployed models (ae_pg_cache.c). */
typedef struct AeCachedModel
{
	char		name[NAMEDATALEN];	/* hash key */
	bool		valid;			/* false once the models table changed */
	int64		id;				/* models.id of the loaded version */
	MemoryContext cxt;			/* holds the model and the buffers below */
	ae_model	model;
	float	   *input;			/* (n_input) one converted input row */
	float	   *output;			/* (max(n_input, latent)) one result row */
	float	   *work;			/* (ae_infer_floats(model, 1)) */
} AeCachedModel;

AeCachedModel *ae_cache_get(const char *name);
void		ae_model_from_bytes(const unsigned char *buf, size_t len,
								ae_model *m, MemoryContext cxt,
								int errcode_on_error);

#endif							/* AE_PG_H */
