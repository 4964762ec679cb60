/* controllers_gc_test: the garbage collector follows ownerReferences: Background deletes the
 * dependents of a deleted owner, Foreground holds the owner until blocking dependents are gone,
 * Orphan releases the dependents; dangling references are found at start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/controllers/controllers.h"
#include "core/obj/obj.h"

static char dir[128];
static struct store *st;
static struct loop *lp;
static struct api *api;
static struct client *cl;
static struct ctrl_informers *inf;
static struct ctrl_gc *gc;

static int setup(void **state)
{
	struct err e = { 0 };
	strcpy(dir, "/tmp/tug-ctrl-gc-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	struct store_opts so = { .dir = dir, .no_background = true };
	assert_int_equal(store_open(&st, &so, &e), 0);
	assert_int_equal(loop_new(&lp), 0);
	struct api_opts ao = { .store = st, .loop = lp, .advertise_ip = "192.0.2.1" };
	assert_int_equal(api_new(&api, &ao, &e), 0);
	assert_int_equal(api_bootstrap(api, NULL, &e), 0);
	cl = client_local(api, lp, "system:kube-controller-manager");
	inf = ctrl_informers_new(cl);
	return 0;
}

static void spin(int ms)
{
	uint64_t end = time_mono_ms() + (uint64_t)ms;
	while (time_mono_ms() < end)
		loop_run_once(lp, 5);
}

static int teardown(void **state)
{
	ctrl_gc_stop(gc);
	gc = NULL;
	spin(30);
	ctrl_informers_free(inf);
	client_free(cl);
	api_free(api);
	loop_free(lp);
	store_close(st);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void start(void)
{
	struct err e = { 0 };
	assert_int_equal(ctrl_gc_start(inf, NULL, &gc, &e), 0);
}

static int done_code;
static char done_uid[64];
static void on_done(void *arg, int code, const char *msg, cJSON *obj)
{
	done_code = code;
	snprintf(done_uid, sizeof(done_uid), "%s",
	         obj_get_str(obj, "metadata.uid") ? obj_get_str(obj, "metadata.uid") : "");
	if (code >= 300)
		printf("# write failed: %d %s\n", code, msg);
}

static void wait_done(int want)
{
	for (int i = 0; i < 200 && !done_code; i++)
		loop_run_once(lp, 5);
	assert_int_equal(done_code, want);
}

/* Creates an object and returns its uid (static buffer of the caller's choosing). */
static void make(const char *group, const char *resource, const char *ns, const char *json,
                 char uid[64])
{
	done_code = 0;
	cJSON *o = cJSON_Parse(json);
	assert_non_null(o);
	client_create(cl, client_kind(group, resource), ns, o, on_done, NULL);
	wait_done(201);
	if (uid)
		snprintf(uid, 64, "%s", done_uid);
}

static void rs(const char *name, char uid[64])
{
	char json[512];
	snprintf(json, sizeof(json),
	         "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"replicas\":0,\"selector\":{"
	         "\"matchLabels\":{\"rs\":\"%s\"}},\"template\":{\"metadata\":{\"labels\":{\"rs\":"
	         "\"%s\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}}",
	         name, name, name);
	make("apps", "replicasets", "default", json, uid);
}

/* A pod owned by ReplicaSet owner (uid), optionally blocking its deletion and on a node. */
static void pod(const char *name, const char *owner, const char *uid, bool block, const char *node)
{
	char json[1024];
	snprintf(json, sizeof(json),
	         "{\"metadata\":{\"name\":\"%s\",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\","
	         "\"kind\":\"ReplicaSet\",\"name\":\"%s\",\"uid\":\"%s\",\"controller\":true,"
	         "\"blockOwnerDeletion\":%s}]},\"spec\":{%s%s%s\"containers\":[{\"name\":\"c\","
	         "\"image\":\"nginx\"}]}}",
	         name, owner, uid, block ? "true" : "false", node ? "\"nodeName\":\"" : "",
	         node ? node : "", node ? "\"," : "");
	make("", "pods", "default", json, NULL);
}

static cJSON *get(const char *group, const char *resource, const char *ns, const char *name)
{
	return client_get(cl, client_kind(group, resource), ns, name);
}

static bool exists(const char *group, const char *resource, const char *ns, const char *name)
{
	cJSON *o = get(group, resource, ns, name);
	cJSON_Delete(o);
	return o != NULL;
}

static bool wait_gone(const char *group, const char *resource, const char *ns, const char *name)
{
	for (int i = 0; i < 200; i++) {
		if (!exists(group, resource, ns, name))
			return true;
		loop_run_once(lp, 10);
	}
	return false;
}

static void del(const char *group, const char *resource, const char *name, const char *policy)
{
	done_code = 0;
	client_delete(cl, client_kind(group, resource), "default", name, -1, policy, NULL, on_done,
	              NULL);
	wait_done(200);
}

struct evfind {
	const char *reason, *name;
	bool found;
};

static int find_event(void *arg, const cJSON *ev)
{
	struct evfind *f = arg;
	if (!strcmp(obj_get_str(ev, "reason"), f->reason) &&
	    !strcmp(obj_get_str(ev, "involvedObject.name"), f->name))
		f->found = true;
	return 0;
}

static bool event_about(const char *name, const char *reason)
{
	struct evfind f = { reason, name, false };
	for (int i = 0; i < 100 && !f.found; i++) {
		client_list(cl, client_kind("", "events"), NULL, find_event, &f);
		loop_run_once(lp, 10);
	}
	return f.found;
}

static void test_background_deletion_removes_dependents_after_the_owner(void **state)
{
	char a[64], b[64];
	start();
	rs("bg", a);
	rs("other", b);
	pod("bg-1", "bg", a, true, NULL);
	pod("bg-2", "bg", a, false, NULL);
	/* Owned twice: it stays, owned by the one left. */
	char json[1024];
	snprintf(json, sizeof(json),
	         "{\"metadata\":{\"name\":\"shared\",\"ownerReferences\":[{\"apiVersion\":"
	         "\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"bg\",\"uid\":\"%s\"},{"
	         "\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"other\",\"uid\":"
	         "\"%s\"}]}}",
	         a, b);
	make("", "configmaps", "default", json, NULL);
	spin(100);
	assert_true(exists("", "pods", "default", "bg-1"));
	del("apps", "replicasets", "bg", "Background");
	assert_true(wait_gone("", "pods", "default", "bg-1"));
	assert_true(wait_gone("", "pods", "default", "bg-2"));
	spin(100);
	cJSON *cm = get("", "configmaps", "default", "shared");
	assert_non_null(cm);
	assert_int_equal(cJSON_GetArraySize(obj_get(cm, "metadata.ownerReferences")), 1);
	assert_string_equal(obj_get_str(cm, "metadata.ownerReferences[0].name"), "other");
	cJSON_Delete(cm);
	/* A cluster-scoped owner: a node's Lease goes with the Node. */
	char n[64];
	make("", "nodes", NULL, "{\"metadata\":{\"name\":\"n9\"}}", n);
	snprintf(json, sizeof(json),
	         "{\"metadata\":{\"name\":\"n9\",\"ownerReferences\":[{\"apiVersion\":\"v1\","
	         "\"kind\":\"Node\",\"name\":\"n9\",\"uid\":\"%s\"}]},\"spec\":{\"holderIdentity\":"
	         "\"n9\"}}",
	         n);
	make("coordination.k8s.io", "leases", "kube-node-lease", json, NULL);
	done_code = 0;
	client_delete(cl, client_kind("", "nodes"), NULL, "n9", -1, NULL, NULL, on_done, NULL);
	wait_done(200);
	assert_true(wait_gone("coordination.k8s.io", "leases", "kube-node-lease", "n9"));
}

static void test_foreground_deletion_waits_for_blocking_dependents(void **state)
{
	char a[64];
	start();
	rs("fg", a);
	pod("fg-block", "fg", a, true, "n1"); /* on a node: it terminates gracefully */
	pod("fg-free", "fg", a, false, NULL);
	spin(100);
	del("apps", "replicasets", "fg", "Foreground");
	assert_true(wait_gone("", "pods", "default", "fg-free"));
	/* The blocking pod is terminating; the owner waits for it. */
	cJSON *p = NULL;
	for (int i = 0; i < 200; i++) {
		p = get("", "pods", "default", "fg-block");
		if (p && obj_get(p, "metadata.deletionTimestamp"))
			break;
		cJSON_Delete(p);
		p = NULL;
		loop_run_once(lp, 10);
	}
	assert_non_null(p);
	cJSON_Delete(p);
	spin(200);
	cJSON *o = get("apps", "replicasets", "default", "fg");
	assert_non_null(o);
	assert_string_equal(obj_get_str(o, "metadata.finalizers[0]"), "foregroundDeletion");
	cJSON_Delete(o);
	/* Its kubelet finishes the pod: the owner goes. */
	done_code = 0;
	client_delete(cl, client_kind("", "pods"), "default", "fg-block", 0, NULL, NULL, on_done,
	              NULL);
	wait_done(200);
	assert_true(wait_gone("apps", "replicasets", "default", "fg"));
}

static void test_orphan_deletion_releases_dependents(void **state)
{
	char a[64];
	start();
	rs("or", a);
	pod("or-1", "or", a, true, NULL);
	pod("or-2", "or", a, true, NULL);
	spin(100);
	del("apps", "replicasets", "or", "Orphan");
	assert_true(wait_gone("apps", "replicasets", "default", "or"));
	spin(100);
	for (int i = 1; i <= 2; i++) {
		char name[16];
		snprintf(name, sizeof(name), "or-%d", i);
		cJSON *p = get("", "pods", "default", name);
		assert_non_null(p);
		assert_null(obj_get(p, "metadata.ownerReferences"));
		cJSON_Delete(p);
	}
}

static void test_dangling_references_found_at_start_are_collected(void **state)
{
	pod("stray", "ghost", "00000000-0000-4000-8000-000000000000", false, NULL);
	make("", "configmaps", "default",
	     "{\"metadata\":{\"name\":\"foreign\",\"ownerReferences\":[{\"apiVersion\":"
	     "\"example.com/v1\",\"kind\":\"Widget\",\"name\":\"w\",\"uid\":"
	     "\"00000000-0000-4000-8000-000000000001\"}]}}",
	     NULL);
	/* A cluster-scoped object cannot be owned by a namespaced one. */
	make("", "nodes", NULL,
	     "{\"metadata\":{\"name\":\"odd\",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\","
	     "\"kind\":\"ReplicaSet\",\"name\":\"x\",\"uid\":"
	     "\"00000000-0000-4000-8000-000000000002\"}]}}",
	     NULL);
	start();
	assert_true(wait_gone("", "pods", "default", "stray"));
	/* An owner of a kind this server does not serve cannot be checked: kept. */
	spin(100);
	assert_true(exists("", "configmaps", "default", "foreign"));
	assert_true(exists("", "nodes", NULL, "odd"));
	assert_true(event_about("odd", "OwnerRefInvalidNamespace"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_background_deletion_removes_dependents_after_the_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_foreground_deletion_waits_for_blocking_dependents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orphan_deletion_releases_dependents, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(
		    test_dangling_references_found_at_start_are_collected, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
