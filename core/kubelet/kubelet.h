/* kubelet: the node half of tug: the Node object and its Lease (registration, capacity and
 * conditions read from /proc and cgroups, status on change and every minute, Lease renewal),
 * and the pods bound to the node, run on containerd over CRI: pod workers, PLEG, probes,
 * volumes, status and logs. */
#ifndef TUG_KUBELET_H
#define TUG_KUBELET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/client/client.h"
#include "core/loop/loop.h"

struct cri_runtime;
struct http_req;

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
/* Stops the timers and frees n once its writes in flight are done; done(arg) runs then
 * (from the loop, or at once when nothing was in flight). */
void kubelet_node_shutdown(struct kubelet_node *n, void (*done)(void *arg), void *arg);

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

/* --- pods ------------------------------------------------------------------------------ */

struct kubelet;

struct kubelet_opts {
	struct client *client;       /* acting as system:node:<name> */
	struct cri_runtime *runtime; /* its CRI client; readiness follows it */
	struct kubelet_node *node;   /* told when the runtime becomes (un)ready; may be NULL */
	const char *node_name;
	const char *node_ip;        /* status.hostIP(s) and hostNetwork pods' IP */
	const char *data_dir;       /* pods' volumes under <data_dir>/pods/<uid>/ */
	const char *log_dir;        /* CRI logs: default /var/log/pods */
	const char *cluster_dns;    /* ClusterFirst pods' nameserver; NULL/"": Default */
	const char *cluster_domain; /* default cluster.local */
	const char *resolv_conf;    /* the host's, for dnsPolicy Default [/etc/resolv.conf] */
	uint64_t relist_ms;         /* PLEG period [1000] */
	const char *cni_bridge;     /* tug-cni's bridge [tug0] */
	const char *cluster_cidr;   /* pod traffic to it is not masqueraded; may be NULL */
};

/*
 * Runs the pods bound to o->node_name: watches them, keeps one worker per pod that makes
 * containerd match the spec (sandbox, init containers in order, app containers, restarts
 * with upstream's back-off, probes, volumes), reports their status, and ends them
 * gracefully when they are deleted. Containers already running (tug restarted) are
 * adopted, not restarted.
 */
int kubelet_start(const struct kubelet_opts *o, struct kubelet **out, struct err *e);
/*
 * Stops starting anything (pods keep running in containerd), stops o->node too, and calls
 * done(arg) from the loop once the writes in flight have landed (or after a few seconds).
 * CRI calls still in flight end when the runtime is stopped; then kubelet_free.
 */
void kubelet_shutdown(struct kubelet *k, void (*done)(void *arg), void *arg);
void kubelet_free(struct kubelet *k);

/*
 * GET pods/log for pod (on this node): streams the container's CRI log into r as
 * text/plain, with the query's container, follow, previous, sinceSeconds, sinceTime,
 * timestamps, tailLines and limitBytes; errors are Status objects as upstream's. Finishes
 * r. Has the shape of api_pod_log_fn, for api_set_pod_log.
 */
void kubelet_serve_log(void *kubelet, struct http_req *r, const cJSON *pod);

#endif
