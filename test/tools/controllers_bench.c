/* controllers_bench: how long a ReplicaSet scaled from 0 to N takes to have all N pods created,
 * on a real store (fsync'ed writes) with the real replicaset controller, in one process.
 *
 *   controllers_bench [--dir DIR] [--replicas N] [--runs R] [--goal-ms MS]
 *
 * Prints one line per run and a summary; exits 1 if the slowest run misses the goal. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/client/client.h"
#include "core/controllers/controllers.h"
#include "core/obj/obj.h"

static struct loop *lp;
static int seen;
static char want_app[64];

static void on_pod(void *arg, const cJSON *pod)
{
	const char *app = obj_get_str(pod, "metadata.labels.app");
	if (app && !strcmp(app, want_app))
		seen++;
}

static int done_code;
static bool done;
static void on_done(void *arg, int code, const char *msg, cJSON *obj)
{
	done_code = code;
	done = true;
	if (code >= 300)
		fprintf(stderr, "write failed: %d %s\n", code, msg);
}

static int wait_write(void)
{
	while (!done)
		loop_run_once(lp, 10);
	done = false;
	return done_code < 300 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	int replicas = 100, runs = 3;
	uint64_t goal = 1000;
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "replicas", required_argument, NULL, 'n' },
		{ "runs", required_argument, NULL, 'r' },
		{ "goal-ms", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'n':
			replicas = atoi(optarg);
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 'g':
			goal = strtoull(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	char tmp[] = "/tmp/tug-controllers-bench-XXXXXX";
	if (!dir && !(dir = mkdtemp(tmp))) {
		perror("mkdtemp");
		return 1;
	}
	struct err e = { 0 };
	struct store *st = NULL;
	struct store_opts so = { .dir = dir };
	struct api *api = NULL;
	if (store_open(&st, &so, &e) < 0 || loop_new(&lp) < 0) {
		fprintf(stderr, "store: %s\n", e.msg);
		return 1;
	}
	struct api_opts ao = { .store = st, .loop = lp };
	if (api_new(&api, &ao, &e) < 0 || api_bootstrap(api, NULL, &e) < 0) {
		fprintf(stderr, "api: %s\n", e.msg);
		return 1;
	}
	struct client *cl = client_local(api, lp, "system:kube-controller-manager");
	struct controllers_workloads *wl;
	struct controllers_workloads_opts o = { .which = CONTROLLERS_REPLICASET };
	if (controllers_workloads_start(cl, &o, &wl) < 0)
		return 1;
	const struct reg_kind *rsk = client_kind("apps", "replicasets");
	struct informer *pods = informer_new(cl, client_kind("", "pods"), NULL, NULL);
	struct informer_handlers h = { .add = on_pod };
	informer_add_handlers(pods, &h);
	informer_start(pods);
	while (!controllers_workloads_synced(wl) || !informer_synced(pods))
		loop_run_once(lp, 10);

	uint64_t worst = 0, total = 0;
	for (int run = 0; run < runs; run++) {
		snprintf(want_app, sizeof(want_app), "bench%d", run);
		char body[1024];
		snprintf(body, sizeof(body),
		         "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"replicas\":0,"
		         "\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},"
		         "\"template\":{\"metadata\":{\"labels\":{\"app\":\"%s\"}},"
		         "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}}",
		         want_app, want_app, want_app);
		client_create(cl, rsk, "default", cJSON_Parse(body), on_done, NULL);
		if (wait_write() < 0)
			return 1;
		/* Let the controller see the empty set before the scale. */
		for (int i = 0; i < 20; i++)
			loop_run_once(lp, 5);
		seen = 0;
		char patch[64];
		snprintf(patch, sizeof(patch), "{\"spec\":{\"replicas\":%d}}", replicas);
		uint64_t t0 = time_mono_us();
		client_merge_patch(cl, rsk, "default", want_app, NULL, cJSON_Parse(patch), on_done,
		                   NULL);
		uint64_t deadline = time_mono_ms() + 30000;
		while (seen < replicas && time_mono_ms() < deadline)
			loop_run_once(lp, 5);
		uint64_t us = time_mono_us() - t0;
		wait_write();
		if (seen < replicas) {
			fprintf(stderr, "run %d: only %d of %d pods after 30 s\n", run + 1, seen,
			        replicas);
			return 1;
		}
		printf("run %d: ReplicaSet 0 -> %d: all %d pods created in %.1f ms\n", run + 1,
		       replicas, replicas, (double)us / 1000.0);
		worst = MAX(worst, us);
		total += us;
	}
	printf("replicaset 0 -> %d: mean %.1f ms, worst %.1f ms (goal: within %llu ms) %s\n",
	       replicas, (double)total / runs / 1000.0, (double)worst / 1000.0,
	       (unsigned long long)goal, worst <= goal * 1000 ? "ok" : "MISSED");
	informer_free(pods);
	controllers_workloads_stop(wl);
	for (int i = 0; i < 50; i++)
		loop_run_once(lp, 5);
	client_free(cl);
	api_free(api);
	loop_free(lp);
	store_close(st);
	if (dir == tmp) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
		if (system(cmd) != 0)
			return 1;
	}
	return worst <= goal * 1000 ? 0 : 1;
}
