/*-------------------------------------------------------------------------
 *
 * test_json.c
 *	  Unit tests of the core's JSON writer and validating parser
 *	  (src/core/ae_json.c).
 *
 * Sections:
 *	 1. writer: commas and nesting, string escapes, numbers (shortest
 *	    round-trip doubles and floats, integers, non-finite as null), depth,
 *	    unbalanced documents, allocation failure at every index
 *	 2. parser: every RFC 8259 construct, string escapes and surrogate
 *	    pairs, numbers by the grammar, every class of malformed input
 *	    (AE_EFORMAT, message with a byte offset), depth limit, raw spans,
 *	    allocation failure at every index
 *	 3. round trip writer -> parser on seeded random documents
 *	 4. fuzz: seeded mutations of valid documents never crash or leak
 *
 * Every document handed to the parser is copied into a buffer of exactly
 * its length (no terminator), so an over-read shows under valgrind.
 *
 * Prints one line per check and "N passed, M failed" at the end; exits
 * non-zero if anything failed.
 *
 *-------------------------------------------------------------------------
 */
#include "test_util.h"
#include "ae_json.h"

#include <float.h>
#include <stdint.h>

/* ====================================================================== */
/* Helpers                                                                 */
/* ====================================================================== */

/* Finish j and compare with expected; releases the text. */
static void
expect_doc(ae_json *j, const char *expected, const char *what)
{
	size_t		len = 12345;
	char	   *t = ae_json_finish(j, &len);

	CHECK(t != NULL && strcmp(t, expected) == 0 && len == strlen(expected),
		  "writer: %s gives %s (got %s, len %zu)", what, expected,
		  t ? t : "NULL", len);
	if (t)
		j->alloc.release(j->alloc.ctx, t);
}

/* A copy of text[0..len) in a buffer of exactly len bytes. */
static char *
exact_copy(const char *text, size_t len)
{
	char	   *b = tu_xmalloc(len);

	if (len)
		memcpy(b, text, len);
	return b;
}

/*
 * Parse text[0..len) from an exact-size copy with a counting allocator;
 * *buf keeps the copy (raw spans point into it; the caller frees it).
 */
static ae_status
parse_copy(const char *text, size_t len, ae_jdoc *doc, ae_error *err,
		   ae_allocator *al, char **buf)
{
	*buf = exact_copy(text, len);
	ae_error_clear(err);
	return ae_json_parse(doc, *buf, len, al, err);
}

/* The byte offset in an "invalid JSON: ... at byte N" message, or -1. */
static long
message_offset(const char *msg)
{
	const char *at = strstr(msg, " at byte ");
	char	   *end;
	long		v;

	if (strncmp(msg, "invalid JSON: ", 14) != 0 || at == NULL)
		return -1;
	v = strtol(at + 9, &end, 10);
	if (end == at + 9 || *end != '\0')
		return -1;
	return v;
}

/* Significant digits of a decimal printed by %g (or an integer). */
static int
sig_digits(const char *s)
{
	int			n = 0,
				leading = 1;

	for (; *s && *s != 'e' && *s != 'E'; s++)
	{
		if (*s < '0' || *s > '9')
			continue;
		if (*s == '0' && leading)
			continue;
		leading = 0;
		n++;
	}
	return n ? n : 1;
}

/* ====================================================================== */
/* 1. Writer                                                               */
/* ====================================================================== */

/* Commas, keys, nesting, every value kind, top-level values. */
static void
test_writer_structure(void)
{
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_json		j;

	ae_json_init(&j, &al);
	ae_json_object_begin(&j, NULL);
	ae_json_integer(&j, "a", 1);
	ae_json_array_begin(&j, "b");
	ae_json_integer(&j, NULL, 1);
	ae_json_number(&j, NULL, 2.5);
	ae_json_object_begin(&j, NULL);
	ae_json_null(&j, "c");
	ae_json_object_end(&j);
	ae_json_array_end(&j);
	ae_json_object_begin(&j, "d");
	ae_json_object_end(&j);
	ae_json_array_begin(&j, "e");
	ae_json_array_end(&j);
	ae_json_bool(&j, "f", 7);
	ae_json_bool(&j, "g", 0);
	ae_json_string(&j, "h", "x");
	ae_json_raw(&j, "i", "[1,{}]", 6);
	ae_json_float(&j, "k", 0.5f);
	ae_json_object_end(&j);
	expect_doc(&j, "{\"a\": 1, \"b\": [1, 2.5, {\"c\": null}], \"d\": {}, \"e\": [], "
			   "\"f\": true, \"g\": false, \"h\": \"x\", \"i\": [1,{}], \"k\": 0.5}",
			   "an object of every kind");

	ae_json_init(&j, &al);
	ae_json_array_begin(&j, NULL);
	ae_json_array_begin(&j, NULL);
	ae_json_array_end(&j);
	ae_json_array_begin(&j, NULL);
	ae_json_array_begin(&j, NULL);
	ae_json_array_end(&j);
	ae_json_array_end(&j);
	ae_json_array_begin(&j, NULL);
	ae_json_integer(&j, NULL, 1);
	ae_json_array_begin(&j, NULL);
	ae_json_integer(&j, NULL, 2);
	ae_json_object_begin(&j, NULL);
	ae_json_array_begin(&j, "x");
	ae_json_array_end(&j);
	ae_json_integer(&j, "y", 3);
	ae_json_object_end(&j);
	ae_json_array_end(&j);
	ae_json_array_end(&j);
	ae_json_array_end(&j);
	expect_doc(&j, "[[], [[]], [1, [2, {\"x\": [], \"y\": 3}]]]", "nested arrays");

	ae_json_init(&j, &al);
	ae_json_number(&j, NULL, 0.1);
	expect_doc(&j, "0.1", "a top-level number");

	ae_json_init(&j, &al);
	ae_json_string(&j, NULL, "");
	expect_doc(&j, "\"\"", "a top-level empty string");

	ae_json_init(&j, &al);
	expect_doc(&j, "", "an empty document");

	/* unbalanced: finish refuses and releases */
	ae_json_init(&j, &al);
	ae_json_object_begin(&j, NULL);
	ae_json_integer(&j, "a", 1);
	CHECK(ae_json_finish(&j, NULL) == NULL, "writer: an unclosed object gives NULL");

	/* discard of a healthy writer releases the buffer */
	ae_json_init(&j, &al);
	ae_json_object_begin(&j, NULL);
	ae_json_object_end(&j);
	ae_json_discard(&j);
	CHECK(ctx.live == 0, "writer: finish/discard leave no live blocks (%ld live)", ctx.live);
}

/* Every control character, quotes, backslash; UTF-8 untouched; keys too. */
static void
test_writer_escapes(void)
{
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_json		j;
	int			bad = 0;
	char		all[256];

	for (int c = 1; c < 0x20; c++)
	{
		char		s[4] = {'a', (char) c, 'b', 0};
		char		expected[32];
		char	   *t;

		if (c == '\n')
			snprintf(expected, sizeof(expected), "\"a\\nb\"");
		else if (c == '\r')
			snprintf(expected, sizeof(expected), "\"a\\rb\"");
		else if (c == '\t')
			snprintf(expected, sizeof(expected), "\"a\\tb\"");
		else
			snprintf(expected, sizeof(expected), "\"a\\u%04xb\"", c);
		ae_json_init(&j, &al);
		ae_json_string(&j, NULL, s);
		t = ae_json_finish(&j, NULL);
		if (t == NULL || strcmp(t, expected) != 0)
		{
			bad++;
			printf("    control 0x%02x: got %s, want %s\n", c, t ? t : "NULL", expected);
		}
		if (t)
			al.release(al.ctx, t);
	}
	CHECK(bad == 0, "writer: each of the 31 control characters is escaped (%d wrong)", bad);

	ae_json_init(&j, &al);
	ae_json_string(&j, NULL, "q\"b\\s/d\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	expect_doc(&j, "\"q\\\"b\\\\s/d\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
			   "quote and backslash escaped, slash, DEL and UTF-8 kept");

	ae_json_init(&j, &al);
	ae_json_object_begin(&j, NULL);
	ae_json_integer(&j, "k\"e\ny\x01", 1);
	ae_json_object_end(&j);
	expect_doc(&j, "{\"k\\\"e\\ny\\u0001\": 1}", "keys are escaped like strings");

	/* every byte 1..255 survives writer -> parser */
	for (int c = 1; c < 256; c++)
		all[c - 1] = (char) c;
	all[255] = '\0';
	ae_json_init(&j, &al);
	ae_json_string(&j, NULL, all);
	{
		size_t		len;
		char	   *t = ae_json_finish(&j, &len);
		ae_jdoc		doc;
		ae_error	err = {0};
		char	   *buf;
		ae_status	st = t ? parse_copy(t, len, &doc, &err, &al, &buf) : AE_ENOMEM;

		CHECK(st == AE_OK && doc.root->type == AE_JSTRING && doc.root->len == 255 &&
			  memcmp(doc.root->text, all, 255) == 0 && doc.root->text[255] == '\0',
			  "writer -> parser: a string of every byte 1..255 comes back exactly");
		if (st == AE_OK)
		{
			ae_json_doc_free(&doc);
			free(buf);
		}
		if (t)
			al.release(al.ctx, t);
	}
	CHECK(ctx.live == 0, "writer escapes: no live blocks (%ld live)", ctx.live);
}

/* Known shortest forms of doubles. */
static void
test_writer_numbers(void)
{
	static const struct
	{
		double		v;
		const char *s;
	}			cases[] = {
		{0.1, "0.1"}, {1e-7, "1e-07"}, {1e300, "1e+300"}, {-0.0, "0"}, {0.0, "0"},
		{1.0, "1"}, {-42.0, "-42"}, {3.0, "3"}, {1.5, "1.5"}, {-2.5e-10, "-2.5e-10"},
		{123.456, "123.456"}, {1.0 / 3.0, "0.3333333333333333"},
		{2.0 / 3.0, "0.6666666666666666"}, {0.1 + 0.2, "0.30000000000000004"},
		{5e-324, "5e-324"}, {DBL_MAX, "1.7976931348623157e+308"},
		{-DBL_MAX, "-1.7976931348623157e+308"}, {DBL_MIN, "2.2250738585072014e-308"},
		{9007199254740991.0, "9007199254740991"},
		{9007199254740992.0, "9007199254740992"}, {1e16, "1e+16"}, {1e21, "1e+21"},
		{100.0, "100"}, {123456789.125, "123456789.125"}, {0.001, "0.001"},
		{1e-5, "1e-05"}, {0.0001, "0.0001"}, {-1e-300, "-1e-300"}};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_json		j;
	char		num[AE_JSON_NUMLEN];
	char		what[80];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		ae_json_format_double(cases[i].v, num);
		CHECK(strcmp(num, cases[i].s) == 0 && strtod(num, NULL) == cases[i].v,
			  "format_double(%.17g) = %s (got %s)", cases[i].v, cases[i].s, num);
		ae_json_init(&j, &al);
		ae_json_number(&j, NULL, cases[i].v);
		snprintf(what, sizeof(what), "number %.17g", cases[i].v);
		expect_doc(&j, cases[i].s, what);
	}
	ae_json_format_double(NAN, num);
	CHECK(strcmp(num, "null") == 0, "format_double(NaN) = null (got %s)", num);
	ae_json_format_double(INFINITY, num);
	CHECK(strcmp(num, "null") == 0, "format_double(inf) = null (got %s)", num);

	ae_json_init(&j, &al);
	ae_json_array_begin(&j, NULL);
	ae_json_number(&j, NULL, NAN);
	ae_json_number(&j, NULL, INFINITY);
	ae_json_number(&j, NULL, -INFINITY);
	ae_json_float(&j, NULL, NAN);
	ae_json_float(&j, NULL, -INFINITY);
	ae_json_array_end(&j);
	expect_doc(&j, "[null, null, null, null, null]", "non-finite numbers and floats");

	ae_json_init(&j, &al);
	ae_json_array_begin(&j, NULL);
	ae_json_integer(&j, NULL, INT64_MIN);
	ae_json_integer(&j, NULL, INT64_MAX);
	ae_json_integer(&j, NULL, 0);
	ae_json_integer(&j, NULL, -1);
	ae_json_integer(&j, NULL, (int64_t) 9007199254740993LL);
	ae_json_array_end(&j);
	expect_doc(&j, "[-9223372036854775808, 9223372036854775807, 0, -1, 9007199254740993]",
			   "integers exactly");

	/* random doubles: read back exactly; no shorter %g precision reads back */
	{
		ae_rng		r;
		int			bad_rt = 0,
					bad_min = 0,
					bad_parse = 0,
					tested = 0;

		ae_rng_seed(&r, 2024);
		for (int i = 0; i < 20000; i++)
		{
			double		v;
			uint64_t	bits = ae_rng_next(&r);
			char		shorter[512];
			int			dg;

			switch (i % 4)
			{
				case 0:
					memcpy(&v, &bits, 8);
					break;
				case 1:
					v = (double) (int64_t) (bits % 2000001) / 1000.0 - 1000.0;
					break;
				case 2:
					v = ae_rng_normal(&r) * pow(10.0, (double) (int) (bits % 41) - 20.0);
					break;
				default:
					v = (double) (float) ae_rng_normal(&r);
			}
			if (!isfinite(v))
				continue;
			tested++;
			ae_json_format_double(v, num);
			if (strtod(num, NULL) != v)
				bad_rt++;
			if (v != floor(v) || fabs(v) >= 9007199254740992.0)
			{
				dg = sig_digits(num);
				if (dg > 1)
				{
					snprintf(shorter, sizeof(shorter), "%.*g", dg - 1, v);
					if (strtod(shorter, NULL) == v)
						bad_min++;
				}
			}
			{
				ae_jdoc		doc;
				size_t		n = strlen(num);
				char	   *buf = exact_copy(num, n);

				if (ae_json_parse(&doc, buf, n, &al, NULL) != AE_OK)
					bad_parse++;
				else
				{
					if (doc.root->type != AE_JNUMBER || doc.root->num != v)
						bad_parse++;
					ae_json_doc_free(&doc);
				}
				free(buf);
			}
		}
		CHECK(tested > 19000 && bad_rt == 0,
			  "format_double: %d random doubles read back exactly (%d did not)", tested, bad_rt);
		CHECK(bad_min == 0, "format_double: shortest (%d could be shorter)", bad_min);
		CHECK(bad_parse == 0, "format_double: every output is a JSON number the parser reads "
			  "back to the same double (%d not)", bad_parse);
	}
	CHECK(ctx.live == 0, "writer numbers: no live blocks (%ld live)", ctx.live);
}

/* float32: the shortest decimal that reads back to the float. */
static void
test_writer_floats(void)
{
	static const struct
	{
		float		v;
		const char *s;
	}			cases[] = {
		{0.1f, "0.1"}, {1.0f / 3.0f, "0.33333334"}, {16777216.0f, "16777216"},
		{16777218.0f, "16777218"}, {3e10f, "3e+10"}, {1e-7f, "1e-07"},
		{FLT_MAX, "3.4028235e+38"}, {FLT_TRUE_MIN, "1e-45"}, {FLT_MIN, "1.1754944e-38"},
		{-0.0f, "0"}, {2.5f, "2.5"}, {0.2f, "0.2"}, {100.0f, "100"}, {-7.0f, "-7"},
		{1.1f, "1.1"}, {123.456f, "123.456"}};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_json		j;
	char		what[80];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		ae_json_init(&j, &al);
		ae_json_float(&j, NULL, cases[i].v);
		snprintf(what, sizeof(what), "float %.9g", (double) cases[i].v);
		expect_doc(&j, cases[i].s, what);
	}

	{
		ae_rng		r;
		int			bad_rt = 0,
					bad_min = 0,
					tested = 0;

		ae_rng_seed(&r, 77);
		for (int i = 0; i < 20000; i++)
		{
			uint32_t	bits = (uint32_t) ae_rng_next(&r);
			float		v;
			char	   *t;
			char		shorter[512];

			if (i % 2)
				memcpy(&v, &bits, 4);
			else
				v = (float) (ae_rng_normal(&r) * 10.0);
			if (!isfinite(v))
				continue;
			tested++;
			ae_json_init(&j, &al);
			ae_json_float(&j, NULL, v);
			t = ae_json_finish(&j, NULL);
			if (t == NULL || strtof(t, NULL) != v)
				bad_rt++;
			else if (v != floorf(v) || fabsf(v) >= 16777216.0f)
			{
				int			dg = sig_digits(t);

				if (dg > 9)
					bad_min++;
				else if (dg > 1)
				{
					snprintf(shorter, sizeof(shorter), "%.*g", dg - 1, (double) v);
					if (strtof(shorter, NULL) == v)
						bad_min++;
				}
			}
			if (t)
				al.release(al.ctx, t);
		}
		CHECK(tested > 19000 && bad_rt == 0,
			  "json_float: %d random floats read back exactly by strtof (%d did not)",
			  tested, bad_rt);
		CHECK(bad_min == 0, "json_float: shortest, at most 9 digits (%d not)", bad_min);
	}
	CHECK(ctx.live == 0, "writer floats: no live blocks (%ld live)", ctx.live);
}

/* The writer's nesting limit. */
static void
test_writer_depth(void)
{
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_json		j;
	char		expected[2 * AE_JSON_MAX_DEPTH + 1];
	char	   *t;

	for (int i = 0; i < AE_JSON_MAX_DEPTH; i++)
	{
		expected[i] = '[';
		expected[2 * AE_JSON_MAX_DEPTH - 1 - i] = ']';
	}
	expected[2 * AE_JSON_MAX_DEPTH] = '\0';
	ae_json_init(&j, &al);
	for (int i = 0; i < AE_JSON_MAX_DEPTH; i++)
		ae_json_array_begin(&j, NULL);
	for (int i = 0; i < AE_JSON_MAX_DEPTH; i++)
		ae_json_array_end(&j);
	expect_doc(&j, expected, "32 nested arrays (the limit)");

	ae_json_init(&j, &al);
	for (int i = 0; i <= AE_JSON_MAX_DEPTH; i++)
		ae_json_array_begin(&j, NULL);
	for (int i = 0; i <= AE_JSON_MAX_DEPTH; i++)
		ae_json_array_end(&j);
	t = ae_json_finish(&j, NULL);
	CHECK(t == NULL, "writer: 33 nested arrays give NULL");
	if (t)
		al.release(al.ctx, t);
	CHECK(ctx.live == 0, "writer depth: no live blocks (%ld live)", ctx.live);
}

/* A document of n members that needs several buffer growths. */
static char *
write_big(ae_allocator *al, int n)
{
	ae_json		j;

	ae_json_init(&j, al);
	ae_json_object_begin(&j, NULL);
	ae_json_array_begin(&j, "items");
	for (int i = 0; i < n; i++)
	{
		ae_json_object_begin(&j, NULL);
		ae_json_integer(&j, "i", i);
		ae_json_number(&j, "x", i / 7.0);
		ae_json_string(&j, "s", "some text \"quoted\"\n");
		ae_json_object_end(&j);
	}
	ae_json_array_end(&j);
	ae_json_object_end(&j);
	return ae_json_finish(&j, NULL);
}

/* Allocation failure at every index of the writer. */
static void
test_writer_oom(void)
{
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	char	   *ref = write_big(&al, 200);
	long		total = ctx.total;
	int			bad = 0,
				leaks = 0;

	CHECK(ref != NULL && total >= 5, "writer oom: a document needing %ld allocations", total);
	for (long k = 0; k < total; k++)
	{
		tu_alloc_ctx c;
		ae_allocator a = tu_allocator(&c, k);
		char	   *t = write_big(&a, 200);

		if (t != NULL)
		{
			bad++;
			a.release(a.ctx, t);
		}
		if (c.live != 0 || c.failures == 0)
			leaks++;
	}
	CHECK(bad == 0, "writer oom: failure at each of %ld indexes gives NULL (%d did not)", total, bad);
	CHECK(leaks == 0, "writer oom: no live blocks after any failure (%d leaked)", leaks);
	{
		tu_alloc_ctx c;
		ae_allocator a = tu_allocator(&c, total);
		char	   *t = write_big(&a, 200);

		CHECK(t != NULL && ref != NULL && strcmp(t, ref) == 0,
			  "writer oom: failing at index %ld (past the last) changes nothing", total);
		if (t)
			a.release(a.ctx, t);
	}
	if (ref)
		al.release(al.ctx, ref);
	CHECK(ctx.live == 0, "writer oom: reference released (%ld live)", ctx.live);
}

/* ====================================================================== */
/* 2. Parser                                                               */
/* ====================================================================== */

/* Scalars and numbers by the grammar. */
static void
test_parse_scalars(void)
{
	static const char *const numbers[] = {
		"0", "-0", "1", "-1", "1.5", "-1.5", "1e5", "1E5", "1e+5", "1E-5", "-0.0e0",
		"0.000001", "123456789012345678901234567890", "1e400", "-1e400", "1e-400",
		"9007199254740993", "0e0", "0.0", "10", "2.5e-3"};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_jdoc		doc;
	ae_error	err = {0};
	char	   *buf;
	ae_status	st;

	st = parse_copy("true", 4, &doc, &err, &al, &buf);
	CHECK(st == AE_OK && doc.root->type == AE_JTRUE && doc.root->raw_len == 4,
		  "parse: true");
	if (st == AE_OK)
		ae_json_doc_free(&doc);
	free(buf);
	st = parse_copy(" \t\n\rfalse \t\n\r", 13, &doc, &err, &al, &buf);
	CHECK(st == AE_OK && doc.root->type == AE_JFALSE && doc.root->raw == buf + 4 &&
		  doc.root->raw_len == 5, "parse: false with every kind of whitespace around");
	if (st == AE_OK)
		ae_json_doc_free(&doc);
	free(buf);
	st = parse_copy("null", 4, &doc, &err, &al, &buf);
	CHECK(st == AE_OK && doc.root->type == AE_JNULL, "parse: null");
	if (st == AE_OK)
		ae_json_doc_free(&doc);
	free(buf);

	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
	{
		size_t		n = strlen(numbers[i]);
		double		want = strtod(numbers[i], NULL);

		st = parse_copy(numbers[i], n, &doc, &err, &al, &buf);
		CHECK(st == AE_OK && doc.root->type == AE_JNUMBER &&
			  (doc.root->num == want || (isnan(want) && isnan(doc.root->num))) &&
			  signbit(doc.root->num) == signbit(want) &&
			  doc.root->len == n && strcmp(doc.root->text, numbers[i]) == 0,
			  "parse: number %s reads as %.17g with its literal text", numbers[i], want);
		if (st == AE_OK)
			ae_json_doc_free(&doc);
		free(buf);
	}

	/* the text need not be terminated: only len bytes are read */
	st = parse_copy("[1]xyz", 3, &doc, &err, &al, &buf);
	CHECK(st == AE_OK && doc.root->type == AE_JARRAY && doc.root->n == 1,
		  "parse: only len bytes are read ([1] of \"[1]xyz\")");
	if (st == AE_OK)
		ae_json_doc_free(&doc);
	free(buf);
	CHECK(ctx.live == 0, "parse scalars: no live blocks (%ld live)", ctx.live);
}

/* Strings: every escape, \u with both cases, surrogate pairs, raw UTF-8. */
static void
test_parse_strings(void)
{
	static const struct
	{
		const char *json;
		const char *want;
		size_t		want_len;
	}			cases[] = {
		{"\"\"", "", 0},
		{"\"abc\"", "abc", 3},
		{"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8},
		{"\"\\u0041\"", "A", 1},
		{"\"\\u00e9\"", "\xc3\xa9", 2},
		{"\"\\u00E9\"", "\xc3\xa9", 2},
		{"\"\\u0080\"", "\xc2\x80", 2},
		{"\"\\u07ff\"", "\xdf\xbf", 2},
		{"\"\\u0800\"", "\xe0\xa0\x80", 3},
		{"\"\\u20AC\"", "\xe2\x82\xac", 3},
		{"\"\\uffff\"", "\xef\xbf\xbf", 3},
		{"\"\\ud800\\udc00\"", "\xf0\x90\x80\x80", 4},
		{"\"\\uD83D\\uDE00\"", "\xf0\x9f\x98\x80", 4},
		{"\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf", 4},
		{"\"\\u001f\"", "\x1f", 1},
		{"\"x\\u0001y\"", "x\x01y", 3},
		{"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f\"", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f", 10},
		{"\"a\\\\u0041\"", "a\\u0041", 7},
		{"\"\\\\\"", "\\", 1}};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		ae_jdoc		doc;
		ae_error	err = {0};
		char	   *buf;
		size_t		n = strlen(cases[i].json);
		ae_status	st = parse_copy(cases[i].json, n, &doc, &err, &al, &buf);

		CHECK(st == AE_OK && doc.root->type == AE_JSTRING &&
			  doc.root->len == cases[i].want_len &&
			  memcmp(doc.root->text, cases[i].want, cases[i].want_len) == 0 &&
			  doc.root->text[cases[i].want_len] == '\0' && doc.root->raw == buf &&
			  doc.root->raw_len == n,
			  "parse: string %s unescapes to %zu bytes", cases[i].json, cases[i].want_len);
		if (st == AE_OK)
			ae_json_doc_free(&doc);
		free(buf);
	}
	CHECK(ctx.live == 0, "parse strings: no live blocks (%ld live)", ctx.live);
}

/* Arrays and objects: order, keys, nesting, duplicates, ae_json_get. */
static void
test_parse_containers(void)
{
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_jdoc		doc;
	ae_error	err = {0};
	char	   *buf;
	ae_status	st;
	const char *t1 = " \t\n\r[ \t\n\r1 \t\n\r, \t\n\r\"two\" \t\n\r,[],{},[[3]] \t\n\r] \t\n\r";
	const char *t2 = "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"},\"\":0,\"a\\nb\":2}";

	st = parse_copy("[]", 2, &doc, &err, &al, &buf);
	CHECK(st == AE_OK && doc.root->type == AE_JARRAY && doc.root->n == 0, "parse: []");
	if (st == AE_OK)
		ae_json_doc_free(&doc);
	free(buf);
	st = parse_copy("{ }", 3, &doc, &err, &al, &buf);
	CHECK(st == AE_OK && doc.root->type == AE_JOBJECT && doc.root->n == 0, "parse: { }");
	if (st == AE_OK)
		ae_json_doc_free(&doc);
	free(buf);

	st = parse_copy(t1, strlen(t1), &doc, &err, &al, &buf);
	CHECK(st == AE_OK && doc.root->type == AE_JARRAY && doc.root->n == 5 &&
		  doc.root->items[0].type == AE_JNUMBER && doc.root->items[0].num == 1.0 &&
		  doc.root->items[1].type == AE_JSTRING && strcmp(doc.root->items[1].text, "two") == 0 &&
		  doc.root->items[2].type == AE_JARRAY && doc.root->items[2].n == 0 &&
		  doc.root->items[3].type == AE_JOBJECT && doc.root->items[3].n == 0 &&
		  doc.root->items[4].type == AE_JARRAY && doc.root->items[4].n == 1 &&
		  doc.root->items[4].items[0].type == AE_JARRAY &&
		  doc.root->items[4].items[0].items[0].num == 3.0,
		  "parse: an array with whitespace everywhere, in order");
	if (st == AE_OK)
		ae_json_doc_free(&doc);
	free(buf);

	st = parse_copy(t2, strlen(t2), &doc, &err, &al, &buf);
	if (CHECK(st == AE_OK && doc.root->type == AE_JOBJECT && doc.root->n == 5,
			  "parse: an object of 5 members"))
	{
		const ae_jv *b = ae_json_get(doc.root, "b"),
				   *c = ae_json_get(doc.root, "c");

		CHECK(strcmp(doc.root->keys[0], "a") == 0 && strcmp(doc.root->keys[1], "b") == 0 &&
			  strcmp(doc.root->keys[2], "c") == 0 && strcmp(doc.root->keys[3], "") == 0 &&
			  strcmp(doc.root->keys[4], "a\nb") == 0,
			  "parse: object keys in order, escapes in keys unescaped");
		CHECK(b && b->type == AE_JARRAY && b->n == 3 && b->items[0].type == AE_JTRUE &&
			  b->items[1].type == AE_JFALSE && b->items[2].type == AE_JNULL,
			  "parse: ae_json_get finds an array member");
		CHECK(c && ae_json_get(c, "d") && ae_json_get(c, "d")->type == AE_JSTRING &&
			  strcmp(ae_json_get(c, "d")->text, "e") == 0,
			  "parse: nested object member");
		CHECK(ae_json_get(doc.root, "zz") == NULL && ae_json_get(b, "a") == NULL &&
			  ae_json_get(NULL, "a") == NULL && ae_json_get(doc.root, "") == &doc.root->items[3],
			  "parse: ae_json_get: missing key, non-object and NULL give NULL; empty key found");
		ae_json_doc_free(&doc);
	}
	free(buf);

	st = parse_copy("{\"a\":1,\"a\":2}", 13, &doc, &err, &al, &buf);
	CHECK(st == AE_OK && doc.root->n == 2 && ae_json_get(doc.root, "a") &&
		  ae_json_get(doc.root, "a")->num == 2.0,
		  "parse: duplicate keys are kept; ae_json_get returns the last");
	if (st == AE_OK)
		ae_json_doc_free(&doc);
	free(buf);

	/* many members: the member lists grow past several arena blocks */
	{
		size_t		cap = 16 * 3000 + 64,
					len = 0;
		char	   *t = tu_xmalloc(cap);
		int			ok = 1;

		len += snprintf(t + len, cap - len, "[");
		for (int i = 0; i < 3000; i++)
			len += snprintf(t + len, cap - len, "%s%d", i ? "," : "", i * 3);
		len += snprintf(t + len, cap - len, "]");
		st = parse_copy(t, len, &doc, &err, &al, &buf);
		ok = st == AE_OK && doc.root->n == 3000;
		for (int i = 0; ok && i < 3000; i++)
			ok = doc.root->items[i].type == AE_JNUMBER && doc.root->items[i].num == i * 3.0;
		CHECK(ok, "parse: an array of 3000 numbers in order");
		if (st == AE_OK)
			ae_json_doc_free(&doc);
		free(buf);

		/* a string longer than an arena block */
		len = 0;
		t[len++] = '"';
		for (int i = 0; i < 20000 && len < cap - 2; i++)
			t[len++] = (char) ('a' + i % 26);
		t[len++] = '"';
		st = parse_copy(t, len, &doc, &err, &al, &buf);
		CHECK(st == AE_OK && doc.root->type == AE_JSTRING && doc.root->len == len - 2 &&
			  memcmp(doc.root->text, t + 1, len - 2) == 0,
			  "parse: a string of %zu bytes (more than an arena block)", len - 2);
		if (st == AE_OK)
			ae_json_doc_free(&doc);
		free(buf);
		free(t);
	}
	CHECK(ctx.live == 0, "parse containers: no live blocks (%ld live)", ctx.live);
}

/* Raw spans are the exact bytes of each value in the document. */
static void
test_parse_raw(void)
{
	const char *t = "  { \"a\" : [1, 2] ,\"b\":\"x\\\"y\" , \"c\" :\t{\"d\": -1.5e3 } , \"e\":true}  \n";
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_jdoc		doc;
	ae_error	err = {0};
	char	   *buf;
	size_t		n = strlen(t);
	ae_status	st = parse_copy(t, n, &doc, &err, &al, &buf);

#define SPAN_IS(v, s) ((v) != NULL && (v)->raw_len == strlen(s) && \
	(v)->raw == buf + (strstr(t, s) - t) && memcmp((v)->raw, s, strlen(s)) == 0)
	if (CHECK(st == AE_OK, "raw: document parses"))
	{
		const ae_jv *a = ae_json_get(doc.root, "a"),
				   *b = ae_json_get(doc.root, "b"),
				   *c = ae_json_get(doc.root, "c"),
				   *e = ae_json_get(doc.root, "e");

		CHECK(doc.root->raw == buf + 2 && doc.root->raw_len == n - 5,
			  "raw: the root's span is the object without the whitespace around it");
		CHECK(SPAN_IS(a, "[1, 2]"), "raw: array member span [1, 2]");
		CHECK(a && a->n == 2 && a->items[0].raw == a->raw + 1 && a->items[0].raw_len == 1 &&
			  a->items[1].raw == a->raw + 4 && a->items[1].raw_len == 1,
			  "raw: array element spans");
		CHECK(SPAN_IS(b, "\"x\\\"y\"") && b && strcmp(b->text, "x\"y") == 0,
			  "raw: a string's span keeps its quotes and escapes");
		CHECK(SPAN_IS(c, "{\"d\": -1.5e3 }"), "raw: object member span keeps inner whitespace");
		CHECK(c && SPAN_IS(ae_json_get(c, "d"), "-1.5e3") &&
			  ae_json_get(c, "d")->num == -1500.0, "raw: number span -1.5e3");
		CHECK(SPAN_IS(e, "true"), "raw: literal span true");
		ae_json_doc_free(&doc);
	}
#undef SPAN_IS
	free(buf);
	CHECK(ctx.live == 0, "raw: no live blocks (%ld live)", ctx.live);
}

/* Every class of malformed input: AE_EFORMAT, a message with a byte offset. */
static void
test_parse_rejects(void)
{
	static const struct
	{
		const char *text;
		long		len;		/* -1: strlen */
		const char *what;		/* part of the message */
		long		at;			/* expected byte offset, 0: any valid one */
	}			cases[] = {
		{"", -1, "unexpected end", 1},
		{"   ", -1, "unexpected end", 4},
		{"[", -1, "unexpected end", 2},
		{"[1", -1, "expected ',' or ']'", 3},
		{"[1,", -1, "unexpected end", 4},
		{"{", -1, "expected a key", 2},
		{"{\"a\":1", -1, "expected ',' or '}'", 7},
		{"{\"a\"", -1, "expected ':'", 5},
		{"{\"a\" 1}", -1, "expected ':'", 6},
		{"{\"a\":}", -1, "bad number", 6},
		{"[1,]", -1, "bad number", 4},
		{"{\"a\":1,}", -1, "expected a key", 8},
		{"{a:1}", -1, "expected a key", 2},
		{"{1:1}", -1, "expected a key", 2},
		{"{,}", -1, "expected a key", 2},
		{"[,1]", -1, "bad number", 2},
		{"[1 2]", -1, "expected ',' or ']'", 4},
		{"{\"a\":1 \"b\":2}", -1, "expected ',' or '}'", 8},
		{"[1}", -1, "expected ',' or ']'", 3},
		{"{\"a\":1]", -1, "expected ',' or '}'", 7},
		{"tru", -1, "unexpected character", 1},
		{"nul", -1, "unexpected character", 1},
		{"True", -1, "bad number", 1},
		{"NULL", -1, "bad number", 1},
		{"fals", -1, "unexpected character", 1},
		{"'a'", -1, "bad number", 1},
		{"\"abc", -1, "unterminated string", 5},
		{"\"a\\", -1, "unterminated string", 4},
		{"\"a\x01" "b\"", -1, "control character", 3},
		{"\"a\tb\"", -1, "control character", 3},
		{"\"a\nb\"", -1, "control character", 3},
		{"\"\\x\"", -1, "bad escape", 0},
		{"\"\\U0041\"", -1, "bad escape", 0},
		{"\"\\u12\"", -1, "\\u escape", 0},
		{"\"\\u12g4\"", -1, "bad \\u escape", 0},
		{"\"\\ud800\"", -1, "lone surrogate", 8},
		{"\"\\ud800x\"", -1, "lone surrogate", 8},
		{"\"\\ud800\\u0041\"", -1, "bad surrogate pair", 0},
		{"\"\\ud800\\ud800\"", -1, "bad surrogate pair", 0},
		{"\"\\udc00\"", -1, "lone surrogate", 8},
		{"\"\\udfff\\udc00\"", -1, "lone surrogate", 0},
		{"\"\\u0000\"", -1, "\\u0000", 8},
		{"\"a\\u0000b\"", -1, "\\u0000", 9},
		{"01", -1, "trailing characters", 2},
		{"-01", -1, "trailing characters", 3},
		{"1.", -1, "bad number", 3},
		{".5", -1, "bad number", 1},
		{"+1", -1, "bad number", 1},
		{"1e", -1, "bad number", 3},
		{"1e+", -1, "bad number", 4},
		{"1E-", -1, "bad number", 4},
		{"-", -1, "bad number", 2},
		{"--1", -1, "bad number", 2},
		{"-a", -1, "bad number", 2},
		{"0x10", -1, "trailing characters", 2},
		{"1.e5", -1, "bad number", 3},
		{"1.5.2", -1, "trailing characters", 4},
		{"NaN", -1, "bad number", 1},
		{"Infinity", -1, "bad number", 1},
		{"-Infinity", -1, "bad number", 2},
		{"[01]", -1, "expected ',' or ']'", 3},
		{"1 2", -1, "trailing characters", 3},
		{"{}x", -1, "trailing characters", 3},
		{"[] []", -1, "trailing characters", 4},
		{"nulll", -1, "trailing characters", 5},
		{"truefalse", -1, "trailing characters", 5},
		{"/*c*/1", -1, "bad number", 1},
		{"[1]//", -1, "trailing characters", 4},
		{"[1,\0]", 5, "bad number", 4},
		{"1\0", 2, "trailing characters", 2},
		{"\"a\0b\"", 5, "control character", 3},
		{"\xef\xbb\xbf[]", -1, "bad number", 1},
		{"\f1", -1, "bad number", 1},
		{"\v1", -1, "bad number", 1},
		{"[\xc2\xa0" "1]", -1, "bad number", 2}};
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	char		shown[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		ae_jdoc		doc;
		ae_error	err = {0};
		char	   *buf;
		size_t		n = cases[i].len < 0 ? strlen(cases[i].text) : (size_t) cases[i].len;
		ae_status	st = parse_copy(cases[i].text, n, &doc, &err, &al, &buf);
		long		at = message_offset(err.message);
		size_t		k = 0;

		/* printable form of the input for the check line */
		for (size_t c = 0; c < n && k + 5 < sizeof(shown); c++)
		{
			unsigned char ch = (unsigned char) cases[i].text[c];

			if (ch < 0x20 || ch >= 0x7f)
				k += snprintf(shown + k, sizeof(shown) - k, "\\x%02x", ch);
			else
				shown[k++] = (char) ch;
		}
		shown[k] = '\0';
		CHECK(st == AE_EFORMAT && err.status == AE_EFORMAT &&
			  strstr(err.message, cases[i].what) != NULL &&
			  at >= 1 && at <= (long) n + 1 && (cases[i].at == 0 || at == cases[i].at) &&
			  doc.root == NULL && doc.arena == NULL,
			  "reject %s: AE_EFORMAT, \"%s\" at byte %ld (got %d \"%s\")", shown,
			  cases[i].what, cases[i].at, (int) st, err.message);
		if (st == AE_OK)
			ae_json_doc_free(&doc);
		free(buf);
	}
	/* a NULL error is allowed */
	{
		ae_jdoc		doc;
		char	   *buf = exact_copy("[1,", 3);

		CHECK(ae_json_parse(&doc, buf, 3, &al, NULL) == AE_EFORMAT,
			  "reject: a NULL error pointer is allowed");
		free(buf);
	}
	CHECK(ctx.live == 0, "reject: nothing left allocated after any rejection (%ld live)", ctx.live);
}

/* The depth limit: 32 nested containers parse, 33 do not. */
static void
test_parse_depth(void)
{
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	size_t		big = 200000;
	char	   *t = tu_xmalloc(2 * big + 16);

	for (int obj = 0; obj < 2; obj++)
		for (int depth = AE_JSON_MAX_DEPTH; depth <= AE_JSON_MAX_DEPTH + 1; depth++)
		{
			size_t		len = 0;
			ae_jdoc		doc;
			ae_error	err = {0};
			char	   *buf;
			ae_status	st;

			for (int i = 0; i < depth; i++)
				len += (size_t) sprintf(t + len, obj ? "{\"k\":" : "[");
			len += (size_t) sprintf(t + len, "1");
			for (int i = 0; i < depth; i++)
				t[len++] = obj ? '}' : ']';
			st = parse_copy(t, len, &doc, &err, &al, &buf);
			if (depth <= AE_JSON_MAX_DEPTH)
			{
				const ae_jv *v = doc.root;
				int			levels = 0;

				while (st == AE_OK && v && (v->type == AE_JARRAY || v->type == AE_JOBJECT))
				{
					levels++;
					v = v->n == 1 ? &v->items[0] : NULL;
				}
				CHECK(st == AE_OK && levels == depth && v && v->num == 1.0,
					  "depth: %d nested %s parse", depth, obj ? "objects" : "arrays");
			}
			else
				CHECK(st == AE_EFORMAT && strstr(err.message, "nesting too deep") &&
					  message_offset(err.message) == (obj ? 5L * AE_JSON_MAX_DEPTH + 1 :
													  AE_JSON_MAX_DEPTH + 1),
					  "depth: %d nested %s rejected: %s", depth,
					  obj ? "objects" : "arrays", err.message);
			if (st == AE_OK)
				ae_json_doc_free(&doc);
			free(buf);
		}

	/* very deep input fails fast, without recursing that deep */
	{
		ae_jdoc		doc;
		ae_error	err = {0};
		char	   *buf;
		ae_status	st;

		memset(t, '[', big);
		memset(t + big, ']', big);
		st = parse_copy(t, 2 * big, &doc, &err, &al, &buf);
		CHECK(st == AE_EFORMAT && strstr(err.message, "nesting too deep"),
			  "depth: 200000 nested arrays rejected");
		free(buf);
	}
	free(t);
	CHECK(ctx.live == 0, "depth: no live blocks (%ld live)", ctx.live);
}

/* A document with many nodes, long strings and several arena blocks. */
static char *
big_document(size_t *len)
{
	size_t		cap = 200000,
				n = 0;
	char	   *t = tu_xmalloc(cap);

	n += snprintf(t + n, cap - n, "{\"a\": [");
	for (int i = 0; i < 3000; i++)
		n += snprintf(t + n, cap - n, "%s%d.5", i ? ", " : "", i);
	n += snprintf(t + n, cap - n, "], \"s\": \"");
	for (int i = 0; i < 10000; i++)
		t[n++] = (char) ('a' + i % 26);
	n += snprintf(t + n, cap - n, "\\u00e9\", \"o\": {");
	for (int i = 0; i < 500; i++)
		n += snprintf(t + n, cap - n, "%s\"k%d\": [\"v%d\", {\"x\": null}]", i ? ", " : "", i, i);
	n += snprintf(t + n, cap - n, "}}");
	*len = n;
	return t;
}

/* Allocation failure at every index: AE_ENOMEM and nothing left. */
static void
test_parse_oom(void)
{
	size_t		len;
	char	   *t = big_document(&len);
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_jdoc		doc;
	ae_error	err = {0};
	char	   *buf;
	ae_status	st = parse_copy(t, len, &doc, &err, &al, &buf);
	long		total = ctx.total;
	int			bad = 0,
				leaks = 0;

	CHECK(st == AE_OK && doc.root->n == 3 && total >= 10,
		  "parse oom: a %zu-byte document needs %ld allocations", len, total);
	if (st == AE_OK)
		ae_json_doc_free(&doc);
	free(buf);
	for (long k = 0; k < total; k++)
	{
		tu_alloc_ctx c;
		ae_allocator a = tu_allocator(&c, k);

		st = parse_copy(t, len, &doc, &err, &a, &buf);
		if (st != AE_ENOMEM || err.status != AE_ENOMEM ||
			strcmp(err.message, "out of memory while reading JSON") != 0 ||
			doc.root != NULL || doc.arena != NULL)
			bad++;
		if (st == AE_OK)
			ae_json_doc_free(&doc);
		if (c.live != 0)
			leaks++;
		free(buf);
	}
	CHECK(bad == 0, "parse oom: failure at each of %ld indexes gives AE_ENOMEM with its message (%d did not)",
		  total, bad);
	CHECK(leaks == 0, "parse oom: no live blocks after any failure (%d leaked)", leaks);
	free(t);
	CHECK(ctx.live == 0, "parse oom: no live blocks (%ld live)", ctx.live);
}

/* ====================================================================== */
/* 3. Round trip                                                           */
/* ====================================================================== */

typedef enum
{
	T_NULL, T_FALSE, T_TRUE, T_NUMBER, T_FLOAT, T_INT, T_STRING, T_ARRAY, T_OBJECT
} tkind;

/* A test-side document tree. */
typedef struct tnode
{
	tkind		kind;
	double		num;
	int64_t		ival;
	char	   *str;
	int			n;
	struct tnode *kids;
	char	  **keys;
} tnode;

/* A random NUL-free string of 0..maxlen bytes. */
static char *
rand_string(ae_rng *r, int maxlen)
{
	int			n = (int) ae_rng_below(r, (uint64_t) maxlen + 1);
	char	   *s = tu_xmalloc((size_t) n + 1);

	for (int i = 0; i < n; i++)
	{
		uint64_t	k = ae_rng_below(r, 4);

		/* mostly ASCII, some control characters, quotes and high bytes */
		if (k == 0)
			s[i] = (char) (1 + ae_rng_below(r, 31));
		else if (k == 1)
			s[i] = "\"\\/{}[],:"[ae_rng_below(r, 9)];
		else if (k == 2)
			s[i] = (char) (128 + ae_rng_below(r, 128));
		else
			s[i] = (char) (32 + ae_rng_below(r, 95));
	}
	s[n] = '\0';
	return s;
}

/* A random tree no deeper than depth. */
static void
gen_node(tnode *t, ae_rng *r, int depth)
{
	uint64_t	k = ae_rng_below(r, depth > 0 ? 9 : 7);

	memset(t, 0, sizeof(*t));
	t->kind = (tkind) k;
	switch (t->kind)
	{
		case T_NUMBER:
			{
				uint64_t	bits = ae_rng_next(r);

				if (ae_rng_below(r, 3) == 0)
					memcpy(&t->num, &bits, 8);	/* any double, maybe NaN/inf */
				else
					t->num = ae_rng_normal(r) * pow(10.0, (double) ae_rng_below(r, 30) - 15.0);
				break;
			}
		case T_FLOAT:
			{
				uint32_t	bits = (uint32_t) ae_rng_next(r);
				float		f;

				memcpy(&f, &bits, 4);
				t->num = f;
				break;
			}
		case T_INT:
			t->ival = (int64_t) ae_rng_next(r) >> ae_rng_below(r, 64);
			break;
		case T_STRING:
			t->str = rand_string(r, 12);
			break;
		case T_ARRAY:
		case T_OBJECT:
			t->n = (int) ae_rng_below(r, 6);
			t->kids = tu_xcalloc((size_t) t->n, sizeof(tnode));
			t->keys = tu_xcalloc((size_t) t->n, sizeof(char *));
			for (int i = 0; i < t->n; i++)
			{
				gen_node(&t->kids[i], r, depth - 1);
				if (t->kind == T_OBJECT)
					t->keys[i] = rand_string(r, 6);
			}
			break;
		default:
			break;
	}
}

static void
free_node(tnode *t)
{
	for (int i = 0; i < t->n; i++)
	{
		free_node(&t->kids[i]);
		free(t->keys[i]);
	}
	free(t->kids);
	free(t->keys);
	free(t->str);
}

/* Write t as a member called key (NULL in arrays). */
static void
write_node(ae_json *j, const tnode *t, const char *key)
{
	switch (t->kind)
	{
		case T_NULL:
			ae_json_null(j, key);
			break;
		case T_FALSE:
		case T_TRUE:
			ae_json_bool(j, key, t->kind == T_TRUE);
			break;
		case T_NUMBER:
			ae_json_number(j, key, t->num);
			break;
		case T_FLOAT:
			ae_json_float(j, key, (float) t->num);
			break;
		case T_INT:
			ae_json_integer(j, key, t->ival);
			break;
		case T_STRING:
			ae_json_string(j, key, t->str);
			break;
		case T_ARRAY:
		case T_OBJECT:
			if (t->kind == T_ARRAY)
				ae_json_array_begin(j, key);
			else
				ae_json_object_begin(j, key);
			for (int i = 0; i < t->n; i++)
				write_node(j, &t->kids[i], t->kind == T_OBJECT ? t->keys[i] : NULL);
			if (t->kind == T_ARRAY)
				ae_json_array_end(j);
			else
				ae_json_object_end(j);
			break;
	}
}

/* Whether parsed v is what t was written as; raw spans inside [lo, hi). */
static int
same_node(const ae_jv *v, const tnode *t, const char *lo, const char *hi)
{
	if (v->raw < lo || v->raw + v->raw_len > hi || v->raw_len == 0)
		return 0;
	switch (t->kind)
	{
		case T_NULL:
			return v->type == AE_JNULL && memcmp(v->raw, "null", 4) == 0;
		case T_FALSE:
			return v->type == AE_JFALSE;
		case T_TRUE:
			return v->type == AE_JTRUE;
		case T_NUMBER:
		case T_FLOAT:
			if (!isfinite(t->num))
				return v->type == AE_JNULL;
			if (v->type != AE_JNUMBER || v->raw_len != v->len ||
				memcmp(v->raw, v->text, v->len) != 0)
				return 0;
			/* a float is written as the shortest decimal of the float */
			return t->kind == T_FLOAT ? (float) v->num == (float) t->num : v->num == t->num;
		case T_INT:
			return v->type == AE_JNUMBER && strtoll(v->text, NULL, 10) == t->ival;
		case T_STRING:
			return v->type == AE_JSTRING && v->len == strlen(t->str) &&
				strcmp(v->text, t->str) == 0 && v->raw[0] == '"' &&
				v->raw[v->raw_len - 1] == '"';
		case T_ARRAY:
		case T_OBJECT:
			if (v->type != (t->kind == T_ARRAY ? AE_JARRAY : AE_JOBJECT) || v->n != t->n)
				return 0;
			if (v->raw[0] != (t->kind == T_ARRAY ? '[' : '{') ||
				v->raw[v->raw_len - 1] != (t->kind == T_ARRAY ? ']' : '}'))
				return 0;
			for (int i = 0; i < t->n; i++)
			{
				if (t->kind == T_OBJECT && strcmp(v->keys[i], t->keys[i]) != 0)
					return 0;
				if (!same_node(&v->items[i], &t->kids[i], v->raw, v->raw + v->raw_len))
					return 0;
			}
			return 1;
	}
	return 0;
}

/* Seeded random trees: written, parsed back, equal; raw spans re-parse. */
static void
test_round_trip(void)
{
	tu_alloc_ctx ctx;
	ae_allocator al = tu_allocator(&ctx, -1);
	ae_rng		r;
	int			docs = 400,
				bad = 0,
				bad_raw = 0,
				nontrivial = 0;

	ae_rng_seed(&r, 31337);
	for (int d = 0; d < docs; d++)
	{
		tnode		t;
		ae_json		j;
		char	   *text;
		size_t		len;
		ae_jdoc		doc;
		ae_error	err = {0};
		char	   *buf;
		ae_status	st;

		gen_node(&t, &r, 5);
		if (d % 2 == 0 && t.kind != T_OBJECT)
		{
			/* half the documents have an object root */
			tnode		root;

			memset(&root, 0, sizeof(root));
			root.kind = T_OBJECT;
			root.n = 1;
			root.kids = tu_xmalloc(sizeof(tnode));
			root.keys = tu_xmalloc(sizeof(char *));
			root.kids[0] = t;
			root.keys[0] = rand_string(&r, 5);
			t = root;
		}
		if ((t.kind == T_ARRAY || t.kind == T_OBJECT) && t.n > 0)
			nontrivial++;
		ae_json_init(&j, &al);
		write_node(&j, &t, NULL);
		text = ae_json_finish(&j, &len);
		if (text == NULL)
		{
			bad++;
			free_node(&t);
			continue;
		}
		st = parse_copy(text, len, &doc, &err, &al, &buf);
		if (st != AE_OK || !same_node(doc.root, &t, buf, buf + len) ||
			doc.root->raw != buf || doc.root->raw_len != len)
		{
			bad++;
			if (bad <= 3)
				printf("    round trip %d failed (%s): %.200s\n", d, err.message, text);
		}
		/* every member's raw span is itself a document that parses alike */
		if (st == AE_OK && (doc.root->type == AE_JARRAY || doc.root->type == AE_JOBJECT))
			for (int i = 0; i < doc.root->n; i++)
			{
				const ae_jv *v = &doc.root->items[i];
				ae_jdoc		sub;
				char	   *sb;

				if (parse_copy(v->raw, v->raw_len, &sub, &err, &al, &sb) != AE_OK)
					bad_raw++;
				else
				{
					if (!same_node(sub.root, &t.kids[i], sb, sb + v->raw_len))
						bad_raw++;
					ae_json_doc_free(&sub);
				}
				free(sb);
			}
		if (st == AE_OK)
			ae_json_doc_free(&doc);
		free(buf);
		al.release(al.ctx, text);
		free_node(&t);
	}
	CHECK(bad == 0 && nontrivial > docs / 3,
		  "round trip: %d random documents (%d with members) parse back equal (%d did not)",
		  docs, nontrivial, bad);
	CHECK(bad_raw == 0, "round trip: every member's raw span parses to the same value (%d did not)",
		  bad_raw);
	CHECK(ctx.live == 0, "round trip: no live blocks (%ld live)", ctx.live);
}

/* ====================================================================== */
/* 4. Fuzz                                                                 */
/* ====================================================================== */

/* Structural sanity of a parsed tree inside [lo, hi). */
static int
tree_sane(const ae_jv *v, const char *lo, const char *hi, int depth)
{
	if (depth > AE_JSON_MAX_DEPTH + 1 || v->raw < lo || v->raw + v->raw_len > hi ||
		v->raw_len == 0)
		return 0;
	switch (v->type)
	{
		case AE_JNULL:
		case AE_JFALSE:
		case AE_JTRUE:
			return 1;
		case AE_JNUMBER:
			return v->text && strlen(v->text) == v->len && v->len == v->raw_len;
		case AE_JSTRING:
			return v->text && v->len < v->raw_len && v->text[v->len] == '\0' &&
				memchr(v->text, '\0', v->len) == NULL;
		case AE_JARRAY:
		case AE_JOBJECT:
			for (int i = 0; i < v->n; i++)
			{
				if (v->type == AE_JOBJECT && v->keys[i] == NULL)
					return 0;
				if (!tree_sane(&v->items[i], v->raw, v->raw + v->raw_len, depth + 1))
					return 0;
			}
			return v->n >= 0;
	}
	return 0;
}

/* Seeded random mutations of valid documents: no crash, no leak. */
static void
test_fuzz(void)
{
	static const char *const seeds[] = {
		"{\"a\": [1, 2.5e-3, -0, true, false, null], \"b\": {\"c\": \"d\\u00e9\\ud83d\\ude00\"}}",
		"[[[[[[[[1]]]]]]]]",
		"{\"latent_dim\": 4, \"hidden_units\": [64, 32], \"activation\": \"tanh\"}",
		"\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0041\"",
		"[1e10, -1E-10, 0.5, 123456789012345678901234567890, 0]",
		"{\"\": {}, \"x\": [], \"y\": [{}, [{}]]}",
		"  true  ",
	};
	static const char interesting[] = "{}[]\",:\\0123456789-+.eEutfnrlasx \t\n\x01\x7f\xff\xc3";
	const int	iterations = 6000;
	tu_alloc_ctx ctx;
	ae_rng		r;
	int			accepted = 0,
				rejected = 0,
				oom = 0,
				bad_status = 0,
				bad_msg = 0,
				bad_tree = 0,
				leaks = 0;
	size_t		cap = 4096;
	char	   *m = tu_xmalloc(cap);

	ae_rng_seed(&r, 8675309);
	for (int it = 0; it < iterations; it++)
	{
		const char *s = seeds[ae_rng_below(&r, sizeof(seeds) / sizeof(seeds[0]))];
		size_t		len = strlen(s);
		int			mutations = 1 + (int) ae_rng_below(&r, 4);
		long		fail_at = (it % 5 == 0) ? (long) ae_rng_below(&r, 12) : -1;
		ae_allocator al = tu_allocator(&ctx, fail_at);
		ae_jdoc		doc;
		ae_error	err = {0};
		char	   *buf;
		ae_status	st;

		memcpy(m, s, len);
		for (int k = 0; k < mutations; k++)
		{
			size_t		pos = len ? (size_t) ae_rng_below(&r, len) : 0;
			char		c = ae_rng_below(&r, 3) ? interesting[ae_rng_below(&r, sizeof(interesting) - 1)] :
				(char) ae_rng_below(&r, 256);

			switch (ae_rng_below(&r, 5))
			{
				case 0:			/* replace */
					if (len)
						m[pos] = c;
					break;
				case 1:			/* delete */
					if (len)
					{
						memmove(m + pos, m + pos + 1, len - pos - 1);
						len--;
					}
					break;
				case 2:			/* insert */
					if (len + 1 < cap)
					{
						memmove(m + pos + 1, m + pos, len - pos);
						m[pos] = c;
						len++;
					}
					break;
				case 3:			/* truncate */
					len = pos;
					break;
				default:		/* duplicate a span */
					{
						size_t		span = len ? 1 + (size_t) ae_rng_below(&r, len - pos) : 0;

						if (len + span < cap)
						{
							memmove(m + pos + span, m + pos, len - pos);
							len += span;
						}
					}
			}
		}
		st = parse_copy(m, len, &doc, &err, &al, &buf);
		if (st == AE_OK)
		{
			accepted++;
			if (!tree_sane(doc.root, buf, buf + len, 0))
				bad_tree++;
			ae_json_doc_free(&doc);
		}
		else if (st == AE_EFORMAT)
		{
			long		at = message_offset(err.message);

			rejected++;
			if (at < 1 || at > (long) len + 1)
			{
				bad_msg++;
				if (bad_msg <= 3)
					printf("    fuzz %d: %zu-byte input, last byte 0x%02x: %s\n", it, len,
						   len ? (unsigned char) m[len - 1] : 0, err.message);
			}
		}
		else if (st == AE_ENOMEM && fail_at >= 0)
			oom++;
		else
			bad_status++;
		if (ctx.live != 0)
			leaks++;
		free(buf);
	}
	free(m);
	CHECK(bad_status == 0, "fuzz: %d mutated documents give AE_OK, AE_EFORMAT or (injected) AE_ENOMEM (%d other)",
		  iterations, bad_status);
	CHECK(accepted > iterations / 20 && rejected > iterations / 5 && oom > 0,
		  "fuzz: not vacuous (%d accepted, %d rejected, %d out of memory)", accepted, rejected, oom);
	CHECK(bad_tree == 0, "fuzz: accepted documents have sane trees and raw spans (%d not)", bad_tree);
	CHECK(bad_msg == 0, "fuzz: every rejection names a byte offset within the input (%d not)", bad_msg);
	CHECK(leaks == 0, "fuzz: no live blocks after any parse (%d leaked)", leaks);
}

/* ====================================================================== */

/* Run this program's checks; exit status 1 if any failed. */
int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);

	test_writer_structure();
	test_writer_escapes();
	test_writer_numbers();
	test_writer_floats();
	test_writer_depth();
	test_writer_oom();
	test_parse_scalars();
	test_parse_strings();
	test_parse_containers();
	test_parse_raw();
	test_parse_rejects();
	test_parse_depth();
	test_parse_oom();
	test_round_trip();
	test_fuzz();

	return tu_finish();
}
