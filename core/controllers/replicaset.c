/* replicaset: keeps spec.replicas pods of a ReplicaSet's template in existence (upstream's
 * ReplicaSetController): adoption and release, slow-start creates, ranked deletes, status. */
#include <stdio.h>
#include <string.h>

#define LOG_TAG "replicaset"
#include "core/controllers/workloads-internal.h"
#include "core/log/log.h"

/* At most this many creates or deletes per sync, as upstream's burstReplicas. */
#define BURST 500

/* What a sync left for the next one: the last failure to create or delete pods, shown as the
 * ReplicaFailure condition until a later attempt succeeds. */
struct rs_state {
	char *err;
	const char *reason; /* "FailedCreate" or "FailedDelete" */
	bool fresh_err;     /* not yet reported: report it, then retry with back-off */
};

struct rsc {
	struct wl_ctl c;
	struct wl_expect exp;
	struct strmap st; /* key -> struct rs_state* */
};

struct rs_op {
	struct rsc *r;
	char pod[512];
	char key[];
};

static struct rs_op *new_op(struct rsc *r, const char *key, const char *pod)
{
	size_t n = strlen(key) + 1;
	struct rs_op *op = xcalloc(1, sizeof(*op) + n);
	op->r = r;
	memcpy(op->key, key, n);
	if (pod)
		snprintf(op->pod, sizeof(op->pod), "%s", pod);
	return op;
}

static struct rs_state *state(struct rsc *r, const char *key, bool create)
{
	struct rs_state *s = strmap_get(&r->st, key);
	if (!s && create) {
		s = xcalloc(1, sizeof(*s));
		strmap_put(&r->st, key, s);
	}
	return s;
}

static void state_drop(struct rsc *r, const char *key)
{
	struct rs_state *s = strmap_del(&r->st, key);
	if (s) {
		free(s->err);
		free(s);
	}
}

static void set_error(struct rsc *r, const char *key, const char *reason, const char *msg)
{
	struct rs_state *s = state(r, key, true);
	free(s->err);
	s->err = xstrdup(msg && *msg ? msg : "unknown error");
	s->reason = reason;
	s->fresh_err = true;
}

/* --- informer handlers ------------------------------------------------------------------- */

static const cJSON *pod_owner(struct rsc *r, const cJSON *pod)
{
	return wl_resolve_owner(r->c.w, WL_RS, "ReplicaSet", pod);
}

static void enqueue_selecting(struct rsc *r, const cJSON *pod)
{
	const cJSON **v;
	size_t n = wl_selecting(r->c.w, WL_RS, wl_str(pod, "metadata.namespace"), "spec.selector",
	                        obj_get(pod, "metadata.labels"), &v);
	for (size_t i = 0; i < n; i++)
		wl_enqueue(&r->c, v[i]);
	free(v);
}

static void pod_gone(struct rsc *r, const cJSON *pod)
{
	const cJSON *rs = pod_owner(r, pod);
	if (!rs)
		return;
	char key[512], pkey[512];
	wl_key(rs, key, sizeof(key));
	wl_key(pod, pkey, sizeof(pkey));
	wl_exp_deleted(&r->exp, key, pkey);
	wl_enqueue_key(&r->c, key);
}

static void on_pod_add(void *arg, const cJSON *pod)
{
	struct rsc *r = arg;
	if (wl_deleting(pod)) {
		/* Already on its way out (seen after a restart): a delete as far as we care. */
		pod_gone(r, pod);
		return;
	}
	if (wl_controller_ref(pod)) {
		const cJSON *rs = pod_owner(r, pod);
		if (!rs)
			return;
		char key[512];
		wl_key(rs, key, sizeof(key));
		wl_exp_created(&r->exp, key);
		wl_enqueue_key(&r->c, key);
		return;
	}
	enqueue_selecting(r, pod);
}

static void on_pod_update(void *arg, const cJSON *old, const cJSON *cur)
{
	struct rsc *r = arg;
	if (obj_equal(obj_get(old, "metadata.resourceVersion"),
	              obj_get(cur, "metadata.resourceVersion")))
		return;
	bool labels_changed =
	    !obj_equal(obj_get(old, "metadata.labels"), obj_get(cur, "metadata.labels"));
	if (wl_deleting(cur)) {
		pod_gone(r, cur);
		return;
	}
	const char *ou = obj_get_str(wl_controller_ref(old), "uid");
	const char *cu = obj_get_str(wl_controller_ref(cur), "uid");
	bool ref_changed = (ou || cu) && (!ou || !cu || strcmp(ou, cu));
	if (ref_changed) {
		const cJSON *ors = pod_owner(r, old);
		if (ors)
			wl_enqueue(&r->c, ors);
	}
	const cJSON *rs = pod_owner(r, cur);
	if (rs) {
		wl_enqueue(&r->c, rs);
		int64_t mrs = wl_int(rs, "spec.minReadySeconds", 0);
		if (mrs > 0 && !wl_pod_ready(old) && wl_pod_ready(cur)) {
			char key[512];
			wl_key(rs, key, sizeof(key));
			wl_enqueue_after(&r->c, key, (uint64_t)mrs * 1000 + 1000);
		}
		return;
	}
	if (labels_changed || ref_changed)
		enqueue_selecting(r, cur);
}

static void on_pod_del(void *arg, const cJSON *pod)
{
	pod_gone(arg, pod);
}

static void on_rs_add(void *arg, const cJSON *rs)
{
	wl_enqueue(arg, rs);
}

static void on_rs_update(void *arg, const cJSON *old, const cJSON *rs)
{
	wl_enqueue(arg, rs);
}

static void on_rs_del(void *arg, const cJSON *rs)
{
	wl_enqueue(arg, rs);
}

/* --- writes' results ------------------------------------------------------------------- */

static void on_created(struct wl *w, void *arg, int code, const char *msg, cJSON *obj)
{
	struct rs_op *op = arg;
	if (w->stopping)
		return;
	const cJSON *rs = wl_get_key(w, WL_RS, op->key);
	if (code < 300) {
		if (rs)
			wl_event(&op->r->c, rs, "Normal", "SuccessfulCreate", "Created pod: %s",
			         wl_str(obj, "metadata.name"));
		return;
	}
	wl_exp_create_failed(&op->r->exp, op->key, 1);
	if (rs)
		wl_event(&op->r->c, rs, "Warning", "FailedCreate", "Error creating: %s", msg);
}

static void on_created_all(struct wl *w, void *arg, size_t ok, size_t failed, size_t skipped,
                           const char *first_error)
{
	struct rs_op *op = arg;
	if (!w->stopping) {
		struct rsc *r = op->r;
		if (skipped)
			wl_exp_create_failed(&r->exp, op->key, (int)skipped);
		if (failed) {
			set_error(r, op->key, "FailedCreate", first_error);
			wl_enqueue_key(&r->c, op->key);
		} else {
			struct rs_state *s = state(r, op->key, false);
			if (s && s->err) {
				state_drop(r, op->key);
				wl_enqueue_key(&r->c, op->key);
			}
		}
	}
	free(op);
}

static void on_deleted(struct wl *w, void *arg, int code, const char *msg, cJSON *obj)
{
	struct rs_op *op = arg;
	if (!w->stopping) {
		struct rsc *r = op->r;
		const cJSON *rs = wl_get_key(w, WL_RS, op->key);
		const char *slash = strchr(op->pod, '/');
		const char *name = slash ? slash + 1 : op->pod;
		if (code < 300) {
			if (rs)
				wl_event(&r->c, rs, "Normal", "SuccessfulDelete", "Deleted pod: %s",
				         name);
		} else if (code == 404) {
			wl_exp_deleted(&r->exp, op->key, op->pod);
		} else {
			wl_exp_deleted(&r->exp, op->key, op->pod);
			if (rs)
				wl_event(&r->c, rs, "Warning", "FailedDelete", "Error deleting: %s",
				         msg);
			set_error(r, op->key, "FailedDelete", msg);
			wl_enqueue_key(&r->c, op->key);
		}
	}
	free(op);
}

/* --- sync ------------------------------------------------------------------------------- */

/* Pods of the ReplicaSets that share rs's owner (a Deployment's other revisions): deleting
 * one that shares a node with its siblings is preferred. */
static size_t related_pods(struct wl *w, const cJSON *rs, const cJSON ***out)
{
	const char *owner = obj_get_str(wl_controller_ref(rs), "uid");
	const cJSON **sets = NULL, **all = NULL;
	size_t nsets = 0, n = 0;
	if (owner) {
		nsets = wl_owned(w, WL_RS, owner, &sets);
	} else {
		sets = xmalloc(sizeof(*sets));
		sets[0] = rs;
		nsets = 1;
	}
	for (size_t i = 0; i < nsets; i++) {
		const cJSON **pods;
		size_t np = wl_owned(w, WL_PODS, wl_str(sets[i], "metadata.uid"), &pods);
		if (np) {
			all = xrealloc(all, (n + np) * sizeof(*all));
			memcpy(all + n, pods, np * sizeof(*pods));
			n += np;
		}
		free(pods);
	}
	free(sets);
	*out = all;
	return n;
}

/* Creates or deletes pods so that there are spec.replicas; removes the pods it deletes from
 * active (*na shrinks). */
static void manage(struct rsc *r, const char *key, const cJSON *rs, const cJSON **active,
                   size_t *na)
{
	struct wl *w = r->c.w;
	int64_t want = wl_int(rs, "spec.replicas", 1);
	int64_t diff = (int64_t)*na - want;
	const char *ns = wl_str(rs, "metadata.namespace");
	uint64_t mono = loop_now_ms(w->loop);
	if (diff < 0) {
		size_t k = (size_t)MIN(-diff, BURST);
		wl_exp_expect_creates(&r->exp, key, (int)k, mono);
		cJSON **bodies = xmalloc(k * sizeof(*bodies));
		char prefix[300];
		snprintf(prefix, sizeof(prefix), "%s-", wl_str(rs, "metadata.name"));
		for (size_t i = 0; i < k; i++) {
			bodies[i] = wl_pod_from_template(obj_get(rs, "spec.template"), rs,
			                                 "apps/v1", "ReplicaSet");
			obj_set_str(bodies[i], "metadata.generateName", prefix, NULL);
		}
		log_debug("%s: creating %zu pods (have %zu, want %lld)", key, k, *na,
		          (long long)want);
		wl_create_batched(w, WL_PODS, ns, bodies, k, on_created, on_created_all,
		                  new_op(r, key, NULL));
	} else if (diff > 0) {
		size_t k = (size_t)MIN(diff, BURST);
		const cJSON **related;
		size_t nrel = related_pods(w, rs, &related);
		wl_pods_sort_for_deletion(active, *na, related, nrel, wl_now_s(w));
		free(related);
		char **keys = xmalloc(k * sizeof(*keys));
		for (size_t i = 0; i < k; i++) {
			char pk[512];
			wl_key(active[i], pk, sizeof(pk));
			keys[i] = xstrdup(pk);
		}
		wl_exp_expect_deletes(&r->exp, key, (const char *const *)keys, k, mono);
		log_debug("%s: deleting %zu pods (have %zu, want %lld)", key, k, *na,
		          (long long)want);
		/* The victims leave active before the deletes go out: one may finish at once. */
		const cJSON **victims = xmalloc(k * sizeof(*victims));
		memcpy(victims, active, k * sizeof(*victims));
		memmove(active, active + k, (*na - k) * sizeof(*active));
		*na -= k;
		for (size_t i = 0; i < k; i++) {
			wl_delete(w, WL_PODS, ns, wl_str(victims[i], "metadata.name"),
			          wl_str(victims[i], "metadata.uid"), NULL, on_deleted,
			          new_op(r, key, keys[i]));
			free(keys[i]);
		}
		free(victims);
		free(keys);
	}
}

static bool fully_labeled(const cJSON *pod, const cJSON *labels)
{
	const cJSON *l;
	cJSON_ArrayForEach(l, labels)
	{
		const char *v = wl_label(pod, l->string);
		if (!v || !cJSON_IsString(l) || strcmp(v, l->valuestring))
			return false;
	}
	return true;
}

static cJSON *rs_status(struct rsc *r, const cJSON *rs, const cJSON **active, size_t na,
                        int64_t *recheck)
{
	struct wl *w = r->c.w;
	int64_t now = wl_now_s(w), mrs = wl_int(rs, "spec.minReadySeconds", 0);
	const cJSON *labels = obj_get(rs, "spec.template.metadata.labels");
	int64_t full = 0, ready = 0, avail = 0;
	*recheck = -1;
	for (size_t i = 0; i < na; i++) {
		if (fully_labeled(active[i], labels))
			full++;
		if (wl_pod_ready(active[i]))
			ready++;
		if (wl_pod_available(active[i], mrs, now)) {
			avail++;
		} else {
			int64_t t = wl_pod_until_available(active[i], mrs, now);
			if (t >= 0 && (*recheck < 0 || t < *recheck))
				*recheck = t;
		}
	}
	cJSON *st = cJSON_CreateObject();
	cJSON_AddNumberToObject(st, "replicas", (double)na);
	if (full)
		cJSON_AddNumberToObject(st, "fullyLabeledReplicas", (double)full);
	if (ready)
		cJSON_AddNumberToObject(st, "readyReplicas", (double)ready);
	if (avail)
		cJSON_AddNumberToObject(st, "availableReplicas", (double)avail);
	int64_t gen = wl_int(rs, "metadata.generation", 0);
	if (gen)
		cJSON_AddNumberToObject(st, "observedGeneration", (double)gen);
	const cJSON *conds = obj_get(rs, "status.conditions");
	if (cJSON_IsArray(conds) && cJSON_GetArraySize(conds))
		cJSON_AddItemToObject(st, "conditions", obj_dup(conds));
	char key[512];
	wl_key(rs, key, sizeof(key));
	struct rs_state *s = state(r, key, false);
	if (s && s->err)
		wl_cond_set(st, "ReplicaFailure", "True", s->reason, s->err, now, false);
	else
		wl_cond_remove(st, "ReplicaFailure");
	return st;
}

static int rs_sync(struct wl_ctl *c, const char *key)
{
	struct rsc *r = (struct rsc *)c;
	struct wl *w = c->w;
	const cJSON *rs = wl_get_key(w, WL_RS, key);
	if (!rs) {
		wl_exp_forget(&r->exp, key);
		state_drop(r, key);
		return 0;
	}
	if (wl_stale(w, WL_RS, rs))
		return 0; /* our own write is on its way: its event queues us again */
	struct sel *sel = wl_selector(rs, "spec.selector");
	if (!sel) {
		log_warn("%s: invalid selector", key);
		return 0;
	}
	bool need = wl_exp_satisfied(&r->exp, key, loop_now_ms(w->loop));
	const cJSON **pods;
	size_t n = wl_claim(c, WL_PODS, rs, "apps/v1", "ReplicaSet", sel, &pods);
	sel_free(sel);
	size_t na = 0;
	for (size_t i = 0; i < n; i++)
		if (wl_pod_active(pods[i]))
			pods[na++] = pods[i];
	struct rs_state *s = state(r, key, false);
	int rc = 0;
	if (s && s->fresh_err) {
		/* Report the failure now and retry the pods after the queue's back-off. */
		s->fresh_err = false;
		rc = -1;
	} else if (need && !wl_deleting(rs)) {
		manage(r, key, rs, pods, &na);
	}
	int64_t recheck;
	cJSON *status = rs_status(r, rs, pods, na, &recheck);
	wl_write_status(c, WL_RS, rs, status);
	if (recheck >= 0)
		wl_enqueue_after(c, key, (uint64_t)recheck * 1000 + 500);
	free(pods);
	return rc;
}

static void rs_resync(struct wl_ctl *c)
{
	wl_enqueue_all(c, WL_RS);
}

static void rs_free(struct wl_ctl *c)
{
	struct rsc *r = (struct rsc *)c;
	wl_ctl_destroy(c);
	wl_exp_free(&r->exp);
	const char *k;
	void *v;
	for (size_t i = 0; strmap_next(&r->st, &i, &k, &v);) {
		struct rs_state *s = v;
		free(s->err);
		free(s);
	}
	strmap_free(&r->st);
	free(r);
}

struct wl_ctl *wl_replicaset_new(struct wl *w)
{
	struct rsc *r = xcalloc(1, sizeof(*r));
	wl_ctl_init(&r->c, w, "replicaset-controller");
	r->c.sync = rs_sync;
	r->c.resync = rs_resync;
	r->c.free = rs_free;
	struct informer_handlers ph = { on_pod_add, on_pod_update, on_pod_del, NULL, r };
	informer_add_handlers(w->inf[WL_PODS], &ph);
	struct informer_handlers rh = { on_rs_add, on_rs_update, on_rs_del, NULL, r };
	informer_add_handlers(w->inf[WL_RS], &rh);
	return &r->c;
}
