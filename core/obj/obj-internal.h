/* obj-internal: helpers shared by the files of core/obj; not part of its interface. */
#ifndef TUG_OBJ_INTERNAL_H
#define TUG_OBJ_INTERNAL_H

#include <stdio.h>
#include <string.h>

#include "core/obj/obj.h"

/* cJSON reports allocation failure with NULL; we treat it as xmalloc does. */
static inline cJSON *jchk(cJSON *v)
{
	if (!v) {
		fprintf(stderr, "<2>tug: out of memory building JSON\n");
		abort();
	}
	return v;
}

static inline int jtype(const cJSON *v)
{
	return v ? (v->type & 0xFF) : cJSON_Invalid;
}
static inline bool jis_obj(const cJSON *v)
{
	return jtype(v) == cJSON_Object;
}
static inline bool jis_arr(const cJSON *v)
{
	return jtype(v) == cJSON_Array;
}
static inline bool jis_str(const cJSON *v)
{
	return jtype(v) == cJSON_String;
}
static inline bool jis_null(const cJSON *v)
{
	return jtype(v) == cJSON_NULL;
}
static inline bool jis_num(const cJSON *v)
{
	return jtype(v) == cJSON_Number;
}
static inline bool jis_bool(const cJSON *v)
{
	return jtype(v) == cJSON_True || jtype(v) == cJSON_False;
}
static inline bool jis_container(const cJSON *v)
{
	return jis_obj(v) || jis_arr(v);
}

static inline cJSON *jobj(void)
{
	return jchk(cJSON_CreateObject());
}
static inline cJSON *jarr(void)
{
	return jchk(cJSON_CreateArray());
}
static inline cJSON *jstr(const char *s)
{
	return jchk(cJSON_CreateString(s));
}
static inline cJSON *jnum(double d)
{
	return jchk(cJSON_CreateNumber(d));
}
static inline cJSON *jnull(void)
{
	return jchk(cJSON_CreateNull());
}
static inline cJSON *jbool(bool b)
{
	return jchk(cJSON_CreateBool(b));
}

/* Adds v under key (the key is copied). */
static inline void jadd(cJSON *o, const char *key, cJSON *v)
{
	if (!cJSON_AddItemToObject(o, key, v)) {
		fprintf(stderr, "<2>tug: out of memory building JSON\n");
		abort();
	}
}
static inline void jappend(cJSON *a, cJSON *v)
{
	cJSON_AddItemToArray(a, v);
}
/* Replaces o[key] with v, or adds it. */
void jput(cJSON *o, const char *key, cJSON *v);
/* Number of children of an array or object. */
size_t jlen(const cJSON *v);
/* The integer value of a number node, if it is integral and fits. */
bool jint(const cJSON *v, int64_t *out);
/* Number text as Go prints a float64 ("1", "0.5", "1e+21"). */
void jnum_format(struct buf *b, double d);
/* A short human type name for messages: "string", "object", ... */
const char *jtype_name(const cJSON *v);

#endif
