/*-------------------------------------------------------------------------
 *
 * ae_pg_cache.c
 *	  Per-backend cache of deserialised deployed models.
 *
 * Serving a row must cost one forward pass, so each backend keeps the
 * deployed version of every model name it has used, parsed, with its own
 * scratch buffers, in a memory context under CacheMemoryContext.
 *
 * Staleness: a statement trigger on autoencoder.models calls
 * ae_models_changed(), which queues a relcache invalidation of the table.
 * Every backend (this one included, at the next command) then runs
 * models_inval_callback, which only marks entries stale: it must not touch
 * the catalogs.  The next lookup of a stale entry asks the table which
 * version is deployed and re-parses only if the id changed.
 *
 * Citus: once autoencoder.models is a reference table, each node reads its
 * own placement of it (ae_models_relation), written by Citus's two-phase
 * commits; the triggers there invalidate the placement, not the table this
 * cache watches, and a coordinator without a placement gets no trigger at
 * all.  So such an entry is asked again (one indexed lookup of the deployed
 * id) at the first use in every statement at every call site: a deploy or
 * rollback committed on the coordinator is served by every node from the
 * next statement on.  A statement running while it commits may still see
 * the old version on one node and the new one on another (each shard task
 * takes its own snapshot); the forms that pin one model per statement are
 * in the README.  On a Citus worker whose models table is not a reference
 * table, names are refused with an error.
 *
 * Privacy: an entry remembers the role it was read as.  Another role (SET
 * ROLE, a SECURITY DEFINER function, a pooled connection) reads the row
 * again with its own rights before it is served, so a hit is as private as
 * a miss; a change of roles or role memberships (REVOKE of a role that gave
 * the right) marks every entry stale too.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"
#include "ae_meta.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

static HTAB *model_cache = NULL;
static MemoryContext cache_cxt = NULL;
static bool callback_registered = false;
static Oid	models_relid = InvalidOid;

/* Relcache invalidation: mark entries stale when the models table changed. */
static void
models_inval_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	AeCachedModel *entry;

	if (model_cache == NULL)
		return;
	if (relid != InvalidOid && relid != models_relid)
		return;
	/* the table may have been dropped: look its OID up again next time */
	models_relid = InvalidOid;
	hash_seq_init(&status, model_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
		entry->valid = false;
}

/*
 * Syscache invalidation of roles and role memberships: mark every entry
 * stale, since a REVOKE of a role or a lost attribute may take away the
 * right to read the models table that an entry was read with.
 */
static void
roles_inval_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	models_inval_callback(arg, InvalidOid);
}

/* Create the hash table and register the callbacks, once per backend. */
static void
cache_init(void)
{
	HASHCTL		ctl;

	if (model_cache)
		return;
	cache_cxt = AllocSetContextCreate(CacheMemoryContext,
									  "autoencoder model cache",
									  ALLOCSET_SMALL_SIZES);
	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(AeCachedModel);
	ctl.hcxt = cache_cxt;
	model_cache = hash_create("autoencoder models", 16, &ctl,
							  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(models_inval_callback, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, roles_inval_callback, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHOID, roles_inval_callback, (Datum) 0);
		callback_registered = true;
	}
}

/*
 * Parse model bytes into m, allocated in cxt; corrupt bytes raise an ERROR
 * with the given SQLSTATE.
 */
void
ae_model_from_bytes(const unsigned char *buf, size_t len, ae_model *m,
					MemoryContext cxt, int errcode_on_error)
{
	ae_allocator alloc;
	char		why[256];
	ae_status	st;

	ae_pg_allocator(&alloc, cxt);
	st = ae_model_parse(buf, len, m, &alloc, why, sizeof(why));
	if (st == AE_ENOMEM)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while loading an autoencoder model")));
	if (st != AE_OK)
	{
		why[0] = pg_toupper((unsigned char) why[0]);	/* a detail is a sentence */
		ereport(ERROR,
				(errcode(errcode_on_error),
				 errmsg("invalid autoencoder model"),
				 errdetail("%s.", why)));
	}
}

/* Parse model bytes into s and allocate its buffers, all in cxt. */
void
ae_serving_load(AeServing *s, const unsigned char *buf, size_t len,
				MemoryContext cxt, int errcode_on_error)
{
	MemoryContext old;
	ae_allocator alloc;

	ae_model_from_bytes(buf, len, &s->model, cxt, errcode_on_error);
	ae_pg_allocator(&alloc, cxt);
	s->quantiles = MemoryContextAlloc(cxt, sizeof(double) * AE_QUANTILES);
	if (!ae_meta_threshold(&s->model, &alloc, &s->threshold, s->quantiles))
	{
		pfree(s->quantiles);
		s->quantiles = NULL;
	}
	old = MemoryContextSwitchTo(cxt);
	s->input = palloc(sizeof(float) * s->model.arch.n_input);
	s->output = palloc(sizeof(float) * s->model.arch.n_input);
	s->work = palloc(sizeof(float) * ae_infer_floats(&s->model, 1));
	MemoryContextSwitchTo(old);
}

/* Drop what an entry holds and mark it empty. */
static void
entry_clear(AeCachedModel *entry)
{
	if (entry->cxt)
		MemoryContextDelete(entry->cxt);
	entry->cxt = NULL;
	entry->id = 0;
	entry->valid = false;
	memset(&entry->s, 0, sizeof(entry->s));
}

/*
 * The deployed model called name, from the cache or the table.  Raises
 * undefined_object if there is none.  statement_start: the first use at a
 * call site in this statement.
 */
AeCachedModel *
ae_cache_get(const char *name, bool statement_start)
{
	AeCachedModel *entry;
	bool		found;
	char		key[NAMEDATALEN];
	AeModelRow	row;
	struct varlena *bytes;
	MemoryContext cxt;

	ae_check_model_name(name);
	cache_init();
	if (!OidIsValid(models_relid))
	{
		Oid			nsp = get_namespace_oid(AE_SCHEMA, true);

		if (OidIsValid(nsp))
			models_relid = get_relname_relid(AE_MODELS_TABLE, nsp);
	}

	memset(key, 0, sizeof(key));
	strlcpy(key, name, sizeof(key));
	entry = hash_search(model_cache, key, HASH_ENTER, &found);
	if (!found)
	{
		entry->cxt = NULL;
		entry_clear(entry);
	}
	if (entry->valid && entry->role == GetUserId() &&
		!(entry->placement && statement_start))
		return entry;

	/* ask the table which version is deployed */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (!ae_spi_model_row(name, 0, &row))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 errhint("Train one with autoencoder.train().")));
	entry->threshold = row.threshold;
	entry->role = GetUserId();
	entry->placement = row.placement;
	if (entry->cxt && entry->id == row.id)
	{
		SPI_finish();
		entry->valid = true;
		return entry;
	}

	/* a new version: parse it into a fresh context, then swap */
	bytes = PG_DETOAST_DATUM_PACKED(row.model);
	entry_clear(entry);
	cxt = AllocSetContextCreate(cache_cxt, "autoencoder cached model",
								ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		ae_serving_load(&entry->s, (const unsigned char *) VARDATA_ANY(bytes),
						VARSIZE_ANY_EXHDR(bytes), cxt, ERRCODE_DATA_CORRUPTED);
	}
	PG_CATCH();
	{
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	SPI_finish();
	entry->cxt = cxt;
	entry->id = row.id;
	entry->role = GetUserId();
	entry->valid = true;
	return entry;
}

PG_FUNCTION_INFO_V1(ae_models_changed);

/*
 * Statement trigger on the models table: queue a relcache invalidation so
 * every backend's cache drops its view of the table at its next command.
 */
Datum
ae_models_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ae_models_changed must be called as a trigger")));
	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}
