/* rtnl: the rtnetlink requests tug makes (links, bridges, veths, addresses, routes), one
 * function per kernel object operation, over libmnl. No `ip` command, no shell. */
#ifndef TUG_RTNL_H
#define TUG_RTNL_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/util/util.h"
#include "net/ipaddr/ipaddr.h"

struct rtnl;

/*
 * A socket in the caller's network namespace, or (rtnl_open_netns) in the one nsfd
 * refers to: the socket stays bound to that namespace after the calling thread
 * returns to its own, so one process can work in several namespaces at once.
 */
int rtnl_open(struct rtnl **out, struct err *e);
int rtnl_open_netns(struct rtnl **out, int nsfd, struct err *e);
void rtnl_close(struct rtnl *r);

struct rtnl_link {
	int index;
	char name[IF_NAMESIZE];
	uint8_t mac[6];
	bool has_mac;
	unsigned mtu;
	unsigned flags; /* IFF_* */
	int master;     /* 0: none */
	char kind[16];  /* "bridge", "veth", ...; "" when the kernel names none */
	char alias[256];
};

/* Looks a link up by name (when name is set) or index. -ENODEV when there is none. */
int rtnl_link_get(struct rtnl *r, const char *name, int index, struct rtnl_link *out,
                  struct err *e);
/* Calls fn for every link; fn returns 0 to go on, anything else stops the walk. */
int rtnl_link_dump(struct rtnl *r, int (*fn)(const struct rtnl_link *l, void *arg), void *arg,
                   struct err *e);

/* A bridge, up, with a fixed MAC (so that it does not follow its ports'). -EEXIST if the
 * name is taken. */
int rtnl_bridge_add(struct rtnl *r, const char *name, unsigned mtu, const uint8_t mac[6],
                    struct err *e);

struct rtnl_veth {
	const char *name; /* this end, in r's namespace */
	const uint8_t *mac;
	int master; /* bridge to enslave this end to; 0: none */
	const char *peer;
	const uint8_t *peer_mac;
	int peer_nsfd; /* namespace the peer is created in; -1: r's */
	unsigned mtu;  /* both ends; 0: kernel default */
	bool up;       /* this end only: the kernel cannot open the peer before the pair is
	                  joined, so it comes up with rtnl_link_set_up afterwards */
};
/* Creates a veth pair in one request. -EEXIST if either name is taken. */
int rtnl_veth_add(struct rtnl *r, const struct rtnl_veth *v, struct err *e);

/* Sets IFF_UP on a link. */
int rtnl_link_set_up(struct rtnl *r, int index, struct err *e);
/* Sets a link's alias and, when it is a bridge port, its hairpin mode, in one request. */
int rtnl_link_set_port(struct rtnl *r, const char *name, const char *alias, int hairpin,
                       struct err *e);
/* Deletes a link by index (or name when index is 0). -ENODEV when there is none. */
int rtnl_link_del(struct rtnl *r, int index, const char *name, struct err *e);
/*
 * Deletes a link and returns once the kernel has unlisted it: its name, addresses
 * and routes are gone, and for a veth its peer as well. The kernel then still frees
 * the device after an RCU barrier, which takes tens of milliseconds; a helper process
 * waits for that in our place, with stdio and every other descriptor closed, so that
 * a runtime reading our stdout sees EOF when we exit. Meant for short-lived processes
 * (the CNI plugin): the helper is left to be reaped by init, and leaves behind one
 * 32 KiB mapping. The socket must not be used by anyone else meanwhile.
 */
int rtnl_link_del_detached(struct rtnl *r, int index, struct err *e);

enum { RTNL_ADDR_NODAD = 1 };
/* Adds an address with its prefix length. -EEXIST if it is there. */
int rtnl_addr_add(struct rtnl *r, int index, const struct ipaddr_net *a, unsigned flags,
                  struct err *e);
struct rtnl_addr {
	int index;
	struct ipaddr_net addr;
};
/* Calls fn for every address of family (AF_UNSPEC: both). */
int rtnl_addr_dump(struct rtnl *r, int family, int (*fn)(const struct rtnl_addr *a, void *arg),
                   void *arg, struct err *e);

struct rtnl_route {
	struct ipaddr_net dst;
	struct ipaddr gw; /* family 0: none */
	int oif;          /* 0: none */
	uint32_t table;   /* 0: main */
	uint8_t protocol; /* 0: RTPROT_BOOT, as `ip route` uses */
	uint32_t priority;
};
/* Adds a route; with replace, replaces one with the same destination. */
int rtnl_route_add(struct rtnl *r, const struct rtnl_route *rt, bool replace, struct err *e);
int rtnl_route_del(struct rtnl *r, const struct rtnl_route *rt, struct err *e);
/* Calls fn for every unicast route of family in every table. */
int rtnl_route_dump(struct rtnl *r, int family, int (*fn)(const struct rtnl_route *rt, void *arg),
                    void *arg, struct err *e);

#endif
