/* schema: the shape of every served kind, the OpenAPI documents made from it, strategic-merge
 * metadata and strict field validation. */
#ifndef TUG_SCHEMA_H
#define TUG_SCHEMA_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Documents. Each is built on first use from the type table (core/schema/types.def) and kept
 * for the life of the process; the returned text is owned by the module and NUL-terminated,
 * and len (optional) gets its length. Safe to call from any thread.
 */

/* Swagger 2.0 JSON, as served at /openapi/v2. NULL only if the table is broken. */
const char *schema_openapi_v2(size_t *len);

/* The same document as protobuf (gnostic's openapi.v2.Document), which is what kubectl and
 * client-go ask /openapi/v2 for. Serve it when Accept contains SCHEMA_OPENAPI_V2_PB_ACCEPT
 * (kubectl 1.20 writes "...spec.v2@v1.0+protobuf", newer ones "...spec.v2.v1.0+protobuf"),
 * with Content-Type SCHEMA_OPENAPI_V2_PB_TYPE: Go's MIME parser rejects the '@' form in a
 * response. kubectl 1.20 needs this for explain and client-side validation. */
#define SCHEMA_OPENAPI_V2_PB_ACCEPT "com.github.proto-openapi.spec.v2"
#define SCHEMA_OPENAPI_V2_PB_TYPE "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
const char *schema_openapi_v2_pb(size_t *len);

/* The OpenAPI v3 index served at /openapi/v3: {"paths": {"api/v1": {"serverRelativeURL":
 * "/openapi/v3/api/v1?hash=..."}, "apis/apps/v1": {...}, ...}}. */
const char *schema_openapi_v3_index(size_t *len);

/* One OpenAPI 3.0 document per group-version. gv is the part after /openapi/v3/: "api/v1",
 * "apis/apps/v1". NULL if that group-version is not served. */
const char *schema_openapi_v3(const char *gv, size_t *len);

/* The ETag of a document returned by one of the functions above: a quoted hash of its text
 * ("\"0123456789ABCDEF\""), the same hash the v3 index puts in ?hash=. NULL for any other
 * pointer. */
const char *schema_openapi_etag(const char *doc);

/* The served group-versions as /openapi/v3 lists them ("api/v1", "apis/apps/v1", ...), in a
 * fixed order; *n gets the count. */
const char *const *schema_group_versions(size_t *n);

/* Strategic-merge metadata of a field. */
enum schema_list_type {
	SCHEMA_LIST_NONE = 0, /* not a list, or a list without a declared type */
	SCHEMA_LIST_ATOMIC,   /* replaced whole */
	SCHEMA_LIST_SET,      /* items are unique scalars */
	SCHEMA_LIST_MAP,      /* items are objects keyed by map_keys */
};

struct schema_patch_meta {
	bool found;              /* the path names a field of the kind */
	bool is_list, is_map;    /* the field's JSON shape: array, or object with arbitrary keys */
	bool merge, retain_keys; /* x-kubernetes-patch-strategy: "merge", "retainKeys", or both */
	const char *merge_key; /* x-kubernetes-patch-merge-key ("name", "containerPort"), or NULL */
	enum schema_list_type list_type;
	const char *map_keys[4]; /* x-kubernetes-list-map-keys, NULL-terminated */
	bool atomic_map;         /* x-kubernetes-map-type: atomic (of the field or its type) */
};

/*
 * Looks up a field of a kind by a dotted path ("spec.template.spec.containers"). Lists are
 * stepped through implicitly ("spec.containers.ports" is the ports of any container), and a
 * component after a map-valued field is taken as a key of that map. Fills *out (strings are
 * static). Returns 0, -ENOENT if the kind is not served or the path names no field.
 */
int schema_patch_meta(const char *api_version, const char *kind, const char *path,
                      struct schema_patch_meta *out);

/* One finding of strict validation. */
struct schema_issue {
	char *path;    /* "spec.containers[0].foo" */
	char *message; /* "unknown field \"spec.containers[0].foo\"" */
};

struct schema_issues {
	struct schema_issue *v;
	size_t n, cap;
};

void schema_issues_free(struct schema_issues *issues);

/* At most this many issues are reported for one object; the rest are dropped. */
#define SCHEMA_MAX_ISSUES 64

/*
 * Strict field validation as kube-apiserver's fieldValidation=Strict does it: appends an issue
 * for every field the kind does not have ("unknown field \"spec.foo\"") and every key that
 * occurs twice in one JSON object ("duplicate field \"metadata.name\""), in document order.
 * Maps with free keys (labels, annotations, data) and free-form values (ControllerRevision
 * data, managedFields[].fieldsV1) accept any key. Values of the wrong JSON type are not this
 * check's business. Returns 0 (issues may have been added), -ENOENT if the kind is not
 * served, -EINVAL if obj is not a JSON object.
 */
int schema_check_fields(const char *api_version, const char *kind, const cJSON *obj,
                        struct schema_issues *issues);

/* True if apiVersion/kind names a kind in the table (served kinds, their lists, meta kinds). */
bool schema_has_kind(const char *api_version, const char *kind);

struct err;

/*
 * Decodes a Kubernetes protobuf body (Content-Type application/vnd.kubernetes.protobuf: the
 * bytes "k8s\0" and a runtime.Unknown envelope around one object) into the JSON object a JSON
 * client sends for the same object: kind and apiVersion first, from the envelope or, where it
 * leaves them empty, from def_kind and def_api_version (the endpoint's, as kube-apiserver
 * does); Quantities and IntOrStrings as strings and numbers, times in RFC 3339, bytes in
 * base64, embedded objects (RawExtension) as JSON; fields absent from the body stay absent,
 * and zeros stay where Go's JSON keeps them (pointers: replicas 0). Unknown fields are
 * skipped. Returns 0 with a new object in *out (caller frees with cJSON_Delete); -ENOENT if
 * the kind is not served; -EBADMSG if the body is malformed (e says what and where).
 */
int schema_from_protobuf(const void *buf, size_t len, const char *def_api_version,
                         const char *def_kind, cJSON **out, struct err *e);

#endif
