/* controllers_namespace_test: deleting a namespace empties it (pods gracefully), reports what
 * holds it up in its conditions, and removes it once nothing is left. */
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
static struct ctrl_namespace *nsc;

static int setup(void **state)
{
	struct err e = { 0 };
	strcpy(dir, "/tmp/tug-ctrl-ns-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	struct store_opts so = { .dir = dir, .no_background = true };
	assert_int_equal(store_open(&st, &so, &e), 0);
	assert_int_equal(loop_new(&lp), 0);
	struct api_opts ao = { .store = st, .loop = lp, .advertise_ip = "192.0.2.1" };
	assert_int_equal(api_new(&api, &ao, &e), 0);
	assert_int_equal(api_bootstrap(api, NULL, &e), 0);
	cl = client_local(api, lp, "system:kube-controller-manager");
	inf = ctrl_informers_new(cl);
	struct ctrl_cluster_opts o = { .namespace_recheck_ms = 100 };
	assert_int_equal(ctrl_namespace_start(inf, &o, &nsc, &e), 0);
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
	ctrl_namespace_stop(nsc);
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

static int done_code;
static void on_done(void *arg, int code, const char *msg, cJSON *obj)
{
	done_code = code;
	if (code >= 300)
		printf("# write failed: %d %s\n", code, msg);
}

static void wait_done(int want)
{
	for (int i = 0; i < 200 && !done_code; i++)
		loop_run_once(lp, 5);
	assert_int_equal(done_code, want);
}

static void make(const char *group, const char *resource, const char *ns, const char *json)
{
	done_code = 0;
	client_create(cl, client_kind(group, resource), ns, cJSON_Parse(json), on_done, NULL);
	wait_done(201);
}

static cJSON *get(const char *group, const char *resource, const char *ns, const char *name)
{
	return client_get(cl, client_kind(group, resource), ns, name);
}

static const char *cond(const cJSON *obj, const char *type, const char *field)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, obj_get(obj, "status.conditions"))
	{
		if (!strcmp(obj_get_str(c, "type"), type))
			return obj_get_str(c, field);
	}
	return NULL;
}

static void test_deleting_a_namespace_empties_it_then_removes_it(void **state)
{
	make("", "namespaces", NULL, "{\"metadata\":{\"name\":\"doomed\"}}");
	make("", "configmaps", "doomed", "{\"metadata\":{\"name\":\"cm\"}}");
	make("", "configmaps", "doomed",
	     "{\"metadata\":{\"name\":\"held\",\"finalizers\":[\"example.com/hold\"]}}");
	make("", "secrets", "doomed", "{\"metadata\":{\"name\":\"s\"},\"data\":{\"k\":\"dg==\"}}");
	make("", "services", "doomed",
	     "{\"metadata\":{\"name\":\"svc\"},\"spec\":{\"ports\":[{\"port\":80}]}}");
	make(
	    "apps", "deployments", "doomed",
	    "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"selector\":{\"matchLabels\":{\"a\":\"b\"}},"
	    "\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{\"containers\":[{"
	    "\"name\":\"c\",\"image\":\"nginx\"}]}}}}");
	make("", "pods", "doomed",
	     "{\"metadata\":{\"name\":\"loose\"},\"spec\":{\"containers\":[{\"name\":\"c\","
	     "\"image\":\"nginx\"}]}}");
	make("", "pods", "doomed",
	     "{\"metadata\":{\"name\":\"running\"},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{"
	     "\"name\":\"c\",\"image\":\"nginx\"}]}}");
	make("", "pods", "default",
	     "{\"metadata\":{\"name\":\"bystander\"},\"spec\":{\"containers\":[{\"name\":\"c\","
	     "\"image\":\"nginx\"}]}}");

	done_code = 0;
	client_delete(cl, client_kind("", "namespaces"), NULL, "doomed", -1, NULL, NULL, on_done,
	              NULL);
	wait_done(200);
	/* What can go goes; the pod on a node waits for its kubelet; the finalizer holds one. */
	cJSON *o = NULL;
	for (int i = 0; i < 100; i++) {
		cJSON *ns = get("", "namespaces", NULL, "doomed");
		const char *left = cond(ns, "NamespaceContentRemaining", "message");
		bool ready =
		    left && !strcmp(left, "Some resources are remaining: configmaps. has 1 "
		                          "resource instances, pods. has 1 resource "
		                          "instances");
		cJSON *cm = get("", "configmaps", "doomed", "cm");
		cJSON *d = get("apps", "deployments", "doomed", "d");
		ready = ready && !cm && !d;
		cJSON_Delete(cm);
		cJSON_Delete(d);
		if (ready) {
			o = ns;
			break;
		}
		cJSON_Delete(ns);
		spin(20);
	}
	assert_non_null(o);
	assert_string_equal(obj_get_str(o, "status.phase"), "Terminating");
	assert_string_equal(cond(o, "NamespaceFinalizersRemaining", "message"),
	                    "Some content in the namespace has finalizers remaining: "
	                    "example.com/hold in 1 resource instances");
	assert_string_equal(cond(o, "NamespaceContentRemaining", "status"), "True");
	assert_string_equal(cond(o, "NamespaceDeletionContentFailure", "status"), "False");
	cJSON_Delete(o);
	o = get("", "pods", "doomed", "loose");
	assert_null(o);
	o = get("", "secrets", "doomed", "s");
	assert_null(o);
	o = get("", "services", "doomed", "svc");
	assert_null(o);
	o = get("", "pods", "doomed", "running");
	assert_non_null(obj_get(o, "metadata.deletionTimestamp"));
	cJSON_Delete(o);
	o = get("", "pods", "default", "bystander");
	assert_non_null(o);
	cJSON_Delete(o);

	/* The kubelet confirms the pod stopped; the finalizer's owner lets go. */
	client_delete(cl, client_kind("", "pods"), "doomed", "running", 0, NULL, NULL, NULL, NULL);
	client_merge_patch(cl, client_kind("", "configmaps"), "doomed", "held", NULL,
	                   cJSON_Parse("{\"metadata\":{\"finalizers\":null}}"), NULL, NULL);
	bool gone = false;
	for (int i = 0; i < 150 && !gone; i++) {
		spin(20);
		o = get("", "namespaces", NULL, "doomed");
		gone = !o;
		cJSON_Delete(o);
	}
	assert_true(gone);
	/* A namespace of the same name starts empty. */
	make("", "namespaces", NULL, "{\"metadata\":{\"name\":\"doomed\"}}");
	o = get("", "configmaps", "doomed", "held");
	assert_null(o);
}

static void test_live_namespaces_are_left_alone(void **state)
{
	make("", "namespaces", NULL, "{\"metadata\":{\"name\":\"alive\"}}");
	make("", "configmaps", "alive", "{\"metadata\":{\"name\":\"cm\"}}");
	spin(300);
	cJSON *o = get("", "configmaps", "alive", "cm");
	assert_non_null(o);
	cJSON_Delete(o);
	o = get("", "namespaces", NULL, "alive");
	assert_null(obj_get(o, "status.conditions"));
	cJSON_Delete(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_deleting_a_namespace_empties_it_then_removes_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_namespaces_are_left_alone, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
