/* selector_test: label selectors (seed examples first), node affinity, field selectors. */
#include "obj-testlib.h"

/* Whether selector text matches labels given as a single-quoted JSON literal. */
static bool matches(const char *selector, const char *labels)
{
	struct sel *s = NULL;
	struct err e = { 0 };
	if (sel_parse(selector, &s, &e) < 0) {
		fprintf(stderr, "parse %s: %s\n", selector, e.msg);
		fail();
	}
	cJSON *l = J(labels);
	bool m = sel_matches(s, l);
	cJSON_Delete(l);
	sel_free(s);
	return m;
}

static const char *canonical(const char *selector)
{
	static char out[256];
	struct sel *s = NULL;
	assert_int_equal(sel_parse(selector, &s, NULL), 0);
	char *t = sel_string(s);
	snprintf(out, sizeof(out), "%s", t);
	free(t);
	sel_free(s);
	return out;
}

static void assert_parse_error(const char *selector, const char *fragment)
{
	struct sel *s = (struct sel *)1;
	struct err e = { 0 };
	assert_int_equal(sel_parse(selector, &s, &e), -EINVAL);
	assert_null(s);
	if (!strstr(e.msg, fragment)) {
		fprintf(stderr, "selector %s: message \"%s\" lacks \"%s\"\n", selector, e.msg,
		        fragment);
		fail();
	}
}

/* ---- the seed's Label section ------------------------------------------------- */

static void test_equality_selector_matches_only_that_value(void **state)
{
	assert_true(matches("environment = production", "{'environment':'production'}"));
	assert_false(matches("environment = production", "{'environment':'qa'}"));
	assert_false(matches("environment = production", "{}"));
}

static void test_not_equals_also_matches_objects_without_the_key(void **state)
{
	assert_true(matches("tier != frontend", "{'tier':'backend'}"));
	assert_false(matches("tier != frontend", "{'tier':'frontend'}"));
	assert_true(matches("tier != frontend", "{'app':'web'}"));
	assert_true(matches("tier != frontend", "{}"));
}

static void test_in_matches_any_listed_value(void **state)
{
	assert_true(matches("environment in (production, qa)", "{'environment':'production'}"));
	assert_true(matches("environment in (production, qa)", "{'environment':'qa'}"));
	assert_false(matches("environment in (production, qa)", "{'environment':'dev'}"));
	assert_false(matches("environment in (production, qa)", "{}"));
}

static void test_notin_matches_objects_without_the_key(void **state)
{
	assert_false(matches("tier notin (frontend, backend)", "{'tier':'frontend'}"));
	assert_false(matches("tier notin (frontend, backend)", "{'tier':'backend'}"));
	assert_true(matches("tier notin (frontend, backend)", "{'tier':'cache'}"));
	assert_true(matches("tier notin (frontend, backend)", "{'app':'x'}"));
}

static void test_bare_key_needs_it_and_bang_key_forbids_it(void **state)
{
	assert_true(matches("partition", "{'partition':'customerA'}"));
	assert_true(matches("partition", "{'partition':''}"));
	assert_false(matches("partition", "{}"));
	assert_true(matches("!partition", "{}"));
	assert_false(matches("!partition", "{'partition':'customerA'}"));
}

static void test_not_equals_with_the_key_excludes_objects_without_it(void **state)
{
	assert_true(matches("tier!=frontend,tier", "{'tier':'backend'}"));
	assert_false(matches("tier!=frontend,tier", "{}"));
	assert_false(matches("tier!=frontend,tier", "{'tier':'frontend'}"));
}

/* ---- grammar details ----------------------------------------------------------- */

static void test_empty_selector_matches_everything(void **state)
{
	struct sel *s;
	assert_int_equal(sel_parse("", &s, NULL), 0);
	assert_true(sel_is_everything(s));
	assert_true(sel_matches(s, NULL));
	sel_free(s);
	assert_int_equal(sel_parse("  \t ", &s, NULL), 0);
	assert_true(sel_is_everything(s));
	sel_free(s);
	assert_true(matches("", "{'a':'b'}"));
}

static void test_double_equals_and_several_requirements_are_anded(void **state)
{
	assert_true(matches("a==1,b=2", "{'a':'1','b':'2'}"));
	assert_false(matches("a==1,b=2", "{'a':'1','b':'3'}"));
	assert_true(matches("a=1 , b in (2)", "{'a':'1','b':'2'}"));
}

static void test_empty_values_and_empty_set_members_are_allowed(void **state)
{
	assert_true(matches("a=", "{'a':''}"));
	assert_false(matches("a=", "{'a':'x'}"));
	assert_true(matches("x in (foo,,baz)", "{'x':''}"));
	assert_true(matches("x in (foo,,baz)", "{'x':'baz'}"));
	assert_true(matches("x in (,foo)", "{'x':''}"));
	assert_true(matches("z notin ()", "{'z':'a'}"));
	assert_false(matches("z notin ()", "{'z':''}"));
	assert_string_equal(canonical("x in (foo,,baz),y,z notin ()"),
	                    "x in (,baz,foo),y,z notin ()");
}

static void test_keywords_work_as_keys_and_values(void **state)
{
	assert_true(matches("in=in", "{'in':'in'}"));
	assert_true(matches("notin in (in,notin)", "{'notin':'notin'}"));
	assert_true(matches("in", "{'in':'x'}"));
}

static void test_requirements_print_sorted_by_key_with_sorted_values(void **state)
{
	assert_string_equal(canonical("z=1,a in (c,b,b),!m,k"), "a in (b,c),k,!m,z=1");
	assert_string_equal(canonical("a==b,c!=d,n>5,m<3"), "a==b,c!=d,m<3,n>5");
	assert_string_equal(canonical(""), "");
}

static void test_gt_and_lt_compare_label_values_as_integers(void **state)
{
	assert_true(matches("cores>4", "{'cores':'8'}"));
	assert_false(matches("cores>4", "{'cores':'4'}"));
	assert_false(matches("cores>4", "{'cores':'many'}"));
	assert_false(matches("cores>4", "{}"));
	assert_true(matches("cores<4", "{'cores':'3'}"));
	assert_true(matches("cores<4", "{'cores':'0003'}"));
	assert_parse_error("cores>four", "must be an integer");
}

static void test_label_values_that_are_not_strings_count_as_missing(void **state)
{
	assert_false(matches("a", "{'a':1}"));
	assert_true(matches("a!=1", "{'a':1}"));
}

static void test_malformed_selectors_are_rejected_with_a_reason(void **state)
{
	assert_parse_error("x in a", "expected: '('");
	assert_parse_error("x in (a", "expected: ',' or ')'");
	assert_parse_error("x in (a b)", "expected: ',' or ')'");
	assert_parse_error("x notin", "expected: '('");
	assert_parse_error("!", "expected: identifier");
	assert_parse_error(",", "expected: !, identifier");
	assert_parse_error("a,", "identifier after ','");
	assert_parse_error("a,,b", "identifier after ','");
	assert_parse_error("=a", "expected: !, identifier");
	assert_parse_error("a b", "expected: in, notin, =, ==, !=, gt, lt");
	assert_parse_error("a=b=c", "expected: ',' or 'end of string'");
	assert_parse_error("!a=b", "expected: ',' or 'end of string'");
	assert_parse_error("a=(b)", "expected: identifier");
	assert_parse_error("a in (b,(c))", "expected: ',', or identifier");
	assert_parse_error("a>", "must be an integer");
	assert_parse_error("-a=b", "invalid label key");
	assert_parse_error("a/b/c=d", "qualified name");
	assert_parse_error("/a=b", "prefix part must be non-empty");
	assert_parse_error("Example.com/a=b", "prefix part");
	assert_parse_error("a=-b", "invalid value");
	assert_parse_error("a=b_", "invalid value");
	assert_parse_error("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=b",
	                   "no more than 63");
	assert_parse_error("a=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
	                   "no more than 63");
	assert_parse_error("a=b c", "invalid label selector \"a=b c\"");
}

static void test_valid_unusual_keys_and_values_parse(void **state)
{
	assert_true(matches("example.com/role=Web_1.x", "{'example.com/role':'Web_1.x'}"));
	assert_true(
	    matches("kubernetes.io/hostname in (node-1)", "{'kubernetes.io/hostname':'node-1'}"));
	assert_true(matches("A=B", "{'A':'B'}"));
}

static void test_random_selector_text_never_crashes(void **state)
{
	static const char alphabet[] = "ab=!(),<>  in notin\t/.-_x0";
	uint32_t seed = 12345;
	char s[24];
	for (int i = 0; i < 3000; i++) {
		size_t n = test_rand(&seed) % (sizeof(s) - 1);
		for (size_t j = 0; j < n; j++)
			s[j] = alphabet[test_rand(&seed) % (sizeof(alphabet) - 1)];
		s[n] = '\0';
		struct sel *sel = NULL;
		struct err e = { 0 };
		if (sel_parse(s, &sel, &e) == 0) {
			/* Whatever parsed must print in a form that parses to the same thing. */
			char *t = sel_string(sel);
			struct sel *again = NULL;
			assert_int_equal(sel_parse(t, &again, NULL), 0);
			char *t2 = sel_string(again);
			assert_string_equal(t, t2);
			free(t);
			free(t2);
			sel_free(again);
			sel_free(sel);
		} else {
			assert_null(sel);
			assert_true(e.msg[0] != '\0');
		}
	}
}

/* ---- LabelSelector JSON ---------------------------------------------------------- */

static bool ls_matches(const char *ls, const char *labels)
{
	cJSON *j = J(ls), *l = J(labels);
	struct sel *s = NULL;
	struct err e = { 0 };
	if (sel_from_label_selector(j, &s, &e) < 0) {
		fprintf(stderr, "label selector %s: %s\n", ls, e.msg);
		fail();
	}
	bool m = sel_matches(s, l);
	sel_free(s);
	cJSON_Delete(j);
	cJSON_Delete(l);
	return m;
}

static void test_label_selector_combines_match_labels_and_expressions(void **state)
{
	const char *ls = "{'matchLabels':{'app':'web'},'matchExpressions':["
	                 "{'key':'tier','operator':'In','values':['frontend','edge']},"
	                 "{'key':'canary','operator':'DoesNotExist'},"
	                 "{'key':'env','operator':'NotIn','values':['dev']},"
	                 "{'key':'team','operator':'Exists'}]}";
	assert_true(ls_matches(ls, "{'app':'web','tier':'edge','team':'a'}"));
	assert_false(ls_matches(ls, "{'app':'web','tier':'edge','team':'a','canary':'1'}"));
	assert_false(ls_matches(ls, "{'app':'web','tier':'edge','team':'a','env':'dev'}"));
	assert_false(ls_matches(ls, "{'app':'web','tier':'edge'}"));
	assert_false(ls_matches(ls, "{'app':'db','tier':'edge','team':'a'}"));
	cJSON *j = J(ls);
	struct sel *s;
	assert_int_equal(sel_from_label_selector(j, &s, NULL), 0);
	char *t = sel_string(s);
	assert_string_equal(t, "app=web,!canary,env notin (dev),team,tier in (edge,frontend)");
	free(t);
	sel_free(s);
	cJSON_Delete(j);
}

static void test_null_label_selector_selects_nothing_and_empty_selects_all(void **state)
{
	struct sel *s;
	assert_int_equal(sel_from_label_selector(NULL, &s, NULL), 0);
	assert_false(sel_matches(s, NULL));
	sel_free(s);
	cJSON *null = cJSON_CreateNull();
	assert_int_equal(sel_from_label_selector(null, &s, NULL), 0);
	assert_false(sel_is_everything(s));
	sel_free(s);
	cJSON_Delete(null);
	assert_true(ls_matches("{}", "{'a':'b'}"));
	assert_true(ls_matches("{'matchLabels':{}}", "{}"));
}

static void test_invalid_label_selectors_say_why(void **state)
{
	static const struct {
		const char *ls, *msg;
	} bad[] = {
		{ "{'matchExpressions':[{'key':'a','operator':'Gt','values':['1']}]}",
		  "\"Gt\" is not a valid label selector operator" },
		{ "{'matchExpressions':[{'key':'a','operator':'In','values':[]}]}",
		  "values set can't be empty" },
		{ "{'matchExpressions':[{'key':'a','operator':'Exists','values':['x']}]}",
		  "must be empty for exists" },
		{ "{'matchExpressions':[{'key':'a b','operator':'Exists'}]}", "invalid label key" },
		{ "{'matchExpressions':[{'key':'a'}]}", "operator is required" },
		{ "{'matchLabels':{'a':1}}", "must be a string" },
		{ "{'matchLabels':{'a':'b c'}}", "invalid value" },
		{ "{'matchExpressions':{}}", "must be an array" },
		{ "[1]", "must be an object" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *j = J(bad[i].ls);
		struct sel *s = (struct sel *)1;
		struct err e = { 0 };
		assert_int_equal(sel_from_label_selector(j, &s, &e), -EINVAL);
		assert_null(s);
		if (!strstr(e.msg, bad[i].msg)) {
			fprintf(stderr, "%s: \"%s\" lacks \"%s\"\n", bad[i].ls, e.msg, bad[i].msg);
			fail();
		}
		cJSON_Delete(j);
	}
}

static void test_map_selector_matches_supersets_and_empty_map_matches_all(void **state)
{
	cJSON *m = J("{'app':'web','tier':'fe'}"), *l = J("{'app':'web','tier':'fe','x':'y'}");
	struct sel *s;
	assert_int_equal(sel_from_map(m, &s, NULL), 0);
	assert_true(sel_matches(s, l));
	cJSON_DeleteItemFromObject(l, "tier");
	assert_false(sel_matches(s, l));
	sel_free(s);
	assert_int_equal(sel_from_map(NULL, &s, NULL), 0);
	assert_true(sel_is_everything(s));
	sel_free(s);
	cJSON_Delete(m);
	cJSON_Delete(l);
}

/* ---- node affinity ---------------------------------------------------------------- */

static int node_match(const char *ns, const char *node, bool *m, struct err *e)
{
	cJSON *a = J(ns), *b = J(node);
	int rc = sel_node_selector_matches(a, b, m, e);
	cJSON_Delete(a);
	cJSON_Delete(b);
	return rc;
}

static void test_node_affinity_terms_are_ored_and_expressions_anded(void **state)
{
	/* The seed's nodeAffinity example, plus a second term. */
	const char *ns =
	    "{'nodeSelectorTerms':["
	    "{'matchExpressions':[{'key':'topology.kubernetes.io/zone','operator':'In',"
	    "'values':['antarctica-east1','antarctica-west1']},"
	    "{'key':'gpu','operator':'DoesNotExist'}]},"
	    "{'matchExpressions':[{'key':'special','operator':'Exists'}]}]}";
	bool m;
	assert_int_equal(
	    node_match(ns,
	               "{'metadata':{'name':'n1','labels':{'topology.kubernetes.io/zone':"
	               "'antarctica-east1'}}}",
	               &m, NULL),
	    0);
	assert_true(m);
	assert_int_equal(node_match(ns,
	                            "{'metadata':{'name':'n1','labels':{'topology.kubernetes.io/"
	                            "zone':'antarctica-east1','gpu':'yes'}}}",
	                            &m, NULL),
	                 0);
	assert_false(m);
	assert_int_equal(
	    node_match(ns, "{'metadata':{'name':'n2','labels':{'special':''}}}", &m, NULL), 0);
	assert_true(m);
	assert_int_equal(node_match(ns, "{'metadata':{'name':'n3'}}", &m, NULL), 0);
	assert_false(m);
}

static void test_node_affinity_gt_lt_and_match_fields(void **state)
{
	bool m;
	assert_int_equal(node_match("{'nodeSelectorTerms':[{'matchExpressions':[{'key':'cores',"
	                            "'operator':'Gt','values':['4']}]}]}",
	                            "{'metadata':{'name':'n','labels':{'cores':'8'}}}", &m, NULL),
	                 0);
	assert_true(m);
	assert_int_equal(node_match("{'nodeSelectorTerms':[{'matchExpressions':[{'key':'cores',"
	                            "'operator':'Lt','values':['4']}]}]}",
	                            "{'metadata':{'name':'n','labels':{'cores':'8'}}}", &m, NULL),
	                 0);
	assert_false(m);
	const char *byname = "{'nodeSelectorTerms':[{'matchFields':[{'key':'metadata.name',"
	                     "'operator':'In','values':['edge-7']}]}]}";
	assert_int_equal(node_match(byname, "{'metadata':{'name':'edge-7'}}", &m, NULL), 0);
	assert_true(m);
	assert_int_equal(node_match(byname, "{'metadata':{'name':'edge-8'}}", &m, NULL), 0);
	assert_false(m);
	const char *notname = "{'nodeSelectorTerms':[{'matchFields':[{'key':'metadata.name',"
	                      "'operator':'NotIn','values':['edge-7']}]}]}";
	assert_int_equal(node_match(notname, "{'metadata':{'name':'edge-8'}}", &m, NULL), 0);
	assert_true(m);
}

static void test_empty_node_selector_term_matches_nothing(void **state)
{
	bool m = true;
	assert_int_equal(
	    node_match("{'nodeSelectorTerms':[{}]}", "{'metadata':{'name':'n'}}", &m, NULL), 0);
	assert_false(m);
	assert_int_equal(
	    node_match("{'nodeSelectorTerms':[]}", "{'metadata':{'name':'n'}}", &m, NULL), 0);
	assert_false(m);
}

static void test_invalid_node_term_is_reported_while_other_terms_still_match(void **state)
{
	struct err e = { 0 };
	bool m;
	const char *ns = "{'nodeSelectorTerms':["
	                 "{'matchExpressions':[{'key':'a','operator':'Gt','values':['x']}]},"
	                 "{'matchExpressions':[{'key':'b','operator':'Exists'}]}]}";
	assert_int_equal(node_match(ns, "{'metadata':{'name':'n','labels':{'b':'1'}}}", &m, &e), 0);
	assert_true(m);
	assert_int_equal(node_match(ns, "{'metadata':{'name':'n','labels':{'a':'1'}}}", &m, &e),
	                 -EINVAL);
	assert_false(m);
	assert_non_null(strstr(e.msg, "must be an integer"));
	assert_int_equal(node_match("{'nodeSelectorTerms':[{'matchExpressions':[{'key':'a',"
	                            "'operator':'Near','values':['x']}]}]}",
	                            "{'metadata':{'name':'n'}}", &m, &e),
	                 -EINVAL);
	assert_non_null(strstr(e.msg, "not a valid node selector operator"));
	assert_int_equal(node_match("{'nodeSelectorTerms':[{'matchFields':[{'key':'metadata.name',"
	                            "'operator':'Exists'}]}]}",
	                            "{'metadata':{'name':'n'}}", &m, &e),
	                 -EINVAL);
	assert_non_null(strstr(e.msg, "unsupported operator"));
}

/* ---- field selectors ---------------------------------------------------------------- */

static bool fmatches(const char *selector, const char *obj)
{
	struct fsel *s = NULL;
	struct err e = { 0 };
	if (fsel_parse(selector, &s, &e) < 0) {
		fprintf(stderr, "field selector %s: %s\n", selector, e.msg);
		fail();
	}
	cJSON *o = J(obj);
	bool m = fsel_matches_json(s, o);
	cJSON_Delete(o);
	fsel_free(s);
	return m;
}

static void test_field_selector_matches_pod_fields(void **state)
{
	const char *pod =
	    "{'metadata':{'name':'web-1','namespace':'default'},"
	    "'spec':{'nodeName':'edge-1','hostNetwork':true},'status':{'phase':'Running'}}";
	assert_true(fmatches("metadata.name=web-1", pod));
	assert_true(fmatches("metadata.name==web-1,metadata.namespace=default", pod));
	assert_true(fmatches("spec.nodeName=edge-1,status.phase!=Pending", pod));
	assert_false(fmatches("spec.nodeName=edge-2", pod));
	assert_true(fmatches("spec.hostNetwork=true", pod));
	assert_true(fmatches("", pod));
	/* A missing field reads as "": unscheduled pods are spec.nodeName= . */
	assert_true(fmatches("spec.nodeName=", "{'spec':{}}"));
	assert_false(fmatches("spec.nodeName!=", "{'spec':{}}"));
}

static void test_field_selector_matches_event_involved_object(void **state)
{
	const char *ev = "{'involvedObject':{'kind':'Pod','name':'web-1','namespace':'default',"
	                 "'uid':'1234'},'reason':'Scheduled'}";
	assert_true(fmatches("involvedObject.kind=Pod,involvedObject.name=web-1", ev));
	assert_true(fmatches("involvedObject.uid=1234,involvedObject.namespace=default", ev));
	assert_false(fmatches("involvedObject.kind=Node", ev));
}

static void test_field_selector_values_use_backslash_escapes(void **state)
{
	struct fsel *s;
	assert_int_equal(fsel_parse("a=x\\,y\\=z\\\\,b!=2", &s, NULL), 0);
	assert_int_equal(s->n, 2);
	assert_string_equal(s->terms[0].field, "a");
	assert_string_equal(s->terms[0].value, "x,y=z\\");
	assert_true(s->terms[1].negate);
	char *t = fsel_string(s);
	assert_string_equal(t, "a=x\\,y\\=z\\\\,b!=2");
	free(t);
	assert_string_equal(fsel_exact(s, "a"), "x,y=z\\");
	assert_null(fsel_exact(s, "b"));
	fsel_free(s);
}

static void test_malformed_field_selectors_are_rejected(void **state)
{
	static const struct {
		const char *s, *msg;
	} bad[] = {
		{ "a", "can't understand 'a'" },
		{ "a=b,c", "can't understand 'c'" },
		{ "a=b=c", "unescaped character" },
		{ "a=b\\x", "invalid escape sequence: \\x" },
		{ "a=b\\", "invalid escape sequence" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fsel *s = (struct fsel *)1;
		struct err e = { 0 };
		assert_int_equal(fsel_parse(bad[i].s, &s, &e), -EINVAL);
		assert_null(s);
		if (!strstr(e.msg, bad[i].msg)) {
			fprintf(stderr, "%s: \"%s\" lacks \"%s\"\n", bad[i].s, e.msg, bad[i].msg);
			fail();
		}
	}
	struct fsel *s;
	assert_int_equal(fsel_parse("a=1,,b=2", &s, NULL), 0);
	assert_int_equal(s->n, 2);
	fsel_free(s);
}

static bool pod_getter(void *ctx, const char *field, const char **value)
{
	const cJSON *pod = ctx;
	if (strcmp(field, "metadata.name") == 0 || strcmp(field, "spec.nodeName") == 0) {
		const char *v = obj_get_str(pod, field);
		*value = v ? v : "";
		return true;
	}
	return false;
}

static void test_field_selector_getter_rejects_unsupported_fields(void **state)
{
	cJSON *pod = J("{'metadata':{'name':'a'},'spec':{'nodeName':'n1'}}");
	struct fsel *s;
	struct err e = { 0 };
	bool m;
	assert_int_equal(fsel_parse("spec.nodeName=n1,metadata.name!=b", &s, NULL), 0);
	assert_int_equal(fsel_matches(s, pod_getter, pod, &m, &e), 0);
	assert_true(m);
	fsel_free(s);
	assert_int_equal(fsel_parse("spec.restartPolicy=Always", &s, NULL), 0);
	assert_int_equal(fsel_matches(s, pod_getter, pod, &m, &e), -EINVAL);
	assert_string_equal(e.msg, "field label not supported: spec.restartPolicy");
	static const char *const allowed[] = { "metadata.name", "spec.nodeName", NULL };
	assert_int_equal(fsel_check_fields(s, allowed, &e), -EINVAL);
	fsel_free(s);
	cJSON_Delete(pod);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equality_selector_matches_only_that_value),
		cmocka_unit_test(test_not_equals_also_matches_objects_without_the_key),
		cmocka_unit_test(test_in_matches_any_listed_value),
		cmocka_unit_test(test_notin_matches_objects_without_the_key),
		cmocka_unit_test(test_bare_key_needs_it_and_bang_key_forbids_it),
		cmocka_unit_test(test_not_equals_with_the_key_excludes_objects_without_it),
		cmocka_unit_test(test_empty_selector_matches_everything),
		cmocka_unit_test(test_double_equals_and_several_requirements_are_anded),
		cmocka_unit_test(test_empty_values_and_empty_set_members_are_allowed),
		cmocka_unit_test(test_keywords_work_as_keys_and_values),
		cmocka_unit_test(test_requirements_print_sorted_by_key_with_sorted_values),
		cmocka_unit_test(test_gt_and_lt_compare_label_values_as_integers),
		cmocka_unit_test(test_label_values_that_are_not_strings_count_as_missing),
		cmocka_unit_test(test_malformed_selectors_are_rejected_with_a_reason),
		cmocka_unit_test(test_valid_unusual_keys_and_values_parse),
		cmocka_unit_test(test_random_selector_text_never_crashes),
		cmocka_unit_test(test_label_selector_combines_match_labels_and_expressions),
		cmocka_unit_test(test_null_label_selector_selects_nothing_and_empty_selects_all),
		cmocka_unit_test(test_invalid_label_selectors_say_why),
		cmocka_unit_test(test_map_selector_matches_supersets_and_empty_map_matches_all),
		cmocka_unit_test(test_node_affinity_terms_are_ored_and_expressions_anded),
		cmocka_unit_test(test_node_affinity_gt_lt_and_match_fields),
		cmocka_unit_test(test_empty_node_selector_term_matches_nothing),
		cmocka_unit_test(test_invalid_node_term_is_reported_while_other_terms_still_match),
		cmocka_unit_test(test_field_selector_matches_pod_fields),
		cmocka_unit_test(test_field_selector_matches_event_involved_object),
		cmocka_unit_test(test_field_selector_values_use_backslash_escapes),
		cmocka_unit_test(test_malformed_field_selectors_are_rejected),
		cmocka_unit_test(test_field_selector_getter_rejects_unsupported_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
