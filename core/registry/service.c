/* service: strategies of services, endpoints and endpointslices. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/registry/registry-internal.h"

static const char *const protocols[] = { "SCTP", "TCP", "UDP", NULL };

/* --- services ------------------------------------------------------------------------------- */

static bool is_ipv6(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET6, s, buf) == 1;
}

static bool is_ipv4(const char *s)
{
	unsigned char buf[4];
	return inet_pton(AF_INET, s, buf) == 1;
}

/* LoadBalancer and NodePort services, and ClusterIP ones with external IPs. */
static bool externally_accessible(const cJSON *spec)
{
	const char *type = reg_at_strz(spec, "type");
	return !strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer") ||
	       (!strcmp(type, "ClusterIP") && reg_count(reg_get(spec, "externalIPs")) > 0);
}

static void svc_defaults(cJSON *obj)
{
	cJSON *spec = reg_obj(obj, "spec", true);
	if (!spec)
		return;
	reg_def_str(spec, "sessionAffinity", "None");
	const char *aff = reg_at_strz(spec, "sessionAffinity");
	if (!strcmp(aff, "None")) {
		cJSON_DeleteItemFromObjectCaseSensitive(spec, "sessionAffinityConfig");
	} else if (!strcmp(aff, "ClientIP")) {
		cJSON *cfg =
		    reg_obj(reg_obj(spec, "sessionAffinityConfig", true), "clientIP", true);
		reg_def_int(cfg, "timeoutSeconds", 10800);
	}
	reg_def_str(spec, "type", "ClusterIP");
	const char *type = reg_at_strz(spec, "type");
	cJSON *p;
	const cJSON *ports = reg_get(spec, "ports");
	cJSON_ArrayForEach(p, (cJSON_IsArray(ports) ? (cJSON *)ports : NULL))
	{
		if (!cJSON_IsObject(p))
			continue;
		reg_def_str(p, "protocol", "TCP");
		const cJSON *tp = reg_get(p, "targetPort");
		int64_t port, t;
		bool zero = !tp || (cJSON_IsString(tp) && !*tp->valuestring) ||
		            (reg_json_int(tp, &t) && t == 0);
		if (zero && reg_json_int(reg_get(p, "port"), &port))
			reg_set(p, "targetPort", cJSON_CreateNumber((double)port));
	}
	if (externally_accessible(spec))
		reg_def_str(spec, "externalTrafficPolicy", "Cluster");
	if (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer") ||
	    !strcmp(type, "ClusterIP"))
		reg_def_str(spec, "internalTrafficPolicy", "Cluster");
	if (!strcmp(type, "LoadBalancer"))
		reg_def_bool(spec, "allocateLoadBalancerNodePorts", true);

	/* clusterIP and clusterIPs[0] are one value written twice. */
	if (strcmp(type, "ExternalName") != 0) {
		const char *ip = reg_at_str(spec, "clusterIP");
		const cJSON *ips = reg_get(spec, "clusterIPs");
		if (ip && *ip && !ips) {
			cJSON *arr = cJSON_CreateArray();
			cJSON_AddItemToArray(arr, cJSON_CreateString(ip));
			reg_set(spec, "clusterIPs", arr);
		} else if ((!ip || !*ip) && cJSON_IsString(cJSON_GetArrayItem(ips, 0)) &&
		           cJSON_IsArray(ips)) {
			reg_def_str(spec, "clusterIP", cJSON_GetArrayItem(ips, 0)->valuestring);
		}
		ip = reg_at_strz(spec, "clusterIP");
		bool headless_selectorless =
		    !strcmp(ip, "None") && reg_count(reg_get(spec, "selector")) == 0;
		reg_def_str(spec, "ipFamilyPolicy",
		            headless_selectorless ? "RequireDualStack" : "SingleStack");
		/* Headless without a selector takes both families even on a single-stack cluster:
		 * its endpoints are the user's, of any family. */
		if (!reg_get(spec, "ipFamilies")) {
			cJSON *fam = cJSON_CreateArray();
			cJSON_AddItemToArray(fam,
			                     cJSON_CreateString(is_ipv6(ip) ? "IPv6" : "IPv4"));
			if (headless_selectorless &&
			    !strcmp(reg_at_strz(spec, "ipFamilyPolicy"), "RequireDualStack"))
				cJSON_AddItemToArray(fam, cJSON_CreateString("IPv6"));
			reg_set(spec, "ipFamilies", fam);
		}
	}
	reg_def_obj(reg_obj(obj, "status", true), "loadBalancer");
}

static void svc_prepare_create(cJSON *obj)
{
	cJSON *st = reg_reset_status(obj);
	if (st)
		cJSON_AddItemToObject(st, "loadBalancer", cJSON_CreateObject());
}

static bool needs_node_port(const cJSON *spec)
{
	const char *type = reg_at_strz(spec, "type");
	return !strcmp(type, "NodePort") ||
	       (!strcmp(type, "LoadBalancer") &&
	        reg_at_bool(spec, "allocateLoadBalancerNodePorts", true));
}

/* What a client may leave out on update and keep: the allocated IPs and node ports, as an
 * apply of the original manifest must not try to give them back. */
static void svc_prepare_update(cJSON *obj, const cJSON *old)
{
	cJSON *spec = reg_obj(obj, "spec", false);
	const cJSON *ospec = reg_at_obj(old, "spec");
	if (!spec || !ospec)
		return;
	bool cip = strcmp(reg_at_strz(spec, "type"), "ExternalName") != 0 &&
	           strcmp(reg_at_strz(ospec, "type"), "ExternalName") != 0;
	if (cip) {
		if (!*reg_at_strz(spec, "clusterIP") && reg_get(ospec, "clusterIP"))
			reg_set(spec, "clusterIP",
			        cJSON_Duplicate(reg_get(ospec, "clusterIP"), true));
		if (reg_count(reg_get(spec, "clusterIPs")) == 0 &&
		    reg_count(reg_get(ospec, "clusterIPs")) > 0)
			reg_set(spec, "clusterIPs",
			        cJSON_Duplicate(reg_get(ospec, "clusterIPs"), true));
	}
	if (needs_node_port(spec) && needs_node_port(ospec)) {
		const cJSON *ports = reg_get(spec, "ports");
		cJSON *p;
		cJSON_ArrayForEach(p, (cJSON_IsArray(ports) ? (cJSON *)ports : NULL))
		{
			int64_t np = 0;
			if (reg_json_int(reg_get(p, "nodePort"), &np) && np != 0)
				continue;
			const char *name = reg_at_strz(p, "name");
			const cJSON *op;
			cJSON_ArrayForEach(op, reg_at_arr(ospec, "ports"))
			{
				int64_t onp;
				if (strcmp(reg_at_strz(op, "name"), name) != 0 ||
				    !reg_json_int(reg_get(op, "nodePort"), &onp) || onp == 0)
					continue;
				/* Not if another new port already took it. */
				bool taken = false;
				const cJSON *q;
				cJSON_ArrayForEach(q, (cJSON *)ports)
				{
					taken |= reg_at_int(q, "nodePort", 0) == onp;
				}
				if (!taken)
					reg_set(p, "nodePort", cJSON_CreateNumber((double)onp));
				break;
			}
		}
	}
	if (!strcmp(reg_at_strz(spec, "type"), "LoadBalancer") &&
	    !strcmp(reg_at_strz(spec, "externalTrafficPolicy"), "Local") &&
	    reg_at_int(spec, "healthCheckNodePort", 0) == 0 &&
	    reg_get(ospec, "healthCheckNodePort"))
		reg_set(spec, "healthCheckNodePort",
		        cJSON_Duplicate(reg_get(ospec, "healthCheckNodePort"), true));
}

static void svc_validate_name(const char *name, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, "metadata");
	reg_vrule(&v, "name", name, obj_validate_dns1035_label);
}

static void svc_validate_ports(struct reg_vctx *v, const cJSON *spec, const char *type)
{
	const cJSON *ports = reg_varr(v, spec, "ports"), *p;
	int n = reg_count(ports), i = 0;
	cJSON_ArrayForEach(p, ports)
	{
		size_t m = reg_vkey(v, "ports");
		reg_vidx(v, i);
		if (!cJSON_IsObject(p)) {
			reg_vinvalid(v, NULL, p, "must be an object");
			reg_vpop(v, m);
			i++;
			continue;
		}
		const char *name = reg_vstr(v, p, "name");
		if (!name || !*name) {
			if (n > 1 && reg_vmissing(p, "name"))
				reg_vreq(v, "name", NULL);
		} else {
			reg_vdns_label(v, "name", name);
			const cJSON *o;
			int j = 0;
			cJSON_ArrayForEach(o, ports)
			{
				if (j++ >= i)
					break;
				if (!strcmp(reg_at_strz(o, "name"), name)) {
					reg_vduplicate(v, "name", reg_get(p, "name"));
					break;
				}
			}
		}
		reg_vport(v, p, "port", true);
		const char *proto = reg_venum(v, p, "protocol", true, protocols);
		const cJSON *tp = reg_get(p, "targetPort");
		int64_t t;
		if (cJSON_IsString(tp))
			reg_check_port_name(v, "targetPort", tp->valuestring);
		else if (reg_json_int(tp, &t)) {
			if (t < 1 || t > 65535)
				reg_vinvalid_int(v, "targetPort", t,
				                 "must be between 1 and 65535, inclusive");
		} else if (tp) {
			reg_vinvalid(v, "targetPort", tp, "must be an integer or a port name");
		}
		int64_t np;
		if (reg_vint(v, p, "nodePort", &np) && np != 0) {
			if (!strcmp(type, "ClusterIP") || !strcmp(type, "ExternalName"))
				reg_vforbidden(v, "nodePort", "may not be used when `type` is '%s'",
				               type);
			else if (np < 1 || np > 65535)
				reg_vinvalid_int(v, "nodePort", np,
				                 "must be between 1 and 65535, inclusive");
		}
		/* The same port and protocol twice. */
		int64_t port;
		if (reg_json_int(reg_get(p, "port"), &port) && proto) {
			const cJSON *o;
			int j = 0;
			cJSON_ArrayForEach(o, ports)
			{
				if (j++ >= i)
					break;
				if (reg_at_int(o, "port", -1) == port &&
				    !strcmp(reg_at_strz(o, "protocol"), proto)) {
					char dup[64];
					snprintf(dup, sizeof(dup), "%lld/%s", (long long)port,
					         proto);
					cJSON *d = cJSON_CreateString(dup);
					reg_vduplicate(v, NULL, d);
					cJSON_Delete(d);
					break;
				}
			}
		}
		reg_vstr(v, p, "appProtocol");
		reg_vpop(v, m);
		i++;
	}
}

static void svc_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	static const char *const types[] = { "ClusterIP", "ExternalName", "LoadBalancer",
		                             "NodePort", NULL };
	static const char *const affinities[] = { "ClientIP", "None", NULL };
	static const char *const fam_policies[] = { "SingleStack", "PreferDualStack",
		                                    "RequireDualStack", NULL };
	static const char *const traffic[] = { "Cluster", "Local", NULL };
	static const char *const families[] = { "IPv4", "IPv6", NULL };
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *spec = reg_vobj(&v, obj, "spec");
	reg_vkey(&v, "spec");
	const char *type = reg_venum(&v, spec, "type", true, types);
	if (!type)
		type = "";
	const char *ip = reg_vstr(&v, spec, "clusterIP");
	bool headless = ip && !strcmp(ip, "None");
	bool extname = !strcmp(type, "ExternalName");
	if (reg_count(reg_get(spec, "ports")) == 0 && !headless && !extname &&
	    (!reg_get(spec, "ports") || cJSON_IsArray(reg_get(spec, "ports"))))
		reg_vreq(&v, "ports", NULL);
	svc_validate_ports(&v, spec, type);
	/* clusterIP is clusterIPs[0] written again; upstream reports a bad address once, there. */
	if (ip && *ip && !headless && !reg_is_ip(ip) && reg_count(reg_get(spec, "clusterIPs")) == 0)
		reg_vinvalid_str(&v, "clusterIP", ip,
		                 "must be empty, 'None', or a valid IP address (e.g. 10.9.8.7 or "
		                 "2001:db8::ffff)");
	const cJSON *ips = reg_varr(&v, spec, "clusterIPs"), *it;
	int i = 0;
	cJSON_ArrayForEach(it, ips)
	{
		size_t m = reg_vkey(&v, "clusterIPs");
		reg_vidx(&v, i);
		if (!cJSON_IsString(it))
			reg_vinvalid(&v, NULL, it, "must be a string");
		else if (i == 0 && ip && *ip && strcmp(ip, it->valuestring) != 0)
			reg_vinvalid(&v, NULL, ips,
			             "must be empty or the same value as "
			             "`spec.clusterIP`");
		else if (strcmp(it->valuestring, "None") && !reg_is_ip(it->valuestring))
			reg_vinvalid_str(&v, NULL, it->valuestring, "must be a valid IP address");
		reg_vpop(&v, m);
		i++;
	}
	if (extname) {
		const char *en = reg_vstr_req(&v, spec, "externalName");
		if (en) {
			/* A trailing dot (fully qualified) is allowed. */
			char name[256];
			snprintf(name, sizeof(name), "%s", en);
			size_t n = strlen(name);
			if (n > 1 && name[n - 1] == '.')
				name[n - 1] = '\0';
			reg_vdns_subdomain(&v, "externalName", name);
		}
		if (ip && *ip)
			reg_vforbidden(&v, "clusterIP", "may not be set for ExternalName services");
	}
	reg_venum(&v, spec, "sessionAffinity", true, affinities);
	reg_vlabels(&v, spec, "selector");
	reg_venum(&v, spec, "ipFamilyPolicy", false, fam_policies);
	const cJSON *fams = reg_varr(&v, spec, "ipFamilies");
	i = 0;
	cJSON_ArrayForEach(it, fams)
	{
		size_t m = reg_vkey(&v, "ipFamilies");
		reg_vidx(&v, i++);
		bool ok = cJSON_IsString(it) &&
		          (!strcmp(it->valuestring, "IPv4") || !strcmp(it->valuestring, "IPv6"));
		if (!ok)
			reg_vunsupported(&v, NULL, cJSON_IsString(it) ? it->valuestring : "",
			                 families);
		reg_vpop(&v, m);
	}
	reg_venum(&v, spec, "internalTrafficPolicy", false, traffic);
	const char *etp = reg_venum(&v, spec, "externalTrafficPolicy", false, traffic);
	if (etp && *etp && !externally_accessible(spec))
		reg_vinvalid_str(&v, "externalTrafficPolicy", etp,
		                 "may only be set for externally-accessible services");
	const cJSON *eips = reg_varr(&v, spec, "externalIPs");
	i = 0;
	cJSON_ArrayForEach(it, eips)
	{
		size_t m = reg_vkey(&v, "externalIPs");
		reg_vidx(&v, i++);
		if (!cJSON_IsString(it) || !reg_is_ip(it->valuestring))
			reg_vinvalid(&v, NULL, it, "must be a valid IP address");
		reg_vpop(&v, m);
	}
	reg_vbool(&v, spec, "publishNotReadyAddresses");
	reg_vbool(&v, spec, "allocateLoadBalancerNodePorts");
	int64_t hc;
	if (reg_vint(&v, spec, "healthCheckNodePort", &hc) && (hc < 0 || hc > 65535))
		reg_vinvalid_int(&v, "healthCheckNodePort", hc,
		                 "must be between 1 and 65535, inclusive");
	const cJSON *sac = reg_vobj(&v, spec, "sessionAffinityConfig");
	if (sac) {
		size_t m = reg_vkey(&v, "sessionAffinityConfig");
		const cJSON *cip = reg_vobj(&v, sac, "clientIP");
		int64_t t;
		if (cip) {
			size_t m2 = reg_vkey(&v, "clientIP");
			if (reg_vint(&v, cip, "timeoutSeconds", &t) && (t <= 0 || t > 86400))
				reg_vinvalid_int(&v, "timeoutSeconds", t,
				                 "must be greater than 0 and less than 86400");
			reg_vpop(&v, m2);
		}
		reg_vpop(&v, m);
	}

	const cJSON *ospec = reg_at_obj(old, "spec");
	if (old && ospec) {
		const char *otype = reg_at_strz(ospec, "type");
		const char *oip = reg_at_strz(ospec, "clusterIP");
		const char *nip = ip ? ip : "";
		/* The allocated IP stays, unless the service turns into or out of ExternalName. */
		if (strcmp(otype, "ExternalName") != 0 && !extname && *oip && strcmp(oip, nip) != 0)
			reg_vinvalid(&v, "clusterIPs[0]", reg_get(spec, "clusterIPs"),
			             "may not change once set");
	}
}

static void svc_validate_status(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, "status.loadBalancer");
	const cJSON *ings = reg_varr(&v, reg_at_obj(obj, "status.loadBalancer"), "ingress"), *ing;
	int i = 0;
	cJSON_ArrayForEach(ing, ings)
	{
		size_t m = reg_vkey(&v, "ingress");
		reg_vidx(&v, i++);
		const char *ip = reg_vstr(&v, ing, "ip");
		if (ip && *ip && !reg_is_ip(ip))
			reg_vinvalid_str(&v, "ip", ip, "must be a valid IP address");
		const char *host = reg_vstr(&v, ing, "hostname");
		if (host && *host)
			reg_vdns_subdomain(&v, "hostname", host);
		reg_vpop(&v, m);
	}
	UNUSED(old);
}

static const struct reg_column svc_columns[] = {
	{ "Name", "string", "name", "Name of the service.", 0 },
	{ "Type", "string", "", "How the service is exposed: ClusterIP, NodePort, ...", 0 },
	{ "Cluster-IP", "string", "", "The service's virtual IP inside the cluster.", 0 },
	{ "External-IP", "string", "", "Addresses the service is reachable at from outside.", 0 },
	{ "Port(s)", "string", "", "Ports the service serves, with node ports.", 0 },
	{ "Age", "string", "", "Time since the service was created.", 0 },
	{ "Selector", "string", "", "Labels of the pods the service sends traffic to.", 1 },
};

/* LoadBalancer addresses: IPs or hostnames of the ingress points, sorted and unique. */
static void lb_ingress(const cJSON *obj, struct buf *b)
{
	const cJSON *ing = reg_at_arr(obj, "status.loadBalancer.ingress"), *it;
	int n = reg_count(ing), k = 0;
	const char **v = xcalloc((size_t)n + 1, sizeof(*v));
	cJSON_ArrayForEach(it, ing)
	{
		const char *ip = reg_at_strz(it, "ip"), *host = reg_at_strz(it, "hostname");
		if (*ip)
			v[k++] = ip;
		else if (*host)
			v[k++] = host;
	}
	for (int i = 1; i < k; i++)
		for (int j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
			const char *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	for (int i = 0, out = 0; i < k; i++)
		if (!i || strcmp(v[i], v[i - 1]))
			buf_printf(b, "%s%s", out++ ? "," : "", v[i]);
	free(v);
}

static void join_strings(const cJSON *arr, struct buf *b)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
	{
		if (cJSON_IsString(it))
			buf_printf(b, "%s%s", b->len ? "," : "", it->valuestring);
	}
}

static void svc_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	const cJSON *spec = reg_at_obj(obj, "spec");
	const char *type = reg_at_strz(spec, "type");
	const cJSON *first = cJSON_GetArrayItem(reg_at_arr(spec, "clusterIPs"), 0);
	const char *ip = cJSON_IsString(first) ? first->valuestring : reg_at_str(spec, "clusterIP");
	struct buf ext = { 0 };
	const cJSON *eips = reg_at_arr(spec, "externalIPs");
	if (!strcmp(type, "ClusterIP") || !strcmp(type, "NodePort")) {
		join_strings(eips, &ext);
		if (!ext.len)
			buf_adds(&ext, "<none>");
	} else if (!strcmp(type, "LoadBalancer")) {
		lb_ingress(obj, &ext);
		join_strings(eips, &ext);
		if (!ext.len)
			buf_adds(&ext, "<pending>");
	} else if (!strcmp(type, "ExternalName")) {
		buf_adds(&ext, reg_at_strz(spec, "externalName"));
	} else {
		buf_adds(&ext, "<unknown>");
	}
	struct buf ports = { 0 };
	const cJSON *p;
	cJSON_ArrayForEach(p, reg_at_arr(spec, "ports"))
	{
		int64_t np = reg_at_int(p, "nodePort", 0);
		if (np > 0)
			buf_printf(&ports, "%s%lld:%lld/%s", ports.len ? "," : "",
			           (long long)reg_at_int(p, "port", 0), (long long)np,
			           reg_at_strz(p, "protocol"));
		else
			buf_printf(&ports, "%s%lld/%s", ports.len ? "," : "",
			           (long long)reg_at_int(p, "port", 0), reg_at_strz(p, "protocol"));
	}
	if (!ports.len)
		buf_adds(&ports, "<none>");
	struct buf sel = { 0 };
	reg_format_labels(reg_at_obj(spec, "selector"), &sel);
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	reg_cell_str(cells, type);
	reg_cell_str(cells, ip && *ip ? ip : "<none>");
	reg_cell_buf(cells, &ext);
	reg_cell_buf(cells, &ports);
	reg_cell_age(cells, obj, now);
	reg_cell_buf(cells, &sel);
}

static bool svc_field(const cJSON *obj, const char *field, char *out, size_t outlen)
{
	if (!strcmp(field, "spec.clusterIP"))
		return reg_field_out(out, outlen, reg_at_str(obj, "spec.clusterIP"));
	if (!strcmp(field, "spec.type"))
		return reg_field_out(out, outlen, reg_at_str(obj, "spec.type"));
	return false;
}

const struct reg_kind reg_kind_services = {
	.group = "",
	.version = "v1",
	.resource = "services",
	.kind = "Service",
	.list_kind = "ServiceList",
	.singular = "service",
	.short_names = "svc",
	.categories = "all",
	.namespaced = true,
	.subresources = REG_SUB_STATUS | REG_SUB_PROXY,
	.storage = "core/services",
	.name_is_label = true,
	.defaults = svc_defaults,
	.prepare_create = svc_prepare_create,
	.prepare_update = svc_prepare_update,
	.validate = svc_validate,
	.validate_status = svc_validate_status,
	.validate_name = svc_validate_name,
	.columns = svc_columns,
	.ncolumns = ARRAY_SIZE(svc_columns),
	.row = svc_row,
	.field = svc_field,
};

/* --- endpoints ------------------------------------------------------------------------------ */

static void ep_defaults(cJSON *obj)
{
	const cJSON *subsets = reg_get(obj, "subsets");
	cJSON *ss, *p;
	cJSON_ArrayForEach(ss, (cJSON_IsArray(subsets) ? (cJSON *)subsets : NULL))
	{
		const cJSON *ports = reg_get(ss, "ports");
		cJSON_ArrayForEach(p, (cJSON_IsArray(ports) ? (cJSON *)ports : NULL))
		{
			reg_def_str(p, "protocol", "TCP");
		}
	}
}

static void ep_validate_addresses(struct reg_vctx *v, const cJSON *ss, const char *key)
{
	const cJSON *addrs = reg_varr(v, ss, key), *a;
	int i = 0;
	cJSON_ArrayForEach(a, addrs)
	{
		size_t m = reg_vkey(v, key);
		reg_vidx(v, i++);
		const char *ip = reg_vstr_req(v, a, "ip");
		if (ip && !reg_is_ip(ip))
			reg_vinvalid_str(v, "ip", ip, "must be a valid IP address");
		const char *host = reg_vstr(v, a, "hostname");
		if (host && *host)
			reg_vdns_label(v, "hostname", host);
		reg_vstrfields(v, a, "targetRef", reg_ref_fields);
		const char *node = reg_vstr(v, a, "nodeName");
		if (node && *node)
			reg_vdns_subdomain(v, "nodeName", node);
		reg_vpop(v, m);
	}
}

static void ep_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *subsets = reg_varr(&v, obj, "subsets"), *ss;
	int i = 0;
	cJSON_ArrayForEach(ss, subsets)
	{
		size_t m = reg_vkey(&v, "subsets");
		reg_vidx(&v, i++);
		if (!cJSON_IsObject(ss)) {
			reg_vinvalid(&v, NULL, ss, "must be an object");
			reg_vpop(&v, m);
			continue;
		}
		ep_validate_addresses(&v, ss, "addresses");
		ep_validate_addresses(&v, ss, "notReadyAddresses");
		const cJSON *ports = reg_varr(&v, ss, "ports"), *p;
		int np = reg_count(ports), j = 0;
		cJSON_ArrayForEach(p, ports)
		{
			size_t m2 = reg_vkey(&v, "ports");
			reg_vidx(&v, j++);
			const char *name = reg_vstr(&v, p, "name");
			if (np > 1 && reg_vmissing(p, "name"))
				reg_vreq(&v, "name", NULL);
			else if (name && *name)
				reg_vdns_label(&v, "name", name);
			reg_vport(&v, p, "port", true);
			reg_venum(&v, p, "protocol", true, protocols);
			reg_vpop(&v, m2);
		}
		reg_vpop(&v, m);
	}
	UNUSED(old);
}

static const struct reg_column ep_columns[] = {
	{ "Name", "string", "name", "Name of the endpoints, the same as its service's.", 0 },
	{ "Endpoints", "string", "", "Ready addresses and ports, the first three of them.", 0 },
	{ "Age", "string", "", "Time since the endpoints were created.", 0 },
};

static void ep_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	const cJSON *subsets = reg_at_arr(obj, "subsets"), *ss;
	struct buf b = { 0 };
	int shown = 0, count = 0;
	const int max = 3;
	cJSON_ArrayForEach(ss, subsets)
	{
		const cJSON *addrs = reg_at_arr(ss, "addresses"), *a, *p;
		const cJSON *ports = reg_at_arr(ss, "ports");
		if (reg_count(ports) == 0) {
			/* Headless services without ports list bare addresses. */
			count += reg_count(addrs);
			cJSON_ArrayForEach(a, addrs)
			{
				if (shown == max)
					break;
				buf_printf(&b, "%s%s", shown++ ? "," : "", reg_at_strz(a, "ip"));
			}
			continue;
		}
		cJSON_ArrayForEach(p, ports)
		{
			count += reg_count(addrs);
			cJSON_ArrayForEach(a, addrs)
			{
				if (shown == max)
					break;
				const char *ip = reg_at_strz(a, "ip");
				long long port = (long long)reg_at_int(p, "port", 0);
				if (strchr(ip, ':'))
					buf_printf(&b, "%s[%s]:%lld", shown ? "," : "", ip, port);
				else
					buf_printf(&b, "%s%s:%lld", shown ? "," : "", ip, port);
				shown++;
			}
		}
	}
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	if (reg_count(subsets) == 0) {
		reg_cell_str(cells, "<none>");
		buf_free(&b);
	} else {
		if (count > max)
			buf_printf(&b, " + %d more...", count - max);
		reg_cell_buf(cells, &b);
	}
	reg_cell_age(cells, obj, now);
}

const struct reg_kind reg_kind_endpoints = {
	.group = "",
	.version = "v1",
	.resource = "endpoints",
	.kind = "Endpoints",
	.list_kind = "EndpointsList",
	.singular = "endpoints",
	.short_names = "ep",
	.categories = "",
	.namespaced = true,
	.storage = "core/endpoints",
	.defaults = ep_defaults,
	.validate = ep_validate,
	.columns = ep_columns,
	.ncolumns = ARRAY_SIZE(ep_columns),
	.row = ep_row,
};

/* --- endpointslices ------------------------------------------------------------------------- */

static void eps_defaults(cJSON *obj)
{
	const cJSON *ports = reg_get(obj, "ports");
	cJSON *p;
	cJSON_ArrayForEach(p, (cJSON_IsArray(ports) ? (cJSON *)ports : NULL))
	{
		if (!cJSON_IsObject(p))
			continue;
		if (!cJSON_GetObjectItemCaseSensitive(p, "name") ||
		    cJSON_IsNull(reg_get(p, "name")))
			reg_set(p, "name", cJSON_CreateString(""));
		reg_def_str(p, "protocol", "TCP");
	}
}

static void eps_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	static const char *const types[] = { "IPv4", "IPv6", "FQDN", NULL };
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const char *type = reg_venum(&v, obj, "addressType", true, types);
	const cJSON *eps = reg_varr(&v, obj, "endpoints"), *ep;
	int i = 0;
	if (reg_count(eps) > 1000)
		reg_err(errs, "FieldValueTooMany", "endpoints",
		        "Too many: %d: must have at most 1000 items", reg_count(eps));
	cJSON_ArrayForEach(ep, eps)
	{
		size_t m = reg_vkey(&v, "endpoints");
		reg_vidx(&v, i++);
		if (!cJSON_IsObject(ep)) {
			reg_vinvalid(&v, NULL, ep, "must be an object");
			reg_vpop(&v, m);
			continue;
		}
		const cJSON *addrs = reg_varr(&v, ep, "addresses"), *a;
		int n = reg_count(addrs), j = 0;
		if (n == 0 && (!reg_get(ep, "addresses") || addrs))
			reg_vreq(&v, "addresses", "must contain at least 1 address");
		else if (n > 100)
			reg_err(errs, "FieldValueTooMany", v.path,
			        "Too many: %d: must have at most 100 items", n);
		cJSON_ArrayForEach(a, addrs)
		{
			size_t m2 = reg_vkey(&v, "addresses");
			reg_vidx(&v, j++);
			if (!cJSON_IsString(a))
				reg_vinvalid(&v, NULL, a, "must be a string");
			else if (type && !strcmp(type, "IPv4") && !is_ipv4(a->valuestring))
				reg_vinvalid_str(&v, NULL, a->valuestring,
				                 "must be a valid IPv4 address");
			else if (type && !strcmp(type, "IPv6") && !is_ipv6(a->valuestring))
				reg_vinvalid_str(&v, NULL, a->valuestring,
				                 "must be a valid IPv6 address");
			else if (type && !strcmp(type, "FQDN"))
				reg_vdns_subdomain(&v, NULL, a->valuestring);
			reg_vpop(&v, m2);
		}
		const cJSON *cond = reg_vobj(&v, ep, "conditions");
		if (cond) {
			size_t m2 = reg_vkey(&v, "conditions");
			reg_vbool(&v, cond, "ready");
			reg_vbool(&v, cond, "serving");
			reg_vbool(&v, cond, "terminating");
			reg_vpop(&v, m2);
		}
		const char *node = reg_vstr(&v, ep, "nodeName");
		if (node && *node)
			reg_vdns_subdomain(&v, "nodeName", node);
		const char *host = reg_vstr(&v, ep, "hostname");
		if (host && *host)
			reg_vdns_label(&v, "hostname", host);
		reg_vpop(&v, m);
	}
	const cJSON *ports = reg_varr(&v, obj, "ports"), *p;
	i = 0;
	cJSON_ArrayForEach(p, ports)
	{
		size_t m = reg_vkey(&v, "ports");
		reg_vidx(&v, i++);
		if (!cJSON_IsObject(p)) {
			reg_vinvalid(&v, NULL, p, "must be an object");
			reg_vpop(&v, m);
			continue;
		}
		const char *name = reg_vstr(&v, p, "name");
		if (name && *name)
			reg_vdns_label(&v, "name", name);
		if (reg_get(p, "port"))
			reg_vport(&v, p, "port", false);
		reg_venum(&v, p, "protocol", false, protocols);
		reg_vpop(&v, m);
	}
	if (old)
		reg_vimmutable(&v, obj, old, "addressType");
}

static const struct reg_column eps_columns[] = {
	{ "Name", "string", "name", "Name of the endpoint slice.", 0 },
	{ "AddressType", "string", "", "Kind of addresses: IPv4, IPv6 or FQDN.", 0 },
	{ "Ports", "string", "", "Ports of the slice, the first three of them.", 0 },
	{ "Endpoints", "string", "", "Addresses of the slice, the first three of them.", 0 },
	{ "Age", "string", "", "Time since the endpoint slice was created.", 0 },
};

static void more_or_unset(struct buf *b, int count, int max)
{
	if (count > max)
		buf_printf(b, " + %d more...", count - max);
	if (!b->len)
		buf_adds(b, "<unset>");
}

static void eps_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	struct buf ports = { 0 }, addrs = { 0 };
	const int max = 3;
	int shown = 0, count = 0;
	const cJSON *p, *ep, *a;
	cJSON_ArrayForEach(p, reg_at_arr(obj, "ports"))
	{
		if (shown < max) {
			int64_t n;
			const char *name = reg_at_str(p, "name");
			if (reg_json_int(reg_get(p, "port"), &n))
				buf_printf(&ports, "%s%lld", shown ? "," : "", (long long)n);
			else
				buf_printf(&ports, "%s%s", shown ? "," : "", name ? name : "*");
			shown++;
		}
		count++;
	}
	more_or_unset(&ports, count, max);
	shown = count = 0;
	cJSON_ArrayForEach(ep, reg_at_arr(obj, "endpoints"))
	{
		cJSON_ArrayForEach(a, reg_at_arr(ep, "addresses"))
		{
			if (shown < max)
				buf_printf(&addrs, "%s%s", shown++ ? "," : "",
				           cJSON_IsString(a) ? a->valuestring : "");
			count++;
		}
	}
	more_or_unset(&addrs, count, max);
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	reg_cell_str(cells, reg_at_strz(obj, "addressType"));
	reg_cell_buf(cells, &ports);
	reg_cell_buf(cells, &addrs);
	reg_cell_age(cells, obj, now);
}

const struct reg_kind reg_kind_endpointslices = {
	.group = "discovery.k8s.io",
	.version = "v1",
	.resource = "endpointslices",
	.kind = "EndpointSlice",
	.list_kind = "EndpointSliceList",
	.singular = "endpointslice",
	.short_names = "",
	.categories = "",
	.namespaced = true,
	.storage = "discovery.k8s.io/endpointslices",
	.defaults = eps_defaults,
	.validate = eps_validate,
	.columns = eps_columns,
	.ncolumns = ARRAY_SIZE(eps_columns),
	.row = eps_row,
};
