/*-------------------------------------------------------------------------
 *
 * test_meta.c
 *	  Unit tests of a model's metadata (src/core/ae_meta.c): the describe()
 *	  document, what save() keeps, and the model format's metadata check.
 *
 * Sections:
 *	 1. ae_model_describe: computed keys win over metadata members of the
 *	    same name, other members are kept raw, feature scaling exact,
 *	    metadata that is not an object, allocation failure
 *	 2. ae_meta_for_save: the configuration, only the known training figures
 *	    of the right JSON types, the threshold, allocation failure
 *	 3. ae_model_parse rejects metadata that is not a JSON object
 *
 * Prints one line per check and "N passed, M failed" at the end; exits
 * non-zero if anything failed.
 *
 *-------------------------------------------------------------------------
 */
#include "test_util.h"
#include "ae_json.h"
#include "ae_meta.h"

#include <stdint.h>

/* ====================================================================== */
/* Helpers                                                                 */
/* ====================================================================== */

/* An 8-d model (hidden 5, latent 3, tanh) with the given metadata text. */
static int
meta_model(ae_model *m, const char *meta, ae_allocator *al)
{
	int			hidden[1] = {5};
	ae_arch		a = tu_arch(8, 3, 1, hidden, AE_ACT_TANH, AE_ACT_LINEAR, AE_SCALING_STANDARD);
	size_t		len = meta ? strlen(meta) : 0;
	ae_rng		r;

	if (ae_model_create(m, &a, len, al) != AE_OK)
		return 0;
	ae_rng_seed(&r, 5);
	tu_fill_model(m, &r, meta, len);
	return 1;
}

static int
parse_text(ae_jdoc *doc, const char *text, ae_allocator *al)
{
	ae_error	err = {0};

	return text != NULL && ae_json_parse(doc, text, strlen(text), al, &err) == AE_OK &&
		doc->root->type == AE_JOBJECT;
}

/* How many members of obj are called key. */
static int
count_key(const ae_jv *obj, const char *key)
{
	int			c = 0;

	for (int i = 0; i < obj->n; i++)
		c += strcmp(obj->keys[i], key) == 0;
	return c;
}

static double
num_of(const ae_jv *obj, const char *key)
{
	const ae_jv *v = ae_json_get(obj, key);

	return v && v->type == AE_JNUMBER ? v->num : NAN;
}

static const char *
str_of(const ae_jv *obj, const char *key)
{
	const ae_jv *v = ae_json_get(obj, key);

	return v && v->type == AE_JSTRING ? v->text : "";
}

/* Whether a JSON array holds exactly the n floats v (read back as floats). */
static int
floats_equal(const ae_jv *arr, const float *v, int n)
{
	if (arr == NULL || arr->type != AE_JARRAY || arr->n != n)
		return 0;
	for (int i = 0; i < n; i++)
		if (arr->items[i].type != AE_JNUMBER || strtof(arr->items[i].text, NULL) != v[i])
			return 0;
	return 1;
}

static const char *const computed[] = {
	"format_version", "size_bytes", "parameters", "input_dim", "latent_dim", "hidden_units",
	"activation", "output_activation", "scaling", "architecture", "feature_scaling"};

/* ====================================================================== */
/* 1. describe                                                             */
/* ====================================================================== */

static void
test_describe(void)
{
	const char *meta =
		"{\"input_dim\": 4242, \"name\": \"x\", \"format_version\": \"bogus\", \"size_bytes\": -1, "
		"\"parameters\": [1], \"latent_dim\": {}, \"hidden_units\": null, \"activation\": \"relu\", "
		"\"output_activation\": 7, \"scaling\": \"none\", \"feature_scaling\": 0, "
		"\"config\": {\"a\": [1, 2]}, \"custom\": \"kept \\\"quoted\\\"\"}";
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_model	m;
	char	   *text;
	ae_jdoc		doc;

	if (!CHECK(meta_model(&m, meta, &al), "describe: model with metadata"))
		return;
	text = ae_model_describe(&m, 1234, &al);
	if (CHECK(parse_text(&doc, text, &al), "describe: the document parses as an object"))
	{
		const ae_jv *r = doc.root,
				   *h = ae_json_get(r, "hidden_units"),
				   *fs = ae_json_get(r, "feature_scaling"),
				   *cf = ae_json_get(r, "config");
		int			once = 1;

		for (int k = 0; k < 11; k++)
			once &= count_key(r, computed[k]) == 1 && strcmp(r->keys[k], computed[k]) == 0;
		CHECK(once, "describe: each of the 11 computed keys once, first, in order");
		CHECK(num_of(r, "input_dim") == 8 && strcmp(str_of(r, "name"), "x") == 0,
			  "describe: metadata {\"input_dim\":4242,\"name\":\"x\"} on an 8-d model gives input_dim 8, name x");
		CHECK(num_of(r, "format_version") == AE_FORMAT_VERSION_MIN && num_of(r, "size_bytes") == 1234 &&
			  strcmp(str_of(r, "architecture"), "mlp") == 0 && ae_json_get(r, "skip") == NULL &&
			  num_of(r, "parameters") == (double) m.n_params && num_of(r, "latent_dim") == 3 &&
			  h && h->type == AE_JARRAY && h->n == 1 && h->items[0].num == 5 &&
			  strcmp(str_of(r, "activation"), "tanh") == 0 &&
			  strcmp(str_of(r, "output_activation"), "linear") == 0 &&
			  strcmp(str_of(r, "scaling"), "standard") == 0,
			  "describe: computed values win over every metadata member of the same name");
		CHECK(fs && fs->type == AE_JOBJECT && fs->n == 4 &&
			  floats_equal(ae_json_get(fs, "shift"), m.shift, 8) &&
			  floats_equal(ae_json_get(fs, "scale"), m.scale, 8) &&
			  floats_equal(ae_json_get(fs, "min"), m.lo, 8) &&
			  floats_equal(ae_json_get(fs, "max"), m.hi, 8),
			  "describe: feature_scaling shift, scale, min, max read back to the model's floats");
		CHECK(cf && cf->raw_len == strlen("{\"a\": [1, 2]}") &&
			  memcmp(cf->raw, "{\"a\": [1, 2]}", cf->raw_len) == 0 &&
			  strcmp(str_of(r, "custom"), "kept \"quoted\"") == 0 && r->n == 14,
			  "describe: other metadata members kept as written (14 members in all, got %d)", r->n);
		ae_json_doc_free(&doc);
	}
	if (text)
		al.release(al.ctx, text);
	ae_model_destroy(&m);

	/* a residual model: format version 3, its architecture and skip paths */
	{
		int			hidden[1] = {5};
		ae_arch		a = tu_arch(8, 3, 1, hidden, AE_ACT_RELU, AE_ACT_LINEAR, AE_SCALING_L2);

		a.residual = 1;
		if (CHECK(ae_model_create(&m, &a, 0, &al) == AE_OK, "describe residual: model"))
		{
			text = ae_model_describe(&m, 10, &al);
			if (CHECK(parse_text(&doc, text, &al), "describe residual: parses"))
			{
				const ae_jv *sk = ae_json_get(doc.root, "skip");
				const ae_jv *e = sk ? ae_json_get(sk, "encoder") : NULL,
						   *dd = sk ? ae_json_get(sk, "decoder") : NULL;

				CHECK(num_of(doc.root, "format_version") == 3 &&
					  strcmp(str_of(doc.root, "architecture"), "pca_residual") == 0 &&
					  strcmp(str_of(doc.root, "scaling"), "l2") == 0 &&
					  e && e->n == 2 && e->items[0].num == 3 && e->items[1].num == 8 &&
					  dd && dd->n == 2 && dd->items[0].num == 8 && dd->items[1].num == 3 &&
					  num_of(doc.root, "parameters") == (double) m.n_params,
					  "describe residual: version 3, pca_residual, scaling l2, skip encoder [3, 8] and decoder [8, 3]");
				ae_json_doc_free(&doc);
			}
			if (text)
				al.release(al.ctx, text);
			ae_model_destroy(&m);
		}
	}

	/* metadata that is not an object, invalid, or empty: only computed keys */
	{
		static const char *const metas[] = {"[1, 2]", "{", "\"s\"", NULL};

		for (int k = 0; k < 4; k++)
		{
			if (!meta_model(&m, metas[k], &al))
				continue;
			text = ae_model_describe(&m, 10, &al);
			if (CHECK(parse_text(&doc, text, &al), "describe with metadata %s: parses", metas[k] ? metas[k] : "(empty)"))
			{
				CHECK(doc.root->n == 11 && num_of(doc.root, "input_dim") == 8,
					  "describe with metadata %s: just the 11 computed keys", metas[k] ? metas[k] : "(empty)");
				ae_json_doc_free(&doc);
			}
			if (text)
				al.release(al.ctx, text);
			ae_model_destroy(&m);
		}
	}

	/* allocation failure at every index: NULL (never a document without the metadata) */
	{
		long		total;
		int			leaks = 0,
					partial = 0,
					nulls = 0;

		meta_model(&m, meta, &al);
		{
			tu_alloc_ctx c;
			ae_allocator a = tu_allocator(&c, -1);

			text = ae_model_describe(&m, 1, &a);
			total = c.total;
			if (text)
				a.release(a.ctx, text);
		}
		for (long k = 0; k < total; k++)
		{
			tu_alloc_ctx c;
			ae_allocator a = tu_allocator(&c, k);

			text = ae_model_describe(&m, 1, &a);
			if (text)
			{
				if (strstr(text, "\"custom\"") == NULL)
				{
					partial++;
					if (partial == 1)
						printf("    failure at allocation %ld: a document of %zu bytes without the metadata\n",
							   k, strlen(text));
				}
				a.release(a.ctx, text);
			}
			else
				nulls++;
			if (c.live != 0)
				leaks++;
		}
		CHECK(total >= 2 && leaks == 0, "describe: failure at each of %ld allocations leaves nothing (%d leaked)",
			  total, leaks);
		CHECK(partial == 0, "describe: an allocation failure never yields a document silently missing the "
			  "metadata members (%d of %ld did, %d gave NULL)", partial, total, nulls);
		ae_model_destroy(&m);
	}
	CHECK(ctx.live == 0, "describe: no live blocks (%ld)", ctx.live);
}

/* ====================================================================== */
/* 2. save                                                                 */
/* ====================================================================== */

/* ae_meta_for_save on a model carrying meta. */
static ae_status
for_save(const char *meta, char **config, char **metrics, double *th, ae_allocator *al)
{
	ae_model	m;
	ae_status	st;

	if (!meta_model(&m, meta, al))
		return AE_ENOMEM;
	st = ae_meta_for_save(&m, al, config, metrics, th);
	ae_model_destroy(&m);
	return st;
}

static void
test_for_save(void)
{
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	char	   *config,
			   *metrics;
	double		th;
	ae_status	st;
	ae_jdoc		doc;
	const char *meta =
		"{\"name\": \"m\", \"config\": {\"latent_dim\": 3, \"x\": [1]}, \"training\": {"
		"\"rows_used\": \"a lot\", \"rows_skipped\": 3, \"rows_read\": null, \"sampled\": \"yes\", "
		"\"train_rows\": 400, \"validation_rows\": 100, \"epochs_run\": 2, \"best_epoch\": 2, "
		"\"stopped_early\": false, \"final_train_loss\": 0.5, \"final_validation_loss\": null, "
		"\"anomaly_threshold\": 0.25, \"explained_variance_ratio\": [0.5, \"x\"], \"seconds\": 1.5, "
		"\"loss_curve\": [{\"epoch\": 1, \"train_loss\": 0.5, \"note\": \"x\", \"validation_loss\": null}, 5, \"s\", "
		"[1], {\"epoch\": 2, \"train_loss\": {\"a\": 1}, \"lr\": [1], \"ok\": true}], \"unknown_key\": 1}}";

	st = for_save(meta, &config, &metrics, &th, &al);
	CHECK(st == AE_OK && config && strcmp(config, "{\"latent_dim\": 3, \"x\": [1]}") == 0,
		  "save: the configuration object as written (got %s)", config ? config : "NULL");
	CHECK(th == 0.25, "save: threshold 0.25 (got %g)", th);
	if (CHECK(parse_text(&doc, metrics, &al), "save: metrics parse as an object"))
	{
		const ae_jv *r = doc.root,
				   *lc = ae_json_get(r, "loss_curve"),
				   *sv = ae_json_get(r, "saved"),
				   *rr = ae_json_get(r, "rows_read"),
				   *fv = ae_json_get(r, "final_validation_loss"),
				   *se = ae_json_get(r, "stopped_early");

		CHECK(ae_json_get(r, "rows_used") == NULL && ae_json_get(r, "sampled") == NULL &&
			  ae_json_get(r, "explained_variance_ratio") == NULL && ae_json_get(r, "unknown_key") == NULL &&
			  ae_json_get(r, "name") == NULL,
			  "save: mistyped figures (rows_used \"a lot\", sampled \"yes\", a non-numeric ratio) and unknown keys dropped");
		CHECK(num_of(r, "rows_skipped") == 3 && num_of(r, "train_rows") == 400 &&
			  num_of(r, "validation_rows") == 100 && num_of(r, "epochs_run") == 2 &&
			  num_of(r, "best_epoch") == 2 && num_of(r, "final_train_loss") == 0.5 &&
			  num_of(r, "anomaly_threshold") == 0.25 && num_of(r, "seconds") == 1.5 &&
			  rr && rr->type == AE_JNULL && fv && fv->type == AE_JNULL && se && se->type == AE_JFALSE,
			  "save: valid figures kept (numbers, nulls, booleans)");
		CHECK(sv && sv->type == AE_JTRUE, "save: \"saved\": true added");
		if (CHECK(lc && lc->type == AE_JARRAY && lc->n == 2,
				  "save: loss_curve keeps only its 2 object entries (got %d)", lc ? lc->n : -1))
		{
			const ae_jv *e0 = &lc->items[0],
					   *e1 = &lc->items[1];
			const ae_jv *vl = ae_json_get(e0, "validation_loss");

			CHECK(e0->type == AE_JOBJECT && e0->n == 3 && num_of(e0, "epoch") == 1 &&
				  num_of(e0, "train_loss") == 0.5 && vl && vl->type == AE_JNULL &&
				  ae_json_get(e0, "note") == NULL,
				  "save: first curve entry keeps epoch, train_loss, validation_loss null; drops note");
			CHECK(e1->type == AE_JOBJECT && e1->n == 1 && num_of(e1, "epoch") == 2,
				  "save: second curve entry keeps only its numeric field (drops an object, an array, a boolean)");
		}
		ae_json_doc_free(&doc);
	}
	if (config)
		al.release(al.ctx, config);
	if (metrics)
		al.release(al.ctx, metrics);

	/* every figure mistyped: only "saved" remains */
	st = for_save("{\"training\": {\"loss_curve\": 5, \"rows_used\": \"a lot\", \"sampled\": 1, "
				  "\"explained_variance_ratio\": {}, \"seconds\": [1], \"anomaly_threshold\": -1}}",
				  &config, &metrics, &th, &al);
	CHECK(st == AE_OK && metrics &&
		  strcmp(metrics, "{\"anomaly_threshold\": -1, \"saved\": true}") == 0 && config &&
		  strcmp(config, "{}") == 0 && isnan(th),
		  "save: \"loss_curve\": 5, \"rows_used\": \"a lot\", ... dropped (a number stays), config {}, "
		  "threshold -1 -> NaN (got %s)",
		  metrics ? metrics : "NULL");
	if (config)
		al.release(al.ctx, config);
	if (metrics)
		al.release(al.ctx, metrics);

	st = for_save("{\"training\": {\"explained_variance_ratio\": [0.5, 0.25, null], \"loss_curve\": []}}",
				  &config, &metrics, &th, &al);
	CHECK(st == AE_OK && metrics &&
		  strcmp(metrics, "{\"explained_variance_ratio\": [0.5, 0.25, null], \"loss_curve\": [], \"saved\": true}") == 0,
		  "save: a numeric ratio array (nulls allowed) and an empty curve kept (got %s)", metrics ? metrics : "NULL");
	if (config)
		al.release(al.ctx, config);
	if (metrics)
		al.release(al.ctx, metrics);

	/* the threshold */
	{
		static const struct
		{
			const char *value;
			double		want;		/* NaN: none */
		}			cases[] = {
			{"0.25", 0.25}, {"0", 0.0}, {"1e-300", 1e-300}, {"-1", NAN}, {"-0.0", 0.0}, {"null", NAN},
			{"\"0.5\"", NAN}, {"true", NAN}, {"[1]", NAN}, {"123456.5", 123456.5}};

		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
		{
			char		m[128];

			snprintf(m, sizeof(m), "{\"training\": {\"anomaly_threshold\": %s}}", cases[k].value);
			st = for_save(m, &config, &metrics, &th, &al);
			CHECK(st == AE_OK && (isnan(cases[k].want) ? isnan(th) : th == cases[k].want),
				  "save: anomaly_threshold %s gives %g (got %g)", cases[k].value, cases[k].want, th);
			if (config)
				al.release(al.ctx, config);
			if (metrics)
				al.release(al.ctx, metrics);
		}
	}

	/* counts: non-negative integers below 2^53 only; any non-finite number refuses the metadata */
	st = for_save("{\"training\": {\"rows_used\": -1, \"rows_read\": 1.5, \"train_rows\": 1e17, "
				  "\"validation_rows\": 9007199254740991, \"epochs_run\": 0, "
				  "\"loss_curve\": [{\"epoch\": -2, \"train_loss\": -0.5}]}}",
				  &config, &metrics, &th, &al);
	CHECK(st == AE_OK && metrics &&
		  strcmp(metrics, "{\"validation_rows\": 9007199254740991, \"epochs_run\": 0, "
				 "\"loss_curve\": [{\"train_loss\": -0.5}], \"saved\": true}") == 0,
		  "save: counts -1, 1.5, 1e17 and curve epoch -2 dropped; 2^53 - 1 and 0 kept (got %s)",
		  metrics ? metrics : "NULL");
	if (config)
		al.release(al.ctx, config);
	if (metrics)
		al.release(al.ctx, metrics);
	{
		static const char *const metas[] = {
			"{\"training\": {\"anomaly_threshold\": 1e400}}", "{\"x\": [1, -1e999]}",
			"{\"config\": {\"a\": {\"b\": 1e309}}}"};

		for (int k = 0; k < 3; k++)
		{
			st = for_save(metas[k], &config, &metrics, &th, &al);
			CHECK(st == AE_EINVAL && config == NULL && metrics == NULL,
				  "save: metadata %s with a non-finite number is AE_EINVAL (got %d)", metas[k], (int) st);
		}
	}

	/* missing or mistyped config and training; empty metadata */
	{
		static const char *const metas[] = {
			"{}", "{\"config\": [1], \"training\": 5}", "{\"config\": \"x\", \"training\": [1]}", NULL};

		for (int k = 0; k < 4; k++)
		{
			st = for_save(metas[k], &config, &metrics, &th, &al);
			CHECK(st == AE_OK && config && strcmp(config, "{}") == 0 && metrics &&
				  strcmp(metrics, "{\"saved\": true}") == 0 && isnan(th),
				  "save: metadata %s gives config {} and metrics {\"saved\": true}", metas[k] ? metas[k] : "(empty)");
			if (config)
				al.release(al.ctx, config);
			if (metrics)
				al.release(al.ctx, metrics);
		}
	}

	/* metadata that is not an object */
	{
		static const char *const metas[] = {"[1]", "{", "42", "{\"a\":1} x"};

		for (int k = 0; k < 4; k++)
		{
			config = metrics = (char *) 1;
			st = for_save(metas[k], &config, &metrics, &th, &al);
			CHECK(st == AE_EFORMAT && config == NULL && metrics == NULL && isnan(th),
				  "save: metadata %s is AE_EFORMAT with no outputs", metas[k]);
		}
	}

	/* allocation failure at every index */
	{
		ae_model	m;
		long		total;
		int			wrong = 0,
					leaks = 0;

		meta_model(&m, meta, &al);
		{
			tu_alloc_ctx c;
			ae_allocator a = tu_allocator(&c, -1);

			ae_meta_for_save(&m, &a, &config, &metrics, &th);
			total = c.total;
			a.release(a.ctx, config);
			a.release(a.ctx, metrics);
		}
		for (long k = 0; k < total; k++)
		{
			tu_alloc_ctx c;
			ae_allocator a = tu_allocator(&c, k);

			st = ae_meta_for_save(&m, &a, &config, &metrics, &th);
			if (st != AE_ENOMEM)
			{
				wrong++;
				printf("    failure at allocation %ld of %ld: status %d\n", k, total, (int) st);
			}
			/* a caller frees nothing after a failure */
			if (st == AE_OK)
			{
				a.release(a.ctx, config);
				a.release(a.ctx, metrics);
			}
			if (c.live != 0)
			{
				leaks++;
				printf("    failure at allocation %ld of %ld: %ld blocks left (config %s, metrics %s)\n",
					   k, total, c.live, config ? "set" : "NULL", metrics ? "set" : "NULL");
			}
		}
		CHECK(total >= 3 && wrong == 0,
			  "save: failure at each of %ld allocations gives AE_ENOMEM (%d gave another status)", total, wrong);
		CHECK(leaks == 0, "save: no output is left allocated after a failure (%d left blocks)", leaks);
		ae_model_destroy(&m);
	}
	CHECK(ctx.live == 0, "save: no live blocks (%ld)", ctx.live);
}

/* ====================================================================== */
/* 3. The model format's metadata check                                    */
/* ====================================================================== */

static void
test_parse(void)
{
	static const struct
	{
		const char *meta;
		ae_status	want;
	}			cases[] = {
		{NULL, AE_OK}, {"{}", AE_OK}, {" {\"a\": [1, {\"b\": null}]} \t", AE_OK},
		{"{\"name\": \"t\\u00ff\", \"x\": 1e-3}", AE_OK},
		{"[1, 2]", AE_EFORMAT}, {"\"s\"", AE_EFORMAT}, {"null", AE_EFORMAT}, {"42", AE_EFORMAT},
		{"{", AE_EFORMAT}, {"{}x", AE_EFORMAT}, {"{\"a\": 01}", AE_EFORMAT}, {"not json", AE_EFORMAT},
		{"{\"a\": \"\\u0000\"}", AE_EFORMAT}};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
	{
		ae_model	m,
					back;
		size_t		size;
		unsigned char *bytes;
		char		err[200] = "";
		ae_status	st;

		if (!meta_model(&m, cases[k].meta, &al))
			continue;
		size = ae_model_serialized_size(&m);
		bytes = tu_xmalloc(size);
		ae_model_serialize(&m, bytes);
		st = ae_model_parse(bytes, size, &back, &al, err, sizeof(err));
		if (cases[k].want == AE_OK)
			CHECK(st == AE_OK && back.meta_len == m.meta_len &&
				  (m.meta_len == 0 || memcmp(back.meta, m.meta, m.meta_len) == 0),
				  "parse: metadata %s accepted and kept byte for byte (%s)",
				  cases[k].meta ? cases[k].meta : "(empty)", err);
		else
			CHECK(st == AE_EFORMAT && strcmp(err, "model metadata is not a JSON object") == 0 &&
				  back.block == NULL,
				  "parse: metadata %s is AE_EFORMAT \"model metadata is not a JSON object\" (got %d \"%s\")",
				  cases[k].meta, (int) st, err);
		if (st == AE_OK)
			ae_model_destroy(&back);
		free(bytes);
		ae_model_destroy(&m);
	}
	CHECK(ctx.live == 0, "parse: nothing left allocated by accepted or rejected models (%ld)", ctx.live);

	/* ae_meta_parse: empty metadata is {} */
	{
		ae_model	m;
		ae_jdoc		doc;

		meta_model(&m, NULL, &al);
		CHECK(ae_meta_parse(&m, &al, &doc) == AE_OK && doc.root->type == AE_JOBJECT && doc.root->n == 0,
			  "meta_parse: empty metadata is an empty object");
		ae_json_doc_free(&doc);
		ae_model_destroy(&m);
	}

	/* allocation failure at every index of a parse */
	{
		ae_model	m,
					back;
		size_t		size;
		unsigned char *bytes;
		long		total;
		int			wrong = 0,
					leaks = 0;
		char		err[200];

		meta_model(&m, "{\"name\": \"m\", \"training\": {\"x\": [1, 2, 3]}}", &al);
		size = ae_model_serialized_size(&m);
		bytes = tu_xmalloc(size);
		ae_model_serialize(&m, bytes);
		{
			tu_alloc_ctx c;
			ae_allocator a = tu_allocator(&c, -1);

			if (ae_model_parse(bytes, size, &back, &a, err, sizeof(err)) == AE_OK)
				ae_model_destroy(&back);
			total = c.total;
		}
		for (long k = 0; k < total; k++)
		{
			tu_alloc_ctx c;
			ae_allocator a = tu_allocator(&c, k);
			ae_status	st = ae_model_parse(bytes, size, &back, &a, err, sizeof(err));

			if (st != AE_ENOMEM)
				wrong++;
			if (st == AE_OK)
				ae_model_destroy(&back);
			if (c.live != 0)
				leaks++;
		}
		CHECK(total >= 2 && wrong == 0 && leaks == 0,
			  "parse: failure at each of %ld allocations is AE_ENOMEM, no leak (%d wrong, %d leaked)",
			  total, wrong, leaks);
		free(bytes);
		ae_model_destroy(&m);
	}
	CHECK(ctx.live == 0, "parse: no live blocks (%ld)", ctx.live);
}

/* ====================================================================== */

/* Run this program's checks; exit status 1 if any failed. */
int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);

	test_describe();
	test_for_save();
	test_parse();

	return tu_finish();
}
