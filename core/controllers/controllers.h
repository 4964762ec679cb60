/* controllers: the controllers of kube-controller-manager, running inside tug server on the
 * event loop through the in-process client. */
#ifndef TUG_CONTROLLERS_H
#define TUG_CONTROLLERS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/client/client.h"

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
