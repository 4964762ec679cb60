/* registry_print_test: kubectl get tables: every kind's columns, and rows as a 1.32 API server
 * prints them (wide columns included), with the pod STATUS and RESTARTS cases users know. */
#include "registry-testlib.h"

/*
 * Column layouts of a 1.32 server. "Name*" is a -o wide column (priority 1); a suffix "#i",
 * "#b" or "#d" gives a type other than string (integer, boolean, date).
 */
static const char *const layouts[][3] = {
	{ "", "pods", "Name|Ready|Status|Restarts|Age|IP*|Node*|Nominated Node*|Readiness Gates*" },
	{ "", "nodes",
	  "Name|Status|Roles|Age|Version|Internal-IP*|External-IP*|OS-Image*|Kernel-Version*|"
	  "Container-Runtime*" },
	{ "", "namespaces", "Name|Status|Age" },
	{ "", "services", "Name|Type|Cluster-IP|External-IP|Port(s)|Age|Selector*" },
	{ "", "endpoints", "Name|Endpoints|Age" },
	{ "", "configmaps", "Name|Data|Age" },
	{ "", "secrets", "Name|Type|Data|Age" },
	{ "", "serviceaccounts", "Name|Secrets|Age" },
	{ "", "events",
	  "Last Seen|Type|Reason|Object|Subobject*|Source*|Message|First Seen*|Count*|Name*" },
	{ "events.k8s.io", "events",
	  "Last Seen|Type|Reason|Object|Subobject*|Source*|Message|First Seen*|Count*|Name*" },
	{ "", "resourcequotas", "Name|Age|Request|Limit" },
	{ "", "limitranges", "Name|Created At#d" },
	{ "", "persistentvolumeclaims",
	  "Name|Status|Volume|Capacity|Access Modes|StorageClass|VolumeAttributesClass|Age|"
	  "VolumeMode*" },
	{ "apps", "deployments",
	  "Name|Ready|Up-to-date|Available|Age|Containers*|Images*|Selector*" },
	{ "apps", "replicasets",
	  "Name|Desired#i|Current#i|Ready#i|Age|Containers*|Images*|Selector*" },
	{ "apps", "statefulsets", "Name|Ready|Age|Containers*|Images*" },
	{ "apps", "daemonsets",
	  "Name|Desired#i|Current#i|Ready#i|Up-to-date#i|Available#i|Node Selector|Age|"
	  "Containers*|Images*|Selector*" },
	{ "apps", "controllerrevisions", "Name|Controller|Revision|Age" },
	{ "batch", "jobs", "Name|Status|Completions|Duration|Age|Containers*|Images*|Selector*" },
	{ "batch", "cronjobs",
	  "Name|Schedule|Timezone|Suspend#b|Active#i|Last Schedule|Age|Containers*|Images*|"
	  "Selector*" },
	{ "certificates.k8s.io", "certificatesigningrequests",
	  "Name|Age|SignerName|Requestor|RequestedDuration|Condition" },
	{ "rbac.authorization.k8s.io", "roles", "Name|Created At#d" },
	{ "rbac.authorization.k8s.io", "clusterroles", "Name|Created At#d" },
	{ "rbac.authorization.k8s.io", "rolebindings",
	  "Name|Role|Age|Users*|Groups*|ServiceAccounts*" },
	{ "rbac.authorization.k8s.io", "clusterrolebindings",
	  "Name|Role|Age|Users*|Groups*|ServiceAccounts*" },
	{ "coordination.k8s.io", "leases", "Name|Holder|Age" },
	{ "discovery.k8s.io", "endpointslices", "Name|AddressType|Ports|Endpoints|Age" },
};

static void test_every_kind_has_the_upstream_columns(void **state)
{
	assert_int_equal(ARRAY_SIZE(layouts), reg_nkinds);
	for (size_t i = 0; i < ARRAY_SIZE(layouts); i++) {
		const struct reg_kind *k = K(layouts[i][0], layouts[i][1]);
		char got[512] = "";
		size_t o = 0;
		for (size_t c = 0; c < k->ncolumns; c++) {
			const struct reg_column *col = &k->columns[c];
			const char *t = !strcmp(col->type, "integer")   ? "#i"
			                : !strcmp(col->type, "boolean") ? "#b"
			                : !strcmp(col->type, "date")    ? "#d"
			                                                : "";
			assert_string_equal(col->format, strcmp(col->name, "Name") ? "" : "name");
			o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s%s%s", c ? "|" : "",
			                      col->name, col->priority ? "*" : "", t);
		}
		if (strcmp(got, layouts[i][2]))
			fail_msg("%s: %s, want %s", k->resource, got, layouts[i][2]);
	}
}

/* --- pods ----------------------------------------------------------------------------------- */

#define PODM "'metadata':{'name':'web','creationTimestamp':'" CREATED_1H "'}"
#define ONE "'spec':{'containers':[{'name':'web','image':'nginx'}]}"

static const char *pod_row(const char *rest)
{
	char lit[4096];
	snprintf(lit, sizeof(lit), "{" PODM ",%s}", rest);
	return row_text(K("", "pods"), lit);
}

/* The five default columns of a pod, and the four wide ones as <none>. */
#define ROW(ready, status, restarts)                                                               \
	C("['web','" ready "','" status "','" restarts                                             \
	  "','60m','<none>','<none>','<none>','<none>']")

static void test_pod_status_pending_creating_running_completed(void **state)
{
	assert_string_equal(pod_row(ONE ",'status':{'phase':'Pending','qosClass':'BestEffort'}"),
	                    ROW("0/1", "Pending", "0"));
	assert_string_equal(
	    pod_row(ONE
	            ",'status':{'phase':'Pending','containerStatuses':[{'name':'web','ready':"
	            "false,'restartCount':0,'state':{'waiting':{'reason':'ContainerCreating'}}}]}"),
	    ROW("0/1", "ContainerCreating", "0"));
	assert_string_equal(
	    pod_row(ONE ",'status':{'phase':'Running','containerStatuses':[{'name':'web','ready':"
	                "true,'restartCount':0,'state':{'running':{'startedAt':'" CREATED_1H
	                "'}}}]}"),
	    ROW("1/1", "Running", "0"));
	/* Started but not ready yet. */
	assert_string_equal(
	    pod_row(ONE ",'status':{'phase':'Running','containerStatuses':[{'name':'web','ready':"
	                "false,'state':{'running':{}}}]}"),
	    ROW("0/1", "Running", "0"));
	assert_string_equal(
	    pod_row(ONE ",'status':{'phase':'Succeeded','containerStatuses':[{'name':'web','ready':"
	                "false,'state':{'terminated':{'exitCode':0,'reason':'Completed'}}}]}"),
	    ROW("0/1", "Completed", "0"));
	/* No status at all yet. */
	assert_string_equal(pod_row(ONE), ROW("0/1", "", "0"));
}

static void test_pod_status_shows_why_a_container_is_not_running(void **state)
{
	static const struct {
		const char *state, *want;
	} table[] = {
		{ "{'waiting':{'reason':'CrashLoopBackOff','message':'back-off 5m0s'}}",
		  "CrashLoopBackOff" },
		{ "{'waiting':{'reason':'ImagePullBackOff'}}", "ImagePullBackOff" },
		{ "{'waiting':{'reason':'ErrImagePull'}}", "ErrImagePull" },
		{ "{'waiting':{'reason':'CreateContainerConfigError'}}",
		  "CreateContainerConfigError" },
		{ "{'terminated':{'exitCode':1,'reason':'Error'}}", "Error" },
		{ "{'terminated':{'exitCode':137,'reason':'OOMKilled'}}", "OOMKilled" },
		{ "{'terminated':{'exitCode':2}}", "ExitCode:2" },
		{ "{'terminated':{'exitCode':137,'signal':9}}", "Signal:9" },
		/* A waiting state without a reason leaves the phase. */
		{ "{'waiting':{}}", "Running" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		char rest[512];
		snprintf(rest, sizeof(rest),
		         ONE ",'status':{'phase':'Running','containerStatuses':[{'name':'web',"
		             "'ready':false,'restartCount':0,'state':%s}]}",
		         table[i].state);
		const char *got = pod_row(rest);
		cJSON *cells = J(got);
		const char *status = cJSON_GetArrayItem(cells, 2)->valuestring;
		if (strcmp(status, table[i].want))
			fail_msg("%s: %s, want %s", table[i].state, status, table[i].want);
		cJSON_Delete(cells);
	}
	/* The pod's own reason wins over its phase (evictions), and node loss is Unknown once
	 * the pod is being deleted. */
	assert_string_equal(pod_row(ONE ",'status':{'phase':'Failed','reason':'Evicted','message':"
	                                "'The node was low on resource: memory.'}"),
	                    ROW("0/1", "Evicted", "0"));
	assert_string_equal(pod_row(ONE ",'status':{'phase':'Running','reason':'NodeLost'}"),
	                    ROW("0/1", "NodeLost", "0"));
	assert_string_equal(row_text(K("", "pods"),
	                             "{'metadata':{'name':'web','creationTimestamp':'" CREATED_1H
	                             "','deletionTimestamp':'2025-01-01T11:59:00Z'}," ONE
	                             ",'status':{'phase':'Running','reason':'NodeLost'}}"),
	                    ROW("0/1", "Unknown", "0"));
}

static void test_pod_status_terminating_only_while_not_finished(void **state)
{
	const char *del =
	    "{'metadata':{'name':'web','creationTimestamp':'" CREATED_1H
	    "','deletionTimestamp':'2025-01-01T11:59:30Z','deletionGracePeriodSeconds':"
	    "30}," ONE ",'status':{'phase':'%s','containerStatuses':[{'name':'web',"
	    "'ready':true,'state':{'running':{}}}]}}";
	char lit[1024];
	snprintf(lit, sizeof(lit), del, "Running");
	assert_string_equal(row_text(K("", "pods"), lit), ROW("1/1", "Terminating", "0"));
	snprintf(lit, sizeof(lit), del, "Succeeded");
	assert_string_equal(row_text(K("", "pods"), lit), ROW("1/1", "Succeeded", "0"));
}

static void test_pod_restarts_say_how_long_ago(void **state)
{
	/* Five restarts, the last one ended five minutes ago. */
	assert_string_equal(
	    pod_row(ONE ",'status':{'phase':'Running','containerStatuses':[{'name':'web','ready':"
	                "false,'restartCount':5,'state':{'waiting':{'reason':'CrashLoopBackOff'}},"
	                "'lastState':{'terminated':{'exitCode':1,'reason':'Error','finishedAt':"
	                "'2025-01-01T11:55:00Z'}}}]}"),
	    ROW("0/1", "CrashLoopBackOff", "5 (5m ago)"));
	/* The latest of several containers counts; restarts add up. */
	assert_string_equal(
	    pod_row("'spec':{'containers':[{'name':'a','image':'x'},{'name':'b','image':'y'}]},"
	            "'status':{'phase':'Running','containerStatuses':[{'name':'a','ready':true,"
	            "'restartCount':1,'state':{'running':{}},'lastState':{'terminated':{"
	            "'finishedAt':'2025-01-01T10:00:00Z'}}},{'name':'b','ready':true,"
	            "'restartCount':2,'state':{'running':{}},'lastState':{'terminated':{"
	            "'finishedAt':'2025-01-01T11:59:30Z'}}}]}"),
	    ROW("2/2", "Running", "3 (30s ago)"));
	/* Without a last termination time, just the count. */
	assert_string_equal(
	    pod_row(ONE ",'status':{'phase':'Running','containerStatuses':[{'name':'web','ready':"
	                "true,'restartCount':2,'state':{'running':{}}}]}"),
	    ROW("1/1", "Running", "2"));
	/* Days ago, in upstream's units. */
	assert_string_equal(
	    pod_row(ONE ",'status':{'phase':'Running','containerStatuses':[{'name':'web','ready':"
	                "true,'restartCount':1,'state':{'running':{}},'lastState':{'terminated':{"
	                "'finishedAt':'2024-12-29T09:00:00Z'}}}]}"),
	    ROW("1/1", "Running", "1 (3d3h ago)"));
}

#define INIT1                                                                                      \
	"'spec':{'initContainers':[{'name':'init','image':'busybox'}],'containers':[{'name':"      \
	"'web','image':'nginx'}]}"

static void test_pod_status_during_init(void **state)
{
	assert_string_equal(
	    pod_row(INIT1 ",'status':{'phase':'Pending','initContainerStatuses':[{'name':'init',"
	                  "'ready':false,'restartCount':0,'state':{'running':{}}}],"
	                  "'containerStatuses':[{'name':'web','ready':false,'state':{'waiting':{"
	                  "'reason':'PodInitializing'}}}]}"),
	    ROW("0/1", "Init:0/1", "0"));
	assert_string_equal(
	    pod_row(INIT1 ",'status':{'phase':'Pending','initContainerStatuses':[{'name':'init',"
	                  "'ready':false,'restartCount':3,'state':{'waiting':{'reason':"
	                  "'CrashLoopBackOff'}},'lastState':{'terminated':{'exitCode':1,"
	                  "'finishedAt':'2025-01-01T11:58:00Z'}}}]}"),
	    ROW("0/1", "Init:CrashLoopBackOff", "3 (2m ago)"));
	assert_string_equal(
	    pod_row(INIT1 ",'status':{'phase':'Failed','initContainerStatuses':[{'name':'init',"
	                  "'state':{'terminated':{'exitCode':1,'reason':'Error'}}}]}"),
	    ROW("0/1", "Init:Error", "0"));
	assert_string_equal(
	    pod_row(INIT1 ",'status':{'phase':'Pending','initContainerStatuses':[{'name':'init',"
	                  "'state':{'terminated':{'exitCode':3}}}]}"),
	    ROW("0/1", "Init:ExitCode:3", "0"));
	assert_string_equal(
	    pod_row(INIT1 ",'status':{'phase':'Pending','initContainerStatuses':[{'name':'init',"
	                  "'state':{'terminated':{'exitCode':143,'signal':15}}}]}"),
	    ROW("0/1", "Init:Signal:15", "0"));
	/* The second of two init containers is running. */
	assert_string_equal(
	    pod_row("'spec':{'initContainers':[{'name':'a','image':'x'},{'name':'b','image':'x'}],"
	            "'containers':[{'name':'web','image':'nginx'}]},'status':{'phase':'Pending',"
	            "'initContainerStatuses':[{'name':'a','state':{'terminated':{'exitCode':0,"
	            "'reason':'Completed'}}},{'name':'b','state':{'waiting':{'reason':"
	            "'PodInitializing'}}}]}"),
	    ROW("0/1", "Init:1/2", "0"));
	/* Done initializing: the containers speak. */
	assert_string_equal(
	    pod_row(INIT1
	            ",'status':{'phase':'Running','conditions':[{'type':'Initialized',"
	            "'status':'True'}],'initContainerStatuses':[{'name':'init','restartCount':"
	            "1,'state':{'terminated':{'exitCode':0,'reason':'Completed'}}}],"
	            "'containerStatuses':[{'name':'web','ready':true,'state':{'running':{}}}]}"),
	    ROW("1/1", "Running", "0"));
}

static void test_sidecars_count_as_containers(void **state)
{
	/* A restartable init container (sidecar) is one of the pod's containers once started. */
	assert_string_equal(
	    pod_row(
	        "'spec':{'initContainers':[{'name':'proxy','image':'envoy','restartPolicy':"
	        "'Always'}],'containers':[{'name':'web','image':'nginx'}]},'status':{'phase':"
	        "'Running','conditions':[{'type':'Initialized','status':'True'},{'type':'Ready',"
	        "'status':'True'}],'initContainerStatuses':[{'name':'proxy','ready':true,"
	        "'started':true,'restartCount':1,'state':{'running':{}},'lastState':{"
	        "'terminated':{'exitCode':1,'finishedAt':'2025-01-01T11:30:00Z'}}}],"
	        "'containerStatuses':[{'name':'web','ready':true,'restartCount':0,'state':{"
	        "'running':{}}}]}"),
	    ROW("2/2", "Running", "1 (30m ago)"));
	/* A job pod whose main container finished while the sidecar runs. */
	const char *two = "'spec':{'containers':[{'name':'a','image':'x'},{'name':'b','image':"
	                  "'y'}]},'status':{'phase':'Running',%s'containerStatuses':[{'name':'a',"
	                  "'ready':true,'state':{'running':{}}},{'name':'b','ready':false,'state':"
	                  "{'terminated':{'exitCode':0,'reason':'Completed'}}}]}";
	char rest[1024];
	snprintf(rest, sizeof(rest), two, "'conditions':[{'type':'Ready','status':'True'}],");
	assert_string_equal(pod_row(rest), ROW("1/2", "Running", "0"));
	snprintf(rest, sizeof(rest), two, "");
	assert_string_equal(pod_row(rest), ROW("1/2", "NotReady", "0"));
}

static void test_pod_wide_columns_and_scheduling_gates(void **state)
{
	assert_string_equal(
	    pod_row("'spec':{'nodeName':'pi-1','readinessGates':[{'conditionType':'a.io/lb'},{"
	            "'conditionType':'a.io/dns'}],'containers':[{'name':'web','image':'nginx'}]},"
	            "'status':{'phase':'Running','podIP':'10.42.0.7','podIPs':[{'ip':'10.42.0.7'},"
	            "{'ip':'fd00::7'}],'nominatedNodeName':'pi-2','conditions':[{'type':'a.io/lb',"
	            "'status':'True'},{'type':'a.io/dns','status':'False'}],'containerStatuses':[{"
	            "'name':'web','ready':true,'state':{'running':{}}}]}"),
	    C("['web','1/1','Running','0','60m','10.42.0.7','pi-1','pi-2','1/2']"));
	/* The single podIP is authoritative when the two disagree, as upstream converts it. */
	assert_string_equal(pod_row(ONE ",'status':{'phase':'Running','podIP':'10.42.0.8',"
	                                "'podIPs':[{'ip':'10.42.0.9'}]}"),
	                    C("['web','0/1','Running','0','60m','10.42.0.8','<none>','<none>',"
	                      "'<none>']"));
	assert_string_equal(
	    pod_row(ONE ",'status':{'phase':'Running','podIPs':[{'ip':'fd00::9'}]}"),
	    C("['web','0/1','Running','0','60m','fd00::9','<none>','<none>',"
	      "'<none>']"));
	assert_string_equal(pod_row(ONE ",'status':{'phase':'Pending','conditions':[{'type':"
	                                "'PodScheduled','status':'False','reason':"
	                                "'SchedulingGated'}]}"),
	                    ROW("0/1", "SchedulingGated", "0"));
}

/* --- other core kinds ----------------------------------------------------------------------- */

#define META(name) "'metadata':{'name':'" name "','creationTimestamp':'" CREATED_1H "'}"

static void test_node_rows(void **state)
{
	const struct reg_kind *k = K("", "nodes");
	assert_string_equal(
	    row_text(k, "{'metadata':{'name':'pi-1','creationTimestamp':'2024-12-01T12:00:00Z',"
	                "'labels':{'node-role.kubernetes.io/control-plane':'','node-role."
	                "kubernetes.io/master':'true','kubernetes.io/role':'edge','kubernetes.io/"
	                "os':'linux'}},'spec':{'unschedulable':true},'status':{'conditions':[{"
	                "'type':'MemoryPressure','status':'False'},{'type':'Ready','status':"
	                "'True'}],'addresses':[{'type':'Hostname','address':'pi-1'},{'type':"
	                "'InternalIP','address':'192.168.1.20'},{'type':'InternalIP','address':"
	                "'192.168.1.21'}],'nodeInfo':{'kubeletVersion':'v1.32.0','osImage':"
	                "'Debian GNU/Linux 12 (bookworm)','kernelVersion':'6.6.31+rpt-rpi-v8',"
	                "'containerRuntimeVersion':'containerd://1.7.24'}}}"),
	    C("['pi-1','Ready,SchedulingDisabled','control-plane,edge,master','31d','v1.32.0',"
	      "'192.168.1.20','<none>','Debian GNU/Linux 12 (bookworm)','6.6.31+rpt-rpi-v8',"
	      "'containerd://1.7.24']"));
	assert_string_equal(
	    row_text(k, "{" META("pi-2") ",'status':{'conditions':[{'type':'Ready','status':"
	                                 "'Unknown'}],'addresses':[{'type':'ExternalIP','address':'"
	                                 "203.0.113.7'}]}}"),
	    C("['pi-2','NotReady','<none>','60m','','<none>','203.0.113.7','<unknown>',"
	      "'<unknown>','<unknown>']"));
	assert_string_equal(row_text(k, "{" META("pi-3") "}"),
	                    C("['pi-3','Unknown','<none>','60m','','<none>','<none>','<unknown>',"
	                      "'<unknown>','<unknown>']"));
}

static void test_service_rows(void **state)
{
	const struct reg_kind *k = K("", "services");
	assert_string_equal(
	    row_text(
	        k, "{" META("web") ",'spec':{'type':'ClusterIP','clusterIP':'10.43.0.10',"
	                           "'clusterIPs':['10.43.0.10'],'selector':{'tier':'fe','app':'web'"
	                           "},'ports':["
	                           "{'port':80,'protocol':'TCP'},{'port':53,'protocol':'UDP'}]}}"),
	    C("['web','ClusterIP','10.43.0.10','<none>','80/TCP,53/UDP','60m','app=web,tier=fe']"));
	assert_string_equal(
	    row_text(
	        k, "{" META(
	               "web") ",'spec':{'type':'NodePort','clusterIP':'10.43.0.11',"
	                      "'clusterIPs':['10.43.0.11'],'externalIPs':['192.0.2.1','192.0.2.2'],"
	                      "'ports':[{'port':80,'nodePort':30080,'protocol':'TCP'}]}}"),
	    C("['web','NodePort','10.43.0.11','192.0.2.1,192.0.2.2','80:30080/TCP','60m',"
	      "'<none>']"));
	assert_string_equal(
	    row_text(
	        k, "{" META(
	               "lb") ",'spec':{'type':'LoadBalancer','clusterIP':'10.43.0.12',"
	                     "'ports':[{'port':443,'nodePort':31443,'protocol':'TCP'}]},'status':{"
	                     "'loadBalancer':{}}}"),
	    C("['lb','LoadBalancer','10.43.0.12','<pending>','443:31443/TCP','60m','<none>']"));
	/* Ingress points sorted and unique (wide: not clipped), then external IPs. */
	assert_string_equal(
	    row_text(
	        k,
	        "{" META(
	            "lb") ",'spec':{'type':'LoadBalancer','clusterIP':'10.43.0.12',"
	                  "'externalIPs':['192.0.2.50'],'ports':[{'port':443,'protocol':'TCP'}]},"
	                  "'status':{'loadBalancer':{'ingress':[{'ip':'198.51.100.20'},{'hostname':"
	                  "'lb.example.com'},{'ip':'198.51.100.10'},{'ip':'198.51.100.20'}]}}}"),
	    C("['lb','LoadBalancer','10.43.0.12','198.51.100.10,198.51.100.20,lb.example.com,"
	      "192.0.2.50','443/TCP','60m','<none>']"));
	assert_string_equal(
	    row_text(k, "{" META("db") ",'spec':{'type':'ExternalName','externalName':"
	                               "'db.example.com'}}"),
	    C("['db','ExternalName','<none>','db.example.com','<none>','60m','<none>']"));
	assert_string_equal(
	    row_text(k,
	             "{" META("db") ",'spec':{'type':'ClusterIP','clusterIP':'None','clusterIPs':"
	                            "['None'],'selector':{'app':'db'},'ports':[{'port':5432,'"
	                            "protocol':'TCP'}]}}"),
	    C("['db','ClusterIP','None','<none>','5432/TCP','60m','app=db']"));
}

static void test_endpoints_and_endpointslice_rows(void **state)
{
	const struct reg_kind *k = K("", "endpoints");
	assert_string_equal(row_text(k, "{" META("web") "}"), C("['web','<none>','60m']"));
	assert_string_equal(
	    row_text(k, "{" META("web") ",'subsets':[{'addresses':[{'ip':'10.42.0.5'},{'ip':"
	                                "'10.42.0.6'}],'ports':[{'name':'http','port':80},{'name':'"
	                                "https','port':"
	                                "443}]}]}"),
	    C("['web','10.42.0.5:80,10.42.0.6:80,10.42.0.5:443 + 1 more...','60m']"));
	assert_string_equal(
	    row_text(k, "{" META("web") ",'subsets':[{'addresses':[{'ip':'fd00::5'}],'ports':[{"
	                                "'port':8080}]}]}"),
	    C("['web','[fd00::5]:8080','60m']"));
	assert_string_equal(
	    row_text(k, "{" META("db") ",'subsets':[{'addresses':[{'ip':'10.42.0.5'},{'ip':"
	                               "'10.42.0.6'}]}]}"),
	    C("['db','10.42.0.5,10.42.0.6','60m']"));
	assert_string_equal(
	    row_text(k, "{" META("web") ",'subsets':[{'notReadyAddresses':[{'ip':'10.42.0.5'}],"
	                                "'ports':[{'port':80}]}]}"),
	    C("['web','','60m']"));
	const struct reg_kind *s = K("discovery.k8s.io", "endpointslices");
	assert_string_equal(
	    row_text(s, "{" META("web-abc") ",'addressType':'IPv4','ports':[{'name':'http','port':"
	                                    "80},{'name':'https','port':443}],'endpoints':[{'"
	                                    "addresses':['10.42.0.5']},"
	                                    "{'addresses':['10.42.0.6']},{'addresses':['10.42.0.7']"
	                                    "},{'addresses':["
	                                    "'10.42.0.8']}]}"),
	    C("['web-abc','IPv4','80,443','10.42.0.5,10.42.0.6,10.42.0.7 + 1 more...','60m']"));
	assert_string_equal(row_text(s, "{" META("e") ",'addressType':'FQDN','ports':[{'name':"
	                                              "'dns'},{}]}"),
	                    C("['e','FQDN','dns,*','<unset>','60m']"));
	assert_string_equal(row_text(s, "{" META("e") ",'addressType':'IPv6'}"),
	                    C("['e','IPv6','<unset>','<unset>','60m']"));
}

static void test_plain_core_kind_rows(void **state)
{
	assert_string_equal(row_text(K("", "namespaces"), "{" META("default") ",'status':{'phase':"
	                                                                      "'Active'}}"),
	                    C("['default','Active','60m']"));
	assert_string_equal(row_text(K("", "configmaps"),
	                             "{" META("cfg") ",'data':{'a':'1','b':"
	                                             "'2'},'binaryData':{'c':'eA=='}}"),
	                    C("['cfg',3,'60m']"));
	assert_string_equal(row_text(K("", "configmaps"), "{" META("cfg") "}"),
	                    C("['cfg',0,'60m']"));
	assert_string_equal(row_text(K("", "secrets"),
	                             "{" META("s") ",'type':'kubernetes.io/tls',"
	                                           "'data':{'tls.crt':'eA==','tls.key':"
	                                           "'eA=='}}"),
	                    C("['s','kubernetes.io/tls',2,'60m']"));
	assert_string_equal(row_text(K("", "serviceaccounts"), "{" META("default") "}"),
	                    C("['default',0,'60m']"));
	assert_string_equal(row_text(K("", "serviceaccounts"), "{" META("b") ",'secrets':[{'name':"
	                                                                     "'b-token'}]}"),
	                    C("['b',1,'60m']"));
	/* Kinds without a printer of their own print name and creation time. */
	assert_string_equal(row_text(K("", "limitranges"), "{" META("lr") "}"),
	                    C("['lr','2025-01-01T11:00:00Z']"));
	assert_string_equal(row_text(K("rbac.authorization.k8s.io", "roles"),
	                             "{'metadata':{'name':'r','creationTimestamp':"
	                             "'2025-01-01T12:30:00+01:00'}}"),
	                    C("['r','2025-01-01T11:30:00Z']"));
	assert_string_equal(
	    row_text(K("rbac.authorization.k8s.io", "clusterroles"), "{'metadata':{'name':'r'}}"),
	    C("['r','0001-01-01T00:00:00Z']"));
	assert_string_equal(row_text(K("coordination.k8s.io", "leases"),
	                             "{" META("pi-1") ",'spec':{'holderIdentity':'pi-1'}}"),
	                    C("['pi-1','pi-1','60m']"));
	assert_string_equal(row_text(K("coordination.k8s.io", "leases"), "{" META("l") "}"),
	                    C("['l','','60m']"));
	/* Without a creation time the age is unknown. */
	assert_string_equal(row_text(K("", "namespaces"), "{'metadata':{'name':'x'}}"),
	                    C("['x','','<unknown>']"));
}

static void test_resource_quota_rows(void **state)
{
	assert_string_equal(
	    row_text(
	        K("", "resourcequotas"),
	        "{" META("q") ",'status':{'hard':{'requests.memory':'1Gi','pods':'10',"
	                      "'limits.memory':'2Gi','limits.cpu':'4','count/secrets':'5'},'used':{"
	                      "'pods':'3','requests.memory':'512Mi','limits.cpu':'1500m',"
	                      "'limits.memory':'1Gi'}}}"),
	    C("['q','60m','count/secrets: 0/5, pods: 3/10, requests.memory: 512Mi/1Gi',"
	      "'limits.cpu: 1500m/4, limits.memory: 1Gi/2Gi']"));
	assert_string_equal(row_text(K("", "resourcequotas"), "{" META("q") "}"),
	                    C("['q','60m','','']"));
}

static void test_pvc_rows(void **state)
{
	const struct reg_kind *k = K("", "persistentvolumeclaims");
	assert_string_equal(
	    row_text(
	        k,
	        "{" META("data") ",'spec':{'accessModes':['ReadWriteOnce'],'resources':{"
	                         "'requests':{'storage':'1Gi'}},'storageClassName':'local-path',"
	                         "'volumeName':'pvc-1','volumeMode':'Filesystem'},'status':{'phase'"
	                         ":'Bound',"
	                         "'accessModes':['ReadWriteMany','ReadWriteOnce','ReadWriteOnce'],"
	                         "'capacity':{'storage':'2048Mi'}}}"),
	    C("['data','Bound','pvc-1','2Gi','RWO,RWX','local-path','<unset>','60m',"
	      "'Filesystem']"));
	assert_string_equal(
	    row_text(
	        k, "{" META(
	               "data") ",'spec':{'accessModes':['ReadWriteOnce'],'resources':{"
	                       "'requests':{'storage':'1Gi'}},'volumeMode':'Block',"
	                       "'volumeAttributesClassName':'gold'},'status':{'phase':'Pending'}}"),
	    C("['data','Pending','','','','','gold','60m','Block']"));
	/* The beta annotation names the class before the field does. */
	assert_string_equal(row_text(k,
	                             "{'metadata':{'name':'d','creationTimestamp':'" CREATED_1H "',"
	                             "'deletionTimestamp':'2025-01-01T11:59:00Z','annotations':{"
	                             "'volume.beta.kubernetes.io/storage-class':'old'}},'spec':{"
	                             "'storageClassName':'new'},'status':{'phase':'Bound'}}"),
	                    C("['d','Terminating','','','','old','<unset>','60m','<unset>']"));
}

#define CORE_EV_ROW                                                                                \
	"['5m','Normal','Pulled','pod/web','spec.containers{web}','kubelet, pi-1',"                \
	"'Container image pulled','60m',3,'web.17f']"

static void test_event_rows_for_both_apis(void **state)
{
	const struct reg_kind *core = K("", "events"), *v1 = K("events.k8s.io", "events");
	assert_string_equal(row_text(core, CORE_EVENT), C(CORE_EV_ROW));
	/* The same event read through events.k8s.io prints the same row. */
	cJSON *ev = J(CORE_EVENT);
	reg_event_from_core(ev);
	cJSON *cells = row_of(v1, ev);
	assert_string_equal(S(cells), C(CORE_EV_ROW));
	cJSON_Delete(cells);
	cJSON_Delete(ev);
	/* New-API events: eventTime for first seen, the series for last seen and count,
	 * reporting controller and instance as the source, the message trimmed. */
	assert_string_equal(
	    row_text(v1, "{'metadata':{'name':'e.1'},'eventTime':'2025-01-01T11:30:00.000000Z',"
	                 "'series':{'count':4,'lastObservedTime':'2025-01-01T11:58:00.000000Z'},"
	                 "'reportingController':'example.com/op','reportingInstance':'op-1',"
	                 "'reason':'Synced','type':'Warning','note':'  retrying\\n','regarding':{"
	                 "'kind':'Deployment','name':'web'}}"),
	    C("['2m','Warning','Synced','deployment/web','','example.com/op, op-1','retrying',"
	      "'30m',4,'e.1']"));
	/* A singleton event counts once; an object without a name prints its kind. */
	assert_string_equal(
	    row_text(core, "{'metadata':{'name':'e.2'},'eventTime':'2025-01-01T11:59:00.000000Z',"
	                   "'involvedObject':{'kind':'Node'},'source':{'component':'kubelet'},"
	                   "'reason':'Rebooted'}"),
	    C("['60s','','Rebooted','node','','kubelet','','60s',1,'e.2']"));
	assert_string_equal(row_text(core, "{'metadata':{'name':'e.3'}}"),
	                    C("['<unknown>','','','','','','','<unknown>',1,'e.3']"));
}

/* --- workloads ------------------------------------------------------------------------------ */

#define TWO_CONTAINERS                                                                             \
	"'template':{'metadata':{'labels':{'app':'web'}},'spec':{'containers':[{'name':'web',"     \
	"'image':'nginx:1.27'},{'name':'proxy','image':'envoy:1.32'}]}}"

static void test_workload_rows(void **state)
{
	assert_string_equal(
	    row_text(
	        K("apps", "deployments"),
	        "{" META("web") ",'spec':{'replicas':3,'selector':{'matchLabels':{'app':'web'},"
	                        "'matchExpressions':[{'key':'tier','operator':'NotIn','values':['"
	                        "db','cache']}"
	                        "]}," TWO_CONTAINERS "},'status':{'replicas':3,'readyReplicas':2,"
	                        "'updatedReplicas':3,'availableReplicas':2}}"),
	    C("['web','2/3',3,2,'60m','web,proxy','nginx:1.27,envoy:1.32',"
	      "'app=web,tier notin (cache,db)']"));
	/* A fresh deployment; a broken selector prints as upstream's <invalid>. */
	assert_string_equal(row_text(K("apps", "deployments"),
	                             "{" META("web") ",'spec':{'replicas':1,'selector':{}}}"),
	                    C("['web','0/1',0,0,'60m','','','']"));
	assert_string_equal(row_text(K("apps", "deployments"),
	                             "{" META("web") ",'spec':{'selector':{'matchExpressions':[{"
	                                             "'key':'a','operator':'In','values':[]}]}}}"),
	                    C("['web','0/0',0,0,'60m','','','<invalid>']"));
	assert_string_equal(
	    row_text(K("apps", "replicasets"),
	             "{" META("web-5d4f8") ",'spec':{'replicas':3,'selector':{'matchLabels':{'app':"
	                                   "'web','pod-template-hash':'5d4f8'}}," TWO_CONTAINERS
	                                   "},'status':{'replicas':"
	                                   "3,'readyReplicas':2}}"),
	    C("['web-5d4f8',3,3,2,'60m','web,proxy','nginx:1.27,envoy:1.32',"
	      "'app=web,pod-template-hash=5d4f8']"));
	assert_string_equal(row_text(K("apps", "replicasets"), "{" META("r") ",'spec':{}}"),
	                    C("['r',0,0,0,'60m','','','<none>']"));
	assert_string_equal(row_text(K("apps", "statefulsets"),
	                             "{" META("db") ",'spec':{'replicas':2," TWO_CONTAINERS
	                                            "},'status':{"
	                                            "'replicas':2,'readyReplicas':1}}"),
	                    C("['db','1/2','60m','web,proxy','nginx:1.27,envoy:1.32']"));
	assert_string_equal(
	    row_text(
	        K("apps", "daemonsets"),
	        "{" META(
	            "agent") ",'spec':{'selector':{'matchLabels':{'app':'agent'}},"
	                     "'template':{'spec':{'nodeSelector':{'kubernetes.io/os':'linux',"
	                     "'kubernetes.io/arch':'arm64'},'containers':[{'name':'agent','image':"
	                     "'agent:1'}]}}},'status':{'desiredNumberScheduled':3,'"
	                     "currentNumberScheduled':"
	                     "3,'numberReady':2,'updatedNumberScheduled':3,'numberAvailable':2}}"),
	    C("['agent',3,3,2,3,2,'kubernetes.io/arch=arm64,kubernetes.io/os=linux','60m',"
	      "'agent','agent:1','app=agent']"));
	assert_string_equal(row_text(K("apps", "daemonsets"), "{" META("d") "}"),
	                    C("['d',0,0,0,0,0,'<none>','60m','','','<none>']"));
}

static void test_controller_revision_rows(void **state)
{
	const struct reg_kind *k = K("apps", "controllerrevisions");
	assert_string_equal(
	    row_text(k, "{'metadata':{'name':'db-7c9','creationTimestamp':'" CREATED_1H "',"
	                "'ownerReferences':[{'apiVersion':'v1','kind':'Pod','name':'other'},{"
	                "'apiVersion':'apps/v1','kind':'StatefulSet','name':'db','controller':"
	                "true}]},'revision':3}"),
	    C("['db-7c9','statefulset.apps/db',3,'60m']"));
	assert_string_equal(row_text(k, "{" META("r") ",'revision':1}"),
	                    C("['r','<none>',1,'60m']"));
	assert_string_equal(row_text(k,
	                             "{'metadata':{'name':'r','creationTimestamp':'" CREATED_1H
	                             "','ownerReferences':[{'apiVersion':'v1','kind':"
	                             "'ReplicationController','name':'rc','controller':true}]}}"),
	                    C("['r','replicationcontroller/rc',0,'60m']"));
}

#define JOBM(extra) "'metadata':{'name':'pi','creationTimestamp':'" CREATED_1H "'" extra "}"
#define JOBSPEC(extra)                                                                             \
	"'spec':{" extra "'selector':{'matchLabels':{'batch.kubernetes.io/controller-uid':'u1'}}," \
	"'template':{'spec':{'containers':[{'name':'pi','image':'perl:5.34'}]}}}"
#define JOBROW(status, done, dur)                                                                  \
	C("['pi','" status "','" done "','" dur "','60m','pi','perl:5.34',"                        \
	  "'batch.kubernetes.io/controller-uid=u1']")

static void test_job_rows(void **state)
{
	const struct reg_kind *k = K("batch", "jobs");
	assert_string_equal(
	    row_text(
	        k, "{" JOBM("") "," JOBSPEC(
	               "'completions':1,'parallelism':1,") ",'status':{"
	                                                   "'succeeded':1,'startTime':'2025-01-"
	                                                   "01T11:00:00Z','completionTime':"
	                                                   "'2025-01-01T11:02:05Z','conditions':[{'"
	                                                   "type':'SuccessCriteriaMet','status':"
	                                                   "'True'},{'type':'Complete','status':'"
	                                                   "True'}]}}"),
	    JOBROW("Complete", "1/1", "2m5s"));
	assert_string_equal(
	    row_text(k, "{" JOBM("") "," JOBSPEC(
	                    "'parallelism':3,") ",'status':{'active':3,"
	                                        "'startTime':'2025-01-01T11:45:00Z'}}"),
	    JOBROW("Running", "0/1 of 3", "15m"));
	assert_string_equal(
	    row_text(k, "{" JOBM("") "," JOBSPEC(
	                    "'completions':5,") ",'status':{"
	                                        "'succeeded':2,'failed':7,'startTime':"
	                                        "'2025-01-01T11:00:00Z','conditions':[{'type':"
	                                        "'FailureTarget','status':'True'},{'type':'Failed',"
	                                        "'status':'True'}]}}"),
	    JOBROW("Failed", "2/5", "60m"));
	assert_string_equal(
	    row_text(k, "{" JOBM("") "," JOBSPEC(
	                    "'completions':5,") ",'status':{"
	                                        "'conditions':[{'type':'FailureTarget','status':"
	                                        "'True'}]}}"),
	    JOBROW("FailureTarget", "0/5", ""));
	assert_string_equal(
	    row_text(k, "{" JOBM("") "," JOBSPEC(
	                    "'completions':1,'suspend':true,") ",'status':{'conditions':[{'type':'"
	                                                       "Suspended','status':"
	                                                       "'True'}]}}"),
	    JOBROW("Suspended", "0/1", ""));
	assert_string_equal(
	    row_text(k, "{" JOBM(",'deletionTimestamp':'2025-01-01T11:59:00Z'") "," JOBSPEC(
	                    "'completions':1,") ",'status':{'conditions':[{"
	                                        "'type':'Suspended','status':'True'}]}}"),
	    JOBROW("Terminating", "0/1", ""));
	/* A condition present but not true does not count. */
	assert_string_equal(
	    row_text(
	        k, "{" JOBM("") "," JOBSPEC(
	               "'completions':1,") ",'status':{"
	                                   "'conditions':[{'type':'Complete','status':'False'}]}}"),
	    JOBROW("Running", "0/1", ""));
}

static void test_cronjob_rows(void **state)
{
	const struct reg_kind *k = K("batch", "cronjobs");
	assert_string_equal(
	    row_text(k, "{" META("hello") ",'spec':{'schedule':'*/1 * * * *','suspend':false,"
	                                  "'jobTemplate':{'spec':{'template':{'spec':{'containers':"
	                                  "[{'name':'hello',"
	                                  "'image':'busybox:1.28'}]}}}}},'status':{'active':[{'"
	                                  "name':'hello-1'}],"
	                                  "'lastScheduleTime':'2025-01-01T11:55:00Z'}}"),
	    C("['hello','*/1 * * * *','<none>','False',1,'5m','60m','hello','busybox:1.28',"
	      "'<none>']"));
	assert_string_equal(
	    row_text(
	        k,
	        "{" META(
	            "nightly") ",'spec':{'schedule':'0 3 * * *','timeZone':"
	                       "'Europe/Berlin','suspend':true,'jobTemplate':{'spec':{'selector':{"
	                       "'matchLabels':{'a':'b'}}}}}}"),
	    C("['nightly','0 3 * * *','Europe/Berlin','True',0,'<none>','60m','','','a=b']"));
	assert_string_equal(row_text(k, "{" META("c") "}"),
	                    C("['c','','<none>','<unset>',0,'<none>','60m','','','<none>']"));
}

static void test_rbac_and_csr_rows(void **state)
{
	assert_string_equal(
	    row_text(
	        K("rbac.authorization.k8s.io", "rolebindings"),
	        "{" META(
	            "rb") ",'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':"
	                  "'Role','name':'pod-reader'},'subjects':[{'kind':'User','name':'jane'},{"
	                  "'kind':'Group','name':'devs'},{'kind':'ServiceAccount','name':'builder',"
	                  "'namespace':'ci'},{'kind':'User','name':'joe'},{'kind':'ServiceAccount',"
	                  "'name':'deployer','namespace':'ci'}]}"),
	    C("['rb','Role/pod-reader','60m','jane, joe','devs','ci/builder, ci/deployer']"));
	assert_string_equal(row_text(K("rbac.authorization.k8s.io", "clusterrolebindings"),
	                             "{" META("crb") ",'roleRef':{'kind':'ClusterRole','name':"
	                                             "'cluster-admin'}}"),
	                    C("['crb','ClusterRole/cluster-admin','60m','','','']"));
	const struct reg_kind *k = K("certificates.k8s.io", "certificatesigningrequests");
	assert_string_equal(
	    row_text(k,
	             "{" META("csr-1") ",'spec':{'signerName':"
	                               "'kubernetes.io/kube-apiserver-client-kubelet','username':"
	                               "'system:node:pi-1','expirationSeconds':86400},'status':{'"
	                               "conditions':[{"
	                               "'type':'Approved','status':'True'}],'certificate':'"
	                               "LS0tLS1CRUdJTg=='}}"),
	    C("['csr-1','60m','kubernetes.io/kube-apiserver-client-kubelet','system:node:pi-1',"
	      "'24h','Approved,Issued']"));
	assert_string_equal(row_text(k, "{" META("csr-2") ",'spec':{'username':'u'}}"),
	                    C("['csr-2','60m','<none>','u','<none>','Pending']"));
	assert_string_equal(
	    row_text(k, "{" META("csr-3") ",'spec':{'expirationSeconds':600},"
	                                  "'status':{'conditions':[{'type':'Approved'},{'type':"
	                                  "'Denied'},{'type':'Failed'}]}}"),
	    C("['csr-3','60m','<none>','','10m','Denied,Failed']"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_kind_has_the_upstream_columns),
		cmocka_unit_test(test_pod_status_pending_creating_running_completed),
		cmocka_unit_test(test_pod_status_shows_why_a_container_is_not_running),
		cmocka_unit_test(test_pod_status_terminating_only_while_not_finished),
		cmocka_unit_test(test_pod_restarts_say_how_long_ago),
		cmocka_unit_test(test_pod_status_during_init),
		cmocka_unit_test(test_sidecars_count_as_containers),
		cmocka_unit_test(test_pod_wide_columns_and_scheduling_gates),
		cmocka_unit_test(test_node_rows),
		cmocka_unit_test(test_service_rows),
		cmocka_unit_test(test_endpoints_and_endpointslice_rows),
		cmocka_unit_test(test_plain_core_kind_rows),
		cmocka_unit_test(test_resource_quota_rows),
		cmocka_unit_test(test_pvc_rows),
		cmocka_unit_test(test_event_rows_for_both_apis),
		cmocka_unit_test(test_workload_rows),
		cmocka_unit_test(test_controller_revision_rows),
		cmocka_unit_test(test_job_rows),
		cmocka_unit_test(test_cronjob_rows),
		cmocka_unit_test(test_rbac_and_csr_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
