/* plugin: tug-cni's entry point: reads the request, runs the verb, and answers on stdout with
 * the result or the spec's error object. stdout carries nothing else. */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#define LOG_TAG "tug-cni"
#include "core/log/log.h"
#include "net/cni/cni-internal.h"
#include "net/rtnl/rtnl.h"

#define STDIN_MAX (1 << 20)

static const char *code_msg(int code)
{
	switch (code) {
	case CNI_ERR_VERSION:
		return "Incompatible CNI version";
	case CNI_ERR_UNSUPPORTED_FIELD:
		return "Unsupported field in network configuration";
	case CNI_ERR_UNKNOWN_CONTAINER:
		return "Container unknown or does not exist";
	case CNI_ERR_ENV:
		return "Invalid environment variables";
	case CNI_ERR_IO:
		return "I/O failure";
	case CNI_ERR_DECODE:
		return "Failed to decode content";
	case CNI_ERR_CONFIG:
		return "Invalid network configuration";
	case CNI_ERR_TRY_AGAIN:
		return "Try again later";
	case CNI_ERR_UNAVAILABLE:
		return "Plugin not available";
	case CNI_ERR_UNAVAILABLE_LIMITED:
		return "Plugin not available; existing pods may have limited connectivity";
	case CNI_ERR_CHECK:
		return "Pod network is not as ADD left it";
	default:
		return "Failed to configure the pod network";
	}
}

static int print_json(cJSON *o)
{
	char *s = cJSON_Print(o);
	int rc = 0;
	if (!s || fputs(s, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) == EOF)
		rc = -EIO;
	free(s);
	return rc;
}

static int read_stdin(char **out, struct cni_error *ce)
{
	struct buf b = { 0 };
	for (;;) {
		buf_reserve(&b, 4096);
		b.data[b.len] = '\0'; /* empty stdin is an empty string, not stale heap */
		ssize_t n = read(0, b.data + b.len, b.cap - b.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int rc = -errno;
			buf_free(&b);
			return cni_fail(ce, CNI_ERR_IO, rc,
			                "read network configuration from stdin: %s", strerror(-rc));
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
		b.data[b.len] = '\0';
		if (b.len > STDIN_MAX) {
			buf_free(&b);
			return cni_fail(ce, CNI_ERR_IO, -EFBIG,
			                "network configuration on stdin is larger than %d bytes",
			                STDIN_MAX);
		}
	}
	*out = buf_steal(&b);
	return 0;
}

static void mac_str(const uint8_t m[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static cJSON *iface(cJSON *list, const char *name, const uint8_t mac[6], unsigned mtu,
                    const char *sandbox)
{
	cJSON *o = cJSON_CreateObject();
	char m[18];
	mac_str(mac, m);
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "mac", m);
	if (mtu)
		cJSON_AddNumberToObject(o, "mtu", mtu);
	if (sandbox)
		cJSON_AddStringToObject(o, "sandbox", sandbox);
	cJSON_AddItemToArray(list, o);
	return o;
}

/* An array member of r, made when missing or not an array. */
static cJSON *array_of(cJSON *r, const char *key)
{
	cJSON *a = cJSON_GetObjectItemCaseSensitive(r, key);
	if (cJSON_IsArray(a))
		return a;
	cJSON_DeleteItemFromObjectCaseSensitive(r, key);
	return cJSON_AddArrayToObject(r, key);
}

/*
 * The ADD result, in the shape of the version the runtime asked for. When a plugin ran
 * before us in the chain its result (prevResult) is extended, as the spec asks: our
 * interfaces go after its own, and our addresses point at them.
 */
static cJSON *add_result(const struct cni_conf *c, const struct cni_req *q,
                         const struct cni_attachment *at)
{
	bool pre1 = cni_version_cmp(c->version, "1.0.0") < 0;
	unsigned mtu = cni_version_cmp(c->version, "1.1.0") >= 0 ? c->mtu : 0;
	cJSON *r = c->prev_result ? cJSON_Duplicate(c->prev_result, 1) : cJSON_CreateObject();
	cJSON *ifs, *ips, *routes, *dns;
	char a[IPADDR_NET_STRLEN], g[IPADDR_STRLEN];
	int base;

	cJSON_DeleteItemFromObjectCaseSensitive(r, "cniVersion");
	cJSON_AddStringToObject(r, "cniVersion", c->version);
	ifs = array_of(r, "interfaces");
	base = cJSON_GetArraySize(ifs);
	iface(ifs, at->bridge, at->bridge_mac, mtu, NULL);
	iface(ifs, at->veth, at->veth_mac, mtu, NULL);
	iface(ifs, q->ifname, at->pod_mac, mtu, q->netns);
	ips = array_of(r, "ips");
	routes = array_of(r, "routes");
	for (size_t i = 0; i < c->n_ranges; i++) {
		const struct ipam_range *rg = &c->ranges[i];
		struct ipaddr_net addr = { at->addrs[i], rg->subnet.len };
		bool v4 = rg->subnet.addr.family == AF_INET;
		cJSON *ip = cJSON_CreateObject(), *rt = cJSON_CreateObject();
		if (pre1)
			cJSON_AddStringToObject(ip, "version", v4 ? "4" : "6");
		cJSON_AddNumberToObject(ip, "interface", base + 2);
		cJSON_AddStringToObject(ip, "address", ipaddr_net_str(&addr, a));
		cJSON_AddStringToObject(ip, "gateway", ipaddr_str(&rg->gateway, g));
		cJSON_AddItemToArray(ips, ip);
		cJSON_AddStringToObject(rt, "dst", v4 ? "0.0.0.0/0" : "::/0");
		cJSON_AddStringToObject(rt, "gw", g);
		cJSON_AddItemToArray(routes, rt);
	}
	dns = cJSON_GetObjectItemCaseSensitive(r, "dns");
	if (!cJSON_IsObject(dns) || !dns->child) {
		cJSON_DeleteItemFromObjectCaseSensitive(r, "dns");
		cJSON_AddItemToObject(r, "dns",
		                      c->dns ? cJSON_Duplicate(c->dns, 1) : cJSON_CreateObject());
	}
	return r;
}

/* Opens CNI_NETNS and makes sure it is a network namespace. */
static int open_netns(const struct cni_req *q, struct cni_error *ce)
{
	int fd = open(q->netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int rc = -errno;
		if (rc == -ENOENT)
			return cni_fail(ce, CNI_ERR_UNKNOWN_CONTAINER, rc,
			                "network namespace %s does not exist", q->netns);
		return cni_fail(ce, CNI_ERR_NETWORK, rc, "open network namespace %s: %s", q->netns,
		                strerror(-rc));
	}
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		close(fd);
		return cni_fail(ce, CNI_ERR_UNKNOWN_CONTAINER, -EINVAL,
		                "%s is not a network namespace", q->netns);
	}
	return fd;
}

static int open_ipam(const struct cni_conf *c, struct ipam **p, int code, struct cni_error *ce)
{
	struct ipam_opts o = { .dir = c->ipam_dir, .ranges = c->ranges, .n_ranges = c->n_ranges };
	struct err e = { 0 };
	int rc = ipam_open(p, &o, &e);
	return rc < 0 ? cni_fail(ce, code, rc, "%s", e.msg) : 0;
}

static int cmd_add(const struct cni_conf *c, const struct cni_req *q, cJSON **result,
                   struct cni_error *ce)
{
	struct cni_attachment at = { 0 };
	struct ipam *p = NULL;
	struct err e = { 0 };
	bool fresh = false;
	int rc, nsfd;

	if ((nsfd = open_netns(q, ce)) < 0)
		return nsfd;
	if ((rc = open_ipam(c, &p, CNI_ERR_NETWORK, ce)) < 0)
		goto out;
	if ((rc = ipam_alloc(p, q->container_id, q->ifname, at.addrs, &fresh, &e)) < 0) {
		cni_fail(ce, rc == -ENOSPC ? CNI_ERR_TRY_AGAIN : CNI_ERR_NETWORK, rc, "%s", e.msg);
		goto out;
	}
	if ((rc = cni_link_add(c, q, nsfd, &at, ce)) < 0) {
		/* The runtime will call DEL, but an address must not wait on that. One
		 * this attachment held before (ADD twice) stays: its pod still uses it. */
		if (fresh)
			ipam_release(p, q->container_id, q->ifname, NULL);
		goto out;
	}
	if ((rc = cni_hostport_add(c, q, at.addrs, ce)) < 0) {
		struct cni_error ignored = { 0 };
		cni_link_del(c, q, &ignored);
		if (fresh)
			ipam_release(p, q->container_id, q->ifname, NULL);
		goto out;
	}
	*result = add_result(c, q, &at);
out:
	ipam_close(p);
	close(nsfd);
	return rc;
}

static int cmd_del(const struct cni_conf *c, const struct cni_req *q, struct cni_error *ce)
{
	struct ipam *p = NULL;
	struct err e = { 0 };
	int rc;

	/* Without ADD's record of the hostPorts, the mappings the runtime passes again, with
	 * the pod's addresses, say which to remove. */
	struct ipaddr leased[IPAM_MAX_RANGES];
	bool known = false;
	if (c->n_ports && open_ipam(c, &p, CNI_ERR_NETWORK, ce) == 0) {
		known = ipam_lookup(p, q->container_id, q->ifname, leased, NULL) == 0;
		ipam_close(p);
		p = NULL;
	}
	if ((rc = cni_hostport_del(c, q, known ? leased : NULL, ce)) < 0)
		return rc;
	/* The interface goes first, so its address is free of it before anyone else can
	 * lease it. */
	if ((rc = cni_link_del(c, q, ce)) < 0)
		return rc;
	if ((rc = open_ipam(c, &p, CNI_ERR_NETWORK, ce)) < 0)
		return rc;
	if ((rc = ipam_release(p, q->container_id, q->ifname, &e)) < 0)
		cni_fail(ce, CNI_ERR_NETWORK, rc, "%s", e.msg);
	ipam_close(p);
	return rc;
}

/* The pod interface ADD reported, and the addresses it gave that interface. */
static int prev_attachment(const struct cni_conf *c, const struct cni_req *q,
                           struct ipaddr_net *addrs, size_t *n, const char **mac,
                           struct cni_error *ce)
{
	const cJSON *ifs = cJSON_GetObjectItemCaseSensitive(c->prev_result, "interfaces");
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(c->prev_result, "ips"), *it;
	int idx = -1, i = 0;

	*n = 0;
	*mac = NULL;
	cJSON_ArrayForEach(it, ifs)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
		const cJSON *sb = cJSON_GetObjectItemCaseSensitive(it, "sandbox");
		if (cJSON_IsString(name) && !strcmp(name->valuestring, q->ifname) &&
		    cJSON_IsString(sb) && sb->valuestring[0]) {
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(it, "mac");
			idx = i;
			*mac = cJSON_IsString(m) ? m->valuestring : NULL;
			break;
		}
		i++;
	}
	if (idx < 0)
		return cni_fail(ce, CNI_ERR_CONFIG, -EINVAL,
		                "prevResult lists no interface %s inside a sandbox", q->ifname);
	cJSON_ArrayForEach(it, ips)
	{
		const cJSON *ifi = cJSON_GetObjectItemCaseSensitive(it, "interface");
		const cJSON *addr = cJSON_GetObjectItemCaseSensitive(it, "address");
		if (!cJSON_IsNumber(ifi) || ifi->valueint != idx || !cJSON_IsString(addr) ||
		    *n == IPAM_MAX_RANGES)
			continue;
		if (ipaddr_net_parse(addr->valuestring, &addrs[*n], false) < 0)
			return cni_fail(
			    ce, CNI_ERR_CONFIG, -EINVAL,
			    "prevResult: '%.64s' is not an address with a prefix length",
			    addr->valuestring);
		(*n)++;
	}
	return 0;
}

static int cmd_check(const struct cni_conf *c, const struct cni_req *q, struct cni_error *ce)
{
	struct ipaddr_net prev[IPAM_MAX_RANGES];
	struct ipaddr leased[IPAM_MAX_RANGES];
	struct ipam *p = NULL;
	struct err e = { 0 };
	const char *mac;
	char s[IPADDR_NET_STRLEN], a[IPADDR_STRLEN];
	size_t n;
	int rc, nsfd = -1;

	if (!c->prev_result)
		return cni_fail(ce, CNI_ERR_CONFIG, -EINVAL,
		                "CHECK needs prevResult, the result of the attachment's ADD");
	if ((rc = prev_attachment(c, q, prev, &n, &mac, ce)) < 0)
		return rc;
	if ((rc = open_ipam(c, &p, CNI_ERR_NETWORK, ce)) < 0)
		return rc;
	rc = ipam_lookup(p, q->container_id, q->ifname, leased, &e);
	ipam_close(p);
	if (rc < 0)
		return cni_fail(ce, CNI_ERR_NETWORK, rc, "%s", e.msg);
	for (size_t i = 0; i < c->n_ranges; i++) {
		bool reported = false;
		if (!leased[i].family)
			return cni_fail(ce, CNI_ERR_CHECK, -ENOENT, "%s/%s holds no address in %s",
			                q->container_id, q->ifname,
			                ipaddr_net_str(&c->ranges[i].subnet, s));
		for (size_t j = 0; j < n; j++)
			reported |= ipaddr_equal(&prev[j].addr, &leased[i]);
		if (!reported)
			return cni_fail(ce, CNI_ERR_CHECK, -EINVAL,
			                "%s/%s holds %s, which prevResult does not list",
			                q->container_id, q->ifname, ipaddr_str(&leased[i], a));
	}
	if ((nsfd = open_netns(q, ce)) < 0)
		return nsfd;
	rc = cni_link_check(c, q, nsfd, leased, mac, ce);
	close(nsfd);
	if (rc == 0)
		rc = cni_hostport_check(c, q, leased, ce);
	return rc;
}

static int cmd_status(const struct cni_conf *c, struct cni_error *ce)
{
	uint64_t avail[IPAM_MAX_RANGES];
	struct ipam *p = NULL;
	struct err e = { 0 };
	char s[IPADDR_NET_STRLEN];
	int rc;

	if ((rc = open_ipam(c, &p, CNI_ERR_UNAVAILABLE, ce)) < 0)
		return rc;
	rc = ipam_available(p, avail, &e);
	ipam_close(p);
	if (rc < 0)
		return cni_fail(ce, CNI_ERR_UNAVAILABLE, rc, "%s", e.msg);
	for (size_t i = 0; i < c->n_ranges; i++) {
		if (avail[i] == 0)
			return cni_fail(ce, CNI_ERR_UNAVAILABLE, -ENOSPC,
			                "no free address left in %s",
			                ipaddr_net_str(&c->ranges[i].subnet, s));
	}
	return 0;
}

static int cmd_gc(const struct cni_conf *c, struct cni_error *ce)
{
	struct ipam_owner *keep;
	struct ipam *p = NULL;
	struct err e = { 0 };
	const cJSON *it;
	size_t n = 0, released = 0, deleted = 0, unmapped = 0;
	int rc, first = 0;

	if (!c->attachments)
		return cni_fail(ce, CNI_ERR_CONFIG, -EINVAL,
		                "GC needs cni.dev/valid-attachments (an empty list to remove all)");
	keep = xcalloc((size_t)cJSON_GetArraySize(c->attachments) + 1, sizeof(*keep));
	cJSON_ArrayForEach(it, c->attachments)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "containerID");
		const cJSON *ifn = cJSON_GetObjectItemCaseSensitive(it, "ifname");
		if (cJSON_IsString(id) && cJSON_IsString(ifn))
			keep[n++] = (struct ipam_owner){ id->valuestring, ifn->valuestring };
	}
	/* Links first, as DEL does; go on past failures and report the first. */
	if ((rc = cni_link_gc(c, keep, n, &deleted, ce)) < 0)
		first = rc;
	if ((rc = open_ipam(c, &p, CNI_ERR_NETWORK, ce)) == 0) {
		if ((rc = ipam_gc(p, keep, n, &released, &e)) < 0 && !first)
			first = cni_fail(ce, CNI_ERR_NETWORK, rc, "%s", e.msg);
		ipam_close(p);
	} else if (!first) {
		first = rc;
	}
	if ((rc = cni_hostport_gc(c, keep, n, &unmapped, ce)) < 0 && !first)
		first = rc;
	if (released || deleted || unmapped)
		log_info("GC of network %s: released %zu addresses, deleted %zu links, removed "
		         "the hostPorts of %zu",
		         c->name, released, deleted, unmapped);
	free(keep);
	return first;
}

/* ---- type "loopback": the CRI plugin's network for a pod's lo ---------------------------
 * containerd runs <bin dir>/loopback for every sandbox before the pod network. The same
 * program answers to that type, so a node needs no other CNI plugin: ADD sets lo up and
 * reports its addresses, CHECK finds it up, DEL leaves it (it goes with the namespace). */

struct lo_ips {
	cJSON *ips;
	bool pre1; /* results before 1.0.0 name each address's version */
};

static int on_lo_addr(const struct rtnl_addr *a, void *arg)
{
	struct lo_ips *l = arg;
	char buf[IPADDR_NET_STRLEN];
	if (a->index != 1)
		return 0;
	cJSON *ip = cJSON_CreateObject();
	if (l->pre1)
		cJSON_AddStringToObject(ip, "version", a->addr.addr.family == AF_INET ? "4" : "6");
	cJSON_AddNumberToObject(ip, "interface", 0);
	cJSON_AddStringToObject(ip, "address", ipaddr_net_str(&a->addr, buf));
	cJSON_AddItemToArray(l->ips, ip);
	return 0;
}

static int cmd_loopback(const char *version, const struct cni_req *q, cJSON **result,
                        struct cni_error *ce)
{
	static const uint8_t zero_mac[6];
	struct rtnl *pod = NULL;
	struct rtnl_link lo;
	struct err e = { 0 };
	int rc = 0, nsfd;

	/* DEL: lo goes with its namespace, which the runtime may have removed already. */
	if (q->cmd == CNI_STATUS || q->cmd == CNI_GC || (q->cmd == CNI_DEL && !q->netns))
		return 0;
	if ((nsfd = open_netns(q, ce)) < 0)
		return q->cmd == CNI_DEL ? 0 : nsfd;
	if (q->cmd == CNI_DEL)
		goto out;
	if ((rc = rtnl_open_netns(&pod, nsfd, &e)) < 0 ||
	    (rc = rtnl_link_get(pod, NULL, 1, &lo, &e)) < 0) {
		cni_fail(ce, CNI_ERR_NETWORK, rc, "loopback in %s: %s", q->netns, e.msg);
		goto out;
	}
	if (q->cmd == CNI_CHECK) {
		if (!(lo.flags & IFF_UP))
			rc = cni_fail(ce, CNI_ERR_CHECK, -ENETDOWN, "%s is down in %s", lo.name,
			              q->netns);
		goto out;
	}
	if (!(lo.flags & IFF_UP) && (rc = rtnl_link_set_up(pod, lo.index, &e)) < 0) {
		cni_fail(ce, CNI_ERR_NETWORK, rc, "set %s up in %s: %s", lo.name, q->netns, e.msg);
		goto out;
	}
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "cniVersion", version);
	iface(cJSON_AddArrayToObject(r, "interfaces"), lo.name, zero_mac, 0, q->netns);
	struct lo_ips l = { cJSON_AddArrayToObject(r, "ips"),
		            cni_version_cmp(version, "1.0.0") < 0 };
	if ((rc = rtnl_addr_dump(pod, AF_UNSPEC, on_lo_addr, &l, &e)) < 0) {
		cJSON_Delete(r);
		cni_fail(ce, CNI_ERR_NETWORK, rc, "addresses of %s in %s: %s", lo.name, q->netns,
		         e.msg);
		goto out;
	}
	cJSON_AddObjectToObject(r, "dns");
	*result = r;
out:
	rtnl_close(pod);
	close(nsfd);
	return rc;
}

/* The configuration's "type" and "cniVersion", read before the full parse, which is for
 * tug-cni's own type. */
static bool is_loopback(const char *in, char *version, size_t cap)
{
	cJSON *root = cJSON_Parse(in);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "type");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "cniVersion");
	bool yes = cJSON_IsString(t) && !strcmp(t->valuestring, "loopback");
	snprintf(version, cap, "%s", cJSON_IsString(v) ? v->valuestring : "1.0.0");
	cJSON_Delete(root);
	return yes;
}

static int cmd_version(const char *in)
{
	cJSON *req = in ? cJSON_Parse(in) : NULL, *r = cJSON_CreateObject(), *v;
	const cJSON *asked = cJSON_GetObjectItemCaseSensitive(req, "cniVersion");
	size_t n = 0;
	int rc;

	while (cni_versions[n])
		n++;
	cJSON_AddStringToObject(r, "cniVersion",
	                        cJSON_IsString(asked) ? asked->valuestring : cni_versions[n - 1]);
	v = cJSON_AddArrayToObject(r, "supportedVersions");
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(v, cJSON_CreateString(cni_versions[i]));
	rc = print_json(r);
	cJSON_Delete(r);
	cJSON_Delete(req);
	return rc < 0 ? 1 : 0;
}

/* Verbs newer than the version the configuration speaks are refused, as the spec's
 * version rules have it. */
static int verb_allowed(const struct cni_conf *c, const struct cni_req *q, struct cni_error *ce)
{
	const char *need = q->cmd == CNI_CHECK                        ? "0.4.0"
	                   : q->cmd == CNI_STATUS || q->cmd == CNI_GC ? "1.1.0"
	                                                              : NULL;
	if (need && cni_version_cmp(c->version, need) < 0)
		return cni_fail(
		    ce, CNI_ERR_VERSION, -ENOTSUP,
		    "CNI_COMMAND=%s needs cniVersion %s or later; the configuration says %s",
		    getenv("CNI_COMMAND"), need, c->version);
	return 0;
}

int cni_main(int argc, char **argv)
{
	struct cni_error ce = { 0 };
	struct cni_conf c = { 0 };
	struct cni_req q;
	cJSON *result = NULL;
	char *in = NULL;
	int rc;

	/* stderr goes to the runtime's log: warnings only, unless asked. */
	if (!getenv("TUG_CNI_DEBUG"))
		log_set_level(LOG_LVL_WARN);
	else
		log_set_level(LOG_LVL_DEBUG);
	if ((rc = cni_req_parse(&q, &ce)) < 0)
		goto fail;
	if ((rc = read_stdin(&in, &ce)) < 0)
		goto fail;
	if (q.cmd == CNI_VERSION) {
		rc = cmd_version(in);
		free(in);
		return rc;
	}
	char lo_version[16];
	if (is_loopback(in, lo_version, sizeof(lo_version))) {
		c.version = lo_version; /* for an error object */
		if ((rc = cmd_loopback(lo_version, &q, &result, &ce)) < 0)
			goto fail;
		goto done;
	}
	if ((rc = cni_conf_parse(in, &c, &ce)) < 0 || (rc = verb_allowed(&c, &q, &ce)) < 0)
		goto fail;
	switch (q.cmd) {
	case CNI_ADD:
		rc = cmd_add(&c, &q, &result, &ce);
		break;
	case CNI_DEL:
		rc = cmd_del(&c, &q, &ce);
		break;
	case CNI_CHECK:
		rc = cmd_check(&c, &q, &ce);
		break;
	case CNI_STATUS:
		rc = cmd_status(&c, &ce);
		break;
	case CNI_GC:
		rc = cmd_gc(&c, &ce);
		break;
	case CNI_VERSION:
		break;
	}
	if (rc < 0)
		goto fail;
done:
	if (result && print_json(result) < 0)
		rc = -EIO;
	cJSON_Delete(result);
	cni_conf_free(&c);
	free(in);
	return rc < 0 ? 1 : 0;
fail : {
	cJSON *err = cJSON_CreateObject();
	const char *v = c.version && ce.code != CNI_ERR_VERSION ? c.version : "1.1.0";
	if (!ce.code)
		cni_fail(&ce, CNI_ERR_NETWORK, rc, "%s", strerror(rc < 0 ? -rc : EIO));
	cJSON_AddStringToObject(err, "cniVersion", v);
	cJSON_AddNumberToObject(err, "code", ce.code);
	cJSON_AddStringToObject(err, "msg", code_msg(ce.code));
	cJSON_AddStringToObject(err, "details", ce.e.msg);
	print_json(err);
	log_debug("%s", ce.e.msg);
	cJSON_Delete(err);
}
	cJSON_Delete(result);
	cni_conf_free(&c);
	free(in);
	return 1;
}
