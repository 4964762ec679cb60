/* mirror: a read-only registry (distribution API v2: manifests and blobs) over core/http on
 * loopback, serving the images of tarballs to containerd as a mirror of their registries. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_TAG "mirror"
#include "core/http/http.h"
#include "core/log/log.h"
#include "cri/cri.h"

struct cri_mirror {
	struct http_server *srv;
	struct oci_store *store; /* borrowed */
	int port;
	uint64_t served, missed;
};

static void registry_error(struct http_req *r, int status, const char *code, const char *msg)
{
	struct buf b = { 0 };
	/* the registry's error body; msg holds only repository names and references,
	 * which oci_route_parse limited to safe characters */
	buf_printf(&b, "{\"errors\":[{\"code\":\"%s\",\"message\":\"%s\"}]}", code, msg);
	http_resp_header(r, "Content-Type", "application/json");
	http_resp_send_buf(r, status, &b);
}

static void send_blob(struct cri_mirror *m, struct http_req *r, const struct oci_blob *b,
                      const char *digest, const char *type)
{
	int fd = dup(b->fd);
	if (fd < 0) {
		registry_error(r, 500, "UNKNOWN", "out of file descriptors");
		return;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	http_resp_header(r, "Content-Type", type);
	if (digest)
		http_resp_header(r, "Docker-Content-Digest", digest);
	m->served++;
	http_resp_file(r, 200, fd, (uint64_t)b->off, b->len);
}

static void handle(struct http_req *r, void *arg)
{
	struct cri_mirror *m = arg;
	const char *method = http_req_method(r);
	struct oci_route rt = oci_route_parse(http_req_path(r));
	struct oci_blob b;
	char msg[512];

	http_resp_header(r, "Docker-Distribution-Api-Version", "registry/2.0");
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		registry_error(r, 405, "UNSUPPORTED", "this mirror is read-only");
		return;
	}
	switch (rt.kind) {
	case OCI_ROUTE_BASE:
		http_resp_header(r, "Content-Type", "application/json");
		http_resp_send(r, 200, "{}", 2);
		return;
	case OCI_ROUTE_MANIFEST: {
		/* containerd names the registry it mirrors in ?ns=; without it the client
		 * asked us as a registry of our own, and docker.io is the default host */
		const char *host = http_req_query(r, "ns");
		if (!host || !host[0])
			host = "docker.io";
		if (oci_store_manifest(m->store, host, rt.repo, rt.ref, &b) == 0) {
			send_blob(m, r, &b, b.digest ? b.digest : rt.ref, b.media_type);
			return;
		}
		m->missed++;
		snprintf(msg, sizeof(msg), "%s/%s:%s is not in the images dir", host, rt.repo,
		         rt.ref);
		registry_error(r, 404, "MANIFEST_UNKNOWN", msg);
		return;
	}
	case OCI_ROUTE_BLOB:
		if (oci_store_blob(m->store, rt.ref, &b) == 0) {
			send_blob(m, r, &b, rt.ref, "application/octet-stream");
			return;
		}
		m->missed++;
		snprintf(msg, sizeof(msg), "blob %s is not in the images dir", rt.ref);
		registry_error(r, 404, "BLOB_UNKNOWN", msg);
		return;
	default:
		registry_error(r, 404, "NAME_INVALID", "not a registry path");
		return;
	}
}

int cri_mirror_start(struct loop *l, struct oci_store *store, int port, struct cri_mirror **out,
                     struct err *e)
{
	struct cri_mirror *m = xcalloc(1, sizeof(*m));
	struct http_server_opts o = { .handler = handle, .arg = m };
	int r;

	m->store = store;
	if ((r = http_server_new(l, &o, &m->srv)) < 0) {
		free(m);
		return err_set(e, r, "registry mirror: %s", strerror(-r));
	}
	/* loopback only: containerd on this node is the one client */
	if ((r = http_server_listen(m->srv, "127.0.0.1", port, NULL, &m->port, e)) < 0) {
		http_server_free(m->srv);
		free(m);
		return err_wrap(e, "registry mirror");
	}
	*out = m;
	return 0;
}

void cri_mirror_stop(struct cri_mirror *m)
{
	if (!m)
		return;
	http_server_free(m->srv);
	free(m);
}

int cri_mirror_port(const struct cri_mirror *m)
{
	return m->port;
}

uint64_t cri_mirror_served(const struct cri_mirror *m)
{
	return m->served;
}

int cri_mirror_write_hosts(const char *dir, const struct oci_store *store, int port, struct err *e)
{
	int r = 0;
	for (size_t i = 0; i < oci_store_nimages(store) && r == 0; i++) {
		const char *ref = oci_store_image(store, i);
		const char *slash = strchr(ref, '/');
		if (!slash)
			continue;
		_cleanup_free_ char *host = xstrndup(ref, (size_t)(slash - ref));
		_cleanup_free_ char *hdir = xasprintf("%s/%s", dir, host);
		_cleanup_free_ char *file = xasprintf("%s/hosts.toml", hdir);
		/* the registry itself stays the fallback (server is not set), so images that
		 * are not in the tarballs still pull on a connected board */
		_cleanup_free_ char *text = xasprintf(
		    "# Written by tug at every start: its registry mirror of the images dir.\n"
		    "[host.\"http://127.0.0.1:%d\"]\n"
		    "  capabilities = [\"pull\", \"resolve\"]\n",
		    port);
		if ((r = mkdir_p(hdir, 0755)) < 0 ||
		    (r = write_file_atomic(file, text, strlen(text), 0644)) < 0)
			r = err_set(e, r, "write %s: %s", file, strerror(-r));
	}
	return r;
}
