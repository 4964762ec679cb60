/* hostport: a pod's hostPorts (runtimeConfig.portMappings) as DNAT in an nftables table per
 * bridge, where ADD and DEL only add and remove map elements, one transaction each. */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
/* after netinet/in.h */
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LOG_TAG "tug-cni"
#include "core/log/log.h"
#include "net/cni/cni-internal.h"
#include "net/nft/nft.h"

/*
 * The table, "tug-hp-<bridge>", in nft's words:
 *
 *   map ports4   { type inet_proto . inet_service : ipv4_addr . inet_service }
 *   map ports6   { type inet_proto . inet_service : ipv6_addr . inet_service }
 *   map ipports4 { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service }
 *   map ipports6 { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service }
 *   chain prerouting { type nat hook prerouting priority dstnat;
 *       fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @ipports4
 *       fib daddr type local dnat ip to meta l4proto . th dport map @ports4
 *       (and the same for ip6) }
 *   chain output { type nat hook output priority dstnat;
 *       ip daddr 127.0.0.0/8 return; ip6 daddr ::1 return
 *       (then the prerouting rules) }
 *   chain postrouting { type nat hook postrouting priority srcnat;
 *       ct status dnat ip saddr <pod CIDR> ip daddr <pod CIDR> masquerade }
 *
 * Entries with a hostIP go in the ipports maps, looked up first. Loopback destinations are
 * left alone: DNAT from 127.0.0.1 to a pod needs route_localnet, which tug does not turn on.
 * The masquerade is for pods reaching a hostPort of a pod on the same bridge, themselves
 * included: without it the answer would go straight back over the bridge, un-NATed.
 * Every ADD rewrites the chains' rules in its transaction (a table damaged by hand comes
 * back whole); the maps keep their elements.
 */

#define TABLE_PREFIX "tug-hp-"

/* One map element: a hostPort of a pod for one family. */
struct entry {
	uint8_t proto;
	uint16_t host_port, container_port;
	struct ipaddr host_ip; /* family 0: any local address */
	struct ipaddr pod_ip;
};

struct entries {
	struct entry v[CNI_MAX_PORTMAPS * 2];
	size_t n;
};

/* Type numbers `nft` gives its data types, six bits each in a concatenation. */
enum { T_IPV4 = 7, T_IPV6 = 8, T_PROTO = 12, T_SERVICE = 13 };
#define CAT2(a, b) (((a) << 6) | (b))
#define CAT3(a, b, c) (((((a) << 6) | (b)) << 6) | (c))

static void table_name(const struct cni_conf *c, char out[64])
{
	snprintf(out, 64, TABLE_PREFIX "%s", c->bridge);
}

static bool v6(const struct entry *x)
{
	return x->pod_ip.family == AF_INET6;
}

static const char *map_name(bool ipv6, bool with_ip)
{
	return with_ip ? (ipv6 ? "ipports6" : "ipports4") : (ipv6 ? "ports6" : "ports4");
}

/* Key and data as the registers hold them: every field padded to 4 bytes. */
static uint32_t key_of(const struct entry *x, uint8_t *k)
{
	uint32_t a = x->host_ip.family ? (v6(x) ? 16 : 4) : 0;
	memset(k, 0, 24);
	memcpy(k, x->host_ip.b, a);
	k[a] = x->proto;
	k[a + 4] = (uint8_t)(x->host_port >> 8);
	k[a + 5] = (uint8_t)x->host_port;
	return a + 8;
}

static uint32_t data_of(const struct entry *x, uint8_t *d)
{
	uint32_t a = v6(x) ? 16 : 4;
	memset(d, 0, 20);
	memcpy(d, x->pod_ip.b, a);
	d[a] = (uint8_t)(x->container_port >> 8);
	d[a + 1] = (uint8_t)x->container_port;
	return a + 4;
}

static const char *entry_str(const struct entry *x, char *buf, size_t cap)
{
	char h[IPADDR_STRLEN], p[IPADDR_STRLEN];
	snprintf(buf, cap, "hostPort %s%s%u/%s -> %s%s%s:%u",
	         x->host_ip.family ? ipaddr_str(&x->host_ip, h) : "", x->host_ip.family ? ":" : "",
	         x->host_port, cni_proto_name(x->proto), v6(x) ? "[" : "",
	         ipaddr_str(&x->pod_ip, p), v6(x) ? "]" : "", x->container_port);
	return buf;
}

/* The elements for a pod's addresses: one per mapping and family, or only the hostIP's. */
static void build(const struct cni_conf *c, const struct ipaddr *addrs, bool warn,
                  struct entries *out)
{
	out->n = 0;
	for (size_t i = 0; i < c->n_ports; i++) {
		const struct cni_portmap *pm = &c->ports[i];
		bool any = false;
		for (size_t j = 0; j < c->n_ranges; j++) {
			if (!addrs[j].family ||
			    (pm->host_ip.family && pm->host_ip.family != addrs[j].family))
				continue;
			out->v[out->n++] =
			    (struct entry){ pm->proto, pm->host_port, pm->container_port,
				            pm->host_ip, addrs[j] };
			any = true;
		}
		if (!any && warn)
			log_warn("hostPort %u/%s: the pod has no address of its hostIP's family",
			         pm->host_port, cni_proto_name(pm->proto));
	}
}

/* ---- the record of what ADD installed: <dataDir>/<network>/hostports/<id>:<ifname> ---- */

static char *record_dir(const struct cni_conf *c)
{
	return xasprintf("%s/hostports", c->ipam_dir);
}

static char *record_path(const struct cni_conf *c, const char *id, const char *ifname)
{
	return xasprintf("%s/hostports/%s:%s", c->ipam_dir, id, ifname);
}

static int record_write(const struct cni_conf *c, const struct cni_req *q, const struct entries *es,
                        struct cni_error *ce)
{
	_cleanup_free_ char *dir = record_dir(c),
	                    *path = record_path(c, q->container_id, q->ifname);
	cJSON *root = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(root, "entries");
	char *text;
	int rc;

	for (size_t i = 0; i < es->n; i++) {
		const struct entry *x = &es->v[i];
		char a[IPADDR_STRLEN];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "hostPort", x->host_port);
		cJSON_AddNumberToObject(o, "containerPort", x->container_port);
		cJSON_AddStringToObject(o, "protocol", cni_proto_name(x->proto));
		if (x->host_ip.family)
			cJSON_AddStringToObject(o, "hostIP", ipaddr_str(&x->host_ip, a));
		cJSON_AddStringToObject(o, "podIP", ipaddr_str(&x->pod_ip, a));
		cJSON_AddItemToArray(list, o);
	}
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if ((rc = mkdir_p(dir, 0700)) < 0 ||
	    (rc = write_file_atomic(path, text, strlen(text), 0600)) < 0)
		cni_fail(ce, CNI_ERR_NETWORK, rc, "write %s: %s", path, strerror(-rc));
	free(text);
	return rc;
}

/* -ENOENT when there is no record; a damaged one is an error. */
static int record_read(const char *path, struct entries *es, struct cni_error *ce)
{
	_cleanup_free_ char *text = NULL;
	const cJSON *it;
	cJSON *root;
	int rc;

	es->n = 0;
	if ((rc = read_file(path, &text, NULL, 1 << 20)) < 0) {
		if (rc == -ENOENT)
			return rc;
		return cni_fail(ce, CNI_ERR_NETWORK, rc, "read %s: %s", path, strerror(-rc));
	}
	root = cJSON_Parse(text);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "entries"))
	{
		const cJSON *pod = cJSON_GetObjectItemCaseSensitive(it, "podIP");
		struct cni_portmap pm;
		struct entry *x = &es->v[es->n];
		if (es->n == ARRAY_SIZE(es->v) || cni_portmap_parse(it, path, &pm, ce) < 0 ||
		    !cJSON_IsString(pod) || ipaddr_parse(pod->valuestring, &x->pod_ip) < 0 ||
		    (pm.host_ip.family && pm.host_ip.family != x->pod_ip.family)) {
			cJSON_Delete(root);
			return cni_fail(ce, CNI_ERR_NETWORK, -EINVAL, "%s is damaged", path);
		}
		x->proto = pm.proto;
		x->host_port = pm.host_port;
		x->container_port = pm.container_port;
		x->host_ip = pm.host_ip;
		es->n++;
	}
	cJSON_Delete(root);
	return 0;
}

/* ---- the table ------------------------------------------------------------------------ */

static struct nftnl_set *set_new(const char *table, const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	return s;
}

static void put_map(struct nft_batch *bt, const char *table, bool ipv6, bool with_ip)
{
	struct nftnl_set *s = set_new(table, map_name(ipv6, with_ip));
	uint32_t a = ipv6 ? 16 : 4, t = ipv6 ? T_IPV6 : T_IPV4;
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE,
	                  with_ip ? CAT3(t, T_PROTO, T_SERVICE) : CAT2(T_PROTO, T_SERVICE));
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, with_ip ? a + 8 : 8);
	nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, CAT2(t, T_SERVICE));
	nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, a + 4);
	nft_batch_set(bt, s, NFT_MSG_NEWSET);
}

/* fib daddr type local */
static void match_local(struct nftnl_rule *r)
{
	uint32_t local = RTN_LOCAL;
	struct nftnl_expr *x = nftnl_expr_alloc("fib");
	nftnl_expr_set_u32(x, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
	nftnl_expr_set_u32(x, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
	nftnl_expr_set_u32(x, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, x);
	nft_expr_cmp(r, NFT_REG_1, NFT_CMP_EQ, &local, sizeof(local));
}

/* [daddr .] l4proto . th dport looked up in the map, DNAT to what it maps to. */
static void put_dnat(struct nft_batch *bt, const char *table, const char *chain, bool ipv6,
                     bool with_ip)
{
	struct nftnl_rule *r = nft_rule_new(table, chain);
	uint32_t a = ipv6 ? 4 : 1, reg = NFT_REG32_00; /* address size in 32-bit registers */
	struct nftnl_expr *x;

	nft_match_family(r, ipv6 ? AF_INET6 : AF_INET);
	match_local(r);
	if (with_ip) {
		nft_expr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, ipv6 ? 24 : 16, a * 4, reg);
		reg += a;
	}
	nft_expr_meta(r, NFT_META_L4PROTO, reg);
	nft_expr_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg + 1);
	x = nftnl_expr_alloc("lookup");
	nftnl_expr_set_str(x, NFTNL_EXPR_LOOKUP_SET, map_name(ipv6, with_ip));
	nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_SREG, NFT_REG32_00);
	nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_DREG, NFT_REG32_00);
	nftnl_rule_add_expr(r, x);
	x = nftnl_expr_alloc("nat");
	nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_FAMILY, ipv6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG32_00);
	nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG32_00 + a);
	nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
	nftnl_rule_add_expr(r, x);
	nft_batch_rule(bt, r);
}

static void put_loopback_return(struct nft_batch *bt, const char *table, bool ipv6)
{
	struct nftnl_rule *r = nft_rule_new(table, "output");
	struct ipaddr_net lo = { .addr.family = ipv6 ? AF_INET6 : AF_INET, .len = ipv6 ? 128 : 8 };
	if (ipv6)
		lo.addr.b[15] = 1;
	else
		lo.addr.b[0] = 127;
	nft_match_family(r, lo.addr.family);
	nft_match_prefix(r, &lo, false);
	nft_expr_immediate_verdict(r, NFT_RETURN);
	nft_batch_rule(bt, r);
}

/* ct status dnat <family> saddr <subnet> daddr <subnet> masquerade */
static void put_hairpin(struct nft_batch *bt, const char *table, const struct ipaddr_net *n)
{
	struct nftnl_rule *r = nft_rule_new(table, "postrouting");
	uint32_t dnat = IPS_DST_NAT, zero = 0;
	struct nftnl_expr *x = nftnl_expr_alloc("ct");

	nft_match_family(r, n->addr.family);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_KEY, NFT_CT_STATUS);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, x);
	nft_expr_bitwise_mask(r, NFT_REG_1, &dnat, sizeof(dnat));
	nft_expr_cmp(r, NFT_REG_1, NFT_CMP_NEQ, &zero, sizeof(zero));
	nft_match_prefix(r, n, true);
	nft_match_prefix(r, n, false);
	nftnl_rule_add_expr(r, nftnl_expr_alloc("masq"));
	nft_batch_rule(bt, r);
}

/* The table, its maps, chains and rules, created or brought back to what they should be. */
static void put_table(struct nft_batch *bt, const struct cni_conf *c, const char *table)
{
	static const struct {
		const char *name;
		uint32_t hook;
		int32_t prio;
	} chains[] = { { "prerouting", NF_INET_PRE_ROUTING, NFT_PRIO_DSTNAT },
		       { "output", NF_INET_LOCAL_OUT, NFT_PRIO_DSTNAT },
		       { "postrouting", NF_INET_POST_ROUTING, NFT_PRIO_SRCNAT } };

	nft_batch_table(bt, table, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	for (int f = 0; f < 4; f++)
		put_map(bt, table, f & 1, f & 2);
	for (size_t i = 0; i < ARRAY_SIZE(chains); i++) {
		nft_batch_nat_chain(bt, table, chains[i].name, chains[i].hook, chains[i].prio);
		nft_batch_flush_chain(bt, table, chains[i].name);
	}
	put_loopback_return(bt, table, false);
	put_loopback_return(bt, table, true);
	for (int i = 0; i < 2; i++) {
		const char *chain = i ? "output" : "prerouting";
		for (int f = 0; f < 2; f++) {
			put_dnat(bt, table, chain, f, true);
			put_dnat(bt, table, chain, f, false);
		}
	}
	for (size_t i = 0; i < c->n_ranges; i++)
		put_hairpin(bt, table, &c->ranges[i].subnet);
}

/* Adds the elements of es (type NFT_MSG_NEWSETELEM or NFT_MSG_DELSETELEM), one message per
 * map that gets any. */
static void put_elems(struct nft_batch *bt, const char *table, const struct entries *es,
                      uint16_t type)
{
	for (int f = 0; f < 4; f++) {
		bool ipv6 = f & 1, with_ip = f & 2;
		struct nftnl_set *s = set_new(table, map_name(ipv6, with_ip));
		size_t n = 0;
		for (size_t i = 0; i < es->n; i++) {
			const struct entry *x = &es->v[i];
			uint8_t k[24], d[20];
			if (v6(x) != ipv6 || (x->host_ip.family != 0) != with_ip)
				continue;
			struct nftnl_set_elem *el = nftnl_set_elem_alloc();
			nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, k, key_of(x, k));
			nftnl_set_elem_set(el, NFTNL_SET_ELEM_DATA, d, data_of(x, d));
			nftnl_set_elem_add(s, el);
			n++;
		}
		if (n)
			nft_batch_set(bt, s, type);
		else
			nftnl_set_free(s);
	}
}

/* Room for the table and every element twice (DEL adds each before deleting it). */
static size_t batch_size(const struct entries *es)
{
	return 16384 + es->n * 2 * 160;
}

/* What holds x's key now: 1 and *held filled when the key is there, 0 when not. */
struct find {
	const struct entry *x;
	uint8_t k[24];
	uint32_t klen;
	bool found;
	uint8_t d[20];
	uint32_t dlen;
};

static void on_elem(const void *k, uint32_t klen, const void *d, uint32_t dlen, void *arg)
{
	struct find *f = arg;
	if (klen == f->klen && !memcmp(k, f->k, klen) && dlen <= sizeof(f->d)) {
		f->found = true;
		memcpy(f->d, d, dlen);
		f->dlen = dlen;
	}
}

static int find_key(const char *table, const struct entry *x, struct find *f, struct err *e)
{
	memset(f, 0, sizeof(*f));
	f->x = x;
	f->klen = key_of(x, f->k);
	return nft_set_elems(table, map_name(v6(x), x->host_ip.family != 0), on_elem, f, e);
}

/* After a failed ADD: names the hostPort another pod holds, when that is why. */
static int explain_conflict(const char *table, const struct entries *es, int rc, const char *why,
                            struct cni_error *ce)
{
	for (size_t i = 0; i < es->n; i++) {
		const struct entry *x = &es->v[i];
		struct find f;
		uint8_t d[20];
		uint32_t dlen = data_of(x, d);
		if (find_key(table, x, &f, NULL) < 0 || !f.found ||
		    (f.dlen == dlen && !memcmp(f.d, d, dlen)))
			continue;
		struct entry other = *x;
		char s[128];
		memcpy(other.pod_ip.b, f.d, v6(x) ? 16 : 4);
		other.container_port = (uint16_t)(f.d[v6(x) ? 16 : 4] << 8 | f.d[v6(x) ? 17 : 5]);
		entry_str(&other, s, sizeof(s));
		return cni_fail(ce, CNI_ERR_NETWORK, -EADDRINUSE,
		                "hostPort %u/%s is already taken by another pod (%s)", x->host_port,
		                cni_proto_name(x->proto), s);
	}
	return cni_fail(ce, CNI_ERR_NETWORK, rc, "hostPorts: %s", why);
}

int cni_hostport_add(const struct cni_conf *c, const struct cni_req *q, const struct ipaddr *addrs,
                     struct cni_error *ce)
{
	struct entries *es;
	struct nft_batch *bt;
	struct err e = { 0 };
	char table[64];
	int rc;

	if (!c->n_ports)
		return 0;
	es = xcalloc(1, sizeof(*es));
	build(c, addrs, true, es);
	table_name(c, table);
	/* The record goes first: a DEL after a crash here still finds what to remove. */
	if ((rc = record_write(c, q, es, ce)) < 0)
		goto out;
	bt = nft_batch_new(batch_size(es));
	put_table(bt, c, table);
	put_elems(bt, table, es, NFT_MSG_NEWSETELEM);
	if ((rc = nft_batch_commit(bt, "write", table, &e)) < 0) {
		_cleanup_free_ char *path = record_path(c, q->container_id, q->ifname);
		unlink(path);
		if (rc == -EEXIST || rc == -EBUSY)
			explain_conflict(table, es, rc, e.msg, ce);
		else
			cni_fail(ce, CNI_ERR_NETWORK, rc, "hostPorts: %s", e.msg);
	}
out:
	free(es);
	return rc;
}

/* Removes es's elements that still map to what es says: each is added, then deleted, in one
 * transaction, so a missing one is no error; one another pod holds fails the transaction,
 * and then each goes on its own, leaving the other pod's. */
static int remove_entries(const char *table, const struct entries *es, struct cni_error *ce)
{
	struct nft_batch *bt;
	struct err e = { 0 };
	int rc;

	if (!es->n)
		return 0;
	bt = nft_batch_new(batch_size(es));
	put_elems(bt, table, es, NFT_MSG_NEWSETELEM);
	put_elems(bt, table, es, NFT_MSG_DELSETELEM);
	rc = nft_batch_commit(bt, "delete hostPorts in", table, &e);
	if (rc == 0 || rc == -ENOENT) /* no table, no map: nothing to remove */
		return 0;
	if (es->n == 1 && (rc == -EEXIST || rc == -EBUSY))
		return 0;
	if (rc != -EEXIST && rc != -EBUSY)
		return cni_fail(ce, CNI_ERR_NETWORK, rc, "%s", e.msg);
	for (size_t i = 0; i < es->n; i++) {
		struct entries *one = xcalloc(1, sizeof(*one));
		one->v[0] = es->v[i];
		one->n = 1;
		rc = remove_entries(table, one, ce);
		free(one);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int cni_hostport_del(const struct cni_conf *c, const struct cni_req *q, const struct ipaddr *addrs,
                     struct cni_error *ce)
{
	_cleanup_free_ char *path = record_path(c, q->container_id, q->ifname);
	struct entries *es = xcalloc(1, sizeof(*es));
	char table[64];
	int rc;

	table_name(c, table);
	rc = record_read(path, es, ce);
	if (rc == -ENOENT && addrs) {
		build(c, addrs, false, es);
		rc = 0;
	}
	if (rc == -ENOENT)
		rc = 0;
	else if (rc == 0 && (rc = remove_entries(table, es, ce)) == 0 && unlink(path) < 0 &&
	         errno != ENOENT)
		rc = cni_fail(ce, CNI_ERR_NETWORK, -errno, "remove %s: %s", path, strerror(errno));
	free(es);
	return rc;
}

int cni_hostport_check(const struct cni_conf *c, const struct cni_req *q,
                       const struct ipaddr *addrs, struct cni_error *ce)
{
	_cleanup_free_ char *path = record_path(c, q->container_id, q->ifname);
	struct entries *es = xcalloc(1, sizeof(*es));
	char table[64], s[128];
	int rc = 0;

	table_name(c, table);
	if (c->has_ports)
		build(c, addrs, false, es);
	else if ((rc = record_read(path, es, ce)) == -ENOENT)
		rc = 0;
	for (size_t i = 0; rc == 0 && i < es->n; i++) {
		const struct entry *x = &es->v[i];
		struct err e = { 0 };
		struct find f;
		uint8_t d[20];
		uint32_t dlen = data_of(x, d);
		if ((rc = find_key(table, x, &f, &e)) < 0) {
			rc = cni_fail(ce, CNI_ERR_CHECK, rc, "%s: %s", entry_str(x, s, sizeof(s)),
			              e.msg);
		} else if (!f.found || f.dlen != dlen || memcmp(f.d, d, dlen)) {
			rc = cni_fail(ce, CNI_ERR_CHECK, -ENOENT,
			              "%s is missing from nftables table %s",
			              entry_str(x, s, sizeof(s)), table);
		}
	}
	free(es);
	return rc;
}

int cni_hostport_gc(const struct cni_conf *c, const struct ipam_owner *keep, size_t n_keep,
                    size_t *removed, struct cni_error *ce)
{
	_cleanup_free_ char *dir = record_dir(c);
	DIR *d = opendir(dir);
	struct dirent *de;
	int first = 0;

	*removed = 0;
	if (!d)
		return 0; /* no pod ever had a hostPort */
	while ((de = readdir(d))) {
		char *colon = strchr(de->d_name, ':');
		bool kept = false;
		if (de->d_name[0] == '.' || !colon)
			continue;
		*colon = '\0';
		for (size_t k = 0; k < n_keep && !kept; k++)
			kept = keep[k].id && keep[k].ifname && !strcmp(keep[k].id, de->d_name) &&
			       !strcmp(keep[k].ifname, colon + 1);
		if (kept)
			continue;
		struct cni_req q = { .container_id = de->d_name, .ifname = colon + 1 };
		struct cni_error one = { 0 };
		int rc = cni_hostport_del(c, &q, NULL, &one);
		if (rc == 0)
			(*removed)++;
		else if (!first)
			first = cni_fail(ce, one.code, rc, "%s", one.e.msg);
	}
	closedir(d);
	return first;
}
