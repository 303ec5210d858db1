/*-------------------------------------------------------------------------
 *
 * test_options.c
 *	  Unit tests of the option table (src/core/ae_options.c).
 *
 * Sections:
 *	 1. the table against an independent expectation written here: names,
 *	    types, where each option is accepted, bounds, defaults, SQL type,
 *	    SQL default text, allowed text, lookups
 *	 2. setters: every bound (open or closed) at and just beyond, NaN and
 *	    infinities, non-integers, enum names (unknown, not allowed), hidden
 *	    layers, bigint exactness
 *	 3. ae_options_from_json: every row by JSON type, wrong types, unknown
 *	    keys with the entry point's list, duplicates, null, the root
 *	 4. ae_options_check / ae_options_resolve: resolution and cross checks,
 *	    the residual network's resolution, the similarity checks
 *	 5. ae_options_json: every option of the entry point, round trip
 *	 6. ae_train_config_check agrees with the table's ranges
 *
 * Prints one line per check and "N passed, M failed" at the end; exits
 * non-zero if anything failed.
 *
 *-------------------------------------------------------------------------
 */
#include "test_util.h"
#include "ae_json.h"

#include <float.h>
#include <stdint.h>

#define TRAIN	AE_OPT_TRAIN
#define FIT		AE_OPT_FIT
#define BOTH	(AE_OPT_TRAIN | AE_OPT_FIT)

/* ====================================================================== */
/* 1. The expected table                                                   */
/* ====================================================================== */

typedef struct exp_row
{
	const char *name;
	ae_opt_type type;
	int			where;			/* TRAIN, FIT or both */
	int			is_auto;
	int			required;
	double		lo,
				hi;
	int			lo_open,
				hi_open;
	double		def;			/* the value ae_options_default leaves */
	const char *sql_type;
	const char *sql_default;
	const char *allowed;
} exp_row;

static const exp_row expected[] = {
	{"latent_dim", AE_OT_INT, BOTH, 1, 1, 1, 65535, 0, 0, 0, "integer", "", "1 .. 65535"},
	{"hidden_units", AE_OT_UNITS, BOTH, 1, 0, 1, 65535, 0, 0, 0, "integer[]", "NULL",
	"up to 8 layers of 1 .. 65535 units"},
	{"residual", AE_OT_BOOL, BOTH, 1, 0, 0, 0, 0, 0, 1, "boolean", "NULL", "true, false"},
	{"activation", AE_OT_ENUM, BOTH, 0, 0, 0, 0, 0, 0, AE_ACT_RELU, "text", "'relu'",
	"relu, tanh, sigmoid, elu, linear"},
	{"output_activation", AE_OT_ENUM, BOTH, 1, 0, 0, 0, 0, 0, AE_ACT_LINEAR, "text", "NULL",
	"sigmoid, linear"},
	{"epochs", AE_OT_INT, BOTH, 1, 0, 1, 100000, 0, 0, 0, "integer", "NULL", "1 .. 100000"},
	{"batch_size", AE_OT_INT, BOTH, 0, 0, 1, 65536, 0, 0, 256, "integer", "256", "1 .. 65536"},
	{"learning_rate", AE_OT_FLOAT, BOTH, 0, 0, 0, 10, 1, 0, 0.001, "double precision", "0.001",
	"(0, 10]"},
	{"optimizer", AE_OT_ENUM, BOTH, 0, 0, 0, 0, 0, 0, AE_OPT_ADAM, "text", "'adam'", "adam, sgd"},
	{"weight_decay", AE_OT_FLOAT, BOTH, 0, 0, 0, 100, 0, 0, 0, "double precision", "0", "[0, 100]"},
	{"sparsity", AE_OT_FLOAT, BOTH, 0, 0, 0, 100, 0, 0, 0, "double precision", "0", "[0, 100]"},
	{"similarity_weight", AE_OT_FLOAT, BOTH, 0, 0, 0, 10000, 0, 0, 0, "double precision", "0",
	"[0, 10000]"},
	{"similarity_temperature", AE_OT_FLOAT, BOTH, 0, 0, 0, 10, 1, 0, 0.02, "double precision", "0.02",
	"(0, 10]"},
	{"noise", AE_OT_ENUM, BOTH, 0, 0, 0, 0, 0, 0, AE_NOISE_NONE, "text", "'none'",
	"none, gaussian, masking"},
	{"noise_level", AE_OT_FLOAT, BOTH, 0, 0, 0, 10, 0, 0, 0.1, "double precision", "0.1", "[0, 10]"},
	{"scaling", AE_OT_ENUM, BOTH, 0, 0, 0, 0, 0, 0, AE_SCALING_STANDARD, "text", "'standard'",
	"standard, minmax, none, l2"},
	{"validation_fraction", AE_OT_FLOAT, BOTH, 0, 0, 0, 1, 0, 1, 0.1, "double precision", "0.1",
	"[0, 1)"},
	{"patience", AE_OT_INT, BOTH, 0, 0, 0, 100000, 0, 0, 5, "integer", "5", "0 .. 100000"},
	{"seed", AE_OT_BIGINT, BOTH, 0, 0, 0, 0, 0, 0, 42, "bigint", "42", "any bigint"},
	{"solver", AE_OT_ENUM, BOTH, 1, 0, 0, 0, 0, 0, AE_SOLVER_SGD, "text", "NULL", "exact, sgd"},
	{"deploy", AE_OT_ENUM, TRAIN, 0, 0, 0, 0, 0, 0, AE_DEPLOY_ALWAYS, "text", "'always'",
	"always, if_better, never"},
	{"warm_start", AE_OT_BOOL, TRAIN, 0, 0, 0, 0, 0, 0, 0, "boolean", "false", "true, false"},
	{"align", AE_OT_BOOL, TRAIN, 1, 0, 0, 0, 0, 0, 0, "boolean", "NULL", "true, false"},
	{"anomaly_quantile", AE_OT_FLOAT, BOTH, 0, 0, 0, 1, 0, 0, 0.99, "double precision", "0.99",
	"[0, 1]"},
	{"max_rows", AE_OT_BIGINT, FIT, 1, 0, 1, 2147483647.0, 0, 0, 0, "bigint", "NULL",
	"1 .. 2147483647"},
};

#define N_EXPECTED ((int) (sizeof(expected) / sizeof(expected[0])))

/* The value of a named option in o, read through the struct's own fields. */
static double
field(const ae_options *o, const char *name)
{
#define F(n, expr) if (strcmp(name, n) == 0) return (double) (expr)
	F("latent_dim", o->arch.latent);
	F("hidden_units", o->arch.n_hidden);
	F("residual", o->arch.residual);
	F("activation", o->arch.activation);
	F("output_activation", o->arch.output_activation);
	F("epochs", o->cfg.epochs);
	F("batch_size", o->cfg.batch_size);
	F("learning_rate", o->cfg.learning_rate);
	F("optimizer", o->cfg.optimizer);
	F("weight_decay", o->cfg.weight_decay);
	F("sparsity", o->cfg.sparsity);
	F("similarity_weight", o->cfg.similarity_weight);
	F("similarity_temperature", o->cfg.similarity_temperature);
	F("noise", o->cfg.noise);
	F("noise_level", o->cfg.noise_level);
	F("scaling", o->arch.scaling);
	F("validation_fraction", o->cfg.validation_fraction);
	F("patience", o->cfg.patience);
	F("seed", (int64_t) o->cfg.seed);
	F("solver", o->solver);
	F("deploy", o->deploy);
	F("warm_start", o->warm_start);
	F("align", o->align);
	F("anomaly_quantile", o->anomaly_quantile);
	F("max_rows", o->max_rows);
#undef F
	return NAN;
}

/* The row called name (any entry point), or NULL. */
static const ae_option_desc *
row(const char *name)
{
	return ae_option_find(name, BOTH);
}

/* The valid options of an entry point as the hint lists them. */
static void
expected_names(int where, char *out, size_t len)
{
	int			total = 0,
				done = 0;
	size_t		used = 0;

	for (int i = 0; i < N_EXPECTED; i++)
		total += (expected[i].where & where) != 0;
	out[0] = '\0';
	for (int i = 0; i < N_EXPECTED; i++)
	{
		if (!(expected[i].where & where))
			continue;
		done++;
		used += (size_t) snprintf(out + used, len - used, "%s%s",
								  done == 1 ? "" : (done == total ? " and " : ", "),
								  expected[i].name);
	}
}

/* The table's rows, their flags, bounds, defaults and texts. */
static void
test_table(void)
{
	ae_options	o;
	int			n = ae_option_count();

	CHECK(n == N_EXPECTED, "table: %d rows (expected %d)", n, N_EXPECTED);
	CHECK(ae_option_at(-1) == NULL && ae_option_at(n) == NULL && ae_option_at(0) != NULL,
		  "table: ae_option_at is NULL outside 0 .. count-1");
	ae_options_default(&o);
	CHECK(o.given == 0 && o.arch.n_input == 0, "defaults: nothing given, n_input 0");

	for (int i = 0; i < N_EXPECTED && i < n; i++)
	{
		const exp_row *e = &expected[i];
		const ae_option_desc *d = ae_option_at(i);
		char		buf[256];
		int			flags_ok;

		if (!CHECK(d && strcmp(d->name, e->name) == 0, "table: row %d is %s (got %s)", i,
				   e->name, d ? d->name : "NULL"))
			continue;
		flags_ok = d->type == e->type &&
			((d->flags & BOTH) == e->where) &&
			(!!(d->flags & AE_OPT_AUTO) == e->is_auto) &&
			(!!(d->flags & AE_OPT_REQUIRED) == e->required) &&
			(!!(d->flags & AE_OPT_LO_OPEN) == e->lo_open) &&
			(!!(d->flags & AE_OPT_HI_OPEN) == e->hi_open);
		if (e->type == AE_OT_INT || e->type == AE_OT_FLOAT || e->type == AE_OT_BIGINT ||
			e->type == AE_OT_UNITS)
			flags_ok &= d->lo == e->lo && d->hi == e->hi;
		CHECK(flags_ok, "table: %s has its type, entry points, flags and bounds", e->name);
		CHECK(ae_option_index(d) == i && ae_option_find(e->name, e->where) == d &&
			  ae_option_find(e->name, BOTH & ~e->where) == NULL,
			  "table: %s is found where it is accepted (and only there)", e->name);
		CHECK(field(&o, e->name) == e->def && (e->type == AE_OT_UNITS || d->def == e->def),
			  "defaults: %s = %g (field %g, row default %g)", e->name, e->def,
			  field(&o, e->name), d->def);
		CHECK(strcmp(ae_option_sql_type(d), e->sql_type) == 0,
			  "sql type of %s: %s (got %s)", e->name, e->sql_type, ae_option_sql_type(d));
		ae_option_default_sql(d, buf, sizeof(buf));
		CHECK(strcmp(buf, e->sql_default) == 0, "sql default of %s: \"%s\" (got \"%s\")",
			  e->name, e->sql_default, buf);
		ae_option_allowed_text(d, buf, sizeof(buf));
		CHECK(strcmp(buf, e->allowed) == 0, "allowed text of %s: \"%s\" (got \"%s\")",
			  e->name, e->allowed, buf);
		CHECK(d->doc != NULL && strlen(d->doc) > 10, "table: %s has a doc line", e->name);
	}

	/* tu_config and the table agree */
	{
		ae_train_config c = tu_config();

		CHECK(c.epochs == 20 && c.batch_size == 256 && c.learning_rate == 0.001 &&
			  c.optimizer == AE_OPT_ADAM && c.patience == 5 && c.seed == 42 &&
			  c.validation_fraction == 0.1 && c.warm_start == 0 && c.preset_scaling == 0,
			  "defaults: the training configuration's fields");
	}

	/* enum names */
	CHECK(strcmp(ae_activation_name(AE_ACT_ELU), "elu") == 0 &&
		  strcmp(ae_activation_name(AE_ACT_LINEAR), "linear") == 0 &&
		  strcmp(ae_activation_name(AE_ACT_COUNT), "?") == 0 &&
		  strcmp(ae_scaling_name(AE_SCALING_MINMAX), "minmax") == 0 &&
		  strcmp(ae_optimizer_name(AE_OPT_SGD), "sgd") == 0 &&
		  strcmp(ae_noise_name(AE_NOISE_MASKING), "masking") == 0,
		  "names of enum values, ? when out of range");
	CHECK(ae_choice_parse(row("solver")->choices, "exact") == AE_SOLVER_EXACT &&
		  ae_choice_parse(row("solver")->choices, "Exact") == -1 &&
		  ae_choice_parse(row("deploy")->choices, "if_better") == AE_DEPLOY_IF_BETTER &&
		  strcmp(ae_choice_name(row("deploy")->choices, AE_DEPLOY_NEVER), "never") == 0,
		  "ae_choice_parse is exact and case-sensitive; ae_choice_name");
}

/* ====================================================================== */
/* 2. Setters                                                              */
/* ====================================================================== */

/* Shown values that did not read back to the value set (bug tally). */
static int shown_total,
			shown_bad;
static char shown_example[512];

/*
 * Whether a range or integer message ends in ", not V" or "must be an
 * integer, not V" with V the offending value (NaN and infinities by name).
 */
static void
note_shown(const char *msg, double v)
{
	const char *p = strstr(msg, ", not ");
	int			ok;

	if (p == NULL)
		p = strstr(msg, " integer, not ");
	if (p == NULL)
		ok = 0;
	else
	{
		p = strstr(p, "not ") + 4;
		if (isnan(v))
			ok = strcmp(p, "NaN") == 0;
		else if (isinf(v))
			ok = strcmp(p, v > 0 ? "Infinity" : "-Infinity") == 0;
		else
		{
			char	   *end;
			double		got = strtod(p, &end);

			ok = *end == '\0' && got == v;
		}
	}
	shown_total++;
	if (!ok)
	{
		shown_bad++;
		if (strlen(shown_example) < 300)
		{
			size_t		l = strlen(shown_example);

			snprintf(shown_example + l, sizeof(shown_example) - l, "%s[%.17g: \"%s\"]",
					 l ? ", " : "", v, msg);
		}
	}
}

/* Set v on a fresh default and expect acceptance (value stored, given). */
static void
expect_set_ok(const char *name, double v)
{
	ae_options	o;
	ae_error	err = {0};
	const ae_option_desc *d = row(name);
	ae_status	st;

	ae_options_default(&o);
	ae_error_clear(&err);
	st = ae_option_set_number(&o, d, v, NULL, &err);
	CHECK(st == AE_OK && field(&o, name) == v &&
		  o.given == (UINT64_C(1) << ae_option_index(d)),
		  "set %s = %.17g accepted and stored (status %d, %s)", name, v, (int) st, err.message);
}

/* Set v and expect rejection with message prefix; nothing changes. */
static void
expect_set_bad(const char *name, double v, const char *prefix)
{
	ae_options	o,
				before;
	ae_error	err = {0};
	const ae_option_desc *d = row(name);
	ae_status	st;

	ae_options_default(&o);
	before = o;
	ae_error_clear(&err);
	st = ae_option_set_number(&o, d, v, NULL, &err);
	CHECK(st == AE_EINVAL && err.status == AE_EINVAL &&
		  strncmp(err.message, prefix, strlen(prefix)) == 0 &&
		  memcmp(&o, &before, sizeof(o)) == 0,
		  "set %s = %.17g rejected: \"%s...\" (got %d \"%s\")", name, v, prefix, (int) st,
		  err.message);
	note_shown(err.message, v);
}

/* The range message's head for a row, from the expectation. */
static void
range_prefix(const exp_row *e, char *out, size_t len)
{
	char		lo[AE_JSON_NUMLEN],
				hi[AE_JSON_NUMLEN];

	snprintf(lo, sizeof(lo), "%.17g", e->lo);
	snprintf(hi, sizeof(hi), "%.17g", e->hi);
	if (e->lo_open)
		snprintf(out, len, "%s must be greater than %s and at most %s, not ", e->name, lo, hi);
	else if (e->hi_open)
		snprintf(out, len, "%s must be at least %s and below %s, not ", e->name, lo, hi);
	else
		snprintf(out, len, "%s must be between %s and %s, not ", e->name, lo, hi);
}

/* Every numeric row: bounds at and beyond, non-finite, non-integers. */
static void
test_set_numbers(void)
{
	for (int i = 0; i < N_EXPECTED; i++)
	{
		const exp_row *e = &expected[i];
		char		pre[200],
					ipre[200];
		int			is_int = e->type == AE_OT_INT || e->type == AE_OT_BIGINT;

		if (e->type != AE_OT_INT && e->type != AE_OT_FLOAT && e->type != AE_OT_BIGINT)
			continue;
		if (e->type == AE_OT_BIGINT && e->lo == 0 && e->hi == 0)
			continue;			/* seed: any bigint, below */
		range_prefix(e, pre, sizeof(pre));
		snprintf(ipre, sizeof(ipre), "option \"%s\" must be an integer, not ", e->name);

		/* the lower bound */
		if (e->lo_open)
		{
			expect_set_bad(e->name, e->lo, pre);
			expect_set_ok(e->name, nextafter(e->lo, INFINITY));
		}
		else
		{
			expect_set_ok(e->name, e->lo);
			expect_set_bad(e->name, is_int ? e->lo - 1 : nextafter(e->lo, -INFINITY), pre);
		}
		/* the upper bound */
		if (e->hi_open)
		{
			expect_set_bad(e->name, e->hi, pre);
			expect_set_ok(e->name, nextafter(e->hi, -INFINITY));
		}
		else
		{
			expect_set_ok(e->name, e->hi);
			expect_set_bad(e->name, is_int ? e->hi + 1 : nextafter(e->hi, INFINITY), pre);
		}
		/* well inside, far outside */
		expect_set_ok(e->name, is_int ? floor((e->lo + e->hi) / 2) : (e->lo + e->hi) / 2);
		expect_set_bad(e->name, is_int ? e->hi * 10 + 1 : e->hi * 10 + 0.25, pre);
		expect_set_bad(e->name, -1e6 - 1, pre);
		if (is_int)
		{
			expect_set_bad(e->name, e->lo + 0.5, ipre);
			expect_set_bad(e->name, NAN, ipre);
			expect_set_bad(e->name, INFINITY, ipre);
			expect_set_bad(e->name, -INFINITY, ipre);
		}
		else
		{
			expect_set_bad(e->name, NAN, pre);
			expect_set_bad(e->name, INFINITY, pre);
			expect_set_bad(e->name, -INFINITY, pre);
		}
	}

	/* exact messages with the literal the user wrote */
	{
		static const struct
		{
			const char *name;
			double		v;
			const char *literal;
			const char *msg;
		}			cases[] = {
			{"epochs", 0, "0", "epochs must be between 1 and 100000, not 0"},
			{"batch_size", 65537, "65537", "batch_size must be between 1 and 65536, not 65537"},
			{"learning_rate", 0, "0.0", "learning_rate must be greater than 0 and at most 10, not 0.0"},
			{"validation_fraction", 1, "1", "validation_fraction must be at least 0 and below 1, not 1"},
			{"patience", -1, "-1", "patience must be between 0 and 100000, not -1"},
			{"latent_dim", 70000, "70000", "latent_dim must be between 1 and 65535, not 70000"},
			{"max_rows", 0, "0", "max_rows must be between 1 and 2147483647, not 0"},
			{"anomaly_quantile", 1.5, "1.5", "anomaly_quantile must be between 0 and 1, not 1.5"},
			{"noise_level", 10.5, "1.05e1", "noise_level must be between 0 and 10, not 1.05e1"},
			{"epochs", 2.5, "2.5", "option \"epochs\" must be an integer, not 2.5"},
			{"epochs", 3, "12345678901234567890123456", "epochs must be between 1 and 100000, not 12345678901234567890..."},
		};

		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
		{
			ae_options	o;
			ae_error	err = {0};
			double		v = cases[k].v;
			ae_status	st;

			if (k == sizeof(cases) / sizeof(cases[0]) - 1)
				v = 12345678901234567890123456.0;
			ae_options_default(&o);
			ae_error_clear(&err);
			st = ae_option_set_number(&o, row(cases[k].name), v, cases[k].literal, &err);
			CHECK(st == AE_EINVAL && strcmp(err.message, cases[k].msg) == 0,
				  "set %s = %s: \"%s\" (got \"%s\")", cases[k].name, cases[k].literal,
				  cases[k].msg, err.message);
		}
	}

	/* integers as a SQL integer argument gives them: no literal */
	expect_set_bad("epochs", 1000001, "epochs must be between 1 and 100000, not ");
	expect_set_bad("latent_dim", 1234567, "latent_dim must be between 1 and 65535, not ");
	expect_set_bad("learning_rate", 10.000001, "learning_rate must be greater than 0 and at most 10, not ");

	CHECK(shown_total > 80 && shown_bad == 0,
		  "set: every rejection shows the offending value exactly (%d of %d did not, e.g. %s)",
		  shown_bad, shown_total, shown_example);

	/* a number on rows that take no number */
	{
		static const struct
		{
			const char *name;
			const char *msg;
		}			cases[] = {
			{"activation", "option \"activation\" must be a string"},
			{"warm_start", "option \"warm_start\" must be a boolean"},
			{"hidden_units", "option \"hidden_units\" must be an array of integers"}};

		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
		{
			ae_options	o;
			ae_error	err = {0};

			ae_options_default(&o);
			CHECK(ae_option_set_number(&o, row(cases[k].name), 1, NULL, &err) == AE_EINVAL &&
				  strcmp(err.message, cases[k].msg) == 0 && o.given == 0,
				  "set_number on %s: \"%s\" (got \"%s\")", cases[k].name, cases[k].msg,
				  err.message);
		}
	}
}

/* Enum names: every allowed one, unknown ones, known but not allowed. */
static void
test_set_text(void)
{
	static const struct
	{
		const char *name;
		const char *const values[6];
		const int	ints[6];
		const char *hint;
	}			enums[] = {
		{"activation", {"relu", "tanh", "sigmoid", "elu", "linear"},
		{AE_ACT_RELU, AE_ACT_TANH, AE_ACT_SIGMOID, AE_ACT_ELU, AE_ACT_LINEAR},
		"Valid values are relu, tanh, sigmoid, elu and linear."},
		{"output_activation", {"sigmoid", "linear"}, {AE_ACT_SIGMOID, AE_ACT_LINEAR},
		"Valid values are sigmoid and linear."},
		{"optimizer", {"adam", "sgd"}, {AE_OPT_ADAM, AE_OPT_SGD}, "Valid values are adam and sgd."},
		{"noise", {"none", "gaussian", "masking"}, {AE_NOISE_NONE, AE_NOISE_GAUSSIAN, AE_NOISE_MASKING},
		"Valid values are none, gaussian and masking."},
		{"scaling", {"standard", "minmax", "none"},
		{AE_SCALING_STANDARD, AE_SCALING_MINMAX, AE_SCALING_NONE},
		"Valid values are standard, minmax, none and l2."},
		{"solver", {"exact", "sgd"}, {AE_SOLVER_EXACT, AE_SOLVER_SGD}, "Valid values are exact and sgd."},
		{"deploy", {"always", "if_better", "never"},
		{AE_DEPLOY_ALWAYS, AE_DEPLOY_IF_BETTER, AE_DEPLOY_NEVER},
		"Valid values are always, if_better and never."}};

	for (size_t k = 0; k < sizeof(enums) / sizeof(enums[0]); k++)
	{
		const ae_option_desc *d = row(enums[k].name);
		ae_options	o;
		ae_error	err = {0};
		char		msg[128];
		int			ok = 1;

		for (int v = 0; v < 6 && enums[k].values[v]; v++)
		{
			ae_options_default(&o);
			ok &= ae_option_set_text(&o, d, enums[k].values[v], &err) == AE_OK &&
				field(&o, enums[k].name) == enums[k].ints[v] &&
				o.given == (UINT64_C(1) << ae_option_index(d));
		}
		CHECK(ok, "set %s: every allowed name sets its value", enums[k].name);

		ae_options_default(&o);
		ae_error_clear(&err);
		snprintf(msg, sizeof(msg), "unknown %s \"bogus\"", enums[k].name);
		CHECK(ae_option_set_text(&o, d, "bogus", &err) == AE_EINVAL &&
			  strcmp(err.message, msg) == 0 && strcmp(err.hint, enums[k].hint) == 0 &&
			  o.given == 0,
			  "set %s 'bogus': \"%s\", hint \"%s\" (got \"%s\", \"%s\")", enums[k].name, msg,
			  enums[k].hint, err.message, err.hint);
	}

	/* known names that a row does not allow */
	{
		static const char *const not_allowed[] = {"relu", "tanh", "elu"};

		for (size_t k = 0; k < 3; k++)
		{
			ae_options	o;
			ae_error	err = {0};
			char		msg[128];

			ae_options_default(&o);
			ae_error_clear(&err);
			snprintf(msg, sizeof(msg), "output_activation cannot be \"%s\"", not_allowed[k]);
			CHECK(ae_option_set_text(&o, row("output_activation"), not_allowed[k], &err) == AE_EINVAL &&
				  strcmp(err.message, msg) == 0 &&
				  strcmp(err.hint, "Valid values are sigmoid and linear.") == 0 &&
				  o.arch.output_activation == AE_ACT_LINEAR && o.given == 0,
				  "set output_activation '%s': \"%s\" (got \"%s\", hint \"%s\")", not_allowed[k],
				  msg, err.message, err.hint);
		}
	}

	/* case-sensitive, empty, long names cut in the message */
	{
		ae_options	o;
		ae_error	err = {0};
		char		longname[200];

		ae_options_default(&o);
		CHECK(ae_option_set_text(&o, row("activation"), "ReLU", &err) == AE_EINVAL &&
			  strcmp(err.message, "unknown activation \"ReLU\"") == 0,
			  "set activation 'ReLU': names are case-sensitive");
		CHECK(ae_option_set_text(&o, row("activation"), "", &err) == AE_EINVAL,
			  "set activation '': rejected");
		memset(longname, 'x', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		CHECK(ae_option_set_text(&o, row("activation"), longname, &err) == AE_EINVAL &&
			  strlen(err.message) < 80, "set activation to 199 x's: message cut (%zu bytes)",
			  strlen(err.message));
		CHECK(ae_option_set_text(&o, row("epochs"), "20", &err) == AE_EINVAL &&
			  strcmp(err.message, "option \"epochs\" must be an integer") == 0,
			  "set_text on epochs: \"option \\\"epochs\\\" must be an integer\" (got \"%s\")",
			  err.message);
		CHECK(ae_option_set_text(&o, row("warm_start"), "true", &err) == AE_EINVAL &&
			  strcmp(err.message, "option \"warm_start\" must be a boolean") == 0,
			  "set_text on warm_start: must be a boolean (got \"%s\")", err.message);
		CHECK(o.given == 0 && o.cfg.epochs == 0, "rejected texts change nothing");
	}

	/* booleans */
	{
		ae_options	o;
		ae_error	err = {0};

		ae_options_default(&o);
		CHECK(ae_option_set_bool(&o, row("warm_start"), 7, &err) == AE_OK && o.warm_start == 1 &&
			  ae_option_set_bool(&o, row("warm_start"), 0, &err) == AE_OK && o.warm_start == 0,
			  "set warm_start: any nonzero is true, 0 false");
		CHECK(ae_option_set_bool(&o, row("epochs"), 1, &err) == AE_EINVAL &&
			  strcmp(err.message, "option \"epochs\" must be an integer") == 0 && o.cfg.epochs == 0,
			  "set_bool on epochs rejected (got \"%s\")", err.message);
	}
}

/* Hidden layers: count and each unit's range, the offending value shown. */
static void
test_set_units(void)
{
	const ae_option_desc *d = row("hidden_units");
	ae_options	o;
	ae_error	err = {0};
	int64_t		u[12] = {256, 64, 1, 65535, 3, 4, 5, 6, 7, 8, 9, 10};
	ae_status	st;

	ae_options_default(&o);
	st = ae_option_set_units(&o, d, u, 4, &err);
	CHECK(st == AE_OK && o.arch.n_hidden == 4 && o.arch.hidden[0] == 256 &&
		  o.arch.hidden[1] == 64 && o.arch.hidden[2] == 1 && o.arch.hidden[3] == 65535 &&
		  o.given == (UINT64_C(1) << ae_option_index(d)),
		  "set hidden_units {256,64,1,65535}");
	ae_options_default(&o);
	CHECK(ae_option_set_units(&o, d, u, 0, &err) == AE_OK && o.arch.n_hidden == 0,
		  "set hidden_units {} (no hidden layer)");
	ae_options_default(&o);
	CHECK(ae_option_set_units(&o, d, u, AE_MAX_HIDDEN, &err) == AE_OK &&
		  o.arch.n_hidden == AE_MAX_HIDDEN && o.arch.hidden[7] == 6,
		  "set hidden_units: %d layers (the limit)", AE_MAX_HIDDEN);
	ae_options_default(&o);
	ae_error_clear(&err);
	CHECK(ae_option_set_units(&o, d, u, AE_MAX_HIDDEN + 1, &err) == AE_EINVAL &&
		  strcmp(err.message, "hidden_units has 9 layers, at most 8 are allowed") == 0 &&
		  o.arch.n_hidden == 0 && o.given == 0,
		  "set hidden_units: 9 layers rejected (got \"%s\")", err.message);

	/* each position with each bad value */
	{
		static const int64_t bad[] = {0, -1, 65536, 70000, (int64_t) 1 << 40, INT64_MIN};
		int			all = 1;
		char		want[128];

		for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++)
			for (int pos = 0; pos < 3; pos++)
			{
				int64_t		v[3] = {16, 16, 16};

				v[pos] = bad[b];
				ae_options_default(&o);
				ae_error_clear(&err);
				snprintf(want, sizeof(want), "hidden_units must be between 1 and 65535, not %lld",
						 (long long) bad[b]);
				if (ae_option_set_units(&o, d, v, 3, &err) != AE_EINVAL ||
					strcmp(err.message, want) != 0 || o.arch.n_hidden != 0 || o.given != 0)
				{
					all = 0;
					printf("    unit %lld at %d: \"%s\"\n", (long long) bad[b], pos, err.message);
				}
			}
		CHECK(all, "set hidden_units: 0, -1, 65536, 70000, 2^40, INT64_MIN at each position "
			  "rejected with \"... not <value>\"");
		ae_error_clear(&err);
		{
			int64_t		v[1] = {70000};

			ae_option_set_units(&o, d, v, 1, &err);
			CHECK(strstr(err.message, "not 70000") != NULL,
				  "set hidden_units {70000}: the message shows \"not 70000\" (%s)", err.message);
		}
	}
	CHECK(ae_option_set_units(&o, row("epochs"), u, 1, &err) == AE_EINVAL &&
		  strcmp(err.message, "option \"epochs\" must be an integer") == 0,
		  "set_units on epochs rejected (got \"%s\")", err.message);
}

/* Bigints: exact beyond 2^53, any value for the seed, max_rows' range. */
static void
test_set_bigint(void)
{
	const ae_option_desc *seed = row("seed"),
			   *max_rows = row("max_rows");
	ae_options	o;
	ae_error	err = {0};
	static const int64_t seeds[] = {
		0, 1, -1, 42, (INT64_C(1) << 53) + 1, -(INT64_C(1) << 53) - 1,
		INT64_C(1234567890123456789), INT64_C(9200000000000000000) - 1};

	for (size_t k = 0; k < sizeof(seeds) / sizeof(seeds[0]); k++)
	{
		ae_status	st;

		ae_options_default(&o);
		ae_error_clear(&err);
		st = ae_option_set_bigint(&o, seed, seeds[k], &err);
		CHECK(st == AE_OK && (int64_t) o.cfg.seed == seeds[k] &&
			  o.given == (UINT64_C(1) << ae_option_index(seed)),
			  "set_bigint seed = %lld exactly (got %lld, %s)", (long long) seeds[k],
			  (long long) (int64_t) o.cfg.seed, err.message);
	}
	/* the extremes of bigint: "any bigint" per the allowed text */
	{
		static const int64_t ext[] = {INT64_MAX, INT64_MIN, INT64_C(9220000000000000000)};

		for (size_t k = 0; k < sizeof(ext) / sizeof(ext[0]); k++)
		{
			ae_options_default(&o);
			ae_error_clear(&err);
			CHECK(ae_option_set_bigint(&o, seed, ext[k], &err) == AE_OK &&
				  (int64_t) o.cfg.seed == ext[k],
				  "set_bigint seed = %lld accepted (any bigint) (got \"%s\")",
				  (long long) ext[k], err.message);
		}
	}
	/* a double beyond bigint: rejected, without "between 0 and 0" */
	ae_options_default(&o);
	ae_error_clear(&err);
	CHECK(ae_option_set_number(&o, seed, 1e19, NULL, &err) == AE_EINVAL && o.given == 0,
		  "set seed = 1e19 (beyond bigint) rejected");
	CHECK(strstr(err.message, "between 0 and 0") == NULL,
		  "set seed = 1e19: the message does not claim a range of 0 .. 0 (got \"%s\")",
		  err.message);
	ae_options_default(&o);
	CHECK(ae_option_set_number(&o, seed, 12345, NULL, &err) == AE_OK && o.cfg.seed == 12345 &&
		  ae_option_set_number(&o, seed, 0.5, NULL, &err) == AE_EINVAL &&
		  strcmp(err.message, "option \"seed\" must be an integer, not 0.5") == 0,
		  "set seed through set_number: integers only (got \"%s\")", err.message);

	ae_options_default(&o);
	CHECK(ae_option_set_bigint(&o, max_rows, 2147483647, &err) == AE_OK &&
		  o.max_rows == 2147483647 && ae_option_set_bigint(&o, max_rows, 1, &err) == AE_OK &&
		  o.max_rows == 1, "set_bigint max_rows: 1 and 2147483647 accepted");
	ae_options_default(&o);
	CHECK(ae_option_set_bigint(&o, max_rows, INT64_C(2147483648), &err) == AE_EINVAL &&
		  strncmp(err.message, "max_rows must be between 1 and 2147483647, not ", 47) == 0 &&
		  ae_option_set_bigint(&o, max_rows, 0, &err) == AE_EINVAL &&
		  ae_option_set_bigint(&o, max_rows, -5, &err) == AE_EINVAL && o.max_rows == 0,
		  "set_bigint max_rows: 0, -5 and 2^31 rejected");
	ae_options_default(&o);
	CHECK(ae_option_set_bigint(&o, row("epochs"), 7, &err) == AE_OK && o.cfg.epochs == 7 &&
		  ae_option_set_bigint(&o, row("epochs"), INT64_C(1) << 40, &err) == AE_EINVAL &&
		  o.cfg.epochs == 7, "set_bigint on an integer row: checked like set_number");
}

/* ====================================================================== */
/* 3. ae_options_from_json                                                 */
/* ====================================================================== */

/* Parse text into a default o at where. */
static ae_status
from_json(ae_options *o, const char *text, int where, ae_error *err, tu_alloc_ctx *ctx)
{
	ae_allocator al = tu_allocator(ctx, -1);

	ae_options_default(o);
	ae_error_clear(err);
	return ae_options_from_json(o, text, strlen(text), where, &al, err);
}

/* The phrase of a row's type in wrong-type messages. */
static const char *
phrase(ae_opt_type t)
{
	switch (t)
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

/* Every row with a value of every JSON type, at both entry points. */
static void
test_json_types(void)
{
	static const char *const jvals[] = {"2", "0.5", "\"sgd\"", "true", "[1]", "{}", "null", "false", "[1.5]", "[\"a\"]"};
	tu_alloc_ctx ctx;

	for (int w = 0; w < 2; w++)
	{
		int			where = w ? FIT : TRAIN;

		for (int i = 0; i < N_EXPECTED; i++)
		{
			const exp_row *e = &expected[i];
			int			bad = 0;

			if (!(e->where & where))
				continue;
			for (size_t k = 0; k < sizeof(jvals) / sizeof(jvals[0]); k++)
			{
				const char *jv = jvals[k];
				char		text[128],
							want[128];
				ae_options	o;
				ae_error	err = {0};
				ae_status	st;
				int			fits,
							ok;

				snprintf(text, sizeof(text), "{\"%s\": %s}", e->name, jv);
				st = from_json(&o, text, where, &err, &ctx);
				snprintf(want, sizeof(want), "option \"%s\" must be %s", e->name, phrase(e->type));
				/* which JSON values fit which row type */
				if (strcmp(jv, "null") == 0)
					fits = 2;	/* accepted, nothing given */
				else if (e->type == AE_OT_INT || e->type == AE_OT_BIGINT)
					fits = strcmp(jv, "2") == 0;
				else if (e->type == AE_OT_FLOAT)
					fits = strcmp(jv, "2") == 0 || strcmp(jv, "0.5") == 0;
				else if (e->type == AE_OT_BOOL)
					fits = strcmp(jv, "true") == 0 || strcmp(jv, "false") == 0;
				else if (e->type == AE_OT_UNITS)
					fits = strcmp(jv, "[1]") == 0;
				else
					fits = jv[0] == '"';
				if (fits == 2)
					ok = st == AE_OK && o.given == 0;
				else if (fits)
				{
					/* "sgd" is a name only the optimizer and solver know */
					int			known = strcmp(e->name, "optimizer") == 0 ||
						strcmp(e->name, "solver") == 0;
					int			in_range = !(e->type == AE_OT_FLOAT && e->hi_open && e->hi <= 2 &&
											 strcmp(jv, "2") == 0) &&
						!(e->type == AE_OT_FLOAT && e->hi < 2 && strcmp(jv, "2") == 0);

					if (e->type == AE_OT_ENUM && !known)
						ok = st == AE_EINVAL && strncmp(err.message, "unknown ", 8) == 0;
					else if (!in_range)
						ok = st == AE_EINVAL && strstr(err.message, ", not 2") != NULL;
					else
						ok = st == AE_OK && o.given == (UINT64_C(1) << i);
					if (ok && st == AE_OK && e->type == AE_OT_UNITS)
						ok = o.arch.n_hidden == 1 && o.arch.hidden[0] == 1;
					else if (ok && st == AE_OK && e->type != AE_OT_ENUM)
						ok = field(&o, e->name) == strtod(jv[0] == 't' ? "1" : jv[0] == 'f' ? "0" : jv, NULL);
				}
				else if ((e->type == AE_OT_INT || e->type == AE_OT_BIGINT) && strcmp(jv, "0.5") == 0)
				{
					snprintf(want, sizeof(want), "option \"%s\" must be an integer, not 0.5", e->name);
					ok = st == AE_EINVAL && strcmp(err.message, want) == 0;
				}
				else
					ok = st == AE_EINVAL && strcmp(err.message, want) == 0;
				if (!ok)
				{
					bad++;
					printf("    %s at %s: %s -> %d \"%s\"\n", e->name, w ? "fit" : "train", jv,
						   (int) st, err.message);
				}
			}
			CHECK(bad == 0, "from_json %s (%s): every JSON type accepted or rejected with "
				  "\"option \\\"%s\\\" must be %s\"", e->name, w ? "fit" : "train", e->name,
				  phrase(e->type));
		}
	}
	CHECK(ctx.live == 0, "from_json types: no live blocks (%ld live)", ctx.live);
}

/* Values, unknown keys, duplicates, null, the root, bigints, failures. */
static void
test_json_misc(void)
{
	tu_alloc_ctx ctx;
	ae_options	o;
	ae_error	err = {0};
	ae_status	st;
	char		names[1024],
				hint[1100];

	st = from_json(&o, "{\"latent_dim\": 8, \"hidden_units\": [64, 32], \"activation\": \"tanh\", "
				   "\"output_activation\": \"sigmoid\", \"epochs\": 1e2, \"batch_size\": 32, "
				   "\"learning_rate\": 0.0125, \"optimizer\": \"sgd\", \"weight_decay\": 1e-4, "
				   "\"sparsity\": 0, \"noise\": \"masking\", \"noise_level\": 0.25, "
				   "\"scaling\": \"minmax\", \"validation_fraction\": 0, \"patience\": 0, "
				   "\"seed\": -7, \"solver\": \"sgd\", \"anomaly_quantile\": 1, \"max_rows\": 1000}",
				   FIT, &err, &ctx);
	CHECK(st == AE_OK && o.arch.latent == 8 && o.arch.n_hidden == 2 && o.arch.hidden[0] == 64 &&
		  o.arch.hidden[1] == 32 && o.arch.activation == AE_ACT_TANH &&
		  o.arch.output_activation == AE_ACT_SIGMOID && o.cfg.epochs == 100 &&
		  o.cfg.batch_size == 32 && o.cfg.learning_rate == 0.0125 && o.cfg.optimizer == AE_OPT_SGD &&
		  o.cfg.weight_decay == 1e-4 && o.cfg.sparsity == 0 && o.cfg.noise == AE_NOISE_MASKING &&
		  o.cfg.noise_level == 0.25 && o.arch.scaling == AE_SCALING_MINMAX &&
		  o.cfg.validation_fraction == 0 && o.cfg.patience == 0 && (int64_t) o.cfg.seed == -7 &&
		  o.solver == AE_SOLVER_SGD && o.anomaly_quantile == 1 && o.max_rows == 1000,
		  "from_json fit: every option of fit() at once (%s)", err.message);
	{
		static const char *const keys[] = {
			"latent_dim", "hidden_units", "activation", "output_activation", "epochs",
			"batch_size", "learning_rate", "optimizer", "weight_decay", "sparsity", "noise",
			"noise_level", "scaling", "validation_fraction", "patience", "seed", "solver",
		"anomaly_quantile", "max_rows", NULL};
		uint64_t	want = 0;

		for (int i = 0; keys[i]; i++)
			want |= UINT64_C(1) << ae_option_index(row(keys[i]));
		CHECK(st == AE_OK && o.given == want,
			  "from_json fit: the given bits are exactly the keys given");
	}

	/* unknown keys: the hint lists the entry point's options */
	st = from_json(&o, "{\"epochs\": 3, \"bogus\": 1}", FIT, &err, &ctx);
	expected_names(FIT, names, sizeof(names));
	snprintf(hint, sizeof(hint), "Valid options are %s.", names);
	CHECK(st == AE_EINVAL && strcmp(err.message, "unknown option \"bogus\"") == 0 &&
		  strcmp(err.hint, hint) == 0,
		  "from_json fit: unknown key, hint \"%s\" (got \"%s\", \"%s\")", hint, err.message, err.hint);
	CHECK(strstr(hint, "max_rows") && !strstr(hint, "deploy") && !strstr(hint, "warm_start"),
		  "fit's list has max_rows, not deploy or warm_start");
	st = from_json(&o, "{\"deploy\": \"never\"}", FIT, &err, &ctx);
	CHECK(st == AE_EINVAL && strcmp(err.message, "unknown option \"deploy\"") == 0 &&
		  strcmp(err.hint, hint) == 0, "from_json fit: deploy is unknown to fit()");
	st = from_json(&o, "{\"warm_start\": true}", FIT, &err, &ctx);
	CHECK(st == AE_EINVAL && strcmp(err.message, "unknown option \"warm_start\"") == 0,
		  "from_json fit: warm_start is unknown to fit()");

	expected_names(TRAIN, names, sizeof(names));
	snprintf(hint, sizeof(hint), "Valid options are %s.", names);
	st = from_json(&o, "{\"max_rows\": 10}", TRAIN, &err, &ctx);
	CHECK(st == AE_EINVAL && strcmp(err.message, "unknown option \"max_rows\"") == 0 &&
		  strcmp(err.hint, hint) == 0,
		  "from_json train: max_rows unknown, hint \"%s\" (got \"%s\")", hint, err.hint);
	CHECK(!strstr(hint, "max_rows") && strstr(hint, "deploy") && strstr(hint, "warm_start"),
		  "train's list has deploy and warm_start, not max_rows");
	st = from_json(&o, "{\"deploy\": \"if_better\", \"warm_start\": true}", TRAIN, &err, &ctx);
	CHECK(st == AE_OK && o.deploy == AE_DEPLOY_IF_BETTER && o.warm_start == 1,
		  "from_json train: deploy and warm_start accepted");
	st = from_json(&o, "{\"Epochs\": 3}", FIT, &err, &ctx);
	CHECK(st == AE_EINVAL && strcmp(err.message, "unknown option \"Epochs\"") == 0,
		  "from_json: keys are case-sensitive");
	{
		char		hint2[sizeof(err.hint)];

		ae_option_unknown("zz", TRAIN, &err);
		memcpy(hint2, err.hint, sizeof(hint2));
		CHECK(strcmp(err.message, "unknown option \"zz\"") == 0 && strcmp(hint2, hint) == 0,
			  "ae_option_unknown: message and train's list");
	}

	/* duplicates, null, empty */
	st = from_json(&o, "{\"epochs\": 5, \"epochs\": 6}", FIT, &err, &ctx);
	CHECK(st == AE_EINVAL && strcmp(err.message, "option \"epochs\" is given twice") == 0,
		  "from_json: a duplicate key is rejected (got \"%s\")", err.message);
	st = from_json(&o, "{\"epochs\": null, \"epochs\": 6}", FIT, &err, &ctx);
	CHECK(st == AE_EINVAL && strcmp(err.message, "option \"epochs\" is given twice") == 0,
		  "from_json: a duplicate is rejected even after null");
	st = from_json(&o, "{\"epochs\": null, \"seed\": null, \"hidden_units\": null, \"solver\": null}",
				   FIT, &err, &ctx);
	CHECK(st == AE_OK && o.given == 0 && o.cfg.epochs == 0 && o.cfg.seed == 42 &&
		  o.arch.n_hidden == 0 && o.solver == AE_SOLVER_SGD,
		  "from_json: null means the default (nothing given)");
	st = from_json(&o, "{}", FIT, &err, &ctx);
	CHECK(st == AE_OK && o.given == 0, "from_json: {} gives nothing");

	/* the root */
	{
		static const char *const roots[] = {"[]", "5", "null", "\"epochs\"", "true", "[{\"epochs\": 3}]"};

		for (size_t k = 0; k < sizeof(roots) / sizeof(roots[0]); k++)
		{
			st = from_json(&o, roots[k], FIT, &err, &ctx);
			CHECK(st == AE_EINVAL && strcmp(err.message, "options must be a JSON object") == 0,
				  "from_json: root %s rejected: options must be a JSON object (got %d \"%s\")",
				  roots[k], (int) st, err.message);
		}
		st = from_json(&o, "{\"epochs\": 3", FIT, &err, &ctx);
		CHECK(st == AE_EFORMAT && strncmp(err.message, "invalid JSON: ", 14) == 0,
			  "from_json: invalid JSON is AE_EFORMAT (%s)", err.message);
	}

	/* bigints from JSON */
	{
		static const struct
		{
			const char *lit;
			int64_t		v;
		}			seeds[] = {
			{"9007199254740993", (INT64_C(1) << 53) + 1},
			{"-9007199254740993", -(INT64_C(1) << 53) - 1},
			{"123456789012345678", INT64_C(123456789012345678)},
			{"1e3", 1000},
			{"1234567890123456789", INT64_C(1234567890123456789)},
			{"-1234567890123456789", -INT64_C(1234567890123456789)},
			{"9223372036854775807", INT64_MAX}};

		for (size_t k = 0; k < sizeof(seeds) / sizeof(seeds[0]); k++)
		{
			char		text[80];

			snprintf(text, sizeof(text), "{\"seed\": %s}", seeds[k].lit);
			st = from_json(&o, text, FIT, &err, &ctx);
			CHECK(st == AE_OK && (int64_t) o.cfg.seed == seeds[k].v,
				  "from_json seed %s exactly (got %d %lld \"%s\")", seeds[k].lit, (int) st,
				  (long long) (int64_t) o.cfg.seed, err.message);
		}
		st = from_json(&o, "{\"seed\": 1.5}", FIT, &err, &ctx);
		CHECK(st == AE_EINVAL && strcmp(err.message, "option \"seed\" must be an integer, not 1.5") == 0,
			  "from_json seed 1.5 rejected (got \"%s\")", err.message);
		st = from_json(&o, "{\"seed\": 99999999999999999999}", FIT, &err, &ctx);
		CHECK(st == AE_EINVAL && o.cfg.seed == 42, "from_json seed 99999999999999999999 (beyond bigint) rejected");
		st = from_json(&o, "{\"max_rows\": 2147483648}", FIT, &err, &ctx);
		CHECK(st == AE_EINVAL && strcmp(err.message, "max_rows must be between 1 and 2147483647, not 2147483648") == 0,
			  "from_json max_rows 2147483648: range message with the literal (got \"%s\")", err.message);
		st = from_json(&o, "{\"epochs\": 100001}", FIT, &err, &ctx);
		CHECK(st == AE_EINVAL && strcmp(err.message, "epochs must be between 1 and 100000, not 100001") == 0,
			  "from_json epochs 100001 (got \"%s\")", err.message);
		st = from_json(&o, "{\"learning_rate\": 1e400}", FIT, &err, &ctx);
		CHECK(st == AE_EINVAL && strcmp(err.message, "learning_rate must be greater than 0 and at most 10, not 1e400") == 0,
			  "from_json learning_rate 1e400 (infinite) rejected with the literal (got \"%s\")", err.message);
	}

	/* hidden layers from JSON */
	st = from_json(&o, "{\"hidden_units\": [1, 2, 3, 4, 5, 6, 7, 8, 9]}", FIT, &err, &ctx);
	CHECK(st == AE_EINVAL && strcmp(err.message, "hidden_units has 9 layers, at most 8 are allowed") == 0,
		  "from_json hidden_units of 9 layers (got \"%s\")", err.message);
	st = from_json(&o, "{\"hidden_units\": [16, 70000]}", FIT, &err, &ctx);
	CHECK(st == AE_EINVAL && strcmp(err.message, "hidden_units must be between 1 and 65535, not 70000") == 0,
		  "from_json hidden_units [16, 70000]: not 70000 (got \"%s\")", err.message);
	st = from_json(&o, "{\"hidden_units\": [16, 0]}", FIT, &err, &ctx);
	CHECK(st == AE_EINVAL && strcmp(err.message, "hidden_units must be between 1 and 65535, not 0") == 0,
		  "from_json hidden_units [16, 0] (got \"%s\")", err.message);
	st = from_json(&o, "{\"hidden_units\": [16, null]}", FIT, &err, &ctx);
	CHECK(st == AE_EINVAL && strcmp(err.message, "option \"hidden_units\" must be an array of integers") == 0,
		  "from_json hidden_units [16, null] (got \"%s\")", err.message);
	st = from_json(&o, "{\"hidden_units\": [8e0, 4.0]}", FIT, &err, &ctx);
	CHECK(st == AE_OK && o.arch.n_hidden == 2 && o.arch.hidden[0] == 8 && o.arch.hidden[1] == 4,
		  "from_json hidden_units [8e0, 4.0]: integer-valued numbers");

	/* allocation failure at every index */
	{
		const char *text = "{\"latent_dim\": 8, \"hidden_units\": [64, 32], \"activation\": \"tanh\", \"seed\": 5}";
		long		total;
		int			bad = 0;

		from_json(&o, text, FIT, &err, &ctx);
		total = ctx.total;
		for (long k = 0; k < total; k++)
		{
			tu_alloc_ctx c;
			ae_allocator a = tu_allocator(&c, k);

			ae_options_default(&o);
			st = ae_options_from_json(&o, text, strlen(text), FIT, &a, &err);
			if (st != AE_ENOMEM || c.live != 0)
				bad++;
		}
		CHECK(total >= 1 && bad == 0,
			  "from_json: failure at each of %ld allocations gives AE_ENOMEM, no leak (%d not)",
			  total, bad);
	}
	CHECK(ctx.live == 0, "from_json: no live blocks (%ld live)", ctx.live);
}

/* ====================================================================== */
/* 4. Check and resolve                                                    */
/* ====================================================================== */

/* Defaults plus the JSON options at train(), then ae_options_check. */
static ae_status
check_json(ae_options *o, const char *json, ae_error *err)
{
	tu_alloc_ctx ctx;
	ae_status	st = from_json(o, json, TRAIN, err, &ctx);

	if (st != AE_OK)
	{
		printf("    setup failed: %s\n", err->message);
		return AE_EFORMAT;
	}
	return ae_options_check(o, err);
}

static void
test_check_resolve(void)
{
	ae_options	o;
	ae_error	err = {0};
	ae_status	st;
	const char *exact_msg = "the exact solver takes no hidden_units, noise, weight_decay, sparsity or sigmoid output";

	st = check_json(&o, "{}", &err);
	CHECK(st == AE_OK && o.solver == AE_SOLVER_SGD && o.arch.output_activation == AE_ACT_LINEAR,
		  "check: defaults: sgd, output linear");
	CHECK(o.arch.residual && o.arch.n_hidden == 1 && o.arch.hidden[0] == AE_DEFAULT_HIDDEN &&
		  o.cfg.epochs == 0, "check: defaults: residual, hidden_units {256}, automatic epochs");
	st = check_json(&o, "{\"scaling\": \"minmax\"}", &err);
	CHECK(st == AE_OK && o.solver == AE_SOLVER_SGD && o.arch.output_activation == AE_ACT_LINEAR &&
		  o.arch.residual, "check: minmax: residual, output linear");
	st = check_json(&o, "{\"scaling\": \"minmax\", \"residual\": false}", &err);
	CHECK(st == AE_OK && o.solver == AE_SOLVER_SGD && o.arch.output_activation == AE_ACT_SIGMOID &&
		  o.arch.n_hidden == 0, "check: minmax without residual: output sigmoid, no hidden layers");
	st = check_json(&o, "{\"scaling\": \"minmax\", \"output_activation\": \"linear\"}", &err);
	CHECK(st == AE_OK && o.arch.output_activation == AE_ACT_LINEAR,
		  "check: minmax with output linear given keeps linear");
	st = check_json(&o, "{\"scaling\": \"none\", \"output_activation\": \"sigmoid\"}", &err);
	CHECK(st == AE_OK && o.arch.output_activation == AE_ACT_SIGMOID,
		  "check: output sigmoid given keeps sigmoid");
	st = check_json(&o, "{\"activation\": \"linear\"}", &err);
	CHECK(st == AE_OK && o.solver == AE_SOLVER_EXACT && o.arch.output_activation == AE_ACT_LINEAR,
		  "check: activation linear: exact solver");
	st = check_json(&o, "{\"activation\": \"linear\", \"scaling\": \"minmax\"}", &err);
	CHECK(st == AE_OK && o.solver == AE_SOLVER_EXACT && o.arch.output_activation == AE_ACT_LINEAR,
		  "check: exact with minmax: output stays linear");
	st = check_json(&o, "{\"activation\": \"linear\", \"solver\": \"sgd\", \"scaling\": \"minmax\"}", &err);
	CHECK(st == AE_OK && o.solver == AE_SOLVER_SGD && o.arch.output_activation == AE_ACT_SIGMOID,
		  "check: linear with solver sgd given: sgd, output by scaling");
	st = check_json(&o, "{\"activation\": \"linear\", \"output_activation\": \"linear\"}", &err);
	CHECK(st == AE_OK && o.solver == AE_SOLVER_EXACT, "check: exact with output linear given");

	st = check_json(&o, "{\"solver\": \"exact\"}", &err);
	CHECK(st == AE_EINVAL && strcmp(err.message, "solver exact needs activation linear") == 0 &&
		  strstr(err.hint, "PCA") != NULL, "check: exact with relu rejected (got \"%s\")", err.message);
	{
		static const char *const bad[] = {
			"{\"activation\": \"linear\", \"hidden_units\": [4]}",
			"{\"activation\": \"linear\", \"noise\": \"gaussian\"}",
			"{\"activation\": \"linear\", \"noise\": \"masking\"}",
			"{\"activation\": \"linear\", \"weight_decay\": 0.1}",
			"{\"activation\": \"linear\", \"sparsity\": 0.1}",
			"{\"activation\": \"linear\", \"output_activation\": \"sigmoid\"}",
			"{\"activation\": \"linear\", \"solver\": \"exact\", \"hidden_units\": [4, 2]}"};

		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		{
			st = check_json(&o, bad[k], &err);
			CHECK(st == AE_EINVAL && strcmp(err.message, exact_msg) == 0 &&
				  strstr(err.hint, "solver => 'sgd'") != NULL,
				  "check: %s rejected for the exact solver (got \"%s\")", bad[k], err.message);
		}
	}
	st = check_json(&o, "{\"activation\": \"linear\", \"warm_start\": true}", &err);
	CHECK(st == AE_EINVAL && strcmp(err.message, "warm_start needs gradient training") == 0,
		  "check: exact with warm_start rejected (got \"%s\")", err.message);
	st = check_json(&o, "{\"activation\": \"linear\", \"solver\": \"sgd\", \"warm_start\": true, "
					"\"hidden_units\": [4], \"noise\": \"gaussian\"}", &err);
	CHECK(st == AE_OK, "check: linear sgd takes hidden_units, noise and warm_start");

	st = check_json(&o, "{\"noise\": \"masking\", \"noise_level\": 1}", &err);
	CHECK(st == AE_EINVAL && strcmp(err.message, "noise_level must be below 1 for masking, not 1") == 0,
		  "check: masking with noise_level 1 rejected (got \"%s\")", err.message);
	st = check_json(&o, "{\"noise\": \"masking\", \"noise_level\": 0.999}", &err);
	CHECK(st == AE_OK, "check: masking with noise_level 0.999 accepted");
	st = check_json(&o, "{\"noise\": \"gaussian\", \"noise_level\": 5}", &err);
	CHECK(st == AE_OK, "check: gaussian with noise_level 5 accepted");

	st = check_json(&o, "{\"deploy\": \"if_better\", \"validation_fraction\": 0}", &err);
	CHECK(st == AE_EINVAL && strcmp(err.message, "deploy => 'if_better' needs validation rows") == 0 &&
		  strcmp(err.hint, "Set validation_fraction above 0.") == 0,
		  "check: if_better without validation rows rejected (got \"%s\")", err.message);
	st = check_json(&o, "{\"deploy\": \"if_better\", \"validation_fraction\": 0.01}", &err);
	CHECK(st == AE_OK, "check: if_better with validation rows accepted");
	st = check_json(&o, "{\"deploy\": \"if_better\", \"validation_fraction\": 0, \"activation\": \"linear\"}", &err);
	CHECK(st == AE_OK, "check: if_better with the exact solver needs no validation rows");

	/* resolve */
	{
		static const struct
		{
			int			d,
						latent;
		}			cases[] = {{1, 1}, {5, 5}, {16, 16}, {17, 16}, {100, 16}, {AE_MAX_DIM, 16}};

		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
		{
			ae_options_default(&o);
			st = ae_options_check(&o, &err);
			if (st == AE_OK)
				st = ae_options_resolve(&o, cases[k].d, &err);
			CHECK(st == AE_OK && o.arch.latent == cases[k].latent && o.arch.n_input == cases[k].d,
				  "resolve: latent_dim not given, d = %d: latent %d (got %d, %s)", cases[k].d,
				  cases[k].latent, o.arch.latent, err.message);
		}
	}
	st = check_json(&o, "{\"latent_dim\": 8}", &err);
	st = st ? st : ae_options_resolve(&o, 4, &err);
	CHECK(st == AE_EINVAL && strcmp(err.message, "latent_dim 8 is larger than the input dimension 4") == 0 &&
		  strstr(err.hint, "at most 4") != NULL,
		  "resolve: latent 8 > d 4 rejected (got \"%s\", \"%s\")", err.message, err.hint);
	st = check_json(&o, "{\"latent_dim\": 4}", &err);
	st = st ? st : ae_options_resolve(&o, 4, &err);
	CHECK(st == AE_OK && o.arch.latent == 4, "resolve: latent == d accepted");
	st = check_json(&o, "{\"latent_dim\": 3}", &err);
	st = st ? st : ae_options_resolve(&o, 100, &err);
	CHECK(st == AE_OK && o.arch.latent == 3, "resolve: a given latent_dim is kept");

	st = check_json(&o, "{\"activation\": \"linear\"}", &err);
	st = st ? st : ae_options_resolve(&o, AE_MAX_PCA_DIM + 1, &err);
	CHECK(st == AE_ELIMIT && err.status == AE_ELIMIT &&
		  strcmp(err.message, "the exact solver handles at most 8192 dimensions, not 8193") == 0 &&
		  strstr(err.hint, "solver => 'sgd'") != NULL,
		  "resolve: exact solver with d = 8193 is AE_ELIMIT (got %d \"%s\")", (int) st, err.message);
	st = check_json(&o, "{\"activation\": \"linear\"}", &err);
	st = st ? st : ae_options_resolve(&o, AE_MAX_PCA_DIM, &err);
	CHECK(st == AE_OK, "resolve: exact solver with d = 8192 accepted");
	st = check_json(&o, "{\"activation\": \"linear\", \"solver\": \"sgd\"}", &err);
	st = st ? st : ae_options_resolve(&o, AE_MAX_PCA_DIM + 1, &err);
	CHECK(st == AE_OK, "resolve: sgd with d = 8193 accepted");
	st = check_json(&o, "{}", &err);
	st = st ? st : ae_options_resolve(&o, AE_MAX_DIM + 1, &err);
	CHECK(st == AE_ELIMIT && err.message[0] != '\0',
		  "resolve: d = 65536 is AE_ELIMIT (got %d \"%s\")", (int) st, err.message);
	st = check_json(&o, "{\"hidden_units\": [65535, 65535, 65535]}", &err);
	st = st ? st : ae_options_resolve(&o, 1000, &err);
	CHECK(st == AE_ELIMIT, "resolve: more than 2^28 parameters is AE_ELIMIT (%s)", err.message);
}

/*
 * The residual network's resolution: automatic on unless ruled out, off
 * with today's defaults, given true with a conflict an error with a hint;
 * its defaults (hidden_units, output activation); the similarity checks.
 */
static void
test_residual_resolve(void)
{
	ae_options	o;
	ae_error	err = {0};
	ae_status	st;

	st = check_json(&o, "{\"hidden_units\": [32, 8]}", &err);
	CHECK(st == AE_OK && o.arch.residual && o.arch.n_hidden == 2 && o.arch.hidden[1] == 8,
		  "residual: on with hidden_units given, which are kept");
	st = check_json(&o, "{\"hidden_units\": []}", &err);
	CHECK(st == AE_OK && o.arch.residual && o.arch.n_hidden == 0 && ae_options_code_linear(&o),
		  "residual: on without hidden layers (the linear autoencoder started at PCA), code linear");
	st = check_json(&o, "{\"output_activation\": \"sigmoid\"}", &err);
	CHECK(st == AE_OK && !o.arch.residual && o.arch.n_hidden == 0 &&
		  o.arch.output_activation == AE_ACT_SIGMOID && !ae_options_code_linear(&o),
		  "residual: off with output sigmoid given, hidden_units none");
	st = check_json(&o, "{\"activation\": \"linear\"}", &err);
	CHECK(st == AE_OK && !o.arch.residual && o.solver == AE_SOLVER_EXACT && o.arch.n_hidden == 0,
		  "residual: off with activation linear (the exact solver)");
	st = check_json(&o, "{\"activation\": \"linear\", \"solver\": \"sgd\"}", &err);
	CHECK(st == AE_OK && !o.arch.residual, "residual: off with activation linear and solver sgd");
	st = check_json(&o, "{\"residual\": false, \"scaling\": \"minmax\", \"activation\": \"tanh\"}", &err);
	CHECK(st == AE_OK && !o.arch.residual && o.arch.n_hidden == 0 &&
		  o.arch.output_activation == AE_ACT_SIGMOID,
		  "residual: false given: no hidden layers, sigmoid with minmax (as before it existed)");
	st = check_json(&o, "{\"residual\": true, \"activation\": \"linear\", \"solver\": \"sgd\"}", &err);
	CHECK(st == AE_OK && o.arch.residual && o.arch.n_hidden == 1,
		  "residual: true given with a linear activation trained by sgd");

	st = check_json(&o, "{\"residual\": true, \"output_activation\": \"sigmoid\"}", &err);
	CHECK(st == AE_EINVAL &&
		  strcmp(err.message, "the residual network starts at PCA and needs a linear output") == 0 &&
		  strstr(err.hint, "residual => false") != NULL,
		  "residual: true with output sigmoid rejected (got \"%s\" / \"%s\")", err.message, err.hint);
	st = check_json(&o, "{\"residual\": true, \"activation\": \"linear\"}", &err);
	CHECK(st == AE_EINVAL && strcmp(err.message, "residual needs gradient training") == 0 &&
		  strstr(err.hint, "solver => 'sgd'") != NULL,
		  "residual: true with the exact solver rejected (got \"%s\")", err.message);

	st = check_json(&o, "{\"scaling\": \"minmax\"}", &err);
	st = st ? st : ae_options_resolve(&o, AE_MAX_PCA_DIM + 1, &err);
	CHECK(st == AE_OK && !o.arch.residual && o.arch.n_hidden == 0 &&
		  o.arch.output_activation == AE_ACT_SIGMOID,
		  "residual: off above %d dimensions, with the defaults of no residual", AE_MAX_PCA_DIM);
	st = check_json(&o, "{\"residual\": true}", &err);
	st = st ? st : ae_options_resolve(&o, AE_MAX_PCA_DIM + 1, &err);
	CHECK(st == AE_ELIMIT &&
		  strcmp(err.message, "the residual network handles at most 8192 dimensions, not 8193") == 0 &&
		  strstr(err.hint, "residual => false") != NULL,
		  "residual: true above 8192 dimensions is AE_ELIMIT (got \"%s\")", err.message);
	st = check_json(&o, "{}", &err);
	st = st ? st : ae_options_resolve(&o, AE_MAX_PCA_DIM, &err);
	CHECK(st == AE_OK && o.arch.residual, "residual: on at 8192 dimensions");

	/* a warm start from a version without it */
	st = check_json(&o, "{\"scaling\": \"minmax\"}", &err);
	st = st ? st : ae_options_resolve(&o, 8, &err);
	st = st ? st : ae_options_residual_off(&o, &err);
	CHECK(st == AE_OK && !o.arch.residual && o.arch.n_hidden == 0 &&
		  o.arch.output_activation == AE_ACT_SIGMOID,
		  "residual_off: automatic residual off, its defaults follow");
	st = check_json(&o, "{\"residual\": true}", &err);
	st = st ? st : ae_options_resolve(&o, 8, &err);
	st = st ? st : ae_options_residual_off(&o, &err);
	CHECK(st == AE_EINVAL && strstr(err.message, "warm_start needs the deployed version to have the residual network") &&
		  err.hint[0] != '\0', "residual_off: residual true given is an error (got \"%s\")", err.message);

	/* the similarity term */
	st = check_json(&o, "{\"similarity_weight\": 1, \"batch_size\": 1}", &err);
	CHECK(st == AE_EINVAL && strcmp(err.message, "similarity_weight needs a batch_size of at least 2") == 0,
		  "similarity: batch_size 1 rejected (got \"%s\")", err.message);
	st = check_json(&o, "{\"similarity_weight\": 1, \"activation\": \"linear\"}", &err);
	CHECK(st == AE_EINVAL && strcmp(err.message, "similarity_weight needs gradient training") == 0 &&
		  strstr(err.hint, "solver => 'sgd'") != NULL,
		  "similarity: the exact solver rejected (got \"%s\")", err.message);
	st = check_json(&o, "{\"similarity_weight\": 1, \"batch_size\": 2, \"similarity_temperature\": 0.5}", &err);
	CHECK(st == AE_OK && o.cfg.similarity_weight == 1.0 && o.cfg.similarity_temperature == 0.5,
		  "similarity: weight and temperature set");
}

/* ====================================================================== */
/* 5. ae_options_json                                                      */
/* ====================================================================== */

/* Non-default values for every option, checked and resolved for d = 10. */
static void
rich_options(ae_options *o)
{
	ae_error	err = {0};
	int64_t		units[2] = {32, 16};

	ae_options_default(o);
	ae_option_set_number(o, row("latent_dim"), 3, NULL, &err);
	ae_option_set_units(o, row("hidden_units"), units, 2, &err);
	ae_option_set_text(o, row("activation"), "tanh", &err);
	ae_option_set_text(o, row("output_activation"), "sigmoid", &err);
	ae_option_set_number(o, row("epochs"), 7, NULL, &err);
	ae_option_set_number(o, row("batch_size"), 64, NULL, &err);
	ae_option_set_number(o, row("learning_rate"), 0.1 + 0.2, NULL, &err);
	ae_option_set_text(o, row("optimizer"), "sgd", &err);
	ae_option_set_number(o, row("weight_decay"), 1.0 / 3.0, NULL, &err);
	ae_option_set_number(o, row("sparsity"), 1e-7, NULL, &err);
	ae_option_set_text(o, row("noise"), "gaussian", &err);
	ae_option_set_number(o, row("noise_level"), 0.3, NULL, &err);
	ae_option_set_text(o, row("scaling"), "minmax", &err);
	ae_option_set_number(o, row("validation_fraction"), 0.25, NULL, &err);
	ae_option_set_number(o, row("patience"), 3, NULL, &err);
	ae_option_set_bigint(o, row("seed"), (INT64_C(1) << 53) + 1, &err);
	ae_option_set_text(o, row("solver"), "sgd", &err);
	ae_option_set_text(o, row("deploy"), "if_better", &err);
	ae_option_set_bool(o, row("warm_start"), 1, &err);
	ae_option_set_number(o, row("anomaly_quantile"), 0.95, NULL, &err);
	ae_option_set_bigint(o, row("max_rows"), 5000, &err);
}

/* Write o's options at where into a JSON object. */
static char *
options_text(const ae_options *o, int where, int given_only, ae_allocator *al)
{
	ae_json		j;

	ae_json_init(&j, al);
	ae_json_object_begin(&j, NULL);
	ae_options_json(&j, o, where, given_only);
	ae_json_object_end(&j);
	return ae_json_finish(&j, NULL);
}

/* Whether every option accepted at where has the same value in a and b. */
static int
same_options(const ae_options *a, const ae_options *b, int where, char *why, size_t len)
{
	for (int i = 0; i < N_EXPECTED; i++)
	{
		const exp_row *e = &expected[i];

		if (!(e->where & where))
			continue;
		if (field(a, e->name) != field(b, e->name) ||
			(strcmp(e->name, "seed") == 0 && a->cfg.seed != b->cfg.seed) ||
			(strcmp(e->name, "max_rows") == 0 && a->max_rows != b->max_rows))
		{
			snprintf(why, len, "%s: %.17g vs %.17g", e->name, field(a, e->name), field(b, e->name));
			return 0;
		}
		if (e->type == AE_OT_UNITS &&
			memcmp(a->arch.hidden, b->arch.hidden, sizeof(int) * a->arch.n_hidden) != 0)
		{
			snprintf(why, len, "hidden units");
			return 0;
		}
	}
	snprintf(why, len, "equal");
	return 1;
}

static void
test_options_json(void)
{
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_options	o;
	ae_error	err = {0};

	rich_options(&o);
	CHECK(ae_options_check(&o, &err) == AE_OK && ae_options_resolve(&o, 10, &err) == AE_OK,
		  "options json: non-default options check and resolve (%s)", err.message);

	for (int w = 0; w < 2; w++)
	{
		int			where = w ? FIT : TRAIN;
		const char *wn = w ? "fit" : "train";
		char	   *text = options_text(&o, where, 0, &al);
		ae_jdoc		doc;
		ae_options	back;
		char		why[128];

		if (!CHECK(text != NULL, "options json %s: written", wn))
			continue;
		if (CHECK(ae_json_parse(&doc, text, strlen(text), &al, &err) == AE_OK &&
				  doc.root->type == AE_JOBJECT, "options json %s: parses as an object", wn))
		{
			int			k = 0,
						order = 1,
						values = 1;

			for (int i = 0; i < N_EXPECTED; i++)
			{
				const exp_row *e = &expected[i];
				const ae_jv *v;

				if (!(e->where & where))
					continue;
				if (k >= doc.root->n || strcmp(doc.root->keys[k], e->name) != 0)
					order = 0;
				k++;
				v = ae_json_get(doc.root, e->name);
				if (v == NULL)
				{
					values = 0;
					continue;
				}
				switch (e->type)
				{
					case AE_OT_INT:
					case AE_OT_FLOAT:
						values &= v->type == AE_JNUMBER && v->num == field(&o, e->name);
						break;
					case AE_OT_BIGINT:
						values &= v->type == AE_JNUMBER &&
							strtoll(v->text, NULL, 10) ==
							(strcmp(e->name, "seed") == 0 ? (int64_t) o.cfg.seed : o.max_rows);
						break;
					case AE_OT_ENUM:
						values &= v->type == AE_JSTRING &&
							strcmp(v->text, ae_choice_name(row(e->name)->choices,
														   (int) field(&o, e->name))) == 0;
						break;
					case AE_OT_BOOL:
						values &= v->type == (field(&o, e->name) ? AE_JTRUE : AE_JFALSE);
						break;
					case AE_OT_UNITS:
						values &= v->type == AE_JARRAY && v->n == 2 && v->items[0].num == 32 &&
							v->items[1].num == 16;
						break;
				}
			}
			CHECK(order && k == doc.root->n,
				  "options json %s: exactly the %d options of %s(), in table order", wn, k, wn);
			CHECK(values, "options json %s: every value is the resolved one (seed exact)", wn);
			ae_json_doc_free(&doc);
		}
		ae_options_default(&back);
		ae_error_clear(&err);
		CHECK(ae_options_from_json(&back, text, strlen(text), where, &al, &err) == AE_OK &&
			  same_options(&o, &back, where, why, sizeof(why)),
			  "options json %s: reads back through ae_options_from_json equal (%s; %s)", wn,
			  why, err.message);
		al.release(al.ctx, text);
	}

	/* given_only: just what the caller gave */
	{
		ae_options	g;
		char	   *text;

		ae_options_default(&g);
		ae_option_set_number(&g, row("epochs"), 9, NULL, &err);
		ae_option_set_bigint(&g, row("seed"), -3, &err);
		ae_option_set_text(&g, row("deploy"), "never", &err);
		text = options_text(&g, FIT, 1, &al);
		CHECK(text && strcmp(text, "{\"epochs\": 9, \"seed\": -3}") == 0,
			  "options json fit given_only: {\"epochs\": 9, \"seed\": -3} (got %s)", text ? text : "NULL");
		if (text)
			al.release(al.ctx, text);
		text = options_text(&g, TRAIN, 1, &al);
		CHECK(text && strcmp(text, "{\"epochs\": 9, \"seed\": -3, \"deploy\": \"never\"}") == 0,
			  "options json train given_only (got %s)", text ? text : "NULL");
		if (text)
			al.release(al.ctx, text);
	}

	/* exactness of a 19-digit seed through the JSON round trip */
	{
		ae_options	s,
					back;
		char	   *text;
		ae_status	st;

		ae_options_default(&s);
		ae_option_set_bigint(&s, row("seed"), INT64_C(1234567890123456789), &err);
		text = options_text(&s, FIT, 1, &al);
		ae_options_default(&back);
		st = text ? ae_options_from_json(&back, text, strlen(text), FIT, &al, &err) : AE_ENOMEM;
		CHECK(st == AE_OK && back.cfg.seed == s.cfg.seed,
			  "options json: seed 1234567890123456789 survives the round trip (got %lld from %s)",
			  (long long) (int64_t) back.cfg.seed, text ? text : "NULL");
		if (text)
			al.release(al.ctx, text);
	}

	/* defaults resolved for d = 5: the round trip too */
	{
		ae_options	dflt,
					back;
		char	   *text;
		char		why[128];

		ae_options_default(&dflt);
		ae_options_check(&dflt, &err);
		ae_options_resolve(&dflt, 5, &err);
		dflt.max_rows = 100;	/* resolved by the caller */
		text = options_text(&dflt, FIT, 0, &al);
		ae_options_default(&back);
		CHECK(text && ae_options_from_json(&back, text, strlen(text), FIT, &al, &err) == AE_OK &&
			  same_options(&dflt, &back, FIT, why, sizeof(why)),
			  "options json: resolved defaults read back equal (%s %s)", why, err.message);
		if (text)
			al.release(al.ctx, text);
	}
	CHECK(ctx.live == 0, "options json: no live blocks (%ld live)", ctx.live);
}

/* ====================================================================== */
/* 6. ae_train_config_check                                                */
/* ====================================================================== */

/* Store v in the cfg field of a named option; 0 if not a cfg option. */
static int
set_cfg(ae_train_config *c, const char *name, double v)
{
#define S(n, f, T) if (strcmp(name, n) == 0) { c->f = (T) v; return 1; }
/* an enum through int: -1.0 straight to an unsigned enum is undefined */
#define SE(n, f, T) if (strcmp(name, n) == 0) { c->f = (T) (int) v; return 1; }
	S("epochs", epochs, int);
	S("batch_size", batch_size, int);
	S("learning_rate", learning_rate, double);
	SE("optimizer", optimizer, ae_optimizer);
	S("weight_decay", weight_decay, double);
	S("sparsity", sparsity, double);
	S("similarity_weight", similarity_weight, double);
	if (strcmp(name, "similarity_temperature") == 0)
		c->similarity_weight = 1.0;		/* checked only with the term on */
	S("similarity_temperature", similarity_temperature, double);
	SE("noise", noise, ae_noise);
	S("noise_level", noise_level, double);
	S("validation_fraction", validation_fraction, double);
	S("patience", patience, int);
#undef S
#undef SE
	return 0;
}

static void
test_train_config_check(void)
{
	int			rows_tested = 0;

	for (int i = 0; i < N_EXPECTED; i++)
	{
		const exp_row *e = &expected[i];
		double		vals[12];
		int			nv = 0,
					agree = 1;
		ae_train_config probe;

		if (!set_cfg(&probe, e->name, 0))
			continue;
		rows_tested++;
		if (e->type == AE_OT_ENUM)
		{
			for (int v = -1; v <= 4; v++)
				vals[nv++] = v;
		}
		else
		{
			int			is_int = e->type == AE_OT_INT;

			vals[nv++] = e->lo;
			vals[nv++] = is_int ? e->lo - 1 : nextafter(e->lo, -INFINITY);
			vals[nv++] = is_int ? e->lo + 1 : nextafter(e->lo, INFINITY);
			vals[nv++] = e->hi;
			vals[nv++] = is_int ? e->hi + 1 : nextafter(e->hi, INFINITY);
			vals[nv++] = is_int ? e->hi - 1 : nextafter(e->hi, -INFINITY);
			vals[nv++] = is_int ? floor((e->lo + e->hi) / 2) : (e->lo + e->hi) / 2;
			if (!is_int)
			{
				vals[nv++] = NAN;
				vals[nv++] = INFINITY;
				vals[nv++] = -INFINITY;
			}
		}
		for (int k = 0; k < nv; k++)
		{
			ae_train_config c = tu_config();
			ae_options	o;
			ae_error	err = {0};
			ae_status	a,
						b;

			c.noise_level = 0.1;
			set_cfg(&c, e->name, vals[k]);
			a = ae_train_config_check(&c, &err);
			ae_options_default(&o);
			if (e->type == AE_OT_ENUM)
			{
				int			v = (int) vals[k];

				b = (v >= 0 && v < 32 && (row(e->name)->allowed >> v) & 1) ? AE_OK : AE_EINVAL;
			}
			else
				b = ae_option_set_number(&o, row(e->name), vals[k], NULL, &err);
			if (strcmp(e->name, "epochs") == 0 && vals[k] == 0)
				b = AE_OK;		/* a configuration's epochs 0 is automatic */
			if (a != b)
			{
				agree = 0;
				printf("    %s = %.17g: config check %d, setter %d\n", e->name, vals[k], (int) a, (int) b);
			}
		}
		CHECK(agree, "train_config_check agrees with the table on %s (%d values)", e->name, nv);
	}
	CHECK(rows_tested == 12, "train_config_check: the 12 rows of the configuration were probed (%d)",
		  rows_tested);
	{
		ae_train_config c = tu_config();
		ae_error	err = {0};

		c.noise = AE_NOISE_MASKING;
		c.noise_level = 1.0;
		CHECK(ae_train_config_check(&c, &err) == AE_EINVAL &&
			  strcmp(err.message, "noise_level must be below 1 for masking, not 1") == 0,
			  "train_config_check: masking with level 1 rejected (got \"%s\")", err.message);
		c.noise_level = 0.5;
		CHECK(ae_train_config_check(&c, &err) == AE_OK, "train_config_check: masking with level 0.5 accepted");
		c = tu_config();
		c.epochs = -1;
		CHECK(ae_train_config_check(&c, NULL) == AE_EINVAL, "train_config_check: NULL error allowed");
		c.epochs = 0;
		CHECK(ae_train_config_check(&c, &err) == AE_OK, "train_config_check: epochs 0 is automatic");
		c = tu_config();
		c.seed = UINT64_MAX;
		CHECK(ae_train_config_check(&c, &err) == AE_OK, "train_config_check: any seed");
	}
}

/* ====================================================================== */

/* Run this program's checks; exit status 1 if any failed. */
int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);

	test_table();
	test_set_numbers();
	test_set_text();
	test_set_units();
	test_set_bigint();
	test_json_types();
	test_json_misc();
	test_check_resolve();
	test_residual_resolve();
	test_options_json();
	test_train_config_check();

	return tu_finish();
}
