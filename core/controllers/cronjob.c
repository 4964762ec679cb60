/* cronjob: starts a CronJob's Jobs on its schedule (upstream's CronJobControllerV2): time zones,
 * startingDeadlineSeconds, concurrencyPolicy Allow/Forbid/Replace, suspend, the active list,
 * lastScheduleTime/lastSuccessfulTime, history limits; Jobs named <cronjob>-<minute>. */
#include <stdio.h>
#include <string.h>

#define LOG_TAG "cronjob"
#include "core/controllers/workloads-internal.h"
#include "core/log/log.h"

#define SCHEDULED_ANNOTATION "batch.kubernetes.io/cronjob-scheduled-timestamp"

struct cj_state {
	int inflight;
	bool failed;
};

struct cjc {
	struct wl_ctl c;
	struct strmap st; /* key -> struct cj_state* */
};

struct cj_op {
	struct cjc *cc;
	cJSON *status; /* a job create: the status to write once it exists */
	char job[320];
	char key[];
};

static struct cj_state *state(struct cjc *cc, const char *key)
{
	struct cj_state *s = strmap_get(&cc->st, key);
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		strmap_put(&cc->st, key, s);
	}
	return s;
}

static struct cj_op *new_op(struct cjc *cc, const char *key, const char *job)
{
	size_t n = strlen(key) + 1;
	struct cj_op *op = xcalloc(1, sizeof(*op) + n);
	op->cc = cc;
	memcpy(op->key, key, n);
	snprintf(op->job, sizeof(op->job), "%s", job ? job : "");
	state(cc, key)->inflight++;
	return op;
}

static void op_finish(struct wl *w, struct cj_op *op, bool failed)
{
	if (!w->stopping) {
		struct cj_state *s = state(op->cc, op->key);
		s->failed |= failed;
		if (--s->inflight == 0) {
			wl_enqueue_after(&op->cc->c, op->key, s->failed ? 500 : 0);
			s->failed = false;
		}
	}
	cJSON_Delete(op->status);
	free(op);
}

static void on_written(struct wl *w, void *arg, int code, const char *msg, cJSON *obj)
{
	struct cj_op *op = arg;
	if (!w->stopping && code >= 300 && code != 404)
		log_debug("%s: write failed (%d): %s", op->key, code, msg);
	op_finish(w, op, code >= 300 && code != 404);
}

static void write_status(struct cjc *cc, const char *key, const cJSON *cj, cJSON *status)
{
	cJSON *p = wl_status_patch(cj, status);
	if (p)
		wl_patch(cc->c.w, WL_CJ, wl_str(cj, "metadata.namespace"),
		         wl_str(cj, "metadata.name"), "status", p, on_written,
		         new_op(cc, key, NULL));
}

/* An ObjectReference to a job, as the active list holds them. */
static cJSON *job_ref(const cJSON *job)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "kind", "Job");
	cJSON_AddStringToObject(r, "namespace", wl_str(job, "metadata.namespace"));
	cJSON_AddStringToObject(r, "name", wl_str(job, "metadata.name"));
	cJSON_AddStringToObject(r, "uid", wl_str(job, "metadata.uid"));
	cJSON_AddStringToObject(r, "apiVersion", "batch/v1");
	const char *rv = obj_get_str(job, "metadata.resourceVersion");
	if (rv)
		cJSON_AddStringToObject(r, "resourceVersion", rv);
	return r;
}

static cJSON *active_list(cJSON *status)
{
	cJSON *a = cJSON_GetObjectItemCaseSensitive(status, "active");
	if (!cJSON_IsArray(a)) {
		cJSON_DeleteItemFromObjectCaseSensitive(status, "active");
		a = cJSON_AddArrayToObject(status, "active");
	}
	return a;
}

static void tidy(cJSON *status)
{
	if (cJSON_GetArraySize(obj_child(status, "active")) == 0)
		cJSON_DeleteItemFromObjectCaseSensitive(status, "active");
}

static void on_job_created(struct wl *w, void *arg, int code, const char *msg, cJSON *obj)
{
	struct cj_op *op = arg;
	if (w->stopping) {
		op_finish(w, op, false);
		return;
	}
	struct cjc *cc = op->cc;
	const cJSON *cj = wl_get_key(w, WL_CJ, op->key);
	cJSON *job = NULL;
	if (code == 409 && cj) {
		/* Already there (a sync before us, or someone else): ours only if we control it. */
		job = client_get(w->c, w->kind[WL_JOBS], wl_str(cj, "metadata.namespace"), op->job);
		const cJSON *ref = wl_controller_ref(job);
		if (!ref || strcmp(wl_str(ref, "uid"), wl_str(cj, "metadata.uid"))) {
			cJSON_Delete(job);
			job = NULL;
		}
	} else if (code < 300) {
		job = obj_dup(obj);
		if (cj)
			wl_event(&cc->c, cj, "Normal", "SuccessfulCreate", "Created job %s",
			         op->job);
	} else if (cj) {
		wl_event(&cc->c, cj, "Warning", "FailedCreate", "Error creating job: %s", msg);
	}
	if (cj && op->status) {
		if (job) {
			bool listed = false;
			const cJSON *r;
			cJSON_ArrayForEach(r, obj_child(op->status, "active"))
			{
				listed |= !strcmp(wl_str(r, "uid"), wl_str(job, "metadata.uid"));
			}
			if (!listed)
				cJSON_AddItemToArray(active_list(op->status), job_ref(job));
		} else {
			/* Not started: this time is not taken yet. */
			cJSON_DeleteItemFromObjectCaseSensitive(op->status, "lastScheduleTime");
			const cJSON *last = obj_get(cj, "status.lastScheduleTime");
			if (last)
				cJSON_AddItemToObject(op->status, "lastScheduleTime",
				                      obj_dup(last));
		}
		tidy(op->status);
		write_status(cc, op->key, cj, op->status);
		op->status = NULL;
	}
	cJSON_Delete(job);
	op_finish(w, op, code >= 300 && code != 409);
}

/* --- schedule ------------------------------------------------------------------------------- */

/*
 * Upstream's mostRecentScheduleTime: the latest scheduled time after the last one started (or
 * the creation, or now - startingDeadlineSeconds, whichever is latest) and not after now;
 * -1 when none. *missed tells how many were missed (counting stops past 100).
 */
static int64_t most_recent(const cJSON *cj, const struct wl_cron *s, const char *tz, int64_t now,
                           int *missed)
{
	int64_t earliest = wl_time(cj, "metadata.creationTimestamp", now);
	earliest = wl_time(cj, "status.lastScheduleTime", earliest);
	int64_t sds = wl_int(cj, "spec.startingDeadlineSeconds", -1);
	if (sds >= 0 && now - sds > earliest)
		earliest = now - sds;
	*missed = 0;
	int64_t t1 = wl_cron_next(s, earliest, tz);
	if (t1 < 0 || t1 > now)
		return -1;
	if (s->every_s) {
		int64_t k = (now - t1) / s->every_s;
		*missed = (int)MIN(k + 1, 101);
		return t1 + k * s->every_s;
	}
	for (int64_t t = t1; t >= 0 && t <= now && *missed <= 100; t = wl_cron_next(s, t, tz))
		(*missed)++;
	return wl_cron_prev(s, now, tz);
}

static void requeue_next(struct cjc *cc, const char *key, const struct wl_cron *s, const char *tz,
                         int64_t now)
{
	int64_t next = wl_cron_next(s, now, tz);
	if (next > now)
		wl_enqueue_after(&cc->c, key, (uint64_t)(next - now) * 1000 + 100);
}

/* --- history ------------------------------------------------------------------------------------ */

static int by_start(const void *pa, const void *pb)
{
	const cJSON *a = *(const cJSON *const *)pa, *b = *(const cJSON *const *)pb;
	int64_t ta = wl_time(a, "status.startTime", -1), tb = wl_time(b, "status.startTime", -1);
	if ((ta < 0) != (tb < 0))
		return ta < 0 ? 1 : -1;
	if (ta != tb)
		return ta < tb ? -1 : 1;
	return strcmp(wl_str(a, "metadata.name"), wl_str(b, "metadata.name"));
}

static void remove_active(cJSON *status, const char *uid)
{
	cJSON *a = cJSON_GetObjectItemCaseSensitive(status, "active");
	for (int i = cJSON_GetArraySize(a) - 1; i >= 0; i--)
		if (!strcmp(wl_str(cJSON_GetArrayItem(a, i), "uid"), uid))
			cJSON_DeleteItemFromArray(a, i);
}

static void delete_job(struct cjc *cc, const char *key, const cJSON *cj, const cJSON *job,
                       cJSON *status)
{
	wl_delete(cc->c.w, WL_JOBS, wl_str(job, "metadata.namespace"), wl_str(job, "metadata.name"),
	          wl_str(job, "metadata.uid"), "Background", on_written, new_op(cc, key, NULL));
	wl_event(&cc->c, cj, "Normal", "SuccessfulDelete", "Deleted job %s",
	         wl_str(job, "metadata.name"));
	remove_active(status, wl_str(job, "metadata.uid"));
}

/* successfulJobsHistoryLimit / failedJobsHistoryLimit: the oldest finished jobs beyond go. */
static void cleanup(struct cjc *cc, const char *key, const cJSON *cj, const cJSON **jobs, size_t n,
                    cJSON *status)
{
	static const char *const kinds[2] = { "Complete", "Failed" };
	static const char *const limits[2] = { "spec.successfulJobsHistoryLimit",
		                               "spec.failedJobsHistoryLimit" };
	const cJSON **v = xmalloc((n + 1) * sizeof(*v));
	for (int k = 0; k < 2; k++) {
		int64_t limit = wl_int(cj, limits[k], -1);
		if (limit < 0)
			continue;
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if (wl_cond_true(obj_get(jobs[i], "status"), kinds[k]) &&
			    !wl_deleting(jobs[i]))
				v[m++] = jobs[i];
		if ((int64_t)m <= limit)
			continue;
		qsort(v, m, sizeof(*v), by_start);
		for (size_t i = 0; i < m - (size_t)limit; i++)
			delete_job(cc, key, cj, v[i], status);
	}
	free(v);
}

/* --- sync ------------------------------------------------------------------------------------------ */

static bool in_active(const cJSON *status, const char *field, const char *val)
{
	const cJSON *r;
	cJSON_ArrayForEach(r, obj_child(status, "active"))
	{
		if (!strcmp(wl_str(r, field), val))
			return true;
	}
	return false;
}

static cJSON *job_for(const cJSON *cj, const char *name, int64_t scheduled, const char *tz)
{
	cJSON *job = cJSON_CreateObject();
	cJSON_AddStringToObject(job, "apiVersion", "batch/v1");
	cJSON_AddStringToObject(job, "kind", "Job");
	cJSON *meta = cJSON_AddObjectToObject(job, "metadata");
	cJSON_AddStringToObject(meta, "name", name);
	cJSON_AddStringToObject(meta, "namespace", wl_str(cj, "metadata.namespace"));
	const cJSON *l = obj_get(cj, "spec.jobTemplate.metadata.labels");
	const cJSON *a = obj_get(cj, "spec.jobTemplate.metadata.annotations");
	if (cJSON_IsObject(l))
		cJSON_AddItemToObject(meta, "labels", obj_dup(l));
	cJSON_AddItemToObject(meta, "annotations",
	                      cJSON_IsObject(a) ? obj_dup(a) : cJSON_CreateObject());
	char ts[40];
	wl_cron_format(scheduled, tz, ts);
	wl_set_annotation(job, SCHEDULED_ANNOTATION, ts);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(meta, "ownerReferences"),
	                     wl_owner_ref(cj, "batch/v1", "CronJob"));
	const cJSON *spec = obj_get(cj, "spec.jobTemplate.spec");
	cJSON_AddItemToObject(job, "spec", spec ? obj_dup(spec) : cJSON_CreateObject());
	return job;
}

static int cj_sync(struct wl_ctl *c, const char *key)
{
	struct cjc *cc = (struct cjc *)c;
	struct wl *w = c->w;
	const cJSON *cj = wl_get_key(w, WL_CJ, key);
	if (!cj) {
		free(strmap_del(&cc->st, key));
		return 0;
	}
	if (state(cc, key)->inflight || wl_stale(w, WL_CJ, cj))
		return 0;
	int64_t now = wl_now_s(w);
	const cJSON **jobs;
	size_t n = wl_owned(w, WL_JOBS, wl_str(cj, "metadata.uid"), &jobs);
	cJSON *st = obj_dup(obj_get(cj, "status"));
	if (!cJSON_IsObject(st)) {
		cJSON_Delete(st);
		st = cJSON_CreateObject();
	}
	for (size_t i = 0; i < n; i++) {
		const cJSON *job = jobs[i];
		const cJSON *js = obj_get(job, "status");
		const char *uid = wl_str(job, "metadata.uid"), *name = wl_str(job, "metadata.name");
		bool found = in_active(st, "uid", uid);
		bool done = wl_cond_true(js, "Complete") || wl_cond_true(js, "Failed");
		if (!found && !done && !wl_deleting(job)) {
			wl_event(c, cj, "Warning", "UnexpectedJob",
			         "Saw a job that the controller did not create or forgot: %s",
			         name);
		} else if (found && done) {
			remove_active(st, uid);
			wl_event(c, cj, "Normal", "SawCompletedJob",
			         "Saw completed job: %s, condition: %s", name,
			         wl_cond_true(js, "Complete") ? "Complete" : "Failed");
		}
		if (wl_cond_true(js, "Complete")) {
			int64_t t = wl_time(js, "completionTime", -1);
			if (t >= 0 && t > wl_time(st, "lastSuccessfulTime", -1)) {
				char ts[32];
				wl_time_str(t, ts);
				cJSON_DeleteItemFromObjectCaseSensitive(st, "lastSuccessfulTime");
				cJSON_AddStringToObject(st, "lastSuccessfulTime", ts);
			}
		}
	}
	/* Active jobs that are gone (asked of the store, not the cache) leave the list. */
	const cJSON *r;
	cJSON *gone = cJSON_CreateArray();
	cJSON_ArrayForEach(r, obj_child(st, "active"))
	{
		bool have = false;
		for (size_t i = 0; i < n && !have; i++)
			have = !strcmp(wl_str(jobs[i], "metadata.uid"), wl_str(r, "uid"));
		if (have)
			continue;
		cJSON *j =
		    client_get(w->c, w->kind[WL_JOBS], wl_str(r, "namespace"), wl_str(r, "name"));
		if (!j) {
			wl_event(c, cj, "Normal", "MissingJob", "Active job went missing: %s",
			         wl_str(r, "name"));
			cJSON_AddItemToArray(gone, cJSON_CreateString(wl_str(r, "uid")));
		}
		cJSON_Delete(j);
	}
	cJSON_ArrayForEach(r, gone)
	{
		remove_active(st, r->valuestring);
	}
	cJSON_Delete(gone);

	const char *tz = obj_get_str(cj, "spec.timeZone");
	struct wl_cron sched;
	struct err e = { 0 };
	cJSON *create = NULL;
	char name[320] = "";
	int64_t scheduled = -1;
	if (wl_deleting(cj) || cJSON_IsTrue(obj_get(cj, "spec.suspend"))) {
		/* status only */
	} else if (tz && !wl_tz_valid(tz)) {
		wl_event(c, cj, "Warning", "UnknownTimeZone",
		         "invalid timeZone: \"%s\": unknown time zone %s", tz, tz);
	} else if (wl_cron_parse(wl_str(cj, "spec.schedule"), &sched, &e) < 0) {
		wl_event(c, cj, "Warning", "UnparseableSchedule",
		         "unparseable schedule: \"%s\" : %s", wl_str(cj, "spec.schedule"), e.msg);
	} else if (wl_cron_next(&sched, now, tz) < 0) {
		wl_event(c, cj, "Warning", "InvalidSchedule",
		         "invalid schedule: %s : no scheduled time within five years",
		         wl_str(cj, "spec.schedule"));
	} else {
		int missed;
		scheduled = most_recent(cj, &sched, tz, now, &missed);
		if (scheduled >= 0 && missed > 100)
			wl_event(c, cj, "Warning", "TooManyMissedTimes",
			         "too many missed start times. Set or decrease "
			         ".spec.startingDeadlineSeconds or check clock skew");
		int64_t sds = wl_int(cj, "spec.startingDeadlineSeconds", -1);
		snprintf(name, sizeof(name), "%s-%lld", wl_str(cj, "metadata.name"),
		         (long long)(scheduled / 60));
		const char *policy = wl_str(cj, "spec.concurrencyPolicy");
		if (scheduled < 0) {
			/* nothing due */
		} else if (sds >= 0 && scheduled + sds < now) {
			char when[64];
			time_t t = (time_t)scheduled;
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(when, sizeof(when), "%a, %d %b %Y %H:%M:%S +0000", &tm);
			wl_event(c, cj, "Warning", "MissSchedule",
			         "Missed scheduled time to start a job: %s", when);
		} else if (in_active(st, "name", name) ||
		           wl_time(cj, "status.lastScheduleTime", -2) == scheduled) {
			/* already started */
		} else if (!strcmp(policy, "Forbid") &&
		           cJSON_GetArraySize(obj_child(st, "active"))) {
			wl_event(
			    c, cj, "Normal", "JobAlreadyActive",
			    "Not starting job because prior execution is running and concurrency "
			    "policy is Forbid");
		} else {
			if (!strcmp(policy, "Replace")) {
				cJSON *act = obj_dup(obj_child(st, "active"));
				cJSON_ArrayForEach(r, act)
				{
					const cJSON *j = wl_get(w, WL_JOBS, wl_str(r, "namespace"),
					                        wl_str(r, "name"));
					if (j)
						delete_job(cc, key, cj, j, st);
					else
						remove_active(st, wl_str(r, "uid"));
				}
				cJSON_Delete(act);
			}
			create = job_for(cj, name, scheduled, tz);
			char ts[32];
			wl_time_str(scheduled, ts);
			cJSON_DeleteItemFromObjectCaseSensitive(st, "lastScheduleTime");
			cJSON_AddStringToObject(st, "lastScheduleTime", ts);
		}
		requeue_next(cc, key, &sched, tz, now);
	}
	cleanup(cc, key, cj, jobs, n, st);
	if (create) {
		/* The status (with the job in the active list) follows the create. */
		struct cj_op *op = new_op(cc, key, name);
		op->status = st;
		wl_create(w, WL_JOBS, wl_str(cj, "metadata.namespace"), create, on_job_created, op);
	} else {
		tidy(st);
		write_status(cc, key, cj, st);
	}
	free(jobs);
	return 0;
}

/* --- informer handlers ------------------------------------------------------------------------------ */

static void on_job(void *arg, const cJSON *job)
{
	struct cjc *cc = arg;
	const cJSON *cj = wl_resolve_owner(cc->c.w, WL_CJ, "CronJob", job);
	if (cj)
		wl_enqueue(&cc->c, cj);
}

static void on_job_update(void *arg, const cJSON *old, const cJSON *job)
{
	on_job(arg, job);
}

static void on_cj(void *arg, const cJSON *cj)
{
	wl_enqueue(arg, cj);
}

static void on_cj_update(void *arg, const cJSON *old, const cJSON *cj)
{
	wl_enqueue(arg, cj);
}

static void cj_resync(struct wl_ctl *c)
{
	wl_enqueue_all(c, WL_CJ);
}

static void cj_free(struct wl_ctl *c)
{
	struct cjc *cc = (struct cjc *)c;
	wl_ctl_destroy(c);
	const char *k;
	void *v;
	for (size_t i = 0; strmap_next(&cc->st, &i, &k, &v);)
		free(v);
	strmap_free(&cc->st);
	free(cc);
}

struct wl_ctl *wl_cronjob_new(struct wl *w)
{
	struct cjc *cc = xcalloc(1, sizeof(*cc));
	wl_ctl_init(&cc->c, w, "cronjob-controller");
	cc->c.sync = cj_sync;
	cc->c.resync = cj_resync;
	cc->c.free = cj_free;
	struct informer_handlers ch = { on_cj, on_cj_update, on_cj, NULL, cc };
	informer_add_handlers(w->inf[WL_CJ], &ch);
	struct informer_handlers jh = { on_job, on_job_update, on_job, NULL, cc };
	informer_add_handlers(w->inf[WL_JOBS], &jh);
	return &cc->c;
}
