/* sched_bench: the scheduler's side of the scheduler benchmark (test/bench/scheduler.sh).
 * Simulated nodes and a backlog of pending pods in a real store; prints one JSON line with
 * the binding throughput and, for pods then created at a steady rate, their latency. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "core/client/client.h"
#include "core/obj/obj.h"
#include "core/scheduler/scheduler.h"

static struct loop *lp;
static struct client *cl;
static int inflight, failures;
static const char *mode = "plain";
static int nnodes = 1000;

static void on_done(void *arg, int code, const char *msg, cJSON *obj)
{
	inflight--;
	if (code >= 300 && failures++ < 5)
		fprintf(stderr, "sched_bench: write failed: %d %s\n", code, msg);
}

static void drain(int below)
{
	while (inflight > below)
		loop_run_once(lp, 10);
}

static void create(const char *resource, cJSON *obj)
{
	inflight++;
	client_create(cl, client_kind("", resource), "default", obj, on_done, NULL);
	if (inflight > 256)
		drain(64);
}

/* Nodes of the shape scheduler_perf uses, larger so that 100 of them hold every pod. In the
 * constrained modes: ten zones, every fifth node tainted NoSchedule, every seventh with a
 * PreferNoSchedule taint. */
static cJSON *node(int i)
{
	char name[32], zone[16];
	snprintf(name, sizeof(name), "node-%d", i);
	snprintf(zone, sizeof(zone), "z%d", i % 10);
	cJSON *n = cJSON_CreateObject();
	cJSON *m = cJSON_AddObjectToObject(n, "metadata");
	cJSON_AddStringToObject(m, "name", name);
	cJSON *l = cJSON_AddObjectToObject(m, "labels");
	cJSON_AddStringToObject(l, "kubernetes.io/hostname", name);
	cJSON_AddStringToObject(l, "topology.kubernetes.io/zone", zone);
	cJSON *spec = cJSON_AddObjectToObject(n, "spec");
	if (strcmp(mode, "plain")) {
		cJSON *t = cJSON_AddArrayToObject(spec, "taints");
		if (i % 5 == 4) {
			cJSON *x = cJSON_CreateObject();
			cJSON_AddStringToObject(x, "key", "dedicated");
			cJSON_AddStringToObject(x, "value", "infra");
			cJSON_AddStringToObject(x, "effect", "NoSchedule");
			cJSON_AddItemToArray(t, x);
		}
		if (i % 7 == 6) {
			cJSON *x = cJSON_CreateObject();
			cJSON_AddStringToObject(x, "key", "spot");
			cJSON_AddStringToObject(x, "effect", "PreferNoSchedule");
			cJSON_AddItemToArray(t, x);
		}
	}
	cJSON *st = cJSON_AddObjectToObject(n, "status");
	for (int k = 0; k < 2; k++) {
		cJSON *r = cJSON_AddObjectToObject(st, k ? "allocatable" : "capacity");
		cJSON_AddStringToObject(r, "cpu", "64");
		cJSON_AddStringToObject(r, "memory", "256Gi");
		cJSON_AddStringToObject(r, "pods", "110");
	}
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "type", "Ready");
	cJSON_AddStringToObject(c, "status", "True");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(st, "conditions"), c);
	return n;
}

static const char *const plain_pod =
    "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"app\":\"g%d\"}},\"spec\":{\"containers\":[{"
    "\"name\":\"pause\",\"image\":\"registry.k8s.io/pause:3.9\",\"ports\":[{\"containerPort\":80}],"
    "\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"500Mi\"}}}]%s}}";

/* constrained: required zones z0-z7, preferring z0-z1, half tolerating the dedicated taint. */
static const char *const constrained_spec =
    ",\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{"
    "\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"topology.kubernetes.io/zone\","
    "\"operator\":\"In\",\"values\":[\"z0\",\"z1\",\"z2\",\"z3\",\"z4\",\"z5\",\"z6\",\"z7\"]}]}]},"
    "\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":10,\"preference\":{"
    "\"matchExpressions\":[{\"key\":\"topology.kubernetes.io/zone\",\"operator\":\"In\","
    "\"values\":[\"z0\",\"z1\"]}]}}]}}%s";
static const char *const toleration =
    ",\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"infra\","
    "\"effect\":\"NoSchedule\"}]";

/* podaffinity: one pod of a group per node (required anti-affinity by hostname), groups
 * preferring each other's zones. */
static const char *const pod_affinity_spec =
    ",\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{"
    "\"labelSelector\":{\"matchLabels\":{\"app\":\"g%d\"}},\"topologyKey\":"
    "\"kubernetes.io/hostname\"}]},\"podAffinity\":{\"preferredDuringSchedulingIgnoredDuring"
    "Execution\":[{\"weight\":50,\"podAffinityTerm\":{\"labelSelector\":{\"matchLabels\":{"
    "\"app\":\"g%d\"}},\"topologyKey\":\"topology.kubernetes.io/zone\"}}]}}";

static cJSON *pod(const char *name, int i)
{
	char extra[2048] = "", buf[4096];
	int group = i % 100;
	if (!strcmp(mode, "constrained")) {
		snprintf(extra, sizeof(extra), constrained_spec, i % 2 ? toleration : "");
	} else if (!strcmp(mode, "podaffinity")) {
		/* groups no larger than half the nodes, so every pod fits */
		int groups = 5000 / (nnodes / 2) + 1;
		group = i % groups;
		snprintf(extra, sizeof(extra), pod_affinity_spec, group, group);
	}
	snprintf(buf, sizeof(buf), plain_pod, name, group, extra);
	return cJSON_Parse(buf);
}

/* --- latency of pods created at a steady rate ---------------------------------------- */

struct lat {
	struct strmap created; /* name -> uint64_t* (created at, us) */
	uint64_t *v;
	size_t n;
};

static void on_pod(struct lat *L, const cJSON *obj)
{
	const char *node = obj_get_str(obj, "spec.nodeName");
	const char *name = obj_get_str(obj, "metadata.name");
	if (!node || !*node || !name)
		return;
	uint64_t *t = strmap_del(&L->created, name);
	if (!t)
		return;
	L->v[L->n++] = time_mono_us() - *t;
	free(t);
}

static void h_add(void *arg, const cJSON *obj)
{
	on_pod(arg, obj);
}

static void h_update(void *arg, const cJSON *old, const cJSON *obj)
{
	on_pod(arg, obj);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static long proc_kb(const char *field)
{
	char *text = NULL;
	long v = -1;
	if (read_file("/proc/self/status", &text, NULL, 0) == 0) {
		char *p = strstr(text, field);
		if (p)
			v = strtol(p + strlen(field), NULL, 10);
		free(text);
	}
	return v;
}

int main(int argc, char **argv)
{
	int npods = 5000, nlat = 1000, rate = 0;
	bool events = true;
	static const struct option opts[] = {
		{ "nodes", required_argument, NULL, 'n' },
		{ "pods", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "latency-pods", required_argument, NULL, 'l' },
		{ "rate", required_argument, NULL, 'r' },
		{ "no-events", no_argument, NULL, 'E' },
		{ NULL, 0, NULL, 0 },
	};
	for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
		switch (c) {
		case 'n':
			nnodes = atoi(optarg);
			break;
		case 'p':
			npods = atoi(optarg);
			break;
		case 'm':
			mode = optarg;
			break;
		case 'l':
			nlat = atoi(optarg);
			break;
		case 'r':
			rate = atoi(optarg);
			break;
		case 'E':
			events = false;
			break;
		default:
			fprintf(stderr, "usage: sched_bench [--nodes N] [--pods N] [--mode plain|"
			                "constrained|podaffinity] [--latency-pods N] [--rate N/s] "
			                "[--no-events]\n");
			return 2;
		}
	}
	if (nnodes < 2 || npods < 1 || rate < 0 ||
	    (strcmp(mode, "plain") && strcmp(mode, "constrained") && strcmp(mode, "podaffinity"))) {
		fprintf(stderr, "sched_bench: bad arguments\n");
		return 2;
	}
	char dir[] = "/tmp/tug-sched-bench-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	struct err e = { 0 };
	struct store *st = NULL;
	struct store_opts so = { .dir = dir };
	struct api *api = NULL;
	if (store_open(&st, &so, &e) < 0 || loop_new(&lp) < 0) {
		fprintf(stderr, "sched_bench: %s\n", e.msg);
		return 1;
	}
	struct api_opts ao = { .store = st, .loop = lp };
	if (api_new(&api, &ao, &e) < 0 || api_bootstrap(api, NULL, &e) < 0) {
		fprintf(stderr, "sched_bench: %s\n", e.msg);
		return 1;
	}
	cl = client_local(api, lp, "system:kube-scheduler");

	for (int i = 0; i < nnodes; i++)
		create("nodes", node(i));
	drain(0);
	char name[32];
	for (int i = 0; i < npods; i++) {
		snprintf(name, sizeof(name), "backlog-%d", i);
		create("pods", pod(name, i));
	}
	drain(0);

	/* The backlog: start the scheduler and time it until every pod is bound. */
	struct scheduler *s;
	struct scheduler_opts o = { .no_events = !events };
	struct scheduler_stats ss;
	uint64_t t0 = time_mono_us(), last_progress = t0, last_bound = 0, synced = 0;
	scheduler_start(cl, &o, &s);
	for (;;) {
		loop_run_once(lp, synced ? 5 : 0);
		scheduler_get_stats(s, &ss);
		uint64_t now = time_mono_us();
		if (!synced && ss.synced)
			synced = now;
		if (ss.bound != last_bound) {
			last_bound = ss.bound;
			last_progress = now;
		}
		if (ss.bound >= (uint64_t)npods || now - last_progress > 10000000)
			break;
	}
	/* From the moment the scheduler has listed everything: the list itself is the
	 * informers' cost, reported apart. */
	double sync_s = (double)(synced - t0) / 1e6;
	double backlog_s = (double)(time_mono_us() - synced) / 1e6;
	uint64_t backlog_bound = ss.bound, attempts = ss.attempts, cycle_us = ss.cycle_us_total;

	/* Steady arrivals: pods created at a fixed rate, timed from create to bound. Unless
	 * told, the rate is half what the backlog went at (at most 500/s), so that latency is
	 * measured below saturation. */
	if (!rate) {
		double half = (double)backlog_bound / backlog_s / 2;
		rate = half > 500 ? 500 : half < 10 ? 10 : (int)half;
	}
	struct lat L = { 0 };
	L.v = xcalloc((size_t)nlat + 1, sizeof(uint64_t));
	struct informer *inf = informer_new(cl, client_kind("", "pods"), NULL, NULL);
	struct informer_handlers h = { .add = h_add, .update = h_update, .arg = &L };
	informer_add_handlers(inf, &h);
	informer_start(inf);
	while (!informer_synced(inf))
		loop_run_once(lp, 5);
	uint64_t start = time_mono_us();
	int made = 0;
	while ((size_t)made < (size_t)nlat ||
	       (L.n < (size_t)nlat && time_mono_us() - start < (uint64_t)60e6)) {
		uint64_t due = start + (uint64_t)made * 1000000ull / (uint64_t)rate;
		while (made < nlat && time_mono_us() >= due) {
			snprintf(name, sizeof(name), "steady-%d", made);
			uint64_t *t = xmalloc(sizeof(*t));
			*t = time_mono_us();
			strmap_put(&L.created, name, t);
			inflight++;
			client_create(cl, client_kind("", "pods"), "default",
			              pod(name, npods + made), on_done, NULL);
			made++;
			due = start + (uint64_t)made * 1000000ull / (uint64_t)rate;
		}
		loop_run_once(lp, 1);
	}
	qsort(L.v, L.n, sizeof(uint64_t), cmp_u64);
	double p50 = L.n ? (double)L.v[L.n / 2] / 1000 : -1;
	double p90 = L.n ? (double)L.v[L.n * 9 / 10] / 1000 : -1;
	double p99 = L.n ? (double)L.v[L.n * 99 / 100] / 1000 : -1;

	printf("{\"mode\":\"%s\",\"nodes\":%d,\"pods\":%d,\"bound\":%llu,\"sync_s\":%.3f,"
	       "\"seconds\":%.3f,"
	       "\"pods_per_s\":%.1f,\"cycle_us\":%.1f,\"latency_pods\":%zu,\"rate\":%d,"
	       "\"p50_ms\":%.2f,\"p90_ms\":%.2f,\"p99_ms\":%.2f,\"rss_kb\":%ld,\"hwm_kb\":%ld}\n",
	       mode, nnodes, npods, (unsigned long long)backlog_bound, sync_s, backlog_s,
	       (double)backlog_bound / backlog_s,
	       attempts ? (double)cycle_us / (double)attempts : 0, L.n, rate, p50, p90, p99,
	       proc_kb("VmRSS:"), proc_kb("VmHWM:"));
	fflush(stdout);

	informer_free(inf);
	scheduler_stop(s);
	drain(0);
	for (int i = 0; i < 100; i++)
		loop_run_once(lp, 1);
	const char *k;
	void *v;
	for (size_t i = 0; strmap_next(&L.created, &i, &k, &v);)
		free(v);
	strmap_free(&L.created);
	free(L.v);
	client_free(cl);
	api_free(api);
	loop_free(lp);
	store_close(st);
	char cmd[100];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 && backlog_bound == (uint64_t)npods ? 0 : 1;
}
