/* kubelet network: watches this node's Node object and, once the node IPAM controller has
 * given it podCIDRs, writes the conflist that makes containerd run tug-cni for its pods. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "core/kubelet/kubelet-internal.h"
#define LOG_TAG "kubelet"
#include "core/log/log.h"
#include "core/obj/obj.h"
#ifdef CONFIG_TUG_CNI
#include "net/cni/cni.h"
#endif

/* The node's podCIDRs as one comma-separated string ("" when none yet). */
static void pod_cidrs(const cJSON *node, char *out, size_t n)
{
	out[0] = '\0';
	const cJSON *l = obj_get(node, "spec.podCIDRs"), *it;
	size_t used = 0;
	cJSON_ArrayForEach(it, l)
	{
		if (cJSON_IsString(it) && used < n)
			used += (size_t)snprintf(out + used, n - used, "%s%s", used ? "," : "",
			                         it->valuestring);
	}
	const char *one = obj_get_str(node, "spec.podCIDR");
	if (!out[0] && one)
		snprintf(out, n, "%s", one);
}

#ifdef CONFIG_TUG_CNI
static int write_conflist(struct kubelet *k, const char *cidrs, struct err *e)
{
	char buf[256], *save = NULL;
	struct cni_net_conf c = { .bridge = k->cni_bridge, .hairpin = true, .ip_masq = true };
	_cleanup_free_ char *table = NULL;
	_cleanup_free_ char *conf_dir = xasprintf("%s/cni/net.d", k->data_dir);
	_cleanup_free_ char *data_dir = xasprintf("%s/cni", k->data_dir);
	snprintf(buf, sizeof(buf), "%s", cidrs);
	for (char *t = strtok_r(buf, ",", &save); t && c.n_pod_cidrs < CNI_MAX_CIDRS;
	     t = strtok_r(NULL, ",", &save))
		c.pod_cidrs[c.n_pod_cidrs++] = t;
	_cleanup_free_ char *clusters = xstrdup(k->cluster_cidr ? k->cluster_cidr : "");
	for (char *t = strtok_r(clusters, ",", &save);
	     t && c.n_cluster_cidrs < CNI_MAX_CLUSTER_CIDRS; t = strtok_r(NULL, ",", &save))
		c.cluster_cidrs[c.n_cluster_cidrs++] = t;
	/* a second bridge (tests, several tugs on one host) gets its own masquerade table */
	if (strcmp(k->cni_bridge, CNI_DEFAULT_BRIDGE))
		c.masq_table = table = xasprintf("tug-cni-%s", k->cni_bridge);
	c.data_dir = data_dir;
	if (k->cluster_dns && *k->cluster_dns)
		c.dns_servers[c.n_dns_servers++] = k->cluster_dns;
	return cni_write_conflist(conf_dir, &c, e);
}
#else
static int write_conflist(struct kubelet *k, const char *cidrs, struct err *e)
{
	return 0; /* built without tug-cni: whatever CNI the runtime has */
}
#endif

static void node_changed(void *arg, const cJSON *node)
{
	struct kubelet *k = arg;
	char cidrs[256];
	struct err e = { 0 };
	pod_cidrs(node, cidrs, sizeof(cidrs));
	if (!cidrs[0] || (k->pod_cidrs && !strcmp(k->pod_cidrs, cidrs)) || k->stopping)
		return;
	if (write_conflist(k, cidrs, &e) < 0) {
		log_error("pod network for %s: %s", cidrs, e.msg);
		return;
	}
	free(k->pod_cidrs);
	k->pod_cidrs = xstrdup(cidrs);
	log_info("pod network: tug-cni on bridge %s with pod CIDRs %s", k->cni_bridge, cidrs);
}

static void node_updated(void *arg, const cJSON *old, const cJSON *node)
{
	node_changed(arg, node);
}

static bool is_this_node(void *arg, const struct reg_kind *kind, const cJSON *obj)
{
	struct kubelet *k = arg;
	const char *n = obj_get_str(obj, "metadata.name");
	return n && !strcmp(n, k->node_name);
}

int kl_network_start(struct kubelet *k)
{
	const struct reg_kind *kind = client_kind("", "nodes");
	if (!kind)
		return -ENOENT;
	struct api_filter f = { .match = is_this_node, .arg = k };
	struct informer_handlers h = { .add = node_changed, .update = node_updated, .arg = k };
	k->nodes = informer_new(k->c, kind, NULL, &f);
	informer_add_handlers(k->nodes, &h);
	return informer_start(k->nodes);
}
