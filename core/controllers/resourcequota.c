/* resourcequota: keeps each ResourceQuota's status (hard from spec, used counted from what its
 * namespace holds), recounting when objects it tracks come, go or finish. Admission charges
 * creates as they happen (core/api/admit.c); this puts the count right afterwards. */
#include <stdio.h>
#include <string.h>

#define LOG_TAG "resourcequota"
#include "core/controllers/cluster-internal.h"
#include "core/log/log.h"

struct ctrl_resourcequota;

struct watched {
	struct ctrl_resourcequota *x;
	const struct reg_kind *k;
};

struct ctrl_resourcequota {
	struct cc_ctl b;
	const struct reg_kind *rqk;
	struct watched w[CC_MAX_SUBS];
	size_t nw;
};

static struct informer *quotas(struct ctrl_resourcequota *x)
{
	return ctrl_informers_get(x->b.inf, x->rqk);
}

/* --- counting ----------------------------------------------------------------------------- */

struct count {
	const cJSON *quota;
	const struct reg_kind *k;
	cJSON *totals;
};

static int count_one(void *arg, const cJSON *obj)
{
	struct count *c = arg;
	if (api_quota_selects(c->quota, c->k, obj))
		api_quota_usage(c->k, obj, c->totals);
	return 0;
}

static bool tracked_by(const struct reg_kind *k, const cJSON *hard)
{
	const cJSON *h;
	cJSON_ArrayForEach(h, hard)
	{
		if (api_quota_tracks(k, h->string))
			return true;
	}
	return false;
}

static void watch_kind(struct ctrl_resourcequota *x, const struct reg_kind *k);

/* The namespaced kinds that can charge something in hard, each once (not events.k8s.io
 * Events, which are the core ones in another form). */
static bool counted_kind(size_t i)
{
	const struct reg_kind *k = reg_kinds[i];
	if (!k->namespaced)
		return false;
	for (size_t j = 0; j < i; j++)
		if (reg_kinds[j]->namespaced && !strcmp(reg_kinds[j]->storage, k->storage))
			return false;
	return true;
}

static int sync_quota(struct cc_ctl *b, const char *key)
{
	struct ctrl_resourcequota *x = (struct ctrl_resourcequota *)b;
	char buf[512];
	const char *ns, *name;
	cc_split_key(key, buf, sizeof(buf), &ns, &name);
	if (!ns)
		return 0;
	cJSON *q = client_get(b->c, x->rqk, ns, name);
	if (!q)
		return 0;
	const cJSON *hard = obj_get(q, "spec.hard");
	cJSON *totals = cJSON_CreateObject();
	for (size_t i = 0; i < reg_nkinds; i++) {
		const struct reg_kind *k = reg_kinds[i];
		if (!counted_kind(i) || !tracked_by(k, hard))
			continue;
		watch_kind(x, k);
		struct count c = { q, k, totals };
		if (client_list(b->c, k, ns, count_one, &c) < 0) {
			cJSON_Delete(totals);
			cJSON_Delete(q);
			return -1;
		}
	}
	cJSON *used = cJSON_CreateObject();
	const cJSON *h;
	cJSON_ArrayForEach(h, hard)
	{
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(totals, h->string);
		cJSON_AddStringToObject(used, h->string, cJSON_IsString(t) ? t->valuestring : "0");
	}
	cJSON_Delete(totals);
	cJSON *want_hard = hard ? cJSON_Duplicate(hard, true) : cJSON_CreateObject();
	if (obj_equal(obj_get(q, "status.used"), used) &&
	    obj_equal(obj_get(q, "status.hard"), want_hard)) {
		cJSON_Delete(used);
		cJSON_Delete(want_hard);
		cJSON_Delete(q);
		return 0;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(q, "status");
	cJSON *st = cJSON_AddObjectToObject(q, "status");
	cJSON_AddItemToObject(st, "hard", want_hard);
	cJSON_AddItemToObject(st, "used", used);
	/* With its resourceVersion: a create admitted meanwhile makes this a conflict and a
	 * recount, rather than a lost charge. */
	cc_update(b, key, x->rqk, ns, name, "status", q, NULL, NULL);
	return 0;
}

/* --- what makes a recount ------------------------------------------------------------------- */

struct in_ns {
	struct ctrl_resourcequota *x;
	const char *ns;
};

static int enqueue_if_in(void *arg, const cJSON *q)
{
	struct in_ns *w = arg;
	const char *ns = cc_ns(q);
	if (ns && !strcmp(ns, w->ns))
		cc_enqueue_obj(&w->x->b, q);
	return 0;
}

static void recount(struct ctrl_resourcequota *x, const cJSON *obj)
{
	struct in_ns w = { x, cc_ns(obj) };
	if (w.ns)
		cc_each(quotas(x), enqueue_if_in, &w);
}

static void on_obj(void *arg, const cJSON *obj)
{
	struct watched *w = arg;
	recount(w->x, obj);
}

/* Updates matter when they change a charge: a pod finishing or being deleted, a Service's
 * ports or type, a claim's size. */
static void on_obj_update(void *arg, const cJSON *old, const cJSON *obj)
{
	struct watched *w = arg;
	const char *res = w->k->resource;
	bool pods = !w->k->group[0] && !strcmp(res, "pods");
	if (pods && obj_equal(obj_get(old, "status.phase"), obj_get(obj, "status.phase")) &&
	    obj_equal(obj_get(old, "metadata.deletionTimestamp"),
	              obj_get(obj, "metadata.deletionTimestamp")))
		return;
	if (!pods && obj_equal(obj_get(old, "spec"), obj_get(obj, "spec")))
		return;
	recount(w->x, obj);
}

static void watch_kind(struct ctrl_resourcequota *x, const struct reg_kind *k)
{
	for (size_t i = 0; i < x->nw; i++)
		if (x->w[i].k == k)
			return;
	if (x->nw >= ARRAY_SIZE(x->w))
		return;
	struct watched *w = &x->w[x->nw++];
	w->x = x;
	w->k = k;
	struct informer_handlers h = { on_obj, on_obj_update, on_obj, NULL, w };
	if (cc_watch(&x->b, k->group, k->resource, &h) < 0)
		log_warn("cannot watch %s for quota", k->resource);
}

static void on_quota(void *arg, const cJSON *q)
{
	cc_enqueue_obj(arg, q);
}

static void on_quota_update(void *arg, const cJSON *old, const cJSON *q)
{
	/* Our own status writes come back here: only a changed spec is news. */
	if (!obj_equal(obj_get(old, "spec"), obj_get(q, "spec")) ||
	    !obj_equal(obj_get(q, "spec.hard"), obj_get(q, "status.hard")))
		cc_enqueue_obj(arg, q);
}

static int resync_one(void *arg, const cJSON *q)
{
	cc_enqueue_obj(arg, q);
	return 0;
}

static void resync(struct cc_ctl *b)
{
	struct ctrl_resourcequota *x = (struct ctrl_resourcequota *)b;
	cc_each(quotas(x), resync_one, x);
}

static void destroy(struct cc_ctl *b)
{
	cc_fini(b);
	free(b);
}

int ctrl_resourcequota_start(struct ctrl_informers *f, const struct ctrl_cluster_opts *o,
                             struct ctrl_resourcequota **out, struct err *e)
{
	struct ctrl_resourcequota *x = xcalloc(1, sizeof(*x));
	cc_init(&x->b, f, o, "resourcequota-controller");
	x->b.sync = sync_quota;
	x->b.resync = resync;
	x->b.destroy = destroy;
	x->rqk = cc_kind("", "resourcequotas");
	struct informer_handlers h = { on_quota, on_quota_update, NULL, NULL, x };
	if (!x->rqk || cc_watch(&x->b, "", "resourcequotas", &h)) {
		cc_stop(&x->b);
		return err_set(e, -ENOENT, "resource quota controller: quotas are not served");
	}
	/* The kinds upstream replenishes on; count/<kind> quotas add theirs as they appear. */
	static const char *const kinds[] = { "pods", "services", "persistentvolumeclaims",
		                             "configmaps", "secrets" };
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		const struct reg_kind *k = cc_kind("", kinds[i]);
		if (k)
			watch_kind(x, k);
	}
	cc_start(&x->b);
	*out = x;
	return 0;
}

void ctrl_resourcequota_stop(struct ctrl_resourcequota *x)
{
	if (x)
		cc_stop(&x->b);
}
