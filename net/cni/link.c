/* link: the kernel side of each verb: the bridge, a veth pair per attachment, the pod's
 * addresses and routes, and checks that they are still there. */
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "net/cni/cni-internal.h"
#include "net/masq/masq.h"
#include "net/rtnl/rtnl.h"

#define ALIAS_MAX 256

/* A random locally administered unicast address: ours to pick, never a vendor's. */
static void random_mac(uint8_t mac[6])
{
	if (getrandom(mac, 6, GRND_NONBLOCK) != 6) {
		uint64_t t = time_mono_us() ^ ((uint64_t)getpid() << 32);
		for (int i = 0; i < 6; i++)
			mac[i] = (uint8_t)(t >> (8 * i));
	}
	mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);
}

/* Writes "1" to a sysctl unless it already says so. Files under /proc/sys/net belong to
 * the network namespace of whoever opens them: ours, the node's. */
static int sysctl_on(const char *path)
{
	char cur[8] = { 0 };
	int fd = open(path, O_RDWR | O_CLOEXEC), rc = 0;
	if (fd < 0)
		return -errno;
	if (read(fd, cur, sizeof(cur) - 1) > 0 && cur[0] == '1')
		goto out;
	if (lseek(fd, 0, SEEK_SET) < 0 || write(fd, "1\n", 2) != 2)
		rc = -errno;
out:
	close(fd);
	return rc;
}

static int ensure_bridge(struct rtnl *host, const struct cni_conf *c, struct rtnl_link *br,
                         struct cni_error *ce)
{
	struct err e = { 0 };
	bool v4 = false, v6 = false;
	int rc = rtnl_link_get(host, c->bridge, 0, br, &e);

	if (rc == -ENODEV) {
		uint8_t mac[6];
		/* A fixed MAC: a bridge without one takes its lowest port's, which would
		 * change the gateway's MAC under every pod's ARP cache. */
		random_mac(mac);
		rc = rtnl_bridge_add(host, c->bridge, c->mtu, mac, &e);
		/* Another ADD running beside us may have just made it. */
		if (rc < 0 && rc != -EEXIST)
			return cni_fail(ce, CNI_ERR_NETWORK, rc, "%s", e.msg);
		rc = rtnl_link_get(host, c->bridge, 0, br, &e);
	}
	if (rc < 0)
		return cni_fail(ce, CNI_ERR_NETWORK, rc, "%s", e.msg);
	if (strcmp(br->kind, "bridge") != 0)
		return cni_fail(ce, CNI_ERR_NETWORK, -EEXIST,
		                "link %s exists and is not a bridge (it is a %s)", c->bridge,
		                br->kind[0] ? br->kind : "device of unknown kind");
	if (!(br->flags & IFF_UP) && (rc = rtnl_link_set_up(host, br->index, &e)) < 0)
		return cni_fail(ce, CNI_ERR_NETWORK, rc, "%s", e.msg);
	for (size_t i = 0; i < c->n_ranges; i++) {
		struct ipaddr_net gw = { c->ranges[i].gateway, c->ranges[i].subnet.len };
		rc = rtnl_addr_add(host, br->index, &gw, RTNL_ADDR_NODAD, &e);
		if (rc < 0 && rc != -EEXIST)
			return cni_fail(ce, CNI_ERR_NETWORK, rc, "bridge %s: %s", c->bridge, e.msg);
		v4 |= gw.addr.family == AF_INET;
		v6 |= gw.addr.family == AF_INET6;
	}
	/* Pods reach other nodes' pods and the world through the node's routing. */
	if (v4 && (rc = sysctl_on("/proc/sys/net/ipv4/ip_forward")) < 0)
		return cni_fail(ce, CNI_ERR_NETWORK, rc, "enable IPv4 forwarding: %s",
		                strerror(-rc));
	if (v6 && (rc = sysctl_on("/proc/sys/net/ipv6/conf/all/forwarding")) < 0)
		return cni_fail(ce, CNI_ERR_NETWORK, rc, "enable IPv6 forwarding: %s",
		                strerror(-rc));
	return 0;
}

/* Finds the host end of this attachment by its name and alias. */
static int find_host_veth(struct rtnl *host, const struct cni_conf *c, const struct cni_req *q,
                          struct rtnl_link *out)
{
	char name[IF_NAMESIZE], alias[ALIAS_MAX];

	cni_veth_alias(c, q->container_id, q->ifname, alias, sizeof(alias));
	for (unsigned salt = 0; salt < 2; salt++) {
		cni_veth_name(c, q, salt, name);
		if (rtnl_link_get(host, name, 0, out, NULL) == 0 && !strcmp(out->alias, alias))
			return 0;
	}
	return -ENODEV;
}

/*
 * Creates the pair. On a name clash: an interface of that name already in the pod is an
 * error (the spec wants ADD twice refused, and the pod keeps its network); a host end
 * of ours with no pod end is left from an ADD that failed half-way and is replaced;
 * a host name someone else holds makes us pick another.
 */
static int add_veth(struct rtnl *host, struct rtnl *pod, const struct cni_conf *c,
                    const struct cni_req *q, int nsfd, int master, struct cni_attachment *at,
                    struct cni_error *ce)
{
	char alias[ALIAS_MAX];
	struct err e = { 0 };
	bool cleared = false;
	int rc = -EEXIST;

	cni_veth_alias(c, q->container_id, q->ifname, alias, sizeof(alias));
	random_mac(at->veth_mac);
	random_mac(at->pod_mac);
	for (unsigned salt = 0, tries = 0; salt < 2 && rc == -EEXIST && tries < 4; tries++) {
		struct rtnl_veth v = { .name = at->veth,
			               .mac = at->veth_mac,
			               .master = master,
			               .peer = q->ifname,
			               .peer_mac = at->pod_mac,
			               .peer_nsfd = nsfd,
			               .mtu = c->mtu,
			               .up = true };
		struct rtnl_link l;

		cni_veth_name(c, q, salt, at->veth);
		rc = rtnl_veth_add(host, &v, &e);
		if (rc != -EEXIST)
			break;
		if (rtnl_link_get(pod, q->ifname, 0, &l, NULL) == 0)
			return cni_fail(ce, CNI_ERR_NETWORK, -EEXIST,
			                "interface %s already exists in network namespace %s",
			                q->ifname, q->netns);
		if (rtnl_link_get(host, at->veth, 0, &l, NULL) < 0)
			continue; /* gone meanwhile: try the same name again */
		if (!strcmp(l.alias, alias) && !cleared) {
			rtnl_link_del(host, l.index, NULL, NULL);
			cleared = true;
			continue;
		}
		salt++;
	}
	if (rc < 0)
		return cni_fail(ce, CNI_ERR_NETWORK, rc, "%s", e.msg);
	if ((rc = rtnl_link_set_port(host, at->veth, alias, c->hairpin, &e)) < 0) {
		rtnl_link_del(host, 0, at->veth, NULL);
		return cni_fail(ce, CNI_ERR_NETWORK, rc, "%s", e.msg);
	}
	return 0;
}

static void default_route(const struct cni_conf *c, size_t i, int oif, struct rtnl_route *rt)
{
	memset(rt, 0, sizeof(*rt));
	rt->dst.addr.family = c->ranges[i].subnet.addr.family;
	rt->gw = c->ranges[i].gateway;
	rt->oif = oif;
}

/* Inside the pod: addresses, lo up, default routes via the bridge's addresses. */
static int setup_pod(struct rtnl *pod, const struct cni_conf *c, const struct cni_req *q,
                     const struct cni_attachment *at, struct cni_error *ce)
{
	struct rtnl_link l;
	struct err e = { 0 };
	int rc;

	if ((rc = rtnl_link_get(pod, q->ifname, 0, &l, &e)) < 0)
		return cni_fail(ce, CNI_ERR_NETWORK, rc, "pod side: %s", e.msg);
	for (size_t i = 0; i < c->n_ranges; i++) {
		struct ipaddr_net a = { at->addrs[i], c->ranges[i].subnet.len };
		rc = rtnl_addr_add(pod, l.index, &a, RTNL_ADDR_NODAD, &e);
		if (rc < 0 && rc != -EEXIST)
			return cni_fail(ce, CNI_ERR_NETWORK, rc, "pod side: %s", e.msg);
	}
	if ((rc = rtnl_link_set_up(pod, l.index, &e)) < 0)
		return cni_fail(ce, CNI_ERR_NETWORK, rc, "pod side: %s: %s", q->ifname, e.msg);
	/* The loopback device is always index 1 in a namespace. */
	if ((rc = rtnl_link_set_up(pod, 1, &e)) < 0)
		return cni_fail(ce, CNI_ERR_NETWORK, rc, "pod side: lo: %s", e.msg);
	for (size_t i = 0; i < c->n_ranges; i++) {
		struct rtnl_route rt;
		default_route(c, i, l.index, &rt);
		rc = rtnl_route_add(pod, &rt, false, &e);
		/* A second interface of the same pod finds the default route taken by the
		 * first: it keeps its connected route only. */
		if (rc < 0 && rc != -EEXIST)
			return cni_fail(ce, CNI_ERR_NETWORK, rc, "pod side: %s", e.msg);
	}
	return 0;
}

static int apply_masq(const struct cni_conf *c, struct cni_error *ce)
{
	struct ipaddr_net from[IPAM_MAX_RANGES];
	struct err e = { 0 };
	int rc;

	for (size_t i = 0; i < c->n_ranges; i++)
		from[i] = c->ranges[i].subnet;
	if ((rc = masq_apply(c->masq_table, from, c->n_ranges, c->keep, c->n_keep, &e)) < 0)
		return cni_fail(ce, CNI_ERR_NETWORK, rc, "ipMasq: %s", e.msg);
	return 0;
}

int cni_link_add(const struct cni_conf *c, const struct cni_req *q, int nsfd,
                 struct cni_attachment *at, struct cni_error *ce)
{
	struct rtnl *host = NULL, *pod = NULL;
	struct rtnl_link br;
	struct err e = { 0 };
	int rc;

	if ((rc = rtnl_open(&host, &e)) < 0)
		return cni_fail(ce, CNI_ERR_NETWORK, rc, "%s", e.msg);
	if ((rc = ensure_bridge(host, c, &br, ce)) < 0)
		goto out;
	snprintf(at->bridge, sizeof(at->bridge), "%s", c->bridge);
	memcpy(at->bridge_mac, br.mac, 6);
	if ((rc = rtnl_open_netns(&pod, nsfd, &e)) < 0) {
		cni_fail(ce, CNI_ERR_NETWORK, rc, "%s: %s", q->netns, e.msg);
		goto out;
	}
	if ((rc = add_veth(host, pod, c, q, nsfd, br.index, at, ce)) < 0)
		goto out;
	if ((rc = setup_pod(pod, c, q, at, ce)) < 0)
		goto undo;
	if (c->ip_masq && (rc = apply_masq(c, ce)) < 0)
		goto undo;
	goto out;
undo:
	/* Deleting the host end takes the pod end with it. */
	rtnl_link_del(host, 0, at->veth, NULL);
out:
	rtnl_close(pod);
	rtnl_close(host);
	return rc;
}

int cni_link_del(const struct cni_conf *c, const struct cni_req *q, struct cni_error *ce)
{
	struct rtnl *host = NULL, *pod = NULL;
	struct rtnl_link l;
	struct err e = { 0 };
	int rc = 0, nsfd = -1;

	/* The usual case: delete the pod's end; the kernel removes the pair. */
	if (q->netns && (nsfd = open(q->netns, O_RDONLY | O_CLOEXEC)) >= 0 &&
	    rtnl_open_netns(&pod, nsfd, NULL) == 0 &&
	    rtnl_link_get(pod, q->ifname, 0, &l, NULL) == 0 && !strcmp(l.kind, "veth")) {
		rc = rtnl_link_del_detached(pod, l.index, &e);
		if (rc == 0 || rc == -ENODEV) {
			rc = 0;
			goto out;
		}
		cni_fail(ce, CNI_ERR_NETWORK, rc, "%s in %s: %s", q->ifname, q->netns, e.msg);
		goto out;
	}
	/* The namespace is gone, or not ours to enter: a host end that outlived it is
	 * found by its name and alias. */
	if ((rc = rtnl_open(&host, &e)) < 0) {
		cni_fail(ce, CNI_ERR_NETWORK, rc, "%s", e.msg);
		goto out;
	}
	if (find_host_veth(host, c, q, &l) == 0) {
		rc = rtnl_link_del_detached(host, l.index, &e);
		if (rc < 0 && rc != -ENODEV) {
			cni_fail(ce, CNI_ERR_NETWORK, rc, "%s", e.msg);
			goto out;
		}
	}
	rc = 0;
out:
	if (nsfd >= 0)
		close(nsfd);
	rtnl_close(pod);
	rtnl_close(host);
	return rc;
}

struct addr_want {
	int index;
	const struct ipaddr_net *want;
	bool found;
};

static int on_addr(const struct rtnl_addr *a, void *arg)
{
	struct addr_want *w = arg;
	if (a->index == w->index && ipaddr_net_equal(&a->addr, w->want))
		w->found = true;
	return w->found;
}

static bool has_addr(struct rtnl *r, int index, const struct ipaddr_net *want)
{
	struct addr_want w = { index, want, false };
	rtnl_addr_dump(r, want->addr.family, on_addr, &w, NULL);
	return w.found;
}

struct route_want {
	const struct rtnl_route *want;
	bool found;
};

static int on_route(const struct rtnl_route *rt, void *arg)
{
	struct route_want *w = arg;
	if (rt->table == RT_TABLE_MAIN && rt->dst.len == w->want->dst.len &&
	    ipaddr_equal(&rt->dst.addr, &w->want->dst.addr) &&
	    ipaddr_equal(&rt->gw, &w->want->gw) && rt->oif == w->want->oif)
		w->found = true;
	return w->found;
}

int cni_link_check(const struct cni_conf *c, const struct cni_req *q, int nsfd,
                   const struct ipaddr *addrs, const char *pod_mac, struct cni_error *ce)
{
	struct rtnl *host = NULL, *pod = NULL;
	struct rtnl_link l, v, br;
	struct err e = { 0 };
	char s[IPADDR_NET_STRLEN], g[IPADDR_STRLEN];
	int rc;

	if ((rc = rtnl_open_netns(&pod, nsfd, &e)) < 0) {
		cni_fail(ce, CNI_ERR_NETWORK, rc, "%s %s", q->netns, e.msg);
		goto out;
	}
	if (rtnl_link_get(pod, q->ifname, 0, &l, NULL) < 0) {
		rc = cni_fail(ce, CNI_ERR_CHECK, -ENODEV, "interface %s is missing from %s",
		              q->ifname, q->netns);
		goto out;
	}
	if (!(l.flags & IFF_UP)) {
		rc = cni_fail(ce, CNI_ERR_CHECK, -ENETDOWN, "interface %s in %s is down", q->ifname,
		              q->netns);
		goto out;
	}
	if (pod_mac && l.has_mac) {
		char mac[18];
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", l.mac[0], l.mac[1],
		         l.mac[2], l.mac[3], l.mac[4], l.mac[5]);
		if (strcasecmp(mac, pod_mac) != 0) {
			rc = cni_fail(ce, CNI_ERR_CHECK, -EINVAL,
			              "interface %s in %s has MAC %s, not %s as ADD reported",
			              q->ifname, q->netns, mac, pod_mac);
			goto out;
		}
	}
	for (size_t i = 0; i < c->n_ranges; i++) {
		struct ipaddr_net a = { addrs[i], c->ranges[i].subnet.len };
		struct rtnl_route rt;
		struct route_want w = { &rt, false };
		if (!has_addr(pod, l.index, &a)) {
			rc = cni_fail(ce, CNI_ERR_CHECK, -EADDRNOTAVAIL,
			              "address %s is missing from %s in %s", ipaddr_net_str(&a, s),
			              q->ifname, q->netns);
			goto out;
		}
		default_route(c, i, l.index, &rt);
		rtnl_route_dump(pod, rt.dst.addr.family, on_route, &w, NULL);
		if (!w.found) {
			rc = cni_fail(ce, CNI_ERR_CHECK, -ENETUNREACH,
			              "default route via %s on %s is missing in %s",
			              ipaddr_str(&rt.gw, g), q->ifname, q->netns);
			goto out;
		}
	}
	if ((rc = rtnl_open(&host, &e)) < 0) {
		cni_fail(ce, CNI_ERR_NETWORK, rc, "%s", e.msg);
		goto out;
	}
	if (rtnl_link_get(host, c->bridge, 0, &br, NULL) < 0 || !(br.flags & IFF_UP)) {
		rc =
		    cni_fail(ce, CNI_ERR_CHECK, -ENODEV, "bridge %s is missing or down", c->bridge);
		goto out;
	}
	for (size_t i = 0; i < c->n_ranges; i++) {
		struct ipaddr_net gw = { c->ranges[i].gateway, c->ranges[i].subnet.len };
		if (!has_addr(host, br.index, &gw)) {
			rc = cni_fail(ce, CNI_ERR_CHECK, -EADDRNOTAVAIL,
			              "gateway address %s is missing from bridge %s",
			              ipaddr_net_str(&gw, s), c->bridge);
			goto out;
		}
	}
	if (find_host_veth(host, c, q, &v) < 0 || v.master != br.index || !(v.flags & IFF_UP)) {
		rc = cni_fail(ce, CNI_ERR_CHECK, -ENODEV,
		              "the host end of %s's veth is missing, down or not on bridge %s",
		              q->ifname, c->bridge);
		goto out;
	}
	if (c->ip_masq && (rc = masq_check(c->masq_table, &e)) < 0) {
		cni_fail(ce, CNI_ERR_CHECK, rc, "ipMasq: %s", e.msg);
		goto out;
	}
	rc = 0;
out:
	rtnl_close(pod);
	rtnl_close(host);
	return rc;
}

struct gc_walk {
	const struct cni_conf *c;
	const struct ipam_owner *keep;
	size_t n_keep;
	int *stale;
	size_t n, cap;
};

static int on_gc_link(const struct rtnl_link *l, void *arg)
{
	struct gc_walk *w = arg;
	char id[ALIAS_MAX], ifname[IF_NAMESIZE];

	if (strcmp(l->kind, "veth") != 0 ||
	    !cni_alias_parse(w->c, l->alias, id, sizeof(id), ifname, sizeof(ifname)))
		return 0;
	for (size_t k = 0; k < w->n_keep; k++) {
		if (w->keep[k].id && w->keep[k].ifname && !strcmp(w->keep[k].id, id) &&
		    !strcmp(w->keep[k].ifname, ifname))
			return 0;
	}
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->stale = xrealloc(w->stale, w->cap * sizeof(*w->stale));
	}
	w->stale[w->n++] = l->index;
	return 0;
}

int cni_link_gc(const struct cni_conf *c, const struct ipam_owner *keep, size_t n_keep,
                size_t *deleted, struct cni_error *ce)
{
	struct gc_walk w = { .c = c, .keep = keep, .n_keep = n_keep };
	struct rtnl *host = NULL;
	struct err e = { 0 };
	int rc, first = 0;

	*deleted = 0;
	if ((rc = rtnl_open(&host, &e)) < 0)
		return cni_fail(ce, CNI_ERR_NETWORK, rc, "%s", e.msg);
	if ((rc = rtnl_link_dump(host, on_gc_link, &w, &e)) < 0) {
		cni_fail(ce, CNI_ERR_NETWORK, rc, "%s", e.msg);
		goto out;
	}
	/* Go on past a failure: GC removes as much as it can and reports the first. */
	for (size_t i = 0; i < w.n; i++) {
		rc = rtnl_link_del(host, w.stale[i], NULL, &e);
		if (rc == 0)
			(*deleted)++;
		else if (rc != -ENODEV && !first)
			first = cni_fail(ce, CNI_ERR_NETWORK, rc, "%s", e.msg);
	}
	rc = first;
out:
	free(w.stale);
	rtnl_close(host);
	return rc;
}
