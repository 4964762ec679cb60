/* cri_check: drives a private containerd (started and supervised by cri_containerd) through
 * every CRI call tug uses and prints TAP lines; test/e2e/cri.sh runs it. */
#include "config.h"
#ifndef CONFIG_TUG_KUBELET
#include <stdio.h>
int main(void)
{
	fprintf(stderr, "built without CONFIG_TUG_KUBELET: no CRI client\n");
	return 77;
}
#else
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/loop/loop.h"
#include "core/util/util.h"
#include "cri/cri.h"

static int npass, nfail;

static void check(bool ok, const char *what, const struct err *e)
{
	if (ok) {
		npass++;
		printf("ok - cri: %s\n", what);
	} else {
		nfail++;
		printf("not ok - cri: %s%s%s\n", what, e && e->msg[0] ? ": " : "",
		       e && e->msg[0] ? e->msg : "");
	}
	fflush(stdout);
}

static struct {
	const char *data_dir, *image, *import[4], *cni_bin, *cni_conf, *pods_dir;
	int nimport;
	const char *endpoint, *expect[8];
	int nexpect;
	bool host_network;
	const char *pod_ip_prefix; /* the sandbox's address starts so (the CNI's pod range) */
} opt = { .pod_ip_prefix = "10.251.0." };

static struct loop *loop;
static struct cri_containerd *cd;
static struct cri *cri;

static void sleep_ms(unsigned ms)
{
	uint64_t end = time_mono_ms() + ms;
	while (time_mono_ms() < end)
		loop_run_once(loop, (int)(end - time_mono_ms()));
}

struct imp {
	bool done;
	int code;
	char msg[600];
	struct cri_import_stats st;
};

static void import_done(int code, const char *msg, const struct cri_import_stats *st, void *arg)
{
	struct imp *i = arg;
	i->done = true;
	i->code = code;
	snprintf(i->msg, sizeof(i->msg), "%s", msg);
	i->st = *st;
}

/* Imports a tarball through containerd's API (cri_import), waiting on the loop. */
static int import_tar(const char *tar, struct cri_import_stats *st, struct err *e)
{
	struct oci_archive *a = NULL;
	struct imp i = { 0 };
	int r = oci_archive_open(tar, &a, e);
	if (r < 0)
		return r;
	if ((r = cri_import(cri_chan(cri), a, CRI_NAMESPACE, import_done, &i)) == 0) {
		while (!i.done)
			loop_run_once(loop, 1000);
		if (i.code != GRPC_OK)
			r = err_set(e, grpc_code_errno(i.code), "%s", i.msg);
		*st = i.st;
		fprintf(stderr,
		        "# import %s: %u images, %u blobs written, %u present, %llu bytes\n", tar,
		        st->images, st->blobs_written, st->blobs_present,
		        (unsigned long long)st->bytes_written);
	}
	oci_archive_close(a);
	return r;
}

/* --- request builders ----------------------------------------------------------------- */

static Runtime__V1__PodSandboxMetadata sb_meta = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
static Runtime__V1__NamespaceOption sb_ns = RUNTIME__V1__NAMESPACE_OPTION__INIT;
static Runtime__V1__LinuxSandboxSecurityContext sb_sc =
    RUNTIME__V1__LINUX_SANDBOX_SECURITY_CONTEXT__INIT;
static Runtime__V1__LinuxPodSandboxConfig sb_linux = RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__INIT;
static Runtime__V1__PodSandboxConfig sb_cfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
static Runtime__V1__PodSandboxConfig__LabelsEntry sb_label =
    RUNTIME__V1__POD_SANDBOX_CONFIG__LABELS_ENTRY__INIT;
static Runtime__V1__PodSandboxConfig__LabelsEntry *sb_labels[1] = { &sb_label };

static void sandbox_config(void)
{
	sb_meta.name = "tcri-pod";
	sb_meta.uid = "tcri-uid-1";
	sb_meta.namespace_ = "tcri";
	sb_ns.network =
	    opt.host_network ? RUNTIME__V1__NAMESPACE_MODE__NODE : RUNTIME__V1__NAMESPACE_MODE__POD;
	/* as the kubelet does without shareProcessNamespace: each container its own PID 1 */
	sb_ns.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	sb_sc.namespace_options = &sb_ns;
	sb_linux.security_context = &sb_sc;
	sb_label.key = "tcri";
	sb_label.value = "yes";
	sb_cfg.metadata = &sb_meta;
	/* a host-network pod keeps the node's hostname (runc refuses to set one) */
	sb_cfg.hostname = opt.host_network ? "" : "tcri-pod";
	sb_cfg.log_directory = (char *)opt.pods_dir;
	sb_cfg.linux = &sb_linux;
	sb_cfg.n_labels = 1;
	sb_cfg.labels = sb_labels;
}

struct ctr_spec {
	Runtime__V1__ContainerMetadata meta;
	Runtime__V1__ImageSpec image;
	Runtime__V1__ContainerConfig cfg;
	Runtime__V1__LinuxContainerSecurityContext sc;
	Runtime__V1__LinuxContainerConfig linux;
	Runtime__V1__CreateContainerRequest req;
};

static char *create(const char *sandbox, const char *name, char **cmd, size_t ncmd, char **args,
                    size_t nargs, struct err *e)
{
	struct ctr_spec s = { .meta = RUNTIME__V1__CONTAINER_METADATA__INIT,
		              .image = RUNTIME__V1__IMAGE_SPEC__INIT,
		              .cfg = RUNTIME__V1__CONTAINER_CONFIG__INIT,
		              .sc = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT,
		              .linux = RUNTIME__V1__LINUX_CONTAINER_CONFIG__INIT,
		              .req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT };
	char log[64];
	snprintf(log, sizeof(log), "%s.log", name);
	s.meta.name = (char *)name;
	s.image.image = (char *)opt.image;
	s.cfg.metadata = &s.meta;
	s.cfg.image = &s.image;
	s.cfg.command = cmd;
	s.cfg.n_command = ncmd;
	s.cfg.args = args;
	s.cfg.n_args = nargs;
	s.cfg.log_path = log;
	s.sc.namespace_options = &sb_ns;
	s.linux.security_context = &s.sc;
	s.cfg.linux = &s.linux;
	s.req.pod_sandbox_id = (char *)sandbox;
	s.req.config = &s.cfg;
	s.req.sandbox_config = &sb_cfg;
	Runtime__V1__CreateContainerResponse *resp = NULL;
	if (cri_create_container_wait(cri, &s.req, 30000, &resp, e) < 0)
		return NULL;
	char *id = xstrdup(resp->container_id);
	cri_free_msg(resp);
	return id;
}

static int start(const char *id, struct err *e)
{
	Runtime__V1__StartContainerRequest req = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	Runtime__V1__StartContainerResponse *resp = NULL;
	req.container_id = (char *)id;
	int r = cri_start_container_wait(cri, &req, 30000, &resp, e);
	cri_free_msg(resp);
	return r;
}

/* Returns the container's status (caller frees with cri_free_msg), or NULL. */
static Runtime__V1__ContainerStatusResponse *cstatus(const char *id, struct err *e)
{
	Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	Runtime__V1__ContainerStatusResponse *resp = NULL;
	req.container_id = (char *)id;
	if (cri_container_status_wait(cri, &req, 10000, &resp, e) < 0 || !resp->status) {
		cri_free_msg(resp);
		return NULL;
	}
	return resp;
}

/* Polls until the container is in state, up to ms. */
static Runtime__V1__ContainerStatusResponse *
wait_state(const char *id, Runtime__V1__ContainerState state, unsigned ms, struct err *e)
{
	uint64_t end = time_mono_ms() + ms;
	for (;;) {
		Runtime__V1__ContainerStatusResponse *s = cstatus(id, e);
		if (s && s->status->state == state)
			return s;
		cri_free_msg(s);
		if (time_mono_ms() > end)
			return NULL;
		sleep_ms(100);
	}
}

static Runtime__V1__ExecSyncResponse *exec_sync(const char *id, char **cmd, size_t n,
                                                uint64_t call_timeout, struct err *e)
{
	Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	Runtime__V1__ExecSyncResponse *resp = NULL;
	req.container_id = (char *)id;
	req.cmd = cmd;
	req.n_cmd = n;
	if (cri_exec_sync_wait(cri, &req, call_timeout, &resp, e) < 0)
		return NULL;
	return resp;
}

static bool bytes_eq(ProtobufCBinaryData b, const char *s)
{
	return b.len == strlen(s) && memcmp(b.data, s, b.len) == 0;
}

static Runtime__V1__ImageStatusResponse *image_status(const char *name, struct err *e)
{
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
	Runtime__V1__ImageStatusResponse *resp = NULL;
	spec.image = (char *)name;
	req.image = &spec;
	if (cri_image_status_wait(cri, &req, 10000, &resp, e) < 0)
		return NULL;
	return resp;
}

/* --- the sequence ------------------------------------------------------------------------ */

static void run(void)
{
	struct err e = { 0 };
	char *sandbox = NULL, *c1 = NULL, *c2 = NULL;
	int r;

	/* Version and Status, waiting for containerd to come up */
	{
		Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
		Runtime__V1__VersionResponse *resp = NULL;
		req.version = "0.1.0";
		uint64_t t0 = time_mono_ms();
		r = -1;
		while (r < 0 && time_mono_ms() - t0 < 30000) {
			r = cri_version_wait(cri, &req, 5000, &resp, &e);
			if (r < 0)
				sleep_ms(100);
		}
		check(r == 0 && !strcmp(resp->runtime_name, "containerd") &&
		          !strcmp(resp->runtime_api_version, "v1"),
		      "Version names containerd and CRI v1", &e);
		if (r == 0)
			fprintf(stderr, "# containerd %s up after %llu ms\n", resp->runtime_version,
			        (unsigned long long)(time_mono_ms() - t0));
		cri_free_msg(resp);
		if (r < 0)
			return;
	}
	{
		Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
		Runtime__V1__StatusResponse *resp = NULL;
		bool runtime_ready = false;
		r = cri_status_wait(cri, &req, 5000, &resp, &e);
		for (size_t i = 0; r == 0 && resp->status && i < resp->status->n_conditions; i++) {
			Runtime__V1__RuntimeCondition *c = resp->status->conditions[i];
			if (!strcmp(c->type, "RuntimeReady"))
				runtime_ready = c->status;
		}
		check(runtime_ready, "Status reports RuntimeReady", &e);
		cri_free_msg(resp);
	}

	/* images: imported through containerd's content and images services */
	for (int i = 0; i < opt.nimport; i++) {
		char what[300];
		struct cri_import_stats st = { 0 };
		snprintf(what, sizeof(what), "cri_import %s", opt.import[i]);
		r = import_tar(opt.import[i], &st, &e);
		check(r == 0 && st.images == 1 && st.blobs_written == 3, what, &e);
		if (i == 0) {
			/* again: every blob is there already, the image record is updated */
			r = import_tar(opt.import[i], &st, &e);
			check(r == 0 && st.images == 1 && st.blobs_written == 0 &&
			          st.blobs_present == 3,
			      "importing the same tarball again writes no blob", &e);
		}
	}
	{
		/* the CRI plugin learns of new images from containerd's events: poll a moment */
		Runtime__V1__ImageStatusResponse *s = NULL;
		uint64_t end = time_mono_ms() + 10000;
		for (;;) {
			s = image_status(opt.image, &e);
			if ((s && s->image) || time_mono_ms() > end)
				break;
			cri_free_msg(s);
			sleep_ms(100);
		}
		check(s && s->image && s->image->size > 0 && s->image->n_repo_tags > 0,
		      "ImageStatus finds the imported test image", &e);
		cri_free_msg(s);
		s = image_status(CRI_PAUSE_IMAGE, &e);
		check(s && s->image, "ImageStatus finds tug's pause image", &e);
		cri_free_msg(s);
		s = image_status("docker.io/library/tcri-missing:1", &e);
		check(s && !s->image, "ImageStatus of a missing image has no image", &e);
		cri_free_msg(s);
		Runtime__V1__ListImagesRequest lreq = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
		Runtime__V1__ListImagesResponse *l = NULL;
		r = cri_list_images_wait(cri, &lreq, 10000, &l, &e);
		check(r == 0 && l->n_images >= 2, "ListImages lists both images", &e);
		cri_free_msg(l);
		Runtime__V1__ImageFsInfoRequest freq = RUNTIME__V1__IMAGE_FS_INFO_REQUEST__INIT;
		Runtime__V1__ImageFsInfoResponse *f = NULL;
		r = cri_image_fs_info_wait(cri, &freq, 10000, &f, &e);
		/* containerd samples usage every few seconds: the mountpoint is what is sure now */
		check(r == 0 && f->n_image_filesystems > 0 && f->image_filesystems[0]->fs_id &&
		          str_has_prefix(f->image_filesystems[0]->fs_id->mountpoint, opt.data_dir),
		      "ImageFsInfo names the snapshotter's filesystem under the data dir", &e);
		cri_free_msg(f);
		/* the registry mirror: an image of a tarball that containerd no longer has is
		 * pulled back through it */
		struct oci_store *store = oci_store_new();
		struct oci_archive *arch = NULL;
		struct cri_mirror *mirror = NULL;
		_cleanup_free_ char *hosts = xasprintf("%s/certs.d", opt.data_dir);
		r = oci_archive_open(opt.import[opt.nimport - 1], &arch, &e);
		if (r == 0) {
			oci_store_add(store, arch);
			r = cri_mirror_start(loop, store, 0, &mirror, &e);
		}
		if (r == 0)
			r = cri_mirror_write_hosts(hosts, store, cri_mirror_port(mirror), &e);
		check(r == 0, "the registry mirror serves the test tarball on loopback", &e);
		Runtime__V1__ImageSpec rspec = RUNTIME__V1__IMAGE_SPEC__INIT;
		Runtime__V1__RemoveImageRequest rreq = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
		Runtime__V1__RemoveImageResponse *rr = NULL;
		rspec.image = (char *)opt.image;
		rreq.image = &rspec;
		r = cri_remove_image_wait(cri, &rreq, 30000, &rr, &e);
		cri_free_msg(rr);
		s = image_status(opt.image, &e);
		check(r == 0 && s && !s->image, "RemoveImage: the image is gone", &e);
		cri_free_msg(s);
		if (mirror) {
			Runtime__V1__PullImageRequest mreq = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
			Runtime__V1__PullImageResponse *mp = NULL;
			mreq.image = &rspec;
			r = cri_pull_image_wait(cri, &mreq, 60000, &mp, &e);
			check(r == 0 && str_has_prefix(mp->image_ref, "sha256:") &&
			          cri_mirror_served(mirror) > 0,
			      "PullImage brings it back through the mirror", &e);
			cri_free_msg(mp);
			s = image_status(opt.image, &e);
			check(s && s->image, "ImageStatus finds the pulled image", &e);
			cri_free_msg(s);
		}
		cri_mirror_stop(mirror);
		oci_store_free(store);

		/* PullImage has no registry here: it must fail with a message, quickly */
		Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
		Runtime__V1__PullImageRequest preq = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
		Runtime__V1__PullImageResponse *p = NULL;
		spec.image = "127.0.0.1:1/tcri/none:1";
		preq.image = &spec;
		r = cri_pull_image_wait(cri, &preq, 20000, &p, &e);
		check(r < 0 && strstr(e.msg, "PullImage"),
		      "PullImage from nowhere fails with a reason", NULL);
		cri_free_msg(p);
	}

	/* sandbox */
	sandbox_config();
	{
		Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
		Runtime__V1__RunPodSandboxResponse *resp = NULL;
		req.config = &sb_cfg;
		r = cri_run_pod_sandbox_wait(cri, &req, 60000, &resp, &e);
		check(r == 0 && resp->pod_sandbox_id[0], "RunPodSandbox", &e);
		if (r == 0)
			sandbox = xstrdup(resp->pod_sandbox_id);
		cri_free_msg(resp);
		if (!sandbox)
			return;
	}
	{
		Runtime__V1__PodSandboxStatusRequest req =
		    RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
		Runtime__V1__PodSandboxStatusResponse *resp = NULL;
		req.pod_sandbox_id = sandbox;
		r = cri_pod_sandbox_status_wait(cri, &req, 10000, &resp, &e);
		check(r == 0 && resp->status &&
		          resp->status->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY &&
		          !strcmp(resp->status->metadata->name, "tcri-pod"),
		      "PodSandboxStatus is READY with our metadata", &e);
		if (!opt.host_network)
			check(r == 0 && resp->status && resp->status->network &&
			          str_has_prefix(resp->status->network->ip, opt.pod_ip_prefix),
			      "the sandbox got an address from the CNI bridge", &e);
		cri_free_msg(resp);
	}
	{
		Runtime__V1__ListPodSandboxRequest req =
		    RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
		Runtime__V1__PodSandboxFilter f = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
		Runtime__V1__PodSandboxFilter__LabelSelectorEntry sel =
		    RUNTIME__V1__POD_SANDBOX_FILTER__LABEL_SELECTOR_ENTRY__INIT;
		Runtime__V1__PodSandboxFilter__LabelSelectorEntry *sels[] = { &sel };
		Runtime__V1__ListPodSandboxResponse *resp = NULL;
		sel.key = "tcri";
		sel.value = "yes";
		f.n_label_selector = 1;
		f.label_selector = sels;
		req.filter = &f;
		r = cri_list_pod_sandbox_wait(cri, &req, 10000, &resp, &e);
		check(r == 0 && resp->n_items == 1 && !strcmp(resp->items[0]->id, sandbox),
		      "ListPodSandbox with a label selector finds it", &e);
		cri_free_msg(resp);
	}

	/* a container that prints and exits 3 */
	{
		char *cmd[] = { "/bin/sh", "-c" };
		char *args[] = { "echo hello from tcri; exit 3" };
		c1 = create(sandbox, "tcri-exit", cmd, 2, args, 1, &e);
		check(c1 && start(c1, &e) == 0,
		      "CreateContainer and StartContainer with command+args", &e);
		Runtime__V1__ContainerStatusResponse *s =
		    c1 ? wait_state(c1, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 20000, &e)
		       : NULL;
		if (s)
			fprintf(stderr, "# exited: code %d reason %s\n", s->status->exit_code,
			        s->status->reason);
		/* (not finished_at >= started_at: containerd may stamp the start after a quick
		 * exit was already seen) */
		check(s && s->status->exit_code == 3 && !strcmp(s->status->reason, "Error") &&
		          s->status->finished_at > 0,
		      "ContainerStatus: EXITED, exit code 3, reason Error", &e);
		if (s) {
			char *log = NULL;
			size_t len;
			bool ok = read_file(s->status->log_path, &log, &len, 1 << 20) == 0 &&
			          strstr(log, " stdout F hello from tcri\n");
			check(ok, "the log file holds the output in CRI format", NULL);
			free(log);
		}
		cri_free_msg(s);
	}

	/* a long-running container */
	{
		char *cmd[] = { "sleep", "3600" };
		c2 = create(sandbox, "tcri-sleep", cmd, 2, NULL, 0, &e);
		check(c2 && start(c2, &e) == 0, "a sleeping container starts", &e);
		Runtime__V1__ContainerStatusResponse *s =
		    c2 ? wait_state(c2, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING, 20000, &e)
		       : NULL;
		check(s != NULL, "ContainerStatus: RUNNING", &e);
		cri_free_msg(s);
	}
	if (c2) {
		char *cmd[] = { "sh", "-c", "echo out; echo err >&2; exit 7" };
		Runtime__V1__ExecSyncResponse *x = exec_sync(c2, cmd, 3, 20000, &e);
		check(x && x->exit_code == 7 && bytes_eq(x->stdout, "out\n") &&
		          bytes_eq(x->stderr, "err\n"),
		      "ExecSync returns stdout, stderr and the exit code", &e);
		cri_free_msg(x);

		Runtime__V1__ContainerStatsRequest sreq =
		    RUNTIME__V1__CONTAINER_STATS_REQUEST__INIT;
		Runtime__V1__ContainerStatsResponse *st = NULL;
		sreq.container_id = c2;
		r = cri_container_stats_wait(cri, &sreq, 10000, &st, &e);
		check(r == 0 && st->stats && st->stats->memory &&
		          st->stats->memory->working_set_bytes &&
		          st->stats->memory->working_set_bytes->value > 0,
		      "ContainerStats reports memory in use", &e);
		cri_free_msg(st);
		Runtime__V1__ListContainerStatsRequest lsreq =
		    RUNTIME__V1__LIST_CONTAINER_STATS_REQUEST__INIT;
		Runtime__V1__ListContainerStatsResponse *ls = NULL;
		r = cri_list_container_stats_wait(cri, &lsreq, 10000, &ls, &e);
		check(r == 0 && ls->n_stats >= 1, "ListContainerStats lists it", &e);
		cri_free_msg(ls);

		Runtime__V1__LinuxContainerResources res =
		    RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
		Runtime__V1__UpdateContainerResourcesRequest ureq =
		    RUNTIME__V1__UPDATE_CONTAINER_RESOURCES_REQUEST__INIT;
		Runtime__V1__UpdateContainerResourcesResponse *u = NULL;
		res.memory_limit_in_bytes = 64 << 20;
		ureq.container_id = c2;
		ureq.linux = &res;
		r = cri_update_container_resources_wait(cri, &ureq, 10000, &u, &e);
		cri_free_msg(u);
		char *cat[] = { "sh", "-c",
			        "cat /sys/fs/cgroup/memory.max 2>/dev/null || "
			        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes" };
		x = r == 0 ? exec_sync(c2, cat, 3, 20000, &e) : NULL;
		check(x && bytes_eq(x->stdout, "67108864\n"),
		      "UpdateContainerResources sets the memory limit the container sees", &e);
		cri_free_msg(x);

		Runtime__V1__ReopenContainerLogRequest rreq =
		    RUNTIME__V1__REOPEN_CONTAINER_LOG_REQUEST__INIT;
		Runtime__V1__ReopenContainerLogResponse *rr = NULL;
		rreq.container_id = c2;
		check(cri_reopen_container_log_wait(cri, &rreq, 10000, &rr, &e) == 0,
		      "ReopenContainerLog", &e);
		cri_free_msg(rr);

		char *sh[] = { "sh" };
		Runtime__V1__ExecRequest ereq = RUNTIME__V1__EXEC_REQUEST__INIT;
		Runtime__V1__ExecResponse *er = NULL;
		ereq.container_id = c2;
		ereq.cmd = sh;
		ereq.n_cmd = 1;
		ereq.stdout = true;
		r = cri_exec_wait(cri, &ereq, 10000, &er, &e);
		check(r == 0 && str_has_prefix(er->url, "http://127.0.0.1:"), "Exec returns a URL",
		      &e);
		cri_free_msg(er);
		Runtime__V1__AttachRequest areq = RUNTIME__V1__ATTACH_REQUEST__INIT;
		Runtime__V1__AttachResponse *ar = NULL;
		areq.container_id = c2;
		areq.stdout = true;
		r = cri_attach_wait(cri, &areq, 10000, &ar, &e);
		check(r == 0 && str_has_prefix(ar->url, "http://127.0.0.1:"),
		      "Attach returns a URL", &e);
		cri_free_msg(ar);
		int32_t ports[] = { 80 };
		Runtime__V1__PortForwardRequest pfreq = RUNTIME__V1__PORT_FORWARD_REQUEST__INIT;
		Runtime__V1__PortForwardResponse *pf = NULL;
		pfreq.pod_sandbox_id = sandbox;
		pfreq.port = ports;
		pfreq.n_port = 1;
		r = cri_port_forward_wait(cri, &pfreq, 10000, &pf, &e);
		check(r == 0 && str_has_prefix(pf->url, "http://127.0.0.1:"),
		      "PortForward returns a URL", &e);
		cri_free_msg(pf);

		Runtime__V1__ListContainersRequest lreq =
		    RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
		Runtime__V1__ContainerFilter f = RUNTIME__V1__CONTAINER_FILTER__INIT;
		Runtime__V1__ListContainersResponse *l = NULL;
		f.pod_sandbox_id = sandbox;
		lreq.filter = &f;
		r = cri_list_containers_wait(cri, &lreq, 10000, &l, &e);
		check(r == 0 && l->n_containers == 2, "ListContainers finds both in the sandbox",
		      &e);
		cri_free_msg(l);

		/* a deadline shorter than the work */
		char *slow[] = { "sleep", "3" };
		uint64_t t0 = time_mono_ms();
		x = exec_sync(c2, slow, 2, 300, &e);
		check(!x && e.code == -ETIMEDOUT && time_mono_ms() - t0 < 2500,
		      "a call past its deadline ends with DEADLINE_EXCEEDED", &e);
		cri_free_msg(x);
	}

	/* containerd killed: the supervisor restarts it, the client reconnects, and the
	 * container lives on in its shim */
	if (c2) {
		pid_t pid = cri_containerd_pid(cd);
		kill(pid, SIGKILL);
		Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
		Runtime__V1__VersionResponse *resp = NULL;
		sleep_ms(50);
		r = cri_version_wait(cri, &req, 2000, &resp, &e);
		check(r < 0, "a call while containerd is down fails", NULL);
		cri_free_msg(resp);
		resp = NULL;
		uint64_t t0 = time_mono_ms();
		r = -1;
		while (r < 0 && time_mono_ms() - t0 < 30000) {
			grpc_unary_sync(cri_chan(cri), "/runtime.v1.RuntimeService/Version",
			                &req.base, &runtime__v1__version_response__descriptor, 5000,
			                GRPC_WAIT_FOR_READY, (ProtobufCMessage **)&resp, NULL, &e);
			r = resp ? 0 : -1;
			if (r < 0)
				sleep_ms(100);
		}
		check(r == 0 && cri_containerd_starts(cd) == 2 && cri_connects(cri) >= 2 &&
		          cri_containerd_pid(cd) != pid,
		      "containerd killed by its pid is restarted and the client reconnects", &e);
		fprintf(stderr, "# containerd back after %llu ms\n",
		        (unsigned long long)(time_mono_ms() - t0));
		cri_free_msg(resp);
		Runtime__V1__ContainerStatusResponse *s =
		    wait_state(c2, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING, 10000, &e);
		check(s != NULL, "the running container survived the containerd restart", &e);
		cri_free_msg(s);
	}

	/* stop and remove everything */
	if (c2) {
		Runtime__V1__StopContainerRequest req = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
		Runtime__V1__StopContainerResponse *resp = NULL;
		req.container_id = c2;
		req.timeout = 1;
		r = cri_stop_container_wait(cri, &req, 30000, &resp, &e);
		cri_free_msg(resp);
		Runtime__V1__ContainerStatusResponse *s = cstatus(c2, &e);
		if (s)
			fprintf(stderr, "# stopped: state %d code %d reason %s\n", s->status->state,
			        s->status->exit_code, s->status->reason);
		/* sleep as PID 1 ignores SIGTERM: SIGKILL after the timeout, 137 */
		check(r == 0 && s &&
		          s->status->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED &&
		          s->status->exit_code == 137,
		      "StopContainer kills after the timeout: exit code 137", &e);
		cri_free_msg(s);
	}
	for (int i = 0; i < 2; i++) {
		char *id = i ? c2 : c1;
		if (!id)
			continue;
		Runtime__V1__RemoveContainerRequest req =
		    RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
		Runtime__V1__RemoveContainerResponse *resp = NULL;
		req.container_id = id;
		r = cri_remove_container_wait(cri, &req, 30000, &resp, &e);
		cri_free_msg(resp);
		Runtime__V1__ContainerStatusResponse *s = cstatus(id, &e);
		check(r == 0 && !s && e.code == -ENOENT,
		      "RemoveContainer: status is then NOT_FOUND", &e);
		cri_free_msg(s);
	}
	{
		Runtime__V1__StopPodSandboxRequest req =
		    RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
		Runtime__V1__StopPodSandboxResponse *resp = NULL;
		req.pod_sandbox_id = sandbox;
		r = cri_stop_pod_sandbox_wait(cri, &req, 30000, &resp, &e);
		cri_free_msg(resp);
		Runtime__V1__PodSandboxStatusRequest sreq =
		    RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
		Runtime__V1__PodSandboxStatusResponse *s = NULL;
		sreq.pod_sandbox_id = sandbox;
		int r2 = cri_pod_sandbox_status_wait(cri, &sreq, 10000, &s, &e);
		check(r == 0 && r2 == 0 &&
		          s->status->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY,
		      "StopPodSandbox: NOTREADY", &e);
		cri_free_msg(s);
		Runtime__V1__RemovePodSandboxRequest rreq =
		    RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
		Runtime__V1__RemovePodSandboxResponse *rr = NULL;
		rreq.pod_sandbox_id = sandbox;
		r = cri_remove_pod_sandbox_wait(cri, &rreq, 30000, &rr, &e);
		cri_free_msg(rr);
		Runtime__V1__ListPodSandboxRequest lreq =
		    RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
		Runtime__V1__ListPodSandboxResponse *l = NULL;
		r2 = cri_list_pod_sandbox_wait(cri, &lreq, 10000, &l, &e);
		check(r == 0 && r2 == 0 && l->n_items == 0, "RemovePodSandbox: none listed", &e);
		cri_free_msg(l);
	}
	{
		Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
		Runtime__V1__RemoveImageRequest req = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
		Runtime__V1__RemoveImageResponse *resp = NULL;
		spec.image = (char *)opt.image;
		req.image = &spec;
		r = cri_remove_image_wait(cri, &req, 30000, &resp, &e);
		cri_free_msg(resp);
		Runtime__V1__ImageStatusResponse *s = image_status(opt.image, &e);
		check(r == 0 && s && !s->image, "RemoveImage: the image is gone", &e);
		cri_free_msg(s);
	}
	free(sandbox);
	free(c1);
	free(c2);
}

/* --endpoint E --expect-image NAME...: the images are known to the runtime at E (the
 * e2e test asks this of the containerd that `tug server` runs and feeds). */
static int expect_images(void)
{
	struct err e = { 0 };
	if (loop_new(&loop) < 0 || cri_new(loop, opt.endpoint, &cri, &e) < 0) {
		fprintf(stderr, "cri_check: %s\n", e.msg);
		return 1;
	}
	for (int i = 0; i < opt.nexpect; i++) {
		char what[300];
		Runtime__V1__ImageStatusResponse *s = NULL;
		uint64_t end = time_mono_ms() + 10000;
		for (;;) {
			s = image_status(opt.expect[i], &e);
			if ((s && s->image) || time_mono_ms() > end)
				break;
			cri_free_msg(s);
			sleep_ms(200);
		}
		snprintf(what, sizeof(what), "the runtime has %s", opt.expect[i]);
		check(s && s->image, what, &e);
		cri_free_msg(s);
	}
	cri_free(cri);
	loop_free(loop);
	return nfail ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "data-dir", 1, NULL, 'd' },
		{ "image", 1, NULL, 'i' },
		{ "import", 1, NULL, 'I' },
		{ "cni-bin", 1, NULL, 'b' },
		{ "cni-conf", 1, NULL, 'c' },
		{ "pods", 1, NULL, 'p' },
		{ "host-network", 0, NULL, 'H' },
		{ "endpoint", 1, NULL, 'E' },
		{ "expect-image", 1, NULL, 'x' },
		{ "pod-ip-prefix", 1, NULL, 'P' },
		{ 0 },
	};
	int o;
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'd':
			opt.data_dir = optarg;
			break;
		case 'i':
			opt.image = optarg;
			break;
		case 'I':
			if (opt.nimport < 4)
				opt.import[opt.nimport++] = optarg;
			break;
		case 'b':
			opt.cni_bin = optarg;
			break;
		case 'c':
			opt.cni_conf = optarg;
			break;
		case 'p':
			opt.pods_dir = optarg;
			break;
		case 'H':
			opt.host_network = true;
			break;
		case 'P':
			opt.pod_ip_prefix = optarg;
			break;
		case 'E':
			opt.endpoint = optarg;
			break;
		case 'x':
			if (opt.nexpect < 8)
				opt.expect[opt.nexpect++] = optarg;
			break;
		default:
			fprintf(stderr,
			        "usage: cri_check --data-dir D --image NAME --import TAR... "
			        "--pods DIR [--cni-bin D --cni-conf D] [--host-network] "
			        "[--pod-ip-prefix P]\n");
			return 2;
		}
	}
	if (opt.endpoint)
		return expect_images();
	if (!opt.data_dir || !opt.image || !opt.pods_dir) {
		fprintf(stderr, "cri_check: --data-dir, --image and --pods are required\n");
		return 2;
	}
	struct err e = { 0 };
	if (loop_new(&loop) < 0)
		return 1;
	_cleanup_free_ char *hosts = xasprintf("%s/certs.d", opt.data_dir);
	struct cri_containerd_opts co = { .data_dir = opt.data_dir,
		                          .cni_bin_dir = opt.cni_bin,
		                          .cni_conf_dir = opt.cni_conf,
		                          .registry_config_path = hosts,
		                          .restart_min_ms = 200,
		                          .restart_max_ms = 1000 };
	int r = cri_containerd_start(loop, &co, &cd, &e);
	check(r == 0, "cri_containerd_start writes a config and starts containerd", &e);
	if (r < 0)
		goto out;
	r = cri_new(loop, cri_containerd_endpoint(cd), &cri, &e);
	check(r == 0, "cri_new connects to the endpoint", &e);
	if (r == 0)
		run();
	cri_free(cri);
	pid_t pid = cri_containerd_pid(cd);
	cri_containerd_stop(cd);
	check(pid > 0 && kill(pid, 0) < 0 && errno == ESRCH, "cri_containerd_stop ends containerd",
	      NULL);
out:
	loop_free(loop);
	printf("# cri_check: %d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
#endif
