/* controllers_cluster_test: all cluster controllers together on shared informers, as `tug
 * server` runs them: they do their parts side by side and stop cleanly mid-work. */
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

static int setup(void **state)
{
	struct err e = { 0 };
	strcpy(dir, "/tmp/tug-ctrl-cluster-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	struct store_opts so = { .dir = dir, .no_background = true };
	assert_int_equal(store_open(&st, &so, &e), 0);
	assert_int_equal(loop_new(&lp), 0);
	struct api_opts ao = { .store = st, .loop = lp, .advertise_ip = "192.0.2.1" };
	assert_int_equal(api_new(&api, &ao, &e), 0);
	assert_int_equal(api_bootstrap(api, NULL, &e), 0);
	cl = client_local(api, lp, "system:kube-controller-manager");
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
	spin(50); /* writes of stopped controllers finish */
	client_free(cl);
	api_free(api);
	loop_free(lp);
	store_close(st);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void create(const char *group, const char *resource, const char *ns, const char *json)
{
	client_create(cl, client_kind(group, resource), ns, cJSON_Parse(json), NULL, NULL);
}

static cJSON *wait_get(const char *group, const char *resource, const char *ns, const char *name,
                       const char *path)
{
	for (int i = 0; i < 300; i++) {
		cJSON *o = client_get(cl, client_kind(group, resource), ns, name);
		if (o && (!path || obj_get(o, path)))
			return o;
		cJSON_Delete(o);
		loop_run_once(lp, 10);
	}
	return NULL;
}

static void test_the_controllers_work_side_by_side(void **state)
{
	struct ctrl_cluster_opts o = { .cluster_cidr = "10.77.0.0/16",
		                       .root_ca_pem = "-----BEGIN CERTIFICATE-----\n" };
	struct ctrl_cluster *cc = NULL;
	struct err e = { 0 };
	assert_int_equal(ctrl_cluster_start(cl, &o, &cc, &e), 0);
	create("", "nodes", NULL, "{\"metadata\":{\"name\":\"n1\"}}");
	create("", "namespaces", NULL, "{\"metadata\":{\"name\":\"app\"}}");
	cJSON *n = wait_get("", "nodes", NULL, "n1", "spec.podCIDR");
	assert_non_null(n);
	assert_string_equal(obj_get_str(n, "spec.podCIDR"), "10.77.0.0/24");
	cJSON_Delete(n);
	cJSON *sa = wait_get("", "serviceaccounts", "app", "default", NULL);
	assert_non_null(sa);
	cJSON_Delete(sa);
	cJSON *ca = wait_get("", "configmaps", "app", "kube-root-ca.crt", NULL);
	assert_non_null(ca);
	cJSON_Delete(ca);
	create("", "services", "app",
	       "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"selector\":{\"app\":\"web\"},"
	       "\"ports\":[{\"port\":80}]}}");
	cJSON *ep = wait_get("", "endpoints", "app", "web", NULL);
	assert_non_null(ep);
	cJSON_Delete(ep);
	/* The namespace goes, with its Service, Endpoints, slices and service account. */
	client_delete(cl, client_kind("", "namespaces"), NULL, "app", -1, NULL, NULL, NULL, NULL);
	bool gone = false;
	for (int i = 0; i < 300 && !gone; i++) {
		cJSON *ns = client_get(cl, client_kind("", "namespaces"), NULL, "app");
		gone = !ns;
		cJSON_Delete(ns);
		loop_run_once(lp, 10);
	}
	assert_true(gone);
	/* Stopping while writes are in flight is safe. */
	create("", "nodes", NULL, "{\"metadata\":{\"name\":\"n2\"}}");
	create("", "namespaces", NULL, "{\"metadata\":{\"name\":\"late\"}}");
	spin(5);
	ctrl_cluster_stop(cc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_the_controllers_work_side_by_side, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
