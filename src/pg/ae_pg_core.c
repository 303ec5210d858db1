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

/*
 * After every epoch: one NOTICE.  Epoch 0 is the starting point: the PCA
 * (its train loss is PCA's) or a warm start's weights (no train loss).
 * With the similarity term the objective early stopping compares follows.
 */
static void
on_epoch(void *ctx, const ae_epoch_stats *s)
{
	const ae_options *o = ctx;
	char		epoch[32],
				objective[64] = "";

	if (s->epoch == 0)
	{
		if (isnan(s->validation_loss))
			ereport(NOTICE,
					(errmsg("epoch 0 (%s): train loss %.6f",
							isnan(s->train_loss) ? "warm start" : "PCA", s->train_loss)));
		else
			ereport(NOTICE,
					(errmsg("epoch 0 (%s): validation loss %.6f%s",
							isnan(s->train_loss) ? "warm start" : "PCA",
							s->validation_loss,
							o->cfg.similarity_weight > 0.0 ?
							psprintf(", objective %.6f", s->validation_objective) : "")));
		return;
	}
	if (o->cfg.epochs > 0)
		snprintf(epoch, sizeof(epoch), "%d/%d", s->epoch, o->cfg.epochs);
	else
		snprintf(epoch, sizeof(epoch), "%d", s->epoch);
	if (o->cfg.similarity_weight > 0.0 && !isnan(s->validation_loss))
		snprintf(objective, sizeof(objective), ", objective %.6f",
				 s->validation_objective);
	if (isnan(s->validation_loss))
		ereport(NOTICE,
				(errmsg("epoch %s: train loss %.6f (%.2f s)",
						epoch, s->train_loss, s->seconds)));
	else
		ereport(NOTICE,
				(errmsg("epoch %s: train loss %.6f, validation loss %.6f%s (%.2f s)",
						epoch, s->train_loss, s->validation_loss, objective,
						s->seconds)));
}

/* Callbacks for long work other than training: interrupts only. */
void
ae_pg_interrupt_callbacks(ae_train_callbacks *cb)
{
	cb->on_batch = on_batch;
	cb->on_epoch = NULL;
	cb->ctx = NULL;
}

/* The callbacks of a training with options o. */
void
ae_pg_callbacks(ae_train_callbacks *cb, const ae_options *o)
{
	cb->on_batch = on_batch;
	cb->on_epoch = on_epoch;
	cb->ctx = (void *) o;
}

/*
 * After training: a WARNING when the kept model reconstructs the validation
 * rows worse than PCA of the same size fitted on the training rows (the
 * residual network cannot, unless the similarity term traded it away), and
 * a NOTICE when no epoch improved on PCA.
 */
static void
compare_with_pca(const ae_options *o, const ae_build_output *out)
{
	const ae_train_result *res = &out->res;

	if (res->has_epoch0 && res->best_epoch == 0 && o->arch.residual &&
		res->epochs_run > 0 && !out->warm_started)
		ereport(NOTICE,
				(errmsg("no epoch improved on PCA: the model is the PCA solution")));
	if (!(res->final_validation_loss > res->pca_validation_loss))
		return;					/* not worse, or a loss is missing (NaN) */
	ereport(WARNING,
			(errmsg("the trained model reconstructs the validation rows worse than PCA of the same size"),
			 errdetail("Its validation loss is %.6g, PCA's %.6g (mean squared error in scaled units).",
					   res->final_validation_loss, res->pca_validation_loss),
			 o->cfg.similarity_weight > 0.0 ?
			 errhint("similarity_weight trades reconstruction for neighbours: lower it if reconstruction matters more.") :
			 errhint("Leave residual on (the default), train longer (epochs => NULL), or use activation => 'linear' for exact PCA.")));
}

/* The NOTICE that sums a build up, and how it compares with PCA. */
void
ae_pg_notice_built(const ae_options *o, const ae_build_output *out)
{
	const ae_train_result *res = &out->res;

	if (o->solver != AE_SOLVER_EXACT)
	{
		ereport(NOTICE,
				(errmsg("trained %d -> %d: %zu training and %zu validation rows, %d epochs (%s, epoch %d kept), %s loss %.6f, %.1f s",
						o->arch.n_input, o->arch.latent, res->train_rows,
						res->validation_rows, res->epochs_run,
						ae_stop_name(res->stop_reason), res->best_epoch,
						res->validation_rows ? "validation" : "train",
						res->validation_rows ? res->final_validation_loss :
						res->final_train_loss, res->seconds)));
		compare_with_pca(o, out);
	}
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
