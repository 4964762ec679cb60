/* routes watch: the agent's side of net/routes: an informer on Nodes feeds routes_sync
 * whenever a Node comes, goes or changes, and again every few minutes to repair routes
 * that someone else removed. Nothing is touched until this node's own Node has a podCIDR:
 * a node without a pod network has no pods to route for, and a server that never runs pods
 * (or a test that makes up Nodes) leaves the host's routes and nftables alone. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#define LOG_TAG "routes"
#include "core/client/client.h"
#include "core/log/log.h"
#include "core/obj/obj.h"
#include "net/ipaddr/ipaddr.h"
#include "net/routes/routes.h"

/* Node events often come in bursts (a relist, the lifecycle controller touching every
 * Node): one sync after the burst is enough. */
#define SYNC_DELAY_MS 50
#define RESYNC_MS (5 * 60 * 1000)
#define RETRY_MS 5000

struct routes_watch {
	struct loop *loop;
	struct routes *r;
	struct informer *inf;
	struct loop_timer timer;
	char *self;
	bool synced, active;
	struct routes_stats last;
};

/* What one Node asks of us; strings borrowed from the informer's cache. */
struct collect {
	struct routes_node *v;
	size_t n, cap;
	const char *self;
	bool self_ready; /* this node has a pod CIDR */
};

static int add_node(void *arg, const cJSON *obj)
{
	struct collect *c = arg;
	struct routes_node nd = { .name = obj_get_str(obj, "metadata.name") };
	const cJSON *it;
	bool fam[2] = { false, false }; /* one InternalIP per family: the first */

	if (!nd.name)
		return 0;
	cJSON_ArrayForEach(it, obj_get(obj, "spec.podCIDRs"))
	{
		if (cJSON_IsString(it) && nd.n_pod_cidrs < ROUTES_MAX_CIDRS)
			nd.pod_cidrs[nd.n_pod_cidrs++] = it->valuestring;
	}
	const char *one = obj_get_str(obj, "spec.podCIDR");
	if (nd.n_pod_cidrs == 0 && one && *one)
		nd.pod_cidrs[nd.n_pod_cidrs++] = one;
	cJSON_ArrayForEach(it, obj_get(obj, "status.addresses"))
	{
		const char *type = obj_get_str(it, "type"), *ip = obj_get_str(it, "address");
		struct ipaddr a;
		if (!type || !ip || strcmp(type, "InternalIP") || ipaddr_parse(ip, &a) < 0)
			continue;
		int f = a.family == AF_INET6;
		if (fam[f] || nd.n_internal_ips == ROUTES_MAX_CIDRS)
			continue;
		fam[f] = true;
		nd.internal_ips[nd.n_internal_ips++] = ip;
	}
	if (nd.n_pod_cidrs == 0)
		return 0; /* nothing to route to (yet: node IPAM has not got to it) */
	if (!strcmp(nd.name, c->self))
		c->self_ready = true;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	c->v[c->n++] = nd;
	return 0;
}

static void on_timer(struct loop *l, struct loop_timer *t)
{
	struct routes_watch *w = container_of(t, struct routes_watch, timer);
	struct collect c = { .self = w->self };
	struct routes_stats st = { 0 };
	struct err e = { 0 };

	informer_each(w->inf, add_node, &c);
	if (!c.self_ready && !w->active) {
		free(c.v);
		log_debug("Node %s has no podCIDR yet: no routes", w->self);
		return;
	}
	w->active = true;
	int rc = routes_sync(w->r, c.v, c.n, &st, &e);
	free(c.v);
	if (st.added || st.deleted || st.routes != w->last.routes || st.skipped != w->last.skipped)
		log_info("routes to other nodes' pods: %zu (%zu added, %zu deleted, %zu pod CIDRs "
		         "without an InternalIP of their family)",
		         st.routes, st.added, st.deleted, st.skipped);
	w->last = st;
	if (rc < 0) {
		log_warn("%s; retrying in %d s", e.msg, RETRY_MS / 1000);
		loop_timer_arm(l, t, RETRY_MS);
		return;
	}
	loop_timer_arm(l, t, RESYNC_MS);
}

static void soon(struct routes_watch *w)
{
	if (!w->synced)
		return; /* the first sync waits for the full list: never delete on a partial one */
	if (!loop_timer_armed(&w->timer) || w->timer.due_ms > time_mono_ms() + SYNC_DELAY_MS)
		loop_timer_arm(w->loop, &w->timer, SYNC_DELAY_MS);
}

static void on_add(void *arg, const cJSON *obj)
{
	(void)obj;
	soon(arg);
}

static void on_update(void *arg, const cJSON *old, const cJSON *obj)
{
	(void)old;
	(void)obj;
	soon(arg);
}

static void on_synced(void *arg)
{
	struct routes_watch *w = arg;
	w->synced = true;
	soon(w);
}

int routes_watch_start(struct client *cl, const struct routes_conf *conf, struct routes_watch **out,
                       struct err *e)
{
	const struct reg_kind *k = client_kind("", "nodes");
	struct routes_watch *w;
	int rc;

	if (!k)
		return err_set(e, -ENOENT, "routes: the API has no nodes resource");
	w = xcalloc(1, sizeof(*w));
	if ((rc = routes_new(&w->r, conf, e)) < 0) {
		free(w);
		return rc;
	}
	w->loop = client_loop(cl);
	w->self = xstrdup(conf->self ? conf->self : "");
	loop_timer_init(&w->timer, on_timer);
	w->inf = informer_new(cl, k, NULL, NULL);
	struct informer_handlers h = { on_add, on_update, on_add, on_synced, w };
	informer_add_handlers(w->inf, &h);
	if ((rc = informer_start(w->inf)) < 0) {
		routes_watch_stop(w);
		return err_set(e, rc, "routes: watch nodes: %s", strerror(-rc));
	}
	*out = w;
	return 0;
}

void routes_watch_stop(struct routes_watch *w)
{
	if (!w)
		return;
	loop_timer_disarm(w->loop, &w->timer);
	informer_free(w->inf);
	routes_free(w->r);
	free(w->self);
	free(w);
}
