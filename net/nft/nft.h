/* nft: small helpers over libnftnl for the tables tug owns (family inet): one batch per
 * change, committed as one transaction, and the few expressions our rules are made of. */
#ifndef TUG_NFT_H
#define TUG_NFT_H

#include <netinet/in.h> /* before the kernel's headers, which then leave it alone */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
/* after stdio.h, which libnftnl's headers use without including */
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include "core/util/util.h"
#include "net/ipaddr/ipaddr.h"

/* Where `nft` puts "priority dstnat" and "priority srcnat". */
#define NFT_PRIO_DSTNAT (-100)
#define NFT_PRIO_SRCNAT 100

/* Messages for one transaction, in order. Every nft_batch_* call adds one message. */
struct nft_batch;

/* A new batch with room for about cap bytes of messages (0: 32 KiB). */
struct nft_batch *nft_batch_new(size_t cap);
/* Frees the batch without sending it. */
void nft_batch_free(struct nft_batch *bt);
/* type NFT_MSG_NEWTABLE or NFT_MSG_DELTABLE. Create-then-delete deletes a table that may
 * not exist without failing the transaction. */
void nft_batch_table(struct nft_batch *bt, const char *table, uint16_t type, uint16_t flags);
/* A base chain of type nat on hook (NF_INET_*), policy accept; created if missing. */
void nft_batch_nat_chain(struct nft_batch *bt, const char *table, const char *chain, uint32_t hook,
                         int32_t prio);
/* Deletes every rule of the chain. */
void nft_batch_flush_chain(struct nft_batch *bt, const char *table, const char *chain);
/* Appends rule r to its chain; takes ownership of r. */
void nft_batch_rule(struct nft_batch *bt, struct nftnl_rule *r);
/* type NFT_MSG_NEWSET (created if missing), NFT_MSG_NEWSETELEM or NFT_MSG_DELSETELEM
 * (the elements added to s); takes ownership of s. */
void nft_batch_set(struct nft_batch *bt, struct nftnl_set *s, uint16_t type);
/* Sends the batch and waits for the kernel's verdict; frees the batch. Nothing was applied
 * when it fails. Errors read "<what> nftables table <table>: <reason>". */
int nft_batch_commit(struct nft_batch *bt, const char *what, const char *table, struct err *e);

/* A rule for table/chain (family inet), without expressions. */
struct nftnl_rule *nft_rule_new(const char *table, const char *chain);
/* meta nfproto == family (AF_INET or AF_INET6): an inet table sees both families. */
void nft_match_family(struct nftnl_rule *r, int family);
/* "ip saddr <n>" (src) or "ip daddr <n>", either family; /0 matches everything. */
void nft_match_prefix(struct nftnl_rule *r, const struct ipaddr_net *n, bool src);
/* Expressions by name, for the rest: */
void nft_expr_immediate_verdict(struct nftnl_rule *r, int verdict);
void nft_expr_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len,
                      uint32_t dreg);
void nft_expr_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg);
void nft_expr_cmp(struct nftnl_rule *r, uint32_t sreg, uint32_t op, const void *data, uint32_t len);
void nft_expr_bitwise_mask(struct nftnl_rule *r, uint32_t reg, const void *mask, uint32_t len);

/* Lists the elements of set table/name: fn gets each key and data (NULL for a plain set).
 * -ENOENT when the table or set does not exist. */
int nft_set_elems(const char *table, const char *set,
                  void (*fn)(const void *key, uint32_t klen, const void *data, uint32_t dlen,
                             void *arg),
                  void *arg, struct err *e);

/* 0 when table/chain exists, -ENOENT when not. */
int nft_chain_exists(const char *table, const char *chain, struct err *e);

/* Names this module accepts for tables: 1-64 of [A-Za-z0-9_-]. */
bool nft_valid_name(const char *name);

#endif
