/*-------------------------------------------------------------------------
 *
 * fuzz_util.h
 *	  Shared by the libFuzzer targets of test/fuzz/: the malloc allocator
 *	  the core is given, a check that aborts (libFuzzer reports it as a
 *	  crash with the input that caused it), and a JSON validity check.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include "ae_core.h"
#include "ae_json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *
fz_malloc(void *ctx, size_t size)
{
	(void) ctx;
	return malloc(size ? size : 1);
}

static void
fz_free(void *ctx, void *ptr)
{
	(void) ctx;
	free(ptr);
}

static const ae_allocator fz_alloc = {fz_malloc, fz_free, NULL};

/* A property the target checks: on failure, say which and abort. */
#define FZ_CHECK(cond, ...) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "fuzz check failed at %s:%d: %s: ", \
					__FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
			abort(); \
		} \
	} while (0)

/* Whether text[0..len) is one JSON document (of type want, or any if < 0). */
static inline int
fz_json_ok(const char *text, size_t len, int want)
{
	ae_jdoc		doc;
	int			ok;

	if (text == NULL || ae_json_parse(&doc, text, len, &fz_alloc, NULL) != AE_OK)
		return 0;
	ok = want < 0 || doc.root->type == (ae_jtype) want;
	ae_json_doc_free(&doc);
	return ok;
}

/* Whether an error message is a terminated, non-empty string. */
static inline int
fz_message_ok(const char *msg, size_t cap)
{
	return memchr(msg, '\0', cap) != NULL && msg[0] != '\0';
}

#endif							/* FUZZ_UTIL_H */
