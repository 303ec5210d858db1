/*-------------------------------------------------------------------------
 *
 * ae_fitstate.c
 *	  The fit aggregate's state (see ae_fitstate.h): accumulate, merge,
 *	  write its byte format, and prepare the input of ae_build.  Reading
 *	  and checking the byte format is ae_fitstate_read.c's.
 *
 * The byte format is described in ae_fitstate.h.  The rows form is written
 * while it is the smaller one: for the exact solver before the first fold
 * and while n < (d + 1) / 2, for a sample while it holds every row read.
 * Pending rows are folded before a state is written.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_fitstate.h"
#include "ae_fitstate_int.h"
#include "ae_bytes.h"

#include <string.h>

#define FOLD_MIN	256			/* rows folded at once at least */
#define FIRST_ROWS	16			/* pending or sample rows allocated at first, */
#define FIRST_BYTES	((size_t) 1 << 20)	/* or as many as fit in a MB, up to */
#define FIRST_CAP	1024		/* this many sample rows */

/* Canonical JSON of the options a caller gave. */
static char *
canonical_options(const ae_options *o, const ae_allocator *alloc, size_t *len)
{
	ae_json		j;

	ae_json_init(&j, alloc);
	ae_json_object_begin(&j, NULL);
	ae_options_json(&j, o, AE_OPT_FIT, 1);
	ae_json_object_end(&j);
	return ae_json_finish(&j, len);
}

/* Options from JSON (NULL or empty: none), checked. */
static ae_status
parse_options(ae_options *o, const char *json, size_t len,
			  const ae_allocator *alloc, ae_error *err)
{
	ae_status	st;

	ae_options_default(o);
	if (json && len)
	{
		st = ae_options_from_json(o, json, len, AE_OPT_FIT, alloc, err);
		if (st != AE_OK)
			return st;
	}
	return ae_options_check(o, err);
}

/* A state with no rows. */
ae_status
ae_fitstate_init(ae_fitstate *s, const char *opts_json, size_t len,
				 const ae_allocator *alloc, ae_error *err)
{
	ae_status	st;

	memset(s, 0, sizeof(*s));
	s->alloc = *alloc;
	st = parse_options(&s->opts, opts_json, len, alloc, err);
	if (st != AE_OK)
		return st;
	s->opts_json = canonical_options(&s->opts, alloc, &s->opts_len);
	if (s->opts_json == NULL)
		return ae_fail(err, AE_ENOMEM, "out of memory");
	if (s->opts_len > AE_FITSTATE_MAX_OPTS)
		return ae_fail(err, AE_EINVAL, "fit options are too long");
	s->full = s->opts.solver == AE_SOLVER_EXACT;
	return AE_OK;
}

/* Whether JSON options are the state's. */
ae_status
ae_fitstate_same_options(const ae_fitstate *s, const char *json, size_t len,
						 int *same, ae_error *err)
{
	ae_options	o;
	char	   *text;
	size_t		tlen;
	ae_status	st = parse_options(&o, json, len, &s->alloc, err);

	if (st != AE_OK)
		return st;
	text = canonical_options(&o, &s->alloc, &tlen);
	if (text == NULL)
		return ae_fail(err, AE_ENOMEM, "out of memory");
	*same = tlen == s->opts_len && memcmp(text, s->opts_json, tlen) == 0;
	ae_fitstate_xfree(s, text);
	return AE_OK;
}

/* Largest sample of rows of d floats (with keys) within the byte bound. */
uint64_t
ae_fitstate_sample_bound(int d)
{
	return AE_FITSTATE_MAX_SAMPLE / (4 * (size_t) d + 8);
}

/*
 * Rows allocated at first for a part that may grow to cap rows of d floats:
 * little, so that a small state (one read from a few bytes) costs little.
 */
static uint64_t
first_rows(int d, uint64_t cap, uint64_t most)
{
	uint64_t	n = FIRST_BYTES / (4 * (size_t) d);

	if (n < FIRST_ROWS)
		n = FIRST_ROWS;
	if (n > most)
		n = most;
	return n < cap ? n : cap;
}

/* Rows the exact solver keeps before folding them into the moments. */
static uint64_t
fold_rows(int d)
{
	uint64_t	half = ((uint64_t) d + 2) / 2;

	return half > FOLD_MIN ? half : FOLD_MIN;
}

/* The first row fixes d: resolve the options, lay out the parts. */
ae_status
ae_fitstate_start(ae_fitstate *s, int d, uint64_t default_max_rows,
				  ae_error *err)
{
	ae_status	st;

	if (d < 1 || d > AE_MAX_DIM)
		return ae_fail(err, AE_ELIMIT, "input rows have %d dimensions, at most %d are allowed",
					   d, AE_MAX_DIM);
	st = ae_options_resolve(&s->opts, d, err);
	if (st != AE_OK)
		return st;
	s->d = d;
	if (s->full)
	{
		s->pending_cap = fold_rows(d);
		s->pending_alloc = first_rows(d, s->pending_cap, s->pending_cap);
		s->pending = ae_fitstate_xalloc(s, sizeof(float) * s->pending_alloc * d);
		return s->pending ? AE_OK : ae_fail(err, AE_ENOMEM, "out of memory");
	}
	if (s->opts.max_rows > 0)
	{
		if ((uint64_t) s->opts.max_rows > ae_fitstate_sample_bound(d))
		{
			ae_fail(err, AE_ELIMIT, "max_rows %lld is too large for rows of %d dimensions",
					(long long) s->opts.max_rows, d);
			ae_error_hint(err, "The sample of autoencoder.fit holds at most %llu such rows.",
						  (unsigned long long) ae_fitstate_sample_bound(d));
			return AE_ELIMIT;
		}
		s->max_rows = (uint64_t) s->opts.max_rows;
	}
	else
	{
		s->max_rows = default_max_rows < ae_fitstate_sample_bound(d) ?
			default_max_rows : ae_fitstate_sample_bound(d);
		if (s->max_rows < 1)
			s->max_rows = 1;
		s->opts.max_rows = (int64_t) s->max_rows;	/* resolved, not given */
	}
	s->exact_storage = ae_fitstate_xalloc(s, sizeof(int64_t) * ae_exact_limbs(d));
	s->lo = ae_fitstate_xalloc(s, sizeof(float) * d);
	s->hi = ae_fitstate_xalloc(s, sizeof(float) * d);
	s->scratch = ae_fitstate_xalloc(s, sizeof(float) * d);
	if (!s->exact_storage || !s->lo || !s->hi || !s->scratch)
		return ae_fail(err, AE_ENOMEM, "out of memory");
	ae_exact_init(&s->exact, d, s->exact_storage);
	return AE_OK;
}

/* Room for one more sample row (before the sample is full). */
static int
grow_sample(ae_fitstate *s)
{
	uint64_t	cap = s->cap ? 2 * s->cap : first_rows(s->d, s->max_rows, FIRST_CAP);
	float	   *rows;
	uint64_t   *keys;

	if (cap > s->max_rows)
		cap = s->max_rows;
	rows = ae_fitstate_xalloc(s, sizeof(float) * cap * s->d);
	keys = ae_fitstate_xalloc(s, sizeof(uint64_t) * cap);
	if (rows == NULL || keys == NULL)
	{
		ae_fitstate_xfree(s, rows);
		ae_fitstate_xfree(s, keys);
		return 0;
	}
	if (s->kept)
	{
		memcpy(rows, s->rows, sizeof(float) * s->kept * s->d);
		memcpy(keys, s->keys, sizeof(uint64_t) * s->kept);
	}
	ae_fitstate_xfree(s, s->rows);
	ae_fitstate_xfree(s, s->keys);
	s->rows = rows;
	s->keys = keys;
	s->cap = cap;
	return 1;
}

/* Room for one more pending row (before pending_cap): 0 if out of memory. */
static int
grow_pending(ae_fitstate *s)
{
	uint64_t	alloc = 2 * s->pending_alloc < s->pending_cap ?
		2 * s->pending_alloc : s->pending_cap;
	float	   *rows = ae_fitstate_xalloc(s, sizeof(float) * alloc * s->d);

	if (rows == NULL)
		return 0;
	memcpy(rows, s->pending, sizeof(float) * s->n_pending * s->d);
	ae_fitstate_xfree(s, s->pending);
	s->pending = rows;
	s->pending_alloc = alloc;
	return 1;
}

/* Where the next row goes. */
float *
ae_fitstate_slot(ae_fitstate *s)
{
	if (s->full)
		return s->pending + s->n_pending * s->d;
	if (s->kept < s->max_rows)
	{
		if (s->kept == s->cap && !grow_sample(s))
			return NULL;
		s->slot_is_new = 1;
		return s->rows + s->kept * s->d;
	}
	s->slot_is_new = 0;
	return s->scratch;
}

/* Fold the pending rows into the moments (allocated at the first fold). */
static ae_status
fold(ae_fitstate *s, ae_error *err)
{
	double	   *work;

	if (s->n_pending == 0)
		return AE_OK;
	if (s->mom_storage == NULL)
	{
		s->mom_storage = ae_fitstate_xalloc(s, sizeof(double) * ae_moments_doubles(s->d, 1));
		if (s->mom_storage == NULL)
			return ae_fail(err, AE_ENOMEM, "out of memory");
		ae_moments_init(&s->mom, s->d, 1, s->mom_storage);
	}
	work = ae_fitstate_xalloc(s, sizeof(double) * (s->n_pending * s->d + 5 * (size_t) s->d));
	if (work == NULL)
		return ae_fail(err, AE_ENOMEM, "out of memory");
	ae_moments_add(&s->mom, s->pending, (int) s->n_pending, work);
	ae_fitstate_xfree(s, work);
	s->n_pending = 0;
	return AE_OK;
}

/* Offer a row with its key to a full sample: keep it if its key is small. */
static ae_status
offer(ae_fitstate *s, uint64_t key, const float *row, ae_error *err)
{
	size_t		top;

	if (!s->heap_valid)
	{
		if (s->heap == NULL)
			s->heap = ae_fitstate_xalloc(s, sizeof(size_t) * s->max_rows);
		if (s->heap == NULL)
			return ae_fail(err, AE_ENOMEM, "out of memory");
		ae_keyheap_build(s->heap, s->kept, s->keys);
		s->heap_valid = 1;
	}
	top = s->heap[0];
	if (key < s->keys[top])
	{
		memcpy(s->rows + top * s->d, row, sizeof(float) * s->d);
		s->keys[top] = key;
		ae_keyheap_sift_down(s->heap, s->kept, s->keys, 0);
	}
	return AE_OK;
}

/* Add a row with its key to a sample that is not full. */
ae_status
ae_fitstate_append(ae_fitstate *s, uint64_t key, const float *row, ae_error *err)
{
	if (s->kept == s->cap && !grow_sample(s))
		return ae_fail(err, AE_ENOMEM, "out of memory");
	if (row != s->rows + s->kept * s->d)
		memcpy(s->rows + s->kept * s->d, row, sizeof(float) * s->d);
	s->keys[s->kept++] = key;
	s->heap_valid = 0;
	return AE_OK;
}

/* Range of the rows seen, for a sampled state (before the row is counted). */
void
ae_fitstate_update_range(ae_fitstate *s, const float *row)
{
	if (s->read == 0)
	{
		memcpy(s->lo, row, sizeof(float) * s->d);
		memcpy(s->hi, row, sizeof(float) * s->d);
		return;
	}
	for (int i = 0; i < s->d; i++)
	{
		if (row[i] < s->lo[i])
			s->lo[i] = row[i];
		if (row[i] > s->hi[i])
			s->hi[i] = row[i];
	}
}

/*
 * Count the exact solver's row written at the slot; unit: normalise it
 * first ('l2' is row-wise: the exact solver's moments are of unit rows).
 */
static ae_status
commit_pending(ae_fitstate *s, int unit, ae_error *err)
{
	if (unit && s->opts.arch.scaling == AE_SCALING_L2)
		ae_l2_normalize(s->pending + s->n_pending * s->d, s->d);
	s->read++;
	if (++s->n_pending == s->pending_cap)
		return fold(s, err);
	if (s->n_pending == s->pending_alloc && !grow_pending(s))
		return ae_fail(err, AE_ENOMEM, "out of memory");
	return AE_OK;
}

/* Count a row from a state (ae_fitstate_int.h). */
ae_status
ae_fitstate_commit_kept(ae_fitstate *s, ae_error *err)
{
	return s->full ? commit_pending(s, 0, err) : ae_fitstate_commit(s, err);
}

/* Count the row written at the slot in. */
ae_status
ae_fitstate_commit(ae_fitstate *s, ae_error *err)
{
	const float *row;
	uint64_t	key;
	int			is_new = s->slot_is_new;

	if (s->full)
		return commit_pending(s, 1, err);
	row = is_new ? s->rows + s->kept * s->d : s->scratch;
	ae_exact_add(&s->exact, row);
	ae_fitstate_update_range(s, row);
	s->read++;
	s->slot_is_new = 0;
	key = ae_row_key(row, s->d, AE_SAMPLE_SEED(s->opts.cfg.seed));
	if (s->kept < s->max_rows)
		return ae_fitstate_append(s, key, row, err);
	return offer(s, key, row, err);
}

/* Count a NULL row. */
void
ae_fitstate_skip(ae_fitstate *s)
{
	s->skipped++;
}

/* Merge b's exact-solver part into a's. */
static ae_status
merge_full(ae_fitstate *a, const ae_fitstate *b, ae_error *err)
{
	if (b->mom_storage)
	{
		double	   *work;
		ae_status	st = fold(a, err);

		if (st != AE_OK)
			return st;
		if (a->mom_storage == NULL)
		{
			a->mom_storage = ae_fitstate_xalloc(a, sizeof(double) * ae_moments_doubles(a->d, 1));
			if (a->mom_storage == NULL)
				return ae_fail(err, AE_ENOMEM, "out of memory");
			ae_moments_init(&a->mom, a->d, 1, a->mom_storage);
		}
		work = ae_fitstate_xalloc(a, sizeof(double) * a->d);
		if (work == NULL)
			return ae_fail(err, AE_ENOMEM, "out of memory");
		ae_moments_merge(&a->mom, &b->mom, work);
		ae_fitstate_xfree(a, work);
	}
	for (uint64_t r = 0; r < b->n_pending; r++)
	{
		ae_status	st;

		memcpy(ae_fitstate_slot(a), b->pending + r * b->d, sizeof(float) * a->d);
		st = ae_fitstate_commit_kept(a, err);
		if (st != AE_OK)
			return st;
		a->read--;				/* counted with b's rows below */
	}
	return AE_OK;
}

/* Merge b's sampled part into a's. */
static ae_status
merge_sample(ae_fitstate *a, const ae_fitstate *b, ae_error *err)
{
	if (a->max_rows != b->max_rows)
	{
		ae_fail(err, AE_EINVAL, "partial fit states have different sample sizes (%llu and %llu rows)",
				(unsigned long long) a->max_rows, (unsigned long long) b->max_rows);
		ae_error_hint(err, "Give max_rows in the options, or set the same autoencoder.max_training_rows everywhere.");
		return AE_EINVAL;
	}
	ae_exact_merge(&a->exact, &b->exact);
	for (int i = 0; i < a->d; i++)
	{
		if (a->read == 0 || b->lo[i] < a->lo[i])
			a->lo[i] = b->lo[i];
		if (a->read == 0 || b->hi[i] > a->hi[i])
			a->hi[i] = b->hi[i];
	}
	for (uint64_t r = 0; r < b->kept; r++)
	{
		const float *row = b->rows + r * b->d;
		ae_status	st = a->kept < a->max_rows ?
			ae_fitstate_append(a, b->keys[r], row, err) : offer(a, b->keys[r], row, err);

		if (st != AE_OK)
			return st;
	}
	return AE_OK;
}

/* a becomes the state of both inputs' rows. */
ae_status
ae_fitstate_merge(ae_fitstate *a, const ae_fitstate *b, ae_error *err)
{
	ae_status	st;

	if (a->opts_len != b->opts_len || memcmp(a->opts_json, b->opts_json, a->opts_len) != 0)
	{
		ae_fail(err, AE_EINVAL, "partial fit states have different options");
		ae_error_detail(err, "One has %.200s, the other %.200s.", a->opts_json, b->opts_json);
		return AE_EINVAL;
	}
	/* (each count is at most the bound, so neither sum wraps) */
	if (a->read > AE_FITSTATE_MAX_ROWS || b->read > AE_FITSTATE_MAX_ROWS - a->read ||
		a->skipped > AE_FITSTATE_MAX_ROWS || b->skipped > AE_FITSTATE_MAX_ROWS - a->skipped)
		return ae_fail(err, AE_ELIMIT, "partial fit states count more than %llu rows together",
					   (unsigned long long) AE_FITSTATE_MAX_ROWS);
	if (b->d == 0)
	{
		a->skipped += b->skipped;
		return AE_OK;
	}
	if (a->d == 0)
	{
		st = ae_fitstate_start(a, b->d, b->max_rows, err);
		if (st != AE_OK)
			return st;
	}
	if (a->d != b->d)
	{
		ae_fail(err, AE_EINVAL, "partial fit states have rows of different dimensions");
		ae_error_detail(err, "One has %d dimensions, the other %d.", a->d, b->d);
		return AE_EINVAL;
	}
	st = a->full ? merge_full(a, b, err) : merge_sample(a, b, err);
	if (st != AE_OK)
		return st;
	a->read += b->read;
	a->skipped += b->skipped;
	return AE_OK;
}

/* Which form a state is written in (after ae_fitstate_flat_size). */
static int
rows_form(const ae_fitstate *s)
{
	if (s->full)
		return s->mom_storage == NULL;
	return s->kept == s->read;
}

/* Bytes of the flat form; folds pending rows first. */
ae_status
ae_fitstate_flat_size(ae_fitstate *s, size_t *size, ae_error *err)
{
	size_t		total = AE_FITSTATE_HEADER + s->opts_len;
	size_t		d = (size_t) s->d;

	if (s->d > 0 && s->full)
	{
		if (s->mom_storage != NULL || 2 * s->n_pending >= d + 1)
		{
			ae_status	st = fold(s, err);

			if (st != AE_OK)
				return st;
		}
		if (rows_form(s))
			total += sizeof(float) * s->n_pending * d;
		else
			total += sizeof(double) * (3 * d + d * (d + 1) / 2);
	}
	else if (s->d > 0)
	{
		ae_exact_normalize(&s->exact);
		if (!rows_form(s))
			total += 2 * sizeof(float) * d + sizeof(int64_t) * ae_exact_limbs(s->d);
		total += s->kept * (8 + sizeof(float) * d);
	}
	*size = total;
	return AE_OK;
}

/* Whether flat bytes carry rows (header only, unchecked). */
int
ae_fitstate_flat_holds_rows(const unsigned char *buf, size_t len)
{
	uint16_t	flags;

	if (len < AE_FITSTATE_HEADER || memcmp(buf, AE_FITSTATE_MAGIC, 4) != 0 ||
		ae_get_u32(buf + 8) == 0)
		return 0;
	flags = ae_get_u16(buf + 6);
	return (flags & AE_FITSTATE_FLAG_ROWS) != 0 || (flags & AE_FITSTATE_FLAG_FULL) == 0;
}

/* Whether flat bytes are an exact solver's state (header only, unchecked). */
int
ae_fitstate_flat_is_exact(const unsigned char *buf, size_t len)
{
	if (len < AE_FITSTATE_HEADER || memcmp(buf, AE_FITSTATE_MAGIC, 4) != 0)
		return 0;
	return (ae_get_u16(buf + 6) & AE_FITSTATE_FLAG_FULL) != 0;
}

/* Write the flat form into out (ae_fitstate_flat_size bytes). */
void
ae_fitstate_flatten(const ae_fitstate *s, unsigned char *out)
{
	unsigned char *p = out;
	size_t		d = (size_t) s->d;
	int			rf = s->d > 0 && rows_form(s);
	uint64_t	n = !s->d ? 0 : s->full ? (rf ? s->n_pending : 0) : s->kept;

	memcpy(p, AE_FITSTATE_MAGIC, 4);
	p = ae_put_u16(p + 4, AE_FITSTATE_VERSION);
	p = ae_put_u16(p, (uint16_t) ((s->full ? AE_FITSTATE_FLAG_FULL : 0) |
								  (rf ? AE_FITSTATE_FLAG_ROWS : 0)));
	p = ae_put_u32(p, (uint32_t) s->d);
	p = ae_put_u32(p, (uint32_t) s->opts_len);
	p = ae_put_u64(p, s->read);
	p = ae_put_u64(p, s->skipped);
	p = ae_put_u64(p, s->full ? 0 : s->max_rows);
	p = ae_put_u64(p, n);
	memcpy(p, s->opts_json, s->opts_len);
	p += s->opts_len;
	if (s->d == 0)
		return;
	if (s->full && rf)
		ae_put_floats(p, s->pending, n * d);
	else if (s->full)
	{
		p = ae_put_doubles(p, s->mom.mean, d);
		p = ae_put_doubles(p, s->mom.lo, d);
		p = ae_put_doubles(p, s->mom.hi, d);
		for (size_t i = 0; i < d; i++)
			p = ae_put_doubles(p, s->mom.m2 + i * d + i, d - i);
	}
	else
	{
		if (!rf)
		{
			p = ae_put_floats(p, s->lo, d);
			p = ae_put_floats(p, s->hi, d);
			for (size_t k = 0; k < ae_exact_limbs(s->d); k++)
				p = ae_put_u64(p, (uint64_t) s->exact.limbs[k]);
		}
		for (uint64_t r = 0; r < s->kept; r++)
		{
			p = ae_put_u64(p, s->keys[r]);
			p = ae_put_floats(p, s->rows + r * d, d);
		}
	}
}

/*
 * ae_build's input from a state: counts and moments in fresh memory; the
 * sample in key order, copied (training scales it in place), or with
 * in_place the state's own rows, ordered through pointers.
 */
static ae_status
prepare(ae_fitstate *s, ae_fit_input *fi, const ae_allocator *alloc,
		ae_error *err, int in_place)
{
	size_t		d = (size_t) s->d;

	memset(fi, 0, sizeof(*fi));
	fi->counts.read = s->read;
	fi->counts.skipped = s->skipped;
	fi->counts.kept = s->full ? s->read : s->kept;
	fi->mom_storage = alloc->alloc(alloc->ctx, sizeof(double) * ae_moments_doubles(s->d, s->full));
	if (fi->mom_storage == NULL)
		return ae_fail(err, AE_ENOMEM, "out of memory");
	if (s->full)
	{
		double	   *work = alloc->alloc(alloc->ctx, sizeof(double) *
										(s->n_pending * d + 5 * d));

		if (work == NULL)
			return ae_fail(err, AE_ENOMEM, "out of memory");
		if (s->mom_storage)
		{
			memcpy(fi->mom_storage, s->mom_storage, sizeof(double) * ae_moments_doubles(s->d, 1));
			ae_moments_attach(&fi->mom, s->d, 1, s->mom.n, fi->mom_storage);
		}
		else
			ae_moments_init(&fi->mom, s->d, 1, fi->mom_storage);
		ae_moments_add(&fi->mom, s->pending, (int) s->n_pending, work);
		alloc->release(alloc->ctx, work);
		return AE_OK;
	}
	ae_moments_init(&fi->mom, s->d, 0, fi->mom_storage);
	fi->mom.n = s->read;
	for (size_t i = 0; i < d; i++)
	{
		ae_exact_moments(&s->exact, (int) i, s->read, &fi->mom.mean[i], &fi->mom.m2[i]);
		fi->mom.lo[i] = s->lo[i];
		fi->mom.hi[i] = s->hi[i];
	}
	/* the sample in key order */
	{
		ae_keyed_row *kr = alloc->alloc(alloc->ctx, sizeof(ae_keyed_row) * (s->kept ? s->kept : 1));

		if (!in_place)
			fi->data = alloc->alloc(alloc->ctx, sizeof(float) * (s->kept ? s->kept : 1) * d);
		fi->rows = alloc->alloc(alloc->ctx, sizeof(float *) * (s->kept ? s->kept : 1));
		if (kr == NULL || (!in_place && fi->data == NULL) || fi->rows == NULL)
		{
			if (kr)
				alloc->release(alloc->ctx, kr);
			return ae_fail(err, AE_ENOMEM, "out of memory");
		}
		for (uint64_t r = 0; r < s->kept; r++)
		{
			kr[r].key = s->keys[r];
			kr[r].row = s->rows + r * d;
			kr[r].d = s->d;
		}
		ae_keyed_sort(kr, s->kept);
		for (uint64_t r = 0; r < s->kept; r++)
		{
			if (in_place)
				fi->rows[r] = s->rows + (kr[r].row - s->rows);	/* the state's own row */
			else
			{
				fi->rows[r] = fi->data + r * d;
				memcpy(fi->rows[r], kr[r].row, sizeof(float) * d);
			}
		}
		alloc->release(alloc->ctx, kr);
	}
	return AE_OK;
}

/* ae_build's input from a state, in fresh memory (the state is untouched). */
ae_status
ae_fitstate_prepare(const ae_fitstate *s, ae_fit_input *fi,
					const ae_allocator *alloc, ae_error *err)
{
	/* (not in place: nothing of s is written) */
	return prepare((ae_fitstate *) s, fi, alloc, err, 0);
}

/* The same, handing training the state's own sample rows (see the header). */
ae_status
ae_fitstate_prepare_in_place(ae_fitstate *s, ae_fit_input *fi,
							 const ae_allocator *alloc, ae_error *err)
{
	return prepare(s, fi, alloc, err, 1);
}

/* ae_build's input for fit() (see ae_fitstate.h). */
void
ae_fit_build_input(const ae_fitstate *s, const ae_fit_input *fi,
				   ae_build_input *in)
{
	memset(in, 0, sizeof(*in));
	in->opts = &s->opts;
	in->rows = s->full ? NULL : fi->rows;
	in->counts = fi->counts;
	in->moments = &fi->mom;
	in->where = AE_OPT_FIT;
	in->threads = 1;
}

/* Release what ae_fitstate_prepare allocated. */
void
ae_fit_input_free(ae_fit_input *fi, const ae_allocator *alloc)
{
	if (fi->mom_storage)
		alloc->release(alloc->ctx, fi->mom_storage);
	if (fi->data)
		alloc->release(alloc->ctx, fi->data);
	if (fi->rows)
		alloc->release(alloc->ctx, fi->rows);
	memset(fi, 0, sizeof(*fi));
}

/* Release everything a state holds. */
void
ae_fitstate_free(ae_fitstate *s)
{
	ae_fitstate_xfree(s, s->opts_json);
	ae_fitstate_xfree(s, s->mom_storage);
	ae_fitstate_xfree(s, s->pending);
	ae_fitstate_xfree(s, s->exact_storage);
	ae_fitstate_xfree(s, s->lo);
	ae_fitstate_xfree(s, s->hi);
	ae_fitstate_xfree(s, s->rows);
	ae_fitstate_xfree(s, s->keys);
	ae_fitstate_xfree(s, s->heap);
	ae_fitstate_xfree(s, s->scratch);
	memset(s, 0, sizeof(*s));
}
