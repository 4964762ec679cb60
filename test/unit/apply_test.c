/* apply_test: server-side apply (kubectl apply --server-side) and managedFields ownership. */
#include "obj-testlib.h"

#define T1 "2024-01-01T00:00:00Z"
#define T2 "2024-01-02T00:00:00Z"

static const char *const ignore_status[] = { "status", NULL };

static cJSON *do_apply(const cJSON *live, const char *config, const char *manager, bool force,
                       const char *when, int want, struct apply_conflicts *c, struct err *e)
{
	struct apply_opts o = {
		.manager = manager, .force = force, .time = when, .ignore = ignore_status
	};
	cJSON *cfg = J(config), *out = (cJSON *)1;
	struct err local = { 0 };
	int rc = apply_server_side(live, cfg, schema_for_object(cfg), &o, &out, c, e ? e : &local);
	if (rc != want) {
		fprintf(stderr, "apply by %s: rc %d (%s), wanted %d\n", manager, rc,
		        (e ? e : &local)->msg, want);
		fail();
	}
	cJSON_Delete(cfg);
	if (rc < 0) {
		assert_null(out);
		return NULL;
	}
	return out;
}

static cJSON *apply_ok(const cJSON *live, const char *config, const char *manager, const char *when)
{
	return do_apply(live, config, manager, false, when, 0, NULL, NULL);
}

/* An update (create, edit, patch) by manager from old to the new object text. */
static cJSON *update(const cJSON *old, const char *newobj, const char *manager, const char *when)
{
	struct apply_opts o = { .manager = manager, .time = when, .ignore = ignore_status };
	cJSON *n = J(newobj);
	if (old && obj_get(old, "metadata.managedFields"))
		obj_set(n, "metadata.managedFields",
		        obj_dup(obj_get(old, "metadata.managedFields")), NULL);
	assert_int_equal(apply_track_update(old, n, schema_for_object(n), &o, NULL), 0);
	return n;
}

/* The fieldsV1 of manager's entry with operation op, or NULL. */
static const cJSON *fields_of(const cJSON *obj, const char *manager, const char *op)
{
	const cJSON *mf = obj_get(obj, "metadata.managedFields");
	for (const cJSON *e = mf ? mf->child : NULL; e; e = e->next)
		if (strcmp(obj_get_str(e, "manager"), manager) == 0 &&
		    strcmp(obj_get_str(e, "operation"), op) == 0)
			return obj_child(e, "fieldsV1");
	return NULL;
}

/* The object without managedFields, for comparing content. */
static const char *content(const cJSON *obj)
{
	cJSON *d = obj_dup(obj);
	obj_delete(d, "metadata.managedFields");
	const char *s = S(d);
	cJSON_Delete(d);
	return s;
}

#define DEPLOY_V1                                                                                  \
	"{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','labels':{'app':"    \
	"'web','tier':'fe'}},'spec':{'replicas':2,'selector':{'matchLabels':{'app':'web'}},"       \
	"'template':{'metadata':{'labels':{'app':'web'}},'spec':{'containers':[{'name':'nginx',"   \
	"'image':'nginx:1','ports':[{'containerPort':80}],'env':[{'name':'FOO','value':'1'}]},"    \
	"{'name':'sidecar','image':'busybox'}]}}}}"

#define DEPLOY_V2                                                                                  \
	"{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','labels':{'app':"    \
	"'web'}},'spec':{'selector':{'matchLabels':{'app':'web'}},'template':{'metadata':{"        \
	"'labels':{'app':'web'}},'spec':{'containers':[{'name':'nginx','image':'nginx:2',"         \
	"'ports':[{'containerPort':80}]}]}}}}"

static void test_first_apply_creates_the_object_and_records_what_it_set(void **state)
{
	cJSON *out = apply_ok(NULL, DEPLOY_V1, "kubectl", T1);
	assert_string_equal(content(out), C(DEPLOY_V1));
	const cJSON *mf = obj_get(out, "metadata.managedFields");
	assert_int_equal(cJSON_GetArraySize(mf), 1);
	assert_json(
	    mf->child,
	    "{'manager':'kubectl','operation':'Apply','apiVersion':'apps/v1','time':'" T1 "',"
	    "'fieldsType':'FieldsV1','fieldsV1':{"
	    "'f:metadata':{'f:labels':{'f:app':{},'f:tier':{}}},"
	    "'f:spec':{'f:replicas':{},'f:selector':{},'f:template':{"
	    "'f:metadata':{'f:labels':{'f:app':{}}},'f:spec':{'f:containers':{"
	    "'k:{\\\"name\\\":\\\"nginx\\\"}':{'.':{},'f:env':{'k:{\\\"name\\\":\\\"FOO\\\"}':{"
	    "'.':{},'f:name':{},'f:value':{}}},'f:image':{},'f:name':{},'f:ports':{"
	    "'k:{\\\"containerPort\\\":80,\\\"protocol\\\":\\\"TCP\\\"}':{'.':{},"
	    "'f:containerPort':{}}}},"
	    "'k:{\\\"name\\\":\\\"sidecar\\\"}':{'.':{},'f:image':{},'f:name':{}}}}}}}}");
	/* fieldsV1 keys come out in upstream's order: fields by name, then keys. */
	char *s =
	    obj_print(obj_get(mf->child, "fieldsV1.f:spec.f:template.f:spec.f:containers"), 0);
	assert_true(strstr(s, "nginx") < strstr(s, "sidecar"));
	free(s);
	cJSON_Delete(out);
}

static void test_reapplying_the_same_config_changes_nothing(void **state)
{
	cJSON *one = apply_ok(NULL, DEPLOY_V1, "kubectl", T1);
	cJSON *two = apply_ok(one, DEPLOY_V1, "kubectl", T2);
	/* Not even the time: the object did not change. */
	assert_true(obj_equal(one, two));
	cJSON_Delete(one);
	cJSON_Delete(two);
}

static void test_fields_no_longer_applied_are_removed(void **state)
{
	cJSON *one = apply_ok(NULL, DEPLOY_V1, "kubectl", T1);
	/* The server defaulted and recorded some fields nobody applied. */
	obj_set_str(one, "spec.strategy.type", "RollingUpdate", NULL);
	obj_set_str(one, "spec.template.spec.containers[0].imagePullPolicy", "IfNotPresent", NULL);
	obj_set(one, "status", J("{'replicas':2}"), NULL);
	cJSON *two = apply_ok(one, DEPLOY_V2, "kubectl", T2);
	assert_null(obj_get(two, "metadata.labels.tier"));
	assert_null(obj_get(two, "spec.replicas"));
	assert_null(obj_get(two, "spec.template.spec.containers[0].env"));
	assert_int_equal(cJSON_GetArraySize(obj_get(two, "spec.template.spec.containers")), 1);
	assert_string_equal(obj_get_str(two, "spec.template.spec.containers[0].image"), "nginx:2");
	/* Fields nobody applied stay. */
	assert_string_equal(obj_get_str(two, "spec.strategy.type"), "RollingUpdate");
	assert_string_equal(obj_get_str(two, "spec.template.spec.containers[0].imagePullPolicy"),
	                    "IfNotPresent");
	assert_json(obj_get(two, "status"), "{'replicas':2}");
	assert_json(
	    fields_of(two, "kubectl", "Apply"),
	    "{'f:metadata':{'f:labels':{'f:app':{}}},'f:spec':{'f:selector':{},'f:template':{"
	    "'f:metadata':{'f:labels':{'f:app':{}}},'f:spec':{'f:containers':{"
	    "'k:{\\\"name\\\":\\\"nginx\\\"}':{'.':{},'f:image':{},'f:name':{},'f:ports':{"
	    "'k:{\\\"containerPort\\\":80,\\\"protocol\\\":\\\"TCP\\\"}':{'.':{},"
	    "'f:containerPort':{}}}}}}}}}");
	cJSON_Delete(one);
	cJSON_Delete(two);
}

static void test_fields_other_managers_own_survive_pruning(void **state)
{
	cJSON *one = apply_ok(NULL, DEPLOY_V1, "kubectl", T1);
	/* kubectl label adds a label; another applier applies the sidecar too. */
	char *text = obj_print(one, 0);
	cJSON *tmp = J(text);
	free(text);
	obj_set_str(tmp, "metadata.labels.team", "edge", NULL);
	obj_delete(tmp, "metadata.managedFields");
	char *t2 = obj_print(tmp, 0);
	cJSON *two = update(one, t2, "kubectl-label", T2);
	free(t2);
	cJSON_Delete(tmp);
	assert_json(fields_of(two, "kubectl-label", "Update"),
	            "{'f:metadata':{'f:labels':{'f:team':{}}}}");
	cJSON *three =
	    apply_ok(two,
	             "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web'},"
	             "'spec':{'template':{'spec':{'containers':[{'name':'sidecar',"
	             "'image':'busybox'}]}}}}",
	             "sidecar-owner", T2);
	cJSON *four = apply_ok(three, DEPLOY_V2, "kubectl", T2);
	assert_string_equal(obj_get_str(four, "metadata.labels.team"), "edge");
	assert_null(obj_get(four, "metadata.labels.tier"));
	cJSON *cs = (cJSON *)obj_get(four, "spec.template.spec.containers");
	assert_int_equal(cJSON_GetArraySize(cs), 2);
	assert_string_equal(obj_get_str(four, "spec.template.spec.containers[1].name"), "sidecar");
	cJSON_Delete(one);
	cJSON_Delete(two);
	cJSON_Delete(three);
	cJSON_Delete(four);
}

static void test_changing_a_field_another_manager_owns_is_a_conflict(void **state)
{
	cJSON *live = update(NULL, DEPLOY_V1, "kubectl-client-side-apply", T1);
	struct apply_conflicts c = { 0 };
	struct err e = { 0 };
	const char *scale = "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web'},"
	                    "'spec':{'replicas':5}}";
	assert_null(do_apply(live, scale, "hpa", false, T2, APPLY_E_CONFLICT, &c, &e));
	assert_int_equal(c.n, 1);
	assert_string_equal(c.v[0].manager, "kubectl-client-side-apply");
	assert_string_equal(c.v[0].operation, "Update");
	assert_string_equal(c.v[0].path, ".spec.replicas");
	assert_string_equal(e.msg, "Apply failed with 1 conflict: conflict with "
	                           "\"kubectl-client-side-apply\" using apps/v1: .spec.replicas");
	apply_conflicts_free(&c);

	/* Applying the value it already has is shared ownership, not a conflict. */
	cJSON *same =
	    apply_ok(live,
	             "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web'},"
	             "'spec':{'replicas':2}}",
	             "hpa", T2);
	assert_json(fields_of(same, "hpa", "Apply"), "{'f:spec':{'f:replicas':{}}}");
	assert_non_null(
	    obj_get(fields_of(same, "kubectl-client-side-apply", "Update"), "f:spec.f:replicas"));
	cJSON_Delete(same);

	/* --force-conflicts takes the field over. */
	cJSON *forced = do_apply(live, scale, "hpa", true, T2, 0, NULL, NULL);
	int64_t r;
	assert_true(obj_get_i64(forced, "spec.replicas", &r) && r == 5);
	assert_null(
	    obj_get(fields_of(forced, "kubectl-client-side-apply", "Update"), "f:spec.f:replicas"));
	assert_json(fields_of(forced, "hpa", "Apply"), "{'f:spec':{'f:replicas':{}}}");
	cJSON_Delete(forced);
	cJSON_Delete(live);
}

static void test_conflicts_are_listed_per_manager(void **state)
{
	cJSON *a = apply_ok(NULL, DEPLOY_V1, "alpha", T1);
	cJSON *b =
	    update(a,
	           "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web',"
	           "'labels':{'app':'web','tier':'fe'}},'spec':{'replicas':2,'paused':true,"
	           "'selector':{'matchLabels':{'app':'web'}},'template':{'metadata':{'labels':"
	           "{'app':'web'}},'spec':{'containers':[{'name':'nginx','image':'nginx:1',"
	           "'ports':[{'containerPort':80}],'env':[{'name':'FOO','value':'1'}]},{'name':"
	           "'sidecar','image':'busybox'}]}}}}",
	           "beta", T2);
	struct apply_conflicts c = { 0 };
	struct err e = { 0 };
	assert_null(
	    do_apply(b,
	             "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web'},"
	             "'spec':{'replicas':3,'paused':false,'template':{'spec':{'containers':[{"
	             "'name':'nginx','image':'nginx:9'}]}}}}",
	             "gamma", false, T2, APPLY_E_CONFLICT, &c, &e));
	assert_int_equal(c.n, 3);
	char *msg = apply_conflicts_message(&c);
	assert_string_equal(msg, "Apply failed with 3 conflicts: conflicts with \"alpha\":\n"
	                         "- .spec.replicas\n"
	                         "- .spec.template.spec.containers[name=\"nginx\"].image\n"
	                         "conflicts with \"beta\" using apps/v1:\n- .spec.paused");
	free(msg);
	apply_conflicts_free(&c);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

static void test_kubectl_takes_over_from_its_client_side_apply(void **state)
{
	/* An object made by client-side kubectl apply: annotation plus an Update entry. */
	const char *obj =
	    "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web',"
	    "'annotations':{'kubectl.kubernetes.io/last-applied-configuration':"
	    "'{\\\"apiVersion\\\":\\\"apps/v1\\\",\\\"kind\\\":\\\"Deployment\\\","
	    "\\\"metadata\\\":{\\\"name\\\":\\\"web\\\"},\\\"spec\\\":{\\\"replicas\\\":2}}\\n'}},"
	    "'spec':{'replicas':2,'paused':true}}";
	cJSON *live = update(NULL, obj, "kubectl-client-side-apply", T1);
	const char *cfg = "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web'},"
	                  "'spec':{'replicas':4}}";
	cJSON *out = apply_ok(live, cfg, "kubectl", T2);
	int64_t r;
	assert_true(obj_get_i64(out, "spec.replicas", &r) && r == 4);
	/* The annotation now describes what was applied. */
	assert_string_equal(
	    obj_get_str(out, "metadata.annotations.kubectl\\.kubernetes\\.io/"
	                     "last-applied-configuration"),
	    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
	    "\"web\"},\"spec\":{\"replicas\":4}}\n");
	cJSON_Delete(out);
	/* Fields the annotation does not describe still conflict. */
	struct apply_conflicts c = { 0 };
	assert_null(
	    do_apply(live,
	             "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web'},"
	             "'spec':{'paused':false}}",
	             "kubectl", false, T2, APPLY_E_CONFLICT, &c, NULL));
	assert_string_equal(c.v[0].path, ".spec.paused");
	apply_conflicts_free(&c);
	/* Another manager name gets no such help. */
	assert_null(do_apply(live, cfg, "other", false, T2, APPLY_E_CONFLICT, NULL, NULL));
	cJSON_Delete(live);
}

static void test_updates_record_ownership_of_what_they_change(void **state)
{
	cJSON *made = update(NULL, DEPLOY_V1, "kubectl-create", T1);
	const cJSON *f = fields_of(made, "kubectl-create", "Update");
	/* Maps and lists are owned themselves ("."), as upstream records them. */
	assert_non_null(obj_get(f, "f:metadata.f:labels.\\.")); /* "." under labels */
	assert_non_null(obj_get(f, "f:metadata.f:labels.f:tier"));
	assert_non_null(obj_get(f, "f:spec.f:replicas"));
	assert_null(obj_get(f, "f:spec.\\."));
	assert_non_null(obj_get(f, "f:spec.f:template.f:spec.f:containers.k:{\"name\":\"nginx\"}.f:"
	                           "ports.\\."));
	assert_null(obj_get(f, "f:metadata.f:name"));
	assert_null(obj_get(f, "f:apiVersion"));

	/* kubectl edit changes the image: it owns that, the creator no longer does. */
	char *text = obj_print(made, 0);
	cJSON *edited = J(text);
	free(text);
	obj_set_str(edited, "spec.template.spec.containers[0].image", "nginx:2", NULL);
	obj_delete(edited, "metadata.managedFields");
	text = obj_print(edited, 0);
	cJSON *after = update(made, text, "kubectl-edit", T2);
	free(text);
	cJSON_Delete(edited);
	const char *img = "f:spec.f:template.f:spec.f:containers.k:{\"name\":\"nginx\"}.f:image";
	assert_non_null(obj_get(fields_of(after, "kubectl-edit", "Update"), img));
	assert_null(obj_get(fields_of(after, "kubectl-create", "Update"), img));
	assert_string_equal(obj_get_str(obj_get(after, "metadata.managedFields")->child, "time"),
	                    T1);

	/* An update that changes nothing adds no entry. */
	text = obj_print(after, 0);
	cJSON *noop = J(text);
	free(text);
	obj_delete(noop, "metadata.managedFields");
	text = obj_print(noop, 0);
	cJSON *same = update(after, text, "someone", T2);
	free(text);
	assert_null(fields_of(same, "someone", "Update"));
	cJSON_Delete(noop);
	cJSON_Delete(same);
	cJSON_Delete(after);
	cJSON_Delete(made);
}

static void test_managed_fields_reset_with_one_empty_entry(void **state)
{
	cJSON *made = update(NULL, DEPLOY_V1, "kubectl-create", T1);
	char *text = obj_print(made, 0);
	cJSON *n = J(text);
	free(text);
	obj_set(n, "metadata.managedFields", J("[{}]"), NULL);
	obj_set_i64(n, "spec.replicas", 7, NULL);
	struct apply_opts o = { .manager = "reset-tool", .time = T2 };
	assert_int_equal(apply_track_update(made, n, schema_for_object(n), &o, NULL), 0);
	const cJSON *mf = obj_get(n, "metadata.managedFields");
	assert_int_equal(cJSON_GetArraySize(mf), 1);
	assert_json(fields_of(n, "reset-tool", "Update"), "{'f:spec':{'f:replicas':{}}}");
	cJSON_Delete(n);
	cJSON_Delete(made);
}

static void test_sets_are_owned_item_by_item(void **state)
{
	const char *cm =
	    "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','finalizers':"
	    "[%s]}}";
	char a[256], b[256];
	snprintf(a, sizeof(a), cm, "'example.com/a','example.com/b'");
	snprintf(b, sizeof(b), cm, "'example.com/a'");
	cJSON *one = apply_ok(NULL, a, "kubectl", T1);
	assert_json(fields_of(one, "kubectl", "Apply"),
	            "{'f:metadata':{'f:finalizers':{'v:\\\"example.com/a\\\"':{},"
	            "'v:\\\"example.com/b\\\"':{}}}}");
	/* Another manager adds its own finalizer. */
	cJSON *two = apply_ok(one,
	                      "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c',"
	                      "'finalizers':['example.com/c']}}",
	                      "ctl", T1);
	assert_json(obj_get(two, "metadata.finalizers"),
	            "['example.com/a','example.com/b','example.com/c']");
	cJSON *three = apply_ok(two, b, "kubectl", T2);
	assert_json(obj_get(three, "metadata.finalizers"), "['example.com/a','example.com/c']");
	cJSON_Delete(one);
	cJSON_Delete(two);
	cJSON_Delete(three);
}

static void test_status_is_not_applied_through_the_main_resource(void **state)
{
	cJSON *out =
	    apply_ok(NULL,
	             "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{"
	             "'containers':[{'name':'c','image':'i'}]},'status':{'phase':'Running'}}",
	             "kubectl", T1);
	assert_null(obj_get(out, "status"));
	assert_null(obj_get(fields_of(out, "kubectl", "Apply"), "f:status"));
	cJSON_Delete(out);
}

static void test_null_in_an_applied_config_clears_the_field(void **state)
{
	cJSON *one = apply_ok(NULL, DEPLOY_V1, "kubectl", T1);
	cJSON *two =
	    apply_ok(one,
	             "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web'},"
	             "'spec':{'replicas':null}}",
	             "other", T2);
	assert_null(obj_get(two, "spec.replicas"));
	cJSON_Delete(one);
	cJSON_Delete(two);
}

static void test_associative_lists_merge_by_key_and_keep_live_items(void **state)
{
	cJSON *live = J("{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{"
	                "'ports':[{'port':80,'protocol':'TCP','name':'http'},{'port':53,'protocol':"
	                "'UDP','name':'dns'}],'selector':{'a':'1','b':'2'}}}");
	cJSON *out =
	    apply_ok(live,
	             "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{"
	             "'ports':[{'port':80,'targetPort':8080},{'port':443}],'selector':{'a':"
	             "'9'}}}",
	             "kubectl", T1);
	/* Port 80 (protocol defaults to TCP) merged; 53/UDP kept; 443 added; the atomic
	 * selector replaced whole. */
	assert_json(
	    obj_get(out, "spec"),
	    "{'ports':[{'port':80,'protocol':'TCP','name':'http','targetPort':8080},{'port':53,"
	    "'protocol':'UDP','name':'dns'},{'port':443}],'selector':{'a':'9'}}");
	cJSON_Delete(live);
	cJSON_Delete(out);
}

static void test_malformed_applied_configs_are_rejected(void **state)
{
	struct err e = { 0 };
	do_apply(NULL,
	         "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{'containers':[{"
	         "'name':'a'},{'name':'a'}]}}",
	         "kubectl", false, T1, -EINVAL, NULL, &e);
	assert_non_null(strstr(e.msg, "duplicate entries for key {\"name\":\"a\"}"));
	do_apply(NULL,
	         "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{'containers':[{"
	         "'image':'x'}]}}",
	         "kubectl", false, T1, -EINVAL, NULL, &e);
	assert_non_null(strstr(e.msg, "omits key field \"name\""));
	do_apply(
	    NULL,
	    "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','managedFields':[]},'spec':{}}",
	    "kubectl", false, T1, -EINVAL, NULL, &e);
	assert_non_null(strstr(e.msg, "managedFields must be nil"));
	do_apply(NULL, "{'metadata':{'name':'p'}}", "kubectl", false, T1, -EINVAL, NULL, &e);
	do_apply(NULL, "[1]", "kubectl", false, T1, -EINVAL, NULL, &e);
	do_apply(NULL, "{'apiVersion':'v1','kind':'Pod'}", "", false, T1, -EINVAL, NULL, &e);
	assert_non_null(strstr(e.msg, "fieldManager is required"));
	/* Broken managedFields in the live object are reported, not trusted. */
	cJSON *live = J("{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','managedFields':[{"
	                "'manager':'m','operation':'Update','fieldsType':'FieldsV1','fieldsV1':{"
	                "'x:bad':{}}}]}}");
	do_apply(live, "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'}}", "kubectl", false,
	         T1, -EINVAL, NULL, &e);
	assert_non_null(strstr(e.msg, "managedFields[0].fieldsV1"));
	cJSON_Delete(live);
}

static void test_managed_fields_read_back_in_canonical_form(void **state)
{
	/* Key objects written in another order or spacing are the same path. */
	cJSON *live =
	    J("{'apiVersion':'v1','kind':'Service','metadata':{'name':'s','managedFields':[{"
	      "'manager':'m','operation':'Apply','apiVersion':'v1','time':'" T1 "',"
	      "'fieldsType':'FieldsV1','fieldsV1':{'f:spec':{'f:ports':{"
	      "'k:{\\\"protocol\\\": \\\"TCP\\\", \\\"port\\\": 80}':{'.':{},'f:port':{}}}}}}]},"
	      "'spec':{'ports':[{'port':80,'protocol':'TCP'}]}}");
	/* m stops applying the port: it is pruned, which needs the paths to match. */
	cJSON *out =
	    apply_ok(live, "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'}}", "m", T2);
	assert_null(obj_get(out, "spec.ports"));
	cJSON_Delete(live);
	cJSON_Delete(out);
}

static void test_random_applies_never_crash(void **state)
{
	static const char *const cfgs[] = {
		DEPLOY_V1,
		DEPLOY_V2,
		"{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web'},'spec':{"
		"'replicas':1}}",
		"{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web'},'spec':{"
		"'template':{'spec':{'containers':[{'name':'x','ports':[{'containerPort':1,"
		"'protocol':'UDP'}]}]}}}}",
		"{'apiVersion':'apps/"
		"v1','kind':'Deployment','metadata':{'name':'web','labels':null},"
		"'spec':{'template':null}}",
	};
	static const char *const managers[] = { "a", "b", "kubectl" };
	uint32_t seed = 5;
	cJSON *live = NULL;
	for (int i = 0; i < 200; i++) {
		const char *cfg = cfgs[test_rand(&seed) % 5];
		const char *mgr = managers[test_rand(&seed) % 3];
		bool force = test_rand(&seed) % 2;
		struct apply_opts o = { .manager = mgr, .force = force, .time = T1 };
		cJSON *c = J(cfg), *out = NULL;
		struct apply_conflicts cs = { 0 };
		int rc = apply_server_side(live, c, schema_for_object(c), &o, &out, &cs, NULL);
		assert_true(rc == 0 || rc == APPLY_E_CONFLICT);
		if (rc == 0) {
			cJSON_Delete(live);
			live = out;
		} else {
			assert_true(cs.n > 0);
		}
		apply_conflicts_free(&cs);
		cJSON_Delete(c);
	}
	cJSON_Delete(live);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_apply_creates_the_object_and_records_what_it_set),
		cmocka_unit_test(test_reapplying_the_same_config_changes_nothing),
		cmocka_unit_test(test_fields_no_longer_applied_are_removed),
		cmocka_unit_test(test_fields_other_managers_own_survive_pruning),
		cmocka_unit_test(test_changing_a_field_another_manager_owns_is_a_conflict),
		cmocka_unit_test(test_conflicts_are_listed_per_manager),
		cmocka_unit_test(test_kubectl_takes_over_from_its_client_side_apply),
		cmocka_unit_test(test_updates_record_ownership_of_what_they_change),
		cmocka_unit_test(test_managed_fields_reset_with_one_empty_entry),
		cmocka_unit_test(test_sets_are_owned_item_by_item),
		cmocka_unit_test(test_status_is_not_applied_through_the_main_resource),
		cmocka_unit_test(test_null_in_an_applied_config_clears_the_field),
		cmocka_unit_test(test_associative_lists_merge_by_key_and_keep_live_items),
		cmocka_unit_test(test_malformed_applied_configs_are_rejected),
		cmocka_unit_test(test_managed_fields_read_back_in_canonical_form),
		cmocka_unit_test(test_random_applies_never_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
