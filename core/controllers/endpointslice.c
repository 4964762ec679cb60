/* endpointslice: keeps the EndpointSlices of every Service with a selector in step with the
 * pods it selects: one slice set per address family and resolved port set, at most
 * max_endpoints_per_slice endpoints each, endpoints kept in the slice they are in. */
#include <stdio.h>
#include <string.h>

#define LOG_TAG "endpointslice"
#include "core/controllers/cluster-internal.h"
#include "core/log/log.h"

#define MANAGED_BY "endpointslice-controller.k8s.io"
#define LABEL_SERVICE "kubernetes.io/service-name"
#define LABEL_MANAGED "endpointslice.kubernetes.io/managed-by"
#define LABEL_HEADLESS "service.kubernetes.io/headless"

struct ctrl_endpointslice {
	struct cc_ctl b;
	const struct reg_kind *svck, *podk, *nodek, *esk;
};

static struct informer *svc_inf(struct ctrl_endpointslice *x)
{
	return ctrl_informers_get(x->b.inf, x->svck);
}

/* --- what the slices should hold ------------------------------------------------------------ */

/* Endpoints sharing an address family and resolved ports. */
struct group {
	const char *family;
	cJSON *ports;          /* array */
	char *sig;             /* family + canonical ports: identifies the group */
	cJSON *eps;            /* desired endpoints, array */
	bool *placed;          /* per endpoint of eps */
	struct strmap by_addr; /* first address -> index + 1 */
};

struct desired {
	struct group *g;
	size_t n;
	int total;
};

static char *ports_sig(const char *family, const cJSON *ports)
{
	if (!cJSON_IsArray(ports) || !ports->child)
		return xasprintf("%s|[]", family);
	char *p = obj_print(ports, OBJ_PRINT_SORTED);
	char *s = xasprintf("%s|%s", family, p);
	free(p);
	return s;
}

static struct group *group_for(struct desired *d, const char *family, cJSON *ports)
{
	char *sig = ports_sig(family, ports);
	for (size_t i = 0; i < d->n; i++) {
		if (!strcmp(d->g[i].sig, sig)) {
			free(sig);
			cJSON_Delete(ports);
			return &d->g[i];
		}
	}
	d->g = xrealloc(d->g, (d->n + 1) * sizeof(*d->g));
	struct group *g = &d->g[d->n++];
	memset(g, 0, sizeof(*g));
	g->family = family;
	g->ports = ports;
	g->sig = sig;
	g->eps = cJSON_CreateArray();
	return g;
}

static void desired_free(struct desired *d)
{
	for (size_t i = 0; i < d->n; i++) {
		cJSON_Delete(d->g[i].ports);
		cJSON_Delete(d->g[i].eps);
		free(d->g[i].sig);
		free(d->g[i].placed);
		strmap_free(&d->g[i].by_addr);
	}
	free(d->g);
}

/* The ports this pod serves for the Service, named ports resolved; unresolvable ones left out. */
static cJSON *pod_ports(const cJSON *svc, const cJSON *pod)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *sp;
	cJSON_ArrayForEach(sp, obj_get(svc, "spec.ports"))
	{
		int port;
		if (!cc_find_port(pod, sp, &port))
			continue;
		const char *name = obj_get_str(sp, "name"), *proto = obj_get_str(sp, "protocol");
		const char *app = obj_get_str(sp, "appProtocol");
		cJSON *p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "name", name ? name : "");
		cJSON_AddNumberToObject(p, "port", port);
		cJSON_AddStringToObject(p, "protocol", proto ? proto : "TCP");
		if (app)
			cJSON_AddStringToObject(p, "appProtocol", app);
		cJSON_AddItemToArray(out, p);
	}
	return out;
}

/* Whether the pod has a DNS hostname under this (headless) Service's name. */
static bool sets_hostname(const cJSON *pod, const cJSON *svc)
{
	const char *h = obj_get_str(pod, "spec.hostname");
	const char *sub = obj_get_str(pod, "spec.subdomain");
	const char *name = cc_name(svc);
	return h && *h && sub && name && !strcmp(sub, name);
}

static cJSON *endpoint(struct ctrl_endpointslice *x, const cJSON *svc, const cJSON *pod,
                       const char *ip)
{
	bool publish = false;
	obj_get_bool(svc, "spec.publishNotReadyAddresses", &publish);
	bool serving = cc_pod_ready(pod);
	bool terminating = cc_deleting(pod);
	/* As upstream: ready is never true for a terminating pod, unless the Service asks for
	 * not-ready addresses to be published. */
	bool ready = publish || (serving && !terminating);
	cJSON *ep = cJSON_CreateObject();
	cJSON *addrs = cJSON_AddArrayToObject(ep, "addresses");
	cJSON_AddItemToArray(addrs, cJSON_CreateString(ip));
	cJSON *cond = cJSON_AddObjectToObject(ep, "conditions");
	cJSON_AddBoolToObject(cond, "ready", ready);
	cJSON_AddBoolToObject(cond, "serving", serving);
	cJSON_AddBoolToObject(cond, "terminating", terminating);
	if (sets_hostname(pod, svc))
		cJSON_AddStringToObject(ep, "hostname", obj_get_str(pod, "spec.hostname"));
	cJSON *ref = cJSON_AddObjectToObject(ep, "targetRef");
	cJSON_AddStringToObject(ref, "kind", "Pod");
	cJSON_AddStringToObject(ref, "namespace", cc_ns(pod));
	cJSON_AddStringToObject(ref, "name", cc_name(pod));
	if (cc_uid(pod))
		cJSON_AddStringToObject(ref, "uid", cc_uid(pod));
	const char *node = obj_get_str(pod, "spec.nodeName");
	if (node && *node) {
		cJSON_AddStringToObject(ep, "nodeName", node);
		const cJSON *n = cc_get(ctrl_informers_get(x->b.inf, x->nodek), NULL, node);
		const char *zone =
		    obj_get_str(n, "metadata.labels.topology\\.kubernetes\\.io/zone");
		if (zone && *zone)
			cJSON_AddStringToObject(ep, "zone", zone);
	}
	return ep;
}

/* Whether a pod belongs in the slices at all: it has an address and is not finished.
 * Terminating pods stay, with their terminating condition. */
static bool pod_counts(const cJSON *pod)
{
	if (cc_pod_terminal(pod))
		return false;
	const char *ip = obj_get_str(pod, "status.podIP");
	return (ip && *ip) || cJSON_GetArraySize(obj_get(pod, "status.podIPs")) > 0;
}

struct collect {
	struct ctrl_endpointslice *x;
	const cJSON *svc;
	const char *ns;
	struct sel *sel;
	struct desired *d;
	const cJSON *families;
};

static int collect_pod(void *arg, const cJSON *pod)
{
	struct collect *c = arg;
	const char *ns = cc_ns(pod);
	if (!ns || strcmp(ns, c->ns) || !cc_name(pod) || !pod_counts(pod) ||
	    !sel_matches(c->sel, obj_get(pod, "metadata.labels")))
		return 0;
	const cJSON *fam;
	cJSON_ArrayForEach(fam, c->families)
	{
		if (!cJSON_IsString(fam))
			continue;
		const char *ip = cc_pod_ip(pod, fam->valuestring);
		if (!ip)
			continue;
		const char *family = !strcmp(fam->valuestring, "IPv6") ? "IPv6" : "IPv4";
		struct group *g = group_for(c->d, family, pod_ports(c->svc, pod));
		if (strmap_get(&g->by_addr, ip))
			continue; /* two pods claiming one address: the first wins */
		cJSON_AddItemToArray(g->eps, endpoint(c->x, c->svc, pod, ip));
		strmap_put(&g->by_addr, ip, (void *)(uintptr_t)cJSON_GetArraySize(g->eps));
		c->d->total++;
	}
	return 0;
}

/* --- the slices there are ---------------------------------------------------------------- */

struct slice {
	cJSON *obj;      /* as stored */
	struct group *g; /* matching group, or NULL */
	cJSON *eps;      /* endpoints it will hold */
	bool keep;
};

struct existing {
	struct slice *v;
	size_t n;
	const char *service;
};

static int collect_slice(void *arg, const cJSON *es)
{
	struct existing *e = arg;
	const char *svc = obj_get_str(es, "metadata.labels.kubernetes\\.io/service-name");
	const char *by =
	    obj_get_str(es, "metadata.labels.endpointslice\\.kubernetes\\.io/managed-by");
	if (!svc || strcmp(svc, e->service) || !by || strcmp(by, MANAGED_BY))
		return 0;
	e->v = xrealloc(e->v, (e->n + 1) * sizeof(*e->v));
	e->v[e->n++] = (struct slice){ cJSON_Duplicate(es, true), NULL, NULL, false };
	return 0;
}

static void existing_free(struct existing *e)
{
	for (size_t i = 0; i < e->n; i++) {
		cJSON_Delete(e->v[i].obj);
		cJSON_Delete(e->v[i].eps);
	}
	free(e->v);
}

/* --- writing ---------------------------------------------------------------------------- */

static cJSON *slice_labels(const cJSON *svc)
{
	cJSON *labels = cJSON_CreateObject();
	const cJSON *l;
	cJSON_ArrayForEach(l, obj_get(svc, "metadata.labels"))
	{
		if (!cJSON_IsString(l) || !strcmp(l->string, LABEL_SERVICE) ||
		    !strcmp(l->string, LABEL_MANAGED) || !strcmp(l->string, LABEL_HEADLESS))
			continue;
		cJSON_AddStringToObject(labels, l->string, l->valuestring);
	}
	cJSON_AddStringToObject(labels, LABEL_SERVICE, cc_name(svc));
	cJSON_AddStringToObject(labels, LABEL_MANAGED, MANAGED_BY);
	const char *ip = obj_get_str(svc, "spec.clusterIP");
	if (ip && !strcmp(ip, "None"))
		cJSON_AddStringToObject(labels, LABEL_HEADLESS, "");
	return labels;
}

static int write_then(struct cc_ctl *b, const char *key, int code, const char *msg, cJSON *obj,
                      void *arg)
{
	struct ctrl_endpointslice *x = (struct ctrl_endpointslice *)b;
	bool del = arg != NULL;
	if ((code >= 200 && code < 300) || (del && code == 404))
		return 0;
	if (code == 409)
		return 1;
	if (b->stopped)
		return -1; /* the informers may be gone */
	char buf[512];
	const char *ns, *name;
	cc_split_key(key, buf, sizeof(buf), &ns, &name);
	const cJSON *svc = cc_get(svc_inf(x), ns, name);
	if (svc)
		client_event(b->c, b->component, svc, "Warning", "FailedToUpdateEndpointSlices",
		             "Error updating Endpoint Slices for Service %s/%s: %s", ns, name,
		             msg ? msg : "");
	return -1;
}

static void put_slice(struct ctrl_endpointslice *x, const char *key, const cJSON *svc,
                      struct slice *s, const char *family, const cJSON *ports, cJSON *eps)
{
	cJSON *obj;
	if (s) {
		obj = cJSON_Duplicate(s->obj, true);
	} else {
		obj = cJSON_CreateObject();
		cJSON_AddStringToObject(obj, "apiVersion", "discovery.k8s.io/v1");
		cJSON_AddStringToObject(obj, "kind", "EndpointSlice");
		cJSON *m = cJSON_AddObjectToObject(obj, "metadata");
		char gen[80];
		snprintf(gen, sizeof(gen), "%.56s-", cc_name(svc));
		cJSON_AddStringToObject(m, "generateName", gen);
		cJSON_AddStringToObject(m, "namespace", cc_ns(svc));
		cJSON_AddStringToObject(obj, "addressType", family);
	}
	cJSON *m = obj_get_mut(obj, "metadata");
	cJSON_DeleteItemFromObjectCaseSensitive(m, "labels");
	cJSON_AddItemToObject(m, "labels", slice_labels(svc));
	cJSON_DeleteItemFromObjectCaseSensitive(m, "ownerReferences");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(m, "ownerReferences"), cc_owner_ref(svc));
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "endpoints");
	cJSON_AddItemToObject(obj, "endpoints", eps);
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "ports");
	if (ports)
		cJSON_AddItemToObject(obj, "ports", cJSON_Duplicate(ports, true));
	if (!s) {
		cc_create(&x->b, key, x->esk, cc_ns(svc), obj, write_then, NULL);
		return;
	}
	/* Unchanged slices are not written: nothing to tell the proxies. */
	static const char *const fields[] = { "endpoints", "ports", "metadata.labels",
		                              "metadata.ownerReferences" };
	bool same = true;
	for (size_t i = 0; i < ARRAY_SIZE(fields) && same; i++) {
		const cJSON *a = obj_get(s->obj, fields[i]), *b = obj_get(obj, fields[i]);
		bool ea = !a || cJSON_IsNull(a) || (cJSON_IsArray(a) && !a->child);
		bool eb = !b || cJSON_IsNull(b) || (cJSON_IsArray(b) && !b->child);
		same = (ea && eb) || (a && b && obj_equal(a, b));
	}
	if (same) {
		cJSON_Delete(obj);
		return;
	}
	cc_update(&x->b, key, x->esk, cc_ns(svc), cc_name(s->obj), NULL, obj, write_then, NULL);
}

static void delete_slice(struct ctrl_endpointslice *x, const char *key, const cJSON *es)
{
	cc_delete(&x->b, key, x->esk, cc_ns(es), cc_name(es), -1, NULL, cc_uid(es), write_then,
	          (void *)1);
}

/* Endpoints of a group not yet in a slice, sorted by address so new slices are stable. */
static int cmp_ep(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	const char *ax = obj_get_str(x, "addresses[0]"), *ay = obj_get_str(y, "addresses[0]");
	return strcmp(ax ? ax : "", ay ? ay : "");
}

static void reconcile(struct ctrl_endpointslice *x, const char *key, const cJSON *svc,
                      struct desired *d, struct existing *e)
{
	int max = x->b.o.max_endpoints_per_slice;
	/* Each slice keeps the endpoints it has that are still wanted, updated. */
	for (size_t i = 0; i < e->n; i++) {
		struct slice *s = &e->v[i];
		const char *type = obj_get_str(s->obj, "addressType");
		char *sig = ports_sig(type ? type : "", obj_get(s->obj, "ports"));
		for (size_t j = 0; j < d->n && !s->g; j++)
			if (!strcmp(d->g[j].sig, sig))
				s->g = &d->g[j];
		free(sig);
		s->eps = cJSON_CreateArray();
		if (!s->g)
			continue;
		struct group *g = s->g;
		if (!g->placed)
			g->placed = xcalloc((size_t)cJSON_GetArraySize(g->eps) + 1, sizeof(bool));
		const cJSON *ep;
		cJSON_ArrayForEach(ep, obj_get(s->obj, "endpoints"))
		{
			const char *addr = obj_get_str(ep, "addresses[0]");
			uintptr_t idx = addr ? (uintptr_t)strmap_get(&g->by_addr, addr) : 0;
			if (!idx || g->placed[idx - 1] || cJSON_GetArraySize(s->eps) >= max)
				continue;
			g->placed[idx - 1] = true;
			cJSON_AddItemToArray(
			    s->eps,
			    cJSON_Duplicate(cJSON_GetArrayItem(g->eps, (int)idx - 1), true));
		}
	}
	/* The rest fill slices with room, then new slices. */
	for (size_t j = 0; j < d->n; j++) {
		struct group *g = &d->g[j];
		int n = cJSON_GetArraySize(g->eps), nleft = 0;
		if (!g->placed)
			g->placed = xcalloc((size_t)n + 1, sizeof(bool));
		const cJSON **left = xcalloc((size_t)n + 1, sizeof(*left));
		for (int i = 0; i < n; i++)
			if (!g->placed[i])
				left[nleft++] = cJSON_GetArrayItem(g->eps, i);
		qsort(left, (size_t)nleft, sizeof(*left), cmp_ep);
		int next = 0;
		for (size_t i = 0; i < e->n && next < nleft; i++) {
			struct slice *s = &e->v[i];
			if (s->g != g)
				continue;
			while (next < nleft && cJSON_GetArraySize(s->eps) < max)
				cJSON_AddItemToArray(s->eps, cJSON_Duplicate(left[next++], true));
		}
		while (next < nleft) {
			cJSON *eps = cJSON_CreateArray();
			while (next < nleft && cJSON_GetArraySize(eps) < max)
				cJSON_AddItemToArray(eps, cJSON_Duplicate(left[next++], true));
			put_slice(x, key, svc, NULL, g->family, g->ports, eps);
		}
		free(left);
	}
	/* Slices left empty go; a Service without any endpoint keeps one empty slice (upstream's
	 * placeholder), so that clients see the Service has been handled. */
	const cJSON *fam0 = cJSON_GetArrayItem(obj_get(svc, "spec.ipFamilies"), 0);
	const char *family =
	    cJSON_IsString(fam0) && !strcmp(fam0->valuestring, "IPv6") ? "IPv6" : "IPv4";
	bool placeholder = d->total == 0;
	for (size_t i = 0; i < e->n; i++) {
		struct slice *s = &e->v[i];
		if (s->g && cJSON_GetArraySize(s->eps) > 0) {
			cJSON *eps = s->eps;
			s->eps = NULL;
			put_slice(x, key, svc, s, NULL, s->g->ports, eps);
			continue;
		}
		const char *type = obj_get_str(s->obj, "addressType");
		if (placeholder && type && !strcmp(type, family)) {
			placeholder = false;
			put_slice(x, key, svc, s, NULL, NULL, cJSON_CreateArray());
			continue;
		}
		delete_slice(x, key, s->obj);
	}
	if (placeholder)
		put_slice(x, key, svc, NULL, family, NULL, cJSON_CreateArray());
}

static int sync_service(struct cc_ctl *b, const char *key)
{
	struct ctrl_endpointslice *x = (struct ctrl_endpointslice *)b;
	char buf[512];
	const char *ns, *name;
	cc_split_key(key, buf, sizeof(buf), &ns, &name);
	if (!ns)
		return 0;
	/* The API server writes the kubernetes Service's own slice. */
	if (!strcmp(ns, "default") && !strcmp(name, "kubernetes"))
		return 0;
	struct existing e = { .service = name };
	if (client_list(b->c, x->esk, ns, collect_slice, &e) < 0) {
		existing_free(&e);
		return -1;
	}
	const cJSON *svc = cc_get(svc_inf(x), ns, name);
	if (!svc || !cc_service_selects(svc)) {
		/* Gone, or no longer selecting pods: the slices we made are stale. */
		for (size_t i = 0; i < e.n; i++)
			delete_slice(x, key, e.v[i].obj);
		existing_free(&e);
		return 0;
	}
	struct desired d = { 0 };
	struct collect c = { x, svc, ns, NULL, &d, obj_get(svc, "spec.ipFamilies") };
	cJSON *deflt = NULL;
	if (cJSON_GetArraySize(c.families) == 0) {
		deflt = cJSON_CreateArray();
		cJSON_AddItemToArray(deflt, cJSON_CreateString("IPv4"));
		c.families = deflt;
	}
	if (sel_from_map(obj_get(svc, "spec.selector"), &c.sel, NULL) == 0) {
		cc_each(ctrl_informers_get(b->inf, x->podk), collect_pod, &c);
		sel_free(c.sel);
		reconcile(x, key, svc, &d, &e);
	}
	cJSON_Delete(deflt);
	desired_free(&d);
	existing_free(&e);
	return 0;
}

/* --- events ------------------------------------------------------------------------------- */

static void on_svc(void *arg, const cJSON *obj)
{
	cc_enqueue_obj(arg, obj);
}

static void on_svc_update(void *arg, const cJSON *old, const cJSON *obj)
{
	cc_enqueue_obj(arg, obj);
}

static void enqueue_svc(void *arg, const cJSON *svc)
{
	cc_enqueue_obj(arg, svc);
}

static void on_pod(void *arg, const cJSON *pod)
{
	struct ctrl_endpointslice *x = arg;
	cc_services_for_pod(svc_inf(x), pod, enqueue_svc, x);
}

static void on_pod_update(void *arg, const cJSON *old, const cJSON *pod)
{
	struct ctrl_endpointslice *x = arg;
	cc_services_for_pod(svc_inf(x), pod, enqueue_svc, x);
	if (!obj_equal(obj_get(old, "metadata.labels"), obj_get(pod, "metadata.labels")))
		cc_services_for_pod(svc_inf(x), old, enqueue_svc, x);
}

/* Someone changed or removed one of our slices: the Service puts it right. */
static void on_slice(void *arg, const cJSON *es)
{
	struct ctrl_endpointslice *x = arg;
	const char *svc = obj_get_str(es, "metadata.labels.kubernetes\\.io/service-name");
	const char *by =
	    obj_get_str(es, "metadata.labels.endpointslice\\.kubernetes\\.io/managed-by");
	const char *ns = cc_ns(es);
	if (!svc || !by || strcmp(by, MANAGED_BY) || !ns)
		return;
	char key[512];
	snprintf(key, sizeof(key), "%s/%s", ns, svc);
	cc_enqueue(&x->b, key);
}

static void on_slice_update(void *arg, const cJSON *old, const cJSON *es)
{
	on_slice(arg, es);
}

static int resync_one(void *arg, const cJSON *svc)
{
	cc_enqueue_obj(arg, svc);
	return 0;
}

static void resync(struct cc_ctl *b)
{
	struct ctrl_endpointslice *x = (struct ctrl_endpointslice *)b;
	cc_each(svc_inf(x), resync_one, x);
}

static void destroy(struct cc_ctl *b)
{
	cc_fini(b);
	free(b);
}

int ctrl_endpointslice_start(struct ctrl_informers *f, const struct ctrl_cluster_opts *o,
                             struct ctrl_endpointslice **out, struct err *e)
{
	struct ctrl_endpointslice *x = xcalloc(1, sizeof(*x));
	cc_init(&x->b, f, o, "endpointslice-controller");
	x->b.sync = sync_service;
	x->b.resync = resync;
	x->b.destroy = destroy;
	x->svck = cc_kind("", "services");
	x->podk = cc_kind("", "pods");
	x->nodek = cc_kind("", "nodes");
	x->esk = cc_kind("discovery.k8s.io", "endpointslices");
	struct informer_handlers hs = { on_svc, on_svc_update, on_svc, NULL, x };
	struct informer_handlers hp = { on_pod, on_pod_update, on_pod, NULL, x };
	struct informer_handlers hn = { NULL, NULL, NULL, NULL, x };
	struct informer_handlers he = { on_slice, on_slice_update, on_slice, NULL, x };
	if (!x->svck || !x->podk || !x->nodek || !x->esk || cc_watch(&x->b, "", "services", &hs) ||
	    cc_watch(&x->b, "", "pods", &hp) || cc_watch(&x->b, "", "nodes", &hn) ||
	    cc_watch(&x->b, "discovery.k8s.io", "endpointslices", &he)) {
		cc_stop(&x->b);
		return err_set(e, -ENOENT,
		               "endpointslice controller: a kind it needs is not served");
	}
	cc_start(&x->b);
	*out = x;
	return 0;
}

void ctrl_endpointslice_stop(struct ctrl_endpointslice *x)
{
	if (x)
		cc_stop(&x->b);
}
