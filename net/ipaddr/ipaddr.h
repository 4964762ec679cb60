/* ipaddr: IPv4 and IPv6 addresses and prefixes as plain bytes: parse, print, compare, step. */
#ifndef TUG_IPADDR_H
#define TUG_IPADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Long enough for any address, and for any prefix ("addr/len"). */
#define IPADDR_STRLEN 46
#define IPADDR_NET_STRLEN 50

/* An address of either family; IPv4 uses b[0..3] and leaves the rest zero, so two
 * addresses compare with memcmp. The byte form avoids 128-bit integers, which 32-bit
 * ARM compilers do not have. */
struct ipaddr {
	int family; /* AF_INET or AF_INET6; 0: unset */
	uint8_t b[16];
};

/* A prefix: an address and how many leading bits of it count. */
struct ipaddr_net {
	struct ipaddr addr;
	unsigned len;
};

/* Bytes in an address of this family: 4, 16, or 0 for anything else. */
unsigned ipaddr_bytes(int family);

/* Parses "10.1.2.3" or "fd00::1". Returns 0 or -EINVAL. */
int ipaddr_parse(const char *s, struct ipaddr *out);
/*
 * Parses "10.1.0.0/24". With strict, an address with bits set past the prefix
 * ("10.1.0.5/24") is -EINVAL; without, it is kept as written (an interface
 * address). Returns 0 or -EINVAL.
 */
int ipaddr_net_parse(const char *s, struct ipaddr_net *out, bool strict);

/* Formats into buf and returns buf. */
const char *ipaddr_str(const struct ipaddr *a, char buf[IPADDR_STRLEN]);
const char *ipaddr_net_str(const struct ipaddr_net *n, char buf[IPADDR_NET_STRLEN]);

bool ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b);
/* Orders by family, then numerically. */
int ipaddr_cmp(const struct ipaddr *a, const struct ipaddr *b);
bool ipaddr_net_equal(const struct ipaddr_net *a, const struct ipaddr_net *b);

/* True when a lies inside n (same family, same leading n->len bits). */
bool ipaddr_net_contains(const struct ipaddr_net *n, const struct ipaddr *a);
/* True when the two prefixes share any address. */
bool ipaddr_net_overlaps(const struct ipaddr_net *a, const struct ipaddr_net *b);
/* The prefix's first (all host bits clear) and last (all set) addresses. */
void ipaddr_net_first(const struct ipaddr_net *n, struct ipaddr *out);
void ipaddr_net_last(const struct ipaddr_net *n, struct ipaddr *out);
/* Clears the host bits of n->addr. */
void ipaddr_net_mask(struct ipaddr_net *n);

/* Adds one; returns false (and leaves a wrapped to zero) past the family's last address. */
bool ipaddr_inc(struct ipaddr *a);

#endif
