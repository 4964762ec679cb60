/* registry_test: the table of served kinds and what create does to objects (defaults, admission
 * fields), ages, field selectors and the two Event forms, as a real cluster shows them. */
#include "registry-testlib.h"

#include <ctype.h>

/* --- the table ------------------------------------------------------------------------------ */

static void test_every_row_is_consistent(void **state)
{
	assert_true(reg_nkinds >= 27);
	assert_null(reg_kinds[reg_nkinds]);
	for (size_t i = 0; i < reg_nkinds; i++) {
		const struct reg_kind *k = reg_kinds[i];
		char want[128], av[64];
		for (const char *p = k->resource; *p; p++)
			assert_true(islower((unsigned char)*p));
		assert_int_equal(k->resource[strlen(k->resource) - 1], 's');
		assert_true(isupper((unsigned char)k->kind[0]));
		snprintf(want, sizeof(want), "%sList", k->kind);
		assert_string_equal(k->list_kind, want);
		/* The singular is the kind in lower case, as discovery derives it. */
		snprintf(want, sizeof(want), "%s", k->kind);
		for (char *p = want; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		assert_string_equal(k->singular, want);
		assert_string_equal(k->version, "v1");
		assert_non_null(k->short_names);
		assert_non_null(k->categories);
		/* Events of both groups share the core store; every other kind has its own. */
		if (!strcmp(k->group, "events.k8s.io"))
			snprintf(want, sizeof(want), "core/events");
		else
			snprintf(want, sizeof(want), "%s/%s", *k->group ? k->group : "core",
			         k->resource);
		assert_non_null(k->storage);
		assert_string_equal(k->storage, want);
		assert_ptr_equal(reg_lookup(k->group, k->version, k->resource), k);
		reg_api_version(k, av, sizeof(av));
		assert_ptr_equal(reg_lookup_kind(av, k->kind), k);
		/* Printer: one name column, known types, priorities 0 or 1. */
		assert_non_null(k->columns);
		assert_non_null(k->row);
		assert_true(k->ncolumns >= 2);
		int names = 0;
		for (size_t c = 0; c < k->ncolumns; c++) {
			const struct reg_column *col = &k->columns[c];
			static const char *const types[] = { "string", "integer", "number",
				                             "boolean", "date" };
			bool known = false;
			for (size_t t = 0; t < ARRAY_SIZE(types); t++)
				known |= !strcmp(col->type, types[t]);
			assert_true(known);
			assert_true(col->priority == 0 || col->priority == 1);
			assert_non_null(col->description);
			assert_true(*col->description);
			names += !strcmp(col->format, "name");
		}
		assert_int_equal(names, 1);
		/* The scale subresource names where its numbers live. */
		if (k->subresources & REG_SUB_SCALE) {
			assert_string_equal(k->scale_replicas, "spec.replicas");
			assert_string_equal(k->scale_status_replicas, "status.replicas");
			assert_string_equal(k->scale_selector, "spec.selector");
		}
	}
}

/* kubectl api-resources on a 1.32 cluster: SHORTNAMES, NAMESPACED and CATEGORIES. */
static void test_short_names_scope_and_categories_match_api_resources(void **state)
{
	static const struct {
		const char *group, *resource, *short_names;
		bool namespaced;
		const char *categories;
	} want[] = {
		{ "", "configmaps", "cm", true, "" },
		{ "", "endpoints", "ep", true, "" },
		{ "", "events", "ev", true, "" },
		{ "", "limitranges", "limits", true, "" },
		{ "", "namespaces", "ns", false, "" },
		{ "", "nodes", "no", false, "" },
		{ "", "persistentvolumeclaims", "pvc", true, "" },
		{ "", "pods", "po", true, "all" },
		{ "", "resourcequotas", "quota", true, "" },
		{ "", "secrets", "", true, "" },
		{ "", "serviceaccounts", "sa", true, "" },
		{ "", "services", "svc", true, "all" },
		{ "apps", "controllerrevisions", "", true, "" },
		{ "apps", "daemonsets", "ds", true, "all" },
		{ "apps", "deployments", "deploy", true, "all" },
		{ "apps", "replicasets", "rs", true, "all" },
		{ "apps", "statefulsets", "sts", true, "all" },
		{ "events.k8s.io", "events", "ev", true, "" },
		{ "batch", "cronjobs", "cj", true, "all" },
		{ "batch", "jobs", "", true, "all" },
		{ "certificates.k8s.io", "certificatesigningrequests", "csr", false, "" },
		{ "rbac.authorization.k8s.io", "clusterrolebindings", "", false, "" },
		{ "rbac.authorization.k8s.io", "clusterroles", "", false, "" },
		{ "rbac.authorization.k8s.io", "rolebindings", "", true, "" },
		{ "rbac.authorization.k8s.io", "roles", "", true, "" },
		{ "coordination.k8s.io", "leases", "", true, "" },
		{ "discovery.k8s.io", "endpointslices", "", true, "" },
	};
	assert_int_equal(reg_nkinds, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		const struct reg_kind *k = K(want[i].group, want[i].resource);
		assert_string_equal(k->short_names, want[i].short_names);
		assert_string_equal(k->categories, want[i].categories);
		assert_int_equal(k->namespaced, want[i].namespaced);
	}
}

static void test_subresources_are_the_upstream_ones(void **state)
{
	assert_int_equal(K("", "pods")->subresources, REG_SUB_STATUS | REG_SUB_BINDING |
	                                                  REG_SUB_EVICTION | REG_SUB_LOG |
	                                                  REG_SUB_EXEC | REG_SUB_PROXY);
	assert_int_equal(K("", "nodes")->subresources, REG_SUB_STATUS | REG_SUB_PROXY);
	assert_int_equal(K("", "services")->subresources, REG_SUB_STATUS | REG_SUB_PROXY);
	assert_int_equal(K("", "namespaces")->subresources, REG_SUB_STATUS);
	assert_int_equal(K("", "configmaps")->subresources, 0);
	assert_int_equal(K("apps", "deployments")->subresources, REG_SUB_STATUS | REG_SUB_SCALE);
	assert_int_equal(K("apps", "replicasets")->subresources, REG_SUB_STATUS | REG_SUB_SCALE);
	assert_int_equal(K("apps", "statefulsets")->subresources, REG_SUB_STATUS | REG_SUB_SCALE);
	assert_int_equal(K("apps", "daemonsets")->subresources, REG_SUB_STATUS);
	assert_int_equal(K("batch", "jobs")->subresources, REG_SUB_STATUS);
	assert_int_equal(K("batch", "cronjobs")->subresources, REG_SUB_STATUS);
	assert_int_equal(K("certificates.k8s.io", "certificatesigningrequests")->subresources,
	                 REG_SUB_STATUS | REG_SUB_APPROVAL);
	/* Services and namespaces are DNS labels; services further DNS-1035 labels. */
	assert_true(K("", "namespaces")->name_is_label);
	assert_true(K("", "services")->name_is_label);
	assert_false(K("", "configmaps")->name_is_label);
}

static void test_lookups_answer_only_for_served_kinds(void **state)
{
	char av[64];
	assert_null(reg_lookup("", "v1", "pod"));
	assert_null(reg_lookup("", "v2", "pods"));
	assert_null(reg_lookup("apps", "v1", "pods"));
	assert_null(reg_lookup("", "v1", "replicationcontrollers"));
	assert_ptr_equal(reg_lookup_kind("apps/v1", "Deployment"), K("apps", "deployments"));
	assert_null(reg_lookup_kind("extensions/v1beta1", "Deployment"));
	assert_null(reg_lookup_kind("v1", "Deployment"));
	assert_ptr_equal(reg_lookup_kind("v1", "Event"), K("", "events"));
	assert_ptr_equal(reg_lookup_kind("events.k8s.io/v1", "Event"),
	                 K("events.k8s.io", "events"));
	reg_api_version(K("", "pods"), av, sizeof(av));
	assert_string_equal(av, "v1");
	reg_api_version(K("rbac.authorization.k8s.io", "roles"), av, sizeof(av));
	assert_string_equal(av, "rbac.authorization.k8s.io/v1");
}

/* --- ages ----------------------------------------------------------------------------------- */

static void test_ages_follow_upstream_human_duration(void **state)
{
	static const struct {
		int64_t secs;
		const char *want;
	} table[] = {
		{ -5, "<invalid>" },
		{ -2, "<invalid>" },
		{ -1, "0s" },
		{ 0, "0s" },
		{ 59, "59s" },
		{ 119, "119s" },
		{ 120, "2m" },
		{ 121, "2m1s" },
		{ 300, "5m" },
		{ 599, "9m59s" },
		{ 600, "10m" },
		{ 10799, "179m" },
		{ 10800, "3h" },
		{ 10860, "3h1m" },
		{ 8 * 3600 - 1, "7h59m" },
		{ 8 * 3600, "8h" },
		{ 47 * 3600 + 3599, "47h" },
		{ 48 * 3600, "2d" },
		{ 49 * 3600, "2d1h" },
		{ 8 * 86400 - 3600, "7d23h" },
		{ 8 * 86400, "8d" },
		{ 729 * 86400, "729d" },
		{ 730 * 86400, "2y" },
		{ 731 * 86400, "2y1d" },
		{ 8 * 365 * 86400 - 86400, "7y364d" },
		{ 8 * 365 * 86400, "8y" },
		{ 3000LL * 86400, "8y" },
	};
	char out[32], ts[32];
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		time_rfc3339(ts, NOW - table[i].secs);
		reg_age(ts, NOW, out, sizeof(out));
		if (strcmp(out, table[i].want))
			fail_msg("%lld s: %s, want %s", (long long)table[i].secs, out,
			         table[i].want);
	}
}

static void test_ages_read_offsets_fractions_and_refuse_garbage(void **state)
{
	char out[32];
	reg_age("2025-01-01T13:00:00+01:00", NOW, out, sizeof(out));
	assert_string_equal(out, "0s");
	reg_age("2025-01-01T06:30:00-05:00", NOW, out, sizeof(out));
	assert_string_equal(out, "30m");
	reg_age("2025-01-01T11:55:00.123456Z", NOW, out, sizeof(out));
	assert_string_equal(out, "5m");
	reg_age("2024-12-31T12:00:00Z", NOW, out, sizeof(out));
	assert_string_equal(out, "24h");
	static const char *const bad[] = { NULL,
		                           "",
		                           "yesterday",
		                           "2025-01-01",
		                           "2025-01-01 11:00:00Z",
		                           "2025-13-01T11:00:00Z",
		                           "2025-01-01T25:00:00Z",
		                           "2025-01-01T11:00:00",
		                           "2025-01-01T11:00:00+0100",
		                           "2025-01-01T11:00:00.Z",
		                           "2025-01-01T11:00:00Zjunk" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		reg_age(bad[i], NOW, out, sizeof(out));
		assert_string_equal(out, "<unknown>");
	}
	/* A small buffer is cut, never overrun. */
	char tiny[3];
	reg_age("2025-01-01T11:00:00Z", NOW, tiny, sizeof(tiny));
	assert_string_equal(tiny, "60");
}

/* --- pods: defaults and admission ----------------------------------------------------------- */

#define POD_META "'apiVersion':'v1','kind':'Pod','metadata':{'name':'web','namespace':'default'}"

/* What kubectl get pod -o yaml shows of spec and status right after create. */
static void test_a_pod_gets_the_upstream_defaults_on_create(void **state)
{
	cJSON *pod = created(
	    K("", "pods"), "{" POD_META ",'spec':{'containers':[{'name':'web','image':'nginx:1.27',"
	                   "'ports':[{'containerPort':80}]}]}}");
	assert_json(cJSON_GetObjectItem(pod, "spec"),
	            "{'containers':[{'image':'nginx:1.27','imagePullPolicy':'IfNotPresent',"
	            "'name':'web','ports':[{'containerPort':80,'protocol':'TCP'}],'resources':{},"
	            "'terminationMessagePath':'/dev/termination-log',"
	            "'terminationMessagePolicy':'File'}],"
	            "'dnsPolicy':'ClusterFirst','enableServiceLinks':true,"
	            "'preemptionPolicy':'PreemptLowerPriority','priority':0,"
	            "'restartPolicy':'Always','schedulerName':'default-scheduler',"
	            "'securityContext':{},'serviceAccount':'default',"
	            "'serviceAccountName':'default','terminationGracePeriodSeconds':30,"
	            "'tolerations':[{'effect':'NoExecute','key':'node.kubernetes.io/not-ready',"
	            "'operator':'Exists','tolerationSeconds':300},"
	            "{'effect':'NoExecute','key':'node.kubernetes.io/unreachable',"
	            "'operator':'Exists','tolerationSeconds':300}]}");
	assert_json(cJSON_GetObjectItem(pod, "status"),
	            "{'phase':'Pending','qosClass':'BestEffort'}");
	/* Defaulting again (the engine does on update) changes nothing. */
	cJSON *again = cJSON_Duplicate(pod, true);
	K("", "pods")->defaults(again);
	assert_string_equal(S(again), S(pod));
	cJSON_Delete(again);
	cJSON_Delete(pod);
}

static const char *pull_policy(const char *image)
{
	static char out[32];
	char lit[512];
	snprintf(lit, sizeof(lit),
	         "{" POD_META ",'spec':{'containers':[{'name':'c','image':'%s'}]}}", image);
	cJSON *pod = created(K("", "pods"), lit);
	const char *p = obj_get_str(pod, "spec.containers[0].imagePullPolicy");
	snprintf(out, sizeof(out), "%s", p ? p : "(none)");
	cJSON_Delete(pod);
	return out;
}

static void test_image_pull_policy_follows_the_tag(void **state)
{
	static const char *const sha =
	    "sha256:4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac";
	static const struct {
		const char *image, *want;
	} table[] = {
		{ "nginx", "Always" },
		{ "nginx:latest", "Always" },
		{ "nginx:1.27", "IfNotPresent" },
		{ "nginx:LATEST", "IfNotPresent" },
		{ "library/nginx", "Always" },
		{ "docker.io/library/nginx:1.27-alpine", "IfNotPresent" },
		{ "registry.local:5000/team/app", "Always" },
		{ "registry.local:5000/team/app:v2", "IfNotPresent" },
		{ "localhost:5000/app:latest", "Always" },
		{ "localhost/app", "Always" },
		{ "my_app", "Always" },
		{ "team/my-app.v2", "Always" },
		{ "my__app", "Always" },
		{ "Registry/app", "Always" },
		{ "[fd00::1]:5000/app:latest", "Always" },
		/* Names the image reference grammar refuses: upstream ignores the error. */
		{ "", "IfNotPresent" },
		{ "Nginx", "IfNotPresent" },
		{ "nginx-", "IfNotPresent" },
		{ "-nginx", "IfNotPresent" },
		{ "my..app", "IfNotPresent" },
		{ "team//app", "IfNotPresent" },
		{ "nginx:", "IfNotPresent" },
		{ "nginx latest", "IfNotPresent" },
		{ "nginx@sha256:abc", "IfNotPresent" },
		{ "nginx:latest@sha256:abc", "IfNotPresent" },
		{ "my___app", "IfNotPresent" },
		{ "registry.local:port/app", "IfNotPresent" },
		{ "nginx:-latest", "IfNotPresent" },
		{ "4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac",
		  "IfNotPresent" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		const char *got = pull_policy(table[i].image);
		if (strcmp(got, table[i].want))
			fail_msg("%s: %s, want %s", table[i].image, got, table[i].want);
	}
	char img[256];
	snprintf(img, sizeof(img), "nginx@%s", sha);
	assert_string_equal(pull_policy(img), "IfNotPresent");
	snprintf(img, sizeof(img), "nginx:latest@%s", sha);
	assert_string_equal(pull_policy(img), "Always");
	snprintf(img, sizeof(img), "ghcr.io/org/app:1.0@%s", sha);
	assert_string_equal(pull_policy(img), "IfNotPresent");
	/* A policy the user chose stays. */
	cJSON *pod = created(K("", "pods"), "{" POD_META ",'spec':{'containers':[{'name':'c',"
	                                    "'image':'nginx','imagePullPolicy':'Never'}]}}");
	assert_string_equal(obj_get_str(pod, "spec.containers[0].imagePullPolicy"), "Never");
	cJSON_Delete(pod);
}

static void test_probes_and_handlers_get_timing_and_http_defaults(void **state)
{
	cJSON *pod = created(
	    K("", "pods"),
	    "{" POD_META ",'spec':{'containers':[{'name':'c','image':'app:1',"
	    "'livenessProbe':{'httpGet':{'port':8080},'initialDelaySeconds':5},"
	    "'readinessProbe':{'exec':{'command':['cat','/ready']},'periodSeconds':3,"
	    "'failureThreshold':1},"
	    "'startupProbe':{'tcpSocket':{'port':'http'},'timeoutSeconds':0},"
	    "'lifecycle':{'preStop':{'httpGet':{'port':80,'path':'/quit','scheme':'HTTPS'}}}}]}}");
	cJSON *c = (cJSON *)obj_get(pod, "spec.containers[0]");
	assert_json(cJSON_GetObjectItem(c, "livenessProbe"),
	            "{'failureThreshold':3,'httpGet':{'path':'/','port':8080,'scheme':'HTTP'},"
	            "'initialDelaySeconds':5,'periodSeconds':10,'successThreshold':1,"
	            "'timeoutSeconds':1}");
	assert_json(cJSON_GetObjectItem(c, "readinessProbe"),
	            "{'exec':{'command':['cat','/ready']},'failureThreshold':1,'periodSeconds':3,"
	            "'successThreshold':1,'timeoutSeconds':1}");
	/* 0 is Go's "unset" for these plain ints. */
	assert_json(cJSON_GetObjectItem(c, "startupProbe"),
	            "{'failureThreshold':3,'periodSeconds':10,'successThreshold':1,"
	            "'tcpSocket':{'port':'http'},'timeoutSeconds':1}");
	assert_json(cJSON_GetObjectItem(c, "lifecycle"),
	            "{'preStop':{'httpGet':{'path':'/quit','port':80,'scheme':'HTTPS'}}}");
	cJSON_Delete(pod);
}

static const char *resources_after_create(const char *resources)
{
	char lit[1024];
	snprintf(lit, sizeof(lit),
	         "{" POD_META ",'spec':{'containers':[{'name':'c','image':'app:1'%s%s}]}}",
	         *resources ? ",'resources':" : "", resources);
	cJSON *pod = created(K("", "pods"), lit);
	const char *s = S(obj_get(pod, "spec.containers[0].resources"));
	cJSON_Delete(pod);
	return s;
}

/* The seed's table: only limits -> requests equal them; only requests -> no limits; neither ->
 * nothing (unbounded); quantities in canonical form, rounded up to milli units. */
static void test_a_container_with_only_limits_gets_equal_requests(void **state)
{
	assert_string_equal(resources_after_create("{'limits':{'cpu':'500m','memory':'128Mi'}}"),
	                    C("{'limits':{'cpu':'500m','memory':'128Mi'},"
	                      "'requests':{'cpu':'500m','memory':'128Mi'}}"));
	assert_string_equal(resources_after_create("{'requests':{'cpu':'250m'}}"),
	                    C("{'requests':{'cpu':'250m'}}"));
	assert_string_equal(resources_after_create(""), C("{}"));
	assert_string_equal(resources_after_create("{}"), C("{}"));
	/* A request the user gave is kept; only the missing one comes from the limit. */
	assert_string_equal(
	    resources_after_create(
	        "{'limits':{'cpu':'1','memory':'1Gi'},'requests':{'cpu':'100m'}}"),
	    C("{'limits':{'cpu':'1','memory':'1Gi'},'requests':{'cpu':'100m','memory':'1Gi'}}"));
	/* Canonical forms: 0.5 -> 500m, 1024Mi -> 1Gi, numbers, sub-milli rounded up. */
	assert_string_equal(
	    resources_after_create("{'limits':{'cpu':0.5,'memory':'1024Mi','ephemeral-storage':"
	                           "'2G'},'requests':{'cpu':'0.0001'}}"),
	    C("{'limits':{'cpu':'500m','ephemeral-storage':'2G','memory':'1Gi'},"
	      "'requests':{'cpu':'1m','ephemeral-storage':'2G','memory':'1Gi'}}"));
	assert_string_equal(resources_after_create("{'limits':{'cpu':2,'memory':'1.5Gi'}}"),
	                    C("{'limits':{'cpu':'2','memory':'1536Mi'},"
	                      "'requests':{'cpu':'2','memory':'1536Mi'}}"));
}

static void test_init_containers_get_requests_but_templates_do_not(void **state)
{
	cJSON *pod =
	    created(K("", "pods"), "{" POD_META ",'spec':{'initContainers':[{'name':'i',"
	                           "'image':'busybox','resources':{'limits':{'cpu':'1'}}}],"
	                           "'containers':[{'name':'c','image':'app:1'}]}}");
	assert_json(obj_get(pod, "spec.initContainers[0].resources"),
	            "{'limits':{'cpu':'1'},'requests':{'cpu':'1'}}");
	assert_string_equal(obj_get_str(pod, "spec.initContainers[0].imagePullPolicy"), "Always");
	cJSON_Delete(pod);
	/* A deployment's template keeps what the user wrote (upstream defaults only Pods so). */
	cJSON *d = created(K("apps", "deployments"),
	                   "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'d'},"
	                   "'spec':{'selector':{'matchLabels':{'app':'d'}},'template':{'metadata':"
	                   "{'labels':{'app':'d'}},'spec':{'containers':[{'name':'c','image':'a:1',"
	                   "'resources':{'limits':{'cpu':'0.5'}}}]}}}}");
	assert_json(obj_get(d, "spec.template.spec.containers[0].resources"),
	            "{'limits':{'cpu':'500m'}}");
	assert_null(obj_get(d, "spec.template.spec.enableServiceLinks"));
	cJSON_Delete(d);
}

static void test_host_network_pods_get_host_ports(void **state)
{
	cJSON *pod = created(K("", "pods"),
	                     "{" POD_META ",'spec':{'hostNetwork':true,'containers':[{'name':'c',"
	                     "'image':'app:1','ports':[{'containerPort':9100},{'containerPort':53,"
	                     "'protocol':'UDP','hostPort':5353}]}]}}");
	assert_json(obj_get(pod, "spec.containers[0].ports"),
	            "[{'containerPort':9100,'hostPort':9100,'protocol':'TCP'},"
	            "{'containerPort':53,'hostPort':5353,'protocol':'UDP'}]");
	cJSON_Delete(pod);
}

static void test_volumes_and_env_get_defaults(void **state)
{
	cJSON *pod = created(
	    K("", "pods"),
	    "{" POD_META ",'spec':{'containers':[{'name':'c','image':'app:1','env':[{'name':'POD',"
	    "'valueFrom':{'fieldRef':{'fieldPath':'metadata.name'}}},{'name':'A','value':'1'}]}],"
	    "'volumes':[{'name':'scratch'},{'name':'conf','configMap':{'name':'app'}},"
	    "{'name':'tls','secret':{'secretName':'tls','defaultMode':256}},"
	    "{'name':'host','hostPath':{'path':'/var/log'}},"
	    "{'name':'token','projected':{'sources':[{'serviceAccountToken':{'path':'token'}},"
	    "{'downwardAPI':{'items':[{'path':'ns','fieldRef':{'fieldPath':"
	    "'metadata.namespace'}}]}}]}}]}}");
	assert_json(obj_get(pod, "spec.containers[0].env"),
	            "[{'name':'POD','valueFrom':{'fieldRef':{'apiVersion':'v1',"
	            "'fieldPath':'metadata.name'}}},{'name':'A','value':'1'}]");
	assert_json(obj_get(pod, "spec.volumes"),
	            "[{'emptyDir':{},'name':'scratch'},"
	            "{'configMap':{'defaultMode':420,'name':'app'},'name':'conf'},"
	            "{'name':'tls','secret':{'defaultMode':256,'secretName':'tls'}},"
	            "{'hostPath':{'path':'/var/log','type':''},'name':'host'},"
	            "{'name':'token','projected':{'defaultMode':420,'sources':["
	            "{'serviceAccountToken':{'expirationSeconds':3600,'path':'token'}},"
	            "{'downwardAPI':{'items':[{'fieldRef':{'apiVersion':'v1',"
	            "'fieldPath':'metadata.namespace'},'path':'ns'}]}}]}}]");
	cJSON_Delete(pod);
}

static void test_built_in_priority_classes_give_their_priority(void **state)
{
	static const char *const table[][2] = { { "system-node-critical", "2000001000" },
		                                { "system-cluster-critical", "2000000000" } };
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		char lit[256];
		snprintf(lit, sizeof(lit),
		         "{" POD_META ",'spec':{'priorityClassName':'%s','containers':[{'name':'c',"
		         "'image':'app:1'}]}}",
		         table[i][0]);
		cJSON *pod = created(K("", "pods"), lit);
		assert_json(obj_get(pod, "spec.priority"), table[i][1]);
		assert_string_equal(obj_get_str(pod, "spec.preemptionPolicy"),
		                    "PreemptLowerPriority");
		cJSON_Delete(pod);
	}
}

static void test_service_account_names_are_kept_in_step(void **state)
{
	cJSON *pod = created(K("", "pods"), "{" POD_META ",'spec':{'serviceAccountName':'build',"
	                                    "'containers':[{'name':'c','image':'app:1'}]}}");
	assert_string_equal(obj_get_str(pod, "spec.serviceAccount"), "build");
	cJSON_Delete(pod);
	pod = created(K("", "pods"), "{" POD_META ",'spec':{'serviceAccount':'legacy',"
	                             "'containers':[{'name':'c','image':'app:1'}]}}");
	assert_string_equal(obj_get_str(pod, "spec.serviceAccountName"), "legacy");
	cJSON_Delete(pod);
}

static const char *qos_of(const char *containers)
{
	static char out[32];
	char lit[2048];
	snprintf(lit, sizeof(lit), "{" POD_META ",'spec':{%s}}", containers);
	cJSON *pod = created(K("", "pods"), lit);
	snprintf(out, sizeof(out), "%s", obj_get_str(pod, "status.qosClass"));
	cJSON_Delete(pod);
	return out;
}

static void test_prepare_create_computes_the_qos_class(void **state)
{
	assert_string_equal(qos_of("'containers':[{'name':'a','image':'x'}]"), "BestEffort");
	/* Limits only: requests default to them, so the pod is Guaranteed. */
	assert_string_equal(qos_of("'containers':[{'name':'a','image':'x','resources':{'limits':"
	                           "{'cpu':'1','memory':'1Gi'}}}]"),
	                    "Guaranteed");
	assert_string_equal(qos_of("'containers':[{'name':'a','image':'x','resources':{'limits':"
	                           "{'cpu':'1','memory':'1Gi'},'requests':{'cpu':'1000m',"
	                           "'memory':'1024Mi'}}}]"),
	                    "Guaranteed");
	assert_string_equal(qos_of("'containers':[{'name':'a','image':'x','resources':{'requests':"
	                           "{'cpu':'100m'}}}]"),
	                    "Burstable");
	/* Only cpu limited: not Guaranteed. */
	assert_string_equal(qos_of("'containers':[{'name':'a','image':'x','resources':{'limits':"
	                           "{'cpu':'1'}}}]"),
	                    "Burstable");
	/* One container guaranteed, another not. */
	assert_string_equal(qos_of("'containers':[{'name':'a','image':'x','resources':{'limits':"
	                           "{'cpu':'1','memory':'1Gi'}}},{'name':'b','image':'x'}]"),
	                    "Burstable");
	/* Init containers count. */
	assert_string_equal(qos_of("'initContainers':[{'name':'i','image':'x'}],'containers':[{"
	                           "'name':'a','image':'x','resources':{'limits':{'cpu':'1',"
	                           "'memory':'1Gi'}}}]"),
	                    "Burstable");
	/* Zero amounts and other resources do not count. */
	assert_string_equal(qos_of("'containers':[{'name':'a','image':'x','resources':{'requests':"
	                           "{'cpu':'0','ephemeral-storage':'1Gi'}}}]"),
	                    "BestEffort");
	assert_string_equal(qos_of("'containers':[{'name':'a','image':'x','resources':{'limits':"
	                           "{'cpu':'1','memory':'1Gi'},'requests':{'cpu':'500m'}}}]"),
	                    "Burstable");
}

static void test_prepare_create_replaces_the_client_status_and_adds_tolerations_once(void **state)
{
	cJSON *pod = created(
	    K("", "pods"),
	    "{" POD_META ",'spec':{'containers':[{'name':'a','image':'x'}],"
	    "'tolerations':[{'key':'node.kubernetes.io/not-ready','operator':'Exists',"
	    "'effect':'NoExecute','tolerationSeconds':60},{'key':'gpu','operator':'Exists'}]},"
	    "'status':{'phase':'Running','podIP':'10.42.0.9'}}");
	assert_json(cJSON_GetObjectItem(pod, "status"),
	            "{'phase':'Pending','qosClass':'BestEffort'}");
	assert_json(obj_get(pod, "spec.tolerations"),
	            "[{'effect':'NoExecute','key':'node.kubernetes.io/not-ready','operator':"
	            "'Exists','tolerationSeconds':60},{'key':'gpu','operator':'Exists'},"
	            "{'effect':'NoExecute','key':'node.kubernetes.io/unreachable','operator':"
	            "'Exists','tolerationSeconds':300}]");
	cJSON_Delete(pod);
	/* A toleration of everything covers both. */
	pod =
	    created(K("", "pods"), "{" POD_META ",'spec':{'containers':[{'name':'a','image':'x'}],"
	                           "'tolerations':[{'operator':'Exists'}]}}");
	assert_json(obj_get(pod, "spec.tolerations"), "[{'operator':'Exists'}]");
	cJSON_Delete(pod);
	/* Scheduling gates hold the pod back, and say so. */
	pod =
	    created(K("", "pods"), "{" POD_META ",'spec':{'containers':[{'name':'a','image':'x'}],"
	                           "'schedulingGates':[{'name':'example.com/quota'}]}}");
	assert_json(obj_get(pod, "status.conditions"),
	            "[{'lastProbeTime':null,'lastTransitionTime':null,'message':"
	            "'Scheduling is blocked due to non-empty scheduling gates','reason':"
	            "'SchedulingGated','status':'False','type':'PodScheduled'}]");
	cJSON_Delete(pod);
}

/* --- services ------------------------------------------------------------------------------- */

#define SVC_META "'apiVersion':'v1','kind':'Service','metadata':{'name':'web'}"

static void test_a_service_gets_the_upstream_defaults(void **state)
{
	cJSON *svc = created(K("", "services"), "{" SVC_META ",'spec':{'selector':{'app':'web'},"
	                                        "'ports':[{'port':80},{'name':'m','port':9090,"
	                                        "'targetPort':'metrics'}]}}");
	assert_json(cJSON_GetObjectItem(svc, "spec"),
	            "{'internalTrafficPolicy':'Cluster','ipFamilies':['IPv4'],"
	            "'ipFamilyPolicy':'SingleStack','ports':[{'port':80,'protocol':'TCP',"
	            "'targetPort':80},{'name':'m','port':9090,'protocol':'TCP','targetPort':"
	            "'metrics'}],'selector':{'app':'web'},'sessionAffinity':'None',"
	            "'type':'ClusterIP'}");
	assert_json(cJSON_GetObjectItem(svc, "status"), "{'loadBalancer':{}}");
	cJSON_Delete(svc);
}

static void test_service_types_get_their_own_defaults(void **state)
{
	cJSON *svc = created(K("", "services"), "{" SVC_META ",'spec':{'type':'NodePort',"
	                                        "'ports':[{'port':80,'targetPort':0}]}}");
	assert_string_equal(obj_get_str(svc, "spec.externalTrafficPolicy"), "Cluster");
	assert_json(obj_get(svc, "spec.ports[0].targetPort"), "80");
	assert_null(obj_get(svc, "spec.allocateLoadBalancerNodePorts"));
	cJSON_Delete(svc);
	svc = created(K("", "services"), "{" SVC_META ",'spec':{'type':'LoadBalancer',"
	                                 "'ports':[{'port':443}]}}");
	assert_json(obj_get(svc, "spec.allocateLoadBalancerNodePorts"), "true");
	assert_string_equal(obj_get_str(svc, "spec.externalTrafficPolicy"), "Cluster");
	assert_string_equal(obj_get_str(svc, "spec.internalTrafficPolicy"), "Cluster");
	cJSON_Delete(svc);
	svc = created(K("", "services"), "{" SVC_META ",'spec':{'sessionAffinity':'ClientIP',"
	                                 "'ports':[{'port':80}]}}");
	assert_json(obj_get(svc, "spec.sessionAffinityConfig"),
	            "{'clientIP':{'timeoutSeconds':10800}}");
	cJSON_Delete(svc);
	/* None drops a config that would have no meaning. */
	svc =
	    created(K("", "services"), "{" SVC_META ",'spec':{'sessionAffinityConfig':{'clientIP':"
	                               "{'timeoutSeconds':5}},'ports':[{'port':80}]}}");
	assert_null(obj_get(svc, "spec.sessionAffinityConfig"));
	cJSON_Delete(svc);
	/* ExternalName: no IP families, no traffic policies. */
	svc = created(K("", "services"), "{" SVC_META ",'spec':{'type':'ExternalName',"
	                                 "'externalName':'db.example.com'}}");
	assert_json(cJSON_GetObjectItem(svc, "spec"),
	            "{'externalName':'db.example.com','sessionAffinity':'None',"
	            "'type':'ExternalName'}");
	cJSON_Delete(svc);
	/* externalIPs make a ClusterIP service externally reachable; not an ExternalName one. */
	svc = created(K("", "services"), "{" SVC_META ",'spec':{'externalIPs':['192.0.2.1'],"
	                                 "'ports':[{'port':80}]}}");
	assert_string_equal(obj_get_str(svc, "spec.externalTrafficPolicy"), "Cluster");
	cJSON_Delete(svc);
	svc =
	    created(K("", "services"), "{" SVC_META ",'spec':{'type':'ExternalName','externalName':"
	                               "'db.example.com','externalIPs':['192.0.2.1']}}");
	assert_null(obj_get(svc, "spec.externalTrafficPolicy"));
	cJSON_Delete(svc);
}

static void test_headless_services_get_upstream_ip_families(void **state)
{
	/* Headless without a selector takes both families, on any cluster. */
	cJSON *svc = created(K("", "services"), "{" SVC_META ",'spec':{'clusterIP':'None',"
	                                        "'ports':[{'port':5432}]}}");
	assert_string_equal(obj_get_str(svc, "spec.ipFamilyPolicy"), "RequireDualStack");
	assert_json(obj_get(svc, "spec.ipFamilies"), "['IPv4','IPv6']");
	assert_json(obj_get(svc, "spec.clusterIPs"), "['None']");
	cJSON_Delete(svc);
	svc =
	    created(K("", "services"), "{" SVC_META ",'spec':{'clusterIP':'None','selector':{'app':"
	                               "'db'},'ports':[{'port':5432}]}}");
	assert_string_equal(obj_get_str(svc, "spec.ipFamilyPolicy"), "SingleStack");
	assert_json(obj_get(svc, "spec.ipFamilies"), "['IPv4']");
	cJSON_Delete(svc);
	svc = created(K("", "services"), "{" SVC_META ",'spec':{'clusterIP':'fd00::10',"
	                                 "'ports':[{'port':80}]}}");
	assert_json(obj_get(svc, "spec.ipFamilies"), "['IPv6']");
	assert_json(obj_get(svc, "spec.clusterIPs"), "['fd00::10']");
	cJSON_Delete(svc);
}

static void test_a_service_update_keeps_the_allocated_ip_and_node_ports(void **state)
{
	const struct reg_kind *k = K("", "services");
	cJSON *old = created(k, "{" SVC_META ",'spec':{'type':'NodePort','ports':[{'name':'http',"
	                        "'port':80}]}}");
	obj_set_str(old, "spec.clusterIP", "10.43.0.20", NULL);
	obj_set(old, "spec.clusterIPs", J("['10.43.0.20']"), NULL);
	obj_set_i64(old, "spec.ports[0].nodePort", 30080, NULL);
	/* kubectl apply of the original manifest leaves them out. */
	cJSON *now = updated(k, old,
	                     J("{" SVC_META ",'spec':{'type':'NodePort','ports':[{'name':"
	                       "'http','port':80}]}}"));
	assert_string_equal(obj_get_str(now, "spec.clusterIP"), "10.43.0.20");
	assert_json(obj_get(now, "spec.clusterIPs"), "['10.43.0.20']");
	assert_json(obj_get(now, "spec.ports[0].nodePort"), "30080");
	struct reg_errors e = validate(k, now, old);
	assert_no_causes(&e);
	reg_errors_free(&e);
	cJSON_Delete(now);
	cJSON_Delete(old);
}

/* --- workloads ------------------------------------------------------------------------------ */

#define TEMPLATE                                                                                   \
	"'template':{'metadata':{'labels':{'app':'web'}},'spec':{'containers':[{'name':'web',"     \
	"'image':'nginx:1.27'}]}}"
#define TEMPLATE_DEFAULTED                                                                         \
	"'template':{'metadata':{'creationTimestamp':null,'labels':{'app':'web'}},'spec':{"        \
	"'containers':[{'image':'nginx:1.27','imagePullPolicy':'IfNotPresent','name':'web',"       \
	"'resources':{},'terminationMessagePath':'/dev/termination-log',"                          \
	"'terminationMessagePolicy':'File'}],'dnsPolicy':'ClusterFirst','restartPolicy':"          \
	"'Always','schedulerName':'default-scheduler','securityContext':{},"                       \
	"'terminationGracePeriodSeconds':30}}"

static void test_a_deployment_gets_the_upstream_defaults(void **state)
{
	cJSON *d = created(K("apps", "deployments"),
	                   "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web'},"
	                   "'spec':{'selector':{'matchLabels':{'app':'web'}}," TEMPLATE "},"
	                   "'status':{'replicas':3}}");
	assert_json(
	    cJSON_GetObjectItem(d, "spec"),
	    "{'progressDeadlineSeconds':600,'replicas':1,'revisionHistoryLimit':10,"
	    "'selector':{'matchLabels':{'app':'web'}},'strategy':{'rollingUpdate':{"
	    "'maxSurge':'25%','maxUnavailable':'25%'},'type':'RollingUpdate'}," TEMPLATE_DEFAULTED
	    "}");
	assert_json(cJSON_GetObjectItem(d, "status"), "{}");
	cJSON_Delete(d);
	/* Recreate has no rollingUpdate; explicit numbers stay. */
	d = created(
	    K("apps", "deployments"),
	    "{'metadata':{'name':'web'},'spec':{'replicas':0,'strategy':{'type':'Recreate'},"
	    "'selector':{'matchLabels':{'app':'web'}}," TEMPLATE "}}");
	assert_json(obj_get(d, "spec.strategy"), "{'type':'Recreate'}");
	assert_json(obj_get(d, "spec.replicas"), "0");
	cJSON_Delete(d);
	d = created(
	    K("apps", "deployments"),
	    "{'metadata':{'name':'web'},'spec':{'strategy':{'rollingUpdate':{'maxSurge':1}},"
	    "'selector':{'matchLabels':{'app':'web'}}," TEMPLATE "}}");
	assert_json(
	    obj_get(d, "spec.strategy"),
	    "{'rollingUpdate':{'maxSurge':1,'maxUnavailable':'25%'},'type':'RollingUpdate'}");
	cJSON_Delete(d);
}

static void test_a_replicaset_gets_the_upstream_defaults(void **state)
{
	cJSON *rs = created(K("apps", "replicasets"),
	                    "{'metadata':{'name':'web-5d4f8'},'spec':{'selector':{'matchLabels':{"
	                    "'app':'web'}}," TEMPLATE "}}");
	assert_json(cJSON_GetObjectItem(rs, "spec"),
	            "{'replicas':1,'selector':{'matchLabels':{'app':"
	            "'web'}}," TEMPLATE_DEFAULTED "}");
	assert_json(cJSON_GetObjectItem(rs, "status"), "{}");
	cJSON_Delete(rs);
}

static void test_a_statefulset_gets_the_upstream_defaults(void **state)
{
	cJSON *s = created(K("apps", "statefulsets"),
	                   "{'metadata':{'name':'db'},'spec':{'serviceName':'db','selector':{"
	                   "'matchLabels':{'app':'web'}}," TEMPLATE ",'volumeClaimTemplates':[{"
	                   "'metadata':{'name':'data'},'spec':{'accessModes':['ReadWriteOnce'],"
	                   "'resources':{'requests':{'storage':'1024Mi'}}}}]}}");
	assert_json(cJSON_GetObjectItem(s, "spec"),
	            "{'persistentVolumeClaimRetentionPolicy':{'whenDeleted':'Retain',"
	            "'whenScaled':'Retain'},'podManagementPolicy':'OrderedReady','replicas':1,"
	            "'revisionHistoryLimit':10,'selector':{'matchLabels':{'app':'web'}},"
	            "'serviceName':'db'," TEMPLATE_DEFAULTED ",'updateStrategy':{"
	            "'rollingUpdate':{'partition':0},'type':'RollingUpdate'},"
	            "'volumeClaimTemplates':[{'metadata':{'creationTimestamp':null,'name':'data'},"
	            "'spec':{'accessModes':['ReadWriteOnce'],'resources':{'requests':{"
	            "'storage':'1Gi'}},'volumeMode':'Filesystem'},'status':{'phase':'Pending'}}]}");
	cJSON_Delete(s);
	/* OnDelete gets no rollingUpdate; an explicit RollingUpdate without one gets none. */
	s = created(K("apps", "statefulsets"),
	            "{'metadata':{'name':'db'},'spec':{'updateStrategy':{'type':'OnDelete'},"
	            "'selector':{'matchLabels':{'app':'web'}}," TEMPLATE "}}");
	assert_json(obj_get(s, "spec.updateStrategy"), "{'type':'OnDelete'}");
	cJSON_Delete(s);
	s = created(
	    K("apps", "statefulsets"),
	    "{'metadata':{'name':'db'},'spec':{'updateStrategy':{'type':'RollingUpdate',"
	    "'rollingUpdate':{'partition':2}},'selector':{'matchLabels':{'app':'web'}}," TEMPLATE
	    "}}");
	assert_json(obj_get(s, "spec.updateStrategy"),
	            "{'rollingUpdate':{'partition':2},'type':'RollingUpdate'}");
	cJSON_Delete(s);
}

static void test_a_daemonset_gets_the_upstream_defaults(void **state)
{
	cJSON *ds = created(K("apps", "daemonsets"),
	                    "{'metadata':{'name':'agent'},'spec':{'selector':{'matchLabels':{"
	                    "'app':'web'}}," TEMPLATE "}}");
	assert_json(cJSON_GetObjectItem(ds, "spec"),
	            "{'revisionHistoryLimit':10,'selector':{'matchLabels':{'app':'web'}}"
	            "," TEMPLATE_DEFAULTED ",'updateStrategy':{'rollingUpdate':{'maxSurge':0,"
	            "'maxUnavailable':1},'type':'RollingUpdate'}}");
	cJSON_Delete(ds);
}

#define JOB_UID "0f6a2b1c-7d8e-4f90-a1b2-c3d4e5f60718"

static void test_a_job_gets_its_selector_labels_and_defaults(void **state)
{
	cJSON *job = created(
	    K("batch", "jobs"),
	    "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'pi','uid':'" JOB_UID "'},"
	    "'spec':{'template':{'spec':{'restartPolicy':'Never','containers':[{'name':'pi',"
	    "'image':'perl:5.34','command':['perl','-e','print 1']}]}}}}");
	assert_json(obj_get(job, "metadata.labels"),
	            "{'batch.kubernetes.io/controller-uid':'" JOB_UID "',"
	            "'batch.kubernetes.io/job-name':'pi','controller-uid':'" JOB_UID "',"
	            "'job-name':'pi'}");
	assert_json(cJSON_GetObjectItem(job, "spec"),
	            "{'backoffLimit':6,'completionMode':'NonIndexed','completions':1,"
	            "'manualSelector':false,'parallelism':1,'podReplacementPolicy':"
	            "'TerminatingOrFailed','selector':{'matchLabels':{"
	            "'batch.kubernetes.io/controller-uid':'" JOB_UID "'}},'suspend':false,"
	            "'template':{'metadata':{'creationTimestamp':null,'labels':{"
	            "'batch.kubernetes.io/controller-uid':'" JOB_UID "',"
	            "'batch.kubernetes.io/job-name':'pi','controller-uid':'" JOB_UID "',"
	            "'job-name':'pi'}},'spec':{'containers':[{'command':['perl','-e','print 1'],"
	            "'image':'perl:5.34','imagePullPolicy':'IfNotPresent','name':'pi',"
	            "'resources':{},'terminationMessagePath':'/dev/termination-log',"
	            "'terminationMessagePolicy':'File'}],'dnsPolicy':'ClusterFirst',"
	            "'restartPolicy':'Never','schedulerName':'default-scheduler',"
	            "'securityContext':{},'terminationGracePeriodSeconds':30}}}");
	assert_json(cJSON_GetObjectItem(job, "status"), "{}");
	struct reg_errors e = validate(K("batch", "jobs"), job, NULL);
	assert_no_causes(&e);
	reg_errors_free(&e);
	cJSON_Delete(job);
}

static void test_job_counts_default_as_upstream_does(void **state)
{
	static const struct {
		const char *spec, *want;
	} table[] = {
		{ "", "{'c':1,'p':1,'b':6}" },
		{ "'parallelism':3,", "{'c':null,'p':3,'b':6}" },
		{ "'completions':5,", "{'c':5,'p':1,'b':6}" },
		{ "'completions':4,'completionMode':'Indexed','backoffLimitPerIndex':1,",
		  "{'c':4,'p':1,'b':2147483647}" },
		{ "'backoffLimit':0,", "{'c':1,'p':1,'b':0}" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		char lit[512];
		snprintf(lit, sizeof(lit),
		         "{'metadata':{'name':'j','uid':'" JOB_UID "'},'spec':{%s'template':{"
		         "'spec':{'restartPolicy':'Never','containers':[{'name':'c','image':"
		         "'x:1'}]}}}}",
		         table[i].spec);
		cJSON *job = created(K("batch", "jobs"), lit);
		cJSON *got = cJSON_CreateObject();
		const cJSON *c = obj_get(job, "spec.completions");
		cJSON_AddItemToObject(got, "c", c ? cJSON_Duplicate(c, true) : cJSON_CreateNull());
		cJSON_AddItemToObject(got, "p",
		                      cJSON_Duplicate(obj_get(job, "spec.parallelism"), true));
		cJSON_AddItemToObject(got, "b",
		                      cJSON_Duplicate(obj_get(job, "spec.backoffLimit"), true));
		assert_string_equal(S(got), C(table[i].want));
		cJSON_Delete(got);
		cJSON_Delete(job);
	}
	/* A pod failure policy changes the replacement default and fills condition status. */
	cJSON *job = created(K("batch", "jobs"),
	                     "{'metadata':{'name':'j','uid':'" JOB_UID "'},'spec':{"
	                     "'podFailurePolicy':{'rules':[{'action':'Ignore','onPodConditions':[{"
	                     "'type':'DisruptionTarget'}]}]},'template':{'spec':{'restartPolicy':"
	                     "'Never','containers':[{'name':'c','image':'x:1'}]}}}}");
	assert_string_equal(obj_get_str(job, "spec.podReplacementPolicy"), "Failed");
	assert_string_equal(
	    obj_get_str(job, "spec.podFailurePolicy.rules[0].onPodConditions[0].status"), "True");
	cJSON_Delete(job);
	/* A manual selector is left alone. */
	job = created(K("batch", "jobs"),
	              "{'metadata':{'name':'j','uid':'" JOB_UID "'},'spec':{"
	              "'manualSelector':true,'selector':{'matchLabels':{'a':'b'}},"
	              "'template':{'metadata':{'labels':{'a':'b'}},'spec':{"
	              "'restartPolicy':'Never','containers':[{'name':'c',"
	              "'image':'x:1'}]}}}}");
	assert_json(obj_get(job, "spec.selector"), "{'matchLabels':{'a':'b'}}");
	assert_json(obj_get(job, "spec.template.metadata.labels"), "{'a':'b'}");
	assert_json(obj_get(job, "metadata.labels"), "{'a':'b'}");
	cJSON_Delete(job);
}

static void test_a_cronjob_gets_the_upstream_defaults(void **state)
{
	cJSON *cj = created(K("batch", "cronjobs"),
	                    "{'apiVersion':'batch/v1','kind':'CronJob','metadata':{'name':'hello'},"
	                    "'spec':{'schedule':'*/1 * * * *','jobTemplate':{'spec':{'template':{"
	                    "'spec':{'restartPolicy':'OnFailure','containers':[{'name':'hello',"
	                    "'image':'busybox:1.28'}]}}}}}}");
	assert_json(cJSON_GetObjectItem(cj, "spec"),
	            "{'concurrencyPolicy':'Allow','failedJobsHistoryLimit':1,'jobTemplate':{"
	            "'metadata':{'creationTimestamp':null},'spec':{'template':{'metadata':{"
	            "'creationTimestamp':null},'spec':{'containers':[{'image':'busybox:1.28',"
	            "'imagePullPolicy':'IfNotPresent','name':'hello','resources':{},"
	            "'terminationMessagePath':'/dev/termination-log','terminationMessagePolicy':"
	            "'File'}],'dnsPolicy':'ClusterFirst','restartPolicy':'OnFailure',"
	            "'schedulerName':'default-scheduler','securityContext':{},"
	            "'terminationGracePeriodSeconds':30}}}},'schedule':'*/1 * * * *',"
	            "'successfulJobsHistoryLimit':3,'suspend':false}");
	assert_json(cJSON_GetObjectItem(cj, "status"), "{}");
	cJSON_Delete(cj);
}

/* --- plain core kinds ----------------------------------------------------------------------- */

static void test_a_secret_gets_its_type_and_string_data_is_merged(void **state)
{
	cJSON *s = created(K("", "secrets"), "{'metadata':{'name':'db'},'data':{'user':'YWRtaW4=',"
	                                     "'pass':'b2xk'},'stringData':{'pass':'s3cr3t!',"
	                                     "'empty':''}}");
	assert_json(s, "{'data':{'empty':'','pass':'czNjcjN0IQ==','user':'YWRtaW4='},"
	               "'metadata':{'creationTimestamp':'" CREATED_1H "','name':'db',"
	               "'namespace':'default','uid':'6a1b0e4c-34c4-4c8e-9d8e-0c1c2b3a4d5e'},"
	               "'type':'Opaque'}");
	cJSON_Delete(s);
	s = created(K("", "secrets"), "{'metadata':{'name':'tls'},'type':'kubernetes.io/tls',"
	                              "'stringData':{'tls.crt':'a','tls.key':'bc'}}");
	assert_string_equal(obj_get_str(s, "type"), "kubernetes.io/tls");
	assert_json(cJSON_GetObjectItem(s, "data"), "{'tls.crt':'YQ==','tls.key':'YmM='}");
	cJSON_Delete(s);
}

static void test_a_namespace_gets_its_label_phase_and_finalizer(void **state)
{
	cJSON *ns = created(K("", "namespaces"), "{'metadata':{'name':'team-a','labels':{'env':"
	                                         "'dev'}},'status':{'phase':'Terminating'}}");
	assert_json(ns, "{'metadata':{'creationTimestamp':'" CREATED_1H "','labels':{'env':'dev',"
	                "'kubernetes.io/metadata.name':'team-a'},'name':'team-a',"
	                "'uid':'6a1b0e4c-34c4-4c8e-9d8e-0c1c2b3a4d5e'},"
	                "'spec':{'finalizers':['kubernetes']},'status':{'phase':'Active'}}");
	cJSON_Delete(ns);
	/* Updates through the main resource cannot drop the finalizer (only /finalize can). */
	const struct reg_kind *k = K("", "namespaces");
	cJSON *old = created(k, "{'metadata':{'name':'team-a'}}");
	cJSON *now = updated(k, old, J("{'metadata':{'name':'team-a'},'spec':{'finalizers':[]}}"));
	assert_json(obj_get(now, "spec.finalizers"), "['kubernetes']");
	assert_string_equal(obj_get_str(now, "metadata.labels.kubernetes\\.io/metadata\\.name"),
	                    "team-a");
	cJSON_Delete(now);
	cJSON_Delete(old);
}

static void test_a_node_gets_allocatable_from_capacity(void **state)
{
	cJSON *n = created(K("", "nodes"), "{'metadata':{'name':'pi-1'},'status':{'capacity':{"
	                                   "'cpu':4,'memory':'3884Mi','pods':'110',"
	                                   "'ephemeral-storage':'30435260Ki'}}}");
	assert_json(cJSON_GetObjectItem(n, "status"),
	            "{'allocatable':{'cpu':'4','ephemeral-storage':'30435260Ki','memory':"
	            "'3884Mi','pods':'110'},'capacity':{'cpu':'4','ephemeral-storage':"
	            "'30435260Ki','memory':'3884Mi','pods':'110'}}");
	cJSON_Delete(n);
	n = created(K("", "nodes"), "{'metadata':{'name':'pi-1'},'status':{'capacity':{'cpu':'4'},"
	                            "'allocatable':{'cpu':'3800m'}}}");
	assert_json(obj_get(n, "status.allocatable"), "{'cpu':'3800m'}");
	cJSON_Delete(n);
}

/* Quantities are stored as upstream serializes them, rounded up to milli units. */
static void test_resource_quantities_are_stored_in_canonical_form(void **state)
{
	static const char *const table[][2] = {
		{ "'1000m'", "1" },       { "'1024Mi'", "1Gi" },
		{ "'0.5'", "500m" },      { "'1.5Gi'", "1536Mi" },
		{ "'12e6'", "12e6" },     { "'100.035k'", "100035" },
		{ "'0.0001'", "1m" },     { "'1.0001'", "1001m" },
		{ "'0.5Ki'", "512" },     { "2", "2" },
		{ "0.25", "250m" },       { "'5Ei'", "5Ei" },
		{ "'1E-3'", "1e-3" },     { "'1n'", "1m" },
		{ "'999999n'", "1m" },    { "'+1.5'", "1500m" },
		{ "'0Mi'", "0" },         { "'1.'", "1" },
		{ "'40T'", "40T" },       { "'2048Ki'", "2Mi" },
		{ "'1500Mi'", "1500Mi" }, { "'lots'", "lots" },
		{ "'1Zi'", "1Zi" },       { "1e3", "1k" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		char lit[256];
		snprintf(lit, sizeof(lit),
		         "{'metadata':{'name':'n'},'status':{'capacity':{'x':%s}}}", table[i][0]);
		cJSON *n = created(K("", "nodes"), lit);
		const char *got = obj_get_str(n, "status.capacity.x");
		if (!got || strcmp(got, table[i][1]))
			fail_msg("%s: %s, want %s", table[i][0], got ? got : "(not a string)",
			         table[i][1]);
		cJSON_Delete(n);
	}
}

static void test_other_kinds_get_their_create_fields(void **state)
{
	cJSON *o =
	    created(K("", "persistentvolumeclaims"),
	            "{'metadata':{'name':'data'},'spec':{'accessModes':['ReadWriteOnce'],"
	            "'resources':{'requests':{'storage':'0.5Gi'}}},'status':{'phase':'Bound'}}");
	assert_json(cJSON_GetObjectItem(o, "spec"),
	            "{'accessModes':['ReadWriteOnce'],'resources':{'requests':{'storage':"
	            "'512Mi'}},'volumeMode':'Filesystem'}");
	assert_json(cJSON_GetObjectItem(o, "status"), "{'phase':'Pending'}");
	cJSON_Delete(o);
	o = created(K("", "endpoints"), "{'metadata':{'name':'web'},'subsets':[{'addresses':[{'ip':"
	                                "'10.42.0.5'}],'ports':[{'port':80}]}]}");
	assert_json(obj_get(o, "subsets[0].ports"), "[{'port':80,'protocol':'TCP'}]");
	cJSON_Delete(o);
	o = created(K("discovery.k8s.io", "endpointslices"),
	            "{'metadata':{'name':'web-abc'},'addressType':'IPv4','ports':[{'port':80}],"
	            "'endpoints':[{'addresses':['10.42.0.5']}]}");
	assert_json(cJSON_GetObjectItem(o, "ports"), "[{'name':'','port':80,'protocol':'TCP'}]");
	cJSON_Delete(o);
	o = created(K("rbac.authorization.k8s.io", "rolebindings"),
	            "{'metadata':{'name':'rb'},'roleRef':{'kind':'Role','name':'r'},'subjects':[{"
	            "'kind':'User','name':'jane'},{'kind':'ServiceAccount','name':'sa',"
	            "'namespace':'default'}]}");
	assert_json(cJSON_GetObjectItem(o, "roleRef"),
	            "{'apiGroup':'rbac.authorization.k8s.io','kind':'Role','name':'r'}");
	assert_json(cJSON_GetObjectItem(o, "subjects"),
	            "[{'apiGroup':'rbac.authorization.k8s.io','kind':'User','name':'jane'},"
	            "{'kind':'ServiceAccount','name':'sa','namespace':'default'}]");
	cJSON_Delete(o);
	o = created(K("", "limitranges"),
	            "{'metadata':{'name':'lr'},'spec':{'limits':[{'type':'Container','max':{'cpu':"
	            "'2'},'min':{'memory':'64Mi'},'default':{'memory':'0.5Gi'}}]}}");
	assert_json(obj_get(o, "spec.limits[0]"),
	            "{'default':{'cpu':'2','memory':'512Mi'},'defaultRequest':{'cpu':'2',"
	            "'memory':'512Mi'},'max':{'cpu':'2'},'min':{'memory':'64Mi'},'type':"
	            "'Container'}");
	cJSON_Delete(o);
	o = created(K("", "resourcequotas"), "{'metadata':{'name':'q'},'spec':{'hard':{'pods':10,"
	                                     "'requests.memory':'1024Mi'}},'status':{'used':{}}}");
	assert_json(obj_get(o, "spec.hard"), "{'pods':'10','requests.memory':'1Gi'}");
	assert_json(cJSON_GetObjectItem(o, "status"), "{}");
	cJSON_Delete(o);
}

static void test_a_csr_records_who_asked_and_starts_pending(void **state)
{
	const struct reg_kind *k = K("certificates.k8s.io", "certificatesigningrequests");
	cJSON *csr = J("{'metadata':{'name':'node-csr'},'spec':{'username':'admin','groups':["
	               "'system:masters'],'extra':{'x':['y']},'signerName':"
	               "'kubernetes.io/kube-apiserver-client-kubelet','usages':['client auth']},"
	               "'status':{'conditions':[{'type':'Approved','status':'True'}]}}");
	static const char *const groups[] = { "system:bootstrappers", "system:authenticated" };
	struct reg_user u = { "system:bootstrap:abcdef", NULL, groups, 2 };
	k->set_requestor(csr, &u);
	k->prepare_create(csr);
	assert_json(cJSON_GetObjectItem(csr, "spec"),
	            "{'groups':['system:bootstrappers','system:authenticated'],'signerName':"
	            "'kubernetes.io/kube-apiserver-client-kubelet','usages':['client auth'],"
	            "'username':'system:bootstrap:abcdef'}");
	assert_json(cJSON_GetObjectItem(csr, "status"), "{}");
	/* Updates of the main resource cannot change the request. */
	cJSON *now = J("{'metadata':{'name':'node-csr'},'spec':{'username':'mallory'}}");
	k->prepare_update(now, csr);
	assert_string_equal(obj_get_str(now, "spec.username"), "system:bootstrap:abcdef");
	cJSON_Delete(now);
	cJSON_Delete(csr);
}

/* --- field selectors ------------------------------------------------------------------------ */

static void test_pods_select_by_upstream_fields(void **state)
{
	const struct reg_kind *k = K("", "pods");
	cJSON *pod =
	    J("{'metadata':{'name':'web'},'spec':{'nodeName':'pi-1','restartPolicy':"
	      "'Always','schedulerName':'default-scheduler','serviceAccountName':'default',"
	      "'hostNetwork':true},'status':{'phase':'Running','podIP':'10.42.0.7',"
	      "'podIPs':[{'ip':'10.42.0.7'},{'ip':'fd00::7'}],'nominatedNodeName':'pi-2'}}");
	assert_string_equal(field_of(k, pod, "spec.nodeName"), "pi-1");
	assert_string_equal(field_of(k, pod, "spec.restartPolicy"), "Always");
	assert_string_equal(field_of(k, pod, "spec.schedulerName"), "default-scheduler");
	assert_string_equal(field_of(k, pod, "spec.serviceAccountName"), "default");
	assert_string_equal(field_of(k, pod, "spec.hostNetwork"), "true");
	assert_string_equal(field_of(k, pod, "status.phase"), "Running");
	assert_string_equal(field_of(k, pod, "status.podIP"), "10.42.0.7");
	assert_string_equal(field_of(k, pod, "status.nominatedNodeName"), "pi-2");
	/* Old clients say spec.host for spec.nodeName. */
	assert_string_equal(field_of(k, pod, "spec.host"), "pi-1");
	assert_null(field_of(k, pod, "spec.containers"));
	assert_null(field_of(k, pod, "status.hostIP"));
	assert_null(field_of(k, pod, "metadata.labels"));
	cJSON_Delete(pod);
	/* Missing values select as "", hostNetwork as false. */
	pod = J("{'metadata':{'name':'web'}}");
	assert_string_equal(field_of(k, pod, "spec.nodeName"), "");
	assert_string_equal(field_of(k, pod, "spec.hostNetwork"), "false");
	assert_string_equal(field_of(k, pod, "status.podIP"), "");
	cJSON_Delete(pod);
	/* The older single podIP is what upstream reads when the two disagree. */
	pod = J("{'status':{'podIP':'10.42.0.8','podIPs':[{'ip':'10.42.0.9'}]}}");
	assert_string_equal(field_of(k, pod, "status.podIP"), "10.42.0.8");
	cJSON_Delete(pod);
	pod = J("{'status':{'podIPs':[{'ip':'10.42.0.9'}]}}");
	assert_string_equal(field_of(k, pod, "status.podIP"), "10.42.0.9");
	cJSON_Delete(pod);
}

static void test_other_kinds_select_by_their_upstream_fields(void **state)
{
	cJSON *o = J("{'spec':{'unschedulable':true}}");
	assert_string_equal(field_of(K("", "nodes"), o, "spec.unschedulable"), "true");
	assert_null(field_of(K("", "nodes"), o, "spec.podCIDR"));
	cJSON_Delete(o);
	o = J("{'metadata':{'name':'n'}}");
	assert_string_equal(field_of(K("", "nodes"), o, "spec.unschedulable"), "false");
	cJSON_Delete(o);
	o = J("{'status':{'phase':'Terminating'}}");
	assert_string_equal(field_of(K("", "namespaces"), o, "status.phase"), "Terminating");
	cJSON_Delete(o);
	o = J("{'type':'kubernetes.io/tls'}");
	assert_string_equal(field_of(K("", "secrets"), o, "type"), "kubernetes.io/tls");
	assert_null(field_of(K("", "secrets"), o, "data"));
	cJSON_Delete(o);
	o = J("{'spec':{'type':'NodePort','clusterIP':'10.43.0.1'}}");
	assert_string_equal(field_of(K("", "services"), o, "spec.type"), "NodePort");
	assert_string_equal(field_of(K("", "services"), o, "spec.clusterIP"), "10.43.0.1");
	cJSON_Delete(o);
	o = J("{'status':{'replicas':3}}");
	assert_string_equal(field_of(K("apps", "replicasets"), o, "status.replicas"), "3");
	cJSON_Delete(o);
	o = J("{'status':{'succeeded':2}}");
	assert_string_equal(field_of(K("batch", "jobs"), o, "status.successful"), "2");
	cJSON_Delete(o);
	o = J("{'spec':{'signerName':'kubernetes.io/kubelet-serving'}}");
	assert_string_equal(
	    field_of(K("certificates.k8s.io", "certificatesigningrequests"), o, "spec.signerName"),
	    "kubernetes.io/kubelet-serving");
	cJSON_Delete(o);
	/* Kinds with nothing beyond metadata refuse everything else. */
	static const char *const plain[][2] = { { "", "configmaps" },
		                                { "apps", "deployments" },
		                                { "rbac.authorization.k8s.io", "roles" },
		                                { "coordination.k8s.io", "leases" } };
	o = J("{'spec':{'replicas':1}}");
	for (size_t i = 0; i < ARRAY_SIZE(plain); i++)
		assert_null(field_of(K(plain[i][0], plain[i][1]), o, "spec.replicas"));
	cJSON_Delete(o);
}

static void test_events_select_by_involved_object_and_source(void **state)
{
	const struct reg_kind *k = K("", "events");
	cJSON *ev = J(CORE_EVENT);
	static const char *const want[][2] = {
		{ "involvedObject.kind", "Pod" },
		{ "involvedObject.namespace", "default" },
		{ "involvedObject.name", "web" },
		{ "involvedObject.uid", "u-1" },
		{ "involvedObject.apiVersion", "v1" },
		{ "involvedObject.resourceVersion", "42" },
		{ "involvedObject.fieldPath", "spec.containers{web}" },
		{ "reason", "Pulled" },
		{ "type", "Normal" },
		{ "source", "kubelet" },
		{ "reportingComponent", "kubelet" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		assert_string_equal(field_of(k, ev, want[i][0]), want[i][1]);
	assert_null(field_of(k, ev, "involvedObject.labels"));
	assert_null(field_of(k, ev, "message"));
	assert_null(field_of(k, ev, "regarding.name"));
	cJSON_Delete(ev);
	/* source falls back to the reporting controller of events made through the new API. */
	ev = J("{'reportingComponent':'scheduler','source':{}}");
	assert_string_equal(field_of(k, ev, "source"), "scheduler");
	cJSON_Delete(ev);
	/* events.k8s.io names the same fields its own way, on either form. */
	const struct reg_kind *k1 = K("events.k8s.io", "events");
	ev = J(CORE_EVENT);
	assert_string_equal(field_of(k1, ev, "regarding.name"), "web");
	assert_string_equal(field_of(k1, ev, "reportingController"), "kubelet");
	reg_event_from_core(ev);
	assert_string_equal(field_of(k1, ev, "regarding.kind"), "Pod");
	assert_string_equal(field_of(k1, ev, "regarding.fieldPath"), "spec.containers{web}");
	assert_string_equal(field_of(k1, ev, "reason"), "Pulled");
	assert_string_equal(field_of(k1, ev, "type"), "Normal");
	assert_string_equal(field_of(k1, ev, "reportingController"), "kubelet");
	assert_null(field_of(k1, ev, "involvedObject.name"));
	assert_null(field_of(k1, ev, "source"));
	cJSON_Delete(ev);
}

/* --- Event conversion ----------------------------------------------------------------------- */

static void test_a_core_event_reads_as_events_k8s_io(void **state)
{
	cJSON *ev = J(CORE_EVENT);
	reg_event_from_core(ev);
	assert_json(ev, "{'apiVersion':'events.k8s.io/v1','kind':'Event','metadata':{'name':"
	                "'web.17f','namespace':'default'},'regarding':{'kind':'Pod','namespace':"
	                "'default','name':'web','uid':'u-1','apiVersion':'v1','resourceVersion':"
	                "'42','fieldPath':'spec.containers{web}'},'reason':'Pulled','note':"
	                "'Container image pulled','type':'Normal','deprecatedSource':{'component':"
	                "'kubelet','host':'pi-1'},'deprecatedCount':3,'deprecatedFirstTimestamp':"
	                "'2025-01-01T11:00:00Z','deprecatedLastTimestamp':'2025-01-01T11:55:00Z',"
	                "'eventTime':null,'reportingController':'kubelet','reportingInstance':"
	                "'pi-1'}");
	cJSON_Delete(ev);
}

/* An event as kubectl shows it through each API after a create through the other. */
static void test_events_round_trip_between_the_two_apis(void **state)
{
	const struct reg_kind *core = K("", "events"), *v1 = K("events.k8s.io", "events");
	/* Created through core/v1, stored as it is, read through events.k8s.io and back. */
	cJSON *stored = created(core, CORE_EVENT);
	cJSON *x = cJSON_Duplicate(stored, true);
	v1->from_storage(x);
	v1->to_storage(x);
	assert_string_equal(S(x), S(stored));
	cJSON_Delete(x);
	cJSON_Delete(stored);
	/* A minimal core event keeps the members Go always prints, through the round trip. */
	stored =
	    created(core, "{'apiVersion':'v1','kind':'Event','metadata':{'name':'e'},"
	                  "'involvedObject':{'kind':'Node','name':'pi-1'},'reason':'Starting'}");
	x = cJSON_Duplicate(stored, true);
	v1->from_storage(x);
	assert_json(x, "{'apiVersion':'events.k8s.io/v1','deprecatedFirstTimestamp':null,"
	               "'deprecatedLastTimestamp':null,'deprecatedSource':{},'eventTime':null,"
	               "'kind':'Event','metadata':{'creationTimestamp':'" CREATED_1H "','name':'e',"
	               "'namespace':'default','uid':'6a1b0e4c-34c4-4c8e-9d8e-0c1c2b3a4d5e'},"
	               "'reason':'Starting','regarding':{'kind':'Node','name':'pi-1'}}");
	v1->to_storage(x);
	assert_string_equal(S(x), S(stored));
	cJSON_Delete(x);
	cJSON_Delete(stored);
	/* Created through events.k8s.io: what core/v1 readers see, and back. */
	const char *lit = "{'apiVersion':'events.k8s.io/v1','kind':'Event','metadata':{'name':"
	                  "'web.18a','namespace':'default'},'eventTime':"
	                  "'2025-01-01T11:59:00.000000Z','reportingController':"
	                  "'example.com/operator','reportingInstance':'operator-7d9','action':"
	                  "'Reconcile','reason':'Synced','type':'Normal','note':'synced',"
	                  "'regarding':{'kind':'Deployment','namespace':'default','name':'web'},"
	                  "'series':{'count':2,'lastObservedTime':'2025-01-01T11:59:30.000000Z'}}";
	cJSON *in = created(v1, lit);
	struct reg_errors e = validate(v1, in, NULL);
	assert_no_causes(&e);
	reg_errors_free(&e);
	cJSON *as_v1 = cJSON_Duplicate(in, true);
	v1->to_storage(in);
	assert_string_equal(obj_get_str(in, "apiVersion"), "v1");
	assert_string_equal(obj_get_str(in, "message"), "synced");
	assert_string_equal(obj_get_str(in, "involvedObject.name"), "web");
	assert_string_equal(obj_get_str(in, "reportingComponent"), "example.com/operator");
	assert_json(cJSON_GetObjectItem(in, "source"), "{}");
	assert_json(cJSON_GetObjectItem(in, "firstTimestamp"), "null");
	assert_json(cJSON_GetObjectItem(in, "lastTimestamp"), "null");
	/* A core reader's view passes core validation and defaults to itself. */
	e = validate(core, in, NULL);
	assert_no_causes(&e);
	reg_errors_free(&e);
	cJSON *again = cJSON_Duplicate(in, true);
	core->defaults(again);
	assert_string_equal(S(again), S(in));
	cJSON_Delete(again);
	v1->from_storage(in);
	cJSON *want = cJSON_Duplicate(as_v1, true);
	/* Go prints the struct members events.k8s.io always has. */
	cJSON_AddItemToObject(want, "deprecatedSource", cJSON_CreateObject());
	cJSON_AddNullToObject(want, "deprecatedFirstTimestamp");
	cJSON_AddNullToObject(want, "deprecatedLastTimestamp");
	assert_string_equal(S(in), S(want));
	cJSON_Delete(want);
	cJSON_Delete(as_v1);
	cJSON_Delete(in);
}

static void test_event_conversion_leaves_other_objects_alone(void **state)
{
	static const char *const others[] = {
		"{'apiVersion':'v1','kind':'Pod','message':'x'}",
		"{'apiVersion':'apps/v1','kind':'Event','message':'x'}",
		"{'kind':'Event','message':'x'}",
		"[1,2]",
		"'Event'",
		"null",
	};
	for (size_t i = 0; i < ARRAY_SIZE(others); i++) {
		cJSON *o = J(others[i]);
		reg_event_from_core(o);
		reg_event_to_core(o);
		assert_string_equal(S(o), C(others[i]));
		cJSON_Delete(o);
	}
	reg_event_from_core(NULL);
	reg_event_to_core(NULL);
}

/* --- selectors as strings ------------------------------------------------------------------- */

static void test_label_selectors_print_as_upstream_strings(void **state)
{
	static const struct {
		const char *sel, *want;
		int rc;
	} table[] = {
		{ "{}", "", 0 },
		{ "{'matchLabels':{'tier':'web','app':'shop'}}", "app=shop,tier=web", 0 },
		{ "{'matchExpressions':[{'key':'env','operator':'In','values':['qa','prod']},"
		  "{'key':'gpu','operator':'Exists'},{'key':'spot','operator':'DoesNotExist'},"
		  "{'key':'arch','operator':'NotIn','values':['arm']}],'matchLabels':{'app':'x'}}",
		  "app=x,arch notin (arm),env in (prod,qa),gpu,!spot", 0 },
		{ "{'matchExpressions':[{'key':'env','operator':'In','values':[]}]}", "", -EINVAL },
		{ "{'matchExpressions':[{'key':'env','operator':'Near','values':['a']}]}", "",
		  -EINVAL },
		{ "{'matchLabels':{'a':1}}", "", -EINVAL },
		/* What upstream's requirements refuse: values with Exists, bad keys and values. */
		{ "{'matchExpressions':[{'key':'gpu','operator':'Exists','values':['x']}]}", "",
		  -EINVAL },
		{ "{'matchLabels':{'bad key':'x'}}", "", -EINVAL },
		{ "{'matchLabels':{'app':'-x'}}", "", -EINVAL },
		{ "{'matchExpressions':[{'key':'a','operator':'In','values':['ok',7]}]}", "",
		  -EINVAL },
		{ "{'matchExpressions':[{'key':'a','operator':'In','values':'x'}]}", "", -EINVAL },
	};
	char out[256];
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		cJSON *s = J(table[i].sel);
		assert_int_equal(reg_selector_string(s, out, sizeof(out)), table[i].rc);
		assert_string_equal(out, table[i].want);
		cJSON_Delete(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_row_is_consistent),
		cmocka_unit_test(test_short_names_scope_and_categories_match_api_resources),
		cmocka_unit_test(test_subresources_are_the_upstream_ones),
		cmocka_unit_test(test_lookups_answer_only_for_served_kinds),
		cmocka_unit_test(test_ages_follow_upstream_human_duration),
		cmocka_unit_test(test_ages_read_offsets_fractions_and_refuse_garbage),
		cmocka_unit_test(test_a_pod_gets_the_upstream_defaults_on_create),
		cmocka_unit_test(test_image_pull_policy_follows_the_tag),
		cmocka_unit_test(test_probes_and_handlers_get_timing_and_http_defaults),
		cmocka_unit_test(test_a_container_with_only_limits_gets_equal_requests),
		cmocka_unit_test(test_init_containers_get_requests_but_templates_do_not),
		cmocka_unit_test(test_host_network_pods_get_host_ports),
		cmocka_unit_test(test_volumes_and_env_get_defaults),
		cmocka_unit_test(test_built_in_priority_classes_give_their_priority),
		cmocka_unit_test(test_service_account_names_are_kept_in_step),
		cmocka_unit_test(test_prepare_create_computes_the_qos_class),
		cmocka_unit_test(
		    test_prepare_create_replaces_the_client_status_and_adds_tolerations_once),
		cmocka_unit_test(test_a_service_gets_the_upstream_defaults),
		cmocka_unit_test(test_service_types_get_their_own_defaults),
		cmocka_unit_test(test_headless_services_get_upstream_ip_families),
		cmocka_unit_test(test_a_service_update_keeps_the_allocated_ip_and_node_ports),
		cmocka_unit_test(test_a_deployment_gets_the_upstream_defaults),
		cmocka_unit_test(test_a_replicaset_gets_the_upstream_defaults),
		cmocka_unit_test(test_a_statefulset_gets_the_upstream_defaults),
		cmocka_unit_test(test_a_daemonset_gets_the_upstream_defaults),
		cmocka_unit_test(test_a_job_gets_its_selector_labels_and_defaults),
		cmocka_unit_test(test_job_counts_default_as_upstream_does),
		cmocka_unit_test(test_a_cronjob_gets_the_upstream_defaults),
		cmocka_unit_test(test_a_secret_gets_its_type_and_string_data_is_merged),
		cmocka_unit_test(test_a_namespace_gets_its_label_phase_and_finalizer),
		cmocka_unit_test(test_a_node_gets_allocatable_from_capacity),
		cmocka_unit_test(test_resource_quantities_are_stored_in_canonical_form),
		cmocka_unit_test(test_other_kinds_get_their_create_fields),
		cmocka_unit_test(test_a_csr_records_who_asked_and_starts_pending),
		cmocka_unit_test(test_pods_select_by_upstream_fields),
		cmocka_unit_test(test_other_kinds_select_by_their_upstream_fields),
		cmocka_unit_test(test_events_select_by_involved_object_and_source),
		cmocka_unit_test(test_a_core_event_reads_as_events_k8s_io),
		cmocka_unit_test(test_events_round_trip_between_the_two_apis),
		cmocka_unit_test(test_event_conversion_leaves_other_objects_alone),
		cmocka_unit_test(test_label_selectors_print_as_upstream_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
