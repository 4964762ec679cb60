/* admit: what happens to an object between validation and storage that needs the rest of the
 * cluster: namespace lifecycle, Service IP and node port allocation, default pod tolerations.
 * Allocations are keys in the store written in the same transaction as the object, so two
 * Services can never get the same address, even when created at the same moment. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "core/api/api-internal.h"

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
	if (core && !strcmp(k->resource, "services"))
		return admit_service(a, obj, old, &x, st);
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
