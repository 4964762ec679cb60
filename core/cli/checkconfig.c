/* checkconfig: `tug check-config` reports whether this kernel can run a node, as k3s
 * check-config does. It reads /proc and /sys, and probes veth, bridge and nf_tables for
 * real inside a throwaway network namespace (so nothing on the host changes). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/cli/cli.h"
#include "core/util/util.h"

enum level { REQUIRED, RECOMMENDED, OPTIONAL };

struct report {
	FILE *out;
	bool color;
	int missing_required, missing_other;
};

static void result(struct report *r, enum level lvl, const char *name, bool ok, const char *detail)
{
	const char *word = ok ? "enabled" : (lvl == REQUIRED ? "missing" : "missing (optional)");
	const char *col = ok ? "\033[32m" : (lvl == REQUIRED ? "\033[31m" : "\033[33m");
	fprintf(r->out, "- %s: %s%s%s%s%s\n", name, r->color ? col : "", word,
	        r->color ? "\033[0m" : "", detail && *detail ? " " : "", detail ? detail : "");
	if (!ok) {
		if (lvl == REQUIRED)
			r->missing_required++;
		else
			r->missing_other++;
	}
}

static bool file_has_word(const char *path, const char *word)
{
	char *text = NULL;
	bool found = false;
	if (read_file(path, &text, NULL, 1 << 20) < 0)
		return false;
	size_t n = strlen(word);
	for (char *p = text; (p = strstr(p, word)); p += n) {
		bool start = p == text || p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n';
		bool end = p[n] == '\0' || p[n] == ' ' || p[n] == '\t' || p[n] == '\n';
		if (start && end) {
			found = true;
			break;
		}
	}
	free(text);
	return found;
}

static bool path_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

/* A module on disk for the running kernel (it would load on demand). */
static bool module_available(const char *relpath)
{
	struct utsname u;
	char p[512];
	static const char *const ext[] = { ".ko", ".ko.xz", ".ko.zst", ".ko.gz" };
	if (uname(&u) < 0)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(ext); i++) {
		snprintf(p, sizeof(p), "/lib/modules/%s/kernel/%s%s", u.release, relpath, ext[i]);
		if (path_exists(p))
			return true;
	}
	return false;
}

/* --- cgroups ---------------------------------------------------------------- */

static void check_cgroups(struct report *r)
{
	static const struct {
		const char *name;
		enum level lvl;
		bool v1_only;
	} ctl[] = {
		{ "cpu", REQUIRED, false },       { "memory", REQUIRED, false },
		{ "pids", REQUIRED, false },      { "cpuset", RECOMMENDED, false },
		{ "cpuacct", RECOMMENDED, true }, { "devices", RECOMMENDED, true },
		{ "freezer", OPTIONAL, true },    { "hugetlb", OPTIONAL, false },
		{ "io", OPTIONAL, false },
	};
	char *v2 = NULL, *v1 = NULL;
	bool is_v2 = read_file("/sys/fs/cgroup/cgroup.controllers", &v2, NULL, 65536) == 0;

	fprintf(r->out, "\nCgroups (%s):\n", is_v2 ? "v2, unified" : "v1");
	if (!is_v2 && read_file("/proc/cgroups", &v1, NULL, 65536) < 0) {
		result(r, REQUIRED, "cgroups", false, "(no /proc/cgroups)");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ctl); i++) {
		bool ok = false;
		char detail[160] = "";
		if (is_v2) {
			if (ctl[i].v1_only)
				continue;
			ok = file_has_word("/sys/fs/cgroup/cgroup.controllers", ctl[i].name);
		} else {
			/* subsys_name hierarchy num_cgroups enabled */
			char *line = v1, *next;
			for (; line && *line; line = next) {
				next = strchr(line, '\n');
				if (next)
					*next++ = '\0';
				char name[64];
				int hier, num, enabled;
				if (sscanf(line, "%63s %d %d %d", name, &hier, &num, &enabled) ==
				        4 &&
				    !strcmp(name, ctl[i].name)) {
					ok = enabled == 1;
					if (!ok)
						snprintf(detail, sizeof(detail),
						         "(disabled at boot)");
				}
				if (next)
					next[-1] = '\n';
			}
		}
		if (!ok && !strcmp(ctl[i].name, "memory"))
			snprintf(detail, sizeof(detail),
			         "(on a Raspberry Pi add 'cgroup_memory=1 cgroup_enable=memory' "
			         "to cmdline.txt)");
		result(r, ctl[i].lvl, ctl[i].name, ok, detail);
	}
	free(v1);
	free(v2);
}

/* --- netlink probes, run in a child inside a new network namespace --------------- */

static int nl_talk(struct mnl_socket *nl, char *buf, size_t len, unsigned seq)
{
	char rbuf[8192];
	if (mnl_socket_sendto(nl, buf, len) < 0)
		return -errno;
	for (;;) {
		int n = (int)mnl_socket_recvfrom(nl, rbuf, sizeof(rbuf));
		if (n < 0)
			return -errno;
		int rc = mnl_cb_run(rbuf, (size_t)n, seq, mnl_socket_get_portid(nl), NULL, NULL);
		if (rc <= MNL_CB_STOP)
			return rc < 0 ? -errno : 0;
	}
}

static int probe_link(const char *kind, const char *name)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	char buf[8192];
	int rc;

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
	nlh->nlmsg_seq = 1;
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	if (!strcmp(kind, "veth")) {
		struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
		struct nlattr *peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
		struct ifinfomsg *pm = mnl_nlmsg_put_extra_header(nlh, sizeof(*pm));
		pm->ifi_family = AF_UNSPEC;
		mnl_attr_put_strz(nlh, IFLA_IFNAME, "tugprobe1");
		mnl_attr_nest_end(nlh, peer);
		mnl_attr_nest_end(nlh, data);
	}
	mnl_attr_nest_end(nlh, li);
	rc = nl_talk(nl, buf, nlh->nlmsg_len, 1);
	mnl_socket_close(nl);
	return rc;
}

static struct nlmsghdr *nfnl_put(char *buf, uint16_t type, uint16_t flags, unsigned seq,
                                 uint16_t res_id)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(res_id);
	return nlh;
}

static int probe_nftables(void)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	char buf[8192];
	size_t len = 0;
	int rc;

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	struct nlmsghdr *b = nfnl_put(buf, NFNL_MSG_BATCH_BEGIN, 0, 1, NFNL_SUBSYS_NFTABLES);
	len += b->nlmsg_len;
	struct nlmsghdr *t = nfnl_put(buf + len, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE,
	                              NLM_F_CREATE | NLM_F_ACK, 2, 0);
	mnl_attr_put_strz(t, NFTA_TABLE_NAME, "tugprobe");
	len += t->nlmsg_len;
	struct nlmsghdr *e = nfnl_put(buf + len, NFNL_MSG_BATCH_END, 0, 3, NFNL_SUBSYS_NFTABLES);
	len += e->nlmsg_len;
	rc = nl_talk(nl, buf, len, 2);
	mnl_socket_close(nl);
	return rc;
}

enum { P_NETNS = 1, P_VETH = 2, P_BRIDGE = 4, P_NFT = 8, P_NOPERM = 16 };

static int run_probes(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int res = 0;
		if (unshare(CLONE_NEWNET) < 0)
			_exit(errno == EPERM ? P_NOPERM : 0);
		res |= P_NETNS;
		if (probe_link("veth", "tugprobe0") == 0)
			res |= P_VETH;
		if (probe_link("bridge", "tugprobe2") == 0)
			res |= P_BRIDGE;
		if (probe_nftables() == 0)
			res |= P_NFT;
		_exit(res);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int cli_check_config(int argc, char **argv)
{
	struct report r = { .out = stdout, .color = isatty(STDOUT_FILENO) };
	struct utsname u;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf(
			    "Usage: tug check-config [--no-color]\n\nChecks the running kernel for "
			    "what a node needs; exits 1 when a required feature is missing.\n");
			return 0;
		}
		if (!strcmp(argv[i], "--no-color")) {
			r.color = false;
			continue;
		}
		fprintf(stderr, "tug check-config: unknown argument '%s'\n", argv[i]);
		return 2;
	}
	uname(&u);
	fprintf(r.out, "Kernel %s %s\n\nNamespaces:\n", u.release, u.machine);
	static const struct {
		const char *ns;
		enum level lvl;
	} nss[] = { { "net", REQUIRED }, { "pid", REQUIRED }, { "ipc", REQUIRED },
		    { "uts", REQUIRED }, { "mnt", REQUIRED }, { "cgroup", RECOMMENDED },
		    { "user", OPTIONAL } };
	for (size_t i = 0; i < ARRAY_SIZE(nss); i++) {
		char p[64];
		snprintf(p, sizeof(p), "/proc/self/ns/%s", nss[i].ns);
		char name[64];
		snprintf(name, sizeof(name), "%s namespace", nss[i].ns);
		result(&r, nss[i].lvl, name, path_exists(p), NULL);
	}
	check_cgroups(&r);

	fprintf(r.out, "\nFilesystems:\n");
	bool overlay = file_has_word("/proc/filesystems", "overlay");
	result(&r, REQUIRED, "overlay", overlay || module_available("fs/overlayfs/overlay"),
	       overlay ? NULL : "(as a module)");
	result(&r, REQUIRED, "tmpfs", file_has_word("/proc/filesystems", "tmpfs"), NULL);

	fprintf(r.out, "\nNetworking:\n");
	int p = run_probes();
	if (p < 0 || (p & P_NOPERM)) {
		/* Without root we can only look for modules and traces in /sys. */
		fprintf(r.out, "  (run as root to test veth, bridge and nf_tables for real)\n");
		result(&r, REQUIRED, "veth",
		       path_exists("/sys/module/veth") || module_available("drivers/net/veth"),
		       NULL);
		result(&r, REQUIRED, "bridge",
		       path_exists("/sys/module/bridge") || module_available("net/bridge/bridge"),
		       NULL);
		result(&r, REQUIRED, "nf_tables",
		       path_exists("/sys/module/nf_tables") ||
		           module_available("net/netfilter/nf_tables"),
		       NULL);
	} else {
		result(&r, REQUIRED, "network namespaces (unshare)", p & P_NETNS, NULL);
		result(&r, REQUIRED, "veth", p & P_VETH, "(created a pair in a test namespace)");
		result(&r, REQUIRED, "bridge", p & P_BRIDGE, "(created one in a test namespace)");
		result(&r, REQUIRED, "nf_tables", p & P_NFT,
		       "(created a table in a test namespace)");
	}
	result(&r, RECOMMENDED, "br_netfilter",
	       path_exists("/proc/sys/net/bridge/bridge-nf-call-iptables") ||
	           module_available("net/bridge/br_netfilter"),
	       NULL);
	result(&r, OPTIONAL, "vxlan",
	       path_exists("/sys/module/vxlan") || module_available("drivers/net/vxlan"), NULL);

	fprintf(r.out, "\nOther:\n");
	result(&r, RECOMMENDED, "seccomp", file_has_word("/proc/self/status", "Seccomp:"), NULL);

	fprintf(r.out, "\n%s: %d required feature(s) missing, %d optional or recommended missing\n",
	        r.missing_required ? "FAIL" : "OK", r.missing_required, r.missing_other);
	return r.missing_required ? 1 : 0;
}
