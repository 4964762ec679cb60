/* admit: what happens to an object between validation and storage that needs the rest of the
 * cluster: namespace lifecycle, Service IP and node port allocation, limit ranges, quota.
 * Allocations are keys in the store written in the same transaction as the object, so two
 * Services can never get the same address, even when created at the same moment. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "core/api/api-internal.h"
#include "core/obj/obj.h"

#define IP_PREFIX "/registry/ipalloc/services/"
#define PORT_PREFIX "/registry/ipalloc/nodeports/"

static bool key_exists(struct api *a, const char *key, char **val)
{
	struct store_snap *sn;
	struct store_kv kv;
	bool found = false;
	if (store_snap_begin(a->store, 0, &sn, NULL) < 0)
		return false;
	if (store_snap_get(sn, key, &kv) == 0) {
		found = true;
		if (val)
			*val = xstrndup(kv.val, kv.val_len);
	}
	store_snap_end(sn);
	return found;
}

struct extras {
	struct store_op *ops;
	size_t *n;
	char **owned;
	size_t nowned;
};

static void add_op(struct extras *x, enum store_op_type type, char *key, char *val, int64_t expect)
{
	if (*x->n >= API_MAX_EXTRA) {
		free(key);
		free(val);
		return;
	}
	x->owned[x->nowned++] = key;
	if (val)
		x->owned[x->nowned++] = val;
	x->ops[(*x->n)++] = (struct store_op){ type, key, val, val ? strlen(val) : 0, expect };
}

static uint32_t rand32(void)
{
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint32_t)time_mono_us() * 2654435761u;
	return r;
}

static const char *owner_of(const cJSON *obj, char *out, size_t n)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	snprintf(out, n, "%s/%s", api_str(m, "namespace") ? api_str(m, "namespace") : "",
	         api_str(m, "name") ? api_str(m, "name") : "");
	return out;
}

/* --- Services ---------------------------------------------------------------------- */

static bool in_range(struct api *a, const char *ip, uint32_t *host)
{
	struct in_addr in;
	if (inet_pton(AF_INET, ip, &in) != 1)
		return false;
	uint32_t h = ntohl(in.s_addr);
	if ((h & a->svc_mask) != a->svc_net || h == a->svc_net || h == (a->svc_net | ~a->svc_mask))
		return false;
	if (host)
		*host = h;
	return true;
}

static void set_cluster_ip(cJSON *spec, const char *ip_in)
{
	char ip[64];
	snprintf(ip, sizeof(ip), "%s", ip_in); /* ip_in may live in spec itself */
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "clusterIP");
	cJSON_AddStringToObject(spec, "clusterIP", ip);
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "clusterIPs");
	cJSON *ips = cJSON_AddArrayToObject(spec, "clusterIPs");
	cJSON_AddItemToArray(ips, cJSON_CreateString(ip));
}

static int admit_service(struct api *a, cJSON *obj, const cJSON *old, struct extras *x,
                         struct api_status *st)
{
	cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
	const cJSON *ospec = cJSON_GetObjectItemCaseSensitive(old, "spec");
	char owner[512], key[128];
	if (!cJSON_IsObject(spec))
		return 0;
	owner_of(obj, owner, sizeof(owner));
	const char *type = api_str(spec, "type");
	bool external = type && !strcmp(type, "ExternalName");
	const char *ip = api_str(spec, "clusterIP");
	const char *oip = api_str(ospec, "clusterIP");

	/* An update keeps the address it has unless it becomes an ExternalName. */
	if (old && (!ip || !*ip) && oip && *oip && !external) {
		set_cluster_ip(spec, oip);
		ip = api_str(spec, "clusterIP");
	}
	if (external) {
		if (oip && *oip && strcmp(oip, "None")) {
			snprintf(key, sizeof(key), IP_PREFIX "%s", oip);
			if (key_exists(a, key, NULL))
				add_op(x, STORE_DELETE, xstrdup(key), NULL, STORE_ANY);
		}
	} else if (ip && !strcmp(ip, "None")) {
		/* headless */
	} else if (ip && *ip) {
		if (!(oip && !strcmp(ip, oip))) {
			if (!in_range(a, ip, NULL))
				return api_fail(
				    st, 422, "Invalid",
				    "Service \"%s\" is invalid: spec.clusterIPs: Invalid "
				    "value: []string{\"%s\"}: failed to allocate IP %s: "
				    "provided IP is not in the valid range",
				    strchr(owner, '/') + 1, ip, ip);
			snprintf(key, sizeof(key), IP_PREFIX "%s", ip);
			char *holder = NULL;
			if (key_exists(a, key, &holder) && strcmp(holder, owner)) {
				free(holder);
				return api_fail(
				    st, 422, "Invalid",
				    "Service \"%s\" is invalid: spec.clusterIPs: Invalid "
				    "value: []string{\"%s\"}: failed to allocate IP %s: "
				    "provided IP is already allocated",
				    strchr(owner, '/') + 1, ip, ip);
			}
			free(holder);
			add_op(x, STORE_PUT, xstrdup(key), xstrdup(owner), STORE_ABSENT);
			set_cluster_ip(spec, ip);
		}
	} else {
		uint32_t size = ~a->svc_mask + 1, h = 0;
		char buf[INET_ADDRSTRLEN];
		bool found = false;
		/* Random probes; .1 belongs to the kubernetes Service. */
		for (int i = 0; i < 256 && !found; i++) {
			uint32_t off = 2 + rand32() % (size - 3);
			h = a->svc_net + off;
			struct in_addr in = { htonl(h) };
			inet_ntop(AF_INET, &in, buf, sizeof(buf));
			snprintf(key, sizeof(key), IP_PREFIX "%s", buf);
			found = !key_exists(a, key, NULL);
		}
		if (!found)
			return api_fail(st, 500, "InternalError",
			                "failed to allocate a serviceIP: range is full");
		add_op(x, STORE_PUT, xstrdup(key), xstrdup(owner), STORE_ABSENT);
		set_cluster_ip(spec, buf);
	}

	/* Node ports for NodePort and LoadBalancer Services. */
	bool wants_ports = type && (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer"));
	cJSON *ports = cJSON_GetObjectItemCaseSensitive(spec, "ports");
	const cJSON *oports = cJSON_GetObjectItemCaseSensitive(ospec, "ports");
	const char *otype = api_str(ospec, "type");
	bool had_ports = otype && (!strcmp(otype, "NodePort") || !strcmp(otype, "LoadBalancer"));
	cJSON *p;
	int keep[64], nkeep = 0;
	cJSON *plist = wants_ports ? ports : NULL;
	cJSON_ArrayForEach(p, plist)
	{
		cJSON *np = cJSON_GetObjectItemCaseSensitive(p, "nodePort");
		int port = cJSON_IsNumber(np) ? (int)np->valuedouble : 0;
		/* On update, a port without nodePort keeps the one it had under the same name/port. */
		if (!port && had_ports) {
			const cJSON *op;
			cJSON_ArrayForEach(op, oports)
			{
				const cJSON *a1 = cJSON_GetObjectItemCaseSensitive(op, "port");
				const cJSON *a2 = cJSON_GetObjectItemCaseSensitive(p, "port");
				if (cJSON_IsNumber(a1) && cJSON_IsNumber(a2) &&
				    a1->valuedouble == a2->valuedouble) {
					const cJSON *onp =
					    cJSON_GetObjectItemCaseSensitive(op, "nodePort");
					if (cJSON_IsNumber(onp))
						port = (int)onp->valuedouble;
				}
			}
		}
		if (port) {
			if (port < a->np_min || port > a->np_max)
				return api_fail(
				    st, 422, "Invalid",
				    "Service \"%s\" is invalid: spec.ports[0].nodePort: "
				    "Invalid value: %d: provided port is not in the valid "
				    "range. The range of valid ports is %d-%d",
				    strchr(owner, '/') + 1, port, a->np_min, a->np_max);
			snprintf(key, sizeof(key), PORT_PREFIX "%d", port);
			char *holder = NULL;
			bool taken = key_exists(a, key, &holder);
			if (taken && strcmp(holder, owner)) {
				free(holder);
				return api_fail(
				    st, 422, "Invalid",
				    "Service \"%s\" is invalid: spec.ports[0].nodePort: "
				    "Invalid value: %d: provided port is already allocated",
				    strchr(owner, '/') + 1, port);
			}
			free(holder);
			if (!taken)
				add_op(x, STORE_PUT, xstrdup(key), xstrdup(owner), STORE_ABSENT);
		} else {
			bool found = false;
			for (int i = 0; i < 256 && !found; i++) {
				port = a->np_min +
				       (int)(rand32() % (uint32_t)(a->np_max - a->np_min + 1));
				snprintf(key, sizeof(key), PORT_PREFIX "%d", port);
				found = !key_exists(a, key, NULL);
			}
			if (!found)
				return api_fail(st, 500, "InternalError",
				                "failed to allocate a nodePort: range is full");
			add_op(x, STORE_PUT, xstrdup(key), xstrdup(owner), STORE_ABSENT);
		}
		cJSON_DeleteItemFromObjectCaseSensitive(p, "nodePort");
		cJSON_AddNumberToObject(p, "nodePort", port);
		if (nkeep < 64)
			keep[nkeep++] = port;
	}
	/* Ports the old object held and the new one no longer uses go back. */
	const cJSON *oplist = had_ports ? oports : NULL;
	cJSON_ArrayForEach(p, oplist)
	{
		const cJSON *np = cJSON_GetObjectItemCaseSensitive(p, "nodePort");
		if (!cJSON_IsNumber(np))
			continue;
		int port = (int)np->valuedouble;
		bool kept = false;
		for (int i = 0; i < nkeep; i++)
			kept |= keep[i] == port;
		snprintf(key, sizeof(key), PORT_PREFIX "%d", port);
		if (!kept && key_exists(a, key, NULL))
			add_op(x, STORE_DELETE, xstrdup(key), NULL, STORE_ANY);
	}
	return 0;
}

/* --- limit ranges ------------------------------------------------------------------ */

/* The 403 admission failures are, as upstream's admission.NewForbidden words them. */
static int forbidden(struct api_status *st, const struct reg_kind *k, const cJSON *obj,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int forbidden(struct api_status *st, const struct reg_kind *k, const cJSON *obj,
                     const char *fmt, ...)
{
	char why[768], res[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (k->group[0])
		snprintf(res, sizeof(res), "%s.%s", k->resource, k->group);
	else
		snprintf(res, sizeof(res), "%s", k->resource);
	const char *name = api_str(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "name");
	return api_fail(st, 403, "Forbidden", "%s \"%s\" is forbidden: %s", res, name ? name : "",
	                why);
}

static int cmp_item_name(const void *a, const void *b)
{
	return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

struct lr_walk {
	cJSON *obj;
	bool pod;
	struct buf errs; /* "msg, msg" */
	int nerrs;
};

static void lr_err(struct lr_walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void lr_err(struct lr_walk *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (w->nerrs++)
		buf_adds(&w->errs, ", ");
	buf_vprintf(&w->errs, fmt, ap);
	va_end(ap);
}

static bool qty_at(const cJSON *list, const char *name, struct qty *q)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(list, name);
	return v && qty_from_json(v, q, NULL) == 0;
}

/* Gives a container the defaults it lacks; notes what was set for the annotation. */
static void lr_defaults(cJSON *c, const cJSON *item, const char *what, struct buf *note)
{
	static const char *const from[] = { "defaultRequest", "default" };
	static const char *const to[] = { "requests", "limits" };
	static const char *const word[] = { "request", "limit" };
	for (int i = 0; i < 2; i++) {
		const cJSON *defs = obj_get(item, from[i]), *d;
		if (!cJSON_IsObject(defs) || !defs->child)
			continue;
		cJSON *res = obj_get_mut(c, "resources");
		if (!cJSON_IsObject(res)) {
			cJSON_DeleteItemFromObjectCaseSensitive(c, "resources");
			res = cJSON_AddObjectToObject(c, "resources");
		}
		cJSON *list = cJSON_GetObjectItemCaseSensitive(res, to[i]);
		if (!cJSON_IsObject(list)) {
			cJSON_DeleteItemFromObjectCaseSensitive(res, to[i]);
			list = cJSON_AddObjectToObject(res, to[i]);
		}
		struct buf set = { 0 };
		/* Names in sorted order, as upstream's annotation lists them. */
		const cJSON *sorted[32];
		size_t n = 0;
		cJSON_ArrayForEach(d, defs)
		{
			if (!cJSON_GetObjectItemCaseSensitive(list, d->string) &&
			    n < ARRAY_SIZE(sorted))
				sorted[n++] = d;
		}
		if (n)
			qsort(sorted, n, sizeof(*sorted), cmp_item_name);
		for (size_t j = 0; j < n; j++) {
			cJSON_AddItemToObject(list, sorted[j]->string,
			                      cJSON_Duplicate(sorted[j], true));
			buf_printf(&set, "%s%s", set.len ? ", " : "", sorted[j]->string);
		}
		if (set.len)
			buf_printf(note, "%s%s %s for %s %s", note->len ? "; " : "", set.data,
			           word[i], what,
			           obj_get_str(c, "name") ? obj_get_str(c, "name") : "");
		buf_free(&set);
	}
}

/* min, max and maxLimitRequestRatio of one item against requests and limits, as upstream's
 * minConstraint, maxConstraint and limitRequestRatioConstraint word them. */
static void lr_check(struct lr_walk *w, const cJSON *item, const char *type, const cJSON *req,
                     const cJSON *lim, bool pvc)
{
	const cJSON *e;
	char a[QTY_STR_MAX], b[QTY_STR_MAX];
	cJSON_ArrayForEach(e, obj_get(item, "min"))
	{
		struct qty want, r, l;
		if (qty_from_json(e, &want, NULL) < 0)
			continue;
		qty_format(&want, a);
		if (!qty_at(req, e->string, &r))
			lr_err(w, "minimum %s usage per %s is %s.  No request is specified",
			       e->string, type, a);
		else if (qty_cmp(&r, &want) < 0)
			lr_err(w, "minimum %s usage per %s is %s, but request is %s", e->string,
			       type, a, qty_format(&r, b));
		else if (qty_at(lim, e->string, &l) && qty_cmp(&l, &want) < 0)
			lr_err(w, "minimum %s usage per %s is %s, but limit is %s", e->string, type,
			       a, qty_format(&l, b));
	}
	cJSON_ArrayForEach(e, obj_get(item, "max"))
	{
		struct qty want, r, l;
		if (qty_from_json(e, &want, NULL) < 0)
			continue;
		qty_format(&want, a);
		if (pvc) {
			/* Claims state requests only. */
			if (!qty_at(req, e->string, &r))
				lr_err(w, "maximum %s usage per %s is %s.  No request is specified",
				       e->string, type, a);
			else if (qty_cmp(&r, &want) > 0)
				lr_err(w, "maximum %s usage per %s is %s, but request is %s",
				       e->string, type, a, qty_format(&r, b));
			continue;
		}
		if (!qty_at(lim, e->string, &l))
			lr_err(w, "maximum %s usage per %s is %s.  No limit is specified",
			       e->string, type, a);
		else if (qty_cmp(&l, &want) > 0)
			lr_err(w, "maximum %s usage per %s is %s, but limit is %s", e->string, type,
			       a, qty_format(&l, b));
		else if (qty_at(req, e->string, &r) && qty_cmp(&r, &want) > 0)
			lr_err(w, "maximum %s usage per %s is %s, but request is %s", e->string,
			       type, a, qty_format(&r, b));
	}
	const cJSON *ratios = pvc ? NULL : obj_get(item, "maxLimitRequestRatio");
	cJSON_ArrayForEach(e, ratios)
	{
		struct qty want, r, l;
		int64_t rm = 0, lm = 0, wm = 0;
		if (qty_from_json(e, &want, NULL) < 0)
			continue;
		qty_format(&want, a);
		qty_milli(&want, &wm);
		if (!qty_at(req, e->string, &r) || qty_milli(&r, &rm) < 0 || !rm)
			lr_err(w,
			       "%s max limit to request ratio per %s is %s, but no request is "
			       "specified "
			       "or request is 0",
			       e->string, type, a);
		else if (!qty_at(lim, e->string, &l) || qty_milli(&l, &lm) < 0 || !lm)
			lr_err(w,
			       "%s max limit to request ratio per %s is %s, but no limit is "
			       "specified or "
			       "limit is 0",
			       e->string, type, a);
		else if ((double)lm / (double)rm * 1000.0 > (double)wm)
			lr_err(
			    w,
			    "%s max limit to request ratio per %s is %s, but provided ratio is %f",
			    e->string, type, a, (double)lm / (double)rm);
	}
}

/* A ResourceList of the pod's containers added up (init containers at their peak), for
 * the limits of type Pod. */
static cJSON *pod_total(const cJSON *pod, const char *which)
{
	cJSON *total = cJSON_CreateObject();
	char path[64];
	snprintf(path, sizeof(path), "resources.%s", which);
	const cJSON *c, *r;
	cJSON_ArrayForEach(c, obj_get(pod, "spec.containers"))
	{
		cJSON_ArrayForEach(r, obj_get(c, path))
		{
			struct qty q, sum = { 0 };
			if (qty_from_json(r, &q, NULL) < 0)
				continue;
			qty_at(total, r->string, &sum);
			if (qty_add(&sum, &q) < 0)
				continue;
			char t[QTY_STR_MAX];
			cJSON_DeleteItemFromObjectCaseSensitive(total, r->string);
			cJSON_AddStringToObject(total, r->string, qty_format(&sum, t));
		}
	}
	cJSON_ArrayForEach(c, obj_get(pod, "spec.initContainers"))
	{
		cJSON_ArrayForEach(r, obj_get(c, path))
		{
			struct qty q, have = { 0 };
			if (qty_from_json(r, &q, NULL) < 0)
				continue;
			if (qty_at(total, r->string, &have) && qty_cmp(&have, &q) >= 0)
				continue;
			char t[QTY_STR_MAX];
			cJSON_DeleteItemFromObjectCaseSensitive(total, r->string);
			cJSON_AddStringToObject(total, r->string, qty_format(&q, t));
		}
	}
	return total;
}

static int lr_one(void *arg, cJSON *lr)
{
	struct lr_walk *w = arg;
	const cJSON *item;
	static const char *const lists[] = { "spec.containers", "spec.initContainers" };
	static const char *const what[] = { "container", "init container" };
	if (w->pod) {
		/* Defaults first (mutating), then the bounds (validating), as upstream's plugin. */
		struct buf note = { 0 };
		cJSON_ArrayForEach(item, obj_get(lr, "spec.limits"))
		{
			const char *type = obj_get_str(item, "type");
			if (!type || strcmp(type, "Container"))
				continue;
			for (int l = 0; l < 2; l++) {
				cJSON *c;
				cJSON_ArrayForEach(c, obj_get_mut(w->obj, lists[l]))
				{
					lr_defaults(c, item, what[l], &note);
				}
			}
		}
		if (note.len) {
			cJSON *meta = api_meta(w->obj);
			cJSON *ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
			if (!cJSON_IsObject(ann)) {
				cJSON_DeleteItemFromObjectCaseSensitive(meta, "annotations");
				ann = cJSON_AddObjectToObject(meta, "annotations");
			}
			cJSON_DeleteItemFromObjectCaseSensitive(ann, "kubernetes.io/limit-ranger");
			char *v = xasprintf("LimitRanger plugin set: %s", note.data);
			cJSON_AddStringToObject(ann, "kubernetes.io/limit-ranger", v);
			free(v);
		}
		buf_free(&note);
	}
	cJSON_ArrayForEach(item, obj_get(lr, "spec.limits"))
	{
		const char *type = obj_get_str(item, "type");
		if (!type)
			continue;
		if (w->pod && !strcmp(type, "Container")) {
			for (int l = 0; l < 2; l++) {
				const cJSON *c;
				cJSON_ArrayForEach(c, obj_get(w->obj, lists[l]))
				{
					lr_check(w, item, type, obj_get(c, "resources.requests"),
					         obj_get(c, "resources.limits"), false);
				}
			}
		} else if (w->pod && !strcmp(type, "Pod")) {
			cJSON *req = pod_total(w->obj, "requests"),
			      *lim = pod_total(w->obj, "limits");
			lr_check(w, item, type, req, lim, false);
			cJSON_Delete(req);
			cJSON_Delete(lim);
		} else if (!w->pod && !strcmp(type, "PersistentVolumeClaim")) {
			lr_check(w, item, type, obj_get(w->obj, "spec.resources.requests"), NULL,
			         true);
		}
	}
	return 0;
}

/* Defaults from a request that went over its limit make a pod the validation would have
 * refused, had the limit been there: refused the same way. */
static int check_requests_within_limits(const cJSON *pod, struct api_status *st)
{
	static const char *const lists[] = { "containers", "initContainers" };
	for (int l = 0; l < 2; l++) {
		char path[32];
		snprintf(path, sizeof(path), "spec.%s", lists[l]);
		const cJSON *c;
		int i = 0;
		cJSON_ArrayForEach(c, obj_get(pod, path))
		{
			const cJSON *r, *lim = obj_get(c, "resources.limits");
			cJSON_ArrayForEach(r, obj_get(c, "resources.requests"))
			{
				struct qty rq, lq;
				char a[QTY_STR_MAX], b[QTY_STR_MAX];
				if (qty_from_json(r, &rq, NULL) < 0 ||
				    !qty_at(lim, r->string, &lq) || qty_cmp(&rq, &lq) <= 0)
					continue;
				return api_fail(
				    st, 422, "Invalid",
				    "Pod \"%s\" is invalid: spec.%s[%d].resources.requests[%s]: "
				    "Invalid value: \"%s\": must be less than or equal to %s "
				    "limit of %s",
				    obj_get_str(pod, "metadata.name")
				        ? obj_get_str(pod, "metadata.name")
				        : "",
				    lists[l], i, r->string, qty_format(&rq, a), r->string,
				    qty_format(&lq, b));
			}
			i++;
		}
	}
	return 0;
}

static int admit_limitrange(struct api *a, const struct reg_kind *k, const char *ns, cJSON *obj,
                            struct api_status *st)
{
	bool pod = !strcmp(k->resource, "pods");
	const struct reg_kind *lrk = reg_lookup("", "v1", "limitranges");
	if (!lrk)
		return 0;
	struct lr_walk w = { .obj = obj, .pod = pod };
	struct api_target t = { lrk, ns, NULL, NULL };
	struct api_list_opts lo = { 0 };
	struct api_status ls = { 0 };
	int rc = api_list_each(a, &t, &lo, lr_one, &w, NULL, &ls);
	api_status_clear(&ls);
	if (rc < 0) {
		buf_free(&w.errs);
		return forbidden(st, k, obj,
		                 "unable to create %s at this time because there was an error "
		                 "enforcing limit ranges",
		                 k->resource);
	}
	if (w.nerrs) {
		rc = forbidden(st, k, obj, "%s%s%s", w.nerrs > 1 ? "[" : "", w.errs.data,
		               w.nerrs > 1 ? "]" : "");
		buf_free(&w.errs);
		return rc;
	}
	buf_free(&w.errs);
	if (!pod)
		return 0;
	if (check_requests_within_limits(obj, st) < 0)
		return -1;
	/* Defaults change the QoS class the pod was created with. */
	cJSON *status = cJSON_GetObjectItemCaseSensitive(obj, "status");
	if (cJSON_IsObject(status)) {
		cJSON_DeleteItemFromObjectCaseSensitive(status, "qosClass");
		cJSON_AddStringToObject(status, "qosClass", obj_qos_name(obj_pod_qos(obj)));
	}
	return 0;
}

/* --- resource quota ---------------------------------------------------------------- */

/* "a=1,b=2" for the members of list named in names (all when NULL), sorted as upstream's
 * prettyPrint sorts them. */
static void pretty(const cJSON *list, const cJSON *names, struct buf *out)
{
	size_t n = 0, i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, list) n++;
	const cJSON **v = xcalloc(n + 1, sizeof(*v));
	cJSON_ArrayForEach(it, list)
	{
		if (!names || cJSON_GetObjectItemCaseSensitive(names, it->string))
			v[i++] = it;
	}
	if (i)
		qsort(v, i, sizeof(*v), cmp_item_name);
	for (size_t j = 0; j < i; j++)
		buf_printf(out, "%s%s=%s", j ? "," : "", v[j]->string,
		           cJSON_IsString(v[j]) ? v[j]->valuestring : "");
	free(v);
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Upstream's backward-compatible rule: when a quota limits cpu or memory, every container
 * must say what it requests (or limits) of them. */
static int pod_constraints(const cJSON *pod, const cJSON *restricted, struct buf *missing)
{
	/* Sorted, as upstream lists the missing ones. */
	static const char *const checked[] = { "cpu",    "limits.cpu",   "limits.memory",
		                               "memory", "requests.cpu", "requests.memory" };
	static const char *const lists[] = { "spec.containers", "spec.initContainers" };
	for (size_t r = 0; r < ARRAY_SIZE(checked); r++) {
		if (!cJSON_GetObjectItemCaseSensitive(restricted, checked[r]))
			continue;
		const char *res =
		    strchr(checked[r], '.') ? strchr(checked[r], '.') + 1 : checked[r];
		const char *where =
		    !strncmp(checked[r], "limits.", 7) ? "resources.limits" : "resources.requests";
		const char *names[64];
		size_t n = 0;
		for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
			const cJSON *c;
			cJSON_ArrayForEach(c, obj_get(pod, lists[l]))
			{
				const char *cn = obj_get_str(c, "name");
				if (!cJSON_GetObjectItemCaseSensitive(obj_get(c, where), res) &&
				    n < ARRAY_SIZE(names))
					names[n++] = cn ? cn : "";
			}
		}
		if (!n)
			continue;
		qsort(names, n, sizeof(*names), cmp_cstr);
		buf_printf(missing, "%s%s for: ", missing->len ? "; " : "", checked[r]);
		for (size_t i = 0; i < n; i++)
			if (!i || strcmp(names[i], names[i - 1]))
				buf_printf(missing, "%s%s", i ? "," : "", names[i]);
	}
	return missing->len ? -1 : 0;
}

struct quota_walk {
	struct api *a;
	const struct reg_kind *k, *rqk;
	const cJSON *obj;
	cJSON *delta;
	struct extras *x;
	struct api_status *st;
	int rc;
};

/* One quota: refuses the object if it would go over, else charges it in the same
 * transaction, guarded by the quota's revision (a concurrent charge makes the create retry
 * and be admitted against the new total). */
static int quota_one(void *arg, cJSON *q)
{
	struct quota_walk *w = arg;
	const char *qname = obj_get_str(q, "metadata.name");
	const cJSON *hard = obj_get(q, "status.hard"), *used = obj_get(q, "status.used"), *h;
	if (!qname || !api_quota_selects(q, w->k, w->obj))
		return 0;
	cJSON *restricted = cJSON_CreateObject();
	cJSON_ArrayForEach(h, hard)
	{
		if (api_quota_tracks(w->k, h->string))
			cJSON_AddTrueToObject(restricted, h->string);
	}
	if (!restricted->child) {
		cJSON_Delete(restricted);
		return 0;
	}
	struct buf b = { 0 };
	if (!w->k->group[0] && !strcmp(w->k->resource, "pods") &&
	    pod_constraints(w->obj, restricted, &b) < 0) {
		w->rc = forbidden(w->st, w->k, w->obj, "failed quota: %s: must specify %s", qname,
		                  b.data);
		goto out;
	}
	cJSON_ArrayForEach(h, restricted)
	{
		if (!cJSON_GetObjectItemCaseSensitive(used, h->string)) {
			buf_reset(&b);
			const cJSON *r;
			cJSON **v = xcalloc((size_t)cJSON_GetArraySize(restricted) + 1, sizeof(*v));
			size_t n = 0;
			cJSON_ArrayForEach(r, restricted) v[n++] = (cJSON *)r;
			qsort(v, n, sizeof(*v), cmp_item_name);
			for (size_t i = 0; i < n; i++)
				buf_printf(&b, "%s%s", i ? "," : "", v[i]->string);
			free(v);
			w->rc =
			    forbidden(w->st, w->k, w->obj,
			              "status unknown for quota: %s, resources: %s", qname, b.data);
			goto out;
		}
	}
	/* What this object asks of the quota's resources, and the totals it would make. */
	cJSON *requested = cJSON_CreateObject(), *total = cJSON_CreateObject();
	bool over = false;
	cJSON *exceeded = cJSON_CreateObject();
	const cJSON *d;
	cJSON_ArrayForEach(d, w->delta)
	{
		const cJSON *lim = cJSON_GetObjectItemCaseSensitive(hard, d->string);
		if (!lim)
			continue;
		struct qty dq, uq = { 0 }, hq, sum;
		if (qty_from_json(d, &dq, NULL) < 0 || qty_from_json(lim, &hq, NULL) < 0)
			continue;
		qty_from_json(cJSON_GetObjectItemCaseSensitive(used, d->string), &uq, NULL);
		sum = uq;
		if (qty_add(&sum, &dq) < 0)
			sum = hq, over = true;
		char text[QTY_STR_MAX];
		cJSON_AddStringToObject(requested, d->string, qty_format(&dq, text));
		cJSON_AddStringToObject(total, d->string, qty_format(&sum, text));
		if (qty_cmp(&sum, &hq) > 0) {
			over = true;
			cJSON_AddTrueToObject(exceeded, d->string);
		}
	}
	if (over) {
		struct buf r = { 0 }, u = { 0 }, l = { 0 };
		pretty(requested, exceeded, &r);
		pretty(used, exceeded, &u);
		pretty(hard, exceeded, &l);
		w->rc = forbidden(w->st, w->k, w->obj,
		                  "exceeded quota: %s, requested: %s, used: %s, limited: %s", qname,
		                  r.data ? r.data : "", u.data ? u.data : "", l.data ? l.data : "");
		buf_free(&r);
		buf_free(&u);
		buf_free(&l);
	} else if (requested->child) {
		cJSON *copy = cJSON_Duplicate(q, true);
		cJSON *cu = obj_get_mut(copy, "status.used");
		const cJSON *t;
		cJSON_ArrayForEach(t, total)
		{
			cJSON_DeleteItemFromObjectCaseSensitive(cu, t->string);
			cJSON_AddStringToObject(cu, t->string, t->valuestring);
		}
		uint64_t rev = 0;
		const char *rv = obj_get_str(q, "metadata.resourceVersion");
		char key[STORE_MAX_KEY + 64];
		api_key(w->rqk, obj_get_str(q, "metadata.namespace"), qname, key, sizeof(key));
		size_t len;
		char *val = api_to_storage(copy, &len);
		cJSON_Delete(copy);
		if (rv && parse_u64(rv, &rev) && rev)
			add_op(w->x, STORE_PUT, xstrdup(key), val, (int64_t)rev);
		else
			free(val);
	}
	cJSON_Delete(requested);
	cJSON_Delete(total);
	cJSON_Delete(exceeded);
out:
	buf_free(&b);
	cJSON_Delete(restricted);
	return w->rc < 0 ? 1 : 0;
}

/* On update, only what grows is charged (a Service taking node ports, a claim growing). */
static cJSON *growth(const struct reg_kind *k, const cJSON *old, cJSON *now)
{
	cJSON *prev = cJSON_CreateObject(), *inc = cJSON_CreateObject();
	api_quota_usage(k, old, prev);
	const cJSON *d;
	cJSON_ArrayForEach(d, now)
	{
		struct qty q, p = { 0 };
		if (qty_from_json(d, &q, NULL) < 0)
			continue;
		qty_from_json(cJSON_GetObjectItemCaseSensitive(prev, d->string), &p, NULL);
		if (qty_sub(&q, &p) < 0 || q.neg || qty_is_zero(&q))
			continue;
		char text[QTY_STR_MAX];
		cJSON_AddStringToObject(inc, d->string, qty_format(&q, text));
	}
	cJSON_Delete(prev);
	cJSON_Delete(now);
	return inc;
}

static int admit_quota(struct api *a, const struct reg_kind *k, const char *ns, const cJSON *obj,
                       const cJSON *old, struct extras *x, struct api_status *st)
{
	const struct reg_kind *rqk = reg_lookup("", "v1", "resourcequotas");
	if (!rqk)
		return 0;
	struct quota_walk w = { a, k, rqk, obj, cJSON_CreateObject(), x, st, 0 };
	api_quota_usage(k, obj, w.delta);
	if (old) {
		w.delta = growth(k, old, w.delta);
		if (!w.delta->child) {
			cJSON_Delete(w.delta);
			return 0;
		}
	}
	struct api_target t = { rqk, ns, NULL, NULL };
	struct api_list_opts lo = { 0 };
	struct api_status ls = { 0 };
	if (api_list_each(a, &t, &lo, quota_one, &w, NULL, &ls) < 0 && !w.rc) {
		api_status_clear(&ls);
		w.rc = forbidden(st, k, obj,
		                 "unable to create %s at this time because there was an "
		                 "error enforcing quota",
		                 k->resource);
	}
	api_status_clear(&ls);
	cJSON_Delete(w.delta);
	return w.rc;
}

int api_admit(struct api *a, const struct reg_kind *k, cJSON *obj, const cJSON *old,
              struct store_op *extra, size_t *nextra, char **owned, struct api_status *st)
{
	struct extras x = { extra, nextra, owned, 0 };
	const char *ns = api_str(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "namespace");
	bool core = !k->group[0];

	*nextra = 0;
	if (!old && k->namespaced && ns) {
		const struct reg_kind *nsk = reg_lookup("", "v1", "namespaces");
		struct api_target t = { nsk, NULL, ns, NULL };
		struct api_status s2 = { 0 };
		cJSON *nsobj = NULL;
		if (!nsk || api_get(a, &t, &nsobj, &s2) < 0) {
			api_status_clear(&s2);
			snprintf(st->name, sizeof(st->name), "%s", ns);
			snprintf(st->kind, sizeof(st->kind), "namespaces");
			return api_fail(st, 404, "NotFound", "namespaces \"%s\" not found", ns);
		}
		bool terminating =
		    cJSON_GetObjectItemCaseSensitive(api_meta(nsobj), "deletionTimestamp") != NULL;
		cJSON_Delete(nsobj);
		/* Events may still be written about a namespace's last moments. */
		if (terminating && strcmp(k->resource, "events"))
			return api_fail(
			    st, 403, "Forbidden",
			    "unable to create new content in namespace %s because it is "
			    "being terminated",
			    ns);
	}
	if (core && !strcmp(k->resource, "services") && admit_service(a, obj, old, &x, st) < 0)
		return -1;
	/* LimitRanger before quota: its defaults are part of what the quota charges. */
	if (!old && core && ns &&
	    (!strcmp(k->resource, "pods") || !strcmp(k->resource, "persistentvolumeclaims")) &&
	    admit_limitrange(a, k, ns, obj, st) < 0)
		return -1;
	/* Quota last, as upstream's validating plugin: it charges the object as admitted. Creates,
	 * and the updates upstream charges: Services and claims whose charge grows. Other
	 * updates are counted by the quota controller. */
	bool charged_update = core && (!strcmp(k->resource, "services") ||
	                               !strcmp(k->resource, "persistentvolumeclaims"));
	if ((!old || charged_update) && k->namespaced && ns &&
	    admit_quota(a, k, ns, obj, old, &x, st) < 0)
		return -1;
	return 0;
}

void api_release(struct api *a, const struct reg_kind *k, const cJSON *obj, struct store_op *extra,
                 size_t *nextra, char **owned)
{
	struct extras x = { extra, nextra, owned, 0 };
	char key[128];
	*nextra = 0;
	if (k->group[0] || strcmp(k->resource, "services"))
		return;
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
	const char *ip = api_str(spec, "clusterIP");
	if (ip && *ip && strcmp(ip, "None")) {
		snprintf(key, sizeof(key), IP_PREFIX "%s", ip);
		if (key_exists(a, key, NULL))
			add_op(&x, STORE_DELETE, xstrdup(key), NULL, STORE_ANY);
	}
	const cJSON *p;
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(spec, "ports"))
	{
		const cJSON *np = cJSON_GetObjectItemCaseSensitive(p, "nodePort");
		if (!cJSON_IsNumber(np))
			continue;
		snprintf(key, sizeof(key), PORT_PREFIX "%d", (int)np->valuedouble);
		if (key_exists(a, key, NULL))
			add_op(&x, STORE_DELETE, xstrdup(key), NULL, STORE_ANY);
	}
}
