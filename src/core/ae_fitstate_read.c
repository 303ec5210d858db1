/*-------------------------------------------------------------------------
 *
 * ae_fitstate_read.c
 *	  Reading and checking the fit aggregate's state in its byte format
 *	  (ae_fitstate_read, ae_fitstate_check); the format is described in
 *	  ae_fitstate.h, written by ae_fitstate.c.
 *
 * ae_fitstate_read checks every field before it trusts it: lengths against
 * the buffer (before anything sized by d is allocated), the options
 * (parsed, checked and resolved against d as for a new state), the kind
 * against the options, every count against the others (a sample holds
 * exactly min(read, max_rows) rows), every float finite, ranges ordered,
 * the limbs normalised and the moments they give inside the range, each
 * row inside the range and its key its hash.  ae_fitstate_check makes the
 * same checks with the same errors, keeping nothing: an exact solver's
 * moments are checked where they lie in the buffer.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_fitstate.h"
#include "ae_fitstate_int.h"
#include "ae_bytes.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define BAD(...)	ae_fail(err, AE_EFORMAT, __VA_ARGS__)

/* A format error whose message is what, then the nested failure's message. */
static ae_status
bad_nested(ae_error *err, const char *what)
{
	char		inner[sizeof(err->message)];

	if (err == NULL)
		return AE_EFORMAT;
	memcpy(inner, err->message, sizeof(inner));
	return BAD("%s: %.180s", what, inner);
}

/* The double whose little-endian bytes are at p. */
static inline double
get_double(const unsigned char *p)
{
	uint64_t	bits = ae_get_u64(p);
	double		v;

	memcpy(&v, &bits, 8);
	return v;
}

/*
 * Check the exact solver's moments form where it lies, at p (count, sizes
 * checked by caller), for n rows.  The moments must be ones that n float
 * rows can have: every mean inside its range, the range inside float's,
 * every variance at most the squared range, every co-moment at most the
 * product of the two standard deviations (Cauchy-Schwarz), each with a
 * relative slack for rounding.  Moments bounded this way cannot overflow
 * when states merge.  The standard deviations are computed once into sd
 * (d doubles of scratch), so a co-moment costs a multiplication and a
 * comparison, not a square root; the loops run without early exits (they
 * vectorise) and look for the culprit only when a check failed.
 */
static ae_status
check_moments(size_t d, double n, const unsigned char *p, double *sd,
			  ae_error *err)
{
	const unsigned char *tri = p + 24 * d;
	const unsigned char *row;
	size_t		count = d * (d + 1) / 2;
	int			finite = 1;

	for (size_t k = 0; k < 3 * d; k++)
		finite &= isfinite(get_double(p + 8 * k)) != 0;
	if (!finite)
		return BAD("the state's moments contain a non-finite value");
	for (size_t k = 0; k < count; k++)
		finite &= isfinite(get_double(tri + 8 * k)) != 0;
	if (!finite)
		return BAD("the state's co-moments contain a non-finite value");
	row = tri;
	for (size_t i = 0; i < d; i++)
	{
		double		mean = get_double(p + 8 * i),
					lo = get_double(p + 8 * (d + i)),
					hi = get_double(p + 8 * (2 * d + i)),
					var = get_double(row),
					tol = 1e-6 * (fabs(lo) + fabs(hi)) + 1e-30,
					range2 = (hi - lo) * (hi - lo);

		if (!(lo <= hi) || lo < -FLT_MAX || hi > FLT_MAX || (double) (float) lo != lo ||
			(double) (float) hi != hi || !(mean >= lo - tol && mean <= hi + tol) ||
			!(var >= 0.0) || !(var <= n * range2 * (1 + 1e-6) + 1e-30))
			return BAD("the state's moments of feature %zu are inconsistent", i + 1);
		sd[i] = sqrt(var);
		row += 8 * (d - i);
	}
	row = tri;
	for (size_t i = 0; i < d; i++)
	{
		double		bound = sd[i] * (1 + 1e-6);
		int			ok = 1;

		for (size_t j = i + 1; j < d; j++)
			ok &= fabs(get_double(row + 8 * (j - i))) <= bound * sd[j] + 1e-30;
		for (size_t j = i + 1; !ok && j < d; j++)
			if (!(fabs(get_double(row + 8 * (j - i))) <= bound * sd[j] + 1e-30))
				return BAD("the state's co-moment of features %zu and %zu is inconsistent",
						   i + 1, j + 1);
		row += 8 * (d - i);
	}
	return AE_OK;
}

/*
 * Read the exact solver's moments form (count, sizes checked by caller)
 * into s, checked first (check_moments); with check_only, only checked.
 */
static ae_status
read_moments(ae_fitstate *s, const unsigned char *p, int check_only,
			 ae_error *err)
{
	size_t		d = (size_t) s->d;
	double	   *sd = ae_fitstate_xalloc(s, sizeof(double) * d);
	ae_status	st;

	if (sd == NULL)
		return ae_fail(err, AE_ENOMEM, "out of memory");
	st = check_moments(d, (double) s->read, p, sd, err);
	ae_fitstate_xfree(s, sd);
	if (st != AE_OK || check_only)
		return st;
	s->mom_storage = ae_fitstate_xalloc(s, sizeof(double) * ae_moments_doubles(s->d, 1));
	if (s->mom_storage == NULL)
		return ae_fail(err, AE_ENOMEM, "out of memory");
	ae_moments_init(&s->mom, s->d, 1, s->mom_storage);
	/* (finite: checked) */
	(void) ae_get_doubles(p, s->mom.mean, d);
	(void) ae_get_doubles(p + 8 * d, s->mom.lo, d);
	(void) ae_get_doubles(p + 16 * d, s->mom.hi, d);
	p += 24 * d;
	for (size_t i = 0; i < d; i++)
	{
		(void) ae_get_doubles(p, s->mom.m2 + i * d + i, d - i);
		p += 8 * (d - i);
	}
	s->mom.n = s->read;
	return AE_OK;
}

/* Whether the exact sums of a sampled state agree with its range. */
static ae_status
check_exact(const ae_fitstate *s, ae_error *err)
{
	for (int i = 0; i < s->d; i++)
	{
		const int64_t *l = s->exact.limbs + (size_t) i * AE_EXACT_LIMBS;

		for (int k = 0; k < AE_EXACT_LIMBS; k++)
		{
			int			top = k == AE_EXACT_SUM_LIMBS - 1 || k == AE_EXACT_LIMBS - 1;

			if (top ? (l[k] <= -((int64_t) 1 << 31) || l[k] >= ((int64_t) 1 << 31)) :
				(l[k] < 0 || l[k] >= ((int64_t) 1 << 32)))
				return BAD("the state's sums are not normalised");
		}
		if (l[AE_EXACT_LIMBS - 1] < 0)
			return BAD("the state's sums of squares are negative");
	}
	for (int i = 0; i < s->d; i++)
	{
		double		mean,
					m2,
					lo = s->lo[i],
					hi = s->hi[i],
					tol = 1e-6 * (fabs(lo) + fabs(hi)) + 1e-30;

		ae_exact_moments(&s->exact, i, s->read, &mean, &m2);
		if (!(mean >= lo - tol && mean <= hi + tol) ||
			!(m2 / (double) s->read <= (hi - lo) * (hi - lo) * (1 + 1e-6) + tol))
			return BAD("the state's sums of feature %d do not fit its range", i + 1);
	}
	return AE_OK;
}

/* Read n sample rows (key, d floats each), each inside the range. */
static ae_status
read_sample(ae_fitstate *s, const unsigned char *p, uint64_t n, int range,
			ae_error *err)
{
	size_t		d = (size_t) s->d;
	uint64_t	seed = AE_SAMPLE_SEED(s->opts.cfg.seed);

	for (uint64_t r = 0; r < n; r++, p += 8 + 4 * d)
	{
		float	   *row = ae_fitstate_slot(s);
		uint64_t	key = ae_get_u64(p);

		if (row == NULL)
			return ae_fail(err, AE_ENOMEM, "out of memory");
		if (!ae_get_floats(p + 8, row, d))
			return BAD("sample row %llu contains a non-finite value", (unsigned long long) r + 1);
		if (key != ae_row_key(row, s->d, seed))
			return BAD("sample row %llu does not match its key", (unsigned long long) r + 1);
		for (size_t i = 0; range && i < d; i++)
			if (row[i] < s->lo[i] || row[i] > s->hi[i])
				return BAD("sample row %llu lies outside the state's range", (unsigned long long) r + 1);
		if (!range)
		{
			/* rows form: the moments come from the rows */
			ae_exact_add(&s->exact, row);
			ae_fitstate_update_range(s, row);
			s->read++;
		}
		s->slot_is_new = 0;
		if (ae_fitstate_append(s, key, row, err) != AE_OK)
			return AE_ENOMEM;
	}
	return AE_OK;
}

/*
 * Read and check the payload of a state whose header and options are read
 * (with check_only, an exact solver's moments are only checked).
 */
static ae_status
read_payload(ae_fitstate *s, int flags, uint64_t read, uint64_t n,
			 const unsigned char *p, size_t rest, int check_only, ae_error *err)
{
	size_t		d = (size_t) s->d;
	int			rf = (flags & AE_FITSTATE_FLAG_ROWS) != 0;

	if (s->full && rf)
	{
		if (n != read || n > rest / (4 * d) || rest != n * 4 * d)
			return BAD("the state's rows do not match its length or count");
		for (uint64_t r = 0; r < n; r++)
		{
			if (!ae_get_floats(p + r * 4 * d, ae_fitstate_slot(s), d))
				return BAD("row %llu contains a non-finite value", (unsigned long long) r + 1);
			if (ae_fitstate_commit_kept(s, err) != AE_OK)
				return AE_ENOMEM;
		}
		return AE_OK;
	}
	if (s->full)
	{
		if (n != 0 || rest != 8 * (3 * d + d * (d + 1) / 2))
			return BAD("the state's moments do not match its length");
		s->read = read;
		return read_moments(s, p, check_only, err);
	}
	if (n != (read < s->max_rows ? read : s->max_rows) || (rf && n != read))
		return BAD("the state's sample of %llu rows does not match %llu rows read",
				   (unsigned long long) n, (unsigned long long) read);
	if (rest < (rf ? 0 : 8 * d + 8 * ae_exact_limbs(s->d)) ||
		n > (rest - (rf ? 0 : 8 * d + 8 * ae_exact_limbs(s->d))) / (8 + 4 * d) ||
		rest != (rf ? 0 : 8 * d + 8 * ae_exact_limbs(s->d)) + n * (8 + 4 * d))
		return BAD("the state's sample does not match its length");
	if (!rf)
	{
		if (!ae_get_floats(p, s->lo, d) || !ae_get_floats(p + 4 * d, s->hi, d))
			return BAD("the state's range contains a non-finite value");
		for (size_t i = 0; i < d; i++)
			if (s->lo[i] > s->hi[i])
				return BAD("the state's range of feature %zu is empty", i + 1);
		p += 8 * d;
		for (size_t k = 0; k < ae_exact_limbs(s->d); k++, p += 8)
			s->exact.limbs[k] = (int64_t) ae_get_u64(p);
		s->read = read;
		if (check_exact(s, err) != AE_OK)
			return AE_EFORMAT;
	}
	return read_sample(s, p, n, !rf, err);
}

/*
 * Whether rest bytes are the payload the header describes: checked before
 * anything is allocated for d, so that a forged header costs nothing.
 * read_payload checks the counts against each other.
 */
static int
payload_fits(int flags, uint64_t d, uint64_t read, uint64_t n, size_t rest)
{
	uint64_t	row = (flags & AE_FITSTATE_FLAG_FULL) ? 4 * d : 8 + 4 * d;
	uint64_t	fixed;

	if ((flags & AE_FITSTATE_FLAG_FULL) && !(flags & AE_FITSTATE_FLAG_ROWS))
		return n == 0 && rest == 8 * (3 * d + d * (d + 1) / 2);
	fixed = (flags & (AE_FITSTATE_FLAG_FULL | AE_FITSTATE_FLAG_ROWS)) ? 0 :
		8 * d + 8 * ae_exact_limbs((int) d);
	if ((flags & AE_FITSTATE_FLAG_ROWS) && n != read)
		return 0;
	return rest >= fixed && n <= (rest - fixed) / row && rest == fixed + n * row;
}

/*
 * Read a flat state, checking every field before using it; with
 * check_only, an exact solver's moments are checked where they lie and not
 * copied (s may then only be freed).
 */
static ae_status
read_flat(ae_fitstate *s, const unsigned char *buf, size_t len,
		  uint64_t default_max_rows, const ae_allocator *alloc,
		  int check_only, ae_error *err)
{
	uint32_t	version,
				flags,
				d,
				optlen;
	uint64_t	read,
				skipped,
				max_rows,
				n;
	ae_status	st;

	memset(s, 0, sizeof(*s));
	s->alloc = *alloc;
	if (len < AE_FITSTATE_HEADER || memcmp(buf, AE_FITSTATE_MAGIC, 4) != 0)
		return BAD("the bytes do not start with a fit state header");
	version = ae_get_u16(buf + 4);
	if (version != AE_FITSTATE_VERSION)
		return BAD("fit state format version %u is not supported (this build reads version %d)",
				   version, AE_FITSTATE_VERSION);
	flags = ae_get_u16(buf + 6);
	d = ae_get_u32(buf + 8);
	optlen = ae_get_u32(buf + 12);
	read = ae_get_u64(buf + 16);
	skipped = ae_get_u64(buf + 24);
	max_rows = ae_get_u64(buf + 32);
	n = ae_get_u64(buf + 40);
	if ((flags & ~(AE_FITSTATE_FLAG_FULL | AE_FITSTATE_FLAG_ROWS)) != 0 ||
		d > AE_MAX_DIM || optlen > AE_FITSTATE_MAX_OPTS ||
		optlen > len - AE_FITSTATE_HEADER)
		return BAD("the state's header is invalid");
	st = ae_fitstate_init(s, (const char *) buf + AE_FITSTATE_HEADER, optlen, alloc, err);
	if (st == AE_EINVAL || st == AE_EFORMAT)
		return bad_nested(err, "the state's options are invalid");
	if (st != AE_OK)
		return st;
	if (s->opts_len != optlen || memcmp(s->opts_json, buf + AE_FITSTATE_HEADER, optlen) != 0)
		return BAD("the state's options are not in canonical form");
	if (s->full != ((flags & AE_FITSTATE_FLAG_FULL) != 0))
		return BAD("the state's kind does not match its options");
	if (read > AE_FITSTATE_MAX_ROWS || skipped > AE_FITSTATE_MAX_ROWS)
		return BAD("the state counts more than %llu rows",
				   (unsigned long long) AE_FITSTATE_MAX_ROWS);
	if (d == 0)
	{
		if (read != 0 || n != 0 || max_rows != 0 ||
			flags & AE_FITSTATE_FLAG_ROWS || len != AE_FITSTATE_HEADER + optlen)
			return BAD("a state without rows has a payload");
		s->skipped = skipped;
		return AE_OK;
	}
	if (!payload_fits(flags, d, read, n, len - AE_FITSTATE_HEADER - optlen))
		return BAD("the state's length does not match its header");
	if (read == 0 || (s->full && max_rows != 0) ||
		(!s->full && (max_rows < 1 || max_rows > ae_fitstate_sample_bound((int) d) ||
					  (s->opts.max_rows > 0 && (uint64_t) s->opts.max_rows != max_rows))))
		return BAD("the state's row counts are invalid");
	if (!s->full && s->opts.max_rows == 0)
		default_max_rows = max_rows;
	st = ae_fitstate_start(s, (int) d, default_max_rows, err);
	if (st == AE_EINVAL || st == AE_ELIMIT)
		return bad_nested(err, "the state's options do not fit its dimension");
	if (st != AE_OK)
		return st;
	if (!s->full && s->max_rows != max_rows)
		return BAD("the state's sample bound is invalid");
	st = read_payload(s, flags, read, n,
					  buf + AE_FITSTATE_HEADER + optlen,
					  len - AE_FITSTATE_HEADER - optlen, check_only, err);
	if (st != AE_OK)
		return st;
	s->skipped = skipped;
	return AE_OK;
}

/* Read a flat state, checking every field before using it. */
ae_status
ae_fitstate_read(ae_fitstate *s, const unsigned char *buf, size_t len,
				 uint64_t default_max_rows, const ae_allocator *alloc,
				 ae_error *err)
{
	return read_flat(s, buf, len, default_max_rows, alloc, 0, err);
}

/*
 * Check a flat state as ae_fitstate_read does (the same errors), keeping
 * nothing: an exact solver's moments are checked in the buffer, without
 * the d x d matrix a read fills.
 */
ae_status
ae_fitstate_check(const unsigned char *buf, size_t len,
				  uint64_t default_max_rows, const ae_allocator *alloc,
				  ae_error *err)
{
	ae_fitstate s;
	ae_status	st = read_flat(&s, buf, len, default_max_rows, alloc, 1, err);

	ae_fitstate_free(&s);
	return st;
}
