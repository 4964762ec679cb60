/* write: create, update, read-modify-write and delete. Each write is staged on the loop,
 * committed by the store's writer with the others in flight (one sync), and finished back
 * on the loop; conflicts and generated-name clashes are retried as upstream does. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_TAG "api"
#include "core/api/api-internal.h"
#include "core/log/log.h"
#include "core/obj/obj.h"

enum wop { W_CREATE, W_UPDATE, W_MUTATE, W_DELETE };

struct wreq {
	struct api *a;
	const struct reg_kind *k;
	char *ns, *name, *sub;
	struct api_write_opts o;
	api_done_fn done;
	void *arg;
	enum wop op;

	cJSON *body; /* what the client sent (update) */
	cJSON *obj;  /* the object being written, or the result */
	cJSON *cur;  /* the stored object, for updates and deletes */
	uint64_t cur_rev;
	bool explicit_rv;

	api_mutate_fn mutate;
	void *marg;
	bool create_ok;

	struct api_delete_opts d;
	char *d_uid, *d_rv, *d_prop;

	int attempts;
	char *gen_prefix;
	bool deleting; /* this write removes the object */
	int ok_code;

	struct store_op ops[1 + API_MAX_EXTRA];
	size_t nops;
	char *owned[2 * API_MAX_EXTRA + 2];
	size_t nowned;

	int rc;
	struct err err;
	struct store_result res;
	struct api_status st;
};

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static struct wreq *wreq_new(struct api *a, const struct api_target *t,
                             const struct api_write_opts *o, api_done_fn done, void *arg)
{
	struct wreq *w = xcalloc(1, sizeof(*w));
	w->a = a;
	a->writes++;
	w->k = t->k;
	w->ns = dup_or_null(t->k->namespaced ? t->ns : NULL);
	w->name = dup_or_null(t->name);
	w->sub = dup_or_null(t->sub);
	if (o)
		w->o = *o;
	w->done = done;
	w->arg = arg;
	w->ok_code = 200;
	return w;
}

static void release_ops(struct wreq *w)
{
	for (size_t i = 0; i < w->nowned; i++)
		free(w->owned[i]);
	w->nowned = 0;
	w->nops = 0;
}

static void finish(struct wreq *w)
{
	if (w->st.code == 0)
		w->st.code = w->ok_code;
	bool ok = w->st.code >= 200 && w->st.code < 300;
	if (w->done)
		w->done(w->arg, &w->st, ok ? w->obj : NULL);
	api_status_clear(&w->st);
	release_ops(w);
	cJSON_Delete(w->obj);
	cJSON_Delete(w->cur);
	cJSON_Delete(w->body);
	free(w->ns);
	free(w->name);
	free(w->sub);
	free(w->d_uid);
	free(w->d_rv);
	free(w->d_prop);
	free(w->gen_prefix);
	w->a->writes--;
	free(w);
}

static void fail_and_finish(struct wreq *w)
{
	cJSON_Delete(w->obj);
	w->obj = NULL;
	finish(w);
}

/* --- shared checks -------------------------------------------------------------- */

static void set_detail(struct wreq *w)
{
	snprintf(w->st.name, sizeof(w->st.name), "%s", w->name ? w->name : "");
	snprintf(w->st.group, sizeof(w->st.group), "%s", w->k->group);
	snprintf(w->st.kind, sizeof(w->st.kind), "%s", w->k->resource);
}

static void qres(const struct reg_kind *k, char *out, size_t n)
{
	if (k->group[0])
		snprintf(out, n, "%s.%s", k->resource, k->group);
	else
		snprintf(out, n, "%s", k->resource);
}

static int not_found(struct wreq *w)
{
	char q[128];
	qres(w->k, q, sizeof(q));
	api_fail(&w->st, 404, "NotFound", "%s \"%s\" not found", q, w->name ? w->name : "");
	set_detail(w);
	return -1;
}

static int conflict(struct wreq *w)
{
	char q[128];
	qres(w->k, q, sizeof(q));
	api_fail(&w->st, 409, "Conflict",
	         "Operation cannot be fulfilled on %s \"%s\": the object has been modified; please "
	         "apply your changes to the latest version and try again",
	         q, w->name ? w->name : "");
	set_detail(w);
	return -1;
}

static int invalid(struct wreq *w, struct reg_errors *errs)
{
	struct buf b = { 0 };
	for (size_t i = 0; i < errs->n; i++)
		buf_printf(&b, "%s%s: %s", i ? ", " : "", errs->v[i].field, errs->v[i].message);
	api_fail(&w->st, 422, "Invalid", "%s \"%s\" is invalid: %s%s%s", w->k->kind,
	         w->name ? w->name : "", errs->n > 1 ? "[" : "", b.data ? b.data : "",
	         errs->n > 1 ? "]" : "");
	buf_free(&b);
	set_detail(w);
	reg_errors_free(&w->st.causes);
	w->st.causes = *errs;
	memset(errs, 0, sizeof(*errs));
	return -1;
}

static int store_failed(struct wreq *w)
{
	int rc = w->rc;
	set_detail(w);
	if (rc == -ENOSPC)
		return api_fail(&w->st, 507, "InternalError", "storage is full: %s", w->err.msg);
	if (rc == -E2BIG)
		return api_fail(&w->st, 413, "RequestEntityTooLarge", "request is too large: %s",
		                w->err.msg);
	return api_fail(&w->st, 500, "InternalError", "storage error: %s",
	                w->err.msg[0] ? w->err.msg : strerror(rc < 0 ? -rc : rc));
}

static bool tracks_generation(const struct reg_kind *k)
{
	return !strcmp(k->group, "apps") || !strcmp(k->group, "batch") ||
	       !strcmp(k->group, "policy") || !strcmp(k->group, "networking.k8s.io");
}

/* Reads the stored object into w->cur (NULL if absent). */
static int read_cur(struct wreq *w)
{
	struct api_target t = { w->k, w->ns, w->name, NULL };
	struct api_status st = { 0 };
	cJSON_Delete(w->cur);
	w->cur = NULL;
	w->cur_rev = 0;
	if (api_get(w->a, &t, &w->cur, &st) < 0) {
		if (st.code == 404) {
			api_status_clear(&st);
			return 0;
		}
		api_status_clear(&w->st);
		w->st = st;
		return -1;
	}
	const char *rv =
	    api_str(cJSON_GetObjectItemCaseSensitive(w->cur, "metadata"), "resourceVersion");
	parse_u64(rv ? rv : "0", &w->cur_rev);
	return 0;
}

static void own(struct wreq *w, char *p)
{
	if (w->nowned < ARRAY_SIZE(w->owned))
		w->owned[w->nowned++] = p;
	else
		free(p);
}

/* Puts the object's stored form as op 0 with the given guard, extras after it. */
static void stage_put(struct wreq *w, int64_t expect)
{
	char key[STORE_MAX_KEY + 64];
	size_t len = 0;
	api_key(w->k, w->ns, w->name, key, sizeof(key));
	char *val;
	if (w->k->to_storage) {
		/* Stored in another kind's form (events.k8s.io as core Events). */
		cJSON *copy = cJSON_Duplicate(w->obj, true);
		w->k->to_storage(copy);
		val = api_to_storage(copy, &len);
		cJSON_Delete(copy);
	} else {
		val = api_to_storage(w->obj, &len);
	}
	char *k = xstrdup(key);
	own(w, k);
	own(w, val);
	w->ops[0] = (struct store_op){ STORE_PUT, k, val, len, expect };
	if (!w->nops)
		w->nops = 1;
}

static void stage_delete(struct wreq *w)
{
	char key[STORE_MAX_KEY + 64];
	api_key(w->k, w->ns, w->name, key, sizeof(key));
	char *k = xstrdup(key);
	own(w, k);
	w->ops[0] = (struct store_op){ STORE_DELETE, k, NULL, 0, (int64_t)w->cur_rev };
	if (!w->nops)
		w->nops = 1;
	w->deleting = true;
	size_t n = 0;
	char *owned[2 * API_MAX_EXTRA];
	memset(owned, 0, sizeof(owned));
	api_release(w->a, w->k, w->cur, w->ops + 1, &n, owned);
	w->nops = 1 + n;
	for (size_t i = 0; i < ARRAY_SIZE(owned); i++)
		if (owned[i])
			own(w, owned[i]);
}

/* --- committing ----------------------------------------------------------------- */

static void on_committed(void *arg);
static void run_create(struct wreq *w);
static void run_update(struct wreq *w);
static void run_delete(struct wreq *w);

static void on_stored(void *arg, int rc, const struct store_result *res, const struct err *e)
{
	struct wreq *w = arg;
	w->rc = rc;
	if (res)
		w->res = *res;
	if (e)
		w->err = *e;
	loop_post(w->a->loop, on_committed, w);
}

static void submit(struct wreq *w)
{
	if (w->o.dry_run) {
		w->rc = 0;
		w->res.rev = 0;
		on_committed(w);
		return;
	}
	store_txn_async(w->a->store, w->ops, w->nops, on_stored, w);
}

static void set_rv(cJSON *obj, uint64_t rev)
{
	char rv[24];
	cJSON *m = api_meta(obj);
	cJSON_DeleteItemFromObjectCaseSensitive(m, "resourceVersion");
	if (!rev)
		return;
	snprintf(rv, sizeof(rv), "%llu", (unsigned long long)rev);
	cJSON_AddStringToObject(m, "resourceVersion", rv);
}

static void on_committed(void *arg)
{
	struct wreq *w = arg;
	if (w->rc == 0) {
		if (w->deleting) {
			/* The answer is the object as it was when deleted. */
			cJSON_Delete(w->obj);
			w->obj = w->cur;
			w->cur = NULL;
			if (w->obj && w->res.rev)
				set_rv(w->obj, w->res.rev);
		} else {
			set_rv(w->obj, w->res.rev);
		}
		finish(w);
		return;
	}
	release_ops(w);
	w->attempts++;
	bool first_op = w->res.failed_op == 0;
	switch (w->op) {
	case W_CREATE:
		if (w->rc == -EEXIST && first_op && w->gen_prefix && w->attempts < 8) {
			run_create(w); /* a generated name clashed: draw another */
			return;
		}
		if (w->rc == -EEXIST && first_op) {
			char q[128];
			qres(w->k, q, sizeof(q));
			api_fail(&w->st, 409, "AlreadyExists", "%s \"%s\" already exists", q,
			         w->name);
			set_detail(w);
		} else if ((w->rc == -EEXIST || w->rc == STORE_E_STALE) && w->attempts < 8) {
			/* An allocation raced another (choose again), or a quota was charged by
			 * another create meanwhile (admit again against the new total). */
			run_create(w);
			return;
		} else {
			store_failed(w);
		}
		break;
	case W_UPDATE:
	case W_MUTATE:
		if ((w->rc == STORE_E_STALE || w->rc == -ENOENT) && !w->explicit_rv &&
		    w->attempts < 16) {
			run_update(w);
			return;
		}
		if (w->rc == STORE_E_STALE)
			conflict(w);
		else if (w->rc == -ENOENT)
			not_found(w);
		else if (w->rc == -EEXIST && w->attempts < 8) {
			run_update(w);
			return;
		} else
			store_failed(w);
		break;
	case W_DELETE:
		if ((w->rc == STORE_E_STALE) && w->attempts < 16) {
			run_delete(w);
			return;
		}
		if (w->rc == -ENOENT)
			not_found(w);
		else
			store_failed(w);
		break;
	}
	fail_and_finish(w);
}

/* --- create --------------------------------------------------------------------- */

static int check_type(struct wreq *w, cJSON *obj)
{
	char av[64];
	reg_api_version(w->k, av, sizeof(av));
	const char *oav = api_str(obj, "apiVersion"), *okind = api_str(obj, "kind");
	if (oav && *oav && strcmp(oav, av))
		return api_fail(&w->st, 400, "BadRequest",
		                "the API version in the data (%s) does not match the expected API "
		                "version (%s)",
		                oav, av);
	if (okind && *okind && strcmp(okind, w->k->kind))
		return api_fail(&w->st, 400, "BadRequest",
		                "the kind in the data (%s) does not match the expected kind (%s)",
		                okind, w->k->kind);
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "apiVersion");
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "kind");
	cJSON_AddStringToObject(obj, "apiVersion", av);
	cJSON_AddStringToObject(obj, "kind", w->k->kind);
	return 0;
}

static int check_namespace(struct wreq *w, cJSON *meta)
{
	const char *ons = api_str(meta, "namespace");
	if (!w->k->namespaced) {
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "namespace");
		return 0;
	}
	if (ons && *ons && w->ns && strcmp(ons, w->ns))
		return api_fail(&w->st, 400, "BadRequest",
		                "the namespace of the provided object does not match the namespace "
		                "sent on the request");
	if (!w->ns)
		w->ns = xstrdup(ons && *ons ? ons : "default");
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "namespace");
	cJSON_AddStringToObject(meta, "namespace", w->ns);
	return 0;
}

static void set_str(cJSON *obj, const char *name, const char *val)
{
	cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
	cJSON_AddStringToObject(obj, name, val);
}

static void run_create(struct wreq *w)
{
	cJSON *meta = api_meta(w->obj);
	struct reg_errors errs = { 0 };

	if (w->gen_prefix) {
		char sfx[6], name[300];
		api_random_suffix(sfx);
		snprintf(name, sizeof(name), "%.247s%s", w->gen_prefix, sfx);
		free(w->name);
		w->name = xstrdup(name);
		set_str(meta, "name", name);
	}
	api_validate_meta(w->k, w->obj, &errs);
	if (w->k->validate)
		w->k->validate(w->obj, NULL, &errs);
	if (errs.n) {
		invalid(w, &errs);
		fail_and_finish(w);
		return;
	}
	size_t n = 0;
	char *owned[2 * API_MAX_EXTRA];
	memset(owned, 0, sizeof(owned));
	if (api_admit(w->a, w->k, w->obj, NULL, w->ops + 1, &n, owned, &w->st) < 0) {
		for (size_t i = 0; i < ARRAY_SIZE(owned); i++)
			free(owned[i]);
		set_detail(w);
		fail_and_finish(w);
		return;
	}
	w->nops = 1 + n;
	for (size_t i = 0; i < ARRAY_SIZE(owned); i++)
		if (owned[i])
			own(w, owned[i]);
	stage_put(w, STORE_ABSENT);
	submit(w);
}

void api_create(struct api *a, const struct api_target *t, cJSON *obj,
                const struct api_write_opts *o, api_done_fn done, void *arg)
{
	struct wreq *w = wreq_new(a, t, o, done, arg);
	w->op = W_CREATE;
	w->ok_code = 201;
	w->obj = obj;
	if (!cJSON_IsObject(obj)) {
		api_fail(&w->st, 400, "BadRequest", "the body of the request is not a JSON object");
		fail_and_finish(w);
		return;
	}
	cJSON *meta = api_meta(obj);
	if (check_type(w, obj) < 0 || check_namespace(w, meta) < 0) {
		fail_and_finish(w);
		return;
	}
	const char *rv = api_str(meta, "resourceVersion");
	if (rv && *rv) {
		api_fail(&w->st, 400, "BadRequest",
		         "resourceVersion should not be set on objects to be created");
		fail_and_finish(w);
		return;
	}
	const char *name = api_str(meta, "name");
	const char *gen = api_str(meta, "generateName");
	free(w->name);
	w->name = NULL;
	if (name && *name)
		w->name = xstrdup(name);
	else if (gen && *gen)
		w->gen_prefix = xstrdup(gen);
	if (t->name && w->name && strcmp(t->name, w->name)) {
		api_fail(&w->st, 400, "BadRequest",
		         "the name of the object (%s) does not match the name on the URL (%s)",
		         w->name, t->name);
		fail_and_finish(w);
		return;
	}
	char uid[37], now[32];
	api_new_uid(uid);
	api_now(now);
	set_str(meta, "uid", uid);
	set_str(meta, "creationTimestamp", now);
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "deletionTimestamp");
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "deletionGracePeriodSeconds");
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "selfLink");
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "generation");
	if (tracks_generation(w->k))
		cJSON_AddNumberToObject(meta, "generation", 1);
	if (w->k->defaults)
		w->k->defaults(obj);
	if (w->k->set_requestor && w->o.user) {
		struct reg_user u = { w->o.user->name, NULL, w->o.user->groups,
			              w->o.user->ngroups };
		w->k->set_requestor(obj, &u);
	}
	if (w->k->prepare_create)
		w->k->prepare_create(obj);
	run_create(w);
}

/* --- update ---------------------------------------------------------------------- */

/* Spec-like content: the whole object but metadata and status. */
static bool spec_changed(const cJSON *a, const cJSON *b)
{
	const cJSON *x;
	cJSON_ArrayForEach(x, a)
	{
		if (!x->string || !strcmp(x->string, "metadata") || !strcmp(x->string, "status"))
			continue;
		const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
		if (!y || !cJSON_Compare(x, y, true))
			return true;
	}
	cJSON_ArrayForEach(x, b)
	{
		if (!x->string || !strcmp(x->string, "metadata") || !strcmp(x->string, "status"))
			continue;
		if (!cJSON_GetObjectItemCaseSensitive(a, x->string))
			return true;
	}
	return false;
}

static void copy_item(cJSON *dst, const cJSON *src, const char *name)
{
	cJSON_DeleteItemFromObjectCaseSensitive(dst, name);
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(src, name);
	if (it)
		cJSON_AddItemToObject(dst, name, cJSON_Duplicate(it, true));
}

static bool finalizers_empty(const cJSON *obj)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(m, "finalizers");
	if (cJSON_GetArraySize(f) > 0)
		return false;
	/* Namespaces also wait for spec.finalizers (the namespace controller's). */
	const cJSON *sf = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(obj, "spec"), "finalizers");
	return cJSON_GetArraySize(sf) == 0;
}

static int64_t num(const cJSON *obj, const char *a, const char *b, int64_t def);

/* Builds w->obj from the stored object and what the client sent, per subresource. */
static int merge_for_update(struct wreq *w, cJSON *incoming)
{
	const struct reg_kind *k = w->k;
	cJSON *obj;
	if (w->sub && !strcmp(w->sub, "status")) {
		obj = cJSON_Duplicate(w->cur, true);
		copy_item(obj, incoming, "status");
		cJSON_Delete(incoming);
	} else if (w->sub && !strcmp(w->sub, "binding")) {
		obj = incoming; /* bind_pod made it from the stored pod: nodeName and status */
	} else if (w->sub && !strcmp(w->sub, "finalize")) {
		/* namespaces/finalize changes spec.finalizers and nothing else. */
		obj = cJSON_Duplicate(w->cur, true);
		cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
		if (!cJSON_IsObject(spec)) {
			cJSON_DeleteItemFromObjectCaseSensitive(obj, "spec");
			spec = cJSON_AddObjectToObject(obj, "spec");
		}
		copy_item(spec, cJSON_GetObjectItemCaseSensitive(incoming, "spec"), "finalizers");
		cJSON_Delete(incoming);
	} else if (w->sub && !strcmp(w->sub, "scale")) {
		const cJSON *spec = cJSON_GetObjectItemCaseSensitive(incoming, "spec");
		const cJSON *rep = cJSON_GetObjectItemCaseSensitive(spec, "replicas");
		if (!cJSON_IsNumber(rep) || rep->valuedouble < 0) {
			cJSON_Delete(incoming);
			struct reg_errors errs = { 0 };
			reg_err(&errs, "FieldValueInvalid", "spec.replicas",
			        "Invalid value: must be greater than or equal to 0");
			return invalid(w, &errs);
		}
		obj = cJSON_Duplicate(w->cur, true);
		cJSON *ospec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
		if (!cJSON_IsObject(ospec))
			ospec = cJSON_AddObjectToObject(obj, "spec");
		cJSON_DeleteItemFromObjectCaseSensitive(ospec, "replicas");
		cJSON_AddNumberToObject(ospec, "replicas", (int)rep->valuedouble);
		cJSON_Delete(incoming);
	} else if (w->sub && !strcmp(w->sub, "binding")) {
		/* bind_pod wrote spec.nodeName and the PodScheduled condition: keep both. */
		obj = incoming;
	} else {
		obj = incoming;
		if (k->subresources & REG_SUB_STATUS)
			copy_item(obj, w->cur, "status");
	}
	w->obj = obj;
	return 0;
}

/* Checks and stages an update of w->cur to w->obj (already merged). */
static int stage_update(struct wreq *w)
{
	const struct reg_kind *k = w->k;
	cJSON *meta = api_meta(w->obj);
	const cJSON *cmeta = cJSON_GetObjectItemCaseSensitive(w->cur, "metadata");
	struct reg_errors errs = { 0 };

	if (check_type(w, w->obj) < 0)
		return -1;
	const char *name = api_str(meta, "name");
	if (name && *name && strcmp(name, w->name))
		return api_fail(
		    &w->st, 400, "BadRequest",
		    "the name of the object (%s) does not match the name on the URL (%s)", name,
		    w->name);
	const char *uid = api_str(meta, "uid"), *cuid = api_str(cmeta, "uid");
	if (uid && *uid && cuid && strcmp(uid, cuid))
		return api_fail(
		    &w->st, 409, "Conflict",
		    "Precondition failed: UID in precondition: %s, UID in object meta: %s", uid,
		    cuid);
	/* What clients may not change. */
	set_str(meta, "name", w->name);
	if (k->namespaced)
		set_str(meta, "namespace", w->ns);
	else
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "namespace");
	copy_item(meta, cmeta, "uid");
	copy_item(meta, cmeta, "creationTimestamp");
	copy_item(meta, cmeta, "deletionTimestamp");
	copy_item(meta, cmeta, "deletionGracePeriodSeconds");
	copy_item(meta, cmeta, "generation");
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "selfLink");
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "resourceVersion");
	if (k->defaults)
		k->defaults(w->obj);
	/* prepare_update keeps what only a subresource may change (a namespace's finalizers). */
	bool finalize = w->sub && !strcmp(w->sub, "finalize");
	if (k->prepare_update && !finalize)
		k->prepare_update(w->obj, w->cur);
	if (tracks_generation(k) && spec_changed(w->obj, w->cur)) {
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(cmeta, "generation");
		double gen = cJSON_IsNumber(g) ? g->valuedouble : 1;
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "generation");
		cJSON_AddNumberToObject(meta, "generation", gen + 1);
	}
	api_validate_meta(k, w->obj, &errs);
	bool status = w->sub && !strcmp(w->sub, "status");
	/* A binding sets the one spec field updates may not touch; bind_pod checks it. */
	bool binding = w->sub && !strcmp(w->sub, "binding");
	if (status && k->validate_status)
		k->validate_status(w->obj, w->cur, &errs);
	else if (!status && !binding && k->validate)
		k->validate(w->obj, w->cur, &errs);
	if (errs.n)
		return invalid(w, &errs);

	/* A finished finalization deletes the object; a pod only once its grace period is over
	 * (its kubelet's final delete set it to 0), as upstream's ShouldDeleteDuringUpdate. */
	bool pod = !strcmp(k->resource, "pods") && !k->group[0];
	if (cJSON_GetObjectItemCaseSensitive(meta, "deletionTimestamp") &&
	    finalizers_empty(w->obj) &&
	    (!pod || num(meta, "deletionGracePeriodSeconds", NULL, -1) == 0)) {
		cJSON_Delete(w->obj);
		w->obj = NULL;
		stage_delete(w);
		return 0;
	}
	/* Nothing changed: no write, no new revision (kubectl apply says "unchanged"). */
	cJSON *cmp = cJSON_Duplicate(w->cur, true);
	cJSON_DeleteItemFromObjectCaseSensitive(api_meta(cmp), "resourceVersion");
	bool same = cJSON_Compare(cmp, w->obj, true);
	cJSON_Delete(cmp);
	if (same) {
		cJSON_Delete(w->obj);
		w->obj = w->cur;
		w->cur = NULL;
		w->nops = 0;
		return 1;
	}
	size_t n = 0;
	char *owned[2 * API_MAX_EXTRA];
	memset(owned, 0, sizeof(owned));
	if (api_admit(w->a, k, w->obj, w->cur, w->ops + 1, &n, owned, &w->st) < 0) {
		for (size_t i = 0; i < ARRAY_SIZE(owned); i++)
			free(owned[i]);
		set_detail(w);
		return -1;
	}
	w->nops = 1 + n;
	for (size_t i = 0; i < ARRAY_SIZE(owned); i++)
		if (owned[i])
			own(w, owned[i]);
	stage_put(w, (int64_t)w->cur_rev);
	return 0;
}

static void run_update(struct wreq *w)
{
	if (read_cur(w) < 0) {
		fail_and_finish(w);
		return;
	}
	cJSON *incoming = NULL;
	if (w->op == W_MUTATE) {
		struct api_status st = { 0 };
		incoming = w->mutate(w->marg, w->cur ? cJSON_Duplicate(w->cur, true) : NULL, &st);
		if (!incoming) {
			api_status_clear(&w->st);
			w->st = st;
			if (!w->st.code)
				api_fail(&w->st, 500, "InternalError", "update produced no object");
			set_detail(w);
			fail_and_finish(w);
			return;
		}
		if (!w->cur) {
			if (!w->create_ok) {
				cJSON_Delete(incoming);
				not_found(w);
				fail_and_finish(w);
				return;
			}
			/* Create through the same checks as a POST; this request ends here. */
			struct api_target t = { w->k, w->ns, w->name, NULL };
			struct api_write_opts o = w->o;
			api_create(w->a, &t, incoming, &o, w->done, w->arg);
			w->done = NULL;
			finish(w);
			return;
		}
	} else {
		if (!w->cur) {
			not_found(w);
			fail_and_finish(w);
			return;
		}
		if (w->explicit_rv) {
			const char *rv =
			    api_str(cJSON_GetObjectItemCaseSensitive(w->body, "metadata"),
			            "resourceVersion");
			uint64_t want = 0;
			if (!rv || !parse_u64(rv, &want)) {
				api_fail(&w->st, 400, "BadRequest", "invalid resourceVersion");
				fail_and_finish(w);
				return;
			}
			if (want != w->cur_rev) {
				conflict(w);
				fail_and_finish(w);
				return;
			}
		}
		incoming = cJSON_Duplicate(w->body, true);
	}
	cJSON_Delete(w->obj);
	w->obj = NULL;
	if (merge_for_update(w, incoming) < 0) {
		fail_and_finish(w);
		return;
	}
	int rc = stage_update(w);
	if (rc < 0) {
		fail_and_finish(w);
		return;
	}
	if (rc == 1) {
		finish(w); /* unchanged */
		return;
	}
	submit(w);
}

void api_update(struct api *a, const struct api_target *t, cJSON *obj,
                const struct api_write_opts *o, api_done_fn done, void *arg)
{
	struct wreq *w = wreq_new(a, t, o, done, arg);
	w->op = W_UPDATE;
	w->body = obj;
	if (!cJSON_IsObject(obj)) {
		api_fail(&w->st, 400, "BadRequest", "the body of the request is not a JSON object");
		fail_and_finish(w);
		return;
	}
	if (!w->name) {
		api_fail(&w->st, 405, "MethodNotAllowed",
		         "the server does not allow this method on "
		         "the requested resource");
		fail_and_finish(w);
		return;
	}
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const char *ons = api_str(meta, "namespace");
	if (t->k->namespaced && ons && *ons && w->ns && strcmp(ons, w->ns)) {
		api_fail(&w->st, 400, "BadRequest",
		         "the namespace of the provided object does not match the namespace sent "
		         "on the request");
		fail_and_finish(w);
		return;
	}
	const char *rv = api_str(meta, "resourceVersion");
	w->explicit_rv = rv && *rv;
	run_update(w);
}

void api_mutate(struct api *a, const struct api_target *t, api_mutate_fn mutate, void *marg,
                bool create, const struct api_write_opts *o, api_done_fn done, void *arg)
{
	struct wreq *w = wreq_new(a, t, o, done, arg);
	w->op = W_MUTATE;
	w->mutate = mutate;
	w->marg = marg;
	w->create_ok = create;
	run_update(w);
}

/* --- delete ----------------------------------------------------------------------- */

static int64_t num(const cJSON *obj, const char *a, const char *b, int64_t def)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, a);
	if (b)
		x = cJSON_GetObjectItemCaseSensitive(x, b);
	return cJSON_IsNumber(x) ? (int64_t)x->valuedouble : def;
}

static bool has_finalizer(const cJSON *meta, const char *f)
{
	const cJSON *it;
	cJSON_ArrayForEach(
	    it, cJSON_GetObjectItemCaseSensitive(meta, "finalizers")) if (cJSON_IsString(it) &&
	                                                                  !strcmp(it->valuestring,
	                                                                          f)) return true;
	return false;
}

static void add_finalizer(cJSON *meta, const char *f)
{
	cJSON *fs = cJSON_GetObjectItemCaseSensitive(meta, "finalizers");
	if (!cJSON_IsArray(fs)) {
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "finalizers");
		fs = cJSON_AddArrayToObject(meta, "finalizers");
	}
	if (!has_finalizer(meta, f))
		cJSON_AddItemToArray(fs, cJSON_CreateString(f));
}

static void mark_deleting(cJSON *obj, int64_t grace)
{
	cJSON *meta = api_meta(obj);
	char ts[32];
	time_rfc3339(ts, time(NULL) + grace);
	set_str(meta, "deletionTimestamp", ts);
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "deletionGracePeriodSeconds");
	cJSON_AddNumberToObject(meta, "deletionGracePeriodSeconds", (double)grace);
}

static void run_delete(struct wreq *w)
{
	const struct reg_kind *k = w->k;
	/* A retry after a conflict starts again from the stored object. */
	cJSON_Delete(w->obj);
	w->obj = NULL;
	if (read_cur(w) < 0) {
		fail_and_finish(w);
		return;
	}
	if (!w->cur) {
		not_found(w);
		fail_and_finish(w);
		return;
	}
	cJSON *cmeta = api_meta(w->cur);
	const char *uid = api_str(cmeta, "uid");
	if (w->d_uid && (!uid || strcmp(uid, w->d_uid))) {
		api_fail(&w->st, 409, "Conflict",
		         "Precondition failed: UID in precondition: %s, UID in object meta: %s",
		         w->d_uid, uid ? uid : "");
		set_detail(w);
		fail_and_finish(w);
		return;
	}
	if (w->d_rv) {
		char now[24];
		snprintf(now, sizeof(now), "%llu", (unsigned long long)w->cur_rev);
		if (strcmp(now, w->d_rv)) {
			api_fail(&w->st, 409, "Conflict",
			         "Precondition failed: ResourceVersion in precondition: %s, "
			         "ResourceVersion in object meta: %s",
			         w->d_rv, now);
			set_detail(w);
			fail_and_finish(w);
			return;
		}
	}
	bool deleting = cJSON_GetObjectItemCaseSensitive(cmeta, "deletionTimestamp") != NULL;
	cJSON *obj = cJSON_Duplicate(w->cur, true);
	cJSON *meta = api_meta(obj);
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "resourceVersion");
	bool changed = false;

	/* Pods on a node end gracefully: the kubelet stops them, then deletes with grace 0. */
	if (!strcmp(k->resource, "pods") && !k->group[0]) {
		int64_t grace = w->d.grace_seconds >= 0
		                    ? w->d.grace_seconds
		                    : num(w->cur, "spec", "terminationGracePeriodSeconds", 30);
		const char *node =
		    api_str(cJSON_GetObjectItemCaseSensitive(w->cur, "spec"), "nodeName");
		const char *phase =
		    api_str(cJSON_GetObjectItemCaseSensitive(w->cur, "status"), "phase");
		if (!node || !*node ||
		    (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))))
			grace = 0;
		if (grace > 0) {
			int64_t prev = num(cmeta, "deletionGracePeriodSeconds", NULL, INT64_MAX);
			if (deleting && grace >= prev) {
				cJSON_Delete(obj);
				w->obj = w->cur;
				w->cur = NULL;
				finish(w);
				return;
			}
			mark_deleting(obj, grace);
			changed = true;
		} else if (deleting && num(cmeta, "deletionGracePeriodSeconds", NULL, 0) != 0 &&
		           !finalizers_empty(w->cur)) {
			/* The final delete of a pod that finalizers still hold: its grace period is
			 * over, so removing the last finalizer will delete it. */
			mark_deleting(obj, 0);
			changed = true;
		}
	}
	/* Propagation the garbage collector acts on, held by finalizers. */
	const char *prop = w->d_prop;
	if (!changed && prop && !strcmp(prop, "Orphan") && !has_finalizer(meta, "orphan")) {
		add_finalizer(meta, "orphan");
		changed = true;
	} else if (!changed && prop && !strcmp(prop, "Foreground") &&
	           !has_finalizer(meta, "foregroundDeletion")) {
		add_finalizer(meta, "foregroundDeletion");
		changed = true;
	}
	if (!changed && !finalizers_empty(obj)) {
		if (deleting) {
			cJSON_Delete(obj);
			w->obj = w->cur;
			w->cur = NULL;
			finish(w);
			return;
		}
		changed = true;
	}
	if (changed) {
		if (!cJSON_GetObjectItemCaseSensitive(meta, "deletionTimestamp"))
			mark_deleting(obj, 0);
		if (!strcmp(k->resource, "namespaces") && !k->group[0]) {
			cJSON *status = cJSON_GetObjectItemCaseSensitive(obj, "status");
			if (!cJSON_IsObject(status))
				status = cJSON_AddObjectToObject(obj, "status");
			set_str(status, "phase", "Terminating");
		}
		w->obj = obj;
		w->deleting = false;
		stage_put(w, (int64_t)w->cur_rev);
		submit(w);
		return;
	}
	cJSON_Delete(obj);
	if (w->o.dry_run) {
		w->obj = w->cur;
		w->cur = NULL;
		finish(w);
		return;
	}
	stage_delete(w);
	submit(w);
}

void api_delete(struct api *a, const struct api_target *t, const struct api_delete_opts *o,
                api_done_fn done, void *arg)
{
	struct api_write_opts wo = { .dry_run = o && o->dry_run, .user = o ? o->user : NULL };
	struct wreq *w = wreq_new(a, t, &wo, done, arg);
	w->op = W_DELETE;
	w->d.grace_seconds = -1;
	if (o) {
		w->d = *o;
		w->d_uid = dup_or_null(o->precondition_uid);
		w->d_rv = dup_or_null(o->precondition_rv);
		w->d_prop = dup_or_null(o->propagation);
	}
	if (w->d_prop && strcmp(w->d_prop, "Orphan") && strcmp(w->d_prop, "Background") &&
	    strcmp(w->d_prop, "Foreground")) {
		api_fail(&w->st, 422, "Invalid",
		         "DeleteOptions.propagationPolicy: Unsupported value: \"%s\": supported "
		         "values: \"Foreground\", \"Background\", \"Orphan\"",
		         w->d_prop);
		fail_and_finish(w);
		return;
	}
	if (!w->name) {
		api_fail(&w->st, 405, "MethodNotAllowed", "a name is needed to delete one object");
		fail_and_finish(w);
		return;
	}
	run_delete(w);
}

/* --- delete collection: one delete after another ------------------------------------ */

struct dcoll {
	struct api *a;
	const struct reg_kind *k;
	char *ns;
	struct api_delete_opts o;
	char *uid, *rv, *prop;
	char **names;
	size_t n, i;
	cJSON *list;
	api_done_fn done;
	void *arg;
};

static int collect_name(void *arg, cJSON *obj)
{
	struct dcoll *d = arg;
	const char *name = api_str(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "name");
	const char *ns = api_str(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "namespace");
	if (!name)
		return 0;
	d->names = xrealloc(d->names, (d->n + 1) * sizeof(char *));
	d->names[d->n++] = xasprintf("%s/%s", ns ? ns : "", name);
	return 0;
}

static void dcoll_next(struct dcoll *d);

static void dcoll_one_done(void *arg, struct api_status *st, cJSON *obj)
{
	struct dcoll *d = arg;
	if (obj)
		cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(d->list, "items"),
		                     cJSON_Duplicate(obj, true));
	d->i++;
	dcoll_next(d);
}

static void dcoll_next(struct dcoll *d)
{
	if (d->i >= d->n) {
		struct api_status st = { .code = 200 };
		d->done(d->arg, &st, d->list);
		cJSON_Delete(d->list);
		for (size_t i = 0; i < d->n; i++)
			free(d->names[i]);
		free(d->names);
		free(d->ns);
		free(d);
		return;
	}
	char *slash = strchr(d->names[d->i], '/');
	*slash = '\0';
	struct api_target t = { d->k, d->names[d->i][0] ? d->names[d->i] : NULL, slash + 1, NULL };
	api_delete(d->a, &t, &d->o, dcoll_one_done, d);
}

void api_delete_collection(struct api *a, const struct api_target *t, const struct api_filter *f,
                           const struct api_delete_opts *o, api_done_fn done, void *arg)
{
	struct dcoll *d = xcalloc(1, sizeof(*d));
	struct api_list_opts lo = { 0 };
	struct api_status st = { 0 };
	char av[64];
	d->a = a;
	d->k = t->k;
	d->ns = dup_or_null(t->ns);
	d->done = done;
	d->arg = arg;
	if (o)
		d->o = *o;
	else
		d->o.grace_seconds = -1;
	if (f)
		lo.filter = *f;
	if (api_list_each(a, t, &lo, collect_name, d, NULL, &st) < 0) {
		done(arg, &st, NULL);
		api_status_clear(&st);
		free(d->ns);
		free(d);
		return;
	}
	d->list = cJSON_CreateObject();
	reg_api_version(t->k, av, sizeof(av));
	cJSON_AddStringToObject(d->list, "kind", t->k->list_kind);
	cJSON_AddStringToObject(d->list, "apiVersion", av);
	cJSON_AddObjectToObject(d->list, "metadata");
	cJSON_AddArrayToObject(d->list, "items");
	dcoll_next(d);
}

/* --- pods/binding ------------------------------------------------------------------- */

struct bind {
	char *name, *node;
	cJSON *annotations;
	api_done_fn done;
	void *arg;
};

/* The scheduler's one write: a bound pod may not be bound again; the pod gets its node,
 * the binding's annotations and PodScheduled=True, as upstream's binding storage does. */
static cJSON *bind_pod(void *arg, cJSON *cur, struct api_status *st)
{
	struct bind *b = arg;
	if (!cur) {
		api_fail(st, 404, "NotFound", "pods \"%s\" not found", b->name);
		return NULL;
	}
	const char *have = obj_get_str(cur, "spec.nodeName");
	if (have && *have) {
		api_fail(st, 409, "Conflict", "pod %s is already assigned to node \"%s\"", b->name,
		         have);
		cJSON_Delete(cur);
		return NULL;
	}
	if (obj_get(cur, "metadata.deletionTimestamp")) {
		api_fail(st, 409, "Conflict",
		         "pod %s is being deleted, cannot be assigned to a host", b->name);
		cJSON_Delete(cur);
		return NULL;
	}
	obj_set_str(cur, "spec.nodeName", b->node, NULL);
	const cJSON *a;
	cJSON_ArrayForEach(a, b->annotations)
	{
		if (!cJSON_IsString(a))
			continue;
		cJSON *anns = obj_get_mut(cur, "metadata.annotations");
		if (!cJSON_IsObject(anns)) {
			obj_set(cur, "metadata.annotations", cJSON_CreateObject(), NULL);
			anns = obj_get_mut(cur, "metadata.annotations");
		}
		cJSON_DeleteItemFromObjectCaseSensitive(anns, a->string);
		cJSON_AddStringToObject(anns, a->string, a->valuestring);
	}
	cJSON *conds = obj_get_mut(cur, "status.conditions");
	if (!cJSON_IsArray(conds)) {
		obj_set(cur, "status.conditions", cJSON_CreateArray(), NULL);
		conds = obj_get_mut(cur, "status.conditions");
	}
	cJSON *c, *found = NULL;
	cJSON_ArrayForEach(c,
	                   conds) if (!strcmp(obj_get_str(c, "type") ? obj_get_str(c, "type") : "",
	                                      "PodScheduled")) found = c;
	char now[32];
	api_now(now);
	if (!found) {
		found = cJSON_CreateObject();
		cJSON_AddStringToObject(found, "type", "PodScheduled");
		cJSON_AddItemToArray(conds, found);
	}
	const char *was = obj_get_str(found, "status");
	if (!was || strcmp(was, "True")) {
		set_str(found, "status", "True");
		set_str(found, "lastTransitionTime", now);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(found, "reason");
	cJSON_DeleteItemFromObjectCaseSensitive(found, "message");
	cJSON_DeleteItemFromObjectCaseSensitive(found, "lastProbeTime");
	cJSON_AddNullToObject(found, "lastProbeTime");
	return cur;
}

static void bind_done(void *arg, struct api_status *st, cJSON *obj)
{
	struct bind *b = arg;
	b->done(b->arg, st, obj);
	free(b->name);
	free(b->node);
	cJSON_Delete(b->annotations);
	free(b);
}

void api_bind(struct api *a, const char *ns, const char *name, const cJSON *binding,
              const struct api_write_opts *o, api_done_fn done, void *arg)
{
	const char *node = obj_get_str(binding, "target.name");
	if (!node || !*node) {
		struct api_status st = { 0 };
		api_fail(&st, 422, "Invalid",
		         "Binding \"%s\" is invalid: target.name: Required value",
		         name ? name : "");
		done(arg, &st, NULL);
		return;
	}
	struct bind *b = xcalloc(1, sizeof(*b));
	b->name = xstrdup(name ? name : "");
	b->node = xstrdup(node);
	const cJSON *ann = obj_get(binding, "metadata.annotations");
	b->annotations = cJSON_IsObject(ann) ? cJSON_Duplicate(ann, true) : NULL;
	b->done = done;
	b->arg = arg;
	struct api_target t = { reg_lookup("", "v1", "pods"), ns, name, "binding" };
	api_mutate(a, &t, bind_pod, b, false, o, bind_done, b);
}
