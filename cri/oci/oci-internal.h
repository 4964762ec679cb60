/* oci-internal: what the archive reader and the store share inside the oci module. */
#ifndef TUG_OCI_INTERNAL_H
#define TUG_OCI_INTERNAL_H

#include "cri/oci/oci.h"

struct oci_entry {
	char *name;   /* "blobs/sha256/<hex>", "index.json", ... */
	char *digest; /* "sha256:<hex>" for blobs, else NULL */
	off_t off;
	size_t len;
};

struct oci_image_ref {
	char *ref; /* normalized: "docker.io/library/busybox:1" */
	char *digest, *media_type;
};

struct oci_archive {
	char *path;
	int fd;
	off_t size;
	struct oci_entry *entries;
	size_t nentries;
	struct oci_image_ref *images;
	size_t nimages;
};

const struct oci_entry *oci_archive_entry(const struct oci_archive *a, const char *name);
const struct oci_entry *oci_archive_blob_entry(const struct oci_archive *a, const char *digest);

#endif
