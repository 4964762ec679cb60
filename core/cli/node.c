/* node: starts the components of a server or agent on one event loop and stops them
 * in reverse order on SIGTERM. Components register here, at the seams, by Kconfig. */
#include <ctype.h>
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
#ifdef NODE_SERVES_API
#include "core/client/client.h"
#include "core/kubelet/kubelet.h"
#define NODE_RUNS_KUBELET 1
#endif
#endif
#if defined(NODE_SERVES_API) && defined(CONFIG_TUG_CNI)
#include "net/routes/routes.h"
#define NODE_RUNS_ROUTES 1
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
#ifdef NODE_RUNS_KUBELET
	struct client *kclient;
	struct kubelet_node *knode;
	struct kubelet *kubelet;
#endif
#ifdef NODE_RUNS_ROUTES
	struct client *routes_client;
	struct routes_watch *routes;
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

#ifdef NODE_RUNS_KUBELET
/* The kubelet's writes have landed: now the API server may go. */
static void on_kubelet_stopped(void *arg)
{
	struct node *n = arg;
	n->knode = NULL; /* freed by the kubelet's shutdown */
	if (n->serve)
		serve_shutdown(n->serve, API_SHUTDOWN_MS, on_api_stopped, n);
	else
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
#ifdef NODE_RUNS_KUBELET
		/* Pods keep running (as with any kubelet restart); what the kubelet was writing
		 * lands first. */
		if (n->kubelet) {
			kubelet_shutdown(n->kubelet, on_kubelet_stopped, n);
			return;
		}
#endif
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
		                        .node_monitor_period_ms = c->node_monitor_period_ms,
		                        .node_monitor_grace_ms = c->node_monitor_grace_ms,
		                        .root_ca_pem = serve_ca_pem(n->serve) };
	if ((rc = ctrl_cluster_start(n->ctrl_client, &co, &n->cluster_ctrls, &e)) < 0) {
		log_error("%s", e.msg);
		return rc;
	}
	/* The workload controllers watch through the same informers: one cache per kind. */
	struct controllers_workloads_opts wo = { .informers =
		                                     ctrl_cluster_informers(n->cluster_ctrls) };
	return controllers_workloads_start(n->ctrl_client, &wo, &n->workload_ctrls);
}
#endif

#if defined(NODE_RUNS_KUBELET) || defined(NODE_RUNS_ROUTES)
/* The node's name as the kubelet registers it: --node-name, else the host name in lower case. */
static char *node_name(const struct tug_config *c)
{
	char host[256] = "localhost";
	if (c->node_name && *c->node_name)
		return xstrdup(c->node_name);
	gethostname(host, sizeof(host) - 1);
	for (char *p = host; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return xstrdup(host);
}
#endif

#ifdef NODE_RUNS_KUBELET

/* The Node object and its Lease, then the pods bound to it; pods/log served by it. */
static int start_kubelet(struct node *n)
{
	struct tug_config *c = n->cfg;
	struct err e = { 0 };
	char *name = node_name(c);
	char *user = xasprintf("system:node:%s", name);
	n->kclient = client_local(n->api, n->loop, user);
	free(user);
	struct kubelet_node_opts no = { .name = name,
		                        .ips = (const char *const *)c->node_ip.v,
		                        .nips = c->node_ip.n,
		                        .labels = (const char *const *)c->node_label.v,
		                        .nlabels = c->node_label.n,
		                        .taints = (const char *const *)c->node_taint.v,
		                        .ntaints = c->node_taint.n,
		                        .control_plane = n->server,
		                        .data_dir = c->data_dir,
		                        .lease_ms = c->node_lease_ms };
	int rc = kubelet_node_start(n->kclient, &no, &n->knode, &e);
	if (rc == 0) {
		struct kubelet_opts ko = { .client = n->kclient,
			                   .runtime = n->runtime,
			                   .node = n->knode,
			                   .node_name = name,
			                   .node_ip = c->node_ip.n ? c->node_ip.v[0] : NULL,
			                   .data_dir = c->data_dir,
			                   .cluster_dns = c->cluster_dns,
			                   .cluster_domain = c->cluster_domain,
			                   .cni_bridge = c->cni_bridge,
			                   .cluster_cidr = c->cluster_cidr };
		rc = kubelet_start(&ko, &n->kubelet, &e);
		if (rc == 0)
			api_set_pod_log(n->api, kubelet_serve_log, n->kubelet);
	}
	free(name);
	if (rc < 0)
		log_error("%s", e.msg);
	return rc;
}
#endif

#ifdef NODE_RUNS_ROUTES
/* --- pod routes between nodes (net/routes): a route to every other Node's podCIDRs via
 * its InternalIP, and masquerade of pod traffic leaving the cluster CIDRs. ---------------- */
static int start_routes(struct node *n)
{
	struct tug_config *c = n->cfg;
	struct routes_conf rc = { 0 };
	struct err e = { 0 };
	_cleanup_free_ char *self = node_name(c);

	rc.self = self;
	/* --cluster-cidr: one CIDR; split on commas so a dual-stack list works once the
	 * config accepts one */
	_cleanup_free_ char *cidrs = xstrdup(c->cluster_cidr ? c->cluster_cidr : "");
	char *save = NULL;
	for (char *t = strtok_r(cidrs, ",", &save);
	     t && rc.n_cluster_cidrs < ROUTES_MAX_CLUSTER_CIDRS; t = strtok_r(NULL, ",", &save))
		rc.cluster_cidrs[rc.n_cluster_cidrs++] = t;
	rc.masquerade = rc.n_cluster_cidrs > 0;
	n->routes_client = client_local(n->api, n->loop, "system:tug-routes");
	if (routes_watch_start(n->routes_client, &rc, &n->routes, &e) < 0) {
		log_error("%s", e.msg);
		return -1;
	}
	return 0;
}

static void stop_routes(struct node *n)
{
	routes_watch_stop(n->routes);
	client_free(n->routes_client);
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
#ifdef NODE_RUNS_KUBELET
		if (server && start_kubelet(&n) < 0)
			goto out;
#endif
	}
#endif
#ifdef NODE_RUNS_ROUTES
	if (server && !cfg->disable_agent && start_routes(&n) < 0)
		goto out;
#endif
	log_info("tug %s v%s (%s) running, data in %s", server ? "server" : "agent", TUG_VERSION,
	         TUG_COMMIT, cfg->data_dir);
	if (loop_run(n.loop) < 0)
		goto out;
	rc = 0;
out:
#ifdef NODE_RUNS_ROUTES
	stop_routes(&n);
#endif
#ifdef NODE_SERVES_API
	/* connections first (log streams end), then the runtime (its calls in flight end),
	 * then the kubelet that made them */
	serve_free(n.serve);
#endif
#ifdef CONFIG_TUG_KUBELET
	cri_runtime_stop(n.runtime);
#endif
#ifdef NODE_RUNS_KUBELET
	kubelet_free(n.kubelet);
	if (n.knode)
		kubelet_node_stop(n.knode);
	client_free(n.kclient);
#endif
#ifdef NODE_SERVES_API
	controllers_workloads_stop(n.workload_ctrls);
	ctrl_cluster_stop(n.cluster_ctrls);
	client_free(n.ctrl_client);
	scheduler_stop(n.sched);
	client_free(n.sched_client);
	api_free(n.api);
#endif
	if (n.store)
		store_close(n.store);
	loop_free(n.loop);
	if (rc == 0)
		log_info("stopped");
	return rc;
}
