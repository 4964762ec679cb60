/* schema-internal: the type table parsed from types.def, shared by the module's files. */
#ifndef TUG_SCHEMA_INTERNAL_H
#define TUG_SCHEMA_INTERNAL_H

#include <stdint.h>

#include "core/util/util.h"

/* A slice of the definition text (or of a string literal): not NUL-terminated. */
struct sstr {
	const char *p;
	uint32_t n;
};

/* The value shape of a named type. */
enum {
	SHAPE_OBJECT, /* properties */
	SHAPE_TIME,   /* string, date-time (to the second) */
	SHAPE_MTIME,  /* string, date-time with microseconds (MicroTime) */
	SHAPE_INTSTR, /* int-or-string */
	SHAPE_QTY,    /* quantity: string or number */
	SHAPE_ANY,    /* free-form JSON object */
};

/* The base of a field's value, under its wrappers. */
enum {
	BASE_STRING,
	BASE_BOOL,
	BASE_INT32,
	BASE_INT64,
	BASE_NUMBER,
	BASE_BYTE, /* base64 string */
	BASE_ANY,  /* free-form object */
	BASE_REF,  /* a named type */
};

enum { WRAP_ARRAY = 1, WRAP_MAP = 2 };
#define SCHEMA_MAX_WRAP 3

enum { STRAT_MERGE = 1, STRAT_RETAIN = 2 };
enum { MAPT_NONE, MAPT_ATOMIC, MAPT_GRANULAR };

struct sfield {
	struct sstr name, desc;
	struct sstr enums; /* "A,B,C" (a leading comma stands for ""), or empty */
	const char *key;   /* patch merge key, NUL-terminated, or NULL */
	const char *lkeys[4];
	uint16_t ref; /* type index, for BASE_REF */
	uint8_t base;
	uint8_t nwrap;
	uint8_t wrap[SCHEMA_MAX_WRAP]; /* outermost first */
	uint8_t required;
	uint8_t strategy;  /* STRAT_* bits */
	uint8_t list_type; /* enum schema_list_type */
	uint8_t map_type;  /* MAPT_* */
	/* Protobuf: the field number, 0 for apiVersion and kind (they travel in the envelope);
	 * pb_in, when not 0, is the number inside the message in field pb that Go embeds inline
	 * (Probe's handler, Volume's volumeSource). pb_omitzero: a zero scalar means unset. */
	uint8_t pb_omitzero;
	uint16_t pb, pb_in;
};

enum {
	TF_KIND = 1 << 0,   /* top-level kind: apiVersion, kind and the GVK extension */
	TF_META = 1 << 1,   /* has metadata: ObjectMeta */
	TF_LIST = 1 << 2,   /* a <Kind>List is generated */
	TF_NS = 1 << 3,     /* namespaced resource */
	TF_ATOMIC = 1 << 4, /* x-kubernetes-map-type: atomic */
	TF_ISLIST = 1 << 5, /* this is a generated <Kind>List; list_of names the item type */
};

struct stype {
	struct sstr name, desc, resource;
	uint16_t pkg;
	uint16_t list_of;
	uint8_t shape;
	uint8_t flags;
	uint32_t first, nfields;
};

struct spkg {
	struct sstr alias, name, gv; /* "core", "io.k8s.api.core.v1", "v1" ("-": none) */
	int home;                    /* package whose v3 document carries these types, or -1 */
};

struct model {
	struct spkg *pkgs;
	size_t npkgs;
	struct stype *types;
	size_t ntypes;
	struct sfield *fields;
	size_t nfields;
	char err[256]; /* set when the table failed to parse */
};

/* The parsed table (parsed once, thread-safe); NULL if types.def is broken (logged). */
const struct model *schema_model(void);
/* The type of a kind by apiVersion and kind name (including generated lists); -1 if none. */
int schema_find_kind(const struct model *m, const char *api_version, const char *kind);
bool sstr_eq(struct sstr s, const char *z);
/* A strong ETag for n bytes at p: a quoted 64-bit FNV-1a hash in hex, into out. */
void schema_etag(const char *p, size_t n, char out[20]);
/* The ETag of the protobuf document if doc is it, else NULL. */
const char *schema_pb_etag(const char *doc);

#endif
