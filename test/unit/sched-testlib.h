/* sched-testlib: a real store, API and scheduler with simulated nodes, for the scheduler tests. */
#ifndef TUG_SCHED_TESTLIB_H
#define TUG_SCHED_TESTLIB_H

#include "test/unit/obj-testlib.h"

#include "core/client/client.h"
#include "core/scheduler/scheduler.h"

static char dir[128];
static struct store *st;
static struct loop *lp;
static struct api *api;
static struct client *cl;
static struct scheduler *sch;

static inline void spin(int ms)
{
	uint64_t end = time_mono_ms() + (uint64_t)ms;
	while (time_mono_ms() < end)
		loop_run_once(lp, 2);
}

/* Spins until cond holds or ms pass; returns whether it held. */
#define spin_until(cond, ms)                                                                       \
	({                                                                                         \
		uint64_t end_ = time_mono_ms() + (uint64_t)(ms);                                   \
		while (!(cond) && time_mono_ms() < end_)                                           \
			loop_run_once(lp, 2);                                                      \
		(cond);                                                                            \
	})

static inline int setup_with(const struct scheduler_opts *o)
{
	struct err e = { 0 };
	strcpy(dir, "/tmp/tug-sched-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	struct store_opts so = { .dir = dir, .no_background = true };
	assert_int_equal(store_open(&st, &so, &e), 0);
	assert_int_equal(loop_new(&lp), 0);
	struct api_opts ao = { .store = st, .loop = lp };
	assert_int_equal(api_new(&api, &ao, &e), 0);
	assert_int_equal(api_bootstrap(api, NULL, &e), 0);
	cl = client_local(api, lp, "system:kube-scheduler");
	struct scheduler_opts def = { .initial_backoff_ms = 20,
		                      .max_backoff_ms = 100,
		                      .max_unschedulable_ms = 60000,
		                      .percentage_of_nodes_to_score = 100,
		                      .seed = 42 };
	assert_int_equal(scheduler_start(cl, o ? o : &def, &sch), 0);
	spin(20);
	return 0;
}

static inline int setup(void **state)
{
	return setup_with(NULL);
}

static inline int teardown(void **state)
{
	scheduler_stop(sch);
	spin(30); /* bindings in flight finish */
	client_free(cl);
	api_free(api);
	loop_free(lp);
	store_close(st);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int last_code;
static inline void on_done(void *arg, int code, const char *msg, cJSON *obj)
{
	last_code = code;
	if (code >= 300)
		fprintf(stderr, "write failed: %d %s\n", code, msg);
}

static inline void create(const char *resource, const char *ns, cJSON *obj)
{
	last_code = 0;
	client_create(cl, client_kind("", resource), ns, obj, on_done, NULL);
	assert_true(spin_until(last_code != 0, 2000));
	assert_int_equal(last_code, 201);
}

/*
 * A simulated node: allocatable cpu, memory and pods, extra labels and taints as JSON
 * (single quotes allowed, NULL for none), and its Ready status ("True", "False", "Unknown").
 */
static inline cJSON *node_json(const char *name, const char *cpu, const char *mem, int pods,
                               const char *labels, const char *taints, const char *ready)
{
	char buf[4096];
	snprintf(buf, sizeof(buf),
	         "{'apiVersion':'v1','kind':'Node','metadata':{'name':'%s','labels':"
	         "{'kubernetes.io/hostname':'%s'}},'spec':{},'status':{'capacity':{'cpu':'%s',"
	         "'memory':'%s','pods':'%d'},'allocatable':{'cpu':'%s','memory':'%s','pods':'%d'},"
	         "'conditions':[{'type':'Ready','status':'%s','reason':'KubeletReady'}]}}",
	         name, name, cpu, mem, pods, cpu, mem, pods, ready ? ready : "True");
	cJSON *n = J(buf);
	if (labels) {
		cJSON *l = J(labels), *it;
		cJSON *ml = (cJSON *)obj_get(n, "metadata.labels");
		cJSON_ArrayForEach(it, l) cJSON_AddStringToObject(ml, it->string, it->valuestring);
		cJSON_Delete(l);
	}
	if (taints)
		obj_set(n, "spec.taints", J(taints), NULL);
	return n;
}

static inline void add_node(const char *name, const char *cpu, const char *mem, int pods,
                            const char *labels, const char *taints, const char *ready)
{
	create("nodes", NULL, node_json(name, cpu, mem, pods, labels, taints, ready));
}

/* A pod from YAML text, created in ns. */
static inline void add_pod_yaml(const char *ns, const char *yaml)
{
	cJSON *pod = NULL;
	struct err e = { 0 };
	if (obj_yaml_parse(yaml, strlen(yaml), &pod, &e) < 0) {
		fprintf(stderr, "bad test YAML: %s\n", e.msg);
		fail();
	}
	create("pods", ns, pod);
}

/* A pod with one container requesting cpu and memory (NULL: none); extra spec fields and
 * labels as JSON. */
static inline cJSON *pod_json(const char *name, const char *cpu, const char *mem,
                              const char *labels, const char *spec_extra)
{
	char buf[4096];
	snprintf(buf, sizeof(buf),
	         "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'%s'},'spec':{'containers':"
	         "[{'name':'c','image':'registry.k8s.io/pause:3.9','resources':{'requests':{}}}]}}",
	         name);
	cJSON *p = J(buf);
	cJSON *req = (cJSON *)obj_get(p, "spec.containers[0].resources.requests");
	if (cpu)
		cJSON_AddStringToObject(req, "cpu", cpu);
	if (mem)
		cJSON_AddStringToObject(req, "memory", mem);
	if (labels)
		obj_set(p, "metadata.labels", J(labels), NULL);
	if (spec_extra) {
		cJSON *x = J(spec_extra), *it;
		cJSON *spec = (cJSON *)obj_get(p, "spec");
		while ((it = x->child)) {
			cJSON_DetachItemViaPointer(x, it);
			cJSON_DeleteItemFromObjectCaseSensitive(spec, it->string);
			cJSON_AddItemToObject(spec, it->string, it);
		}
		cJSON_Delete(x);
	}
	return p;
}

static inline void add_pod(const char *ns, const char *name, const char *cpu, const char *mem,
                           const char *labels, const char *spec_extra)
{
	create("pods", ns, pod_json(name, cpu, mem, labels, spec_extra));
}

/* Where the pod is bound, in a static buffer ("" while pending). */
static inline const char *node_of(const char *ns, const char *name)
{
	static char out[256];
	cJSON *p = client_get(cl, client_kind("", "pods"), ns, name);
	const char *n = obj_get_str(p, "spec.nodeName");
	snprintf(out, sizeof(out), "%s", n ? n : "");
	cJSON_Delete(p);
	return out;
}

static inline bool bound(const char *ns, const char *name)
{
	return node_of(ns, name)[0] != '\0';
}

/* The PodScheduled condition's field, in a static buffer ("" when absent). */
static inline const char *scheduled_cond(const char *ns, const char *name, const char *field)
{
	static char out[2048];
	out[0] = '\0';
	cJSON *p = client_get(cl, client_kind("", "pods"), ns, name);
	const cJSON *c;
	cJSON_ArrayForEach(c, obj_get(p, "status.conditions"))
	{
		const char *t = obj_get_str(c, "type");
		if (t && !strcmp(t, "PodScheduled"))
			snprintf(out, sizeof(out), "%s",
			         obj_get_str(c, field) ? obj_get_str(c, field) : "");
	}
	cJSON_Delete(p);
	return out;
}

/* scheduler_evaluate on a pod object (taken), looked up per node. */
static struct scheduler_eval ev;

static inline void evaluate(cJSON *pod)
{
	scheduler_eval_free(&ev);
	if (!obj_get(pod, "metadata.namespace"))
		obj_set_str(pod, "metadata.namespace", "default", NULL);
	assert_int_equal(scheduler_evaluate(sch, pod, &ev), 0);
	cJSON_Delete(pod);
}

static inline void evaluate_yaml(const char *yaml)
{
	cJSON *pod = NULL;
	assert_int_equal(obj_yaml_parse(yaml, strlen(yaml), &pod, NULL), 0);
	evaluate(pod);
}

static inline const struct scheduler_node_eval *on(const char *node)
{
	for (size_t i = 0; i < ev.n; i++)
		if (!strcmp(ev.nodes[i].node, node))
			return &ev.nodes[i];
	fprintf(stderr, "no node %s in the evaluation\n", node);
	fail();
	return NULL;
}

#define assert_fits(node) assert_true(on(node)->feasible)
#define assert_rejected(node, why)                                                                 \
	do {                                                                                       \
		assert_false(on(node)->feasible);                                                  \
		assert_string_equal(on(node)->reasons, why);                                       \
	} while (0)
#define assert_score(node, plugin, v) assert_int_equal(on(node)->score[plugin], v)

/* Waits until the scheduler's cache holds n nodes and the pods it should. */
static inline void settle(void)
{
	struct scheduler_stats s;
	spin(10);
	for (int i = 0; i < 200; i++) {
		scheduler_get_stats(sch, &s);
		if (!s.pending)
			break;
		spin(5);
	}
}

#endif
