/*-------------------------------------------------------------------------
 *
 * test_rows.c
 *	  Unit tests of the training row store (src/core/ae_rows.c): chunked
 *	  rows and seeded bottom-k sampling by a hash of each row's bytes.
 *
 * Sections:
 *	 1. ae_row_key: deterministic, depends on the seed, d and every byte
 *	 2. without sampling: rows kept in arrival order, bit for bit
 *	 3. with sampling: exactly max_rows rows, the max_rows smallest keys,
 *	    key order after ae_rowstore_finish, independent of arrival order
 *	    (duplicates included), different for another seed
 *	 4. uniformity over a fixed list of seeds (chi-square, loose bound)
 *	 5. wide rows across several 8 MB chunks
 *	 6. argument errors, allocation failure at every index, no leaks
 *
 * Prints one line per check and "N passed, M failed" at the end; exits
 * non-zero if anything failed.
 *
 *-------------------------------------------------------------------------
 */
#include "test_util.h"
#include "ae_pipeline.h"

#include <stdint.h>

#define CHUNK_LIMIT		((size_t) 8 * 1024 * 1024)	/* ae_rows.c's chunk size */

/* ====================================================================== */
/* Helpers                                                                 */
/* ====================================================================== */

/* n random rows of d floats; row i starts with i (so all rows differ). */
static tu_rows
random_rows(size_t n, int d, uint64_t seed)
{
	tu_rows		t = tu_rows_new(n, d);
	ae_rng		r;

	ae_rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++)
	{
		t.rows[i][0] = (float) i;
		for (int j = 1; j < d; j++)
			t.rows[i][j] = (float) ae_rng_normal(&r);
	}
	return t;
}

/* Offer rows in the order idx (NULL: 0..n-1); 0 if next() failed. */
static int
offer(ae_rowstore *rs, const tu_rows *t, const size_t *idx)
{
	for (size_t i = 0; i < t->n; i++)
	{
		float	   *dst = ae_rowstore_next(rs);

		if (dst == NULL)
			return 0;
		memcpy(dst, t->rows[idx ? idx[i] : i], sizeof(float) * t->d);
		ae_rowstore_commit(rs);
	}
	return 1;
}

/* A store of t's rows (in order idx) finished; AE_OK or the failure. */
static ae_status
store_rows(ae_rowstore *rs, const tu_rows *t, const size_t *idx, size_t max_rows,
		   uint64_t seed, ae_allocator *al)
{
	ae_status	st = ae_rowstore_init(rs, t->d, max_rows, seed, al);

	if (st != AE_OK)
		return st;
	if (!offer(rs, t, idx))
		return AE_ENOMEM;
	ae_rowstore_finish(rs);
	return AE_OK;
}

typedef struct key_idx
{
	uint64_t	key;
	size_t		idx;
} key_idx;

static int
cmp_key_idx(const void *a, const void *b)
{
	const key_idx *x = a,
			   *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->idx < y->idx ? -1 : (x->idx > y->idx ? 1 : 0);
}

/* Keys of every row by ae_row_key, sorted ascending with their rows. */
static key_idx *
sorted_keys(const tu_rows *t, uint64_t seed)
{
	key_idx    *k = tu_xmalloc(sizeof(key_idx) * t->n);

	for (size_t i = 0; i < t->n; i++)
	{
		k[i].key = ae_row_key(t->rows[i], t->d, seed);
		k[i].idx = i;
	}
	qsort(k, t->n, sizeof(key_idx), cmp_key_idx);
	return k;
}

/* Whether two stores hold the same rows in the same order, bit for bit. */
static int
same_store(const ae_rowstore *a, const ae_rowstore *b)
{
	if (a->n != b->n || a->d != b->d)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (memcmp(a->rows[i], b->rows[i], sizeof(float) * a->d) != 0 || a->keys[i] != b->keys[i])
			return 0;
	return 1;
}

/* ====================================================================== */
/* 1. ae_row_key                                                           */
/* ====================================================================== */

static void
test_row_key(void)
{
	float		row[7] = {1.5f, -2.0f, 3.25f, 0.0f, 1e-30f, 7.0f, -0.5f};
	uint64_t	k = ae_row_key(row, 7, 42);
	int			each = 1;

	CHECK(k == ae_row_key(row, 7, 42), "row key: deterministic");
	CHECK(k != ae_row_key(row, 7, 43) && k != ae_row_key(row, 7, 0),
		  "row key: depends on the seed");
	CHECK(k != ae_row_key(row, 6, 42) && ae_row_key(row, 6, 42) != ae_row_key(row, 5, 42) &&
		  ae_row_key(row, 1, 42) != ae_row_key(row, 2, 42),
		  "row key: depends on d (a prefix has another key)");
	for (int dd = 1; dd <= 7; dd++)
	{
		uint64_t	kd = ae_row_key(row, dd, 42);

		for (int j = 0; j < dd; j++)
			for (int bit = 0; bit < 32; bit++)
			{
				float		copy[7];
				uint32_t	w;

				memcpy(copy, row, sizeof(row));
				memcpy(&w, &copy[j], 4);
				w ^= UINT32_C(1) << bit;
				memcpy(&copy[j], &w, 4);
				if (ae_row_key(copy, dd, 42) == kd)
					each = 0;
			}
	}
	CHECK(each, "row key: for d = 1 .. 7, flipping any one bit of any float (the last one too) changes it");
	{
		float		z[2] = {0.0f, 1.0f},
					nz[2] = {-0.0f, 1.0f};

		CHECK(ae_row_key(z, 2, 1) != ae_row_key(nz, 2, 1), "row key: 0 and -0 differ (bytes)");
	}
	/* swapping two elements changes the key: position matters */
	{
		float		a[4] = {1, 2, 3, 4},
					b[4] = {2, 1, 3, 4},
					c[4] = {1, 2, 4, 3};

		CHECK(ae_row_key(a, 4, 9) != ae_row_key(b, 4, 9) && ae_row_key(a, 4, 9) != ae_row_key(c, 4, 9),
			  "row key: swapped elements give another key");
	}
	/* no collisions among 100000 rows; each bit balanced */
	{
		const size_t n = 100000;
		tu_rows		t = random_rows(n, 3, 5);
		key_idx    *s = sorted_keys(&t, 77);
		size_t		dup = 0;
		long		ones[64] = {0};
		double		worst = 0.0;

		for (size_t i = 1; i < n; i++)
			dup += s[i].key == s[i - 1].key;
		for (size_t i = 0; i < n; i++)
			for (int b = 0; b < 64; b++)
				ones[b] += (s[i].key >> b) & 1;
		for (int b = 0; b < 64; b++)
			worst = fmax(worst, fabs(ones[b] / (double) n - 0.5));
		CHECK(dup == 0, "row key: 100000 distinct rows, no equal keys (%zu)", dup);
		/* sd of a bit's mean is 0.5/sqrt(n) = 0.0016; 0.01 is 6 sd */
		CHECK(worst < 0.01, "row key: every bit set in 50%% +- 1%% of keys (worst %.4f off)", worst);
		free(s);
		tu_rows_free(&t);
	}
}

/* ====================================================================== */
/* 2. Without sampling                                                     */
/* ====================================================================== */

static void
test_no_sampling(void)
{
	static const struct
	{
		size_t		n,
					max_rows;
		int			d;
	}			cases[] = {
		{1, 1, 1}, {700, 1000, 5}, {1000, 1000, 5}, {10000, 20000, 2}, {5000, 5000, 7}};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
	{
		tu_rows		t = random_rows(cases[c].n, cases[c].d, 100 + c);
		ae_rowstore rs;
		ae_status	st;
		int			bits = 1,
					keys = 1;

		st = store_rows(&rs, &t, NULL, cases[c].max_rows, 9, &al);
		for (size_t i = 0; st == AE_OK && i < t.n && i < rs.n; i++)
		{
			bits &= memcmp(rs.rows[i], t.rows[i], sizeof(float) * t.d) == 0;
			keys &= rs.keys[i] == ae_row_key(t.rows[i], t.d, 9);
		}
		CHECK(st == AE_OK && rs.n == t.n && rs.seen == t.n && bits,
			  "no sampling: %zu rows of %d (max_rows %zu) kept in arrival order bit for bit",
			  t.n, t.d, cases[c].max_rows);
		CHECK(keys, "no sampling: each slot's key is ae_row_key of its row");
		ae_rowstore_free(&rs);
		CHECK(ctx.live == 0, "no sampling: ae_rowstore_free leaves no live blocks (%ld)", ctx.live);
		tu_rows_free(&t);
	}

	/* special values pass through bit for bit */
	{
		tu_rows		t = tu_rows_new(3, 4);
		ae_rowstore rs;
		float		sv[12] = {-0.0f, 1e-45f, 3.4028235e38f, -1e-38f, 1.0f / 3.0f, NAN, INFINITY, -INFINITY,
		0.1f, -0.1f, 16777217.0f, 0.0f};

		memcpy(t.data, sv, sizeof(sv));
		CHECK(store_rows(&rs, &t, NULL, 10, 1, &al) == AE_OK && rs.n == 3 &&
			  memcmp(rs.rows[0], sv, 16) == 0 && memcmp(rs.rows[1], sv + 4, 16) == 0 &&
			  memcmp(rs.rows[2], sv + 8, 16) == 0,
			  "no sampling: -0, denormals, NaN and infinities kept bit for bit");
		ae_rowstore_free(&rs);
		tu_rows_free(&t);
	}
	CHECK(ctx.live == 0, "no sampling: no live blocks (%ld)", ctx.live);
}

/* ====================================================================== */
/* 3. Sampling                                                             */
/* ====================================================================== */

/* Whether rs holds exactly the k rows of t with the smallest keys, in key order. */
static int
is_bottom_k(const ae_rowstore *rs, const tu_rows *t, uint64_t seed, char *why, size_t len)
{
	key_idx    *s = sorted_keys(t, seed);
	size_t		k = rs->n;
	int			ok = 1;

	snprintf(why, len, "ok");
	for (size_t i = 0; ok && i < k; i++)
	{
		if (rs->keys[i] != s[i].key)
		{
			snprintf(why, len, "slot %zu has key %016llx, the %zu-th smallest is %016llx", i,
					 (unsigned long long) rs->keys[i], i, (unsigned long long) s[i].key);
			ok = 0;
		}
		else if (memcmp(rs->rows[i], t->rows[s[i].idx], sizeof(float) * t->d) != 0)
		{
			snprintf(why, len, "slot %zu does not hold row %zu", i, s[i].idx);
			ok = 0;
		}
	}
	/* guard: the kept keys are really the smallest (the next one is larger) */
	if (ok && k < t->n && !(s[k - 1].key < s[k].key))
	{
		snprintf(why, len, "no strict gap after the k-th key");
		ok = 0;
	}
	free(s);
	return ok;
}

static void
test_sampling(void)
{
	static const struct
	{
		size_t		n,
					max_rows;
		int			d;
	}			cases[] = {
		{5000, 300, 3}, {1001, 1000, 4}, {20000, 5000, 2}, {3000, 1, 5}, {2000, 2, 1}};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
	{
		tu_rows		t = random_rows(cases[c].n, cases[c].d, 200 + c);
		size_t	   *perm = tu_xmalloc(sizeof(size_t) * t.n),
				   *rev = tu_xmalloc(sizeof(size_t) * t.n);
		ae_rowstore a,
					b,
					r;
		ae_rng		g;
		char		why[160];
		uint64_t	seed = 1000 + c;
		ae_status	st;

		for (size_t i = 0; i < t.n; i++)
		{
			perm[i] = i;
			rev[i] = t.n - 1 - i;
		}
		ae_rng_seed(&g, 3 + c);
		ae_rng_shuffle(&g, perm, t.n);

		st = store_rows(&a, &t, NULL, cases[c].max_rows, seed, &al);
		CHECK(st == AE_OK && a.n == cases[c].max_rows && a.seen == t.n,
			  "sampling %zu of %zu rows (d %d): exactly max_rows kept, all seen", cases[c].max_rows,
			  t.n, t.d);
		CHECK(st == AE_OK && is_bottom_k(&a, &t, seed, why, sizeof(why)),
			  "sampling %zu of %zu: the kept rows are those of the smallest keys, in key order (%s)",
			  cases[c].max_rows, t.n, why);
		st = store_rows(&b, &t, perm, cases[c].max_rows, seed, &al);
		CHECK(st == AE_OK && same_store(&a, &b),
			  "sampling %zu of %zu: shuffled arrival gives the same rows in the same order",
			  cases[c].max_rows, t.n);
		st = store_rows(&r, &t, rev, cases[c].max_rows, seed, &al);
		CHECK(st == AE_OK && same_store(&a, &r),
			  "sampling %zu of %zu: reversed arrival gives the same rows in the same order",
			  cases[c].max_rows, t.n);
		ae_rowstore_free(&b);
		ae_rowstore_free(&r);

		/* another seed: another sample */
		if (cases[c].max_rows < t.n / 2)
		{
			ae_rowstore o;
			size_t		common = 0;

			st = store_rows(&o, &t, NULL, cases[c].max_rows, seed + 1, &al);
			for (size_t i = 0; st == AE_OK && i < o.n; i++)
				for (size_t j = 0; j < a.n; j++)
					if (memcmp(o.rows[i], a.rows[j], sizeof(float) * t.d) == 0)
					{
						common++;
						break;
					}
			/* independent samples share about k^2/n rows */
			CHECK(st == AE_OK && common < cases[c].max_rows / 2 + 1 &&
				  !same_store(&a, &o),
				  "sampling %zu of %zu: seed %llu and %llu share %zu rows (expected about %.1f)",
				  cases[c].max_rows, t.n, (unsigned long long) seed,
				  (unsigned long long) seed + 1, common,
				  (double) cases[c].max_rows * cases[c].max_rows / t.n);
			ae_rowstore_free(&o);
		}
		ae_rowstore_free(&a);
		CHECK(ctx.live == 0, "sampling: no live blocks after ae_rowstore_free (%ld)", ctx.live);
		free(perm);
		free(rev);
		tu_rows_free(&t);
	}

	/* exactly max_rows rows: no sample, arrival order */
	{
		tu_rows		t = random_rows(300, 3, 9);
		ae_rowstore s;
		int			order = 1;

		store_rows(&s, &t, NULL, 300, 4, &al);
		for (size_t i = 0; i < s.n; i++)
			order &= memcmp(s.rows[i], t.rows[i], sizeof(float) * 3) == 0;
		CHECK(s.n == 300 && s.seen == 300 && order,
			  "sampling: exactly max_rows offered keeps arrival order (no sample)");
		ae_rowstore_free(&s);
		tu_rows_free(&t);
	}

	/* duplicate rows: the same kept multiset and order whatever the order */
	{
		const size_t distinct = 50,
					rep = 4;
		tu_rows		t = tu_rows_new(distinct * rep, 3);
		size_t	   *perm = tu_xmalloc(sizeof(size_t) * t.n);
		ae_rowstore a,
					b;
		ae_rng		g;
		int			ok = 1;

		ae_rng_seed(&g, 11);
		for (size_t i = 0; i < distinct; i++)
			for (int j = 0; j < 3; j++)
			{
				float		v = (float) ae_rng_normal(&g);

				for (size_t k = 0; k < rep; k++)
					t.rows[k * distinct + i][j] = v;
			}
		for (size_t i = 0; i < t.n; i++)
			perm[i] = i;
		for (int trial = 0; trial < 5 && ok; trial++)
		{
			ae_rng_shuffle(&g, perm, t.n);
			store_rows(&a, &t, NULL, 30, 8, &al);
			store_rows(&b, &t, perm, 30, 8, &al);
			ok = same_store(&a, &b) && a.n == 30;
			for (size_t i = 1; ok && i < a.n; i++)
				ok = a.keys[i - 1] <= a.keys[i];
			ae_rowstore_free(&a);
			ae_rowstore_free(&b);
		}
		CHECK(ok, "sampling with duplicate rows (50 rows x 4): same rows and order for 5 shuffles");
		free(perm);
		tu_rows_free(&t);
	}
	CHECK(ctx.live == 0, "sampling: no live blocks (%ld)", ctx.live);
}

/* ====================================================================== */
/* 4. Uniformity                                                           */
/* ====================================================================== */

/*
 * Each of N = 200 rows should be kept with probability k/N = 0.1 over the
 * seeds 1..S (S = 2000).  With c_i the count of seeds keeping row i,
 * chi2 = sum (c_i - S p)^2 / (S p (1 - p)) is about N - 1 = 199 with
 * standard deviation about sqrt(2 N) = 20 for a uniform sample; the bound
 * [79, 319] is 6 standard deviations each way.  The seed list is fixed, so
 * the result is deterministic: it cannot flake, and a hash that favoured
 * some rows (or arrival positions) by a few percent would fail it.
 */
static void
test_uniformity(void)
{
	const size_t N = 200,
				k = 20;
	const long	S = 2000;
	const double p = (double) k / N;
	tu_rows		t = random_rows(N, 3, 31);
	long	   *count = tu_xcalloc(N, sizeof(long));
	long		first_k = 0,
				identical_to_first = 0;
	double		chi = 0.0,
				maxz = 0.0;
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	int			bad = 0;

	for (long s = 1; s <= S; s++)
	{
		ae_rowstore rs;
		size_t		from_first = 0;

		if (store_rows(&rs, &t, NULL, k, (uint64_t) s, &al) != AE_OK || rs.n != k)
		{
			bad++;
			continue;
		}
		for (size_t i = 0; i < rs.n; i++)
		{
			size_t		idx = (size_t) rs.rows[i][0];	/* row i starts with i */

			count[idx]++;
			from_first += idx < k;
		}
		first_k += (long) from_first;
		identical_to_first += from_first == k;
		ae_rowstore_free(&rs);
	}
	for (size_t i = 0; i < N; i++)
	{
		double		z = (count[i] - S * p) / sqrt(S * p * (1.0 - p));

		chi += z * z;
		maxz = fmax(maxz, fabs(z));
	}
	CHECK(bad == 0, "uniformity: %ld seeds each keep exactly %zu rows", S, k);
	CHECK(chi > 79.0 && chi < 319.0,
		  "uniformity: chi-square of inclusion counts %.1f in [79, 319] (expected about 199)", chi);
	CHECK(maxz < 5.0, "uniformity: no row kept unusually often or seldom (max |z| %.2f < 5)", maxz);
	/* the first k rows to arrive are kept k p times per seed on average */
	CHECK(fabs(first_k / (double) S - k * p) < 0.3 && identical_to_first == 0,
		  "uniformity: arrival position does not matter (first %zu rows kept %.3f per seed, "
		  "expected %.1f; sample = first rows %ld times)", k, first_k / (double) S, k * p,
		  identical_to_first);
	CHECK(ctx.live == 0, "uniformity: no live blocks (%ld)", ctx.live);
	free(count);
	tu_rows_free(&t);
}

/* ====================================================================== */
/* 5. Chunks                                                               */
/* ====================================================================== */

/* The value a wide test row i holds at j (exact in float). */
static float
pattern(size_t i, int j)
{
	return (float) (((i * 7919u) + (size_t) j * 31u) % 16777216u) - 8388608.0f;
}

static void
test_chunks(void)
{
	const int	d = AE_MAX_DIM;		/* 32 rows per 8 MB chunk */
	const size_t n = 100;
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	tu_rows		t = tu_rows_new(n, d);
	ae_rowstore rs;
	ae_status	st;
	size_t		bad = 0;

	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < d; j++)
			t.rows[i][j] = pattern(i, j);

	st = store_rows(&rs, &t, NULL, n, 5, &al);
	for (size_t i = 0; st == AE_OK && i < rs.n; i++)
		for (int j = 0; j < d; j++)
			bad += rs.rows[i][j] != pattern(i, j);
	CHECK(st == AE_OK && rs.n == n && bad == 0,
		  "chunks: %zu rows of %d floats (%.1f MB, several 8 MB chunks) all intact (%zu wrong)",
		  n, d, n * (double) d * 4 / 1048576.0, bad);
	CHECK(ctx.max_request <= CHUNK_LIMIT + 64 && ctx.max_request >= CHUNK_LIMIT / 2,
		  "chunks: no allocation above a chunk (largest %zu bytes)", ctx.max_request);
	{
		int			chunks = 0;

		/* rows 32 apart are in different chunks; count distinct chunk starts */
		for (size_t i = 1; i < rs.n; i++)
			chunks += rs.rows[i] != rs.rows[i - 1] + d;
		CHECK(chunks >= 3, "chunks: the rows span %d chunk boundaries (at least 3)", chunks);
	}
	ae_rowstore_free(&rs);
	CHECK(ctx.live == 0, "chunks: ae_rowstore_free leaves no live blocks (%ld)", ctx.live);

	/* sampling wide rows: the sample is still the bottom-k, intact */
	{
		char		why[160];

		st = store_rows(&rs, &t, NULL, 40, 6, &al);
		bad = 0;
		for (size_t i = 0; st == AE_OK && i < rs.n; i++)
		{
			size_t		src = (size_t) -1;

			for (size_t r = 0; r < n; r++)
				if (rs.rows[i][0] == pattern(r, 0))
					src = r;
			for (int j = 0; src != (size_t) -1 && j < d; j++)
				bad += rs.rows[i][j] != pattern(src, j);
			bad += src == (size_t) -1;
		}
		CHECK(st == AE_OK && rs.n == 40 && bad == 0 && is_bottom_k(&rs, &t, 6, why, sizeof(why)),
			  "chunks: sampling 40 of 100 wide rows keeps the bottom-k, intact (%s)", why);
		ae_rowstore_free(&rs);
	}
	CHECK(ctx.live == 0, "chunks: no live blocks (%ld)", ctx.live);
	tu_rows_free(&t);
}

/* ====================================================================== */
/* 6. Errors and allocation failure                                        */
/* ====================================================================== */

static void
test_errors(void)
{
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_rowstore rs;

	CHECK(ae_rowstore_init(&rs, 0, 10, 1, &al) == AE_EINVAL, "init: d 0 is AE_EINVAL");
	ae_rowstore_free(&rs);
	CHECK(ae_rowstore_init(&rs, -3, 10, 1, &al) == AE_EINVAL, "init: d -3 is AE_EINVAL");
	ae_rowstore_free(&rs);
	CHECK(ae_rowstore_init(&rs, 4, 0, 1, &al) == AE_EINVAL, "init: max_rows 0 is AE_EINVAL");
	ae_rowstore_free(&rs);
	CHECK(ctx.live == 0, "init errors: nothing allocated (%ld)", ctx.live);

	/* a store with no rows */
	CHECK(ae_rowstore_init(&rs, 4, 10, 1, &al) == AE_OK, "init: d 4, max_rows 10");
	ae_rowstore_finish(&rs);
	CHECK(rs.n == 0 && rs.seen == 0, "an empty store finishes with no rows");
	ae_rowstore_free(&rs);
	CHECK(ctx.live == 0 && rs.rows == NULL && rs.chunks == NULL,
		  "free of an empty store: no live blocks, cleared");

	/* allocation failure at every index: NULL or AE_ENOMEM, never a leak */
	{
		tu_rows		t = random_rows(9000, 3, 4);
		tu_alloc_ctx c0;
		ae_allocator a0 = tu_allocator(&c0, -1);
		long		total;
		int			leaks = 0,
					failed = 0,
					bad_rows = 0;

		store_rows(&rs, &t, NULL, 6000, 2, &a0);
		ae_rowstore_free(&rs);
		total = c0.total;
		for (long k = 0; k <= total; k++)
		{
			tu_alloc_ctx c;
			ae_allocator a = tu_allocator(&c, k);
			ae_status	st = store_rows(&rs, &t, NULL, 6000, 2, &a);

			if (st != AE_OK)
				failed++;
			else
			{
				/* a store that did not fail still holds real rows */
				for (size_t i = 0; i < rs.n; i++)
					if ((size_t) rs.rows[i][0] >= t.n ||
						memcmp(rs.rows[i], t.rows[(size_t) rs.rows[i][0]], sizeof(float) * 3) != 0)
					{
						bad_rows++;
						break;
					}
			}
			ae_rowstore_free(&rs);
			if (c.live != 0)
				leaks++;
		}
		CHECK(total >= 6 && failed > 0,
			  "oom: a sampled store needs %ld allocations; %d injected failures stop it", total, failed);
		CHECK(leaks == 0, "oom: failure at each of %ld indexes leaves no live blocks after free (%d leaked)",
			  total + 1, leaks);
		CHECK(bad_rows == 0, "oom: a store that survived holds only offered rows (%d not)", bad_rows);
		tu_rows_free(&t);
	}
}

/* ====================================================================== */

/* Run this program's checks; exit status 1 if any failed. */
int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);

	test_row_key();
	test_no_sampling();
	test_sampling();
	test_uniformity();
	test_chunks();
	test_errors();

	return tu_finish();
}
