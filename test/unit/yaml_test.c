/* yaml_test: YAML request bodies to JSON as Kubernetes reads them, and JSON back to YAML. */
#include "obj-testlib.h"

static cJSON *Y(const char *text)
{
	cJSON *v = NULL;
	struct err e = { 0 };
	if (obj_yaml_parse(text, strlen(text), &v, &e) < 0) {
		fprintf(stderr, "yaml %s: %s\n", text, e.msg);
		fail();
	}
	return v;
}

/* The JSON a one-line "v: <scalar>" document gives for v. */
static const char *scalar_json(const char *scalar)
{
	char doc[256];
	snprintf(doc, sizeof(doc), "v: %s\n", scalar);
	cJSON *d = Y(doc);
	const char *s = S(obj_get(d, "v"));
	cJSON_Delete(d);
	return s;
}

static void assert_yaml_error(const char *text, const char *fragment)
{
	cJSON *v = (cJSON *)1;
	struct err e = { 0 };
	assert_int_equal(obj_yaml_parse(text, strlen(text), &v, &e), -EINVAL);
	assert_null(v);
	if (!strstr(e.msg, fragment)) {
		fprintf(stderr, "yaml %s: \"%s\" lacks \"%s\"\n", text, e.msg, fragment);
		fail();
	}
}

static void test_plain_scalars_resolve_as_yaml_1_1(void **state)
{
	static const char *const table[][2] = {
		{ "true", "true" },
		{ "True", "true" },
		{ "TRUE", "true" },
		{ "yes", "true" },
		{ "Yes", "true" },
		{ "on", "true" },
		{ "ON", "true" },
		{ "y", "true" },
		{ "Y", "true" },
		{ "false", "false" },
		{ "no", "false" },
		{ "NO", "false" },
		{ "off", "false" },
		{ "n", "false" },
		{ "null", "null" },
		{ "Null", "null" },
		{ "~", "null" },
		{ "", "null" },
		{ "123", "123" },
		{ "-17", "-17" },
		{ "+12", "12" },
		{ "0x1F", "31" },
		{ "-0x1F", "-31" },
		{ "0o17", "15" },
		{ "017", "15" },
		{ "0b101", "5" },
		{ "1_000", "1000" },
		{ "08", "8" },
		{ "3.14", "3.14" },
		{ ".5", "0.5" },
		{ "-.5", "-0.5" },
		{ "1e3", "1000" },
		{ "1.", "1" },
		{ "6.02e+23", "6.02e+23" },
		{ "1e400", "\"1e400\"" },
		{ "0x", "\"0x\"" },
		{ "12:30", "\"12:30\"" },
		{ "2001-12-14", "\"2001-12-14\"" },
		{ "abc", "\"abc\"" },
		{ "yes please", "\"yes please\"" },
		{ "-x", "\"-x\"" },
		{ "NaN", "\"NaN\"" },
		{ "inf", "\"inf\"" },
		{ "_1", "\"_1\"" },
		{ "1.2.3", "\"1.2.3\"" },
		{ "v1", "\"v1\"" },
		{ "100m", "\"100m\"" },
		{ "1Gi", "\"1Gi\"" },
		{ "nginx:1.25", "\"nginx:1.25\"" },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const char *got = scalar_json(table[i][0]);
		if (strcmp(got, table[i][1]) != 0) {
			fprintf(stderr, "%s: expected %s, got %s\n", table[i][0], table[i][1], got);
			fail();
		}
	}
}

static void test_quoted_and_block_scalars_stay_strings(void **state)
{
	assert_string_equal(scalar_json("\"true\""), "\"true\"");
	assert_string_equal(scalar_json("'123'"), "\"123\"");
	assert_string_equal(scalar_json("\"\""), "\"\"");
	assert_string_equal(scalar_json("'it''s'"), "\"it's\"");
	assert_string_equal(scalar_json("\"tab\\there\""), "\"tab\\there\"");
	cJSON *d = Y("a: |\n  yes\n  no\nb: >\n  folded\n  text\nc: |-\n  keep\n");
	assert_json(d, "{'a':'yes\\nno\\n','b':'folded text\\n','c':'keep'}");
	cJSON_Delete(d);
}

static void test_explicit_tags_are_honoured(void **state)
{
	assert_string_equal(scalar_json("!!str 123"), "\"123\"");
	assert_string_equal(scalar_json("!!str true"), "\"true\"");
	assert_string_equal(scalar_json("!!int '12'"), "12");
	assert_string_equal(scalar_json("!!float 1"), "1");
	assert_string_equal(scalar_json("!!bool yes"), "true");
	assert_string_equal(scalar_json("!!null ''"), "null");
	assert_string_equal(scalar_json("!custom x"), "\"x\"");
	assert_string_equal(scalar_json("!!binary aGVsbG8="), "\"aGVsbG8=\"");
	assert_yaml_error("v: !!int abc\n", "cannot decode `abc` as a !!int");
	assert_yaml_error("v: !!int 1.5\n", "as a !!int");
	assert_yaml_error("v: !!bool 1\n", "as a !!bool");
	assert_yaml_error("v: !!map x\n", "cannot decode a scalar");
}

static void test_infinity_and_nan_have_no_json_form(void **state)
{
	assert_yaml_error("a: 1\nv: .inf\n", "line 2, column 4: .inf has no JSON");
	assert_yaml_error("v: -.Inf\n", "has no JSON");
	assert_yaml_error("v: .nan\n", "has no JSON");
	assert_yaml_error("v: !!float .NaN\n", "has no JSON");
}

static void test_non_string_keys_become_their_text(void **state)
{
	cJSON *d = Y("1: a\ntrue: b\nyes: c\n0x10: d\n1.5: e\n\"2\": f\n1e7: g\nNO: h\n1e300: i\n");
	assert_json(d, "{'1':'a','true':'c','16':'d','1.5':'e','2':'f','1e+07':'g','false':'h',"
	               "'.inf':'i'}");
	cJSON_Delete(d);
	assert_yaml_error("null: x\n", "unsupported map key of type null");
	assert_yaml_error("~: x\n", "unsupported map key");
	assert_yaml_error("? [a, b]\n: x\n", "mapping keys must be scalars");
	assert_yaml_error("? {a: b}\n: x\n", "mapping keys must be scalars");
}

static void test_duplicate_keys_keep_the_last_value(void **state)
{
	cJSON *d = Y("a: 1\nb: 2\na: 3\n");
	assert_json(d, "{'a':3,'b':2}");
	cJSON_Delete(d);
}

static void test_anchors_aliases_and_merge_keys(void **state)
{
	cJSON *d = Y("base: &base\n  image: nginx\n  pull: Always\n"
	             "one:\n  <<: *base\n  pull: Never\n"
	             "two: *base\n"
	             "list: [&x 1, *x, *x]\n"
	             "a: &a {p: 1, q: 1}\nb: &b {q: 2, r: 2}\n"
	             "both:\n  <<: [*a, *b]\n  s: 3\n"
	             "after:\n  pull: Mine\n  <<: *base\n"
	             "&k key: v\n"
	             "ref: *k\n");
	assert_json(obj_get(d, "one"), "{'image':'nginx','pull':'Never'}");
	assert_json(obj_get(d, "two"), "{'image':'nginx','pull':'Always'}");
	assert_json(obj_get(d, "list"), "[1,1,1]");
	assert_json(obj_get(d, "both"), "{'p':1,'q':1,'r':2,'s':3}");
	assert_json(obj_get(d, "after"), "{'pull':'Mine','image':'nginx'}");
	assert_string_equal(obj_get_str(d, "ref"), "key");
	/* A quoted "<<" is an ordinary key. */
	cJSON *q = Y("'<<': {a: 1}\n");
	assert_json(q, "{'<<':{'a':1}}");
	cJSON_Delete(q);
	cJSON_Delete(d);
	assert_yaml_error("a: *nothing\n", "unknown anchor 'nothing'");
	assert_yaml_error("a:\n  <<: 5\n", "map merge requires map");
	assert_yaml_error("a:\n  <<: [5]\n", "map merge requires map");
}

static void test_alias_bombs_are_refused(void **state)
{
	const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	                   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	                   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	                   "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	                   "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
	                   "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
	assert_yaml_error(bomb, "aliases expand to too many nodes");
	char deep[2100];
	memset(deep, '[', 2000);
	deep[2000] = '\0';
	assert_yaml_error(deep, "deeper than");
}

static void test_multi_document_streams_skip_empty_documents(void **state)
{
	const char *s = "---\na: 1\n---\n# only a comment\n---\nb: 2\n...\n---\n";
	cJSON *docs;
	assert_int_equal(obj_yaml_parse_all(s, strlen(s), &docs, NULL), 0);
	assert_json(docs, "[{'a':1},{'b':2}]");
	cJSON_Delete(docs);
	assert_yaml_error(s, "expected one document, found 2");
	cJSON *v;
	assert_int_equal(obj_yaml_parse("", 0, &v, NULL), 0);
	assert_true(cJSON_IsNull(v));
	cJSON_Delete(v);
	assert_int_equal(obj_yaml_parse("# nothing\n", 10, &v, NULL), 0);
	assert_true(cJSON_IsNull(v));
	cJSON_Delete(v);
	assert_int_equal(obj_yaml_parse_all("", 0, &docs, NULL), 0);
	assert_json(docs, "[]");
	cJSON_Delete(docs);
	/* Anchors belong to their document. */
	const char *s2 = "a: &x 1\n---\nb: *x\n";
	assert_int_equal(obj_yaml_parse_all(s2, strlen(s2), &docs, NULL), -EINVAL);
}

static void test_syntax_errors_name_line_and_column(void **state)
{
	assert_yaml_error("a: b: c\n", "yaml: line 1, column 5: mapping values are not allowed");
	assert_yaml_error("a: 1\nb: [1, 2\n", "line 3");
	assert_yaml_error("a: 'open\n", "found unexpected end of stream");
	assert_yaml_error("a:\n\tb: 1\n", "found character that cannot start any token");
	assert_yaml_error("a: 1\n b: 2\nc\n", "yaml: line");
	assert_yaml_error("x: \"a\\0b\"\n", "NUL characters");
}

static void test_a_manifest_converts_as_kubectl_would_send_it(void **state)
{
	const char *yaml = "apiVersion: apps/v1\n"
	                   "kind: Deployment\n"
	                   "metadata:\n"
	                   "  name: web\n"
	                   "  labels: {app: web, tier: \"1\"}\n"
	                   "spec:\n"
	                   "  replicas: 3\n"
	                   "  selector:\n"
	                   "    matchLabels:\n"
	                   "      app: web\n"
	                   "  template:\n"
	                   "    metadata:\n"
	                   "      labels:\n"
	                   "        app: web\n"
	                   "    spec:\n"
	                   "      containers:\n"
	                   "      - name: nginx\n"
	                   "        image: nginx:1.25\n"
	                   "        args: [\"--port\", \"8080\"]\n"
	                   "        ports:\n"
	                   "        - containerPort: 8080\n"
	                   "        env:\n"
	                   "        - name: DEBUG\n"
	                   "          value: \"true\"\n"
	                   "        resources:\n"
	                   "          limits: {cpu: 500m, memory: 128Mi}\n";
	cJSON *d = Y(yaml);
	assert_json(d,
	            "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web',"
	            "'labels':{'app':'web','tier':'1'}},'spec':{'replicas':3,'selector':{"
	            "'matchLabels':{'app':'web'}},'template':{'metadata':{'labels':{'app':'web'}},"
	            "'spec':{'containers':[{'name':'nginx','image':'nginx:1.25','args':['--port',"
	            "'8080'],'ports':[{'containerPort':8080}],'env':[{'name':'DEBUG','value':"
	            "'true'}],'resources':{'limits':{'cpu':'500m','memory':'128Mi'}}}]}}}}");
	cJSON_Delete(d);
}

static void test_json_text_is_valid_yaml(void **state)
{
	const char *json = "{\"a\": [1, 2.5, \"x\", true, null], \"b\": {\"c\": \"\\u00e9\"}}";
	cJSON *d = Y(json);
	assert_json(d, "{'a':[1,2.5,'x',true,null],'b':{'c':'\xc3\xa9'}}");
	cJSON_Delete(d);
}

static void test_yaml_output_quotes_ambiguous_strings_and_reads_back(void **state)
{
	cJSON *v =
	    J("{'s':'plain','t':'true','n':'123','y':'yes','e':'','nl':'two\\nlines\\n',"
	      "'colon':'a: b','hash':'#x','num':42,'f':0.5,'b':false,'z':null,"
	      "'obj':{},'arr':[],'list':[{'name':'a','v':['1','x']}],'<<':'m','lead':' sp'}");
	struct buf out = { 0 };
	assert_int_equal(obj_yaml_print(&out, v, NULL), 0);
	assert_non_null(strstr(out.data, "s: plain\n"));
	assert_non_null(strstr(out.data, "t: \"true\"\n"));
	assert_non_null(strstr(out.data, "num: 42\n"));
	assert_non_null(strstr(out.data, "obj: {}\n"));
	assert_non_null(strstr(out.data, "list:\n- name: a\n"));
	cJSON *back = Y(out.data);
	if (!obj_equal(v, back)) {
		fprintf(stderr, "yaml was:\n%s\nread back %s\n", out.data, S(back));
		fail();
	}
	cJSON_Delete(back);
	buf_free(&out);
	cJSON_Delete(v);
}

static void test_random_yaml_never_crashes(void **state)
{
	static const char alphabet[] = "ab:- \n\t[]{},'\"&*!|>#?<%@`~.01yes";
	uint32_t seed = 7;
	char s[48];
	for (int i = 0; i < 3000; i++) {
		size_t n = test_rand(&seed) % (sizeof(s) - 1);
		for (size_t j = 0; j < n; j++)
			s[j] = alphabet[test_rand(&seed) % (sizeof(alphabet) - 1)];
		s[n] = '\0';
		cJSON *v = NULL;
		struct err e = { 0 };
		if (obj_yaml_parse_all(s, n, &v, &e) == 0) {
			/* Whatever parsed prints as YAML and reads back the same. */
			struct buf out = { 0 };
			for (cJSON *d = v->child; d; d = d->next) {
				buf_reset(&out);
				assert_int_equal(obj_yaml_print(&out, d, NULL), 0);
				cJSON *back = NULL;
				assert_int_equal(obj_yaml_parse(out.data, out.len, &back, NULL), 0);
				assert_true(obj_equal(d, back));
				cJSON_Delete(back);
			}
			buf_free(&out);
			cJSON_Delete(v);
		} else {
			assert_null(v);
			assert_true(strncmp(e.msg, "yaml: ", 6) == 0);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_scalars_resolve_as_yaml_1_1),
		cmocka_unit_test(test_quoted_and_block_scalars_stay_strings),
		cmocka_unit_test(test_explicit_tags_are_honoured),
		cmocka_unit_test(test_infinity_and_nan_have_no_json_form),
		cmocka_unit_test(test_non_string_keys_become_their_text),
		cmocka_unit_test(test_duplicate_keys_keep_the_last_value),
		cmocka_unit_test(test_anchors_aliases_and_merge_keys),
		cmocka_unit_test(test_alias_bombs_are_refused),
		cmocka_unit_test(test_multi_document_streams_skip_empty_documents),
		cmocka_unit_test(test_syntax_errors_name_line_and_column),
		cmocka_unit_test(test_a_manifest_converts_as_kubectl_would_send_it),
		cmocka_unit_test(test_json_text_is_valid_yaml),
		cmocka_unit_test(test_yaml_output_quotes_ambiguous_strings_and_reads_back),
		cmocka_unit_test(test_random_yaml_never_crashes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
