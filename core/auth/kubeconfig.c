/* kubeconfig: the names the serving certificate covers and the admin kubeconfig kubectl reads. */
#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/base64.h>

#include "core/auth/auth.h"

/* The network address of a CIDR plus one: where the kubernetes Service lives. */
static int first_service_ip(const char *cidr, char *out, size_t n)
{
	char net[INET6_ADDRSTRLEN + 8];
	unsigned char a[16];
	size_t len = strcspn(cidr, ",/"); /* dual-stack lists: the first family */

	if (len >= sizeof(net))
		return -EINVAL;
	memcpy(net, cidr, len);
	net[len] = '\0';
	int fam = strchr(net, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(fam, net, a) != 1)
		return -EINVAL;
	size_t alen = fam == AF_INET ? 4 : 16;
	/* Add one with carry. */
	for (size_t i = alen; i-- > 0;)
		if (++a[i] != 0)
			break;
	return inet_ntop(fam, a, out, (socklen_t)n) ? 0 : -EINVAL;
}

static void add_lower(struct auth_names *out, const char *s)
{
	char *l = xstrdup(s);
	for (char *p = l; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	auth_names_add(out, l);
	free(l);
}

/* Every address of this host a client could use: not loopback, not IPv6 link-local. */
static void host_addresses(struct auth_names *out)
{
	struct ifaddrs *ifs = NULL;
	if (getifaddrs(&ifs) < 0)
		return;
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		char ip[INET6_ADDRSTRLEN];
		if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			const struct sockaddr_in *a = (const void *)i->ifa_addr;
			inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct sockaddr_in6 *a = (const void *)i->ifa_addr;
			if (IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr))
				continue;
			inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		} else {
			continue;
		}
		auth_names_add(out, ip);
	}
	freeifaddrs(ifs);
}

static bool is_wildcard(const char *addr)
{
	return !addr || !*addr || !strcmp(addr, "0.0.0.0") || !strcmp(addr, "::");
}

int auth_serving_sans(const struct auth_san_opts *o, struct auth_names *out, struct err *e)
{
	const char *domain =
	    o->cluster_domain && *o->cluster_domain ? o->cluster_domain : "cluster.local";
	char host[256], svc[INET6_ADDRSTRLEN];

	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		if (*host)
			add_lower(out, host);
	}
	if (o->node_name && *o->node_name)
		add_lower(out, o->node_name);
	add_lower(out, "localhost");
	auth_names_add(out, "127.0.0.1");
	auth_names_add(out, "::1");
	if (o->n_node_ips)
		for (size_t i = 0; i < o->n_node_ips; i++)
			auth_names_add(out, o->node_ips[i]);
	else
		host_addresses(out);
	if (!is_wildcard(o->bind_address))
		auth_names_add(out, o->bind_address);
	if (o->service_cidr && *o->service_cidr) {
		if (first_service_ip(o->service_cidr, svc, sizeof(svc)) < 0)
			return err_set(e, -EINVAL, "service CIDR %s: not a CIDR", o->service_cidr);
		auth_names_add(out, svc);
	}
	auth_names_add(out, "kubernetes");
	auth_names_add(out, "kubernetes.default");
	auth_names_add(out, "kubernetes.default.svc");
	char *fq = xasprintf("kubernetes.default.svc.%s", domain);
	auth_names_add(out, fq);
	free(fq);
	for (size_t i = 0; i < o->nextra; i++)
		if (o->extra[i] && *o->extra[i])
			add_lower(out, o->extra[i]);
	return 0;
}

char *auth_local_server_url(const char *bind_address, int port)
{
	if (is_wildcard(bind_address) || !strcmp(bind_address, "127.0.0.1") ||
	    !strcmp(bind_address, "::1"))
		return xasprintf("https://127.0.0.1:%d", port);
	if (strchr(bind_address, ':'))
		return xasprintf("https://[%s]:%d", bind_address, port);
	return xasprintf("https://%s:%d", bind_address, port);
}

static char *b64(const char *s)
{
	size_t n = strlen(s), olen = 0;
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	mbedtls_base64_encode((unsigned char *)out, 4 * ((n + 2) / 3) + 1, &olen,
	                      (const unsigned char *)s, n);
	out[olen] = '\0';
	return out;
}

char *auth_cluster_kubeconfig(const char *server_url, const char *ca_pem)
{
	_cleanup_free_ char *ca = b64(ca_pem);
	/* What kubeadm and k3s put in kube-public/cluster-info: where the server is and which
	 * CA to trust, no credentials. */
	return xasprintf("apiVersion: v1\n"
	                 "clusters:\n"
	                 "- cluster:\n"
	                 "    certificate-authority-data: %s\n"
	                 "    server: %s\n"
	                 "  name: \"\"\n"
	                 "contexts: null\n"
	                 "current-context: \"\"\n"
	                 "kind: Config\n"
	                 "preferences: {}\n"
	                 "users: null\n",
	                 ca, server_url);
}

int auth_write_kubeconfig(const char *path, unsigned mode, const char *server_url,
                          const char *ca_pem, const char *cert_pem, const char *key_pem,
                          struct err *e)
{
	_cleanup_free_ char *ca = b64(ca_pem), *crt = b64(cert_pem), *key = b64(key_pem);
	_cleanup_free_ char *dir = xstrdup(path);
	struct buf b = { 0 };
	int rc;

	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if ((rc = mkdir_p(dir, 0755)) < 0)
			return err_set(e, rc, "create %s: %s", dir, strerror(-rc));
	}
	/* The layout kubectl config view prints, so a diff against other clusters reads well. */
	buf_printf(&b,
	           "apiVersion: v1\n"
	           "clusters:\n"
	           "- cluster:\n"
	           "    certificate-authority-data: %s\n"
	           "    server: %s\n"
	           "  name: default\n"
	           "contexts:\n"
	           "- context:\n"
	           "    cluster: default\n"
	           "    user: default\n"
	           "  name: default\n"
	           "current-context: default\n"
	           "kind: Config\n"
	           "preferences: {}\n"
	           "users:\n"
	           "- name: default\n"
	           "  user:\n"
	           "    client-certificate-data: %s\n"
	           "    client-key-data: %s\n",
	           ca, server_url, crt, key);
	rc = write_file_atomic(path, b.data, b.len, mode);
	explicit_bzero(b.data, b.len);
	explicit_bzero(key, strlen(key));
	buf_free(&b);
	if (rc < 0)
		return err_set(e, rc, "write kubeconfig %s: %s", path, strerror(-rc));
	/* write_file_atomic's mode is filtered by the umask; the user asked for this one. */
	if (chmod(path, mode) < 0)
		return err_set(e, -errno, "chmod %s: %s", path, strerror(errno));
	return 0;
}
