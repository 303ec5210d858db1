/*-------------------------------------------------------------------------
 *
 * fuzz_fitstate.c
 *	  libFuzzer target: the fit aggregate's state format (ae_fitstate_read,
 *	  and ae_fitstate_check, which the type's input and receive use), which
 *	  reads any autoencoder.fit_state value a user writes (text, binary, a
 *	  forged INITCOND, a state handed to fit_final or fit_combine by hand).
 *
 * Every input must get the same status and the same message, detail and
 * hint from ae_fitstate_check as from ae_fitstate_read (unless one of them
 * ran out of memory: the check allocates less by design).
 *
 * A state that reads must
 *   - flatten to the bytes read (but for exact rows the writer would have
 *     folded), read back, and flatten again to the same bytes (the flat
 *     form of a state is a fixed point: what Citus ships as text and reads
 *     on the coordinator);
 *   - prepare ae_build's input (as fit_final does) when it has rows;
 *   - merge into a copy of itself (as fit_combine does), and the merged
 *     state must flatten and read back as well;
 * and a state that does not read must leave nothing behind once freed and
 * say why.
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz_util.h"
#include "ae_fitstate.h"

#include <math.h>

/* autoencoder.max_training_rows's default, as the glue passes it. */
#define DEFAULT_MAX_ROWS	1000000

/* The flat form of s (folds pending rows), in malloc'ed memory. */
static unsigned char *
flat(ae_fitstate *s, size_t *len)
{
	ae_error	err;
	unsigned char *buf;

	memset(&err, 0, sizeof(err));
	FZ_CHECK(ae_fitstate_flat_size(s, len, &err) == AE_OK,
			 "flat_size failed: %s", err.message);
	buf = malloc(*len);
	FZ_CHECK(buf != NULL, "out of memory");
	ae_fitstate_flatten(s, buf);
	return buf;
}

/* Read bytes the core itself wrote: must succeed. */
static void
must_read(ae_fitstate *s, const unsigned char *buf, size_t len, const char *what)
{
	ae_error	err;
	ae_status	st;

	memset(&err, 0, sizeof(err));
	st = ae_fitstate_read(s, buf, len, DEFAULT_MAX_ROWS, &fz_alloc, &err);
	FZ_CHECK(st == AE_OK, "%s does not read back (status %d): %s", what, (int) st, err.message);
}

/* ae_build's input from s, as fit_final prepares it. */
static void
prepare(const ae_fitstate *s)
{
	ae_fit_input fi;
	ae_error	err;

	if (s->read == 0)
		return;					/* fit_final returns NULL before this */
	memset(&err, 0, sizeof(err));
	FZ_CHECK(ae_fitstate_prepare(s, &fi, &fz_alloc, &err) == AE_OK,
			 "prepare failed: %s", err.message);
	FZ_CHECK(fi.counts.read == s->read && fi.counts.skipped == s->skipped,
			 "prepared counts differ");
	FZ_CHECK(fi.mom.d == s->d, "moments of %d dimensions for d = %d", fi.mom.d, s->d);
	for (int i = 0; i < s->d; i++)
		FZ_CHECK(isfinite(fi.mom.mean[i]) && isfinite(fi.mom.m2[s->full ? (size_t) i * s->d + i : (size_t) i]),
				 "prepared moments of feature %d are not finite", i + 1);
	if (!s->full)
		FZ_CHECK(fi.counts.kept == s->kept && fi.counts.kept <= s->read,
				 "prepared %llu sample rows, state kept %llu",
				 (unsigned long long) fi.counts.kept, (unsigned long long) s->kept);
	ae_fit_input_free(&fi, &fz_alloc);
}

/*
 * ae_fitstate_check must agree with ae_fitstate_read (status st, error err)
 * on data: the same status and the same message, detail and hint.
 */
static void
check_agrees(const uint8_t *data, size_t size, ae_status st, const ae_error *err)
{
	ae_error	cerr;
	ae_status	cst;

	memset(&cerr, 0, sizeof(cerr));
	cst = ae_fitstate_check(data, size, DEFAULT_MAX_ROWS, &fz_alloc, &cerr);
	if (cst == AE_ENOMEM || st == AE_ENOMEM)
		return;
	FZ_CHECK(cst == st, "ae_fitstate_check says %d (%s), ae_fitstate_read %d (%s)",
			 (int) cst, cerr.message, (int) st, err->message);
	FZ_CHECK(strcmp(cerr.message, err->message) == 0 &&
			 strcmp(cerr.detail, err->detail) == 0 && strcmp(cerr.hint, err->hint) == 0,
			 "ae_fitstate_check and ae_fitstate_read fail differently: \"%s\" and \"%s\"",
			 cerr.message, err->message);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ae_fitstate s,
				again,
				copy;
	ae_error	err;
	ae_status	st;
	unsigned char *f1,
			   *f2,
			   *f3;
	size_t		n1,
				n2,
				n3;
	int			rows_to_fold;

	memset(&err, 0, sizeof(err));
	st = ae_fitstate_read(&s, data, size, DEFAULT_MAX_ROWS, &fz_alloc, &err);
	check_agrees(data, size, st, &err);
	if (st != AE_OK)
	{
		FZ_CHECK(st == AE_EFORMAT || st == AE_ENOMEM || st == AE_ELIMIT,
				 "status %d: %s", (int) st, err.message);
		FZ_CHECK(fz_message_ok(err.message, sizeof(err.message)), "no message");
		ae_fitstate_free(&s);
		return 0;
	}
	FZ_CHECK(s.d >= 0 && s.d <= AE_MAX_DIM, "d = %d", s.d);
	FZ_CHECK(s.full || s.kept <= s.max_rows, "sample of %llu rows above its bound %llu",
			 (unsigned long long) s.kept, (unsigned long long) s.max_rows);

	/*
	 * flat form: what was read is written back byte for byte, except an
	 * exact state in rows form holding rows enough to be folded (the writer
	 * folds them into moments first; the reader accepts the rows), and the
	 * flat form is a fixed point after one trip
	 */
	rows_to_fold = (data[6] & 3) == 3 && 2 * s.read >= (uint64_t) s.d + 1;
	f1 = flat(&s, &n1);
	FZ_CHECK(rows_to_fold || (n1 == size && memcmp(f1, data, size) == 0),
			 "a state read is not written back to the same bytes (%zu and %zu bytes)", size, n1);
	must_read(&again, f1, n1, "a flattened state");
	f2 = flat(&again, &n2);
	FZ_CHECK(n1 == n2 && memcmp(f1, f2, n1) == 0,
			 "flatten(read(flatten(s))) differs from flatten(s) (%zu and %zu bytes)", n1, n2);
	FZ_CHECK(again.read == s.read && again.skipped == s.skipped && again.d == s.d,
			 "counts changed through the flat form");
	free(f2);

	prepare(&s);

	/* merged with a copy of itself */
	must_read(&copy, f1, n1, "a flattened state (copy)");
	st = ae_fitstate_merge(&copy, &s, &err);
	FZ_CHECK(st == AE_OK || st == AE_ENOMEM || st == AE_ELIMIT,
			 "merging a state with itself failed (status %d): %s", (int) st, err.message);
	if (st == AE_OK)
	{
		FZ_CHECK(copy.skipped == 2 * s.skipped, "merged skipped count");
		FZ_CHECK(copy.read == 2 * s.read, "merged read count");
		prepare(&copy);
		f3 = flat(&copy, &n3);
		ae_fitstate_free(&again);
		must_read(&again, f3, n3, "a merged state");
		free(f3);
	}
	free(f1);
	ae_fitstate_free(&copy);
	ae_fitstate_free(&again);
	ae_fitstate_free(&s);
	return 0;
}
