/*-------------------------------------------------------------------------
 *
 * ae_pg_values.c
 *	  Model values as function arguments: each parsed once per backend.
 *
 * encode(m, x) and its siblings take a model value per row; a query that
 * joins a table of models (one per tenant, one per group, or a Citus
 * reference table) hands the functions several models in turn.  Parsing a
 * model costs a pass over its bytes and a digest, so a backend keeps up to
 * VALUE_ENTRIES parsed models (and at most VALUE_BYTES of them), least
 * recently used first out, keyed by their length and SHA-256 digest: a
 * model's last 32 bytes, verified when it was parsed, which no two valid
 * models share.  A row that brings a model already parsed costs a lookup.
 *
 * A stored model arrives as a TOAST pointer; each call site remembers the
 * digests of the last TOAST_KEYS pointers it saw (a stored value never
 * changes under the same pointer), so those are recognised without being
 * fetched.  Every other value is detoasted and its digest read.
 *
 * A hit is as private as a miss: only a caller that holds the model's bytes
 * can present its digest.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include "access/detoast.h"
#include "utils/memutils.h"

#define VALUE_ENTRIES	16
#define VALUE_BYTES		((Size) 256 * 1024 * 1024)
#define TOAST_KEYS		16

/* One parsed model value. */
typedef struct ValueEntry
{
	bool		used;
	Size		len;
	unsigned char digest[AE_DIGEST_BYTES];
	uint64		last_use;
	Size		bytes;			/* memory it holds */
	MemoryContext cxt;
	AeServing	s;
} ValueEntry;

static ValueEntry entries[VALUE_ENTRIES];
static uint64 use_clock = 0;

/* A TOAST pointer a call site has seen, and the value's identity. */
typedef struct ToastKey
{
	Oid			toastrelid;
	Oid			valueid;
	Size		len;
	unsigned char digest[AE_DIGEST_BYTES];
} ToastKey;

/* What fn_extra keeps for a model argument. */
typedef struct ValueArgCache
{
	int			n;
	int			next;			/* ring position of the next key */
	ToastKey	keys[TOAST_KEYS];
} ValueArgCache;

/* The parsed entry of a value identified by len and digest, or NULL. */
static ValueEntry *
find_entry(Size len, const unsigned char *digest)
{
	for (int i = 0; i < VALUE_ENTRIES; i++)
		if (entries[i].used && entries[i].len == len &&
			memcmp(entries[i].digest, digest, AE_DIGEST_BYTES) == 0)
		{
			entries[i].last_use = ++use_clock;
			return &entries[i];
		}
	return NULL;
}

/* Release an entry. */
static void
drop_entry(ValueEntry *e)
{
	if (e->cxt)
		MemoryContextDelete(e->cxt);
	memset(e, 0, sizeof(*e));
}

/* The least recently used entry (a free one first); never keep. */
static ValueEntry *
victim(const ValueEntry *keep)
{
	ValueEntry *v = NULL;

	for (int i = 0; i < VALUE_ENTRIES; i++)
	{
		ValueEntry *e = &entries[i];

		if (e == keep)
			continue;
		if (!e->used)
			return e;
		if (v == NULL || e->last_use < v->last_use)
			v = e;
	}
	return v;
}

/* Parse model bytes into a new entry, evicting as the bounds require. */
static ValueEntry *
load_entry(const unsigned char *data, Size len)
{
	MemoryContext cxt = AllocSetContextCreate(TopMemoryContext,
											  "autoencoder model value",
											  ALLOCSET_DEFAULT_SIZES);
	ValueEntry *e;
	Size		total = 0;
	AeServing	s;

	PG_TRY();
	{
		ae_serving_load(&s, data, len, cxt, ERRCODE_DATA_CORRUPTED);
	}
	PG_CATCH();
	{
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	e = victim(NULL);
	drop_entry(e);
	e->used = true;
	e->len = len;
	memcpy(e->digest, data + len - AE_DIGEST_BYTES, AE_DIGEST_BYTES);
	e->cxt = cxt;
	e->s = s;
	e->bytes = MemoryContextMemAllocated(cxt, true);
	e->last_use = ++use_clock;
	/* keep the total bounded, the new entry in any case */
	for (int i = 0; i < VALUE_ENTRIES; i++)
		total += entries[i].used ? entries[i].bytes : 0;
	while (total > VALUE_BYTES)
	{
		ValueEntry *v = victim(e);

		if (v == NULL || !v->used)
			break;
		total -= v->bytes;
		drop_entry(v);
	}
	return e;
}

/* Remember which value a TOAST pointer holds, for this call site. */
static void
remember_pointer(FunctionCallInfo fcinfo, const struct varatt_external *ptr,
				 const ValueEntry *e)
{
	ValueArgCache *vc = fcinfo->flinfo->fn_extra;
	ToastKey   *k;

	if (vc == NULL)
	{
		vc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ValueArgCache));
		fcinfo->flinfo->fn_extra = vc;
	}
	k = &vc->keys[vc->next];
	vc->next = (vc->next + 1) % TOAST_KEYS;
	if (vc->n < TOAST_KEYS)
		vc->n++;
	k->toastrelid = ptr->va_toastrelid;
	k->valueid = ptr->va_valueid;
	k->len = e->len;
	memcpy(k->digest, e->digest, AE_DIGEST_BYTES);
}

/* The entry a TOAST pointer was last seen to hold, if still cached. */
static ValueEntry *
find_pointer(FunctionCallInfo fcinfo, const struct varatt_external *ptr)
{
	ValueArgCache *vc = fcinfo->flinfo->fn_extra;

	if (vc == NULL)
		return NULL;
	for (int i = 0; i < vc->n; i++)
		if (vc->keys[i].toastrelid == ptr->va_toastrelid &&
			vc->keys[i].valueid == ptr->va_valueid)
			return find_entry(vc->keys[i].len, vc->keys[i].digest);
	return NULL;
}

/* The parsed model of the value identified by len and digest, or NULL. */
AeServing *
ae_value_find(Size len, const unsigned char *digest)
{
	ValueEntry *e = find_entry(len, digest);

	return e ? &e->s : NULL;
}

/* The parsed model of model bytes (parsed now unless cached). */
AeServing *
ae_value_load(const unsigned char *data, Size len)
{
	ValueEntry *e = len > AE_DIGEST_BYTES ?
		find_entry(len, data + len - AE_DIGEST_BYTES) : NULL;

	return e ? &e->s : &load_entry(data, len)->s;
}

/* The model value of argument argno, parsed at most once per backend. */
AeServing *
ae_model_arg(FunctionCallInfo fcinfo, int argno)
{
	struct varlena *raw = (struct varlena *) PG_GETARG_POINTER(argno);
	bool		external = VARATT_IS_EXTERNAL_ONDISK(raw);
	struct varatt_external ptr;
	struct varlena *v;
	const unsigned char *data;
	Size		len;
	ValueEntry *e;

	if (external)
	{
		VARATT_EXTERNAL_GET_POINTER(ptr, raw);
		e = find_pointer(fcinfo, &ptr);
		if (e)
			return &e->s;
	}
	v = PG_DETOAST_DATUM_PACKED(PointerGetDatum(raw));
	data = (const unsigned char *) VARDATA_ANY(v);
	len = VARSIZE_ANY_EXHDR(v);
	e = len > AE_DIGEST_BYTES ? find_entry(len, data + len - AE_DIGEST_BYTES) : NULL;
	if (e == NULL)
		e = load_entry(data, len);
	if (external)
		remember_pointer(fcinfo, &ptr, e);
	if ((Pointer) v != (Pointer) raw)
		pfree(v);
	return &e->s;
}
