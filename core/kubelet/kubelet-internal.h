/* kubelet internals shared by its files: the runtime cache (PLEG), pod workers, the pure
 * functions that turn a pod spec into CRI configs and a pod status, probes, volumes, logs. */
#ifndef TUG_KUBELET_INTERNAL_H
#define TUG_KUBELET_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/kubelet/kubelet.h"
#include "cri/cri.h"

/* Labels and annotations upstream's kubelet puts on sandboxes and containers; ours are the
 * same, so crictl users and tools that read them see what they expect. */
#define KL_LABEL_POD_NAME "io.kubernetes.pod.name"
#define KL_LABEL_POD_NS "io.kubernetes.pod.namespace"
#define KL_LABEL_POD_UID "io.kubernetes.pod.uid"
#define KL_LABEL_CONTAINER "io.kubernetes.container.name"
#define KL_ANN_HASH "io.kubernetes.container.hash"
#define KL_ANN_RESTARTS "io.kubernetes.container.restartCount"
#define KL_ANN_TERM_PATH "io.kubernetes.container.terminationMessagePath"
#define KL_ANN_TERM_POLICY "io.kubernetes.container.terminationMessagePolicy"
#define KL_ANN_GRACE "io.kubernetes.pod.terminationGracePeriod"
/* ours: whether the container is an init container, so status survives a restart of tug */
#define KL_ANN_INIT "tug.io/init-container"

/* Upstream's crash back-off: 10 s doubling to 5 min, forgotten after 10 min without a crash. */
#define KL_BACKOFF_INITIAL_MS 10000
#define KL_BACKOFF_MAX_MS 300000
/* Upstream's floor for a container's stop grace (minimumGracePeriodInSeconds). */
#define KL_MIN_GRACE_S 2

/* --- a build arena: CRI requests are trees of small allocations freed in one go --------- */

struct kl_arena {
	void **p;
	size_t n, cap;
};
void *kl_alloc(struct kl_arena *a, size_t n);
char *kl_strdup(struct kl_arena *a, const char *s);
char *kl_printf(struct kl_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kl_arena_free(struct kl_arena *a);

/* --- what the pure functions need to know about the node and the pod's world ----------- */

/* Looks up objects the spec refers to (ConfigMaps, Secrets) by namespace and name:
 * borrowed, NULL when absent. */
typedef const cJSON *(*kl_lookup_fn)(void *arg, const char *ns, const char *name);

struct kl_env_ctx {
	const cJSON *pod;
	const char *pod_ip, *host_ip;
	const char *pod_ip2; /* dual-stack: the pod's address of the other family */
	kl_lookup_fn configmap, secret;
	void *lookup_arg;
	/* Services of the pod's namespace and the kubernetes Service, for the service-link
	 * variables (a JSON array of Service objects; may be NULL). */
	const cJSON *services;
	const cJSON *master_services;
	int64_t node_cpu_milli, node_mem_bytes; /* limits default to the node's allocatable */
};

/* One environment variable, in order. */
struct kl_env {
	char *name, *value;
};
struct kl_envs {
	struct kl_env *v;
	size_t n;
};
void kl_envs_set(struct kl_envs *e, const char *name, const char *value);
const char *kl_envs_get(const struct kl_envs *e, const char *name);
void kl_envs_free(struct kl_envs *e);

/*
 * The environment of container c of ctx->pod as upstream builds it: service links (when
 * enableServiceLinks, plus the kubernetes Service always), envFrom, then env with
 * valueFrom and $(VAR) expansion. Returns 0, or a negative errno with e holding the
 * message the container then waits with (CreateContainerConfigError):
 * 'configmap "x" not found', "couldn't find key k in ConfigMap ns/x".
 */
int kl_container_env(const struct kl_env_ctx *ctx, const cJSON *c, struct kl_envs *out,
                     struct err *e);
/* Expands $(VAR) in s with env as upstream's expansion: unknown references stay as they
 * are, $$ is a literal $. Caller frees. */
char *kl_expand(const char *s, const struct kl_envs *env);
/* A downward API fieldRef path ("metadata.name", "metadata.labels['x']", "status.podIP");
 * -EINVAL for an unsupported path. *out is a new string. */
int kl_field_ref(const struct kl_env_ctx *ctx, const char *path, char **out, struct err *e);
/* A resourceFieldRef ({containerName, resource, divisor}) of container c. */
int kl_resource_ref(const struct kl_env_ctx *ctx, const cJSON *c, const cJSON *ref, char **out,
                    struct err *e);

/* Container resources as CRI wants them: cpu shares from the request, CFS quota from the
 * limit, memory limit, and the OOM score for the pod's QoS class. */
struct kl_resources {
	int64_t cpu_shares, cpu_quota, cpu_period, memory_limit, oom_score_adj;
};
void kl_container_resources(const cJSON *pod, const cJSON *c, int64_t node_mem_bytes,
                            struct kl_resources *r);

/* The DNS of a sandbox, as upstream derives it from dnsPolicy and dnsConfig. */
struct kl_dns {
	char **servers, **searches, **options;
	size_t nservers, nsearches, noptions;
};
struct kl_dns_ctx {
	const char *cluster_dns, *cluster_domain;
	const char *resolv_conf_text; /* the host's resolv.conf (may be NULL) */
};
void kl_pod_dns(const cJSON *pod, const struct kl_dns_ctx *ctx, struct kl_dns *out);
void kl_dns_free(struct kl_dns *d);

/* The sandbox's hostname: spec.hostname, else the pod's name (at most 63 characters). */
void kl_pod_hostname(const cJSON *pod, char out[64]);
/* A hash of what, when it changes, makes the kubelet replace a running container. */
char *kl_container_hash(const cJSON *c);

/* Crash back-off state of one container, as upstream's flowcontrol.Backoff entry. */
struct kl_backoff {
	uint64_t ms;     /* current back-off; 0: none yet */
	int64_t last_ns; /* the exit it was last computed for */
};
/*
 * Whether a container that exited at finished_ns may restart at now_ns: false with
 * *wait_ms set when it is still backing off; true otherwise, having advanced the back-off
 * for next time (first restart immediate, then 10 s, 20 s, ... 5 min; reset after a run of
 * more than 10 min).
 */
bool kl_backoff_allow(struct kl_backoff *b, int64_t finished_ns, int64_t now_ns, uint64_t *wait_ms);

/* --- the runtime cache (filled by the PLEG's relist and by our own calls) --------------- */

struct kl_sandbox {
	char *id, *uid, *name, *ns;
	uint32_t attempt;
	int state; /* RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_* */
	int64_t created_ns;
	char *ip;          /* from PodSandboxStatus; NULL until asked */
	char *ip2;         /* dual-stack: the other family's address */
	bool status_known; /* PodSandboxStatus answered */
	bool asking;       /* PodSandboxStatus in flight */
	uint64_t touched_ms;
	bool removing;
};

struct kl_ctr {
	char *id, *sandbox_id, *uid, *name;
	uint32_t attempt;
	int state; /* RUNTIME__V1__CONTAINER_STATE__CONTAINER_* */
	int64_t created_ns, started_ns, finished_ns;
	int32_t exit_code;
	char *reason, *message;
	char *image, *image_ref, *log_path, *hash, *term_path, *term_policy;
	bool init;
	int restarts;
	bool status_known; /* ContainerStatus answered for the current state */
	bool asking;
	uint64_t touched_ms;
	bool removing, stopping;
	char *term_msg; /* the termination message, once read */
	bool term_read;
};

/* An image as ImageStatus describes it. */
struct kl_image {
	char *id, *ref; /* ref: a repo digest when known (status imageID) */
	int64_t uid;    /* -1: unknown or named user */
	char *username;
};

/* --- probes ------------------------------------------------------------------------------- */

enum kl_probe_kind { KL_PROBE_LIVENESS, KL_PROBE_READINESS, KL_PROBE_STARTUP, KL_PROBE_N };

struct kl_pod;
struct kl_cstate;

struct kl_probe {
	struct kl_pod *p;
	struct kl_cstate *cs;
	enum kl_probe_kind kind;
	const cJSON *spec; /* in p->obj; refreshed when the object changes */
	char *ctr_id;      /* the container instance being probed */
	int successes, failures;
	int result; /* 1 success, 0 failure, -1 unknown */
	bool running;
	struct loop_timer timer;
	struct kl_check *check; /* in flight */
};

/* --- pod workers ------------------------------------------------------------------------- */

/* The kubelet's view of one container of the spec. */
struct kl_cstate {
	char *name;
	bool init;
	char *wait_reason, *wait_msg; /* set by the last sync: why it is not running */
	struct kl_backoff backoff;
	bool starting;       /* a create/start is in flight */
	bool stopping;       /* a stop is in flight */
	bool kill_requested; /* liveness/startup failed: stop and restart it */
	char *kill_msg;
	bool ready, started; /* from probes, for the current instance */
	char *probed_id;     /* the instance ready/started are about */
	struct kl_probe *probes[KL_PROBE_N];
	bool poststart_failed;
};

struct kl_pod {
	struct kubelet *k;
	char *uid, *ns, *name;
	cJSON *obj;           /* the newest Pod from the informer (owned) */
	bool gone;            /* deleted from the API */
	bool terminating;     /* stopping everything */
	bool cleaned;         /* runtime and volumes cleaned up after termination */
	bool deleting;        /* the final API delete is in flight */
	bool terminal;        /* Succeeded/Failed: keep the status, run nothing */
	bool sandbox_stopped; /* for a terminal pod: stopped once */
	int busy;             /* ops of the current sync in flight */
	int refs;             /* ops in flight holding the pod (freed at zero once gone) */
	bool dirty;
	struct loop_timer timer; /* the next sync (back-off, retries) */
	struct kl_cstate *cs;
	size_t ncs;
	uint64_t term_deadline_ms;
	bool term_started;
	int64_t start_time;
	bool volumes_ready;
	char *volume_error;
	uint64_t volume_retry_ms;
	cJSON *written; /* the last status written */
	bool status_busy, status_again;
	struct loop_timer status_timer;
	char *sandbox_error;
	uint64_t created_ms; /* when the worker saw the pod first (for latency logs) */
};

/* --- the kubelet --------------------------------------------------------------------------- */

struct kl_logstream;

struct kubelet {
	struct client *c;
	struct loop *loop;
	struct cri_runtime *rt;
	struct cri *cri;
	struct kubelet_node *node;
	char *node_name, *node_ip, *data_dir, *log_dir, *cluster_dns, *cluster_domain;
	char *resolv_conf;
	char *cni_bridge, *cluster_cidr;
	char *pod_cidrs; /* the ones the conflist was written for */
	uint64_t relist_ms;
	int64_t node_cpu_milli, node_mem_bytes;
	struct informer *pods, *configmaps, *secrets, *services, *nodes;
	struct strmap workers;         /* uid -> struct kl_pod */
	struct strmap sandboxes, ctrs; /* id -> struct kl_sandbox / kl_ctr */
	struct strmap images;          /* image name -> id, from ImageStatus */
	bool relisted;                 /* one full relist done: the cache is trustworthy */
	bool relisting;
	int relist_parts; /* of the two List calls, still to answer */
	uint64_t relist_started_ms;
	bool list_failed;
	struct strmap changed; /* uids whose runtime state changed in this relist */
	int status_asks;       /* ContainerStatus/PodSandboxStatus of a relist in flight */
	struct loop_timer relist_timer, health_timer, gc_timer, shutdown_timer;
	bool runtime_ok; /* CRI answers and says RuntimeReady */
	bool network_ok;
	char *runtime_version;
	bool version_asked;
	bool stopping;
	int writes;    /* API writes in flight */
	int cri_calls; /* CRI calls in flight */
	void (*shutdown_fn)(void *arg);
	void *shutdown_arg;
	bool node_done;
	struct kl_logstream *streams;
	uint64_t gc_last_ms;
};

/* kubelet.c */
struct kl_pod *kl_pod_find(struct kubelet *k, const char *uid);
/* The newest sandbox of uid (NULL: none), and all of its containers named name, newest
 * first (at most max). */
struct kl_sandbox *kl_newest_sandbox(struct kubelet *k, const char *uid);
size_t kl_instances(struct kubelet *k, const char *uid, const char *name, struct kl_ctr **out,
                    size_t max);
void kl_ctr_set_status(struct kubelet *k, struct kl_ctr *c, const Runtime__V1__ContainerStatus *st);
/* What PodSandboxStatus answered: state and IP. */
void kl_sandbox_set_status(struct kubelet *k, struct kl_sandbox *s,
                           const Runtime__V1__PodSandboxStatus *st);
struct kl_ctr *kl_ctr_add(struct kubelet *k, const char *id);
void kl_ctr_forget(struct kubelet *k, const char *id);
struct kl_sandbox *kl_sandbox_add(struct kubelet *k, const char *id);
void kl_sandbox_forget(struct kubelet *k, const char *id);
const cJSON *kl_configmap(void *k, const char *ns, const char *name);
const cJSON *kl_secret(void *k, const char *ns, const char *name);
/* The Services of ns (a new array the caller frees; borrowed items). */
cJSON *kl_services(struct kubelet *k, const char *ns);
void kl_event(struct kubelet *k, const cJSON *pod, const char *type, const char *reason,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void kl_write_done(struct kubelet *k);
/* Every CRI reply: code GRPC_UNAVAILABLE marks the runtime down until it answers again. */
void kl_cri_done(struct kubelet *k, int code);

/* network.c */
/* Watches this node and writes tug-cni's conflist for its podCIDRs once it has them. */
int kl_network_start(struct kubelet *k);

/* pod.c */
struct kl_pod *kl_pod_new(struct kubelet *k, const cJSON *obj);
void kl_pod_update(struct kl_pod *p, const cJSON *obj);
void kl_pod_gone(struct kl_pod *p);
/* Runs the worker's sync now, or once the one in flight ends. */
void kl_pod_sync(struct kl_pod *p);
void kl_pod_sync_after(struct kl_pod *p, uint64_t ms);
void kl_pod_free(struct kl_pod *p);
void kl_pod_unref(struct kl_pod *p);
struct kl_cstate *kl_pod_cstate(struct kl_pod *p, const char *name);
const cJSON *kl_pod_container_spec(const struct kl_pod *p, const char *name, bool *init);
/* Frees a cached image entry and what it holds (NULL is fine). */
void kl_image_drop(struct kl_image *i);
/* Stops and removes a sandbox (and so its containers) that no pod wants. */
void kl_remove_sandbox(struct kubelet *k, const char *id);
/* Called when a configmap/secret changed: refresh the volumes of pods in ns using it. */
void kl_pod_refresh_volumes(struct kl_pod *p);

/* status.c */
/*
 * The pod's status as the kubelet reports it (phase, conditions, IPs, start time,
 * container statuses, QoS class), from the spec, the runtime cache and the worker state.
 * A new object the caller frees.
 */
cJSON *kl_pod_status(struct kl_pod *p);
void kl_status_init(struct kl_pod *p);
/* Writes the status (merge patch of pods/status) if it changed, once per turn of the loop. */
void kl_status_update(struct kl_pod *p);
/* The phase a set of container statuses makes, as upstream's getPhase. */
const char *kl_phase(const cJSON *spec, const cJSON *init_statuses, const cJSON *statuses);

/* volume.c */
/* Sets up every volume of the pod under <data_dir>/pods/<uid>/volumes (idempotent; files
 * of configMap, secret, downwardAPI and projected volumes are rewritten atomically when
 * their content changed). -errno with e's message (the FailedMount event's). */
int kl_volumes_setup(struct kl_pod *p, struct err *e);
/* The host path a volume mount of container c refers to, or NULL with e set. Caller frees. */
char *kl_volume_host_path(struct kl_pod *p, const char *volume, struct err *e);
/* Unmounts and removes the pod's directory. */
int kl_volumes_teardown(struct kubelet *k, const char *uid);
/* Unmounts what is below path and removes it (never crossing into other file systems). */
void kl_remove_tree(const char *path);

/* config.c */
/* <log_dir>/<ns>_<name>_<uid>: the pod's CRI log directory. Caller frees. */
char *kl_pod_log_dir(struct kubelet *k, const struct kl_pod *p);
/* The PodSandboxConfig of p (RunPodSandbox, and again with each CreateContainer). */
Runtime__V1__PodSandboxConfig *kl_sandbox_config(struct kl_pod *p, uint32_t attempt,
                                                 struct kl_arena *a);
/* Container c's config: -errno with e's message for CreateContainerConfigError. */
int kl_container_config(struct kl_pod *p, const cJSON *c, bool init, uint32_t attempt, int restarts,
                        const struct kl_image *img, const char *pod_ip, struct kl_arena *a,
                        Runtime__V1__ContainerConfig **out, struct err *e);
/* Standard base64 (padding optional); NULL on junk. Caller frees; NUL-terminated. */
char *kl_b64_decode(const char *s, size_t *len);

/* probe.c */
void kl_probes_sync(struct kl_pod *p, struct kl_cstate *cs, const struct kl_ctr *running);
void kl_probes_stop(struct kl_cstate *cs);
/* A lifecycle hook (postStart/preStop handler) against container ctr_id; done(ok, msg). */
typedef void (*kl_hook_fn)(void *arg, bool ok, const char *msg);
void kl_run_hook(struct kl_pod *p, const cJSON *handler, const cJSON *cspec, const char *ctr_id,
                 uint64_t timeout_ms, kl_hook_fn done, void *arg);

/* logs.c */
/* Splits one CRI log line "<time> <stream> <P|F> <text>": false if malformed. */
struct kl_logline {
	const char *time;
	size_t time_len;
	const char *stream;
	size_t stream_len;
	bool partial;
	const char *text;
	size_t text_len;
};
bool kl_parse_logline(const char *line, size_t len, struct kl_logline *out);
void kl_logs_stop_all(struct kubelet *k);
/* The text of the last lines of a CRI log (at most max_bytes, from the end); NULL if none. */
char *kl_log_tail(const char *path, int lines, size_t max_bytes);
void kl_logs_container_gone(struct kubelet *k, const char *ctr_id);

#endif
