/* quota: what one object charges against ResourceQuotas and which quotas apply to it, as
 * upstream's quota evaluators count it; shared by quota admission and the quota controller. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/api/api-internal.h"
#include "core/obj/obj.h"

/* Adds q to usage[name]. */
static void charge(cJSON *usage, const char *name, const struct qty *q)
{
	struct qty sum = { 0 };
	const cJSON *have = cJSON_GetObjectItemCaseSensitive(usage, name);
	if (have && qty_from_json(have, &sum, NULL) < 0)
		memset(&sum, 0, sizeof(sum));
	if (qty_add(&sum, q) < 0)
		return;
	char text[QTY_STR_MAX];
	qty_format(&sum, text);
	cJSON_DeleteItemFromObjectCaseSensitive(usage, name);
	cJSON_AddStringToObject(usage, name, text);
}

static void charge_one(cJSON *usage, const char *name)
{
	struct qty one;
	qty_from_int(&one, 1, QTY_DECIMAL_SI);
	charge(usage, name, &one);
}

/* --- pods ----------------------------------------------------------------------------- */

/* Whether a pod still counts: not finished, and not past its deletion grace. */
static bool pod_counts(const cJSON *pod)
{
	const char *phase = obj_get_str(pod, "status.phase");
	if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
		return false;
	const char *ts = obj_get_str(pod, "metadata.deletionTimestamp");
	int64_t grace = 0, when = 0;
	int32_t ns;
	if (ts && obj_get_i64(pod, "metadata.deletionGracePeriodSeconds", &grace) &&
	    obj_time_parse(ts, &when, &ns, NULL) == 0 && (int64_t)time(NULL) > when + grace)
		return false;
	return true;
}

/* A ResourceList as parsed quantities: up to a few dozen names. */
struct rlist {
	char name[16][64];
	struct qty q[16];
	size_t n;
};

static struct qty *rl_slot(struct rlist *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->name[i], name))
			return &r->q[i];
	if (r->n >= ARRAY_SIZE(r->name) || strlen(name) >= sizeof(r->name[0]))
		return NULL;
	snprintf(r->name[r->n], sizeof(r->name[0]), "%s", name);
	memset(&r->q[r->n], 0, sizeof(r->q[0]));
	return &r->q[r->n++];
}

static void rl_add_list(struct rlist *r, const cJSON *list)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, (cJSON_IsObject(list) ? list : NULL))
	{
		struct qty q, *s;
		if (qty_from_json(it, &q, NULL) < 0 || !(s = rl_slot(r, it->string)))
			continue;
		qty_add(s, &q);
	}
}

/* r = max(r, o) per name. */
static void rl_max(struct rlist *r, const struct rlist *o)
{
	for (size_t i = 0; i < o->n; i++) {
		struct qty *s = rl_slot(r, o->name[i]);
		if (s && qty_cmp(s, &o->q[i]) < 0)
			*s = o->q[i];
	}
}

/* Requests or limits of a pod as the scheduler and quota see them: the containers (and
 * sidecars, init containers that keep running) add up; each other init container runs alone
 * beside the sidecars started before it; pod overhead comes on top. Pod-level resources win. */
static void pod_resources(const cJSON *pod, const char *which, struct rlist *out)
{
	char path[64];
	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "spec.resources.%s", which);
	if (cJSON_IsObject(obj_get(pod, path)) && obj_get(pod, path)->child) {
		rl_add_list(out, obj_get(pod, path));
		return;
	}
	snprintf(path, sizeof(path), "resources.%s", which);
	const cJSON *c;
	cJSON_ArrayForEach(c, obj_get(pod, "spec.containers"))
	{
		rl_add_list(out, obj_get(c, path));
	}
	struct rlist sidecars = { 0 };
	cJSON_ArrayForEach(c, obj_get(pod, "spec.initContainers"))
	{
		const char *rp = obj_get_str(c, "restartPolicy");
		if (rp && !strcmp(rp, "Always")) {
			rl_add_list(out, obj_get(c, path));
			rl_add_list(&sidecars, obj_get(c, path));
			continue;
		}
		struct rlist one = sidecars;
		rl_add_list(&one, obj_get(c, path));
		rl_max(out, &one);
	}
	rl_add_list(out, obj_get(pod, "spec.overhead"));
}

static bool native(const char *r)
{
	return !strcmp(r, "cpu") || !strcmp(r, "memory") || !strcmp(r, "ephemeral-storage");
}

static void pod_usage(const cJSON *pod, cJSON *usage)
{
	if (!pod_counts(pod))
		return;
	charge_one(usage, "pods");
	struct rlist req, lim;
	char name[96];
	pod_resources(pod, "requests", &req);
	pod_resources(pod, "limits", &lim);
	for (size_t i = 0; i < req.n; i++) {
		bool huge = !strncmp(req.name[i], "hugepages-", 10);
		if (native(req.name[i]) || huge)
			charge(usage, req.name[i], &req.q[i]);
		else if (!strchr(req.name[i], '/'))
			continue; /* extended resources have a domain */
		snprintf(name, sizeof(name), "requests.%s", req.name[i]);
		charge(usage, name, &req.q[i]);
	}
	for (size_t i = 0; i < lim.n; i++) {
		if (!native(lim.name[i]))
			continue;
		snprintf(name, sizeof(name), "limits.%s", lim.name[i]);
		charge(usage, name, &lim.q[i]);
	}
}

/* --- the other kinds --------------------------------------------------------------------- */

static void service_usage(const cJSON *svc, cJSON *usage)
{
	charge_one(usage, "services");
	const char *type = obj_get_str(svc, "spec.type");
	bool lb = type && !strcmp(type, "LoadBalancer");
	if (lb)
		charge_one(usage, "services.loadbalancers");
	if (lb || (type && !strcmp(type, "NodePort"))) {
		const cJSON *p;
		cJSON_ArrayForEach(p, obj_get(svc, "spec.ports"))
		{
			charge_one(usage, "services.nodeports");
		}
	}
}

static void pvc_usage(const cJSON *pvc, cJSON *usage)
{
	charge_one(usage, "persistentvolumeclaims");
	struct qty q;
	const cJSON *st = obj_get(pvc, "spec.resources.requests.storage");
	bool has = st && qty_from_json(st, &q, NULL) == 0;
	if (has)
		charge(usage, "requests.storage", &q);
	const char *cls = obj_get_str(pvc, "spec.storageClassName");
	if (cls && *cls) {
		char name[320];
		snprintf(name, sizeof(name),
		         "%s.storageclass.storage.k8s.io/persistentvolumeclaims", cls);
		charge_one(usage, name);
		snprintf(name, sizeof(name), "%s.storageclass.storage.k8s.io/requests.storage",
		         cls);
		if (has)
			charge(usage, name, &q);
	}
}

void api_quota_usage(const struct reg_kind *k, const cJSON *obj, cJSON *usage)
{
	char name[160];
	/* Object counts: every object in storage, whatever its state. */
	if (k->group[0])
		snprintf(name, sizeof(name), "count/%s.%s", k->resource, k->group);
	else
		snprintf(name, sizeof(name), "count/%s", k->resource);
	charge_one(usage, name);
	if (k->group[0])
		return;
	if (!strcmp(k->resource, "pods"))
		pod_usage(obj, usage);
	else if (!strcmp(k->resource, "services"))
		service_usage(obj, usage);
	else if (!strcmp(k->resource, "persistentvolumeclaims"))
		pvc_usage(obj, usage);
	else if (!strcmp(k->resource, "configmaps") || !strcmp(k->resource, "secrets") ||
	         !strcmp(k->resource, "resourcequotas"))
		charge_one(usage, k->resource);
}

/* --- scopes ------------------------------------------------------------------------------ */

static bool terminating(const cJSON *pod)
{
	int64_t ads;
	return obj_get_i64(pod, "spec.activeDeadlineSeconds", &ads) && ads >= 0;
}

static bool cross_namespace_affinity(const cJSON *pod)
{
	static const char *const terms[] = {
		"spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution",
		"spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution",
		"spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution",
		"spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution",
	};
	for (size_t i = 0; i < ARRAY_SIZE(terms); i++) {
		const cJSON *t;
		cJSON_ArrayForEach(t, obj_get(pod, terms[i]))
		{
			const cJSON *term = i < 2 ? t : obj_get(t, "podAffinityTerm");
			if (cJSON_GetArraySize(obj_get(term, "namespaces")) > 0 ||
			    (obj_get(term, "namespaceSelector") &&
			     !cJSON_IsNull(obj_get(term, "namespaceSelector"))))
				return true;
		}
	}
	return false;
}

/* One scope (with a selector's operator and values for PriorityClass). */
static bool scope_matches(const char *scope, const char *op, const cJSON *values, const cJSON *pod)
{
	if (!strcmp(scope, "Terminating"))
		return terminating(pod);
	if (!strcmp(scope, "NotTerminating"))
		return !terminating(pod);
	if (!strcmp(scope, "BestEffort"))
		return obj_pod_qos(pod) == OBJ_QOS_BEST_EFFORT;
	if (!strcmp(scope, "NotBestEffort"))
		return obj_pod_qos(pod) != OBJ_QOS_BEST_EFFORT;
	if (!strcmp(scope, "CrossNamespacePodAffinity"))
		return cross_namespace_affinity(pod);
	if (!strcmp(scope, "PriorityClass")) {
		const char *pc = obj_get_str(pod, "spec.priorityClassName");
		bool has = pc && *pc, in = false;
		const cJSON *v;
		cJSON_ArrayForEach(v, values)
		{
			in |= has && cJSON_IsString(v) && !strcmp(v->valuestring, pc);
		}
		if (!op || !strcmp(op, "Exists"))
			return has;
		if (!strcmp(op, "DoesNotExist"))
			return !has;
		if (!strcmp(op, "In"))
			return in;
		if (!strcmp(op, "NotIn"))
			return !in;
	}
	return false;
}

bool api_quota_selects(const cJSON *quota, const struct reg_kind *k, const cJSON *obj)
{
	const cJSON *scopes = obj_get(quota, "spec.scopes");
	const cJSON *exprs = obj_get(quota, "spec.scopeSelector.matchExpressions");
	bool scoped = cJSON_GetArraySize(scopes) > 0 || cJSON_GetArraySize(exprs) > 0;
	if (!scoped)
		return true;
	/* Scopes speak of pods only: a scoped quota tracks nothing else. */
	if (k->group[0] || strcmp(k->resource, "pods"))
		return false;
	const cJSON *s;
	cJSON_ArrayForEach(s, scopes)
	{
		if (!cJSON_IsString(s) || !scope_matches(s->valuestring, NULL, NULL, obj))
			return false;
	}
	cJSON_ArrayForEach(s, exprs)
	{
		const char *name = obj_get_str(s, "scopeName");
		if (!name ||
		    !scope_matches(name, obj_get_str(s, "operator"), obj_get(s, "values"), obj))
			return false;
	}
	return true;
}

bool api_quota_tracks(const struct reg_kind *k, const char *resource)
{
	char count[160];
	if (k->group[0])
		snprintf(count, sizeof(count), "count/%s.%s", k->resource, k->group);
	else
		snprintf(count, sizeof(count), "count/%s", k->resource);
	if (!strcmp(resource, count))
		return true;
	if (k->group[0])
		return false;
	if (!strcmp(k->resource, "pods")) {
		const char *r = resource;
		if (!strncmp(r, "requests.", 9))
			r += 9;
		else if (!strncmp(r, "limits.", 7))
			return native(r + 7);
		return !strcmp(resource, "pods") || native(r) || !strncmp(r, "hugepages-", 10) ||
		       (r != resource && strchr(r, '/'));
	}
	if (!strcmp(k->resource, "services"))
		return !strcmp(resource, "services") || !strcmp(resource, "services.nodeports") ||
		       !strcmp(resource, "services.loadbalancers");
	if (!strcmp(k->resource, "persistentvolumeclaims"))
		return !strcmp(resource, "persistentvolumeclaims") ||
		       !strcmp(resource, "requests.storage") ||
		       strstr(resource, ".storageclass.storage.k8s.io/") != NULL;
	return !strcmp(resource, k->resource) &&
	       (!strcmp(k->resource, "configmaps") || !strcmp(k->resource, "secrets") ||
	        !strcmp(k->resource, "resourcequotas"));
}
