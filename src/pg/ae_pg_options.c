/*-------------------------------------------------------------------------
 *
 * ae_pg_options.c
 *	  Options from SQL: train()'s arguments, fit()'s jsonb, and the
 *	  table autoencoder.options() that train()'s signature is built from.
 *
 * Everything about an option (name, type, default, range, doc) is a row of
 * the core's option table (src/core/ae_options.c).  The extension script
 * creates train() from autoencoder.options(), one argument per row accepted
 * by train() in table order, so argument 2 + k is the k-th such row here.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

/* hidden_units from an int[]: one-dimensional, no NULLs. */
static void
set_units(ae_options *o, const ae_option_desc *d, ArrayType *a, ae_error *err)
{
	int			n = ARR_NDIM(a) == 0 ? 0 : ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	int64_t		units[AE_MAX_HIDDEN + 1];

	if (ARR_NDIM(a) > 1 || array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array without nulls", d->name)));
	for (int i = 0; i < n && i <= AE_MAX_HIDDEN; i++)
		units[i] = ((int32 *) ARR_DATA_PTR(a))[i];
	if (ae_option_set_units(o, d, units, n, err) != AE_OK)
		ae_pg_raise(err);
}

/*
 * Read train()'s option arguments, from first_arg on, into o (which holds
 * the defaults); SQL NULL means the default.
 */
void
ae_options_from_args(ae_options *o, FunctionCallInfo fcinfo, int first_arg)
{
	int			arg = first_arg;
	ae_error	err;

	ae_error_clear(&err);
	for (int i = 0; i < ae_option_count(); i++)
	{
		const ae_option_desc *d = ae_option_at(i);
		ae_status	st = AE_OK;

		if (!(d->flags & AE_OPT_TRAIN))
			continue;
		if (arg >= PG_NARGS())
			elog(ERROR, "train() has %d arguments, the library expects more: reinstall the extension",
				 PG_NARGS());
		if (!PG_ARGISNULL(arg))
			switch (d->type)
			{
				case AE_OT_INT:
					st = ae_option_set_number(o, d, PG_GETARG_INT32(arg), NULL, &err);
					break;
				case AE_OT_BIGINT:
					st = ae_option_set_bigint(o, d, PG_GETARG_INT64(arg), &err);
					break;
				case AE_OT_FLOAT:
					st = ae_option_set_number(o, d, PG_GETARG_FLOAT8(arg), NULL, &err);
					break;
				case AE_OT_ENUM:
					st = ae_option_set_text(o, d, text_to_cstring(PG_GETARG_TEXT_PP(arg)), &err);
					break;
				case AE_OT_BOOL:
					st = ae_option_set_bool(o, d, PG_GETARG_BOOL(arg), &err);
					break;
				case AE_OT_UNITS:
					set_units(o, d, PG_GETARG_ARRAYTYPE_P(arg), &err);
					break;
			}
		if (st != AE_OK)
			ae_pg_raise(&err);
		arg++;
	}
	if (arg != PG_NARGS())
		elog(ERROR, "train() has %d arguments, the library expects %d: reinstall the extension",
			 PG_NARGS(), arg);
}

/* Read fit()'s jsonb options (an object of option keys) into o. */
void
ae_options_from_jsonb(ae_options *o, Datum jsonb)
{
	Jsonb	   *jb = DatumGetJsonbP(jsonb);
	char	   *text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	ae_allocator alloc;
	ae_error	err;

	ae_pg_allocator(&alloc, CurrentMemoryContext);
	if (ae_options_from_json(o, text, strlen(text), AE_OPT_FIT, &alloc, &err) != AE_OK)
		ae_pg_raise(&err);
	pfree(text);
}

PG_FUNCTION_INFO_V1(ae_options_sql);

/*
 * autoencoder.options(): one row per option, in train()'s argument order:
 * position, name, SQL type, SQL default (NULL when train() requires it),
 * allowed values, where it is accepted, and its description.
 */
Datum
ae_options_sql(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < ae_option_count(); i++)
	{
		const ae_option_desc *d = ae_option_at(i);
		Datum		values[8];
		bool		nulls[8] = {false};
		char		def[64],
					allowed[256];

		ae_option_default_sql(d, def, sizeof(def));
		ae_option_allowed_text(d, allowed, sizeof(allowed));
		values[0] = Int32GetDatum(i + 1);
		values[1] = CStringGetTextDatum(d->name);
		values[2] = CStringGetTextDatum(ae_option_sql_type(d));
		if (def[0])
			values[3] = CStringGetTextDatum(def);
		else
			nulls[3] = true;
		values[4] = CStringGetTextDatum(allowed);
		values[5] = BoolGetDatum((d->flags & AE_OPT_TRAIN) != 0);
		values[6] = BoolGetDatum((d->flags & AE_OPT_FIT) != 0);
		values[7] = CStringGetTextDatum(d->doc);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
