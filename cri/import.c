/* import: OCI tarballs into containerd through its content, images and leases services,
 * one step at a time on the loop (lease, blobs, image records, lease released). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_TAG "cri"
#include "core/log/log.h"
#include "cri/containerd.pb-c.h"
#include "cri/cri.h"

#define CHUNK (1u << 20)
#define CALL_TIMEOUT_MS 60000
/* A lease that outlives a crashed import expires by itself. */
#define LEASE_TTL_S 3600

struct job {
	struct grpc_chan *ch;
	struct oci_archive *a;
	char ns[64], lease[96];
	const char *md[5]; /* namespace (and lease) metadata */
	cri_import_fn done;
	void *arg;
	struct cri_import_stats st;

	size_t blob, nblobs, image;
	/* the blob being written */
	struct oci_blob cur;
	struct grpc_call *wcall;
	uint64_t off;
	bool committing, committed;
	char ref[128];
	char **labels;
	uint8_t *buf;
};

static void next_blob(struct job *j);
static void next_image(struct job *j);

static void job_free(struct job *j)
{
	oci_labels_free(j->labels);
	free(j->buf);
	free(j);
}

static void lease_deleted(int code, const char *msg, ProtobufCMessage *resp, void *arg)
{
	/* nothing to do either way: an undeleted lease expires */
}

static void release_lease(struct job *j)
{
	Containerd__LeaseDeleteRequest req = CONTAINERD__LEASE_DELETE_REQUEST__INIT;
	req.id = j->lease;
	grpc_unary_md(j->ch, "/containerd.services.leases.v1.Leases/Delete", j->md, &req.base,
	              &containerd__empty__descriptor, CALL_TIMEOUT_MS, 0, lease_deleted, NULL,
	              NULL);
}

static void finish(struct job *j, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void finish(struct job *j, int code, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (j->lease[0])
		release_lease(j);
	j->done(code, msg, &j->st, j->arg);
	job_free(j);
}

/* --- blobs ------------------------------------------------------------------------------ */

static int send_chunk(struct job *j)
{
	size_t n = (size_t)MIN((uint64_t)CHUNK, j->cur.len - j->off);
	if (n && pread(j->cur.fd, j->buf, n, j->cur.off + (off_t)j->off) != (ssize_t)n)
		return -errno ? -errno : -EIO;
	Containerd__WriteContentRequest req = CONTAINERD__WRITE_CONTENT_REQUEST__INIT;
	Containerd__WriteContentRequest__LabelsEntry *ents = NULL, **ptrs = NULL;
	req.ref = j->ref;
	req.total = (int64_t)j->cur.len;
	req.expected = (char *)j->cur.digest;
	req.offset = (int64_t)j->off;
	req.data.data = j->buf;
	req.data.len = n;
	/* the last chunk commits: containerd writes a request's data before committing */
	bool last = j->off + n == j->cur.len;
	req.action = last ? CONTAINERD__WRITE_ACTION__COMMIT : CONTAINERD__WRITE_ACTION__WRITE;
	if (last) {
		size_t nl = 0;
		while (j->labels[nl])
			nl++;
		nl /= 2;
		ents = xcalloc(nl ? nl : 1, sizeof(*ents));
		ptrs = xcalloc(nl ? nl : 1, sizeof(*ptrs));
		for (size_t i = 0; i < nl; i++) {
			containerd__write_content_request__labels_entry__init(&ents[i]);
			ents[i].key = j->labels[2 * i];
			ents[i].value = j->labels[2 * i + 1];
			ptrs[i] = &ents[i];
		}
		req.n_labels = nl;
		req.labels = ptrs;
		j->committing = true;
	}
	grpc_call_send_msg(j->wcall, &req.base);
	free(ents);
	free(ptrs);
	j->off += n;
	j->st.bytes_written += n;
	return 0;
}

static void write_msg(struct grpc_call *c, const uint8_t *msg, size_t len, void *arg)
{
	struct job *j = arg;
	Containerd__WriteContentResponse *r =
	    containerd__write_content_response__unpack(NULL, len, msg);
	if (!r) {
		grpc_call_cancel(c);
		j->wcall = NULL;
		finish(j, GRPC_INTERNAL, "import %s: malformed reply to a content write",
		       oci_archive_path(j->a));
		return;
	}
	bool commit = r->action == CONTAINERD__WRITE_ACTION__COMMIT;
	containerd__write_content_response__free_unpacked(r, NULL);
	if (commit || j->committing) {
		j->committed = true;
		grpc_call_close_send(c);
		return;
	}
	int e = send_chunk(j);
	if (e < 0) {
		grpc_call_cancel(c);
		j->wcall = NULL;
		finish(j, GRPC_DATA_LOSS, "import %s: read %s: %s", oci_archive_path(j->a),
		       j->cur.digest, strerror(-e));
	}
}

static void write_done(struct grpc_call *c, int code, const char *msg, void *arg)
{
	struct job *j = arg;
	j->wcall = NULL;
	oci_labels_free(j->labels);
	j->labels = NULL;
	/* a blob that appeared meanwhile (another writer) is as good as ours */
	if ((code == GRPC_OK && j->committed) || code == GRPC_ALREADY_EXISTS) {
		j->st.blobs_written++;
		j->blob++;
		next_blob(j);
		return;
	}
	finish(j, code == GRPC_OK ? GRPC_INTERNAL : code, "import %s: write %s: %s",
	       oci_archive_path(j->a), j->cur.digest, code == GRPC_OK ? "not committed" : msg);
}

static void start_write(struct job *j)
{
	static unsigned seq;
	snprintf(j->ref, sizeof(j->ref), "tug-import-%d-%u-%s", (int)getpid(), ++seq,
	         j->cur.digest + strlen("sha256:"));
	j->off = 0;
	j->committing = j->committed = false;
	j->labels = oci_gc_labels(&j->cur);
	if (!j->buf)
		j->buf = xmalloc(CHUNK);
	struct grpc_call_opts o = { .timeout_ms = CALL_TIMEOUT_MS * 5,
		                    .metadata = j->md,
		                    .on_msg = write_msg,
		                    .on_done = write_done,
		                    .arg = j };
	if (grpc_call_start(j->ch, "/containerd.services.content.v1.Content/Write", &o, &j->wcall) <
	    0) {
		finish(j, GRPC_INTERNAL, "import %s: cannot start a content write",
		       oci_archive_path(j->a));
		return;
	}
	int e = send_chunk(j);
	if (e < 0) {
		grpc_call_cancel(j->wcall);
		j->wcall = NULL;
		finish(j, GRPC_DATA_LOSS, "import %s: read %s: %s", oci_archive_path(j->a),
		       j->cur.digest, strerror(-e));
	}
}

static void on_info(int code, const char *msg, ProtobufCMessage *resp, void *arg)
{
	struct job *j = arg;
	if (code == GRPC_OK) {
		j->st.blobs_present++;
		j->blob++;
		next_blob(j);
	} else if (code == GRPC_NOT_FOUND) {
		start_write(j);
	} else {
		finish(j, code, "import %s: content info %s: %s", oci_archive_path(j->a),
		       j->cur.digest, msg);
	}
}

static void next_blob(struct job *j)
{
	if (j->blob == j->nblobs) {
		next_image(j);
		return;
	}
	if (oci_archive_blob(j->a, j->blob, &j->cur) < 0) {
		finish(j, GRPC_INTERNAL, "import %s: blob %zu vanished", oci_archive_path(j->a),
		       j->blob);
		return;
	}
	Containerd__ContentInfoRequest req = CONTAINERD__CONTENT_INFO_REQUEST__INIT;
	req.digest = (char *)j->cur.digest;
	grpc_unary_md(j->ch, "/containerd.services.content.v1.Content/Info", j->md, &req.base,
	              &containerd__content_info_response__descriptor, CALL_TIMEOUT_MS, 0, on_info,
	              j, NULL);
}

/* --- images -------------------------------------------------------------------------------- */

static void image_request(struct job *j, bool update);

static void on_image(int code, const char *msg, ProtobufCMessage *resp, void *arg)
{
	struct job *j = arg;
	if (code == GRPC_ALREADY_EXISTS) {
		image_request(j, true);
		return;
	}
	if (code != GRPC_OK) {
		finish(j, code, "import %s: image %s: %s", oci_archive_path(j->a),
		       oci_archive_image(j->a, j->image), msg);
		return;
	}
	log_info("imported %s from %s", oci_archive_image(j->a, j->image), oci_archive_path(j->a));
	j->st.images++;
	j->image++;
	next_image(j);
}

static void image_request(struct job *j, bool update)
{
	struct oci_blob t = { 0 };
	Containerd__Descriptor d = CONTAINERD__DESCRIPTOR__INIT;
	Containerd__Image img = CONTAINERD__IMAGE__INIT;
	Containerd__Image__LabelsEntry managed = CONTAINERD__IMAGE__LABELS_ENTRY__INIT, *lp[1];

	if (oci_archive_image_target(j->a, j->image, &t) < 0) {
		finish(j, GRPC_DATA_LOSS, "import %s: image %s has no manifest",
		       oci_archive_path(j->a), oci_archive_image(j->a, j->image));
		return;
	}
	d.media_type = (char *)t.media_type;
	d.digest = (char *)t.digest;
	d.size = (int64_t)t.len;
	img.name = (char *)oci_archive_image(j->a, j->image);
	img.target = &d;
	/* as images pulled through CRI are marked */
	managed.key = "io.cri-containerd.image";
	managed.value = "managed";
	lp[0] = &managed;
	img.n_labels = 1;
	img.labels = lp;
	if (update) {
		Containerd__UpdateImageRequest req = CONTAINERD__UPDATE_IMAGE_REQUEST__INIT;
		req.image = &img;
		grpc_unary_md(j->ch, "/containerd.services.images.v1.Images/Update", j->md,
		              &req.base, &containerd__update_image_response__descriptor,
		              CALL_TIMEOUT_MS, 0, on_image, j, NULL);
	} else {
		Containerd__CreateImageRequest req = CONTAINERD__CREATE_IMAGE_REQUEST__INIT;
		req.image = &img;
		grpc_unary_md(j->ch, "/containerd.services.images.v1.Images/Create", j->md,
		              &req.base, &containerd__create_image_response__descriptor,
		              CALL_TIMEOUT_MS, 0, on_image, j, NULL);
	}
}

static void next_image(struct job *j)
{
	if (j->image == oci_archive_nimages(j->a)) {
		finish(j, GRPC_OK, "%s", "");
		return;
	}
	image_request(j, false);
}

/* --- start ------------------------------------------------------------------------------------ */

static void on_lease(int code, const char *msg, ProtobufCMessage *resp, void *arg)
{
	struct job *j = arg;
	if (code != GRPC_OK) {
		j->lease[0] = 0;
		finish(j, code, "import %s: create a lease: %s", oci_archive_path(j->a), msg);
		return;
	}
	/* from now on every write is held by the lease */
	j->md[2] = "containerd-lease";
	j->md[3] = j->lease;
	j->md[4] = NULL;
	next_blob(j);
}

int cri_import(struct grpc_chan *ch, struct oci_archive *a, const char *ns, cri_import_fn done,
               void *arg)
{
	static unsigned seq;
	struct job *j = xcalloc(1, sizeof(*j));
	char expire[32];

	j->ch = ch;
	j->a = a;
	j->done = done;
	j->arg = arg;
	snprintf(j->ns, sizeof(j->ns), "%s", ns ? ns : CRI_NAMESPACE);
	snprintf(j->lease, sizeof(j->lease), "tug-import-%d-%u", (int)getpid(), ++seq);
	j->md[0] = "containerd-namespace";
	j->md[1] = j->ns;
	j->nblobs = oci_archive_nblobs(a);
	time_rfc3339(expire, time(NULL) + LEASE_TTL_S);
	Containerd__LeaseCreateRequest req = CONTAINERD__LEASE_CREATE_REQUEST__INIT;
	Containerd__LeaseCreateRequest__LabelsEntry exp =
	    CONTAINERD__LEASE_CREATE_REQUEST__LABELS_ENTRY__INIT;
	Containerd__LeaseCreateRequest__LabelsEntry *lp[1] = { &exp };
	exp.key = "containerd.io/gc.expire";
	exp.value = expire;
	req.id = j->lease;
	req.n_labels = 1;
	req.labels = lp;
	int r = grpc_unary_md(ch, "/containerd.services.leases.v1.Leases/Create", j->md, &req.base,
	                      &containerd__lease_create_response__descriptor, CALL_TIMEOUT_MS,
	                      GRPC_WAIT_FOR_READY, on_lease, j, NULL);
	if (r < 0)
		job_free(j);
	return r;
}
