/* ipaddr: address and prefix arithmetic on byte arrays, shared by IPAM, the CNI plugin
 * and the inter-node routes. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net/ipaddr/ipaddr.h"

unsigned ipaddr_bytes(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

int ipaddr_parse(const char *s, struct ipaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (!s)
		return -EINVAL;
	if (inet_pton(AF_INET, s, out->b) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->b) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

int ipaddr_net_parse(const char *s, struct ipaddr_net *out, bool strict)
{
	char ip[IPADDR_STRLEN];
	const char *slash;
	unsigned len = 0;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!s || !(slash = strchr(s, '/')))
		return -EINVAL;
	n = (size_t)(slash - s);
	if (n == 0 || n >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, n);
	ip[n] = '\0';
	if (ipaddr_parse(ip, &out->addr) < 0)
		return -EINVAL;
	/* Decimal, no sign, no leading zeros beyond "0", at most three digits. */
	const char *p = slash + 1;
	if (!*p || strlen(p) > 3 || (p[0] == '0' && p[1]))
		return -EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		len = len * 10 + (unsigned)(*p - '0');
	}
	if (len > ipaddr_bytes(out->addr.family) * 8)
		return -EINVAL;
	out->len = len;
	if (strict) {
		struct ipaddr_net m = *out;
		ipaddr_net_mask(&m);
		if (!ipaddr_equal(&m.addr, &out->addr))
			return -EINVAL;
	}
	return 0;
}

const char *ipaddr_str(const struct ipaddr *a, char buf[IPADDR_STRLEN])
{
	if (!ipaddr_bytes(a->family) || !inet_ntop(a->family, a->b, buf, IPADDR_STRLEN))
		snprintf(buf, IPADDR_STRLEN, "<none>");
	return buf;
}

const char *ipaddr_net_str(const struct ipaddr_net *n, char buf[IPADDR_NET_STRLEN])
{
	char a[IPADDR_STRLEN];
	snprintf(buf, IPADDR_NET_STRLEN, "%s/%u", ipaddr_str(&n->addr, a), n->len);
	return buf;
}

bool ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b)
{
	return a->family == b->family && memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

int ipaddr_cmp(const struct ipaddr *a, const struct ipaddr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->b, b->b, sizeof(a->b));
}

bool ipaddr_net_equal(const struct ipaddr_net *a, const struct ipaddr_net *b)
{
	return a->len == b->len && ipaddr_equal(&a->addr, &b->addr);
}

/* Do a and b agree on their first len bits? */
static bool same_bits(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned whole = len / 8, rest = len % 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return ((a[whole] ^ b[whole]) & mask) == 0;
}

bool ipaddr_net_contains(const struct ipaddr_net *n, const struct ipaddr *a)
{
	return n->addr.family == a->family && same_bits(n->addr.b, a->b, n->len);
}

bool ipaddr_net_overlaps(const struct ipaddr_net *a, const struct ipaddr_net *b)
{
	return a->addr.family == b->addr.family &&
	       same_bits(a->addr.b, b->addr.b, a->len < b->len ? a->len : b->len);
}

/* Sets every bit past the prefix to v (0 or 1). */
static void fill_host(const struct ipaddr_net *n, struct ipaddr *out, int v)
{
	unsigned bytes = ipaddr_bytes(n->addr.family);
	*out = n->addr;
	for (unsigned i = 0; i < bytes; i++) {
		unsigned lo = i * 8;
		uint8_t host; /* bits of this byte past the prefix */
		if (n->len >= lo + 8)
			continue;
		host = n->len <= lo ? 0xff : (uint8_t)(0xff >> (n->len - lo));
		out->b[i] = v ? (uint8_t)(out->b[i] | host) : (uint8_t)(out->b[i] & ~host);
	}
}

void ipaddr_net_first(const struct ipaddr_net *n, struct ipaddr *out)
{
	fill_host(n, out, 0);
}

void ipaddr_net_last(const struct ipaddr_net *n, struct ipaddr *out)
{
	fill_host(n, out, 1);
}

void ipaddr_net_mask(struct ipaddr_net *n)
{
	struct ipaddr first;
	fill_host(n, &first, 0);
	n->addr = first;
}

bool ipaddr_inc(struct ipaddr *a)
{
	for (int i = (int)ipaddr_bytes(a->family) - 1; i >= 0; i--) {
		if (++a->b[i] != 0)
			return true;
	}
	return false;
}
