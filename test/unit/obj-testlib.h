/* obj-testlib: helpers for the core/obj unit tests (JSON literals with single quotes). */
#ifndef TUG_OBJ_TESTLIB_H
#define TUG_OBJ_TESTLIB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/obj/obj.h"

/*
 * Parses a JSON literal written with single quotes for readability:
 * J("{'a':[1,2]}"). A literal double quote is written \" as usual.
 */
static inline cJSON *J(const char *text)
{
	char *s = strdup(text);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	cJSON *v = NULL;
	struct err e = { 0 };
	if (obj_parse(s, strlen(s), &v, &e) < 0) {
		fprintf(stderr, "bad test JSON %s: %s\n", text, e.msg);
		free(s);
		fail();
	}
	free(s);
	return v;
}

/* Canonical (sorted, compact) text of v, in a static buffer pair for easy asserts. */
static inline const char *S(const cJSON *v)
{
	static char *slot[4];
	static int next;
	int i = next++ & 3;
	free(slot[i]);
	slot[i] = obj_print(v, OBJ_PRINT_SORTED);
	return slot[i];
}

/* Canonical text of a single-quoted literal. */
static inline const char *C(const char *text)
{
	cJSON *v = J(text);
	const char *s = S(v);
	cJSON_Delete(v);
	return s;
}

/* Asserts that v prints as the literal (after canonicalization of both). */
#define assert_json(v, lit) assert_string_equal(S(v), C(lit))

/* A small deterministic PRNG for bounded fuzz-style loops. */
static inline uint32_t test_rand(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

#endif
