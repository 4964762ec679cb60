/* probe: liveness, readiness and startup probes (exec through CRI ExecSync, httpGet and
 * tcpSocket from the node to the pod, all non-blocking on the loop) with upstream's timing
 * and thresholds, startup gating the other two; and lifecycle hooks (postStart, preStop). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOG_TAG "kubelet"
#include "core/kubelet/kubelet-internal.h"
#include "core/log/log.h"
#include "core/obj/obj.h"

/* --- a one-shot TCP connect or HTTP GET -------------------------------------------------- */

typedef void (*net_fn)(void *arg, bool ok, const char *msg);

struct net {
	struct loop *loop;
	int fd;
	struct loop_timer timer;
	struct buf req, resp;
	size_t sent;
	bool http, connected, done;
	char what[160];
	net_fn fn;
	void *arg;
};

static void net_free(struct net *n)
{
	if (n->fd >= 0) {
		loop_del_fd(n->loop, n->fd);
		close(n->fd);
	}
	loop_timer_disarm(n->loop, &n->timer);
	buf_free(&n->req);
	buf_free(&n->resp);
	free(n);
}

static void net_finish(struct net *n, bool ok, const char *msg)
{
	net_fn fn = n->fn;
	void *arg = n->arg;
	net_free(n);
	fn(arg, ok, msg);
}

static void on_net_timer(struct loop *l, struct loop_timer *t)
{
	struct net *n = container_of(t, struct net, timer);
	char msg[300];
	if (n->done) { /* a failure found at start, reported from the loop */
		net_finish(n, false, n->what);
		return;
	}
	snprintf(msg, sizeof(msg), "%s: %s", n->what,
	         n->connected ? "context deadline exceeded (Client.Timeout exceeded while "
	                        "awaiting headers)"
	                      : "i/o timeout");
	net_finish(n, false, msg);
}

static void on_net_fd(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct net *n = arg;
	char msg[400];
	if (!n->connected) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			snprintf(msg, sizeof(msg), "%s: connect: %s", n->what, strerror(err));
			net_finish(n, false, msg);
			return;
		}
		n->connected = true;
		if (!n->http) {
			net_finish(n, true, "");
			return;
		}
	}
	if (n->sent < n->req.len) {
		ssize_t w = send(fd, n->req.data + n->sent, n->req.len - n->sent, MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(msg, sizeof(msg), "%s: write: %s", n->what, strerror(errno));
			net_finish(n, false, msg);
			return;
		}
		if (w > 0)
			n->sent += (size_t)w;
		if (n->sent == n->req.len)
			loop_mod_fd(l, fd, EPOLLIN);
		return;
	}
	char b[4096];
	ssize_t r = recv(fd, b, sizeof(b), 0);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r > 0 && n->resp.len < 10240)
		buf_add(&n->resp, b, (size_t)r);
	const char *eol = n->resp.data ? strstr(n->resp.data, "\r\n") : NULL;
	if (!eol && r > 0 && n->resp.len < 10240)
		return;
	int code = 0;
	if (n->resp.data && (sscanf(n->resp.data, "HTTP/%*d.%*d %d", &code) == 1)) {
		if (code >= 200 && code < 400) {
			net_finish(n, true, "");
			return;
		}
		snprintf(msg, sizeof(msg), "HTTP probe failed with statuscode: %d", code);
		net_finish(n, false, msg);
		return;
	}
	snprintf(msg, sizeof(msg), "%s: %s", n->what,
	         r == 0  ? "EOF"
	         : r < 0 ? strerror(errno)
	                 : "malformed HTTP response");
	net_finish(n, false, msg);
}

/* Connects to host:port (and with request, sends it and reads the status line). fn runs
 * once, from the loop. Returns the handle, for cancelling. */
static struct net *net_start(struct loop *l, const char *host, int port, const char *request,
                             const char *what, uint64_t timeout_ms, net_fn fn, void *arg)
{
	struct net *n = xcalloc(1, sizeof(*n));
	n->loop = l;
	n->fd = -1;
	n->fn = fn;
	n->arg = arg;
	n->http = request != NULL;
	snprintf(n->what, sizeof(n->what), "%s", what);
	loop_timer_init(&n->timer, on_net_timer);
	if (request)
		buf_adds(&n->req, request);
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (host && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		sl = sizeof(*s4);
	} else if (host && inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*s6);
	} else {
		snprintf(n->what, sizeof(n->what), "%.60s: no address to probe (host \"%.60s\")",
		         what, host ? host : "");
		n->done = true;
		loop_timer_arm(l, &n->timer, 0);
		return n;
	}
	n->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (n->fd < 0 || (connect(n->fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS)) {
		snprintf(n->what + strlen(n->what), sizeof(n->what) - strlen(n->what),
		         ": connect: %s", strerror(errno));
		if (n->fd >= 0)
			close(n->fd);
		n->fd = -1;
		n->done = true;
		loop_timer_arm(l, &n->timer, 0);
		return n;
	}
	loop_add_fd(l, n->fd, EPOLLOUT, on_net_fd, n);
	loop_timer_arm(l, &n->timer, timeout_ms);
	return n;
}

/* --- probe handlers ---------------------------------------------------------------------- */

/* A named port ("http") of the container, or the number itself. */
static int resolve_port(const cJSON *cspec, const cJSON *port)
{
	if (cJSON_IsNumber(port))
		return (int)port->valuedouble;
	if (!cJSON_IsString(port))
		return -1;
	uint64_t v;
	if (parse_u64(port->valuestring, &v))
		return v < 65536 ? (int)v : -1;
	const cJSON *p;
	cJSON_ArrayForEach(p, obj_get(cspec, "ports"))
	{
		const char *n = obj_get_str(p, "name");
		int64_t cp;
		if (n && !strcmp(n, port->valuestring) && obj_get_i64(p, "containerPort", &cp))
			return (int)cp;
	}
	return -1;
}

static const char *pod_ip(struct kl_pod *p)
{
	bool hn = false;
	obj_get_bool(p->obj, "spec.hostNetwork", &hn);
	if (hn)
		return p->k->node_ip;
	struct kl_sandbox *sb = kl_newest_sandbox(p->k, p->uid);
	return sb ? sb->ip : NULL;
}

/* A check (exec, HTTP or TCP) in flight for a probe or a hook. */
struct kl_check {
	struct kl_pod *p;
	struct net *net;
	bool cri; /* an ExecSync in flight: cannot be cancelled, only ignored */
	bool cancelled;
	bool fail_now; /* the call could not even start: reported as a failure */
	struct loop_timer sleep;
	void (*fn)(void *arg, int result, const char *msg);
	void *arg;
};

/* result: 1 success, 0 failure, -1 unknown (the runtime could not run the check: upstream
 * counts that neither way). */
static void check_end(struct kl_check *c, int ok, const char *msg)
{
	struct kl_pod *p = c->p;
	void (*fn)(void *, int, const char *) = c->fn;
	void *arg = c->arg;
	bool cancelled = c->cancelled;
	loop_timer_disarm(p->k->loop, &c->sleep);
	free(c);
	if (!cancelled)
		fn(arg, ok, msg);
	kl_pod_unref(p);
}

static void on_check_net(void *arg, bool ok, const char *msg)
{
	struct kl_check *c = arg;
	c->net = NULL;
	check_end(c, ok ? 1 : 0, msg);
}

static void on_check_exec(int code, const char *msg, const Runtime__V1__ExecSyncResponse *resp,
                          void *arg)
{
	struct kl_check *c = arg;
	kl_cri_done(c->p->k, code);
	if (code != GRPC_OK) {
		char m[600];
		snprintf(m, sizeof(m), "%s",
		         code == GRPC_DEADLINE_EXCEEDED ? "command timed out" : msg);
		check_end(c, code == GRPC_DEADLINE_EXCEEDED ? 0 : -1, m);
		return;
	}
	if (resp->exit_code == 0) {
		check_end(c, 1, "");
		return;
	}
	/* upstream reports the command's output as the failure message */
	struct buf b = { 0 };
	if (resp->stdout.len)
		buf_add(&b, resp->stdout.data, MIN(resp->stdout.len, (size_t)1024));
	if (resp->stderr.len)
		buf_add(&b, resp->stderr.data, MIN(resp->stderr.len, (size_t)1024));
	if (!b.len)
		buf_printf(&b, "command exited with %d", resp->exit_code);
	check_end(c, 0, b.data);
	buf_free(&b);
}

static void on_check_sleep(struct loop *l, struct loop_timer *t)
{
	struct kl_check *c = container_of(t, struct kl_check, sleep);
	check_end(c, c->fail_now ? -1 : 1,
	          c->fail_now ? "the container runtime is not reachable" : "");
}

/*
 * Runs a handler (a probe's or a hook's: exec, httpGet, tcpSocket, sleep) against container
 * ctr_id of p. fn(arg, ok, msg) runs once, from the loop, unless the check is cancelled.
 */
static struct kl_check *run_handler(struct kl_pod *p, const cJSON *h, const cJSON *cspec,
                                    const char *ctr_id, uint64_t timeout_ms, const char *what,
                                    void (*fn)(void *arg, int result, const char *msg), void *arg)
{
	struct kubelet *k = p->k;
	struct kl_check *c = xcalloc(1, sizeof(*c));
	c->p = p;
	c->fn = fn;
	c->arg = arg;
	p->refs++;
	loop_timer_init(&c->sleep, on_check_sleep);
	const cJSON *sub;
	if ((sub = obj_get(h, "exec")) && cJSON_IsObject(sub)) {
		const cJSON *cmd = obj_get(sub, "command"), *it;
		size_t n = (size_t)cJSON_GetArraySize(cmd), m = 0;
		char **argv = xcalloc(n + 1, sizeof(char *));
		cJSON_ArrayForEach(it, cmd)
		{
			if (cJSON_IsString(it))
				argv[m++] = it->valuestring;
		}
		Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
		req.container_id = (char *)ctr_id;
		req.cmd = argv;
		req.n_cmd = m;
		req.timeout = (int64_t)((timeout_ms + 999) / 1000);
		c->cri = true;
		k->cri_calls++;
		int r = cri_exec_sync(k->cri, &req, timeout_ms + 5000, 0, on_check_exec, c);
		free(argv);
		if (r < 0) {
			kl_cri_done(k, GRPC_UNAVAILABLE);
			c->cri = false;
			c->fail_now = true;
			loop_timer_arm(k->loop, &c->sleep, 0);
		}
		return c;
	}
	if ((sub = obj_get(h, "sleep")) && cJSON_IsObject(sub)) {
		int64_t s = 0;
		obj_get_i64(sub, "seconds", &s);
		loop_timer_arm(k->loop, &c->sleep, (uint64_t)(s > 0 ? s : 0) * 1000);
		return c;
	}
	bool http = cJSON_IsObject(sub = obj_get(h, "httpGet"));
	if (!http)
		sub = obj_get(h, "tcpSocket");
	if (!http && !cJSON_IsObject(sub))
		sub = obj_get(h, "grpc"); /* without a gRPC client: the port must at least answer */
	const char *host = obj_get_str(sub, "host");
	if (!host || !*host)
		host = pod_ip(p);
	int port = resolve_port(cspec, obj_get(sub, "port"));
	char w[160];
	snprintf(w, sizeof(w), "%s %s:%d", what, host ? host : "?", port);
	char *request = NULL;
	if (http) {
		const char *path = obj_get_str(sub, "path");
		struct buf b = { 0 };
		buf_printf(&b, "GET %s%s HTTP/1.1\r\n", path && *path == '/' ? "" : "/",
		           path ? path : "");
		bool host_set = false, ua_set = false, accept_set = false;
		const cJSON *hh;
		cJSON_ArrayForEach(hh, obj_get(sub, "httpHeaders"))
		{
			const char *n = obj_get_str(hh, "name"), *v = obj_get_str(hh, "value");
			if (!n || !v || strpbrk(n, "\r\n:") || strpbrk(v, "\r\n"))
				continue;
			host_set |= !strcasecmp(n, "Host");
			ua_set |= !strcasecmp(n, "User-Agent");
			accept_set |= !strcasecmp(n, "Accept");
			buf_printf(&b, "%s: %s\r\n", n, v);
		}
		if (!host_set)
			buf_printf(&b,
			           strchr(host ? host : "", ':') ? "Host: [%s]:%d\r\n"
			                                         : "Host: %s:%d\r\n",
			           host ? host : "", port);
		if (!ua_set)
			buf_adds(&b, "User-Agent: kube-probe/1.32\r\n");
		if (!accept_set)
			buf_adds(&b, "Accept: */*\r\n");
		buf_adds(&b, "Connection: close\r\n\r\n");
		request = buf_steal(&b);
	}
	if (port <= 0) {
		snprintf(w, sizeof(w), "%s: port not found in the container", what);
		host = NULL;
	}
	c->net = net_start(k->loop, port > 0 ? host : NULL, port, request, w, timeout_ms,
	                   on_check_net, c);
	free(request);
	return c;
}

static void check_cancel(struct kl_check *c)
{
	if (!c)
		return;
	if (c->net) {
		net_free(c->net);
		c->net = NULL;
		struct kl_pod *p = c->p;
		loop_timer_disarm(p->k->loop, &c->sleep);
		free(c);
		kl_pod_unref(p);
		return;
	}
	if (c->cri) {
		c->cancelled = true; /* the ExecSync reply will free it */
		return;
	}
	struct kl_pod *p = c->p;
	loop_timer_disarm(p->k->loop, &c->sleep);
	free(c);
	kl_pod_unref(p);
}

/* --- probes ----------------------------------------------------------------------------- */

static const char *const probe_field[KL_PROBE_N] = { "livenessProbe", "readinessProbe",
	                                             "startupProbe" };
static const char *const probe_name[KL_PROBE_N] = { "Liveness", "Readiness", "Startup" };

static int64_t probe_int(const cJSON *spec, const char *f, int64_t def, int64_t min)
{
	int64_t v;
	if (!obj_get_i64(spec, f, &v) || v < min)
		return def;
	return v;
}

static const cJSON *probe_spec(struct kl_probe *pr)
{
	const cJSON *c = kl_pod_container_spec(pr->p, pr->cs->name, NULL);
	const cJSON *s = obj_get(c, probe_field[pr->kind]);
	return cJSON_IsObject(s) ? s : NULL;
}

static void probe_tick(struct loop *l, struct loop_timer *t);

static void probe_free(struct kl_probe *pr)
{
	loop_timer_disarm(pr->p->k->loop, &pr->timer);
	free(pr->ctr_id);
	free(pr);
}

static void probe_result(void *arg, int res, const char *msg)
{
	struct kl_probe *pr = arg;
	pr->check = NULL;
	if (!pr->running) {
		probe_free(pr);
		return;
	}
	bool ok = res == 1;
	struct kl_pod *p = pr->p;
	struct kl_cstate *cs = pr->cs;
	const cJSON *spec = probe_spec(pr);
	int64_t period = probe_int(spec, "periodSeconds", 10, 1);
	int64_t st = probe_int(spec, "successThreshold", 1, 1);
	int64_t ft = probe_int(spec, "failureThreshold", 3, 1);
	if (pr->kind != KL_PROBE_READINESS)
		st = 1;
	if (res < 0) {
		/* unknown: neither counts; try again next period */
	} else if (ok) {
		pr->successes++;
		pr->failures = 0;
	} else {
		pr->failures++;
		pr->successes = 0;
		kl_event(p->k, p->obj, "Warning", "Unhealthy", "%s probe failed: %s",
		         probe_name[pr->kind], msg);
	}
	int result = pr->result;
	if (res == 1 && pr->successes >= st)
		result = 1;
	else if (res == 0 && pr->failures >= ft)
		result = 0;
	bool changed = result != pr->result;
	pr->result = result;
	switch (pr->kind) {
	case KL_PROBE_READINESS:
		if (changed && cs->ready != (result == 1)) {
			cs->ready = result == 1;
			kl_status_update(p);
		}
		break;
	case KL_PROBE_STARTUP:
		if (result == 1) {
			cs->started = true;
			if (!cs->probes[KL_PROBE_READINESS])
				cs->ready = true;
			pr->running = false; /* done for this instance */
			kl_status_update(p);
			/* the other probes may start at once */
			for (int i = 0; i < KL_PROBE_N; i++)
				if (cs->probes[i] && cs->probes[i]->running)
					loop_timer_arm(p->k->loop, &cs->probes[i]->timer, 0);
			return;
		}
		/* fall through */
	case KL_PROBE_LIVENESS:
		if (result == 0) {
			free(cs->kill_msg);
			cs->kill_msg =
			    xasprintf("Container %s failed %s probe, will be restarted", cs->name,
			              pr->kind == KL_PROBE_STARTUP ? "startup" : "liveness");
			cs->kill_requested = true;
			pr->running = false; /* on hold until the container is replaced */
			kl_pod_sync(p);
			return;
		}
		break;
	default:
		break;
	}
	loop_timer_arm(p->k->loop, &pr->timer, (uint64_t)period * 1000);
}

static void probe_tick(struct loop *l, struct loop_timer *t)
{
	struct kl_probe *pr = container_of(t, struct kl_probe, timer);
	struct kl_cstate *cs = pr->cs;
	const cJSON *spec = probe_spec(pr);
	if (!spec || !pr->running)
		return;
	int64_t period = probe_int(spec, "periodSeconds", 10, 1);
	/* startup gates the others */
	if (pr->kind != KL_PROBE_STARTUP && cs->probes[KL_PROBE_STARTUP] && !cs->started) {
		loop_timer_arm(l, t, (uint64_t)period * 1000);
		return;
	}
	if (pr->check) {
		loop_timer_arm(l, t, (uint64_t)period * 1000);
		return;
	}
	int64_t timeout = probe_int(spec, "timeoutSeconds", 1, 1);
	const cJSON *cspec = kl_pod_container_spec(pr->p, cs->name, NULL);
	pr->check = run_handler(pr->p, spec, cspec, pr->ctr_id, (uint64_t)timeout * 1000,
	                        probe_name[pr->kind], probe_result, pr);
}

void kl_probes_stop(struct kl_cstate *cs)
{
	for (int i = 0; i < KL_PROBE_N; i++) {
		struct kl_probe *pr = cs->probes[i];
		if (!pr)
			continue;
		cs->probes[i] = NULL;
		pr->running = false;
		loop_timer_disarm(pr->p->k->loop, &pr->timer);
		if (pr->check) {
			struct kl_check *c = pr->check;
			if (c->net || !c->cri) {
				pr->check = NULL;
				check_cancel(c);
				probe_free(pr);
			}
			/* else the ExecSync reply frees the probe (running is false) */
		} else {
			probe_free(pr);
		}
	}
	free(cs->probed_id);
	cs->probed_id = NULL;
}

void kl_probes_sync(struct kl_pod *p, struct kl_cstate *cs, const struct kl_ctr *running)
{
	if (!running || running->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING) {
		if (cs->probed_id)
			kl_probes_stop(cs);
		cs->ready = cs->started = false;
		return;
	}
	if (cs->probed_id && !strcmp(cs->probed_id, running->id))
		return;
	/* a new instance: probes start over */
	kl_probes_stop(cs);
	cs->probed_id = xstrdup(running->id);
	cs->kill_requested = false;
	const cJSON *c = kl_pod_container_spec(p, cs->name, NULL);
	bool has[KL_PROBE_N];
	for (int i = 0; i < KL_PROBE_N; i++)
		has[i] = cJSON_IsObject(obj_get(c, probe_field[i]));
	/* Init containers other than sidecars are not probed. */
	bool sidecar = false;
	if (cs->init) {
		const char *rp = obj_get_str(c, "restartPolicy");
		sidecar = rp && !strcmp(rp, "Always");
		if (!sidecar)
			for (int i = 0; i < KL_PROBE_N; i++)
				has[i] = false;
	}
	cs->started = !has[KL_PROBE_STARTUP];
	cs->ready = cs->started && !has[KL_PROBE_READINESS];
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	for (int i = 0; i < KL_PROBE_N; i++) {
		if (!has[i])
			continue;
		struct kl_probe *pr = xcalloc(1, sizeof(*pr));
		pr->p = p;
		pr->cs = cs;
		pr->kind = (enum kl_probe_kind)i;
		pr->ctr_id = xstrdup(running->id);
		pr->result = i == KL_PROBE_LIVENESS ? 1 : -1;
		pr->running = true;
		loop_timer_init(&pr->timer, probe_tick);
		cs->probes[i] = pr;
		int64_t delay = probe_int(obj_get(c, probe_field[i]), "initialDelaySeconds", 0, 0);
		int64_t since_ms =
		    running->started_ns > 0 ? (now_ns - running->started_ns) / 1000000 : 0;
		int64_t wait = delay * 1000 - since_ms;
		loop_timer_arm(p->k->loop, &pr->timer, wait > 0 ? (uint64_t)wait : 0);
	}
}

/* --- hooks -------------------------------------------------------------------------------- */

struct hook {
	kl_hook_fn done;
	void *arg;
};

static void on_hook(void *arg, int res, const char *msg)
{
	struct hook *h = arg;
	h->done(h->arg, res == 1, msg);
	free(h);
}

void kl_run_hook(struct kl_pod *p, const cJSON *handler, const cJSON *cspec, const char *ctr_id,
                 uint64_t timeout_ms, kl_hook_fn done, void *arg)
{
	struct hook *h = xcalloc(1, sizeof(*h));
	h->done = done;
	h->arg = arg;
	run_handler(p, handler, cspec, ctr_id, timeout_ms, "hook", on_hook, h);
}
