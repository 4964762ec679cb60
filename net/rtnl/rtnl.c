/* rtnl: rtnetlink requests over libmnl, with the kernel's extended-ack text in error messages. */
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/syscall.h>

#include "net/rtnl/rtnl.h"

/* Large enough for any one dump datagram the kernel sends (it sizes them to our buffer). */
#define RTNL_BUF 32768

struct rtnl {
	struct mnl_socket *nl;
	unsigned portid;
	uint32_t seq;
	char ext[200]; /* the kernel's extended-ack message for the last failed request */
	char *buf;     /* RTNL_BUF bytes, not zeroed: only the pages replies use get touched */
};

/* One request in flight: the caller's per-message callback and where the walk stands. */
struct call {
	struct rtnl *r;
	int (*fn)(const struct nlmsghdr *nlh, void *arg);
	void *arg;
	int stopped; /* fn's first nonzero answer; we drain the dump to its end regardless */
};

static int on_msg(const struct nlmsghdr *nlh, void *data)
{
	struct call *c = data;
	if (c->fn && !c->stopped)
		c->stopped = c->fn(nlh, c->arg);
	return MNL_CB_OK;
}

/* An error (or the ack, error 0). Keeps the kernel's message, which often says exactly
 * which attribute it refused. */
static int on_error(const struct nlmsghdr *nlh, void *data)
{
	struct call *c = data;
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (err->error == 0)
		return MNL_CB_STOP;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		size_t off = sizeof(*err);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
		size_t plen = mnl_nlmsg_get_payload_len(nlh);
		if (off < plen) {
			const struct nlattr *a = (const void *)((const char *)err + off);
			int left = (int)(plen - off);
			for (; mnl_attr_ok(a, left);
			     left -= (int)MNL_ALIGN(a->nla_len), a = mnl_attr_next(a)) {
				if (mnl_attr_get_type(a) != NLMSGERR_ATTR_MSG)
					continue;
				size_t n =
				    strnlen(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));
				if (n >= sizeof(c->r->ext))
					n = sizeof(c->r->ext) - 1;
				memcpy(c->r->ext, mnl_attr_get_payload(a), n);
				c->r->ext[n] = '\0';
			}
		}
	}
	errno = -err->error;
	return MNL_CB_ERROR;
}

/* The end of a dump; a dump the kernel could not finish carries its error here. */
static int on_done(const struct nlmsghdr *nlh, void *data)
{
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
		int err = *(const int *)mnl_nlmsg_get_payload(nlh);
		if (err < 0) {
			errno = -err;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

static int on_noop(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_OK;
}

static int on_overrun(const struct nlmsghdr *nlh, void *data)
{
	errno = ENOSPC;
	return MNL_CB_ERROR;
}

/* libmnl skips its own defaults for every type this table covers, so it names them all. */
static mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
	[NLMSG_NOOP] = on_noop,
	[NLMSG_ERROR] = on_error,
	[NLMSG_DONE] = on_done,
	[NLMSG_OVERRUN] = on_overrun,
};

/* Sends one request and reads until its ack or the end of its dump. */
static int talk(struct rtnl *r, struct nlmsghdr *nlh, int (*fn)(const struct nlmsghdr *, void *),
                void *arg)
{
	struct call c = { .r = r, .fn = fn, .arg = arg };

	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++r->seq;
	r->ext[0] = '\0';
	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(r->nl, r->buf, RTNL_BUF);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		errno = 0;
		int ret = mnl_cb_run2(r->buf, (size_t)n, nlh->nlmsg_seq, r->portid, on_msg, &c,
		                      ctl_cbs, ARRAY_SIZE(ctl_cbs));
		if (ret < 0)
			return errno ? -errno : -EIO;
		if (ret == MNL_CB_STOP)
			return c.stopped < 0 ? c.stopped : 0;
	}
}

/* Fills e with "what: strerror (kernel: its message)" and returns rc. */
static int fail(struct rtnl *r, struct err *e, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct rtnl *r, struct err *e, int rc, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (!e)
		return rc;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (r->ext[0])
		return err_set(e, rc, "%s: %s (kernel: %s)", what, strerror(-rc), r->ext);
	return err_set(e, rc, "%s: %s", what, strerror(-rc));
}

int rtnl_open(struct rtnl **out, struct err *e)
{
	struct rtnl *r = xcalloc(1, sizeof(*r));
	int one = 1;

	r->buf = xmalloc(RTNL_BUF);
	r->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!r->nl || mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int rc = -errno;
		rtnl_close(r);
		return err_set(e, rc, "open rtnetlink socket: %s", strerror(-rc));
	}
	/* Older kernels lack these; the messages are then just less precise. */
	mnl_socket_setsockopt(r->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(r->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	r->portid = mnl_socket_get_portid(r->nl);
	r->seq = (uint32_t)time_mono_us();
	*out = r;
	return 0;
}

int rtnl_open_netns(struct rtnl **out, int nsfd, struct err *e)
{
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int rc;

	if (self < 0)
		return err_set(e, -errno, "open own network namespace: %s", strerror(errno));
	if (setns(nsfd, CLONE_NEWNET) < 0)
		return err_set(e, -errno, "enter network namespace: %s", strerror(errno));
	rc = rtnl_open(out, e);
	if (setns(self, CLONE_NEWNET) < 0) {
		/* Staying in the pod's namespace would misconfigure the host: never go on. */
		int r2 = -errno;
		if (rc == 0)
			rtnl_close(*out);
		*out = NULL;
		return err_set(e, r2, "return to own network namespace: %s", strerror(-r2));
	}
	return rc;
}

void rtnl_close(struct rtnl *r)
{
	if (!r)
		return;
	if (r->nl)
		mnl_socket_close(r->nl);
	free(r->buf);
	free(r);
}

static struct nlmsghdr *put_header(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	return nlh;
}

/* Copies a string attribute that the kernel may not have terminated. */
static void copy_str(char *dst, size_t cap, const struct nlattr *a)
{
	size_t n = strnlen(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, mnl_attr_get_payload(a), n);
	dst[n] = '\0';
}

/* --- links ---------------------------------------------------------------- */

static int parse_link(const struct nlmsghdr *nlh, struct rtnl_link *l)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a, *b;

	memset(l, 0, sizeof(*l));
	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return -EBADMSG;
	l->index = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	mnl_attr_for_each(a, nlh, sizeof(*ifi))
	{
		switch (mnl_attr_get_type(a)) {
		case IFLA_IFNAME:
			copy_str(l->name, sizeof(l->name), a);
			break;
		case IFLA_IFALIAS:
			copy_str(l->alias, sizeof(l->alias), a);
			break;
		case IFLA_ADDRESS:
			if (mnl_attr_get_payload_len(a) == 6) {
				memcpy(l->mac, mnl_attr_get_payload(a), 6);
				l->has_mac = true;
			}
			break;
		case IFLA_MTU:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				l->mtu = mnl_attr_get_u32(a);
			break;
		case IFLA_MASTER:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				l->master = (int)mnl_attr_get_u32(a);
			break;
		case IFLA_LINKINFO:
			mnl_attr_for_each_nested(b, a)
			{
				if (mnl_attr_get_type(b) == IFLA_INFO_KIND)
					copy_str(l->kind, sizeof(l->kind), b);
			}
			break;
		}
	}
	return 0;
}

static int on_link(const struct nlmsghdr *nlh, void *arg)
{
	return parse_link(nlh, arg) < 0 ? 0 : 1;
}

int rtnl_link_get(struct rtnl *r, const char *name, int index, struct rtnl_link *out, struct err *e)
{
	char req[512];
	struct nlmsghdr *nlh = put_header(req, RTM_GETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	int rc;

	ifi->ifi_family = AF_UNSPEC;
	if (name && *name) {
		if (strlen(name) >= IF_NAMESIZE)
			return err_set(e, -EINVAL, "look up link %s: name too long", name);
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	} else {
		ifi->ifi_index = index;
	}
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	out->index = 0;
	rc = talk(r, nlh, on_link, out);
	if (rc == 0 && out->index == 0)
		rc = -ENODEV;
	if (rc < 0)
		return name && *name ? fail(r, e, rc, "look up link %s", name)
		                     : fail(r, e, rc, "look up link #%d", index);
	return 0;
}

struct link_walk {
	int (*fn)(const struct rtnl_link *l, void *arg);
	void *arg;
};

static int on_link_walk(const struct nlmsghdr *nlh, void *arg)
{
	struct link_walk *w = arg;
	struct rtnl_link l;
	if (parse_link(nlh, &l) < 0)
		return 0;
	return w->fn(&l, w->arg);
}

int rtnl_link_dump(struct rtnl *r, int (*fn)(const struct rtnl_link *l, void *arg), void *arg,
                   struct err *e)
{
	char req[256];
	struct nlmsghdr *nlh = put_header(req, RTM_GETLINK, NLM_F_DUMP);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct link_walk w = { fn, arg };
	int rc;

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	rc = talk(r, nlh, on_link_walk, &w);
	return rc < 0 ? fail(r, e, rc, "list links") : 0;
}

int rtnl_bridge_add(struct rtnl *r, const char *name, unsigned mtu, const uint8_t mac[6],
                    struct err *e)
{
	char req[512];
	struct nlmsghdr *nlh = put_header(req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct nlattr *info;
	int rc;

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	if (mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, info);
	rc = talk(r, nlh, NULL, NULL);
	return rc < 0 ? fail(r, e, rc, "create bridge %s", name) : 0;
}

/* The attributes both ends of a veth take. */
static void put_end(struct nlmsghdr *nlh, const char *name, const uint8_t *mac, unsigned mtu)
{
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	if (mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
}

int rtnl_veth_add(struct rtnl *r, const struct rtnl_veth *v, struct err *e)
{
	char req[1024];
	struct nlmsghdr *nlh = put_header(req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct nlattr *info, *data, *peer;
	struct ifinfomsg *pifi;
	int rc;

	ifi->ifi_family = AF_UNSPEC;
	if (v->up) {
		ifi->ifi_flags = IFF_UP;
		ifi->ifi_change = IFF_UP;
	}
	put_end(nlh, v->name, v->mac, v->mtu);
	/* Enslaving in the same request saves a round trip and a window in which the
	 * port exists but forwards nothing. */
	if (v->master > 0)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)v->master);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	pifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifi));
	pifi->ifi_family = AF_UNSPEC;
	put_end(nlh, v->peer, v->peer_mac, v->mtu);
	/* Created straight inside the pod's namespace: moving it there afterwards would
	 * cost a second request and a rename. */
	if (v->peer_nsfd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)v->peer_nsfd);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	rc = talk(r, nlh, NULL, NULL);
	return rc < 0 ? fail(r, e, rc, "create veth pair %s/%s", v->name, v->peer) : 0;
}

int rtnl_link_set_up(struct rtnl *r, int index, struct err *e)
{
	char req[256];
	struct nlmsghdr *nlh = put_header(req, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	int rc;

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	rc = talk(r, nlh, NULL, NULL);
	return rc < 0 ? fail(r, e, rc, "set link #%d up", index) : 0;
}

int rtnl_link_set_port(struct rtnl *r, const char *name, const char *alias, int hairpin,
                       struct err *e)
{
	char req[1024];
	struct nlmsghdr *nlh = put_header(req, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	int rc;

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (alias)
		mnl_attr_put_strz(nlh, IFLA_IFALIAS, alias);
	if (hairpin >= 0) {
		struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
		mnl_attr_put_strz(nlh, IFLA_INFO_SLAVE_KIND, "bridge");
		struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_SLAVE_DATA);
		mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, hairpin ? 1 : 0);
		mnl_attr_nest_end(nlh, data);
		mnl_attr_nest_end(nlh, info);
	}
	rc = talk(r, nlh, NULL, NULL);
	return rc < 0 ? fail(r, e, rc, "set port options of %s", name) : 0;
}

static void put_del(struct nlmsghdr *nlh, int index, const char *name)
{
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	if (!index && name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
}

int rtnl_link_del(struct rtnl *r, int index, const char *name, struct err *e)
{
	char req[256];
	struct nlmsghdr *nlh = put_header(req, RTM_DELLINK, 0);
	int rc;

	if (!index && (!name || strlen(name) >= IF_NAMESIZE))
		return err_set(e, -EINVAL, "delete link: no index and no valid name");
	put_del(nlh, index, name);
	rc = talk(r, nlh, NULL, NULL);
	if (rc < 0)
		return index ? fail(r, e, rc, "delete link #%d", index)
		             : fail(r, e, rc, "delete link %s", name);
	return 0;
}

/* Looks through one datagram for the removal of index, or the refusal of request seq.
 * Returns 0 (removed), a negative errno (refused), or 1 (neither). */
static int scan_unlisted(const char *buf, ssize_t len, int index, uint32_t seq)
{
	int left = (int)len;
	for (const struct nlmsghdr *nlh = (const void *)buf; mnl_nlmsg_ok(nlh, left);
	     nlh = mnl_nlmsg_next(nlh, &left)) {
		if (nlh->nlmsg_type == RTM_DELLINK &&
		    mnl_nlmsg_get_payload_len(nlh) >= sizeof(struct ifinfomsg)) {
			const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
			if (ifi->ifi_index == index)
				return 0;
		} else if (nlh->nlmsg_type == NLMSG_ERROR && nlh->nlmsg_seq == seq &&
		           mnl_nlmsg_get_payload_len(nlh) >= sizeof(struct nlmsgerr)) {
			const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
			if (err->error)
				return err->error;
		}
	}
	return 1;
}

/* Asks whether the link is still there: the answer to a stalled or lost wait. */
static int still_listed(struct rtnl *r, int index)
{
	struct rtnl_link l;
	int rc = rtnl_link_get(r, NULL, index, &l, NULL);
	return rc == -ENODEV ? 0 : rc == 0 ? -EBUSY : rc;
}

/*
 * Waits on r's socket, which listens to link events, for the removal of index or for
 * the kernel's refusal of request seq; and on pidfd (when there is one) for the helper
 * that sent the request: if it is gone first, its request is over and the verdict is
 * already queued, or else the kernel is asked.
 */
static int wait_unlisted(struct rtnl *r, int index, uint32_t seq, int pidfd)
{
	int fd = mnl_socket_get_fd(r->nl);
	uint64_t deadline = time_mono_ms() + 10000;

	for (;;) {
		uint64_t now = time_mono_ms();
		if (now >= deadline)
			return still_listed(r, index) == 0 ? 0 : -ETIMEDOUT;
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
			               { .fd = pidfd, .events = POLLIN } };
		int n = poll(p, pidfd >= 0 ? 2 : 1, (int)(deadline - now));
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		bool helper_done = pidfd >= 0 && (p[1].revents & (POLLIN | POLLHUP));
		ssize_t len = recv(fd, r->buf, RTNL_BUF, helper_done ? MSG_DONTWAIT : 0);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && helper_done)
				return still_listed(r, index);
			if (errno == EAGAIN)
				continue;
			if (errno != ENOBUFS)
				return -errno;
			/* Events were dropped, maybe ours: ask instead. The request queues
			 * behind the delete on the kernel's lock, so its answer is final. */
			if (still_listed(r, index) == 0)
				return 0;
			continue;
		}
		int rc = scan_unlisted(r->buf, len, index, seq);
		if (rc <= 0)
			return rc;
	}
}

/* What the helper that sends a delete needs, in memory nobody frees under it. */
struct helper {
	int fd;
	size_t len;
	char msg[256];
};

#define HELPER_STACK (32 * 1024)

/*
 * The helper shares our memory (CLONE_VM: nothing is copied, which matters where
 * page-table work is dear) but not our thread, so it makes raw system calls only and
 * touches no libc state. It lets go of stdio and of every other descriptor (an IPAM
 * lock among them would otherwise stay held), then sends the request and blocks in the
 * kernel for as long as the teardown takes.
 */
__attribute__((no_sanitize("address"))) static int helper_main(void *arg)
{
	struct helper *h = arg;
	long nul = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		syscall(SYS_dup3, nul, 0, 0);
		syscall(SYS_dup3, nul, 1, 0);
		syscall(SYS_dup3, nul, 2, 0);
	}
	if (h->fd > 3)
		syscall(SYS_close_range, 3, h->fd - 1, 0);
	syscall(SYS_close_range, h->fd + 1, ~0U, 0);
	syscall(SYS_sendto, h->fd, h->msg, h->len, 0, NULL, 0);
	syscall(SYS_exit, 0);
	return 0;
}

int rtnl_link_del_detached(struct rtnl *r, int index, struct err *e)
{
	int fd = mnl_socket_get_fd(r->nl), grp = RTNLGRP_LINK, rc;
	struct nlmsghdr *nlh;
	struct helper *h;
	char *mem;

	if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)) < 0)
		return rtnl_link_del(r, index, NULL, e);
	/* Never unmapped: the helper may outlive this call, and the process. */
	mem = mmap(NULL, HELPER_STACK, PROT_READ | PROT_WRITE,
	           MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (mem == MAP_FAILED) {
		setsockopt(fd, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &grp, sizeof(grp));
		return rtnl_link_del(r, index, NULL, e);
	}
	h = (struct helper *)mem;
	/* No ack asked: a refusal still comes back, and we read it here. */
	nlh = put_header(h->msg, RTM_DELLINK, NLM_F_REQUEST);
	put_del(nlh, index, NULL);
	nlh->nlmsg_seq = ++r->seq;
	h->fd = fd;
	h->len = nlh->nlmsg_len;
	r->ext[0] = '\0';
	pid_t pid = clone(helper_main, mem + HELPER_STACK, CLONE_VM | SIGCHLD, h);
	if (pid < 0) {
		munmap(mem, HELPER_STACK);
		setsockopt(fd, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &grp, sizeof(grp));
		return rtnl_link_del(r, index, NULL, e);
	}
	/* Without pidfds (before Linux 5.3) a lost request costs the timeout. */
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	rc = wait_unlisted(r, index, nlh->nlmsg_seq, pidfd);
	if (pidfd >= 0) {
		/* Reap the helper if it is done, so a long-lived caller keeps no zombie. */
		waitpid(pid, NULL, WNOHANG);
		close(pidfd);
	}
	setsockopt(fd, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &grp, sizeof(grp));
	return rc < 0 ? fail(r, e, rc, "delete link #%d", index) : 0;
}

/* --- addresses -------------------------------------------------------------- */

int rtnl_addr_add(struct rtnl *r, int index, const struct ipaddr_net *a, unsigned flags,
                  struct err *e)
{
	char req[256], s[IPADDR_NET_STRLEN];
	struct nlmsghdr *nlh = put_header(req, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	unsigned bytes = ipaddr_bytes(a->addr.family);
	uint32_t f = 0;
	int rc;

	if (!bytes)
		return err_set(e, -EAFNOSUPPORT, "add address: no address family");
	/* Duplicate address detection would hold an IPv6 address back for a second or
	 * more; IPAM already guarantees it is unique on this link. */
	if ((flags & RTNL_ADDR_NODAD) && a->addr.family == AF_INET6)
		f |= IFA_F_NODAD;
	ifa->ifa_family = (uint8_t)a->addr.family;
	ifa->ifa_prefixlen = (uint8_t)a->len;
	ifa->ifa_flags = (uint8_t)f;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)index;
	mnl_attr_put(nlh, IFA_LOCAL, bytes, a->addr.b);
	mnl_attr_put(nlh, IFA_ADDRESS, bytes, a->addr.b);
	if (f)
		mnl_attr_put_u32(nlh, IFA_FLAGS, f);
	rc = talk(r, nlh, NULL, NULL);
	return rc < 0 ? fail(r, e, rc, "add address %s to link #%d", ipaddr_net_str(a, s), index)
	              : 0;
}

struct addr_walk {
	int (*fn)(const struct rtnl_addr *a, void *arg);
	void *arg;
};

static int on_addr(const struct nlmsghdr *nlh, void *arg)
{
	struct addr_walk *w = arg;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	struct rtnl_addr ra = { 0 };
	const void *local = NULL, *address = NULL;
	unsigned bytes;

	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return 0;
	bytes = ipaddr_bytes(ifa->ifa_family);
	if (!bytes)
		return 0;
	mnl_attr_for_each(a, nlh, sizeof(*ifa))
	{
		if (mnl_attr_get_payload_len(a) != bytes)
			continue;
		if (mnl_attr_get_type(a) == IFA_LOCAL)
			local = mnl_attr_get_payload(a);
		else if (mnl_attr_get_type(a) == IFA_ADDRESS)
			address = mnl_attr_get_payload(a);
	}
	/* On point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is ours. */
	if (!local)
		local = address;
	if (!local)
		return 0;
	ra.index = (int)ifa->ifa_index;
	ra.addr.addr.family = ifa->ifa_family;
	memcpy(ra.addr.addr.b, local, bytes);
	ra.addr.len = ifa->ifa_prefixlen;
	return w->fn(&ra, w->arg);
}

int rtnl_addr_dump(struct rtnl *r, int family, int (*fn)(const struct rtnl_addr *a, void *arg),
                   void *arg, struct err *e)
{
	char req[256];
	struct nlmsghdr *nlh = put_header(req, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	struct addr_walk w = { fn, arg };
	int rc;

	ifa->ifa_family = (uint8_t)family;
	rc = talk(r, nlh, on_addr, &w);
	return rc < 0 ? fail(r, e, rc, "list addresses") : 0;
}

/* --- routes ----------------------------------------------------------------- */

static void put_route(struct nlmsghdr *nlh, const struct rtnl_route *rt, bool del)
{
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	unsigned bytes = ipaddr_bytes(rt->dst.addr.family);
	uint32_t table = rt->table ? rt->table : RT_TABLE_MAIN;

	rtm->rtm_family = (uint8_t)rt->dst.addr.family;
	rtm->rtm_dst_len = (uint8_t)rt->dst.len;
	rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = del ? rt->protocol : (rt->protocol ? rt->protocol : RTPROT_BOOT);
	if (del) {
		/* Match whatever scope and type the route has. */
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
		rtm->rtm_type = RTN_UNSPEC;
	} else {
		rtm->rtm_scope = rt->gw.family ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
		rtm->rtm_type = RTN_UNICAST;
	}
	if (rt->dst.len)
		mnl_attr_put(nlh, RTA_DST, bytes, rt->dst.addr.b);
	if (rt->gw.family == rt->dst.addr.family && rt->gw.family)
		mnl_attr_put(nlh, RTA_GATEWAY, bytes, rt->gw.b);
	if (rt->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)rt->oif);
	if (rt->priority)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, rt->priority);
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
}

int rtnl_route_add(struct rtnl *r, const struct rtnl_route *rt, bool replace, struct err *e)
{
	char req[512], d[IPADDR_NET_STRLEN], g[IPADDR_STRLEN];
	struct nlmsghdr *nlh =
	    put_header(req, RTM_NEWROUTE, NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL));
	int rc;

	if (!ipaddr_bytes(rt->dst.addr.family))
		return err_set(e, -EAFNOSUPPORT, "add route: no address family");
	put_route(nlh, rt, false);
	rc = talk(r, nlh, NULL, NULL);
	if (rc < 0)
		return fail(r, e, rc, "add route to %s%s%s", ipaddr_net_str(&rt->dst, d),
		            rt->gw.family ? " via " : "",
		            rt->gw.family ? ipaddr_str(&rt->gw, g) : "");
	return 0;
}

int rtnl_route_del(struct rtnl *r, const struct rtnl_route *rt, struct err *e)
{
	char req[512], d[IPADDR_NET_STRLEN];
	struct nlmsghdr *nlh = put_header(req, RTM_DELROUTE, 0);
	int rc;

	if (!ipaddr_bytes(rt->dst.addr.family))
		return err_set(e, -EAFNOSUPPORT, "delete route: no address family");
	put_route(nlh, rt, true);
	rc = talk(r, nlh, NULL, NULL);
	return rc < 0 ? fail(r, e, rc, "delete route to %s", ipaddr_net_str(&rt->dst, d)) : 0;
}

struct route_walk {
	int (*fn)(const struct rtnl_route *rt, void *arg);
	void *arg;
};

static int on_route(const struct nlmsghdr *nlh, void *arg)
{
	struct route_walk *w = arg;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	struct rtnl_route rt = { 0 };
	unsigned bytes;

	if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return 0;
	bytes = ipaddr_bytes(rtm->rtm_family);
	if (!bytes || rtm->rtm_type != RTN_UNICAST)
		return 0;
	rt.dst.addr.family = rtm->rtm_family;
	rt.dst.len = rtm->rtm_dst_len;
	rt.table = rtm->rtm_table;
	rt.protocol = rtm->rtm_protocol;
	mnl_attr_for_each(a, nlh, sizeof(*rtm))
	{
		switch (mnl_attr_get_type(a)) {
		case RTA_DST:
			if (mnl_attr_get_payload_len(a) == bytes)
				memcpy(rt.dst.addr.b, mnl_attr_get_payload(a), bytes);
			break;
		case RTA_GATEWAY:
			if (mnl_attr_get_payload_len(a) == bytes) {
				rt.gw.family = rtm->rtm_family;
				memcpy(rt.gw.b, mnl_attr_get_payload(a), bytes);
			}
			break;
		case RTA_OIF:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				rt.oif = (int)mnl_attr_get_u32(a);
			break;
		case RTA_PRIORITY:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				rt.priority = mnl_attr_get_u32(a);
			break;
		case RTA_TABLE:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				rt.table = mnl_attr_get_u32(a);
			break;
		}
	}
	return w->fn(&rt, w->arg);
}

int rtnl_route_dump(struct rtnl *r, int family, int (*fn)(const struct rtnl_route *rt, void *arg),
                    void *arg, struct err *e)
{
	char req[256];
	struct nlmsghdr *nlh = put_header(req, RTM_GETROUTE, NLM_F_DUMP);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	struct route_walk w = { fn, arg };
	int rc;

	rtm->rtm_family = (uint8_t)family;
	rc = talk(r, nlh, on_route, &w);
	return rc < 0 ? fail(r, e, rc, "list routes") : 0;
}
