/* cni: tug-cni, the CNI plugin (spec 1.0 and 1.1) that gives each pod a veth on the node's
 * bridge and an address from the node's pod CIDRs, all over rtnetlink; and the conflist
 * that tells containerd to use it. */
#ifndef TUG_CNI_H
#define TUG_CNI_H

#include <stdbool.h>
#include <stddef.h>

#include "core/util/util.h"

#define CNI_DEFAULT_NETWORK "tug"
#define CNI_DEFAULT_BRIDGE "tug0"
#define CNI_DEFAULT_MTU 1500
#define CNI_DEFAULT_DATA_DIR "/var/lib/tug/cni"
#define CNI_DEFAULT_MASQ_TABLE "tug-cni"
/* One pod CIDR per family, as Kubernetes gives a node. */
#define CNI_MAX_CIDRS 2
#define CNI_MAX_CLUSTER_CIDRS 4

/* The entry point when the binary runs as tug-cni: CNI_* environment, config on stdin,
 * result or error JSON on stdout. Returns the exit status. */
int cni_main(int argc, char **argv);

/* What the kubelet knows about this node's pod network. */
struct cni_net_conf {
	const char *name;                     /* network name; NULL: CNI_DEFAULT_NETWORK */
	const char *bridge;                   /* NULL: CNI_DEFAULT_BRIDGE */
	const char *pod_cidrs[CNI_MAX_CIDRS]; /* the node's podCIDRs, at most one per family */
	const char *gateways[CNI_MAX_CIDRS];  /* per pod CIDR; NULL: its first host */
	size_t n_pod_cidrs;
	unsigned mtu; /* 0: CNI_DEFAULT_MTU */
	bool hairpin; /* pods may reach themselves through a Service (Kubernetes wants it) */
	bool ip_masq; /* masquerade pod traffic leaving cluster_cidrs (or the pod CIDRs) */
	const char *cluster_cidrs[CNI_MAX_CLUSTER_CIDRS]; /* destinations never masqueraded */
	size_t n_cluster_cidrs;
	const char *masq_table; /* nftables table for ip_masq; NULL: CNI_DEFAULT_MASQ_TABLE */
	const char *data_dir;   /* leases go in <data_dir>/<name>/; NULL: CNI_DEFAULT_DATA_DIR */
	const char *dns_servers[4]; /* reported in the ADD result; optional */
	size_t n_dns_servers;
	const char *dns_search[6];
	size_t n_dns_search;
};

/*
 * Writes <dir>/10-<name>.conflist (atomically, mode 0644) for a runtime to run tug-cni
 * with. The conf is checked the way the plugin will check it, so a bad CIDR fails here
 * and not at the first pod.
 */
int cni_write_conflist(const char *dir, const struct cni_net_conf *c, struct err *e);

#endif
