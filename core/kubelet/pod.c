/* pod: the pod worker. One state machine per pod, level-triggered as upstream's SyncPod: from
 * the spec and the runtime cache it works out the next actions (a sandbox, the next init
 * container, the app containers to start or restart with back-off, containers to kill),
 * runs them as CRI calls on the loop, and syncs again when they are done or something
 * changes. Deleted pods end gracefully: preStop, SIGTERM, SIGKILL at the end of the grace
 * period, sandbox removed, then the object deleted. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_TAG "kubelet"
#include "core/kubelet/kubelet-internal.h"
#include "core/log/log.h"
#include "core/obj/obj.h"

#define SANDBOX_TIMEOUT_MS (4 * 60 * 1000)
#define CRI_TIMEOUT_MS (2 * 60 * 1000)
#define PULL_TIMEOUT_MS (10 * 60 * 1000)
#define CONFIG_RETRY_MS 10000
#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 30000
#define KEEP_INSTANCES 8

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void set_str(char **dst, const char *s)
{
	if (s && *dst && !strcmp(*dst, s))
		return;
	free(*dst);
	*dst = s ? xstrdup(s) : NULL;
}

static void set_wait(struct kl_cstate *cs, const char *reason, const char *msg)
{
	set_str(&cs->wait_reason, reason);
	set_str(&cs->wait_msg, msg);
}

static bool pod_bool(const struct kl_pod *p, const char *path)
{
	bool b = false;
	obj_get_bool(p->obj, path, &b);
	return b;
}

static const char *restart_policy(const struct kl_pod *p)
{
	const char *s = obj_get_str(p->obj, "spec.restartPolicy");
	return s ? s : "Always";
}

static bool deleting(const struct kl_pod *p)
{
	return obj_get(p->obj, "metadata.deletionTimestamp") != NULL;
}

const cJSON *kl_pod_container_spec(const struct kl_pod *p, const char *name, bool *init)
{
	static const char *const lists[] = { "spec.initContainers", "spec.containers" };
	for (int l = 0; l < 2; l++) {
		const cJSON *c;
		cJSON_ArrayForEach(c, obj_get(p->obj, lists[l]))
		{
			const char *n = obj_get_str(c, "name");
			if (n && name && !strcmp(n, name)) {
				if (init)
					*init = l == 0;
				return c;
			}
		}
	}
	return NULL;
}

struct kl_cstate *kl_pod_cstate(struct kl_pod *p, const char *name)
{
	for (size_t i = 0; name && i < p->ncs; i++)
		if (!strcmp(p->cs[i].name, name))
			return &p->cs[i];
	return NULL;
}

/* --- lifetime -------------------------------------------------------------------------- */

static void on_pod_timer(struct loop *l, struct loop_timer *t)
{
	kl_pod_sync(container_of(t, struct kl_pod, timer));
}

static void build_cstates(struct kl_pod *p)
{
	static const char *const lists[] = { "spec.initContainers", "spec.containers" };
	size_t n = 0;
	for (int l = 0; l < 2; l++)
		n += (size_t)cJSON_GetArraySize(obj_get(p->obj, lists[l]));
	p->cs = xcalloc(n + 1, sizeof(*p->cs));
	for (int l = 0; l < 2; l++) {
		const cJSON *c;
		cJSON_ArrayForEach(c, obj_get(p->obj, lists[l]))
		{
			const char *name = obj_get_str(c, "name");
			if (!name || kl_pod_cstate(p, name))
				continue;
			p->cs[p->ncs].name = xstrdup(name);
			p->cs[p->ncs].init = l == 0;
			p->ncs++;
		}
	}
}

struct kl_pod *kl_pod_new(struct kubelet *k, const cJSON *obj)
{
	struct kl_pod *p = xcalloc(1, sizeof(*p));
	const char *uid = obj_get_str(obj, "metadata.uid"),
	           *ns = obj_get_str(obj, "metadata.namespace"),
	           *name = obj_get_str(obj, "metadata.name");
	p->k = k;
	p->uid = xstrdup(uid);
	p->ns = xstrdup(ns ? ns : "default");
	p->name = xstrdup(name ? name : "");
	p->obj = obj_dup(obj);
	p->created_ms = loop_now_ms(k->loop);
	build_cstates(p);
	loop_timer_init(&p->timer, on_pod_timer);
	kl_status_init(p);
	/* What the API has is what we wrote last (a restart of tug changes nothing). */
	const cJSON *st = obj_get(obj, "status");
	if (cJSON_IsObject(st))
		p->written = obj_dup(st);
	const char *phase = obj_get_str(obj, "status.phase");
	p->terminal = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
	const char *t = obj_get_str(obj, "status.startTime");
	int64_t sec;
	int32_t nsec;
	if (t && obj_time_parse(t, &sec, &nsec, NULL) == 0)
		p->start_time = sec;
	strmap_put(&k->workers, p->uid, p);
	kl_pod_sync(p);
	return p;
}

void kl_pod_update(struct kl_pod *p, const cJSON *obj)
{
	cJSON *old = p->obj;
	p->obj = obj_dup(obj);
	bool resync =
	    !obj_equal(obj_get(old, "spec"), obj_get(obj, "spec")) ||
	    !obj_equal(obj_get(old, "metadata.labels"), obj_get(obj, "metadata.labels")) ||
	    !obj_equal(obj_get(old, "metadata.annotations"),
	               obj_get(obj, "metadata.annotations")) ||
	    !obj_equal(obj_get(old, "metadata.deletionTimestamp"),
	               obj_get(obj, "metadata.deletionTimestamp"));
	cJSON_Delete(old);
	if (resync)
		kl_pod_sync(p);
}

void kl_pod_gone(struct kl_pod *p)
{
	p->gone = true;
	kl_pod_sync(p);
}

void kl_pod_free(struct kl_pod *p)
{
	struct kubelet *k = p->k;
	loop_timer_disarm(k->loop, &p->timer);
	loop_timer_disarm(k->loop, &p->status_timer);
	for (size_t i = 0; i < p->ncs; i++) {
		struct kl_cstate *cs = &p->cs[i];
		kl_probes_stop(cs);
		free(cs->name);
		free(cs->wait_reason);
		free(cs->wait_msg);
		free(cs->kill_msg);
	}
	free(p->cs);
	cJSON_Delete(p->obj);
	cJSON_Delete(p->written);
	free(p->uid);
	free(p->ns);
	free(p->name);
	free(p->volume_error);
	free(p->sandbox_error);
	free(p);
}

/* Frees a pod that is gone and cleaned once nothing refers to it any more. */
static void maybe_free(struct kl_pod *p)
{
	struct kubelet *k = p->k;
	if (p->refs || p->busy || !p->gone || !p->cleaned || p->status_busy)
		return;
	if (strmap_get(&k->workers, p->uid) == p)
		strmap_del(&k->workers, p->uid);
	log_info("pod %s/%s (%s) forgotten", p->ns, p->name, p->uid);
	kl_pod_free(p);
}

void kl_pod_unref(struct kl_pod *p)
{
	p->refs--;
	maybe_free(p);
}

/* --- operations ------------------------------------------------------------------------- */

struct op {
	struct kubelet *k;
	struct kl_pod *p; /* NULL: cleaning up for no pod */
	struct kl_cstate *cs;
	char *id, *sb_id, *name, *image;
	uint32_t attempt;
	bool init;
	struct kl_image img;
	uint64_t deadline_ms;
	uint64_t t0;
};

static struct op *op_new(struct kubelet *k, struct kl_pod *p, struct kl_cstate *cs)
{
	struct op *o = xcalloc(1, sizeof(*o));
	o->k = k;
	o->p = p;
	o->cs = cs;
	o->t0 = time_mono_ms();
	if (p) {
		p->refs++;
		p->busy++;
	}
	return o;
}

static void image_free(struct kl_image *i)
{
	free(i->id);
	free(i->ref);
	free(i->username);
	memset(i, 0, sizeof(*i));
}

void kl_image_drop(struct kl_image *i)
{
	if (i)
		image_free(i);
	free(i);
}

/* Ends an op: when it was the pod's last, the pod's status is written and it syncs again
 * if anything asked for that meanwhile. */
static void op_end(struct op *o)
{
	struct kl_pod *p = o->p;
	free(o->id);
	free(o->sb_id);
	free(o->name);
	free(o->image);
	image_free(&o->img);
	free(o);
	if (!p)
		return;
	p->busy--;
	if (!p->busy && !p->k->stopping) {
		kl_status_update(p);
		if (p->dirty)
			kl_pod_sync(p);
	}
	kl_pod_unref(p);
}

/* A CRI call made for op o: counted while in flight; o ends at once when it cannot be sent. */
#define OP_CRI(o, call, req, cb)                                                                   \
	do {                                                                                       \
		(o)->k->cri_calls++;                                                               \
		if (call((o)->k->cri, (req), CRI_TIMEOUT_MS, 0, (cb), (o)) < 0) {                  \
			(o)->k->cri_calls--;                                                       \
			op_end(o);                                                                 \
		}                                                                                  \
	} while (0)

/* Retries a sync later (the timer is one per pod: the earliest wins). */
void kl_pod_sync_after(struct kl_pod *p, uint64_t ms)
{
	struct kubelet *k = p->k;
	if (k->stopping)
		return;
	uint64_t due = loop_now_ms(k->loop) + ms;
	if (loop_timer_armed(&p->timer) && p->timer.due_ms <= due)
		return;
	loop_timer_arm(k->loop, &p->timer, ms);
}

/* --- sandboxes ---------------------------------------------------------------------------- */

static void sandbox_failed(struct kl_pod *p, const char *msg)
{
	set_str(&p->sandbox_error, msg);
	/* retry with back-off: 1 s doubling to 30 s */
	p->volume_retry_ms =
	    p->volume_retry_ms ? MIN(p->volume_retry_ms * 2, RETRY_MAX_MS) : RETRY_MIN_MS;
	kl_pod_sync_after(p, p->volume_retry_ms);
}

static void on_sandbox_status(int code, const char *msg,
                              const Runtime__V1__PodSandboxStatusResponse *resp, void *arg)
{
	struct op *o = arg;
	struct kubelet *k = o->k;
	kl_cri_done(k, code);
	if (!k->stopping) {
		struct kl_sandbox *s = strmap_get(&k->sandboxes, o->id);
		if (s && code == GRPC_OK && resp->status)
			kl_sandbox_set_status(k, s, resp->status);
		if (s)
			s->asking = false;
		if (o->p)
			o->p->dirty = true; /* go on with the containers */
	}
	op_end(o);
}

static void ask_sandbox_status(struct op *o)
{
	Runtime__V1__PodSandboxStatusRequest req = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
	req.pod_sandbox_id = o->id;
	OP_CRI(o, cri_pod_sandbox_status, &req, on_sandbox_status);
}

static void on_sandbox_run(int code, const char *msg,
                           const Runtime__V1__RunPodSandboxResponse *resp, void *arg)
{
	struct op *o = arg;
	struct kubelet *k = o->k;
	struct kl_pod *p = o->p;
	kl_cri_done(k, code);
	if (k->stopping) {
		op_end(o);
		return;
	}
	if (code != GRPC_OK) {
		log_warn("pod %s/%s: RunPodSandbox: %s", p->ns, p->name, msg);
		kl_event(k, p->obj, "Warning", "FailedCreatePodSandBox",
		         "Failed to create pod sandbox: %s", msg);
		sandbox_failed(p, msg);
		op_end(o);
		return;
	}
	free(p->sandbox_error);
	p->sandbox_error = NULL;
	p->volume_retry_ms = 0;
	struct kl_sandbox *s = kl_sandbox_add(k, resp->pod_sandbox_id);
	set_str(&s->uid, p->uid);
	set_str(&s->name, p->name);
	set_str(&s->ns, p->ns);
	s->attempt = o->attempt;
	s->state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY;
	s->created_ns = now_ns();
	s->asking = true;
	log_debug("pod %s/%s: sandbox %.12s in %llu ms", p->ns, p->name, s->id,
	          (unsigned long long)(time_mono_ms() - o->t0));
	o->id = xstrdup(s->id);
	ask_sandbox_status(o);
}

static void create_sandbox(struct kl_pod *p, uint32_t attempt)
{
	struct kubelet *k = p->k;
	struct op *o = op_new(k, p, NULL);
	o->attempt = attempt;
	struct kl_arena a = { 0 };
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	req.config = kl_sandbox_config(p, attempt, &a);
	mkdir_p(req.config->log_directory, 0755);
	k->cri_calls++;
	if (cri_run_pod_sandbox(k->cri, &req, SANDBOX_TIMEOUT_MS, 0, on_sandbox_run, o) < 0) {
		k->cri_calls--;
		sandbox_failed(p, "the container runtime is not reachable");
		op_end(o);
	}
	kl_arena_free(&a);
}

/* Stop then remove a sandbox (and with it its containers). p may be NULL (orphans). */
static void on_sandbox_removed(int code, const char *msg,
                               const Runtime__V1__RemovePodSandboxResponse *resp, void *arg)
{
	struct op *o = arg;
	struct kubelet *k = o->k;
	kl_cri_done(k, code);
	if (!k->stopping) {
		if (code == GRPC_OK || code == GRPC_NOT_FOUND) {
			/* its containers went with it */
			const char *key;
			void *val;
			char **gone = NULL;
			size_t n = 0;
			for (size_t i = 0; strmap_next(&k->ctrs, &i, &key, &val);) {
				struct kl_ctr *c = val;
				if (c->sandbox_id && !strcmp(c->sandbox_id, o->id)) {
					gone = xrealloc(gone, (n + 1) * sizeof(char *));
					gone[n++] = xstrdup(key);
				}
			}
			for (size_t i = 0; i < n; i++) {
				kl_ctr_forget(k, gone[i]);
				free(gone[i]);
			}
			free(gone);
			kl_sandbox_forget(k, o->id);
		} else {
			log_warn("remove sandbox %.12s: %s", o->id, msg);
			struct kl_sandbox *s = strmap_get(&k->sandboxes, o->id);
			if (s)
				s->removing = false;
			if (o->p)
				kl_pod_sync_after(o->p, RETRY_MIN_MS * 2);
		}
		if (o->p)
			o->p->dirty = true;
	}
	op_end(o);
}

static void on_sandbox_stopped(int code, const char *msg,
                               const Runtime__V1__StopPodSandboxResponse *resp, void *arg)
{
	struct op *o = arg;
	struct kubelet *k = o->k;
	kl_cri_done(k, code);
	if (k->stopping) {
		op_end(o);
		return;
	}
	if (code != GRPC_OK && code != GRPC_NOT_FOUND) {
		log_warn("stop sandbox %.12s: %s", o->id, msg);
		struct kl_sandbox *s = strmap_get(&k->sandboxes, o->id);
		if (s)
			s->removing = false;
		if (o->p)
			kl_pod_sync_after(o->p, RETRY_MIN_MS * 2);
		op_end(o);
		return;
	}
	Runtime__V1__RemovePodSandboxRequest req = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	req.pod_sandbox_id = o->id;
	OP_CRI(o, cri_remove_pod_sandbox, &req, on_sandbox_removed);
}

static void remove_sandbox(struct kubelet *k, struct kl_pod *p, struct kl_sandbox *s)
{
	s->removing = true;
	struct op *o = op_new(k, p, NULL);
	o->id = xstrdup(s->id);
	Runtime__V1__StopPodSandboxRequest req = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	req.pod_sandbox_id = s->id;
	k->cri_calls++;
	if (cri_stop_pod_sandbox(k->cri, &req, CRI_TIMEOUT_MS, 0, on_sandbox_stopped, o) < 0) {
		k->cri_calls--;
		s->removing = false;
		op_end(o);
	}
}

void kl_remove_sandbox(struct kubelet *k, const char *id)
{
	struct kl_sandbox *s = strmap_get(&k->sandboxes, id);
	if (s && !s->removing)
		remove_sandbox(k, NULL, s);
}

/* A terminal pod keeps its containers (for logs) but not its sandbox's network. */
static void on_terminal_stopped(int code, const char *msg,
                                const Runtime__V1__StopPodSandboxResponse *resp, void *arg)
{
	struct op *o = arg;
	kl_cri_done(o->k, code);
	if (!o->k->stopping && code == GRPC_OK) {
		struct kl_sandbox *s = strmap_get(&o->k->sandboxes, o->id);
		if (s) {
			s->state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
			s->touched_ms = loop_now_ms(o->k->loop);
		}
	}
	op_end(o);
}

static void stop_terminal(struct kl_pod *p)
{
	struct kubelet *k = p->k;
	if (p->sandbox_stopped)
		return;
	p->sandbox_stopped = true;
	for (size_t i = 0; i < p->ncs; i++)
		kl_probes_stop(&p->cs[i]);
	const char *key;
	void *val;
	for (size_t i = 0; strmap_next(&k->sandboxes, &i, &key, &val);) {
		struct kl_sandbox *s = val;
		if (!s->uid || strcmp(s->uid, p->uid) ||
		    s->state != RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY)
			continue;
		struct op *o = op_new(k, p, NULL);
		o->id = xstrdup(s->id);
		Runtime__V1__StopPodSandboxRequest req =
		    RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
		req.pod_sandbox_id = s->id;
		OP_CRI(o, cri_stop_pod_sandbox, &req, on_terminal_stopped);
	}
}

/* --- stopping containers ----------------------------------------------------------------------- */

static void on_stopped_status(int code, const char *msg,
                              const Runtime__V1__ContainerStatusResponse *resp, void *arg)
{
	struct op *o = arg;
	struct kubelet *k = o->k;
	kl_cri_done(k, code);
	if (!k->stopping) {
		struct kl_ctr *c = strmap_get(&k->ctrs, o->id);
		if (c && code == GRPC_OK && resp->status)
			kl_ctr_set_status(k, c, resp->status);
		else if (c && code == GRPC_NOT_FOUND)
			kl_ctr_forget(k, o->id);
		if (o->p)
			o->p->dirty = true;
	}
	op_end(o);
}

static void refresh_ctr(struct op *o)
{
	Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	req.container_id = o->id;
	OP_CRI(o, cri_container_status, &req, on_stopped_status);
}

static void on_ctr_stopped(int code, const char *msg,
                           const Runtime__V1__StopContainerResponse *resp, void *arg)
{
	struct op *o = arg;
	struct kubelet *k = o->k;
	kl_cri_done(k, code);
	struct kl_ctr *c = strmap_get(&k->ctrs, o->id);
	if (c)
		c->stopping = false;
	if (k->stopping) {
		op_end(o);
		return;
	}
	if (code != GRPC_OK && code != GRPC_NOT_FOUND) {
		log_warn("stop container %.12s: %s", o->id, msg);
		if (o->p)
			kl_pod_sync_after(o->p, RETRY_MIN_MS * 2);
	}
	if (o->cs && code == GRPC_OK)
		o->cs->kill_requested = false;
	refresh_ctr(o);
}

static void do_stop(struct op *o)
{
	struct kubelet *k = o->k;
	uint64_t now = loop_now_ms(k->loop);
	int64_t grace = o->deadline_ms > now ? (int64_t)((o->deadline_ms - now + 999) / 1000) : 0;
	if (grace < KL_MIN_GRACE_S)
		grace = KL_MIN_GRACE_S;
	Runtime__V1__StopContainerRequest req = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	req.container_id = o->id;
	req.timeout = grace;
	k->cri_calls++;
	if (cri_stop_container(k->cri, &req, (uint64_t)grace * 1000 + 30000, 0, on_ctr_stopped, o) <
	    0) {
		k->cri_calls--;
		struct kl_ctr *c = strmap_get(&k->ctrs, o->id);
		if (c)
			c->stopping = false;
		op_end(o);
	}
}

static void on_prestop(void *arg, bool ok, const char *msg)
{
	struct op *o = arg;
	if (!ok && o->p && !o->k->stopping)
		kl_event(o->k, o->p->obj, "Warning", "FailedPreStopHook", "PreStopHook failed: %s",
		         msg);
	if (o->k->stopping) {
		struct kl_ctr *c = strmap_get(&o->k->ctrs, o->id);
		if (c)
			c->stopping = false;
		op_end(o);
		return;
	}
	do_stop(o);
}

/* Stops container c of p within grace_s seconds (preStop hook first when asked). */
static void stop_container(struct kl_pod *p, struct kl_ctr *c, int64_t grace_s, bool prestop,
                           const char *why)
{
	struct kubelet *k = p->k;
	struct kl_cstate *cs = kl_pod_cstate(p, c->name);
	struct op *o = op_new(k, p, cs);
	o->id = xstrdup(c->id);
	o->deadline_ms = loop_now_ms(k->loop) + (uint64_t)(grace_s > 0 ? grace_s : 0) * 1000;
	c->stopping = true;
	kl_event(k, p->obj, "Normal", "Killing", "%s", why);
	const cJSON *spec = kl_pod_container_spec(p, c->name, NULL);
	const cJSON *hook = obj_get(spec, "lifecycle.preStop");
	if (prestop && cJSON_IsObject(hook)) {
		kl_run_hook(p, hook, spec, c->id, (uint64_t)(grace_s > 0 ? grace_s : 1) * 1000,
		            on_prestop, o);
		return;
	}
	do_stop(o);
}

/* --- starting containers ------------------------------------------------------------------------ */

static void start_failed(struct op *o, const char *reason, const char *msg, uint64_t retry_ms)
{
	struct kl_pod *p = o->p;
	if (o->cs) {
		o->cs->starting = false;
		set_wait(o->cs, reason, msg);
	}
	if (!o->k->stopping) {
		log_warn("pod %s/%s: container %s: %s: %s", p->ns, p->name, o->name, reason, msg);
		kl_pod_sync_after(p, retry_ms);
	}
	op_end(o);
}

static void on_poststart(void *arg, bool ok, const char *msg)
{
	struct op *o = arg;
	struct kl_pod *p = o->p;
	if (o->cs)
		o->cs->starting = false;
	if (!ok && !o->k->stopping) {
		kl_event(o->k, p->obj, "Warning", "FailedPostStartHook", "PostStartHook failed: %s",
		         msg);
		struct kl_ctr *c = strmap_get(&o->k->ctrs, o->id);
		if (c && !c->stopping) {
			char why[300];
			snprintf(why, sizeof(why), "FailedPostStartHook: stopping container %s",
			         o->name);
			int64_t grace = 30;
			obj_get_i64(p->obj, "spec.terminationGracePeriodSeconds", &grace);
			stop_container(p, c, grace, false, why);
		}
	}
	op_end(o);
}

static void on_started(int code, const char *msg, const Runtime__V1__StartContainerResponse *resp,
                       void *arg)
{
	struct op *o = arg;
	struct kubelet *k = o->k;
	struct kl_pod *p = o->p;
	kl_cri_done(k, code);
	if (k->stopping) {
		op_end(o);
		return;
	}
	struct kl_ctr *c = strmap_get(&k->ctrs, o->id);
	if (code != GRPC_OK) {
		kl_event(k, p->obj, "Warning", "Failed", "Error: %s", msg);
		if (o->cs) {
			o->cs->starting = false;
			set_wait(o->cs, NULL, NULL);
		}
		log_warn("pod %s/%s: start container %s: %s", p->ns, p->name, o->name, msg);
		/* what the runtime made of it (exited, StartError) comes from its status */
		refresh_ctr(o);
		return;
	}
	if (c) {
		c->state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
		c->started_ns = now_ns();
		c->status_known = true;
		c->touched_ms = loop_now_ms(k->loop);
	}
	if (o->cs)
		set_wait(o->cs, NULL, NULL);
	kl_event(k, p->obj, "Normal", "Started", "Started container %s", o->name);
	log_debug("pod %s/%s: container %s started in %llu ms (%llu ms after the pod was seen)",
	          p->ns, p->name, o->name, (unsigned long long)(time_mono_ms() - o->t0),
	          (unsigned long long)(loop_now_ms(k->loop) - p->created_ms));
	const cJSON *spec = kl_pod_container_spec(p, o->name, NULL);
	const cJSON *hook = obj_get(spec, "lifecycle.postStart");
	if (cJSON_IsObject(hook)) {
		int64_t grace = 30;
		obj_get_i64(p->obj, "spec.terminationGracePeriodSeconds", &grace);
		kl_run_hook(p, hook, spec, o->id, (uint64_t)grace * 1000, on_poststart, o);
		return;
	}
	if (o->cs)
		o->cs->starting = false;
	/* Probes (and so readiness) start now, not at the next relist. */
	if (o->cs && c)
		kl_probes_sync(p, o->cs, c);
	op_end(o);
}

static void on_created(int code, const char *msg, const Runtime__V1__CreateContainerResponse *resp,
                       void *arg)
{
	struct op *o = arg;
	struct kubelet *k = o->k;
	struct kl_pod *p = o->p;
	kl_cri_done(k, code);
	if (k->stopping) {
		op_end(o);
		return;
	}
	if (code != GRPC_OK) {
		kl_event(k, p->obj, "Warning", "Failed", "Error: %s", msg);
		/* the image may have gone from under our cache */
		kl_image_drop(strmap_del(&k->images, o->image));
		start_failed(o, "CreateContainerError", msg, CONFIG_RETRY_MS);
		return;
	}
	struct kl_ctr *c = kl_ctr_add(k, resp->container_id);
	set_str(&c->sandbox_id, o->sb_id);
	set_str(&c->uid, p->uid);
	set_str(&c->name, o->name);
	c->attempt = o->attempt;
	c->restarts = (int)o->attempt;
	c->init = o->init;
	c->state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED;
	c->created_ns = now_ns();
	set_str(&c->image, o->image);
	set_str(&c->image_ref, o->img.ref ? o->img.ref : o->img.id);
	const cJSON *spec = kl_pod_container_spec(p, o->name, NULL);
	char *hash = kl_container_hash(spec);
	set_str(&c->hash, hash);
	free(hash);
	const char *tp = obj_get_str(spec, "terminationMessagePath"),
	           *tpol = obj_get_str(spec, "terminationMessagePolicy");
	set_str(&c->term_path, tp);
	set_str(&c->term_policy, tpol ? tpol : "File");
	char *ld = kl_pod_log_dir(k, p);
	free(c->log_path);
	c->log_path = xasprintf("%s/%s/%u.log", ld, o->name, o->attempt);
	free(ld);
	c->status_known = true;
	o->id = xstrdup(c->id);
	kl_event(k, p->obj, "Normal", "Created", "Created container %s", o->name);
	Runtime__V1__StartContainerRequest req = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	req.container_id = c->id;
	k->cri_calls++;
	if (cri_start_container(k->cri, &req, CRI_TIMEOUT_MS, 0, on_started, o) < 0) {
		k->cri_calls--;
		start_failed(o, "RunContainerError", "the container runtime is not reachable",
		             RETRY_MIN_MS);
	}
}

static void create_container(struct op *o)
{
	struct kubelet *k = o->k;
	struct kl_pod *p = o->p;
	struct kl_sandbox *sb = strmap_get(&k->sandboxes, o->sb_id);
	if (!sb || sb->state != RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY) {
		if (o->cs)
			o->cs->starting = false;
		p->dirty = true;
		op_end(o);
		return;
	}
	const cJSON *spec = kl_pod_container_spec(p, o->name, NULL);
	struct kl_arena a = { 0 };
	struct err e = { 0 };
	Runtime__V1__ContainerConfig *cfg = NULL;
	const char *ip = pod_bool(p, "spec.hostNetwork") ? k->node_ip : sb->ip;
	if (!spec || kl_container_config(p, spec, o->init, o->attempt, (int)o->attempt, &o->img, ip,
	                                 &a, &cfg, &e) < 0) {
		kl_arena_free(&a);
		kl_event(k, p->obj, "Warning", "Failed", "Error: %s", e.msg);
		start_failed(o, "CreateContainerConfigError", e.msg, CONFIG_RETRY_MS);
		return;
	}
	Runtime__V1__CreateContainerRequest req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	req.pod_sandbox_id = sb->id;
	req.config = cfg;
	req.sandbox_config = kl_sandbox_config(p, sb->attempt, &a);
	k->cri_calls++;
	int r = cri_create_container(k->cri, &req, CRI_TIMEOUT_MS, 0, on_created, o);
	kl_arena_free(&a);
	if (r < 0) {
		k->cri_calls--;
		start_failed(o, "CreateContainerError", "the container runtime is not reachable",
		             RETRY_MIN_MS);
	}
}

static void remember_image(struct kubelet *k, const char *name, const Runtime__V1__Image *img,
                           struct kl_image *out)
{
	image_free(out);
	out->id = xstrdup(img->id ? img->id : "");
	out->ref = xstrdup(img->n_repo_digests ? img->repo_digests[0] : out->id);
	out->uid = img->uid ? img->uid->value : -1;
	out->username = xstrdup(img->username ? img->username : "");
	struct kl_image *c = xcalloc(1, sizeof(*c));
	c->id = xstrdup(out->id);
	c->ref = xstrdup(out->ref);
	c->uid = out->uid;
	c->username = xstrdup(out->username);
	struct kl_image *old = strmap_put(&k->images, name, c);
	kl_image_drop(old);
}

static void pull_image(struct op *o);

static void on_image_status(int code, const char *msg, const Runtime__V1__ImageStatusResponse *resp,
                            void *arg)
{
	struct op *o = arg;
	struct kubelet *k = o->k;
	struct kl_pod *p = o->p;
	kl_cri_done(k, code);
	if (k->stopping) {
		op_end(o);
		return;
	}
	if (code != GRPC_OK) {
		start_failed(o, "ErrImagePull", msg, RETRY_MIN_MS * 5);
		return;
	}
	const cJSON *spec = kl_pod_container_spec(p, o->name, NULL);
	const char *policy = obj_get_str(spec, "imagePullPolicy");
	if (resp->image && resp->image->id && *resp->image->id) {
		remember_image(k, o->image, resp->image, &o->img);
		if (!o->deadline_ms) /* not after a pull */
			kl_event(k, p->obj, "Normal", "Pulled",
			         "Container image \"%s\" already present on machine", o->image);
		create_container(o);
		return;
	}
	if (o->deadline_ms) { /* pulled, and still not there */
		start_failed(o, "ErrImagePull", "the image is not there after pulling it",
		             RETRY_MIN_MS * 10);
		return;
	}
	if (policy && !strcmp(policy, "Never")) {
		char m[600];
		snprintf(m, sizeof(m),
		         "Container image \"%s\" is not present with pull policy of Never",
		         o->image);
		kl_event(k, p->obj, "Warning", "ErrImageNeverPull", "%s", m);
		start_failed(o, "ErrImageNeverPull", m, CONFIG_RETRY_MS);
		return;
	}
	pull_image(o);
}

static void image_status(struct op *o)
{
	struct kubelet *k = o->k;
	Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
	Runtime__V1__ImageSpec is = RUNTIME__V1__IMAGE_SPEC__INIT;
	is.image = o->image;
	req.image = &is;
	k->cri_calls++;
	if (cri_image_status(k->cri, &req, CRI_TIMEOUT_MS, 0, on_image_status, o) < 0) {
		k->cri_calls--;
		start_failed(o, "ErrImagePull", "the container runtime is not reachable",
		             RETRY_MIN_MS);
	}
}

static void on_pulled(int code, const char *msg, const Runtime__V1__PullImageResponse *resp,
                      void *arg)
{
	struct op *o = arg;
	struct kubelet *k = o->k;
	struct kl_pod *p = o->p;
	kl_cri_done(k, code);
	if (k->stopping) {
		op_end(o);
		return;
	}
	if (code != GRPC_OK) {
		struct kl_image *have = strmap_get(&k->images, o->image);
		if (have) {
			/* imagePullPolicy Always with no registry in reach (an air-gapped edge
			 * box): the image we have is better than no pod */
			kl_event(k, p->obj, "Warning", "Failed",
			         "Failed to pull image \"%s\": %s; using the image present on the "
			         "node",
			         o->image, msg);
			o->img.id = xstrdup(have->id);
			o->img.ref = xstrdup(have->ref);
			o->img.uid = have->uid;
			o->img.username = xstrdup(have->username ? have->username : "");
			create_container(o);
			return;
		}
		kl_event(k, p->obj, "Warning", "Failed", "Failed to pull image \"%s\": %s",
		         o->image, msg);
		char m[700];
		snprintf(m, sizeof(m), "Back-off pulling image \"%s\": %s", o->image, msg);
		start_failed(o, "ErrImagePull", m, KL_BACKOFF_INITIAL_MS);
		return;
	}
	kl_event(k, p->obj, "Normal", "Pulled", "Successfully pulled image \"%s\" in %llums",
	         o->image, (unsigned long long)(time_mono_ms() - o->t0));
	o->deadline_ms = 1; /* marks "after a pull" for on_image_status */
	image_status(o);
}

static void pull_image(struct op *o)
{
	struct kubelet *k = o->k;
	kl_event(k, o->p->obj, "Normal", "Pulling", "Pulling image \"%s\"", o->image);
	Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__ImageSpec is = RUNTIME__V1__IMAGE_SPEC__INIT;
	is.image = o->image;
	req.image = &is;
	o->t0 = time_mono_ms();
	k->cri_calls++;
	if (cri_pull_image(k->cri, &req, PULL_TIMEOUT_MS, 0, on_pulled, o) < 0) {
		k->cri_calls--;
		start_failed(o, "ErrImagePull", "the container runtime is not reachable",
		             RETRY_MIN_MS);
	}
}

static void start_container(struct kl_pod *p, struct kl_cstate *cs, const cJSON *spec,
                            struct kl_sandbox *sb, const struct kl_ctr *latest)
{
	struct kubelet *k = p->k;
	const char *image = obj_get_str(spec, "image");
	if (!image || !*image) {
		set_wait(cs, "InvalidImageName", "no image");
		return;
	}
	struct op *o = op_new(k, p, cs);
	o->name = xstrdup(cs->name);
	o->init = cs->init;
	o->attempt = latest ? latest->attempt + 1 : 0;
	o->sb_id = xstrdup(sb->id);
	o->image = xstrdup(image);
	cs->starting = true;
	free(cs->kill_msg);
	cs->kill_msg = NULL;
	cs->kill_requested = false;
	const char *policy = obj_get_str(spec, "imagePullPolicy");
	if (policy && !strcmp(policy, "Always")) {
		pull_image(o);
		return;
	}
	/* IfNotPresent/Never: an image we saw lately is there still (CreateContainer failing
	 * drops it from the cache) */
	struct kl_image *have = strmap_get(&k->images, image);
	if (have) {
		o->img.id = xstrdup(have->id);
		o->img.ref = xstrdup(have->ref);
		o->img.uid = have->uid;
		o->img.username = xstrdup(have->username ? have->username : "");
		kl_event(k, p->obj, "Normal", "Pulled",
		         "Container image \"%s\" already present on machine", image);
		create_container(o);
		return;
	}
	image_status(o);
}

/* --- removing old containers ------------------------------------------------------------------- */

static void on_ctr_removed(int code, const char *msg,
                           const Runtime__V1__RemoveContainerResponse *resp, void *arg)
{
	struct op *o = arg;
	struct kubelet *k = o->k;
	kl_cri_done(k, code);
	if (!k->stopping) {
		struct kl_ctr *c = strmap_get(&k->ctrs, o->id);
		if (code == GRPC_OK || code == GRPC_NOT_FOUND) {
			if (c && c->log_path)
				unlink(c->log_path);
			kl_ctr_forget(k, o->id);
		} else if (c) {
			c->removing = false;
		}
	}
	op_end(o);
}

/* Keeps, per container, the newest instance and the one before (kubectl logs --previous),
 * as upstream's container GC does; older ones go. */
static void gc_instances(struct kl_pod *p)
{
	struct kubelet *k = p->k;
	for (size_t i = 0; i < p->ncs; i++) {
		struct kl_ctr *inst[KEEP_INSTANCES];
		size_t n = kl_instances(k, p->uid, p->cs[i].name, inst, KEEP_INSTANCES);
		for (size_t j = 2; j < n; j++) {
			struct kl_ctr *c = inst[j];
			if (c->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED ||
			    c->stopping)
				continue;
			c->removing = true;
			struct op *o = op_new(k, NULL, NULL);
			o->id = xstrdup(c->id);
			Runtime__V1__RemoveContainerRequest req =
			    RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
			req.container_id = c->id;
			k->cri_calls++;
			if (cri_remove_container(k->cri, &req, CRI_TIMEOUT_MS, 0, on_ctr_removed,
			                         o) < 0) {
				k->cri_calls--;
				c->removing = false;
				op_end(o);
			}
		}
	}
}

/* --- termination ----------------------------------------------------------------------------- */

static void on_deleted(void *arg, int code, const char *message, cJSON *obj)
{
	struct kl_pod *p = arg;
	struct kubelet *k = p->k;
	kl_write_done(k);
	p->deleting = false;
	if (!k->stopping) {
		if (code == 200 || code == 404 || code == 409) {
			/* 409: the name belongs to another pod now; ours is gone either way */
			log_info("pod %s/%s deleted", p->ns, p->name);
			if (code != 200)
				p->gone = true;
		} else {
			log_warn("pod %s/%s: delete: %d %s", p->ns, p->name, code, message);
			kl_pod_sync_after(p, RETRY_MIN_MS * 2);
		}
	}
	kl_pod_unref(p);
}

static void delete_object(struct kl_pod *p)
{
	struct kubelet *k = p->k;
	if (p->deleting || p->gone || k->stopping)
		return;
	p->deleting = true;
	p->refs++;
	k->writes++;
	client_delete(k->c, client_kind("", "pods"), p->ns, p->name, 0, NULL, p->uid, on_deleted,
	              p);
}

static int64_t grace_of(const struct kl_pod *p)
{
	int64_t g = 30;
	if (!obj_get_i64(p->obj, "metadata.deletionGracePeriodSeconds", &g))
		obj_get_i64(p->obj, "spec.terminationGracePeriodSeconds", &g);
	return g < 0 ? 0 : g;
}

static void terminate(struct kl_pod *p)
{
	struct kubelet *k = p->k;
	uint64_t now = loop_now_ms(k->loop);
	if (!p->term_started) {
		p->term_started = true;
		/* gone without a graceful delete (--force): no time left */
		int64_t grace = p->gone && !deleting(p) ? 0 : grace_of(p);
		p->term_deadline_ms = now + (uint64_t)grace * 1000;
		for (size_t i = 0; i < p->ncs; i++)
			kl_probes_stop(&p->cs[i]);
		log_info("pod %s/%s: stopping (grace %llds)", p->ns, p->name, (long long)grace);
	}
	if (!k->runtime_ok) {
		kl_pod_sync_after(p, RETRY_MIN_MS);
		return;
	}
	bool waiting = false;
	const char *key;
	void *val;
	struct kl_ctr *run[64];
	size_t nrun = 0;
	for (size_t i = 0; strmap_next(&k->ctrs, &i, &key, &val);) {
		struct kl_ctr *c = val;
		if (!c->uid || strcmp(c->uid, p->uid) ||
		    c->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING)
			continue;
		waiting = true;
		if (!c->stopping && nrun < ARRAY_SIZE(run))
			run[nrun++] = c;
	}
	int64_t left =
	    p->term_deadline_ms > now ? (int64_t)((p->term_deadline_ms - now) / 1000) : 0;
	for (size_t i = 0; i < nrun; i++) {
		char why[300];
		snprintf(why, sizeof(why), "Stopping container %s", run[i]->name);
		stop_container(p, run[i], left, true, why);
	}
	if (waiting)
		return;
	for (size_t i = 0; strmap_next(&k->sandboxes, &i, &key, &val);) {
		struct kl_sandbox *s = val;
		if (!s->uid || strcmp(s->uid, p->uid))
			continue;
		waiting = true;
		if (!s->removing)
			remove_sandbox(k, p, s);
	}
	if (waiting)
		return;
	if (!p->cleaned) {
		kl_volumes_teardown(k, p->uid);
		char *ld = kl_pod_log_dir(k, p);
		kl_remove_tree(ld);
		free(ld);
		p->cleaned = true;
		log_info("pod %s/%s: stopped and cleaned up", p->ns, p->name);
	}
	if (!p->gone) {
		/* the final status (containers terminated), then the object goes */
		kl_status_update(p);
		delete_object(p);
		return;
	}
	maybe_free(p);
}

/* --- the sync ------------------------------------------------------------------------------ */

static bool ran_in(const struct kl_ctr *c, const struct kl_sandbox *sb)
{
	return c && c->sandbox_id && sb && !strcmp(c->sandbox_id, sb->id);
}

static bool is_running(const struct kl_ctr *c)
{
	return c && c->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
}

static bool is_exited(const struct kl_ctr *c)
{
	return c && (c->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED ||
	             c->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN);
}

/* Restart or not, and when: false with the CrashLoopBackOff wait set while backing off. */
static bool may_restart(struct kl_pod *p, struct kl_cstate *cs, const struct kl_ctr *last)
{
	uint64_t wait = 0;
	if (kl_backoff_allow(&cs->backoff, last->finished_ns, now_ns(), &wait))
		return true;
	char m[600];
	snprintf(m, sizeof(m), "back-off %llus restarting failed container=%s pod=%s_%s(%s)",
	         (unsigned long long)(cs->backoff.ms / 1000), cs->name, p->name, p->ns, p->uid);
	if (!cs->wait_reason || strcmp(cs->wait_reason, "CrashLoopBackOff") || !cs->wait_msg ||
	    strcmp(cs->wait_msg, m))
		kl_event(p->k, p->obj, "Warning", "BackOff",
		         "Back-off restarting failed container %s in pod %s_%s(%s)", cs->name,
		         p->name, p->ns, p->uid);
	set_wait(cs, "CrashLoopBackOff", m);
	kl_pod_sync_after(p, wait);
	return false;
}

/* Kills what runs in sandboxes other than the current one (an old sandbox died). */
static bool kill_strays(struct kl_pod *p, const struct kl_sandbox *sb)
{
	struct kubelet *k = p->k;
	const char *key;
	void *val;
	struct kl_ctr *run[32];
	size_t n = 0;
	bool any = false;
	for (size_t i = 0; strmap_next(&k->ctrs, &i, &key, &val);) {
		struct kl_ctr *c = val;
		if (!c->uid || strcmp(c->uid, p->uid) || !is_running(c) || ran_in(c, sb))
			continue;
		any = true;
		if (!c->stopping && n < ARRAY_SIZE(run))
			run[n++] = c;
	}
	for (size_t i = 0; i < n; i++) {
		char why[200];
		snprintf(why, sizeof(why), "Stopping container %s: its pod sandbox changed",
		         run[i]->name);
		stop_container(p, run[i], grace_of(p), false, why);
	}
	return any;
}

static void sync_containers(struct kl_pod *p, struct kl_sandbox *sb)
{
	struct kubelet *k = p->k;
	const char *policy = restart_policy(p);
	bool never = !strcmp(policy, "Never"), on_failure = !strcmp(policy, "OnFailure");

	/* Init containers, in order: each must succeed before the next starts. */
	const cJSON *c;
	cJSON_ArrayForEach(c, obj_get(p->obj, "spec.initContainers"))
	{
		struct kl_cstate *cs = kl_pod_cstate(p, obj_get_str(c, "name"));
		if (!cs)
			continue;
		const char *rp = obj_get_str(c, "restartPolicy");
		bool sidecar = rp && !strcmp(rp, "Always");
		struct kl_ctr *inst[2];
		size_t n = kl_instances(k, p->uid, cs->name, inst, 2);
		struct kl_ctr *latest = n ? inst[0] : NULL;
		struct kl_ctr *cur = ran_in(latest, sb) ? latest : NULL;
		if (cs->starting || (cur && cur->stopping))
			return;
		kl_probes_sync(p, cs, cur);
		if (is_running(cur)) {
			if (sidecar && cs->kill_requested) {
				stop_container(p, cur, grace_of(p), false, cs->kill_msg);
				return;
			}
			if (sidecar && cs->started)
				continue; /* a started sidecar lets the next one go */
			return;
		}
		if (cur && !cur->status_known)
			return; /* its exit is being looked at */
		if (!sidecar && is_exited(cur) && cur->exit_code == 0)
			continue;
		if (is_exited(cur)) {
			if (!sidecar && never)
				return; /* the pod has failed */
			if (!may_restart(p, cs, cur))
				return;
		}
		set_wait(cs, NULL, NULL);
		start_container(p, cs, c, sb, latest);
		return;
	}

	/* App containers, all at once. */
	cJSON_ArrayForEach(c, obj_get(p->obj, "spec.containers"))
	{
		struct kl_cstate *cs = kl_pod_cstate(p, obj_get_str(c, "name"));
		if (!cs)
			continue;
		struct kl_ctr *inst[2];
		size_t n = kl_instances(k, p->uid, cs->name, inst, 2);
		struct kl_ctr *latest = n ? inst[0] : NULL;
		if (cs->starting || (latest && latest->stopping))
			continue;
		kl_probes_sync(p, cs, is_running(latest) ? latest : NULL);
		if (is_running(latest)) {
			if (cs->kill_requested) {
				int64_t g = grace_of(p);
				const char *kind =
				    strstr(cs->kill_msg ? cs->kill_msg : "", "startup")
				        ? "startupProbe"
				        : "livenessProbe";
				char path[64];
				snprintf(path, sizeof(path), "%s.terminationGracePeriodSeconds",
				         kind);
				obj_get_i64(c, path, &g);
				stop_container(p, latest, g, true, cs->kill_msg);
				continue;
			}
			char *hash = kl_container_hash(c);
			bool changed = latest->hash && strcmp(latest->hash, hash);
			free(hash);
			if (changed) {
				char why[200];
				snprintf(why, sizeof(why),
				         "Container %s definition changed, will be restarted",
				         cs->name);
				stop_container(p, latest, grace_of(p), true, why);
			}
			continue;
		}
		if (latest && !latest->status_known)
			continue;
		if (latest && latest->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED &&
		    ran_in(latest, sb)) {
			/* created but never started (tug stopped in between): a new one */
		} else if (is_exited(latest) && ran_in(latest, sb)) {
			bool restart = !never && !(on_failure && latest->exit_code == 0);
			if (!restart) {
				set_wait(cs, NULL, NULL);
				continue;
			}
			if (!may_restart(p, cs, latest))
				continue;
		}
		set_wait(cs, NULL, NULL);
		start_container(p, cs, c, sb, latest);
	}
	gc_instances(p);
}

static bool any_instances(struct kl_pod *p)
{
	struct kl_ctr *inst[1];
	for (size_t i = 0; i < p->ncs; i++)
		if (kl_instances(p->k, p->uid, p->cs[i].name, inst, 1))
			return true;
	return false;
}

void kl_pod_sync(struct kl_pod *p)
{
	struct kubelet *k = p->k;
	if (k->stopping)
		return;
	if (p->busy) {
		p->dirty = true;
		return;
	}
	p->dirty = false;
	loop_timer_disarm(k->loop, &p->timer);
	if (!k->relisted)
		return; /* the first relist syncs every pod */
	if (p->gone || deleting(p)) {
		terminate(p);
		return;
	}
	if (!p->start_time)
		p->start_time = (int64_t)time(NULL);
	if (p->terminal) {
		stop_terminal(p);
		return;
	}
	if (!k->runtime_ok) {
		kl_status_update(p);
		kl_pod_sync_after(p, RETRY_MIN_MS);
		return;
	}
	struct err e = { 0 };
	if (kl_volumes_setup(p, &e) < 0) {
		if (!p->volume_error || strcmp(p->volume_error, e.msg))
			kl_event(k, p->obj, "Warning", "FailedMount", "%s", e.msg);
		set_str(&p->volume_error, e.msg);
		p->volumes_ready = false;
		kl_status_update(p);
		kl_pod_sync_after(p, CONFIG_RETRY_MS / 5);
		return;
	}
	free(p->volume_error);
	p->volume_error = NULL;
	p->volumes_ready = true;

	struct kl_sandbox *sb = kl_newest_sandbox(k, p->uid);
	bool ready = sb && sb->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY;
	if (!ready) {
		if (kill_strays(p, sb))
			return;
		if (sb && !strcmp(restart_policy(p), "Never") && any_instances(p)) {
			/* as upstream: a Never pod whose sandbox died is not started again */
			kl_status_update(p);
			return;
		}
		if (!pod_bool(p, "spec.hostNetwork") && !k->network_ok) {
			set_str(&p->sandbox_error,
			        "network is not ready: container runtime network "
			        "not ready");
			kl_status_update(p);
			kl_pod_sync_after(p, RETRY_MIN_MS * 2);
			return;
		}
		if (sb)
			log_info("pod %s/%s: sandbox %.12s is not ready; making a new one", p->ns,
			         p->name, sb->id);
		create_sandbox(p, sb ? sb->attempt + 1 : 0);
		kl_status_update(p);
		return;
	}
	if (!sb->status_known) {
		if (!sb->asking) {
			struct op *o = op_new(k, p, NULL);
			o->id = xstrdup(sb->id);
			sb->asking = true;
			ask_sandbox_status(o);
		}
		return;
	}
	if (kill_strays(p, sb))
		return;
	sync_containers(p, sb);
	kl_status_update(p);
}

void kl_pod_refresh_volumes(struct kl_pod *p)
{
	kl_pod_sync(p);
}
