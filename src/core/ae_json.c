/*-------------------------------------------------------------------------
 *
 * ae_json.c
 *	  The core's JSON writer and its small validating parser.
 *
 * Writer: a growing, always NUL-terminated buffer; each container remembers
 * whether it has a member yet, so commas are placed here and nowhere else.
 * A failed allocation poisons the writer (ae_json_finish returns NULL).
 *
 * Parser: recursive descent over RFC 8259 (objects, arrays, strings with
 * every escape including surrogate pairs, numbers by the grammar, true,
 * false, null), at most AE_JSON_MAX_DEPTH deep, with every node and
 * unescaped string in an arena of blocks from the caller's allocator.
 * Numbers keep their literal text next to the double, so messages can echo
 * what the user wrote.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- writer */

/* Start an empty document. */
void
ae_json_init(ae_json *j, const ae_allocator *alloc)
{
	memset(j, 0, sizeof(*j));
	j->alloc = *alloc;
	j->empty[0] = 1;
}

/* Make room for n more bytes and the terminator. */
static int
reserve(ae_json *j, size_t n)
{
	size_t		cap;
	char	   *nb;

	if (j->failed)
		return 0;
	if (j->len + n + 1 <= j->cap)
		return 1;
	cap = j->cap ? j->cap : 256;
	while (cap < j->len + n + 1)
		cap *= 2;
	nb = j->alloc.alloc(j->alloc.ctx, cap);
	if (nb == NULL)
	{
		j->failed = 1;
		return 0;
	}
	if (j->buf)
	{
		memcpy(nb, j->buf, j->len + 1);
		j->alloc.release(j->alloc.ctx, j->buf);
	}
	j->buf = nb;
	j->cap = cap;
	return 1;
}

/* Append n bytes. */
static void
put(ae_json *j, const char *s, size_t n)
{
	if (!reserve(j, n))
		return;
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

/* Append s as a JSON string literal. */
static void
put_string(ae_json *j, const char *s)
{
	put(j, "\"", 1);
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		char		esc[8];

		switch (*p)
		{
			case '"':
				put(j, "\\\"", 2);
				break;
			case '\\':
				put(j, "\\\\", 2);
				break;
			case '\n':
				put(j, "\\n", 2);
				break;
			case '\r':
				put(j, "\\r", 2);
				break;
			case '\t':
				put(j, "\\t", 2);
				break;
			default:
				if (*p < 0x20)
				{
					snprintf(esc, sizeof(esc), "\\u%04x", *p);
					put(j, esc, 6);
				}
				else
					put(j, (const char *) p, 1);
		}
	}
	put(j, "\"", 1);
}

/* Before a value: the comma if the container has members, then the key. */
static void
member(ae_json *j, const char *key)
{
	if (!j->empty[j->depth])
		put(j, ", ", 2);
	j->empty[j->depth] = 0;
	if (key)
	{
		put_string(j, key);
		put(j, ": ", 2);
	}
}

/* Open a container. */
static void
open_container(ae_json *j, const char *key, const char *bracket)
{
	member(j, key);
	put(j, bracket, 1);
	if (j->depth < AE_JSON_MAX_DEPTH)
		j->empty[++j->depth] = 1;
	else
		j->failed = 1;
}

/* Close a container. */
static void
close_container(ae_json *j, const char *bracket)
{
	put(j, bracket, 1);
	if (j->depth > 0)
		j->depth--;
}

void
ae_json_object_begin(ae_json *j, const char *key)
{
	open_container(j, key, "{");
}

void
ae_json_object_end(ae_json *j)
{
	close_container(j, "}");
}

void
ae_json_array_begin(ae_json *j, const char *key)
{
	open_container(j, key, "[");
}

void
ae_json_array_end(ae_json *j)
{
	close_container(j, "]");
}

/* Shortest decimal that reads back to v; integers print as integers. */
void
ae_json_format_double(double v, char *out)
{
	if (!isfinite(v))
	{
		strcpy(out, "null");
		return;
	}
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
	{
		snprintf(out, AE_JSON_NUMLEN, "%.0f", v);
		if (strcmp(out, "-0") == 0)
			strcpy(out, "0");
		return;
	}
	for (int p = 1; p <= 17; p++)
	{
		snprintf(out, AE_JSON_NUMLEN, "%.*g", p, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

/* A number member (null if not finite). */
void
ae_json_number(ae_json *j, const char *key, double v)
{
	char		num[AE_JSON_NUMLEN];

	member(j, key);
	ae_json_format_double(v, num);
	put(j, num, strlen(num));
}

/* A float32 member: the shortest decimal that reads back to the float. */
void
ae_json_float(ae_json *j, const char *key, float v)
{
	char		num[AE_JSON_NUMLEN];

	if (!isfinite(v) || (v == floorf(v) && fabsf(v) < 16777216.0f))
		ae_json_format_double(v, num);
	else
		for (int p = 1; p <= 9; p++)
		{
			snprintf(num, sizeof(num), "%.*g", p, (double) v);
			if (strtof(num, NULL) == v)
				break;
		}
	member(j, key);
	put(j, num, strlen(num));
}

/* An integer member. */
void
ae_json_integer(ae_json *j, const char *key, int64_t v)
{
	char		num[AE_JSON_NUMLEN];

	member(j, key);
	snprintf(num, sizeof(num), "%lld", (long long) v);
	put(j, num, strlen(num));
}

/* A string member. */
void
ae_json_string(ae_json *j, const char *key, const char *s)
{
	member(j, key);
	put_string(j, s);
}

/* A boolean member. */
void
ae_json_bool(ae_json *j, const char *key, int v)
{
	member(j, key);
	put(j, v ? "true" : "false", v ? 4 : 5);
}

/* A null member. */
void
ae_json_null(ae_json *j, const char *key)
{
	member(j, key);
	put(j, "null", 4);
}

/* A member whose value is an already valid JSON text. */
void
ae_json_raw(ae_json *j, const char *key, const char *text, size_t len)
{
	member(j, key);
	put(j, text, len);
}

/* The document text (NUL-terminated; the caller releases it), or NULL. */
char *
ae_json_finish(ae_json *j, size_t *len)
{
	char	   *out;

	if (j->buf == NULL)
		put(j, "", 0);
	if (j->failed || j->depth != 0)
	{
		ae_json_discard(j);
		return NULL;
	}
	out = j->buf;
	if (len)
		*len = j->len;
	j->buf = NULL;
	return out;
}

/* Release the buffer without taking the text. */
void
ae_json_discard(ae_json *j)
{
	if (j->buf)
		j->alloc.release(j->alloc.ctx, j->buf);
	j->buf = NULL;
	j->len = j->cap = 0;
}

/* ---------------------------------------------------------------- parser */

#define ARENA_BLOCK		8192

typedef struct arena_block
{
	struct arena_block *next;
	size_t		used;
	size_t		size;
	/* data follows, max-aligned */
} arena_block;

typedef struct parser
{
	const char *start;
	const char *p;
	const char *end;
	int			depth;
	ae_jdoc    *doc;
	ae_error   *err;
	int			failed;
	ae_status	status;			/* of the first failure */
} parser;

/* n bytes from the document's arena, max-aligned; NULL when out of memory. */
static void *
arena_alloc(ae_jdoc *doc, size_t n)
{
	arena_block *b = doc->arena;
	size_t		hdr = (sizeof(arena_block) + 15) & ~(size_t) 15;

	n = (n + 15) & ~(size_t) 15;
	if (b == NULL || b->size - b->used < n)
	{
		size_t		size = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		arena_block *nb = doc->alloc.alloc(doc->alloc.ctx, hdr + size);

		if (nb == NULL)
			return NULL;
		nb->next = b;
		nb->used = 0;
		nb->size = size;
		doc->arena = b = nb;
	}
	b->used += n;
	return (char *) b + hdr + b->used - n;
}

/* Record a syntax error (the first one wins). */
static int
syntax(parser *ps, const char *what)
{
	if (!ps->failed)
	{
		ae_fail(ps->err, AE_EFORMAT, "invalid JSON: %s at byte %zu", what,
				(size_t) (ps->p - ps->start) + 1);
		ps->status = AE_EFORMAT;
	}
	ps->failed = 1;
	return 0;
}

/* Record an allocation failure. */
static int
oom(parser *ps)
{
	if (!ps->failed)
	{
		ae_fail(ps->err, AE_ENOMEM, "out of memory while reading JSON");
		ps->status = AE_ENOMEM;
	}
	ps->failed = 1;
	return 0;
}

/* Skip whitespace. */
static void
skip_ws(parser *ps)
{
	while (ps->p < ps->end &&
		   (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int	parse_value(parser *ps, ae_jv *out);

/* Four hex digits of a \u escape. */
static int
hex4(parser *ps, unsigned *out)
{
	unsigned	v = 0;

	if (ps->end - ps->p < 4)
		return syntax(ps, "truncated \\u escape");
	for (int i = 0; i < 4; i++)
	{
		char		c = *ps->p++;

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned) (c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned) (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned) (c - 'A' + 10);
		else
			return syntax(ps, "bad \\u escape");
	}
	*out = v;
	return 1;
}

/* Append code point cp as UTF-8 at *q. */
static char *
put_utf8(char *q, unsigned cp)
{
	if (cp < 0x80)
		*q++ = (char) cp;
	else if (cp < 0x800)
	{
		*q++ = (char) (0xC0 | (cp >> 6));
		*q++ = (char) (0x80 | (cp & 0x3F));
	}
	else if (cp < 0x10000)
	{
		*q++ = (char) (0xE0 | (cp >> 12));
		*q++ = (char) (0x80 | ((cp >> 6) & 0x3F));
		*q++ = (char) (0x80 | (cp & 0x3F));
	}
	else
	{
		*q++ = (char) (0xF0 | (cp >> 18));
		*q++ = (char) (0x80 | ((cp >> 12) & 0x3F));
		*q++ = (char) (0x80 | ((cp >> 6) & 0x3F));
		*q++ = (char) (0x80 | (cp & 0x3F));
	}
	return q;
}

/* A string literal (ps->p at the opening quote), unescaped. */
static int
parse_string(parser *ps, const char **out, size_t *outlen)
{
	const char *start = ++ps->p;
	char	   *buf,
			   *q;

	/* unescaping never lengthens: the raw span bounds the result */
	while (ps->p < ps->end && *ps->p != '"')
	{
		if ((unsigned char) *ps->p < 0x20)
			return syntax(ps, "control character in a string");
		if (*ps->p == '\\' && ps->end - ps->p < 2)
		{
			ps->p = ps->end;
			break;
		}
		ps->p += *ps->p == '\\' ? 2 : 1;
	}
	if (ps->p >= ps->end)
		return syntax(ps, "unterminated string");
	buf = arena_alloc(ps->doc, (size_t) (ps->p - start) + 1);
	if (buf == NULL)
		return oom(ps);
	q = buf;
	ps->p = start;
	while (*ps->p != '"')
	{
		char		c = *ps->p++;
		unsigned	cp,
					lo;

		if (c != '\\')
		{
			*q++ = c;
			continue;
		}
		c = *ps->p++;
		switch (c)
		{
			case '"':
			case '\\':
			case '/':
				*q++ = c;
				break;
			case 'b':
				*q++ = '\b';
				break;
			case 'f':
				*q++ = '\f';
				break;
			case 'n':
				*q++ = '\n';
				break;
			case 'r':
				*q++ = '\r';
				break;
			case 't':
				*q++ = '\t';
				break;
			case 'u':
				if (!hex4(ps, &cp))
					return 0;
				if (cp >= 0xD800 && cp < 0xDC00)
				{
					if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u')
						return syntax(ps, "lone surrogate");
					ps->p += 2;
					if (!hex4(ps, &lo) || lo < 0xDC00 || lo > 0xDFFF)
						return syntax(ps, "bad surrogate pair");
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				}
				else if (cp >= 0xDC00 && cp < 0xE000)
					return syntax(ps, "lone surrogate");
				if (cp == 0)
					return syntax(ps, "\\u0000 in a string");
				q = put_utf8(q, cp);
				break;
			default:
				return syntax(ps, "bad escape");
		}
	}
	ps->p++;					/* the closing quote */
	*q = '\0';
	*out = buf;
	*outlen = (size_t) (q - buf);
	return 1;
}

/* A number by the JSON grammar. */
static int
parse_number(parser *ps, ae_jv *out)
{
	const char *s = ps->p;
	char	   *text;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p < ps->end && *ps->p == '0')
		ps->p++;
	else if (ps->p < ps->end && *ps->p >= '1' && *ps->p <= '9')
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	else
		return syntax(ps, "bad number");
	if (ps->p < ps->end && *ps->p == '.')
	{
		ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return syntax(ps, "bad number");
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E'))
	{
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return syntax(ps, "bad number");
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	text = arena_alloc(ps->doc, (size_t) (ps->p - s) + 1);
	if (text == NULL)
		return oom(ps);
	memcpy(text, s, (size_t) (ps->p - s));
	text[ps->p - s] = '\0';
	out->type = AE_JNUMBER;
	out->num = strtod(text, NULL);
	out->text = text;
	out->len = (size_t) (ps->p - s);
	return 1;
}

/* Members of an array or object, collected in a growing list. */
typedef struct member_list
{
	ae_jv	   *items;
	const char **keys;
	int			n;
	int			cap;
} member_list;

/* Append one slot to a list; returns it, or NULL when out of memory. */
static ae_jv *
list_push(parser *ps, member_list *l, int with_keys)
{
	if (l->n == l->cap)
	{
		int			cap = l->cap ? 2 * l->cap : 8;
		ae_jv	   *items = arena_alloc(ps->doc, sizeof(ae_jv) * cap);
		const char **keys = with_keys ? arena_alloc(ps->doc, sizeof(char *) * cap) : NULL;

		if (items == NULL || (with_keys && keys == NULL))
			return NULL;
		if (l->n)
		{
			memcpy(items, l->items, sizeof(ae_jv) * l->n);
			if (with_keys)
				memcpy(keys, l->keys, sizeof(char *) * l->n);
		}
		l->items = items;
		l->keys = keys;
		l->cap = cap;
	}
	memset(&l->items[l->n], 0, sizeof(ae_jv));
	return &l->items[l->n++];
}

/* An array or object (ps->p at its bracket). */
static int
parse_container(parser *ps, ae_jv *out, int object)
{
	member_list l = {0};
	char		close = object ? '}' : ']';

	if (++ps->depth > AE_JSON_MAX_DEPTH)
		return syntax(ps, "nesting too deep");
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close)
		ps->p++;
	else
		for (;;)
		{
			const char *key = NULL;
			size_t		keylen;
			ae_jv	   *slot;

			skip_ws(ps);
			if (object)
			{
				if (ps->p >= ps->end || *ps->p != '"')
					return syntax(ps, "expected a key");
				if (!parse_string(ps, &key, &keylen))
					return 0;
				skip_ws(ps);
				if (ps->p >= ps->end || *ps->p != ':')
					return syntax(ps, "expected ':'");
				ps->p++;
			}
			slot = list_push(ps, &l, object);
			if (slot == NULL)
				return oom(ps);
			if (object)
				l.keys[l.n - 1] = key;
			if (!parse_value(ps, slot))
				return 0;
			skip_ws(ps);
			if (ps->p < ps->end && *ps->p == ',')
			{
				ps->p++;
				continue;
			}
			if (ps->p < ps->end && *ps->p == close)
			{
				ps->p++;
				break;
			}
			return syntax(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
		}
	ps->depth--;
	out->type = object ? AE_JOBJECT : AE_JARRAY;
	out->n = l.n;
	out->items = l.items;
	out->keys = l.keys;
	return 1;
}

/* A literal word (true, false, null). */
static int
parse_word(parser *ps, const char *word, ae_jtype type, ae_jv *out)
{
	size_t		n = strlen(word);

	if ((size_t) (ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return syntax(ps, "unexpected character");
	ps->p += n;
	out->type = type;
	return 1;
}

/* Any value, with its raw span. */
static int	parse_value_inner(parser *ps, ae_jv *out);

static int
parse_value(parser *ps, ae_jv *out)
{
	const char *start;

	skip_ws(ps);
	start = ps->p;
	if (!parse_value_inner(ps, out))
		return 0;
	out->raw = start;
	out->raw_len = (size_t) (ps->p - start);
	return 1;
}

/* Any value (ps->p at its first character). */
static int
parse_value_inner(parser *ps, ae_jv *out)
{
	if (ps->p >= ps->end)
		return syntax(ps, "unexpected end");
	switch (*ps->p)
	{
		case '{':
			return parse_container(ps, out, 1);
		case '[':
			return parse_container(ps, out, 0);
		case '"':
			out->type = AE_JSTRING;
			return parse_string(ps, &out->text, &out->len);
		case 't':
			return parse_word(ps, "true", AE_JTRUE, out);
		case 'f':
			return parse_word(ps, "false", AE_JFALSE, out);
		case 'n':
			return parse_word(ps, "null", AE_JNULL, out);
		default:
			return parse_number(ps, out);
	}
}

/* Parse a whole document; on failure nothing is left allocated. */
ae_status
ae_json_parse(ae_jdoc *doc, const char *text, size_t len,
			  const ae_allocator *alloc, ae_error *err)
{
	parser		ps;

	memset(doc, 0, sizeof(*doc));
	doc->alloc = *alloc;
	ps.start = ps.p = text;
	ps.end = text + len;
	ps.depth = 0;
	ps.doc = doc;
	ps.err = err;
	ps.failed = 0;
	ps.status = AE_OK;
	doc->root = arena_alloc(doc, sizeof(ae_jv));
	if (doc->root == NULL)
		oom(&ps);
	else
	{
		memset(doc->root, 0, sizeof(ae_jv));
		if (parse_value(&ps, doc->root))
		{
			skip_ws(&ps);
			if (ps.p != ps.end)
				syntax(&ps, "trailing characters");
		}
	}
	if (ps.failed)
	{
		ae_json_doc_free(doc);
		return ps.status;
	}
	return AE_OK;
}

/* Release a document's arena. */
void
ae_json_doc_free(ae_jdoc *doc)
{
	arena_block *b = doc->arena;

	while (b)
	{
		arena_block *next = b->next;

		doc->alloc.release(doc->alloc.ctx, b);
		b = next;
	}
	doc->arena = NULL;
	doc->root = NULL;
}

/* The member of an object called key (the last one if repeated), or NULL. */
const ae_jv *
ae_json_get(const ae_jv *obj, const char *key)
{
	const ae_jv *found = NULL;

	if (obj == NULL || obj->type != AE_JOBJECT)
		return NULL;
	for (int i = 0; i < obj->n; i++)
		if (strcmp(obj->keys[i], key) == 0)
			found = &obj->items[i];
	return found;
}
