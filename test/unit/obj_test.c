/* obj_test: JSON paths, equality, Go-style printing and parsing; names, labels, UIDs, times. */
#include "obj-testlib.h"

/* ---- paths ------------------------------------------------------------------------ */

static void test_paths_reach_nested_fields_and_array_elements(void **state)
{
	cJSON *o = J("{'metadata':{'name':'web','labels':{'app':'web'}},'spec':{'replicas':3,"
	             "'paused':false,'template':{'spec':{'containers':[{'name':'a','image':'x'},"
	             "{'name':'b'}]}}}}");
	assert_string_equal(obj_get_str(o, "metadata.name"), "web");
	assert_string_equal(obj_get_str(o, "metadata.labels.app"), "web");
	assert_json(obj_get(o, "metadata.labels"), "{'app':'web'}");
	assert_string_equal(obj_get_str(o, "spec.template.spec.containers[1].name"), "b");
	assert_string_equal(obj_get_str(o, "spec.template.spec.containers[0].image"), "x");
	assert_null(obj_get(o, "spec.template.spec.containers[2]"));
	assert_null(obj_get(o, "spec.replicas.x"));
	assert_null(obj_get(o, "spec.template.spec.containers.name"));
	assert_null(obj_get(o, "spec.template.spec.containers[x]"));
	assert_null(obj_get_str(o, "spec.replicas"));
	int64_t n = 0;
	assert_true(obj_get_i64(o, "spec.replicas", &n));
	assert_int_equal(n, 3);
	assert_false(obj_get_i64(o, "metadata.name", &n));
	bool b = true;
	assert_true(obj_get_bool(o, "spec.paused", &b));
	assert_false(b);
	assert_ptr_equal(obj_get(o, ""), o);
	assert_null(obj_get(NULL, "a"));
	assert_null(obj_child(NULL, "a"));
	cJSON_Delete(o);
}

static void test_set_creates_missing_objects_and_replaces_values(void **state)
{
	cJSON *o = J("{'metadata':{'name':'a'}}");
	assert_int_equal(obj_set_str(o, "metadata.labels.app", "web", NULL), 0);
	assert_int_equal(obj_set_i64(o, "spec.replicas", 2, NULL), 0);
	assert_int_equal(obj_set_str(o, "metadata.name", "b", NULL), 0);
	assert_json(o, "{'metadata':{'name':'b','labels':{'app':'web'}},'spec':{'replicas':2}}");
	assert_int_equal(obj_set(o, "spec.list", J("[1,2]"), NULL), 0);
	assert_int_equal(obj_set_i64(o, "spec.list[1]", 5, NULL), 0);
	assert_int_equal(obj_set_i64(o, "spec.list[2]", 6, NULL), 0);
	assert_json(obj_get(o, "spec.list"), "[1,5,6]");
	cJSON_Delete(o);
}

static void test_set_refuses_to_walk_through_scalars_and_frees_the_value(void **state)
{
	cJSON *o = J("{'spec':{'replicas':2,'list':[]}}");
	struct err e = { 0 };
	assert_int_equal(obj_set_str(o, "spec.replicas.x", "y", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "not an object"));
	assert_int_equal(obj_set_str(o, "spec.list[3]", "y", &e), -EINVAL);
	assert_int_equal(obj_set_str(o, "spec.missing[0]", "y", &e), -EINVAL);
	assert_int_equal(obj_set_str(o, "", "y", &e), -EINVAL);
	assert_json(o, "{'spec':{'replicas':2,'list':[]}}");
	cJSON_Delete(o);
}

static void test_delete_removes_fields_and_elements(void **state)
{
	cJSON *o = J("{'a':{'b':1,'c':[1,2,3]},'d':2}");
	assert_true(obj_delete(o, "a.b"));
	assert_false(obj_delete(o, "a.b"));
	assert_true(obj_delete(o, "a.c[1]"));
	assert_false(obj_delete(o, "a.c[5]"));
	assert_true(obj_delete(o, "d"));
	assert_false(obj_delete(o, "x.y"));
	assert_json(o, "{'a':{'c':[1,3]}}");
	cJSON_Delete(o);
}

static void test_escaped_dots_reach_annotation_keys(void **state)
{
	cJSON *o =
	    J("{'metadata':{'annotations':{'kubectl.kubernetes.io/last-applied-configuration':"
	      "'{}'}}}");
	const char *p = "metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration";
	assert_string_equal(obj_get_str(o, p), "{}");
	assert_int_equal(obj_set_str(o, "metadata.annotations.a\\.b", "c", NULL), 0);
	assert_string_equal(obj_get_str(o, "metadata.annotations.a\\.b"), "c");
	assert_true(obj_delete(o, p));
	assert_json(o, "{'metadata':{'annotations':{'a.b':'c'}}}");
	cJSON_Delete(o);
}

/* ---- equality, copies, printing ------------------------------------------------------ */

static void test_deep_equality_ignores_key_order_but_not_array_order(void **state)
{
	cJSON *a = J("{'a':1,'b':{'c':[1,{'d':null}],'e':true}}");
	cJSON *b = J("{'b':{'e':true,'c':[1,{'d':null}]},'a':1.0}");
	cJSON *c = J("{'b':{'e':true,'c':[{'d':null},1]},'a':1}");
	cJSON *d = J("{'a':1,'b':{'c':[1,{'d':null}],'e':true},'f':0}");
	assert_true(obj_equal(a, b));
	assert_false(obj_equal(a, c));
	assert_false(obj_equal(a, d));
	assert_false(obj_equal(d, a));
	cJSON *x = obj_dup(a);
	assert_true(obj_equal(a, x));
	assert_true(obj_equal(NULL, NULL));
	assert_false(obj_equal(a, NULL));
	assert_null(obj_dup(NULL));
	cJSON *s1 = J("'1'"), *n1 = J("1");
	assert_false(obj_equal(s1, n1));
	cJSON_Delete(s1);
	cJSON_Delete(n1);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
	cJSON_Delete(d);
	cJSON_Delete(x);
}

static void test_canonical_print_sorts_keys_and_writes_numbers_as_go(void **state)
{
	cJSON *o = J("{'z':1,'a':[1.5,-0.25,1e21,1e20,123456789012,0.000001,1e-7,3.0,-2],"
	             "'m':{'y':null,'b':true}}");
	char *s = obj_print(o, OBJ_PRINT_SORTED);
	assert_string_equal(s,
	                    "{\"a\":[1.5,-0.25,1e+21,100000000000000000000,123456789012,0.000001,"
	                    "1e-7,3,-2],\"m\":{\"b\":true,\"y\":null},\"z\":1}");
	free(s);
	s = obj_print(o, 0);
	assert_true(strncmp(s, "{\"z\":1,\"a\":", 11) == 0);
	free(s);
	cJSON_Delete(o);
	cJSON *f = J("[0.1, 0.30000000000000004, 2.5e-8, 1.7976931348623157e308]");
	s = obj_print(f, 0);
	assert_string_equal(s, "[0.1,0.30000000000000004,2.5e-8,1.7976931348623157e+308]");
	free(s);
	cJSON_Delete(f);
}

static void test_print_escapes_html_and_controls_and_repairs_bad_utf8(void **state)
{
	cJSON *o = cJSON_CreateString("a<b>&\"\\\n\t\x01 \xc3\xa9 \xe2\x80\xa8 \xff\xfe end");
	char *s = obj_print(o, 0);
	assert_string_equal(s, "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\t\\u0001 \xc3\xa9 \\u2028 "
	                       "\\ufffd\\ufffd end\"");
	/* What we print is valid JSON that reads back. */
	cJSON *back;
	assert_int_equal(obj_parse(s, strlen(s), &back, NULL), 0);
	assert_true(strncmp(back->valuestring, "a<b>&\"\\\n\t\x01", 10) == 0);
	cJSON_Delete(back);
	free(s);
	cJSON_Delete(o);
}

static void test_indented_print_uses_two_spaces(void **state)
{
	cJSON *o = J("{'a':[1,{}],'b':{},'c':[]}");
	char *s = obj_print(o, OBJ_PRINT_INDENT);
	assert_string_equal(s, "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": {},\n  \"c\": []\n}");
	free(s);
	cJSON_Delete(o);
}

static void test_parse_errors_name_line_and_column(void **state)
{
	cJSON *v = (cJSON *)1;
	struct err e = { 0 };
	const char *bad = "{\n  \"a\": 1,\n  \"b\": tru\n}";
	assert_int_equal(obj_parse(bad, strlen(bad), &v, &e), -EINVAL);
	assert_null(v);
	assert_non_null(strstr(e.msg, "line 3, column"));
	assert_int_equal(obj_parse("{} x", 4, &v, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "unexpected data after the value"));
	assert_int_equal(obj_parse("", 0, &v, &e), -EINVAL);
	assert_int_equal(obj_parse("[1,2]", 3, &v, &e), -EINVAL); /* length is honoured */
	assert_int_equal(obj_parse("  [1]\n ", 7, &v, &e), 0);
	cJSON_Delete(v);
	/* Deep nesting is refused, not a stack overflow. */
	char deep[5001];
	memset(deep, '[', 5000);
	deep[5000] = '\0';
	assert_int_equal(obj_parse(deep, 5000, &v, &e), -EINVAL);
}

/* ---- names and labels ------------------------------------------------------------------ */

static void test_dns1123_labels_and_subdomains(void **state)
{
	struct err e = { 0 };
	assert_int_equal(obj_validate_dns1123_label("web-1", NULL), 0);
	assert_int_equal(obj_validate_dns1123_label("1abc", NULL), 0);
	assert_int_equal(obj_validate_dns1123_label("Web", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "RFC 1123 label"));
	assert_non_null(strstr(e.msg, "[a-z0-9]([-a-z0-9]*[a-z0-9])?"));
	assert_int_equal(obj_validate_dns1123_label("-a", NULL), -EINVAL);
	assert_int_equal(obj_validate_dns1123_label("a-", NULL), -EINVAL);
	assert_int_equal(obj_validate_dns1123_label("a.b", NULL), -EINVAL);
	assert_int_equal(obj_validate_dns1123_label("", NULL), -EINVAL);
	char long_label[70];
	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	assert_int_equal(obj_validate_dns1123_label(long_label, &e), -EINVAL);
	assert_string_equal(e.msg, "must be no more than 63 characters");
	long_label[63] = '\0';
	assert_int_equal(obj_validate_dns1123_label(long_label, NULL), 0);

	assert_int_equal(obj_validate_dns1123_subdomain("example.com", NULL), 0);
	assert_int_equal(obj_validate_dns1123_subdomain("a.b-c.d", NULL), 0);
	assert_int_equal(obj_validate_dns1123_subdomain("a..b", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "RFC 1123 subdomain"));
	assert_non_null(strstr(e.msg, "'example.com'"));
	assert_int_equal(obj_validate_dns1123_subdomain(".a", NULL), -EINVAL);
	assert_int_equal(obj_validate_dns1123_subdomain("a_b", NULL), -EINVAL);
	char sub[300];
	memset(sub, 'a', 254);
	sub[254] = '\0';
	assert_int_equal(obj_validate_dns1123_subdomain(sub, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "no more than 253"));

	assert_int_equal(obj_validate_dns1035_label("svc-1", NULL), 0);
	assert_int_equal(obj_validate_dns1035_label("1svc", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "begin with a letter"));
}

static void test_qualified_names_and_label_values(void **state)
{
	struct err e = { 0 };
	static const char *const good[] = {
		"app", "App_1.x", "example.com/MyName", "a/b", "kubernetes.io/hostname", "1"
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(obj_validate_qualified_name(good[i], NULL), 0);
	assert_int_equal(obj_validate_qualified_name("a/b/c", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "a qualified name"));
	assert_int_equal(obj_validate_qualified_name("/b", &e), -EINVAL);
	assert_string_equal(e.msg, "prefix part must be non-empty");
	assert_int_equal(obj_validate_qualified_name("Ex.com/b", &e), -EINVAL);
	assert_true(strstr(e.msg, "prefix part a lowercase RFC 1123 subdomain") == e.msg);
	assert_int_equal(obj_validate_qualified_name("a/", &e), -EINVAL);
	assert_true(strstr(e.msg, "name part must be non-empty") == e.msg);
	assert_int_equal(obj_validate_qualified_name("_a", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "name part must be made of"));
	assert_int_equal(obj_validate_qualified_name("", NULL), -EINVAL);

	assert_int_equal(obj_validate_label_value("", NULL), 0);
	assert_int_equal(obj_validate_label_value("v1.2_x-y", NULL), 0);
	assert_int_equal(obj_validate_label_value("-v", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "a valid label must be an empty string"));
	assert_int_equal(obj_validate_label_value("a b", NULL), -EINVAL);
}

static void test_label_and_annotation_objects_are_checked_whole(void **state)
{
	struct err e = { 0 };
	cJSON *l = J("{'app':'web','example.com/tier':'fe'}");
	assert_int_equal(obj_validate_labels(l, NULL), 0);
	cJSON_Delete(l);
	l = J("{'app':'web','bad key':'x'}");
	assert_int_equal(obj_validate_labels(l, &e), -EINVAL);
	assert_true(strstr(e.msg, "label key \"bad key\"") == e.msg);
	cJSON_Delete(l);
	l = J("{'app':7}");
	assert_int_equal(obj_validate_labels(l, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "must be a string"));
	cJSON_Delete(l);
	assert_int_equal(obj_validate_labels(NULL, NULL), 0);

	cJSON *a = J("{'Example.com/Some-Key':'any value at all\\n','x':''}");
	assert_int_equal(obj_validate_annotations(a, NULL), 0);
	cJSON_Delete(a);
	a = cJSON_CreateObject();
	char *big = malloc(OBJ_ANNOTATIONS_MAX + 1);
	memset(big, 'x', OBJ_ANNOTATIONS_MAX);
	big[OBJ_ANNOTATIONS_MAX] = '\0';
	cJSON_AddStringToObject(a, "k", big);
	assert_int_equal(obj_validate_annotations(a, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "262144"));
	free(big);
	cJSON_Delete(a);
}

static void test_generated_names_use_the_upstream_alphabet(void **state)
{
	char out[64];
	obj_generate_name("web-", out);
	assert_int_equal(strlen(out), 9);
	assert_true(strncmp(out, "web-", 4) == 0);
	for (int i = 4; i < 9; i++)
		assert_non_null(strchr(OBJ_GENERATE_NAME_ALPHABET, out[i]));
	assert_int_equal(obj_validate_dns1123_label(out, NULL), 0);
	char base[100];
	memset(base, 'a', 80);
	base[80] = '\0';
	obj_generate_name(base, out);
	assert_int_equal(strlen(out), 63);
	char again[64];
	obj_generate_name("web-", again);
	obj_generate_name("web-", out);
	/* Two in a row being equal would be a 1 in 14 million chance. */
	assert_string_not_equal(out, again);
}

static void test_uids_are_random_version_4(void **state)
{
	char a[37], b[37];
	obj_uid(a);
	obj_uid(b);
	assert_int_equal(strlen(a), 36);
	assert_true(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
	assert_int_equal(a[14], '4');
	assert_non_null(strchr("89ab", a[19]));
	assert_string_not_equal(a, b);
}

static void test_times_format_and_parse_as_rfc3339(void **state)
{
	char t[32], mt[40];
	obj_time_format(0, t);
	assert_string_equal(t, "1970-01-01T00:00:00Z");
	obj_time_format(1700000000, t);
	assert_string_equal(t, "2023-11-14T22:13:20Z");
	obj_microtime_format(1700000000123456LL, mt);
	assert_string_equal(mt, "2023-11-14T22:13:20.123456Z");
	int64_t s;
	int32_t ns;
	assert_int_equal(obj_time_parse("2023-11-14T22:13:20Z", &s, &ns, NULL), 0);
	assert_true(s == 1700000000 && ns == 0);
	assert_int_equal(obj_time_parse("2023-11-14T22:13:20.5+01:00", &s, &ns, NULL), 0);
	assert_true(s == 1700000000 - 3600 && ns == 500000000);
	assert_int_equal(obj_time_parse("2024-02-29T00:00:00Z", &s, NULL, NULL), 0);
	struct err e = { 0 };
	assert_int_equal(obj_time_parse("2023-02-29T00:00:00Z", &s, NULL, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "RFC 3339"));
	assert_int_equal(obj_time_parse("2023-11-14 22:13:20Z", &s, NULL, NULL), -EINVAL);
	assert_int_equal(obj_time_parse("2023-11-14T22:13:20", &s, NULL, NULL), -EINVAL);
	assert_int_equal(obj_time_parse("yesterday", &s, NULL, NULL), -EINVAL);
	assert_int_equal(obj_time_parse("", &s, NULL, NULL), -EINVAL);
}

static void test_resource_versions_are_plain_decimal(void **state)
{
	uint64_t rv;
	char out[24];
	assert_int_equal(obj_rv_parse("42", &rv, NULL), 0);
	assert_int_equal(rv, 42);
	obj_rv_format(18446744073709551615ull, out);
	assert_string_equal(out, "18446744073709551615");
	struct err e = { 0 };
	assert_int_equal(obj_rv_parse("-1", &rv, &e), -EINVAL);
	assert_string_equal(e.msg, "invalid resource version \"-1\"");
	assert_int_equal(obj_rv_parse("", &rv, NULL), -EINVAL);
	assert_int_equal(obj_rv_parse("1a", &rv, NULL), -EINVAL);
	assert_int_equal(obj_rv_parse(NULL, &rv, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_reach_nested_fields_and_array_elements),
		cmocka_unit_test(test_set_creates_missing_objects_and_replaces_values),
		cmocka_unit_test(test_set_refuses_to_walk_through_scalars_and_frees_the_value),
		cmocka_unit_test(test_delete_removes_fields_and_elements),
		cmocka_unit_test(test_escaped_dots_reach_annotation_keys),
		cmocka_unit_test(test_deep_equality_ignores_key_order_but_not_array_order),
		cmocka_unit_test(test_canonical_print_sorts_keys_and_writes_numbers_as_go),
		cmocka_unit_test(test_print_escapes_html_and_controls_and_repairs_bad_utf8),
		cmocka_unit_test(test_indented_print_uses_two_spaces),
		cmocka_unit_test(test_parse_errors_name_line_and_column),
		cmocka_unit_test(test_dns1123_labels_and_subdomains),
		cmocka_unit_test(test_qualified_names_and_label_values),
		cmocka_unit_test(test_label_and_annotation_objects_are_checked_whole),
		cmocka_unit_test(test_generated_names_use_the_upstream_alphabet),
		cmocka_unit_test(test_uids_are_random_version_4),
		cmocka_unit_test(test_times_format_and_parse_as_rfc3339),
		cmocka_unit_test(test_resource_versions_are_plain_decimal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
