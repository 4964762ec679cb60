/* controllers: the controllers of kube-controller-manager, level-triggered loops that drive the
 * cluster towards what its objects ask for, through the same client every component uses. */
#ifndef TUG_CONTROLLERS_H
#define TUG_CONTROLLERS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/client/client.h"
#include "core/util/util.h"

/* =============================================================================== * Cluster controllers: endpoints and EndpointSlices, node lifecycle (taints and taint-based
 * eviction), node IPAM, namespace deletion, the garbage collector, default service
 * accounts and the root CA ConfigMap, resource quota usage.
 *
 * Each one is level-triggered: informers tell it which keys changed, a work queue (with
 * per-key back-off) reconciles one key at a time against the cached and stored state, a
 * periodic resync catches what events missed, and what it does is recorded as Events that
 * `kubectl describe` shows. Everything runs on the event loop's thread.
 * ====================================================================================== */

/*
 * Informers shared by the controllers of one process: one watch and one cache per kind,
 * however many controllers look at it. A subscriber added late is told about every cached
 * object at once (and that the cache is synced, if it is), so start order does not matter.
 * Free it after every controller using it has stopped.
 */
struct ctrl_informers;

struct ctrl_informers *ctrl_informers_new(struct client *c);
void ctrl_informers_free(struct ctrl_informers *f);
struct client *ctrl_informers_client(const struct ctrl_informers *f);
/* Subscribes h to kind k (in every namespace), starting its informer on first use. Returns a
 * subscription id (> 0) for ctrl_informers_unwatch. */
int ctrl_informers_watch(struct ctrl_informers *f, const struct reg_kind *k,
                         const struct informer_handlers *h);
void ctrl_informers_unwatch(struct ctrl_informers *f, int id);
/* The cache of kind k, or NULL when nobody watches it. */
struct informer *ctrl_informers_get(const struct ctrl_informers *f, const struct reg_kind *k);

/* Settings; zero fields take the defaults in brackets (upstream's, where it has them). */
struct ctrl_cluster_opts {
	/* Every controller: how often all keys are queued again [300 s]. */
	uint64_t resync_ms;
	/* EndpointSlices: endpoints per slice [100]. */
	int max_endpoints_per_slice;
	/* Node lifecycle: how often node health is checked [5 s]; how long a node's Lease may
	 * go unrenewed before it is Unknown [40 s]; the same for a node that never posted a
	 * status [60 s]. */
	uint64_t node_monitor_period_ms;
	uint64_t node_monitor_grace_ms;
	uint64_t node_startup_grace_ms;
	/* Node IPAM: pod CIDRs, one range per family, comma-separated [10.42.0.0/16], and the
	 * size of each node's block [/24 for IPv4, /64 for IPv6]. */
	const char *cluster_cidr;
	int node_cidr_mask_v4, node_cidr_mask_v6;
	/* Namespaces: how long to wait before looking again at a namespace whose content is
	 * still going [2 s; graceful pods extend it up to their grace period]. */
	uint64_t namespace_recheck_ms;
	/* The cluster CA (PEM) published as ConfigMap kube-root-ca.crt in every namespace;
	 * NULL publishes nothing. Kept by pointer: it must outlive the controller. */
	const char *root_ca_pem;
};

/* Each controller: start subscribes to the informers it needs and begins work; stop ends
 * it (writes still in flight finish quietly). -EINVAL in e for bad options. */
struct ctrl_endpointslice;
int ctrl_endpointslice_start(struct ctrl_informers *f, const struct ctrl_cluster_opts *o,
                             struct ctrl_endpointslice **out, struct err *e);
void ctrl_endpointslice_stop(struct ctrl_endpointslice *x);

struct ctrl_endpoints;
int ctrl_endpoints_start(struct ctrl_informers *f, const struct ctrl_cluster_opts *o,
                         struct ctrl_endpoints **out, struct err *e);
void ctrl_endpoints_stop(struct ctrl_endpoints *x);

struct ctrl_nodelifecycle;
int ctrl_nodelifecycle_start(struct ctrl_informers *f, const struct ctrl_cluster_opts *o,
                             struct ctrl_nodelifecycle **out, struct err *e);
void ctrl_nodelifecycle_stop(struct ctrl_nodelifecycle *x);

struct ctrl_nodeipam;
int ctrl_nodeipam_start(struct ctrl_informers *f, const struct ctrl_cluster_opts *o,
                        struct ctrl_nodeipam **out, struct err *e);
void ctrl_nodeipam_stop(struct ctrl_nodeipam *x);

struct ctrl_namespace;
int ctrl_namespace_start(struct ctrl_informers *f, const struct ctrl_cluster_opts *o,
                         struct ctrl_namespace **out, struct err *e);
void ctrl_namespace_stop(struct ctrl_namespace *x);

struct ctrl_gc;
int ctrl_gc_start(struct ctrl_informers *f, const struct ctrl_cluster_opts *o, struct ctrl_gc **out,
                  struct err *e);
void ctrl_gc_stop(struct ctrl_gc *x);

struct ctrl_serviceaccount;
int ctrl_serviceaccount_start(struct ctrl_informers *f, const struct ctrl_cluster_opts *o,
                              struct ctrl_serviceaccount **out, struct err *e);
void ctrl_serviceaccount_stop(struct ctrl_serviceaccount *x);

struct ctrl_resourcequota;
int ctrl_resourcequota_start(struct ctrl_informers *f, const struct ctrl_cluster_opts *o,
                             struct ctrl_resourcequota **out, struct err *e);
void ctrl_resourcequota_stop(struct ctrl_resourcequota *x);

/* All of the above on one set of shared informers: what `tug server` runs. */
struct ctrl_cluster;
int ctrl_cluster_start(struct client *c, const struct ctrl_cluster_opts *o,
                       struct ctrl_cluster **out, struct err *e);
void ctrl_cluster_stop(struct ctrl_cluster *cc);

/* ====================================================================================== */

/* ==== workload controllers: replicaset, deployment, daemonset, statefulset, job, cronjob ====
 *
 * One shared set of informers (pods, nodes, replicasets, deployments, daemonsets,
 * statefulsets, controllerrevisions, jobs, cronjobs, persistentvolumeclaims) feeds the
 * controllers picked in `which`. Each controller is level-triggered: informer events put keys
 * on its work queue, a sync compares desired with observed state and writes the difference,
 * failures are retried with per-key exponential back-off, and every key is resynced
 * periodically. Everything runs on the client's loop.
 */

enum {
	CONTROLLERS_REPLICASET = 1 << 0,
	CONTROLLERS_DEPLOYMENT = 1 << 1,
	CONTROLLERS_DAEMONSET = 1 << 2,
	CONTROLLERS_STATEFULSET = 1 << 3,
	CONTROLLERS_JOB = 1 << 4,
	CONTROLLERS_CRONJOB = 1 << 5,
	CONTROLLERS_WORKLOADS = (1 << 6) - 1,
};

struct controllers_workloads_opts {
	unsigned which; /* CONTROLLERS_* bits; 0: all of them */
	/* Wall clock in milliseconds since the epoch; NULL: the real one. Tests drive time
	 * (minReadySeconds, progress deadlines, job back-off and TTL, cron schedules) with it. */
	int64_t (*now_ms)(void *arg);
	void *now_arg;
	uint64_t resync_ms; /* every key is synced again this often; 0: 30 s */
};

struct controllers_workloads;

/* Starts the controllers; they begin work once their informers have listed everything. */
int controllers_workloads_start(struct client *c, const struct controllers_workloads_opts *o,
                                struct controllers_workloads **out);
/* Stops them. Writes still in flight finish on the loop afterwards (and free what is left). */
void controllers_workloads_stop(struct controllers_workloads *w);
/* Queues every object of every running controller now (as the periodic resync does). */
void controllers_workloads_resync(struct controllers_workloads *w);
/* True once every informer has its initial list. */
bool controllers_workloads_synced(const struct controllers_workloads *w);

/* ==== end of workload controllers ==== */

#endif
