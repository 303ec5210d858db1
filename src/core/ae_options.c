/*-------------------------------------------------------------------------
 *
 * ae_options.c
 *	  The option table and everything that walks it: defaults, setting
 *	  with range and enum checks, JSON in and out, and the descriptions
 *	  autoencoder.options() and the README show (resolution, which
 *	  relates options to each other, is ae_resolve.c).
 *
 * Rows are in train()'s argument order (latent_dim first: it is the one
 * argument without a default).  A row's bounds are in its own units; floats
 * must also be finite.  Enum rows name their values in the order the hints
 * list them.  Options whose default depends on the data or on other
 * options are AE_OPT_AUTO: their SQL default is NULL and ae_options_check
 * or ae_options_resolve fills them in unless the caller gave them (the
 * `given` bits); an integer row left below its range by resolution (epochs
 * 0: automatic) is written as JSON null.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_options.h"
#include "ae_sim.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Enums are stored through int pointers. */
_Static_assert(sizeof(ae_activation) == sizeof(int) &&
			   sizeof(ae_scaling) == sizeof(int) &&
			   sizeof(ae_optimizer) == sizeof(int) &&
			   sizeof(ae_noise) == sizeof(int) &&
			   sizeof(ae_solver) == sizeof(int) &&
			   sizeof(ae_deploy) == sizeof(int), "enums are int-sized");

static const ae_choice activation_choices[] = {
	{"relu", AE_ACT_RELU}, {"tanh", AE_ACT_TANH}, {"sigmoid", AE_ACT_SIGMOID},
	{"elu", AE_ACT_ELU}, {"linear", AE_ACT_LINEAR}, {NULL, 0}};
static const ae_choice scaling_choices[] = {
	{"standard", AE_SCALING_STANDARD}, {"minmax", AE_SCALING_MINMAX},
	{"none", AE_SCALING_NONE}, {"l2", AE_SCALING_L2}, {NULL, 0}};
static const ae_choice optimizer_choices[] = {
	{"adam", AE_OPT_ADAM}, {"sgd", AE_OPT_SGD}, {NULL, 0}};
static const ae_choice noise_choices[] = {
	{"none", AE_NOISE_NONE}, {"gaussian", AE_NOISE_GAUSSIAN},
	{"masking", AE_NOISE_MASKING}, {NULL, 0}};
static const ae_choice solver_choices[] = {
	{"exact", AE_SOLVER_EXACT}, {"sgd", AE_SOLVER_SGD}, {NULL, 0}};
static const ae_choice deploy_choices[] = {
	{"always", AE_DEPLOY_ALWAYS}, {"if_better", AE_DEPLOY_IF_BETTER},
	{"never", AE_DEPLOY_NEVER}, {NULL, 0}};

#define OFF(f)		offsetof(ae_options, f)
#define ALL(n)		((1u << (n)) - 1)
#define BIT(v)		(1u << (v))
#define TF			(AE_OPT_TRAIN | AE_OPT_FIT)

static const ae_option_desc option_table[] = {
	{"latent_dim", AE_OT_INT, TF | AE_OPT_REQUIRED | AE_OPT_AUTO, OFF(arch.latent), 0,
	 1, AE_MAX_DIM, 0, NULL, 0,
	"size of the code, at most the input dimension; fit() without it: min(16, input dimension)"},
	{"hidden_units", AE_OT_UNITS, TF | AE_OPT_AUTO, OFF(arch.n_hidden), OFF(arch.hidden),
	 1, AE_MAX_UNITS, 0, NULL, 0,
	"encoder hidden layers, e.g. '{256}'; the decoder mirrors them; by default '{256}' with residual, else none"},
	{"residual", AE_OT_BOOL, TF | AE_OPT_AUTO, OFF(arch.residual), 0,
	 0, 0, 1, NULL, 0,
	"the PCA-residual network: linear skip paths started at the exact PCA of the training rows around the MLP (whose last encoder and decoder layers start at zero), code and output layers linear, epoch 0 (PCA) a candidate for the epoch kept, so the validation loss is never above PCA's; by default on, off with output_activation sigmoid, the exact solver or activation linear, more than 8192 dimensions, or a warm start from a version without it"},
	{"activation", AE_OT_ENUM, TF, OFF(arch.activation), 0,
	 0, 0, AE_ACT_RELU, activation_choices, ALL(AE_ACT_COUNT),
	"activation of the hidden and code layers"},
	{"output_activation", AE_OT_ENUM, TF | AE_OPT_AUTO, OFF(arch.output_activation), 0,
	 0, 0, AE_ACT_LINEAR, activation_choices, BIT(AE_ACT_LINEAR) | BIT(AE_ACT_SIGMOID),
	"activation of the output layer; by default linear, sigmoid with scaling minmax when residual is off"},
	{"epochs", AE_OT_INT, TF | AE_OPT_AUTO, OFF(cfg.epochs), 0,
	 1, AE_MAX_EPOCHS, 0, NULL, 0,
	"passes over the training rows; by default automatic: at least 1000 optimizer steps, stopped when the best validation loss fell less than 0.1% over the last 500 steps (and patience epochs), at most 5000 steps"},
	{"batch_size", AE_OT_INT, TF, OFF(cfg.batch_size), 0,
	 1, AE_MAX_BATCH, 256, NULL, 0,
	"rows per minibatch"},
	{"learning_rate", AE_OT_FLOAT, TF | AE_OPT_LO_OPEN, OFF(cfg.learning_rate), 0,
	 0, 10, 0.001, NULL, 0,
	"step size of the optimizer"},
	{"optimizer", AE_OT_ENUM, TF, OFF(cfg.optimizer), 0,
	 0, 0, AE_OPT_ADAM, optimizer_choices, ALL(AE_OPT_COUNT),
	"adam (beta1 0.9, beta2 0.999, eps 1e-7) or sgd (momentum 0.9)"},
	{"weight_decay", AE_OT_FLOAT, TF, OFF(cfg.weight_decay), 0,
	 0, 100, 0, NULL, 0,
	"L2: adds weight_decay/2 * sum(W^2) over all weights (not biases) to the loss"},
	{"sparsity", AE_OT_FLOAT, TF, OFF(cfg.sparsity), 0,
	 0, 100, 0, NULL, 0,
	"L1 on the code: adds sparsity * mean(abs(code)) to the loss"},
	{"similarity_weight", AE_OT_FLOAT, TF, OFF(cfg.similarity_weight), 0,
	 0, 10000, 0, NULL, 0,
	"codes that keep neighbours: adds similarity_weight * (mean feature variance) * the KL divergence between each row's softmax over its minibatch neighbours by input cosine (in input units) and by code cosine; 1 is a good start; trades reconstruction for neighbours"},
	{"similarity_temperature", AE_OT_FLOAT, TF | AE_OPT_LO_OPEN, OFF(cfg.similarity_temperature), 0,
	 0, 10, AE_DEFAULT_SIM_TEMPERATURE, NULL, 0,
	"temperature of the similarity term's softmaxes: lower weighs the nearest neighbours more"},
	{"noise", AE_OT_ENUM, TF, OFF(cfg.noise), 0,
	 0, 0, AE_NOISE_NONE, noise_choices, ALL(AE_NOISE_COUNT),
	"denoising: corrupt the input (scaled units), keep the clean row as the target"},
	{"noise_level", AE_OT_FLOAT, TF, OFF(cfg.noise_level), 0,
	 0, 10, 0.1, NULL, 0,
	"gaussian: standard deviation (clipped to each feature's range); masking: probability, below 1"},
	{"scaling", AE_OT_ENUM, TF, OFF(arch.scaling), 0,
	 0, 0, AE_SCALING_STANDARD, scaling_choices, ALL(AE_SCALING_COUNT),
	"input scaling kept in the model: per-feature mean and standard deviation, minimum and range, none, or l2: each row to unit length (encode sees unit rows; reconstruct, denoise and reconstruction_error are in input units, the reconstruction times the row's length; decode returns unit-length-scale rows)"},
	{"validation_fraction", AE_OT_FLOAT, TF | AE_OPT_HI_OPEN, OFF(cfg.validation_fraction), 0,
	 0, 1, 0.1, NULL, 0,
	"rows held out (seeded) for the validation loss; 0: none"},
	{"patience", AE_OT_INT, TF, OFF(cfg.patience), 0,
	 0, AE_MAX_EPOCHS, 5, NULL, 0,
	"early stopping after this many epochs without a better validation loss (the best epoch's weights are kept); 0: never"},
	{"seed", AE_OT_BIGINT, TF, OFF(cfg.seed), 0,
	 0, 0, 42, NULL, 0,
	"seeds the project's own RNG (split, initialisation, shuffling, noise, sampling)"},
	{"solver", AE_OT_ENUM, TF | AE_OPT_AUTO, OFF(solver), 0,
	 0, 0, AE_SOLVER_SGD, solver_choices, ALL(AE_SOLVER_COUNT),
	"exact solves a linear model as PCA (LAPACK); sgd trains by gradient descent; by default exact with activation linear, else sgd"},
	{"deploy", AE_OT_ENUM, AE_OPT_TRAIN, OFF(deploy), 0,
	 0, 0, AE_DEPLOY_ALWAYS, deploy_choices, ALL(AE_DEPLOY_COUNT),
	"deploy the new version always, never, or if_better: if it has the lower error on this run's validation rows"},
	{"warm_start", AE_OT_BOOL, AE_OPT_TRAIN, OFF(warm_start), 0,
	 0, 0, 0, NULL, 0,
	"start from the deployed version's weights and scaling (same architecture)"},
	{"align", AE_OT_BOOL, AE_OPT_TRAIN | AE_OPT_AUTO, OFF(align), 0,
	 0, 0, 0, NULL, 0,
	"rotate and scale the new code space onto the deployed version's (orthogonal Procrustes with one scale, on the codes of up to 10,000 training rows; reconstructions unchanged), so codes stored from it stay comparable; needs a linear code layer and the same input and code sizes; by default on without warm_start, where possible"},
	{"anomaly_quantile", AE_OT_FLOAT, TF, OFF(anomaly_quantile), 0,
	 0, 1, 0.99, NULL, 0,
	"quantile of the validation rows' reconstruction errors kept as the anomaly threshold"},
	{"max_rows", AE_OT_BIGINT, AE_OPT_FIT | AE_OPT_AUTO, OFF(max_rows), 0,
	 1, 2147483647.0, 0, NULL, 0,
	"rows fit() samples for gradient training; by default autoencoder.max_training_rows, at most 512 MB of rows"},
};

#define N_OPTIONS	((int) (sizeof(option_table) / sizeof(option_table[0])))
_Static_assert(sizeof(option_table) / sizeof(option_table[0]) <= 64,
			   "given has one bit per option");

/* Number of options in the table. */
int
ae_option_count(void)
{
	return N_OPTIONS;
}

/* Row i of the table. */
const ae_option_desc *
ae_option_at(int i)
{
	return i >= 0 && i < N_OPTIONS ? &option_table[i] : NULL;
}

/* The row named name that is accepted at where, or NULL. */
const ae_option_desc *
ae_option_find(const char *name, int where)
{
	for (int i = 0; i < N_OPTIONS; i++)
		if ((option_table[i].flags & where) && strcmp(option_table[i].name, name) == 0)
			return &option_table[i];
	return NULL;
}

/* Position of a row in the table. */
int
ae_option_index(const ae_option_desc *d)
{
	return (int) (d - option_table);
}

/* Value of the name in choices, or -1. */
int
ae_choice_parse(const ae_choice *choices, const char *name)
{
	for (const ae_choice *c = choices; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c->value;
	return -1;
}

/* Name of value in choices, "?" if none. */
const char *
ae_choice_name(const ae_choice *choices, int value)
{
	for (const ae_choice *c = choices; c->name; c++)
		if (c->value == value)
			return c->name;
	return "?";
}

/* Names of the enum values, from the table's choices. */
const char *
ae_activation_name(ae_activation a)
{
	return ae_choice_name(activation_choices, a);
}

const char *
ae_scaling_name(ae_scaling s)
{
	return ae_choice_name(scaling_choices, s);
}

const char *
ae_optimizer_name(ae_optimizer o)
{
	return ae_choice_name(optimizer_choices, o);
}

const char *
ae_noise_name(ae_noise n)
{
	return ae_choice_name(noise_choices, n);
}

/* Pointers to a row's field in o. */
static int *
int_field(ae_options *o, const ae_option_desc *d)
{
	return (int *) ((char *) o + d->offset);
}

static int64_t *
bigint_field(ae_options *o, const ae_option_desc *d)
{
	return (int64_t *) ((char *) o + d->offset);
}

static double *
float_field(ae_options *o, const ae_option_desc *d)
{
	return (double *) ((char *) o + d->offset);
}

/* Read-only views of the same. */
#define CFIELD(type, o, d)	(*(const type *) ((const char *) (o) + (d)->offset))

/* Defaults of every option. */
void
ae_options_default(ae_options *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 0; i < N_OPTIONS; i++)
	{
		const ae_option_desc *d = &option_table[i];

		switch (d->type)
		{
			case AE_OT_INT:
			case AE_OT_ENUM:
			case AE_OT_BOOL:
				*int_field(o, d) = (int) d->def;
				break;
			case AE_OT_BIGINT:
				*bigint_field(o, d) = (int64_t) d->def;
				break;
			case AE_OT_FLOAT:
				*float_field(o, d) = d->def;
				break;
			case AE_OT_UNITS:
				*int_field(o, d) = 0;
				break;
		}
	}
}

/* A literal as the user wrote it (cut short), or the value, for messages. */
static void
shown_value(char *out, size_t len, const char *literal, double v)
{
	char		num[AE_JSON_NUMLEN];

	if (literal)
	{
		size_t		n = strlen(literal);

		if (n < 24)
			snprintf(out, len, "%s", literal);
		else
			snprintf(out, len, "%.20s...", literal);
	}
	else if (isnan(v))
		snprintf(out, len, "NaN");
	else if (isinf(v))
		snprintf(out, len, "%sInfinity", v < 0 ? "-" : "");
	else
	{
		ae_json_format_double(v, num);
		snprintf(out, len, "%s", num);
	}
}

/* The range message of a number row. */
static ae_status
range_error(const ae_option_desc *d, const char *shown, ae_error *err)
{
	char		lo[AE_JSON_NUMLEN],
				hi[AE_JSON_NUMLEN];

	ae_json_format_double(d->lo, lo);
	ae_json_format_double(d->hi, hi);
	if (d->flags & AE_OPT_LO_OPEN)
		return ae_fail(err, AE_EINVAL, "%s must be greater than %s and at most %s, not %s",
					   d->name, lo, hi, shown);
	if (d->flags & AE_OPT_HI_OPEN)
		return ae_fail(err, AE_EINVAL, "%s must be at least %s and below %s, not %s",
					   d->name, lo, hi, shown);
	return ae_fail(err, AE_EINVAL, "%s must be between %s and %s, not %s",
				   d->name, lo, hi, shown);
}

/* Whether a bigint row has a range at all ("any bigint" if not). */
static int
bigint_unbounded(const ae_option_desc *d)
{
	return d->type == AE_OT_BIGINT && d->lo == 0 && d->hi == 0;
}

/* Whether v lies in a number row's range. */
static int
in_range(const ae_option_desc *d, double v)
{
	if (bigint_unbounded(d))
		return isfinite(v) && v >= -9223372036854775808.0 && v < 9223372036854775808.0;
	if (!isfinite(v))
		return 0;
	if ((d->flags & AE_OPT_LO_OPEN) ? !(v > d->lo) : !(v >= d->lo))
		return 0;
	if ((d->flags & AE_OPT_HI_OPEN) ? !(v < d->hi) : !(v <= d->hi))
		return 0;
	return 1;
}

/* "a number", "an integer", ...: what a row takes. */
static const char *
type_phrase(const ae_option_desc *d)
{
	switch (d->type)
	{
		case AE_OT_INT:
		case AE_OT_BIGINT:
			return "an integer";
		case AE_OT_FLOAT:
			return "a number";
		case AE_OT_ENUM:
			return "a string";
		case AE_OT_BOOL:
			return "a boolean";
		case AE_OT_UNITS:
			return "an array of integers";
	}
	return "?";
}

/* The error for a value of the wrong type. */
static ae_status
wrong_type(const ae_option_desc *d, ae_error *err)
{
	return ae_fail(err, AE_EINVAL, "option \"%s\" must be %s", d->name,
				   type_phrase(d));
}

/* Mark a row as given. */
static void
mark_given(ae_options *o, const ae_option_desc *d)
{
	o->given |= UINT64_C(1) << ae_option_index(d);
}

/* Set an integer or number row; literal (may be NULL) is echoed in errors. */
ae_status
ae_option_set_number(ae_options *o, const ae_option_desc *d, double v,
					 const char *literal, ae_error *err)
{
	char		shown[40];

	shown_value(shown, sizeof(shown), literal, v);
	if (d->type == AE_OT_INT || d->type == AE_OT_BIGINT)
	{
		if (isinf(v) && literal)	/* an integer beyond any range */
			return range_error(d, shown, err);
		if (!isfinite(v) || v != floor(v))
			return ae_fail(err, AE_EINVAL, "option \"%s\" must be an integer, not %s",
						   d->name, shown);
		if (!in_range(d, v))
		{
			if (bigint_unbounded(d))
				return ae_fail(err, AE_EINVAL, "%s must be a bigint, not %s", d->name, shown);
			return range_error(d, shown, err);
		}
		if (d->type == AE_OT_INT)
			*int_field(o, d) = (int) v;
		else
			*bigint_field(o, d) = (int64_t) v;
	}
	else if (d->type == AE_OT_FLOAT)
	{
		if (!in_range(d, v))
			return range_error(d, shown, err);
		*float_field(o, d) = v;
	}
	else
		return wrong_type(d, err);
	mark_given(o, d);
	return AE_OK;
}

/* Set a bigint row exactly. */
ae_status
ae_option_set_bigint(ae_options *o, const ae_option_desc *d, int64_t v,
					 ae_error *err)
{
	char		shown[32];

	if (d->type != AE_OT_BIGINT)
		return ae_option_set_number(o, d, (double) v, NULL, err);
	snprintf(shown, sizeof(shown), "%lld", (long long) v);
	if (!bigint_unbounded(d) &&
		(v < (int64_t) d->lo || (double) v > d->hi))
		return range_error(d, shown, err);
	*bigint_field(o, d) = v;
	mark_given(o, d);
	return AE_OK;
}

/* "a, b and c": the accepted names of an enum row. */
static void
choice_list(const ae_option_desc *d, char *out, size_t len, const char *last_sep)
{
	const ae_choice *c;
	int			total = 0,
				done = 0;
	size_t		used = 0;

	out[0] = '\0';
	for (c = d->choices; c->name; c++)
		total += (d->allowed & BIT(c->value)) != 0;
	for (c = d->choices; c->name; c++)
	{
		if (!(d->allowed & BIT(c->value)))
			continue;
		done++;
		used += snprintf(out + used, used < len ? len - used : 0, "%s%s",
						 done == 1 ? "" : (done == total ? last_sep : ", "),
						 c->name);
	}
}

/* Set an enum row from its name. */
ae_status
ae_option_set_text(ae_options *o, const ae_option_desc *d, const char *v,
				   ae_error *err)
{
	char		names[256];
	int			value;

	if (d->type != AE_OT_ENUM)
		return wrong_type(d, err);
	value = ae_choice_parse(d->choices, v);
	choice_list(d, names, sizeof(names), " and ");
	if (value < 0)
		ae_fail(err, AE_EINVAL, "unknown %s \"%.40s\"", d->name, v);
	else if (!(d->allowed & BIT(value)))
		ae_fail(err, AE_EINVAL, "%s cannot be \"%s\"", d->name, v);
	if (value < 0 || !(d->allowed & BIT(value)))
	{
		ae_error_hint(err, "Valid values are %s.", names);
		return AE_EINVAL;
	}
	*int_field(o, d) = value;
	mark_given(o, d);
	return AE_OK;
}

/* Set a boolean row. */
ae_status
ae_option_set_bool(ae_options *o, const ae_option_desc *d, int v,
				   ae_error *err)
{
	if (d->type != AE_OT_BOOL)
		return wrong_type(d, err);
	*int_field(o, d) = v != 0;
	mark_given(o, d);
	return AE_OK;
}

/* Set the hidden layers. */
ae_status
ae_option_set_units(ae_options *o, const ae_option_desc *d,
					const int64_t *units, int n, ae_error *err)
{
	int		   *count = int_field(o, d);
	int		   *dst = (int *) ((char *) o + d->offset2);

	if (d->type != AE_OT_UNITS)
		return wrong_type(d, err);
	if (n > AE_MAX_HIDDEN)
		return ae_fail(err, AE_EINVAL, "%s has %d layers, at most %d are allowed",
					   d->name, n, AE_MAX_HIDDEN);
	for (int i = 0; i < n; i++)
	{
		if (units[i] < (int64_t) d->lo || units[i] > (int64_t) d->hi)
			return ae_fail(err, AE_EINVAL, "%s must be between %d and %d, not %lld",
						   d->name, (int) d->lo, (int) d->hi, (long long) units[i]);
		dst[i] = (int) units[i];
	}
	*count = n;
	mark_given(o, d);
	return AE_OK;
}

/* The error for an unknown option name, listing the valid ones. */
ae_status
ae_option_unknown(const char *name, int where, ae_error *err)
{
	char		names[768];
	size_t		used = 0;
	int			total = 0,
				done = 0;

	for (int i = 0; i < N_OPTIONS; i++)
		total += (option_table[i].flags & where) != 0;
	names[0] = '\0';
	for (int i = 0; i < N_OPTIONS; i++)
	{
		if (!(option_table[i].flags & where))
			continue;
		done++;
		used += snprintf(names + used, used < sizeof(names) ? sizeof(names) - used : 0,
						 "%s%s", done == 1 ? "" : (done == total ? " and " : ", "),
						 option_table[i].name);
	}
	ae_fail(err, AE_EINVAL, "unknown option \"%.40s\"", name);
	ae_error_hint(err, "Valid options are %s.", names);
	return AE_EINVAL;
}

/* Set one row from a parsed JSON value. */
static ae_status
set_from_json(ae_options *o, const ae_option_desc *d, const ae_jv *v,
			  ae_error *err)
{
	switch (v->type)
	{
		case AE_JNULL:
			return AE_OK;		/* null: the default */
		case AE_JNUMBER:
			if (d->type != AE_OT_INT && d->type != AE_OT_BIGINT &&
				d->type != AE_OT_FLOAT)
				return wrong_type(d, err);
			if (d->type == AE_OT_BIGINT && strpbrk(v->text, ".eE") == NULL)
			{
				long long	x;

				errno = 0;
				x = strtoll(v->text, NULL, 10);
				if (errno == 0)
					return ae_option_set_bigint(o, d, (int64_t) x, err);
			}
			return ae_option_set_number(o, d, v->num, v->text, err);
		case AE_JSTRING:
			return ae_option_set_text(o, d, v->text, err);
		case AE_JTRUE:
		case AE_JFALSE:
			return ae_option_set_bool(o, d, v->type == AE_JTRUE, err);
		case AE_JARRAY:
			{
				int64_t		units[AE_MAX_HIDDEN + 1];
				int			n = v->n;

				if (d->type != AE_OT_UNITS)
					return wrong_type(d, err);
				for (int i = 0; i < n && i <= AE_MAX_HIDDEN; i++)
				{
					const ae_jv *u = &v->items[i];

					if (u->type != AE_JNUMBER || u->num != floor(u->num))
						return wrong_type(d, err);
					units[i] = fabs(u->num) < 9e18 ? (int64_t) u->num :
						(u->num < 0 ? INT64_MIN : INT64_MAX);
				}
				return ae_option_set_units(o, d, units, n, err);
			}
		case AE_JOBJECT:
			break;
	}
	return wrong_type(d, err);
}

/* Apply every member of a JSON object of options. */
ae_status
ae_options_from_json(ae_options *o, const char *text, size_t len, int where,
					 const ae_allocator *alloc, ae_error *err)
{
	ae_jdoc		doc;
	ae_status	st;
	uint64_t	seen = 0;

	st = ae_json_parse(&doc, text, len, alloc, err);
	if (st != AE_OK)
		return st;
	if (doc.root->type != AE_JOBJECT)
	{
		ae_json_doc_free(&doc);
		return ae_fail(err, AE_EINVAL, "options must be a JSON object");
	}
	for (int i = 0; i < doc.root->n && st == AE_OK; i++)
	{
		const char *key = doc.root->keys[i];
		const ae_option_desc *d = ae_option_find(key, where);

		if (d == NULL)
			st = ae_option_unknown(key, where, err);
		else if (seen & (UINT64_C(1) << ae_option_index(d)))
			st = ae_fail(err, AE_EINVAL, "option \"%s\" is given twice", key);
		else
		{
			seen |= UINT64_C(1) << ae_option_index(d);
			st = set_from_json(o, d, &doc.root->items[i], err);
		}
	}
	ae_json_doc_free(&doc);
	return st;
}

/* Whether the caller gave the option named name (at train() or fit()). */
int
ae_option_given(const ae_options *o, const char *name)
{
	const ae_option_desc *d = ae_option_find(name, AE_OPT_TRAIN | AE_OPT_FIT);

	return d != NULL && ((o->given >> ae_option_index(d)) & 1);
}

/* Range check of one stored number row. */
static ae_status
check_stored(const ae_option_desc *d, const ae_options *o, ae_error *err)
{
	double		v;
	char		shown[40];

	switch (d->type)
	{
		case AE_OT_INT:
			v = CFIELD(int, o, d);
			break;
		case AE_OT_FLOAT:
			v = CFIELD(double, o, d);
			break;
		case AE_OT_ENUM:
			if (CFIELD(int, o, d) < 0 || CFIELD(int, o, d) >= 32 ||
				!(d->allowed & BIT(CFIELD(int, o, d))))
				return ae_fail(err, AE_EINVAL, "unknown %s %d", d->name, CFIELD(int, o, d));
			return AE_OK;
		default:
			return AE_OK;
	}
	if (in_range(d, v))
		return AE_OK;
	shown_value(shown, sizeof(shown), NULL, v);
	return range_error(d, shown, err);
}

/* Range checks of the rows that live in a training configuration. */
ae_status
ae_train_config_check(const ae_train_config *cfg, ae_error *err)
{
	ae_options	o;
	size_t		lo = OFF(cfg),
				hi = OFF(cfg) + sizeof(ae_train_config);

	ae_options_default(&o);
	o.cfg = *cfg;
	if (o.cfg.epochs == 0)
		o.cfg.epochs = 1;		/* 0: automatic */
	if (o.cfg.similarity_weight == 0.0)
		o.cfg.similarity_temperature = AE_DEFAULT_SIM_TEMPERATURE;	/* unused */
	for (int i = 0; i < N_OPTIONS; i++)
	{
		const ae_option_desc *d = &option_table[i];

		if (d->offset >= lo && d->offset < hi && check_stored(d, &o, err) != AE_OK)
			return AE_EINVAL;
	}
	if (cfg->noise == AE_NOISE_MASKING && cfg->noise_level >= 1.0)
		return ae_fail(err, AE_EINVAL, "noise_level must be below 1 for masking, not %g",
					   cfg->noise_level);
	return AE_OK;
}

/* Options accepted at where (given ones only, if asked) into an open object. */
void
ae_options_json(ae_json *j, const ae_options *o, int where, int given_only)
{
	for (int i = 0; i < N_OPTIONS; i++)
	{
		const ae_option_desc *d = &option_table[i];

		if (!(d->flags & where) ||
			(given_only && !((o->given >> i) & 1)))
			continue;
		switch (d->type)
		{
			case AE_OT_INT:
			case AE_OT_BIGINT:
				if (d->type == AE_OT_INT && (d->flags & AE_OPT_AUTO) &&
					CFIELD(int, o, d) < d->lo)
					ae_json_null(j, d->name);	/* automatic (epochs) */
				else
					ae_json_integer(j, d->name, d->type == AE_OT_INT ?
									CFIELD(int, o, d) : CFIELD(int64_t, o, d));
				break;

			case AE_OT_FLOAT:
				ae_json_number(j, d->name, CFIELD(double, o, d));
				break;
			case AE_OT_ENUM:
				ae_json_string(j, d->name, ae_choice_name(d->choices, CFIELD(int, o, d)));
				break;
			case AE_OT_BOOL:
				ae_json_bool(j, d->name, CFIELD(int, o, d));
				break;
			case AE_OT_UNITS:
				ae_json_array_begin(j, d->name);
				for (int k = 0; k < CFIELD(int, o, d); k++)
					ae_json_integer(j, NULL, ((const int *) ((const char *) o + d->offset2))[k]);
				ae_json_array_end(j);
				break;
		}
	}
}

/* The SQL type of a row's train() argument. */
const char *
ae_option_sql_type(const ae_option_desc *d)
{
	switch (d->type)
	{
		case AE_OT_INT:
			return "integer";
		case AE_OT_BIGINT:
			return "bigint";
		case AE_OT_FLOAT:
			return "double precision";
		case AE_OT_ENUM:
			return "text";
		case AE_OT_BOOL:
			return "boolean";
		case AE_OT_UNITS:
			return "integer[]";
	}
	return "?";
}

/* The SQL DEFAULT literal of a row; empty if train() requires it. */
void
ae_option_default_sql(const ae_option_desc *d, char *out, size_t len)
{
	char		num[AE_JSON_NUMLEN];

	if (d->flags & AE_OPT_REQUIRED)
		snprintf(out, len, "%s", "");
	else if (d->flags & AE_OPT_AUTO)
		snprintf(out, len, "NULL");
	else
		switch (d->type)
		{
			case AE_OT_INT:
			case AE_OT_BIGINT:
				snprintf(out, len, "%lld", (long long) d->def);
				break;
			case AE_OT_FLOAT:
				ae_json_format_double(d->def, num);
				snprintf(out, len, "%s", num);
				break;
			case AE_OT_ENUM:
				snprintf(out, len, "'%s'", ae_choice_name(d->choices, (int) d->def));
				break;
			case AE_OT_BOOL:
				snprintf(out, len, "%s", d->def != 0 ? "true" : "false");
				break;
			case AE_OT_UNITS:
				snprintf(out, len, "'{}'");
				break;
		}
}

/* The values a row accepts, as text: "1 .. 65535", "(0, 10]", "a, b". */
void
ae_option_allowed_text(const ae_option_desc *d, char *out, size_t len)
{
	char		lo[AE_JSON_NUMLEN],
				hi[AE_JSON_NUMLEN];

	ae_json_format_double(d->lo, lo);
	ae_json_format_double(d->hi, hi);
	switch (d->type)
	{
		case AE_OT_INT:
		case AE_OT_BIGINT:
			if (d->type == AE_OT_BIGINT && d->lo == 0 && d->hi == 0)
				snprintf(out, len, "any bigint");
			else
				snprintf(out, len, "%s .. %s", lo, hi);
			break;
		case AE_OT_FLOAT:
			snprintf(out, len, "%s%s, %s%s", (d->flags & AE_OPT_LO_OPEN) ? "(" : "[",
					 lo, hi, (d->flags & AE_OPT_HI_OPEN) ? ")" : "]");
			break;
		case AE_OT_ENUM:
			choice_list(d, out, len, ", ");
			break;
		case AE_OT_BOOL:
			snprintf(out, len, "true, false");
			break;
		case AE_OT_UNITS:
			snprintf(out, len, "up to %d layers of %s .. %s units", AE_MAX_HIDDEN, lo, hi);
			break;
	}
}
