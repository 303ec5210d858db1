/*-------------------------------------------------------------------------
 *
 * ae_pg_fitwire.c
 *	  The wire form of autoencoder.fit_state values (ae_pg_fit.c): the zstd
 *	  envelope of a compressed state and the base64 of the text form.
 *
 * A value of the type is either a flat state (the core's byte format,
 * src/core/ae_fitstate.h) or, for one that carries rows (a sample, or the
 * exact solver's rows form; not moments in double, which do not compress)
 * of ENVELOPE_MIN bytes or more when zstd saves at least an eighth, the
 * same compressed in an envelope, explicit and versioned like the state,
 * every field checked:
 *
 *   offset  size   field (little-endian)
 *   0       4      magic "AEFZ"
 *   4       2      envelope version (1)
 *   6       2      method (1: zstd)
 *   8       8      length of the flat state it holds
 *   16      ...    one zstd frame of exactly that many bytes
 *
 * The text form is the value's bytes in base64 (the text output compresses
 * a flat state that qualifies); the binary form is the bytes.  Rows of
 * Fashion-MNIST shrink threefold; dense embeddings hardly at all, and stay
 * flat.  zstd is the server's own (PostgreSQL built --with-zstd links it;
 * pg_config.h says so with USE_ZSTD); without it nothing is compressed and
 * a compressed value is refused with a clear error.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"
#include "ae_bytes.h"
#include "ae_fitstate.h"

#include "utils/memutils.h"

#define ENVELOPE_MAGIC	"AEFZ"
#define ENVELOPE_VERSION 1
#define ENVELOPE_HEADER 16
#define METHOD_ZSTD		1
#define ENVELOPE_MIN	((Size) 64 * 1024)	/* smaller states: never compressed */
#define ZSTD_LEVEL		1		/* 3x on Fashion-MNIST rows at ~200 MB/s */

#ifdef USE_ZSTD
/*
 * The server links libzstd (USE_ZSTD): its four calls, declared here so the
 * build needs no zstd headers (they are zstd's stable API since 1.0).
 */
extern size_t ZSTD_compressBound(size_t srcSize);
extern size_t ZSTD_compress(void *dst, size_t dstCapacity, const void *src,
							size_t srcSize, int compressionLevel);
extern size_t ZSTD_decompress(void *dst, size_t dstCapacity, const void *src,
							  size_t compressedSize);
extern unsigned ZSTD_isError(size_t code);
#endif

/* A value that is not a valid state: always the same error. */
static void pg_attribute_noreturn()
bad_value(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid autoencoder.fit_state value"),
			 errdetail("%s", detail)));
}

/* Whether a value's bytes are a compressed state's envelope. */
bool
ae_fit_is_envelope(const unsigned char *bytes, Size len)
{
	return len >= 4 && memcmp(bytes, ENVELOPE_MAGIC, 4) == 0;
}

/*
 * The flat state an envelope holds, decompressed into a new varlena; the
 * envelope's fields are checked (the state is not: ae_fitstate_read does
 * that).
 */
struct varlena *
ae_fit_unwrap_envelope(const unsigned char *buf, Size len)
{
	uint64		raw;
	struct varlena *flat = NULL;

	if (len < ENVELOPE_HEADER)
		bad_value("The compressed state's envelope is truncated.");
	if (ae_get_u16(buf + 4) != ENVELOPE_VERSION)
		bad_value("The compressed state's envelope has an unknown version.");
	if (ae_get_u16(buf + 6) != METHOD_ZSTD)
		bad_value("The state is compressed with an unknown method.");
	raw = ae_get_u64(buf + 8);
	if (raw < AE_FITSTATE_HEADER || raw > MaxAllocSize - VARHDRSZ)
		bad_value("The compressed state's length is invalid.");
#ifdef USE_ZSTD
	{
		size_t		n;

		flat = palloc_extended(VARHDRSZ + raw, MCXT_ALLOC_HUGE);
		SET_VARSIZE(flat, VARHDRSZ + raw);
		n = ZSTD_decompress(VARDATA(flat), raw, buf + ENVELOPE_HEADER, len - ENVELOPE_HEADER);
		if (ZSTD_isError(n) || n != raw)
			bad_value("The compressed state does not decompress to its length.");
	}
#else
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("this autoencoder.fit_state value is compressed with zstd, which this server lacks"),
			 errhint("Build every node of a cluster against the same PostgreSQL (with zstd).")));
#endif
	return flat;
}

/*
 * The bytes of a value's text form: the value's own, or for a flat state
 * that carries rows, when zstd saves an eighth, an envelope holding it
 * compressed.  *len is set.
 */
const unsigned char *
ae_fit_text_bytes(struct varlena *v, Size *len)
{
	const unsigned char *flat = (unsigned char *) VARDATA(v);
	Size		n = VARSIZE(v) - VARHDRSZ;

#ifdef USE_ZSTD
	if (n >= ENVELOPE_MIN && !ae_fit_is_envelope(flat, n) &&
		ae_fitstate_flat_holds_rows(flat, n))
	{
		size_t		bound = ZSTD_compressBound(n);
		unsigned char *env = palloc_extended(ENVELOPE_HEADER + bound,
											 MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
		size_t		c;

		if (env != NULL)
		{
			c = ZSTD_compress(env + ENVELOPE_HEADER, bound, flat, n, ZSTD_LEVEL);
			if (!ZSTD_isError(c) && ENVELOPE_HEADER + c <= n - n / 8)
			{
				memcpy(env, ENVELOPE_MAGIC, 4);
				ae_put_u64(ae_put_u16(ae_put_u16(env + 4, ENVELOPE_VERSION), METHOD_ZSTD),
						   (uint64) n);
				*len = ENVELOPE_HEADER + c;
				return env;
			}
			pfree(env);
		}
	}
#endif
	*len = n;
	return flat;
}

/*
 * Base64 (RFC 4648, standard alphabet, '=' padding, no line breaks), here
 * rather than common/base64.c: decoding partial states is most of what a
 * Citus coordinator does with them, and a table-driven loop is several
 * times faster than the byte-at-a-time one.
 */
static const char b64_alphabet[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Characters of the base64 form of len bytes. */
Size
ae_b64_encoded_len(Size len)
{
	return (len + 2) / 3 * 4;
}

/*
 * Write the base64 form of src[0..len) at out; returns its length.  Each
 * 12 bits become their two characters at once (a table of 4096 pairs).
 */
Size
ae_b64_encode(const unsigned char *src, Size len, char *out)
{
	static char pairs[4096][2];
	static bool ready = false;
	char	   *o = out;
	Size		i = 0;

	if (!ready)
	{
		for (int k = 0; k < 4096; k++)
		{
			pairs[k][0] = b64_alphabet[k >> 6];
			pairs[k][1] = b64_alphabet[k & 63];
		}
		ready = true;
	}
	for (; i + 3 <= len; i += 3, o += 4)
	{
		uint32		v = ((uint32) src[i] << 16) | ((uint32) src[i + 1] << 8) | src[i + 2];

		memcpy(o, pairs[v >> 12], 2);
		memcpy(o + 2, pairs[v & 4095], 2);
	}
	if (i < len)
	{
		uint32		v = (uint32) src[i] << 16 | (i + 1 < len ? (uint32) src[i + 1] << 8 : 0);

		o[0] = b64_alphabet[v >> 18];
		o[1] = b64_alphabet[(v >> 12) & 63];
		o[2] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		o[3] = '=';
		o += 4;
	}
	return o - out;
}

/*
 * Decode len characters of base64 into out (room for len / 4 * 3 bytes);
 * returns the number of bytes, or -1 if str is not base64.  Each table
 * holds a character's six bits at their place in a quad, or -1: a quad
 * with a character outside the alphabet ORs to a negative number.
 */
int64
ae_b64_decode(const char *str, Size len, unsigned char *out)
{
	static int32 bits[4][256];
	static bool ready = false;
	const unsigned char *q = (const unsigned char *) str;
	const unsigned char *last;
	unsigned char *o = out;
	int32		v;
	int			pad;

	if (!ready)
	{
		for (int c = 0; c < 256; c++)
			bits[0][c] = bits[1][c] = bits[2][c] = bits[3][c] = -1;
		for (int k = 0; k < 64; k++)
			for (int j = 0; j < 4; j++)
				bits[j][(unsigned char) b64_alphabet[k]] = k << (18 - 6 * j);
		ready = true;
	}
	if (len % 4 != 0)
		return -1;
	if (len == 0)
		return 0;
	last = q + len - 4;
	for (; q < last; q += 4, o += 3)
	{
		v = bits[0][q[0]] | bits[1][q[1]] | bits[2][q[2]] | bits[3][q[3]];
		if (v < 0)
			return -1;
		o[0] = (unsigned char) (v >> 16);
		o[1] = (unsigned char) (v >> 8);
		o[2] = (unsigned char) v;
	}
	/* the last quad may end in padding, whose dropped bits must be zero */
	pad = q[3] != '=' ? 0 : q[2] != '=' ? 1 : 2;
	v = bits[0][q[0]] | bits[1][q[1]] |
		(pad == 2 ? 0 : bits[2][q[2]]) | (pad >= 1 ? 0 : bits[3][q[3]]);
	if (v < 0 || (pad == 2 && (v & 0xFFFF) != 0) || (pad == 1 && (v & 0xFF) != 0))
		return -1;
	o[0] = (unsigned char) (v >> 16);
	if (pad < 2)
		o[1] = (unsigned char) (v >> 8);
	if (pad < 1)
		o[2] = (unsigned char) v;
	return (o - out) + 3 - pad;
}
