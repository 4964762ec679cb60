/* scheduler: the kube-scheduler of tug server: binds pending pods to nodes through pods/binding. */
#ifndef TUG_SCHEDULER_H
#define TUG_SCHEDULER_H

/*
 * It watches pods, nodes and namespaces through the client's informers and keeps a compact
 * summary per node (requested resources, host ports, the pods there with their labels and
 * affinity terms), so one decision costs a pass over the nodes, not over every object.
 *
 * A pod is ours when spec.nodeName is empty and spec.schedulerName is "default-scheduler"
 * (or empty). Each is filtered and scored as upstream's default plugins do:
 *
 *   filters  NodeUnschedulable, NodeName, TaintToleration (not-Ready nodes count as tainted
 *            node.kubernetes.io/not-ready or /unreachable with NoSchedule, as the node
 *            lifecycle controller taints them), NodeAffinity (nodeSelector and required
 *            terms), NodePorts, NodeResourcesFit, PodTopologySpread (DoNotSchedule),
 *            InterPodAffinity (required affinity, anti-affinity, existing pods' anti-affinity)
 *   scores   NodeResourcesFit (least allocated) 1, NodeResourcesBalancedAllocation 1,
 *            NodeAffinity (preferred) 2, TaintToleration (PreferNoSchedule) 3,
 *            InterPodAffinity (preferred, and existing pods' terms) 2, PodTopologySpread 2
 *            (the pod's ScheduleAnyway constraints, or the system defaults for pods of a
 *            ReplicaSet, ReplicationController or StatefulSet)
 *
 * each score normalized to 0..100 and weighed as upstream, ties broken at random. The chosen
 * node is assumed at once (its summary counts the pod) and the binding is written in the
 * background, so many bindings share the store's group commit. A pod that fits nowhere gets
 * PodScheduled=False, reason Unschedulable, with upstream's message ("0/3 nodes are available:
 * 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu. preemption: 0/3 nodes
 * are available: 3 Preemption is not helpful for scheduling.") and a FailedScheduling event;
 * it is tried again when a node or pod changes in a way that could help it (after its
 * back-off, 1 s doubling to 10 s), and otherwise after a back-off doubling up to 5 minutes.
 * Everything runs on the client's loop.
 */

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct client;
struct scheduler;

struct scheduler_opts {
	const char *name;              /* schedulerName served; NULL: "default-scheduler" */
	uint64_t initial_backoff_ms;   /* 0: 1000 */
	uint64_t max_backoff_ms;       /* 0: 10000 */
	uint64_t max_unschedulable_ms; /* longest wait without news; 0: 300000 */
	/* Share of the nodes to find feasible before scoring, as upstream's
	 * percentageOfNodesToScore: 0 is adaptive (50% less 1% per 125 nodes, at least 5% and
	 * 100 nodes), 100 scores every node. */
	int percentage_of_nodes_to_score;
	uint64_t seed;  /* tie-breaking randomness; 0: from the kernel */
	bool no_events; /* do not record Scheduled/FailedScheduling Events */
};

/* Starts scheduling on c's loop once the pods and nodes are listed. */
int scheduler_start(struct client *c, const struct scheduler_opts *o, struct scheduler **out);
/* Stops; bindings still being written finish later and free what they hold. */
void scheduler_stop(struct scheduler *s);

struct scheduler_stats {
	uint64_t attempts;      /* scheduling cycles run */
	uint64_t bound;         /* bindings written */
	uint64_t unschedulable; /* attempts that found no node */
	uint64_t errors;        /* failed bindings */
	size_t pending;         /* pods waiting (active, backing off or unschedulable) */
	size_t nodes, pods;     /* what the cache holds */
	bool synced;            /* pods and nodes listed: scheduling has begun */
	/* CPU time spent deciding (filters, scores, the unschedulable message), in
	 * microseconds; not the writes that follow. */
	uint64_t cycle_us_total;
};
void scheduler_get_stats(const struct scheduler *s, struct scheduler_stats *out);

/* --- what a decision would be (tests, debugging) --------------------------------- */

enum scheduler_score {
	SCHEDULER_SCORE_FIT,           /* NodeResourcesFit, least allocated */
	SCHEDULER_SCORE_BALANCED,      /* NodeResourcesBalancedAllocation */
	SCHEDULER_SCORE_NODE_AFFINITY, /* NodeAffinity, preferred terms */
	SCHEDULER_SCORE_TAINT,         /* TaintToleration, PreferNoSchedule */
	SCHEDULER_SCORE_POD_AFFINITY,  /* InterPodAffinity, preferred terms */
	SCHEDULER_SCORE_SPREAD,        /* PodTopologySpread */
	SCHEDULER_NSCORES
};

struct scheduler_node_eval {
	char *node;
	bool feasible;
	char *reasons; /* why not, "; "-separated; NULL when feasible */
	/* Normalized to 0..100 before weighing; -1 when the plugin skipped this pod. */
	int64_t score[SCHEDULER_NSCORES];
	int64_t total; /* the weighted sum the choice is made on */
};

struct scheduler_eval {
	struct scheduler_node_eval *nodes; /* every node, by name */
	size_t n;
	char *message; /* the unschedulable message when no node fits, else NULL */
};

/*
 * Runs the filters and scores for pod (any Pod object, bound or not) against every node the
 * cache holds, without sampling or binding. Free the result with scheduler_eval_free.
 */
int scheduler_evaluate(struct scheduler *s, const cJSON *pod, struct scheduler_eval *out);
void scheduler_eval_free(struct scheduler_eval *ev);
/* The node's weight in the sum, as upstream's default profile. */
int scheduler_score_weight(enum scheduler_score sc);
const char *scheduler_score_name(enum scheduler_score sc);

#endif
