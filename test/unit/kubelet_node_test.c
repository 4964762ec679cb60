/* kubelet_node_test: the node registers with labels, capacity and conditions, follows the
 * runtime's readiness, and keeps a Lease in kube-node-lease. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/kubelet/kubelet.h"
#include "core/obj/obj.h"

static char dir[128];
static struct store *st;
static struct loop *lp;
static struct api *api;
static struct client *cl;

static int setup(void **state)
{
	struct err e = { 0 };
	strcpy(dir, "/tmp/tug-kubelet-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	struct store_opts so = { .dir = dir, .no_background = true };
	assert_int_equal(store_open(&st, &so, &e), 0);
	assert_int_equal(loop_new(&lp), 0);
	struct api_opts ao = { .store = st, .loop = lp };
	assert_int_equal(api_new(&api, &ao, &e), 0);
	assert_int_equal(api_bootstrap(api, NULL, &e), 0);
	cl = client_local(api, lp, "system:node:n1");
	return 0;
}

static int teardown(void **state)
{
	client_free(cl);
	api_free(api);
	loop_free(lp);
	store_close(st);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void spin(int ms)
{
	uint64_t end = time_mono_ms() + (uint64_t)ms;
	while (time_mono_ms() < end)
		loop_run_once(lp, 5);
}

static const char *condition(const cJSON *node, const char *type)
{
	const cJSON *c;
	cJSON_ArrayForEach(
	    c, obj_get(node, "status.conditions")) if (!strcmp(obj_get_str(c, "type"),
	                                                       type)) return obj_get_str(c,
	                                                                                 "status");
	return NULL;
}

static void test_node_registers_and_reports_readiness_and_lease(void **state)
{
	const char *labels[] = { "zone=lab" };
	const char *taints[] = { "dedicated=edge:NoSchedule" };
	const char *ips[] = { "192.0.2.5" };
	struct kubelet_node_opts o = { .name = "n1",
		                       .ips = ips,
		                       .nips = 1,
		                       .labels = labels,
		                       .nlabels = 1,
		                       .taints = taints,
		                       .ntaints = 1,
		                       .control_plane = true,
		                       .data_dir = dir,
		                       .lease_ms = 1000 };
	struct kubelet_node *n = NULL;
	struct err e = { 0 };
	assert_int_equal(kubelet_node_start(cl, &o, &n, &e), 0);
	spin(400);
	cJSON *node = client_get(cl, client_kind("", "nodes"), NULL, "n1");
	assert_non_null(node);
	assert_string_equal(obj_get_str(node, "metadata.labels.kubernetes\\.io/hostname"), "n1");
	assert_string_equal(obj_get_str(node, "metadata.labels.zone"), "lab");
	assert_non_null(
	    obj_get_str(node, "metadata.labels.node-role\\.kubernetes\\.io/control-plane"));
	assert_string_equal(obj_get_str(node, "spec.taints[0].effect"), "NoSchedule");
	assert_non_null(obj_get_str(node, "status.capacity.cpu"));
	assert_non_null(obj_get_str(node, "status.allocatable.memory"));
	assert_string_equal(obj_get_str(node, "status.addresses[0].address"), "192.0.2.5");
	assert_string_equal(condition(node, "Ready"), "False");
	assert_string_equal(condition(node, "MemoryPressure"), "False");
	cJSON_Delete(node);
	kubelet_node_set_runtime(n, true, "containerd://1.6.20", NULL);
	spin(300);
	node = client_get(cl, client_kind("", "nodes"), NULL, "n1");
	assert_string_equal(condition(node, "Ready"), "True");
	assert_string_equal(obj_get_str(node, "status.nodeInfo.containerRuntimeVersion"),
	                    "containerd://1.6.20");
	cJSON_Delete(node);
	cJSON *lease =
	    client_get(cl, client_kind("coordination.k8s.io", "leases"), "kube-node-lease", "n1");
	assert_non_null(lease);
	char first[64];
	snprintf(first, sizeof(first), "%s", obj_get_str(lease, "spec.renewTime"));
	assert_string_equal(obj_get_str(lease, "spec.holderIdentity"), "n1");
	assert_string_equal(obj_get_str(lease, "metadata.ownerReferences[0].kind"), "Node");
	cJSON_Delete(lease);
	spin(1300);
	lease =
	    client_get(cl, client_kind("coordination.k8s.io", "leases"), "kube-node-lease", "n1");
	assert_string_not_equal(obj_get_str(lease, "spec.renewTime"), first);
	cJSON_Delete(lease);
	kubelet_node_stop(n);
	/* A restart adopts the existing Node. */
	assert_int_equal(kubelet_node_start(cl, &o, &n, &e), 0);
	spin(300);
	node = client_get(cl, client_kind("", "nodes"), NULL, "n1");
	assert_non_null(node);
	cJSON_Delete(node);
	kubelet_node_stop(n);
	/* Bad taints are refused with the flag's name. */
	const char *bad[] = { "x=y:Sometimes" };
	o.taints = bad;
	assert_int_equal(kubelet_node_start(cl, &o, &n, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "--node-taint"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_node_registers_and_reports_readiness_and_lease,
		                                setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
