/* patch_test: JSON patch, JSON merge patch and strategic merge patch as kubectl sends them. */
#include "obj-testlib.h"

/* ---- helpers ---------------------------------------------------------------------- */

static cJSON *jpatch(const char *doc, const char *ops, int want, const char *msg)
{
	cJSON *d = J(doc), *o = J(ops), *out = (cJSON *)1;
	struct err e = { 0 };
	int rc = patch_json(d, o, &out, &e);
	if (rc != want || (msg && !strstr(e.msg, msg))) {
		fprintf(stderr, "json patch %s: rc %d, message \"%s\"\n", ops, rc, e.msg);
		fail();
	}
	if (rc < 0)
		assert_null(out);
	cJSON_Delete(d);
	cJSON_Delete(o);
	return rc < 0 ? NULL : out;
}

static void assert_jpatch(const char *doc, const char *ops, const char *want)
{
	cJSON *out = jpatch(doc, ops, 0, NULL);
	assert_json(out, want);
	cJSON_Delete(out);
}

static void assert_merge(const char *doc, const char *patch, const char *want)
{
	cJSON *d = J(doc), *p = J(patch), *out = NULL;
	assert_int_equal(patch_merge(d, p, &out, NULL), 0);
	assert_json(out, want);
	cJSON_Delete(d);
	cJSON_Delete(p);
	cJSON_Delete(out);
}

/* Applies a strategic patch to doc with doc's kind; returns the result or NULL on error. */
static cJSON *smp(const char *doc, const char *patch, struct err *e)
{
	cJSON *d = J(doc), *p = J(patch), *out = (cJSON *)1;
	int rc = patch_strategic(d, p, schema_for_object(d), &out, e);
	if (rc < 0)
		assert_null(out);
	cJSON_Delete(d);
	cJSON_Delete(p);
	return rc < 0 ? NULL : out;
}

static void assert_smp(const char *doc, const char *patch, const char *want)
{
	struct err e = { 0 };
	cJSON *out = smp(doc, patch, &e);
	if (!out) {
		fprintf(stderr, "strategic patch %s failed: %s\n", patch, e.msg);
		fail();
	}
	if (strcmp(S(out), C(want)) != 0) {
		fprintf(stderr, "strategic patch %s\n  got  %s\n  want %s\n", patch, S(out),
		        C(want));
		fail();
	}
	cJSON_Delete(out);
}

static void assert_smp_error(const char *doc, const char *patch, const char *msg)
{
	struct err e = { 0 };
	cJSON *out = smp(doc, patch, &e);
	if (out || !strstr(e.msg, msg)) {
		fprintf(stderr, "strategic patch %s: expected error \"%s\", got \"%s\"\n", patch,
		        msg, e.msg);
		fail();
	}
}

/* ---- JSON patch --------------------------------------------------------------------- */

static void test_json_patch_adds_removes_and_replaces(void **state)
{
	assert_jpatch("{'a':1,'l':[1,2]}",
	              "[{'op':'add','path':'/b','value':{'c':2}},"
	              "{'op':'add','path':'/l/1','value':9},{'op':'add','path':'/l/-','value':3},"
	              "{'op':'replace','path':'/a','value':'x'},{'op':'remove','path':'/l/0'},"
	              "{'op':'add','path':'/b/c','value':3}]",
	              "{'a':'x','l':[9,2,3],'b':{'c':3}}");
	/* add on an existing member replaces it. */
	assert_jpatch("{'a':1}", "[{'op':'add','path':'/a','value':[1]}]", "{'a':[1]}");
	assert_jpatch("{'l':[]}", "[{'op':'add','path':'/l/0','value':1}]", "{'l':[1]}");
}

static void test_json_patch_pointers_unescape_tilde_and_slash(void **state)
{
	assert_jpatch("{'metadata':{'annotations':{'a/b':'1','m~n':'2'}}}",
	              "[{'op':'replace','path':'/metadata/annotations/a~1b','value':'x'},"
	              "{'op':'remove','path':'/metadata/annotations/m~0n'}]",
	              "{'metadata':{'annotations':{'a/b':'x'}}}");
	assert_jpatch("{'':{'':1}}", "[{'op':'replace','path':'//','value':2}]", "{'':{'':2}}");
	jpatch("{}", "[{'op':'add','path':'/a~2','value':1}]", -EINVAL, "'~' must be followed");
	jpatch("{}", "[{'op':'add','path':'a','value':1}]", -EINVAL, "must be empty or start with");
}

static void test_json_patch_moves_copies_and_tests(void **state)
{
	assert_jpatch(
	    "{'a':{'b':1},'l':[1,2,3]}",
	    "[{'op':'test','path':'/a/b','value':1},{'op':'move','from':'/a/b','path':'/c'},"
	    "{'op':'copy','from':'/l','path':'/m'},{'op':'move','from':'/l/0','path':'/l/-'},"
	    "{'op':'test','path':'/l','value':[2,3,1]}]",
	    "{'a':{},'c':1,'l':[2,3,1],'m':[1,2,3]}");
	assert_jpatch("{'a':1}", "[{'op':'move','from':'/a','path':'/a'}]", "{'a':1}");
	/* A missing value passes a test for null, as upstream's library has it. */
	assert_jpatch("{'a':1}", "[{'op':'test','path':'/b','value':null}]", "{'a':1}");
}

static void test_json_patch_whole_document_operations(void **state)
{
	assert_jpatch("{'a':1}", "[{'op':'replace','path':'','value':{'b':2}}]", "{'b':2}");
	assert_jpatch("{'a':1}", "[{'op':'add','path':'','value':[1]}]", "[1]");
	assert_jpatch("{'a':1}", "[]", "{'a':1}");
	jpatch("{'a':1}", "[{'op':'remove','path':''}]", -EINVAL, "whole document");
}

static void test_json_patch_failures_apply_nothing(void **state)
{
	const char *doc = "{'a':{'b':1},'l':[1,2]}";
	jpatch(doc, "[{'op':'add','path':'/x/y','value':1}]", -EINVAL,
	       "add operation does not apply: doc is missing path: \"/x/y\"");
	jpatch(doc, "[{'op':'remove','path':'/a/c'}]", -EINVAL,
	       "remove operation does not apply: doc is missing path");
	jpatch(doc, "[{'op':'replace','path':'/z','value':1}]", -EINVAL,
	       "replace operation does not apply");
	jpatch(doc, "[{'op':'add','path':'/l/5','value':1}]", -EINVAL, "index out of range");
	jpatch(doc, "[{'op':'add','path':'/l/01','value':1}]", -EINVAL, "index out of range");
	jpatch(doc, "[{'op':'remove','path':'/l/-'}]", -EINVAL, "doc is missing path");
	jpatch(doc, "[{'op':'remove','path':'/l/2'}]", -EINVAL, "doc is missing path");
	jpatch(doc, "[{'op':'test','path':'/a/b','value':2}]", -EINVAL,
	       "testing value /a/b failed");
	jpatch(doc, "[{'op':'move','from':'/a','path':'/a/b/c'}]", -EINVAL,
	       "cannot move into itself");
	jpatch(doc, "[{'op':'copy','from':'/nope','path':'/c'}]", -EINVAL, "missing from path");
	jpatch(doc, "[{'op':'jump','path':'/a'}]", -EINVAL, "unexpected op \"jump\"");
	jpatch(doc, "[{'op':'add','path':'/a'}]", -EINVAL, "has no \"value\"");
	jpatch(doc, "[{'op':'move','path':'/a'}]", -EINVAL, "has no \"from\"");
	jpatch(doc, "[{'path':'/a'}]", -EINVAL, "has no \"op\"");
	jpatch(doc, "[{'op':'remove'}]", -EINVAL, "has no \"path\"");
	jpatch(doc, "[1]", -EINVAL, "not an object");
	jpatch(doc, "{'op':'add'}", -EINVAL, "must be an array");
	/* The first operation's effect is gone when the second fails. */
	jpatch(doc, "[{'op':'remove','path':'/a'},{'op':'remove','path':'/a'}]", -EINVAL,
	       "doc is missing path");
}

static void test_json_patch_operation_count_is_limited(void **state)
{
	cJSON *ops = cJSON_CreateArray(), *doc = J("{}"), *out = NULL;
	for (int i = 0; i <= PATCH_MAX_OPS; i++)
		cJSON_AddItemToArray(ops, J("{'op':'test','path':'','value':{}}"));
	struct err e = { 0 };
	assert_int_equal(patch_json(doc, ops, &out, &e), -E2BIG);
	assert_non_null(strstr(e.msg, "at most 10000 operations"));
	cJSON_Delete(ops);
	cJSON_Delete(doc);
}

/* ---- JSON merge patch --------------------------------------------------------------------- */

static void test_merge_patch_follows_rfc7386(void **state)
{
	assert_merge("{'a':'b'}", "{'a':'c'}", "{'a':'c'}");
	assert_merge("{'a':'b'}", "{'b':'c'}", "{'a':'b','b':'c'}");
	assert_merge("{'a':'b'}", "{'a':null}", "{}");
	assert_merge("{'a':'b','b':'c'}", "{'a':null}", "{'b':'c'}");
	assert_merge("{'a':['b']}", "{'a':'c'}", "{'a':'c'}");
	assert_merge("{'a':'c'}", "{'a':['b']}", "{'a':['b']}");
	assert_merge("{'a':{'b':'c'}}", "{'a':{'b':'d','c':null}}", "{'a':{'b':'d'}}");
	assert_merge("{'a':[{'b':'c'}]}", "{'a':[1]}", "{'a':[1]}");
	assert_merge("['a','b']", "['c','d']", "['c','d']");
	assert_merge("{'a':'b'}", "['c']", "['c']");
	assert_merge("{'a':'foo'}", "null", "null");
	assert_merge("{'a':'foo'}", "'bar'", "'bar'");
	assert_merge("{'e':null}", "{'a':1}", "{'e':null,'a':1}");
	assert_merge("[1,2]", "{'a':'b','c':null}", "{'a':'b'}");
	assert_merge("{}", "{'a':{'bb':{'ccc':null}}}", "{'a':{'bb':{}}}");
}

static void test_merge_patch_keeps_key_order(void **state)
{
	cJSON *d = J("{'apiVersion':'v1','kind':'Pod','metadata':{'name':'a'},'spec':{}}");
	cJSON *p = J("{'metadata':{'labels':{'x':'y'}},'apiVersion':'v1'}"), *out;
	assert_int_equal(patch_merge(d, p, &out, NULL), 0);
	char *s = obj_print(out, 0);
	assert_string_equal(s,
	                    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\","
	                    "\"labels\":{\"x\":\"y\"}},\"spec\":{}}");
	free(s);
	cJSON_Delete(d);
	cJSON_Delete(p);
	cJSON_Delete(out);
}

/* ---- strategic merge patch --------------------------------------------------------------- */

#define POD(spec) "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':" spec "}"

static void test_smp_merges_containers_by_name(void **state)
{
	assert_smp(POD("{'containers':[{'name':'web','image':'nginx:1','imagePullPolicy':'Always'},"
	               "{'name':'log','image':'busybox'}]}"),
	           "{'spec':{'containers':[{'name':'web','image':'nginx:2'}]}}",
	           POD("{'containers':[{'name':'web','image':'nginx:2','imagePullPolicy':'Always'},"
	               "{'name':'log','image':'busybox'}]}"));
}

static void test_smp_adds_new_list_items_first_unless_ordered(void **state)
{
	const char *live = POD("{'containers':[{'name':'web','image':'a'},{'name':'log','image':"
	                       "'b'}]}");
	assert_smp(live, "{'spec':{'containers':[{'name':'new','image':'c'}]}}",
	           POD("{'containers':[{'name':'new','image':'c'},{'name':'web','image':'a'},"
	               "{'name':'log','image':'b'}]}"));
	assert_smp(live,
	           "{'spec':{'$setElementOrder/containers':[{'name':'web'},{'name':'log'},"
	           "{'name':'new'}],'containers':[{'name':'new','image':'c'}]}}",
	           POD("{'containers':[{'name':'web','image':'a'},{'name':'log','image':'b'},"
	               "{'name':'new','image':'c'}]}"));
}

static void test_smp_set_element_order_keeps_server_only_items_in_place(void **state)
{
	const char *live = POD("{'containers':[{'name':'a','x':1},{'name':'b'},{'name':'s'},"
	                       "{'name':'c'},{'name':'d'}]}");
	assert_smp(live,
	           "{'spec':{'$setElementOrder/containers':[{'name':'b'},{'name':'a'},{'name':'d'},"
	           "{'name':'c'}]}}",
	           POD("{'containers':[{'name':'b'},{'name':'a','x':1},{'name':'s'},{'name':'d'},"
	               "{'name':'c'}]}"));
	assert_smp(POD("{'containers':[{'name':'a'},{'name':'c'},{'name':'d'},{'name':'b'},"
	               "{'name':'s'}]}"),
	           "{'spec':{'$setElementOrder/containers':[{'name':'d'},{'name':'b'},{'name':'c'},"
	           "{'name':'a'}]}}",
	           POD("{'containers':[{'name':'d'},{'name':'b'},{'name':'c'},{'name':'a'},"
	               "{'name':'s'}]}"));
	assert_smp_error(live,
	                 "{'spec':{'$setElementOrder/containers':[{'name':'a'},{'name':'b'}],"
	                 "'containers':[{'name':'b'},{'name':'a'}]}}",
	                 "does not match the $setElementOrder list");
}

static void test_smp_deletes_list_items_with_the_delete_directive(void **state)
{
	assert_smp(POD("{'containers':[{'name':'web'},{'name':'log'},{'name':'log'}]}"),
	           "{'spec':{'containers':[{'$patch':'delete','name':'log'}]}}",
	           POD("{'containers':[{'name':'web'}]}"));
	/* Deleting what is not there is fine. */
	assert_smp(POD("{'containers':[{'name':'web'}]}"),
	           "{'spec':{'containers':[{'$patch':'delete','name':'nope'}]}}",
	           POD("{'containers':[{'name':'web'}]}"));
	assert_smp_error(POD("{'containers':[{'name':'web'}]}"),
	                 "{'spec':{'containers':[{'$patch':'delete'}]}}",
	                 "does not contain declared merge key: name");
}

static void test_smp_merges_env_ports_mounts_and_volumes_by_their_keys(void **state)
{
	assert_smp(
	    POD("{'containers':[{'name':'web','env':[{'name':'A','value':'1'},{'name':'B',"
	        "'value':'2'}],'ports':[{'containerPort':80,'protocol':'TCP'}],"
	        "'volumeMounts':[{'name':'data','mountPath':'/data'}]}],"
	        "'volumes':[{'name':'data','emptyDir':{}}],'imagePullSecrets':[{'name':'r1'}]}"),
	    "{'spec':{'containers':[{'name':'web','env':[{'name':'B','value':'3'}],"
	    "'ports':[{'containerPort':443}],'volumeMounts':[{'name':'cfg','mountPath':'/cfg'}]}],"
	    "'volumes':[{'name':'cfg','configMap':{'name':'c'}}],"
	    "'imagePullSecrets':[{'name':'r2'}]}}",
	    POD("{'containers':[{'name':'web','env':[{'name':'A','value':'1'},{'name':'B',"
	        "'value':'3'}],'ports':[{'containerPort':443},{'containerPort':80,'protocol':"
	        "'TCP'}],'volumeMounts':[{'name':'cfg','mountPath':'/cfg'},{'name':'data',"
	        "'mountPath':'/data'}]}],'volumes':[{'name':'cfg','configMap':{'name':'c'}},"
	        "{'name':'data','emptyDir':{}}],'imagePullSecrets':[{'name':'r2'},{'name':"
	        "'r1'}]}"));
}

static void test_smp_replaces_lists_without_a_strategy(void **state)
{
	assert_smp(POD("{'tolerations':[{'key':'a','operator':'Exists'}],'containers':[{'name':'w',"
	               "'args':['-a','-b']}]}"),
	           "{'spec':{'tolerations':[{'key':'b','operator':'Exists'}],'containers':[{'name':"
	           "'w','args':['-c']}]}}",
	           POD("{'tolerations':[{'key':'b','operator':'Exists'}],'containers':[{'name':'w',"
	               "'args':['-c']}]}"));
}

static void test_smp_null_removes_fields(void **state)
{
	assert_smp(
	    "{'kind':'Deployment','metadata':{'name':'d','labels':{'app':'a','tier':'t'}},"
	    "'spec':{'replicas':3,'paused':false}}",
	    "{'metadata':{'labels':{'tier':null}},'spec':{'replicas':null,'absent':null}}",
	    "{'kind':'Deployment','metadata':{'name':'d','labels':{'app':'a'}},'spec':{'paused':"
	    "false}}");
	/* Nulls inside new content are dropped, not stored. */
	assert_smp("{'kind':'Pod','spec':{}}", "{'spec':{'affinity':{'a':null,'b':1}}}",
	           "{'kind':'Pod','spec':{'affinity':{'b':1}}}");
}

static void test_smp_merges_finalizers_as_a_set_and_deletes_from_it(void **state)
{
	assert_smp("{'kind':'ConfigMap','metadata':{'finalizers':['a','b']}}",
	           "{'metadata':{'finalizers':['c','a']}}",
	           "{'kind':'ConfigMap','metadata':{'finalizers':['c','a','b']}}");
	assert_smp("{'kind':'ConfigMap','metadata':{'finalizers':['a','b','a']}}",
	           "{'metadata':{'$deleteFromPrimitiveList/finalizers':['a']}}",
	           "{'kind':'ConfigMap','metadata':{'finalizers':['b']}}");
	/* Deleting from a list that is not there adds nothing. */
	assert_smp("{'kind':'ConfigMap','metadata':{}}",
	           "{'metadata':{'$deleteFromPrimitiveList/finalizers':['a']}}",
	           "{'kind':'ConfigMap','metadata':{}}");
	assert_smp("{'kind':'Node','spec':{'podCIDRs':['10.42.0.0/24']}}",
	           "{'spec':{'$setElementOrder/podCIDRs':['fd00::/64','10.42.0.0/24'],'podCIDRs':"
	           "['fd00::/64']}}",
	           "{'kind':'Node','spec':{'podCIDRs':['fd00::/64','10.42.0.0/24']}}");
}

static void test_smp_merges_owner_references_and_conditions(void **state)
{
	assert_smp(
	    "{'kind':'Pod','metadata':{'ownerReferences':[{'uid':'1','kind':'ReplicaSet',"
	    "'name':'rs'}]},'status':{'phase':'Pending','conditions':[{'type':'Ready','status':"
	    "'False'},{'type':'PodScheduled','status':'True'}]}}",
	    "{'metadata':{'ownerReferences':[{'uid':'1','controller':true}]},'status':{"
	    "'phase':'Running','conditions':[{'type':'Ready','status':'True'}]}}",
	    "{'kind':'Pod','metadata':{'ownerReferences':[{'uid':'1','kind':'ReplicaSet',"
	    "'name':'rs','controller':true}]},'status':{'phase':'Running','conditions':[{"
	    "'type':'Ready','status':'True'},{'type':'PodScheduled','status':'True'}]}}");
	assert_smp(
	    "{'kind':'Node','status':{'addresses':[{'type':'InternalIP','address':'10.0.0.1'}]}}",
	    "{'status':{'addresses':[{'type':'Hostname','address':'edge'}]}}",
	    "{'kind':'Node','status':{'addresses':[{'type':'Hostname','address':'edge'},{"
	    "'type':'InternalIP','address':'10.0.0.1'}]}}");
}

static void test_smp_replace_and_delete_directives_on_maps_and_lists(void **state)
{
	assert_smp(
	    POD("{'containers':[{'name':'a'},{'name':'b'}],'nodeSelector':{'x':'1','y':'2'}}"),
	    "{'spec':{'containers':[{'name':'c'},{'$patch':'replace'}],'nodeSelector':{"
	    "'$patch':'replace','z':'3'}}}",
	    POD("{'containers':[{'name':'c'}],'nodeSelector':{'z':'3'}}"));
	assert_smp(POD("{'securityContext':{'runAsUser':1},'containers':[]}"),
	           "{'spec':{'securityContext':{'$patch':'delete'}}}",
	           POD("{'securityContext':{},'containers':[]}"));
	assert_smp_error(POD("{'containers':[]}"), "{'spec':{'$patch':'explode'}}",
	                 "unknown patch type: explode in map");
	assert_smp_error(POD("{'containers':[{'name':'a'}]}"),
	                 "{'spec':{'containers':[{'$patch':'merge'}]}}",
	                 "merging lists cannot yet be specified");
}

static void test_smp_retain_keys_clears_unlisted_live_fields(void **state)
{
	const char *live = "{'kind':'Deployment','spec':{'strategy':{'type':'RollingUpdate',"
	                   "'rollingUpdate':{'maxSurge':'25%','maxUnavailable':'25%'}}}}";
	assert_smp(live, "{'spec':{'strategy':{'$retainKeys':['type'],'type':'Recreate'}}}",
	           "{'kind':'Deployment','spec':{'strategy':{'type':'Recreate'}}}");
	assert_smp(POD("{'volumes':[{'name':'v','emptyDir':{}}]}"),
	           "{'spec':{'volumes':[{'$retainKeys':['hostPath','name'],'name':'v','hostPath':{"
	           "'path':'/x'}}]}}",
	           POD("{'volumes':[{'name':'v','hostPath':{'path':'/x'}}]}"));
	assert_smp_error(live, "{'spec':{'strategy':{'$retainKeys':['type'],'rollingUpdate':{}}}}",
	                 "invalid patch format of retainKeys");
}

/*
 * What kubectl apply sends: a three-way patch computed from the
 * last-applied annotation, the new file and the live object.
 */
#define LIVE_DEPLOYMENT                                                                            \
	"{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':"        \
	"'default','annotations':{'kubectl.kubernetes.io/last-applied-configuration':'old',"       \
	"'deployment.kubernetes.io/revision':'1'},'labels':{'app':'web'}},'spec':{'replicas':2,"   \
	"'selector':{'matchLabels':{'app':'web'}},'strategy':{'type':'RollingUpdate',"             \
	"'rollingUpdate':{'maxSurge':'25%','maxUnavailable':'25%'}},'template':{'metadata':{"      \
	"'labels':{'app':'web'}},'spec':{'containers':[{'name':'web','image':'nginx:1',"           \
	"'imagePullPolicy':'IfNotPresent','env':[{'name':'A','value':'1'},{'name':'MODE',"         \
	"'value':'slow'},{'name':'OLD','value':'x'}],'terminationMessagePath':"                    \
	"'/dev/termination-log'},{'name':'sidecar','image':'busybox','args':['sleep','1d']}],"     \
	"'restartPolicy':'Always','dnsPolicy':'ClusterFirst'}}},'status':{'replicas':2}}"

static cJSON *apply_patch(const char *patch)
{
	struct err e = { 0 };
	cJSON *out = smp(LIVE_DEPLOYMENT, patch, &e);
	if (!out) {
		fprintf(stderr, "kubectl-style patch failed: %s\n", e.msg);
		fail();
	}
	return out;
}

static void test_kubectl_apply_patch_adds_a_container(void **state)
{
	cJSON *out = apply_patch(
	    "{'metadata':{'annotations':{'kubectl.kubernetes.io/last-applied-configuration':"
	    "'new'}},'spec':{'template':{'spec':{'$setElementOrder/containers':[{'name':'web'},"
	    "{'name':'sidecar'},{'name':'metrics'}],'containers':[{'image':'exporter:1','name':"
	    "'metrics'}]}}}}");
	assert_json(obj_get(out, "spec.template.spec.containers[2]"),
	            "{'image':'exporter:1','name':'metrics'}");
	assert_string_equal(obj_get_str(out, "spec.template.spec.containers[0].name"), "web");
	assert_string_equal(obj_get_str(out, "spec.template.spec.containers[0].imagePullPolicy"),
	                    "IfNotPresent");
	assert_string_equal(obj_get_str(out, "metadata.annotations.kubectl\\.kubernetes\\.io/"
	                                     "last-applied-configuration"),
	                    "new");
	assert_string_equal(obj_get_str(out, "metadata.annotations.deployment\\.kubernetes\\.io/"
	                                     "revision"),
	                    "1");
	cJSON_Delete(out);
}

static void test_kubectl_apply_patch_removes_a_container(void **state)
{
	cJSON *out = apply_patch("{'spec':{'template':{'spec':{'$setElementOrder/containers':[{"
	                         "'name':'web'}],'containers':[{'$patch':'delete','name':"
	                         "'sidecar'}]}}}}");
	assert_int_equal(cJSON_GetArraySize(obj_get(out, "spec.template.spec.containers")), 1);
	assert_string_equal(obj_get_str(out, "spec.template.spec.containers[0].name"), "web");
	cJSON_Delete(out);
}

static void test_kubectl_apply_patch_changes_and_removes_env_vars(void **state)
{
	cJSON *out = apply_patch(
	    "{'spec':{'template':{'spec':{'$setElementOrder/containers':[{'name':'web'},{"
	    "'name':'sidecar'}],'containers':[{'$setElementOrder/env':[{'name':'A'},{'name':"
	    "'MODE'},{'name':'NEW'}],'env':[{'name':'MODE','value':'fast'},{'name':'NEW',"
	    "'value':'n'},{'$patch':'delete','name':'OLD'}],'name':'web'}]}}}}");
	assert_json(
	    obj_get(out, "spec.template.spec.containers[0].env"),
	    "[{'name':'A','value':'1'},{'name':'MODE','value':'fast'},{'name':'NEW','value':"
	    "'n'}]");
	assert_string_equal(obj_get_str(out, "spec.template.spec.containers[1].name"), "sidecar");
	cJSON_Delete(out);
}

static void test_kubectl_apply_patch_removes_fields_with_null(void **state)
{
	cJSON *out =
	    apply_patch("{'metadata':{'labels':{'app':null}},'spec':{'replicas':null,"
	                "'template':{'spec':{'$setElementOrder/containers':[{'name':'web'},"
	                "{'name':'sidecar'}],'containers':[{'args':null,'name':'sidecar'}]}}"
	                ",'strategy':{'$retainKeys':['type'],'type':'Recreate',"
	                "'rollingUpdate':null}}}");
	assert_null(obj_get(out, "spec.replicas"));
	assert_null(obj_get(out, "metadata.labels.app"));
	assert_json(obj_get(out, "metadata.labels"), "{}");
	assert_json(obj_get(out, "spec.template.spec.containers[1]"),
	            "{'name':'sidecar','image':'busybox'}");
	assert_json(obj_get(out, "spec.strategy"), "{'type':'Recreate'}");
	assert_json(obj_get(out, "status"), "{'replicas':2}");
	cJSON_Delete(out);
}

static void test_smp_malformed_patches_are_rejected(void **state)
{
	const char *live = POD("{'containers':[{'name':'web'}]}");
	assert_smp_error(live, "{'spec':{'containers':[{'image':'x'}]}}",
	                 "does not contain declared merge key: name");
	assert_smp_error(live, "{'spec':{'$bogus':1}}", "unknown directive \"$bogus\"");
	assert_smp_error(live, "{'spec':{'$setElementOrder':[]}}", "setElementOrder");
	assert_smp_error(live, "{'spec':{'$deleteFromPrimitiveList/x':'a'}}", "must be a list");
	assert_smp_error(live, "{'spec':{'$patch':1}}", "$patch must be a string");
	assert_smp_error(live, "{'spec':{'containers':[[1]]}}", "lists of lists");
	assert_smp_error(live, "{'spec':{'containers':[{'name':'a'},'b']}}", "not identical");
	assert_smp_error(live, "{'spec':{'containers':[null]}}", "null elements");
	assert_smp_error(live, "[1]", "must be an object");
}

static void test_smp_fields_outside_the_schema_merge_maps_and_replace_lists(void **state)
{
	assert_smp("{'kind':'Widget','spec':{'a':{'b':1,'c':2},'l':[1,2]},'metadata':{'finalizers':"
	           "['x']}}",
	           "{'spec':{'a':{'b':3},'l':[3]},'metadata':{'finalizers':['y']}}",
	           "{'kind':'Widget','spec':{'a':{'b':3,'c':2},'l':[3]},'metadata':{'finalizers':["
	           "'y','x']}}");
	/* A value of another type replaces what was there. */
	assert_smp("{'kind':'Widget','a':{'b':1},'c':[1]}", "{'a':'s','c':{'d':1}}",
	           "{'kind':'Widget','a':'s','c':{'d':1}}");
}

static void test_random_patches_never_crash(void **state)
{
	static const char *const docs[] = {
		POD("{'containers':[{'name':'a','env':[{'name':'x','value':'1'}]},{'name':'b'}],"
		    "'volumes':[{'name':'v'}]}"),
		"{'kind':'ConfigMap','metadata':{'finalizers':['a','b']},'data':{'k':'v'}}",
	};
	static const char *const pieces[] = {
		"{'name':'a'}",
		"{'name':'c','image':'i'}",
		"{'$patch':'delete','name':'b'}",
		"{'$patch':'replace'}",
		"null",
		"'s'",
		"1",
		"[]",
		"{}",
		"{'env':[{'name':'x','value':null}]}",
		"{'$retainKeys':['name']}",
		"[{'name':'a'}]",
	};
	static const char *const keys[] = { "containers",
		                            "volumes",
		                            "finalizers",
		                            "$setElementOrder/containers",
		                            "$deleteFromPrimitiveList/finalizers",
		                            "data",
		                            "name" };
	uint32_t seed = 42;
	for (int i = 0; i < 1500; i++) {
		cJSON *doc = J(docs[test_rand(&seed) % 2]);
		cJSON *patch = cJSON_CreateObject(), *inner = cJSON_CreateObject();
		int n = (int)(test_rand(&seed) % 4);
		for (int j = 0; j < n; j++) {
			cJSON *list = cJSON_CreateArray();
			int m = (int)(test_rand(&seed) % 3);
			for (int k = 0; k < m; k++)
				cJSON_AddItemToArray(list, J(pieces[test_rand(&seed) % 12]));
			cJSON *v = test_rand(&seed) % 3
			               ? list
			               : (cJSON_Delete(list), J(pieces[test_rand(&seed) % 12]));
			const char *k = keys[test_rand(&seed) % 7];
			cJSON_DeleteItemFromObject(inner, k);
			cJSON_AddItemToObject(inner, k, v);
		}
		cJSON_AddItemToObject(patch, test_rand(&seed) % 2 ? "spec" : "metadata", inner);
		cJSON *out = NULL;
		struct err e = { 0 };
		if (patch_strategic(doc, patch, schema_for_object(doc), &out, &e) == 0)
			cJSON_Delete(out);
		else
			assert_true(e.msg[0] != '\0');
		cJSON_Delete(doc);
		cJSON_Delete(patch);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_patch_adds_removes_and_replaces),
		cmocka_unit_test(test_json_patch_pointers_unescape_tilde_and_slash),
		cmocka_unit_test(test_json_patch_moves_copies_and_tests),
		cmocka_unit_test(test_json_patch_whole_document_operations),
		cmocka_unit_test(test_json_patch_failures_apply_nothing),
		cmocka_unit_test(test_json_patch_operation_count_is_limited),
		cmocka_unit_test(test_merge_patch_follows_rfc7386),
		cmocka_unit_test(test_merge_patch_keeps_key_order),
		cmocka_unit_test(test_smp_merges_containers_by_name),
		cmocka_unit_test(test_smp_adds_new_list_items_first_unless_ordered),
		cmocka_unit_test(test_smp_set_element_order_keeps_server_only_items_in_place),
		cmocka_unit_test(test_smp_deletes_list_items_with_the_delete_directive),
		cmocka_unit_test(test_smp_merges_env_ports_mounts_and_volumes_by_their_keys),
		cmocka_unit_test(test_smp_replaces_lists_without_a_strategy),
		cmocka_unit_test(test_smp_null_removes_fields),
		cmocka_unit_test(test_smp_merges_finalizers_as_a_set_and_deletes_from_it),
		cmocka_unit_test(test_smp_merges_owner_references_and_conditions),
		cmocka_unit_test(test_smp_replace_and_delete_directives_on_maps_and_lists),
		cmocka_unit_test(test_smp_retain_keys_clears_unlisted_live_fields),
		cmocka_unit_test(test_kubectl_apply_patch_adds_a_container),
		cmocka_unit_test(test_kubectl_apply_patch_removes_a_container),
		cmocka_unit_test(test_kubectl_apply_patch_changes_and_removes_env_vars),
		cmocka_unit_test(test_kubectl_apply_patch_removes_fields_with_null),
		cmocka_unit_test(test_smp_malformed_patches_are_rejected),
		cmocka_unit_test(test_smp_fields_outside_the_schema_merge_maps_and_replace_lists),
		cmocka_unit_test(test_random_patches_never_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
