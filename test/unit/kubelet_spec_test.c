/* kubelet_spec_test: the kubelet's pure rules: crash back-off as upstream's, $(VAR)
 * expansion, downward API pod IPs, the pod phase from container statuses, resources and OOM scores by QoS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/kubelet/kubelet-internal.h"
#include "core/obj/obj.h"

#define S(x) ((int64_t)(x)*1000000000)

static void test_backoff_restarts_at_once_then_doubles_from_10s_to_5min(void **state)
{
	struct kl_backoff b = { 0 };
	uint64_t wait;
	assert_true(kl_backoff_allow(&b, S(1), S(1), &wait)); /* first crash: restart now */
	assert_int_equal(wait, 0);
	int64_t t = S(2);
	uint64_t expect = 10000;
	for (int i = 0; i < 8; i++) {
		assert_false(kl_backoff_allow(&b, t, t + S(1), &wait));
		assert_in_range(wait, expect - 1000, expect);
		int64_t at = t + (int64_t)expect * 1000000 + 1000000;
		assert_true(kl_backoff_allow(&b, t, at, &wait));
		expect = expect * 2 > 300000 ? 300000 : expect * 2;
		t = at + S(1);
	}
	assert_int_equal(b.ms, 300000); /* capped at 5 min */
}

static void test_backoff_is_forgotten_after_a_long_run(void **state)
{
	struct kl_backoff b = { 0 };
	uint64_t wait;
	assert_true(kl_backoff_allow(&b, S(1), S(1), &wait));
	assert_true(kl_backoff_allow(&b, S(2), S(20), &wait));
	assert_int_equal(b.ms, 20000);
	/* crashing again after more than 10 min: back to the start */
	assert_true(kl_backoff_allow(&b, S(2000), S(2000), &wait));
	assert_int_equal(b.ms, 10000);
}

static void test_expand_replaces_known_keeps_unknown_and_unescapes(void **state)
{
	struct kl_envs env = { 0 };
	kl_envs_set(&env, "A", "1");
	kl_envs_set(&env, "B", "two");
	char *s = kl_expand("$(A)-$(B)-$(C)-$$(A)-$-$(A", &env);
	assert_string_equal(s, "1-two-$(C)-$(A)-$-$(A");
	free(s);
	kl_envs_set(&env, "A", "replaced");
	assert_string_equal(kl_envs_get(&env, "A"), "replaced");
	kl_envs_free(&env);
}

static void test_field_ref_pod_ips_single_and_dual_stack(void **state)
{
	cJSON *pod = cJSON_Parse("{\"metadata\":{\"name\":\"p\"}}");
	struct kl_env_ctx ctx = { .pod = pod, .pod_ip = "10.42.0.5", .host_ip = "192.0.2.1" };
	struct err e = { 0 };
	char *v;
	assert_int_equal(kl_field_ref(&ctx, "status.podIPs", &v, &e), 0);
	assert_string_equal(v, "10.42.0.5");
	free(v);
	ctx.pod_ip2 = "fd42::5";
	assert_int_equal(kl_field_ref(&ctx, "status.podIPs", &v, &e), 0);
	assert_string_equal(v, "10.42.0.5,fd42::5");
	free(v);
	assert_int_equal(kl_field_ref(&ctx, "status.podIP", &v, &e), 0);
	assert_string_equal(v, "10.42.0.5");
	free(v);
	assert_int_equal(kl_field_ref(&ctx, "status.hostIP", &v, &e), 0);
	assert_string_equal(v, "192.0.2.1");
	free(v);
	cJSON_Delete(pod);
}

static const char *phase(const char *spec, const char *statuses)
{
	static char out[32];
	cJSON *sp = cJSON_Parse(spec), *st = cJSON_Parse(statuses);
	snprintf(out, sizeof(out), "%s", kl_phase(sp, NULL, st));
	cJSON_Delete(sp);
	cJSON_Delete(st);
	return out;
}

static void test_phase_follows_containers_and_restart_policy(void **state)
{
	const char *never = "{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"a\"}]}";
	const char *always = "{\"restartPolicy\":\"Always\",\"containers\":[{\"name\":\"a\"}]}";
	assert_string_equal(phase(never, "[]"), "Pending");
	assert_string_equal(
	    phase(never, "[{\"name\":\"a\",\"state\":{\"waiting\":{\"reason\":\"X\"}}}]"),
	    "Pending");
	assert_string_equal(phase(never, "[{\"name\":\"a\",\"state\":{\"running\":{}}}]"),
	                    "Running");
	assert_string_equal(
	    phase(never, "[{\"name\":\"a\",\"state\":{\"terminated\":{\"exitCode\":0}}}]"),
	    "Succeeded");
	assert_string_equal(
	    phase(never, "[{\"name\":\"a\",\"state\":{\"terminated\":{\"exitCode\":137}}}]"),
	    "Failed");
	assert_string_equal(
	    phase(always, "[{\"name\":\"a\",\"state\":{\"terminated\":{\"exitCode\":1}}}]"),
	    "Running");
}

static void test_resources_and_oom_score_by_qos(void **state)
{
	struct kl_resources r;
	cJSON *g = cJSON_Parse("{\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":"
	                       "{\"limits\":{\"cpu\":\"250m\",\"memory\":\"64Mi\"},"
	                       "\"requests\":{\"cpu\":\"250m\",\"memory\":\"64Mi\"}}}]}}");
	kl_container_resources(g, cJSON_GetArrayItem(obj_get(g, "spec.containers"), 0), 1 << 30,
	                       &r);
	assert_int_equal(r.memory_limit, 64 << 20);
	assert_int_equal(r.cpu_period, 100000);
	assert_int_equal(r.cpu_quota, 25000);
	assert_int_equal(r.cpu_shares, 256);
	assert_int_equal(r.oom_score_adj, -997);
	cJSON *be = cJSON_Parse("{\"spec\":{\"containers\":[{\"name\":\"c\"}]}}");
	kl_container_resources(be, cJSON_GetArrayItem(obj_get(be, "spec.containers"), 0), 1 << 30,
	                       &r);
	assert_int_equal(r.memory_limit, 0);
	assert_int_equal(r.cpu_shares, 2);
	assert_int_equal(r.oom_score_adj, 1000);
	cJSON *bu = cJSON_Parse("{\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":"
	                        "{\"requests\":{\"memory\":\"512Mi\"}}}]}}");
	kl_container_resources(bu, cJSON_GetArrayItem(obj_get(bu, "spec.containers"), 0), 1 << 30,
	                       &r);
	assert_in_range(r.oom_score_adj, 499, 501); /* half the node's memory requested */
	cJSON_Delete(g);
	cJSON_Delete(be);
	cJSON_Delete(bu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_restarts_at_once_then_doubles_from_10s_to_5min),
		cmocka_unit_test(test_backoff_is_forgotten_after_a_long_run),
		cmocka_unit_test(test_expand_replaces_known_keeps_unknown_and_unescapes),
		cmocka_unit_test(test_field_ref_pod_ips_single_and_dual_stack),
		cmocka_unit_test(test_phase_follows_containers_and_restart_policy),
		cmocka_unit_test(test_resources_and_oom_score_by_qos),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
