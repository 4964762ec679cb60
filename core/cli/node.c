/* node: starts the components of a server or agent on one event loop and stops them
 * in reverse order on SIGTERM. Components register here, at the seams, by Kconfig. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "core/cli/node.h"
#if defined(CONFIG_TUG_CONTROL_PLANE) && defined(CONFIG_TUG_TLS)
#include "core/api/api.h"
#include "core/auth/auth.h"
#include "core/cli/serve.h"
#include "core/client/client.h"
#include "core/controllers/controllers.h"
#include "core/scheduler/scheduler.h"
#define NODE_SERVES_API 1
#endif
#define LOG_TAG "tug"
#include "core/log/log.h"
#include "core/loop/loop.h"
#include "core/store/store.h"
#ifdef CONFIG_TUG_KUBELET
#include "cri/cri.h"
#endif

/* Kinds whose churn would wear flash; they live on tmpfs when --volatile-dir is set. */
static const char *const volatile_prefixes[] = {
	"/registry/coordination.k8s.io/leases/",
	"/registry/core/events/",
	NULL,
};

struct node {
	struct tug_config *cfg;
	struct loop *loop;
	struct store *store;
	struct serve *serve;
#ifdef NODE_SERVES_API
	struct api *api;
	struct client *sched_client, *ctrl_client;
	struct scheduler *sched;
	struct ctrl_cluster *cluster_ctrls;
	struct controllers_workloads *workload_ctrls;
#endif
#ifdef CONFIG_TUG_KUBELET
	struct cri_runtime *runtime;
#endif
	bool server, stopping;
};

#ifdef NODE_SERVES_API
/* How long clients get to finish requests when the server stops (watches end at once). */
#define API_SHUTDOWN_MS 5000

static void on_api_stopped(void *arg)
{
	struct node *n = arg;
	loop_stop(n->loop);
}
#endif

/* First signal: stop gracefully; a second one stops at once. */
static void on_stop_signal(struct loop *l, int signo, void *arg)
{
	log_info("%s: shutting down", strsignal(signo));
#ifdef NODE_SERVES_API
	struct node *n = arg;
	if (n->serve && !n->stopping) {
		n->stopping = true;
		serve_shutdown(n->serve, API_SHUTDOWN_MS, on_api_stopped, n);
		return;
	}
#endif
	loop_stop(l);
}

static int open_store(struct node *n)
{
	struct tug_config *c = n->cfg;
	struct store_opts o = { 0 };
	struct err e = { 0 };
	char dir[4096], vdir[4096];

	snprintf(dir, sizeof(dir), "%s/db", c->data_dir);
	o.dir = dir;
	if (c->volatile_dir && c->volatile_dir[0]) {
		snprintf(vdir, sizeof(vdir), "%s/db", c->volatile_dir);
		o.volatile_dir = vdir;
		o.volatile_prefixes = volatile_prefixes;
	}
	o.checkpoint_ms = c->store_checkpoint_ms;
	o.retention_ms = c->store_retention_ms;
	o.retention_revisions = c->store_retention_revisions;
	if (store_open(&n->store, &o, &e) < 0) {
		log_error("%s", e.msg);
		return -1;
	}
	log_info("store %s at revision %llu%s%s", dir, (unsigned long long)store_rev(n->store),
	         o.volatile_dir ? ", volatile kinds in " : "",
	         o.volatile_dir ? o.volatile_dir : "");
	return 0;
}

#ifdef NODE_SERVES_API
/* <data-dir>/server/admin-token: made once (0600), a bearer token for system:admin. */
static char *admin_token(const char *data_dir)
{
	char path[4200], dir[4096], *text = NULL;
	snprintf(dir, sizeof(dir), "%s/server", data_dir);
	snprintf(path, sizeof(path), "%s/admin-token", dir);
	if (read_file(path, &text, NULL, 4096) == 0) {
		text[strcspn(text, "\r\n")] = '\0';
		if (strlen(text) >= 32)
			return text;
		free(text);
	}
	uint8_t raw[24];
	char hex[49];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	close(fd);
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	if (mkdir_p(dir, 0700) < 0 || write_file_atomic(path, hex, strlen(hex), 0600) < 0)
		log_warn("cannot write %s: bearer-token login is off", path);
	return xstrdup(hex);
}

/* Whether --disable names this component. */
static bool disabled(const struct tug_config *c, const char *name)
{
	for (size_t i = 0; i < c->disable.n; i++)
		if (!strcmp(c->disable.v[i], name))
			return true;
	return false;
}

/* The API engine over the store, the HTTPS listener, then what every cluster starts with. */
static int start_api(struct node *n)
{
	struct tug_config *c = n->cfg;
	struct err e = { 0 };
	char *ip = NULL;
	const char *adv = c->advertise_address;
	if (!adv || !*adv)
		adv = c->node_ip.n ? c->node_ip.v[0] : (ip = net_default_ipv4());
	char *token = admin_token(c->data_dir);
	struct api_opts ao = { .store = n->store,
		               .loop = n->loop,
		               .service_cidr = c->service_cidr,
		               .advertise_ip = adv,
		               .https_port = (int)c->https_listen_port,
		               .admin_token = token };
	int rc = api_new(&n->api, &ao, &e);
	free(ip);
	free(token);
	if (rc < 0) {
		log_error("%s", e.msg);
		return rc;
	}
	if ((rc = serve_start(n->loop, c, n->api, &n->serve)) < 0)
		return rc;
	char *ci = auth_cluster_kubeconfig(serve_url(n->serve), serve_ca_pem(n->serve));
	rc = api_bootstrap(n->api, ci, &e);
	free(ci);
	if (rc < 0) {
		log_error("%s", e.msg);
		return rc;
	}
	/* The control plane's components, each with its own in-process client, unless
	 * --disable leaves them off. */
	if (!disabled(c, "scheduler")) {
		n->sched_client = client_local(n->api, n->loop, "system:kube-scheduler");
		if ((rc = scheduler_start(n->sched_client, NULL, &n->sched)) < 0)
			return rc;
	}
	if (disabled(c, "controllers"))
		return 0;
	n->ctrl_client = client_local(n->api, n->loop, "system:kube-controller-manager");
	struct ctrl_cluster_opts co = { .cluster_cidr = c->cluster_cidr,
		                        .root_ca_pem = serve_ca_pem(n->serve) };
	if ((rc = ctrl_cluster_start(n->ctrl_client, &co, &n->cluster_ctrls, &e)) < 0) {
		log_error("%s", e.msg);
		return rc;
	}
	struct controllers_workloads_opts wo = { 0 };
	return controllers_workloads_start(n->ctrl_client, &wo, &n->workload_ctrls);
}
#endif

int node_run(struct tug_config *cfg, bool server)
{
	struct node n = { .cfg = cfg, .server = server };
	int rc = 1, r;

	if ((r = mkdir_p(cfg->data_dir, 0700)) < 0) {
		log_error("create data dir %s: %s", cfg->data_dir, strerror(-r));
		return 1;
	}
	if ((r = loop_new(&n.loop)) < 0) {
		log_error("start event loop: %s", strerror(-r));
		return 1;
	}
	loop_on_signal(n.loop, SIGTERM, on_stop_signal, &n);
	loop_on_signal(n.loop, SIGINT, on_stop_signal, &n);
	if (open_store(&n) < 0)
		goto out;
#ifdef NODE_SERVES_API
	if (server && start_api(&n) < 0)
		goto out;
#endif
#ifdef CONFIG_TUG_KUBELET
	/* The node half: containerd (ours, or --container-runtime-endpoint) and CRI. */
	if (!(server && cfg->disable_agent)) {
		struct cri_runtime_opts ro = { .data_dir = cfg->data_dir,
			                       .endpoint = cfg->container_runtime_endpoint };
		struct err e = { 0 };
		if (cri_runtime_start(n.loop, &ro, &n.runtime, &e) < 0) {
			log_error("%s", e.msg);
			goto out;
		}
	}
#endif
	log_info("tug %s v%s (%s) running, data in %s", server ? "server" : "agent", TUG_VERSION,
	         TUG_COMMIT, cfg->data_dir);
	if (loop_run(n.loop) < 0)
		goto out;
	rc = 0;
out:
#ifdef CONFIG_TUG_KUBELET
	cri_runtime_stop(n.runtime);
#endif
#ifdef NODE_SERVES_API
	controllers_workloads_stop(n.workload_ctrls);
	ctrl_cluster_stop(n.cluster_ctrls);
	client_free(n.ctrl_client);
	scheduler_stop(n.sched);
	client_free(n.sched_client);
	serve_free(n.serve);
	api_free(n.api);
#endif
	if (n.store)
		store_close(n.store);
	loop_free(n.loop);
	if (rc == 0)
		log_info("stopped");
	return rc;
}
