/*-------------------------------------------------------------------------
 *
 * ae_fitstate.h
 *	  The fit aggregate's state: what it accumulates, how partial states
 *	  merge, and its explicit, versioned, little-endian byte format.
 *
 * Two kinds, fixed by the options:
 *   - exact solver (PCA): the co-moment matrix of every row, in double,
 *     folded with dsyrk; until enough rows arrived to make the matrix the
 *     smaller form, the rows themselves are kept and sent;
 *   - gradient training: exact (order-independent) sums, squares, minimum
 *     and maximum of every feature for the scaling, and a uniform sample of
 *     at most max_rows rows, chosen by a seeded hash of each row's bytes
 *     (bottom-k), so the sample does not depend on how the rows were split
 *     or in which order partial states merge.
 * A state knows the options it was created with (as canonical JSON of the
 * options given) and refuses to merge with a state of other options.
 *
 * Byte format, version 2, every integer and float little-endian (written
 * by ae_fitstate.c, read and checked by ae_fitstate_read.c):
 *
 *   offset  size   field
 *   0       4      magic "AEFS"
 *   4       2      format version (2)
 *   6       2      flags: 1 exact solver, 2 rows form (no moments: they are
 *                  recomputed from the rows that follow)
 *   8       4      d, the input dimension (0: no row yet)
 *   12      4      L, bytes of options text
 *   16      8      rows read (non-NULL)
 *   24      8      rows skipped (NULL)
 *   32      8      max_rows, the sample bound (0 for the exact solver)
 *   40      8      n, rows that follow
 *   48      L      the options given, as canonical JSON
 *   exact solver, moments form:  mean, lo, hi (d doubles each), the
 *                  co-moment matrix's upper triangle row by row
 *                  (d (d + 1) / 2 doubles); n = 0
 *   exact solver, rows form:     n = read rows of d floats
 *   sampled, moments form:       lo, hi (d floats each), the exact sums
 *                  (d * AE_EXACT_LIMBS int64, normalised), then n sample
 *                  rows, each an 8-byte key and d floats
 *   sampled, rows form (n = read): the n sample rows only
 *
 *-------------------------------------------------------------------------
 */
#ifndef AE_FITSTATE_H
#define AE_FITSTATE_H

#include "ae_core.h"
#include "ae_exact.h"
#include "ae_options.h"
#include "ae_pipeline.h"

#define AE_FITSTATE_MAGIC	"AEFS"
#define AE_FITSTATE_VERSION 2
#define AE_FITSTATE_HEADER	48	/* bytes before the options text */
#define AE_FITSTATE_MAX_OPTS 65536	/* bytes of options text */
#define AE_FITSTATE_MAX_SAMPLE ((size_t) 512 * 1024 * 1024)	/* sample bytes */
#define AE_FITSTATE_MAX_ROWS ((uint64_t) 1 << 53)	/* rows counted: exact in a double */

typedef struct ae_fitstate
{
	char	   *opts_json;		/* canonical JSON of the options given */
	size_t		opts_len;
	ae_options	opts;			/* checked; resolved once d is known */
	int			d;				/* 0 until the first row */
	int			full;			/* exact solver */
	uint64_t	read;			/* non-NULL rows */
	uint64_t	skipped;		/* NULL rows */

	/* exact solver */
	double	   *mom_storage;	/* NULL until the first fold */
	ae_moments	mom;
	float	   *pending;		/* (pending_alloc, d) rows not folded yet */
	uint64_t	n_pending;
	uint64_t	pending_cap;	/* rows folded at once */
	uint64_t	pending_alloc;	/* rows allocated: grows up to pending_cap */

	/* gradient training */
	ae_exact	exact;			/* sums and squares of every row */
	int64_t    *exact_storage;
	float	   *lo;				/* (d) minimum of every row */
	float	   *hi;				/* (d) maximum */
	uint64_t	max_rows;		/* sample bound */
	uint64_t	kept;			/* rows in the sample */
	uint64_t	cap;
	float	   *rows;			/* (cap, d) the sample */
	uint64_t   *keys;			/* (cap) their keys */
	size_t	   *heap;			/* (max_rows) max-heap of slots, once full */
	int			heap_valid;
	float	   *scratch;		/* (d) a row that may not be kept */
	int			slot_is_new;	/* ae_fitstate_slot handed out a new slot */

	ae_allocator alloc;
} ae_fitstate;

/* A state with no rows for options given as a JSON object (NULL: none). */
ae_status	ae_fitstate_init(ae_fitstate *s, const char *opts_json,
							 size_t len, const ae_allocator *alloc,
							 ae_error *err);
/* The first row fixes the dimension; default_max_rows bounds the sample. */
ae_status	ae_fitstate_start(ae_fitstate *s, int d, uint64_t default_max_rows,
							  ae_error *err);
/* Where to write the next row (d floats); NULL when out of memory. */
float	   *ae_fitstate_slot(ae_fitstate *s);
/* Count the row written at the slot in. */
ae_status	ae_fitstate_commit(ae_fitstate *s, ae_error *err);
/* Count a NULL row. */
void		ae_fitstate_skip(ae_fitstate *s);
/* Whether options given as JSON are the state's (canonical comparison). */
ae_status	ae_fitstate_same_options(const ae_fitstate *s, const char *json,
									 size_t len, int *same, ae_error *err);
/* a becomes the state of both inputs' rows. */
ae_status	ae_fitstate_merge(ae_fitstate *a, const ae_fitstate *b, ae_error *err);

/*
 * Whether flat bytes are a state that carries rows (a sample, or the exact
 * solver's rows form): what is worth compressing, unlike moments in double.
 * Looks at the header only; the bytes are not checked.
 */
int			ae_fitstate_flat_holds_rows(const unsigned char *buf, size_t len);
/* Whether flat bytes are an exact solver's state (header only, unchecked). */
int			ae_fitstate_flat_is_exact(const unsigned char *buf, size_t len);

/*
 * Flat form: size (folds pending rows first), writing, and validated
 * reading (ae_fitstate_read.c).
 */
ae_status	ae_fitstate_flat_size(ae_fitstate *s, size_t *size, ae_error *err);
void		ae_fitstate_flatten(const ae_fitstate *s, unsigned char *out);
ae_status	ae_fitstate_read(ae_fitstate *s, const unsigned char *buf,
							 size_t len, uint64_t default_max_rows,
							 const ae_allocator *alloc, ae_error *err);
/* The same checks and errors, keeping nothing (cheaper for moments). */
ae_status	ae_fitstate_check(const unsigned char *buf, size_t len,
							  uint64_t default_max_rows,
							  const ae_allocator *alloc, ae_error *err);

/*
 * Everything ae_build needs, in fresh memory from alloc (the state is left
 * untouched): counts, the moments of every row, and for gradient training
 * a copy of the sample in key order.
 */
typedef struct ae_fit_input
{
	ae_moments	mom;
	double	   *mom_storage;
	float	   *data;			/* (kept, d) */
	float	  **rows;			/* (kept) */
	ae_counts	counts;
} ae_fit_input;

ae_status	ae_fitstate_prepare(const ae_fitstate *s, ae_fit_input *fi,
								const ae_allocator *alloc, ae_error *err);
/*
 * The same without copying the sample: fi->rows point at the state's own
 * rows, in key order, and training scales them in place.  For a state that
 * is given up: afterwards it may only be freed (with ae_fitstate_free, after
 * ae_fit_input_free).
 */
ae_status	ae_fitstate_prepare_in_place(ae_fitstate *s, ae_fit_input *fi,
										 const ae_allocator *alloc, ae_error *err);
void		ae_fit_input_free(ae_fit_input *fi, const ae_allocator *alloc);
/*
 * ae_build's input for fit(): s's options and fi's rows (gradient training
 * only), counts and moments; the caller adds its thread count and callbacks.
 */
void		ae_fit_build_input(const ae_fitstate *s, const ae_fit_input *fi,
							   ae_build_input *in);
void		ae_fitstate_free(ae_fitstate *s);
/* The largest sample of rows of d floats (and their keys) a state holds. */
uint64_t	ae_fitstate_sample_bound(int d);

#endif							/* AE_FITSTATE_H */
