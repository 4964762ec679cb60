/* kubelet: the node half of tug. This header so far covers the Node object and its Lease:
 * registration, capacity and conditions read from /proc and cgroups, status updates on
 * change and every minute, and Lease renewal. (Pods on containerd come with the CRI work.) */
#ifndef TUG_KUBELET_H
#define TUG_KUBELET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/client/client.h"
#include "core/loop/loop.h"

struct kubelet_node;

struct kubelet_node_opts {
	const char *name;       /* node name (default: hostname) */
	const char *const *ips; /* InternalIPs; NULL: the address of the default route */
	size_t nips;
	const char *const *labels; /* "k=v" extra labels */
	size_t nlabels;
	const char *const *taints; /* "k=v:Effect" */
	size_t ntaints;
	bool control_plane;   /* adds the node-role labels of a server */
	const char *data_dir; /* for DiskPressure (the file system it lives on) */
	uint64_t lease_ms;    /* Lease renewal interval [10 s] */
	uint64_t status_ms;   /* status update when nothing changed [60 s] */
	const char *
	    runtime_version; /* "containerd://1.6.20"; updated later with kubelet_node_set_runtime */
	int kubelet_port;    /* daemonEndpoints [10250] */
};

/* Registers the node (or adopts the existing object) and keeps it and its Lease current. */
int kubelet_node_start(struct client *c, const struct kubelet_node_opts *o,
                       struct kubelet_node **out, struct err *e);
void kubelet_node_stop(struct kubelet_node *n);
/* The runtime's state, reflected in the Ready condition (NotReady until it is ready). */
void kubelet_node_set_runtime(struct kubelet_node *n, bool ready, const char *version,
                              const char *message);
const char *kubelet_node_name(const struct kubelet_node *n);

/* What the machine has, as the Node's capacity shows it. */
struct kubelet_capacity {
	int64_t cpu_milli;
	int64_t memory_bytes;
	int64_t ephemeral_bytes;
	int64_t pods;
	int64_t mem_available_bytes; /* for MemoryPressure */
	double disk_free_ratio;      /* for DiskPressure */
	int64_t pids_max, pids_used; /* for PIDPressure */
};
int kubelet_read_capacity(const char *data_dir, struct kubelet_capacity *c);

#endif
