/* daemonset: one pod of a DaemonSet's template on every eligible node (upstream's
 * DaemonSetsController): placement by nodeSelector, required node affinity and taints,
 * pods pinned with node affinity, RollingUpdate and OnDelete, ControllerRevisions, status. */
#include <stdio.h>
#include <string.h>

#define LOG_TAG "daemonset"
#include "core/controllers/workloads-internal.h"
#include "core/log/log.h"

#define HASH_LABEL "controller-revision-hash"
#define BURST 250
#define FAILED_BACKOFF_MAX_MS (15 * 60 * 1000)

/* Failed pods are deleted with back-off per node, so a kubelet that keeps rejecting the pod
 * does not make us spin. */
struct backoff {
	uint64_t until, delay;
};

struct ds_state {
	int inflight; /* ControllerRevision writes */
};

struct dsc {
	struct wl_ctl c;
	struct wl_expect exp;
	struct strmap st;      /* key -> struct ds_state* */
	struct strmap backoff; /* "<ds uid>/<node>" -> struct backoff* */
};

struct ds_op {
	struct dsc *dc;
	char pod[512];
	char key[];
};

static struct ds_op *new_op(struct dsc *dc, const char *key, const char *pod)
{
	size_t n = strlen(key) + 1;
	struct ds_op *op = xcalloc(1, sizeof(*op) + n);
	op->dc = dc;
	memcpy(op->key, key, n);
	if (pod)
		snprintf(op->pod, sizeof(op->pod), "%s", pod);
	return op;
}

static struct ds_state *state(struct dsc *dc, const char *key)
{
	struct ds_state *s = strmap_get(&dc->st, key);
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		strmap_put(&dc->st, key, s);
	}
	return s;
}

/* --- placement ----------------------------------------------------------------------------- */

static const char *const default_tolerations[][2] = {
	{ "node.kubernetes.io/not-ready", "NoExecute" },
	{ "node.kubernetes.io/unreachable", "NoExecute" },
	{ "node.kubernetes.io/disk-pressure", "NoSchedule" },
	{ "node.kubernetes.io/memory-pressure", "NoSchedule" },
	{ "node.kubernetes.io/pid-pressure", "NoSchedule" },
	{ "node.kubernetes.io/unschedulable", "NoSchedule" },
};

static void add_toleration(cJSON *tols, const char *key, const char *effect)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, tols)
	{
		if (!strcmp(wl_str(t, "key"), key) && !strcmp(wl_str(t, "effect"), effect))
			return;
	}
	cJSON *n = cJSON_CreateObject();
	cJSON_AddStringToObject(n, "key", key);
	cJSON_AddStringToObject(n, "operator", "Exists");
	cJSON_AddStringToObject(n, "effect", effect);
	cJSON_AddItemToArray(tols, n);
}

/* The template's tolerations with those upstream adds to every daemon pod, so a daemon runs
 * on nodes that are not ready, unreachable, under pressure or cordoned (caller frees). */
static cJSON *daemon_tolerations(const cJSON *spec)
{
	const cJSON *t = obj_child(spec, "tolerations");
	cJSON *tols = cJSON_IsArray(t) ? obj_dup(t) : cJSON_CreateArray();
	for (size_t i = 0; i < ARRAY_SIZE(default_tolerations); i++)
		add_toleration(tols, default_tolerations[i][0], default_tolerations[i][1]);
	if (cJSON_IsTrue(obj_child(spec, "hostNetwork")))
		add_toleration(tols, "node.kubernetes.io/network-unavailable", "NoSchedule");
	return tols;
}

/* Upstream's NodeShouldRunDaemonPod: whether a new daemon pod belongs on node, and whether
 * one already there may stay (only untolerated NoExecute taints drive it away). */
static void should_run(const cJSON *ds, const cJSON *node, bool *run, bool *stay)
{
	const cJSON *spec = obj_get(ds, "spec.template.spec");
	const char *name = wl_str(node, "metadata.name");
	*run = *stay = false;
	const char *want = wl_str(spec, "nodeName");
	if (*want && strcmp(want, name))
		return;
	struct sel *ns = NULL;
	if (sel_from_map(obj_child(spec, "nodeSelector"), &ns, NULL) < 0)
		return;
	bool fits = sel_matches(ns, obj_get(node, "metadata.labels"));
	sel_free(ns);
	const cJSON *req = obj_get(spec, "affinity.nodeAffinity."
	                                 "requiredDuringSchedulingIgnoredDuringExecution");
	if (fits && req) {
		bool m = false;
		sel_node_selector_matches(req, node, &m, NULL);
		fits = m;
	}
	if (!fits)
		return;
	cJSON *tols = daemon_tolerations(spec);
	bool untolerated = false, untolerated_noexec = false;
	const cJSON *t;
	cJSON_ArrayForEach(t, obj_get(node, "spec.taints"))
	{
		const char *effect = wl_str(t, "effect");
		bool noexec = !strcmp(effect, "NoExecute");
		if (!noexec && strcmp(effect, "NoSchedule"))
			continue;
		if (wl_tolerates(tols, t))
			continue;
		untolerated = true;
		untolerated_noexec |= noexec;
	}
	cJSON_Delete(tols);
	*run = !untolerated;
	*stay = !untolerated_noexec;
}

/* The node a daemon pod is for: its nodeName, or (not yet bound) the node its affinity names. */
static const char *pod_node(const cJSON *pod)
{
	const char *n = wl_str(pod, "spec.nodeName");
	if (*n)
		return n;
	const cJSON *term;
	cJSON_ArrayForEach(term, obj_get(pod, "spec.affinity.nodeAffinity."
	                                      "requiredDuringSchedulingIgnoredDuringExecution."
	                                      "nodeSelectorTerms"))
	{
		const cJSON *f;
		cJSON_ArrayForEach(f, obj_child(term, "matchFields"))
		{
			if (!strcmp(wl_str(f, "key"), "metadata.name") &&
			    !strcmp(wl_str(f, "operator"), "In") &&
			    cJSON_GetArraySize(obj_child(f, "values")) == 1)
				return wl_str(cJSON_GetArrayItem(obj_child(f, "values"), 0), "");
		}
	}
	return "";
}

/* A required node affinity for exactly this node, by name. */
static cJSON *node_name_selector(const char *node)
{
	cJSON *ns = cJSON_CreateObject();
	cJSON *term = cJSON_CreateObject();
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "key", "metadata.name");
	cJSON_AddStringToObject(req, "operator", "In");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(req, "values"), cJSON_CreateString(node));
	cJSON_AddItemToArray(cJSON_AddArrayToObject(term, "matchFields"), req);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(ns, "nodeSelectorTerms"), term);
	return ns;
}

static cJSON *new_pod(const cJSON *ds, const char *node, const char *hash)
{
	cJSON *pod = wl_pod_from_template(obj_get(ds, "spec.template"), ds, "apps/v1", "DaemonSet");
	char prefix[300];
	snprintf(prefix, sizeof(prefix), "%s-", wl_str(ds, "metadata.name"));
	obj_set_str(pod, "metadata.generateName", prefix, NULL);
	wl_set_label(pod, HASH_LABEL, hash);
	const cJSON *a = obj_child(obj_get(ds, "metadata.annotations"),
	                           "deprecated.daemonset.template.generation");
	if (cJSON_IsString(a))
		wl_set_label(pod, "pod-template-generation", a->valuestring);
	cJSON *spec = obj_get_mut(pod, "spec");
	cJSON *tols = daemon_tolerations(spec);
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "tolerations");
	cJSON_AddItemToObject(spec, "tolerations", tols);
	/* Pinned by affinity to the node's name; the scheduler binds it (as upstream). */
	static const char *const path = "affinity.nodeAffinity."
	                                "requiredDuringSchedulingIgnoredDuringExecution";
	if (obj_set(spec, path, node_name_selector(node), NULL) < 0) {
		/* A null or malformed affinity in the template: replace it. */
		cJSON_DeleteItemFromObjectCaseSensitive(spec, "affinity");
		obj_set(spec, path, node_name_selector(node), NULL);
	}
	return pod;
}

/* --- writes' results ----------------------------------------------------------------------- */

static void on_created(struct wl *w, void *arg, int code, const char *msg, cJSON *obj)
{
	struct ds_op *op = arg;
	if (w->stopping)
		return;
	const cJSON *ds = wl_get_key(w, WL_DS, op->key);
	if (code < 300) {
		if (ds)
			wl_event(&op->dc->c, ds, "Normal", "SuccessfulCreate", "Created pod: %s",
			         wl_str(obj, "metadata.name"));
		return;
	}
	wl_exp_create_failed(&op->dc->exp, op->key, 1);
	if (ds)
		wl_event(&op->dc->c, ds, "Warning", "FailedCreate", "Error creating: %s", msg);
}

static void on_created_all(struct wl *w, void *arg, size_t ok, size_t failed, size_t skipped,
                           const char *first_error)
{
	struct ds_op *op = arg;
	if (!w->stopping) {
		if (skipped)
			wl_exp_create_failed(&op->dc->exp, op->key, (int)skipped);
		if (failed)
			wl_enqueue_after(&op->dc->c, op->key, 1000);
	}
	free(op);
}

static void on_deleted(struct wl *w, void *arg, int code, const char *msg, cJSON *obj)
{
	struct ds_op *op = arg;
	if (!w->stopping) {
		const cJSON *ds = wl_get_key(w, WL_DS, op->key);
		const char *slash = strchr(op->pod, '/');
		if (code < 300) {
			if (ds)
				wl_event(&op->dc->c, ds, "Normal", "SuccessfulDelete",
				         "Deleted pod: %s", slash ? slash + 1 : op->pod);
		} else {
			wl_exp_deleted(&op->dc->exp, op->key, op->pod);
			if (code != 404) {
				if (ds)
					wl_event(&op->dc->c, ds, "Warning", "FailedDelete",
					         "Error deleting: %s", msg);
				wl_enqueue_after(&op->dc->c, op->key, 1000);
			}
		}
	}
	free(op);
}

static void on_history_done(struct wl *w, void *arg, int code, const char *msg, cJSON *obj)
{
	struct ds_op *op = arg;
	if (!w->stopping) {
		struct ds_state *s = state(op->dc, op->key);
		s->inflight--;
		const cJSON *ds = wl_get_key(w, WL_DS, op->key);
		if (code == 409 && ds && *op->pod) {
			/* A revision of our name with other data: change the name's hash. */
			cJSON *cr = client_get(w->c, w->kind[WL_CR],
			                       wl_str(ds, "metadata.namespace"), op->pod);
			cJSON *want = wl_history_patch(ds);
			if (cr && !obj_equal(obj_get(cr, "data"), want)) {
				cJSON *p = cJSON_CreateObject();
				cJSON_AddNumberToObject(
				    cJSON_AddObjectToObject(p, "status"), "collisionCount",
				    (double)(wl_int(ds, "status.collisionCount", 0) + 1));
				wl_patch(w, WL_DS, wl_str(ds, "metadata.namespace"),
				         wl_str(ds, "metadata.name"), "status", p, NULL, NULL);
			}
			cJSON_Delete(want);
			cJSON_Delete(cr);
		} else if (code >= 300 && code != 404) {
			log_debug("%s: revision write failed (%d): %s", op->key, code, msg);
		}
		if (!s->inflight)
			wl_enqueue_after(&op->dc->c, op->key, code < 300 ? 0 : 100);
	}
	free(op);
}

/* --- history --------------------------------------------------------------------------------- */

/*
 * Upstream's constructHistory: the ControllerRevision whose data is the current template is
 * the current one (created if missing, its revision raised above the others if it was an old
 * one rolled back to); duplicates go. hash gets the current revision's hash. Returns false
 * while a write must finish first.
 */
static bool history(struct dsc *dc, const char *key, const cJSON *ds, const cJSON **crs, size_t n,
                    char hash[64])
{
	struct wl *w = dc->c.w;
	const char *ns = wl_str(ds, "metadata.namespace");
	cJSON *data = wl_history_patch(ds);
	const cJSON *cur = NULL;
	int64_t max_old = 0;
	for (size_t i = 0; i < n; i++)
		if (obj_equal(obj_get(crs[i], "data"), data) &&
		    (!cur || wl_int(crs[i], "revision", 0) > wl_int(cur, "revision", 0)))
			cur = crs[i];
	for (size_t i = 0; i < n; i++) {
		if (crs[i] == cur)
			continue;
		if (obj_equal(obj_get(crs[i], "data"), data)) {
			state(dc, key)->inflight++;
			wl_delete(w, WL_CR, ns, wl_str(crs[i], "metadata.name"),
			          wl_str(crs[i], "metadata.uid"), NULL, on_history_done,
			          new_op(dc, key, NULL));
			continue;
		}
		max_old = MAX(max_old, wl_int(crs[i], "revision", 0));
	}
	bool ready = true;
	if (cur) {
		const char *h = wl_label(cur, HASH_LABEL);
		if (h)
			snprintf(hash, 64, "%s", h);
		else
			wl_hash(obj_get(ds, "spec.template"),
			        wl_int(ds, "status.collisionCount", -1), hash);
		if (wl_int(cur, "revision", 0) < max_old + 1) {
			cJSON *up = obj_dup(cur);
			obj_set_i64(up, "revision", max_old + 1, NULL);
			state(dc, key)->inflight++;
			wl_update(w, WL_CR, NULL, up, on_history_done, new_op(dc, key, NULL));
		}
	} else {
		wl_hash(obj_get(ds, "spec.template"), wl_int(ds, "status.collisionCount", -1),
		        hash);
		char name[320];
		snprintf(name, sizeof(name), "%s-%s", wl_str(ds, "metadata.name"), hash);
		cJSON *cr = cJSON_CreateObject();
		cJSON_AddStringToObject(cr, "apiVersion", "apps/v1");
		cJSON_AddStringToObject(cr, "kind", "ControllerRevision");
		cJSON *meta = cJSON_AddObjectToObject(cr, "metadata");
		cJSON_AddStringToObject(meta, "name", name);
		cJSON_AddStringToObject(meta, "namespace", ns);
		const cJSON *tl = obj_get(ds, "spec.template.metadata.labels");
		cJSON_AddItemToObject(meta, "labels",
		                      cJSON_IsObject(tl) ? obj_dup(tl) : cJSON_CreateObject());
		cJSON_AddItemToArray(cJSON_AddArrayToObject(meta, "ownerReferences"),
		                     wl_owner_ref(ds, "apps/v1", "DaemonSet"));
		wl_set_label(cr, HASH_LABEL, hash);
		cJSON_AddItemToObject(cr, "data", data);
		data = NULL;
		cJSON_AddNumberToObject(cr, "revision", (double)(max_old + 1));
		state(dc, key)->inflight++;
		wl_create(w, WL_CR, ns, cr, on_history_done, new_op(dc, key, name));
		ready = false;
	}
	cJSON_Delete(data);
	return ready;
}

/* Old revisions beyond revisionHistoryLimit that no pod still runs go, oldest first. */
static void cleanup_history(struct dsc *dc, const char *key, const cJSON *ds, const cJSON **crs,
                            size_t n, const char *hash, const cJSON **pods, size_t npods)
{
	int64_t limit = wl_int(ds, "spec.revisionHistoryLimit", 10);
	const cJSON **old = xmalloc((n + 1) * sizeof(*old));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *h = wl_label(crs[i], HASH_LABEL);
		if (h && !strcmp(h, hash))
			continue;
		bool live = false;
		for (size_t p = 0; p < npods && !live; p++) {
			const char *ph = wl_label(pods[p], HASH_LABEL);
			live = h && ph && !strcmp(h, ph);
		}
		if (!live)
			old[k++] = crs[i];
	}
	/* Oldest (lowest revision) first. */
	for (size_t i = 1; i < k; i++)
		for (size_t j = i;
		     j > 0 && wl_int(old[j - 1], "revision", 0) > wl_int(old[j], "revision", 0);
		     j--) {
			const cJSON *t = old[j];
			old[j] = old[j - 1];
			old[j - 1] = t;
		}
	for (size_t i = 0; (int64_t)(k - i) > limit; i++) {
		state(dc, key)->inflight++;
		wl_delete(dc->c.w, WL_CR, wl_str(ds, "metadata.namespace"),
		          wl_str(old[i], "metadata.name"), wl_str(old[i], "metadata.uid"), NULL,
		          on_history_done, new_op(dc, key, NULL));
	}
	free(old);
}

/* --- pods per node ------------------------------------------------------------------------------ */

struct node_pods {
	const cJSON **v;
	size_t n;
};

static void group_by_node(const cJSON **pods, size_t n, struct strmap *out)
{
	for (size_t i = 0; i < n; i++) {
		const char *node = pod_node(pods[i]);
		struct node_pods *np = strmap_get(out, node);
		if (!np) {
			np = xcalloc(1, sizeof(*np));
			strmap_put(out, node, np);
		}
		np->v = xrealloc(np->v, (np->n + 1) * sizeof(*np->v));
		np->v[np->n++] = pods[i];
	}
}

static void free_groups(struct strmap *m)
{
	const char *k;
	void *v;
	for (size_t i = 0; strmap_next(m, &i, &k, &v);) {
		struct node_pods *np = v;
		free(np->v);
		free(np);
	}
	strmap_free(m);
}

/* Bound first, then oldest, then by name (upstream's podByCreationTimestampAndPhase). */
static int by_age(const void *pa, const void *pb)
{
	const cJSON *a = *(const cJSON *const *)pa, *b = *(const cJSON *const *)pb;
	bool ba = *wl_str(a, "spec.nodeName"), bb = *wl_str(b, "spec.nodeName");
	if (ba != bb)
		return ba ? -1 : 1;
	int64_t ta = wl_time(a, "metadata.creationTimestamp", 0);
	int64_t tb = wl_time(b, "metadata.creationTimestamp", 0);
	if (ta != tb)
		return ta < tb ? -1 : 1;
	return strcmp(wl_str(a, "metadata.name"), wl_str(b, "metadata.name"));
}

static bool pod_updated(const cJSON *pod, const char *hash)
{
	const char *h = wl_label(pod, HASH_LABEL);
	return h && !strcmp(h, hash);
}

/* What one sync decides: nodes to get a pod, pods to delete. */
struct plan {
	char **nodes;
	size_t nnodes;
	const cJSON **del;
	size_t ndel;
};

static void plan_node(struct plan *p, const char *node)
{
	p->nodes = xrealloc(p->nodes, (p->nnodes + 1) * sizeof(*p->nodes));
	p->nodes[p->nnodes++] = xstrdup(node);
}

static void plan_delete(struct plan *p, const cJSON *pod)
{
	for (size_t i = 0; i < p->ndel; i++)
		if (p->del[i] == pod)
			return;
	p->del = xrealloc(p->del, (p->ndel + 1) * sizeof(*p->del));
	p->del[p->ndel++] = pod;
}

static void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->nnodes; i++)
		free(p->nodes[i]);
	free(p->nodes);
	free(p->del);
	memset(p, 0, sizeof(*p));
}

static int64_t max_surge_of(const cJSON *ds, int64_t desired)
{
	if (strcmp(wl_str(ds, "spec.updateStrategy.type"), "RollingUpdate"))
		return 0;
	return wl_int_or_percent(obj_get(ds, "spec.updateStrategy.rollingUpdate.maxSurge"), desired,
	                         true, 0);
}

struct sync_ctx {
	struct dsc *dc;
	const char *key;
	const cJSON *ds;
	const char *hash;
	struct strmap *groups;
	int64_t now, mrs;
	uint64_t mono;
};

/* A failed daemon pod is deleted (so a new one replaces it), at most as often as its node's
 * back-off allows. */
static bool failed_pod_may_go(struct sync_ctx *x, const char *node)
{
	char k[600];
	snprintf(k, sizeof(k), "%s/%s", wl_str(x->ds, "metadata.uid"), node);
	struct backoff *b = strmap_get(&x->dc->backoff, k);
	if (b && x->mono < b->until) {
		wl_enqueue_after(&x->dc->c, x->key, b->until - x->mono);
		return false;
	}
	if (!b) {
		b = xcalloc(1, sizeof(*b));
		strmap_put(&x->dc->backoff, k, b);
	}
	b->delay = b->delay ? MIN(b->delay * 2, (uint64_t)FAILED_BACKOFF_MAX_MS) : 1000;
	b->until = x->mono + b->delay;
	return true;
}

/* Upstream's manage(): every node that should run a daemon pod gets one; failed, surplus and
 * misplaced pods go. */
static void manage(struct sync_ctx *x, struct plan *p, const cJSON **nodes, size_t nn)
{
	bool surge = max_surge_of(x->ds, 1) > 0;
	struct strmap known = { 0 };
	for (size_t i = 0; i < nn; i++) {
		const char *name = wl_str(nodes[i], "metadata.name");
		strmap_put(&known, name, (void *)1);
		bool run, stay;
		should_run(x->ds, nodes[i], &run, &stay);
		struct node_pods *np = strmap_get(x->groups, name);
		bool exists = np && np->n > 0;
		if (run && !exists) {
			plan_node(p, name);
		} else if (stay && exists) {
			const cJSON **running = xmalloc(np->n * sizeof(*running));
			size_t nr = 0;
			for (size_t k = 0; k < np->n; k++) {
				const cJSON *pod = np->v[k];
				const char *phase = wl_str(pod, "status.phase");
				if (wl_deleting(pod))
					continue;
				if (!strcmp(phase, "Failed")) {
					if (!failed_pod_may_go(x, name))
						continue;
					wl_event(
					    &x->dc->c, x->ds, "Warning", "FailedDaemonPod",
					    "Found failed daemon pod %s/%s on node %s, will try to "
					    "kill it",
					    wl_str(pod, "metadata.namespace"),
					    wl_str(pod, "metadata.name"), name);
					plan_delete(p, pod);
				} else if (!strcmp(phase, "Succeeded")) {
					plan_delete(p, pod);
				} else {
					running[nr++] = pod;
				}
			}
			qsort(running, nr, sizeof(*running), by_age);
			if (!surge) {
				/* One daemon per node: the oldest stays. */
				for (size_t k = 1; k < nr; k++)
					plan_delete(p, running[k]);
			} else if (nr > 1) {
				/* With surge, an old pod and a new one may overlap until the new
				 * one is ready; any others go. */
				const cJSON *newest = NULL, *oldest = NULL;
				for (size_t k = 0; k < nr; k++) {
					bool up = pod_updated(running[k], x->hash);
					if (up && !newest)
						newest = running[k];
					else if (!up && !oldest)
						oldest = running[k];
					else
						plan_delete(p, running[k]);
				}
				if (newest && oldest &&
				    (!wl_pod_ready(oldest) || wl_pod_ready(newest)))
					plan_delete(p, oldest);
			}
			free(running);
		} else if (!stay && exists) {
			for (size_t k = 0; k < np->n; k++)
				if (!wl_deleting(np->v[k]))
					plan_delete(p, np->v[k]);
		}
	}
	/* Pods still waiting for a node that is gone. */
	const char *k;
	void *v;
	for (size_t i = 0; strmap_next(x->groups, &i, &k, &v);) {
		if (strmap_get(&known, k))
			continue;
		struct node_pods *np = v;
		for (size_t j = 0; j < np->n; j++)
			if (!*wl_str(np->v[j], "spec.nodeName") && !wl_deleting(np->v[j]))
				plan_delete(p, np->v[j]);
	}
	strmap_free(&known);
}

/* The one new-template and one old-template pod of a node (false: more than one of either). */
static bool updated_pods_on(const struct node_pods *np, const char *hash, const cJSON **newp,
                            const cJSON **oldp)
{
	*newp = *oldp = NULL;
	for (size_t i = 0; np && i < np->n; i++) {
		const cJSON *pod = np->v[i];
		if (wl_deleting(pod))
			continue;
		const cJSON **slot = pod_updated(pod, hash) ? newp : oldp;
		if (*slot)
			return false;
		*slot = pod;
	}
	return true;
}

/* Upstream's rollingUpdate: old pods go (or new ones surge in) node by node, keeping at most
 * maxUnavailable nodes without an available daemon. */
static void rolling_update(struct sync_ctx *x, struct plan *p, const cJSON **nodes, size_t nn)
{
	int64_t desired = 0;
	for (size_t i = 0; i < nn; i++) {
		bool run, stay;
		should_run(x->ds, nodes[i], &run, &stay);
		desired += run;
	}
	const cJSON *ru = obj_get(x->ds, "spec.updateStrategy.rollingUpdate");
	int64_t max_unavail = wl_int_or_percent(obj_child(ru, "maxUnavailable"), desired, true, 1);
	int64_t max_surge = wl_int_or_percent(obj_child(ru, "maxSurge"), desired, true, 0);
	if (max_unavail == 0 && max_surge == 0)
		max_unavail = 1;
	const char *k;
	void *v;
	const cJSON **cand = xmalloc((x->groups->len + 1) * sizeof(*cand));
	size_t ncand = 0;
	if (max_surge == 0) {
		int64_t unavail = 0;
		for (size_t i = 0; strmap_next(x->groups, &i, &k, &v);) {
			const cJSON *np, *op;
			if (!updated_pods_on(v, x->hash, &np, &op)) {
				unavail++;
				continue;
			}
			if ((!op && !np) || (op && np))
				unavail++; /* manage() sorts this node out */
			else if (np) {
				if (!wl_pod_available(np, x->mrs, x->now))
					unavail++;
			} else if (!wl_pod_available(op, x->mrs, x->now)) {
				plan_delete(p, op); /* not serving anyway: replace it now */
			} else if (unavail < max_unavail) {
				cand[ncand++] = op;
			}
		}
		int64_t room = MAX(max_unavail - unavail, 0);
		for (size_t i = 0; i < ncand && (int64_t)i < room; i++)
			plan_delete(p, cand[i]);
	} else {
		int64_t surging = 0;
		for (size_t i = 0; strmap_next(x->groups, &i, &k, &v);) {
			const cJSON *np, *op;
			if (!updated_pods_on(v, x->hash, &np, &op) || !op)
				continue;
			if (!np) {
				if (!wl_pod_available(op, x->mrs, x->now)) {
					const cJSON *node = wl_get(x->dc->c.w, WL_NODES, NULL, k);
					bool run = false, stay;
					if (node)
						should_run(x->ds, node, &run, &stay);
					if (!run)
						plan_delete(p, op);
					else
						plan_node(p, k);
				} else if (surging < max_surge) {
					cand[ncand++] = op;
				}
			} else if (!wl_pod_available(np, x->mrs, x->now)) {
				surging++;
			} else {
				plan_delete(p, op);
			}
		}
		int64_t room = MAX(max_surge - surging, 0);
		for (size_t i = 0; i < ncand && (int64_t)i < room; i++)
			plan_node(p, pod_node(cand[i]));
	}
	free(cand);
}

static void sync_nodes(struct sync_ctx *x, struct plan *p)
{
	struct wl *w = x->dc->c.w;
	size_t nc = MIN(p->nnodes, (size_t)BURST), nd = MIN(p->ndel, (size_t)BURST);
	char **keys = xcalloc(nd + 1, sizeof(*keys));
	for (size_t i = 0; i < nd; i++) {
		char pk[512];
		wl_key(p->del[i], pk, sizeof(pk));
		keys[i] = xstrdup(pk);
	}
	wl_exp_expect(&x->dc->exp, x->key, (int)nc, (const char *const *)keys, nd, x->mono);
	const char *ns = wl_str(x->ds, "metadata.namespace");
	if (nc) {
		cJSON **bodies = xmalloc(nc * sizeof(*bodies));
		for (size_t i = 0; i < nc; i++)
			bodies[i] = new_pod(x->ds, p->nodes[i], x->hash);
		wl_create_batched(w, WL_PODS, ns, bodies, nc, on_created, on_created_all,
		                  new_op(x->dc, x->key, NULL));
	}
	for (size_t i = 0; i < nd; i++) {
		wl_delete(w, WL_PODS, ns, wl_str(p->del[i], "metadata.name"),
		          wl_str(p->del[i], "metadata.uid"), NULL, on_deleted,
		          new_op(x->dc, x->key, keys[i]));
		free(keys[i]);
	}
	free(keys);
}

static cJSON *ds_status(struct sync_ctx *x, const cJSON **nodes, size_t nn, int64_t *recheck)
{
	int64_t desired = 0, current = 0, mis = 0, ready = 0, avail = 0, updated = 0;
	*recheck = -1;
	for (size_t i = 0; i < nn; i++) {
		bool run, stay;
		should_run(x->ds, nodes[i], &run, &stay);
		struct node_pods *np = strmap_get(x->groups, wl_str(nodes[i], "metadata.name"));
		const cJSON **live = xmalloc(((np ? np->n : 0) + 1) * sizeof(*live));
		size_t nl = 0;
		for (size_t k = 0; np && k < np->n; k++)
			if (!(wl_pod_terminal(np->v[k]) && wl_deleting(np->v[k])))
				live[nl++] = np->v[k];
		if (run) {
			desired++;
			if (nl) {
				current++;
				qsort(live, nl, sizeof(*live), by_age);
				if (wl_pod_ready(live[0]))
					ready++;
				if (wl_pod_available(live[0], x->mrs, x->now)) {
					avail++;
				} else {
					int64_t t = wl_pod_until_available(live[0], x->mrs, x->now);
					if (t >= 0 && (*recheck < 0 || t < *recheck))
						*recheck = t;
				}
				if (pod_updated(live[0], x->hash))
					updated++;
			}
		} else if (nl) {
			mis++;
		}
		free(live);
	}
	cJSON *st = cJSON_CreateObject();
	cJSON_AddNumberToObject(st, "currentNumberScheduled", (double)current);
	cJSON_AddNumberToObject(st, "numberMisscheduled", (double)mis);
	cJSON_AddNumberToObject(st, "desiredNumberScheduled", (double)desired);
	cJSON_AddNumberToObject(st, "numberReady", (double)ready);
	int64_t gen = wl_int(x->ds, "metadata.generation", 0);
	if (gen)
		cJSON_AddNumberToObject(st, "observedGeneration", (double)gen);
	if (updated)
		cJSON_AddNumberToObject(st, "updatedNumberScheduled", (double)updated);
	if (avail)
		cJSON_AddNumberToObject(st, "numberAvailable", (double)avail);
	if (desired - avail > 0)
		cJSON_AddNumberToObject(st, "numberUnavailable", (double)(desired - avail));
	const cJSON *cc = obj_get(x->ds, "status.collisionCount");
	if (cc)
		cJSON_AddItemToObject(st, "collisionCount", obj_dup(cc));
	const cJSON *conds = obj_get(x->ds, "status.conditions");
	if (conds)
		cJSON_AddItemToObject(st, "conditions", obj_dup(conds));
	return st;
}

/* --- sync -------------------------------------------------------------------------------------- */

static int ds_sync(struct wl_ctl *c, const char *key)
{
	struct dsc *dc = (struct dsc *)c;
	struct wl *w = c->w;
	const cJSON *ds = wl_get_key(w, WL_DS, key);
	if (!ds) {
		wl_exp_forget(&dc->exp, key);
		free(strmap_del(&dc->st, key));
		return 0;
	}
	if (state(dc, key)->inflight || wl_stale(w, WL_DS, ds))
		return 0;
	struct sel *sel = wl_selector(ds, "spec.selector");
	if (!sel) {
		log_warn("%s: invalid selector", key);
		return 0;
	}
	if (sel_is_everything(sel)) {
		sel_free(sel);
		wl_event(
		    c, ds, "Warning", "SelectingAll",
		    "This daemon set is selecting all pods. A non-empty selector is required.");
		return 0;
	}
	if (wl_deleting(ds)) {
		sel_free(sel);
		return 0;
	}
	const cJSON **crs, **pods, **nodes;
	size_t ncr = wl_claim(c, WL_CR, ds, "apps/v1", "DaemonSet", sel, &crs);
	char hash[64];
	if (!history(dc, key, ds, crs, ncr, hash)) {
		sel_free(sel);
		free(crs);
		return 0; /* the new revision first; its event brings us back */
	}
	size_t np = wl_claim(c, WL_PODS, ds, "apps/v1", "DaemonSet", sel, &pods);
	sel_free(sel);
	size_t nn = wl_all(w, WL_NODES, &nodes);
	struct strmap groups = { 0 };
	group_by_node(pods, np, &groups);
	struct sync_ctx x = { dc,
		              key,
		              ds,
		              hash,
		              &groups,
		              wl_now_s(w),
		              wl_int(ds, "spec.minReadySeconds", 0),
		              loop_now_ms(w->loop) };
	if (wl_exp_satisfied(&dc->exp, key, x.mono)) {
		struct plan p = { 0 };
		manage(&x, &p, nodes, nn);
		if (!p.nnodes && !p.ndel &&
		    !strcmp(wl_str(ds, "spec.updateStrategy.type"), "RollingUpdate"))
			rolling_update(&x, &p, nodes, nn);
		if (p.nnodes || p.ndel)
			sync_nodes(&x, &p);
		plan_free(&p);
	}
	cleanup_history(dc, key, ds, crs, ncr, hash, pods, np);
	int64_t recheck;
	wl_write_status(c, WL_DS, ds, ds_status(&x, nodes, nn, &recheck));
	if (recheck >= 0)
		wl_enqueue_after(c, key, (uint64_t)recheck * 1000 + 500);
	free_groups(&groups);
	free(nodes);
	free(pods);
	free(crs);
	return 0;
}

/* --- informer handlers ---------------------------------------------------------------------------- */

static const cJSON *pod_owner(struct dsc *dc, const cJSON *pod)
{
	return wl_resolve_owner(dc->c.w, WL_DS, "DaemonSet", pod);
}

static void enqueue_selecting(struct dsc *dc, const cJSON *obj)
{
	const cJSON **v;
	size_t n = wl_selecting(dc->c.w, WL_DS, wl_str(obj, "metadata.namespace"), "spec.selector",
	                        obj_get(obj, "metadata.labels"), &v);
	for (size_t i = 0; i < n; i++)
		wl_enqueue(&dc->c, v[i]);
	free(v);
}

static void pod_gone(struct dsc *dc, const cJSON *pod)
{
	const cJSON *ds = pod_owner(dc, pod);
	if (!ds)
		return;
	char key[512], pk[512];
	wl_key(ds, key, sizeof(key));
	wl_key(pod, pk, sizeof(pk));
	wl_exp_deleted(&dc->exp, key, pk);
	wl_enqueue_key(&dc->c, key);
}

static void on_pod_add(void *arg, const cJSON *pod)
{
	struct dsc *dc = arg;
	if (wl_deleting(pod)) {
		pod_gone(dc, pod);
		return;
	}
	if (wl_controller_ref(pod)) {
		const cJSON *ds = pod_owner(dc, pod);
		if (!ds)
			return;
		char key[512];
		wl_key(ds, key, sizeof(key));
		wl_exp_created(&dc->exp, key);
		wl_enqueue_key(&dc->c, key);
		return;
	}
	enqueue_selecting(dc, pod);
}

static void on_pod_update(void *arg, const cJSON *old, const cJSON *cur)
{
	struct dsc *dc = arg;
	if (wl_deleting(cur) && !wl_deleting(old)) {
		pod_gone(dc, cur);
		return;
	}
	const cJSON *ods = pod_owner(dc, old), *ds = pod_owner(dc, cur);
	if (ods && ods != ds)
		wl_enqueue(&dc->c, ods);
	if (ds) {
		wl_enqueue(&dc->c, ds);
		int64_t mrs = wl_int(ds, "spec.minReadySeconds", 0);
		if (mrs > 0 && !wl_pod_ready(old) && wl_pod_ready(cur)) {
			char key[512];
			wl_key(ds, key, sizeof(key));
			wl_enqueue_after(&dc->c, key, (uint64_t)mrs * 1000 + 1000);
		}
		return;
	}
	if (!wl_controller_ref(cur))
		enqueue_selecting(dc, cur);
}

static void on_pod_del(void *arg, const cJSON *pod)
{
	pod_gone(arg, pod);
}

static void on_ds(void *arg, const cJSON *ds)
{
	wl_enqueue(arg, ds);
}

static void on_ds_update(void *arg, const cJSON *old, const cJSON *ds)
{
	wl_enqueue(arg, ds);
}

static void on_node(void *arg, const cJSON *node)
{
	wl_enqueue_all(arg, WL_DS);
}

static void on_node_update(void *arg, const cJSON *old, const cJSON *node)
{
	/* Heartbeats change only status; placement depends on labels, taints and name. */
	if (obj_equal(obj_get(old, "metadata.labels"), obj_get(node, "metadata.labels")) &&
	    obj_equal(obj_get(old, "spec"), obj_get(node, "spec")))
		return;
	wl_enqueue_all(arg, WL_DS);
}

static void on_cr(void *arg, const cJSON *cr)
{
	struct dsc *dc = arg;
	const cJSON *ds = wl_resolve_owner(dc->c.w, WL_DS, "DaemonSet", cr);
	if (ds)
		wl_enqueue(&dc->c, ds);
}

static void on_cr_update(void *arg, const cJSON *old, const cJSON *cr)
{
	on_cr(arg, cr);
}

static void ds_resync(struct wl_ctl *c)
{
	wl_enqueue_all(c, WL_DS);
}

static void ds_free(struct wl_ctl *c)
{
	struct dsc *dc = (struct dsc *)c;
	wl_ctl_destroy(c);
	wl_exp_free(&dc->exp);
	const char *k;
	void *v;
	for (size_t i = 0; strmap_next(&dc->st, &i, &k, &v);)
		free(v);
	strmap_free(&dc->st);
	for (size_t i = 0; strmap_next(&dc->backoff, &i, &k, &v);)
		free(v);
	strmap_free(&dc->backoff);
	free(dc);
}

struct wl_ctl *wl_daemonset_new(struct wl *w)
{
	struct dsc *dc = xcalloc(1, sizeof(*dc));
	wl_ctl_init(&dc->c, w, "daemonset-controller");
	dc->c.sync = ds_sync;
	dc->c.resync = ds_resync;
	dc->c.free = ds_free;
	struct informer_handlers dh = { on_ds, on_ds_update, on_ds, NULL, dc };
	informer_add_handlers(w->inf[WL_DS], &dh);
	struct informer_handlers ph = { on_pod_add, on_pod_update, on_pod_del, NULL, dc };
	informer_add_handlers(w->inf[WL_PODS], &ph);
	struct informer_handlers nh = { on_node, on_node_update, on_node, NULL, dc };
	informer_add_handlers(w->inf[WL_NODES], &nh);
	struct informer_handlers ch = { on_cr, on_cr_update, on_cr, NULL, dc };
	informer_add_handlers(w->inf[WL_CR], &ch);
	return &dc->c;
}
