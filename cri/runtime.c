/* runtime: the node's container runtime as one component: our own supervised containerd
 * (or the one --container-runtime-endpoint names) and the CRI client to it. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_TAG "cri"
#include "core/log/log.h"
#include "cri/cri.h"

#define VERSION_RETRY_MS 2000
#define VERSION_TIMEOUT_MS 30000

struct cri_runtime {
	struct loop *loop;
	struct cri_containerd *cd;
	struct cri *client;
	char *endpoint;
	bool ready;
	struct loop_timer retry;
};

static void ask_version(struct cri_runtime *rt);

static void on_version(int code, const char *msg, const Runtime__V1__VersionResponse *resp,
                       void *arg)
{
	struct cri_runtime *rt = arg;
	if (code != GRPC_OK) {
		log_warn("runtime at %s not answering yet: %s", rt->endpoint, msg);
		loop_timer_arm(rt->loop, &rt->retry, VERSION_RETRY_MS);
		return;
	}
	rt->ready = true;
	log_info("runtime %s %s (CRI %s) ready at %s", resp->runtime_name, resp->runtime_version,
	         resp->runtime_api_version, rt->endpoint);
}

static void ask_version(struct cri_runtime *rt)
{
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	req.version = "0.1.0";
	cri_version(rt->client, &req, VERSION_TIMEOUT_MS, GRPC_WAIT_FOR_READY, on_version, rt);
}

static void on_retry(struct loop *l, struct loop_timer *t)
{
	ask_version(container_of(t, struct cri_runtime, retry));
}

/* Replaces a symlink at path with one to target. */
static int relink(const char *target, const char *path)
{
	char cur[PATH_MAX];
	ssize_t n = readlink(path, cur, sizeof(cur) - 1);
	if (n >= 0) {
		cur[n] = 0;
		if (!strcmp(cur, target))
			return 0;
	}
	unlink(path);
	return symlink(target, path) < 0 ? -errno : 0;
}

/*
 * containerd runs CNI plugins from one directory: tug-cni is this binary (multi-call by
 * argv[0]); the CRI plugin also sets up each pod's loopback with the "loopback" plugin,
 * taken from the reference plugins when they are installed.
 */
static int prepare_cni(const char *data_dir, struct err *e)
{
	_cleanup_free_ char *bin = xasprintf("%s/cni/bin", data_dir);
	_cleanup_free_ char *conf = xasprintf("%s/cni/net.d", data_dir);
	_cleanup_free_ char *tug_cni = xasprintf("%s/tug-cni", bin);
	_cleanup_free_ char *lo = xasprintf("%s/loopback", bin);
	char self[PATH_MAX];
	int r;

	if ((r = mkdir_p(bin, 0755)) < 0 || (r = mkdir_p(conf, 0755)) < 0)
		return err_set(e, r, "create %s and %s: %s", bin, conf, strerror(-r));
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return err_set(e, -errno, "find tug's own binary: %s", strerror(errno));
	self[n] = 0;
	if ((r = relink(self, tug_cni)) < 0)
		return err_set(e, r, "link %s: %s", tug_cni, strerror(-r));
	if (access("/usr/lib/cni/loopback", X_OK) == 0 &&
	    (r = relink("/usr/lib/cni/loopback", lo)) < 0)
		return err_set(e, r, "link %s: %s", lo, strerror(-r));
	return 0;
}

int cri_runtime_start(struct loop *l, const struct cri_runtime_opts *o, struct cri_runtime **out,
                      struct err *e)
{
	struct cri_runtime *rt = xcalloc(1, sizeof(*rt));
	int r;

	rt->loop = l;
	loop_timer_init(&rt->retry, on_retry);
	if (o->endpoint && o->endpoint[0]) {
		rt->endpoint = xstrdup(o->endpoint);
	} else {
		struct cri_containerd_opts co = { .data_dir = o->data_dir,
			                          .containerd = o->containerd };
		if ((r = prepare_cni(o->data_dir, e)) < 0 ||
		    (r = cri_containerd_start(l, &co, &rt->cd, e)) < 0)
			goto fail;
		rt->endpoint = xstrdup(cri_containerd_endpoint(rt->cd));
	}
	if ((r = cri_new(l, rt->endpoint, &rt->client, e)) < 0)
		goto fail;
	ask_version(rt);
	*out = rt;
	return 0;
fail:
	cri_runtime_stop(rt);
	return r;
}

void cri_runtime_stop(struct cri_runtime *rt)
{
	if (!rt)
		return;
	loop_timer_disarm(rt->loop, &rt->retry);
	/* the client first: its calls end (CANCELLED) before their runtime goes away */
	cri_free(rt->client);
	cri_containerd_stop(rt->cd);
	free(rt->endpoint);
	free(rt);
}

struct cri *cri_runtime_client(struct cri_runtime *rt)
{
	return rt->client;
}

bool cri_runtime_ready(const struct cri_runtime *rt)
{
	return rt->ready;
}
