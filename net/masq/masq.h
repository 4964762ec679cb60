/* masq: source NAT (masquerade) of pod traffic, in one nftables table that tug owns and
 * replaces whole in one atomic transaction each time. */
#ifndef TUG_MASQ_H
#define TUG_MASQ_H

#include <stddef.h>

#include "core/util/util.h"
#include "net/ipaddr/ipaddr.h"

/*
 * Makes table (family inet) hold exactly one nat chain, "postrouting", that
 * masquerades packets from any prefix in `from` to any destination outside every
 * prefix in `keep` (the `from` prefixes are always kept: traffic among pods keeps
 * its source). Creates, replaces or, when n_from is 0, deletes the table: one
 * transaction, so there is never a moment without rules.
 */
int masq_apply(const char *table, const struct ipaddr_net *from, size_t n_from,
               const struct ipaddr_net *keep, size_t n_keep, struct err *e);
/* Deletes the table; 0 when there is none. */
int masq_remove(const char *table, struct err *e);
/* 0 when the table and its chain exist, -ENOENT when not. */
int masq_check(const char *table, struct err *e);
/* Table names this module accepts: 1-64 of [A-Za-z0-9_-]. */
bool masq_valid_table(const char *table);

#endif
