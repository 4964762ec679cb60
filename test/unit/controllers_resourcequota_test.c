/* controllers_resourcequota_test: quota status follows what a namespace holds; admission refuses
 * what would exceed it, with upstream's messages; LimitRanges default and bound containers. */
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
static struct ctrl_resourcequota *rq;

static int setup(void **state)
{
	struct err e = { 0 };
	strcpy(dir, "/tmp/tug-ctrl-rq-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	struct store_opts so = { .dir = dir, .no_background = true };
	assert_int_equal(store_open(&st, &so, &e), 0);
	assert_int_equal(loop_new(&lp), 0);
	struct api_opts ao = { .store = st, .loop = lp, .advertise_ip = "192.0.2.1" };
	assert_int_equal(api_new(&api, &ao, &e), 0);
	assert_int_equal(api_bootstrap(api, NULL, &e), 0);
	cl = client_local(api, lp, "system:kube-controller-manager");
	inf = ctrl_informers_new(cl);
	assert_int_equal(ctrl_resourcequota_start(inf, NULL, &rq, &e), 0);
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
	ctrl_resourcequota_stop(rq);
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
static char done_msg[1024];
static cJSON *done_obj;
static void on_done(void *arg, int code, const char *msg, cJSON *obj)
{
	done_code = code;
	snprintf(done_msg, sizeof(done_msg), "%s", msg ? msg : "");
	cJSON_Delete(done_obj);
	done_obj = obj ? cJSON_Duplicate(obj, true) : NULL;
}

/* Creates; returns the HTTP code (the message in done_msg, the object in done_obj). */
static int try_make(const char *group, const char *resource, const char *ns, const char *json)
{
	done_code = 0;
	cJSON *o = cJSON_Parse(json);
	assert_non_null(o);
	client_create(cl, client_kind(group, resource), ns, o, on_done, NULL);
	for (int i = 0; i < 200 && !done_code; i++)
		loop_run_once(lp, 5);
	return done_code;
}

static void make(const char *group, const char *resource, const char *ns, const char *json)
{
	int code = try_make(group, resource, ns, json);
	if (code != 201)
		printf("# %s\n", done_msg);
	assert_int_equal(code, 201);
}

static void pod(const char *name, const char *cpu, const char *mem)
{
	char json[1024];
	snprintf(json, sizeof(json),
	         "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"containers\":[{\"name\":\"c\","
	         "\"image\":\"nginx\",\"resources\":{\"requests\":{\"cpu\":\"%s\"},\"limits\":{"
	         "\"cpu\":\"%s\",\"memory\":\"%s\"}}}]}}",
	         name, cpu, cpu, mem);
	make("", "pods", "q", json);
}

/* Whether used[resource] of quota q becomes want (waiting up to 2 s). */
static bool used_is(const char *resource, const char *want)
{
	char got[64] = "";
	for (int i = 0; i < 200; i++) {
		cJSON *q = client_get(cl, client_kind("", "resourcequotas"), "q", "q");
		const cJSON *u =
		    cJSON_GetObjectItemCaseSensitive(obj_get(q, "status.used"), resource);
		snprintf(got, sizeof(got), "%s", cJSON_IsString(u) ? u->valuestring : "");
		cJSON_Delete(q);
		if (!strcmp(got, want))
			return true;
		loop_run_once(lp, 10);
	}
	printf("# used %s is '%s', not '%s'\n", resource, got, want);
	return false;
}

static void quota(const char *hard)
{
	char json[1024];
	snprintf(json, sizeof(json), "{\"metadata\":{\"name\":\"q\"},\"spec\":{\"hard\":%s}}",
	         hard);
	make("", "namespaces", NULL, "{\"metadata\":{\"name\":\"q\"}}");
	make("", "resourcequotas", "q", json);
}

static void test_quota_usage_follows_what_the_namespace_holds(void **state)
{
	quota("{\"pods\":\"10\",\"requests.cpu\":\"4\",\"limits.memory\":\"4Gi\","
	      "\"configmaps\":\"5\",\"count/deployments.apps\":\"2\",\"count/pods\":\"10\","
	      "\"services\":\"3\",\"services.nodeports\":\"4\"}");
	assert_true(used_is("pods", "0"));
	assert_true(used_is("requests.cpu", "0"));
	pod("a", "500m", "256Mi");
	pod("b", "250m", "1Gi");
	assert_true(used_is("pods", "2"));
	assert_true(used_is("requests.cpu", "750m"));
	assert_true(used_is("limits.memory", "1280Mi"));
	make("", "configmaps", "q", "{\"metadata\":{\"name\":\"c\"}}");
	assert_true(used_is("configmaps", "1"));
	make("", "services", "q",
	     "{\"metadata\":{\"name\":\"np\"},\"spec\":{\"type\":\"NodePort\",\"ports\":[{"
	     "\"name\":\"a\",\"port\":80},{\"name\":\"b\",\"port\":81}]}}");
	assert_true(used_is("services", "1"));
	assert_true(used_is("services.nodeports", "2"));
	make(
	    "apps", "deployments", "q",
	    "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"selector\":{\"matchLabels\":{\"a\":\"b\"}},"
	    "\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{\"containers\":[{"
	    "\"name\":\"c\",\"image\":\"nginx\"}]}}}}");
	assert_true(used_is("count/deployments.apps", "1"));
	/* A finished pod no longer counts as a pod, but is still an object in storage. */
	client_merge_patch(cl, client_kind("", "pods"), "q", "b", "status",
	                   cJSON_Parse("{\"status\":{\"phase\":\"Failed\"}}"), NULL, NULL);
	assert_true(used_is("pods", "1"));
	assert_true(used_is("requests.cpu", "500m"));
	assert_true(used_is("count/pods", "2"));
	client_delete(cl, client_kind("", "pods"), "q", "a", -1, NULL, NULL, NULL, NULL);
	assert_true(used_is("pods", "0"));
	assert_true(used_is("count/pods", "1"));
	cJSON *q = client_get(cl, client_kind("", "resourcequotas"), "q", "q");
	assert_string_equal(obj_get_str(q, "status.hard.requests\\.cpu"), "4");
	cJSON_Delete(q);
}

static void test_creates_over_the_quota_are_refused_with_upstreams_message(void **state)
{
	quota("{\"pods\":\"2\",\"requests.cpu\":\"1\",\"limits.memory\":\"1Gi\","
	      "\"configmaps\":\"1\"}");
	assert_true(used_is("pods", "0"));
	pod("a", "500m", "256Mi");
	pod("b", "200m", "256Mi");
	/* Charged at admission, before the controller recounts. */
	cJSON *q = client_get(cl, client_kind("", "resourcequotas"), "q", "q");
	assert_string_equal(obj_get_str(q, "status.used.pods"), "2");
	cJSON_Delete(q);
	assert_int_equal(try_make("", "pods", "q",
	                          "{\"metadata\":{\"name\":\"c\"},\"spec\":{\"containers\":[{"
	                          "\"name\":\"c\",\"image\":\"nginx\",\"resources\":{\"limits\":{"
	                          "\"cpu\":\"100m\",\"memory\":\"1Mi\"}}}]}}"),
	                 403);
	assert_string_equal(done_msg, "pods \"c\" is forbidden: exceeded quota: q, requested: "
	                              "pods=1, used: pods=2, limited: pods=2");
	client_delete(cl, client_kind("", "pods"), "q", "b", -1, NULL, NULL, NULL, NULL);
	assert_true(used_is("pods", "1"));
	assert_int_equal(try_make("", "pods", "q",
	                          "{\"metadata\":{\"name\":\"c\"},\"spec\":{\"containers\":[{"
	                          "\"name\":\"c\",\"image\":\"nginx\",\"resources\":{\"limits\":{"
	                          "\"cpu\":\"600m\",\"memory\":\"1Mi\"}}}]}}"),
	                 403);
	assert_string_equal(done_msg, "pods \"c\" is forbidden: exceeded quota: q, requested: "
	                              "requests.cpu=600m, used: requests.cpu=500m, limited: "
	                              "requests.cpu=1");
	/* A quota on cpu and memory wants every container to say what it uses. */
	assert_int_equal(try_make("", "pods", "q",
	                          "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"containers\":[{"
	                          "\"name\":\"web\",\"image\":\"nginx\"},{\"name\":\"side\","
	                          "\"image\":\"nginx\",\"resources\":{\"requests\":{\"cpu\":"
	                          "\"10m\"}}}]}}"),
	                 403);
	assert_string_equal(done_msg, "pods \"d\" is forbidden: failed quota: q: must specify "
	                              "limits.memory for: side,web; requests.cpu for: web");
	make("", "configmaps", "q", "{\"metadata\":{\"name\":\"c1\"}}");
	assert_int_equal(try_make("", "configmaps", "q", "{\"metadata\":{\"name\":\"c2\"}}"), 403);
	assert_string_equal(done_msg, "configmaps \"c2\" is forbidden: exceeded quota: q, "
	                              "requested: configmaps=1, used: configmaps=1, limited: "
	                              "configmaps=1");
	/* Other namespaces are not this quota's business. */
	make("", "configmaps", "default", "{\"metadata\":{\"name\":\"c2\"}}");
}

static void test_updates_that_grow_a_charge_are_checked(void **state)
{
	quota("{\"services.nodeports\":\"1\",\"services\":\"5\"}");
	assert_true(used_is("services.nodeports", "0"));
	make("", "services", "q",
	     "{\"metadata\":{\"name\":\"s\"},\"spec\":{\"ports\":[{\"name\":\"a\",\"port\":80},"
	     "{\"name\":\"b\",\"port\":81}]}}");
	/* Two node ports where one is allowed. */
	done_code = 0;
	client_merge_patch(cl, client_kind("", "services"), "q", "s", NULL,
	                   cJSON_Parse("{\"spec\":{\"type\":\"NodePort\"}}"), on_done, NULL);
	for (int i = 0; i < 200 && !done_code; i++)
		loop_run_once(lp, 5);
	assert_int_equal(done_code, 403);
	assert_string_equal(done_msg, "services \"s\" is forbidden: exceeded quota: q, requested: "
	                              "services.nodeports=2, used: services.nodeports=0, limited: "
	                              "services.nodeports=1");
	/* Changes that charge nothing more pass. */
	done_code = 0;
	client_merge_patch(cl, client_kind("", "services"), "q", "s", NULL,
	                   cJSON_Parse("{\"metadata\":{\"labels\":{\"x\":\"y\"}}}"), on_done, NULL);
	for (int i = 0; i < 200 && !done_code; i++)
		loop_run_once(lp, 5);
	assert_int_equal(done_code, 200);
}

static int created;
static void count_created(void *arg, int code, const char *msg, cJSON *obj)
{
	if (code == 201)
		created++;
	(*(int *)arg)--;
}

static void test_concurrent_creates_cannot_both_take_the_last_slot(void **state)
{
	quota("{\"count/secrets\":\"3\",\"secrets\":\"3\"}");
	assert_true(used_is("secrets", "0"));
	int pending = 6;
	created = 0;
	for (int i = 0; i < 6; i++) {
		char json[128];
		snprintf(json, sizeof(json), "{\"metadata\":{\"name\":\"s%d\"}}", i);
		client_create(cl, client_kind("", "secrets"), "q", cJSON_Parse(json), count_created,
		              &pending);
	}
	for (int i = 0; i < 300 && pending; i++)
		loop_run_once(lp, 5);
	assert_int_equal(pending, 0);
	assert_int_equal(created, 3);
	assert_true(used_is("secrets", "3"));
}

static void limitrange(void)
{
	make("", "namespaces", NULL, "{\"metadata\":{\"name\":\"lr\"}}");
	make("", "limitranges", "lr",
	     "{\"metadata\":{\"name\":\"lr\"},\"spec\":{\"limits\":[{\"type\":\"Container\","
	     "\"default\":{\"cpu\":\"500m\",\"memory\":\"256Mi\"},\"defaultRequest\":{\"cpu\":"
	     "\"100m\"},\"max\":{\"cpu\":\"1\"},\"min\":{\"cpu\":\"50m\"},"
	     "\"maxLimitRequestRatio\":{\"memory\":\"2\"}},{\"type\":\"PersistentVolumeClaim\","
	     "\"max\":{\"storage\":\"1Gi\"}}]}}");
}

static int try_pod(const char *ns, const char *name, const char *resources)
{
	char json[1024];
	snprintf(json, sizeof(json),
	         "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"containers\":[{\"name\":\"c\","
	         "\"image\":\"nginx\"%s%s}]}}",
	         name, resources ? ",\"resources\":" : "", resources ? resources : "");
	return try_make("", "pods", ns, json);
}

static void test_limit_ranges_default_and_bound_containers(void **state)
{
	limitrange();
	assert_int_equal(try_pod("lr", "plain", NULL), 201);
	const cJSON *p = done_obj;
	assert_string_equal(obj_get_str(p, "spec.containers[0].resources.requests.cpu"), "100m");
	assert_string_equal(obj_get_str(p, "spec.containers[0].resources.requests.memory"),
	                    "256Mi");
	assert_string_equal(obj_get_str(p, "spec.containers[0].resources.limits.cpu"), "500m");
	assert_string_equal(obj_get_str(p, "spec.containers[0].resources.limits.memory"), "256Mi");
	assert_string_equal(obj_get_str(p, "status.qosClass"), "Burstable");
	assert_string_equal(obj_get_str(p, "metadata.annotations.kubernetes\\.io/limit-ranger"),
	                    "LimitRanger plugin set: cpu, memory request for container c; cpu, "
	                    "memory limit for container c");
	/* What a container states is kept. */
	assert_int_equal(try_pod("lr", "own", "{\"limits\":{\"cpu\":\"800m\"}}"), 201);
	assert_string_equal(obj_get_str(done_obj, "spec.containers[0].resources.requests.cpu"),
	                    "800m");
	assert_int_equal(try_pod("lr", "big", "{\"limits\":{\"cpu\":\"2\"}}"), 403);
	assert_string_equal(done_msg, "pods \"big\" is forbidden: maximum cpu usage per Container "
	                              "is 1, but limit is 2");
	assert_int_equal(try_pod("lr", "tiny", "{\"requests\":{\"cpu\":\"10m\"}}"), 403);
	assert_string_equal(done_msg, "pods \"tiny\" is forbidden: minimum cpu usage per Container "
	                              "is 50m, but request is 10m");
	assert_int_equal(try_pod("lr", "ratio",
	                         "{\"requests\":{\"memory\":\"128Mi\",\"cpu\":\"2\"},\"limits\":{"
	                         "\"memory\":\"1Gi\"}}"),
	                 403);
	assert_string_equal(
	    done_msg, "pods \"ratio\" is forbidden: [maximum cpu usage per Container is 1, but "
	              "request is 2, memory max limit to request ratio per Container is 2, but "
	              "provided ratio is 8.000000]");
	/* A default limit below what the container requests makes an invalid pod. */
	assert_int_equal(try_pod("lr", "over", "{\"requests\":{\"memory\":\"300Mi\"}}"), 422);
	assert_string_equal(done_msg,
	                    "Pod \"over\" is invalid: "
	                    "spec.containers[0].resources.requests[memory]: Invalid value: "
	                    "\"300Mi\": must be less than or equal to memory limit of 256Mi");
	assert_int_equal(try_make("", "persistentvolumeclaims", "lr",
	                          "{\"metadata\":{\"name\":\"disk\"},\"spec\":{\"accessModes\":["
	                          "\"ReadWriteOnce\"],\"resources\":{\"requests\":{\"storage\":"
	                          "\"5Gi\"}}}}"),
	                 403);
	assert_string_equal(done_msg, "persistentvolumeclaims \"disk\" is forbidden: maximum "
	                              "storage usage per PersistentVolumeClaim is 1Gi, but request "
	                              "is 5Gi");
	/* Other namespaces have no limits. */
	assert_int_equal(try_pod("default", "free", "{\"limits\":{\"cpu\":\"2\"}}"), 201);
}

static void test_limit_range_defaults_satisfy_a_quota(void **state)
{
	limitrange();
	make("", "resourcequotas", "lr",
	     "{\"metadata\":{\"name\":\"q\"},\"spec\":{\"hard\":{\"limits.cpu\":\"1\","
	     "\"requests.memory\":\"1Gi\"}}}");
	/* Wait for the controller's first count. */
	for (int i = 0; i < 200; i++) {
		cJSON *q = client_get(cl, client_kind("", "resourcequotas"), "lr", "q");
		bool counted = obj_get(q, "status.used.limits\\.cpu") != NULL;
		cJSON_Delete(q);
		if (counted)
			break;
		loop_run_once(lp, 10);
	}
	assert_int_equal(try_pod("lr", "a", NULL), 201);
	assert_int_equal(try_pod("lr", "b", NULL), 201);
	assert_int_equal(try_pod("lr", "c", NULL), 403);
	assert_string_equal(done_msg, "pods \"c\" is forbidden: exceeded quota: q, requested: "
	                              "limits.cpu=500m, used: limits.cpu=1, limited: limits.cpu=1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_quota_usage_follows_what_the_namespace_holds,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_creates_over_the_quota_are_refused_with_upstreams_message, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_concurrent_creates_cannot_both_take_the_last_slot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_ranges_default_and_bound_containers,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_range_defaults_satisfy_a_quota, setup,
		                                teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	cJSON_Delete(done_obj);
	return rc;
}
