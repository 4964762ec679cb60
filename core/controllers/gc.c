/* gc: the garbage collector. Objects whose owners (metadata.ownerReferences) are all gone are
 * deleted (Background); an owner deleted with Foreground propagation waits, held by the
 * foregroundDeletion finalizer, until its blocking dependents are gone; one deleted with
 * Orphan propagation has its dependents' references to it removed, then the orphan finalizer. */
#include <stdio.h>
#include <string.h>

#define LOG_TAG "gc"
#include "core/controllers/cluster-internal.h"
#include "core/log/log.h"

#define F_ORPHAN "orphan"
#define F_FOREGROUND "foregroundDeletion"

/*
 * Keys are "<kind index>|<namespace>|<name>" (kind index into reg_kinds, namespace empty for
 * cluster-scoped objects). The dependents index maps an owner's uid to the keys of the objects
 * that name it, built from the informers of every kind but Events.
 */
struct ctrl_gc;

/* One watched kind: the handlers' argument. */
struct kind_slot {
	struct ctrl_gc *x;
	size_t idx; /* into reg_kinds */
};

struct ctrl_gc {
	struct cc_ctl b;
	struct strmap dependents; /* owner uid -> struct strmap* of dependent keys */
	struct kind_slot kinds[CC_MAX_SUBS];
	size_t nkinds;
};

static size_t kind_index(const struct reg_kind *k)
{
	for (size_t i = 0; i < reg_nkinds; i++)
		if (reg_kinds[i] == k)
			return i;
	return SIZE_MAX;
}

static void make_key(size_t idx, const char *ns, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%zu|%s|%s", idx, ns ? ns : "", name ? name : "");
}

/* Splits a key; false when it is malformed. */
static bool parse_key(const char *key, char *buf, size_t n, const struct reg_kind **k,
                      const char **ns, const char **name)
{
	snprintf(buf, n, "%s", key);
	char *a = strchr(buf, '|'), *b = a ? strchr(a + 1, '|') : NULL;
	uint64_t idx;
	if (!a || !b)
		return false;
	*a = *b = '\0';
	if (!parse_u64(buf, &idx) || idx >= reg_nkinds)
		return false;
	*k = reg_kinds[idx];
	*ns = a[1] ? a + 1 : NULL;
	*name = b + 1;
	return true;
}

/* The kind and key of what an ownerReference names, seen from a dependent in ns. */
static const struct reg_kind *owner_kind(const cJSON *ref, const char *dep_ns, char *key, size_t n)
{
	const char *av = obj_get_str(ref, "apiVersion"), *kind = obj_get_str(ref, "kind");
	const char *name = obj_get_str(ref, "name");
	const struct reg_kind *k = av && kind ? reg_lookup_kind(av, kind) : NULL;
	if (!k || !name)
		return NULL;
	make_key(kind_index(k), k->namespaced ? dep_ns : NULL, name, key, n);
	return k;
}

/* --- the dependents index ------------------------------------------------------------------ */

static void index_refs(struct ctrl_gc *x, const cJSON *obj, const char *key, bool add)
{
	const cJSON *ref;
	cJSON_ArrayForEach(ref, obj_get(obj, "metadata.ownerReferences"))
	{
		const char *uid = obj_get_str(ref, "uid");
		if (!uid || !*uid)
			continue;
		struct strmap *deps = strmap_get(&x->dependents, uid);
		if (add) {
			if (!deps) {
				deps = xcalloc(1, sizeof(*deps));
				strmap_put(&x->dependents, uid, deps);
			}
			strmap_put(deps, key, (void *)1);
		} else if (deps) {
			strmap_del(deps, key);
			if (!deps->len) {
				strmap_del(&x->dependents, uid);
				strmap_free(deps);
				free(deps);
			}
		}
	}
}

static size_t ndependents(struct ctrl_gc *x, const char *uid)
{
	struct strmap *deps = uid ? strmap_get(&x->dependents, uid) : NULL;
	return deps ? deps->len : 0;
}

/* A copy of the dependent keys of uid (the index may change while they are handled). */
static char **dependents_of(struct ctrl_gc *x, const char *uid, size_t *n)
{
	struct strmap *deps = uid ? strmap_get(&x->dependents, uid) : NULL;
	*n = 0;
	if (!deps)
		return NULL;
	char **v = xcalloc(deps->len + 1, sizeof(*v));
	const char *k;
	void *val;
	for (size_t i = 0; strmap_next(deps, &i, &k, &val);)
		v[(*n)++] = xstrdup(k);
	return v;
}

static void free_keys(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* --- writes ------------------------------------------------------------------------------ */

/* The object without finalizer f (an update with its resourceVersion: a conflict retries). */
static void drop_finalizer(struct ctrl_gc *x, const char *key, const struct reg_kind *k, cJSON *obj,
                           const char *f)
{
	cJSON *fins = obj_get_mut(obj, "metadata.finalizers");
	int i = 0;
	for (cJSON *it = fins ? fins->child : NULL; it; it = it->next, i++) {
		if (cJSON_IsString(it) && !strcmp(it->valuestring, f)) {
			cJSON_DeleteItemFromArray(fins, i);
			break;
		}
	}
	cc_update(&x->b, key, k, cc_ns(obj), cc_name(obj), NULL, obj, NULL, NULL);
}

/* Removes from obj the ownerReferences whose uid is in uids; false when none matched. */
static bool drop_refs(cJSON *obj, const char *const *uids, size_t n)
{
	cJSON *refs = obj_get_mut(obj, "metadata.ownerReferences");
	bool changed = false;
	for (cJSON *it = refs ? refs->child : NULL; it;) {
		cJSON *next = it->next;
		const char *uid = obj_get_str(it, "uid");
		for (size_t i = 0; uid && i < n; i++) {
			if (!strcmp(uid, uids[i])) {
				cJSON_Delete(cJSON_DetachItemViaPointer(refs, it));
				changed = true;
				break;
			}
		}
		it = next;
	}
	if (changed && refs && !refs->child)
		cJSON_DeleteItemFromObjectCaseSensitive(obj_get_mut(obj, "metadata"),
		                                        "ownerReferences");
	return changed;
}

static int delete_done(struct cc_ctl *b, const char *key, int code, const char *msg, cJSON *obj,
                       void *arg)
{
	/* 404: gone already; 409: its uid changed (a new object of the same name). */
	if ((code >= 200 && code < 300) || code == 404 || code == 409)
		return 0;
	return -1;
}

static void delete_object(struct ctrl_gc *x, const char *key, const struct reg_kind *k,
                          const cJSON *obj, const char *policy, const char *why)
{
	log_info("deleting %s %s%s%s (%s): %s", k->kind, cc_ns(obj) ? cc_ns(obj) : "",
	         cc_ns(obj) ? "/" : "", cc_name(obj), policy, why);
	cc_delete(&x->b, key, k, cc_ns(obj), cc_name(obj), -1, policy, cc_uid(obj), delete_done,
	          NULL);
}

/* --- owners being deleted ------------------------------------------------------------------ */

/* Orphan propagation: the dependents forget this owner, then the owner may go. */
static void orphan_dependents(struct ctrl_gc *x, const char *key, const struct reg_kind *k,
                              cJSON *obj)
{
	const char *uid = cc_uid(obj);
	size_t n;
	char **deps = dependents_of(x, uid, &n);
	bool waiting = false;
	for (size_t i = 0; i < n; i++) {
		char buf[600];
		const struct reg_kind *dk;
		const char *dns, *dname;
		if (!parse_key(deps[i], buf, sizeof(buf), &dk, &dns, &dname))
			continue;
		cJSON *dep = client_get(x->b.c, dk, dns, dname);
		if (dep && drop_refs(dep, &uid, 1)) {
			cc_update(&x->b, key, dk, dns, dname, NULL, dep, NULL, NULL);
			waiting = true;
			continue;
		}
		cJSON_Delete(dep);
	}
	free_keys(deps, n);
	if (waiting) {
		cc_enqueue(&x->b, key); /* the finalizer goes once the dependents are written */
		cJSON_Delete(obj);
		return;
	}
	drop_finalizer(x, key, k, obj, F_ORPHAN);
}

static bool blocks(const cJSON *dep, const char *owner_uid)
{
	const cJSON *ref;
	cJSON_ArrayForEach(ref, obj_get(dep, "metadata.ownerReferences"))
	{
		const char *uid = obj_get_str(ref, "uid");
		bool b = false;
		if (uid && !strcmp(uid, owner_uid) && obj_get_bool(ref, "blockOwnerDeletion", &b) &&
		    b)
			return true;
	}
	return false;
}

static bool names_owner(const cJSON *dep, const char *owner_uid)
{
	const cJSON *ref;
	cJSON_ArrayForEach(ref, obj_get(dep, "metadata.ownerReferences"))
	{
		const char *uid = obj_get_str(ref, "uid");
		if (uid && !strcmp(uid, owner_uid))
			return true;
	}
	return false;
}

/* Foreground propagation: every dependent is deleted; the owner goes once none of those
 * that block it (blockOwnerDeletion) is left. */
static void delete_dependents(struct ctrl_gc *x, const char *key, const struct reg_kind *k,
                              cJSON *obj)
{
	const char *uid = cc_uid(obj);
	size_t n, blocking = 0;
	char **deps = dependents_of(x, uid, &n);
	for (size_t i = 0; i < n; i++) {
		char buf[600];
		const struct reg_kind *dk;
		const char *dns, *dname;
		if (!parse_key(deps[i], buf, sizeof(buf), &dk, &dns, &dname))
			continue;
		cJSON *dep = client_get(x->b.c, dk, dns, dname);
		if (!dep || !names_owner(dep, uid)) {
			cJSON_Delete(dep);
			continue;
		}
		if (blocks(dep, uid))
			blocking++;
		if (!cc_deleting(dep)) {
			/* Its own dependents go first when it has any, as upstream does. */
			const char *policy =
			    ndependents(x, cc_uid(dep)) ? "Foreground" : "Background";
			delete_object(x, deps[i], dk, dep, policy,
			              "its owner is being deleted in the foreground");
		}
		cJSON_Delete(dep);
	}
	free_keys(deps, n);
	if (blocking) {
		cJSON_Delete(obj); /* looked at again as each dependent goes */
		return;
	}
	drop_finalizer(x, key, k, obj, F_FOREGROUND);
}

/* --- dependents whose owners may be gone ---------------------------------------------------- */

static void check_owners(struct ctrl_gc *x, const char *key, const struct reg_kind *k, cJSON *obj)
{
	const char *ns = cc_ns(obj);
	size_t solid = 0, ndead = 0, nwaiting = 0;
	/* Copies: drop_refs frees the references these come from as it goes. */
	char *dead[32];
	const cJSON *ref;
	cJSON_ArrayForEach(ref, obj_get(obj, "metadata.ownerReferences"))
	{
		char okey[600];
		const char *ouid = obj_get_str(ref, "uid");
		const struct reg_kind *ok = owner_kind(ref, ns, okey, sizeof(okey));
		if (!ok || !ouid || (ok->namespaced && !ns)) {
			/* A kind we do not serve, or a namespaced owner of a cluster-scoped object,
			 * cannot be resolved: it counts as present, nothing is deleted for it. */
			if (ok && ouid)
				client_event(x->b.c, x->b.component, obj, "Warning",
				             "OwnerRefInvalidNamespace",
				             "ownerRef [%s, name: %s, uid: %s] is namespaced: a "
				             "cluster-scoped object cannot have it as owner",
				             ok->kind, obj_get_str(ref, "name"), ouid);
			solid++;
			continue;
		}
		cJSON *owner =
		    client_get(x->b.c, ok, ok->namespaced ? ns : NULL, obj_get_str(ref, "name"));
		const char *have = cc_uid(owner);
		if (!owner || !have || strcmp(have, ouid)) {
			if (ndead < ARRAY_SIZE(dead))
				dead[ndead++] = xstrdup(ouid);
		} else if (cc_deleting(owner) && cc_has_finalizer(owner, F_FOREGROUND)) {
			if (ndead < ARRAY_SIZE(dead))
				dead[ndead++] = xstrdup(ouid);
			nwaiting++;
		} else {
			solid++;
		}
		cJSON_Delete(owner);
	}
	if (!ndead) {
		cJSON_Delete(obj);
		return;
	}
	if (solid) {
		/* Still owned: only the references to owners that are gone (or going) are dropped,
		 * so that a foreground deletion is not held by an object it does not remove. */
		if (drop_refs(obj, (const char *const *)dead, ndead))
			cc_update(&x->b, key, k, ns, cc_name(obj), NULL, obj, NULL, NULL);
		else
			cJSON_Delete(obj);
		for (size_t i = 0; i < ndead; i++)
			free(dead[i]);
		return;
	}
	for (size_t i = 0; i < ndead; i++)
		free(dead[i]);
	const char *policy = "Background";
	if (nwaiting && ndependents(x, cc_uid(obj)))
		policy = "Foreground";
	else if (cc_has_finalizer(obj, F_ORPHAN))
		policy = "Orphan";
	else if (cc_has_finalizer(obj, F_FOREGROUND))
		policy = "Foreground";
	delete_object(x, key, k, obj, policy, "its owners are gone");
	cJSON_Delete(obj);
}

static int sync_obj(struct cc_ctl *b, const char *key)
{
	struct ctrl_gc *x = (struct ctrl_gc *)b;
	char buf[600];
	const struct reg_kind *k;
	const char *ns, *name;
	if (!parse_key(key, buf, sizeof(buf), &k, &ns, &name))
		return 0;
	cJSON *obj = client_get(b->c, k, ns, name);
	if (!obj)
		return 0;
	if (cc_deleting(obj)) {
		if (cc_has_finalizer(obj, F_ORPHAN))
			orphan_dependents(x, key, k, obj);
		else if (cc_has_finalizer(obj, F_FOREGROUND))
			delete_dependents(x, key, k, obj);
		else
			cJSON_Delete(obj);
		return 0;
	}
	if (cJSON_GetArraySize(obj_get(obj, "metadata.ownerReferences")) > 0)
		check_owners(x, key, k, obj);
	else
		cJSON_Delete(obj);
	return 0;
}

/* --- events ------------------------------------------------------------------------------- */

static void key_of(struct kind_slot *s, const cJSON *obj, char *key, size_t n)
{
	const struct reg_kind *k = reg_kinds[s->idx];
	make_key(s->idx, k->namespaced ? cc_ns(obj) : NULL, cc_name(obj), key, n);
}

static bool gc_finalizing(const cJSON *obj)
{
	return cc_deleting(obj) &&
	       (cc_has_finalizer(obj, F_ORPHAN) || cc_has_finalizer(obj, F_FOREGROUND));
}

static void enqueue_owners(struct ctrl_gc *x, const cJSON *obj)
{
	const cJSON *ref;
	cJSON_ArrayForEach(ref, obj_get(obj, "metadata.ownerReferences"))
	{
		char okey[600];
		if (owner_kind(ref, cc_ns(obj), okey, sizeof(okey)))
			cc_enqueue(&x->b, okey);
	}
}

static void enqueue_dependents(struct ctrl_gc *x, const char *uid)
{
	size_t n;
	char **deps = dependents_of(x, uid, &n);
	for (size_t i = 0; i < n; i++)
		cc_enqueue(&x->b, deps[i]);
	free_keys(deps, n);
}

static void on_add(void *arg, const cJSON *obj)
{
	struct kind_slot *s = arg;
	char key[600];
	if (!cc_name(obj))
		return;
	key_of(s, obj, key, sizeof(key));
	index_refs(s->x, obj, key, true);
	if (obj_get(obj, "metadata.ownerReferences") || gc_finalizing(obj))
		cc_enqueue(&s->x->b, key);
	/* A dependent may have arrived before its owner was known to be waiting on it. */
	if (gc_finalizing(obj))
		enqueue_dependents(s->x, cc_uid(obj));
}

static void on_update(void *arg, const cJSON *old, const cJSON *obj)
{
	struct kind_slot *s = arg;
	char key[600];
	if (!cc_name(obj))
		return;
	key_of(s, obj, key, sizeof(key));
	bool refs_changed = !obj_equal(obj_get(old, "metadata.ownerReferences"),
	                               obj_get(obj, "metadata.ownerReferences"));
	if (refs_changed) {
		index_refs(s->x, old, key, false);
		index_refs(s->x, obj, key, true);
		cc_enqueue(&s->x->b, key);
		/* References removed may have been what held a foreground owner. */
		enqueue_owners(s->x, old);
	}
	if (gc_finalizing(obj) && (!gc_finalizing(old) || refs_changed ||
	                           !obj_equal(obj_get(old, "metadata.finalizers"),
	                                      obj_get(obj, "metadata.finalizers")))) {
		cc_enqueue(&s->x->b, key);
		enqueue_dependents(s->x, cc_uid(obj));
	}
	if (cc_deleting(obj) && !cc_deleting(old))
		enqueue_owners(s->x, obj);
}

static void on_del(void *arg, const cJSON *obj)
{
	struct kind_slot *s = arg;
	char key[600];
	if (!cc_name(obj))
		return;
	key_of(s, obj, key, sizeof(key));
	index_refs(s->x, obj, key, false);
	/* Its dependents may be orphans now; its owners may be waiting for it to go. */
	enqueue_dependents(s->x, cc_uid(obj));
	enqueue_owners(s->x, obj);
}

static int resync_one(void *arg, const cJSON *obj)
{
	struct kind_slot *s = arg;
	char key[600];
	if (!cc_name(obj))
		return 0;
	if (obj_get(obj, "metadata.ownerReferences") || gc_finalizing(obj)) {
		key_of(s, obj, key, sizeof(key));
		cc_enqueue(&s->x->b, key);
	}
	return 0;
}

static void resync(struct cc_ctl *b)
{
	struct ctrl_gc *x = (struct ctrl_gc *)b;
	for (size_t i = 0; i < x->nkinds; i++)
		cc_each(ctrl_informers_get(b->inf, reg_kinds[x->kinds[i].idx]), resync_one,
		        &x->kinds[i]);
}

static void destroy(struct cc_ctl *b)
{
	struct ctrl_gc *x = (struct ctrl_gc *)b;
	const char *k;
	void *v;
	for (size_t i = 0; strmap_next(&x->dependents, &i, &k, &v);) {
		strmap_free(v);
		free(v);
	}
	strmap_free(&x->dependents);
	cc_fini(b);
	free(x);
}

int ctrl_gc_start(struct ctrl_informers *f, const struct ctrl_cluster_opts *o, struct ctrl_gc **out,
                  struct err *e)
{
	struct ctrl_gc *x = xcalloc(1, sizeof(*x));
	cc_init(&x->b, f, o, "garbage-collector-controller");
	x->b.sync = sync_obj;
	x->b.resync = resync;
	x->b.destroy = destroy;
	for (size_t i = 0; i < reg_nkinds; i++) {
		const struct reg_kind *k = reg_kinds[i];
		/* Events own nothing and are owned by nothing, as upstream's GC ignores them. */
		if (!strcmp(k->resource, "events"))
			continue;
		if (x->nkinds >= ARRAY_SIZE(x->kinds)) {
			cc_stop(&x->b);
			return err_set(e, -E2BIG, "garbage collector: too many kinds");
		}
		x->kinds[x->nkinds].x = x;
		x->kinds[x->nkinds].idx = i;
		struct informer_handlers h = { on_add, on_update, on_del, NULL,
			                       (void *)&x->kinds[x->nkinds] };
		x->nkinds++;
		if (cc_watch(&x->b, k->group, k->resource, &h)) {
			cc_stop(&x->b);
			return err_set(e, -ENOENT, "garbage collector: cannot watch %s",
			               k->resource);
		}
	}
	cc_start(&x->b);
	*out = x;
	return 0;
}

void ctrl_gc_stop(struct ctrl_gc *x)
{
	if (x)
		cc_stop(&x->b);
}
