/*-------------------------------------------------------------------------
 *
 * gen_corpus.c
 *	  Writes the fuzz targets' seed corpora and dictionaries: real models
 *	  and fit states made by the core itself, the way train(), fit() and
 *	  save() make them, so the fuzzers start from every kind of valid input.
 *
 *   gen_corpus DIR    writes DIR/model/, DIR/fitstate/, DIR/options/ and
 *                     DIR/model.dict, DIR/options.dict
 *
 * Models: exact PCA (fit from moments and train from rows), gradient
 * training with hidden layers and each activation, denoising (gaussian and
 * masking), minmax scaling with sigmoid output, no scaling, the residual
 * network (with and without hidden layers, with scaling l2 and the
 * similarity term: format version 3), l2 without it, a sampled fit,
 * the PCA baseline train() keeps, a saved copy with user metadata, one with
 * empty metadata, one with eight hidden layers, one of a single feature.
 * States: empty (NULL rows only), exact in rows form and in moments form,
 * sampled holding every row (rows form) and a full sample (moments form),
 * each with several option sets, and merged states.
 * Options: every seed state's options, the full default configuration and
 * one value of every option, behind a first byte that picks d.
 *
 * Every model and state written is parsed back first: a seed the core
 * rejects is an error here, not a silently useless corpus.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_core.h"
#include "ae_fitstate.h"
#include "ae_options.h"
#include "ae_pipeline.h"
#include "fuzz_util.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *outdir;
static int	n_models,
			n_states,
			n_options;

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "gen_corpus: %s: %s\n", what, why);
	exit(1);
}

static void
write_file(const char *sub, const char *name, const void *buf, size_t len)
{
	char		path[4096];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s/%s", outdir, sub, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		die(path, strerror(errno));
}

/* The deterministic rows of the TAP tests (AeTest.pm), shifted by off. */
static float *
make_rows(int n, int d, double off)
{
	float	   *x = malloc(sizeof(float) * (size_t) n * d);

	if (x == NULL)
		die("rows", "out of memory");
	for (int i = 1; i <= n; i++)
		for (int j = 1; j <= d; j++)
			x[(size_t) (i - 1) * d + (j - 1)] =
				(float) (sin(i * 0.37 + j * 1.31) + 0.5 * cos(i * 0.013 * j + j) + off);
	return x;
}

/* The name of the option stored at offset off of ae_options. */
static const char *
option_name_at(size_t off)
{
	for (int i = 0; i < ae_option_count(); i++)
		if (ae_option_at(i)->offset == off)
			return ae_option_at(i)->name;
	die("option table", "no option at that offset");
	return NULL;
}

/* fmt with %S replaced by the scaling option's name (normalize or scaling). */
static void
opts_text(char *out, size_t len, const char *fmt)
{
	const char *key = option_name_at(offsetof(ae_options, arch.scaling));
	size_t		used = 0;

	for (const char *p = fmt; *p && used + 1 < len; p++)
	{
		if (p[0] == '%' && p[1] == 'S')
		{
			used += (size_t) snprintf(out + used, len - used, "%s", key);
			p++;
		}
		else
			out[used++] = *p;
	}
	out[used < len ? used : len - 1] = '\0';
}

/* An options seed: a byte that picks d, then the JSON text. */
static void
write_options_seed(const char *name, int d, const char *json)
{
	size_t		len = strlen(json);
	unsigned char *buf = malloc(len + 1);
	char		file[256];

	buf[0] = (unsigned char) (d - 1);
	memcpy(buf + 1, json, len);
	snprintf(file, sizeof(file), "%s.bin", name);
	write_file("options", file, buf, len + 1);
	free(buf);
	n_options++;
}

/* ------------------------------------------------------------------ models */

static void
write_model(const char *name, const ae_model *m)
{
	size_t		len = ae_model_serialized_size(m);
	unsigned char *buf = malloc(len);
	ae_model	back;
	char		err[256],
				file[256];

	ae_model_serialize(m, buf);
	if (ae_model_parse(buf, len, &back, &fz_alloc, err, sizeof(err)) != AE_OK)
		die(name, err);
	ae_model_destroy(&back);
	snprintf(file, sizeof(file), "%s.bin", name);
	write_file("model", file, buf, len);
	free(buf);
	n_models++;
}

/* train(): options as JSON, resolved for d, rows in, a model out. */
static void
train_model(const char *name, const char *fmt, int n, int d, int keep_baseline)
{
	char		json[1024];
	ae_options	o;
	ae_error	err = {0};
	float	   *x = make_rows(n, d, 0.0);
	float	  **rows = malloc(sizeof(float *) * (size_t) n);
	ae_build_input in;
	ae_build_output out;

	opts_text(json, sizeof(json), fmt);
	ae_options_default(&o);
	if (ae_options_from_json(&o, json, strlen(json), AE_OPT_TRAIN, &fz_alloc, &err) != AE_OK ||
		ae_options_check(&o, &err) != AE_OK || ae_options_resolve(&o, d, &err) != AE_OK)
		die(name, err.message);
	for (int i = 0; i < n; i++)
		rows[i] = x + (size_t) i * d;
	memset(&in, 0, sizeof(in));
	in.opts = &o;
	in.rows = rows;
	in.counts.read = in.counts.kept = (uint64_t) n;
	in.counts.skipped = 3;
	in.name = name;
	in.source = "SELECT x FROM t ORDER BY id";
	in.where = AE_OPT_TRAIN;
	in.threads = 1;
	in.want_baseline = 1;
	if (ae_build(&in, &fz_alloc, &out, &err) != AE_OK)
		die(name, err.message);
	write_model(name, &out.model);
	if (keep_baseline && out.baseline.block)
	{
		char		bname[128];

		snprintf(bname, sizeof(bname), "%s_baseline", name);
		write_model(bname, &out.baseline);
	}
	if (strcmp(name, "train_relu_hidden") == 0)
	{
		/*
		 * save(): the same model with the metadata a user gave (numbers
		 * finite: a model whose metadata holds 1e400 is rejected)
		 */
		static const char *const metas[] = {
			"{\"note\": \"saved by hand\", \"training\": {\"loss_curve\": 5, \"anomaly_threshold\": -1}, "
			"\"input_dim\": 4242, \"config\": [1, 2]}",
			"{}",
			"{\"training\": {\"loss_curve\": [{\"epoch\": 1, \"train_loss\": 0.5}, 7], "
			"\"explained_variance_ratio\": [0.5, null], \"sampled\": true, \"rows_read\": 1e300}, "
			"\"config\": {\"latent_dim\": 4}, \"k\\u00e9y\\ud83d\\ude00\": [[[[{}]]]]}",
		};

		for (size_t i = 0; i < sizeof(metas) / sizeof(metas[0]); i++)
		{
			ae_model	saved;
			char		sname[64];

			if (ae_model_with_meta(&saved, &out.model, metas[i], strlen(metas[i]), &fz_alloc) != AE_OK)
				die(name, "with_meta");
			snprintf(sname, sizeof(sname), "saved_%zu", i);
			write_model(sname, &saved);
			ae_model_destroy(&saved);
		}
		/* no metadata at all (meta_len 0) */
		{
			ae_model	bare;

			if (ae_model_with_meta(&bare, &out.model, "", 0, &fz_alloc) != AE_OK)
				die(name, "with_meta");
			write_model("saved_no_meta", &bare);
			ae_model_destroy(&bare);
		}
	}
	ae_build_output_free(&out);
	free(rows);
	free(x);
}

/* ------------------------------------------------------------------ states */

/* A state of n rows of d features (and `nulls` NULL rows), as fit_accum builds it. */
static void
make_state(ae_fitstate *s, const char *json, int n, int d, int nulls, double off)
{
	ae_error	err = {0};
	float	   *x = make_rows(n > 0 ? n : 1, d, off);

	if (ae_fitstate_init(s, json, strlen(json), &fz_alloc, &err) != AE_OK)
		die(json, err.message);
	for (int i = 0; i < nulls; i++)
		ae_fitstate_skip(s);
	if (n > 0 && ae_fitstate_start(s, d, 1000000, &err) != AE_OK)
		die(json, err.message);
	for (int i = 0; i < n; i++)
	{
		float	   *slot = ae_fitstate_slot(s);

		if (slot == NULL)
			die(json, "out of memory");
		memcpy(slot, x + (size_t) i * d, sizeof(float) * d);
		if (ae_fitstate_commit(s, &err) != AE_OK)
			die(json, err.message);
	}
	free(x);
}

/* Flatten s, check it reads back, write it; returns the bytes (malloc'ed). */
static unsigned char *
write_state(const char *name, ae_fitstate *s, size_t *len)
{
	ae_error	err = {0};
	unsigned char *buf;
	ae_fitstate back;
	char		file[256];

	if (ae_fitstate_flat_size(s, len, &err) != AE_OK)
		die(name, err.message);
	buf = malloc(*len);
	ae_fitstate_flatten(s, buf);
	if (ae_fitstate_read(&back, buf, *len, 1000000, &fz_alloc, &err) != AE_OK)
		die(name, err.message);
	ae_fitstate_free(&back);
	snprintf(file, sizeof(file), "%s.bin", name);
	write_file("fitstate", file, buf, *len);
	n_states++;
	return buf;
}

/* fit_final: the model of a state. */
static void
model_of_state(const char *name, ae_fitstate *s)
{
	ae_fit_input fi;
	ae_build_input in;
	ae_build_output out;
	ae_error	err = {0};

	if (ae_fitstate_prepare(s, &fi, &fz_alloc, &err) != AE_OK)
		die(name, err.message);
	ae_fit_build_input(s, &fi, &in);
	if (ae_build(&in, &fz_alloc, &out, &err) != AE_OK)
		die(name, err.message);
	write_model(name, &out.model);
	ae_build_output_free(&out);
	ae_fit_input_free(&fi, &fz_alloc);
}

/* One state seed (and the model fit() makes of it, if asked). */
static void
state_seed(const char *name, const char *fmt, int n, int d, int nulls, int with_model)
{
	char		json[1024];
	ae_fitstate s;
	size_t		len;

	opts_text(json, sizeof(json), fmt);
	make_state(&s, json, n, d, nulls, 0.0);
	free(write_state(name, &s, &len));
	write_options_seed(name, d, json);
	if (with_model && n > 0)
	{
		char		mname[128];

		snprintf(mname, sizeof(mname), "fit_%s", name);
		model_of_state(mname, &s);
	}
	ae_fitstate_free(&s);
}

/* Two partial states of the same options merged, as fit_combine does. */
static void
merged_seed(const char *name, const char *fmt, int n1, int n2, int d)
{
	char		json[1024];
	ae_fitstate a,
				b;
	ae_error	err = {0};
	size_t		len;

	opts_text(json, sizeof(json), fmt);
	make_state(&a, json, n1, d, 1, 0.0);
	make_state(&b, json, n2, d, 2, 0.25);
	if (ae_fitstate_merge(&a, &b, &err) != AE_OK)
		die(name, err.message);
	free(write_state(name, &a, &len));
	ae_fitstate_free(&a);
	ae_fitstate_free(&b);
}

/*
 * Forged states that read today although no rows could give them: counts
 * near 2^64 (a merge of two such states overflows them) and co-moments far
 * outside what the range and the count allow (a merge overflows them to
 * infinity).  Kept as seeds so that the fuzz target checks them on every
 * run, not only when a mutation happens to hit them.
 */
static void
forged_seeds(void)
{
	char		json[1024];
	ae_fitstate s;
	ae_error	err = {0};
	size_t		len,
				payload;
	unsigned char *buf;
	double		huge = -1.5e308;

	/* exact solver, moments form: read = 2^63; then m2[0][1] = -1.5e308 */
	opts_text(json, sizeof(json), "{\"latent_dim\": 2, \"activation\": \"linear\"}");
	make_state(&s, json, 300, 6, 0, 0.0);
	if (ae_fitstate_flat_size(&s, &len, &err) != AE_OK)
		die("forged", err.message);
	buf = malloc(len);
	ae_fitstate_flatten(&s, buf);
	memcpy(buf + 16, "\x00\x00\x00\x00\x00\x00\x00\x80", 8);
	write_file("fitstate", "forged_exact_read_2p63.bin", buf, len);
	memcpy(buf + 16, "\x2c\x01\x00\x00\x00\x00\x00\x00", 8);	/* 300 */
	payload = AE_FITSTATE_HEADER + s.opts_len;
	memcpy(buf + payload + 8 * (3 * 6 + 1), &huge, 8);	/* little-endian hosts */
	write_file("fitstate", "forged_exact_comoment.bin", buf, len);
	free(buf);
	ae_fitstate_free(&s);

	/* sampled, moments form: read = 2^63 */
	opts_text(json, sizeof(json), "{\"latent_dim\": 2, \"max_rows\": 16, \"epochs\": 1}");
	make_state(&s, json, 100, 5, 0, 0.0);
	if (ae_fitstate_flat_size(&s, &len, &err) != AE_OK)
		die("forged", err.message);
	buf = malloc(len);
	ae_fitstate_flatten(&s, buf);
	memcpy(buf + 16, "\x00\x00\x00\x00\x00\x00\x00\x80", 8);
	write_file("fitstate", "forged_sampled_read_2p63.bin", buf, len);
	free(buf);
	ae_fitstate_free(&s);
	n_states += 3;
}

/* ------------------------------------------------------------------ dicts */

static void
dict_entry(FILE *f, const char *s)
{
	fputs("\"\\\"", f);
	for (const char *p = s; *p; p++)
	{
		if (*p == '"' || *p == '\\')
			fputc('\\', f);
		fputc(*p, f);
	}
	fputs("\\\"\"\n", f);
}

static void
write_dicts(void)
{
	char		path[4096];
	FILE	   *f;
	static const char *const json_tokens[] = {
		"{", "}", "[", "]", ":", ",", "null", "true", "false", "-0", "1e308", "1e400",
		"-1e400", "0.5", "4294967296", "9223372036854775808", "\\u0000", "\\ud800",
		"\\ud83d\\ude00", "\"\"", NULL};
	static const char *const model_keys[] = {
		"training", "config", "name", "loss_curve", "error_quantiles", "anomaly_threshold",
		"explained_variance_ratio", "rows_used", "rows_read", "sampled", "epoch",
		"format_version", "input_dim", "latent_dim", "hidden_units", "feature_scaling",
		"architecture", "skip", "steps", "stopped", "pca_validation_loss", NULL};

	snprintf(path, sizeof(path), "%s/options.dict", outdir);
	f = fopen(path, "w");
	if (f == NULL)
		die(path, strerror(errno));
	for (int i = 0; i < ae_option_count(); i++)
	{
		const ae_option_desc *d = ae_option_at(i);

		dict_entry(f, d->name);
		for (const ae_choice *c = d->choices; c && c->name; c++)
			dict_entry(f, c->name);
	}
	for (int i = 0; json_tokens[i]; i++)
	{
		fputc('"', f);
		for (const char *p = json_tokens[i]; *p; p++)
		{
			if (*p == '"' || *p == '\\')
				fputc('\\', f);
			fputc(*p, f);
		}
		fputs("\"\n", f);
	}
	/* the state's header: magic, version, and counts at their extremes */
	fputs("\"AEFS\"\n\"\\x02\\x00\"\n"
		  "\"\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x80\"\n"
		  "\"\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\"\n"
		  "\"\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x7f\"\n"
		  "\"\\x00\\x20\\x00\\x00\"\n", f);
	if (fclose(f) != 0)
		die(path, strerror(errno));

	snprintf(path, sizeof(path), "%s/model.dict", outdir);
	f = fopen(path, "w");
	if (f == NULL)
		die(path, strerror(errno));
	for (int i = 0; model_keys[i]; i++)
		dict_entry(f, model_keys[i]);
	fputs("\"AENCODER\"\n\"\\x02\\x00\\x00\\x00\"\n\"\\x00\\x00\\x80\\x7f\"\n\"\\x00\\x00\\xc0\\x7f\"\n", f);
	/* version 3 and its residual flag */
	fputs("\"\\x03\\x00\\x00\\x00\\x01\\x00\\x00\\x00\"\n", f);
	if (fclose(f) != 0)
		die(path, strerror(errno));
}

/* ------------------------------------------------------------------ main */

int
main(int argc, char **argv)
{
	static const char *const subs[] = {"model", "fitstate", "options"};

	if (argc != 2)
	{
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0755) != 0 && errno != EEXIST)
		die(outdir, strerror(errno));
	for (size_t i = 0; i < 3; i++)
	{
		char		path[4096];

		snprintf(path, sizeof(path), "%s/%s", outdir, subs[i]);
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			die(path, strerror(errno));
	}

	/* train(): one of each kind */
	train_model("train_exact", "{\"latent_dim\": 3, \"activation\": \"linear\"}", 300, 12, 0);
	train_model("train_relu_hidden", "{\"latent_dim\": 4, \"hidden_units\": [8], \"epochs\": 2, "
				"\"batch_size\": 64}", 300, 16, 1);
	train_model("train_denoise_gaussian", "{\"latent_dim\": 3, \"hidden_units\": [6, 5], "
				"\"activation\": \"tanh\", \"noise\": \"gaussian\", \"noise_level\": 0.2, "
				"\"epochs\": 2, \"%S\": \"minmax\"}", 200, 10, 0);
	train_model("train_masking_elu", "{\"latent_dim\": 2, \"hidden_units\": [4], \"activation\": \"elu\", "
				"\"noise\": \"masking\", \"noise_level\": 0.3, \"epochs\": 1, \"%S\": \"none\", "
				"\"optimizer\": \"sgd\", \"weight_decay\": 0.001, \"sparsity\": 0.01}", 150, 8, 0);
	train_model("train_sigmoid_deep", "{\"latent_dim\": 2, \"hidden_units\": [7, 6, 5, 4, 4, 3, 3, 3], "
				"\"activation\": \"sigmoid\", \"epochs\": 1, \"validation_fraction\": 0}", 100, 9, 0);
	train_model("train_one_feature", "{\"latent_dim\": 1, \"activation\": \"linear\", \"solver\": \"sgd\", "
				"\"epochs\": 1, \"output_activation\": \"sigmoid\"}", 50, 1, 0);
	/* format version 3: the residual network and scaling l2; and a version 2 one */
	train_model("train_residual_default", "{\"latent_dim\": 3, \"epochs\": 2}", 200, 12, 1);
	train_model("train_residual_linear", "{\"latent_dim\": 2, \"hidden_units\": [], \"epochs\": 2}",
				120, 6, 0);
	train_model("train_residual_l2_similarity", "{\"latent_dim\": 3, \"hidden_units\": [8, 6], "
				"\"%S\": \"l2\", \"epochs\": 2, \"similarity_weight\": 1, \"batch_size\": 32}",
				150, 10, 1);
	train_model("train_l2_plain", "{\"latent_dim\": 2, \"hidden_units\": [5], \"%S\": \"l2\", "
				"\"residual\": false, \"epochs\": 1}", 80, 7, 0);
	train_model("train_exact_l2", "{\"latent_dim\": 2, \"activation\": \"linear\", \"%S\": \"l2\"}",
				90, 8, 0);
	train_model("train_version2", "{\"latent_dim\": 3, \"hidden_units\": [6], \"residual\": false, "
				"\"epochs\": 1}", 80, 8, 0);

	/* fit(): states of every kind, and the models fit_final makes of them */
	state_seed("empty_nulls_only", "{\"latent_dim\": 2}", 0, 4, 5, 0);
	state_seed("empty_no_options", "{}", 0, 4, 0, 0);
	state_seed("exact_rows_form", "{\"latent_dim\": 2, \"activation\": \"linear\"}", 3, 16, 1, 1);
	state_seed("exact_moments_form", "{\"latent_dim\": 3, \"activation\": \"linear\"}", 300, 8, 2, 1);
	state_seed("exact_pending_folded", "{\"latent_dim\": 2, \"activation\": \"linear\", \"%S\": \"none\"}",
			   100, 6, 0, 1);
	state_seed("sampled_rows_form", "{\"latent_dim\": 2, \"hidden_units\": [4], \"epochs\": 2}", 40, 6, 1, 1);
	state_seed("sampled_moments_form", "{\"latent_dim\": 2, \"max_rows\": 16, \"epochs\": 1, "
			   "\"seed\": 9007199254740993}", 100, 5, 0, 1);
	state_seed("sampled_denoise", "{\"latent_dim\": 3, \"hidden_units\": [6], \"noise\": \"gaussian\", "
			   "\"epochs\": 1, \"max_rows\": 30, \"%S\": \"minmax\", \"validation_fraction\": 0.2}",
			   80, 7, 0, 1);
	state_seed("sampled_default_latent", "{\"epochs\": 1, \"activation\": \"tanh\"}", 20, 3, 0, 1);
	state_seed("sampled_l2_similarity", "{\"latent_dim\": 2, \"%S\": \"l2\", \"epochs\": 1, "
			   "\"similarity_weight\": 0.5, \"similarity_temperature\": 0.1}", 40, 6, 1, 1);
	state_seed("exact_l2_rows", "{\"latent_dim\": 2, \"activation\": \"linear\", \"%S\": \"l2\"}",
			   50, 5, 0, 1);
	merged_seed("merged_exact", "{\"latent_dim\": 2, \"activation\": \"linear\"}", 200, 120, 6);
	merged_seed("merged_exact_rows", "{\"latent_dim\": 2, \"activation\": \"linear\"}", 2, 3, 20);
	merged_seed("merged_sampled", "{\"latent_dim\": 2, \"max_rows\": 25}", 30, 40, 4);
	merged_seed("merged_sampled_rows", "{\"latent_dim\": 2}", 10, 12, 4);
	forged_seeds();

	/* options: the full default configuration and odd values */
	{
		ae_options	o;
		ae_json		j;
		char	   *text;
		char		json[1024];

		ae_options_default(&o);
		ae_json_init(&j, &fz_alloc);
		ae_json_object_begin(&j, NULL);
		ae_options_json(&j, &o, AE_OPT_FIT, 0);
		ae_json_object_end(&j);
		text = ae_json_finish(&j, NULL);
		write_options_seed("all_defaults", 20, text);
		free(text);
		opts_text(json, sizeof(json),
				  "{\"latent_dim\": 2, \"hidden_units\": [16, 8], \"activation\": \"elu\", "
				  "\"output_activation\": \"sigmoid\", \"epochs\": 3, \"batch_size\": 32, "
				  "\"learning_rate\": 0.01, \"optimizer\": \"sgd\", \"weight_decay\": 1e-3, "
				  "\"sparsity\": 0.01, \"noise\": \"masking\", \"noise_level\": 0.2, "
				  "\"%S\": \"minmax\", \"validation_fraction\": 0.2, \"patience\": 2, "
				  "\"seed\": -9223372036854775808, \"solver\": \"sgd\", \"anomaly_quantile\": 0.95, "
				  "\"max_rows\": 2147483647, \"residual\": false, \"similarity_weight\": 0.5, "
				  "\"similarity_temperature\": 0.1}");
		write_options_seed("every_option", 17, json);
		write_options_seed("nulls", 5, "{\"latent_dim\": null, \"seed\": null, \"hidden_units\": []}");
		write_options_seed("out_of_range", 3, "{\"latent_dim\": 1e400, \"epochs\": 0.5}");
		write_options_seed("escapes", 8, "{\"activ\\u0061tion\": \"line\\u0061r\", \"latent_dim\": 8}");
		write_options_seed("nested", 4, "[{\"a\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]");
	}
	write_dicts();
	printf("gen_corpus: %d models, %d fit states, %d option sets in %s\n",
		   n_models, n_states, n_options, outdir);
	return 0;
}
