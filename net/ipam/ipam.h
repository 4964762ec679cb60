/* ipam: pod addresses from the node's pod CIDRs, leased per (container ID, interface) in one
 * file under a data directory, shared safely by concurrent plugin processes. */
#ifndef TUG_IPAM_H
#define TUG_IPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util/util.h"
#include "net/ipaddr/ipaddr.h"

/* One range per address family: Kubernetes gives a node at most one podCIDR of each. */
#define IPAM_MAX_RANGES 2

struct ipam_range {
	struct ipaddr_net subnet;
	struct ipaddr gateway; /* family 0 before ipam_range_check: the subnet's first host */
};

/*
 * Checks a range and fills in its default gateway. A range must leave at least one
 * address besides its network, gateway and last ("broadcast") addresses, none of
 * which is ever leased; an explicit gateway must be a host of the subnet.
 */
int ipam_range_check(struct ipam_range *r, struct err *e);

struct ipam_opts {
	const char *dir; /* created if missing; holds "lock" and "leases" */
	const struct ipam_range *ranges;
	size_t n_ranges;
	/* Leases from another boot are dropped when read: network namespaces do not
	 * survive a reboot, so neither can their addresses. NULL: the kernel's boot id. */
	const char *boot_id;
};

struct ipam;
int ipam_open(struct ipam **out, const struct ipam_opts *o, struct err *e);
void ipam_close(struct ipam *p);

/*
 * Leases one address from every range to (id, ifname), or returns the ones it holds
 * already, so that a retried ADD gets the same addresses. out[i] is range i's. When a
 * range is full nothing is kept and the result is -ENOSPC. Addresses are handed out
 * round-robin, so a released one is not reused at once. *fresh (optional) says whether
 * any lease was made now: a caller that fails afterwards releases only what it made.
 */
int ipam_alloc(struct ipam *p, const char *id, const char *ifname, struct ipaddr *out, bool *fresh,
               struct err *e);
/* Releases every address of (id, ifname); 0 when it had none. */
int ipam_release(struct ipam *p, const char *id, const char *ifname, struct err *e);
/* out[i]: the address (id, ifname) holds in range i, family 0 when none. */
int ipam_lookup(struct ipam *p, const char *id, const char *ifname, struct ipaddr *out,
                struct err *e);

struct ipam_owner {
	const char *id;
	const char *ifname;
};
/* Releases every lease whose owner is not in keep; *released counts them. */
int ipam_gc(struct ipam *p, const struct ipam_owner *keep, size_t n_keep, size_t *released,
            struct err *e);
/* avail[i]: addresses range i can still lease, UINT64_MAX when more than that. */
int ipam_available(struct ipam *p, uint64_t *avail, struct err *e);

#endif
