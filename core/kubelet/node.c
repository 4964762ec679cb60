/* node: registers this machine as a Node, reports its capacity, addresses and conditions,
 * and renews its Lease in kube-node-lease, as the kubelet does. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define LOG_TAG "kubelet"
#include "core/kubelet/kubelet.h"
#include "core/log/log.h"
#include "core/obj/obj.h"

struct kubelet_node {
	struct client *c;
	char *name;
	char **ips;
	size_t nips;
	char *data_dir;
	cJSON *labels, *taints;
	bool control_plane;
	uint64_t lease_ms, status_ms;
	int port;
	char *runtime_version, *runtime_msg;
	bool runtime_ready;
	char uid[64];
	bool registered, lease_exists, busy_status, busy_lease;
	cJSON *last_status; /* what we last wrote, without heartbeat times */
	uint64_t last_status_ms;
	struct loop_timer status_timer, lease_timer;
	int pending;                   /* client calls in flight: they hold n */
	bool stopped;                  /* freed once pending drops to zero */
	void (*stopped_fn)(void *arg); /* told when freed */
	void *stopped_arg;
	/* When each condition last changed. */
	struct {
		char status[8];
		char since[32];
	} cond[4];
};

/* --- reading the machine --------------------------------------------------------------- */

static int64_t meminfo(const char *field)
{
	char *text = NULL;
	int64_t v = -1;
	if (read_file("/proc/meminfo", &text, NULL, 1 << 16) < 0)
		return -1;
	char *p = strstr(text, field);
	if (p)
		v = strtoll(p + strlen(field), NULL, 10) * 1024;
	free(text);
	return v;
}

/* A cgroup v2 or v1 memory limit on us, if any. */
static int64_t cgroup_mem_limit(void)
{
	char *text = NULL;
	int64_t v = -1;
	if (read_file("/sys/fs/cgroup/memory.max", &text, NULL, 64) == 0 ||
	    read_file("/sys/fs/cgroup/memory/memory.limit_in_bytes", &text, NULL, 64) == 0) {
		if (strncmp(text, "max", 3))
			v = strtoll(text, NULL, 10);
		free(text);
	}
	return v;
}

int kubelet_read_capacity(const char *data_dir, struct kubelet_capacity *c)
{
	memset(c, 0, sizeof(*c));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	c->cpu_milli = (cpus > 0 ? cpus : 1) * 1000;
	c->memory_bytes = meminfo("MemTotal:");
	int64_t lim = cgroup_mem_limit();
	if (lim > 0 && lim < c->memory_bytes)
		c->memory_bytes = lim;
	c->mem_available_bytes = meminfo("MemAvailable:");
	struct statvfs sv;
	if (data_dir && statvfs(data_dir, &sv) == 0) {
		c->ephemeral_bytes = (int64_t)sv.f_blocks * (int64_t)sv.f_frsize;
		c->disk_free_ratio = sv.f_blocks ? (double)sv.f_bavail / (double)sv.f_blocks : 1.0;
	}
	c->pods = 110;
	char *text = NULL;
	if (read_file("/proc/sys/kernel/pid_max", &text, NULL, 64) == 0) {
		c->pids_max = strtoll(text, NULL, 10);
		free(text);
	}
	if (read_file("/proc/loadavg", &text, NULL, 256) == 0) {
		/* "0.00 0.01 0.05 1/123 4567": running/total */
		char *slash = strchr(text, '/');
		if (slash)
			c->pids_used = strtoll(slash + 1, NULL, 10);
		free(text);
	}
	return c->memory_bytes > 0 ? 0 : -EIO;
}

static const char *arch_name(void)
{
#if defined(__aarch64__)
	return "arm64";
#elif defined(__arm__)
	return "arm";
#else
	return "amd64";
#endif
}

static char *os_image(void)
{
	char *text = NULL;
	if (read_file("/etc/os-release", &text, NULL, 1 << 16) == 0) {
		char *p = strstr(text, "PRETTY_NAME=");
		if (p) {
			p += 12;
			if (*p == '"')
				p++;
			size_t n = strcspn(p, "\"\n");
			char *s = xstrndup(p, n);
			free(text);
			return s;
		}
		free(text);
	}
	return xstrdup("Linux");
}

static char *first_line(const char *path)
{
	char *text = NULL;
	if (read_file(path, &text, NULL, 4096) < 0)
		return xstrdup("");
	text[strcspn(text, "\n")] = '\0';
	return text;
}

/* --- the objects ------------------------------------------------------------------------- */

static void fmt_qty(char *out, size_t n, int64_t bytes)
{
	/* Upstream prints memory capacity in Ki. */
	snprintf(out, n, "%lldKi", (long long)(bytes / 1024));
}

static cJSON *resources(const struct kubelet_capacity *c, bool allocatable)
{
	cJSON *r = cJSON_CreateObject();
	char buf[64];
	int64_t cpu = c->cpu_milli;
	if (cpu % 1000)
		snprintf(buf, sizeof(buf), "%lldm", (long long)cpu);
	else
		snprintf(buf, sizeof(buf), "%lld", (long long)(cpu / 1000));
	cJSON_AddStringToObject(r, "cpu", buf);
	/* Allocatable keeps the hard eviction thresholds back: 100Mi memory, 10% disk. */
	int64_t mem = c->memory_bytes - (allocatable ? 100 * 1024 * 1024 : 0);
	fmt_qty(buf, sizeof(buf), mem > 0 ? mem : 0);
	cJSON_AddStringToObject(r, "memory", buf);
	int64_t eph = allocatable ? c->ephemeral_bytes / 10 * 9 : c->ephemeral_bytes;
	if (allocatable)
		snprintf(buf, sizeof(buf), "%lld", (long long)eph);
	else
		fmt_qty(buf, sizeof(buf), eph);
	cJSON_AddStringToObject(r, "ephemeral-storage", buf);
	cJSON_AddStringToObject(r, "hugepages-1Gi", "0");
	cJSON_AddStringToObject(r, "hugepages-2Mi", "0");
	snprintf(buf, sizeof(buf), "%lld", (long long)c->pods);
	cJSON_AddStringToObject(r, "pods", buf);
	return r;
}

static const struct {
	const char *type, *ok_reason, *ok_msg, *bad_reason, *bad_msg;
	bool ok_is_true;
} conds[4] = {
	{ "MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available",
	  "KubeletHasInsufficientMemory", "kubelet has insufficient memory available", false },
	{ "DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure",
	  "KubeletHasDiskPressure", "kubelet has disk pressure", false },
	{ "PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available",
	  "KubeletHasInsufficientPID", "kubelet has insufficient PID available", false },
	{ "Ready", "KubeletReady", "kubelet is posting ready status", "KubeletNotReady",
	  "container runtime is not ready", true },
};

/* The status as it should be now; heartbeat stamps left out (added when written). */
static cJSON *build_status(struct kubelet_node *n)
{
	struct kubelet_capacity c;
	kubelet_read_capacity(n->data_dir, &c);
	cJSON *s = cJSON_CreateObject();
	cJSON_AddItemToObject(s, "capacity", resources(&c, false));
	cJSON_AddItemToObject(s, "allocatable", resources(&c, true));
	bool bad[4] = {
		c.mem_available_bytes >= 0 && c.mem_available_bytes < 100 * 1024 * 1024,
		c.disk_free_ratio<0.10, c.pids_max> 0 && c.pids_used > c.pids_max / 10 * 9,
		!n->runtime_ready,
	};
	char now[32];
	obj_time_format((int64_t)time(NULL), now);
	cJSON *cs = cJSON_AddArrayToObject(s, "conditions");
	for (int i = 0; i < 4; i++) {
		bool is_true = conds[i].ok_is_true ? !bad[i] : bad[i];
		const char *st = is_true ? "True" : "False";
		if (strcmp(n->cond[i].status, st)) {
			snprintf(n->cond[i].status, sizeof(n->cond[i].status), "%s", st);
			snprintf(n->cond[i].since, sizeof(n->cond[i].since), "%s", now);
		}
		cJSON *cd = cJSON_CreateObject();
		cJSON_AddStringToObject(cd, "type", conds[i].type);
		cJSON_AddStringToObject(cd, "status", st);
		cJSON_AddStringToObject(cd, "lastTransitionTime", n->cond[i].since);
		cJSON_AddStringToObject(cd, "reason",
		                        bad[i] ? conds[i].bad_reason : conds[i].ok_reason);
		cJSON_AddStringToObject(cd, "message",
		                        bad[i] && i == 3 && n->runtime_msg ? n->runtime_msg
		                        : bad[i]                           ? conds[i].bad_msg
		                                                           : conds[i].ok_msg);
		cJSON_AddItemToArray(cs, cd);
	}
	cJSON *addrs = cJSON_AddArrayToObject(s, "addresses");
	for (size_t i = 0; i < n->nips; i++) {
		cJSON *a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "type", "InternalIP");
		cJSON_AddStringToObject(a, "address", n->ips[i]);
		cJSON_AddItemToArray(addrs, a);
	}
	cJSON *h = cJSON_CreateObject();
	cJSON_AddStringToObject(h, "type", "Hostname");
	cJSON_AddStringToObject(h, "address", n->name);
	cJSON_AddItemToArray(addrs, h);
	cJSON *de = cJSON_AddObjectToObject(s, "daemonEndpoints");
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(de, "kubeletEndpoint"), "Port", n->port);
	struct utsname u;
	uname(&u);
	cJSON *ni = cJSON_AddObjectToObject(s, "nodeInfo");
	char *mid = first_line("/etc/machine-id"),
	     *boot = first_line("/proc/sys/kernel/random/boot_id");
	char *img = os_image(), *uuid = first_line("/sys/class/dmi/id/product_uuid");
	cJSON_AddStringToObject(ni, "machineID", mid);
	cJSON_AddStringToObject(ni, "systemUUID", uuid[0] ? uuid : mid);
	cJSON_AddStringToObject(ni, "bootID", boot);
	cJSON_AddStringToObject(ni, "kernelVersion", u.release);
	cJSON_AddStringToObject(ni, "osImage", img);
	cJSON_AddStringToObject(ni, "containerRuntimeVersion",
	                        n->runtime_version ? n->runtime_version : "");
	cJSON_AddStringToObject(ni, "kubeletVersion", "v1.32.0+tug." TUG_VERSION);
	cJSON_AddStringToObject(ni, "kubeProxyVersion", "v1.32.0+tug." TUG_VERSION);
	cJSON_AddStringToObject(ni, "operatingSystem", "linux");
	cJSON_AddStringToObject(ni, "architecture", arch_name());
	free(mid);
	free(boot);
	free(img);
	free(uuid);
	return s;
}

static cJSON *build_node(struct kubelet_node *n)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddStringToObject(o, "kind", "Node");
	cJSON *m = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(m, "name", n->name);
	cJSON_AddItemToObject(m, "labels", cJSON_Duplicate(n->labels, true));
	cJSON *ann = cJSON_AddObjectToObject(m, "annotations");
	cJSON_AddStringToObject(ann, "node.alpha.kubernetes.io/ttl", "0");
	cJSON_AddStringToObject(ann, "volumes.kubernetes.io/controller-managed-attach-detach",
	                        "true");
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	if (cJSON_GetArraySize(n->taints))
		cJSON_AddItemToObject(spec, "taints", cJSON_Duplicate(n->taints, true));
	cJSON_AddItemToObject(o, "status", build_status(n));
	return o;
}

static void node_free(struct kubelet_node *n);

/* Every client callback starts with this: false when the node was stopped meanwhile. */
static bool settle(struct kubelet_node *n)
{
	n->pending--;
	if (n->stopped) {
		if (!n->pending)
			node_free(n);
		return false;
	}
	return true;
}

/* --- status updates -------------------------------------------------------------------- */

static void stamp_heartbeats(cJSON *status)
{
	char now[32];
	obj_time_format((int64_t)time(NULL), now);
	cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(status, "conditions"))
	    cJSON_AddStringToObject(c, "lastHeartbeatTime", now);
}

static void on_status_done(void *arg, int code, const char *msg, cJSON *obj)
{
	struct kubelet_node *n = arg;
	if (!settle(n))
		return;
	n->busy_status = false;
	if (code != 200) {
		log_warn("node %s: status update: %d %s", n->name, code, msg);
		cJSON_Delete(n->last_status);
		n->last_status = NULL; /* write again next time */
		if (code == 404)
			n->registered = false; /* someone deleted the Node: register again */
	}
}

static void register_node(struct kubelet_node *n);

static void update_status(struct kubelet_node *n, bool force)
{
	if (!n->registered) {
		register_node(n);
		return;
	}
	if (n->busy_status)
		return;
	cJSON *st = build_status(n);
	uint64_t now = time_mono_ms();
	bool same = n->last_status && obj_equal(st, n->last_status);
	if (same && !force && now - n->last_status_ms < n->status_ms) {
		cJSON_Delete(st);
		return;
	}
	cJSON_Delete(n->last_status);
	n->last_status = cJSON_Duplicate(st, true);
	n->last_status_ms = now;
	stamp_heartbeats(st);
	cJSON *patch = cJSON_CreateObject();
	cJSON_AddItemToObject(patch, "status", st);
	n->busy_status = true;
	n->pending++;
	client_merge_patch(n->c, client_kind("", "nodes"), NULL, n->name, "status", patch,
	                   on_status_done, n);
}

static void on_status_timer(struct loop *l, struct loop_timer *t)
{
	struct kubelet_node *n = container_of(t, struct kubelet_node, status_timer);
	/* Look every 10 s for changes; write when something changed or a minute passed. */
	update_status(n, false);
	loop_timer_arm(l, t, MIN(n->status_ms, (uint64_t)10000));
}

/* --- registration ------------------------------------------------------------------------ */

static void on_registered(void *arg, int code, const char *msg, cJSON *obj)
{
	struct kubelet_node *n = arg;
	if (!settle(n))
		return;
	n->busy_status = false;
	if (code == 201 || code == 200) {
		const char *uid = obj_get_str(obj, "metadata.uid");
		snprintf(n->uid, sizeof(n->uid), "%s", uid ? uid : "");
		n->registered = true;
		log_info("node %s registered", n->name);
		update_status(n, true);
		return;
	}
	if (code == 409) {
		/* It exists (a restart): take it over, keeping labels others added. */
		cJSON *cur = client_get(n->c, client_kind("", "nodes"), NULL, n->name);
		if (cur) {
			const char *uid = obj_get_str(cur, "metadata.uid");
			snprintf(n->uid, sizeof(n->uid), "%s", uid ? uid : "");
			cJSON_Delete(cur);
			n->registered = true;
			cJSON *patch = cJSON_CreateObject();
			cJSON *m = cJSON_AddObjectToObject(patch, "metadata");
			cJSON_AddItemToObject(m, "labels", cJSON_Duplicate(n->labels, true));
			client_merge_patch(n->c, client_kind("", "nodes"), NULL, n->name, NULL,
			                   patch, NULL, NULL);
			update_status(n, true);
			return;
		}
	}
	log_warn("node %s: register: %d %s (retrying)", n->name, code, msg);
}

static void register_node(struct kubelet_node *n)
{
	if (n->busy_status)
		return;
	n->busy_status = true;
	n->pending++;
	client_create(n->c, client_kind("", "nodes"), NULL, build_node(n), on_registered, n);
}

/* --- lease ----------------------------------------------------------------------------- */

static cJSON *lease_spec(struct kubelet_node *n)
{
	char now[40];
	obj_microtime_format((int64_t)(time_real_ms() * 1000), now);
	cJSON *spec = cJSON_CreateObject();
	cJSON_AddStringToObject(spec, "holderIdentity", n->name);
	cJSON_AddNumberToObject(spec, "leaseDurationSeconds", 40);
	cJSON_AddStringToObject(spec, "renewTime", now);
	return spec;
}

static void on_lease_done(void *arg, int code, const char *msg, cJSON *obj)
{
	struct kubelet_node *n = arg;
	if (!settle(n))
		return;
	n->busy_lease = false;
	if (code == 200 || code == 201) {
		n->lease_exists = true;
		return;
	}
	if (code == 404 || code == 409)
		n->lease_exists = code == 409;
	else
		log_warn("node %s: lease: %d %s", n->name, code, msg);
}

static void renew_lease(struct kubelet_node *n)
{
	const struct reg_kind *k = client_kind("coordination.k8s.io", "leases");
	if (n->busy_lease || !k || !n->registered)
		return;
	n->busy_lease = true;
	n->pending++;
	if (n->lease_exists) {
		cJSON *patch = cJSON_CreateObject();
		cJSON_AddItemToObject(patch, "spec", lease_spec(n));
		client_merge_patch(n->c, k, "kube-node-lease", n->name, NULL, patch, on_lease_done,
		                   n);
		return;
	}
	cJSON *l = cJSON_CreateObject();
	cJSON_AddStringToObject(l, "apiVersion", "coordination.k8s.io/v1");
	cJSON_AddStringToObject(l, "kind", "Lease");
	cJSON *m = cJSON_AddObjectToObject(l, "metadata");
	cJSON_AddStringToObject(m, "name", n->name);
	cJSON_AddStringToObject(m, "namespace", "kube-node-lease");
	cJSON *ors = cJSON_AddArrayToObject(m, "ownerReferences");
	cJSON *ref = cJSON_CreateObject();
	cJSON_AddStringToObject(ref, "apiVersion", "v1");
	cJSON_AddStringToObject(ref, "kind", "Node");
	cJSON_AddStringToObject(ref, "name", n->name);
	cJSON_AddStringToObject(ref, "uid", n->uid);
	cJSON_AddItemToArray(ors, ref);
	cJSON_AddItemToObject(l, "spec", lease_spec(n));
	client_create(n->c, k, "kube-node-lease", l, on_lease_done, n);
}

static void on_lease_timer(struct loop *l, struct loop_timer *t)
{
	struct kubelet_node *n = container_of(t, struct kubelet_node, lease_timer);
	renew_lease(n);
	loop_timer_arm(l, t, n->lease_ms);
}

/* --- public ---------------------------------------------------------------------------- */

static void add_label(cJSON *labels, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq)
		return;
	char *k = xstrndup(kv, (size_t)(eq - kv));
	cJSON_DeleteItemFromObjectCaseSensitive(labels, k);
	cJSON_AddStringToObject(labels, k, eq + 1);
	free(k);
}

/* "key=value:Effect" or "key:Effect" into a taint object; NULL if malformed. */
static cJSON *parse_taint(const char *s)
{
	const char *colon = strrchr(s, ':');
	if (!colon || !colon[1])
		return NULL;
	const char *eff = colon + 1;
	if (strcmp(eff, "NoSchedule") && strcmp(eff, "PreferNoSchedule") &&
	    strcmp(eff, "NoExecute"))
		return NULL;
	char *kv = xstrndup(s, (size_t)(colon - s));
	char *eq = strchr(kv, '=');
	cJSON *t = cJSON_CreateObject();
	if (eq) {
		*eq = '\0';
		cJSON_AddStringToObject(t, "value", eq + 1);
	}
	cJSON_AddStringToObject(t, "key", kv);
	cJSON_AddStringToObject(t, "effect", eff);
	free(kv);
	return t;
}

int kubelet_node_start(struct client *c, const struct kubelet_node_opts *o,
                       struct kubelet_node **out, struct err *e)
{
	struct kubelet_node *n = xcalloc(1, sizeof(*n));
	char host[256] = "localhost";
	n->c = c;
	if (o->name && *o->name) {
		n->name = xstrdup(o->name);
	} else {
		gethostname(host, sizeof(host) - 1);
		for (char *p = host; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		n->name = xstrdup(host);
	}
	if (o->nips) {
		n->ips = xcalloc(o->nips, sizeof(char *));
		for (size_t i = 0; i < o->nips; i++)
			n->ips[i] = xstrdup(o->ips[i]);
		n->nips = o->nips;
	} else {
		n->ips = xcalloc(1, sizeof(char *));
		n->ips[0] = net_default_ipv4();
		n->nips = 1;
	}
	n->data_dir = xstrdup(o->data_dir ? o->data_dir : "/");
	n->lease_ms = o->lease_ms ? o->lease_ms : 10000;
	n->status_ms = o->status_ms ? o->status_ms : 60000;
	n->port = o->kubelet_port ? o->kubelet_port : 10250;
	n->runtime_version = o->runtime_version ? xstrdup(o->runtime_version) : NULL;
	n->labels = cJSON_CreateObject();
	cJSON_AddStringToObject(n->labels, "kubernetes.io/hostname", n->name);
	cJSON_AddStringToObject(n->labels, "kubernetes.io/os", "linux");
	cJSON_AddStringToObject(n->labels, "kubernetes.io/arch", arch_name());
	cJSON_AddStringToObject(n->labels, "beta.kubernetes.io/os", "linux");
	cJSON_AddStringToObject(n->labels, "beta.kubernetes.io/arch", arch_name());
	cJSON_AddStringToObject(n->labels, "node.kubernetes.io/instance-type", "tug");
	if (o->control_plane) {
		cJSON_AddStringToObject(n->labels, "node-role.kubernetes.io/control-plane", "true");
		cJSON_AddStringToObject(n->labels, "node-role.kubernetes.io/master", "true");
	}
	for (size_t i = 0; i < o->nlabels; i++)
		add_label(n->labels, o->labels[i]);
	n->taints = cJSON_CreateArray();
	for (size_t i = 0; i < o->ntaints; i++) {
		cJSON *t = parse_taint(o->taints[i]);
		if (!t) {
			kubelet_node_stop(n);
			return err_set(e, -EINVAL,
			               "--node-taint: '%s' is not key=value:Effect (NoSchedule, "
			               "PreferNoSchedule or NoExecute)",
			               o->taints[i]);
		}
		cJSON_AddItemToArray(n->taints, t);
	}
	loop_timer_init(&n->status_timer, on_status_timer);
	loop_timer_init(&n->lease_timer, on_lease_timer);
	register_node(n);
	loop_timer_arm(client_loop(c), &n->status_timer, 10000);
	loop_timer_arm(client_loop(c), &n->lease_timer, 200);
	*out = n;
	return 0;
}

void kubelet_node_set_runtime(struct kubelet_node *n, bool ready, const char *version,
                              const char *message)
{
	bool changed = n->runtime_ready != ready;
	n->runtime_ready = ready;
	if (version && (!n->runtime_version || strcmp(version, n->runtime_version))) {
		free(n->runtime_version);
		n->runtime_version = xstrdup(version);
		changed = true;
	}
	free(n->runtime_msg);
	n->runtime_msg = message ? xstrdup(message) : NULL;
	if (changed)
		update_status(n, true);
}

const char *kubelet_node_name(const struct kubelet_node *n)
{
	return n->name;
}

void kubelet_node_shutdown(struct kubelet_node *n, void (*done)(void *arg), void *arg)
{
	if (!n) {
		if (done)
			done(arg);
		return;
	}
	n->stopped_fn = done;
	n->stopped_arg = arg;
	kubelet_node_stop(n);
}

void kubelet_node_stop(struct kubelet_node *n)
{
	if (!n)
		return;
	loop_timer_disarm(client_loop(n->c), &n->status_timer);
	loop_timer_disarm(client_loop(n->c), &n->lease_timer);
	n->stopped = true;
	if (!n->pending)
		node_free(n);
}

static void node_free(struct kubelet_node *n)
{
	for (size_t i = 0; i < n->nips; i++)
		free(n->ips[i]);
	free(n->ips);
	free(n->name);
	free(n->data_dir);
	free(n->runtime_version);
	free(n->runtime_msg);
	cJSON_Delete(n->labels);
	cJSON_Delete(n->taints);
	cJSON_Delete(n->last_status);
	void (*done)(void *) = n->stopped_fn;
	void *arg = n->stopped_arg;
	free(n);
	if (done)
		done(arg);
}
