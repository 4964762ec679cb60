/* conf: the CNI environment and network configuration, checked with messages that name the
 * key or variable, and the conflist tug writes for containerd. */
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "net/cni/cni-internal.h"
#include "net/masq/masq.h"

const char *const cni_versions[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0", NULL };

/* Long enough for Kubernetes' 64-hex-digit sandbox IDs with room to spare, and short
 * enough that "tug-cni/<network>/<id>/<ifname>" fits a link alias. */
#define ID_MAX 160
#define NAME_MAX_LEN 64

int cni_fail(struct cni_error *ce, int code, int rc, const char *fmt, ...)
{
	va_list ap;
	ce->code = code;
	ce->e.code = rc;
	va_start(ap, fmt);
	vsnprintf(ce->e.msg, sizeof(ce->e.msg), fmt, ap);
	va_end(ap);
	return rc;
}

int cni_version_cmp(const char *a, const char *b)
{
	unsigned va[3] = { 0 }, vb[3] = { 0 };
	int na = a ? sscanf(a, "%u.%u.%u", &va[0], &va[1], &va[2]) : 0;
	int nb = b ? sscanf(b, "%u.%u.%u", &vb[0], &vb[1], &vb[2]) : 0;
	if (na < 1 || nb < 1)
		return (na >= 1) - (nb >= 1);
	for (int i = 0; i < 3; i++) {
		if (va[i] != vb[i])
			return va[i] < vb[i] ? -1 : 1;
	}
	return 0;
}

static bool version_known(const char *v)
{
	for (size_t i = 0; cni_versions[i]; i++) {
		if (!strcmp(v, cni_versions[i]))
			return true;
	}
	return false;
}

/* The spec's rule for container IDs and network names: an alphanumeric, then
 * alphanumerics, '_', '.' or '-'. */
static bool valid_id(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return true;
}

/* What the kernel accepts as a link name. */
static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= IF_NAMESIZE || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++) {
		if (*s == '/' || *s == ':' || (unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	}
	return true;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

int cni_req_parse(struct cni_req *q, struct cni_error *ce)
{
	static const struct {
		const char *name;
		enum cni_cmd cmd;
	} cmds[] = { { "ADD", CNI_ADD },       { "DEL", CNI_DEL }, { "CHECK", CNI_CHECK },
		     { "STATUS", CNI_STATUS }, { "GC", CNI_GC },   { "VERSION", CNI_VERSION } };
	const char *cmd = env("CNI_COMMAND");
	size_t i;

	memset(q, 0, sizeof(*q));
	if (!cmd)
		return cni_fail(ce, CNI_ERR_ENV, -EINVAL,
		                "CNI_COMMAND is not set; tug-cni is a CNI plugin, run by a "
		                "container runtime");
	for (i = 0; i < ARRAY_SIZE(cmds) && strcmp(cmd, cmds[i].name); i++)
		;
	if (i == ARRAY_SIZE(cmds))
		return cni_fail(
		    ce, CNI_ERR_ENV, -EINVAL,
		    "CNI_COMMAND=%.64s is not one of ADD, DEL, CHECK, STATUS, GC, VERSION", cmd);
	q->cmd = cmds[i].cmd;
	q->container_id = env("CNI_CONTAINERID");
	q->netns = env("CNI_NETNS");
	q->ifname = env("CNI_IFNAME");
	q->args = env("CNI_ARGS");
	q->path = env("CNI_PATH");
	if (q->cmd != CNI_ADD && q->cmd != CNI_DEL && q->cmd != CNI_CHECK)
		return 0;

	const char *missing[3];
	size_t n = 0;
	if (!q->container_id)
		missing[n++] = "CNI_CONTAINERID";
	if (!q->ifname)
		missing[n++] = "CNI_IFNAME";
	if (!q->netns && q->cmd != CNI_DEL)
		missing[n++] = "CNI_NETNS";
	if (n)
		return cni_fail(ce, CNI_ERR_ENV, -EINVAL, "%s needs %s%s%s%s%s set", cmd,
		                missing[0], n > 1 ? ", " : "", n > 1 ? missing[1] : "",
		                n > 2 ? ", " : "", n > 2 ? missing[2] : "");
	if (!valid_id(q->container_id, ID_MAX))
		return cni_fail(ce, CNI_ERR_ENV, -EINVAL,
		                "CNI_CONTAINERID='%.200s' is not a container ID (an alphanumeric, "
		                "then alphanumerics, '_', '.' or '-', at most %d)",
		                q->container_id, ID_MAX);
	if (!valid_ifname(q->ifname))
		return cni_fail(ce, CNI_ERR_ENV, -EINVAL,
		                "CNI_IFNAME='%.64s' is not an interface name (1-15 characters, no "
		                "'/', ':' or blanks)",
		                q->ifname);
	if (q->netns && q->netns[0] != '/')
		return cni_fail(ce, CNI_ERR_ENV, -EINVAL,
		                "CNI_NETNS='%.200s' is not an absolute path", q->netns);
	return 0;
}

/* --- configuration ----------------------------------------------------------- */

static int bad(struct cni_error *ce, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct cni_error *ce, const char *fmt, ...)
{
	va_list ap;
	ce->code = CNI_ERR_CONFIG;
	ce->e.code = -EINVAL;
	va_start(ap, fmt);
	vsnprintf(ce->e.msg, sizeof(ce->e.msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* An optional string member v (named key); *out stays as it was when absent. */
static int str_value(const cJSON *v, const char *key, const char **out, struct cni_error *ce)
{
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring)
		return bad(ce, "%s must be a string", key);
	*out = v->valuestring;
	return 0;
}

static int get_str(const cJSON *o, const char *key, const char **out, struct cni_error *ce)
{
	return str_value(cJSON_GetObjectItemCaseSensitive(o, key), key, out, ce);
}

static int get_bool(const cJSON *o, const char *key, bool *out, struct cni_error *ce)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsBool(v))
		return bad(ce, "%s must be true or false", key);
	*out = cJSON_IsTrue(v);
	return 0;
}

static int get_cidrs(const cJSON *o, const char *key, struct ipaddr_net *out, size_t max, size_t *n,
                     struct cni_error *ce)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key), *it;
	*n = 0;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsArray(v))
		return bad(ce, "%s must be a list of CIDRs", key);
	cJSON_ArrayForEach(it, v)
	{
		if (*n == max)
			return bad(ce, "%s: at most %zu CIDRs", key, max);
		if (!cJSON_IsString(it) || ipaddr_net_parse(it->valuestring, &out[*n], true) < 0)
			return bad(ce, "%s: '%.64s' is not a CIDR like 10.42.0.0/16", key,
			           cJSON_IsString(it) ? it->valuestring : "(not a string)");
		(*n)++;
	}
	return 0;
}

const char *cni_proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : proto == IPPROTO_SCTP ? "sctp" : "tcp";
}

/* A port number member: an integer from 1 to 65535. Names of portMappings' members are
 * matched in any case: containerd's go-cni sends "HostPort" and the like, which Go's own
 * JSON decoding in the reference plugins accepts. */
static int get_port(const cJSON *o, const char *key, const char *what, uint16_t *out,
                    struct cni_error *ce)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);
	if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 65535 ||
	    v->valuedouble != (double)(int)v->valuedouble)
		return bad(ce, "%s: %s must be a port number from 1 to 65535", what, key);
	*out = (uint16_t)v->valueint;
	return 0;
}

int cni_portmap_parse(const cJSON *o, const char *what, struct cni_portmap *pm,
                      struct cni_error *ce)
{
	const char *proto = "tcp", *hip = NULL;

	memset(pm, 0, sizeof(*pm));
	if (!cJSON_IsObject(o))
		return bad(ce,
		           "%s: each entry must be an object like {\"hostPort\": 8080, "
		           "\"containerPort\": 80, \"protocol\": \"tcp\"}",
		           what);
	if (get_port(o, "hostPort", what, &pm->host_port, ce) < 0 ||
	    get_port(o, "containerPort", what, &pm->container_port, ce) < 0 ||
	    str_value(cJSON_GetObjectItem(o, "protocol"), "protocol", &proto, ce) < 0 ||
	    str_value(cJSON_GetObjectItem(o, "hostIP"), "hostIP", &hip, ce) < 0)
		return -EINVAL;
	if (!strcasecmp(proto, "tcp") || !*proto)
		pm->proto = IPPROTO_TCP;
	else if (!strcasecmp(proto, "udp"))
		pm->proto = IPPROTO_UDP;
	else if (!strcasecmp(proto, "sctp"))
		pm->proto = IPPROTO_SCTP;
	else
		return bad(ce, "%s: protocol '%.32s' is not tcp, udp or sctp", what, proto);
	if (hip && *hip) {
		static const uint8_t zero[16];
		if (ipaddr_parse(hip, &pm->host_ip) < 0)
			return bad(ce, "%s: hostIP '%.64s' is not an IP address", what, hip);
		/* 0.0.0.0 and :: mean every address, as in a pod spec */
		if (!memcmp(pm->host_ip.b, zero, sizeof(zero)))
			pm->host_ip.family = 0;
	}
	return 0;
}

/* runtimeConfig.portMappings: entries checked one by one; the same port twice is refused
 * unless it says the same thing. */
static int parse_portmaps(const cJSON *root, struct cni_conf *c, struct cni_error *ce)
{
	const cJSON *rt = cJSON_GetObjectItemCaseSensitive(root, "runtimeConfig"), *v, *it;
	char what[64];
	int i = 0;

	if (!rt || cJSON_IsNull(rt))
		return 0;
	if (!cJSON_IsObject(rt))
		return bad(ce, "runtimeConfig must be an object");
	v = cJSON_GetObjectItemCaseSensitive(rt, "portMappings");
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsArray(v))
		return bad(ce, "runtimeConfig.portMappings must be a list");
	c->has_ports = true;
	cJSON_ArrayForEach(it, v)
	{
		struct cni_portmap pm;
		bool dup = false;
		snprintf(what, sizeof(what), "runtimeConfig.portMappings[%d]", i++);
		if (cni_portmap_parse(it, what, &pm, ce) < 0)
			return -EINVAL;
		for (size_t j = 0; j < c->n_ports; j++) {
			const struct cni_portmap *o = &c->ports[j];
			if (o->proto != pm.proto || o->host_port != pm.host_port ||
			    !ipaddr_equal(&o->host_ip, &pm.host_ip))
				continue;
			if (o->container_port != pm.container_port)
				return bad(ce,
				           "%s: hostPort %u/%s is listed twice, for containerPorts "
				           "%u and %u",
				           what, pm.host_port, cni_proto_name(pm.proto),
				           o->container_port, pm.container_port);
			dup = true;
		}
		if (dup)
			continue;
		if (c->n_ports == CNI_MAX_PORTMAPS)
			return bad(ce, "runtimeConfig.portMappings: at most %d", CNI_MAX_PORTMAPS);
		c->ports[c->n_ports++] = pm;
	}
	return 0;
}

static int parse_ranges(const cJSON *root, struct cni_conf *c, struct cni_error *ce)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "ranges"), *it;
	struct err e = { 0 };

	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
		return bad(ce, "ranges must list the node's pod CIDRs, like [{\"subnet\": "
		               "\"10.42.0.0/24\"}]");
	cJSON_ArrayForEach(it, v)
	{
		const char *subnet = NULL, *gw = NULL;
		struct ipam_range *r;
		if (c->n_ranges == IPAM_MAX_RANGES)
			return bad(ce, "ranges: at most %d (one IPv4, one IPv6)", IPAM_MAX_RANGES);
		if (!cJSON_IsObject(it))
			return bad(ce, "ranges: each entry must be an object with a subnet");
		if (get_str(it, "subnet", &subnet, ce) < 0 || get_str(it, "gateway", &gw, ce) < 0)
			return -EINVAL;
		r = &c->ranges[c->n_ranges];
		memset(r, 0, sizeof(*r));
		if (!subnet || ipaddr_net_parse(subnet, &r->subnet, true) < 0)
			return bad(ce, "ranges: subnet '%.64s' is not a CIDR like 10.42.0.0/24",
			           subnet ? subnet : "");
		if (gw && (ipaddr_parse(gw, &r->gateway) < 0))
			return bad(ce, "ranges: gateway '%.64s' is not an IP address", gw);
		if (ipam_range_check(r, &e) < 0)
			return bad(ce, "ranges: %s", e.msg);
		for (size_t i = 0; i < c->n_ranges; i++) {
			if (c->ranges[i].subnet.addr.family == r->subnet.addr.family)
				return bad(ce,
				           "ranges: %s is a second subnet of the same family; "
				           "a node has one pod CIDR per family",
				           subnet);
		}
		c->n_ranges++;
	}
	return 0;
}

int cni_conf_parse(const char *json, struct cni_conf *c, struct cni_error *ce)
{
	const char *bridge = CNI_DEFAULT_BRIDGE, *data_dir = CNI_DEFAULT_DATA_DIR;
	const cJSON *v;
	double mtu = CNI_DEFAULT_MTU;

	memset(c, 0, sizeof(*c));
	c->hairpin = true;
	c->masq_table = CNI_DEFAULT_MASQ_TABLE;
	c->root = cJSON_Parse(json ? json : "");
	if (!c->root)
		return cni_fail(ce, CNI_ERR_DECODE, -EINVAL,
		                "network configuration on stdin is not JSON (near '%.32s')",
		                cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() : "");
	if (!cJSON_IsObject(c->root))
		return bad(ce, "network configuration must be a JSON object");
	if (get_str(c->root, "cniVersion", &c->version, ce) < 0)
		return -EINVAL;
	if (!c->version)
		return bad(ce, "cniVersion is missing");
	if (!version_known(c->version))
		return cni_fail(ce, CNI_ERR_VERSION, -ENOTSUP,
		                "cniVersion %.32s is not supported; tug-cni speaks 0.3.0, 0.3.1, "
		                "0.4.0, 1.0.0 and 1.1.0",
		                c->version);
	if (get_str(c->root, "name", &c->name, ce) < 0)
		return -EINVAL;
	if (!c->name || !valid_id(c->name, NAME_MAX_LEN))
		return bad(ce,
		           "name '%.80s' is not a network name (an alphanumeric, then "
		           "alphanumerics, '_', '.' or '-', at most %d)",
		           c->name ? c->name : "", NAME_MAX_LEN);
	if ((v = cJSON_GetObjectItemCaseSensitive(c->root, "ipam")) && !cJSON_IsNull(v)) {
		char *s = cJSON_PrintUnformatted(v);
		cni_fail(ce, CNI_ERR_UNSUPPORTED_FIELD, -ENOTSUP,
		         "ipam=%.200s: tug-cni allocates addresses itself from \"ranges\"",
		         s ? s : "?");
		free(s);
		return -ENOTSUP;
	}
	if (get_str(c->root, "bridge", &bridge, ce) < 0 ||
	    get_bool(c->root, "hairpinMode", &c->hairpin, ce) < 0 ||
	    get_bool(c->root, "ipMasq", &c->ip_masq, ce) < 0 ||
	    get_str(c->root, "ipMasqTable", &c->masq_table, ce) < 0 ||
	    get_str(c->root, "dataDir", &data_dir, ce) < 0)
		return -EINVAL;
	if (!valid_ifname(bridge))
		return bad(ce, "bridge '%.64s' is not an interface name (1-15 characters)", bridge);
	snprintf(c->bridge, sizeof(c->bridge), "%s", bridge);
	if ((v = cJSON_GetObjectItemCaseSensitive(c->root, "mtu")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsNumber(v))
			return bad(ce, "mtu must be a number");
		mtu = v->valuedouble;
	}
	if (mtu < 68 || mtu > 65535 || mtu != (double)(unsigned)mtu)
		return bad(ce, "mtu %g is not between 68 and 65535", mtu);
	c->mtu = (unsigned)mtu;
	if (!masq_valid_table(c->masq_table))
		return bad(ce, "ipMasqTable '%.80s' is not a table name (1-64 of A-Z a-z 0-9 _ -)",
		           c->masq_table);
	if (data_dir[0] != '/')
		return bad(ce, "dataDir '%.200s' is not an absolute path", data_dir);
	if (get_cidrs(c->root, "clusterCIDRs", c->keep, ARRAY_SIZE(c->keep), &c->n_keep, ce) < 0)
		return -EINVAL;
	if (parse_ranges(c->root, c, ce) < 0 || parse_portmaps(c->root, c, ce) < 0)
		return -EINVAL;
	v = cJSON_GetObjectItemCaseSensitive(c->root, "dns");
	if (v && !cJSON_IsNull(v) && !cJSON_IsObject(v))
		return bad(ce, "dns must be an object");
	c->dns = cJSON_IsObject(v) ? v : NULL;
	v = cJSON_GetObjectItemCaseSensitive(c->root, "prevResult");
	c->prev_result = cJSON_IsObject(v) ? v : NULL;
	v = cJSON_GetObjectItemCaseSensitive(c->root, "cni.dev/valid-attachments");
	if (v && !cJSON_IsNull(v) && !cJSON_IsArray(v))
		return bad(ce, "cni.dev/valid-attachments must be a list");
	c->attachments = cJSON_IsArray(v) ? v : NULL;
	c->ipam_dir = xasprintf("%s/%s", data_dir, c->name);
	return 0;
}

void cni_conf_free(struct cni_conf *c)
{
	cJSON_Delete(c->root);
	free(c->ipam_dir);
	memset(c, 0, sizeof(*c));
}

/* --- names of what ADD creates ------------------------------------------------- */

static uint32_t fnv1a(uint32_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* Derived from the attachment, so DEL and CHECK find it again without any state; salt
 * picks another name in the rare case that one belongs to someone else. */
void cni_veth_name(const struct cni_conf *c, const struct cni_req *q, unsigned salt,
                   char out[IF_NAMESIZE])
{
	uint32_t h = 2166136261u;
	h = fnv1a(h, c->name);
	h = fnv1a(h, "/");
	h = fnv1a(h, q->container_id);
	h = fnv1a(h, "/");
	h = fnv1a(h, q->ifname);
	h = (h ^ salt) * 16777619u;
	snprintf(out, IF_NAMESIZE, "veth%08x", h);
}

void cni_veth_alias(const struct cni_conf *c, const char *id, const char *ifname, char *out,
                    size_t cap)
{
	snprintf(out, cap, "tug-cni/%s/%s/%s", c->name, id, ifname);
}

bool cni_alias_parse(const struct cni_conf *c, const char *alias, char *id, size_t id_cap,
                     char *ifname, size_t if_cap)
{
	char prefix[NAME_MAX_LEN + 16];
	const char *p, *slash;

	snprintf(prefix, sizeof(prefix), "tug-cni/%s/", c->name);
	if (!str_has_prefix(alias, prefix))
		return false;
	p = alias + strlen(prefix);
	slash = strchr(p, '/');
	if (!slash || (size_t)(slash - p) >= id_cap || strlen(slash + 1) >= if_cap)
		return false;
	memcpy(id, p, (size_t)(slash - p));
	id[slash - p] = '\0';
	snprintf(ifname, if_cap, "%s", slash + 1);
	return id[0] && ifname[0];
}

/* --- the conflist ---------------------------------------------------------------- */

static cJSON *str_array(const char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i] ? v[i] : ""));
	return a;
}

int cni_write_conflist(const char *dir, const struct cni_net_conf *nc, struct err *e)
{
	const char *name = nc->name ? nc->name : CNI_DEFAULT_NETWORK;
	cJSON *list = cJSON_CreateObject(), *plugins, *p, *ranges;
	struct cni_conf check;
	struct cni_error ce = { 0 };
	char *text = NULL, *ptext = NULL, path[4096];
	int rc;

	if (nc->n_pod_cidrs > CNI_MAX_CIDRS || nc->n_cluster_cidrs > CNI_MAX_CLUSTER_CIDRS ||
	    nc->n_dns_servers > ARRAY_SIZE(nc->dns_servers) ||
	    nc->n_dns_search > ARRAY_SIZE(nc->dns_search)) {
		rc = err_set(e, -EINVAL, "CNI network %s: too many CIDRs or DNS entries", name);
		goto out;
	}
	/* 1.0.0 is what containerd 1.6 and 1.7 know; runtimes that know 1.1.0 pick it from
	 * cniVersions and may then call STATUS and GC. */
	cJSON_AddStringToObject(list, "cniVersion", "1.0.0");
	cJSON_AddItemToObject(list, "cniVersions",
	                      str_array((const char *const[]){ "1.0.0", "1.1.0" }, 2));
	cJSON_AddStringToObject(list, "name", name);
	plugins = cJSON_AddArrayToObject(list, "plugins");
	p = cJSON_CreateObject();
	cJSON_AddItemToArray(plugins, p);
	cJSON_AddStringToObject(p, "type", "tug-cni");
	/* the runtime then passes each pod's hostPorts in runtimeConfig.portMappings */
	cJSON_AddItemToObject(p, "capabilities", cJSON_Parse("{\"portMappings\":true}"));
	cJSON_AddStringToObject(p, "bridge", nc->bridge ? nc->bridge : CNI_DEFAULT_BRIDGE);
	cJSON_AddNumberToObject(p, "mtu", nc->mtu ? nc->mtu : CNI_DEFAULT_MTU);
	cJSON_AddBoolToObject(p, "hairpinMode", nc->hairpin);
	cJSON_AddBoolToObject(p, "ipMasq", nc->ip_masq);
	if (nc->ip_masq)
		cJSON_AddStringToObject(p, "ipMasqTable",
		                        nc->masq_table ? nc->masq_table : CNI_DEFAULT_MASQ_TABLE);
	if (nc->n_cluster_cidrs)
		cJSON_AddItemToObject(p, "clusterCIDRs",
		                      str_array(nc->cluster_cidrs, nc->n_cluster_cidrs));
	cJSON_AddStringToObject(p, "dataDir", nc->data_dir ? nc->data_dir : CNI_DEFAULT_DATA_DIR);
	ranges = cJSON_AddArrayToObject(p, "ranges");
	for (size_t i = 0; i < nc->n_pod_cidrs; i++) {
		cJSON *r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "subnet", nc->pod_cidrs[i] ? nc->pod_cidrs[i] : "");
		if (nc->gateways[i])
			cJSON_AddStringToObject(r, "gateway", nc->gateways[i]);
		cJSON_AddItemToArray(ranges, r);
	}
	if (nc->n_dns_servers || nc->n_dns_search) {
		cJSON *dns = cJSON_AddObjectToObject(p, "dns");
		if (nc->n_dns_servers)
			cJSON_AddItemToObject(dns, "nameservers",
			                      str_array(nc->dns_servers, nc->n_dns_servers));
		if (nc->n_dns_search)
			cJSON_AddItemToObject(dns, "search",
			                      str_array(nc->dns_search, nc->n_dns_search));
	}

	/* Check the plugin's part as the runtime will hand it over: with the list's
	 * version and name added. */
	cJSON *probe = cJSON_Duplicate(p, 1);
	cJSON_AddStringToObject(probe, "cniVersion", "1.0.0");
	cJSON_AddStringToObject(probe, "name", name);
	ptext = cJSON_PrintUnformatted(probe);
	cJSON_Delete(probe);
	rc = cni_conf_parse(ptext, &check, &ce);
	cni_conf_free(&check);
	if (rc < 0) {
		rc = err_set(e, rc, "CNI network %s: %s", name, ce.e.msg);
		goto out;
	}

	text = cJSON_Print(list);
	if ((size_t)snprintf(path, sizeof(path), "%s/10-%s.conflist", dir, name) >= sizeof(path)) {
		rc = err_set(e, -ENAMETOOLONG, "CNI conf dir %s: path too long", dir);
		goto out;
	}
	if ((rc = mkdir_p(dir, 0755)) < 0) {
		err_set(e, rc, "create CNI conf dir %s: %s", dir, strerror(-rc));
		goto out;
	}
	if ((rc = write_file_atomic(path, text, strlen(text), 0644)) < 0)
		err_set(e, rc, "write %s: %s", path, strerror(-rc));
out:
	free(text);
	free(ptext);
	cJSON_Delete(list);
	return rc;
}
