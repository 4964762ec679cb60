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

/* ---- schema: what upstream's struct tags say about lists and maps ---------------- */

/* How a list field merges under server-side apply (+listType). */
enum {
	SCH_LIST_ATOMIC = 0, /* replaced whole; the default for untagged lists */
	SCH_LIST_MAP = 1,    /* items identified by keys[] (+listMapKey) */
	SCH_LIST_SET = 2,    /* scalars identified by value */
};

/* Strategic merge patch strategies (+patchStrategy). */
enum {
	SMP_MERGE = 1 << 0,       /* lists merge by smp_key (or as a set of scalars) */
	SMP_RETAIN_KEYS = 1 << 1, /* the client may send $retainKeys */
	SMP_REPLACE = 1 << 2,     /* maps are replaced, not merged */
};

struct schema_type;

struct schema_field {
	const char *name;
	/* Type of the value, or of each element for lists; NULL for scalars and
	 * fields we do not describe (maps merge key by key, lists are atomic). */
	const struct schema_type *type;
	unsigned char list;          /* SCH_LIST_* */
	unsigned char smp;           /* SMP_* */
	bool map;                    /* map[string]X: entries are keys, not named fields */
	const char *smp_key;         /* patchMergeKey */
	const char *keys[3];         /* listMapKey, in order */
	const char *key_defaults[3]; /* JSON text a missing key defaults to ("\"TCP\"") */
};

struct schema_type {
	const char *name;
	bool atomic; /* +structType=atomic / +mapType=atomic: owned and replaced whole */
	const struct schema_field *fields; /* ends with a NULL name */
};

/* The field named name in t, or NULL (also when t is NULL). */
const struct schema_field *schema_field(const struct schema_type *t, const char *name);

/* ---- field sets: the paths a manager owns (metadata.managedFields fieldsV1) --------- */

/*
 * A tree of path elements as fieldsV1 writes them: "f:<field>",
 * "k:<json object of list keys>", "v:<json value>", "i:<index>". A node is a
 * member when the path itself is in the set (written "{}" for a leaf, or "."
 * beside children). Children stay sorted in upstream's order: fields by
 * name, then keys, values, indexes.
 */
struct fs {
	char *pe;   /* NULL at the root */
	cJSON *val; /* parsed key object or value, for k: and v: */
	bool member;
	struct fs **kids;
	size_t n, cap;
};

struct fs *fs_new(void);
void fs_free(struct fs *s);
/* Child with path element pe; created (sorted in) when create is set. */
struct fs *fs_child(struct fs *s, const char *pe, bool create);
const struct fs *fs_find(const struct fs *s, const char *pe);
/* True when no path is a member. */
bool fs_empty(const struct fs *s);
struct fs *fs_dup(const struct fs *s);
/* a |= b. */
void fs_union(struct fs *a, const struct fs *b);
/* a -= b, member by member. */
void fs_subtract(struct fs *a, const struct fs *b);
/* a -= everything at or under b's members. */
void fs_subtract_recursive(struct fs *a, const struct fs *b);
/* a ∩ b, new. */
struct fs *fs_intersect(const struct fs *a, const struct fs *b);
/* Drops nodes that are neither members nor lead to one. */
void fs_compact(struct fs *s);
/* fieldsV1 JSON to a set, and back. */
int fs_from_json(const cJSON *v, struct fs **out, struct err *e);
cJSON *fs_to_json(const struct fs *s);
/* Calls fn with upstream's text of each member path (".spec.containers[name=\"a\"].image"). */
void fs_each_path(const struct fs *s, void (*fn)(void *ctx, const char *path), void *ctx);

#endif
