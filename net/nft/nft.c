/* nft: batches of nftables messages (libnftnl over libmnl) for tables tug owns, and the
 * expressions our rules use. */
#include "net/nft/nft.h" /* first: it orders the libc and kernel headers */

#include <assert.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/table.h>
#include <linux/netfilter/nfnetlink.h>
#include <string.h>

bool nft_valid_name(const char *t)
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

/* Big enough for a dump's answers, and the slack libmnl wants past a batch. */
#define NL_BUF 32768

struct nft_batch {
	struct mnl_nlmsg_batch *b;
	uint32_t seq;
	size_t cap;
	char buf[];
};

struct nft_batch *nft_batch_new(size_t cap)
{
	struct nft_batch *bt;

	if (cap < 32768)
		cap = 32768;
	/* libmnl wants room for one more message than the batch holds. */
	bt = xcalloc(1, sizeof(*bt) + cap + NL_BUF);
	bt->cap = cap;
	bt->seq = (uint32_t)time_mono_us();
	bt->b = mnl_nlmsg_batch_start(bt->buf, cap);
	nftnl_batch_begin(mnl_nlmsg_batch_current(bt->b), bt->seq++);
	mnl_nlmsg_batch_next(bt->b);
	return bt;
}

void nft_batch_free(struct nft_batch *bt)
{
	if (!bt)
		return;
	mnl_nlmsg_batch_stop(bt->b);
	free(bt);
}

static struct nlmsghdr *next_hdr(struct nft_batch *bt, uint16_t type, uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type, NFPROTO_INET, flags,
	                             bt->seq++);
}

/* Moves past the message just built. A batch too small for its messages is a programmer's
 * error: callers size it from what they put in. */
static void next_msg(struct nft_batch *bt)
{
	bool room = mnl_nlmsg_batch_next(bt->b);
	assert(room);
	(void)room;
}

void nft_batch_table(struct nft_batch *bt, const char *name, uint16_t type, uint16_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_nlmsg_build_payload(next_hdr(bt, type, flags), t);
	next_msg(bt);
	nftnl_table_free(t);
}

void nft_batch_nat_chain(struct nft_batch *bt, const char *table, const char *chain, uint32_t hook,
                         int32_t prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "nat");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nftnl_chain_nlmsg_build_payload(next_hdr(bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE), c);
	next_msg(bt);
	nftnl_chain_free(c);
}

struct nftnl_rule *nft_rule_new(const char *table, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	return r;
}

void nft_batch_flush_chain(struct nft_batch *bt, const char *table, const char *chain)
{
	struct nftnl_rule *r = nft_rule_new(table, chain);
	nftnl_rule_nlmsg_build_payload(next_hdr(bt, NFT_MSG_DELRULE, 0), r);
	next_msg(bt);
	nftnl_rule_free(r);
}

void nft_batch_rule(struct nft_batch *bt, struct nftnl_rule *r)
{
	nftnl_rule_nlmsg_build_payload(next_hdr(bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND),
	                               r);
	next_msg(bt);
	nftnl_rule_free(r);
}

void nft_batch_set(struct nft_batch *bt, struct nftnl_set *s, uint16_t type)
{
	struct nlmsghdr *h = next_hdr(bt, type, type == NFT_MSG_DELSETELEM ? 0 : NLM_F_CREATE);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	if (type == NFT_MSG_NEWSET) {
		/* the kernel wants an ID, by which rules of the batch could name the set */
		nftnl_set_set_u32(s, NFTNL_SET_ID, bt->seq);
		nftnl_set_nlmsg_build_payload(h, s);
	} else
		nftnl_set_elems_nlmsg_build_payload(h, s);
	next_msg(bt);
	nftnl_set_free(s);
}

static struct mnl_socket *nl_open(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int rc = errno;
		mnl_socket_close(nl);
		errno = rc;
		return NULL;
	}
	return nl;
}

/* Reads answers until cb's MNL_CB_STOP (the ack or the dump's end); -errno on an error. */
static int nl_wait(struct mnl_socket *nl, uint32_t seq, mnl_cb_t cb, void *arg)
{
	char buf[NL_BUF];
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		int ret = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), cb, arg);
		if (ret < 0)
			return -errno;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

/*
 * Only the last message asks for an ack: the kernel answers it when the whole transaction
 * committed, and answers the first failing message with an error otherwise (then nothing
 * was applied).
 */
int nft_batch_commit(struct nft_batch *bt, const char *what, const char *table, struct err *e)
{
	struct mnl_socket *nl;
	struct nlmsghdr *last = NULL;
	int rc = 0;

	for (struct nlmsghdr *h = mnl_nlmsg_batch_head(bt->b);
	     (char *)h < (char *)mnl_nlmsg_batch_head(bt->b) + mnl_nlmsg_batch_size(bt->b);
	     h = (struct nlmsghdr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len)))
		last = h;
	if (last)
		last->nlmsg_flags |= NLM_F_ACK;
	nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), bt->seq++);
	mnl_nlmsg_batch_next(bt->b);

	if (!(nl = nl_open())) {
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
	if ((rc = nl_wait(nl, 0, NULL, NULL)) < 0)
		err_set(e, rc, "%s nftables table %s: %s", what, table, strerror(-rc));
out:
	if (nl)
		mnl_socket_close(nl);
	nft_batch_free(bt);
	return rc;
}

static void add(struct nftnl_rule *r, struct nftnl_expr *x)
{
	nftnl_rule_add_expr(r, x);
}

void nft_expr_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *x = nftnl_expr_alloc("meta");
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_DREG, dreg);
	add(r, x);
}

void nft_expr_cmp(struct nftnl_rule *r, uint32_t sreg, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *x = nftnl_expr_alloc("cmp");
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_SREG, sreg);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(x, NFTNL_EXPR_CMP_DATA, data, len);
	add(r, x);
}

void nft_expr_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len,
                      uint32_t dreg)
{
	struct nftnl_expr *x = nftnl_expr_alloc("payload");
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	add(r, x);
}

void nft_expr_bitwise_mask(struct nftnl_rule *r, uint32_t reg, const void *mask, uint32_t len)
{
	static const uint8_t zero[16];
	struct nftnl_expr *x = nftnl_expr_alloc("bitwise");
	assert(len <= sizeof(zero));
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_SREG, reg);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_DREG, reg);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(x, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(x, NFTNL_EXPR_BITWISE_XOR, zero, len);
	add(r, x);
}

void nft_expr_immediate_verdict(struct nftnl_rule *r, int verdict)
{
	struct nftnl_expr *x = nftnl_expr_alloc("immediate");
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	add(r, x);
}

void nft_match_family(struct nftnl_rule *r, int family)
{
	uint8_t proto = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
	nft_expr_meta(r, NFT_META_NFPROTO, NFT_REG_1);
	nft_expr_cmp(r, NFT_REG_1, NFT_CMP_EQ, &proto, sizeof(proto));
}

/* Load the field, mask it, compare. */
void nft_match_prefix(struct nftnl_rule *r, const struct ipaddr_net *n, bool src)
{
	bool v4 = n->addr.family == AF_INET;
	uint32_t len = v4 ? 4 : 16, off = v4 ? (src ? 12 : 16) : (src ? 8 : 24);
	uint8_t mask[16] = { 0 };

	if (n->len == 0)
		return;
	nft_expr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, len, NFT_REG_1);
	if (n->len < len * 8) {
		for (unsigned i = 0; i < n->len; i++)
			mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		nft_expr_bitwise_mask(r, NFT_REG_1, mask, len);
	}
	nft_expr_cmp(r, NFT_REG_1, NFT_CMP_EQ, n->addr.b, len);
}

struct elems_walk {
	void (*fn)(const void *, uint32_t, const void *, uint32_t, void *);
	void *arg;
};

static int on_elems(const struct nlmsghdr *h, void *arg)
{
	struct elems_walk *w = arg;
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *el;

	if (nftnl_set_elems_nlmsg_parse(h, s) < 0) {
		nftnl_set_free(s);
		return MNL_CB_OK; /* not one we can read: skip it */
	}
	it = nftnl_set_elems_iter_create(s);
	while (it && (el = nftnl_set_elems_iter_next(it))) {
		uint32_t klen = 0, dlen = 0;
		const void *k = nftnl_set_elem_get(el, NFTNL_SET_ELEM_KEY, &klen);
		const void *d = nftnl_set_elem_get(el, NFTNL_SET_ELEM_DATA, &dlen);
		if (k)
			w->fn(k, klen, d, d ? dlen : 0, w->arg);
	}
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

int nft_set_elems(const char *table, const char *set,
                  void (*fn)(const void *, uint32_t, const void *, uint32_t, void *), void *arg,
                  struct err *e)
{
	char buf[NL_BUF];
	struct elems_walk w = { fn, arg };
	struct mnl_socket *nl;
	struct nftnl_set *s;
	struct nlmsghdr *h;
	uint32_t seq = (uint32_t)time_mono_us();
	int rc;

	if (!(nl = nl_open())) {
		rc = -errno;
		return err_set(e, rc, "list set %s of nftables table %s: open netlink socket: %s",
		               set, table, strerror(-rc));
	}
	s = nftnl_set_alloc();
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	h = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP | NLM_F_ACK,
	                          seq);
	nftnl_set_elems_nlmsg_build_payload(h, s);
	nftnl_set_free(s);
	if (mnl_socket_sendto(nl, h, h->nlmsg_len) < 0)
		rc = -errno;
	else
		rc = nl_wait(nl, seq, on_elems, &w);
	mnl_socket_close(nl);
	if (rc < 0)
		return err_set(e, rc, "list set %s of nftables table %s: %s", set, table,
		               strerror(-rc));
	return 0;
}

int nft_chain_exists(const char *table, const char *chain, struct err *e)
{
	char buf[1024];
	struct mnl_socket *nl;
	struct nftnl_chain *c;
	struct nlmsghdr *h;
	uint32_t seq = (uint32_t)time_mono_us();
	int rc;

	if (!(nl = nl_open())) {
		rc = -errno;
		return err_set(e, rc, "chain %s of nftables table %s: open netlink socket: %s",
		               chain, table, strerror(-rc));
	}
	c = nftnl_chain_alloc();
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain);
	h = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, NFPROTO_INET, NLM_F_ACK, seq);
	nftnl_chain_nlmsg_build_payload(h, c);
	nftnl_chain_free(c);
	if (mnl_socket_sendto(nl, h, h->nlmsg_len) < 0)
		rc = -errno;
	else
		rc = nl_wait(nl, seq, NULL, NULL);
	mnl_socket_close(nl);
	if (rc < 0)
		return err_set(e, rc, "chain %s of nftables table %s: %s", chain, table,
		               rc == -ENOENT ? "missing" : strerror(-rc));
	return 0;
}
