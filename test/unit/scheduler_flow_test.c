/* scheduler_flow_test: the scheduler at work on a real store with simulated nodes: bindings,
 * what an unschedulable pod is told, retries when the cluster changes, and the seed's table of
 * rescheduling cases. */
#include "test/unit/sched-testlib.h"

static int count_events(const char *ns, const char *pod, const char *reason, char *msg,
                        size_t msglen)
{
	struct api_target t = { client_kind("", "events"), ns, NULL, NULL };
	struct api_list_opts o = { 0 };
	struct api_status s = { 0 };
	struct buf b = { 0 };
	int n = 0;
	assert_int_equal(api_list(api, &t, &o, &b, &s), 0);
	cJSON *list = cJSON_Parse(b.data);
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(list, "items"))
	{
		const char *name = obj_get_str(it, "involvedObject.name");
		const char *r = obj_get_str(it, "reason");
		if (name && r && !strcmp(name, pod) && !strcmp(r, reason)) {
			n++;
			if (msg)
				snprintf(msg, msglen, "%s", obj_get_str(it, "message"));
		}
	}
	cJSON_Delete(list);
	buf_free(&b);
	api_status_clear(&s);
	return n;
}

/* Replaces a node's spec and labels, then its status (a subresource of its own). */
static void set_node(const char *name, cJSON *node)
{
	cJSON *status = cJSON_Duplicate(node, true);
	last_code = 0;
	client_update(cl, client_kind("", "nodes"), NULL, name, NULL, node, on_done, NULL);
	assert_true(spin_until(last_code != 0, 2000));
	assert_int_equal(last_code, 200);
	last_code = 0;
	client_update(cl, client_kind("", "nodes"), NULL, name, "status", status, on_done, NULL);
	assert_true(spin_until(last_code != 0, 2000));
	assert_int_equal(last_code, 200);
}

static void delete_pod(const char *ns, const char *name)
{
	last_code = 0;
	client_delete(cl, client_kind("", "pods"), ns, name, 0, NULL, NULL, on_done, NULL);
	assert_true(spin_until(last_code != 0, 2000));
}

static void test_a_pending_pod_is_bound_with_its_condition_and_event(void **state)
{
	add_node("n1", "2", "4Gi", 110, NULL, NULL, "True");
	add_pod("default", "web", "500m", "256Mi", NULL, NULL);
	assert_true(spin_until(bound("default", "web"), 2000));
	assert_string_equal(node_of("default", "web"), "n1");
	assert_string_equal(scheduled_cond("default", "web", "status"), "True");
	char msg[512];
	assert_true(
	    spin_until(count_events("default", "web", "Scheduled", msg, sizeof(msg)) == 1, 1000));
	assert_string_equal(msg, "Successfully assigned default/web to n1");
	struct scheduler_stats s;
	scheduler_get_stats(sch, &s);
	assert_int_equal(s.bound, 1);
	assert_int_equal(s.nodes, 1);
}

static void test_unschedulable_pod_is_told_why_as_upstream_words_it(void **state)
{
	add_node("gpu", "4", "8Gi", 110, NULL,
	         "[{'key':'dedicated','value':'gpu','effect':'NoSchedule'}]", "True");
	add_node("small-1", "500m", "8Gi", 110, NULL, NULL, "True");
	add_node("small-2", "500m", "8Gi", 110, NULL, NULL, "True");
	add_pod("default", "big", "1", NULL, NULL, NULL);
	const char *want = "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: "
	                   "gpu}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 "
	                   "Preemption is not helpful for scheduling.";
	assert_true(spin_until(!strcmp(scheduled_cond("default", "big", "message"), want), 2000));
	assert_string_equal(scheduled_cond("default", "big", "status"), "False");
	assert_string_equal(scheduled_cond("default", "big", "reason"), "Unschedulable");
	char msg[512];
	assert_true(spin_until(
	    count_events("default", "big", "FailedScheduling", msg, sizeof(msg)) == 1, 1000));
	assert_string_equal(msg, want);
	assert_false(bound("default", "big"));
	/* A pod that may not preempt is told so. */
	add_pod("default", "meek", "1", NULL, NULL, "{'preemptionPolicy':'Never'}");
	assert_true(spin_until(strstr(scheduled_cond("default", "meek", "message"),
	                              "Insufficient cpu. preemption: not eligible due to "
	                              "preemptionPolicy=Never.") != NULL,
	                       2000));
}

static void test_a_pod_is_retried_when_a_node_appears(void **state)
{
	add_pod("default", "early", NULL, NULL, NULL, NULL);
	assert_true(spin_until(!strcmp(scheduled_cond("default", "early", "message"),
	                               "no nodes available to schedule pods"),
	                       2000));
	add_node("late", "1", "1Gi", 110, NULL, NULL, "True");
	assert_true(spin_until(bound("default", "early"), 2000));
	assert_string_equal(node_of("default", "early"), "late");
	assert_string_equal(scheduled_cond("default", "early", "status"), "True");
}

static void test_a_pod_is_retried_when_a_taint_goes(void **state)
{
	add_node("n1", "1", "1Gi", 110, NULL, "[{'key':'maintenance','effect':'NoSchedule'}]",
	         "True");
	add_pod("default", "waits", NULL, NULL, NULL, NULL);
	assert_true(spin_until(strstr(scheduled_cond("default", "waits", "message"),
	                              "untolerated taint {maintenance: }") != NULL,
	                       2000));
	spin(100);
	assert_false(bound("default", "waits"));
	set_node("n1", node_json("n1", "1", "1Gi", 110, NULL, NULL, "True"));
	assert_true(spin_until(bound("default", "waits"), 2000));
}

static void test_a_pod_is_retried_when_room_is_freed(void **state)
{
	add_node("n1", "1", "1Gi", 110, NULL, NULL, "True");
	add_pod("default", "first", "800m", NULL, NULL, NULL);
	assert_true(spin_until(bound("default", "first"), 2000));
	add_pod("default", "second", "800m", NULL, NULL, NULL);
	assert_true(spin_until(
	    strstr(scheduled_cond("default", "second", "message"), "1 Insufficient cpu") != NULL,
	    2000));
	delete_pod("default", "first");
	assert_true(spin_until(bound("default", "second"), 2000));
}

static void test_assumed_pods_count_before_their_bindings_land(void **state)
{
	add_node("n1", "2", "4Gi", 110, NULL, NULL, "True");
	/* Created together, decided in one go: only two fit. */
	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof(name), "p%d", i);
		client_create(cl, client_kind("", "pods"), "default",
		              pod_json(name, "1", NULL, NULL, NULL), NULL, NULL);
	}
	assert_true(spin_until(
	    bound("default", "p0") + bound("default", "p1") + bound("default", "p2") == 2, 3000));
	spin(100);
	int n = bound("default", "p0") + bound("default", "p1") + bound("default", "p2");
	assert_int_equal(n, 2);
}

static void test_other_schedulers_pods_are_left_alone(void **state)
{
	add_node("n1", "2", "4Gi", 110, NULL, NULL, "True");
	add_pod("default", "theirs", NULL, NULL, NULL, "{'schedulerName':'my-scheduler'}");
	add_pod("default", "ours", NULL, NULL, NULL, NULL);
	assert_true(spin_until(bound("default", "ours"), 2000));
	spin(100);
	assert_false(bound("default", "theirs"));
	assert_string_equal(scheduled_cond("default", "theirs", "status"), "");
}

static void test_scheduling_gates_hold_a_pod_until_removed(void **state)
{
	add_node("n1", "2", "4Gi", 110, NULL, NULL, "True");
	add_pod("default", "gated", NULL, NULL, NULL,
	        "{'schedulingGates':[{'name':'example.com/wait'}]}");
	spin(150);
	assert_false(bound("default", "gated"));
	cJSON *patch = J("{'spec':{'schedulingGates':null}}");
	last_code = 0;
	client_merge_patch(cl, client_kind("", "pods"), "default", "gated", NULL, patch, on_done,
	                   NULL);
	assert_true(spin_until(last_code != 0, 2000));
	assert_int_equal(last_code, 200);
	assert_true(spin_until(bound("default", "gated"), 2000));
}

static cJSON *rs_pod(const char *name)
{
	cJSON *p = pod_json(name, "100m", "64Mi", "{'app':'web'}", NULL);
	obj_set(p, "metadata.ownerReferences",
	        J("[{'apiVersion':'apps/v1','kind':'ReplicaSet','name':'web','uid':'rs-1',"
	          "'controller':true}]"),
	        NULL);
	return p;
}

static void test_a_replica_sets_pods_spread_over_the_nodes(void **state)
{
	add_node("a", "4", "8Gi", 110, NULL, NULL, "True");
	add_node("b", "4", "8Gi", 110, NULL, NULL, "True");
	add_node("c", "4", "8Gi", 110, NULL, NULL, "True");
	char names[6][16];
	for (int i = 0; i < 6; i++) {
		snprintf(names[i], sizeof(names[i]), "web-%d", i);
		create("pods", "default", rs_pod(names[i]));
	}
	int per[3] = { 0 };
	for (int i = 0; i < 6; i++) {
		assert_true(spin_until(bound("default", names[i]), 2000));
		per[node_of("default", names[i])[0] - 'a']++;
	}
	assert_int_equal(per[0], 2);
	assert_int_equal(per[1], 2);
	assert_int_equal(per[2], 2);
}

/*
 * The seed's rescheduling table, as far as the scheduler plays in it: after a node goes down
 * its controller-made replacement pod lands elsewhere; a pod deleted by hand is replaced and
 * may go back to the same node; a recreated StatefulSet pod (same name, new uid) is placed
 * again; a DaemonSet pod tied to a failed node waits until that node comes back.
 */
static void test_the_seeds_rescheduling_cases(void **state)
{
	add_node("n1", "2", "4Gi", 110, NULL, NULL, "True");
	add_node("n2", "2", "4Gi", 110, NULL, NULL, "True");
	create("pods", "default", rs_pod("web-a"));
	assert_true(spin_until(bound("default", "web-a"), 2000));
	char failed_node[256];
	snprintf(failed_node, sizeof(failed_node), "%s", node_of("default", "web-a"));
	const char *other = !strcmp(failed_node, "n1") ? "n2" : "n1";

	/* Node down: NotReady, tainted by the lifecycle controller, its pod evicted. */
	set_node(failed_node,
	         node_json(failed_node, "2", "4Gi", 110, NULL,
	                   "[{'key':'node.kubernetes.io/unreachable','effect':'NoExecute'}]",
	                   "Unknown"));
	delete_pod("default", "web-a");
	create("pods", "default", rs_pod("web-b"));
	assert_true(spin_until(bound("default", "web-b"), 2000));
	assert_string_equal(node_of("default", "web-b"), other);

	/* A DaemonSet pod for the failed node stays pending... */
	char ds[1024];
	snprintf(ds, sizeof(ds),
	         "{'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':"
	         "{'nodeSelectorTerms':[{'matchFields':[{'key':'metadata.name','operator':'In',"
	         "'values':['%s']}]}]}}},'tolerations':[{'key':'node.kubernetes.io/unreachable',"
	         "'operator':'Exists','effect':'NoExecute'}]}",
	         failed_node);
	add_pod("default", "ds-pod", NULL, NULL, NULL, ds);
	assert_true(
	    spin_until(strstr(scheduled_cond("default", "ds-pod", "message"),
	                      "1 node(s) didn't match Pod's node affinity/selector") != NULL,
	               2000));
	assert_non_null(strstr(scheduled_cond("default", "ds-pod", "message"),
	                       "1 node(s) had untolerated taint "
	                       "{node.kubernetes.io/unreachable: }"));
	/* ... and goes there once the node is back. */
	set_node(failed_node, node_json(failed_node, "2", "4Gi", 110, NULL, NULL, "True"));
	assert_true(spin_until(bound("default", "ds-pod"), 2000));
	assert_string_equal(node_of("default", "ds-pod"), failed_node);

	/* Deleted by hand: the replacement may well return to the same node. */
	delete_pod("default", "web-b");
	create("pods", "default", rs_pod("web-c"));
	assert_true(spin_until(bound("default", "web-c"), 2000));

	/* A StatefulSet pod comes back under its own name, as a new pod. */
	cJSON *sts = pod_json("db-0", "100m", NULL, "{'app':'db'}", NULL);
	obj_set(sts, "metadata.ownerReferences",
	        J("[{'apiVersion':'apps/v1','kind':'StatefulSet','name':'db','uid':'sts-1',"
	          "'controller':true}]"),
	        NULL);
	cJSON *again = cJSON_Duplicate(sts, true);
	create("pods", "default", sts);
	assert_true(spin_until(bound("default", "db-0"), 2000));
	delete_pod("default", "db-0");
	create("pods", "default", again);
	assert_true(spin_until(bound("default", "db-0"), 2000));
}

static void test_higher_priority_pods_go_first(void **state)
{
	scheduler_stop(sch);
	sch = NULL;
	add_node("n1", "1", "4Gi", 110, NULL, NULL, "True");
	add_pod("default", "low", "1", NULL, NULL, "{'priority':1}");
	add_pod("default", "high", "1", NULL, NULL, "{'priority':1000}");
	struct scheduler_opts o = { .initial_backoff_ms = 20, .max_backoff_ms = 100, .seed = 1 };
	assert_int_equal(scheduler_start(cl, &o, &sch), 0);
	assert_true(spin_until(bound("default", "high"), 2000));
	spin(100);
	assert_false(bound("default", "low"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_a_pending_pod_is_bound_with_its_condition_and_event, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_unschedulable_pod_is_told_why_as_upstream_words_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_pod_is_retried_when_a_node_appears, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_a_pod_is_retried_when_a_taint_goes, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_a_pod_is_retried_when_room_is_freed, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_assumed_pods_count_before_their_bindings_land,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_schedulers_pods_are_left_alone, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_scheduling_gates_hold_a_pod_until_removed,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_replica_sets_pods_spread_over_the_nodes,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_the_seeds_rescheduling_cases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_higher_priority_pods_go_first, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
