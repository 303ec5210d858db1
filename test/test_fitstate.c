/*-------------------------------------------------------------------------
 *
 * test_fitstate.c
 *	  Unit tests of the fit aggregate's state (src/core/ae_fitstate.c): its
 *	  byte format, merges, and the checks that make a forged state (any
 *	  role can hand fit_final or fit_combine bytes of its own) an error
 *	  rather than a crash, an overflow or a huge allocation.
 *
 * Sections:
 *	 1. round trips: every form (exact rows/moments, sampled rows/moments)
 *	    reads back and flattens to the same bytes
 *	 2. merges: two halves merged equal the whole (exact solver within
 *	    rounding, the sample bit for bit); other options refuse to merge
 *	 3. forged states: counts beyond 2^53, co-moments beyond what the
 *	    range allows (Cauchy-Schwarz, variance, mean), non-finite values,
 *	    a header that promises a large dimension with a short payload
 *	    (rejected before anything of that size is allocated), a merge
 *	    whose counts overflow, a row-less state's count of NULLs
 *	 4. no leaks after any accepted or rejected state
 *	 5. ae_fitstate_check: on every state of 1 and 3 (each goes through
 *	    read_both), the status and messages of ae_fitstate_read, nothing
 *	    kept; for the exact solver's moments form of 784 dimensions, no
 *	    allocation the size of the d x d matrix a read fills; a state of
 *	    one row of 8192 floats costs a MB or so to read or check
 *
 * Prints one line per check and "N passed, M failed" at the end; exits
 * non-zero if anything failed.
 *
 *-------------------------------------------------------------------------
 */
#include "test_util.h"
#include "ae_bytes.h"
#include "ae_fitstate.h"

#include <stdint.h>

#define DEFAULT_MAX_ROWS 1000000
#define MAX_TEST_DIM	784		/* widest rows make_state makes */

static tu_alloc_ctx actx = {.fail_at = -1};
static ae_allocator al = {tu_alloc_fn, tu_release_fn, &actx};

static const char EXACT[] = "{\"latent_dim\": 2, \"activation\": \"linear\"}";
static const char SAMPLED[] = "{\"latent_dim\": 2, \"max_rows\": 16, \"epochs\": 1}";

/* A state of options json holding rows first..first+n-1 of a fixed set. */
static void
make_state(ae_fitstate *s, const char *json, int first, int n, int d)
{
	ae_error	err = {0};
	ae_rng		r;

	if (ae_fitstate_init(s, json, strlen(json), &al, &err) != AE_OK ||
		(n > 0 && ae_fitstate_start(s, d, DEFAULT_MAX_ROWS, &err) != AE_OK))
	{
		fprintf(stderr, "make_state: %s\n", err.message);
		exit(2);
	}
	for (int i = 0; i < first + n; i++)
	{
		float		row[MAX_TEST_DIM];

		ae_rng_seed(&r, 1000 + (uint64_t) i);
		for (int j = 0; j < d; j++)
			row[j] = (float) (ae_rng_normal(&r) * (j + 1) + (j == 0 ? i * 0.01 : 0.0));
		if (i < first)
			continue;
		memcpy(ae_fitstate_slot(s), row, sizeof(float) * d);
		if (ae_fitstate_commit(s, &err) != AE_OK)
		{
			fprintf(stderr, "make_state: %s\n", err.message);
			exit(2);
		}
	}
}

/* The flat bytes of s (malloc'ed). */
static unsigned char *
flat(ae_fitstate *s, size_t *len)
{
	ae_error	err = {0};
	unsigned char *buf;

	if (ae_fitstate_flat_size(s, len, &err) != AE_OK)
	{
		fprintf(stderr, "flat: %s\n", err.message);
		exit(2);
	}
	buf = malloc(*len);
	ae_fitstate_flatten(s, buf);
	return buf;
}

/* Read buf; the status, with the message in err. */
static ae_status
read_state(ae_fitstate *s, const unsigned char *buf, size_t len, ae_error *err)
{
	memset(err, 0, sizeof(*err));
	return ae_fitstate_read(s, buf, len, DEFAULT_MAX_ROWS, &al, err);
}

/*
 * Check buf with ae_fitstate_check; the status, with the message in err.
 * *max_request is the largest allocation it asked for, *kept the blocks
 * it left allocated.
 */
static ae_status
check_state(const unsigned char *buf, size_t len, ae_error *err,
			size_t *max_request, long *kept)
{
	long		live = actx.live;
	ae_status	st;

	memset(err, 0, sizeof(*err));
	actx.max_request = 0;
	st = ae_fitstate_check(buf, len, DEFAULT_MAX_ROWS, &al, err);
	*max_request = actx.max_request;
	*kept = actx.live - live;
	return st;
}

/*
 * Read buf as read_state does, and check that ae_fitstate_check agrees: the
 * same status, message, detail and hint, and nothing left allocated.
 */
static ae_status
read_both(const char *what, ae_fitstate *s, const unsigned char *buf,
		  size_t len, ae_error *err)
{
	ae_error	cerr;
	size_t		max_request;
	long		kept;
	ae_status	cst = check_state(buf, len, &cerr, &max_request, &kept);
	ae_status	st = read_state(s, buf, len, err);

	CHECK(cst == st && strcmp(cerr.message, err->message) == 0 &&
		  strcmp(cerr.detail, err->detail) == 0 && strcmp(cerr.hint, err->hint) == 0 &&
		  kept == 0,
		  "%s: ae_fitstate_check agrees with ae_fitstate_read (status %d and %d, \"%s\" and "
		  "\"%s\"), keeping %ld blocks", what, (int) cst, (int) st, cerr.message, err->message,
		  kept);
	return st;
}

/* ====================================================================== */
/* 1. Round trips                                                          */
/* ====================================================================== */

/* A state of n rows reads back and flattens to the same bytes. */
static void
round_trip(const char *what, const char *json, int n, int d)
{
	ae_fitstate s,
				back;
	ae_error	err;
	size_t		len,
				len2;
	unsigned char *buf,
			   *buf2;

	make_state(&s, json, 0, n, d);
	buf = flat(&s, &len);
	if (CHECK(read_both(what, &back, buf, len, &err) == AE_OK, "%s: reads back (%s)", what, err.message))
	{
		buf2 = flat(&back, &len2);
		CHECK(len2 == len && memcmp(buf, buf2, len) == 0 && back.read == (uint64_t) n,
			  "%s: flattens to the same %zu bytes, %d rows read", what, len, n);
		free(buf2);
	}
	ae_fitstate_free(&back);
	ae_fitstate_free(&s);
	free(buf);
}

static void
test_round_trips(void)
{
	round_trip("exact, rows form", EXACT, 2, 6);
	round_trip("exact, moments form", EXACT, 300, 6);
	round_trip("sampled, rows form", SAMPLED, 10, 5);
	round_trip("sampled, moments form", SAMPLED, 100, 5);
}

/* ====================================================================== */
/* 2. Merges                                                               */
/* ====================================================================== */

static void
test_merges(void)
{
	ae_fitstate whole,
				a,
				b;
	ae_error	err = {0};
	size_t		lw,
				la;
	unsigned char *bw;
	double		maxdiff = 0.0;

	/* exact: moments of the halves merged equal the whole's within rounding */
	make_state(&whole, EXACT, 0, 600, 6);
	make_state(&a, EXACT, 0, 350, 6);
	make_state(&b, EXACT, 350, 250, 6);
	bw = flat(&whole, &lw);		/* folds pending rows */
	free(flat(&a, &la));
	free(flat(&b, &la));
	CHECK(ae_fitstate_merge(&a, &b, &err) == AE_OK && a.read == 600,
		  "exact: halves of 350 and 250 rows merge to 600 rows (%s)", err.message);
	for (int i = 0; i < 6; i++)
		for (int j = i; j < 6; j++)
		{
			double		w = whole.mom.m2[i * 6 + j],
						m = a.mom.m2[i * 6 + j];

			if (fabs(w - m) / (fabs(w) + 1.0) > maxdiff)
				maxdiff = fabs(w - m) / (fabs(w) + 1.0);
		}
	CHECK(maxdiff < 1e-12, "exact: merged co-moments equal the whole's (max relative difference %.2g)",
		  maxdiff);
	free(bw);
	ae_fitstate_free(&whole);
	ae_fitstate_free(&a);
	ae_fitstate_free(&b);

	/* sampled: order-independent, so bit for bit */
	make_state(&whole, SAMPLED, 0, 200, 5);
	make_state(&a, SAMPLED, 0, 120, 5);
	make_state(&b, SAMPLED, 120, 80, 5);
	CHECK(ae_fitstate_merge(&b, &a, &err) == AE_OK, "sampled: halves merge (%s)", err.message);
	{
		ae_fit_input fw,
					fm;
		int			same;

		memset(&fw, 0, sizeof(fw));
		memset(&fm, 0, sizeof(fm));
		same = ae_fitstate_prepare(&whole, &fw, &al, &err) == AE_OK &&
			ae_fitstate_prepare(&b, &fm, &al, &err) == AE_OK &&
			fw.counts.kept == 16 && fm.counts.kept == 16 && fm.counts.read == 200 &&
			memcmp(fw.mom.mean, fm.mom.mean, sizeof(double) * 5) == 0;
		for (int r = 0; same && r < 16; r++)
			same = memcmp(fw.rows[r], fm.rows[r], sizeof(float) * 5) == 0;
		CHECK(same, "sampled: the merged halves give the whole's 16 sample rows in key order and "
			  "its exact means, bit for bit");
		ae_fit_input_free(&fw, &al);
		ae_fit_input_free(&fm, &al);
	}
	ae_fitstate_free(&whole);
	ae_fitstate_free(&a);
	ae_fitstate_free(&b);

	/* other options refuse */
	make_state(&a, SAMPLED, 0, 10, 5);
	make_state(&b, EXACT, 0, 10, 5);
	CHECK(ae_fitstate_merge(&a, &b, &err) == AE_EINVAL &&
		  strstr(err.message, "different options") != NULL,
		  "states of other options do not merge: \"%s\"", err.message);
	ae_fitstate_free(&a);
	ae_fitstate_free(&b);
}

/* ====================================================================== */
/* 3. Forged states                                                        */
/* ====================================================================== */

/* Patched bytes must be AE_EFORMAT with expect in the message. */
static void
rejected(const char *what, const unsigned char *buf, size_t len, const char *expect)
{
	ae_fitstate s;
	ae_error	err;
	ae_status	st = read_both(what, &s, buf, len, &err);

	CHECK(st == AE_EFORMAT && strstr(err.message, expect) != NULL,
		  "%s: rejected with \"%s\" (got %d \"%s\")", what, expect, (int) st, err.message);
	ae_fitstate_free(&s);
}

/* Offset of co-moment (i, j), i <= j, in an exact state's moments form. */
static size_t
m2_offset(const ae_fitstate *s, int d, int i, int j)
{
	size_t		off = AE_FITSTATE_HEADER + s->opts_len + 8 * 3 * (size_t) d;

	for (int r = 0; r < i; r++)
		off += 8 * (size_t) (d - r);
	return off + 8 * (size_t) (j - i);
}

static void
test_forged(void)
{
	ae_fitstate s,
				a,
				b;
	ae_error	err;
	size_t		len;
	unsigned char *buf,
			   *copy;
	double		v;
	const int	d = 6;

	make_state(&s, EXACT, 0, 300, d);
	buf = flat(&s, &len);
	copy = malloc(len);

	memcpy(copy, buf, len);
	ae_put_u64(copy + 16, (uint64_t) 1 << 63);
	rejected("exact, read = 2^63", copy, len, "more than");

	memcpy(copy, buf, len);
	v = -1.5e308;
	memcpy(copy + m2_offset(&s, d, 0, 1), &v, 8);
	rejected("exact, co-moment -1.5e308", copy, len, "co-moment of features 1 and 2");

	/* just past Cauchy-Schwarz: |m2_01| = 1.01 sqrt(m2_00 m2_11) */
	memcpy(copy, buf, len);
	v = 1.01 * sqrt(s.mom.m2[0] * s.mom.m2[d + 1]);
	memcpy(copy + m2_offset(&s, d, 0, 1), &v, 8);
	rejected("exact, co-moment 1% past Cauchy-Schwarz", copy, len, "co-moment");

	/* a variance larger than 300 rows inside the range can have */
	memcpy(copy, buf, len);
	v = 300.0 * (s.mom.hi[2] - s.mom.lo[2]) * (s.mom.hi[2] - s.mom.lo[2]) * 1.01;
	memcpy(copy + m2_offset(&s, d, 2, 2), &v, 8);
	rejected("exact, variance beyond the range", copy, len, "moments of feature 3");

	memcpy(copy, buf, len);
	v = s.mom.hi[1] + 1.0;
	memcpy(copy + AE_FITSTATE_HEADER + s.opts_len + 8, &v, 8);
	rejected("exact, mean above the maximum", copy, len, "moments of feature 2");

	memcpy(copy, buf, len);
	v = NAN;
	memcpy(copy + m2_offset(&s, d, 3, 4), &v, 8);
	rejected("exact, NaN co-moment", copy, len, "non-finite");

	memcpy(copy, buf, len - 8);
	rejected("exact, truncated by 8 bytes", copy, len - 8, "length");

	/* a header promising 8,000 dimensions with a payload of 6: no allocation of that size */
	memcpy(copy, buf, len);
	ae_put_u32(copy + 8, 8000);
	actx.max_request = 0;
	rejected("exact, d = 8000 with a payload for d = 6", copy, len, "length does not match its header");
	CHECK(actx.max_request < 65536,
		  "exact, d = 8000 forged: largest allocation %zu bytes (nothing sized by d)", actx.max_request);
	{
		size_t		max_request;
		long		kept;

		check_state(copy, len, &err, &max_request, &kept);
		CHECK(max_request < 65536,
			  "exact, d = 8000 forged: largest allocation of ae_fitstate_check %zu bytes", max_request);
	}

	/* counts that overflow when merged */
	memcpy(copy, buf, len);
	ae_put_u64(copy + 16, ((uint64_t) 1 << 52) + 1);
	memset(&err, 0, sizeof(err));
	if (CHECK(read_both("exact, read = 2^52 + 1", &a, copy, len, &err) == AE_OK &&
			  read_state(&b, copy, len, &err) == AE_OK,
			  "exact, read = 2^52 + 1: reads (a count a real table could not have, but consistent)"))
		CHECK(ae_fitstate_merge(&a, &b, &err) == AE_ELIMIT && strstr(err.message, "more than") != NULL,
			  "two states of 2^52 + 1 rows refuse to merge: \"%s\"", err.message);
	ae_fitstate_free(&a);
	ae_fitstate_free(&b);
	free(copy);
	free(buf);
	ae_fitstate_free(&s);

	/* a state without rows (only NULLs seen): its count is checked too */
	make_state(&s, EXACT, 0, 0, d);
	ae_fitstate_skip(&s);
	buf = flat(&s, &len);
	copy = malloc(len);
	memcpy(copy, buf, len);
	ae_put_u64(copy + 24, UINT64_MAX);
	rejected("no rows, skipped = 2^64 - 1", copy, len, "more than");
	memcpy(copy, buf, len);
	ae_put_u64(copy + 24, (uint64_t) 1 << 53);
	memset(&err, 0, sizeof(err));
	if (CHECK(read_both("no rows, skipped = 2^53", &a, copy, len, &err) == AE_OK &&
			  read_state(&b, copy, len, &err) == AE_OK,
			  "no rows, skipped = 2^53: reads (%s)", err.message))
		CHECK(ae_fitstate_merge(&a, &b, &err) == AE_ELIMIT && a.skipped == (uint64_t) 1 << 53,
			  "two states of 2^53 NULL rows refuse to merge, nothing wraps: \"%s\"", err.message);
	ae_fitstate_free(&a);
	ae_fitstate_free(&b);
	free(copy);
	free(buf);
	ae_fitstate_free(&s);

	/* sampled, moments form */
	make_state(&s, SAMPLED, 0, 100, 5);
	buf = flat(&s, &len);
	copy = malloc(len);
	memcpy(copy, buf, len);
	ae_put_u64(copy + 16, (uint64_t) 1 << 63);
	rejected("sampled, read = 2^63", copy, len, "more than");
	memcpy(copy, buf, len);
	ae_put_u64(copy + 40, 17);
	rejected("sampled, 17 rows claimed for a sample of 16", copy, len, "length");
	memcpy(copy, buf, len);
	copy[len - 1] ^= 0x40;
	rejected("sampled, a row's last byte flipped", copy, len, "sample row");
	free(copy);
	free(buf);
	ae_fitstate_free(&s);
}

/* ====================================================================== */
/* 5. ae_fitstate_check                                                    */
/* ====================================================================== */

/*
 * The exact solver's moments form of MAX_TEST_DIM dimensions: a read fills
 * the d x d co-moment matrix, a check allocates nothing of that size (the
 * agreement of the two on every state is read_both's, above).
 */
static void
test_check_memory(void)
{
	const int	d = MAX_TEST_DIM;
	const size_t matrix = sizeof(double) * (size_t) d * d;
	ae_fitstate s,
				back;
	ae_error	err;
	size_t		len,
				read_max,
				check_max;
	long		kept;
	ae_status	st;
	unsigned char *buf;

	make_state(&s, EXACT, 0, d / 2 + 8, d);
	buf = flat(&s, &len);
	CHECK(len > matrix / 2 && (buf[6] & 2) == 0,
		  "exact, %d dimensions: a moments form of %zu bytes", d, len);
	actx.max_request = 0;
	st = read_state(&back, buf, len, &err);
	read_max = actx.max_request;
	CHECK(st == AE_OK, "exact, %d dimensions: reads (%s)", d, err.message);
	ae_fitstate_free(&back);
	st = check_state(buf, len, &err, &check_max, &kept);
	CHECK(st == AE_OK && kept == 0,
		  "exact, %d dimensions: checks, keeping %ld blocks (%s)", d, kept, err.message);
	CHECK(read_max >= matrix && check_max < matrix / 2 && check_max <= read_max / 3,
		  "exact, %d dimensions: largest allocation %zu bytes to check, %zu to read "
		  "(the %zu-byte co-moment matrix)", d, check_max, read_max, matrix);
	free(buf);
	ae_fitstate_free(&s);
}

/*
 * A state of one row of 8192 floats is 32 KB: reading or checking it
 * allocates a few MB (sums of d features), not d^2 / 2 floats (the exact solver's pending rows,
 * 134 MB) nor a first sample block of 1024 rows (32 MB).
 */
static void
test_small_wide(void)
{
	const int	d = 8192;
	const char *kinds[] = {EXACT, "{\"latent_dim\": 2, \"max_rows\": 5000, \"epochs\": 1}"};

	for (int k = 0; k < 2; k++)
	{
		ae_fitstate s,
					back;
		ae_error	err = {0};
		size_t		len,
					check_max;
		long		kept;
		unsigned char *buf;
		float	   *row;

		if (ae_fitstate_init(&s, kinds[k], strlen(kinds[k]), &al, &err) != AE_OK ||
			ae_fitstate_start(&s, d, DEFAULT_MAX_ROWS, &err) != AE_OK)
		{
			fprintf(stderr, "test_small_wide: %s\n", err.message);
			exit(2);
		}
		row = ae_fitstate_slot(&s);
		for (int j = 0; j < d; j++)
			row[j] = (float) j / d;
		if (ae_fitstate_commit(&s, &err) != AE_OK)
		{
			fprintf(stderr, "test_small_wide: %s\n", err.message);
			exit(2);
		}
		buf = flat(&s, &len);
		actx.max_request = 0;
		if (CHECK(read_state(&back, buf, len, &err) == AE_OK, "one row of %d: reads (%s)", d, err.message))
			ae_fitstate_free(&back);
		CHECK(actx.max_request <= 4 * ((size_t) 1 << 20),
			  "%s, one row of %d (%zu bytes): largest allocation to read %zu bytes",
			  k ? "sampled" : "exact", d, len, actx.max_request);
		ae_status	st = check_state(buf, len, &err, &check_max, &kept);

		CHECK(st == AE_OK && check_max <= 4 * ((size_t) 1 << 20),
			  "%s, one row of %d: largest allocation to check %zu bytes",
			  k ? "sampled" : "exact", d, check_max);
		free(buf);
		ae_fitstate_free(&s);
	}
}

int
main(void)
{
	test_round_trips();
	test_merges();
	test_forged();
	test_check_memory();
	test_small_wide();
	CHECK(actx.live == 0, "no live blocks after every state is freed (%ld)", actx.live);
	return tu_finish();
}
