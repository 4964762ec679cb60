/* controllers_nodeipam_test: every node gets its own block of the cluster CIDR, blocks already
 * held are respected, a full range says so, and a deleted node's block is given out again. */
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
static struct ctrl_nodeipam *ipam;

static int setup(void **state)
{
	struct err e = { 0 };
	strcpy(dir, "/tmp/tug-ctrl-ipam-test-XXXXXX");
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
	ctrl_nodeipam_stop(ipam);
	ipam = NULL;
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
static void on_done(void *arg, int code, const char *msg, cJSON *obj)
{
	done_code = code;
}

static void node(const char *name, const char *cidr)
{
	char json[256];
	if (cidr)
		snprintf(json, sizeof(json),
		         "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"podCIDR\":\"%s\","
		         "\"podCIDRs\":[\"%s\"]}}",
		         name, cidr, cidr);
	else
		snprintf(json, sizeof(json), "{\"metadata\":{\"name\":\"%s\"}}", name);
	done_code = 0;
	client_create(cl, client_kind("", "nodes"), NULL, cJSON_Parse(json), on_done, NULL);
	for (int i = 0; i < 200 && !done_code; i++)
		loop_run_once(lp, 5);
	assert_int_equal(done_code, 201);
}

/* The node's podCIDRs as "a,b" (waiting up to 3 s for them), or "". */
static void cidrs(const char *name, char *out, size_t n)
{
	out[0] = '\0';
	for (int i = 0; i < 300; i++) {
		cJSON *nd = client_get(cl, client_kind("", "nodes"), NULL, name);
		const cJSON *c;
		cJSON_ArrayForEach(c, obj_get(nd, "spec.podCIDRs"))
		{
			size_t l = strlen(out);
			snprintf(out + l, n - l, "%s%s", l ? "," : "", c->valuestring);
		}
		bool match = !obj_get_str(nd, "spec.podCIDR") ||
		             !strncmp(out, obj_get_str(nd, "spec.podCIDR"),
		                      strlen(obj_get_str(nd, "spec.podCIDR")));
		cJSON_Delete(nd);
		if (out[0]) {
			assert_true(match);
			return;
		}
		loop_run_once(lp, 10);
	}
}

static void start(const char *cidr)
{
	struct ctrl_cluster_opts o = { .cluster_cidr = cidr };
	struct err e = { 0 };
	assert_int_equal(ctrl_nodeipam_start(inf, &o, &ipam, &e), 0);
}

static void test_pod_cidrs_are_unique_and_given_again_after_deletion(void **state)
{
	/* A /20 holds sixteen /24s; one is already taken by a node from before. */
	node("old", "10.99.5.0/24");
	node("n0", NULL);
	start("10.99.0.0/20");
	char got[16][64], c[64];
	cidrs("n0", got[0], sizeof(got[0]));
	assert_string_equal(got[0], "10.99.0.0/24");
	for (int i = 1; i < 15; i++) {
		char name[16];
		snprintf(name, sizeof(name), "n%d", i);
		node(name, NULL);
	}
	for (int i = 1; i < 15; i++) {
		char name[16];
		snprintf(name, sizeof(name), "n%d", i);
		cidrs(name, got[i], sizeof(got[i]));
		assert_true(strlen(got[i]) > 0);
		assert_string_not_equal(got[i], "10.99.5.0/24");
		assert_non_null(strstr(got[i], "/24"));
		assert_true(!strncmp(got[i], "10.99.", 6));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(got[i], got[j]);
	}
	/* Full: the next node waits, with an event saying why. */
	node("late", NULL);
	spin(300);
	cidrs("old", c, sizeof(c));
	assert_string_equal(c, "10.99.5.0/24");
	cJSON *nd = client_get(cl, client_kind("", "nodes"), NULL, "late");
	assert_null(obj_get(nd, "spec.podCIDR"));
	cJSON_Delete(nd);
	/* A node goes: its block is free for the one waiting. */
	client_delete(cl, client_kind("", "nodes"), NULL, "n3", -1, NULL, NULL, on_done, NULL);
	cidrs("late", c, sizeof(c));
	assert_string_equal(c, got[3]);
}

static void test_dual_stack_nodes_get_a_block_per_family(void **state)
{
	start("10.98.0.0/16,fd00:42::/56");
	node("ds", NULL);
	char c[128];
	cidrs("ds", c, sizeof(c));
	assert_string_equal(c, "10.98.0.0/24,fd00:42::/64");
	node("ds2", NULL);
	cidrs("ds2", c, sizeof(c));
	assert_string_equal(c, "10.98.1.0/24,fd00:42:0:1::/64");
}

static void test_bad_cluster_cidrs_are_refused(void **state)
{
	struct ctrl_cluster_opts o = { .cluster_cidr = "10.0.0.0/26" };
	struct err e = { 0 };
	struct ctrl_nodeipam *x = NULL;
	assert_int_equal(ctrl_nodeipam_start(inf, &o, &x, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "--cluster-cidr"));
	o.cluster_cidr = "bogus";
	assert_int_equal(ctrl_nodeipam_start(inf, &o, &x, &e), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_pod_cidrs_are_unique_and_given_again_after_deletion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dual_stack_nodes_get_a_block_per_family, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_bad_cluster_cidrs_are_refused, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
