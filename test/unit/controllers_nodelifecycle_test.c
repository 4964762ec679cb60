/* controllers_nodelifecycle_test: simulated nodes (Node objects and Leases, no kubelet): a node
 * whose Lease stops is Unknown and tainted, and its pods are evicted as their tolerations say. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/controllers/controllers.h"
#include "core/obj/obj.h"

static char dir[128];
static struct store *st;
static struct loop *lp;
static struct api *api;
static struct client *cl;
static struct ctrl_informers *inf;
static struct ctrl_nodelifecycle *nl;

static int setup(void **state)
{
	struct err e = { 0 };
	strcpy(dir, "/tmp/tug-ctrl-nl-test-XXXXXX");
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
	ctrl_nodelifecycle_stop(nl);
	nl = NULL;
	spin(50);
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
	struct ctrl_cluster_opts o = { .node_monitor_period_ms = 100,
		                       .node_monitor_grace_ms = 700,
		                       .node_startup_grace_ms = 700 };
	struct err e = { 0 };
	assert_int_equal(ctrl_nodelifecycle_start(inf, &o, &nl, &e), 0);
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
	cJSON *o = cJSON_Parse(json);
	assert_non_null(o);
	done_code = 0;
	client_create(cl, client_kind(group, resource), ns, o, on_done, NULL);
	wait_done(201);
}

/* A node as a kubelet registers it: Ready, with a heartbeat, and its Lease. */
static void node(const char *name)
{
	char now[32], json[2048];
	obj_time_format((int64_t)time(NULL), now);
	snprintf(json, sizeof(json),
	         "{\"metadata\":{\"name\":\"%s\"},\"status\":{\"conditions\":["
	         "{\"type\":\"MemoryPressure\",\"status\":\"False\",\"lastHeartbeatTime\":\"%s\"},"
	         "{\"type\":\"DiskPressure\",\"status\":\"False\",\"lastHeartbeatTime\":\"%s\"},"
	         "{\"type\":\"PIDPressure\",\"status\":\"False\",\"lastHeartbeatTime\":\"%s\"},"
	         "{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"KubeletReady\","
	         "\"lastHeartbeatTime\":\"%s\"}]}}",
	         name, now, now, now, now);
	make("", "nodes", NULL, json);
	char micro[40];
	obj_microtime_format((int64_t)time_real_ms() * 1000, micro);
	snprintf(json, sizeof(json),
	         "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"kube-node-lease\"},\"spec\":{"
	         "\"holderIdentity\":\"%s\",\"leaseDurationSeconds\":40,\"renewTime\":\"%s\"}}",
	         name, name, micro);
	make("coordination.k8s.io", "leases", "kube-node-lease", json);
}

static void renew(const char *name)
{
	char micro[40], json[256];
	obj_microtime_format((int64_t)time_real_ms() * 1000, micro);
	snprintf(json, sizeof(json), "{\"spec\":{\"renewTime\":\"%s\"}}", micro);
	client_merge_patch(cl, client_kind("coordination.k8s.io", "leases"), "kube-node-lease",
	                   name, NULL, cJSON_Parse(json), NULL, NULL);
}

/* Runs the loop for ms while the nodes in alive keep renewing their Leases. */
static void live(int ms, const char *const *alive, size_t n)
{
	uint64_t end = time_mono_ms() + (uint64_t)ms, next = 0;
	while (time_mono_ms() < end) {
		if (time_mono_ms() >= next) {
			for (size_t i = 0; i < n; i++)
				renew(alive[i]);
			next = time_mono_ms() + 200;
		}
		loop_run_once(lp, 5);
	}
}

static void pod(const char *name, const char *node, const char *tolerations)
{
	char json[1024];
	snprintf(json, sizeof(json),
	         "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"nodeName\":\"%s\","
	         "\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]%s%s}}",
	         name, node, tolerations ? ",\"tolerations\":" : "",
	         tolerations ? tolerations : "");
	make("", "pods", "default", json);
	done_code = 0;
	client_merge_patch(cl, client_kind("", "pods"), "default", name, "status",
	                   cJSON_Parse("{\"status\":{\"phase\":\"Running\",\"conditions\":[{"
	                               "\"type\":\"Ready\",\"status\":\"True\"}]}}"),
	                   on_done, NULL);
	wait_done(200);
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

static bool has_taint(const cJSON *node, const char *key, const char *effect)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, obj_get(node, "spec.taints"))
	{
		if (!strcmp(obj_get_str(t, "key"), key) &&
		    !strcmp(obj_get_str(t, "effect"), effect))
			return true;
	}
	return false;
}

static cJSON *get(const char *resource, const char *ns, const char *name)
{
	return client_get(cl, client_kind("", resource), ns, name);
}

static bool deleting(const char *pod)
{
	cJSON *p = get("pods", "default", pod);
	bool d = !p || obj_get(p, "metadata.deletionTimestamp");
	cJSON_Delete(p);
	return d;
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
	client_list(cl, client_kind("", "events"), NULL, find_event, &f);
	return f.found;
}

static void test_a_silent_node_is_unknown_tainted_and_its_pods_evicted_as_tolerated(void **state)
{
	const char *both[] = { "n1", "n2" }, *one[] = { "n1" };
	node("n1");
	node("n2");
	/* On n2: one pod tolerating unreachable for 1 s, one forever, one with the default 300 s
	 * the API server adds. */
	pod("short", "n2",
	    "[{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\","
	    "\"effect\":\"NoExecute\",\"tolerationSeconds\":1}]");
	pod("forever", "n2",
	    "[{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\","
	    "\"effect\":\"NoExecute\"}]");
	pod("default", "n2", NULL);
	pod("healthy", "n1", NULL);
	start();
	live(300, both, 2);
	cJSON *n2 = get("nodes", NULL, "n2");
	assert_string_equal(cond(n2, "Ready", "status"), "True");
	assert_false(has_taint(n2, "node.kubernetes.io/unreachable", "NoExecute"));
	cJSON_Delete(n2);

	/* n2 stops renewing its Lease. */
	bool tainted = false;
	for (int i = 0; i < 40 && !tainted; i++) {
		live(100, one, 1);
		n2 = get("nodes", NULL, "n2");
		tainted = has_taint(n2, "node.kubernetes.io/unreachable", "NoExecute");
		cJSON_Delete(n2);
	}
	assert_true(tainted);
	n2 = get("nodes", NULL, "n2");
	assert_string_equal(cond(n2, "Ready", "status"), "Unknown");
	assert_string_equal(cond(n2, "Ready", "reason"), "NodeStatusUnknown");
	assert_string_equal(cond(n2, "Ready", "message"), "Kubelet stopped posting node status.");
	assert_string_equal(cond(n2, "MemoryPressure", "status"), "Unknown");
	assert_string_equal(cond(n2, "PIDPressure", "status"), "Unknown");
	assert_true(has_taint(n2, "node.kubernetes.io/unreachable", "NoSchedule"));
	assert_false(has_taint(n2, "node.kubernetes.io/not-ready", "NoExecute"));
	cJSON_Delete(n2);
	cJSON *n1 = get("nodes", NULL, "n1");
	assert_string_equal(cond(n1, "Ready", "status"), "True");
	assert_int_equal(cJSON_GetArraySize(obj_get(n1, "spec.taints")), 0);
	cJSON_Delete(n1);

	/* The pod tolerating 1 s goes after about that; the others stay. */
	for (int i = 0; i < 40 && !deleting("short"); i++)
		live(100, one, 1);
	assert_true(deleting("short"));
	cJSON *p = get("pods", "default", "short");
	if (p)
		assert_string_equal(cond(p, "DisruptionTarget", "reason"),
		                    "DeletionByTaintManager");
	cJSON_Delete(p);
	live(800, one, 1);
	assert_false(deleting("forever"));
	assert_false(deleting("default"));
	assert_false(deleting("healthy"));
	assert_true(event_about("short", "TaintManagerEviction"));
	assert_true(event_about("n2", "NodeNotReady"));
	/* Services stop sending traffic to the pods of the silent node. */
	p = get("pods", "default", "forever");
	assert_string_equal(cond(p, "Ready", "status"), "False");
	cJSON_Delete(p);
	p = get("pods", "default", "healthy");
	assert_string_equal(cond(p, "Ready", "status"), "True");
	cJSON_Delete(p);

	/* The kubelet comes back: Ready again, the taints go. */
	char now[32], json[256];
	obj_time_format((int64_t)time(NULL), now);
	snprintf(json, sizeof(json),
	         "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
	         "\"reason\":\"KubeletReady\",\"lastHeartbeatTime\":\"%s\"}]}}",
	         now);
	done_code = 0;
	client_merge_patch(cl, client_kind("", "nodes"), NULL, "n2", "status", cJSON_Parse(json),
	                   on_done, NULL);
	wait_done(200);
	bool clean = false;
	for (int i = 0; i < 40 && !clean; i++) {
		live(100, both, 2);
		n2 = get("nodes", NULL, "n2");
		clean = cJSON_GetArraySize(obj_get(n2, "spec.taints")) == 0;
		cJSON_Delete(n2);
	}
	assert_true(clean);
	assert_false(deleting("forever"));
}

static void test_a_no_execute_taint_evicts_pods_that_do_not_tolerate_it_at_once(void **state)
{
	const char *both[] = { "n1", "n2" };
	node("n1");
	node("n2");
	pod("plain", "n1", NULL);
	pod("tolerant", "n1",
	    "[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"db\","
	    "\"effect\":\"NoExecute\"}]");
	pod("later", "n1",
	    "[{\"key\":\"dedicated\",\"operator\":\"Exists\",\"effect\":"
	    "\"NoExecute\",\"tolerationSeconds\":1}]");
	start();
	live(300, both, 2);
	done_code = 0;
	client_merge_patch(cl, client_kind("", "nodes"), NULL, "n1", NULL,
	                   cJSON_Parse("{\"spec\":{\"taints\":[{\"key\":\"dedicated\",\"value\":"
	                               "\"db\",\"effect\":\"NoExecute\"}]}}"),
	                   on_done, NULL);
	wait_done(200);
	for (int i = 0; i < 20 && !deleting("plain"); i++)
		live(50, both, 2);
	assert_true(deleting("plain"));
	assert_false(deleting("later"));
	for (int i = 0; i < 40 && !deleting("later"); i++)
		live(100, both, 2);
	assert_true(deleting("later"));
	assert_false(deleting("tolerant"));
	/* A user's taint is theirs: the controller keeps it. */
	cJSON *n1 = get("nodes", NULL, "n1");
	assert_true(has_taint(n1, "dedicated", "NoExecute"));
	cJSON_Delete(n1);
}

static void test_when_every_node_is_silent_nothing_is_evicted(void **state)
{
	node("solo");
	pod("p", "solo",
	    "[{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\","
	    "\"effect\":\"NoExecute\",\"tolerationSeconds\":0}]");
	start();
	bool unknown = false;
	for (int i = 0; i < 40 && !unknown; i++) {
		spin(100);
		cJSON *n = get("nodes", NULL, "solo");
		const char *s = cond(n, "Ready", "status");
		unknown = s && !strcmp(s, "Unknown") &&
		          has_taint(n, "node.kubernetes.io/unreachable", "NoSchedule");
		cJSON_Delete(n);
	}
	assert_true(unknown);
	spin(500);
	cJSON *n = get("nodes", NULL, "solo");
	assert_false(has_taint(n, "node.kubernetes.io/unreachable", "NoExecute"));
	cJSON_Delete(n);
	assert_false(deleting("p"));
}

static void test_pods_of_a_deleted_node_are_removed(void **state)
{
	const char *one[] = { "n1" };
	node("n1");
	node("gone");
	pod("left", "gone", NULL);
	start();
	live(200, one, 1);
	done_code = 0;
	client_delete(cl, client_kind("", "nodes"), NULL, "gone", -1, NULL, NULL, on_done, NULL);
	wait_done(200);
	bool removed = false;
	for (int i = 0; i < 40 && !removed; i++) {
		live(100, one, 1);
		cJSON *p = get("pods", "default", "left");
		removed = !p;
		cJSON_Delete(p);
	}
	assert_true(removed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_a_silent_node_is_unknown_tainted_and_its_pods_evicted_as_tolerated, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_no_execute_taint_evicts_pods_that_do_not_tolerate_it_at_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_when_every_node_is_silent_nothing_is_evicted,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_pods_of_a_deleted_node_are_removed, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
