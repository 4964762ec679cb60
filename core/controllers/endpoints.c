/* endpoints: keeps the core/v1 Endpoints of every Service with a selector: ready pods under
 * addresses, the others under notReadyAddresses, grouped into subsets by resolved ports. */
#include <stdio.h>
#include <string.h>

#define LOG_TAG "endpoints"
#include "core/controllers/cluster-internal.h"
#include "core/log/log.h"

#define MAX_ADDRESSES 1000
#define LABEL_SKIP_MIRROR "endpointslice.kubernetes.io/skip-mirror"
#define LABEL_HEADLESS "service.kubernetes.io/headless"
#define ANN_OVER_CAPACITY "endpoints.kubernetes.io/over-capacity"

struct ctrl_endpoints {
	struct cc_ctl b;
	const struct reg_kind *svck, *podk, *epk;
};

static struct informer *svc_inf(struct ctrl_endpoints *x)
{
	return ctrl_informers_get(x->b.inf, x->svck);
}

/* One address with the ports it serves: the unit subsets are packed from. */
struct addr {
	cJSON *addr; /* EndpointAddress */
	bool ready;
	cJSON *ports; /* EndpointPorts, sorted */
	char *sig;    /* canonical ports */
};

struct collect {
	const cJSON *svc;
	const char *ns, *family;
	struct sel *sel;
	bool publish;
	struct addr *v;
	size_t n;
	struct strmap seen; /* ip */
};

static int cmp_port(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	const char *nx = obj_get_str(x, "name"), *ny = obj_get_str(y, "name");
	int c = strcmp(nx ? nx : "", ny ? ny : "");
	if (c)
		return c;
	int64_t px = 0, py = 0;
	obj_get_i64(x, "port", &px);
	obj_get_i64(y, "port", &py);
	return px < py ? -1 : px > py;
}

static cJSON *sorted_ports(cJSON *ports)
{
	int n = cJSON_GetArraySize(ports);
	cJSON **v = xcalloc((size_t)n + 1, sizeof(*v));
	for (int i = 0; i < n; i++)
		v[i] = cJSON_Duplicate(cJSON_GetArrayItem(ports, i), true);
	qsort(v, (size_t)n, sizeof(*v), cmp_port);
	cJSON *out = cJSON_CreateArray();
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(out, v[i]);
	free(v);
	cJSON_Delete(ports);
	return out;
}

static int collect_pod(void *arg, const cJSON *pod)
{
	struct collect *c = arg;
	const char *ns = cc_ns(pod);
	if (!ns || strcmp(ns, c->ns) || !cc_name(pod) || cc_pod_terminal(pod) ||
	    !sel_matches(c->sel, obj_get(pod, "metadata.labels")))
		return 0;
	/* Terminating pods leave Endpoints unless the Service publishes not-ready addresses. */
	if (cc_deleting(pod) && !c->publish)
		return 0;
	const char *ip = cc_pod_ip(pod, c->family);
	if (!ip || strmap_get(&c->seen, ip))
		return 0;
	cJSON *ports = cJSON_CreateArray();
	const cJSON *sp;
	cJSON_ArrayForEach(sp, obj_get(c->svc, "spec.ports"))
	{
		int port;
		if (!cc_find_port(pod, sp, &port))
			continue;
		const char *name = obj_get_str(sp, "name"), *proto = obj_get_str(sp, "protocol");
		const char *app = obj_get_str(sp, "appProtocol");
		cJSON *p = cJSON_CreateObject();
		if (name && *name)
			cJSON_AddStringToObject(p, "name", name);
		cJSON_AddNumberToObject(p, "port", port);
		cJSON_AddStringToObject(p, "protocol", proto ? proto : "TCP");
		if (app)
			cJSON_AddStringToObject(p, "appProtocol", app);
		cJSON_AddItemToArray(ports, p);
	}
	/* A pod serving none of the Service's ports is no endpoint of it (a headless Service
	 * without ports takes bare addresses). */
	if (!ports->child && cJSON_GetArraySize(obj_get(c->svc, "spec.ports")) > 0) {
		cJSON_Delete(ports);
		return 0;
	}
	strmap_put(&c->seen, ip, (void *)1);
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "ip", ip);
	const char *h = obj_get_str(pod, "spec.hostname"),
	           *sub = obj_get_str(pod, "spec.subdomain");
	if (h && *h && sub && !strcmp(sub, cc_name(c->svc)))
		cJSON_AddStringToObject(a, "hostname", h);
	const char *node = obj_get_str(pod, "spec.nodeName");
	if (node && *node)
		cJSON_AddStringToObject(a, "nodeName", node);
	cJSON *ref = cJSON_AddObjectToObject(a, "targetRef");
	cJSON_AddStringToObject(ref, "kind", "Pod");
	cJSON_AddStringToObject(ref, "namespace", ns);
	cJSON_AddStringToObject(ref, "name", cc_name(pod));
	if (cc_uid(pod))
		cJSON_AddStringToObject(ref, "uid", cc_uid(pod));
	c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	struct addr *ad = &c->v[c->n++];
	ad->addr = a;
	ad->ready = c->publish || cc_pod_ready(pod);
	ad->ports = sorted_ports(ports);
	ad->sig = obj_print(ad->ports, OBJ_PRINT_SORTED);
	return 0;
}

static int cmp_addr(const void *a, const void *b)
{
	const struct addr *x = a, *y = b;
	int c = strcmp(x->sig, y->sig);
	if (c)
		return c;
	return strcmp(obj_get_str(x->addr, "ip"), obj_get_str(y->addr, "ip"));
}

/* Subsets as upstream packs them: one per distinct port set, addresses sorted, at most
 * MAX_ADDRESSES addresses in all (ready ones first). */
static cJSON *pack(struct collect *c, bool *truncated)
{
	if (c->n)
		qsort(c->v, c->n, sizeof(*c->v), cmp_addr);
	size_t ready = 0;
	for (size_t i = 0; i < c->n; i++)
		ready += c->v[i].ready;
	size_t keep_ready = MIN(ready, (size_t)MAX_ADDRESSES);
	size_t keep_not = MIN(c->n - ready, (size_t)MAX_ADDRESSES - keep_ready);
	*truncated = c->n > MAX_ADDRESSES;
	cJSON *subsets = cJSON_CreateArray();
	cJSON *cur = NULL;
	const char *cur_sig = NULL;
	for (size_t i = 0; i < c->n; i++) {
		struct addr *a = &c->v[i];
		if (a->ready ? !keep_ready : !keep_not)
			continue;
		if (a->ready)
			keep_ready--;
		else
			keep_not--;
		if (!cur || strcmp(cur_sig, a->sig)) {
			cur = cJSON_CreateObject();
			cJSON_AddItemToArray(subsets, cur);
			cur_sig = a->sig;
			if (a->ports->child)
				cJSON_AddItemToObject(cur, "ports",
				                      cJSON_Duplicate(a->ports, true));
		}
		const char *list = a->ready ? "addresses" : "notReadyAddresses";
		cJSON *arr = cJSON_GetObjectItemCaseSensitive(cur, list);
		if (!arr)
			arr = cJSON_AddArrayToObject(cur, list);
		cJSON_AddItemToArray(arr, cJSON_Duplicate(a->addr, true));
	}
	return subsets;
}

static void collect_free(struct collect *c)
{
	for (size_t i = 0; i < c->n; i++) {
		cJSON_Delete(c->v[i].addr);
		cJSON_Delete(c->v[i].ports);
		free(c->v[i].sig);
	}
	free(c->v);
	strmap_free(&c->seen);
}

static int write_then(struct cc_ctl *b, const char *key, int code, const char *msg, cJSON *obj,
                      void *arg)
{
	struct ctrl_endpoints *x = (struct ctrl_endpoints *)b;
	if ((code >= 200 && code < 300) || (arg && code == 404))
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
		client_event(b->c, b->component, svc, "Warning", "FailedToUpdateEndpoint",
		             "Failed to update endpoint %s/%s: %s", ns, name, msg ? msg : "");
	return -1;
}

static bool empty(const cJSON *v)
{
	return !v || cJSON_IsNull(v) || ((cJSON_IsArray(v) || cJSON_IsObject(v)) && !v->child);
}

static bool same(const cJSON *a, const cJSON *b)
{
	return (empty(a) && empty(b)) || (a && b && obj_equal(a, b));
}

static int sync_service(struct cc_ctl *b, const char *key)
{
	struct ctrl_endpoints *x = (struct ctrl_endpoints *)b;
	char buf[512];
	const char *ns, *name;
	cc_split_key(key, buf, sizeof(buf), &ns, &name);
	if (!ns || (!strcmp(ns, "default") && !strcmp(name, "kubernetes")))
		return 0;
	const cJSON *svc = cc_get(svc_inf(x), ns, name);
	cJSON *cur = client_get(b->c, x->epk, ns, name);
	if (!svc) {
		/* The Service is gone: so are its Endpoints. */
		if (cur)
			cc_delete(b, key, x->epk, ns, name, -1, NULL, cc_uid(cur), write_then,
			          (void *)1);
		cJSON_Delete(cur);
		return 0;
	}
	if (!cc_service_selects(svc)) {
		/* Endpoints of Services without selectors are the user's. */
		cJSON_Delete(cur);
		return 0;
	}
	const cJSON *fam0 = cJSON_GetArrayItem(obj_get(svc, "spec.ipFamilies"), 0);
	struct collect c = { .svc = svc, .ns = ns };
	c.family = cJSON_IsString(fam0) ? fam0->valuestring : "IPv4";
	obj_get_bool(svc, "spec.publishNotReadyAddresses", &c.publish);
	if (sel_from_map(obj_get(svc, "spec.selector"), &c.sel, NULL) < 0) {
		cJSON_Delete(cur);
		return 0;
	}
	cc_each(ctrl_informers_get(b->inf, x->podk), collect_pod, &c);
	sel_free(c.sel);
	bool truncated;
	cJSON *subsets = pack(&c, &truncated);
	collect_free(&c);

	cJSON *labels = cJSON_CreateObject();
	const cJSON *l;
	cJSON_ArrayForEach(l, obj_get(svc, "metadata.labels"))
	{
		if (cJSON_IsString(l) && strcmp(l->string, LABEL_HEADLESS) &&
		    strcmp(l->string, LABEL_SKIP_MIRROR))
			cJSON_AddStringToObject(labels, l->string, l->valuestring);
	}
	/* The mirroring controller is to leave Endpoints we manage alone. */
	cJSON_AddStringToObject(labels, LABEL_SKIP_MIRROR, "true");
	const char *cip = obj_get_str(svc, "spec.clusterIP");
	if (cip && !strcmp(cip, "None"))
		cJSON_AddStringToObject(labels, LABEL_HEADLESS, "");

	const char *over = obj_get_str(cur, "metadata.annotations.endpoints\\.kubernetes\\.io/"
	                                    "over-capacity");
	if (cur && same(obj_get(cur, "subsets"), subsets) &&
	    same(obj_get(cur, "metadata.labels"), labels) && (over != NULL) == truncated) {
		cJSON_Delete(subsets);
		cJSON_Delete(labels);
		cJSON_Delete(cur);
		return 0;
	}
	cJSON *obj = cur ? cur : cJSON_CreateObject();
	if (!cur) {
		cJSON_AddStringToObject(obj, "apiVersion", "v1");
		cJSON_AddStringToObject(obj, "kind", "Endpoints");
		cJSON *m = cJSON_AddObjectToObject(obj, "metadata");
		cJSON_AddStringToObject(m, "name", name);
		cJSON_AddStringToObject(m, "namespace", ns);
	}
	cJSON *m = obj_get_mut(obj, "metadata");
	cJSON_DeleteItemFromObjectCaseSensitive(m, "labels");
	cJSON_AddItemToObject(m, "labels", labels);
	cJSON *ann = cJSON_GetObjectItemCaseSensitive(m, "annotations");
	if (truncated) {
		if (!cJSON_IsObject(ann)) {
			cJSON_DeleteItemFromObjectCaseSensitive(m, "annotations");
			ann = cJSON_AddObjectToObject(m, "annotations");
		}
		cJSON_DeleteItemFromObjectCaseSensitive(ann, ANN_OVER_CAPACITY);
		cJSON_AddStringToObject(ann, ANN_OVER_CAPACITY, "truncated");
	} else if (cJSON_IsObject(ann)) {
		cJSON_DeleteItemFromObjectCaseSensitive(ann, ANN_OVER_CAPACITY);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "subsets");
	if (subsets->child)
		cJSON_AddItemToObject(obj, "subsets", subsets);
	else
		cJSON_Delete(subsets);
	if (cur)
		cc_update(b, key, x->epk, ns, name, NULL, obj, write_then, NULL);
	else
		cc_create(b, key, x->epk, ns, obj, write_then, NULL);
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
	struct ctrl_endpoints *x = arg;
	cc_services_for_pod(svc_inf(x), pod, enqueue_svc, x);
}

static void on_pod_update(void *arg, const cJSON *old, const cJSON *pod)
{
	struct ctrl_endpoints *x = arg;
	cc_services_for_pod(svc_inf(x), pod, enqueue_svc, x);
	if (!obj_equal(obj_get(old, "metadata.labels"), obj_get(pod, "metadata.labels")))
		cc_services_for_pod(svc_inf(x), old, enqueue_svc, x);
}

/* Endpoints changed or removed behind our back are put right by their Service. */
static void on_ep(void *arg, const cJSON *ep)
{
	struct ctrl_endpoints *x = arg;
	const char *ns = cc_ns(ep), *name = cc_name(ep);
	if (ns && name && cc_get(svc_inf(x), ns, name))
		cc_enqueue_obj(&x->b, ep);
}

static void on_ep_update(void *arg, const cJSON *old, const cJSON *ep)
{
	on_ep(arg, ep);
}

static int resync_one(void *arg, const cJSON *svc)
{
	cc_enqueue_obj(arg, svc);
	return 0;
}

static void resync(struct cc_ctl *b)
{
	struct ctrl_endpoints *x = (struct ctrl_endpoints *)b;
	cc_each(svc_inf(x), resync_one, x);
}

static void destroy(struct cc_ctl *b)
{
	cc_fini(b);
	free(b);
}

int ctrl_endpoints_start(struct ctrl_informers *f, const struct ctrl_cluster_opts *o,
                         struct ctrl_endpoints **out, struct err *e)
{
	struct ctrl_endpoints *x = xcalloc(1, sizeof(*x));
	cc_init(&x->b, f, o, "endpoint-controller");
	x->b.sync = sync_service;
	x->b.resync = resync;
	x->b.destroy = destroy;
	x->svck = cc_kind("", "services");
	x->podk = cc_kind("", "pods");
	x->epk = cc_kind("", "endpoints");
	struct informer_handlers hs = { on_svc, on_svc_update, on_svc, NULL, x };
	struct informer_handlers hp = { on_pod, on_pod_update, on_pod, NULL, x };
	struct informer_handlers he = { on_ep, on_ep_update, on_ep, NULL, x };
	if (!x->svck || !x->podk || !x->epk || cc_watch(&x->b, "", "services", &hs) ||
	    cc_watch(&x->b, "", "pods", &hp) || cc_watch(&x->b, "", "endpoints", &he)) {
		cc_stop(&x->b);
		return err_set(e, -ENOENT, "endpoints controller: a kind it needs is not served");
	}
	cc_start(&x->b);
	*out = x;
	return 0;
}

void ctrl_endpoints_stop(struct ctrl_endpoints *x)
{
	if (x)
		cc_stop(&x->b);
}
