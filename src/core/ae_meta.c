/*-------------------------------------------------------------------------
 *
 * ae_meta.c
 *	  A model's metadata: the describe() document and what save() may
 *	  trust of it.
 *
 * The metadata inside a model is a JSON object written by ae_build: the
 * model's name, its configuration and its deterministic training figures.
 * A model value can come from anywhere (a hex literal, COPY), so its
 * metadata is only text that parsed as a JSON object: describe() prints the
 * facts computed from the model itself first and skips any metadata member
 * of the same name (computed keys win), and save() keeps only the training
 * figures it knows, each of the expected JSON type.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_meta.h"
#include "ae_pipeline.h"

#include <math.h>
#include <string.h>

/* Keys describe() computes; metadata members of these names are skipped. */
static const char *const computed_keys[] = {
	"format_version", "size_bytes", "parameters", "input_dim", "latent_dim",
	"hidden_units", "activation", "output_activation", "scaling",
	"architecture", "skip", "feature_scaling", NULL};

/* Training figures save() keeps, with their JSON type. */
typedef enum
{
	K_NUMBER,					/* a number or null */
	K_COUNT,					/* a non-negative integer below 2^53, or null */
	K_BOOL,
	K_NUMBERS,					/* an array of numbers */
	K_CURVE						/* an array of objects of numbers */
} kind;

static const struct
{
	const char *key;
	kind		k;
}			training_keys[] = {
	{"rows_used", K_COUNT}, {"rows_skipped", K_COUNT}, {"rows_read", K_COUNT},
	{"sampled", K_BOOL}, {"train_rows", K_COUNT}, {"validation_rows", K_COUNT},
	{"epochs_run", K_COUNT}, {"best_epoch", K_COUNT}, {"stopped_early", K_BOOL},
	{"steps", K_COUNT}, {"pca_validation_loss", K_NUMBER},
	{"final_train_loss", K_NUMBER}, {"final_validation_loss", K_NUMBER},
	{"anomaly_threshold", K_NUMBER}, {"explained_variance_ratio", K_NUMBERS},
	{"seconds", K_NUMBER}, {"loss_curve", K_CURVE}, {NULL, K_NUMBER}};

/* The error distribution: AE_QUANTILES numbers, ascending. */
static int
quantiles_of(const ae_jv *tr, double *out)
{
	const ae_jv *q = tr ? ae_json_get(tr, "error_quantiles") : NULL;

	if (q == NULL || q->type != AE_JARRAY || q->n != AE_QUANTILES)
		return 0;
	for (int i = 0; i < AE_QUANTILES; i++)
	{
		if (q->items[i].type != AE_JNUMBER || !isfinite(q->items[i].num) ||
			q->items[i].num < 0 || (i > 0 && q->items[i].num < out[i - 1]))
			return 0;
		out[i] = q->items[i].num;
	}
	return 1;
}

/* Whether key is one describe() computes. */
static int
is_computed(const char *key)
{
	for (int i = 0; computed_keys[i]; i++)
		if (strcmp(computed_keys[i], key) == 0)
			return 1;
	return 0;
}

/* Whether every number in v and below is finite (1e999 parses as inf). */
static int
all_finite(const ae_jv *v)
{
	if (v->type == AE_JNUMBER)
		return isfinite(v->num);
	for (int i = 0; (v->type == AE_JARRAY || v->type == AE_JOBJECT) && i < v->n; i++)
		if (!all_finite(&v->items[i]))
			return 0;
	return 1;
}

/*
 * Parse m's metadata: AE_OK with an object root whose numbers are all
 * finite; AE_EFORMAT if it is not an object, AE_EINVAL if a number is not
 * finite (nothing downstream, jsonb included, has to cope with one).
 */
ae_status
ae_meta_parse(const ae_model *m, const ae_allocator *alloc, ae_jdoc *doc)
{
	ae_status	st;

	if (m->meta_len == 0)
		st = ae_json_parse(doc, "{}", 2, alloc, NULL);
	else
		st = ae_json_parse(doc, m->meta, m->meta_len, alloc, NULL);
	if (st != AE_OK)
		return st;
	st = doc->root->type != AE_JOBJECT ? AE_EFORMAT :
		!all_finite(doc->root) ? AE_EINVAL : AE_OK;
	if (st != AE_OK)
		ae_json_doc_free(doc);
	return st;
}

/* A float vector as a JSON array member. */
static void
float_array(ae_json *j, const char *key, const float *v, int n)
{
	ae_json_array_begin(j, key);
	for (int i = 0; i < n; i++)
		ae_json_float(j, NULL, v[i]);
	ae_json_array_end(j);
}

/*
 * What the network is: "pca_residual" (the mirrored MLP with PCA skip
 * paths), "linear" (no hidden layers and a linear code, PCA or started at
 * it) or "mlp".
 */
static const char *
architecture_name(const ae_model *m)
{
	if (AE_HAS_SKIP(m))
		return "pca_residual";
	if (m->arch.n_hidden == 0 &&
		(m->arch.residual || m->arch.activation == AE_ACT_LINEAR) &&
		m->arch.output_activation == AE_ACT_LINEAR)
		return "linear";
	return "mlp";
}

/* The describe() document of m (size_bytes: its serialized size). */
char *
ae_model_describe(const ae_model *m, size_t size_bytes, const ae_allocator *alloc)
{
	const ae_arch *a = &m->arch;
	ae_json		j;
	ae_jdoc		doc;

	ae_json_init(&j, alloc);
	ae_json_object_begin(&j, NULL);
	ae_json_integer(&j, "format_version", ae_model_format_version(m));
	ae_json_integer(&j, "size_bytes", (int64_t) size_bytes);
	ae_json_integer(&j, "parameters", (int64_t) m->n_params);
	ae_json_integer(&j, "input_dim", a->n_input);
	ae_json_integer(&j, "latent_dim", a->latent);
	ae_json_array_begin(&j, "hidden_units");
	for (int i = 0; i < a->n_hidden; i++)
		ae_json_integer(&j, NULL, a->hidden[i]);
	ae_json_array_end(&j);
	ae_json_string(&j, "activation", ae_activation_name(a->activation));
	ae_json_string(&j, "output_activation", ae_activation_name(a->output_activation));
	ae_json_string(&j, "scaling", ae_scaling_name(a->scaling));
	ae_json_string(&j, "architecture", architecture_name(m));
	if (AE_HAS_SKIP(m))
	{
		/* the linear paths around the MLP: (out, in) like every W */
		ae_json_object_begin(&j, "skip");
		ae_json_array_begin(&j, "encoder");
		ae_json_integer(&j, NULL, a->latent);
		ae_json_integer(&j, NULL, a->n_input);
		ae_json_array_end(&j);
		ae_json_array_begin(&j, "decoder");
		ae_json_integer(&j, NULL, a->n_input);
		ae_json_integer(&j, NULL, a->latent);
		ae_json_array_end(&j);
		ae_json_object_end(&j);
	}
	ae_json_object_begin(&j, "feature_scaling");

	float_array(&j, "shift", m->shift, a->n_input);
	float_array(&j, "scale", m->scale, a->n_input);
	float_array(&j, "min", m->lo, a->n_input);
	float_array(&j, "max", m->hi, a->n_input);
	ae_json_object_end(&j);
	switch (ae_meta_parse(m, alloc, &doc))
	{
		case AE_OK:
			for (int i = 0; i < doc.root->n; i++)
				if (!is_computed(doc.root->keys[i]))
					ae_json_raw(&j, doc.root->keys[i], doc.root->items[i].raw,
								doc.root->items[i].raw_len);
			ae_json_doc_free(&doc);
			break;
		case AE_ENOMEM:
			ae_json_discard(&j);
			return NULL;
		default:
			break;				/* not an object: only the computed facts */
	}
	ae_json_object_end(&j);
	return ae_json_finish(&j, NULL);
}

/* Whether v is a number, or null where allowed (numbers are finite). */
static int
numberish(const ae_jv *v)
{
	return v->type == AE_JNUMBER || v->type == AE_JNULL;
}

/* Whether v is a count: null or an integer in [0, 2^53). */
static int
countish(const ae_jv *v)
{
	return v->type == AE_JNULL ||
		(v->type == AE_JNUMBER && v->num >= 0 && v->num < 9007199254740992.0 &&
		 v->num == floor(v->num));
}

/* Emit one training member if it has the expected shape. */
static void
training_member(ae_json *j, const char *key, kind k, const ae_jv *v)
{
	switch (k)
	{
		case K_NUMBER:
			if (numberish(v))
				ae_json_raw(j, key, v->raw, v->raw_len);
			break;
		case K_COUNT:
			if (countish(v))
				ae_json_raw(j, key, v->raw, v->raw_len);
			break;
		case K_BOOL:
			if (v->type == AE_JTRUE || v->type == AE_JFALSE)
				ae_json_bool(j, key, v->type == AE_JTRUE);
			break;
		case K_NUMBERS:
			if (v->type != AE_JARRAY)
				break;
			for (int i = 0; i < v->n; i++)
				if (!numberish(&v->items[i]))
					return;
			ae_json_raw(j, key, v->raw, v->raw_len);
			break;
		case K_CURVE:
			if (v->type != AE_JARRAY)
				break;
			ae_json_array_begin(j, key);
			for (int i = 0; i < v->n; i++)
			{
				const ae_jv *e = &v->items[i];

				if (e->type != AE_JOBJECT)
					continue;
				ae_json_object_begin(j, NULL);
				for (int f = 0; f < e->n; f++)
					if (strcmp(e->keys[f], "epoch") == 0 ? countish(&e->items[f]) :
						numberish(&e->items[f]))
						ae_json_raw(j, e->keys[f], e->items[f].raw, e->items[f].raw_len);
				ae_json_object_end(j);
			}
			ae_json_array_end(j);
			break;
	}
}

/* A training figure's threshold value: finite and >= 0, else NaN. */
static double
threshold_of(const ae_jv *tr)
{
	const ae_jv *th = tr ? ae_json_get(tr, "anomaly_threshold") : NULL;

	if (th && th->type == AE_JNUMBER && isfinite(th->num) && th->num >= 0)
		return th->num;
	return NAN;
}

/*
 * The anomaly threshold kept in m's metadata (NaN if none) and, if
 * quantiles is not NULL, its error distribution (AE_QUANTILES values;
 * returns whether there is one).
 */
int
ae_meta_threshold(const ae_model *m, const ae_allocator *alloc,
				  double *threshold, double *quantiles)
{
	ae_jdoc		doc;
	const ae_jv *tr;
	int			has = 0;

	*threshold = NAN;
	if (ae_meta_parse(m, alloc, &doc) != AE_OK)
		return 0;
	tr = ae_json_get(doc.root, "training");
	*threshold = threshold_of(tr);
	if (quantiles)
		has = quantiles_of(tr, quantiles);
	ae_json_doc_free(&doc);
	return has;
}

/*
 * What save() stores of m's metadata: the configuration object (or {}), the
 * known training figures of the right types, and the anomaly threshold
 * (NaN unless a finite, non-negative number).
 */
ae_status
ae_meta_for_save(const ae_model *m, const ae_allocator *alloc, char **config,
				 char **metrics, double *threshold)
{
	ae_jdoc		doc;
	const ae_jv *cfg,
			   *tr;
	ae_json		j;
	ae_status	st;

	*config = *metrics = NULL;
	*threshold = NAN;
	st = ae_meta_parse(m, alloc, &doc);
	if (st != AE_OK)
		return st;
	cfg = ae_json_get(doc.root, "config");
	tr = ae_json_get(doc.root, "training");

	ae_json_init(&j, alloc);
	if (cfg && cfg->type == AE_JOBJECT)
		ae_json_raw(&j, NULL, cfg->raw, cfg->raw_len);
	else
		ae_json_raw(&j, NULL, "{}", 2);
	*config = ae_json_finish(&j, NULL);

	ae_json_init(&j, alloc);
	ae_json_object_begin(&j, NULL);
	for (int i = 0; tr && tr->type == AE_JOBJECT && training_keys[i].key; i++)
	{
		const ae_jv *v = ae_json_get(tr, training_keys[i].key);

		if (v)
			training_member(&j, training_keys[i].key, training_keys[i].k, v);
	}
	ae_json_bool(&j, "saved", 1);
	ae_json_object_end(&j);
	*metrics = ae_json_finish(&j, NULL);

	*threshold = threshold_of(tr);
	ae_json_doc_free(&doc);
	if (*config && *metrics)
		return AE_OK;
	if (*config)
		alloc->release(alloc->ctx, *config);
	if (*metrics)
		alloc->release(alloc->ctx, *metrics);
	*config = *metrics = NULL;
	return AE_ENOMEM;
}
