/* namespace: empties a namespace that is being deleted (every namespaced kind, pods gracefully),
 * reports progress in its status conditions, then removes the "kubernetes" finalizer through
 * namespaces/finalize so the API server can let the namespace go. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_TAG "namespace"
#include "core/controllers/cluster-internal.h"
#include "core/log/log.h"

#define FINALIZER "kubernetes"

struct ctrl_namespace {
	struct cc_ctl b;
	const struct reg_kind *nsk;
};

/* --- what is left ----------------------------------------------------------------------- */

struct tally {
	struct ctrl_namespace *x;
	const char *key;
	const struct reg_kind *k;
	int remaining;                /* of this kind */
	struct strmap *per_finalizer; /* finalizer -> count */
	int64_t soonest_grace_left;   /* seconds until a graceful pod's grace runs out */
};

static int delete_done(struct cc_ctl *b, const char *key, int code, const char *msg, cJSON *obj,
                       void *arg)
{
	if ((code >= 200 && code < 300) || code == 404 || code == 409)
		return 0; /* gone already, or replaced: the next pass sees what is there */
	return -1;
}

static int visit(void *arg, const cJSON *obj)
{
	struct tally *t = arg;
	const char *name = cc_name(obj);
	if (!name)
		return 0;
	t->remaining++;
	const cJSON *f;
	cJSON_ArrayForEach(f, obj_get(obj, "metadata.finalizers"))
	{
		if (!cJSON_IsString(f))
			continue;
		uintptr_t n = (uintptr_t)strmap_get(t->per_finalizer, f->valuestring);
		strmap_put(t->per_finalizer, f->valuestring, (void *)(n + 1));
	}
	if (cc_deleting(obj)) {
		int64_t when;
		if (cc_time(obj, "metadata.deletionTimestamp", &when)) {
			int64_t left = when - (int64_t)time(NULL);
			if (left > 0 && (!t->soonest_grace_left || left < t->soonest_grace_left))
				t->soonest_grace_left = left;
		}
		return 0;
	}
	/* Default grace: pods on nodes stop gracefully, everything else goes at once. */
	cc_delete(&t->x->b, t->key, t->k, cc_ns(obj), name, -1, NULL, cc_uid(obj), delete_done,
	          NULL);
	return 0;
}

/* --- conditions ------------------------------------------------------------------------- */

struct cond {
	const char *type, *status, *reason;
	char *message;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "a, b, c" of the sorted strings; frees them. */
static char *join_sorted(char **v, size_t n)
{
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	struct buf b = { 0 };
	for (size_t i = 0; i < n; i++) {
		buf_printf(&b, "%s%s", i ? ", " : "", v[i]);
		free(v[i]);
	}
	free(v);
	return buf_steal(&b);
}

/* Sets the namespace's conditions; returns the new status or NULL when nothing changed. */
static cJSON *with_conditions(const cJSON *ns, const struct cond *c, size_t n)
{
	cJSON *copy = cJSON_Duplicate(ns, true);
	cJSON *conds = obj_get_mut(copy, "status.conditions");
	if (!cJSON_IsArray(conds)) {
		obj_set(copy, "status.conditions", cJSON_CreateArray(), NULL);
		conds = obj_get_mut(copy, "status.conditions");
	}
	char now[32];
	obj_time_format((int64_t)time(NULL), now);
	bool changed = false;
	for (size_t i = 0; i < n; i++) {
		cJSON *have = (cJSON *)cc_condition(copy, c[i].type);
		const char *s = obj_get_str(have, "status"), *r = obj_get_str(have, "reason");
		const char *m = obj_get_str(have, "message");
		if (have && s && r && m && !strcmp(s, c[i].status) && !strcmp(r, c[i].reason) &&
		    !strcmp(m, c[i].message))
			continue;
		changed = true;
		const char *since = have && s && !strcmp(s, c[i].status)
		                        ? obj_get_str(have, "lastTransitionTime")
		                        : NULL;
		cJSON *nc = cJSON_CreateObject();
		cJSON_AddStringToObject(nc, "type", c[i].type);
		cJSON_AddStringToObject(nc, "status", c[i].status);
		cJSON_AddStringToObject(nc, "lastTransitionTime", since ? since : now);
		cJSON_AddStringToObject(nc, "reason", c[i].reason);
		cJSON_AddStringToObject(nc, "message", c[i].message);
		if (have) {
			int idx = 0;
			for (cJSON *it = conds->child; it && it != have; it = it->next)
				idx++;
			cJSON_ReplaceItemInArray(conds, idx, nc);
		} else {
			cJSON_AddItemToArray(conds, nc);
		}
	}
	if (!changed) {
		cJSON_Delete(copy);
		return NULL;
	}
	return copy;
}

/* --- syncing ---------------------------------------------------------------------------- */

static bool has_spec_finalizer(const cJSON *ns)
{
	const cJSON *f;
	cJSON_ArrayForEach(f, obj_get(ns, "spec.finalizers"))
	{
		if (cJSON_IsString(f) && !strcmp(f->valuestring, FINALIZER))
			return true;
	}
	return false;
}

static void finalize(struct ctrl_namespace *x, const char *key, cJSON *ns)
{
	cJSON *keep = cJSON_CreateArray();
	const cJSON *f;
	cJSON_ArrayForEach(f, obj_get(ns, "spec.finalizers"))
	{
		if (cJSON_IsString(f) && strcmp(f->valuestring, FINALIZER))
			cJSON_AddItemToArray(keep, cJSON_Duplicate(f, true));
	}
	cJSON *spec = obj_get_mut(ns, "spec");
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "finalizers");
	cJSON_AddItemToObject(spec, "finalizers", keep);
	log_info("namespace %s is empty: finalizing", key);
	cc_update(&x->b, key, x->nsk, NULL, key, "finalize", ns, NULL, NULL);
}

static int sync_ns(struct cc_ctl *b, const char *key)
{
	struct ctrl_namespace *x = (struct ctrl_namespace *)b;
	cJSON *ns = client_get(b->c, x->nsk, NULL, key);
	if (!ns || !cc_deleting(ns) || !has_spec_finalizer(ns)) {
		cJSON_Delete(ns);
		return 0;
	}
	struct strmap per_finalizer = { 0 };
	char **left = NULL, **errs = NULL;
	size_t nleft = 0, nerrs = 0;
	int64_t soonest = 0;
	int total = 0;
	for (size_t i = 0; i < reg_nkinds; i++) {
		const struct reg_kind *k = reg_kinds[i];
		if (!k->namespaced)
			continue;
		/* Kinds sharing another's storage (events.k8s.io) are that kind's objects. */
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j++)
			dup =
			    reg_kinds[j]->namespaced && !strcmp(reg_kinds[j]->storage, k->storage);
		if (dup)
			continue;
		struct tally t = { x, key, k, 0, &per_finalizer, 0 };
		if (client_list(b->c, k, key, visit, &t) < 0) {
			errs = xrealloc(errs, (nerrs + 1) * sizeof(*errs));
			errs[nerrs++] = xasprintf("failed to list %s.%s", k->resource, k->group);
			continue;
		}
		if (t.soonest_grace_left && (!soonest || t.soonest_grace_left < soonest))
			soonest = t.soonest_grace_left;
		if (!t.remaining)
			continue;
		total += t.remaining;
		left = xrealloc(left, (nleft + 1) * sizeof(*left));
		left[nleft++] = xasprintf("%s.%s has %d resource instances", k->resource, k->group,
		                          t.remaining);
	}
	char **fins = NULL;
	size_t nfins = 0;
	const char *fk;
	void *fv;
	for (size_t i = 0; strmap_next(&per_finalizer, &i, &fk, &fv);) {
		fins = xrealloc(fins, (nfins + 1) * sizeof(*fins));
		fins[nfins++] = xasprintf("%s in %d resource instances", fk, (int)(uintptr_t)fv);
	}
	strmap_free(&per_finalizer);

	/* The conditions upstream reports while a namespace terminates. */
	char *nl = join_sorted(left, nleft), *nf = join_sorted(fins, nfins);
	char *ne = join_sorted(errs, nerrs);
	struct cond c[5] = {
		{ "NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered",
		  xstrdup("All resources successfully discovered") },
		{ "NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions",
		  xstrdup("All legacy kube types successfully parsed") },
		{ "NamespaceDeletionContentFailure", nerrs ? "True" : "False",
		  nerrs ? "ContentDeletionFailed" : "ContentDeleted",
		  nerrs ? xasprintf("Failed to delete all resource types, %zu remaining: %s", nerrs,
		                    ne)
		        : xstrdup(
		              "All content successfully deleted, may be waiting on finalization") },
		{ "NamespaceContentRemaining", nleft ? "True" : "False",
		  nleft ? "SomeResourcesRemain" : "ContentRemoved",
		  nleft ? xasprintf("Some resources are remaining: %s", nl)
		        : xstrdup("All content successfully removed") },
		{ "NamespaceFinalizersRemaining", nfins ? "True" : "False",
		  nfins ? "SomeFinalizersRemain" : "ContentHasNoFinalizers",
		  nfins
		      ? xasprintf("Some content in the namespace has finalizers remaining: %s", nf)
		      : xstrdup("All content-preserving finalizers finished") },
	};
	free(nl);
	free(nf);
	free(ne);
	cJSON *updated = with_conditions(ns, c, ARRAY_SIZE(c));
	for (size_t i = 0; i < ARRAY_SIZE(c); i++)
		free(c[i].message);
	if (updated)
		cc_update(b, key, x->nsk, NULL, key, "status", updated, NULL, NULL);

	if (!total && !nerrs) {
		if (updated) {
			/* Finalize once the status is written (the write's completion syncs again). */
			cc_enqueue(b, key);
			cJSON_Delete(ns);
		} else {
			finalize(x, key, ns);
		}
		return 0;
	}
	cJSON_Delete(ns);
	/* Look again soon; graceful pods take their time (upstream waits half of it). */
	uint64_t ms = b->o.namespace_recheck_ms;
	if (soonest > 0 && (uint64_t)soonest * 500 > ms)
		ms = (uint64_t)soonest * 500;
	cc_enqueue_after(b, key, ms);
	return nerrs ? -1 : 0;
}

/* --- events ------------------------------------------------------------------------------- */

static void on_ns(void *arg, const cJSON *ns)
{
	struct ctrl_namespace *x = arg;
	if (cc_deleting(ns))
		cc_enqueue_obj(&x->b, ns);
}

static void on_ns_update(void *arg, const cJSON *old, const cJSON *ns)
{
	on_ns(arg, ns);
}

/* A pod gone from a terminating namespace may have been the last thing in it. */
static void on_pod_gone(void *arg, const cJSON *pod)
{
	struct ctrl_namespace *x = arg;
	const char *ns = cc_ns(pod);
	const cJSON *nso = ns ? cc_get(ctrl_informers_get(x->b.inf, x->nsk), NULL, ns) : NULL;
	if (nso && cc_deleting(nso))
		cc_enqueue(&x->b, ns);
}

static int resync_one(void *arg, const cJSON *ns)
{
	on_ns(arg, ns);
	return 0;
}

static void resync(struct cc_ctl *b)
{
	struct ctrl_namespace *x = (struct ctrl_namespace *)b;
	cc_each(ctrl_informers_get(b->inf, x->nsk), resync_one, x);
}

static void destroy(struct cc_ctl *b)
{
	cc_fini(b);
	free(b);
}

int ctrl_namespace_start(struct ctrl_informers *f, const struct ctrl_cluster_opts *o,
                         struct ctrl_namespace **out, struct err *e)
{
	struct ctrl_namespace *x = xcalloc(1, sizeof(*x));
	cc_init(&x->b, f, o, "namespace-controller");
	x->b.sync = sync_ns;
	x->b.resync = resync;
	x->b.destroy = destroy;
	x->nsk = cc_kind("", "namespaces");
	struct informer_handlers hn = { on_ns, on_ns_update, NULL, NULL, x };
	struct informer_handlers hp = { NULL, NULL, on_pod_gone, NULL, x };
	if (!x->nsk || cc_watch(&x->b, "", "namespaces", &hn) || cc_watch(&x->b, "", "pods", &hp)) {
		cc_stop(&x->b);
		return err_set(e, -ENOENT, "namespace controller: a kind it needs is not served");
	}
	cc_start(&x->b);
	*out = x;
	return 0;
}

void ctrl_namespace_stop(struct ctrl_namespace *x)
{
	if (x)
		cc_stop(&x->b);
}
