/* routes: desired routes from the node list, the kernel's routes of our protocol, and the
 * difference applied with one request per route. */
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>

#define LOG_TAG "routes"
#include "core/log/log.h"
#include "net/ipaddr/ipaddr.h"
#include "net/masq/masq.h"
#include "net/routes/routes.h"
#include "net/rtnl/rtnl.h"

struct routes {
	struct rtnl *nl;
	char *self;
	char *nft_table;
	bool masquerade;
	uint8_t protocol;
	uint32_t table;
	struct ipaddr_net cluster[ROUTES_MAX_CLUSTER_CIDRS];
	size_t n_cluster;
};

struct want {
	struct rtnl_route rt;
	const char *node;
	bool present; /* the kernel has it exactly so */
};

struct plan {
	struct want *v;
	size_t n, cap;
	struct rtnl_route *stale; /* ours, not wanted (or wanted differently) */
	size_t n_stale, cap_stale;
	const struct routes *r;
};

int routes_new(struct routes **out, const struct routes_conf *c, struct err *e)
{
	struct routes *r;
	const char *table = c->nft_table ? c->nft_table : ROUTES_DEFAULT_TABLE;
	int rc;

	if (!masq_valid_table(table))
		return err_set(e, -EINVAL, "routes: nftables table name '%s' is not valid", table);
	if (c->n_cluster_cidrs > ROUTES_MAX_CLUSTER_CIDRS)
		return err_set(e, -EINVAL, "routes: at most %d cluster CIDRs",
		               ROUTES_MAX_CLUSTER_CIDRS);
	r = xcalloc(1, sizeof(*r));
	for (size_t i = 0; i < c->n_cluster_cidrs; i++) {
		if (ipaddr_net_parse(c->cluster_cidrs[i], &r->cluster[i], true) < 0) {
			free(r);
			return err_set(e, -EINVAL, "routes: cluster CIDR '%s' is not a CIDR",
			               c->cluster_cidrs[i] ? c->cluster_cidrs[i] : "");
		}
	}
	if (c->masquerade && c->n_cluster_cidrs == 0) {
		free(r);
		return err_set(e, -EINVAL, "routes: masquerade needs the cluster CIDRs");
	}
	r->n_cluster = c->n_cluster_cidrs;
	if ((rc = rtnl_open(&r->nl, e)) < 0) {
		free(r);
		return rc;
	}
	r->self = xstrdup(c->self ? c->self : "");
	r->nft_table = xstrdup(table);
	r->masquerade = c->masquerade;
	r->protocol = c->protocol ? c->protocol : ROUTES_DEFAULT_PROTOCOL;
	r->table = c->table ? c->table : RT_TABLE_MAIN;
	*out = r;
	return 0;
}

void routes_free(struct routes *r)
{
	if (!r)
		return;
	rtnl_close(r->nl);
	free(r->self);
	free(r->nft_table);
	free(r);
}

/* Keeps the first error and logs the others, so one bad Node does not hide the next. */
static void note(struct err *first, int *rc, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void note(struct err *first, int *rc, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (*rc == 0) {
		*rc = code;
		err_set(first, code, "%s", msg);
	} else {
		log_warn("%s", msg);
	}
}

static void plan_want(struct plan *p, const struct rtnl_route *rt, const char *node)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
	}
	p->v[p->n++] = (struct want){ *rt, node, false };
}

/* Desired routes from the node list; bad entries are noted and skipped. */
static void plan_nodes(struct plan *p, const struct routes_node *nodes, size_t n,
                       struct routes_stats *st, struct err *first, int *rc)
{
	const struct routes *r = p->r;
	char s[IPADDR_NET_STRLEN];

	for (size_t i = 0; i < n; i++) {
		const struct routes_node *nd = &nodes[i];
		const char *name = nd->name ? nd->name : "";
		struct ipaddr ips[ROUTES_MAX_CIDRS];
		size_t n_ips = 0;

		if (!strcmp(name, r->self))
			continue;
		for (size_t k = 0; k < nd->n_internal_ips && k < ROUTES_MAX_CIDRS; k++) {
			if (ipaddr_parse(nd->internal_ips[k], &ips[n_ips]) < 0) {
				note(first, rc, -EINVAL,
				     "node %s: InternalIP '%s' is not an address", name,
				     nd->internal_ips[k] ? nd->internal_ips[k] : "");
				continue;
			}
			n_ips++;
		}
		for (size_t k = 0; k < nd->n_pod_cidrs && k < ROUTES_MAX_CIDRS; k++) {
			struct rtnl_route rt = { .protocol = r->protocol, .table = r->table };
			const struct ipaddr *via = NULL;
			if (ipaddr_net_parse(nd->pod_cidrs[k], &rt.dst, true) < 0) {
				note(first, rc, -EINVAL, "node %s: podCIDR '%s' is not a CIDR",
				     name, nd->pod_cidrs[k] ? nd->pod_cidrs[k] : "");
				continue;
			}
			for (size_t j = 0; j < n_ips && !via; j++) {
				if (ips[j].family == rt.dst.addr.family)
					via = &ips[j];
			}
			if (!via) {
				st->skipped++;
				log_debug("node %s: no InternalIP for podCIDR %s", name,
				          ipaddr_net_str(&rt.dst, s));
				continue;
			}
			rt.gw = *via;
			bool dup = false;
			for (size_t j = 0; j < p->n && !dup; j++) {
				if (ipaddr_net_overlaps(&p->v[j].rt.dst, &rt.dst)) {
					note(first, rc, -EEXIST,
					     "node %s: podCIDR %s overlaps node %s's; keeping %s's",
					     name, ipaddr_net_str(&rt.dst, s), p->v[j].node,
					     p->v[j].node);
					dup = true;
				}
			}
			if (!dup)
				plan_want(p, &rt, name);
		}
	}
	st->routes = p->n;
}

/* Each route of ours the kernel has: wanted exactly so, or stale. */
static int on_route(const struct rtnl_route *rt, void *arg)
{
	struct plan *p = arg;
	if (rt->protocol != p->r->protocol || rt->table != p->r->table)
		return 0;
	for (size_t i = 0; i < p->n; i++) {
		struct want *w = &p->v[i];
		if (ipaddr_net_equal(&w->rt.dst, &rt->dst) && !w->present) {
			if (ipaddr_equal(&w->rt.gw, &rt->gw)) {
				w->present = true;
				return 0;
			}
			/* Replacing it in place keeps the destination routed throughout. */
			return 0;
		}
	}
	if (p->n_stale == p->cap_stale) {
		p->cap_stale = p->cap_stale ? p->cap_stale * 2 : 8;
		p->stale = xrealloc(p->stale, p->cap_stale * sizeof(*p->stale));
	}
	p->stale[p->n_stale++] = *rt;
	return 0;
}

static int apply_masq(struct routes *r, struct err *e)
{
	if (!r->masquerade)
		return masq_remove(r->nft_table, e);
	return masq_apply(r->nft_table, r->cluster, r->n_cluster, r->cluster, r->n_cluster, e);
}

int routes_sync(struct routes *r, const struct routes_node *nodes, size_t n,
                struct routes_stats *st, struct err *e)
{
	struct plan p = { .r = r };
	struct routes_stats dummy;
	struct err one = { 0 };
	char s[IPADDR_NET_STRLEN], g[IPADDR_STRLEN];
	int rc = 0, r2;

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	plan_nodes(&p, nodes, n, st, e, &rc);
	/* Without a true picture of the kernel, deleting would be guesswork: stop. */
	if ((r2 = rtnl_route_dump(r->nl, AF_INET, on_route, &p, &one)) < 0 ||
	    (r2 = rtnl_route_dump(r->nl, AF_INET6, on_route, &p, &one)) < 0) {
		err_set(e, r2, "routes: %s", one.msg);
		rc = r2;
		goto out;
	}
	for (size_t i = 0; i < p.n_stale; i++) {
		r2 = rtnl_route_del(r->nl, &p.stale[i], &one);
		if (r2 == 0 || r2 == -ESRCH)
			st->deleted++;
		else
			note(e, &rc, r2, "routes: %s", one.msg);
	}
	for (size_t i = 0; i < p.n; i++) {
		struct want *w = &p.v[i];
		if (w->present)
			continue;
		r2 = rtnl_route_add(r->nl, &w->rt, true, &one);
		if (r2 == 0) {
			st->added++;
			log_info("route to node %s's pods %s via %s", w->node,
			         ipaddr_net_str(&w->rt.dst, s), ipaddr_str(&w->rt.gw, g));
		} else {
			note(e, &rc, r2, "routes: node %s: %s", w->node, one.msg);
		}
	}
	if ((r2 = apply_masq(r, &one)) < 0)
		note(e, &rc, r2, "routes: %s", one.msg);
out:
	free(p.v);
	free(p.stale);
	return rc;
}

int routes_flush(struct routes *r, struct err *e)
{
	struct routes_stats st;
	bool masq = r->masquerade;
	int rc;

	r->masquerade = false;
	rc = routes_sync(r, NULL, 0, &st, e);
	r->masquerade = masq;
	return rc;
}
