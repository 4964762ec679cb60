/* masq: the nftables batch (libnftnl) for pod masquerade: table, nat chain, rules. */
#include <errno.h>
#include <string.h>

#include "net/masq/masq.h"
#include "net/nft/nft.h"

#define CHAIN "postrouting"

bool masq_valid_table(const char *t)
{
	return nft_valid_name(t);
}

/* One rule: "<family> daddr <keep> return" or "<family> saddr <from> masquerade". */
static void put_rule(struct nft_batch *bt, const char *table, const struct ipaddr_net *n, bool masq)
{
	struct nftnl_rule *r = nft_rule_new(table, CHAIN);

	nft_match_family(r, n->addr.family);
	nft_match_prefix(r, n, masq);
	if (masq)
		nftnl_rule_add_expr(r, nftnl_expr_alloc("masq"));
	else
		nft_expr_immediate_verdict(r, NFT_RETURN);
	nft_batch_rule(bt, r);
}

int masq_apply(const char *table, const struct ipaddr_net *from, size_t n_from,
               const struct ipaddr_net *keep, size_t n_keep, struct err *e)
{
	struct nft_batch *bt;

	if (!masq_valid_table(table))
		return err_set(e, -EINVAL, "nftables table name '%s' is not valid",
		               table ? table : "");
	if (n_from == 0)
		return masq_remove(table, e);
	if (n_from + n_keep > 64)
		return err_set(e, -E2BIG, "masquerade in %s: too many prefixes", table);
	bt = nft_batch_new(0);
	/* Create-then-delete makes the delete safe when the table is new; the table
	 * then comes back whole, all inside one transaction. */
	nft_batch_table(bt, table, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	nft_batch_table(bt, table, NFT_MSG_DELTABLE, 0);
	nft_batch_table(bt, table, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	nft_batch_nat_chain(bt, table, CHAIN, NF_INET_POST_ROUTING, NFT_PRIO_SRCNAT);
	for (size_t i = 0; i < n_from; i++)
		put_rule(bt, table, &from[i], false);
	for (size_t i = 0; i < n_keep; i++)
		put_rule(bt, table, &keep[i], false);
	for (size_t i = 0; i < n_from; i++)
		put_rule(bt, table, &from[i], true);
	return nft_batch_commit(bt, "write", table, e);
}

int masq_remove(const char *table, struct err *e)
{
	struct nft_batch *bt;

	if (!masq_valid_table(table))
		return err_set(e, -EINVAL, "nftables table name '%s' is not valid",
		               table ? table : "");
	bt = nft_batch_new(0);
	nft_batch_table(bt, table, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	nft_batch_table(bt, table, NFT_MSG_DELTABLE, 0);
	return nft_batch_commit(bt, "delete", table, e);
}

int masq_check(const char *table, struct err *e)
{
	struct err e2 = { 0 };
	int rc;

	if (!masq_valid_table(table))
		return err_set(e, -EINVAL, "nftables table name '%s' is not valid",
		               table ? table : "");
	if ((rc = nft_chain_exists(table, CHAIN, &e2)) < 0)
		return err_set(e, rc, "masquerade chain %s in nftables table %s: %s", CHAIN, table,
		               rc == -ENOENT ? "missing" : strerror(-rc));
	return 0;
}
