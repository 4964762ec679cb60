/* api: the Kubernetes API semantics over the store, without HTTP. The HTTP handlers and the
 * in-process components (controllers, scheduler, kubelet) call the same functions, so both
 * get the same defaulting, validation, admission, revisions and watch behaviour.
 *
 * Everything here runs on the event loop's thread. Reads answer at once; writes complete
 * later through a callback on the loop, once the store has made them durable (so the loop
 * never waits for a disk sync, and concurrent writes share one).
 */
#ifndef TUG_API_H
#define TUG_API_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/loop/loop.h"
#include "core/registry/registry.h"
#include "core/store/store.h"

struct api;

struct api_opts {
	struct store *store;
	struct loop *loop;
	const char *service_cidr; /* ClusterIPs come from here; .1 is the kubernetes Service */
	int node_port_min, node_port_max;
	const char *advertise_ip; /* endpoints of the kubernetes Service */
	int https_port;
	/* A bearer token that authenticates as system:admin (system:masters), as a static token
	 * file would upstream; NULL for none. For clients without certificates (wrk, scripts). */
	const char *admin_token;
};

int api_new(struct api **out, const struct api_opts *o, struct err *e);
/* Creates what a fresh cluster has: namespaces default, kube-system, kube-public (with the
 * cluster-info ConfigMap, given its kubeconfig text), kube-node-lease; the kubernetes Service
 * and its Endpoints. Idempotent. Blocks (call it at start, before serving). */
int api_bootstrap(struct api *a, const char *cluster_info_kubeconfig, struct err *e);
void api_free(struct api *a);

/* --- results ------------------------------------------------------------------ */

/* A metav1.Status failure (or success). */
struct api_status {
	int code;           /* HTTP status */
	const char *reason; /* "NotFound", "AlreadyExists", "Conflict", "Invalid", ... */
	char message[1024];
	char name[256]; /* details */
	char group[64];
	char kind[64]; /* the resource, as upstream fills details.kind */
	struct reg_errors causes;
};

void api_status_clear(struct api_status *st);
/* Sets a failure; returns -1 so callers can `return api_fail(...)`. */
int api_fail(struct api_status *st, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A metav1.Status object for st (caller frees). */
cJSON *api_status_json(const struct api_status *st);

/* --- what a request is about ------------------------------------------------------ */

struct api_user {
	const char *name; /* "system:admin", "system:node:pi-1", "system:kube-scheduler" */
	const char *const *groups;
	size_t ngroups;
};

struct api_target {
	const struct reg_kind *k;
	const char *ns;   /* NULL: cluster-scoped, or every namespace for lists and watches */
	const char *name; /* NULL: the collection */
	const char *sub;  /* NULL or "status", "scale", "binding", "eviction", ... */
};

struct api_write_opts {
	bool dry_run;
	const char *field_manager;
	const struct api_user *user;
	bool force; /* server-side apply: take over conflicting fields */
};

/* Selecting objects in a list or a watch. */
struct api_filter {
	/* Returns true to keep obj; NULL keeps everything. The HTTP layer builds it from
	 * labelSelector and fieldSelector. */
	bool (*match)(void *arg, const struct reg_kind *k, const cJSON *obj);
	void *arg;
};

/* --- reads ---------------------------------------------------------------------- */

/* The object with its resourceVersion (caller frees *out). 404 if absent. */
int api_get(struct api *a, const struct api_target *t, cJSON **out, struct api_status *st);

/* The same as JSON text appended to out, without parsing the stored object when it can. */
int api_get_json(struct api *a, const struct api_target *t, struct buf *out, struct api_status *st);

enum api_rv_match { API_RV_UNSET, API_RV_NOT_OLDER_THAN, API_RV_EXACT };

struct api_list_opts {
	const char *resource_version; /* NULL or "": newest; "0": any */
	enum api_rv_match rv_match;
	long limit;       /* 0: all */
	const char *cont; /* continue token from a previous page */
	struct api_filter filter;
};

/* A *List object (items with resourceVersions; metadata.resourceVersion, continue,
 * remainingItemCount) as JSON text appended to out. */
int api_list(struct api *a, const struct api_target *t, const struct api_list_opts *o,
             struct buf *out, struct api_status *st);
/* The same as parsed objects: fn is called for each item (borrowed). *rv is the list's revision. */
int api_list_each(struct api *a, const struct api_target *t, const struct api_list_opts *o,
                  int (*fn)(void *arg, cJSON *obj), void *arg, uint64_t *rv, struct api_status *st);

/* --- writes --------------------------------------------------------------------- */

/* Called on the loop when a write is done: st->code 200/201 and obj (borrowed, the stored
 * object with its resourceVersion) on success; otherwise the failure and obj NULL. */
typedef void (*api_done_fn)(void *arg, struct api_status *st, cJSON *obj);

/* obj is taken over in every call below. */
void api_create(struct api *a, const struct api_target *t, cJSON *obj,
                const struct api_write_opts *o, api_done_fn done, void *arg);
/* PUT: obj.metadata.resourceVersion, if set, must be current (409 otherwise). */
void api_update(struct api *a, const struct api_target *t, cJSON *obj,
                const struct api_write_opts *o, api_done_fn done, void *arg);

/*
 * Read-modify-write with retries on conflict, as upstream's GuaranteedUpdate: mutate gets
 * the current object (NULL if absent) and returns the new one (taking cur), or NULL with st
 * set to fail. Patches are built on this. If create is true and the object is absent, the
 * result is created.
 */
typedef cJSON *(*api_mutate_fn)(void *arg, cJSON *cur, struct api_status *st);
void api_mutate(struct api *a, const struct api_target *t, api_mutate_fn mutate, void *marg,
                bool create, const struct api_write_opts *o, api_done_fn done, void *arg);

struct api_delete_opts {
	int64_t grace_seconds;   /* -1: the object's default */
	const char *propagation; /* NULL, "Orphan", "Background", "Foreground" */
	const char *precondition_uid;
	const char *precondition_rv;
	bool dry_run;
	const struct api_user *user;
};

/* DELETE one object: graceful for pods, held by finalizers, propagation recorded for the
 * garbage collector. On success obj is the object as deleted or as it now waits. */
void api_delete(struct api *a, const struct api_target *t, const struct api_delete_opts *o,
                api_done_fn done, void *arg);
/* DELETE a collection (with the filter): obj is the list of what was deleted. */
void api_delete_collection(struct api *a, const struct api_target *t, const struct api_filter *f,
                           const struct api_delete_opts *o, api_done_fn done, void *arg);

/* pods/binding: binding is a Binding object ({"target":{"name":node}}). 409 if already bound. */
void api_bind(struct api *a, const char *ns, const char *name, const cJSON *binding,
              const struct api_write_opts *o, api_done_fn done, void *arg);

/* --- watch ------------------------------------------------------------------------ */

struct api_watch;

struct api_watch_opts {
	const char *resource_version; /* NULL/"" or "0": send the current state first */
	bool send_initial_events;     /* with rv match NotOlderThan, as watch-list clients ask */
	bool bookmarks;
	struct api_filter filter;
};

/*
 * Event callback: type is "ADDED", "MODIFIED", "DELETED", "BOOKMARK" or "ERROR"; obj is
 * borrowed. Return 0 to go on, 1 to pause delivery until api_watch_resume (backpressure).
 * An "ERROR" event (410 Gone when the watcher fell behind compaction) ends the watch.
 */
typedef int (*api_event_fn)(void *arg, const char *type, cJSON *obj);

int api_watch(struct api *a, const struct api_target *t, const struct api_watch_opts *o,
              api_event_fn fn, void *arg, struct api_watch **out, struct api_status *st);
void api_watch_resume(struct api_watch *w);
/* The event as a line of a JSON watch stream ({"type":...,"object":...}\n), encoded once for
 * all watchers of the same change; scratch holds it when it cannot be shared. The text is
 * valid until the next event is delivered. */
const char *api_watch_line(const char *type, const cJSON *obj, size_t *len, struct buf *scratch);
/* Sends a BOOKMARK with the current revision now (the HTTP layer calls it periodically). */
void api_watch_bookmark(struct api_watch *w);
void api_watch_stop(struct api_watch *w);

/* --- resource quota ----------------------------------------------------------------- */

/*
 * What obj (of kind k) charges against ResourceQuotas, added into usage (a ResourceList: an
 * object of quantity strings), as upstream's evaluators count it. Every object counts 1 in
 * count/<resource>[.<group>]; a pod that is not finished (nor past its deletion grace) adds
 * "pods" and its requests ("cpu" and "requests.cpu", memory, ephemeral-storage, hugepages-*,
 * requests.<extended>) and limits ("limits.cpu", ...), containers summed, init containers at
 * their peak; a Service adds "services", "services.nodeports" and "services.loadbalancers";
 * a claim "persistentvolumeclaims", "requests.storage" and the per-storage-class names;
 * ConfigMaps, Secrets and ResourceQuotas count under their own names. Admission and the quota
 * controller both use it, so what is charged is what is counted.
 */
void api_quota_usage(const struct reg_kind *k, const cJSON *obj, cJSON *usage);
/* Whether quota applies to obj: unscoped quotas apply to everything; spec.scopes and
 * spec.scopeSelector (Terminating, NotTerminating, BestEffort, NotBestEffort, PriorityClass,
 * CrossNamespacePodAffinity) select pods only. */
bool api_quota_selects(const cJSON *quota, const struct reg_kind *k, const cJSON *obj);
/* Whether objects of kind k can charge the quota resource name (as upstream's
 * MatchingResources). */
bool api_quota_tracks(const struct reg_kind *k, const char *resource);

/* --- HTTP ---------------------------------------------------------------------------- */

struct http_req;

/*
 * GET pods/{name}/log is served by the kubelet of the pod's node. The node process installs
 * its handler here (core/api knows nothing of kubelets): fn gets the request and the pod
 * object (borrowed; it exists, the API checked) and finishes r. Without a handler the
 * subresource answers 503.
 */
typedef void (*api_pod_log_fn)(void *arg, struct http_req *r, const cJSON *pod);
void api_set_pod_log(struct api *a, api_pod_log_fn fn, void *arg);
/* The API server's HTTP handler: pass as http_server_opts.handler with arg = the api. */
void api_http(struct http_req *r, void *arg);
/* Status bodies for the errors the HTTP layer answers itself (http_server_opts.error_body). */
const char *api_http_error_body(void *arg, int status, const char *message, struct buf *out);

/* --- helpers shared with the HTTP layer ------------------------------------------ */

/* The store key of an object, and the prefix of a collection. */
void api_key(const struct reg_kind *k, const char *ns, const char *name, char *out, size_t n);
void api_prefix(const struct reg_kind *k, const char *ns, char *out, size_t n);
/* The engine's store (for tools and tests). */
struct store *api_store(struct api *a);

#endif
