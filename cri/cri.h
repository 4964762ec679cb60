/* cri: the CRI v1 client (RuntimeService and ImageService over gRPC) and the containerd
 * that tug runs and supervises when no runtime endpoint is given. */
#ifndef TUG_CRI_H
#define TUG_CRI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/loop/loop.h"
#include "core/util/util.h"
#include "cri/grpc/grpc.h"
#include "cri/oci/oci.h"
#include "cri/runtime.pb-c.h"

/* --- client -------------------------------------------------------------------------- */

struct cri;

/* Default deadline of a call made with timeout_ms 0: the kubelet's runtime-request-timeout. */
#define CRI_DEFAULT_TIMEOUT_MS (2 * 60 * 1000)

/* Connects (and keeps reconnecting) to a runtime endpoint: "unix:///run/x.sock", a path,
 * or host:port. */
int cri_new(struct loop *l, const char *endpoint, struct cri **out, struct err *e);
/* Calls still running end with GRPC_CANCELLED. */
void cri_free(struct cri *c);
bool cri_ready(const struct cri *c);
/* Successful connections so far: more than one means the runtime was reconnected to. */
uint64_t cri_connects(const struct cri *c);
struct grpc_chan *cri_chan(struct cri *c);

/*
 * One function per CRI method, asynchronous on the loop:
 *
 *   int cri_run_pod_sandbox(struct cri *c, const Runtime__V1__RunPodSandboxRequest *req,
 *                           uint64_t timeout_ms, unsigned flags,
 *                           cri_run_pod_sandbox_fn fn, void *arg);
 *
 * fn(code, msg, resp, arg) runs once: code is a gRPC status (GRPC_OK on success), msg
 * says what failed, resp is the reply (NULL on failure) and is freed when fn returns.
 * flags are grpc's (GRPC_WAIT_FOR_READY). The request is packed before the call returns.
 *
 * And a blocking twin for tools and tests, which runs the loop until the reply:
 *
 *   int cri_run_pod_sandbox_wait(struct cri *c, const Runtime__V1__RunPodSandboxRequest *req,
 *                                uint64_t timeout_ms, Runtime__V1__RunPodSandboxResponse **resp,
 *                                struct err *e);
 *
 * whose *resp the caller frees with cri_free_msg.
 */
#define CRI_METHODS(X)                                                                             \
	X(version, RuntimeService, Version, VersionRequest, VersionResponse)                       \
	X(status, RuntimeService, Status, StatusRequest, StatusResponse)                           \
	X(run_pod_sandbox, RuntimeService, RunPodSandbox, RunPodSandboxRequest,                    \
	  RunPodSandboxResponse)                                                                   \
	X(stop_pod_sandbox, RuntimeService, StopPodSandbox, StopPodSandboxRequest,                 \
	  StopPodSandboxResponse)                                                                  \
	X(remove_pod_sandbox, RuntimeService, RemovePodSandbox, RemovePodSandboxRequest,           \
	  RemovePodSandboxResponse)                                                                \
	X(pod_sandbox_status, RuntimeService, PodSandboxStatus, PodSandboxStatusRequest,           \
	  PodSandboxStatusResponse)                                                                \
	X(list_pod_sandbox, RuntimeService, ListPodSandbox, ListPodSandboxRequest,                 \
	  ListPodSandboxResponse)                                                                  \
	X(create_container, RuntimeService, CreateContainer, CreateContainerRequest,               \
	  CreateContainerResponse)                                                                 \
	X(start_container, RuntimeService, StartContainer, StartContainerRequest,                  \
	  StartContainerResponse)                                                                  \
	X(stop_container, RuntimeService, StopContainer, StopContainerRequest,                     \
	  StopContainerResponse)                                                                   \
	X(remove_container, RuntimeService, RemoveContainer, RemoveContainerRequest,               \
	  RemoveContainerResponse)                                                                 \
	X(list_containers, RuntimeService, ListContainers, ListContainersRequest,                  \
	  ListContainersResponse)                                                                  \
	X(container_status, RuntimeService, ContainerStatus, ContainerStatusRequest,               \
	  ContainerStatusResponse)                                                                 \
	X(update_container_resources, RuntimeService, UpdateContainerResources,                    \
	  UpdateContainerResourcesRequest, UpdateContainerResourcesResponse)                       \
	X(reopen_container_log, RuntimeService, ReopenContainerLog, ReopenContainerLogRequest,     \
	  ReopenContainerLogResponse)                                                              \
	X(exec_sync, RuntimeService, ExecSync, ExecSyncRequest, ExecSyncResponse)                  \
	X(exec, RuntimeService, Exec, ExecRequest, ExecResponse)                                   \
	X(attach, RuntimeService, Attach, AttachRequest, AttachResponse)                           \
	X(port_forward, RuntimeService, PortForward, PortForwardRequest, PortForwardResponse)      \
	X(container_stats, RuntimeService, ContainerStats, ContainerStatsRequest,                  \
	  ContainerStatsResponse)                                                                  \
	X(list_container_stats, RuntimeService, ListContainerStats, ListContainerStatsRequest,     \
	  ListContainerStatsResponse)                                                              \
	X(list_images, ImageService, ListImages, ListImagesRequest, ListImagesResponse)            \
	X(image_status, ImageService, ImageStatus, ImageStatusRequest, ImageStatusResponse)        \
	X(pull_image, ImageService, PullImage, PullImageRequest, PullImageResponse)                \
	X(remove_image, ImageService, RemoveImage, RemoveImageRequest, RemoveImageResponse)        \
	X(image_fs_info, ImageService, ImageFsInfo, ImageFsInfoRequest, ImageFsInfoResponse)

#define CRI_DECLARE(name, svc, method, Req, Resp)                                                  \
	typedef void (*cri_##name##_fn)(int code, const char *msg,                                 \
	                                const Runtime__V1__##Resp *resp, void *arg);               \
	int cri_##name(struct cri *c, const Runtime__V1__##Req *req, uint64_t timeout_ms,          \
	               unsigned flags, cri_##name##_fn fn, void *arg);                             \
	int cri_##name##_wait(struct cri *c, const Runtime__V1__##Req *req, uint64_t timeout_ms,   \
	                      Runtime__V1__##Resp **resp, struct err *e);
CRI_METHODS(CRI_DECLARE)
#undef CRI_DECLARE

/* Frees a reply from a *_wait call (NULL is fine). */
void cri_free_msg(void *resp);

/* --- containerd, run and supervised by tug ---------------------------------------------- */

struct cri_containerd_opts {
	const char *data_dir;      /* root under <data_dir>/containerd, state and socket under
	                              <data_dir>/run/containerd */
	const char *containerd;    /* the binary; default "containerd" from PATH */
	const char *sandbox_image; /* default CRI_PAUSE_IMAGE */
	const char *cni_bin_dir;   /* default <data_dir>/cni/bin */
	const char *cni_conf_dir;  /* default <data_dir>/cni/net.d */
	const char *log_level;     /* containerd's: "info" unless given */
	/* registry hosts dir (certs.d layout: <host>/hosts.toml), where tug's mirror is
	 * named; NULL: none */
	const char *registry_config_path;
	/* Restart back-off after an exit: starts at min, doubles to max; reset when a run
	 * lasted longer than a minute. Defaults 1 s and 30 s. */
	uint64_t restart_min_ms, restart_max_ms;
};

#define CRI_PAUSE_IMAGE "docker.io/tug/pause:1"

struct cri_containerd;

/*
 * Writes <data_dir>/containerd/config.toml and starts containerd as a child on the
 * loop, restarting it with back-off whenever it exits until cri_containerd_stop.
 * containerd's output goes to <data_dir>/containerd/containerd.log, its pid to
 * <data_dir>/containerd/containerd.pid.
 */
int cri_containerd_start(struct loop *l, const struct cri_containerd_opts *o,
                         struct cri_containerd **out, struct err *e);
/* SIGTERM, up to 10 s, then SIGKILL; waits for the exit. Containers keep running in
 * their shims, as with any containerd restart. */
void cri_containerd_stop(struct cri_containerd *cd);
/* "unix://<state>/containerd.sock" */
const char *cri_containerd_endpoint(const struct cri_containerd *cd);
/* The running child's pid, 0 between runs. */
pid_t cri_containerd_pid(const struct cri_containerd *cd);
/* Times containerd was started (1 after the first start). */
unsigned cri_containerd_starts(const struct cri_containerd *cd);
/* The config file text for o (tests check it; start writes it). Caller frees. */
char *cri_containerd_config(const struct cri_containerd_opts *o);

/* --- importing image tarballs into containerd ------------------------------------------------ */

/* The containerd namespace the CRI plugin uses. */
#define CRI_NAMESPACE "k8s.io"

struct cri_import_stats {
	unsigned images, blobs_written, blobs_present;
	uint64_t bytes_written;
};

typedef void (*cri_import_fn)(int code, const char *msg, const struct cri_import_stats *st,
                              void *arg);

/*
 * Imports every image of archive a into containerd (namespace ns, "k8s.io" for CRI) over
 * its own API on channel ch, as k3s does for airgap images: a lease, each blob streamed
 * into the content store unless already there (manifests labelled so the garbage
 * collector keeps their children), then one image record per name. The CRI plugin picks
 * the images up from containerd's events and unpacks them when a container first needs
 * them. Asynchronous on ch's loop; done runs once (code GRPC_OK or the failure). a must
 * stay open until then.
 */
int cri_import(struct grpc_chan *ch, struct oci_archive *a, const char *ns, cri_import_fn done,
               void *arg);

/* --- a registry mirror serving image tarballs ------------------------------------------------ */

struct cri_mirror;

/*
 * Serves store's images read-only over the registry API (GET/HEAD /v2/..., manifests by
 * tag or digest, blobs by digest) on 127.0.0.1:port (0: any free port), through
 * core/http. containerd reaches it through hosts.toml files (cri_mirror_write_hosts)
 * and pulls from it, e.g. when CRI PullImage asks for an image of the images dir that
 * is not (or no longer) in containerd. store must outlive the mirror.
 */
int cri_mirror_start(struct loop *l, struct oci_store *store, int port, struct cri_mirror **out,
                     struct err *e);
void cri_mirror_stop(struct cri_mirror *m);
int cri_mirror_port(const struct cri_mirror *m);
/* Manifests and blobs served so far. */
uint64_t cri_mirror_served(const struct cri_mirror *m);
/* Writes dir/<host>/hosts.toml naming the mirror on port for every registry host that
 * the store has images of (the registry itself stays the fallback). */
int cri_mirror_write_hosts(const char *dir, const struct oci_store *store, int port, struct err *e);

/* --- the node's container runtime: what `tug server` and `tug agent` start ------------------ */

struct cri_runtime_opts {
	const char *data_dir;
	/* --container-runtime-endpoint: use that runtime; NULL or "": run our own containerd */
	const char *endpoint;
	const char *containerd; /* binary, default "containerd" */
	/* More directories of image tarballs to import, NULL-terminated (tests). */
	const char *const *images_dirs;
};

struct cri_runtime;

/*
 * Starts the runtime side of a node: with an endpoint, a CRI client to it; without, a
 * CNI bin dir under the data dir (tug-cni, and the loopback plugin when the reference
 * plugins are installed), a supervised containerd, and a client to it. Logs
 * "runtime <name> <version> (CRI <v>) ready" once the runtime answers, then imports the
 * image tarballs (airgap) found in the installed images dir (TUG_IMAGES_DIR, with tug's
 * pause image), in images/ beside the binary (a build tree) and in <data_dir>/images/,
 * and logs "images ready".
 */
int cri_runtime_start(struct loop *l, const struct cri_runtime_opts *o, struct cri_runtime **out,
                      struct err *e);
void cri_runtime_stop(struct cri_runtime *rt);
struct cri *cri_runtime_client(struct cri_runtime *rt);
/* True once the runtime answered and the images were imported. */
bool cri_runtime_ready(const struct cri_runtime *rt);

#endif
