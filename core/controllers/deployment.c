/* deployment: rolls a Deployment's pod template out through one ReplicaSet per template
 * (upstream's DeploymentController): RollingUpdate and Recreate, proportional scaling,
 * revisions for kubectl rollout history/undo, pause, progress deadlines, status. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#define LOG_TAG "deployment"
#include "core/controllers/workloads-internal.h"
#include "core/log/log.h"

#define HASH_LABEL "pod-template-hash"
#define A_REVISION "deployment.kubernetes.io/revision"
#define A_HISTORY "deployment.kubernetes.io/revision-history"
#define A_DESIRED "deployment.kubernetes.io/desired-replicas"
#define A_MAX "deployment.kubernetes.io/max-replicas"
#define MAX_HISTORY_CHARS 2000

/* Annotations a Deployment does not hand down to its ReplicaSets. */
static const char *const skipped_annotations[] = {
	"kubectl.kubernetes.io/last-applied-configuration",
	A_REVISION,
	A_HISTORY,
	A_DESIRED,
	A_MAX,
	"deprecated.deployment.rollback.to",
	NULL,
};

struct d_state {
	int inflight; /* writes of the last sync still running: the next sync waits for them */
	int fails;
};

struct dc {
	struct wl_ctl c;
	struct strmap st; /* key -> struct d_state* */
};

/* A ReplicaSet as one sync sees it and changes it. */
struct rsx {
	const cJSON *cached; /* NULL when created by this sync */
	cJSON *obj;          /* our copy, with this sync's changes */
	bool dirty;
	int64_t from; /* spec.replicas before this sync */
	bool to_delete;
};

struct dsync {
	struct dc *dc;
	struct wl *w;
	char key[512];
	const cJSON *d;
	cJSON *status;      /* conditions and collisionCount as this sync leaves them */
	cJSON *annotations; /* of the deployment, to patch (NULL: unchanged) */
	struct rsx *rs;
	size_t nrs;
	struct rsx *new_rs;
	int64_t replicas;
	int64_t now;
};

enum op_kind { OP_RS_UPDATE, OP_RS_CREATE, OP_RS_DELETE, OP_D_PATCH };

struct d_op {
	struct dc *dc;
	enum op_kind kind;
	int64_t from, to;
	char rs[256];
	char key[512];
};

static struct d_state *state(struct dc *dc, const char *key)
{
	struct d_state *s = strmap_get(&dc->st, key);
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		strmap_put(&dc->st, key, s);
	}
	return s;
}

/* --- ReplicaSet helpers ------------------------------------------------------------------ */

static int64_t replicas_of(const struct rsx *x)
{
	return wl_int(x->obj, "spec.replicas", 1);
}

static int64_t avail_of(const struct rsx *x)
{
	return wl_int(x->obj, "status.availableReplicas", 0);
}

/* Available pods as far as scaling down may count on them: never more than the ReplicaSet is
 * asked to keep (its status lags behind a scale-down we just made). */
static int64_t safe_avail(const struct rsx *x)
{
	return MIN(avail_of(x), replicas_of(x));
}

static const char *annotation(const cJSON *obj, const char *key)
{
	const cJSON *v = obj_child(obj_get(obj, "metadata.annotations"), key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t revision_of(const cJSON *rs)
{
	const char *r = annotation(rs, A_REVISION);
	return r ? strtoll(r, NULL, 10) : 0;
}

static int cmp_created(const struct rsx *a, const struct rsx *b)
{
	int64_t ta = wl_time(a->obj, "metadata.creationTimestamp", INT64_MAX);
	int64_t tb = wl_time(b->obj, "metadata.creationTimestamp", INT64_MAX);
	if (ta != tb)
		return ta < tb ? -1 : 1;
	return strcmp(wl_str(a->obj, "metadata.name"), wl_str(b->obj, "metadata.name"));
}

static int by_created(const void *pa, const void *pb)
{
	return cmp_created(*(struct rsx *const *)pa, *(struct rsx *const *)pb);
}

static int by_size_older(const void *pa, const void *pb)
{
	const struct rsx *a = *(struct rsx *const *)pa, *b = *(struct rsx *const *)pb;
	if (replicas_of(a) != replicas_of(b))
		return replicas_of(a) > replicas_of(b) ? -1 : 1;
	return cmp_created(a, b);
}

static int by_size_newer(const void *pa, const void *pb)
{
	const struct rsx *a = *(struct rsx *const *)pa, *b = *(struct rsx *const *)pb;
	if (replicas_of(a) != replicas_of(b))
		return replicas_of(a) > replicas_of(b) ? -1 : 1;
	return -cmp_created(a, b);
}

static int by_revision(const void *pa, const void *pb)
{
	const struct rsx *a = *(struct rsx *const *)pa, *b = *(struct rsx *const *)pb;
	int64_t ra = revision_of(a->obj), rb = revision_of(b->obj);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	return cmp_created(a, b);
}

/* Old sets (all but the new one), in creation order; active: only those with replicas. */
static size_t old_sets(struct dsync *s, bool active, struct rsx ***out)
{
	struct rsx **v = xmalloc((s->nrs + 1) * sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < s->nrs; i++) {
		struct rsx *x = &s->rs[i];
		if (x == s->new_rs || x->to_delete || (active && replicas_of(x) == 0))
			continue;
		v[n++] = x;
	}
	qsort(v, n, sizeof(*v), by_created);
	*out = v;
	return n;
}

static int64_t sum_replicas(struct dsync *s)
{
	int64_t n = 0;
	for (size_t i = 0; i < s->nrs; i++)
		n += replicas_of(&s->rs[i]);
	return n;
}

static bool tmpl_equal_ignore_hash(const cJSON *a, const cJSON *b)
{
	cJSON *x = obj_dup(a), *y = obj_dup(b);
	obj_delete(x, "metadata.labels." HASH_LABEL);
	obj_delete(y, "metadata.labels." HASH_LABEL);
	bool eq = obj_equal(x, y);
	cJSON_Delete(x);
	cJSON_Delete(y);
	return eq;
}

/* --- the deployment's numbers --------------------------------------------------------------- */

static bool rolling(const cJSON *d)
{
	return !strcmp(wl_str(d, "spec.strategy.type"), "RollingUpdate");
}

static void fenceposts(const cJSON *d, int64_t replicas, int64_t *surge, int64_t *unavail)
{
	const cJSON *ru = obj_get(d, "spec.strategy.rollingUpdate");
	*surge = wl_int_or_percent(obj_child(ru, "maxSurge"), replicas, true, 0);
	*unavail = wl_int_or_percent(obj_child(ru, "maxUnavailable"), replicas, false, 0);
	if (*surge == 0 && *unavail == 0)
		*unavail = 1; /* rounding down made both zero: let one go, as upstream */
}

static int64_t max_unavailable(const cJSON *d, int64_t replicas)
{
	int64_t s, u;
	if (!rolling(d) || replicas == 0)
		return 0;
	fenceposts(d, replicas, &s, &u);
	return MIN(u, replicas);
}

static int64_t max_surge(const cJSON *d, int64_t replicas)
{
	int64_t s, u;
	if (!rolling(d))
		return 0;
	fenceposts(d, replicas, &s, &u);
	return s;
}

static bool has_deadline(const cJSON *d)
{
	int64_t p = wl_int(d, "spec.progressDeadlineSeconds", -1);
	return p >= 0 && p != INT32_MAX;
}

/* --- scaling ReplicaSets (in memory; written when the sync ends) ------------------------------ */

static bool set_replicas_annotations(cJSON *rs, int64_t desired, int64_t max)
{
	char a[32], b[32];
	snprintf(a, sizeof(a), "%lld", (long long)desired);
	snprintf(b, sizeof(b), "%lld", (long long)max);
	bool changed = false;
	const char *cur = annotation(rs, A_DESIRED);
	if (!cur || strcmp(cur, a)) {
		wl_set_annotation(rs, A_DESIRED, a);
		changed = true;
	}
	cur = annotation(rs, A_MAX);
	if (!cur || strcmp(cur, b)) {
		wl_set_annotation(rs, A_MAX, b);
		changed = true;
	}
	return changed;
}

/* Scales x to n (and refreshes its replica annotations). True if its size changed. */
static bool scale_rs(struct dsync *s, struct rsx *x, int64_t n)
{
	bool resized = replicas_of(x) != n;
	int64_t surge = max_surge(s->d, s->replicas);
	if (resized) {
		cJSON *spec = obj_get_mut(x->obj, "spec");
		cJSON_DeleteItemFromObjectCaseSensitive(spec, "replicas");
		cJSON_AddNumberToObject(spec, "replicas", (double)n);
		x->dirty = true;
	}
	if (set_replicas_annotations(x->obj, s->replicas, s->replicas + surge))
		x->dirty = true;
	return resized;
}

/* --- revisions ------------------------------------------------------------------------------- */

static bool skipped(const char *key)
{
	for (int i = 0; skipped_annotations[i]; i++)
		if (!strcmp(skipped_annotations[i], key))
			return true;
	return false;
}

/* Upstream's SetNewReplicaSetAnnotations: the deployment's annotations, the new revision
 * (remembering the old one in revision-history when it was an older revision rolled back to),
 * and for a set about to be created the replica annotations. */
static bool set_new_rs_annotations(struct dsync *s, cJSON *rs, int64_t new_rev, bool exists)
{
	bool changed = false;
	const cJSON *a;
	cJSON_ArrayForEach(a, obj_get(s->d, "metadata.annotations"))
	{
		if (!cJSON_IsString(a) || skipped(a->string))
			continue;
		const char *cur = annotation(rs, a->string);
		if (cur && !strcmp(cur, a->valuestring))
			continue;
		wl_set_annotation(rs, a->string, a->valuestring);
		changed = true;
	}
	const char *old = annotation(rs, A_REVISION);
	char oldrev[32] = "";
	if (old)
		snprintf(oldrev, sizeof(oldrev), "%s", old);
	int64_t old_rev = old ? strtoll(old, NULL, 10) : 0;
	if (old_rev < new_rev) {
		char nr[32];
		snprintf(nr, sizeof(nr), "%lld", (long long)new_rev);
		wl_set_annotation(rs, A_REVISION, nr);
		changed = true;
		if (old && *oldrev) {
			const char *hist = annotation(rs, A_HISTORY);
			struct buf b = { 0 };
			if (hist && *hist) {
				/* Drop the oldest entries until the list fits. */
				const char *h = hist;
				while (strlen(h) + strlen(oldrev) + 1 > MAX_HISTORY_CHARS) {
					const char *comma = strchr(h, ',');
					if (!comma) {
						h = "";
						break;
					}
					h = comma + 1;
				}
				if (*h)
					buf_printf(&b, "%s,", h);
			}
			buf_adds(&b, oldrev);
			wl_set_annotation(rs, A_HISTORY, b.data);
			buf_free(&b);
		}
	}
	if (!exists &&
	    set_replicas_annotations(rs, s->replicas, s->replicas + max_surge(s->d, s->replicas)))
		changed = true;
	return changed;
}

static void set_deployment_annotation(struct dsync *s, const char *key, const char *val)
{
	const char *cur = annotation(s->d, key);
	if (cur && !strcmp(cur, val))
		return;
	if (!s->annotations)
		s->annotations = cJSON_CreateObject();
	cJSON_DeleteItemFromObjectCaseSensitive(s->annotations, key);
	cJSON_AddStringToObject(s->annotations, key, val);
}

static int64_t new_rs_new_replicas(struct dsync *s, struct rsx *nrs)
{
	if (!rolling(s->d))
		return s->replicas;
	const cJSON *ru = obj_get(s->d, "spec.strategy.rollingUpdate");
	int64_t surge = wl_int_or_percent(obj_child(ru, "maxSurge"), s->replicas, true, 0);
	int64_t current = sum_replicas(s), max_total = s->replicas + surge;
	if (current >= max_total)
		return replicas_of(nrs);
	int64_t up = MIN(max_total - current, s->replicas - replicas_of(nrs));
	return replicas_of(nrs) + up;
}

static void progressing(struct dsync *s, const char *cstatus, const char *reason, const char *fmt,
                        const char *name)
{
	char msg[512];
	snprintf(msg, sizeof(msg), fmt, name);
	wl_cond_set(s->status, "Progressing", cstatus, reason, msg, s->now, true);
}

/* Upstream's getAllReplicaSetsAndSyncRevision: finds the ReplicaSet of the current template,
 * brings its revision up to date, or (create) makes it. */
static struct rsx *sync_revision(struct dsync *s, bool create)
{
	int64_t max_old = 0;
	for (size_t i = 0; i < s->nrs; i++)
		if (&s->rs[i] != s->new_rs && revision_of(s->rs[i].obj) > max_old)
			max_old = revision_of(s->rs[i].obj);
	int64_t new_rev = max_old + 1;
	struct rsx *x = s->new_rs;
	if (x) {
		if (set_new_rs_annotations(s, x->obj, new_rev, true))
			x->dirty = true;
		int64_t mrs = wl_int(s->d, "spec.minReadySeconds", 0);
		if (wl_int(x->obj, "spec.minReadySeconds", 0) != mrs) {
			obj_set_i64(x->obj, "spec.minReadySeconds", mrs, NULL);
			x->dirty = true;
		}
		const char *rev = annotation(x->obj, A_REVISION);
		if (rev)
			set_deployment_annotation(s, A_REVISION, rev);
		if (has_deadline(s->d) && !wl_cond_get(s->status, "Progressing"))
			progressing(s, "True", "FoundNewReplicaSet", "Found new replica set \"%s\"",
			            wl_str(x->obj, "metadata.name"));
		return x;
	}
	if (!create)
		return NULL;

	char hash[16], name[300], rev[32];
	int64_t collisions = wl_int(s->d, "status.collisionCount", -1);
	const cJSON *dt = obj_get(s->d, "spec.template");
	wl_hash(dt, collisions, hash);
	snprintf(name, sizeof(name), "%s-%s", wl_str(s->d, "metadata.name"), hash);
	cJSON *tmpl = obj_dup(dt);
	wl_set_label(tmpl, HASH_LABEL, hash);
	cJSON *sel = obj_dup(obj_get(s->d, "spec.selector"));
	cJSON *ml = obj_get_mut(sel, "matchLabels");
	if (!cJSON_IsObject(ml)) {
		obj_set(sel, "matchLabels", cJSON_CreateObject(), NULL);
		ml = obj_get_mut(sel, "matchLabels");
	}
	cJSON_DeleteItemFromObjectCaseSensitive(ml, HASH_LABEL);
	cJSON_AddStringToObject(ml, HASH_LABEL, hash);
	cJSON *rs = cJSON_CreateObject();
	cJSON_AddStringToObject(rs, "apiVersion", "apps/v1");
	cJSON_AddStringToObject(rs, "kind", "ReplicaSet");
	cJSON *meta = cJSON_AddObjectToObject(rs, "metadata");
	cJSON_AddStringToObject(meta, "name", name);
	cJSON_AddStringToObject(meta, "namespace", wl_str(s->d, "metadata.namespace"));
	const cJSON *tl = obj_get(tmpl, "metadata.labels");
	cJSON_AddItemToObject(meta, "labels", obj_dup(tl));
	cJSON_AddItemToArray(cJSON_AddArrayToObject(meta, "ownerReferences"),
	                     wl_owner_ref(s->d, "apps/v1", "Deployment"));
	cJSON *spec = cJSON_AddObjectToObject(rs, "spec");
	cJSON_AddNumberToObject(spec, "replicas", 0);
	cJSON_AddNumberToObject(spec, "minReadySeconds",
	                        (double)wl_int(s->d, "spec.minReadySeconds", 0));
	cJSON_AddItemToObject(spec, "selector", sel);
	cJSON_AddItemToObject(spec, "template", tmpl);

	s->rs = xrealloc(s->rs, (s->nrs + 1) * sizeof(*s->rs));
	x = &s->rs[s->nrs++];
	memset(x, 0, sizeof(*x));
	x->obj = rs;
	x->dirty = true;
	s->new_rs = x;
	int64_t n = new_rs_new_replicas(s, x);
	obj_set_i64(rs, "spec.replicas", n, NULL);
	set_new_rs_annotations(s, rs, new_rev, false);
	snprintf(rev, sizeof(rev), "%lld", (long long)new_rev);
	set_deployment_annotation(s, A_REVISION, rev);
	if (has_deadline(s->d))
		progressing(s, "True", "NewReplicaSetCreated", "Created new replica set \"%s\"",
		            name);
	return x;
}

/* --- status ----------------------------------------------------------------------------------- */

static void add_count(cJSON *st, const char *field, int64_t n)
{
	if (n)
		cJSON_AddNumberToObject(st, field, (double)n);
}

/* Upstream's calculateStatus: the counts from the ReplicaSets and the Available condition. */
static cJSON *calc_status(struct dsync *s)
{
	int64_t avail = 0, total = 0, actual = 0, ready = 0;
	for (size_t i = 0; i < s->nrs; i++) {
		struct rsx *x = &s->rs[i];
		avail += avail_of(x);
		total += replicas_of(x);
		actual += wl_int(x->obj, "status.replicas", 0);
		ready += wl_int(x->obj, "status.readyReplicas", 0);
	}
	int64_t unavail = total - avail < 0 ? 0 : total - avail;
	cJSON *st = cJSON_CreateObject();
	add_count(st, "observedGeneration", wl_int(s->d, "metadata.generation", 0));
	add_count(st, "replicas", actual);
	add_count(st, "updatedReplicas",
	          s->new_rs ? wl_int(s->new_rs->obj, "status.replicas", 0) : 0);
	add_count(st, "readyReplicas", ready);
	add_count(st, "availableReplicas", avail);
	add_count(st, "unavailableReplicas", unavail);
	const cJSON *conds = obj_child(s->status, "conditions");
	if (conds)
		cJSON_AddItemToObject(st, "conditions", obj_dup(conds));
	const cJSON *cc = obj_child(s->status, "collisionCount");
	if (cc)
		cJSON_AddItemToObject(st, "collisionCount", obj_dup(cc));
	if (avail >= s->replicas - max_unavailable(s->d, s->replicas))
		wl_cond_set(st, "Available", "True", "MinimumReplicasAvailable",
		            "Deployment has minimum availability.", s->now, true);
	else
		wl_cond_set(st, "Available", "False", "MinimumReplicasUnavailable",
		            "Deployment does not have minimum availability.", s->now, true);
	return st;
}

static bool complete(const cJSON *d, int64_t replicas, const cJSON *st)
{
	return wl_int(st, "updatedReplicas", 0) == replicas &&
	       wl_int(st, "replicas", 0) == replicas &&
	       wl_int(st, "availableReplicas", 0) == replicas &&
	       wl_int(st, "observedGeneration", 0) >= wl_int(d, "metadata.generation", 0);
}

static bool progressed(const cJSON *d, const cJSON *st)
{
	const cJSON *old = obj_get(d, "status");
	int64_t old_old = wl_int(old, "replicas", 0) - wl_int(old, "updatedReplicas", 0);
	int64_t new_old = wl_int(st, "replicas", 0) - wl_int(st, "updatedReplicas", 0);
	return wl_int(st, "updatedReplicas", 0) > wl_int(old, "updatedReplicas", 0) ||
	       new_old < old_old ||
	       wl_int(st, "readyReplicas", 0) > wl_int(old, "readyReplicas", 0) ||
	       wl_int(st, "availableReplicas", 0) > wl_int(old, "availableReplicas", 0);
}

/* Seconds until the progress deadline passes (<= 0: passed), or INT64_MAX without one. */
static int64_t until_deadline(struct dsync *s, const cJSON *st)
{
	if (!has_deadline(s->d))
		return INT64_MAX;
	const cJSON *c = wl_cond_get(st, "Progressing");
	if (!c)
		return INT64_MAX;
	const char *reason = wl_str(c, "reason");
	if (!strcmp(reason, "NewReplicaSetAvailable"))
		return INT64_MAX;
	if (!strcmp(reason, "ProgressDeadlineExceeded"))
		return 0;
	int64_t from = wl_time(c, "lastUpdateTime", s->now);
	return from + wl_int(s->d, "spec.progressDeadlineSeconds", 600) - s->now;
}

/* A ReplicaSet's ReplicaFailure condition, promoted to the deployment (new set first). */
static void replica_failure(struct dsync *s, cJSON *st)
{
	const cJSON *found = NULL;
	if (s->new_rs)
		found = wl_cond_get(obj_get(s->new_rs->obj, "status"), "ReplicaFailure");
	for (size_t i = 0; !found && i < s->nrs; i++)
		found = wl_cond_get(obj_get(s->rs[i].obj, "status"), "ReplicaFailure");
	if (!found || strcmp(wl_str(found, "status"), "True")) {
		wl_cond_remove(st, "ReplicaFailure");
		return;
	}
	int64_t t = wl_time(found, "lastTransitionTime", s->now);
	wl_cond_set(st, "ReplicaFailure", "True", wl_str(found, "reason"), wl_str(found, "message"),
	            t, true);
}

static void requeue_for_deadline(struct dsync *s, const cJSON *st)
{
	const cJSON *c = wl_cond_get(st, "Progressing");
	if (!c || complete(s->d, s->replicas, st))
		return;
	int64_t left = until_deadline(s, st);
	if (left == INT64_MAX || left <= 0)
		return;
	wl_enqueue_after(&s->dc->c, s->key, (uint64_t)left * 1000 + 1000);
}

/* Upstream's syncRolloutStatus: counts, then the Progressing condition. */
static cJSON *rollout_status(struct dsync *s)
{
	cJSON *st = calc_status(s);
	if (!has_deadline(s->d))
		wl_cond_remove(st, "Progressing");
	const cJSON *cur = wl_cond_get(st, "Progressing");
	bool done = wl_int(st, "replicas", 0) == wl_int(st, "updatedReplicas", 0) && cur &&
	            !strcmp(wl_str(cur, "reason"), "NewReplicaSetAvailable");
	const char *what = s->new_rs ? "ReplicaSet" : "Deployment";
	const char *name = wl_str(s->new_rs ? s->new_rs->obj : s->d, "metadata.name");
	char msg[512];
	if (has_deadline(s->d) && !done) {
		if (complete(s->d, s->replicas, st)) {
			snprintf(msg, sizeof(msg), "%s \"%s\" has successfully progressed.", what,
			         name);
			wl_cond_set(st, "Progressing", "True", "NewReplicaSetAvailable", msg,
			            s->now, true);
		} else if (progressed(s->d, st)) {
			/* Progress refreshes lastUpdateTime even when nothing else changes. */
			char keep[32] = "";
			if (cur && !strcmp(wl_str(cur, "status"), "True"))
				snprintf(keep, sizeof(keep), "%s",
				         wl_str(cur, "lastTransitionTime"));
			wl_cond_remove(st, "Progressing");
			snprintf(msg, sizeof(msg), "%s \"%s\" is progressing.", what, name);
			wl_cond_set(st, "Progressing", "True", "ReplicaSetUpdated", msg, s->now,
			            true);
			if (*keep)
				obj_set_str((cJSON *)wl_cond_get(st, "Progressing"),
				            "lastTransitionTime", keep, NULL);
		} else if (until_deadline(s, st) <= 0) {
			snprintf(msg, sizeof(msg), "%s \"%s\" has timed out progressing.", what,
			         name);
			wl_cond_set(st, "Progressing", "False", "ProgressDeadlineExceeded", msg,
			            s->now, true);
		}
	}
	replica_failure(s, st);
	requeue_for_deadline(s, st);
	return st;
}

/* --- strategies ---------------------------------------------------------------------------------- */

static void cleanup(struct dsync *s)
{
	int64_t limit = wl_int(s->d, "spec.revisionHistoryLimit", INT32_MAX);
	if (limit == INT32_MAX)
		return;
	struct rsx **old;
	size_t n = old_sets(s, false, &old), k = 0;
	for (size_t i = 0; i < n; i++)
		if (replicas_of(old[i]) == 0 && wl_int(old[i]->obj, "status.replicas", 0) == 0 &&
		    !wl_deleting(old[i]->obj) && old[i]->cached)
			old[k++] = old[i];
	if ((int64_t)k > limit) {
		qsort(old, k, sizeof(*old), by_revision);
		for (size_t i = 0; i < k - (size_t)limit; i++) {
			struct rsx *x = old[i];
			if (wl_int(x->obj, "metadata.generation", 0) >
			    wl_int(x->obj, "status.observedGeneration", 0))
				continue;
			x->to_delete = true;
		}
	}
	free(old);
}

/* Upstream's scale(): a resize of the deployment, spread over its active sets in proportion. */
static void proportional_scale(struct dsync *s)
{
	struct rsx **old;
	size_t nold = old_sets(s, false, &old);
	/* The only active set, or the newest one when none is active, takes everything. */
	struct rsx *active = NULL, *newest_old = NULL;
	size_t nactive = 0;
	if (s->new_rs && replicas_of(s->new_rs) > 0) {
		active = s->new_rs;
		nactive++;
	}
	for (size_t i = 0; i < nold; i++) {
		if (!newest_old || cmp_created(old[i], newest_old) > 0)
			newest_old = old[i];
		if (replicas_of(old[i]) > 0) {
			active = old[i];
			nactive++;
		}
	}
	if (nactive == 0)
		active = s->new_rs ? s->new_rs : newest_old;
	if (nactive <= 1 && active) {
		scale_rs(s, active, s->replicas);
		free(old);
		return;
	}
	if (!active) {
		free(old);
		return;
	}
	/* A saturated new set: the old ones go. */
	const char *desired = s->new_rs ? annotation(s->new_rs->obj, A_DESIRED) : NULL;
	if (s->new_rs && desired && strtoll(desired, NULL, 10) == s->replicas &&
	    replicas_of(s->new_rs) == s->replicas && avail_of(s->new_rs) == s->replicas) {
		for (size_t i = 0; i < nold; i++)
			if (replicas_of(old[i]) > 0)
				scale_rs(s, old[i], 0);
		free(old);
		return;
	}
	if (!rolling(s->d)) {
		free(old);
		return;
	}
	struct rsx **all = xmalloc((nold + 1) * sizeof(*all));
	size_t n = 0;
	for (size_t i = 0; i < nold; i++)
		if (replicas_of(old[i]) > 0)
			all[n++] = old[i];
	if (s->new_rs && replicas_of(s->new_rs) > 0)
		all[n++] = s->new_rs;
	free(old);
	int64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += replicas_of(all[i]);
	int64_t allowed = s->replicas > 0 ? s->replicas + max_surge(s->d, s->replicas) : 0;
	int64_t to_add = allowed - total, added = 0;
	if (to_add > 0)
		qsort(all, n, sizeof(*all), by_size_newer);
	else if (to_add < 0)
		qsort(all, n, sizeof(*all), by_size_older);
	int64_t *size = xcalloc(n ? n : 1, sizeof(*size));
	int64_t dsurge = s->replicas + max_surge(s->d, s->replicas);
	for (size_t i = 0; i < n; i++) {
		int64_t r = replicas_of(all[i]);
		size[i] = r;
		if (to_add == 0 || r == 0 || to_add == added)
			continue;
		/* This set's share of the new size, from the size it was made for. */
		int64_t fraction;
		if (s->replicas == 0) {
			fraction = -r;
		} else {
			const char *m = annotation(all[i]->obj, A_MAX);
			int64_t annotated =
			    m ? strtoll(m, NULL, 10) : wl_int(s->d, "status.replicas", 0);
			if (annotated <= 0)
				annotated = total;
			double share = (double)r * (double)dsurge / (double)annotated;
			fraction = (int64_t)(share + (share >= 0 ? 0.5 : -0.5)) - r;
		}
		int64_t allowed_left = to_add - added;
		int64_t p = to_add > 0 ? MIN(fraction, allowed_left) : MAX(fraction, allowed_left);
		size[i] = r + p;
		added += p;
	}
	for (size_t i = 0; i < n; i++) {
		if (i == 0 && to_add != 0) {
			size[i] += to_add - added;
			if (size[i] < 0)
				size[i] = 0;
		}
		scale_rs(s, all[i], size[i]);
	}
	free(size);
	free(all);
}

static bool is_scaling_event(struct dsync *s)
{
	sync_revision(s, false);
	for (size_t i = 0; i < s->nrs; i++) {
		struct rsx *x = &s->rs[i];
		if (replicas_of(x) == 0)
			continue;
		const char *desired = annotation(x->obj, A_DESIRED);
		if (desired && strtoll(desired, NULL, 10) != s->replicas)
			return true;
	}
	return false;
}

/* Paused deployments and scaling events: sizes only, no rollout. */
static cJSON *sync_scale(struct dsync *s)
{
	sync_revision(s, false);
	proportional_scale(s);
	if (cJSON_IsTrue(obj_get(s->d, "spec.paused")))
		cleanup(s);
	return calc_status(s);
}

static bool reconcile_new(struct dsync *s)
{
	struct rsx *x = s->new_rs;
	int64_t n = replicas_of(x);
	if (n == s->replicas)
		return false;
	if (n > s->replicas)
		return scale_rs(s, x, s->replicas);
	return scale_rs(s, x, new_rs_new_replicas(s, x));
}

static int64_t cleanup_unhealthy(struct dsync *s, struct rsx **old, size_t n, int64_t max)
{
	int64_t total = 0;
	for (size_t i = 0; i < n && total < max; i++) {
		int64_t r = replicas_of(old[i]);
		int64_t a = MIN(avail_of(old[i]), r);
		if (r == 0 || r == a)
			continue;
		int64_t k = MIN(max - total, r - a);
		scale_rs(s, old[i], r - k);
		total += k;
	}
	return total;
}

static int64_t scale_down_old(struct dsync *s, struct rsx **old, size_t n)
{
	int64_t min_avail = s->replicas - max_unavailable(s->d, s->replicas);
	int64_t avail = 0;
	for (size_t i = 0; i < s->nrs; i++)
		avail += safe_avail(&s->rs[i]);
	if (avail <= min_avail)
		return 0;
	int64_t want = avail - min_avail, total = 0;
	for (size_t i = 0; i < n && total < want; i++) {
		int64_t r = replicas_of(old[i]);
		if (r == 0)
			continue;
		int64_t k = MIN(r, want - total);
		scale_rs(s, old[i], r - k);
		total += k;
	}
	return total;
}

static bool reconcile_old(struct dsync *s)
{
	struct rsx **old;
	size_t n = old_sets(s, true, &old);
	int64_t old_pods = 0;
	for (size_t i = 0; i < n; i++)
		old_pods += replicas_of(old[i]);
	if (old_pods == 0) {
		free(old);
		return false;
	}
	int64_t all = sum_replicas(s);
	int64_t min_avail = s->replicas - max_unavailable(s->d, s->replicas);
	int64_t new_unavail = replicas_of(s->new_rs) - avail_of(s->new_rs);
	/* What may go without dropping below minimum availability, counting new pods that
	 * are not available yet as already missing. */
	int64_t max_down = all - min_avail - new_unavail;
	if (max_down <= 0) {
		free(old);
		return false;
	}
	int64_t cleaned = cleanup_unhealthy(s, old, n, max_down);
	int64_t down = scale_down_old(s, old, n);
	free(old);
	return cleaned + down > 0;
}

static cJSON *rollout_rolling(struct dsync *s)
{
	sync_revision(s, true);
	if (reconcile_new(s) || reconcile_old(s))
		return rollout_status(s);
	if (complete(s->d, s->replicas, obj_get(s->d, "status")))
		cleanup(s);
	return rollout_status(s);
}

static bool old_pods_running(struct dsync *s)
{
	for (size_t i = 0; i < s->nrs; i++) {
		struct rsx *x = &s->rs[i];
		if (x == s->new_rs)
			continue;
		if (wl_int(x->obj, "status.replicas", 0) > 0)
			return true;
		if (!x->cached)
			continue;
		const cJSON **pods;
		size_t n = wl_owned(s->w, WL_PODS, wl_str(x->obj, "metadata.uid"), &pods);
		bool running = false;
		for (size_t k = 0; k < n && !running; k++)
			running = !wl_pod_terminal(pods[k]);
		free(pods);
		if (running)
			return true;
	}
	return false;
}

static cJSON *rollout_recreate(struct dsync *s)
{
	sync_revision(s, false);
	bool scaled_down = false;
	for (size_t i = 0; i < s->nrs; i++) {
		struct rsx *x = &s->rs[i];
		if (x != s->new_rs && replicas_of(x) > 0)
			scaled_down |= scale_rs(s, x, 0);
	}
	if (scaled_down || old_pods_running(s))
		return rollout_status(s);
	if (!s->new_rs)
		sync_revision(s, true);
	scale_rs(s, s->new_rs, s->replicas);
	if (complete(s->d, s->replicas, obj_get(s->d, "status")))
		cleanup(s);
	return rollout_status(s);
}

/* Upstream's checkPausedConditions: Progressing says Unknown while paused and after resuming,
 * so the time spent paused never counts against the deadline. */
static void paused_conditions(struct dsync *s)
{
	if (!has_deadline(s->d))
		return;
	const cJSON *c = wl_cond_get(s->status, "Progressing");
	const char *reason = c ? wl_str(c, "reason") : "";
	if (!strcmp(reason, "ProgressDeadlineExceeded"))
		return;
	bool paused = cJSON_IsTrue(obj_get(s->d, "spec.paused"));
	bool paused_cond = !strcmp(reason, "DeploymentPaused");
	if (paused && !paused_cond)
		wl_cond_set(s->status, "Progressing", "Unknown", "DeploymentPaused",
		            "Deployment is paused", s->now, true);
	else if (!paused && paused_cond)
		wl_cond_set(s->status, "Progressing", "Unknown", "DeploymentResumed",
		            "Deployment is resumed", s->now, true);
}

/* --- writing the results ------------------------------------------------------------------------ */

static void op_done(struct wl *w, void *arg, int code, const char *msg, cJSON *obj);

static struct d_op *new_op(struct dsync *s, enum op_kind kind)
{
	struct d_op *op = xcalloc(1, sizeof(*op));
	op->dc = s->dc;
	op->kind = kind;
	snprintf(op->key, sizeof(op->key), "%s", s->key);
	state(s->dc, s->key)->inflight++;
	return op;
}

/* Bumps status.collisionCount when a ReplicaSet of the wanted name exists with another
 * template, so the next hash differs. */
static void collision(struct dc *dc, const cJSON *d, const char *rs_name)
{
	struct wl *w = dc->c.w;
	const char *ns = wl_str(d, "metadata.namespace");
	cJSON *rs = client_get(w->c, w->kind[WL_RS], ns, rs_name);
	if (!rs)
		return;
	const cJSON *ref = wl_controller_ref(rs);
	bool ours = ref && !strcmp(wl_str(ref, "uid"), wl_str(d, "metadata.uid"));
	if (!(ours &&
	      tmpl_equal_ignore_hash(obj_get(rs, "spec.template"), obj_get(d, "spec.template")))) {
		int64_t cc = wl_int(d, "status.collisionCount", 0) + 1;
		cJSON *p = cJSON_CreateObject();
		cJSON_AddNumberToObject(cJSON_AddObjectToObject(p, "status"), "collisionCount",
		                        (double)cc);
		wl_patch(w, WL_DEPLOY, ns, wl_str(d, "metadata.name"), "status", p, NULL, NULL);
	}
	cJSON_Delete(rs);
}

static void op_done(struct wl *w, void *arg, int code, const char *msg, cJSON *obj)
{
	struct d_op *op = arg;
	if (w->stopping) {
		free(op);
		return;
	}
	struct dc *dc = op->dc;
	struct d_state *s = state(dc, op->key);
	const cJSON *d = wl_get_key(w, WL_DEPLOY, op->key);
	s->inflight--;
	if (code < 300) {
		if ((op->kind == OP_RS_UPDATE || op->kind == OP_RS_CREATE) && op->from != op->to &&
		    d)
			wl_event(&dc->c, d, "Normal", "ScalingReplicaSet",
			         "Scaled %s replica set %s from %lld to %lld",
			         op->to > op->from ? "up" : "down", op->rs, (long long)op->from,
			         (long long)op->to);
		s->fails = 0;
	} else if (op->kind == OP_RS_CREATE && d) {
		if (code == 409) {
			collision(dc, d, op->rs);
		} else {
			char m[700];
			snprintf(m, sizeof(m), "Failed to create new replica set \"%s\": %s",
			         op->rs, msg);
			wl_event(&dc->c, d, "Warning", "ReplicaSetCreateError", "%s", m);
			if (has_deadline(d)) {
				cJSON *st = obj_dup(obj_get(d, "status"));
				if (!st)
					st = cJSON_CreateObject();
				wl_cond_set(st, "Progressing", "False", "ReplicaSetCreateError", m,
				            wl_now_s(w), true);
				cJSON *p = wl_status_patch(d, st);
				if (p)
					wl_patch(w, WL_DEPLOY, wl_str(d, "metadata.namespace"),
					         wl_str(d, "metadata.name"), "status", p, NULL,
					         NULL);
			}
		}
		s->fails++;
	} else if (code >= 300 && code != 404) {
		log_debug("%s: write failed (%d): %s", op->key, code, msg);
		s->fails++;
	}
	if (s->inflight == 0) {
		uint64_t delay = 0;
		if (s->fails)
			delay = MIN(5ull << MIN(s->fails, 12), 10000ull);
		wl_enqueue_after(&dc->c, op->key, delay);
	}
	free(op);
}

static void flush(struct dsync *s, cJSON *status)
{
	struct wl *w = s->w;
	const char *ns = wl_str(s->d, "metadata.namespace");
	for (size_t i = 0; i < s->nrs; i++) {
		struct rsx *x = &s->rs[i];
		const char *name = wl_str(x->obj, "metadata.name");
		if (x->to_delete) {
			struct d_op *op = new_op(s, OP_RS_DELETE);
			snprintf(op->rs, sizeof(op->rs), "%s", name);
			wl_delete(w, WL_RS, ns, name, wl_str(x->obj, "metadata.uid"), NULL, op_done,
			          op);
			continue;
		}
		if (!x->dirty)
			continue;
		struct d_op *op = new_op(s, x->cached ? OP_RS_UPDATE : OP_RS_CREATE);
		snprintf(op->rs, sizeof(op->rs), "%s", name);
		op->from = x->cached ? x->from : 0;
		op->to = replicas_of(x);
		if (x->cached) {
			cJSON *body = obj_dup(x->obj);
			obj_delete(body, "status");
			wl_update(w, WL_RS, NULL, body, op_done, op);
		} else {
			wl_create(w, WL_RS, ns, obj_dup(x->obj), op_done, op);
		}
	}
	if (s->annotations) {
		cJSON *p = cJSON_CreateObject();
		cJSON_AddItemToObject(cJSON_AddObjectToObject(p, "metadata"), "annotations",
		                      s->annotations);
		s->annotations = NULL;
		wl_patch(w, WL_DEPLOY, ns, wl_str(s->d, "metadata.name"), NULL, p, op_done,
		         new_op(s, OP_D_PATCH));
	}
	cJSON *p = status ? wl_status_patch(s->d, status) : NULL;
	if (p)
		wl_patch(w, WL_DEPLOY, ns, wl_str(s->d, "metadata.name"), "status", p, op_done,
		         new_op(s, OP_D_PATCH));
}

/* --- sync ----------------------------------------------------------------------------------------- */

static int d_sync(struct wl_ctl *c, const char *key)
{
	struct dc *dc = (struct dc *)c;
	struct wl *w = c->w;
	const cJSON *d = wl_get_key(w, WL_DEPLOY, key);
	if (!d) {
		struct d_state *st = strmap_del(&dc->st, key);
		free(st);
		return 0;
	}
	if (state(dc, key)->inflight || wl_stale(w, WL_DEPLOY, d))
		return 0; /* the last sync's writes are not all back yet */
	struct sel *sel = wl_selector(d, "spec.selector");
	if (!sel) {
		log_warn("%s: invalid selector", key);
		return 0;
	}
	if (sel_is_everything(sel)) {
		sel_free(sel);
		wl_event(
		    c, d, "Warning", "SelectingAll",
		    "This deployment is selecting all pods. A non-empty selector is required.");
		return 0;
	}
	const cJSON **sets;
	size_t n = wl_claim(c, WL_RS, d, "apps/v1", "Deployment", sel, &sets);
	sel_free(sel);
	for (size_t i = 0; i < n; i++)
		if (wl_stale(w, WL_RS, sets[i])) {
			free(sets);
			return 0;
		}
	struct dsync s = { .dc = dc, .w = w, .d = d, .now = wl_now_s(w) };
	snprintf(s.key, sizeof(s.key), "%s", key);
	s.replicas = wl_int(d, "spec.replicas", 1);
	s.status = obj_dup(obj_get(d, "status"));
	if (!cJSON_IsObject(s.status)) {
		cJSON_Delete(s.status);
		s.status = cJSON_CreateObject();
	}
	s.rs = xcalloc(n + 1, sizeof(*s.rs));
	s.nrs = n;
	for (size_t i = 0; i < n; i++) {
		s.rs[i].cached = sets[i];
		s.rs[i].obj = obj_dup(sets[i]);
		s.rs[i].from = replicas_of(&s.rs[i]);
	}
	free(sets);
	/* The new set is the oldest one with the current template. */
	const cJSON *dt = obj_get(d, "spec.template");
	for (size_t i = 0; i < s.nrs; i++)
		if (tmpl_equal_ignore_hash(obj_get(s.rs[i].obj, "spec.template"), dt) &&
		    (!s.new_rs || cmp_created(&s.rs[i], s.new_rs) < 0))
			s.new_rs = &s.rs[i];

	cJSON *status;
	if (wl_deleting(d)) {
		status = calc_status(&s);
	} else {
		paused_conditions(&s);
		if (cJSON_IsTrue(obj_get(d, "spec.paused")) || is_scaling_event(&s))
			status = sync_scale(&s);
		else if (rolling(d))
			status = rollout_rolling(&s);
		else
			status = rollout_recreate(&s);
	}
	flush(&s, status);
	for (size_t i = 0; i < s.nrs; i++)
		cJSON_Delete(s.rs[i].obj);
	free(s.rs);
	cJSON_Delete(s.status);
	cJSON_Delete(s.annotations);
	return 0;
}

/* --- informer handlers ------------------------------------------------------------------------- */

static void enqueue_selecting(struct dc *dc, const cJSON *rs)
{
	const cJSON **v;
	size_t n = wl_selecting(dc->c.w, WL_DEPLOY, wl_str(rs, "metadata.namespace"),
	                        "spec.selector", obj_get(rs, "metadata.labels"), &v);
	for (size_t i = 0; i < n; i++)
		wl_enqueue(&dc->c, v[i]);
	free(v);
}

static void on_rs_add(void *arg, const cJSON *rs)
{
	struct dc *dc = arg;
	const cJSON *d = wl_resolve_owner(dc->c.w, WL_DEPLOY, "Deployment", rs);
	if (d)
		wl_enqueue(&dc->c, d);
	else if (!wl_controller_ref(rs))
		enqueue_selecting(dc, rs);
}

static void on_rs_update(void *arg, const cJSON *old, const cJSON *rs)
{
	struct dc *dc = arg;
	const cJSON *od = wl_resolve_owner(dc->c.w, WL_DEPLOY, "Deployment", old);
	const cJSON *d = wl_resolve_owner(dc->c.w, WL_DEPLOY, "Deployment", rs);
	if (od && od != d)
		wl_enqueue(&dc->c, od);
	if (d)
		wl_enqueue(&dc->c, d);
	else if (!wl_controller_ref(rs) &&
	         !obj_equal(obj_get(old, "metadata.labels"), obj_get(rs, "metadata.labels")))
		enqueue_selecting(dc, rs);
	else if (!wl_controller_ref(rs) && wl_controller_ref(old))
		enqueue_selecting(dc, rs);
}

static void on_rs_del(void *arg, const cJSON *rs)
{
	struct dc *dc = arg;
	const cJSON *d = wl_resolve_owner(dc->c.w, WL_DEPLOY, "Deployment", rs);
	if (d)
		wl_enqueue(&dc->c, d);
}

/* Recreate waits for the old pods to be gone. */
static void on_pod_del(void *arg, const cJSON *pod)
{
	struct dc *dc = arg;
	const cJSON *rs = wl_resolve_owner(dc->c.w, WL_RS, "ReplicaSet", pod);
	const cJSON *d = rs ? wl_resolve_owner(dc->c.w, WL_DEPLOY, "Deployment", rs) : NULL;
	if (d && !rolling(d))
		wl_enqueue(&dc->c, d);
}

static void on_d_add(void *arg, const cJSON *d)
{
	wl_enqueue(arg, d);
}

static void on_d_update(void *arg, const cJSON *old, const cJSON *d)
{
	wl_enqueue(arg, d);
}

static void d_resync(struct wl_ctl *c)
{
	wl_enqueue_all(c, WL_DEPLOY);
}

static void d_free(struct wl_ctl *c)
{
	struct dc *dc = (struct dc *)c;
	wl_ctl_destroy(c);
	const char *k;
	void *v;
	for (size_t i = 0; strmap_next(&dc->st, &i, &k, &v);)
		free(v);
	strmap_free(&dc->st);
	free(dc);
}

struct wl_ctl *wl_deployment_new(struct wl *w)
{
	struct dc *dc = xcalloc(1, sizeof(*dc));
	wl_ctl_init(&dc->c, w, "deployment-controller");
	dc->c.sync = d_sync;
	dc->c.resync = d_resync;
	dc->c.free = d_free;
	struct informer_handlers dh = { on_d_add, on_d_update, on_d_add, NULL, dc };
	informer_add_handlers(w->inf[WL_DEPLOY], &dh);
	struct informer_handlers rh = { on_rs_add, on_rs_update, on_rs_del, NULL, dc };
	informer_add_handlers(w->inf[WL_RS], &rh);
	struct informer_handlers ph = { NULL, NULL, on_pod_del, NULL, dc };
	informer_add_handlers(w->inf[WL_PODS], &ph);
	return &dc->c;
}
