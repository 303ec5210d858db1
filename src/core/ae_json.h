/*-------------------------------------------------------------------------
 *
 * ae_json.h
 *	  The core's one JSON writer and its small validating parser.
 *
 * The writer builds a document in a growing buffer from the caller's
 * allocator; it places the commas itself (no splicing of braces), prints
 * every number as the shortest decimal that reads back to the same double
 * (null if it is not finite) and escapes every string.  The parser reads a
 * whole document into a tree of ae_jv nodes in one arena, with a depth
 * limit, and rejects anything that is not RFC 8259 JSON.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AE_JSON_H
#define AE_JSON_H

#include "ae_core.h"

#define AE_JSON_MAX_DEPTH	32	/* nesting the writer and the parser accept */
#define AE_JSON_NUMLEN		32	/* room for any number ae_json_format_double prints */

/* A document being written. */
typedef struct ae_json
{
	char	   *buf;			/* NUL-terminated text so far */
	size_t		len;
	size_t		cap;
	int			depth;
	unsigned char empty[AE_JSON_MAX_DEPTH + 1];	/* container has no member yet */
	int			failed;			/* an allocation failed: the result is NULL */
	ae_allocator alloc;
} ae_json;

/*
 * Every value function takes the member's key: a string inside an object,
 * NULL inside an array or at the top.
 */
void		ae_json_init(ae_json *j, const ae_allocator *alloc);
void		ae_json_object_begin(ae_json *j, const char *key);
void		ae_json_object_end(ae_json *j);
void		ae_json_array_begin(ae_json *j, const char *key);
void		ae_json_array_end(ae_json *j);
void		ae_json_number(ae_json *j, const char *key, double v);
/* A float32 value with the shortest decimal that reads back to it. */
void		ae_json_float(ae_json *j, const char *key, float v);
void		ae_json_integer(ae_json *j, const char *key, int64_t v);
void		ae_json_string(ae_json *j, const char *key, const char *s);
void		ae_json_bool(ae_json *j, const char *key, int v);
void		ae_json_null(ae_json *j, const char *key);
/* A complete JSON document (already valid) as the member's value. */
void		ae_json_raw(ae_json *j, const char *key, const char *text, size_t len);
/* The text (the caller releases it through the allocator), or NULL. */
char	   *ae_json_finish(ae_json *j, size_t *len);
/* Release what a writer holds without taking the text. */
void		ae_json_discard(ae_json *j);
/* Shortest decimal of v that reads back exactly ("null" if not finite). */
void		ae_json_format_double(double v, char *out);

/* Parsed values. */
typedef enum ae_jtype
{
	AE_JNULL = 0,
	AE_JFALSE,
	AE_JTRUE,
	AE_JNUMBER,
	AE_JSTRING,
	AE_JARRAY,
	AE_JOBJECT
} ae_jtype;

typedef struct ae_jv
{
	ae_jtype	type;
	double		num;			/* AE_JNUMBER: its value (may be +-inf) */
	const char *text;			/* AE_JSTRING: unescaped, NUL-terminated;
								 * AE_JNUMBER: its literal text */
	size_t		len;			/* bytes of text */
	const char *raw;			/* the value's JSON text in the document */
	size_t		raw_len;
	int			n;				/* AE_JARRAY, AE_JOBJECT: members */
	struct ae_jv *items;		/* (n) members */
	const char **keys;			/* (n) AE_JOBJECT: each member's key */
} ae_jv;

/* A parsed document: its root and the arena behind every node. */
typedef struct ae_jdoc
{
	ae_jv	   *root;
	void	   *arena;			/* list of blocks from alloc */
	ae_allocator alloc;
} ae_jdoc;

ae_status	ae_json_parse(ae_jdoc *doc, const char *text, size_t len,
						  const ae_allocator *alloc, ae_error *err);
void		ae_json_doc_free(ae_jdoc *doc);
/* The member of an object called key, or NULL. */
const ae_jv *ae_json_get(const ae_jv *obj, const char *key);

#endif							/* AE_JSON_H */
