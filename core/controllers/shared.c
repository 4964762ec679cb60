/* shared: the informers the cluster controllers share, their common controller base (queue,
 * tracked writes, back-off, resync, stop) and the object helpers they all use. */
#include <stdio.h>
#include <string.h>

#define LOG_TAG "controllers"
#include "core/controllers/cluster-internal.h"
#include "core/log/log.h"

/* --- shared informers -------------------------------------------------------------------- */

struct sub {
	int id;
	struct informer_handlers h;
	struct sub *next;
};

struct shared_kind {
	const struct reg_kind *k;
	struct informer *inf;
	struct sub *subs;
	struct ctrl_informers *f;
};

struct ctrl_informers {
	struct client *c;
	struct shared_kind **v;
	size_t n;
	int next_id;
};

/* Dispatch: every subscriber of the kind, in subscription order. A subscriber removed while
 * we call another is skipped, since each step reads the list again. */
static void sk_add(void *arg, const cJSON *obj)
{
	struct shared_kind *sk = arg;
	for (struct sub *s = sk->subs; s; s = s->next)
		if (s->h.add)
			s->h.add(s->h.arg, obj);
}

static void sk_update(void *arg, const cJSON *old, const cJSON *obj)
{
	struct shared_kind *sk = arg;
	for (struct sub *s = sk->subs; s; s = s->next)
		if (s->h.update)
			s->h.update(s->h.arg, old, obj);
}

static void sk_del(void *arg, const cJSON *obj)
{
	struct shared_kind *sk = arg;
	for (struct sub *s = sk->subs; s; s = s->next)
		if (s->h.del)
			s->h.del(s->h.arg, obj);
}

static void sk_synced(void *arg)
{
	struct shared_kind *sk = arg;
	for (struct sub *s = sk->subs; s; s = s->next)
		if (s->h.synced)
			s->h.synced(s->h.arg);
}

struct ctrl_informers *ctrl_informers_new(struct client *c)
{
	struct ctrl_informers *f = xcalloc(1, sizeof(*f));
	f->c = c;
	return f;
}

struct client *ctrl_informers_client(const struct ctrl_informers *f)
{
	return f->c;
}

static struct shared_kind *find_kind(const struct ctrl_informers *f, const struct reg_kind *k)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i]->k == k)
			return f->v[i];
	return NULL;
}

struct replay {
	const struct informer_handlers *h;
};

static int replay_one(void *arg, const cJSON *obj)
{
	struct replay *r = arg;
	r->h->add(r->h->arg, obj);
	return 0;
}

int ctrl_informers_watch(struct ctrl_informers *f, const struct reg_kind *k,
                         const struct informer_handlers *h)
{
	struct shared_kind *sk = find_kind(f, k);
	bool fresh = !sk;
	if (!sk) {
		sk = xcalloc(1, sizeof(*sk));
		sk->k = k;
		sk->f = f;
		sk->inf = informer_new(f->c, k, NULL, NULL);
		struct informer_handlers mine = { sk_add, sk_update, sk_del, sk_synced, sk };
		informer_add_handlers(sk->inf, &mine);
		f->v = xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
		f->v[f->n++] = sk;
	}
	struct sub *s = xcalloc(1, sizeof(*s)), **p = &sk->subs;
	s->id = ++f->next_id;
	s->h = *h;
	while (*p)
		p = &(*p)->next;
	*p = s;
	if (fresh) {
		informer_start(sk->inf);
	} else {
		/* A late subscriber learns what the others already know. */
		if (h->add) {
			struct replay r = { h };
			informer_each(sk->inf, replay_one, &r);
		}
		if (h->synced && informer_synced(sk->inf))
			h->synced(h->arg);
	}
	return s->id;
}

void ctrl_informers_unwatch(struct ctrl_informers *f, int id)
{
	for (size_t i = 0; i < f->n; i++) {
		for (struct sub **p = &f->v[i]->subs; *p; p = &(*p)->next) {
			if ((*p)->id == id) {
				struct sub *s = *p;
				*p = s->next;
				free(s);
				return;
			}
		}
	}
}

struct informer *ctrl_informers_get(const struct ctrl_informers *f, const struct reg_kind *k)
{
	struct shared_kind *sk = k ? find_kind(f, k) : NULL;
	return sk ? sk->inf : NULL;
}

void ctrl_informers_free(struct ctrl_informers *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		struct shared_kind *sk = f->v[i];
		informer_free(sk->inf);
		while (sk->subs) {
			struct sub *s = sk->subs->next;
			free(sk->subs);
			sk->subs = s;
		}
		free(sk);
	}
	free(f->v);
	free(f);
}

/* --- the controller base ------------------------------------------------------------------ */

void cc_opts_defaults(struct ctrl_cluster_opts *dst, const struct ctrl_cluster_opts *o)
{
	memset(dst, 0, sizeof(*dst));
	if (o)
		*dst = *o;
	if (!dst->resync_ms)
		dst->resync_ms = 300000;
	if (dst->max_endpoints_per_slice <= 0)
		dst->max_endpoints_per_slice = 100;
	if (dst->max_endpoints_per_slice > 1000)
		dst->max_endpoints_per_slice = 1000;
	if (!dst->node_monitor_period_ms)
		dst->node_monitor_period_ms = 5000;
	if (!dst->node_monitor_grace_ms)
		dst->node_monitor_grace_ms = 40000;
	if (!dst->node_startup_grace_ms)
		dst->node_startup_grace_ms = 60000;
	if (!dst->cluster_cidr || !*dst->cluster_cidr)
		dst->cluster_cidr = "10.42.0.0/16";
	if (!dst->node_cidr_mask_v4)
		dst->node_cidr_mask_v4 = 24;
	if (!dst->node_cidr_mask_v6)
		dst->node_cidr_mask_v6 = 64;
	if (!dst->namespace_recheck_ms)
		dst->namespace_recheck_ms = 2000;
}

static int process(void *arg, const char *key)
{
	struct cc_ctl *b = arg;
	if (b->stopped)
		return 0;
	if (strmap_get(&b->inflight, key)) {
		strmap_put(&b->dirty, key, (void *)1);
		return 0;
	}
	return b->sync(b, key);
}

static void on_resync(struct loop *l, struct loop_timer *t)
{
	struct cc_ctl *b = container_of(t, struct cc_ctl, resync_timer);
	if (b->resync)
		b->resync(b);
	loop_timer_arm(l, t, b->o.resync_ms);
}

void cc_init(struct cc_ctl *b, struct ctrl_informers *f, const struct ctrl_cluster_opts *o,
             const char *component)
{
	b->inf = f;
	b->c = ctrl_informers_client(f);
	cc_opts_defaults(&b->o, o);
	b->component = component;
	b->q = workqueue_new(client_loop(b->c), component, process, b);
	loop_timer_init(&b->resync_timer, on_resync);
}

int cc_watch(struct cc_ctl *b, const char *group, const char *resource,
             const struct informer_handlers *h)
{
	const struct reg_kind *k = client_kind(group, resource);
	if (!k || b->nsubs >= CC_MAX_SUBS)
		return -ENOENT;
	b->subs[b->nsubs++] = ctrl_informers_watch(b->inf, k, h);
	return 0;
}

void cc_start(struct cc_ctl *b)
{
	loop_timer_arm(client_loop(b->c), &b->resync_timer, b->o.resync_ms);
}

void cc_stop(struct cc_ctl *b)
{
	for (size_t i = 0; i < b->nsubs; i++)
		ctrl_informers_unwatch(b->inf, b->subs[i]);
	b->nsubs = 0;
	loop_timer_disarm(client_loop(b->c), &b->resync_timer);
	workqueue_free(b->q);
	b->q = NULL;
	b->stopped = true;
	if (!b->pending)
		b->destroy(b);
}

void cc_fini(struct cc_ctl *b)
{
	strmap_free(&b->inflight);
	strmap_free(&b->dirty);
	strmap_free(&b->failures);
}

void cc_enqueue(struct cc_ctl *b, const char *key)
{
	if (!b->stopped && b->q)
		workqueue_add(b->q, key);
}

void cc_enqueue_after(struct cc_ctl *b, const char *key, uint64_t ms)
{
	if (!b->stopped && b->q)
		workqueue_add_after(b->q, key, ms);
}

void cc_enqueue_obj(struct cc_ctl *b, const cJSON *obj)
{
	char key[512];
	client_key_of(obj, key, sizeof(key));
	if (key[0])
		cc_enqueue(b, key);
}

bool cc_busy(struct cc_ctl *b, const char *key)
{
	return strmap_get(&b->inflight, key) != NULL;
}

enum wkind { WK_CREATE, WK_UPDATE, WK_DELETE };

struct write {
	struct cc_ctl *b;
	char *key;
	enum wkind kind;
	cc_then_fn then;
	void *arg;
	char what[160];
};

static struct write *track(struct cc_ctl *b, const char *key, enum wkind kind, cc_then_fn then,
                           void *arg, const char *verb, const struct reg_kind *k, const char *name)
{
	struct write *w = xcalloc(1, sizeof(*w));
	w->b = b;
	w->key = xstrdup(key);
	w->kind = kind;
	w->then = then;
	w->arg = arg;
	snprintf(w->what, sizeof(w->what), "%s %s %s", verb, k->resource, name ? name : "");
	uintptr_t n = (uintptr_t)strmap_get(&b->inflight, key);
	strmap_put(&b->inflight, key, (void *)(n + 1));
	b->pending++;
	return w;
}

static void write_done(void *arg, int code, const char *msg, cJSON *obj)
{
	struct write *w = arg;
	struct cc_ctl *b = w->b;
	int verdict;
	if (w->then) {
		verdict = w->then(b, w->key, code, msg, obj, w->arg);
	} else if ((code >= 200 && code < 300) || (w->kind == WK_DELETE && code == 404)) {
		verdict = 0;
	} else if (code == 409) {
		verdict = 1;
	} else {
		verdict = -1;
	}
	if (verdict < 0 && !b->stopped)
		log_warn("%s: %s: %d %s", b->component, w->what, code, msg ? msg : "");
	b->pending--;
	uintptr_t n = (uintptr_t)strmap_get(&b->inflight, w->key);
	if (n > 1)
		strmap_put(&b->inflight, w->key, (void *)(n - 1));
	else
		strmap_del(&b->inflight, w->key);
	if (b->stopped) {
		if (!b->pending)
			b->destroy(b);
		free(w->key);
		free(w);
		return;
	}
	uintptr_t fails = (uintptr_t)strmap_get(&b->failures, w->key);
	if (verdict < 0) {
		strmap_put(&b->failures, w->key, (void *)(fails + 1));
		strmap_put(&b->dirty, w->key, (void *)2);
	} else if (verdict > 0) {
		strmap_put(&b->dirty, w->key, (void *)1);
	} else if (fails) {
		strmap_del(&b->failures, w->key);
	}
	if (n <= 1) {
		uintptr_t d = (uintptr_t)strmap_del(&b->dirty, w->key);
		if (d == 2) {
			/* 5 ms doubling per failure, at most a minute. */
			uint64_t ms = 5;
			for (uintptr_t i = 0; i < fails && ms < 60000; i++)
				ms *= 2;
			cc_enqueue_after(b, w->key, MIN(ms, (uint64_t)60000));
		} else if (d) {
			cc_enqueue(b, w->key);
		}
	}
	free(w->key);
	free(w);
}

void cc_create(struct cc_ctl *b, const char *key, const struct reg_kind *k, const char *ns,
               cJSON *body, cc_then_fn then, void *arg)
{
	const char *name = obj_get_str(body, "metadata.name");
	if (!name)
		name = obj_get_str(body, "metadata.generateName");
	struct write *w = track(b, key, WK_CREATE, then, arg, "create", k, name);
	client_create(b->c, k, ns, body, write_done, w);
}

void cc_update(struct cc_ctl *b, const char *key, const struct reg_kind *k, const char *ns,
               const char *name, const char *sub, cJSON *body, cc_then_fn then, void *arg)
{
	struct write *w = track(b, key, WK_UPDATE, then, arg, "update", k, name);
	client_update(b->c, k, ns, name, sub, body, write_done, w);
}

void cc_patch(struct cc_ctl *b, const char *key, const struct reg_kind *k, const char *ns,
              const char *name, const char *sub, cJSON *patch, cc_then_fn then, void *arg)
{
	struct write *w = track(b, key, WK_UPDATE, then, arg, "patch", k, name);
	client_merge_patch(b->c, k, ns, name, sub, patch, write_done, w);
}

void cc_delete(struct cc_ctl *b, const char *key, const struct reg_kind *k, const char *ns,
               const char *name, int64_t grace, const char *propagation, const char *uid,
               cc_then_fn then, void *arg)
{
	struct write *w = track(b, key, WK_DELETE, then, arg, "delete", k, name);
	client_delete(b->c, k, ns, name, grace, propagation, uid, write_done, w);
}

/* --- object helpers ------------------------------------------------------------------------ */

const cJSON *cc_get(struct informer *inf, const char *ns, const char *name)
{
	return inf && name ? informer_get(inf, ns, name) : NULL;
}

void cc_each(struct informer *inf, int (*fn)(void *arg, const cJSON *obj), void *arg)
{
	if (inf)
		informer_each(inf, fn, arg);
}

void cc_split_key(const char *key, char *buf, size_t n, const char **ns, const char **name)
{
	snprintf(buf, n, "%s", key);
	char *slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		*ns = buf;
		*name = slash + 1;
	} else {
		*ns = NULL;
		*name = buf;
	}
}

const char *cc_name(const cJSON *obj)
{
	return obj_get_str(obj, "metadata.name");
}

const char *cc_ns(const cJSON *obj)
{
	return obj_get_str(obj, "metadata.namespace");
}

const char *cc_uid(const cJSON *obj)
{
	return obj_get_str(obj, "metadata.uid");
}

bool cc_deleting(const cJSON *obj)
{
	const cJSON *d = obj_get(obj, "metadata.deletionTimestamp");
	return d && !cJSON_IsNull(d);
}

bool cc_has_finalizer(const cJSON *obj, const char *f)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, obj_get(obj, "metadata.finalizers"))
	{
		if (cJSON_IsString(it) && !strcmp(it->valuestring, f))
			return true;
	}
	return false;
}

const cJSON *cc_condition(const cJSON *obj, const char *type)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, obj_get(obj, "status.conditions"))
	{
		const char *t = obj_get_str(c, "type");
		if (t && !strcmp(t, type))
			return c;
	}
	return NULL;
}

bool cc_pod_ready(const cJSON *pod)
{
	const char *s = obj_get_str(cc_condition(pod, "Ready"), "status");
	return s && !strcmp(s, "True");
}

bool cc_pod_terminal(const cJSON *pod)
{
	const char *phase = obj_get_str(pod, "status.phase");
	return phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
}

bool cc_time(const cJSON *obj, const char *path, int64_t *sec)
{
	const char *s = obj_get_str(obj, path);
	int32_t ns;
	return s && obj_time_parse(s, sec, &ns, NULL) == 0;
}

cJSON *cc_owner_ref(const cJSON *owner)
{
	cJSON *r = cJSON_CreateObject();
	const char *av = obj_get_str(owner, "apiVersion"), *kind = obj_get_str(owner, "kind");
	cJSON_AddStringToObject(r, "apiVersion", av ? av : "v1");
	cJSON_AddStringToObject(r, "kind", kind ? kind : "");
	cJSON_AddStringToObject(r, "name", cc_name(owner) ? cc_name(owner) : "");
	cJSON_AddStringToObject(r, "uid", cc_uid(owner) ? cc_uid(owner) : "");
	cJSON_AddTrueToObject(r, "controller");
	cJSON_AddTrueToObject(r, "blockOwnerDeletion");
	return r;
}

const struct reg_kind *cc_kind(const char *group, const char *resource)
{
	const struct reg_kind *k = client_kind(group, resource);
	if (!k)
		log_error("kind %s%s%s is not served", resource, *group ? "." : "", group);
	return k;
}

/* --- services and pods ---------------------------------------------------------------------- */

bool cc_find_port(const cJSON *pod, const cJSON *svc_port, int *port)
{
	const cJSON *tp = obj_get(svc_port, "targetPort");
	const char *proto = obj_get_str(svc_port, "protocol");
	int64_t n;
	if (!proto)
		proto = "TCP";
	if (cJSON_IsString(tp) && tp->valuestring[0] &&
	    !(tp->valuestring[0] >= '0' && tp->valuestring[0] <= '9')) {
		static const char *const lists[] = { "spec.containers", "spec.initContainers" };
		for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
			const cJSON *c, *p;
			cJSON_ArrayForEach(c, obj_get(pod, lists[l]))
			{
				cJSON_ArrayForEach(p, obj_get(c, "ports"))
				{
					const char *name = obj_get_str(p, "name");
					const char *pp = obj_get_str(p, "protocol");
					if (!name || strcmp(name, tp->valuestring) ||
					    strcmp(pp ? pp : "TCP", proto))
						continue;
					if (obj_get_i64(p, "containerPort", &n) && n > 0 &&
					    n < 65536) {
						*port = (int)n;
						return true;
					}
				}
			}
		}
		return false;
	}
	if (cJSON_IsString(tp) && tp->valuestring[0]) {
		uint64_t u;
		if (parse_u64(tp->valuestring, &u) && u > 0 && u < 65536) {
			*port = (int)u;
			return true;
		}
		return false;
	}
	if (obj_get_i64(svc_port, "targetPort", &n) && n > 0 && n < 65536) {
		*port = (int)n;
		return true;
	}
	if (obj_get_i64(svc_port, "port", &n) && n > 0 && n < 65536) {
		*port = (int)n;
		return true;
	}
	return false;
}

const char *cc_pod_ip(const cJSON *pod, const char *family)
{
	bool v6 = family && !strcmp(family, "IPv6");
	const cJSON *it;
	cJSON_ArrayForEach(it, obj_get(pod, "status.podIPs"))
	{
		const char *ip = obj_get_str(it, "ip");
		if (ip && *ip && (strchr(ip, ':') != NULL) == v6)
			return ip;
	}
	const char *ip = obj_get_str(pod, "status.podIP");
	if (ip && *ip && (strchr(ip, ':') != NULL) == v6)
		return ip;
	return NULL;
}

bool cc_service_selects(const cJSON *svc)
{
	const cJSON *sel = obj_get(svc, "spec.selector");
	const char *type = obj_get_str(svc, "spec.type");
	if (type && !strcmp(type, "ExternalName"))
		return false;
	return cJSON_IsObject(sel) && sel->child;
}

struct svc_walk {
	const cJSON *pod;
	const char *ns;
	void (*fn)(void *arg, const cJSON *svc);
	void *arg;
};

static int svc_walk_one(void *arg, const cJSON *svc)
{
	struct svc_walk *w = arg;
	const char *ns = cc_ns(svc);
	if (!ns || strcmp(ns, w->ns) || !cc_service_selects(svc))
		return 0;
	struct sel *s = NULL;
	if (sel_from_map(obj_get(svc, "spec.selector"), &s, NULL) < 0)
		return 0;
	if (sel_matches(s, obj_get(w->pod, "metadata.labels")))
		w->fn(w->arg, svc);
	sel_free(s);
	return 0;
}

void cc_services_for_pod(struct informer *services, const cJSON *pod,
                         void (*fn)(void *arg, const cJSON *svc), void *arg)
{
	struct svc_walk w = { pod, cc_ns(pod), fn, arg };
	if (!services || !w.ns)
		return;
	cc_each(services, svc_walk_one, &w);
}

/* --- taints and tolerations ---------------------------------------------------------------- */

bool cc_tolerates(const cJSON *toleration, const cJSON *taint)
{
	const char *te = obj_get_str(toleration, "effect"), *xe = obj_get_str(taint, "effect");
	const char *tk = obj_get_str(toleration, "key"), *xk = obj_get_str(taint, "key");
	const char *op = obj_get_str(toleration, "operator");
	if (te && *te && strcmp(te, xe ? xe : ""))
		return false;
	if (tk && *tk && strcmp(tk, xk ? xk : ""))
		return false;
	if (op && !strcmp(op, "Exists"))
		return true;
	if (op && *op && strcmp(op, "Equal"))
		return false;
	const char *tv = obj_get_str(toleration, "value"), *xv = obj_get_str(taint, "value");
	return !strcmp(tv ? tv : "", xv ? xv : "");
}
