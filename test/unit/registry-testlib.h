/* registry-testlib: helpers for the registry tests: kinds, the engine's hook order, causes, rows. */
#ifndef TUG_REGISTRY_TESTLIB_H
#define TUG_REGISTRY_TESTLIB_H

#include "obj-testlib.h"

#include "core/registry/registry.h"

/* "Now" in every row test: 2025-01-01T12:00:00Z. */
#define NOW 1735732800
/* A creation time one hour before NOW, for fixtures. */
#define CREATED_1H "2025-01-01T11:00:00Z"

/* A kubelet's core/v1 Event, as stored. */
#define CORE_EVENT                                                                                 \
	"{'apiVersion':'v1','kind':'Event','metadata':{'name':'web.17f','namespace':'default'},"   \
	"'involvedObject':{'kind':'Pod','namespace':'default','name':'web','uid':'u-1',"           \
	"'apiVersion':'v1','resourceVersion':'42','fieldPath':'spec.containers{web}'},"            \
	"'reason':'Pulled','message':'Container image pulled','type':'Normal',"                    \
	"'source':{'component':'kubelet','host':'pi-1'},'count':3,"                                \
	"'firstTimestamp':'2025-01-01T11:00:00Z','lastTimestamp':'2025-01-01T11:55:00Z',"          \
	"'eventTime':null,'reportingComponent':'kubelet','reportingInstance':'pi-1'}"

static inline const struct reg_kind *K(const char *group, const char *resource)
{
	const struct reg_kind *k = reg_lookup(group, "v1", resource);
	if (!k)
		fail_msg("no kind %s/%s", group, resource);
	return k;
}

/*
 * What the engine does to a new object before it validates it, in its order: metadata (uid,
 * creationTimestamp, namespace), defaults, prepare_create. Returns a new tree.
 */
static inline cJSON *created(const struct reg_kind *k, const char *lit)
{
	cJSON *obj = J(lit);
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	if (cJSON_IsObject(meta)) {
		if (!cJSON_GetObjectItemCaseSensitive(meta, "uid"))
			cJSON_AddStringToObject(meta, "uid",
			                        "6a1b0e4c-34c4-4c8e-9d8e-0c1c2b3a4d5e");
		if (!cJSON_GetObjectItemCaseSensitive(meta, "creationTimestamp"))
			cJSON_AddStringToObject(meta, "creationTimestamp", CREATED_1H);
		if (k->namespaced && !cJSON_GetObjectItemCaseSensitive(meta, "namespace"))
			cJSON_AddStringToObject(meta, "namespace", "default");
	}
	if (k->defaults)
		k->defaults(obj);
	if (k->prepare_create)
		k->prepare_create(obj);
	return obj;
}

/* The engine's update hooks on a copy of the new object: defaults, prepare_update. */
static inline cJSON *updated(const struct reg_kind *k, const cJSON *old, cJSON *now)
{
	if (k->defaults)
		k->defaults(now);
	if (k->prepare_update)
		k->prepare_update(now, old);
	return now;
}

static inline void print_causes(const struct reg_errors *e)
{
	for (size_t i = 0; i < e->n; i++)
		fprintf(stderr, "  cause %s %s: %s\n", e->v[i].type, e->v[i].field,
		        e->v[i].message);
}

static inline bool has_cause(const struct reg_errors *e, const char *type, const char *field)
{
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->v[i].type, type) && !strcmp(e->v[i].field, field))
			return true;
	return false;
}

/* The message of the first cause at field, or NULL. */
static inline const char *cause_message(const struct reg_errors *e, const char *field)
{
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->v[i].field, field))
			return e->v[i].message;
	return NULL;
}

#define assert_cause(errs, type, field)                                                            \
	do {                                                                                       \
		if (!has_cause((errs), (type), (field))) {                                         \
			print_causes(errs);                                                        \
			fail_msg("no %s cause at %s", (type), (field));                            \
		}                                                                                  \
	} while (0)

#define assert_no_causes(errs)                                                                     \
	do {                                                                                       \
		if ((errs)->n) {                                                                   \
			print_causes(errs);                                                        \
			fail_msg("%zu unexpected causes", (errs)->n);                              \
		}                                                                                  \
	} while (0)

/* Causes of validating obj (old NULL on create). */
static inline struct reg_errors validate(const struct reg_kind *k, const cJSON *obj,
                                         const cJSON *old)
{
	struct reg_errors e = { 0 };
	if (k->validate)
		k->validate(obj, old, &e);
	return e;
}

/* Causes of creating the literal: the engine's create hooks, then validate. */
static inline struct reg_errors create_causes(const struct reg_kind *k, const char *lit)
{
	cJSON *obj = created(k, lit);
	struct reg_errors e = validate(k, obj, NULL);
	cJSON_Delete(obj);
	return e;
}

/* Causes of updating old (a created object) to the literal. */
static inline struct reg_errors update_causes(const struct reg_kind *k, const cJSON *old,
                                              cJSON *now)
{
	updated(k, old, now);
	struct reg_errors e = validate(k, now, old);
	cJSON_Delete(now);
	return e;
}

/* One row of cells at NOW; the caller frees it with cJSON_Delete. */
static inline cJSON *row_of(const struct reg_kind *k, const cJSON *obj)
{
	cJSON *cells = cJSON_CreateArray();
	k->row(obj, NOW, cells);
	if ((size_t)cJSON_GetArraySize(cells) != k->ncolumns)
		fail_msg("%s: %d cells for %zu columns", k->resource, cJSON_GetArraySize(cells),
		         k->ncolumns);
	return cells;
}

/* The row of a literal, compact: cells as JSON text ("[\"web\",\"1/1\",...]"). */
static inline const char *row_text(const struct reg_kind *k, const char *lit)
{
	cJSON *obj = J(lit);
	cJSON *cells = row_of(k, obj);
	const char *s = S(cells);
	cJSON_Delete(cells);
	cJSON_Delete(obj);
	return s;
}

/* The value of a field selector field, or NULL when the kind does not support it. */
static inline const char *field_of(const struct reg_kind *k, const cJSON *obj, const char *f)
{
	static char buf[512];
	if (!k->field || !k->field(obj, f, buf, sizeof(buf)))
		return NULL;
	return buf;
}

#endif
