/* obj: Kubernetes object logic over cJSON: paths, labels/selectors, quantities, meta, patches. */
#ifndef TUG_OBJ_H
#define TUG_OBJ_H

/*
 * Pure functions: no I/O (except obj_uid/obj_generate_name reading the
 * kernel's random source), no threads, no globals beyond constant tables.
 * Every function that can fail returns 0 or a negative errno-style code and
 * fills the optional struct err with a message fit for a 400/422 Status.
 * Objects are cJSON trees; functions that return a tree hand it to the
 * caller, who frees it with cJSON_Delete. Allocation failure aborts, as
 * xmalloc does.
 *
 * Name prefixes, one per concept:
 *   obj_    JSON helpers, YAML, metadata validation, names, times, pod helpers
 *   sel_    label selectors and node selectors
 *   fsel_   field selectors
 *   qty_    resource quantities
 *   patch_  JSON patch, JSON merge patch, strategic merge patch
 *   schema_ the table of built-in kinds' list/map semantics (patch and apply)
 *   apply_  server-side apply and metadata.managedFields
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "core/util/util.h"

/* ------------------------------------------------------------------------ */
/* JSON helpers                                                              */
/* ------------------------------------------------------------------------ */

/*
 * Paths are dotted field names, "metadata.labels", "spec.template.spec", with
 * "[N]" for an array index ("spec.containers[0].image"). A backslash makes
 * the next character literal, for keys that contain dots:
 * "metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration".
 */

/* The node at path, or NULL when any step is missing or of the wrong type. */
const cJSON *obj_get(const cJSON *root, const char *path);
cJSON *obj_get_mut(cJSON *root, const char *path);
/* The string at path, or NULL when missing or not a string. */
const char *obj_get_str(const cJSON *root, const char *path);
/* The integer at path; false when missing, not a number or not integral. */
bool obj_get_i64(const cJSON *root, const char *path, int64_t *out);
bool obj_get_bool(const cJSON *root, const char *path, bool *out);
/* Object member by exact key; NULL-safe (NULL when o is not an object). */
const cJSON *obj_child(const cJSON *o, const char *key);

/*
 * Sets path to value, creating missing intermediate objects and replacing
 * what was there. Takes value in every case (frees it on error). -EINVAL when
 * an intermediate step exists but is not an object, or an index is out of
 * range.
 */
int obj_set(cJSON *root, const char *path, cJSON *value, struct err *e);
int obj_set_str(cJSON *root, const char *path, const char *s, struct err *e);
int obj_set_i64(cJSON *root, const char *path, int64_t v, struct err *e);
/* Removes the node at path; false when there was none. */
bool obj_delete(cJSON *root, const char *path);

/* Deep equality: same types, numbers equal, objects equal regardless of key order. */
bool obj_equal(const cJSON *a, const cJSON *b);
/* Deep copy; NULL gives NULL. */
cJSON *obj_dup(const cJSON *a);

/*
 * JSON text as Go's encoding/json writes it: compact, integers without
 * exponent, shortest round-trip floats, <, > and & escaped as \u003c..., and
 * invalid UTF-8 replaced with U+FFFD. OBJ_PRINT_SORTED sorts object keys
 * (canonical form, stable for hashing and comparison); OBJ_PRINT_INDENT
 * indents with two spaces.
 */
enum { OBJ_PRINT_SORTED = 1 << 0, OBJ_PRINT_INDENT = 1 << 1 };
void obj_print_buf(struct buf *out, const cJSON *v, unsigned flags);
/* As obj_print_buf into a new string the caller frees. */
char *obj_print(const cJSON *v, unsigned flags);

/*
 * Parses one JSON value from text of length len (need not be terminated);
 * anything but whitespace after it is an error. Errors name the line and
 * column: "invalid JSON at line 3, column 7 (offset 41)". -EINVAL.
 */
int obj_parse(const char *text, size_t len, cJSON **out, struct err *e);

/* ------------------------------------------------------------------------ */
/* YAML                                                                      */
/* ------------------------------------------------------------------------ */

/*
 * YAML to JSON as Kubernetes' decoder (sigs.k8s.io/yaml over go-yaml v2)
 * does it: YAML 1.1 plain scalars resolve to null (~, null, empty), booleans
 * (true/false, yes/no, on/off, y/n in their three spellings), integers
 * (decimal, 0x hex, 0o and leading-0 octal, 0b binary, '_' separators) and
 * floats; quoted and block scalars are strings; explicit tags (!!str, !!int,
 * ...) are honoured; anchors, aliases and merge keys (<<) work; non-string
 * keys become their text ("true", "1"). .inf and .nan have no JSON form and
 * are errors. Errors carry line and column: "yaml: line 3, column 5: mapping
 * values are not allowed in this context". Integers beyond 2^53 lose
 * precision (cJSON numbers are doubles).
 */

/* Exactly one document (a YAML request body). An empty input gives a JSON
 * null; more than one non-empty document is an error. -EINVAL. */
int obj_yaml_parse(const char *text, size_t len, cJSON **out, struct err *e);
/* Every non-empty document of a multi-document stream, as a JSON array. */
int obj_yaml_parse_all(const char *text, size_t len, cJSON **out, struct err *e);
/* v as a YAML document (block style; strings that would read back as
 * something else are quoted). Appends to out. */
int obj_yaml_print(struct buf *out, const cJSON *v, struct err *e);

/* ------------------------------------------------------------------------ */
/* Metadata: names, labels, annotations, UIDs, times, resourceVersion        */
/* ------------------------------------------------------------------------ */

#define OBJ_DNS1123_LABEL_MAX 63
#define OBJ_DNS1123_SUBDOMAIN_MAX 253
#define OBJ_LABEL_VALUE_MAX 63
#define OBJ_QUALIFIED_NAME_MAX 63
#define OBJ_ANNOTATIONS_MAX (256 * 1024) /* total bytes of keys and values */

/*
 * Validators return 0 or -EINVAL with a message in upstream's manner, naming
 * the rule, an example and the regular expression, e.g. "a lowercase RFC 1123
 * label must be made of lowercase letters, digits or '-', and begin and end
 * with a letter or digit (for example 'my-name' or '123-abc'; checked with
 * '[a-z0-9]([-a-z0-9]*[a-z0-9])?')". The message does not repeat the value;
 * callers add the field and value ("metadata.name: Invalid value: ...").
 */
int obj_validate_dns1123_label(const char *s, struct err *e);
int obj_validate_dns1123_subdomain(const char *s, struct err *e);
/* RFC 1035 label: as DNS-1123 but starts with a letter (Service names). */
int obj_validate_dns1035_label(const char *s, struct err *e);
/* [prefix/]name: optional DNS-1123 subdomain prefix, name of at most 63
 * alphanumerics, '-', '_' or '.' that begins and ends alphanumeric. Label
 * keys, annotation keys and finalizers are qualified names. */
int obj_validate_qualified_name(const char *s, struct err *e);
/* Empty, or at most 63 alphanumerics, '-', '_' or '.' beginning and ending alphanumeric. */
int obj_validate_label_value(const char *s, struct err *e);
/* A metadata.labels object: every key a qualified name, every value a
 * string that is a valid label value. The message names the offending key. */
int obj_validate_labels(const cJSON *labels, struct err *e);
/* A metadata.annotations object: qualified-name keys, string values, at most
 * OBJ_ANNOTATIONS_MAX bytes in all. */
int obj_validate_annotations(const cJSON *annotations, struct err *e);

/* Alphabet of generated name suffixes: no vowels (no words), no 0/1/3 (look-alikes). */
#define OBJ_GENERATE_NAME_ALPHABET "bcdfghjklmnpqrstvwxz2456789"
/*
 * metadata.generateName: base (cut to 58 bytes so the result fits a DNS
 * label) followed by 5 random characters of the alphabet above. out must
 * hold 64 bytes.
 */
void obj_generate_name(const char *base, char out[64]);
/* A random (version 4) UUID, lowercase, 36 characters plus NUL. */
void obj_uid(char out[37]);
/* Fills n random bytes from getrandom(2) (or /dev/urandom); aborts if neither works. */
void obj_random(void *p, size_t n);

/* "2006-01-02T15:04:05Z" (metav1.Time) for unix seconds. */
void obj_time_format(int64_t sec, char out[32]);
/* "2006-01-02T15:04:05.000000Z" (metav1.MicroTime, Events and Leases). */
void obj_microtime_format(int64_t usec, char out[40]);
/* Parses RFC 3339 with optional fraction and a Z or +hh:mm offset. -EINVAL. */
int obj_time_parse(const char *s, int64_t *sec, int32_t *nsec, struct err *e);

/*
 * resourceVersion is the store revision as a decimal string. Parsing accepts
 * only digits (no sign, no spaces); "" is not a version (callers treat an
 * absent or empty one as "any"). -EINVAL with "invalid resource version".
 */
int obj_rv_parse(const char *s, uint64_t *out, struct err *e);
void obj_rv_format(uint64_t rv, char out[24]);

/* ------------------------------------------------------------------------ */
/* Label selectors                                                           */
/* ------------------------------------------------------------------------ */

enum sel_op {
	SEL_EQUALS,         /* key=value */
	SEL_DOUBLE_EQUALS,  /* key==value */
	SEL_NOT_EQUALS,     /* key!=value: also true when the key is absent */
	SEL_IN,             /* key in (a,b) */
	SEL_NOT_IN,         /* key notin (a,b): also true when the key is absent */
	SEL_EXISTS,         /* key */
	SEL_DOES_NOT_EXIST, /* !key */
	SEL_GT,             /* key>N (node affinity Gt): label value parses as a larger integer */
	SEL_LT,             /* key<N (node affinity Lt) */
};

struct sel_req {
	char *key;
	enum sel_op op;
	char **values; /* sorted, without duplicates */
	size_t nvalues;
};

/*
 * A parsed selector: requirements ANDed, sorted by key as upstream sorts
 * them. No requirements selects everything; `nothing` (from a null
 * LabelSelector) selects nothing.
 */
struct sel {
	struct sel_req *reqs;
	size_t n;
	bool nothing;
};

/*
 * Parses the string form used by ?labelSelector= and kubectl -l:
 *   env=prod, env==prod, tier!=frontend, env in (prod,qa), tier notin (a,b),
 *   partition, !partition, and (node affinity) n>3, n<3; comma means AND.
 * Keys and values are validated as label keys and values. -EINVAL with a
 * message such as "unable to parse requirement: found ')', expected: identifier".
 */
int sel_parse(const char *s, struct sel **out, struct err *e);
/*
 * A metav1.LabelSelector ({matchLabels, matchExpressions} with In, NotIn,
 * Exists, DoesNotExist). A NULL or JSON null selector selects nothing; an
 * empty one selects everything (as LabelSelectorAsSelector).
 */
int sel_from_label_selector(const cJSON *ls, struct sel **out, struct err *e);
/* A plain map selector (Service spec.selector, pod nodeSelector, RC
 * selector): key=value for each member; empty or NULL selects everything, as
 * upstream's SelectorFromSet (the endpoints controller itself skips Services
 * without a selector). */
int sel_from_map(const cJSON *map, struct sel **out, struct err *e);
/* Whether labels (a JSON object of strings, or NULL for none) match. */
bool sel_matches(const struct sel *s, const cJSON *labels);
/* True when s selects everything. */
bool sel_is_everything(const struct sel *s);
/* Canonical string form ("a=b,c in (x,y),!d"); caller frees. */
char *sel_string(const struct sel *s);
void sel_free(struct sel *s);

/*
 * Node affinity. A NodeSelector ({nodeSelectorTerms: [...]}) matches a node
 * when any term matches; a term ({matchExpressions, matchFields}) matches
 * when all its requirements do; a term with neither matches nothing.
 * matchExpressions are NodeSelectorRequirements over the node's labels (In,
 * NotIn, Exists, DoesNotExist, Gt, Lt); matchFields support metadata.name
 * with In or NotIn and one value. An invalid requirement makes its term
 * fail; the first such error is reported in e while the other terms are
 * still evaluated (*match may be true). Returns 0 or -EINVAL.
 */
int sel_node_selector_matches(const cJSON *node_selector, const cJSON *node, bool *match,
                              struct err *e);
int sel_node_selector_term_matches(const cJSON *term, const cJSON *node, bool *match,
                                   struct err *e);

/* ------------------------------------------------------------------------ */
/* Field selectors                                                           */
/* ------------------------------------------------------------------------ */

struct fsel_term {
	char *field; /* as written, e.g. "spec.nodeName" */
	char *value; /* unescaped */
	bool negate; /* != */
};

/* Terms ANDed, sorted as upstream sorts them; none selects everything. */
struct fsel {
	struct fsel_term *terms;
	size_t n;
};

/*
 * Parses ?fieldSelector=: "f=v", "f==v", "f!=v", comma for AND; in values a
 * backslash escapes '\', ',' and '='. -EINVAL ("invalid field selector: ...").
 */
int fsel_parse(const char *s, struct fsel **out, struct err *e);
/*
 * A getter tells the value of a field for one object: true and *value (""
 * for a missing value), or false when the kind does not support the field.
 */
typedef bool (*fsel_getter)(void *ctx, const char *field, const char **value);
/* Matches through a getter; -EINVAL "field label not supported: x" when the
 * getter does not know a field. */
int fsel_matches(const struct fsel *s, fsel_getter get, void *ctx, bool *match, struct err *e);
/* Matches by reading each field as a JSON path of obj (strings as they are,
 * booleans "true"/"false", integers in decimal, missing as ""). */
bool fsel_matches_json(const struct fsel *s, const cJSON *obj);
/* -EINVAL unless every field is in the NULL-terminated list (per-kind support). */
int fsel_check_fields(const struct fsel *s, const char *const *allowed, struct err *e);
/* The value a selector requires field to equal (field=v), or NULL: lets a
 * caller use an index (spec.nodeName=node1). */
const char *fsel_exact(const struct fsel *s, const char *field);
char *fsel_string(const struct fsel *s);
void fsel_free(struct fsel *s);

/* ------------------------------------------------------------------------ */
/* Quantities (resource.Quantity)                                            */
/* ------------------------------------------------------------------------ */

enum qty_format {
	QTY_DECIMAL_SI,       /* n u m "" k M G T P E */
	QTY_BINARY_SI,        /* Ki Mi Gi Ti Pi Ei */
	QTY_DECIMAL_EXPONENT, /* 12e6, 1E-3 */
};

/*
 * A fixed-point quantity: sign, whole units and nanos (0..999999999). Like
 * upstream, parsing rounds anything finer than 1n up (away from zero) and
 * remembers the suffix family for printing. Magnitudes are capped at 2^63-1
 * units as upstream documents (upstream applies the cap only to binary
 * suffixes and keeps larger decimal values, which no Kubernetes resource
 * needs); arithmetic past the cap returns -ERANGE.
 */
struct qty {
	bool neg;
	uint64_t units;
	uint32_t nanos;
	enum qty_format format;
};

#define QTY_STR_MAX 64

/* Parses "100m", "1.5Gi", "2e3", "+1", ".5"; -EINVAL with "quantities must
 * match the regular expression ..." or "unable to parse quantity's suffix". */
int qty_parse(const char *s, struct qty *q, struct err *e);
/* A JSON string, or a JSON number (which Kubernetes also accepts). */
int qty_from_json(const cJSON *v, struct qty *q, struct err *e);
/* Canonical form as upstream prints it: "1000m" → "1", "1024Mi" → "1Gi",
 * "0.5" → "500m", "1.5Gi" → "1536Mi", "12e6" → "12e6". Returns out. */
char *qty_format(const struct qty *q, char out[QTY_STR_MAX]);
/* -1, 0 or 1. */
int qty_cmp(const struct qty *a, const struct qty *b);
bool qty_is_zero(const struct qty *q);
/* a += b and a -= b; a keeps its format unless it was zero. -ERANGE on overflow (a unchanged). */
int qty_add(struct qty *a, const struct qty *b);
int qty_sub(struct qty *a, const struct qty *b);
/* Whole units and thousandths, rounded away from zero as upstream's Value()
 * and MilliValue(); -ERANGE when the result does not fit in int64. */
int qty_value(const struct qty *q, int64_t *out);
int qty_milli(const struct qty *q, int64_t *out);
void qty_from_int(struct qty *q, int64_t v, enum qty_format f);
void qty_from_milli(struct qty *q, int64_t milli, enum qty_format f);

/* ------------------------------------------------------------------------ */
/* Schema of the built-in kinds                                              */
/* ------------------------------------------------------------------------ */

/*
 * What upstream's Go struct tags say about the fields of a kind: which lists
 * merge by which key under strategic merge patch (patchStrategy,
 * patchMergeKey), which lists are associative or sets and which structs are
 * atomic under server-side apply (listType, listMapKey, structType). Covers
 * Pod, PodTemplate, Service, Node, Namespace, PersistentVolumeClaim,
 * ConfigMap, Secret, ServiceAccount, Event, ResourceQuota, Deployment,
 * ReplicaSet, StatefulSet, DaemonSet, ReplicationController, Job, CronJob,
 * (Cluster)RoleBinding and CertificateSigningRequest; any other kind gets
 * the ObjectMeta rules only (finalizers, ownerReferences) and generic
 * behaviour elsewhere (objects merge key by key, lists are replaced whole).
 * Never NULL.
 */
struct schema_type;
const struct schema_type *schema_for_kind(const char *kind);
/* By the object's "kind". */
const struct schema_type *schema_for_object(const cJSON *obj);

/* ------------------------------------------------------------------------ */
/* Patches                                                                   */
/* ------------------------------------------------------------------------ */

/* The API server's limit on operations in one JSON patch. */
#define PATCH_MAX_OPS 10000

/*
 * RFC 6902 JSON Patch (application/json-patch+json): add, remove, replace,
 * move, copy, test, with RFC 6901 pointers (~0 is '~', ~1 is '/', "-" is the
 * end of an array). Operations apply in order to a copy of doc; any failure
 * leaves nothing applied. -EINVAL ("add operation does not apply: doc is
 * missing path: \"/spec/x\"", "testing value /a failed"), -E2BIG past
 * PATCH_MAX_OPS. *out is a new tree.
 */
int patch_json(const cJSON *doc, const cJSON *ops, cJSON **out, struct err *e);

/*
 * RFC 7386 JSON Merge Patch (application/merge-patch+json): objects merge
 * recursively, null deletes, anything else (arrays included) replaces.
 */
int patch_merge(const cJSON *doc, const cJSON *patch, cJSON **out, struct err *e);

/*
 * Strategic merge patch (application/strategic-merge-patch+json) as the API
 * server applies it, with the merge keys of type (schema_for_object(doc)):
 * lists marked merge are merged by key (containers by name, ports by
 * containerPort, env by name, ...) or as sets of scalars (finalizers), other
 * lists are replaced, null deletes a field. Directives:
 *   {"$patch": "replace"} / {"$patch": "delete"} in a map, and as list items
 *   ({"$patch": "delete", "name": "x"} removes the item named x;
 *   {"$patch": "replace"} makes the list the patch's items);
 *   "$deleteFromPrimitiveList/<field>": [values] removes scalars;
 *   "$setElementOrder/<field>": [items or {key: v}] orders the merged list;
 *   "$retainKeys": [fields] clears live fields not listed.
 * These are the patches kubectl apply computes from its last-applied
 * annotation. Items the patch adds to a merging list without an order come
 * first, as upstream. -EINVAL for malformed patches or directives ("map:
 * {...} does not contain declared merge key: name").
 */
int patch_strategic(const cJSON *doc, const cJSON *patch, const struct schema_type *type,
                    cJSON **out, struct err *e);

/* ------------------------------------------------------------------------ */
/* Server-side apply and managedFields                                       */
/* ------------------------------------------------------------------------ */

/* A 409 Conflict: other managers own fields the apply would change. */
#define APPLY_E_CONFLICT (-EBUSY)

struct apply_opts {
	const char *manager;     /* ?fieldManager= (kubectl sends "kubectl"); required */
	const char *subresource; /* "" / NULL for the object itself, or "status", "scale" */
	bool force;              /* ?force=true: take conflicting fields over */
	const char *time;        /* RFC 3339 time for the entry; NULL: now */
	/* Top-level fields this endpoint neither merges nor owns, NULL-terminated:
	 * {"status", NULL} for the main resource of a kind with a status. */
	const char *const *ignore;
};

struct apply_conflict {
	char *manager, *operation, *api_version, *subresource;
	char *path; /* as upstream prints it: .spec.template.spec.containers[name="web"].image */
};

struct apply_conflicts {
	struct apply_conflict *v;
	size_t n;
};

/*
 * Server-side apply (PATCH with application/apply-patch+yaml, as kubectl apply
 * --server-side sends): merges config into live (NULL when creating) by the
 * schema's rules (associative lists by their keys, sets, atomic structs and
 * lists replaced whole, null clears a field), then removes what this
 * manager applied last time but no longer applies and no other manager owns,
 * and rewrites metadata.managedFields (fieldsV1: f:<field>, k:{keys},
 * v:<value>, "." entries) so the manager's Apply entry owns exactly what it
 * applied. Fields owned by other managers that the apply would change are
 * conflicts: APPLY_E_CONFLICT with *conflicts filled and e holding upstream's
 * message ("Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\"
 * using apps/v1: .spec.replicas"), unless o->force, which takes them over.
 * As upstream, manager "kubectl" may take over fields that its client-side
 * last-applied annotation still describes, and keeps that annotation current.
 * *out is the new object (caller frees); conflicts (may be NULL) are freed
 * with apply_conflicts_free. -EINVAL for malformed configs (duplicate list
 * keys, missing list keys, managedFields set, no apiVersion/kind).
 */
int apply_server_side(const cJSON *live, const cJSON *config, const struct schema_type *type,
                      const struct apply_opts *o, cJSON **out, struct apply_conflicts *conflicts,
                      struct err *e);

/*
 * Ownership for every other write (create, update, JSON/merge/strategic
 * patch) by o->manager: the fields the write added or changed between old
 * (NULL on create) and obj move to the manager's Update entry, fields it
 * removed leave every entry, and obj's metadata.managedFields is rewritten.
 * managedFields sent in obj are used when present, otherwise old's are kept;
 * a list of one empty entry ([{}]) resets them, as upstream documents.
 */
int apply_track_update(const cJSON *old, cJSON *obj, const struct schema_type *type,
                       const struct apply_opts *o, struct err *e);

/* The conflict message as upstream words it; caller frees. */
char *apply_conflicts_message(const struct apply_conflicts *c);
void apply_conflicts_free(struct apply_conflicts *c);

/* ------------------------------------------------------------------------ */
/* Pods: resource defaulting and QoS                                         */
/* ------------------------------------------------------------------------ */

/*
 * Validates every quantity in the resources of a pod spec's containers and
 * init containers (and spec.resources), rewrites them in canonical form, and
 * gives a container that sets limits but not requests for a resource a
 * request equal to the limit (SetDefaults_Pod; pods only, not templates).
 * pod is the whole Pod object. -EINVAL names the field:
 * "spec.containers[0].resources.limits.cpu: quantities must match ...".
 */
int obj_pod_default_resources(cJSON *pod, struct err *e);

enum obj_qos { OBJ_QOS_BEST_EFFORT, OBJ_QOS_BURSTABLE, OBJ_QOS_GUARANTEED };
/* QoS class as upstream computes it (cpu and memory of containers and init
 * containers, or pod-level spec.resources when set). Unparseable quantities
 * count as absent. */
enum obj_qos obj_pod_qos(const cJSON *pod);
/* "BestEffort", "Burstable", "Guaranteed". */
const char *obj_qos_name(enum obj_qos q);

#endif
