/* oci: OCI image-layout tarballs: writing them (tug's own pause image, test images) and
 * reading them (airgap images). Plain tar, JSON and sha256; no other tool needed. */
#ifndef TUG_OCI_H
#define TUG_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/util/util.h"

struct oci_file {
	const char *src;  /* a file on this machine; NULL for a symlink */
	const char *dest; /* path in the image, without the leading slash: "bin/busybox" */
	const char *link; /* symlink target when src is NULL */
	unsigned mode;    /* 0: from src (files), 0777 (links) */
};

struct oci_image {
	const char *name;              /* "docker.io/tug/pause:1" */
	const char *arch;              /* GOARCH: amd64, arm64, arm */
	const char *variant;           /* "v7" for arm, or NULL */
	const char *const *entrypoint; /* NULL-terminated, or NULL */
	const char *const *cmd;
	const char *const *env;
	const char *workdir;
	const struct oci_file *files;
	size_t nfiles;
};

/*
 * Writes an OCI image-layout tarball (oci-layout, index.json, blobs/sha256/...) with one
 * uncompressed layer holding files, the image config and the manifest. The index names
 * the image by io.containerd.image.name and org.opencontainers.image.ref.name.
 */
int oci_write(const struct oci_image *img, const char *out_path, struct err *e);

/* Maps a compiler target triple to the OCI architecture and variant ("aarch64-linux-gnu"
 * -> arm64). Returns false for triples it does not know. */
bool oci_arch(const char *triple, const char **arch, const char **variant);

/* --- reading tarballs and serving their blobs (a registry mirror for containerd) ---------- */

/*
 * An OCI image-layout tarball opened for reading: its tar entries are indexed (nothing is
 * loaded), index.json is parsed, and every image it names is known by its full reference.
 * Malformed tarballs (bad checksums, truncated entries, entries past the end, bad JSON,
 * missing blobs) are refused with a message saying what and where.
 */
struct oci_archive;

int oci_archive_open(const char *path, struct oci_archive **out, struct err *e);
void oci_archive_close(struct oci_archive *a);
const char *oci_archive_path(const struct oci_archive *a);
/* Images named in index.json, with normalized references ("docker.io/library/x:1"). */
size_t oci_archive_nimages(const struct oci_archive *a);
const char *oci_archive_image(const struct oci_archive *a, size_t i);
/* Checks every blob's sha256 against its name (reads the whole file). */
int oci_archive_verify(struct oci_archive *a, struct err *e);

/* Where a blob's bytes are: pread(fd, ..., len, off). */
struct oci_blob {
	int fd;
	off_t off;
	size_t len;
	const char *digest;     /* "sha256:<hex>" */
	const char *media_type; /* for manifests and indexes, else NULL */
};

/* The archive's blobs (every blobs/sha256/ entry), by index; out->digest stays valid
 * while the archive is open. */
size_t oci_archive_nblobs(const struct oci_archive *a);
int oci_archive_blob(const struct oci_archive *a, size_t i, struct oci_blob *out);
/* Image i's target: the manifest (or index) that index.json names for it. */
int oci_archive_image_target(const struct oci_archive *a, size_t i, struct oci_blob *out);
/*
 * containerd's garbage collector keeps a blob's children alive through labels on it:
 * for a manifest "containerd.io/gc.ref.content.config" and ".l.<n>" for its layers, for an
 * index ".m.<n>" for its manifests. Returns those labels for blob b as a new
 * NULL-terminated array key, value, key, value, ... (free with oci_labels_free), or an
 * empty one when b is not a manifest or an index.
 */
char **oci_gc_labels(const struct oci_blob *b);
void oci_labels_free(char **kv);

/* A set of archives (the images dir) answering registry lookups. */
struct oci_store;

struct oci_store *oci_store_new(void);
void oci_store_free(struct oci_store *s);
/* Opens dir/ *.tar (and .oci) and adds each; bad files are skipped with a warning in e's
 * message (the good ones still load). Returns the number of archives added. */
int oci_store_load_dir(struct oci_store *s, const char *dir, struct err *e);
/* Takes ownership of a. */
void oci_store_add(struct oci_store *s, struct oci_archive *a);
size_t oci_store_narchives(const struct oci_store *s);
struct oci_archive *oci_store_archive(const struct oci_store *s, size_t i);
/* Every image reference in the store (duplicates: the last archive added wins). */
size_t oci_store_nimages(const struct oci_store *s);
const char *oci_store_image(const struct oci_store *s, size_t i);
/* A manifest by registry host, repository and tag or digest:
 * ("docker.io", "library/busybox", "1.36" or "sha256:..."). -ENOENT when unknown. */
int oci_store_manifest(const struct oci_store *s, const char *host, const char *repo,
                       const char *ref, struct oci_blob *out);
/* Any blob by digest. -ENOENT when unknown. */
int oci_store_blob(const struct oci_store *s, const char *digest, struct oci_blob *out);

/* Normalizes an image reference as containerd does: "busybox" ->
 * "docker.io/library/busybox:latest". Returns a new string, or NULL when it is not a
 * valid reference. */
char *oci_normalize_ref(const char *ref);

/* A registry API request path, parsed (the mirror's router). */
enum oci_route_kind { OCI_ROUTE_NONE, OCI_ROUTE_BASE, OCI_ROUTE_MANIFEST, OCI_ROUTE_BLOB };
struct oci_route {
	enum oci_route_kind kind;
	char repo[256]; /* "library/busybox" */
	char ref[160];  /* tag, or digest for manifests; digest for blobs */
};
/* "/v2/", "/v2/<repo>/manifests/<ref>", "/v2/<repo>/blobs/<digest>" (query stripped).
 * Anything else, or names with bad characters, is OCI_ROUTE_NONE. */
struct oci_route oci_route_parse(const char *path);

#endif
