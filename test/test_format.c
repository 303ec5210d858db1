/*-------------------------------------------------------------------------
 *
 * test_format.c
 *	  Unit tests of the model format of the autoencoder core (src/ae_format.c):
 *	  round trip, copy, and rejection of corrupt bytes.
 *
 * Sections:
 *	 1. helpers: model comparison, checksum forgery, expected rejection
 *	 2. round trip, truncation, byte flips, trailing bytes, forged headers,
 *	    allocation failure
 *	 3. version 3: residual and l2 models round trip, version 2 still read,
 *	    forged flags, versions and l2 scalings rejected
 *
 * Prints one line per check and "N passed, M failed" at the end; exits
 * non-zero if anything failed.
 *
 *-------------------------------------------------------------------------
 */
#include "test_util.h"

#include <stdint.h>

/* ====================================================================== */
/* 1. Helpers                                                              */
/* ====================================================================== */

/* metadata is a JSON object; escapes and non-ASCII text survive as bytes */
static const char fmt_meta[] = "{\"name\":\"t\\u00ff\\t\",\"x\":[1,2.5e-3,3],\"\xc3\xa9\":{}}";

/*
 * 1 if a and b agree in every field, bit for bit; else 0 and the first
 * difference in why.
 */
static int
models_equal(const ae_model *a, const ae_model *b, char *why, size_t whylen)
{
	int			n = a->arch.n_input;

#define DIFF(cond, msg) do { if (cond) { snprintf(why, whylen, "%s", msg); return 0; } } while (0)
	DIFF(a->arch.n_input != b->arch.n_input, "n_input");
	DIFF(a->arch.latent != b->arch.latent, "latent");
	DIFF(a->arch.n_hidden != b->arch.n_hidden, "n_hidden");
	for (int i = 0; i < a->arch.n_hidden; i++)
		DIFF(a->arch.hidden[i] != b->arch.hidden[i], "hidden[]");
	DIFF(a->arch.activation != b->arch.activation, "activation");
	DIFF(a->arch.output_activation != b->arch.output_activation, "output_activation");
	DIFF(a->arch.scaling != b->arch.scaling, "normalize");
	DIFF(a->arch.residual != b->arch.residual, "residual");
	DIFF((a->Ae == NULL) != (b->Ae == NULL), "skip paths");
	DIFF(a->Ae && (a->Ae - a->params != b->Ae - b->params || a->ad - a->params != b->ad - b->params),
		 "skip offsets");
	DIFF(a->n_layers != b->n_layers, "n_layers");
	for (int l = 0; l <= a->n_layers; l++)
		DIFF(a->dims[l] != b->dims[l], "dims[]");
	DIFF(a->n_params != b->n_params, "n_params");
	for (int l = 0; l < a->n_layers; l++)
	{
		DIFF(a->W[l] - a->params != b->W[l] - b->params, "W[] offsets");
		DIFF(a->b[l] - a->params != b->b[l] - b->params, "b[] offsets");
	}
	DIFF(memcmp(a->params, b->params, a->n_params * sizeof(float)) != 0, "params bits");
	DIFF(memcmp(a->shift, b->shift, n * sizeof(float)) != 0, "shift bits");
	DIFF(memcmp(a->scale, b->scale, n * sizeof(float)) != 0, "scale bits");
	DIFF(memcmp(a->lo, b->lo, n * sizeof(float)) != 0, "lo bits");
	DIFF(memcmp(a->hi, b->hi, n * sizeof(float)) != 0, "hi bits");
	DIFF(a->meta_len != b->meta_len, "meta_len");
	DIFF(a->meta_len && memcmp(a->meta, b->meta, a->meta_len) != 0, "meta bytes");
#undef DIFF
	snprintf(why, whylen, "equal");
	return 1;
}

/*
 * FNV-1a 64 over everything but the trailing 8 checksum bytes, stored
 * little-endian: the checksum documented in ae_format.c.  Used only to
 * forge otherwise-valid bytes so the parser's later checks are reached.
 */
static void
rechecksum(unsigned char *buf, size_t len)
{
	ae_sha256(buf, len - AE_DIGEST_BYTES, buf + len - AE_DIGEST_BYTES);
}

/* ae_sha256 against the FIPS 180-4 example digests. */
static void
test_sha256(void)
{
	static const struct
	{
		const char *msg;
		const char *hex;
	}			v[] = {
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"}};
	unsigned char d[AE_DIGEST_BYTES];
	char		hex[2 * AE_DIGEST_BYTES + 1];
	unsigned char *million = tu_xmalloc(1000000);

	for (int i = 0; i < 3; i++)
	{
		ae_sha256((const unsigned char *) v[i].msg, strlen(v[i].msg), d);
		for (int k = 0; k < AE_DIGEST_BYTES; k++)
			snprintf(hex + 2 * k, 3, "%02x", d[k]);
		CHECK(strcmp(hex, v[i].hex) == 0, "sha256: FIPS example %d (%s)", i + 1, hex);
	}
	memset(million, 'a', 1000000);
	ae_sha256(million, 1000000, d);
	for (int k = 0; k < AE_DIGEST_BYTES; k++)
		snprintf(hex + 2 * k, 3, "%02x", d[k]);
	CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0,
		  "sha256: a million 'a' (%s)", hex);
	free(million);
}

static size_t reject_max_request;	/* largest allocation while rejecting */

/* Parse and expect rejection; returns 1 if rejected cleanly. */
static int
expect_reject(const unsigned char *buf, size_t len, int *msg_ok, int *leak_ok)
{
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_model	m;
	char		err[256];
	ae_status	st;

	memset(err, 0, sizeof(err));
	st = ae_model_parse(buf, len, &m, &al, err, sizeof(err));
	if (ctx.max_request > reject_max_request)
		reject_max_request = ctx.max_request;
	if (st == AE_OK)
	{
		ae_model_destroy(&m);
		return 0;
	}
	if (err[0] == '\0')
		*msg_ok = 0;
	if (ctx.live != 0)
		*leak_ok = 0;
	return st == AE_EFORMAT;
}

/* ====================================================================== */
/* 2. Model format                                                         */
/* ====================================================================== */

/*
 * Model format: round trip, copy, every truncation and byte flip, forged
 * headers behind a valid checksum, allocation failure.
 */
static void
test_format(void)
{
	static const int hidden[] = {4, 3};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_arch		arch = tu_arch(5, 2, 2, hidden, AE_ACT_ELU, AE_ACT_SIGMOID, AE_SCALING_MINMAX);
	ae_model	m,
				m2,
				m3;
	ae_rng		r;
	size_t		meta_len = sizeof(fmt_meta) - 1,
				size;
	unsigned char *buf,
			   *buf2,
			   *tmp;
	char		err[256],
				why[64];
	ae_status	st;
	int			msg_ok,
				leak_ok,
				bad,
				first_bad;

	st = ae_model_create(&m, &arch, meta_len, &al);
	if (!CHECK(st == AE_OK && m.meta_len == meta_len && m.meta != NULL,
			   "format: create with %zu meta bytes", meta_len))
		return;
	ae_rng_seed(&r, 31337);
	tu_fill_model(&m, &r, fmt_meta, meta_len);

	size = ae_model_serialized_size(&m);
	CHECK(size > 8 + m.n_params * sizeof(float) + meta_len,
		  "format: serialized size %zu covers params and meta", size);
	buf = tu_xmalloc(size + 1);
	buf[size] = 0xA5;
	ae_model_serialize(&m, buf);
	CHECK(buf[size] == 0xA5, "format: serialize writes no more than serialized_size bytes");
	CHECK(memcmp(buf, AE_FORMAT_MAGIC, 8) == 0, "format: starts with the magic AENCODER");

	memset(err, 0, sizeof(err));
	st = ae_model_parse(buf, size, &m2, &al, err, sizeof(err));
	if (CHECK(st == AE_OK, "format: parse of serialized bytes succeeds (%d: %s)", (int) st, err))
	{
		CHECK(models_equal(&m, &m2, why, sizeof(why)), "format: round trip preserves every field (%s)", why);
		buf2 = tu_xmalloc(size);
		CHECK(ae_model_serialized_size(&m2) == size, "format: reparsed model has the same size");
		ae_model_serialize(&m2, buf2);
		CHECK(memcmp(buf, buf2, size) == 0, "format: reserializing gives identical bytes");
		free(buf2);
		/* the parsed model is independent of the input buffer */
		tmp = tu_xmalloc(size);
		memcpy(tmp, buf, size);
		st = ae_model_parse(tmp, size, &m3, &al, err, sizeof(err));
		memset(tmp, 0, size);
		free(tmp);
		CHECK(st == AE_OK && models_equal(&m, &m3, why, sizeof(why)),
			  "format: parsed model does not point into the input buffer (%s)", why);
		if (st == AE_OK)
			ae_model_destroy(&m3);
		ae_model_destroy(&m2);
	}

	/* metadata that is not a JSON object is rejected */
	{
		static const char *const not_object[] = {"[1,2]", "{\"a\":", "{} x", "\"s\"", "{\"a\":1}\0",
		"{\"a\": [1e999]}"};

		for (int i = 0; i < 6; i++)
		{
			ae_model	mm;
			size_t		ml = i == 4 ? 8 : strlen(not_object[i]);
			unsigned char *b;

			if (ae_model_create(&mm, &arch, ml, &al) != AE_OK)
				continue;
			tu_fill_model(&mm, &r, not_object[i], ml);
			b = tu_xmalloc(ae_model_serialized_size(&mm));
			ae_model_serialize(&mm, b);
			st = ae_model_parse(b, ae_model_serialized_size(&mm), &m2, &al, err, sizeof(err));
			CHECK(st == AE_EFORMAT && strstr(err, i == 5 ? "metadata contains a number out of range" :
											  "metadata is not a JSON object") != NULL,
				  "format: metadata %d that is not a JSON object of finite numbers is rejected (%s)", i, err);
			if (st == AE_OK)
				ae_model_destroy(&m2);
			free(b);
			ae_model_destroy(&mm);
		}
	}

	/* copy */
	st = ae_model_copy(&m2, &m, &al);
	if (CHECK(st == AE_OK, "copy: returns AE_OK"))
	{
		CHECK(models_equal(&m, &m2, why, sizeof(why)), "copy: equal to the source (%s)", why);
		CHECK(m2.params != m.params && m2.meta != m.meta && m2.block != m.block,
			  "copy: owns its memory");
		m2.params[0] += 1.0f;
		CHECK(m.params[0] != m2.params[0], "copy: independent of the source");
		ae_model_destroy(&m2);
	}

	/* every truncation */
	msg_ok = leak_ok = 1;
	bad = 0;
	first_bad = -1;
	for (size_t len = 0; len < size; len++)
	{
		tmp = tu_xmalloc(len ? len : 1);
		memcpy(tmp, buf, len);
		if (!expect_reject(tmp, len, &msg_ok, &leak_ok))
		{
			if (first_bad < 0)
				first_bad = (int) len;
			bad++;
		}
		free(tmp);
	}
	CHECK(bad == 0, "format: all %zu truncations rejected with AE_EFORMAT (%d not, first at %d)",
		  size, bad, first_bad);
	CHECK(msg_ok, "format: truncations give a non-empty error message");
	CHECK(leak_ok, "format: rejected truncations leak nothing");

	/* every single-byte flip */
	msg_ok = leak_ok = 1;
	bad = 0;
	first_bad = -1;
	tmp = tu_xmalloc(size);
	for (size_t i = 0; i < size; i++)
	{
		static const unsigned char masks[] = {0x01, 0x80, 0xFF};

		for (int k = 0; k < 3; k++)
		{
			memcpy(tmp, buf, size);
			tmp[i] ^= masks[k];
			if (!expect_reject(tmp, size, &msg_ok, &leak_ok))
			{
				if (first_bad < 0)
					first_bad = (int) i;
				bad++;
			}
		}
	}
	free(tmp);
	CHECK(bad == 0, "format: all %zu single-byte flips (x3 masks) rejected (%d not, first at byte %d)",
		  size, bad, first_bad);
	CHECK(msg_ok && leak_ok, "format: flips give messages and leak nothing");
	CHECK(reject_max_request <= size,
		  "format: rejecting corrupt bytes never allocates more than the buffer size "
		  "(largest request %zu for a %zu-byte model)", reject_max_request, size);

	/* trailing byte */
	msg_ok = leak_ok = 1;
	tmp = tu_xmalloc(size + 1);
	memcpy(tmp, buf, size);
	tmp[size] = 0;
	CHECK(expect_reject(tmp, size + 1, &msg_ok, &leak_ok) && msg_ok && leak_ok,
		  "format: a trailing byte is rejected");
	free(tmp);

	/* a short buffer whose header claims a model of about 1 GiB */
	{
		unsigned char hdr[28 + 4 + 16 + 64];
		uint64_t	np = 0;
		int			dd[5] = {65535, 2047, 1, 2047, 65535};
		tu_alloc_ctx c2;
		ae_allocator a2 = tu_allocator(&c2, -1);

		for (int l = 0; l < 4; l++)
			np += (uint64_t) dd[l + 1] * (dd[l] + 1);
		memset(hdr, 0, sizeof(hdr));
		memcpy(hdr, AE_FORMAT_MAGIC, 8);
		hdr[8] = AE_FORMAT_VERSION;
		hdr[16] = 0xFF;
		hdr[17] = 0xFF;			/* n_input 65535 */
		hdr[20] = 1;			/* latent 1 */
		hdr[24] = 1;			/* one hidden layer */
		hdr[28] = 2047 & 0xFF;
		hdr[29] = 2047 >> 8;	/* of 2047 units */
		/* enum bytes 0 (linear, linear, none, reserved) at 32..35 */
		for (int i = 0; i < 8; i++)
			hdr[36 + i] = (unsigned char) (np >> (8 * i));
		memset(err, 0, sizeof(err));
		st = ae_model_parse(hdr, sizeof(hdr), &m2, &a2, err, sizeof(err));
		CHECK(st == AE_EFORMAT && c2.live == 0,
			  "format: %zu bytes claiming %llu parameters rejected as AE_EFORMAT (%d: %s)",
			  sizeof(hdr), (unsigned long long) np, (int) st, err);
		CHECK(c2.max_request <= sizeof(hdr),
			  "format: ... without first allocating the claimed size (largest request %zu bytes)",
			  c2.max_request);
		if (st == AE_OK)
			ae_model_destroy(&m2);
	}

	/* wrong magic */
	tmp = tu_xmalloc(size);
	memcpy(tmp, buf, size);
	memcpy(tmp, "AENCODEX", 8);
	msg_ok = leak_ok = 1;
	CHECK(expect_reject(tmp, size, &msg_ok, &leak_ok) && msg_ok && leak_ok,
		  "format: wrong magic rejected");

	/* unsupported version: the field following the magic */
	memcpy(tmp, buf, size);
	{
		int			is_u32 = tmp[8] == AE_FORMAT_VERSION_MIN && tmp[9] == 0 && tmp[10] == 0 && tmp[11] == 0;
		int			is_u16 = tmp[8] == AE_FORMAT_VERSION_MIN && tmp[9] == 0;

		/* a model version 2 can express is written as version 2 */
		CHECK(is_u32 || is_u16, "format: version %d follows the magic (bytes %02x %02x %02x %02x)",
			  AE_FORMAT_VERSION_MIN, tmp[8], tmp[9], tmp[10], tmp[11]);
		tmp[8] = AE_FORMAT_VERSION + 1;
		msg_ok = leak_ok = 1;
		CHECK(expect_reject(tmp, size, &msg_ok, &leak_ok) && msg_ok && leak_ok,
			  "format: unsupported version %d rejected", AE_FORMAT_VERSION + 1);
		rechecksum(tmp, size);
		msg_ok = leak_ok = 1;
		CHECK(expect_reject(tmp, size, &msg_ok, &leak_ok) && msg_ok && leak_ok,
			  "format: unsupported version rejected even with a matching digest");
	}
	/* the checksum forgery works: the unmodified bytes re-checksummed parse */
	memcpy(tmp, buf, size);
	rechecksum(tmp, size);
	{
		tu_alloc_ctx c2;
		ae_allocator a2 = tu_allocator(&c2, -1);

		st = ae_model_parse(tmp, size, &m2, &a2, err, sizeof(err));
		CHECK(st == AE_OK && memcmp(tmp, buf, size) == 0,
			  "format: the digest is SHA-256 of the preceding bytes (%d)", (int) st);
		if (st == AE_OK)
			ae_model_destroy(&m2);
	}
	/* semantic checks behind a valid checksum */
	{
		size_t		hdr = 28 + 4 * 2 + 16;	/* two hidden layers */
		size_t		scale0 = hdr + 4 * 5;	/* scale[0] */
		size_t		w0 = hdr + 16 * 5;		/* params[0] */
		static const unsigned char nan_bits[4] = {0x00, 0x00, 0xC0, 0x7F};
		static const unsigned char inf_bits[4] = {0x00, 0x00, 0x80, 0x7F};
		static const unsigned char zero_bits[4] = {0, 0, 0, 0};
		static const unsigned char neg_bits[4] = {0x00, 0x00, 0x80, 0xBF};
		struct
		{
			const char *what;
			size_t		off;
			const unsigned char *bytes;
			size_t		n;
		}			forged[] = {
			{"NaN weight", w0, nan_bits, 4},
			{"infinite weight", w0 + 8, inf_bits, 4},
			{"zero scale", scale0, zero_bits, 4},
			{"negative scale", scale0 + 4, neg_bits, 4},
			{"NaN shift", hdr, nan_bits, 4},
			{"unknown activation", 28 + 8, (const unsigned char *) "\x09", 1},
			{"relu output activation", 28 + 9, (const unsigned char *) "\x01", 1},
			{"unknown scaling", 28 + 10, (const unsigned char *) "\x07", 1},
			{"reserved byte", 28 + 11, (const unsigned char *) "\x01", 1},
			{"flags", 12, (const unsigned char *) "\x01", 1},
			{"latent > n_input", 20, (const unsigned char *) "\x06", 1},
			{"latent 0", 20, zero_bits, 4},
		};
		int			all = 1;

		for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++)
		{
			memcpy(tmp, buf, size);
			memcpy(tmp + forged[i].off, forged[i].bytes, forged[i].n);
			rechecksum(tmp, size);
			msg_ok = leak_ok = 1;
			if (!expect_reject(tmp, size, &msg_ok, &leak_ok) || !msg_ok || !leak_ok)
			{
				all = 0;
				printf("#   accepted with a valid checksum: %s\n", forged[i].what);
			}
		}
		CHECK(all, "format: invalid values behind a valid checksum rejected (NaN/inf floats, bad scale, enums, flags)");
	}
	free(tmp);

	/* NULL error buffer and a tiny one */
	{
		tu_alloc_ctx c2;
		ae_allocator a2 = tu_allocator(&c2, -1);
		char		small[4];

		st = ae_model_parse(buf, size / 2, &m2, &a2, NULL, 0);
		CHECK(st == AE_EFORMAT && c2.live == 0, "format: parse with a NULL error buffer rejects cleanly");
		memset(small, 'X', sizeof(small));
		st = ae_model_parse(buf, size / 2, &m2, &a2, small, sizeof(small));
		CHECK(st == AE_EFORMAT && memchr(small, '\0', sizeof(small)) != NULL,
			  "format: error message truncated and NUL-terminated in a 4-byte buffer");
	}

	/* allocation failure while parsing: ENOMEM and no leak */
	{
		int			ok = 1,
					reached = 0;

		for (long k = 0; k < 20 && !reached; k++)
		{
			tu_alloc_ctx c2;
			ae_allocator a2 = tu_allocator(&c2, k);

			st = ae_model_parse(buf, size, &m2, &a2, err, sizeof(err));
			if (st == AE_OK)
			{
				reached = 1;
				ae_model_destroy(&m2);
			}
			else if (st != AE_ENOMEM)
				ok = 0;
			if (c2.live != 0)
				ok = 0;
		}
		CHECK(ok && reached, "format: parse under allocation failure gives AE_ENOMEM, no leak");
	}

	/* scaling 'none' with a scaling other than the identity is rejected */
	{
		ae_arch		an = tu_arch(3, 2, 1, hidden, AE_ACT_RELU, AE_ACT_LINEAR, AE_SCALING_NONE);
		ae_model	mn;

		if (CHECK(ae_model_create(&mn, &an, 0, &al) == AE_OK,
				  "format: create a scaling-none model"))
		{
			size_t		sz = ae_model_serialized_size(&mn);
			unsigned char *bn = tu_xmalloc(sz);

			ae_model_serialize(&mn, bn);
			st = ae_model_parse(bn, sz, &m2, &al, err, sizeof(err));
			CHECK(st == AE_OK, "format: scaling none with the identity scaling parses");
			if (st == AE_OK)
				ae_model_destroy(&m2);
			mn.scale[1] = 2.0f;
			ae_model_serialize(&mn, bn);
			st = ae_model_parse(bn, sz, &m2, &al, err, sizeof(err));
			CHECK(st == AE_EFORMAT && strstr(err, "scaling") != NULL,
				  "format: scaling none with scale 2 rejected (%s)", err);
			free(bn);
			ae_model_destroy(&mn);
		}
	}

	/* a model without meta, latent == n_input */
	{
		ae_arch		a2 = tu_arch(3, 3, 1, hidden, AE_ACT_RELU, AE_ACT_LINEAR, AE_SCALING_MINMAX);
		ae_model	mm;

		st = ae_model_create(&mm, &a2, 0, &al);
		if (CHECK(st == AE_OK, "format: create 3-(4)-3 model without meta"))
		{
			size_t		sz;
			unsigned char *b2;

			tu_fill_model(&mm, &r, NULL, 0);
			sz = ae_model_serialized_size(&mm);
			b2 = tu_xmalloc(sz);
			ae_model_serialize(&mm, b2);
			st = ae_model_parse(b2, sz, &m2, &al, err, sizeof(err));
			CHECK(st == AE_OK && models_equal(&mm, &m2, why, sizeof(why)),
				  "format: round trip without meta (%s)", st == AE_OK ? why : err);
			if (st == AE_OK)
				ae_model_destroy(&m2);
			free(b2);
			ae_model_destroy(&mm);
		}
	}

	ae_model_destroy(&m);
	free(buf);
	CHECK(ctx.live == 0, "format: no leaks (live %ld)", ctx.live);
}

/* Serialize m into fresh bytes (*size set). */
static unsigned char *
serialized(const ae_model *m, size_t *size)
{
	unsigned char *buf;

	*size = ae_model_serialized_size(m);
	buf = tu_xmalloc(*size);
	ae_model_serialize(m, buf);
	return buf;
}

/* Offset of the four enum bytes of a header with k hidden layers. */
#define ENUM_OFFSET(k)	(28 + 4 * (size_t) (k))

/*
 * Format version 3: the residual flag and scaling l2.  Version 2 models
 * still parse (the writer makes them); residual and l2 models round-trip
 * as version 3; every truncation and byte flip of one is rejected; and
 * behind a valid digest: flags in version 2, unknown flags, l2 in version
 * 2, l2 with a scaling other than the identity, and a residual flag set or
 * cleared (the parameter count no longer matches).
 */
static void
test_format_v3(void)
{
	static const int hidden[] = {6};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_arch		ar = tu_arch(5, 2, 1, hidden, AE_ACT_RELU, AE_ACT_LINEAR, AE_SCALING_STANDARD),
				al2 = tu_arch(5, 2, 1, hidden, AE_ACT_TANH, AE_ACT_LINEAR, AE_SCALING_L2),
				plain = ar;
	ae_model	m,
				m2,
				ml,
				mp;
	ae_rng		r;
	size_t		size,
				lsize,
				psize;
	unsigned char *buf,
			   *lbuf,
			   *pbuf,
			   *tmp;
	char		err[256],
				why[64];
	int			msg_ok = 1,
				leak_ok = 1,
				bad = 0;

	ar.residual = 1;
	if (!CHECK(ae_model_create(&m, &ar, 0, &al) == AE_OK && ae_model_create(&ml, &al2, 0, &al) == AE_OK &&
			   ae_model_create(&mp, &plain, 0, &al) == AE_OK, "v3: create models"))
		return;
	CHECK(m.Ae != NULL && m.n_params == ae_arch_param_count(&ar) &&
		  m.n_params == mp.n_params + 2 * 5 * 2 + 5 + 2 &&
		  m.Ae == m.params + mp.n_params && m.ad + 5 == m.params + m.n_params,
		  "v3: the skip paths Ae, ae, Ad, ad follow the layers (%zu parameters)", m.n_params);
	ae_rng_seed(&r, 99);
	tu_fill_model(&m, &r, NULL, 0);
	for (size_t i = 0; i < 2 * 5 * 2 + 5 + 2; i++)
		m.Ae[i] = (float) ae_rng_normal(&r);
	tu_fill_model(&ml, &r, NULL, 0);
	for (int i = 0; i < 5; i++)
	{
		ml.shift[i] = 0.0f;
		ml.scale[i] = 1.0f;
	}
	tu_fill_model(&mp, &r, NULL, 0);

	CHECK(ae_model_format_version(&m) == 3 && ae_model_format_version(&ml) == 3 &&
		  ae_model_format_version(&mp) == 2,
		  "v3: residual and l2 models are version 3, others version 2");
	buf = serialized(&m, &size);
	lbuf = serialized(&ml, &lsize);
	pbuf = serialized(&mp, &psize);
	CHECK(buf[8] == 3 && buf[12] == AE_FORMAT_RESIDUAL && lbuf[8] == 3 && lbuf[12] == 0 &&
		  lbuf[ENUM_OFFSET(1) + 2] == AE_SCALING_L2 && pbuf[8] == 2 && pbuf[12] == 0,
		  "v3: version and flags bytes (%d/%d, %d/%d, %d/%d)", buf[8], buf[12], lbuf[8], lbuf[12],
		  pbuf[8], pbuf[12]);
	if (CHECK(ae_model_parse(buf, size, &m2, &al, err, sizeof(err)) == AE_OK, "v3: residual model parses (%s)", err))
	{
		CHECK(models_equal(&m, &m2, why, sizeof(why)), "v3: residual round trip (%s)", why);
		ae_model_destroy(&m2);
	}
	if (CHECK(ae_model_parse(lbuf, lsize, &m2, &al, err, sizeof(err)) == AE_OK, "v3: l2 model parses (%s)", err))
	{
		CHECK(models_equal(&ml, &m2, why, sizeof(why)), "v3: l2 round trip (%s)", why);
		ae_model_destroy(&m2);
	}
	if (CHECK(ae_model_parse(pbuf, psize, &m2, &al, err, sizeof(err)) == AE_OK, "v3: version 2 model parses (%s)", err))
	{
		CHECK(models_equal(&mp, &m2, why, sizeof(why)), "v3: version 2 round trip (%s)", why);
		ae_model_destroy(&m2);
	}

	/* every truncation and every single-byte flip of a residual model */
	for (size_t len = 0; len < size; len++)
		bad += !expect_reject(buf, len, &msg_ok, &leak_ok);
	tmp = tu_xmalloc(size);
	for (size_t i = 0; i < size; i++)
	{
		memcpy(tmp, buf, size);
		tmp[i] ^= 0x01;
		bad += !expect_reject(tmp, size, &msg_ok, &leak_ok);
	}
	CHECK(bad == 0 && msg_ok && leak_ok,
		  "v3: every truncation and byte flip of a residual model rejected, with messages, no leaks (%d not)", bad);

	/* semantic checks behind a valid digest */
	{
		struct
		{
			const char *what;
			unsigned char *src;
			size_t		len;
			size_t		off;
			unsigned char byte;
		}			forged[] = {
			{"flags in version 2", pbuf, psize, 12, AE_FORMAT_RESIDUAL},
			{"unknown flag bit 1", buf, size, 12, AE_FORMAT_RESIDUAL | 0x2},
			{"residual flag cleared (parameters do not match)", buf, size, 12, 0},
			{"residual flag set on a model without skip paths", lbuf, lsize, 12, AE_FORMAT_RESIDUAL},
			{"l2 in version 2", lbuf, lsize, 8, 2},
			{"scaling 4", lbuf, lsize, ENUM_OFFSET(1) + 2, 4},
			{"version 4", buf, size, 8, AE_FORMAT_VERSION + 1},
			{"version 1", pbuf, psize, 8, 1},
		};
		int			all = 1;

		for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++)
		{
			unsigned char *f = tu_xmalloc(forged[i].len);

			memcpy(f, forged[i].src, forged[i].len);
			f[forged[i].off] = forged[i].byte;
			rechecksum(f, forged[i].len);
			msg_ok = leak_ok = 1;
			if (!expect_reject(f, forged[i].len, &msg_ok, &leak_ok) || !msg_ok || !leak_ok)
			{
				all = 0;
				printf("#   accepted with a valid digest: %s\n", forged[i].what);
			}
			free(f);
		}
		CHECK(all, "v3: forged flags, versions and l2 headers rejected behind a valid digest");
	}
	/* a parameter count without the skip paths (and one beyond them) */
	{
		unsigned char *f = tu_xmalloc(size);
		uint64_t	counts[2] = {mp.n_params, m.n_params + 1};
		int			all = 1;

		for (int c = 0; c < 2; c++)
		{
			memcpy(f, buf, size);
			for (int i = 0; i < 8; i++)
				f[ENUM_OFFSET(1) + 4 + i] = (unsigned char) (counts[c] >> (8 * i));
			rechecksum(f, size);
			all &= ae_model_parse(f, size, &m2, &al, err, sizeof(err)) == AE_EFORMAT &&
				strstr(err, "parameters") != NULL;
		}
		CHECK(all, "v3: a residual model declaring %zu or %zu parameters (not %zu) is rejected (%s)",
			  mp.n_params, m.n_params + 1, m.n_params, err);
		free(f);
	}
	/* l2 with a scaling other than the identity */
	ml.scale[2] = 2.0f;
	ae_model_serialize(&ml, lbuf);
	CHECK(ae_model_parse(lbuf, lsize, &m2, &al, err, sizeof(err)) == AE_EFORMAT && strstr(err, "scaling"),
		  "v3: l2 with scale 2 rejected (%s)", err);
	ml.scale[2] = 1.0f;
	ml.shift[0] = 0.5f;
	ae_model_serialize(&ml, lbuf);
	CHECK(ae_model_parse(lbuf, lsize, &m2, &al, err, sizeof(err)) == AE_EFORMAT && strstr(err, "scaling"),
		  "v3: l2 with shift 0.5 rejected (%s)", err);
	/* one byte form per model: a version 2 model relabelled version 3 is not read */
	memcpy(pbuf + 8, "\x03", 1);
	rechecksum(pbuf, psize);
	CHECK(ae_model_parse(pbuf, psize, &m2, &al, err, sizeof(err)) == AE_EFORMAT &&
		  strstr(err, "only for residual or l2"),
		  "v3: a version 2 model written as version 3 is rejected (%s)", err);
	/* residual needs a linear output */
	ar.output_activation = AE_ACT_SIGMOID;
	CHECK(ae_arch_check(&ar, err, sizeof(err)) == AE_EINVAL && strstr(err, "linear output"),
		  "v3: a residual architecture with a sigmoid output is invalid (%s)", err);

	free(tmp);
	free(buf);
	free(lbuf);
	free(pbuf);
	ae_model_destroy(&m);
	ae_model_destroy(&ml);
	ae_model_destroy(&mp);
	CHECK(ctx.live == 0, "v3: no leaks (live %ld)", ctx.live);
}

/* ====================================================================== */

/* Run this program's checks; exit status 1 if any failed. */
int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);

	test_sha256();
	test_format();
	test_format_v3();

	return tu_finish();
}
