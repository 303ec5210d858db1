/*-------------------------------------------------------------------------
 *
 * ae_options.h
 *	  Training options: one table that names, types, bounds, defaults and
 *	  documents every option, and the functions that walk it.
 *
 * Each row of the table (ae_options.c) is one option: its name (the SQL
 * argument of train() and the JSON key of fit() and of the stored
 * configuration), its type, where it lands in ae_options, its default, its
 * range or allowed values, where it is accepted and a one-line doc.
 * Setting, range and enum errors, defaults, the resolved configuration JSON,
 * the JSON reader, train()'s SQL signature (built from autoencoder.options()
 * when the extension is created) and the README's option table all come
 * from those rows: adding an option is one row plus its use in the core.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AE_OPTIONS_H
#define AE_OPTIONS_H

#include "ae_core.h"
#include "ae_json.h"

/* How the model is fitted. */
typedef enum ae_solver
{
	AE_SOLVER_SGD = 0,			/* gradient descent with the optimizer */
	AE_SOLVER_EXACT,			/* PCA through LAPACK (linear models only) */
	AE_SOLVER_COUNT
} ae_solver;

/* When train() deploys the version it stores. */
typedef enum ae_deploy
{
	AE_DEPLOY_ALWAYS = 0,
	AE_DEPLOY_IF_BETTER,		/* lower error on this run's validation rows */
	AE_DEPLOY_NEVER,
	AE_DEPLOY_COUNT
} ae_deploy;

/* Every option, resolved or not.  Plain data. */
typedef struct ae_options
{
	ae_arch		arch;			/* n_input stays 0 until the data is seen */
	ae_train_config cfg;
	ae_solver	solver;
	ae_deploy	deploy;
	int			warm_start;
	int			align;			/* 1 when given true or resolved on (see
								 * ae_options.c) */
	double		anomaly_quantile;
	int64_t		max_rows;		/* fit: rows sampled; 0 until resolved */
	uint64_t	given;			/* bit i: row i was set by the caller */
} ae_options;

typedef enum ae_opt_type
{
	AE_OT_INT = 0,				/* int, lo .. hi */
	AE_OT_BIGINT,				/* int64_t, any */
	AE_OT_FLOAT,				/* double, lo .. hi, finite */
	AE_OT_ENUM,					/* int: a value of choices, in allowed */
	AE_OT_BOOL,					/* int, 0 or 1 */
	AE_OT_UNITS					/* hidden layers: count at offset, units at
								 * offset2, each lo .. hi */
} ae_opt_type;

/* Where an option is accepted, and how its bounds and default read. */
#define AE_OPT_TRAIN	0x01	/* an argument of train() */
#define AE_OPT_FIT		0x02	/* a key of fit()'s options */
#define AE_OPT_AUTO		0x04	/* default resolved from the data or other
								 * options (SQL DEFAULT NULL) */
#define AE_OPT_REQUIRED 0x08	/* train(): no default */
#define AE_OPT_LO_OPEN	0x10	/* lo itself is out of range */
#define AE_OPT_HI_OPEN	0x20	/* hi itself is out of range */

/* One name of an enum option's values. */
typedef struct ae_choice
{
	const char *name;
	int			value;
} ae_choice;

typedef struct ae_option_desc
{
	const char *name;			/* SQL argument and JSON key */
	ae_opt_type type;
	int			flags;
	size_t		offset;			/* into ae_options */
	size_t		offset2;		/* AE_OT_UNITS: the units array */
	double		lo;				/* numbers (and each hidden layer) */
	double		hi;
	double		def;			/* default: number, enum value or bool */
	const ae_choice *choices;	/* AE_OT_ENUM: names, in hint order */
	unsigned	allowed;		/* AE_OT_ENUM: bit v set if value v is
								 * accepted */
	const char *doc;			/* one line, for options() and the README */
} ae_option_desc;

/* The table. */
int			ae_option_count(void);
const ae_option_desc *ae_option_at(int i);
const ae_option_desc *ae_option_find(const char *name, int where);
int			ae_option_index(const ae_option_desc *d);

/* Defaults of every option (nothing given). */
void		ae_options_default(ae_options *o);

/*
 * Set one option, checked against its row; where is AE_OPT_TRAIN or
 * AE_OPT_FIT (the option must be accepted there).  Errors are
 * AE_EINVAL with the message, and the valid values as the hint.
 */
ae_status	ae_option_set_number(ae_options *o, const ae_option_desc *d,
								 double v, const char *literal, ae_error *err);
/* A bigint row exactly (seeds beyond 2^53). */
ae_status	ae_option_set_bigint(ae_options *o, const ae_option_desc *d,
								 int64_t v, ae_error *err);
ae_status	ae_option_set_text(ae_options *o, const ae_option_desc *d,
							   const char *v, ae_error *err);
ae_status	ae_option_set_bool(ae_options *o, const ae_option_desc *d, int v,
							   ae_error *err);
ae_status	ae_option_set_units(ae_options *o, const ae_option_desc *d,
								const int64_t *units, int n, ae_error *err);
/* Unknown name: the error listing every option accepted at where. */
ae_status	ae_option_unknown(const char *name, int where, ae_error *err);

/* Every key of a JSON object of options (fit()'s argument, a state's). */
ae_status	ae_options_from_json(ae_options *o, const char *text, size_t len,
								 int where, const ae_allocator *alloc,
								 ae_error *err);

/*
 * Resolution (ae_resolve.c).  ae_options_check needs no data: it resolves
 * the solver, the residual network, the output activation and the hidden
 * layers, and checks options against each other.  ae_options_resolve then
 * fixes the input dimension (and latent_dim when it was not given) and
 * checks the architecture.
 */
ae_status	ae_options_check(ae_options *o, ae_error *err);
ae_status	ae_options_resolve(ae_options *o, int n_input, ae_error *err);
/*
 * Turn an automatic residual network off (train() warm-starting from a
 * version without it); an error if residual was given true.
 */
ae_status	ae_options_residual_off(ae_options *o, ae_error *err);
/* Whether the caller gave the option named name. */
int			ae_option_given(const ae_options *o, const char *name);

/* Whether o's models have a linear code layer (they can be aligned). */
int			ae_options_code_linear(const ae_options *o);
/* Whether train() should align the new version to the deployed one. */
int			ae_options_wants_align(const ae_options *o);
/* Range checks of a training configuration alone (ae_train's guard). */
ae_status	ae_train_config_check(const ae_train_config *cfg, ae_error *err);

/*
 * Every option accepted at where (only those the caller gave, if
 * given_only), as members of an open object.
 */
void		ae_options_json(ae_json *j, const ae_options *o, int where,
							int given_only);

/* For autoencoder.options() and the README: type, default, allowed. */
const char *ae_option_sql_type(const ae_option_desc *d);
/* The SQL DEFAULT literal ("NULL" for AE_OPT_AUTO); empty if required. */
void		ae_option_default_sql(const ae_option_desc *d, char *out, size_t len);
void		ae_option_allowed_text(const ae_option_desc *d, char *out, size_t len);

/* The value of an enum option's row for a name, or -1. */
int			ae_choice_parse(const ae_choice *choices, const char *name);
const char *ae_choice_name(const ae_choice *choices, int value);

#endif							/* AE_OPTIONS_H */
