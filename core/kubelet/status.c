/* status: a pod's status as the kubelet reports it (phase, conditions, IPs, start time,
 * container statuses, QoS class), built from the spec, the runtime cache and the worker's
 * state, and written to pods/status only when it changed. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_TAG "kubelet"
#include "core/kubelet/kubelet-internal.h"
#include "cri/oci/oci.h"
#include "core/log/log.h"
#include "core/obj/obj.h"

static void add_time(cJSON *o, const char *key, int64_t ns)
{
	char t[32];
	obj_time_format(ns / 1000000000, t);
	cJSON_AddStringToObject(o, key, t);
}

static const char *runtime_name(struct kubelet *k)
{
	static const char *const def = "containerd";
	if (!k->runtime_version)
		return def;
	return k->runtime_version;
}

static void add_ctr_id(struct kubelet *k, cJSON *o, const char *key, const char *id)
{
	const char *rv = runtime_name(k), *sep = strstr(rv, "://");
	char v[200];
	snprintf(v, sizeof(v), "%.*s://%s", sep ? (int)(sep - rv) : (int)strlen(rv), rv, id);
	cJSON_AddStringToObject(o, key, v);
}

/* The termination message: the file the container wrote, or its log's tail on errors when
 * the policy says so. Read once per instance. */
static const char *term_message(struct kl_pod *p, struct kl_ctr *c)
{
	if (c->term_read)
		return c->term_msg;
	c->term_read = true;
	char *path =
	    xasprintf("%s/pods/%s/containers/%s/%u", p->k->data_dir, p->uid, c->name, c->attempt);
	char *text = NULL;
	size_t len = 0;
	if (read_file(path, &text, &len, 1 << 20) == 0 && len) {
		if (len > 4096)
			text[4096] = '\0';
		c->term_msg = text;
	} else {
		free(text);
	}
	free(path);
	if (!c->term_msg && c->exit_code != 0 && c->term_policy &&
	    !strcmp(c->term_policy, "FallbackToLogsOnError") && c->log_path)
		c->term_msg = kl_log_tail(c->log_path, 80, 2048);
	return c->term_msg;
}

static cJSON *terminated(struct kl_pod *p, struct kl_ctr *c)
{
	cJSON *t = cJSON_CreateObject();
	cJSON_AddNumberToObject(t, "exitCode", c->exit_code);
	const char *reason = c->reason ? c->reason : c->exit_code ? "Error" : "Completed";
	cJSON_AddStringToObject(t, "reason", reason);
	const char *msg = term_message(p, c);
	if (!msg && c->message && *c->message)
		msg = c->message;
	if (msg)
		cJSON_AddStringToObject(t, "message", msg);
	add_time(t, "startedAt", c->started_ns ? c->started_ns : c->created_ns);
	add_time(t, "finishedAt", c->finished_ns ? c->finished_ns : c->started_ns);
	add_ctr_id(p->k, t, "containerID", c->id);
	return t;
}

static cJSON *waiting(const char *reason, const char *msg)
{
	cJSON *w = cJSON_CreateObject();
	cJSON_AddStringToObject(w, "reason", reason);
	if (msg && *msg)
		cJSON_AddStringToObject(w, "message", msg);
	return w;
}

static bool ctr_running(const struct kl_ctr *c)
{
	return c && c->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
}

static bool ctr_exited(const struct kl_ctr *c)
{
	return c && (c->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED ||
	             c->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN);
}

/* One containerStatuses entry; *ready tells whether it counts as ready. */
static cJSON *container_status(struct kl_pod *p, const cJSON *spec, bool init, bool initializing,
                               bool *ready)
{
	struct kubelet *k = p->k;
	const char *name = obj_get_str(spec, "name");
	struct kl_cstate *cs = kl_pod_cstate(p, name);
	struct kl_ctr *inst[2];
	size_t n = kl_instances(k, p->uid, name, inst, 2);
	struct kl_ctr *latest = n ? inst[0] : NULL, *prev = n > 1 ? inst[1] : NULL;
	cJSON *st = cJSON_CreateObject();
	cJSON_AddStringToObject(st, "name", name);
	cJSON *state = cJSON_AddObjectToObject(st, "state");
	cJSON *last = cJSON_AddObjectToObject(st, "lastState");
	bool running = ctr_running(latest);
	*ready = false;
	if (running) {
		cJSON *r = cJSON_AddObjectToObject(state, "running");
		add_time(r, "startedAt",
		         latest->started_ns ? latest->started_ns : latest->created_ns);
		if (ctr_exited(prev) && prev->status_known)
			cJSON_AddItemToObject(last, "terminated", terminated(p, prev));
		*ready = cs && cs->ready && cs->probed_id && !strcmp(cs->probed_id, latest->id);
	} else if (ctr_exited(latest) && latest->status_known) {
		if (cs && cs->wait_reason) {
			/* waiting to run again (CrashLoopBackOff, ...): this exit is the last */
			cJSON_AddItemToObject(state, "waiting",
			                      waiting(cs->wait_reason, cs->wait_msg));
			cJSON_AddItemToObject(last, "terminated", terminated(p, latest));
		} else {
			cJSON_AddItemToObject(state, "terminated", terminated(p, latest));
			if (ctr_exited(prev) && prev->status_known)
				cJSON_AddItemToObject(last, "terminated", terminated(p, prev));
		}
	} else {
		const char *reason = cs && cs->wait_reason ? cs->wait_reason
		                     : initializing        ? "PodInitializing"
		                                           : "ContainerCreating";
		cJSON_AddItemToObject(state, "waiting",
		                      waiting(reason, cs && cs->wait_reason ? cs->wait_msg : NULL));
		if (ctr_exited(latest) && latest->status_known)
			cJSON_AddItemToObject(last, "terminated", terminated(p, latest));
	}
	cJSON_AddBoolToObject(st, "ready", *ready);
	cJSON_AddNumberToObject(st, "restartCount", latest ? latest->attempt : 0);
	/* as the runtime reports it once a container exists: normalized, as containerd names
	 * images ("busybox" -> "docker.io/library/busybox:latest"); before that, the spec's */
	const char *image = obj_get_str(spec, "image");
	_cleanup_free_ char *norm = latest && image ? oci_normalize_ref(image) : NULL;
	cJSON_AddStringToObject(st, "image", norm ? norm : image ? image : "");
	cJSON_AddStringToObject(st, "imageID",
	                        latest && latest->image_ref ? latest->image_ref : "");
	if (latest)
		add_ctr_id(k, st, "containerID", latest->id);
	cJSON_AddBoolToObject(st, "started", running && cs && cs->started);
	(void)init;
	return st;
}

/* --- phase ------------------------------------------------------------------------------ */

static const cJSON *status_of(const cJSON *statuses, const char *name)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, statuses)
	{
		const char *n = obj_get_str(s, "name");
		if (n && name && !strcmp(n, name))
			return s;
	}
	return NULL;
}

static const char *phase_of(const cJSON *spec, const cJSON *init_statuses, const cJSON *statuses,
                            bool terminated)
{
	const char *policy = obj_get_str(spec, "restartPolicy");
	bool never = policy && !strcmp(policy, "Never"),
	     always = !policy || !strcmp(policy, "Always");
	int pending_init = 0, failed_init = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, obj_get(spec, "initContainers"))
	{
		const char *rp = obj_get_str(c, "restartPolicy");
		if (rp && !strcmp(rp, "Always"))
			continue; /* sidecars do not hold the phase */
		const cJSON *s = status_of(init_statuses, obj_get_str(c, "name"));
		int64_t code = 0;
		if (!s) {
			pending_init++;
		} else if (obj_get(s, "state.running")) {
			pending_init++;
		} else if (obj_get(s, "state.terminated")) {
			obj_get_i64(s, "state.terminated.exitCode", &code);
			if (code != 0)
				failed_init++;
		} else if (obj_get(s, "lastState.terminated")) {
			obj_get_i64(s, "lastState.terminated.exitCode", &code);
			if (code != 0)
				failed_init++;
			else
				pending_init++;
		} else {
			pending_init++;
		}
	}
	if (failed_init && never)
		return "Failed";
	if (pending_init || failed_init)
		return "Pending";
	int running = 0, waiting = 0, stopped = 0, succeeded = 0;
	cJSON_ArrayForEach(c, obj_get(spec, "containers"))
	{
		const cJSON *s = status_of(statuses, obj_get_str(c, "name"));
		int64_t code = 0;
		if (!s) {
			waiting++;
		} else if (obj_get(s, "state.running")) {
			running++;
		} else if (obj_get(s, "state.terminated")) {
			stopped++;
			obj_get_i64(s, "state.terminated.exitCode", &code);
			if (code == 0)
				succeeded++;
		} else if (obj_get(s, "lastState.terminated")) {
			stopped++;
		} else {
			waiting++;
		}
	}
	if (waiting)
		return "Pending";
	if (running)
		return "Running";
	if (stopped) {
		if (always && !terminated)
			return "Running";
		if (stopped == succeeded)
			return "Succeeded";
		if (never || terminated)
			return "Failed";
		return "Running";
	}
	return "Pending";
}

const char *kl_phase(const cJSON *spec, const cJSON *init_statuses, const cJSON *statuses)
{
	return phase_of(spec, init_statuses, statuses, false);
}

/* --- conditions ------------------------------------------------------------------------- */

static const cJSON *old_condition(const cJSON *written, const char *type)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, obj_get(written, "conditions"))
	{
		const char *t = obj_get_str(c, "type");
		if (t && !strcmp(t, type))
			return c;
	}
	return NULL;
}

static void add_condition(cJSON *arr, const cJSON *written, const char *type, bool ok,
                          const char *reason, const char *msg)
{
	const char *st = ok ? "True" : "False";
	const cJSON *old = old_condition(written, type);
	const char *ost = obj_get_str(old, "status"), *ots = obj_get_str(old, "lastTransitionTime");
	char now[32];
	obj_time_format((int64_t)time(NULL), now);
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "type", type);
	cJSON_AddStringToObject(c, "status", st);
	cJSON_AddNullToObject(c, "lastProbeTime");
	cJSON_AddStringToObject(c, "lastTransitionTime",
	                        ost && ots && !strcmp(ost, st) ? ots : now);
	if (!ok && reason)
		cJSON_AddStringToObject(c, "reason", reason);
	if (!ok && msg)
		cJSON_AddStringToObject(c, "message", msg);
	cJSON_AddItemToArray(arr, c);
}

static bool ours(const char *type)
{
	static const char *const types[] = { "PodReadyToStartContainers", "Initialized", "Ready",
		                             "ContainersReady", "PodScheduled" };
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (!strcmp(type, types[i]))
			return true;
	return false;
}

static bool gate_true(const cJSON *pod, const char *type)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, obj_get(pod, "status.conditions"))
	{
		const char *t = obj_get_str(c, "type"), *s = obj_get_str(c, "status");
		if (t && s && !strcmp(t, type))
			return !strcmp(s, "True");
	}
	return false;
}

cJSON *kl_pod_status(struct kl_pod *p)
{
	struct kubelet *k = p->k;
	const cJSON *spec = obj_get(p->obj, "spec");
	cJSON *st = cJSON_CreateObject();
	struct kl_sandbox *sb = kl_newest_sandbox(k, p->uid);
	bool host_net = false;
	obj_get_bool(p->obj, "spec.hostNetwork", &host_net);
	bool sb_ready =
	    sb && sb->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY && sb->status_known;

	/* init containers first: their progress decides what the others wait for */
	cJSON *inits = cJSON_CreateArray();
	struct buf incomplete = { 0 }, unready = { 0 };
	const cJSON *c;
	bool initialized = true;
	cJSON_ArrayForEach(c, obj_get(spec, "initContainers"))
	{
		bool r;
		const char *name = obj_get_str(c, "name");
		if (!name)
			continue;
		cJSON *cst = container_status(p, c, true, true, &r);
		const char *rp = obj_get_str(c, "restartPolicy");
		bool sidecar = rp && !strcmp(rp, "Always");
		int64_t code = -1;
		bool done =
		    sidecar ? obj_get(cst, "state.running") && cJSON_IsTrue(obj_get(cst, "started"))
		            : obj_get(cst, "state.terminated") &&
		                  obj_get_i64(cst, "state.terminated.exitCode", &code) && code == 0;
		if (!done) {
			initialized = false;
			buf_printf(&incomplete, "%s%s", incomplete.len ? " " : "", name);
		}
		if (sidecar && !r)
			buf_printf(&unready, "%s%s", unready.len ? " " : "", name);
		cJSON_AddItemToArray(inits, cst);
	}
	/* once initialized, a later restart of an init container does not undo it */
	const cJSON *oinit = old_condition(p->written, "Initialized");
	if (!initialized && oinit &&
	    !strcmp(obj_get_str(oinit, "status") ? obj_get_str(oinit, "status") : "", "True") &&
	    sb_ready) {
		initialized = true;
		buf_reset(&incomplete);
	}
	cJSON *ctrs = cJSON_CreateArray();
	bool all_ready = true;
	cJSON_ArrayForEach(c, obj_get(spec, "containers"))
	{
		bool r;
		const char *name = obj_get_str(c, "name");
		if (!name)
			continue;
		cJSON_AddItemToArray(ctrs, container_status(p, c, false, !initialized, &r));
		if (!r) {
			all_ready = false;
			buf_printf(&unready, "%s%s", unready.len ? " " : "", name);
		}
	}
	if (unready.len)
		all_ready = false;
	bool any_running = false;
	cJSON_ArrayForEach(c, ctrs) any_running |= obj_get(c, "state.running") != NULL;
	cJSON_ArrayForEach(c, inits) any_running |= obj_get(c, "state.running") != NULL;
	const char *phase = phase_of(spec, inits, ctrs, p->term_started && !any_running);
	cJSON_AddStringToObject(st, "phase", phase);

	cJSON *conds = cJSON_AddArrayToObject(st, "conditions");
	bool done = !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
	add_condition(conds, p->written, "PodReadyToStartContainers", sb_ready && !done, NULL,
	              NULL);
	char msg[1200];
	snprintf(msg, sizeof(msg), "containers with incomplete status: [%s]",
	         incomplete.data ? incomplete.data : "");
	add_condition(conds, p->written, "Initialized", initialized, "ContainersNotInitialized",
	              msg);
	bool completed = !strcmp(phase, "Succeeded");
	snprintf(msg, sizeof(msg), "containers with unready status: [%s]",
	         unready.data ? unready.data : "");
	bool gates = true;
	const cJSON *g;
	cJSON_ArrayForEach(g, obj_get(spec, "readinessGates"))
	{
		const char *t = obj_get_str(g, "conditionType");
		if (t && !gate_true(p->obj, t))
			gates = false;
	}
	if (completed) {
		add_condition(conds, p->written, "Ready", false, "PodCompleted", NULL);
		add_condition(conds, p->written, "ContainersReady", false, "PodCompleted", NULL);
	} else {
		if (all_ready && !gates)
			add_condition(conds, p->written, "Ready", false, "ReadinessGatesNotReady",
			              "the status of pod readiness gate is not \"True\"");
		else
			add_condition(conds, p->written, "Ready", all_ready, "ContainersNotReady",
			              msg);
		add_condition(conds, p->written, "ContainersReady", all_ready, "ContainersNotReady",
		              msg);
	}
	add_condition(conds, p->written, "PodScheduled", true, NULL, NULL);
	/* conditions others own (readiness gates, DisruptionTarget) stay */
	cJSON_ArrayForEach(c, obj_get(p->obj, "status.conditions"))
	{
		const char *t = obj_get_str(c, "type");
		if (t && !ours(t))
			cJSON_AddItemToArray(conds, obj_dup(c));
	}
	buf_free(&incomplete);
	buf_free(&unready);

	cJSON_AddStringToObject(st, "hostIP", k->node_ip);
	cJSON *hips = cJSON_AddArrayToObject(st, "hostIPs");
	cJSON *hip = cJSON_CreateObject();
	cJSON_AddStringToObject(hip, "ip", k->node_ip);
	cJSON_AddItemToArray(hips, hip);
	const char *ip = host_net ? k->node_ip : sb && sb->ip ? sb->ip : NULL;
	if (ip && *ip) {
		cJSON_AddStringToObject(st, "podIP", ip);
		cJSON *pips = cJSON_AddArrayToObject(st, "podIPs");
		const char *both[] = { ip, !host_net ? sb->ip2 : NULL };
		for (size_t i = 0; i < ARRAY_SIZE(both) && both[i]; i++) {
			cJSON *pip = cJSON_CreateObject();
			cJSON_AddStringToObject(pip, "ip", both[i]);
			cJSON_AddItemToArray(pips, pip);
		}
	} else if (obj_get_str(p->written, "podIP")) {
		/* a dead sandbox's pod keeps its IPs */
		cJSON_AddStringToObject(st, "podIP", obj_get_str(p->written, "podIP"));
		if (obj_get(p->written, "podIPs"))
			cJSON_AddItemToObject(st, "podIPs", obj_dup(obj_get(p->written, "podIPs")));
	}
	if (p->start_time) {
		char t[32];
		obj_time_format(p->start_time, t);
		cJSON_AddStringToObject(st, "startTime", t);
	}
	if (cJSON_GetArraySize(inits))
		cJSON_AddItemToObject(st, "initContainerStatuses", inits);
	else
		cJSON_Delete(inits);
	cJSON_AddItemToObject(st, "containerStatuses", ctrs);
	cJSON_AddStringToObject(st, "qosClass", obj_qos_name(obj_pod_qos(p->obj)));
	return st;
}

/* --- writing ----------------------------------------------------------------------------- */

/* Whether every field of ours has that value in written. */
static bool same(const cJSON *ours_st, const cJSON *written)
{
	const cJSON *f;
	cJSON_ArrayForEach(f, ours_st)
	{
		if (!obj_equal(f, cJSON_GetObjectItemCaseSensitive(written, f->string)))
			return false;
	}
	return written != NULL;
}

static void write_status(struct kl_pod *p);

static void on_status_written(void *arg, int code, const char *message, cJSON *obj)
{
	struct kl_pod *p = arg;
	struct kubelet *k = p->k;
	kl_write_done(k);
	p->status_busy = false;
	if (!k->stopping) {
		if (code == 200) {
			const char *phase = obj_get_str(obj, "status.phase");
			if (!p->terminal && phase &&
			    (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))) {
				log_info("pod %s/%s %s", p->ns, p->name, phase);
				p->terminal = true;
				kl_pod_sync(p);
			}
		} else if (code != 404) {
			log_warn("pod %s/%s: status update: %d %s", p->ns, p->name, code, message);
			cJSON_Delete(p->written);
			p->written = NULL;
			p->status_again = true;
		}
		if (p->status_again && code != 404)
			write_status(p);
	}
	kl_pod_unref(p);
}

static void write_status(struct kl_pod *p)
{
	struct kubelet *k = p->k;
	if (k->stopping || p->gone)
		return;
	if (p->status_busy) {
		p->status_again = true;
		return;
	}
	p->status_again = false;
	/* A pod that has finished keeps the status it finished with. */
	const char *wphase = obj_get_str(p->written, "phase");
	if (p->terminal && wphase && (!strcmp(wphase, "Succeeded") || !strcmp(wphase, "Failed")))
		return;
	cJSON *st = kl_pod_status(p);
	if (same(st, p->written)) {
		cJSON_Delete(st);
		return;
	}
	/* remember what we wrote: the next status is compared with it */
	if (!p->written)
		p->written = cJSON_CreateObject();
	cJSON *f;
	cJSON_ArrayForEach(f, st)
	{
		cJSON_DeleteItemFromObjectCaseSensitive(p->written, f->string);
		cJSON_AddItemToObject(p->written, f->string, obj_dup(f));
	}
	cJSON *patch = cJSON_CreateObject();
	cJSON_AddItemToObject(patch, "status", st);
	p->status_busy = true;
	p->refs++;
	k->writes++;
	client_merge_patch(k->c, client_kind("", "pods"), p->ns, p->name, "status", patch,
	                   on_status_written, p);
}

static void on_status_timer(struct loop *l, struct loop_timer *t)
{
	write_status(container_of(t, struct kl_pod, status_timer));
}

void kl_status_init(struct kl_pod *p)
{
	loop_timer_init(&p->status_timer, on_status_timer);
}

/* Coalesces the changes of one turn of the loop into one write. */
void kl_status_update(struct kl_pod *p)
{
	if (p->k->stopping)
		return;
	if (!loop_timer_armed(&p->status_timer))
		loop_timer_arm(p->k->loop, &p->status_timer, 0);
}
