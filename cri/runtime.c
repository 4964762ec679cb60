/* runtime: the node's container runtime as one component: our own supervised containerd
 * (or the one --container-runtime-endpoint names) and the CRI client to it. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_TAG "cri"
#include "core/log/log.h"
#include "cri/cri.h"

#define VERSION_RETRY_MS 2000
#define VERSION_TIMEOUT_MS 10000
#define IMPORT_ATTEMPTS 5
#define IMPORT_RETRY_MS 2000

struct cri_runtime {
	struct loop *loop;
	struct cri_containerd *cd;
	struct cri *client;
	char *endpoint, *data_dir;
	char **images_dirs; /* NULL-terminated */
	bool answered, ready;
	struct loop_timer retry;
	/* the images dirs' tarballs: imported at start, one archive at a time, and served
	 * by the registry mirror for as long as we run */
	struct oci_store *images;
	struct cri_mirror *mirror;
	unsigned attempts; /* of the current archive */
	struct loop_timer import_retry;
	size_t next_archive;
	struct cri_import_stats total;
};

static void ask_version(struct cri_runtime *rt);
static void import_next(struct cri_runtime *rt);

static void on_imported(int code, const char *msg, const struct cri_import_stats *st, void *arg)
{
	struct cri_runtime *rt = arg;
	/* containerd restarting under the import (it is supervised): try again once it is
	 * back, as the pause image must get in */
	if ((code == GRPC_UNAVAILABLE || code == GRPC_DEADLINE_EXCEEDED) &&
	    ++rt->attempts < IMPORT_ATTEMPTS) {
		log_warn("%s; retrying", msg);
		loop_timer_arm(rt->loop, &rt->import_retry, IMPORT_RETRY_MS);
		return;
	}
	rt->attempts = 0;
	if (code != GRPC_OK)
		log_warn("%s", msg);
	rt->total.images += st->images;
	rt->total.blobs_written += st->blobs_written;
	rt->total.blobs_present += st->blobs_present;
	rt->total.bytes_written += st->bytes_written;
	rt->next_archive++;
	import_next(rt);
}

static void import_next(struct cri_runtime *rt)
{
	struct oci_archive *a = oci_store_archive(rt->images, rt->next_archive);
	if (a && cri_import(cri_chan(rt->client), a, CRI_NAMESPACE, on_imported, rt) == 0)
		return;
	log_info("images ready: %u imported from %zu tarballs (%u blobs, %llu KiB written; %u "
	         "already there)",
	         rt->total.images, oci_store_narchives(rt->images), rt->total.blobs_written,
	         (unsigned long long)(rt->total.bytes_written >> 10), rt->total.blobs_present);
	rt->ready = true;
}

static void on_import_retry(struct loop *l, struct loop_timer *t)
{
	import_next(container_of(t, struct cri_runtime, import_retry));
}

/* Airgap images: every tarball of the images dirs goes into containerd at start. */
static void import_images(struct cri_runtime *rt)
{
	rt->next_archive = 0;
	import_next(rt);
}

static void load_images(struct cri_runtime *rt)
{
	rt->images = oci_store_new();
	for (char **d = rt->images_dirs; *d; d++) {
		struct err e = { 0 };
		int n = oci_store_load_dir(rt->images, *d, &e);
		if (n < 0 || e.msg[0])
			log_warn("images in %s: %s", *d, e.msg);
		if (n > 0)
			log_debug("%d image tarballs in %s", n, *d);
	}
}

/* The mirror and the hosts.toml files naming it; without them the node still works
 * (the images were imported), so failures only warn. Returns the hosts dir or NULL. */
static char *start_mirror(struct cri_runtime *rt, const char *data_dir)
{
	struct err e = { 0 };
	char *dir = xasprintf("%s/containerd/certs.d", data_dir);
	if (cri_mirror_start(rt->loop, rt->images, 0, &rt->mirror, &e) < 0 ||
	    cri_mirror_write_hosts(dir, rt->images, cri_mirror_port(rt->mirror), &e) < 0) {
		log_warn("%s; images are imported but not served as a registry mirror", e.msg);
		cri_mirror_stop(rt->mirror);
		rt->mirror = NULL;
		free(dir);
		return NULL;
	}
	log_info("registry mirror of %zu images on 127.0.0.1:%d", oci_store_nimages(rt->images),
	         cri_mirror_port(rt->mirror));
	return dir;
}

static void on_version(int code, const char *msg, const Runtime__V1__VersionResponse *resp,
                       void *arg)
{
	struct cri_runtime *rt = arg;
	if (code != GRPC_OK) {
		log_warn("runtime at %s not answering yet: %s", rt->endpoint, msg);
		loop_timer_arm(rt->loop, &rt->retry, VERSION_RETRY_MS);
		return;
	}
	log_info("runtime %s %s (CRI %s) ready at %s", resp->runtime_name, resp->runtime_version,
	         resp->runtime_api_version, rt->endpoint);
	if (!rt->answered) {
		rt->answered = true;
		import_images(rt);
	}
}

static void ask_version(struct cri_runtime *rt)
{
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	req.version = "0.1.0";
	cri_version(rt->client, &req, VERSION_TIMEOUT_MS, GRPC_WAIT_FOR_READY, on_version, rt);
}

static void on_retry(struct loop *l, struct loop_timer *t)
{
	ask_version(container_of(t, struct cri_runtime, retry));
}

/* Replaces a symlink at path with one to target. */
static int relink(const char *target, const char *path)
{
	char cur[PATH_MAX];
	ssize_t n = readlink(path, cur, sizeof(cur) - 1);
	if (n >= 0) {
		cur[n] = 0;
		if (!strcmp(cur, target))
			return 0;
	}
	unlink(path);
	return symlink(target, path) < 0 ? -errno : 0;
}

/*
 * containerd runs CNI plugins from one directory: tug-cni is the small executable installed
 * beside this one, or this binary (multi-call by argv[0]). The CRI plugin also sets up each
 * pod's lo with a plugin named "loopback": tug-cni answers to that type too.
 */
static int prepare_cni(const char *data_dir, struct err *e)
{
	_cleanup_free_ char *bin = xasprintf("%s/cni/bin", data_dir);
	_cleanup_free_ char *conf = xasprintf("%s/cni/net.d", data_dir);
	_cleanup_free_ char *tug_cni = xasprintf("%s/tug-cni", bin);
	_cleanup_free_ char *lo = xasprintf("%s/loopback", bin);
	char self[PATH_MAX];
	int r;

	if ((r = mkdir_p(bin, 0755)) < 0 || (r = mkdir_p(conf, 0755)) < 0)
		return err_set(e, r, "create %s and %s: %s", bin, conf, strerror(-r));
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return err_set(e, -errno, "find tug's own binary: %s", strerror(errno));
	self[n] = 0;
	/* The small tug-cni built and installed beside tug; without it, tug itself, which
	 * runs the plugin when called by that name. */
	_cleanup_free_ char *beside =
	    xasprintf("%.*s/tug-cni", (int)(strrchr(self, '/') - self), self);
	const char *plugin = access(beside, X_OK) == 0 ? beside : self;
	if ((r = relink(plugin, tug_cni)) < 0)
		return err_set(e, r, "link %s: %s", tug_cni, strerror(-r));
	if ((r = relink(plugin, lo)) < 0)
		return err_set(e, r, "link %s: %s", lo, strerror(-r));
	return 0;
}

#ifndef TUG_IMAGES_DIR
#define TUG_IMAGES_DIR "/usr/local/lib/tug/images"
#endif

static void add_dir(struct cri_runtime *rt, size_t *n, char *dir)
{
	for (size_t i = 0; i < *n; i++) {
		if (!strcmp(rt->images_dirs[i], dir)) {
			free(dir);
			return;
		}
	}
	rt->images_dirs = xrealloc(rt->images_dirs, (*n + 2) * sizeof(char *));
	rt->images_dirs[(*n)++] = dir;
	rt->images_dirs[*n] = NULL;
}

/* Installed first, then the build tree, then the data dir: a later tarball naming the same
 * image wins, so an operator's airgap tarball overrides what tug ships. */
static void images_dirs(struct cri_runtime *rt, const struct cri_runtime_opts *o)
{
	size_t n = 0;
	char self[PATH_MAX];
	add_dir(rt, &n, xstrdup(TUG_IMAGES_DIR));
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len > 0) {
		self[len] = 0;
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			add_dir(rt, &n, xasprintf("%s/images", self));
		}
	}
	for (const char *const *d = o->images_dirs; d && *d; d++)
		add_dir(rt, &n, xstrdup(*d));
	add_dir(rt, &n, xasprintf("%s/images", o->data_dir));
}

int cri_runtime_start(struct loop *l, const struct cri_runtime_opts *o, struct cri_runtime **out,
                      struct err *e)
{
	struct cri_runtime *rt = xcalloc(1, sizeof(*rt));
	int r;

	rt->loop = l;
	loop_timer_init(&rt->import_retry, on_import_retry);
	images_dirs(rt, o);
	load_images(rt);
	loop_timer_init(&rt->retry, on_retry);
	if (o->endpoint && o->endpoint[0]) {
		rt->endpoint = xstrdup(o->endpoint);
	} else {
		_cleanup_free_ char *hosts = start_mirror(rt, o->data_dir);
		struct cri_containerd_opts co = { .data_dir = o->data_dir,
			                          .containerd = o->containerd,
			                          .registry_config_path = hosts };
		if ((r = prepare_cni(o->data_dir, e)) < 0 ||
		    (r = cri_containerd_start(l, &co, &rt->cd, e)) < 0)
			goto fail;
		rt->endpoint = xstrdup(cri_containerd_endpoint(rt->cd));
	}
	if ((r = cri_new(l, rt->endpoint, &rt->client, e)) < 0)
		goto fail;
	ask_version(rt);
	*out = rt;
	return 0;
fail:
	cri_runtime_stop(rt);
	return r;
}

void cri_runtime_stop(struct cri_runtime *rt)
{
	if (!rt)
		return;
	loop_timer_disarm(rt->loop, &rt->retry);
	loop_timer_disarm(rt->loop, &rt->import_retry);
	/* the client first: its calls end (CANCELLED) before their runtime goes away */
	cri_free(rt->client);
	cri_containerd_stop(rt->cd);
	cri_mirror_stop(rt->mirror);
	oci_store_free(rt->images);
	for (char **d = rt->images_dirs; d && *d; d++)
		free(*d);
	free(rt->images_dirs);
	free(rt->endpoint);
	free(rt);
}

struct cri *cri_runtime_client(struct cri_runtime *rt)
{
	return rt->client;
}

bool cri_runtime_ready(const struct cri_runtime *rt)
{
	return rt->ready;
}
