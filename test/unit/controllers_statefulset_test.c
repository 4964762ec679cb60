/* controllers_statefulset_test: stable names and claims, OrderedReady creation and reverse
 * deletion, Parallel, rolling updates by ordinal with a partition, OnDelete, and an evicted
 * pod coming back under its own name. */
#include "test/unit/controllers-testlib.h"

static int setup(void **state)
{
	if (tl_setup(CONTROLLERS_STATEFULSET) < 0)
		return -1;
	make_node("n1", NULL, NULL);
	return 0;
}

static int teardown(void **state)
{
	return tl_teardown();
}

static const struct reg_kind *SK(void)
{
	return K("apps", "statefulsets");
}

static void make_sts(const char *name, int replicas, const char *image, const char *extra)
{
	cJSON *s = jsonf(
	    "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"replicas\":%d,\"serviceName\":\"%s\","
	    "\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},%s"
	    "\"template\":{\"metadata\":{\"labels\":{\"app\":\"%s\"}},"
	    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"%s\"}]}},"
	    "\"volumeClaimTemplates\":[{\"metadata\":{\"name\":\"data\"},\"spec\":{"
	    "\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}"
	    "}}]"
	    "}}",
	    name, replicas, name, name, extra ? extra : "", name, image);
	assert_int_equal(create(SK(), "default", s), 201);
}

/* Pods of app that exist (and are not being deleted), as "web-0,web-1," in ordinal order. */
static void names(const char *app, char *out, size_t n)
{
	cJSON *pods = list(K("", "pods"), "default");
	out[0] = '\0';
	for (int ord = 0; ord < 10; ord++) {
		char want[64];
		snprintf(want, sizeof(want), "%s-%d", app, ord);
		const cJSON *p;
		cJSON_ArrayForEach(p, pods)
		{
			if (!strcmp(str_at(p, "metadata.name"), want) &&
			    !obj_get(p, "metadata.deletionTimestamp")) {
				size_t l = strlen(out);
				snprintf(out + l, n - l, "%s,", want);
			}
		}
	}
	cJSON_Delete(pods);
}

struct names_want {
	const char *app, *want;
};

static bool names_are(void *arg)
{
	struct names_want *w = arg;
	char got[256];
	names(w->app, got, sizeof(got));
	return !strcmp(got, w->want);
}

static void expect_names(const char *app, const char *want)
{
	struct names_want w = { app, want };
	if (!spin_until(names_are, &w, 3000)) {
		char got[256];
		names(app, got, sizeof(got));
		fail_msg("pods of %s: %s, want %s", app, got, want);
	}
	spin(100);
	char got[256];
	names(app, got, sizeof(got));
	if (strcmp(got, want))
		fail_msg("pods of %s went on to %s, want %s", app, got, want);
}

/* The pretend kubelet for one pod: bound to n1, Running and Ready. */
static void run_pod(const char *name)
{
	cJSON *p = get(K("", "pods"), "default", name);
	assert_non_null(p);
	if (!*str_at(p, "spec.nodeName"))
		bind("default", name, "n1");
	cJSON_Delete(p);
	set_ready("default", name, true);
}

static void test_ordered_ready_creates_in_order_with_stable_names_and_claims(void **state)
{
	make_sts("web", 3, "web:1", NULL);
	expect_names("web", "web-0,");
	cJSON *p = get(K("", "pods"), "default", "web-0");
	assert_string_equal(str_at(p, "metadata.labels.statefulset\\.kubernetes\\.io/pod-name"),
	                    "web-0");
	assert_string_equal(str_at(p, "metadata.labels.apps\\.kubernetes\\.io/pod-index"), "0");
	assert_true(str_has_prefix(str_at(p, "metadata.labels.controller-revision-hash"), "web-"));
	assert_string_equal(str_at(p, "spec.hostname"), "web-0");
	assert_string_equal(str_at(p, "spec.subdomain"), "web");
	assert_string_equal(str_at(p, "spec.volumes[0].persistentVolumeClaim.claimName"),
	                    "data-web-0");
	assert_string_equal(str_at(p, "metadata.ownerReferences[0].kind"), "StatefulSet");
	cJSON_Delete(p);
	cJSON *pvc = get(K("", "persistentvolumeclaims"), "default", "data-web-0");
	assert_non_null(pvc);
	assert_string_equal(str_at(pvc, "metadata.labels.app"), "web");
	assert_string_equal(str_at(pvc, "spec.resources.requests.storage"), "1Gi");
	cJSON_Delete(pvc);
	/* web-1 waits for web-0 to run and be ready. */
	run_pod("web-0");
	expect_names("web", "web-0,web-1,");
	run_pod("web-1");
	expect_names("web", "web-0,web-1,web-2,");
	run_pod("web-2");
	spin(100);
	cJSON *s = get(SK(), "default", "web");
	assert_int_equal((int)obj_get(s, "status.readyReplicas")->valuedouble, 3);
	assert_int_equal((int)obj_get(s, "status.replicas")->valuedouble, 3);
	assert_string_equal(str_at(s, "status.currentRevision"),
	                    str_at(s, "status.updateRevision"));
	cJSON_Delete(s);
	expect_events("default", "web", "SuccessfulCreate", 6); /* pods, claims */

	/* Scale down: the highest ordinal goes first, the next only once it is gone. */
	assert_int_equal(patch(SK(), "default", "web", NULL, jsonf("{\"spec\":{\"replicas\":1}}")),
	                 200);
	expect_names("web", "web-0,web-1,");
	p = get(K("", "pods"), "default", "web-2"); /* still terminating */
	assert_non_null(p);
	cJSON_Delete(p);
	finish_deletions("default");
	expect_names("web", "web-0,");
	finish_deletions("default");
	spin(100);
	/* Claims stay (whenScaled: Retain). */
	pvc = get(K("", "persistentvolumeclaims"), "default", "data-web-2");
	assert_non_null(pvc);
	cJSON_Delete(pvc);
}

static void test_parallel_creates_all_at_once(void **state)
{
	make_sts("par", 3, "par:1", "\"podManagementPolicy\":\"Parallel\",");
	expect_names("par", "par-0,par-1,par-2,");
}

static void test_rolling_update_goes_from_the_top_and_stops_at_the_partition(void **state)
{
	make_sts("db", 3, "db:1", NULL);
	for (int i = 0; i < 3; i++) {
		char n[16];
		snprintf(n, sizeof(n), "db-%d", i);
		char want[64] = "";
		for (int k = 0; k <= i; k++) {
			size_t l = strlen(want);
			snprintf(want + l, sizeof(want) - l, "db-%d,", k);
		}
		expect_names("db", want);
		run_pod(n);
	}
	spin(100);
	cJSON *s = get(SK(), "default", "db");
	char rev1[64];
	snprintf(rev1, sizeof(rev1), "%s", str_at(s, "status.currentRevision"));
	cJSON_Delete(s);
	assert_int_equal(
	    patch(SK(), "default", "db", NULL,
	          jsonf("{\"spec\":{\"updateStrategy\":{\"rollingUpdate\":{\"partition\":1}},"
	                "\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
	                "\"db:2\"}]}}}}")),
	    200);
	/* db-2 goes first and comes back with the new revision. */
	expect_names("db", "db-0,db-1,");
	finish_deletions("default");
	expect_names("db", "db-0,db-1,db-2,");
	cJSON *p = get(K("", "pods"), "default", "db-2");
	assert_string_equal(str_at(p, "spec.containers[0].image"), "db:2");
	assert_string_not_equal(str_at(p, "metadata.labels.controller-revision-hash"), rev1);
	cJSON_Delete(p);
	run_pod("db-2");
	/* Then db-1 (above the partition), never db-0. */
	expect_names("db", "db-0,db-2,");
	finish_deletions("default");
	expect_names("db", "db-0,db-1,db-2,");
	run_pod("db-1");
	spin(300);
	expect_names("db", "db-0,db-1,db-2,");
	p = get(K("", "pods"), "default", "db-0");
	assert_string_equal(str_at(p, "spec.containers[0].image"), "db:1");
	cJSON_Delete(p);
	s = get(SK(), "default", "db");
	assert_int_equal((int)obj_get(s, "status.updatedReplicas")->valuedouble, 2);
	assert_int_equal((int)obj_get(s, "status.currentReplicas")->valuedouble, 1);
	assert_string_equal(str_at(s, "status.currentRevision"), rev1);
	cJSON_Delete(s);
	cJSON *revs = list(K("apps", "controllerrevisions"), "default");
	assert_int_equal(cJSON_GetArraySize(revs), 2);
	cJSON_Delete(revs);
}

static void test_on_delete_and_an_evicted_pod_comes_back_under_its_name(void **state)
{
	make_sts("od", 2, "od:1",
	         "\"updateStrategy\":{\"type\":\"OnDelete\"},"
	         "\"persistentVolumeClaimRetentionPolicy\":{\"whenScaled\":\"Delete\"},");
	expect_names("od", "od-0,");
	run_pod("od-0");
	expect_names("od", "od-0,od-1,");
	run_pod("od-1");
	assert_int_equal(patch(SK(), "default", "od", NULL,
	                       jsonf("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":"
	                             "\"c\",\"image\":\"od:2\"}]}}}}")),
	                 200);
	spin(300);
	expect_names("od", "od-0,od-1,");
	/* Evicted (a graceful delete), then gone: it returns, with the new template. */
	struct result r = { 0 };
	client_evict(cl, "default", "od-1", on_result, &r);
	assert_true(spin_until(result_done, &r, 2000));
	expect_names("od", "od-0,");
	finish_deletions("default");
	expect_names("od", "od-0,od-1,");
	cJSON *p = get(K("", "pods"), "default", "od-1");
	assert_string_equal(str_at(p, "spec.containers[0].image"), "od:2");
	cJSON_Delete(p);
	p = get(K("", "pods"), "default", "od-0");
	assert_string_equal(str_at(p, "spec.containers[0].image"), "od:1");
	cJSON_Delete(p);
	/* whenScaled: Delete hands a condemned pod's claim to the pod. */
	run_pod("od-1");
	assert_int_equal(patch(SK(), "default", "od", NULL, jsonf("{\"spec\":{\"replicas\":1}}")),
	                 200);
	expect_names("od", "od-0,");
	cJSON *pvc = get(K("", "persistentvolumeclaims"), "default", "data-od-1");
	assert_string_equal(str_at(pvc, "metadata.ownerReferences[0].kind"), "Pod");
	assert_string_equal(str_at(pvc, "metadata.ownerReferences[0].name"), "od-1");
	cJSON_Delete(pvc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_ordered_ready_creates_in_order_with_stable_names_and_claims, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_parallel_creates_all_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_rolling_update_goes_from_the_top_and_stops_at_the_partition, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_on_delete_and_an_evicted_pod_comes_back_under_its_name, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
