/* statefulset: pods with stable names <set>-<ordinal> and their claims (upstream's
 * StatefulSetController): OrderedReady and Parallel, scale-down from the highest ordinal,
 * RollingUpdate by ordinal with a partition and OnDelete, ControllerRevisions, status. */
#include <stdio.h>
#include <string.h>

#define LOG_TAG "statefulset"
#include "core/controllers/workloads-internal.h"
#include "core/log/log.h"

#define POD_HASH_LABEL "controller-revision-hash"
#define CR_HASH_LABEL "controller.kubernetes.io/hash"
#define POD_NAME_LABEL "statefulset.kubernetes.io/pod-name"
#define POD_INDEX_LABEL "apps.kubernetes.io/pod-index"

struct ss_state {
	int inflight; /* revisions, claims and pod updates */
};

struct ssc {
	struct wl_ctl c;
	struct wl_expect exp; /* pod creates and deletes */
	struct strmap st;     /* key -> struct ss_state* */
};

struct ss_op {
	struct ssc *sc;
	bool tracked; /* counted in inflight */
	char what[128];
	char pod[256];
	char key[];
};

static struct ss_state *state(struct ssc *sc, const char *key)
{
	struct ss_state *s = strmap_get(&sc->st, key);
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		strmap_put(&sc->st, key, s);
	}
	return s;
}

static struct ss_op *new_op(struct ssc *sc, const char *key, bool tracked, const char *pod,
                            const char *what)
{
	size_t n = strlen(key) + 1;
	struct ss_op *op = xcalloc(1, sizeof(*op) + n);
	op->sc = sc;
	op->tracked = tracked;
	memcpy(op->key, key, n);
	snprintf(op->pod, sizeof(op->pod), "%s", pod ? pod : "");
	snprintf(op->what, sizeof(op->what), "%s", what ? what : "");
	if (tracked)
		state(sc, key)->inflight++;
	return op;
}

/* --- identity ----------------------------------------------------------------------------- */

/* The ordinal in a pod's name "<set>-<n>", or -1 when it is not one of set's. */
static int64_t ordinal_of(const char *set, const char *pod)
{
	size_t n = strlen(set);
	if (strncmp(pod, set, n) || pod[n] != '-' || !pod[n + 1])
		return -1;
	uint64_t v;
	if (!parse_u64(pod + n + 1, &v) || v > INT32_MAX)
		return -1;
	/* No leading zeros or signs: "web-01" is not web's pod 1. */
	if (pod[n + 1] == '0' && pod[n + 2])
		return -1;
	return (int64_t)v;
}

static const char *revision_of(const cJSON *pod)
{
	const char *r = wl_label(pod, POD_HASH_LABEL);
	return r ? r : "";
}

static bool terminating(const cJSON *pod)
{
	return wl_deleting(pod);
}

static bool healthy(const cJSON *pod)
{
	return pod && wl_pod_running_ready(pod) && !terminating(pod);
}

static const cJSON *claim_templates(const cJSON *set)
{
	return obj_get(set, "spec.volumeClaimTemplates");
}

static void claim_name(const cJSON *tmpl, const cJSON *set, int64_t ord, char *out, size_t n)
{
	snprintf(out, n, "%s-%s-%lld", wl_str(tmpl, "metadata.name"), wl_str(set, "metadata.name"),
	         (long long)ord);
}

/* The template a revision records (its data without the $patch directive). */
static cJSON *revision_template(const cJSON *cr)
{
	cJSON *t = obj_dup(obj_get(cr, "data.spec.template"));
	if (!t)
		return cJSON_CreateObject();
	cJSON_DeleteItemFromObjectCaseSensitive(t, "$patch");
	return t;
}

/* Upstream's newStatefulSetPod: the template with a stable name, identity labels, hostname and
 * subdomain, and volumes for its claims. */
static cJSON *new_pod(const cJSON *set, const cJSON *tmpl, const char *revision, int64_t ord)
{
	char name[300], idx[24];
	snprintf(name, sizeof(name), "%s-%lld", wl_str(set, "metadata.name"), (long long)ord);
	snprintf(idx, sizeof(idx), "%lld", (long long)ord);
	cJSON *pod = wl_pod_from_template(tmpl, set, "apps/v1", "StatefulSet");
	obj_set_str(pod, "metadata.name", name, NULL);
	wl_set_label(pod, POD_NAME_LABEL, name);
	wl_set_label(pod, POD_INDEX_LABEL, idx);
	wl_set_label(pod, POD_HASH_LABEL, revision);
	cJSON *spec = obj_get_mut(pod, "spec");
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "hostname");
	cJSON_AddStringToObject(spec, "hostname", name);
	const char *svc = wl_str(set, "spec.serviceName");
	if (*svc) {
		cJSON_DeleteItemFromObjectCaseSensitive(spec, "subdomain");
		cJSON_AddStringToObject(spec, "subdomain", svc);
	}
	const cJSON *ct;
	cJSON_ArrayForEach(ct, claim_templates(set))
	{
		char claim[600];
		claim_name(ct, set, ord, claim, sizeof(claim));
		cJSON *vols = cJSON_GetObjectItemCaseSensitive(spec, "volumes");
		if (!cJSON_IsArray(vols)) {
			cJSON_DeleteItemFromObjectCaseSensitive(spec, "volumes");
			vols = cJSON_AddArrayToObject(spec, "volumes");
		}
		for (int i = cJSON_GetArraySize(vols) - 1; i >= 0; i--)
			if (!strcmp(wl_str(cJSON_GetArrayItem(vols, i), "name"),
			            wl_str(ct, "metadata.name")))
				cJSON_DeleteItemFromArray(vols, i);
		cJSON *v = cJSON_CreateObject();
		cJSON_AddStringToObject(v, "name", wl_str(ct, "metadata.name"));
		cJSON_AddStringToObject(cJSON_AddObjectToObject(v, "persistentVolumeClaim"),
		                        "claimName", claim);
		cJSON_AddItemToArray(vols, v);
	}
	return pod;
}

static cJSON *new_claim(const cJSON *set, const cJSON *ct, int64_t ord)
{
	char name[600];
	claim_name(ct, set, ord, name, sizeof(name));
	cJSON *pvc = cJSON_CreateObject();
	cJSON_AddStringToObject(pvc, "apiVersion", "v1");
	cJSON_AddStringToObject(pvc, "kind", "PersistentVolumeClaim");
	cJSON *meta = cJSON_AddObjectToObject(pvc, "metadata");
	cJSON_AddStringToObject(meta, "name", name);
	cJSON_AddStringToObject(meta, "namespace", wl_str(set, "metadata.namespace"));
	const cJSON *l = obj_get(ct, "metadata.labels"), *a = obj_get(ct, "metadata.annotations");
	cJSON_AddItemToObject(meta, "labels",
	                      cJSON_IsObject(l) ? obj_dup(l) : cJSON_CreateObject());
	if (cJSON_IsObject(a))
		cJSON_AddItemToObject(meta, "annotations", obj_dup(a));
	const cJSON *m;
	cJSON_ArrayForEach(m, obj_get(set, "spec.selector.matchLabels"))
	{
		if (cJSON_IsString(m))
			wl_set_label(pvc, m->string, m->valuestring);
	}
	/* Retention policy whenDeleted: Delete hands the claim to the set's garbage collection. */
	if (!strcmp(wl_str(set, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted"), "Delete"))
		cJSON_AddItemToArray(cJSON_AddArrayToObject(meta, "ownerReferences"),
		                     wl_owner_ref(set, "apps/v1", "StatefulSet"));
	const cJSON *spec = obj_get(ct, "spec");
	cJSON_AddItemToObject(pvc, "spec", spec ? obj_dup(spec) : cJSON_CreateObject());
	return pvc;
}

/* --- writes' results ------------------------------------------------------------------------ */

static void op_end(struct wl *w, struct ss_op *op, bool failed)
{
	if (op->tracked) {
		struct ss_state *s = state(op->sc, op->key);
		if (--s->inflight == 0)
			wl_enqueue_after(&op->sc->c, op->key, failed ? 200 : 0);
	} else if (failed) {
		wl_enqueue_after(&op->sc->c, op->key, 200);
	}
}

static void on_pod_created(struct wl *w, void *arg, int code, const char *msg, cJSON *obj)
{
	struct ss_op *op = arg;
	if (!w->stopping) {
		const cJSON *set = wl_get_key(w, WL_STS, op->key);
		const char *sn = set ? wl_str(set, "metadata.name") : "";
		if (code < 300) {
			if (set)
				wl_event(&op->sc->c, set, "Normal", "SuccessfulCreate",
				         "create Pod %s in StatefulSet %s successful", op->pod, sn);
		} else {
			wl_exp_create_failed(&op->sc->exp, op->key, 1);
			if (set && code != 409)
				wl_event(&op->sc->c, set, "Warning", "FailedCreate",
				         "create Pod %s in StatefulSet %s failed error: %s",
				         op->pod, sn, msg);
			op_end(w, op, true);
		}
	}
	free(op);
}

static void on_pod_deleted(struct wl *w, void *arg, int code, const char *msg, cJSON *obj)
{
	struct ss_op *op = arg;
	if (!w->stopping) {
		const cJSON *set = wl_get_key(w, WL_STS, op->key);
		char pk[600];
		snprintf(pk, sizeof(pk), "%s", op->key);
		char *slash = strchr(pk, '/');
		if (slash)
			snprintf(slash + 1, sizeof(pk) - (size_t)(slash + 1 - pk), "%s", op->pod);
		if (code < 300) {
			if (set)
				wl_event(&op->sc->c, set, "Normal", "SuccessfulDelete",
				         "delete Pod %s in StatefulSet %s successful", op->pod,
				         wl_str(set, "metadata.name"));
		} else {
			wl_exp_deleted(&op->sc->exp, op->key, pk);
			if (code != 404 && set)
				wl_event(&op->sc->c, set, "Warning", "FailedDelete",
				         "delete Pod %s in StatefulSet %s failed error: %s",
				         op->pod, wl_str(set, "metadata.name"), msg);
			op_end(w, op, code != 404);
		}
	}
	free(op);
}

static void on_written(struct wl *w, void *arg, int code, const char *msg, cJSON *obj)
{
	struct ss_op *op = arg;
	if (!w->stopping) {
		const cJSON *set = wl_get_key(w, WL_STS, op->key);
		bool ok = code < 300 || (code == 409 && !strcmp(op->what, "claim"));
		if (!strcmp(op->what, "claim") && set && code < 300)
			wl_event(&op->sc->c, set, "Normal", "SuccessfulCreate",
			         "create Claim %s Pod %s in StatefulSet %s success",
			         wl_str(obj, "metadata.name"), op->pod,
			         wl_str(set, "metadata.name"));
		else if (!strcmp(op->what, "claim") && set && !ok)
			wl_event(&op->sc->c, set, "Warning", "FailedCreate",
			         "create Claim for Pod %s in StatefulSet %s failed error: %s",
			         op->pod, wl_str(set, "metadata.name"), msg);
		if (!strcmp(op->what, "revision") && code == 409 && set) {
			/* A revision of this name with other data: bump the collision count. */
			cJSON *cr = client_get(w->c, w->kind[WL_CR],
			                       wl_str(set, "metadata.namespace"), op->pod);
			cJSON *want = wl_history_patch(set);
			if (cr && !obj_equal(obj_get(cr, "data"), want)) {
				cJSON *p = cJSON_CreateObject();
				cJSON_AddNumberToObject(
				    cJSON_AddObjectToObject(p, "status"), "collisionCount",
				    (double)(wl_int(set, "status.collisionCount", 0) + 1));
				wl_patch(w, WL_STS, wl_str(set, "metadata.namespace"),
				         wl_str(set, "metadata.name"), "status", p, NULL, NULL);
			}
			cJSON_Delete(want);
			cJSON_Delete(cr);
		}
		if (!ok)
			log_debug("%s: %s write failed (%d): %s", op->key, op->what, code, msg);
		op_end(w, op, !ok);
	}
	free(op);
}

/* --- revisions ---------------------------------------------------------------------------- */

static int by_revision(const void *pa, const void *pb)
{
	const cJSON *a = *(const cJSON *const *)pa, *b = *(const cJSON *const *)pb;
	int64_t ra = wl_int(a, "revision", 0), rb = wl_int(b, "revision", 0);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	return strcmp(wl_str(a, "metadata.name"), wl_str(b, "metadata.name"));
}

/*
 * Upstream's getStatefulSetRevisions: the update revision is the one whose data is the
 * current template (created, or raised to the newest number when rolled back to); the
 * current revision is status.currentRevision, or the update revision at first. Returns false
 * while a write must finish first.
 */
static bool revisions(struct ssc *sc, const char *key, const cJSON *set, const cJSON **crs,
                      size_t n, const cJSON **cur, const cJSON **upd)
{
	struct wl *w = sc->c.w;
	qsort(crs, n, sizeof(*crs), by_revision);
	cJSON *data = wl_history_patch(set);
	int64_t next = n ? wl_int(crs[n - 1], "revision", 0) + 1 : 1;
	const cJSON *equal = NULL;
	for (size_t i = 0; i < n; i++)
		if (obj_equal(obj_get(crs[i], "data"), data))
			equal = crs[i];
	*cur = *upd = NULL;
	bool ready = true;
	if (equal && equal == crs[n - 1]) {
		*upd = equal;
	} else if (equal) {
		cJSON *up = obj_dup(equal);
		obj_set_i64(up, "revision", next, NULL);
		wl_update(w, WL_CR, NULL, up, on_written, new_op(sc, key, true, NULL, "revision"));
		ready = false;
	} else {
		char hash[16], name[320];
		wl_hash(data, wl_int(set, "status.collisionCount", -1), hash);
		snprintf(name, sizeof(name), "%s-%s", wl_str(set, "metadata.name"), hash);
		cJSON *cr = cJSON_CreateObject();
		cJSON_AddStringToObject(cr, "apiVersion", "apps/v1");
		cJSON_AddStringToObject(cr, "kind", "ControllerRevision");
		cJSON *meta = cJSON_AddObjectToObject(cr, "metadata");
		cJSON_AddStringToObject(meta, "name", name);
		cJSON_AddStringToObject(meta, "namespace", wl_str(set, "metadata.namespace"));
		const cJSON *tl = obj_get(set, "spec.template.metadata.labels");
		cJSON_AddItemToObject(meta, "labels",
		                      cJSON_IsObject(tl) ? obj_dup(tl) : cJSON_CreateObject());
		cJSON_AddItemToArray(cJSON_AddArrayToObject(meta, "ownerReferences"),
		                     wl_owner_ref(set, "apps/v1", "StatefulSet"));
		wl_set_label(cr, CR_HASH_LABEL, hash);
		cJSON_AddItemToObject(cr, "data", data);
		data = NULL;
		cJSON_AddNumberToObject(cr, "revision", (double)next);
		wl_create(w, WL_CR, wl_str(set, "metadata.namespace"), cr, on_written,
		          new_op(sc, key, true, name, "revision"));
		ready = false;
	}
	cJSON_Delete(data);
	if (!ready)
		return false;
	const char *cname = wl_str(set, "status.currentRevision");
	for (size_t i = 0; i < n; i++)
		if (!strcmp(wl_str(crs[i], "metadata.name"), cname))
			*cur = crs[i];
	if (!*cur)
		*cur = *upd;
	return true;
}

/* Old revisions that no pod runs, beyond revisionHistoryLimit, go (oldest first). */
static void truncate_history(struct ssc *sc, const char *key, const cJSON *set, const cJSON **crs,
                             size_t n, const cJSON *cur, const cJSON *upd, const cJSON **pods,
                             size_t npods)
{
	int64_t limit = wl_int(set, "spec.revisionHistoryLimit", 10);
	const cJSON **old = xmalloc((n + 1) * sizeof(*old));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *name = wl_str(crs[i], "metadata.name");
		bool live = crs[i] == cur || crs[i] == upd;
		for (size_t p = 0; p < npods && !live; p++)
			live = !strcmp(revision_of(pods[p]), name);
		if (!live)
			old[k++] = crs[i];
	}
	for (size_t i = 0; (int64_t)(k - i) > limit; i++)
		wl_delete(sc->c.w, WL_CR, wl_str(set, "metadata.namespace"),
		          wl_str(old[i], "metadata.name"), wl_str(old[i], "metadata.uid"), NULL,
		          on_written, new_op(sc, key, true, NULL, "history"));
	free(old);
}

/* --- sync ---------------------------------------------------------------------------------------- */

struct ss_sync {
	struct ssc *sc;
	struct wl *w;
	const char *key;
	const cJSON *set;
	const cJSON *cur, *upd;
	cJSON *cur_tmpl, *upd_tmpl;
	int64_t start, count, partition, mrs, now;
	bool monotonic, rolling;
	/* Pod writes decided by this sync; they go out after the expectations are set. */
	cJSON **creates;
	size_t ncreate;
	const cJSON **deletes;
	size_t ndelete;
};

static void missing_claims(struct ss_sync *x, int64_t ord, const char *pod)
{
	const cJSON *ct;
	cJSON_ArrayForEach(ct, claim_templates(x->set))
	{
		char name[600];
		claim_name(ct, x->set, ord, name, sizeof(name));
		if (wl_get(x->w, WL_PVCS, wl_str(x->set, "metadata.namespace"), name))
			continue;
		wl_create(x->w, WL_PVCS, wl_str(x->set, "metadata.namespace"),
		          new_claim(x->set, ct, ord), on_written,
		          new_op(x->sc, x->key, true, pod, "claim"));
	}
}

static void create_pod(struct ss_sync *x, int64_t ord)
{
	/* Below the partition (or, without one, below currentReplicas) pods keep the current
	 * revision; the others get the update revision. */
	bool current = false;
	if (x->rolling) {
		const cJSON *ru = obj_get(x->set, "spec.updateStrategy.rollingUpdate");
		if (ru && obj_child(ru, "partition"))
			current = ord < x->start + x->partition;
		else if (!ru)
			current = ord < x->start + wl_int(x->set, "status.currentReplicas", 0);
	}
	const cJSON *rev = current ? x->cur : x->upd;
	cJSON *pod =
	    new_pod(x->set, current ? x->cur_tmpl : x->upd_tmpl, wl_str(rev, "metadata.name"), ord);
	missing_claims(x, ord, wl_str(pod, "metadata.name"));
	x->creates = xrealloc(x->creates, (x->ncreate + 1) * sizeof(*x->creates));
	x->creates[x->ncreate++] = pod;
}

static void delete_pod(struct ss_sync *x, const cJSON *pod)
{
	/* Retention policy whenScaled: Delete: a condemned pod's claims go with it. */
	int64_t ord = ordinal_of(wl_str(x->set, "metadata.name"), wl_str(pod, "metadata.name"));
	if (ord >= x->start + x->count &&
	    !strcmp(wl_str(x->set, "spec.persistentVolumeClaimRetentionPolicy.whenScaled"),
	            "Delete")) {
		const cJSON *ct;
		cJSON_ArrayForEach(ct, claim_templates(x->set))
		{
			char name[600];
			claim_name(ct, x->set, ord, name, sizeof(name));
			const cJSON *pvc =
			    wl_get(x->w, WL_PVCS, wl_str(x->set, "metadata.namespace"), name);
			if (!pvc)
				continue;
			cJSON *up = obj_dup(pvc);
			cJSON *ref = wl_owner_ref(pod, "v1", "Pod");
			cJSON_DeleteItemFromObjectCaseSensitive(ref, "controller");
			cJSON_AddBoolToObject(ref, "controller", false);
			cJSON *refs = obj_get_mut(up, "metadata.ownerReferences");
			if (!cJSON_IsArray(refs)) {
				obj_set(up, "metadata.ownerReferences", cJSON_CreateArray(), NULL);
				refs = obj_get_mut(up, "metadata.ownerReferences");
			}
			cJSON_AddItemToArray(refs, ref);
			wl_update(x->w, WL_PVCS, NULL, up, on_written,
			          new_op(x->sc, x->key, true, NULL, "claim owner"));
		}
	}
	x->deletes = xrealloc(x->deletes, (x->ndelete + 1) * sizeof(*x->deletes));
	x->deletes[x->ndelete++] = pod;
}

/* Sends the pod writes update_pods decided, after setting the expectations they fulfil. */
static void send_pod_writes(struct ss_sync *x)
{
	char **keys = xcalloc(x->ndelete + 1, sizeof(*keys));
	for (size_t i = 0; i < x->ndelete; i++) {
		char pk[600];
		wl_key(x->deletes[i], pk, sizeof(pk));
		keys[i] = xstrdup(pk);
	}
	wl_exp_expect(&x->sc->exp, x->key, (int)x->ncreate, (const char *const *)keys, x->ndelete,
	              loop_now_ms(x->w->loop));
	const char *ns = wl_str(x->set, "metadata.namespace");
	for (size_t i = 0; i < x->ncreate; i++) {
		char name[300];
		snprintf(name, sizeof(name), "%s", wl_str(x->creates[i], "metadata.name"));
		wl_create(x->w, WL_PODS, ns, x->creates[i], on_pod_created,
		          new_op(x->sc, x->key, false, name, NULL));
	}
	for (size_t i = 0; i < x->ndelete; i++) {
		const cJSON *pod = x->deletes[i];
		wl_delete(x->w, WL_PODS, ns, wl_str(pod, "metadata.name"),
		          wl_str(pod, "metadata.uid"), NULL, on_pod_deleted,
		          new_op(x->sc, x->key, false, wl_str(pod, "metadata.name"), NULL));
		free(keys[i]);
	}
	free(keys);
}

static int by_ordinal_desc(const void *pa, const void *pb, void *arg)
{
	const char *set = arg;
	int64_t a = ordinal_of(set, wl_str(*(const cJSON *const *)pa, "metadata.name"));
	int64_t b = ordinal_of(set, wl_str(*(const cJSON *const *)pb, "metadata.name"));
	return a > b ? -1 : a < b ? 1 : 0;
}

/* The pod lifecycle of upstream's updateStatefulSet, in order: replace failed pods, create
 * missing ones, remove condemned ones from the top, then update by ordinal from the top down
 * to the partition. OrderedReady stops at the first pod that is not yet Running and Ready. */
static void update_pods(struct ss_sync *x, const cJSON **replicas, const cJSON **condemned,
                        size_t ncond)
{
	const char *setname = wl_str(x->set, "metadata.name");
	const cJSON *first_unhealthy = NULL;
	bool first_is_missing = false;
	for (int64_t i = 0; i < x->count && !first_unhealthy && !first_is_missing; i++) {
		if (!replicas[i])
			first_is_missing = true;
		else if (!healthy(replicas[i]))
			first_unhealthy = replicas[i];
	}
	qsort_r(condemned, ncond, sizeof(*condemned), by_ordinal_desc, (void *)setname);
	for (size_t i = 0; i < ncond && !first_unhealthy && !first_is_missing; i++)
		if (!healthy(condemned[i]))
			first_unhealthy = condemned[i];

	for (int64_t i = 0; i < x->count; i++) {
		const cJSON *pod = replicas[i];
		if (pod && !strcmp(wl_str(pod, "status.phase"), "Failed") && !terminating(pod)) {
			wl_event(&x->sc->c, x->set, "Warning", "RecreatingFailedPod",
			         "StatefulSet %s/%s is recreating failed Pod %s",
			         wl_str(x->set, "metadata.namespace"), setname,
			         wl_str(pod, "metadata.name"));
			delete_pod(x, pod);
			if (x->monotonic)
				return;
			continue;
		}
		if (!pod) {
			create_pod(x, x->start + i);
			if (x->monotonic)
				return;
			continue;
		}
		if (!strcmp(wl_str(pod, "status.phase"), "Pending"))
			missing_claims(x, x->start + i, wl_str(pod, "metadata.name"));
		if (x->monotonic && (terminating(pod) || !wl_pod_running_ready(pod) ||
		                     !wl_pod_available(pod, x->mrs, x->now)))
			return;
		/* Identity labels someone removed come back. */
		char idx[24];
		snprintf(idx, sizeof(idx), "%lld", (long long)(x->start + i));
		const char *pn = wl_label(pod, POD_NAME_LABEL),
		           *pi = wl_label(pod, POD_INDEX_LABEL);
		if (!terminating(pod) &&
		    (!pn || strcmp(pn, wl_str(pod, "metadata.name")) || !pi || strcmp(pi, idx))) {
			cJSON *up = obj_dup(pod);
			wl_set_label(up, POD_NAME_LABEL, wl_str(pod, "metadata.name"));
			wl_set_label(up, POD_INDEX_LABEL, idx);
			wl_update(x->w, WL_PODS, NULL, up, on_written,
			          new_op(x->sc, x->key, true, NULL, "pod identity"));
		}
	}
	for (size_t i = 0; i < ncond; i++) {
		const cJSON *pod = condemned[i];
		if (terminating(pod)) {
			if (x->monotonic)
				return;
			continue;
		}
		if (x->monotonic && pod != first_unhealthy &&
		    (!wl_pod_running_ready(pod) || !wl_pod_available(pod, x->mrs, x->now)))
			return;
		delete_pod(x, pod);
		if (x->monotonic)
			return;
	}
	if (!x->rolling)
		return; /* OnDelete: pods change when someone deletes them */
	const char *upd = wl_str(x->upd, "metadata.name");
	for (int64_t t = x->count - 1; t >= x->partition; t--) {
		const cJSON *pod = replicas[t];
		if (!pod)
			return;
		if (strcmp(revision_of(pod), upd) && !terminating(pod)) {
			delete_pod(x, pod);
			return;
		}
		if (!healthy(pod))
			return;
	}
}

static cJSON *ss_status(struct ss_sync *x, const cJSON **pods, size_t n, int64_t *recheck)
{
	int64_t created = 0, ready = 0, avail = 0, current = 0, updated = 0;
	const char *cur = wl_str(x->cur, "metadata.name"), *upd = wl_str(x->upd, "metadata.name");
	*recheck = -1;
	for (size_t i = 0; i < n; i++) {
		const cJSON *p = pods[i];
		created++;
		if (wl_pod_running_ready(p)) {
			ready++;
			if (wl_pod_available(p, x->mrs, x->now)) {
				avail++;
			} else {
				int64_t t = wl_pod_until_available(p, x->mrs, x->now);
				if (t >= 0 && (*recheck < 0 || t < *recheck))
					*recheck = t;
			}
		}
		if (!terminating(p)) {
			if (!strcmp(revision_of(p), cur))
				current++;
			if (!strcmp(revision_of(p), upd))
				updated++;
		}
	}
	int64_t want = wl_int(x->set, "spec.replicas", 1);
	/* A finished rolling update makes the update revision the current one. */
	if (x->rolling && updated == want && ready == want) {
		cur = upd;
		current = updated;
	}
	cJSON *st = cJSON_CreateObject();
	int64_t gen = wl_int(x->set, "metadata.generation", 0);
	if (gen)
		cJSON_AddNumberToObject(st, "observedGeneration", (double)gen);
	cJSON_AddNumberToObject(st, "replicas", (double)created);
	if (ready)
		cJSON_AddNumberToObject(st, "readyReplicas", (double)ready);
	if (current)
		cJSON_AddNumberToObject(st, "currentReplicas", (double)current);
	if (updated)
		cJSON_AddNumberToObject(st, "updatedReplicas", (double)updated);
	if (*cur)
		cJSON_AddStringToObject(st, "currentRevision", cur);
	if (*upd)
		cJSON_AddStringToObject(st, "updateRevision", upd);
	const cJSON *cc = obj_get(x->set, "status.collisionCount");
	cJSON_AddNumberToObject(st, "collisionCount", cJSON_IsNumber(cc) ? cc->valuedouble : 0);
	cJSON_AddNumberToObject(st, "availableReplicas", (double)avail);
	const cJSON *conds = obj_get(x->set, "status.conditions");
	if (conds)
		cJSON_AddItemToObject(st, "conditions", obj_dup(conds));
	return st;
}

static int ss_sync(struct wl_ctl *c, const char *key)
{
	struct ssc *sc = (struct ssc *)c;
	struct wl *w = c->w;
	const cJSON *set = wl_get_key(w, WL_STS, key);
	if (!set) {
		wl_exp_forget(&sc->exp, key);
		free(strmap_del(&sc->st, key));
		return 0;
	}
	if (state(sc, key)->inflight || wl_stale(w, WL_STS, set))
		return 0;
	struct sel *sel = wl_selector(set, "spec.selector");
	if (!sel || sel_is_everything(sel)) {
		sel_free(sel);
		return 0;
	}
	const cJSON **crs, **claimed;
	size_t ncr = wl_claim(c, WL_CR, set, "apps/v1", "StatefulSet", sel, &crs);
	struct ss_sync x = { .sc = sc, .w = w, .key = key, .set = set };
	if (!revisions(sc, key, set, crs, ncr, &x.cur, &x.upd)) {
		sel_free(sel);
		free(crs);
		return 0;
	}
	size_t nclaimed = wl_claim(c, WL_PODS, set, "apps/v1", "StatefulSet", sel, &claimed);
	sel_free(sel);
	const char *setname = wl_str(set, "metadata.name");
	x.start = wl_int(set, "spec.ordinals.start", 0);
	x.count = wl_int(set, "spec.replicas", 1);
	x.partition = wl_int(set, "spec.updateStrategy.rollingUpdate.partition", 0);
	x.mrs = wl_int(set, "spec.minReadySeconds", 0);
	x.now = wl_now_s(w);
	x.monotonic = strcmp(wl_str(set, "spec.podManagementPolicy"), "Parallel") != 0;
	x.rolling = !strcmp(wl_str(set, "spec.updateStrategy.type"), "RollingUpdate");
	x.cur_tmpl = revision_template(x.cur);
	x.upd_tmpl = revision_template(x.upd);
	const cJSON **replicas = xcalloc((size_t)MAX(x.count, 1), sizeof(*replicas));
	const cJSON **condemned = xmalloc((nclaimed + 1) * sizeof(*condemned));
	const cJSON **pods = xmalloc((nclaimed + 1) * sizeof(*pods));
	size_t ncond = 0, npods = 0;
	for (size_t i = 0; i < nclaimed; i++) {
		int64_t ord = ordinal_of(setname, wl_str(claimed[i], "metadata.name"));
		if (ord < 0)
			continue; /* not one of ours by name */
		pods[npods++] = claimed[i];
		if (ord >= x.start && ord < x.start + x.count)
			replicas[ord - x.start] = claimed[i];
		else
			condemned[ncond++] = claimed[i];
	}
	if (!wl_deleting(set) && wl_exp_satisfied(&sc->exp, key, loop_now_ms(w->loop))) {
		update_pods(&x, replicas, condemned, ncond);
		if (x.ncreate || x.ndelete)
			send_pod_writes(&x);
	}
	truncate_history(sc, key, set, crs, ncr, x.cur, x.upd, pods, npods);
	int64_t recheck;
	wl_write_status(c, WL_STS, set, ss_status(&x, pods, npods, &recheck));
	if (recheck >= 0)
		wl_enqueue_after(c, key, (uint64_t)recheck * 1000 + 500);
	free(x.creates);
	free(x.deletes);
	cJSON_Delete(x.cur_tmpl);
	cJSON_Delete(x.upd_tmpl);
	free(replicas);
	free(condemned);
	free(pods);
	free(claimed);
	free(crs);
	return 0;
}

/* --- informer handlers ------------------------------------------------------------------------ */

static const cJSON *pod_owner(struct ssc *sc, const cJSON *pod)
{
	return wl_resolve_owner(sc->c.w, WL_STS, "StatefulSet", pod);
}

static void pod_gone(struct ssc *sc, const cJSON *pod)
{
	const cJSON *set = pod_owner(sc, pod);
	if (!set)
		return;
	char key[512], pk[512];
	wl_key(set, key, sizeof(key));
	wl_key(pod, pk, sizeof(pk));
	wl_exp_deleted(&sc->exp, key, pk);
	wl_enqueue_key(&sc->c, key);
}

static void enqueue_selecting(struct ssc *sc, const cJSON *pod)
{
	const cJSON **v;
	size_t n = wl_selecting(sc->c.w, WL_STS, wl_str(pod, "metadata.namespace"), "spec.selector",
	                        obj_get(pod, "metadata.labels"), &v);
	for (size_t i = 0; i < n; i++)
		wl_enqueue(&sc->c, v[i]);
	free(v);
}

static void on_pod_add(void *arg, const cJSON *pod)
{
	struct ssc *sc = arg;
	if (wl_deleting(pod)) {
		pod_gone(sc, pod);
		return;
	}
	const cJSON *set = pod_owner(sc, pod);
	if (set) {
		char key[512];
		wl_key(set, key, sizeof(key));
		wl_exp_created(&sc->exp, key);
		wl_enqueue_key(&sc->c, key);
	} else if (!wl_controller_ref(pod)) {
		enqueue_selecting(sc, pod);
	}
}

static void on_pod_update(void *arg, const cJSON *old, const cJSON *cur)
{
	struct ssc *sc = arg;
	if (wl_deleting(cur) && !wl_deleting(old)) {
		pod_gone(sc, cur);
		return;
	}
	const cJSON *oset = pod_owner(sc, old), *set = pod_owner(sc, cur);
	if (oset && oset != set)
		wl_enqueue(&sc->c, oset);
	if (set) {
		wl_enqueue(&sc->c, set);
		int64_t mrs = wl_int(set, "spec.minReadySeconds", 0);
		if (mrs > 0 && !wl_pod_ready(old) && wl_pod_ready(cur)) {
			char key[512];
			wl_key(set, key, sizeof(key));
			wl_enqueue_after(&sc->c, key, (uint64_t)mrs * 1000 + 1000);
		}
	} else if (!wl_controller_ref(cur)) {
		enqueue_selecting(sc, cur);
	}
}

static void on_pod_del(void *arg, const cJSON *pod)
{
	pod_gone(arg, pod);
}

static void on_set(void *arg, const cJSON *set)
{
	wl_enqueue(arg, set);
}

static void on_set_update(void *arg, const cJSON *old, const cJSON *set)
{
	wl_enqueue(arg, set);
}

static void on_cr(void *arg, const cJSON *cr)
{
	struct ssc *sc = arg;
	const cJSON *set = wl_resolve_owner(sc->c.w, WL_STS, "StatefulSet", cr);
	if (set)
		wl_enqueue(&sc->c, set);
}

static void on_cr_update(void *arg, const cJSON *old, const cJSON *cr)
{
	on_cr(arg, cr);
}

static void ss_resync(struct wl_ctl *c)
{
	wl_enqueue_all(c, WL_STS);
}

static void ss_free(struct wl_ctl *c)
{
	struct ssc *sc = (struct ssc *)c;
	wl_ctl_destroy(c);
	wl_exp_free(&sc->exp);
	const char *k;
	void *v;
	for (size_t i = 0; strmap_next(&sc->st, &i, &k, &v);)
		free(v);
	strmap_free(&sc->st);
	free(sc);
}

struct wl_ctl *wl_statefulset_new(struct wl *w)
{
	struct ssc *sc = xcalloc(1, sizeof(*sc));
	wl_ctl_init(&sc->c, w, "statefulset-controller");
	sc->c.sync = ss_sync;
	sc->c.resync = ss_resync;
	sc->c.free = ss_free;
	struct informer_handlers sh = { on_set, on_set_update, on_set, NULL, sc };
	informer_add_handlers(w->inf[WL_STS], &sh);
	struct informer_handlers ph = { on_pod_add, on_pod_update, on_pod_del, NULL, sc };
	informer_add_handlers(w->inf[WL_PODS], &ph);
	struct informer_handlers ch = { on_cr, on_cr_update, on_cr, NULL, sc };
	informer_add_handlers(w->inf[WL_CR], &ch);
	return &sc->c;
}
