/* workloads: the shared informers, owner indexes, writes and queues of the workload controllers. */
#include <stdio.h>
#include <string.h>

#define LOG_TAG "controllers"
#include "core/controllers/workloads-internal.h"
#include "core/log/log.h"

#define DEFAULT_RESYNC_MS 30000
#define EXPECT_TTL_MS (5 * 60 * 1000)

struct controllers_workloads {
	struct wl w;
};

static const struct {
	const char *group, *resource;
} res_names[WL_NRES] = {
	[WL_PODS] = { "", "pods" },
	[WL_NODES] = { "", "nodes" },
	[WL_RS] = { "apps", "replicasets" },
	[WL_DEPLOY] = { "apps", "deployments" },
	[WL_DS] = { "apps", "daemonsets" },
	[WL_STS] = { "apps", "statefulsets" },
	[WL_CR] = { "apps", "controllerrevisions" },
	[WL_JOBS] = { "batch", "jobs" },
	[WL_CJ] = { "batch", "cronjobs" },
	[WL_PVCS] = { "", "persistentvolumeclaims" },
};

int64_t wl_now_ms(const struct wl *w)
{
	return w->now_fn ? w->now_fn(w->now_arg) : (int64_t)time_real_ms();
}

/* --- owner index ------------------------------------------------------------------------ */

static void index_add(struct wl_index *ix, const cJSON *obj)
{
	char key[512];
	wl_key(obj, key, sizeof(key));
	const cJSON *ref = wl_controller_ref(obj);
	const char *uid = obj_get_str(ref, "uid");
	if (!uid) {
		strmap_put(&ix->orphans, key, (void *)1);
		return;
	}
	struct strmap *set = strmap_get(&ix->by_uid, uid);
	if (!set) {
		set = xcalloc(1, sizeof(*set));
		strmap_put(&ix->by_uid, uid, set);
	}
	strmap_put(set, key, (void *)1);
}

static void index_del(struct wl_index *ix, const cJSON *obj)
{
	char key[512];
	wl_key(obj, key, sizeof(key));
	const char *uid = obj_get_str(wl_controller_ref(obj), "uid");
	if (!uid) {
		strmap_del(&ix->orphans, key);
		return;
	}
	struct strmap *set = strmap_get(&ix->by_uid, uid);
	if (!set)
		return;
	strmap_del(set, key);
	if (set->len == 0) {
		strmap_del(&ix->by_uid, uid);
		strmap_free(set);
		free(set);
	}
}

static void index_free(struct wl_index *ix)
{
	const char *k;
	void *v;
	for (size_t i = 0; strmap_next(&ix->by_uid, &i, &k, &v);) {
		strmap_free(v);
		free(v);
	}
	strmap_free(&ix->by_uid);
	strmap_free(&ix->orphans);
}

/* --- freshness --------------------------------------------------------------------------- */

static void fresh_key(enum wl_res r, const cJSON *obj, char *out, size_t n)
{
	char key[512];
	wl_key(obj, key, sizeof(key));
	snprintf(out, n, "%d/%s", (int)r, key);
}

static uint64_t rv_of(const cJSON *obj)
{
	uint64_t rv = 0;
	const char *s = obj_get_str(obj, "metadata.resourceVersion");
	if (s)
		parse_u64(s, &rv);
	return rv;
}

static void fresh_note(struct wl *w, enum wl_res r, const cJSON *obj)
{
	char k[600];
	uint64_t rv = rv_of(obj);
	if (!rv)
		return;
	fresh_key(r, obj, k, sizeof(k));
	if ((uintptr_t)strmap_get(&w->fresh, k) < rv)
		strmap_put(&w->fresh, k, (void *)(uintptr_t)rv);
}

bool wl_stale(struct wl *w, enum wl_res r, const cJSON *obj)
{
	char k[600];
	fresh_key(r, obj, k, sizeof(k));
	uintptr_t want = (uintptr_t)strmap_get(&w->fresh, k);
	if (!want)
		return false;
	if (rv_of(obj) >= want) {
		strmap_del(&w->fresh, k);
		return false;
	}
	return true;
}

static void fresh_seen(struct wl *w, enum wl_res r, const cJSON *obj, bool gone)
{
	char k[600];
	if (!w->fresh.len)
		return;
	fresh_key(r, obj, k, sizeof(k));
	uintptr_t want = (uintptr_t)strmap_get(&w->fresh, k);
	if (want && (gone || rv_of(obj) >= want))
		strmap_del(&w->fresh, k);
}

/* --- the shared handlers: first on every informer ----------------------------------------- */

static void on_add(void *arg, const cJSON *obj)
{
	struct wl_res_arg *a = arg;
	index_add(&a->w->idx[a->r], obj);
	fresh_seen(a->w, a->r, obj, false);
}

static void on_update(void *arg, const cJSON *old, const cJSON *obj)
{
	struct wl_res_arg *a = arg;
	index_del(&a->w->idx[a->r], old);
	index_add(&a->w->idx[a->r], obj);
	fresh_seen(a->w, a->r, obj, false);
}

static void on_del(void *arg, const cJSON *obj)
{
	struct wl_res_arg *a = arg;
	index_del(&a->w->idx[a->r], obj);
	fresh_seen(a->w, a->r, obj, true);
}

static void on_synced(void *arg)
{
	struct wl_res_arg *a = arg;
	for (int r = 0; r < WL_NRES; r++)
		if (a->w->inf[r] && !informer_synced(a->w->inf[r]))
			return;
	log_debug("workload informers synced");
	for (size_t i = 0; i < ARRAY_SIZE(a->w->ctl); i++)
		if (a->w->ctl[i])
			a->w->ctl[i]->resync(a->w->ctl[i]);
}

/* --- reading ----------------------------------------------------------------------------- */

const cJSON *wl_get(const struct wl *w, enum wl_res r, const char *ns, const char *name)
{
	if (!w->inf[r] || !name)
		return NULL;
	return informer_get(w->inf[r], w->kind[r]->namespaced ? ns : NULL, name);
}

const cJSON *wl_get_key(const struct wl *w, enum wl_res r, const char *key)
{
	char ns[256], name[256];
	if (!wl_split_key(key, ns, name))
		return NULL;
	return wl_get(w, r, ns, name);
}

static size_t collect(const struct wl *w, enum wl_res r, const struct strmap *set, const char *ns,
                      const cJSON ***out)
{
	*out = NULL;
	if (!set || !set->len)
		return 0;
	const cJSON **v = xmalloc(set->len * sizeof(*v));
	size_t n = 0, nslen = ns ? strlen(ns) : 0;
	const char *k;
	void *val;
	for (size_t i = 0; strmap_next(set, &i, &k, &val);) {
		if (ns && (strncmp(k, ns, nslen) || k[nslen] != '/'))
			continue;
		const cJSON *o = wl_get_key(w, r, k);
		if (o)
			v[n++] = o;
	}
	*out = v;
	return n;
}

size_t wl_owned(const struct wl *w, enum wl_res r, const char *uid, const cJSON ***out)
{
	return collect(w, r, uid ? strmap_get(&w->idx[r].by_uid, uid) : NULL, NULL, out);
}

size_t wl_orphans(const struct wl *w, enum wl_res r, const char *ns, const cJSON ***out)
{
	return collect(w, r, &w->idx[r].orphans, ns ? ns : "", out);
}

struct collecting {
	const cJSON **v;
	size_t n;
};

static int collect_one(void *arg, const cJSON *obj)
{
	struct collecting *c = arg;
	c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	c->v[c->n++] = obj;
	return 0;
}

size_t wl_all(const struct wl *w, enum wl_res r, const cJSON ***out)
{
	struct collecting c = { NULL, 0 };
	if (w->inf[r])
		informer_each(w->inf[r], collect_one, &c);
	*out = c.v;
	return c.n;
}

struct selecting {
	const char *ns, *path;
	const cJSON *labels;
	const cJSON **v;
	size_t n;
};

static int select_one(void *arg, const cJSON *obj)
{
	struct selecting *s = arg;
	if (strcmp(wl_str(obj, "metadata.namespace"), s->ns))
		return 0;
	struct sel *sel = wl_selector(obj, s->path);
	if (sel && !sel_is_everything(sel) && sel_matches(sel, s->labels)) {
		s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
		s->v[s->n++] = obj;
	}
	sel_free(sel);
	return 0;
}

size_t wl_selecting(const struct wl *w, enum wl_res r, const char *ns, const char *sel_path,
                    const cJSON *labels, const cJSON ***out)
{
	struct selecting s = { ns ? ns : "", sel_path, labels, NULL, 0 };
	if (w->inf[r])
		informer_each(w->inf[r], select_one, &s);
	*out = s.v;
	return s.n;
}

/* --- writes ------------------------------------------------------------------------------- */

struct call {
	struct wl *w;
	enum wl_res r;
	wl_done_fn fn;
	void *arg;
};

static void wl_free_shell(struct wl *w);

static void call_done(void *arg, int code, const char *msg, cJSON *obj)
{
	struct call *c = arg;
	struct wl *w = c->w;
	if (!w->stopping && code < 300 && obj)
		fresh_note(w, c->r, obj);
	if (c->fn)
		c->fn(w, c->arg, code, msg, obj);
	free(c);
	w->pending--;
	if (w->stopping && !w->pending)
		wl_free_shell(w);
}

static struct call *new_call(struct wl *w, enum wl_res r, wl_done_fn fn, void *arg)
{
	struct call *c = xcalloc(1, sizeof(*c));
	c->w = w;
	c->r = r;
	c->fn = fn;
	c->arg = arg;
	w->pending++;
	return c;
}

void wl_create(struct wl *w, enum wl_res r, const char *ns, cJSON *body, wl_done_fn fn, void *arg)
{
	client_create(w->c, w->kind[r], ns, body, call_done, new_call(w, r, fn, arg));
}

void wl_update(struct wl *w, enum wl_res r, const char *sub, cJSON *body, wl_done_fn fn, void *arg)
{
	char ns[256], name[256];
	snprintf(ns, sizeof(ns), "%s", wl_str(body, "metadata.namespace"));
	snprintf(name, sizeof(name), "%s", wl_str(body, "metadata.name"));
	client_update(w->c, w->kind[r], w->kind[r]->namespaced ? ns : NULL, name, sub, body,
	              call_done, new_call(w, r, fn, arg));
}

void wl_patch(struct wl *w, enum wl_res r, const char *ns, const char *name, const char *sub,
              cJSON *patch, wl_done_fn fn, void *arg)
{
	client_merge_patch(w->c, w->kind[r], ns, name, sub, patch, call_done,
	                   new_call(w, r, fn, arg));
}

void wl_delete(struct wl *w, enum wl_res r, const char *ns, const char *name, const char *uid,
               const char *propagation, wl_done_fn fn, void *arg)
{
	client_delete(w->c, w->kind[r], ns, name, -1, propagation, uid, call_done,
	              new_call(w, r, fn, arg));
}

struct wl_requeue {
	struct wl_ctl *c;
	char key[];
};

struct wl_requeue *wl_requeue_arg(struct wl_ctl *c, const char *key)
{
	size_t n = strlen(key) + 1;
	struct wl_requeue *q = xmalloc(sizeof(*q) + n);
	q->c = c;
	memcpy(q->key, key, n);
	return q;
}

void wl_requeue_on_failure(struct wl *w, void *arg, int code, const char *msg, cJSON *obj)
{
	struct wl_requeue *q = arg;
	if (!w->stopping && code >= 300) {
		log_debug("%s %s: write failed (%d): %s", q->c->name, q->key, code, msg);
		/* A conflict means our cache was behind: try again once it has caught up. */
		wl_enqueue_after(q->c, q->key, code == 409 ? 20 : 200);
	}
	free(q);
}

/* A merge patch turning old into new: changed members, and null for removed ones. */
static cJSON *merge_diff(const cJSON *old, const cJSON *new)
{
	cJSON *p = cJSON_CreateObject();
	const cJSON *it;
	cJSON_ArrayForEach(it, new)
	{
		const cJSON *o = obj_child(old, it->string);
		if (o && obj_equal(o, it))
			continue;
		if (cJSON_IsObject(o) && cJSON_IsObject(it))
			cJSON_AddItemToObject(p, it->string, merge_diff(o, it));
		else
			cJSON_AddItemToObject(p, it->string, obj_dup(it));
	}
	cJSON_ArrayForEach(it, old)
	{
		if (!obj_child(new, it->string))
			cJSON_AddNullToObject(p, it->string);
	}
	return p;
}

cJSON *wl_status_patch(const cJSON *obj, cJSON *status)
{
	const cJSON *old = obj_get(obj, "status");
	static const cJSON empty = { .type = cJSON_Object };
	if (!cJSON_IsObject(old))
		old = &empty;
	if (obj_equal(old, status)) {
		cJSON_Delete(status);
		return NULL;
	}
	cJSON *patch = cJSON_CreateObject();
	cJSON_AddItemToObject(patch, "status", merge_diff(old, status));
	cJSON_Delete(status);
	return patch;
}

bool wl_write_status(struct wl_ctl *c, enum wl_res r, const cJSON *obj, cJSON *status)
{
	cJSON *patch = wl_status_patch(obj, status);
	if (!patch)
		return false;
	char key[512];
	wl_key(obj, key, sizeof(key));
	const char *ns = obj_get_str(obj, "metadata.namespace");
	wl_patch(c->w, r, ns, wl_str(obj, "metadata.name"), "status", patch, wl_requeue_on_failure,
	         wl_requeue_arg(c, key));
	return true;
}

/* --- slow-start batches ---------------------------------------------------------------------- */

struct batch {
	struct wl *w;
	enum wl_res r;
	char *ns;
	cJSON **bodies;
	size_t n, next, inflight, size, ok, failed;
	char *first_error;
	wl_item_fn item;
	wl_end_fn end;
	void *arg;
};

static void batch_run(struct batch *b);

static void batch_item_done(struct wl *w, void *arg, int code, const char *msg, cJSON *obj)
{
	struct batch *b = arg;
	if (code < 300) {
		b->ok++;
	} else {
		b->failed++;
		if (!b->first_error)
			b->first_error = xstrdup(msg ? msg : "");
	}
	if (b->item)
		b->item(w, b->arg, code, msg, obj);
	if (--b->inflight == 0)
		batch_run(b);
}

static void batch_run(struct batch *b)
{
	if (b->failed || b->next == b->n || b->w->stopping) {
		size_t skipped = b->n - b->next;
		for (size_t i = b->next; i < b->n; i++)
			cJSON_Delete(b->bodies[i]);
		if (b->end)
			b->end(b->w, b->arg, b->ok, b->failed, skipped, b->first_error);
		free(b->first_error);
		free(b->bodies);
		free(b->ns);
		free(b);
		return;
	}
	size_t k = MIN(b->size, b->n - b->next);
	b->size *= 2;
	b->inflight = k;
	/* inflight is set before the first create: one may finish synchronously. */
	size_t start = b->next;
	b->next += k;
	b->inflight++;
	for (size_t i = 0; i < k; i++)
		wl_create(b->w, b->r, b->ns, b->bodies[start + i], batch_item_done, b);
	if (--b->inflight == 0)
		batch_run(b);
}

void wl_create_batched(struct wl *w, enum wl_res r, const char *ns, cJSON **bodies, size_t n,
                       wl_item_fn item, wl_end_fn end, void *arg)
{
	struct batch *b = xcalloc(1, sizeof(*b));
	b->w = w;
	b->r = r;
	b->ns = xstrdup(ns ? ns : "");
	b->bodies = bodies;
	b->n = n;
	b->size = 1;
	b->item = item;
	b->end = end;
	b->arg = arg;
	batch_run(b);
}

/* --- claiming ----------------------------------------------------------------------------- */

static cJSON *without_controller_ref(const cJSON *obj)
{
	cJSON *copy = obj_dup(obj);
	cJSON *refs = obj_get_mut(copy, "metadata.ownerReferences");
	for (int i = cJSON_GetArraySize(refs) - 1; i >= 0; i--)
		if (cJSON_IsTrue(obj_child(cJSON_GetArrayItem(refs, i), "controller")))
			cJSON_DeleteItemFromArray(refs, i);
	return copy;
}

size_t wl_claim(struct wl_ctl *c, enum wl_res r, const cJSON *owner, const char *api_version,
                const char *kind, const struct sel *sel, const cJSON ***out)
{
	struct wl *w = c->w;
	const cJSON **owned, **orphans;
	const char *uid = wl_str(owner, "metadata.uid");
	const char *ns = wl_str(owner, "metadata.namespace");
	bool owner_deleting = wl_deleting(owner);
	char key[512];
	wl_key(owner, key, sizeof(key));
	size_t no = wl_owned(w, r, uid, &owned);
	size_t nr = wl_orphans(w, r, ns, &orphans);
	const cJSON **v = xmalloc((no + nr + 1) * sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < no; i++) {
		const cJSON *o = owned[i];
		if (sel_matches(sel, obj_get(o, "metadata.labels"))) {
			v[n++] = o;
			continue;
		}
		/* No longer selected: let go (not while the owner is being deleted, as upstream,
		 * so the garbage collector still finds it). */
		if (owner_deleting || wl_deleting(o))
			continue;
		wl_update(w, r, NULL, without_controller_ref(o), wl_requeue_on_failure,
		          wl_requeue_arg(c, key));
	}
	if (!owner_deleting) {
		for (size_t i = 0; i < nr; i++) {
			const cJSON *o = orphans[i];
			if (wl_deleting(o) || !sel_matches(sel, obj_get(o, "metadata.labels")))
				continue;
			cJSON *copy = obj_dup(o);
			cJSON *refs = obj_get_mut(copy, "metadata.ownerReferences");
			if (!cJSON_IsArray(refs)) {
				obj_set(copy, "metadata.ownerReferences", cJSON_CreateArray(),
				        NULL);
				refs = obj_get_mut(copy, "metadata.ownerReferences");
			}
			cJSON_AddItemToArray(refs, wl_owner_ref(owner, api_version, kind));
			wl_update(w, r, NULL, copy, wl_requeue_on_failure, wl_requeue_arg(c, key));
			v[n++] = o;
		}
	}
	free(owned);
	free(orphans);
	*out = v;
	return n;
}

/* --- expectations ------------------------------------------------------------------------- */

struct wl_exp_rec {
	int64_t add, del;
	uint64_t ts;
	struct strmap pods; /* deletes still expected */
};

static void rec_free(struct wl_exp_rec *r)
{
	if (!r)
		return;
	strmap_free(&r->pods);
	free(r);
}

bool wl_exp_satisfied(struct wl_expect *e, const char *key, uint64_t mono_ms)
{
	struct wl_exp_rec *r = strmap_get(&e->m, key);
	if (!r)
		return true;
	if (r->add <= 0 && r->del <= 0)
		return true;
	return mono_ms - r->ts > EXPECT_TTL_MS;
}

static struct wl_exp_rec *rec_reset(struct wl_expect *e, const char *key, uint64_t mono_ms)
{
	rec_free(strmap_del(&e->m, key));
	struct wl_exp_rec *r = xcalloc(1, sizeof(*r));
	r->ts = mono_ms;
	strmap_put(&e->m, key, r);
	return r;
}

void wl_exp_expect_creates(struct wl_expect *e, const char *key, int n, uint64_t mono_ms)
{
	rec_reset(e, key, mono_ms)->add = n;
}

void wl_exp_expect(struct wl_expect *e, const char *key, int creates, const char *const *pods,
                   size_t n, uint64_t mono_ms)
{
	struct wl_exp_rec *r = rec_reset(e, key, mono_ms);
	r->add = creates;
	for (size_t i = 0; i < n; i++)
		strmap_put(&r->pods, pods[i], (void *)1);
	r->del = (int64_t)r->pods.len;
}

void wl_exp_expect_deletes(struct wl_expect *e, const char *key, const char *const *pods, size_t n,
                           uint64_t mono_ms)
{
	wl_exp_expect(e, key, 0, pods, n, mono_ms);
}

void wl_exp_created(struct wl_expect *e, const char *key)
{
	struct wl_exp_rec *r = strmap_get(&e->m, key);
	if (r)
		r->add--;
}

void wl_exp_create_failed(struct wl_expect *e, const char *key, int n)
{
	struct wl_exp_rec *r = strmap_get(&e->m, key);
	if (r)
		r->add -= n;
}

void wl_exp_deleted(struct wl_expect *e, const char *key, const char *pod)
{
	struct wl_exp_rec *r = strmap_get(&e->m, key);
	if (r && strmap_del(&r->pods, pod))
		r->del--;
}

void wl_exp_forget(struct wl_expect *e, const char *key)
{
	rec_free(strmap_del(&e->m, key));
}

void wl_exp_free(struct wl_expect *e)
{
	const char *k;
	void *v;
	for (size_t i = 0; strmap_next(&e->m, &i, &k, &v);)
		rec_free(v);
	strmap_free(&e->m);
}

/* --- controllers --------------------------------------------------------------------------- */

static int process(void *arg, const char *key)
{
	struct wl_ctl *c = arg;
	if (!controllers_workloads_synced((struct controllers_workloads *)c->w)) {
		/* Counting pods before the lists are in would create what exists. */
		workqueue_add_after(c->q, key, 50);
		return 0;
	}
	return c->sync(c, key);
}

void wl_ctl_init(struct wl_ctl *c, struct wl *w, const char *name)
{
	c->w = w;
	c->name = name;
	c->q = workqueue_new(w->loop, name, process, c);
}

void wl_ctl_destroy(struct wl_ctl *c)
{
	workqueue_free(c->q);
}

void wl_enqueue_key(struct wl_ctl *c, const char *key)
{
	workqueue_add(c->q, key);
}

void wl_enqueue(struct wl_ctl *c, const cJSON *obj)
{
	char key[512];
	wl_key(obj, key, sizeof(key));
	workqueue_add(c->q, key);
}

void wl_enqueue_after(struct wl_ctl *c, const char *key, uint64_t ms)
{
	workqueue_add_after(c->q, key, ms);
}

static int enqueue_one(void *arg, const cJSON *obj)
{
	wl_enqueue(arg, obj);
	return 0;
}

void wl_enqueue_all(struct wl_ctl *c, enum wl_res r)
{
	if (c->w->inf[r])
		informer_each(c->w->inf[r], enqueue_one, c);
}

/* --- start and stop ---------------------------------------------------------------------- */

static void on_resync(struct loop *l, struct loop_timer *t)
{
	struct wl *w = container_of(t, struct wl, resync);
	controllers_workloads_resync((struct controllers_workloads *)w);
	loop_timer_arm(l, &w->resync, w->resync_ms);
}

bool controllers_workloads_synced(const struct controllers_workloads *cw)
{
	const struct wl *w = &cw->w;
	for (int r = 0; r < WL_NRES; r++)
		if (w->inf[r] && !informer_synced(w->inf[r]))
			return false;
	return true;
}

void controllers_workloads_resync(struct controllers_workloads *cw)
{
	struct wl *w = &cw->w;
	if (w->stopping || !controllers_workloads_synced(cw))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(w->ctl); i++)
		if (w->ctl[i])
			w->ctl[i]->resync(w->ctl[i]);
}

int controllers_workloads_start(struct client *c, const struct controllers_workloads_opts *o,
                                struct controllers_workloads **out)
{
	static struct wl_ctl *(*const makers[])(struct wl *) = {
		wl_replicaset_new,  wl_deployment_new, wl_daemonset_new,
		wl_statefulset_new, wl_job_new,        wl_cronjob_new,
	};
	struct controllers_workloads *cw = xcalloc(1, sizeof(*cw));
	struct wl *w = &cw->w;
	w->c = c;
	w->loop = client_loop(c);
	w->which = o && o->which ? o->which : CONTROLLERS_WORKLOADS;
	w->now_fn = o ? o->now_ms : NULL;
	w->now_arg = o ? o->now_arg : NULL;
	w->resync_ms = o && o->resync_ms ? o->resync_ms : DEFAULT_RESYNC_MS;
	for (int r = 0; r < WL_NRES; r++) {
		w->kind[r] = client_kind(res_names[r].group, res_names[r].resource);
		if (!w->kind[r]) {
			log_error("no kind %s", res_names[r].resource);
			free(cw);
			return -ENOENT;
		}
		w->inf[r] = informer_new(c, w->kind[r], NULL, NULL);
		w->hargs[r].w = w;
		w->hargs[r].r = (enum wl_res)r;
		struct informer_handlers h = { on_add, on_update, on_del, on_synced, &w->hargs[r] };
		informer_add_handlers(w->inf[r], &h);
	}
	for (size_t i = 0; i < ARRAY_SIZE(makers); i++)
		if (w->which & (1u << i))
			w->ctl[i] = makers[i](w);
	for (int r = 0; r < WL_NRES; r++)
		informer_start(w->inf[r]);
	loop_timer_init(&w->resync, on_resync);
	loop_timer_arm(w->loop, &w->resync, w->resync_ms);
	*out = cw;
	return 0;
}

static void wl_free_shell(struct wl *w)
{
	free(container_of(w, struct controllers_workloads, w));
}

void controllers_workloads_stop(struct controllers_workloads *cw)
{
	if (!cw)
		return;
	struct wl *w = &cw->w;
	loop_timer_disarm(w->loop, &w->resync);
	for (int r = 0; r < WL_NRES; r++) {
		informer_free(w->inf[r]);
		w->inf[r] = NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(w->ctl); i++)
		if (w->ctl[i]) {
			w->ctl[i]->free(w->ctl[i]);
			w->ctl[i] = NULL;
		}
	for (int r = 0; r < WL_NRES; r++)
		index_free(&w->idx[r]);
	strmap_free(&w->fresh);
	w->stopping = true;
	if (!w->pending)
		wl_free_shell(w);
}
