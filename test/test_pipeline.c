/*-------------------------------------------------------------------------
 *
 * test_pipeline.c
 *	  Unit tests of the build pipeline (src/core/ae_pipeline.c): rows or
 *	  moments in, a finished model out.
 *
 * Sections:
 *	 1. the exact solver on rows and on moments alone, against ae_pca_solve
 *	 2. gradient training: threshold and loss on the validation rows in
 *	    input units (recomputed from the raw rows), the raw evaluation rows,
 *	    the PCA baseline, the configuration and training documents, the
 *	    model's metadata; fit() with moments; evenly spaced rows when there
 *	    are more than 10000
 *	 3. warm start and ae_warm_start_check
 *	 4. divergence: AE_EDIVERGED, detail and hint
 *	 5. ae_deploy_decide, ae_metrics_json, ae_mean_error
 *	 6. allocation failure at every index of ae_build: AE_ENOMEM, no leak
 *
 * Prints one line per check and "N passed, M failed" at the end; exits
 * non-zero if anything failed.
 *
 *-------------------------------------------------------------------------
 */
#include "test_util.h"
#include "ae_json.h"
#include "ae_meta.h"
#include "ae_pipeline.h"

#include <stdint.h>

/* ====================================================================== */
/* Helpers                                                                 */
/* ====================================================================== */

/*
 * n rows of d features: rank r factors with decreasing spread mixed into
 * the features, isotropic noise, per-feature offset and scale.
 */
static tu_rows
lowrank(size_t n, int d, int r, double noise, uint64_t seed)
{
	tu_rows		t = tu_rows_new(n, d);
	ae_rng		g;
	double	   *A = tu_xmalloc(sizeof(double) * d * r),
			   *off = tu_xmalloc(sizeof(double) * d),
			   *sc = tu_xmalloc(sizeof(double) * d);

	ae_rng_seed(&g, seed);
	for (int i = 0; i < d; i++)
	{
		for (int j = 0; j < r; j++)
			A[i * r + j] = ae_rng_normal(&g) / sqrt((double) r);
		off[i] = tu_unif(&g, -2.0, 2.0);
		sc[i] = tu_unif(&g, 0.5, 2.0);
	}
	for (size_t k = 0; k < n; k++)
	{
		double		z[8];

		for (int j = 0; j < r; j++)
			z[j] = (1.0 + 0.5 * (r - j)) * ae_rng_normal(&g);
		for (int i = 0; i < d; i++)
		{
			double		v = noise * ae_rng_normal(&g);

			for (int j = 0; j < r; j++)
				v += A[i * r + j] * z[j];
			t.rows[k][i] = (float) (off[i] + sc[i] * v);
		}
	}
	free(A);
	free(off);
	free(sc);
	return t;
}

/* Options from JSON, checked and resolved for d inputs; NULL on failure. */
static int
make_opts(ae_options *o, const char *json, int d, int where)
{
	tu_alloc_ctx c;
	ae_allocator a = tu_allocator(&c, -1);
	ae_error	err = {0};

	ae_options_default(o);
	ae_error_clear(&err);
	if (ae_options_from_json(o, json, strlen(json), where, &a, &err) != AE_OK ||
		ae_options_check(o, &err) != AE_OK || ae_options_resolve(o, d, &err) != AE_OK)
	{
		CHECK(0, "setup: options %s for d = %d: %s", json, d, err.message);
		return 0;
	}
	return 1;
}

/* A build input with the usual fields. */
static ae_build_input
input_for(const ae_options *o, tu_rows *work, const ae_moments *mom, int where)
{
	ae_build_input in;

	memset(&in, 0, sizeof(in));
	in.opts = o;
	in.rows = work ? work->rows : NULL;
	in.counts.read = work ? work->n : (mom ? mom->n : 0);
	in.counts.kept = in.counts.read;
	in.moments = mom;
	in.where = where;
	in.threads = 1;
	return in;
}

/* Full moments of the rows t->rows[first], [first+step], ... */
static tu_mom_buf
moments_of(const tu_rows *t, size_t step)
{
	tu_mom_buf	mb = tu_mom_new(t->d, 1);
	size_t		n = (t->n + step - 1) / step;
	float	   *sub = tu_xmalloc(sizeof(float) * n * t->d);

	for (size_t i = 0; i < n; i++)
		memcpy(sub + i * t->d, t->rows[i * step], sizeof(float) * t->d);
	tu_mom_feed(&mb.m, sub, 0, n, 100);
	free(sub);
	return mb;
}

/* ae_pca_solve of a linear model of arch's scaling and latent on mom. */
static int
reference_pca(ae_model *m, const ae_arch *arch, const ae_moments *mom, double *explained,
			  double *residual, ae_allocator *al)
{
	ae_arch		a = *arch;

	a.n_hidden = 0;
	a.activation = AE_ACT_LINEAR;
	a.output_activation = AE_ACT_LINEAR;
	if (ae_model_create(m, &a, 0, al) != AE_OK)
		return 0;
	return ae_pca_solve(m, mom, explained, residual, NULL, al) == AE_OK;
}

/*
 * The PCA of the raw rows of t not in skip[0..n_skip) (the validation rows)
 * in the scaling of model m, as a linear model: what a build keeps as its
 * baseline and what a residual model starts at.
 */
static int
training_rows_pca(ae_model *pca, const ae_model *m, const tu_rows *t,
				  const size_t *skip, size_t n_skip, ae_allocator *al)
{
	int			d = t->d,
				k = m->arch.latent;
	char	   *out = tu_xcalloc(t->n, 1);
	float	   *sub = tu_xmalloc(sizeof(float) * t->n * d);
	double	   *V = tu_xmalloc(sizeof(double) * ((size_t) d * k + d + k)),
				trace;
	size_t		n = 0;
	tu_mom_buf	mb = tu_mom_new(d, 1);
	ae_arch		a = m->arch;
	int			ok;

	for (size_t i = 0; i < n_skip; i++)
		out[skip[i]] = 1;
	for (size_t i = 0; i < t->n; i++)
		if (!out[i])
			memcpy(sub + n++ * d, t->rows[i], sizeof(float) * d);
	tu_mom_feed(&mb.m, sub, 0, n, 100);
	a.n_hidden = 0;
	a.activation = AE_ACT_LINEAR;
	a.output_activation = AE_ACT_LINEAR;
	a.residual = 0;
	ok = ae_model_create(pca, &a, 0, al) == AE_OK;
	if (ok)
	{
		memcpy(pca->shift, m->shift, sizeof(float) * 4 * d);
		ok = ae_pca_components(&mb.m, m->shift, m->scale, k, V, V + (size_t) d * k,
							   V + (size_t) d * k + d, &trace, NULL, al) == AE_OK;
		ae_pca_write(pca->W[0], pca->b[0], pca->W[1], pca->b[1], V, V + (size_t) d * k, d, k);
	}
	tu_mom_free(&mb);
	free(out);
	free(sub);
	free(V);
	return ok;
}

/* Normwise relative difference of two models' weights, biases and scaling. */
static double
model_diff(const ae_model *a, const ae_model *b)
{
	if (a->n_params != b->n_params || a->arch.n_input != b->arch.n_input)
		return INFINITY;
	return fmax(tu_normwise_f_f(a->params, b->params, a->n_params, 1e-3),
				fmax(tu_normwise_f_f(a->shift, b->shift, a->arch.n_input, 1e-3),
					 tu_normwise_f_f(a->scale, b->scale, a->arch.n_input, 1e-3)));
}

/* Per-row errors of raw rows idx[0..n) of t by ae_reconstruction_error. */
static double *
raw_errors(const ae_model *m, const tu_rows *t, const size_t *idx, size_t n)
{
	int			d = t->d;
	float	   *x = tu_xmalloc(sizeof(float) * n * d);
	float	   *work = tu_xmalloc(sizeof(float) * ae_infer_floats(m, (int) n));
	double	   *err = tu_xmalloc(sizeof(double) * n);

	for (size_t i = 0; i < n; i++)
		memcpy(x + i * d, t->rows[idx ? idx[i] : i], sizeof(float) * d);
	ae_reconstruction_error(m, x, (int) n, err, work);
	free(x);
	free(work);
	return err;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/*
 * Check threshold and loss of out against errors recomputed from raw rows:
 * the threshold is the q-quantile (nearest rank on (n - 1) q) and lies
 * between the order statistics around (n - 1) q; the loss is the mean.
 */
static void
check_threshold(const char *lab, const ae_build_output *out, double *err, size_t n, double q)
{
	double		mean = 0.0,
				pos = q * (double) (n - 1);
	size_t		lo_i = (size_t) floor(pos),
				hi_i = (size_t) ceil(pos),
				near_i = (size_t) fmin((double) (n - 1), floor(pos + 0.5));

	for (size_t i = 0; i < n; i++)
		mean += err[i];
	mean /= (double) n;
	qsort(err, n, sizeof(double), cmp_double);
	CHECK(tu_close(out->anomaly_threshold, err[near_i], 1e-5, 0.0),
		  "%s: threshold %.8g = the %.2f-quantile %.8g of errors recomputed from the raw rows",
		  lab, out->anomaly_threshold, q, err[near_i]);
	CHECK(out->anomaly_threshold >= err[lo_i] * (1 - 1e-5) &&
		  out->anomaly_threshold <= err[hi_i] * (1 + 1e-5) && err[hi_i] > err[0],
		  "%s: threshold between order statistics %zu and %zu of %zu (non-degenerate)", lab,
		  lo_i, hi_i, n);
	CHECK(tu_close(out->eval_loss, mean, 1e-5, 0.0),
		  "%s: eval loss %.8g = mean error %.8g in input units", lab, out->eval_loss, mean);
}

/* Parse a NUL-terminated JSON text (with the caller's allocator). */
static int
parse_text(ae_jdoc *doc, const char *text, ae_allocator *al)
{
	ae_error	err = {0};

	return text != NULL && ae_json_parse(doc, text, strlen(text), al, &err) == AE_OK &&
		doc->root->type == AE_JOBJECT;
}

/* Number member or NaN. */
static double
num_of(const ae_jv *obj, const char *key)
{
	const ae_jv *v = ae_json_get(obj, key);

	return v && v->type == AE_JNUMBER ? v->num : NAN;
}

/* String member or "" (never NULL). */
static const char *
str_of(const ae_jv *obj, const char *key)
{
	const ae_jv *v = ae_json_get(obj, key);

	return v && v->type == AE_JSTRING ? v->text : "";
}

/* Type of a member, or -1 if absent. */
static int
type_of(const ae_jv *obj, const char *key)
{
	const ae_jv *v = ae_json_get(obj, key);

	return v ? (int) v->type : -1;
}

/* Whether obj has exactly the options of where (and none of the others). */
static int
has_options_of(const ae_jv *obj, int where, char *why, size_t len)
{
	for (int i = 0; i < ae_option_count(); i++)
	{
		const ae_option_desc *d = ae_option_at(i);
		int			want = (d->flags & where) != 0;

		if ((ae_json_get(obj, d->name) != NULL) != want)
		{
			snprintf(why, len, "%s %s", d->name, want ? "missing" : "present");
			return 0;
		}
	}
	snprintf(why, len, "ok");
	return 1;
}

/* ====================================================================== */
/* 1. The exact solver                                                     */
/* ====================================================================== */

static void
test_exact(void)
{
	const size_t n = 800;
	const int	d = 10;
	tu_rows		orig = lowrank(n, d, 3, 0.1, 11);
	tu_rows		work = tu_rows_copy(&orig);
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_options	o;
	ae_build_input in;
	ae_build_output out;
	ae_error	err = {0};
	ae_status	st;
	tu_mom_buf	mb = moments_of(&orig, 1);
	ae_model	ref;
	double		expl[3],
				resid = -1;

	if (!make_opts(&o, "{\"latent_dim\": 3, \"activation\": \"linear\", \"anomaly_quantile\": 0.95}", d, AE_OPT_TRAIN))
		return;
	CHECK(o.solver == AE_SOLVER_EXACT, "exact: activation linear resolves to the exact solver");
	CHECK(reference_pca(&ref, &o.arch, &mb.m, expl, &resid, &al), "exact: reference ae_pca_solve");

	in = input_for(&o, &work, NULL, AE_OPT_TRAIN);
	in.want_baseline = 1;
	in.name = "pca";
	st = ae_build(&in, &al, &out, &err);
	if (CHECK(st == AE_OK, "exact on rows: ae_build AE_OK (%s)", err.message))
	{
		double		diff = model_diff(&out.model, &ref);
		int			scaled = 1;

		CHECK(diff <= 1e-5, "exact on rows: the model equals ae_pca_solve on the rows' moments "
			  "(normwise diff %.2e)", diff);
		CHECK(memcmp(out.model.lo, ref.lo, sizeof(float) * d) == 0 &&
			  memcmp(out.model.hi, ref.hi, sizeof(float) * d) == 0,
			  "exact on rows: training ranges equal the moments' minimum and maximum");
		CHECK(out.explained != NULL && out.latent == 3 &&
			  tu_close(out.explained[0], expl[0], 1e-9, 1e-12) &&
			  tu_close(out.explained[2], expl[2], 1e-9, 1e-12) && expl[0] > expl[1] && expl[2] > 0,
			  "exact on rows: explained variance ratios %.4f %.4f %.4f", expl[0], expl[1], expl[2]);
		CHECK(tu_close(out.res.final_train_loss, resid, 1e-9, 1e-15) && resid > 0,
			  "exact on rows: final_train_loss is the residual %.6g", resid);
		CHECK(out.baseline.block == NULL, "exact on rows: no PCA baseline for a PCA model");
		CHECK(out.eval_on_validation == 0 && out.res.validation_rows == 0 && out.eval_raw == NULL &&
			  out.n_eval == 0, "exact on rows: no validation rows; no raw rows unless asked");
		for (size_t i = 0; i < n; i++)
			for (int j = 0; j < d; j++)
				scaled &= tu_close(work.rows[i][j],
								   (orig.rows[i][j] - out.model.shift[j]) / out.model.scale[j],
								   1e-5, 1e-5);
		CHECK(scaled, "exact on rows: the rows are left scaled (x - shift) / scale");

		/* all 800 rows are the evaluation rows */
		{
			double	   *e = raw_errors(&out.model, &orig, NULL, n);

			check_threshold("exact on rows", &out, e, n, 0.95);
			free(e);
		}
		/* the training document */
		{
			ae_jdoc		doc;

			if (CHECK(parse_text(&doc, out.training, &al), "exact on rows: training JSON parses"))
			{
				const ae_jv *ev = ae_json_get(doc.root, "explained_variance_ratio");
				const ae_jv *fv = ae_json_get(doc.root, "final_validation_loss");

				CHECK(ev && ev->type == AE_JARRAY && ev->n == 3 && ev->items[0].num == out.explained[0] &&
					  ev->items[1].num == out.explained[1] && ev->items[2].num == out.explained[2],
					  "exact on rows: explained_variance_ratio lists the 3 ratios exactly");
				CHECK(fv && fv->type == AE_JNULL, "exact on rows: final_validation_loss is null");
				CHECK(num_of(doc.root, "anomaly_threshold") == out.anomaly_threshold &&
					  num_of(doc.root, "rows_used") == 800 && num_of(doc.root, "validation_rows") == 0 &&
					  num_of(doc.root, "train_rows") == 800,
					  "exact on rows: training figures (threshold exactly, rows)");
				ae_json_doc_free(&doc);
			}
			if (CHECK(parse_text(&doc, out.config, &al), "exact on rows: config JSON parses"))
			{
				const ae_jv *s = ae_json_get(doc.root, "solver");

				CHECK(s && s->type == AE_JSTRING && strcmp(s->text, "exact") == 0 &&
					  num_of(doc.root, "latent_dim") == 3,
					  "exact on rows: config says solver exact, latent_dim 3");
				ae_json_doc_free(&doc);
			}
		}
		ae_build_output_free(&out);
	}

	/* moments alone (rows NULL): fit()'s exact path */
	in = input_for(&o, NULL, &mb.m, AE_OPT_FIT);
	st = ae_build(&in, &al, &out, &err);
	if (CHECK(st == AE_OK, "exact on moments: ae_build AE_OK (%s)", err.message))
	{
		ae_jdoc		doc;

		CHECK(memcmp(out.model.params, ref.params, sizeof(float) * ref.n_params) == 0 &&
			  memcmp(out.model.shift, ref.shift, sizeof(float) * 4 * d) == 0,
			  "exact on moments: bit for bit ae_pca_solve on the same moments");
		CHECK(isnan(out.anomaly_threshold) && isnan(out.eval_loss) && out.n_eval == 0,
			  "exact on moments: no rows, so no threshold and no loss (NaN)");
		CHECK(out.res.train_rows == n && out.counts.read == n,
			  "exact on moments: train_rows is every row of the moments");
		if (CHECK(parse_text(&doc, out.training, &al), "exact on moments: training JSON parses"))
		{
			const ae_jv *t = ae_json_get(doc.root, "anomaly_threshold");

			CHECK(t && t->type == AE_JNULL, "exact on moments: anomaly_threshold is null");
			ae_json_doc_free(&doc);
		}
		ae_build_output_free(&out);
	}
	ae_model_destroy(&ref);
	tu_mom_free(&mb);
	CHECK(ctx.live == 0, "exact: no live blocks (%ld)", ctx.live);
	tu_rows_free(&orig);
	tu_rows_free(&work);
}

/* ====================================================================== */
/* 2. Gradient training                                                    */
/* ====================================================================== */

/* (residual false: the plain network's mechanics; section 6 has the residual one) */
static const char *const train_json =
"{\"latent_dim\": 2, \"hidden_units\": [16], \"activation\": \"tanh\", \"epochs\": 40, "
"\"batch_size\": 32, \"learning_rate\": 0.01, \"validation_fraction\": 0.2, \"patience\": 0, "
"\"seed\": 7, \"anomaly_quantile\": 0.9, \"residual\": false}";

/* The trained model of section 2, shared with sections 3 and 5. */
static ae_build_output trained;
static ae_options trained_opts;
static tu_rows trained_rows;
static ae_allocator trained_al;
static tu_alloc_ctx trained_ctx;
static int	have_trained;

static void
test_train(void)
{
	const size_t n = 500;
	const int	d = 8;
	tu_rows		work;
	ae_build_input in;
	ae_error	err = {0};
	ae_status	st;
	double		var = 0.0;

	trained_rows = lowrank(n, d, 2, 0.05, 21);
	work = tu_rows_copy(&trained_rows);
	trained_al = tu_allocator(&trained_ctx, -1);
	if (!make_opts(&trained_opts, train_json, d, AE_OPT_TRAIN))
		return;
	in = input_for(&trained_opts, &work, NULL, AE_OPT_TRAIN);
	in.counts.skipped = 3;
	in.counts.read = n;
	in.name = "lowrank";
	in.source = "SELECT x FROM t";
	in.threads = 3;
	in.want_baseline = 1;
	in.keep_eval_rows = 1;
	st = ae_build(&in, &trained_al, &trained, &err);
	if (!CHECK(st == AE_OK, "train: ae_build AE_OK (%s)", err.message))
		return;
	have_trained = 1;

	CHECK(trained.res.validation_rows == 100 && trained.res.train_rows == 400 &&
		  trained.res.epochs_run == 40 && trained.res.best_epoch == 40 && trained.eval_on_validation &&
		  trained.n_eval == 100,
		  "train: 100 validation rows, 400 training rows, 40 epochs, eval on validation");
	{
		int			distinct = 1;
		char	   *seen = tu_xcalloc(n, 1);

		for (size_t i = 0; i < trained.res.validation_rows; i++)
		{
			size_t		v = trained.res.validation_index[i];

			if (v >= n || seen[v])
				distinct = 0;
			else
				seen[v] = 1;
		}
		CHECK(distinct, "train: validation_index holds 100 distinct rows");
		free(seen);
	}

	/* threshold and loss on the validation rows, recomputed from raw rows */
	{
		double	   *e = raw_errors(&trained.model, &trained_rows, trained.res.validation_index, 100);

		check_threshold("train", &trained, e, 100, 0.9);
		free(e);
	}
	/* the model learned: error far below the data's variance */
	for (int j = 0; j < d; j++)
	{
		double		m = 0, s = 0;

		for (size_t i = 0; i < n; i++)
			m += trained_rows.rows[i][j];
		m /= n;
		for (size_t i = 0; i < n; i++)
			s += (trained_rows.rows[i][j] - m) * (trained_rows.rows[i][j] - m);
		var += s / n / d;
	}
	CHECK(trained.eval_loss < 0.01 * var,
		  "train: eval loss %.5f below 1%% of the data's mean variance %.4f", trained.eval_loss, var);

	/* the raw evaluation rows are the original validation rows */
	{
		double		worst = 0.0;

		for (size_t i = 0; i < trained.n_eval; i++)
			worst = fmax(worst, tu_normwise_f_f(trained.eval_raw + i * d,
												trained_rows.rows[trained.res.validation_index[i]],
												d, 1e-3));
		CHECK(trained.eval_raw != NULL && worst <= 1e-5,
			  "train: keep_eval_rows returns the raw validation rows (worst row diff %.2e)", worst);
	}

	/* the baseline: PCA of the same latent size on the 400 training rows */
	{
		ae_model	ref;

		if (CHECK(trained.baseline.block != NULL &&
				  training_rows_pca(&ref, &trained.model, &trained_rows, trained.res.validation_index,
									trained.res.validation_rows, &trained_al),
				  "train: a PCA baseline was fitted"))
		{
			double		diff = model_diff(&trained.baseline, &ref);

			CHECK(trained.baseline.arch.latent == 2 && trained.baseline.arch.n_hidden == 0 &&
				  trained.baseline.arch.activation == AE_ACT_LINEAR &&
				  trained.baseline.arch.scaling == trained_opts.arch.scaling && diff <= 1e-5 &&
				  memcmp(trained.baseline.shift, trained.model.shift, sizeof(float) * 4 * d) == 0,
				  "train: baseline = PCA of latent 2 of the training rows in the model's scaling (diff %.2e)",
				  diff);
			CHECK(isfinite(trained.res.pca_validation_loss) && trained.res.pca_validation_loss > 0,
				  "train: pca_validation_loss %.6f (the baseline's, on the validation rows)",
				  trained.res.pca_validation_loss);
			ae_model_destroy(&ref);
		}
	}

	/* the configuration document */
	{
		ae_jdoc		doc;
		char		why[80];

		if (CHECK(parse_text(&doc, trained.config, &trained_al), "train: config JSON parses"))
		{
			const ae_jv *h = ae_json_get(doc.root, "hidden_units"),
					   *a = ae_json_get(doc.root, "activation"),
					   *s = ae_json_get(doc.root, "source"),
					   *dp = ae_json_get(doc.root, "deploy");

			int			n_train = 0;

			for (int i = 0; i < ae_option_count(); i++)
				n_train += (ae_option_at(i)->flags & AE_OPT_TRAIN) != 0;
			CHECK(has_options_of(doc.root, AE_OPT_TRAIN, why, sizeof(why)) &&
				  doc.root->n == n_train + 3,
				  "train: config has every option of train() and no other (%s), plus input_dim, "
				  "threads, source (%d members)", why, doc.root->n);
			CHECK(num_of(doc.root, "input_dim") == 8 && num_of(doc.root, "threads") == 3 &&
				  s && s->type == AE_JSTRING && strcmp(s->text, "SELECT x FROM t") == 0,
				  "train: config input_dim 8, threads 3, source");
			CHECK(num_of(doc.root, "latent_dim") == 2 && h && h->n == 1 && h->items[0].num == 16 &&
				  a && strcmp(a->text, "tanh") == 0 && num_of(doc.root, "epochs") == 40 &&
				  num_of(doc.root, "seed") == 7 && num_of(doc.root, "anomaly_quantile") == 0.9 &&
				  num_of(doc.root, "learning_rate") == 0.01 && dp && strcmp(dp->text, "always") == 0,
				  "train: config values are the resolved options");
			ae_json_doc_free(&doc);
		}
	}
	/* the training document */
	{
		ae_jdoc		doc;

		if (CHECK(parse_text(&doc, trained.training, &trained_al), "train: training JSON parses"))
		{
			const ae_jv *sm = ae_json_get(doc.root, "sampled"),
					   *se = ae_json_get(doc.root, "stopped_early");

			CHECK(num_of(doc.root, "rows_used") == 500 && num_of(doc.root, "rows_skipped") == 3 &&
				  num_of(doc.root, "rows_read") == 500 && sm && sm->type == AE_JFALSE &&
				  num_of(doc.root, "train_rows") == 400 && num_of(doc.root, "validation_rows") == 100 &&
				  num_of(doc.root, "epochs_run") == 40 && num_of(doc.root, "best_epoch") == 40 &&
				  se && se->type == AE_JFALSE,
				  "train: training counts (rows used, skipped, read, split, epochs)");
			CHECK(num_of(doc.root, "final_train_loss") == trained.res.final_train_loss &&
				  num_of(doc.root, "final_validation_loss") == trained.res.final_validation_loss &&
				  num_of(doc.root, "anomaly_threshold") == trained.anomaly_threshold &&
				  ae_json_get(doc.root, "explained_variance_ratio") == NULL,
				  "train: losses and threshold exactly (shortest round trip); no explained variance");
			ae_json_doc_free(&doc);
		}
	}
	/* the model's metadata */
	{
		ae_jdoc		doc;

		if (CHECK(ae_meta_parse(&trained.model, &trained_al, &doc) == AE_OK, "train: model metadata parses"))
		{
			const ae_jv *nm = ae_json_get(doc.root, "name"),
					   *cf = ae_json_get(doc.root, "config"),
					   *tr = ae_json_get(doc.root, "training");

			CHECK(nm && nm->type == AE_JSTRING && strcmp(nm->text, "lowrank") == 0 &&
				  cf && cf->raw_len == strlen(trained.config) &&
				  memcmp(cf->raw, trained.config, cf->raw_len) == 0 &&
				  tr && tr->raw_len == strlen(trained.training) &&
				  memcmp(tr->raw, trained.training, tr->raw_len) == 0 && doc.root->n == 3,
				  "train: metadata is {name, config, training} with the same documents");
			ae_json_doc_free(&doc);
		}
	}
	tu_rows_free(&work);
}

/* fit(): no name, options of fit(), scaling preset from exact moments. */
static void
test_fit_sgd(void)
{
	const size_t n = 400;
	const int	d = 6;
	tu_rows		orig = lowrank(n, d, 2, 0.05, 31);
	tu_rows		work = tu_rows_copy(&orig);
	tu_mom_buf	mb = moments_of(&orig, 1);
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_options	o;
	ae_build_input in;
	ae_build_output out;
	ae_error	err = {0};
	ae_status	st;

	if (!make_opts(&o, "{\"latent_dim\": 2, \"epochs\": 5, \"activation\": \"elu\", \"max_rows\": 400}", d, AE_OPT_FIT))
		return;
	in = input_for(&o, &work, &mb.m, AE_OPT_FIT);
	st = ae_build(&in, &al, &out, &err);
	if (CHECK(st == AE_OK, "fit sgd: ae_build AE_OK (%s)", err.message))
	{
		ae_model	ref;
		ae_jdoc		doc;
		char		why[80];

		ae_model_create(&ref, &o.arch, 0, &al);
		ae_scaling_from_moments(&ref, &mb.m);
		CHECK(memcmp(ref.shift, out.model.shift, sizeof(float) * 4 * d) == 0,
			  "fit sgd: the scaling is the one from the exact moments");
		ae_model_destroy(&ref);
		if (CHECK(parse_text(&doc, out.config, &al), "fit sgd: config parses"))
		{
			CHECK(has_options_of(doc.root, AE_OPT_FIT, why, sizeof(why)) &&
				  num_of(doc.root, "max_rows") == 400 && ae_json_get(doc.root, "source") == NULL,
				  "fit sgd: config has every option of fit() and no other (%s)", why);
			ae_json_doc_free(&doc);
		}
		if (CHECK(ae_meta_parse(&out.model, &al, &doc) == AE_OK, "fit sgd: metadata parses"))
		{
			const ae_jv *nm = ae_json_get(doc.root, "name");

			CHECK(nm && nm->type == AE_JNULL, "fit sgd: metadata name is null");
			ae_json_doc_free(&doc);
		}
		{
			double	   *e = raw_errors(&out.model, &orig, out.res.validation_index, out.res.validation_rows);

			check_threshold("fit sgd", &out, e, out.res.validation_rows, 0.99);
			free(e);
		}
		ae_build_output_free(&out);
	}
	tu_mom_free(&mb);
	tu_rows_free(&orig);
	tu_rows_free(&work);
	CHECK(ctx.live == 0, "fit sgd: no live blocks (%ld)", ctx.live);
}

/*
 * More than 10000 rows: the baseline on every 3rd row, and without
 * validation rows the threshold on every 3rd row.  Every 3rd row comes
 * from another distribution, so using all rows would be visibly different.
 */
static void
test_spaced(void)
{
	const size_t n = 25000;
	const int	d = 4;
	tu_rows		orig = tu_rows_new(n, d);
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_rng		g;
	ae_options	o;

	ae_rng_seed(&g, 41);
	for (size_t i = 0; i < n; i++)
	{
		double		z = ae_rng_normal(&g);

		for (int j = 0; j < d; j++)
			orig.rows[i][j] = (float) (i % 3 == 0 ? (j + 1) * z + 0.1 * ae_rng_normal(&g)
									   : (j == 3 ? 4.0 : 1.0) * ae_rng_normal(&g));
	}
	if (!make_opts(&o, "{\"latent_dim\": 1, \"activation\": \"tanh\", \"epochs\": 1, "
				   "\"validation_fraction\": 0, \"scaling\": \"none\", \"anomaly_quantile\": 0.5}", d, AE_OPT_TRAIN))
		return;
	{
		tu_rows		work = tu_rows_copy(&orig);
		ae_build_input in = input_for(&o, &work, NULL, AE_OPT_TRAIN);
		ae_build_output out;
		ae_error	err = {0};
		ae_status	st;

		in.want_baseline = 1;
		in.keep_eval_rows = 1;
		st = ae_build(&in, &al, &out, &err);
		if (CHECK(st == AE_OK, "spaced: ae_build on 25000 rows AE_OK (%s)", err.message))
		{
			tu_mom_buf	every3 = moments_of(&orig, 3),
						all = moments_of(&orig, 1);
			ae_model	r3,
						rall;
			size_t	   *idx = tu_xmalloc(sizeof(size_t) * 8334);
			double		worst = 0.0;

			/* the baseline is the PCA of every training row (all of them here) */
			reference_pca(&r3, &o.arch, &every3.m, NULL, NULL, &al);
			reference_pca(&rall, &o.arch, &all.m, NULL, NULL, &al);
			CHECK(every3.m.n == 8334 && model_diff(&out.baseline, &rall) <= 1e-5 &&
				  model_diff(&out.baseline, &r3) > 1e-2,
				  "spaced: the baseline is PCA of all 25000 training rows (diff %.2e; from rows 0, 3, 6, ... %.2e)",
				  model_diff(&out.baseline, &rall), model_diff(&out.baseline, &r3));
			for (size_t i = 0; i < 8334; i++)
				idx[i] = 3 * i;
			CHECK(out.n_eval == 8334 && !out.eval_on_validation,
				  "spaced: without validation rows, 8334 evenly spaced evaluation rows (%zu)", out.n_eval);
			for (size_t i = 0; i < out.n_eval && i < 8334; i++)
				worst = fmax(worst, tu_normwise_f_f(out.eval_raw + i * d, orig.rows[3 * i], d, 1e-3));
			CHECK(worst <= 1e-6, "spaced: the raw evaluation rows are rows 0, 3, 6, ... (diff %.2e)", worst);
			{
				double	   *e = raw_errors(&out.model, &orig, idx, 8334);

				check_threshold("spaced", &out, e, 8334, 0.5);
				free(e);
			}
			free(idx);
			ae_model_destroy(&r3);
			ae_model_destroy(&rall);
			tu_mom_free(&every3);
			tu_mom_free(&all);
			ae_build_output_free(&out);
		}
		tu_rows_free(&work);
	}
	tu_rows_free(&orig);
	CHECK(ctx.live == 0, "spaced: no live blocks (%ld)", ctx.live);
}

/* ====================================================================== */
/* 3. Warm start                                                           */
/* ====================================================================== */

static double
max_param_diff(const ae_model *a, const ae_model *b)
{
	double		m = 0.0;

	for (size_t i = 0; i < a->n_params; i++)
		m = fmax(m, fabs((double) a->params[i] - b->params[i]));
	return m;
}

static void
test_warm_start(void)
{
	ae_options	o;
	ae_error	err = {0};
	const char *json = "{\"latent_dim\": 2, \"hidden_units\": [16], \"activation\": \"tanh\", \"epochs\": 1, "
		"\"batch_size\": 32, \"learning_rate\": 1e-9, \"validation_fraction\": 0.2, \"patience\": 0, "
		"\"seed\": 7, \"warm_start\": true, \"residual\": false}";

	if (!have_trained || !make_opts(&o, json, 8, AE_OPT_TRAIN))
		return;
	{
		tu_rows		work = tu_rows_copy(&trained_rows);
		ae_build_input in = input_for(&o, &work, NULL, AE_OPT_TRAIN);
		ae_build_output out;
		ae_status	st;

		in.init = &trained.model;
		st = ae_build(&in, &trained_al, &out, &err);
		if (CHECK(st == AE_OK, "warm start: ae_build AE_OK (%s)", err.message))
		{
			double		dw = max_param_diff(&out.model, &trained.model);

			CHECK(dw <= 1e-6, "warm start: one epoch at learning rate 1e-9 moves no weight more than 1e-6 (%.2e)", dw);
			CHECK(memcmp(out.model.shift, trained.model.shift, sizeof(float) * 4 * 8) == 0,
				  "warm start: the scaling (shift, scale, range) is the initial model's");
			CHECK(tu_close(out.eval_loss, trained.eval_loss, 1e-3, 0.0),
				  "warm start: loss on the same validation rows unchanged (%.6f vs %.6f)",
				  out.eval_loss, trained.eval_loss);
			ae_build_output_free(&out);
		}
		tu_rows_free(&work);
	}
	/* guard: without init the same options start elsewhere */
	{
		tu_rows		work = tu_rows_copy(&trained_rows);
		ae_build_input in = input_for(&o, &work, NULL, AE_OPT_TRAIN);
		ae_build_output out;

		if (CHECK(ae_build(&in, &trained_al, &out, &err) == AE_OK, "warm start guard: build without init"))
		{
			CHECK(max_param_diff(&out.model, &trained.model) > 0.05,
				  "warm start guard: without init the weights are far from the trained ones (%.3f)",
				  max_param_diff(&out.model, &trained.model));
			ae_build_output_free(&out);
		}
		tu_rows_free(&work);
	}

	/* ae_warm_start_check */
	{
		const char *detail = "Version 3 of \"lowrank\" has input_dim 8, latent_dim 2, 1 hidden layers, "
			"activation tanh, output_activation linear, scaling standard and no residual network.";
		static const char *const what[] = {"n_input", "latent", "n_hidden", "hidden[0]", "activation",
		"output_activation", "scaling", "residual"};

		CHECK(ae_warm_start_check(&trained.model, &o, "lowrank", 3, &err) == AE_OK,
			  "warm_start_check: the same architecture is accepted");
		for (int f = 0; f < 8; f++)
		{
			ae_options	b = o;
			ae_status	st;

			switch (f)
			{
				case 0:
					b.arch.n_input = 9;
					break;
				case 1:
					b.arch.latent = 3;
					break;
				case 2:
					b.arch.n_hidden = 2;
					b.arch.hidden[1] = 8;
					break;
				case 3:
					b.arch.hidden[0] = 17;
					break;
				case 4:
					b.arch.activation = AE_ACT_RELU;
					break;
				case 5:
					b.arch.output_activation = AE_ACT_SIGMOID;
					break;
				case 6:
					b.arch.scaling = AE_SCALING_MINMAX;
					break;
				default:
					b.arch.residual = 1;
			}
			ae_error_clear(&err);
			st = ae_warm_start_check(&trained.model, &b, "lowrank", 3, &err);
			CHECK(st == AE_EINVAL &&
				  strcmp(err.message, "warm_start needs the deployed version's architecture") == 0 &&
				  strcmp(err.detail, detail) == 0,
				  "warm_start_check: a different %s is rejected with the deployed architecture as detail (got \"%s\" / \"%s\")",
				  what[f], err.message, err.detail);
		}
	}
}

/* ====================================================================== */
/* 4. Divergence                                                           */
/* ====================================================================== */

/* on_epoch: count the epochs trained (not epoch 0, the starting point). */
static void
count_epoch(void *ctx, const ae_epoch_stats *s)
{
	if (s->epoch > 0)
		(*(int *) ctx)++;
}

/* Build with json on a copy of rows; report status, error and epochs completed. */
static ae_status
diverge(const char *json, ae_error *err, int *epochs_done, long *live)
{
	ae_options	o;
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	tu_rows		work = tu_rows_copy(&trained_rows);
	ae_build_input in;
	ae_build_output out;
	ae_status	st;

	*epochs_done = 0;
	if (!make_opts(&o, json, 8, AE_OPT_TRAIN))
	{
		tu_rows_free(&work);
		return AE_EINVAL;
	}
	in = input_for(&o, &work, NULL, AE_OPT_TRAIN);
	in.want_baseline = 1;
	in.cb.on_epoch = count_epoch;
	in.cb.ctx = epochs_done;
	ae_error_clear(err);
	st = ae_build(&in, &al, &out, err);
	if (st == AE_OK)
		ae_build_output_free(&out);
	*live = ctx.live;
	tu_rows_free(&work);
	return st;
}

static void
test_divergence(void)
{
	static const struct
	{
		const char *json;
		const char *hint;
	}			cases[] = {
		{"{\"latent_dim\": 2, \"hidden_units\": [16], \"optimizer\": \"sgd\", \"learning_rate\": 10, "
			"\"weight_decay\": 100, \"epochs\": 50}", "Lower weight_decay (it is 100) or learning_rate."},
		{"{\"latent_dim\": 2, \"activation\": \"linear\", \"solver\": \"sgd\", \"optimizer\": \"sgd\", "
			"\"learning_rate\": 10, \"sparsity\": 50, \"epochs\": 50}", "Lower sparsity (it is 50) or learning_rate."},
		{"{\"latent_dim\": 2, \"activation\": \"linear\", \"solver\": \"sgd\", \"optimizer\": \"sgd\", "
			"\"learning_rate\": 10, \"epochs\": 50}", "Lower learning_rate (it is 10)."},
		{"{\"latent_dim\": 2, \"activation\": \"linear\", \"solver\": \"sgd\", \"optimizer\": \"sgd\", "
			"\"learning_rate\": 10, \"scaling\": \"none\", \"epochs\": 50}",
		"Lower learning_rate, or use scaling => 'standard'."}};
	/* one batch per epoch: the loss explodes between a step and the validation loss */
	const char *per_epoch = "{\"latent_dim\": 2, \"hidden_units\": [16], \"optimizer\": \"sgd\", "
		"\"learning_rate\": 10, \"weight_decay\": 100, \"batch_size\": 1000, \"epochs\": %d%s}";
	char		json[400];
	ae_error	err = {0};
	int			done,
				epoch,
				of;
	long		live;
	ae_status	st;

	if (!have_trained)
		return;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
	{
		epoch = of = -1;
		st = diverge(cases[k].json, &err, &done, &live);
		sscanf(err.detail, "It happened in epoch %d of %d.", &epoch, &of);
		CHECK(st == AE_EDIVERGED && err.status == AE_EDIVERGED &&
			  strcmp(err.message, "training diverged: the loss is no longer finite") == 0 &&
			  of == 50 && epoch >= 1 && epoch <= 50,
			  "diverge %zu: AE_EDIVERGED with the epoch as detail (got %d \"%s\" / \"%s\")", k,
			  (int) st, err.message, err.detail);
		CHECK(strcmp(err.hint, cases[k].hint) == 0, "diverge %zu: hint \"%s\" (got \"%s\")", k,
			  cases[k].hint, err.hint);
		CHECK(live == 0, "diverge %zu: nothing left allocated (%ld live)", k, live);
		if (k == 0)
			CHECK(epoch == done + 1, "diverge %zu (within an epoch's batches): the detail names epoch %d, "
				  "the one after the %d completed (got %d)", k, done + 1, done, epoch);
	}

	/* detected on the validation loss: the epoch named is still the one that diverged */
	epoch = of = -1;
	snprintf(json, sizeof(json), per_epoch, 50, "");
	st = diverge(json, &err, &done, &live);
	sscanf(err.detail, "It happened in epoch %d of %d.", &epoch, &of);
	CHECK(st == AE_EDIVERGED && epoch == done + 1,
		  "diverge on the validation loss after %d completed epochs: the detail names epoch %d (got \"%s\")",
		  done, done + 1, err.detail);
	/* ... and when that is the last epoch, not one past the end */
	if (st == AE_EDIVERGED)
	{
		int			last = done + 1;

		epoch = of = -1;
		snprintf(json, sizeof(json), per_epoch, last, "");
		st = diverge(json, &err, &done, &live);
		sscanf(err.detail, "It happened in epoch %d of %d.", &epoch, &of);
		CHECK(st == AE_EDIVERGED && of == last && epoch >= 1 && epoch <= last,
			  "diverge in the last of %d epochs: the detail names an epoch within them (got \"%s\")",
			  last, err.detail);

		/* without validation rows nothing checks the weights after the last step */
		snprintf(json, sizeof(json), per_epoch, last, ", \"validation_fraction\": 0");
		{
			ae_options	o;
			tu_alloc_ctx ctx;
			ae_allocator al = tu_allocator(&ctx, -1);
			tu_rows		work = tu_rows_copy(&trained_rows);
			ae_build_input in;
			ae_build_output out;

			if (make_opts(&o, json, 8, AE_OPT_TRAIN))
			{
				in = input_for(&o, &work, NULL, AE_OPT_TRAIN);
				ae_error_clear(&err);
				st = ae_build(&in, &al, &out, &err);
				if (st == AE_OK)
				{
					size_t		bad = 0,
								size = ae_model_serialized_size(&out.model);
					unsigned char *bytes = tu_xmalloc(size);
					ae_model	back;
					char		why[200] = "";
					ae_status	pst;

					for (size_t i = 0; i < out.model.n_params; i++)
						bad += !isfinite(out.model.params[i]);
					ae_model_serialize(&out.model, bytes);
					pst = ae_model_parse(bytes, size, &back, &al, why, sizeof(why));
					if (pst == AE_OK)
						ae_model_destroy(&back);
					CHECK(bad == 0 && pst == AE_OK && isfinite(out.eval_loss),
						  "diverge in the last step without validation rows: AE_EDIVERGED, not AE_OK with "
						  "%zu non-finite weights of %zu (eval loss %g; parse: \"%s\")", bad,
						  out.model.n_params, out.eval_loss, why);
					free(bytes);
					ae_build_output_free(&out);
				}
				else
					CHECK(st == AE_EDIVERGED, "diverge in the last step without validation rows: AE_EDIVERGED (%d)", (int) st);
			}
			tu_rows_free(&work);
			CHECK(ctx.live == 0, "diverge without validation rows: no live blocks (%ld)", ctx.live);
		}
	}
}

/* ====================================================================== */
/* 5. Deployment, metrics, mean error                                      */
/* ====================================================================== */

static void
count_batch(void *ctx)
{
	(*(int *) ctx)++;
}

static void
test_mean_error(void)
{
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	double		mean = -1,
				ref = 0.0;
	double	   *e;
	int			batches = 0;
	ae_train_callbacks cb = {count_batch, NULL, &batches};
	ae_status	st;

	if (!have_trained)
		return;
	e = raw_errors(&trained.model, &trained_rows, NULL, 500);
	for (int i = 0; i < 500; i++)
		ref += e[i];
	ref /= 500;
	free(e);
	st = ae_mean_error(&trained.model, trained_rows.data, 500, &cb, &al, &mean);
	CHECK(st == AE_OK && tu_close(mean, ref, 1e-6, 0.0) && ref > 0,
		  "mean_error: %.8g = mean of ae_reconstruction_error %.8g over 500 rows", mean, ref);
	CHECK(batches == 2, "mean_error: on_batch after each block of 256 rows (%d calls)", batches);
	st = ae_mean_error(&trained.model, trained_rows.data, 0, NULL, &al, &mean);
	CHECK(st == AE_OK && isnan(mean), "mean_error: no rows gives NaN");
	{
		tu_alloc_ctx c;
		ae_allocator a = tu_allocator(&c, 0);

		CHECK(ae_mean_error(&trained.model, trained_rows.data, 10, NULL, &a, &mean) == AE_ENOMEM &&
			  c.live == 0, "mean_error: allocation failure is AE_ENOMEM, no leak");
	}
	CHECK(ctx.live == 0, "mean_error: no live blocks (%ld)", ctx.live);
}

/* A model of the trained architecture with random weights and its scaling. */
static void
random_model(ae_model *m, ae_allocator *al)
{
	ae_rng		r;

	ae_model_create(m, &trained.model.arch, 0, al);
	ae_model_copy_values(m, &trained.model);
	ae_rng_seed(&r, 99);
	ae_model_init_weights(m, &r);
}

static void
test_deploy(void)
{
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_deploy_decision dec;
	ae_error	err = {0};
	ae_model	better,
				worse,
				other;
	static const ae_deploy modes[] = {AE_DEPLOY_ALWAYS, AE_DEPLOY_IF_BETTER, AE_DEPLOY_NEVER};
	static const char *const names[] = {"always", "if_better", "never"};

	if (!have_trained)
		return;

	/* no deployed version: the first is deployed whatever the mode */
	for (int k = 0; k < 3; k++)
	{
		char	   *mj;
		ae_jdoc		doc;

		CHECK(ae_deploy_decide(&dec, modes[k], &trained, NULL, 0, NULL, &al, &err) == AE_OK &&
			  dec.first_version && dec.deploy && !dec.compared && dec.mode == modes[k],
			  "deploy %s with no deployed version: first version, deployed", names[k]);
		mj = ae_metrics_json(&trained, &dec, &al);
		if (CHECK(parse_text(&doc, mj, &al), "deploy %s first: metrics JSON parses", names[k]))
		{
			const ae_jv *dp = ae_json_get(doc.root, "deployment");

			CHECK(dp && dp->type == AE_JOBJECT && strcmp(str_of(dp, "mode"), names[k]) == 0 &&
				  strcmp(str_of(dp, "reason"), "first version of the name") == 0 &&
				  type_of(dp, "deployed") == AE_JTRUE && ae_json_get(dp, "new_loss") == NULL,
				  "deploy %s first: metrics deployment {mode, reason first version, deployed true}", names[k]);
			ae_json_doc_free(&doc);
		}
		if (mj)
			al.release(al.ctx, mj);
	}

	/* a better deployed model: PCA with latent = d reconstructs exactly */
	{
		tu_mom_buf	mb = moments_of(&trained_rows, 1);
		ae_arch		a = trained.model.arch;

		a.latent = 8;
		reference_pca(&better, &a, &mb.m, NULL, NULL, &al);
		tu_mom_free(&mb);
	}
	random_model(&worse, &al);
	{
		ae_arch		a = tu_arch(5, 2, 0, NULL, AE_ACT_LINEAR, AE_ACT_LINEAR, AE_SCALING_NONE);
		ae_rng		r;

		ae_model_create(&other, &a, 0, &al);
		ae_rng_seed(&r, 3);
		tu_fill_model(&other, &r, NULL, 0);
	}

	CHECK(ae_deploy_decide(&dec, AE_DEPLOY_ALWAYS, &trained, &worse, 4, NULL, &al, &err) == AE_OK &&
		  dec.deploy && !dec.compared && !dec.first_version,
		  "deploy always with a deployed version: deployed, not compared");
	CHECK(ae_deploy_decide(&dec, AE_DEPLOY_ALWAYS, &trained, &better, 4, NULL, &al, &err) == AE_OK &&
		  dec.deploy, "deploy always: deployed even over a better version");
	CHECK(ae_deploy_decide(&dec, AE_DEPLOY_NEVER, &trained, &worse, 4, NULL, &al, &err) == AE_OK &&
		  !dec.deploy && !dec.compared, "deploy never with a deployed version: not deployed");

	{
		double		ref;

		ae_status	st;

		double		ref_new;

		ae_mean_error(&better, trained.eval_raw, trained.n_eval, NULL, &al, &ref);
		ae_mean_error(&trained.model, trained.eval_raw, trained.n_eval, NULL, &al, &ref_new);
		st = ae_deploy_decide(&dec, AE_DEPLOY_IF_BETTER, &trained, &better, 5, NULL, &al, &err);
		/* both scored on the raw rows the same way: ties stay ties */
		CHECK(st == AE_OK && !dec.deploy && dec.compared && dec.compared_version == 5 && dec.rows == 100 &&
			  dec.rows_are_validation && dec.new_loss == ref_new &&
			  tu_close(dec.new_loss, trained.eval_loss, 1e-5, 0.0) && dec.deployed_loss == ref &&
			  dec.deployed_loss < 1e-3 * dec.new_loss,
			  "deploy if_better against a better version (%.3g < %.3g): not deployed, both losses on the 100 validation rows",
			  dec.deployed_loss, dec.new_loss);
		{
			char	   *mj = ae_metrics_json(&trained, &dec, &al);
			ae_jdoc		doc;

			if (CHECK(parse_text(&doc, mj, &al), "metrics if_better: parses"))
			{
				const ae_jv *dp = ae_json_get(doc.root, "deployment");
				const ae_jv *lc = ae_json_get(doc.root, "loss_curve");
				int			curve_ok = lc && lc->type == AE_JARRAY && lc->n == trained.res.epochs_run;

				CHECK(dp && num_of(dp, "new_loss") == dec.new_loss &&
					  num_of(dp, "deployed_loss") == dec.deployed_loss &&
					  num_of(dp, "compared_with_version") == 5 && num_of(dp, "rows") == 100 &&
					  strcmp(str_of(dp, "rows_are"), "validation") == 0 &&
					  type_of(dp, "deployed") == AE_JFALSE &&
					  strcmp(str_of(dp, "reason"), "not lower than the error of version 5 on the same rows") == 0,
					  "metrics if_better: deployment has both losses, the version, 100 validation rows, the reason, deployed false");
				for (int e = 0; curve_ok && e < lc->n; e++)
				{
					const ae_jv *it = &lc->items[e];

					curve_ok = it->type == AE_JOBJECT && num_of(it, "epoch") == e + 1 &&
						num_of(it, "train_loss") == trained.res.curve[e].train_loss &&
						num_of(it, "validation_loss") == trained.res.curve[e].validation_loss &&
						num_of(it, "learning_rate") == 0.01 && num_of(it, "seconds") >= 0;
				}
				CHECK(curve_ok, "metrics: loss_curve has epochs_run (%d) entries with the curve's values",
					  trained.res.epochs_run);
				CHECK(num_of(doc.root, "epochs_run") == 40 && num_of(doc.root, "seconds") >= 0 &&
					  num_of(doc.root, "anomaly_threshold") == trained.anomaly_threshold,
					  "metrics: the training figures and the time");
				ae_json_doc_free(&doc);
			}
			if (mj)
				al.release(al.ctx, mj);
		}
	}
	{
		double		ref;

		ae_status	st;

		ae_mean_error(&worse, trained.eval_raw, trained.n_eval, NULL, &al, &ref);
		st = ae_deploy_decide(&dec, AE_DEPLOY_IF_BETTER, &trained, &worse, 6, NULL, &al, &err);
		CHECK(st == AE_OK && dec.deploy && dec.compared && dec.deployed_loss == ref && dec.deployed_loss > dec.new_loss,
			  "deploy if_better against a worse version (%.3g > %.3g): deployed", dec.deployed_loss,
			  dec.new_loss);
	}
	{
		char	   *mj;
		ae_jdoc		doc;

		CHECK(ae_deploy_decide(&dec, AE_DEPLOY_IF_BETTER, &trained, &other, 7, NULL, &al, &err) == AE_OK &&
			  dec.deploy && dec.compared && !isfinite(dec.deployed_loss),
			  "deploy if_better against a version of another input_dim: deployed, it cannot score");
		mj = ae_metrics_json(&trained, &dec, &al);
		if (CHECK(parse_text(&doc, mj, &al), "metrics other input_dim: parses"))
		{
			const ae_jv *dp = ae_json_get(doc.root, "deployment");

			CHECK(dp && ae_json_get(dp, "deployed_loss") && ae_json_get(dp, "deployed_loss")->type == AE_JNULL,
				  "metrics other input_dim: deployed_loss is null");
			ae_json_doc_free(&doc);
		}
		if (mj)
			al.release(al.ctx, mj);
	}
	/* allocation failure while scoring the deployed version */
	{
		tu_alloc_ctx c;
		ae_allocator a = tu_allocator(&c, 0);

		ae_error_clear(&err);
		CHECK(ae_deploy_decide(&dec, AE_DEPLOY_IF_BETTER, &trained, &worse, 6, NULL, &a, &err) == AE_ENOMEM &&
			  strcmp(err.message, "out of memory") == 0 && c.live == 0,
			  "deploy if_better: allocation failure is AE_ENOMEM, no leak");
	}
	/* metrics without a decision; allocation failure */
	{
		char	   *mj = ae_metrics_json(&trained, NULL, &al);
		ae_jdoc		doc;
		long		total;
		int			bad = 0;

		if (CHECK(parse_text(&doc, mj, &al), "metrics without a decision: parses"))
		{
			CHECK(ae_json_get(doc.root, "deployment") == NULL && ae_json_get(doc.root, "loss_curve"),
				  "metrics without a decision: no deployment member");
			ae_json_doc_free(&doc);
		}
		if (mj)
			al.release(al.ctx, mj);
		{
			tu_alloc_ctx c;
			ae_allocator a = tu_allocator(&c, -1);

			mj = ae_metrics_json(&trained, &dec, &a);
			total = c.total;
			if (mj)
				a.release(a.ctx, mj);
		}
		for (long k = 0; k < total; k++)
		{
			tu_alloc_ctx c;
			ae_allocator a = tu_allocator(&c, k);

			mj = ae_metrics_json(&trained, &dec, &a);
			if (mj != NULL || c.live != 0)
				bad++;
		}
		CHECK(total >= 2 && bad == 0, "metrics: failure at each of %ld allocations gives NULL, no leak (%d not)",
			  total, bad);
	}
	ae_model_destroy(&better);
	ae_model_destroy(&worse);
	ae_model_destroy(&other);
	CHECK(ctx.live == 0, "deploy: no live blocks (%ld)", ctx.live);
}

/* ====================================================================== */
/* 6. Allocation failure in ae_build                                       */
/* ====================================================================== */

typedef struct oom_case
{
	const char *label;
	const char *json;
	int			where;
	int			rows;			/* pass rows */
	int			moments;		/* pass moments */
	int			init;			/* warm start from the trained model */
} oom_case;

static void
test_build_oom(void)
{
	static const oom_case cases[] = {
		{"sgd with baseline and raw rows", "{\"latent_dim\": 2, \"hidden_units\": [4], \"epochs\": 2}", AE_OPT_TRAIN, 1, 0, 0},
		{"sgd without validation rows", "{\"latent_dim\": 2, \"epochs\": 2, \"validation_fraction\": 0}", AE_OPT_TRAIN, 1, 0, 0},
		{"warm start", "{\"latent_dim\": 2, \"hidden_units\": [16], \"activation\": \"tanh\", \"epochs\": 1, \"warm_start\": true}", AE_OPT_TRAIN, 1, 0, 1},
		{"exact on rows", "{\"latent_dim\": 2, \"activation\": \"linear\"}", AE_OPT_TRAIN, 1, 0, 0},
		{"exact on moments", "{\"latent_dim\": 2, \"activation\": \"linear\"}", AE_OPT_FIT, 0, 1, 0},
		{"fit sgd with moments", "{\"latent_dim\": 2, \"epochs\": 2, \"max_rows\": 500}", AE_OPT_FIT, 1, 1, 0}};
	tu_mom_buf	mb;

	if (!have_trained)
		return;
	mb = moments_of(&trained_rows, 1);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
	{
		ae_options	o;
		long		total = 0;
		int			wrong = 0,
					leaks = 0;
		ae_status	first = AE_OK;

		if (!make_opts(&o, cases[c].json, 8, cases[c].where))
			continue;
		for (long k = -1; k < total || k == -1; k++)
		{
			tu_alloc_ctx ctx;
			ae_allocator al = tu_allocator(&ctx, k);
			tu_rows		work = tu_rows_copy(&trained_rows);
			ae_build_input in = input_for(&o, cases[c].rows ? &work : NULL,
										  cases[c].moments ? &mb.m : NULL, cases[c].where);
			ae_build_output out;
			ae_error	err = {0};
			ae_status	st;

			in.want_baseline = 1;
			in.keep_eval_rows = cases[c].rows;
			in.init = cases[c].init ? &trained.model : NULL;
			if (!cases[c].rows)
				in.counts.read = in.counts.kept = 500;
			ae_error_clear(&err);
			st = ae_build(&in, &al, &out, &err);
			if (k == -1)
			{
				first = st;
				total = ctx.total;
				if (st == AE_OK)
					ae_build_output_free(&out);
				if (ctx.live != 0)
					leaks++;
				tu_rows_free(&work);
				continue;
			}
			if (st == AE_OK)
				ae_build_output_free(&out);
			if (st != AE_ENOMEM || err.status != AE_ENOMEM)
			{
				wrong++;
				if (wrong <= 2)
					printf("    %s: failure at allocation %ld gave %d \"%s\"\n", cases[c].label, k,
						   (int) st, err.message);
			}
			if (ctx.live != 0)
				leaks++;
			tu_rows_free(&work);
		}
		CHECK(first == AE_OK && total >= 5, "build oom %s: succeeds with %ld allocations", cases[c].label, total);
		CHECK(wrong == 0, "build oom %s: failure at each of the %ld allocations gives AE_ENOMEM (%d did not)",
			  cases[c].label, total, wrong);
		CHECK(leaks == 0, "build oom %s: nothing left allocated after any failure (%d leaked)",
			  cases[c].label, leaks);
	}
	tu_mom_free(&mb);
}

/* ====================================================================== */

/* Run this program's checks; exit status 1 if any failed. */
int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);

	test_exact();
	test_train();
	test_fit_sgd();
	test_spaced();
	test_warm_start();
	test_divergence();
	test_mean_error();
	test_deploy();
	test_build_oom();

	if (have_trained)
		ae_build_output_free(&trained);
	CHECK(trained_ctx.live == 0, "trained model released (%ld live)", trained_ctx.live);
	tu_rows_free(&trained_rows);

	return tu_finish();
}
