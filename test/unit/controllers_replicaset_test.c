/* controllers_replicaset_test: a ReplicaSet keeps its pod count, deletes the least valuable pods
 * first, adopts and releases, never double-creates, and reports failures. */
#include "test/unit/controllers-testlib.h"

static int setup(void **state)
{
	return tl_setup(CONTROLLERS_REPLICASET);
}

static int teardown(void **state)
{
	return tl_teardown();
}

static const char *rs_json(const char *name, int replicas)
{
	static char buf[1024];
	snprintf(buf, sizeof(buf),
	         "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"replicas\":%d,"
	         "\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},"
	         "\"template\":{\"metadata\":{\"labels\":{\"app\":\"%s\",\"tier\":\"fe\"}},"
	         "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}}",
	         name, replicas, name, name);
	return buf;
}

struct want {
	const char *ns, *app;
	int n;
};

static bool pods_are(void *arg)
{
	struct want *w = arg;
	return count_pods(w->ns, "app", w->app, false) == w->n;
}

static bool rs_status_is(void *arg)
{
	struct want *w = arg;
	return get_int(K("apps", "replicasets"), w->ns, w->app, "status.replicas") == w->n &&
	       get_int(K("apps", "replicasets"), w->ns, w->app, "status.observedGeneration") ==
	           get_int(K("apps", "replicasets"), w->ns, w->app, "metadata.generation");
}

static void scale(const char *ns, const char *name, int n)
{
	assert_int_equal(patch(K("apps", "replicasets"), ns, name, NULL,
	                       jsonf("{\"spec\":{\"replicas\":%d}}", n)),
	                 200);
}

static cJSON *pods_of(const char *ns, const char *app)
{
	cJSON *all = list(K("", "pods"), ns), *out = cJSON_CreateArray(), *p;
	cJSON_ArrayForEach(p, all)
	{
		if (has_label(p, "app", app) && !obj_get(p, "metadata.deletionTimestamp"))
			cJSON_AddItemToArray(out, cJSON_Duplicate(p, true));
	}
	cJSON_Delete(all);
	return out;
}

static void test_scale_1_5_2_deletes_the_least_valuable_pods(void **state)
{
	make_node("n1", NULL, NULL);
	assert_int_equal(
	    create(K("apps", "replicasets"), "default", jsonf("%s", rs_json("web", 1))), 201);
	struct want w1 = { "default", "web", 1 };
	assert_true(spin_until(pods_are, &w1, 3000));
	cJSON *pods = pods_of("default", "web");
	cJSON *p0 = cJSON_GetArrayItem(pods, 0);
	const cJSON *ref = cJSON_GetArrayItem(obj_get(p0, "metadata.ownerReferences"), 0);
	assert_string_equal(str_at(ref, "kind"), "ReplicaSet");
	assert_string_equal(str_at(ref, "name"), "web");
	assert_true(cJSON_IsTrue(obj_child(ref, "controller")));
	assert_true(cJSON_IsTrue(obj_child(ref, "blockOwnerDeletion")));
	assert_true(str_has_prefix(str_at(p0, "metadata.name"), "web-"));
	cJSON_Delete(pods);

	scale("default", "web", 5);
	struct want w5 = { "default", "web", 5 };
	assert_true(spin_until(pods_are, &w5, 3000));
	assert_true(spin_until(rs_status_is, &w5, 3000));
	/* Two pods run and are ready, one runs unready, two are not even scheduled. */
	pods = pods_of("default", "web");
	char keep[2][64];
	for (int i = 0; i < 3; i++) {
		const char *name = str_at(cJSON_GetArrayItem(pods, i), "metadata.name");
		bind("default", name, "n1");
		set_ready("default", name, i < 2);
		if (i < 2)
			snprintf(keep[i], sizeof(keep[i]), "%s", name);
	}
	cJSON_Delete(pods);
	spin(50);

	scale("default", "web", 2);
	struct want w2 = { "default", "web", 2 };
	assert_true(spin_until(pods_are, &w2, 3000));
	pods = pods_of("default", "web");
	cJSON *p;
	cJSON_ArrayForEach(p, pods)
	{
		const char *name = str_at(p, "metadata.name");
		assert_true(!strcmp(name, keep[0]) || !strcmp(name, keep[1]));
	}
	cJSON_Delete(pods);
	/* The bound, unready pod waits for its kubelet; once gone, the status settles. */
	assert_int_equal(finish_deletions("default"), 1);
	assert_true(spin_until(rs_status_is, &w2, 3000));
	assert_int_equal(
	    get_int(K("apps", "replicasets"), "default", "web", "status.readyReplicas"), 2);
	assert_int_equal(
	    get_int(K("apps", "replicasets"), "default", "web", "status.fullyLabeledReplicas"), 2);
	expect_events("default", "web", "SuccessfulCreate", 5);
	expect_events("default", "web", "SuccessfulDelete", 3);
}

static void test_orphans_are_adopted_and_pods_that_stop_matching_are_released(void **state)
{
	cJSON *orphan =
	    jsonf("{\"metadata\":{\"name\":\"stray\",\"labels\":{\"app\":\"api\"}},"
	          "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}");
	assert_int_equal(create(K("", "pods"), "default", orphan), 201);
	assert_int_equal(
	    create(K("apps", "replicasets"), "default", jsonf("%s", rs_json("api", 2))), 201);
	struct want w2 = { "default", "api", 2 };
	assert_true(spin_until(pods_are, &w2, 3000));
	spin(100);
	assert_int_equal(count_pods("default", "app", "api", false), 2);
	cJSON *stray = get(K("", "pods"), "default", "stray");
	assert_string_equal(str_at(stray, "metadata.ownerReferences[0].name"), "api");
	cJSON_Delete(stray);

	/* Relabelled out of the selector: released, and replaced. */
	assert_int_equal(patch(K("", "pods"), "default", "stray", NULL,
	                       jsonf("{\"metadata\":{\"labels\":{\"app\":\"other\"}}}")),
	                 200);
	assert_true(spin_until(pods_are, &w2, 3000));
	spin(100);
	stray = get(K("", "pods"), "default", "stray");
	assert_null(obj_get(stray, "metadata.ownerReferences[0]"));
	cJSON_Delete(stray);
	assert_int_equal(count_pods("default", "app", "api", false), 2);
}

static void test_a_deleted_pod_is_recreated(void **state)
{
	assert_int_equal(create(K("apps", "replicasets"), "default", jsonf("%s", rs_json("db", 2))),
	                 201);
	struct want w2 = { "default", "db", 2 };
	assert_true(spin_until(pods_are, &w2, 3000));
	cJSON *pods = pods_of("default", "db");
	char gone[64];
	snprintf(gone, sizeof(gone), "%s", str_at(cJSON_GetArrayItem(pods, 0), "metadata.name"));
	cJSON_Delete(pods);
	assert_int_equal(del(K("", "pods"), "default", gone, -1), 200);
	assert_true(spin_until(pods_are, &w2, 3000));
	cJSON *p = get(K("", "pods"), "default", gone);
	assert_null(p);
}

struct flood {
	int rounds;
};

static void test_resyncs_while_creates_are_in_flight_never_double_create(void **state)
{
	assert_int_equal(
	    create(K("apps", "replicasets"), "default", jsonf("%s", rs_json("burst", 40))), 201);
	/* Prod the controller while it is creating: expectations keep it from counting again. */
	for (int i = 0; i < 40; i++) {
		controllers_workloads_resync(wl);
		loop_run_once(lp, 1);
	}
	struct want w = { "default", "burst", 40 };
	assert_true(spin_until(pods_are, &w, 5000));
	spin(200);
	assert_int_equal(count_pods("default", "app", "burst", true), 40);
	assert_true(spin_until(rs_status_is, &w, 3000));
}

static bool has_failure(void *arg)
{
	cJSON *rs = get(K("apps", "replicasets"), "doomed", "web");
	const cJSON *c;
	bool found = false;
	cJSON_ArrayForEach(c, obj_get(rs, "status.conditions"))
	{
		if (!strcmp(str_at(c, "type"), "ReplicaFailure") &&
		    !strcmp(str_at(c, "status"), "True") &&
		    !strcmp(str_at(c, "reason"), "FailedCreate"))
			found = true;
	}
	cJSON_Delete(rs);
	return found;
}

static void test_failed_creates_show_a_replica_failure_condition(void **state)
{
	assert_int_equal(
	    create(K("", "namespaces"), NULL, jsonf("{\"metadata\":{\"name\":\"doomed\"}}")), 201);
	assert_int_equal(create(K("apps", "replicasets"), "doomed", jsonf("%s", rs_json("web", 0))),
	                 201);
	spin(50);
	/* A terminating namespace refuses new pods. */
	assert_int_equal(del(K("", "namespaces"), NULL, "doomed", -1), 200);
	scale("doomed", "web", 3);
	assert_true(spin_until(has_failure, NULL, 3000));
	assert_true(count_events("doomed", "web", "FailedCreate") >= 1);
	assert_int_equal(count_pods("doomed", NULL, NULL, true), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scale_1_5_2_deletes_the_least_valuable_pods,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_orphans_are_adopted_and_pods_that_stop_matching_are_released, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_a_deleted_pod_is_recreated, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_resyncs_while_creates_are_in_flight_never_double_create, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_failed_creates_show_a_replica_failure_condition, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
