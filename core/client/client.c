/* client: the in-process backend, calling the API engine directly. */
#include <stdio.h>
#include <string.h>

#define LOG_TAG "client"
#include "core/client/client-internal.h"
#include "core/log/log.h"

struct client *client_local(struct api *a, struct loop *l, const char *user)
{
	struct client *c = xcalloc(1, sizeof(*c));
	c->api = a;
	c->loop = l;
	c->user_name = xstrdup(user ? user : "system:admin");
	c->user.name = c->user_name;
	return c;
}

void client_free(struct client *c)
{
	if (!c)
		return;
	free(c->user_name);
	free(c);
}

struct loop *client_loop(struct client *c)
{
	return c->loop;
}

const struct reg_kind *client_kind(const char *group, const char *resource)
{
	for (size_t i = 0; i < reg_nkinds; i++)
		if (!strcmp(reg_kinds[i]->group, group) &&
		    !strcmp(reg_kinds[i]->resource, resource))
			return reg_kinds[i];
	return NULL;
}

void client_key_of(const cJSON *obj, char *out, size_t n)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(m, "namespace");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(m, "name");
	const char *nm = cJSON_IsString(name) ? name->valuestring : "";
	if (cJSON_IsString(ns) && ns->valuestring[0])
		snprintf(out, n, "%s/%s", ns->valuestring, nm);
	else
		snprintf(out, n, "%s", nm);
}

struct call {
	client_done_fn done;
	void *arg;
	cJSON *patch;
};

static void on_done(void *arg, struct api_status *st, cJSON *obj)
{
	struct call *call = arg;
	if (call->done)
		call->done(call->arg, st->code, st->message, obj);
	cJSON_Delete(call->patch);
	free(call);
}

static struct call *new_call(client_done_fn done, void *arg)
{
	struct call *call = xcalloc(1, sizeof(*call));
	call->done = done;
	call->arg = arg;
	return call;
}

void client_create(struct client *c, const struct reg_kind *k, const char *ns, cJSON *body,
                   client_done_fn done, void *arg)
{
	struct api_target t = { k, ns, NULL, NULL };
	struct api_write_opts o = { .user = &c->user, .field_manager = c->user_name };
	api_create(c->api, &t, body, &o, on_done, new_call(done, arg));
}

void client_update(struct client *c, const struct reg_kind *k, const char *ns, const char *name,
                   const char *sub, cJSON *body, client_done_fn done, void *arg)
{
	struct api_target t = { k, ns, name, sub };
	struct api_write_opts o = { .user = &c->user, .field_manager = c->user_name };
	api_update(c->api, &t, body, &o, on_done, new_call(done, arg));
}

/* RFC 7386: objects merge recursively, null removes, anything else replaces. */
static cJSON *merge(cJSON *target, const cJSON *patch)
{
	if (!cJSON_IsObject(patch)) {
		cJSON_Delete(target);
		return cJSON_Duplicate(patch, true);
	}
	if (!cJSON_IsObject(target)) {
		cJSON_Delete(target);
		target = cJSON_CreateObject();
	}
	const cJSON *p;
	cJSON_ArrayForEach(p, patch)
	{
		if (cJSON_IsNull(p)) {
			cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
			continue;
		}
		cJSON *cur = cJSON_DetachItemFromObjectCaseSensitive(target, p->string);
		cJSON_AddItemToObject(target, p->string, merge(cur, p));
	}
	return target;
}

static cJSON *apply_merge(void *arg, cJSON *cur, struct api_status *st)
{
	struct call *call = arg;
	if (!cur) {
		api_fail(st, 404, "NotFound", "not found");
		return NULL;
	}
	return merge(cur, call->patch);
}

void client_merge_patch(struct client *c, const struct reg_kind *k, const char *ns,
                        const char *name, const char *sub, cJSON *patch, client_done_fn done,
                        void *arg)
{
	struct api_target t = { k, ns, name, sub };
	struct api_write_opts o = { .user = &c->user, .field_manager = c->user_name };
	struct call *call = new_call(done, arg);
	call->patch = patch;
	api_mutate(c->api, &t, apply_merge, call, false, &o, on_done, call);
}

void client_delete(struct client *c, const struct reg_kind *k, const char *ns, const char *name,
                   int64_t grace, const char *propagation, const char *uid, client_done_fn done,
                   void *arg)
{
	struct api_target t = { k, ns, name, NULL };
	struct api_delete_opts o = { .grace_seconds = grace,
		                     .propagation = propagation,
		                     .precondition_uid = uid,
		                     .user = &c->user };
	api_delete(c->api, &t, &o, on_done, new_call(done, arg));
}

cJSON *client_get(struct client *c, const struct reg_kind *k, const char *ns, const char *name)
{
	struct api_target t = { k, ns, name, NULL };
	struct api_status st = { 0 };
	cJSON *obj = NULL;
	if (api_get(c->api, &t, &obj, &st) < 0)
		obj = NULL;
	api_status_clear(&st);
	return obj;
}

struct list_call {
	int (*fn)(void *arg, const cJSON *obj);
	void *arg;
	int rc;
};

static int list_one(void *arg, cJSON *obj)
{
	struct list_call *lc = arg;
	lc->rc = lc->fn(lc->arg, obj);
	return lc->rc;
}

int client_list(struct client *c, const struct reg_kind *k, const char *ns,
                int (*fn)(void *arg, const cJSON *obj), void *arg)
{
	struct api_target t = { k, k->namespaced ? ns : NULL, NULL, NULL };
	struct api_list_opts o = { 0 };
	struct api_status st = { 0 };
	struct list_call lc = { fn, arg, 0 };
	int rc = api_list_each(c->api, &t, &o, list_one, &lc, NULL, &st);
	api_status_clear(&st);
	if (lc.rc)
		return lc.rc;
	return rc < 0 ? -EIO : 0;
}

void client_bind(struct client *c, const char *ns, const char *name, const char *node,
                 client_done_fn done, void *arg)
{
	struct api_write_opts o = { .user = &c->user, .field_manager = c->user_name };
	cJSON *b = cJSON_CreateObject();
	cJSON *t = cJSON_AddObjectToObject(b, "target");
	cJSON_AddStringToObject(t, "kind", "Node");
	cJSON_AddStringToObject(t, "name", node);
	api_bind(c->api, ns, name, b, &o, on_done, new_call(done, arg));
	cJSON_Delete(b);
}

void client_evict(struct client *c, const char *ns, const char *name, client_done_fn done,
                  void *arg)
{
	client_delete(c, client_kind("", "pods"), ns, name, -1, NULL, NULL, done, arg);
}
