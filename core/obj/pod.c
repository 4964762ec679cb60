/* pod: the requests-from-limits default, canonical resource quantities, and the QoS class. */
#include <stdio.h>
#include <string.h>

#include "core/obj/obj-internal.h"

/*
 * Rewrites every quantity of a ResourceList in canonical form, as a typed
 * round trip through upstream's API machinery would; path names it in errors.
 */
static int canonicalize(cJSON *list, const char *path, struct err *e)
{
	if (!list || jis_null(list))
		return 0;
	if (!jis_obj(list))
		return err_set(e, -EINVAL, "%s: must be an object of quantities, not a %s", path,
		               jtype_name(list));
	/* Replacing a node frees it, so walk by key rather than by pointer. */
	size_t n = jlen(list), i = 0;
	char **keys = xcalloc(n ? n : 1, sizeof(*keys));
	int rc = 0;
	for (cJSON *c = list->child; c; c = c->next)
		keys[i++] = xstrdup(c->string);
	for (i = 0; i < n && rc == 0; i++) {
		cJSON *c = cJSON_GetObjectItemCaseSensitive(list, keys[i]);
		struct qty q;
		char text[QTY_STR_MAX];
		if (!c)
			continue;
		if (qty_from_json(c, &q, e) < 0) {
			rc = err_wrap(e, "%s.%s", path, keys[i]);
			break;
		}
		if (q.neg) {
			rc = err_set(e, -EINVAL, "%s.%s: must be greater than or equal to 0", path,
			             keys[i]);
			break;
		}
		cJSON_ReplaceItemInObjectCaseSensitive(list, keys[i], jstr(qty_format(&q, text)));
	}
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	return rc;
}

static int default_container(cJSON *c, const char *path, struct err *e)
{
	char p[160];
	cJSON *res = (cJSON *)obj_child(c, "resources");
	if (!res || jis_null(res))
		return 0;
	if (!jis_obj(res))
		return err_set(e, -EINVAL, "%s.resources: must be an object", path);
	cJSON *limits = (cJSON *)obj_child(res, "limits");
	cJSON *requests = (cJSON *)obj_child(res, "requests");
	snprintf(p, sizeof(p), "%s.resources.limits", path);
	if (canonicalize(limits, p, e) < 0)
		return -EINVAL;
	snprintf(p, sizeof(p), "%s.resources.requests", path);
	if (canonicalize(requests, p, e) < 0)
		return -EINVAL;
	if (!jis_obj(limits))
		return 0;
	for (const cJSON *l = limits->child; l; l = l->next) {
		if (obj_child(requests, l->string))
			continue;
		if (!jis_obj(requests)) {
			requests = jobj();
			jput(res, "requests", requests);
		}
		jadd(requests, l->string, obj_dup(l));
	}
	return 0;
}

int obj_pod_default_resources(cJSON *pod, struct err *e)
{
	static const char *const lists[] = { "containers", "initContainers" };
	cJSON *spec = obj_get_mut(pod, "spec");
	char path[96];

	if (!jis_obj(spec))
		return 0;
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		cJSON *cs = (cJSON *)obj_child(spec, lists[l]);
		size_t i = 0;
		if (!jis_arr(cs))
			continue;
		for (cJSON *c = cs->child; c; c = c->next, i++) {
			snprintf(path, sizeof(path), "spec.%s[%zu]", lists[l], i);
			if (jis_obj(c) && default_container(c, path, e) < 0)
				return -EINVAL;
		}
	}
	cJSON *pres = (cJSON *)obj_child(spec, "resources");
	if (jis_obj(pres)) {
		if (canonicalize((cJSON *)obj_child(pres, "limits"), "spec.resources.limits", e) <
		        0 ||
		    canonicalize((cJSON *)obj_child(pres, "requests"), "spec.resources.requests",
		                 e) < 0)
			return -EINVAL;
	}
	return 0;
}

/* ---- QoS ------------------------------------------------------------------------ */

enum { R_CPU, R_MEM, R_N };

struct totals {
	struct qty v[R_N];
	bool have[R_N];
};

static int resource_index(const char *name)
{
	if (strcmp(name, "cpu") == 0)
		return R_CPU;
	if (strcmp(name, "memory") == 0)
		return R_MEM;
	return -1; /* only cpu and memory decide QoS */
}

/* Adds the positive cpu/memory amounts of a ResourceList; returns a bitmask of those seen. */
static unsigned add_list(struct totals *t, const cJSON *list)
{
	unsigned seen = 0;
	struct qty zero = { 0 };
	for (const cJSON *c = jis_obj(list) ? list->child : NULL; c; c = c->next) {
		int i = resource_index(c->string);
		struct qty q;
		if (i < 0 || qty_from_json(c, &q, NULL) < 0 || qty_cmp(&q, &zero) <= 0)
			continue;
		seen |= 1u << i;
		if (!t->have[i]) {
			t->v[i] = q;
			t->have[i] = true;
		} else if (qty_add(&t->v[i], &q) < 0) {
			t->v[i].units = (uint64_t)INT64_MAX; /* saturate; still "set" */
		}
	}
	return seen;
}

enum obj_qos obj_pod_qos(const cJSON *pod)
{
	struct totals req = { 0 }, lim = { 0 };
	bool guaranteed = true;
	const cJSON *spec = obj_child(pod, "spec");
	const cJSON *pres = obj_child(spec, "resources");
	const unsigned both = (1u << R_CPU) | (1u << R_MEM);

	if (jis_obj(pres)) {
		/* Pod-level resources decide alone when present. */
		add_list(&req, obj_child(pres, "requests"));
		if (add_list(&lim, obj_child(pres, "limits")) != both)
			guaranteed = false;
	} else {
		static const char *const lists[] = { "containers", "initContainers" };
		for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
			const cJSON *cs = obj_child(spec, lists[l]);
			for (const cJSON *c = jis_arr(cs) ? cs->child : NULL; c; c = c->next) {
				const cJSON *res = obj_child(c, "resources");
				add_list(&req, obj_child(res, "requests"));
				if (add_list(&lim, obj_child(res, "limits")) != both)
					guaranteed = false;
			}
		}
	}
	size_t nreq = 0, nlim = 0;
	for (int i = 0; i < R_N; i++) {
		nreq += req.have[i];
		nlim += lim.have[i];
	}
	if (nreq == 0 && nlim == 0)
		return OBJ_QOS_BEST_EFFORT;
	for (int i = 0; guaranteed && i < R_N; i++)
		if (req.have[i] && (!lim.have[i] || qty_cmp(&lim.v[i], &req.v[i]) != 0))
			guaranteed = false;
	if (guaranteed && nreq == nlim)
		return OBJ_QOS_GUARANTEED;
	return OBJ_QOS_BURSTABLE;
}

const char *obj_qos_name(enum obj_qos q)
{
	switch (q) {
	case OBJ_QOS_GUARANTEED:
		return "Guaranteed";
	case OBJ_QOS_BURSTABLE:
		return "Burstable";
	default:
		return "BestEffort";
	}
}
