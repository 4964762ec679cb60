/* api_test: the REST engine's semantics on a real store: metadata, conflicts, graceful
 * deletion, finalizers, allocation, lists with continue, and watch events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/api/api.h"

static char dir[128];
static struct store *st;
static struct loop *lp;
static struct api *api;

static int setup(void **state)
{
	struct err e = { 0 };
	strcpy(dir, "/tmp/tug-api-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	struct store_opts so = { .dir = dir, .no_background = true };
	assert_int_equal(store_open(&st, &so, &e), 0);
	assert_int_equal(loop_new(&lp), 0);
	struct api_opts ao = { .store = st,
		               .loop = lp,
		               .service_cidr = "10.43.0.0/24",
		               .advertise_ip = "192.0.2.10",
		               .https_port = 6443 };
	assert_int_equal(api_new(&api, &ao, &e), 0);
	if (api_bootstrap(api, "apiVersion: v1\nkind: Config\n", &e) < 0)
		fail_msg("bootstrap: %s", e.msg);
	return 0;
}

static int teardown(void **state)
{
	api_free(api);
	loop_free(lp);
	store_close(st);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

struct result {
	bool done;
	int code;
	char reason[64];
	char msg[1024];
	size_t ncauses;
	char cause0[256];
	cJSON *obj;
};

static void on_done(void *arg, struct api_status *s, cJSON *obj)
{
	struct result *r = arg;
	r->done = true;
	r->code = s->code;
	snprintf(r->reason, sizeof(r->reason), "%s", s->reason ? s->reason : "");
	snprintf(r->msg, sizeof(r->msg), "%s", s->message);
	r->ncauses = s->causes.n;
	if (s->causes.n)
		snprintf(r->cause0, sizeof(r->cause0), "%s", s->causes.v[0].field);
	r->obj = obj ? cJSON_Duplicate(obj, true) : NULL;
}

static void wait_for(struct result *r)
{
	for (int i = 0; i < 1000 && !r->done; i++)
		loop_run_once(lp, 10);
	assert_true(r->done);
}

static const struct reg_kind *kind(const char *g, const char *r)
{
	const struct reg_kind *k = reg_lookup(g, "v1", r);
	assert_non_null(k);
	return k;
}

static struct result create(const char *g, const char *res, const char *ns, const char *json)
{
	struct result r = { 0 };
	struct api_target t = { kind(g, res), ns, NULL, NULL };
	cJSON *obj = cJSON_Parse(json);
	assert_non_null(obj);
	api_create(api, &t, obj, NULL, on_done, &r);
	wait_for(&r);
	return r;
}

static struct result update(const char *g, const char *res, const char *ns, const char *name,
                            const char *sub, cJSON *obj)
{
	struct result r = { 0 };
	struct api_target t = { kind(g, res), ns, name, sub };
	api_update(api, &t, obj, NULL, on_done, &r);
	wait_for(&r);
	return r;
}

static struct result del(const char *g, const char *res, const char *ns, const char *name,
                         int64_t grace, const char *prop)
{
	struct result r = { 0 };
	struct api_target t = { kind(g, res), ns, name, NULL };
	struct api_delete_opts o = { .grace_seconds = grace, .propagation = prop };
	api_delete(api, &t, &o, on_done, &r);
	wait_for(&r);
	return r;
}

static cJSON *get(const char *g, const char *res, const char *ns, const char *name, int *code)
{
	struct api_target t = { kind(g, res), ns, name, NULL };
	struct api_status s = { 0 };
	cJSON *obj = NULL;
	int rc = api_get(api, &t, &obj, &s);
	*code = rc < 0 ? s.code : 200;
	api_status_clear(&s);
	return obj;
}

static const char *path_str(const cJSON *obj, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, a);
	if (b)
		x = cJSON_GetObjectItemCaseSensitive(x, b);
	return cJSON_IsString(x) ? x->valuestring : NULL;
}

static const char *rv_of(const cJSON *obj)
{
	return path_str(obj, "metadata", "resourceVersion");
}

#define POD(name, extra)                                                                           \
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" name "\"},"            \
	"\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]" extra "}}"

static void test_bootstrap_makes_the_namespaces_and_the_kubernetes_service(void **state)
{
	int code;
	static const char *const nss[] = { "default", "kube-system", "kube-public",
		                           "kube-node-lease" };
	for (int i = 0; i < 4; i++) {
		cJSON *ns = get("", "namespaces", NULL, nss[i], &code);
		assert_int_equal(code, 200);
		assert_string_equal(path_str(ns, "status", "phase"), "Active");
		cJSON_Delete(ns);
	}
	cJSON *svc = get("", "services", "default", "kubernetes", &code);
	assert_int_equal(code, 200);
	assert_string_equal(path_str(svc, "spec", "clusterIP"), "10.43.0.1");
	cJSON_Delete(svc);
	cJSON *cm = get("", "configmaps", "kube-public", "cluster-info", &code);
	assert_int_equal(code, 200);
	cJSON_Delete(cm);
	/* Again: idempotent. */
	struct err e = { 0 };
	assert_int_equal(api_bootstrap(api, "x", &e), 0);
}

static void test_create_fills_metadata_and_rejects_duplicates(void **state)
{
	struct result r = create("", "pods", "default", POD("web", ""));
	assert_int_equal(r.code, 201);
	const cJSON *m = cJSON_GetObjectItem(r.obj, "metadata");
	assert_non_null(path_str(r.obj, "metadata", "uid"));
	assert_int_equal(strlen(path_str(r.obj, "metadata", "uid")), 36);
	assert_non_null(path_str(r.obj, "metadata", "creationTimestamp"));
	assert_string_equal(path_str(r.obj, "metadata", "namespace"), "default");
	assert_non_null(rv_of(r.obj));
	(void)m;
	/* Admission added the default tolerations. */
	const cJSON *tols = cJSON_GetObjectItem(cJSON_GetObjectItem(r.obj, "spec"), "tolerations");
	assert_int_equal(cJSON_GetArraySize(tols), 2);
	cJSON_Delete(r.obj);
	r = create("", "pods", "default", POD("web", ""));
	assert_int_equal(r.code, 409);
	assert_string_equal(r.reason, "AlreadyExists");
	assert_string_equal(r.msg, "pods \"web\" already exists");
	r = create("", "pods", "nope", POD("web", ""));
	assert_int_equal(r.code, 404);
	assert_string_equal(r.msg, "namespaces \"nope\" not found");
	r = create("", "pods", "default",
	           "{\"metadata\":{\"name\":\"Bad_Name\"},\"spec\":{\"containers\":[]}}");
	assert_int_equal(r.code, 422);
	assert_string_equal(r.reason, "Invalid");
	assert_true(r.ncauses >= 2);
	r = create("", "pods", "default", "{\"apiVersion\":\"apps/v1\",\"kind\":\"Pod\"}");
	assert_int_equal(r.code, 400);
	r = create("", "pods", "default",
	           "{\"metadata\":{\"name\":\"x\",\"namespace\":\"other\"},\"spec\":{}}");
	assert_int_equal(r.code, 400);
}

static void test_selectors_match_label_keys_with_dots(void **state)
{
	struct result r =
	    create("apps", "deployments", "default",
	           "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"selector\":{\"matchLabels\":{"
	           "\"app.kubernetes.io/name\":\"d\"}},\"template\":{\"metadata\":{\"labels\":{"
	           "\"app.kubernetes.io/name\":\"d\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
	           "\"image\":\"busybox\"}]}}}}");
	assert_int_equal(r.code, 201);
	cJSON_Delete(r.obj);
	/* A job selects its pods by batch.kubernetes.io/controller-uid. */
	r = create("batch", "jobs", "default",
	           "{\"metadata\":{\"name\":\"j\"},\"spec\":{\"template\":{\"spec\":{"
	           "\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\",\"image\":"
	           "\"busybox\"}]}}}}");
	assert_int_equal(r.code, 201);
	cJSON_Delete(r.obj);
	r = create("apps", "deployments", "default",
	           "{\"metadata\":{\"name\":\"e\"},\"spec\":{\"selector\":{\"matchLabels\":{"
	           "\"app.kubernetes.io/name\":\"e\"}},\"template\":{\"metadata\":{\"labels\":{"
	           "\"app\":\"e\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
	           "\"busybox\"}]}}}}");
	assert_int_equal(r.code, 422);
	cJSON_Delete(r.obj);
}

static void test_generate_name_gives_unique_names(void **state)
{
	char names[5][64];
	for (int i = 0; i < 5; i++) {
		struct result r = create("", "configmaps", "default",
		                         "{\"metadata\":{\"generateName\":\"cfg-\"}}");
		assert_int_equal(r.code, 201);
		const char *n = path_str(r.obj, "metadata", "name");
		assert_true(str_has_prefix(n, "cfg-"));
		assert_int_equal(strlen(n), 9);
		snprintf(names[i], sizeof(names[i]), "%s", n);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(names[i], names[j]);
		cJSON_Delete(r.obj);
	}
}

static void test_updates_conflict_on_a_stale_revision_and_noops_keep_it(void **state)
{
	struct result r = create("", "configmaps", "default",
	                         "{\"metadata\":{\"name\":\"c\"},\"data\":{\"a\":\"1\"}}");
	assert_int_equal(r.code, 201);
	char rv1[24];
	snprintf(rv1, sizeof(rv1), "%s", rv_of(r.obj));
	cJSON *obj = r.obj;
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(obj, "data"), "a", cJSON_CreateString("2"));
	struct result u =
	    update("", "configmaps", "default", "c", NULL, cJSON_Duplicate(obj, true));
	assert_int_equal(u.code, 200);
	assert_string_not_equal(rv_of(u.obj), rv1);
	/* The first object's revision is stale now. */
	struct result c = update("", "configmaps", "default", "c", NULL, obj);
	assert_int_equal(c.code, 409);
	assert_string_equal(c.reason, "Conflict");
	assert_non_null(strstr(c.msg, "the object has been modified"));
	/* Writing the same content again changes nothing. */
	char rv2[24];
	snprintf(rv2, sizeof(rv2), "%s", rv_of(u.obj));
	struct result same = update("", "configmaps", "default", "c", NULL, u.obj);
	assert_int_equal(same.code, 200);
	assert_string_equal(rv_of(same.obj), rv2);
	cJSON_Delete(same.obj);
	/* Without a revision the update is unconditional. */
	struct result un =
	    update("", "configmaps", "default", "c", NULL,
	           cJSON_Parse("{\"metadata\":{\"name\":\"c\"},\"data\":{\"b\":\"3\"}}"));
	assert_int_equal(un.code, 200);
	assert_string_equal(path_str(un.obj, "metadata", "uid"),
	                    path_str(un.obj, "metadata", "uid"));
	cJSON_Delete(un.obj);
	struct result nf = update("", "configmaps", "default", "missing", NULL,
	                          cJSON_Parse("{\"metadata\":{\"name\":\"missing\"}}"));
	assert_int_equal(nf.code, 404);
}

static void test_status_and_spec_are_written_apart(void **state)
{
	struct result r = create(
	    "apps", "deployments", "default",
	    "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":"
	    "{\"app\":\"d\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"d\"}},\"spec\":{"
	    "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}}");
	assert_int_equal(r.code, 201);
	const cJSON *gen =
	    cJSON_GetObjectItem(cJSON_GetObjectItem(r.obj, "metadata"), "generation");
	assert_int_equal((int)gen->valuedouble, 1);
	/* Status through /status: spec ignored, generation kept. */
	cJSON *s = cJSON_Duplicate(r.obj, true);
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(s, "status"), "replicas", 1);
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(s, "spec"), "replicas",
	                          cJSON_CreateNumber(9));
	struct result su = update("apps", "deployments", "default", "d", "status", s);
	assert_int_equal(su.code, 200);
	const cJSON *spec = cJSON_GetObjectItem(su.obj, "spec");
	assert_int_equal((int)cJSON_GetObjectItem(spec, "replicas")->valuedouble, 1);
	gen = cJSON_GetObjectItem(cJSON_GetObjectItem(su.obj, "metadata"), "generation");
	assert_int_equal((int)gen->valuedouble, 1);
	/* A spec update keeps status and bumps generation. */
	cJSON *u = cJSON_Duplicate(su.obj, true);
	cJSON_DeleteItemFromObject(u, "status");
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(u, "spec"), "replicas",
	                          cJSON_CreateNumber(3));
	struct result uu = update("apps", "deployments", "default", "d", NULL, u);
	assert_int_equal(uu.code, 200);
	assert_non_null(cJSON_GetObjectItem(uu.obj, "status"));
	gen = cJSON_GetObjectItem(cJSON_GetObjectItem(uu.obj, "metadata"), "generation");
	assert_int_equal((int)gen->valuedouble, 2);
	/* Scale subresource writes spec.replicas. */
	struct result sc = update("apps", "deployments", "default", "d", "scale",
	                          cJSON_Parse("{\"spec\":{\"replicas\":5}}"));
	assert_int_equal(sc.code, 200);
	spec = cJSON_GetObjectItem(sc.obj, "spec");
	assert_int_equal((int)cJSON_GetObjectItem(spec, "replicas")->valuedouble, 5);
	cJSON_Delete(r.obj);
	cJSON_Delete(su.obj);
	cJSON_Delete(uu.obj);
	cJSON_Delete(sc.obj);
}

static void test_pods_on_a_node_are_deleted_gracefully(void **state)
{
	struct result r = create("", "pods", "default", POD("g", ",\"nodeName\":\"n1\""));
	assert_int_equal(r.code, 201);
	cJSON_Delete(r.obj);
	struct result d = del("", "pods", "default", "g", -1, NULL);
	assert_int_equal(d.code, 200);
	assert_non_null(path_str(d.obj, "metadata", "deletionTimestamp"));
	const cJSON *g = cJSON_GetObjectItem(cJSON_GetObjectItem(d.obj, "metadata"),
	                                     "deletionGracePeriodSeconds");
	assert_int_equal((int)g->valuedouble, 30);
	cJSON_Delete(d.obj);
	int code;
	cJSON *still = get("", "pods", "default", "g", &code);
	assert_int_equal(code, 200);
	cJSON_Delete(still);
	/* The kubelet's final delete (grace 0) removes it. */
	d = del("", "pods", "default", "g", 0, NULL);
	assert_int_equal(d.code, 200);
	cJSON_Delete(d.obj);
	get("", "pods", "default", "g", &code);
	assert_int_equal(code, 404);
	/* A pod on no node goes at once. */
	r = create("", "pods", "default", POD("u", ""));
	cJSON_Delete(r.obj);
	d = del("", "pods", "default", "u", -1, NULL);
	assert_int_equal(d.code, 200);
	cJSON_Delete(d.obj);
	get("", "pods", "default", "u", &code);
	assert_int_equal(code, 404);
	d = del("", "pods", "default", "u", -1, NULL);
	assert_int_equal(d.code, 404);
}

static void test_binding_puts_a_pod_on_a_node_once(void **state)
{
	struct result r = create("", "pods", "default", POD("b", ""));
	assert_int_equal(r.code, 201);
	cJSON_Delete(r.obj);
	cJSON *binding = cJSON_Parse("{\"target\":{\"kind\":\"Node\",\"name\":\"n1\"}}");
	struct result b = { 0 };
	api_bind(api, "default", "b", binding, NULL, on_done, &b);
	wait_for(&b);
	assert_int_equal(b.code, 200);
	assert_string_equal(path_str(b.obj, "spec", "nodeName"), "n1");
	const cJSON *c = cJSON_GetArrayItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(b.obj, "status"), "conditions"), 0);
	assert_string_equal(path_str(c, "type", NULL), "PodScheduled");
	assert_string_equal(path_str(c, "status", NULL), "True");
	cJSON_Delete(b.obj);
	struct result again = { 0 };
	api_bind(api, "default", "b", binding, NULL, on_done, &again);
	wait_for(&again);
	assert_int_equal(again.code, 409);
	cJSON_Delete(binding);
}

static void test_finalizers_hold_an_object_until_removed(void **state)
{
	struct result r =
	    create("", "configmaps", "default",
	           "{\"metadata\":{\"name\":\"f\",\"finalizers\":[\"example.com/x\"]}}");
	assert_int_equal(r.code, 201);
	cJSON_Delete(r.obj);
	struct result d = del("", "configmaps", "default", "f", -1, NULL);
	assert_int_equal(d.code, 200);
	assert_non_null(path_str(d.obj, "metadata", "deletionTimestamp"));
	cJSON *obj = d.obj;
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(obj, "metadata"), "finalizers");
	struct result u = update("", "configmaps", "default", "f", NULL, obj);
	assert_int_equal(u.code, 200);
	cJSON_Delete(u.obj);
	int code;
	get("", "configmaps", "default", "f", &code);
	assert_int_equal(code, 404);
	/* Orphan propagation is recorded as a finalizer for the garbage collector. */
	r = create("", "configmaps", "default", "{\"metadata\":{\"name\":\"o\"}}");
	cJSON_Delete(r.obj);
	d = del("", "configmaps", "default", "o", -1, "Orphan");
	assert_int_equal(d.code, 200);
	const cJSON *fs = cJSON_GetObjectItem(cJSON_GetObjectItem(d.obj, "metadata"), "finalizers");
	assert_string_equal(cJSON_GetArrayItem(fs, 0)->valuestring, "orphan");
	cJSON_Delete(d.obj);
	d = del("", "configmaps", "default", "o", -1, "Sideways");
	assert_int_equal(d.code, 422);
}

static void test_a_pod_held_by_a_finalizer_goes_when_it_is_removed(void **state)
{
	struct result r = create("", "pods", "default",
	                         "{\"metadata\":{\"name\":\"j\",\"finalizers\":[\"example.com/"
	                         "t\"]},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{"
	                         "\"name\":\"c\",\"image\":\"busybox\"}]}}");
	assert_int_equal(r.code, 201);
	cJSON_Delete(r.obj);
	/* Graceful delete, then the kubelet's final one: the finalizer still holds it. */
	struct result d = del("", "pods", "default", "j", -1, NULL);
	assert_int_equal(d.code, 200);
	cJSON_Delete(d.obj);
	d = del("", "pods", "default", "j", 0, NULL);
	assert_int_equal(d.code, 200);
	cJSON_Delete(d.obj);
	int code;
	cJSON *obj = get("", "pods", "default", "j", &code);
	assert_int_equal(code, 200);
	const cJSON *g =
	    cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "metadata"), "deletionGracePeriodSeconds");
	assert_int_equal((int)g->valuedouble, 0);
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(obj, "metadata"), "finalizers");
	struct result u = update("", "pods", "default", "j", NULL, obj);
	assert_int_equal(u.code, 200);
	cJSON_Delete(u.obj);
	get("", "pods", "default", "j", &code);
	assert_int_equal(code, 404);
	/* A pod still in its grace period stays when its finalizer goes: its kubelet ends it. */
	r = create("", "pods", "default",
	           "{\"metadata\":{\"name\":\"k\",\"finalizers\":[\"example.com/t\"]},"
	           "\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"c\","
	           "\"image\":\"busybox\"}]}}");
	cJSON_Delete(r.obj);
	d = del("", "pods", "default", "k", -1, NULL);
	obj = d.obj;
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(obj, "metadata"), "finalizers");
	u = update("", "pods", "default", "k", NULL, obj);
	assert_int_equal(u.code, 200);
	cJSON_Delete(u.obj);
	cJSON_Delete(get("", "pods", "default", "k", &code));
	assert_int_equal(code, 200);
	d = del("", "pods", "default", "k", 0, NULL);
	cJSON_Delete(d.obj);
	get("", "pods", "default", "k", &code);
	assert_int_equal(code, 404);
}

static void test_lists_page_with_continue_tokens(void **state)
{
	char json[128];
	for (int i = 0; i < 7; i++) {
		snprintf(json, sizeof(json), "{\"metadata\":{\"name\":\"p%d\"}}", i);
		struct result r = create("", "configmaps", "kube-system", json);
		assert_int_equal(r.code, 201);
		cJSON_Delete(r.obj);
	}
	struct api_target t = { kind("", "configmaps"), "kube-system", NULL, NULL };
	struct api_list_opts o = { .limit = 3 };
	struct api_status s = { 0 };
	struct buf out = { 0 };
	int pages = 0, items = 0;
	char cont[1024] = "";
	do {
		buf_reset(&out);
		o.cont = cont[0] ? cont : NULL;
		assert_int_equal(api_list(api, &t, &o, &out, &s), 0);
		cJSON *list = cJSON_Parse(out.data);
		assert_non_null(list);
		assert_string_equal(path_str(list, "kind", NULL), "ConfigMapList");
		items += cJSON_GetArraySize(cJSON_GetObjectItem(list, "items"));
		const char *c = path_str(list, "metadata", "continue");
		snprintf(cont, sizeof(cont), "%s", c ? c : "");
		cJSON_Delete(list);
		pages++;
	} while (cont[0] && pages < 10);
	assert_int_equal(items, 7);
	assert_int_equal(pages, 3);
	o.cont = "garbage!";
	assert_int_equal(api_list(api, &t, &o, &out, &s), -1);
	assert_int_equal(s.code, 400);
	buf_free(&out);
}

struct evs {
	char log[2048];
	int n;
};

static int on_ev(void *arg, const char *type, cJSON *obj)
{
	struct evs *e = arg;
	const char *name = path_str(obj, "metadata", "name");
	size_t l = strlen(e->log);
	snprintf(e->log + l, sizeof(e->log) - l, "%s %s;", type, name ? name : "-");
	e->n++;
	return 0;
}

static bool only_labelled(void *arg, const struct reg_kind *k, const cJSON *obj)
{
	const char *v = path_str(cJSON_GetObjectItem(obj, "metadata"), "labels", "app");
	return v && !strcmp(v, "x");
}

static void test_watches_replay_then_follow_and_respect_filters(void **state)
{
	struct result r = create("", "configmaps", "default",
	                         "{\"metadata\":{\"name\":\"w1\",\"labels\":{\"app\":\"x\"}}}");
	char rv[24];
	snprintf(rv, sizeof(rv), "%s", rv_of(r.obj));
	cJSON_Delete(r.obj);
	struct api_target t = { kind("", "configmaps"), "default", NULL, NULL };
	struct evs all = { 0 }, sel = { 0 }, init = { 0 };
	struct api_watch *wa, *ws, *wi;
	struct api_status s = { 0 };
	struct api_watch_opts oa = { .resource_version = rv };
	struct api_watch_opts os = { .resource_version = rv, .filter = { only_labelled, NULL } };
	struct api_watch_opts oi = { .resource_version = NULL, .filter = { only_labelled, NULL } };
	assert_int_equal(api_watch(api, &t, &oa, on_ev, &all, &wa, &s), 0);
	assert_int_equal(api_watch(api, &t, &os, on_ev, &sel, &ws, &s), 0);
	assert_int_equal(api_watch(api, &t, &oi, on_ev, &init, &wi, &s), 0);
	assert_string_equal(init.log, "ADDED w1;");
	r = create("", "configmaps", "default", "{\"metadata\":{\"name\":\"w2\"}}");
	cJSON *w2 = r.obj;
	/* w2 gains the label: it appears to the filtered watch. */
	cJSON_AddStringToObject(
	    cJSON_AddObjectToObject(cJSON_GetObjectItem(w2, "metadata"), "labels"), "app", "x");
	struct result u = update("", "configmaps", "default", "w2", NULL, w2);
	cJSON *w2b = u.obj;
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(w2b, "metadata"), "labels");
	u = update("", "configmaps", "default", "w2", NULL, w2b);
	cJSON_Delete(u.obj);
	struct result d = del("", "configmaps", "default", "w1", -1, NULL);
	cJSON_Delete(d.obj);
	for (int i = 0; i < 50 && all.n < 4; i++)
		loop_run_once(lp, 10);
	assert_string_equal(all.log, "ADDED w2;MODIFIED w2;MODIFIED w2;DELETED w1;");
	assert_string_equal(sel.log, "ADDED w2;DELETED w2;DELETED w1;");
	assert_string_equal(init.log, "ADDED w1;ADDED w2;DELETED w2;DELETED w1;");
	api_watch_stop(wa);
	api_watch_stop(ws);
	api_watch_stop(wi);
	/* Past compaction: 410. */
	assert_int_equal(store_compact(st, store_rev(st), NULL), 0);
	struct api_watch *wold;
	assert_int_equal(api_watch(api, &t, &oa, on_ev, &all, &wold, &s), -1);
	assert_int_equal(s.code, 410);
	api_status_clear(&s);
}

static void test_services_get_unique_addresses_and_node_ports(void **state)
{
	char ips[20][32];
	char json[256];
	for (int i = 0; i < 20; i++) {
		snprintf(
		    json, sizeof(json),
		    "{\"metadata\":{\"name\":\"s%d\"},\"spec\":{\"type\":\"NodePort\",\"ports\":[{"
		    "\"port\":80}]}}",
		    i);
		struct result r = create("", "services", "default", json);
		assert_int_equal(r.code, 201);
		const char *ip = path_str(r.obj, "spec", "clusterIP");
		assert_non_null(ip);
		assert_true(str_has_prefix(ip, "10.43.0."));
		assert_string_not_equal(ip, "10.43.0.1");
		snprintf(ips[i], sizeof(ips[i]), "%s", ip);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(ips[i], ips[j]);
		const cJSON *port = cJSON_GetArrayItem(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(r.obj, "spec"), "ports"), 0);
		int np = (int)cJSON_GetObjectItem(port, "nodePort")->valuedouble;
		assert_true(np >= 30000 && np <= 32767);
		cJSON_Delete(r.obj);
	}
	snprintf(json, sizeof(json),
	         "{\"metadata\":{\"name\":\"taken\"},\"spec\":{\"clusterIP\":\"%s\",\"ports\":[{"
	         "\"port\":1}]}}",
	         ips[3]);
	struct result r = create("", "services", "default", json);
	assert_int_equal(r.code, 422);
	assert_non_null(strstr(r.msg, "already allocated"));
	r = create("", "services", "default",
	           "{\"metadata\":{\"name\":\"out\"},\"spec\":{\"clusterIP\":\"10.99.0.5\","
	           "\"ports\":[{\"port\":1}]}}");
	assert_int_equal(r.code, 422);
	/* Deleting releases the address for someone else. */
	struct result d = del("", "services", "default", "s3", -1, NULL);
	assert_int_equal(d.code, 200);
	cJSON_Delete(d.obj);
	snprintf(json, sizeof(json),
	         "{\"metadata\":{\"name\":\"again\"},\"spec\":{\"clusterIP\":\"%s\",\"ports\":[{"
	         "\"port\":1}]}}",
	         ips[3]);
	r = create("", "services", "default", json);
	assert_int_equal(r.code, 201);
	cJSON_Delete(r.obj);
}

static void test_a_terminating_namespace_takes_no_new_objects(void **state)
{
	struct result r = create("", "namespaces", NULL, "{\"metadata\":{\"name\":\"gone\"}}");
	assert_int_equal(r.code, 201);
	const char *l = path_str(cJSON_GetObjectItem(r.obj, "metadata"), "labels",
	                         "kubernetes.io/metadata.name");
	assert_string_equal(l, "gone");
	cJSON_Delete(r.obj);
	struct result d = del("", "namespaces", NULL, "gone", -1, NULL);
	assert_int_equal(d.code, 200);
	assert_string_equal(path_str(d.obj, "status", "phase"), "Terminating");
	cJSON_Delete(d.obj);
	r = create("", "configmaps", "gone", "{\"metadata\":{\"name\":\"x\"}}");
	assert_int_equal(r.code, 403);
}

static void test_finalize_empties_spec_finalizers_and_ends_a_terminating_namespace(void **state)
{
	struct result r = create("", "namespaces", NULL, "{\"metadata\":{\"name\":\"fin\"}}");
	assert_int_equal(r.code, 201);
	cJSON_Delete(r.obj);
	/* A plain update may not drop the namespace controller's finalizer. */
	int code;
	cJSON *ns = get("", "namespaces", NULL, "fin", &code);
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(ns, "spec"), "finalizers");
	struct result u = update("", "namespaces", NULL, "fin", NULL, cJSON_Duplicate(ns, true));
	assert_int_equal(u.code, 200);
	assert_string_equal(
	    cJSON_GetArrayItem(
	        cJSON_GetObjectItem(cJSON_GetObjectItem(u.obj, "spec"), "finalizers"), 0)
	        ->valuestring,
	    "kubernetes");
	cJSON_Delete(u.obj);
	struct result d = del("", "namespaces", NULL, "fin", -1, NULL);
	assert_int_equal(d.code, 200);
	cJSON_Delete(d.obj);
	cJSON_Delete(get("", "namespaces", NULL, "fin", &code));
	assert_int_equal(code, 200);
	/* finalize changes only spec.finalizers: the label edit is ignored. */
	cJSON_AddStringToObject(cJSON_GetObjectItem(cJSON_GetObjectItem(ns, "metadata"), "labels"),
	                        "x", "y");
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(ns, "metadata"), "resourceVersion");
	u = update("", "namespaces", NULL, "fin", "finalize", ns);
	assert_int_equal(u.code, 200);
	cJSON_Delete(u.obj);
	cJSON_Delete(get("", "namespaces", NULL, "fin", &code));
	assert_int_equal(code, 404);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_bootstrap_makes_the_namespaces_and_the_kubernetes_service, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_create_fills_metadata_and_rejects_duplicates,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_selectors_match_label_keys_with_dots, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_generate_name_gives_unique_names, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(
		    test_updates_conflict_on_a_stale_revision_and_noops_keep_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_and_spec_are_written_apart, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_pods_on_a_node_are_deleted_gracefully, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_binding_puts_a_pod_on_a_node_once, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_finalizers_hold_an_object_until_removed, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_pod_held_by_a_finalizer_goes_when_it_is_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lists_page_with_continue_tokens, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_watches_replay_then_follow_and_respect_filters,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_services_get_unique_addresses_and_node_ports,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_terminating_namespace_takes_no_new_objects,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_finalize_empties_spec_finalizers_and_ends_a_terminating_namespace, setup,
		    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
