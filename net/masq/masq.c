/* masq: the nftables batch (libnftnl) for pod masquerade: table, nat chain, rules. */
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <string.h>

#include "net/masq/masq.h"

#define CHAIN "postrouting"
/* NF_IP_PRI_NAT_SRC: where `nft` puts "priority srcnat". */
#define PRIO_SRCNAT 100

bool masq_valid_table(const char *t)
{
	size_t n = t ? strlen(t) : 0;
	if (n == 0 || n > 64)
		return false;
	for (; *t; t++) {
		char c = *t;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

struct batch {
	struct mnl_nlmsg_batch *b;
	uint32_t seq, last_seq;
	char buf[32768];
};

static struct nlmsghdr *next_hdr(struct batch *bt, uint16_t type, uint16_t flags)
{
	bt->last_seq = bt->seq++;
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type, NFPROTO_INET, flags,
	                             bt->last_seq);
}

static void put_table(struct batch *bt, const char *name, uint16_t type, uint16_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_nlmsg_build_payload(next_hdr(bt, type, flags), t);
	mnl_nlmsg_batch_next(bt->b);
	nftnl_table_free(t);
}

static void put_chain(struct batch *bt, const char *table)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, CHAIN);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "nat");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_POST_ROUTING);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, PRIO_SRCNAT);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nftnl_chain_nlmsg_build_payload(next_hdr(bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE), c);
	mnl_nlmsg_batch_next(bt->b);
	nftnl_chain_free(c);
}

static void add_expr(struct nftnl_rule *r, struct nftnl_expr *x)
{
	nftnl_rule_add_expr(r, x);
}

/* meta nfproto == family: the inet table sees both families. */
static void match_family(struct nftnl_rule *r, int family)
{
	uint8_t proto = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
	struct nftnl_expr *x = nftnl_expr_alloc("meta");
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_KEY, NFT_META_NFPROTO);
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_DREG, NFT_REG_1);
	add_expr(r, x);
	x = nftnl_expr_alloc("cmp");
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(x, NFTNL_EXPR_CMP_DATA, &proto, sizeof(proto));
	add_expr(r, x);
}

/* "ip saddr 10.42.0.0/16" and friends: load the field, mask it, compare. */
static void match_prefix(struct nftnl_rule *r, const struct ipaddr_net *n, bool src)
{
	bool v4 = n->addr.family == AF_INET;
	uint32_t len = v4 ? 4 : 16, off = v4 ? (src ? 12 : 16) : (src ? 8 : 24);
	uint8_t mask[16] = { 0 }, zero[16] = { 0 };
	struct nftnl_expr *x;

	if (n->len == 0)
		return;
	x = nftnl_expr_alloc("payload");
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	add_expr(r, x);
	if (n->len < len * 8) {
		for (unsigned i = 0; i < n->len; i++)
			mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		x = nftnl_expr_alloc("bitwise");
		nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_LEN, len);
		nftnl_expr_set(x, NFTNL_EXPR_BITWISE_MASK, mask, len);
		nftnl_expr_set(x, NFTNL_EXPR_BITWISE_XOR, zero, len);
		add_expr(r, x);
	}
	x = nftnl_expr_alloc("cmp");
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(x, NFTNL_EXPR_CMP_DATA, n->addr.b, len);
	add_expr(r, x);
}

/* One rule: "<family> daddr <keep> return" or "<family> saddr <from> masquerade". */
static void put_rule(struct batch *bt, const char *table, const struct ipaddr_net *n, bool masq)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr *x;

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, CHAIN);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	match_family(r, n->addr.family);
	match_prefix(r, n, masq);
	if (masq) {
		x = nftnl_expr_alloc("masq");
	} else {
		x = nftnl_expr_alloc("immediate");
		nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_VERDICT, NFT_RETURN);
	}
	add_expr(r, x);
	nftnl_rule_nlmsg_build_payload(next_hdr(bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND),
	                               r);
	mnl_nlmsg_batch_next(bt->b);
	nftnl_rule_free(r);
}

static void batch_start(struct batch *bt)
{
	bt->seq = (uint32_t)time_mono_us();
	bt->b = mnl_nlmsg_batch_start(bt->buf, sizeof(bt->buf));
	nftnl_batch_begin(mnl_nlmsg_batch_current(bt->b), bt->seq++);
	mnl_nlmsg_batch_next(bt->b);
}

/*
 * Ends the batch, sends it and waits for its verdict. Only the last message asks for
 * an ack: the kernel answers it when the whole transaction committed, and answers
 * the first failing message with an error otherwise (then nothing was applied).
 */
static int batch_commit(struct batch *bt, const char *what, const char *table, struct err *e)
{
	struct mnl_socket *nl;
	struct nlmsghdr *last = NULL;
	int rc = 0;

	/* Find the last message, to ask for its ack. */
	for (struct nlmsghdr *h = mnl_nlmsg_batch_head(bt->b);
	     (char *)h < (char *)mnl_nlmsg_batch_head(bt->b) + mnl_nlmsg_batch_size(bt->b);
	     h = (struct nlmsghdr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len)))
		last = h;
	if (last)
		last->nlmsg_flags |= NLM_F_ACK;
	nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), bt->seq++);
	mnl_nlmsg_batch_next(bt->b);

	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		err_set(e, rc, "%s nftables table %s: open netlink socket: %s", what, table,
		        strerror(-rc));
		goto out;
	}
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(bt->b), mnl_nlmsg_batch_size(bt->b)) < 0) {
		rc = -errno;
		err_set(e, rc, "%s nftables table %s: send: %s", what, table, strerror(-rc));
		goto out;
	}
	for (;;) {
		char buf[8192];
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		int ret = mnl_cb_run(buf, (size_t)n, 0, mnl_socket_get_portid(nl), NULL, NULL);
		if (ret < 0) {
			rc = -errno;
			break;
		}
		if (ret == MNL_CB_STOP)
			break;
	}
	if (rc < 0)
		err_set(e, rc, "%s nftables table %s: %s", what, table, strerror(-rc));
out:
	if (nl)
		mnl_socket_close(nl);
	mnl_nlmsg_batch_stop(bt->b);
	return rc;
}

int masq_apply(const char *table, const struct ipaddr_net *from, size_t n_from,
               const struct ipaddr_net *keep, size_t n_keep, struct err *e)
{
	struct batch *bt;
	int rc;

	if (!masq_valid_table(table))
		return err_set(e, -EINVAL, "nftables table name '%s' is not valid",
		               table ? table : "");
	if (n_from == 0)
		return masq_remove(table, e);
	if (n_from + n_keep > 64)
		return err_set(e, -E2BIG, "masquerade in %s: too many prefixes", table);
	bt = xcalloc(1, sizeof(*bt));
	batch_start(bt);
	/* Create-then-delete makes the delete safe when the table is new; the table
	 * then comes back whole, all inside one transaction. */
	put_table(bt, table, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	put_table(bt, table, NFT_MSG_DELTABLE, 0);
	put_table(bt, table, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	put_chain(bt, table);
	for (size_t i = 0; i < n_from; i++)
		put_rule(bt, table, &from[i], false);
	for (size_t i = 0; i < n_keep; i++)
		put_rule(bt, table, &keep[i], false);
	for (size_t i = 0; i < n_from; i++)
		put_rule(bt, table, &from[i], true);
	rc = batch_commit(bt, "write", table, e);
	free(bt);
	return rc;
}

int masq_remove(const char *table, struct err *e)
{
	struct batch *bt;
	int rc;

	if (!masq_valid_table(table))
		return err_set(e, -EINVAL, "nftables table name '%s' is not valid",
		               table ? table : "");
	bt = xcalloc(1, sizeof(*bt));
	batch_start(bt);
	put_table(bt, table, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	put_table(bt, table, NFT_MSG_DELTABLE, 0);
	rc = batch_commit(bt, "delete", table, e);
	free(bt);
	return rc;
}

int masq_check(const char *table, struct err *e)
{
	char buf[8192];
	struct mnl_socket *nl;
	struct nftnl_chain *c;
	struct nlmsghdr *nlh;
	uint32_t seq = (uint32_t)time_mono_us();
	int rc = 0;

	if (!masq_valid_table(table))
		return err_set(e, -EINVAL, "nftables table name '%s' is not valid",
		               table ? table : "");
	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		goto out;
	}
	c = nftnl_chain_alloc();
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, CHAIN);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, NFPROTO_INET, NLM_F_ACK, seq);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			rc = -errno;
			break;
		}
		int ret = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), NULL, NULL);
		if (ret < 0) {
			rc = -errno;
			break;
		}
		if (ret == MNL_CB_STOP)
			break;
	}
out:
	if (nl)
		mnl_socket_close(nl);
	if (rc < 0)
		return err_set(e, rc, "masquerade chain %s in nftables table %s: %s", CHAIN, table,
		               rc == -ENOENT ? "missing" : strerror(-rc));
	return 0;
}
