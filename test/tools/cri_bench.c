/* cri_bench: the floor for pod start latency: RunPodSandbox + CreateContainer +
 * StartContainer called directly on a private containerd, for 1 pod at a time and for N at
 * once, all asynchronous on one loop. Prints figures and one JSON line. */
#include "config.h"
#ifndef CONFIG_TUG_KUBELET
#include <stdio.h>
int main(void)
{
	fprintf(stderr, "built without CONFIG_TUG_KUBELET: no CRI client\n");
	return 77;
}
#else
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/loop/loop.h"
#include "core/util/util.h"
#include "cri/cri.h"

static struct {
	const char *data_dir, *endpoint, *image, *import[4], *cni_bin, *cni_conf, *pods_dir;
	int nimport, rounds, concurrent;
	bool host_network;
} opt = { .rounds = 5, .concurrent = 30 };

static struct loop *loop;
static struct cri *cri;
static struct cri_containerd *cd;

struct pod {
	int idx;
	char name[32], uid[48];
	uint64_t t0, t_sandbox, t_create, t_start; /* us */
	char *sandbox_id, *container_id;
	int failed;
	char err[256];
	bool done;
	/* request storage: the CRI call packs before returning, but the sandbox config is
	 * needed again by CreateContainer */
	Runtime__V1__PodSandboxMetadata meta;
	Runtime__V1__NamespaceOption ns;
	Runtime__V1__LinuxSandboxSecurityContext sc;
	Runtime__V1__LinuxPodSandboxConfig linux;
	Runtime__V1__PodSandboxConfig cfg;
};

static int pending;

struct imp {
	bool done;
	int code;
	char msg[600];
};

static void import_done(int code, const char *msg, const struct cri_import_stats *st, void *arg)
{
	struct imp *i = arg;
	i->done = true;
	i->code = code;
	snprintf(i->msg, sizeof(i->msg), "%s", msg);
}

/* Imports a tarball through containerd's own API, waiting on the loop. */
static int import_tar(const char *tar)
{
	struct oci_archive *a = NULL;
	struct imp i = { 0 };
	struct err e = { 0 };
	if (oci_archive_open(tar, &a, &e) < 0) {
		fprintf(stderr, "cri_bench: %s\n", e.msg);
		return -1;
	}
	if (cri_import(cri_chan(cri), a, CRI_NAMESPACE, import_done, &i) == 0)
		while (!i.done)
			loop_run_once(loop, 1000);
	oci_archive_close(a);
	if (i.code != GRPC_OK)
		fprintf(stderr, "cri_bench: %s\n", i.msg);
	return i.done && i.code == GRPC_OK ? 0 : -1;
}

static void pod_fail(struct pod *p, const char *what, const char *msg)
{
	p->failed = 1;
	snprintf(p->err, sizeof(p->err), "%s: %s", what, msg);
	p->done = true;
	pending--;
}

static void on_started(int code, const char *msg, const Runtime__V1__StartContainerResponse *r,
                       void *arg)
{
	struct pod *p = arg;
	if (code != GRPC_OK) {
		pod_fail(p, "StartContainer", msg);
		return;
	}
	p->t_start = time_mono_us();
	p->done = true;
	pending--;
}

static void on_created(int code, const char *msg, const Runtime__V1__CreateContainerResponse *r,
                       void *arg)
{
	struct pod *p = arg;
	if (code != GRPC_OK) {
		pod_fail(p, "CreateContainer", msg);
		return;
	}
	p->t_create = time_mono_us();
	p->container_id = xstrdup(r->container_id);
	Runtime__V1__StartContainerRequest req = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	req.container_id = p->container_id;
	cri_start_container(cri, &req, 60000, 0, on_started, p);
}

static void on_sandbox(int code, const char *msg, const Runtime__V1__RunPodSandboxResponse *r,
                       void *arg)
{
	struct pod *p = arg;
	if (code != GRPC_OK) {
		pod_fail(p, "RunPodSandbox", msg);
		return;
	}
	p->t_sandbox = time_mono_us();
	p->sandbox_id = xstrdup(r->pod_sandbox_id);

	Runtime__V1__ContainerMetadata meta = RUNTIME__V1__CONTAINER_METADATA__INIT;
	Runtime__V1__ImageSpec image = RUNTIME__V1__IMAGE_SPEC__INIT;
	Runtime__V1__ContainerConfig cfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
	Runtime__V1__LinuxContainerSecurityContext sc =
	    RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
	Runtime__V1__LinuxContainerConfig linux = RUNTIME__V1__LINUX_CONTAINER_CONFIG__INIT;
	Runtime__V1__CreateContainerRequest req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	char *cmd[] = { "sleep", "3600" };
	meta.name = "tcri-bench";
	image.image = (char *)opt.image;
	cfg.metadata = &meta;
	cfg.image = &image;
	cfg.command = cmd;
	cfg.n_command = 2;
	cfg.log_path = "tcri-bench.log";
	sc.namespace_options = &p->ns;
	linux.security_context = &sc;
	cfg.linux = &linux;
	req.pod_sandbox_id = p->sandbox_id;
	req.config = &cfg;
	req.sandbox_config = &p->cfg;
	cri_create_container(cri, &req, 60000, 0, on_created, p);
}

static void pod_start(struct pod *p, int idx)
{
	memset(p, 0, sizeof(*p));
	p->idx = idx;
	snprintf(p->name, sizeof(p->name), "tcri-bench-%d", idx);
	snprintf(p->uid, sizeof(p->uid), "tcri-bench-uid-%d-%d", (int)getpid(), idx);
	runtime__v1__pod_sandbox_metadata__init(&p->meta);
	runtime__v1__namespace_option__init(&p->ns);
	runtime__v1__linux_sandbox_security_context__init(&p->sc);
	runtime__v1__linux_pod_sandbox_config__init(&p->linux);
	runtime__v1__pod_sandbox_config__init(&p->cfg);
	p->meta.name = p->name;
	p->meta.uid = p->uid;
	p->meta.namespace_ = "tcri";
	p->ns.network =
	    opt.host_network ? RUNTIME__V1__NAMESPACE_MODE__NODE : RUNTIME__V1__NAMESPACE_MODE__POD;
	p->ns.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	p->sc.namespace_options = &p->ns;
	p->linux.security_context = &p->sc;
	p->cfg.metadata = &p->meta;
	p->cfg.hostname = opt.host_network ? "" : p->name;
	p->cfg.log_directory = (char *)opt.pods_dir;
	p->cfg.linux = &p->linux;
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	req.config = &p->cfg;
	p->t0 = time_mono_us();
	pending++;
	cri_run_pod_sandbox(cri, &req, 120000, 0, on_sandbox, p);
}

static void wait_pending(void)
{
	while (pending > 0)
		loop_run_once(loop, 1000);
}

static void pod_remove(struct pod *p)
{
	struct err e = { 0 };
	if (p->sandbox_id) {
		Runtime__V1__StopPodSandboxRequest s = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
		Runtime__V1__StopPodSandboxResponse *sr = NULL;
		Runtime__V1__RemovePodSandboxRequest r =
		    RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
		Runtime__V1__RemovePodSandboxResponse *rr = NULL;
		s.pod_sandbox_id = r.pod_sandbox_id = p->sandbox_id;
		if (cri_stop_pod_sandbox_wait(cri, &s, 60000, &sr, &e) < 0 ||
		    cri_remove_pod_sandbox_wait(cri, &r, 60000, &rr, &e) < 0)
			fprintf(stderr, "cri_bench: remove %s: %s\n", p->name, e.msg);
		cri_free_msg(sr);
		cri_free_msg(rr);
	}
	free(p->sandbox_id);
	free(p->container_id);
	p->sandbox_id = p->container_id = NULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double q)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	int i = (int)(q * (n - 1) + 0.5);
	return v[i];
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "data-dir", 1, NULL, 'd' },
		{ "endpoint", 1, NULL, 'E' },
		{ "image", 1, NULL, 'i' },
		{ "import", 1, NULL, 'I' },
		{ "cni-bin", 1, NULL, 'b' },
		{ "cni-conf", 1, NULL, 'c' },
		{ "pods", 1, NULL, 'p' },
		{ "rounds", 1, NULL, 'r' },
		{ "concurrent", 1, NULL, 'n' },
		{ "host-network", 0, NULL, 'H' },
		{ 0 },
	};
	int o;
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'd':
			opt.data_dir = optarg;
			break;
		case 'E':
			opt.endpoint = optarg;
			break;
		case 'i':
			opt.image = optarg;
			break;
		case 'I':
			if (opt.nimport < 4)
				opt.import[opt.nimport++] = optarg;
			break;
		case 'b':
			opt.cni_bin = optarg;
			break;
		case 'c':
			opt.cni_conf = optarg;
			break;
		case 'p':
			opt.pods_dir = optarg;
			break;
		case 'r':
			opt.rounds = atoi(optarg);
			break;
		case 'n':
			opt.concurrent = atoi(optarg);
			break;
		case 'H':
			opt.host_network = true;
			break;
		default:
			fprintf(
			    stderr,
			    "usage: cri_bench (--data-dir D | --endpoint E) --image NAME --pods "
			    "DIR\n"
			    "       [--import TAR]... [--cni-bin D --cni-conf D | --host-network]\n"
			    "       [--rounds 5] [--concurrent 30]\n");
			return 2;
		}
	}
	if ((!opt.data_dir && !opt.endpoint) || !opt.image || !opt.pods_dir || opt.rounds < 1 ||
	    opt.concurrent < 1 || opt.concurrent > 1000) {
		fprintf(stderr, "cri_bench: need --data-dir or --endpoint, --image and --pods\n");
		return 2;
	}
	struct err e = { 0 };
	int rc = 1;
	if (loop_new(&loop) < 0)
		return 1;
	const char *ep = opt.endpoint;
	if (!ep) {
		struct cri_containerd_opts co = { .data_dir = opt.data_dir,
			                          .cni_bin_dir = opt.cni_bin,
			                          .cni_conf_dir = opt.cni_conf };
		if (cri_containerd_start(loop, &co, &cd, &e) < 0) {
			fprintf(stderr, "cri_bench: %s\n", e.msg);
			goto out;
		}
		ep = cri_containerd_endpoint(cd);
	}
	if (cri_new(loop, ep, &cri, &e) < 0) {
		fprintf(stderr, "cri_bench: %s\n", e.msg);
		goto out;
	}
	/* wait for the runtime */
	{
		Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
		Runtime__V1__VersionResponse *resp = NULL;
		uint64_t end = time_mono_ms() + 30000;
		while (grpc_unary_sync(cri_chan(cri), "/runtime.v1.RuntimeService/Version",
		                       &req.base, &runtime__v1__version_response__descriptor, 5000,
		                       GRPC_WAIT_FOR_READY, (ProtobufCMessage **)&resp, NULL,
		                       &e) < 0) {
			if (time_mono_ms() > end) {
				fprintf(stderr, "cri_bench: %s\n", e.msg);
				goto out;
			}
		}
		printf("# runtime %s %s\n", resp->runtime_name, resp->runtime_version);
		cri_free_msg(resp);
	}
	for (int i = 0; i < opt.nimport; i++)
		if (import_tar(opt.import[i]) < 0)
			goto out;
	/* the CRI plugin learns of imported images from containerd's events */
	for (uint64_t end = time_mono_ms() + 10000; time_mono_ms() < end;) {
		Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
		Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
		Runtime__V1__ImageStatusResponse *resp = NULL;
		spec.image = (char *)opt.image;
		req.image = &spec;
		bool have = cri_image_status_wait(cri, &req, 5000, &resp, &e) == 0 && resp->image;
		cri_free_msg(resp);
		if (have)
			break;
		loop_run_once(loop, 100);
	}

	/* one pod at a time: the first round warms caches (image unpack, CNI), not counted */
	int n1 = opt.rounds;
	double *sb = xcalloc((size_t)n1, sizeof(double)), *cr = xcalloc((size_t)n1, sizeof(double)),
	       *st = xcalloc((size_t)n1, sizeof(double)),
	       *tot = xcalloc((size_t)n1, sizeof(double));
	int fails = 0;
	for (int i = -1; i < n1; i++) {
		struct pod p;
		pod_start(&p, 1000 + i + 1);
		wait_pending();
		if (p.failed) {
			fprintf(stderr, "cri_bench: pod %s: %s\n", p.name, p.err);
			fails++;
		} else if (i >= 0) {
			sb[i] = (double)(p.t_sandbox - p.t0) / 1000;
			cr[i] = (double)(p.t_create - p.t_sandbox) / 1000;
			st[i] = (double)(p.t_start - p.t_create) / 1000;
			tot[i] = (double)(p.t_start - p.t0) / 1000;
		}
		pod_remove(&p);
	}
	double sb50 = pct(sb, n1, 0.5), cr50 = pct(cr, n1, 0.5), st50 = pct(st, n1, 0.5),
	       tot50 = pct(tot, n1, 0.5);
	printf("1 pod (median of %d): RunPodSandbox %.1f ms, CreateContainer %.1f ms, "
	       "StartContainer %.1f ms, total %.1f ms\n",
	       n1, sb50, cr50, st50, tot50);

	/* N at once */
	int n = opt.concurrent;
	struct pod *pods = xcalloc((size_t)n, sizeof(*pods));
	double *lat = xcalloc((size_t)n, sizeof(double));
	uint64_t t0 = time_mono_us();
	for (int i = 0; i < n; i++)
		pod_start(&pods[i], i);
	wait_pending();
	double wall = (double)(time_mono_us() - t0) / 1000;
	int ok = 0;
	for (int i = 0; i < n; i++) {
		if (pods[i].failed) {
			fprintf(stderr, "cri_bench: pod %s: %s\n", pods[i].name, pods[i].err);
			fails++;
			continue;
		}
		lat[ok++] = (double)(pods[i].t_start - t0) / 1000;
	}
	double p50 = ok ? pct(lat, ok, 0.5) : 0, p90 = ok ? pct(lat, ok, 0.9) : 0,
	       pmax = ok ? lat[ok - 1] : 0;
	printf("%d pods at once: started %d, p50 %.0f ms, p90 %.0f ms, max %.0f ms, wall %.0f ms\n",
	       n, ok, p50, p90, pmax, wall);
	for (int i = 0; i < n; i++)
		pod_remove(&pods[i]);
	printf(
	    "{\"bench\":\"cri_floor\",\"network\":\"%s\",\"one_pod_ms\":{\"run_pod_sandbox\":%.1f,"
	    "\"create_container\":%.1f,\"start_container\":%.1f,\"total\":%.1f},"
	    "\"concurrent\":{\"pods\":%d,\"started\":%d,\"p50_ms\":%.0f,\"p90_ms\":%.0f,"
	    "\"max_ms\":%.0f,\"wall_ms\":%.0f},\"failures\":%d}\n",
	    opt.host_network ? "host" : "cni-bridge", sb50, cr50, st50, tot50, n, ok, p50, p90,
	    pmax, wall, fails);
	free(sb);
	free(cr);
	free(st);
	free(tot);
	free(pods);
	free(lat);
	rc = fails ? 1 : 0;
out:
	cri_free(cri);
	cri_containerd_stop(cd);
	loop_free(loop);
	return rc;
}
#endif
