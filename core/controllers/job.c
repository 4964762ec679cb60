/* job: runs a Job's pods to completion (upstream's Job controller): completions and
 * parallelism, NonIndexed and Indexed, back-off after failures, backoffLimit,
 * activeDeadlineSeconds, suspend, pods counted through the job-tracking finalizer, the
 * interim and final conditions, and ttlSecondsAfterFinished. */
#include <stdio.h>
#include <string.h>

#define LOG_TAG "job"
#include "core/controllers/workloads-internal.h"
#include "core/log/log.h"

#define TRACKING "batch.kubernetes.io/job-tracking"
#define INDEX_KEY "batch.kubernetes.io/job-completion-index"
#define BACKOFF_BASE_S 10
#define BACKOFF_MAX_S 360
#define BURST 500

struct job_state {
	int inflight; /* status writes, finalizer removals and the TTL delete */
	bool failed_write;
	int64_t fails_after_ok; /* failed pods since the last success: the back-off's exponent */
	int64_t last_failure;   /* when the last of them ended (seconds) */
	struct strmap seen;     /* uids of finished pods already in the two numbers above */
};

struct jc {
	struct wl_ctl c;
	struct wl_expect exp;
	struct strmap st; /* key -> struct job_state* */
};

struct job_op {
	struct jc *jc;
	bool tracked;
	char pod[512];
	char key[];
};

static struct job_state *state(struct jc *jc, const char *key)
{
	struct job_state *s = strmap_get(&jc->st, key);
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		strmap_put(&jc->st, key, s);
	}
	return s;
}

static void state_drop(struct jc *jc, const char *key)
{
	struct job_state *s = strmap_del(&jc->st, key);
	if (s) {
		strmap_free(&s->seen);
		free(s);
	}
}

static struct job_op *new_op(struct jc *jc, const char *key, bool tracked, const char *pod)
{
	size_t n = strlen(key) + 1;
	struct job_op *op = xcalloc(1, sizeof(*op) + n);
	op->jc = jc;
	op->tracked = tracked;
	memcpy(op->key, key, n);
	snprintf(op->pod, sizeof(op->pod), "%s", pod ? pod : "");
	if (tracked)
		state(jc, key)->inflight++;
	return op;
}

/* --- pods ----------------------------------------------------------------------------------- */

static bool has_tracking(const cJSON *pod)
{
	const cJSON *f;
	cJSON_ArrayForEach(f, obj_get(pod, "metadata.finalizers"))
	{
		if (cJSON_IsString(f) && !strcmp(f->valuestring, TRACKING))
			return true;
	}
	return false;
}

static cJSON *without_tracking(const cJSON *pod)
{
	cJSON *up = obj_dup(pod);
	cJSON *fs = obj_get_mut(up, "metadata.finalizers");
	for (int i = cJSON_GetArraySize(fs) - 1; i >= 0; i--) {
		const cJSON *f = cJSON_GetArrayItem(fs, i);
		if (cJSON_IsString(f) && !strcmp(f->valuestring, TRACKING))
			cJSON_DeleteItemFromArray(fs, i);
	}
	return up;
}

static bool pod_succeeded(const cJSON *pod)
{
	return !strcmp(wl_str(pod, "status.phase"), "Succeeded");
}

/* Upstream's isPodFailed: Failed, or deleted before it succeeded (an orphan that never gets to
 * report). */
static bool pod_failed(const cJSON *pod)
{
	return !strcmp(wl_str(pod, "status.phase"), "Failed") ||
	       (wl_deleting(pod) && !pod_succeeded(pod));
}

/* When a pod ended: its Ready=False transition, its containers' finish, its deletion. */
static int64_t finish_time(const cJSON *pod, int64_t now)
{
	const cJSON *r = wl_cond_get(obj_get(pod, "status"), "Ready");
	if (r && !strcmp(wl_str(r, "status"), "False") && obj_get(r, "lastTransitionTime"))
		return wl_time(r, "lastTransitionTime", now);
	int64_t t = -1;
	const cJSON *cs;
	cJSON_ArrayForEach(cs, obj_get(pod, "status.containerStatuses"))
	{
		t = MAX(t, wl_time(cs, "state.terminated.finishedAt", -1));
	}
	if (t >= 0)
		return t;
	return wl_time(pod, "metadata.deletionTimestamp", now);
}

static int64_t index_of(const cJSON *pod)
{
	const cJSON *a = obj_child(obj_get(pod, "metadata.annotations"), INDEX_KEY);
	const char *s = cJSON_IsString(a) ? a->valuestring : wl_label(pod, INDEX_KEY);
	uint64_t v;
	if (!s || !parse_u64(s, &v) || v > INT32_MAX)
		return -1;
	return (int64_t)v;
}

static cJSON *new_pod(const cJSON *job, int64_t index)
{
	cJSON *pod = wl_pod_from_template(obj_get(job, "spec.template"), job, "batch/v1", "Job");
	char prefix[300];
	if (index < 0)
		snprintf(prefix, sizeof(prefix), "%s-", wl_str(job, "metadata.name"));
	else
		snprintf(prefix, sizeof(prefix), "%s-%lld-", wl_str(job, "metadata.name"),
		         (long long)index);
	obj_set_str(pod, "metadata.generateName", prefix, NULL);
	cJSON *fs = obj_get_mut(pod, "metadata.finalizers");
	if (!cJSON_IsArray(fs)) {
		obj_set(pod, "metadata.finalizers", cJSON_CreateArray(), NULL);
		fs = obj_get_mut(pod, "metadata.finalizers");
	}
	cJSON_AddItemToArray(fs, cJSON_CreateString(TRACKING));
	if (index >= 0) {
		char idx[24], host[320];
		snprintf(idx, sizeof(idx), "%lld", (long long)index);
		snprintf(host, sizeof(host), "%s-%lld", wl_str(job, "metadata.name"),
		         (long long)index);
		wl_set_annotation(pod, INDEX_KEY, idx);
		wl_set_label(pod, INDEX_KEY, idx);
		cJSON *spec = obj_get_mut(pod, "spec");
		cJSON_DeleteItemFromObjectCaseSensitive(spec, "hostname");
		cJSON_AddStringToObject(spec, "hostname", host);
		/* Every container learns its index from the annotation. */
		static const char *const lists[] = { "containers", "initContainers" };
		for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
			cJSON *c;
			cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, lists[l]))
			{
				cJSON *env = cJSON_GetObjectItemCaseSensitive(c, "env");
				if (!cJSON_IsArray(env)) {
					cJSON_DeleteItemFromObjectCaseSensitive(c, "env");
					env = cJSON_AddArrayToObject(c, "env");
				}
				cJSON *e = cJSON_CreateObject();
				cJSON_AddStringToObject(e, "name", "JOB_COMPLETION_INDEX");
				cJSON_AddStringToObject(
				    cJSON_AddObjectToObject(cJSON_AddObjectToObject(e, "valueFrom"),
				                            "fieldRef"),
				    "fieldPath", "metadata.annotations['" INDEX_KEY "']");
				cJSON_AddItemToArray(env, e);
			}
		}
	}
	return pod;
}

/* --- completed indexes ("0-2,4") ------------------------------------------------------------ */

struct indexes {
	bool *v;
	int64_t n; /* completions */
};

static void indexes_parse(struct indexes *ix, const char *s)
{
	while (s && *s) {
		char *end;
		long long a = strtoll(s, &end, 10), b = a;
		if (end == s)
			break;
		if (*end == '-') {
			s = end + 1;
			b = strtoll(s, &end, 10);
		}
		for (long long i = a; i <= b && i < ix->n; i++)
			if (i >= 0)
				ix->v[i] = true;
		s = *end == ',' ? end + 1 : NULL;
	}
}

static int64_t indexes_count(const struct indexes *ix)
{
	int64_t c = 0;
	for (int64_t i = 0; i < ix->n; i++)
		c += ix->v[i];
	return c;
}

static void indexes_format(const struct indexes *ix, struct buf *b)
{
	for (int64_t i = 0; i < ix->n; i++) {
		if (!ix->v[i])
			continue;
		int64_t j = i;
		while (j + 1 < ix->n && ix->v[j + 1])
			j++;
		if (b->len)
			buf_addc(b, ',');
		if (j == i)
			buf_printf(b, "%lld", (long long)i);
		else
			buf_printf(b, "%lld-%lld", (long long)i, (long long)j);
		i = j;
	}
}

/* --- writes' results --------------------------------------------------------------------------- */

static void on_created(struct wl *w, void *arg, int code, const char *msg, cJSON *obj)
{
	struct job_op *op = arg;
	if (w->stopping)
		return;
	const cJSON *job = wl_get_key(w, WL_JOBS, op->key);
	if (code < 300) {
		if (job)
			wl_event(&op->jc->c, job, "Normal", "SuccessfulCreate", "Created pod: %s",
			         wl_str(obj, "metadata.name"));
		return;
	}
	wl_exp_create_failed(&op->jc->exp, op->key, 1);
	if (job)
		wl_event(&op->jc->c, job, "Warning", "FailedCreate", "Error creating: %s", msg);
}

static void on_created_all(struct wl *w, void *arg, size_t ok, size_t failed, size_t skipped,
                           const char *first_error)
{
	struct job_op *op = arg;
	if (!w->stopping) {
		if (skipped)
			wl_exp_create_failed(&op->jc->exp, op->key, (int)skipped);
		if (failed)
			wl_enqueue_after(&op->jc->c, op->key, 1000);
	}
	free(op);
}

static void on_deleted(struct wl *w, void *arg, int code, const char *msg, cJSON *obj)
{
	struct job_op *op = arg;
	if (!w->stopping) {
		const cJSON *job = wl_get_key(w, WL_JOBS, op->key);
		const char *slash = strchr(op->pod, '/');
		if (code < 300) {
			if (job)
				wl_event(&op->jc->c, job, "Normal", "SuccessfulDelete",
				         "Deleted pod: %s", slash ? slash + 1 : op->pod);
		} else {
			wl_exp_deleted(&op->jc->exp, op->key, op->pod);
			if (code != 404)
				wl_enqueue_after(&op->jc->c, op->key, 1000);
		}
	}
	free(op);
}

static void on_written(struct wl *w, void *arg, int code, const char *msg, cJSON *obj)
{
	struct job_op *op = arg;
	if (!w->stopping && op->tracked) {
		struct job_state *s = state(op->jc, op->key);
		if (code >= 300 && code != 404)
			log_debug("%s: write failed (%d): %s", op->key, code, msg);
		if (code >= 300 && code != 404)
			s->failed_write = true;
		if (--s->inflight == 0) {
			wl_enqueue_after(&op->jc->c, op->key, s->failed_write ? 100 : 0);
			s->failed_write = false;
		}
	}
	free(op);
}

/* --- sync ---------------------------------------------------------------------------------------- */

struct jsync {
	struct jc *jc;
	struct wl *w;
	const char *key;
	const cJSON *job;
	struct job_state *s;
	int64_t now;
	bool indexed;
	int64_t completions; /* -1: not set */
	const cJSON **active;
	size_t nactive;
	int64_t terminating;
	int64_t succeeded, failed;
	struct indexes done; /* Indexed: completed indexes */
};

static void delete_pods(struct jsync *x, const cJSON **pods, size_t n)
{
	n = MIN(n, (size_t)BURST);
	char **keys = xcalloc(n + 1, sizeof(*keys));
	for (size_t i = 0; i < n; i++) {
		char pk[512];
		wl_key(pods[i], pk, sizeof(pk));
		keys[i] = xstrdup(pk);
	}
	wl_exp_expect(&x->jc->exp, x->key, 0, (const char *const *)keys, n,
	              loop_now_ms(x->w->loop));
	for (size_t i = 0; i < n; i++) {
		wl_delete(x->w, WL_PODS, wl_str(pods[i], "metadata.namespace"),
		          wl_str(pods[i], "metadata.name"), wl_str(pods[i], "metadata.uid"), NULL,
		          on_deleted, new_op(x->jc, x->key, false, keys[i]));
		free(keys[i]);
	}
	free(keys);
}

/* Seconds the back-off still holds new pods back (10 s doubling per failure since the last
 * success, at most 6 min), or 0. */
static int64_t backoff_left(struct jsync *x)
{
	if (x->s->fails_after_ok <= 0)
		return 0;
	int64_t d = BACKOFF_BASE_S;
	for (int64_t i = 1; i < x->s->fails_after_ok && d < BACKOFF_MAX_S; i++)
		d *= 2;
	d = MIN(d, (int64_t)BACKOFF_MAX_S);
	int64_t elapsed = x->now - x->s->last_failure;
	return elapsed >= d ? 0 : d - elapsed;
}

static void create_pods(struct jsync *x, const int64_t *indexes, size_t n)
{
	int64_t left = backoff_left(x);
	if (left > 0) {
		wl_enqueue_after(&x->jc->c, x->key, (uint64_t)left * 1000 + 200);
		return;
	}
	n = MIN(n, (size_t)BURST);
	wl_exp_expect_creates(&x->jc->exp, x->key, (int)n, loop_now_ms(x->w->loop));
	cJSON **bodies = xmalloc((n + 1) * sizeof(*bodies));
	for (size_t i = 0; i < n; i++)
		bodies[i] = new_pod(x->job, indexes ? indexes[i] : -1);
	wl_create_batched(x->w, WL_PODS, wl_str(x->job, "metadata.namespace"), bodies, n,
	                  on_created, on_created_all, new_op(x->jc, x->key, false, NULL));
}

/* Upstream's manageJob: as many active pods as parallelism and the remaining completions
 * allow (for Indexed jobs, one per index not yet done, lowest first). */
static void manage(struct jsync *x)
{
	int64_t par = wl_int(x->job, "spec.parallelism", 1);
	int64_t active = (int64_t)x->nactive;
	if (!x->indexed) {
		int64_t want;
		if (x->completions < 0)
			want = x->succeeded > 0 ? active : par;
		else
			want = MAX(MIN(x->completions - x->succeeded, par), 0);
		if (active > want) {
			wl_pods_sort_for_deletion(x->active, x->nactive, NULL, 0, x->now);
			delete_pods(x, x->active, (size_t)(active - want));
		} else if (active < want) {
			create_pods(x, NULL, (size_t)(want - active));
		}
		return;
	}
	/* Indexed: pods of bad, repeated or finished indexes go; missing indexes come. */
	bool *running = xcalloc((size_t)MAX(x->completions, 1), sizeof(bool));
	const cJSON **extra = xmalloc((x->nactive + 1) * sizeof(*extra));
	size_t nextra = 0;
	int64_t valid = 0;
	for (size_t i = 0; i < x->nactive; i++) {
		int64_t ix = index_of(x->active[i]);
		if (ix < 0 || ix >= x->completions || x->done.v[ix] || running[ix]) {
			extra[nextra++] = x->active[i];
			continue;
		}
		running[ix] = true;
		valid++;
	}
	int64_t want = MAX(MIN(par, x->completions - indexes_count(&x->done)), 0);
	if (valid > want) {
		/* Too many: the highest indexes go. */
		for (int64_t ix = x->completions - 1; ix >= 0 && valid > want; ix--) {
			if (!running[ix])
				continue;
			for (size_t i = 0; i < x->nactive; i++)
				if (index_of(x->active[i]) == ix) {
					extra[nextra++] = x->active[i];
					break;
				}
			valid--;
		}
	}
	if (nextra) {
		delete_pods(x, extra, nextra);
	} else if (valid < want) {
		int64_t *missing = xmalloc((size_t)(want - valid) * sizeof(*missing));
		size_t nm = 0;
		for (int64_t ix = 0; ix < x->completions && (int64_t)nm < want - valid; ix++)
			if (!running[ix] && !x->done.v[ix])
				missing[nm++] = ix;
		create_pods(x, missing, nm);
		free(missing);
	}
	free(extra);
	free(running);
}

/* With restartPolicy OnFailure failures are container restarts, counted against the limit. */
static bool past_restart_limit(const struct jsync *x)
{
	if (strcmp(wl_str(x->job, "spec.template.spec.restartPolicy"), "OnFailure"))
		return false;
	int64_t restarts = 0;
	for (size_t i = 0; i < x->nactive; i++) {
		static const char *const lists[] = { "status.containerStatuses",
			                             "status.initContainerStatuses" };
		for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
			const cJSON *cs;
			cJSON_ArrayForEach(cs, obj_get(x->active[i], lists[l]))
			{
				restarts += wl_int(cs, "restartCount", 0);
			}
		}
	}
	int64_t limit = wl_int(x->job, "spec.backoffLimit", 6);
	return limit == 0 ? restarts > 0 : restarts >= limit;
}

static bool in_list(const cJSON *arr, const char *uid)
{
	const cJSON *u;
	cJSON_ArrayForEach(u, arr)
	{
		if (cJSON_IsString(u) && !strcmp(u->valuestring, uid))
			return true;
	}
	return false;
}

static void set_count(cJSON *st, const char *field, int64_t n, bool keep_zero)
{
	cJSON_DeleteItemFromObjectCaseSensitive(st, field);
	if (n || keep_zero)
		cJSON_AddNumberToObject(st, field, (double)n);
}

static bool job_finished(const cJSON *job)
{
	const cJSON *st = obj_get(job, "status");
	return wl_cond_true(st, "Complete") || wl_cond_true(st, "Failed");
}

/* ttlSecondsAfterFinished (upstream's TTL-after-finished controller): a finished job goes,
 * with its pods (Foreground), that many seconds after it finished. */
static void ttl(struct jsync *x)
{
	int64_t t = wl_int(x->job, "spec.ttlSecondsAfterFinished", -1);
	if (t < 0 || wl_deleting(x->job))
		return;
	const cJSON *st = obj_get(x->job, "status");
	int64_t at = wl_time(st, "completionTime", -1);
	if (at < 0)
		at = wl_time(wl_cond_get(st, wl_cond_true(st, "Failed") ? "Failed" : "Complete"),
		             "lastTransitionTime", x->now);
	if (x->now < at + t) {
		wl_enqueue_after(&x->jc->c, x->key, (uint64_t)(at + t - x->now) * 1000 + 200);
		return;
	}
	wl_delete(x->w, WL_JOBS, wl_str(x->job, "metadata.namespace"),
	          wl_str(x->job, "metadata.name"), wl_str(x->job, "metadata.uid"), "Foreground",
	          on_written, new_op(x->jc, x->key, true, NULL));
}

static int job_sync(struct wl_ctl *c, const char *key)
{
	struct jc *jc = (struct jc *)c;
	struct wl *w = c->w;
	const cJSON *job = wl_get_key(w, WL_JOBS, key);
	if (!job) {
		wl_exp_forget(&jc->exp, key);
		state_drop(jc, key);
		return 0;
	}
	struct job_state *s = state(jc, key);
	if (s->inflight || wl_stale(w, WL_JOBS, job))
		return 0;
	struct sel *sel = wl_selector(job, "spec.selector");
	if (!sel) {
		log_warn("%s: invalid selector", key);
		return 0;
	}
	const cJSON **pods;
	size_t np = wl_claim(c, WL_PODS, job, "batch/v1", "Job", sel, &pods);
	sel_free(sel);
	struct jsync x = { .jc = jc, .w = w, .key = key, .job = job, .s = s, .now = wl_now_s(w) };
	x.indexed = !strcmp(wl_str(job, "spec.completionMode"), "Indexed");
	x.completions = wl_int(job, "spec.completions", -1);
	bool finished = job_finished(job);
	const cJSON *st0 = obj_get(job, "status");
	const cJSON *unc_s = obj_get(st0, "uncountedTerminatedPods.succeeded");
	const cJSON *unc_f = obj_get(st0, "uncountedTerminatedPods.failed");
	cJSON *new_unc_s = cJSON_CreateArray(), *new_unc_f = cJSON_CreateArray();
	int64_t counted_s = wl_int(st0, "succeeded", 0), counted_f = wl_int(st0, "failed", 0);
	int64_t ready = 0;
	if (x.indexed) {
		x.done.n = MAX(x.completions, 0);
		x.done.v = xcalloc((size_t)MAX(x.done.n, 1), sizeof(bool));
		indexes_parse(&x.done, obj_get_str(st0, "completedIndexes"));
	}
	x.active = xmalloc((np + 1) * sizeof(*x.active));
	const cJSON **unfinalize = xmalloc((np + 1) * sizeof(*unfinalize));
	size_t nunfin = 0;
	int64_t latest_ok = -1;

	/* Counting through the finalizer: a finished pod that still has it is not counted yet; it
	 * goes into uncountedTerminatedPods, then loses the finalizer, then moves to the
	 * counters. */
	for (size_t i = 0; i < np; i++) {
		const cJSON *p = pods[i];
		const char *uid = wl_str(p, "metadata.uid");
		bool ok = pod_succeeded(p), bad = !ok && pod_failed(p);
		if (wl_deleting(p) && !wl_pod_terminal(p))
			x.terminating++;
		if (!ok && !bad) {
			x.active[x.nactive++] = p;
			ready += wl_pod_ready(p);
			continue;
		}
		if (!has_tracking(p))
			continue;
		if (finished || in_list(unc_s, uid) || in_list(unc_f, uid)) {
			unfinalize[nunfin++] = p;
			continue;
		}
		cJSON_AddItemToArray(ok ? new_unc_s : new_unc_f, cJSON_CreateString(uid));
		if (x.indexed && ok) {
			int64_t ix = index_of(p);
			if (ix >= 0 && ix < x.done.n)
				x.done.v[ix] = true;
		}
		if (!strmap_get(&s->seen, uid)) {
			strmap_put(&s->seen, uid, (void *)1);
			int64_t t = finish_time(p, x.now);
			if (ok) {
				latest_ok = MAX(latest_ok, t);
			} else {
				s->fails_after_ok++;
				s->last_failure = MAX(s->last_failure, t);
			}
		}
	}
	if (latest_ok >= 0 && latest_ok >= s->last_failure)
		s->fails_after_ok = 0; /* a success after the failures resets the back-off */
	/* Uncounted pods whose finalizer is gone (or that are gone) move to the counters. */
	const cJSON *unc[2] = { unc_s, unc_f };
	cJSON *keep[2] = { new_unc_s, new_unc_f };
	int64_t *counted[2] = { &counted_s, &counted_f };
	for (int k = 0; k < 2; k++) {
		const cJSON *u;
		cJSON_ArrayForEach(u, unc[k])
		{
			if (!cJSON_IsString(u))
				continue;
			bool pending = false;
			for (size_t i = 0; i < nunfin && !pending; i++)
				pending =
				    !strcmp(wl_str(unfinalize[i], "metadata.uid"), u->valuestring);
			if (pending)
				cJSON_AddItemToArray(keep[k], cJSON_CreateString(u->valuestring));
			else
				(*counted[k])++;
		}
	}
	x.succeeded =
	    x.indexed ? indexes_count(&x.done) : counted_s + cJSON_GetArraySize(new_unc_s);
	x.failed = counted_f + cJSON_GetArraySize(new_unc_f);

	cJSON *st = obj_dup(st0);
	if (!cJSON_IsObject(st)) {
		cJSON_Delete(st);
		st = cJSON_CreateObject();
	}
	bool suspended = cJSON_IsTrue(obj_get(job, "spec.suspend"));
	char ts[32];
	wl_time_str(x.now, ts);
	if (!finished) {
		bool failing = wl_cond_true(st, "FailureTarget");
		bool succeeding = wl_cond_true(st, "SuccessCriteriaMet");
		int64_t start = wl_time(st, "startTime", -1);
		int64_t deadline = wl_int(job, "spec.activeDeadlineSeconds", -1);
		if (!failing && !succeeding) {
			if (x.failed > wl_int(job, "spec.backoffLimit", 6) ||
			    past_restart_limit(&x)) {
				wl_cond_set(st, "FailureTarget", "True", "BackoffLimitExceeded",
				            "Job has reached the specified backoff limit", x.now,
				            false);
				failing = true;
			} else if (deadline >= 0 && start >= 0 && !suspended &&
			           x.now >= start + deadline) {
				wl_cond_set(st, "FailureTarget", "True", "DeadlineExceeded",
				            "Job was active longer than specified deadline", x.now,
				            false);
				failing = true;
			} else if (x.completions >= 0 ? x.succeeded >= x.completions
			                              : x.succeeded > 0 && x.nactive == 0) {
				wl_cond_set(st, "SuccessCriteriaMet", "True", "CompletionsReached",
				            "Reached expected number of succeeded pods", x.now,
				            false);
				succeeding = true;
			}
		}
		bool need = wl_exp_satisfied(&jc->exp, key, loop_now_ms(w->loop));
		if (failing || succeeding) {
			/* No new pods; the ones still running go; once every pod has ended and been
			 * counted, the job is finished. */
			if (x.nactive && need)
				delete_pods(&x, x.active, x.nactive);
			if (!x.nactive && !x.terminating && cJSON_GetArraySize(new_unc_s) == 0 &&
			    cJSON_GetArraySize(new_unc_f) == 0) {
				const cJSON *t = wl_cond_get(st, failing ? "FailureTarget"
				                                         : "SuccessCriteriaMet");
				char reason[64], msg[256];
				snprintf(reason, sizeof(reason), "%s", wl_str(t, "reason"));
				snprintf(msg, sizeof(msg), "%s", wl_str(t, "message"));
				wl_cond_set(st, failing ? "Failed" : "Complete", "True", reason,
				            msg, x.now, false);
				if (failing) {
					wl_event(c, job, "Warning", reason, "%s", msg);
				} else {
					cJSON_DeleteItemFromObjectCaseSensitive(st,
					                                        "completionTime");
					cJSON_AddStringToObject(st, "completionTime", ts);
					wl_event(c, job, "Normal", "Completed", "Job completed");
				}
			}
		} else if (suspended) {
			if (x.nactive && need)
				delete_pods(&x, x.active, x.nactive);
			if (!wl_cond_true(st, "Suspended")) {
				wl_cond_set(st, "Suspended", "True", "JobSuspended",
				            "Job suspended", x.now, false);
				wl_event(c, job, "Normal", "Suspended", "Job suspended");
			}
		} else {
			if (wl_cond_true(st, "Suspended")) {
				wl_cond_set(st, "Suspended", "False", "JobResumed", "Job resumed",
				            x.now, false);
				wl_event(c, job, "Normal", "Resumed", "Job resumed");
				cJSON_DeleteItemFromObjectCaseSensitive(st, "startTime");
				start = -1;
			}
			if (start < 0) {
				cJSON_DeleteItemFromObjectCaseSensitive(st, "startTime");
				cJSON_AddStringToObject(st, "startTime", ts);
				start = x.now;
			}
			if (need)
				manage(&x);
			if (deadline >= 0)
				wl_enqueue_after(c, key,
				                 (uint64_t)MAX(start + deadline - x.now, 0) * 1000 +
				                     200);
		}
	}
	set_count(st, "active", (int64_t)x.nactive, false);
	set_count(st, "succeeded", x.indexed ? indexes_count(&x.done) : counted_s, false);
	set_count(st, "failed", counted_f, false);
	set_count(st, "terminating", x.terminating, true);
	set_count(st, "ready", ready, true);
	cJSON_DeleteItemFromObjectCaseSensitive(st, "uncountedTerminatedPods");
	cJSON *u = cJSON_AddObjectToObject(st, "uncountedTerminatedPods");
	if (cJSON_GetArraySize(new_unc_s))
		cJSON_AddItemToObject(u, "succeeded", new_unc_s);
	else
		cJSON_Delete(new_unc_s);
	if (cJSON_GetArraySize(new_unc_f))
		cJSON_AddItemToObject(u, "failed", new_unc_f);
	else
		cJSON_Delete(new_unc_f);
	if (x.indexed) {
		struct buf b = { 0 };
		indexes_format(&x.done, &b);
		cJSON_DeleteItemFromObjectCaseSensitive(st, "completedIndexes");
		cJSON_AddStringToObject(st, "completedIndexes", b.data ? b.data : "");
		buf_free(&b);
	}
	/* The next sync waits for this write: it decides on counts and conditions from it. */
	cJSON *sp = wl_status_patch(job, st);
	if (sp)
		wl_patch(w, WL_JOBS, wl_str(job, "metadata.namespace"),
		         wl_str(job, "metadata.name"), "status", sp, on_written,
		         new_op(jc, key, true, NULL));
	/* Finalizers come off pods already recorded in the stored status (or of a finished job). */
	for (size_t i = 0; i < nunfin; i++)
		wl_update(w, WL_PODS, NULL, without_tracking(unfinalize[i]), on_written,
		          new_op(jc, key, true, NULL));
	if (finished)
		ttl(&x);
	free(unfinalize);
	free(x.active);
	free(x.done.v);
	free(pods);
	return 0;
}

/* --- informer handlers ------------------------------------------------------------------------------ */

static const cJSON *pod_owner(struct jc *jc, const cJSON *pod)
{
	return wl_resolve_owner(jc->c.w, WL_JOBS, "Job", pod);
}

/* A pod whose job is gone would keep its finalizer forever: take it off. */
static void orphan_finalizer(struct jc *jc, const cJSON *pod)
{
	const cJSON *ref = wl_controller_ref(pod);
	if (!has_tracking(pod) || (ref && strcmp(wl_str(ref, "kind"), "Job")) ||
	    pod_owner(jc, pod) ||
	    !controllers_workloads_synced((struct controllers_workloads *)jc->c.w))
		return;
	wl_update(jc->c.w, WL_PODS, NULL, without_tracking(pod), NULL, NULL);
}

static void pod_gone(struct jc *jc, const cJSON *pod)
{
	const cJSON *job = pod_owner(jc, pod);
	if (!job)
		return;
	char key[512], pk[512];
	wl_key(job, key, sizeof(key));
	wl_key(pod, pk, sizeof(pk));
	wl_exp_deleted(&jc->exp, key, pk);
	wl_enqueue_key(&jc->c, key);
}

static void enqueue_selecting(struct jc *jc, const cJSON *pod)
{
	const cJSON **v;
	size_t n = wl_selecting(jc->c.w, WL_JOBS, wl_str(pod, "metadata.namespace"),
	                        "spec.selector", obj_get(pod, "metadata.labels"), &v);
	for (size_t i = 0; i < n; i++)
		wl_enqueue(&jc->c, v[i]);
	free(v);
}

static void on_pod_add(void *arg, const cJSON *pod)
{
	struct jc *jc = arg;
	if (wl_deleting(pod)) {
		pod_gone(jc, pod);
		orphan_finalizer(jc, pod);
		return;
	}
	const cJSON *job = pod_owner(jc, pod);
	if (job) {
		char key[512];
		wl_key(job, key, sizeof(key));
		wl_exp_created(&jc->exp, key);
		wl_enqueue_key(&jc->c, key);
	} else if (!wl_controller_ref(pod)) {
		enqueue_selecting(jc, pod);
	}
	orphan_finalizer(jc, pod);
}

static void on_pod_update(void *arg, const cJSON *old, const cJSON *cur)
{
	struct jc *jc = arg;
	if (wl_deleting(cur) && !wl_deleting(old))
		pod_gone(jc, cur);
	const cJSON *ojob = pod_owner(jc, old), *job = pod_owner(jc, cur);
	if (ojob && ojob != job)
		wl_enqueue(&jc->c, ojob);
	if (job)
		wl_enqueue(&jc->c, job);
	else if (!wl_controller_ref(cur))
		enqueue_selecting(jc, cur);
	orphan_finalizer(jc, cur);
}

static void on_pod_del(void *arg, const cJSON *pod)
{
	pod_gone(arg, pod);
}

static void on_job(void *arg, const cJSON *job)
{
	wl_enqueue(arg, job);
}

static void on_job_update(void *arg, const cJSON *old, const cJSON *job)
{
	wl_enqueue(arg, job);
}

static void job_resync(struct wl_ctl *c)
{
	wl_enqueue_all(c, WL_JOBS);
}

static void job_free(struct wl_ctl *c)
{
	struct jc *jc = (struct jc *)c;
	wl_ctl_destroy(c);
	wl_exp_free(&jc->exp);
	const char *k;
	void *v;
	for (size_t i = 0; strmap_next(&jc->st, &i, &k, &v);) {
		struct job_state *s = v;
		strmap_free(&s->seen);
		free(s);
	}
	strmap_free(&jc->st);
	free(jc);
}

struct wl_ctl *wl_job_new(struct wl *w)
{
	struct jc *jc = xcalloc(1, sizeof(*jc));
	wl_ctl_init(&jc->c, w, "job-controller");
	jc->c.sync = job_sync;
	jc->c.resync = job_resync;
	jc->c.free = job_free;
	struct informer_handlers jh = { on_job, on_job_update, on_job, NULL, jc };
	informer_add_handlers(w->inf[WL_JOBS], &jh);
	struct informer_handlers ph = { on_pod_add, on_pod_update, on_pod_del, NULL, jc };
	informer_add_handlers(w->inf[WL_PODS], &ph);
	return &jc->c;
}
