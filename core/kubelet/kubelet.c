/* kubelet: the pods half of the node agent: watches the pods bound to this node, keeps the
 * runtime cache current by relisting CRI every second (upstream's PLEG), tells pod workers
 * what changed, cleans up what no pod owns, and follows the runtime's health. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_TAG "kubelet"
#include "core/kubelet/kubelet-internal.h"
#include "core/log/log.h"
#include "core/obj/obj.h"

#define LIST_TIMEOUT_MS 10000
#define STATUS_TIMEOUT_MS 10000
#define HEALTH_MS 5000
#define GC_MS 10000
#define SHUTDOWN_MAX_MS 3000
/* Events are fire-and-forget writes: give them a moment to land before the loop stops. */
#define SHUTDOWN_SETTLE_MS 300

static void relist(struct kubelet *k);

/* --- bookkeeping -------------------------------------------------------------------------- */

static void check_drained(struct kubelet *k);

void kl_write_done(struct kubelet *k)
{
	k->writes--;
	if (k->stopping)
		check_drained(k);
}

static void set_runtime(struct kubelet *k, bool ok, const char *msg);

void kl_cri_done(struct kubelet *k, int code)
{
	k->cri_calls--;
	/* the runtime went away: pods wait for it instead of retrying at once */
	if (code == GRPC_UNAVAILABLE && k->runtime_ok && !k->stopping)
		set_runtime(k, false, "container runtime is down: connection lost");
}

struct kl_pod *kl_pod_find(struct kubelet *k, const char *uid)
{
	return uid ? strmap_get(&k->workers, uid) : NULL;
}

void kl_event(struct kubelet *k, const cJSON *pod, const char *type, const char *reason,
              const char *fmt, ...)
{
	if (k->stopping || !pod)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	client_event(k->c, "kubelet", pod, type, reason, "%s", msg);
}

const cJSON *kl_configmap(void *arg, const char *ns, const char *name)
{
	struct kubelet *k = arg;
	return k->configmaps ? informer_get(k->configmaps, ns, name) : NULL;
}

const cJSON *kl_secret(void *arg, const char *ns, const char *name)
{
	struct kubelet *k = arg;
	return k->secrets ? informer_get(k->secrets, ns, name) : NULL;
}

struct svc_collect {
	const char *ns;
	cJSON *out;
};

static int collect_svc(void *arg, const cJSON *obj)
{
	struct svc_collect *c = arg;
	const char *ns = obj_get_str(obj, "metadata.namespace");
	if (ns && !strcmp(ns, c->ns))
		cJSON_AddItemReferenceToArray(c->out, (cJSON *)obj);
	return 0;
}

cJSON *kl_services(struct kubelet *k, const char *ns)
{
	struct svc_collect c = { ns ? ns : "", cJSON_CreateArray() };
	if (k->services)
		informer_each(k->services, collect_svc, &c);
	return c.out;
}

/* --- the runtime cache ------------------------------------------------------------------- */

static void free_sandbox(struct kl_sandbox *s)
{
	if (!s)
		return;
	free(s->id);
	free(s->uid);
	free(s->name);
	free(s->ns);
	free(s->ip);
	free(s->ip2);
	free(s);
}

static void free_ctr(struct kl_ctr *c)
{
	if (!c)
		return;
	free(c->id);
	free(c->sandbox_id);
	free(c->uid);
	free(c->name);
	free(c->reason);
	free(c->message);
	free(c->image);
	free(c->image_ref);
	free(c->log_path);
	free(c->hash);
	free(c->term_path);
	free(c->term_policy);
	free(c->term_msg);
	free(c);
}

struct kl_sandbox *kl_sandbox_add(struct kubelet *k, const char *id)
{
	struct kl_sandbox *s = strmap_get(&k->sandboxes, id);
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		s->id = xstrdup(id);
		strmap_put(&k->sandboxes, id, s);
	}
	s->touched_ms = loop_now_ms(k->loop);
	return s;
}

void kl_sandbox_forget(struct kubelet *k, const char *id)
{
	free_sandbox(strmap_del(&k->sandboxes, id));
}

struct kl_ctr *kl_ctr_add(struct kubelet *k, const char *id)
{
	struct kl_ctr *c = strmap_get(&k->ctrs, id);
	if (!c) {
		c = xcalloc(1, sizeof(*c));
		c->id = xstrdup(id);
		strmap_put(&k->ctrs, id, c);
	}
	c->touched_ms = loop_now_ms(k->loop);
	return c;
}

void kl_ctr_forget(struct kubelet *k, const char *id)
{
	kl_logs_container_gone(k, id);
	free_ctr(strmap_del(&k->ctrs, id));
}

static void set_str(char **dst, const char *s)
{
	if (s && *dst && !strcmp(*dst, s))
		return;
	free(*dst);
	*dst = s ? xstrdup(s) : NULL;
}

static const char *kv_get(size_t n, Runtime__V1__ContainerStatus__LabelsEntry **kv, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (kv[i]->key && !strcmp(kv[i]->key, key))
			return kv[i]->value;
	return NULL;
}

/* Map entries of every CRI message share this layout (key = 1, value = 2). */
#define KV(n, arr, key) kv_get((n), (Runtime__V1__ContainerStatus__LabelsEntry **)(arr), (key))

static void ctr_labels(struct kl_ctr *c, size_t nl, void *labels, size_t na, void *ann)
{
	set_str(&c->uid, KV(nl, labels, KL_LABEL_POD_UID));
	set_str(&c->name, KV(nl, labels, KL_LABEL_CONTAINER));
	set_str(&c->hash, KV(na, ann, KL_ANN_HASH));
	set_str(&c->term_path, KV(na, ann, KL_ANN_TERM_PATH));
	set_str(&c->term_policy, KV(na, ann, KL_ANN_TERM_POLICY));
	const char *rc = KV(na, ann, KL_ANN_RESTARTS), *init = KV(na, ann, KL_ANN_INIT);
	if (rc)
		c->restarts = atoi(rc);
	c->init = init && !strcmp(init, "true");
}

void kl_ctr_set_status(struct kubelet *k, struct kl_ctr *c, const Runtime__V1__ContainerStatus *st)
{
	c->state = st->state;
	if (st->metadata)
		c->attempt = st->metadata->attempt;
	c->created_ns = st->created_at;
	c->started_ns = st->started_at;
	c->finished_ns = st->finished_at;
	c->exit_code = st->exit_code;
	set_str(&c->reason, st->reason && *st->reason ? st->reason : NULL);
	set_str(&c->message, st->message && *st->message ? st->message : NULL);
	if (st->image)
		set_str(&c->image, st->image->image);
	set_str(&c->image_ref, st->image_ref);
	set_str(&c->log_path, st->log_path && *st->log_path ? st->log_path : NULL);
	ctr_labels(c, st->n_labels, st->labels, st->n_annotations, st->annotations);
	c->status_known = true;
	c->touched_ms = loop_now_ms(k->loop);
}

struct kl_sandbox *kl_newest_sandbox(struct kubelet *k, const char *uid)
{
	struct kl_sandbox *best = NULL;
	const char *key;
	void *val;
	for (size_t i = 0; strmap_next(&k->sandboxes, &i, &key, &val);) {
		struct kl_sandbox *s = val;
		if (!s->uid || strcmp(s->uid, uid) || s->removing)
			continue;
		if (!best || s->attempt > best->attempt ||
		    (s->attempt == best->attempt && s->created_ns > best->created_ns))
			best = s;
	}
	return best;
}

size_t kl_instances(struct kubelet *k, const char *uid, const char *name, struct kl_ctr **out,
                    size_t max)
{
	size_t n = 0;
	const char *key;
	void *val;
	for (size_t i = 0; strmap_next(&k->ctrs, &i, &key, &val);) {
		struct kl_ctr *c = val;
		if (!c->uid || !c->name || strcmp(c->uid, uid) || strcmp(c->name, name) ||
		    c->removing)
			continue;
		/* insert sorted, newest (highest attempt, then latest creation) first */
		size_t j = n < max ? n : max;
		while (j > 0 && (out[j - 1]->attempt < c->attempt ||
		                 (out[j - 1]->attempt == c->attempt &&
		                  out[j - 1]->created_ns < c->created_ns))) {
			if (j < max)
				out[j] = out[j - 1];
			j--;
		}
		if (j < max)
			out[j] = c;
		if (n < max)
			n++;
	}
	return n;
}

/* --- PLEG: relist every second -------------------------------------------------------------- */

static void mark_changed(struct strmap *changed, const char *uid)
{
	if (uid)
		strmap_put(changed, uid, (void *)1);
}

static void relist_finish(struct kubelet *k);

/* A relist's status request for one container or sandbox, by ID. */
struct kl_ask {
	struct kubelet *k;
	char *id;
};

static struct kl_ask *ask_new(struct kubelet *k, const char *id, bool *asking)
{
	struct kl_ask *a = xmalloc(sizeof(*a));
	a->k = k;
	a->id = xstrdup(id);
	*asking = true;
	k->status_asks++;
	k->cri_calls++;
	return a;
}

/* Ends a when the runtime answered. */
static void ask_end(struct kl_ask *a, int code)
{
	struct kubelet *k = a->k;
	k->status_asks--;
	kl_cri_done(k, code);
	if (!k->stopping && !k->status_asks && !k->relist_parts)
		relist_finish(k);
	free(a->id);
	free(a);
}

/* Ends a when its request could not be sent. */
static void ask_unsent(struct kl_ask *a, bool *asking)
{
	a->k->status_asks--;
	a->k->cri_calls--;
	*asking = false;
	free(a->id);
	free(a);
}

static void on_ctr_status(int code, const char *msg,
                          const Runtime__V1__ContainerStatusResponse *resp, void *arg)
{
	struct kl_ask *a = arg;
	struct kubelet *k = a->k;
	struct kl_ctr *c = k->stopping ? NULL : strmap_get(&k->ctrs, a->id);
	if (c) {
		c->asking = false;
		if (code == GRPC_OK && resp->status) {
			kl_ctr_set_status(k, c, resp->status);
			mark_changed(&k->changed, c->uid);
		} else if (code == GRPC_NOT_FOUND) {
			char *uid = c->uid ? xstrdup(c->uid) : NULL;
			kl_ctr_forget(k, a->id);
			mark_changed(&k->changed, uid);
			free(uid);
		}
	}
	ask_end(a, code);
}

static void ask_ctr_status(struct kubelet *k, struct kl_ctr *c)
{
	struct kl_ask *a = ask_new(k, c->id, &c->asking);
	Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	req.container_id = c->id;
	if (cri_container_status(k->cri, &req, STATUS_TIMEOUT_MS, 0, on_ctr_status, a) < 0)
		ask_unsent(a, &c->asking);
}

void kl_sandbox_set_status(struct kubelet *k, struct kl_sandbox *s,
                           const Runtime__V1__PodSandboxStatus *st)
{
	const Runtime__V1__PodSandboxNetworkStatus *net = st->network;
	const Runtime__V1__PodIP *ip2 =
	    net && net->n_additional_ips ? net->additional_ips[0] : NULL;
	set_str(&s->ip, net && net->ip && *net->ip ? net->ip : NULL);
	set_str(&s->ip2, ip2 && ip2->ip && *ip2->ip ? ip2->ip : NULL);
	s->state = st->state;
	s->status_known = true;
	s->touched_ms = loop_now_ms(k->loop);
}

static void on_sb_status(int code, const char *msg,
                         const Runtime__V1__PodSandboxStatusResponse *resp, void *arg)
{
	struct kl_ask *a = arg;
	struct kubelet *k = a->k;
	struct kl_sandbox *s = k->stopping ? NULL : strmap_get(&k->sandboxes, a->id);
	if (s) {
		s->asking = false;
		if (code == GRPC_OK && resp->status) {
			kl_sandbox_set_status(k, s, resp->status);
			mark_changed(&k->changed, s->uid);
		}
	}
	ask_end(a, code);
}

static void ask_sb_status(struct kubelet *k, struct kl_sandbox *s)
{
	struct kl_ask *a = ask_new(k, s->id, &s->asking);
	Runtime__V1__PodSandboxStatusRequest req = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
	req.pod_sandbox_id = s->id;
	if (cri_pod_sandbox_status(k->cri, &req, STATUS_TIMEOUT_MS, 0, on_sb_status, a) < 0)
		ask_unsent(a, &s->asking);
}

/* Entries we changed after the relist began are newer than what it says about them. */
static bool stale_for(struct kubelet *k, uint64_t touched_ms)
{
	return touched_ms >= k->relist_started_ms;
}

/* Sandboxes (or containers) the runtime no longer has, unless we changed them since the
 * relist began; frees seen. */
static void forget_unseen(struct kubelet *k, struct strmap *seen, bool sandboxes)
{
	struct strmap *cache = sandboxes ? &k->sandboxes : &k->ctrs;
	const char *key;
	void *val;
	char **gone = NULL;
	size_t ng = 0;
	for (size_t i = 0; strmap_next(cache, &i, &key, &val);) {
		struct kl_sandbox *sb = sandboxes ? val : NULL;
		struct kl_ctr *c = sandboxes ? NULL : val;
		if (strmap_get(seen, key) || stale_for(k, sb ? sb->touched_ms : c->touched_ms))
			continue;
		gone = xrealloc(gone, (ng + 1) * sizeof(char *));
		gone[ng++] = xstrdup(key);
		mark_changed(&k->changed, sb ? sb->uid : c->uid);
	}
	for (size_t i = 0; i < ng; i++) {
		if (sandboxes)
			kl_sandbox_forget(k, gone[i]);
		else
			kl_ctr_forget(k, gone[i]);
		free(gone[i]);
	}
	free(gone);
	strmap_free(seen);
}

/* One of the relist's two answers: false (and the relist marked failed) unless it is good. */
static bool list_reply(struct kubelet *k, int code, const char *msg, const char *what)
{
	kl_cri_done(k, code);
	k->relist_parts--;
	if (k->stopping || code == GRPC_OK)
		return !k->stopping;
	if (!k->list_failed)
		log_warn("relist: %s: %s", what, msg);
	k->list_failed = true;
	return false;
}

static void on_list_sandboxes(int code, const char *msg,
                              const Runtime__V1__ListPodSandboxResponse *resp, void *arg)
{
	struct kubelet *k = arg;
	if (list_reply(k, code, msg, "ListPodSandbox")) {
		struct strmap seen = { 0 };
		for (size_t i = 0; i < resp->n_items; i++) {
			const Runtime__V1__PodSandbox *it = resp->items[i];
			if (!it->id)
				continue;
			strmap_put(&seen, it->id, (void *)1);
			struct kl_sandbox *s = strmap_get(&k->sandboxes, it->id);
			if (s && stale_for(k, s->touched_ms))
				continue;
			bool fresh = !s;
			if (!s) {
				s = xcalloc(1, sizeof(*s));
				s->id = xstrdup(it->id);
				strmap_put(&k->sandboxes, it->id, s);
			}
			if (it->metadata) {
				set_str(&s->uid, it->metadata->uid);
				set_str(&s->name, it->metadata->name);
				set_str(&s->ns, it->metadata->namespace_);
				s->attempt = it->metadata->attempt;
			}
			const char *luid = KV(it->n_labels, it->labels, KL_LABEL_POD_UID);
			if (luid)
				set_str(&s->uid, luid);
			s->created_ns = it->created_at;
			if (fresh || s->state != (int)it->state)
				mark_changed(&k->changed, s->uid);
			s->state = it->state;
			if (!s->status_known && !s->asking &&
			    s->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY)
				ask_sb_status(k, s);
		}
		forget_unseen(k, &seen, true);
	}
	if (!k->relist_parts && !k->stopping)
		relist_finish(k);
}

static void on_list_containers(int code, const char *msg,
                               const Runtime__V1__ListContainersResponse *resp, void *arg)
{
	struct kubelet *k = arg;
	if (list_reply(k, code, msg, "ListContainers")) {
		struct strmap seen = { 0 };
		for (size_t i = 0; i < resp->n_containers; i++) {
			const Runtime__V1__Container *it = resp->containers[i];
			if (!it->id)
				continue;
			strmap_put(&seen, it->id, (void *)1);
			struct kl_ctr *c = strmap_get(&k->ctrs, it->id);
			if (c && stale_for(k, c->touched_ms))
				continue;
			bool fresh = !c;
			if (!c) {
				c = xcalloc(1, sizeof(*c));
				c->id = xstrdup(it->id);
				strmap_put(&k->ctrs, it->id, c);
			}
			set_str(&c->sandbox_id, it->pod_sandbox_id);
			ctr_labels(c, it->n_labels, it->labels, it->n_annotations, it->annotations);
			if (it->metadata)
				c->attempt = it->metadata->attempt;
			if (!c->created_ns)
				c->created_ns = it->created_at;
			if (fresh || c->state != (int)it->state) {
				c->state = it->state;
				c->status_known = false;
				mark_changed(&k->changed, c->uid);
			}
			if (!c->status_known && !c->asking)
				ask_ctr_status(k, c);
		}
		forget_unseen(k, &seen, false);
	}
	if (!k->relist_parts && !k->stopping)
		relist_finish(k);
}

static void gc_orphans(struct kubelet *k);

/* Both lists are in and every status asked for has answered: tell the pods. */
static void relist_finish(struct kubelet *k)
{
	if (k->relist_parts || k->status_asks)
		return;
	bool first = !k->relisted;
	k->relisting = false;
	if (!k->list_failed) {
		if (first)
			log_info("runtime state listed: %zu sandboxes, %zu containers",
			         k->sandboxes.len, k->ctrs.len);
		k->relisted = true;
	}
	const char *key;
	void *val;
	if (first && k->relisted) {
		/* The cache is trustworthy now: every pod syncs (adoption happens here). */
		for (size_t i = 0; strmap_next(&k->workers, &i, &key, &val);)
			kl_pod_sync(val);
	} else {
		for (size_t i = 0; strmap_next(&k->changed, &i, &key, &val);) {
			struct kl_pod *p = kl_pod_find(k, key);
			if (p)
				kl_pod_sync(p);
		}
	}
	strmap_free(&k->changed);
	uint64_t now = loop_now_ms(k->loop);
	if (k->relisted && now - k->gc_last_ms >= GC_MS) {
		k->gc_last_ms = now;
		gc_orphans(k);
	}
}

static void relist(struct kubelet *k)
{
	if (k->relisting || k->status_asks || k->stopping)
		return;
	k->relisting = true;
	k->list_failed = false;
	k->relist_parts = 2;
	k->relist_started_ms = loop_now_ms(k->loop);
	Runtime__V1__ListPodSandboxRequest sreq = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__ListContainersRequest creq = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	k->cri_calls += 2;
	if (cri_list_pod_sandbox(k->cri, &sreq, LIST_TIMEOUT_MS, 0, on_list_sandboxes, k) < 0) {
		k->cri_calls--;
		k->relist_parts--;
		k->list_failed = true;
	}
	if (cri_list_containers(k->cri, &creq, LIST_TIMEOUT_MS, 0, on_list_containers, k) < 0) {
		k->cri_calls--;
		k->relist_parts--;
		k->list_failed = true;
	}
	if (!k->relist_parts)
		relist_finish(k);
}

static void on_relist_timer(struct loop *l, struct loop_timer *t)
{
	struct kubelet *k = container_of(t, struct kubelet, relist_timer);
	if (k->runtime_ok || !k->relisted)
		relist(k);
	loop_timer_arm(l, t, k->relist_ms);
}

/* --- cleaning up what no pod owns ------------------------------------------------------------ */

static void gc_orphans(struct kubelet *k)
{
	if (!k->pods || !informer_synced(k->pods) || k->stopping)
		return;
	const char *key;
	void *val;
	char **ids = NULL;
	size_t n = 0;
	for (size_t i = 0; strmap_next(&k->sandboxes, &i, &key, &val);) {
		struct kl_sandbox *s = val;
		if (s->removing || (s->uid && kl_pod_find(k, s->uid)))
			continue;
		ids = xrealloc(ids, (n + 1) * sizeof(char *));
		ids[n++] = xstrdup(key);
	}
	for (size_t i = 0; i < n; i++) {
		struct kl_sandbox *s = strmap_get(&k->sandboxes, ids[i]);
		if (s) {
			log_info("removing sandbox %.12s of pod %s/%s (uid %s): no such pod", s->id,
			         s->ns ? s->ns : "?", s->name ? s->name : "?",
			         s->uid ? s->uid : "?");
			char *uid = s->uid ? xstrdup(s->uid) : NULL;
			kl_remove_sandbox(k, ids[i]);
			if (uid) {
				kl_volumes_teardown(k, uid);
				free(uid);
			}
		}
		free(ids[i]);
	}
	free(ids);
}

/* --- runtime health -------------------------------------------------------------------------- */

static void set_runtime(struct kubelet *k, bool ok, const char *msg)
{
	bool was = k->runtime_ok;
	k->runtime_ok = ok;
	if (k->node)
		kubelet_node_set_runtime(k->node, ok, k->runtime_version, ok ? NULL : msg);
	if (ok && !was) {
		log_info("runtime ready: syncing pods");
		relist(k);
	} else if (!ok && was) {
		log_warn("runtime not ready: %s", msg);
	}
}

static void on_version(int code, const char *msg, const Runtime__V1__VersionResponse *resp,
                       void *arg)
{
	struct kubelet *k = arg;
	kl_cri_done(k, code);
	k->version_asked = false;
	if (k->stopping || code != GRPC_OK)
		return;
	free(k->runtime_version);
	k->runtime_version = xasprintf("%s://%s", resp->runtime_name, resp->runtime_version);
}

static void on_status(int code, const char *msg, const Runtime__V1__StatusResponse *resp, void *arg)
{
	struct kubelet *k = arg;
	kl_cri_done(k, code);
	if (k->stopping)
		return;
	if (code != GRPC_OK) {
		char m[600];
		snprintf(m, sizeof(m), "container runtime is down: %s", msg);
		set_runtime(k, false, m);
		return;
	}
	bool rt = false, net = false;
	char why[600] = "";
	for (size_t i = 0; resp->status && i < resp->status->n_conditions; i++) {
		const Runtime__V1__RuntimeCondition *c = resp->status->conditions[i];
		if (!c->type)
			continue;
		bool is_rt = !strcmp(c->type, "RuntimeReady"),
		     is_net = !strcmp(c->type, "NetworkReady");
		if (is_rt)
			rt = c->status;
		if (is_net)
			net = c->status;
		if ((is_rt || is_net) && !c->status && !why[0])
			snprintf(why, sizeof(why),
			         "container runtime %snot ready: %s=false reason:%s message:%s",
			         is_net ? "network " : "", c->type, c->reason ? c->reason : "",
			         c->message ? c->message : "");
	}
	if (!cri_runtime_ready(k->rt) && !why[0])
		snprintf(why, sizeof(why), "container runtime is starting: importing images");
	k->network_ok = net;
	set_runtime(k, rt && net && cri_runtime_ready(k->rt), why);
}

static void on_health(struct loop *l, struct loop_timer *t)
{
	struct kubelet *k = container_of(t, struct kubelet, health_timer);
	if (!k->runtime_version && !k->version_asked) {
		Runtime__V1__VersionRequest vr = RUNTIME__V1__VERSION_REQUEST__INIT;
		vr.version = "0.1.0";
		k->version_asked = true;
		k->cri_calls++;
		if (cri_version(k->cri, &vr, STATUS_TIMEOUT_MS, 0, on_version, k) < 0) {
			k->cri_calls--;
			k->version_asked = false;
		}
	}
	Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
	k->cri_calls++;
	if (cri_status(k->cri, &req, STATUS_TIMEOUT_MS, 0, on_status, k) < 0)
		k->cri_calls--;
	loop_timer_arm(l, t, k->runtime_ok ? HEALTH_MS : 500);
}

/* --- pods, configmaps, secrets ------------------------------------------------------------------ */

static bool on_this_node(void *arg, const struct reg_kind *kind, const cJSON *obj)
{
	struct kubelet *k = arg;
	const char *n = obj_get_str(obj, "spec.nodeName");
	return n && !strcmp(n, k->node_name);
}

static void pod_add(void *arg, const cJSON *obj)
{
	struct kubelet *k = arg;
	const char *uid = obj_get_str(obj, "metadata.uid");
	if (!uid || k->stopping)
		return;
	struct kl_pod *p = kl_pod_find(k, uid);
	if (p)
		kl_pod_update(p, obj);
	else
		kl_pod_new(k, obj);
}

static void pod_del(void *arg, const cJSON *obj)
{
	struct kubelet *k = arg;
	struct kl_pod *p = kl_pod_find(k, obj_get_str(obj, "metadata.uid"));
	if (p && !k->stopping)
		kl_pod_gone(p);
}

static void pod_update(void *arg, const cJSON *old, const cJSON *obj)
{
	const char *ou = obj_get_str(old, "metadata.uid"), *nu = obj_get_str(obj, "metadata.uid");
	if (ou && nu && strcmp(ou, nu))
		pod_del(arg, old); /* a new pod with the old one's name (seen through a relist) */
	pod_add(arg, obj);
}

static void pods_synced(void *arg)
{
	struct kubelet *k = arg;
	log_info("%zu pods bound to node %s", informer_count(k->pods), k->node_name);
}

/* A ConfigMap or Secret changed: pods of its namespace refresh volumes and retry what waited
 * for it (CreateContainerConfigError). */
static void source_changed(struct kubelet *k, const cJSON *obj)
{
	const char *ns = obj_get_str(obj, "metadata.namespace");
	if (!ns || k->stopping)
		return;
	const char *key;
	void *val;
	for (size_t i = 0; strmap_next(&k->workers, &i, &key, &val);) {
		struct kl_pod *p = val;
		if (!strcmp(p->ns, ns))
			kl_pod_refresh_volumes(p);
	}
}

static void src_add(void *arg, const cJSON *obj)
{
	source_changed(arg, obj);
}

static void src_update(void *arg, const cJSON *old, const cJSON *obj)
{
	if (!obj_equal(obj_get(old, "data"), obj_get(obj, "data")) ||
	    !obj_equal(obj_get(old, "binaryData"), obj_get(obj, "binaryData")))
		source_changed(arg, obj);
}

/* --- public ------------------------------------------------------------------------------------ */

static struct informer *watch(struct kubelet *k, const char *res, const struct api_filter *f,
                              const struct informer_handlers *h)
{
	const struct reg_kind *kind = client_kind("", res);
	if (!kind)
		return NULL;
	struct informer *inf = informer_new(k->c, kind, NULL, f);
	if (h)
		informer_add_handlers(inf, h);
	return inf;
}

int kubelet_start(const struct kubelet_opts *o, struct kubelet **out, struct err *e)
{
	if (!o->client || !o->runtime || !o->node_name || !*o->node_name)
		return err_set(e, -EINVAL,
		               "kubelet: a client, a runtime and a node name are needed");
	struct kubelet *k = xcalloc(1, sizeof(*k));
	k->c = o->client;
	k->loop = client_loop(o->client);
	k->rt = o->runtime;
	k->cri = cri_runtime_client(o->runtime);
	k->node = o->node;
	k->node_name = xstrdup(o->node_name);
	k->node_ip = o->node_ip && *o->node_ip ? xstrdup(o->node_ip) : net_default_ipv4();
	k->data_dir = xstrdup(o->data_dir ? o->data_dir : "/var/lib/tug");
	k->log_dir = xstrdup(o->log_dir && *o->log_dir ? o->log_dir : "/var/log/pods");
	k->cluster_dns = xstrdup(o->cluster_dns ? o->cluster_dns : "");
	k->cluster_domain =
	    xstrdup(o->cluster_domain && *o->cluster_domain ? o->cluster_domain : "cluster.local");
	k->resolv_conf =
	    xstrdup(o->resolv_conf && *o->resolv_conf ? o->resolv_conf : "/etc/resolv.conf");
	k->relist_ms = o->relist_ms ? o->relist_ms : 1000;
	k->cni_bridge = xstrdup(o->cni_bridge && *o->cni_bridge ? o->cni_bridge : "tug0");
	k->cluster_cidr = o->cluster_cidr ? xstrdup(o->cluster_cidr) : NULL;
	struct kubelet_capacity cap;
	kubelet_read_capacity(k->data_dir, &cap);
	k->node_cpu_milli = cap.cpu_milli;
	k->node_mem_bytes = cap.memory_bytes > 0 ? cap.memory_bytes : 1;

	char *dir = xasprintf("%s/pods", k->data_dir);
	int r = mkdir_p(dir, 0750);
	free(dir);
	if (r < 0) {
		kubelet_free(k);
		return err_set(e, r, "kubelet: create %s/pods: %s", o->data_dir, strerror(-r));
	}
	loop_timer_init(&k->relist_timer, on_relist_timer);
	loop_timer_init(&k->health_timer, on_health);

	struct informer_handlers src = {
		.add = src_add, .update = src_update, .del = src_add, .arg = k
	};
	k->configmaps = watch(k, "configmaps", NULL, &src);
	k->secrets = watch(k, "secrets", NULL, &src);
	k->services = watch(k, "services", NULL, NULL);
	struct api_filter f = { .match = on_this_node, .arg = k };
	struct informer_handlers ph = { .add = pod_add,
		                        .update = pod_update,
		                        .del = pod_del,
		                        .synced = pods_synced,
		                        .arg = k };
	k->pods = watch(k, "pods", &f, &ph);
	if (!k->pods || !k->configmaps || !k->secrets || !k->services) {
		kubelet_free(k);
		return err_set(e, -ENOENT,
		               "kubelet: the API has no pods, configmaps, secrets or services");
	}
	/* Sources first, so the first pod syncs find what they refer to. */
	informer_start(k->configmaps);
	informer_start(k->secrets);
	informer_start(k->services);
	informer_start(k->pods);
	if (kl_network_start(k) < 0) {
		kubelet_free(k);
		return err_set(e, -ENOENT, "kubelet: the API has no nodes");
	}
	loop_timer_arm(k->loop, &k->health_timer, 0);
	loop_timer_arm(k->loop, &k->relist_timer, 0);
	log_info("kubelet for node %s started (pods in %s/pods, logs in %s)", k->node_name,
	         k->data_dir, k->log_dir);
	*out = k;
	return 0;
}

static void on_shutdown_timer(struct loop *l, struct loop_timer *t)
{
	struct kubelet *k = container_of(t, struct kubelet, shutdown_timer);
	void (*fn)(void *) = k->shutdown_fn;
	k->shutdown_fn = NULL;
	if (fn)
		fn(k->shutdown_arg);
}

static void check_drained(struct kubelet *k)
{
	if (!k->shutdown_fn || k->writes > 0 || !k->node_done)
		return;
	loop_timer_arm(k->loop, &k->shutdown_timer, SHUTDOWN_SETTLE_MS);
}

static void on_node_done(void *arg)
{
	struct kubelet *k = arg;
	k->node = NULL;
	k->node_done = true;
	check_drained(k);
}

void kubelet_shutdown(struct kubelet *k, void (*done)(void *arg), void *arg)
{
	if (!k) {
		if (done)
			done(arg);
		return;
	}
	k->stopping = true;
	k->shutdown_fn = done;
	k->shutdown_arg = arg;
	loop_timer_disarm(k->loop, &k->relist_timer);
	loop_timer_disarm(k->loop, &k->health_timer);
	const char *key;
	void *val;
	for (size_t i = 0; strmap_next(&k->workers, &i, &key, &val);) {
		struct kl_pod *p = val;
		loop_timer_disarm(k->loop, &p->timer);
		loop_timer_disarm(k->loop, &p->status_timer);
		for (size_t j = 0; j < p->ncs; j++)
			kl_probes_stop(&p->cs[j]);
	}
	kl_logs_stop_all(k);
	informer_free(k->pods);
	informer_free(k->configmaps);
	informer_free(k->secrets);
	informer_free(k->services);
	k->pods = k->configmaps = k->secrets = k->services = NULL;
	loop_timer_init(&k->shutdown_timer, on_shutdown_timer);
	/* Whatever happens, go on after a while. */
	loop_timer_arm(k->loop, &k->shutdown_timer, SHUTDOWN_MAX_MS);
	if (k->node)
		kubelet_node_shutdown(k->node, on_node_done, k);
	else
		on_node_done(k);
}

void kubelet_free(struct kubelet *k)
{
	if (!k)
		return;
	k->stopping = true;
	loop_timer_disarm(k->loop, &k->relist_timer);
	loop_timer_disarm(k->loop, &k->health_timer);
	loop_timer_disarm(k->loop, &k->shutdown_timer);
	kl_logs_stop_all(k);
	informer_free(k->pods);
	informer_free(k->configmaps);
	informer_free(k->secrets);
	informer_free(k->services);
	informer_free(k->nodes);
	const char *key;
	void *val;
	for (size_t i = 0; strmap_next(&k->workers, &i, &key, &val);)
		kl_pod_free(val);
	strmap_free(&k->workers);
	for (size_t i = 0; strmap_next(&k->sandboxes, &i, &key, &val);)
		free_sandbox(val);
	strmap_free(&k->sandboxes);
	for (size_t i = 0; strmap_next(&k->ctrs, &i, &key, &val);)
		free_ctr(val);
	strmap_free(&k->ctrs);
	for (size_t i = 0; strmap_next(&k->images, &i, &key, &val);)
		kl_image_drop(val);
	strmap_free(&k->images);
	strmap_free(&k->changed);
	free(k->node_name);
	free(k->cni_bridge);
	free(k->cluster_cidr);
	free(k->pod_cidrs);
	free(k->node_ip);
	free(k->data_dir);
	free(k->log_dir);
	free(k->cluster_dns);
	free(k->cluster_domain);
	free(k->resolv_conf);
	free(k->runtime_version);
	free(k);
}
