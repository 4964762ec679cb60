/* registry_validate_test: the causes of a 422 for the usual mistakes, with upstream's field paths
 * and cause types, immutable fields on update, and malformed objects that never crash. */
#include "registry-testlib.h"

#define POD(spec) "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'web'},'spec':{" spec "}}"
#define C1(extra) "'containers':[{'name':'web','image':'nginx:1.27'" extra "}]"

/* Creates the literal and expects exactly one cause, of this type at this field. */
static void expect_one(const struct reg_kind *k, const char *lit, const char *type,
                       const char *field)
{
	struct reg_errors e = create_causes(k, lit);
	if (e.n != 1 || !has_cause(&e, type, field)) {
		print_causes(&e);
		fail_msg("%s: want exactly one %s at %s", lit, type, field);
	}
	reg_errors_free(&e);
}

static void expect_valid(const struct reg_kind *k, const char *lit)
{
	struct reg_errors e = create_causes(k, lit);
	if (e.n) {
		print_causes(&e);
		fail_msg("%s: want no causes", lit);
	}
	reg_errors_free(&e);
}

/* --- pods ----------------------------------------------------------------------------------- */

static void test_a_valid_pod_has_no_causes(void **state)
{
	const struct reg_kind *k = K("", "pods");
	expect_valid(
	    k,
	    POD(C1(
	        ",'ports':[{'name':'http','containerPort':80}],'env':[{'name':"
	        "'MY_VAR.1','value':'x'},{'name':'POD','valueFrom':{'fieldRef':{"
	        "'fieldPath':'metadata.name'}}}],'resources':{'limits':{'cpu':'1',"
	        "'memory':'1Gi','example.com/dongle':'1'}},'volumeMounts':[{'name':"
	        "'data','mountPath':'/data'}],'livenessProbe':{'httpGet':{'port':"
	        "'http'}},'readinessProbe':{'tcpSocket':{'port':80},"
	        "'successThreshold':3}") ",'volumes':[{'name':'data','emptyDir':{}}],"
	                                 "'initContainers':[{'name':'sidecar','image':'envoy:1','"
	                                 "restartPolicy':"
	                                 "'Always','startupProbe':{'exec':{'command':['true']}}}],"
	                                 "'tolerations':[{'key':'gpu','operator':'Equal','value':'"
	                                 "yes','effect':"
	                                 "'NoExecute','tolerationSeconds':30}],'nodeSelector':{'"
	                                 "kubernetes.io/"
	                                 "arch':'arm64'},'dnsPolicy':'None','dnsConfig':{'"
	                                 "nameservers':["
	                                 "'1.1.1.1']}"));
}

static void test_the_usual_pod_mistakes_name_their_field(void **state)
{
	const struct reg_kind *k = K("", "pods");
	expect_one(k, POD(""), "FieldValueRequired", "spec.containers");
	expect_one(k, POD("'containers':[]"), "FieldValueRequired", "spec.containers");
	expect_one(k, "{'metadata':{'name':'web'}}", "FieldValueRequired", "spec.containers");
	expect_one(k, POD("'containers':[{'image':'nginx'}]"), "FieldValueRequired",
	           "spec.containers[0].name");
	expect_one(k, POD("'containers':[{'name':'web'}]"), "FieldValueRequired",
	           "spec.containers[0].image");
	expect_one(k, POD("'containers':[{'name':'Web_1','image':'nginx'}]"), "FieldValueInvalid",
	           "spec.containers[0].name");
	expect_one(k, POD("'containers':[{'name':'a','image':'x'},{'name':'a','image':'y'}]"),
	           "FieldValueDuplicate", "spec.containers[1].name");
	/* An init container's name counts too. */
	expect_one(k,
	           POD("'initContainers':[{'name':'a','image':'x'}],'containers':[{'name':"
	               "'a','image':'y'}]"),
	           "FieldValueDuplicate", "spec.containers[0].name");
	expect_one(k, POD(C1("") ",'restartPolicy':'Sometimes'"), "FieldValueNotSupported",
	           "spec.restartPolicy");
	expect_one(k, POD(C1(",'imagePullPolicy':'Sometimes'")), "FieldValueNotSupported",
	           "spec.containers[0].imagePullPolicy");
	expect_one(k, POD(C1(",'ports':[{'containerPort':70000}]")), "FieldValueInvalid",
	           "spec.containers[0].ports[0].containerPort");
	expect_one(k, POD(C1(",'ports':[{'containerPort':0}]")), "FieldValueInvalid",
	           "spec.containers[0].ports[0].containerPort");
	expect_one(k, POD(C1(",'ports':[{'name':'http'}]")), "FieldValueRequired",
	           "spec.containers[0].ports[0].containerPort");
	expect_one(k, POD(C1(",'ports':[{'containerPort':80,'protocol':'HTTP'}]")),
	           "FieldValueNotSupported", "spec.containers[0].ports[0].protocol");
	expect_one(k,
	           POD(C1(",'ports':[{'name':'http','containerPort':80},{'name':'http',"
	                  "'containerPort':81}]")),
	           "FieldValueDuplicate", "spec.containers[0].ports[1].name");
	expect_one(k, POD(C1(",'ports':[{'name':'web_http','containerPort':80}]")),
	           "FieldValueInvalid", "spec.containers[0].ports[0].name");
	expect_one(k, POD(C1(",'env':[{'name':'1BAD','value':'x'}]")), "FieldValueInvalid",
	           "spec.containers[0].env[0].name");
	expect_one(k, POD(C1(",'env':[{'value':'x'}]")), "FieldValueRequired",
	           "spec.containers[0].env[0].name");
	expect_one(k,
	           POD(C1(",'env':[{'name':'A','valueFrom':{'fieldRef':{'fieldPath':'x'},"
	                  "'secretKeyRef':{'name':'s','key':'k'}}}]")),
	           "FieldValueInvalid", "spec.containers[0].env[0].valueFrom");
	expect_one(k, POD(C1(",'volumeMounts':[{'name':'data','mountPath':'/data'}]")),
	           "FieldValueNotFound", "spec.containers[0].volumeMounts[0].name");
	expect_one(k, POD(C1(",'volumeMounts':[{'name':'data'}]") ",'volumes':[{'name':'data'}]"),
	           "FieldValueRequired", "spec.containers[0].volumeMounts[0].mountPath");
	expect_one(k, POD(C1("") ",'volumes':[{'name':'data'},{'name':'data'}]"),
	           "FieldValueDuplicate", "spec.volumes[1].name");
	expect_one(k, POD(C1("") ",'volumes':[{'name':'Data'}]"), "FieldValueInvalid",
	           "spec.volumes[0].name");
	expect_one(k, POD(C1("") ",'volumes':[{'name':'c','persistentVolumeClaim':{}}]"),
	           "FieldValueRequired", "spec.volumes[0].persistentVolumeClaim.claimName");
	expect_one(k, POD(C1("") ",'dnsPolicy':'None'"), "FieldValueRequired", "spec.dnsConfig");
	expect_one(k, POD(C1("") ",'nodeName':'Node_1'"), "FieldValueInvalid", "spec.nodeName");
	expect_one(k, POD(C1("") ",'activeDeadlineSeconds':0"), "FieldValueInvalid",
	           "spec.activeDeadlineSeconds");
	expect_one(k, POD(C1("") ",'terminationGracePeriodSeconds':-1"), "FieldValueInvalid",
	           "spec.terminationGracePeriodSeconds");
	expect_one(k,
	           POD("'hostNetwork':true," C1(",'ports':[{'containerPort':80,'hostPort':8080}]")),
	           "FieldValueInvalid", "spec.containers[0].ports[0].hostPort");
	expect_one(k, POD(C1(",'restartPolicy':'Always'")), "FieldValueForbidden",
	           "spec.containers[0].restartPolicy");
}

static void test_probe_and_lifecycle_mistakes_name_their_field(void **state)
{
	const struct reg_kind *k = K("", "pods");
	expect_one(k, POD(C1(",'livenessProbe':{'periodSeconds':5}")), "FieldValueRequired",
	           "spec.containers[0].livenessProbe");
	expect_one(k, POD(C1(",'livenessProbe':{'exec':{'command':['x']},'tcpSocket':{'port':1}}")),
	           "FieldValueForbidden", "spec.containers[0].livenessProbe.tcpSocket");
	expect_one(k,
	           POD(C1(",'livenessProbe':{'exec':{'command':['x']},'initialDelaySeconds':-1}")),
	           "FieldValueInvalid", "spec.containers[0].livenessProbe.initialDelaySeconds");
	expect_one(k, POD(C1(",'livenessProbe':{'exec':{'command':['x']},'successThreshold':2}")),
	           "FieldValueInvalid", "spec.containers[0].livenessProbe.successThreshold");
	expect_one(k, POD(C1(",'readinessProbe':{'httpGet':{'port':70000}}")), "FieldValueInvalid",
	           "spec.containers[0].readinessProbe.httpGet.port");
	expect_one(k, POD(C1(",'readinessProbe':{'httpGet':{'port':'http','scheme':'FTP'}}")),
	           "FieldValueNotSupported", "spec.containers[0].readinessProbe.httpGet.scheme");
	expect_one(k, POD(C1(",'lifecycle':{'preStop':{}}")), "FieldValueRequired",
	           "spec.containers[0].lifecycle.preStop");
	/* Plain init containers run to completion: no probes, no lifecycle. */
	expect_one(k,
	           POD("'initContainers':[{'name':'i','image':'x','readinessProbe':{'exec':{"
	               "'command':['x']}}}]," C1("")),
	           "FieldValueForbidden", "spec.initContainers[0].readinessProbe");
	expect_one(
	    k, POD("'initContainers':[{'name':'i','image':'x','restartPolicy':'Never'}]," C1("")),
	    "FieldValueNotSupported", "spec.initContainers[0].restartPolicy");
}

static void test_resource_mistakes_name_their_field(void **state)
{
	const struct reg_kind *k = K("", "pods");
	/* Requests above limits: upstream names the requests list, not the key. */
	expect_one(k, POD(C1(",'resources':{'limits':{'cpu':'1'},'requests':{'cpu':'2'}}")),
	           "FieldValueInvalid", "spec.containers[0].resources.requests");
	struct reg_errors e = create_causes(
	    k, POD(C1(",'resources':{'limits':{'memory':'1Gi'},'requests':{'memory':'2Gi'}}")));
	assert_string_equal(cause_message(&e, "spec.containers[0].resources.requests"),
	                    "Invalid value: \"2Gi\": must be less than or equal to memory limit "
	                    "of 1Gi");
	reg_errors_free(&e);
	/* A negative limit is copied to the request first, and both are refused, as upstream. */
	e = create_causes(k, POD(C1(",'resources':{'limits':{'cpu':'-1'}}")));
	assert_cause(&e, "FieldValueInvalid", "spec.containers[0].resources.limits[cpu]");
	assert_cause(&e, "FieldValueInvalid", "spec.containers[0].resources.requests[cpu]");
	assert_int_equal(e.n, 2);
	reg_errors_free(&e);
	expect_one(k, POD(C1(",'resources':{'requests':{'memory':'lots'}}")), "FieldValueInvalid",
	           "spec.containers[0].resources.requests[memory]");
	expect_one(k, POD(C1(",'resources':{'requests':{'gpu':'1'}}")), "FieldValueInvalid",
	           "spec.containers[0].resources.requests[gpu]");
	/* Extended resources cannot be overcommitted: requests equal limits, limits required. */
	expect_one(k,
	           POD(C1(",'resources':{'limits':{'example.com/dongle':'2'},'requests':{"
	                  "'example.com/dongle':'1'}}")),
	           "FieldValueInvalid", "spec.containers[0].resources.requests");
	expect_one(k, POD(C1(",'resources':{'requests':{'example.com/dongle':'1'}}")),
	           "FieldValueRequired", "spec.containers[0].resources.limits");
	expect_one(k, POD(C1(",'resources':{'requests':{'hugepages-2Mi':'4Mi'}}")),
	           "FieldValueRequired", "spec.containers[0].resources.limits");
	expect_valid(k, POD(C1(",'resources':{'limits':{'hugepages-2Mi':'4Mi','memory':'1Gi'}}")));
}

static void test_toleration_mistakes_name_their_field(void **state)
{
	const struct reg_kind *k = K("", "pods");
	expect_one(k, POD(C1("") ",'tolerations':[{'key':'a','operator':'Exists','value':'b'}]"),
	           "FieldValueInvalid", "spec.tolerations[0].operator");
	expect_one(k, POD(C1("") ",'tolerations':[{'operator':'Equal','value':'b'}]"),
	           "FieldValueInvalid", "spec.tolerations[0].operator");
	expect_one(k, POD(C1("") ",'tolerations':[{'key':'a','operator':'Near'}]"),
	           "FieldValueNotSupported", "spec.tolerations[0].operator");
	expect_one(k,
	           POD(C1("") ",'tolerations':[{'key':'a','operator':'Exists','effect':"
	                      "'NoSchedule','tolerationSeconds':10}]"),
	           "FieldValueInvalid", "spec.tolerations[0].effect");
	expect_one(k, POD(C1("") ",'tolerations':[{'key':'a','effect':'Sometimes'}]"),
	           "FieldValueNotSupported", "spec.tolerations[0].effect");
	expect_one(k, POD(C1("") ",'tolerations':[{'key':'bad key','operator':'Exists'}]"),
	           "FieldValueInvalid", "spec.tolerations[0].key");
}

/* Wrong JSON types are refused with a cause at the field, not skipped or crashed on. */
static void test_wrong_json_types_give_causes_at_their_field(void **state)
{
	const struct reg_kind *k = K("", "pods");
	expect_one(k, POD("'containers':'web'"), "FieldValueInvalid", "spec.containers");
	expect_one(k, POD("'containers':['web']"), "FieldValueInvalid", "spec.containers[0]");
	expect_one(k, POD("'containers':[{'name':7,'image':'x'}]"), "FieldValueInvalid",
	           "spec.containers[0].name");
	expect_one(k, POD("'containers':[{'name':'a','image':['x']}]"), "FieldValueInvalid",
	           "spec.containers[0].image");
	expect_one(k, POD(C1(",'ports':{'containerPort':80}")), "FieldValueInvalid",
	           "spec.containers[0].ports");
	expect_one(k, POD(C1(",'ports':[{'containerPort':'80'}]")), "FieldValueInvalid",
	           "spec.containers[0].ports[0].containerPort");
	expect_one(k, POD(C1(",'ports':[{'containerPort':80.5}]")), "FieldValueInvalid",
	           "spec.containers[0].ports[0].containerPort");
	expect_one(k, POD(C1(",'resources':{'limits':['cpu']}")), "FieldValueInvalid",
	           "spec.containers[0].resources.limits");
	expect_one(k, POD(C1(",'resources':{'limits':{'cpu':true}}")), "FieldValueInvalid",
	           "spec.containers[0].resources.limits[cpu]");
	expect_one(k, POD(C1(",'env':[{'name':'A','value':3}]")), "FieldValueInvalid",
	           "spec.containers[0].env[0].value");
	expect_one(k, POD(C1("") ",'nodeSelector':{'disk':1}"), "FieldValueInvalid",
	           "spec.nodeSelector[disk]");
	expect_one(k, POD(C1("") ",'hostNetwork':'yes'"), "FieldValueInvalid", "spec.hostNetwork");
	expect_one(k, POD(C1("") ",'tolerations':{}"), "FieldValueInvalid", "spec.tolerations");
	expect_one(k, POD(C1("") ",'volumes':[{'name':'v','secret':'s'}]"), "FieldValueInvalid",
	           "spec.volumes[0].secret");
	expect_one(k, "{'metadata':{'name':'web'},'spec':[1]}", "FieldValueInvalid", "spec");
	expect_one(K("apps", "deployments"),
	           "{'metadata':{'name':'d'},'spec':{'replicas':'3','selector':{'matchLabels':{"
	           "'a':'b'}},'template':{'metadata':{'labels':{'a':'b'}},'spec':{" C1("") "}}}}",
	           "FieldValueInvalid", "spec.replicas");
	expect_one(K("apps", "deployments"),
	           "{'metadata':{'name':'d'},'spec':{'selector':{'matchLabels':{'a':'b'}},"
	           "'template':'pod'}}",
	           "FieldValueInvalid", "spec.template");
	expect_one(K("", "services"), "{'metadata':{'name':'s'},'spec':{'ports':[{'port':'80'}]}}",
	           "FieldValueInvalid", "spec.ports[0].port");
	expect_one(K("", "configmaps"), "{'metadata':{'name':'c'},'data':{'k':1}}",
	           "FieldValueInvalid", "data[k]");
}

static cJSON *running_pod(void)
{
	cJSON *pod = created(K("", "pods"), POD(C1("") ",'activeDeadlineSeconds':60"));
	obj_set_str(pod, "spec.nodeName", "pi-1", NULL);
	return pod;
}

static struct reg_errors pod_update(const cJSON *old, void (*change)(cJSON *))
{
	cJSON *now = cJSON_Duplicate(old, true);
	change(now);
	return update_causes(K("", "pods"), old, now);
}

static void new_image(cJSON *p)
{
	obj_set_str(p, "spec.containers[0].image", "nginx:1.28", NULL);
}
static void new_env(cJSON *p)
{
	obj_set(p, "spec.containers[0].env", J("[{'name':'A','value':'1'}]"), NULL);
}
static void more_tolerations(cJSON *p)
{
	cJSON_AddItemToArray((cJSON *)obj_get(p, "spec.tolerations"),
	                     J("{'key':'gpu','operator':'Exists'}"));
}
static void fewer_tolerations(cJSON *p)
{
	cJSON_DeleteItemFromArray((cJSON *)obj_get(p, "spec.tolerations"), 0);
}
static void shorter_deadline(cJSON *p)
{
	obj_set_i64(p, "spec.activeDeadlineSeconds", 30, NULL);
}
static void longer_deadline(cJSON *p)
{
	obj_set_i64(p, "spec.activeDeadlineSeconds", 90, NULL);
}
static void new_gate(cJSON *p)
{
	obj_set(p, "spec.schedulingGates", J("[{'name':'x'}]"), NULL);
}
static void new_grace(cJSON *p)
{
	obj_set_i64(p, "spec.terminationGracePeriodSeconds", 5, NULL);
}
static void negative_grace(cJSON *p)
{
	obj_set_i64(p, "spec.terminationGracePeriodSeconds", -1, NULL);
}
static void grace_to_one(cJSON *p)
{
	obj_set_i64(p, "spec.terminationGracePeriodSeconds", 1, NULL);
}

static void test_pod_updates_may_change_only_what_upstream_allows(void **state)
{
	cJSON *old = running_pod();
	struct reg_errors e;
	void (*ok[])(cJSON *) = { new_image, more_tolerations, shorter_deadline };
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		e = pod_update(old, ok[i]);
		assert_no_causes(&e);
		reg_errors_free(&e);
	}
	e = pod_update(old, new_env);
	assert_cause(&e, "FieldValueForbidden", "spec");
	reg_errors_free(&e);
	e = pod_update(old, fewer_tolerations);
	assert_cause(&e, "FieldValueForbidden", "spec.tolerations");
	reg_errors_free(&e);
	e = pod_update(old, longer_deadline);
	assert_cause(&e, "FieldValueInvalid", "spec.activeDeadlineSeconds");
	reg_errors_free(&e);
	e = pod_update(old, new_gate);
	assert_cause(&e, "FieldValueForbidden", "spec.schedulingGates");
	reg_errors_free(&e);
	/* The grace period may only go from negative to 1. */
	e = pod_update(old, new_grace);
	assert_cause(&e, "FieldValueForbidden", "spec");
	reg_errors_free(&e);
	negative_grace(old);
	e = pod_update(old, grace_to_one);
	assert_no_causes(&e);
	cJSON_Delete(old);
}

static void test_pod_status_updates_are_checked(void **state)
{
	const struct reg_kind *k = K("", "pods");
	cJSON *old = running_pod();
	cJSON *now = cJSON_Duplicate(old, true);
	obj_set(now, "status",
	        J("{'phase':'Running','podIP':'10.42.0.300','podIPs':[{'ip':"
	          "'10.42.0.3'},{'ip':'x'}],'hostIP':'192.168.1.20'}"),
	        NULL);
	obj_set_str(now, "spec.nodeName", "pi-2", NULL);
	struct reg_errors e = { 0 };
	k->validate_status(now, old, &e);
	assert_cause(&e, "FieldValueInvalid", "status.podIP");
	assert_cause(&e, "FieldValueInvalid", "status.podIPs[1].ip");
	/* Upstream names the node of a status update under status. */
	assert_cause(&e, "FieldValueForbidden", "status.nodeName");
	assert_int_equal(e.n, 3);
	reg_errors_free(&e);
	cJSON_Delete(now);
	cJSON_Delete(old);
}

/* --- services ------------------------------------------------------------------------------- */

#define SVC(spec) "{'apiVersion':'v1','kind':'Service','metadata':{'name':'web'},'spec':{" spec "}}"

static void test_the_usual_service_mistakes_name_their_field(void **state)
{
	const struct reg_kind *k = K("", "services");
	expect_valid(k, SVC("'selector':{'app':'web'},'ports':[{'name':'http','port':80,"
	                    "'targetPort':'http'},{'name':'dns','port':53,'protocol':'UDP'}]"));
	expect_valid(k, SVC("'clusterIP':'None'"));
	expect_one(k, SVC("'selector':{'app':'web'}"), "FieldValueRequired", "spec.ports");
	expect_one(k, SVC("'ports':[{'name':'a','port':80},{'port':81}]"), "FieldValueRequired",
	           "spec.ports[1].name");
	expect_one(k, SVC("'ports':[{'name':'a','port':80},{'name':'b','port':80}]"),
	           "FieldValueDuplicate", "spec.ports[1]");
	expect_one(k, SVC("'ports':[{'name':'a','port':80},{'name':'a','port':81}]"),
	           "FieldValueDuplicate", "spec.ports[1].name");
	expect_one(k, SVC("'type':'Public','ports':[{'port':80}]"), "FieldValueNotSupported",
	           "spec.type");
	/* targetPort defaults to port first, so upstream refuses both. */
	struct reg_errors e = create_causes(k, SVC("'ports':[{'port':0}]"));
	assert_cause(&e, "FieldValueInvalid", "spec.ports[0].port");
	assert_cause(&e, "FieldValueInvalid", "spec.ports[0].targetPort");
	assert_int_equal(e.n, 2);
	reg_errors_free(&e);
	expect_one(k, SVC("'ports':[{'port':80,'targetPort':70000}]"), "FieldValueInvalid",
	           "spec.ports[0].targetPort");
	expect_one(k, SVC("'ports':[{'port':80,'nodePort':30080}]"), "FieldValueForbidden",
	           "spec.ports[0].nodePort");
	expect_one(k, SVC("'ports':[{'port':80}],'clusterIP':'10.43.0'"), "FieldValueInvalid",
	           "spec.clusterIPs[0]");
	expect_one(k, SVC("'type':'ExternalName'"), "FieldValueRequired", "spec.externalName");
	expect_one(k, SVC("'ports':[{'port':80}],'externalTrafficPolicy':'Local'"),
	           "FieldValueInvalid", "spec.externalTrafficPolicy");
	expect_one(k, SVC("'ports':[{'port':80}],'sessionAffinity':'Cookie'"),
	           "FieldValueNotSupported", "spec.sessionAffinity");
	expect_one(k, SVC("'ports':[{'port':80}],'externalIPs':['example.com']"),
	           "FieldValueInvalid", "spec.externalIPs[0]");
	/* Service names are DNS-1035 labels: they start with a letter. */
	e = (struct reg_errors){ 0 };
	k->validate_name("9web", &e);
	assert_cause(&e, "FieldValueInvalid", "metadata.name");
	reg_errors_free(&e);
	k->validate_name("web-9", &e);
	assert_no_causes(&e);
}

static void test_a_service_keeps_its_cluster_ip(void **state)
{
	const struct reg_kind *k = K("", "services");
	cJSON *old = created(k, SVC("'ports':[{'port':80}]"));
	obj_set_str(old, "spec.clusterIP", "10.43.0.20", NULL);
	obj_set(old, "spec.clusterIPs", J("['10.43.0.20']"), NULL);
	cJSON *now = cJSON_Duplicate(old, true);
	obj_set_str(now, "spec.clusterIP", "10.43.0.21", NULL);
	obj_set(now, "spec.clusterIPs", J("['10.43.0.21']"), NULL);
	struct reg_errors e = update_causes(k, old, now);
	assert_cause(&e, "FieldValueInvalid", "spec.clusterIPs[0]");
	reg_errors_free(&e);
	cJSON_Delete(old);
}

/* --- workloads ------------------------------------------------------------------------------ */

#define TMPL(labels, spec) "'template':{'metadata':{'labels':" labels "},'spec':{" spec "}}"
#define DEPLOY(spec)                                                                               \
	"{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web'},'spec':{" spec "}}"
#define SEL "'selector':{'matchLabels':{'app':'web'}},"
#define GOOD_TMPL TMPL("{'app':'web'}", C1(""))

static void test_the_usual_deployment_mistakes_name_their_field(void **state)
{
	const struct reg_kind *k = K("apps", "deployments");
	expect_valid(k, DEPLOY(SEL GOOD_TMPL));
	expect_one(k, DEPLOY(GOOD_TMPL), "FieldValueRequired", "spec.selector");
	expect_one(k, DEPLOY("'selector':{}," GOOD_TMPL), "FieldValueInvalid", "spec.selector");
	expect_one(k, DEPLOY("'selector':{'matchLabels':{'app':'api'}}," GOOD_TMPL),
	           "FieldValueInvalid", "spec.template.metadata.labels");
	expect_one(k, DEPLOY(SEL TMPL("{'app':'web'}", C1("") ",'restartPolicy':'Never'")),
	           "FieldValueNotSupported", "spec.template.spec.restartPolicy");
	expect_one(k, DEPLOY(SEL TMPL("{'app':'web'}", C1("") ",'activeDeadlineSeconds':10")),
	           "FieldValueForbidden", "spec.template.spec.activeDeadlineSeconds");
	expect_one(k, DEPLOY(SEL TMPL("{'app':'web'}", "")), "FieldValueRequired",
	           "spec.template.spec.containers");
	expect_one(k, DEPLOY(SEL "'template':{'metadata':{'labels':{'app':'web'}}}"),
	           "FieldValueRequired", "spec.template.spec.containers");
	expect_one(k, DEPLOY("'replicas':-1," SEL GOOD_TMPL), "FieldValueInvalid", "spec.replicas");
	expect_one(k,
	           DEPLOY(SEL GOOD_TMPL ",'strategy':{'rollingUpdate':{'maxUnavailable':0,"
	                                "'maxSurge':0}}"),
	           "FieldValueInvalid", "spec.strategy.rollingUpdate.maxUnavailable");
	expect_one(k,
	           DEPLOY(SEL GOOD_TMPL ",'strategy':{'rollingUpdate':{'maxUnavailable':"
	                                "'120%'}}"),
	           "FieldValueInvalid", "spec.strategy.rollingUpdate.maxUnavailable");
	expect_one(k, DEPLOY(SEL GOOD_TMPL ",'strategy':{'rollingUpdate':{'maxSurge':'lots'}}"),
	           "FieldValueInvalid", "spec.strategy.rollingUpdate.maxSurge");
	expect_one(k, DEPLOY(SEL GOOD_TMPL ",'strategy':{'type':'Recreate','rollingUpdate':{}}"),
	           "FieldValueForbidden", "spec.strategy.rollingUpdate");
	expect_one(k, DEPLOY(SEL GOOD_TMPL ",'strategy':{'type':'BlueGreen'}"),
	           "FieldValueNotSupported", "spec.strategy.type");
	expect_one(k, DEPLOY(SEL GOOD_TMPL ",'minReadySeconds':700"), "FieldValueInvalid",
	           "spec.progressDeadlineSeconds");
	expect_one(
	    k, DEPLOY("'selector':{'matchExpressions':[{'key':'app','operator':'In'}]}," GOOD_TMPL),
	    "FieldValueRequired", "spec.selector.matchExpressions[0].values");
	expect_one(k,
	           DEPLOY("'selector':{'matchLabels':{'app':'web'},'matchExpressions':[{'key':"
	                  "'tier','operator':'Exists','values':['x']}]}," GOOD_TMPL),
	           "FieldValueForbidden", "spec.selector.matchExpressions[0].values");
	/* A template container mistake is reported under the template. */
	expect_one(k, DEPLOY(SEL TMPL("{'app':'web'}", "'containers':[{'name':'web'}]")),
	           "FieldValueRequired", "spec.template.spec.containers[0].image");
}

static void test_workload_selectors_are_immutable(void **state)
{
	static const char *const kinds[][2] = { { "apps", "deployments" },
		                                { "apps", "replicasets" },
		                                { "apps", "daemonsets" } };
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		const struct reg_kind *k = K(kinds[i][0], kinds[i][1]);
		cJSON *old = created(k, "{'metadata':{'name':'web'},'spec':{" SEL GOOD_TMPL "}}");
		cJSON *now =
		    J("{'metadata':{'name':'web'},'spec':{'selector':{'matchLabels':{'app':"
		      "'web','tier':'x'}}," TMPL("{'app':'web','tier':'x'}", C1("")) "}}");
		struct reg_errors e = update_causes(k, old, now);
		assert_cause(&e, "FieldValueInvalid", "spec.selector");
		assert_int_equal(e.n, 1);
		reg_errors_free(&e);
		/* Scaling and a new image are fine. */
		now = J("{'metadata':{'name':'web'},'spec':{'replicas':5," SEL TMPL(
		    "{'app':'web'}", "'containers':[{'name':'web','image':'nginx:1.28'}]") "}}");
		e = update_causes(k, old, now);
		assert_no_causes(&e);
		cJSON_Delete(old);
	}
}

static void test_statefulset_mistakes_and_forbidden_updates(void **state)
{
	const struct reg_kind *k = K("apps", "statefulsets");
	const char *good = "{'metadata':{'name':'db'},'spec':{'serviceName':'db'," SEL GOOD_TMPL
	                   ",'volumeClaimTemplates':[{'metadata':{'name':'data'},'spec':{"
	                   "'accessModes':['ReadWriteOnce'],'resources':{'requests':{'storage':"
	                   "'1Gi'}}}}]}}";
	expect_valid(k, good);
	expect_one(k,
	           "{'metadata':{'name':'db'},'spec':{'podManagementPolicy':'Random'," SEL GOOD_TMPL
	           "}}",
	           "FieldValueNotSupported", "spec.podManagementPolicy");
	expect_one(k,
	           "{'metadata':{'name':'db'},'spec':{'updateStrategy':{'type':'OnDelete',"
	           "'rollingUpdate':{'partition':1}}," SEL GOOD_TMPL "}}",
	           "FieldValueInvalid", "spec.updateStrategy.rollingUpdate");
	expect_one(k,
	           "{'metadata':{'name':'db'},'spec':{" SEL GOOD_TMPL ",'volumeClaimTemplates':["
	           "{'metadata':{'name':'data'},'spec':{'resources':{'requests':{'storage':"
	           "'1Gi'}}}}]}}",
	           "FieldValueRequired", "spec.volumeClaimTemplates[0].spec.accessModes");
	cJSON *old = created(k, good);
	cJSON *now = cJSON_Duplicate(old, true);
	obj_set_str(now, "spec.serviceName", "db2", NULL);
	struct reg_errors e = update_causes(k, old, now);
	assert_cause(&e, "FieldValueForbidden", "spec");
	reg_errors_free(&e);
	now = cJSON_Duplicate(old, true);
	obj_set_i64(now, "spec.replicas", 3, NULL);
	obj_set_str(now, "spec.template.spec.containers[0].image", "nginx:1.28", NULL);
	e = update_causes(k, old, now);
	assert_no_causes(&e);
	cJSON_Delete(old);
}

#define JOB(spec)                                                                                  \
	"{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'pi'},'spec':{" spec "}}"
#define JOB_TMPL "'template':{'spec':{'restartPolicy':'Never'," C1("") "}}"

static void test_job_mistakes_and_immutable_template(void **state)
{
	const struct reg_kind *k = K("batch", "jobs");
	expect_valid(k, JOB(JOB_TMPL));
	expect_one(k, JOB("'template':{'spec':{" C1("") "}}"), "FieldValueNotSupported",
	           "spec.template.spec.restartPolicy");
	expect_one(k, JOB("'completions':-1," JOB_TMPL), "FieldValueInvalid", "spec.completions");
	expect_one(k, JOB("'parallelism':-2," JOB_TMPL), "FieldValueInvalid", "spec.parallelism");
	expect_one(k, JOB("'completionMode':'Indexed','parallelism':2," JOB_TMPL),
	           "FieldValueRequired", "spec.completions");
	expect_one(k, JOB("'completionMode':'Sometimes'," JOB_TMPL), "FieldValueNotSupported",
	           "spec.completionMode");
	expect_one(k, JOB("'backoffLimitPerIndex':1," JOB_TMPL), "FieldValueInvalid",
	           "spec.backoffLimitPerIndex");
	cJSON *old = created(k, JOB(JOB_TMPL));
	cJSON *now = cJSON_Duplicate(old, true);
	obj_set_str(now, "spec.template.spec.containers[0].image", "nginx:1.28", NULL);
	struct reg_errors e = update_causes(k, old, now);
	assert_cause(&e, "FieldValueInvalid", "spec.template");
	reg_errors_free(&e);
	now = cJSON_Duplicate(old, true);
	obj_set_i64(now, "spec.completions", 3, NULL);
	e = update_causes(k, old, now);
	assert_cause(&e, "FieldValueInvalid", "spec.completions");
	reg_errors_free(&e);
	now = cJSON_Duplicate(old, true);
	obj_set(now, "spec.suspend", cJSON_CreateTrue(), NULL);
	obj_set_i64(now, "spec.parallelism", 4, NULL);
	e = update_causes(k, old, now);
	assert_no_causes(&e);
	cJSON_Delete(old);
}

#define CJ(spec)                                                                                   \
	"{'apiVersion':'batch/v1','kind':'CronJob','metadata':{'name':'c'},'spec':{" spec "}}"
#define CJ_TMPL                                                                                    \
	"'jobTemplate':{'spec':{'template':{'spec':{'restartPolicy':'OnFailure'," C1("") "}}}}"

static void test_cronjob_schedules_and_names_are_checked(void **state)
{
	const struct reg_kind *k = K("batch", "cronjobs");
	static const char *const good[] = { "*/5 * * * *",    "0 0 * * 0",        "@hourly",
		                            "@every 1h30m",   "0 9-17/2 * * 1-5", "0 0 1 JAN,jul ?",
		                            "30 4 1,15 * MON" };
	static const char *const bad[] = { "* * * *",
		                           "61 * * * *",
		                           "* 24 * * *",
		                           "* * 0 * *",
		                           "* * * 13 *",
		                           "* * * * 7",
		                           "*/0 * * * *",
		                           "5-1 * * * *",
		                           "@fortnightly",
		                           "@every never",
		                           "a b c d e",
		                           "TZ=UTC 0 * * * *",
		                           "CRON_TZ=UTC 0 * * * *" };
	char lit[512];
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		snprintf(lit, sizeof(lit), CJ("'schedule':'%s'," CJ_TMPL), good[i]);
		expect_valid(k, lit);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(lit, sizeof(lit), CJ("'schedule':'%s'," CJ_TMPL), bad[i]);
		expect_one(k, lit, "FieldValueInvalid", "spec.schedule");
	}
	expect_one(k, CJ(CJ_TMPL), "FieldValueRequired", "spec.schedule");
	expect_one(k, CJ("'schedule':'@daily','concurrencyPolicy':'Sometimes'," CJ_TMPL),
	           "FieldValueNotSupported", "spec.concurrencyPolicy");
	expect_one(k, CJ("'schedule':'@daily','timeZone':'../etc/passwd'," CJ_TMPL),
	           "FieldValueInvalid", "spec.timeZone");
	expect_valid(k, CJ("'schedule':'@daily','timeZone':'Europe/Berlin'," CJ_TMPL));
	expect_one(
	    k, CJ("'schedule':'@daily','jobTemplate':{'spec':{'template':{'spec':{" C1("") "}}}}"),
	    "FieldValueNotSupported", "spec.jobTemplate.spec.template.spec.restartPolicy");
	struct reg_errors e = { 0 };
	k->validate_name("a-cronjob-name-that-is-exactly-fifty-three-chars-long", &e);
	assert_cause(&e, "FieldValueInvalid", "metadata.name");
	reg_errors_free(&e);
	k->validate_name("a-cronjob-name-that-is-exactly-fifty-two-chars-long1", &e);
	assert_no_causes(&e);
}

/* --- core kinds ----------------------------------------------------------------------------- */

static void test_config_and_secret_mistakes_name_their_field(void **state)
{
	const struct reg_kind *cm = K("", "configmaps"), *sec = K("", "secrets");
	expect_valid(cm, "{'metadata':{'name':'c'},'data':{'app.conf':'x','KEY_1':'y'},"
	                 "'binaryData':{'logo.png':'iVBORw0K'}}");
	expect_one(cm, "{'metadata':{'name':'c'},'data':{'a b':'x'}}", "FieldValueInvalid",
	           "data[a b]");
	expect_one(cm, "{'metadata':{'name':'c'},'data':{'..x':'x'}}", "FieldValueInvalid",
	           "data[..x]");
	expect_one(cm, "{'metadata':{'name':'c'},'binaryData':{'b':'not base64!'}}",
	           "FieldValueInvalid", "binaryData[b]");
	expect_one(cm, "{'metadata':{'name':'c'},'data':{'k':'x'},'binaryData':{'k':'eA=='}}",
	           "FieldValueInvalid", "data[k]");
	expect_one(sec, "{'metadata':{'name':'s'},'data':{'k':'x'}}", "FieldValueInvalid",
	           "data[k]");
	expect_one(sec,
	           "{'metadata':{'name':'s'},'type':'kubernetes.io/tls','data':{'tls.crt':"
	           "'eA=='}}",
	           "FieldValueRequired", "data[tls.key]");
	expect_one(sec, "{'metadata':{'name':'s'},'type':'kubernetes.io/dockerconfigjson'}",
	           "FieldValueRequired", "data[.dockerconfigjson]");
	expect_one(sec, "{'metadata':{'name':'s'},'type':'kubernetes.io/service-account-token'}",
	           "FieldValueRequired",
	           "metadata.annotations[kubernetes.io/service-account.name]");
	expect_valid(sec, "{'metadata':{'name':'s','annotations':{"
	                  "'kubernetes.io/service-account.name':'build'}},'type':"
	                  "'kubernetes.io/service-account-token'}");
	expect_one(sec, "{'metadata':{'name':'s'},'type':'bad type'}", "FieldValueInvalid", "type");
	/* Once immutable, data, the flag and the type stay. */
	cJSON *old = created(cm, "{'metadata':{'name':'c'},'data':{'a':'1'},'immutable':true}");
	struct reg_errors e = update_causes(cm, old,
	                                    J("{'metadata':{'name':'c'},'data':{'a':'2'},"
	                                      "'immutable':true}"));
	assert_cause(&e, "FieldValueForbidden", "data");
	reg_errors_free(&e);
	e = update_causes(cm, old, J("{'metadata':{'name':'c'},'data':{'a':'1'}}"));
	assert_cause(&e, "FieldValueForbidden", "immutable");
	reg_errors_free(&e);
	cJSON_Delete(old);
	old = created(sec, "{'metadata':{'name':'s'},'data':{'a':'eA=='}}");
	e = update_causes(sec, old,
	                  J("{'metadata':{'name':'s'},'type':'kubernetes.io/basic-auth',"
	                    "'data':{'username':'eA=='}}"));
	assert_cause(&e, "FieldValueInvalid", "type");
	assert_int_equal(e.n, 1);
	reg_errors_free(&e);
	cJSON_Delete(old);
}

static void test_node_namespace_and_pvc_mistakes_name_their_field(void **state)
{
	const struct reg_kind *node = K("", "nodes");
	expect_valid(node,
	             "{'metadata':{'name':'pi-1'},'spec':{'podCIDR':'10.42.1.0/24','podCIDRs':["
	             "'10.42.1.0/24'],'taints':[{'key':'node-role.kubernetes.io/control-plane',"
	             "'effect':'NoSchedule'}]},'status':{'addresses':[{'type':'InternalIP',"
	             "'address':'192.168.1.20'}],'capacity':{'cpu':'4'}}}");
	expect_one(node, "{'metadata':{'name':'n'},'spec':{'taints':[{'key':'a'}]}}",
	           "FieldValueRequired", "spec.taints[0].effect");
	expect_one(node,
	           "{'metadata':{'name':'n'},'spec':{'taints':[{'key':'a','effect':"
	           "'NoSchedule'},{'key':'a','effect':'NoSchedule','value':'x'}]}}",
	           "FieldValueDuplicate", "spec.taints[1]");
	expect_one(node, "{'metadata':{'name':'n'},'spec':{'podCIDR':'10.42.1.0/33'}}",
	           "FieldValueInvalid", "spec.podCIDR");
	expect_one(node,
	           "{'metadata':{'name':'n'},'status':{'addresses':[{'type':'Public',"
	           "'address':'1.2.3.4'}]}}",
	           "FieldValueNotSupported", "status.addresses[0].type");
	cJSON *old =
	    created(node, "{'metadata':{'name':'n'},'spec':{'podCIDRs':['10.42.1.0/24']}}");
	struct reg_errors e = update_causes(node, old,
	                                    J("{'metadata':{'name':'n'},'spec':{"
	                                      "'podCIDRs':['10.42.2.0/24']}}"));
	assert_cause(&e, "FieldValueForbidden", "spec.podCIDRs");
	reg_errors_free(&e);
	cJSON_Delete(old);
	expect_one(K("", "namespaces"), "{'metadata':{'name':'n'},'spec':{'finalizers':['foo']}}",
	           "FieldValueInvalid", "spec.finalizers[0]");
	expect_valid(K("", "namespaces"), "{'metadata':{'name':'n'},'spec':{'finalizers':["
	                                  "'example.com/cleanup']}}");

	const struct reg_kind *pvc = K("", "persistentvolumeclaims");
	const char *good = "{'metadata':{'name':'data'},'spec':{'accessModes':['ReadWriteOnce'],"
	                   "'resources':{'requests':{'storage':'1Gi'}}}}";
	expect_valid(pvc, good);
	expect_one(pvc,
	           "{'metadata':{'name':'d'},'spec':{'resources':{'requests':{'storage':"
	           "'1Gi'}}}}",
	           "FieldValueRequired", "spec.accessModes");
	expect_one(pvc,
	           "{'metadata':{'name':'d'},'spec':{'accessModes':['ReadWriteSometimes'],"
	           "'resources':{'requests':{'storage':'1Gi'}}}}",
	           "FieldValueNotSupported", "spec.accessModes[0]");
	expect_one(pvc, "{'metadata':{'name':'d'},'spec':{'accessModes':['ReadWriteOnce']}}",
	           "FieldValueRequired", "spec.resources[storage]");
	expect_one(pvc,
	           "{'metadata':{'name':'d'},'spec':{'accessModes':['ReadWriteOnce'],"
	           "'resources':{'requests':{'storage':'0'}}}}",
	           "FieldValueInvalid", "spec.resources.requests[storage]");
	/* A pending claim cannot be resized; a bound one may grow but not shrink. */
	old = created(pvc, good);
	cJSON *now = cJSON_Duplicate(old, true);
	obj_set_str(now, "spec.resources.requests.storage", "2Gi", NULL);
	e = update_causes(pvc, old, now);
	assert_cause(&e, "FieldValueForbidden", "spec");
	reg_errors_free(&e);
	obj_set_str(old, "status.phase", "Bound", NULL);
	obj_set_str(old, "spec.volumeName", "pv-1", NULL);
	now = cJSON_Duplicate(old, true);
	obj_set_str(now, "spec.resources.requests.storage", "2Gi", NULL);
	e = update_causes(pvc, old, now);
	assert_no_causes(&e);
	now = cJSON_Duplicate(old, true);
	obj_set_str(now, "spec.resources.requests.storage", "512Mi", NULL);
	e = update_causes(pvc, old, now);
	assert_cause(&e, "FieldValueForbidden", "spec.resources.requests.storage");
	reg_errors_free(&e);
	now = cJSON_Duplicate(old, true);
	obj_set_str(now, "spec.storageClassName", "fast", NULL);
	e = update_causes(pvc, old, now);
	assert_cause(&e, "FieldValueForbidden", "spec");
	reg_errors_free(&e);
	cJSON_Delete(old);
}

static void test_network_rbac_lease_csr_and_event_mistakes_name_their_field(void **state)
{
	expect_one(K("", "endpoints"),
	           "{'metadata':{'name':'e'},'subsets':[{'addresses':[{'ip':"
	           "'10.42.0.300'}],'ports':[{'port':80}]}]}",
	           "FieldValueInvalid", "subsets[0].addresses[0].ip");
	const struct reg_kind *eps = K("discovery.k8s.io", "endpointslices");
	expect_one(eps,
	           "{'metadata':{'name':'e'},'addressType':'IPv4','endpoints':[{'addresses':["
	           "'fd00::1']}]}",
	           "FieldValueInvalid", "endpoints[0].addresses[0]");
	expect_one(eps, "{'metadata':{'name':'e'},'addressType':'IPv5'}", "FieldValueNotSupported",
	           "addressType");
	cJSON *old = created(eps, "{'metadata':{'name':'e'},'addressType':'IPv4'}");
	struct reg_errors e =
	    update_causes(eps, old, J("{'metadata':{'name':'e'},'addressType':'IPv6'}"));
	assert_cause(&e, "FieldValueInvalid", "addressType");
	reg_errors_free(&e);
	cJSON_Delete(old);

	const struct reg_kind *role = K("rbac.authorization.k8s.io", "roles");
	expect_valid(role, "{'metadata':{'name':'r'},'rules':[{'apiGroups':[''],'resources':["
	                   "'pods'],'verbs':['get','list']}]}");
	expect_one(role,
	           "{'metadata':{'name':'r'},'rules':[{'apiGroups':[''],'resources':['pods']}]}",
	           "FieldValueRequired", "rules[0].verbs");
	expect_one(role,
	           "{'metadata':{'name':'r'},'rules':[{'nonResourceURLs':['/healthz'],"
	           "'verbs':['get']}]}",
	           "FieldValueInvalid", "rules[0].nonResourceURLs");
	e = (struct reg_errors){ 0 };
	role->validate_name("system:controller:x", &e);
	assert_no_causes(&e);
	role->validate_name("a/b", &e);
	assert_cause(&e, "FieldValueInvalid", "metadata.name");
	reg_errors_free(&e);
	const struct reg_kind *rb = K("rbac.authorization.k8s.io", "rolebindings");
	const struct reg_kind *crb = K("rbac.authorization.k8s.io", "clusterrolebindings");
	expect_one(rb,
	           "{'metadata':{'name':'b'},'roleRef':{'kind':'Role','name':'r'},'subjects':["
	           "{'kind':'Robot','name':'x'}]}",
	           "FieldValueNotSupported", "subjects[0].kind");
	expect_one(crb, "{'metadata':{'name':'b'},'roleRef':{'kind':'Role','name':'r'}}",
	           "FieldValueNotSupported", "roleRef.kind");
	expect_one(crb,
	           "{'metadata':{'name':'b'},'roleRef':{'kind':'ClusterRole','name':'r'},"
	           "'subjects':[{'kind':'ServiceAccount','name':'sa'}]}",
	           "FieldValueRequired", "subjects[0].namespace");
	old = created(rb, "{'metadata':{'name':'b'},'roleRef':{'kind':'Role','name':'r'}}");
	e = update_causes(rb, old,
	                  J("{'metadata':{'name':'b'},'roleRef':{'kind':'Role','name':"
	                    "'admin'}}"));
	assert_cause(&e, "FieldValueInvalid", "roleRef");
	reg_errors_free(&e);
	cJSON_Delete(old);

	expect_one(K("coordination.k8s.io", "leases"),
	           "{'metadata':{'name':'pi-1'},'spec':{'leaseDurationSeconds':0}}",
	           "FieldValueInvalid", "spec.leaseDurationSeconds");
	expect_one(K("coordination.k8s.io", "leases"),
	           "{'metadata':{'name':'pi-1'},'spec':{'renewTime':'yesterday'}}",
	           "FieldValueInvalid", "spec.renewTime");

	const struct reg_kind *csr = K("certificates.k8s.io", "certificatesigningrequests");
	expect_one(csr,
	           "{'metadata':{'name':'c'},'spec':{'request':'bm90IGEgcGVt','signerName':"
	           "'kubernetes.io/kube-apiserver-client','usages':['client auth']}}",
	           "FieldValueInvalid", "spec.request");
	expect_one(csr,
	           "{'metadata':{'name':'c'},'spec':{'request':'LS0tLS1CRUdJTiBDRVJUSUZJQ0FU"
	           "RSBSRVFVRVNULS0tLS0K','signerName':'kubernetes.io/kube-apiserver-client',"
	           "'usages':['client auth'],'expirationSeconds':60}}",
	           "FieldValueInvalid", "spec.expirationSeconds");

	const struct reg_kind *ev = K("events.k8s.io", "events");
	expect_one(ev,
	           "{'metadata':{'name':'e','namespace':'default'},'eventTime':"
	           "'2025-01-01T11:00:00.000000Z','reportingController':'x.io/c',"
	           "'reportingInstance':'i','action':'A','reason':'R','type':'Info',"
	           "'regarding':{'namespace':'default'}}",
	           "FieldValueInvalid", "type");
}

/* --- malformed objects ---------------------------------------------------------------------- */

/* Realistic objects of every kind; the sweep breaks each of their members in turn. */
static const char *const fixtures[][3] = {
	{ "", "pods",
	  "{'metadata':{'name':'web','namespace':'default','labels':{'app':'web'}},'spec':{"
	  "'initContainers':[{'name':'init','image':'busybox','command':['sh','-c','true'],"
	  "'restartPolicy':'Always'}],'containers':[{'name':'web','image':'nginx:1.27',"
	  "'ports':[{'name':'http','containerPort':80,'protocol':'TCP'}],'env':[{'name':'A',"
	  "'value':'1'},{'name':'B','valueFrom':{'fieldRef':{'fieldPath':'metadata.name'}}}],"
	  "'resources':{'limits':{'cpu':'1','memory':'1Gi'},'requests':{'cpu':'500m'}},"
	  "'volumeMounts':[{'name':'data','mountPath':'/data'}],'livenessProbe':{'httpGet':{"
	  "'path':'/','port':'http'},'periodSeconds':10},'lifecycle':{'preStop':{'exec':{"
	  "'command':['sleep','5']}}}}],'volumes':[{'name':'data','persistentVolumeClaim':{"
	  "'claimName':'data'}},{'name':'cfg','configMap':{'name':'cfg','items':[{'key':'a',"
	  "'path':'a'}]}}],'tolerations':[{'key':'gpu','operator':'Exists','effect':'NoExecute',"
	  "'tolerationSeconds':30}],'nodeSelector':{'disk':'ssd'},'readinessGates':[{"
	  "'conditionType':'example.com/ready'}],'schedulingGates':[{'name':'g'}],'nodeName':"
	  "'pi-1','activeDeadlineSeconds':60},'status':{'phase':'Running','podIP':'10.42.0.5',"
	  "'podIPs':[{'ip':'10.42.0.5'}],'conditions':[{'type':'Ready','status':'True'}],"
	  "'initContainerStatuses':[{'name':'init','ready':true,'started':true,'restartCount':1,"
	  "'state':{'running':{}},'lastState':{'terminated':{'exitCode':1,'finishedAt':"
	  "'2025-01-01T11:00:00Z'}}}],'containerStatuses':[{'name':'web','ready':true,"
	  "'restartCount':2,'state':{'waiting':{'reason':'CrashLoopBackOff'}},'lastState':{"
	  "'terminated':{'exitCode':137,'reason':'OOMKilled','finishedAt':"
	  "'2025-01-01T11:50:00Z'}}}]}}" },
	{ "", "services",
	  "{'metadata':{'name':'web'},'spec':{'type':'LoadBalancer','selector':{'app':'web'},"
	  "'ports':[{'name':'http','port':80,'targetPort':'http','nodePort':30080},{'name':"
	  "'https','port':443,'targetPort':8443}],'clusterIP':'10.43.0.10','clusterIPs':["
	  "'10.43.0.10'],'externalIPs':['192.0.2.1'],'sessionAffinity':'ClientIP',"
	  "'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':60}},'ipFamilies':['IPv4'],"
	  "'externalTrafficPolicy':'Local','healthCheckNodePort':31000},'status':{"
	  "'loadBalancer':{'ingress':[{'ip':'192.0.2.9'},{'hostname':'lb.example.com'}]}}}" },
	{ "", "endpoints",
	  "{'metadata':{'name':'web'},'subsets':[{'addresses':[{'ip':'10.42.0.5','nodeName':"
	  "'pi-1','targetRef':{'kind':'Pod','name':'web'}}],'notReadyAddresses':[{'ip':"
	  "'10.42.0.6'}],'ports':[{'name':'http','port':80,'protocol':'TCP'}]}]}" },
	{ "discovery.k8s.io", "endpointslices",
	  "{'metadata':{'name':'web-x'},'addressType':'IPv4','endpoints':[{'addresses':["
	  "'10.42.0.5'],'conditions':{'ready':true},'nodeName':'pi-1'}],'ports':[{'name':'http',"
	  "'port':80,'protocol':'TCP'}]}" },
	{ "", "namespaces",
	  "{'metadata':{'name':'team','labels':{'a':'b'}},'spec':{'finalizers':['kubernetes']},"
	  "'status':{'phase':'Active'}}" },
	{ "", "nodes",
	  "{'metadata':{'name':'pi-1','labels':{'node-role.kubernetes.io/control-plane':''}},"
	  "'spec':{'podCIDR':'10.42.0.0/24','podCIDRs':['10.42.0.0/24'],'unschedulable':true,"
	  "'taints':[{'key':'k','value':'v','effect':'NoSchedule'}]},'status':{'capacity':{"
	  "'cpu':'4','memory':'4Gi'},'allocatable':{'cpu':'4'},'conditions':[{'type':'Ready',"
	  "'status':'True'}],'addresses':[{'type':'InternalIP','address':'192.168.1.20'}],"
	  "'nodeInfo':{'kubeletVersion':'v1.32.0','osImage':'Debian','kernelVersion':'6.1',"
	  "'containerRuntimeVersion':'containerd://1.7'}}}" },
	{ "", "configmaps",
	  "{'metadata':{'name':'cfg'},'data':{'a':'1'},'binaryData':{'b':'eA=='},'immutable':"
	  "false}" },
	{ "", "secrets",
	  "{'metadata':{'name':'s','annotations':{'kubernetes.io/service-account.name':'x'}},"
	  "'type':'kubernetes.io/tls','data':{'tls.crt':'eA==','tls.key':'eA=='},'stringData':{"
	  "'c':'d'}}" },
	{ "", "serviceaccounts",
	  "{'metadata':{'name':'sa'},'secrets':[{'name':'s'}],'imagePullSecrets':[{'name':'r'}],"
	  "'automountServiceAccountToken':false}" },
	{ "", "resourcequotas",
	  "{'metadata':{'name':'q'},'spec':{'hard':{'pods':'10','limits.cpu':'4'},'scopes':["
	  "'NotBestEffort'],'scopeSelector':{}},'status':{'hard':{'pods':'10','limits.cpu':'4'},"
	  "'used':{'pods':'3','limits.cpu':'1500m'}}}" },
	{ "", "limitranges",
	  "{'metadata':{'name':'lr'},'spec':{'limits':[{'type':'Container','max':{'cpu':'2'},"
	  "'min':{'cpu':'100m'},'default':{'cpu':'1'},'defaultRequest':{'cpu':'500m'},"
	  "'maxLimitRequestRatio':{'cpu':'4'}}]}}" },
	{ "", "persistentvolumeclaims",
	  "{'metadata':{'name':'d','annotations':{'volume.beta.kubernetes.io/storage-class':"
	  "'x'}},'spec':{'accessModes':['ReadWriteOnce'],'resources':{'requests':{'storage':"
	  "'1Gi'}},'storageClassName':'local','volumeName':'pv','volumeMode':'Filesystem',"
	  "'selector':{'matchLabels':{'a':'b'}}},'status':{'phase':'Bound','capacity':{"
	  "'storage':'1Gi'},'accessModes':['ReadWriteOnce']}}" },
	{ "", "events", CORE_EVENT },
	{ "events.k8s.io", "events",
	  "{'apiVersion':'events.k8s.io/v1','kind':'Event','metadata':{'name':'e','namespace':"
	  "'default'},'eventTime':'2025-01-01T11:00:00.000000Z','reportingController':'x.io/c',"
	  "'reportingInstance':'i','action':'A','reason':'R','type':'Normal','note':'n',"
	  "'regarding':{'kind':'Pod','name':'web','namespace':'default'},'series':{'count':2,"
	  "'lastObservedTime':'2025-01-01T11:30:00.000000Z'},'related':{'kind':'Node','name':"
	  "'pi-1'},'deprecatedSource':{'component':'c'}}" },
	{ "apps", "deployments",
	  "{'metadata':{'name':'web'},'spec':{'replicas':3,'selector':{'matchLabels':{'app':"
	  "'web'},'matchExpressions':[{'key':'tier','operator':'In','values':['a']}]},"
	  "'template':{'metadata':{'labels':{'app':'web','tier':'a'}},'spec':{'containers':[{"
	  "'name':'web','image':'nginx'}]}},'strategy':{'type':'RollingUpdate','rollingUpdate':"
	  "{'maxSurge':'25%','maxUnavailable':1}},'minReadySeconds':5,'paused':false},"
	  "'status':{'replicas':3,'readyReplicas':2,'updatedReplicas':3,'availableReplicas':2,"
	  "'conditions':[]}}" },
	{ "apps", "replicasets",
	  "{'metadata':{'name':'web-1'},'spec':{'replicas':3,'selector':{'matchLabels':{'app':"
	  "'web'}},'template':{'metadata':{'labels':{'app':'web'}},'spec':{'containers':[{"
	  "'name':'web','image':'nginx'}]}}},'status':{'replicas':3,'readyReplicas':3}}" },
	{ "apps", "statefulsets",
	  "{'metadata':{'name':'db'},'spec':{'serviceName':'db','replicas':2,'selector':{"
	  "'matchLabels':{'app':'db'}},'template':{'metadata':{'labels':{'app':'db'}},'spec':{"
	  "'containers':[{'name':'db','image':'postgres'}]}},'updateStrategy':{'type':"
	  "'RollingUpdate','rollingUpdate':{'partition':0,'maxUnavailable':1}},"
	  "'volumeClaimTemplates':[{'metadata':{'name':'data'},'spec':{'accessModes':["
	  "'ReadWriteOnce'],'resources':{'requests':{'storage':'1Gi'}}}}],'ordinals':{'start':"
	  "0},'persistentVolumeClaimRetentionPolicy':{'whenDeleted':'Delete'}},'status':{"
	  "'replicas':2,'readyReplicas':1}}" },
	{ "apps", "daemonsets",
	  "{'metadata':{'name':'agent'},'spec':{'selector':{'matchLabels':{'app':'agent'}},"
	  "'template':{'metadata':{'labels':{'app':'agent'}},'spec':{'nodeSelector':{'os':"
	  "'linux'},'containers':[{'name':'a','image':'agent'}]}},'updateStrategy':{'type':"
	  "'RollingUpdate','rollingUpdate':{'maxUnavailable':'10%'}}},'status':{"
	  "'desiredNumberScheduled':2,'numberReady':2}}" },
	{ "apps", "controllerrevisions",
	  "{'metadata':{'name':'db-7c','ownerReferences':[{'apiVersion':'apps/v1','kind':"
	  "'StatefulSet','name':'db','controller':true}]},'data':{'spec':{}},'revision':3}" },
	{ "batch", "jobs",
	  "{'metadata':{'name':'pi','uid':'u'},'spec':{'completions':3,'parallelism':2,"
	  "'completionMode':'Indexed','backoffLimitPerIndex':1,'selector':{'matchLabels':{"
	  "'batch.kubernetes.io/controller-uid':'u'}},'podFailurePolicy':{'rules':[{'action':"
	  "'Ignore','onPodConditions':[{'type':'DisruptionTarget'}]}]},'template':{'metadata':{"
	  "'labels':{'batch.kubernetes.io/controller-uid':'u'}},'spec':{'restartPolicy':'Never',"
	  "'containers':[{'name':'pi','image':'perl'}]}}},'status':{'succeeded':1,'startTime':"
	  "'2025-01-01T11:00:00Z','conditions':[{'type':'Complete','status':'True'}]}}" },
	{ "batch", "cronjobs",
	  "{'metadata':{'name':'c'},'spec':{'schedule':'*/5 * * * *','timeZone':'Etc/UTC',"
	  "'suspend':true,'jobTemplate':{'metadata':{'labels':{'a':'b'}},'spec':{'template':{"
	  "'spec':{'restartPolicy':'OnFailure','containers':[{'name':'c','image':'busybox'}]}}}}},"
	  "'status':{'active':[{'name':'c-1'}],'lastScheduleTime':'2025-01-01T11:55:00Z'}}" },
	{ "certificates.k8s.io", "certificatesigningrequests",
	  "{'metadata':{'name':'c'},'spec':{'request':'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNU"
	  "LS0tLS0K','signerName':'kubernetes.io/kube-apiserver-client','usages':['client auth'],"
	  "'expirationSeconds':3600,'username':'u'},'status':{'conditions':[{'type':'Approved',"
	  "'status':'True'}],'certificate':'eA=='}}" },
	{ "rbac.authorization.k8s.io", "roles",
	  "{'metadata':{'name':'r'},'rules':[{'apiGroups':[''],'resources':['pods'],"
	  "'resourceNames':['a'],'verbs':['get']}]}" },
	{ "rbac.authorization.k8s.io", "clusterroles",
	  "{'metadata':{'name':'r'},'rules':[{'nonResourceURLs':['/healthz'],'verbs':['get']}],"
	  "'aggregationRule':{'clusterRoleSelectors':[{'matchLabels':{'a':'b'}}]}}" },
	{ "rbac.authorization.k8s.io", "rolebindings",
	  "{'metadata':{'name':'b'},'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':"
	  "'Role','name':'r'},'subjects':[{'kind':'User','name':'jane','apiGroup':"
	  "'rbac.authorization.k8s.io'},{'kind':'ServiceAccount','name':'sa','namespace':'d'}]}" },
	{ "rbac.authorization.k8s.io", "clusterrolebindings",
	  "{'metadata':{'name':'b'},'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':"
	  "'ClusterRole','name':'r'},'subjects':[{'kind':'Group','name':'g','apiGroup':"
	  "'rbac.authorization.k8s.io'}]}" },
	{ "coordination.k8s.io", "leases",
	  "{'metadata':{'name':'pi-1'},'spec':{'holderIdentity':'pi-1','leaseDurationSeconds':"
	  "40,'renewTime':'2025-01-01T11:59:59.000000Z','leaseTransitions':0}}" },
};

static const char *const fields_to_ask[] = {
	"spec.nodeName",
	"status.phase",
	"status.podIP",
	"spec.unschedulable",
	"type",
	"spec.type",
	"spec.clusterIP",
	"status.replicas",
	"status.successful",
	"spec.signerName",
	"involvedObject.name",
	"regarding.name",
	"source",
	"reportingController",
	"spec.hostNetwork",
	"metadata.name",
};

/* Every hook the engine may call, on one object. */
static void run_every_hook(const struct reg_kind *k, cJSON *obj, const cJSON *orig)
{
	struct reg_errors e = { 0 };
	static const char *const groups[] = { "system:authenticated" };
	struct reg_user u = { "admin", "uid-1", groups, 1 };
	cJSON *c = cJSON_Duplicate(obj, true);
	if (k->defaults)
		k->defaults(c);
	if (k->set_requestor)
		k->set_requestor(c, &u);
	if (k->prepare_create)
		k->prepare_create(c);
	if (k->validate)
		k->validate(c, NULL, &e);
	if (k->to_storage)
		k->to_storage(c);
	if (k->from_storage)
		k->from_storage(c);
	cJSON_Delete(c);
	/* As an update in either direction, and as a status update. */
	for (int dir = 0; dir < 2; dir++) {
		const cJSON *old = dir ? obj : orig;
		c = cJSON_Duplicate(dir ? orig : obj, true);
		if (k->defaults)
			k->defaults(c);
		if (k->prepare_update)
			k->prepare_update(c, old);
		if (k->validate)
			k->validate(c, old, &e);
		if (k->validate_status)
			k->validate_status(c, old, &e);
		cJSON_Delete(c);
	}
	cJSON *cells = cJSON_CreateArray();
	k->row(obj, NOW, cells);
	assert_int_equal(cJSON_GetArraySize(cells), k->ncolumns);
	cJSON_Delete(cells);
	char buf[64];
	for (size_t i = 0; k->field && i < ARRAY_SIZE(fields_to_ask); i++)
		k->field(obj, fields_to_ask[i], buf, sizeof(buf));
	for (size_t i = 0; i < e.n; i++) {
		assert_true(*e.v[i].type);
		assert_true(*e.v[i].message);
	}
	reg_errors_free(&e);
}

/* Scalars and containers are the type classes a cause must catch a swap between; string for
 * number and back is often legal (IntOrString, quantities). */
static int type_class(const cJSON *it)
{
	if (cJSON_IsObject(it) || cJSON_IsArray(it))
		return (it->type & 0xff);
	return cJSON_IsBool(it) ? cJSON_True : cJSON_IsNull(it) ? cJSON_NULL : cJSON_String;
}

/* Members the engine checks, or that hold anything: no cause is expected there. */
static bool free_form(const char *path)
{
	static const char *const prefixes[] = { ".metadata", ".status", ".apiVersion",
		                                ".kind",     ".data.",  ".spec.username" };
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (str_has_prefix(path, prefixes[i]))
			return true;
	return !strcmp(path, ".data");
}

/* After a type swap at path, validating the object as created must say something. */
static void expect_a_cause(const struct reg_kind *k, const cJSON *root, const char *path,
                           const char *wrong)
{
	cJSON *c = cJSON_Duplicate(root, true);
	if (k->defaults)
		k->defaults(c);
	if (k->prepare_create)
		k->prepare_create(c);
	struct reg_errors e = validate(k, c, NULL);
	if (!e.n)
		fail_msg("%s: %s set to %s gives no cause", k->resource, path, wrong);
	reg_errors_free(&e);
	cJSON_Delete(c);
}

/* Replaces each member of node in turn with each wrong value, runs every hook, puts it back,
 * and goes down into it. path is node's, as ".spec.containers[0]". */
static int sweep(const struct reg_kind *k, cJSON *root, const cJSON *orig, cJSON *node, char *path,
                 size_t cap)
{
	/* The first four swap every type class; under qemu (arm64 CI) they are enough. */
	static const char *const wrong[] = { "'x'", "[]",   "{}",       "true",     "-7",
		                             "0.5", "null", "['x',{}]", "{'a':[1]}" };
	size_t nwrong = getenv("TUG_TEST_QEMU") ? 4 : ARRAY_SIZE(wrong);
	int n = 0, size = cJSON_GetArraySize(node);
	size_t len = strlen(path);
	for (int i = 0; i < size; i++) {
		cJSON *child = cJSON_GetArrayItem(node, i);
		if (cJSON_IsArray(node))
			snprintf(path + len, cap - len, "[%d]", i);
		else
			snprintf(path + len, cap - len, ".%s", child->string);
		for (size_t w = 0; w < nwrong; w++) {
			child = cJSON_GetArrayItem(node, i);
			cJSON *saved = cJSON_Duplicate(child, true);
			cJSON *bad = J(wrong[w]);
			bool swapped = !cJSON_IsNull(bad) && type_class(bad) != type_class(saved);
			char *key = cJSON_IsArray(node) ? NULL : strdup(child->string);
			if (key)
				cJSON_ReplaceItemInObjectCaseSensitive(node, key, bad);
			else
				cJSON_ReplaceItemInArray(node, i, bad);
			run_every_hook(k, root, orig);
			if (swapped && !free_form(path))
				expect_a_cause(k, root, path, wrong[w]);
			if (key)
				cJSON_ReplaceItemInObjectCaseSensitive(node, key, saved);
			else
				cJSON_ReplaceItemInArray(node, i, saved);
			free(key);
			n++;
		}
		n += sweep(k, root, orig, cJSON_GetArrayItem(node, i), path, cap);
		path[len] = '\0';
	}
	return n;
}

/* Never a crash, and never silence about a member of the wrong kind (a list where an object
 * belongs, a boolean where a string does). */
static void test_malformed_objects_of_every_kind_never_crash_and_give_causes(void **state)
{
	size_t covered = 0;
	int runs = 0;
	for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++) {
		const struct reg_kind *k = K(fixtures[i][0], fixtures[i][1]);
		cJSON *obj = J(fixtures[i][2]);
		cJSON *orig = cJSON_Duplicate(obj, true);
		run_every_hook(k, obj, orig);
		char path[512] = "";
		runs += sweep(k, obj, orig, obj, path, sizeof(path));
		/* The sweep puts everything back. */
		assert_string_equal(S(obj), S(orig));
		cJSON_Delete(orig);
		cJSON_Delete(obj);
		covered++;
	}
	assert_int_equal(covered, reg_nkinds);
	assert_true(runs > 2000);
	/* Not objects at all. */
	static const char *const roots[] = { "null", "[]", "'pod'", "7", "true", "{}" };
	for (size_t r = 0; r < ARRAY_SIZE(roots); r++)
		for (size_t i = 0; i < reg_nkinds; i++) {
			cJSON *obj = J(roots[r]);
			run_every_hook(reg_kinds[i], obj, obj);
			cJSON_Delete(obj);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_valid_pod_has_no_causes),
		cmocka_unit_test(test_the_usual_pod_mistakes_name_their_field),
		cmocka_unit_test(test_probe_and_lifecycle_mistakes_name_their_field),
		cmocka_unit_test(test_resource_mistakes_name_their_field),
		cmocka_unit_test(test_toleration_mistakes_name_their_field),
		cmocka_unit_test(test_wrong_json_types_give_causes_at_their_field),
		cmocka_unit_test(test_pod_updates_may_change_only_what_upstream_allows),
		cmocka_unit_test(test_pod_status_updates_are_checked),
		cmocka_unit_test(test_the_usual_service_mistakes_name_their_field),
		cmocka_unit_test(test_a_service_keeps_its_cluster_ip),
		cmocka_unit_test(test_the_usual_deployment_mistakes_name_their_field),
		cmocka_unit_test(test_workload_selectors_are_immutable),
		cmocka_unit_test(test_statefulset_mistakes_and_forbidden_updates),
		cmocka_unit_test(test_job_mistakes_and_immutable_template),
		cmocka_unit_test(test_cronjob_schedules_and_names_are_checked),
		cmocka_unit_test(test_config_and_secret_mistakes_name_their_field),
		cmocka_unit_test(test_node_namespace_and_pvc_mistakes_name_their_field),
		cmocka_unit_test(test_network_rbac_lease_csr_and_event_mistakes_name_their_field),
		cmocka_unit_test(test_malformed_objects_of_every_kind_never_crash_and_give_causes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
