/* controllers_serviceaccount_test: every namespace gets (and keeps) a default ServiceAccount and
 * the kube-root-ca.crt ConfigMap when the CA is known. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/controllers/controllers.h"
#include "core/obj/obj.h"

#define PEM "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

static char dir[128];
static struct store *st;
static struct loop *lp;
static struct api *api;
static struct client *cl;
static struct ctrl_informers *inf;
static struct ctrl_serviceaccount *sac;

static int setup(void **state)
{
	struct err e = { 0 };
	strcpy(dir, "/tmp/tug-ctrl-sa-test-XXXXXX");
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
	ctrl_serviceaccount_stop(sac);
	sac = NULL;
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

static void start(const char *pem)
{
	struct ctrl_cluster_opts o = { .root_ca_pem = pem };
	struct err e = { 0 };
	assert_int_equal(ctrl_serviceaccount_start(inf, &o, &sac, &e), 0);
}

static int done_code;
static void on_done(void *arg, int code, const char *msg, cJSON *obj)
{
	done_code = code;
}

static cJSON *wait_get(const char *resource, const char *ns, const char *name)
{
	for (int i = 0; i < 200; i++) {
		cJSON *o = client_get(cl, client_kind("", resource), ns, name);
		if (o)
			return o;
		loop_run_once(lp, 10);
	}
	return NULL;
}

static void test_every_namespace_has_a_default_service_account(void **state)
{
	start(NULL);
	static const char *const nss[] = { "default", "kube-system", "kube-public",
		                           "kube-node-lease" };
	for (size_t i = 0; i < 4; i++) {
		cJSON *sa = wait_get("serviceaccounts", nss[i], "default");
		assert_non_null(sa);
		cJSON_Delete(sa);
	}
	done_code = 0;
	client_create(cl, client_kind("", "namespaces"), NULL,
	              cJSON_Parse("{\"metadata\":{\"name\":\"team\"}}"), on_done, NULL);
	cJSON *sa = wait_get("serviceaccounts", "team", "default");
	assert_non_null(sa);
	char uid[64];
	snprintf(uid, sizeof(uid), "%s", obj_get_str(sa, "metadata.uid"));
	cJSON_Delete(sa);
	/* Deleted: made again (a new one). */
	client_delete(cl, client_kind("", "serviceaccounts"), "team", "default", -1, NULL, NULL,
	              NULL, NULL);
	sa = NULL;
	for (int i = 0; i < 200; i++) {
		sa = client_get(cl, client_kind("", "serviceaccounts"), "team", "default");
		if (sa && strcmp(obj_get_str(sa, "metadata.uid"), uid))
			break;
		cJSON_Delete(sa);
		sa = NULL;
		loop_run_once(lp, 10);
	}
	assert_non_null(sa);
	cJSON_Delete(sa);
	/* No CA given: no ConfigMap. */
	cJSON *cm = client_get(cl, client_kind("", "configmaps"), "team", "kube-root-ca.crt");
	assert_null(cm);
}

static void test_the_root_ca_is_published_and_kept(void **state)
{
	start(PEM);
	cJSON *cm = wait_get("configmaps", "default", "kube-root-ca.crt");
	assert_non_null(cm);
	assert_string_equal(obj_get_str(cm, "data.ca\\.crt"), PEM);
	cJSON_Delete(cm);
	client_merge_patch(cl, client_kind("", "configmaps"), "kube-system", "kube-root-ca.crt",
	                   NULL, cJSON_Parse("{\"data\":{\"ca.crt\":\"tampered\",\"x\":\"y\"}}"),
	                   NULL, NULL);
	bool restored = false;
	for (int i = 0; i < 200 && !restored; i++) {
		spin(10);
		cm = client_get(cl, client_kind("", "configmaps"), "kube-system",
		                "kube-root-ca.crt");
		const char *v = obj_get_str(cm, "data.ca\\.crt");
		restored = v && !strcmp(v, PEM) && !obj_get(cm, "data.x");
		cJSON_Delete(cm);
	}
	assert_true(restored);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_namespace_has_a_default_service_account,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_the_root_ca_is_published_and_kept, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
