/* scheduler_test: every filter and score on the seed's examples, through scheduler_evaluate
 * against simulated nodes and pods in a real store. */
#include "test/unit/sched-testlib.h"

/* --- NodeResourcesFit, NodeResourcesBalancedAllocation ------------------------------ */

static void two_nodes_one_busy(void)
{
	add_node("n1", "4", "8Gi", 110, NULL, NULL, "True");
	add_node("n2", "4", "8Gi", 110, NULL, NULL, "True");
	add_pod("default", "busy", "2", "1Gi", NULL, "{'nodeName':'n1'}");
	spin(20);
}

static void test_least_allocated_and_balanced_scores_follow_upstream(void **state)
{
	two_nodes_one_busy();
	evaluate(pod_json("web", "1", "1Gi", NULL, NULL));
	assert_fits("n1");
	assert_fits("n2");
	/* n1: cpu 3 of 4 used, memory 2 of 8: (25 + 75) / 2; shares 0.75 and 0.25. */
	assert_score("n1", SCHEDULER_SCORE_FIT, 50);
	assert_score("n1", SCHEDULER_SCORE_BALANCED, 75);
	/* n2: cpu 1 of 4, memory 1 of 8: (75 + 87) / 2; shares 0.25 and 0.125. */
	assert_score("n2", SCHEDULER_SCORE_FIT, 81);
	assert_score("n2", SCHEDULER_SCORE_BALANCED, 93);
	assert_score("n1", SCHEDULER_SCORE_TAINT, 100);
	assert_score("n1", SCHEDULER_SCORE_NODE_AFFINITY, -1);
	assert_score("n1", SCHEDULER_SCORE_POD_AFFINITY, -1);
	assert_score("n1", SCHEDULER_SCORE_SPREAD, -1);
	assert_int_equal(on("n1")->total, 50 + 75 + 3 * 100);
	assert_int_equal(on("n2")->total, 81 + 93 + 3 * 100);
	/* A pod that requests nothing counts as 100m and 200Mi, and is not balanced. */
	evaluate(pod_json("be", NULL, NULL, NULL, NULL));
	assert_score("n1", SCHEDULER_SCORE_FIT, (47 + 85) / 2);
	assert_score("n2", SCHEDULER_SCORE_FIT, 97);
	assert_score("n2", SCHEDULER_SCORE_BALANCED, -1);
	scheduler_eval_free(&ev);
}

static void test_requests_beyond_allocatable_are_insufficient(void **state)
{
	two_nodes_one_busy();
	evaluate(pod_json("big", "3", "1Gi", NULL, NULL));
	assert_rejected("n1", "Insufficient cpu");
	assert_fits("n2");
	evaluate(pod_json("huge", "5", "9Gi", NULL, NULL));
	assert_rejected("n1", "Insufficient cpu; Insufficient memory");
	assert_rejected("n2", "Insufficient cpu; Insufficient memory");
	assert_string_equal(ev.message,
	                    "0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory. "
	                    "preemption: 0/2 nodes are available: 2 Preemption is not helpful for "
	                    "scheduling.");
	scheduler_eval_free(&ev);
}

static void test_init_containers_sidecars_and_overhead_count_as_upstream(void **state)
{
	two_nodes_one_busy();
	/* Two 1-cpu containers, one 3-cpu init container: the pod needs 3. */
	evaluate(
	    pod_json("init", "1", NULL, NULL,
	             "{'containers':[{'name':'a','image':'x','resources':{'requests':{'cpu':'1'}}},"
	             "{'name':'b','image':'x','resources':{'requests':{'cpu':'1'}}}],"
	             "'initContainers':[{'name':'i','image':'x','resources':{'requests':"
	             "{'cpu':'3'}}}]}"));
	assert_rejected("n1", "Insufficient cpu");
	assert_fits("n2");
	/* A sidecar (1) runs beside the later init container (2) and the app (1): 3, plus
	 * 500m of overhead is 3.5. */
	evaluate(pod_json(
	    "side", "1", NULL, NULL,
	    "{'initContainers':[{'name':'s','image':'x','restartPolicy':'Always','resources':"
	    "{'requests':{'cpu':'1'}}},{'name':'i','image':'x','resources':{'requests':{'cpu':'2'}}"
	    "}],"
	    "'overhead':{'cpu':'500m'}}"));
	assert_rejected("n1", "Insufficient cpu");
	assert_fits("n2");
	evaluate(pod_json("side2", "1", NULL, NULL,
	                  "{'initContainers':[{'name':'s','image':'x','restartPolicy':'Always',"
	                  "'resources':{'requests':{'cpu':'3'}}}],'overhead':{'cpu':'500m'}}"));
	assert_rejected("n2", "Insufficient cpu"); /* 1 + 3 + 0.5 */
	scheduler_eval_free(&ev);
}

static void test_pod_count_ephemeral_storage_and_extended_resources(void **state)
{
	cJSON *n = node_json("tiny", "4", "8Gi", 1, NULL, NULL, "True");
	obj_set_str(n, "status.allocatable.ephemeral-storage", "10Gi", NULL);
	obj_set_str(n, "status.allocatable.example\\.com/gpu", "1", NULL);
	create("nodes", NULL, n);
	n = node_json("roomy", "4", "8Gi", 110, NULL, NULL, "True");
	obj_set_str(n, "status.allocatable.ephemeral-storage", "10Gi", NULL);
	obj_set_str(n, "status.allocatable.example\\.com/gpu", "4", NULL);
	create("nodes", NULL, n);
	add_pod("default", "first", NULL, NULL, NULL, "{'nodeName':'tiny'}");
	spin(20);
	evaluate(pod_json("second", NULL, NULL, NULL, NULL));
	assert_rejected("tiny", "Too many pods");
	assert_fits("roomy");
	evaluate(pod_json(
	    "gpu", NULL, NULL, NULL,
	    "{'containers':[{'name':'c','image':'x','resources':{'requests':{'example.com/gpu':'5',"
	    "'ephemeral-storage':'11Gi'},'limits':{'example.com/gpu':'5'}}}]}"));
	assert_rejected("roomy", "Insufficient ephemeral-storage; Insufficient example.com/gpu");
	scheduler_eval_free(&ev);
}

/* --- NodeName, NodeUnschedulable, readiness ------------------------------------------ */

static void test_node_name_unschedulable_and_not_ready_nodes(void **state)
{
	add_node("ok", "4", "8Gi", 110, NULL, NULL, "True");
	add_node("down", "4", "8Gi", 110, NULL, NULL, "False");
	add_node("lost", "4", "8Gi", 110, NULL, NULL, "Unknown");
	cJSON *n = node_json("cordoned", "4", "8Gi", 110, NULL, NULL, "True");
	obj_set(n, "spec.unschedulable", cJSON_CreateTrue(), NULL);
	create("nodes", NULL, n);
	spin(20);
	evaluate(pod_json("p", NULL, NULL, NULL, NULL));
	assert_fits("ok");
	assert_rejected("down", "node(s) had untolerated taint {node.kubernetes.io/not-ready: }");
	assert_rejected("lost", "node(s) had untolerated taint {node.kubernetes.io/unreachable: }");
	assert_rejected("cordoned", "node(s) were unschedulable");
	/* The unschedulable taint's toleration lets a pod onto a cordoned node. */
	evaluate(pod_json("ds", NULL, NULL, NULL,
	                  "{'tolerations':[{'key':'node.kubernetes.io/unschedulable',"
	                  "'operator':'Exists','effect':'NoSchedule'}]}"));
	assert_fits("cordoned");
	evaluate(pod_json("named", NULL, NULL, NULL, "{'nodeName':'ok'}"));
	assert_fits("ok");
	assert_rejected("cordoned", "node(s) were unschedulable");
	evaluate(pod_json("named2", NULL, NULL, NULL,
	                  "{'nodeName':'ok','tolerations':[{'operator':'Exists'}]}"));
	assert_rejected("cordoned", "node(s) didn't match the requested node name");
	assert_rejected("down", "node(s) didn't match the requested node name");
	scheduler_eval_free(&ev);
}

/* --- NodeAffinity and nodeSelector --------------------------------------------------- */

static const char seed_node_affinity[] = "apiVersion: v1\n"
                                         "kind: Pod\n"
                                         "metadata:\n"
                                         "  name: with-node-affinity\n"
                                         "spec:\n"
                                         "  affinity:\n"
                                         "    nodeAffinity:\n"
                                         "      requiredDuringSchedulingIgnoredDuringExecution:\n"
                                         "        nodeSelectorTerms:\n"
                                         "        - matchExpressions:\n"
                                         "          - key: topology.kubernetes.io/zone\n"
                                         "            operator: In\n"
                                         "            values:\n"
                                         "            - antarctica-east1\n"
                                         "            - antarctica-west1\n"
                                         "      preferredDuringSchedulingIgnoredDuringExecution:\n"
                                         "      - weight: 1\n"
                                         "        preference:\n"
                                         "          matchExpressions:\n"
                                         "          - key: another-node-label-key\n"
                                         "            operator: In\n"
                                         "            values:\n"
                                         "            - another-node-label-value\n"
                                         "  containers:\n"
                                         "  - name: with-node-affinity\n"
                                         "    image: registry.k8s.io/pause:2.0\n";

static void test_seed_node_affinity_requires_the_zone_and_prefers_the_label(void **state)
{
	add_node("east", "4", "8Gi", 110,
	         "{'topology.kubernetes.io/zone':'antarctica-east1',"
	         "'another-node-label-key':'another-node-label-value'}",
	         NULL, "True");
	add_node("west", "4", "8Gi", 110, "{'topology.kubernetes.io/zone':'antarctica-west1'}",
	         NULL, "True");
	add_node("europe", "4", "8Gi", 110, "{'topology.kubernetes.io/zone':'europe-west1'}", NULL,
	         "True");
	spin(20);
	evaluate_yaml(seed_node_affinity);
	assert_fits("east");
	assert_fits("west");
	assert_rejected("europe", "node(s) didn't match Pod's node affinity/selector");
	assert_score("east", SCHEDULER_SCORE_NODE_AFFINITY, 100);
	assert_score("west", SCHEDULER_SCORE_NODE_AFFINITY, 0);
	assert_true(on("east")->total > on("west")->total);
	/* And the pod itself goes east. */
	add_pod_yaml("default", seed_node_affinity);
	assert_true(spin_until(bound("default", "with-node-affinity"), 2000));
	assert_string_equal(node_of("default", "with-node-affinity"), "east");
	scheduler_eval_free(&ev);
}

static cJSON *pod_with_terms(const char *terms)
{
	char buf[2048];
	snprintf(buf, sizeof(buf),
	         "{'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':"
	         "{'nodeSelectorTerms':%s}}}}",
	         terms);
	return pod_json("p", NULL, NULL, NULL, buf);
}

/* Which of n1..n3 a pod fits, as "110". */
static const char *fits3(void)
{
	static char out[4];
	for (int i = 0; i < 3; i++) {
		char n[4] = { 'n', (char)('1' + i), 0 };
		out[i] = on(n)->feasible ? '1' : '0';
	}
	return out;
}

static void test_node_affinity_operators_terms_ored_expressions_anded(void **state)
{
	add_node("n1", "4", "8Gi", 110, "{'disk':'ssd','cores':'8','gpu':'true'}", NULL, "True");
	add_node("n2", "4", "8Gi", 110, "{'disk':'hdd','cores':'2'}", NULL, "True");
	add_node("n3", "4", "8Gi", 110, "{'cores':'many'}", NULL, "True");
	spin(20);
	static const struct {
		const char *terms, *want;
	} cases[] = {
		{ "[{'matchExpressions':[{'key':'disk','operator':'In','values':['ssd']}]}]",
		  "100" },
		{ "[{'matchExpressions':[{'key':'disk','operator':'NotIn','values':['ssd']}]}]",
		  "011" },
		{ "[{'matchExpressions':[{'key':'gpu','operator':'Exists'}]}]", "100" },
		{ "[{'matchExpressions':[{'key':'gpu','operator':'DoesNotExist'}]}]", "011" },
		{ "[{'matchExpressions':[{'key':'cores','operator':'Gt','values':['4']}]}]",
		  "100" },
		{ "[{'matchExpressions':[{'key':'cores','operator':'Lt','values':['4']}]}]",
		  "010" },
		/* terms are ORed */
		{ "[{'matchExpressions':[{'key':'disk','operator':'In','values':['hdd']}]},"
		  "{'matchExpressions':[{'key':'gpu','operator':'Exists'}]}]",
		  "110" },
		/* expressions are ANDed */
		{ "[{'matchExpressions':[{'key':'disk','operator':'In','values':['ssd','hdd']},"
		  "{'key':'cores','operator':'Lt','values':['4']}]}]",
		  "010" },
		{ "[{'matchFields':[{'key':'metadata.name','operator':'In','values':['n3']}]}]",
		  "001" },
		{ "[{'matchFields':[{'key':'metadata.name','operator':'NotIn','values':['n3']}]}]",
		  "110" },
		/* an empty term, no terms, and an invalid one match nothing */
		{ "[{}]", "000" },
		{ "[]", "000" },
		{ "[{'matchExpressions':[{'key':'cores','operator':'Gt','values':['4','5']}]}]",
		  "000" },
		{ "[{'matchExpressions':[{'key':'disk','operator':'In','values':[]}]}]", "000" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		evaluate(pod_with_terms(cases[i].terms));
		if (strcmp(fits3(), cases[i].want))
			fprintf(stderr, "case %zu: %s\n", i, cases[i].terms);
		assert_string_equal(fits3(), cases[i].want);
	}
	evaluate(pod_json("sel", NULL, NULL, NULL, "{'nodeSelector':{'disk':'hdd'}}"));
	assert_string_equal(fits3(), "010");
	assert_rejected("n1", "node(s) didn't match Pod's node affinity/selector");
	/* nodeSelector and affinity must both hold. */
	cJSON *p = pod_with_terms("[{'matchExpressions':[{'key':'cores','operator':'Exists'}]}]");
	obj_set(p, "spec.nodeSelector", J("{'disk':'ssd'}"), NULL);
	evaluate(p);
	assert_string_equal(fits3(), "100");
	scheduler_eval_free(&ev);
}

static void test_preferred_node_affinity_weights_are_summed_and_normalized(void **state)
{
	add_node("n1", "4", "8Gi", 110, "{'a':'x','b':'y'}", NULL, "True");
	add_node("n2", "4", "8Gi", 110, "{'b':'y'}", NULL, "True");
	add_node("n3", "4", "8Gi", 110, "{'a':'x'}", NULL, "True");
	add_node("n4", "4", "8Gi", 110, NULL, NULL, "True");
	spin(20);
	evaluate(pod_json("p", NULL, NULL, NULL,
	                  "{'affinity':{'nodeAffinity':{'preferredDuringSchedulingIgnoredDuring"
	                  "Execution':[{'weight':1,'preference':{'matchExpressions':[{'key':'a',"
	                  "'operator':'In','values':['x']}]}},{'weight':5,'preference':"
	                  "{'matchExpressions':[{'key':'b','operator':'Exists'}]}}]}}}"));
	assert_score("n1", SCHEDULER_SCORE_NODE_AFFINITY, 100);
	assert_score("n2", SCHEDULER_SCORE_NODE_AFFINITY, 83);
	assert_score("n3", SCHEDULER_SCORE_NODE_AFFINITY, 16);
	assert_score("n4", SCHEDULER_SCORE_NODE_AFFINITY, 0);
	scheduler_eval_free(&ev);
}

/* --- TaintToleration --------------------------------------------------------------------- */

static const char seed_gpu_pod[] = "apiVersion: v1\n"
                                   "kind: Pod\n"
                                   "metadata:\n"
                                   "  name: gpu-pod\n"
                                   "spec:\n"
                                   "  containers:\n"
                                   "    - name: cuda-app\n"
                                   "      image: nvidia/cuda:12.0-base\n"
                                   "      command: [\"sleep\", \"3600\"]\n"
                                   "  tolerations:\n"
                                   "    - key: \"dedicated\"\n"
                                   "      operator: \"Equal\" ## Equal or Exists\n"
                                   "      value: \"gpu\"\n"
                                   "      effect: \"NoExecute\"\n"
                                   "      tolerationSeconds: 300\n";

static void five_tainted_nodes(void)
{
	add_node("t1", "4", "8Gi", 110, NULL,
	         "[{'key':'dedicated','value':'gpu','effect':'NoExecute'}]", "True");
	add_node("t2", "4", "8Gi", 110, NULL,
	         "[{'key':'dedicated','value':'gpu','effect':'NoSchedule'}]", "True");
	add_node("t3", "4", "8Gi", 110, NULL,
	         "[{'key':'dedicated','value':'cpu','effect':'NoExecute'}]", "True");
	add_node("t4", "4", "8Gi", 110, NULL, NULL, "True");
	add_node("t5", "4", "8Gi", 110, NULL,
	         "[{'key':'key1','value':'value1','effect':'PreferNoSchedule'}]", "True");
	spin(20);
}

static void test_seed_gpu_pod_tolerates_only_its_taint_and_effect(void **state)
{
	five_tainted_nodes();
	evaluate_yaml(seed_gpu_pod);
	assert_fits("t1");
	assert_rejected("t2", "node(s) had untolerated taint {dedicated: gpu}");
	assert_rejected("t3", "node(s) had untolerated taint {dedicated: cpu}");
	assert_fits("t4");
	assert_fits("t5");
	/* PreferNoSchedule only scores: t5's untolerated taint costs it the whole score. */
	assert_score("t1", SCHEDULER_SCORE_TAINT, 100);
	assert_score("t5", SCHEDULER_SCORE_TAINT, 0);
	scheduler_eval_free(&ev);
}

static void test_empty_key_exists_and_empty_effect_tolerate_as_the_seed_says(void **state)
{
	five_tainted_nodes();
	/* An empty key with Exists tolerates every taint. */
	evaluate(pod_json("all", NULL, NULL, NULL, "{'tolerations':[{'operator':'Exists'}]}"));
	for (int i = 1; i <= 5; i++) {
		char n[4] = { 't', (char)('0' + i), 0 };
		assert_fits(n);
		assert_score(n, SCHEDULER_SCORE_TAINT, 100);
	}
	/* An empty effect tolerates every effect of the key. */
	evaluate(pod_json("key", NULL, NULL, NULL,
	                  "{'tolerations':[{'key':'dedicated','operator':'Exists'}]}"));
	assert_fits("t1");
	assert_fits("t2");
	assert_fits("t3");
	/* kubectl taint nodes node1 key1=value1:NoSchedule, and a pod that tolerates it. */
	cJSON *n = node_json("node1", "4", "8Gi", 110, NULL,
	                     "[{'key':'key1','value':'value1','effect':'NoSchedule'}]", "True");
	create("nodes", NULL, n);
	spin(20);
	evaluate(pod_json("plain", NULL, NULL, NULL, NULL));
	assert_rejected("node1", "node(s) had untolerated taint {key1: value1}");
	evaluate(pod_json("tol", NULL, NULL, NULL,
	                  "{'tolerations':[{'key':'key1','operator':'Equal','value':'value1',"
	                  "'effect':'NoSchedule'}]}"));
	assert_fits("node1");
	assert_score("t5", SCHEDULER_SCORE_TAINT, 0);
	evaluate(pod_json("tol2", NULL, NULL, NULL,
	                  "{'tolerations':[{'key':'key1','operator':'Equal','value':'value2'}]}"));
	assert_rejected("node1", "node(s) had untolerated taint {key1: value1}");
	scheduler_eval_free(&ev);
}

static void test_prefer_no_schedule_taints_are_counted(void **state)
{
	add_node(
	    "a", "4", "8Gi", 110, NULL,
	    "[{'key':'x','effect':'PreferNoSchedule'},{'key':'y','effect':'PreferNoSchedule'}]",
	    "True");
	add_node("b", "4", "8Gi", 110, NULL, "[{'key':'x','effect':'PreferNoSchedule'}]", "True");
	add_node("c", "4", "8Gi", 110, NULL, NULL, "True");
	spin(20);
	evaluate(pod_json("p", NULL, NULL, NULL, NULL));
	assert_score("a", SCHEDULER_SCORE_TAINT, 0);
	assert_score("b", SCHEDULER_SCORE_TAINT, 50);
	assert_score("c", SCHEDULER_SCORE_TAINT, 100);
	evaluate(pod_json("p", NULL, NULL, NULL,
	                  "{'tolerations':[{'key':'y','operator':'Exists','effect':"
	                  "'PreferNoSchedule'}]}"));
	assert_score("a", SCHEDULER_SCORE_TAINT, 0);
	assert_score("b", SCHEDULER_SCORE_TAINT, 0);
	assert_score("c", SCHEDULER_SCORE_TAINT, 100);
	scheduler_eval_free(&ev);
}

/* --- NodePorts ---------------------------------------------------------------------------- */

static cJSON *port_pod(const char *name, const char *ports, const char *node)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "{%s%s%s'containers':[{'name':'c','image':'x','ports':%s}]}",
	         node ? "'nodeName':'" : "", node ? node : "", node ? "'," : "", ports);
	return pod_json(name, NULL, NULL, NULL, buf);
}

static void test_host_ports_conflict_by_protocol_port_and_address(void **state)
{
	add_node("n1", "4", "8Gi", 110, NULL, NULL, "True");
	create("pods", "default",
	       port_pod("web",
	                "[{'containerPort':80,'hostPort':8080},{'containerPort':90,"
	                "'hostPort':9090,'hostIP':'10.0.0.1'}]",
	                "n1"));
	spin(20);
	static const struct {
		const char *ports;
		bool fits;
	} cases[] = {
		{ "[{'containerPort':80,'hostPort':8080}]", false },
		{ "[{'containerPort':80,'hostPort':8080,'protocol':'UDP'}]", true },
		{ "[{'containerPort':80,'hostPort':8081}]", true },
		{ "[{'containerPort':80,'hostPort':8080,'hostIP':'10.0.0.2'}]", false },
		{ "[{'containerPort':90,'hostPort':9090,'hostIP':'10.0.0.2'}]", true },
		{ "[{'containerPort':90,'hostPort':9090,'hostIP':'10.0.0.1'}]", false },
		{ "[{'containerPort':90,'hostPort':9090}]", false },
		{ "[{'containerPort':8080}]", true },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		evaluate(port_pod("p", cases[i].ports, NULL));
		assert_int_equal(on("n1")->feasible, cases[i].fits);
		if (!cases[i].fits)
			assert_rejected(
			    "n1", "node(s) didn't have free ports for the requested pod ports");
	}
	scheduler_eval_free(&ev);
}

/* --- InterPodAffinity ---------------------------------------------------------------------- */

static const char seed_pod_affinity[] = "apiVersion: v1\n"
                                        "kind: Pod\n"
                                        "metadata:\n"
                                        "  name: with-pod-affinity\n"
                                        "spec:\n"
                                        "  affinity:\n"
                                        "    podAffinity:\n"
                                        "      requiredDuringSchedulingIgnoredDuringExecution:\n"
                                        "      - labelSelector:\n"
                                        "          matchExpressions:\n"
                                        "          - key: security\n"
                                        "            operator: In\n"
                                        "            values:\n"
                                        "            - S1\n"
                                        "        topologyKey: topology.kubernetes.io/zone\n"
                                        "    podAntiAffinity:\n"
                                        "      preferredDuringSchedulingIgnoredDuringExecution:\n"
                                        "      - weight: 100\n"
                                        "        podAffinityTerm:\n"
                                        "          labelSelector:\n"
                                        "            matchExpressions:\n"
                                        "            - key: security\n"
                                        "              operator: In\n"
                                        "              values:\n"
                                        "              - S2\n"
                                        "          topologyKey: topology.kubernetes.io/zone\n"
                                        "  containers:\n"
                                        "  - name: with-pod-affinity\n"
                                        "    image: registry.k8s.io/pause:2.0\n";

static void zoned_nodes(void)
{
	add_node("z1a", "4", "8Gi", 110, "{'topology.kubernetes.io/zone':'z1'}", NULL, "True");
	add_node("z1b", "4", "8Gi", 110, "{'topology.kubernetes.io/zone':'z1'}", NULL, "True");
	add_node("z2a", "4", "8Gi", 110, "{'topology.kubernetes.io/zone':'z2'}", NULL, "True");
	add_node("z2b", "4", "8Gi", 110, "{'topology.kubernetes.io/zone':'z2'}", NULL, "True");
	add_node("z3a", "4", "8Gi", 110, "{'topology.kubernetes.io/zone':'z3'}", NULL, "True");
	add_node("nozone", "4", "8Gi", 110, NULL, NULL, "True");
}

static void test_seed_pod_affinity_follows_s1_zones_and_avoids_s2_zones(void **state)
{
	zoned_nodes();
	add_pod("default", "s1-a", NULL, NULL, "{'security':'S1'}", "{'nodeName':'z1a'}");
	add_pod("default", "s1-b", NULL, NULL, "{'security':'S1'}", "{'nodeName':'z2a'}");
	add_pod("default", "s2", NULL, NULL, "{'security':'S2'}", "{'nodeName':'z2b'}");
	spin(20);
	evaluate_yaml(seed_pod_affinity);
	assert_fits("z1a");
	assert_fits("z1b");
	assert_fits("z2a");
	assert_fits("z2b");
	assert_rejected("z3a", "node(s) didn't match pod affinity rules");
	assert_rejected("nozone", "node(s) didn't match pod affinity rules");
	/* Zone z2 holds an S2 pod: the preferred anti-affinity ranks it last. */
	assert_score("z1a", SCHEDULER_SCORE_POD_AFFINITY, 100);
	assert_score("z1b", SCHEDULER_SCORE_POD_AFFINITY, 100);
	assert_score("z2a", SCHEDULER_SCORE_POD_AFFINITY, 0);
	assert_score("z2b", SCHEDULER_SCORE_POD_AFFINITY, 0);
	add_pod_yaml("default", seed_pod_affinity);
	assert_true(spin_until(bound("default", "with-pod-affinity"), 2000));
	assert_non_null(strstr(node_of("default", "with-pod-affinity"), "z1"));
	/* Without any S1 pod there is nowhere to go. */
	client_delete(cl, client_kind("", "pods"), "default", "s1-a", 0, NULL, NULL, NULL, NULL);
	client_delete(cl, client_kind("", "pods"), "default", "s1-b", 0, NULL, NULL, NULL, NULL);
	client_delete(cl, client_kind("", "pods"), "default", "with-pod-affinity", 0, NULL, NULL,
	              NULL, NULL);
	spin(50);
	evaluate_yaml(seed_pod_affinity);
	assert_rejected("z1a", "node(s) didn't match pod affinity rules");
	assert_string_equal(ev.message,
	                    "0/6 nodes are available: 6 node(s) didn't match pod affinity rules. "
	                    "preemption: 0/6 nodes are available: 6 Preemption is not helpful for "
	                    "scheduling.");
	scheduler_eval_free(&ev);
}

static const char *anti_web =
    "{'affinity':{'podAntiAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':"
    "[{'labelSelector':{'matchLabels':{'app':'web'}},'topologyKey':'%s'}]}}%s}";

static void test_required_anti_affinity_by_hostname_region_and_custom_keys(void **state)
{
	add_node("h1", "4", "8Gi", 110, "{'topology.kubernetes.io/region':'r1','rack':'a'}", NULL,
	         "True");
	add_node("h2", "4", "8Gi", 110, "{'topology.kubernetes.io/region':'r1','rack':'b'}", NULL,
	         "True");
	add_node("h3", "4", "8Gi", 110, "{'topology.kubernetes.io/region':'r2','rack':'a'}", NULL,
	         "True");
	add_pod("default", "web-1", NULL, NULL, "{'app':'web'}", "{'nodeName':'h1'}");
	spin(20);
	static const struct {
		const char *key, *want;
	} cases[] = {
		{ "kubernetes.io/hostname", "011" },
		{ "topology.kubernetes.io/region", "001" },
		{ "rack", "010" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char spec[512];
		snprintf(spec, sizeof(spec), anti_web, cases[i].key, "");
		evaluate(pod_json("web-2", NULL, NULL, "{'app':'web'}", spec));
		char got[4] = { on("h1")->feasible ? '1' : '0', on("h2")->feasible ? '1' : '0',
			        on("h3")->feasible ? '1' : '0', 0 };
		assert_string_equal(got, cases[i].want);
	}
	assert_rejected("h1", "node(s) didn't match pod anti-affinity rules");
	/* The other way round: an existing pod's anti-affinity keeps web pods off its node. */
	char spec[512];
	snprintf(spec, sizeof(spec), anti_web, "kubernetes.io/hostname", ",'nodeName':'h2'");
	add_pod("default", "db", NULL, NULL, "{'app':'db'}", spec);
	spin(20);
	evaluate(pod_json("web-3", NULL, NULL, "{'app':'web'}", NULL));
	assert_fits("h1");
	assert_rejected("h2", "node(s) didn't satisfy existing pods anti-affinity rules");
	assert_fits("h3");
	evaluate(pod_json("other", NULL, NULL, "{'app':'other'}", NULL));
	assert_fits("h2");
	scheduler_eval_free(&ev);
}

static void test_affinity_terms_look_in_their_namespaces(void **state)
{
	add_node("n1", "4", "8Gi", 110, NULL, NULL, "True");
	add_node("n2", "4", "8Gi", 110, NULL, NULL, "True");
	create("namespaces", NULL, J("{'metadata':{'name':'team-a','labels':{'team':'a'}}}"));
	create("namespaces", NULL, J("{'metadata':{'name':'team-b','labels':{'team':'b'}}}"));
	add_pod("team-a", "cache", NULL, NULL, "{'app':'cache'}", "{'nodeName':'n1'}");
	add_pod("team-b", "cache", NULL, NULL, "{'app':'cache'}", "{'nodeName':'n2'}");
	spin(20);
	const char *tmpl = "{'affinity':{'podAffinity':{'requiredDuringSchedulingIgnoredDuring"
	                   "Execution':[{'labelSelector':{'matchLabels':{'app':'cache'}},"
	                   "'topologyKey':'kubernetes.io/hostname'%s}]}}}";
	static const struct {
		const char *extra, *ns, *want;
	} cases[] = {
		{ "", "team-a", "10" }, /* its own namespace */
		{ "", "team-b", "01" },
		{ ",'namespaces':['team-b']", "team-a", "01" },
		{ ",'namespaceSelector':{'matchLabels':{'team':'a'}}", "team-b", "10" },
		{ ",'namespaceSelector':{}", "default", "11" }, /* every namespace */
		{ ",'namespaces':['team-a'],'namespaceSelector':{'matchLabels':{'team':'b'}}",
		  "default", "11" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char spec[1024];
		snprintf(spec, sizeof(spec), tmpl, cases[i].extra);
		cJSON *p = pod_json("app", NULL, NULL, NULL, spec);
		obj_set_str(p, "metadata.namespace", cases[i].ns, NULL);
		evaluate(p);
		char got[3] = { on("n1")->feasible ? '1' : '0', on("n2")->feasible ? '1' : '0', 0 };
		if (strcmp(got, cases[i].want))
			fprintf(stderr, "case %zu\n", i);
		assert_string_equal(got, cases[i].want);
	}
	scheduler_eval_free(&ev);
}

static void test_first_pod_of_a_self_affine_group_may_go_anywhere(void **state)
{
	zoned_nodes();
	spin(20);
	const char *spec = "{'affinity':{'podAffinity':{'requiredDuringSchedulingIgnoredDuring"
	                   "Execution':[{'labelSelector':{'matchLabels':{'app':'cache'}},"
	                   "'topologyKey':'topology.kubernetes.io/zone'}]}}}";
	evaluate(pod_json("c1", NULL, NULL, "{'app':'cache'}", spec));
	assert_fits("z1a");
	assert_fits("z3a");
	assert_rejected("nozone", "node(s) didn't match pod affinity rules");
	/* A pod that does not match its own terms has to wait for one that does. */
	evaluate(pod_json("c2", NULL, NULL, "{'app':'web'}", spec));
	assert_rejected("z1a", "node(s) didn't match pod affinity rules");
	scheduler_eval_free(&ev);
}

static void test_existing_pods_preferences_and_required_terms_score(void **state)
{
	add_node("n1", "4", "8Gi", 110, NULL, NULL, "True");
	add_node("n2", "4", "8Gi", 110, NULL, NULL, "True");
	add_node("n3", "4", "8Gi", 110, NULL, NULL, "True");
	/* n1's pod wants web pods near it; n2's pod would rather not have them. */
	add_pod("default", "likes", NULL, NULL, NULL,
	        "{'nodeName':'n1','affinity':{'podAffinity':{'preferredDuringSchedulingIgnored"
	        "DuringExecution':[{'weight':10,'podAffinityTerm':{'labelSelector':{'matchLabels':"
	        "{'app':'web'}},'topologyKey':'kubernetes.io/hostname'}}]}}}");
	add_pod("default", "dislikes", NULL, NULL, NULL,
	        "{'nodeName':'n2','affinity':{'podAntiAffinity':{'preferredDuringSchedulingIgnored"
	        "DuringExecution':[{'weight':10,'podAffinityTerm':{'labelSelector':{'matchLabels':"
	        "{'app':'web'}},'topologyKey':'kubernetes.io/hostname'}}]}}}");
	spin(20);
	evaluate(pod_json("web", NULL, NULL, "{'app':'web'}", NULL));
	assert_score("n1", SCHEDULER_SCORE_POD_AFFINITY, 100);
	assert_score("n3", SCHEDULER_SCORE_POD_AFFINITY, 50);
	assert_score("n2", SCHEDULER_SCORE_POD_AFFINITY, 0);
	/* A pod nobody has terms about is not scored by it. */
	evaluate(pod_json("db", NULL, NULL, "{'app':'db'}", NULL));
	assert_score("n1", SCHEDULER_SCORE_POD_AFFINITY, -1);
	scheduler_eval_free(&ev);
}

/* The pod-to-pod rules read an index of assigned pods by label: it must follow pods that
 * go, come back and change their labels. */
static void test_pod_rules_follow_deletions_and_relabels(void **state)
{
	char name[32], node[32], spec[600];
	for (int i = 0; i < 8; i++) {
		snprintf(node, sizeof(node), "n%d", i);
		add_node(node, "8", "8Gi", 110, NULL, NULL, "True");
	}
	for (int i = 0; i < 24; i++) {
		snprintf(name, sizeof(name), "web-%d", i);
		snprintf(spec, sizeof(spec),
		         "{'nodeName':'n%d','affinity':{'podAntiAffinity':{'preferredDuring"
		         "SchedulingIgnoredDuringExecution':[{'weight':5,'podAffinityTerm':"
		         "{'labelSelector':{'matchLabels':{'app':'db'}},'topologyKey':"
		         "'kubernetes.io/hostname'}}]}}}",
		         i % 8);
		add_pod("default", name, NULL, NULL, "{'app':'web'}", spec);
	}
	/* Empty n1, n4 and n6 of web pods, in an order that shuffles the index's lists. */
	static const int gone[] = { 1, 9, 17, 4, 12, 20, 6, 14, 22 };
	for (size_t i = 0; i < ARRAY_SIZE(gone); i++) {
		snprintf(name, sizeof(name), "web-%d", gone[i]);
		client_delete(cl, client_kind("", "pods"), "default", name, 0, NULL, NULL, NULL,
		              NULL);
	}
	/* And move the web pods of n3 out of the group by relabeling them. */
	for (int i = 3; i < 24; i += 8) {
		snprintf(name, sizeof(name), "web-%d", i);
		client_merge_patch(cl, client_kind("", "pods"), "default", name, NULL,
		                   J("{'metadata':{'labels':{'app':'old'}}}"), NULL, NULL);
	}
	spin(100);
	snprintf(spec, sizeof(spec), anti_web, "kubernetes.io/hostname", "");
	evaluate(pod_json("new", NULL, NULL, "{'app':'web'}", spec));
	char got[9];
	for (int i = 0; i < 8; i++) {
		snprintf(node, sizeof(node), "n%d", i);
		got[i] = on(node)->feasible ? '1' : '0';
	}
	got[8] = 0;
	assert_string_equal(got, "01011010");
	/* The remaining web pods' preferences still push a db pod away from them. */
	evaluate(pod_json("db", NULL, NULL, "{'app':'db'}", NULL));
	assert_score("n0", SCHEDULER_SCORE_POD_AFFINITY, 0);
	assert_score("n1", SCHEDULER_SCORE_POD_AFFINITY, 100);
	assert_score("n3", SCHEDULER_SCORE_POD_AFFINITY, 0); /* relabeled, same terms */
	scheduler_eval_free(&ev);
}

/* --- PodTopologySpread ------------------------------------------------------------------ */

static cJSON *owned_pod(const char *name, const char *node)
{
	char spec[128];
	snprintf(spec, sizeof(spec), "{'nodeName':'%s'}", node ? node : "");
	cJSON *p = pod_json(name, "100m", "100Mi", "{'app':'rs'}", node ? spec : NULL);
	obj_set(p, "metadata.ownerReferences",
	        J("[{'apiVersion':'apps/v1','kind':'ReplicaSet','name':'rs','uid':'rs-uid-1',"
	          "'controller':true}]"),
	        NULL);
	return p;
}

static void test_a_controllers_pods_spread_by_the_system_defaults(void **state)
{
	add_node("s1", "4", "8Gi", 110, NULL, NULL, "True");
	add_node("s2", "4", "8Gi", 110, NULL, NULL, "True");
	add_node("s3", "4", "8Gi", 110, NULL, NULL, "True");
	create("pods", "default", owned_pod("a", "s1"));
	create("pods", "default", owned_pod("b", "s1"));
	create("pods", "default", owned_pod("c", "s2"));
	spin(20);
	/* Per node: count * log(3 + 2) + (3 - 1); no zones, so the zone default adds nothing. */
	evaluate(owned_pod("d", NULL));
	assert_score("s1", SCHEDULER_SCORE_SPREAD, 40);
	assert_score("s2", SCHEDULER_SCORE_SPREAD, 60);
	assert_score("s3", SCHEDULER_SCORE_SPREAD, 100);
	/* Pods of no controller do not spread this way. */
	evaluate(pod_json("e", "100m", "100Mi", "{'app':'rs'}", NULL));
	assert_score("s1", SCHEDULER_SCORE_SPREAD, -1);
	scheduler_eval_free(&ev);
}

static const char *spread_tmpl =
    "{'topologySpreadConstraints':[{'maxSkew':1,'topologyKey':'topology.kubernetes.io/zone',"
    "'whenUnsatisfiable':'%s','labelSelector':{'matchLabels':{'app':'foo'}}}]}";

static void test_topology_spread_constraints_filter_and_score(void **state)
{
	add_node("za", "4", "8Gi", 110, "{'topology.kubernetes.io/zone':'a'}", NULL, "True");
	add_node("zb", "4", "8Gi", 110, "{'topology.kubernetes.io/zone':'b'}", NULL, "True");
	add_node("none", "4", "8Gi", 110, NULL, NULL, "True");
	add_pod("default", "f1", NULL, NULL, "{'app':'foo'}", "{'nodeName':'za'}");
	add_pod("default", "f2", NULL, NULL, "{'app':'foo'}", "{'nodeName':'za'}");
	spin(20);
	char spec[512];
	snprintf(spec, sizeof(spec), spread_tmpl, "DoNotSchedule");
	evaluate(pod_json("f3", NULL, NULL, "{'app':'foo'}", spec));
	assert_rejected("za", "node(s) didn't match pod topology spread constraints");
	assert_fits("zb");
	assert_rejected("none",
	                "node(s) didn't match pod topology spread constraints (missing required "
	                "label)");
	/* A pod the selector does not match adds no skew of its own: 2 + 0 - 0 > 1 still. */
	evaluate(pod_json("g", NULL, NULL, "{'app':'bar'}", spec));
	assert_rejected("za", "node(s) didn't match pod topology spread constraints");
	snprintf(spec, sizeof(spec), spread_tmpl, "ScheduleAnyway");
	evaluate(pod_json("f4", NULL, NULL, "{'app':'foo'}", spec));
	assert_fits("za");
	assert_fits("none");
	assert_score("za", SCHEDULER_SCORE_SPREAD, 0);
	assert_score("zb", SCHEDULER_SCORE_SPREAD, 100);
	assert_score("none", SCHEDULER_SCORE_SPREAD, 0);
	scheduler_eval_free(&ev);
}

/* --- what the API would never let through ------------------------------------------- */

static void test_malformed_pods_do_not_crash_the_scheduler(void **state)
{
	add_node("n1", "4", "8Gi", 110, "{'zone':'z'}", "[{'key':'k','effect':'NoSchedule'}]",
	         "True");
	spin(20);
	static const char *const bad[] = {
		"{'spec':7}",
		"{'spec':{'containers':'x','initContainers':{},'overhead':[1]}}",
		"{'spec':{'containers':[{'resources':{'requests':{'cpu':'lots','memory':[],"
		"'x/y':{}}}},7]}}",
		"{'spec':{'containers':[{'ports':[{'hostPort':'80'},{'hostPort':-1},{'hostPort':"
		"1e12}]}]}}",
		"{'spec':{'nodeSelector':{'zone':5},'tolerations':[1,{'key':2}]}}",
		"{'spec':{'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuring"
		"Execution':{'nodeSelectorTerms':[{'matchExpressions':[{'key':'zone','operator':'"
		"Gt',"
		"'values':['x']},7]},'y',{'matchFields':{}}]},'preferredDuringSchedulingIgnored"
		"DuringExecution':[{'weight':'w','preference':7}]}}}}",
		"{'spec':{'affinity':{'podAffinity':{'requiredDuringSchedulingIgnoredDuring"
		"Execution':[{'labelSelector':{'matchExpressions':[{'key':'a','operator':'Bad'}]},"
		"'namespaceSelector':5,'namespaces':[1]},7],'preferredDuringSchedulingIgnoredDuring"
		"Execution':[{'weight':1e9}]},'podAntiAffinity':[]}}}",
		"{'spec':{'topologySpreadConstraints':[{'maxSkew':-4,'topologyKey':'zone',"
		"'whenUnsatisfiable':'DoNotSchedule','labelSelector':7,'matchLabelKeys':'x'},{}]}}",
		"{'metadata':{'labels':7,'ownerReferences':[{'controller':true,'kind':'ReplicaSet'}"
		"]},"
		"'spec':{}}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cJSON *p = J(bad[i]);
		obj_set_str(p, "metadata.name", "bad", NULL);
		evaluate(p);
		assert_int_equal(ev.n, 1);
	}
	cJSON *junk = J("[1,2]");
	scheduler_eval_free(&ev);
	assert_int_equal(scheduler_evaluate(sch, junk, &ev), -EINVAL);
	cJSON_Delete(junk);
	scheduler_eval_free(&ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_least_allocated_and_balanced_scores_follow_upstream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requests_beyond_allocatable_are_insufficient,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_init_containers_sidecars_and_overhead_count_as_upstream, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_pod_count_ephemeral_storage_and_extended_resources, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_name_unschedulable_and_not_ready_nodes,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_seed_node_affinity_requires_the_zone_and_prefers_the_label, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_node_affinity_operators_terms_ored_expressions_anded, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_preferred_node_affinity_weights_are_summed_and_normalized, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_seed_gpu_pod_tolerates_only_its_taint_and_effect, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_empty_key_exists_and_empty_effect_tolerate_as_the_seed_says, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_prefer_no_schedule_taints_are_counted, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(
		    test_host_ports_conflict_by_protocol_port_and_address, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_seed_pod_affinity_follows_s1_zones_and_avoids_s2_zones, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_required_anti_affinity_by_hostname_region_and_custom_keys, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_affinity_terms_look_in_their_namespaces, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(
		    test_first_pod_of_a_self_affine_group_may_go_anywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_existing_pods_preferences_and_required_terms_score, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pod_rules_follow_deletions_and_relabels, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_controllers_pods_spread_by_the_system_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_topology_spread_constraints_filter_and_score,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_pods_do_not_crash_the_scheduler,
		                                setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
