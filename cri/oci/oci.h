/* oci: OCI image-layout tarballs: writing them (tug's own pause image, test images) and
 * reading them (airgap images). Plain tar, JSON and sha256; no other tool needed. */
#ifndef TUG_OCI_H
#define TUG_OCI_H

#include <stdbool.h>
#include <stddef.h>

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

#endif
