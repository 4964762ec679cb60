/* controllers_daemonset_test: one daemon pod per eligible node (selectors, taints, new nodes),
 * an evicted daemon pod comes back only on its own node, rolling updates node by node, history
 * for rollout undo, and OnDelete. */
#include "test/unit/controllers-testlib.h"

static int setup(void **state)
{
	return tl_setup(CONTROLLERS_DAEMONSET);
}

static int teardown(void **state)
{
	return tl_teardown();
}

static const struct reg_kind *DSK(void)
{
	return K("apps", "daemonsets");
}

static void make_ds(const char *name, const char *image, const char *spec_extra,
                    const char *pod_extra)
{
	cJSON *ds = jsonf("{\"metadata\":{\"name\":\"%s\"},\"spec\":{"
	                  "\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},%s"
	                  "\"template\":{\"metadata\":{\"labels\":{\"app\":\"%s\"}},"
	                  "\"spec\":{%s\"containers\":[{\"name\":\"c\",\"image\":\"%s\"}]}}}}",
	                  name, name, spec_extra ? spec_extra : "", name,
	                  pod_extra ? pod_extra : "", image);
	assert_int_equal(create(DSK(), "default", ds), 201);
}

/* The node a pod is pinned to by its required node affinity. */
static const char *pinned_node(const cJSON *pod)
{
	return str_at(pod, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuring"
	                   "Execution.nodeSelectorTerms[0].matchFields[0].values[0]");
}

/* The pretend scheduler and kubelets: bind pods where they are pinned, make them ready, end
 * deletions. */
static void nodes_step(bool ready)
{
	cJSON *pods = list(K("", "pods"), "default"), *p;
	cJSON_ArrayForEach(p, pods)
	{
		const char *name = str_at(p, "metadata.name");
		if (obj_get(p, "metadata.deletionTimestamp")) {
			del(K("", "pods"), "default", name, 0);
			continue;
		}
		if (!*str_at(p, "spec.nodeName"))
			bind("default", name, pinned_node(p));
		if (ready && strcmp(str_at(p, "status.phase"), "Running"))
			set_ready("default", name, true);
	}
	cJSON_Delete(pods);
}

/* Live pods of app per node, as "n1=1,n2=1," (nodes by name order). */
static void per_node(const char *app, char *out, size_t n)
{
	static const char *const nodes[] = { "n1", "n2", "n3", "n4", "n5" };
	cJSON *pods = list(K("", "pods"), "default");
	out[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		int c = 0;
		const cJSON *p;
		cJSON_ArrayForEach(p, pods)
		{
			const char *node = *str_at(p, "spec.nodeName") ? str_at(p, "spec.nodeName")
			                                               : pinned_node(p);
			if (has_label(p, "app", app) && !obj_get(p, "metadata.deletionTimestamp") &&
			    !strcmp(node, nodes[i]))
				c++;
		}
		if (c) {
			size_t l = strlen(out);
			snprintf(out + l, n - l, "%s=%d,", nodes[i], c);
		}
	}
	cJSON_Delete(pods);
}

struct layout {
	const char *app, *want;
};

static bool layout_is(void *arg)
{
	struct layout *l = arg;
	char got[256];
	per_node(l->app, got, sizeof(got));
	return !strcmp(got, l->want);
}

static void expect_layout(const char *app, const char *want)
{
	struct layout l = { app, want };
	if (!spin_until(layout_is, &l, 3000)) {
		char got[256];
		per_node(app, got, sizeof(got));
		fail_msg("pods of %s per node: %s, want %s", app, got, want);
	}
}

static void test_one_pod_per_eligible_node_and_new_nodes_get_theirs(void **state)
{
	make_node("n1", "{\"role\":\"edge\"}", NULL);
	make_node("n2", "{\"role\":\"edge\"}",
	          "[{\"key\":\"dedicated\",\"value\":\"db\",\"effect\":\"NoSchedule\"}]");
	make_node("n3", "{\"role\":\"core\"}", NULL);
	/* Not ready: upstream's default daemon tolerations cover it. */
	make_node("n4", "{\"role\":\"edge\"}",
	          "[{\"key\":\"node.kubernetes.io/not-ready\",\"effect\":\"NoExecute\"}]");
	make_ds("agent", "agent:1", NULL, "\"nodeSelector\":{\"role\":\"edge\"},");
	expect_layout("agent", "n1=1,n4=1,");
	cJSON *pods = list(K("", "pods"), "default"), *p;
	cJSON_ArrayForEach(p, pods)
	{
		assert_string_equal(str_at(p, "metadata.ownerReferences[0].kind"), "DaemonSet");
		assert_true(*str_at(p, "metadata.labels.controller-revision-hash"));
		assert_string_equal(
		    str_at(p, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuring"
		              "Execution.nodeSelectorTerms[0].matchFields[0].key"),
		    "metadata.name");
		bool tolerates_unschedulable = false;
		const cJSON *t;
		cJSON_ArrayForEach(t, obj_get(p, "spec.tolerations"))
		{
			tolerates_unschedulable |=
			    !strcmp(str_at(t, "key"), "node.kubernetes.io/unschedulable");
		}
		assert_true(tolerates_unschedulable);
	}
	cJSON_Delete(pods);
	/* A node joins. */
	make_node("n5", "{\"role\":\"edge\"}", NULL);
	expect_layout("agent", "n1=1,n4=1,n5=1,");
	nodes_step(true);
	spin(100);
	cJSON *ds = get(DSK(), "default", "agent");
	assert_int_equal((int)obj_get(ds, "status.desiredNumberScheduled")->valuedouble, 3);
	cJSON_Delete(ds);
	/* A node leaves the selector: its pod goes. */
	assert_int_equal(patch(K("", "nodes"), NULL, "n5", NULL,
	                       jsonf("{\"metadata\":{\"labels\":{\"role\":\"core\"}}}")),
	                 200);
	expect_layout("agent", "n1=1,n4=1,");
}

static void test_an_evicted_daemon_pod_is_not_recreated_elsewhere(void **state)
{
	make_node("n1", NULL, NULL);
	make_node("n2", NULL, NULL);
	make_ds("logs", "logs:1", NULL, NULL);
	expect_layout("logs", "n1=1,n2=1,");
	nodes_step(true);
	spin(100);
	cJSON *pods = list(K("", "pods"), "default"), *p, *victim = NULL;
	cJSON_ArrayForEach(p, pods)
	{
		if (!strcmp(str_at(p, "spec.nodeName"), "n1"))
			victim = p;
	}
	assert_non_null(victim);
	char name[64];
	snprintf(name, sizeof(name), "%s", str_at(victim, "metadata.name"));
	cJSON_Delete(pods);
	struct result r = { 0 };
	client_evict(cl, "default", name, on_result, &r);
	assert_true(spin_until(result_done, &r, 2000));
	assert_int_equal(r.code, 200);
	/* While it terminates nothing replaces it, on n1 or anywhere else. */
	spin(300);
	expect_layout("logs", "n2=1,");
	assert_int_equal(count_pods("default", "app", "logs", true), 2);
	/* Gone: a new one comes, on n1 again. */
	del(K("", "pods"), "default", name, 0);
	expect_layout("logs", "n1=1,n2=1,");
	/* A NoExecute taint the daemon does not tolerate drives it off n1 for good. */
	nodes_step(true);
	assert_int_equal(
	    patch(K("", "nodes"), NULL, "n1", NULL,
	          jsonf("{\"spec\":{\"taints\":[{\"key\":\"broken\",\"effect\":\"NoExecute\"}]}}")),
	    200);
	expect_layout("logs", "n2=1,");
	nodes_step(true);
	spin(300);
	expect_layout("logs", "n2=1,");
	assert_int_equal(count_pods("default", "app", "logs", true), 1);
}

static int updated_available(const char *app, const char *image, int *unavailable_nodes)
{
	cJSON *pods = list(K("", "pods"), "default"), *p;
	int n = 0, ready_nodes = 0;
	cJSON_ArrayForEach(p, pods)
	{
		if (!has_label(p, "app", app) || obj_get(p, "metadata.deletionTimestamp"))
			continue;
		bool ready = !strcmp(str_at(p, "status.phase"), "Running");
		ready_nodes += ready;
		if (ready && !strcmp(str_at(p, "spec.containers[0].image"), image))
			n++;
	}
	cJSON_Delete(pods);
	*unavailable_nodes = 3 - ready_nodes;
	return n;
}

static cJSON *revisions_of(const char *app)
{
	cJSON *all = list(K("apps", "controllerrevisions"), "default"), *out = cJSON_CreateArray();
	cJSON *cr;
	cJSON_ArrayForEach(cr, all)
	{
		if (has_label(cr, "app", app))
			cJSON_AddItemToArray(out, cJSON_Duplicate(cr, true));
	}
	cJSON_Delete(all);
	return out;
}

static void set_ds_image(const char *name, const char *image)
{
	assert_int_equal(patch(DSK(), "default", name, NULL,
	                       jsonf("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":"
	                             "\"c\",\"image\":\"%s\"}]}}}}",
	                             image)),
	                 200);
}

static bool ds_rolled_out(void *arg)
{
	cJSON *ds = get(DSK(), "default", arg);
	int64_t gen = 0, og = 0, want = 0, up = 0, av = 0;
	obj_get_i64(ds, "metadata.generation", &gen);
	obj_get_i64(ds, "status.observedGeneration", &og);
	obj_get_i64(ds, "status.desiredNumberScheduled", &want);
	obj_get_i64(ds, "status.updatedNumberScheduled", &up);
	obj_get_i64(ds, "status.numberAvailable", &av);
	cJSON_Delete(ds);
	return og >= gen && up == want && av == want && want > 0;
}

static void test_a_rolling_update_goes_node_by_node_and_can_be_undone(void **state)
{
	make_node("n1", NULL, NULL);
	make_node("n2", NULL, NULL);
	make_node("n3", NULL, NULL);
	make_ds("net", "net:1", NULL, NULL);
	expect_layout("net", "n1=1,n2=1,n3=1,");
	nodes_step(true);
	assert_true(spin_until(ds_rolled_out, "net", 3000));
	set_ds_image("net", "net:2");
	int worst = 0, unavail;
	bool done = false;
	for (int i = 0; i < 200 && !done; i++) {
		nodes_step(true);
		for (int k = 0; k < 10; k++) {
			loop_run_once(lp, 2);
			updated_available("net", "net:2", &unavail);
			worst = MAX(worst, unavail);
		}
		done = ds_rolled_out("net") && updated_available("net", "net:2", &unavail) == 3;
	}
	assert_true(done);
	print_message("worst unavailable nodes: %d\n", worst);
	assert_true(worst <= 1); /* maxUnavailable: 1 (the default) */
	cJSON *revs = revisions_of("net"), *cr, *rev1 = NULL;
	assert_int_equal(cJSON_GetArraySize(revs), 2);
	cJSON_ArrayForEach(cr, revs)
	{
		if ((int)obj_get(cr, "revision")->valuedouble == 1)
			rev1 = cr;
	}
	assert_non_null(rev1);
	assert_string_equal(str_at(rev1, "metadata.ownerReferences[0].kind"), "DaemonSet");
	assert_string_equal(str_at(rev1, "data.spec.template.$patch"), "replace");
	/* kubectl rollout undo daemonset: revision 1's data as a strategic merge patch. */
	cJSON *ds = get(DSK(), "default", "net"), *out = NULL;
	struct err e = { 0 };
	assert_int_equal(
	    patch_strategic(ds, obj_get(rev1, "data"), schema_for_object(ds), &out, &e), 0);
	obj_delete(out, "metadata.resourceVersion");
	struct result r = { 0 };
	client_update(cl, DSK(), "default", "net", NULL, out, on_result, &r);
	assert_true(spin_until(result_done, &r, 2000));
	assert_int_equal(r.code, 200);
	cJSON_Delete(ds);
	char hash1[32];
	snprintf(hash1, sizeof(hash1), "%s",
	         str_at(rev1, "metadata.labels.controller-revision-hash"));
	cJSON_Delete(revs);
	done = false;
	for (int i = 0; i < 200 && !done; i++) {
		nodes_step(true);
		spin(20);
		done = ds_rolled_out("net") && updated_available("net", "net:1", &unavail) == 3;
	}
	assert_true(done);
	revs = revisions_of("net");
	assert_int_equal(cJSON_GetArraySize(revs), 2);
	cJSON_ArrayForEach(cr, revs)
	{
		if (!strcmp(str_at(cr, "metadata.labels.controller-revision-hash"), hash1))
			assert_int_equal((int)obj_get(cr, "revision")->valuedouble, 3);
	}
	cJSON_Delete(revs);
}

static void test_on_delete_replaces_only_pods_that_are_deleted(void **state)
{
	make_node("n1", NULL, NULL);
	make_node("n2", NULL, NULL);
	make_ds("od", "od:1", "\"updateStrategy\":{\"type\":\"OnDelete\"},", NULL);
	expect_layout("od", "n1=1,n2=1,");
	nodes_step(true);
	assert_true(spin_until(ds_rolled_out, "od", 3000));
	set_ds_image("od", "od:2");
	spin(300);
	int unavail;
	assert_int_equal(updated_available("od", "od:2", &unavail), 0);
	cJSON *pods = list(K("", "pods"), "default");
	char name[64];
	snprintf(name, sizeof(name), "%s", str_at(cJSON_GetArrayItem(pods, 0), "metadata.name"));
	cJSON_Delete(pods);
	del(K("", "pods"), "default", name, 0);
	expect_layout("od", "n1=1,n2=1,");
	nodes_step(true);
	spin(100);
	assert_int_equal(updated_available("od", "od:2", &unavail), 1);
	assert_int_equal(updated_available("od", "od:1", &unavail), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_one_pod_per_eligible_node_and_new_nodes_get_theirs, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_an_evicted_daemon_pod_is_not_recreated_elsewhere, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_rolling_update_goes_node_by_node_and_can_be_undone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_on_delete_replaces_only_pods_that_are_deleted,
		                                setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
