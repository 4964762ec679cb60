/* quantity_test: quantities as upstream parses and prints them; pod requests and QoS. */
#include "obj-testlib.h"

static const char *canon(const char *in)
{
	static char out[QTY_STR_MAX];
	struct qty q;
	struct err e = { 0 };
	if (qty_parse(in, &q, &e) < 0) {
		fprintf(stderr, "parse %s: %s\n", in, e.msg);
		fail();
	}
	return qty_format(&q, out);
}

static struct qty Q(const char *in) {
	struct qty q;
	assert_int_equal(qty_parse(in, &q, NULL), 0);
	return q;
}

/* A parsed quantity in a rotating static slot, for passing by pointer inline. */
static struct qty *
QP(const char *in)
{
	static struct qty slots[8];
	static int next;
	struct qty *q = &slots[next++ & 7];
	*q = Q(in);
	return q;
}

static void test_canonical_forms_match_upstream(void **state)
{
	static const char *const table[][2] = {
		{ "1000m", "1" },
		{ "1024Mi", "1Gi" },
		{ "0.5", "500m" },
		{ "1.5Gi", "1536Mi" },
		{ "1Ki", "1Ki" },
		{ "1Mi", "1Mi" },
		{ "1Gi", "1Gi" },
		{ "1000M", "1G" },
		{ ".001Ki", "1024m" },
		{ ".000001Ki", "1024u" },
		{ ".000000001Ki", "1024n" },
		{ ".000000000001Ki", "2n" },
		{ "100m", "100m" },
		{ "1.5", "1500m" },
		{ "0", "0" },
		{ "0Mi", "0" },
		{ "12e6", "12e6" },
		{ "1e3", "1e3" },
		{ "1.5e3", "1500" },
		{ "1E-3", "1e-3" },
		{ "50k", "50k" },
		{ "40T", "40T" },
		{ "100.035k", "100035" },
		{ "0.5Mi", "512Ki" },
		{ "500Mi", "500Mi" },
		{ "1536Mi", "1536Mi" },
		{ "0.5Ki", "512" },
		{ "1023", "1023" },
		{ "2048", "2048" },
		{ "1e0", "1" },
		{ "0.25", "250m" },
		{ "250m", "250m" },
		{ "+1", "1" },
		{ "1.", "1" },
		{ "1.G", "1G" },
		{ "9Ei", "9223372036854775807" },
		{ "9223372036854775807Ki", "9223372036854775807" },
		{ "9E", "9E" },
		{ "1.01E", "1010P" },
		{ "8.1k", "8100" },
		{ "6.987654321G", "6987654321" },
		{ "5.444T", "5444G" },
		{ "0.05Gi", "53687091200m" },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const char *got = canon(table[i][0]);
		if (strcmp(got, table[i][1]) != 0) {
			fprintf(stderr, "%s: expected %s, got %s\n", table[i][0], table[i][1], got);
			fail();
		}
	}
}

static void test_negative_quantities_print_with_a_sign(void **state)
{
	assert_string_equal(canon("-1Ki"), "-1Ki");
	assert_string_equal(canon("-1024Mi"), "-1Gi");
	assert_string_equal(canon("-0.5"), "-500m");
	assert_string_equal(canon("-.000000000001Ki"), "-2n");
	assert_string_equal(canon("-0"), "0");
	assert_string_equal(canon("-0Mi"), "0");
}

static void test_amounts_finer_than_a_nano_round_up(void **state)
{
	assert_string_equal(canon("3.001n"), "4n");
	assert_string_equal(canon("1.1E-9"), "2e-9");
	assert_string_equal(canon("0.0000000001"), "1n");
	assert_string_equal(canon("0.0000000005"), "1n");
	assert_string_equal(canon("0.5e-9"), "1e-9");
	assert_string_equal(canon("0.9n"), "1n");
	assert_string_equal(canon("0.00000012345"), "124n");
	assert_string_equal(canon("1e-1000"), "1e-9");
}

static void test_suffix_families_are_remembered(void **state)
{
	assert_int_equal(Q("1Ki").format, QTY_BINARY_SI);
	assert_int_equal(Q("1k").format, QTY_DECIMAL_SI);
	assert_int_equal(Q("1e3").format, QTY_DECIMAL_EXPONENT);
	assert_int_equal(Q("0Ki").format, QTY_BINARY_SI);
	/* A binary amount below one becomes decimal, as upstream does. */
	assert_int_equal(Q(".000000000001Ki").format, QTY_DECIMAL_SI);
	assert_int_equal(Q("0.5Mi").format, QTY_BINARY_SI);
}

static void test_parsed_values_are_exact(void **state)
{
	struct qty q = Q("3Ei");
	assert_true(q.units == 3ull << 60 && q.nanos == 0);
	q = Q("100.035Ki");
	assert_true(q.units == 102435 && q.nanos == 840000000);
	q = Q("7.123456M");
	assert_true(q.units == 7123456);
	q = Q("1e1000");
	assert_true(q.units == (uint64_t)INT64_MAX);
}

static void test_decimal_amounts_past_int64_are_capped_too(void **state)
{
	/* Upstream caps only binary suffixes and keeps "12E" exactly; we cap every
	 * family at 2^63-1, which its documentation promises and resources need. */
	assert_string_equal(canon("12E"), "9223372036854775807");
	assert_string_equal(canon("1e30"), "9223372036854775807");
	assert_string_equal(canon("-1e30"), "-9223372036854775807");
}

static void test_invalid_quantities_are_rejected(void **state)
{
	static const char *const bad[] = {
		"1.1.M", "1+1.0M", "0.1mi",   "0.1am", "aoeu", ".5i",
		"1i",    "-3.01i", "-3.01e-", " 1",    "1 ",   "",
		"1e",    "1Mi3",   "1e3i",    "--1",   "1,5",  "1e99999999999999999999",
		"0x10"
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct qty q;
		struct err e = { 0 };
		if (qty_parse(bad[i], &q, &e) != -EINVAL) {
			fprintf(stderr, "\"%s\" parsed\n", bad[i]);
			fail();
		}
		assert_true(strstr(e.msg, "quantities must match") || strstr(e.msg, "suffix"));
	}
	struct qty q;
	assert_int_equal(qty_parse(NULL, &q, NULL), -EINVAL);
	char big[1100];
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(qty_parse(big, &q, NULL), -EINVAL);
}

static void test_quirky_forms_parse_as_upstream(void **state)
{
	/* Upstream's scanner reads these as zero or as plain numbers. */
	assert_string_equal(canon("."), "0");
	assert_string_equal(canon("-."), "0");
	assert_string_equal(canon("-"), "0");
	assert_string_equal(canon("00"), "0");
	assert_string_equal(canon("007"), "7");
	assert_string_equal(canon("0.5e-1"), "50e-3");
	assert_string_equal(canon("1.3E+6"), "1300e3");
}

static void test_compare_add_and_subtract(void **state)
{
	struct qty a = Q("1"), b = Q("1000m"), c = Q("1.5");
	assert_int_equal(qty_cmp(&a, &b), 0);
	assert_int_equal(qty_cmp(&a, &c), -1);
	assert_int_equal(qty_cmp(&c, &a), 1);
	struct qty n = Q("-2"), z = Q("0");
	assert_int_equal(qty_cmp(&n, &z), -1);
	assert_int_equal(qty_cmp(&z, &n), 1);
	char out[QTY_STR_MAX];

	struct qty s = Q("100m");
	assert_int_equal(qty_add(&s, &c), 0);
	assert_string_equal(qty_format(&s, out), "1600m");
	assert_int_equal(qty_sub(&s, QP("2")), 0);
	assert_string_equal(qty_format(&s, out), "-400m");
	assert_int_equal(qty_add(&s, QP("400m")), 0);
	assert_true(qty_is_zero(&s));
	assert_string_equal(qty_format(&s, out), "0");

	/* Adding zero keeps the suffix family, from either side. */
	struct qty g = Q("1Gi");
	assert_int_equal(qty_add(&g, &z), 0);
	assert_string_equal(qty_format(&g, out), "1Gi");
	struct qty z2 = Q("0");
	assert_int_equal(qty_add(&z2, QP("1Gi")), 0);
	assert_string_equal(qty_format(&z2, out), "1Gi");
	struct qty z3 = Q("0");
	assert_int_equal(qty_sub(&z3, QP("100m")), 0);
	assert_string_equal(qty_format(&z3, out), "-100m");

	struct qty m = Q("512Mi");
	assert_int_equal(qty_add(&m, QP("512Mi")), 0);
	assert_string_equal(qty_format(&m, out), "1Gi");
}

static void test_arithmetic_past_the_cap_is_an_error(void **state)
{
	struct qty big = Q("9Ei"), one = Q("1"), keep = big;
	assert_int_equal(qty_add(&big, &one), -ERANGE);
	assert_int_equal(qty_cmp(&big, &keep), 0);
	struct qty neg = Q("-9Ei");
	assert_int_equal(qty_sub(&neg, QP("1n")), -ERANGE);
	assert_int_equal(qty_sub(&big, &one), 0);
}

static void test_value_and_milli_round_away_from_zero(void **state)
{
	int64_t v;
	assert_int_equal(qty_value(QP("1.5"), &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(qty_value(QP("-1.5"), &v), 0);
	assert_int_equal(v, -2);
	assert_int_equal(qty_value(QP("1Gi"), &v), 0);
	assert_int_equal(v, 1073741824);
	assert_int_equal(qty_milli(QP("250m"), &v), 0);
	assert_int_equal(v, 250);
	assert_int_equal(qty_milli(QP("1n"), &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(qty_milli(QP("2"), &v), 0);
	assert_int_equal(v, 2000);
	assert_int_equal(qty_milli(QP("9Ei"), &v), -ERANGE);
	assert_int_equal(qty_value(QP("9Ei"), &v), 0);
	assert_true(v == INT64_MAX);
}

static void test_constructors_and_json_numbers(void **state)
{
	struct qty q;
	char out[QTY_STR_MAX];
	qty_from_int(&q, 2048, QTY_BINARY_SI);
	assert_string_equal(qty_format(&q, out), "2Ki");
	qty_from_milli(&q, 1500, QTY_DECIMAL_SI);
	assert_string_equal(qty_format(&q, out), "1500m");
	qty_from_milli(&q, -3000, QTY_DECIMAL_SI);
	assert_string_equal(qty_format(&q, out), "-3");
	cJSON *j = J("[2, 0.5, '64Mi', true]");
	assert_int_equal(qty_from_json(cJSON_GetArrayItem(j, 0), &q, NULL), 0);
	assert_string_equal(qty_format(&q, out), "2");
	assert_int_equal(qty_from_json(cJSON_GetArrayItem(j, 1), &q, NULL), 0);
	assert_string_equal(qty_format(&q, out), "500m");
	assert_int_equal(qty_from_json(cJSON_GetArrayItem(j, 2), &q, NULL), 0);
	assert_string_equal(qty_format(&q, out), "64Mi");
	assert_int_equal(qty_from_json(cJSON_GetArrayItem(j, 3), &q, NULL), -EINVAL);
	cJSON_Delete(j);
}

static void test_random_quantity_text_never_crashes(void **state)
{
	static const char alphabet[] = "0123456789.+-eEinumkKMGTPx ";
	uint32_t seed = 99;
	char s[20], out[QTY_STR_MAX];
	for (int i = 0; i < 4000; i++) {
		size_t n = test_rand(&seed) % (sizeof(s) - 1);
		for (size_t j = 0; j < n; j++)
			s[j] = alphabet[test_rand(&seed) % (sizeof(alphabet) - 1)];
		s[n] = '\0';
		struct qty q, again;
		if (qty_parse(s, &q, NULL) == 0) {
			/* The canonical form parses back to the same amount. */
			qty_format(&q, out);
			assert_int_equal(qty_parse(out, &again, NULL), 0);
			assert_int_equal(qty_cmp(&q, &again), 0);
		}
	}
}

/* ---- pods ------------------------------------------------------------------------ */

static void test_limits_only_container_gets_equal_requests(void **state)
{
	cJSON *pod = J("{'kind':'Pod','spec':{'containers':[{'name':'a','resources':"
	               "{'limits':{'cpu':'500m','memory':'128Mi'}}},"
	               "{'name':'b','resources':{'limits':{'cpu':'1'},'requests':{'cpu':'0.1',"
	               "'memory':'1e6'}}},{'name':'c'}],"
	               "'initContainers':[{'name':'i','resources':{'limits':{'memory':'1Gi'}}}]}}");
	assert_int_equal(obj_pod_default_resources(pod, NULL), 0);
	assert_json(obj_get(pod, "spec.containers[0].resources"),
	            "{'limits':{'cpu':'500m','memory':'128Mi'},'requests':{'cpu':'500m','memory':"
	            "'128Mi'}}");
	/* Requests already set stay; quantities come out canonical. */
	assert_json(obj_get(pod, "spec.containers[1].resources"),
	            "{'limits':{'cpu':'1'},'requests':{'cpu':'100m','memory':'1e6'}}");
	assert_null(obj_get(pod, "spec.containers[2].resources"));
	assert_json(obj_get(pod, "spec.initContainers[0].resources.requests"), "{'memory':'1Gi'}");
	cJSON_Delete(pod);
}

static void test_bad_pod_quantities_are_reported_with_their_field(void **state)
{
	struct err e = { 0 };
	cJSON *pod =
	    J("{'spec':{'containers':[{'name':'a','resources':{'limits':{'cpu':'lots'}}}]}}");
	assert_int_equal(obj_pod_default_resources(pod, &e), -EINVAL);
	assert_true(strstr(e.msg, "spec.containers[0].resources.limits.cpu: quantity \"lots\"") ==
	            e.msg);
	cJSON_Delete(pod);
	pod = J("{'spec':{'containers':[{'name':'a','resources':{'requests':{'memory':'-1'}}}]}}");
	assert_int_equal(obj_pod_default_resources(pod, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "greater than or equal to 0"));
	cJSON_Delete(pod);
	pod = J("{'spec':{'containers':[{'name':'a','resources':{'limits':['x']}}]}}");
	assert_int_equal(obj_pod_default_resources(pod, &e), -EINVAL);
	cJSON_Delete(pod);
}

static enum obj_qos qos(const char *pod)
{
	cJSON *p = J(pod);
	enum obj_qos q = obj_pod_qos(p);
	cJSON_Delete(p);
	return q;
}

static void test_qos_classes_follow_upstream_rules(void **state)
{
	assert_int_equal(qos("{'spec':{'containers':[{'name':'a'}]}}"), OBJ_QOS_BEST_EFFORT);
	assert_int_equal(
	    qos("{'spec':{'containers':[{'name':'a','resources':{'requests':{'nvidia.com/gpu':"
	        "'1'}}}]}}"),
	    OBJ_QOS_BEST_EFFORT);
	assert_int_equal(qos("{'spec':{'containers':[{'name':'a','resources':{'requests':{'cpu':"
	                     "'100m'}}}]}}"),
	                 OBJ_QOS_BURSTABLE);
	assert_int_equal(qos("{'spec':{'containers':[{'name':'a','resources':{"
	                     "'limits':{'cpu':'1','memory':'1Gi'},"
	                     "'requests':{'cpu':'1000m','memory':'1024Mi'}}}]}}"),
	                 OBJ_QOS_GUARANTEED);
	/* Limits alone on both resources: requests default to them, so Guaranteed. */
	cJSON *p = J("{'spec':{'containers':[{'name':'a','resources':{'limits':{'cpu':'1','memory':"
	             "'1Gi'}}}]}}");
	assert_int_equal(obj_pod_default_resources(p, NULL), 0);
	assert_int_equal(obj_pod_qos(p), OBJ_QOS_GUARANTEED);
	cJSON_Delete(p);
	/* One container without memory limit makes the pod Burstable. */
	assert_int_equal(
	    qos("{'spec':{'containers':[{'name':'a','resources':{"
	        "'limits':{'cpu':'1','memory':'1Gi'},'requests':{'cpu':'1','memory':'1Gi'}}},"
	        "{'name':'b','resources':{'limits':{'cpu':'1'},'requests':{'cpu':'1'}}}]}}"),
	    OBJ_QOS_BURSTABLE);
	assert_int_equal(
	    qos("{'spec':{'containers':[{'name':'a','resources':{"
	        "'limits':{'cpu':'2','memory':'1Gi'},'requests':{'cpu':'1','memory':'1Gi'}}}]}}"),
	    OBJ_QOS_BURSTABLE);
	/* Zero amounts do not count. */
	assert_int_equal(
	    qos("{'spec':{'containers':[{'name':'a','resources':{'requests':{'cpu':'0'},"
	        "'limits':{'memory':'0'}}}]}}"),
	    OBJ_QOS_BEST_EFFORT);
	/* Pod-level resources decide when present. */
	assert_int_equal(
	    qos("{'spec':{'resources':{'limits':{'cpu':'1','memory':'1Gi'},"
	        "'requests':{'cpu':'1','memory':'1Gi'}},'containers':[{'name':'a'}]}}"),
	    OBJ_QOS_GUARANTEED);
	assert_string_equal(obj_qos_name(OBJ_QOS_BEST_EFFORT), "BestEffort");
	assert_string_equal(obj_qos_name(OBJ_QOS_BURSTABLE), "Burstable");
	assert_string_equal(obj_qos_name(OBJ_QOS_GUARANTEED), "Guaranteed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_forms_match_upstream),
		cmocka_unit_test(test_negative_quantities_print_with_a_sign),
		cmocka_unit_test(test_amounts_finer_than_a_nano_round_up),
		cmocka_unit_test(test_suffix_families_are_remembered),
		cmocka_unit_test(test_parsed_values_are_exact),
		cmocka_unit_test(test_decimal_amounts_past_int64_are_capped_too),
		cmocka_unit_test(test_invalid_quantities_are_rejected),
		cmocka_unit_test(test_quirky_forms_parse_as_upstream),
		cmocka_unit_test(test_compare_add_and_subtract),
		cmocka_unit_test(test_arithmetic_past_the_cap_is_an_error),
		cmocka_unit_test(test_value_and_milli_round_away_from_zero),
		cmocka_unit_test(test_constructors_and_json_numbers),
		cmocka_unit_test(test_random_quantity_text_never_crashes),
		cmocka_unit_test(test_limits_only_container_gets_equal_requests),
		cmocka_unit_test(test_bad_pod_quantities_are_reported_with_their_field),
		cmocka_unit_test(test_qos_classes_follow_upstream_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
