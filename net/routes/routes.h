/* routes: host-gw pod networking between nodes: a route to every other node's podCIDR via
 * its InternalIP (rtnetlink), and masquerade of pod traffic leaving the cluster CIDR
 * (nftables). routes_sync converges the kernel to a node list, however often it is fed. */
#ifndef TUG_ROUTES_H
#define TUG_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util/util.h"

#define ROUTES_MAX_CIDRS 2
#define ROUTES_MAX_CLUSTER_CIDRS 4
#define ROUTES_DEFAULT_TABLE "tug-routes"
/* rtm_protocol that marks our routes, so a sync can tell them from everyone else's and
 * `ip route show proto 116` lists them. Unassigned in iproute2's rt_protos. */
#define ROUTES_DEFAULT_PROTOCOL 116

/* A Node as the API has it: spec.podCIDRs and the InternalIP status addresses. */
struct routes_node {
	const char *name;
	const char *pod_cidrs[ROUTES_MAX_CIDRS];
	size_t n_pod_cidrs;
	const char *internal_ips[ROUTES_MAX_CIDRS]; /* one per family */
	size_t n_internal_ips;
};

struct routes_conf {
	const char *self; /* this node's name: never routed to */
	const char *cluster_cidrs[ROUTES_MAX_CLUSTER_CIDRS];
	size_t n_cluster_cidrs;
	bool masquerade;       /* masquerade pod traffic leaving every cluster CIDR */
	const char *nft_table; /* inet table tug owns; NULL: ROUTES_DEFAULT_TABLE */
	uint8_t protocol;      /* 0: ROUTES_DEFAULT_PROTOCOL */
	uint32_t table;        /* routing table; 0: main */
};

struct routes;
/* Checks the conf and opens the sockets (in the caller's network namespace). */
int routes_new(struct routes **out, const struct routes_conf *c, struct err *e);
/* Leaves routes and rules in place: pods keep their network while tug restarts. */
void routes_free(struct routes *r);

struct routes_stats {
	size_t routes;  /* routes the node list calls for */
	size_t added;   /* of those, added or corrected now */
	size_t deleted; /* ours that the list no longer calls for */
	size_t skipped; /* pod CIDRs without an InternalIP of their family */
};

/*
 * Makes the kernel hold exactly the routes the node list calls for: one per pod CIDR
 * of every other node, via that node's InternalIP of the same family; routes of ours
 * (by protocol) that the list no longer names are deleted, whoever changed them. Then
 * rewrites the masquerade table in one nftables transaction. A bad entry or a route
 * the kernel refuses does not stop the rest: the first such error is returned, naming
 * the node, after everything else is in place.
 */
int routes_sync(struct routes *r, const struct routes_node *nodes, size_t n,
                struct routes_stats *st, struct err *e);
/* Removes every route of ours and the nftables table (for uninstall). */
int routes_flush(struct routes *r, struct err *e);

/* --- run by the node: routes_sync fed from a watch on Nodes ------------------------------ */

struct client;
struct routes_watch;
/*
 * Watches Nodes through c and keeps the routes to their pod CIDRs in sync (after the
 * first full list, after every change, and every few minutes). Sync failures are logged
 * and retried. Stopping leaves the routes in place, as routes_free does.
 */
int routes_watch_start(struct client *c, const struct routes_conf *conf, struct routes_watch **out,
                       struct err *e);
void routes_watch_stop(struct routes_watch *w);

#endif
