/* nodelifecycle: watches node health (Lease renewals and the kubelet's Ready heartbeats),
 * marks silent nodes Unknown, keeps the condition taints (NoSchedule, and NoExecute for
 * not-ready/unreachable), evicts pods that do not tolerate NoExecute taints once their
 * tolerationSeconds run out, and force-deletes pods left bound to nodes that are gone. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_TAG "nodelifecycle"
#include "core/controllers/cluster-internal.h"
#include "core/log/log.h"

#define T_NOT_READY "node.kubernetes.io/not-ready"
#define T_UNREACHABLE "node.kubernetes.io/unreachable"
#define LEASE_NS "kube-node-lease"

/*
 * Keys of the one work queue:
 *   n:<node>       health, condition taints, pods marked not ready
 *   p:<ns>/<name>  taint-based eviction of one pod
 *   g:<ns>/<name>  a pod bound to a node that no longer exists
 */

/* What we last saw of a node, on our own clock (other machines' clocks may be skewed). */
struct health {
	uint64_t probe_ms; /* when a heartbeat last arrived */
	char lease_renew[48];
	char ready_heartbeat[48];
	char ready_status[16]; /* as last observed by us */
};

/* A pod's pending eviction: upstream counts tolerationSeconds from when it first saw the pod
 * on a tainted node. */
struct eviction {
	uint64_t since_ms;
};

struct ctrl_nodelifecycle {
	struct cc_ctl b;
	const struct reg_kind *nodek, *podk, *leasek;
	struct strmap health;    /* node -> struct health* */
	struct strmap evictions; /* ns/name -> struct eviction* */
	struct loop_timer monitor;
};

static struct informer *nodes(struct ctrl_nodelifecycle *x)
{
	return ctrl_informers_get(x->b.inf, x->nodek);
}

static struct informer *pods(struct ctrl_nodelifecycle *x)
{
	return ctrl_informers_get(x->b.inf, x->podk);
}

static void now_str(char out[32])
{
	obj_time_format((int64_t)time(NULL), out);
}

static const char *cond_status(const cJSON *node, const char *type)
{
	return obj_get_str(cc_condition(node, type), "status");
}

/* --- health ----------------------------------------------------------------------------- */

static struct health *health_of(struct ctrl_nodelifecycle *x, const char *name, bool *fresh)
{
	struct health *h = strmap_get(&x->health, name);
	*fresh = !h;
	if (!h) {
		/* Newly seen (or we just started): it gets a whole grace period from now. */
		h = xcalloc(1, sizeof(*h));
		h->probe_ms = time_mono_ms();
		strmap_put(&x->health, name, h);
	}
	return h;
}

/* Notes heartbeats: a renewed Lease or a new Ready heartbeat moves the probe time. */
static void observe(struct ctrl_nodelifecycle *x, const cJSON *node, struct health *h)
{
	const char *name = cc_name(node);
	const char *hb = obj_get_str(cc_condition(node, "Ready"), "lastHeartbeatTime");
	if (hb && strcmp(hb, h->ready_heartbeat)) {
		snprintf(h->ready_heartbeat, sizeof(h->ready_heartbeat), "%s", hb);
		h->probe_ms = time_mono_ms();
	}
	const cJSON *lease = cc_get(ctrl_informers_get(x->b.inf, x->leasek), LEASE_NS, name);
	const char *renew = obj_get_str(lease, "spec.renewTime");
	if (renew && strcmp(renew, h->lease_renew)) {
		snprintf(h->lease_renew, sizeof(h->lease_renew), "%s", renew);
		h->probe_ms = time_mono_ms();
	}
}

/* Marks Ready and the pressure conditions Unknown, as upstream does for a silent node.
 * Returns true when the node changed. */
static bool mark_unknown(cJSON *node)
{
	static const char *const types[] = { "Ready", "MemoryPressure", "DiskPressure",
		                             "PIDPressure" };
	char now[32];
	now_str(now);
	bool changed = false;
	cJSON *conds = obj_get_mut(node, "status.conditions");
	if (!cJSON_IsArray(conds)) {
		obj_set(node, "status.conditions", cJSON_CreateArray(), NULL);
		conds = obj_get_mut(node, "status.conditions");
	}
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		cJSON *c = (cJSON *)cc_condition(node, types[i]);
		if (!c) {
			c = cJSON_CreateObject();
			cJSON_AddStringToObject(c, "type", types[i]);
			cJSON_AddStringToObject(c, "status", "Unknown");
			cJSON_AddStringToObject(c, "reason", "NodeStatusNeverUpdated");
			cJSON_AddStringToObject(c, "message", "Kubelet never posted node status.");
			const char *created = obj_get_str(node, "metadata.creationTimestamp");
			cJSON_AddStringToObject(c, "lastHeartbeatTime", created ? created : now);
			cJSON_AddStringToObject(c, "lastTransitionTime", now);
			cJSON_AddItemToArray(conds, c);
			changed = true;
			continue;
		}
		const char *s = obj_get_str(c, "status");
		if (s && !strcmp(s, "Unknown"))
			continue;
		static const char *const fields[] = { "status", "reason", "message",
			                              "lastTransitionTime" };
		const char *vals[] = { "Unknown", "NodeStatusUnknown",
			               "Kubelet stopped posting node status.", now };
		for (size_t f = 0; f < ARRAY_SIZE(fields); f++) {
			cJSON_DeleteItemFromObjectCaseSensitive(c, fields[f]);
			cJSON_AddStringToObject(c, fields[f], vals[f]);
		}
		changed = true;
	}
	return changed;
}

/* --- taints ----------------------------------------------------------------------------- */

struct want {
	const char *key, *effect;
};

/* Condition taints as upstream maps them; NoExecute only for Ready, and not while every node
 * is down (then the control plane is likely the one cut off, and evicting helps nobody). */
static size_t wanted_taints(const cJSON *node, bool disrupted, struct want *w)
{
	size_t n = 0;
	const char *ready = cond_status(node, "Ready");
	if (ready && !strcmp(ready, "False")) {
		w[n++] = (struct want){ T_NOT_READY, "NoSchedule" };
		if (!disrupted)
			w[n++] = (struct want){ T_NOT_READY, "NoExecute" };
	} else if (ready && !strcmp(ready, "Unknown")) {
		w[n++] = (struct want){ T_UNREACHABLE, "NoSchedule" };
		if (!disrupted)
			w[n++] = (struct want){ T_UNREACHABLE, "NoExecute" };
	}
	static const struct {
		const char *type, *key;
	} pressure[] = {
		{ "MemoryPressure", "node.kubernetes.io/memory-pressure" },
		{ "DiskPressure", "node.kubernetes.io/disk-pressure" },
		{ "PIDPressure", "node.kubernetes.io/pid-pressure" },
		{ "NetworkUnavailable", "node.kubernetes.io/network-unavailable" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(pressure); i++) {
		const char *s = cond_status(node, pressure[i].type);
		if (s && !strcmp(s, "True"))
			w[n++] = (struct want){ pressure[i].key, "NoSchedule" };
	}
	bool unsched = false;
	if (obj_get_bool(node, "spec.unschedulable", &unsched) && unsched)
		w[n++] = (struct want){ "node.kubernetes.io/unschedulable", "NoSchedule" };
	return n;
}

/* Whether a taint is one this controller manages. */
static bool managed(const char *key, const char *effect)
{
	static const char *const keys[] = { T_NOT_READY,
		                            T_UNREACHABLE,
		                            "node.kubernetes.io/memory-pressure",
		                            "node.kubernetes.io/disk-pressure",
		                            "node.kubernetes.io/pid-pressure",
		                            "node.kubernetes.io/network-unavailable",
		                            "node.kubernetes.io/unschedulable" };
	if (!key || !effect)
		return false;
	if (!strcmp(effect, "NoExecute"))
		return !strcmp(key, T_NOT_READY) || !strcmp(key, T_UNREACHABLE);
	if (strcmp(effect, "NoSchedule"))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strcmp(keys[i], key))
			return true;
	return false;
}

/* The node's taints made to match: returns the new list, or NULL when nothing changes. */
static cJSON *retaint(const cJSON *node, const struct want *w, size_t n)
{
	cJSON *out = cJSON_CreateArray();
	bool have[16] = { false }, changed = false;
	const cJSON *t;
	cJSON_ArrayForEach(t, obj_get(node, "spec.taints"))
	{
		const char *key = obj_get_str(t, "key"), *effect = obj_get_str(t, "effect");
		bool keep = !managed(key, effect);
		for (size_t i = 0; i < n && !keep; i++) {
			if (!strcmp(w[i].key, key) && !strcmp(w[i].effect, effect) && !have[i]) {
				have[i] = true;
				keep = true;
			}
		}
		if (keep)
			cJSON_AddItemToArray(out, cJSON_Duplicate(t, true));
		else
			changed = true;
	}
	char now[32];
	now_str(now);
	for (size_t i = 0; i < n; i++) {
		if (have[i])
			continue;
		cJSON *nt = cJSON_CreateObject();
		cJSON_AddStringToObject(nt, "key", w[i].key);
		cJSON_AddStringToObject(nt, "effect", w[i].effect);
		cJSON_AddStringToObject(nt, "timeAdded", now);
		cJSON_AddItemToArray(out, nt);
		changed = true;
	}
	if (!changed) {
		cJSON_Delete(out);
		return NULL;
	}
	return out;
}

struct census {
	int ready, not_ready;
};

static int count_node(void *arg, const cJSON *node)
{
	struct census *c = arg;
	if (obj_get(node, "metadata.labels.node\\.kubernetes\\.io/exclude-disruption"))
		return 0;
	const char *s = cond_status(node, "Ready");
	if (s && !strcmp(s, "True"))
		c->ready++;
	else
		c->not_ready++;
	return 0;
}

/* --- pods on a node -------------------------------------------------------------------- */

struct on_node {
	const char *node;
	void (*fn)(struct ctrl_nodelifecycle *x, const cJSON *pod, void *arg);
	struct ctrl_nodelifecycle *x;
	void *arg;
};

static int on_node_one(void *arg, const cJSON *pod)
{
	struct on_node *o = arg;
	const char *n = obj_get_str(pod, "spec.nodeName");
	if (n && !strcmp(n, o->node))
		o->fn(o->x, pod, o->arg);
	return 0;
}

static void each_pod_on(struct ctrl_nodelifecycle *x, const char *node,
                        void (*fn)(struct ctrl_nodelifecycle *x, const cJSON *pod, void *arg),
                        void *arg)
{
	struct on_node o = { node, fn, x, arg };
	cc_each(pods(x), on_node_one, &o);
}

static void enqueue_pod_key(struct ctrl_nodelifecycle *x, const cJSON *pod, void *arg)
{
	char key[600];
	snprintf(key, sizeof(key), "%s:%s/%s", (const char *)arg, cc_ns(pod), cc_name(pod));
	cc_enqueue(&x->b, key);
}

/* Ready=False on the pods of a node that stopped: Services stop sending them traffic. */
static void mark_pod_not_ready(struct ctrl_nodelifecycle *x, const cJSON *pod, void *arg)
{
	const char *key = arg;
	if (cc_deleting(pod) || cc_pod_terminal(pod))
		return;
	const cJSON *ready = cc_condition(pod, "Ready");
	const char *s = obj_get_str(ready, "status");
	if (!ready || (s && !strcmp(s, "False")))
		return;
	cJSON *copy = cJSON_Duplicate(pod, true);
	cJSON *c = (cJSON *)cc_condition(copy, "Ready");
	char now[32];
	now_str(now);
	cJSON_DeleteItemFromObjectCaseSensitive(c, "status");
	cJSON_AddStringToObject(c, "status", "False");
	cJSON_DeleteItemFromObjectCaseSensitive(c, "lastTransitionTime");
	cJSON_AddStringToObject(c, "lastTransitionTime", now);
	client_event(x->b.c, x->b.component, pod, "Warning", "NodeNotReady", "Node is not ready");
	cc_update(&x->b, key, x->podk, cc_ns(pod), cc_name(pod), "status", copy, NULL, NULL);
}

/* --- syncing a node ---------------------------------------------------------------------- */

static int sync_node(struct ctrl_nodelifecycle *x, const char *key, const char *name)
{
	cJSON *node = client_get(x->b.c, x->nodek, NULL, name);
	if (!node) {
		free(strmap_del(&x->health, name));
		return 0;
	}
	bool fresh;
	struct health *h = health_of(x, name, &fresh);
	if (fresh)
		client_event(x->b.c, x->b.component, node, "Normal", "RegisteredNode",
		             "Registered Node %s in Controller", name);
	observe(x, node, h);
	uint64_t now = time_mono_ms();
	bool has_ready = cc_condition(node, "Ready") != NULL;
	uint64_t grace = has_ready ? x->b.o.node_monitor_grace_ms : x->b.o.node_startup_grace_ms;
	const char *before = cond_status(node, "Ready");
	char seen[16];
	snprintf(seen, sizeof(seen), "%s", before ? before : "Unknown");

	/* 1. Silent for longer than the grace period: Unknown. */
	if (now > h->probe_ms + grace && mark_unknown(node)) {
		cc_update(&x->b, key, x->nodek, NULL, name, "status", node, NULL, NULL);
		/* Taints follow once the status is written (the write's completion syncs again). */
		cc_enqueue(&x->b, key);
		return 0;
	}
	/* The next look is due when the grace period would run out. */
	if (now <= h->probe_ms + grace)
		cc_enqueue_after(&x->b, key, h->probe_ms + grace - now + 1);

	/* 2. Condition taints. */
	struct census cs = { 0 };
	cc_each(nodes(x), count_node, &cs);
	/* Ourselves as we are now, not as the cache last saw us. */
	if (!obj_get(node, "metadata.labels.node\\.kubernetes\\.io/exclude-disruption")) {
		const char *cached = cond_status(cc_get(nodes(x), NULL, name), "Ready");
		if (cached && !strcmp(cached, "True"))
			cs.ready--;
		else
			cs.not_ready--;
		if (!strcmp(seen, "True"))
			cs.ready++;
		else
			cs.not_ready++;
	}
	bool disrupted = cs.ready <= 0 && cs.not_ready > 0;
	struct want w[16];
	size_t nw = wanted_taints(node, disrupted, w);
	cJSON *taints = retaint(node, w, nw);
	if (taints) {
		cJSON *spec = obj_get_mut(node, "spec");
		if (!cJSON_IsObject(spec)) {
			cJSON_DeleteItemFromObjectCaseSensitive(node, "spec");
			spec = cJSON_AddObjectToObject(node, "spec");
		}
		cJSON_DeleteItemFromObjectCaseSensitive(spec, "taints");
		if (taints->child)
			cJSON_AddItemToObject(spec, "taints", taints);
		else
			cJSON_Delete(taints);
		cc_update(&x->b, key, x->nodek, NULL, name, NULL, node, NULL, NULL);
		node = NULL;
	}

	/* 3. Readiness transitions: an event, and the pods of a stopped node not ready. A
	 * kubelet that reports NotReady still looks after its pods' readiness itself; one that
	 * went silent does not, so there it is kept up for as long as the node is Unknown. */
	bool was_ready = !strcmp(h->ready_status, "True");
	bool transition = strcmp(seen, h->ready_status) != 0;
	if (transition) {
		if (was_ready && strcmp(seen, "True"))
			client_event(x->b.c, x->b.component,
			             node ? node : cc_get(nodes(x), NULL, name), "Normal",
			             "NodeNotReady", "Node %s status is now: NodeNotReady", name);
		snprintf(h->ready_status, sizeof(h->ready_status), "%s", seen);
	}
	if (!strcmp(seen, "Unknown") || (transition && was_ready && !strcmp(seen, "False")))
		each_pod_on(x, name, mark_pod_not_ready, (void *)key);
	cJSON_Delete(node);
	return 0;
}

/* --- taint-based eviction ---------------------------------------------------------------- */

static void cancel_eviction(struct ctrl_nodelifecycle *x, const char *podkey, const cJSON *pod)
{
	struct eviction *ev = strmap_del(&x->evictions, podkey);
	if (!ev)
		return;
	free(ev);
	if (pod)
		client_event(x->b.c, "taint-eviction-controller", pod, "Normal",
		             "TaintManagerEviction", "Cancelling deletion of Pod %s", podkey);
}

static int evicted(struct cc_ctl *b, const char *key, int code, const char *msg, cJSON *obj,
                   void *arg)
{
	if ((code >= 200 && code < 300) || code == 404)
		return 0;
	return code == 409 ? 1 : -1;
}

/* Marks the pod as a disruption target, then deletes it gracefully. */
static void evict(struct ctrl_nodelifecycle *x, const char *key, const char *podkey,
                  const cJSON *pod)
{
	client_event(x->b.c, "taint-eviction-controller", pod, "Normal", "TaintManagerEviction",
	             "Marking for deletion Pod %s", podkey);
	if (!cc_condition(pod, "DisruptionTarget")) {
		cJSON *copy = cJSON_Duplicate(pod, true);
		cJSON *conds = obj_get_mut(copy, "status.conditions");
		if (!cJSON_IsArray(conds)) {
			obj_set(copy, "status.conditions", cJSON_CreateArray(), NULL);
			conds = obj_get_mut(copy, "status.conditions");
		}
		char now[32];
		now_str(now);
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "type", "DisruptionTarget");
		cJSON_AddStringToObject(c, "status", "True");
		cJSON_AddStringToObject(c, "reason", "DeletionByTaintManager");
		cJSON_AddStringToObject(c, "message",
		                        "Taint manager: deleting due to NoExecute taint");
		cJSON_AddStringToObject(c, "lastTransitionTime", now);
		cJSON_AddItemToArray(conds, c);
		cc_update(&x->b, key, x->podk, cc_ns(pod), cc_name(pod), "status", copy, evicted,
		          NULL);
	}
	cc_delete(&x->b, key, x->podk, cc_ns(pod), cc_name(pod), -1, NULL, cc_uid(pod), evicted,
	          NULL);
}

static int sync_pod(struct ctrl_nodelifecycle *x, const char *key, const char *podkey)
{
	char buf[512];
	const char *ns, *name;
	cc_split_key(podkey, buf, sizeof(buf), &ns, &name);
	const cJSON *pod = ns ? cc_get(pods(x), ns, name) : NULL;
	if (!pod || cc_deleting(pod)) {
		free(strmap_del(&x->evictions, podkey));
		return 0;
	}
	const char *nodename = obj_get_str(pod, "spec.nodeName");
	const cJSON *node = nodename && *nodename ? cc_get(nodes(x), NULL, nodename) : NULL;
	/* Each NoExecute taint must be tolerated; the first toleration that does so counts. */
	bool tolerated = true, any = false;
	int64_t min_secs = -1; /* -1: forever */
	const cJSON *t;
	cJSON_ArrayForEach(t, obj_get(node, "spec.taints"))
	{
		const char *effect = obj_get_str(t, "effect");
		if (!effect || strcmp(effect, "NoExecute"))
			continue;
		any = true;
		const cJSON *tol, *used = NULL;
		cJSON_ArrayForEach(tol, obj_get(pod, "spec.tolerations"))
		{
			if (cc_tolerates(tol, t)) {
				used = tol;
				break;
			}
		}
		if (!used) {
			tolerated = false;
			break;
		}
		int64_t secs;
		if (obj_get_i64(used, "tolerationSeconds", &secs)) {
			if (secs < 0)
				secs = 0;
			if (min_secs < 0 || secs < min_secs)
				min_secs = secs;
		}
	}
	if (!any || (tolerated && min_secs < 0)) {
		cancel_eviction(x, podkey, pod);
		return 0;
	}
	uint64_t now = time_mono_ms();
	struct eviction *ev = strmap_get(&x->evictions, podkey);
	if (!ev) {
		ev = xcalloc(1, sizeof(*ev));
		ev->since_ms = now;
		strmap_put(&x->evictions, podkey, ev);
	}
	uint64_t due = tolerated ? ev->since_ms + (uint64_t)min_secs * 1000 : now;
	if (now < due) {
		cc_enqueue_after(&x->b, key, due - now);
		return 0;
	}
	evict(x, key, podkey, pod);
	return 0;
}

/* --- pods left on nodes that are gone ------------------------------------------------------ */

static int sync_orphan(struct ctrl_nodelifecycle *x, const char *key, const char *podkey)
{
	char buf[512];
	const char *ns, *name;
	cc_split_key(podkey, buf, sizeof(buf), &ns, &name);
	const cJSON *pod = ns ? cc_get(pods(x), ns, name) : NULL;
	const char *nodename = obj_get_str(pod, "spec.nodeName");
	if (!pod || !nodename || !*nodename)
		return 0;
	/* Ask the store, not the cache: a node that just registered must not lose its pods. */
	cJSON *node = client_get(x->b.c, x->nodek, NULL, nodename);
	if (node) {
		cJSON_Delete(node);
		return 0;
	}
	log_info("pod %s: node %s is gone, deleting it", podkey, nodename);
	cc_delete(&x->b, key, x->podk, ns, name, 0, NULL, cc_uid(pod), evicted, NULL);
	return 0;
}

static int sync_key(struct cc_ctl *b, const char *key)
{
	struct ctrl_nodelifecycle *x = (struct ctrl_nodelifecycle *)b;
	if (!strncmp(key, "n:", 2))
		return sync_node(x, key, key + 2);
	if (!strncmp(key, "p:", 2))
		return sync_pod(x, key, key + 2);
	if (!strncmp(key, "g:", 2))
		return sync_orphan(x, key, key + 2);
	return 0;
}

/* --- events ------------------------------------------------------------------------------- */

static void enqueue_node(struct ctrl_nodelifecycle *x, const char *name)
{
	char key[300];
	snprintf(key, sizeof(key), "n:%s", name);
	cc_enqueue(&x->b, key);
}

static bool same_no_execute(const cJSON *a, const cJSON *b)
{
	cJSON *x = cJSON_CreateArray(), *y = cJSON_CreateArray();
	const cJSON *t;
	cJSON_ArrayForEach(t, obj_get(a, "spec.taints"))
	{
		const char *e = obj_get_str(t, "effect");
		if (e && !strcmp(e, "NoExecute"))
			cJSON_AddItemToArray(x, cJSON_Duplicate(t, true));
	}
	cJSON_ArrayForEach(t, obj_get(b, "spec.taints"))
	{
		const char *e = obj_get_str(t, "effect");
		if (e && !strcmp(e, "NoExecute"))
			cJSON_AddItemToArray(y, cJSON_Duplicate(t, true));
	}
	bool same = obj_equal(x, y);
	cJSON_Delete(x);
	cJSON_Delete(y);
	return same;
}

static void on_node_add(void *arg, const cJSON *node)
{
	struct ctrl_nodelifecycle *x = arg;
	if (!cc_name(node))
		return;
	enqueue_node(x, cc_name(node));
	each_pod_on(x, cc_name(node), enqueue_pod_key, "p");
}

static void on_node_update(void *arg, const cJSON *old, const cJSON *node)
{
	struct ctrl_nodelifecycle *x = arg;
	if (!cc_name(node))
		return;
	enqueue_node(x, cc_name(node));
	if (!same_no_execute(old, node))
		each_pod_on(x, cc_name(node), enqueue_pod_key, "p");
}

static void enqueue_orphan_check(struct ctrl_nodelifecycle *x, const cJSON *pod, void *arg)
{
	char key[600];
	snprintf(key, sizeof(key), "g:%s/%s", cc_ns(pod), cc_name(pod));
	/* Upstream's quarantine: the node may be coming back under the same name. */
	cc_enqueue_after(&x->b, key, x->b.o.node_monitor_grace_ms);
}

static void on_node_del(void *arg, const cJSON *node)
{
	struct ctrl_nodelifecycle *x = arg;
	const char *name = cc_name(node);
	if (!name)
		return;
	free(strmap_del(&x->health, name));
	client_event(x->b.c, x->b.component, node, "Normal", "RemovingNode",
	             "Removing Node %s from Controller", name);
	/* No taints any more, so no evictions; and no kubelet will ever stop its pods. */
	each_pod_on(x, name, enqueue_pod_key, "p");
	each_pod_on(x, name, enqueue_orphan_check, NULL);
}

static void on_pod_add(void *arg, const cJSON *pod)
{
	struct ctrl_nodelifecycle *x = arg;
	const char *node = obj_get_str(pod, "spec.nodeName");
	if (!node || !*node)
		return;
	enqueue_pod_key(x, pod, "p");
	const cJSON *n = cc_get(nodes(x), NULL, node);
	if (!n)
		enqueue_orphan_check(x, pod, NULL);
	else if (strcmp(cond_status(n, "Ready") ? cond_status(n, "Ready") : "", "True"))
		enqueue_node(x, node); /* a pod new on a node that is down: not ready either */
}

static void on_pod_update(void *arg, const cJSON *old, const cJSON *pod)
{
	const char *a = obj_get_str(old, "spec.nodeName"), *b = obj_get_str(pod, "spec.nodeName");
	if ((a && b && !strcmp(a, b)) &&
	    obj_equal(obj_get(old, "spec.tolerations"), obj_get(pod, "spec.tolerations")))
		return;
	on_pod_add(arg, pod);
}

static void on_pod_del(void *arg, const cJSON *pod)
{
	struct ctrl_nodelifecycle *x = arg;
	char key[512];
	client_key_of(pod, key, sizeof(key));
	free(strmap_del(&x->evictions, key));
}

static int resync_node(void *arg, const cJSON *node)
{
	if (cc_name(node))
		enqueue_node(arg, cc_name(node));
	return 0;
}

/* The health monitor: every node looked at each period. */
static void on_monitor(struct loop *l, struct loop_timer *t)
{
	struct ctrl_nodelifecycle *x = container_of(t, struct ctrl_nodelifecycle, monitor);
	cc_each(nodes(x), resync_node, x);
	loop_timer_arm(l, t, x->b.o.node_monitor_period_ms);
}

static int resync_pod(void *arg, const cJSON *pod)
{
	const char *node = obj_get_str(pod, "spec.nodeName");
	if (node && *node)
		enqueue_pod_key(arg, pod, "p");
	return 0;
}

static void resync(struct cc_ctl *b)
{
	struct ctrl_nodelifecycle *x = (struct ctrl_nodelifecycle *)b;
	cc_each(pods(x), resync_pod, x);
}

static void free_map(struct strmap *m)
{
	const char *k;
	void *v;
	for (size_t i = 0; strmap_next(m, &i, &k, &v);)
		free(v);
	strmap_free(m);
}

static void destroy(struct cc_ctl *b)
{
	struct ctrl_nodelifecycle *x = (struct ctrl_nodelifecycle *)b;
	free_map(&x->health);
	free_map(&x->evictions);
	cc_fini(b);
	free(x);
}

int ctrl_nodelifecycle_start(struct ctrl_informers *f, const struct ctrl_cluster_opts *o,
                             struct ctrl_nodelifecycle **out, struct err *e)
{
	struct ctrl_nodelifecycle *x = xcalloc(1, sizeof(*x));
	cc_init(&x->b, f, o, "node-controller");
	x->b.sync = sync_key;
	x->b.resync = resync;
	x->b.destroy = destroy;
	x->nodek = cc_kind("", "nodes");
	x->podk = cc_kind("", "pods");
	x->leasek = cc_kind("coordination.k8s.io", "leases");
	loop_timer_init(&x->monitor, on_monitor);
	struct informer_handlers hn = { on_node_add, on_node_update, on_node_del, NULL, x };
	struct informer_handlers hp = { on_pod_add, on_pod_update, on_pod_del, NULL, x };
	struct informer_handlers hl = { NULL, NULL, NULL, NULL, x };
	if (!x->nodek || !x->podk || !x->leasek || cc_watch(&x->b, "", "nodes", &hn) ||
	    cc_watch(&x->b, "", "pods", &hp) ||
	    cc_watch(&x->b, "coordination.k8s.io", "leases", &hl)) {
		cc_stop(&x->b);
		return err_set(e, -ENOENT,
		               "node lifecycle controller: a kind it needs is not served");
	}
	cc_start(&x->b);
	loop_timer_arm(client_loop(x->b.c), &x->monitor, x->b.o.node_monitor_period_ms);
	*out = x;
	return 0;
}

void ctrl_nodelifecycle_stop(struct ctrl_nodelifecycle *x)
{
	if (!x)
		return;
	loop_timer_disarm(client_loop(x->b.c), &x->monitor);
	cc_stop(&x->b);
}
