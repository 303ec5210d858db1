/*-------------------------------------------------------------------------
 *
 * ae_pg_bytes.c
 *	  Text (hex) and binary I/O shared by the extension's varlena types.
 *
 * autoencoder.model and autoencoder.fit_state are both a run of bytes in
 * a varlena; their text form is those bytes in lower-case hex and their
 * binary form the bytes.  These helpers do the conversion; each type then
 * validates the bytes its own way.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

/* A varlena holding the bytes whose hex digits are str. */
struct varlena *
ae_bytes_from_hex(const char *str, const char *type_name)
{
	size_t		len = strlen(str);
	struct varlena *v;
	uint64		n;

	if (len % 2 != 0 || len / 2 > MaxAllocHugeSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s", type_name),
				 errdetail("The text form is an even number of hexadecimal digits.")));
	v = palloc_extended(VARHDRSZ + len / 2, MCXT_ALLOC_HUGE);
	n = hex_decode(str, len, VARDATA(v));
	SET_VARSIZE(v, VARHDRSZ + n);
	return v;
}

/* The hex digits of a varlena's bytes. */
char *
ae_bytes_to_hex(Datum d)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(d);
	size_t		len = VARSIZE_ANY_EXHDR(v);
	char	   *out = palloc_extended(2 * len + 1, MCXT_ALLOC_HUGE);
	uint64		n = hex_encode(VARDATA_ANY(v), len, out);

	out[n] = '\0';
	return out;
}

/* A varlena holding the rest of a binary input message. */
struct varlena *
ae_bytes_recv(StringInfo buf)
{
	int			len = buf->len - buf->cursor;
	struct varlena *v = palloc_extended(VARHDRSZ + len, MCXT_ALLOC_HUGE);

	SET_VARSIZE(v, VARHDRSZ + len);
	pq_copymsgbytes(buf, VARDATA(v), len);
	return v;
}

/* The binary output message of a varlena's bytes. */
bytea *
ae_bytes_send(Datum d)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(d);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
	return pq_endtypsend(&buf);
}
