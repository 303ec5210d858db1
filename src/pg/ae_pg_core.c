/*-------------------------------------------------------------------------
 *
 * ae_pg_core.c
 *	  The bridge to the core: memory, errors and training callbacks.
 *
 * The core allocates through an ae_allocator; in a backend it draws from a
 * memory context (huge allocations allowed; an allocation failure raises
 * out_of_memory, so the core never sees NULL).  The core reports failures
 * as an ae_error, which becomes one ERROR here with the SQLSTATE of its
 * status.  During training the core calls back after every minibatch
 * (interrupts are checked there, so statement_timeout and
 * pg_cancel_backend stop it) and after every epoch (a NOTICE).
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/memutils.h"

/* Allocation callback of the context allocator: never returns NULL. */
static void *
cxt_alloc(void *ctx, size_t size)
{
	return MemoryContextAllocHuge((MemoryContext) ctx, size);
}

/* Release callback of the context allocator. */
static void
cxt_release(void *ctx, void *ptr)
{
	pfree(ptr);
}

/* Fill a with an allocator drawing from cxt. */
void
ae_pg_allocator(ae_allocator *a, MemoryContext cxt)
{
	a->alloc = cxt_alloc;
	a->release = cxt_release;
	a->ctx = cxt;
}

/* The SQLSTATE of a core status. */
static int
status_errcode(ae_status st)
{
	switch (st)
	{
		case AE_ENOMEM:
			return ERRCODE_OUT_OF_MEMORY;
		case AE_EINVAL:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		case AE_EDIVERGED:
			return ERRCODE_FLOATING_POINT_EXCEPTION;
		case AE_EFORMAT:
			return ERRCODE_DATA_CORRUPTED;
		case AE_ELIMIT:
			return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
		case AE_OK:
			break;
	}
	return ERRCODE_INTERNAL_ERROR;
}

/* Raise a core failure as one ERROR. */
void
ae_pg_raise(const ae_error *e)
{
	ereport(ERROR,
			(errcode(status_errcode(e->status)),
			 errmsg_internal("%s", e->message[0] ? e->message :
							 ae_status_message(e->status)),
			 e->detail[0] ? errdetail_internal("%s", e->detail) : 0,
			 e->hint[0] ? errhint("%s", e->hint) : 0));
	pg_unreachable();
}

/* After every minibatch (and block of other long work): interrupts. */
static void
on_batch(void *ctx)
{
	CHECK_FOR_INTERRUPTS();
}

/* After every epoch: one NOTICE. */
static void
on_epoch(void *ctx, const ae_epoch_stats *s)
{
	const ae_options *o = ctx;

	if (isnan(s->validation_loss))
		ereport(NOTICE,
				(errmsg("epoch %d/%d: train loss %.6f (%.2f s)",
						s->epoch, o->cfg.epochs, s->train_loss, s->seconds)));
	else
		ereport(NOTICE,
				(errmsg("epoch %d/%d: train loss %.6f, validation loss %.6f (%.2f s)",
						s->epoch, o->cfg.epochs, s->train_loss,
						s->validation_loss, s->seconds)));
}

/* The callbacks of a training with options o. */
void
ae_pg_callbacks(ae_train_callbacks *cb, const ae_options *o)
{
	cb->on_batch = on_batch;
	cb->on_epoch = on_epoch;
	cb->ctx = (void *) o;
}

/* The NOTICE that sums a build up. */
void
ae_pg_notice_built(const ae_options *o, const ae_build_output *out)
{
	const ae_train_result *res = &out->res;

	if (o->solver != AE_SOLVER_EXACT)
		ereport(NOTICE,
				(errmsg("trained %d -> %d: %zu training and %zu validation rows, %d epochs%s, %s loss %.6f, %.1f s",
						o->arch.n_input, o->arch.latent, res->train_rows,
						res->validation_rows, res->epochs_run,
						res->stopped_early ? " (stopped early)" : "",
						res->validation_rows ? "validation" : "train",
						res->validation_rows ? res->final_validation_loss :
						res->final_train_loss, res->seconds)));
	else
	{
		double		share = 0.0;

		for (int c = 0; c < o->arch.latent; c++)
			share += out->explained[c];
		ereport(NOTICE,
				(errmsg("solved PCA %d -> %d exactly on %zu rows: %.1f%% of the variance kept, %.3f s",
						o->arch.n_input, o->arch.latent, res->train_rows,
						100.0 * share, res->seconds)));
	}
}

/*
 * Raise program_limit_exceeded when a build of o on `rows` rows needs more
 * than autoencoder.max_training_memory: before allocating, not after.
 */
void
ae_pg_check_memory(const ae_options *o, uint64_t rows)
{
	double		need = ae_build_bytes(o, rows);
	double		limit = (double) ae_max_training_memory * 1024.0;

	if (need > limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("training needs more memory than autoencoder.max_training_memory allows"),
				 errdetail("%llu rows of %d dimensions and a %d -> %d model with %zu parameters need about %.0f MB; the limit is %.0f MB.",
						   (unsigned long long) rows, o->arch.n_input, o->arch.n_input,
						   o->arch.latent, ae_arch_param_count(&o->arch),
						   need / 1048576.0, limit / 1048576.0),
				 errhint("Use a smaller model, sample fewer rows (autoencoder.max_training_rows), or have a superuser raise autoencoder.max_training_memory.")));
}
