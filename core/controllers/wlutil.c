/* wlutil: helpers the workload controllers share: pods, ownership, conditions, hashing, times. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/controllers/workloads-internal.h"

const char *wl_str(const cJSON *o, const char *path)
{
	const char *s = obj_get_str(o, path);
	return s ? s : "";
}

int64_t wl_int(const cJSON *o, const char *path, int64_t def)
{
	int64_t v;
	return obj_get_i64(o, path, &v) ? v : def;
}

int64_t wl_time(const cJSON *o, const char *path, int64_t def)
{
	const char *s = obj_get_str(o, path);
	int64_t sec = 0;
	int32_t nsec = 0;
	if (!s || obj_time_parse(s, &sec, &nsec, NULL) < 0)
		return def;
	return sec;
}

void wl_time_str(int64_t sec, char out[32])
{
	obj_time_format(sec, out);
}

int64_t wl_int_or_percent(const cJSON *v, int64_t total, bool round_up, int64_t def)
{
	if (cJSON_IsNumber(v))
		return v->valuedouble < 0 ? 0 : (int64_t)v->valuedouble;
	if (!cJSON_IsString(v))
		return def;
	const char *s = v->valuestring;
	size_t len = strlen(s);
	uint64_t pct;
	char num[32];
	if (len < 2 || len > sizeof(num) || s[len - 1] != '%')
		return def;
	memcpy(num, s, len - 1);
	num[len - 1] = '\0';
	if (!parse_u64(num, &pct) || pct > 1000000)
		return def;
	/* Upstream scales in floating point and rounds with Ceil or Floor. */
	double x = (double)pct * (double)total / 100.0;
	return (int64_t)(round_up ? ceil(x) : floor(x));
}

void wl_key(const cJSON *obj, char *out, size_t n)
{
	client_key_of(obj, out, n);
}

bool wl_split_key(const char *key, char *ns, char *name)
{
	const char *slash = strchr(key, '/');
	if (!slash) {
		ns[0] = '\0';
		snprintf(name, 256, "%s", key);
		return true;
	}
	size_t n = (size_t)(slash - key);
	if (n >= 256 || strlen(slash + 1) >= 256)
		return false;
	memcpy(ns, key, n);
	ns[n] = '\0';
	snprintf(name, 256, "%s", slash + 1);
	return true;
}

struct sel *wl_selector(const cJSON *obj, const char *path)
{
	struct sel *s = NULL;
	const cJSON *ls = obj_get(obj, path);
	if (!ls || sel_from_label_selector(ls, &s, NULL) < 0)
		return NULL;
	return s;
}

const char *wl_label(const cJSON *obj, const char *key)
{
	const cJSON *v = obj_child(obj_get(obj, "metadata.labels"), key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *map_at(cJSON *obj, const char *field)
{
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	if (!cJSON_IsObject(meta)) {
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "metadata");
		meta = cJSON_AddObjectToObject(obj, "metadata");
	}
	cJSON *m = cJSON_GetObjectItemCaseSensitive(meta, field);
	if (!cJSON_IsObject(m)) {
		cJSON_DeleteItemFromObjectCaseSensitive(meta, field);
		m = cJSON_AddObjectToObject(meta, field);
	}
	return m;
}

static void map_set(cJSON *m, const char *key, const char *val)
{
	cJSON_DeleteItemFromObjectCaseSensitive(m, key);
	cJSON_AddStringToObject(m, key, val);
}

void wl_set_label(cJSON *obj, const char *key, const char *val)
{
	map_set(map_at(obj, "labels"), key, val);
}

void wl_set_annotation(cJSON *obj, const char *key, const char *val)
{
	map_set(map_at(obj, "annotations"), key, val);
}

/* --- hashing ------------------------------------------------------------------------- */

static uint32_t fnv1a(uint32_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 16777619u;
	}
	return h;
}

void wl_hash(const cJSON *v, int64_t collision_count, char out[16])
{
	char *text = obj_print(v, OBJ_PRINT_SORTED);
	uint32_t h = fnv1a(2166136261u, text, strlen(text));
	free(text);
	if (collision_count >= 0) {
		/* Upstream appends the count as four little-endian bytes. */
		uint32_t c = (uint32_t)collision_count;
		unsigned char le[4] = { (unsigned char)c, (unsigned char)(c >> 8),
			                (unsigned char)(c >> 16), (unsigned char)(c >> 24) };
		h = fnv1a(h, le, sizeof(le));
	}
	/* The decimal digits of the hash, each mapped into the alphabet of generated names. */
	static const char alphabet[] = OBJ_GENERATE_NAME_ALPHABET;
	char digits[16];
	int n = snprintf(digits, sizeof(digits), "%u", h);
	for (int i = 0; i < n; i++)
		out[i] = alphabet[(unsigned char)digits[i] % (sizeof(alphabet) - 1)];
	out[n] = '\0';
}

cJSON *wl_history_patch(const cJSON *obj)
{
	cJSON *p = cJSON_CreateObject();
	const cJSON *t = obj_get(obj, "spec.template");
	cJSON *tmpl = cJSON_IsObject(t) ? obj_dup(t) : cJSON_CreateObject();
	cJSON_AddStringToObject(tmpl, "$patch", "replace");
	cJSON_AddItemToObject(cJSON_AddObjectToObject(p, "spec"), "template", tmpl);
	return p;
}

/* --- conditions ------------------------------------------------------------------------ */

const cJSON *wl_cond_get(const cJSON *status, const char *type)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, obj_child(status, "conditions"))
	{
		if (!strcmp(wl_str(c, "type"), type))
			return c;
	}
	return NULL;
}

bool wl_cond_true(const cJSON *status, const char *type)
{
	return !strcmp(wl_str(wl_cond_get(status, type), "status"), "True");
}

void wl_cond_remove(cJSON *status, const char *type)
{
	cJSON *conds = cJSON_GetObjectItemCaseSensitive(status, "conditions");
	if (!cJSON_IsArray(conds))
		return;
	for (int i = cJSON_GetArraySize(conds) - 1; i >= 0; i--)
		if (!strcmp(wl_str(cJSON_GetArrayItem(conds, i), "type"), type))
			cJSON_DeleteItemFromArray(conds, i);
	if (cJSON_GetArraySize(conds) == 0)
		cJSON_DeleteItemFromObjectCaseSensitive(status, "conditions");
}

void wl_cond_set(cJSON *status, const char *type, const char *cstatus, const char *reason,
                 const char *message, int64_t now, bool with_update_time)
{
	const cJSON *cur = wl_cond_get(status, type);
	if (cur && !strcmp(wl_str(cur, "status"), cstatus) &&
	    !strcmp(wl_str(cur, "reason"), reason))
		return;
	char ts[32], transition[32];
	wl_time_str(now, ts);
	snprintf(transition, sizeof(transition), "%s", ts);
	if (cur && !strcmp(wl_str(cur, "status"), cstatus) &&
	    obj_get_str(cur, "lastTransitionTime"))
		snprintf(transition, sizeof(transition), "%s",
		         obj_get_str(cur, "lastTransitionTime"));
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "type", type);
	cJSON_AddStringToObject(c, "status", cstatus);
	if (with_update_time)
		cJSON_AddStringToObject(c, "lastUpdateTime", ts);
	cJSON_AddStringToObject(c, "lastTransitionTime", transition);
	cJSON_AddStringToObject(c, "reason", reason);
	cJSON_AddStringToObject(c, "message", message);
	wl_cond_remove(status, type);
	cJSON *conds = cJSON_GetObjectItemCaseSensitive(status, "conditions");
	if (!cJSON_IsArray(conds)) {
		cJSON_DeleteItemFromObjectCaseSensitive(status, "conditions");
		conds = cJSON_AddArrayToObject(status, "conditions");
	}
	cJSON_AddItemToArray(conds, c);
}

void wl_event(struct wl_ctl *c, const cJSON *obj, const char *type, const char *reason,
              const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	client_event(c->w->c, c->name, obj, type, reason, "%s", msg);
}

/* --- ownership -------------------------------------------------------------------------- */

const cJSON *wl_controller_ref(const cJSON *obj)
{
	const cJSON *r;
	cJSON_ArrayForEach(r, obj_get(obj, "metadata.ownerReferences"))
	{
		if (cJSON_IsTrue(obj_child(r, "controller")))
			return r;
	}
	return NULL;
}

cJSON *wl_owner_ref(const cJSON *owner, const char *api_version, const char *kind)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "apiVersion", api_version);
	cJSON_AddStringToObject(r, "kind", kind);
	cJSON_AddStringToObject(r, "name", wl_str(owner, "metadata.name"));
	cJSON_AddStringToObject(r, "uid", wl_str(owner, "metadata.uid"));
	cJSON_AddBoolToObject(r, "controller", true);
	cJSON_AddBoolToObject(r, "blockOwnerDeletion", true);
	return r;
}

const cJSON *wl_resolve_owner(const struct wl *w, enum wl_res r, const char *kind, const cJSON *obj)
{
	const cJSON *ref = wl_controller_ref(obj);
	if (!ref || strcmp(wl_str(ref, "kind"), kind))
		return NULL;
	const cJSON *owner =
	    wl_get(w, r, obj_get_str(obj, "metadata.namespace"), wl_str(ref, "name"));
	if (!owner || strcmp(wl_str(owner, "metadata.uid"), wl_str(ref, "uid")))
		return NULL;
	return owner;
}

/* --- pods -------------------------------------------------------------------------------- */

bool wl_pod_terminal(const cJSON *pod)
{
	const char *phase = wl_str(pod, "status.phase");
	return !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
}

bool wl_deleting(const cJSON *obj)
{
	return obj_get(obj, "metadata.deletionTimestamp") != NULL;
}

bool wl_pod_active(const cJSON *pod)
{
	return !wl_pod_terminal(pod) && !wl_deleting(pod);
}

static const cJSON *ready_cond(const cJSON *pod)
{
	return wl_cond_get(obj_get(pod, "status"), "Ready");
}

bool wl_pod_ready(const cJSON *pod)
{
	return !strcmp(wl_str(ready_cond(pod), "status"), "True");
}

bool wl_pod_available(const cJSON *pod, int64_t min_ready, int64_t now)
{
	if (!wl_pod_ready(pod))
		return false;
	if (min_ready <= 0)
		return true;
	int64_t since = wl_time(ready_cond(pod), "lastTransitionTime", -1);
	return since >= 0 && since + min_ready <= now;
}

int64_t wl_pod_until_available(const cJSON *pod, int64_t min_ready, int64_t now)
{
	if (!wl_pod_ready(pod) || min_ready <= 0)
		return -1;
	int64_t since = wl_time(ready_cond(pod), "lastTransitionTime", -1);
	if (since < 0 || since + min_ready <= now)
		return -1;
	return since + min_ready - now;
}

bool wl_pod_running_ready(const cJSON *pod)
{
	return !strcmp(wl_str(pod, "status.phase"), "Running") && wl_pod_ready(pod);
}

int64_t wl_pod_restarts(const cJSON *pod)
{
	int64_t n = 0;
	const cJSON *cs;
	cJSON_ArrayForEach(cs, obj_get(pod, "status.containerStatuses"))
	{
		int64_t r = wl_int(cs, "restartCount", 0);
		if (r > n)
			n = r;
	}
	return n;
}

cJSON *wl_pod_from_template(const cJSON *tmpl, const cJSON *owner, const char *api_version,
                            const char *kind)
{
	cJSON *pod = cJSON_CreateObject();
	cJSON_AddStringToObject(pod, "apiVersion", "v1");
	cJSON_AddStringToObject(pod, "kind", "Pod");
	cJSON *meta = cJSON_AddObjectToObject(pod, "metadata");
	static const char *const copied[] = { "labels", "annotations", "finalizers" };
	for (size_t i = 0; i < ARRAY_SIZE(copied); i++) {
		const cJSON *v = obj_get(tmpl, "metadata");
		v = obj_child(v, copied[i]);
		if (v && !cJSON_IsNull(v))
			cJSON_AddItemToObject(meta, copied[i], obj_dup(v));
	}
	if (owner) {
		cJSON *refs = cJSON_AddArrayToObject(meta, "ownerReferences");
		cJSON_AddItemToArray(refs, wl_owner_ref(owner, api_version, kind));
		const char *ns = obj_get_str(owner, "metadata.namespace");
		if (ns)
			cJSON_AddStringToObject(meta, "namespace", ns);
	}
	const cJSON *spec = obj_get(tmpl, "spec");
	cJSON_AddItemToObject(pod, "spec", spec ? obj_dup(spec) : cJSON_CreateObject());
	return pod;
}

/* Phase order for deletion: pending pods go first, then unknown, then running. */
static int phase_rank(const cJSON *pod)
{
	const char *p = wl_str(pod, "status.phase");
	if (!strcmp(p, "Pending"))
		return 0;
	if (!strcmp(p, "Unknown"))
		return 1;
	if (!strcmp(p, "Running"))
		return 2;
	return 3;
}

struct ranked {
	const cJSON *pod;
	int doubled;   /* related pods on the same node */
	int64_t cost;  /* controller.kubernetes.io/pod-deletion-cost */
	int64_t ready; /* Ready since (seconds), -1 */
	int64_t created;
	int64_t restarts;
};

/* floor(log2(now - t)) of the age in nanoseconds, as upstream's logarithmic buckets. */
static int log_bucket(int64_t now, int64_t t)
{
	double d = ((double)now - (double)t) * 1e9;
	if (d <= 0)
		return -1;
	return (int)floor(log2(d));
}

static int cmp_ranked(const void *pa, const void *pb, void *arg)
{
	int64_t now = *(const int64_t *)arg;
	const struct ranked *a = pa, *b = pb;
	const char *na = wl_str(a->pod, "spec.nodeName"), *nb = wl_str(b->pod, "spec.nodeName");
	if (strcmp(na, nb) && (!*na || !*nb))
		return *na ? 1 : -1;
	if (phase_rank(a->pod) != phase_rank(b->pod))
		return phase_rank(a->pod) - phase_rank(b->pod);
	bool ra = wl_pod_ready(a->pod), rb = wl_pod_ready(b->pod);
	if (ra != rb)
		return ra ? 1 : -1;
	if (a->cost != b->cost)
		return a->cost < b->cost ? -1 : 1;
	if (a->doubled != b->doubled)
		return a->doubled > b->doubled ? -1 : 1;
	const char *ua = wl_str(a->pod, "metadata.uid"), *ub = wl_str(b->pod, "metadata.uid");
	if (ra && rb && a->ready != b->ready) {
		if (a->ready < 0 || b->ready < 0)
			return a->ready < 0 ? -1 : 1;
		/* Ready for less time goes first; within one logarithmic bucket upstream
		 * compares UIDs, an arbitrary but stable order. */
		int d = log_bucket(now, b->ready) - log_bucket(now, a->ready);
		return d ? (d > 0 ? -1 : 1) : strcmp(ua, ub);
	}
	if (a->restarts != b->restarts)
		return a->restarts > b->restarts ? -1 : 1;
	if (a->created != b->created) {
		if (a->created < 0 || b->created < 0)
			return a->created < 0 ? -1 : 1;
		int d = log_bucket(now, b->created) - log_bucket(now, a->created);
		return d ? (d > 0 ? -1 : 1) : strcmp(ua, ub);
	}
	return strcmp(ua, ub);
}

void wl_pods_sort_for_deletion(const cJSON **pods, size_t n, const cJSON *const *related,
                               size_t nrelated, int64_t now)
{
	if (n < 2)
		return;
	struct ranked *r = xcalloc(n, sizeof(*r));
	struct strmap per_node = { 0 };
	for (size_t i = 0; i < nrelated; i++) {
		const char *node = wl_str(related[i], "spec.nodeName");
		if (!*node || !wl_pod_active(related[i]))
			continue;
		uintptr_t c = (uintptr_t)strmap_get(&per_node, node);
		strmap_put(&per_node, node, (void *)(c + 1));
	}
	for (size_t i = 0; i < n; i++) {
		const char *node = wl_str(pods[i], "spec.nodeName");
		r[i].pod = pods[i];
		r[i].doubled = *node ? (int)(uintptr_t)strmap_get(&per_node, node) : 0;
		const char *cost =
		    obj_get_str(pods[i], "metadata.annotations.controller\\.kubernetes"
		                         "\\.io/pod-deletion-cost");
		r[i].cost = cost ? strtoll(cost, NULL, 10) : 0;
		r[i].ready = wl_pod_ready(pods[i])
		                 ? wl_time(ready_cond(pods[i]), "lastTransitionTime", -1)
		                 : -1;
		r[i].created = wl_time(pods[i], "metadata.creationTimestamp", -1);
		r[i].restarts = wl_pod_restarts(pods[i]);
	}
	qsort_r(r, n, sizeof(*r), cmp_ranked, &now);
	for (size_t i = 0; i < n; i++)
		pods[i] = r[i].pod;
	strmap_free(&per_node);
	free(r);
}

bool wl_tolerates(const cJSON *tolerations, const cJSON *taint)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, tolerations)
	{
		const char *effect = wl_str(t, "effect"), *key = wl_str(t, "key");
		const char *op = wl_str(t, "operator");
		if (*effect && strcmp(effect, wl_str(taint, "effect")))
			continue;
		if (*key && strcmp(key, wl_str(taint, "key")))
			continue;
		if (!strcmp(op, "Exists"))
			return true;
		if ((!*op || !strcmp(op, "Equal")) &&
		    !strcmp(wl_str(t, "value"), wl_str(taint, "value")))
			return true;
	}
	return false;
}
