/* registry: one table row per served resource (kind, scope, subresources) and its strategy:
 * defaults, validation, printer columns and field selectors. The generic REST engine in
 * core/api does everything else (metadata, revisions, storage, watch) from these rows;
 * adding a kind is a row and its strategy functions, never a new handler. */
#ifndef TUG_REGISTRY_H
#define TUG_REGISTRY_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Subresources a kind serves besides the object itself. */
enum {
	REG_SUB_STATUS = 1 << 0,   /* .../status: spec/status split */
	REG_SUB_SCALE = 1 << 1,    /* .../scale: autoscaling/v1 Scale */
	REG_SUB_BINDING = 1 << 2,  /* pods/binding */
	REG_SUB_EVICTION = 1 << 3, /* pods/eviction */
	REG_SUB_LOG = 1 << 4,      /* pods/log */
	REG_SUB_EXEC = 1 << 5,     /* pods/exec, attach, portforward */
	REG_SUB_APPROVAL = 1 << 6, /* certificatesigningrequests/approval */
	REG_SUB_PROXY = 1 << 7,    /* nodes/proxy, services/proxy, pods/proxy */
};

/* One field error, as metav1.StatusCause. type is upstream's cause type, e.g.
 * "FieldValueRequired", "FieldValueInvalid", "FieldValueDuplicate",
 * "FieldValueNotSupported", "FieldValueTooLong", "FieldValueForbidden". */
struct reg_cause {
	const char *type;
	char field[256];   /* "spec.containers[0].image" */
	char message[512]; /* "Required value", "Invalid value: \"x\": must be ..." */
};

struct reg_errors {
	struct reg_cause *v;
	size_t n, cap;
};

/* Adds a cause; message is printf-style. */
void reg_err(struct reg_errors *errs, const char *type, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void reg_errors_free(struct reg_errors *errs);

/* A column of `kubectl get` output, as metav1.TableColumnDefinition. */
struct reg_column {
	const char *name;        /* "Name", "Ready", "Status", "Restarts", "Age", "IP", ... */
	const char *type;        /* "string", "integer", "number", "boolean", "date" */
	const char *format;      /* "name" for the name column, else "" */
	const char *description; /* our own words */
	int priority;            /* 0: always shown; 1: only with -o wide */
};

/* Who sent a create, for set_requestor. */
struct reg_user {
	const char *name;
	const char *uid;
	const char *const *groups;
	size_t ngroups;
};

struct reg_kind {
	const char *group;       /* "" for the core group */
	const char *version;     /* "v1" */
	const char *resource;    /* plural: "pods" */
	const char *kind;        /* "Pod" */
	const char *list_kind;   /* "PodList" */
	const char *singular;    /* "pod" */
	const char *short_names; /* comma-separated, "" if none: "po" */
	const char *categories;  /* comma-separated, "" if none: "all" */
	bool namespaced;
	unsigned subresources; /* REG_SUB_* */
	/*
	 * Store key: /registry/<storage>/[<namespace>/]<name>. Usually "<group or core>/<resource>";
	 * two kinds with the same storage share objects (events.k8s.io and core events).
	 */
	const char *storage;
	/* Name rule: false: DNS-1123 subdomain (most kinds); true: DNS-1123 label (namespaces,
	 * services, ...). Checked by the engine with metadata. */
	bool name_is_label;
	/* Scale subresource: where replicas live ("spec.replicas") and the selector. */
	const char *scale_replicas, *scale_status_replicas, *scale_selector;

	/* --- strategy: all optional --------------------------------------------- */

	/*
	 * The engine calls the hooks in upstream's order:
	 *   create: defaults, [set_requestor], prepare_create, validate
	 *   update: defaults, prepare_update, validate(obj, old)
	 *   status: defaults, validate_status(obj, old)
	 * defaults and prepare_create see metadata already filled by the engine (name, also a
	 * generated one, namespace, uid, creationTimestamp): jobs derive their selector from the
	 * uid, namespaces their name label from the name.
	 */

	/* Fills upstream defaults, on create and on update (idempotent). */
	void (*defaults)(cJSON *obj);
	/* Create-only preparation after defaults: e.g. a pod's status.phase Pending and qosClass,
	 * and what upstream's default admission plugins add (service account, priority,
	 * not-ready/unreachable tolerations). Replaces any status the client sent. */
	void (*prepare_create)(cJSON *obj);
	/* Checks obj (old is NULL on create, else the stored object, for immutable fields).
	 * Metadata (name, labels, annotations, generateName) is checked by the engine. */
	void (*validate)(const cJSON *obj, const cJSON *old, struct reg_errors *errs);
	/* Checks a status update (obj is the whole new object). */
	void (*validate_status)(const cJSON *obj, const cJSON *old, struct reg_errors *errs);

	/* Printer columns and one row of cells (one cJSON item per column, appended to cells).
	 * now is the current unix time in seconds, for ages. */
	const struct reg_column *columns;
	size_t ncolumns;
	void (*row)(const cJSON *obj, int64_t now, cJSON *cells);

	/*
	 * Field selector support beyond metadata.name and metadata.namespace (which the
	 * engine handles for every kind): writes the field's value as text into out and
	 * returns true, or returns false for a field this kind does not support (the API
	 * answers 400 "field label not supported").
	 */
	bool (*field)(const cJSON *obj, const char *field, char *out, size_t outlen);

	/* --- added with the registry: optional too ------------------------------------------ */

	/* Update-only preparation after defaults, with the stored object: keeps what a client
	 * may omit but may not change (a service's allocated clusterIP and nodePorts, a
	 * namespace's finalizers, which only /finalize changes). */
	void (*prepare_update)(cJSON *obj, const cJSON *old);
	/* Replaces the engine's name rule (name_is_label) for kinds with their own: services
	 * (DNS-1035 label), RBAC (path segments, "system:..." is valid), cronjobs (at most 52
	 * characters). Adds causes at "metadata.name". */
	void (*validate_name)(const char *name, struct reg_errors *errs);
	/* On create, with the authenticated user: kinds that record their requester (a CSR's
	 * spec.username, uid, groups) fill it here. */
	void (*set_requestor)(cJSON *obj, const struct reg_user *user);
	/*
	 * Served form <-> stored form, for rows whose storage holds another kind's form
	 * (events.k8s.io Events are stored as core v1 Events). to_storage runs after validate on
	 * create and update; from_storage on every object read from the store before it is
	 * served, watched or printed. In place; NULL when the forms are the same.
	 */
	void (*to_storage)(cJSON *obj);
	void (*from_storage)(cJSON *obj);
};

/* Every served kind, in discovery order. */
extern const struct reg_kind *const reg_kinds[];
extern const size_t reg_nkinds;

/* By group ("" for core), version and plural resource name; NULL if not served. */
const struct reg_kind *reg_lookup(const char *group, const char *version, const char *resource);
/* By apiVersion ("v1", "apps/v1") and kind ("Deployment"). */
const struct reg_kind *reg_lookup_kind(const char *api_version, const char *kind);
/* "v1" or "apps/v1" for a kind, into out. */
void reg_api_version(const struct reg_kind *k, char *out, size_t outlen);

/* Helpers shared by strategies and the engine. */

/* Human age as kubectl prints it: "5s", "3m20s", "4h", "2d3h", "90d" (upstream's
 * duration.HumanDuration rules). created is an RFC 3339 timestamp. */
void reg_age(const char *created, int64_t now, char *out, size_t outlen);

/* A metav1.LabelSelector as its string form, "app=web,tier in (a,b)" (requirements sorted by key),
 * "" when it selects everything: a Scale's status.selector. -EINVAL (and "") when the selector
 * has an unknown operator or an In/NotIn without values. */
int reg_selector_string(const cJSON *selector, char *out, size_t outlen);

/*
 * The two Event schemas. events.k8s.io/v1 renames core v1 fields (note/message,
 * regarding/involvedObject, reportingController/reportingComponent, deprecatedSource/source,
 * deprecatedFirstTimestamp/firstTimestamp, deprecatedLastTimestamp/lastTimestamp,
 * deprecatedCount/count) and shares the rest; the store keeps core v1. Both convert in place,
 * apiVersion included, and leave other kinds alone. They are the events.k8s.io row's
 * to_storage and from_storage.
 */
void reg_event_to_core(cJSON *obj);
void reg_event_from_core(cJSON *obj);

#endif
