/*-------------------------------------------------------------------------
 *
 * ae_pg.h
 *	  Declarations shared by the PostgreSQL glue of the extension.
 *
 * The glue turns SQL values into the core's inputs and the core's results
 * into SQL values, rows and messages; the numeric work is the core's
 * (src/core, no postgres.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AE_PG_H
#define AE_PG_H

#include "postgres.h"

#include "ae_core.h"
#include "ae_options.h"
#include "ae_pipeline.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/portal.h"

/* Where the extension keeps its models. */
#define AE_SCHEMA			"autoencoder"
#define AE_MODELS_TABLE		"models"
#define AE_MODELS_QUAL		"autoencoder.models"
#define AE_MAX_NAME			(NAMEDATALEN - 1)	/* bytes in a model name */

/* Settings (autoencoder.c). */
extern int	ae_threads;
extern int	ae_max_training_rows;
extern int	ae_max_training_memory;	/* kB */

/* Before BLAS work: error out if OpenBLAS could not map its buffers. */
void		ae_blas_check(void);

/* An ae_allocator that takes memory from a memory context (ae_pg_array.c). */
void		ae_pg_allocator(ae_allocator *a, MemoryContext cxt);
/* Raise a core failure as an ERROR with its status's SQLSTATE. */
void		ae_pg_raise(const ae_error *e) pg_attribute_noreturn();
/* The training callbacks: interrupts per batch, a NOTICE per epoch. */
void		ae_pg_callbacks(ae_train_callbacks *cb, const ae_options *o);
/* Callbacks for other long work: interrupts per block. */
void		ae_pg_interrupt_callbacks(ae_train_callbacks *cb);
/* Error out if a build on `rows` rows needs more than the memory bound. */
void		ae_pg_check_memory(const ae_options *o, uint64_t rows);
/* The NOTICE that sums up a build (trained or solved, rows, loss, time). */
void		ae_pg_notice_built(const ae_options *o, const ae_build_output *out);

/* Arrays at the SQL boundary (ae_pg_array.c). */
int			ae_array_dims(ArrayType *a, const char *what);
void		ae_array_to_floats(ArrayType *a, float *out, int expected,
							   const char *what);
ArrayType  *ae_floats_to_array(const float *v, int n, Oid elemtype);
bool		ae_is_float_array_type(Oid typid);

/*
 * A source query's column of rows: an array type the extension reads, or a
 * type with a cast to real[] (pgvector's vector, halfvec), cast per row.
 */
typedef struct AeSourceColumn
{
	Oid			typid;			/* InvalidOid until the first batch */
	bool		cast;			/* through fn, the type's cast to real[] */
	int			nargs;			/* of the cast function: 1, 2 or 3 */
	FmgrInfo	fn;
} AeSourceColumn;

void		ae_source_column(AeSourceColumn *c, TupleDesc desc, int attno,
							 const char *message);
#define AE_SOURCE_COLUMN_MESSAGE \
	"first column of the source query must be real[], double precision[], integer[], numeric[] or a type with a cast to real[]"
ArrayType  *ae_source_array(AeSourceColumn *c, Datum d);
Oid			ae_result_elemtype(Oid input_elemtype);
void		ae_check_model_name(const char *name);

/* Options from SQL (ae_pg_options.c). */
void		ae_options_from_args(ae_options *o, FunctionCallInfo fcinfo,
								 int first_arg);
void		ae_options_from_jsonb(ae_options *o, Datum jsonb);

/* SPI helpers (ae_pg_spi.c); callers are SPI connected. */
Portal		ae_source_cursor(const char *source, const char *hint);

/* One row of autoencoder.models as ae_spi_model_row returns it. */
typedef struct AeModelRow
{
	int64		id;
	int32		version;
	double		threshold;		/* NaN if NULL */
	Datum		model;			/* as stored (may be a TOAST pointer), valid
								 * until SPI_finish */
	bool		placement;		/* read from a Citus table (the reference
								 * table's local placement, or the table
								 * itself): a cached copy must be checked
								 * again at every statement */
} AeModelRow;

bool		ae_models_relation(char *buf);
bool		ae_spi_model_row(const char *name, int32 version, AeModelRow *row);
int32		ae_spi_next_version(const char *name);
void		ae_spi_deploy(const char *name, int32 version);

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
	bool		deploy;			/* a first version is always deployed */
} AeStoreRequest;

int64		ae_store_model(const AeStoreRequest *r, int32 version);
struct varlena *ae_model_varlena(const ae_model *m);

/* A parsed model with the buffers to serve one row without allocating. */
typedef struct AeServing
{
	ae_model	model;
	double		threshold;		/* anomaly threshold of its metadata, or NaN */
	double	   *quantiles;		/* (AE_QUANTILES) its error distribution, or
								 * NULL */
	float	   *input;			/* (n_input) one converted input row */
	float	   *output;			/* (n_input) one result row */
	float	   *work;			/* (ae_infer_floats(model, 1)) */
} AeServing;

/* The per-backend cache of deployed models (ae_pg_cache.c). */
typedef struct AeCachedModel
{
	char		name[NAMEDATALEN];	/* hash key */
	bool		valid;			/* false once the models table changed */
	Oid			role;			/* the role the row was last read as */
	bool		placement;		/* read from a Citus table (see
								 * AeModelRow): checked again every
								 * statement */
	int64		id;				/* models.id of the loaded version */
	double		threshold;		/* models.anomaly_threshold, NaN if NULL */
	MemoryContext cxt;			/* holds the model and its buffers */
	AeServing	s;
} AeCachedModel;

AeCachedModel *ae_cache_get(const char *name, bool statement_start);
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

/* Model values, parsed once per backend (ae_pg_values.c). */
AeServing  *ae_model_arg(FunctionCallInfo fcinfo, int argno);
AeServing  *ae_value_find(Size len, const unsigned char *digest);
AeServing  *ae_value_load(const unsigned char *data, Size len);

/* The wire form of autoencoder.fit_state values (ae_pg_fitwire.c). */
/* Whether a value's bytes are a compressed state's envelope. */
bool		ae_fit_is_envelope(const unsigned char *bytes, Size len);
/* The flat state an envelope holds, in a new varlena (envelope checked). */
struct varlena *ae_fit_unwrap_envelope(const unsigned char *buf, Size len);
/* The bytes of a value's text form: its own, or compressed in an envelope. */
const unsigned char *ae_fit_text_bytes(struct varlena *v, Size *len);
/* Base64 (RFC 4648): length of the encoding, encoding, decoding (-1: bad). */
Size		ae_b64_encoded_len(Size len);
Size		ae_b64_encode(const unsigned char *src, Size len, char *out);
int64		ae_b64_decode(const char *str, Size len, unsigned char *out);
#endif							/* AE_PG_H */
