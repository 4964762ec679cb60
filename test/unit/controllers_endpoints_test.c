/* controllers_endpoints_test: Endpoints and EndpointSlices follow the pods a Service selects:
 * readiness, named ports, termination, slice size, and leave alone what is not theirs. */
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
static struct ctrl_endpointslice *eps;
static struct ctrl_endpoints *ep;

static void start(int max_per_slice)
{
	struct ctrl_cluster_opts o = { .max_endpoints_per_slice = max_per_slice };
	struct err e = { 0 };
	inf = ctrl_informers_new(cl);
	assert_int_equal(ctrl_endpointslice_start(inf, &o, &eps, &e), 0);
	assert_int_equal(ctrl_endpoints_start(inf, &o, &ep, &e), 0);
}

static int setup(void **state)
{
	struct err e = { 0 };
	strcpy(dir, "/tmp/tug-ctrl-ep-test-XXXXXX");
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
	ctrl_endpointslice_stop(eps);
	ctrl_endpoints_stop(ep);
	spin(50); /* writes in flight finish */
	ctrl_informers_free(inf);
	eps = NULL;
	ep = NULL;
	inf = NULL;
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

static void make(const char *resource, const char *ns, const char *json)
{
	cJSON *o = cJSON_Parse(json);
	assert_non_null(o);
	done_code = 0;
	client_create(cl, client_kind("", resource), ns, o, on_done, NULL);
	for (int i = 0; i < 200 && !done_code; i++)
		loop_run_once(lp, 5);
	assert_int_equal(done_code, 201);
}

static void pod(const char *name, const char *labels, const char *port_name, int port)
{
	char json[1024];
	snprintf(json, sizeof(json),
	         "{\"metadata\":{\"name\":\"%s\",\"labels\":%s},\"spec\":{\"containers\":[{"
	         "\"name\":\"c\",\"image\":\"nginx\",\"ports\":[{\"name\":\"%s\","
	         "\"containerPort\":%d}]}]}}",
	         name, labels, port_name, port);
	make("pods", "default", json);
}

/* What a kubelet reports: the address and readiness. */
static void pod_status(const char *name, const char *ip, bool ready)
{
	char json[512];
	snprintf(json, sizeof(json),
	         "{\"status\":{\"phase\":\"Running\",\"podIP\":\"%s\",\"podIPs\":[{\"ip\":\"%s\"}],"
	         "\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\"}]}}",
	         ip, ip, ready ? "True" : "False");
	done_code = 0;
	client_merge_patch(cl, client_kind("", "pods"), "default", name, "status",
	                   cJSON_Parse(json), on_done, NULL);
	for (int i = 0; i < 200 && !done_code; i++)
		loop_run_once(lp, 5);
	assert_int_equal(done_code, 200);
}

static cJSON *get_ep(const char *name)
{
	return client_get(cl, client_kind("", "endpoints"), "default", name);
}

struct slices {
	const char *svc;
	cJSON *list;
};

static int add_slice(void *arg, const cJSON *obj)
{
	struct slices *s = arg;
	const char *svc = obj_get_str(obj, "metadata.labels.kubernetes\\.io/service-name");
	if (svc && !strcmp(svc, s->svc))
		cJSON_AddItemToArray(s->list, cJSON_Duplicate(obj, true));
	return 0;
}

static cJSON *slices_of(const char *svc)
{
	struct slices s = { svc, cJSON_CreateArray() };
	client_list(cl, client_kind("discovery.k8s.io", "endpointslices"), "default", add_slice,
	            &s);
	return s.list;
}

/* The endpoint of address ip in any slice of svc (a copy), or NULL. */
static cJSON *slice_endpoint(const char *svc, const char *ip, cJSON **ports)
{
	cJSON *list = slices_of(svc), *found = NULL;
	const cJSON *s, *e;
	cJSON_ArrayForEach(s, list)
	{
		cJSON_ArrayForEach(e, obj_get(s, "endpoints"))
		{
			if (!strcmp(obj_get_str(e, "addresses[0]"), ip)) {
				found = cJSON_Duplicate(e, true);
				if (ports)
					*ports = cJSON_Duplicate(obj_get(s, "ports"), true);
			}
		}
	}
	cJSON_Delete(list);
	return found;
}

/* Where ip is in the Endpoints: "ready:<port>" / "notready:<port>" of the http port, or "". */
static void where(const char *svc, const char *ip, char *out, size_t n)
{
	cJSON *o = get_ep(svc);
	const cJSON *ss, *a, *p;
	snprintf(out, n, "%s", "");
	cJSON_ArrayForEach(ss, obj_get(o, "subsets"))
	{
		static const char *const lists[] = { "addresses", "notReadyAddresses" };
		for (int l = 0; l < 2; l++) {
			cJSON_ArrayForEach(a, obj_get(ss, lists[l]))
			{
				if (strcmp(obj_get_str(a, "ip"), ip))
					continue;
				int64_t port = 0;
				cJSON_ArrayForEach(p, obj_get(ss, "ports"))
				{
					const char *name = obj_get_str(p, "name");
					if (name && !strcmp(name, "http"))
						obj_get_i64(p, "port", &port);
				}
				snprintf(out, n, "%s:%lld", l ? "notready" : "ready",
				         (long long)port);
			}
		}
	}
	cJSON_Delete(o);
}

static bool wait_where(const char *svc, const char *ip, const char *want)
{
	char got[64];
	for (int i = 0; i < 300; i++) {
		where(svc, ip, got, sizeof(got));
		if (!strcmp(got, want))
			return true;
		loop_run_once(lp, 10);
	}
	printf("# %s in %s: got '%s', want '%s'\n", ip, svc, got, want);
	return false;
}

static bool wait_slice_ready(const char *svc, const char *ip, const char *want)
{
	for (int i = 0; i < 300; i++) {
		cJSON *e = slice_endpoint(svc, ip, NULL);
		bool ready = false, term = false;
		obj_get_bool(e, "conditions.ready", &ready);
		obj_get_bool(e, "conditions.terminating", &term);
		const char *got = !e ? "" : term ? "terminating" : ready ? "ready" : "notready";
		bool ok = !strcmp(got, want);
		cJSON_Delete(e);
		if (ok)
			return true;
		loop_run_once(lp, 10);
	}
	printf("# slice endpoint %s of %s is not %s\n", ip, svc, want);
	return false;
}

static void test_endpoints_follow_pod_readiness_and_named_ports(void **state)
{
	start(0);
	make("services", "default",
	     "{\"metadata\":{\"name\":\"web\",\"labels\":{\"team\":\"a\"}},\"spec\":{"
	     "\"selector\":{\"app\":\"web\"},\"ports\":[{\"name\":\"http\",\"port\":80,"
	     "\"targetPort\":\"http-alt\"},{\"name\":\"tls\",\"port\":443,\"targetPort\":8443}]}}");
	pod("a", "{\"app\":\"web\"}", "http-alt", 8080);
	pod("b", "{\"app\":\"web\"}", "http-alt", 8081);
	pod("c", "{\"app\":\"other\"}", "http-alt", 8080);
	pod_status("a", "10.42.0.5", true);
	pod_status("b", "10.42.0.6", false);
	pod_status("c", "10.42.0.7", true);
	/* The named port resolves per pod. */
	assert_true(wait_where("web", "10.42.0.5", "ready:8080"));
	assert_true(wait_where("web", "10.42.0.6", "notready:8081"));
	assert_true(wait_where("web", "10.42.0.7", ""));
	assert_true(wait_slice_ready("web", "10.42.0.5", "ready"));
	assert_true(wait_slice_ready("web", "10.42.0.6", "notready"));
	cJSON *ports = NULL;
	cJSON *e = slice_endpoint("web", "10.42.0.5", &ports);
	assert_string_equal(obj_get_str(e, "targetRef.name"), "a");
	assert_string_equal(obj_get_str(e, "targetRef.kind"), "Pod");
	cJSON_Delete(e);
	int found = 0;
	const cJSON *p;
	cJSON_ArrayForEach(p, ports)
	{
		int64_t n = 0;
		obj_get_i64(p, "port", &n);
		if (!strcmp(obj_get_str(p, "name"), "http"))
			found += n == 8080;
		if (!strcmp(obj_get_str(p, "name"), "tls"))
			found += n == 8443;
	}
	assert_int_equal(found, 2);
	cJSON_Delete(ports);
	/* Pods with different resolved ports are in different slices, labelled for the proxy. */
	cJSON *list = slices_of("web");
	assert_int_equal(cJSON_GetArraySize(list), 2);
	const cJSON *s0 = cJSON_GetArrayItem(list, 0);
	assert_string_equal(obj_get_str(s0, "addressType"), "IPv4");
	assert_string_equal(
	    obj_get_str(s0, "metadata.labels.endpointslice\\.kubernetes\\.io/managed-by"),
	    "endpointslice-controller.k8s.io");
	assert_string_equal(obj_get_str(s0, "metadata.labels.team"), "a");
	assert_string_equal(obj_get_str(s0, "metadata.ownerReferences[0].kind"), "Service");
	cJSON_Delete(list);
	cJSON *eo = get_ep("web");
	assert_string_equal(
	    obj_get_str(eo, "metadata.labels.endpointslice\\.kubernetes\\.io/skip-mirror"), "true");
	cJSON_Delete(eo);

	/* Readiness moves an address. */
	pod_status("b", "10.42.0.6", true);
	assert_true(wait_where("web", "10.42.0.6", "ready:8081"));
	assert_true(wait_slice_ready("web", "10.42.0.6", "ready"));
	pod_status("a", "10.42.0.5", false);
	assert_true(wait_where("web", "10.42.0.5", "notready:8080"));
	/* Relabelling a pod takes it out. */
	client_merge_patch(cl, client_kind("", "pods"), "default", "a", NULL,
	                   cJSON_Parse("{\"metadata\":{\"labels\":{\"app\":\"gone\"}}}"), NULL,
	                   NULL);
	assert_true(wait_where("web", "10.42.0.5", ""));
	spin(50);
	e = slice_endpoint("web", "10.42.0.5", NULL);
	assert_null(e);

	/* A terminating pod leaves Endpoints and stays in its slice, marked terminating. */
	client_bind(cl, "default", "b", "n1", on_done, NULL);
	spin(50);
	client_delete(cl, client_kind("", "pods"), "default", "b", 30, NULL, NULL, on_done, NULL);
	assert_true(wait_where("web", "10.42.0.6", ""));
	assert_true(wait_slice_ready("web", "10.42.0.6", "terminating"));
	e = slice_endpoint("web", "10.42.0.6", NULL);
	bool serving = false;
	obj_get_bool(e, "conditions.serving", &serving);
	assert_true(serving);
	assert_string_equal(obj_get_str(e, "nodeName"), "n1");
	cJSON_Delete(e);
	/* Gone for good: no endpoint, and one empty placeholder slice. */
	client_delete(cl, client_kind("", "pods"), "default", "b", 0, NULL, NULL, on_done, NULL);
	for (int i = 0; i < 300; i++) {
		list = slices_of("web");
		bool done =
		    cJSON_GetArraySize(list) == 1 &&
		    cJSON_GetArraySize(obj_get(cJSON_GetArrayItem(list, 0), "endpoints")) == 0;
		cJSON_Delete(list);
		if (done)
			break;
		loop_run_once(lp, 10);
	}
	list = slices_of("web");
	assert_int_equal(cJSON_GetArraySize(list), 1);
	assert_int_equal(cJSON_GetArraySize(obj_get(cJSON_GetArrayItem(list, 0), "endpoints")), 0);
	cJSON_Delete(list);
	eo = get_ep("web");
	assert_int_equal(cJSON_GetArraySize(obj_get(eo, "subsets")), 0);
	cJSON_Delete(eo);
}

static void test_slices_hold_at_most_the_maximum_and_go_with_their_service(void **state)
{
	start(3);
	make("services", "default",
	     "{\"metadata\":{\"name\":\"many\"},\"spec\":{\"selector\":{\"app\":\"many\"},"
	     "\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080}]}}");
	char name[16], ip[32];
	for (int i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		snprintf(ip, sizeof(ip), "10.42.1.%d", 10 + i);
		pod(name, "{\"app\":\"many\"}", "http", 8080);
		pod_status(name, ip, true);
	}
	int n = 0, total = 0, biggest = 0;
	for (int i = 0; i < 300; i++) {
		cJSON *list = slices_of("many");
		const cJSON *s;
		n = cJSON_GetArraySize(list);
		total = biggest = 0;
		cJSON_ArrayForEach(s, list)
		{
			int k = cJSON_GetArraySize(obj_get(s, "endpoints"));
			total += k;
			biggest = k > biggest ? k : biggest;
		}
		cJSON_Delete(list);
		if (total == 7)
			break;
		loop_run_once(lp, 10);
	}
	assert_int_equal(total, 7);
	assert_int_equal(n, 3);
	assert_int_equal(biggest, 3);
	assert_true(wait_where("many", "10.42.1.16", "ready:8080"));
	/* The Service goes: its Endpoints and slices go too. */
	client_delete(cl, client_kind("", "services"), "default", "many", -1, NULL, NULL, on_done,
	              NULL);
	for (int i = 0; i < 300; i++) {
		cJSON *list = slices_of("many");
		cJSON *eo = get_ep("many");
		n = cJSON_GetArraySize(list) + (eo != NULL);
		cJSON_Delete(list);
		cJSON_Delete(eo);
		if (!n)
			break;
		loop_run_once(lp, 10);
	}
	assert_int_equal(n, 0);
}

static void test_services_without_selectors_and_the_kubernetes_service_are_left_alone(void **state)
{
	start(0);
	make("services", "default",
	     "{\"metadata\":{\"name\":\"manual\"},\"spec\":{\"ports\":[{\"port\":80}]}}");
	make("endpoints", "default",
	     "{\"metadata\":{\"name\":\"manual\"},\"subsets\":[{\"addresses\":[{\"ip\":"
	     "\"192.0.2.50\"}],\"ports\":[{\"port\":80}]}]}");
	spin(200);
	char got[64];
	where("manual", "192.0.2.50", got, sizeof(got));
	cJSON *eo = get_ep("manual");
	assert_string_equal(obj_get_str(eo, "subsets[0].addresses[0].ip"), "192.0.2.50");
	cJSON_Delete(eo);
	eo = get_ep("kubernetes");
	assert_string_equal(obj_get_str(eo, "subsets[0].addresses[0].ip"), "192.0.2.1");
	cJSON_Delete(eo);
	cJSON *list = slices_of("kubernetes");
	assert_int_equal(cJSON_GetArraySize(list), 1);
	assert_string_equal(obj_get_str(cJSON_GetArrayItem(list, 0), "endpoints[0].addresses[0]"),
	                    "192.0.2.1");
	cJSON_Delete(list);
	list = slices_of("manual");
	assert_int_equal(cJSON_GetArraySize(list), 0);
	cJSON_Delete(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_endpoints_follow_pod_readiness_and_named_ports,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_slices_hold_at_most_the_maximum_and_go_with_their_service, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_services_without_selectors_and_the_kubernetes_service_are_left_alone,
		    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
