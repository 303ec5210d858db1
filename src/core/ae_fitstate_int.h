/*-------------------------------------------------------------------------
 *
 * ae_fitstate_int.h
 *	  Internal to ae_fitstate*.c: what the reader of the flat form
 *	  (ae_fitstate_read.c) shares with the rest of the fit state
 *	  (ae_fitstate.c).  Not part of the core's interface: nothing else
 *	  includes it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AE_FITSTATE_INT_H
#define AE_FITSTATE_INT_H

#include "ae_fitstate.h"

/* Flags of the flat form's header (the byte format: ae_fitstate.h). */
#define AE_FITSTATE_FLAG_FULL	1	/* exact solver */
#define AE_FITSTATE_FLAG_ROWS	2	/* rows form */

/* Allocate from the state's allocator. */
static inline void *
ae_fitstate_xalloc(const ae_fitstate *s, size_t n)
{
	return s->alloc.alloc(s->alloc.ctx, n ? n : 1);
}

/* Release p (may be NULL) to the state's allocator. */
static inline void
ae_fitstate_xfree(const ae_fitstate *s, void *p)
{
	if (p)
		s->alloc.release(s->alloc.ctx, p);
}

/* Add a row with its key to a sample that is not full (ae_fitstate.c). */
ae_status	ae_fitstate_append(ae_fitstate *s, uint64_t key, const float *row,
							   ae_error *err);
/*
 * Count the row written at the slot, a row that comes from a state (read
 * or merged): as ae_fitstate_commit, but an exact solver's row is not
 * normalised again for 'l2' (it was when it was first committed).
 */
ae_status	ae_fitstate_commit_kept(ae_fitstate *s, ae_error *err);
/* Widen a sampled state's range to a row, before it is counted read. */
void		ae_fitstate_update_range(ae_fitstate *s, const float *row);

#endif							/* AE_FITSTATE_INT_H */
